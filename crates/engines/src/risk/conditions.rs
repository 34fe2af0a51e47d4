//! Operators' rule conditions: field–operator–value tests over the event and the account,
//! counts of recent events, times since something happened, combined with all / any / not.

use super::engine::Profile;
use super::lists::Cidr;
use super::state::AccountState;
use rust_decimal::Decimal;
use std::str::FromStr;
use thaw_domain::risk::{Event, EventKind};

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Kind,
    Amount,
    Asset,
    Ip,
    Country,
    City,
    DeviceId,
    Network,
    Address,
    UserAgent,
    Flags,
    HourUtc,
    Metadata(String),
    KycLevel,
    VipLevel,
    AgeDays,
    FailedLogins,
    DaysInactive,
    Withdrawals24h,
    Withdrawn24h,
    KnownDevice,
    KnownCountry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Bool,
    Ip,
    List,
    Any,
}

impl Field {
    pub const NAMES: &'static [&'static str] = &[
        "event.kind",
        "event.amount",
        "event.asset",
        "event.ip",
        "event.country",
        "event.city",
        "event.device_id",
        "event.network",
        "event.address",
        "event.user_agent",
        "event.flags",
        "event.hour_utc",
        "event.metadata.<key>",
        "account.kyc_level",
        "account.vip_level",
        "account.age_days",
        "account.failed_logins",
        "account.days_inactive",
        "account.withdrawals_24h",
        "account.withdrawn_24h",
        "account.known_device",
        "account.known_country",
    ];

    pub fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "event.kind" => Field::Kind,
            "event.amount" => Field::Amount,
            "event.asset" => Field::Asset,
            "event.ip" => Field::Ip,
            "event.country" => Field::Country,
            "event.city" => Field::City,
            "event.device_id" => Field::DeviceId,
            "event.network" => Field::Network,
            "event.address" => Field::Address,
            "event.user_agent" => Field::UserAgent,
            "event.flags" => Field::Flags,
            "event.hour_utc" => Field::HourUtc,
            "account.kyc_level" => Field::KycLevel,
            "account.vip_level" => Field::VipLevel,
            "account.age_days" => Field::AgeDays,
            "account.failed_logins" => Field::FailedLogins,
            "account.days_inactive" => Field::DaysInactive,
            "account.withdrawals_24h" => Field::Withdrawals24h,
            "account.withdrawn_24h" => Field::Withdrawn24h,
            "account.known_device" => Field::KnownDevice,
            "account.known_country" => Field::KnownCountry,
            other => {
                let key = other.strip_prefix("event.metadata.")?;
                if key.is_empty() {
                    return None;
                }
                Field::Metadata(key.to_string())
            }
        })
    }

    pub fn kind(&self) -> FieldType {
        match self {
            Field::Kind
            | Field::Asset
            | Field::Country
            | Field::City
            | Field::DeviceId
            | Field::Network
            | Field::Address
            | Field::UserAgent => FieldType::Text,
            Field::Amount
            | Field::HourUtc
            | Field::KycLevel
            | Field::VipLevel
            | Field::AgeDays
            | Field::FailedLogins
            | Field::DaysInactive
            | Field::Withdrawals24h
            | Field::Withdrawn24h => FieldType::Number,
            Field::KnownDevice | Field::KnownCountry => FieldType::Bool,
            Field::Ip => FieldType::Ip,
            Field::Flags => FieldType::List,
            Field::Metadata(_) => FieldType::Any,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
    InCidr,
    NotInCidr,
    Contains,
    NotContains,
}

impl Op {
    pub const NAMES: &'static [&'static str] =
        &["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "in_cidr", "not_in_cidr", "contains", "not_contains"];

    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            "in_cidr" => Op::InCidr,
            "not_in_cidr" => Op::NotInCidr,
            "contains" => Op::Contains,
            "not_contains" => Op::NotContains,
            _ => return None,
        })
    }

    fn compare(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ord == Equal,
            Op::Ne => ord != Equal,
            Op::Lt => ord == Less,
            Op::Lte => ord != Greater,
            Op::Gt => ord == Greater,
            Op::Gte => ord != Less,
            _ => false,
        }
    }
}

