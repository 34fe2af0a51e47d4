//! Cases of the desk: the case rows (saved with optimistic concurrency), their conversation,
//! timeline, attached context and links, and agents' presence for routing.

use crate::bulk::Cell;
use crate::{Result, StoreError, is_postgres};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use thaw_domain::case::routing::{Candidate, Note};
use thaw_domain::case::sla::{Pause, Target};
use thaw_domain::case::{Case, CaseStatus, Channel, Priority};
use thaw_domain::{CaseCategory, Locale, Role};

pub struct Cases<'c>(pub(crate) &'c mut AnyConnection);

/// One message of a case's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub case_id: String,
    /// holder | staff | system | bot
    pub author_kind: String,
    pub author_id: Option<String>,
    /// Only `public` messages reach the holder.
    pub internal: bool,
    pub body: String,
    pub channel: String,
    pub created_at_ms: i64,
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub id: String,
    pub case_id: String,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub data: serde_json::Value,
    pub public: bool,
}

/// Which cases a desk queue shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queue {
    /// Active cases assigned to this staff member.
    Mine(String),
    /// Every active case.
    Team,
    Unassigned,
    /// Active cases at 80 % of a target and not yet past their deadline at this instant …
    AtRisk(i64),
    /// … or already past it (breached), or with a breach reported.
    Breached(i64),
}

/// Cases still being worked: the desk's queues show only these.
const ACTIVE: &str = "status NOT IN ('resolved', 'closed')";
/// The queues' order: the earliest running deadline, cases with none last (the largest BIGINT).
/// Written exactly as in the indexes of migration 0009, which both engines match by expression.
const DUE_KEY: &str = "COALESCE(next_due_at, 9223372036854775807)";

/// Narrows a queue: each field that is set keeps only the cases with that value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub category: Option<CaseCategory>,
    pub status: Option<CaseStatus>,
    pub priority: Option<Priority>,
    pub language: Option<Locale>,
}

impl QueueFilter {
    /// The narrowing columns (also the desk's address parameters) with the chosen codes.
    pub fn chosen(&self) -> [(&'static str, Option<&'static str>); 4] {
        [
            ("category", self.category.map(|c| c.code())),
            ("status", self.status.map(|s| s.code())),
            ("priority", self.priority.map(|p| p.code())),
            ("language", self.language.map(|l| l.code())),
        ]
    }
}

/// Where the next page of a queue starts: after the case with this place in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    /// The case's running deadline, or `i64::MAX` when none runs.
    pub due_key: i64,
    pub number: i64,
}

impl QueueCursor {
    /// The cursor after the case numbered `number` whose earliest running deadline is stored
    /// as `next_due_at`.
    pub fn after(number: i64, next_due_at: Option<i64>) -> QueueCursor {
        QueueCursor { due_key: next_due_at.unwrap_or(i64::MAX), number }
    }

    /// As written in a page's address: `<due_key>_<number>`.
    pub fn code(&self) -> String {
        format!("{}_{}", self.due_key, self.number)
    }

    pub fn parse(s: &str) -> Option<QueueCursor> {
        let (due, number) = s.split_once('_')?;
        Some(QueueCursor { due_key: due.parse().ok()?, number: number.parse().ok()? })
    }
}

const COLUMNS: &str = "id, number, account_id, category, priority, status, subject, intake, language, channel, tier, \
    assignee_id, routing, hold_id, linked_from, created_at, updated_at, first_response_at, awaiting_reply_since, \
    resolved_at, closed_at, pauses, warned, breached, next_due_at, appeal_of, decided_by, merged_into, version";

/// [`COLUMNS`] one by one, for bulk loading (a test keeps the two the same).
pub(crate) const COLUMN_LIST: &[&str] = &[
    "id",
    "number",
    "account_id",
    "category",
    "priority",
    "status",
    "subject",
    "intake",
    "language",
    "channel",
    "tier",
    "assignee_id",
    "routing",
    "hold_id",
    "linked_from",
    "created_at",
    "updated_at",
    "first_response_at",
    "awaiting_reply_since",
    "resolved_at",
    "closed_at",
    "pauses",
    "warned",
    "breached",
    "next_due_at",
    "appeal_of",
    "decided_by",
    "merged_into",
    "version",
];

