//! The official-channel checker: the public page `/check` (and `GET /api/v1/check`), and the
//! admins' page of official channels and staff agent IDs.

use super::desk_cases::store_err;
use super::{CsrfForm, PageError, Shell, render};
use crate::AppState;
use crate::auth::{PageCtx, StaffCtx};
use crate::middleware::client_ip;
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use thaw_domain::Permission;
use thaw_domain::channels::Verdict;
use thaw_services::{ServiceError, channels, now_ms};
use thaw_store::Capabilities;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/check", get(check_page))
        .route("/desk/admin/channels", get(admin_page).post(add))
        .route("/desk/admin/channels/{id}/remove", post(remove))
}

/// Checks per address and minute, for the public page and API together.
pub const CHECKS_PER_MINUTE: i64 = 30;

/// Counts a check from `ip`; false when the address asked too often in the last minute.
pub async fn within_rate(state: &AppState, ip: &str) -> Result<bool, ServiceError> {
    let now = now_ms();
    let mut conn = state.db.conn().await?;
    let (recent, _) = conn.throttle().failures_since("channel_check", ip, now - 60_000).await?;
    if recent >= CHECKS_PER_MINUTE {
        return Ok(false);
    }
    conn.throttle().record_failure("channel_check", ip, now).await?;
    Ok(true)
}

pub fn peer_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    client_ip(headers, peer, state.config.behind_proxy)
}

#[derive(serde::Deserialize, Default)]
struct CheckQuery {
    #[serde(default)]
    value: String,
}

#[derive(Template)]
#[template(path = "portal/check.html")]
struct CheckPage {
    shell: Shell,
    value: String,
    /// official, look_alike, not_official
    outcome: &'static str,
    kind: &'static str,
    matched: String,
    tricks: Vec<&'static str>,
    error: Option<String>,
}

async fn check_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<CheckQuery>,
) -> Result<Response, PageError> {
    let mut page = CheckPage {
        shell: Shell::new(&ctx, "portal", "check"),
        value: q.value.chars().take(500).collect(),
        outcome: "",
        kind: "",
        matched: String::new(),
        tricks: vec![],
        error: None,
    };
    if q.value.trim().is_empty() {
        return Ok(render(StatusCode::OK, &page));
    }
    let ip = peer_ip(&state, &headers, peer);
    if !within_rate(&state, &ip).await.map_err(|e| PageError::from_service(&ctx, e))? {
        page.error = Some(crate::i18n::text(ctx.locale, "check.too_many").into());
        return Ok(render(StatusCode::TOO_MANY_REQUESTS, &page));
    }
    match channels::check(&state.db, &q.value).await {
        Ok(v) => {
            page.outcome = v.code();
            page.kind = v.kind().as_str();
            match v {
                Verdict::Official { matched, .. } => page.matched = matched,
                Verdict::LookAlike { imitates, tricks, .. } => {
                    page.matched = imitates;
                    page.tricks = tricks.iter().map(|t| t.as_str()).collect();
                }
                Verdict::NotOfficial { .. } => {}
            }
            Ok(render(StatusCode::OK, &page))
        }
        Err(ServiceError::Invalid(e)) => {
            page.error = Some(e.message);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

#[derive(Template)]
#[template(path = "desk/channels.html")]
struct AdminPage {
    shell: Shell,
    channels: Vec<thaw_store::channels::ChannelRecord>,
    agents: Vec<(String, String, String)>,
    error: Option<String>,
    saved: bool,
}

#[derive(serde::Deserialize, Default)]
struct AdminQuery {
    saved: Option<String>,
}

async fn admin_view(
    state: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    error: Option<String>,
    saved: bool,
) -> Result<Response, PageError> {
    let channels = channels::list(&state.db).await.map_err(|e| PageError::from_service(ctx, e))?;
    let mut conn = state.db.conn().await.map_err(store_err(ctx))?;
    let ids = conn.channels().agent_ids_by_staff().await.map_err(store_err(ctx))?;
    let agents = conn
        .staff()
        .list()
        .await
        .map_err(store_err(ctx))?
        .into_iter()
        .map(|s| {
            let id = ids.get(&s.id).cloned().unwrap_or_default();
            (s.display_name, s.role.label(ctx.locale).to_string(), id)
        })
        .collect();
    let page = AdminPage { shell: Shell::new(ctx, "desk", "admin"), channels, agents, error, saved };
    Ok(render(status, &page))
}

async fn admin_page(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(q): Query<AdminQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    admin_view(&state, &ctx, StatusCode::OK, None, q.saved.is_some()).await
}

#[derive(serde::Deserialize)]
struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    label: String,
}

async fn add(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(f): Form<AddForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    ctx.check_csrf(&f.csrf)?;
    let by = format!("staff:{}", session.staff.id);
    match channels::add(&state.db, &f.kind, &f.value, &f.label, &by, now_ms()).await {
        Ok(_) => Ok(Redirect::to("/desk/admin/channels?saved=1").into_response()),
        Err(ServiceError::Invalid(e)) => {
            admin_view(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("{}: {}", e.field, e.message)),
                false,
            )
            .await
        }
        Err(ServiceError::Duplicate { message, .. }) => {
            admin_view(&state, &ctx, StatusCode::CONFLICT, Some(message), false).await
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

async fn remove(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    ctx.check_csrf(&f.csrf)?;
    channels::remove(&state.db, &id, now_ms()).await.map_err(|e| PageError::from_service(&ctx, e))?;
    Ok(Redirect::to("/desk/admin/channels?saved=1").into_response())
}