/// A rule's comparison value, typed when the rule is compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(Decimal),
    Bool(bool),
    Texts(Vec<String>),
    /// Event kinds, compiled from names so that the test is a comparison of numbers.
    Kinds(Vec<EventKind>),
    Numbers(Vec<Decimal>),
    Cidrs(Vec<Cidr>),
}

/// What `since` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    CredentialChange,
    LastLogin,
    LastActivity,
    AccountCreated,
}

impl Since {
    pub fn parse(s: &str) -> Option<Since> {
        Some(match s {
            "credential_change" => Since::CredentialChange,
            "last_login" => Since::LastLogin,
            "last_activity" => Since::LastActivity,
            "account_created" => Since::AccountCreated,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Test {
        field: Field,
        op: Op,
        value: Value,
    },
    /// Events of `kind` (any kind when None) in the last `within_ms`, this one included.
    Count {
        kind: Option<EventKind>,
        within_ms: i64,
        op: Op,
        value: i64,
    },
    /// Time since something happened; false when it never did.
    Since {
        what: Since,
        op: Op,
        value_ms: i64,
    },
}

/// The inputs a condition looks at.
pub struct Subject<'a> {
    pub event: &'a Event,
    pub profile: &'a Profile,
    /// The state before this event; counts add the event itself.
    pub before: &'a AccountState,
    pub now_ms: i64,
    /// How long failed sign-ins count (the policy's `failed_logins.window`).
    pub failure_window_ms: i64,
}

enum Got<'a> {
    Text(&'a str),
    Number(Decimal),
    Bool(bool),
    Ip(std::net::IpAddr),
    Flags,
    None,
}

impl Subject<'_> {
    pub fn number(&self, f: &Field) -> Option<Decimal> {
        match self.get(f) {
            Got::Number(n) => Some(n),
            _ => None,
        }
    }

    fn get(&self, f: &Field) -> Got<'_> {
        fn text(o: Option<&str>) -> Got<'_> {
            o.map(Got::Text).unwrap_or(Got::None)
        }
        let e = self.event;
        let day = 86_400_000;
        match f {
            Field::Kind => Got::Text(e.kind.code()),
            Field::Amount => e.money.as_ref().map(|m| Got::Number(m.amount)).unwrap_or(Got::None),
            Field::Asset => text(e.money.as_ref().map(|m| m.asset.as_str())),
            Field::Ip => e.ip.map(Got::Ip).unwrap_or(Got::None),
            Field::Country => text(e.geo.as_ref().and_then(|g| g.country.as_deref())),
            Field::City => text(e.geo.as_ref().and_then(|g| g.city.as_deref())),
            Field::DeviceId => text(e.device_id.as_deref()),
            Field::Network => text(e.network.as_deref()),
            Field::Address => text(e.address.as_deref()),
            Field::UserAgent => text(e.user_agent.as_deref()),
            Field::Flags => Got::Flags,
            Field::HourUtc => Got::Number(Decimal::from(e.occurred_at_ms.rem_euclid(day) / 3_600_000)),
            Field::Metadata(k) => match e.metadata.get(k) {
                Some(serde_json::Value::String(s)) => Got::Text(s),
                Some(serde_json::Value::Number(n)) => {
                    Decimal::from_str(&n.to_string()).map(Got::Number).unwrap_or(Got::None)
                }
                Some(serde_json::Value::Bool(b)) => Got::Bool(*b),
                _ => Got::None,
            },
            Field::KycLevel => Got::Number(Decimal::from(self.profile.kyc_level)),
            Field::VipLevel => Got::Number(Decimal::from(self.profile.vip_level)),
            Field::AgeDays => Got::Number(Decimal::from((self.now_ms - self.profile.created_at_ms).max(0) / day)),
            Field::FailedLogins => {
                let this = matches!(e.kind, EventKind::LoginFailed | EventKind::ChallengeFailed) as i64;
                let since = e.occurred_at_ms - self.failure_window_ms;
                Got::Number(Decimal::from(self.before.failures.iter().filter(|f| f.at > since).count() as i64 + this))
            }
            Field::DaysInactive => self
                .before
                .last_activity_at
                .map(|at| Got::Number(Decimal::from((e.occurred_at_ms - at).max(0) / day)))
                .unwrap_or(Got::None),
            Field::Withdrawals24h => {
                let this = (e.kind == EventKind::WithdrawalRequested) as i64;
                let earlier = self
                    .before
                    .txs
                    .iter()
                    .filter(|t| t.kind == EventKind::WithdrawalRequested && t.at > e.occurred_at_ms - day)
                    .count() as i64;
                Got::Number(Decimal::from(earlier + this))
            }
            Field::Withdrawn24h => match &e.money {
                Some(m) => {
                    let this = if e.kind == EventKind::WithdrawalRequested { m.amount } else { Decimal::ZERO };
                    let asset = super::state::AssetCode::new(&m.asset);
                    let earlier: Decimal = self
                        .before
                        .txs
                        .iter()
                        .filter(|t| {
                            t.kind == EventKind::WithdrawalRequested
                                && t.at > e.occurred_at_ms - day
                                && t.asset == asset
                        })
                        .try_fold(Decimal::ZERO, |acc, t| acc.checked_add(t.amount))
                        .unwrap_or(Decimal::MAX);
                    Got::Number(earlier.checked_add(this).unwrap_or(Decimal::MAX))
                }
                None => Got::None,
            },
            Field::KnownDevice => match &e.device_id {
                Some(d) => Got::Bool(super::state::knows(&self.before.devices, d)),
                None => Got::None,
            },
            Field::KnownCountry => match e.geo.as_ref().and_then(|g| g.country.as_ref()) {
                Some(c) => Got::Bool(super::state::knows(&self.before.countries, c)),
                None => Got::None,
            },
        }
    }
}

