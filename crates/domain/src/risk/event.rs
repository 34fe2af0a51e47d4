//! Events the platform streams to thaw, validated: each failure names its field.

use crate::{AccountId, Invalid};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::str::FromStr;

/// The largest amount accepted in an event.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// Events may not claim to come from further ahead than this (clock skew allowance).
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    LoginSucceeded,
    LoginFailed,
    ChallengePassed,
    ChallengeFailed,
    PasswordChanged,
    MfaChanged,
    EmailChanged,
    PhoneChanged,
    DeviceFlagged,
    Deposit,
    WithdrawalRequested,
    Trade,
    P2pOrder,
    AddressAdded,
}

impl EventKind {
    pub const ALL: [EventKind; 14] = [
        EventKind::LoginSucceeded,
        EventKind::LoginFailed,
        EventKind::ChallengePassed,
        EventKind::ChallengeFailed,
        EventKind::PasswordChanged,
        EventKind::MfaChanged,
        EventKind::EmailChanged,
        EventKind::PhoneChanged,
        EventKind::DeviceFlagged,
        EventKind::Deposit,
        EventKind::WithdrawalRequested,
        EventKind::Trade,
        EventKind::P2pOrder,
        EventKind::AddressAdded,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EventKind::LoginSucceeded => "login_succeeded",
            EventKind::LoginFailed => "login_failed",
            EventKind::ChallengePassed => "challenge_passed",
            EventKind::ChallengeFailed => "challenge_failed",
            EventKind::PasswordChanged => "password_changed",
            EventKind::MfaChanged => "mfa_changed",
            EventKind::EmailChanged => "email_changed",
            EventKind::PhoneChanged => "phone_changed",
            EventKind::DeviceFlagged => "device_flagged",
            EventKind::Deposit => "deposit",
            EventKind::WithdrawalRequested => "withdrawal_requested",
            EventKind::Trade => "trade",
            EventKind::P2pOrder => "p2p_order",
            EventKind::AddressAdded => "address_added",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn is_credential_change(self) -> bool {
        matches!(
            self,
            EventKind::PasswordChanged | EventKind::MfaChanged | EventKind::EmailChanged | EventKind::PhoneChanged
        )
    }

    /// Kinds that move money and so must carry an amount and asset.
    pub fn needs_amount(self) -> bool {
        matches!(self, EventKind::Deposit | EventKind::WithdrawalRequested | EventKind::Trade | EventKind::P2pOrder)
    }

    /// Kinds that show the owner (or someone) is using the account.
    pub fn is_activity(self) -> bool {
        !matches!(self, EventKind::LoginFailed | EventKind::DeviceFlagged | EventKind::ChallengeFailed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceFlag {
    Root,
    Emulator,
    Vpn,
    Tor,
    Cloud,
}

impl DeviceFlag {
    pub const ALL: [DeviceFlag; 5] =
        [DeviceFlag::Root, DeviceFlag::Emulator, DeviceFlag::Vpn, DeviceFlag::Tor, DeviceFlag::Cloud];

    pub fn code(self) -> &'static str {
        match self {
            DeviceFlag::Root => "root",
            DeviceFlag::Emulator => "emulator",
            DeviceFlag::Vpn => "vpn",
            DeviceFlag::Tor => "tor",
            DeviceFlag::Cloud => "cloud",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceFlag> {
        DeviceFlag::ALL.into_iter().find(|f| f.code() == s)
    }
}

/// Where an event happened. Latitude and longitude are positions, not money: floats are fine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Geo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

impl Geo {
    pub fn point(&self) -> Option<(f64, f64)> {
        Some((self.lat?, self.lon?))
    }

    /// A name for the place: city, else country, else the coordinates.
    pub fn place(&self) -> String {
        match (&self.city, &self.country, self.point()) {
            (Some(city), _, _) => city.clone(),
            (None, Some(country), _) => country.clone(),
            (None, None, Some((lat, lon))) => format!("{lat:.2},{lon:.2}"),
            _ => "?".into(),
        }
    }
}

/// An amount of an asset. Decimal, never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub asset: String,
}

impl Money {
    pub fn parse(amount: &str, asset: &str) -> Result<Money, Invalid> {
        let trimmed = amount.trim();
        let ok_chars = !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
        let amount = Decimal::from_str(trimmed).ok().filter(|_| ok_chars).ok_or_else(|| {
            Invalid::new("amount", "invalid_amount", "amount must be a decimal string such as \"1250.50\"")
        })?;
        if amount.is_sign_negative() {
            return Err(Invalid::new("amount", "invalid_amount", "amount must not be negative"));
        }
        // Bounds that keep every sum and ratio the detectors compute far from overflow.
        if amount > Decimal::from(MAX_AMOUNT) || amount.normalize().scale() > 18 {
            return Err(Invalid::new(
                "amount",
                "invalid_amount",
                "amount must be at most 10^15 with at most 18 decimals",
            ));
        }
        let asset = asset.trim().to_ascii_uppercase();
        if asset.is_empty() || asset.len() > 16 || !asset.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Invalid::new("asset", "invalid_asset", "asset is 1 to 16 letters and digits, e.g. USDT"));
        }
        Ok(Money { amount: amount.normalize(), asset })
    }
}

/// A validated event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub account_id: AccountId,
    pub kind: EventKind,
    pub occurred_at_ms: i64,
    pub ip: Option<IpAddr>,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub geo: Option<Geo>,
    pub money: Option<Money>,
    pub address: Option<String>,
    pub network: Option<String>,
    pub flags: Vec<DeviceFlag>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// An event as received, before validation. Times are already parsed to epoch milliseconds by
/// the caller, or left as text for [`EventInput::validate`] to reject.
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    pub id: Option<String>,
    pub account_id: Option<String>,
    pub kind: Option<String>,
    pub occurred_at_ms: Option<i64>,
    pub ip: Option<String>,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub geo: Option<Geo>,
    pub amount: Option<String>,
    pub asset: Option<String>,
    pub address: Option<String>,
    pub network: Option<String>,
    pub flags: Vec<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

fn required<T>(v: Option<T>, field: &str) -> Result<T, Invalid> {
    v.ok_or_else(|| Invalid::new(field, "required", format!("{field} is required")))
}

fn short_text(v: Option<String>, field: &str, max: usize) -> Result<Option<String>, Invalid> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(Invalid::new(field, "invalid_text", format!("{field} is at most {max} printable characters")))
        }
        other => Ok(other),
    }
}

