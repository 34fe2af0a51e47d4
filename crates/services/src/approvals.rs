//! Four eyes on a case: an agent's action beyond their authority (lifting a hold above their
//! limits, goodwill compensation above theirs) becomes an approval request; a supervisor who is
//! not the requester approves or denies it with a reason, and an approval carries the action
//! out under the supervisor's authority. Requests and decisions are recorded on the case.

use crate::cases::{CaseActor, entry};
use crate::risk::RiskRuntime;
use crate::{ServiceError, new_id, outbox, rfc3339};
use serde_json::{Value, json};
use thaw_domain::case::Case;
use thaw_domain::risk::{Actor, Hold, HoldOrigin, Money};
use thaw_domain::{Invalid, Role};
use thaw_store::{AnyConnection, Approval, Capabilities, Compensation, Db, StoreError};

/// What became of an action: done now, or waiting for a supervisor.
#[derive(Debug, Clone)]
pub enum Outcome<T> {
    Done(T),
    Requested(Box<Approval>),
}

/// Refusals a supervisor could overcome: the action is beyond the member's own authority.
fn approvable(code: &str, hold: Option<&Hold>) -> bool {
    matches!(code, "above_authority" | "origin_beyond_authority" | "scope_beyond_authority")
        || (code == "not_allowed" && hold.is_some_and(|h| h.origin == HoldOrigin::SelfFreeze))
}

fn staff_of(by: &CaseActor) -> Result<(&str, Role), ServiceError> {
    match by {
        CaseActor::Staff { id, role, .. } if crate::cases::may_work_cases(*role) => Ok((id, *role)),
        _ => Err(ServiceError::Refused { code: "forbidden", message: "your role does not work cases".into() }),
    }
}

fn validate_reason(reason: &str) -> Result<String, Invalid> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(Invalid::new("reason", "required", "reason: say why (the approver and the record read it)"));
    }
    if r.chars().count() > 1000 {
        return Err(Invalid::new("reason", "too_long", "reason: at most 1,000 characters"));
    }
    Ok(r.to_string())
}

async fn request(
    conn: &mut AnyConnection,
    case: &Case,
    kind: &str,
    payload: Value,
    reason: &str,
    requester: &str,
    now_ms: i64,
) -> Result<Approval, ServiceError> {
    let approval = Approval {
        id: new_id(),
        case_id: case.id.clone(),
        kind: kind.into(),
        payload,
        reason: reason.into(),
        requested_by: requester.into(),
        requested_at_ms: now_ms,
        status: "pending".into(),
        decided_by: None,
        decided_at_ms: None,
        decision_note: None,
        outcome: None,
    };
    conn.cases().add_approval(&approval).await?;
    let data = json!({"approval": approval.id, "kind": kind, "payload": approval.payload, "reason": reason});
    conn.cases()
        .add_timeline(&entry(&case.id, &format!("staff:{requester}"), "approval_requested", data, false, now_ms))
        .await?;
    conn.cases().changed(&case.id, &case.account_id, now_ms).await?;
    Ok(approval)
}

/// Lifts a hold from a case within the staff member's authority; beyond it (and only where a
/// supervisor could lift it) asks a supervisor instead.
#[allow(clippy::too_many_arguments)]
pub async fn lift_hold(
    db: &Db,
    risk: &RiskRuntime,
    case: &Case,
    hold_id: &str,
    by: &CaseActor,
    note: &str,
    now_ms: i64,
) -> Result<Outcome<Hold>, ServiceError> {
    let (id, role) = staff_of(by)?;
    let actor = Actor::Staff { id: id.to_string(), role };
    match crate::cases::release_hold(db, risk, case, hold_id, &actor, by, note, now_ms).await {
        Err(ServiceError::Refused { code, message }) => {
            let hold = {
                let mut conn = db.conn().await?;
                conn.holds().get(hold_id).await?
            };
            if !approvable(code, hold.as_ref()) || role == Role::Supervisor {
                return Err(ServiceError::Refused { code, message });
            }
            let reason = if note.trim().is_empty() { message.clone() } else { note.trim().to_string() };
            let payload = json!({"hold_id": hold_id, "refused": code, "refusal": message});
            let mut tx = db.begin_write().await?;
            let approval = request(&mut tx, case, "release_hold", payload, &reason, id, now_ms).await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Outcome::Requested(Box::new(approval)))
        }
        other => other.map(Outcome::Done),
    }
}

