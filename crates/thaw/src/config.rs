//! Configuration, declared once: each option has a TOML key, a `THAW_*` environment variable
//! and a default. Sources apply in order — file, then environment, then command-line flags —
//! later ones overriding earlier. With nothing configured, thaw runs on SQLite at
//! `./thaw-data/thaw.db`, listening on 127.0.0.1:8080.

use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_FILE: &str = "thaw.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format must be human or json, not '{other}'")),
        }
    }
}

/// The effective configuration of a thaw process.
#[derive(Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub body_limit_bytes: usize,
    pub max_connections: u32,
    pub behind_proxy: bool,
    /// The risk policy file; the shipped default policy without one.
    pub policy_file: Option<PathBuf>,
    /// First retry delay of a failed webhook delivery, in milliseconds (doubles per attempt).
    pub webhook_retry_base_ms: i64,
    /// SQLite's `synchronous`: `full` (every commit on disk) or `normal` (survives a killed
    /// process, may lose the last commits on power loss; faster).
    pub sqlite_synchronous: String,
    /// A MaxMind-format city database for events that carry an IP but no place.
    pub geoip_db: Option<PathBuf>,
    /// The credit its licence asks for, shown wherever looked-up places are displayed.
    pub geoip_attribution: String,
    /// The platform's single sign-on key: a shared HS256 secret (at least 32 characters) …
    pub sso_hs256_secret: Option<String>,
    /// … or its Ed25519 public key (PEM, or base64 of the 32 bytes) for EdDSA tokens.
    pub sso_ed25519_public_key: Option<String>,
    /// Staff single sign-on: the OpenID Connect provider's issuer URL (unset: password + TOTP
    /// only). thaw's callback, to register at the provider, is `{public_url}/desk/sso/callback`.
    pub staff_oidc_issuer: Option<String>,
    pub staff_oidc_client_id: Option<String>,
    /// Unset for a public client (PKCE only).
    pub staff_oidc_client_secret: Option<String>,
    /// The claim holding the role(s), or a dotted path such as `realm_access.roles`.
    pub staff_oidc_role_claim: String,
    /// Claim value → thaw role, as `value=role` pairs separated by commas
    /// (`desk-admins=admin, desk-l1=agent_t1`); empty: values that are thaw role names.
    pub staff_oidc_role_map: String,
    /// Accept a plain-http provider on a loopback address (tests and local trials only).
    pub staff_oidc_allow_http: bool,
    /// The SMTP server for email, e.g. `smtp://127.0.0.1:2525` or `smtps://user:pass@mail.example`.
    pub smtp_url: Option<String>,
    /// The sender of thaw's email.
    pub mail_from: String,
    /// At most one alert of a kind per account within this many seconds.
    pub alert_throttle_secs: i64,
    /// The case desk's business hours (the SLA clock of every category but account_theft and
    /// phishing_report, which run around the clock): IANA time zone, hours, weekdays, holidays.
    pub desk_time_zone: String,
    pub desk_hours: String,
    pub desk_weekdays: String,
    pub desk_holidays: String,
    /// The SLA file: calendars and targets per category and priority (the built-in targets
    /// without one).
    pub desk_sla_file: Option<PathBuf>,
    /// The share of resolved cases sampled into the QA queue, in percent (0–100).
    pub desk_qa_percent: u8,
    /// Where evidence attachments are stored by content hash (a local directory) …
    pub evidence_dir: PathBuf,
    /// … or an S3-compatible bucket, `https://ACCESS_KEY:SECRET@host/bucket?region=eu-west-1`
    /// (`&path_style=false` for virtual-host addressing); needs the `s3` cargo feature.
    pub evidence_s3_url: Option<String>,
    /// The largest attachment accepted, in bytes.
    pub evidence_max_bytes: usize,
    /// Identity documents are deleted this many days after upload (a record stays).
    pub identity_retention_days: i64,
    /// A directory of this process's own where its search index is kept between runs (unset:
    /// in memory, rebuilt from the database at every start — minutes with millions of messages).
    pub search_dir: Option<PathBuf>,
    /// Where the configuration came from, for messages.
    pub source: Option<PathBuf>,
    /// Set by `thaw serve --demo`: the demo mailbox page is served.
    pub demo: bool,
}

