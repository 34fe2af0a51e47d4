//! Staff sign-in and sessions. Failed attempts are throttled per email+IP first (so an attacker
//! elsewhere cannot lock a colleague out cheaply) and per IP (against password spraying).

use crate::{ServiceError, factors, passwords, random_hex, secret_digest};
use thaw_domain::{Email, StaffMember};
use thaw_store::{Capabilities, Db, SessionRecord, Subject};

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_EMAIL_IP: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 30;
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

const SCOPE_EMAIL_IP: &str = "staff_email_ip";
const SCOPE_IP: &str = "staff_ip";

/// Where a request comes from, for throttling and the session record.
pub struct Origin<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// A fresh session: the token goes into the cookie and is never stored; the CSRF token goes
/// into forms.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub staff: StaffMember,
    pub expires_at_ms: i64,
}

/// A valid session found from its cookie.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub token_hash: String,
    pub csrf_token: String,
    pub staff: StaffMember,
    /// Admins require TOTP for staff and this member has none yet: only enrolment is open.
    pub must_enrol_totp: bool,
}

/// The setting that makes TOTP mandatory for every staff member.
pub const STAFF_TOTP_REQUIRED: &str = "staff_totp_required";

/// Refuses with `Throttled` when any (scope, subject) has `max` or more failures recorded in
/// the last [`WINDOW_MS`]; the answer says when the oldest of them stops counting. Every
/// throttle of sign-ins, codes and factors goes through here.
pub(crate) async fn check_limits(
    conn: &mut thaw_store::AnyConnection,
    limits: &[(&str, &str, i64)],
    now_ms: i64,
) -> Result<(), ServiceError> {
    for (scope, subject, max) in limits {
        let (n, oldest) = conn.throttle().failures_since(scope, subject, now_ms - WINDOW_MS).await?;
        if n >= *max {
            let frees_at = oldest.unwrap_or(now_ms) + WINDOW_MS;
            return Err(ServiceError::Throttled { retry_after_secs: ((frees_at - now_ms) / 1000).max(1) });
        }
    }
    Ok(())
}

/// A password hash that no password matches, verified when the email is unknown so that the
/// answer takes as long as for a known email.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| passwords::hash(&random_hex(16)))
}

pub async fn sign_in(
    db: &Db,
    email: &str,
    password: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<NewSession, ServiceError> {
    sign_in_with_code(db, email, password, "", origin, now_ms).await
}

/// Signs a staff member in with password and, when they have TOTP, its code (or one of their
/// recovery codes). A missing or wrong code counts as a failed attempt.
pub async fn sign_in_with_code(
    db: &Db,
    email: &str,
    password: &str,
    code: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<NewSession, ServiceError> {
    let email = Email::parse("email", email).map_err(|_| ServiceError::BadCredentials)?;
    let email_ip = format!("{}|{}", email.normalized(), origin.ip);
    let mut conn = db.conn().await?;
    check_limits(
        &mut conn,
        &[(SCOPE_EMAIL_IP, email_ip.as_str(), MAX_FAILURES_PER_EMAIL_IP), (SCOPE_IP, origin.ip, MAX_FAILURES_PER_IP)],
        now_ms,
    )
    .await?;
    let credentials = conn.staff().credentials_by_email(&email).await?;
    let ok = match &credentials {
        Some(c) => passwords::verify(password, &c.password_hash) && c.member.active,
        None => {
            passwords::verify(password, decoy_hash());
            false
        }
    };
    let Some(credentials) = credentials.filter(|_| ok) else {
        conn.throttle().record_failure(SCOPE_EMAIL_IP, &email_ip, now_ms).await?;
        conn.throttle().record_failure(SCOPE_IP, origin.ip, now_ms).await?;
        tracing::info!(ip = origin.ip, "staff sign-in failed");
        return Err(ServiceError::BadCredentials);
    };
    let subject = Subject::Staff(&credentials.member.id);
    let has_totp = conn.factors().list(subject).await?.iter().any(|f| f.kind == "totp" && f.confirmed);
    if has_totp {
        let code = code.trim();
        let passed = !code.is_empty()
            && (factors::totp_verify(db, subject, code, now_ms).await.is_ok()
                || (code.len() > 8 && factors::use_recovery_code(db, subject, code, now_ms).await.is_ok()));
        if !passed {
            conn.throttle().record_failure(SCOPE_EMAIL_IP, &email_ip, now_ms).await?;
            conn.throttle().record_failure(SCOPE_IP, origin.ip, now_ms).await?;
            tracing::info!(ip = origin.ip, "staff sign-in without a valid second factor");
            return Err(ServiceError::Refused {
                code: "totp_required",
                message: "enter the code from your authenticator app".into(),
            });
        }
    }
    conn.throttle().clear(SCOPE_EMAIL_IP, &email_ip).await?;
    let token = random_hex(32);
    let session = SessionRecord {
        token_hash: secret_digest(&token),
        staff_id: credentials.member.id.clone(),
        csrf_token: random_hex(32),
        created_at_ms: now_ms,
        expires_at_ms: now_ms + SESSION_TTL_MS,
        ip: origin.ip.to_string(),
        user_agent: origin.user_agent.chars().take(300).collect(),
    };
    conn.sessions().create(&session).await?;
    tracing::info!(staff = %credentials.member.id, session = %log_hint(&session.token_hash), "staff signed in");
    Ok(NewSession {
        token,
        csrf_token: session.csrf_token,
        staff: credentials.member,
        expires_at_ms: session.expires_at_ms,
    })
}

/// The first characters of a token hash: enough to correlate log lines, useless to an attacker.
fn log_hint(token_hash: &str) -> &str {
    &token_hash[..8.min(token_hash.len())]
}

/// The live session of a cookie token, with its staff member, if any.
pub async fn session(db: &Db, token: &str, now_ms: i64) -> Result<Option<StaffSession>, ServiceError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut conn = db.conn().await?;
    let Some(record) = conn.sessions().live(&secret_digest(token), now_ms).await? else {
        return Ok(None);
    };
    let Some(staff) = conn.staff().by_id(&record.staff_id).await?.filter(|s| s.active) else {
        return Ok(None);
    };
    let required = conn.staff().setting(STAFF_TOTP_REQUIRED).await?.as_deref() == Some("true");
    let must_enrol_totp = required
        && !conn.factors().list(Subject::Staff(&staff.id)).await?.iter().any(|f| f.kind == "totp" && f.confirmed);
    Ok(Some(StaffSession { token_hash: record.token_hash, csrf_token: record.csrf_token, staff, must_enrol_totp }))
}

pub async fn sign_out(db: &Db, session: &StaffSession) -> Result<(), ServiceError> {
    db.conn().await?.sessions().delete(&session.token_hash).await?;
    Ok(())
}

/// Makes TOTP mandatory (or optional again) for every staff member.
pub async fn require_staff_totp(db: &Db, required: bool, now_ms: i64) -> Result<(), ServiceError> {
    let value = if required { "true" } else { "false" };
    let mut tx = db.begin_write().await?;
    tx.staff().set_setting(STAFF_TOTP_REQUIRED, value, now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(())
}

pub async fn staff_totp_required(db: &Db) -> Result<bool, ServiceError> {
    Ok(db.conn().await?.staff().setting(STAFF_TOTP_REQUIRED).await?.as_deref() == Some("true"))
}
