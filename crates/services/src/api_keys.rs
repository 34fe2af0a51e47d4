//! Platform API keys: `thaw_<id>_<secret>`, shown once at creation, stored as a hash of the
//! secret, presented as `Authorization: Bearer …`, revocable.

use crate::{ServiceError, now_ms, random_hex, same_secret, secret_digest};
use std::collections::HashMap;
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

/// A bearer token's key id and secret, when it has the shape of one.
fn parse(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix("thaw_")?.split_once('_')?;
    (id.len() == 16 && secret.len() == 64).then_some((id, secret))
}

/// The live key this bearer token names, or None for a malformed, unknown, wrong or revoked key.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<ApiKeyRecord>, ServiceError> {
    let Some((id, secret)) = parse(token) else { return Ok(None) };
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

/// How long a key this process verified is trusted without reading it again. A key revoked
/// through this process stops working at once ([`KeyCache::revoke`]); one revoked elsewhere
/// (another server process, the CLI) within this time.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The keys this process verified lately, so that the platform's every call (thousands a
/// second) does not cost a database read. The secret is checked against the stored hash on
/// every call, cached or not; only live keys are kept.
#[derive(Clone, Default)]
pub struct KeyCache(std::sync::Arc<std::sync::Mutex<HashMap<String, (ApiKeyRecord, std::time::Instant)>>>);

/// Most keys kept: past it the cache starts afresh.
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    /// [`authenticate`], answered from what this process verified within [`KEY_CACHE_TTL`].
    pub async fn authenticate(&self, db: &Db, token: &str) -> Result<Option<ApiKeyRecord>, ServiceError> {
        let Some((id, secret)) = parse(token) else { return Ok(None) };
        if let Some((record, _)) = self.lock().get(id).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL) {
            return Ok(same_secret(&secret_digest(secret), &record.secret_hash).then(|| record.clone()));
        }
        let found = authenticate(db, token).await?;
        let mut keys = self.lock();
        match &found {
            Some(record) => {
                if keys.len() >= KEY_CACHE_MAX {
                    keys.clear();
                }
                keys.insert(id.to_string(), (record.clone(), std::time::Instant::now()));
            }
            None => {
                keys.remove(id);
            }
        }
        Ok(found)
    }

    /// [`revoke`], and forgets the key here at once.
    pub async fn revoke(&self, db: &Db, id: &str) -> Result<(), ServiceError> {
        let revoked = revoke(db, id).await;
        self.lock().remove(id);
        revoked
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ApiKeyRecord, std::time::Instant)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
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
