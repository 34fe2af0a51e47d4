//! Platform API keys. The secret part is stored only as a hash; the id part finds the row.

use crate::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

pub struct ApiKeys<'c>(pub(crate) &'c mut AnyConnection);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub created_at_ms: i64,
    pub created_by: String,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, name, secret_hash, created_at, created_by, last_used_at, revoked_at";

impl ApiKeys<'_> {
    pub async fn create(&mut self, k: &ApiKeyRecord) -> Result<()> {
        sqlx::query("INSERT INTO api_keys (id, name, secret_hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5)")
            .bind(&k.id)
            .bind(&k.name)
            .bind(&k.secret_hash)
            .bind(k.created_at_ms)
            .bind(&k.created_by)
            .execute(&mut *self.0)
            .await?;
        let change = crate::audit::Change {
            action: "api_key.created",
            subject_type: "api_key",
            subject_id: &k.id,
            after: Some(serde_json::json!({ "name": k.name })),
            at_ms: k.created_at_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await
    }

    pub async fn by_id(&mut self, id: &str) -> Result<Option<ApiKeyRecord>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *self.0).await?;
        row.map(|r| from_row(&r)).transpose()
    }

    pub async fn list(&mut self) -> Result<Vec<ApiKeyRecord>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id"));
        let rows = sqlx::query(sql).fetch_all(&mut *self.0).await?;
        rows.iter().map(from_row).collect()
    }

    /// Marks the key revoked; returns false when there is no such key or it was revoked before.
    pub async fn revoke(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        if n == 1 {
            let change = crate::audit::Change {
                action: "api_key.revoked",
                subject_type: "api_key",
                subject_id: id,
                before: Some(serde_json::json!({ "revoked": false })),
                after: Some(serde_json::json!({ "revoked": true })),
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        Ok(n == 1)
    }

    /// Records use at most once a minute, to keep authentication from writing on every call.
    pub async fn touch(&mut self, id: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now_ms)
        .bind(id)
        .bind(now_ms - 60_000)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}

fn from_row(r: &AnyRow) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        secret_hash: r.try_get("secret_hash")?,
        created_at_ms: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        last_used_at_ms: r.try_get("last_used_at")?,
        revoked_at_ms: r.try_get("revoked_at")?,
    })
}
