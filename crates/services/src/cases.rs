//! The case desk's use cases: open a case (portal, API, staff, automatically) with its context
//! and routing, reply and note, change status, assign, presence, and the SLA sweep that warns
//! and escalates. Every change is one transaction; a case row is saved only if nobody changed
//! it meanwhile (optimistic concurrency), so several processes can work the same desk.

use crate::{ServiceError, new_id, outbox, rfc3339};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use thaw_domain::case::routing::{self, Note, Routed};
use thaw_domain::case::sla::{self, Calendar, Escalation, SlaPolicy, SlaTable, Standing, Target};
use thaw_domain::case::{Case, CaseStatus, Channel, HolderReply, Priority, intake, validate_body, validate_subject};
use thaw_domain::risk::{Hold, HoldOrigin, ReleasePolicy};
use thaw_domain::{AccountId, CaseCategory, Invalid, Locale, Role};
use thaw_store::{AnyConnection, Capabilities, Db, Message, StoreError, TimelineEntry};

/// How far back the context attached to a case reaches.
pub const CONTEXT_WINDOW_MS: i64 = 7 * 24 * 3_600_000;
/// Contacts of the same account and category within this long are repeat contacts.
pub const REPEAT_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

/// The share of resolved cases sampled for QA unless configured.
pub const DEFAULT_QA_PERCENT: u8 = 10;

/// The desk's configuration: its calendars and SLA policies, QA share and evidence storage.
#[derive(Debug, Clone)]
pub struct Desk {
    /// By name: `desk` (business hours), `24x7`, and any an SLA file adds.
    calendars: BTreeMap<String, Calendar>,
    sla: SlaTable,
    /// The share of resolved cases sampled into the QA queue, in percent.
    pub qa_percent: u8,
    /// Where attachments are kept and what is accepted.
    pub evidence: crate::evidence::Evidence,
}

impl Desk {
    /// The default SLA policies with `calendar` as the desk's business hours.
    pub fn new(calendar: Calendar) -> Desk {
        let mut calendars = BTreeMap::new();
        calendars.insert(sla::DESK_CALENDAR.to_string(), calendar);
        calendars.insert(sla::ALWAYS_CALENDAR.to_string(), Calendar::around_the_clock());
        Desk { calendars, sla: SlaTable::default(), qa_percent: DEFAULT_QA_PERCENT, evidence: Default::default() }
    }

    /// The policies and calendars of an SLA file (`crate::sla_file`), which may replace the
    /// `desk` calendar.
    pub fn with_sla(mut self, file: crate::sla_file::SlaFile) -> Desk {
        self.calendars.extend(file.calendars);
        self.sla = file.table;
        self
    }

    /// Every category and priority with its policy, and the calendars by name (for the desk's
    /// SLA page).
    pub fn sla(&self) -> (&SlaTable, &BTreeMap<String, Calendar>) {
        (&self.sla, &self.calendars)
    }

    /// The desk from its settings: an IANA time zone ("Asia/Shanghai"), opening hours
    /// ("09:00-18:00"), working weekdays ("mon-fri" or "mon,tue,sat") and holidays
    /// ("2026-10-01,2026-10-02").
    pub fn from_settings(time_zone: &str, hours: &str, weekdays: &str, holidays: &str) -> Result<Desk, Invalid> {
        let holidays: Vec<&str> = holidays.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
        let calendar = calendar_from_settings(sla::DESK_CALENDAR, "desk_", time_zone, hours, weekdays, &holidays)?;
        Ok(Desk::new(calendar))
    }

    pub fn policy(&self, c: &Case) -> &SlaPolicy {
        self.sla.get(c.category, c.priority)
    }

    pub fn calendar_for(&self, c: &Case) -> &Calendar {
        // An SLA file names only calendars it defines (checked when it is read); `desk` and
        // `24x7` always exist.
        &self.calendars[&self.policy(c).calendar]
    }

    /// The earliest running deadline (for queues and the breach filter).
    pub fn next_due(&self, c: &Case) -> Option<i64> {
        c.deadlines(self.policy(c), self.calendar_for(c)).into_iter().filter_map(|(_, d)| d).min()
    }

    /// The expected times the holder sees: the next step and the resolution.
    pub fn expected(&self, c: &Case) -> Expected {
        let policy = self.policy(c);
        let cal = self.calendar_for(c);
        Expected {
            next_step_ms: c.next_step_due(policy, cal),
            resolution_ms: c.resolution_due(policy, cal),
            waiting_for_holder: c.status == CaseStatus::PendingCustomer,
        }
    }

    /// Where each running target stands now.
    pub fn standings(&self, c: &Case, now_ms: i64) -> Vec<(Target, Option<i64>, Standing)> {
        let policy = self.policy(c);
        let cal = self.calendar_for(c);
        c.running_targets()
            .into_iter()
            .map(|(t, start)| {
                let len = policy.targets.of(t);
                (t, cal.add_business_ms(start, len, &c.pauses), sla::standing(cal, start, len, now_ms, &c.pauses))
            })
            .collect()
    }
}

/// A business-hours calendar from its written settings (see `Desk::from_settings`); errors name
/// the setting as `{prefix}time_zone`, `{prefix}hours`, `{prefix}weekdays`, `{prefix}holidays`.
pub fn calendar_from_settings(
    name: &str,
    prefix: &str,
    time_zone: &str,
    hours: &str,
    weekdays: &str,
    holidays: &[&str],
) -> Result<Calendar, Invalid> {
    let tz = jiff::tz::TimeZone::get(time_zone.trim()).map_err(|_| {
        Invalid::new(
            format!("{prefix}time_zone"),
            "invalid_time_zone",
            format!("{prefix}time_zone: unknown time zone '{time_zone}' (e.g. Asia/Shanghai)"),
        )
    })?;
    let mut periods = Vec::new();
    for period in hours.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        periods.push(period.split_once('-').ok_or_else(|| {
            Invalid::new(
                format!("{prefix}hours"),
                "invalid_hours",
                format!("{prefix}hours: opening and closing times such as 09:00-18:00 or 09:00-12:00, 13:00-18:00"),
            )
        })?);
    }
    let periods: Vec<(&str, &str)> = periods.iter().map(|(o, c)| (o.trim(), c.trim())).collect();
    let days = parse_weekdays(weekdays)
        .map_err(|e| Invalid::new(format!("{prefix}weekdays"), e.code, format!("{prefix}weekdays: {}", e.message)))?;
    let mut dates = vec![];
    for d in holidays {
        dates.push(d.trim().parse::<jiff::civil::Date>().map_err(|_| {
            Invalid::new(
                format!("{prefix}holidays"),
                "invalid_date",
                format!("{prefix}holidays: '{d}' is not a date such as 2026-10-01"),
            )
        })?);
    }
    Calendar::business_periods(name, tz, days, &periods, dates).map_err(|e| {
        let message = if e.field == "weekdays" {
            format!("{prefix}weekdays '{weekdays}': {}", e.message)
        } else {
            format!("{prefix}hours '{hours}': {}", e.message)
        };
        Invalid::new(format!("{prefix}{}", e.field), e.code, message)
    })
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_weekdays(s: &str) -> Result<[bool; 7], Invalid> {
    let bad = |w: &str| {
        Invalid::new(
            "weekdays",
            "invalid_weekday",
            format!("'{w}' is not a weekday (mon … sun, or a range such as mon-fri)"),
        )
    };
    let index = |w: &str| WEEKDAY_NAMES.iter().position(|n| *n == w.trim().to_ascii_lowercase()).ok_or_else(|| bad(w));
    let mut days = [false; 7];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (index(a)?, index(b)?);
                let mut i = a;
                loop {
                    days[i] = true;
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => days[index(part)?] = true,
        }
    }
    Ok(days)
}

