//! The holder's own controls over holds: freezing their account in one click (in the portal, or
//! by the single-use "this wasn't me" link of an alert email, without signing in), lifting a hold
//! themselves by step-up where its release policy allows, and passing a challenge the engine
//! asked for. A self-freeze records that the case desk must open an account_theft case.

use crate::holder::{HolderSession, STEP_UP_WINDOW_MS, verified_factors, verified_factors_since};
use crate::holds::{HoldPlan, from_plan, hold_json, insert, release_in};
use crate::risk::RiskRuntime;
use crate::signin::Origin;
use crate::{ServiceError, new_id, rfc3339, secret_digest};
use serde_json::json;
use thaw_domain::risk::reason::fact_str;
use thaw_domain::risk::{Actor, Facts, Hold, HoldOrigin, Reason, ReleasePolicy, Scope, ScopeSet};
use thaw_store::{AnyConnection, Capabilities, Db, StoreError};

/// How a self-freeze was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezeVia {
    Portal,
    EmailLink,
}

impl FreezeVia {
    pub fn code(self) -> &'static str {
        match self {
            FreezeVia::Portal => "portal",
            FreezeVia::EmailLink => "email_link",
        }
    }
}

/// A self-freeze: the hold, and whether it is new (false when one was in force already).
pub struct Frozen {
    pub hold: Hold,
    pub new: bool,
}

/// The hold of a self-freeze: everything, lifted by the owner with two factors after the
/// policy's waiting period, then withdrawals cool down.
pub fn self_freeze_plan(policy: &thaw_engines::risk::Policy, via: &str, ip: &str, at_ms: i64) -> HoldPlan {
    let mut facts = Facts::new();
    facts.insert("via".into(), fact_str(via));
    facts.insert("ip".into(), fact_str(ip));
    facts.insert("time".into(), fact_str(rfc3339(at_ms)));
    let reason = Reason::new(
        "self_freeze",
        facts,
        "您于 {time} 自行冻结了账户（来自 IP {ip}）",
        "You froze your account yourself at {time} (from IP {ip})",
    );
    HoldPlan {
        origin: HoldOrigin::SelfFreeze,
        cooldown_ms: Some(policy.cooldown_ms),
        ..HoldPlan::risk(
            ScopeSet::new([Scope::All]),
            ReleasePolicy::Owner { factors: 2, wait_ms: policy.self_freeze_wait_ms },
            &reason,
        )
    }
}

