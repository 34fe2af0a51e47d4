//! Reading and writing thaw's cookies: the staff session, the pre-session CSRF seed and the
//! language preference.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

pub const SESSION: &str = "thaw_session";
/// The account holder's security-centre session.
pub const HOLDER: &str = "thaw_holder";
pub const CSRF_SEED: &str = "thaw_csrf";
pub const LANG: &str = "thaw_lang";
/// State, nonce and PKCE verifier of a staff single sign-on in progress.
pub const SSO_PENDING: &str = "thaw_sso";

/// The value of cookie `name` in the request, if present.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure when served over TLS.
/// `max_age` of zero removes the cookie.
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_a_cookie_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; thaw_lang=zh-CN"));
        h.append(COOKIE, HeaderValue::from_static("thaw_session=abc"));
        assert_eq!(get(&h, LANG).as_deref(), Some("zh-CN"));
        assert_eq!(get(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&h, "thaw"), None);
    }

    #[test]
    fn set_cookie_is_http_only_lax_and_secure_only_over_tls() {
        let c = set(SESSION, "x", 60, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"));
        assert!(set(SESSION, "x", 60, true).ends_with("; Secure"));
    }
}
