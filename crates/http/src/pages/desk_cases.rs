//! The desk's case pages: queues (mine, team, unassigned, at risk, breached) with presence,
//! the case view (conversation and internal notes, the customer panel with everything thaw
//! already knows, SLA standing and routing), and its actions: reply, note, status, take,
//! re-route, assign (supervisors), lift a hold within authority, open a case for an account.

use super::desk::ReleaseForm;
use super::desk_tools::{ApprovalView, approval_view, name_of};
use super::portal_cases::{AttachmentLine, FieldView, attachment_line, field_views, intake_lines, serve_attachment};
use super::{PageError, Shell, render};
use crate::AppState;
use crate::auth::{PageCtx, StaffCtx, url_encode};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::{BTreeMap, HashMap};
use thaw_domain::case::sla::{Standing, Target};
use thaw_domain::case::{Case, CaseStatus, Channel, Priority, parse_case_ref};
use thaw_domain::{CaseCategory, Locale, Permission, Role, StaffMember};
use thaw_services::approvals::{self, Outcome};
use thaw_services::cases::{self, CaseActor, OpenCase, StaffMessage};
use thaw_services::{ServiceError, now_ms};
use thaw_services::{evidence, macros};
use thaw_store::{Capabilities, Queue, QueueCursor, QueueFilter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/desk/cases", get(queues).post(open))
        .route("/desk/cases/new", get(new_case))
        .route("/desk/presence", post(presence))
        .route("/desk/cases/{number}", get(view))
        .route("/desk/cases/{number}/message", post(message))
        .route("/desk/cases/{number}/status", post(status))
        .route("/desk/cases/{number}/assign", post(assign))
        .route("/desk/cases/{number}/holds/{id}/release", post(release_hold))
        .route("/desk/cases/{number}/compensate", post(compensate))
        .route("/desk/cases/{number}/link", post(link))
        .route("/desk/cases/{number}/unlink", post(unlink))
        .route("/desk/cases/{number}/merge", post(merge))
        .route("/desk/cases/{number}/category", post(category))
        .route("/desk/cases/{number}/attachments/{id}", get(attachment))
        .route("/desk/live", get(live))
}

pub(super) fn store_err(ctx: &PageCtx) -> impl Fn(thaw_store::StoreError) -> PageError + '_ {
    move |e| PageError::from_service(ctx, e.into())
}

pub(super) fn actor_of(s: &StaffMember) -> CaseActor {
    CaseActor::Staff { id: s.id.clone(), role: s.role, name: s.display_name.clone() }
}

/// A case in a desk queue.
pub struct QueueRow {
    pub number: String,
    pub subject: String,
    pub category: &'static str,
    pub priority: &'static str,
    pub priority_code: &'static str,
    pub status: &'static str,
    pub status_code: &'static str,
    pub assignee: String,
    pub language: &'static str,
    pub due: String,
    /// on_track | at_risk | breached | paused
    pub standing: &'static str,
}

/// The case's worst standing (on_track | at_risk | breached | paused | none) and its earliest
/// running deadline, from the desk's standings of its targets.
fn standing_code(c: &Case, standings: &[(Target, Option<i64>, Standing)]) -> (&'static str, Option<i64>) {
    let worst = standings.iter().map(|(_, _, s)| *s).max_by_key(|s| match s {
        Standing::OnTrack => 0,
        Standing::AtRisk => 1,
        Standing::Breached => 2,
    });
    let due = standings.iter().filter_map(|(_, d, _)| *d).min();
    let code = match worst {
        _ if !c.breached.is_empty() && c.status.is_active() => "breached",
        Some(Standing::Breached) => "breached",
        Some(Standing::AtRisk) => "at_risk",
        Some(Standing::OnTrack) if due.is_none() => "paused",
        Some(Standing::OnTrack) => "on_track",
        None => "none",
    };
    (code, due)
}

fn queue_row(state: &AppState, c: &Case, staff: &[StaffMember], l: Locale, now: i64) -> QueueRow {
    let (standing, due) = standing_code(c, &state.desk.standings(c, now));
    QueueRow {
        number: c.reference(),
        subject: c.subject.clone(),
        category: c.category.label(l),
        priority: c.priority.label(l),
        priority_code: c.priority.code(),
        status: c.status.label(l),
        status_code: c.status.code(),
        assignee: name_of(staff, c.assignee_id.as_deref()),
        language: c.language.code(),
        due: due.map(Shell::time).unwrap_or_default(),
        standing,
    }
}

