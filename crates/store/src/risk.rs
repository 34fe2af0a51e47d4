//! Events with their decisions, and each account's risk state. An event is written with its
//! decision, on one row, in the same transaction as the state they changed.

use crate::{Conn, Result, is_postgres};
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// Most rows one multi-row statement writes or reads on PostgreSQL: a group of events is
/// written in a few statements instead of several per event (8 values a row stays far below
/// its limit on bound values). SQLite takes each statement's rows as one JSON array instead.
pub const ROWS_PER_STATEMENT: usize = 256;

type AnyQuery<'a> = sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments>;

/// `($1, …), (…)`: the numbered placeholders of `rows` rows of `cols` values each (PostgreSQL).
fn marks(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=cols).map(|c| format!("${}", r * cols + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

// The texts the writer's statements are made of, on both backends.
macro_rules! events_insert {
    () => {
        "INSERT INTO events (id, account_id, kind, occurred_at, received_at, body_hash, body, decision_id, action, decision)"
    };
}
macro_rules! stored_select {
    () => {
        "SELECT id FROM events WHERE id IN"
    };
}
macro_rules! profiles_select {
    () => {
        "SELECT a.id, a.kyc_level, a.vip_level, a.created_at, r.state, r.last_activity_at FROM accounts a
         JOIN risk_states r ON r.account_id = a.id WHERE a.id IN"
    };
}
// A state's `last_activity_at` is written only when it moves by [`ACTIVITY_STEP_MS`] or more
// (the row's value is then given, else NULL): PostgreSQL leaves an index alone when an update
// keeps its column's value, SQLite rewrites the entry whenever the column is assigned, so on
// SQLite the column is set by a statement of its own, for the rows where it moved.
macro_rules! states_upsert {
    ($rows:literal, $activity:literal) => {
        concat!(
            "INSERT INTO risk_states (account_id, state, last_activity_at, updated_at) ",
            $rows,
            " ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            $activity
        )
    };
}

// On SQLite, the statements of a group are fixed texts that take their rows as one JSON array
// (`json_each`), so that they are prepared once per connection and bind one value each: a
// multi-row statement with a placeholder per value is parsed anew for each size of group and
// costs a bind per value. Each is a round trip to the connection's worker thread, so the
// writer's statements go in two strings: `BEGIN IMMEDIATE`, the ids already stored and the
// read; then the events with their decisions, the states and `COMMIT`. (SQLite's write
// transaction keeps every other writer out until the commit, so an id not stored at the start
// cannot be stored by anyone else before it.)
macro_rules! claim_sqlite {
    () => {
        concat!(
            "BEGIN IMMEDIATE; ",
            stored_select!(),
            " (SELECT value FROM json_each(?)); ",
            profiles_select!(),
            " (SELECT value FROM json_each(?)) ORDER BY a.id"
        )
    };
}
const CLAIM_SQLITE: &str = claim_sqlite!();
/// The claim with the commit left unsynced ([`crate::LogSync`]): the answers wait for
/// [`crate::Db::sync_log`] instead.
const CLAIM_SQLITE_UNSYNCED: &str = concat!("PRAGMA synchronous = NORMAL; ", claim_sqlite!());
const COMMIT_SQLITE: &str = concat!(
    events_insert!(),
    " SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9
     FROM json_each(?); ",
    states_upsert!("SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?) WHERE true", ""),
    "; UPDATE risk_states SET last_activity_at = j.value->>1 FROM json_each(?) AS j
     WHERE risk_states.account_id = j.value->>0; COMMIT"
);

/// One statement of PostgreSQL's, with its placeholders.
fn pg<'a>(sql: String) -> AnyQuery<'a> {
    sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false)
}

/// The rows of `items` as one JSON array of arrays, for `json_each` (SQLite).
fn json_rows<T: serde::Serialize>(items: impl Iterator<Item = T>) -> String {
    serde_json::to_string(&items.collect::<Vec<T>>()).expect("rows serialise")
}

/// An event's row, in the column order of `events_insert!`.
type EventRow<'a> = (&'a str, &'a str, &'a str, i64, i64, &'a str, &'a str, &'a str, &'a str, &'a str);

fn event_row<'a>(e: &'a EventRecord<'_>) -> EventRow<'a> {
    let d = &e.decision;
    (e.id, e.account_id, e.kind, e.occurred_at_ms, e.received_at_ms, e.body_hash, e.body, d.id, d.action, d.body)
}

fn state_row<'a>(s: &'a StateRecord<'_>) -> (&'a str, &'a str, Option<i64>, i64) {
    (s.account_id, s.state.as_str(), s.last_activity_at, s.now_ms)
}

/// How far an account's activity must move before its `last_activity_at` column (and so its
/// index entry) is written again: the column is its last activity to within this step, kept for
/// the inactivity sweep, which checks the exact time kept in the state. An account active every
/// minute costs one index write an hour instead of one an event.
pub const ACTIVITY_STEP_MS: i64 = 3_600_000;