impl EventInput {
    pub fn validate(self, now_ms: i64) -> Result<Event, Invalid> {
        let id = required(self.id, "id")?;
        if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Invalid::new("id", "invalid_id", "id is 1 to 128 printable ASCII characters without spaces"));
        }
        let account_id = AccountId::parse("account_id", &required(self.account_id, "account_id")?)?;
        let kind_text = required(self.kind, "kind")?;
        let kind = EventKind::parse(&kind_text).ok_or_else(|| {
            let all: Vec<_> = EventKind::ALL.iter().map(|k| k.code()).collect();
            Invalid::new("kind", "unknown_kind", format!("unknown kind '{kind_text}'; one of {}", all.join(", ")))
        })?;
        let occurred_at_ms = required(self.occurred_at_ms, "occurred_at")?;
        if occurred_at_ms > now_ms + MAX_FUTURE_MS {
            return Err(Invalid::new("occurred_at", "in_future", "occurred_at is more than 5 minutes in the future"));
        }
        let ip = match short_text(self.ip, "ip", 64)? {
            Some(s) => Some(
                s.parse::<IpAddr>()
                    .map_err(|_| Invalid::new("ip", "invalid_ip", "ip is not an IPv4 or IPv6 address"))?,
            ),
            None => None,
        };
        let geo = match self.geo {
            Some(g) => Some(validate_geo(g)?),
            None => None,
        };
        let money = match (self.amount, self.asset) {
            (Some(a), Some(asset)) => Some(Money::parse(&a, &asset)?),
            (Some(_), None) => return Err(Invalid::new("asset", "required", "asset is required with an amount")),
            (None, Some(_)) => return Err(Invalid::new("amount", "required", "amount is required with an asset")),
            (None, None) if kind.needs_amount() => {
                return Err(Invalid::new(
                    "amount",
                    "required",
                    format!("amount and asset are required for {}", kind.code()),
                ));
            }
            (None, None) => None,
        };
        let address = short_text(self.address, "address", 256)?;
        if address.is_none() && matches!(kind, EventKind::WithdrawalRequested | EventKind::AddressAdded) {
            return Err(Invalid::new("address", "required", format!("address is required for {}", kind.code())));
        }
        let mut flags = Vec::new();
        for f in &self.flags {
            let flag = DeviceFlag::parse(f).ok_or_else(|| {
                Invalid::new(
                    "flags",
                    "unknown_flag",
                    format!("unknown device flag '{f}'; one of root, emulator, vpn, tor, cloud"),
                )
            })?;
            if !flags.contains(&flag) {
                flags.push(flag);
            }
        }
        if kind == EventKind::DeviceFlagged && flags.is_empty() {
            return Err(Invalid::new("flags", "required", "device_flagged needs at least one flag"));
        }
        if serde_json::to_string(&self.metadata).map(|s| s.len()).unwrap_or(0) > 8 * 1024 {
            return Err(Invalid::new("metadata", "too_large", "metadata is at most 8 KiB of JSON"));
        }
        Ok(Event {
            id,
            account_id,
            kind,
            occurred_at_ms,
            ip,
            device_id: short_text(self.device_id, "device_id", 128)?,
            user_agent: short_text(self.user_agent, "user_agent", 512)?,
            geo,
            money,
            address,
            network: short_text(self.network, "network", 32)?,
            flags,
            metadata: self.metadata,
        })
    }
}

