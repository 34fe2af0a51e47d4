//! Server-rendered pages: the staff desk, the account holders' portal, the language switch and
//! friendly error pages. Every page is rendered in the visitor's language and carries the CSRF
//! token for its forms.

mod admin;
pub mod assistant;
pub mod channels;
pub mod desk;
pub mod desk_cases;
pub mod desk_tools;
pub mod knowledge;
pub mod oversight;
pub mod portal;
pub mod portal_cases;
pub mod security;

use crate::auth::{PageCtx, local_path};
use crate::i18n;
use crate::{AppState, cookies};
use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::post;
use thaw_domain::{CaseCategory, Locale, Role, StaffMember};
use thaw_services::now_ms;
use thaw_store::Capabilities;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(desk::router())
        .merge(desk_cases::router())
        .merge(desk_tools::router())
        .merge(portal::router())
        .merge(security::router())
        .merge(portal_cases::router())
        .merge(knowledge::router())
        .merge(assistant::router())
        .merge(oversight::router())
        .merge(channels::router())
        .merge(admin::router())
        .route("/lang", post(switch_language))
}

/// The frame every page shares: language, CSRF token, where we are and who is signed in.
pub struct Shell {
    pub locale: Locale,
    pub csrf: String,
    pub path: String,
    pub staff: Option<StaffMember>,
    /// The signed-in account holder's account id, in the security centre.
    pub holder: Option<String>,
    /// "desk" or "portal": which layout and home link.
    pub area: &'static str,
    /// Which navigation entry is current.
    pub section: &'static str,
}

pub struct LangOption {
    pub code: &'static str,
    pub name: &'static str,
    pub current: bool,
}

impl Shell {
    pub fn new(ctx: &PageCtx, area: &'static str, section: &'static str) -> Shell {
        Shell {
            locale: ctx.locale,
            csrf: ctx.csrf.clone(),
            path: ctx.path.clone(),
            staff: ctx.session.as_ref().map(|s| s.staff.clone()),
            holder: ctx.holder.as_ref().map(|h| h.account.id.as_str().to_string()),
            area,
            section,
        }
    }

    /// The text of `key` in the page's language.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::text(self.locale, key)
    }

    /// The text of `prefix` + `name` (a key chosen at run time), or nothing when unknown.
    pub fn tk(&self, prefix: &str, name: &str) -> &'static str {
        i18n::lookup(self.locale, &format!("{prefix}{name}")).unwrap_or("")
    }

    /// A UTC time, for templates.
    pub fn at(&self, ms: &i64) -> String {
        Shell::time(*ms)
    }

    pub fn lang_options(&self) -> Vec<LangOption> {
        Locale::ALL
            .iter()
            .map(|l| LangOption { code: l.code(), name: l.native_name(), current: *l == self.locale })
            .collect()
    }

    pub fn role_name(&self, role: &Role) -> &'static str {
        role.label(self.locale)
    }

    pub fn category_name(&self, category: &CaseCategory) -> &'static str {
        category.label(self.locale)
    }

    pub fn can_edit_knowledge(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| s.role.can(thaw_domain::Permission::EditKnowledge))
    }

    pub fn can(&self, p: thaw_domain::Permission) -> bool {
        self.staff.as_ref().is_some_and(|s| s.role.can(p))
    }

    pub fn can_read_analytics(&self) -> bool {
        self.can(thaw_domain::Permission::ReadAnalytics)
    }

    pub fn can_read_audit(&self) -> bool {
        self.can(thaw_domain::Permission::ReadAudit)
    }

    pub fn is_admin(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| s.role == Role::Admin)
    }

    /// A UTC time as shown on pages: `2026-11-21 08:30 UTC`.
    pub fn time(ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| "—".into())
    }
}

/// The form that confirms a TOTP enrolment with the app's first code (holders and staff).
#[derive(serde::Deserialize)]
pub struct TotpConfirmForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub factor_id: String,
    #[serde(default)]
    pub code: String,
}

/// An SVG document (a QR code drawn by the server) as a `data:` URL for an `<img>`.
pub fn svg_data_url(svg: &str) -> String {
    use base64::Engine;
    format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg.as_bytes()))
}

/// Renders a template, or the error page if rendering fails.
/// A form that carries only its CSRF token (sign-out, revoke, remove, reload …).
#[derive(serde::Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

