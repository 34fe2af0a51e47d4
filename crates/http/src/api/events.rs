//! `/api/v1/events`: the platform's events in, decisions out — one at a time or up to 1,000
//! per batch, each answered on its own.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use thaw_domain::risk::{EventInput, Geo};
use thaw_domain::{Invalid, Permission};
use thaw_services::{ServiceError, events, now_ms};

pub const MAX_BATCH: usize = 1_000;

#[derive(Deserialize, Serialize, utoipa::ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct GeoBody {
    /// ISO 3166 two-letter code, e.g. `CN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
}

/// One event from the platform.
#[derive(Deserialize, Serialize, utoipa::ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// The platform's id of the event: the idempotency key.
    #[schema(example = "evt-20261121-000123")]
    id: String,
    #[schema(example = "u-1001")]
    account_id: String,
    /// login_succeeded, login_failed, challenge_passed, challenge_failed, password_changed,
    /// mfa_changed, email_changed, phone_changed, device_flagged, deposit, withdrawal_requested,
    /// trade, p2p_order or address_added.
    #[schema(
        example = "withdrawal_requested",
        pattern = "^(login_succeeded|login_failed|challenge_passed|challenge_failed|password_changed|mfa_changed|email_changed|phone_changed|device_flagged|deposit|withdrawal_requested|trade|p2p_order|address_added)$"
    )]
    kind: String,
    /// RFC 3339; at most 5 minutes in the future.
    #[schema(example = "2026-11-21T08:30:00Z")]
    occurred_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    geo: Option<GeoBody>,
    /// A decimal string, e.g. `"1250.50"`; required for deposit, withdrawal_requested, trade, p2p_order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "1250.50")]
    amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "USDT")]
    asset: Option<String>,
    /// Destination address (withdrawal_requested, address_added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    /// For device_flagged: root, emulator, vpn, tor, cloud.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flags: Vec<String>,
    /// Free metadata, up to 8 KiB.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// Up to 1,000 events, each answered on its own.
    #[schema(value_type = Vec<EventBody>)]
    events: Vec<serde_json::Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchItem {
    index: usize,
    /// 200 decided (or replayed), 409 id reused with another body, 422 invalid.
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    decision: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<crate::error::ErrorDetail>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchAnswer {
    results: Vec<BatchItem>,
}

impl EventBody {
    fn to_input(&self) -> Result<EventInput, Invalid> {
        let occurred_at_ms = self.occurred_at.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| {
            Invalid::new(
                "occurred_at",
                "invalid_time",
                "occurred_at must be an RFC 3339 time such as 2026-11-21T08:30:00Z",
            )
        })?;
        Ok(EventInput {
            id: Some(self.id.clone()),
            account_id: Some(self.account_id.clone()),
            kind: Some(self.kind.clone()),
            occurred_at_ms: Some(occurred_at_ms),
            ip: self.ip.clone(),
            device_id: self.device_id.clone(),
            user_agent: self.user_agent.clone(),
            geo: self.geo.clone().map(|g| Geo { country: g.country, city: g.city, lat: g.lat, lon: g.lon }),
            amount: self.amount.clone(),
            asset: self.asset.clone(),
            address: self.address.clone(),
            network: self.network.clone(),
            flags: self.flags.clone(),
            metadata: self.metadata.clone(),
        })
    }
}

async fn decide(state: &AppState, body: &EventBody) -> Result<events::Ingested, ApiError> {
    let now = now_ms();
    let event = body.to_input().and_then(|i| i.validate(now)).map_err(ServiceError::from)?;
    let canonical = serde_json::to_string(body).expect("serialisable");
    Ok(state.ingestor.submit(event, canonical, now).await?)
}

/// Decides on one event. The decision is stored before it is answered; the same id again
/// gets the same answer (with `Idempotent-Replayed: true`), the same id with another body 409.
#[utoipa::path(post, path = "/api/v1/events", tag = "risk", request_body = EventBody,
    responses((status = 200, description = "The decision: action, reasons with facts and zh-CN/en explanations, holds, challenge_url", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn post_event(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EventBody>,
) -> Result<Response, ApiError> {
    caller.require(Permission::IngestEvents)?;
    let done = decide(&state, &body).await?;
    let mut res = Json(done.decision).into_response();
    if done.replayed {
        res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// Decides on up to 1,000 events in order, each answered on its own (`results[i].status`).
#[utoipa::path(post, path = "/api/v1/events/batch", tag = "risk", request_body = BatchBody,
    responses((status = 200, body = BatchAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn post_batch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<BatchBody>,
) -> Result<Json<BatchAnswer>, ApiError> {
    caller.require(Permission::IngestEvents)?;
    if body.events.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "batch_too_large",
            format!("a batch holds at most {MAX_BATCH} events"),
        )
        .field("events"));
    }
    let mut results = Vec::with_capacity(body.events.len());
    for (index, raw) in body.events.into_iter().enumerate() {
        let parsed = crate::json::parse::<EventBody>(raw.to_string().as_bytes());
        let outcome = match parsed {
            Ok(event) => decide(&state, &event).await,
            Err(e) => Err(e),
        };
        results.push(match outcome {
            Ok(done) => BatchItem { index, status: 200, decision: Some(done.decision), error: None },
            Err(e) => {
                let field = e.field.map(|f| format!("events[{index}].{f}"));
                BatchItem {
                    index,
                    status: e.status.as_u16(),
                    decision: None,
                    error: Some(crate::error::ErrorDetail { code: e.code.to_string(), message: e.message, field }),
                }
            }
        });
    }
    Ok(Json(BatchAnswer { results }))
}
