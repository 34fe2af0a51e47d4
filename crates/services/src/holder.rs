//! Account holders signing in to the security centre: by the platform's single sign-on token,
//! or by a one-time email code when the platform is out of reach (e.g. their login is frozen).
//! Email codes: 6 digits, valid 10 minutes, 5 tries; requests and failures are throttled per
//! email+IP and per IP; the answer never tells whether an email is known.

use crate::security::Security;
use crate::signin::{Origin, check_limits};
use crate::sso::{self, SsoRefusal};
use crate::{ServiceError, mail, new_id, random_hex, same_secret, secret_digest};
use thaw_domain::{Account, AccountId, Email};
use thaw_store::{Capabilities, Db, EmailCode, HolderSessionRecord};

pub const SESSION_TTL_MS: i64 = 2 * 3600 * 1000;
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
pub const CODE_TRIES: i64 = 5;
/// Codes sent to one email from one IP, and from one IP to any email, per window.
pub const MAX_CODE_REQUESTS_PER_EMAIL_IP: i64 = 5;
pub const MAX_CODE_REQUESTS_PER_IP: i64 = 20;
pub const MAX_FAILURES_PER_EMAIL_IP: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 30;
/// A verified factor counts for step-up this long.
pub const STEP_UP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// A holder's live session.
#[derive(Debug, Clone)]
pub struct HolderSession {
    pub token_hash: String,
    pub csrf_token: String,
    pub account: Account,
    pub via: String,
}

pub struct NewHolderSession {
    pub token: String,
    pub session: HolderSession,
}

/// Signs a holder in with the platform's token.
pub async fn sign_in_sso(
    db: &Db,
    security: &Security,
    token: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<NewHolderSession, SsoRefusal> {
    let key = security.config.sso.as_ref().ok_or(SsoRefusal::NotConfigured)?;
    let claims = sso::verify(key, token, now_ms).inspect_err(|r| {
        tracing::info!(ip = origin.ip, refusal = r.code(), "SSO token refused");
    })?;
    let id = AccountId::parse("sub", &claims.sub).map_err(|_| SsoRefusal::Malformed)?;
    let opened = async {
        let mut tx = db.begin_write().await?;
        if !tx.holders().use_sso_token(&claims.jti, claims.exp.saturating_mul(1000) + sso::LEEWAY_MS).await? {
            return Ok::<_, ServiceError>(None);
        }
        let mut account = crate::holds::ensure_account(&mut tx, &id, now_ms, now_ms).await?;
        // An account created on the fly learns its email from the token, so alerts can reach it.
        if account.email.is_none()
            && let Some(email) = claims.email.as_deref().and_then(|e| Email::parse("email", e).ok())
        {
            account.email = Some(email);
            account.updated_at_ms = now_ms;
            tx.accounts().upsert(&account).await?;
        }
        let new = create_session(&mut tx, account, "sso", origin, now_ms).await?;
        tx.commit().await.map_err(thaw_store::StoreError::from)?;
        Ok(Some(new))
    };
    match opened.await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            tracing::info!(ip = origin.ip, "SSO token replayed");
            Err(SsoRefusal::Replayed)
        }
        Err(e) => {
            tracing::error!(error = %e, "SSO sign-in failed");
            Err(SsoRefusal::Malformed)
        }
    }
}

async fn create_session(
    conn: &mut thaw_store::AnyConnection,
    account: Account,
    via: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> thaw_store::Result<NewHolderSession> {
    let token = random_hex(32);
    let record = HolderSessionRecord {
        token_hash: secret_digest(&token),
        account_id: account.id.as_str().to_string(),
        csrf_token: random_hex(32),
        via: via.into(),
        created_at_ms: now_ms,
        expires_at_ms: now_ms + SESSION_TTL_MS,
        ip: origin.ip.to_string(),
        user_agent: origin.user_agent.chars().take(300).collect(),
    };
    conn.holders().create_session(&record).await?;
    tracing::info!(account = %record.account_id, via, "holder signed in");
    Ok(NewHolderSession {
        token,
        session: HolderSession {
            token_hash: record.token_hash,
            csrf_token: record.csrf_token,
            account,
            via: via.into(),
        },
    })
}

pub async fn session(db: &Db, token: &str, now_ms: i64) -> Result<Option<HolderSession>, ServiceError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut conn = db.conn().await?;
    let Some(record) = conn.holders().live_session(&secret_digest(token), now_ms).await? else {
        return Ok(None);
    };
    let Ok(id) = AccountId::parse("account_id", &record.account_id) else { return Ok(None) };
    let Some(account) = conn.accounts().get(&id).await? else { return Ok(None) };
    Ok(Some(HolderSession { token_hash: record.token_hash, csrf_token: record.csrf_token, account, via: record.via }))
}