/// A form with repeated fields (checkboxes), as `Form<Vec<(String, String)>>` gives it.
pub(crate) struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    /// The first value of `name`; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Html(i18n::FALLBACK_ERROR_PAGE)).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    title: &'static str,
    body: &'static str,
    /// The form field at fault, when there is one.
    field: Option<String>,
}

/// A page that could not be served, shown as a friendly page in the visitor's language.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    key: &'static str,
    locale: Locale,
    csrf: String,
    path: String,
    field: Option<String>,
}

impl PageError {
    /// `key` names the error's texts: `<key>.title` and `<key>.body` in the catalogue.
    pub fn new(ctx: &PageCtx, status: StatusCode, key: &'static str) -> PageError {
        PageError { status, key, locale: ctx.locale, csrf: ctx.csrf.clone(), path: ctx.path.clone(), field: None }
    }

    /// Names the form field at fault on the page.
    pub fn with_field(self, field: Option<String>) -> PageError {
        PageError { field, ..self }
    }

    pub fn bare(locale: Locale, status: StatusCode, key: &'static str) -> PageError {
        PageError { status, key, locale, csrf: String::new(), path: "/".into(), field: None }
    }

    pub fn from_service(ctx: &PageCtx, e: thaw_services::ServiceError) -> PageError {
        use thaw_services::ServiceError as E;
        match e {
            E::NotFound(_) => PageError::new(ctx, StatusCode::NOT_FOUND, "error.not_found"),
            // Pages show these next to their forms where they can; elsewhere, never a 500.
            E::Invalid(_) => PageError::new(ctx, StatusCode::UNPROCESSABLE_ENTITY, "error.bad_request"),
            E::Refused { .. } => PageError::new(ctx, StatusCode::FORBIDDEN, "error.forbidden"),
            E::Conflict { .. } | E::Duplicate { .. } => PageError::new(ctx, StatusCode::CONFLICT, "error.bad_request"),
            E::Throttled { .. } => PageError::new(ctx, StatusCode::TOO_MANY_REQUESTS, "error.throttled"),
            E::Store(s) if s.is_unavailable() => {
                PageError::new(ctx, StatusCode::SERVICE_UNAVAILABLE, "error.unavailable")
            }
            other => {
                tracing::error!(error = %other, "page failed");
                PageError::new(ctx, StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (title, body) = i18n::error_keys(self.key);
        let shell = Shell {
            locale: self.locale,
            csrf: self.csrf,
            path: self.path,
            staff: None,
            holder: None,
            area: "portal",
            section: "",
        };
        render(self.status, &ErrorPage { shell, status: self.status.as_u16(), title, body, field: self.field })
    }
}

/// Unknown paths: JSON under `/api`, a friendly page elsewhere.
pub async fn not_found(uri: Uri, ctx: PageCtx) -> Response {
    if uri.path().starts_with("/api/") || uri.path() == "/api" {
        return crate::error::ApiError::not_found("route").into_response();
    }
    PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found").into_response()
}

/// A known path with another method: JSON under `/api`, a friendly page elsewhere.
pub async fn method_not_allowed(uri: Uri, ctx: PageCtx) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::error::ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept that method",
        )
        .into_response();
    }
    PageError::new(&ctx, StatusCode::METHOD_NOT_ALLOWED, "error.bad_request").into_response()
}

#[derive(serde::Deserialize)]
pub struct LangForm {
    lang: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// Switches the page language: remembered in a cookie, and in the staff member's profile when
/// signed in. Goes back to the page the switch was pressed on.
async fn switch_language(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(form): Form<LangForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&form.csrf)?;
    let Some(locale) = Locale::parse(&form.lang) else {
        return Err(PageError::new(&ctx, StatusCode::UNPROCESSABLE_ENTITY, "error.bad_request"));
    };
    if let Some(session) = &ctx.session {
        let mut conn = state.db.conn().await.map_err(|e| PageError::from_service(&ctx, e.into()))?;
        conn.staff()
            .set_locale(&session.staff.id, locale, now_ms())
            .await
            .map_err(|e| PageError::from_service(&ctx, e.into()))?;
    }
    let mut res = Redirect::to(&local_path(form.next.as_deref(), "/")).into_response();
    let cookie = cookies::set(cookies::LANG, locale.code(), 365 * 86_400, ctx.secure);
    res.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("cookie is a valid header"));
    Ok(res)
}
