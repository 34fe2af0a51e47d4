//! How good the desk's help was: the holder's 1–5 rating of a resolved case (in the portal or
//! from the link in the resolution email), and a share of resolved cases sampled into a QA
//! queue where a supervisor other than the case's agent scores it on a fixed scorecard.

use crate::cases::entry;
use crate::{ServiceError, secret_digest};
use serde_json::json;
use std::collections::BTreeMap;
use thaw_domain::case::Case;
use thaw_domain::{Invalid, Role};
use thaw_store::{AnyConnection, Capabilities, Db, Rating, StoreError};

/// The QA scorecard: each criterion scores 0 (no), 1 (partly) or 2 (yes).
pub const CRITERIA: [&str; 5] =
    ["correct_outcome", "followed_policy", "clear_explanation", "tone", "no_needless_requests"];

fn validate_rating(score: &str, comment: &str) -> Result<(i64, String), Invalid> {
    let score = score
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| (1..=5).contains(s))
        .ok_or_else(|| Invalid::new("score", "invalid_score", "score: a whole number from 1 to 5"))?;
    let comment = comment.trim();
    if comment.chars().count() > 2000 {
        return Err(Invalid::new("comment", "too_long", "comment: at most 2,000 characters"));
    }
    Ok((score, comment.to_string()))
}

/// The holder rates their resolved (or closed) case; a later rating replaces the earlier one.
pub async fn rate(
    db: &Db,
    case: &Case,
    score: &str,
    comment: &str,
    channel: &str,
    now_ms: i64,
) -> Result<Rating, ServiceError> {
    let (score, comment) = validate_rating(score, comment)?;
    if case.status.is_active() {
        return Err(ServiceError::Refused {
            code: "not_resolved",
            message: "a case can be rated once it is resolved".into(),
        });
    }
    let rating = Rating { case_id: case.id.clone(), score, comment, channel: channel.into(), created_at_ms: now_ms };
    let mut tx = db.begin_write().await?;
    tx.cases().rate(&rating).await?;
    let data = json!({"score": score, "comment": rating.comment, "channel": channel});
    tx.cases().add_timeline(&entry(&case.id, "holder", "rated", data, false, now_ms)).await?;
    tx.cases().changed(&case.id, &case.account_id, now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(rating)
}

/// The case a rating link's token belongs to.
pub async fn case_of_rating_link(db: &Db, token: &str) -> Result<Case, ServiceError> {
    let mut conn = db.conn().await?;
    let id = conn.cases().case_of_rating_token(&secret_digest(token.trim())).await?;
    match id {
        Some(id) => conn.cases().get(&id).await?.map(|(c, _)| c).ok_or(ServiceError::NotFound("case")),
        None => Err(ServiceError::NotFound("case")),
    }
}

/// Puts a just-resolved case into the QA queue with probability `percent` / 100.
pub async fn maybe_sample(conn: &mut AnyConnection, case: &Case, percent: u8, now_ms: i64) -> Result<bool, StoreError> {
    let mut byte = [0u8; 2];
    getrandom::fill(&mut byte).expect("the operating system's random source is available");
    let draw = u16::from_le_bytes(byte) % 100;
    if draw >= u16::from(percent.min(100)) {
        return Ok(false);
    }
    conn.cases().sample_for_qa(&case.id, case.decided_by.as_deref().or(case.assignee_id.as_deref()), now_ms).await?;
    Ok(true)
}

/// A supervisor scores a sampled case; never their own work.
pub async fn review(
    db: &Db,
    reviewer_id: &str,
    reviewer_role: Role,
    case_id: &str,
    scores: &BTreeMap<String, String>,
    comment: &str,
    now_ms: i64,
) -> Result<i64, ServiceError> {
    if reviewer_role != Role::Supervisor {
        return Err(ServiceError::Refused { code: "forbidden", message: "only supervisors review quality".into() });
    }
    let mut points = serde_json::Map::new();
    for c in CRITERIA {
        let v = scores
            .get(c)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|v| (0..=2).contains(v))
            .ok_or_else(|| Invalid::new(c, "invalid_score", format!("{c}: 0 (no), 1 (partly) or 2 (yes)")))?;
        points.insert(c.to_string(), v.into());
    }
    let comment = comment.trim();
    if comment.chars().count() > 2000 {
        return Err(Invalid::new("comment", "too_long", "comment: at most 2,000 characters").into());
    }
    let sum: i64 = points.values().filter_map(|v| v.as_i64()).sum();
    let total = sum * 100 / (2 * CRITERIA.len() as i64);
    let mut tx = db.begin_write().await?;
    let sampled = tx.cases().qa_review(case_id).await?.ok_or(ServiceError::NotFound("qa review"))?;
    if sampled.agent_id.as_deref() == Some(reviewer_id) {
        return Err(ServiceError::Refused {
            code: "own_case",
            message: "you cannot review a case you worked; another supervisor must".into(),
        });
    }
    if sampled.reviewed_at_ms.is_some() {
        return Err(ServiceError::Conflict {
            code: "already_reviewed",
            message: "this case was reviewed already".into(),
        });
    }
    if !tx.cases().save_qa(case_id, reviewer_id, &serde_json::Value::Object(points), total, comment, now_ms).await? {
        return Err(ServiceError::Conflict {
            code: "already_reviewed",
            message: "this case was reviewed already".into(),
        });
    }
    let data = json!({"total": total});
    tx.cases()
        .add_timeline(&entry(case_id, &format!("staff:{reviewer_id}"), "qa_reviewed", data, false, now_ms))
        .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(total)
}
