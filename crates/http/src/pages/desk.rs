//! The staff desk: sign-in and sign-out, the home page, the account directory and (for admins)
//! platform API keys.

use super::{CsrfForm, PageError, Shell, render};
use crate::auth::{PageCtx, StaffCtx, local_path, url_encode};
use crate::middleware::client_ip;
use crate::{AppState, cookies};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::net::SocketAddr;
use thaw_domain::risk::{Hold, HoldStatus};
use thaw_domain::{Account, Locale, Permission, StaffMember};
use thaw_services::signin::{self, Origin};
use thaw_services::{ServiceError, accounts, api_keys, now_ms};
use thaw_store::Capabilities;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/desk", get(home))
        .route("/desk/sign-in", get(sign_in_page).post(sign_in))
        .route("/desk/sign-out", post(sign_out))
        .route("/desk/sso/start", get(sso_start))
        .route("/desk/sso/callback", get(sso_callback))
        .route("/desk/accounts", get(account_list))
        .route("/desk/accounts/{id}", get(account_detail))
        .route("/desk/holds/{id}/release", post(release_hold))
        .route("/desk/security", get(security_page))
        .route("/desk/security/totp", post(totp_begin))
        .route("/desk/security/totp/confirm", post(totp_confirm))
        .route("/desk/security/require-totp", post(require_totp))
        .route("/desk/api-keys", get(key_list).post(key_create))
        .route("/desk/api-keys/{id}/revoke", post(key_revoke))
}

#[derive(Template)]
#[template(path = "desk/signin.html")]
struct SignInPage {
    shell: Shell,
    next: String,
    email: String,
    error: Option<&'static str>,
    retry_minutes: Option<i64>,
    signed_out: bool,
    /// Staff single sign-on is configured: the page offers it.
    sso: bool,
}

impl SignInPage {
    fn new(ctx: &PageCtx, state: &AppState, next: String) -> SignInPage {
        SignInPage {
            shell: Shell::new(ctx, "desk", "sign_in"),
            next,
            email: String::new(),
            error: None,
            retry_minutes: None,
            signed_out: false,
            sso: state.security.staff_sso.is_some(),
        }
    }
}

#[derive(serde::Deserialize)]
struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