/// Grants goodwill compensation on a case: recorded and sent to the platform for payment
/// (`compensation.granted`) when within the member's limit, else asked of a supervisor.
pub async fn compensate(
    db: &Db,
    case: &Case,
    by: &CaseActor,
    amount: &str,
    asset: &str,
    reason: &str,
    now_ms: i64,
) -> Result<Outcome<Compensation>, ServiceError> {
    let (id, role) = staff_of(by)?;
    let money = Money::parse(amount, asset)?;
    if money.amount.is_zero() {
        return Err(Invalid::new("amount", "invalid_amount", "amount: more than zero").into());
    }
    let reason = validate_reason(reason)?;
    let mut tx = db.begin_write().await?;
    let limits = tx.staff().limits(id).await?;
    let outcome = match limits.may_compensate(role, &money) {
        Ok(()) => Outcome::Done(grant_in(&mut tx, case, &money, &reason, id, None, now_ms).await?),
        Err(beyond) => {
            let payload = json!({"amount": money.amount.to_string(), "asset": money.asset, "refused": beyond.code(), "refusal": beyond.message()});
            Outcome::Requested(Box::new(request(&mut tx, case, "compensation", payload, &reason, id, now_ms).await?))
        }
    };
    tx.commit().await.map_err(StoreError::from)?;
    Ok(outcome)
}

async fn grant_in(
    conn: &mut AnyConnection,
    case: &Case,
    money: &Money,
    reason: &str,
    granted_by: &str,
    approval: Option<(&str, &str)>,
    now_ms: i64,
) -> Result<Compensation, ServiceError> {
    let c = Compensation {
        id: new_id(),
        case_id: case.id.clone(),
        account_id: case.account_id.clone(),
        asset: money.asset.clone(),
        amount: money.amount.to_string(),
        reason: reason.into(),
        granted_by: granted_by.into(),
        approved_by: approval.map(|(_, by)| by.to_string()),
        approval_id: approval.map(|(id, _)| id.to_string()),
        created_at_ms: now_ms,
    };
    conn.cases().add_compensation(&c).await?;
    let body = json!({
        "id": c.id,
        "case": case.reference(),
        "case_id": case.id,
        "account_id": c.account_id,
        "amount": c.amount,
        "asset": c.asset,
        "reason": c.reason,
        "granted_by": c.granted_by,
        "approved_by": c.approved_by,
        "created_at": rfc3339(now_ms),
    });
    outbox::enqueue(conn, "compensation.granted", &body, now_ms).await?;
    let data = json!({"amount": c.amount, "asset": c.asset});
    conn.cases()
        .add_timeline(&entry(&case.id, &format!("staff:{granted_by}"), "compensation", data, true, now_ms))
        .await?;
    conn.cases().changed(&case.id, &case.account_id, now_ms).await?;
    Ok(c)
}

