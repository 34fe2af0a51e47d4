//! Holds through the API: the enforcement status the platform checks on every sign-in, trade
//! and withdrawal; listing, placing and lifting holds; an account's recent decisions.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use crate::query::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use thaw_domain::risk::{Facts, HoldOrigin, Money, Reason, ReleasePolicy, Scope, ScopeSet};
use thaw_domain::{Invalid, Permission, Role};

use thaw_services::holds::{self, HoldPlan, hold_json};
use thaw_services::{ServiceError, events, now_ms, rfc3339};

#[derive(Serialize, utoipa::ToSchema)]
pub struct HeldBy {
    id: String,
    scopes: Vec<String>,
    reason_code: String,
    release_policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

/// What the platform may let the account do right now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusBody {
    account_id: String,
    /// `allowed` or `held`.
    login: String,
    trade: String,
    withdraw: String,
    holds: Vec<HeldBy>,
    checked_at: String,
}

/// The enforcement call: which of login, trade and withdraw are held now. Expiring holds stop
/// counting at their expiry time exactly. An account thaw has never seen is allowed everything.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/status", tag = "holds",
    params(("id" = String, Path, description = "The platform's user id", pattern = r"^[A-Za-z0-9._:@-]{1,128}$")),
    responses((status = 200, body = StatusBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StatusBody>, ApiError> {
    caller.require(Permission::ReadHolds)?;
    let now = now_ms();
    let s = holds::status(&state.db, &id, now).await?;
    let word = |scope| if s.blocks(scope) { "held" } else { "allowed" }.to_string();
    Ok(Json(StatusBody {
        account_id: id,
        login: word(Scope::Login),
        trade: word(Scope::Trade),
        withdraw: word(Scope::Withdraw),
        holds: s
            .holds
            .iter()
            .map(|h| HeldBy {
                id: h.id.clone(),
                scopes: h.scopes.scopes().iter().map(|x| x.code().to_string()).collect(),
                reason_code: h.reason.code.clone(),
                release_policy: h.release.code().into(),
                expires_at: h.expires_at_ms.map(rfc3339),
            })
            .collect(),
        checked_at: rfc3339(now),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoldsQuery {
    /// `in_force` (default) or `all`.
    #[param(pattern = "^(in_force|all)$")]
    state: Option<String>,
}

/// The account's holds: those in force, or all with `state=all`.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/holds", tag = "holds",
    params(("id" = String, Path, description = "The platform's user id", pattern = r"^[A-Za-z0-9._:@-]{1,128}$"), HoldsQuery),
    responses((status = 200, description = "Holds", body = Vec<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<ApiQuery<HoldsQuery>, ApiError>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require(Permission::ReadHolds)?;
    let ApiQuery(q) = q?;
    let in_force = match q.state.as_deref() {
        None | Some("in_force") => true,
        Some("all") => false,
        Some(_) => {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_state", "state is in_force or all")
                .field("state"));
        }
    };
    let list = holds::list(&state.db, &id, in_force, now_ms()).await?;
    Ok(Json(list.iter().map(hold_json).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplanationBody {
    #[serde(rename = "zh-CN")]
    zh_cn: String,
    en: String,
}

/// A hold placed by hand.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHoldBody {
    /// login, trade, withdraw, all.
    #[schema(example = json!(["withdraw"]), min_items = 1)]
    scopes: Vec<String>,
    /// A stable code for the reason, e.g. `legal_request`.
    #[schema(example = "chargeback_review")]
    reason_code: String,
    /// What the owner is told, in both languages; facts may be named in {braces}.
    explanation: Option<ExplanationBody>,
    #[serde(default)]
    #[schema(value_type = Object)]
    facts: serde_json::Map<String, serde_json::Value>,
    /// owner_one_factor, owner_two_factors, expiry_only, agent (default) or compliance_only.
    #[schema(pattern = "^(owner_one_factor|owner_two_factors|expiry_only|agent|compliance_only)$")]
    release_policy: Option<String>,
    /// RFC 3339; required with expiry_only.
    expires_at: Option<String>,
    /// The amount at stake (decimal string), for agents' authority.
    amount: Option<String>,
    asset: Option<String>,
    /// Show the owner only that a review is under way (default: true for compliance_only).
    confidential: Option<bool>,
    note: Option<String>,
}

/// Places a hold. The platform's holds have origin `platform`; a staff member's `staff`
/// (`compliance` for compliance officers placing compliance-only holds).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/holds", tag = "holds", request_body = NewHoldBody,
    params(("id" = String, Path, description = "The platform's user id", pattern = r"^[A-Za-z0-9._:@-]{1,128}$")),
    responses((status = 201, description = "The hold", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn place(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<NewHoldBody>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(Permission::PlaceHolds)?;
    let ApiJson(body) = body?;
    let invalid = |e: Invalid| ApiError::from(ServiceError::from(e));
    let scopes = ScopeSet::parse_list("scopes", &body.scopes).map_err(invalid)?;
    let code = body.reason_code.trim();
    if code.is_empty()
        || code.len() > 64
        || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(invalid(Invalid::new("reason_code", "invalid_code", "reason_code is 1 to 64 of a-z, 0-9 and _")));
    }
    let release = match body.release_policy.as_deref() {
        None => ReleasePolicy::Agent,
        Some(p) => ReleasePolicy::parse(p, state.risk.engine().policy.self_freeze_wait_ms).ok_or_else(|| {
            invalid(Invalid::new(
                "release_policy",
                "invalid_release_policy",
                "one of owner_one_factor, owner_two_factors, expiry_only, agent, compliance_only",
            ))
        })?,
    };
    let expires_at_ms = body
        .expires_at
        .as_deref()
        .map(|s| s.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()))
        .transpose()
        .map_err(|_| invalid(Invalid::new("expires_at", "invalid_time", "expires_at must be an RFC 3339 time")))?;
    let amount = match (&body.amount, &body.asset) {
        (Some(a), Some(asset)) => Some(Money::parse(a, asset).map_err(invalid)?),
        (None, None) => None,
        _ => return Err(invalid(Invalid::new("amount", "required", "amount and asset come together"))),
    };
    let facts: Facts = body.facts.into_iter().collect();
    let (zh, en) = match &body.explanation {
        Some(e) => (e.zh_cn.clone(), e.en.clone()),
        None => (format!("人工设置的限制（{code}）"), format!("Restriction placed by hand ({code})")),
    };
    let origin = match &caller {
        // A legal request the platform passes on is a compliance hold like any other.
        Caller::ApiKey(_) if release == ReleasePolicy::ComplianceOnly => HoldOrigin::Compliance,
        Caller::ApiKey(_) => HoldOrigin::Platform,
        Caller::Staff(s) if s.staff.role == Role::Compliance || release == ReleasePolicy::ComplianceOnly => {
            if s.staff.role != Role::Compliance {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "compliance_only",
                    "only compliance officers place compliance-only holds",
                ));
            }
            HoldOrigin::Compliance
        }
        Caller::Staff(_) => HoldOrigin::Staff,
    };
    let new = HoldPlan {
        scopes,
        origin,
        release,
        reason: Reason::new(code, facts, &zh, &en),
        confidential: body.confidential.unwrap_or(release == ReleasePolicy::ComplianceOnly),
        expires_at_ms,
        cooldown_ms: None,
        amount,
    };
    let hold = holds::place(&state.db, &id, new, &caller.actor(), body.note.as_deref().unwrap_or(""), now_ms()).await?;
    Ok((StatusCode::CREATED, Json(hold_json(&hold))).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HoldWithHistory {
    #[schema(value_type = Object)]
    hold: serde_json::Value,
    history: Vec<HistoryEntry>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    change: String,
    actor: String,
    at: String,
    note: String,
    status_before: Option<String>,
    status_after: String,
}

/// One hold with its history (who placed, released or expired it, when and why).
#[utoipa::path(get, path = "/api/v1/holds/{id}", tag = "holds",
    params(("id" = String, Path, description = "The hold's id")),
    responses((status = 200, body = HoldWithHistory), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<HoldWithHistory>, ApiError> {
    caller.require(Permission::ReadHolds)?;
    let (hold, changes) = holds::get(&state.db, &id).await?;
    Ok(Json(HoldWithHistory {
        hold: hold_json(&hold),
        history: changes
            .into_iter()
            .map(|c| HistoryEntry {
                change: c.change,
                actor: c.actor,
                at: rfc3339(c.at_ms),
                note: c.note,
                status_before: c.status_before,
                status_after: c.status_after,
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// Why it is lifted, kept in the hold's history.
    note: Option<String>,
}

/// Lifts a hold if its release policy lets the caller: compliance holds only compliance
/// officers; a credential-change cool-down nobody until it expires; agents within their
/// authority, above it a supervisor. Refusals are 403 with a stable code. The body may be left out.
#[utoipa::path(post, path = "/api/v1/holds/{id}/release", tag = "holds", request_body = Option<ReleaseBody>,
    params(("id" = String, Path, description = "The hold's id")),
    responses((status = 200, description = "The released hold", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReleaseHolds)?;
    let body = crate::json::read_body(req).await?;
    let body: ReleaseBody =
        if body.iter().all(u8::is_ascii_whitespace) { ReleaseBody::default() } else { crate::json::parse(&body)? };
    let note = body.note.unwrap_or_default();
    let hold =
        holds::release(&state.db, &state.risk, &id, &caller.as_actor(), &caller.actor(), &note, now_ms()).await?;
    Ok(Json(hold_json(&hold)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionsQuery {
    /// At most this many, newest first (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The account's recent decisions, newest first, as they were answered.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/decisions", tag = "risk",
    params(("id" = String, Path, description = "The platform's user id", pattern = r"^[A-Za-z0-9._:@-]{1,128}$"), DecisionsQuery),
    responses((status = 200, description = "Decisions", body = Vec<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn decisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<ApiQuery<DecisionsQuery>, ApiError>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require(Permission::ReadHolds)?;
    let ApiQuery(q) = q?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range", "limit is between 1 and 200")
            .field("limit"));
    }
    Ok(Json(events::decisions(&state.db, &id, 0, limit).await?))
}
