//! Staff single sign-on with OpenID Connect: the authorisation code flow with PKCE (S256) against
//! the organisation's identity provider, beside the password and TOTP sign-in. This module is the
//! protocol only: discovery, the authorisation URL, the token request and the full validation of
//! the ID token (signature by the provider's published keys, issuer, audience, lifetime, nonce),
//! and the mapping of a claim to thaw roles. Finding or creating the staff member is the caller's.
//!
//! The ID token's signature is checked with `ring` for RS256, ES256 and EdDSA (Ed25519) only;
//! `none` and the HMAC algorithms are refused whatever the key set holds.

use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thaw_domain::Role;

/// Tolerated clock difference between the provider and thaw.
pub const LEEWAY_MS: i64 = 60 * 1000;
/// The provider's keys are fetched again for an unknown `kid` at most this often.
pub const JWKS_REFETCH_MS: i64 = 60 * 1000;
/// The claim holding the role when the configuration names none.
pub const DEFAULT_ROLE_CLAIM: &str = "thaw_role";
/// Longer ID tokens are refused before any parsing.
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// How thaw signs staff in with the organisation's OpenID Connect provider.
#[derive(Clone)]
pub struct OidcConfig {
    /// The provider's issuer identifier, e.g. `https://id.example.com/realms/desk`.
    pub issuer: String,
    pub client_id: String,
    /// Set: a confidential client (`client_secret_basic`); unset: a public client.
    pub client_secret: Option<String>,
    /// thaw's callback, registered at the provider exactly as written here.
    pub redirect_url: String,
    /// Requested scopes; `openid` is always requested. Default `openid email profile`.
    pub scopes: Vec<String>,
    /// The claim naming the staff member's role(s): a name, or a dotted path into nested objects
    /// (`realm_access.roles`); its value a string or an array of strings. Default `thaw_role`.
    pub role_claim: String,
    /// Claim value → thaw role (`agent_t1`, `agent_t2`, `supervisor`, `compliance`, `admin`).
    /// Empty: claim values that are thaw role names are taken as they are.
    pub role_map: Vec<(String, String)>,
    /// Allows plain `http` for a provider on a loopback address (tests only).
    pub allow_http: bool,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            redirect_url: String::new(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            role_claim: DEFAULT_ROLE_CLAIM.into(),
            role_map: Vec::new(),
            allow_http: false,
        }
    }
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("role_claim", &self.role_claim)
            .field("role_map", &self.role_map)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl OidcConfig {
    /// Checks what can be checked without the provider: URLs, the client id, the role mapping.
    pub fn check(&self) -> Result<(), OidcError> {
        check_url(self, "the issuer", &self.issuer).map_err(OidcError::Config)?;
        if self.client_id.trim().is_empty() {
            return Err(OidcError::Config("the client id is empty".into()));
        }
        if self.client_secret.as_deref().is_some_and(|s| s.is_empty()) {
            return Err(OidcError::Config("the client secret is empty (leave it unset for a public client)".into()));
        }
        url::Url::parse(&self.redirect_url)
            .map_err(|_| OidcError::Config(format!("the redirect URL {:?} is not a URL", self.redirect_url)))?;
        if self.role_claim.trim().is_empty() {
            return Err(OidcError::Config("the role claim is empty".into()));
        }
        if let Some((_, to)) = self.role_map.iter().find(|(_, to)| Role::parse(to).is_none()) {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
            return Err(OidcError::Config(format!(
                "the role map names {to:?}, which is not a thaw role (one of {})",
                known.join(", ")
            )));
        }
        Ok(())
    }

    /// The requested scopes as sent: `openid` first, each scope once.
    pub fn scope(&self) -> String {
        let mut scopes: Vec<&str> = vec!["openid"];
        for s in self.scopes.iter().flat_map(|s| s.split_whitespace()) {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        scopes.join(" ")
    }
}

/// Why a sign-in with the provider failed; each has a stable code. Messages never contain
/// tokens, codes or secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("OpenID Connect is misconfigured: {0}")]
    Config(String),
    #[error("OpenID Connect discovery failed: {0}")]
    DiscoveryFailed(String),
    #[error("the provider's signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
    #[error("the token request failed: {0}")]
    TokenRequestFailed(String),
    #[error("the ID token is invalid: {0}")]
    InvalidIdToken(&'static str),
    #[error("the ID token is signed with an algorithm thaw does not accept ({0:?})")]
    UnsupportedAlgorithm(String),
    #[error("the ID token's signing key is not among the provider's keys")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    BadSignature,
    #[error("the ID token was issued by another issuer")]
    WrongIssuer,
    #[error("the ID token is meant for another client")]
    WrongAudience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is not valid yet")]
    NotYetValid,
    #[error("the ID token's nonce does not match this sign-in")]
    NonceMismatch,
    #[error("the provider names no thaw role for this person")]
    NoRole,
}

impl OidcError {
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Config(_) => "misconfigured",
            OidcError::DiscoveryFailed(_) => "discovery_failed",
            OidcError::KeysUnavailable(_) => "jwks_failed",
            OidcError::TokenRequestFailed(_) => "token_request_failed",
            OidcError::InvalidIdToken(_) => "invalid_id_token",
            OidcError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            OidcError::UnknownKey => "unknown_key",
            OidcError::BadSignature => "bad_signature",
            OidcError::WrongIssuer => "wrong_issuer",
            OidcError::WrongAudience => "wrong_audience",
            OidcError::Expired => "expired",
            OidcError::NotYetValid => "not_yet_valid",
            OidcError::NonceMismatch => "nonce_mismatch",
            OidcError::NoRole => "no_role",
        }
    }
}

/// One key of the provider's JSON Web Key Set (RFC 7517); other members are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwk {
    #[serde(default)]
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    /// RSA modulus.
    #[serde(default)]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default)]
    pub e: Option<String>,
    /// EC x coordinate, or the OKP public key.
    #[serde(default)]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default)]
    pub y: Option<String>,
}

/// The provider's published keys.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwks {
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

/// The signature algorithms thaw accepts for ID tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rs256,
    Es256,
    EdDsa,
}

impl Alg {
    fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            "EdDSA" | "Ed25519" => Some(Alg::EdDsa),
            _ => None,
        }
    }

    /// Whether `jwk` is a key for this algorithm (type, curve, and its `alg` and `use` if given).
    fn fits(self, jwk: &Jwk) -> bool {
        let shape = match self {
            Alg::Rs256 => jwk.kty == "RSA",
            Alg::Es256 => jwk.kty == "EC" && jwk.crv.as_deref() == Some("P-256"),
            Alg::EdDsa => jwk.kty == "OKP" && jwk.crv.as_deref() == Some("Ed25519"),
        };
        let alg = match jwk.alg.as_deref() {
            None => true,
            Some(a) => Alg::parse(a) == Some(self),
        };
        let usage = jwk.use_.as_deref().is_none_or(|u| u == "sig");
        shape && alg && usage
    }
}

