//! What the detectors remember about an account between events: recent sign-ins with their
//! places, known devices and countries, failures in the window, the last credential change,
//! recent money movements and the last activity. Bounded, so it stays small; stored as JSON
//! with the account and updated in the event's transaction.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::VecDeque;
use thaw_domain::risk::EventKind;

pub const MAX_LOGINS: usize = 8;
pub const MAX_DEVICES: usize = 32;
pub const MAX_COUNTRIES: usize = 16;
pub const MAX_ADDRESSES: usize = 32;
pub const MAX_TXS: usize = 64;
pub const MAX_RECENT: usize = 256;
pub const RECENT_WINDOW_MS: i64 = 7 * 86_400_000;

/// Names remembered in a list (devices, countries, addresses): the first two inline, so that
/// the usual account's lookups read no memory outside the state.
pub type Tags = SmallVec<[Tag; 2]>;

/// The fields every event reads come first and are laid out in this order (`repr(C)`), so that
/// an account's state read from memory the processor has not seen lately costs few cache lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[repr(C)]
pub struct AccountState {
    /// Kinds and times of the last week's events, for counting in operators' rules.
    #[serde(default)]
    pub recent: VecDeque<Recent>,
    #[serde(default)]
    pub last_activity_at: Option<i64>,
    #[serde(default)]
    pub first_seen_at: Option<i64>,
    #[serde(default)]
    pub logins: VecDeque<Login>,
    #[serde(default)]
    pub devices: Tags,
    #[serde(default)]
    pub countries: Tags,
    #[serde(default)]
    pub failures: VecDeque<Failure>,
    /// Deposits, withdrawals and P2P orders (not trades) of the lookback window, newest last.
    #[serde(default)]
    pub txs: VecDeque<Tx>,
    /// Withdrawal destinations used before (lower-cased), newest last.
    #[serde(default, skip_serializing_if = "SmallVec::is_empty")]
    pub addresses: Tags,
    #[serde(default)]
    pub credential_change: Option<CredentialChange>,
    /// When the account came back after a dormant spell, and when it was last active before.
    #[serde(default)]
    pub woke: Option<(i64, i64)>,
    /// Until when the last sign-in hold for failed logins runs.
    #[serde(default)]
    pub login_hold_until: Option<i64>,
    /// Devices and countries seen at a sign-in that was challenged; known once a challenge passes.
    #[serde(default)]
    pub pending_devices: Tags,
    #[serde(default)]
    pub pending_countries: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub at: i64,
    pub ip: Option<std::net::IpAddr>,
    pub country: Option<Short>,
    pub city: Option<Short>,
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

/// A text kept inline when it is short (countries, cities, most device ids), so that reading
/// it follows no pointer into memory the processor has not seen lately; longer ones are boxed.
/// Stored as the plain text.
#[derive(Clone, PartialEq, Eq)]
pub enum Short {
    Inline { len: u8, bytes: [u8; SHORT] },
    Boxed(Box<str>),
}

/// The longest text a [`Short`] keeps inline (the enum is then as large as a `String`).
const SHORT: usize = 22;

impl Short {
    pub fn new(text: &str) -> Short {
        if text.len() <= SHORT {
            let mut bytes = [0; SHORT];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Short::Inline { len: text.len() as u8, bytes }
        } else {
            Short::Boxed(text.into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Short::Inline { len, bytes } => &bytes[..*len as usize],
            Short::Boxed(b) => b.as_bytes(),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Short::Inline { len, bytes } => std::str::from_utf8(&bytes[..*len as usize]).unwrap_or_default(),
            Short::Boxed(b) => b,
        }
    }
}

impl std::fmt::Debug for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl Serialize for Short {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Short {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Short, D::Error> {
        Ok(Short::new(&<std::borrow::Cow<'de, str>>::deserialize(d)?))
    }
}

/// A remembered name (a device, a country, an address) with a hash of it beside it, so that a
/// lookup in a list of them compares numbers, and reads the text only of the one that matches
/// (inline when short). Stored as the plain text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    hash: u64,
    text: Short,
}

impl Tag {
    pub fn new(text: &str) -> Tag {
        Tag { hash: tag_hash(text), text: Short::new(text) }
    }

    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }
}

impl Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Tag, D::Error> {
        let text = Short::deserialize(d)?;
        Ok(Tag { hash: tag_hash(text.as_str()), text })
    }
}

/// A fast, stable hash of a short text (FxHash's mixing, eight bytes at a time). Only used to
/// tell texts apart quickly; equal hashes are confirmed by comparing the texts.
fn tag_hash(text: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = text.len() as u64;
    let mut chunks = text.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("eight bytes"))).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K)
}

