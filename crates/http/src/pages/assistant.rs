//! The assistant in the security centre: the holder describes the problem; the bot answers with
//! what they can do themselves (lift a hold by step-up, the best articles) and asks whether that
//! solved it; otherwise a case opens with the conversation.

use super::{PageError, Shell, render};
use crate::AppState;
use crate::auth::HolderCtx;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use thaw_domain::Locale;
use thaw_services::bot::{self, BotParts};
use thaw_services::{ServiceError, now_ms};
use thaw_store::Capabilities;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/assistant", get(page).post(ask))
        .route("/security/assistant/solved", post(solved))
        .route("/security/assistant/human", post(human))
}

pub struct Turn {
    pub bot: bool,
    pub text: String,
    /// (slug, title)
    pub articles: Vec<(String, String)>,
    /// The hold the holder may lift: (id, explanation).
    pub hold: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "security/assistant.html")]
struct AssistantPage {
    shell: Shell,
    session: String,
    turns: Vec<Turn>,
    /// open | solved | handed_over (empty before the first message)
    outcome: String,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    s: String,
}

async fn page(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let account = session.account.id.as_str().to_string();
    let mut view = AssistantPage {
        shell: Shell::new(&ctx, "portal", "assistant"),
        session: String::new(),
        turns: vec![],
        outcome: String::new(),
        error: None,
    };
    if !q.s.is_empty() {
        let s = bot::own_session(&state.db, &account, &q.s).await.map_err(|e| PageError::from_service(&ctx, e))?;
        let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(&ctx, e.into()))?;
        for t in bot::transcript(&s) {
            let hold = match t["hold"].as_str() {
                Some(id) => conn
                    .holds()
                    .get(id)
                    .await
                    .map_err(|e| PageError::from_service(&ctx, e.into()))?
                    .filter(|h| h.account_id == account)
                    .map(|h| {
                        let text = if ctx.locale == Locale::ZhCn {
                            h.reason.explanation.zh_cn.clone()
                        } else {
                            h.reason.explanation.en.clone()
                        };
                        (h.id, text)
                    }),
                None => None,
            };
            view.turns.push(Turn {
                bot: t["who"] == "bot",
                text: t["text"].as_str().unwrap_or_default().to_string(),
                articles: t["articles"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| Some((x["slug"].as_str()?.to_string(), x["title"].as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default(),
                hold,
            });
        }
        view.session = s.id;
        view.outcome = s.outcome;
    }
    Ok(render(StatusCode::OK, &view))
}

#[derive(serde::Deserialize, Default)]
struct AskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    message: String,
}

async fn ask(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(f): Form<AskForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let parts = BotParts { db: &state.db, desk: &state.desk, search: &state.search, triage: &state.triage };
    let id = Some(f.session.as_str()).filter(|s| !s.is_empty());
    let account = session.account.id.as_str();
    match bot::ask(&parts, account, ctx.locale, id, &f.message, now_ms()).await {
        Ok(turn) => Ok(match turn.case {
            Some(case) => Redirect::to(&format!("/security/cases/{}?notice=handed_over", case.reference())),
            None => Redirect::to(&format!("/security/assistant?s={}", turn.session.id)),
        }
        .into_response()),
        Err(ServiceError::Invalid(i)) => {
            let view = AssistantPage {
                shell: Shell::new(&ctx, "portal", "assistant"),
                session: f.session.clone(),
                turns: vec![],
                outcome: String::new(),
                error: Some(i.message),
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view))
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

#[derive(serde::Deserialize, Default)]
struct SessionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    session: String,
}

async fn solved(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(f): Form<SessionForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    bot::solved(&state.db, session.account.id.as_str(), &f.session, now_ms())
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?;
    Ok(Redirect::to(&format!("/security/assistant?s={}", f.session)).into_response())
}

async fn human(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(f): Form<SessionForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let parts = BotParts { db: &state.db, desk: &state.desk, search: &state.search, triage: &state.triage };
    let case = bot::hand_over(&parts, session.account.id.as_str(), &f.session, now_ms())
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?;
    Ok(Redirect::to(&format!("/security/cases/{}?notice=handed_over", case.reference())).into_response())
}
