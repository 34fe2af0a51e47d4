//! The security centre for account holders: sign-in (platform single sign-on, or an email code
//! when the platform is out of reach), what restricts the account and why, freezing it in one
//! click, lifting a hold by step-up where its release policy allows, passing a challenge,
//! factors (TOTP, passkeys, recovery codes), the anti-phishing code, and the history. The
//! "this wasn't me" link of alert emails works here without signing in.

use super::{CsrfForm, PageError, Shell, render};
use crate::auth::{HolderCtx, PageCtx, local_path};
use crate::middleware::client_ip;
use crate::{AppState, cookies};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Json, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use thaw_domain::Locale;
use thaw_domain::risk::{Hold, HoldOrigin, ReleasePolicy};
use thaw_services::factors::{self, Enrolled, FactorError};
use thaw_services::holder::{self, CodeRefusal, HolderSession};
use thaw_services::signin::Origin;
use thaw_services::{ServiceError, alerts, freeze, holds, mail, now_ms};
use thaw_store::{Capabilities, Subject};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sso", get(sso))
        .route("/security", get(overview))
        .route("/security/sign-in", get(sign_in_page).post(request_code))
        .route("/security/sign-in/code", post(sign_in_with_code))
        .route("/security/sign-out", post(sign_out))
        .route("/security/freeze", post(freeze_now))
        .route("/security/holds/{id}", get(hold_page))
        .route("/security/holds/{id}/release", post(release))
        .route("/security/thawed/{id}", get(thawed))
        .route("/security/challenge/{id}", get(challenge_page))
        .route("/security/challenge/{id}/pass", post(pass_challenge))
        .route("/security/verify/totp", post(verify_totp))
        .route("/security/verify/recovery", post(verify_recovery))
        .route("/security/verify/email/send", post(send_email_code))
        .route("/security/verify/email", post(verify_email_code))
        .route("/security/verify/passkey/begin", post(passkey_auth_begin))
        .route("/security/verify/passkey/finish", post(passkey_auth_finish))
        .route("/security/factors", get(factors_page))
        .route("/security/factors/totp", post(totp_begin))
        .route("/security/factors/totp/confirm", post(totp_confirm))
        .route("/security/factors/passkey/begin", post(passkey_register_begin))
        .route("/security/factors/passkey/finish", post(passkey_register_finish))
        .route("/security/factors/recovery", post(new_recovery_codes))
        .route("/security/anti-phishing", post(set_anti_phishing))
        .route("/security/history", get(history))
        .route("/freeze/{token}", get(freeze_link_page).post(freeze_by_link))
        .route("/demo/mailbox", get(mailbox))
}

/// Where a request comes from: address (behind a proxy, the forwarded one) and browser.
pub struct Visitor {
    pub ip: String,
    pub user_agent: String,
}

impl Visitor {
    fn origin(&self) -> Origin<'_> {
        Origin { ip: &self.ip, user_agent: &self.user_agent }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let ip = client_ip(&parts.headers, peer, state.config.behind_proxy);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        Ok(Visitor { ip, user_agent })
    }
}

fn page_err(ctx: &PageCtx) -> impl Fn(ServiceError) -> PageError + '_ {
    move |e| PageError::from_service(ctx, e)
}

/// A notice named in the query (`?notice=…`), shown once at the top of a page. Only known
/// keys are shown, so the query cannot put text on the page.
const NOTICES: &[&str] = &[
    "verified",
    "wrong_code",
    "code_replayed",
    "throttled",
    "code_sent",
    "frozen",
    "already_frozen",
    "enrolled",
    "passkey_added",
    "anti_phishing_saved",
    "need_factor",
    "factor_already_enrolled",
    "challenge_passed",
    "passkey_rejected",
    "passkeys_unavailable",
    "signed_out",
];

#[derive(serde::Deserialize, Default)]
struct NoticeQuery {
    notice: Option<String>,
    next: Option<String>,
}

fn notice_key(q: &NoticeQuery) -> Option<String> {
    q.notice.as_deref().filter(|n| NOTICES.contains(n)).map(|n| format!("sec.notice.{n}"))
}

fn redirect_with(path: &str, notice: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}notice={notice}")).into_response()
}

fn set_cookie(res: &mut Response, value: String) {
    res.headers_mut().append(header::SET_COOKIE, value.parse().expect("valid cookie"));
}

// ------------------------------------------------------------------ hold views

/// A hold as the holder sees it: a confidential compliance hold shows only that a review is
/// under way, never its reason or facts.
pub struct HoldView {
    pub id: String,
    pub scopes: String,
    pub why: String,
    pub facts: Vec<(String, String)>,
    pub who: &'static str,
    /// self | wait | expiry | staff | compliance
    pub next: &'static str,
    pub factors: u8,
    pub wait_until: String,
    pub expires: String,
    pub confidential: bool,
    pub created: String,
}

fn scope_names(h: &Hold, l: Locale) -> String {
    h.scopes
        .scopes()
        .iter()
        .map(|s| crate::i18n::text(l, &format!("sec.scope.{}", s.code())).to_string())
        .collect::<Vec<_>>()
        .join(if l == Locale::ZhCn { "、" } else { ", " })
}

