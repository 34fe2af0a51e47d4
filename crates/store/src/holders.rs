//! Account holders' access to the security centre: their sessions (only token hashes are
//! stored), factors verified in a session for step-up, used single sign-on token ids, one-time
//! email codes and "this wasn't me" freeze links.

use crate::Result;
use sqlx::{AnyConnection, Row};

pub struct Holders<'c>(pub(crate) &'c mut AnyConnection);

#[derive(Debug, Clone)]
pub struct HolderSessionRecord {
    pub token_hash: String,
    pub account_id: String,
    pub csrf_token: String,
    /// How the holder signed in: "sso" or "email".
    pub via: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone)]
pub struct EmailCode {
    pub id: String,
    pub purpose: String,
    pub email_normalized: String,
    pub account_id: Option<String>,
    pub code_hash: String,
    pub tries: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
}

impl Holders<'_> {
    pub async fn create_session(&mut self, s: &HolderSessionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO holder_sessions (token_hash, account_id, csrf_token, via, created_at, expires_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.token_hash)
        .bind(&s.account_id)
        .bind(&s.csrf_token)
        .bind(&s.via)
        .bind(s.created_at_ms)
        .bind(s.expires_at_ms)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn live_session(&mut self, token_hash: &str, now_ms: i64) -> Result<Option<HolderSessionRecord>> {
        let row = sqlx::query(
            "SELECT token_hash, account_id, csrf_token, via, created_at, expires_at, ip, user_agent
             FROM holder_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|r| {
            Ok(HolderSessionRecord {
                token_hash: r.try_get("token_hash")?,
                account_id: r.try_get("account_id")?,
                csrf_token: r.try_get("csrf_token")?,
                via: r.try_get("via")?,
                created_at_ms: r.try_get("created_at")?,
                expires_at_ms: r.try_get("expires_at")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_factors WHERE session_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.0)
            .await?;
        sqlx::query("DELETE FROM holder_sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *self.0).await?;
        Ok(())
    }

    /// Ends every session of an account but `except` (a self-freeze signs out whoever else is in).
    pub async fn delete_sessions_of(&mut self, account_id: &str, except: Option<&str>) -> Result<u64> {
        let except = except.unwrap_or("");
        sqlx::query(
            "DELETE FROM session_factors WHERE session_hash IN
             (SELECT token_hash FROM holder_sessions WHERE account_id = $1 AND token_hash <> $2)",
        )
        .bind(account_id)
        .bind(except)
        .execute(&mut *self.0)
        .await?;
        Ok(sqlx::query("DELETE FROM holder_sessions WHERE account_id = $1 AND token_hash <> $2")
            .bind(account_id)
            .bind(except)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    /// Records that `factor` was verified in session `session_hash` at `now_ms`.
    pub async fn record_factor(&mut self, session_hash: &str, factor: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO session_factors (session_hash, factor, verified_at) VALUES ($1, $2, $3)
             ON CONFLICT (session_hash, factor) DO UPDATE SET verified_at = excluded.verified_at",
        )
        .bind(session_hash)
        .bind(factor)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Factors verified in a session since `since_ms`.
    pub async fn factors_since(&mut self, session_hash: &str, since_ms: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT factor FROM session_factors WHERE session_hash = $1 AND verified_at > $2 ORDER BY factor",
        )
        .bind(session_hash)
        .bind(since_ms)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("factor")?)).collect()
    }

    pub async fn clear_factors(&mut self, session_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_factors WHERE session_hash = $1")
            .bind(session_hash)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Marks a single sign-on token id as used; false when it was used before.
    pub async fn use_sso_token(&mut self, jti: &str, expires_at_ms: i64) -> Result<bool> {
        let n =
            sqlx::query("INSERT INTO sso_tokens_used (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
                .bind(jti)
                .bind(expires_at_ms)
                .execute(&mut *self.0)
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    pub async fn insert_code(&mut self, c: &EmailCode) -> Result<()> {
        sqlx::query(
            "INSERT INTO email_codes (id, purpose, email_normalized, account_id, code_hash, tries, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
        )
        .bind(&c.id)
        .bind(&c.purpose)
        .bind(&c.email_normalized)
        .bind(&c.account_id)
        .bind(&c.code_hash)
        .bind(c.created_at_ms)
        .bind(c.expires_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The newest unused, unexpired code for this purpose and email.
    pub async fn latest_code(
        &mut self,
        purpose: &str,
        email_normalized: &str,
        now_ms: i64,
    ) -> Result<Option<EmailCode>> {
        let row = sqlx::query(
            "SELECT id, purpose, email_normalized, account_id, code_hash, tries, created_at, expires_at, used_at
             FROM email_codes WHERE purpose = $1 AND email_normalized = $2 AND used_at IS NULL AND expires_at > $3
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(purpose)
        .bind(email_normalized)
        .bind(now_ms)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|r| {
            Ok(EmailCode {
                id: r.try_get("id")?,
                purpose: r.try_get("purpose")?,
                email_normalized: r.try_get("email_normalized")?,
                account_id: r.try_get("account_id")?,
                code_hash: r.try_get("code_hash")?,
                tries: r.try_get("tries")?,
                created_at_ms: r.try_get("created_at")?,
                expires_at_ms: r.try_get("expires_at")?,
                used_at_ms: r.try_get("used_at")?,
            })
        })
        .transpose()
    }

    /// Counts a wrong try; returns the tries so far.
    pub async fn count_try(&mut self, id: &str) -> Result<i64> {
        sqlx::query("UPDATE email_codes SET tries = tries + 1 WHERE id = $1").bind(id).execute(&mut *self.0).await?;
        let row = sqlx::query("SELECT tries FROM email_codes WHERE id = $1").bind(id).fetch_one(&mut *self.0).await?;
        Ok(row.try_get("tries")?)
    }

    /// Uses a code once; false when it was used already.
    pub async fn use_code(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE email_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(id)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Codes sent for this purpose and email since `since_ms` (for throttling requests).
    pub async fn codes_sent_since(&mut self, purpose: &str, email_normalized: &str, since_ms: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM email_codes WHERE purpose = $1 AND email_normalized = $2 AND created_at > $3",
        )
        .bind(purpose)
        .bind(email_normalized)
        .bind(since_ms)
        .fetch_one(&mut *self.0)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn insert_freeze_link(
        &mut self,
        token_hash: &str,
        account_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO freeze_links (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The account of a live, unused freeze link.
    pub async fn freeze_link(&mut self, token_hash: &str, now_ms: i64) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT account_id FROM freeze_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|r| Ok(r.try_get("account_id")?)).transpose()
    }

    /// Uses a freeze link once; false when it was used, expired or unknown.
    pub async fn use_freeze_link(&mut self, token_hash: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE freeze_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Forgets expired sessions, codes, token ids and links.
    pub async fn delete_expired(&mut self, now_ms: i64) -> Result<u64> {
        let mut n = 0;
        for sql in [
            "DELETE FROM session_factors WHERE session_hash IN (SELECT token_hash FROM holder_sessions WHERE expires_at <= $1)",
            "DELETE FROM holder_sessions WHERE expires_at <= $1",
            "DELETE FROM sso_tokens_used WHERE expires_at <= $1",
            "DELETE FROM email_codes WHERE expires_at <= $1 - 86400000",
            "DELETE FROM freeze_links WHERE expires_at <= $1 - 86400000",
            "DELETE FROM webauthn_ceremonies WHERE expires_at <= $1",
        ] {
            n += sqlx::query(sql).bind(now_ms).execute(&mut *self.0).await?.rows_affected();
        }
        Ok(n)
    }
}