/// What the provider's discovery document says (OpenID Connect Discovery 1.0).
#[derive(Debug, Clone)]
struct Metadata {
    issuer: String,
    authorization_endpoint: url::Url,
    token_endpoint: url::Url,
    jwks_uri: url::Url,
}

#[derive(Debug, Default)]
struct KeyCache {
    jwks: Jwks,
    /// When the keys were last fetched (or a fetch last started), ms since the epoch.
    fetched_ms: Option<i64>,
}

/// A discovered provider: its endpoints and its cached keys. Share one per process.
#[derive(Debug)]
pub struct Provider {
    cfg: OidcConfig,
    meta: Metadata,
    keys: Mutex<KeyCache>,
}

/// The start of one sign-in: send the browser to `url`; keep `state`, `nonce` and `verifier`
/// (server-side or in a protected cookie) for the callback, which must present the same `state`.
#[derive(Clone)]
pub struct AuthStart {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl std::fmt::Debug for AuthStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthStart").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Who signed in, as the provider vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's `sub`: stable for this person at this provider.
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// thaw role names after mapping, in the order of [`Role::ALL`]; unknown claim values dropped.
    pub roles: Vec<String>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
}

impl Provider {
    /// Reads `{issuer}/.well-known/openid-configuration` and the provider's keys. The document's
    /// issuer must be the configured one (a trailing slash aside).
    pub async fn discover(cfg: OidcConfig, client: &reqwest::Client) -> Result<Provider, OidcError> {
        cfg.check()?;
        let url = format!("{}/.well-known/openid-configuration", trim_slash(&cfg.issuer));
        let doc: Discovery = get_json(client, &url).await.map_err(OidcError::DiscoveryFailed)?;
        if trim_slash(&doc.issuer) != trim_slash(&cfg.issuer) {
            return Err(OidcError::DiscoveryFailed(format!(
                "the provider calls itself {:?}, not the configured issuer {:?}",
                doc.issuer, cfg.issuer
            )));
        }
        if let Some(methods) = &doc.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(OidcError::DiscoveryFailed("the provider does not support PKCE with S256".into()));
        }
        let endpoint = |what: &str, raw: &str| check_url(&cfg, what, raw).map_err(OidcError::DiscoveryFailed);
        let meta = Metadata {
            authorization_endpoint: endpoint("the authorization endpoint", &doc.authorization_endpoint)?,
            token_endpoint: endpoint("the token endpoint", &doc.token_endpoint)?,
            jwks_uri: endpoint("the JWKS URI", &doc.jwks_uri)?,
            issuer: doc.issuer,
        };
        let jwks = fetch_jwks(client, &meta.jwks_uri).await?;
        Ok(Provider { cfg, meta, keys: Mutex::new(KeyCache { jwks, fetched_ms: Some(crate::now_ms()) }) })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.cfg
    }

    /// The issuer as the provider writes it.
    pub fn issuer(&self) -> &str {
        &self.meta.issuer
    }

    pub fn authorization_endpoint(&self) -> &str {
        self.meta.authorization_endpoint.as_str()
    }

    pub fn token_endpoint(&self) -> &str {
        self.meta.token_endpoint.as_str()
    }

    pub fn jwks_uri(&self) -> &str {
        self.meta.jwks_uri.as_str()
    }

    /// A new sign-in: fresh state, nonce and PKCE verifier, and the authorisation URL.
    pub fn start(&self) -> AuthStart {
        let (state, nonce, verifier) = (random_b64url(), random_b64url(), random_b64url());
        let mut url = self.meta.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.cfg.client_id)
            .append_pair("redirect_uri", &self.cfg.redirect_url)
            .append_pair("scope", &self.cfg.scope())
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        AuthStart { url: url.into(), state, nonce, verifier }
    }

    /// Exchanges the callback's `code` for tokens and validates the ID token. The caller has
    /// already checked the callback's `state` against the one of [`Provider::start`]. Refused
    /// with [`OidcError::NoRole`] when the role claim maps to no thaw role.
    pub async fn finish(
        &self,
        client: &reqwest::Client,
        code: &str,
        verifier: &str,
        nonce: &str,
        now_ms: i64,
    ) -> Result<Identity, OidcError> {
        let id_token = self.exchange(client, code, verifier).await?;
        let claims = match self.validate(&id_token, nonce, now_ms) {
            // The provider may have rotated its keys since they were fetched.
            Err(OidcError::UnknownKey) if self.claim_refetch() => {
                let jwks = fetch_jwks(client, &self.meta.jwks_uri).await?;
                self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).jwks = jwks;
                self.validate(&id_token, nonce, now_ms)?
            }
            other => other?,
        };
        let identity = identity_from_claims(&claims, &self.cfg);
        if identity.roles.is_empty() {
            return Err(OidcError::NoRole);
        }
        Ok(identity)
    }

    fn validate(&self, id_token: &str, nonce: &str, now_ms: i64) -> Result<Map<String, Value>, OidcError> {
        let keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        validate_id_token(&keys.jwks, id_token, &self.cfg, nonce, now_ms)
    }

    /// Whether the keys may be fetched again now (at most once per [`JWKS_REFETCH_MS`]); if so,
    /// the slot is taken, so that concurrent sign-ins fetch once.
    fn claim_refetch(&self) -> bool {
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = crate::now_ms();
        match keys.fetched_ms {
            Some(at) if now - at < JWKS_REFETCH_MS => false,
            _ => {
                keys.fetched_ms = Some(now);
                true
            }
        }
    }

    /// The token request (RFC 6749 §4.1.3 with RFC 7636's `code_verifier`); returns the ID token.
    async fn exchange(&self, client: &reqwest::Client, code: &str, verifier: &str) -> Result<String, OidcError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.cfg.redirect_url.as_str()),
            ("code_verifier", verifier),
        ];
        let mut request =
            client.post(self.meta.token_endpoint.as_str()).header(reqwest::header::ACCEPT, "application/json");
        match &self.cfg.client_secret {
            // RFC 6749 §2.3.1: both form-encoded before they are joined for Basic.
            Some(secret) => request = request.basic_auth(form_encode(&self.cfg.client_id), Some(form_encode(secret))),
            None => form.push(("client_id", self.cfg.client_id.as_str())),
        }
        let response = request.form(&form).send().await.map_err(|e| {
            OidcError::TokenRequestFailed(format!("the token endpoint could not be reached: {}", e.without_url()))
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            OidcError::TokenRequestFailed(format!("the token response could not be read: {}", e.without_url()))
        })?;
        if !status.is_success() {
            // Only the OAuth error code is repeated, never the body.
            let error = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(printable))
                .filter(|e| !e.is_empty());
            return Err(OidcError::TokenRequestFailed(match error {
                Some(error) => format!("the token endpoint answered {status}: {error}"),
                None => format!("the token endpoint answered {status}"),
            }));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| OidcError::TokenRequestFailed("the token response is not the expected JSON".into()))?;
        parsed
            .id_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OidcError::TokenRequestFailed("the token response has no id_token".into()))
    }
}

