//! Search over the knowledge base and case messages, as the portal and the desk search: Chinese
//! with or without spaces, stemmed English, highlighted snippets.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::query::ApiQuery;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use thaw_domain::{Invalid, Permission};
use thaw_services::search;
use thaw_text::search::{DocKind, Filter, MAX_QUERY_CHARS};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to look for (up to 200 characters).
    q: Option<String>,
    /// article (default) or message (case messages; needs case access).
    #[param(pattern = "^(article|message)$")]
    kind: Option<String>,
    /// zh-CN or en; all languages without it.
    #[param(pattern = "^(zh-CN|en)?$")]
    locale: Option<String>,
    /// 1–50 (10).
    limit: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// article | message
    kind: &'static str,
    /// The article's slug, or the message's id.
    id: String,
    locale: String,
    /// The article's title, or the case's subject.
    title: String,
    /// The case of a message.
    case_id: Option<String>,
    /// An excerpt as HTML: the text escaped, matching words in `<b>`.
    snippet_html: String,
    score: f32,
    /// Where a holder reads the article.
    url: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchBody {
    query: String,
    hits: Vec<SearchHit>,
}

/// Searches published articles (default) or case messages. Platform keys and staff see public
/// messages; staff who work cases also see internal notes.
#[utoipa::path(get, path = "/api/v1/search", tag = "knowledge", params(SearchParams),
    responses((status = 200, body = SearchBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<SearchBody>, ApiError> {
    let q = p.q.unwrap_or_default().trim().to_string();
    if q.is_empty() {
        return Err(Invalid::new("q", "required", "q: what to search for").into());
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(Invalid::new("q", "too_long", format!("q: at most {MAX_QUERY_CHARS} characters")).into());
    }
    let kind = match p.kind.as_deref().unwrap_or("article") {
        "article" => DocKind::Article,
        "message" => {
            caller.require(Permission::ReadCases)?;
            DocKind::Message
        }
        _ => return Err(Invalid::new("kind", "invalid_kind", "kind: article or message").into()),
    };
    let locale = match p.locale.as_deref() {
        None | Some("") => None,
        Some(l @ ("zh-CN" | "en")) => Some(l.to_string()),
        Some(_) => return Err(Invalid::new("locale", "invalid_locale", "locale: zh-CN or en").into()),
    };
    let limit = match p.limit.as_deref() {
        None | Some("") => 10,
        Some(n) => n.parse::<usize>().ok().filter(|n| (1..=50).contains(n)).ok_or_else(|| {
            ApiError::from(Invalid::new("limit", "invalid_limit", "limit: a whole number from 1 to 50"))
        })?,
    };
    let internal = matches!(&caller, Caller::Staff(s) if s.staff.role.can(Permission::WorkCases));
    let hits = state.search.query(&q, &Filter { kind, locale: locale.clone(), internal }, limit).await?;
    thaw_services::search::record_search(
        &state.db,
        "api",
        locale.as_deref().unwrap_or(""),
        &q,
        hits.len(),
        thaw_services::now_ms(),
    )
    .await;
    let hits = hits
        .into_iter()
        .map(|h| {
            let (id, url) = match search::article_of(&h) {
                Some((slug, _)) => (slug.to_string(), Some(format!("/help/{slug}"))),
                None => (search::message_of(&h).unwrap_or_default().to_string(), None),
            };
            SearchHit {
                kind: h.kind.code(),
                id,
                locale: h.locale,
                title: h.title,
                case_id: Some(h.case_id).filter(|c| !c.is_empty()),
                snippet_html: h.snippet_html,
                score: h.score,
                url,
            }
        })
        .collect();
    Ok(Json(SearchBody { query: q, hits }))
}
