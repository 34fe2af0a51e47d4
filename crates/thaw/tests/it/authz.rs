//! The authorisation matrix, on both backends: every route of thaw × every kind of caller,
//! each asserted allowed or refused. The routes are generated, not listed by hand: the pages'
//! from the routers' source (`.route("…", get(…).post(…))` in crates/http/src), the API's from
//! the OpenAPI document the server serves; a route the table below does not cover, or a row for
//! a route that no longer exists, fails the test. Resources are real: holder A's case, hold,
//! attachment and challenge are requested by id by holder B too, who must be refused (404).
//!
//! A request is refused when it is answered 401, 403 or 404, or sent to a sign-in page; any
//! other answer below 500 means the caller got through to the route's own validation (writes
//! carry the caller's CSRF token and an empty form or `{}`, so they change nothing that matters).

use crate::cases::server;
use crate::on_both_backends;
use crate::security::{holder_by_email, put_account};
use crate::support::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use thaw_domain::case::Channel;
use thaw_domain::{CaseCategory, Role};
use thaw_services::cases::{self, CaseActor, Desk, OpenCase};
use thaw_store::Capabilities;

/// The callers, in the order of the access strings of [`MATRIX`].
const CALLERS: [&str; 9] =
    ["anonymous", "holder A", "holder B", "agent T1", "agent T2", "supervisor", "compliance", "admin", "API key"];

