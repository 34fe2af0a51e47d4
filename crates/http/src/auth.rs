//! Who is calling, and whether they may: the only place where requests are authenticated.
//! The API accepts a platform key (`Authorization: Bearer thaw_…`) or a staff session cookie
//! (with `X-CSRF-Token` on writes); pages accept the staff session cookie, with the CSRF token
//! of every form checked here too.

use crate::error::ApiError;
use crate::pages::PageError;
use crate::{AppState, cookies, middleware::CsrfSeed};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use thaw_domain::{Locale, Permission, platform_key_can};
use thaw_services::holder::{self, HolderSession};
use thaw_services::signin::StaffSession;
use thaw_services::{now_ms, same_secret, signin};
use thaw_store::ApiKeyRecord;

/// An authenticated API caller.
pub enum Caller {
    ApiKey(ApiKeyRecord),
    Staff(StaffSession),
}

impl Caller {
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        let allowed = match self {
            Caller::ApiKey(_) => platform_key_can(p),
            Caller::Staff(s) => s.staff.role.can(p),
        };
        if allowed { Ok(()) } else { Err(ApiError::forbidden()) }
    }

    /// The caller as an actor asking to lift a hold.
    pub fn as_actor(&self) -> thaw_domain::risk::Actor {
        match self {
            Caller::ApiKey(_) => thaw_domain::risk::Actor::Platform,
            Caller::Staff(s) => thaw_domain::risk::Actor::Staff { id: s.staff.id.clone(), role: s.staff.role },
        }
    }

    /// Who did it, for records: `api_key:<id>` or `staff:<id>`.
    pub fn actor(&self) -> String {
        match self {
            Caller::ApiKey(k) => format!("api_key:{}", k.id),
            Caller::Staff(s) => format!("staff:{}", s.staff.id),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).unwrap_or("");
            return match state.api_keys.authenticate(&state.db, token).await? {
                Some(key) => {
                    thaw_store::audit::set_actor(format!("api_key:{}", key.id));
                    Ok(Caller::ApiKey(key))
                }
                None => Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_api_key",
                    "the API key is malformed, unknown or revoked",
                )),
            };
        }
        let Some(session) = staff_session(parts, state).await? else {
            return Err(ApiError::unauthenticated());
        };
        if session.must_enrol_totp {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "totp_enrolment_required",
                "set up an authenticator in the desk's security page first",
            ));
        }
        if !is_safe(&parts.method) {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same_secret(sent, &session.csrf_token) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "a staff session writing through the API must send its X-CSRF-Token",
                ));
            }
        }
        Ok(Caller::Staff(session))
    }
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The staff session named by the request's cookie, if it is live.
async fn staff_session(parts: &Parts, state: &AppState) -> Result<Option<StaffSession>, thaw_services::ServiceError> {
    let session = match cookies::get(&parts.headers, cookies::SESSION) {
        Some(token) => signin::session(&state.db, &token, now_ms()).await?,
        None => None,
    };
    if let Some(s) = &session {
        thaw_store::audit::set_actor(format!("staff:{}", s.staff.id));
    }
    Ok(session)
}

/// The account holder's session named by the request's cookie, if it is live.
async fn holder_session(parts: &Parts, state: &AppState) -> Result<Option<HolderSession>, thaw_services::ServiceError> {
    let session = match cookies::get(&parts.headers, cookies::HOLDER) {
        Some(token) => holder::session(&state.db, &token, now_ms()).await?,
        None => None,
    };
    if let Some(h) = &session {
        thaw_store::audit::set_actor(format!("holder:{}", h.account.id));
    }
    Ok(session)
}

/// What every page needs: the visitor's language, the CSRF token for its forms, where it is
/// (for the language switch to come back to), and the staff or account holder's session, if any.
#[derive(Clone)]
pub struct PageCtx {
    pub locale: Locale,
    pub csrf: String,
    pub path: String,
    pub session: Option<StaffSession>,
    pub holder: Option<HolderSession>,
    pub secure: bool,
}

