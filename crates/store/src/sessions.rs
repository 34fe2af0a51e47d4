//! Staff sessions, shared by every process on the same database. Only a hash of the session
//! token is stored, so a copy of the database does not let anyone sign in.

use crate::Result;
use sqlx::{AnyConnection, Row};

pub struct Sessions<'c>(pub(crate) &'c mut AnyConnection);

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_hash: String,
    pub staff_id: String,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub ip: String,
    pub user_agent: String,
    /// `password` or `oidc`: how the session began.
    pub method: String,
}

impl Sessions<'_> {
    pub async fn create(&mut self, s: &SessionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, expires_at, last_seen_at, ip, user_agent, method)
             VALUES ($1, $2, $3, $4, $5, $4, $6, $7, $8)",
        )
        .bind(&s.token_hash)
        .bind(&s.staff_id)
        .bind(&s.csrf_token)
        .bind(s.created_at_ms)
        .bind(s.expires_at_ms)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(&s.method)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The session with this token hash if it has not expired at `now_ms`.
    pub async fn live(&mut self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT token_hash, staff_id, csrf_token, created_at, expires_at, ip, user_agent, method
             FROM staff_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                token_hash: r.try_get("token_hash")?,
                staff_id: r.try_get("staff_id")?,
                csrf_token: r.try_get("csrf_token")?,
                created_at_ms: r.try_get("created_at")?,
                expires_at_ms: r.try_get("expires_at")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                method: r.try_get("method")?,
            })
        })
        .transpose()
    }

    pub async fn delete(&mut self, token_hash: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Ends every session of a staff member (password change, deactivation).
    pub async fn delete_for_staff(&mut self, staff_id: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
            .bind(staff_id)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    pub async fn delete_expired(&mut self, now_ms: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM staff_sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }
}
