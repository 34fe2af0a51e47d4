//! What the security centre needs at run time: the platform's single sign-on key, the WebAuthn
//! relying party (this server's public URL), the SMTP server for email, and the alert throttle.

use crate::sso::SsoKey;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use webauthn_rs::{Webauthn, WebauthnBuilder};

pub const DEFAULT_ALERT_THROTTLE_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// The server's public URL: links in emails, and the WebAuthn origin and relying party.
    pub public_url: String,
    pub sso: Option<SsoKey>,
    /// `smtp://host:port`, `smtps://user:pass@host` …; without it emails are kept, not sent.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// At most one alert of a kind per account within this time.
    pub alert_throttle_ms: i64,
    /// Staff single sign-on with the organisation's OpenID Connect provider.
    pub staff_oidc: Option<crate::oidc::OidcConfig>,
}

impl SecurityConfig {
    pub fn new(public_url: &str) -> SecurityConfig {
        SecurityConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            sso: None,
            smtp_url: None,
            mail_from: "thaw <security@thaw.invalid>".into(),
            alert_throttle_ms: DEFAULT_ALERT_THROTTLE_MS,
            staff_oidc: None,
        }
    }
}

pub struct Security {
    pub config: SecurityConfig,
    webauthn: Option<Webauthn>,
    pub(crate) mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    pub(crate) from: lettre::message::Mailbox,
    /// Set when staff may sign in through the organisation's provider.
    pub staff_sso: Option<crate::oidc::StaffSso>,
}

impl Security {
    /// Checks the configuration once, at start: a bad SMTP URL or sender stops the server.
    pub fn new(config: SecurityConfig) -> Result<Security, String> {
        let webauthn = passkey_party(&config.public_url);
        if webauthn.is_none() {
            tracing::warn!(url = %config.public_url, "passkeys are unavailable: the public URL has no host name");
        }
        let mailer = match &config.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("smtp_url is not a usable SMTP URL: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build(),
            ),
            None => None,
        };
        let from = config.mail_from.parse().map_err(|e| format!("mail_from is not an email address: {e}"))?;
        let staff_sso = match &config.staff_oidc {
            Some(cfg) => Some(crate::oidc::StaffSso::new(cfg.clone()).map_err(|e| format!("staff_oidc: {e}"))?),
            None => None,
        };
        Ok(Security { config, webauthn, mailer, from, staff_sso })
    }

    pub fn webauthn(&self) -> Option<&Webauthn> {
        self.webauthn.as_ref()
    }

    pub fn sends_email(&self) -> bool {
        self.mailer.is_some()
    }

    /// An absolute link to a path of this server.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.config.public_url)
    }
}

/// The WebAuthn relying party for a public URL: its host is the RP id (an IP address cannot be
/// one, so `http://127.0.0.1:…` has no passkeys; use `http://localhost:…`).
fn passkey_party(public_url: &str) -> Option<Webauthn> {
    let url = url::Url::parse(public_url).ok()?;
    let host = match url.host()? {
        url::Host::Domain(d) => d.to_string(),
        _ => return None,
    };
    WebauthnBuilder::new(&host, &url).ok()?.rp_name("thaw").build().ok()
}
