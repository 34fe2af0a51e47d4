//! What each staff member may do on their own: which holds they may lift (origins, scopes, the
//! amount at stake per asset) and how much goodwill compensation they may grant per asset.
//! Anything beyond becomes an approval request to a supervisor, who is never the requester.

use crate::risk::hold::AuthorityLimits;
use crate::risk::{Hold, HoldOrigin, Money, Scope};
use crate::{Invalid, Role};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A staff member's own limits; empty fields fall back to what their role allows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffLimits {
    /// Hold origins they may lift (None: every origin their role may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_origins: Option<Vec<HoldOrigin>>,
    /// Hold scopes they may lift (None: every scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_scopes: Option<Vec<Scope>>,
    /// The largest amount at stake per asset they may release (replaces the policy's role limit
    /// for the assets named).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub release_amounts: BTreeMap<String, Decimal>,
    /// The largest goodwill compensation per asset on one case (replaces the role default for
    /// the assets named).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub compensation: BTreeMap<String, Decimal>,
}

/// Goodwill compensation each role may grant per case without approval. Supervisors approve,
/// so they have no limit; compliance and administrators grant none.
pub fn default_compensation(role: Role) -> BTreeMap<String, Decimal> {
    let each = |amount: i64| -> BTreeMap<String, Decimal> {
        ["USDT", "USDC", "USD", "CNY"].iter().map(|a| (a.to_string(), Decimal::from(amount))).collect()
    };
    match role {
        Role::AgentT1 => each(20),
        Role::AgentT2 => each(200),
        Role::Supervisor | Role::Compliance | Role::Admin => BTreeMap::new(),
    }
}

/// Why an action is beyond a staff member's own authority (a supervisor may approve it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beyond {
    Origin(HoldOrigin),
    Scope(Scope),
    Amount { asset: String, limit: Option<Decimal> },
}

impl Beyond {
    pub fn code(&self) -> &'static str {
        match self {
            Beyond::Origin(_) => "origin_beyond_authority",
            Beyond::Scope(_) => "scope_beyond_authority",
            Beyond::Amount { .. } => "above_authority",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Beyond::Origin(o) => format!("you may not lift holds of origin {}; a supervisor must approve", o.code()),
            Beyond::Scope(s) => format!("you may not lift {} holds; a supervisor must approve", s.code()),
            Beyond::Amount { asset, limit: Some(l) } => {
                format!("your limit is {l} {asset}; a supervisor must approve")
            }
            Beyond::Amount { asset, limit: None } => {
                format!("you have no authority for {asset}; a supervisor must approve")
            }
        }
    }
}

impl StaffLimits {
    /// The release amounts in force for this member: the policy's limits with theirs on top.
    pub fn release_authority(&self, role: Role, policy: &AuthorityLimits) -> AuthorityLimits {
        let mut limits = policy.clone();
        if !self.release_amounts.is_empty() {
            let mine = limits.entry(role).or_default();
            for (asset, amount) in &self.release_amounts {
                mine.insert(asset.clone(), *amount);
            }
        }
        limits
    }

    /// Whether the hold's origin and scopes are within this member's own limits (the release
    /// policy is checked separately). Supervisors and compliance officers are not limited here.
    pub fn may_lift(&self, role: Role, hold: &Hold) -> Result<(), Beyond> {
        if !matches!(role, Role::AgentT1 | Role::AgentT2) {
            return Ok(());
        }
        if let Some(origins) = &self.release_origins
            && !origins.contains(&hold.origin)
        {
            return Err(Beyond::Origin(hold.origin));
        }
        if let Some(scopes) = &self.release_scopes
            && let Some(s) = hold.scopes.scopes().iter().copied().find(|s| !scopes.contains(s))
        {
            return Err(Beyond::Scope(s));
        }
        Ok(())
    }

    /// Whether this member may grant `money` on their own.
    pub fn may_compensate(&self, role: Role, money: &Money) -> Result<(), Beyond> {
        if role == Role::Supervisor {
            return Ok(());
        }
        let limit = self
            .compensation
            .get(&money.asset)
            .copied()
            .or_else(|| default_compensation(role).get(&money.asset).copied());
        match limit {
            Some(l) if money.amount <= l => Ok(()),
            limit => Err(Beyond::Amount { asset: money.asset.clone(), limit }),
        }
    }

    /// Parses the limits as an administrator types them: origins and scopes as comma-separated
    /// codes (empty: the role's default), amounts as "USDT=500, BTC=0.01".
    pub fn parse(
        origins: &str,
        scopes: &str,
        release_amounts: &str,
        compensation: &str,
    ) -> Result<StaffLimits, Invalid> {
        let release_origins = parse_codes(origins, HoldOrigin::parse, |c| {
            let all: Vec<_> = HoldOrigin::ALL.iter().map(|o| o.code()).collect();
            Invalid::new(
                "release_origins",
                "invalid_origin",
                format!("release_origins: '{c}' is not one of {}", all.join(", ")),
            )
        })?;
        let release_scopes = parse_codes(scopes, Scope::parse, |c| {
            Invalid::new(
                "release_scopes",
                "invalid_scope",
                format!("release_scopes: '{c}' is not one of login, trade, withdraw, all"),
            )
        })?;
        Ok(StaffLimits {
            release_origins,
            release_scopes,
            release_amounts: parse_amounts("release_amounts", release_amounts)?,
            compensation: parse_amounts("compensation", compensation)?,
        })
    }

    /// The amounts as an administrator types them ("USDT=500, BTC=0.01").
    pub fn amounts_text(amounts: &BTreeMap<String, Decimal>) -> String {
        amounts.iter().map(|(a, d)| format!("{a}={d}")).collect::<Vec<_>>().join(", ")
    }
}