/// (method, route as registered, target with fixtures in braces and, after `|`, form fields to
/// send besides the CSRF token; access per caller):
/// `y` allowed, `.` refused, `-` not a question of who calls (its own token or state decides,
/// or, for signing out, there is nothing to refuse; any answer but a server error).
const MATRIX: &[(&str, &str, &str, &str)] = &[
    // Public: assets, operations, the home page, help, the checker, the language switch.
    ("GET", "/static/htmx.min.js", "", "yyyyyyyyy"),
    ("GET", "/static/thaw.css", "", "yyyyyyyyy"),
    ("GET", "/static/passkey.js", "", "yyyyyyyyy"),
    ("GET", "/static/cases.js", "", "yyyyyyyyy"),
    ("GET", "/static/live.js", "", "yyyyyyyyy"),
    ("GET", "/static/favicon.svg", "", "yyyyyyyyy"),
    ("GET", "/healthz", "", "yyyyyyyyy"),
    ("GET", "/readyz", "", "yyyyyyyyy"),
    ("GET", "/metrics", "", "yyyyyyyyy"),
    ("GET", "/", "", "yyyyyyyyy"),
    ("POST", "/lang", "", "yyyyyyyyy"),
    ("GET", "/help", "", "yyyyyyyyy"),
    ("GET", "/help/{slug}", "/help/{article}", "yyyyyyyyy"),
    ("GET", "/check", "/check?value=https://example.com", "yyyyyyyyy"),
    ("GET", "/api/v1/check", "/api/v1/check?value=https://example.com", "yyyyyyyyy"),
    // Token-authorised: a forged token is refused whoever sends it.
    ("GET", "/sso", "/sso?token=forged", "---------"),
    ("GET", "/freeze/{token}", "/freeze/forged-token", "........."),
    ("POST", "/freeze/{token}", "/freeze/forged-token", "........."),
    ("GET", "/cases/rate", "/cases/rate?token=forged", "---------"),
    ("POST", "/cases/rate", "", "---------"),
    ("GET", "/demo/mailbox", "", "........."),
    // Holders' sign-in.
    ("GET", "/security/sign-in", "", "yyyyyyyyy"),
    ("POST", "/security/sign-in", "", "---------"),
    ("POST", "/security/sign-in/code", "", "---------"),
    ("POST", "/security/sign-out", "", "---------"),
    // The security centre: a holder's own account; A's resources by id are A's alone.
    ("GET", "/security", "", ".yy......"),
    ("POST", "/security/freeze", "", ".yy......"),
    ("GET", "/security/holds/{id}", "/security/holds/{hold}", ".y......."),
    ("POST", "/security/holds/{id}/release", "/security/holds/{own_hold}/release", ".y......."),
    ("GET", "/security/thawed/{id}", "/security/thawed/{released}", ".y......."),
    ("GET", "/security/challenge/{id}", "/security/challenge/{challenge}", ".y......."),
    ("POST", "/security/challenge/{id}/pass", "/security/challenge/{challenge}/pass", ".y......."),
    ("POST", "/security/verify/totp", "", ".yy......"),
    ("POST", "/security/verify/recovery", "", ".yy......"),
    ("POST", "/security/verify/email/send", "", ".yy......"),
    ("POST", "/security/verify/email", "", ".yy......"),
    ("POST", "/security/verify/passkey/begin", "", ".yy......"),
    ("POST", "/security/verify/passkey/finish", "", ".yy......"),
    ("GET", "/security/factors", "", ".yy......"),
    ("POST", "/security/factors/totp", "", ".yy......"),
    ("POST", "/security/factors/totp/confirm", "", ".yy......"),
    ("POST", "/security/factors/passkey/begin", "", ".yy......"),
    ("POST", "/security/factors/passkey/finish", "", ".yy......"),
    ("POST", "/security/factors/recovery", "", ".yy......"),
    ("POST", "/security/anti-phishing", "", ".yy......"),
    ("GET", "/security/history", "", ".yy......"),
    ("GET", "/security/assistant", "", ".yy......"),
    ("POST", "/security/assistant", "", ".yy......"),
    ("POST", "/security/assistant/solved", "/security/assistant/solved|session={bot}", ".y......."),
    ("POST", "/security/assistant/human", "/security/assistant/human|session={bot}", ".y......."),
    ("GET", "/security/cases", "", ".yy......"),
    ("POST", "/security/cases", "", ".yy......"),
    ("GET", "/security/cases/new", "", ".yy......"),
    ("GET", "/security/cases/{number}", "/security/cases/{case}", ".y......."),
    ("POST", "/security/cases/{number}/reply", "/security/cases/{case}/reply", ".y......."),
    ("POST", "/security/cases/{number}/rate", "/security/cases/{case}/rate", ".y......."),
    ("POST", "/security/cases/{number}/appeal", "/security/cases/{case}/appeal", ".y......."),
    ("POST", "/security/cases/{number}/escalate", "/security/cases/{case}/escalate", ".y......."),
    ("GET", "/security/cases/{number}/live", "/security/cases/{case}/live", ".y......."),
    (
        "GET",
        "/security/cases/{number}/attachments/{id}",
        "/security/cases/{case}/attachments/{attachment}",
        ".y.......",
    ),
    ("POST", "/security/holds/{id}/case", "/security/holds/{hold}/case", ".y......."),
    ("POST", "/security/holds/{id}/appeal", "/security/holds/{hold}/appeal", ".y......."),
    // The desk: staff only, each area by role.
    ("GET", "/desk/sign-in", "", "yyyyyyyyy"),
    ("POST", "/desk/sign-in", "", "---------"),
    ("GET", "/desk/sso/start", "", "---------"),
    ("GET", "/desk/sso/callback", "", "---------"),
    ("POST", "/desk/sign-out", "", "---------"),
    ("GET", "/desk", "", "...yyyyy."),
    ("GET", "/desk/security", "", "...yyyyy."),
    ("POST", "/desk/security/totp", "", "...yyyyy."),
    ("POST", "/desk/security/totp/confirm", "", "...yyyyy."),
    ("GET", "/desk/accounts", "", "...yyyyy."),
    ("GET", "/desk/accounts/{id}", "/desk/accounts/{account}", "...yyyyy."),
    ("POST", "/desk/accounts/{id}/dedicated-agent", "/desk/accounts/{account}/dedicated-agent", ".....y..."),
    ("GET", "/desk/search", "/desk/search?q=withdrawal", "...yyyyy."),
    ("GET", "/desk/cases", "", "...yyyy.."),
    ("POST", "/desk/cases", "", "...yyyy.."),
    ("GET", "/desk/cases/new", "", "...yyyy.."),
    ("POST", "/desk/presence", "", "...yyyy.."),
    ("GET", "/desk/live", "", "...yyyy.."),
    ("GET", "/desk/cases/{number}", "/desk/cases/{case}", "...yyyy.."),
    ("POST", "/desk/cases/{number}/message", "/desk/cases/{case}/message", "...yyyy.."),
    ("POST", "/desk/cases/{number}/status", "/desk/cases/{case}/status", "...yyyy.."),
    ("POST", "/desk/cases/{number}/assign", "/desk/cases/{case}/assign", "...yyyy.."),
    ("POST", "/desk/cases/{number}/compensate", "/desk/cases/{case}/compensate", "...yyyy.."),
    ("POST", "/desk/cases/{number}/link", "/desk/cases/{case}/link", "...yyyy.."),
    ("POST", "/desk/cases/{number}/unlink", "/desk/cases/{case}/unlink", "...yyyy.."),
    ("POST", "/desk/cases/{number}/merge", "/desk/cases/{case}/merge", "...yyyy.."),
    ("POST", "/desk/cases/{number}/category", "/desk/cases/{case}/category", "...yyyy.."),
    ("GET", "/desk/cases/{number}/attachments/{id}", "/desk/cases/{case}/attachments/{attachment}", "...yyyy.."),
    ("POST", "/desk/cases/{number}/holds/{id}/release", "/desk/cases/{case}/holds/{hold}/release", "...yyyy.."),
    ("POST", "/desk/holds/{id}/release", "/desk/holds/{hold}/release", "...yyyy.."),
    ("GET", "/desk/approvals", "", "...yyyy.."),
    ("POST", "/desk/approvals/{id}/decide", "/desk/approvals/{approval}/decide", ".....y..."),
    ("GET", "/desk/qa", "", "...yyyy.."),
    ("POST", "/desk/qa/{number}", "/desk/qa/{case}", ".....y..."),
    ("GET", "/desk/analytics", "", ".....y.y."),
    ("GET", "/desk/analytics/{file}", "/desk/analytics/volume.csv", ".....y.y."),
    ("GET", "/desk/audit", "", ".....yyy."),
    ("GET", "/desk/audit.csv", "", ".....yyy."),
    ("GET", "/desk/audit/verify", "", ".....yyy."),
    ("GET", "/desk/kb", "", ".....y.y."),
    ("POST", "/desk/kb", "", ".....y.y."),
    ("GET", "/desk/kb/edit", "", ".....y.y."),
    ("GET", "/desk/staff", "", ".......y."),
    ("POST", "/desk/staff/new", "", ".......y."),
    ("POST", "/desk/staff/{id}/limits", "/desk/staff/{member}/limits", ".......y."),
    ("POST", "/desk/staff/{id}/profile", "/desk/staff/{member}/profile", ".......y."),
    ("POST", "/desk/security/require-totp", "", ".......y."),
    ("GET", "/desk/api-keys", "", ".......y."),
    ("POST", "/desk/api-keys", "", ".......y."),
    ("POST", "/desk/api-keys/{id}/revoke", "/desk/api-keys/{spare_key}/revoke", ".......y."),
    ("GET", "/desk/admin", "", ".......y."),
    ("GET", "/desk/admin/settings", "", ".......y."),
    ("POST", "/desk/admin/settings", "", ".......y."),
    ("GET", "/desk/admin/sla", "", ".......y."),
    ("POST", "/desk/admin/sla", "", ".......y."),
    ("GET", "/desk/admin/policy", "", ".......y."),
    ("POST", "/desk/admin/policy", "", ".......y."),
    ("POST", "/desk/admin/policy/reload", "", ".......y."),
    ("GET", "/desk/admin/webhooks", "", ".......y."),
    ("POST", "/desk/admin/webhooks", "", ".......y."),
    ("POST", "/desk/admin/webhooks/{id}/deactivate", "/desk/admin/webhooks/{webhook}/deactivate", ".......y."),
    ("GET", "/desk/admin/channels", "", ".......y."),
    ("POST", "/desk/admin/channels", "", ".......y."),
    ("POST", "/desk/admin/channels/{id}/remove", "/desk/admin/channels/{channel}/remove", ".......y."),
    // The API: a platform key or a staff session (with its CSRF header on writes), by permission.
    ("GET", "/api/v1/health", "", "yyyyyyyyy"),
    ("GET", "/api/openapi.json", "", "...yyyyyy"),
    ("GET", "/api/v1/whoami", "", "...yyyyyy"),
    ("GET", "/api/v1/accounts", "", "...yyyyyy"),
    ("GET", "/api/v1/accounts/{id}", "/api/v1/accounts/{account}", "...yyyyyy"),
    ("PUT", "/api/v1/accounts/{id}", "/api/v1/accounts/{account}", ".......yy"),
    ("GET", "/api/v1/accounts/{id}/status", "/api/v1/accounts/{account}/status", "...yyyyyy"),
    ("GET", "/api/v1/accounts/{id}/holds", "/api/v1/accounts/{account}/holds", "...yyyyyy"),
    ("POST", "/api/v1/accounts/{id}/holds", "/api/v1/accounts/{account}/holds", "....yyy.y"),
    ("GET", "/api/v1/accounts/{id}/decisions", "/api/v1/accounts/{account}/decisions", "...yyyyyy"),
    ("GET", "/api/v1/holds/{id}", "/api/v1/holds/{hold}", "...yyyyyy"),
    ("POST", "/api/v1/holds/{id}/release", "/api/v1/holds/{hold}/release", "...yyyy.y"),
    ("POST", "/api/v1/events", "", "........y"),
    ("POST", "/api/v1/events/batch", "", "........y"),
    ("GET", "/api/v1/cases", "", "...yyyy.y"),
    ("POST", "/api/v1/cases", "", "...yyyy.y"),
    ("GET", "/api/v1/cases/{number}", "/api/v1/cases/{case}", "...yyyy.y"),
    ("POST", "/api/v1/mail/inbound", "", "........y"),
    ("GET", "/api/v1/search", "/api/v1/search?q=withdrawal", "...yyyyyy"),
    ("GET", "/api/v1/analytics/{section}", "/api/v1/analytics/volume", ".....y.y."),
    ("GET", "/api/v1/audit", "", ".....yyy."),
    ("GET", "/api/v1/policy", "", ".......y."),
    ("POST", "/api/v1/policy/reload", "", ".......y."),
    ("GET", "/api/v1/api-keys", "", ".......y."),
    ("POST", "/api/v1/api-keys", "", ".......y."),
    ("DELETE", "/api/v1/api-keys/{id}", "/api/v1/api-keys/{spare_key_2}", ".......y."),
    ("GET", "/api/v1/webhooks", "", ".......y."),
    ("POST", "/api/v1/webhooks", "", ".......y."),
    ("DELETE", "/api/v1/webhooks/{id}", "/api/v1/webhooks/{webhook_2}", ".......y."),
    ("GET", "/api/v1/webhooks/{id}/deliveries", "/api/v1/webhooks/{webhook}/deliveries", ".......y."),
];

