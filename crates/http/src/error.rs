//! The one place where failures become HTTP responses. API errors are JSON with a stable code
//! and a message safe to show, and the field when one is to blame; causes go to the log only.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use thaw_services::ServiceError;

/// An error answered by the JSON API.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `invalid_email`, `not_found`.
    pub code: String,
    /// Human-readable explanation, safe to show.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after_secs: None }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "an API key (Authorization: Bearer) or a staff session is required",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "your role does not allow this")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; it has been logged",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is not reachable right now; try again shortly",
        )
    }
}

impl From<thaw_domain::Invalid> for ApiError {
    fn from(i: thaw_domain::Invalid) -> Self {
        ServiceError::Invalid(i).into()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(i) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, i.code, i.message).field(i.field)
            }
            ServiceError::Duplicate { field, message } => {
                ApiError::new(StatusCode::CONFLICT, "duplicate", message).field(field)
            }
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::BadCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "wrong email or password")
            }
            ServiceError::Throttled { retry_after_secs } => ApiError {
                retry_after_secs: Some(retry_after_secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    format!("too many attempts; try again in {retry_after_secs} s"),
                )
            },
            ServiceError::Conflict { code, message } => ApiError::new(StatusCode::CONFLICT, code, message),
            ServiceError::Refused { code, message } => ApiError::new(StatusCode::FORBIDDEN, code, message),
            ServiceError::Store(thaw_store::StoreError::Duplicate(what)) => {
                ApiError::new(StatusCode::CONFLICT, "duplicate", format!("a record with this {what} exists already"))
            }
            ServiceError::Store(e) => {
                tracing::error!(error = %e, "store error");
                if e.is_unavailable() { ApiError::unavailable() } else { ApiError::internal() }
            }
            ServiceError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message, field: self.field } };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}