fn bind_events<'a>(mut q: AnyQuery<'a>, events: &[EventRecord<'a>]) -> AnyQuery<'a> {
    for e in events {
        let (id, account, kind, occurred, received, hash, body, decision_id, action, decision) = event_row(e);
        q = q
            .bind(id)
            .bind(account)
            .bind(kind)
            .bind(occurred)
            .bind(received)
            .bind(hash)
            .bind(body)
            .bind(decision_id)
            .bind(action)
            .bind(decision);
    }
    q
}

fn bind_ids<'a>(mut q: AnyQuery<'a>, ids: &[&str]) -> AnyQuery<'a> {
    for id in ids {
        q = q.bind(*id);
    }
    q
}

fn bind_states<'a>(mut q: AnyQuery<'a>, states: &[StateRecord<'_>]) -> AnyQuery<'a> {
    for s in states {
        q = q.bind(s.account_id).bind(s.state.as_str()).bind(s.last_activity_at).bind(s.now_ms);
    }
    q
}

/// An account as read for its events.
pub struct Loaded {
    /// KYC level, VIP level, creation time.
    pub profile: (i64, i64, i64),
    /// The risk state as JSON.
    pub state: String,
    /// The stored `last_activity_at` column (to within [`ACTIVITY_STEP_MS`] of the state's).
    pub activity_at: Option<i64>,
}

/// The transaction that decides a group of events ([`crate::Db::begin_events`]), in as few
/// round trips as the backend allows. On SQLite, where every statement is a round trip to
/// sqlx's worker thread, it begins with the claim of the events and the read of their accounts
/// in one ([`EventTx::claim_and_load`]) and ends with the events, the states and the commit
/// in another ([`EventTx::commit`]). Dropped without a commit or a rollback, it is rolled
/// back. On SQLite it is written on the process's writer connection ([`crate::Writer`]).
pub struct EventTx {
    conn: Conn,
    open: bool,
    /// SQLite with `synchronous = FULL`: the commit is left unsynced, for
    /// [`crate::Db::sync_log`].
    unsynced: Option<std::sync::Arc<crate::LogSync>>,
}

impl EventTx {
    pub(crate) async fn begin(conn: Conn, unsynced: Option<std::sync::Arc<crate::LogSync>>) -> Result<EventTx> {
        let mut tx = EventTx { conn, open: false, unsynced };
        if !tx.sqlite() {
            sqlx::query("BEGIN").execute(&mut *tx.conn).await?;
            tx.open = true;
        }
        // SQLite begins with the first statements (`BEGIN IMMEDIATE`, taking the write lock).
        Ok(tx)
    }

    /// Whether this is SQLite's (on its writer connection).
    fn sqlite(&self) -> bool {
        matches!(self.conn, Conn::Own(_))
    }

    /// The connection, for the statements of a single event (holds, alerts, webhooks).
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// Reads which of `ids` (distinct) are stored already, and the profile and risk state of
    /// `accounts` (sorted), locking their state rows in that order (PostgreSQL; SQLite's write
    /// transaction holds the whole database). Returns the ids stored and the accounts found:
    /// one whose row or state row is missing is left out, for the caller to create
    /// ([`Risk::lock_state`]). On PostgreSQL the accounts are locked first, so that an event
    /// of theirs committed meanwhile by another transaction is seen; one stored by another
    /// account's transaction still in progress makes [`EventTx::commit`] fail on its id.
    pub async fn claim_and_load(
        &mut self,
        ids: &[&str],
        accounts: &[&str],
    ) -> Result<(HashSet<String>, HashMap<String, Loaded>)> {
        let mut stored = HashSet::new();
        let mut loaded = HashMap::with_capacity(accounts.len());
        // An id stored comes as one column, an account as six.
        let mut take = |row: sqlx::any::AnyRow| -> Result<()> {
            if row.len() == 1 {
                stored.insert(row.try_get("id")?);
            } else {
                let profile = (row.try_get("kyc_level")?, row.try_get("vip_level")?, row.try_get("created_at")?);
                let (state, activity_at) = (row.try_get("state")?, row.try_get("last_activity_at")?);
                loaded.insert(row.try_get("id")?, Loaded { profile, state, activity_at });
            }
            Ok(())
        };
        if self.sqlite() {
            let sql = match &self.unsynced {
                Some(sync) => {
                    sync.relaxed.store(true, std::sync::atomic::Ordering::SeqCst);
                    CLAIM_SQLITE_UNSYNCED
                }
                None => CLAIM_SQLITE,
            };
            let q = sqlx::query(sql).bind(json_rows(ids.iter())).bind(json_rows(accounts.iter()));
            self.open = true;
            for row in q.fetch_all(&mut *self.conn).await? {
                take(row)?;
            }
            return Ok((stored, loaded));
        }
        for chunk in accounts.chunks(ROWS_PER_STATEMENT) {
            let sql = format!("{} {} ORDER BY a.id FOR UPDATE OF r", profiles_select!(), marks(1, chunk.len()));
            for row in bind_ids(pg(sql), chunk).fetch_all(&mut *self.conn).await? {
                take(row)?;
            }
        }
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!("{} {}", stored_select!(), marks(1, chunk.len()));
            for row in bind_ids(pg(sql), chunk).fetch_all(&mut *self.conn).await? {
                take(row)?;
            }
        }
        Ok((stored, loaded))
    }

    /// Stores the events with their decisions (ids not stored, distinct) and the accounts' new
    /// states (each account once; its row exists), and commits.
    pub async fn commit(&mut self, events: &[EventRecord<'_>], states: &[StateRecord<'_>]) -> Result<()> {
        if self.sqlite() {
            let moved = states.iter().filter_map(|s| Some((s.account_id, s.last_activity_at?)));
            sqlx::query(COMMIT_SQLITE)
                .bind(json_rows(events.iter().map(event_row)))
                .bind(json_rows(states.iter().map(state_row)))
                .bind(json_rows(moved))
                .execute(&mut *self.conn)
                .await?;
        } else {
            for chunk in events.chunks(ROWS_PER_STATEMENT) {
                let sql = format!("{} VALUES {}", events_insert!(), marks(chunk.len(), 10));
                bind_events(pg(sql), chunk).execute(&mut *self.conn).await?;
            }
            for chunk in states.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    states_upsert!(
                        "VALUES {}",
                        ", last_activity_at = COALESCE(excluded.last_activity_at, risk_states.last_activity_at)"
                    ),
                    marks(chunk.len(), 4)
                );
                bind_states(pg(sql), chunk).execute(&mut *self.conn).await?;
            }
            sqlx::query("COMMIT").execute(&mut *self.conn).await?;
        }
        self.open = false;
        Ok(())
    }

    /// Rolls back what was done; should that fail, the connection is closed instead of going
    /// back to the pool (which rolls back too).
    pub async fn rollback(&mut self) {
        if self.open && sqlx::query("ROLLBACK").execute(&mut *self.conn).await.is_ok() {
            self.open = false;
        }
    }
}

