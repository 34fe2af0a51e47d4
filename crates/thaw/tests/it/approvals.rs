//! Four eyes on the desk, on both backends: an agent's action beyond their authority becomes a
//! request that only a supervisor other than the requester decides; a tier-1 agent cannot
//! exceed their limits through any route (case page, account page, API); each member's own
//! limits narrow their role's; goodwill compensation is recorded and sent by webhook.

use crate::on_both_backends;
use crate::support::*;
use serde_json::{Value, json};
use thaw_domain::Role;
use thaw_services::approvals;
use thaw_services::cases::{self, CaseActor, Desk};
use thaw_store::Capabilities;

async fn post_form(c: &reqwest::Client, s: &TestServer, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = c.post(s.url(path)).form(fields).send().await.unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status().as_u16(), location)
}

async fn count(s: &TestServer, sql: &str) -> i64 {
    sqlx::Row::try_get(&sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(s.db.pool()).await.unwrap(), "n")
        .unwrap()
}

async fn put_account(s: &TestServer, key: &str, id: &str) {
    let res = client()
        .put(s.url(&format!("/api/v1/accounts/{id}")))
        .bearer_auth(key)
        .json(&json!({"email": format!("{id}@mail.example"), "locale": "en"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
}

async fn place_hold(s: &TestServer, key: &str, account: &str, extra: Value) -> String {
    let mut body = json!({"scopes": ["withdraw"], "reason_code": "manual_review", "release_policy": "agent"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let res = client()
        .post(s.url(&format!("/api/v1/accounts/{account}/holds")))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn withdraw_status(s: &TestServer, key: &str, account: &str) -> String {
    let v: Value = client()
        .get(s.url(&format!("/api/v1/accounts/{account}/status")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["withdraw"].as_str().unwrap().to_string()
}

async fn pending(s: &TestServer) -> Vec<thaw_store::Approval> {
    approvals::inbox(&s.db, true, 50).await.unwrap()
}

on_both_backends! {
    async fn beyond_authority_becomes_a_request_that_only_another_supervisor_decides(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let (admin, admin_csrf) = s.signed_in("admin").await;
        let res = admin.post(s.url("/api/v1/webhooks")).header("x-csrf-token", &admin_csrf)
            .json(&json!({"url": "http://127.0.0.1:9/hook", "event_types": ["compensation.granted"]}))
            .send().await.unwrap();
        assert_eq!(res.status(), 201);
        put_account(&s, &key, "u-ap").await;
        let hold_id = place_hold(&s, &key, "u-ap", json!({"amount": "50000", "asset": "USDT"})).await;
        let (case, _) = cases::open_for_hold(&s.db, &Desk::default(), "u-ap", &hold_id, thaw_services::now_ms()).await.unwrap();
        let number = case.reference();

        // Tier 1, above the policy's amount: the case page asks a supervisor …
        let (t1, t1_csrf, t1_id) = s.signed_in_as("agent_t1").await;
        let lift = format!("/desk/cases/{number}/holds/{hold_id}/release");
        let (st, loc) = post_form(&t1, &s, &lift, &[("csrf", &t1_csrf), ("note", "customer proved source of funds")]).await;
        assert_eq!((st, loc), (303, format!("/desk/cases/{number}?notice=requested")));
        let waiting = pending(&s).await;
        assert_eq!(waiting.len(), 1);
        assert_eq!((waiting[0].kind.as_str(), waiting[0].requested_by.as_str()), ("release_hold", t1_id.as_str()));
        assert_eq!(waiting[0].reason, format!("{number} customer proved source of funds"));
        // … and no other route lifts it either.
        let (st, loc) = post_form(&t1, &s, &format!("/desk/holds/{hold_id}/release"), &[("csrf", &t1_csrf)]).await;
        assert_eq!((st, loc), (303, "/desk/accounts/u-ap?refused=above_authority".to_string()));
        let res = t1.post(s.url(&format!("/api/v1/holds/{hold_id}/release"))).header("x-csrf-token", &t1_csrf).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "above_authority");
        assert_eq!(withdraw_status(&s, &key, "u-ap").await, "held");

        // Agents do not decide; a supervisor never decides their own request.
        let decide = format!("/desk/approvals/{}/decide", waiting[0].id);
        let (st, _) = post_form(&t1, &s, &decide, &[("csrf", &t1_csrf), ("decision", "approve")]).await;
        assert_eq!(st, 403);
        let requester_as_supervisor = CaseActor::Staff { id: t1_id.clone(), role: Role::Supervisor, name: "x".into() };
        let own = approvals::decide(&s.db, &thaw::load_risk(&thaw::config::Config::default()).unwrap(), &waiting[0].id, &requester_as_supervisor, true, "", thaw_services::now_ms()).await;
        assert!(matches!(own, Err(thaw_services::ServiceError::Refused { code: "own_request", .. })), "{own:?}");
        assert_eq!(withdraw_status(&s, &key, "u-ap").await, "held");

        let (sup, sup_csrf, sup_id) = s.signed_in_as("supervisor").await;
        let (_, inbox) = (200, sup.get(s.url("/desk/approvals")).send().await.unwrap().text().await.unwrap());
        assert!(inbox.contains(&format!("data-testid=\"approval-{}\"", waiting[0].id)) && inbox.contains("data-testid=\"approve\""));
        let (st, loc) = post_form(&sup, &s, &decide, &[("csrf", &sup_csrf), ("decision", "deny")]).await;
        assert_eq!((st, loc), (303, "/desk/approvals?refused=required".to_string()), "a denial needs a reason");
        let (st, loc) = post_form(&sup, &s, &decide, &[("csrf", &sup_csrf), ("decision", "approve"), ("note", "checked the bank statement")]).await;
        assert_eq!((st, loc), (303, "/desk/approvals?notice=approved".to_string()));
        assert_eq!(withdraw_status(&s, &key, "u-ap").await, "allowed");
        let decided = s.db.conn().await.unwrap().cases().approval(&waiting[0].id).await.unwrap().unwrap();
        assert_eq!((decided.status.as_str(), decided.decided_by.as_deref()), ("approved", Some(sup_id.as_str())));
        assert_eq!(decided.decision_note.as_deref(), Some("checked the bank statement"));
        let (hold, history) = thaw_services::holds::get(&s.db, &hold_id).await.unwrap();
        assert_eq!(hold.released_by.as_deref(), Some(format!("staff:{sup_id}").as_str()), "lifted under the supervisor's authority");
        assert!(history.iter().any(|h| h.note.contains(&t1_id) && h.note.contains("customer proved source of funds")), "both are recorded");
        let (st, loc) = post_form(&sup, &s, &decide, &[("csrf", &sup_csrf), ("decision", "approve")]).await;
        assert_eq!((st, loc), (303, "/desk/approvals?refused=already_decided".to_string()));

        // Compensation: within tier 1's 20 USDT at once, above it through a supervisor.
        let comp = format!("/desk/cases/{number}/compensate");
        let (_, loc) = post_form(&t1, &s, &comp, &[("csrf", &t1_csrf), ("amount", "10"), ("asset", "usdt"), ("reason", "fee refund")]).await;
        assert_eq!(loc, format!("/desk/cases/{number}?notice=compensated"));
        let (_, loc) = post_form(&t1, &s, &comp, &[("csrf", &t1_csrf), ("amount", "500.50"), ("asset", "USDT"), ("reason", "missed price")]).await;
        assert_eq!(loc, format!("/desk/cases/{number}?notice=requested"));
        for (amount, asset, reason, code) in [("-5", "USDT", "x", "invalid_amount"), ("0", "USDT", "x", "invalid_amount"), ("ten", "USDT", "x", "invalid_amount"), ("5", "US DT", "x", "invalid_asset"), ("5", "USDT", " ", "required")] {
            let (_, loc) = post_form(&t1, &s, &comp, &[("csrf", &t1_csrf), ("amount", amount), ("asset", asset), ("reason", reason)]).await;
            assert_eq!(loc, format!("/desk/cases/{number}?refused={code}"), "{amount} {asset} {reason:?}");
        }
        assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM compensations").await, 1, "bad input stores nothing");
        let request = pending(&s).await.into_iter().find(|a| a.kind == "compensation").unwrap();
        let (_, loc) = post_form(&sup, &s, &format!("/desk/approvals/{}/decide", request.id), &[("csrf", &sup_csrf), ("decision", "approve")]).await;
        assert_eq!(loc, "/desk/approvals?notice=approved");
        let granted = s.db.conn().await.unwrap().cases().compensations(&case.id).await.unwrap();
        let summary: Vec<_> = granted.iter().map(|c| (c.amount.as_str(), c.asset.as_str(), c.granted_by.as_str(), c.approved_by.as_deref())).collect();
        assert_eq!(summary, vec![("10", "USDT", t1_id.as_str(), None), ("500.5", "USDT", t1_id.as_str(), Some(sup_id.as_str()))]);
        assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event_type = 'compensation.granted'").await, 2, "the platform is told to pay each");
        let page = sup.get(s.url(&format!("/desk/cases/{number}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("500.5 USDT") && page.contains("Approval decided"), "the case shows both");
    }
}

on_both_backends! {
    async fn a_members_own_limits_narrow_their_role_on_every_route(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        put_account(&s, &key, "u-lim").await;
        let (admin, admin_csrf) = s.signed_in("admin").await;
        let (t1, t1_csrf, t1_id) = s.signed_in_as("agent_t1").await;
        let limits = format!("/desk/staff/{t1_id}/limits");
        // Bad input names the field and changes nothing.
        let res = admin.post(s.url(&limits)).form(&[("csrf", admin_csrf.as_str()), ("compensation", "USDT=lots")]).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("compensation: &#39;USDT=lots&#39;"));
        assert_eq!(s.db.conn().await.unwrap().staff().limits(&t1_id).await.unwrap(), Default::default());
        let (st, _) = post_form(&t1, &s, &limits, &[("csrf", &t1_csrf), ("origin", "risk")]).await;
        assert_eq!(st, 403, "only administrators set limits");
        let (st, loc) = post_form(&admin, &s, &limits, &[("csrf", &admin_csrf), ("origin", "risk"), ("compensation", "USDT=5")]).await;
        assert_eq!((st, loc.as_str()), (303, "/desk/staff?saved=1"));
        let page = admin.get(s.url("/desk/staff")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("value=\"USDT=5\""), "the page shows the saved limit");

        // A platform hold without an amount: within tier 1's role, outside this member's origins.
        let hold_id = place_hold(&s, &key, "u-lim", json!({})).await;
        let res = t1.post(s.url(&format!("/api/v1/holds/{hold_id}/release"))).header("x-csrf-token", &t1_csrf).json(&json!({})).send().await.unwrap();
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "origin_beyond_authority");
        let (_, loc) = post_form(&t1, &s, &format!("/desk/holds/{hold_id}/release"), &[("csrf", &t1_csrf)]).await;
        assert_eq!(loc, "/desk/accounts/u-lim?refused=origin_beyond_authority");
        let (case, _) = cases::open_for_hold(&s.db, &Desk::default(), "u-lim", &hold_id, thaw_services::now_ms()).await.unwrap();
        let number = case.reference();
        let (_, loc) = post_form(&t1, &s, &format!("/desk/cases/{number}/holds/{hold_id}/release"), &[("csrf", &t1_csrf)]).await;
        assert_eq!(loc, format!("/desk/cases/{number}?notice=requested"));
        assert_eq!(withdraw_status(&s, &key, "u-lim").await, "held");
        let (_, loc) = post_form(&t1, &s, &format!("/desk/cases/{number}/compensate"), &[("csrf", &t1_csrf), ("amount", "10"), ("asset", "USDT"), ("reason", "fee")]).await;
        assert_eq!(loc, format!("/desk/cases/{number}?notice=requested"), "their own 5 USDT, not the role's 20");
        assert_eq!(pending(&s).await.len(), 2);
        // Another tier-1 agent without own limits lifts it: the role allows it.
        let (other, other_csrf) = s.signed_in("agent_t1").await;
        let (_, loc) = post_form(&other, &s, &format!("/desk/holds/{hold_id}/release"), &[("csrf", &other_csrf)]).await;
        assert_eq!(loc, "/desk/accounts/u-lim?released=1");
        // The request about it can no longer be carried out: recorded as failed, nothing else.
        let (sup, sup_csrf) = s.signed_in("supervisor").await;
        let request = pending(&s).await.into_iter().find(|a| a.kind == "release_hold").unwrap();
        let (_, loc) = post_form(&sup, &s, &format!("/desk/approvals/{}/decide", request.id), &[("csrf", &sup_csrf), ("decision", "approve")]).await;
        assert_eq!(loc, "/desk/approvals?notice=failed");
        let failed = s.db.conn().await.unwrap().cases().approval(&request.id).await.unwrap().unwrap();
        assert_eq!(failed.status, "failed");
        assert!(failed.outcome.unwrap().contains("no longer active"));
    }
}

on_both_backends! {
    async fn macros_fill_from_the_case_and_qa_is_scored_by_a_supervisor_who_did_not_work_it(b) {
        let s = TestServer::start_with(b, |c| c.desk_qa_percent = 100).await;
        let key = s.api_key().await;
        put_account(&s, &key, "u-qa").await;
        let hold_id = place_hold(&s, &key, "u-qa", json!({"amount": "1200", "asset": "USDT"})).await;
        let (case, _) = cases::open_for_hold(&s.db, &Desk::default(), "u-qa", &hold_id, thaw_services::now_ms()).await.unwrap();
        let number = case.reference();
        let (sup, sup_csrf, sup_id) = s.signed_in_as("supervisor").await;

        // A macro in the case's language with the case's facts, nothing left unfilled.
        let page = sup.get(s.url(&format!("/desk/cases/{number}?macro=acknowledge_with_times"))).send().await.unwrap().text().await.unwrap();
        let draft = page.split("data-testid=\"desk-body\">").nth(1).unwrap().split("</textarea>").next().unwrap();
        assert!(draft.contains(&number) && draft.contains("u-qa") && draft.contains("UTC"), "{draft}");
        assert!(!draft.contains("{{"), "every placeholder filled: {draft}");
        assert!(page.contains("value=\"acknowledge_with_times\" selected"));

        // Resolved by this supervisor: sampled (100 %), and only another supervisor reviews it.
        let res = sup.post(s.url(&format!("/desk/cases/{number}/status"))).form(&[("csrf", sup_csrf.as_str()), ("status", "resolved")]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let sampled = s.db.conn().await.unwrap().cases().qa_review(&case.id).await.unwrap().unwrap();
        assert_eq!(sampled.agent_id.as_deref(), Some(sup_id.as_str()));
        let scores = [("correct_outcome", "2"), ("followed_policy", "2"), ("clear_explanation", "1"), ("tone", "2"), ("no_needless_requests", "2")];
        let mut fields: Vec<(&str, &str)> = vec![("csrf", sup_csrf.as_str())];
        fields.extend(scores);
        let (_, loc) = post_form(&sup, &s, &format!("/desk/qa/{number}"), &fields).await;
        assert_eq!(loc, "/desk/qa?refused=own_case");
        let (t1, t1_csrf) = s.signed_in("agent_t1").await;
        let (st, _) = post_form(&t1, &s, &format!("/desk/qa/{number}"), &[("csrf", &t1_csrf)]).await;
        assert_eq!(st, 403, "agents do not review");
        let (other, other_csrf) = s.signed_in("supervisor").await;
        let mut bad: Vec<(&str, &str)> = vec![("csrf", other_csrf.as_str())];
        bad.extend([("correct_outcome", "3")]);
        let (_, loc) = post_form(&other, &s, &format!("/desk/qa/{number}"), &bad).await;
        assert_eq!(loc, "/desk/qa?refused=invalid_score");
        let mut good: Vec<(&str, &str)> = vec![("csrf", other_csrf.as_str()), ("comment", "clear and kind")];
        good.extend(scores);
        let (_, loc) = post_form(&other, &s, &format!("/desk/qa/{number}"), &good).await;
        assert_eq!(loc, "/desk/qa?saved=1");
        let reviewed = s.db.conn().await.unwrap().cases().qa_review(&case.id).await.unwrap().unwrap();
        assert_eq!((reviewed.total, reviewed.comment.as_deref()), (Some(90), Some("clear and kind")));
        let (_, loc) = post_form(&other, &s, &format!("/desk/qa/{number}"), &good).await;
        assert_eq!(loc, "/desk/qa?refused=already_reviewed");
        let page = other.get(s.url("/desk/qa")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-testid=\"qa-recent\"") && page.contains("90%"));
    }
}

on_both_backends! {
    async fn a_supervisor_gives_a_vip_account_its_dedicated_agent_and_routing_follows(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/u-vip")).bearer_auth(&key)
            .json(&json!({"email": "vip@mail.example", "locale": "en", "vip_level": 3})).send().await.unwrap();
        assert!(res.status().is_success());
        let (_, _, agent_id) = s.signed_in_as("agent_t2").await;
        cases::set_online(&s.db, &Desk::default(), &agent_id, true, thaw_services::now_ms()).await.unwrap();
        let path = "/desk/accounts/u-vip/dedicated-agent";
        let (t1, t1_csrf) = s.signed_in("agent_t1").await;
        let (st, _) = post_form(&t1, &s, path, &[("csrf", &t1_csrf), ("agent", &agent_id)]).await;
        assert_eq!(st, 403, "only supervisors choose");
        let (sup, sup_csrf) = s.signed_in("supervisor").await;
        let (st, _) = post_form(&sup, &s, path, &[("csrf", &sup_csrf), ("agent", "nobody")]).await;
        assert_eq!(st, 422, "an unknown agent is refused");
        let (st, loc) = post_form(&sup, &s, path, &[("csrf", &sup_csrf), ("agent", &agent_id)]).await;
        assert_eq!((st, loc.as_str()), (303, "/desk/accounts/u-vip?dedicated=1"));
        let page = sup.get(s.url("/desk/accounts/u-vip")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("<option value=\"{agent_id}\" selected>")));
        let res = client().post(s.url("/api/v1/cases")).bearer_auth(&key)
            .json(&json!({"account_id": "u-vip", "category": "other", "subject": "Question", "body": "Hello"})).send().await.unwrap();
        let case: Value = res.json().await.unwrap();
        assert_eq!(case["assignee_id"], agent_id.as_str(), "the VIP's case goes to their agent: {case}");
    }
}
