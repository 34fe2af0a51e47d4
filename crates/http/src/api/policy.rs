//! `/api/v1/policy`: admins see the risk policy in force and reload it from its file.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use thaw_domain::Permission;
use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, SchemaType, Type};

#[derive(Serialize, utoipa::ToSchema)]
pub struct PolicySummary {
    /// The policy file, or `default` for the shipped policy.
    source: String,
    /// Built-in detectors and whether each is on: `[code, on]` pairs.
    #[schema(schema_with = detector_pairs)]
    detectors: Vec<(String, bool)>,
    /// Codes of the operators' rules in force.
    rules: Vec<String>,
    sanctioned_addresses: usize,
}

/// `[code, on]` pairs. Described as two-item arrays of strings and booleans rather than with
/// utoipa's tuple schema, which OpenAPI 3.1 rejects (`items: [..]`); schemathesis also cannot
/// read `prefixItems` in a response schema.
fn detector_pairs() -> Array {
    let pair = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Boolean])))
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new().items(pair).build()
}

fn summary(state: &AppState) -> PolicySummary {
    let engine = state.risk.engine();
    let p = &engine.policy;
    PolicySummary {
        source: state.risk.policy_file().map(|f| f.display().to_string()).unwrap_or_else(|| "default".into()),
        detectors: p.detector_switches().into_iter().map(|(code, on)| (code.to_string(), on)).collect(),
        rules: p.rules.iter().map(|r| r.code.clone()).collect(),
        sanctioned_addresses: p.lists.sanctioned.len(),
    }
}

/// The policy in force.
#[utoipa::path(get, path = "/api/v1/policy", tag = "risk",
    responses((status = 200, body = PolicySummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Json<PolicySummary>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    Ok(Json(summary(&state)))
}

/// Reloads the policy file (also done on SIGHUP). An invalid file changes nothing: 422 with
/// every error and its line.
#[utoipa::path(post, path = "/api/v1/policy/reload", tag = "risk",
    responses((status = 200, body = PolicySummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("staff_session" = [])))]
pub async fn reload(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    match state.risk.reload_audited(&state.db).await? {
        Ok(_) => Ok(Json(summary(&state)).into_response()),
        Err(errors) => {
            let message = errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_policy",
                format!("the policy was not reloaded: {message}"),
            ))
        }
    }
}
