//! Bulk loading of a synthetic desk history (`thaw seed scale`): rows gathered in a [`Batch`]
//! in the very formats the stores write, then written many at a time — multi-row INSERTs on
//! SQLite, COPY on PostgreSQL — one transaction per batch. It writes a history, not actions:
//! the audit log and the change tables are left alone (the search index is rebuilt from the
//! tables).

use crate::cases::{Message, TimelineEntry};
use crate::{Backend, Result, StoreError, backend_of, mask_url};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use thaw_domain::Account;
use thaw_domain::case::Case;
use thaw_domain::risk::hold::Hold;

/// One value of a row, typed even when NULL (PostgreSQL wants to know which NULL).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(Some(s.to_string()))
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(Some(s))
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(i: i64) -> Cell {
        Cell::Int(Some(i))
    }
}

impl From<Option<i64>> for Cell {
    fn from(i: Option<i64>) -> Cell {
        Cell::Int(i)
    }
}

/// Rows of one table, gathered before writing.
struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    cells: Vec<Cell>,
}

impl Rows {
    const fn new(table: &'static str, columns: &'static [&'static str]) -> Rows {
        Rows { table, columns, cells: Vec::new() }
    }

    fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(row.len(), self.columns.len(), "a row of {} has one cell per column", self.table);
        self.cells.extend(row);
    }

    fn len(&self) -> usize {
        self.cells.len() / self.columns.len()
    }
}

/// Rows of every table a desk history touches, in the order foreign keys need.
pub struct Batch {
    tables: [Rows; 6],
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            tables: [
                Rows::new(
                    "accounts",
                    &[
                        "id",
                        "email",
                        "email_normalized",
                        "phone",
                        "locale",
                        "kyc_level",
                        "vip_level",
                        "created_at",
                        "updated_at",
                    ],
                ),
                Rows::new(
                    "holds",
                    &[
                        "id",
                        "account_id",
                        "scopes",
                        "origin",
                        "release_policy",
                        "reason",
                        "confidential",
                        "created_at",
                        "expires_at",
                        "cooldown_ms",
                        "amount",
                        "asset",
                        "decision_id",
                        "status",
                        "released_at",
                        "released_by",
                        "placed_by",
                    ],
                ),
                Rows::new("cases", crate::cases::COLUMN_LIST),
                Rows::new(
                    "case_messages",
                    &["id", "case_id", "author_kind", "author_id", "visibility", "body", "channel", "created_at"],
                ),
                Rows::new("case_timeline", &["id", "case_id", "at", "actor", "kind", "data", "public"]),
                Rows::new("case_context", &["case_id", "kind", "ref_id"]),
            ],
        }
    }
}

impl Batch {
    pub fn account(&mut self, a: &Account) {
        self.tables[0].push(vec![
            a.id.as_str().into(),
            a.email.as_ref().map(|e| e.as_str().to_string()).into(),
            a.email.as_ref().map(|e| e.normalized()).into(),
            a.phone.as_ref().map(|p| p.as_str().to_string()).into(),
            a.locale.code().into(),
            a.kyc_level.into(),
            a.vip_level.into(),
            a.created_at_ms.into(),
            a.updated_at_ms.into(),
        ]);
    }

    pub fn hold(&mut self, h: &Hold, placed_by: &str) {
        self.tables[1].push(vec![
            h.id.as_str().into(),
            h.account_id.as_str().into(),
            h.scopes.to_text().into(),
            h.origin.code().into(),
            serde_json::to_string(&h.release).expect("serialisable").into(),
            serde_json::to_string(&h.reason).expect("serialisable").into(),
            (h.confidential as i64).into(),
            h.created_at_ms.into(),
            h.expires_at_ms.into(),
            h.cooldown_ms.into(),
            h.amount.as_ref().map(|m| m.amount.to_string()).into(),
            h.amount.as_ref().map(|m| m.asset.clone()).into(),
            h.decision_id.clone().into(),
            h.status.code().into(),
            h.released_at_ms.into(),
            h.released_by.clone().into(),
            placed_by.into(),
        ]);
    }

    /// A case as `Cases::insert` stores it; `next_due_at` is its earliest running deadline.
    pub fn case(&mut self, c: &Case, next_due_at: Option<i64>, version: i64) {
        self.tables[2].push(crate::cases::row_cells(c, next_due_at, version));
    }

    pub fn message(&mut self, m: &Message) {
        self.tables[3].push(vec![
            m.id.as_str().into(),
            m.case_id.as_str().into(),
            m.author_kind.as_str().into(),
            m.author_id.clone().into(),
            (if m.internal { "internal" } else { "public" }).into(),
            m.body.as_str().into(),
            m.channel.as_str().into(),
            m.created_at_ms.into(),
        ]);
    }

    pub fn timeline(&mut self, e: &TimelineEntry) {
        self.tables[4].push(vec![
            e.id.as_str().into(),
            e.case_id.as_str().into(),
            e.at_ms.into(),
            e.actor.as_str().into(),
            e.kind.as_str().into(),
            e.data.to_string().into(),
            (e.public as i64).into(),
        ]);
    }

    /// Something attached to a case (see `Cases::attach`).
    pub fn attach(&mut self, case_id: &str, kind: &str, ref_id: &str) {
        self.tables[5].push(vec![case_id.into(), kind.into(), ref_id.into()]);
    }

