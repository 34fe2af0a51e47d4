//! The demo's security centre: holders with enrolled factors and an anti-phishing code, and an
//! active hold of every kind, so a newcomer can try a self-thaw (and see what they cannot lift)
//! right after `thaw serve --demo`. Idempotent: a second run changes nothing.

use crate::demo::demo_account;
use crate::holds::{HoldPlan, from_plan, insert};
use crate::risk::RiskRuntime;
use crate::{ServiceError, new_id};
use thaw_domain::risk::reason::{fact_int, fact_str};
use thaw_domain::risk::{Facts, HoldOrigin, Money, Reason, ReleasePolicy, Scope, ScopeSet};
use thaw_store::{Capabilities, Db, FactorRecord, Subject};

/// The TOTP secret of the demo holders (base32): add it to an authenticator app, or compute a
/// code with `python3 -c "import pyotp; print(pyotp.TOTP('…').now())"`.
pub const DEMO_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const DEMO_ANTI_PHISHING: &str = "DemoHarbor2026";

/// A demo holder and the hold placed on their account.
pub struct DemoHolder {
    pub account_id: String,
    pub email: String,
    pub hold: &'static str,
}

/// Demo account indices used here, away from the day's attack scenarios.
const HOLDERS: &[(usize, &str)] = &[
    (290, "self-freeze (two factors, waiting period over)"),
    (291, "new device (one factor)"),
    (292, "compliance review (staff only, reason hidden)"),
    (293, "credential-change cool-down (expires by itself)"),
    (294, "large withdrawal (an agent reviews)"),
    (295, "none: sign in and freeze it yourself"),
];

const HOUR: i64 = 3_600_000;

pub async fn seed(db: &Db, risk: &RiskRuntime, now_ms: i64) -> Result<Vec<DemoHolder>, ServiceError> {
    let holders: Vec<DemoHolder> = HOLDERS
        .iter()
        .map(|(i, hold)| {
            let a = demo_account(*i, now_ms);
            DemoHolder {
                account_id: a.id.as_str().to_string(),
                email: a.email.map(|e| e.as_str().to_string()).unwrap_or_default(),
                hold,
            }
        })
        .collect();
    let mut tx = db.begin_write().await?;
    if tx.staff().setting("demo_security_seeded").await?.is_some() {
        return Ok(holders);
    }
    let engine = risk.engine();
    let policy = &engine.policy;
    for (n, h) in holders.iter().enumerate() {
        let subject = Subject::Account(&h.account_id);
        tx.factors()
            .insert(
                subject,
                &FactorRecord {
                    id: new_id(),
                    kind: "totp".into(),
                    label: "TOTP".into(),
                    secret: DEMO_TOTP_SECRET.into(),
                    confirmed: true,
                    last_step: 0,
                    created_at_ms: now_ms,
                    last_used_at_ms: None,
                },
            )
            .await?;
        tx.accounts().set_anti_phishing_code(&h.account_id, DEMO_ANTI_PHISHING, now_ms).await?;
        let mut facts = Facts::new();
        let plan = match n {
            0 => Some((
                crate::freeze::self_freeze_plan(policy, "portal", "198.51.100.23", now_ms - 3 * HOUR),
                now_ms - 3 * HOUR,
            )),
            1 => {
                facts.insert("device".into(), fact_str("android-7f3a"));
                facts.insert("ip".into(), fact_str("203.0.113.50"));
                facts.insert("city".into(), fact_str("Frankfurt"));
                let reason = Reason::new(
                    "new_device",
                    facts,
                    "新设备 {device} 从 {city}（IP {ip}）登录",
                    "Sign-in from a new device {device} in {city} (IP {ip})",
                );
                Some((
                    HoldPlan {
                        cooldown_ms: Some(policy.cooldown_ms),
                        ..HoldPlan::risk(
                            ScopeSet::new([Scope::Withdraw]),
                            ReleasePolicy::Owner { factors: 1, wait_ms: 0 },
                            &reason,
                        )
                    },
                    now_ms - HOUR,
                ))
            }
            2 => {
                facts.insert("list".into(), fact_str("ofac"));
                let reason = Reason::new(
                    "listed_address",
                    facts,
                    "提现地址在制裁名单上",
                    "Withdrawal address is on a sanctions list",
                );
                Some((
                    HoldPlan {
                        origin: HoldOrigin::Compliance,
                        confidential: true,
                        ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::ComplianceOnly, &reason)
                    },
                    now_ms - 5 * HOUR,
                ))
            }
            3 => {
                facts.insert("hours".into(), fact_int(24));
                let reason = Reason::new(
                    "credential_change",
                    facts,
                    "修改密码后 {hours} 小时内暂停提现",
                    "Withdrawals pause for {hours} hours after a password change",
                );
                Some((
                    HoldPlan {
                        expires_at_ms: Some(now_ms + 20 * HOUR),
                        ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::ExpiryOnly, &reason)
                    },
                    now_ms - 4 * HOUR,
                ))
            }
            4 => {
                facts.insert("amount".into(), fact_str("48000"));
                facts.insert("asset".into(), fact_str("USDT"));
                let reason = Reason::new(
                    "unusual_amount",
                    facts,
                    "提现 {amount} {asset}，远高于您平时的金额",
                    "Withdrawal of {amount} {asset}, far above your usual amounts",
                );
                Some((
                    HoldPlan {
                        amount: Some(Money { amount: "48000".parse().expect("decimal"), asset: "USDT".into() }),
                        ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::Agent, &reason)
                    },
                    now_ms - 2 * HOUR,
                ))
            }
            _ => None,
        };
        if let Some((plan, placed_at)) = plan {
            let hold = from_plan(plan, &h.account_id, None, placed_at);
            insert(&mut tx, &hold, "demo", "demo hold", placed_at).await?;
        }
    }
    tx.staff().set_setting("demo_security_seeded", "true", now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(holders)
}