/// A case's stored values, in the order of [`COLUMN_LIST`].
pub(crate) fn row_cells(c: &Case, next_due_at: Option<i64>, version: i64) -> Vec<Cell> {
    vec![
        c.id.as_str().into(),
        c.number.into(),
        c.account_id.as_str().into(),
        c.category.code().into(),
        c.priority.code().into(),
        c.status.code().into(),
        c.subject.as_str().into(),
        serde_json::to_string(&c.intake).expect("serialisable").into(),
        c.language.code().into(),
        c.channel.code().into(),
        (c.tier as i64).into(),
        c.assignee_id.clone().into(),
        c.routing.as_ref().map(|n| serde_json::to_string(n).expect("serialisable")).into(),
        c.hold_id.clone().into(),
        c.linked_from.clone().into(),
        c.created_at_ms.into(),
        c.updated_at_ms.into(),
        c.first_response_at_ms.into(),
        c.awaiting_reply_since_ms.into(),
        c.resolved_at_ms.into(),
        c.closed_at_ms.into(),
        pauses_json(&c.pauses).into(),
        targets_json(&c.warned).into(),
        targets_json(&c.breached).into(),
        next_due_at.into(),
        c.appeal_of.clone().into(),
        c.decided_by.clone().into(),
        c.merged_into.clone().into(),
        version.into(),
    ]
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("case {what}"))
}

fn from_row(r: &AnyRow) -> Result<(Case, i64)> {
    let text = |c: &str| -> Result<String> { Ok(r.try_get::<String, _>(c)?) };
    let pauses: Vec<(i64, Option<i64>)> = serde_json::from_str(&text("pauses")?).map_err(|_| corrupt("pauses"))?;
    let targets = |c: &str| -> Result<Vec<Target>> {
        let codes: Vec<String> = serde_json::from_str(&text(c)?).map_err(|_| corrupt(c))?;
        Ok(codes.iter().filter_map(|t| Target::parse(t)).collect())
    };
    let routing: Option<String> = r.try_get("routing")?;
    let case = Case {
        id: text("id")?,
        number: r.try_get("number")?,
        account_id: text("account_id")?,
        category: CaseCategory::parse(&text("category")?).ok_or_else(|| corrupt("category"))?,
        priority: Priority::parse(&text("priority")?).ok_or_else(|| corrupt("priority"))?,
        status: CaseStatus::parse(&text("status")?).ok_or_else(|| corrupt("status"))?,
        subject: text("subject")?,
        intake: serde_json::from_str(&text("intake")?).map_err(|_| corrupt("intake"))?,
        language: Locale::parse_canonical(&text("language")?).ok_or_else(|| corrupt("language"))?,
        channel: Channel::parse(&text("channel")?).ok_or_else(|| corrupt("channel"))?,
        tier: r.try_get::<i64, _>("tier")?.clamp(1, 2) as u8,
        assignee_id: r.try_get("assignee_id")?,
        routing: routing.map(|s| serde_json::from_str::<Note>(&s)).transpose().map_err(|_| corrupt("routing"))?,
        hold_id: r.try_get("hold_id")?,
        linked_from: r.try_get("linked_from")?,
        created_at_ms: r.try_get("created_at")?,
        updated_at_ms: r.try_get("updated_at")?,
        first_response_at_ms: r.try_get("first_response_at")?,
        awaiting_reply_since_ms: r.try_get("awaiting_reply_since")?,
        resolved_at_ms: r.try_get("resolved_at")?,
        closed_at_ms: r.try_get("closed_at")?,
        pauses: pauses.into_iter().map(|(start_ms, end_ms)| Pause { start_ms, end_ms }).collect(),
        warned: targets("warned")?,
        breached: targets("breached")?,
        appeal_of: r.try_get("appeal_of")?,
        decided_by: r.try_get("decided_by")?,
        merged_into: r.try_get("merged_into")?,
    };
    Ok((case, r.try_get("version")?))
}

/// The fields of a case whose changes the audit log records.
fn audited_fields(c: &Case) -> serde_json::Value {
    serde_json::json!({
        "number": c.number,
        "status": c.status.code(),
        "priority": c.priority.code(),
        "category": c.category.code(),
        "tier": c.tier,
        "assignee_id": c.assignee_id,
        "subject": c.subject,
        "warned": c.warned.iter().map(|t| t.code()).collect::<Vec<_>>(),
        "breached": c.breached.iter().map(|t| t.code()).collect::<Vec<_>>(),
        "decided_by": c.decided_by,
        "merged_into": c.merged_into,
    })
}

