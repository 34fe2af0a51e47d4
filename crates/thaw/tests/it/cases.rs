//! The case desk, on both backends: holders open cases with their category's questions and see
//! only their own cases and never internal notes; routing by skill, language, presence and
//! load; the SLA clock's warnings and escalations; reopening and linked follow-ups; automatic
//! cases for self-freezes and staff-only holds; authority from a case; bad input.

use crate::on_both_backends;
use crate::support::*;
use serde_json::{Value, json};
use thaw_domain::case::{CaseStatus, Channel};
use thaw_domain::{CaseCategory, Locale, NewStaff, Skills};
use thaw_services::cases::{self, CaseActor, Desk, OpenCase, StaffMessage};
use thaw_store::Capabilities;

const SSO_SECRET: &str = "platform-shared-secret-0123456789abcdef";
const MINUTE: i64 = 60_000;

pub(crate) async fn server(b: Backend) -> TestServer {
    TestServer::start_with(b, |c| c.sso_hs256_secret = Some(SSO_SECRET.into())).await
}

/// A holder's browser signed in by the platform's single sign-on; returns it and its CSRF token.
pub(crate) async fn holder(s: &TestServer, account: &str) -> (reqwest::Client, String) {
    let now = thaw_services::now_ms() / 1000;
    let token = thaw_services::sso::sign_hs256(
        SSO_SECRET.as_bytes(),
        &json!({"sub": account, "email": format!("{account}@mail.example"), "exp": now + 120, "jti": unique("jti")}),
    );
    let c = browser();
    let res = c.get(s.url(&format!("/sso?token={token}"))).send().await.unwrap();
    assert_eq!(res.status(), 303, "single sign-on opens a session");
    let csrf = s.csrf_of(&c, "/security/cases").await;
    (c, csrf)
}

