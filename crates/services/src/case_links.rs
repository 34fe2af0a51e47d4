//! Tying cases together: staff link two cases by hand (both ways), or merge a duplicate into
//! another case of the same holder — the conversation, evidence and email threads move, the
//! duplicate is closed with `merged_into`, and both timelines say so.

use crate::cases::{CaseActor, Desk, entry, may_work_cases};
use crate::{ServiceError, new_id};
use serde_json::json;
use thaw_domain::Invalid;
use thaw_domain::case::{Case, CaseStatus, parse_case_ref};
use thaw_store::{Capabilities, Db, Message, StoreError};

/// A case tied to another, and how (as seen from the case being viewed).
#[derive(Debug, Clone)]
pub struct Related {
    /// linked, repeat_of, repeated_by, follow_up_of, followed_up_by, merged_into, merged_from,
    /// appeal_of, appealed_by.
    pub relation: String,
    pub case: Case,
}

/// How strongly a relation describes a pair: a case tied in several ways is shown once, by the
/// strongest (an appeal is also a follow-up; a merged case may also have been linked).
pub const STRENGTH: [&str; 9] = [
    "merged_into",
    "merged_from",
    "appeal_of",
    "appealed_by",
    "repeat_of",
    "repeated_by",
    "follow_up_of",
    "followed_up_by",
    "linked",
];

/// The cases tied to `case_id`, oldest first, each once.
pub async fn related(db: &Db, case_id: &str) -> Result<Vec<Related>, ServiceError> {
    let mut conn = db.conn().await?;
    let all = conn.cases().related(case_id).await?;
    let rank = |r: &str| STRENGTH.iter().position(|s| *s == r).unwrap_or(STRENGTH.len());
    let mut out: Vec<Related> = vec![];
    for (relation, case) in all {
        match out.iter_mut().find(|r| r.case.id == case.id) {
            Some(seen) if rank(&relation) < rank(&seen.relation) => seen.relation = relation,
            Some(_) => {}
            None => out.push(Related { relation, case }),
        }
    }
    Ok(out)
}

fn require_worker(by: &CaseActor) -> Result<String, ServiceError> {
    match by {
        CaseActor::Staff { role, .. } if may_work_cases(*role) => Ok(by.label()),
        _ => Err(ServiceError::Refused { code: "forbidden", message: "your role does not work cases".into() }),
    }
}

/// The other case, named by its reference ("C-10042" or "1042") in the form field `field`.
async fn other_case(db: &Db, field: &str, reference: &str) -> Result<Case, ServiceError> {
    let n = parse_case_ref(reference)
        .ok_or_else(|| Invalid::new(field, "invalid_case", format!("{field}: a case number such as C-10042")))?;
    let mut conn = db.conn().await?;
    conn.cases().by_number(n).await?.map(|(c, _)| c).ok_or_else(|| {
        ServiceError::Invalid(Invalid::new(field, "unknown_case", format!("{field}: there is no case {reference}")))
    })
}