/// A supervisor approves or denies a pending request; never their own. An approval carries the
/// action out under the supervisor's authority; if it can no longer be done (the hold was
/// lifted meanwhile) the request is recorded as failed with the reason.
pub async fn decide(
    db: &Db,
    risk: &RiskRuntime,
    approval_id: &str,
    by: &CaseActor,
    approve: bool,
    note: &str,
    now_ms: i64,
) -> Result<Approval, ServiceError> {
    let CaseActor::Staff { id: me, role, .. } = by else { return Err(not_supervisor()) };
    if *role != Role::Supervisor {
        return Err(not_supervisor());
    }
    let note = note.trim();
    if note.chars().count() > 1000 {
        return Err(Invalid::new("note", "too_long", "note: at most 1,000 characters").into());
    }
    if !approve && note.is_empty() {
        return Err(Invalid::new("note", "required", "note: say why the request is denied").into());
    }
    let (approval, case) = {
        let mut conn = db.conn().await?;
        let a = conn.cases().approval(approval_id).await?.ok_or(ServiceError::NotFound("approval"))?;
        let (case, _) = conn.cases().get(&a.case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        (a, case)
    };
    if approval.requested_by == *me {
        return Err(ServiceError::Refused {
            code: "own_request",
            message: "you cannot decide your own request; another supervisor must".into(),
        });
    }
    if approval.status != "pending" {
        return Err(already_decided());
    }
    // The decision claims the request and carries it out in one transaction, so two
    // supervisors approving at once grant it once.
    let mut tx = db.begin_write().await?;
    let status = if approve { "approved" } else { "denied" };
    if !tx.cases().decide_approval(&approval.id, status, me, note, None, now_ms).await? {
        return Err(already_decided());
    }
    let outcome =
        if approve { carry_out(&mut tx, risk, &approval, &case, by, note, now_ms).await } else { Ok(String::new()) };
    let (status, outcome) = match outcome {
        Ok(done) => {
            tx.cases().set_approval_outcome(&approval.id, status, &done).await?;
            (status, done)
        }
        Err(
            ServiceError::Refused { message, .. }
            | ServiceError::Conflict { message, .. }
            | ServiceError::Invalid(Invalid { message, .. }),
        ) => {
            // Nothing of the action stays; the request is recorded as failed, with why.
            tx.rollback().await.map_err(StoreError::from)?;
            tx = db.begin_write().await?;
            if !tx.cases().decide_approval(&approval.id, "failed", me, note, Some(&message), now_ms).await? {
                return Err(already_decided());
            }
            ("failed", message)
        }
        Err(e) => return Err(e),
    };
    let data =
        json!({"approval": approval.id, "kind": approval.kind, "status": status, "note": note, "outcome": outcome});
    tx.cases().add_timeline(&entry(&case.id, &by.label(), "approval_decided", data, false, now_ms)).await?;
    tx.cases().changed(&case.id, &case.account_id, now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    let mut conn = db.conn().await?;
    conn.cases().approval(&approval.id).await?.ok_or(ServiceError::NotFound("approval"))
}

fn already_decided() -> ServiceError {
    ServiceError::Conflict { code: "already_decided", message: "this request was decided already".into() }
}

fn not_supervisor() -> ServiceError {
    ServiceError::Refused { code: "forbidden", message: "only supervisors decide approval requests".into() }
}

async fn carry_out(
    conn: &mut AnyConnection,
    risk: &RiskRuntime,
    a: &Approval,
    case: &Case,
    by: &CaseActor,
    note: &str,
    now_ms: i64,
) -> Result<String, ServiceError> {
    let CaseActor::Staff { id: me, role, .. } = by else { return Err(not_supervisor()) };
    match a.kind.as_str() {
        "release_hold" => {
            let hold_id = a.payload["hold_id"].as_str().unwrap_or_default();
            let actor = Actor::Staff { id: me.clone(), role: *role };
            let extra = if note.is_empty() { String::new() } else { format!(" / {note}") };
            let record = format!("approved request {} of staff:{}: {}{extra}", a.id, a.requested_by, a.reason);
            let hold = crate::cases::release_hold_in(conn, risk, case, hold_id, &actor, by, &record, now_ms).await?;
            Ok(format!("hold {} released", hold.id))
        }
        "compensation" => {
            let money = Money::parse(
                a.payload["amount"].as_str().unwrap_or_default(),
                a.payload["asset"].as_str().unwrap_or_default(),
            )?;
            let c = grant_in(conn, case, &money, &a.reason, &a.requested_by, Some((&a.id, me)), now_ms).await?;
            Ok(format!("compensation {} {} granted", c.amount, c.asset))
        }
        other => Err(ServiceError::Refused { code: "unknown_kind", message: format!("unknown request kind {other}") }),
    }
}

/// The approvals inbox: pending requests (oldest first) or recent decisions.
pub async fn inbox(db: &Db, pending: bool, limit: i64) -> Result<Vec<Approval>, ServiceError> {
    Ok(db.conn().await?.cases().approvals(pending, limit).await?)
}
