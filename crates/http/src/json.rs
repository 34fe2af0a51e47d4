//! `ApiJson<T>`: the JSON body extractor of the API. Malformed JSON is 400 `malformed_json`, a
//! missing or mistyped field is 422 naming it, a body over the limit is 413, another content
//! type is 415 — always in the API's error format. Handlers that check a permission take it as
//! `Result<ApiJson<T>, ApiError>` (and queries through [`query`]) so that who may call is
//! answered before what they sent.

use crate::error::ApiError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use std::pin::Pin;
use std::time::Duration;
use thaw_domain::json::JsonError;

pub struct ApiJson<T>(pub T);

/// The largest body the API reads, as a request extension set by the router.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// After a body turns out too large, the rest is read and dropped (up to this much, for up to
/// `LINGER`) before the 413 is sent — as nginx's lingering close does — so the client, still
/// sending, reads the answer instead of a reset connection.
const LINGER_BYTES: usize = 16 * 1024 * 1024;
const LINGER: Duration = Duration::from_secs(2);

/// Reads a body of at most `limit` bytes; a larger one is 413 (after a lingering drain).
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let unreadable = || ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", "the request body could not be read");
    let mut buf = Vec::new();
    loop {
        let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await else {
            return Ok(Bytes::from(buf));
        };
        let Ok(data) = frame.map_err(|_| unreadable())?.into_data() else { continue };
        if buf.len() + data.len() > limit {
            break;
        }
        buf.extend_from_slice(&data);
    }
    drop(buf);
    let _ = tokio::time::timeout(LINGER, async {
        let mut drained = 0usize;
        while drained < LINGER_BYTES {
            match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    })
    .await;
    Err(ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than the server accepts ({limit} bytes)"),
    ))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        parse(&read_body(req).await?).map(ApiJson)
    }
}

/// Reads a request's body up to the router's limit; a larger one is 413.
pub async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    let limit = req.extensions().get::<BodyLimit>().map_or(DEFAULT_BODY_LIMIT, |l| l.0);
    read_limited(req.into_body(), limit).await
}

/// Parses JSON, telling syntax errors (400) from shape errors (422 naming the field).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(field) = nul_in(bytes) {
        return Err(nul_refused(field));
    }
    thaw_domain::json::decode(bytes).map_err(|e| match e {
        JsonError::Malformed(_) => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()),
        JsonError::NotAnObject => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.to_string()),
        JsonError::Shape { ref field, .. } => {
            let field = field.clone();
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.to_string()).field(field)
        }
    })
}

/// 422 for text with a NUL character: PostgreSQL stores none (it would be a 500 there), and no
/// field of the API has a use for one.
pub(crate) fn nul_refused(field: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_text",
        format!("{field}: text must not contain NUL characters (U+0000)"),
    )
    .field(field)
}

/// The field (`note`, `geo.city`, `events[2].id`) of the first string or key holding a NUL
/// character, if the JSON has one. A raw NUL is a syntax error; only the escape needs looking for.
fn nul_in(bytes: &[u8]) -> Option<String> {
    use serde_json::Value;
    fn find(v: &Value, at: &str) -> Option<String> {
        let join = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
        match v {
            Value::String(s) if s.contains('\0') => Some(if at.is_empty() { "body".into() } else { at.into() }),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| find(v, &format!("{at}[{i}]"))),
            Value::Object(m) => {
                m.iter().find_map(|(k, v)| if k.contains('\0') { Some(join(k)) } else { find(v, &join(k)) })
            }
            _ => None,
        }
    }
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return None;
    }
    find(&serde_json::from_slice(bytes).ok()?, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        level: Option<i64>,
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_422_naming_the_field() {
        let e = parse::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, "malformed_json"));
        let e = parse::<Body>(b"{\"name\": \"a\", \"level\": \"high\"}").unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("level")));
        let e = parse::<Body>(b"{}").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        let e = parse::<Body>(b"{\"name\": \"a\", \"colour\": 1}").unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.field.as_deref(), Some("colour"));
    }

    #[test]
    fn text_with_a_nul_character_is_422_naming_where_it_is() {
        let e = parse::<Body>(br#"{"name": "a\u0000b"}"#).unwrap_err();
        assert_eq!(
            (e.status, e.code, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", Some("name"))
        );
        let e = parse::<serde_json::Value>(br#"{"events": [{}, {"geo": {"city": "\u0000"}}]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("events[1].geo.city"));
        let e = parse::<serde_json::Value>(br#"{"intake": {"a\u0000": "x"}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("intake.a\u{0}"));
        // A backslash followed by `u0000` is no NUL.
        assert_eq!(parse::<Body>(br#"{"name": "\\u0000"}"#).unwrap().name, "\\u0000");
    }
}
