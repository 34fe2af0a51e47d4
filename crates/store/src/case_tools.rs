//! What agents do around a case: approval requests above their authority, goodwill
//! compensation, the email thread, evidence attachments, ratings, QA reviews, and the change
//! feed that live pages follow.

use crate::cases::Cases;
use crate::{Result, StoreError, is_postgres};
use sqlx::Row;
use sqlx::any::AnyRow;

/// An action beyond its requester's authority, waiting for (or decided by) a supervisor.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub id: String,
    pub case_id: String,
    /// release_hold | compensation
    pub kind: String,
    pub payload: serde_json::Value,
    pub reason: String,
    pub requested_by: String,
    pub requested_at_ms: i64,
    /// pending | approved | denied | failed
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    pub decision_note: Option<String>,
    /// What carrying it out gave (or why it failed).
    pub outcome: Option<String>,
}

/// Goodwill compensation granted on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensation {
    pub id: String,
    pub case_id: String,
    pub account_id: String,
    pub asset: String,
    /// A decimal string.
    pub amount: String,
    pub reason: String,
    pub granted_by: String,
    pub approved_by: Option<String>,
    pub approval_id: Option<String>,
    pub created_at_ms: i64,
}

/// Evidence attached to a case; its content is in object storage under `sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub case_id: String,
    pub message_id: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub filename: String,
    pub identity_document: bool,
    /// holder | staff:<id> | email
    pub uploaded_by: String,
    pub created_at_ms: i64,
    /// Set when an identity document's content was deleted at the end of its retention.
    pub deleted_at_ms: Option<i64>,
}

/// A holder's rating of a resolved case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub case_id: String,
    pub score: i64,
    pub comment: String,
    pub channel: String,
    pub created_at_ms: i64,
}

/// A resolved case sampled for quality review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QaReview {
    pub case_id: String,
    pub sampled_at_ms: i64,
    pub agent_id: Option<String>,
    pub reviewer_id: Option<String>,
    /// criterion → points, as JSON.
    pub scores: Option<serde_json::Value>,
    pub total: Option<i64>,
    pub comment: Option<String>,
    pub reviewed_at_ms: Option<i64>,
}

const APPROVAL_COLUMNS: &str = "id, case_id, kind, payload, reason, requested_by, requested_at, status, decided_by, \
    decided_at, decision_note, outcome";

fn approval_from_row(r: &AnyRow) -> Result<Approval> {
    Ok(Approval {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        kind: r.try_get("kind")?,
        payload: serde_json::from_str(&r.try_get::<String, _>("payload")?)
            .map_err(|_| StoreError::Corrupt("approval payload".into()))?,
        reason: r.try_get("reason")?,
        requested_by: r.try_get("requested_by")?,
        requested_at_ms: r.try_get("requested_at")?,
        status: r.try_get("status")?,
        decided_by: r.try_get("decided_by")?,
        decided_at_ms: r.try_get("decided_at")?,
        decision_note: r.try_get("decision_note")?,
        outcome: r.try_get("outcome")?,
    })
}

const ATTACHMENT_COLUMNS: &str = "id, case_id, message_id, sha256, size, content_type, filename, identity_document, \
    uploaded_by, created_at, deleted_at";

fn attachment_from_row(r: &AnyRow) -> Result<Attachment> {
    Ok(Attachment {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        message_id: r.try_get("message_id")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        content_type: r.try_get("content_type")?,
        filename: r.try_get("filename")?,
        identity_document: r.try_get::<i64, _>("identity_document")? == 1,
        uploaded_by: r.try_get("uploaded_by")?,
        created_at_ms: r.try_get("created_at")?,
        deleted_at_ms: r.try_get("deleted_at")?,
    })
}