/// Prints with the database password masked.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &thaw_store::mask_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("max_connections", &self.max_connections)
            .field("behind_proxy", &self.behind_proxy)
            .field("policy_file", &self.policy_file)
            .field("webhook_retry_base_ms", &self.webhook_retry_base_ms)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("geoip_db", &self.geoip_db)
            .field("geoip_attribution", &self.geoip_attribution)
            .field("sso_hs256_secret", &self.sso_hs256_secret.as_ref().map(|_| "***"))
            .field("sso_ed25519_public_key", &self.sso_ed25519_public_key)
            .field("staff_oidc_issuer", &self.staff_oidc_issuer)
            .field("staff_oidc_client_id", &self.staff_oidc_client_id)
            .field("staff_oidc_client_secret", &self.staff_oidc_client_secret.as_ref().map(|_| "***"))
            .field("staff_oidc_role_claim", &self.staff_oidc_role_claim)
            .field("staff_oidc_role_map", &self.staff_oidc_role_map)
            .field("staff_oidc_allow_http", &self.staff_oidc_allow_http)
            .field("smtp_url", &self.smtp_url.as_deref().map(thaw_store::mask_url))
            .field("mail_from", &self.mail_from)
            .field("alert_throttle_secs", &self.alert_throttle_secs)
            .field("desk_time_zone", &self.desk_time_zone)
            .field("desk_hours", &self.desk_hours)
            .field("desk_weekdays", &self.desk_weekdays)
            .field("desk_holidays", &self.desk_holidays)
            .field("desk_sla_file", &self.desk_sla_file)
            .field("desk_qa_percent", &self.desk_qa_percent)
            .field("evidence_dir", &self.evidence_dir)
            .field("evidence_s3_url", &self.evidence_s3_url.as_deref().map(thaw_store::mask_url))
            .field("evidence_max_bytes", &self.evidence_max_bytes)
            .field("search_dir", &self.search_dir)
            .field("identity_retention_days", &self.identity_retention_days)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://thaw-data/thaw.db".into(),
            public_url: None,
            log_format: LogFormat::Human,
            body_limit_bytes: 1024 * 1024,
            max_connections: 10,
            behind_proxy: false,
            policy_file: None,
            webhook_retry_base_ms: 5_000,
            sqlite_synchronous: "full".into(),
            geoip_db: None,
            geoip_attribution: "IP geolocation by DB-IP.com (CC BY 4.0)".into(),
            sso_hs256_secret: None,
            sso_ed25519_public_key: None,
            staff_oidc_issuer: None,
            staff_oidc_client_id: None,
            staff_oidc_client_secret: None,
            staff_oidc_role_claim: "thaw_role".into(),
            staff_oidc_role_map: String::new(),
            staff_oidc_allow_http: false,
            smtp_url: None,
            mail_from: "thaw <security@thaw.invalid>".into(),
            alert_throttle_secs: 600,
            desk_time_zone: "UTC".into(),
            desk_hours: "09:00-18:00".into(),
            desk_weekdays: "mon-fri".into(),
            desk_holidays: String::new(),
            desk_sla_file: None,
            desk_qa_percent: thaw_services::cases::DEFAULT_QA_PERCENT,
            evidence_dir: PathBuf::from("thaw-data/evidence"),
            evidence_s3_url: None,
            evidence_max_bytes: 10 * 1024 * 1024,
            search_dir: None,
            identity_retention_days: 30,
            source: None,
            demo: false,
        }
    }
}

/// The options as a file or the environment may give them; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub body_limit_bytes: Option<usize>,
    pub max_connections: Option<u32>,
    pub behind_proxy: Option<bool>,
    pub policy_file: Option<PathBuf>,
    pub webhook_retry_base_ms: Option<i64>,
    pub sqlite_synchronous: Option<String>,
    pub geoip_db: Option<PathBuf>,
    pub geoip_attribution: Option<String>,
    pub sso_hs256_secret: Option<String>,
    pub sso_ed25519_public_key: Option<String>,
    pub staff_oidc_issuer: Option<String>,
    pub staff_oidc_client_id: Option<String>,
    pub staff_oidc_client_secret: Option<String>,
    pub staff_oidc_role_claim: Option<String>,
    pub staff_oidc_role_map: Option<String>,
    pub staff_oidc_allow_http: Option<bool>,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub alert_throttle_secs: Option<i64>,
    pub desk_time_zone: Option<String>,
    pub desk_hours: Option<String>,
    pub desk_weekdays: Option<String>,
    pub desk_holidays: Option<String>,
    pub desk_sla_file: Option<PathBuf>,
    pub desk_qa_percent: Option<u8>,
    pub evidence_dir: Option<PathBuf>,
    pub evidence_s3_url: Option<String>,
    pub evidence_max_bytes: Option<usize>,
    pub search_dir: Option<PathBuf>,
    pub identity_retention_days: Option<i64>,
}

