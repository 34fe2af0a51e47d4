//! The admins' pages: the hub, run-time settings, the SLA calendars and targets (with a check
//! of an SLA file), the risk policy (view, check, reload) and webhooks with their deliveries.
//! Staff, API keys and official channels have their own modules. Every change is audited by
//! the services it calls.

use super::{CsrfForm, PageError, Pairs, Shell, render};
use crate::AppState;
use crate::auth::{PageCtx, StaffCtx};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use thaw_domain::Permission;
use thaw_services::{ServiceError, now_ms, signin, webhooks};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/desk/admin", get(hub))
        .route("/desk/admin/settings", get(settings_page).post(save_settings))
        .route("/desk/admin/sla", get(sla_page).post(check_sla))
        .route("/desk/admin/policy", get(policy_page).post(check_policy))
        .route("/desk/admin/policy/reload", post(reload_policy))
        .route("/desk/admin/webhooks", get(webhooks_page).post(add_webhook))
        .route("/desk/admin/webhooks/{id}/deactivate", post(deactivate_webhook))
}

#[derive(serde::Deserialize, Default)]
struct Notice {
    saved: Option<String>,
}

// ------------------------------------------------------------------ hub

#[derive(Template)]
#[template(path = "desk/admin.html")]
struct Hub {
    shell: Shell,
    /// (path, title key, description key)
    sections: Vec<(&'static str, &'static str, &'static str)>,
}

async fn hub(StaffCtx(ctx, _): StaffCtx) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    let sections = vec![
        ("/desk/staff", "desk.nav.staff", "desk.admin.staff"),
        ("/desk/admin/sla", "desk.admin.sla.title", "desk.admin.sla"),
        ("/desk/api-keys", "desk.nav.api_keys", "desk.admin.api_keys"),
        ("/desk/admin/webhooks", "desk.admin.webhooks.title", "desk.admin.webhooks"),
        ("/desk/admin/policy", "desk.admin.policy.title", "desk.admin.policy"),
        ("/desk/admin/channels", "desk.nav.channels", "desk.admin.channels"),
        ("/desk/kb", "desk.nav.kb", "desk.admin.kb"),
        ("/desk/admin/settings", "desk.admin.settings.title", "desk.admin.settings"),
        ("/desk/audit", "desk.nav.audit", "desk.admin.audit"),
    ];
    Ok(render(StatusCode::OK, &Hub { shell: Shell::new(&ctx, "desk", "admin"), sections }))
}

// ------------------------------------------------------------------ settings

#[derive(Template)]
#[template(path = "desk/admin_settings.html")]
struct SettingsPage {
    shell: Shell,
    saved: bool,
    totp_required: bool,
    /// (issuer, client id, role claim, role map, callback to register) when single sign-on is on.
    sso: Option<(String, String, String, String, String)>,
    mail_sent: bool,
    qa_percent: u8,
    public_url: String,
}