/// A server's staff single sign-on: its configuration, an HTTP client, and the provider once
/// discovered. Discovery happens on the first sign-in and is tried again on the next one after
/// a failure, so a provider that is down when thaw starts does not stop the server.
pub struct StaffSso {
    cfg: OidcConfig,
    client: reqwest::Client,
    provider: tokio::sync::OnceCell<Provider>,
}

impl std::fmt::Debug for StaffSso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSso").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl StaffSso {
    /// Checks the configuration; the provider is not contacted yet.
    pub fn new(cfg: OidcConfig) -> Result<StaffSso, OidcError> {
        cfg.check()?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Config(format!("no HTTP client: {e}")))?;
        Ok(StaffSso { cfg, client, provider: tokio::sync::OnceCell::new() })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.cfg
    }

    async fn provider(&self) -> Result<&Provider, OidcError> {
        self.provider.get_or_try_init(|| Provider::discover(self.cfg.clone(), &self.client)).await
    }

    /// A new sign-in (see [`Provider::start`]).
    pub async fn start(&self) -> Result<AuthStart, OidcError> {
        Ok(self.provider().await?.start())
    }

    /// The callback's code exchanged and validated (see [`Provider::finish`]).
    pub async fn finish(&self, code: &str, verifier: &str, nonce: &str, now_ms: i64) -> Result<Identity, OidcError> {
        self.provider().await?.finish(&self.client, code, verifier, nonce, now_ms).await
    }
}

/// The PKCE S256 code challenge of a verifier: BASE64URL(SHA-256(verifier)) (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Validates an ID token completely: a compact JWS signed (RS256, ES256 or EdDSA) by the key of
/// `jwks` its header names, from the configured issuer, for this client, unexpired, issued not in
/// the future, and carrying this sign-in's nonce. Returns its claims.
pub fn validate_id_token(
    jwks: &Jwks,
    token: &str,
    cfg: &OidcConfig,
    nonce: &str,
    now_ms: i64,
) -> Result<Map<String, Value>, OidcError> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return Err(OidcError::InvalidIdToken("it is too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(OidcError::InvalidIdToken("it is not a compact JWS"));
    };
    let header: Map<String, Value> = serde_json::from_slice(&b64url(h, "its header is not base64url")?)
        .map_err(|_| OidcError::InvalidIdToken("its header is not a JSON object"))?;
    let alg_name =
        header.get("alg").and_then(Value::as_str).ok_or(OidcError::InvalidIdToken("its header has no alg"))?;
    let alg = Alg::parse(alg_name).ok_or_else(|| OidcError::UnsupportedAlgorithm(printable(alg_name)))?;
    if header.contains_key("crit") {
        return Err(OidcError::InvalidIdToken("its header has critical extensions"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(OidcError::InvalidIdToken("its kid is not a string")),
    };
    let key = select_key(jwks, kid, alg)?;
    let signature = b64url(s, "its signature is not base64url")?;
    verify_signature(key, alg, &token.as_bytes()[..h.len() + 1 + p.len()], &signature)?;

    let claims: Map<String, Value> = serde_json::from_slice(&b64url(p, "its payload is not base64url")?)
        .map_err(|_| OidcError::InvalidIdToken("its payload is not a JSON object"))?;
    let iss = claims.get("iss").and_then(Value::as_str).ok_or(OidcError::InvalidIdToken("it has no iss"))?;
    if trim_slash(iss) != trim_slash(&cfg.issuer) {
        return Err(OidcError::WrongIssuer);
    }
    let (audiences, several): (Vec<&str>, bool) = match claims.get("aud") {
        Some(Value::String(aud)) => (vec![aud.as_str()], false),
        Some(Value::Array(auds)) => (auds.iter().filter_map(Value::as_str).collect(), auds.len() > 1),
        _ => return Err(OidcError::InvalidIdToken("it has no aud")),
    };
    if !audiences.contains(&cfg.client_id.as_str()) {
        return Err(OidcError::WrongAudience);
    }
    match claims.get("azp") {
        None if several => return Err(OidcError::WrongAudience),
        None => {}
        Some(Value::String(azp)) if *azp == cfg.client_id => {}
        Some(_) => return Err(OidcError::WrongAudience),
    }
    let exp_ms = numeric_date_ms(&claims, "exp")?.ok_or(OidcError::InvalidIdToken("it has no exp"))?;
    if exp_ms.saturating_add(LEEWAY_MS) <= now_ms {
        return Err(OidcError::Expired);
    }
    let iat_ms = numeric_date_ms(&claims, "iat")?.ok_or(OidcError::InvalidIdToken("it has no iat"))?;
    let nbf_ms = numeric_date_ms(&claims, "nbf")?;
    if iat_ms > now_ms.saturating_add(LEEWAY_MS) || nbf_ms.is_some_and(|nbf| nbf > now_ms.saturating_add(LEEWAY_MS)) {
        return Err(OidcError::NotYetValid);
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(got) if !nonce.is_empty() && crate::same_secret(got, nonce) => {}
        _ => return Err(OidcError::NonceMismatch),
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.trim().is_empty() && sub.len() <= 255 => {}
        _ => return Err(OidcError::InvalidIdToken("it has no valid sub")),
    }
    Ok(claims)
}

/// The identity in validated claims, with roles mapped through the configuration.
pub fn identity_from_claims(claims: &Map<String, Value>, cfg: &OidcConfig) -> Identity {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty());
    Identity {
        subject: claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_string(),
        email: text("email"),
        email_verified: match claims.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            // Some providers send it as a string.
            Some(Value::String(s)) => s == "true",
            _ => false,
        },
        name: text("name"),
        roles: map_roles(&role_values(claims, &cfg.role_claim), &cfg.role_map),
    }
}

