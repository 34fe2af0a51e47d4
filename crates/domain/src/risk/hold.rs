//! Holds: restrictions on an account by scope, with the release policy that decides who may
//! lift them (DESIGN.md's table), checked in one place: [`Hold::check_release`].

use super::{Money, Reason};
use crate::{Invalid, Role};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Login,
    Trade,
    Withdraw,
    All,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Login, Scope::Trade, Scope::Withdraw, Scope::All];

    pub fn code(self) -> &'static str {
        match self {
            Scope::Login => "login",
            Scope::Trade => "trade",
            Scope::Withdraw => "withdraw",
            Scope::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// The scopes of one hold; `all` covers every other scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> ScopeSet {
        let mut v: Vec<Scope> = scopes.into_iter().collect();
        v.sort();
        v.dedup();
        if v.contains(&Scope::All) {
            v = vec![Scope::All];
        }
        ScopeSet(v)
    }

    pub fn parse_list(field: &str, items: &[String]) -> Result<ScopeSet, Invalid> {
        let mut scopes = Vec::new();
        for s in items {
            scopes.push(Scope::parse(s).ok_or_else(|| {
                Invalid::new(field, "unknown_scope", format!("unknown scope '{s}'; one of login, trade, withdraw, all"))
            })?);
        }
        if scopes.is_empty() {
            return Err(Invalid::new(field, "required", "at least one scope"));
        }
        Ok(ScopeSet::new(scopes))
    }

    /// Whether this hold stops `scope`.
    pub fn blocks(&self, scope: Scope) -> bool {
        self.0.contains(&Scope::All) || self.0.contains(&scope)
    }

    pub fn scopes(&self) -> &[Scope] {
        &self.0
    }

    /// Stored form: `login,withdraw`.
    pub fn to_text(&self) -> String {
        self.0.iter().map(|s| s.code()).collect::<Vec<_>>().join(",")
    }

    pub fn from_text(s: &str) -> Option<ScopeSet> {
        let scopes: Option<Vec<Scope>> = s.split(',').filter(|p| !p.is_empty()).map(Scope::parse).collect();
        scopes.map(ScopeSet::new)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldOrigin {
    /// Placed by the risk engine (a detector or an operator's rule).
    Risk,
    /// Placed by a staff member.
    Staff,
    /// Placed by the platform through the API.
    Platform,
    /// Placed for compliance (sanctions, legal request).
    Compliance,
    /// The owner froze their own account.
    #[serde(rename = "self")]
    SelfFreeze,
    /// No activity for a long time.
    Inactivity,
}

impl HoldOrigin {
    pub const ALL: [HoldOrigin; 6] = [
        HoldOrigin::Risk,
        HoldOrigin::Staff,
        HoldOrigin::Platform,
        HoldOrigin::Compliance,
        HoldOrigin::SelfFreeze,
        HoldOrigin::Inactivity,
    ];

    pub fn code(self) -> &'static str {
        match self {
            HoldOrigin::Risk => "risk",
            HoldOrigin::Staff => "staff",
            HoldOrigin::Platform => "platform",
            HoldOrigin::Compliance => "compliance",
            HoldOrigin::SelfFreeze => "self",
            HoldOrigin::Inactivity => "inactivity",
        }
    }

    pub fn parse(s: &str) -> Option<HoldOrigin> {
        HoldOrigin::ALL.into_iter().find(|o| o.code() == s)
    }
}

/// Who may lift a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReleasePolicy {
    /// The owner, after step-up with `factors` factors and not before `wait_ms` after the hold
    /// was placed; staff may help (a supervisor only, for a self-freeze).
    Owner { factors: u8, wait_ms: i64 },
    /// Nobody: it ends when it expires.
    ExpiryOnly,
    /// An agent within their authority; above it a supervisor.
    Agent,
    /// Compliance officers only; the owner is told only that a review is under way.
    ComplianceOnly,
}