async fn settings_page(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    let totp_required = signin::staff_totp_required(&state.db).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let sso = state.security.staff_sso.as_ref().map(|s| {
        let c = s.config();
        let map = c.role_map.iter().map(|(from, to)| format!("{from}={to}")).collect::<Vec<_>>().join(", ");
        (c.issuer.clone(), c.client_id.clone(), c.role_claim.clone(), map, c.redirect_url.clone())
    });
    let page = SettingsPage {
        shell: Shell::new(&ctx, "desk", "admin"),
        saved: q.saved.is_some(),
        totp_required,
        sso,
        mail_sent: state.security.config.smtp_url.is_some(),
        qa_percent: state.desk.qa_percent,
        public_url: state.security.config.public_url.clone(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(serde::Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    staff_totp_required: Option<String>,
}

async fn save_settings(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    ctx.check_csrf(&form.csrf)?;
    let required = form.staff_totp_required.is_some();
    signin::require_staff_totp(&state.db, required, now_ms()).await.map_err(|e| PageError::from_service(&ctx, e))?;
    tracing::info!(admin = %session.staff.id, required, "settings saved");
    Ok(Redirect::to("/desk/admin/settings?saved=1").into_response())
}

// ------------------------------------------------------------------ SLA

pub struct CalendarRow {
    name: String,
    time_zone: String,
    weekdays: String,
    hours: String,
    holidays: String,
}

pub struct SlaRow {
    category: &'static str,
    priority: &'static str,
    first_response: String,
    next_reply: String,
    resolution: String,
    calendar: String,
    on_warning: String,
    on_breach: String,
}

#[derive(Template)]
#[template(path = "desk/admin_sla.html")]
struct SlaPage {
    shell: Shell,
    calendars: Vec<CalendarRow>,
    rows: Vec<SlaRow>,
    /// The text checked, and its outcome: Ok(summary) or the errors by line.
    text: String,
    checked: Option<Result<String, Vec<String>>>,
}

/// Business milliseconds as people read them: `30 min`, `4 h`, `1 h 30 min`.
fn duration_text(ms: i64) -> String {
    let minutes = ms / 60_000;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn sla_view(state: &AppState, ctx: &PageCtx, text: String, checked: Option<Result<String, Vec<String>>>) -> SlaPage {
    let l = ctx.locale;
    let (table, calendars) = state.desk.sla();
    let calendars = calendars
        .iter()
        .map(|(name, cal)| match cal.summary() {
            Some(s) => CalendarRow {
                name: name.clone(),
                time_zone: s.time_zone,
                weekdays: s.weekdays,
                hours: s.hours,
                holidays: if s.holidays.is_empty() { "—".into() } else { s.holidays.join(", ") },
            },
            None => CalendarRow {
                name: name.clone(),
                time_zone: "—".into(),
                weekdays: "mon–sun".into(),
                hours: "00:00-24:00".into(),
                holidays: "—".into(),
            },
        })
        .collect();
    let escalations =
        |e: &[thaw_domain::case::sla::Escalation]| e.iter().map(|x| x.code()).collect::<Vec<_>>().join(", ");
    let rows = table
        .iter()
        .map(|(category, priority, p)| SlaRow {
            category: category.label(l),
            priority: priority.code(),
            first_response: duration_text(p.targets.first_response_ms),
            next_reply: duration_text(p.targets.next_reply_ms),
            resolution: duration_text(p.targets.resolution_ms),
            calendar: p.calendar.clone(),
            on_warning: escalations(&p.on_warning),
            on_breach: escalations(&p.on_breach),
        })
        .collect();
    SlaPage { shell: Shell::new(ctx, "desk", "admin"), calendars, rows, text, checked }
}

async fn sla_page(State(state): State<AppState>, StaffCtx(ctx, _): StaffCtx) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    Ok(render(StatusCode::OK, &sla_view(&state, &ctx, String::new(), None)))
}

#[derive(serde::Deserialize)]
struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// Checks an SLA file's text: every mistake with its line, nothing applied (the file is named
/// by `desk_sla_file` and read at start).
async fn check_sla(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageSettings)?;
    ctx.check_csrf(&form.csrf)?;
    let (status, outcome) = match thaw_services::sla_file::parse(&form.text) {
        Ok(file) => {
            let names: Vec<&str> = file.calendars.keys().map(String::as_str).collect();
            let summary = format!(
                "{} {}",
                crate::i18n::text(ctx.locale, "desk.admin.sla.valid"),
                if names.is_empty() { "—".to_string() } else { names.join(", ") }
            );
            (StatusCode::OK, Ok(summary))
        }
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, Err(errors.iter().map(|e| e.to_string()).collect())),
    };
    Ok(render(status, &sla_view(&state, &ctx, form.text, Some(outcome))))
}

// ------------------------------------------------------------------ risk policy

#[derive(Template)]
#[template(path = "desk/admin_policy.html")]
struct PolicyPage {
    shell: Shell,
    source: String,
    fingerprint: String,
    /// The file on disk differs from the policy in force (reload to apply it).
    changed_on_disk: bool,
    detectors: Vec<(&'static str, bool)>,
    rules: Vec<String>,
    sanctioned: usize,
    text: String,
    read_error: Option<String>,
    /// A check's or reload's outcome: Ok(message) or the errors by line.
    outcome: Option<Result<String, Vec<String>>>,
}

fn policy_view(
    state: &AppState,
    ctx: &PageCtx,
    text: Option<String>,
    outcome: Option<Result<String, Vec<String>>>,
) -> PolicyPage {
    let engine = state.risk.engine();
    let p = &engine.policy;
    let fingerprint = state.risk.fingerprint();
    let (disk, read_error) = match state.risk.text_on_disk() {
        Ok(pair) => (Some(pair), None),
        Err(e) => (None, Some(e)),
    };
    PolicyPage {
        shell: Shell::new(ctx, "desk", "admin"),
        source: state.risk.policy_file().map(|f| f.display().to_string()).unwrap_or_else(|| "default".into()),
        changed_on_disk: disk.as_ref().is_some_and(|(_, sha)| *sha != fingerprint),
        fingerprint,
        detectors: p.detector_switches(),
        rules: p.rules.iter().map(|r| r.code.clone()).collect(),
        sanctioned: p.lists.sanctioned.len(),
        text: text.or(disk.map(|(t, _)| t)).unwrap_or_default(),
        read_error,
        outcome,
    }
}

async fn policy_page(State(state): State<AppState>, StaffCtx(ctx, _): StaffCtx) -> Result<Response, PageError> {
    ctx.require(Permission::ManagePolicy)?;
    Ok(render(StatusCode::OK, &policy_view(&state, &ctx, None, None)))
}

/// Checks a policy text without applying it.
async fn check_policy(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManagePolicy)?;
    ctx.check_csrf(&form.csrf)?;
    let (status, outcome) = match state.risk.check_text(&form.text) {
        Ok(rules) => {
            (StatusCode::OK, Ok(format!("{} {rules}", crate::i18n::text(ctx.locale, "desk.admin.policy.valid"))))
        }
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, Err(errors.iter().map(|e| e.to_string()).collect())),
    };
    Ok(render(status, &policy_view(&state, &ctx, Some(form.text), Some(outcome))))
}

