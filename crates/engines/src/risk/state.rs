//! What the detectors remember about an account between events: recent sign-ins with their
//! places, known devices and countries, failures in the window, the last credential change,
//! recent money movements and the last activity. Bounded, so it stays small; stored as JSON
//! with the account and updated in the event's transaction.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use thaw_domain::risk::EventKind;

pub const MAX_LOGINS: usize = 8;
pub const MAX_DEVICES: usize = 32;
pub const MAX_COUNTRIES: usize = 16;
pub const MAX_ADDRESSES: usize = 32;
pub const MAX_TXS: usize = 64;
pub const MAX_RECENT: usize = 256;
pub const RECENT_WINDOW_MS: i64 = 7 * 86_400_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AccountState {
    #[serde(default)]
    pub logins: VecDeque<Login>,
    #[serde(default)]
    pub devices: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    /// Devices and countries seen at a sign-in that was challenged; known once a challenge passes.
    #[serde(default)]
    pub pending_devices: Vec<String>,
    #[serde(default)]
    pub pending_countries: Vec<String>,
    #[serde(default)]
    pub failures: VecDeque<Failure>,
    #[serde(default)]
    pub credential_change: Option<CredentialChange>,
    /// Deposits, withdrawals and P2P orders (not trades) of the lookback window, newest last.
    #[serde(default)]
    pub txs: VecDeque<Tx>,
    /// Kinds and times of the last week's events, for counting in operators' rules.
    #[serde(default)]
    pub recent: VecDeque<(EventKind, i64)>,
    #[serde(default)]
    pub last_activity_at: Option<i64>,
    /// When the account came back after a dormant spell, and when it was last active before.
    #[serde(default)]
    pub woke: Option<(i64, i64)>,
    /// Until when the last sign-in hold for failed logins runs.
    #[serde(default)]
    pub login_hold_until: Option<i64>,
    #[serde(default)]
    pub first_seen_at: Option<i64>,
    /// Withdrawal destinations used before (lower-cased), newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub at: i64,
    pub ip: Option<std::net::IpAddr>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub at: i64,
    pub ip: std::net::IpAddr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialChange {
    pub kind: EventKind,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tx {
    pub at: i64,
    pub kind: EventKind,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub asset: AssetCode,
}

/// An asset code (at most 16 ASCII characters, as events are validated) packed into one
/// integer, so the detectors' scans over recent transactions compare numbers, not strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssetCode(u128);

impl AssetCode {
    pub fn new(s: &str) -> AssetCode {
        let mut b = [0u8; 16];
        for (i, c) in s.bytes().take(16).enumerate() {
            b[i] = c;
        }
        AssetCode(u128::from_le_bytes(b))
    }

    pub fn as_string(&self) -> String {
        self.0.to_le_bytes().iter().take_while(|b| **b != 0).map(|b| *b as char).collect()
    }
}

impl Serialize for AssetCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

impl<'de> Deserialize<'de> for AssetCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AssetCode, D::Error> {
        let s = String::deserialize(d)?;
        Ok(AssetCode::new(&s))
    }
}

/// Pushes onto a bounded queue, dropping the oldest entry when full.
pub(crate) fn push_bounded<T>(v: &mut VecDeque<T>, item: T, max: usize) {
    if v.len() >= max {
        v.pop_front();
    }
    v.push_back(item);
}

/// Remembers a value once, as the newest, in a bounded list.
pub(crate) fn remember(v: &mut Vec<String>, item: &str, max: usize) {
    match v.iter().position(|x| x == item) {
        Some(pos) if pos + 1 == v.len() => {}
        Some(pos) => {
            let x = v.remove(pos);
            v.push(x);
        }
        None => {
            if v.len() >= max {
                v.remove(0);
            }
            v.push(item.to_string());
        }
    }
}

impl AccountState {
    /// Forgets what has left every window, relative to `now_ms`.
    /// Entries are appended in time order, so the oldest sit at the front; an entry that
    /// arrived out of order may linger a little, which every reader tolerates by filtering on time.
    pub fn prune(&mut self, now_ms: i64, failure_window_ms: i64, tx_window_ms: i64) {
        while self.failures.front().is_some_and(|f| f.at <= now_ms - failure_window_ms) {
            self.failures.pop_front();
        }
        while self.txs.front().is_some_and(|t| t.at <= now_ms - tx_window_ms) {
            self.txs.pop_front();
        }
        while self.recent.front().is_some_and(|(_, at)| *at <= now_ms - RECENT_WINDOW_MS) {
            self.recent.pop_front();
        }
    }

    /// Events of `kind` (any when None) after `since_ms`, scanning back from the newest.
    pub fn count_recent(&self, kind: Option<EventKind>, since_ms: i64) -> i64 {
        self.recent
            .iter()
            .rev()
            .take_while(|(_, at)| *at > since_ms)
            .filter(|(k, _)| kind.is_none_or(|want| *k == want))
            .count() as i64
    }
}
