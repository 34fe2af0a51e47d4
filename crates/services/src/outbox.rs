//! The webhook outbox: a change that the platform must hear about is queued for every
//! subscribed endpoint in the same transaction as the change; a job delivers it later.

use crate::{new_id, rfc3339};
use thaw_store::{AnyConnection, Capabilities, Delivery};

pub const EVENT_TYPES: &[&str] = &[
    "hold.created",
    "hold.released",
    "hold.expired",
    "decision.made",
    "alert.created",
    "case.opened",
    "case.resolved",
    "case.merged",
    "case.sla_warning",
    "case.sla_breached",
    "compensation.granted",
];

/// Queues `data` as `event_type` for every active endpoint subscribed to it (or to `*`).
pub async fn enqueue(
    conn: &mut AnyConnection,
    event_type: &str,
    data: &serde_json::Value,
    now_ms: i64,
) -> thaw_store::Result<usize> {
    let endpoints = conn.webhooks().endpoints().await?;
    let mut queued = 0;
    for e in endpoints.iter().filter(|e| e.active && e.event_types.iter().any(|t| t == event_type || t == "*")) {
        let id = new_id();
        let payload = serde_json::json!({ "id": id, "type": event_type, "created_at": rfc3339(now_ms), "data": data });
        let delivery = Delivery {
            id: id.clone(),
            endpoint_id: e.id.clone(),
            event_type: event_type.to_string(),
            payload: payload.to_string(),
            status: "pending".into(),
            attempts: 0,
            last_status: None,
            last_error: None,
            created_at_ms: now_ms,
            delivered_at_ms: None,
        };
        conn.webhooks().insert_delivery(&delivery).await?;
        conn.jobs().schedule(&new_id(), "webhook", &id, now_ms, now_ms).await?;
        queued += 1;
    }
    Ok(queued)
}