/// Where `text` is in `list`, if it is.
pub fn position(list: &[Tag], text: &str) -> Option<usize> {
    let hash = tag_hash(text);
    list.iter().position(|t| t.hash == hash && t.text.as_bytes() == text.as_bytes())
}

/// Whether `list` holds `text`.
pub fn knows(list: &[Tag], text: &str) -> bool {
    position(list, text).is_some()
}

/// An event's kind and time, packed into one number (the time in milliseconds shifted left by
/// eight bits, the kind's index below): the week of events an account keeps stays small.
/// Stored as `[kind, time]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recent(i64);

impl Recent {
    pub fn new(kind: EventKind, at: i64) -> Recent {
        // The kinds are listed in EventKind::ALL in their declaration order (a test checks).
        Recent((at << 8) | kind as i64)
    }

    pub fn at(self) -> i64 {
        self.0 >> 8
    }

    pub fn kind(self) -> EventKind {
        EventKind::ALL[(self.0 & 0xff) as usize]
    }
}

impl Serialize for Recent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.kind(), self.at()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Recent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Recent, D::Error> {
        let (kind, at) = <(EventKind, i64)>::deserialize(d)?;
        Ok(Recent::new(kind, at))
    }
}

/// Pushes onto a bounded queue, dropping the oldest entry when full. A queue that must grow
/// grows to its bound at once: one allocation instead of a doubling at every power of two.
pub(crate) fn push_bounded<T>(v: &mut VecDeque<T>, item: T, max: usize) {
    if v.len() >= max {
        v.pop_front();
    } else if v.len() == v.capacity() {
        v.reserve_exact(max - v.len());
    }
    v.push_back(item);
}

/// Drops entries from the front of a queue kept in time order while `expired` says so.
fn forget_front<T>(v: &mut VecDeque<T>, expired: impl Fn(&T) -> bool) {
    while v.front().is_some_and(&expired) {
        v.pop_front();
    }
}

/// [`push_bounded`], first forgetting the expired entries at the front whenever the queue's
/// length is a multiple of eight, not at every push, so that most pushes do not read the oldest
/// entry (memory the processor has likely not seen lately).
fn push_pruned<T>(v: &mut VecDeque<T>, item: T, max: usize, expired: impl Fn(&T) -> bool) {
    if v.len().is_multiple_of(8) {
        forget_front(v, expired);
    }
    push_bounded(v, item, max);
}

/// Remembers a value once, as the newest, in a bounded list; tells whether it was known before.
pub(crate) fn remember(v: &mut Tags, item: &str, max: usize) -> bool {
    match position(v, item) {
        Some(pos) if pos + 1 == v.len() => true,
        Some(pos) => {
            let x = v.remove(pos);
            v.push(x);
            true
        }
        None => {
            if v.len() >= max {
                v.remove(0);
            }
            v.push(Tag::new(item));
            false
        }
    }
}

impl AccountState {
    /// Forgets the failed sign-ins that have left their window, relative to `now_ms`: called at
    /// each failure, before the detector counts them all. Entries are appended in time order, so
    /// the oldest sit at the front; an entry that arrived out of order may linger a little.
    /// Between failures old ones stay; operators' rules count only those within the window.
    pub fn prune_failures(&mut self, now_ms: i64, window_ms: i64) {
        forget_front(&mut self.failures, |f| f.at <= now_ms - window_ms);
    }