    /// Rows gathered, all tables together.
    pub fn len(&self) -> usize {
        self.tables.iter().map(Rows::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows gathered for `table`.
    pub fn rows_of(&self, table: &str) -> usize {
        self.tables.iter().find(|t| t.table == table).map_or(0, Rows::len)
    }
}

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// A connection of its own for bulk writes.
pub struct Loader {
    conn: Conn,
}

/// Values bound per INSERT on SQLite (at most 32,766): enough to amortise each statement, few
/// enough that the prepared statement of a full chunk is reused from sqlx's cache.
const SQLITE_VALUES_PER_INSERT: usize = 4_000;

impl Loader {
    /// Opens a loading connection to the (already migrated) database at `url`. On SQLite it
    /// gets a page cache of 1 GiB, so index pages stay in memory during the load.
    pub async fn open(url: &str) -> Result<Loader> {
        let unreachable = |e: sqlx::Error| StoreError::Unreachable { url: mask_url(url), cause: e.to_string() };
        let conn = match backend_of(url) {
            Some(Backend::Sqlite) => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl { url: mask_url(url), cause: e.to_string() })?
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(std::time::Duration::from_secs(10))
                    .pragma("cache_size", "-1048576")
                    .disable_statement_logging();
                Conn::Sqlite(sqlx::SqliteConnection::connect_with(&options).await.map_err(unreachable)?)
            }
            Some(Backend::Postgres) => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl { url: mask_url(url), cause: e.to_string() })?
                    .disable_statement_logging();
                Conn::Postgres(sqlx::PgConnection::connect_with(&options).await.map_err(unreachable)?)
            }
            None => {
                return Err(StoreError::BadUrl {
                    url: mask_url(url),
                    cause: "the scheme must be sqlite: or postgres://".into(),
                });
            }
        };
        Ok(Loader { conn })
    }

    /// Writes the batch in one transaction and empties it.
    pub async fn write(&mut self, batch: &mut Batch) -> Result<()> {
        match &mut self.conn {
            Conn::Sqlite(c) => {
                let mut tx = c.begin().await?;
                for rows in batch.tables.iter().filter(|r| !r.cells.is_empty()) {
                    sqlite_insert(&mut tx, rows).await?;
                }
                tx.commit().await?;
            }
            Conn::Postgres(c) => {
                let mut tx = c.begin().await?;
                for rows in batch.tables.iter().filter(|r| !r.cells.is_empty()) {
                    postgres_copy(&mut tx, rows).await?;
                }
                tx.commit().await?;
            }
        }
        for rows in &mut batch.tables {
            rows.cells.clear();
        }
        Ok(())
    }

    /// Brings the planner's statistics up to date after a load, as the server would later
    /// (PostgreSQL: `VACUUM ANALYZE` of the loaded tables, as autovacuum would; SQLite: a sampled
    /// `ANALYZE`, as [`crate::Db::refresh_statistics`] does).
    pub async fn settle(&mut self) -> Result<()> {
        match &mut self.conn {
            Conn::Postgres(c) => {
                for table in Batch::default().tables.iter().map(|r| r.table) {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}"))).execute(&mut *c).await?;
                }
            }
            Conn::Sqlite(c) => {
                sqlx::raw_sql("PRAGMA analysis_limit = 1000; ANALYZE").execute(&mut *c).await?;
            }
        }
        Ok(())
    }

    pub async fn close(self) -> Result<()> {
        match self.conn {
            Conn::Sqlite(c) => c.close().await?,
            Conn::Postgres(c) => c.close().await?,
        }
        Ok(())
    }
}

async fn sqlite_insert(conn: &mut sqlx::SqliteConnection, rows: &Rows) -> Result<()> {
    let width = rows.columns.len();
    let per_statement = (SQLITE_VALUES_PER_INSERT / width).max(1);
    for chunk in rows.cells.chunks(per_statement * width) {
        let n = chunk.len() / width;
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", rows.table, rows.columns.join(", "));
        for r in 0..n {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                // Anonymous placeholders: SQLite binds them by position, whereas `$n` are named
                // parameters it looks up one by one (quadratic in a statement this long).
                sql.push('?');
            }
            sql.push(')');
        }
        let mut query = sqlx::query::<sqlx::Sqlite>(sqlx::AssertSqlSafe(sql));
        for cell in chunk {
            query = match cell {
                Cell::Text(t) => query.bind(t.as_deref()),
                Cell::Int(i) => query.bind(*i),
            };
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// PostgreSQL's COPY text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_text(rows: &Rows) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.cells.len() * 24);
    for row in rows.cells.chunks(rows.columns.len()) {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match cell {
                Cell::Text(None) | Cell::Int(None) => out.extend_from_slice(b"\\N"),
                Cell::Int(Some(n)) => out.extend_from_slice(n.to_string().as_bytes()),
                Cell::Text(Some(t)) => {
                    for b in t.bytes() {
                        match b {
                            b'\\' => out.extend_from_slice(b"\\\\"),
                            b'\t' => out.extend_from_slice(b"\\t"),
                            b'\n' => out.extend_from_slice(b"\\n"),
                            b'\r' => out.extend_from_slice(b"\\r"),
                            _ => out.push(b),
                        }
                    }
                }
            }
        }
        out.push(b'\n');
    }
    out
}

async fn postgres_copy(conn: &mut sqlx::PgConnection, rows: &Rows) -> Result<()> {
    let statement = format!("COPY {} ({}) FROM STDIN", rows.table, rows.columns.join(", "));
    let mut copy = conn.copy_in_raw(&statement).await?;
    let data = copy_text(rows);
    for piece in data.chunks(1 << 20) {
        if let Err(e) = copy.send(piece).await {
            let _ = copy.abort(e.to_string()).await;
            return Err(e.into());
        }
    }
    copy.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_the_format_reserves() {
        let mut rows = Rows::new("t", &["a", "b", "c"]);
        rows.push(vec!["tab\there\nnew \\ line".into(), Cell::Int(None), 42i64.into()]);
        assert_eq!(String::from_utf8(copy_text(&rows)).unwrap(), "tab\\there\\nnew \\\\ line\t\\N\t42\n");
    }
}
