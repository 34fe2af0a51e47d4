//! Events, their decisions and each account's risk state. An event and its decision are
//! written in the same transaction as the state they changed.

use crate::{Result, is_postgres};
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// Most rows one multi-row statement writes or reads: a group of events is written in a few
/// statements instead of several per event (8 values a row stays far below both databases'
/// limits on bound values).
pub const ROWS_PER_STATEMENT: usize = 256;

/// Where a statement's placeholders start, and how they are written: numbered (`$1`) for
/// PostgreSQL; plain `?` for SQLite, which binds them in order, since it looks a numbered one up
/// in a list of every placeholder of the statement (when parsing, then when binding), a cost
/// that grows with the square of their number in a statement of thousands.
#[derive(Clone, Copy)]
struct Marks {
    first: usize,
    numbered: bool,
}

impl Marks {
    /// `$first, …` or `?, …`: `n` placeholders.
    fn list(self, n: usize) -> String {
        if self.numbered {
            (self.first..self.first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        } else {
            vec!["?"; n].join(", ")
        }
    }

    /// `($first, …), (…)`: the placeholders of `rows` rows of `cols` values each.
    fn rows(self, rows: usize, cols: usize) -> String {
        (0..rows)
            .map(|r| format!("({})", Marks { first: self.first + r * cols, ..self }.list(cols)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

type AnyQuery<'a> = sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments>;

/// SQL statements whose placeholders are numbered on from where the previous one's stopped (or
/// plain `?`, bound in order), so that SQLite can take them in one string (one round trip to its
/// worker thread); PostgreSQL takes one statement at a time ([`Statements::single`]).
struct Statements {
    sql: Vec<String>,
    next: usize,
    numbered: bool,
}

impl Statements {
    fn new(numbered: bool) -> Statements {
        Statements { sql: Vec::new(), next: 1, numbered }
    }

    /// Adds the statement `sql(its placeholders)` of `values` placeholders.
    fn push(&mut self, values: usize, sql: impl FnOnce(Marks) -> String) {
        self.sql.push(sql(Marks { first: self.next, numbered: self.numbered }));
        self.next += values;
    }

    /// All the statements, to run as one.
    fn query<'a>(&self) -> AnyQuery<'a> {
        sqlx::query(sqlx::AssertSqlSafe(self.sql.join(";\n"))).persistent(false)
    }

    /// The one statement `add` adds, numbered, to run alone.
    fn single<'a>(add: impl FnOnce(&mut Statements)) -> AnyQuery<'a> {
        let mut s = Statements::new(true);
        add(&mut s);
        s.query()
    }
}

fn claim_sql(s: &mut Statements, rows: usize) {
    s.push(rows * 8, |m| {
        format!(
            "INSERT INTO events (id, account_id, kind, occurred_at, received_at, body_hash, body, decision_id)
             VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
            m.rows(rows, 8)
        )
    });
}

fn bind_events<'a>(mut q: AnyQuery<'a>, events: &[EventRecord<'_>]) -> AnyQuery<'a> {
    for e in events {
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
    q
}

fn profiles_sql(s: &mut Statements, rows: usize, lock: &str) {
    s.push(rows, |m| {
        format!(
            "SELECT a.id, a.kyc_level, a.vip_level, a.created_at, r.state FROM accounts a
             JOIN risk_states r ON r.account_id = a.id WHERE a.id IN ({}) ORDER BY a.id{lock}",
            m.list(rows)
        )
    });
}

fn bind_ids<'a>(mut q: AnyQuery<'a>, ids: &[&str]) -> AnyQuery<'a> {
    for id in ids {
        q = q.bind(*id);
    }
    q
}

fn decisions_sql(s: &mut Statements, rows: usize) {
    s.push(rows * 6, |m| {
        format!("INSERT INTO decisions (id, event_id, account_id, action, body, decided_at) VALUES {}", m.rows(rows, 6))
    });
}

fn bind_decisions<'a>(mut q: AnyQuery<'a>, decisions: &[DecisionRecord<'_>]) -> AnyQuery<'a> {
    for d in decisions {
        q = q.bind(d.id).bind(d.event_id).bind(d.account_id).bind(d.action).bind(d.body).bind(d.at_ms);
    }
    q
}

fn states_sql(s: &mut Statements, rows: usize) {
    s.push(rows * 4, |m| {
        format!(
            "INSERT INTO risk_states (account_id, state, last_activity_at, updated_at) VALUES {}
             ON CONFLICT (account_id) DO UPDATE SET state = excluded.state,
             last_activity_at = excluded.last_activity_at, updated_at = excluded.updated_at",
            m.rows(rows, 4)
        )
    });
}

fn bind_states<'a>(mut q: AnyQuery<'a>, states: &[StateRecord<'_>]) -> AnyQuery<'a> {
    for s in states {
        q = q.bind(s.account_id).bind(s.state.as_str()).bind(s.last_activity_at).bind(s.now_ms);
    }
    q
}

/// An account's profile (KYC level, VIP level, creation time) and its risk state as JSON.
pub type Loaded = ((i64, i64, i64), String);

/// The transaction that decides a group of events ([`crate::Db::begin_events`]), in as few
/// round trips as the backend allows. On SQLite, where every statement is a round trip to
/// sqlx's worker thread, it begins with the claim of the events and the read of their accounts
/// in one ([`EventTx::claim_and_load`]) and ends with the decisions, the states and the commit
/// in another ([`EventTx::commit`]). Dropped without a commit or a rollback, its connection is
/// closed, which rolls it back. On SQLite it is written on a connection of its own
/// ([`crate::Db::begin_events`]).
pub struct EventTx {
    conn: TxConn,
    sqlite: bool,
    open: bool,
}

/// The connection of an [`EventTx`]: from the pool, or the one SQLite writes events on.
pub(crate) enum TxConn {
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
    /// SQLite's, with the process's write gate, held until the transaction ends.
    Own {
        conn: tokio::sync::OwnedMutexGuard<Option<AnyConnection>>,
        _gate: tokio::sync::OwnedMutexGuard<()>,
    },
}

impl std::ops::Deref for TxConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            TxConn::Pooled(c) => c,
            TxConn::Own { conn, .. } => conn.as_ref().expect("opened before use"),
        }
    }
}

impl std::ops::DerefMut for TxConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            TxConn::Pooled(c) => c,
            TxConn::Own { conn, .. } => conn.as_mut().expect("opened before use"),
        }
    }
}

impl EventTx {
    pub(crate) async fn begin(mut conn: TxConn) -> Result<EventTx> {
        let sqlite = matches!(conn, TxConn::Own { .. });
        if !sqlite {
            sqlx::query("BEGIN").execute(&mut *conn).await?;
        }
        // SQLite begins with the first statements (`BEGIN IMMEDIATE`, taking the write lock).
        Ok(EventTx { conn, sqlite, open: !sqlite })
    }