pub async fn sign_out(db: &Db, session: &HolderSession) -> Result<(), ServiceError> {
    db.conn().await?.holders().delete_session(&session.token_hash).await?;
    Ok(())
}

fn code_digest(id: &str, code: &str) -> String {
    secret_digest(&format!("{id}:{code}"))
}

fn six_digits() -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("random source");
    format!("{:06}", u32::from_le_bytes(b) % 1_000_000)
}

/// Sends a sign-in code to `email` if an account uses it. The caller shows the same answer
/// either way; only throttling (per email+IP and per IP) is reported.
pub async fn request_sign_in_code(
    db: &Db,
    security: &Security,
    email: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let email = Email::parse("email", email)?;
    let email_ip = format!("{}|{}", &email.normalized(), origin.ip);
    let mut tx = db.begin_write().await?;
    check_limits(
        &mut tx,
        &[
            ("holder_code_email_ip", &email_ip, MAX_CODE_REQUESTS_PER_EMAIL_IP),
            ("holder_code_ip", origin.ip, MAX_CODE_REQUESTS_PER_IP),
        ],
        now_ms,
    )
    .await?;
    tx.throttle().record_failure("holder_code_email_ip", &email_ip, now_ms).await?;
    tx.throttle().record_failure("holder_code_ip", origin.ip, now_ms).await?;
    if let Some(account) = tx.accounts().by_email(&email.normalized()).await? {
        let code = six_digits();
        let record = new_code("signin", &email.normalized(), Some(account.id.as_str()), &code, now_ms);
        tx.holders().insert_code(&record).await?;
        mail::queue_code(&mut tx, security, &account, &code, "signin", now_ms).await?;
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(())
}

fn new_code(purpose: &str, email_normalized: &str, account_id: Option<&str>, code: &str, now_ms: i64) -> EmailCode {
    let id = new_id();
    EmailCode {
        code_hash: code_digest(&id, code),
        id,
        purpose: purpose.into(),
        email_normalized: email_normalized.into(),
        account_id: account_id.map(String::from),
        tries: 0,
        created_at_ms: now_ms,
        expires_at_ms: now_ms + CODE_TTL_MS,
        used_at_ms: None,
    }
}

/// Why a code was not accepted.
#[derive(Debug)]
pub enum CodeRefusal {
    /// Wrong, expired, used or unknown: one answer for all, so nothing is revealed.
    Wrong,
    Throttled {
        retry_after_secs: i64,
    },
}

impl From<ServiceError> for CodeRefusal {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Throttled { retry_after_secs } => CodeRefusal::Throttled { retry_after_secs },
            other => {
                tracing::error!(error = %other, "code check failed");
                CodeRefusal::Wrong
            }
        }
    }
}

