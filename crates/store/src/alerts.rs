//! Alerts to account holders (also their throttle: one of a kind per account per window) and
//! every email thaw sends, rendered, with its delivery state.

use crate::Result;
use sqlx::{AnyConnection, Row};

pub struct Alerts<'c>(pub(crate) &'c mut AnyConnection);

#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    /// JSON object of facts.
    pub facts: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct EmailRecord {
    pub id: String,
    pub account_id: Option<String>,
    pub to_addr: String,
    pub purpose: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// pending, sent, failed, or unsent (no SMTP server configured).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    /// Threading of a case email: its Message-ID (without brackets), the one it answers, and
    /// the address replies go to.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub reply_to: Option<String>,
}

impl Alerts<'_> {
    /// Whether an alert of `kind` went to the account since `since_ms`.
    pub async fn sent_since(&mut self, account_id: &str, kind: &str, since_ms: i64) -> Result<bool> {
        let row =
            sqlx::query("SELECT 1 AS x FROM alerts WHERE account_id = $1 AND kind = $2 AND created_at > $3 LIMIT 1")
                .bind(account_id)
                .bind(kind)
                .bind(since_ms)
                .fetch_optional(&mut *self.0)
                .await?;
        Ok(row.is_some())
    }

    pub async fn insert(&mut self, a: &AlertRecord) -> Result<()> {
        sqlx::query("INSERT INTO alerts (id, account_id, kind, facts, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&a.id)
            .bind(&a.account_id)
            .bind(&a.kind)
            .bind(&a.facts)
            .bind(a.created_at_ms)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn get(&mut self, id: &str) -> Result<Option<AlertRecord>> {
        let row = sqlx::query("SELECT id, account_id, kind, facts, created_at FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| alert_from_row(&r)).transpose()
    }

    /// The account's alerts, newest first.
    pub async fn for_account(&mut self, account_id: &str, limit: i64) -> Result<Vec<AlertRecord>> {
        let rows = sqlx::query(
            "SELECT id, account_id, kind, facts, created_at FROM alerts WHERE account_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn insert_email(&mut self, e: &EmailRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO emails (id, account_id, to_addr, purpose, subject, body_text, body_html, status, attempts, created_at,
             message_id, in_reply_to, reply_to)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12)",
        )
        .bind(&e.id)
        .bind(&e.account_id)
        .bind(&e.to_addr)
        .bind(&e.purpose)
        .bind(&e.subject)
        .bind(&e.body_text)
        .bind(&e.body_html)
        .bind(&e.status)
        .bind(e.created_at_ms)
        .bind(e.message_id.clone())
        .bind(e.in_reply_to.clone())
        .bind(e.reply_to.clone())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn email(&mut self, id: &str) -> Result<Option<EmailRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {EMAIL_COLUMNS} FROM emails WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| email_from_row(&r)).transpose()
    }

    /// The newest emails, optionally of one account (the demo mailbox and the desk).
    pub async fn recent_emails(&mut self, account_id: Option<&str>, limit: i64) -> Result<Vec<EmailRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EMAIL_COLUMNS} FROM emails WHERE ($1 IS NULL OR account_id = $1) ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(account_id)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(email_from_row).collect()
    }

    pub async fn record_email_attempt(
        &mut self,
        id: &str,
        status: &str,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE emails SET status = $2, attempts = attempts + 1, last_error = $3,
             sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(error)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}

const EMAIL_COLUMNS: &str = "id, account_id, to_addr, purpose, subject, body_text, body_html, status, attempts, last_error, \
    created_at, sent_at, message_id, in_reply_to, reply_to";

fn alert_from_row(r: &sqlx::any::AnyRow) -> Result<AlertRecord> {
    Ok(AlertRecord {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        kind: r.try_get("kind")?,
        facts: r.try_get("facts")?,
        created_at_ms: r.try_get("created_at")?,
    })
}

fn email_from_row(r: &sqlx::any::AnyRow) -> Result<EmailRecord> {
    Ok(EmailRecord {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        to_addr: r.try_get("to_addr")?,
        purpose: r.try_get("purpose")?,
        subject: r.try_get("subject")?,
        body_text: r.try_get("body_text")?,
        body_html: r.try_get("body_html")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        created_at_ms: r.try_get("created_at")?,
        sent_at_ms: r.try_get("sent_at")?,
        message_id: r.try_get("message_id")?,
        in_reply_to: r.try_get("in_reply_to")?,
        reply_to: r.try_get("reply_to")?,
    })
}
