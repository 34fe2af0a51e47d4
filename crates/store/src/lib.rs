//! Persistence for thaw. One set of SQL runs on SQLite (the default, zero set-up) and on
//! PostgreSQL (for several processes); the backend is chosen by the database URL's scheme.
//! Each business capability has its own narrow store (`accounts`, `staff`, `sessions`,
//! `api_keys`, `throttle`), reached through [`Capabilities`] on a connection or transaction.

pub mod accounts;
pub mod alerts;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod bulk;
pub mod case_tools;
pub mod cases;
pub mod channels;
pub mod factors;
pub mod holders;
pub mod holds;
pub mod jobs;
mod migrate;
pub mod risk;
pub mod sessions;
pub mod staff;
pub mod texts;
pub mod throttle;
pub mod webhooks;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::str::FromStr;
use std::time::Duration;

pub use accounts::Accounts;
pub use alerts::{AlertRecord, Alerts, EmailRecord};
pub use audit::{Audit, AuditContext, AuditQuery};
pub use case_tools::{Approval, Attachment, Compensation, QaReview, Rating};
pub use cases::{Cases, Message, Queue, QueueCursor, QueueFilter, TimelineEntry};
pub use factors::{FactorRecord, Factors, Subject};
pub use holders::{EmailCode, HolderSessionRecord, Holders};
/// A connection or transaction, for callers that combine capabilities in one transaction.
pub use sqlx::AnyConnection;
/// A write transaction ([`Db::begin_write`]): the connection, through `*tx`, until
/// [`Tx::commit`] or [`Tx::rollback`] (dropped, it rolls back). On SQLite it is written on the
/// process's writer connection ([`Writer`]), held until it ends.
pub struct Tx(TxConn);

enum TxConn {
    Pooled(sqlx::Transaction<'static, sqlx::Any>),
    Own(Writer),
}

impl Tx {
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self.0 {
            TxConn::Pooled(tx) => tx.commit().await,
            TxConn::Own(mut w) => w.end("COMMIT").await,
        }
    }

    pub async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        match self.0 {
            TxConn::Pooled(tx) => tx.rollback().await,
            TxConn::Own(mut w) => w.end("ROLLBACK").await,
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        match &self.0 {
            TxConn::Pooled(tx) => tx,
            TxConn::Own(w) => w,
        }
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match &mut self.0 {
            TxConn::Pooled(tx) => tx,
            TxConn::Own(w) => w,
        }
    }
}

/// SQLite: the connection every write of this process goes through ([`Db::begin_write`],
/// [`Db::begin_events`], [`Db::write_conn`]), held by one writer at a time: holding it is the
/// process's turn to write. Writers queue for it in turn rather than on SQLite's lock, whose
/// waiting is polling with sleeps of up to 100 ms that let a busy writer (the job runner) pass
/// a waiting one (the event writer) again and again: stalls of hundreds of milliseconds. And
/// SQLite empties a connection's page cache whenever another connection wrote: with every
/// write of the process on this one connection, its cache stays warm.
///
/// Dropped inside a transaction (`open`), it rolls the transaction back before the next writer
/// gets the connection (or, outside a runtime, closes it, which rolls back too).
pub(crate) struct Writer {
    guard: Option<tokio::sync::OwnedMutexGuard<Option<sqlx::AnyConnection>>>,
    pub(crate) open: bool,
}

impl Writer {
    /// Ends the transaction with `sql` (`COMMIT` or `ROLLBACK`).
    async fn end(&mut self, sql: &'static str) -> std::result::Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&mut **self).await?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Writer {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        self.guard.as_ref().and_then(|g| g.as_ref()).expect("opened before use")
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        self.guard.as_mut().and_then(|g| g.as_mut()).expect("opened before use")
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take().filter(|_| self.open) else { return };
        match tokio::runtime::Handle::try_current() {
            // The guard goes with the rollback: the next writer finds the transaction ended.
            Ok(runtime) => drop(runtime.spawn(async move {
                let rolled_back = match guard.as_mut() {
                    Some(conn) => sqlx::query("ROLLBACK").execute(conn).await.is_ok(),
                    None => true,
                };
                if !rolled_back {
                    // Closing the connection rolls back; the next writer opens another.
                    guard.take();
                }
            })),
            Err(_) => drop(guard.take()),
        }
    }
}