impl From<thaw_store::StoreError> for CodeRefusal {
    fn from(e: thaw_store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

/// Checks a code of `purpose` sent to `email_normalized`; a failure is counted (per email+IP
/// and per IP, and against the code's five tries).
async fn check_code(
    conn: &mut thaw_store::AnyConnection,
    purpose: &str,
    email_normalized: &str,
    code: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<EmailCode, CodeRefusal> {
    let email_ip = format!("{email_normalized}|{}", origin.ip);
    check_limits(
        conn,
        &[("holder_email_ip", &email_ip, MAX_FAILURES_PER_EMAIL_IP), ("holder_ip", origin.ip, MAX_FAILURES_PER_IP)],
        now_ms,
    )
    .await?;
    let code = code.trim();
    let found = conn.holders().latest_code(purpose, email_normalized, now_ms).await?;
    let ok =
        found.as_ref().is_some_and(|c| c.tries < CODE_TRIES && same_secret(&code_digest(&c.id, code), &c.code_hash));
    match found {
        Some(c) if ok && conn.holders().use_code(&c.id, now_ms).await? => {
            conn.throttle().clear("holder_email_ip", &email_ip).await?;
            Ok(c)
        }
        other => {
            if let Some(c) = other {
                conn.holders().count_try(&c.id).await?;
            }
            conn.throttle().record_failure("holder_email_ip", &email_ip, now_ms).await?;
            conn.throttle().record_failure("holder_ip", origin.ip, now_ms).await?;
            tracing::info!(ip = origin.ip, purpose, "wrong email code");
            Err(CodeRefusal::Wrong)
        }
    }
}

/// Signs a holder in with the code sent to their email. The email counts as a verified factor.
pub async fn sign_in_with_code(
    db: &Db,
    email: &str,
    code: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<NewHolderSession, CodeRefusal> {
    let email = Email::parse("email", email).map_err(|_| CodeRefusal::Wrong)?;
    let mut tx = db.begin_write().await?;
    let checked = check_code(&mut tx, "signin", &email.normalized(), code, origin, now_ms).await;
    let result = match checked {
        Ok(c) => {
            let id = c.account_id.as_deref().and_then(|a| AccountId::parse("account_id", a).ok());
            let account = match id {
                Some(id) => tx.accounts().get(&id).await?,
                None => None,
            };
            match account {
                Some(account) => {
                    let new = create_session(&mut tx, account, "email", origin, now_ms).await?;
                    tx.holders().record_factor(&new.session.token_hash, "email", now_ms).await?;
                    Ok(new)
                }
                None => Err(CodeRefusal::Wrong),
            }
        }
        Err(e) => Err(e),
    };
    // Failures are counted too, so the transaction commits either way.
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    result
}

/// Sends a step-up code to the signed-in holder's email.
pub async fn request_step_up_code(
    db: &Db,
    security: &Security,
    session: &HolderSession,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let Some(email) = session.account.email.as_ref() else {
        return Err(ServiceError::Refused { code: "no_email", message: "the account has no email address".into() });
    };
    let subject = format!("{}|{}", session.account.id.as_str(), origin.ip);
    let mut tx = db.begin_write().await?;
    check_limits(&mut tx, &[("holder_stepup_code", &subject, MAX_CODE_REQUESTS_PER_EMAIL_IP)], now_ms).await?;
    tx.throttle().record_failure("holder_stepup_code", &subject, now_ms).await?;
    let code = six_digits();
    let record = new_code("stepup", &email.normalized(), Some(session.account.id.as_str()), &code, now_ms);
    tx.holders().insert_code(&record).await?;
    mail::queue_code(&mut tx, security, &session.account, &code, "stepup", now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(())
}

/// Verifies a step-up code from the holder's email and records the factor in the session.
pub async fn verify_step_up_code(
    db: &Db,
    session: &HolderSession,
    code: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<(), CodeRefusal> {
    let Some(email) = session.account.email.as_ref() else { return Err(CodeRefusal::Wrong) };
    let mut tx = db.begin_write().await?;
    let checked = check_code(&mut tx, "stepup", &email.normalized(), code, origin, now_ms).await;
    if checked.is_ok() {
        tx.holders().record_factor(&session.token_hash, "email", now_ms).await?;
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    checked.map(|_| ())
}

/// Factors verified in this session within the step-up window.
pub async fn verified_factors(db: &Db, session: &HolderSession, now_ms: i64) -> Result<Vec<String>, ServiceError> {
    verified_factors_since(db, session, now_ms - STEP_UP_WINDOW_MS).await
}

/// Factors verified in this session after `since_ms` (a hold only counts those verified after
/// it was placed, so a session from before a freeze cannot lift it with old verifications).
pub async fn verified_factors_since(
    db: &Db,
    session: &HolderSession,
    since_ms: i64,
) -> Result<Vec<String>, ServiceError> {
    Ok(db.conn().await?.holders().factors_since(&session.token_hash, since_ms).await?)
}

pub async fn record_factor(db: &Db, session: &HolderSession, factor: &str, now_ms: i64) -> Result<(), ServiceError> {
    db.conn().await?.holders().record_factor(&session.token_hash, factor, now_ms).await?;
    Ok(())
}
