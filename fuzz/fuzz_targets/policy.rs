//! The risk policy parser (`thaw policy check`, the policy file of `thaw serve`): any text either
//! becomes a policy or is refused with errors whose line numbers lie inside the file. A policy
//! that loads must then run: a day of events goes through the engine without a panic, and every
//! decision that holds or blocks gives its reasons.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thaw_domain::risk::{Action, EventBody};
use thaw_engines::risk::{AccountState, Engine, Policy, Profile};

/// 2026-11-21T08:30:00Z.
const NOW_MS: i64 = 1_795_249_800_000;

/// A day in the life of an account: sign-ins from two continents, failures, a password change
/// and withdrawals just under and far over the usual thresholds.
const EVENTS: &[&str] = &[
    r#"{"id":"e1","account_id":"u-1","kind":"login_succeeded","occurred_at":"2026-11-20T08:00:00Z","ip":"203.0.113.7","device_id":"d-1","geo":{"country":"CN","city":"Shanghai","lat":31.23,"lon":121.47}}"#,
    r#"{"id":"e2","account_id":"u-1","kind":"deposit","occurred_at":"2026-11-20T08:05:00Z","amount":"20000","asset":"USDT"}"#,
    r#"{"id":"e3","account_id":"u-1","kind":"withdrawal_requested","occurred_at":"2026-11-20T09:00:00Z","amount":"9500","asset":"USDT","address":"0xabc","network":"ERC20"}"#,
    r#"{"id":"e4","account_id":"u-1","kind":"withdrawal_requested","occurred_at":"2026-11-20T09:10:00Z","amount":"9600","asset":"USDT","address":"0xabc"}"#,
    r#"{"id":"e5","account_id":"u-1","kind":"login_failed","occurred_at":"2026-11-20T10:00:00Z","ip":"198.51.100.9"}"#,
    r#"{"id":"e6","account_id":"u-1","kind":"login_failed","occurred_at":"2026-11-20T10:00:01Z","ip":"198.51.100.9"}"#,
    r#"{"id":"e7","account_id":"u-1","kind":"password_changed","occurred_at":"2026-11-20T11:00:00Z"}"#,
    r#"{"id":"e8","account_id":"u-1","kind":"login_succeeded","occurred_at":"2026-11-20T12:00:00Z","ip":"192.0.2.44","device_id":"d-2","geo":{"country":"DE","city":"Berlin","lat":52.52,"lon":13.40}}"#,
    r#"{"id":"e9","account_id":"u-1","kind":"device_flagged","occurred_at":"2026-11-20T12:01:00Z","device_id":"d-2","flags":["tor","vpn"]}"#,
    r#"{"id":"e10","account_id":"u-1","kind":"withdrawal_requested","occurred_at":"2026-11-20T12:05:00Z","amount":"999999","asset":"USDT","address":"0x7F367cC41522cE07553e823bf3be79A889DEbe1B"}"#,
    r#"{"id":"e11","account_id":"u-1","kind":"trade","occurred_at":"2026-11-21T08:00:00Z","amount":"0.5","asset":"BTC","ip":"10.1.2.3"}"#,
    r#"{"id":"e12","account_id":"u-1","kind":"address_added","occurred_at":"2026-11-21T08:29:00Z","address":"TXYZ","network":"TRC20"}"#,
];

fn read_file(name: &str) -> Result<String, String> {
    match name {
        "extra.txt" => Ok("0xFEED\n# a comment\nTXYZ\n".into()),
        "ips.txt" => Ok("10.0.0.0/8\n203.0.113.0/24\n".into()),
        _ => Err(format!("{name}: no such file")),
    }
}

fuzz_target!(|data: &[u8]| {
    // A policy file is text: the server and `thaw policy check` refuse other bytes before parsing.
    let Ok(src) = std::str::from_utf8(data) else { return };
    match Policy::parse(src, &read_file) {
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            let lines = src.matches('\n').count() + 1;
            for e in &errors {
                assert!(
                    (1..=lines).contains(&e.line),
                    "line {} outside a file of {lines} lines: {}",
                    e.line,
                    e.message
                );
                assert!(!e.message.trim().is_empty(), "an error without a message at line {}", e.line);
            }
        }
        Ok(policy) => {
            let engine = Engine::new(policy);
            let profile = Profile { kyc_level: 2, vip_level: 0, created_at_ms: NOW_MS - 400 * 86_400_000 };
            let mut state = AccountState::default();
            for raw in EVENTS {
                let body: EventBody = thaw_domain::json::decode(raw.as_bytes()).expect("the sample events decode");
                let event = body.validate(NOW_MS).expect("the sample events are valid");
                let outcome = engine.evaluate(&event, &profile, &mut state, NOW_MS);
                if outcome.action >= Action::Hold || !outcome.holds.is_empty() {
                    assert!(!outcome.reasons.is_empty(), "{:?} without a reason for {raw}", outcome.action);
                }
            }
        }
    }
});