async fn freeze_in(
    conn: &mut AnyConnection,
    risk: &RiskRuntime,
    account_id: &str,
    via: FreezeVia,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<Frozen, ServiceError> {
    if let Some(h) =
        conn.holds().in_force(account_id, now_ms).await?.into_iter().find(|h| h.origin == HoldOrigin::SelfFreeze)
    {
        return Ok(Frozen { hold: h, new: false });
    }
    let plan = self_freeze_plan(&risk.engine().policy, via.code(), origin.ip, now_ms);
    let hold = from_plan(plan, account_id, None, now_ms);
    insert(conn, &hold, "owner", &format!("self-freeze via {}", via.code()), now_ms).await?;
    // The case desk opens an account_theft case from this record, with the security context.
    let history = conn.risk().history(account_id, 20).await?;
    let recent: Vec<serde_json::Value> =
        history.iter().filter_map(|(_, d)| serde_json::from_str::<serde_json::Value>(d).ok()).collect();
    let context = json!({
        "hold": hold_json(&hold),
        "via": via.code(),
        "ip": origin.ip,
        "user_agent": origin.user_agent,
        "requested_at": rfc3339(now_ms),
        "recent_decisions": recent,
    });
    conn.holds().record_pending_case(&new_id(), account_id, "account_theft", &context.to_string(), now_ms).await?;
    tracing::info!(account = account_id, via = via.code(), hold = %hold.id, "account frozen by its owner");
    Ok(Frozen { hold, new: true })
}

/// Freezes the signed-in holder's account.
pub async fn freeze(
    db: &Db,
    risk: &RiskRuntime,
    session: &HolderSession,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<Frozen, ServiceError> {
    let mut tx = db.begin_write().await?;
    let frozen = freeze_in(&mut tx, risk, session.account.id.as_str(), FreezeVia::Portal, origin, now_ms).await?;
    // Whoever else is signed in (perhaps the thief) is signed out.
    tx.holders().delete_sessions_of(session.account.id.as_str(), Some(&session.token_hash)).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(frozen)
}

/// Whether a freeze link is live (for the confirmation page; nothing is used up by looking).
pub async fn freeze_link_live(db: &Db, token: &str, now_ms: i64) -> Result<bool, ServiceError> {
    Ok(db.conn().await?.holders().freeze_link(&secret_digest(token), now_ms).await?.is_some())
}

/// Freezes an account by the link of an alert email: single use, within 24 hours.
pub async fn freeze_by_link(
    db: &Db,
    risk: &RiskRuntime,
    token: &str,
    origin: &Origin<'_>,
    now_ms: i64,
) -> Result<Frozen, ServiceError> {
    let hash = secret_digest(token);
    let mut tx = db.begin_write().await?;
    let account_id = tx.holders().freeze_link(&hash, now_ms).await?;
    let Some(account_id) = account_id.filter(|_| !hash.is_empty()) else {
        return Err(ServiceError::Refused {
            code: "freeze_link_invalid",
            message: "this link was used already, has expired, or is not a thaw link".into(),
        });
    };
    if !tx.holders().use_freeze_link(&hash, now_ms).await? {
        return Err(ServiceError::Refused {
            code: "freeze_link_invalid",
            message: "this link was used already".into(),
        });
    }
    let frozen = freeze_in(&mut tx, risk, &account_id, FreezeVia::EmailLink, origin, now_ms).await?;
    tx.holders().delete_sessions_of(&account_id, None).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(frozen)
}

/// A hold the holder lifted, and the cool-down that followed, if any.
pub struct Thawed {
    pub released: Hold,
    pub cooldown: Option<Hold>,
}

/// Lifts hold `hold_id` of the signed-in holder with the factors verified in this session.
pub async fn self_release(
    db: &Db,
    risk: &RiskRuntime,
    session: &HolderSession,
    hold_id: &str,
    now_ms: i64,
) -> Result<Thawed, ServiceError> {
    let engine = risk.engine();
    let hold = db
        .conn()
        .await?
        .holds()
        .get(hold_id)
        .await?
        .filter(|h| h.account_id == session.account.id.as_str())
        .ok_or(ServiceError::NotFound("hold"))?;
    let since = (now_ms - STEP_UP_WINDOW_MS).max(hold.created_at_ms);
    let factors = verified_factors_since(db, session, since).await?;
    let mut tx = db.begin_write().await?;
    let actor = Actor::Owner { factors: factors.len().min(255) as u8 };
    if let Err(refusal) = hold.check_release(&actor, now_ms, &engine.policy.authority) {
        return Err(ServiceError::Refused { code: refusal.code(), message: refusal.message() });
    }
    let note = format!("owner step-up with {}", factors.join(" + "));
    let released = release_in(&mut tx, &hold, "owner", &note, now_ms).await?;
    let cooldown = if hold.cooldown_ms.is_some_and(|c| c > 0) {
        tx.holds()
            .in_force(&hold.account_id, now_ms)
            .await?
            .into_iter()
            .find(|h| h.reason.code == crate::holds::COOLDOWN_REASON && h.created_at_ms == now_ms)
    } else {
        None
    };
    tx.holders().clear_factors(&session.token_hash).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(account = %hold.account_id, hold = %hold.id, "hold lifted by its owner");
    Ok(Thawed { released, cooldown })
}

/// A decision that asked the holder to verify, as the challenge page shows it.
pub struct Challenge {
    pub decision: serde_json::Value,
    /// The event the challenge is about (place, IP, device).
    pub event: serde_json::Value,
}

/// The challenge of decision `decision_id`, if it belongs to the signed-in holder.
pub async fn challenge(db: &Db, session: &HolderSession, decision_id: &str) -> Result<Challenge, ServiceError> {
    let found = db.conn().await?.risk().decision_with_event(decision_id).await?;
    let Some((account_id, action, decision, event)) = found else { return Err(ServiceError::NotFound("challenge")) };
    if account_id != session.account.id.as_str() || action != "challenge" {
        return Err(ServiceError::NotFound("challenge"));
    }
    let parse = |s: &str| serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(Challenge { decision: parse(&decision)?, event: parse(&event)? })
}

/// Passes the challenge of `decision_id` after the holder verified a factor in this session:
/// reports `challenge_passed` to the engine with the challenged event's IP, device and place,
/// so the engine trusts them and lifts what one factor may lift. Idempotent per decision.
pub async fn pass_challenge(
    db: &Db,
    risk: &RiskRuntime,
    session: &HolderSession,
    decision_id: &str,
    now_ms: i64,
) -> Result<serde_json::Value, ServiceError> {
    let c = challenge(db, session, decision_id).await?;
    if verified_factors(db, session, now_ms).await?.is_empty() {
        return Err(ServiceError::Refused { code: "step_up_required", message: "verify with one factor first".into() });
    }
    let e = &c.event;
    let text = |k: &str| e.get(k).and_then(|v| v.as_str()).map(String::from);
    let input = thaw_domain::risk::EventInput {
        id: Some(format!("thaw-challenge-{decision_id}")),
        account_id: Some(session.account.id.as_str().to_string()),
        kind: Some("challenge_passed".into()),
        occurred_at_ms: Some(now_ms),
        ip: text("ip"),
        device_id: text("device_id"),
        user_agent: text("user_agent"),
        geo: e.get("geo").and_then(|g| serde_json::from_value(g.clone()).ok()),
        metadata: [("decision_id".to_string(), serde_json::Value::from(decision_id))].into_iter().collect(),
        ..Default::default()
    };
    let event = input.validate(now_ms)?;
    let body = json!({ "id": event.id, "kind": "challenge_passed", "decision_id": decision_id }).to_string();
    let ingested = crate::events::ingest(db, risk, &event, &body, now_ms).await?;
    Ok(ingested.decision)
}