/// What a 403 of authorisation looks like: the generic error page, or the API's codes.
const AUTHORISATION_REFUSALS: [&str; 4] = [
    "class=\"card narrow error-page\"",
    "\"code\":\"forbidden\"",
    "\"code\":\"csrf_failed\"",
    "\"code\":\"invalid_api_key\"",
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// Every `(METHOD, path)` registered with `.route(…)` in the source of the HTTP crate.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../http/src");
    let mut found = BTreeSet::new();
    let mut files = vec![dir];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let args = balanced_args(&text[at + ".route(".len()..]);
            let path = args.split('"').nth(1).expect("a route's path is a string literal").to_string();
            for method in methods_at_top_level(&args) {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

/// The text up to the parenthesis closing the one just opened.
fn balanced_args(s: &str) -> String {
    let mut depth = 1;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return s[..i].to_string();
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced .route(")
}

/// The method routers called at the top level of `.route`'s arguments: `get(…).post(…)`.
fn methods_at_top_level(args: &str) -> Vec<&str> {
    let mut depth = 0;
    let mut out = vec![];
    let bytes = args.as_bytes();
    for (i, c) in args.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    let start =
                        args[..i].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |p| p + 1);
                    let word = &args[start..i];
                    let called = start == 0 || matches!(bytes[start - 1], b'.' | b' ' | b',' | b'\n');
                    if called && METHODS.contains(&word) {
                        out.push(word);
                    }
                }
                depth += 1;
            }
            ')' => depth -= 1,
            _ => {}
        }
    }
    out
}

