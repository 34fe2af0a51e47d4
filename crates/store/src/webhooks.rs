//! Webhook endpoints the platform registered, and the outbox of deliveries to them.

use crate::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

pub struct Webhooks<'c>(pub(crate) &'c mut AnyConnection);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    /// The signing secret. Kept as such (a hash could not sign); shown to admins only once.
    pub secret: String,
    pub event_types: Vec<String>,
    pub active: bool,
    pub created_at_ms: i64,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
}

const ENDPOINT: &str = "id, url, secret, event_types, active, created_at, created_by";
const DELIVERY: &str =
    "id, endpoint_id, event_type, payload, status, attempts, last_status, last_error, created_at, delivered_at";

impl Webhooks<'_> {
    pub async fn create_endpoint(&mut self, e: &Endpoint) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )))
        .bind(&e.id)
        .bind(&e.url)
        .bind(&e.secret)
        .bind(e.event_types.join(","))
        .bind(e.active as i64)
        .bind(e.created_at_ms)
        .bind(&e.created_by)
        .execute(&mut *self.0)
        .await?;
        let change = crate::audit::Change {
            action: "webhook.created",
            subject_type: "webhook",
            subject_id: &e.id,
            after: Some(serde_json::json!({ "url": e.url, "event_types": e.event_types, "active": e.active })),
            at_ms: e.created_at_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await
    }

    pub async fn endpoints(&mut self) -> Result<Vec<Endpoint>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENDPOINT} FROM webhook_endpoints ORDER BY created_at, id"
        )))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(endpoint).collect()
    }

    pub async fn endpoint(&mut self, id: &str) -> Result<Option<Endpoint>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ENDPOINT} FROM webhook_endpoints WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| endpoint(&r)).transpose()
    }

    pub async fn deactivate(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE webhook_endpoints SET active = 0 WHERE id = $1 AND active = 1")
            .bind(id)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        if n == 1 {
            let change = crate::audit::Change {
                action: "webhook.deactivated",
                subject_type: "webhook",
                subject_id: id,
                before: Some(serde_json::json!({ "active": true })),
                after: Some(serde_json::json!({ "active": false })),
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        Ok(n == 1)
    }

    pub async fn insert_delivery(&mut self, d: &Delivery) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO webhook_deliveries ({DELIVERY}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(&d.id)
        .bind(&d.endpoint_id)
        .bind(&d.event_type)
        .bind(&d.payload)
        .bind(&d.status)
        .bind(d.attempts)
        .bind(d.last_status)
        .bind(d.last_error.clone())
        .bind(d.created_at_ms)
        .bind(d.delivered_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn delivery(&mut self, id: &str) -> Result<Option<Delivery>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {DELIVERY} FROM webhook_deliveries WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| delivery(&r)).transpose()
    }

    pub async fn deliveries(&mut self, endpoint_id: &str, limit: i64) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY} FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at DESC, id LIMIT $2"
        )))
        .bind(endpoint_id)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(delivery).collect()
    }

    /// Records an attempt's result: status `delivered`, `retrying` or `failed`.
    pub async fn record_attempt(
        &mut self,
        id: &str,
        status: &str,
        http_status: Option<i64>,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        let delivered_at = (status == "delivered").then_some(now_ms);
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
             delivered_at = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(http_status)
        .bind(error)
        .bind(delivered_at)
        .bind(id)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}

fn endpoint(r: &AnyRow) -> Result<Endpoint> {
    let types: String = r.try_get("event_types")?;
    Ok(Endpoint {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        event_types: types.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
        active: r.try_get::<i64, _>("active")? != 0,
        created_at_ms: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

fn delivery(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: r.try_get("id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        event_type: r.try_get("event_type")?,
        payload: r.try_get("payload")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        created_at_ms: r.try_get("created_at")?,
        delivered_at_ms: r.try_get("delivered_at")?,
    })
}
