//! The event decoder of `POST /api/v1/events` (and of each item of a batch): the same two steps
//! the API takes — `thaw_domain::json::decode` into an `EventBody`, then `EventBody::validate`.
//! Any bytes are either accepted as a JSON object of known fields, or refused as not JSON (and
//! then they truly are not) or as JSON that is not an object, or refused with an error that names
//! a field of the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use thaw_domain::json::{JsonError, decode};
use thaw_domain::risk::EventBody;
use thaw_domain::risk::event::MAX_FUTURE_MS;

/// 2026-11-21T08:30:00Z.
const NOW_MS: i64 = 1_795_249_800_000;

const FIELDS: &[&str] = &[
    "id",
    "account_id",
    "kind",
    "occurred_at",
    "ip",
    "device_id",
    "user_agent",
    "geo",
    "amount",
    "asset",
    "address",
    "network",
    "flags",
    "metadata",
];
const GEO_FIELDS: &[&str] = &["country", "city", "lat", "lon"];

/// Whether `field` (a path such as `geo.lat` or `flags[2]`) names a field of the body: a known
/// one, or an unknown key the body really holds, named as written.
fn names_a_field(field: &str, json: Option<&Value>, data: &[u8]) -> bool {
    // An unknown top-level key is named as written, dots included.
    if held(json, field, data) {
        return true;
    }
    let (parent, key) = match field.split_once('.') {
        Some(("geo", key)) => (json.map(|j| &j["geo"]), key),
        Some(_) => return false,
        None => (json, field.split('[').next().unwrap_or_default()),
    };
    let known = if field.starts_with("geo.") { GEO_FIELDS } else { FIELDS };
    if known.contains(&key) {
        return true;
    }
    held(parent, key, data)
}

/// Whether `object` holds `key`, or else the bytes do, as written or with escapes: JSON cut off
/// after the key, or a key repeated, the last value winning in `object`.
fn held(object: Option<&Value>, key: &str, data: &[u8]) -> bool {
    let quoted = format!("\"{key}\"");
    object.is_some_and(|o| o.get(key).is_some())
        || data.windows(quoted.len()).any(|w| w == quoted.as_bytes())
        || data.contains(&b'\\')
}

fuzz_target!(|data: &[u8]| {
    let json: Option<Value> = serde_json::from_slice(data).ok();
    let body: EventBody = match decode(data) {
        Ok(body) => body,
        Err(JsonError::Malformed(message)) => {
            assert!(json.is_none(), "valid JSON called malformed ({message})");
            return;
        }
        Err(JsonError::NotAnObject) => {
            assert!(json.is_some_and(|j| !j.is_object()), "refused as not an object");
            return;
        }
        Err(JsonError::Shape { field, message }) => {
            assert!(!message.is_empty());
            assert!(names_a_field(&field, json.as_ref(), data), "shape error naming {field:?} ({message})");
            return;
        }
    };
    let object = json.as_ref().and_then(Value::as_object).expect("an accepted body is a JSON object");
    assert!(object.keys().all(|k| FIELDS.contains(&k.as_str())), "accepted with an unknown field: {object:?}");

    let canonical = body.canonical();
    let again: EventBody = decode(canonical.as_bytes()).expect("the canonical form decodes");
    assert_eq!(again.canonical(), canonical, "the canonical form is not stable");

    match body.validate(NOW_MS) {
        Ok(event) => {
            assert_eq!(event.id, body.id);
            assert_eq!(event.kind.code(), body.kind);
            assert!(event.occurred_at_ms <= NOW_MS + MAX_FUTURE_MS, "accepted from the future");
            if event.kind.needs_amount() {
                assert!(event.money.is_some(), "{} without an amount", body.kind);
            }
        }
        Err(invalid) => {
            assert!(names_a_field(&invalid.field, json.as_ref(), data), "invalid names {:?}", invalid.field);
            assert!(!invalid.message.is_empty() && !invalid.code.is_empty());
        }
    }
});