impl Cond {
    pub fn eval(&self, s: &Subject<'_>) -> bool {
        match self {
            Cond::All(cs) => cs.iter().all(|c| c.eval(s)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(s)),
            Cond::Not(c) => !c.eval(s),
            Cond::Test { field, op, value } => test(s, field, *op, value),
            Cond::Count { kind, within_ms, op, value } => {
                let this = kind.is_none_or(|k| k == s.event.kind) as i64;
                let n = s.before.count_recent(*kind, s.event.occurred_at_ms - within_ms) + this;
                op.compare(n.cmp(value))
            }
            Cond::Since { what, op, value_ms } => {
                let at = match what {
                    Since::CredentialChange => s.before.credential_change.as_ref().map(|c| c.at),
                    Since::LastLogin => s.before.logins.back().map(|l| l.at),
                    Since::LastActivity => s.before.last_activity_at,
                    Since::AccountCreated => Some(s.profile.created_at_ms),
                };
                at.is_some_and(|at| op.compare((s.event.occurred_at_ms - at).cmp(value_ms)))
            }
        }
    }
}

fn test(s: &Subject<'_>, field: &Field, op: Op, value: &Value) -> bool {
    if let Value::Kinds(kinds) = value {
        let hit = kinds.contains(&s.event.kind);
        return if matches!(op, Op::Eq | Op::In) { hit } else { !hit };
    }
    match (s.get(field), value) {
        (Got::None, _) => false,
        (Got::Text(t), Value::Text(v)) => op.compare(t.cmp(v.as_str())),
        (Got::Text(t), Value::Texts(vs)) => (op == Op::In) == vs.iter().any(|v| v == t),
        (Got::Number(n), Value::Number(v)) => op.compare(n.cmp(v)),
        (Got::Number(n), Value::Numbers(vs)) => (op == Op::In) == vs.contains(&n),
        (Got::Bool(b), Value::Bool(v)) => op.compare(b.cmp(v)),
        (Got::Ip(ip), Value::Cidrs(cs)) => (op == Op::InCidr) == cs.iter().any(|c| c.contains(ip)),
        (Got::Ip(ip), Value::Text(v)) => op.compare(ip.to_string().as_str().cmp(v.as_str())),
        (Got::Flags, Value::Text(v)) => (op == Op::Contains) == s.event.flags.iter().any(|f| f.code() == v),
        _ => false,
    }
}
