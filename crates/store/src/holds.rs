//! Holds and their append-only change log.

use crate::{Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use thaw_domain::risk::{Hold, HoldOrigin, HoldStatus, Money, ScopeSet};

pub struct Holds<'c>(pub(crate) &'c mut AnyConnection);

/// One entry of a hold's history: who changed it, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldChange {
    pub id: String,
    pub hold_id: String,
    pub account_id: String,
    pub change: String,
    pub actor: String,
    pub at_ms: i64,
    pub note: String,
    pub status_before: Option<String>,
    pub status_after: String,
}

const COLUMNS: &str = "id, account_id, scopes, origin, release_policy, reason, confidential, created_at, expires_at, \
    cooldown_ms, amount, asset, decision_id, status, released_at, released_by";

impl Holds<'_> {
    pub async fn insert(&mut self, h: &Hold, placed_by: &str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO holds ({COLUMNS}, placed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        )))
        .bind(&h.id)
        .bind(&h.account_id)
        .bind(h.scopes.to_text())
        .bind(h.origin.code())
        .bind(serde_json::to_string(&h.release).expect("serialisable"))
        .bind(serde_json::to_string(&h.reason).expect("serialisable"))
        .bind(h.confidential as i64)
        .bind(h.created_at_ms)
        .bind(h.expires_at_ms)
        .bind(h.cooldown_ms)
        .bind(h.amount.as_ref().map(|m| m.amount.to_string()))
        .bind(h.amount.as_ref().map(|m| m.asset.clone()))
        .bind(h.decision_id.clone())
        .bind(h.status.code())
        .bind(h.released_at_ms)
        .bind(h.released_by.clone())
        .bind(placed_by)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn get(&mut self, id: &str) -> Result<Option<Hold>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM holds WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| from_row(&r)).transpose()
    }

    /// Holds in force at `now_ms`: active and not past their expiry (expiry is exact even before
    /// the sweep marks them expired). The enforcement call; served by one index.
    pub async fn in_force(&mut self, account_id: &str, now_ms: i64) -> Result<Vec<Hold>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM holds WHERE account_id = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > $2)
             ORDER BY created_at"
        )))
        .bind(account_id)
        .bind(now_ms)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every hold of an account, newest first.
    pub async fn for_account(&mut self, account_id: &str, limit: i64) -> Result<Vec<Hold>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM holds WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT $2"
        )))
        .bind(account_id)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Moves an active hold to `status`; false if it was no longer active (someone else won).
    pub async fn close(&mut self, id: &str, status: HoldStatus, at_ms: i64, by: &str) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE holds SET status = $1, released_at = $2, released_by = $3 WHERE id = $4 AND status = 'active'",
        )
        .bind(status.code())
        .bind(at_ms)
        .bind(by)
        .bind(id)
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn record_change(&mut self, c: &HoldChange) -> Result<()> {
        sqlx::query(
            "INSERT INTO hold_changes (id, hold_id, account_id, change, actor, at, note, status_before, status_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(&c.hold_id)
        .bind(&c.account_id)
        .bind(&c.change)
        .bind(&c.actor)
        .bind(c.at_ms)
        .bind(&c.note)
        .bind(c.status_before.clone())
        .bind(&c.status_after)
        .execute(&mut *self.0)
        .await?;
        let action = format!("hold.{}", c.change);
        crate::audit::record(
            self.0,
            crate::audit::Change {
                action: &action,
                subject_type: "hold",
                subject_id: &c.hold_id,
                before: c.status_before.as_ref().map(|s| serde_json::json!({ "status": s })),
                after: Some(
                    serde_json::json!({ "status": c.status_after, "account_id": c.account_id, "note": c.note }),
                ),
                at_ms: c.at_ms,
                actor: Some(&c.actor),
            },
        )
        .await
    }

    /// Records that the case desk must open a case of `category` with this context (JSON).
    pub async fn record_pending_case(
        &mut self,
        id: &str,
        account_id: &str,
        category: &str,
        context: &str,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pending_cases (id, account_id, category, context, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(account_id)
        .bind(category)
        .bind(context)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn changes(&mut self, hold_id: &str) -> Result<Vec<HoldChange>> {
        let rows = sqlx::query(
            "SELECT id, hold_id, account_id, change, actor, at, note, status_before, status_after FROM hold_changes
             WHERE hold_id = $1 ORDER BY at, id",
        )
        .bind(hold_id)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HoldChange {
                    id: r.try_get("id")?,
                    hold_id: r.try_get("hold_id")?,
                    account_id: r.try_get("account_id")?,
                    change: r.try_get("change")?,
                    actor: r.try_get("actor")?,
                    at_ms: r.try_get("at")?,
                    note: r.try_get("note")?,
                    status_before: r.try_get("status_before")?,
                    status_after: r.try_get("status_after")?,
                })
            })
            .collect()
    }
}

fn from_row(r: &AnyRow) -> Result<Hold> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("hold {what}"));
    let amount: Option<String> = r.try_get("amount")?;
    let asset: Option<String> = r.try_get("asset")?;
    let amount = match (amount, asset) {
        (Some(a), Some(asset)) => Some(Money { amount: a.parse().map_err(|_| corrupt("amount"))?, asset }),
        _ => None,
    };
    Ok(Hold {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        scopes: ScopeSet::from_text(&r.try_get::<String, _>("scopes")?).ok_or_else(|| corrupt("scopes"))?,
        origin: HoldOrigin::parse(&r.try_get::<String, _>("origin")?).ok_or_else(|| corrupt("origin"))?,
        release: serde_json::from_str(&r.try_get::<String, _>("release_policy")?)
            .map_err(|_| corrupt("release policy"))?,
        reason: serde_json::from_str(&r.try_get::<String, _>("reason")?).map_err(|_| corrupt("reason"))?,
        confidential: r.try_get::<i64, _>("confidential")? != 0,
        created_at_ms: r.try_get("created_at")?,
        expires_at_ms: r.try_get("expires_at")?,
        cooldown_ms: r.try_get("cooldown_ms")?,
        amount,
        decision_id: r.try_get("decision_id")?,
        status: HoldStatus::parse(&r.try_get::<String, _>("status")?).ok_or_else(|| corrupt("status"))?,
        released_at_ms: r.try_get("released_at")?,
        released_by: r.try_get("released_by")?,
    })
}