fn targets_json(ts: &[Target]) -> String {
    serde_json::to_string(&ts.iter().map(|t| t.code()).collect::<Vec<_>>()).expect("serialisable")
}

fn pauses_json(ps: &[Pause]) -> String {
    serde_json::to_string(&ps.iter().map(|p| (p.start_ms, p.end_ms)).collect::<Vec<_>>()).expect("serialisable")
}

/// The first key of the advisory locks that claim case openings ("case" in ASCII).
const OPENING_LOCKS: i32 = 0x6361_7365;

impl Cases<'_> {
    /// The next human-friendly case number (10001, 10002, …); call inside the write transaction.
    pub async fn next_number(&mut self) -> Result<i64> {
        let row = sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'case_number' RETURNING value")
            .fetch_one(&mut *self.0)
            .await?;
        Ok(row.try_get("value")?)
    }

    /// The number the next case will get, without taking it.
    pub async fn peek_next_number(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT value FROM counters WHERE name = 'case_number'").fetch_one(&mut *self.0).await?;
        Ok(row.try_get::<i64, _>("value")? + 1)
    }

    /// Sets the last case number given (after cases were loaded in bulk with their numbers).
    pub async fn set_number_counter(&mut self, last: i64) -> Result<()> {
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'case_number'")
            .bind(last)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Whether there is no case at all.
    pub async fn is_empty(&mut self) -> Result<bool> {
        Ok(sqlx::query("SELECT id FROM cases LIMIT 1").fetch_optional(&mut *self.0).await?.is_none())
    }

    /// Stores a new case; `next_due_at` is the earliest running deadline.
    pub async fn insert(&mut self, c: &Case, next_due_at: Option<i64>) -> Result<()> {
        let placeholders: Vec<String> = (1..=COLUMN_LIST.len()).map(|i| format!("${i}")).collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO cases ({COLUMNS}) VALUES ({})",
            placeholders.join(", ")
        )));
        for cell in row_cells(c, next_due_at, 0) {
            query = match cell {
                Cell::Text(t) => query.bind(t),
                Cell::Int(i) => query.bind(i),
            };
        }
        let result = query.execute(&mut *self.0).await;
        match result {
            Err(sqlx::Error::Database(e))
                if e.message().contains("cases_hold") || e.message().contains("cases.hold_id") =>
            {
                Err(StoreError::Duplicate("hold_id"))
            }
            Err(e) => Err(e.into()),
            Ok(_) => {
                let mut after = audited_fields(c);
                after["account_id"] = c.account_id.clone().into();
                after["channel"] = c.channel.code().into();
                let change = crate::audit::Change {
                    action: "case.opened",
                    subject_type: "case",
                    subject_id: &c.id,
                    after: Some(after),
                    at_ms: c.updated_at_ms,
                    ..Default::default()
                };
                crate::audit::record(self.0, change).await?;
                self.changed(&c.id, &c.account_id, c.updated_at_ms).await
            }
        }
    }

    /// Saves the mutable fields if nobody changed the case since `version` was read; returns
    /// whether it was saved (false: read again and retry).
    pub async fn save(&mut self, c: &Case, version: i64, next_due_at: Option<i64>) -> Result<bool> {
        // What it was, for the audit log; the version check is the UPDATE's own.
        let Some((stored, _)) = self.get(&c.id).await? else { return Ok(false) };
        let done = sqlx::query(
            "UPDATE cases SET priority = $1, status = $2, subject = $3, tier = $4, assignee_id = $5, routing = $6,
                updated_at = $7, first_response_at = $8, awaiting_reply_since = $9, resolved_at = $10, closed_at = $11,
                pauses = $12, warned = $13, breached = $14, next_due_at = $15, decided_by = $16, merged_into = $17,
                category = $18, version = version + 1
             WHERE id = $19 AND version = $20",
        )
        .bind(c.priority.code())
        .bind(c.status.code())
        .bind(&c.subject)
        .bind(c.tier as i64)
        .bind(c.assignee_id.clone())
        .bind(c.routing.as_ref().map(|n| serde_json::to_string(n).expect("serialisable")))
        .bind(c.updated_at_ms)
        .bind(c.first_response_at_ms)
        .bind(c.awaiting_reply_since_ms)
        .bind(c.resolved_at_ms)
        .bind(c.closed_at_ms)
        .bind(pauses_json(&c.pauses))
        .bind(targets_json(&c.warned))
        .bind(targets_json(&c.breached))
        .bind(next_due_at)
        .bind(c.decided_by.clone())
        .bind(c.merged_into.clone())
        .bind(c.category.code())
        .bind(&c.id)
        .bind(version)
        .execute(&mut *self.0)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let (before, after) = (audited_fields(&stored), audited_fields(c));
        if before != after {
            let (mut b, mut a) = (serde_json::Map::new(), serde_json::Map::new());
            for (key, new) in after.as_object().into_iter().flatten() {
                let old = &before[key];
                if old != new {
                    b.insert(key.clone(), old.clone());
                    a.insert(key.clone(), new.clone());
                }
            }
            let change = crate::audit::Change {
                action: "case.updated",
                subject_type: "case",
                subject_id: &c.id,
                before: Some(b.into()),
                after: Some(a.into()),
                at_ms: c.updated_at_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
        }
        self.changed(&c.id, &c.account_id, c.updated_at_ms).await?;
        Ok(true)
    }

    /// The case and the version to save it against.
    pub async fn get(&mut self, id: &str) -> Result<Option<(Case, i64)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM cases WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| from_row(&r)).transpose()
    }

    /// The cases with these ids (in no particular order; unknown ids are left out), in one query.
    pub async fn by_ids(&mut self, ids: &[&str]) -> Result<Vec<Case>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM cases WHERE id IN ({})",
            placeholders.join(", ")
        )));
        for id in ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&mut *self.0).await?;
        rows.iter().map(|r| from_row(r).map(|(c, _)| c)).collect()
    }

    pub async fn by_number(&mut self, number: i64) -> Result<Option<(Case, i64)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM cases WHERE number = $1")))
            .bind(number)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| from_row(&r)).transpose()
    }

    pub async fn by_hold(&mut self, hold_id: &str) -> Result<Option<Case>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM cases WHERE hold_id = $1")))
            .bind(hold_id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.map(|r| from_row(&r)).transpose()?.map(|(c, _)| c))
    }

    /// An account's cases, newest first.
    pub async fn of_account(&mut self, account_id: &str, limit: i64) -> Result<Vec<Case>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM cases WHERE account_id = $1 ORDER BY created_at DESC, number DESC LIMIT $2"
        )))
        .bind(account_id)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| from_row(r).map(|(c, _)| c)).collect()
    }

    /// The cases of a desk queue, the most urgent deadline first.
    pub async fn queue(&mut self, q: &Queue, limit: i64) -> Result<Vec<Case>> {
        Ok(self.queue_page(q, &QueueFilter::default(), None, limit).await?.0)
    }

    /// A page of a desk queue narrowed by `filter`: the most urgent deadline first (cases with
    /// no running clock last), after `after` (keyset pagination, so a deep page costs what the
    /// first does). Returns the cases and, when the page is full, where the next one starts.
    pub async fn queue_page(
        &mut self,
        q: &Queue,
        filter: &QueueFilter,
        after: Option<QueueCursor>,
        limit: i64,
    ) -> Result<(Vec<Case>, Option<QueueCursor>)> {
        enum Arg {
            Text(String),
            Int(i64),
        }
        // Conditions are written literally where the partial indexes of migration 0009 must
        // recognise them; values are bound.
        let mut sql = format!("SELECT {COLUMNS} FROM cases WHERE {ACTIVE}");
        let mut args: Vec<Arg> = vec![];
        let mut cond = |sql: &mut String, text: &str, arg: Option<Arg>| {
            sql.push_str(&text.replace("$?", &format!("${}", args.len() + 1)));
            args.extend(arg);
        };
        match q {
            Queue::Mine(id) => cond(&mut sql, " AND assignee_id = $?", Some(Arg::Text(id.clone()))),
            Queue::Team => {}
            Queue::Unassigned => cond(&mut sql, " AND assignee_id IS NULL", None),
            Queue::AtRisk(t) => cond(
                &mut sql,
                &format!(" AND {DUE_KEY} > $? AND next_due_at IS NOT NULL AND warned <> '[]' AND breached = '[]'"),
                Some(Arg::Int(*t)),
            ),
            Queue::Breached(now) => {
                cond(&mut sql, " AND (breached <> '[]' OR next_due_at <= $?)", Some(Arg::Int(*now)))
            }
        }
        for (column, value) in filter.chosen() {
            if let Some(v) = value {
                cond(&mut sql, &format!(" AND {column} = $?"), Some(Arg::Text(v.into())));
            }
        }
        if let Some(c) = after {
            // The row comparison is exact; the plain bound on the deadline is what lets SQLite
            // start the index range there (it does not range over a row of expressions).
            cond(&mut sql, &format!(" AND {DUE_KEY} >= $?"), Some(Arg::Int(c.due_key)));
            cond(&mut sql, &format!(" AND ({DUE_KEY}, number) > ($?"), Some(Arg::Int(c.due_key)));
            cond(&mut sql, ", $?)", Some(Arg::Int(c.number)));
        }
        cond(&mut sql, &format!(" ORDER BY {DUE_KEY}, number LIMIT $?"), Some(Arg::Int(limit)));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for arg in args {
            query = match arg {
                Arg::Text(t) => query.bind(t),
                Arg::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&mut *self.0).await?;
        let next = match rows.last() {
            Some(last) if rows.len() as i64 == limit => {
                Some(QueueCursor::after(last.try_get("number")?, last.try_get("next_due_at")?))
            }
            _ => None,
        };
        let cases = rows.iter().map(|r| from_row(r).map(|(c, _)| c)).collect::<Result<_>>()?;
        Ok((cases, next))
    }

    /// Active cases whose earliest deadline (or its 80 % mark) may have come by `now_ms`:
    /// every active case with a running clock, soonest first; the SLA job checks each.
    pub async fn with_running_clock(&mut self, limit: i64) -> Result<Vec<(Case, i64)>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM cases WHERE status NOT IN ('resolved', 'closed') AND next_due_at IS NOT NULL
             ORDER BY next_due_at LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// An account's active cases of a category opened since `since_ms` (repeat contacts).
    pub async fn recent_of_category(
        &mut self,
        account_id: &str,
        category: CaseCategory,
        since_ms: i64,
    ) -> Result<Vec<Case>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM cases WHERE account_id = $1 AND category = $2 AND created_at >= $3 ORDER BY created_at DESC"
        )))
        .bind(account_id)
        .bind(category.code())
        .bind(since_ms)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| from_row(r).map(|(c, _)| c)).collect()
    }

    pub async fn add_message(&mut self, m: &Message) -> Result<()> {
        sqlx::query(
            "INSERT INTO case_messages (id, case_id, author_kind, author_id, visibility, body, channel, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&m.id)
        .bind(&m.case_id)
        .bind(&m.author_kind)
        .bind(m.author_id.clone())
        .bind(if m.internal { "internal" } else { "public" })
        .bind(&m.body)
        .bind(&m.channel)
        .bind(m.created_at_ms)
        .execute(&mut *self.0)
        .await?;
        let change = crate::audit::Change {
            action: if m.internal { "case.note_added" } else { "case.message_added" },
            subject_type: "case",
            subject_id: &m.case_id,
            after: Some(serde_json::json!({
                "message_id": m.id, "author": format!("{}:{}", m.author_kind, m.author_id.as_deref().unwrap_or("")),
                "channel": m.channel,
            })),
            at_ms: m.created_at_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await?;
        crate::texts::Texts(&mut *self.0).changed("message", &m.id, m.created_at_ms).await
    }

    /// The conversation, oldest first; internal notes only when `with_internal`.
    pub async fn messages(&mut self, case_id: &str, with_internal: bool) -> Result<Vec<Message>> {
        let rows = sqlx::query(
            "SELECT id, case_id, author_kind, author_id, visibility, body, channel, created_at FROM case_messages
             WHERE case_id = $1 AND (visibility = 'public' OR $2 = 1) ORDER BY created_at, id",
        )
        .bind(case_id)
        .bind(with_internal as i64)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Message {
                    id: r.try_get("id")?,
                    case_id: r.try_get("case_id")?,
                    author_kind: r.try_get("author_kind")?,
                    author_id: r.try_get("author_id")?,
                    internal: r.try_get::<String, _>("visibility")? == "internal",
                    body: r.try_get("body")?,
                    channel: r.try_get("channel")?,
                    created_at_ms: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn add_timeline(&mut self, e: &TimelineEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO case_timeline (id, case_id, at, actor, kind, data, public) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&e.id)
        .bind(&e.case_id)
        .bind(e.at_ms)
        .bind(&e.actor)
        .bind(&e.kind)
        .bind(e.data.to_string())
        .bind(e.public as i64)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The timeline, oldest first; only public entries unless `with_internal`.
    pub async fn timeline(&mut self, case_id: &str, with_internal: bool) -> Result<Vec<TimelineEntry>> {
        let rows = sqlx::query(
            "SELECT id, case_id, at, actor, kind, data, public FROM case_timeline
             WHERE case_id = $1 AND (public = 1 OR $2 = 1) ORDER BY at, id",
        )
        .bind(case_id)
        .bind(with_internal as i64)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TimelineEntry {
                    id: r.try_get("id")?,
                    case_id: r.try_get("case_id")?,
                    at_ms: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    kind: r.try_get("kind")?,
                    data: serde_json::from_str(&r.try_get::<String, _>("data")?).map_err(|_| corrupt("timeline"))?,
                    public: r.try_get::<i64, _>("public")? == 1,
                })
            })
            .collect()
    }

    /// Links a hold, decision, event or earlier case to the case (once).
    pub async fn attach(&mut self, case_id: &str, kind: &str, ref_id: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO case_context (case_id, kind, ref_id) VALUES ($1, $2, $3) ON CONFLICT (case_id, kind, ref_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(kind)
        .bind(ref_id)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// What is attached, as (kind, id).
    pub async fn attached(&mut self, case_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT kind, ref_id FROM case_context WHERE case_id = $1 ORDER BY kind, ref_id")
            .bind(case_id)
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("ref_id")?))).collect()
    }

    /// The cases that name this one as where they came from.
    pub async fn followers(&mut self, case_id: &str) -> Result<Vec<Case>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM cases WHERE linked_from = $1 ORDER BY created_at"
        )))
        .bind(case_id)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| from_row(r).map(|(c, _)| c)).collect()
    }

    /// Cases tied to this one, by hand or by thaw, with how (as seen from this case): linked,
    /// repeat_of / repeated_by, follow_up_of / followed_up_by, merged_into / merged_from,
    /// appeal_of / appealed_by. Oldest first; a case tied in several ways appears once per way.
    pub async fn related(&mut self, case_id: &str) -> Result<Vec<(String, Case)>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT r.relation, {COLUMNS} FROM (
                SELECT 'linked' AS relation, ref_id AS other FROM case_context WHERE case_id = $1 AND kind = 'linked'
                UNION SELECT 'repeat_of', ref_id FROM case_context WHERE case_id = $1 AND kind = 'repeat_of'
                UNION SELECT 'repeated_by', case_id FROM case_context WHERE ref_id = $1 AND kind = 'repeat_of'
                UNION SELECT 'follow_up_of', linked_from FROM cases WHERE id = $1 AND linked_from IS NOT NULL
                UNION SELECT 'followed_up_by', id FROM cases WHERE linked_from = $1
                UNION SELECT 'merged_into', merged_into FROM cases WHERE id = $1 AND merged_into IS NOT NULL
                UNION SELECT 'merged_from', id FROM cases WHERE merged_into = $1
                UNION SELECT 'appeal_of', appeal_of FROM cases WHERE id = $1 AND appeal_of IS NOT NULL
                UNION SELECT 'appealed_by', id FROM cases WHERE appeal_of = $1
             ) r JOIN cases ON cases.id = r.other ORDER BY cases.created_at, r.relation"
        )))
        .bind(case_id)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("relation")?, from_row(r)?.0))).collect()
    }

    /// Ties two cases together both ways (by hand); false when they already were.
    pub async fn link(&mut self, a: &str, b: &str, now_ms: i64) -> Result<bool> {
        let mut added = 0;
        for (from, to) in [(a, b), (b, a)] {
            added += sqlx::query(
                "INSERT INTO case_context (case_id, kind, ref_id) VALUES ($1, 'linked', $2) ON CONFLICT (case_id, kind, ref_id) DO NOTHING",
            )
            .bind(from)
            .bind(to)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        }
        if added > 0 {
            self.audit_link("case.linked", a, b, now_ms).await?;
        }
        Ok(added > 0)
    }

    async fn audit_link(&mut self, action: &str, a: &str, b: &str, now_ms: i64) -> Result<()> {
        let change = crate::audit::Change {
            action,
            subject_type: "case",
            subject_id: a,
            after: Some(serde_json::json!({ "other_case_id": b })),
            at_ms: now_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await
    }

    /// Undoes `link`; false when they were not linked.
    pub async fn unlink(&mut self, a: &str, b: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM case_context WHERE kind = 'linked' AND ((case_id = $1 AND ref_id = $2) OR (case_id = $2 AND ref_id = $1))",
        )
        .bind(a)
        .bind(b)
        .execute(&mut *self.0)
        .await?;
        if done.rows_affected() > 0 {
            self.audit_link("case.unlinked", a, b, now_ms).await?;
        }
        Ok(done.rows_affected() > 0)
    }

    /// Moves a merged case's conversation (messages, attachments, email threads) to the case it
    /// was merged into, and attaches its context there too. Returns the messages moved.
    pub async fn move_conversation(&mut self, from: &str, to: &str, now_ms: i64) -> Result<u64> {
        let moved = sqlx::query("UPDATE case_messages SET case_id = $2 WHERE case_id = $1")
            .bind(from)
            .bind(to)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        for table in ["case_attachments", "case_mail"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET case_id = $2 WHERE case_id = $1")))
                .bind(from)
                .bind(to)
                .execute(&mut *self.0)
                .await?;
        }
        sqlx::query(
            "INSERT INTO case_context (case_id, kind, ref_id)
             SELECT $2, kind, ref_id FROM case_context WHERE case_id = $1 AND ref_id <> $2
             ON CONFLICT (case_id, kind, ref_id) DO NOTHING",
        )
        .bind(from)
        .bind(to)
        .execute(&mut *self.0)
        .await?;
        let change = crate::audit::Change {
            action: "case.conversation_moved",
            subject_type: "case",
            subject_id: from,
            after: Some(serde_json::json!({ "moved_to_case_id": to, "messages": moved })),
            at_ms: now_ms,
            ..Default::default()
        };
        crate::audit::record(self.0, change).await?;
        crate::texts::Texts(&mut *self.0).changed("case", to, now_ms).await?;
        Ok(moved)
    }

    /// Staff who could be routed a case, with presence and current load.
    pub async fn candidates(&mut self) -> Result<Vec<Candidate>> {
        let rows = sqlx::query(
            "SELECT s.id, s.role, s.skill_categories, s.skill_languages, s.capacity,
                    COALESCE(p.online, 0) AS online, COALESCE(p.last_assigned_at, 0) AS last_assigned_at,
                    (SELECT COUNT(*) FROM cases c WHERE c.assignee_id = s.id AND c.status NOT IN ('resolved', 'closed')) AS open_cases
             FROM staff s LEFT JOIN staff_presence p ON p.staff_id = s.id
             WHERE s.active = 1 AND s.role IN ('agent_t1', 'agent_t2', 'supervisor')
             ORDER BY s.id",
        )
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                let cats: String = r.try_get("skill_categories")?;
                let langs: String = r.try_get("skill_languages")?;
                Ok(Candidate {
                    id: r.try_get("id")?,
                    role: Role::parse(&r.try_get::<String, _>("role")?).ok_or_else(|| corrupt("staff role"))?,
                    categories: cats.split(',').filter_map(CaseCategory::parse).collect(),
                    languages: langs.split(',').filter_map(Locale::parse_canonical).collect(),
                    online: r.try_get::<i64, _>("online")? == 1,
                    open_cases: r.try_get("open_cases")?,
                    capacity: r.try_get("capacity")?,
                    last_assigned_ms: r.try_get("last_assigned_at")?,
                })
            })
            .collect()
    }

    pub async fn set_online(&mut self, staff_id: &str, online: bool, now_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO staff_presence (staff_id, online, changed_at) VALUES ($1, $2, $3)
             ON CONFLICT (staff_id) DO UPDATE SET online = excluded.online, changed_at = excluded.changed_at",
        )
        .bind(staff_id)
        .bind(online as i64)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn is_online(&mut self, staff_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT online FROM staff_presence WHERE staff_id = $1")
            .bind(staff_id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>("online")).transpose()?.unwrap_or(0) == 1)
    }

    pub async fn mark_assigned(&mut self, staff_id: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO staff_presence (staff_id, online, changed_at, last_assigned_at) VALUES ($1, 0, $2, $2)
             ON CONFLICT (staff_id) DO UPDATE SET last_assigned_at = excluded.last_assigned_at",
        )
        .bind(staff_id)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// The agent dedicated to a VIP account, if any.
    pub async fn dedicated_agent(&mut self, account_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT dedicated_agent_id FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("dedicated_agent_id")).transpose()?.flatten())
    }

    pub async fn set_dedicated_agent(&mut self, account_id: &str, staff_id: Option<&str>) -> Result<bool> {
        let done = sqlx::query("UPDATE accounts SET dedicated_agent_id = $1 WHERE id = $2")
            .bind(staff_id)
            .bind(account_id)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The account's events since `since_ms` with their decisions, newest first:
    /// (event id, decision id, event body, decision body).
    pub async fn recent_activity(
        &mut self,
        account_id: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, String, String, String)>> {
        let rows = sqlx::query(
            "SELECT id AS event_id, decision_id, body AS event_body, decision AS decision_body FROM events
             WHERE account_id = $1 AND occurred_at >= $2 ORDER BY occurred_at DESC, id DESC LIMIT $3",
        )
        .bind(account_id)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("event_id")?,
                    r.try_get("decision_id")?,
                    r.try_get("event_body")?,
                    r.try_get("decision_body")?,
                ))
            })
            .collect()
    }

    /// Takes, for the rest of the caller's transaction, the right to open the case that `key`
    /// names (a hold, a pending self-freeze): at once, or false when another transaction has it
    /// (`wait` false), or once that transaction ends (`wait` true). So the desk rounds of several
    /// processes share the openings instead of each making all of them, the others in vain.
    /// SQLite has one writer at a time: always true there.
    pub async fn claim_opening(&mut self, key: &str, wait: bool) -> Result<bool> {
        if !is_postgres(self.0) {
            return Ok(true);
        }
        // An advisory lock of the two-key space (apart from the migrations' one-key lock):
        // "case" and a hash of the key.
        let hash = key.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193)) as i32;
        let sql = if wait {
            "SELECT pg_advisory_xact_lock($1, $2) IS NOT NULL AS got"
        } else {
            "SELECT pg_try_advisory_xact_lock($1, $2) AS got"
        };
        let row = sqlx::query(sql).bind(OPENING_LOCKS).bind(hash).fetch_one(&mut *self.0).await?;
        Ok(row.try_get("got")?)
    }

    /// Marks a pending-case record (from a self-freeze) as opened; false when it was opened
    /// already (by another process), so the caller rolls its case back.
    pub async fn mark_pending_opened(&mut self, pending_id: &str, case_id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE pending_cases SET opened_case_id = $1 WHERE id = $2 AND opened_case_id IS NULL")
            .bind(case_id)
            .bind(pending_id)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending-case records not yet opened, oldest first: (id, account, category, context JSON, at).
    pub async fn pending(&mut self, limit: i64) -> Result<Vec<(String, String, String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT id, account_id, category, context, created_at FROM pending_cases WHERE opened_case_id IS NULL
             ORDER BY created_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("account_id")?,
                    r.try_get("category")?,
                    r.try_get("context")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }

    /// Active holds that only staff may lift and that have no case yet: (hold id, account).
    pub async fn holds_without_case(&mut self, limit: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT h.id, h.account_id FROM holds h
             WHERE h.status = 'active' AND (h.release_policy LIKE '%\"agent\"%' OR h.release_policy LIKE '%\"compliance_only\"%')
               AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.hold_id = h.id)
             ORDER BY h.created_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("account_id")?))).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_column_list_is_the_columns_one_by_one() {
        let columns: Vec<&str> = super::COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(columns, super::COLUMN_LIST);
    }
}
