//! Email into the desk: the mail server hands each message for thaw's support address (and its
//! plus-addresses) to this endpoint as RFC 822 bytes — e.g. Postfix `pipe` to curl, or an
//! inbound-mail webhook. Replies land on their case; automatic replies and bounces are dropped.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use serde::Serialize;
use thaw_domain::Permission;
use thaw_services::case_mail::{self, Received};
use thaw_services::now_ms;

/// The largest email taken (attachments included), as common mail servers allow.
pub const MAIL_LIMIT: usize = 30 * 1024 * 1024;

/// What became of the email.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InboundBody {
    /// added | reopened | new_case | opened | noted | ignored
    result: &'static str,
    /// The case it landed on (C-10001), when it did.
    case: Option<String>,
    /// Why it was not taken: auto_reply, bounce, bulk, duplicate, unknown_sender, too_many, empty.
    reason: Option<&'static str>,
}

/// Takes one email (`Content-Type: message/rfc822`, the raw message as the body). A reply to a
/// case email lands on its case (found by the reply token in the address or by In-Reply-To);
/// a reply to a closed case opens a linked case; a known holder's new email opens a case.
/// Automatic replies, bounces and list mail are answered 202 `ignored` and change nothing.
#[utoipa::path(post, path = "/api/v1/mail/inbound", tag = "cases",
    request_body(content = String, content_type = "message/rfc822", description = "The email as received (RFC 822)"),
    responses((status = 202, body = InboundBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn inbound(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<(StatusCode, Json<InboundBody>), ApiError> {
    caller.require(Permission::ReceiveMail)?;
    let raw = crate::json::read_limited(req.into_body(), MAIL_LIMIT).await?;
    let base = case_mail::base_address(&state.security);
    let (received, _) = case_mail::receive(&state.db, &state.desk, &base, &raw, now_ms()).await?;
    let body = match &received {
        Received::Added { case, .. } | Received::Opened { case } | Received::Noted { case } => {
            InboundBody { result: received.code(), case: Some(case.clone()), reason: None }
        }
        Received::Ignored(why) => InboundBody { result: "ignored", case: None, reason: Some(why) },
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}
