//! The account holders' portal. Its home page tells holders what thaw does for them and how to
//! recognise fake support; the security centre grows here.

use super::{Shell, render};
use crate::AppState;
use crate::auth::PageCtx;
use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    shell: Shell,
}

async fn home(ctx: PageCtx) -> Response {
    render(StatusCode::OK, &Home { shell: Shell::new(&ctx, "portal", "home") })
}