impl Default for Desk {
    fn default() -> Self {
        Desk::new(Calendar::around_the_clock())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub next_step_ms: Option<i64>,
    pub resolution_ms: Option<i64>,
    pub waiting_for_holder: bool,
}

/// Who acts on a case.
#[derive(Debug, Clone)]
pub enum CaseActor {
    Holder { account_id: String },
    Staff { id: String, role: Role, name: String },
    Platform,
    System,
}

impl CaseActor {
    pub fn label(&self) -> String {
        match self {
            CaseActor::Holder { .. } => "holder".into(),
            CaseActor::Staff { id, .. } => format!("staff:{id}"),
            CaseActor::Platform => "platform".into(),
            CaseActor::System => "thaw".into(),
        }
    }

    fn author(&self) -> (&'static str, Option<String>) {
        match self {
            CaseActor::Holder { account_id } => ("holder", Some(account_id.clone())),
            CaseActor::Staff { id, .. } => ("staff", Some(id.clone())),
            CaseActor::Platform => ("system", Some("platform".into())),
            CaseActor::System => ("system", None),
        }
    }
}

/// Staff who may work cases (reply, note, status, assignment).
pub fn may_work_cases(role: Role) -> bool {
    matches!(role, Role::AgentT1 | Role::AgentT2 | Role::Supervisor | Role::Compliance)
}

/// A case to open, before validation.
#[derive(Debug, Clone)]
pub struct OpenCase {
    pub account_id: String,
    pub category: String,
    pub priority: Option<String>,
    pub subject: String,
    pub body: String,
    pub intake: BTreeMap<String, String>,
    pub language: Option<Locale>,
    /// The holder's UTC offset for times typed without one.
    pub utc_offset_minutes: i32,
    pub channel: Channel,
    pub tier: u8,
    pub hold_id: Option<String>,
    pub linked_from: Option<String>,
    /// What the case appeals (`case:<id>` or `hold:<id>`).
    pub appeal_of: Option<String>,
    /// Staff routing must pass over (whoever decided what is appealed).
    pub exclude: Vec<String>,
}

impl OpenCase {
    pub fn new(account_id: &str, category: CaseCategory, subject: &str, body: &str, channel: Channel) -> OpenCase {
        OpenCase {
            account_id: account_id.into(),
            category: category.code().into(),
            priority: None,
            subject: subject.into(),
            body: body.into(),
            intake: BTreeMap::new(),
            language: None,
            utc_offset_minutes: 0,
            channel,
            tier: 1,
            hold_id: None,
            linked_from: None,
            appeal_of: None,
            exclude: vec![],
        }
    }
}

pub(crate) fn entry(case_id: &str, actor: &str, kind: &str, data: Value, public: bool, now_ms: i64) -> TimelineEntry {
    TimelineEntry {
        id: new_id(),
        case_id: case_id.into(),
        at_ms: now_ms,
        actor: actor.into(),
        kind: kind.into(),
        data,
        public,
    }
}

/// Opens a case and returns it, routed and with its context attached.
pub async fn open(db: &Db, desk: &Desk, req: OpenCase, by: &CaseActor, now_ms: i64) -> Result<Case, ServiceError> {
    let mut tx = db.begin_write().await?;
    let case = open_in(&mut tx, desk, req, by, now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(case)
}

/// Opens a case inside the caller's transaction.
pub async fn open_in(
    conn: &mut AnyConnection,
    desk: &Desk,
    req: OpenCase,
    by: &CaseActor,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let category = CaseCategory::parse(&req.category).ok_or_else(|| {
        let all: Vec<_> = CaseCategory::ALL.iter().map(|c| c.code()).collect();
        Invalid::new("category", "invalid_category", format!("category: one of {}", all.join(", ")))
    })?;
    let subject = crate::guard::screen(&validate_subject(&req.subject)?);
    let screened = crate::guard::screen(&validate_body("body", &req.body)?);
    let mut answers = if req.channel == Channel::Bot {
        intake::validate_partial(category, &req.intake, req.utc_offset_minutes, now_ms)?
    } else {
        intake::validate(category, &req.intake, req.utc_offset_minutes, now_ms)?
    };
    let mut found = [subject.found, screened.found].concat();
    for value in answers.values_mut() {
        let s = crate::guard::screen(value);
        found.extend(s.found);
        *value = s.text;
    }
    let (subject, body) = (subject.text, screened.text);
    let account_id = AccountId::parse("account_id", &req.account_id)?;
    let account = conn.accounts().get(&account_id).await?.ok_or(ServiceError::NotFound("account"))?;
    let holds = conn.holds().in_force(account_id.as_str(), now_ms).await?;
    let priority = match req.priority.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Priority::parse(p).ok_or_else(|| {
            Invalid::new("priority", "invalid_priority", "priority: one of low, normal, high, urgent")
        })?,
        None => default_priority(category, account.vip_level, &holds),
    };
    let language = req.language.unwrap_or(account.locale);
    let number = conn.cases().next_number().await?;
    let mut case = Case {
        priority,
        subject,
        intake: answers,
        language,
        channel: req.channel,
        tier: req.tier.clamp(1, 2),
        hold_id: req.hold_id.clone(),
        linked_from: req.linked_from.clone(),
        appeal_of: req.appeal_of.clone(),
        ..Case::opened(new_id(), number, account_id.as_str().to_string(), category, now_ms)
    };
    let routed = route_in(conn, &case, req.exclude.clone()).await?;
    apply_routing(&mut case, &routed);
    match conn.cases().insert(&case, desk.next_due(&case)).await {
        Err(StoreError::Duplicate(_)) => {
            return Err(ServiceError::Conflict {
                code: "case_exists",
                message: "a case is already open for this hold".into(),
            });
        }
        other => other?,
    }
    if let Routed::Agent { id, .. } = &routed {
        conn.cases().mark_assigned(id, now_ms).await?;
    }
    let (author_kind, author_id) = by.author();
    conn.cases()
        .add_message(&Message {
            id: new_id(),
            case_id: case.id.clone(),
            author_kind: author_kind.into(),
            author_id,
            internal: false,
            body,
            channel: case.channel.code().into(),
            created_at_ms: now_ms,
        })
        .await?;
    if !found.is_empty() {
        warn_holder(conn, &case, &found, now_ms).await?;
    }
    let actor = by.label();
    let opened = json!({"channel": case.channel.code(), "category": category.code(), "priority": priority.code()});
    conn.cases().add_timeline(&entry(&case.id, &actor, "opened", opened, true, now_ms)).await?;
    conn.cases().add_timeline(&entry(&case.id, "thaw", "routed", json!(case.routing), false, now_ms)).await?;
    // The context an agent needs, linked so it stays findable after it changes.
    for h in &holds {
        conn.cases().attach(&case.id, "hold", &h.id).await?;
    }
    for (event_id, decision_id, _, _) in
        conn.cases().recent_activity(account_id.as_str(), now_ms - CONTEXT_WINDOW_MS, 200).await?
    {
        conn.cases().attach(&case.id, "event", &event_id).await?;
        conn.cases().attach(&case.id, "decision", &decision_id).await?;
    }
    for earlier in conn.cases().of_account(account_id.as_str(), 50).await?.into_iter().filter(|c| c.id != case.id) {
        conn.cases().attach(&case.id, "case", &earlier.id).await?;
        if earlier.category == category && earlier.created_at_ms >= now_ms - REPEAT_WINDOW_MS {
            let data = json!({"case": earlier.reference(), "case_id": earlier.id});
            conn.cases().attach(&case.id, "repeat_of", &earlier.id).await?;
            conn.cases().add_timeline(&entry(&case.id, "thaw", "repeat_contact", data, false, now_ms)).await?;
        }
    }
    outbox::enqueue(conn, "case.opened", &case_json(&case), now_ms).await?;
    crate::case_mail::schedule(conn, &case, "opened", None, now_ms).await?;
    tracing::info!(case = case.number, category = category.code(), assignee = ?case.assignee_id, "case opened");
    Ok(case)
}

/// Security categories and accounts with staff-only holds come first; VIPs one step higher.
fn default_priority(category: CaseCategory, vip_level: i64, holds: &[Hold]) -> Priority {
    let staff_only = holds.iter().any(|h| matches!(h.release, ReleasePolicy::Agent | ReleasePolicy::ComplianceOnly));
    let base = if category.is_security() || staff_only { Priority::High } else { Priority::Normal };
    if vip_level > 0 { base.raised() } else { base }
}

async fn route_in(conn: &mut AnyConnection, case: &Case, exclude: Vec<String>) -> Result<Routed, ServiceError> {
    let candidates = conn.cases().candidates().await?;
    let dedicated_agent = conn.cases().dedicated_agent(&case.account_id).await?;
    let request = routing::Request {
        category: case.category,
        language: case.language,
        tier: case.tier,
        dedicated_agent,
        exclude,
    };
    Ok(routing::route(&request, &candidates))
}

fn apply_routing(case: &mut Case, routed: &Routed) {
    case.routing = Some(Note::from(routed));
    case.assignee_id = match routed {
        Routed::Agent { id, .. } => Some(id.clone()),
        Routed::Unassigned { .. } => None,
    };
}

/// The case as the API and webhooks show it (no conversation).
pub fn case_json(c: &Case) -> Value {
    json!({
        "id": c.id,
        "number": c.reference(),
        "account_id": c.account_id,
        "category": c.category.code(),
        "priority": c.priority.code(),
        "status": c.status.code(),
        "subject": c.subject,
        "intake": c.intake,
        "language": c.language.code(),
        "channel": c.channel.code(),
        "tier": c.tier,
        "assignee_id": c.assignee_id,
        "hold_id": c.hold_id,
        "created_at": rfc3339(c.created_at_ms),
        "updated_at": rfc3339(c.updated_at_ms),
        "resolved_at": c.resolved_at_ms.map(rfc3339),
    })
}

/// Reads a case for a change, applies `change`, and saves it if nobody else changed it in the
/// meantime (retrying a few times if they did). `change` may write messages and timeline
/// entries in the same transaction.
pub(crate) async fn change_case<T, F>(
    db: &Db,
    desk: &Desk,
    case_id: &str,
    mut change: F,
) -> Result<(Case, T), ServiceError>
where
    F: for<'a> FnMut(
        &'a mut AnyConnection,
        &'a mut Case,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ServiceError>> + Send + 'a>>,
{
    for _ in 0..5 {
        let mut tx = db.begin_write().await?;
        let (mut case, version) = tx.cases().get(case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        let out = change(&mut tx, &mut case).await?;
        if tx.cases().save(&case, version, desk.next_due(&case)).await? {
            tx.commit().await.map_err(StoreError::from)?;
            return Ok((case, out));
        }
        tx.rollback().await.map_err(StoreError::from)?;
    }
    Err(ServiceError::Conflict {
        code: "case_busy",
        message: "the case is being changed by someone else; try again".into(),
    })
}

/// What became of a holder's message.
#[derive(Debug, Clone)]
pub struct HolderReplied {
    /// The case the message landed in (a new linked case when the old one was closed).
    pub case: Case,
    pub reopened: bool,
    pub new_case: bool,
}

/// The holder writes on their case: reopens it if resolved within 7 days, opens a new linked
/// case if it is closed or resolved longer ago, and starts the next-reply clock.
pub async fn holder_reply(
    db: &Db,
    desk: &Desk,
    account_id: &str,
    number: i64,
    body: &str,
    channel: Channel,
    now_ms: i64,
) -> Result<HolderReplied, ServiceError> {
    let body = validate_body("body", body)?;
    let mut case = holder_case(db, account_id, number).await?;
    // A merged case's conversation goes on in the case it was merged into.
    if let Some(into) = case.merged_into.clone() {
        let mut conn = db.conn().await?;
        case = conn.cases().get(&into).await?.ok_or(ServiceError::NotFound("case"))?.0;
    }
    if case.status.on_holder_reply(case.resolved_at_ms, now_ms) == HolderReply::NewLinkedCase {
        let mut req = OpenCase::new(account_id, case.category, &follow_up_subject(&case), &body, channel);
        req.linked_from = Some(case.id.clone());
        req.language = Some(case.language);
        let mut tx = db.begin_write().await?;
        let new_case = open_followup(&mut tx, desk, req, &case, now_ms).await?;
        tx.commit().await.map_err(StoreError::from)?;
        return Ok(HolderReplied { case: new_case, reopened: false, new_case: true });
    }
    let actor = CaseActor::Holder { account_id: account_id.into() };
    let (case, reopened) = change_case(db, desk, &case.id, |conn, c| {
        let body = body.clone();
        let actor = actor.clone();
        Box::pin(async move {
            let outcome = c.status.on_holder_reply(c.resolved_at_ms, now_ms);
            add_message(conn, c, &actor, &body, false, channel, now_ms).await?;
            if c.first_response_at_ms.is_some() && c.awaiting_reply_since_ms.is_none() {
                c.awaiting_reply_since_ms = Some(now_ms);
            }
            let reopened = outcome == HolderReply::Reopen;
            if matches!(outcome, HolderReply::Reopen | HolderReply::BackToDesk) {
                c.set_status(CaseStatus::Open, now_ms);
                let kind = if reopened { "reopened" } else { "status" };
                let data = json!({"to": "open", "by": "holder"});
                conn.cases().add_timeline(&entry(&c.id, "holder", kind, data, true, now_ms)).await?;
            }
            c.updated_at_ms = now_ms;
            Ok(reopened)
        })
    })
    .await?;
    Ok(HolderReplied { case, reopened, new_case: false })
}

fn follow_up_subject(c: &Case) -> String {
    let prefix = match c.language {
        Locale::ZhCn => format!("跟进 {}：", c.reference()),
        Locale::En => format!("Follow-up to {}: ", c.reference()),
    };
    let mut s = prefix + &c.subject;
    if s.chars().count() > 120 {
        s = s.chars().take(119).collect::<String>() + "…";
    }
    s
}

async fn open_followup(
    conn: &mut AnyConnection,
    desk: &Desk,
    req: OpenCase,
    earlier: &Case,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    // The follow-up keeps the earlier case's intake answers, so nothing is asked twice.
    let mut req = req;
    req.intake = earlier.intake.clone();
    req.priority = Some(earlier.priority.code().into());
    let case = open_in(conn, desk, req, &CaseActor::Holder { account_id: earlier.account_id.clone() }, now_ms).await?;
    conn.cases().attach(&case.id, "case", &earlier.id).await?;
    let data = json!({"case": case.reference(), "case_id": case.id});
    conn.cases().add_timeline(&entry(&earlier.id, "holder", "followed_up", data, true, now_ms)).await?;
    Ok(case)
}

async fn add_message(
    conn: &mut AnyConnection,
    c: &Case,
    actor: &CaseActor,
    body: &str,
    internal: bool,
    channel: Channel,
    now_ms: i64,
) -> Result<String, ServiceError> {
    let (author_kind, author_id) = actor.author();
    let id = new_id();
    let screened = crate::guard::screen(body);
    conn.cases()
        .add_message(&Message {
            id: id.clone(),
            case_id: c.id.clone(),
            author_kind: author_kind.into(),
            author_id,
            internal,
            body: screened.text,
            channel: channel.code().into(),
            created_at_ms: now_ms,
        })
        .await?;
    if !screened.found.is_empty() && matches!(actor, CaseActor::Holder { .. }) {
        warn_holder(conn, c, &screened.found, now_ms + 1).await?;
    }
    Ok(id)
}

/// Tells the holder on their case that a secret was removed and what to do now.
async fn warn_holder(
    conn: &mut AnyConnection,
    c: &Case,
    found: &[thaw_text::guard::SecretKind],
    now_ms: i64,
) -> Result<(), ServiceError> {
    conn.cases()
        .add_message(&Message {
            id: new_id(),
            case_id: c.id.clone(),
            author_kind: "system".into(),
            author_id: None,
            internal: false,
            body: crate::guard::warning(c.language, found),
            channel: Channel::Staff.code().into(),
            created_at_ms: now_ms,
        })
        .await?;
    Ok(())
}

/// An internal note written by thaw itself (e.g. an email from an unexpected address).
pub async fn system_note(
    db: &Db,
    desk: &Desk,
    case_id: &str,
    by: &CaseActor,
    body: &str,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let body = validate_body("body", body)?;
    let (case, ()) = change_case(db, desk, case_id, |conn, c| {
        let (body, by) = (body.clone(), by.clone());
        Box::pin(async move {
            add_message(conn, c, &by, &body, true, Channel::Email, now_ms).await?;
            c.updated_at_ms = now_ms;
            Ok(())
        })
    })
    .await?;
    Ok(case)
}

/// What a holder appeals.
#[derive(Debug, Clone)]
pub enum AppealOf {
    /// The outcome of their resolved (or closed) case, by number.
    Case(i64),
    /// A hold on their account, by id.
    Hold(String),
}

/// The holder appeals a decision: a new case at tier 2, linked to what it appeals, routed to
/// someone other than whoever decided it (the resolving agent, the hold's placer, the agent of
/// the hold's case).
pub async fn appeal(
    db: &Db,
    desk: &Desk,
    account_id: &str,
    of: AppealOf,
    reason: &str,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let locale = {
        let mut conn = db.conn().await?;
        account_locale(&mut conn, account_id).await?
    };
    let mut tx = db.begin_write().await?;
    // Whose case or hold it is comes first: another holder learns nothing from a refusal.
    let (category, subject, appeal_of, linked_from, mut deciders, intake) = match &of {
        AppealOf::Case(number) => {
            let earlier = match tx.cases().by_number(*number).await? {
                Some((c, _)) if c.account_id == account_id => c,
                _ => return Err(ServiceError::NotFound("case")),
            };
            if earlier.status.is_active() {
                return Err(ServiceError::Refused {
                    code: "not_resolved",
                    message: "an appeal is of a decision: this case is not resolved yet".into(),
                });
            }
            let subject = match locale {
                Locale::ZhCn => format!("申诉 {}：{}", earlier.reference(), earlier.subject),
                Locale::En => format!("Appeal of {}: {}", earlier.reference(), earlier.subject),
            };
            let deciders: Vec<String> = earlier.decided_by.iter().chain(earlier.assignee_id.iter()).cloned().collect();
            (
                earlier.category,
                subject,
                format!("case:{}", earlier.id),
                Some(earlier.id.clone()),
                deciders,
                earlier.intake.clone(),
            )
        }
        AppealOf::Hold(hold_id) => {
            let hold = tx
                .holds()
                .get(hold_id)
                .await?
                .filter(|h| h.account_id == account_id && h.in_force(now_ms))
                .ok_or(ServiceError::NotFound("hold"))?;
            let mut deciders = vec![];
            for change in tx.holds().changes(hold_id).await? {
                if let Some(id) = change.actor.strip_prefix("staff:") {
                    deciders.push(id.to_string());
                }
            }
            let earlier = tx.cases().by_hold(hold_id).await?;
            if let Some(c) = &earlier {
                deciders.extend(c.decided_by.iter().chain(c.assignee_id.iter()).cloned());
            }
            let reference: String = hold.id.chars().take(8).collect();
            let subject = match locale {
                Locale::ZhCn => format!("对账户限制的申诉（{reference}）"),
                Locale::En => format!("Appeal of a restriction ({reference})"),
            };
            let intake = hold_intake(&hold);
            (CaseCategory::AssetFreeze, subject, format!("hold:{}", hold.id), earlier.map(|c| c.id), deciders, intake)
        }
    };
    let reason = validate_body("reason", reason)?;
    deciders.sort();
    deciders.dedup();
    let mut req = OpenCase::new(account_id, category, &subject, &reason, Channel::Portal);
    req.tier = 2;
    req.intake = intake;
    req.linked_from = linked_from;
    req.priority = Some(Priority::High.code().into());
    req.appeal_of = Some(appeal_of.clone());
    req.exclude = deciders.clone();
    let case = open_in(&mut tx, desk, req, &CaseActor::Holder { account_id: account_id.into() }, now_ms).await?;
    let data = json!({"appeal_of": appeal_of, "excluded": deciders});
    tx.cases().add_timeline(&entry(&case.id, "thaw", "appeal", data, false, now_ms)).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(case)
}

/// Contacts within this long count as one request to escalate.
pub const ESCALATE_EVERY_MS: i64 = 24 * 3_600_000;

/// The holder asks to escalate their open case: once a day it raises the priority, moves the
/// case to tier 2 and routes it again (to someone else when possible).
pub async fn ask_to_escalate(
    db: &Db,
    desk: &Desk,
    account_id: &str,
    number: i64,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let case = holder_case(db, account_id, number).await?;
    let last = {
        let mut conn = db.conn().await?;
        conn.cases()
            .timeline(&case.id, true)
            .await?
            .into_iter()
            .filter(|e| e.kind == "escalation_requested")
            .map(|e| e.at_ms)
            .max()
    };
    if last.is_some_and(|at| now_ms - at < ESCALATE_EVERY_MS) {
        return Err(ServiceError::Refused {
            code: "escalated_recently",
            message: "this case was escalated in the last 24 hours".into(),
        });
    }
    let (case, ()) = change_case(db, desk, &case.id, |conn, c| {
        Box::pin(async move {
            if !c.status.is_active() {
                return Err(ServiceError::Refused {
                    code: "case_closed",
                    message: "the case is resolved or closed".into(),
                });
            }
            c.priority = c.priority.raised();
            c.tier = 2;
            let exclude = c.assignee_id.iter().cloned().collect();
            let routed = route_in(conn, c, exclude).await?;
            if let Routed::Agent { id, .. } = &routed {
                apply_routing(c, &routed);
                conn.cases().mark_assigned(id, now_ms).await?;
            }
            let data = json!({"priority": c.priority.code(), "tier": c.tier, "assignee": c.assignee_id});
            conn.cases().add_timeline(&entry(&c.id, "holder", "escalation_requested", data, true, now_ms)).await?;
            c.updated_at_ms = now_ms;
            Ok(())
        })
    })
    .await?;
    Ok(case)
}

/// The holder's own case by number; another account's case is "not found", never "forbidden".
pub async fn holder_case(db: &Db, account_id: &str, number: i64) -> Result<Case, ServiceError> {
    let mut conn = db.conn().await?;
    match conn.cases().by_number(number).await? {
        Some((c, _)) if c.account_id == account_id => Ok(c),
        _ => Err(ServiceError::NotFound("case")),
    }
}

/// What a staff member writes on a case.
#[derive(Debug, Clone, Copy)]
pub struct StaffMessage<'a> {
    pub body: &'a str,
    /// An internal note (never shown to the holder) rather than a public reply.
    pub internal: bool,
    /// The status to move the case to at the same time.
    pub status: Option<CaseStatus>,
}

/// A staff reply (public) or note (internal), optionally moving the status.
pub async fn staff_message(
    db: &Db,
    desk: &Desk,
    staff: &CaseActor,
    case_id: &str,
    message: StaffMessage<'_>,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let StaffMessage { body, internal, status } = message;
    let body = validate_body("body", body)?;
    let CaseActor::Staff { role, .. } = staff else { return Err(ServiceError::NotFound("case")) };
    if !may_work_cases(*role) {
        return Err(refused_role());
    }
    let qa_percent = desk.qa_percent;
    let (case, ()) = change_case(db, desk, case_id, |conn, c| {
        let body = body.clone();
        let staff = staff.clone();
        Box::pin(async move {
            if let Some(to) = status
                && !c.status.can_become(to)
            {
                return Err(bad_transition(c.status, to));
            }
            let message_id = add_message(conn, c, &staff, &body, internal, Channel::Staff, now_ms).await?;
            if !internal {
                crate::case_mail::schedule(conn, c, "reply", Some(&message_id), now_ms).await?;
                c.first_response_at_ms.get_or_insert(now_ms);
                c.awaiting_reply_since_ms = None;
                if c.status == CaseStatus::New && status.is_none() {
                    c.set_status(CaseStatus::Open, now_ms);
                }
            }
            if let Some(to) = status {
                change_status(conn, qa_percent, c, &staff.label(), to, now_ms).await?;
                if internal {
                    mail_status(conn, c, now_ms).await?;
                }
            }
            c.updated_at_ms = now_ms;
            Ok(())
        })
    })
    .await?;
    Ok(case)
}

fn refused_role() -> ServiceError {
    ServiceError::Refused { code: "forbidden", message: "your role does not work cases".into() }
}

fn bad_transition(from: CaseStatus, to: CaseStatus) -> ServiceError {
    ServiceError::Invalid(Invalid::new(
        "status",
        "invalid_transition",
        format!("status: a {} case cannot become {}", from.code(), to.code()),
    ))
}

async fn change_status(
    conn: &mut AnyConnection,
    qa_percent: u8,
    c: &mut Case,
    actor: &str,
    to: CaseStatus,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let from = c.status;
    c.set_status(to, now_ms);
    let data = json!({"from": from.code(), "to": to.code()});
    conn.cases().add_timeline(&entry(&c.id, actor, "status", data, true, now_ms)).await?;
    if to == CaseStatus::Resolved {
        if let Some(staff) = actor.strip_prefix("staff:") {
            c.decided_by = Some(staff.to_string());
        }
        outbox::enqueue(conn, "case.resolved", &case_json(c), now_ms).await?;
        crate::quality::maybe_sample(conn, c, qa_percent, now_ms).await?;
    }
    Ok(())
}

/// Tells the holder by email when the case starts waiting for them or is resolved (a public
/// reply sent at the same time already carries the news).
async fn mail_status(conn: &mut AnyConnection, c: &Case, now_ms: i64) -> Result<(), ServiceError> {
    if matches!(c.status, CaseStatus::PendingCustomer | CaseStatus::Resolved) {
        crate::case_mail::schedule(conn, c, "status", None, now_ms).await?;
    }
    Ok(())
}

/// Staff set the status by hand.
pub async fn set_status(
    db: &Db,
    desk: &Desk,
    staff: &CaseActor,
    case_id: &str,
    to: &str,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let CaseActor::Staff { role, .. } = staff else { return Err(refused_role()) };
    if !may_work_cases(*role) {
        return Err(refused_role());
    }
    let to = CaseStatus::parse(to).ok_or_else(|| {
        let all: Vec<_> = CaseStatus::ALL.iter().map(|s| s.code()).collect();
        Invalid::new("status", "invalid_status", format!("status: one of {}", all.join(", ")))
    })?;
    let actor = staff.label();
    let qa_percent = desk.qa_percent;
    let (case, ()) = change_case(db, desk, case_id, |conn, c| {
        let actor = actor.clone();
        Box::pin(async move {
            if !c.status.can_become(to) {
                return Err(bad_transition(c.status, to));
            }
            change_status(conn, qa_percent, c, &actor, to, now_ms).await?;
            mail_status(conn, c, now_ms).await
        })
    })
    .await?;
    Ok(case)
}

/// Assigns a case: to a named staff member (supervisors; agents only to themselves), or back to
/// routing (`to = None`).
pub async fn assign(
    db: &Db,
    desk: &Desk,
    staff: &CaseActor,
    case_id: &str,
    to: Option<&str>,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let CaseActor::Staff { id: me, role, name } = staff else { return Err(refused_role()) };
    if !may_work_cases(*role) {
        return Err(refused_role());
    }
    if let Some(target) = to
        && target != me
        && *role != Role::Supervisor
    {
        return Err(ServiceError::Refused {
            code: "forbidden",
            message: "only supervisors assign cases to others; take it yourself or send it back to routing".into(),
        });
    }
    let to = to.map(str::to_string);
    let actor = staff.label();
    let name = name.clone();
    let (case, ()) = change_case(db, desk, case_id, |conn, c| {
        let (to, actor, name) = (to.clone(), actor.clone(), name.clone());
        Box::pin(async move {
            if !c.status.is_active() {
                return Err(ServiceError::Refused {
                    code: "case_closed",
                    message: "the case is resolved or closed".into(),
                });
            }
            match to {
                Some(target) => {
                    let member = conn.staff().by_id(&target).await?.filter(|s| s.active);
                    let member = member.ok_or_else(|| {
                        Invalid::new("assignee", "unknown_staff", "assignee: no such active staff member")
                    })?;
                    if !matches!(member.role, Role::AgentT1 | Role::AgentT2 | Role::Supervisor) {
                        return Err(Invalid::new(
                            "assignee",
                            "not_an_agent",
                            "assignee: only agents and supervisors work cases",
                        )
                        .into());
                    }
                    c.assignee_id = Some(target.clone());
                    c.routing = Some(Note::ByHand { by: name });
                    conn.cases().mark_assigned(&target, now_ms).await?;
                }
                None => {
                    let exclude = c.assignee_id.iter().cloned().collect();
                    let routed = route_in(conn, c, exclude).await?;
                    apply_routing(c, &routed);
                    if let Routed::Agent { id, .. } = &routed {
                        conn.cases().mark_assigned(id, now_ms).await?;
                    }
                }
            }
            let data = json!({"assignee": c.assignee_id, "routing": c.routing});
            conn.cases().add_timeline(&entry(&c.id, &actor, "assigned", data, false, now_ms)).await?;
            c.updated_at_ms = now_ms;
            Ok(())
        })
    })
    .await?;
    Ok(case)
}

/// A supervisor gives a VIP account its dedicated agent (routing prefers them when online), or
/// takes it away (`None`).
pub async fn set_dedicated_agent(
    db: &Db,
    by: &CaseActor,
    account_id: &str,
    agent_id: Option<&str>,
) -> Result<(), ServiceError> {
    let CaseActor::Staff { role: Role::Supervisor, .. } = by else {
        return Err(ServiceError::Refused {
            code: "forbidden",
            message: "only supervisors choose dedicated agents".into(),
        });
    };
    let mut conn = db.conn().await?;
    if let Some(id) = agent_id {
        let member = conn.staff().by_id(id).await?.filter(|s| s.active);
        if !member.is_some_and(|m| matches!(m.role, Role::AgentT1 | Role::AgentT2 | Role::Supervisor)) {
            return Err(Invalid::new("agent", "not_an_agent", "agent: an active agent or supervisor").into());
        }
    }
    if !conn.cases().set_dedicated_agent(account_id, agent_id).await? {
        return Err(ServiceError::NotFound("account"));
    }
    tracing::info!(account = account_id, agent = ?agent_id, by = %by.label(), "dedicated agent set");
    Ok(())
}

/// An agent goes online or away; coming online offers them the unassigned cases.
pub async fn set_online(
    db: &Db,
    desk: &Desk,
    staff_id: &str,
    online: bool,
    now_ms: i64,
) -> Result<usize, ServiceError> {
    {
        let mut conn = db.conn().await?;
        conn.cases().set_online(staff_id, online, now_ms).await?;
    }
    if online { offer_unassigned(db, desk, now_ms).await } else { Ok(0) }
}

/// Routes unassigned active cases again, oldest first; returns how many found an agent.
pub async fn offer_unassigned(db: &Db, desk: &Desk, now_ms: i64) -> Result<usize, ServiceError> {
    let waiting = {
        let mut conn = db.conn().await?;
        conn.cases().queue(&thaw_store::Queue::Unassigned, 200).await?
    };
    let mut placed = 0;
    for waiting_case in waiting {
        let (case, ()) = change_case(db, desk, &waiting_case.id, |conn, c| {
            Box::pin(async move {
                if c.assignee_id.is_some() || !c.status.is_active() {
                    return Ok(());
                }
                let routed = route_in(conn, c, vec![]).await?;
                if let Routed::Agent { id, .. } = &routed {
                    apply_routing(c, &routed);
                    conn.cases().mark_assigned(id, now_ms).await?;
                    let data = json!({"assignee": c.assignee_id, "routing": c.routing});
                    conn.cases().add_timeline(&entry(&c.id, "thaw", "assigned", data, false, now_ms)).await?;
                }
                Ok(())
            })
        })
        .await?;
        if case.assignee_id.is_some() {
            placed += 1;
        }
    }
    Ok(placed)
}

/// One pass of the SLA clock over active cases: a target at 80 % is reported once, a breached
/// target once, each with its escalations. Returns (warnings, breaches).
pub async fn sla_sweep(db: &Db, desk: &Desk, now_ms: i64) -> Result<(usize, usize), ServiceError> {
    let cases = {
        let mut conn = db.conn().await?;
        conn.cases().with_running_clock(1000).await?
    };
    let (mut warnings, mut breaches) = (0, 0);
    for (c, _) in cases {
        let policy: SlaPolicy = desk.policy(&c).clone();
        let due: Vec<(Target, Standing)> = desk
            .standings(&c, now_ms)
            .into_iter()
            .filter(|(t, _, s)| match s {
                Standing::Breached => !c.breached.contains(t),
                Standing::AtRisk => !c.warned.contains(t),
                Standing::OnTrack => false,
            })
            .map(|(t, _, s)| (t, s))
            .collect();
        if due.is_empty() {
            continue;
        }
        let (_, (w, b)) = change_case(db, desk, &c.id, |conn, c| {
            let (due, policy) = (due.clone(), policy.clone());
            Box::pin(async move {
                let (mut w, mut b) = (0, 0);
                for (target, standing) in due {
                    let (kind, escalations) = match standing {
                        Standing::Breached if !c.breached.contains(&target) => {
                            c.breached.push(target);
                            if !c.warned.contains(&target) {
                                c.warned.push(target);
                            }
                            b += 1;
                            ("sla_breached", &policy.on_breach)
                        }
                        Standing::AtRisk if !c.warned.contains(&target) => {
                            c.warned.push(target);
                            w += 1;
                            ("sla_warning", &policy.on_warning)
                        }
                        _ => continue,
                    };
                    escalate(conn, c, target, kind, escalations, now_ms).await?;
                }
                Ok((w, b))
            })
        })
        .await?;
        warnings += w;
        breaches += b;
    }
    Ok((warnings, breaches))
}

async fn escalate(
    conn: &mut AnyConnection,
    c: &mut Case,
    target: Target,
    kind: &str,
    escalations: &[Escalation],
    now_ms: i64,
) -> Result<(), ServiceError> {
    let mut done = vec![];
    for e in escalations {
        match e {
            Escalation::Notify => {
                let data = json!({"case": case_json(c), "target": target.code()});
                outbox::enqueue(conn, &format!("case.{kind}"), &data, now_ms).await?;
            }
            Escalation::RaisePriority => {
                let raised = c.priority.raised();
                if raised == c.priority {
                    continue;
                }
                c.priority = raised;
            }
            Escalation::MoveToTier2 | Escalation::MoveToSupervisor => {
                if c.tier >= 2 && *e == Escalation::MoveToTier2 {
                    continue;
                }
                c.tier = 2;
                let exclude = c.assignee_id.iter().filter(|_| *e == Escalation::MoveToSupervisor).cloned().collect();
                let routed = route_in(conn, c, exclude).await?;
                // An escalation never leaves a case with nobody: it stays where it is if no one
                // at tier 2 can take it now.
                if let Routed::Agent { id, .. } = &routed {
                    apply_routing(c, &routed);
                    conn.cases().mark_assigned(id, now_ms).await?;
                }
            }
        }
        done.push(e.code());
    }
    let data = json!({"target": target.code(), "escalations": done, "priority": c.priority.code(), "tier": c.tier, "assignee": c.assignee_id});
    conn.cases().add_timeline(&entry(&c.id, "thaw", kind, data, false, now_ms)).await?;
    Ok(())
}

/// Opens the cases recorded for the desk (self-freezes) and one case per hold that only staff
/// may lift. Returns how many were opened. Safe to run in several processes at once.
pub async fn open_automatic(db: &Db, desk: &Desk, now_ms: i64) -> Result<usize, ServiceError> {
    let mut opened = 0;
    let (pending, holds) = {
        let mut conn = db.conn().await?;
        (conn.cases().pending(100).await?, conn.cases().holds_without_case(100).await?)
    };
    for (pending_id, account_id, category, context, _) in pending {
        let mut tx = db.begin_write().await?;
        // Another process's round is opening this one: leave it to it.
        if !tx.cases().claim_opening(&pending_id, false).await? {
            continue;
        }
        let context: Value = serde_json::from_str(&context).unwrap_or(Value::Null);
        let locale = account_locale(&mut tx, &account_id).await?;
        let category = CaseCategory::parse(&category).unwrap_or(CaseCategory::AccountTheft);
        let (subject, body) = self_freeze_text(locale, &context);
        let mut req = OpenCase::new(&account_id, category, &subject, &body, Channel::Automatic);
        req.hold_id = context["hold"]["id"].as_str().map(str::to_string);
        req.intake = self_freeze_intake(category, &context);
        // Another process may have opened it meanwhile: its case holds the hold, or the record is
        // marked; either way this transaction is dropped, so nothing is opened twice.
        let case = match open_in(&mut tx, desk, req, &CaseActor::System, now_ms).await {
            Err(ServiceError::Conflict { .. }) => continue,
            other => other?,
        };
        let security = json!({"security_context": context});
        tx.cases().add_timeline(&entry(&case.id, "thaw", "security_context", security, false, now_ms)).await?;
        if !tx.cases().mark_pending_opened(&pending_id, &case.id).await? {
            continue;
        }
        tx.commit().await.map_err(StoreError::from)?;
        opened += 1;
    }
    for (hold_id, account_id) in holds {
        match open_hold_case(db, desk, &account_id, &hold_id, now_ms, false).await {
            Ok((_, true)) => opened += 1,
            Ok(_) | Err(ServiceError::NotFound(_)) | Err(ServiceError::Conflict { code: "being_opened", .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(opened)
}

/// The case about a hold that only staff may lift: the existing one, or a new one (asset_freeze,
/// the hold attached; compliance holds at tier 2 with their reason kept from the holder).
/// Returns the case and whether it was opened now.
pub async fn open_for_hold(
    db: &Db,
    desk: &Desk,
    account_id: &str,
    hold_id: &str,
    now_ms: i64,
) -> Result<(Case, bool), ServiceError> {
    open_hold_case(db, desk, account_id, hold_id, now_ms, true).await
}

/// [`open_for_hold`]; when another transaction is opening the hold's case, waits for it and
/// answers with its case (`wait`), or refuses with the conflict `being_opened`.
async fn open_hold_case(
    db: &Db,
    desk: &Desk,
    account_id: &str,
    hold_id: &str,
    now_ms: i64,
    wait: bool,
) -> Result<(Case, bool), ServiceError> {
    let mut tx = db.begin_write().await?;
    if !tx.cases().claim_opening(hold_id, wait).await? {
        return Err(ServiceError::Conflict {
            code: "being_opened",
            message: "the hold's case is being opened by another process".into(),
        });
    }
    let hold =
        tx.holds().get(hold_id).await?.filter(|h| h.account_id == account_id).ok_or(ServiceError::NotFound("hold"))?;
    if let Some(existing) = tx.cases().by_hold(hold_id).await? {
        return Ok((existing, false));
    }
    if !hold.in_force(now_ms) || !matches!(hold.release, ReleasePolicy::Agent | ReleasePolicy::ComplianceOnly) {
        return Err(ServiceError::Refused {
            code: "not_staff_hold",
            message: "this hold is not one that only staff may lift".into(),
        });
    }
    let locale = account_locale(&mut tx, account_id).await?;
    let (subject, body) = hold_case_text(locale, &hold);
    let mut req = OpenCase::new(account_id, CaseCategory::AssetFreeze, &subject, &body, Channel::Automatic);
    req.hold_id = Some(hold.id.clone());
    req.intake = hold_intake(&hold);
    // Compliance holds are worked at tier 2; their reason stays off the holder's side.
    req.tier = if hold.release == ReleasePolicy::ComplianceOnly { 2 } else { 1 };
    match open_in(&mut tx, desk, req, &CaseActor::System, now_ms).await {
        Ok(case) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok((case, true))
        }
        // Another process opened it a moment ago.
        Err(ServiceError::Conflict { .. }) => {
            drop(tx);
            let mut conn = db.conn().await?;
            let case = conn.cases().by_hold(hold_id).await?.ok_or(ServiceError::NotFound("case"))?;
            Ok((case, false))
        }
        Err(e) => Err(e),
    }
}

async fn account_locale(conn: &mut AnyConnection, account_id: &str) -> Result<Locale, ServiceError> {
    let id = AccountId::parse("account_id", account_id)?;
    Ok(conn.accounts().get(&id).await?.map(|a| a.locale).unwrap_or_default())
}

/// The asset_freeze answers a hold gives: what is restricted, since when, which hold.
fn hold_intake(hold: &Hold) -> BTreeMap<String, String> {
    let scopes = hold.scopes.scopes();
    let scope = if scopes.len() == 1 { scopes[0].code().to_string() } else { "all".into() };
    BTreeMap::from([
        ("scope".to_string(), scope),
        ("since".to_string(), rfc3339(hold.created_at_ms)),
        ("hold_reference".to_string(), hold.id.chars().take(40).collect()),
    ])
}

fn self_freeze_text(locale: Locale, context: &Value) -> (String, String) {
    let ip = context["ip"].as_str().unwrap_or("?");
    let via = context["via"].as_str().unwrap_or("portal");
    match locale {
        Locale::ZhCn => (
            "您已冻结自己的账户".into(),
            format!("账户持有人已自助冻结账户（方式：{via}，IP {ip}）。安全团队会核查近期的登录和资金操作，并联系您。"),
        ),
        Locale::En => (
            "You froze your account".into(),
            format!(
                "The account holder froze the account themselves (via {via}, IP {ip}). The security team reviews recent sign-ins and money movements and will contact you."
            ),
        ),
    }
}

fn self_freeze_intake(category: CaseCategory, context: &Value) -> BTreeMap<String, String> {
    if category != CaseCategory::AccountTheft {
        return BTreeMap::new();
    }
    let noticed = context["requested_at"].as_str().unwrap_or_default().to_string();
    BTreeMap::from([
        ("noticed_at".to_string(), noticed),
        ("unauthorised_transactions".to_string(), "(to be confirmed with the holder)".to_string()),
    ])
}

fn hold_case_text(locale: Locale, hold: &Hold) -> (String, String) {
    let reference: String = hold.id.chars().take(8).collect();
    if hold.confidential || hold.origin == HoldOrigin::Compliance {
        return match locale {
            Locale::ZhCn => (
                format!("账户限制审核（{reference}）"),
                "您的账户正在接受合规审核。我们会在此工单中通知您进展。".into(),
            ),
            Locale::En => (
                format!("Review of a restriction ({reference})"),
                "A compliance review of your account is under way. We will tell you here how it progresses.".into(),
            ),
        };
    }
    let explanation = match locale {
        Locale::ZhCn => hold.reason.explanation.zh_cn.clone(),
        Locale::En => hold.reason.explanation.en.clone(),
    };
    match locale {
        Locale::ZhCn => (
            format!("账户限制需人工审核（{reference}）"),
            format!("{explanation}。此限制需要客服审核后才能解除，我们已为您创建工单。"),
        ),
        Locale::En => (
            format!("A restriction needs a review by our team ({reference})"),
            format!("{explanation}. Only our team can lift this restriction, so we opened this case for you."),
        ),
    }
}

/// Lifts a hold from a case, if the staff member's authority allows it; the case's timeline
/// records it (internal) in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn release_hold(
    db: &Db,
    risk: &crate::risk::RiskRuntime,
    case: &Case,
    hold_id: &str,
    actor: &thaw_domain::risk::Actor,
    staff: &CaseActor,
    note: &str,
    now_ms: i64,
) -> Result<Hold, ServiceError> {
    let mut tx = db.begin_write().await?;
    let released = release_hold_in(&mut tx, risk, case, hold_id, actor, staff, note, now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(released)
}

/// [`release_hold`] inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn release_hold_in(
    conn: &mut AnyConnection,
    risk: &crate::risk::RiskRuntime,
    case: &Case,
    hold_id: &str,
    actor: &thaw_domain::risk::Actor,
    staff: &CaseActor,
    note: &str,
    now_ms: i64,
) -> Result<Hold, ServiceError> {
    let engine = risk.engine();
    let hold = conn
        .holds()
        .get(hold_id)
        .await?
        .filter(|h| h.account_id == case.account_id)
        .ok_or(ServiceError::NotFound("hold"))?;
    crate::holds::check_release_in(conn, &hold, actor, &engine.policy.authority, now_ms).await?;
    let released = crate::holds::release_in(conn, &hold, &staff.label(), note, now_ms).await?;
    let data = json!({"hold": hold.id, "reason": hold.reason.code});
    conn.cases().add_timeline(&entry(&case.id, &staff.label(), "hold_released", data, false, now_ms)).await?;
    conn.cases().changed(&case.id, &case.account_id, now_ms).await?;
    Ok(released)
}

/// What an agent sees beside the conversation: everything thaw already knows.
#[derive(Debug, Clone)]
pub struct CustomerPanel {
    pub account: Option<thaw_domain::Account>,
    pub holds: Vec<Hold>,
    /// Sign-ins of the last 7 days: (time, ip, place, device).
    pub sign_ins: Vec<ActivityLine>,
    /// Deposits, withdrawals and trades of the last 7 days.
    pub money: Vec<ActivityLine>,
    /// Decisions that were not "allow": reason codes.
    pub flags: Vec<ActivityLine>,
    pub previous_cases: Vec<Case>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityLine {
    pub at_ms: i64,
    pub kind: String,
    pub summary: String,
}

/// The customer panel of a case.
pub async fn customer_panel(db: &Db, case: &Case, now_ms: i64) -> Result<CustomerPanel, ServiceError> {
    let mut conn = db.conn().await?;
    let account = conn.accounts().get(&AccountId::parse("account_id", &case.account_id)?).await?;
    let holds = conn.holds().in_force(&case.account_id, now_ms).await?;
    let activity = conn.cases().recent_activity(&case.account_id, now_ms - CONTEXT_WINDOW_MS, 300).await?;
    let (mut sign_ins, mut money, mut flags) = (vec![], vec![], vec![]);
    for (_, _, event_body, decision_body) in activity {
        let e: Value = serde_json::from_str(&event_body).unwrap_or(Value::Null);
        let d: Value = serde_json::from_str(&decision_body).unwrap_or(Value::Null);
        let kind = e["kind"].as_str().unwrap_or("").to_string();
        let at_ms =
            e["occurred_at"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or(0, |t| t.as_millisecond());
        let place = [e["geo"]["city"].as_str(), e["geo"]["country"].as_str()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        match kind.as_str() {
            "login_succeeded" | "login_failed" => sign_ins.push(ActivityLine {
                at_ms,
                kind: kind.clone(),
                summary: format!(
                    "{} · {} · {}",
                    e["ip"].as_str().unwrap_or("-"),
                    if place.is_empty() { "-" } else { &place },
                    e["device_id"].as_str().unwrap_or("-")
                ),
            }),
            "deposit" | "withdrawal_requested" | "trade" | "p2p_order" => {
                let amount = format!(
                    "{} {}",
                    e["money"]["amount"].as_str().unwrap_or(""),
                    e["money"]["asset"].as_str().unwrap_or("")
                );
                let to = e["address"].as_str().map(|a| format!(" → {a}")).unwrap_or_default();
                money.push(ActivityLine { at_ms, kind: kind.clone(), summary: format!("{}{to}", amount.trim()) })
            }
            _ => {}
        }
        let action = d["action"].as_str().unwrap_or("allow");
        if action != "allow" {
            let codes: Vec<&str> =
                d["reasons"].as_array().into_iter().flatten().filter_map(|r| r["code"].as_str()).collect();
            flags.push(ActivityLine {
                at_ms,
                kind: action.to_string(),
                summary: format!("{kind}: {}", codes.join(", ")),
            });
        }
    }
    let previous_cases =
        conn.cases().of_account(&case.account_id, 20).await?.into_iter().filter(|c| c.id != case.id).collect();
    Ok(CustomerPanel { account, holds, sign_ins, money, flags, previous_cases })
}