/// (code, label, chosen) of one value a queue filter offers, code "" meaning all.
type FilterOption = (&'static str, &'static str, bool);

#[derive(Template)]
#[template(path = "desk/cases.html")]
struct QueuePage {
    shell: Shell,
    queue: &'static str,
    queues: Vec<(&'static str, &'static str)>,
    rows: Vec<QueueRow>,
    online: bool,
    /// (name, label, options) of each filter.
    filters: Vec<(&'static str, &'static str, Vec<FilterOption>)>,
    /// The address of the next page, when there is one.
    next: Option<String>,
    /// The address of the first page, when this is a later one.
    first: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct QueueQuery {
    queue: Option<String>,
    category: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    language: Option<String>,
    /// Where the page starts (from the previous page's "next" link).
    after: Option<String>,
}

const QUEUES: [&str; 5] = ["mine", "team", "unassigned", "at_risk", "breached"];
/// Cases on one page of a queue.
const QUEUE_PAGE: i64 = 50;

/// The filter of a queue page from its address; an unknown value is a bad request naming its
/// parameter.
fn queue_filter(q: &QueueQuery) -> Result<QueueFilter, &'static str> {
    fn one<T>(
        name: &'static str,
        v: &Option<String>,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, &'static str> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(x) => parse(x).map(Some).ok_or(name),
        }
    }
    Ok(QueueFilter {
        category: one("category", &q.category, CaseCategory::parse)?,
        status: one("status", &q.status, |s| CaseStatus::parse(s).filter(|s| s.is_active()))?,
        priority: one("priority", &q.priority, Priority::parse)?,
        language: one("language", &q.language, Locale::parse_canonical)?,
    })
}

async fn queues(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadCases)?;
    let l = ctx.locale;
    let bad =
        |field: &str| PageError::new(&ctx, StatusCode::BAD_REQUEST, "error.bad_request").with_field(Some(field.into()));
    let queue = QUEUES.into_iter().find(|x| Some(*x) == q.queue.as_deref()).unwrap_or("mine");
    let filter = queue_filter(&q).map_err(bad)?;
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(QueueCursor::parse(a).ok_or_else(|| bad("after"))?),
    };
    let now = now_ms();
    let which = match queue {
        "team" => Queue::Team,
        "unassigned" => Queue::Unassigned,
        "at_risk" => Queue::AtRisk(now),
        "breached" => Queue::Breached(now),
        _ => Queue::Mine(session.staff.id.clone()),
    };
    let mut conn = state.db.conn().await.map_err(store_err(&ctx))?;
    let (list, next) = conn.cases().queue_page(&which, &filter, after, QUEUE_PAGE).await.map_err(store_err(&ctx))?;
    let staff = conn.staff().list().await.map_err(store_err(&ctx))?;
    let online = conn.cases().is_online(&session.staff.id).await.map_err(store_err(&ctx))?;
    drop(conn);
    // The address of this queue and filter, for the pages' links.
    let mut base = format!("/desk/cases?queue={queue}");
    let chosen = filter.chosen();
    for (name, value) in chosen {
        if let Some(v) = value {
            base.push_str(&format!("&{name}={}", url_encode(v)));
        }
    }
    let options = |all: Vec<(&'static str, &'static str)>, current: Option<&'static str>| {
        let mut v = vec![("", crate::i18n::text(l, "desk.filter.all"), current.is_none())];
        v.extend(all.into_iter().map(|(code, label)| (code, label, current == Some(code))));
        v
    };
    let filters = vec![
        (
            "category",
            crate::i18n::text(l, "case.category"),
            options(CaseCategory::ALL.iter().map(|c| (c.code(), c.label(l))).collect(), chosen[0].1),
        ),
        (
            "status",
            crate::i18n::text(l, "case.status"),
            options(
                CaseStatus::ALL.iter().filter(|s| s.is_active()).map(|s| (s.code(), s.label(l))).collect(),
                chosen[1].1,
            ),
        ),
        (
            "priority",
            crate::i18n::text(l, "desk.case.priority"),
            options(Priority::ALL.iter().map(|p| (p.code(), p.label(l))).collect(), chosen[2].1),
        ),
        (
            "language",
            crate::i18n::text(l, "desk.case.language"),
            options(Locale::ALL.iter().map(|x| (x.code(), x.code())).collect(), chosen[3].1),
        ),
    ];
    let page = QueuePage {
        queue,
        queues: QUEUES.iter().map(|x| (*x, crate::i18n::lookup(l, &format!("desk.queue.{x}")).unwrap_or(x))).collect(),
        rows: list.iter().map(|c| queue_row(&state, c, &staff, l, now)).collect(),
        online,
        filters,
        next: next.map(|c| format!("{base}&after={}", c.code())),
        first: after.map(|_| base.clone()),
        shell: Shell::new(&ctx, "desk", "cases"),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(serde::Deserialize)]
