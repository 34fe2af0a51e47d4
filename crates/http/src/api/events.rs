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
use thaw_domain::Permission;
use thaw_domain::risk::EventBody;
use thaw_services::{ServiceError, now_ms};

pub const MAX_BATCH: usize = 1_000;

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

fn validated(body: &EventBody) -> Result<(thaw_domain::risk::Event, i64), ApiError> {
    let now = now_ms();
    Ok((body.validate(now).map_err(ServiceError::from)?, now))
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
    body: Result<ApiJson<EventBody>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(Permission::IngestEvents)?;
    let ApiJson(body) = body?;
    let (event, now) = validated(&body)?;
    let done = state.ingestor.submit(event, body.canonical(), now).await?;
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
    body: Result<ApiJson<BatchBody>, ApiError>,
) -> Result<Json<BatchAnswer>, ApiError> {
    caller.require(Permission::IngestEvents)?;
    let ApiJson(body) = body?;
    if body.events.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "batch_too_large",
            format!("a batch holds at most {MAX_BATCH} events"),
        )
        .field("events"));
    }
    // Every valid event is queued before any answer is awaited, so that the batch is decided
    // in order and committed in as few transactions as its size allows.
    let mut queued = Vec::with_capacity(body.events.len());
    for raw in body.events {
        let parsed = crate::json::parse::<EventBody>(raw.to_string().as_bytes());
        queued.push(match parsed.and_then(|event| Ok((validated(&event)?, event.canonical()))) {
            Ok(((event, now), canonical)) => Ok(state.ingestor.enqueue(event, canonical, now).await?),
            Err(e) => Err(e),
        });
    }
    let mut results = Vec::with_capacity(queued.len());
    for (index, queued) in queued.into_iter().enumerate() {
        let outcome = match queued {
            Ok(q) => q.answer().await.map_err(ApiError::from),
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
