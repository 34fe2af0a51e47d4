//! The job table: timers and deliveries that any process may run. A due job is claimed with a
//! row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL, inside `BEGIN IMMEDIATE` on SQLite) and a
//! lease, so two processes never run the same job at once, and a crashed process's job is
//! taken up again when its lease runs out.

use crate::{Result, is_postgres};
use sqlx::{AnyConnection, Row};

pub struct Jobs<'c>(pub(crate) &'c mut AnyConnection);

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

impl Jobs<'_> {
    pub async fn schedule(&mut self, id: &str, kind: &str, payload: &str, run_at_ms: i64, now_ms: i64) -> Result<()> {
        sqlx::query("INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(kind)
            .bind(payload)
            .bind(run_at_ms)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Schedules a recurring job once per database, whoever asks first.
    pub async fn ensure_unique(
        &mut self,
        id: &str,
        kind: &str,
        unique_key: &str,
        run_at_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, payload, unique_key, run_at, created_at) VALUES ($1, $2, '', $3, $4, $5)
             ON CONFLICT (unique_key) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(unique_key)
        .bind(run_at_ms)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` due jobs for `worker` until `now_ms + lease_ms`. Call inside a write
    /// transaction and commit before running them.
    pub async fn claim(&mut self, worker: &str, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>> {
        let lock = if is_postgres(self.0) { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "SELECT id, kind, payload, attempts FROM jobs WHERE done_at IS NULL AND run_at <= $1
             AND (locked_until IS NULL OR locked_until < $1) ORDER BY run_at LIMIT $2{lock}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms).bind(limit).fetch_all(&mut *self.0).await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in rows {
            let attempts: i64 = r.try_get("attempts")?;
            jobs.push(Job {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                payload: r.try_get("payload")?,
                attempts: attempts + 1,
            });
        }
        if jobs.is_empty() {
            return Ok(jobs);
        }
        // One statement for the batch: on SQLite the claim holds the process's writer connection.
        let ids = (3..3 + jobs.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql =
            format!("UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1 WHERE id IN ({ids})");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false).bind(now_ms + lease_ms).bind(worker);
        for job in &jobs {
            q = q.bind(&job.id);
        }
        q.execute(&mut *self.0).await?;
        Ok(jobs)
    }

    /// Extends `worker`'s lease on a job just before running it; false if the lease ran out
    /// (another process may have taken the job), in which case it must not run here.
    pub async fn renew(&mut self, id: &str, worker: &str, now_ms: i64, lease_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND locked_until > $4 AND done_at IS NULL",
        )
        .bind(now_ms + lease_ms)
        .bind(id)
        .bind(worker)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Marks a job done, if `worker` still holds it.
    pub async fn complete(&mut self, id: &str, worker: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET done_at = $1, locked_until = NULL WHERE id = $2 AND locked_by = $3 AND done_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .bind(worker)
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Puts a job back to run again at `run_at_ms`, noting why it failed.
    pub async fn retry(&mut self, id: &str, worker: &str, run_at_ms: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3 AND locked_by = $4",
        )
        .bind(run_at_ms)
        .bind(error)
        .bind(id)
        .bind(worker)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Reschedules a recurring job after a run.
    pub async fn reschedule(&mut self, id: &str, worker: &str, run_at_ms: i64) -> Result<()> {
        sqlx::query("UPDATE jobs SET run_at = $1, locked_until = NULL, attempts = 0 WHERE id = $2 AND locked_by = $3")
            .bind(run_at_ms)
            .bind(id)
            .bind(worker)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// How many jobs are due and unclaimed (a cheap read before taking the write lock).
    pub async fn due_exists(&mut self, now_ms: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $1
             AND (locked_until IS NULL OR locked_until < $1) LIMIT 1) due",
        )
        .bind(now_ms)
        .fetch_one(&mut *self.0)
        .await?;
        Ok(row.try_get("n")?)
    }
}