/// A connection to write on: from the pool (PostgreSQL), or SQLite's writer connection.
pub(crate) enum Conn {
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
    Own(Writer),
}

impl std::ops::Deref for Conn {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Own(w) => w,
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Own(w) => w,
        }
    }
}

/// A connection to write on outside a transaction ([`Db::write_conn`]).
pub struct WriteConn(Conn);

impl std::ops::Deref for WriteConn {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.0
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.0
    }
}
pub use api_keys::{ApiKeyRecord, ApiKeys};
pub use holds::{HoldChange, Holds};
pub use jobs::{Job, Jobs};
pub use risk::Risk;
pub use sessions::{SessionRecord, Sessions};
pub use staff::{Staff, StaffCredentials};
pub use texts::{BotSession, IndexedMessage, KbRevision, Texts};
pub use throttle::Throttle;
pub use webhooks::{Delivery, Endpoint, Webhooks};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {url} is unreachable: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("invalid database URL {url}: {cause}")]
    BadUrl { url: String, cause: String },
    #[error("a row with this {0} exists already")]
    Duplicate(&'static str),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("migration {version} failed: {cause}")]
    Migration { version: i64, cause: String },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the database is out of reach for now (rather than the request or data being wrong).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } => true,
            StoreError::Sql(e) => matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database of one thaw process: a pool and the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    masked_url: String,
    /// SQLite: the connection every write of this process goes through ([`Writer`]), opened on
    /// first use.
    writer: std::sync::Arc<tokio::sync::Mutex<Option<sqlx::AnyConnection>>>,
    /// SQLite: the settings every connection is opened with.
    sqlite_pragmas: &'static str,
    /// SQLite with `synchronous = FULL`: the event writer's log syncs ([`Db::sync_log`]).
    log_sync: Option<std::sync::Arc<LogSync>>,
}

/// Group commit of the event writer's fsyncs (SQLite with `synchronous = FULL`). The event
/// writer commits in `synchronous = NORMAL`, so that its commit ends once the log is written and
/// the writer connection goes on with the next group; the events' answers then wait for
/// [`Db::sync_log`], one fsync of the log that covers every commit made before it began, however
/// many waited for it. Every other writer turns the connection back to `FULL` first, so that its
/// commits sync as before.
pub(crate) struct LogSync {
    /// The write-ahead log: the database file's path with `-wal`.
    wal: std::path::PathBuf,
    /// Syncs asked for so far.
    requested: std::sync::atomic::AtomicU64,
    /// How many of them the last finished fsync covers; held during an fsync.
    done: tokio::sync::Mutex<u64>,
    /// fsyncs made, for `/metrics`.
    syncs: std::sync::atomic::AtomicU64,
    /// Whether the writer connection may be in `synchronous = NORMAL` (the event writer left it
    /// so).
    pub(crate) relaxed: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).field("url", &self.masked_url).finish()
    }
}

/// The URL with any password replaced by `***`, safe to print and log.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // Unparseable: hide everything between "://" and "@", where a password would sit.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
            _ => url.to_string(),
        },
    }
}

pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// Options for opening the database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// SQLite only: `FULL` (default) syncs every commit to disk, surviving power loss;
    /// `NORMAL` (in WAL mode) survives a killed process but may lose the last commits on power
    /// loss or an operating-system crash, and is several times faster.
    pub sqlite_synchronous_full: bool,
}

/// How long a writer waits for SQLite's write lock (the `busy_timeout` of [`sqlite_pragmas`]).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings of every SQLite connection. Temporary storage in memory keeps a statement's
/// undo journal (kept while a statement that may fail changes many rows inside a transaction,
/// such as the multi-row statements of the event writer) from spilling into a temporary file
/// that is created, written and deleted for each such statement.
fn sqlite_pragmas(options: &DbOptions) -> &'static str {
    if options.sqlite_synchronous_full {
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;"
    } else {
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;"
    }
}

impl Default for DbOptions {
    fn default() -> Self {
        Self { max_connections: 10, connect_timeout: Duration::from_secs(5), sqlite_synchronous_full: true }
    }
}