async fn sign_in_page(State(state): State<AppState>, ctx: PageCtx, Query(q): Query<SignInQuery>) -> Response {
    if ctx.session.is_some() {
        return Redirect::to(&local_path(q.next.as_deref(), "/desk")).into_response();
    }
    let page = SignInPage {
        signed_out: q.signed_out.is_some(),
        ..SignInPage::new(&ctx, &state, local_path(q.next.as_deref(), "/desk"))
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// The authenticator code, for staff who set up TOTP.
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: PageCtx,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let ip = client_ip(&headers, peer, state.config.behind_proxy);
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let next = local_path(form.next.as_deref(), "/desk");
    let failed = |status, error, retry_minutes| {
        let page = SignInPage {
            email: form.email.clone(),
            error: Some(error),
            retry_minutes,
            ..SignInPage::new(&ctx, &state, next.clone())
        };
        Ok(render(status, &page))
    };
    let origin = Origin { ip: &ip, user_agent };
    match signin::sign_in_with_code(&state.db, &form.email, &form.password, &form.code, &origin, now_ms()).await {
        Ok(session) => Ok(signed_in(&state, &ctx, &headers, session, &next).await),
        Err(ServiceError::BadCredentials) => failed(StatusCode::UNAUTHORIZED, "desk.signin.bad_credentials", None),
        Err(ServiceError::Refused { code: "totp_required", .. }) => {
            failed(StatusCode::UNAUTHORIZED, "desk.signin.totp_required", None)
        }
        Err(ServiceError::Throttled { retry_after_secs }) => {
            failed(StatusCode::TOO_MANY_REQUESTS, "desk.signin.throttled", Some((retry_after_secs + 59) / 60))
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

/// The answer to a successful sign-in: the session cookie, then the page asked for.
async fn signed_in(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    session: signin::NewSession,
    next: &str,
) -> Response {
    // A session presented before signing in is ended: a fresh token every sign-in (no fixation).
    if let Some(old) = &ctx.session {
        let _ = signin::sign_out(&state.db, old).await;
    }
    let mut res = Redirect::to(next).into_response();
    let max_age = (session.expires_at_ms - now_ms()) / 1000;
    let cookie = cookies::set(cookies::SESSION, &session.token, max_age, ctx.secure);
    res.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("valid cookie"));
    let lang = cookies::set(cookies::LANG, session.staff.locale.code(), 365 * 86_400, ctx.secure);
    if cookies::get(headers, cookies::LANG).is_none() {
        res.headers_mut().append(header::SET_COOKIE, lang.parse().expect("valid cookie"));
    }
    res
}

/// What the browser keeps between the start of a single sign-on and the provider's callback.
#[derive(serde::Serialize, serde::Deserialize)]
struct SsoPending {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

/// How long a single sign-on may take at the provider.
const SSO_PENDING_SECS: i64 = 600;

/// Sends the browser to the organisation's provider (authorisation code with PKCE).
async fn sso_start(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<SignInQuery>,
) -> Result<Response, PageError> {
    let next = local_path(q.next.as_deref(), "/desk");
    let Some(sso) = &state.security.staff_sso else {
        return Err(PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"));
    };
    let start = match sso.start().await {
        Ok(start) => start,
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "staff single sign-on could not start");
            let page = SignInPage { error: Some("desk.signin.sso_unavailable"), ..SignInPage::new(&ctx, &state, next) };
            return Ok(render(StatusCode::SERVICE_UNAVAILABLE, &page));
        }
    };
    let pending = SsoPending { state: start.state, nonce: start.nonce, verifier: start.verifier, next };
    let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&pending).expect("serialisable"));
    let mut res = Redirect::to(&start.url).into_response();
    let cookie = cookies::set(cookies::SSO_PENDING, &value, SSO_PENDING_SECS, ctx.secure);
    res.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("valid cookie"));
    Ok(res)
}

#[derive(serde::Deserialize)]
struct SsoCallback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider's answer: the state must be the one this browser was given; the code is then
/// exchanged, the ID token validated and the staff member signed in.
async fn sso_callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: PageCtx,
    Query(q): Query<SsoCallback>,
) -> Result<Response, PageError> {
    let Some(sso) = &state.security.staff_sso else {
        return Err(PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"));
    };
    let pending = cookies::get(&headers, cookies::SSO_PENDING)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|bytes| serde_json::from_slice::<SsoPending>(&bytes).ok());
    let next = pending.as_ref().map(|p| local_path(Some(&p.next), "/desk")).unwrap_or_else(|| "/desk".into());
    let failed = |status: StatusCode, error: &'static str| {
        let mut res = render(status, &SignInPage { error: Some(error), ..SignInPage::new(&ctx, &state, next.clone()) });
        let clear = cookies::set(cookies::SSO_PENDING, "", 0, ctx.secure);
        res.headers_mut().append(header::SET_COOKIE, clear.parse().expect("valid cookie"));
        Ok(res)
    };
    if let Some(error) = &q.error {
        tracing::info!(error = %error.chars().take(60).collect::<String>(), "the provider refused the single sign-on");
        return failed(StatusCode::UNAUTHORIZED, "desk.signin.sso_refused");
    }
    let (Some(pending), Some(code), Some(returned_state)) = (pending, q.code.as_deref(), q.state.as_deref()) else {
        return failed(StatusCode::BAD_REQUEST, "desk.signin.sso_expired");
    };
    if !thaw_services::same_secret(&pending.state, returned_state) {
        return failed(StatusCode::BAD_REQUEST, "desk.signin.sso_expired");
    }
    let identity = match sso.finish(code, &pending.verifier, &pending.nonce, now_ms()).await {
        Ok(identity) => identity,
        Err(thaw_services::oidc::OidcError::NoRole) => return failed(StatusCode::FORBIDDEN, "desk.signin.sso_no_role"),
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "staff single sign-on failed");
            return failed(StatusCode::UNAUTHORIZED, "desk.signin.sso_failed");
        }
    };
    thaw_store::audit::set_actor(format!("sso:{}", identity.subject));
    let ip = client_ip(&headers, peer, state.config.behind_proxy);
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin = Origin { ip: &ip, user_agent };
    match signin::sign_in_with_identity(&state.db, &identity, ctx.locale, &origin, now_ms()).await {
        Ok(session) => {
            let mut res = signed_in(&state, &ctx, &headers, session, &next).await;
            let clear = cookies::set(cookies::SSO_PENDING, "", 0, ctx.secure);
            res.headers_mut().append(header::SET_COOKIE, clear.parse().expect("valid cookie"));
            Ok(res)
        }
        Err(ServiceError::Refused { code, .. }) => {
            tracing::info!(code, "staff single sign-on refused");
            let key = match code {
                "sso_no_role" => "desk.signin.sso_no_role",
                "staff_inactive" => "desk.signin.sso_inactive",
                "sso_subject_mismatch" => "desk.signin.sso_mismatch",
                _ => "desk.signin.sso_unknown",
            };
            failed(StatusCode::FORBIDDEN, key)
        }
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

async fn sign_out(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let Some(session) = &ctx.session else {
        return Ok(Redirect::to("/desk/sign-in").into_response());
    };
    ctx.check_csrf(&form.csrf)?;
    signin::sign_out(&state.db, session).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let mut res = Redirect::to("/desk/sign-in?signed_out=1").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, cookies::set(cookies::SESSION, "", 0, ctx.secure).parse().expect("valid cookie"));
    Ok(res)
}

