//! Taking in the platform's events: idempotent by the platform's id, decided by the engine,
//! and stored durably — event, decision, new state, holds, history and webhooks in one
//! transaction — before the answer is sent.

use crate::holds::{from_plan, hold_json, insert, release_in};
use crate::risk::RiskRuntime;
use crate::{ServiceError, new_id, outbox, rfc3339, secret_digest};
use thaw_domain::risk::{Action, Actor, Event, HoldOrigin, ReleasePolicy};
use thaw_engines::risk::{AccountState, Profile};
use thaw_store::{Capabilities, Db, StoreError};

/// The answer to an event: the decision as stored, and whether this was a replay of an event
/// already decided.
pub struct Ingested {
    pub decision: serde_json::Value,
    pub replayed: bool,
}

/// The fingerprint of an event body, to tell a replay (same body) from a conflict.
pub fn body_hash(canonical_body: &str) -> String {
    secret_digest(canonical_body)
}

pub async fn ingest(
    db: &Db,
    risk: &RiskRuntime,
    event: &Event,
    canonical_body: &str,
    now_ms: i64,
) -> Result<Ingested, ServiceError> {
    let hash = body_hash(canonical_body);
    // A replay answers from what is stored, without taking the write lock.
    if let Some(done) = replay(db, &event.id, &hash).await? {
        return Ok(done);
    }
    match decide_and_store(db, risk, event, canonical_body, &hash, now_ms).await {
        Err(ServiceError::Store(StoreError::Duplicate(_))) => {
            // Another request with the same id won the race: answer as it did, or 409.
            replay(db, &event.id, &hash).await?.ok_or(ServiceError::Store(StoreError::Duplicate("event id")))
        }
        other => other,
    }
}

async fn replay(db: &Db, id: &str, hash: &str) -> Result<Option<Ingested>, ServiceError> {
    let Some(stored) = db.conn().await?.risk().stored_event(id).await? else { return Ok(None) };
    if stored.body_hash != hash {
        return Err(ServiceError::Conflict {
            code: "event_id_reused",
            message: format!("event {id} was received before with a different body"),
        });
    }
    let decision = serde_json::from_str(&stored.decision_body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(Ingested { decision, replayed: true }))
}

async fn decide_and_store(
    db: &Db,
    risk: &RiskRuntime,
    event: &Event,
    canonical_body: &str,
    hash: &str,
    now_ms: i64,
) -> Result<Ingested, ServiceError> {
    let engine = risk.engine();
    let mut tx = db.begin_write().await?;
    let account = crate::holds::ensure_account(&mut tx, &event.account_id, event.occurred_at_ms, now_ms).await?;
    let mut state: AccountState = match tx.risk().lock_state(account.id.as_str(), now_ms).await? {
        Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("risk state: {e}")))?,
        None => AccountState::default(),
    };
    let profile =
        Profile { kyc_level: account.kyc_level, vip_level: account.vip_level, created_at_ms: account.created_at_ms };
    let outcome = engine.evaluate(event, &profile, &mut state, now_ms);

    let decision_id = new_id();
    let account_id = account.id.as_str();
    let mut holds = Vec::with_capacity(outcome.holds.len());
    for plan in outcome.holds {
        let hold = from_plan(plan, account_id, Some(&decision_id), now_ms);
        insert(&mut tx, &hold, "thaw", &format!("event {}", event.id), now_ms).await?;
        holds.push(hold);
    }
    // A passed challenge is the owner verifying with one factor: lift what that may lift.
    let mut released = Vec::new();
    if outcome.owner_verified {
        for h in tx.holds().in_force(account_id, now_ms).await? {
            let owner_kind = matches!(h.origin, HoldOrigin::Risk | HoldOrigin::Inactivity);
            if owner_kind
                && matches!(h.release, ReleasePolicy::Owner { .. })
                && h.check_release(&Actor::Owner { factors: 1 }, now_ms, &engine.policy.authority).is_ok()
            {
                let note = format!("owner passed a challenge (event {})", event.id);
                released.push(release_in(&mut tx, &h, "owner", &note, now_ms).await?.id);
            }
        }
    }
    let mut decision = serde_json::json!({
        "id": decision_id,
        "event_id": event.id,
        "event_kind": event.kind.code(),
        "occurred_at": rfc3339(event.occurred_at_ms),
        "account_id": account_id,
        "action": outcome.action.code(),
        "reasons": outcome.reasons,
        "holds": holds.iter().map(hold_json).collect::<Vec<_>>(),
        "decided_at": rfc3339(now_ms),
    });
    if outcome.action == Action::Challenge {
        decision["challenge_url"] = format!("{}/security/challenge/{decision_id}", risk.public_url).into();
    }
    if !released.is_empty() {
        decision["released_holds"] = released.into();
    }
    let decision_body = decision.to_string();
    tx.risk()
        .insert_event(&thaw_store::risk::EventRecord {
            id: &event.id,
            account_id,
            kind: event.kind.code(),
            occurred_at_ms: event.occurred_at_ms,
            received_at_ms: now_ms,
            body_hash: hash,
            body: canonical_body,
            decision_id: &decision_id,
            action: outcome.action.code(),
            decision_body: &decision_body,
        })
        .await?;
    let state_json = serde_json::to_string(&state).expect("state serialises");
    tx.risk().save_state(account_id, &state_json, state.last_activity_at, now_ms).await?;
    if outcome.action != Action::Allow {
        outbox::enqueue(&mut tx, "decision.made", &decision, now_ms).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Ingested { decision, replayed: false })
}

/// Recent decisions of an account (for the desk and the API).
pub async fn decisions(
    db: &Db,
    account_id: &str,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<serde_json::Value>, ServiceError> {
    let bodies = db.conn().await?.risk().decisions(account_id, since_ms, limit).await?;
    Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
}
