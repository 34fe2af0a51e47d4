//! Holds: placing them (engine, platform, staff, sweeps), lifting them under their release
//! policy, letting them expire on time. Every change is logged with actor, time and note, and
//! announced to the platform through the outbox, in the same transaction.

use crate::risk::RiskRuntime;
use crate::{ServiceError, new_id, outbox, rfc3339};
use thaw_domain::risk::hold::AuthorityLimits;
use thaw_domain::risk::{Actor, Hold, HoldOrigin, HoldStatus, Reason, ReleasePolicy, Scope, ScopeSet};
use thaw_domain::{Account, AccountId, AccountInput};
use thaw_engines::risk::AccountState;
pub use thaw_engines::risk::HoldPlan;
use thaw_store::{AnyConnection, Capabilities, Db, HoldChange, StoreError};

/// A hold as the API and webhooks show it.
pub fn hold_json(h: &Hold) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": h.id,
        "account_id": h.account_id,
        "scopes": h.scopes.scopes().iter().map(|s| s.code()).collect::<Vec<_>>(),
        "origin": h.origin.code(),
        "release_policy": h.release.code(),
        "reason": h.reason,
        "confidential": h.confidential,
        "status": h.status.code(),
        "created_at": rfc3339(h.created_at_ms),
    });
    let o = v.as_object_mut().expect("object");
    if let Some(e) = h.expires_at_ms {
        o.insert("expires_at".into(), rfc3339(e).into());
    }
    if let ReleasePolicy::Owner { factors, wait_ms } = h.release {
        o.insert("owner_factors".into(), factors.into());
        if wait_ms > 0 {
            o.insert("owner_may_release_after".into(), rfc3339(h.created_at_ms + wait_ms).into());
        }
    }
    if let Some(c) = h.cooldown_ms {
        o.insert("cooldown_hours_after_release".into(), (c / 3_600_000).into());
    }
    if let Some(m) = &h.amount {
        o.insert("amount".into(), m.amount.to_string().into());
        o.insert("asset".into(), m.asset.clone().into());
    }
    if let Some(d) = &h.decision_id {
        o.insert("decision_id".into(), d.clone().into());
    }
    if let Some(r) = h.released_at_ms {
        o.insert("released_at".into(), rfc3339(r).into());
    }
    if let Some(b) = &h.released_by {
        o.insert("released_by".into(), b.clone().into());
    }
    v
}

/// A new active hold from a plan (the engine's, or one placed by hand).
pub fn from_plan(plan: HoldPlan, account_id: &str, decision_id: Option<&str>, now_ms: i64) -> Hold {
    Hold {
        id: new_id(),
        account_id: account_id.to_string(),
        scopes: plan.scopes,
        origin: plan.origin,
        release: plan.release,
        reason: plan.reason,
        confidential: plan.confidential,
        created_at_ms: now_ms,
        expires_at_ms: plan.expires_at_ms,
        cooldown_ms: plan.cooldown_ms,
        amount: plan.amount,
        decision_id: decision_id.map(String::from),
        status: HoldStatus::Active,
        released_at_ms: None,
        released_by: None,
    }
}

/// Stores a new hold inside the caller's transaction: the hold, its first history entry, its
/// expiry timer and the `hold.created` webhook.
pub async fn insert(
    conn: &mut AnyConnection,
    hold: &Hold,
    actor: &str,
    note: &str,
    now_ms: i64,
) -> thaw_store::Result<()> {
    conn.holds().insert(hold, actor).await?;
    record(conn, hold, "created", actor, note, None, HoldStatus::Active, now_ms).await?;
    if let Some(at) = hold.expires_at_ms {
        conn.jobs().schedule(&new_id(), "hold_expiry", &hold.id, at, now_ms).await?;
    }
    outbox::enqueue(conn, "hold.created", &hold_json(hold), now_ms).await?;
    // The cool-down after a release is announced with the release itself.
    if hold.reason.code != COOLDOWN_REASON {
        crate::alerts::queue(conn, &hold.account_id, "hold_placed", crate::alerts::hold_facts(hold), now_ms).await?;
    }
    Ok(())
}

/// The reason code of the withdrawal cool-down that follows a lifted hold.
pub const COOLDOWN_REASON: &str = "cooldown_after_release";

/// Appends a change to a hold's history (and, through the store, to the audit log).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record(
    conn: &mut AnyConnection,
    hold: &Hold,
    change: &str,
    actor: &str,
    note: &str,
    before: Option<HoldStatus>,
    after: HoldStatus,
    now_ms: i64,
) -> thaw_store::Result<()> {
    conn.holds()
        .record_change(&HoldChange {
            id: new_id(),
            hold_id: hold.id.clone(),
            account_id: hold.account_id.clone(),
            change: change.into(),
            actor: actor.into(),
            at_ms: now_ms,
            note: note.chars().take(1000).collect(),
            status_before: before.map(|s| s.code().to_string()),
            status_after: after.code().into(),
        })
        .await
}

