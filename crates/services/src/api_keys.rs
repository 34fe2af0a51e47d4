//! Platform API keys: `thaw_<id>_<secret>`, shown once at creation, stored as a hash of the
//! secret, presented as `Authorization: Bearer …`, revocable.

use crate::{ServiceError, now_ms, random_hex, same_secret, secret_digest};
use thaw_domain::Invalid;
use thaw_store::{ApiKeyRecord, Capabilities, Db};

/// A key just created: `plaintext` is shown to the operator once and never again.
pub struct CreatedKey {
    pub record: ApiKeyRecord,
    pub plaintext: String,
}

pub async fn create(db: &Db, name: &str, created_by: &str) -> Result<CreatedKey, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Invalid::new("name", "invalid_name", "an API key needs a name of 1 to 100 characters").into());
    }
    let id = random_hex(8);
    let secret = random_hex(32);
    let record = ApiKeyRecord {
        id: id.clone(),
        name: name.to_string(),
        secret_hash: secret_digest(&secret),
        created_at_ms: now_ms(),
        created_by: created_by.to_string(),
        last_used_at_ms: None,
        revoked_at_ms: None,
    };
    let mut tx = db.begin_write().await?;
    tx.api_keys().create(&record).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(CreatedKey { record, plaintext: format!("thaw_{id}_{secret}") })
}

/// The live key this bearer token names, or None for a malformed, unknown, wrong or revoked key.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<ApiKeyRecord>, ServiceError> {
    let Some((id, secret)) = token.strip_prefix("thaw_").and_then(|rest| rest.split_once('_')) else {
        return Ok(None);
    };
    if id.len() != 16 || secret.len() != 64 {
        return Ok(None);
    }
    let mut conn = db.conn().await?;
    let Some(record) = conn.api_keys().by_id(id).await? else {
        return Ok(None);
    };
    if record.revoked_at_ms.is_some() || !same_secret(&secret_digest(secret), &record.secret_hash) {
        return Ok(None);
    }
    // Recording use is a write: only when the recorded time is over a minute old, so that the
    // platform's every call does not contend for SQLite's write lock.
    let now = now_ms();
    if record.last_used_at_ms.is_none_or(|t| t < now - 60_000) {
        conn.api_keys().touch(id, now).await?;
    }
    Ok(Some(record))
}

pub async fn list(db: &Db) -> Result<Vec<ApiKeyRecord>, ServiceError> {
    Ok(db.conn().await?.api_keys().list().await?)
}

/// Revokes a key by id; unknown or already revoked keys are reported as not found.
pub async fn revoke(db: &Db, id: &str) -> Result<(), ServiceError> {
    let id = crate::lookup_id(id, "api key")?;
    let mut tx = db.begin_write().await?;
    if tx.api_keys().revoke(id, now_ms()).await? {
        tx.commit().await.map_err(thaw_store::StoreError::from)?;
        Ok(())
    } else {
        Err(ServiceError::NotFound("api key"))
    }
}