fn qa_from_row(r: &AnyRow) -> Result<QaReview> {
    let scores: Option<String> = r.try_get("scores")?;
    Ok(QaReview {
        case_id: r.try_get("case_id")?,
        sampled_at_ms: r.try_get("sampled_at")?,
        agent_id: r.try_get("agent_id")?,
        reviewer_id: r.try_get("reviewer_id")?,
        scores: scores
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|_| StoreError::Corrupt("qa scores".into()))?,
        total: r.try_get("total")?,
        comment: r.try_get("comment")?,
        reviewed_at_ms: r.try_get("reviewed_at")?,
    })
}

impl Cases<'_> {
    pub async fn add_approval(&mut self, a: &Approval) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO approvals ({APPROVAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )))
        .bind(&a.id)
        .bind(&a.case_id)
        .bind(&a.kind)
        .bind(a.payload.to_string())
        .bind(&a.reason)
        .bind(&a.requested_by)
        .bind(a.requested_at_ms)
        .bind(&a.status)
        .bind(a.decided_by.clone())
        .bind(a.decided_at_ms)
        .bind(a.decision_note.clone())
        .bind(a.outcome.clone())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn approval(&mut self, id: &str) -> Result<Option<Approval>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| approval_from_row(&r)).transpose()
    }

    /// Pending approval requests (oldest first), or decided ones (newest decision first).
    pub async fn approvals(&mut self, pending: bool, limit: i64) -> Result<Vec<Approval>> {
        let (which, order) = if pending { ("=", "requested_at, id") } else { ("<>", "decided_at DESC, id") };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE status {which} 'pending' ORDER BY {order} LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(approval_from_row).collect()
    }

    pub async fn approvals_of_case(&mut self, case_id: &str) -> Result<Vec<Approval>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE case_id = $1 ORDER BY requested_at, id"
        )))
        .bind(case_id)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(approval_from_row).collect()
    }

    /// Records the decision on a pending request; false when it was decided already.
    pub async fn decide_approval(
        &mut self,
        id: &str,
        status: &str,
        by: &str,
        note: &str,
        outcome: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4, outcome = $5
             WHERE id = $6 AND status = 'pending'",
        )
        .bind(status)
        .bind(by)
        .bind(now_ms)
        .bind(note)
        .bind(outcome)
        .bind(id)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_approval_outcome(&mut self, id: &str, status: &str, outcome: &str) -> Result<()> {
        sqlx::query("UPDATE approvals SET status = $1, outcome = $2 WHERE id = $3")
            .bind(status)
            .bind(outcome)
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn add_compensation(&mut self, c: &Compensation) -> Result<()> {
        sqlx::query(
            "INSERT INTO compensations (id, case_id, account_id, asset, amount, reason, granted_by, approved_by,
             approval_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&c.id)
        .bind(&c.case_id)
        .bind(&c.account_id)
        .bind(&c.asset)
        .bind(&c.amount)
        .bind(&c.reason)
        .bind(&c.granted_by)
        .bind(c.approved_by.clone())
        .bind(c.approval_id.clone())
        .bind(c.created_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn compensations(&mut self, case_id: &str) -> Result<Vec<Compensation>> {
        let rows = sqlx::query(
            "SELECT id, case_id, account_id, asset, amount, reason, granted_by, approved_by, approval_id, created_at
             FROM compensations WHERE case_id = $1 ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Compensation {
                    id: r.try_get("id")?,
                    case_id: r.try_get("case_id")?,
                    account_id: r.try_get("account_id")?,
                    asset: r.try_get("asset")?,
                    amount: r.try_get("amount")?,
                    reason: r.try_get("reason")?,
                    granted_by: r.try_get("granted_by")?,
                    approved_by: r.try_get("approved_by")?,
                    approval_id: r.try_get("approval_id")?,
                    created_at_ms: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Records an email of the case (out or in) with its Message-ID and, for an outgoing email,
    /// the hash of its reply token.
    pub async fn add_mail(
        &mut self,
        id: &str,
        case_id: &str,
        direction: &str,
        message_id: &str,
        token_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO case_mail (id, case_id, direction, message_id, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(case_id)
        .bind(direction)
        .bind(message_id)
        .bind(token_hash)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The Message-ID of the case's latest email (either way), to thread the next one.
    pub async fn last_mail(&mut self, case_id: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT message_id FROM case_mail WHERE case_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(case_id)
        .fetch_optional(&mut *self.0)
        .await?;
        Ok(row.map(|r| r.try_get("message_id")).transpose()?)
    }

    /// The case an outgoing email's reply token belongs to.
    pub async fn case_of_mail_token(&mut self, token_hash: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT case_id FROM case_mail WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.map(|r| r.try_get("case_id")).transpose()?)
    }

    /// The case of an email thread: the first of these Message-IDs thaw knows.
    pub async fn case_of_message_ids(&mut self, ids: &[String]) -> Result<Option<String>> {
        for id in ids.iter().take(20) {
            let row = sqlx::query("SELECT case_id FROM case_mail WHERE message_id = $1 ORDER BY created_at LIMIT 1")
                .bind(id)
                .fetch_optional(&mut *self.0)
                .await?;
            if let Some(r) = row {
                return Ok(Some(r.try_get("case_id")?));
            }
        }
        Ok(None)
    }

    /// Whether an incoming email with this Message-ID was taken already (mail servers retry).
    pub async fn has_incoming_mail(&mut self, message_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM case_mail WHERE message_id = $1 AND direction = 'in'")
            .bind(message_id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.is_some())
    }

    /// How many emails came in on this case since `since_ms` (loop protection).
    pub async fn incoming_mail_since(&mut self, case_id: &str, since_ms: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM case_mail WHERE case_id = $1 AND direction = 'in' AND created_at >= $2",
        )
        .bind(case_id)
        .bind(since_ms)
        .fetch_one(&mut *self.0)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn add_attachment(&mut self, a: &Attachment) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO case_attachments ({ATTACHMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(&a.id)
        .bind(&a.case_id)
        .bind(a.message_id.clone())
        .bind(&a.sha256)
        .bind(a.size)
        .bind(&a.content_type)
        .bind(&a.filename)
        .bind(a.identity_document as i64)
        .bind(&a.uploaded_by)
        .bind(a.created_at_ms)
        .bind(a.deleted_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn attachments(&mut self, case_id: &str) -> Result<Vec<Attachment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM case_attachments WHERE case_id = $1 ORDER BY created_at, id"
        )))
        .bind(case_id)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(attachment_from_row).collect()
    }

    pub async fn attachment(&mut self, id: &str) -> Result<Option<Attachment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM case_attachments WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|r| attachment_from_row(&r)).transpose()
    }

    /// Identity documents stored before `before_ms` whose content is still kept.
    pub async fn identity_documents_due(&mut self, before_ms: i64, limit: i64) -> Result<Vec<Attachment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM case_attachments
             WHERE identity_document = 1 AND deleted_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2"
        )))
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(attachment_from_row).collect()
    }

    /// Marks an attachment's content deleted; the row stays as the record that it existed.
    pub async fn mark_attachment_deleted(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE case_attachments SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether some attachment still keeps this content (then it must not be deleted).
    pub async fn content_in_use(&mut self, sha256: &str) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM case_attachments WHERE sha256 = $1 AND deleted_at IS NULL LIMIT 1")
            .bind(sha256)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.is_some())
    }

    /// Stores the holder's rating (replacing an earlier one).
    pub async fn rate(&mut self, r: &Rating) -> Result<()> {
        sqlx::query(
            "INSERT INTO case_ratings (case_id, score, comment, channel, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (case_id) DO UPDATE SET score = excluded.score, comment = excluded.comment,
             channel = excluded.channel, created_at = excluded.created_at",
        )
        .bind(&r.case_id)
        .bind(r.score)
        .bind(&r.comment)
        .bind(&r.channel)
        .bind(r.created_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn rating(&mut self, case_id: &str) -> Result<Option<Rating>> {
        let row =
            sqlx::query("SELECT case_id, score, comment, channel, created_at FROM case_ratings WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *self.0)
                .await?;
        row.map(|r| {
            Ok(Rating {
                case_id: r.try_get("case_id")?,
                score: r.try_get("score")?,
                comment: r.try_get("comment")?,
                channel: r.try_get("channel")?,
                created_at_ms: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn set_rating_token(&mut self, case_id: &str, token_hash: &str) -> Result<()> {
        sqlx::query("UPDATE cases SET rating_token_hash = $1 WHERE id = $2")
            .bind(token_hash)
            .bind(case_id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn case_of_rating_token(&mut self, token_hash: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT id FROM cases WHERE rating_token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// Puts a resolved case into the QA queue (once).
    pub async fn sample_for_qa(&mut self, case_id: &str, agent_id: Option<&str>, now_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO qa_reviews (case_id, sampled_at, agent_id) VALUES ($1, $2, $3) ON CONFLICT (case_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(now_ms)
        .bind(agent_id)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The QA queue: sampled cases not yet reviewed (oldest first), or the latest reviews.
    pub async fn qa_reviews(&mut self, reviewed: bool, limit: i64) -> Result<Vec<QaReview>> {
        let sql = if reviewed {
            "SELECT * FROM qa_reviews WHERE reviewed_at IS NOT NULL AND $1 = $1 ORDER BY reviewed_at DESC LIMIT $2"
        } else {
            "SELECT * FROM qa_reviews WHERE reviewed_at IS NULL AND $1 = $1 ORDER BY sampled_at, case_id LIMIT $2"
        };
        let rows = sqlx::query(sql).bind(0i64).bind(limit).fetch_all(&mut *self.0).await?;
        rows.iter().map(qa_from_row).collect()
    }

    pub async fn qa_review(&mut self, case_id: &str) -> Result<Option<QaReview>> {
        let row = sqlx::query("SELECT * FROM qa_reviews WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| qa_from_row(&r)).transpose()
    }

    /// Stores a scorecard; false when the case was not sampled or was reviewed meanwhile.
    pub async fn save_qa(
        &mut self,
        case_id: &str,
        reviewer_id: &str,
        scores: &serde_json::Value,
        total: i64,
        comment: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE qa_reviews SET reviewer_id = $1, scores = $2, total = $3, comment = $4, reviewed_at = $5
             WHERE case_id = $6 AND reviewed_at IS NULL",
        )
        .bind(reviewer_id)
        .bind(scores.to_string())
        .bind(total)
        .bind(comment)
        .bind(now_ms)
        .bind(case_id)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that a case changed, for the live pages of every server process; on PostgreSQL
    /// also notifies listeners (delivered when the transaction commits).
    pub async fn changed(&mut self, case_id: &str, account_id: &str, now_ms: i64) -> Result<()> {
        sqlx::query("INSERT INTO case_changes (case_id, account_id, at) VALUES ($1, $2, $3)")
            .bind(case_id)
            .bind(account_id)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?;
        if is_postgres(self.0) {
            sqlx::query("SELECT pg_notify('thaw_cases', $1)")
                .bind(format!("{case_id} {account_id}"))
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }

    /// Changes after `seq`, oldest first: (seq, case id, account id).
    pub async fn changes_since(&mut self, seq: i64, limit: i64) -> Result<Vec<(i64, String, String)>> {
        let rows =
            sqlx::query("SELECT seq, case_id, account_id FROM case_changes WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(seq)
                .bind(limit)
                .fetch_all(&mut *self.0)
                .await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("case_id")?, r.try_get("account_id")?))).collect()
    }

    /// The newest change's number (0 when none).
    pub async fn last_change(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM case_changes").fetch_one(&mut *self.0).await?;
        Ok(row.try_get("seq")?)
    }

    /// Forgets changes older than `before_ms` (live pages only need the last moments).
    pub async fn prune_changes(&mut self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM case_changes WHERE at < $1").bind(before_ms).execute(&mut *self.0).await?;
        Ok(done.rows_affected())
    }
}
