//! The policy file (TOML): detector switches and thresholds, address and network lists,
//! release settings, agents' authority, and operators' own rules. Every mistake is reported
//! with its line number; a policy with any mistake is refused as a whole.

use super::conditions::{Cond, Field, FieldType, Op, Since, Value};
use super::duration::parse_ms;
use super::lists::{AddressList, Cidr};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use thaw_domain::Role;
use thaw_domain::risk::hold::AuthorityLimits;
use thaw_domain::risk::{Action, DeviceFlag, EventKind, ReleasePolicy, ScopeSet};
use toml::Spanned;

/// The most days of inactivity a detector may wait for; more would never fire, and the bound
/// keeps the milliseconds far from overflow (found by fuzzing: 10^12 days overflowed).
pub const MAX_INACTIVE_DAYS: i64 = 36_500;

/// The policy thaw ships with; used when no policy file is configured.
pub const DEFAULT_POLICY: &str = include_str!("../../policy/default.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, Clone)]
pub struct FailedLogins {
    pub enabled: bool,
    pub window_ms: i64,
    pub challenge_after: i64,
    pub hold_after: i64,
    pub hold_for_ms: i64,
    pub account_challenge_after: i64,
}

#[derive(Debug, Clone)]
pub struct ImpossibleTravel {
    pub enabled: bool,
    pub max_speed_kmh: f64,
    pub min_distance_km: f64,
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone)]
pub struct UnusualAmount {
    pub enabled: bool,
    pub multiplier: Decimal,
    pub min_history: usize,
    pub absolute: BTreeMap<String, Decimal>,
}

#[derive(Debug, Clone)]
pub struct Structuring {
    pub enabled: bool,
    pub window_ms: i64,
    pub min_count: usize,
    pub band: Decimal,
    pub thresholds: BTreeMap<String, Decimal>,
}

#[derive(Debug, Clone)]
pub struct Lists {
    pub sanctioned: AddressList,
    pub deny_addresses: AddressList,
    pub allow_addresses: AddressList,
    pub deny_ips: Vec<Cidr>,
    pub allow_ips: Vec<Cidr>,
}

/// An operator's rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub code: String,
    pub when: Cond,
    pub action: Action,
    pub scopes: Option<ScopeSet>,
    pub release: ReleasePolicy,
    pub hold_for_ms: Option<i64>,
    pub confidential: bool,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub failed_logins: FailedLogins,
    pub new_device: bool,
    pub new_country: bool,
    pub impossible_travel: ImpossibleTravel,
    pub credential_change: (bool, i64),
    pub listed_address: bool,
    pub unusual_amount: UnusualAmount,
    pub unusual_lookback_ms: i64,
    pub structuring: Structuring,
    pub dormant: (bool, i64),
    pub risky_device: (bool, Vec<DeviceFlag>),
    pub inactivity: (bool, i64),
    pub lists: Lists,
    pub self_freeze_wait_ms: i64,
    pub cooldown_ms: i64,
    pub authority: AuthorityLimits,
    pub rules: Vec<Rule>,
}

// ---- the file as written -------------------------------------------------------------------