impl PageCtx {
    /// Checks a form's CSRF token against the session's, or against the pre-session seed
    /// cookie for visitors who are not signed in.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if !self.csrf.is_empty() && same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::new(self, StatusCode::FORBIDDEN, "error.csrf"))
        }
    }

    pub fn require(&self, p: Permission) -> Result<&StaffSession, PageError> {
        match &self.session {
            Some(s) if s.staff.role.can(p) => Ok(s),
            _ => Err(PageError::new(self, StatusCode::FORBIDDEN, "error.forbidden")),
        }
    }
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let sessions = async {
            Ok::<_, thaw_services::ServiceError>((
                staff_session(parts, state).await?,
                holder_session(parts, state).await?,
            ))
        };
        let (session, holder) = match sessions.await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                let locale = negotiate(parts, None);
                return Err(
                    PageError::bare(locale, StatusCode::SERVICE_UNAVAILABLE, "error.unavailable").into_response()
                );
            }
        };
        let preferred = session.as_ref().map(|s| s.staff.locale).or(holder.as_ref().map(|h| h.account.locale));
        let locale = negotiate(parts, preferred);
        let csrf = match (&session, &holder) {
            (Some(s), _) => s.csrf_token.clone(),
            (None, Some(h)) => h.csrf_token.clone(),
            (None, None) => parts.extensions.get::<CsrfSeed>().map(|c| c.0.clone()).unwrap_or_default(),
        };
        let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        Ok(PageCtx { locale, csrf, path, session, holder, secure: state.config.is_tls() })
    }
}

/// The language of a page: the visitor's chosen language (cookie), then the staff member's
/// saved preference, then the browser's Accept-Language, then English.
pub fn negotiate(parts: &Parts, staff_pref: Option<Locale>) -> Locale {
    cookies::get(&parts.headers, cookies::LANG)
        .and_then(|c| Locale::parse(&c))
        .or(staff_pref)
        .or_else(|| {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(Locale::En)
}

/// A page for signed-in staff: anyone else is sent to the sign-in page and brought back after.
pub struct StaffCtx(pub PageCtx, pub StaffSession);

impl FromRequestParts<AppState> for StaffCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = PageCtx::from_request_parts(parts, state).await?;
        match ctx.session.clone() {
            // Until a required TOTP is set up, the staff security page is the only way on.
            Some(s) if s.must_enrol_totp && !ctx.path.starts_with("/desk/security") => {
                Err(Redirect::to("/desk/security").into_response())
            }
            Some(s) => Ok(StaffCtx(ctx, s)),
            None => {
                let next = if parts.method == Method::GET { ctx.path.clone() } else { "/desk".into() };
                let target = format!("/desk/sign-in?next={}", url_encode(&next));
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// A security-centre page for a signed-in account holder: anyone else is sent to the holders'
/// sign-in page and brought back after.
pub struct HolderCtx(pub PageCtx, pub HolderSession);

impl FromRequestParts<AppState> for HolderCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = PageCtx::from_request_parts(parts, state).await?;
        match ctx.holder.clone() {
            Some(h) => Ok(HolderCtx(ctx, h)),
            None => {
                let next = if parts.method == Method::GET { ctx.path.clone() } else { "/security".into() };
                let target = format!("/security/sign-in?next={}", url_encode(&next));
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

pub fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A redirect target from a form or query is followed only when it is a path on this site.
pub fn local_path(next: Option<&str>, default: &str) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.contains(['\r', '\n']) => {
            n.to_string()
        }
        _ => default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/desk/accounts?q=a"), "/desk"), "/desk/accounts?q=a");
        for evil in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", ""] {
            assert_eq!(local_path(Some(evil), "/desk"), "/desk", "{evil}");
        }
        assert_eq!(local_path(None, "/"), "/");
    }
}