impl Drop for EventTx {
    fn drop(&mut self) {
        if self.open {
            match &mut self.conn {
                // Closing the connection rolls the transaction back; the pool opens another.
                Conn::Pooled(c) => c.close_on_drop(),
                // The writer connection rolls it back when it is dropped.
                Conn::Own(w) => w.open = true,
            }
        }
    }
}

pub struct Risk<'c>(pub(crate) &'c mut AnyConnection);

/// An event already received: its body hash (to tell a replay from a conflict) and the decision
/// answered then.
pub struct StoredEvent {
    pub body_hash: String,
    pub decision_body: String,
}

/// An event to store, with its decision.
pub struct EventRecord<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub kind: &'a str,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub body_hash: &'a str,
    pub body: &'a str,
    pub decision: DecisionRecord<'a>,
}

/// An event's decision: its id, action and body as answered.
pub struct DecisionRecord<'a> {
    pub id: &'a str,
    pub action: &'a str,
    pub body: &'a str,
}

/// An account's risk state after the events of a transaction.
pub struct StateRecord<'a> {
    pub account_id: &'a str,
    pub state: String,
    /// The new `last_activity_at` column when it is to be written (it moved by
    /// [`ACTIVITY_STEP_MS`] or more, or was empty); None keeps the stored one.
    pub last_activity_at: Option<i64>,
    pub now_ms: i64,
}

impl Risk<'_> {
    pub async fn stored_event(&mut self, id: &str) -> Result<Option<StoredEvent>> {
        let row = sqlx::query("SELECT body_hash, decision FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| Ok(StoredEvent { body_hash: r.try_get("body_hash")?, decision_body: r.try_get("decision")? }))
            .transpose()
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

    /// Decisions of an account on the events that occurred since `since_ms`, newest first, as
    /// answered.
    pub async fn decisions(&mut self, account_id: &str, since_ms: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT decision FROM events WHERE account_id = $1 AND occurred_at >= $2
             ORDER BY occurred_at DESC, id DESC LIMIT $3",
        )
        .bind(account_id)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("decision")?)).collect()
    }

    /// A decision with its event: (account, action, decision body, event body).
    pub async fn decision_with_event(&mut self, decision_id: &str) -> Result<Option<(String, String, String, String)>> {
        let row = sqlx::query(
            "SELECT account_id, action, decision AS decision_body, body AS event_body FROM events WHERE decision_id = $1",
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
            "SELECT body AS event_body, decision AS decision_body FROM events
             WHERE account_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_on_across_rows() {
        assert_eq!(marks(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(marks(1, 2), "($1, $2)");
    }

    #[test]
    fn rows_go_to_sqlite_as_arrays_in_column_order() {
        let state = StateRecord { account_id: "a\"1", state: "{\"x\":1}".into(), last_activity_at: None, now_ms: 7 };
        assert_eq!(json_rows(std::iter::once(state_row(&state))), r#"[["a\"1","{\"x\":1}",null,7]]"#);
    }
}