type S<T> = Spanned<T>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    detectors: RawDetectors,
    #[serde(default)]
    lists: RawLists,
    #[serde(default)]
    release: RawRelease,
    #[serde(default)]
    authority: BTreeMap<String, S<BTreeMap<String, S<toml::Value>>>>,
    #[serde(default)]
    rules: Vec<S<RawRule>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDetectors {
    failed_logins: Option<RawFailedLogins>,
    new_device: Option<RawSwitch>,
    new_country: Option<RawSwitch>,
    impossible_travel: Option<RawTravel>,
    credential_change: Option<RawWindow>,
    listed_address: Option<RawSwitch>,
    unusual_amount: Option<RawUnusual>,
    structuring: Option<RawStructuring>,
    dormant_account: Option<RawDays>,
    risky_device: Option<RawRisky>,
    inactivity: Option<RawDays>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwitch {
    enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFailedLogins {
    enabled: Option<bool>,
    window: Option<S<String>>,
    challenge_after: Option<S<i64>>,
    hold_after: Option<S<i64>>,
    hold_for: Option<S<String>>,
    account_challenge_after: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTravel {
    enabled: Option<bool>,
    max_speed_kmh: Option<S<f64>>,
    min_distance_km: Option<S<f64>>,
    scopes: Option<S<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    enabled: Option<bool>,
    window: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnusual {
    enabled: Option<bool>,
    multiplier: Option<S<toml::Value>>,
    min_history: Option<S<i64>>,
    lookback: Option<S<String>>,
    absolute: Option<BTreeMap<String, S<toml::Value>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStructuring {
    enabled: Option<bool>,
    window: Option<S<String>>,
    min_count: Option<S<i64>>,
    band: Option<S<toml::Value>>,
    thresholds: Option<BTreeMap<String, S<toml::Value>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDays {
    enabled: Option<bool>,
    inactive_days: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRisky {
    enabled: Option<bool>,
    flags: Option<Vec<S<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLists {
    sanctioned: Option<Vec<S<String>>>,
    deny_addresses: Option<Vec<String>>,
    allow_addresses: Option<Vec<String>>,
    deny_ips: Option<Vec<S<String>>>,
    allow_ips: Option<Vec<S<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    self_freeze_wait: Option<S<String>>,
    cooldown: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    code: S<String>,
    #[serde(default = "yes")]
    enabled: bool,
    action: S<String>,
    scopes: Option<S<Vec<String>>>,
    release: Option<S<String>>,
    hold_for: Option<S<String>>,
    confidential: Option<bool>,
    explanation: S<BTreeMap<String, S<String>>>,
    when: S<RawCond>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCond {
    all: Option<Vec<S<RawCond>>>,
    any: Option<Vec<S<RawCond>>>,
    not: Option<Box<S<RawCond>>>,
    field: Option<S<String>>,
    op: Option<S<String>>,
    value: Option<S<toml::Value>>,
    count: Option<S<String>>,
    within: Option<S<String>>,
    since: Option<S<String>>,
}

// ---- compiling -----------------------------------------------------------------------------

/// Reads list files named in the policy (paths relative to the policy file), so that the
/// engine itself does no I/O.
pub type ReadFile<'a> = &'a dyn Fn(&str) -> Result<String, String>;

struct Compiler<'a> {
    src: &'a str,
    errors: Vec<PolicyError>,
}

impl Compiler<'_> {
    fn line(&self, offset: usize) -> usize {
        self.src[..offset.min(self.src.len())].matches('\n').count() + 1
    }

    fn err<T>(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) -> Option<T> {
        let line = self.line(span.start);
        self.errors.push(PolicyError { line, message: message.into() });
        None
    }

    fn duration(&mut self, v: &Option<S<String>>, default_ms: i64, what: &str) -> i64 {
        match v {
            None => default_ms,
            Some(s) => match parse_ms(s.get_ref()) {
                Some(ms) if ms > 0 => ms,
                _ => self
                    .err(
                        s.span(),
                        format!(
                            "{what}: '{}' is not a duration like 90s, 15m, 24h or 30d (at most 36500d)",
                            s.get_ref()
                        ),
                    )
                    .unwrap_or(default_ms),
            },
        }
    }

    fn positive(&mut self, v: &Option<S<i64>>, default: i64, what: &str) -> i64 {
        match v {
            None => default,
            Some(s) if *s.get_ref() > 0 => *s.get_ref(),
            Some(s) => self.err(s.span(), format!("{what} must be a whole number above 0")).unwrap_or(default),
        }
    }

    fn decimal(&mut self, v: &S<toml::Value>, what: &str) -> Option<Decimal> {
        let parsed = match v.get_ref() {
            toml::Value::String(s) => Decimal::from_str(s.trim()).ok(),
            toml::Value::Integer(i) => Some(Decimal::from(*i)),
            toml::Value::Float(f) => Decimal::from_str(&f.to_string()).ok(),
            _ => None,
        };
        match parsed {
            Some(d) if !d.is_sign_negative() => Some(d),
            _ => self.err(v.span(), format!("{what} must be a decimal number such as \"10000\" or \"0.5\"")),
        }
    }

    fn amounts(&mut self, m: &Option<BTreeMap<String, S<toml::Value>>>, what: &str) -> BTreeMap<String, Decimal> {
        let mut out = BTreeMap::new();
        for (asset, v) in m.iter().flatten() {
            if let Some(d) = self.decimal(v, &format!("{what}.{asset}")) {
                out.insert(asset.to_ascii_uppercase(), d);
            }
        }
        out
    }

    fn scopes(&mut self, v: &S<Vec<String>>) -> Option<ScopeSet> {
        match ScopeSet::parse_list("scopes", v.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => self.err(v.span(), e.message),
        }
    }

    fn cidrs(&mut self, v: &Option<Vec<S<String>>>, what: &str) -> Vec<Cidr> {
        let mut out = Vec::new();
        for s in v.iter().flatten() {
            match Cidr::parse(s.get_ref()) {
                Some(c) => out.push(c),
                None => {
                    self.err::<()>(s.span(), format!("{what}: '{}' is not an IP address or CIDR network", s.get_ref()));
                }
            }
        }
        out
    }

    fn cond(&mut self, raw: &S<RawCond>) -> Option<Cond> {
        let c = raw.get_ref();
        let span = raw.span();
        let shapes = [
            c.all.is_some(),
            c.any.is_some(),
            c.not.is_some(),
            c.field.is_some(),
            c.count.is_some(),
            c.since.is_some(),
        ];
        if shapes.iter().filter(|x| **x).count() != 1 {
            return self.err(span, "a condition is exactly one of: all, any, not, field (with op and value), count (with within, op and value), since (with op and value)");
        }
        if let Some(list) = c.all.as_ref().or(c.any.as_ref()) {
            if list.is_empty() {
                return self.err(span, "all/any needs at least one condition");
            }
            let inner: Vec<Option<Cond>> = list.iter().map(|x| self.cond(x)).collect();
            let inner: Option<Vec<Cond>> = inner.into_iter().collect();
            return inner.map(if c.all.is_some() { Cond::All } else { Cond::Any });
        }
        if let Some(n) = &c.not {
            return self.cond(n).map(|x| Cond::Not(Box::new(x)));
        }
        let op = match &c.op {
            Some(op) => match Op::parse(op.get_ref()) {
                Some(o) => o,
                None => {
                    return self
                        .err(op.span(), format!("unknown op '{}'; one of {}", op.get_ref(), Op::NAMES.join(", ")));
                }
            },
            None => return self.err(span, "the condition needs an op"),
        };
        let Some(value) = &c.value else {
            return self.err(span, "the condition needs a value");
        };
        if let Some(kind) = &c.count {
            let k = match kind.get_ref().as_str() {
                "any" => None,
                other => match EventKind::parse(other) {
                    Some(k) => Some(k),
                    None => return self.err(kind.span(), format!("count: unknown event kind '{other}' (or 'any')")),
                },
            };
            let Some(within) = &c.within else {
                return self.err(span, "count needs within, e.g. within = \"1h\"");
            };
            let within_ms = match parse_ms(within.get_ref()) {
                Some(ms) if ms > 0 && ms <= super::state::RECENT_WINDOW_MS => ms,
                _ => return self.err(within.span(), "within is a duration up to 7d, e.g. 1h"),
            };
            let n = match value.get_ref() {
                toml::Value::Integer(i) if *i >= 0 => *i,
                _ => return self.err(value.span(), "a count is compared with a whole number"),
            };
            if !matches!(op, Op::Eq | Op::Ne | Op::Lt | Op::Lte | Op::Gt | Op::Gte) {
                return self.err(span, "count compares with eq, ne, lt, lte, gt or gte");
            }
            return Some(Cond::Count { kind: k, within_ms, op, value: n });
        }
        if let Some(what) = &c.since {
            let Some(w) = Since::parse(what.get_ref()) else {
                return self.err(
                    what.span(),
                    format!(
                        "since: unknown '{}'; one of credential_change, last_login, last_activity, account_created",
                        what.get_ref()
                    ),
                );
            };
            let ms = match value.get_ref() {
                toml::Value::String(s) => parse_ms(s),
                _ => None,
            };
            let Some(value_ms) = ms else {
                return self.err(value.span(), "since compares with a duration such as \"24h\"");
            };
            if !matches!(op, Op::Lt | Op::Lte | Op::Gt | Op::Gte) {
                return self.err(span, "since compares with lt, lte, gt or gte");
            }
            return Some(Cond::Since { what: w, op, value_ms });
        }
        let field_name = c.field.as_ref().expect("shape checked");
        let Some(field) = Field::parse(field_name.get_ref()) else {
            return self.err(
                field_name.span(),
                format!("unknown field '{}'; one of {}", field_name.get_ref(), Field::NAMES.join(", ")),
            );
        };
        let mut typed = self.value_for(&field, op, value)?;
        if field == Field::Kind {
            let names: Vec<String> = match &typed {
                Value::Text(t) if matches!(op, Op::Eq | Op::Ne) => vec![t.clone()],
                Value::Texts(ts) => ts.clone(),
                _ => return self.err(value.span(), "event.kind is compared with eq, ne, in or not_in"),
            };
            let mut kinds = Vec::new();
            for n in names {
                match EventKind::parse(&n) {
                    Some(k) => kinds.push(k),
                    None => return self.err(value.span(), format!("unknown event kind '{n}'")),
                }
            }
            typed = Value::Kinds(kinds);
        }
        Some(Cond::Test { field, op, value: typed })
    }

    fn value_for(&mut self, field: &Field, op: Op, value: &S<toml::Value>) -> Option<Value> {
        let kind = field.kind();
        let bad = |c: &mut Self, what: &str| c.err::<Value>(value.span(), what.to_string());
        let scalar = |v: &toml::Value, kind: FieldType| -> Option<Value> {
            match (kind, v) {
                (FieldType::Number | FieldType::Any, toml::Value::Integer(i)) => Some(Value::Number(Decimal::from(*i))),
                (FieldType::Number | FieldType::Any, toml::Value::Float(f)) => {
                    Decimal::from_str(&f.to_string()).ok().map(Value::Number)
                }
                (FieldType::Number, toml::Value::String(s)) => Decimal::from_str(s.trim()).ok().map(Value::Number),
                (FieldType::Text | FieldType::Any | FieldType::Ip | FieldType::List, toml::Value::String(s)) => {
                    Some(Value::Text(s.clone()))
                }
                (FieldType::Bool | FieldType::Any, toml::Value::Boolean(b)) => Some(Value::Bool(*b)),
                _ => None,
            }
        };
        match op {
            Op::Eq | Op::Ne => match scalar(value.get_ref(), kind) {
                Some(v) if kind != FieldType::List => Some(v),
                _ => bad(self, "this value does not fit the field (text, number or true/false)"),
            },
            Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
                if !matches!(kind, FieldType::Number | FieldType::Any) {
                    return bad(self, "lt/lte/gt/gte compare numbers only");
                }
                match scalar(value.get_ref(), FieldType::Number) {
                    Some(v @ Value::Number(_)) => Some(v),
                    _ => bad(self, "compare with a number, e.g. 1000 or \"1000.50\""),
                }
            }
            Op::In | Op::NotIn => {
                let toml::Value::Array(items) = value.get_ref() else {
                    return bad(self, "in/not_in take a list, e.g. [\"CN\", \"HK\"]");
                };
                let mut texts = Vec::new();
                let mut numbers = Vec::new();
                for item in items {
                    match scalar(item, if kind == FieldType::Number { FieldType::Number } else { FieldType::Text }) {
                        Some(Value::Text(t)) => texts.push(t),
                        Some(Value::Number(n)) => numbers.push(n),
                        _ => return bad(self, "every item of the list must fit the field"),
                    }
                }
                if kind == FieldType::Number { Some(Value::Numbers(numbers)) } else { Some(Value::Texts(texts)) }
            }
            Op::InCidr | Op::NotInCidr => {
                if kind != FieldType::Ip {
                    return bad(self, "in_cidr/not_in_cidr apply to event.ip only");
                }
                let items: Vec<toml::Value> = match value.get_ref() {
                    toml::Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                let mut cidrs = Vec::new();
                for i in items {
                    match i.as_str().and_then(Cidr::parse) {
                        Some(c) => cidrs.push(c),
                        None => return bad(self, "in_cidr takes networks such as \"203.0.113.0/24\""),
                    }
                }
                Some(Value::Cidrs(cidrs))
            }
            Op::Contains | Op::NotContains => {
                if kind != FieldType::List {
                    return bad(self, "contains/not_contains apply to event.flags only");
                }
                match value.get_ref().as_str() {
                    Some(f) if DeviceFlag::parse(f).is_some() => Some(Value::Text(f.to_string())),
                    _ => bad(self, "a device flag: root, emulator, vpn, tor or cloud"),
                }
            }
        }
    }

    fn rule(&mut self, raw: &S<RawRule>, wait_ms: i64) -> Option<Rule> {
        let r = raw.get_ref();
        let code = r.code.get_ref().clone();
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            self.err::<()>(
                r.code.span(),
                "a rule code is lowercase letters, digits and _, e.g. large_withdrawal_new_account",
            );
        }
        let action = match Action::parse(r.action.get_ref()) {
            Some(Action::Allow) | None => {
                let msg = format!("action '{}' must be challenge, hold or block", r.action.get_ref());
                self.err(r.action.span(), msg).unwrap_or(Action::Challenge)
            }
            Some(a) => a,
        };
        let scopes = r.scopes.as_ref().and_then(|s| self.scopes(s));
        if action == Action::Hold && r.scopes.is_none() {
            self.err::<()>(raw.span(), format!("rule {code}: a hold needs scopes, e.g. scopes = [\"withdraw\"]"));
        }
        let release = match &r.release {
            None => ReleasePolicy::Agent,
            Some(s) => match ReleasePolicy::parse(s.get_ref(), wait_ms) {
                Some(p) => p,
                None => {
                    let msg = format!(
                        "release '{}': one of owner_one_factor, owner_two_factors, expiry_only, agent, compliance_only",
                        s.get_ref()
                    );
                    self.err(s.span(), msg).unwrap_or(ReleasePolicy::Agent)
                }
            },
        };
        let hold_for_ms = r.hold_for.as_ref().map(|h| self.duration(&Some(h.clone()), 0, "hold_for"));
        if release == ReleasePolicy::ExpiryOnly && hold_for_ms.is_none() {
            self.err::<()>(raw.span(), format!("rule {code}: release = \"expiry_only\" needs hold_for"));
        }
        let texts = r.explanation.get_ref();
        let mut text = |lang: &str| -> Option<String> {
            match texts.get(lang) {
                Some(t) => {
                    for name in placeholders(t.get_ref()) {
                        if !super::engine::RULE_FACTS.contains(&name.as_str()) {
                            self.err::<()>(
                                t.span(),
                                format!(
                                    "unknown fact '{{{name}}}'; facts are {}",
                                    super::engine::RULE_FACTS.join(", ")
                                ),
                            );
                        }
                    }
                    Some(t.get_ref().clone())
                }
                None => self.err(r.explanation.span(), format!("rule {code}: explanation needs \"{lang}\"")),
            }
        };
        let zh = text("zh-CN");
        let en = text("en");
        for key in texts.keys().filter(|k| *k != "zh-CN" && *k != "en") {
            let span = texts[key].span();
            self.err::<()>(span, format!("explanation language '{key}': only zh-CN and en"));
        }
        let when = self.cond(&r.when)?;
        Some(Rule {
            code,
            when,
            action,
            scopes,
            release,
            hold_for_ms,
            confidential: r.confidential.unwrap_or(release == ReleasePolicy::ComplianceOnly),
            zh: zh?,
            en: en?,
        })
    }
}

fn placeholders(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(after[..close].to_string());
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

impl Policy {
    /// Each built-in detector by its code and whether it is switched on, as the policy API and
    /// the admins' policy page list them.
    pub fn detector_switches(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("failed_logins", self.failed_logins.enabled),
            ("new_device", self.new_device),
            ("new_country", self.new_country),
            ("impossible_travel", self.impossible_travel.enabled),
            ("credential_change", self.credential_change.0),
            ("listed_address", self.listed_address),
            ("unusual_amount", self.unusual_amount.enabled),
            ("structuring", self.structuring.enabled),
            ("dormant_account", self.dormant.0),
            ("risky_device", self.risky_device.0),
            ("inactivity", self.inactivity.0),
        ]
    }

    /// The shipped default policy.
    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY, &|_| Err("the default policy reads no files".into()))
            .expect("the shipped policy is valid")
    }

    /// Parses and checks a policy; every mistake comes back with its line.
    pub fn parse(src: &str, read_file: ReadFile<'_>) -> Result<Policy, Vec<PolicyError>> {
        let raw: RawPolicy = match toml::from_str(src) {
            Ok(r) => r,
            Err(e) => {
                let line = e.span().map(|s| src[..s.start.min(src.len())].matches('\n').count() + 1).unwrap_or(1);
                return Err(vec![PolicyError { line, message: e.message().to_string() }]);
            }
        };
        let mut c = Compiler { src, errors: Vec::new() };
        let d = &raw.detectors;
        let on = |e: Option<bool>| e.unwrap_or(true);

        let fl = d.failed_logins.as_ref();
        let failed_logins = FailedLogins {
            enabled: on(fl.and_then(|f| f.enabled)),
            window_ms: c.duration(&fl.and_then(|f| f.window.clone()), 15 * 60_000, "failed_logins.window"),
            challenge_after: c.positive(
                &fl.and_then(|f| f.challenge_after.clone()),
                5,
                "failed_logins.challenge_after",
            ),
            hold_after: c.positive(&fl.and_then(|f| f.hold_after.clone()), 10, "failed_logins.hold_after"),
            hold_for_ms: c.duration(&fl.and_then(|f| f.hold_for.clone()), 15 * 60_000, "failed_logins.hold_for"),
            account_challenge_after: c.positive(
                &fl.and_then(|f| f.account_challenge_after.clone()),
                30,
                "failed_logins.account_challenge_after",
            ),
        };
        if failed_logins.hold_after <= failed_logins.challenge_after {
            let span =
                fl.and_then(|f| f.hold_after.as_ref().or(f.challenge_after.as_ref())).map(|s| s.span()).unwrap_or(0..0);
            c.err::<()>(span, "failed_logins.hold_after must be above challenge_after");
        }

        let tr = d.impossible_travel.as_ref();
        let travel_scopes = match tr.and_then(|t| t.scopes.as_ref()) {
            Some(s) => c.scopes(s).unwrap_or_default(),
            None => ScopeSet::new([thaw_domain::risk::Scope::Withdraw, thaw_domain::risk::Scope::Trade]),
        };
        let mut positive_f = |v: Option<&S<f64>>, default: f64, what: &str| match v {
            None => default,
            Some(s) if *s.get_ref() > 0.0 => *s.get_ref(),
            Some(s) => c.err(s.span(), format!("{what} must be above 0")).unwrap_or(default),
        };
        let impossible_travel = ImpossibleTravel {
            enabled: on(tr.and_then(|t| t.enabled)),
            max_speed_kmh: positive_f(
                tr.and_then(|t| t.max_speed_kmh.as_ref()),
                900.0,
                "impossible_travel.max_speed_kmh",
            ),
            min_distance_km: positive_f(
                tr.and_then(|t| t.min_distance_km.as_ref()),
                300.0,
                "impossible_travel.min_distance_km",
            ),
            scopes: travel_scopes,
        };

        let cc = d.credential_change.as_ref();
        let credential_change = (
            on(cc.and_then(|x| x.enabled)),
            c.duration(&cc.and_then(|x| x.window.clone()), 86_400_000, "credential_change.window"),
        );

        let ua = d.unusual_amount.as_ref();
        let multiplier = match ua.and_then(|u| u.multiplier.as_ref()) {
            Some(m) => c.decimal(m, "unusual_amount.multiplier").unwrap_or(Decimal::from(5)),
            None => Decimal::from(5),
        };
        let unusual_amount = UnusualAmount {
            enabled: on(ua.and_then(|u| u.enabled)),
            multiplier,
            min_history: c.positive(&ua.and_then(|u| u.min_history.clone()), 3, "unusual_amount.min_history") as usize,
            absolute: c.amounts(&ua.and_then(|u| u.absolute.clone()), "unusual_amount.absolute"),
        };
        let unusual_lookback_ms =
            c.duration(&ua.and_then(|u| u.lookback.clone()), 30 * 86_400_000, "unusual_amount.lookback");

        let st = d.structuring.as_ref();
        let band = match st.and_then(|s| s.band.as_ref()) {
            Some(b) => match c.decimal(b, "structuring.band") {
                Some(v) if v > Decimal::ZERO && v < Decimal::ONE => v,
                Some(_) => c
                    .err(b.span(), "structuring.band is a fraction between 0 and 1, e.g. \"0.9\"")
                    .unwrap_or(Decimal::new(9, 1)),
                None => Decimal::new(9, 1),
            },
            None => Decimal::new(9, 1),
        };
        let structuring = Structuring {
            enabled: on(st.and_then(|s| s.enabled)),
            window_ms: c.duration(&st.and_then(|s| s.window.clone()), 86_400_000, "structuring.window"),
            min_count: c.positive(&st.and_then(|s| s.min_count.clone()), 3, "structuring.min_count") as usize,
            band,
            thresholds: c.amounts(&st.and_then(|s| s.thresholds.clone()), "structuring.thresholds"),
        };

        let days = |c: &mut Compiler, r: Option<&RawDays>, default: i64, what: &str| {
            let raw = r.and_then(|x| x.inactive_days.clone());
            let days = match c.positive(&raw, default, what) {
                n if n > MAX_INACTIVE_DAYS => raw
                    .and_then(|s| c.err(s.span(), format!("{what} is at most {MAX_INACTIVE_DAYS} (100 years)")))
                    .unwrap_or(default),
                n => n,
            };
            (on(r.and_then(|x| x.enabled)), days * 86_400_000)
        };
        let dormant = days(&mut c, d.dormant_account.as_ref(), 180, "dormant_account.inactive_days");
        let inactivity = days(&mut c, d.inactivity.as_ref(), 365, "inactivity.inactive_days");

        let rd = d.risky_device.as_ref();
        let mut flags = Vec::new();
        match rd.and_then(|r| r.flags.as_ref()) {
            None => flags = DeviceFlag::ALL.to_vec(),
            Some(list) => {
                for f in list {
                    match DeviceFlag::parse(f.get_ref()) {
                        Some(flag) => flags.push(flag),
                        None => {
                            c.err::<()>(
                                f.span(),
                                format!(
                                    "unknown device flag '{}'; one of root, emulator, vpn, tor, cloud",
                                    f.get_ref()
                                ),
                            );
                        }
                    }
                }
            }
        }
        let risky_device = (on(rd.and_then(|r| r.enabled)), flags);

        // Lists.
        let mut sanctioned = AddressList::default();
        let names =
            raw.lists.sanctioned.clone().unwrap_or_else(|| vec![Spanned::new(0..0, "builtin:ofac".to_string())]);
        for name in &names {
            if name.get_ref() == "builtin:ofac" {
                for (_, text) in super::lists::OFAC_LISTS {
                    sanctioned.extend_from_text(text);
                }
            } else {
                match read_file(name.get_ref()) {
                    Ok(text) => sanctioned.extend_from_text(&text),
                    Err(e) => {
                        c.err::<()>(name.span(), format!("sanctioned list {}: {e}", name.get_ref()));
                    }
                }
            }
        }
        let mut deny_addresses = AddressList::default();
        raw.lists.deny_addresses.iter().flatten().for_each(|a| deny_addresses.insert(a));
        let mut allow_addresses = AddressList::default();
        raw.lists.allow_addresses.iter().flatten().for_each(|a| allow_addresses.insert(a));
        let lists = Lists {
            sanctioned,
            deny_addresses,
            allow_addresses,
            deny_ips: c.cidrs(&raw.lists.deny_ips, "lists.deny_ips"),
            allow_ips: c.cidrs(&raw.lists.allow_ips, "lists.allow_ips"),
        };

        let self_freeze_wait_ms = match &raw.release.self_freeze_wait {
            None => 2 * 3_600_000,
            Some(s) => match parse_ms(s.get_ref()) {
                Some(ms) => ms,
                None => c.err(s.span(), "release.self_freeze_wait is a duration like 2h (at most 36500d)").unwrap_or(0),
            },
        };
        let cooldown_ms = c.duration(&raw.release.cooldown, 86_400_000, "release.cooldown");

        let mut authority = AuthorityLimits::new();
        for (role_name, limits) in &raw.authority {
            let Some(role) = Role::parse(role_name).filter(|r| matches!(r, Role::AgentT1 | Role::AgentT2)) else {
                c.err::<()>(
                    limits.span(),
                    format!("authority.{role_name}: limits are set for agent_t1 and agent_t2 (supervisors have none)"),
                );
                continue;
            };
            let mut per_asset = BTreeMap::new();
            for (asset, v) in limits.get_ref() {
                if let Some(d) = c.decimal(v, &format!("authority.{role_name}.{asset}")) {
                    per_asset.insert(asset.to_ascii_uppercase(), d);
                }
            }
            authority.insert(role, per_asset);
        }

        let mut rules = Vec::new();
        let mut codes = std::collections::HashSet::new();
        for raw_rule in &raw.rules {
            let code = raw_rule.get_ref().code.get_ref().clone();
            if !codes.insert(code.clone()) {
                c.err::<()>(raw_rule.get_ref().code.span(), format!("rule code '{code}' is used twice"));
            }
            if let Some(rule) = c.rule(raw_rule, self_freeze_wait_ms)
                && raw_rule.get_ref().enabled
            {
                rules.push(rule);
            }
        }

        if !c.errors.is_empty() {
            c.errors.sort_by_key(|e| e.line);
            return Err(c.errors);
        }
        Ok(Policy {
            failed_logins,
            new_device: on(d.new_device.as_ref().and_then(|x| x.enabled)),
            new_country: on(d.new_country.as_ref().and_then(|x| x.enabled)),
            impossible_travel,
            credential_change,
            listed_address: on(d.listed_address.as_ref().and_then(|x| x.enabled)),
            unusual_amount,
            unusual_lookback_ms,
            structuring,
            dormant,
            risky_device,
            inactivity,
            lists,
            self_freeze_wait_ms,
            cooldown_ms,
            authority,
            rules,
        })
    }
}