#[derive(Template)]
#[template(path = "desk/home.html")]
struct Home {
    shell: Shell,
    staff: StaffMember,
    account_count: i64,
    staff_count: usize,
}

async fn home(State(state): State<AppState>, StaffCtx(ctx, session): StaffCtx) -> Result<Response, PageError> {
    let fail = |e: thaw_store::StoreError| PageError::from_service(&ctx, e.into());
    let mut conn = state.db.conn().await.map_err(fail)?;
    let account_count = conn.accounts().count().await.map_err(fail)?;
    let staff_count = conn.staff().list().await.map_err(fail)?.len();
    let page = Home { shell: Shell::new(&ctx, "desk", "home"), staff: session.staff, account_count, staff_count };
    Ok(render(StatusCode::OK, &page))
}

/// An account as a row on a page.
struct AccountView {
    id: String,
    email: String,
    phone: String,
    locale: &'static str,
    kyc_level: i64,
    vip_level: i64,
    created: String,
    updated: String,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        AccountView {
            id: a.id.to_string(),
            email: a.email.map(|e| e.to_string()).unwrap_or_else(|| "—".into()),
            phone: a.phone.map(|p| p.as_str().to_string()).unwrap_or_else(|| "—".into()),
            locale: a.locale.code(),
            kyc_level: a.kyc_level,
            vip_level: a.vip_level,
            created: Shell::time(a.created_at_ms),
            updated: Shell::time(a.updated_at_ms),
        }
    }
}

#[derive(Template)]
#[template(path = "desk/accounts.html")]
struct AccountList {
    shell: Shell,
    q: String,
    accounts: Vec<AccountView>,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
}

const PAGE_SIZE: i64 = 25;

