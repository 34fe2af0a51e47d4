//! Platform single sign-on for account holders: the platform signs a short-lived JWT (HS256
//! with a shared secret, or EdDSA with its Ed25519 key) naming the account; thaw checks the
//! signature, the lifetime (at most five minutes ahead) and that its `jti` is used once.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::Deserialize;

/// The longest a token may live: `exp` at most this far ahead of now.
pub const MAX_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// Tolerated clock difference between the platform and thaw.
pub const LEEWAY_MS: i64 = 30 * 1000;

/// How the platform's tokens are verified.
#[derive(Clone)]
pub enum SsoKey {
    Hs256(Vec<u8>),
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl std::fmt::Debug for SsoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SsoKey::Hs256(_) => f.write_str("SsoKey::Hs256(***)"),
            SsoKey::EdDsa(k) => write!(f, "SsoKey::EdDsa({})", hex::encode(k.as_bytes())),
        }
    }
}

/// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow it.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

impl SsoKey {
    /// A shared secret of at least 32 bytes.
    pub fn hs256(secret: &str) -> Result<SsoKey, String> {
        if secret.len() < 32 {
            return Err("the SSO shared secret must be at least 32 characters".into());
        }
        Ok(SsoKey::Hs256(secret.as_bytes().to_vec()))
    }

    /// An Ed25519 public key as PEM (`-----BEGIN PUBLIC KEY-----`) or as base64 of its 32 bytes.
    pub fn ed25519(text: &str) -> Result<SsoKey, String> {
        let body: String =
            text.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.trim().chars()).collect::<String>();
        let bytes = STANDARD
            .decode(body.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(body.trim()))
            .map_err(|_| "the SSO public key is neither PEM nor base64".to_string())?;
        let raw: &[u8] = match bytes.len() {
            32 => &bytes,
            44 if bytes[..12] == ED25519_SPKI_PREFIX => &bytes[12..],
            _ => return Err("the SSO public key is not an Ed25519 public key".into()),
        };
        let key = ed25519_dalek::VerifyingKey::from_bytes(raw.try_into().expect("32 bytes"))
            .map_err(|_| "the SSO public key is not a valid Ed25519 point".to_string())?;
        Ok(SsoKey::EdDsa(key))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SsoClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    pub exp: i64,
    pub jti: String,
    #[serde(default)]
    pub locale: Option<String>,
}

/// Why a token was refused; each has a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoRefusal {
    Malformed,
    WrongAlgorithm,
    BadSignature,
    Expired,
    TooLong,
    Replayed,
    NotConfigured,
}

impl SsoRefusal {
    pub fn code(self) -> &'static str {
        match self {
            SsoRefusal::Malformed => "sso_malformed",
            SsoRefusal::WrongAlgorithm => "sso_wrong_algorithm",
            SsoRefusal::BadSignature => "sso_bad_signature",
            SsoRefusal::Expired => "sso_expired",
            SsoRefusal::TooLong => "sso_lifetime_too_long",
            SsoRefusal::Replayed => "sso_replayed",
            SsoRefusal::NotConfigured => "sso_not_configured",
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Checks the token's signature and lifetime (not yet its single use: that needs the store).
pub fn verify(key: &SsoKey, token: &str, now_ms: i64) -> Result<SsoClaims, SsoRefusal> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(SsoRefusal::Malformed);
    };
    let decode = |x: &str| URL_SAFE_NO_PAD.decode(x).map_err(|_| SsoRefusal::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| SsoRefusal::Malformed)?;
    let signature = decode(s)?;
    let signed = &token.trim()[..h.len() + 1 + p.len()];
    match (key, header.alg.as_str()) {
        (SsoKey::Hs256(secret), "HS256") => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(signed.as_bytes());
            mac.verify_slice(&signature).map_err(|_| SsoRefusal::BadSignature)?;
        }
        (SsoKey::EdDsa(public), "EdDSA" | "Ed25519") => {
            let sig = ed25519_dalek::Signature::from_slice(&signature).map_err(|_| SsoRefusal::BadSignature)?;
            public.verify_strict(signed.as_bytes(), &sig).map_err(|_| SsoRefusal::BadSignature)?;
        }
        _ => return Err(SsoRefusal::WrongAlgorithm),
    }
    let claims: SsoClaims = serde_json::from_slice(&decode(p)?).map_err(|_| SsoRefusal::Malformed)?;
    if claims.sub.trim().is_empty() || claims.jti.trim().is_empty() || claims.jti.len() > 200 {
        return Err(SsoRefusal::Malformed);
    }
    let exp_ms = claims.exp.saturating_mul(1000);
    if exp_ms + LEEWAY_MS < now_ms {
        return Err(SsoRefusal::Expired);
    }
    if exp_ms > now_ms + MAX_LIFETIME_MS + LEEWAY_MS {
        return Err(SsoRefusal::TooLong);
    }
    Ok(claims)
}

