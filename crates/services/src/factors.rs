//! Step-up factors, for account holders and staff alike: TOTP (RFC 6238, 30 s steps, ±1 step,
//! a code's step cannot be used twice), passkeys (WebAuthn; ceremony state kept in the database
//! so any process can finish it) and ten single-use recovery codes stored hashed. Wrong codes
//! are counted; too many in 15 minutes pause verification for the subject.

use crate::security::Security;
use crate::{ServiceError, new_id, secret_digest};
use thaw_store::{AnyConnection, Capabilities, Db, FactorRecord, Subject};
use totp_rs::{Algorithm, TOTP};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};

pub const TOTP_STEP_SECS: i64 = 30;
pub const RECOVERY_CODES: usize = 10;
pub const MAX_FAILURES: i64 = 10;
const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;

/// Why a factor was not accepted. Each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error("the code is wrong or has expired")]
    WrongCode,
    #[error("this code was used already")]
    Replayed,
    #[error("too many wrong codes; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: i64 },
    #[error("this factor is enrolled already")]
    AlreadyEnrolled,
    #[error("no such factor is enrolled")]
    NotEnrolled,
    #[error("passkeys need the server's public URL to name a host (not an IP address)")]
    PasskeysUnavailable,
    #[error("the passkey could not be verified")]
    PasskeyRejected,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<thaw_store::StoreError> for FactorError {
    fn from(e: thaw_store::StoreError) -> Self {
        FactorError::Service(e.into())
    }
}

impl FactorError {
    pub fn code(&self) -> &'static str {
        match self {
            FactorError::WrongCode => "wrong_code",
            FactorError::Replayed => "code_replayed",
            FactorError::Throttled { .. } => "throttled",
            FactorError::AlreadyEnrolled => "factor_already_enrolled",
            FactorError::NotEnrolled => "factor_not_enrolled",
            FactorError::PasskeysUnavailable => "passkeys_unavailable",
            FactorError::PasskeyRejected => "passkey_rejected",
            FactorError::Service(_) => "internal",
        }
    }
}

fn subject_key(s: Subject<'_>) -> String {
    match s {
        Subject::Account(id) => format!("account:{id}"),
        Subject::Staff(id) => format!("staff:{id}"),
    }
}

async fn check_throttle(conn: &mut AnyConnection, subject: Subject<'_>, now_ms: i64) -> Result<(), FactorError> {
    match crate::signin::check_limits(conn, &[("factor", &subject_key(subject), MAX_FAILURES)], now_ms).await {
        Err(ServiceError::Throttled { retry_after_secs }) => Err(FactorError::Throttled { retry_after_secs }),
        other => Ok(other?),
    }
}

async fn count_failure(conn: &mut AnyConnection, subject: Subject<'_>, now_ms: i64) -> Result<(), FactorError> {
    conn.throttle().record_failure("factor", &subject_key(subject), now_ms).await?;
    tracing::info!(subject = %subject_key(subject), "wrong factor code");
    Ok(())
}

/// What the holder or staff member has enrolled.
#[derive(Debug, Clone, Default)]
pub struct Enrolled {
    pub totp: bool,
    pub passkeys: Vec<PasskeyInfo>,
    pub recovery_codes_left: i64,
}

#[derive(Debug, Clone)]
pub struct PasskeyInfo {
    pub id: String,
    pub label: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
}

impl Enrolled {
    /// How many distinct kinds of factor (besides email) the subject can present.
    pub fn kinds(&self) -> usize {
        self.totp as usize + (!self.passkeys.is_empty()) as usize + (self.recovery_codes_left > 0) as usize
    }
}

pub async fn enrolled(db: &Db, subject: Subject<'_>) -> Result<Enrolled, ServiceError> {
    let mut conn = db.conn().await?;
    let factors = conn.factors().list(subject).await?;
    Ok(Enrolled {
        totp: factors.iter().any(|f| f.kind == "totp" && f.confirmed),
        passkeys: factors
            .iter()
            .filter(|f| f.kind == "passkey" && f.confirmed)
            .map(|f| PasskeyInfo {
                id: f.id.clone(),
                label: f.label.clone(),
                created_at_ms: f.created_at_ms,
                last_used_at_ms: f.last_used_at_ms,
            })
            .collect(),
        recovery_codes_left: conn.factors().recovery_codes_left(subject).await?,
    })
}

// ---------------------------------------------------------------- TOTP