/// The values of the role claim: `path` is a claim name or a dotted path into nested objects
/// (a claim whose own name contains dots, like `https://example.com/roles`, is found first);
/// a string gives one value, an array its strings.
pub fn role_values(claims: &Map<String, Value>, path: &str) -> Vec<String> {
    let path = path.trim();
    let value = claims.get(path).or_else(|| {
        let mut segments = path.split('.');
        let first = claims.get(segments.next()?)?;
        segments.try_fold(first, |v, segment| v.get(segment))
    });
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Claim values → thaw role names through `role_map` (or, when it is empty, the values that are
/// thaw role names), each once, in the order of [`Role::ALL`]. Unknown values are dropped.
pub fn map_roles(values: &[String], role_map: &[(String, String)]) -> Vec<String> {
    let mut found: Vec<&'static str> = Vec::new();
    for value in values {
        if role_map.is_empty() {
            found.extend(Role::parse(value).map(Role::code));
        } else {
            for (from, to) in role_map {
                if from == value {
                    found.extend(Role::parse(to).map(Role::code));
                }
            }
        }
    }
    Role::ALL.iter().map(|r| r.code()).filter(|code| found.contains(code)).map(str::to_string).collect()
}

/// The key for a token: the one with its `kid` that fits the algorithm, or, for a token without
/// `kid`, the only key that fits.
fn select_key<'a>(jwks: &'a Jwks, kid: Option<&str>, alg: Alg) -> Result<&'a Jwk, OidcError> {
    match kid {
        Some(kid) => {
            jwks.keys.iter().find(|k| k.kid.as_deref() == Some(kid) && alg.fits(k)).ok_or(OidcError::UnknownKey)
        }
        None => {
            let mut fitting = jwks.keys.iter().filter(|k| alg.fits(k));
            match (fitting.next(), fitting.next()) {
                (Some(key), None) => Ok(key),
                _ => Err(OidcError::UnknownKey),
            }
        }
    }
}

fn verify_signature(jwk: &Jwk, alg: Alg, signed: &[u8], sig: &[u8]) -> Result<(), OidcError> {
    use ring::signature;
    let malformed = || OidcError::KeysUnavailable("a key of the provider is malformed".into());
    let member = |v: &Option<String>| -> Result<Vec<u8>, OidcError> {
        let text = v.as_deref().ok_or_else(malformed)?;
        URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| malformed())
    };
    let verified = match alg {
        Alg::Rs256 => {
            let (n, e) = (member(&jwk.n)?, member(&jwk.e)?);
            let key = signature::RsaPublicKeyComponents { n: strip_zeros(&n), e: strip_zeros(&e) };
            key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, sig)
        }
        Alg::Es256 => {
            let (x, y) = (member(&jwk.x)?, member(&jwk.y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(malformed());
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point).verify(signed, sig)
        }
        Alg::EdDsa => {
            let x = member(&jwk.x)?;
            if x.len() != 32 {
                return Err(malformed());
            }
            signature::UnparsedPublicKey::new(&signature::ED25519, &x).verify(signed, sig)
        }
    };
    verified.map_err(|_| OidcError::BadSignature)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn b64url(part: &str, what: &'static str) -> Result<Vec<u8>, OidcError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| OidcError::InvalidIdToken(what))
}

/// A NumericDate claim (seconds, possibly fractional) in ms; an error if present but not a number.
fn numeric_date_ms(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, OidcError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => match (v.as_i64(), v.as_f64()) {
            (Some(s), _) => Ok(Some(s.saturating_mul(1000))),
            (None, Some(s)) if s.is_finite() => Ok(Some((s * 1000.0) as i64)),
            _ => Err(OidcError::InvalidIdToken("a time claim is not a number")),
        },
    }
}

fn trim_slash(s: &str) -> &str {
    s.trim_end_matches('/')
}

