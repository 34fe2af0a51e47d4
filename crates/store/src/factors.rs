//! Step-up factors of account holders and staff: TOTP secrets (with the last time step used,
//! so that a code cannot be replayed), passkeys, hashed single-use recovery codes, and WebAuthn
//! ceremonies in flight (kept here so that any process can finish one).

use crate::Result;
use sqlx::{AnyConnection, Row};

pub struct Factors<'c>(pub(crate) &'c mut AnyConnection);

/// Whose factor: an account holder or a staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Account(&'a str),
    Staff(&'a str),
}

impl<'a> Subject<'a> {
    fn parts(self) -> (&'static str, &'a str) {
        match self {
            Subject::Account(id) => ("account", id),
            Subject::Staff(id) => ("staff", id),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FactorRecord {
    pub id: String,
    /// "totp" or "passkey".
    pub kind: String,
    pub label: String,
    /// The TOTP secret (base32) or the passkey (JSON).
    pub secret: String,
    pub confirmed: bool,
    pub last_step: i64,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
}

impl Factors<'_> {
    pub async fn insert(&mut self, subject: Subject<'_>, f: &FactorRecord) -> Result<()> {
        let (kind, id) = subject.parts();
        sqlx::query(
            "INSERT INTO factors (id, subject_kind, subject_id, kind, label, secret, confirmed, last_step, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&f.id)
        .bind(kind)
        .bind(id)
        .bind(&f.kind)
        .bind(&f.label)
        .bind(&f.secret)
        .bind(f.confirmed as i64)
        .bind(f.last_step)
        .bind(f.created_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The subject's factors, oldest first; unconfirmed enrolments too.
    pub async fn list(&mut self, subject: Subject<'_>) -> Result<Vec<FactorRecord>> {
        let (kind, id) = subject.parts();
        let rows = sqlx::query(
            "SELECT id, kind, label, secret, confirmed, last_step, created_at, last_used_at FROM factors
             WHERE subject_kind = $1 AND subject_id = $2 ORDER BY created_at, id",
        )
        .bind(kind)
        .bind(id)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FactorRecord {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    label: r.try_get("label")?,
                    secret: r.try_get("secret")?,
                    confirmed: r.try_get::<i64, _>("confirmed")? != 0,
                    last_step: r.try_get("last_step")?,
                    created_at_ms: r.try_get("created_at")?,
                    last_used_at_ms: r.try_get("last_used_at")?,
                })
            })
            .collect()
    }

    pub async fn confirm(&mut self, subject: Subject<'_>, factor_id: &str, step: i64, now_ms: i64) -> Result<bool> {
        let (kind, id) = subject.parts();
        let n = sqlx::query(
            "UPDATE factors SET confirmed = 1, last_step = $4, last_used_at = $5
             WHERE subject_kind = $1 AND subject_id = $2 AND id = $3 AND confirmed = 0",
        )
        .bind(kind)
        .bind(id)
        .bind(factor_id)
        .bind(step)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records the TOTP step just used; false when that step (or a later one) was used before,
    /// which is how a replayed code is refused even by another process.
    pub async fn use_step(&mut self, factor_id: &str, step: i64, now_ms: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE factors SET last_step = $2, last_used_at = $3 WHERE id = $1 AND last_step < $2")
            .bind(factor_id)
            .bind(step)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Replaces a passkey's stored form (its signature counter moves on each use).
    pub async fn update_secret(&mut self, factor_id: &str, secret: &str, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE factors SET secret = $2, last_used_at = $3 WHERE id = $1")
            .bind(factor_id)
            .bind(secret)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn delete(&mut self, subject: Subject<'_>, factor_id: &str) -> Result<bool> {
        let (kind, id) = subject.parts();
        let n = sqlx::query("DELETE FROM factors WHERE subject_kind = $1 AND subject_id = $2 AND id = $3")
            .bind(kind)
            .bind(id)
            .bind(factor_id)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Unconfirmed enrolments are dropped when a new one starts.
    pub async fn delete_unconfirmed(&mut self, subject: Subject<'_>, factor_kind: &str) -> Result<()> {
        let (kind, id) = subject.parts();
        sqlx::query("DELETE FROM factors WHERE subject_kind = $1 AND subject_id = $2 AND kind = $3 AND confirmed = 0")
            .bind(kind)
            .bind(id)
            .bind(factor_kind)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Replaces the subject's recovery codes with new hashes.
    pub async fn replace_recovery_codes(&mut self, subject: Subject<'_>, hashes: &[String], now_ms: i64) -> Result<()> {
        let (kind, id) = subject.parts();
        sqlx::query("DELETE FROM recovery_codes WHERE subject_kind = $1 AND subject_id = $2")
            .bind(kind)
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        for h in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (subject_kind, subject_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(kind)
            .bind(id)
            .bind(h)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?;
        }
        Ok(())
    }

    /// Uses a recovery code once; false when unknown or used.
    pub async fn use_recovery_code(&mut self, subject: Subject<'_>, hash: &str, now_ms: i64) -> Result<bool> {
        let (kind, id) = subject.parts();
        let n = sqlx::query(
            "UPDATE recovery_codes SET used_at = $4
             WHERE subject_kind = $1 AND subject_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(kind)
        .bind(id)
        .bind(hash)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Recovery codes left unused.
    pub async fn recovery_codes_left(&mut self, subject: Subject<'_>) -> Result<i64> {
        let (kind, id) = subject.parts();
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE subject_kind = $1 AND subject_id = $2 AND used_at IS NULL",
        )
        .bind(kind)
        .bind(id)
        .fetch_one(&mut *self.0)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn save_ceremony(
        &mut self,
        ceremony_id: &str,
        subject: Subject<'_>,
        purpose: &str,
        state: &str,
        expires_at_ms: i64,
    ) -> Result<()> {
        let (kind, id) = subject.parts();
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, subject_kind, subject_id, purpose, state, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ceremony_id)
        .bind(kind)
        .bind(id)
        .bind(purpose)
        .bind(state)
        .bind(expires_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Takes a ceremony's state (it can be finished once), if it belongs to the subject, has
    /// this purpose and has not expired.
    pub async fn take_ceremony(
        &mut self,
        ceremony_id: &str,
        subject: Subject<'_>,
        purpose: &str,
        now_ms: i64,
    ) -> Result<Option<String>> {
        let (kind, id) = subject.parts();
        let row = sqlx::query(
            "SELECT state FROM webauthn_ceremonies
             WHERE id = $1 AND subject_kind = $2 AND subject_id = $3 AND purpose = $4 AND expires_at > $5",
        )
        .bind(ceremony_id)
        .bind(kind)
        .bind(id)
        .bind(purpose)
        .bind(now_ms)
        .fetch_optional(&mut *self.0)
        .await?;
        let n = sqlx::query("DELETE FROM webauthn_ceremonies WHERE id = $1")
            .bind(ceremony_id)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        Ok(row.filter(|_| n == 1).map(|r| r.try_get("state")).transpose()?)
    }
}
