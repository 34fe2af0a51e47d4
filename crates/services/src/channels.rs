//! The official-channel checker: admins register the platform's official domains, email
//! senders, phone numbers and social handles; anyone asks whether a URL, address, number,
//! handle or agent ID is official (`thaw_domain::channels` decides, look-alikes included).

use crate::{ServiceError, new_id};
use thaw_domain::Invalid;
use thaw_domain::channels::{self, ChannelKind, OfficialChannel, Verdict};
use thaw_store::channels::ChannelRecord;
use thaw_store::{Capabilities, Db, StoreError};

pub async fn list(db: &Db) -> Result<Vec<ChannelRecord>, ServiceError> {
    Ok(db.conn().await?.channels().list().await?)
}

/// Registers a channel (normalised); the same kind and value twice is refused.
pub async fn add(
    db: &Db,
    kind: &str,
    value: &str,
    label: &str,
    by: &str,
    now_ms: i64,
) -> Result<ChannelRecord, ServiceError> {
    let kind = ChannelKind::parse(kind.trim())
        .filter(|k| *k != ChannelKind::AgentId)
        .ok_or_else(|| Invalid::new("kind", "unknown_kind", "kind must be domain, email, phone or handle"))?;
    let c = OfficialChannel::new(kind, value, label)?;
    let record = ChannelRecord {
        id: new_id(),
        kind: kind.as_str().into(),
        value: c.value,
        label: c.label,
        created_at_ms: now_ms,
        created_by: by.into(),
    };
    let mut tx = db.begin_write().await?;
    tx.channels().add(&record).await.map_err(|e| match e {
        StoreError::Duplicate(_) => {
            ServiceError::Duplicate { field: "value", message: format!("{} is registered already", record.value) }
        }
        e => e.into(),
    })?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(record)
}

pub async fn remove(db: &Db, id: &str, now_ms: i64) -> Result<(), ServiceError> {
    let mut tx = db.begin_write().await?;
    if !tx.channels().remove(id, now_ms).await? {
        return Err(ServiceError::NotFound("official channel"));
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Whether `input` is official, a look-alike of an official channel, or not official.
pub async fn check(db: &Db, input: &str) -> Result<Verdict, ServiceError> {
    let mut conn = db.conn().await?;
    let official: Vec<OfficialChannel> = conn
        .channels()
        .list()
        .await?
        .into_iter()
        .filter_map(|r| Some(OfficialChannel { kind: ChannelKind::parse(&r.kind)?, value: r.value, label: r.label }))
        .collect();
    let agent_ids = conn.channels().agent_ids().await?;
    Ok(channels::check(&official, &agent_ids, input)?)
}

/// Gives staff members without a public agent ID one.
pub async fn assign_agent_ids(db: &Db, now_ms: i64) -> Result<u64, ServiceError> {
    let mut tx = db.begin_write().await?;
    let n = tx.channels().assign_agent_ids(now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(n)
}

/// Registers the demo's official channels when none are registered yet.
pub async fn seed_demo(db: &Db, now_ms: i64) -> Result<usize, ServiceError> {
    if !list(db).await?.is_empty() {
        return Ok(0);
    }
    for (kind, value, label) in DEMO_CHANNELS {
        add(db, kind, value, label, "demo", now_ms).await?;
    }
    Ok(DEMO_CHANNELS.len())
}

/// The channels a fresh demo registers.
pub const DEMO_CHANNELS: &[(&str, &str, &str)] = &[
    ("domain", "thaw.example", "Website"),
    ("email", "support@thaw.example", "Support email"),
    ("email", "security@thaw.example", "Security alerts"),
    ("phone", "+44 20 7946 0000", "Phone support"),
    ("handle", "x:thaw_official", "X (Twitter)"),
    ("handle", "telegram:thaw_support", "Telegram"),
];
