//! The hash-chained audit log. Every change to a hold, a case, a policy, a staff member, an API
//! key, a webhook, an official channel, an article or a setting appends an entry in the same
//! transaction as the change. An entry's hash covers its content and the previous entry's hash,
//! and `audit_head` keeps the last one, so an entry changed, inserted or removed anywhere —
//! including at the end — breaks the chain that [`Audit::verify`] walks.
//!
//! Who did it and from where comes from the [`AuditContext`] of the task (the HTTP layer sets
//! it for each request, the CLI for its commands); work without one (timers, jobs) is `system`.

use crate::{Result, StoreError};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::sync::{Arc, Mutex};

pub struct Audit<'c>(pub(crate) &'c mut AnyConnection);

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who is acting in the current task, and from which address.
#[derive(Clone, Debug, Default)]
pub struct AuditContext {
    actor: Arc<Mutex<Option<String>>>,
    ip: Option<String>,
}

tokio::task_local! {
    static CONTEXT: AuditContext;
}

impl AuditContext {
    pub fn new(actor: Option<String>, ip: Option<String>) -> AuditContext {
        AuditContext { actor: Arc::new(Mutex::new(actor)), ip }
    }

    /// Runs `f` with this context; the audit entries it writes carry its actor and address.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CONTEXT.scope(self, f).await
    }
}

/// Names the actor of the current task once it is known (after authentication); the first
/// name given stays (a staff session is looked up before a holder's).
pub fn set_actor(actor: impl Into<String>) {
    let actor = actor.into();
    let _ = CONTEXT.try_with(|c| {
        if let Ok(mut a) = c.actor.lock() {
            a.get_or_insert(actor);
        }
    });
}

fn current() -> (String, Option<String>) {
    CONTEXT
        .try_with(|c| {
            let actor = c.actor.lock().ok().and_then(|a| a.clone()).unwrap_or_else(|| "anonymous".into());
            (actor, c.ip.clone())
        })
        .unwrap_or_else(|_| ("system".into(), None))
}

/// A change to record.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    /// e.g. `hold.released`, `case.updated`, `api_key.created`.
    pub action: &'a str,
    /// e.g. `hold`, `case`, `staff`, `api_key`, `webhook`, `policy`, `setting`.
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub at_ms: i64,
    /// The actor when the caller knows better than the task's context (a hold's own actor).
    pub actor: Option<&'a str>,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub ip: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// The hash this entry's content and predecessor give.
    pub fn computed_hash(&self) -> String {
        // A JSON array is unambiguous where plain concatenation is not.
        let content = serde_json::json!([
            self.seq,
            self.at_ms,
            self.actor,
            self.ip,
            self.action,
            self.subject_type,
            self.subject_id,
            self.before,
            self.after,
            self.prev_hash
        ]);
        hex::encode(Sha256::digest(content.to_string().as_bytes()))
    }
}

/// Filters of the desk's audit search; all optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// Matches the action exactly or, ending in `.`, as a prefix (`hold.`).
    pub action: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Only entries older than this sequence number (paging backwards).
    pub before_seq: Option<i64>,
}

/// What [`Audit::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: i64, head_hash: String },
    Broken { seq: i64, problem: String },
}

const COLUMNS: &str = "seq, at, actor, ip, action, subject_type, subject_id, before_json, after_json, prev_hash, hash";

