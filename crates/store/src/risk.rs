//! Events, their decisions and each account's risk state. An event and its decision are
//! written in the same transaction as the state they changed.

use crate::{Result, is_postgres};
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// Most rows one multi-row statement writes or reads: a group of events is written in a few
/// statements instead of several per event (8 values a row stays far below both databases'
/// limits on bound values).
pub const ROWS_PER_STATEMENT: usize = 256;

/// `$first, …`: `n` numbered placeholders.
fn params(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `($1, $2), ($3, $4)`: the placeholders of `rows` rows of `cols` values each.
fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows).map(|r| format!("({})", params(r * cols + 1, cols))).collect::<Vec<_>>().join(", ")
}

pub struct Risk<'c>(pub(crate) &'c mut AnyConnection);

/// An event already received: its body hash (to tell a replay from a conflict) and the decision
/// answered then.
pub struct StoredEvent {
    pub body_hash: String,
    pub decision_body: String,
}

pub struct EventRecord<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub kind: &'a str,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub body_hash: &'a str,
    pub body: &'a str,
    pub decision_id: &'a str,
}

/// A decision to store with its event.
pub struct DecisionRecord<'a> {
    pub id: &'a str,
    pub event_id: &'a str,
    pub account_id: &'a str,
    pub action: &'a str,
    pub body: &'a str,
    pub at_ms: i64,
}

/// An account's risk state after the events of a transaction.
pub struct StateRecord<'a> {
    pub account_id: &'a str,
    pub state: String,
    pub last_activity_at: Option<i64>,
    pub now_ms: i64,
}

