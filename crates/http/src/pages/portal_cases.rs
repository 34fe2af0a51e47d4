//! The holder's cases in the security centre: open one with the category's own questions, see
//! the list, follow a case's timeline with the expected times of the next step and of the
//! resolution, and reply. A holder only ever sees their own cases and never internal notes.

use super::security::CsrfForm;
use super::{PageError, Shell, render};
use crate::AppState;
use crate::auth::{HolderCtx, PageCtx};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::{BTreeMap, HashMap};
use thaw_domain::case::intake::{self, FieldKind};
use thaw_domain::case::{Case, CaseStatus, Channel, parse_case_ref};
use thaw_domain::{CaseCategory, Locale};
use thaw_services::cases::{self, OpenCase};
use thaw_services::{ServiceError, now_ms};
use thaw_store::Capabilities;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/cases", get(list).post(open))
        .route("/security/cases/new", get(new_case))
        .route("/security/cases/{number}", get(view))
        .route("/security/cases/{number}/reply", post(reply))
        .route("/security/holds/{id}/case", post(case_for_hold))
}

fn page_err(ctx: &PageCtx) -> impl Fn(ServiceError) -> PageError + '_ {
    move |e| PageError::from_service(ctx, e)
}

/// A case in a list.
pub struct CaseRow {
    pub number: String,
    pub subject: String,
    pub category: &'static str,
    pub status: &'static str,
    pub status_code: &'static str,
    pub updated: String,
}

fn row(c: &Case, l: Locale) -> CaseRow {
    CaseRow {
        number: c.reference(),
        subject: c.subject.clone(),
        category: c.category.label(l),
        status: c.status.label(l),
        status_code: c.status.code(),
        updated: Shell::time(c.updated_at_ms),
    }
}

#[derive(Template)]
#[template(path = "security/cases.html")]
struct ListPage {
    shell: Shell,
    cases: Vec<CaseRow>,
}

async fn list(State(state): State<AppState>, HolderCtx(ctx, session): HolderCtx) -> Result<Response, PageError> {
    let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(&ctx, e.into()))?;
    let mine = conn
        .cases()
        .of_account(session.account.id.as_str(), 200)
        .await
        .map_err(|e| PageError::from_service(&ctx, e.into()))?;
    let page = ListPage {
        cases: mine.iter().map(|c| row(c, ctx.locale)).collect(),
        shell: Shell::new(&ctx, "portal", "cases"),
    };
    Ok(render(StatusCode::OK, &page))
}

/// One intake question as the form shows it.
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub required: bool,
    /// text | textarea | select | datetime | amount
    pub input: &'static str,
    pub options: Vec<(&'static str, &'static str)>,
    pub value: String,
    pub max: usize,
}