impl Audit<'_> {
    /// Appends an entry after the current head. Call inside the write transaction of the change:
    /// on PostgreSQL the head row is locked until commit, so entries are chained one at a time.
    pub async fn append(&mut self, change: Change<'_>) -> Result<Entry> {
        let lock = if crate::is_postgres(self.0) { " FOR UPDATE" } else { "" };
        let head = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT seq, hash FROM audit_head WHERE id = 1{lock}")))
            .fetch_one(&mut *self.0)
            .await?;
        let (prev_seq, prev_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
        let (context_actor, ip) = current();
        let mut entry = Entry {
            seq: prev_seq + 1,
            at_ms: change.at_ms,
            actor: change.actor.map(str::to_string).unwrap_or(context_actor),
            ip,
            action: change.action.to_string(),
            subject_type: change.subject_type.to_string(),
            subject_id: change.subject_id.to_string(),
            before: change.before.map(|v| v.to_string()),
            after: change.after.map(|v| v.to_string()),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(entry.seq)
        .bind(entry.at_ms)
        .bind(&entry.actor)
        .bind(entry.ip.clone())
        .bind(&entry.action)
        .bind(&entry.subject_type)
        .bind(&entry.subject_id)
        .bind(entry.before.clone())
        .bind(entry.after.clone())
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *self.0)
        .await?;
        let moved = sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3")
            .bind(entry.seq)
            .bind(&entry.hash)
            .bind(prev_seq)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        if moved != 1 {
            return Err(StoreError::Corrupt("the audit log's head moved during a write".into()));
        }
        Ok(entry)
    }

    /// Entries matching the query, newest first.
    pub async fn search(&mut self, q: &AuditQuery, limit: i64) -> Result<Vec<Entry>> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1");
        let mut binds: Vec<Bind> = Vec::new();
        let mut add = |sql: &mut String, clause: &str, b: Bind| {
            binds.push(b);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(a) = q.actor.as_ref().filter(|a| !a.is_empty()) {
            add(&mut sql, " AND actor = ?", Bind::Text(a.clone()));
        }
        match q.action.as_ref().filter(|a| !a.is_empty()) {
            Some(a) if a.ends_with('.') => {
                let clause = format!(" AND substr(action, 1, {}) = ?", a.chars().count());
                add(&mut sql, &clause, Bind::Text(a.clone()))
            }
            Some(a) => add(&mut sql, " AND action = ?", Bind::Text(a.clone())),
            None => {}
        }
        if let Some(t) = q.subject_type.as_ref().filter(|t| !t.is_empty()) {
            add(&mut sql, " AND subject_type = ?", Bind::Text(t.clone()));
        }
        if let Some(s) = q.subject_id.as_ref().filter(|s| !s.is_empty()) {
            add(&mut sql, " AND subject_id = ?", Bind::Text(s.clone()));
        }
        if let Some(f) = q.from_ms {
            add(&mut sql, " AND at >= ?", Bind::Int(f));
        }
        if let Some(t) = q.to_ms {
            add(&mut sql, " AND at < ?", Bind::Int(t));
        }
        if let Some(s) = q.before_seq {
            add(&mut sql, " AND seq < ?", Bind::Int(s));
        }
        add(&mut sql, " ORDER BY seq DESC LIMIT ?", Bind::Int(limit));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&mut *self.0).await?;
        rows.iter().map(from_row).collect()
    }

    /// Entries in chain order from `after_seq` (exclusive), for verification and export.
    pub async fn page(&mut self, after_seq: i64, limit: i64) -> Result<Vec<Entry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The head: the last entry's sequence number and hash.
    pub async fn head(&mut self) -> Result<(i64, String)> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *self.0).await?;
        Ok((row.try_get("seq")?, row.try_get("hash")?))
    }

    /// Walks the whole chain and names the first entry that breaks it. `progress` is told how
    /// many entries were checked so far.
    pub async fn verify(&mut self, mut progress: impl FnMut(i64)) -> Result<Verdict> {
        // Entries after the head read here were appended during the walk: they are left for the
        // next verification (an entry and the head move in one transaction).
        let (head_seq, head_hash) = self.head().await?;
        let mut expected_seq = 1;
        let mut prev_hash = GENESIS.to_string();
        loop {
            let entries = self.page(expected_seq - 1, 2000).await?;
            let entries: Vec<_> = entries.into_iter().filter(|e| e.seq <= head_seq).collect();
            if entries.is_empty() {
                break;
            }
            for e in &entries {
                if e.seq != expected_seq {
                    let problem = if e.seq > expected_seq {
                        format!("entries {expected_seq}–{} are missing (removed)", e.seq - 1)
                    } else {
                        "the sequence goes backwards".to_string()
                    };
                    return Ok(Verdict::Broken { seq: expected_seq.min(e.seq), problem });
                }
                if e.prev_hash != prev_hash {
                    return Ok(Verdict::Broken {
                        seq: e.seq,
                        problem: "it does not follow the entry before it (an entry was inserted or replaced)".into(),
                    });
                }
                if e.computed_hash() != e.hash {
                    return Ok(Verdict::Broken {
                        seq: e.seq,
                        problem: "its content does not match its hash (the entry was changed)".into(),
                    });
                }
                prev_hash = e.hash.clone();
                expected_seq += 1;
            }
            progress(expected_seq - 1);
        }
        let last = expected_seq - 1;
        if last != head_seq || prev_hash != head_hash {
            return Ok(Verdict::Broken {
                seq: last + 1,
                problem: format!(
                    "the log ends at entry {last} but its head records entry {head_seq} (entries at the end were removed, or the head was changed)"
                ),
            });
        }
        // Entries beyond a head that did not move were not appended by thaw. The entries are
        // read before the head: an entry committed meanwhile moved the head in its transaction.
        let beyond = !self.page(head_seq, 1).await?.is_empty();
        if beyond && self.head().await?.0 == head_seq {
            return Ok(Verdict::Broken {
                seq: head_seq + 1,
                problem: "it follows the last entry the head records (an entry was added at the end)".into(),
            });
        }
        Ok(Verdict::Intact { entries: last, head_hash })
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

fn from_row(r: &AnyRow) -> Result<Entry> {
    Ok(Entry {
        seq: r.try_get("seq")?,
        at_ms: r.try_get("at")?,
        actor: r.try_get("actor")?,
        ip: r.try_get("ip")?,
        action: r.try_get("action")?,
        subject_type: r.try_get("subject_type")?,
        subject_id: r.try_get("subject_id")?,
        before: r.try_get("before_json")?,
        after: r.try_get("after_json")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Appends `change` on `conn` (inside the store methods that make the change).
pub(crate) async fn record(conn: &mut AnyConnection, change: Change<'_>) -> Result<()> {
    Audit(conn).append(change).await.map(|_| ())
}