fn validate_geo(g: Geo) -> Result<Geo, Invalid> {
    let country = match g.country.map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty()) {
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => Some(c),
        Some(_) => {
            return Err(Invalid::new(
                "geo.country",
                "invalid_country",
                "country is a two-letter ISO 3166 code, e.g. CN",
            ));
        }
        None => None,
    };
    if let Some(lat) = g.lat
        && !(-90.0..=90.0).contains(&lat)
    {
        return Err(Invalid::new("geo.lat", "out_of_range", "lat is between -90 and 90"));
    }
    if let Some(lon) = g.lon
        && !(-180.0..=180.0).contains(&lon)
    {
        return Err(Invalid::new("geo.lon", "out_of_range", "lon is between -180 and 180"));
    }
    if g.lat.is_some() != g.lon.is_some() {
        return Err(Invalid::new(
            if g.lat.is_some() { "geo.lon" } else { "geo.lat" },
            "required",
            "lat and lon come together",
        ));
    }
    let city = g.city.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if city.as_ref().is_some_and(|c| c.chars().count() > 100) {
        return Err(Invalid::new("geo.city", "invalid_text", "city is at most 100 characters"));
    }
    Ok(Geo { country, city, lat: g.lat, lon: g.lon })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> EventInput {
        EventInput {
            id: Some("evt-1".into()),
            account_id: Some("u-1".into()),
            kind: Some("withdrawal_requested".into()),
            occurred_at_ms: Some(1_000),
            amount: Some("1250.50".into()),
            asset: Some("usdt".into()),
            address: Some("0xabc".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_withdrawal_keeps_its_decimal_amount() {
        let e = base().validate(1_000).unwrap();
        assert_eq!(e.money, Some(Money { amount: "1250.5".parse().unwrap(), asset: "USDT".into() }));
        assert_eq!(e.kind, EventKind::WithdrawalRequested);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(EventInput, &str, &str)> = vec![
            (EventInput { kind: Some("logged_in".into()), ..base() }, "kind", "unknown_kind"),
            (EventInput { id: None, ..base() }, "id", "required"),
            (EventInput { amount: Some("12,5".into()), ..base() }, "amount", "invalid_amount"),
            (EventInput { amount: Some("1e5".into()), ..base() }, "amount", "invalid_amount"),
            (EventInput { amount: Some("-3".into()), ..base() }, "amount", "invalid_amount"),
            (EventInput { amount: Some("50000000000000000000000000000".into()), ..base() }, "amount", "invalid_amount"),
            (
                EventInput { amount: Some("0.0000000000000000000000000001".into()), ..base() },
                "amount",
                "invalid_amount",
            ),
            (EventInput { amount: None, asset: None, ..base() }, "amount", "required"),
            (EventInput { occurred_at_ms: Some(1_000 + MAX_FUTURE_MS + 1), ..base() }, "occurred_at", "in_future"),
            (EventInput { ip: Some("999.1.1.1".into()), ..base() }, "ip", "invalid_ip"),
            (EventInput { address: None, ..base() }, "address", "required"),
            (
                EventInput { geo: Some(Geo { lat: Some(95.0), lon: Some(0.0), ..Default::default() }), ..base() },
                "geo.lat",
                "out_of_range",
            ),
            (
                EventInput { geo: Some(Geo { country: Some("China".into()), ..Default::default() }), ..base() },
                "geo.country",
                "invalid_country",
            ),
            (EventInput { kind: Some("device_flagged".into()), ..base() }, "flags", "required"),
            (EventInput { flags: vec!["jailbroken".into()], ..base() }, "flags", "unknown_flag"),
        ];
        for (input, field, code) in cases {
            let e = input.validate(1_000).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (field, code));
        }
    }

    #[test]
    fn events_slightly_in_the_future_are_accepted_for_clock_skew() {
        assert!(EventInput { occurred_at_ms: Some(1_000 + MAX_FUTURE_MS), ..base() }.validate(1_000).is_ok());
    }
}