/// Comma-separated codes; none at all is `None` (the role's default).
fn parse_codes<T>(
    s: &str,
    parse: fn(&str) -> Option<T>,
    bad: impl Fn(&str) -> Invalid,
) -> Result<Option<Vec<T>>, Invalid> {
    let codes: Vec<&str> = s.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    if codes.is_empty() {
        return Ok(None);
    }
    codes.into_iter().map(|c| parse(c).ok_or_else(|| bad(c))).collect::<Result<Vec<_>, _>>().map(Some)
}

fn parse_amounts(field: &'static str, s: &str) -> Result<BTreeMap<String, Decimal>, Invalid> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            Invalid::new(field, "invalid_amounts", format!("{field}: '{part}' is not ASSET=AMOUNT such as USDT=500"))
        };
        let (asset, amount) = part.split_once('=').ok_or_else(bad)?;
        let amount = Decimal::from_str(amount.trim()).map_err(|_| bad())?;
        let money = Money::parse(&amount.to_string(), asset).map_err(|_| bad())?;
        out.insert(money.asset, money.amount);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::Reason;
    use crate::risk::hold::{HoldStatus, ReleasePolicy, ScopeSet};

    fn hold(origin: HoldOrigin, scopes: &[Scope]) -> Hold {
        Hold {
            id: "h".into(),
            account_id: "u-1".into(),
            scopes: ScopeSet::new(scopes.iter().copied()),
            origin,
            release: ReleasePolicy::Agent,
            reason: Reason::new("t", Default::default(), "测试", "test"),
            confidential: false,
            created_at_ms: 0,
            expires_at_ms: None,
            cooldown_ms: None,
            amount: None,
            decision_id: None,
            status: HoldStatus::Active,
            released_at_ms: None,
            released_by: None,
        }
    }

    fn money(a: &str, asset: &str) -> Money {
        Money::parse(a, asset).unwrap()
    }

    #[test]
    fn compensation_within_the_role_default_or_the_members_own_limit() {
        let none = StaffLimits::default();
        assert_eq!(none.may_compensate(Role::AgentT1, &money("20", "USDT")), Ok(()));
        assert_eq!(
            none.may_compensate(Role::AgentT1, &money("20.01", "USDT")),
            Err(Beyond::Amount { asset: "USDT".into(), limit: Some(Decimal::from(20)) })
        );
        assert_eq!(none.may_compensate(Role::AgentT2, &money("200", "USDT")), Ok(()));
        assert_eq!(
            none.may_compensate(Role::AgentT2, &money("0.001", "BTC")),
            Err(Beyond::Amount { asset: "BTC".into(), limit: None })
        );
        assert_eq!(none.may_compensate(Role::Supervisor, &money("100000", "BTC")), Ok(()));
        assert!(none.may_compensate(Role::Compliance, &money("1", "USDT")).is_err());
        let own = StaffLimits::parse("", "", "", "USDT=5, BTC=0.01").unwrap();
        assert!(own.may_compensate(Role::AgentT1, &money("6", "USDT")).is_err());
        assert_eq!(own.may_compensate(Role::AgentT1, &money("0.01", "BTC")), Ok(()));
    }

    #[test]
    fn origins_and_scopes_limit_agents_only() {
        let l = StaffLimits::parse("risk, platform", "login,trade", "", "").unwrap();
        assert_eq!(l.may_lift(Role::AgentT1, &hold(HoldOrigin::Risk, &[Scope::Login])), Ok(()));
        assert_eq!(
            l.may_lift(Role::AgentT1, &hold(HoldOrigin::Staff, &[Scope::Login])),
            Err(Beyond::Origin(HoldOrigin::Staff))
        );
        assert_eq!(
            l.may_lift(Role::AgentT2, &hold(HoldOrigin::Platform, &[Scope::Login, Scope::Withdraw])),
            Err(Beyond::Scope(Scope::Withdraw))
        );
        assert_eq!(l.may_lift(Role::Supervisor, &hold(HoldOrigin::Staff, &[Scope::Withdraw])), Ok(()));
    }

    #[test]
    fn own_release_amounts_replace_the_policy_for_their_role() {
        let mut policy = AuthorityLimits::new();
        policy.insert(Role::AgentT1, BTreeMap::from([("USDT".to_string(), Decimal::from(1000))]));
        let l = StaffLimits::parse("", "", "USDT=100", "").unwrap();
        let eff = l.release_authority(Role::AgentT1, &policy);
        assert_eq!(eff[&Role::AgentT1]["USDT"], Decimal::from(100));
        assert_eq!(StaffLimits::default().release_authority(Role::AgentT1, &policy), policy);
    }

    #[test]
    fn typed_limits_are_refused_naming_the_field() {
        assert_eq!(StaffLimits::parse("moon", "", "", "").unwrap_err().field, "release_origins");
        assert_eq!(StaffLimits::parse("", "everything", "", "").unwrap_err().field, "release_scopes");
        assert_eq!(StaffLimits::parse("", "", "USDT", "").unwrap_err().field, "release_amounts");
        assert_eq!(StaffLimits::parse("", "", "", "USDT=-1").unwrap_err().field, "compensation");
        assert_eq!(StaffLimits::parse("", "", "", "usdt=1.5").unwrap().compensation["USDT"], "1.5".parse().unwrap());
        let round = StaffLimits::parse("", "", "USDT=500, BTC=0.01", "").unwrap();
        assert_eq!(StaffLimits::amounts_text(&round.release_amounts), "BTC=0.01, USDT=500");
    }
}