impl ReleasePolicy {
    /// Names used in the policy file and the API.
    pub fn code(self) -> &'static str {
        match self {
            ReleasePolicy::Owner { factors: 2.., .. } => "owner_two_factors",
            ReleasePolicy::Owner { .. } => "owner_one_factor",
            ReleasePolicy::ExpiryOnly => "expiry_only",
            ReleasePolicy::Agent => "agent",
            ReleasePolicy::ComplianceOnly => "compliance_only",
        }
    }

    /// Parses a policy name; `wait_ms` is the waiting period of `owner_two_factors`.
    pub fn parse(s: &str, wait_ms: i64) -> Option<ReleasePolicy> {
        match s {
            "owner_one_factor" => Some(ReleasePolicy::Owner { factors: 1, wait_ms: 0 }),
            "owner_two_factors" => Some(ReleasePolicy::Owner { factors: 2, wait_ms }),
            "expiry_only" => Some(ReleasePolicy::ExpiryOnly),
            "agent" => Some(ReleasePolicy::Agent),
            "compliance_only" => Some(ReleasePolicy::ComplianceOnly),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Active,
    Released,
    Expired,
}

impl HoldStatus {
    pub fn code(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<HoldStatus> {
        [HoldStatus::Active, HoldStatus::Released, HoldStatus::Expired].into_iter().find(|h| h.code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub id: String,
    pub account_id: String,
    pub scopes: ScopeSet,
    pub origin: HoldOrigin,
    pub release: ReleasePolicy,
    pub reason: Reason,
    /// Only "a compliance review is under way" may be shown to the owner.
    pub confidential: bool,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    /// After release, withdrawals cool down this long.
    pub cooldown_ms: Option<i64>,
    /// The amount at stake, for the agents' authority.
    pub amount: Option<Money>,
    pub decision_id: Option<String>,
    pub status: HoldStatus,
    pub released_at_ms: Option<i64>,
    pub released_by: Option<String>,
}

/// Who is asking to lift a hold.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The account holder, with the number of factors verified in this step-up.
    Owner {
        factors: u8,
    },
    Staff {
        id: String,
        role: Role,
    },
    /// The platform's backend (API key).
    Platform,
}

/// Why a release was refused; each maps to a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseRefusal {
    NotActive,
    OnlyExpiry { expires_at_ms: Option<i64> },
    ComplianceOnly,
    NeedsFactors { required: u8 },
    Waiting { until_ms: i64 },
    AboveAuthority,
    NotAllowed,
}

impl ReleaseRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            ReleaseRefusal::NotActive => "hold_not_active",
            ReleaseRefusal::OnlyExpiry { .. } => "release_only_by_expiry",
            ReleaseRefusal::ComplianceOnly => "compliance_only",
            ReleaseRefusal::NeedsFactors { .. } => "step_up_required",
            ReleaseRefusal::Waiting { .. } => "waiting_period",
            ReleaseRefusal::AboveAuthority => "above_authority",
            ReleaseRefusal::NotAllowed => "not_allowed",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ReleaseRefusal::NotActive => "the hold is no longer active".into(),
            ReleaseRefusal::OnlyExpiry { .. } => {
                "this hold cannot be lifted early by anyone; it ends when it expires".into()
            }
            ReleaseRefusal::ComplianceOnly => "only a compliance officer may lift this hold".into(),
            ReleaseRefusal::NeedsFactors { required } => format!("the owner must verify with {required} factor(s)"),
            ReleaseRefusal::Waiting { .. } => "the waiting period of this hold has not passed".into(),
            ReleaseRefusal::AboveAuthority => "the amount is above your authority; a supervisor must approve".into(),
            ReleaseRefusal::NotAllowed => "you may not lift this hold".into(),
        }
    }
}

/// The largest amount per asset each role may release on its own (policy file `[authority]`).
/// Supervisors have no limit; a role without a limit for an asset needs a supervisor.
pub type AuthorityLimits = BTreeMap<Role, BTreeMap<String, Decimal>>;

impl Hold {
    /// Whether the hold restricts at `now_ms` (active and not past its expiry).
    pub fn in_force(&self, now_ms: i64) -> bool {
        self.status == HoldStatus::Active && self.expires_at_ms.is_none_or(|e| e > now_ms)
    }