/// A TOTP enrolment waiting for its first code.
pub struct TotpEnrolment {
    pub factor_id: String,
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    pub otpauth_url: String,
    /// The otpauth URL as a QR code, an SVG document rendered by the server.
    pub qr_svg: String,
}

fn totp(secret_b32: &str) -> Result<TOTP, FactorError> {
    let bytes = totp_rs::Secret::Encoded(secret_b32.to_string())
        .to_bytes()
        .map_err(|_| ServiceError::Store(thaw_store::StoreError::Corrupt("TOTP secret".into())))?;
    TOTP::new(Algorithm::SHA1, 6, 1, TOTP_STEP_SECS as u64, bytes)
        .map_err(|e| ServiceError::Store(thaw_store::StoreError::Corrupt(format!("TOTP secret: {e}"))).into())
}

/// The step (of the previous, current or next) whose code is `code`, if any.
fn matching_step(t: &TOTP, code: &str, now_ms: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = now_ms.div_euclid(1000 * TOTP_STEP_SECS);
    [step - 1, step, step + 1].into_iter().find(|s| {
        let generated = t.generate((*s * TOTP_STEP_SECS).max(0) as u64);
        crate::same_secret(&generated, &code)
    })
}

/// Starts TOTP enrolment; refused when a TOTP is enrolled already.
pub async fn totp_begin(
    db: &Db,
    subject: Subject<'_>,
    account_name: &str,
    now_ms: i64,
) -> Result<TotpEnrolment, FactorError> {
    let mut tx = db.begin_write().await?;
    let existing = tx.factors().list(subject).await?;
    if existing.iter().any(|f| f.kind == "totp" && f.confirmed) {
        return Err(FactorError::AlreadyEnrolled);
    }
    tx.factors().delete_unconfirmed(subject, "totp").await?;
    let mut raw = vec![0u8; 20];
    getrandom::fill(&mut raw).expect("random source");
    let secret = totp_rs::Secret::Raw(raw).to_encoded().to_string();
    let factor_id = new_id();
    tx.factors()
        .insert(
            subject,
            &FactorRecord {
                id: factor_id.clone(),
                kind: "totp".into(),
                label: "TOTP".into(),
                secret: secret.clone(),
                confirmed: false,
                last_step: 0,
                created_at_ms: now_ms,
                last_used_at_ms: None,
            },
        )
        .await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    let label: String = url::form_urlencoded::byte_serialize(format!("thaw:{account_name}").as_bytes()).collect();
    let otpauth_url =
        format!("otpauth://totp/{label}?secret={secret}&issuer=thaw&algorithm=SHA1&digits=6&period={TOTP_STEP_SECS}");
    let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
        .map(|q| q.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
        .unwrap_or_default();
    Ok(TotpEnrolment { factor_id, secret, otpauth_url, qr_svg })
}

/// Finishes TOTP enrolment with the first code from the app. Returns fresh recovery codes when
/// the subject had none yet (shown once).
pub async fn totp_confirm(
    db: &Db,
    subject: Subject<'_>,
    factor_id: &str,
    code: &str,
    now_ms: i64,
) -> Result<Option<Vec<String>>, FactorError> {
    let mut tx = db.begin_write().await?;
    check_throttle(&mut tx, subject, now_ms).await?;
    let factors = tx.factors().list(subject).await?;
    if factors.iter().any(|f| f.kind == "totp" && f.confirmed) {
        return Err(FactorError::AlreadyEnrolled);
    }
    let Some(pending) = factors.iter().find(|f| f.id == factor_id && f.kind == "totp") else {
        return Err(FactorError::NotEnrolled);
    };
    let Some(step) = matching_step(&totp(&pending.secret)?, code, now_ms) else {
        count_failure(&mut tx, subject, now_ms).await?;
        tx.commit().await.map_err(thaw_store::StoreError::from)?;
        return Err(FactorError::WrongCode);
    };
    tx.factors().confirm(subject, factor_id, step, now_ms).await?;
    let codes = if tx.factors().recovery_codes_left(subject).await? == 0 {
        Some(replace_recovery_codes(&mut tx, subject, now_ms).await?)
    } else {
        None
    };
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(codes)
}

/// Verifies a TOTP code; the step it belongs to can never be used again.
pub async fn totp_verify(db: &Db, subject: Subject<'_>, code: &str, now_ms: i64) -> Result<(), FactorError> {
    let mut tx = db.begin_write().await?;
    check_throttle(&mut tx, subject, now_ms).await?;
    let factors = tx.factors().list(subject).await?;
    let Some(f) = factors.iter().find(|f| f.kind == "totp" && f.confirmed) else {
        return Err(FactorError::NotEnrolled);
    };
    let result = match matching_step(&totp(&f.secret)?, code, now_ms) {
        Some(step) if tx.factors().use_step(&f.id, step, now_ms).await? => Ok(()),
        Some(_) => Err(FactorError::Replayed),
        None => Err(FactorError::WrongCode),
    };
    if result.is_err() {
        count_failure(&mut tx, subject, now_ms).await?;
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    result
}

pub async fn remove(db: &Db, subject: Subject<'_>, factor_id: &str) -> Result<bool, ServiceError> {
    Ok(db.conn().await?.factors().delete(subject, factor_id).await?)
}

/// Removes the subject's TOTP (an admin resetting a colleague, or the holder replacing a phone
/// after a step-up).
pub async fn remove_totp(db: &Db, subject: Subject<'_>) -> Result<bool, ServiceError> {
    let mut conn = db.conn().await?;
    let mut removed = false;
    for f in conn.factors().list(subject).await?.into_iter().filter(|f| f.kind == "totp") {
        removed |= conn.factors().delete(subject, &f.id).await?;
    }
    Ok(removed)
}

// ---------------------------------------------------------------- recovery codes

fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("random source");
    let s: String = b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect();
    format!("{}-{}-{}", &s[..4], &s[4..8], &s[8..])
}

fn recovery_digest(code: &str) -> String {
    let normalized: String = code.trim().to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    secret_digest(&format!("recovery:{normalized}"))
}

async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    subject: Subject<'_>,
    now_ms: i64,
) -> thaw_store::Result<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_digest(c)).collect();
    conn.factors().replace_recovery_codes(subject, &hashes, now_ms).await?;
    Ok(codes)
}

