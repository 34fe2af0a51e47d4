//! The holder's cases in the security centre: open one with the category's own questions, see
//! the list, follow a case's timeline with the expected times of the next step and of the
//! resolution, and reply. A holder only ever sees their own cases and never internal notes.

use super::CsrfForm;
use super::{PageError, Shell, render};
use crate::AppState;
use crate::auth::{HolderCtx, PageCtx};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::{BTreeMap, HashMap};
use thaw_domain::case::intake::{self, FieldKind};
use thaw_domain::case::{Case, CaseStatus, Channel, parse_case_ref};
use thaw_domain::{CaseCategory, Locale};
use thaw_services::cases::{self, AppealOf, OpenCase};
use thaw_services::evidence::{self, Upload};
use thaw_services::quality;
use thaw_services::{ServiceError, now_ms};
use thaw_store::Capabilities;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security/cases", get(list).post(open))
        .route("/security/cases/new", get(new_case))
        .route("/security/cases/{number}", get(view))
        .route(
            "/security/cases/{number}/reply",
            post(reply).route_layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/security/cases/{number}/rate", post(rate))
        .route("/security/cases/{number}/appeal", post(appeal_case))
        .route("/security/cases/{number}/escalate", post(escalate))
        .route("/security/cases/{number}/live", get(live))
        .route("/security/cases/{number}/attachments/{id}", get(attachment))
        .route("/security/holds/{id}/case", post(case_for_hold))
        .route("/security/holds/{id}/appeal", post(appeal_hold))
        .route("/cases/rate", get(rate_link).post(rate_by_link))
}

/// The largest reply form read (its files are checked one by one against the evidence limits).
pub const UPLOAD_LIMIT: usize = 110 * 1024 * 1024;

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
    error: Option<String>,
    attachments: Vec<AttachmentLine>,
    rating: Option<(i64, String)>,
    can_escalate: bool,
    max_mb: usize,
}

/// An attachment as its case page lists it.
pub struct AttachmentLine {
    pub id: String,
    pub filename: String,
    pub size: String,
    pub identity: bool,
    pub deleted: bool,
    pub image: bool,
    /// Whether the viewer may open it (identity documents: senior staff and their holder).
    pub visible: bool,
}

pub fn attachment_line(a: &thaw_store::Attachment, visible: bool) -> AttachmentLine {
    let kb = (a.size.max(0) as u64).div_ceil(1024);
    AttachmentLine {
        id: a.id.clone(),
        filename: a.filename.clone(),
        size: if kb >= 1024 { format!("{:.1} MB", kb as f64 / 1024.0) } else { format!("{kb} KB") },
        identity: a.identity_document,
        deleted: a.deleted_at_ms.is_some(),
        image: a.content_type.starts_with("image/"),
        visible,
    }
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
        Some("handed_over") => Some("case.notice.handed_over"),
        Some("replied") => Some("case.notice.replied"),
        Some("reopened") => Some("case.notice.reopened"),
        Some("rated") => Some("case.notice.rated"),
        Some("escalated") => Some("case.notice.escalated"),
        Some("appealed") => Some("case.notice.appealed"),
        _ => None,
    };
    Ok(render(StatusCode::OK, &view_page(&state, &ctx, &case, notice, None).await?))
}

async fn view_page(
    state: &AppState,
    ctx: &PageCtx,
    case: &Case,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<ViewPage, PageError> {
    let l = ctx.locale;
    let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let messages = conn.cases().messages(&case.id, false).await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let timeline = conn.cases().timeline(&case.id, false).await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let staff = conn.staff().list().await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let attachments = conn.cases().attachments(&case.id).await.map_err(|e| PageError::from_service(ctx, e.into()))?;
    let rating = conn.cases().rating(&case.id).await.map_err(|e| PageError::from_service(ctx, e.into()))?;
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
            "followed_up" | "merged_into" | "merged_from" => {
                let label = crate::i18n::lookup(l, &format!("case.event.{}", e.kind)).unwrap_or("");
                format!("{label} {}", e.data["case"].as_str().unwrap_or(""))
            }
            "attached" => format!(
                "{}: {}",
                t("case.event.attached"),
                e.data["files"]
                    .as_array()
                    .map(|f| f.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ),
            "escalation_requested" => t("case.event.escalation_requested").to_string(),
            "identity_document_deleted" => {
                format!("{}: {}", t("case.event.identity_document_deleted"), e.data["file"].as_str().unwrap_or(""))
            }
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
        attachments: attachments.iter().map(|a| attachment_line(a, true)).collect(),
        rating: rating.map(|r| (r.score, r.comment)),
        can_escalate: case.status.is_active(),
        max_mb: state.desk.evidence.limits.max_bytes / (1024 * 1024),
        shell: Shell::new(ctx, "portal", "cases"),
    })
}