/// Signs claims as HS256 (used by `thaw admin sso-token` and tests; platforms use their own
/// JWT library).
pub fn sign_hs256(secret: &[u8], claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    const SECRET: &str = "a-shared-secret-of-at-least-32-bytes!";

    fn claims(exp_s: i64, jti: &str) -> serde_json::Value {
        serde_json::json!({"sub": "u-1", "email": "a@example.com", "exp": exp_s, "jti": jti})
    }

    #[test]
    fn hs256_token_within_five_minutes_is_accepted() {
        let key = SsoKey::hs256(SECRET).unwrap();
        let now = 1_800_000_000_000;
        let token = sign_hs256(SECRET.as_bytes(), &claims(now / 1000 + 120, "j1"));
        let c = verify(&key, &token, now).unwrap();
        assert_eq!((c.sub.as_str(), c.jti.as_str()), ("u-1", "j1"));
    }

    #[test]
    fn expired_tampered_and_long_lived_tokens_are_refused() {
        let key = SsoKey::hs256(SECRET).unwrap();
        let now = 1_800_000_000_000;
        let expired = sign_hs256(SECRET.as_bytes(), &claims(now / 1000 - 60, "j"));
        assert_eq!(verify(&key, &expired, now).unwrap_err(), SsoRefusal::Expired);
        let long = sign_hs256(SECRET.as_bytes(), &claims(now / 1000 + 3600, "j"));
        assert_eq!(verify(&key, &long, now).unwrap_err(), SsoRefusal::TooLong);
        let other = sign_hs256(b"another-secret-of-at-least-32-bytes!!", &claims(now / 1000 + 60, "j"));
        assert_eq!(verify(&key, &other, now).unwrap_err(), SsoRefusal::BadSignature);
        assert_eq!(verify(&key, "a.b", now).unwrap_err(), SsoRefusal::Malformed);
        // alg "none" is never accepted.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims(now / 1000 + 60, "j").to_string())
        );
        assert_eq!(verify(&key, &none, now).unwrap_err(), SsoRefusal::WrongAlgorithm);
    }

    #[test]
    fn eddsa_tokens_verify_with_a_pem_public_key() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(signing.verifying_key().as_bytes());
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(&spki));
        let key = SsoKey::ed25519(&pem).unwrap();
        let now = 1_800_000_000_000;
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(claims(now / 1000 + 60, "j2").to_string());
        let sig = signing.sign(format!("{h}.{p}").as_bytes());
        let token = format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()));
        assert_eq!(verify(&key, &token, now).unwrap().jti, "j2");
        // An HS256 token signed with the public key as secret (algorithm confusion) is refused.
        let confused = sign_hs256(signing.verifying_key().as_bytes(), &claims(now / 1000 + 60, "j3"));
        assert_eq!(verify(&key, &confused, now).unwrap_err(), SsoRefusal::WrongAlgorithm);
    }
}