    /// The connection, for the statements of a single event (holds, alerts, webhooks).
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// Claims the events' ids (distinct): stores each event unless one with its id exists,
    /// committed or in a transaction that then commits. Reads the profile and risk state of
    /// `accounts` (sorted), locking their state rows in that order (PostgreSQL; SQLite's write
    /// transaction holds the whole database). Returns the ids this transaction stored and the
    /// accounts found: one whose row or state row is missing is left out, for the caller to
    /// create ([`Risk::lock_state`]).
    pub async fn claim_and_load(
        &mut self,
        events: &[EventRecord<'_>],
        accounts: &[&str],
    ) -> Result<(HashSet<String>, HashMap<String, Loaded>)> {
        let mut claimed = HashSet::with_capacity(events.len());
        let mut loaded = HashMap::with_capacity(accounts.len());
        // The claim returns one column (the id), the read five.
        let mut take = |row: sqlx::any::AnyRow| -> Result<()> {
            if row.len() == 1 {
                claimed.insert(row.try_get("id")?);
            } else {
                let profile = (row.try_get("kyc_level")?, row.try_get("vip_level")?, row.try_get("created_at")?);
                loaded.insert(row.try_get("id")?, (profile, row.try_get("state")?));
            }
            Ok(())
        };
        let lock = if self.sqlite { "" } else { " FOR UPDATE OF r" };
        if self.sqlite {
            let mut s = Statements::new(false);
            s.sql.push("BEGIN IMMEDIATE".into());
            events.chunks(ROWS_PER_STATEMENT).for_each(|c| claim_sql(&mut s, c.len()));
            accounts.chunks(ROWS_PER_STATEMENT).for_each(|c| profiles_sql(&mut s, c.len(), lock));
            let q = bind_ids(bind_events(s.query(), events), accounts);
            self.open = true;
            for row in q.fetch_all(&mut *self.conn).await? {
                take(row)?;
            }
            return Ok((claimed, loaded));
        }
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let q = bind_events(Statements::single(|s| claim_sql(s, chunk.len())), chunk);
            for row in q.fetch_all(&mut *self.conn).await? {
                take(row)?;
            }
        }
        for chunk in accounts.chunks(ROWS_PER_STATEMENT) {
            let q = bind_ids(Statements::single(|s| profiles_sql(s, chunk.len(), lock)), chunk);
            for row in q.fetch_all(&mut *self.conn).await? {
                take(row)?;
            }
        }
        Ok((claimed, loaded))
    }

    /// Stores the decisions and the accounts' new states (each account once; its row exists)
    /// and commits.
    pub async fn commit(&mut self, decisions: &[DecisionRecord<'_>], states: &[StateRecord<'_>]) -> Result<()> {
        if self.sqlite {
            let mut s = Statements::new(false);
            decisions.chunks(ROWS_PER_STATEMENT).for_each(|c| decisions_sql(&mut s, c.len()));
            states.chunks(ROWS_PER_STATEMENT).for_each(|c| states_sql(&mut s, c.len()));
            s.sql.push("COMMIT".into());
            bind_states(bind_decisions(s.query(), decisions), states).execute(&mut *self.conn).await?;
        } else {
            for chunk in decisions.chunks(ROWS_PER_STATEMENT) {
                let q = Statements::single(|s| decisions_sql(s, chunk.len()));
                bind_decisions(q, chunk).execute(&mut *self.conn).await?;
            }
            for chunk in states.chunks(ROWS_PER_STATEMENT) {
                let q = Statements::single(|s| states_sql(s, chunk.len()));
                bind_states(q, chunk).execute(&mut *self.conn).await?;
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
            // Closing the connection rolls the transaction back; the next opens another.
            match &mut self.conn {
                TxConn::Pooled(c) => c.close_on_drop(),
                TxConn::Own { conn, .. } => drop(conn.take()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_on_across_statements() {
        assert_eq!(Marks { first: 3, numbered: true }.rows(2, 2), "($3, $4), ($5, $6)");
        assert_eq!(Marks { first: 3, numbered: false }.rows(2, 2), "(?, ?), (?, ?)");
        let mut s = Statements::new(true);
        claim_sql(&mut s, 1);
        profiles_sql(&mut s, 2, "");
        assert!(s.sql[0].contains("VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT"), "{}", s.sql[0]);
        assert!(s.sql[1].contains("IN ($9, $10)"), "{}", s.sql[1]);
        assert_eq!(s.next, 11);
    }
}