/// Reloads the policy file (as SIGHUP does); an invalid file leaves the running policy.
async fn reload_policy(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManagePolicy)?;
    ctx.check_csrf(&form.csrf)?;
    let outcome = state.risk.reload_audited(&state.db).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let (status, outcome) = match outcome {
        Ok(rules) => {
            (StatusCode::OK, Ok(format!("{} {rules}", crate::i18n::text(ctx.locale, "desk.admin.policy.reloaded"))))
        }
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, Err(errors.iter().map(|e| e.to_string()).collect())),
    };
    Ok(render(status, &policy_view(&state, &ctx, None, Some(outcome))))
}

// ------------------------------------------------------------------ webhooks

pub struct DeliveryRow {
    event_type: String,
    status: String,
    attempts: i64,
    last_status: String,
    last_error: String,
    created: String,
    delivered: String,
}

pub struct EndpointRow {
    id: String,
    url: String,
    event_types: String,
    active: bool,
    created: String,
    created_by: String,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "desk/admin_webhooks.html")]
struct WebhooksPage {
    shell: Shell,
    endpoints: Vec<EndpointRow>,
    event_types: Vec<&'static str>,
    saved: bool,
    error: Option<String>,
    /// The signing secret of the endpoint just registered: shown this once.
    new_secret: Option<String>,
}

/// How many of each endpoint's newest deliveries the page shows.
const DELIVERIES_SHOWN: i64 = 20;

async fn webhooks_view(
    state: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    saved: bool,
    error: Option<String>,
    new_secret: Option<String>,
) -> Result<Response, PageError> {
    let service = |e: ServiceError| PageError::from_service(ctx, e);
    let mut endpoints = Vec::new();
    for e in webhooks::list(&state.db).await.map_err(service)? {
        let deliveries = webhooks::deliveries(&state.db, &e.id, DELIVERIES_SHOWN)
            .await
            .map_err(service)?
            .into_iter()
            .map(|d| DeliveryRow {
                event_type: d.event_type,
                status: d.status,
                attempts: d.attempts,
                last_status: d.last_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
                last_error: d.last_error.unwrap_or_default(),
                created: Shell::time(d.created_at_ms),
                delivered: d.delivered_at_ms.map(Shell::time).unwrap_or_else(|| "—".into()),
            })
            .collect();
        endpoints.push(EndpointRow {
            id: e.id,
            url: e.url,
            event_types: e.event_types.join(", "),
            active: e.active,
            created: Shell::time(e.created_at_ms),
            created_by: e.created_by,
            deliveries,
        });
    }
    let page = WebhooksPage {
        shell: Shell::new(ctx, "desk", "admin"),
        endpoints,
        event_types: thaw_services::outbox::EVENT_TYPES.to_vec(),
        saved,
        error,
        new_secret,
    };
    Ok(render(status, &page))
}

async fn webhooks_page(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageWebhooks)?;
    webhooks_view(&state, &ctx, StatusCode::OK, q.saved.is_some(), None, None).await
}

async fn add_webhook(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageWebhooks)?;
    let pairs = Pairs(pairs);
    let get = |k: &str| pairs.get(k);
    ctx.check_csrf(get("csrf"))?;
    let types: Vec<String> = pairs.all("event_type").into_iter().map(str::to_string).collect();
    let secret = Some(get("secret")).filter(|s| !s.trim().is_empty());
    let created_by = format!("staff:{}", session.staff.id);
    match webhooks::register(&state.db, get("url"), &types, secret, &created_by).await {
        // A secret the admin typed is not repeated; a generated one is shown once.
        Ok(endpoint) => {
            let shown = secret.is_none().then_some(endpoint.secret);
            webhooks_view(&state, &ctx, StatusCode::CREATED, true, None, shown).await
        }
        Err(ServiceError::Invalid(e)) => {
            webhooks_view(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, false, Some(e.message), None).await
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

async fn deactivate_webhook(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageWebhooks)?;
    ctx.check_csrf(&form.csrf)?;
    webhooks::deactivate(&state.db, &id).await.map_err(|e| PageError::from_service(&ctx, e))?;
    Ok(Redirect::to("/desk/admin/webhooks?saved=1").into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_hours_and_minutes() {
        assert_eq!(super::duration_text(30 * 60_000), "30 min");
        assert_eq!(super::duration_text(4 * 3_600_000), "4 h");
        assert_eq!(super::duration_text(90 * 60_000), "1 h 30 min");
    }
}
