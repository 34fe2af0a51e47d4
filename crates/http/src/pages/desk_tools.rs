//! The desk's oversight pages: the approvals inbox (supervisors decide requests beyond an
//! agent's authority, never their own) and the staff list where administrators set each
//! member's own limits.

use super::desk_cases::{refused_text, refused_to, store_err};
use super::{PageError, Pairs, Shell, render};
use crate::AppState;
use crate::auth::{PageCtx, StaffCtx};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use thaw_domain::case::authority::{StaffLimits, default_compensation};
use thaw_domain::risk::{HoldOrigin, Scope};
use thaw_domain::{Locale, Permission, StaffMember};
use thaw_services::{ServiceError, now_ms};
use thaw_services::{approvals, quality};
use thaw_store::{Approval, Capabilities};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/desk/approvals", get(inbox))
        .route("/desk/approvals/{id}/decide", post(decide))
        .route("/desk/qa", get(qa_queue))
        .route("/desk/qa/{number}", post(qa_review))
        .route("/desk/accounts/{id}/dedicated-agent", post(set_dedicated))
        .route("/desk/staff", get(staff_list))
        .route("/desk/staff/{id}/limits", post(set_limits))
        .route("/desk/staff/{id}/profile", post(set_profile))
        .route("/desk/staff/new", post(create_staff))
}

pub(super) fn name_of(staff: &[StaffMember], id: Option<&str>) -> String {
    id.and_then(|id| staff.iter().find(|s| s.id == id)).map(|s| s.display_name.clone()).unwrap_or_default()
}

/// One approval request as the inbox and the case view show it.
pub struct ApprovalView {
    pub id: String,
    pub case_number: String,
    pub kind: &'static str,
    pub what: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    pub status_code: String,
    pub status: &'static str,
    pub decided_by: String,
    pub decided_at: String,
    pub note: String,
    pub outcome: String,
    /// Whether the viewer may decide it (a supervisor who did not ask).
    pub can_decide: bool,
    pub own: bool,
}

pub(super) fn approval_view(
    a: &Approval,
    case_number: String,
    staff: &[StaffMember],
    viewer: &StaffMember,
    l: Locale,
) -> ApprovalView {
    let what = match a.kind.as_str() {
        "release_hold" => format!(
            "{} {} · {}",
            crate::i18n::text(l, "desk.approval.hold"),
            a.payload["hold_id"].as_str().unwrap_or(""),
            crate::i18n::lookup(l, &format!("desk.refused.{}", a.payload["refused"].as_str().unwrap_or("")))
                .unwrap_or("")
        ),
        _ => format!(
            "{} {} · {}",
            a.payload["amount"].as_str().unwrap_or(""),
            a.payload["asset"].as_str().unwrap_or(""),
            a.payload["refusal"].as_str().unwrap_or("")
        ),
    };
    let own = a.requested_by == viewer.id;
    ApprovalView {
        id: a.id.clone(),
        case_number,
        kind: crate::i18n::lookup(l, &format!("desk.approval.kind.{}", a.kind)).unwrap_or(""),
        what,
        reason: a.reason.clone(),
        requested_by: name_of(staff, Some(&a.requested_by)),
        requested_at: Shell::time(a.requested_at_ms),
        status_code: a.status.clone(),
        status: crate::i18n::lookup(l, &format!("desk.approval.status.{}", a.status)).unwrap_or(""),
        decided_by: name_of(staff, a.decided_by.as_deref()),
        decided_at: a.decided_at_ms.map(Shell::time).unwrap_or_default(),
        note: a.decision_note.clone().unwrap_or_default(),
        outcome: a.outcome.clone().unwrap_or_default(),
        can_decide: a.status == "pending" && !own && viewer.role.can(Permission::DecideApprovals),
        own,
    }
}

