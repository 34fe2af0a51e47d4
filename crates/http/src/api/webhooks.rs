//! `/api/v1/webhooks`: admins register the platform's endpoints and read their delivery log.

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
use thaw_domain::Permission;
use thaw_services::{rfc3339, webhooks};
use thaw_store::{Delivery, Endpoint};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    #[schema(example = "https://platform.example/hooks/thaw")]
    url: String,
    /// hold.created, hold.released, hold.expired, decision.made (actions other than allow), or *.
    #[schema(example = json!(["hold.created", "hold.released", "hold.expired", "decision.made"]))]
    event_types: Vec<String>,
    /// At least 16 characters; generated when absent. Shown only in this answer.
    secret: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointBody {
    id: String,
    url: String,
    event_types: Vec<String>,
    active: bool,
    created_at: String,
    /// Only in the answer to registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl EndpointBody {
    fn new(e: Endpoint, show_secret: bool) -> Self {
        EndpointBody {
            id: e.id,
            url: e.url,
            event_types: e.event_types,
            active: e.active,
            created_at: rfc3339(e.created_at_ms),
            secret: show_secret.then_some(e.secret),
        }
    }
}

/// Registers an endpoint. Deliveries are signed: `Thaw-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256(secret, "<t>.<body>")>`, with `Thaw-Delivery` (unique per delivery) and `Thaw-Event`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    responses((status = 201, body = EndpointBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<ApiJson<NewEndpoint>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let ApiJson(body) = body?;
    let e =
        webhooks::register(&state.db, &body.url, &body.event_types, body.secret.as_deref(), &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(EndpointBody::new(e, true))).into_response())
}

/// The registered endpoints, without their secrets.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<EndpointBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<EndpointBody>>, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    Ok(Json(webhooks::list(&state.db).await?.into_iter().map(|e| EndpointBody::new(e, false)).collect()))
}

/// Stops deliveries to an endpoint (pending ones are marked failed).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    webhooks::deactivate(&state.db, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryBody {
    id: String,
    event_type: String,
    /// pending, retrying, delivered or failed (given up after 24 hours).
    status: String,
    attempts: i64,
    last_http_status: Option<i64>,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
    #[schema(value_type = Object)]
    payload: serde_json::Value,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        DeliveryBody {
            id: d.id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            last_http_status: d.last_status,
            last_error: d.last_error,
            created_at: rfc3339(d.created_at_ms),
            delivered_at: d.delivered_at_ms.map(rfc3339),
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Newest first, at most this many (default 100).
    limit: Option<i64>,
}

/// The delivery log of an endpoint, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), DeliveriesQuery),
    responses((status = 200, body = Vec<DeliveryBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<ApiQuery<DeliveriesQuery>, ApiError>,
) -> Result<Json<Vec<DeliveryBody>>, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let ApiQuery(q) = q?;
    let list = webhooks::deliveries(&state.db, &id, q.limit.unwrap_or(100)).await?;
    Ok(Json(list.into_iter().map(DeliveryBody::from).collect()))
}
