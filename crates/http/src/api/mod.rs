//! The JSON API under `/api/v1`, described by an OpenAPI document generated from these handlers
//! (`/api/openapi.json`). Every route but health needs a platform key or a staff session.

pub mod accounts;
pub mod api_keys;
pub mod cases;
pub mod events;
pub mod holds;
pub mod mail;
pub mod oversight;
pub mod policy;
pub mod search;
pub mod webhooks;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use thaw_domain::Permission;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "thaw API", description = "Account protection and recovery desk: the platform's interface. Authenticate with `Authorization: Bearer <API key>`, or with a staff session cookie plus `X-CSRF-Token` on writes. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    modifiers(&Security),
    components(schemas(ErrorBody)),
    tags((name = "health", description = "Liveness"), (name = "accounts", description = "The platform's users, mirrored"),
        (name = "risk", description = "Events in, decisions out; the risk policy"), (name = "holds", description = "Holds and the enforcement status"),
        (name = "webhooks", description = "Signed webhooks to the platform (admins)"), (name = "api-keys", description = "Platform API keys (admins)"),
        (name = "cases", description = "Cases of the desk: open, list, read"),
        (name = "knowledge", description = "Search of the knowledge base and case messages"),
        (name = "oversight", description = "Analytics, the audit log and the official-channel checker"))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "staff_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("thaw_session"))),
        );
    }
}

/// The API routes and the OpenAPI document describing them.
pub fn router() -> (Router<AppState>, Arc<utoipa::openapi::OpenApi>) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(accounts::list_accounts))
        .routes(routes!(accounts::get_account, accounts::put_account))
        .routes(routes!(api_keys::list_keys, api_keys::create_key))
        .routes(routes!(api_keys::revoke_key))
        .routes(routes!(whoami))
        .routes(routes!(events::post_event))
        .routes(routes!(events::post_batch))
        .routes(routes!(holds::status))
        .routes(routes!(holds::list, holds::place))
        .routes(routes!(holds::get))
        .routes(routes!(holds::release))
        .routes(routes!(holds::decisions))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::remove))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(policy::show))
        .routes(routes!(policy::reload))
        .routes(routes!(cases::open, cases::list))
        .routes(routes!(cases::get))
        .routes(routes!(mail::inbound))
        .routes(routes!(search::search))
        .routes(routes!(oversight::section))
        .routes(routes!(oversight::audit))
        .routes(routes!(oversight::check))
        .split_for_parts();
    let doc = Arc::new(doc);
    let served = doc.clone();
    let router = router.route(
        "/api/openapi.json",
        get(move |caller: Result<Caller, ApiError>| {
            let doc = served.clone();
            async move {
                match caller.and_then(|c| c.require(Permission::ReadApiDocs)) {
                    Ok(()) => Json(doc.as_ref().clone()).into_response(),
                    Err(e) => e.into_response(),
                }
            }
        }),
    );
    (router, doc)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    status: String,
}

/// Liveness of the API. Needs no authentication.
#[utoipa::path(get, path = "/api/v1/health", tag = "health", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Whoami {
    /// `api_key` or `staff`.
    kind: String,
    /// The key's or the staff member's id.
    id: String,
    /// The key's name or the staff member's display name.
    name: String,
    /// The staff member's role; absent for keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
}

/// Who the credentials belong to: lets a platform check its key.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "health",
    responses((status = 200, body = Whoami), (status = 401, body = ErrorBody)),
    security(("api_key" = []), ("staff_session" = [])))]
async fn whoami(caller: Caller) -> Response {
    let me = match caller {
        Caller::ApiKey(k) => Whoami { kind: "api_key".into(), id: k.id, name: k.name, role: None },
        Caller::Staff(s) => Whoami {
            kind: "staff".into(),
            id: s.staff.id,
            name: s.staff.display_name,
            role: Some(s.staff.role.code().into()),
        },
    };
    Json(me).into_response()
}