impl Risk<'_> {
    pub async fn stored_event(&mut self, id: &str) -> Result<Option<StoredEvent>> {
        let row = sqlx::query(
            "SELECT e.body_hash, d.body FROM events e JOIN decisions d ON d.id = e.decision_id WHERE e.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|r| Ok(StoredEvent { body_hash: r.try_get("body_hash")?, decision_body: r.try_get("body")? }))
            .transpose()
    }

    /// Claims the events' ids: stores each event unless one with its id exists (committed, or in
    /// a transaction that then commits). Returns the ids this call stored. One statement per
    /// [`ROWS_PER_STATEMENT`] events; the ids must be distinct.
    pub async fn claim_events(&mut self, events: &[EventRecord<'_>]) -> Result<HashSet<String>> {
        let mut claimed = HashSet::with_capacity(events.len());
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO events (id, account_id, kind, occurred_at, received_at, body_hash, body, decision_id)
                 VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
                placeholders(chunk.len(), 8)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
            for e in chunk {
                q = q
                    .bind(e.id)
                    .bind(e.account_id)
                    .bind(e.kind)
                    .bind(e.occurred_at_ms)
                    .bind(e.received_at_ms)
                    .bind(e.body_hash)
                    .bind(e.body)
                    .bind(e.decision_id);
            }
            for row in q.fetch_all(&mut *self.0).await? {
                claimed.insert(row.try_get("id")?);
            }
        }
        Ok(claimed)
    }

    /// Stores decisions, one statement per [`ROWS_PER_STATEMENT`].
    pub async fn insert_decisions(&mut self, decisions: &[DecisionRecord<'_>]) -> Result<()> {
        for chunk in decisions.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO decisions (id, event_id, account_id, action, body, decided_at) VALUES {}",
                placeholders(chunk.len(), 6)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
            for d in chunk {
                q = q.bind(d.id).bind(d.event_id).bind(d.account_id).bind(d.action).bind(d.body).bind(d.at_ms);
            }
            q.execute(&mut *self.0).await?;
        }
        Ok(())
    }

    /// The account's risk state as JSON, locking its row until the transaction ends (PostgreSQL;
    /// SQLite's write transaction holds the whole database). None for an account never seen.
    pub async fn lock_state(&mut self, account_id: &str, now_ms: i64) -> Result<Option<String>> {
        let sql = if is_postgres(self.0) {
            "SELECT state FROM risk_states WHERE account_id = $1 FOR UPDATE"
        } else {
            "SELECT state FROM risk_states WHERE account_id = $1"
        };
        if let Some(row) = sqlx::query(sql).bind(account_id).fetch_optional(&mut *self.0).await? {
            let state: String = row.try_get("state")?;
            return Ok(Some(state).filter(|s| !s.is_empty()));
        }
        // First event of the account: create its row (another process may just have), then lock it.
        sqlx::query(
            "INSERT INTO risk_states (account_id, state, last_activity_at, updated_at) VALUES ($1, '', NULL, $2)
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        let state: String = sqlx::query(sql).bind(account_id).fetch_one(&mut *self.0).await?.try_get("state")?;
        Ok(Some(state).filter(|s| !s.is_empty()))
    }

    /// The profiles (KYC level, VIP level, creation time) and risk states of accounts, by id,
    /// with the state rows locked in id order (PostgreSQL; SQLite's write transaction holds the
    /// whole database). An account whose row or state row is missing is left out: the caller
    /// then takes the slower path that creates them.
    pub async fn profiles_and_states(&mut self, ids: &[&str]) -> Result<HashMap<String, ((i64, i64, i64), String)>> {
        let mut found = HashMap::with_capacity(ids.len());
        let lock = if is_postgres(self.0) { " FOR UPDATE OF r" } else { "" };
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT a.id, a.kyc_level, a.vip_level, a.created_at, r.state FROM accounts a
                 JOIN risk_states r ON r.account_id = a.id WHERE a.id IN ({}) ORDER BY a.id{lock}",
                params(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&mut *self.0).await? {
                let profile = (r.try_get("kyc_level")?, r.try_get("vip_level")?, r.try_get("created_at")?);
                found.insert(r.try_get("id")?, (profile, r.try_get("state")?));
            }
        }
        Ok(found)
    }

    /// Writes accounts' new risk states (the rows exist: [`Risk::profiles_and_states`] or
    /// [`Risk::lock_state`] read them), one statement per [`ROWS_PER_STATEMENT`]; each account
    /// once.
    pub async fn save_states(&mut self, states: &[StateRecord<'_>]) -> Result<()> {
        for chunk in states.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO risk_states (account_id, state, last_activity_at, updated_at) VALUES {}
                 ON CONFLICT (account_id) DO UPDATE SET state = excluded.state,
                 last_activity_at = excluded.last_activity_at, updated_at = excluded.updated_at",
                placeholders(chunk.len(), 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
            for s in chunk {
                q = q.bind(s.account_id).bind(s.state.as_str()).bind(s.last_activity_at).bind(s.now_ms);
            }
            q.execute(&mut *self.0).await?;
        }
        Ok(())
    }

    /// Decisions of an account, newest first, as answered.
    pub async fn decisions(&mut self, account_id: &str, since_ms: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT body FROM decisions WHERE account_id = $1 AND decided_at >= $2 ORDER BY decided_at DESC LIMIT $3",
        )
        .bind(account_id)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("body")?)).collect()
    }

    /// A decision with its event: (account, action, decision body, event body).
    pub async fn decision_with_event(&mut self, decision_id: &str) -> Result<Option<(String, String, String, String)>> {
        let row = sqlx::query(
            "SELECT d.account_id, d.action, d.body AS decision_body, e.body AS event_body
             FROM decisions d JOIN events e ON e.id = d.event_id WHERE d.id = $1",
        )
        .bind(decision_id)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|r| {
            Ok((r.try_get("account_id")?, r.try_get("action")?, r.try_get("decision_body")?, r.try_get("event_body")?))
        })
        .transpose()
    }

    /// The account's newest events with their decisions: (event body, decision body), newest first.
    pub async fn history(&mut self, account_id: &str, limit: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT e.body AS event_body, d.body AS decision_body FROM events e JOIN decisions d ON d.id = e.decision_id
             WHERE e.account_id = $1 ORDER BY e.occurred_at DESC, e.id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("event_body")?, r.try_get("decision_body")?))).collect()
    }

    /// Accounts whose last activity is before `cutoff_ms` and that have no inactivity hold
    /// from this idle spell yet (active, or placed after the last activity), for the sweep.
    pub async fn inactive_since(&mut self, cutoff_ms: i64, limit: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT r.account_id, r.last_activity_at FROM risk_states r WHERE r.last_activity_at < $1
             AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.account_id = r.account_id AND h.origin = 'inactivity'
                             AND (h.status = 'active' OR h.created_at > r.last_activity_at))
             ORDER BY r.last_activity_at LIMIT $2",
        )
        .bind(cutoff_ms)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("account_id")?, r.try_get("last_activity_at")?))).collect()
    }
}