impl Db {
    /// Opens the database at `url` (creating a SQLite file and its folder if needed), without
    /// migrating. An unreachable database is reported with the masked URL and the cause.
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let masked_url = mask_url(url);
        let backend = backend_of(url).ok_or_else(|| StoreError::BadUrl {
            url: masked_url.clone(),
            cause: "the scheme must be sqlite: or postgres://".into(),
        })?;
        let url = match backend {
            Backend::Sqlite => {
                prepare_sqlite_url(url).map_err(|cause| StoreError::Unreachable { url: masked_url.clone(), cause })?
            }
            Backend::Postgres => url.to_string(),
        };
        let connect_options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::BadUrl { url: masked_url.clone(), cause: e.to_string() })?
            .disable_statement_logging();
        let mut pool =
            AnyPoolOptions::new().max_connections(options.max_connections).acquire_timeout(options.connect_timeout);
        let pragmas = sqlite_pragmas(options);
        if backend == Backend::Sqlite {
            // A SQLite connection is a file in this process: there is nothing to test before
            // handing it out, and the test is a round trip to its worker thread.
            pool = pool.test_before_acquire(false).after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(sqlx::raw_sql(pragmas)).await?;
                    Ok(())
                })
            });
        }
        let pool = pool
            .connect_with(connect_options)
            .await
            .map_err(|e| StoreError::Unreachable { url: masked_url.clone(), cause: e.to_string() })?;
        let log_sync = (backend == Backend::Sqlite && options.sqlite_synchronous_full).then(|| {
            std::sync::Arc::new(LogSync {
                wal: format!("{}-wal", sqlite_path(&url)).into(),
                requested: Default::default(),
                done: Default::default(),
                syncs: Default::default(),
                relaxed: Default::default(),
            })
        });
        Ok(Db { pool, backend, masked_url, writer: Default::default(), sqlite_pragmas: pragmas, log_sync })
    }

    /// Applies the migrations that are missing. Safe when several processes start at once:
    /// PostgreSQL serialises them with an advisory lock, SQLite with its write lock.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        migrate::run(self, i64::MAX).await
    }

    /// Applies the missing migrations up to `version` only: to test how a later migration
    /// converts the data of an earlier schema.
    pub async fn migrate_to(&self, version: i64) -> Result<Vec<i64>> {
        migrate::run(self, version).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Keeps SQLite's query-planner statistics current, as autovacuum does on PostgreSQL (where
    /// this does nothing): a sampled `ANALYZE` (at most 1,000 rows per index: milliseconds at a
    /// million cases) when the database has no statistics yet, else `PRAGMA optimize`, which
    /// analyses again the tables that grew or shrank a lot. Without statistics SQLite can walk a
    /// queue's index by its least selective column: "my cases in Chinese" read by language took
    /// 58 ms instead of 6 at a million cases (BENCHMARKS.md, "Desk at scale"). The server runs
    /// it at start and with every sweep.
    pub async fn refresh_statistics(&self) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let mut c = self.pool.acquire().await?;
        let analysed: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
                .fetch_optional(&mut *c)
                .await?;
        let sql = match analysed {
            None => "PRAGMA analysis_limit = 1000; ANALYZE",
            Some(_) => "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002",
        };
        sqlx::raw_sql(sql).execute(&mut *c).await?;
        Ok(())
    }

    pub fn masked_url(&self) -> &str {
        &self.masked_url
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection from the pool; use its [`Capabilities`] for single statements.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A transaction that will write: on SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so that it never fails half-way on a lock upgrade, on the process's
    /// writer connection ([`Writer`]).
    pub async fn begin_write(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let mut writer = self.synced_writer().await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *writer).await?;
                writer.open = true;
                Tx(TxConn::Own(writer))
            }
            Backend::Postgres => Tx(TxConn::Pooled(self.pool.begin().await?)),
        })
    }

    /// A connection for writes outside a transaction (each statement commits on its own): on
    /// SQLite the process's writer connection ([`Writer`]), so hold it only for the writes.
    pub async fn write_conn(&self) -> Result<WriteConn> {
        Ok(WriteConn(match self.backend {
            Backend::Sqlite => Conn::Own(self.synced_writer().await?),
            Backend::Postgres => Conn::Pooled(self.pool.acquire().await?),
        }))
    }

    /// SQLite: the writer connection in `synchronous = FULL`, restored if the event writer left
    /// it in `NORMAL` ([`LogSync`]).
    async fn synced_writer(&self) -> Result<Writer> {
        let mut writer = self.writer().await?;
        if let Some(sync) = self.log_sync.as_ref().filter(|s| s.relaxed.load(std::sync::atomic::Ordering::SeqCst)) {
            sqlx::query("PRAGMA synchronous = FULL").execute(&mut *writer).await?;
            sync.relaxed.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(writer)
    }

    /// Waits until every commit this process made before the call is on disk: after the event
    /// writer's commits, which do not sync ([`LogSync`]). One fsync of the log covers the
    /// commits of every caller that waited while the one before it ran. Nothing to do on
    /// PostgreSQL, or when SQLite is in `synchronous = NORMAL` by configuration.
    pub async fn sync_log(&self) -> Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let Some(sync) = &self.log_sync else { return Ok(()) };
        let ticket = sync.requested.fetch_add(1, SeqCst) + 1;
        let mut done = sync.done.lock().await;
        if *done >= ticket {
            return Ok(());
        }
        // Every request made so far was made after its commit: this fsync covers them all.
        let covers = sync.requested.load(SeqCst);
        let wal = sync.wal.clone();
        let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&wal) {
            Ok(file) => file.sync_data(),
            // No log: everything is in the database file, which a checkpoint synced.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| StoreError::Sql(sqlx::Error::Io(std::io::Error::other(e))))?;
        synced.map_err(|e| StoreError::Sql(sqlx::Error::Io(e)))?;
        sync.syncs.fetch_add(1, SeqCst);
        *done = covers;
        Ok(())
    }

    /// How many fsyncs [`Db::sync_log`] made (None when it has nothing to do).
    pub fn log_syncs(&self) -> Option<u64> {
        self.log_sync.as_ref().map(|s| s.syncs.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// SQLite: the process's writer connection, waited for as long as SQLite would wait for its
    /// lock (`busy_timeout`), and opened if it is not yet (or was closed).
    async fn writer(&self) -> Result<Writer> {
        let mut guard = tokio::time::timeout(SQLITE_BUSY_TIMEOUT, self.writer.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Sql(sqlx::Error::PoolTimedOut))?;
        if guard.is_none() {
            let mut conn = self.pool.connect_options().connect().await?;
            conn.execute(sqlx::raw_sql(self.sqlite_pragmas)).await?;
            // A cache of 8 MB: pages it misses come from the operating system's cache, and a
            // larger one costs more than it saves, because SQLite walks the whole cache at the
            // end of every transaction in which a B-tree page split (it renumbers pages through
            // the lock page, far beyond the file's end): 64 MB cost the writer about a sixth
            // more CPU per event (BENCHMARKS.md, `thaw bench writer`). Its commits leave the
            // copying of the log into the database to [`Db::checkpoint`], out of the writers'
            // way, up to a log of 40 MB.
            conn.execute("PRAGMA cache_size = -8192; PRAGMA wal_autocheckpoint = 10000").await?;
            *guard = Some(conn);
        }
        Ok(Writer { guard: Some(guard), open: false })
    }

    /// The transaction that decides a group of events: [`risk::EventTx`].
    pub async fn begin_events(&self) -> Result<risk::EventTx> {
        if self.backend == Backend::Postgres {
            return risk::EventTx::begin(Conn::Pooled(self.pool.acquire().await?), None).await;
        }
        risk::EventTx::begin(Conn::Own(self.writer().await?), self.log_sync.clone()).await
    }

    /// SQLite: copies what the write-ahead log holds into the database, as far as readers
    /// allow, without waiting for them or for the writer (`PRAGMA wal_checkpoint(PASSIVE)`).
    /// The event writer calls it in the background so that its commits do not do it.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Pool figures for `/metrics`: (open connections, idle connections).
    pub fn pool_figures(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub async fn close(&self) {
        if let Some(conn) = self.writer.lock().await.take() {
            let _ = sqlx::Connection::close(conn).await;
        }
        self.pool.close().await;
    }
}

/// The file path of a `sqlite:` URL.
fn sqlite_path(url: &str) -> &str {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.split_once('?').map_or(rest, |(path, _)| path)
}

/// Creates the folder of a SQLite file and asks for the file to be created if missing.
fn prepare_sqlite_url(url: &str) -> std::result::Result<String, String> {
    let path = sqlite_path(url);
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if path.is_empty() || path == ":memory:" {
        return Err("thaw needs a SQLite file, not an in-memory database".into());
    }
    if let Some(parent) = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".into()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The per-capability stores, on any connection or transaction.
pub trait Capabilities {
    fn accounts(&mut self) -> Accounts<'_>;
    fn staff(&mut self) -> Staff<'_>;
    fn sessions(&mut self) -> Sessions<'_>;
    fn api_keys(&mut self) -> ApiKeys<'_>;
    fn throttle(&mut self) -> Throttle<'_>;
    fn risk(&mut self) -> Risk<'_>;
    fn holds(&mut self) -> Holds<'_>;
    fn jobs(&mut self) -> Jobs<'_>;
    fn webhooks(&mut self) -> Webhooks<'_>;
    fn holders(&mut self) -> Holders<'_>;
    fn factors(&mut self) -> Factors<'_>;
    fn alerts(&mut self) -> Alerts<'_>;
    fn cases(&mut self) -> Cases<'_>;
    fn texts(&mut self) -> Texts<'_>;
    fn audit(&mut self) -> Audit<'_>;
    fn analytics(&mut self) -> analytics::Analytics<'_>;
    fn channels(&mut self) -> channels::Channels<'_>;
}

impl Capabilities for AnyConnection {
    fn accounts(&mut self) -> Accounts<'_> {
        Accounts(self)
    }
    fn staff(&mut self) -> Staff<'_> {
        Staff(self)
    }
    fn sessions(&mut self) -> Sessions<'_> {
        Sessions(self)
    }
    fn api_keys(&mut self) -> ApiKeys<'_> {
        ApiKeys(self)
    }
    fn throttle(&mut self) -> Throttle<'_> {
        Throttle(self)
    }
    fn risk(&mut self) -> Risk<'_> {
        Risk(self)
    }
    fn holds(&mut self) -> Holds<'_> {
        Holds(self)
    }
    fn jobs(&mut self) -> Jobs<'_> {
        Jobs(self)
    }
    fn webhooks(&mut self) -> Webhooks<'_> {
        Webhooks(self)
    }
    fn holders(&mut self) -> Holders<'_> {
        Holders(self)
    }
    fn factors(&mut self) -> Factors<'_> {
        Factors(self)
    }
    fn alerts(&mut self) -> Alerts<'_> {
        Alerts(self)
    }
    fn cases(&mut self) -> Cases<'_> {
        Cases(self)
    }
    fn texts(&mut self) -> Texts<'_> {
        Texts(self)
    }
    fn audit(&mut self) -> Audit<'_> {
        Audit(self)
    }
    fn analytics(&mut self) -> analytics::Analytics<'_> {
        analytics::Analytics(self)
    }
    fn channels(&mut self) -> channels::Channels<'_> {
        channels::Channels(self)
    }
}

/// Whether this connection talks to PostgreSQL (for the few statements that differ).
pub(crate) fn is_postgres(c: &AnyConnection) -> bool {
    c.backend_name() == "PostgreSQL"
}

/// Maps a unique-constraint violation to [`StoreError::Duplicate`] naming what was duplicated.
pub(crate) fn duplicate_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Sql(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_database_urls() {
        assert_eq!(mask_url("postgres://thaw:s3cret@db:5432/thaw"), "postgres://thaw:***@db:5432/thaw");
        assert_eq!(mask_url("postgres://db/thaw"), "postgres://db/thaw");
        assert_eq!(mask_url("sqlite://thaw-data/thaw.db"), "sqlite://thaw-data/thaw.db");
        assert!(!mask_url("postgres://u:p@ss w@host/db").contains("p@ss"));
    }

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(backend_of("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(backend_of("sqlite:x.db"), Some(Backend::Sqlite));
        assert_eq!(backend_of("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(backend_of("mysql://h/db"), None);
    }
}