/// Makes sure thaw knows the account (the platform may not have synced it yet).
pub async fn ensure_account(
    conn: &mut AnyConnection,
    id: &AccountId,
    created_at_ms: i64,
    now_ms: i64,
) -> thaw_store::Result<Account> {
    if let Some(a) = conn.accounts().get(id).await? {
        return Ok(a);
    }
    let account = AccountInput { created_at_ms: Some(created_at_ms.min(now_ms)), ..Default::default() }
        .validate(id.clone(), now_ms)
        .expect("defaults are valid");
    conn.accounts().insert_if_absent(&account).await?;
    Ok(conn.accounts().get(id).await?.unwrap_or(account))
}

/// Lifts a hold inside the caller's transaction, after its release policy allowed `actor`.
/// A cool-down hold on withdrawals follows when the hold asks for one.
pub async fn release_in(
    conn: &mut AnyConnection,
    hold: &Hold,
    actor_label: &str,
    note: &str,
    now_ms: i64,
) -> Result<Hold, ServiceError> {
    if !conn.holds().close(&hold.id, HoldStatus::Released, now_ms, actor_label).await? {
        return Err(ServiceError::Refused { code: "hold_not_active", message: "the hold is no longer active".into() });
    }
    record(conn, hold, "released", actor_label, note, Some(HoldStatus::Active), HoldStatus::Released, now_ms).await?;
    let released = Hold {
        status: HoldStatus::Released,
        released_at_ms: Some(now_ms),
        released_by: Some(actor_label.into()),
        ..hold.clone()
    };
    outbox::enqueue(conn, "hold.released", &hold_json(&released), now_ms).await?;
    crate::alerts::queue(conn, &hold.account_id, "hold_released", crate::alerts::hold_facts(&released), now_ms).await?;
    if let Some(cooldown) = hold.cooldown_ms.filter(|c| *c > 0) {
        let hours = cooldown / 3_600_000;
        let mut facts = thaw_domain::risk::Facts::new();
        facts.insert("hours".into(), hours.into());
        facts.insert("released_hold".into(), hold.id.clone().into());
        facts.insert("reason".into(), hold.reason.code.clone().into());
        let reason = Reason::new(
            COOLDOWN_REASON,
            facts,
            "限制解除后，提现冷静期 {hours} 小时",
            "Withdrawals cool down for {hours} hours after the restriction was lifted",
        );
        let plan = HoldPlan {
            expires_at_ms: Some(now_ms + cooldown),
            ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::ExpiryOnly, &reason)
        };
        let cool = from_plan(plan, &hold.account_id, hold.decision_id.as_deref(), now_ms);
        insert(conn, &cool, "thaw", "cool-down after release", now_ms).await?;
    }
    Ok(released)
}

/// Whether `actor` may lift `hold` now: its release policy, and for staff also their own
/// limits (origins, scopes, amounts). Every route that lifts a hold asks this.
pub async fn check_release_in(
    conn: &mut AnyConnection,
    hold: &Hold,
    actor: &Actor,
    policy_limits: &AuthorityLimits,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let own;
    let limits = match actor {
        Actor::Staff { id, role } => {
            let mine = conn.staff().limits(id).await?;
            if hold.in_force(now_ms)
                && let Err(beyond) = mine.may_lift(*role, hold)
            {
                return Err(ServiceError::Refused { code: beyond.code(), message: beyond.message() });
            }
            own = mine.release_authority(*role, policy_limits);
            &own
        }
        _ => policy_limits,
    };
    hold.check_release(actor, now_ms, limits)
        .map_err(|refusal| ServiceError::Refused { code: refusal.code(), message: refusal.message() })
}