/// A multipart form's text fields and files.
pub struct Posted {
    pub fields: HashMap<String, String>,
    pub files: Vec<Upload>,
}

/// Reads a multipart form: text fields, and the files of the `files` inputs (empty ones skipped);
/// a file is marked an identity document when the `identity` box is ticked.
pub async fn read_multipart(ctx: &PageCtx, mut form: Multipart) -> Result<Posted, PageError> {
    let bad = |_| PageError::new(ctx, StatusCode::BAD_REQUEST, "error.bad_request");
    let mut fields = HashMap::new();
    let mut files = vec![];
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "files" {
            let filename = field.file_name().unwrap_or("").to_string();
            let declared_type = field.content_type().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(bad)?;
            if filename.is_empty() && bytes.is_empty() {
                continue;
            }
            files.push(Upload { filename, declared_type, bytes: bytes.to_vec(), identity: false });
        } else {
            fields.insert(name, field.text().await.map_err(bad)?);
        }
    }
    let identity = fields.get("identity").is_some_and(|v| v == "1");
    for f in &mut files {
        f.identity = identity;
    }
    Ok(Posted { fields, files })
}

async fn reply(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(number): Path<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let posted = read_multipart(&ctx, form).await?;
    let field = |k: &str| posted.fields.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&field("csrf"))?;
    let number =
        parse_case_ref(&number).ok_or_else(|| PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"))?;
    let account = session.account.id.as_str();
    let case = cases::holder_case(&state.db, account, number).await.map_err(page_err(&ctx))?;
    let refuse = |error: String| async {
        let page = view_page(&state, &ctx, &case, None, Some(error)).await?;
        Ok::<_, PageError>(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    // Files are checked before anything is stored: a refused file leaves no message behind.
    if let Err(ServiceError::Invalid(e)) = evidence::check_all(&state.desk.evidence, &posted.files) {
        return refuse(e.message).await;
    }
    let mut body = field("body");
    if body.trim().is_empty() && !posted.files.is_empty() {
        body = crate::i18n::text(ctx.locale, "case.reply.files_only").to_string();
    }
    let now = now_ms();
    match cases::holder_reply(&state.db, &state.desk, account, number, &body, Channel::Portal, now).await {
        Ok(r) => {
            evidence::attach(&state.db, &state.desk.evidence, &r.case, "holder", None, posted.files, now)
                .await
                .map_err(page_err(&ctx))?;
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
            refuse(crate::i18n::text(ctx.locale, "case.error.empty_reply").to_string()).await
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

fn case_number(ctx: &PageCtx, number: &str) -> Result<i64, PageError> {
    parse_case_ref(number).ok_or_else(|| PageError::new(ctx, StatusCode::NOT_FOUND, "error.not_found"))
}

fn to_case(number: &str, notice: &str) -> Response {
    Redirect::to(&format!("/security/cases/{number}?notice={notice}")).into_response()
}

/// A service refusal shown on the case page (422) with the reason in the holder's language.
async fn refused_on(state: &AppState, ctx: &PageCtx, case: &Case, e: ServiceError) -> Result<Response, PageError> {
    let text = match &e {
        ServiceError::Invalid(i) => i.message.clone(),
        ServiceError::Refused { code, .. } | ServiceError::Conflict { code, .. } => {
            crate::i18n::lookup(ctx.locale, &format!("case.refused.{code}"))
                .unwrap_or_else(|| crate::i18n::text(ctx.locale, "desk.refused.other"))
                .to_string()
        }
        _ => return Err(PageError::from_service(ctx, e)),
    };
    let page = view_page(state, ctx, case, None, Some(text)).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(serde::Deserialize)]
struct RateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
    /// The rating link's token (the page reached from the email).
    #[serde(default)]
    t: String,
}

async fn rate(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(number): Path<String>,
    Form(form): Form<RateForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let n = case_number(&ctx, &number)?;
    let case = cases::holder_case(&state.db, session.account.id.as_str(), n).await.map_err(page_err(&ctx))?;
    match quality::rate(&state.db, &case, &form.score, &form.comment, "portal", now_ms()).await {
        Ok(_) => Ok(to_case(&case.reference(), "rated")),
        Err(e) => refused_on(&state, &ctx, &case, e).await,
    }
}

#[derive(serde::Deserialize)]
struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn appeal_case(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(number): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let n = case_number(&ctx, &number)?;
    let account = session.account.id.as_str();
    let case = cases::holder_case(&state.db, account, n).await.map_err(page_err(&ctx))?;
    match cases::appeal(&state.db, &state.desk, account, AppealOf::Case(n), &form.reason, now_ms()).await {
        Ok(new_case) => Ok(to_case(&new_case.reference(), "appealed")),
        Err(e) => refused_on(&state, &ctx, &case, e).await,
    }
}

async fn appeal_hold(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let account = session.account.id.as_str();
    match cases::appeal(&state.db, &state.desk, account, AppealOf::Hold(id), &form.reason, now_ms()).await {
        Ok(new_case) => Ok(to_case(&new_case.reference(), "appealed")),
        Err(ServiceError::Invalid(_)) => Ok(Redirect::to("/security?appeal=empty").into_response()),
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

async fn escalate(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let n = case_number(&ctx, &number)?;
    let account = session.account.id.as_str();
    match cases::ask_to_escalate(&state.db, &state.desk, account, n, now_ms()).await {
        Ok(case) => Ok(to_case(&case.reference(), "escalated")),
        Err(e) => {
            let case = cases::holder_case(&state.db, account, n).await.map_err(page_err(&ctx))?;
            refused_on(&state, &ctx, &case, e).await
        }
    }
}

/// Server-sent events for the holder's own case: its page refreshes when the case changes.
async fn live(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let n = case_number(&ctx, &number)?;
    let case = cases::holder_case(&state.db, session.account.id.as_str(), n).await.map_err(page_err(&ctx))?;
    let id = case.id;
    Ok(state.live.stream(move |c| c.case_id == id).into_response())
}

/// An attachment of the holder's own case.
async fn attachment(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path((number, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let n = case_number(&ctx, &number)?;
    let case = cases::holder_case(&state.db, session.account.id.as_str(), n).await.map_err(page_err(&ctx))?;
    serve_attachment(&state, &ctx, &case, &id, |_| true).await
}

/// Sends an attachment of `case` if `may_see` allows it: its sniffed type, never rendered as a
/// page of this site (nosniff, a sandboxing CSP; only images inline).
pub async fn serve_attachment(
    state: &AppState,
    ctx: &PageCtx,
    case: &Case,
    id: &str,
    may_see: impl Fn(&thaw_store::Attachment) -> bool,
) -> Result<Response, PageError> {
    let not_found = || PageError::new(ctx, StatusCode::NOT_FOUND, "error.not_found");
    let a = {
        let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(ctx, e.into()))?;
        conn.cases().attachment(id).await.map_err(|e| PageError::from_service(ctx, e.into()))?
    };
    let a = a.filter(|a| a.case_id == case.id).ok_or_else(not_found)?;
    if !may_see(&a) {
        return Err(PageError::new(ctx, StatusCode::FORBIDDEN, "error.forbidden"));
    }
    let bytes = evidence::content(&state.desk.evidence, &a)
        .await
        .map_err(page_err(ctx))?
        .ok_or_else(|| PageError::new(ctx, StatusCode::GONE, "error.not_found"))?;
    let disposition = if a.content_type.starts_with("image/") { "inline" } else { "attachment" };
    let ascii: String =
        a.filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, a.content_type.clone()),
            (axum::http::header::CONTENT_DISPOSITION, format!("{disposition}; filename=\"{ascii}\"")),
            (axum::http::header::CACHE_CONTROL, "private, no-store".to_string()),
            (axum::http::header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_string()),
            (axum::http::HeaderName::from_static("x-content-type-options"), "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "security/rate.html")]
struct RatePage {
    shell: Shell,
    number: String,
    subject: String,
    token: String,
    score: i64,
    done: bool,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct RateQuery {
    #[serde(default)]
    t: String,
    #[serde(default)]
    score: String,
}

/// The rating link of a resolution email: the form, with the score clicked in the email chosen.
async fn rate_link(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<RateQuery>,
) -> Result<Response, PageError> {
    let case = quality::case_of_rating_link(&state.db, &q.t).await.map_err(page_err(&ctx))?;
    let page = RatePage {
        number: case.reference(),
        subject: case.subject.clone(),
        token: q.t.clone(),
        score: q.score.trim().parse().ok().filter(|s| (1..=5).contains(s)).unwrap_or(0),
        done: false,
        error: None,
        shell: Shell::new(&ctx, "portal", "cases"),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn rate_by_link(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(form): Form<RateForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let case = quality::case_of_rating_link(&state.db, &form.t).await.map_err(page_err(&ctx))?;
    let outcome = quality::rate(&state.db, &case, &form.score, &form.comment, "email", now_ms()).await;
    let (status, done, error) = match outcome {
        Ok(_) => (StatusCode::OK, true, None),
        Err(ServiceError::Invalid(i)) => (StatusCode::UNPROCESSABLE_ENTITY, false, Some(i.message)),
        Err(e) => return Err(PageError::from_service(&ctx, e)),
    };
    let page = RatePage {
        number: case.reference(),
        subject: case.subject.clone(),
        token: form.t.clone(),
        score: form.score.trim().parse().unwrap_or(0),
        done,
        error,
        shell: Shell::new(&ctx, "portal", "cases"),
    };
    Ok(render(status, &page))
}