/// (environment variable, TOML key) of every option.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("THAW_LISTEN", "listen"),
    ("THAW_DATABASE_URL", "database_url"),
    ("THAW_PUBLIC_URL", "public_url"),
    ("THAW_LOG_FORMAT", "log_format"),
    ("THAW_BODY_LIMIT_BYTES", "body_limit_bytes"),
    ("THAW_MAX_CONNECTIONS", "max_connections"),
    ("THAW_BEHIND_PROXY", "behind_proxy"),
    ("THAW_POLICY_FILE", "policy_file"),
    ("THAW_WEBHOOK_RETRY_BASE_MS", "webhook_retry_base_ms"),
    ("THAW_SQLITE_SYNCHRONOUS", "sqlite_synchronous"),
    ("THAW_GEOIP_DB", "geoip_db"),
    ("THAW_GEOIP_ATTRIBUTION", "geoip_attribution"),
    ("THAW_SSO_HS256_SECRET", "sso_hs256_secret"),
    ("THAW_SSO_ED25519_PUBLIC_KEY", "sso_ed25519_public_key"),
    ("THAW_STAFF_OIDC_ISSUER", "staff_oidc_issuer"),
    ("THAW_STAFF_OIDC_CLIENT_ID", "staff_oidc_client_id"),
    ("THAW_STAFF_OIDC_CLIENT_SECRET", "staff_oidc_client_secret"),
    ("THAW_STAFF_OIDC_ROLE_CLAIM", "staff_oidc_role_claim"),
    ("THAW_STAFF_OIDC_ROLE_MAP", "staff_oidc_role_map"),
    ("THAW_STAFF_OIDC_ALLOW_HTTP", "staff_oidc_allow_http"),
    ("THAW_SMTP_URL", "smtp_url"),
    ("THAW_MAIL_FROM", "mail_from"),
    ("THAW_ALERT_THROTTLE_SECS", "alert_throttle_secs"),
    ("THAW_DESK_TIME_ZONE", "desk_time_zone"),
    ("THAW_DESK_HOURS", "desk_hours"),
    ("THAW_DESK_WEEKDAYS", "desk_weekdays"),
    ("THAW_DESK_HOLIDAYS", "desk_holidays"),
    ("THAW_DESK_SLA_FILE", "desk_sla_file"),
    ("THAW_DESK_QA_PERCENT", "desk_qa_percent"),
    ("THAW_EVIDENCE_DIR", "evidence_dir"),
    ("THAW_EVIDENCE_S3_URL", "evidence_s3_url"),
    ("THAW_EVIDENCE_MAX_BYTES", "evidence_max_bytes"),
    ("THAW_SEARCH_DIR", "search_dir"),
    ("THAW_IDENTITY_RETENTION_DAYS", "identity_retention_days"),
];

/// `THAW_*` variables that are not options but are read elsewhere.
const OTHER_ENV: &[&str] = &["THAW_CONFIG", "THAW_LOG"];