    /// Whether `actor` may lift this hold now.
    pub fn check_release(&self, actor: &Actor, now_ms: i64, limits: &AuthorityLimits) -> Result<(), ReleaseRefusal> {
        if !self.in_force(now_ms) {
            return Err(ReleaseRefusal::NotActive);
        }
        match (self.release, actor) {
            (ReleasePolicy::ExpiryOnly, _) => Err(ReleaseRefusal::OnlyExpiry { expires_at_ms: self.expires_at_ms }),
            (ReleasePolicy::ComplianceOnly, Actor::Staff { role: Role::Compliance, .. }) => Ok(()),
            (ReleasePolicy::ComplianceOnly, _) => Err(ReleaseRefusal::ComplianceOnly),
            (ReleasePolicy::Owner { factors, wait_ms }, Actor::Owner { factors: have }) => {
                if *have < factors {
                    Err(ReleaseRefusal::NeedsFactors { required: factors })
                } else if now_ms < self.created_at_ms + wait_ms {
                    Err(ReleaseRefusal::Waiting { until_ms: self.created_at_ms + wait_ms })
                } else {
                    Ok(())
                }
            }
            (ReleasePolicy::Owner { .. }, Actor::Staff { role, .. }) => {
                let allowed = if self.origin == HoldOrigin::SelfFreeze {
                    *role == Role::Supervisor
                } else {
                    matches!(role, Role::AgentT1 | Role::AgentT2 | Role::Supervisor)
                };
                if allowed { Ok(()) } else { Err(ReleaseRefusal::NotAllowed) }
            }
            (ReleasePolicy::Agent, Actor::Staff { role: Role::Supervisor, .. }) => Ok(()),
            (ReleasePolicy::Agent, Actor::Staff { role: role @ (Role::AgentT1 | Role::AgentT2), .. }) => {
                match &self.amount {
                    None => Ok(()),
                    Some(m) => match limits.get(role).and_then(|l| l.get(&m.asset)) {
                        Some(limit) if m.amount <= *limit => Ok(()),
                        _ => Err(ReleaseRefusal::AboveAuthority),
                    },
                }
            }
            (ReleasePolicy::Agent | ReleasePolicy::Owner { .. }, Actor::Platform)
                if self.origin == HoldOrigin::Platform =>
            {
                Ok(())
            }
            _ => Err(ReleaseRefusal::NotAllowed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::Reason;

    fn hold(origin: HoldOrigin, release: ReleasePolicy) -> Hold {
        Hold {
            id: "h1".into(),
            account_id: "u-1".into(),
            scopes: ScopeSet::new([Scope::Withdraw]),
            origin,
            release,
            reason: Reason::new("test", Default::default(), "测试", "test"),
            confidential: false,
            created_at_ms: 1_000,
            expires_at_ms: None,
            cooldown_ms: None,
            amount: None,
            decision_id: None,
            status: HoldStatus::Active,
            released_at_ms: None,
            released_by: None,
        }
    }

    fn staff(role: Role) -> Actor {
        Actor::Staff { id: "s".into(), role }
    }

    fn limits() -> AuthorityLimits {
        let mut l = AuthorityLimits::new();
        l.insert(Role::AgentT1, [("USDT".to_string(), Decimal::from(10_000))].into());
        l
    }

    #[test]
    fn compliance_holds_refuse_everyone_but_compliance() {
        let h = hold(HoldOrigin::Compliance, ReleasePolicy::ComplianceOnly);
        for role in [Role::AgentT1, Role::AgentT2, Role::Supervisor, Role::Admin] {
            assert_eq!(
                h.check_release(&staff(role), 2_000, &limits()),
                Err(ReleaseRefusal::ComplianceOnly),
                "{role:?}"
            );
        }
        assert_eq!(
            h.check_release(&Actor::Owner { factors: 2 }, 2_000, &limits()),
            Err(ReleaseRefusal::ComplianceOnly)
        );
        assert_eq!(h.check_release(&Actor::Platform, 2_000, &limits()), Err(ReleaseRefusal::ComplianceOnly));
        assert_eq!(h.check_release(&staff(Role::Compliance), 2_000, &limits()), Ok(()));
    }

    #[test]
    fn a_credential_change_cool_down_refuses_everyone_until_it_expires() {
        let mut h = hold(HoldOrigin::Risk, ReleasePolicy::ExpiryOnly);
        h.expires_at_ms = Some(5_000);
        for actor in [staff(Role::Supervisor), staff(Role::Compliance), Actor::Owner { factors: 2 }, Actor::Platform] {
            assert!(matches!(h.check_release(&actor, 2_000, &limits()), Err(ReleaseRefusal::OnlyExpiry { .. })));
        }
        assert!(h.in_force(4_999));
        assert!(!h.in_force(5_000), "expires on time");
        assert_eq!(h.check_release(&staff(Role::Supervisor), 5_000, &limits()), Err(ReleaseRefusal::NotActive));
    }

    #[test]
    fn a_self_freeze_needs_two_factors_and_the_waiting_period() {
        let h = hold(HoldOrigin::SelfFreeze, ReleasePolicy::Owner { factors: 2, wait_ms: 7_200_000 });
        assert_eq!(
            h.check_release(&Actor::Owner { factors: 1 }, 9_000_000, &limits()),
            Err(ReleaseRefusal::NeedsFactors { required: 2 })
        );
        assert_eq!(
            h.check_release(&Actor::Owner { factors: 2 }, 5_000, &limits()),
            Err(ReleaseRefusal::Waiting { until_ms: 7_201_000 })
        );
        assert_eq!(h.check_release(&Actor::Owner { factors: 2 }, 7_201_000, &limits()), Ok(()));
        assert_eq!(
            h.check_release(&staff(Role::AgentT2), 9_000_000, &limits()),
            Err(ReleaseRefusal::NotAllowed),
            "agents cannot be talked into it"
        );
        assert_eq!(h.check_release(&staff(Role::Supervisor), 9_000_000, &limits()), Ok(()));
    }

    #[test]
    fn agents_release_within_their_authority_and_supervisors_above_it() {
        let mut h = hold(HoldOrigin::Risk, ReleasePolicy::Agent);
        h.amount = Some(Money { amount: Decimal::from(9_000), asset: "USDT".into() });
        assert_eq!(h.check_release(&staff(Role::AgentT1), 2_000, &limits()), Ok(()));
        h.amount = Some(Money { amount: Decimal::from(25_000), asset: "USDT".into() });
        assert_eq!(h.check_release(&staff(Role::AgentT1), 2_000, &limits()), Err(ReleaseRefusal::AboveAuthority));
        assert_eq!(
            h.check_release(&staff(Role::AgentT2), 2_000, &limits()),
            Err(ReleaseRefusal::AboveAuthority),
            "no limit set for t2"
        );
        assert_eq!(h.check_release(&staff(Role::Supervisor), 2_000, &limits()), Ok(()));
        assert_eq!(h.check_release(&Actor::Owner { factors: 2 }, 2_000, &limits()), Err(ReleaseRefusal::NotAllowed));
    }

    #[test]
    fn the_platform_lifts_only_holds_it_placed() {
        let h = hold(HoldOrigin::Platform, ReleasePolicy::Agent);
        assert_eq!(h.check_release(&Actor::Platform, 2_000, &limits()), Ok(()));
        let h = hold(HoldOrigin::Risk, ReleasePolicy::Agent);
        assert_eq!(h.check_release(&Actor::Platform, 2_000, &limits()), Err(ReleaseRefusal::NotAllowed));
    }

    #[test]
    fn scope_all_blocks_everything_and_sets_round_trip() {
        let s = ScopeSet::new([Scope::Withdraw, Scope::All, Scope::Login]);
        assert_eq!(s.to_text(), "all");
        assert!(Scope::ALL.iter().all(|x| s.blocks(*x)));
        let s = ScopeSet::from_text("withdraw,login").unwrap();
        assert!(s.blocks(Scope::Login) && s.blocks(Scope::Withdraw) && !s.blocks(Scope::Trade));
        assert_eq!(s.to_text(), "login,withdraw");
        assert!(ScopeSet::parse_list("scopes", &["everything".into()]).is_err());
    }
}
