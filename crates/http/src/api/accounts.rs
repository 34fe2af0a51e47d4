//! `/api/v1/accounts`: the platform keeps thaw's copy of its users current.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use crate::query::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thaw_domain::{Account, AccountInput, Invalid, Permission};
use thaw_services::accounts::{self, UpsertOutcome};
use thaw_services::rfc3339;

/// An account holder as thaw knows them.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AccountBody {
    /// The platform's id of the user.
    id: String,
    email: Option<String>,
    /// E.164, e.g. `+8613800138000`.
    phone: Option<String>,
    /// `zh-CN` or `en`.
    locale: String,
    kyc_level: i64,
    vip_level: i64,
    /// When the platform created the user (RFC 3339, UTC).
    created_at: String,
    /// When thaw last received the platform's copy (RFC 3339, UTC).
    updated_at: String,
}

impl From<Account> for AccountBody {
    fn from(a: Account) -> Self {
        AccountBody {
            id: a.id.to_string(),
            email: a.email.map(|e| e.to_string()),
            phone: a.phone.map(|p| p.as_str().to_string()),
            locale: a.locale.code().into(),
            kyc_level: a.kyc_level,
            vip_level: a.vip_level,
            created_at: rfc3339(a.created_at_ms),
            updated_at: rfc3339(a.updated_at_ms),
        }
    }
}

/// The platform's copy of a user. Absent fields take their defaults (locale `en`, levels 0,
/// created now); the whole copy is replaced on every PUT.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPut {
    #[schema(example = "li.wei@example.com")]
    email: Option<String>,
    #[schema(example = "+8613800138000")]
    phone: Option<String>,
    /// `zh-CN` or `en`.
    #[schema(example = "zh-CN")]
    locale: Option<String>,
    /// 0 to 5.
    #[schema(minimum = 0, maximum = 5)]
    kyc_level: Option<i64>,
    /// 0 to 10.
    #[schema(minimum = 0, maximum = 10)]
    vip_level: Option<i64>,
    /// RFC 3339, e.g. `2024-03-01T08:00:00Z`.
    #[schema(example = "2024-03-01T08:00:00Z")]
    created_at: Option<String>,
}

/// Creates or replaces the platform's copy of a user. 201 when created, 200 when replaced.
#[utoipa::path(put, path = "/api/v1/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, description = "The platform's user id: 1–128 of letters, digits and . _ : @ -", pattern = r"^[A-Za-z0-9._:@-]{1,128}$")),
    request_body = AccountPut,
    responses((status = 200, body = AccountBody), (status = 201, body = AccountBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn put_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<AccountPut>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(Permission::WriteAccounts)?;
    let ApiJson(body) = body?;
    let created_at_ms = body
        .created_at
        .map(|s| {
            s.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| {
                Invalid::new(
                    "created_at",
                    "invalid_time",
                    "created_at must be an RFC 3339 time, e.g. 2024-03-01T08:00:00Z",
                )
            })
        })
        .transpose()
        .map_err(thaw_services::ServiceError::from)?;
    let input = AccountInput {
        email: body.email,
        phone: body.phone,
        locale: body.locale,
        kyc_level: body.kyc_level,
        vip_level: body.vip_level,
        created_at_ms,
    };
    let (account, outcome) = accounts::upsert(&state.db, &id, input).await?;
    let status = if outcome == UpsertOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(AccountBody::from(account))).into_response())
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, description = "The platform's user id", pattern = r"^[A-Za-z0-9._:@-]{1,128}$")),
    responses((status = 200, body = AccountBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AccountBody>, ApiError> {
    caller.require(Permission::ReadAccounts)?;
    Ok(Json(accounts::get(&state.db, &id).await?.into()))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only accounts whose id or email starts with this (case-insensitive).
    q: Option<String>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Default 0.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AccountPage {
    items: Vec<AccountBody>,
    /// All matches, not only this page.
    total: i64,
}

/// Accounts, newest first, optionally filtered by the start of the id or email.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(ListParams),
    responses((status = 200, body = AccountPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<ApiQuery<ListParams>, ApiError>,
) -> Result<Json<AccountPage>, ApiError> {
    caller.require(Permission::ReadAccounts)?;
    let ApiQuery(p) = params?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range", "limit must be between 1 and 200")
            .field("limit"));
    }
    if p.offset.is_some_and(|o| o < 0) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range", "offset must not be negative")
            .field("offset"));
    }
    let (items, total) = accounts::list(&state.db, p.q.as_deref(), limit, p.offset.unwrap_or(0)).await?;
    Ok(Json(AccountPage { items: items.into_iter().map(AccountBody::from).collect(), total }))
}