impl Layer {
    /// Reads a TOML file; an unknown key is an error naming it and the file.
    pub fn from_file(path: &Path) -> anyhow::Result<Layer> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("configuration file {}: {}", path.display(), e.message()))
    }

    /// Reads the `THAW_*` options from environment pairs, each parsed as its TOML key would be
    /// (so both sources accept the same values). Returns one layer per variable, and the names
    /// of unknown `THAW_*` variables (worth a warning: probably a typo).
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<(Vec<Layer>, Vec<String>)> {
        let mut layers = Vec::new();
        let mut unknown = Vec::new();
        for (name, value) in vars {
            if !name.starts_with("THAW_") || name.starts_with("THAW_TEST_") || OTHER_ENV.contains(&name.as_str()) {
                continue;
            }
            let Some((_, key)) = ENV_VARS.iter().find(|(env, _)| *env == name) else {
                unknown.push(name);
                continue;
            };
            // A number or true/false as such, anything else as a string.
            let quoted = toml::Value::String(value.clone()).to_string();
            let layer = toml::from_str::<Layer>(&format!("{key} = {value}"))
                .or_else(|_| toml::from_str::<Layer>(&format!("{key} = {quoted}")))
                .map_err(|e| anyhow::anyhow!("environment variable {name}: {}", e.message()))?;
            layers.push(layer);
        }
        Ok((layers, unknown))
    }

    fn apply(self, c: &mut Config) {
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = self.database_url {
            c.database_url = v;
        }
        if let Some(v) = self.public_url {
            c.public_url = Some(v);
        }
        if let Some(v) = self.log_format {
            c.log_format = v;
        }
        if let Some(v) = self.body_limit_bytes {
            c.body_limit_bytes = v;
        }
        if let Some(v) = self.max_connections {
            c.max_connections = v;
        }
        if let Some(v) = self.behind_proxy {
            c.behind_proxy = v;
        }
        if let Some(v) = self.policy_file {
            c.policy_file = Some(v);
        }
        if let Some(v) = self.webhook_retry_base_ms {
            c.webhook_retry_base_ms = v;
        }
        if let Some(v) = self.sqlite_synchronous {
            c.sqlite_synchronous = v;
        }
        if let Some(v) = self.geoip_db {
            c.geoip_db = Some(v);
        }
        if let Some(v) = self.geoip_attribution {
            c.geoip_attribution = v;
        }
        // An empty value unsets, so the environment can switch off what a file configured.
        if let Some(v) = self.sso_hs256_secret {
            c.sso_hs256_secret = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = self.sso_ed25519_public_key {
            c.sso_ed25519_public_key = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = self.staff_oidc_issuer {
            c.staff_oidc_issuer = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = self.staff_oidc_client_id {
            c.staff_oidc_client_id = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = self.staff_oidc_client_secret {
            c.staff_oidc_client_secret = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = self.staff_oidc_role_claim {
            c.staff_oidc_role_claim = v;
        }
        if let Some(v) = self.staff_oidc_role_map {
            c.staff_oidc_role_map = v;
        }
        if let Some(v) = self.staff_oidc_allow_http {
            c.staff_oidc_allow_http = v;
        }
        if let Some(v) = self.smtp_url {
            c.smtp_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = self.mail_from {
            c.mail_from = v;
        }
        if let Some(v) = self.alert_throttle_secs {
            c.alert_throttle_secs = v;
        }
        if let Some(v) = self.desk_time_zone {
            c.desk_time_zone = v;
        }
        if let Some(v) = self.desk_hours {
            c.desk_hours = v;
        }
        if let Some(v) = self.desk_weekdays {
            c.desk_weekdays = v;
        }
        if let Some(v) = self.desk_holidays {
            c.desk_holidays = v;
        }
        if let Some(v) = self.desk_sla_file {
            c.desk_sla_file = Some(v).filter(|v| !v.as_os_str().is_empty());
        }
        if let Some(v) = self.desk_qa_percent {
            c.desk_qa_percent = v;
        }
        if let Some(v) = self.evidence_dir {
            c.evidence_dir = v;
        }
        if let Some(v) = self.evidence_s3_url {
            c.evidence_s3_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = self.evidence_max_bytes {
            c.evidence_max_bytes = v;
        }
        if let Some(v) = self.search_dir {
            c.search_dir = Some(v).filter(|v| !v.as_os_str().is_empty());
        }
        if let Some(v) = self.identity_retention_days {
            c.identity_retention_days = v;
        }
    }
}

/// Builds the configuration: defaults, then the file (`explicit`, else `$THAW_CONFIG`, else
/// `thaw.toml` if present), then the environment, then `flags`.
pub fn load(
    explicit: Option<&Path>,
    env: Vec<(String, String)>,
    flags: Layer,
) -> anyhow::Result<(Config, Vec<String>)> {
    let mut config = Config::default();
    let from_env_var = env.iter().find(|(k, _)| k == "THAW_CONFIG").map(|(_, v)| PathBuf::from(v));
    let file = match explicit.map(Path::to_path_buf).or(from_env_var) {
        Some(p) => Some(p),
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
    };
    if let Some(path) = &file {
        let mut layer = Layer::from_file(path)?;
        // Files named in the configuration file are relative to that file.
        if let Some(dir) = path.parent() {
            for p in [&mut layer.policy_file, &mut layer.geoip_db, &mut layer.desk_sla_file].into_iter().flatten() {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        layer.apply(&mut config);
        config.source = Some(path.clone());
    }
    let (env_layers, unknown) = Layer::from_env(env)?;
    for layer in env_layers {
        layer.apply(&mut config);
    }
    flags.apply(&mut config);
    validate(&config)?;
    Ok((config, unknown))
}

fn validate(c: &Config) -> anyhow::Result<()> {
    if c.listen.parse::<std::net::SocketAddr>().is_err() {
        bail!("listen: '{}' is not an address like 127.0.0.1:8080", c.listen);
    }
    if thaw_store::backend_of(&c.database_url).is_none() {
        bail!("database_url: '{}' must start with sqlite: or postgres://", thaw_store::mask_url(&c.database_url));
    }
    if let Some(u) = &c.public_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        bail!("public_url: '{u}' must start with http:// or https://");
    }
    if c.body_limit_bytes < 1024 {
        bail!("body_limit_bytes: at least 1024");
    }
    if c.max_connections == 0 {
        bail!("max_connections: at least 1");
    }
    if !matches!(c.sqlite_synchronous.as_str(), "full" | "normal") {
        bail!("sqlite_synchronous: '{}' must be full or normal", c.sqlite_synchronous);
    }
    if c.webhook_retry_base_ms < 10 {
        bail!("webhook_retry_base_ms: at least 10");
    }
    if c.alert_throttle_secs < 0 {
        bail!("alert_throttle_secs: at least 0");
    }
    if c.sso_hs256_secret.is_some() && c.sso_ed25519_public_key.is_some() {
        bail!("sso_hs256_secret and sso_ed25519_public_key: configure one of them, not both");
    }
    if c.desk_qa_percent > 100 {
        bail!("desk_qa_percent: '{}' must be from 0 to 100", c.desk_qa_percent);
    }
    if c.evidence_max_bytes < 1024 || c.evidence_max_bytes > 100 * 1024 * 1024 {
        bail!("evidence_max_bytes: '{}' must be from 1024 to 104857600 (100 MiB)", c.evidence_max_bytes);
    }
    if c.identity_retention_days < 1 {
        bail!("identity_retention_days: '{}' must be at least 1", c.identity_retention_days);
    }
    c.security().map_err(|e| anyhow::anyhow!(e))?;
    c.desk().map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

impl Config {
    /// The configured public URL; without one, this server's address, named `localhost` when
    /// it listens on loopback (passkeys need a host name, not an IP address).
    pub fn public_url(&self) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_string();
        }
        match self.listen.parse::<std::net::SocketAddr>() {
            Ok(a) if a.ip().is_loopback() => format!("http://localhost:{}", a.port()),
            _ => format!("http://{}", self.listen),
        }
    }

    /// The security centre's settings: SSO key, SMTP, alert throttle.
    pub fn security(&self) -> Result<thaw_services::security::SecurityConfig, String> {
        use thaw_services::sso::SsoKey;
        let mut s = thaw_services::security::SecurityConfig::new(&self.public_url());
        s.sso = match (&self.sso_hs256_secret, &self.sso_ed25519_public_key) {
            (Some(secret), _) => Some(SsoKey::hs256(secret).map_err(|e| format!("sso_hs256_secret: {e}"))?),
            (None, Some(key)) => Some(SsoKey::ed25519(key).map_err(|e| format!("sso_ed25519_public_key: {e}"))?),
            (None, None) => None,
        };
        s.smtp_url = self.smtp_url.clone();
        s.mail_from = self.mail_from.clone();
        s.alert_throttle_ms = self.alert_throttle_secs * 1000;
        s.staff_oidc = self.staff_oidc()?;
        Ok(s)
    }

    /// Staff single sign-on, when an issuer is configured.
    fn staff_oidc(&self) -> Result<Option<thaw_services::oidc::OidcConfig>, String> {
        let Some(issuer) = &self.staff_oidc_issuer else {
            return Ok(None);
        };
        let client_id =
            self.staff_oidc_client_id.clone().ok_or("staff_oidc_client_id: required with staff_oidc_issuer")?;
        let mut role_map = Vec::new();
        for pair in self.staff_oidc_role_map.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((from, to)) = pair.split_once('=') else {
                return Err(format!("staff_oidc_role_map: '{pair}' is not value=role"));
            };
            role_map.push((from.trim().to_string(), to.trim().to_string()));
        }
        let cfg = thaw_services::oidc::OidcConfig {
            issuer: issuer.trim().to_string(),
            client_id,
            client_secret: self.staff_oidc_client_secret.clone(),
            redirect_url: format!("{}/desk/sso/callback", self.public_url()),
            role_claim: self.staff_oidc_role_claim.clone(),
            role_map,
            allow_http: self.staff_oidc_allow_http,
            ..Default::default()
        };
        cfg.check().map_err(|e| format!("staff_oidc: {e}"))?;
        Ok(Some(cfg))
    }

    /// The case desk: its calendar, QA share and evidence storage.
    pub fn desk(&self) -> Result<thaw_services::cases::Desk, String> {
        let mut desk = thaw_services::cases::Desk::from_settings(
            &self.desk_time_zone,
            &self.desk_hours,
            &self.desk_weekdays,
            &self.desk_holidays,
        )
        .map_err(|e| e.message)?;
        if let Some(path) = &self.desk_sla_file {
            let file = thaw_services::sla_file::load(path).map_err(|errors| {
                let lines: Vec<String> =
                    errors.iter().map(|e| format!("{}:{}: {}", path.display(), e.line, e.message)).collect();
                format!("desk_sla_file: {} error(s)\n{}", errors.len(), lines.join("\n"))
            })?;
            desk = desk.with_sla(file);
        }
        desk.qa_percent = self.desk_qa_percent;
        desk.evidence = thaw_services::evidence::Evidence {
            store: self.evidence_store()?,
            limits: thaw_services::objects::Limits { max_bytes: self.evidence_max_bytes, ..Default::default() },
            identity_retention_ms: self.identity_retention_days * 86_400_000,
        };
        Ok(desk)
    }

    fn evidence_store(&self) -> Result<thaw_services::objects::ObjectStore, String> {
        match &self.evidence_s3_url {
            None => Ok(thaw_services::objects::ObjectStore::local(&self.evidence_dir)),
            #[cfg(feature = "s3")]
            Some(url) => {
                thaw_services::objects::ObjectStore::s3_from_url(url).map_err(|e| format!("evidence_s3_url: {e}"))
            }
            #[cfg(not(feature = "s3"))]
            Some(_) => Err("evidence_s3_url: this build has no S3 support; build with `--features s3`".into()),
        }
    }

    pub fn http(&self) -> thaw_http::HttpConfig {
        thaw_http::HttpConfig {
            public_url: self.public_url(),
            body_limit: self.body_limit_bytes,
            behind_proxy: self.behind_proxy,
            demo: self.demo,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("thaw-config-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("thaw.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn nothing_configured_means_sqlite_in_thaw_data_on_localhost_8080() {
        let (c, _) = load(None, vec![], Layer::default()).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://thaw-data/thaw.db");
        assert_eq!(c.log_format, LogFormat::Human);
    }

    #[test]
    fn file_then_environment_then_flags_each_override_the_one_before() {
        let path = temp_file("layers", "listen = \"127.0.0.1:9000\"\nmax_connections = 3\nlog_format = \"json\"\n");
        let (c, _) = load(Some(&path), vec![], Layer::default()).unwrap();
        assert_eq!((c.listen.as_str(), c.max_connections, c.log_format), ("127.0.0.1:9000", 3, LogFormat::Json));

        let e = env(&[("THAW_LISTEN", "127.0.0.1:9001"), ("THAW_MAX_CONNECTIONS", "4")]);
        let (c, _) = load(Some(&path), e.clone(), Layer::default()).unwrap();
        assert_eq!((c.listen.as_str(), c.max_connections), ("127.0.0.1:9001", 4));

        let flags = Layer { listen: Some("127.0.0.1:9002".into()), ..Default::default() };
        let (c, _) = load(Some(&path), e, flags).unwrap();
        assert_eq!((c.listen.as_str(), c.max_connections), ("127.0.0.1:9002", 4));
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_naming_key_and_file() {
        let path = temp_file("unknown", "lisen = \"127.0.0.1:9000\"\n");
        let err = load(Some(&path), vec![], Layer::default()).unwrap_err().to_string();
        assert!(err.contains("lisen") && err.contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn bad_values_are_errors_naming_the_option() {
        let err = load(None, env(&[("THAW_MAX_CONNECTIONS", "many")]), Layer::default()).unwrap_err().to_string();
        assert!(err.contains("THAW_MAX_CONNECTIONS"), "{err}");
        let err =
            load(None, env(&[("THAW_DATABASE_URL", "mysql://u:pw@h/db")]), Layer::default()).unwrap_err().to_string();
        assert!(err.contains("database_url") && !err.contains(":pw@"), "{err}");
        let err = load(None, vec![], Layer { listen: Some("localhost".into()), ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen"), "{err}");
        for (var, value, named) in [
            ("THAW_DESK_TIME_ZONE", "Mars/Olympus", "desk_time_zone"),
            ("THAW_DESK_HOURS", "18:00-09:00", "desk_hours"),
            ("THAW_DESK_WEEKDAYS", "funday", "desk_weekdays"),
            ("THAW_DESK_HOLIDAYS", "1 October", "desk_holidays"),
            ("THAW_DESK_QA_PERCENT", "150", "desk_qa_percent"),
            ("THAW_EVIDENCE_MAX_BYTES", "12", "evidence_max_bytes"),
            ("THAW_IDENTITY_RETENTION_DAYS", "0", "identity_retention_days"),
        ] {
            let err = load(None, env(&[(var, value)]), Layer::default()).unwrap_err().to_string();
            assert!(err.contains(named) && err.contains(value), "{var}: {err}");
        }
    }

    #[test]
    fn staff_single_sign_on_needs_a_client_and_a_valid_role_map() {
        let issuer = ("THAW_STAFF_OIDC_ISSUER", "https://id.example");
        let err = load(None, env(&[issuer]), Layer::default()).unwrap_err().to_string();
        assert!(err.contains("staff_oidc_client_id"), "{err}");
        for (map, says) in [("desk-admins", "value=role"), ("desk-admins=root", "not a thaw role")] {
            let e = env(&[issuer, ("THAW_STAFF_OIDC_CLIENT_ID", "thaw"), ("THAW_STAFF_OIDC_ROLE_MAP", map)]);
            let err = load(None, e, Layer::default()).unwrap_err().to_string();
            assert!(err.contains(says), "{map}: {err}");
        }
        let e = env(&[("THAW_STAFF_OIDC_ISSUER", "id.example"), ("THAW_STAFF_OIDC_CLIENT_ID", "thaw")]);
        let err = load(None, e, Layer::default()).unwrap_err().to_string();
        assert!(err.contains("staff_oidc") && err.contains("issuer") && err.contains("id.example"), "{err}");
        let (c, _) = load(None, env(&[issuer, ("THAW_STAFF_OIDC_CLIENT_ID", "thaw")]), Layer::default()).unwrap();
        assert!(c.security().unwrap().staff_oidc.is_some());
        let (c, _) = load(None, vec![], Layer::default()).unwrap();
        assert!(c.security().unwrap().staff_oidc.is_none(), "off unless configured");
    }

    #[test]
    fn every_option_can_come_from_the_environment() {
        let e = env(&[
            ("THAW_LISTEN", "127.0.0.1:7000"),
            ("THAW_DATABASE_URL", "postgres://u@h/db"),
            ("THAW_PUBLIC_URL", "https://desk.example"),
            ("THAW_LOG_FORMAT", "json"),
            ("THAW_BODY_LIMIT_BYTES", "4096"),
            ("THAW_MAX_CONNECTIONS", "7"),
            ("THAW_BEHIND_PROXY", "true"),
            ("THAW_POLICY_FILE", "/etc/thaw/policy.toml"),
            ("THAW_WEBHOOK_RETRY_BASE_MS", "250"),
            ("THAW_SQLITE_SYNCHRONOUS", "normal"),
            ("THAW_GEOIP_DB", "/var/lib/thaw/dbip-city.mmdb"),
            ("THAW_GEOIP_ATTRIBUTION", "IP data by DB-IP"),
            ("THAW_SSO_HS256_SECRET", "0123456789abcdef0123456789abcdef"),
            ("THAW_SSO_ED25519_PUBLIC_KEY", ""),
            ("THAW_STAFF_OIDC_ISSUER", "https://id.example/realms/desk"),
            ("THAW_STAFF_OIDC_CLIENT_ID", "thaw-desk"),
            ("THAW_STAFF_OIDC_CLIENT_SECRET", "s3cret-s3cret"),
            ("THAW_STAFF_OIDC_ROLE_CLAIM", "realm_access.roles"),
            ("THAW_STAFF_OIDC_ROLE_MAP", "desk-admins=admin, desk-l1=agent_t1"),
            ("THAW_STAFF_OIDC_ALLOW_HTTP", "false"),
            ("THAW_SMTP_URL", "smtp://127.0.0.1:2525"),
            ("THAW_MAIL_FROM", "Exchange Security <security@exchange.example>"),
            ("THAW_ALERT_THROTTLE_SECS", "60"),
            ("THAW_DESK_TIME_ZONE", "Asia/Shanghai"),
            ("THAW_DESK_HOURS", "09:00-21:00"),
            ("THAW_DESK_WEEKDAYS", "mon-sat"),
            ("THAW_DESK_HOLIDAYS", "2026-10-01,2026-10-02"),
            ("THAW_DESK_QA_PERCENT", "25"),
            ("THAW_DESK_SLA_FILE", ""),
            ("THAW_EVIDENCE_DIR", "/var/lib/thaw/evidence"),
            ("THAW_EVIDENCE_S3_URL", ""),
            ("THAW_EVIDENCE_MAX_BYTES", "5242880"),
            ("THAW_IDENTITY_RETENTION_DAYS", "14"),
            ("THAW_SEARCH_DIR", "/var/lib/thaw/search"),
        ]);
        assert_eq!(e.len(), ENV_VARS.len(), "this test names every option");
        let (c, unknown) = load(None, e, Layer::default()).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(c.listen, "127.0.0.1:7000");
        assert_eq!(c.database_url, "postgres://u@h/db");
        assert_eq!(c.public_url.as_deref(), Some("https://desk.example"));
        assert_eq!(
            (c.log_format, c.body_limit_bytes, c.max_connections, c.behind_proxy),
            (LogFormat::Json, 4096, 7, true)
        );
        assert_eq!(c.policy_file, Some(PathBuf::from("/etc/thaw/policy.toml")));
        assert_eq!((c.webhook_retry_base_ms, c.sqlite_synchronous.as_str()), (250, "normal"));
        assert_eq!(c.sso_hs256_secret.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert_eq!(c.smtp_url.as_deref(), Some("smtp://127.0.0.1:2525"));
        let sso = c.security().unwrap().staff_oidc.expect("staff single sign-on configured");
        assert_eq!(
            (sso.issuer.as_str(), sso.client_id.as_str(), sso.client_secret.as_deref()),
            ("https://id.example/realms/desk", "thaw-desk", Some("s3cret-s3cret"))
        );
        assert_eq!(sso.redirect_url, "https://desk.example/desk/sso/callback");
        assert_eq!(sso.role_claim, "realm_access.roles");
        assert_eq!(
            sso.role_map,
            vec![("desk-admins".to_string(), "admin".to_string()), ("desk-l1".to_string(), "agent_t1".to_string())]
        );
        assert!(!format!("{c:?}").contains("s3cret"), "the client secret is never printed");
        assert_eq!(
            (c.mail_from.as_str(), c.alert_throttle_secs),
            ("Exchange Security <security@exchange.example>", 60)
        );
        assert_eq!(
            (c.desk_time_zone.as_str(), c.desk_hours.as_str(), c.desk_weekdays.as_str(), c.desk_holidays.as_str()),
            ("Asia/Shanghai", "09:00-21:00", "mon-sat", "2026-10-01,2026-10-02")
        );
        assert!(c.desk().is_ok());
        assert_eq!(
            (c.desk_qa_percent, c.evidence_dir.to_str(), c.evidence_max_bytes, c.identity_retention_days),
            (25, Some("/var/lib/thaw/evidence"), 5_242_880, 14)
        );
        assert_eq!((&c.evidence_s3_url, &c.desk_sla_file), (&None, &None), "an empty value unsets");
        assert_eq!(c.search_dir.as_deref(), Some(std::path::Path::new("/var/lib/thaw/search")));
        assert!(!format!("{c:?}").contains("0123456789abcdef"), "the SSO secret is masked in Debug");
        assert_eq!(
            (c.geoip_db, c.geoip_attribution.as_str()),
            (Some(PathBuf::from("/var/lib/thaw/dbip-city.mmdb")), "IP data by DB-IP")
        );
        let err = load(None, env(&[("THAW_BEHIND_PROXY", "maybe")]), Layer::default()).unwrap_err().to_string();
        assert!(err.contains("THAW_BEHIND_PROXY"), "{err}");
    }

    #[test]
    fn an_sla_file_changes_the_desk_and_a_broken_one_is_refused_with_its_lines() {
        let dir = std::env::temp_dir().join(format!("thaw-sla-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("sla.toml");
        std::fs::write(&good, "[[policy]]\ncategories = [\"complaint\"]\nfirst_response = \"45m\"\n").unwrap();
        let (c, _) = load(None, env(&[("THAW_DESK_SLA_FILE", good.to_str().unwrap())]), Layer::default()).unwrap();
        let desk = c.desk().unwrap();
        let (table, _) = desk.sla();
        let complaint = table.get(thaw_domain::CaseCategory::Complaint, thaw_domain::case::Priority::Normal);
        assert_eq!(complaint.targets.first_response_ms, 45 * 60_000);

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[[policy]]\n\ncategories = [\"complaint\"]\nfirst_response = \"soon\"\n").unwrap();
        // Refused when the configuration is loaded, before anything starts.
        let err = load(None, env(&[("THAW_DESK_SLA_FILE", bad.to_str().unwrap())]), Layer::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml:4: first_response: 'soon'"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn unknown_thaw_variables_are_reported_for_a_warning() {
        let (_, unknown) =
            load(None, env(&[("THAW_LISTN", "x"), ("THAW_TEST_PG", "y"), ("HOME", "/root")]), Layer::default())
                .unwrap();
        assert_eq!(unknown, vec!["THAW_LISTN".to_string()]);
    }

    #[test]
    fn debug_output_masks_the_database_password() {
        let (c, _) =
            load(None, env(&[("THAW_DATABASE_URL", "postgres://thaw:hunter2@db/thaw")]), Layer::default()).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