async fn account_list(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAccounts)?;
    let page = q.page.unwrap_or(1).max(1);
    let prefix = Some(q.q.trim()).filter(|s| !s.is_empty());
    let (accounts, total) = accounts::list(&state.db, prefix, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let link = |p: i64| format!("/desk/accounts?q={}&page={p}", url_encode(q.q.trim()));
    let view = AccountList {
        shell: Shell::new(&ctx, "desk", "accounts"),
        q: q.q.clone(),
        accounts: accounts.into_iter().map(AccountView::from).collect(),
        total,
        page,
        pages,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
    };
    Ok(render(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "desk/account.html")]
struct AccountDetail {
    shell: Shell,
    account: AccountView,
    holds: Vec<HoldView>,
    decisions: Vec<DecisionView>,
    /// Whether the staff member may ask to lift holds (the hold's policy still decides).
    can_release: bool,
    /// The outcome of the last lift: a text key.
    notice: Option<&'static str>,
    refused: Option<&'static str>,
    /// The VIP account's dedicated agent, and who could be (for supervisors).
    dedicated: String,
    agents: Vec<(String, String, bool)>,
    can_set_dedicated: bool,
}

#[derive(serde::Deserialize)]
struct AccountQuery {
    released: Option<String>,
    refused: Option<String>,
    dedicated: Option<String>,
}

/// The text key of a refusal code from the release policy.
fn refusal_key(code: &str) -> &'static str {
    match code {
        "compliance_only" => "desk.refused.compliance_only",
        "release_only_by_expiry" => "desk.refused.release_only_by_expiry",
        "above_authority" => "desk.refused.above_authority",
        "hold_not_active" => "desk.refused.hold_not_active",
        _ => "desk.refused.not_allowed",
    }
}

/// A hold as a row on the desk: its explanation in the page's language.
struct HoldView {
    id: String,
    scopes: String,
    code: String,
    explanation: String,
    release_key: &'static str,
    status_key: &'static str,
    in_force: bool,
    created: String,
    expires: String,
}

impl HoldView {
    fn new(h: Hold, locale: Locale, now: i64) -> HoldView {
        HoldView {
            id: h.id.clone(),
            in_force: h.in_force(now),
            scopes: h.scopes.scopes().iter().map(|s| s.code()).collect::<Vec<_>>().join(", "),
            explanation: match locale {
                Locale::ZhCn => h.reason.explanation.zh_cn,
                Locale::En => h.reason.explanation.en,
            },
            code: h.reason.code,
            release_key: match h.release.code() {
                "owner_one_factor" => "desk.release.owner_one_factor",
                "owner_two_factors" => "desk.release.owner_two_factors",
                "expiry_only" => "desk.release.expiry_only",
                "agent" => "desk.release.agent",
                _ => "desk.release.compliance_only",
            },
            status_key: match h.status {
                HoldStatus::Active if h.expires_at_ms.is_some_and(|e| e <= now) => "desk.hold.expired",
                HoldStatus::Active => "desk.hold.active",
                HoldStatus::Released => "desk.hold.released",
                HoldStatus::Expired => "desk.hold.expired",
            },
            created: Shell::time(h.created_at_ms),
            expires: h.expires_at_ms.map(Shell::time).unwrap_or_else(|| "—".into()),
        }
    }
}

struct DecisionView {
    at: String,
    kind: String,
    /// The credit of the city database, when the place was looked up there.
    attribution: Option<String>,
    action: String,
    explanations: Vec<String>,
}

