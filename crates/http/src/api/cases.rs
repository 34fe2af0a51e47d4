//! Cases through the API: the platform opens a case for one of its users (for example from its
//! own help centre), lists an account's cases and reads one with its public conversation and
//! the expected times the holder sees. Staff sessions also see internal notes.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use crate::query::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thaw_domain::case::{Case, Channel, parse_case_ref};
use thaw_domain::{Invalid, Locale, Permission};
use thaw_services::cases::{self, CaseActor, OpenCase, case_json};
use thaw_services::{now_ms, rfc3339};
use thaw_store::Capabilities;

/// A case to open for an account.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseBody {
    /// The platform's user id.
    account_id: String,
    /// asset_freeze, account_access, account_theft, trade_dispute, phishing_report,
    /// verification, deposit_withdrawal, complaint or other.
    category: String,
    subject: String,
    /// The holder's description: the first message of the case.
    body: String,
    /// The category's intake fields (e.g. trade_dispute: order_number, amount, asset, paid_at).
    #[serde(default)]
    intake: BTreeMap<String, String>,
    /// low, normal, high or urgent; chosen from the category and the account when left out.
    #[serde(default)]
    priority: Option<String>,
    /// zh-CN or en; the account's language when left out.
    #[serde(default)]
    language: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageBody {
    author: String,
    internal: bool,
    body: String,
    created_at: String,
}

/// A case with its expected times (and conversation when read one by one).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseBody {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    case: serde_json::Value,
    /// When the next step (first response or next reply) is due; absent while waiting for the holder.
    next_step_due_at: Option<String>,
    resolution_due_at: Option<String>,
    waiting_for_holder: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<MessageBody>>,
}

fn body_of(state: &AppState, c: &Case, messages: Option<Vec<MessageBody>>) -> CaseBody {
    let expected = state.desk.expected(c);
    CaseBody {
        case: case_json(c),
        next_step_due_at: expected.next_step_ms.map(rfc3339),
        resolution_due_at: expected.resolution_ms.map(rfc3339),
        waiting_for_holder: expected.waiting_for_holder,
        messages,
    }
}

fn actor_of(caller: &Caller) -> CaseActor {
    match caller {
        Caller::ApiKey(_) => CaseActor::Platform,
        Caller::Staff(s) => {
            CaseActor::Staff { id: s.staff.id.clone(), role: s.staff.role, name: s.staff.display_name.clone() }
        }
    }
}

/// Opens a case for an account: validated per category (a missing intake field is named),
/// routed, its SLA clock started, with the account's holds, decisions and events attached.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = OpenCaseBody,
    responses((status = 201, body = CaseBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<ApiJson<OpenCaseBody>, ApiError>,
) -> Result<(StatusCode, Json<CaseBody>), ApiError> {
    caller.require(Permission::WorkCases)?;
    let ApiJson(b) = b?;
    let language = match b.language.as_deref() {
        None => None,
        Some(l) => Some(
            Locale::parse_canonical(l)
                .ok_or_else(|| Invalid::new("language", "invalid_locale", "language: zh-CN or en"))?,
        ),
    };
    let channel = if matches!(caller, Caller::ApiKey(_)) { Channel::Api } else { Channel::Staff };
    let mut req = OpenCase::new(&b.account_id, thaw_domain::CaseCategory::Other, &b.subject, &b.body, channel);
    req.category = b.category;
    req.intake = b.intake;
    req.priority = b.priority;
    req.language = language;
    let case = cases::open(&state.db, &state.desk, req, &actor_of(&caller), now_ms()).await?;
    Ok((StatusCode::CREATED, Json(body_of(&state, &case, None))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// The platform's user id whose cases to list.
    account_id: String,
}

/// An account's cases, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CasesQuery),
    responses((status = 200, body = Vec<CaseBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<CasesQuery>, ApiError>,
) -> Result<Json<Vec<CaseBody>>, ApiError> {
    caller.require(Permission::ReadCases)?;
    let ApiQuery(q) = q?;
    let id = thaw_domain::AccountId::parse("account_id", &q.account_id)?;
    let mut conn = state.db.conn().await.map_err(thaw_services::ServiceError::from)?;
    let list = conn.cases().of_account(id.as_str(), 200).await.map_err(thaw_services::ServiceError::from)?;
    Ok(Json(list.iter().map(|c| body_of(&state, c, None)).collect()))
}

/// One case by its number (`C-10042`), with its conversation: the platform sees what the
/// holder sees; staff also see internal notes.
#[utoipa::path(get, path = "/api/v1/cases/{number}", tag = "cases",
    params(("number" = String, Path, description = "The case number, e.g. C-10042")),
    responses((status = 200, body = CaseBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Json<CaseBody>, ApiError> {
    caller.require(Permission::ReadCases)?;
    let number = parse_case_ref(&number).ok_or_else(|| ApiError::not_found("case"))?;
    let mut conn = state.db.conn().await.map_err(thaw_services::ServiceError::from)?;
    let (case, _) = conn
        .cases()
        .by_number(number)
        .await
        .map_err(thaw_services::ServiceError::from)?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let staff = matches!(caller, Caller::Staff(_));
    let messages = conn.cases().messages(&case.id, staff).await.map_err(thaw_services::ServiceError::from)?;
    let messages = messages
        .into_iter()
        .map(|m| MessageBody {
            author: m.author_kind,
            internal: m.internal,
            body: m.body,
            created_at: rfc3339(m.created_at_ms),
        })
        .collect();
    Ok(Json(body_of(&state, &case, Some(messages))))
}
