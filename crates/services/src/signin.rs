//! Staff sign-in and sessions. Failed attempts are throttled per email+IP first (so an attacker
//! elsewhere cannot lock a colleague out cheaply) and per IP (against password spraying).

use crate::{ServiceError, factors, passwords, random_hex, secret_digest};
use thaw_domain::{Email, Role, StaffMember, StaffProfile};
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
    start_session(&mut conn, credentials.member, METHOD_PASSWORD, origin, now_ms).await
}

const METHOD_PASSWORD: &str = "password";
const METHOD_OIDC: &str = "oidc";

/// Stores a new session for a member who has proved who they are.
async fn start_session(
    conn: &mut thaw_store::AnyConnection,
    staff: StaffMember,
    method: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<NewSession, ServiceError> {
    let token = random_hex(32);
    let session = SessionRecord {
        token_hash: secret_digest(&token),
        staff_id: staff.id.clone(),
        csrf_token: random_hex(32),
        created_at_ms: now_ms,
        expires_at_ms: now_ms + SESSION_TTL_MS,
        ip: origin.ip.to_string(),
        user_agent: origin.user_agent.chars().take(300).collect(),
        method: method.to_string(),
    };
    conn.sessions().create(&session).await?;
    tracing::info!(staff = %staff.id, method, session = %log_hint(&session.token_hash), "staff signed in");
    Ok(NewSession { token, csrf_token: session.csrf_token, staff, expires_at_ms: session.expires_at_ms })
}

/// Signs a staff member in with what the organisation's OpenID Connect provider vouched for.
///
/// The member is found by the provider's subject; on their first single sign-on, by verified
/// email (and the subject is then tied to them); someone the desk does not know yet is created
/// with the provider's name and email. The role follows the provider: a member whose role is
/// not among the mapped roles is given the highest of them (in the order of [`Role::ALL`]).
/// Every such change is audited. Deactivated members are refused. A member created now starts
/// with `locale` (the language the browser asked for).
pub async fn sign_in_with_identity(
    db: &Db,
    identity: &crate::oidc::Identity,
    locale: thaw_domain::Locale,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<NewSession, ServiceError> {
    let refused = |code: &'static str, message: &str| ServiceError::Refused { code, message: message.to_string() };
    let roles: Vec<Role> = identity.roles.iter().filter_map(|r| Role::parse(r)).collect();
    let Some(&top_role) = roles.last() else {
        return Err(refused("sso_no_role", "the provider gave no role that maps to a thaw role"));
    };
    if identity.subject.is_empty() {
        return Err(refused("sso_no_subject", "the provider's ID token has no subject"));
    }
    let verified_email =
        identity.email.as_deref().filter(|_| identity.email_verified).and_then(|e| Email::parse("email", e).ok());
    let mut tx = db.begin_write().await?;
    let member = match tx.staff().by_oidc_subject(&identity.subject).await? {
        Some(member) => member,
        None => {
            let Some(email) = verified_email else {
                return Err(refused(
                    "sso_email_unverified",
                    "the provider did not vouch for an email address, so the desk cannot tell who you are",
                ));
            };
            let member = match tx.staff().credentials_by_email(&email).await? {
                Some(existing) => existing.member,
                None => {
                    let name = identity.name.clone().unwrap_or_else(|| email.as_str().to_string());
                    let new = thaw_domain::NewStaff {
                        email: email.clone(),
                        display_name: name.chars().take(100).collect(),
                        role: top_role,
                        skills: thaw_domain::Skills::parse("", "").map_err(ServiceError::from)?,
                        capacity: 10,
                        locale,
                    };
                    // No password: this member signs in through the provider only.
                    let unusable = passwords::hash(&random_hex(32));
                    let member = tx.staff().create(&crate::new_id(), &new, &unusable, now_ms).await?;
                    tx.channels().assign_agent_ids(now_ms).await?;
                    member
                }
            };
            if !tx.staff().link_oidc_subject(&member.id, &identity.subject, now_ms).await? {
                return Err(refused(
                    "sso_subject_mismatch",
                    "this email belongs to a staff member tied to another single sign-on account",
                ));
            }
            member
        }
    };
    if !member.active {
        return Err(refused("staff_inactive", "this staff member is deactivated"));
    }
    let member = if roles.contains(&member.role) {
        member
    } else {
        let mut profile = profile_of(&mut tx, &member).await?;
        profile.role = top_role;
        tx.staff().update_profile(&member.id, &profile, now_ms).await?;
        thaw_domain::StaffMember { role: top_role, ..member }
    };
    let session = start_session(&mut tx, member, METHOD_OIDC, origin, now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(session)
}

/// A member's editable profile as stored.
pub(crate) async fn profile_of(
    conn: &mut thaw_store::AnyConnection,
    member: &StaffMember,
) -> Result<StaffProfile, ServiceError> {
    Ok(StaffProfile {
        display_name: member.display_name.clone(),
        role: member.role,
        skills: member.skills.clone(),
        capacity: member.capacity,
        active: member.active,
        team: conn.staff().team(&member.id).await?,
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
    // The provider owns the second factor of a single sign-on.
    let required =
        record.method != METHOD_OIDC && conn.staff().setting(STAFF_TOTP_REQUIRED).await?.as_deref() == Some("true");
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