#[derive(Template)]
#[template(path = "desk/approvals.html")]
struct InboxPage {
    shell: Shell,
    pending: Vec<ApprovalView>,
    decided: Vec<ApprovalView>,
    notice: Option<&'static str>,
    refused: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct InboxQuery {
    notice: Option<String>,
    refused: Option<String>,
}

async fn inbox(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadCases)?;
    let l = ctx.locale;
    let pending = approvals::inbox(&state.db, true, 200).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let decided = approvals::inbox(&state.db, false, 50).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let mut conn = state.db.conn().await.map_err(store_err(&ctx))?;
    let staff = conn.staff().list().await.map_err(store_err(&ctx))?;
    let mut number_of = std::collections::HashMap::new();
    for a in pending.iter().chain(decided.iter()) {
        if !number_of.contains_key(&a.case_id) {
            let n = conn.cases().get(&a.case_id).await.map_err(store_err(&ctx))?.map(|(c, _)| c.reference());
            number_of.insert(a.case_id.clone(), n.unwrap_or_default());
        }
    }
    drop(conn);
    let to_view = |a: &Approval| {
        let n = number_of.get(&a.case_id).cloned().unwrap_or_default();
        approval_view(a, n, &staff, &session.staff, l)
    };
    let page = InboxPage {
        pending: pending.iter().map(to_view).collect(),
        decided: decided.iter().map(to_view).collect(),
        notice: match q.notice.as_deref() {
            Some("approved") => Some("desk.approvals.approved"),
            Some("denied") => Some("desk.approvals.denied"),
            Some("failed") => Some("desk.approvals.failed"),
            _ => None,
        },
        refused: q.refused.as_deref().map(|code| refused_text(l, code)),
        shell: Shell::new(&ctx, "desk", "approvals"),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(serde::Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    /// "approve" or "deny" (which button was pressed).
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::DecideApprovals)?;
    ctx.check_csrf(&form.csrf)?;
    let approve = form.decision == "approve";
    let by = super::desk_cases::actor_of(&session.staff);
    match approvals::decide(&state.db, &state.risk, &id, &by, approve, &form.note, now_ms()).await {
        Ok(a) => Ok(Redirect::to(&format!("/desk/approvals?notice={}", a.status)).into_response()),
        Err(e) => refused_to(&ctx, "/desk/approvals?", e),
    }
}

pub struct StaffRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub role_code: &'static str,
    pub skills: String,
    pub capacity: i64,
    pub active: bool,
    pub team: String,
    pub agent_id: String,
    /// (code, label, has it) of every category and language.
    pub categories: Vec<(&'static str, &'static str, bool)>,
    pub languages: Vec<(&'static str, &'static str, bool)>,
    /// The viewer: their own role and activity cannot be taken away here.
    pub own: bool,
    pub origins: Vec<(&'static str, bool)>,
    pub scopes: Vec<(&'static str, bool)>,
    pub release_amounts: String,
    pub compensation: String,
    pub default_compensation: String,
}

#[derive(Template)]
#[template(path = "desk/staff.html")]
struct StaffPage {
    shell: Shell,
    rows: Vec<StaffRow>,
    saved: bool,
    error: Option<String>,
    roles: Vec<(&'static str, &'static str)>,
}

#[derive(serde::Deserialize, Default)]
struct StaffQuery {
    saved: Option<String>,
}

async fn staff_page(
    state: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    saved: bool,
    error: Option<String>,
) -> Result<Response, PageError> {
    let l = ctx.locale;
    let mut conn = state.db.conn().await.map_err(store_err(ctx))?;
    let staff = conn.staff().list().await.map_err(store_err(ctx))?;
    let agent_ids = conn.channels().agent_ids_by_staff().await.map_err(store_err(ctx))?;
    let viewer = ctx.session.as_ref().map(|s| s.staff.id.as_str()).unwrap_or_default();
    let mut rows = vec![];
    for s in &staff {
        let limits = conn.staff().limits(&s.id).await.map_err(store_err(ctx))?;
        let every_category = s.skills.categories.len() == thaw_domain::CaseCategory::ALL.len();
        let both_languages = s.skills.languages.len() == Locale::ALL.len();
        rows.push(StaffRow {
            id: s.id.clone(),
            name: s.display_name.clone(),
            email: s.email.as_str().to_string(),
            role: s.role.label(l),
            role_code: s.role.code(),
            team: conn.staff().team(&s.id).await.map_err(store_err(ctx))?,
            agent_id: agent_ids.get(&s.id).cloned().unwrap_or_default(),
            categories: thaw_domain::CaseCategory::ALL
                .iter()
                .map(|c| (c.code(), c.label(l), !every_category && s.skills.categories.contains(c)))
                .collect(),
            languages: Locale::ALL
                .iter()
                .map(|x| (x.code(), x.code(), !both_languages && s.skills.languages.contains(x)))
                .collect(),
            own: s.id == viewer,
            skills: s
                .skills
                .categories
                .iter()
                .map(|c| c.label(l))
                .chain(s.skills.languages.iter().map(|x| x.code()))
                .collect::<Vec<_>>()
                .join(", "),
            capacity: s.capacity,
            active: s.active,
            origins: HoldOrigin::ALL
                .iter()
                .map(|o| (o.code(), limits.release_origins.as_ref().is_some_and(|v| v.contains(o))))
                .collect(),
            scopes: Scope::ALL
                .iter()
                .map(|x| (x.code(), limits.release_scopes.as_ref().is_some_and(|v| v.contains(x))))
                .collect(),
            release_amounts: StaffLimits::amounts_text(&limits.release_amounts),
            compensation: StaffLimits::amounts_text(&limits.compensation),
            default_compensation: StaffLimits::amounts_text(&default_compensation(s.role)),
        });
    }
    drop(conn);
    let roles = thaw_domain::Role::ALL.iter().map(|r| (r.code(), r.label(l))).collect();
    let page = StaffPage { rows, saved, error, roles, shell: Shell::new(ctx, "desk", "staff") };
    Ok(render(status, &page))
}

async fn staff_list(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(q): Query<StaffQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageStaff)?;
    staff_page(&state, &ctx, StatusCode::OK, q.saved.is_some(), None).await
}

async fn set_limits(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageStaff)?;
    let pairs = Pairs(pairs);
    let get = |k: &str| pairs.get(k);
    ctx.check_csrf(get("csrf"))?;
    let all = |k: &str| pairs.all(k).join(",");
    let limits = match StaffLimits::parse(&all("origin"), &all("scope"), get("release_amounts"), get("compensation")) {
        Ok(l) => l,
        Err(e) => return staff_page(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, false, Some(e.message)).await,
    };
    let mut tx = state.db.begin_write().await.map_err(store_err(&ctx))?;
    if !tx.staff().set_limits(&id, &limits, now_ms()).await.map_err(store_err(&ctx))? {
        return Err(PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"));
    }
    tx.commit().await.map_err(thaw_store::StoreError::from).map_err(store_err(&ctx))?;
    tracing::info!(staff = %id, "staff limits changed");
    Ok(Redirect::to("/desk/staff?saved=1").into_response())
}

/// Changes a member's name, role, skills, languages, capacity, team and activity.
async fn set_profile(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageStaff)?;
    let pairs = Pairs(pairs);
    let get = |k: &str| pairs.get(k);
    ctx.check_csrf(get("csrf"))?;
    let all = |k: &str| pairs.all(k).join(",");
    let (categories, languages) = (all("category"), all("language"));
    let form = thaw_services::staff::ProfileForm {
        display_name: get("display_name"),
        role: get("role"),
        categories: &categories,
        languages: &languages,
        capacity: get("capacity"),
        team: get("team"),
        active: get("active") == "on",
    };
    match thaw_services::staff::update_profile(&state.db, &session.staff.id, &id, &form).await {
        Ok(_) => Ok(Redirect::to("/desk/staff?saved=1").into_response()),
        Err(ServiceError::Invalid(e)) => {
            staff_page(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, false, Some(e.message)).await
        }
        Err(ServiceError::Refused { message, .. }) => {
            staff_page(&state, &ctx, StatusCode::CONFLICT, false, Some(message)).await
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

/// Adds a staff member with a first password they change after signing in.
async fn create_staff(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageStaff)?;
    let pairs = Pairs(pairs);
    let get = |k: &str| pairs.get(k);
    ctx.check_csrf(get("csrf"))?;
    let locale = Locale::parse(get("locale")).unwrap_or(ctx.locale);
    let new = thaw_domain::NewStaff::validate(
        get("email"),
        Some(get("display_name")),
        get("role"),
        thaw_domain::Skills::default(),
        10,
        locale,
    );
    let outcome = match new {
        Ok(new) => thaw_services::staff::create(&state.db, &new, get("password")).await,
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(member) => {
            tracing::info!(staff = %member.id, "staff member added in the desk");
            Ok(Redirect::to("/desk/staff?saved=1").into_response())
        }
        Err(ServiceError::Invalid(e)) => {
            staff_page(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, false, Some(e.message)).await
        }
        Err(ServiceError::Duplicate { message, .. }) => {
            staff_page(&state, &ctx, StatusCode::CONFLICT, false, Some(message)).await
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

pub struct QaRow {
    pub number: String,
    pub subject: String,
    pub agent: String,
    pub sampled: String,
    pub total: Option<i64>,
    pub reviewer: String,
    pub comment: String,
    /// The viewer worked the case, so someone else reviews it.
    pub own: bool,
}

#[derive(Template)]
#[template(path = "desk/qa.html")]
struct QaPage {
    shell: Shell,
    pending: Vec<QaRow>,
    recent: Vec<QaRow>,
    criteria: Vec<(&'static str, &'static str)>,
    can_review: bool,
    notice: bool,
    refused: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct QaQuery {
    saved: Option<String>,
    refused: Option<String>,
}

async fn qa_queue(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Query(q): Query<QaQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadCases)?;
    let l = ctx.locale;
    let mut conn = state.db.conn().await.map_err(store_err(&ctx))?;
    let staff = conn.staff().list().await.map_err(store_err(&ctx))?;
    let mut lists = vec![];
    for reviewed in [false, true] {
        let mut out = vec![];
        for r in conn.cases().qa_reviews(reviewed, 100).await.map_err(store_err(&ctx))? {
            let Some((c, _)) = conn.cases().get(&r.case_id).await.map_err(store_err(&ctx))? else { continue };
            out.push(QaRow {
                number: c.reference(),
                subject: c.subject.clone(),
                agent: name_of(&staff, r.agent_id.as_deref()),
                sampled: Shell::time(r.sampled_at_ms),
                total: r.total,
                reviewer: name_of(&staff, r.reviewer_id.as_deref()),
                comment: r.comment.clone().unwrap_or_default(),
                own: r.agent_id.as_deref() == Some(session.staff.id.as_str()),
            });
        }
        lists.push(out);
    }
    drop(conn);
    let recent = lists.pop().unwrap_or_default();
    let pending = lists.pop().unwrap_or_default();
    let page = QaPage {
        pending,
        recent,
        criteria: quality::CRITERIA
            .iter()
            .map(|c| (*c, crate::i18n::lookup(l, &format!("desk.qa.c.{c}")).unwrap_or(c)))
            .collect(),
        can_review: session.staff.role.can(Permission::ReviewQuality),
        notice: q.saved.is_some(),
        refused: q.refused.as_deref().map(|code| refused_text(l, code)),
        shell: Shell::new(&ctx, "desk", "qa"),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn qa_review(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(number): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReviewQuality)?;
    let form: std::collections::BTreeMap<String, String> = pairs.into_iter().collect();
    ctx.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let n = thaw_domain::case::parse_case_ref(&number)
        .ok_or_else(|| PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"))?;
    let case = {
        let mut conn = state.db.conn().await.map_err(store_err(&ctx))?;
        conn.cases().by_number(n).await.map_err(store_err(&ctx))?.map(|(c, _)| c)
    };
    let case = case.ok_or_else(|| PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"))?;
    let comment = form.get("comment").cloned().unwrap_or_default();
    let s = &session.staff;
    match quality::review(&state.db, &s.id, s.role, &case.id, &form, &comment, now_ms()).await {
        Ok(_) => Ok(Redirect::to("/desk/qa?saved=1").into_response()),
        Err(e) => refused_to(&ctx, "/desk/qa?", e),
    }
}

#[derive(serde::Deserialize)]
struct DedicatedForm {
    #[serde(default)]
    csrf: String,
    /// A staff id, or empty for none.
    #[serde(default)]
    agent: String,
}

/// A supervisor sets (or clears) a VIP account's dedicated agent.
async fn set_dedicated(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(id): Path<String>,
    Form(form): Form<DedicatedForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAccounts)?;
    ctx.check_csrf(&form.csrf)?;
    let agent = Some(form.agent.trim()).filter(|a| !a.is_empty());
    let by = super::desk_cases::actor_of(&session.staff);
    match thaw_services::cases::set_dedicated_agent(&state.db, &by, &id, agent).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/desk/accounts/{}?dedicated=1", crate::auth::url_encode(&id))).into_response())
        }
        Err(ServiceError::Refused { .. }) => Err(PageError::new(&ctx, StatusCode::FORBIDDEN, "error.forbidden")),
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}
