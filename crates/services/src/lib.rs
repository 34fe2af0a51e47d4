//! Use cases of thaw: each function validates with the domain, persists through the store and
//! returns what the caller (HTTP handler, CLI, job) needs. Handlers and commands stay thin.

pub mod accounts;
pub mod alerts;
pub mod analytics;
pub mod api_keys;
pub mod approvals;
pub mod audit;
pub mod bot;
pub mod case_links;
pub mod case_mail;
pub mod cases;
pub mod channels;
pub mod demo;
pub mod demo_cases;
pub mod demo_history;
pub mod demo_scale;
pub mod demo_security;
pub mod events;
pub mod evidence;
pub mod factors;
pub mod freeze;
pub mod geo;
pub mod guard;
pub mod holder;
pub mod holds;
pub mod knowledge;
pub mod macros;
pub mod mail;
pub mod objects;
pub mod oidc;
pub mod outbox;
pub mod passwords;
pub mod quality;
pub mod risk;
pub mod search;
pub mod security;
pub mod signin;
pub mod sla_file;
pub mod sso;
pub mod staff;
pub mod triage;
pub mod webhooks;

/// Inbound email is read by the text crate (pure, and fuzzed there); case mail uses it from here.
pub use thaw_text::inbound;

use thaw_domain::Invalid;
use thaw_store::StoreError;

/// What can go wrong in a use case. The HTTP layer maps each to one status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{message}")]
    Duplicate { field: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("wrong email or password")]
    BadCredentials,
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: i64 },
    /// The request contradicts what is stored (e.g. an event id reused with another body).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller is known but may not do this (e.g. lift a hold beyond their authority).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A part of this process failed (e.g. the search index); logged, answered 500.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `n` bytes from the operating system's random source, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random source is available");
    hex::encode(buf)
}

/// SHA-256 of a high-entropy secret (session token, API key), as hex. Only for secrets that are
/// random already; passwords go through [`passwords`].
pub fn secret_digest(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A record's id as given from outside (a URL), to look up. One with a NUL character names no
/// record, and PostgreSQL refuses it in a query (a 500), so it is not found without asking.
pub fn lookup_id<'a>(id: &'a str, what: &'static str) -> Result<&'a str, ServiceError> {
    if id.contains('\0') { Err(ServiceError::NotFound(what)) } else { Ok(id) }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A UTC time to the minute, as emails and macros show it: `2026-11-21 14:05 UTC`.
pub fn utc_minute(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A UTC time in RFC 3339, as the API and webhooks show it.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
}
