//! Demo cases: every category in several states, in zh-CN and en, some near and some past
//! their deadlines, with public replies and internal notes (data/demo_cases.json). Their times
//! are replayed relative to now, through the same use cases the desk uses.

use crate::cases::{self, CaseActor, Desk, OpenCase, StaffMessage};
use crate::{ServiceError, rfc3339};
use serde::Deserialize;
use std::collections::BTreeMap;
use thaw_domain::case::{CaseStatus, Channel};
use thaw_domain::{CaseCategory, Locale, Role};
use thaw_store::{Capabilities, Db, StoreError};

const DATA: &str = include_str!("../data/demo_cases.json");
/// The instant the demo data was written for; its times move with the real clock.
const WRITTEN_AT_MS: i64 = 1_795_255_200_000; // 2026-11-21T10:00:00Z
const SEEDED: &str = "demo_cases_seeded";

#[derive(Deserialize)]
struct DemoCase {
    category: String,
    locale: String,
    priority: String,
    status: String,
    age_minutes: i64,
    subject: String,
    intake: BTreeMap<String, String>,
    messages: Vec<DemoMessage>,
}

#[derive(Deserialize)]
struct DemoMessage {
    from: String,
    minutes_ago: i64,
    body: String,
}

/// Agents who are online in the demo, so that cases are routed.
const ONLINE: &[&str] = &[
    "agent1.zh@thaw.example",
    "agent1.en@thaw.example",
    "agent2@thaw.example",
    "security@thaw.example",
    "supervisor@thaw.example",
];

/// Seeds the demo cases once; returns how many were opened (0 when already seeded). The
/// `first` accounts (the security centre's demo holders) get the first case of their language.
pub async fn seed(
    db: &Db,
    desk: &Desk,
    now_ms: i64,
    first: &[String],
    mut progress: impl FnMut(usize, usize),
) -> Result<usize, ServiceError> {
    let demo: Vec<DemoCase> =
        serde_json::from_str(DATA).map_err(|e| StoreError::Corrupt(format!("demo cases: {e}")))?;
    let (staff, accounts) = {
        let mut conn = db.conn().await?;
        if conn.staff().setting(SEEDED).await?.is_some() {
            return Ok(0);
        }
        (conn.staff().list().await?, conn.accounts().list(None, 400, 0).await?.0)
    };
    let shift = now_ms - WRITTEN_AT_MS;
    let earliest = now_ms - demo.iter().map(|c| c.age_minutes).max().unwrap_or(0) * 60_000;
    for email in ONLINE {
        if let Some(s) = staff.iter().find(|s| s.email.as_str() == *email) {
            cases::set_online(db, desk, &s.id, true, earliest).await?;
        }
    }
    // A newcomer who signs in as a demo holder sees a case at once.
    let mut pools: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for a in &accounts {
        pools.entry(a.locale.code()).or_default().push(a.id.as_str().to_string());
    }
    for pool in pools.values_mut() {
        pool.sort_by_key(|id| !first.contains(id));
    }
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    let total = demo.len();
    for (i, d) in demo.iter().enumerate() {
        let locale = Locale::parse_canonical(&d.locale).unwrap_or_default();
        let pool = pools.get(locale.code()).filter(|p| !p.is_empty()).ok_or(ServiceError::NotFound("demo account"))?;
        let n = used.entry(locale.code()).or_default();
        let account_id = pool[*n % pool.len()].clone();
        *n += 1;
        let opened_at = now_ms - d.age_minutes * 60_000;
        let category = CaseCategory::parse(&d.category).unwrap_or(CaseCategory::Other);
        let first = d.messages.first().map(|m| m.body.as_str()).unwrap_or(&d.subject);
        let mut req = OpenCase::new(&account_id, category, &d.subject, first, Channel::Portal);
        req.priority = Some(d.priority.clone());
        req.language = Some(locale);
        req.intake = d.intake.iter().map(|(k, v)| (k.clone(), shift_time(v, shift))).collect();
        let holder = CaseActor::Holder { account_id: account_id.clone() };
        let case = cases::open(db, desk, req, &holder, opened_at).await?;
        let agent = case
            .assignee_id
            .clone()
            .and_then(|id| staff.iter().find(|s| s.id == id))
            .or_else(|| staff.iter().find(|s| s.role == Role::Supervisor))
            .map(|s| CaseActor::Staff { id: s.id.clone(), role: s.role, name: s.display_name.clone() })
            .ok_or(ServiceError::NotFound("demo staff"))?;
        let target = CaseStatus::parse(&d.status).unwrap_or(CaseStatus::Open);
        let last_staff = d.messages.iter().rposition(|m| m.from == "agent");
        for (j, m) in d.messages.iter().enumerate().skip(1) {
            let at = now_ms - m.minutes_ago * 60_000;
            match m.from.as_str() {
                "holder" => {
                    cases::holder_reply(db, desk, &account_id, case.number, &m.body, Channel::Portal, at).await?;
                }
                kind => {
                    // The last public reply carries the case to its demo status.
                    let status = (Some(j) == last_staff && target != CaseStatus::Open).then_some(target);
                    let status = status.map(|s| if s == CaseStatus::Closed { CaseStatus::Resolved } else { s });
                    let msg = StaffMessage { body: &m.body, internal: kind == "note", status };
                    cases::staff_message(db, desk, &agent, &case.id, msg, at).await?;
                }
            }
        }
        let latest = {
            let mut conn = db.conn().await?;
            conn.cases().get(&case.id).await?.map(|(c, _)| c.status)
        };
        let last_at = d.messages.last().map_or(opened_at, |m| now_ms - m.minutes_ago * 60_000);
        if latest.is_some_and(|s| s != target && s.can_become(target)) {
            cases::set_status(db, desk, &agent, &case.id, target.code(), last_at + 60_000).await?;
        }
        progress(i + 1, total);
    }
    cases::sla_sweep(db, desk, now_ms).await?;
    let mut tx = db.begin_write().await?;
    tx.staff().set_setting(SEEDED, &rfc3339(now_ms), now_ms).await?;
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(total)
}

/// The text of one demo case, for other generators to recombine.
pub(crate) struct DemoText {
    pub category: String,
    pub locale: String,
    pub subject: String,
    /// (holder | agent | note, body)
    pub messages: Vec<(String, String)>,
}

/// The demo cases' subjects and messages.
pub(crate) fn texts() -> Result<Vec<DemoText>, ServiceError> {
    let demo: Vec<DemoCase> =
        serde_json::from_str(DATA).map_err(|e| StoreError::Corrupt(format!("demo cases: {e}")))?;
    Ok(demo
        .into_iter()
        .map(|d| DemoText {
            category: d.category,
            locale: d.locale,
            subject: d.subject,
            messages: d.messages.into_iter().map(|m| (m.from, m.body)).collect(),
        })
        .collect())
}

/// Moves an RFC 3339 time in the demo data by `shift_ms`; other values stay.
fn shift_time(v: &str, shift_ms: i64) -> String {
    match v.parse::<jiff::Timestamp>() {
        Ok(t) => rfc3339(t.as_millisecond() + shift_ms),
        Err(_) => v.to_string(),
    }
}
