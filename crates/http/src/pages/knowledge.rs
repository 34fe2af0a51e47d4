//! The knowledge base on pages: the public help centre (search and articles, in the visitor's
//! language), the desk's search over articles and case messages, and the editor where
//! supervisors and admins write drafts and publish them.

use super::desk_cases::{refused_to, store_err};
use super::{PageError, Shell, render};
use crate::AppState;
use crate::auth::{PageCtx, StaffCtx};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use thaw_domain::{CaseCategory, Permission};
use thaw_services::knowledge::{self, ArticleInput};
use thaw_services::{now_ms, search};
use thaw_store::Capabilities;
use thaw_text::search::{DocKind, Filter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/help", get(help))
        .route("/help/{slug}", get(article))
        .route("/desk/search", get(desk_search))
        .route("/desk/kb", get(kb_list).post(kb_save))
        .route("/desk/kb/edit", get(kb_edit))
}

#[derive(serde::Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// A search result on a page; `snippet_html` is escaped by the index (matches in `<b>`).
pub struct ResultLine {
    pub href: String,
    pub title: String,
    pub snippet_html: String,
    pub badge: String,
}

#[derive(Template)]
#[template(path = "portal/help.html")]
struct HelpPage {
    shell: Shell,
    q: String,
    results: Vec<ResultLine>,
    /// (slug, title) of every published article in the visitor's language.
    articles: Vec<(String, String)>,
}

async fn help(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let locale = ctx.locale.code();
    let q = q.q.trim().to_string();
    let results = if q.is_empty() {
        vec![]
    } else {
        let filter = Filter { kind: DocKind::Article, locale: Some(locale.into()), internal: false };
        let hits = state.search.query(&q, &filter, 10).await.map_err(|e| PageError::from_service(&ctx, e))?;
        let now = thaw_services::now_ms();
        search::record_search(&state.db, "help", locale, &q, hits.len(), now).await;
        let shown: Vec<&str> = hits.iter().filter_map(|h| search::article_of(h).map(|(slug, _)| slug)).collect();
        search::record_shown(&state.db, "help", &shown, now).await;
        hits.iter()
            .filter_map(|h| {
                let (slug, _) = search::article_of(h)?;
                Some(ResultLine {
                    href: format!("/help/{slug}"),
                    title: h.title.clone(),
                    snippet_html: h.snippet_html.clone(),
                    badge: String::new(),
                })
            })
            .collect()
    };
    let articles = knowledge::published(&state.db, locale)
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?
        .into_iter()
        .map(|r| (r.slug, r.title))
        .collect();
    Ok(render(StatusCode::OK, &HelpPage { shell: Shell::new(&ctx, "portal", "help"), q, results, articles }))
}

#[derive(Template)]
#[template(path = "portal/article.html")]
struct ArticlePage {
    shell: Shell,
    title: String,
    html: String,
    action: String,
    updated: String,
}

async fn article(State(state): State<AppState>, ctx: PageCtx, Path(slug): Path<String>) -> Result<Response, PageError> {
    let found =
        knowledge::article(&state.db, &slug, ctx.locale.code()).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let a = found.ok_or_else(|| PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"))?;
    search::record_shown(&state.db, "opened", &[a.slug.as_str()], thaw_services::now_ms()).await;
    Ok(render(
        StatusCode::OK,
        &ArticlePage {
            shell: Shell::new(&ctx, "portal", "help"),
            title: a.title,
            html: a.html,
            action: a.action.unwrap_or_default(),
            updated: Shell::time(a.updated_at_ms),
        },
    ))
}

#[derive(Template)]
#[template(path = "desk/search.html")]
struct DeskSearchPage {
    shell: Shell,
    q: String,
    results: Vec<ResultLine>,
}

async fn desk_search(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let q = q.q.trim().to_string();
    let mut results = vec![];
    if !q.is_empty() {
        // The best articles first, then the best messages (each ranked among its own kind).
        let cases = session.staff.role.can(Permission::ReadCases);
        let articles = Filter { kind: DocKind::Article, locale: None, internal: false };
        let mut hits = state
            .search
            .query(&q, &articles, if cases { 10 } else { 30 })
            .await
            .map_err(|e| PageError::from_service(&ctx, e))?;
        if cases {
            let messages = Filter { kind: DocKind::Message, locale: None, internal: true };
            hits.extend(state.search.query(&q, &messages, 25).await.map_err(|e| PageError::from_service(&ctx, e))?);
        }
        search::record_search(&state.db, "desk", ctx.locale.code(), &q, hits.len(), thaw_services::now_ms()).await;
        // The cases of the messages found, in one query.
        let ids: Vec<&str> =
            hits.iter().filter(|h| search::message_of(h).is_some()).map(|h| h.case_id.as_str()).collect();
        let cases =
            state.db.conn().await.map_err(store_err(&ctx))?.cases().by_ids(&ids).await.map_err(store_err(&ctx))?;
        let t = |k: &'static str| crate::i18n::text(ctx.locale, k).to_string();
        for h in &hits {
            if let Some((slug, locale)) = search::article_of(h) {
                results.push(ResultLine {
                    href: format!("/desk/kb/edit?slug={slug}&locale={locale}"),
                    title: h.title.clone(),
                    snippet_html: h.snippet_html.clone(),
                    badge: format!("{} · {locale}", t("kb.badge.article")),
                });
            } else if search::message_of(h).is_some() {
                let Some(case) = cases.iter().find(|c| c.id == h.case_id) else { continue };
                results.push(ResultLine {
                    href: format!("/desk/cases/{}", case.reference()),
                    title: format!("{} {}", case.reference(), case.subject),
                    snippet_html: h.snippet_html.clone(),
                    badge: t("kb.badge.message"),
                });
            }
        }
    }
    Ok(render(StatusCode::OK, &DeskSearchPage { shell: Shell::new(&ctx, "desk", "search"), q, results }))
}

pub struct KbRow {
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub state: String,
    pub revision: i64,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "desk/kb.html")]