/// Ten new recovery codes (shown once); the old ones stop working.
pub async fn new_recovery_codes(db: &Db, subject: Subject<'_>, now_ms: i64) -> Result<Vec<String>, ServiceError> {
    let mut tx = db.begin_write().await?;
    let codes = replace_recovery_codes(&mut tx, subject, now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(codes)
}

/// Uses a recovery code once.
pub async fn use_recovery_code(db: &Db, subject: Subject<'_>, code: &str, now_ms: i64) -> Result<(), FactorError> {
    let mut tx = db.begin_write().await?;
    check_throttle(&mut tx, subject, now_ms).await?;
    let ok = tx.factors().use_recovery_code(subject, &recovery_digest(code), now_ms).await?;
    if !ok {
        count_failure(&mut tx, subject, now_ms).await?;
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    if ok { Ok(()) } else { Err(FactorError::WrongCode) }
}

// ---------------------------------------------------------------- passkeys

/// A stable WebAuthn user handle for a subject, without revealing its id.
fn user_handle(subject: Subject<'_>) -> Uuid {
    use sha2::Digest;
    let d = sha2::Sha256::digest(subject_key(subject).as_bytes());
    Uuid::from_bytes(d[..16].try_into().expect("16 bytes"))
}

fn passkeys_of(factors: &[FactorRecord]) -> Vec<(String, Passkey)> {
    factors
        .iter()
        .filter(|f| f.kind == "passkey" && f.confirmed)
        .filter_map(|f| serde_json::from_str::<Passkey>(&f.secret).ok().map(|p| (f.id.clone(), p)))
        .collect()
}

/// A ceremony started: its id and the options for `navigator.credentials`.
pub struct Ceremony {
    pub id: String,
    pub options: serde_json::Value,
}

pub async fn passkey_register_begin(
    db: &Db,
    security: &Security,
    subject: Subject<'_>,
    user_name: &str,
    now_ms: i64,
) -> Result<Ceremony, FactorError> {
    let webauthn = security.webauthn().ok_or(FactorError::PasskeysUnavailable)?;
    let mut conn = db.conn().await?;
    let existing = passkeys_of(&conn.factors().list(subject).await?);
    let exclude = existing.iter().map(|(_, p)| p.cred_id().clone()).collect::<Vec<_>>();
    let (options, state) = webauthn
        .start_passkey_registration(user_handle(subject), user_name, user_name, Some(exclude))
        .map_err(|e| {
            tracing::warn!(error = %e, "passkey registration could not start");
            FactorError::PasskeyRejected
        })?;
    let id = new_id();
    let state = serde_json::to_string(&state).expect("registration state serialises");
    conn.factors().save_ceremony(&id, subject, "register", &state, now_ms + CEREMONY_TTL_MS).await?;
    Ok(Ceremony { id, options: serde_json::to_value(options).expect("options serialise") })
}

pub async fn passkey_register_finish(
    db: &Db,
    security: &Security,
    subject: Subject<'_>,
    ceremony_id: &str,
    credential: &serde_json::Value,
    label: &str,
    now_ms: i64,
) -> Result<Option<Vec<String>>, FactorError> {
    let webauthn = security.webauthn().ok_or(FactorError::PasskeysUnavailable)?;
    let mut tx = db.begin_write().await?;
    let state = tx.factors().take_ceremony(ceremony_id, subject, "register", now_ms).await?;
    let state: PasskeyRegistration =
        state.and_then(|s| serde_json::from_str(&s).ok()).ok_or(FactorError::PasskeyRejected)?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(credential.clone()).map_err(|_| FactorError::PasskeyRejected)?;
    let passkey = webauthn.finish_passkey_registration(&credential, &state).map_err(|e| {
        tracing::info!(error = %e, "passkey registration rejected");
        FactorError::PasskeyRejected
    })?;
    let label = label.trim();
    let label = if label.is_empty() { "Passkey".to_string() } else { label.chars().take(60).collect() };
    tx.factors()
        .insert(
            subject,
            &FactorRecord {
                id: new_id(),
                kind: "passkey".into(),
                label,
                secret: serde_json::to_string(&passkey).expect("passkey serialises"),
                confirmed: true,
                last_step: 0,
                created_at_ms: now_ms,
                last_used_at_ms: None,
            },
        )
        .await?;
    let codes = if tx.factors().recovery_codes_left(subject).await? == 0 {
        Some(replace_recovery_codes(&mut tx, subject, now_ms).await?)
    } else {
        None
    };
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(codes)
}

pub async fn passkey_auth_begin(
    db: &Db,
    security: &Security,
    subject: Subject<'_>,
    now_ms: i64,
) -> Result<Ceremony, FactorError> {
    let webauthn = security.webauthn().ok_or(FactorError::PasskeysUnavailable)?;
    let mut conn = db.conn().await?;
    let passkeys: Vec<Passkey> =
        passkeys_of(&conn.factors().list(subject).await?).into_iter().map(|(_, p)| p).collect();
    if passkeys.is_empty() {
        return Err(FactorError::NotEnrolled);
    }
    let (options, state) = webauthn.start_passkey_authentication(&passkeys).map_err(|e| {
        tracing::warn!(error = %e, "passkey authentication could not start");
        FactorError::PasskeyRejected
    })?;
    let id = new_id();
    let state = serde_json::to_string(&state).expect("authentication state serialises");
    conn.factors().save_ceremony(&id, subject, "authenticate", &state, now_ms + CEREMONY_TTL_MS).await?;
    Ok(Ceremony { id, options: serde_json::to_value(options).expect("options serialise") })
}

pub async fn passkey_auth_finish(
    db: &Db,
    security: &Security,
    subject: Subject<'_>,
    ceremony_id: &str,
    credential: &serde_json::Value,
    now_ms: i64,
) -> Result<(), FactorError> {
    let webauthn = security.webauthn().ok_or(FactorError::PasskeysUnavailable)?;
    let mut tx = db.begin_write().await?;
    check_throttle(&mut tx, subject, now_ms).await?;
    let state = tx.factors().take_ceremony(ceremony_id, subject, "authenticate", now_ms).await?;
    let parsed: Option<(PasskeyAuthentication, PublicKeyCredential)> =
        state.and_then(|s| serde_json::from_str(&s).ok()).zip(serde_json::from_value(credential.clone()).ok());
    let verified = parsed.and_then(|(state, credential)| {
        webauthn
            .finish_passkey_authentication(&credential, &state)
            .inspect_err(|e| tracing::info!(error = %e, "passkey assertion rejected"))
            .ok()
    });
    let Some(result) = verified else {
        count_failure(&mut tx, subject, now_ms).await?;
        tx.commit().await.map_err(thaw_store::StoreError::from)?;
        return Err(FactorError::PasskeyRejected);
    };
    for (id, mut passkey) in passkeys_of(&tx.factors().list(subject).await?) {
        if passkey.update_credential(&result).is_some() {
            let stored = serde_json::to_string(&passkey).expect("passkey serialises");
            tx.factors().update_secret(&id, &stored, now_ms).await?;
        }
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(())
}
