//! Official channels (domains, email senders, phone numbers, social handles) and staff agent IDs,
//! for the official-channel checker.

use crate::Result;
use sqlx::{AnyConnection, Row};

pub struct Channels<'c>(pub(crate) &'c mut AnyConnection);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: String,
    pub kind: String,
    pub value: String,
    pub label: String,
    pub created_at_ms: i64,
    pub created_by: String,
}

impl Channels<'_> {
    pub async fn list(&mut self) -> Result<Vec<ChannelRecord>> {
        let rows = sqlx::query(
            "SELECT id, kind, value, label, created_at, created_by FROM official_channels ORDER BY kind, value",
        )
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ChannelRecord {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    value: r.try_get("value")?,
                    label: r.try_get("label")?,
                    created_at_ms: r.try_get("created_at")?,
                    created_by: r.try_get("created_by")?,
                })
            })
            .collect()
    }

    /// Adds a channel; a channel of the same kind and value is refused as a duplicate.
    pub async fn add(&mut self, c: &ChannelRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO official_channels (id, kind, value, label, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id)
        .bind(&c.kind)
        .bind(&c.value)
        .bind(&c.label)
        .bind(c.created_at_ms)
        .bind(&c.created_by)
        .execute(&mut *self.0)
        .await
        .map_err(crate::duplicate_as("value"))?;
        let change = crate::audit::Change {
            action: "channel.added",
            subject_type: "channel",
            subject_id: &c.id,
            after: Some(serde_json::json!({ "kind": c.kind, "value": c.value, "label": c.label })),
            at_ms: c.created_at_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await
    }

    /// Removes a channel; false when there was none.
    pub async fn remove(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        let Some(before) = self.list().await?.into_iter().find(|c| c.id == id) else { return Ok(false) };
        sqlx::query("DELETE FROM official_channels WHERE id = $1").bind(id).execute(&mut *self.0).await?;
        let change = crate::audit::Change {
            action: "channel.removed",
            subject_type: "channel",
            subject_id: id,
            before: Some(serde_json::json!({ "kind": before.kind, "value": before.value, "label": before.label })),
            at_ms: now_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await?;
        Ok(true)
    }

    /// The public agent IDs of active staff.
    pub async fn agent_ids(&mut self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT agent_id FROM staff WHERE agent_id IS NOT NULL AND active = 1")
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("agent_id")?)).collect()
    }

    /// Gives every staff member without a public agent ID the next one (`THAW-1001`, …).
    pub async fn assign_agent_ids(&mut self, now_ms: i64) -> Result<u64> {
        let rows = sqlx::query("SELECT id FROM staff WHERE agent_id IS NULL ORDER BY created_at, id")
            .fetch_all(&mut *self.0)
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
        let mut n = 0;
        for id in ids {
            let next: i64 = sqlx::query("SELECT COUNT(*) AS n FROM staff WHERE agent_id IS NOT NULL")
                .fetch_one(&mut *self.0)
                .await?
                .try_get("n")?;
            let agent_id = format!("THAW-{}", 1001 + next);
            let done =
                sqlx::query("UPDATE staff SET agent_id = $1, updated_at = $2 WHERE id = $3 AND agent_id IS NULL")
                    .bind(&agent_id)
                    .bind(now_ms)
                    .bind(&id)
                    .execute(&mut *self.0)
                    .await?
                    .rows_affected();
            if done == 1 {
                let change = crate::audit::Change {
                    action: "staff.agent_id_assigned",
                    subject_type: "staff",
                    subject_id: &id,
                    after: Some(serde_json::json!({ "agent_id": agent_id })),
                    at_ms: now_ms,
                    ..Default::default()
                };
                crate::audit::record(self.0, change).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Every staff member's public agent ID, by staff id.
    pub async fn agent_ids_by_staff(&mut self) -> Result<std::collections::HashMap<String, String>> {
        let rows =
            sqlx::query("SELECT id, agent_id FROM staff WHERE agent_id IS NOT NULL").fetch_all(&mut *self.0).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("agent_id")?))).collect()
    }
}