struct KbListPage {
    shell: Shell,
    rows: Vec<KbRow>,
    notice: bool,
}

#[derive(serde::Deserialize, Default)]
struct KbListQuery {
    saved: Option<String>,
}

async fn kb_list(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(q): Query<KbListQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::EditKnowledge)?;
    let mut conn = state.db.conn().await.map_err(store_err(&ctx))?;
    let rows = conn
        .texts()
        .latest_revisions()
        .await
        .map_err(store_err(&ctx))?
        .into_iter()
        .map(|r| KbRow {
            slug: r.slug,
            locale: r.locale,
            title: r.title,
            state: r.state,
            revision: r.revision,
            updated: Shell::time(r.created_at_ms),
        })
        .collect();
    Ok(render(StatusCode::OK, &KbListPage { shell: Shell::new(&ctx, "desk", "kb"), rows, notice: q.saved.is_some() }))
}

#[derive(Template)]
#[template(path = "desk/kb_edit.html")]
struct KbEditPage {
    shell: Shell,
    a: ArticleInput,
    /// The newest revision is a draft not yet published.
    draft: bool,
    /// (revision, state, author, time), newest first.
    history: Vec<(i64, String, String, String)>,
    categories: Vec<&'static str>,
    preview: String,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct KbEditQuery {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    locale: String,
}

async fn kb_edit(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(q): Query<KbEditQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::EditKnowledge)?;
    let mut conn = state.db.conn().await.map_err(store_err(&ctx))?;
    let locale = if q.locale.is_empty() { ctx.locale.code().to_string() } else { q.locale.clone() };
    let revisions = conn.texts().revisions(&q.slug, &locale).await.map_err(store_err(&ctx))?;
    drop(conn);
    let a = revisions
        .first()
        .map(|r| ArticleInput {
            slug: r.slug.clone(),
            locale: r.locale.clone(),
            title: r.title.clone(),
            body: r.body.clone(),
            tags: r.tags.join(", "),
            categories: r.categories.join(", "),
            action: r.action.clone().unwrap_or_default(),
        })
        .unwrap_or(ArticleInput { slug: q.slug.clone(), locale, ..Default::default() });
    Ok(edit_page(&ctx, a, &revisions, None, StatusCode::OK))
}

fn edit_page(
    ctx: &PageCtx,
    a: ArticleInput,
    revisions: &[thaw_store::KbRevision],
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let page = KbEditPage {
        shell: Shell::new(ctx, "desk", "kb"),
        draft: revisions.first().is_some_and(|r| r.state == "draft"),
        history: revisions
            .iter()
            .map(|r| (r.revision, r.state.clone(), r.author.clone(), Shell::time(r.created_at_ms)))
            .collect(),
        categories: CaseCategory::ALL.iter().map(|c| c.code()).collect(),
        preview: thaw_text::markdown::to_html(&a.body),
        a,
        error,
    };
    render(status, &page)
}

#[derive(serde::Deserialize, Default)]
struct KbForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    categories: String,
    #[serde(default)]
    action: String,
    /// draft | publish | publish_draft
    #[serde(default)]
    then: String,
}

async fn kb_save(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(f): Form<KbForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::EditKnowledge)?;
    ctx.check_csrf(&f.csrf)?;
    let author = format!("staff:{}", session.staff.id);
    let back = |slug: &str, locale: &str| format!("/desk/kb/edit?slug={slug}&locale={locale}&");
    if f.then == "publish_draft" {
        return match knowledge::publish(&state.db, &f.slug, &f.locale, now_ms()).await {
            Ok(_) => Ok(Redirect::to("/desk/kb?saved=1").into_response()),
            Err(e) => refused_to(&ctx, &back(&f.slug, &f.locale), e),
        };
    }
    let a = ArticleInput {
        slug: f.slug,
        locale: f.locale,
        title: f.title,
        body: f.body,
        tags: f.tags,
        categories: f.categories,
        action: f.action,
    };
    let saved = if f.then == "publish" {
        knowledge::save_published(&state.db, &author, &a, now_ms()).await
    } else {
        knowledge::save_draft(&state.db, &author, &a, now_ms()).await
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/desk/kb?saved=1").into_response()),
        Err(thaw_services::ServiceError::Invalid(i)) => {
            let mut conn = state.db.conn().await.map_err(store_err(&ctx))?;
            let revisions = conn.texts().revisions(&a.slug, &a.locale).await.map_err(store_err(&ctx))?;
            Ok(edit_page(&ctx, a, &revisions, Some(i.message), StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => refused_to(&ctx, &back(&a.slug, &a.locale), e),
    }
}
