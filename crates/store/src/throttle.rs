//! Failed sign-in attempts, counted per scope and subject (for example email+IP, or IP alone)
//! over a sliding window, in the database so that every process counts the same.

use crate::Result;
use sqlx::{AnyConnection, Row};

pub struct Throttle<'c>(pub(crate) &'c mut AnyConnection);

impl Throttle<'_> {
    pub async fn record_failure(&mut self, scope: &str, subject: &str, now_ms: i64) -> Result<()> {
        sqlx::query("INSERT INTO signin_failures (scope, subject, at) VALUES ($1, $2, $3)")
            .bind(scope)
            .bind(subject)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Failures since `since_ms`, and the oldest of them (which decides when the window frees up).
    pub async fn failures_since(&mut self, scope: &str, subject: &str, since_ms: i64) -> Result<(i64, Option<i64>)> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM signin_failures WHERE scope = $1 AND subject = $2 AND at > $3")
            .bind(scope)
            .bind(subject)
            .bind(since_ms)
            .fetch_one(&mut *self.0)
            .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    /// Forgets the failures of a subject (after a successful sign-in).
    pub async fn clear(&mut self, scope: &str, subject: &str) -> Result<()> {
        sqlx::query("DELETE FROM signin_failures WHERE scope = $1 AND subject = $2")
            .bind(scope)
            .bind(subject)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn delete_older_than(&mut self, cutoff_ms: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM signin_failures WHERE at < $1")
            .bind(cutoff_ms)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }
}