    /// Adds a deposit, withdrawal or P2P order. Those older than `window_ms` are forgotten
    /// every eighth addition (see [`push_pruned`]); every reader looks at the times, so one that
    /// lingers is never counted.
    pub fn add_tx(&mut self, tx: Tx, window_ms: i64) {
        let oldest_kept = tx.at - window_ms;
        push_pruned(&mut self.txs, tx, MAX_TXS, |t| t.at <= oldest_kept);
    }

    /// Adds an event to the week of events kept for counting. Those older than the week are
    /// forgotten every eighth addition (see [`push_pruned`]); counting looks at the times.
    pub fn add_recent(&mut self, kind: EventKind, at: i64) {
        push_pruned(&mut self.recent, Recent::new(kind, at), MAX_RECENT, |r| r.at() <= at - RECENT_WINDOW_MS);
    }

    /// Events of `kind` (any when None) after `since_ms`, scanning back from the newest.
    pub fn count_recent(&self, kind: Option<EventKind>, since_ms: i64) -> i64 {
        self.recent
            .iter()
            .rev()
            .take_while(|r| r.at() > since_ms)
            .filter(|r| kind.is_none_or(|want| r.kind() == want))
            .count() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_events_pack_kind_and_time_and_are_stored_as_pairs() {
        for (i, kind) in EventKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i, "EventKind::ALL is in declaration order");
            for at in [0, 1_800_000_000_123, -86_400_000] {
                let r = Recent::new(kind, at);
                assert_eq!((r.kind(), r.at()), (kind, at));
            }
        }
        let r = Recent::new(EventKind::WithdrawalRequested, 1_800_000_000_123);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"["withdrawal_requested",1800000000123]"#);
        assert_eq!(serde_json::from_str::<Recent>(&json).unwrap(), r);
        // Packed times keep their order.
        assert!(Recent::new(EventKind::AddressAdded, 10).0 < Recent::new(EventKind::LoginSucceeded, 11).0);
    }

    #[test]
    fn tags_are_found_by_their_text_and_stored_as_text() {
        let mut list = Tags::new();
        for d in ["dev-1", "dev-2", "a-device-id-longer-than-eight-bytes", "设备", ""] {
            assert!(!remember(&mut list, d, 4), "{d} is new");
        }
        // The oldest left when the fifth came.
        assert!(!knows(&list, "dev-1"));
        for d in ["dev-2", "a-device-id-longer-than-eight-bytes", "设备", ""] {
            assert!(knows(&list, d), "{d}");
        }
        assert!(!knows(&list, "dev-3") && !knows(&list, "a-device-id-longer-than-eight-byteS"));
        // Remembering again moves it to the newest place.
        assert!(remember(&mut list, "dev-2", 4), "dev-2 was known");
        assert_eq!(list.last().unwrap().as_str(), "dev-2");
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["a-device-id-longer-than-eight-bytes","设备","","dev-2"]"#);
        let back: Tags = serde_json::from_str(&json).unwrap();
        assert_eq!(back, list);
        assert!(knows(&back, "设备"));
    }

    #[test]
    fn short_texts_are_inline_long_ones_boxed_and_both_stored_as_text() {
        for text in [
            "",
            "CN",
            "Frankfurt am Main",
            "二十二字节的城市名",
            "a device id of exactly 22",
            "long-device-3f1c9a7e-3b1d-4c55-9d0e-8c1f2a6b7d90",
        ] {
            let s = Short::new(text);
            assert_eq!(s.as_str(), text);
            assert_eq!(matches!(s, Short::Inline { .. }), text.len() <= SHORT, "{text}");
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<Short>(&json).unwrap(), s);
        }
        assert_eq!(std::mem::size_of::<Short>(), std::mem::size_of::<String>());
        assert_ne!(Short::new("CN"), Short::new("CH"));
    }

    #[test]
    fn bounded_queues_grow_to_their_bound_once_and_drop_the_oldest() {
        let mut q = VecDeque::new();
        push_bounded(&mut q, 1, 5);
        assert!(q.capacity() >= 5);
        for i in 2..=7 {
            push_bounded(&mut q, i, 5);
        }
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![3, 4, 5, 6, 7]);
    }
}