/// A caller: a cookie-keeping client (pages, staff API) or a platform key.
struct Caller {
    client: reqwest::Client,
    csrf: String,
    key: Option<String>,
}

fn fill(target: &str, fixtures: &BTreeMap<&str, String>) -> String {
    let mut out = target.to_string();
    // Fixtures fill both the path and the form fields after `|`.
    for (name, value) in fixtures {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    assert!(!out.contains('{'), "a fixture is missing in {target}");
    out
}

/// Sends the route's request as `caller`; returns whether it was refused, and what it answered.
async fn attempt(s: &TestServer, caller: &Caller, method: &str, target: &str) -> (bool, String) {
    let (path, extra) = target.split_once('|').unwrap_or((target, ""));
    let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(extra.as_bytes()).into_owned().collect();
    fields.push(("csrf".into(), caller.csrf.clone()));
    let url = s.url(path);
    let api = path.starts_with("/api/");
    let mut req = caller.client.request(method.parse().unwrap(), &url);
    if let Some(key) = &caller.key {
        req = req.bearer_auth(key);
    }
    if method != "GET" {
        // Pages' script endpoints read the token from this header, the API from staff sessions.
        req = req.header("x-csrf-token", &caller.csrf);
        if api {
            // Every API body refuses unknown fields: allowed callers get a 422, and nothing happens.
            req = req.json(&json!({"authorisation_probe": true}));
        } else if path.ends_with("/reply") {
            req = req.multipart(reqwest::multipart::Form::new().text("csrf", caller.csrf.clone()).text("body", ""));
        } else {
            req = req.form(&fields);
        }
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = res.status().as_u16();
    let location = res.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string();
    // Sent to sign in and be brought back (signing out also lands there, without `next`).
    let to_sign_in = (location.starts_with("/desk/sign-in") || location.starts_with("/security/sign-in"))
        && location.contains("next=");
    // Streams (live pages) stay open: their headers are the answer.
    let streaming = res.headers().get("content-type").is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"));
    let redirected = res.status().is_redirection();
    let body = if streaming { String::new() } else { res.text().await.unwrap_or_default() };
    let refused = match status {
        // 410: a link that is not (or no longer) valid.
        401 | 404 | 410 => true,
        // The role or the CSRF token refused; not a refusal of the route's own rules (a release
        // policy, a step-up), which answers with its page or its own code.
        403 => AUTHORISATION_REFUSALS.iter().any(|marker| body.contains(marker)),
        _ => redirected && to_sign_in,
    };
    let shown: String = body.chars().take(160).collect();
    (refused, format!("{status} {location} {shown}"))
}

/// The fixtures: holder A's account, case, attachment, holds and challenge; spare staff,
/// keys, webhooks and a channel for the admin's writes; an approval for the supervisor.
async fn fixtures(s: &TestServer, key: &str, holder_a: &Caller, t1_id: &str) -> BTreeMap<&'static str, String> {
    let api = client();
    let now = thaw_services::now_ms();
    let case = cases::open(
        &s.db,
        &Desk::default(),
        OpenCase::new("acct-a", CaseCategory::Other, "Help", "Please help.", Channel::Portal),
        &CaseActor::Holder { account_id: "acct-a".into() },
        now,
    )
    .await
    .unwrap();
    let png =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";
    let form = reqwest::multipart::Form::new().text("csrf", holder_a.csrf.clone()).text("body", "the receipt").part(
        "files",
        reqwest::multipart::Part::bytes(png.to_vec()).file_name("receipt.png").mime_str("image/png").unwrap(),
    );
    let res = holder_a
        .client
        .post(s.url(&format!("/security/cases/{}/reply", case.reference())))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "holder A attached a receipt");
    let attachment = s.db.conn().await.unwrap().cases().attachments(&case.id).await.unwrap()[0].id.clone();
    let place = |body: Value| {
        let api = api.clone();
        let url = s.url("/api/v1/accounts/acct-a/holds");
        let key = key.to_string();
        async move {
            let res = api.post(url).bearer_auth(key).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 201, "hold placed");
            res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
        }
    };
    let hold = place(json!({"scopes": ["withdraw"], "reason_code": "chargeback_review"})).await;
    let own_hold =
        place(json!({"scopes": ["login"], "reason_code": "new_device", "release_policy": "owner_one_factor"})).await;
    let released = place(json!({"scopes": ["trade"], "reason_code": "chargeback_review"})).await;
    let res = api
        .post(s.url(&format!("/api/v1/holds/{released}/release")))
        .bearer_auth(key)
        .json(&json!({"note": "reviewed"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "release: {}", res.text().await.unwrap());

    // A sign-in from a second device asks for a challenge.
    let mut challenge = String::new();
    for (id, device) in [("authz-1", "phone-1"), ("authz-2", "tablet-2")] {
        let event = json!({"id": id, "account_id": "acct-a", "kind": "login_succeeded",
            "occurred_at": thaw_services::rfc3339(thaw_services::now_ms()), "ip": "203.0.113.7",
            "device_id": device, "user_agent": "Test/1.0",
            "geo": {"country": "CN", "city": "Shanghai", "lat": 31.23, "lon": 121.47}});
        let d: Value =
            api.post(s.url("/api/v1/events")).bearer_auth(key).json(&event).send().await.unwrap().json().await.unwrap();
        if let Some(url) = d["challenge_url"].as_str() {
            challenge = url.rsplit('/').next().unwrap().to_string();
        }
    }
    assert!(!challenge.is_empty(), "the second device was challenged");

    let member = thaw_services::staff::create(
        &s.db,
        &thaw_domain::NewStaff::validate(
            &format!("{}@desk.example", unique("spare")),
            None,
            "agent_t1",
            thaw_domain::Skills::default(),
            5,
            thaw_domain::Locale::En,
        )
        .unwrap(),
        "correct horse battery",
    )
    .await
    .unwrap();
    let spare_key = thaw_services::api_keys::create(&s.db, "spare", "test").await.unwrap().record.id;
    let spare_key_2 = thaw_services::api_keys::create(&s.db, "spare 2", "test").await.unwrap().record.id;
    let hook = |n: &str| {
        let url = format!("https://hooks.example/{n}");
        let db = s.db.clone();
        async move {
            thaw_services::webhooks::register(&db, &url, &["hold.created".to_string()], None, "test").await.unwrap().id
        }
    };
    let webhook = hook("one").await;
    let webhook_2 = hook("two").await;
    let channel =
        thaw_services::channels::add(&s.db, "domain", "spare.example", "Spare", "test", now).await.unwrap().id;
    let t1 = CaseActor::Staff { id: t1_id.into(), role: Role::AgentT1, name: "Agent".into() };
    let approval = match thaw_services::approvals::compensate(&s.db, &case, &t1, "1000000", "USDT", "goodwill", now)
        .await
        .unwrap()
    {
        thaw_services::approvals::Outcome::Requested(a) => a.id.clone(),
        thaw_services::approvals::Outcome::Done(_) => panic!("a million is beyond an agent's authority"),
    };
    let res = holder_a
        .client
        .post(s.url("/security/assistant"))
        .form(&[("csrf", holder_a.csrf.as_str()), ("message", "I cannot withdraw")])
        .send()
        .await
        .unwrap();
    let asked = res.headers()["location"].to_str().unwrap().to_string();
    let bot = asked.split_once("?s=").unwrap_or_else(|| panic!("a conversation began: {asked}")).1.to_string();
    let article =
        s.db.conn().await.unwrap().texts().published().await.unwrap().first().expect("shipped articles").slug.clone();

    BTreeMap::from([
        ("account", "acct-a".to_string()),
        ("case", case.reference()),
        ("case_id", case.id.clone()),
        ("attachment", attachment),
        ("hold", hold),
        ("own_hold", own_hold),
        ("bot", bot),
        ("released", released),
        ("challenge", challenge),
        ("member", member.id),
        ("spare_key", spare_key),
        ("spare_key_2", spare_key_2),
        ("webhook", webhook),
        ("webhook_2", webhook_2),
        ("channel", channel),
        ("approval", approval),
        ("article", article),
    ])
}

on_both_backends! {
    async fn every_route_allows_exactly_the_callers_it_should(b) {
        let s = server(b).await;
        let key = s.api_key().await;

        // The table covers every route, and only routes that exist.
        let doc: Value = client().get(s.url("/api/openapi.json")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        let mut routes = routes_in_source();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys().filter(|m| METHODS.contains(&m.as_str())) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
        let table: BTreeSet<(String, String)> = MATRIX.iter().map(|(m, r, _, _)| (m.to_string(), r.to_string())).collect();
        assert_eq!(table.len(), MATRIX.len(), "a route is listed twice");
        let uncovered: Vec<_> = routes.difference(&table).collect();
        let stale: Vec<_> = table.difference(&routes).collect();
        assert!(uncovered.is_empty(), "routes missing from the authorisation matrix: {uncovered:?}");
        assert!(stale.is_empty(), "rows for routes that do not exist: {stale:?}");

        // The callers.
        put_account(&s, &key, "acct-a", "a@mail.example").await;
        put_account(&s, &key, "acct-b", "b@mail.example").await;
        let (holder_a, csrf_a) = holder_by_email(&s, "a@mail.example", "acct-a").await;
        let (holder_b, csrf_b) = holder_by_email(&s, "b@mail.example", "acct-b").await;
        let mut callers = vec![
            Caller { client: browser(), csrf: String::new(), key: None },
            Caller { client: holder_a, csrf: csrf_a, key: None },
            Caller { client: holder_b, csrf: csrf_b, key: None },
        ];
        let mut t1_id = String::new();
        for role in ["agent_t1", "agent_t2", "supervisor", "compliance", "admin"] {
            let (client, csrf, id) = s.signed_in_as(role).await;
            if role == "agent_t1" {
                t1_id = id;
            }
            callers.push(Caller { client, csrf, key: None });
        }
        callers.push(Caller { client: client(), csrf: String::new(), key: Some(key.clone()) });
        let anonymous_csrf = s.csrf_of(&callers[0].client, "/desk/sign-in").await;
        callers[0].csrf = anonymous_csrf;
        let fixtures = fixtures(&s, &key, &callers[1], &t1_id).await;
        let messages = |s: &TestServer, id: String| {
            let db = s.db.clone();
            async move { db.conn().await.unwrap().cases().messages(&id, true).await.unwrap().len() }
        };
        let before = messages(&s, fixtures["case_id"].clone()).await;

        // Reads first, then writes, signing out last.
        let phase = |m: &str, r: &str| match (m, r.ends_with("/sign-out")) {
            ("GET", _) => 0,
            (_, false) => 1,
            (_, true) => 2,
        };
        let mut rows: Vec<_> = MATRIX.iter().collect();
        rows.sort_by_key(|(m, r, _, _)| phase(m, r));
        let mut wrong = vec![];
        for (method, route, target, access) in rows {
            let path = fill(if target.is_empty() { route } else { target }, &fixtures);
            for (i, expected) in access.chars().enumerate() {
                let (refused, answer) = attempt(&s, &callers[i], method, &path).await;
                assert!(!answer.starts_with('5'), "{method} {path} as {}: a server error: {answer}", CALLERS[i]);
                let ok = match expected {
                    'y' => !refused,
                    '.' => refused,
                    _ => true,
                };
                if !ok {
                    let what = if refused { "refused" } else { "allowed" };
                    wrong.push(format!("{method} {path} as {}: {what} ({answer})", CALLERS[i]));
                }
            }
        }
        assert!(wrong.is_empty(), "{} of the matrix are wrong:\n{}", wrong.len(), wrong.join("\n"));

        // No write of the matrix, refused or merely empty, added to A's case.
        assert_eq!(messages(&s, fixtures["case_id"].clone()).await, before, "nothing was written to A's case");
    }
}