struct PresenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    online: String,
}

async fn presence(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(form): Form<PresenceForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::WorkCases)?;
    ctx.check_csrf(&form.csrf)?;
    let online = form.online == "1";
    cases::set_online(&state.db, &state.desk, &session.staff.id, online, now_ms())
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?;
    Ok(Redirect::to("/desk/cases?queue=mine").into_response())
}

/// One line of the case view's conversation and timeline.
pub struct Line {
    pub at: String,
    /// message | note | event
    pub kind: &'static str,
    pub author: String,
    pub body: String,
}

pub struct HoldLine {
    pub id: String,
    pub scopes: String,
    pub code: String,
    pub explanation: String,
    pub release: &'static str,
    pub created: String,
}

pub struct Activity {
    pub at: String,
    pub kind: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "desk/case.html")]
struct CasePage {
    shell: Shell,
    number: String,
    subject: String,
    category: &'static str,
    priority: &'static str,
    priority_code: &'static str,
    status: &'static str,
    status_code: &'static str,
    language: &'static str,
    channel: &'static str,
    tier: u8,
    assignee: String,
    routing: String,
    standing: &'static str,
    deadlines: Vec<(&'static str, String, &'static str)>,
    intake: Vec<(&'static str, String)>,
    lines: Vec<Line>,
    account_id: String,
    kyc: String,
    vip: String,
    account_locale: String,
    holds: Vec<HoldLine>,
    sign_ins: Vec<Activity>,
    money: Vec<Activity>,
    flags: Vec<Activity>,
    previous: Vec<(String, String, &'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    staff_options: Vec<(String, String)>,
    can_work: bool,
    can_assign_others: bool,
    can_release: bool,
    approvals: Vec<ApprovalView>,
    compensations: Vec<(String, String, String, String)>,
    case_id: String,
    attachments: Vec<AttachmentLine>,
    rating: Option<(i64, String)>,
    appeal_of: String,
    /// (code, title) of the macros for this case's category.
    macros: Vec<(String, String)>,
    chosen_macro: String,
    /// The reply box's text: a macro filled from the case, or empty.
    draft: String,
    /// Cases tied to this one, and how.
    related: Vec<RelatedLine>,
    /// (code, label, current) of every category, for correcting the case's.
    categories: Vec<(&'static str, &'static str, bool)>,
    /// (slug, title, snippet HTML) of the articles that best fit the case.
    suggested: Vec<(String, String, String)>,
    /// The case this one was merged into.
    merged_into: Option<String>,
    notice: Option<&'static str>,
    refused: Option<String>,
    active: bool,
}

pub struct RelatedLine {
    pub relation: &'static str,
    pub label: &'static str,
    pub number: String,
    pub subject: String,
    pub status: &'static str,
    pub id: String,
}

#[derive(serde::Deserialize, Default)]
struct ViewQuery {
    notice: Option<String>,
    refused: Option<String>,
    /// A macro to fill into the reply box.
    #[serde(rename = "macro")]
    use_macro: Option<String>,
}

/// The case a desk form acts on, after the checks every such form needs (the role works cases,
/// the CSRF token), with the staff member as the actor.
async fn worked_case(
    state: &AppState,
    ctx: &PageCtx,
    session: &thaw_services::signin::StaffSession,
    number: &str,
    csrf: &str,
) -> Result<(Case, CaseActor), PageError> {
    ctx.require(Permission::WorkCases)?;
    ctx.check_csrf(csrf)?;
    let case = case_by_number(state, ctx, number).await?;
    Ok((case, actor_of(&session.staff)))
}

async fn case_by_number(state: &AppState, ctx: &PageCtx, number: &str) -> Result<Case, PageError> {
    let n = parse_case_ref(number).ok_or_else(|| PageError::new(ctx, StatusCode::NOT_FOUND, "error.not_found"))?;
    let mut conn = state.db.conn().await.map_err(store_err(ctx))?;
    conn.cases()
        .by_number(n)
        .await
        .map_err(store_err(ctx))?
        .map(|(c, _)| c)
        .ok_or_else(|| PageError::new(ctx, StatusCode::NOT_FOUND, "error.not_found"))
}

async fn view(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadCases)?;
    let l = ctx.locale;
    let now = now_ms();
    let case = case_by_number(&state, &ctx, &number).await?;
    // The page's parts are read at once, each on a connection of its own.
    let service_err = |e| PageError::from_service(&ctx, e);
    let conversation = async {
        let mut conn = state.db.conn().await?;
        let messages = conn.cases().messages(&case.id, true).await?;
        let timeline = conn.cases().timeline(&case.id, true).await?;
        Ok::<_, thaw_store::StoreError>((messages, timeline))
    };
    let records = async {
        let mut conn = state.db.conn().await?;
        let staff = conn.staff().list().await?;
        let approvals = conn.cases().approvals_of_case(&case.id).await?;
        let compensations = conn.cases().compensations(&case.id).await?;
        let attachments = conn.cases().attachments(&case.id).await?;
        let rating = conn.cases().rating(&case.id).await?;
        Ok::<_, thaw_store::StoreError>((staff, approvals, compensations, attachments, rating))
    };
    let (panel, conversation, records, related) = tokio::join!(
        cases::customer_panel(&state.db, &case, now),
        conversation,
        records,
        thaw_services::case_links::related(&state.db, &case.id)
    );
    let panel = panel.map_err(service_err)?;
    let (messages, timeline) = conversation.map_err(store_err(&ctx))?;
    let (staff, approvals, compensations, attachments, rating) = records.map_err(store_err(&ctx))?;
    let related = related
        .map_err(service_err)?
        .into_iter()
        .map(|r| {
            let relation =
                thaw_services::case_links::STRENGTH.iter().copied().find(|s| *s == r.relation).unwrap_or("linked");
            RelatedLine {
                relation,
                label: crate::i18n::lookup(l, &format!("desk.links.rel.{relation}")).unwrap_or(""),
                number: r.case.reference(),
                subject: r.case.subject.clone(),
                status: r.case.status.label(l),
                id: r.case.id.clone(),
            }
        })
        .collect::<Vec<_>>();
    let merged_into = related.iter().find(|r| r.relation == "merged_into").map(|r| r.number.clone());
    // The articles that fit what the holder wrote, in the case's language.
    let asked = messages.iter().find(|m| m.author_kind == "holder").map(|m| m.body.as_str()).unwrap_or("");
    let filter = thaw_text::search::Filter {
        kind: thaw_text::search::DocKind::Article,
        locale: Some(case.language.code().into()),
        internal: false,
    };
    let suggested = state
        .search
        .query(&format!("{} {asked}", case.subject), &filter, 3)
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?
        .into_iter()
        .filter_map(|h| {
            let (slug, _) = thaw_services::search::article_of(&h)?;
            Some((slug.to_string(), h.title.clone(), h.snippet_html.clone()))
        })
        .collect();
    // A drafted reply for the category (its first macro) unless the agent picked another; the
    // agent edits it before sending.
    let chosen_macro = q.use_macro.clone().unwrap_or_else(|| {
        if case.status.is_active() {
            macros::for_category(case.category).first().map(|m| m.code.clone()).unwrap_or_default()
        } else {
            String::new()
        }
    });
    let t = |k: &'static str| crate::i18n::text(l, k);
    let mut lines: Vec<(i64, Line)> = messages
        .iter()
        .map(|m| {
            let author = match m.author_kind.as_str() {
                "holder" => t("desk.case.holder").to_string(),
                "staff" => name_of(&staff, m.author_id.as_deref()),
                _ => t("case.author.system").to_string(),
            };
            let kind = if m.internal { "note" } else { "message" };
            (m.created_at_ms, Line { at: Shell::time(m.created_at_ms), kind, author, body: m.body.clone() })
        })
        .collect();
    for e in &timeline {
        let label = crate::i18n::lookup(l, &format!("desk.event.{}", e.kind)).unwrap_or("");
        let detail = match e.kind.as_str() {
            "status" | "reopened" => format!(
                "{} → {}",
                e.data["from"].as_str().and_then(CaseStatus::parse).map(|s| s.label(l)).unwrap_or(""),
                e.data["to"].as_str().and_then(CaseStatus::parse).map(|s| s.label(l)).unwrap_or("")
            ),
            "routed" | "assigned" => {
                let note = e.data.get("routing").unwrap_or(&e.data);
                let assignee = name_of(&staff, e.data["assignee"].as_str());
                let why = serde_json::from_value::<thaw_domain::case::routing::Note>(note.clone())
                    .map(|n| n.describe(l))
                    .unwrap_or_default();
                if assignee.is_empty() { why } else { format!("{assignee} ({why})") }
            }
            "sla_warning" | "sla_breached" => format!(
                "{} · {}",
                e.data["target"]
                    .as_str()
                    .map(|x| crate::i18n::lookup(l, &format!("desk.target.{x}")).unwrap_or(x))
                    .unwrap_or(""),
                e.data["escalations"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ),
            "category" => format!(
                "{} → {}",
                e.data["from"].as_str().and_then(CaseCategory::parse).map(|c| c.label(l)).unwrap_or(""),
                e.data["to"].as_str().and_then(CaseCategory::parse).map(|c| c.label(l)).unwrap_or("")
            ),
            "repeat_contact" | "followed_up" | "linked" | "unlinked" | "merged_into" | "merged_from" => {
                e.data["case"].as_str().unwrap_or("").to_string()
            }
            "hold_released" => e.data["hold"].as_str().unwrap_or("").to_string(),
            "approval_requested" => format!(
                "{} · {}",
                crate::i18n::lookup(l, &format!("desk.approval.kind.{}", e.data["kind"].as_str().unwrap_or("")))
                    .unwrap_or(""),
                e.data["reason"].as_str().unwrap_or("")
            ),
            "approval_decided" => format!(
                "{} · {}",
                crate::i18n::lookup(l, &format!("desk.approval.status.{}", e.data["status"].as_str().unwrap_or("")))
                    .unwrap_or(""),
                e.data["note"].as_str().unwrap_or("")
            ),
            "compensation" => {
                format!("{} {}", e.data["amount"].as_str().unwrap_or(""), e.data["asset"].as_str().unwrap_or(""))
            }
            "security_context" => format!(
                "IP {} · {}",
                e.data["security_context"]["ip"].as_str().unwrap_or("-"),
                e.data["security_context"]["user_agent"].as_str().unwrap_or("-")
            ),
            _ => String::new(),
        };
        lines
            .push((e.at_ms, Line { at: Shell::time(e.at_ms), kind: "event", author: label.to_string(), body: detail }));
    }
    lines.sort_by_key(|(at, _)| *at);
    let standings = state.desk.standings(&case, now);
    let (standing, _) = standing_code(&case, &standings);
    let deadlines = standings
        .into_iter()
        .map(|(target, due, s)| {
            let name = crate::i18n::lookup(l, &format!("desk.target.{}", target.code())).unwrap_or("");
            let s = match s {
                Standing::OnTrack => "on_track",
                Standing::AtRisk => "at_risk",
                Standing::Breached => "breached",
            };
            (name, due.map(Shell::time).unwrap_or_else(|| t("desk.case.paused").to_string()), s)
        })
        .collect();
    let account = panel.account.as_ref();
    let role = session.staff.role;
    let activity = |v: &[thaw_services::cases::ActivityLine]| {
        v.iter()
            .map(|a| Activity { at: Shell::time(a.at_ms), kind: a.kind.clone(), summary: a.summary.clone() })
            .collect()
    };
    let refused = q.refused.as_deref().map(|code| refused_text(l, code));
    let page = CasePage {
        number: case.reference(),
        subject: case.subject.clone(),
        category: case.category.label(l),
        priority: case.priority.label(l),
        priority_code: case.priority.code(),
        status: case.status.label(l),
        status_code: case.status.code(),
        language: case.language.code(),
        channel: case.channel.label(l),
        tier: case.tier,
        assignee: name_of(&staff, case.assignee_id.as_deref()),
        routing: case.routing.as_ref().map(|n| n.describe(l)).unwrap_or_default(),
        standing,
        deadlines,
        intake: intake_lines(&case, l),
        lines: lines.into_iter().map(|(_, x)| x).collect(),
        account_id: case.account_id.clone(),
        kyc: account.map(|a| a.kyc_level.to_string()).unwrap_or_default(),
        vip: account.map(|a| a.vip_level.to_string()).unwrap_or_default(),
        account_locale: account.map(|a| a.locale.code().to_string()).unwrap_or_default(),
        holds: panel
            .holds
            .iter()
            .map(|h| HoldLine {
                id: h.id.clone(),
                scopes: h.scopes.to_text(),
                code: h.reason.code.clone(),
                explanation: if l == Locale::ZhCn {
                    h.reason.explanation.zh_cn.clone()
                } else {
                    h.reason.explanation.en.clone()
                },
                release: crate::i18n::lookup(l, &format!("desk.release.{}", h.release.code())).unwrap_or(""),
                created: Shell::time(h.created_at_ms),
            })
            .collect(),
        sign_ins: activity(&panel.sign_ins),
        money: activity(&panel.money),
        flags: activity(&panel.flags),
        previous: panel
            .previous_cases
            .iter()
            .map(|c| (c.reference(), c.subject.clone(), c.status.label(l), c.category.label(l)))
            .collect(),
        statuses: CaseStatus::ALL
            .iter()
            .filter(|s| case.status.can_become(**s))
            .map(|s| (s.code(), s.label(l)))
            .collect(),
        staff_options: staff
            .iter()
            .filter(|s| s.active && matches!(s.role, Role::AgentT1 | Role::AgentT2 | Role::Supervisor))
            .map(|s| (s.id.clone(), format!("{} · {}", s.display_name, s.role.label(l))))
            .collect(),
        can_work: role.can(Permission::WorkCases),
        can_assign_others: role == Role::Supervisor,
        can_release: role.can(Permission::ReleaseHolds),
        approvals: approvals.iter().map(|a| approval_view(a, case.reference(), &staff, &session.staff, l)).collect(),
        compensations: compensations
            .iter()
            .map(|c| {
                let by = name_of(&staff, Some(&c.granted_by));
                let approved = name_of(&staff, c.approved_by.as_deref());
                let who =
                    if approved.is_empty() { by } else { format!("{by} · {} {approved}", t("desk.comp.approved_by")) };
                (format!("{} {}", c.amount, c.asset), c.reason.clone(), who, Shell::time(c.created_at_ms))
            })
            .collect(),
        case_id: case.id.clone(),
        attachments: attachments.iter().map(|a| attachment_line(a, evidence::staff_may_see(role, a))).collect(),
        rating: rating.map(|r| (r.score, r.comment)),
        appeal_of: case.appeal_of.clone().unwrap_or_default(),
        macros: macros::for_category(case.category)
            .into_iter()
            .map(|m| (m.code.clone(), m.title.get(l.code()).cloned().unwrap_or_default()))
            .collect(),
        chosen_macro: chosen_macro.clone(),
        draft: macros::all()
            .iter()
            .find(|m| m.code == chosen_macro)
            .map(|m| {
                let holder = account
                    .and_then(|a| a.email.as_ref())
                    .map(|e| e.as_str().split('@').next().unwrap_or("").to_string())
                    .unwrap_or_else(|| case.account_id.clone());
                macros::fill_for(&state.desk, m, &case, &holder, &session.staff.display_name, &panel.holds)
            })
            .unwrap_or_default(),
        notice: match q.notice.as_deref() {
            Some("sent") => Some("desk.case.sent"),
            Some("noted") => Some("desk.case.noted"),
            Some("status") => Some("desk.case.status_changed"),
            Some("assigned") => Some("desk.case.assigned"),
            Some("released") => Some("desk.case.released"),
            Some("opened") => Some("desk.case.opened"),
            Some("requested") => Some("desk.case.requested"),
            Some("compensated") => Some("desk.case.compensated"),
            Some("linked") => Some("desk.links.linked"),
            Some("unlinked") => Some("desk.links.unlinked"),
            Some("merged") => Some("desk.links.merged"),
            Some("category") => Some("desk.case.category_changed"),
            _ => None,
        },
        refused,
        related,
        merged_into,
        suggested,
        categories: CaseCategory::ALL.iter().map(|c| (c.code(), c.label(l), *c == case.category)).collect(),
        active: case.status.is_active(),
        shell: Shell::new(&ctx, "desk", "cases"),
    };
    Ok(render(StatusCode::OK, &page))
}

fn back(number: &str, query: &str) -> Response {
    Redirect::to(&format!("/desk/cases/{}?{query}", url_encode(number))).into_response()
}

fn refusal(ctx: &PageCtx, number: &str, e: ServiceError) -> Result<Response, PageError> {
    refused_to(ctx, &format!("/desk/cases/{}?", url_encode(number)), e)
}

/// A refused, conflicting or invalid action goes back to `page` (ending in `?` or `&`) with
/// `refused=<code>`, which the page shows in the staff member's language; anything else fails.
pub(super) fn refused_to(ctx: &PageCtx, page: &str, e: ServiceError) -> Result<Response, PageError> {
    let code = match e {
        ServiceError::Refused { code, .. } | ServiceError::Conflict { code, .. } => code,
        ServiceError::Invalid(i) => i.code,
        e => return Err(PageError::from_service(ctx, e)),
    };
    Ok(Redirect::to(&format!("{page}refused={code}")).into_response())
}

/// The text of a `refused=<code>` a desk page was sent back with.
pub(super) fn refused_text(l: Locale, code: &str) -> String {
    crate::i18n::lookup(l, &format!("desk.refused.{code}"))
        .unwrap_or_else(|| crate::i18n::text(l, "desk.refused.other"))
        .to_string()
}

#[derive(serde::Deserialize)]
struct MessageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    /// "reply" or "note" (which button was pressed).
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
}

async fn message(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<MessageForm>,
) -> Result<Response, PageError> {
    let (case, by) = worked_case(&state, &ctx, &session, &number, &form.csrf).await?;
    let internal = form.kind == "note";
    let status = CaseStatus::parse(&form.status).filter(|s| *s != case.status);
    let msg = StaffMessage { body: &form.body, internal, status };
    match cases::staff_message(&state.db, &state.desk, &by, &case.id, msg, now_ms()).await {
        Ok(_) => Ok(back(&number, if internal { "notice=noted" } else { "notice=sent" })),
        Err(e) => refusal(&ctx, &number, e),
    }
}

#[derive(serde::Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

async fn status(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let (case, by) = worked_case(&state, &ctx, &session, &number, &form.csrf).await?;
    match cases::set_status(&state.db, &state.desk, &by, &case.id, &form.status, now_ms()).await {
        Ok(_) => Ok(back(&number, "notice=status")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

#[derive(serde::Deserialize)]
struct CategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
}

/// Corrects the case's category (kept as training data for the triage model).
async fn category(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<CategoryForm>,
) -> Result<Response, PageError> {
    let (case, by) = worked_case(&state, &ctx, &session, &number, &form.csrf).await?;
    match thaw_services::triage::correct_category(&state.db, &state.desk, &by, &case.id, &form.category, now_ms()).await
    {
        Ok(_) => Ok(back(&number, "notice=category")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

#[derive(serde::Deserialize)]
struct AssignForm {
    #[serde(default)]
    csrf: String,
    /// "me", "route" or a staff id.
    #[serde(default)]
    to: String,
}

async fn assign(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::WorkCases)?;
    ctx.check_csrf(&form.csrf)?;
    let case = case_by_number(&state, &ctx, &number).await?;
    let to = match form.to.as_str() {
        "me" => Some(session.staff.id.as_str()),
        "route" | "" => None,
        id => Some(id),
    };
    match cases::assign(&state.db, &state.desk, &actor_of(&session.staff), &case.id, to, now_ms()).await {
        Ok(_) => Ok(back(&number, "notice=assigned")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

/// An attachment of a case; identity documents only for tier 2, supervisors and compliance.
async fn attachment(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path((number, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadCases)?;
    let case = case_by_number(&state, &ctx, &number).await?;
    let role = session.staff.role;
    serve_attachment(&state, &ctx, &case, &id, |a| evidence::staff_may_see(role, a)).await
}

/// Server-sent events of every case change, for the queues and the case view.
async fn live(State(state): State<AppState>, StaffCtx(ctx, _): StaffCtx) -> Result<Response, PageError> {
    ctx.require(Permission::ReadCases)?;
    Ok(state.live.stream(|_| true).into_response())
}

/// Lifts a hold from the case within the staff member's authority; beyond it, asks a supervisor.
async fn release_hold(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path((number, hold_id)): Path<(String, String)>,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReleaseHolds)?;
    ctx.check_csrf(&form.csrf)?;
    let case = case_by_number(&state, &ctx, &number).await?;
    let note = format!("{} {}", case.reference(), form.note.trim());
    let by = actor_of(&session.staff);
    match approvals::lift_hold(&state.db, &state.risk, &case, &hold_id, &by, note.trim(), now_ms()).await {
        Ok(Outcome::Done(_)) => Ok(back(&number, "notice=released")),
        Ok(Outcome::Requested(_)) => Ok(back(&number, "notice=requested")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

#[derive(serde::Deserialize)]
struct CompensateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    asset: String,
    #[serde(default)]
    reason: String,
}

/// Grants goodwill compensation within the member's limit; above it, asks a supervisor.
async fn compensate(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<CompensateForm>,
) -> Result<Response, PageError> {
    let (case, by) = worked_case(&state, &ctx, &session, &number, &form.csrf).await?;
    match approvals::compensate(&state.db, &case, &by, &form.amount, &form.asset, &form.reason, now_ms()).await {
        Ok(Outcome::Done(_)) => Ok(back(&number, "notice=compensated")),
        Ok(Outcome::Requested(_)) => Ok(back(&number, "notice=requested")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

#[derive(serde::Deserialize)]
struct LinkForm {
    #[serde(default)]
    csrf: String,
    /// The other case's number (link) or id (unlink).
    #[serde(default)]
    other: String,
}

async fn link(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    let (case, by) = worked_case(&state, &ctx, &session, &number, &form.csrf).await?;
    match thaw_services::case_links::link(&state.db, &by, &case.id, &form.other, now_ms()).await {
        Ok(_) => Ok(back(&number, "notice=linked")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

async fn unlink(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    let (case, by) = worked_case(&state, &ctx, &session, &number, &form.csrf).await?;
    match thaw_services::case_links::unlink(&state.db, &by, &case.id, &form.other, now_ms()).await {
        Ok(()) => Ok(back(&number, "notice=unlinked")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

#[derive(serde::Deserialize)]
struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    into: String,
    /// The agent ticked "I understand this case will be closed".
    #[serde(default)]
    confirm: Option<String>,
}

async fn merge(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(form): Form<MergeForm>,
) -> Result<Response, PageError> {
    let (case, by) = worked_case(&state, &ctx, &session, &number, &form.csrf).await?;
    if form.confirm.is_none() {
        return Ok(back(&number, "refused=merge_unconfirmed"));
    }
    match thaw_services::case_links::merge(&state.db, &state.desk, &by, &case.id, &form.into, now_ms()).await {
        // The agent carries on in the surviving case.
        Ok((_, into)) => Ok(back(&into.reference(), "notice=merged")),
        Err(e) => refusal(&ctx, &number, e),
    }
}

#[derive(Template)]
#[template(path = "desk/case_new.html")]
struct NewPage {
    shell: Shell,
    account_id: String,
    categories: Vec<(&'static str, &'static str, bool)>,
    category: Option<&'static str>,
    fields: Vec<FieldView>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct NewQuery {
    account: Option<String>,
    category: Option<String>,
}

fn new_page(
    ctx: &PageCtx,
    account_id: String,
    category: Option<CaseCategory>,
    values: &BTreeMap<String, String>,
    error: Option<String>,
) -> NewPage {
    NewPage {
        account_id,
        categories: CaseCategory::ALL.iter().map(|c| (c.code(), c.label(ctx.locale), Some(*c) == category)).collect(),
        category: category.map(|c| c.code()),
        fields: category.map(|c| field_views(c, ctx.locale, values)).unwrap_or_default(),
        error,
        shell: Shell::new(ctx, "desk", "cases"),
    }
}

async fn new_case(StaffCtx(ctx, _): StaffCtx, Query(q): Query<NewQuery>) -> Result<Response, PageError> {
    ctx.require(Permission::WorkCases)?;
    let category = q.category.as_deref().and_then(CaseCategory::parse);
    let page = new_page(&ctx, q.account.unwrap_or_default(), category, &BTreeMap::new(), None);
    Ok(render(StatusCode::OK, &page))
}

async fn open(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.require(Permission::WorkCases)?;
    let form: HashMap<String, String> = pairs.into_iter().collect();
    ctx.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let category = CaseCategory::parse(&get("category"));
    let mut req = OpenCase::new(
        &get("account_id"),
        category.unwrap_or(CaseCategory::Other),
        &get("subject"),
        &get("body"),
        Channel::Staff,
    );
    req.category = get("category");
    req.intake = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("f_").map(|n| (n.to_string(), v.clone())))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    req.utc_offset_minutes = get("tz_offset").trim().parse().unwrap_or(0);
    let values = req.intake.clone();
    let error = match cases::open(&state.db, &state.desk, req, &actor_of(&session.staff), now_ms()).await {
        Ok(case) => return Ok(back(&case.reference(), "notice=opened")),
        Err(ServiceError::Invalid(e)) => e.message,
        Err(ServiceError::NotFound(_)) => crate::i18n::text(ctx.locale, "desk.case.no_account").to_string(),
        Err(e) => return Err(PageError::from_service(&ctx, e)),
    };
    let page = new_page(&ctx, get("account_id"), category, &values, Some(error));
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