pub fn hold_view(h: &Hold, l: Locale, now_ms: i64) -> HoldView {
    let t = |k: &str| crate::i18n::lookup(l, k).unwrap_or("");
    let (who, next, factors, wait_until) = match h.release {
        _ if h.confidential || h.release == ReleasePolicy::ComplianceOnly => {
            (t("sec.who.compliance"), "compliance", 0, String::new())
        }
        ReleasePolicy::Owner { factors, wait_ms } => {
            let until = h.created_at_ms + wait_ms;
            let who = if factors >= 2 { t("sec.who.owner_two") } else { t("sec.who.owner_one") };
            if until > now_ms {
                (who, "wait", factors, Shell::time(until))
            } else {
                (who, "self", factors, String::new())
            }
        }
        ReleasePolicy::ExpiryOnly => (t("sec.who.expiry"), "expiry", 0, String::new()),
        ReleasePolicy::Agent | ReleasePolicy::ComplianceOnly => (t("sec.who.staff"), "staff", 0, String::new()),
    };
    let (why, facts) = if h.confidential || h.origin == HoldOrigin::Compliance {
        (t("sec.compliance_review").to_string(), Vec::new())
    } else {
        let why = if l == Locale::ZhCn { h.reason.explanation.zh_cn.clone() } else { h.reason.explanation.en.clone() };
        let facts = h
            .reason
            .facts
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(String::from).unwrap_or_else(|| v.to_string())))
            .collect();
        (why, facts)
    };
    HoldView {
        id: h.id.clone(),
        scopes: scope_names(h, l),
        why,
        facts,
        who,
        next,
        factors,
        wait_until,
        expires: h.expires_at_ms.map(Shell::time).unwrap_or_default(),
        confidential: h.confidential || h.origin == HoldOrigin::Compliance,
        created: Shell::time(h.created_at_ms),
    }
}

// ------------------------------------------------------------------ step-up

/// What the step-up panel shows: the factors already verified in this session and the ones the
/// holder can still present.
pub struct StepUp {
    pub verified: Vec<String>,
    pub enrolled: Enrolled,
    pub has_email: bool,
    pub masked_email: String,
    /// Where the forms come back to.
    pub next: String,
    pub passkeys_available: bool,
}

impl StepUp {
    pub fn has(&self, factor: &str) -> bool {
        self.verified.iter().any(|f| f == factor)
    }
    pub fn count(&self) -> usize {
        self.verified.len()
    }

    /// Changing factors once any exists needs one of them verified first.
    pub fn must_verify_first(&self) -> bool {
        self.enrolled.kinds() > 0 && self.verified.is_empty()
    }
}

