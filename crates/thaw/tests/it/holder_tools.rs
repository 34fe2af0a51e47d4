//! What a holder does on a case besides writing, on both backends: evidence (refused files
//! store nothing; identity documents are for senior staff and are deleted after retention,
//! leaving a record), ratings from the portal and the email link, appeals routed away from whoever
//! decided, asking to escalate once a day, and live updates pushed from another server process.

use crate::on_both_backends;
use crate::support::*;
use serde_json::json;
use std::time::Duration;
use thaw_domain::case::{CaseStatus, Channel};
use thaw_domain::{CaseCategory, Locale, NewStaff, Role, Skills};
use thaw_services::cases::{self, CaseActor, Desk, OpenCase, StaffMessage};
use thaw_store::Capabilities;

const SSO_SECRET: &str = "platform-shared-secret-0123456789abcdef";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";

/// A server keeping evidence in its own directory (returned), attachments up to 64 KiB.
async fn server(b: Backend) -> (TestServer, std::path::PathBuf) {
    let dir = temp_dir("evidence");
    let kept = dir.clone();
    let s = TestServer::start_with(b, move |c| {
        c.sso_hs256_secret = Some(SSO_SECRET.into());
        c.evidence_dir = dir;
        c.evidence_max_bytes = 64 * 1024;
    })
    .await;
    (s, kept)
}

async fn holder(s: &TestServer, account: &str) -> (reqwest::Client, String) {
    let now = thaw_services::now_ms() / 1000;
    let token = thaw_services::sso::sign_hs256(
        SSO_SECRET.as_bytes(),
        &json!({"sub": account, "email": format!("{account}@mail.example"), "exp": now + 120, "jti": unique("jti")}),
    );
    let c = browser();
    assert_eq!(c.get(s.url(&format!("/sso?token={token}"))).send().await.unwrap().status(), 303);
    let csrf = s.csrf_of(&c, "/security/cases").await;
    (c, csrf)
}

async fn agent(s: &TestServer, role: &str, online: bool) -> String {
    let email = format!("{}@desk.example", unique(role));
    let new = NewStaff::validate(&email, None, role, Skills::parse("", "").unwrap(), 10, Locale::En).unwrap();
    let member = thaw_services::staff::create(&s.db, &new, "correct horse battery").await.unwrap();
    cases::set_online(&s.db, &Desk::default(), &member.id, online, thaw_services::now_ms()).await.unwrap();
    member.id
}

fn actor(id: &str, role: Role) -> CaseActor {
    CaseActor::Staff { id: id.into(), role, name: "Agent".into() }
}

async fn open(s: &TestServer, account: &str, category: CaseCategory) -> thaw_domain::case::Case {
    let req = OpenCase::new(account, category, "Help", "Please help.", Channel::Portal);
    cases::open(
        &s.db,
        &Desk::default(),
        req,
        &CaseActor::Holder { account_id: account.into() },
        thaw_services::now_ms(),
    )
    .await
    .unwrap()
}

