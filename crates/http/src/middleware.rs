//! Cross-cutting layers: the pre-session CSRF seed, security headers, the panic page and the
//! client address.

use crate::pages::PageError;
use crate::{AppState, cookies, i18n};
use axum::extract::FromRequestParts;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::net::SocketAddr;

/// The CSRF token of a visitor who is not signed in, from (or for) the `thaw_csrf` cookie.
#[derive(Clone)]
pub struct CsrfSeed(pub String);

/// Gives every visitor a CSRF seed cookie, so that forms shown before sign-in (sign-in itself,
/// the language switch) are protected too. The API has no forms: its calls go without.
pub async fn csrf_seed(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let existing = cookies::get(req.headers(), cookies::CSRF_SEED)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let (seed, fresh) = match existing {
        Some(s) => (s, false),
        None => (thaw_services::random_hex(32), true),
    };
    req.extensions_mut().insert(CsrfSeed(seed.clone()));
    let secure = state.config.is_tls();
    let mut res = next.run(req).await;
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if fresh && is_page {
        let cookie = cookies::set(cookies::CSRF_SEED, &seed, 86_400, secure);
        res.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("valid cookie"));
    }
    res
}

/// Refuses a form post with a NUL character in a field name or value before any handler sees
/// it: 422 naming the field, nothing stored (PostgreSQL cannot store the character in text, and
/// no page should carry it). A body over the limit is 413. API bodies are JSON and checked by
/// their own extractors.
pub async fn refuse_nul_in_forms(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form || req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let refuse = async |parts: &mut axum::http::request::Parts, status, key, field: Option<String>| {
        let error = match crate::auth::PageCtx::from_request_parts(parts, &state).await {
            Ok(ctx) => PageError::new(&ctx, status, key),
            Err(response) => return response,
        };
        error.with_field(field).into_response()
    };
    let bytes = match axum::body::to_bytes(body, state.config.body_limit).await {
        Ok(b) => b,
        Err(_) => return refuse(&mut parts, StatusCode::PAYLOAD_TOO_LARGE, "error.too_large", None).await,
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    if let Some((field, _)) = pairs.into_iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        let field = field.replace('\0', "\u{2400}");
        return refuse(&mut parts, StatusCode::UNPROCESSABLE_ENTITY, "error.nul", Some(field)).await;
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// Runs the request inside an audit context: the audit entries it writes carry the client's
/// address and, once authentication names them, the actor.
pub async fn audit_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = peer.map(|p| client_ip(req.headers(), p, state.config.behind_proxy));
    thaw_store::AuditContext::new(None, ip).scope(next.run(req)).await
}

/// Security headers on every response: a strict CSP with no inline scripts, no framing, no
/// sniffing, a tight referrer policy, and HSTS when thaw is served over TLS.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if state.config.is_tls() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// What a panicking handler answers: a plain bilingual page, nothing of the cause.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, Html(i18n::FALLBACK_ERROR_PAGE)).into_response()
}

/// The client's address: the TCP peer, or behind a proxy thaw's operator runs, the last
/// `X-Forwarded-For` entry (the one that proxy appended).
pub fn client_ip(headers: &HeaderMap, peer: SocketAddr, behind_proxy: bool) -> String {
    if behind_proxy {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| s.parse::<std::net::IpAddr>().is_ok());
        if let Some(ip) = forwarded {
            return ip.to_string();
        }
    }
    peer.ip().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_trusted_only_behind_a_proxy_and_only_its_last_hop() {
        let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.9"));
        assert_eq!(client_ip(&h, peer, false), "10.0.0.5");
        assert_eq!(client_ip(&h, peer, true), "203.0.113.9");
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(&h, peer, true), "10.0.0.5");
    }
}