/// Links `case_id` with the case `other` (a reference) by hand; both timelines record it.
pub async fn link(
    db: &Db,
    by: &CaseActor,
    case_id: &str,
    other: &str,
    now_ms: i64,
) -> Result<(Case, Case), ServiceError> {
    let actor = require_worker(by)?;
    let other = other_case(db, "other", other).await?;
    let mut tx = db.begin_write().await?;
    let (case, _) = tx.cases().get(case_id).await?.ok_or(ServiceError::NotFound("case"))?;
    if case.id == other.id {
        return Err(Invalid::new("other", "same_case", "other: a case cannot be linked to itself").into());
    }
    if tx.cases().link(&case.id, &other.id, now_ms).await? {
        for (here, there) in [(&case, &other), (&other, &case)] {
            let data = json!({"case": there.reference(), "case_id": there.id});
            tx.cases().add_timeline(&entry(&here.id, &actor, "linked", data, false, now_ms)).await?;
            tx.cases().changed(&here.id, &here.account_id, now_ms).await?;
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok((case, other))
}

/// Removes a link made by hand.
pub async fn unlink(db: &Db, by: &CaseActor, case_id: &str, other_id: &str, now_ms: i64) -> Result<(), ServiceError> {
    let actor = require_worker(by)?;
    if other_id.trim().is_empty() {
        return Err(Invalid::new("other", "required", "other: the linked case to unlink").into());
    }
    let mut tx = db.begin_write().await?;
    let (case, _) = tx.cases().get(case_id).await?.ok_or(ServiceError::NotFound("case"))?;
    let (other, _) = tx.cases().get(other_id).await?.ok_or(ServiceError::NotFound("case"))?;
    if tx.cases().unlink(&case.id, &other.id, now_ms).await? {
        for (here, there) in [(&case, &other), (&other, &case)] {
            let data = json!({"case": there.reference(), "case_id": there.id});
            tx.cases().add_timeline(&entry(&here.id, &actor, "unlinked", data, false, now_ms)).await?;
            tx.cases().changed(&here.id, &here.account_id, now_ms).await?;
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Merges the duplicate `source_id` into the case `into` (a reference) of the same holder: the
/// conversation, attachments and email threads move there (so replies to earlier emails land in
/// it), the duplicate is closed with `merged_into` and a public note pointing to the other case,
/// and both timelines record the merge. All in one transaction; if either case changed meanwhile
/// nothing is merged and the agent is asked to try again.
pub async fn merge(
    db: &Db,
    desk: &Desk,
    by: &CaseActor,
    source_id: &str,
    into: &str,
    now_ms: i64,
) -> Result<(Case, Case), ServiceError> {
    let actor = require_worker(by)?;
    let target = other_case(db, "into", into).await?;
    let mut tx = db.begin_write().await?;
    let (mut source, source_version) = tx.cases().get(source_id).await?.ok_or(ServiceError::NotFound("case"))?;
    let (mut target, target_version) = tx.cases().get(&target.id).await?.ok_or(ServiceError::NotFound("case"))?;
    let invalid = |code: &'static str, message: String| ServiceError::Invalid(Invalid::new("into", code, message));
    if source.id == target.id {
        return Err(invalid("same_case", "into: a case cannot be merged into itself".into()));
    }
    if source.account_id != target.account_id {
        return Err(invalid(
            "other_holder",
            format!("into: {} belongs to another account; only cases of the same holder merge", target.reference()),
        ));
    }
    if let Some(done) = &source.merged_into {
        return Err(ServiceError::Conflict {
            code: "already_merged",
            message: format!("this case was already merged ({done})"),
        });
    }
    if target.merged_into.is_some() || !target.status.is_active() {
        return Err(invalid(
            "target_not_active",
            format!(
                "into: {} is {}; merge into an active case (reopen it first)",
                target.reference(),
                target.status.code()
            ),
        ));
    }
    tx.cases().move_conversation(&source.id, &target.id, now_ms).await?;
    // Where the duplicate's clock had run longer, the surviving case keeps the earlier start.
    if let Some(since) = source.awaiting_reply_since_ms {
        target.awaiting_reply_since_ms = Some(target.awaiting_reply_since_ms.map_or(since, |t| t.min(since)));
    }
    let from = source.status;
    source.merged_into = Some(target.id.clone());
    source.set_status(CaseStatus::Closed, now_ms);
    source.updated_at_ms = now_ms;
    target.updated_at_ms = now_ms;
    let note = match source.language {
        thaw_domain::Locale::ZhCn => format!("此工单已合并到 {}，后续沟通请在该工单中进行。", target.reference()),
        thaw_domain::Locale::En => {
            format!("This case was merged into {}; the conversation continues there.", target.reference())
        }
    };
    tx.cases()
        .add_message(&Message {
            id: new_id(),
            case_id: source.id.clone(),
            author_kind: "system".into(),
            author_id: None,
            internal: false,
            body: note,
            channel: thaw_domain::case::Channel::Staff.code().into(),
            created_at_ms: now_ms,
        })
        .await?;
    let status = json!({"from": from.code(), "to": "closed"});
    tx.cases().add_timeline(&entry(&source.id, &actor, "status", status, true, now_ms)).await?;
    let data = json!({"case": target.reference(), "case_id": target.id});
    tx.cases().add_timeline(&entry(&source.id, &actor, "merged_into", data, true, now_ms)).await?;
    let data = json!({"case": source.reference(), "case_id": source.id});
    tx.cases().add_timeline(&entry(&target.id, &actor, "merged_from", data, true, now_ms)).await?;
    let saved = tx.cases().save(&source, source_version, None).await?
        && tx.cases().save(&target, target_version, desk.next_due(&target)).await?;
    if !saved {
        tx.rollback().await.map_err(StoreError::from)?;
        return Err(ServiceError::Conflict {
            code: "case_busy",
            message: "one of the cases is being changed by someone else; try again".into(),
        });
    }
    crate::outbox::enqueue(
        &mut tx,
        "case.merged",
        &json!({"case": crate::cases::case_json(&source), "merged_into": crate::cases::case_json(&target)}),
        now_ms,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((source, target))
}