fn mask_email(e: &str) -> String {
    match e.split_once('@') {
        Some((user, domain)) => format!("{}***@{domain}", user.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// The step-up panel; `since` (a hold's creation) leaves out factors verified before it.
async fn step_up(
    state: &AppState,
    session: &HolderSession,
    next: &str,
    since: Option<i64>,
) -> Result<StepUp, ServiceError> {
    let now = now_ms();
    let since = (now - holder::STEP_UP_WINDOW_MS).max(since.unwrap_or(0));
    Ok(StepUp {
        verified: holder::verified_factors_since(&state.db, session, since).await?,
        enrolled: factors::enrolled(&state.db, Subject::Account(session.account.id.as_str())).await?,
        has_email: session.account.email.is_some(),
        masked_email: session.account.email.as_ref().map(|e| mask_email(e.as_str())).unwrap_or_default(),
        next: next.to_string(),
        passkeys_available: state.security.webauthn().is_some(),
    })
}

// ------------------------------------------------------------------ sign-in

#[derive(serde::Deserialize)]
struct SsoQuery {
    token: Option<String>,
    next: Option<String>,
}

/// The platform sends its user here with a fresh signed token: `/sso?token=…&next=/security`.
async fn sso(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: PageCtx,
    Query(q): Query<SsoQuery>,
) -> Result<Response, PageError> {
    let token = q.token.unwrap_or_default();
    match holder::sign_in_sso(&state.db, &state.security, &token, &visitor.origin(), now_ms()).await {
        Ok(new) => {
            if let Some(old) = &ctx.holder {
                let _ = holder::sign_out(&state.db, old).await;
            }
            let mut res = Redirect::to(&local_path(q.next.as_deref(), "/security")).into_response();
            set_cookie(&mut res, cookies::set(cookies::HOLDER, &new.token, holder::SESSION_TTL_MS / 1000, ctx.secure));
            Ok(res)
        }
        Err(refusal) => {
            let page = SignInPage {
                shell: Shell::new(&ctx, "portal", "sign_in"),
                next: "/security".into(),
                email: String::new(),
                step: "email",
                error: Some(format!("sec.sso.{}", refusal.code())),
                retry_minutes: None,
                sso: state.security.config.sso.is_some(),
                notice: None,
            };
            Ok(render(StatusCode::UNAUTHORIZED, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "security/signin.html")]
struct SignInPage {
    shell: Shell,
    next: String,
    email: String,
    /// "email" (ask for the address) or "code" (ask for the code sent to it).
    step: &'static str,
    error: Option<String>,
    retry_minutes: Option<i64>,
    sso: bool,
    notice: Option<String>,
}

async fn sign_in_page(State(state): State<AppState>, ctx: PageCtx, Query(q): Query<NoticeQuery>) -> Response {
    if ctx.holder.is_some() {
        return Redirect::to(&local_path(q.next.as_deref(), "/security")).into_response();
    }
    let page = SignInPage {
        shell: Shell::new(&ctx, "portal", "sign_in"),
        next: local_path(q.next.as_deref(), "/security"),
        email: String::new(),
        step: "email",
        error: None,
        retry_minutes: None,
        sso: state.security.config.sso.is_some(),
        notice: notice_key(&q),
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn request_code(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: PageCtx,
    Form(form): Form<EmailForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let next = local_path(form.next.as_deref(), "/security");
    let mut page = SignInPage {
        shell: Shell::new(&ctx, "portal", "sign_in"),
        next,
        email: form.email.trim().to_string(),
        step: "code",
        error: None,
        retry_minutes: None,
        sso: state.security.config.sso.is_some(),
        notice: Some("sec.signin.code_sent_if_known".into()),
    };
    match holder::request_sign_in_code(&state.db, &state.security, &form.email, &visitor.origin(), now_ms()).await {
        Ok(()) => Ok(render(StatusCode::OK, &page)),
        Err(ServiceError::Invalid(_)) => {
            page.step = "email";
            page.notice = None;
            page.error = Some("sec.signin.bad_email".into());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(ServiceError::Throttled { retry_after_secs }) => {
            page.notice = None;
            page.error = Some("sec.signin.throttled".into());
            page.retry_minutes = Some((retry_after_secs + 59) / 60);
            Ok(render(StatusCode::TOO_MANY_REQUESTS, &page))
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

async fn sign_in_with_code(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ctx: PageCtx,
    Form(form): Form<EmailForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let next = local_path(form.next.as_deref(), "/security");
    match holder::sign_in_with_code(&state.db, &form.email, &form.code, &visitor.origin(), now_ms()).await {
        Ok(new) => {
            if let Some(old) = &ctx.holder {
                let _ = holder::sign_out(&state.db, old).await;
            }
            let mut res = Redirect::to(&next).into_response();
            set_cookie(&mut res, cookies::set(cookies::HOLDER, &new.token, holder::SESSION_TTL_MS / 1000, ctx.secure));
            if cookies::get(&headers, cookies::LANG).is_none() {
                let lang = new.session.account.locale.code();
                set_cookie(&mut res, cookies::set(cookies::LANG, lang, 365 * 86_400, ctx.secure));
            }
            Ok(res)
        }
        Err(refusal) => {
            let (status, error, retry_minutes) = match refusal {
                CodeRefusal::Wrong => (StatusCode::UNAUTHORIZED, "sec.signin.wrong_code", None),
                CodeRefusal::Throttled { retry_after_secs } => {
                    (StatusCode::TOO_MANY_REQUESTS, "sec.signin.throttled", Some((retry_after_secs + 59) / 60))
                }
            };
            let page = SignInPage {
                shell: Shell::new(&ctx, "portal", "sign_in"),
                next,
                email: form.email.trim().to_string(),
                step: "code",
                error: Some(error.into()),
                retry_minutes,
                sso: state.security.config.sso.is_some(),
                notice: None,
            };
            Ok(render(status, &page))
        }
    }
}

async fn sign_out(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let Some(session) = &ctx.holder else { return Ok(Redirect::to("/security/sign-in").into_response()) };
    ctx.check_csrf(&form.csrf)?;
    holder::sign_out(&state.db, session).await.map_err(page_err(&ctx))?;
    let mut res = redirect_with("/security/sign-in", "signed_out");
    set_cookie(&mut res, cookies::set(cookies::HOLDER, "", 0, ctx.secure));
    Ok(res)
}

// ------------------------------------------------------------------ overview

#[derive(Template)]
#[template(path = "security/overview.html")]
struct Overview {
    shell: Shell,
    account_id: String,
    email: String,
    holds: Vec<HoldView>,
    enrolled: Enrolled,
    anti_phishing_set: bool,
    alerts: Vec<AlertView>,
    notice: Option<String>,
    error: Option<String>,
}

pub struct AlertView {
    pub kind: String,
    pub time: String,
    pub summary: String,
}

fn alert_view(a: &thaw_store::AlertRecord, l: Locale) -> AlertView {
    let facts: serde_json::Value = serde_json::from_str(&a.facts).unwrap_or_default();
    let summary = ["place", "ip", "device", "amount", "address"]
        .iter()
        .filter_map(|k| facts.get(*k).and_then(|v| v.as_str()))
        .collect::<Vec<_>>()
        .join(" · ");
    AlertView {
        kind: crate::i18n::text(l, &format!("sec.alert.{}", a.kind)).to_string(),
        time: Shell::time(a.created_at_ms),
        summary,
    }
}

async fn overview(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let now = now_ms();
    let account_id = session.account.id.as_str();
    let in_force = holds::list(&state.db, account_id, true, now).await.map_err(page_err(&ctx))?;
    let enrolled = factors::enrolled(&state.db, Subject::Account(account_id)).await.map_err(page_err(&ctx))?;
    let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(&ctx, e.into()))?;
    let anti_phishing_set = conn
        .accounts()
        .anti_phishing_code(account_id)
        .await
        .map_err(|e| PageError::from_service(&ctx, e.into()))?
        .is_some();
    drop(conn);
    let recent = alerts::for_account(&state.db, account_id, 5).await.map_err(page_err(&ctx))?;
    let page = Overview {
        account_id: account_id.to_string(),
        email: session.account.email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_default(),
        holds: in_force.iter().map(|h| hold_view(h, ctx.locale, now)).collect(),
        enrolled,
        anti_phishing_set,
        alerts: recent.iter().map(|a| alert_view(a, ctx.locale)).collect(),
        notice: notice_key(&q),
        error: None,
        shell: Shell::new(&ctx, "portal", "security"),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn freeze_now(
    State(state): State<AppState>,
    visitor: Visitor,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let frozen =
        freeze::freeze(&state.db, &state.risk, &session, &visitor.origin(), now_ms()).await.map_err(page_err(&ctx))?;
    Ok(redirect_with("/security", if frozen.new { "frozen" } else { "already_frozen" }))
}

// ------------------------------------------------------------------ lifting a hold

#[derive(Template)]
#[template(path = "security/hold.html")]
struct HoldPage {
    shell: Shell,
    hold: HoldView,
    stepup: StepUp,
    can_lift: bool,
    error: Option<String>,
    notice: Option<String>,
}

async fn find_hold(state: &AppState, ctx: &PageCtx, session: &HolderSession, id: &str) -> Result<Hold, PageError> {
    let (hold, _) = holds::get(&state.db, id).await.map_err(page_err(ctx))?;
    if hold.account_id != session.account.id.as_str() {
        return Err(PageError::new(ctx, StatusCode::NOT_FOUND, "error.not_found"));
    }
    Ok(hold)
}

async fn hold_page(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let hold = find_hold(&state, &ctx, &session, &id).await?;
    let now = now_ms();
    let view = hold_view(&hold, ctx.locale, now);
    let stepup = step_up(&state, &session, &format!("/security/holds/{id}"), Some(hold.created_at_ms))
        .await
        .map_err(page_err(&ctx))?;
    let can_lift = hold.in_force(now) && view.next == "self" && stepup.count() >= view.factors as usize;
    let page = HoldPage {
        shell: Shell::new(&ctx, "portal", "security"),
        hold: view,
        stepup,
        can_lift,
        error: None,
        notice: notice_key(&q),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn release(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let now = now_ms();
    match freeze::self_release(&state.db, &state.risk, &session, &id, now).await {
        Ok(_) => Ok(Redirect::to(&format!("/security/thawed/{id}")).into_response()),
        Err(ServiceError::Refused { code, .. }) => {
            let hold = find_hold(&state, &ctx, &session, &id).await?;
            let stepup = step_up(&state, &session, &format!("/security/holds/{id}"), Some(hold.created_at_ms))
                .await
                .map_err(page_err(&ctx))?;
            let page = HoldPage {
                shell: Shell::new(&ctx, "portal", "security"),
                hold: hold_view(&hold, ctx.locale, now),
                stepup,
                can_lift: false,
                error: Some(format!("sec.refusal.{code}")),
                notice: None,
            };
            Ok(render(StatusCode::FORBIDDEN, &page))
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

#[derive(Template)]
#[template(path = "security/thawed.html")]
struct ThawedPage {
    shell: Shell,
    hold: HoldView,
    cooldown: Option<HoldView>,
    totp: bool,
    passkeys: bool,
}

async fn thawed(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let hold = find_hold(&state, &ctx, &session, &id).await?;
    let now = now_ms();
    let cooldown =
        holds::list(&state.db, session.account.id.as_str(), true, now).await.map_err(page_err(&ctx))?.into_iter().find(
            |h| {
                h.reason.code == holds::COOLDOWN_REASON
                    && h.reason.facts.get("released_hold").and_then(|v| v.as_str()) == Some(hold.id.as_str())
            },
        );
    let enrolled =
        factors::enrolled(&state.db, Subject::Account(session.account.id.as_str())).await.map_err(page_err(&ctx))?;
    let page = ThawedPage {
        hold: hold_view(&hold, ctx.locale, now),
        cooldown: cooldown.map(|c| hold_view(&c, ctx.locale, now)),
        totp: enrolled.totp,
        passkeys: !enrolled.passkeys.is_empty(),
        shell: Shell::new(&ctx, "portal", "security"),
    };
    Ok(render(StatusCode::OK, &page))
}

// ------------------------------------------------------------------ challenge

#[derive(Template)]
#[template(path = "security/challenge.html")]
struct ChallengePage {
    shell: Shell,
    decision_id: String,
    facts: Vec<(String, String)>,
    reasons: Vec<String>,
    stepup: StepUp,
    passed: bool,
    error: Option<String>,
    notice: Option<String>,
}

async fn challenge_page(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    render_challenge(&state, &ctx, &session, &id, notice_key(&q), None, StatusCode::OK).await
}

async fn render_challenge(
    state: &AppState,
    ctx: &PageCtx,
    session: &HolderSession,
    id: &str,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let c = freeze::challenge(&state.db, session, id).await.map_err(page_err(ctx))?;
    let passed = state
        .db
        .conn()
        .await
        .map_err(|e| PageError::from_service(ctx, e.into()))?
        .risk()
        .stored_event(&format!("thaw-challenge-{id}"))
        .await
        .map_err(|e| PageError::from_service(ctx, e.into()))?
        .is_some();
    let e = &c.event;
    let text = |k: &str| e.get(k).and_then(|v| v.as_str()).map(String::from);
    let mut facts = Vec::new();
    if let Some(t) = text("occurred_at") {
        facts.push(("sec.fact.time".to_string(), t));
    }
    let geo = e.get("geo").or_else(|| c.decision.get("geo_lookup"));
    if let Some(g) = geo {
        let place = ["city", "country"]
            .iter()
            .filter_map(|k| g.get(*k).and_then(|v| v.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        if !place.is_empty() {
            facts.push(("sec.fact.place".into(), place));
        }
    }
    for (k, label) in [("ip", "sec.fact.ip"), ("device_id", "sec.fact.device"), ("user_agent", "sec.fact.browser")] {
        if let Some(v) = text(k) {
            facts.push((label.into(), v));
        }
    }
    let key = if ctx.locale == Locale::ZhCn { "zh-CN" } else { "en" };
    let reasons = if confidential(&c.decision) { None } else { c.decision["reasons"].as_array() };
    let reasons = reasons
        .map(|rs| rs.iter().filter_map(|r| r["explanation"][key].as_str().map(String::from)).collect())
        .unwrap_or_default();
    let stepup = step_up(state, session, &format!("/security/challenge/{id}"), None).await.map_err(page_err(ctx))?;
    let page = ChallengePage {
        shell: Shell::new(ctx, "portal", "security"),
        decision_id: id.to_string(),
        facts,
        reasons,
        stepup,
        passed,
        error,
        notice,
    };
    Ok(render(status, &page))
}

async fn pass_challenge(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    match freeze::pass_challenge(&state.db, &state.risk, &session, &id, now_ms()).await {
        Ok(_) => Ok(redirect_with(&format!("/security/challenge/{id}"), "challenge_passed")),
        Err(ServiceError::Refused { code, .. }) => {
            render_challenge(
                &state,
                &ctx,
                &session,
                &id,
                None,
                Some(format!("sec.refusal.{code}")),
                StatusCode::FORBIDDEN,
            )
            .await
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

// ------------------------------------------------------------------ verifying factors

#[derive(serde::Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

fn factor_notice(e: &FactorError) -> &'static str {
    match e {
        FactorError::WrongCode | FactorError::NotEnrolled => "wrong_code",
        FactorError::Replayed => "code_replayed",
        FactorError::Throttled { .. } => "throttled",
        FactorError::AlreadyEnrolled => "factor_already_enrolled",
        FactorError::PasskeysUnavailable => "passkeys_unavailable",
        FactorError::PasskeyRejected => "passkey_rejected",
        FactorError::Service(_) => "wrong_code",
    }
}

/// After a verification form: back to where it came from with a notice.
async fn verified(
    state: &AppState,
    ctx: &PageCtx,
    session: &HolderSession,
    next: Option<&str>,
    factor: &str,
    result: Result<(), FactorError>,
) -> Result<Response, PageError> {
    let next = local_path(next, "/security");
    match result {
        Ok(()) => {
            holder::record_factor(&state.db, session, factor, now_ms()).await.map_err(page_err(ctx))?;
            Ok(redirect_with(&next, "verified"))
        }
        Err(FactorError::Service(e)) => Err(PageError::from_service(ctx, e)),
        Err(e) => Ok(redirect_with(&next, factor_notice(&e))),
    }
}

async fn verify_totp(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let subject = Subject::Account(session.account.id.as_str());
    let result = factors::totp_verify(&state.db, subject, &form.code, now_ms()).await;
    verified(&state, &ctx, &session, form.next.as_deref(), "totp", result).await
}

async fn verify_recovery(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let subject = Subject::Account(session.account.id.as_str());
    let result = factors::use_recovery_code(&state.db, subject, &form.code, now_ms()).await;
    verified(&state, &ctx, &session, form.next.as_deref(), "recovery", result).await
}

async fn send_email_code(
    State(state): State<AppState>,
    visitor: Visitor,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let next = local_path(form.next.as_deref(), "/security");
    match holder::request_step_up_code(&state.db, &state.security, &session, &visitor.origin(), now_ms()).await {
        Ok(()) => Ok(redirect_with(&next, "code_sent")),
        Err(ServiceError::Throttled { .. }) => Ok(redirect_with(&next, "throttled")),
        Err(ServiceError::Refused { .. }) => Ok(redirect_with(&next, "wrong_code")),
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

async fn verify_email_code(
    State(state): State<AppState>,
    visitor: Visitor,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let next = local_path(form.next.as_deref(), "/security");
    match holder::verify_step_up_code(&state.db, &session, &form.code, &visitor.origin(), now_ms()).await {
        Ok(()) => Ok(redirect_with(&next, "verified")),
        Err(CodeRefusal::Wrong) => Ok(redirect_with(&next, "wrong_code")),
        Err(CodeRefusal::Throttled { .. }) => Ok(redirect_with(&next, "throttled")),
    }
}

/// JSON endpoints of the passkey ceremonies, called by `/static/passkey.js` with the session's
/// CSRF token in `X-CSRF-Token`.
fn csrf_refusal(ctx: &PageCtx, headers: &HeaderMap) -> Option<Response> {
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    ctx.check_csrf(sent).err().map(|_| json_error(StatusCode::FORBIDDEN, "csrf_failed"))
}

fn json_error(status: StatusCode, code: &str) -> Response {
    (status, Json(serde_json::json!({ "error": { "code": code, "message": code.replace('_', " ") } }))).into_response()
}

fn factor_json_error(e: FactorError) -> Response {
    let status = match &e {
        FactorError::Service(_) => StatusCode::INTERNAL_SERVER_ERROR,
        FactorError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        FactorError::PasskeysUnavailable => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    if let FactorError::Service(s) = &e {
        tracing::error!(error = %s, "passkey ceremony failed");
    }
    json_error(status, e.code())
}

async fn passkey_auth_begin(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = csrf_refusal(&ctx, &headers) {
        return r;
    }
    let subject = Subject::Account(session.account.id.as_str());
    match factors::passkey_auth_begin(&state.db, &state.security, subject, now_ms()).await {
        Ok(c) => Json(serde_json::json!({ "ceremony": c.id, "options": c.options })).into_response(),
        Err(e) => factor_json_error(e),
    }
}

#[derive(serde::Deserialize)]
struct CeremonyFinish {
    ceremony: String,
    credential: serde_json::Value,
    #[serde(default)]
    label: String,
}

async fn passkey_auth_finish(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    headers: HeaderMap,
    Json(body): Json<CeremonyFinish>,
) -> Response {
    if let Some(r) = csrf_refusal(&ctx, &headers) {
        return r;
    }
    let subject = Subject::Account(session.account.id.as_str());
    let now = now_ms();
    match factors::passkey_auth_finish(&state.db, &state.security, subject, &body.ceremony, &body.credential, now).await
    {
        Ok(()) => match holder::record_factor(&state.db, &session, "passkey", now).await {
            Ok(()) => Json(serde_json::json!({ "verified": true })).into_response(),
            Err(e) => factor_json_error(e.into()),
        },
        Err(e) => factor_json_error(e),
    }
}

// ------------------------------------------------------------------ factors

#[derive(Template)]
#[template(path = "security/factors.html")]
struct FactorsPage {
    shell: Shell,
    stepup: StepUp,
    /// Adding or replacing factors needs a verified factor once any is enrolled.
    needs_step_up: bool,
    totp: Option<TotpSetup>,
    recovery_codes: Vec<String>,
    anti_phishing: String,
    error: Option<String>,
    notice: Option<String>,
}

struct TotpSetup {
    factor_id: String,
    secret: String,
    qr_data_url: String,
}

async fn factors_view(state: &AppState, ctx: &PageCtx, session: &HolderSession) -> Result<FactorsPage, PageError> {
    let stepup = step_up(state, session, "/security/factors", None).await.map_err(page_err(ctx))?;
    let needs_step_up = stepup.must_verify_first();
    let anti_phishing = state
        .db
        .conn()
        .await
        .map_err(|e| PageError::from_service(ctx, e.into()))?
        .accounts()
        .anti_phishing_code(session.account.id.as_str())
        .await
        .map_err(|e| PageError::from_service(ctx, e.into()))?
        .unwrap_or_default();
    Ok(FactorsPage {
        shell: Shell::new(ctx, "portal", "factors"),
        stepup,
        needs_step_up,
        totp: None,
        recovery_codes: Vec::new(),
        anti_phishing,
        error: None,
        notice: None,
    })
}

async fn factors_page(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let mut page = factors_view(&state, &ctx, &session).await?;
    page.notice = notice_key(&q);
    Ok(render(StatusCode::OK, &page))
}

/// Changing factors once any exists needs a factor verified in this session.
fn guard_change(page: &FactorsPage) -> Option<Response> {
    page.needs_step_up.then(|| redirect_with("/security/factors", "need_factor"))
}

async fn totp_begin(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let mut page = factors_view(&state, &ctx, &session).await?;
    if let Some(r) = guard_change(&page) {
        return Ok(r);
    }
    let subject = Subject::Account(session.account.id.as_str());
    let name = session
        .account
        .email
        .as_ref()
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|| session.account.id.as_str().to_string());
    match factors::totp_begin(&state.db, subject, &name, now_ms()).await {
        Ok(e) => {
            page.totp = Some(TotpSetup {
                factor_id: e.factor_id,
                secret: e.secret,
                qr_data_url: super::svg_data_url(&e.qr_svg),
            });
            Ok(render(StatusCode::OK, &page))
        }
        Err(FactorError::Service(e)) => Err(PageError::from_service(&ctx, e)),
        Err(e) => {
            page.error = Some(format!("sec.notice.{}", factor_notice(&e)));
            Ok(render(StatusCode::CONFLICT, &page))
        }
    }
}

async fn totp_confirm(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<super::TotpConfirmForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let subject = Subject::Account(session.account.id.as_str());
    let now = now_ms();
    match factors::totp_confirm(&state.db, subject, &form.factor_id, &form.code, now).await {
        Ok(codes) => {
            // Enrolling proves the new factor: it counts for step-up right away.
            holder::record_factor(&state.db, &session, "totp", now).await.map_err(page_err(&ctx))?;
            let mut page = factors_view(&state, &ctx, &session).await?;
            page.recovery_codes = codes.unwrap_or_default();
            page.notice = Some("sec.notice.enrolled".into());
            Ok(render(StatusCode::OK, &page))
        }
        Err(FactorError::Service(e)) => Err(PageError::from_service(&ctx, e)),
        Err(e) => {
            let mut page = factors_view(&state, &ctx, &session).await?;
            page.error = Some(format!("sec.notice.{}", factor_notice(&e)));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn new_recovery_codes(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let mut page = factors_view(&state, &ctx, &session).await?;
    if let Some(r) = guard_change(&page) {
        return Ok(r);
    }
    let subject = Subject::Account(session.account.id.as_str());
    page.recovery_codes = factors::new_recovery_codes(&state.db, subject, now_ms()).await.map_err(page_err(&ctx))?;
    page.stepup.enrolled.recovery_codes_left = page.recovery_codes.len() as i64;
    Ok(render(StatusCode::OK, &page))
}

async fn passkey_register_begin(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(r) = csrf_refusal(&ctx, &headers) {
        return Ok(r);
    }
    if step_up(&state, &session, "/security/factors", None).await.map_err(page_err(&ctx))?.must_verify_first() {
        return Ok(json_error(StatusCode::FORBIDDEN, "step_up_required"));
    }
    let subject = Subject::Account(session.account.id.as_str());
    let name = session
        .account
        .email
        .as_ref()
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|| session.account.id.as_str().to_string());
    Ok(match factors::passkey_register_begin(&state.db, &state.security, subject, &name, now_ms()).await {
        Ok(c) => Json(serde_json::json!({ "ceremony": c.id, "options": c.options })).into_response(),
        Err(e) => factor_json_error(e),
    })
}

async fn passkey_register_finish(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    headers: HeaderMap,
    Json(body): Json<CeremonyFinish>,
) -> Response {
    if let Some(r) = csrf_refusal(&ctx, &headers) {
        return r;
    }
    let subject = Subject::Account(session.account.id.as_str());
    let now = now_ms();
    match factors::passkey_register_finish(
        &state.db,
        &state.security,
        subject,
        &body.ceremony,
        &body.credential,
        &body.label,
        now,
    )
    .await
    {
        Ok(codes) => {
            let _ = holder::record_factor(&state.db, &session, "passkey", now).await;
            Json(serde_json::json!({ "registered": true, "recovery_codes": codes.unwrap_or_default() })).into_response()
        }
        Err(e) => factor_json_error(e),
    }
}

#[derive(serde::Deserialize)]
struct AntiPhishingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// The anti-phishing code's rules: 8 to 32 characters, letters and digits only.
pub fn check_anti_phishing(code: &str) -> Result<String, &'static str> {
    let code = code.trim();
    let n = code.chars().count();
    if n < 8 {
        return Err("sec.ap.too_short");
    }
    if n > 32 {
        return Err("sec.ap.too_long");
    }
    if !code.chars().all(char::is_alphanumeric) {
        return Err("sec.ap.letters_digits");
    }
    Ok(code.to_string())
}

async fn set_anti_phishing(
    State(state): State<AppState>,
    HolderCtx(ctx, session): HolderCtx,
    Form(form): Form<AntiPhishingForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    match check_anti_phishing(&form.code) {
        Ok(code) => {
            let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(&ctx, e.into()))?;
            conn.accounts()
                .set_anti_phishing_code(session.account.id.as_str(), &code, now_ms())
                .await
                .map_err(|e| PageError::from_service(&ctx, e.into()))?;
            Ok(redirect_with("/security/factors", "anti_phishing_saved"))
        }
        Err(rule) => {
            let mut page = factors_view(&state, &ctx, &session).await?;
            page.anti_phishing = form.code.chars().take(64).collect();
            page.error = Some(rule.into());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

// ------------------------------------------------------------------ history

#[derive(Template)]
#[template(path = "security/history.html")]
struct HistoryPage {
    shell: Shell,
    rows: Vec<HistoryRow>,
    alerts: Vec<AlertView>,
}

struct HistoryRow {
    time: String,
    kind: String,
    ip: String,
    place: String,
    device: String,
    action: String,
    result: String,
    reasons: Vec<String>,
}

async fn history(State(state): State<AppState>, HolderCtx(ctx, session): HolderCtx) -> Result<Response, PageError> {
    let account_id = session.account.id.as_str();
    let rows = state
        .db
        .conn()
        .await
        .map_err(|e| PageError::from_service(&ctx, e.into()))?
        .risk()
        .history(account_id, 100)
        .await
        .map_err(|e| PageError::from_service(&ctx, e.into()))?;
    let l = ctx.locale;
    let key = if l == Locale::ZhCn { "zh-CN" } else { "en" };
    let rows = rows
        .iter()
        .filter_map(|(e, d)| {
            let e: serde_json::Value = serde_json::from_str(e).ok()?;
            let d: serde_json::Value = serde_json::from_str(d).ok()?;
            let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            let geo = e.get("geo").or_else(|| d.get("geo_lookup"));
            let place = geo
                .map(|g| {
                    ["city", "country"]
                        .iter()
                        .filter_map(|k| g.get(*k).and_then(|v| v.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let device = [s(&e, "device_id"), s(&e, "user_agent")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            let action = s(&d, "action");
            Some(HistoryRow {
                time: s(&d, "occurred_at").replace('T', " ").trim_end_matches('Z').to_string(),
                kind: crate::i18n::text(l, &format!("sec.event.{}", s(&d, "event_kind"))).to_string(),
                ip: s(&e, "ip"),
                place,
                device,
                result: crate::i18n::text(l, &format!("sec.action.{action}")).to_string(),
                action,
                reasons: if confidential(&d) {
                    vec![crate::i18n::text(l, "sec.compliance_review").to_string()]
                } else {
                    d["reasons"]
                        .as_array()
                        .map(|rs| rs.iter().filter_map(|r| r["explanation"][key].as_str().map(String::from)).collect())
                        .unwrap_or_default()
                },
            })
        })
        .collect();
    let recent = alerts::for_account(&state.db, account_id, 50).await.map_err(page_err(&ctx))?;
    let page = HistoryPage {
        shell: Shell::new(&ctx, "portal", "history"),
        rows,
        alerts: recent.iter().map(|a| alert_view(a, l)).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Whether a decision placed a confidential (compliance) hold: then its reasons stay with staff.
fn confidential(decision: &serde_json::Value) -> bool {
    decision["holds"].as_array().is_some_and(|hs| hs.iter().any(|h| h["confidential"] == true))
}

// ------------------------------------------------------------------ freeze link

#[derive(Template)]
#[template(path = "security/freeze_link.html")]
struct FreezeLinkPage {
    shell: Shell,
    token: String,
    /// confirm | frozen | invalid
    state: &'static str,
}

fn valid_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Looking at the link uses nothing up (mail scanners open links); the button does.
async fn freeze_link_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let live =
        valid_token(&token) && freeze::freeze_link_live(&state.db, &token, now_ms()).await.map_err(page_err(&ctx))?;
    let page = FreezeLinkPage {
        shell: Shell::new(&ctx, "portal", "freeze"),
        token: if live { token } else { String::new() },
        state: if live { "confirm" } else { "invalid" },
    };
    Ok(render(if live { StatusCode::OK } else { StatusCode::GONE }, &page))
}

async fn freeze_by_link(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: PageCtx,
    Path(token): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let result = if valid_token(&token) {
        freeze::freeze_by_link(&state.db, &state.risk, &token, &visitor.origin(), now_ms()).await
    } else {
        Err(ServiceError::Refused { code: "freeze_link_invalid", message: String::new() })
    };
    let (status, page_state) = match result {
        Ok(_) => (StatusCode::OK, "frozen"),
        Err(ServiceError::Refused { .. }) => (StatusCode::GONE, "invalid"),
        Err(e) => return Err(PageError::from_service(&ctx, e)),
    };
    let page = FreezeLinkPage { shell: Shell::new(&ctx, "portal", "freeze"), token: String::new(), state: page_state };
    Ok(render(status, &page))
}

// ------------------------------------------------------------------ demo mailbox

#[derive(Template)]
#[template(path = "security/mailbox.html")]
struct MailboxPage {
    shell: Shell,
    emails: Vec<thaw_store::EmailRecord>,
}

impl MailboxPage {
    fn time(&self, ms: &i64) -> String {
        Shell::time(*ms)
    }
}

/// In demo mode, the emails thaw would send (there is no SMTP server in the demo).
async fn mailbox(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<MailboxQuery>,
) -> Result<Response, PageError> {
    if !state.config.demo {
        return Err(PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"));
    }
    let emails =
        mail::recent(&state.db, q.account.as_deref().filter(|a| !a.is_empty()), 50).await.map_err(page_err(&ctx))?;
    Ok(render(StatusCode::OK, &MailboxPage { shell: Shell::new(&ctx, "portal", "mailbox"), emails }))
}

#[derive(serde::Deserialize)]
struct MailboxQuery {
    account: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use thaw_domain::risk::{EventKind, Scope};

    /// Keys chosen at run time (notices, scopes, alert kinds, events, results, refusals, SSO
    /// refusals) exist in both languages, so no page ever shows a raw key.
    #[test]
    fn every_run_time_text_key_exists() {
        let mut keys: Vec<String> = NOTICES.iter().map(|n| format!("sec.notice.{n}")).collect();
        keys.extend(Scope::ALL.iter().map(|s| format!("sec.scope.{}", s.code())));
        keys.extend(alerts::KINDS.iter().map(|k| format!("sec.alert.{k}")));
        keys.extend(EventKind::ALL.iter().map(|k| format!("sec.event.{}", k.code())));
        keys.extend(["allow", "challenge", "hold", "block"].iter().map(|a| format!("sec.action.{a}")));
        keys.extend(
            [
                "hold_not_active",
                "release_only_by_expiry",
                "compliance_only",
                "step_up_required",
                "waiting_period",
                "above_authority",
                "not_allowed",
            ]
            .iter()
            .map(|r| format!("sec.refusal.{r}")),
        );
        use thaw_services::sso::SsoRefusal as R;
        keys.extend(
            [R::Malformed, R::WrongAlgorithm, R::BadSignature, R::Expired, R::TooLong, R::Replayed, R::NotConfigured]
                .iter()
                .map(|r| format!("sec.sso.{}", r.code())),
        );
        keys.extend(["totp", "passkey", "email", "recovery"].iter().map(|f| format!("sec.factor.{f}")));
        for key in keys {
            for l in Locale::ALL {
                assert!(crate::i18n::lookup(l, &key).is_some(), "{key} missing");
            }
        }
    }

    #[test]
    fn anti_phishing_rules_are_named() {
        assert_eq!(check_anti_phishing("short1"), Err("sec.ap.too_short"));
        assert_eq!(check_anti_phishing("has space 123"), Err("sec.ap.letters_digits"));
        assert_eq!(check_anti_phishing(&"a1".repeat(17)), Err("sec.ap.too_long"));
        assert_eq!(check_anti_phishing(" Blue42Harbor ").as_deref(), Ok("Blue42Harbor"));
        assert_eq!(check_anti_phishing("蓝色港湾四十二号").as_deref(), Ok("蓝色港湾四十二号"), "letters of any script");
    }
}