impl DecisionView {
    fn new(d: &serde_json::Value, locale: Locale) -> DecisionView {
        let at = d["occurred_at"].as_str().or(d["decided_at"].as_str()).unwrap_or_default();
        DecisionView {
            at: format!("{} UTC", at.replace('T', " ").chars().take(16).collect::<String>()),
            kind: d["event_kind"].as_str().unwrap_or_default().to_string(),
            attribution: d["geo_lookup"]["attribution"].as_str().map(String::from),
            action: d["action"].as_str().unwrap_or_default().to_string(),
            explanations: d["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["explanation"][locale.code()].as_str().unwrap_or_default().to_string())
                .collect(),
        }
    }
}

async fn account_detail(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(id): Path<String>,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAccounts)?;
    let fail = |e| PageError::from_service(&ctx, e);
    let account = accounts::get(&state.db, &id).await.map_err(fail)?;
    let now = now_ms();
    let holds = thaw_services::holds::list(&state.db, &id, false, now).await.map_err(fail)?;
    let decisions = thaw_services::events::decisions(&state.db, &id, now - 7 * 86_400_000, 50).await.map_err(fail)?;
    let (dedicated_id, staff) = {
        let mut conn = state.db.conn().await.map_err(|e| fail(e.into()))?;
        (
            conn.cases().dedicated_agent(&id).await.map_err(|e| fail(e.into()))?,
            conn.staff().list().await.map_err(|e| fail(e.into()))?,
        )
    };
    let agents: Vec<(String, String, bool)> = staff
        .iter()
        .filter(|s| {
            s.active
                && matches!(
                    s.role,
                    thaw_domain::Role::AgentT1 | thaw_domain::Role::AgentT2 | thaw_domain::Role::Supervisor
                )
        })
        .map(|s| {
            (
                s.id.clone(),
                format!("{} · {}", s.display_name, s.role.label(ctx.locale)),
                Some(&s.id) == dedicated_id.as_ref(),
            )
        })
        .collect();
    let page = AccountDetail {
        dedicated: super::desk_tools::name_of(&staff, dedicated_id.as_deref()),
        agents,
        can_set_dedicated: session.staff.role == thaw_domain::Role::Supervisor,
        shell: Shell::new(&ctx, "desk", "accounts"),
        account: account.into(),
        holds: holds.into_iter().map(|h| HoldView::new(h, ctx.locale, now)).collect(),
        decisions: decisions.iter().map(|d| DecisionView::new(d, ctx.locale)).collect(),
        can_release: session.staff.role.can(Permission::ReleaseHolds),
        notice: q.released.map(|_| "desk.hold.lifted").or(q.dedicated.map(|_| "desk.account.dedicated_saved")),
        refused: q.refused.as_deref().map(refusal_key),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(serde::Deserialize)]
pub(super) struct ReleaseForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) note: String,
}

/// Lifts a hold from the desk if the hold's release policy allows this staff member, then goes
/// back to the account with the outcome.
async fn release_hold(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Path(id): Path<String>,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReleaseHolds)?;
    ctx.check_csrf(&form.csrf)?;
    let (hold, _) = thaw_services::holds::get(&state.db, &id).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let actor = thaw_domain::risk::Actor::Staff { id: session.staff.id.clone(), role: session.staff.role };
    let label = format!("staff:{}", session.staff.id);
    let back = format!("/desk/accounts/{}", url_encode(&hold.account_id));
    match thaw_services::holds::release(&state.db, &state.risk, &id, &actor, &label, form.note.trim(), now_ms()).await {
        Ok(_) => Ok(Redirect::to(&format!("{back}?released=1")).into_response()),
        Err(ServiceError::Refused { code, .. }) => Ok(Redirect::to(&format!("{back}?refused={code}")).into_response()),
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

struct KeyView {
    id: String,
    name: String,
    created: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "desk/api_keys.html")]
struct KeyList {
    shell: Shell,
    keys: Vec<KeyView>,
    created: Option<String>,
    message: Option<&'static str>,
    error: Option<&'static str>,
}

async fn key_page(
    state: &AppState,
    ctx: &PageCtx,
    created: Option<String>,
    message: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let keys = api_keys::list(&state.db).await.map_err(|e| PageError::from_service(ctx, e))?;
    let keys = keys
        .into_iter()
        .map(|k| KeyView {
            id: k.id,
            name: k.name,
            created: Shell::time(k.created_at_ms),
            last_used: k.last_used_at_ms.map(Shell::time).unwrap_or_else(|| "—".into()),
            revoked: k.revoked_at_ms.is_some(),
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render(status, &KeyList { shell: Shell::new(ctx, "desk", "api_keys"), keys, created, message, error }))
}

async fn key_list(State(state): State<AppState>, StaffCtx(ctx, _): StaffCtx) -> Result<Response, PageError> {
    ctx.require(Permission::ManageApiKeys)?;
    key_page(&state, &ctx, None, None, None).await
}

#[derive(serde::Deserialize)]
struct KeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    csrf: String,
}

