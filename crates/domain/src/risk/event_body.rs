//! An event as the platform sends it to `POST /api/v1/events` (JSON), and the one way it becomes a
//! validated [`Event`]: [`crate::json::decode`] into an [`EventBody`], then [`EventBody::validate`].
//! The HTTP layer and the event decoder's fuzz target both go through these two steps.

use super::event::{Event, EventInput, Geo};
use crate::Invalid;
use serde::{Deserialize, Serialize};

/// Where the event happened, as sent.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GeoBody {
    /// ISO 3166 two-letter code, e.g. `CN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

/// One event from the platform. Its canonical JSON ([`EventBody::canonical`]) is what the
/// idempotency check compares, so the field order and omissions here are part of the contract.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// The platform's id of the event: the idempotency key.
    #[cfg_attr(feature = "openapi", schema(example = "evt-20261121-000123"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "u-1001"))]
    pub account_id: String,
    /// login_succeeded, login_failed, challenge_passed, challenge_failed, password_changed,
    /// mfa_changed, email_changed, phone_changed, device_flagged, deposit, withdrawal_requested,
    /// trade, p2p_order or address_added.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "withdrawal_requested",
            pattern = "^(login_succeeded|login_failed|challenge_passed|challenge_failed|password_changed|mfa_changed|email_changed|phone_changed|device_flagged|deposit|withdrawal_requested|trade|p2p_order|address_added)$"
        )
    )]
    pub kind: String,
    /// RFC 3339; at most 5 minutes in the future.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-21T08:30:00Z"))]
    pub occurred_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoBody>,
    /// A decimal string, e.g. `"1250.50"`; required for deposit, withdrawal_requested, trade, p2p_order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "1250.50"))]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "USDT"))]
    pub asset: Option<String>,
    /// Destination address (withdrawal_requested, address_added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// For device_flagged: root, emulator, vpn, tor, cloud.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Free metadata, up to 8 KiB.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl EventBody {
    /// The event, validated against the clock `now_ms`; a failure names its field.
    pub fn validate(&self, now_ms: i64) -> Result<Event, Invalid> {
        self.to_input()?.validate(now_ms)
    }

    /// The body as compact JSON: the fingerprint an idempotent replay is compared by.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("an event body always serialises")
    }

    fn to_input(&self) -> Result<EventInput, Invalid> {
        let occurred_at_ms = self.occurred_at.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| {
            Invalid::new(
                "occurred_at",
                "invalid_time",
                "occurred_at must be an RFC 3339 time such as 2026-11-21T08:30:00Z",
            )
        })?;
        Ok(EventInput {
            id: Some(self.id.clone()),
            account_id: Some(self.account_id.clone()),
            kind: Some(self.kind.clone()),
            occurred_at_ms: Some(occurred_at_ms),
            ip: self.ip.clone(),
            device_id: self.device_id.clone(),
            user_agent: self.user_agent.clone(),
            geo: self.geo.clone().map(|g| Geo { country: g.country, city: g.city, lat: g.lat, lon: g.lon }),
            amount: self.amount.clone(),
            asset: self.asset.clone(),
            address: self.address.clone(),
            network: self.network.clone(),
            flags: self.flags.clone(),
            metadata: self.metadata.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{JsonError, decode};

    const WITHDRAWAL: &str = r#"{"id":"evt-1","account_id":"u-1","kind":"withdrawal_requested","occurred_at":"2026-11-21T08:30:00Z","amount":"1250.50","asset":"usdt","address":"0xabc"}"#;

    #[test]
    fn a_valid_body_becomes_an_event_and_keeps_its_canonical_form() {
        let body: EventBody = decode(WITHDRAWAL.as_bytes()).unwrap();
        let event = body.validate(1_800_000_000_000).unwrap();
        assert_eq!(event.occurred_at_ms, 1_795_249_800_000);
        assert_eq!(event.money.map(|m| m.asset), Some("USDT".to_string()));
        assert_eq!(body.canonical(), WITHDRAWAL);
    }

    #[test]
    fn the_canonical_form_of_a_canonical_form_is_itself() {
        // Found by fuzzing: without exact float parsing a long latitude came back 1 ULP apart.
        let long = WITHDRAWAL.replace(r#""amount""#, r#""geo":{"lat":35555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555551.23,"lon":121.47},"amount""#);
        let once = decode::<EventBody>(long.as_bytes()).unwrap().canonical();
        let twice = decode::<EventBody>(once.as_bytes()).unwrap().canonical();
        assert_eq!(twice, once);
        let a =
            decode::<EventBody>(WITHDRAWAL.replace("0xabc\"", "0xabc\",\"geo\":{\"lat\":31.23,\"lon\":1}").as_bytes());
        let b = decode::<EventBody>(
            WITHDRAWAL.replace("0xabc\"", "0xabc\",\"geo\":{\"lat\":31.230000000000001,\"lon\":1}").as_bytes(),
        );
        assert_eq!(a.unwrap().canonical(), b.unwrap().canonical());
    }

    #[test]
    fn a_bad_time_and_an_unknown_field_are_named() {
        let body: EventBody = decode(WITHDRAWAL.replace("2026-11-21T08:30:00Z", "yesterday").as_bytes()).unwrap();
        assert_eq!(body.validate(0).unwrap_err().field, "occurred_at");
        let e = decode::<EventBody>(WITHDRAWAL.replace("\"amount\"", "\"amt\"").as_bytes()).unwrap_err();
        assert!(matches!(e, JsonError::Shape { field, .. } if field == "amt"));
        let e =
            decode::<EventBody>(br#"{"id":"e","account_id":"u","kind":"trade","occurred_at":"x","geo":{"lat":"n"}}"#)
                .unwrap_err();
        assert!(matches!(e, JsonError::Shape { field, .. } if field == "geo.lat"));
    }
}