async fn reply_with(
    c: &reqwest::Client,
    s: &TestServer,
    csrf: &str,
    number: &str,
    body: &str,
    files: Vec<(&str, &str, Vec<u8>)>,
    identity: bool,
) -> (u16, String, String) {
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf.to_string()).text("body", body.to_string());
    if identity {
        form = form.text("identity", "1");
    }
    for (name, mime, bytes) in files {
        form = form
            .part("files", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str(mime).unwrap());
    }
    let res = c.post(s.url(&format!("/security/cases/{number}/reply"))).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn post_form(c: &reqwest::Client, s: &TestServer, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let res = c.post(s.url(path)).form(fields).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

on_both_backends! {
    async fn evidence_is_checked_stored_once_and_identity_documents_are_guarded_and_expire(b) {
        let (s, dir) = server(b).await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/u-ev")).bearer_auth(&key).json(&json!({"email": "u-ev@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());
        let (c, csrf) = holder(&s, "u-ev").await;
        let case = open(&s, "u-ev", CaseCategory::Other).await;
        let number = case.reference();
        let count = |s: &TestServer, id: String| {
            let db = s.db.clone();
            async move { db.conn().await.unwrap().cases().attachments(&id).await.unwrap().len() }
        };

        // Refused: a type not accepted (named, whatever it claims to be), and one over the limit.
        let messages_before = s.db.conn().await.unwrap().cases().messages(&case.id, true).await.unwrap().len();
        for (name, mime, bytes, rule) in [
            ("receipt.png", "image/png", b"PK\x03\x04 a zip in disguise".to_vec(), "refused_type"),
            ("page.html", "text/html", b"<html><script>alert(1)</script>".to_vec(), "refused_type"),
            ("huge.png", "image/png", [PNG, &vec![0u8; 70 * 1024]].concat(), "too_large"),
        ] {
            let (st, _, page) = reply_with(&c, &s, &csrf, &number, "see attached", vec![("ok.png", "image/png", PNG.to_vec()), (name, mime, bytes)], false).await;
            assert_eq!(st, 422, "{name}");
            assert!(page.contains(name), "the refused file is named: {name}");
            let rule_text = match rule { "refused_type" => "not accepted", _ => "at most 65536 bytes" };
            assert!(page.contains(rule_text), "the rule is named ({rule}): {name}");
        }
        assert_eq!(count(&s, case.id.clone()).await, 0, "nothing stored, not even the good file");
        assert_eq!(s.db.conn().await.unwrap().cases().messages(&case.id, true).await.unwrap().len(), messages_before, "no message either");

        // Accepted: the same screenshot twice is stored once; the holder can fetch it back.
        let (st, loc, _) = reply_with(&c, &s, &csrf, &number, "", vec![("receipt.png", "application/octet-stream", PNG.to_vec()), ("copy.png", "image/png", PNG.to_vec())], false).await;
        assert_eq!((st, loc), (303, format!("/security/cases/{number}?notice=replied")));
        let files = s.db.conn().await.unwrap().cases().attachments(&case.id).await.unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!((files[0].content_type.as_str(), files[0].sha256 == files[1].sha256), ("image/png", true), "sniffed, deduplicated");
        let res = c.get(s.url(&format!("/security/cases/{number}/attachments/{}", files[0].id))).send().await.unwrap();
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
        let (other, _) = holder(&s, "u-other").await;
        let res = other.get(s.url(&format!("/security/cases/{number}/attachments/{}", files[0].id))).send().await.unwrap();
        assert_eq!(res.status(), 404, "another holder cannot fetch it");

        // An identity document: tier 1 sees that it exists, tier 2 sees it.
        let (_, _, _) = reply_with(&c, &s, &csrf, &number, "my passport", vec![("passport.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 jpeg".to_vec())], true).await;
        let id_doc = s.db.conn().await.unwrap().cases().attachments(&case.id).await.unwrap().into_iter().find(|a| a.identity_document).unwrap();
        let path = format!("/desk/cases/{number}/attachments/{}", id_doc.id);
        let (t1, _) = s.signed_in("agent_t1").await;
        assert_eq!(t1.get(s.url(&path)).send().await.unwrap().status(), 403);
        let page = t1.get(s.url(&format!("/desk/cases/{number}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-testid=\"attachment-restricted\"") && page.contains("passport.jpg"));
        let (t2, _) = s.signed_in("agent_t2").await;
        assert_eq!(t2.get(s.url(&path)).send().await.unwrap().status(), 200);

        // Past its retention the content goes; the record stays, and shared content stays too.
        let later = thaw_services::now_ms() + 31 * 86_400_000;
        let evidence = thaw_services::evidence::Evidence { store: thaw_services::objects::ObjectStore::local(&dir), ..Default::default() };
        assert_eq!(thaw_services::evidence::retention_sweep(&s.db, &evidence, thaw_services::now_ms()).await.unwrap(), 0, "not before its time");
        assert_eq!(thaw_services::evidence::retention_sweep(&s.db, &evidence, later).await.unwrap(), 1);
        assert_eq!(thaw_services::evidence::retention_sweep(&s.db, &evidence, later).await.unwrap(), 0, "once");
        let kept = s.db.conn().await.unwrap().cases().attachment(&id_doc.id).await.unwrap().unwrap();
        assert!(kept.deleted_at_ms.is_some(), "a record that it existed");
        assert!(evidence.store.get(&id_doc.sha256).await.unwrap().is_none(), "the content is gone");
        assert!(evidence.store.get(&files[0].sha256).await.unwrap().is_some(), "other evidence stays");
        assert_eq!(t2.get(s.url(&path)).send().await.unwrap().status(), 410);
    }
}

on_both_backends! {
    async fn holders_rate_appeal_and_escalate_and_appeals_skip_the_decider(b) {
        let (s, _) = server(b).await;
        let key = s.api_key().await;
        for id in ["u-ra", "u-rb"] {
            let res = client().put(s.url(&format!("/api/v1/accounts/{id}"))).bearer_auth(&key).json(&json!({"email": format!("{id}@mail.example"), "locale": "en"})).send().await.unwrap();
            assert!(res.status().is_success());
        }
        let desk = Desk::default();
        let t2a = agent(&s, "agent_t2", true).await;
        let t2b = agent(&s, "agent_t2", true).await;
        let (c, csrf) = holder(&s, "u-ra").await;
        let case = open(&s, "u-ra", CaseCategory::Other).await;
        let number = case.reference();
        let decider = case.assignee_id.clone().expect("routed to one of the two");

        // Not resolved yet: no rating, no appeal; asking to escalate works once a day.
        let (st, _, page) = post_form(&c, &s, &format!("/security/cases/{number}/rate"), &[("csrf", &csrf), ("score", "5")]).await;
        assert!(st == 422 && page.contains("once it is resolved"), "{st}");
        let (st, loc, _) = post_form(&c, &s, &format!("/security/cases/{number}/escalate"), &[("csrf", &csrf)]).await;
        assert_eq!((st, loc), (303, format!("/security/cases/{number}?notice=escalated")));
        let (escalated, _) = s.db.conn().await.unwrap().cases().get(&case.id).await.unwrap().unwrap();
        assert_eq!((escalated.tier, escalated.priority.code()), (2, "high"));
        let (st, _, page) = post_form(&c, &s, &format!("/security/cases/{number}/escalate"), &[("csrf", &csrf)]).await;
        assert!(st == 422 && page.contains("last 24 hours"));

        // Resolved by its agent: rated in the portal (bad scores refused), then appealed.
        let decider = escalated.assignee_id.clone().unwrap_or(decider);
        let decider_role = if decider == t2a || decider == t2b { Role::AgentT2 } else { Role::AgentT1 };
        cases::set_status(&s.db, &desk, &actor(&decider, decider_role), &case.id, "resolved", thaw_services::now_ms()).await.unwrap();
        for bad in ["0", "6", "five", ""] {
            let (st, _, _) = post_form(&c, &s, &format!("/security/cases/{number}/rate"), &[("csrf", &csrf), ("score", bad)]).await;
            assert_eq!(st, 422, "score {bad:?}");
        }
        let (st, loc, _) = post_form(&c, &s, &format!("/security/cases/{number}/rate"), &[("csrf", &csrf), ("score", "2"), ("comment", "slow")]).await;
        assert_eq!((st, loc), (303, format!("/security/cases/{number}?notice=rated")));
        let rating = s.db.conn().await.unwrap().cases().rating(&case.id).await.unwrap().unwrap();
        assert_eq!((rating.score, rating.comment.as_str(), rating.channel.as_str()), (2, "slow", "portal"));
        let (sup, _) = s.signed_in("supervisor").await;
        let page = sup.get(s.url(&format!("/desk/cases/{number}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("CSAT 2/5"), "the desk sees the rating");

        let (st, loc, _) = post_form(&c, &s, &format!("/security/cases/{number}/appeal"), &[("csrf", &csrf), ("reason", "The refund was wrong.")]).await;
        assert_eq!(st, 303);
        let appeal_number = loc.trim_start_matches("/security/cases/").split('?').next().unwrap().to_string();
        let (appeal, _) = s.db.conn().await.unwrap().cases().by_number(thaw_domain::case::parse_case_ref(&appeal_number).unwrap()).await.unwrap().unwrap();
        assert_eq!(appeal.appeal_of.as_deref(), Some(format!("case:{}", case.id).as_str()));
        assert_eq!((appeal.tier, appeal.linked_from.as_deref()), (2, Some(case.id.as_str())));
        assert!(appeal.assignee_id.is_some(), "someone at tier 2 took it");
        assert_ne!(appeal.assignee_id.as_deref(), Some(decider.as_str()), "never the agent who decided");
        // Another holder cannot appeal this case.
        let (other, other_csrf) = holder(&s, "u-rb").await;
        let (st, _, _) = post_form(&other, &s, &format!("/security/cases/{number}/appeal"), &[("csrf", &other_csrf), ("reason", "x")]).await;
        assert_eq!(st, 404);

        // The rating link of the resolution email: works without signing in, only with its token.
        let token = "a".repeat(32);
        s.db.conn().await.unwrap().cases().set_rating_token(&case.id, &thaw_services::secret_digest(&token)).await.unwrap();
        let anon = browser();
        let page = anon.get(s.url(&format!("/cases/rate?t={token}&score=4"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("value=\"4\" checked"), "the score clicked in the email is chosen");
        let csrf_anon = csrf_in(&page).unwrap();
        let (st, _, page) = post_form(&anon, &s, "/cases/rate", &[("csrf", &csrf_anon), ("t", &token), ("score", "4"), ("comment", "better now")]).await;
        assert!(st == 200 && page.contains("data-testid=\"rated\""));
        assert_eq!(s.db.conn().await.unwrap().cases().rating(&case.id).await.unwrap().unwrap().channel, "email");
        assert_eq!(anon.get(s.url("/cases/rate?t=wrong&score=4")).send().await.unwrap().status(), 404);

        // A hold appeal goes past whoever placed it.
        let (placer, placer_csrf, placer_id) = s.signed_in_as("agent_t2").await;
        let res = placer.post(s.url("/api/v1/accounts/u-ra/holds")).header("x-csrf-token", &placer_csrf)
            .json(&json!({"scopes": ["trade"], "reason_code": "manual_review", "release_policy": "agent"})).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let hold_id = res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        cases::set_online(&s.db, &desk, &placer_id, true, thaw_services::now_ms()).await.unwrap();
        let (st, loc, _) = post_form(&c, &s, &format!("/security/holds/{hold_id}/appeal"), &[("csrf", &csrf), ("reason", "I did nothing wrong")]).await;
        assert_eq!(st, 303, "{loc}");
        let n = loc.trim_start_matches("/security/cases/").split('?').next().unwrap().to_string();
        let (hold_appeal, _) = s.db.conn().await.unwrap().cases().by_number(thaw_domain::case::parse_case_ref(&n).unwrap()).await.unwrap().unwrap();
        assert_eq!(hold_appeal.appeal_of.as_deref(), Some(format!("hold:{hold_id}").as_str()));
        assert_ne!(hold_appeal.assignee_id.as_deref(), Some(placer_id.as_str()), "not the one who placed the hold");
        assert_eq!(hold_appeal.status, CaseStatus::New);
    }
}

/// Reads server-sent events until one carries `needle` (or the time is up).
async fn sse_sees(res: &mut reqwest::Response, needle: &str) -> bool {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), res.chunk()).await {
            Ok(Ok(Some(bytes))) => {
                seen.push_str(&String::from_utf8_lossy(&bytes));
                if seen.contains(needle) {
                    return true;
                }
            }
            Ok(_) => return false,
            Err(_) => {}
        }
    }
    false
}

on_both_backends! {
    async fn live_pages_hear_of_changes_made_by_another_server_process(b) {
        let (s, _) = server(b).await;
        let url = s.database_url.clone();
        // A second server process on the same database (its own pool and change follower).
        let other = TestServer::start_with(b, move |c| c.database_url = url).await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/u-live")).bearer_auth(&key).json(&json!({"email": "u-live@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());
        let (c, _) = holder(&s, "u-live").await;
        let case = open(&s, "u-live", CaseCategory::Other).await;
        let number = case.reference();
        let mut stream = c.get(s.url(&format!("/security/cases/{number}/live"))).send().await.unwrap();
        assert_eq!(stream.headers()["content-type"], "text/event-stream");
        let (staff, _) = s.signed_in("supervisor").await;
        let mut desk_stream = staff.get(s.url("/desk/live")).send().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        let sup = agent(&other, "supervisor", false).await;
        let msg = StaffMessage { body: "On it.", internal: false, status: None };
        cases::staff_message(&other.db, &Desk::default(), &actor(&sup, Role::Supervisor), &case.id, msg, thaw_services::now_ms()).await.unwrap();
        assert!(sse_sees(&mut stream, &format!("data: {}", case.id)).await, "the holder's page hears of it");
        assert!(sse_sees(&mut desk_stream, &case.id).await, "so does the desk");

        // A holder's stream carries only their own case.
        let foreign = open(&s, "u-live", CaseCategory::Other).await;
        let (c2, _) = holder(&s, "u-live-2").await;
        assert_eq!(c2.get(s.url(&format!("/security/cases/{number}/live"))).send().await.unwrap().status(), 404);
        let msg = StaffMessage { body: "Other case.", internal: false, status: None };
        cases::staff_message(&other.db, &Desk::default(), &actor(&sup, Role::Supervisor), &foreign.id, msg, thaw_services::now_ms()).await.unwrap();
        assert!(sse_sees(&mut desk_stream, &foreign.id).await);
        assert!(!sse_sees_quickly(&mut stream, &foreign.id).await, "not another case's changes");
        // Holders and strangers do not get the desk's stream.
        assert_eq!(c.get(s.url("/desk/live")).send().await.unwrap().status(), 303);
    }
}

async fn sse_sees_quickly(res: &mut reqwest::Response, needle: &str) -> bool {
    let mut seen = String::new();
    for _ in 0..4 {
        if let Ok(Ok(Some(bytes))) = tokio::time::timeout(Duration::from_millis(500), res.chunk()).await {
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    seen.contains(needle)
}