async fn key_create(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(form): Form<KeyForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageApiKeys)?;
    ctx.check_csrf(&form.csrf)?;
    match api_keys::create(&state.db, &form.name, &format!("staff:{}", session.staff.id)).await {
        Ok(created) => key_page(&state, &ctx, Some(created.plaintext), None, None).await,
        Err(ServiceError::Invalid(_)) => key_page(&state, &ctx, None, None, Some("desk.keys.bad_name")).await,
        Err(e) => Err(PageError::from_service(&ctx, e)),
    }
}

async fn key_revoke(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ManageApiKeys)?;
    ctx.check_csrf(&form.csrf)?;
    state.api_keys.revoke(&state.db, &id).await.map_err(|e| PageError::from_service(&ctx, e))?;
    key_page(&state, &ctx, None, Some("desk.keys.revoked_notice"), None).await
}

// ------------------------------------------------------------------ staff TOTP

#[derive(Template)]
#[template(path = "desk/security.html")]
struct SecurityPage {
    shell: Shell,
    totp: bool,
    must_enrol: bool,
    required: bool,
    setup: Option<(String, String, String)>,
    recovery_codes: Vec<String>,
    error: Option<&'static str>,
}

async fn security_view(
    state: &AppState,
    ctx: &PageCtx,
    session: &signin::StaffSession,
) -> Result<SecurityPage, PageError> {
    let subject = thaw_store::Subject::Staff(&session.staff.id);
    let enrolled =
        thaw_services::factors::enrolled(&state.db, subject).await.map_err(|e| PageError::from_service(ctx, e))?;
    let required = signin::staff_totp_required(&state.db).await.map_err(|e| PageError::from_service(ctx, e))?;
    Ok(SecurityPage {
        shell: Shell::new(ctx, "desk", "security"),
        totp: enrolled.totp,
        must_enrol: session.must_enrol_totp,
        required,
        setup: None,
        recovery_codes: Vec::new(),
        error: None,
    })
}

async fn security_page(State(state): State<AppState>, StaffCtx(ctx, session): StaffCtx) -> Result<Response, PageError> {
    Ok(render(StatusCode::OK, &security_view(&state, &ctx, &session).await?))
}

async fn totp_begin(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let mut page = security_view(&state, &ctx, &session).await?;
    let subject = thaw_store::Subject::Staff(&session.staff.id);
    match thaw_services::factors::totp_begin(&state.db, subject, session.staff.email.as_str(), now_ms()).await {
        Ok(e) => {
            let qr = super::svg_data_url(&e.qr_svg);
            page.setup = Some((e.factor_id, e.secret, qr));
            Ok(render(StatusCode::OK, &page))
        }
        Err(thaw_services::factors::FactorError::Service(e)) => Err(PageError::from_service(&ctx, e)),
        Err(_) => {
            page.error = Some("desk.security.already");
            Ok(render(StatusCode::CONFLICT, &page))
        }
    }
}

async fn totp_confirm(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(form): Form<super::TotpConfirmForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let subject = thaw_store::Subject::Staff(&session.staff.id);
    match thaw_services::factors::totp_confirm(&state.db, subject, &form.factor_id, &form.code, now_ms()).await {
        Ok(codes) => {
            let mut page = security_view(&state, &ctx, &session).await?;
            page.must_enrol = false;
            page.recovery_codes = codes.unwrap_or_default();
            Ok(render(StatusCode::OK, &page))
        }
        Err(thaw_services::factors::FactorError::Service(e)) => Err(PageError::from_service(&ctx, e)),
        Err(_) => {
            let mut page = security_view(&state, &ctx, &session).await?;
            page.error = Some("desk.security.wrong_code");
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(serde::Deserialize)]
struct RequireForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    required: String,
}

/// Admins make TOTP mandatory for all staff (or optional again).
async fn require_totp(
    State(state): State<AppState>,
    StaffCtx(ctx, session): StaffCtx,
    Form(form): Form<RequireForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    ctx.require(Permission::ManageStaff)?;
    signin::require_staff_totp(&state.db, form.required == "true", now_ms())
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?;
    tracing::info!(admin = %session.staff.id, required = %form.required, "staff TOTP requirement changed");
    Ok(Redirect::to("/desk/security").into_response())
}