pub fn field_views(category: CaseCategory, l: Locale, values: &BTreeMap<String, String>) -> Vec<FieldView> {
    intake::fields(category)
        .iter()
        .map(|f| {
            let (input, options, max) = match f.kind {
                FieldKind::Text(max) => ("text", vec![], max),
                FieldKind::LongText(max) => ("textarea", vec![], max),
                FieldKind::Choice(opts) => {
                    ("select", opts.iter().map(|o| (*o, intake::choice_label(o, l))).collect(), 40)
                }
                FieldKind::PastTime => ("datetime", vec![], 40),
                FieldKind::Amount => ("amount", vec![], 40),
                FieldKind::Asset => ("text", vec![], 12),
                FieldKind::TxHash => ("text", vec![], 130),
            };
            FieldView {
                name: f.name,
                label: f.label(l),
                required: f.required,
                input,
                options,
                value: values.get(f.name).cloned().unwrap_or_default(),
                max,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "security/case_new.html")]
struct NewPage {
    shell: Shell,
    categories: Vec<(&'static str, &'static str, bool)>,
    category: Option<&'static str>,
    fields: Vec<FieldView>,
    subject: String,
    body: String,
    error: Option<String>,
    error_field: String,
}

#[derive(serde::Deserialize, Default)]
struct NewQuery {
    category: Option<String>,
}

fn new_page(ctx: &PageCtx, category: Option<CaseCategory>, values: &BTreeMap<String, String>) -> NewPage {
    NewPage {
        categories: CaseCategory::ALL.iter().map(|c| (c.code(), c.label(ctx.locale), Some(*c) == category)).collect(),
        category: category.map(|c| c.code()),
        fields: category.map(|c| field_views(c, ctx.locale, values)).unwrap_or_default(),
        subject: values.get("__subject").cloned().unwrap_or_default(),
        body: values.get("__body").cloned().unwrap_or_default(),
        error: None,
        error_field: String::new(),
        shell: Shell::new(ctx, "portal", "cases"),
    }
}

async fn new_case(HolderCtx(ctx, _): HolderCtx, Query(q): Query<NewQuery>) -> Response {
    let category = q.category.as_deref().and_then(CaseCategory::parse);
    render(StatusCode::OK, &new_page(&ctx, category, &BTreeMap::new()))
}

async fn open(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form: HashMap<String, String> = pairs.into_iter().collect();
    ctx.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let category = form.get("category").and_then(|c| CaseCategory::parse(c));
    let answers: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("f_").map(|name| (name.to_string(), v.clone())))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let subject = form.get("subject").cloned().unwrap_or_default();
    let body = form.get("body").cloned().unwrap_or_default();
    let offset = form.get("tz_offset").and_then(|o| o.trim().parse::<i32>().ok()).unwrap_or(0);
    let mut req = OpenCase::new(
        session.account.id.as_str(),
        category.unwrap_or(CaseCategory::Other),
        &subject,
        &body,
        Channel::Portal,
    );
    req.category = form.get("category").cloned().unwrap_or_default();
    req.intake = answers.clone();
    req.utc_offset_minutes = offset;
    req.language = Some(ctx.locale);
    let holder = cases::CaseActor::Holder { account_id: session.account.id.as_str().to_string() };
    match cases::open(&state.db, &state.desk, req, &holder, now_ms()).await {
        Ok(case) => Ok(Redirect::to(&format!("/security/cases/{}?notice=opened", case.reference())).into_response()),
        Err(ServiceError::Invalid(e)) => {
            let mut values = answers;
            values.insert("__subject".into(), subject);
            values.insert("__body".into(), body);
            let mut page = new_page(&ctx, category, &values);
            page.error_field = e.field.trim_start_matches("intake.").to_string();
            page.error = Some(invalid_message(ctx.locale, &e, category));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

/// The message of a refused form, naming the field by its label in the page's language.
fn invalid_message(l: Locale, e: &thaw_domain::Invalid, category: Option<CaseCategory>) -> String {
    let name = e.field.trim_start_matches("intake.");
    let label = category
        .and_then(|c| intake::fields(c).iter().find(|f| f.name == name).map(|f| f.label(l)))
        .or_else(|| crate::i18n::lookup(l, &format!("case.field.{name}")))
        .unwrap_or(name);
    let rule = crate::i18n::lookup(l, &format!("case.rule.{}", e.code))
        .unwrap_or_else(|| crate::i18n::text(l, "case.rule.invalid"));
    format!("{label}: {rule}")
}

/// One entry of the holder's timeline: a message, or a change of the case.
pub struct TimelineItem {
    pub at: String,
    /// message | event
    pub kind: &'static str,
    pub author: String,
    pub mine: bool,
    pub body: String,
}

#[derive(Template)]
#[template(path = "security/case.html")]
struct ViewPage {
    shell: Shell,
    number: String,
    subject: String,
    category: &'static str,
    status: &'static str,
    status_code: &'static str,
    intake: Vec<(&'static str, String)>,
    next_step: String,
    resolution: String,
    waiting_for_holder: bool,
    closed: bool,
    items: Vec<TimelineItem>,
    notice: Option<&'static str>,
    error: Option<&'static str>,
}

#[derive(serde::Deserialize, Default)]
struct ViewQuery {
    notice: Option<String>,
}

/// The answers as the holder gave them, with labels.
pub fn intake_lines(c: &Case, l: Locale) -> Vec<(&'static str, String)> {
    intake::fields(c.category)
        .iter()
        .filter_map(|f| {
            c.intake.get(f.name).map(|v| {
                let shown = match f.kind {
                    FieldKind::Choice(_) => intake::choice_label(v, l).to_string(),
                    FieldKind::PastTime => v
                        .parse::<jiff::Timestamp>()
                        .map(|t| Shell::time(t.as_millisecond()))
                        .unwrap_or_else(|_| v.clone()),
                    _ => v.clone(),
                };
                (f.label(l), shown)
            })
        })
        .collect()
}

async fn view(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(number): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    let number =
        parse_case_ref(&number).ok_or_else(|| PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"))?;
    let case = cases::holder_case(&state.db, session.account.id.as_str(), number).await.map_err(page_err(&ctx))?;
    let notice = match q.notice.as_deref() {
        Some("opened") => Some("case.notice.opened"),
        Some("replied") => Some("case.notice.replied"),
        Some("reopened") => Some("case.notice.reopened"),
        _ => None,
    };
    Ok(render(StatusCode::OK, &view_page(&state, &ctx, &case, notice, None).await?))
}

async fn view_page(
    state: &AppState,
    ctx: &PageCtx,
    case: &Case,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<ViewPage, PageError> {
    let l = ctx.locale;
    let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let messages = conn.cases().messages(&case.id, false).await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let timeline = conn.cases().timeline(&case.id, false).await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let staff = conn.staff().list().await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    drop(conn);
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| staff.iter().find(|s| &s.id == id))
            .map(|s| s.display_name.clone())
            .unwrap_or_default()
    };
    let t = |k: &'static str| crate::i18n::text(l, k);
    let mut items: Vec<(i64, TimelineItem)> = messages
        .iter()
        .map(|m| {
            let (author, mine) = match m.author_kind.as_str() {
                "holder" => (t("case.author.you").to_string(), true),
                "staff" => (format!("{} · {}", t("case.author.support"), name_of(&m.author_id)), false),
                _ => (t("case.author.system").to_string(), false),
            };
            (
                m.created_at_ms,
                TimelineItem { at: Shell::time(m.created_at_ms), kind: "message", author, mine, body: m.body.clone() },
            )
        })
        .collect();
    for e in timeline {
        let body = match e.kind.as_str() {
            "opened" => t("case.event.opened").to_string(),
            "status" | "reopened" => {
                let to = e.data["to"].as_str().and_then(CaseStatus::parse).map(|s| s.label(l)).unwrap_or("");
                format!("{} {to}", t("case.event.status"))
            }
            "followed_up" => format!("{} {}", t("case.event.followed_up"), e.data["case"].as_str().unwrap_or("")),
            "compensation" => format!(
                "{} {} {}",
                t("case.event.compensation"),
                e.data["amount"].as_str().unwrap_or(""),
                e.data["asset"].as_str().unwrap_or("")
            ),
            _ => continue,
        };
        items.push((
            e.at_ms,
            TimelineItem { at: Shell::time(e.at_ms), kind: "event", author: String::new(), mine: false, body },
        ));
    }
    items.sort_by_key(|(at, _)| *at);
    let expected = state.desk.expected(case);
    Ok(ViewPage {
        number: case.reference(),
        subject: case.subject.clone(),
        category: case.category.label(l),
        status: case.status.label(l),
        status_code: case.status.code(),
        intake: intake_lines(case, l),
        next_step: expected.next_step_ms.map(Shell::time).unwrap_or_default(),
        resolution: expected.resolution_ms.map(Shell::time).unwrap_or_default(),
        waiting_for_holder: expected.waiting_for_holder,
        closed: !case.status.is_active(),
        items: items.into_iter().map(|(_, i)| i).collect(),
        notice,
        error,
        shell: Shell::new(ctx, "portal", "cases"),
    })
}

#[derive(serde::Deserialize)]
struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

async fn reply(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(number): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let number =
        parse_case_ref(&number).ok_or_else(|| PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"))?;
    let account = session.account.id.as_str();
    match cases::holder_reply(&state.db, &state.desk, account, number, &form.body, Channel::Portal, now_ms()).await {
        Ok(r) => {
            let notice = if r.new_case {
                "opened"
            } else if r.reopened {
                "reopened"
            } else {
                "replied"
            };
            Ok(Redirect::to(&format!("/security/cases/{}?notice={notice}", r.case.reference())).into_response())
        }
        Err(ServiceError::Invalid(_)) => {
            let case = cases::holder_case(&state.db, account, number).await.map_err(page_err(&ctx))?;
            let page = view_page(&state, &ctx, &case, None, Some("case.error.empty_reply")).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

/// "Open a case" on a hold that only staff may lift: the case about it, opened now if needed.
async fn case_for_hold(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let (case, _) = cases::open_for_hold(&state.db, &state.desk, session.account.id.as_str(), &id, now_ms())
        .await
        .map_err(|e| match e {
            ServiceError::Refused { .. } => PageError::new(&ctx, StatusCode::CONFLICT, "error.bad_request"),
            e => PageError::from_service(&ctx, e),
        })?;
    Ok(Redirect::to(&format!("/security/cases/{}", case.reference())).into_response())
}
