//! Accounts are the platform's users, mirrored into thaw by the platform (or created on the fly
//! from an event). Their id is the platform's own.

use crate::{Invalid, Locale};
use serde::{Deserialize, Serialize};

pub const MAX_KYC_LEVEL: i64 = 5;
pub const MAX_VIP_LEVEL: i64 = 10;

/// The platform's identifier of a user: 1–128 characters of letters, digits and `._:@-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(field: &str, s: &str) -> Result<AccountId, Invalid> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "._:@-".contains(c);
        if s.is_empty() || s.len() > 128 || !s.chars().all(ok_char) {
            return Err(Invalid::new(
                field,
                "invalid_account_id",
                "an account id is 1 to 128 characters of letters, digits and . _ : @ -",
            ));
        }
        Ok(AccountId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed and with its domain lowercased. Deliberately modest checks: one `@`,
/// a non-empty local part, a dotted domain, no spaces or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, s: &str) -> Result<Email, Invalid> {
        let s = s.trim();
        let bad = || Invalid::new(field, "invalid_email", "not a valid email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.contains('@') || local.len() > 64 {
            return Err(bad());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
            || !domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        {
            return Err(bad());
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The form used to find a person by email: all lowercase.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 form: `+` and 8 to 15 digits; spaces, dashes and brackets are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(field: &str, s: &str) -> Result<Phone, Invalid> {
        let compact: String = s.chars().filter(|c| !" -().".contains(*c)).collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return Err(Invalid::new(
                field,
                "invalid_phone",
                "a phone number is + and 8 to 15 digits with the country code (E.164), e.g. +8613800138000",
            ));
        }
        Ok(Phone(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mirrored account as thaw stores it. Times are UTC epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub locale: Locale,
    pub kyc_level: i64,
    pub vip_level: i64,
    /// When the platform created the user.
    pub created_at_ms: i64,
    /// When thaw last received the platform's copy.
    pub updated_at_ms: i64,
}

/// What the platform sends, before validation.
#[derive(Debug, Clone, Default)]
pub struct AccountInput {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub kyc_level: Option<i64>,
    pub vip_level: Option<i64>,
    pub created_at_ms: Option<i64>,
}

impl AccountInput {
    /// Validates the platform's copy; absent optional values take their defaults
    /// (locale en, levels 0, created now). `now_ms` is the caller's clock.
    pub fn validate(self, id: AccountId, now_ms: i64) -> Result<Account, Invalid> {
        let email = self.email.filter(|e| !e.trim().is_empty()).map(|e| Email::parse("email", &e)).transpose()?;
        let phone = self.phone.filter(|p| !p.trim().is_empty()).map(|p| Phone::parse("phone", &p)).transpose()?;
        let locale = match self.locale {
            None => Locale::En,
            Some(l) => Locale::parse_canonical(&l)
                .ok_or_else(|| Invalid::new("locale", "invalid_locale", "locale must be zh-CN or en"))?,
        };
        let level = |field: &str, v: Option<i64>, max: i64| match v {
            None => Ok(0),
            Some(v) if (0..=max).contains(&v) => Ok(v),
            Some(_) => Err(Invalid::new(field, "out_of_range", format!("{field} must be between 0 and {max}"))),
        };
        let kyc_level = level("kyc_level", self.kyc_level, MAX_KYC_LEVEL)?;
        let vip_level = level("vip_level", self.vip_level, MAX_VIP_LEVEL)?;
        let created_at_ms = self.created_at_ms.unwrap_or(now_ms);
        if created_at_ms > now_ms + 86_400_000 {
            return Err(Invalid::new("created_at", "in_future", "created_at lies in the future"));
        }
        Ok(Account { id, email, phone, locale, kyc_level, vip_level, created_at_ms, updated_at_ms: now_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> AccountId {
        AccountId::parse("id", "u-1001").unwrap()
    }

    #[test]
    fn account_ids_allow_platform_formats_and_refuse_others() {
        for ok in ["42", "u-1001", "user:abc.def", "a@b", &"x".repeat(128)] {
            assert!(AccountId::parse("id", ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "slash/y", "中文", &"x".repeat(129)] {
            let e = AccountId::parse("id", bad).unwrap_err();
            assert_eq!(e.code, "invalid_account_id", "{bad}");
        }
    }

    #[test]
    fn emails_keep_local_part_and_lowercase_domain() {
        assert_eq!(Email::parse("email", "  Li.Wei@Example.COM ").unwrap().as_str(), "Li.Wei@example.com");
        assert_eq!(Email::parse("email", "Li.Wei@Example.COM").unwrap().normalized(), "li.wei@example.com");
        for bad in ["plain", "@x.com", "a@", "a@b", "a b@c.com", "a@-x.com", "a@x..com", "a@@x.com"] {
            assert_eq!(Email::parse("email", bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(Phone::parse("phone", "+86 138-0013-8000").unwrap().as_str(), "+8613800138000");
        for bad in ["13800138000", "+0123456789", "+12", "+1234567890123456", "+86abc"] {
            assert!(Phone::parse("phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_applies_defaults_and_names_the_failing_field() {
        let a = AccountInput::default().validate(id(), 1_000).unwrap();
        assert_eq!((a.locale, a.kyc_level, a.vip_level, a.created_at_ms), (Locale::En, 0, 0, 1_000));

        let cases: Vec<(AccountInput, &str)> = vec![
            (AccountInput { locale: Some("fr".into()), ..Default::default() }, "locale"),
            (AccountInput { locale: Some("zh".into()), ..Default::default() }, "locale"),
            (AccountInput { kyc_level: Some(6), ..Default::default() }, "kyc_level"),
            (AccountInput { vip_level: Some(-1), ..Default::default() }, "vip_level"),
            (AccountInput { email: Some("nope".into()), ..Default::default() }, "email"),
            (AccountInput { phone: Some("123".into()), ..Default::default() }, "phone"),
            (AccountInput { created_at_ms: Some(1_000 + 2 * 86_400_000), ..Default::default() }, "created_at"),
        ];
        for (input, field) in cases {
            assert_eq!(input.validate(id(), 1_000).unwrap_err().field, field);
        }
    }

    #[test]
    fn blank_contact_fields_mean_absent() {
        let a = AccountInput { email: Some(" ".into()), phone: Some("".into()), ..Default::default() }
            .validate(id(), 5)
            .unwrap();
        assert_eq!((a.email, a.phone), (None, None));
    }
}
