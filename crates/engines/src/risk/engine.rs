//! The engine: runs the enabled detectors and the operators' rules over one event, takes the
//! most severe action, and records the event in the account's risk state.

use super::conditions::Subject;
use super::detectors;
use super::policy::Policy;
use super::state::{AccountState, AssetCode, Failure, Login, Short, Tx, push_bounded};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use thaw_domain::risk::reason::{fact_decimal, fact_int, fact_str};
use thaw_domain::risk::{Action, Event, EventKind, Facts, HoldOrigin, Money, Reason, ReleasePolicy, ScopeSet};

/// What the engine knows of the account itself.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub kyc_level: i64,
    pub vip_level: i64,
    pub created_at_ms: i64,
}

/// A hold the engine asks to place.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldPlan {
    pub scopes: ScopeSet,
    pub origin: HoldOrigin,
    pub release: ReleasePolicy,
    pub reason: Reason,
    pub confidential: bool,
    pub expires_at_ms: Option<i64>,
    pub cooldown_ms: Option<i64>,
    pub amount: Option<Money>,
}

impl HoldPlan {
    /// A hold placed by the engine on `scopes`: not confidential, no expiry, no cool-down and
    /// no amount unless set with struct update syntax.
    pub fn risk(scopes: ScopeSet, release: ReleasePolicy, reason: &Reason) -> HoldPlan {
        HoldPlan {
            scopes,
            origin: HoldOrigin::Risk,
            release,
            reason: reason.clone(),
            confidential: false,
            expires_at_ms: None,
            cooldown_ms: None,
            amount: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub action: Action,
    pub reasons: Vec<Reason>,
    pub holds: Vec<HoldPlan>,
    /// The owner passed a challenge: holds an owner may lift with one factor can be lifted.
    pub owner_verified: bool,
    /// A withdrawal goes to an address the account has not withdrawn to before.
    pub new_address: bool,
}

impl Outcome {
    pub(crate) fn add(&mut self, action: Action, reason: Reason, hold: Option<HoldPlan>) {
        self.action = self.action.max(action);
        self.reasons.push(reason);
        if let Some(h) = hold {
            self.holds.push(h);
        }
    }
}

/// The facts an operator's rule may name in its explanation.
pub const RULE_FACTS: &[&str] = &[
    "rule",
    "kind",
    "amount",
    "asset",
    "ip",
    "country",
    "city",
    "device_id",
    "network",
    "address",
    "kyc_level",
    "vip_level",
    "age_days",
    "failed_logins",
    "withdrawals_24h",
    "withdrawn_24h",
    "days_inactive",
];

/// The risk engine for one policy. Cheap to share; evaluation does no I/O.
pub struct Engine {
    pub policy: Policy,
}

impl Engine {
    pub fn new(policy: Policy) -> Engine {
        Engine { policy }
    }

    /// Decides on `event` and records it in `state`. `now_ms` is the time of evaluation.
    pub fn evaluate(&self, event: &Event, profile: &Profile, state: &mut AccountState, now_ms: i64) -> Outcome {
        let p = &self.policy;
        let at = event.occurred_at_ms;
        let mut out = Outcome::default();
        // Operators' rules look at the account as it was before this event (counts include it).
        let mut by_rules = Outcome::default();
        if !p.rules.is_empty() {
            self.apply_rules(&mut by_rules, event, profile, state, now_ms);
        }
        let ip_allowed = event.ip.is_some_and(|ip| super::lists::any_contains(&p.lists.allow_ips, ip));
        let address_allowed = event.address.as_deref().is_some_and(|a| p.lists.allow_addresses.contains(a));

        if let Some(ip) = event.ip
            && matches!(event.kind, EventKind::LoginSucceeded | EventKind::LoginFailed | EventKind::WithdrawalRequested)
            && super::lists::any_contains(&p.lists.deny_ips, ip)
        {
            detectors::denied_ip(&mut out, ip);
        }

        match event.kind {
            EventKind::LoginFailed | EventKind::ChallengeFailed => {
                if event.kind == EventKind::ChallengeFailed {
                    // Whoever failed the challenge does not get the device or place trusted later.
                    state.pending_devices.clear();
                    state.pending_countries.clear();
                }
                state.prune_failures(at, p.failed_logins.window_ms);
                if let Some(ip) = event.ip {
                    push_bounded(&mut state.failures, Failure { at, ip }, 256);
                    if p.failed_logins.enabled && !ip_allowed {
                        detectors::failed_logins(&mut out, p, state, ip, at);
                    }
                }
            }
            EventKind::LoginSucceeded => {
                if !ip_allowed {
                    detectors::new_device_and_country(&mut out, p, event, state);
                    if p.impossible_travel.enabled {
                        detectors::impossible_travel(&mut out, p, event, state);
                    }
                }
                let geo = event.geo.as_ref();
                let text = |t: Option<&String>| t.map(|t| Short::new(t));
                push_bounded(
                    &mut state.logins,
                    Login {
                        at,
                        ip: event.ip,
                        country: text(geo.and_then(|g| g.country.as_ref())),
                        city: text(geo.and_then(|g| g.city.as_ref())),
                        lat: geo.and_then(|g| g.lat),
                        lon: geo.and_then(|g| g.lon),
                    },
                    super::state::MAX_LOGINS,
                );
            }
            EventKind::ChallengePassed => {
                out.owner_verified = true;
                // Trust what the passed challenge names; when it names nothing, what was pending.
                let pending_devices = std::mem::take(&mut state.pending_devices);
                let devices = match &event.device_id {
                    Some(d) => pending_devices.into_iter().filter(|p| p.as_str() == d).collect(),
                    None => pending_devices,
                };
                for d in devices {
                    super::state::remember(&mut state.devices, d.as_str(), super::state::MAX_DEVICES);
                }
                let pending_countries = std::mem::take(&mut state.pending_countries);
                let countries = match event.geo.as_ref().and_then(|g| g.country.as_ref()) {
                    Some(c) => pending_countries.into_iter().filter(|p| p.as_str() == c).collect(),
                    None => pending_countries,
                };
                for c in countries {
                    super::state::remember(&mut state.countries, c.as_str(), super::state::MAX_COUNTRIES);
                }
                state.failures.clear();
            }
            EventKind::PasswordChanged | EventKind::MfaChanged | EventKind::EmailChanged | EventKind::PhoneChanged => {
                // A late report of an older change does not hide a newer one.
                if state.credential_change.as_ref().is_none_or(|c| c.at <= at) {
                    state.credential_change = Some(super::state::CredentialChange { kind: event.kind, at });
                }
            }
            EventKind::DeviceFlagged => {
                if p.risky_device.0 {
                    detectors::risky_device(&mut out, p, event);
                }
            }
            EventKind::WithdrawalRequested => {
                if let Some(a) = &event.address {
                    let a = a.to_lowercase();
                    out.new_address = !super::state::remember(&mut state.addresses, &a, super::state::MAX_ADDRESSES);
                }
                if p.listed_address {
                    detectors::listed_address(&mut out, p, event, Action::Block);
                }
                if p.credential_change.0 {
                    detectors::credential_change(&mut out, p, event, state);
                }
                if p.dormant.0 {
                    detectors::dormant(&mut out, p, event, state);
                }
                if p.unusual_amount.enabled && !address_allowed {
                    detectors::unusual_amount(&mut out, p, event, state);
                }
                if p.structuring.enabled && !address_allowed {
                    detectors::structuring(&mut out, p, event, state);
                }
            }
            EventKind::AddressAdded => {
                if p.listed_address {
                    detectors::listed_address(&mut out, p, event, Action::Hold);
                }
            }
            EventKind::Deposit | EventKind::P2pOrder => {
                if p.structuring.enabled {
                    detectors::structuring(&mut out, p, event, state);
                }
            }
            EventKind::Trade => {}
        }

        // Trades are not kept: the amount detectors look at money entering and leaving.
        if let Some(m) = &event.money
            && event.kind != EventKind::Trade
        {
            let tx = Tx { at, kind: event.kind, amount: m.amount, asset: AssetCode::new(&m.asset) };
            state.add_tx(tx, p.unusual_lookback_ms.max(p.structuring.window_ms));
        }
        state.add_recent(event.kind, at);
        if event.kind.is_activity() {
            // Coming back after a dormant spell is remembered, so that a withdrawal soon after
            // the sign-in that woke the account is still recognised.
            if let Some(last) = state.last_activity_at
                && at - last > p.dormant.1
            {
                state.woke = Some((at, last));
            }
            state.last_activity_at = Some(state.last_activity_at.map_or(at, |x| x.max(at)));
        }
        state.first_seen_at.get_or_insert(at);

        out.action = out.action.max(by_rules.action);
        out.reasons.append(&mut by_rules.reasons);
        out.holds.append(&mut by_rules.holds);
        out
    }

    fn apply_rules(&self, out: &mut Outcome, event: &Event, profile: &Profile, before: &AccountState, now_ms: i64) {
        let subject =
            Subject { event, profile, before, now_ms, failure_window_ms: self.policy.failed_logins.window_ms };
        for rule in &self.policy.rules {
            if !rule.when.eval(&subject) {
                continue;
            }
            let facts = rule_facts(&rule.code, &subject);
            let reason = Reason::new(&rule.code, facts, &rule.zh, &rule.en);
            let hold =
                (rule.action != Action::Challenge).then_some(()).and(rule.scopes.clone()).map(|scopes| HoldPlan {
                    scopes,
                    origin: if rule.release == ReleasePolicy::ComplianceOnly {
                        HoldOrigin::Compliance
                    } else {
                        HoldOrigin::Risk
                    },
                    release: rule.release,
                    reason: reason.clone(),
                    confidential: rule.confidential,
                    expires_at_ms: rule.hold_for_ms.map(|ms| event.occurred_at_ms + ms),
                    cooldown_ms: None,
                    amount: event.money.clone(),
                });
            out.add(rule.action, reason, hold);
        }
    }
}

fn rule_facts(code: &str, s: &Subject<'_>) -> Facts {
    use super::conditions::Field;
    let e = s.event;
    let mut f = Facts::new();
    f.insert("rule".into(), fact_str(code));
    f.insert("kind".into(), fact_str(e.kind.code()));
    let mut opt = |name: &str, v: Option<serde_json::Value>| {
        f.insert(name.to_string(), v.unwrap_or(serde_json::Value::Null));
    };
    opt("amount", e.money.as_ref().map(|m| fact_decimal(m.amount)));
    opt("asset", e.money.as_ref().map(|m| fact_str(&m.asset)));
    opt("ip", e.ip.map(|i| fact_str(i.to_string())));
    opt("country", e.geo.as_ref().and_then(|g| g.country.clone()).map(fact_str));
    opt("city", e.geo.as_ref().and_then(|g| g.city.clone()).map(fact_str));
    opt("device_id", e.device_id.clone().map(fact_str));
    opt("network", e.network.clone().map(fact_str));
    opt("address", e.address.clone().map(fact_str));
    let num = |field: Field| {
        s.number(&field).map(|d: Decimal| match (d.fract().is_zero(), d.to_i64()) {
            (true, Some(i)) => fact_int(i),
            _ => fact_decimal(d),
        })
    };
    opt("kyc_level", num(Field::KycLevel));
    opt("vip_level", num(Field::VipLevel));
    opt("age_days", num(Field::AgeDays));
    opt("failed_logins", num(Field::FailedLogins));
    opt("withdrawals_24h", num(Field::Withdrawals24h));
    opt("withdrawn_24h", s.number(&Field::Withdrawn24h).map(fact_decimal));
    opt("days_inactive", num(Field::DaysInactive));
    f
}
