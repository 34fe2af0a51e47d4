//! The HTTP face of thaw: the JSON API under `/api`, the staff desk under `/desk`, the account
//! holders' portal at `/`, and the operational endpoints. Handlers parse, authorise (in
//! [`auth`]), call a service and render; errors become responses only in [`error`].

pub mod api;
pub mod assets;
pub mod auth;
pub mod charts;
pub mod cookies;
pub mod error;
pub mod i18n;
pub mod json;
pub mod live;
pub mod middleware;
pub mod ops;
pub mod pages;
pub mod query;

use axum::Router;
use std::sync::Arc;
use thaw_store::Db;

/// The HTTP settings that handlers need.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The address users reach thaw at, e.g. `https://support.example.com`. An `https` URL
    /// makes cookies `Secure` and turns on HSTS.
    pub public_url: String,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a proxy you run).
    pub behind_proxy: bool,
    /// Demo mode: the demo mailbox page shows the emails thaw would send.
    pub demo: bool,
}

impl HttpConfig {
    pub fn is_tls(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { public_url: "http://127.0.0.1:8080".into(), body_limit: 1024 * 1024, behind_proxy: false, demo: false }
    }
}

/// What every handler shares: one pointer, cloned for each request by each layer that needs it.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The database, configuration and services of the application ([`AppState`]).
pub struct Services {
    pub db: Db,
    pub config: Arc<HttpConfig>,
    pub risk: Arc<thaw_services::risk::RiskRuntime>,
    /// Commits concurrent events together.
    pub ingestor: thaw_services::events::Ingestor,
    /// API keys this process verified lately.
    pub api_keys: thaw_services::api_keys::KeyCache,
    /// Single sign-on, passkeys, email and alerts of the security centre.
    pub security: Arc<thaw_services::security::Security>,
    /// The case desk's calendar and SLA policies.
    pub desk: Arc<thaw_services::cases::Desk>,
    /// Case changes for live pages (from every server process).
    pub live: live::Live,
    /// This process's search index of articles and case messages.
    pub search: Arc<thaw_services::search::Search>,
    /// The triage model (trained on first use unless one was saved).
    pub triage: Arc<thaw_services::triage::Triage>,
}

/// The whole application: pages, API, assets and operations, with the middleware stack.
pub fn router(state: AppState) -> Router {
    let (api, _openapi) = api::router();
    Router::new()
        .merge(pages::router())
        .merge(api)
        .merge(ops::router())
        .merge(assets::router())
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::refuse_nul_in_forms))
        .layer(axum::extract::DefaultBodyLimit::max(state.config.body_limit))
        .layer(axum::Extension(json::BodyLimit(state.config.body_limit)))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::csrf_seed))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::audit_context))
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(middleware::panic_response))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
