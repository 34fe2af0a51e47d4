//! `/api/v1/api-keys`: admins create, list and revoke the platform's API keys.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thaw_domain::Permission;
use thaw_services::{api_keys, rfc3339};
use thaw_store::ApiKeyRecord;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ApiKeyBody {
    id: String,
    name: String,
    created_at: String,
    created_by: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    /// Only in the answer to creation: the whole key, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl ApiKeyBody {
    fn new(k: ApiKeyRecord, key: Option<String>) -> Self {
        ApiKeyBody {
            id: k.id,
            name: k.name,
            created_at: rfc3339(k.created_at_ms),
            created_by: k.created_by,
            last_used_at: k.last_used_at_ms.map(rfc3339),
            revoked_at: k.revoked_at_ms.map(rfc3339),
            key,
        }
    }
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What the key is for, 1 to 100 characters.
    #[schema(example = "production backend")]
    name: String,
}

/// All keys, newest first, without their secrets.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = Vec<ApiKeyBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn list_keys(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ApiKeyBody>>, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let keys = api_keys::list(&state.db).await?;
    Ok(Json(keys.into_iter().map(|k| ApiKeyBody::new(k, None)).collect()))
}

/// Creates a key; the answer carries the whole key once.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = NewKey,
    responses((status = 201, body = ApiKeyBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<ApiJson<NewKey>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let ApiJson(body) = body?;
    let created = api_keys::create(&state.db, &body.name, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(ApiKeyBody::new(created.record, Some(created.plaintext)))).into_response())
}

/// Revokes a key: requests with it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "The key's id (the part after `thaw_`)")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    state.api_keys.revoke(&state.db, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