/// At most 40 characters of `[A-Za-z0-9_.-]`: safe to repeat in a message or a log.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')).take(40).collect()
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// 32 random bytes, base64url without padding (43 characters).
fn random_b64url() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `https`, or `http` to a loopback address when the configuration allows it.
fn check_url(cfg: &OidcConfig, what: &str, raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|_| format!("{what} {raw:?} is not a URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if cfg.allow_http && loopback => Ok(url),
        "http" => Err(format!(
            "{what} {raw:?} is not https (plain http is allowed only for a provider on a loopback address, with allow_http)"
        )),
        _ => Err(format!("{what} {raw:?} is not an https URL")),
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> Result<T, String> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("{url} could not be reached: {}", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    let body = response.bytes().await.map_err(|e| format!("{url} could not be read: {}", e.without_url()))?;
    serde_json::from_slice(&body).map_err(|e| format!("{url} did not answer the expected JSON: {e}"))
}

async fn fetch_jwks(client: &reqwest::Client, jwks_uri: &url::Url) -> Result<Jwks, OidcError> {
    get_json::<Jwks>(client, jwks_uri.as_str()).await.map_err(OidcError::KeysUnavailable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::Signer;
    use ring::signature::KeyPair as _;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;
    const ISSUER: &str = "https://id.example.com/realms/desk";

    fn cfg() -> OidcConfig {
        OidcConfig {
            issuer: ISSUER.into(),
            client_id: "thaw".into(),
            client_secret: Some("client-secret".into()),
            redirect_url: "https://desk.example.com/staff/oidc/callback".into(),
            ..OidcConfig::default()
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER,
            "aud": "thaw",
            "sub": "u-1",
            "email": "wang.fang@desk.example",
            "email_verified": true,
            "name": "Wang Fang",
            "nonce": "n-1",
            "iat": NOW / 1000 - 5,
            "exp": NOW / 1000 + 300,
            "thaw_role": "supervisor",
        })
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        claims[name] = value;
        claims
    }

    fn jwks(keys: Vec<Value>) -> Jwks {
        serde_json::from_value(json!({ "keys": keys })).unwrap()
    }

    fn encode(header: &Value, claims: &Value) -> String {
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    // ------------------------------------------------------------------ EdDSA (ed25519-dalek)

    fn ed_key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
    }

    fn ed_jwk(kid: &str) -> Value {
        let x = URL_SAFE_NO_PAD.encode(ed_key().verifying_key().as_bytes());
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": "EdDSA", "x": x})
    }

    fn sign_ed(claims: &Value, kid: &str) -> String {
        let signed = encode(&json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"}), claims);
        let sig = ed_key().sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    // ------------------------------------------------------------------ RS256 (ring)

    /// A 2048-bit RSA test key, PKCS#8 DER in base64 (openssl genpkey, then openssl pkcs8 -topk8).
    const RSA_PKCS8: &str = concat!(
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC4O1fxf42OwJVDuzoC5J9MBZWi5FjzycuyTeSy9p84fpiT",
        "XrLWXjzNm6obx6fIl2pQ17ezaQSFJHzznMzNWHdG58kV/xb/NUT2+JQMynXU9Nq4TuLo6haWcNcJfRyTWtdre52sR8tuCnZa",
        "ZLyd/BV1MgAlMVuuI+VMKzj/oqVCsgOR6jqCAmMp7DOf30wLTeFNwXML4swJ++ilyylClMiPtlSUv99h67l8j+op2+epzQ9D",
        "y1lXYFbFsXtSIpn+kAvwE4i8hxYdPRdiNV7RlIBtsuG2C5+B0LjOCexGCW2tX0WJmzX7d9zFre4S61pQIu9wEUoH0Q7KjyD7",
        "fX4r+RY7AgMBAAECggEADpjBFITHKfbPPMESTRVhG6xbmT7fX11vMq7iPl206sx4+UApCjwINEAvn6jXfdilV0doKiJZddUY",
        "w1J6lZB7TtZhg8kkwM6vKqQyUrsdz+QgijbR2qNla8EAAKP1hiVN6Rmvue0sTIkurGXL3faRmqn+AfRhr6/vZHQOPY7c6iY+",
        "9Z/dZAvEZxDGe9bQnLl7kKPsBY4HsbrgpCgTXfqzmXCfAT5YZQSsfseva9MIpAaRJs1xxTxx5cacJANr2KKq3kZl8PkHYMRN",
        "hS/5o+cOKctx/kunGvk0xQfW26tzO6RoROPbKpZLzbHo/DOOrOEQ7kibjodc6q2NNOMPfbQKPQKBgQDv5tdrbGbBC4qtRM8+",
        "Yac/40IH5BSF7rn2awWaB7O06bs3/ZYCNhFEwXHc6EZwacqP4+my1mYsB00hFupBFWaMowbfetfsQTH8hoSEy/xXPjEGhoBD",
        "NbjAT+t9ansLdkKXG8a4vmxj4cwZF+XxWDdZE3Kse1TJtQBUYyinH8iSBQKBgQDEmCzD/vIpHY8HLQZRkvek1h/WwgtMG8WQ",
        "XRmLSHuu/dnC/bG1XeQxQ3o8gvXaS2mzyfMf06ulqsT8/tJ/HfBnz7xQJlkKXZ/b8w9lgL2m1rvezCtTSx3smWbv2wX4XA6P",
        "jSe7jw9ySL5Gw4efU68N0+ECHi0q7XPJlzV9c/47PwKBgH4oRuCXAPJDv4mexd1oPSu7tt2vc5t7DxAm96soobhhsbKgCGLh",
        "S/N8RwSEoYY8G+nPUPZbCR/eNxFPm6DeQC91DAg58ZKsNj02ADpViz3V1rI3yPuPJLj9TjmF5W8BocMVOEuu2BEujMYlayaf",
        "3XtaXtOVh+EK7kFyY85/SFqBAoGBAKmgb8exG3r0YSuc4r3R5FFa29/uT9ccg0u7uMWgBfAIYjNHuGS4HaOQCFFb4gu3U/3n",
        "+xn0Bj+MaCmvKSq7R2obKO2zGNLD06HxR9CZ04m38CQd4CgfQTObbOD6B12y+HFOJwFDP92o/FyMa2HCz+FLdvLf3LMUbPp8",
        "uI+FXM/7AoGAF5exrm20YhNj495TO1/119Jsn4lsN+D6wJeTakB98zQdCccsKLTziZMjxeMTagi9G9CXHHVg72CC79v8LMJw",
        "VyMYtJL9zjf9L6CrBsmTf6BHRcfLN1koBmNh5qK8mrGcSSVadZIioGF/TiEIdsH5BN8FBteGPyoN0/2FENBNVj0=",
    );

    fn rsa_pair() -> ring::signature::RsaKeyPair {
        ring::signature::RsaKeyPair::from_pkcs8(&STANDARD.decode(RSA_PKCS8).unwrap()).unwrap()
    }

    /// The key's public numbers, derived with openssl/python from the same key.
    const RSA_N: &str = "uDtX8X-NjsCVQ7s6AuSfTAWVouRY88nLsk3ksvafOH6Yk16y1l48zZuqG8enyJdqUNe3s2kEhSR885zMzVh3RufJFf8W_zVE9viUDMp11PTauE7i6OoWlnDXCX0ck1rXa3udrEfLbgp2WmS8nfwVdTIAJTFbriPlTCs4_6KlQrIDkeo6ggJjKewzn99MC03hTcFzC-LMCfvopcspQpTIj7ZUlL_fYeu5fI_qKdvnqc0PQ8tZV2BWxbF7UiKZ_pAL8BOIvIcWHT0XYjVe0ZSAbbLhtgufgdC4zgnsRgltrV9FiZs1-3fcxa3uEutaUCLvcBFKB9EOyo8g-31-K_kWOw";
    const RSA_E: &str = "AQAB";

    fn rsa_jwk(kid: &str) -> Value {
        json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": RSA_N, "e": RSA_E})
    }

    fn sign_rs(claims: &Value, kid: &str) -> String {
        let pair = rsa_pair();
        let signed = encode(&json!({"alg": "RS256", "kid": kid, "typ": "JWT"}), claims);
        let mut sig = vec![0u8; pair.public().modulus_len()];
        pair.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signed.as_bytes(), &mut sig)
            .unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&sig))
    }

    // ------------------------------------------------------------------ ES256 (ring)

    fn es_pair() -> (ring::signature::EcdsaKeyPair, Value) {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        assert_eq!((point.len(), point[0]), (65, 0x04));
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": "es-1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        });
        (pair, jwk)
    }

    fn sign_es(pair: &ring::signature::EcdsaKeyPair, claims: &Value) -> String {
        let signed = encode(&json!({"alg": "ES256", "kid": "es-1"}), claims);
        let sig = pair.sign(&ring::rand::SystemRandom::new(), signed.as_bytes()).unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// ID tokens issued by panva's `oidc-provider` (tests/browser/oidc-provider.mjs, issuer
    /// http://127.0.0.1:4455, client "thaw") with the key that signed each: (JWK, token, nonce, iat).
    const REAL_PROVIDER: [(&str, &str, &str, i64); 3] = [
        (
            r#"{"kty":"RSA","use":"sig","kid":"rs256-eaca70c0-7dc4-41c8-b80b-49087d448ea4","alg":"RS256","e":"AQAB","n":"6GlAvYCTLrZ84OTyr8io0e0j6xjrPWmyunGw9SJmDzlGBge1lDU0NejWemN0_GOGSBCq9sXQFapNCZtDOjR6Mqz9hT2TACNt-S55Q5LkTN_nyoP3i0Yj8S6q0g8mm-2xWvnuP03R7zgdGImYO1eKcWs-UWEmyiSPwK7EWu1U__n5FkF_leP2Wg-8UlMytVHrS0qn5wQnS9v_pkfDZ0sBOAAO4Z-2REt9uvsP8Cdv_jrQlenjWiWNIUZmKCZv3DYZii6CuZMGRfCHX1vBwFqofcKMiSe3iPirznYYuuxxA_VQ1985dHKv-PdhUFW789GmRoyQRgWrhG2R7ddYHzsBrw"}"#,
            "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzMjU2LWVhY2E3MGMwLTdkYzQtNDFjOC1iODBiLTQ5MDg3ZDQ0OGVhNCJ9.eyJzdWIiOiJ1LTIiLCJ0aGF3X3JvbGUiOlsiYWdlbnRfdDEiLCJvdGhlciJdLCJlbWFpbCI6ImxpQGRlc2suZXhhbXBsZSIsImVtYWlsX3ZlcmlmaWVkIjp0cnVlLCJuYW1lIjoiTGkiLCJub25jZSI6ImRqaVdfR0MyeDA3ZDhwVmxtRXhJMXhzYWtVRG05Q0Znd2lzSVpqSHZVdU0iLCJhdWQiOiJ0aGF3IiwiZXhwIjoxNzk1Mjc5MjQzLCJpYXQiOjE3OTUyNzg2NDMsImlzcyI6Imh0dHA6Ly8xMjcuMC4wLjE6NDQ1NSJ9.eBMAC1KxCTqpKqLIO_dTHsS61Luyb3hCWat5G474hVjTH6n0xGHKYapzplgvh7D0Y51JDmDa9gtDkgYcwBxiz5R_bT22iDKaHv3edfQ_NkU6DS3a70knlrutskSaG_An_wSZYX2m_Yjj4o3oM9Jev9Ysb5SjY-SDq2nAUD1spv9kATcdmAvMssYZANbArEiG6lb3j5iqdybXhtgRBrYJXd1mtYk_-aykmMtaLanAjVMqpnG5JN1mlBxmDga-W3VKa_WIssWYYAQKvDL9oSNHPM-XbjLpOas-7AIe1eNRTjo1CRPEJDDetgGcnnVXfrF8cKPvdkqWP1sXwnZ07mHi2Q",
            "djiW_GC2x07d8pVlmExI1xsakUDm9CFgwisIZjHvUuM",
            1795278643,
        ),
        (
            r#"{"kty":"EC","use":"sig","kid":"es256-8416edc1-a4ff-4343-a164-7ac0b9b54428","alg":"ES256","crv":"P-256","x":"sYwbMJTyIZ-NCQ1DlhXwaz4CY8LPOVb_oYum8QmvL9c","y":"4zEBu7aW6tSZUNGwQuA0CYgBFCykFjcofH6nxn4dvvQ"}"#,
            "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVzMjU2LTg0MTZlZGMxLWE0ZmYtNDM0My1hMTY0LTdhYzBiOWI1NDQyOCJ9.eyJzdWIiOiJ1LTIiLCJ0aGF3X3JvbGUiOlsiYWdlbnRfdDEiLCJvdGhlciJdLCJlbWFpbCI6ImxpQGRlc2suZXhhbXBsZSIsImVtYWlsX3ZlcmlmaWVkIjp0cnVlLCJuYW1lIjoiTGkgTmEiLCJub25jZSI6InVvXy1iTnZMR0pMUVg3bkhqTE5GM1Rqb2ZSeC1XcFpZQ0drU1MxVk5kdkkiLCJhdWQiOiJ0aGF3IiwiZXhwIjoxNzk1Mjc5MzU2LCJpYXQiOjE3OTUyNzg3NTYsImlzcyI6Imh0dHA6Ly8xMjcuMC4wLjE6NDQ1NSJ9.qh7TxEBTYe7anNfVUMGTyIfL_lSn1LgmRUuDW9Zh4_Lcm1hNmQKa6IiPtS7LOg7gi55-rlgxPZSdrWnJ8Qnmrg",
            "uo_-bNvLGJLQX7nHjLNF3TjofRx-WpZYCGkSS1VNdvI",
            1795278756,
        ),
        (
            r#"{"kty":"OKP","use":"sig","kid":"eddsa-9e82700b-754d-4487-b0b8-55eb5c395416","alg":"EdDSA","crv":"Ed25519","x":"zNo5mseuz7vAW6XWppz-x_StFQXGoVL_J0eV9w2A9uk"}"#,
            "eyJhbGciOiJFZERTQSIsImtpZCI6ImVkZHNhLTllODI3MDBiLTc1NGQtNDQ4Ny1iMGI4LTU1ZWI1YzM5NTQxNiJ9.eyJzdWIiOiJ1LTIiLCJ0aGF3X3JvbGUiOlsiYWdlbnRfdDEiLCJvdGhlciJdLCJlbWFpbCI6ImxpQGRlc2suZXhhbXBsZSIsImVtYWlsX3ZlcmlmaWVkIjp0cnVlLCJuYW1lIjoiTGkgTmEiLCJub25jZSI6IjMtWW9nVGllX3h0bUVrZWZMd3o1bGRGNjJ6VG5qNXZ3YmxWYk9zOGlpVlkiLCJhdWQiOiJ0aGF3IiwiZXhwIjoxNzk1Mjc5MzU4LCJpYXQiOjE3OTUyNzg3NTgsImlzcyI6Imh0dHA6Ly8xMjcuMC4wLjE6NDQ1NSJ9.2gmHf37D9kbHKta0v1xZ4yf7_opBoEtgDR6ayCprZxdAevDCZ6ez8CVLv_IbpAJ6oFLxF2FqjetMv1yKnnoFCA",
            "3-YogTie_xtmEkefLwz5ldF62zTnj5vwblVbOs8iiVY",
            1795278758,
        ),
    ];

    fn code_of(r: Result<Map<String, Value>, OidcError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    // ------------------------------------------------------------------ tests

    #[test]
    fn eddsa_token_is_accepted_and_gives_the_identity() {
        let keys = jwks(vec![rsa_jwk("rs-1"), ed_jwk("ed-1")]);
        let claims = validate_id_token(&keys, &sign_ed(&claims(), "ed-1"), &cfg(), "n-1", NOW).unwrap();
        let identity = identity_from_claims(&claims, &cfg());
        assert_eq!(
            identity,
            Identity {
                subject: "u-1".into(),
                email: Some("wang.fang@desk.example".into()),
                email_verified: true,
                name: Some("Wang Fang".into()),
                roles: vec!["supervisor".into()],
            }
        );
    }

    #[test]
    fn rs256_token_is_accepted() {
        // The embedded n/e are the test key's own.
        let components: ring::signature::RsaPublicKeyComponents<Vec<u8>> = rsa_pair().public().into();
        assert_eq!(URL_SAFE_NO_PAD.encode(&components.n), RSA_N);
        assert_eq!(URL_SAFE_NO_PAD.encode(&components.e), RSA_E);
        let keys = jwks(vec![ed_jwk("ed-1"), rsa_jwk("rs-1")]);
        assert_eq!(code_of(validate_id_token(&keys, &sign_rs(&claims(), "rs-1"), &cfg(), "n-1", NOW)), "ok");
        // A token without kid is accepted when exactly one key fits its algorithm.
        let no_kid = {
            let pair = rsa_pair();
            let signed = encode(&json!({"alg": "RS256"}), &claims());
            let mut sig = vec![0u8; pair.public().modulus_len()];
            pair.sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signed.as_bytes(),
                &mut sig,
            )
            .unwrap();
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&sig))
        };
        assert_eq!(code_of(validate_id_token(&keys, &no_kid, &cfg(), "n-1", NOW)), "ok");
        let two_rsa = jwks(vec![rsa_jwk("rs-1"), rsa_jwk("rs-2")]);
        assert_eq!(code_of(validate_id_token(&two_rsa, &no_kid, &cfg(), "n-1", NOW)), "unknown_key");
    }

    #[test]
    fn es256_token_is_accepted() {
        let (pair, jwk) = es_pair();
        let keys = jwks(vec![jwk]);
        assert_eq!(code_of(validate_id_token(&keys, &sign_es(&pair, &claims()), &cfg(), "n-1", NOW)), "ok");
        let (other, _) = es_pair();
        assert_eq!(code_of(validate_id_token(&keys, &sign_es(&other, &claims()), &cfg(), "n-1", NOW)), "bad_signature");
    }

    #[test]
    fn tokens_of_the_real_oidc_provider_are_accepted() {
        let cfg =
            OidcConfig { issuer: "http://127.0.0.1:4455".into(), client_id: "thaw".into(), ..OidcConfig::default() };
        for (jwk, token, nonce, iat) in REAL_PROVIDER {
            let keys = jwks(vec![serde_json::from_str(jwk).unwrap()]);
            let claims = validate_id_token(&keys, token, &cfg, nonce, iat * 1000 + 1000)
                .unwrap_or_else(|e| panic!("{}: {e}", &jwk[..60]));
            let identity = identity_from_claims(&claims, &cfg);
            assert_eq!(identity.subject, "u-2");
            assert_eq!(identity.email.as_deref(), Some("li@desk.example"));
            assert!(identity.email_verified);
            // thaw_role ["agent_t1", "other"]: the unknown value is dropped.
            assert_eq!(identity.roles, ["agent_t1"]);
            assert_eq!(code_of(validate_id_token(&keys, token, &cfg, "another-nonce", iat * 1000)), "nonce_mismatch");
        }
    }

    #[test]
    fn wrong_issuer_audience_and_nonce_are_refused() {
        let keys = jwks(vec![ed_jwk("ed-1")]);
        let check = |claims: Value, nonce: &str| {
            code_of(validate_id_token(&keys, &sign_ed(&claims, "ed-1"), &cfg(), nonce, NOW))
        };
        assert_eq!(check(with(claims(), "iss", json!("https://evil.example.com/realms/desk")), "n-1"), "wrong_issuer");
        assert_eq!(check(with(claims(), "iss", json!(format!("{ISSUER}/"))), "n-1"), "ok");
        assert_eq!(check(with(claims(), "aud", json!("someone-else")), "n-1"), "wrong_audience");
        assert_eq!(check(with(claims(), "aud", json!(["thaw"])), "n-1"), "ok");
        // Several audiences: the authorised party must be thaw.
        assert_eq!(check(with(claims(), "aud", json!(["thaw", "api"])), "n-1"), "wrong_audience");
        let azp = with(with(claims(), "aud", json!(["thaw", "api"])), "azp", json!("thaw"));
        assert_eq!(check(azp, "n-1"), "ok");
        let other_azp = with(claims(), "azp", json!("someone-else"));
        assert_eq!(check(other_azp, "n-1"), "wrong_audience");
        assert_eq!(check(claims(), "n-2"), "nonce_mismatch");
        assert_eq!(check(claims(), ""), "nonce_mismatch");
        let mut no_nonce = claims();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(check(no_nonce, "n-1"), "nonce_mismatch");
        let mut no_sub = claims();
        no_sub.as_object_mut().unwrap().remove("sub");
        assert_eq!(check(no_sub, "n-1"), "invalid_id_token");
    }

    #[test]
    fn lifetime_is_checked_with_a_minute_of_leeway() {
        let keys = jwks(vec![ed_jwk("ed-1")]);
        let check = |claims: Value| code_of(validate_id_token(&keys, &sign_ed(&claims, "ed-1"), &cfg(), "n-1", NOW));
        assert_eq!(check(with(claims(), "exp", json!(NOW / 1000 - 61))), "expired");
        assert_eq!(check(with(claims(), "exp", json!(NOW / 1000 - 30))), "ok");
        assert_eq!(check(with(claims(), "iat", json!(NOW / 1000 + 120))), "not_yet_valid");
        assert_eq!(check(with(claims(), "iat", json!(NOW / 1000 + 30))), "ok");
        assert_eq!(check(with(claims(), "nbf", json!(NOW / 1000 + 120))), "not_yet_valid");
        assert_eq!(check(with(claims(), "exp", json!("tomorrow"))), "invalid_id_token");
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(check(no_exp), "invalid_id_token");
    }

    #[test]
    fn forged_tokens_are_refused() {
        let keys = jwks(vec![ed_jwk("ed-1"), rsa_jwk("rs-1")]);
        let check = |token: &str| code_of(validate_id_token(&keys, token, &cfg(), "n-1", NOW));
        // A payload changed after signing.
        let token = sign_rs(&claims(), "rs-1");
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(with(claims(), "thaw_role", json!("admin")).to_string());
        assert_eq!(check(&parts.join(".")), "bad_signature");
        let ed = sign_ed(&claims(), "ed-1");
        let mut parts: Vec<String> = ed.split('.').map(str::to_string).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(with(claims(), "sub", json!("u-2")).to_string());
        assert_eq!(check(&parts.join(".")), "bad_signature");
        // alg none, with or without a signature part.
        let none = encode(&json!({"alg": "none", "kid": "ed-1"}), &claims());
        assert_eq!(check(&format!("{none}.")), "unsupported_algorithm");
        assert_eq!(check(&none), "invalid_id_token");
        // HS256 with the public key as the secret (algorithm confusion).
        let hs = crate::sso::sign_hs256(RSA_N.as_bytes(), &claims());
        assert_eq!(check(&hs), "unsupported_algorithm");
        // A kid the provider does not publish, and a kid whose key is of another type.
        assert_eq!(check(&sign_ed(&claims(), "ed-2")), "unknown_key");
        assert_eq!(check(&sign_ed(&claims(), "rs-1")), "unknown_key");
        // An EdDSA signature by another key under a published kid.
        let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let signed = encode(&json!({"alg": "EdDSA", "kid": "ed-1"}), &claims());
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(other.sign(signed.as_bytes()).to_bytes()));
        assert_eq!(check(&forged), "bad_signature");
        // Not a JWS at all.
        assert_eq!(check("a.b"), "invalid_id_token");
        assert_eq!(check("a.b.c.d.e"), "invalid_id_token");
        // A critical header extension thaw does not know.
        let crit = encode(&json!({"alg": "EdDSA", "kid": "ed-1", "crit": ["exp"], "exp": 1}), &claims());
        assert_eq!(check(&format!("{crit}.AAAA")), "invalid_id_token");
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn roles_come_from_strings_arrays_and_nested_claims() {
        let direct = |claims: Value| identity_from_claims(claims.as_object().unwrap(), &cfg()).roles;
        assert_eq!(direct(json!({"sub": "u", "thaw_role": "agent_t2"})), ["agent_t2"]);
        assert_eq!(
            direct(json!({"sub": "u", "thaw_role": ["admin", "agent_t1", "root", 7, "admin"]})),
            ["agent_t1", "admin"]
        );
        assert_eq!(direct(json!({"sub": "u", "thaw_role": "superuser"})), Vec::<String>::new());
        assert_eq!(direct(json!({"sub": "u"})), Vec::<String>::new());

        let keycloak = OidcConfig {
            role_claim: "realm_access.roles".into(),
            role_map: vec![
                ("desk-supervisor".into(), "supervisor".into()),
                ("desk-agent".into(), "agent_t1".into()),
                ("desk-lead".into(), "agent_t2".into()),
                ("desk-lead".into(), "supervisor".into()),
            ],
            ..cfg()
        };
        let nested = json!({"sub": "u", "realm_access": {"roles": ["offline_access", "desk-agent", "supervisor"]}});
        // Mapped names only: "supervisor" itself is not in the map.
        assert_eq!(identity_from_claims(nested.as_object().unwrap(), &keycloak).roles, ["agent_t1"]);
        let lead = json!({"sub": "u", "realm_access": {"roles": ["desk-lead"]}});
        assert_eq!(identity_from_claims(lead.as_object().unwrap(), &keycloak).roles, ["agent_t2", "supervisor"]);
        // A claim whose own name has dots, and a path that leads nowhere.
        let namespaced = json!({"sub": "u", "https://desk.example/role": "desk-supervisor"});
        let cfg_ns = OidcConfig { role_claim: "https://desk.example/role".into(), ..keycloak.clone() };
        assert_eq!(identity_from_claims(namespaced.as_object().unwrap(), &cfg_ns).roles, ["supervisor"]);
        let cfg_missing = OidcConfig { role_claim: "realm_access.groups.x".into(), ..keycloak };
        assert!(identity_from_claims(nested.as_object().unwrap(), &cfg_missing).roles.is_empty());
        // email_verified as a string.
        let s = json!({"sub": "u", "email": "a@b.example", "email_verified": "true"});
        assert!(identity_from_claims(s.as_object().unwrap(), &cfg()).email_verified);
    }

    fn provider(cfg: OidcConfig) -> Provider {
        let url = |s: &str| url::Url::parse(s).unwrap();
        Provider {
            meta: Metadata {
                issuer: cfg.issuer.clone(),
                authorization_endpoint: url("https://id.example.com/realms/desk/auth?kc_idp_hint=corp"),
                token_endpoint: url("https://id.example.com/realms/desk/token"),
                jwks_uri: url("https://id.example.com/realms/desk/certs"),
            },
            cfg,
            keys: Mutex::new(KeyCache::default()),
        }
    }

    #[test]
    fn start_builds_the_authorisation_url_with_pkce() {
        let p = provider(OidcConfig { scopes: vec!["email".into(), "openid".into(), "groups".into()], ..cfg() });
        let a = p.start();
        let b = p.start();
        assert!(a.state != b.state && a.nonce != b.nonce && a.verifier != b.verifier);
        assert_eq!((a.state.len(), a.nonce.len(), a.verifier.len()), (43, 43, 43));
        let url = url::Url::parse(&a.url).unwrap();
        assert_eq!(url.path(), "/realms/desk/auth");
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["kc_idp_hint"], "corp");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "thaw");
        assert_eq!(q["redirect_uri"], "https://desk.example.com/staff/oidc/callback");
        assert_eq!(q["scope"], "openid email groups");
        assert_eq!(q["state"], a.state);
        assert_eq!(q["nonce"], a.nonce);
        assert_eq!(q["code_challenge"], pkce_challenge(&a.verifier));
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(!a.url.contains(&a.verifier));
        assert!(!format!("{a:?}").contains(&a.verifier));
    }

    #[test]
    fn configuration_is_checked() {
        assert!(cfg().check().is_ok());
        let http = OidcConfig { issuer: "http://127.0.0.1:4455".into(), ..cfg() };
        assert_eq!(http.check().unwrap_err().code(), "misconfigured");
        assert!(OidcConfig { allow_http: true, ..http.clone() }.check().is_ok());
        let remote = OidcConfig { issuer: "http://id.example.com".into(), allow_http: true, ..cfg() };
        assert!(remote.check().is_err());
        let bad_role = OidcConfig { role_map: vec![("x".into(), "root".into())], ..cfg() };
        assert!(bad_role.check().unwrap_err().to_string().contains("root"));
        assert!(OidcConfig { client_id: " ".into(), ..cfg() }.check().is_err());
        // The secret never shows in debug output.
        assert!(!format!("{:?}", cfg()).contains("client-secret"));
        assert_eq!(OidcConfig::default().scope(), "openid email profile");
    }
}
