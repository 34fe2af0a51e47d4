//! `/api/v1/analytics/{section}` (supervisors, admins) and `/api/v1/audit` (supervisors,
//! compliance officers, admins): the figures and the log the desk shows, as JSON.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::query::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use thaw_domain::{Invalid, Permission};
use thaw_services::{analytics, now_ms, rfc3339};
use thaw_store::audit::AuditQuery;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsParams {
    /// First day (YYYY-MM-DD, UTC); default 29 days before `to`.
    from: Option<String>,
    /// Last day, included (YYYY-MM-DD, UTC); default today.
    to: Option<String>,
    /// One case category.
    category: Option<String>,
    /// One team (cases assigned to its members).
    team: Option<String>,
}

/// One section of the analytics report: volume, top_issues, sla, times, csat, deflection,
/// self_service, repeat_contacts or backlog. Figures are computed from the data on each call.
#[utoipa::path(get, path = "/api/v1/analytics/{section}", tag = "oversight",
    params(("section" = String, Path, description = "volume, top_issues, sla, times, csat, deflection, self_service, repeat_contacts or backlog",
        pattern = "^(volume|top_issues|sla|times|csat|deflection|self_service|repeat_contacts|backlog)$"), AnalyticsParams),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn section(
    State(state): State<AppState>,
    caller: Caller,
    Path(section): Path<String>,
    p: Result<ApiQuery<AnalyticsParams>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadAnalytics)?;
    let ApiQuery(p) = p?;
    if !analytics::SECTIONS.contains(&section.as_str()) {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no analytics section {section}; sections: {}", analytics::SECTIONS.join(", ")),
        ));
    }
    let now = now_ms();
    let f =
        analytics::Filter::parse(p.from.as_deref(), p.to.as_deref(), p.category.as_deref(), p.team.as_deref(), now)?;
    let report = analytics::report(&state.db, &f, now).await?;
    let mut all = serde_json::to_value(&report).unwrap_or_default();
    let mut body =
        serde_json::json!({ "from": report.from, "to": report.to, "category": report.category, "team": report.team });
    body[&section] = all[&section].take();
    Ok(Json(body))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// e.g. `staff:<id>`, `api_key:<id>`, `holder:<account>`, `system`.
    actor: Option<String>,
    /// An action (`hold.released`) or, ending in a dot, a family (`hold.`).
    action: Option<String>,
    /// hold, case, staff, api_key, webhook, policy, setting, article, channel.
    subject_type: Option<String>,
    subject_id: Option<String>,
    /// From this time (RFC 3339).
    from: Option<String>,
    /// Before this time (RFC 3339).
    to: Option<String>,
    /// Entries older than this sequence number (the next page).
    before_seq: Option<i64>,
    /// At most this many (1–500, default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntryBody {
    seq: i64,
    at: String,
    actor: String,
    ip: Option<String>,
    action: String,
    subject_type: String,
    subject_id: String,
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
    prev_hash: String,
    hash: String,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "oversight", params(AuditParams),
    responses((status = 200, body = Vec<AuditEntryBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    p: Result<ApiQuery<AuditParams>, ApiError>,
) -> Result<Json<Vec<AuditEntryBody>>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let ApiQuery(p) = p?;
    let q =
        audit_query(p.actor, p.action, p.subject_type, p.subject_id, p.from.as_deref(), p.to.as_deref(), p.before_seq)?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "out_of_range", "limit must be 1 to 500").into());
    }
    let entries = thaw_services::audit::search(&state.db, &q, limit).await?;
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntryBody {
                seq: e.seq,
                at: rfc3339(e.at_ms),
                actor: e.actor,
                ip: e.ip,
                action: e.action,
                subject_type: e.subject_type,
                subject_id: e.subject_id,
                before: json(e.before),
                after: json(e.after),
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}

/// The audit query of the API's and the desk's filters; times are RFC 3339 or dates.
pub fn audit_query(
    actor: Option<String>,
    action: Option<String>,
    subject_type: Option<String>,
    subject_id: Option<String>,
    from: Option<&str>,
    to: Option<&str>,
    before_seq: Option<i64>,
) -> Result<AuditQuery, Invalid> {
    let time = |field: &'static str, v: Option<&str>| -> Result<Option<i64>, Invalid> {
        let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
        if let Ok(t) = v.parse::<jiff::Timestamp>() {
            return Ok(Some(t.as_millisecond()));
        }
        v.parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| Some(z.timestamp().as_millisecond()))
            .ok_or_else(|| Invalid::new(field, "invalid_time", format!("{field} must be an RFC 3339 time or a date")))
    };
    let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    for (field, v) in
        [("actor", &actor), ("action", &action), ("subject_type", &subject_type), ("subject_id", &subject_id)]
    {
        if v.as_ref().is_some_and(|v| v.chars().count() > 200) {
            return Err(Invalid::new(field, "too_long", format!("{field} is at most 200 characters")));
        }
    }
    Ok(AuditQuery {
        actor: clean(actor),
        action: clean(action),
        subject_type: clean(subject_type),
        subject_id: clean(subject_id),
        from_ms: time("from", from)?,
        to_ms: time("to", to)?,
        before_seq,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckParams {
    /// A URL, email address, phone number, social handle or agent ID (at most 500 characters).
    value: String,
}

/// Whether a URL, email address, phone number, social handle or agent ID is one of the
/// platform's official channels; look-alikes name the official channel and the tricks used.
/// Public (no credentials), limited per address.
#[utoipa::path(get, path = "/api/v1/check", tag = "oversight", params(CheckParams),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn check(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    ApiQuery(p): ApiQuery<CheckParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ip = crate::pages::channels::peer_ip(&state, &headers, peer);
    if !crate::pages::channels::within_rate(&state, &ip).await? {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_checks",
            format!("at most {} checks a minute; try again shortly", crate::pages::channels::CHECKS_PER_MINUTE),
        ));
    }
    let verdict = thaw_services::channels::check(&state.db, &p.value).await?;
    let mut body = serde_json::to_value(&verdict).unwrap_or_default();
    if !verdict.is_official() {
        body["advice"] = serde_json::json!([
            "Do not pay or move funds.",
            "Do not share codes, passwords, seed phrases or private keys.",
            "Freeze your account in the security centre if you shared anything.",
            "Report it: open a phishing_report case."
        ]);
    }
    Ok(Json(body))
}