async fn post_form(c: &reqwest::Client, s: &TestServer, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let res = c.post(s.url(path)).form(fields).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn get_text(c: &reqwest::Client, s: &TestServer, path: &str) -> (u16, String) {
    let res = c.get(s.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A staff member with these skills, online or not; returns their id.
async fn agent(s: &TestServer, role: &str, categories: &str, languages: &str, capacity: i64, online: bool) -> String {
    let email = format!("{}@desk.example", unique(role));
    let skills = Skills::parse(categories, languages).unwrap();
    let new = NewStaff::validate(&email, None, role, skills, capacity, Locale::En).unwrap();
    let member = thaw_services::staff::create(&s.db, &new, "correct horse battery").await.unwrap();
    if online {
        cases::set_online(&s.db, &Desk::default(), &member.id, true, thaw_services::now_ms()).await.unwrap();
    }
    member.id
}

async fn account(s: &TestServer, key: &str, id: &str, locale: &str) {
    let res = client()
        .put(s.url(&format!("/api/v1/accounts/{id}")))
        .bearer_auth(key)
        .json(&json!({"email": format!("{id}@mail.example"), "locale": locale}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

async fn api_open(s: &TestServer, key: &str, body: Value) -> (u16, Value) {
    let res = client().post(s.url("/api/v1/cases")).bearer_auth(key).json(&body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn staff_actor(id: &str, role: thaw_domain::Role) -> CaseActor {
    CaseActor::Staff { id: id.into(), role, name: "Agent".into() }
}

on_both_backends! {
    async fn a_holder_opens_a_case_with_its_questions_and_never_sees_internal_notes(b) {
        let s = server(b).await;
        let key = s.api_key().await;
        let (c, csrf) = holder(&s, "u-holder").await;
        let form = c.get(s.url("/security/cases/new?category=trade_dispute")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("name=\"f_order_number\"") && form.contains("name=\"f_paid_at\"") && form.contains("type=\"datetime-local\""));

        // A missing intake field is named, the answers are kept, nothing is stored.
        let fields = [("csrf", csrf.as_str()), ("category", "trade_dispute"), ("subject", "Seller did not release USDT"),
            ("f_amount", "7300"), ("f_asset", "cny"), ("f_paid_at", "2026-11-17T10:15"), ("tz_offset", "480"),
            ("body", "I paid 7,300 CNY by bank transfer and the seller has not released the coins.")];
        let (status, _, html) = post_form(&c, &s, "/security/cases", &fields).await;
        assert_eq!(status, 422);
        assert!(html.contains("data-testid=\"form-error\">Order number: is required<"), "{html}");
        assert!(html.contains("value=\"7300\""), "answers are kept");
        let listed: Value = client().get(s.url("/api/v1/cases?account_id=u-holder")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 0, "nothing stored");

        let mut full = fields.to_vec();
        full.push(("f_order_number", "P2P-20261117-004512"));
        let (status, location, _) = post_form(&c, &s, "/security/cases", &full).await;
        assert_eq!(status, 303);
        let number = location.trim_start_matches("/security/cases/").split('?').next().unwrap().to_string();
        assert!(number.starts_with("C-1"), "{location}");
        let (_, page) = get_text(&c, &s, &location).await;
        assert!(page.contains("data-testid=\"next-step-due\""), "the expected time of the next step is shown");
        assert!(page.contains("data-testid=\"resolution-due\""));
        assert!(page.contains("2026-11-17 02:15 UTC"), "10:15 at UTC+8 is stored as 02:15 UTC");

        // Staff write a note and a public reply asking for proof.
        let (desk, desk_csrf) = s.signed_in("agent_t1").await;
        let path = format!("/desk/cases/{number}/message");
        let (st, _, _) = post_form(&desk, &s, &path, &[("csrf", desk_csrf.as_str()), ("kind", "note"), ("body", "Seller has 3 earlier disputes — internal only")]).await;
        assert_eq!(st, 303);
        let (st, _, _) = post_form(&desk, &s, &path, &[("csrf", desk_csrf.as_str()), ("kind", "reply"), ("status", "pending_customer"), ("body", "Please upload the bank transfer receipt.")]).await;
        assert_eq!(st, 303);
        let (_, desk_page) = get_text(&desk, &s, &format!("/desk/cases/{number}")).await;
        assert!(desk_page.contains("earlier disputes") && desk_page.contains("data-testid=\"customer-panel\""));

        let (_, page) = get_text(&c, &s, &format!("/security/cases/{number}")).await;
        assert!(page.contains("Please upload the bank transfer receipt."));
        assert!(!page.contains("earlier disputes"), "internal notes never reach the holder");
        assert!(page.contains("data-testid=\"waiting-for-you\""), "the clock waits for the holder");
        let api: Value = client().get(s.url(&format!("/api/v1/cases/{number}"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(api["status"], "pending_customer");
        assert!(api["next_step_due_at"].is_null() && api["waiting_for_holder"] == true);
        assert!(!api.to_string().contains("earlier disputes"), "nor the platform");

        // The holder's reply sends the case back to the desk with a next-reply deadline.
        let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("body", "Receipt number 88213, paid at 10:15.");
        let res = c.post(s.url(&format!("/security/cases/{number}/reply"))).multipart(form).send().await.unwrap();
        let (st, location) = (res.status().as_u16(), res.headers()["location"].to_str().unwrap().to_string());
        assert_eq!((st, location.as_str()), (303, format!("/security/cases/{number}?notice=replied").as_str()));
        let api: Value = client().get(s.url(&format!("/api/v1/cases/{number}"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(api["status"], "open");
        assert!(api["next_step_due_at"].is_string());

        // Another holder sees neither the case nor that it exists.
        let (other, _) = holder(&s, "u-other").await;
        assert_eq!(get_text(&other, &s, &format!("/security/cases/{number}")).await.0, 404);
        let (_, list) = get_text(&other, &s, "/security/cases").await;
        assert!(!list.contains(&number));
        // Admins do not work cases.
        let (admin, _) = s.signed_in("admin").await;
        assert_eq!(get_text(&admin, &s, &format!("/desk/cases/{number}")).await.0, 403);
    }
}

on_both_backends! {
    async fn cases_go_to_the_skilled_least_loaded_agent_online_and_wait_when_nobody_is(b) {
        let s = server(b).await;
        let key = s.api_key().await;
        account(&s, &key, "u-zh", "zh-CN").await;
        account(&s, &key, "u-en", "en").await;
        let zh = agent(&s, "agent_t1", "asset_freeze", "zh-CN", 2, true).await;
        let _en_offline = agent(&s, "agent_t1", "asset_freeze", "en", 5, false).await;
        let body = |acc: &str| json!({"account_id": acc, "category": "asset_freeze", "subject": "Withdrawals blocked", "body": "Since this morning I cannot withdraw.", "intake": {"scope": "withdraw", "since": "2026-11-20T08:00:00Z"}});

        let (st, first) = api_open(&s, &key, body("u-zh")).await;
        assert_eq!(st, 201, "{first}");
        assert_eq!(first["assignee_id"], zh.as_str());
        let (_, second) = api_open(&s, &key, body("u-zh")).await;
        assert_eq!(second["assignee_id"], zh.as_str());
        let (_, third) = api_open(&s, &key, body("u-zh")).await;
        assert!(third["assignee_id"].is_null(), "never above capacity (2)");

        let (_, english) = api_open(&s, &key, body("u-en")).await;
        assert!(english["assignee_id"].is_null(), "the English agent is away");
        let en_online = agent(&s, "agent_t1", "asset_freeze", "en", 5, false).await;
        let placed = cases::set_online(&s.db, &Desk::default(), &en_online, true, thaw_services::now_ms()).await.unwrap();
        assert_eq!(placed, 1, "the waiting English case is offered to the agent who came online");
        let (desk, _) = s.signed_in("supervisor").await;
        let (_, page) = get_text(&desk, &s, &format!("/desk/cases/{}", english["number"].as_str().unwrap())).await;
        assert!(page.contains("skill asset_freeze, en, 0/5 open"), "the case says why it went where it did");

        // The second zh case was a repeat contact of the first within 7 days.
        let (_, page) = get_text(&desk, &s, &format!("/desk/cases/{}", second["number"].as_str().unwrap())).await;
        assert!(page.contains(first["number"].as_str().unwrap()), "repeat contacts are linked");
    }
}

on_both_backends! {
    async fn the_sla_clock_warns_then_escalates_a_breached_case_to_tier_2(b) {
        let s = server(b).await;
        let key = s.api_key().await;
        account(&s, &key, "u-theft", "en").await;
        let t1 = agent(&s, "agent_t1", "account_theft", "en", 5, true).await;
        let t2 = agent(&s, "agent_t2", "account_theft", "en", 5, true).await;
        let desk = Desk::default();
        // From now on, so that the server's own SLA timer (running at the real time) finds
        // nothing due while the test moves the clock by hand.
        let start = thaw_services::now_ms();
        let mut req = OpenCase::new("u-theft", CaseCategory::AccountTheft, "Someone withdrew my BTC", "0.5 BTC left my account at 03:10.", Channel::Portal);
        req.priority = Some("high".into());
        req.intake = [("noticed_at".to_string(), thaw_services::rfc3339(start)), ("unauthorised_transactions".to_string(), "withdrawal of 0.5 BTC".to_string())].into();
        let case = cases::open(&s.db, &desk, req, &CaseActor::Holder { account_id: "u-theft".into() }, start).await.unwrap();
        assert_eq!(case.assignee_id.as_deref(), Some(t1.as_str()), "tier 1 first");

        // High, around the clock: first response 30 min. At 25 min it is at risk; at 31 min breached.
        assert_eq!(cases::sla_sweep(&s.db, &desk, start + 25 * MINUTE).await.unwrap(), (1, 0));
        assert_eq!(cases::sla_sweep(&s.db, &desk, start + 26 * MINUTE).await.unwrap(), (0, 0), "reported once");
        let (w, breaches) = cases::sla_sweep(&s.db, &desk, start + 31 * MINUTE).await.unwrap();
        assert_eq!((w, breaches), (0, 1));
        let mut conn = s.db.conn().await.unwrap();
        let (after, _) = conn.cases().get(&case.id).await.unwrap().unwrap();
        assert_eq!(after.tier, 2);
        assert_eq!(after.priority.code(), "urgent", "raised one step");
        assert_eq!(after.assignee_id.as_deref(), Some(t2.as_str()), "moved to tier 2");
        let timeline = conn.cases().timeline(&case.id, true).await.unwrap();
        let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
        assert!(kinds.contains(&"sla_warning") && kinds.contains(&"sla_breached"), "{kinds:?}");
        assert!(conn.cases().timeline(&case.id, false).await.unwrap().iter().all(|e| e.kind != "sla_breached"), "escalations are internal");
        drop(conn);

        // A reply stops the first-response clock; waiting for the holder stops every clock.
        let actor = staff_actor(&t2, thaw_domain::Role::AgentT2);
        let msg = StaffMessage { body: "We froze withdrawals; please confirm your last sign-in.", internal: false, status: Some(CaseStatus::PendingCustomer) };
        let replied = cases::staff_message(&s.db, &desk, &actor, &case.id, msg, start + 40 * MINUTE).await.unwrap();
        assert_eq!(replied.first_response_at_ms, Some(start + 40 * MINUTE));
        assert_eq!(desk.expected(&replied).resolution_ms, None, "paused");
        assert_eq!(cases::sla_sweep(&s.db, &desk, start + 24 * 60 * MINUTE).await.unwrap(), (0, 0), "nothing runs while paused");
    }
}

on_both_backends! {
    async fn a_reply_reopens_within_seven_days_and_otherwise_opens_a_linked_case(b) {
        let s = server(b).await;
        let key = s.api_key().await;
        account(&s, &key, "u-re", "zh-CN").await;
        let desk = Desk::default();
        let staff = agent(&s, "agent_t1", "", "", 5, true).await;
        let actor = staff_actor(&staff, thaw_domain::Role::AgentT1);
        let t0 = thaw_services::now_ms() - 20 * 24 * 60 * MINUTE;
        let holder = CaseActor::Holder { account_id: "u-re".into() };
        let case = cases::open(&s.db, &desk, OpenCase::new("u-re", CaseCategory::Other, "问题", "描述", Channel::Portal), &holder, t0).await.unwrap();
        cases::set_status(&s.db, &desk, &actor, &case.id, "resolved", t0 + MINUTE).await.unwrap();
        let r = cases::holder_reply(&s.db, &desk, "u-re", case.number, "还没解决", Channel::Portal, t0 + 2 * 24 * 60 * MINUTE).await.unwrap();
        assert!(r.reopened && !r.new_case && r.case.id == case.id && r.case.status == CaseStatus::Open);

        cases::set_status(&s.db, &desk, &actor, &case.id, "resolved", t0 + 3 * 24 * 60 * MINUTE).await.unwrap();
        let late = t0 + 11 * 24 * 60 * MINUTE;
        let r = cases::holder_reply(&s.db, &desk, "u-re", case.number, "又出现了", Channel::Portal, late).await.unwrap();
        assert!(r.new_case && r.case.id != case.id, "too late to reopen: a new case");
        assert_eq!(r.case.linked_from.as_deref(), Some(case.id.as_str()));
        assert!(r.case.subject.starts_with(&format!("跟进 {}", case.reference())));
        let mut conn = s.db.conn().await.unwrap();
        let (old, _) = conn.cases().get(&case.id).await.unwrap().unwrap();
        assert_eq!(old.status, CaseStatus::Resolved, "the old case stays as it was");
        let messages = conn.cases().messages(&r.case.id, false).await.unwrap();
        assert_eq!(messages[0].body, "又出现了", "the reply is not lost");

        // Closed is final: a reply opens a linked case at once.
        cases::set_status(&s.db, &desk, &actor, &r.case.id, "closed", late + MINUTE).await.unwrap();
        let again = cases::holder_reply(&s.db, &desk, "u-re", r.case.number, "再问一次", Channel::Portal, late + 2 * MINUTE).await.unwrap();
        assert!(again.new_case);
        let e = cases::set_status(&s.db, &desk, &actor, &r.case.id, "open", late + 3 * MINUTE).await.unwrap_err();
        assert!(matches!(e, thaw_services::ServiceError::Invalid(ref i) if i.field == "status"), "{e:?}");
    }
}

on_both_backends! {
    async fn a_self_freeze_and_a_staff_only_hold_each_get_a_case_and_authority_holds_on_the_case(b) {
        let s = server(b).await;
        let key = s.api_key().await;
        let desk = Desk::default();
        let (c, csrf) = holder(&s, "u-frozen").await;
        let (st, _, _) = post_form(&c, &s, "/security/freeze", &[("csrf", csrf.as_str())]).await;
        assert_eq!(st, 303);
        // The server's timer does this every few seconds too; whoever runs it, one case opens.
        cases::open_automatic(&s.db, &desk, thaw_services::now_ms()).await.unwrap();
        assert_eq!(cases::open_automatic(&s.db, &desk, thaw_services::now_ms()).await.unwrap(), 0, "once");
        let listed: Value = client().get(s.url("/api/v1/cases?account_id=u-frozen")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["category"], "account_theft");
        assert_eq!(listed[0]["channel"], "automatic");
        assert!(listed[0]["hold_id"].is_string(), "the self-freeze hold is attached");

        // A hold only staff may lift, with an amount above a tier-1 agent's authority.
        let hold: Value = client().post(s.url("/api/v1/accounts/u-frozen/holds")).bearer_auth(&key)
            .json(&json!({"scopes": ["withdraw"], "reason_code": "large_withdrawal_review", "release_policy": "agent", "amount": "50000", "asset": "USDT"}))
            .send().await.unwrap().json().await.unwrap();
        let hold_id = hold["id"].as_str().unwrap();
        let (_, overview) = get_text(&c, &s, "/security").await;
        assert!(overview.contains(&format!("data-testid=\"case-for-{hold_id}\"")), "the hold card offers a case");
        let (st, location, _) = post_form(&c, &s, &format!("/security/holds/{hold_id}/case"), &[("csrf", csrf.as_str())]).await;
        assert_eq!(st, 303);
        let (st2, location2, _) = post_form(&c, &s, &format!("/security/holds/{hold_id}/case"), &[("csrf", csrf.as_str())]).await;
        assert_eq!((st2, location2.as_str()), (303, location.as_str()), "the same case the second time");
        let number = location.trim_start_matches("/security/cases/").to_string();

        let (t1, t1_csrf) = s.signed_in("agent_t1").await;
        let path = format!("/desk/cases/{number}/holds/{hold_id}/release");
        let (st, location, _) = post_form(&t1, &s, &path, &[("csrf", t1_csrf.as_str()), ("note", "looks fine")]).await;
        assert_eq!((st, location.as_str()), (303, format!("/desk/cases/{number}?notice=requested").as_str()), "above authority: a supervisor is asked");
        let status: Value = client().get(s.url("/api/v1/accounts/u-frozen/status")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(status["withdraw"], "held", "a tier-1 agent cannot exceed their authority from a case");

        let (sup, sup_csrf) = s.signed_in("supervisor").await;
        let (st, location, _) = post_form(&sup, &s, &path, &[("csrf", sup_csrf.as_str()), ("note", "source of funds verified")]).await;
        assert_eq!((st, location.as_str()), (303, format!("/desk/cases/{number}?notice=released").as_str()));
        let (_, page) = get_text(&sup, &s, &format!("/desk/cases/{number}")).await;
        assert!(page.contains("Hold lifted"), "the case records the release");
        // Someone else's hold cannot be lifted through this case.
        let (st, _, _) = post_form(&t1, &s, &format!("/desk/cases/{number}/holds/nope/release"), &[("csrf", t1_csrf.as_str())]).await;
        assert_eq!(st, 404);
    }
}

on_both_backends! {
    async fn bad_case_input_is_refused_by_field_and_nothing_is_stored(b) {
        let s = server(b).await;
        let key = s.api_key().await;
        account(&s, &key, "u-bad", "en").await;
        let base = json!({"account_id": "u-bad", "category": "trade_dispute", "subject": "Dispute", "body": "Seller vanished",
            "intake": {"order_number": "P2P-1", "amount": "10", "asset": "USDT", "paid_at": "2026-11-17T10:00:00Z"}});
        let cases: Vec<(Value, &str, &str, u16)> = vec![
            (json!({"intake": {"amount": "10", "asset": "USDT", "paid_at": "2026-11-17T10:00:00Z"}}), "intake.order_number", "required", 422),
            (json!({"category": "fraud"}), "category", "invalid_category", 422),
            (json!({"subject": "  "}), "subject", "required", 422),
            (json!({"body": ""}), "body", "required", 422),
            (json!({"priority": "asap"}), "priority", "invalid_priority", 422),
            (json!({"language": "fr"}), "language", "invalid_locale", 422),
            (json!({"intake": {"order_number": "P2P-1", "amount": "ten", "asset": "USDT", "paid_at": "2026-11-17T10:00:00Z"}}), "intake.amount", "invalid_amount", 422),
        ];
        for (patch, field, code, status) in cases {
            let mut body = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (st, e) = api_open(&s, &key, body).await;
            assert_eq!((st, e["error"]["field"].as_str(), e["error"]["code"].as_str()), (status, Some(field), Some(code)), "{patch}");
        }
        let mut unknown = base.clone();
        unknown["account_id"] = json!("u-nobody");
        let (st, e) = api_open(&s, &key, unknown).await;
        assert_eq!((st, e["error"]["code"].as_str()), (404, Some("not_found")));
        let listed: Value = client().get(s.url("/api/v1/cases?account_id=u-bad")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 0, "nothing half-written");
        let (st, ok) = api_open(&s, &key, base).await;
        assert_eq!(st, 201, "{ok}");
        assert_eq!(ok["status"], "new");
    }
}

on_both_backends! {
    async fn staff_link_cases_by_hand_and_merge_a_duplicate_whose_conversation_moves(b) {
        let s = server(b).await;
        let key = s.api_key().await;
        account(&s, &key, "u-dup", "en").await;
        account(&s, &key, "u-else", "en").await;
        let body = |acc: &str, subject: &str| json!({"account_id": acc, "category": "asset_freeze", "subject": subject, "body": "My withdrawals stopped this morning.", "intake": {"scope": "withdraw", "since": "2026-11-20T08:00:00Z"}});
        let (_, dup) = api_open(&s, &key, body("u-dup", "Withdrawals frozen (sent twice)")).await;
        let (_, keep) = api_open(&s, &key, body("u-dup", "Withdrawals frozen")).await;
        let (_, stranger) = api_open(&s, &key, body("u-else", "Same scam wave")).await;
        let number = |v: &Value| v["number"].as_str().unwrap().to_string();
        let (dup_n, keep_n, stranger_n) = (number(&dup), number(&keep), number(&stranger));
        let (c, csrf) = holder(&s, "u-dup").await;
        let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("body", "Here is the screenshot text: ERROR 4012");
        assert_eq!(c.post(s.url(&format!("/security/cases/{dup_n}/reply"))).multipart(form).send().await.unwrap().status(), 303);

        let (desk, dcsrf) = s.signed_in("agent_t1").await;
        let csrf_f = ("csrf", dcsrf.as_str());
        // Link by hand, across holders: both cases show it; unlinking removes it from both.
        let (st, loc, _) = post_form(&desk, &s, &format!("/desk/cases/{dup_n}/link"), &[csrf_f, ("other", &stranger_n)]).await;
        assert_eq!((st, loc.as_str()), (303, format!("/desk/cases/{dup_n}?notice=linked").as_str()));
        let (_, other_page) = get_text(&desk, &s, &format!("/desk/cases/{stranger_n}")).await;
        assert!(other_page.contains(&format!("data-relation=\"linked\"><span class=\"badge\">linked</span> <a href=\"/desk/cases/{dup_n}\">")), "{other_page}");
        let (st, loc, _) = post_form(&desk, &s, &format!("/desk/cases/{dup_n}/link"), &[csrf_f, ("other", &dup_n)]).await;
        assert_eq!((st, loc.as_str()), (303, format!("/desk/cases/{dup_n}?refused=same_case").as_str()));
        let (_, loc, _) = post_form(&desk, &s, &format!("/desk/cases/{dup_n}/link"), &[csrf_f, ("other", "C-99999")]).await;
        assert!(loc.ends_with("refused=unknown_case"), "{loc}");
        let stranger_id = stranger["id"].as_str().unwrap();
        let (st, _, _) = post_form(&desk, &s, &format!("/desk/cases/{stranger_n}/unlink"), &[csrf_f, ("other", dup["id"].as_str().unwrap())]).await;
        assert_eq!(st, 303);
        let (_, dup_page) = get_text(&desk, &s, &format!("/desk/cases/{dup_n}")).await;
        assert!(!dup_page.contains(&format!("href=\"/desk/cases/{stranger_n}\"")), "unlinked both ways");
        assert!(!dup_page.contains(stranger_id));

        // Merge: only when confirmed, only into an active case of the same holder.
        let path = format!("/desk/cases/{dup_n}/merge");
        let (_, loc, _) = post_form(&desk, &s, &path, &[csrf_f, ("into", &keep_n)]).await;
        assert!(loc.ends_with("refused=merge_unconfirmed"), "{loc}");
        let (_, loc, _) = post_form(&desk, &s, &path, &[csrf_f, ("into", &stranger_n), ("confirm", "yes")]).await;
        assert!(loc.ends_with("refused=other_holder"), "{loc}");
        let api = |n: String| { let (s, key) = (&s, &key); async move { client().get(s.url(&format!("/api/v1/cases/{n}"))).bearer_auth(key).send().await.unwrap().json::<Value>().await.unwrap() } };
        assert_ne!(api(dup_n.clone()).await["status"], "closed", "nothing changed by refused merges");

        let (st, loc, _) = post_form(&desk, &s, &path, &[csrf_f, ("into", &keep_n), ("confirm", "yes")]).await;
        assert_eq!((st, loc.as_str()), (303, format!("/desk/cases/{keep_n}?notice=merged").as_str()));
        assert_eq!(api(dup_n.clone()).await["status"], "closed");
        let (_, keep_page) = get_text(&desk, &s, &format!("/desk/cases/{keep_n}")).await;
        assert!(keep_page.contains("ERROR 4012"), "the duplicate's conversation moved");
        assert!(keep_page.contains("data-relation=\"merged_from\"") && keep_page.contains(&format!("href=\"/desk/cases/{dup_n}\"")));
        let (_, dup_page) = get_text(&desk, &s, &format!("/desk/cases/{dup_n}")).await;
        assert!(dup_page.contains("data-testid=\"merged-into\"") && !dup_page.contains("ERROR 4012"));
        assert!(!dup_page.contains("data-testid=\"merge\""), "a merged case offers no second merge");
        let (_, loc, _) = post_form(&desk, &s, &path, &[csrf_f, ("into", &keep_n), ("confirm", "yes")]).await;
        assert!(loc.ends_with("refused=already_merged"), "{loc}");

        // The holder sees where the conversation went, and a reply on the old case lands in the kept one.
        let (_, holder_dup) = get_text(&c, &s, &format!("/security/cases/{dup_n}")).await;
        assert!(holder_dup.contains(&format!("This case was merged into {keep_n}")), "{holder_dup}");
        let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("body", "Any news on this?");
        let res = c.post(s.url(&format!("/security/cases/{dup_n}/reply"))).multipart(form).send().await.unwrap();
        assert_eq!(res.headers()["location"].to_str().unwrap(), format!("/security/cases/{keep_n}?notice=replied"));
        let (_, holder_keep) = get_text(&c, &s, &format!("/security/cases/{keep_n}")).await;
        assert!(holder_keep.contains("ERROR 4012") && holder_keep.contains("Any news on this?"));
        let listed: Value = client().get(s.url("/api/v1/cases?account_id=u-dup")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 2, "no new case was opened for the reply");

        // Another holder's agent view of the merge is the same; the other holder never sees it.
        let (other, _) = holder(&s, "u-else").await;
        assert_eq!(get_text(&other, &s, &format!("/security/cases/{keep_n}")).await.0, 404);
    }
}
