//! Static files compiled into the binary, so thaw works with no internet: htmx, the stylesheet
//! and the icon.

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const HTMX: &str = include_str!("../static/htmx.min.js");
const CSS: &str = include_str!("../static/thaw.css");
const ICON: &str = include_str!("../static/favicon.svg");
const PASSKEY: &str = include_str!("../static/passkey.js");
const CASES: &str = include_str!("../static/cases.js");
const LIVE: &str = include_str!("../static/live.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/htmx.min.js", get(|| async { asset("text/javascript; charset=utf-8", HTMX) }))
        .route("/static/thaw.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/static/passkey.js", get(|| async { asset("text/javascript; charset=utf-8", PASSKEY) }))
        .route("/static/cases.js", get(|| async { asset("text/javascript; charset=utf-8", CASES) }))
        .route("/static/live.js", get(|| async { asset("text/javascript; charset=utf-8", LIVE) }))
        .route("/static/favicon.svg", get(|| async { asset("image/svg+xml", ICON) }))
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body)
}