/// Lifts hold `id` if `actor` may; the refusal otherwise says why (a stable code).
pub async fn release(
    db: &Db,
    risk: &RiskRuntime,
    id: &str,
    actor: &Actor,
    actor_label: &str,
    note: &str,
    now_ms: i64,
) -> Result<Hold, ServiceError> {
    let engine = risk.engine();
    let mut tx = db.begin_write().await?;
    let hold = tx.holds().get(crate::lookup_id(id, "hold")?).await?.ok_or(ServiceError::NotFound("hold"))?;
    check_release_in(&mut tx, &hold, actor, &engine.policy.authority, now_ms).await?;
    let released = release_in(&mut tx, &hold, actor_label, note, now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(released)
}

/// Expires hold `id` if it is due; idempotent (a hold expires once, whoever runs the job).
pub async fn expire(db: &Db, id: &str, now_ms: i64) -> Result<bool, ServiceError> {
    let mut tx = db.begin_write().await?;
    let Some(hold) = tx.holds().get(id).await? else { return Ok(false) };
    if hold.status != HoldStatus::Active || hold.expires_at_ms.is_none_or(|e| e > now_ms) {
        return Ok(false);
    }
    if !tx.holds().close(id, HoldStatus::Expired, now_ms, "thaw").await? {
        return Ok(false);
    }
    record(&mut tx, &hold, "expired", "thaw", "expired on time", Some(HoldStatus::Active), HoldStatus::Expired, now_ms)
        .await?;
    let expired =
        Hold { status: HoldStatus::Expired, released_at_ms: Some(now_ms), released_by: Some("thaw".into()), ..hold };
    outbox::enqueue(&mut tx, "hold.expired", &hold_json(&expired), now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(true)
}

pub async fn place(
    db: &Db,
    account_id: &str,
    new: HoldPlan,
    actor_label: &str,
    note: &str,
    now_ms: i64,
) -> Result<Hold, ServiceError> {
    let id = AccountId::parse("account_id", account_id)?;
    if new.expires_at_ms.is_some_and(|e| e <= now_ms) {
        return Err(thaw_domain::Invalid::new("expires_at", "in_past", "expires_at must lie in the future").into());
    }
    if new.release == ReleasePolicy::ExpiryOnly && new.expires_at_ms.is_none() {
        return Err(thaw_domain::Invalid::new(
            "expires_at",
            "required",
            "a hold released only by expiry needs expires_at",
        )
        .into());
    }
    // Nobody can lift such a hold early, so one placed by hand may not outlast a week.
    if new.release == ReleasePolicy::ExpiryOnly && new.expires_at_ms.is_some_and(|e| e > now_ms + 7 * 86_400_000) {
        return Err(thaw_domain::Invalid::new(
            "expires_at",
            "too_far",
            "a hold only expiry can lift may last at most 7 days when placed by hand",
        )
        .into());
    }
    let hold = from_plan(new, id.as_str(), None, now_ms);
    let mut tx = db.begin_write().await?;
    ensure_account(&mut tx, &id, now_ms, now_ms).await?;
    insert(&mut tx, &hold, actor_label, note, now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(hold)
}

/// What the platform enforces on every sign-in, trade and withdrawal.
pub struct Status {
    pub holds: Vec<Hold>,
}

impl Status {
    pub fn blocks(&self, scope: Scope) -> bool {
        self.holds.iter().any(|h| h.scopes.blocks(scope))
    }
}

pub async fn status(db: &Db, account_id: &str, now_ms: i64) -> Result<Status, ServiceError> {
    let id = AccountId::parse("id", account_id)?;
    Ok(Status { holds: db.conn().await?.holds().in_force(id.as_str(), now_ms).await? })
}

pub async fn list(db: &Db, account_id: &str, only_in_force: bool, now_ms: i64) -> Result<Vec<Hold>, ServiceError> {
    let id = AccountId::parse("id", account_id)?;
    let mut conn = db.conn().await?;
    Ok(if only_in_force {
        conn.holds().in_force(id.as_str(), now_ms).await?
    } else {
        conn.holds().for_account(id.as_str(), 500).await?
    })
}

pub async fn get(db: &Db, id: &str) -> Result<(Hold, Vec<HoldChange>), ServiceError> {
    let mut conn = db.conn().await?;
    let hold = conn.holds().get(crate::lookup_id(id, "hold")?).await?.ok_or(ServiceError::NotFound("hold"))?;
    let changes = conn.holds().changes(id).await?;
    Ok((hold, changes))
}

/// Holds {all} on accounts idle longer than the policy's inactivity period; each account once
/// per idle spell (a hold the owner lifted is not placed again until new activity). Returns how
/// many holds were placed.
pub async fn inactivity_sweep(db: &Db, risk: &RiskRuntime, now_ms: i64) -> Result<usize, ServiceError> {
    let engine = risk.engine();
    let (enabled, idle_ms) = engine.policy.inactivity;
    if !enabled {
        return Ok(0);
    }
    let candidates = db.conn().await?.risk().inactive_since(now_ms - idle_ms, 1_000).await?;
    let mut placed = 0;
    for (account_id, _) in candidates {
        let mut tx = db.begin_write().await?;
        // Lock the account's risk row so that two sweeps (or an event) cannot interleave here.
        // The stored column is the last activity to within an hour; the state has it exactly.
        let state = tx.risk().lock_state(&account_id, now_ms).await?;
        let state: AccountState = match state {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("risk state: {e}")))?,
            None => continue,
        };
        let Some(last_activity) = state.last_activity_at.filter(|at| *at < now_ms - idle_ms) else { continue };
        let earlier = tx.holds().for_account(&account_id, 50).await?;
        if earlier.iter().any(|h| {
            h.origin == HoldOrigin::Inactivity && (h.status == HoldStatus::Active || h.created_at_ms > last_activity)
        }) {
            continue;
        }
        let reason = thaw_engines::risk::detectors::inactivity_reason(last_activity, now_ms);
        let plan = HoldPlan {
            origin: HoldOrigin::Inactivity,
            ..HoldPlan::risk(ScopeSet::new([Scope::All]), ReleasePolicy::Owner { factors: 1, wait_ms: 0 }, &reason)
        };
        let hold = from_plan(plan, &account_id, None, now_ms);
        insert(&mut tx, &hold, "thaw", "inactivity sweep", now_ms).await?;
        tx.commit().await.map_err(thaw_store::StoreError::from)?;
        placed += 1;
    }
    Ok(placed)
}
