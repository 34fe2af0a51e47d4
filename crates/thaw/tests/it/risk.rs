//! The risk engine through the API, on both backends: events and their decisions, idempotency,
//! bad input, holds and the enforcement call, release policies, expiry, webhooks.

use crate::on_both_backends;
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

fn ago(ms: i64) -> String {
    thaw_services::rfc3339(thaw_services::now_ms() - ms)
}

async fn post(s: &TestServer, key: &str, path: &str, body: &Value) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = client().post(s.url(path)).bearer_auth(key).json(body).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

async fn get(s: &TestServer, key: &str, path: &str) -> Value {
    client().get(s.url(path)).bearer_auth(key).send().await.unwrap().json().await.unwrap()
}

/// A sign-in from `place`: (city, country, latitude, longitude).
fn login(id: &str, account: &str, at: &str, ip: &str, place: (&str, &str, f64, f64)) -> Value {
    let (city, country, lat, lon) = place;
    json!({"id": id, "account_id": account, "kind": "login_succeeded", "occurred_at": at, "ip": ip, "device_id": "phone-1",
           "geo": {"country": country, "city": city, "lat": lat, "lon": lon}})
}

async fn count(s: &TestServer, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    sqlx::Row::try_get(&sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(s.db.pool()).await.unwrap(), "n").unwrap()
}

/// An impossible-travel takeover: Shanghai, then Frankfurt 25 minutes later.
async fn takeover(s: &TestServer, key: &str, account: &str) -> Value {
    let (st, _, _) = post(
        s,
        key,
        "/api/v1/events",
        &login(
            &format!("{account}-a"),
            account,
            &ago(30 * 60_000),
            "101.80.1.1",
            ("Shanghai", "CN", 31.2304, 121.4737),
        ),
    )
    .await;
    assert_eq!(st, 200);
    let (st, d, _) = post(
        s,
        key,
        "/api/v1/events",
        &login(&format!("{account}-b"), account, &ago(5 * 60_000), "46.4.1.1", ("Frankfurt", "DE", 50.1109, 8.6821)),
    )
    .await;
    assert_eq!(st, 200, "{d}");
    d
}

on_both_backends! {
    async fn an_event_gets_an_explained_decision_stored_once(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let d = takeover(&s, &key, "u-travel").await;
        assert_eq!(d["action"], "hold");
        let reason = d["reasons"].as_array().unwrap().iter().find(|r| r["code"] == "impossible_travel").expect("reason");
        assert_eq!(reason["facts"]["distance_km"], 8_820);
        assert_eq!(reason["facts"]["minutes"], 25);
        assert_eq!(reason["explanation"]["zh-CN"], "登录地点从Shanghai变为Frankfurt，相距 8,820 公里，间隔 25 分钟");
        assert_eq!(d["holds"][0]["scopes"], json!(["trade", "withdraw"]));
        assert_eq!(count(&s, "events").await, 2);
        assert_eq!(count(&s, "events WHERE action <> '' AND decision <> ''").await, 2);
        let account = get(&s, &key, "/api/v1/accounts/u-travel").await;
        assert_eq!(account["id"], "u-travel", "the unknown account was created from the event");
        let decisions = get(&s, &key, "/api/v1/accounts/u-travel/decisions").await;
        assert_eq!(decisions[0]["id"], d["id"], "the stored decision is the one answered");
    }
}

on_both_backends! {
    async fn the_same_event_again_gets_the_same_answer_and_a_changed_body_409(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let e = json!({"id": "evt-1", "account_id": "u-1", "kind": "withdrawal_requested", "occurred_at": ago(0),
                       "amount": "60000", "asset": "USDT", "address": "0xabc", "network": "ETH"});
        let (st, first, h) = post(&s, &key, "/api/v1/events", &e).await;
        assert_eq!((st, first["action"].as_str()), (200, Some("hold")));
        assert!(h.get("idempotent-replayed").is_none());
        let holds_after_first = count(&s, "holds").await;
        assert_eq!(holds_after_first, first["holds"].as_array().unwrap().len() as i64);
        let mut reordered = serde_json::Map::new();
        for (k, v) in e.as_object().unwrap().iter().rev() {
            reordered.insert(k.clone(), v.clone());
        }
        let (st, again, h) = post(&s, &key, "/api/v1/events", &Value::Object(reordered)).await;
        assert_eq!((st, &again), (200, &first), "same answer, whatever the key order");
        assert_eq!(h["idempotent-replayed"], "true");
        assert_eq!(count(&s, "holds").await, holds_after_first, "no second effect");
        let mut changed = e.clone();
        changed["amount"] = json!("70000");
        let (st, err, _) = post(&s, &key, "/api/v1/events", &changed).await;
        assert_eq!((st, err["error"]["code"].as_str()), (409, Some("event_id_reused")));
        assert_eq!((count(&s, "events").await, count(&s, "holds").await), (1, holds_after_first));
    }
}

fn failed_sign_in(id: String, account: &str, at: &str) -> Value {
    json!({"id": id, "account_id": account, "kind": "login_failed", "occurred_at": at, "ip": "203.0.113.9",
           "device_id": "laptop"})
}

/// What twelve failed sign-ins of account `alone`, sent one by one, come to: their actions in order.
async fn twelve_failures_one_by_one(s: &TestServer, key: &str, at: &str) -> Vec<String> {
    let mut actions = Vec::new();
    for n in 0..12 {
        let (st, d, _) = post(s, key, "/api/v1/events", &failed_sign_in(format!("one-{n}"), "alone", at)).await;
        assert_eq!(st, 200, "{d}");
        actions.push(d["action"].as_str().unwrap().to_string());
    }
    assert!(actions.iter().any(|a| a == "challenge") && actions.iter().any(|a| a == "hold"), "{actions:?}");
    actions
}

on_both_backends! {
    async fn events_sent_at_once_are_decided_as_if_one_by_one(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let at = ago(60_000);
        let failure = |id: String, account: &str| failed_sign_in(id, account, &at);
        let mut expected = twelve_failures_one_by_one(&s, &key, &at).await;
        expected.sort();
        let holds_alone = get(&s, &key, "/api/v1/accounts/alone/holds").await.as_array().unwrap().len();

        // The same for eight accounts at once, with one id sent six times and another id sent
        // twice with different bodies, all in flight together so that they share transactions.
        let mut bodies = Vec::new();
        for a in 0..8 {
            bodies.extend((0..12).map(|n| failure(format!("many-{a}-{n}"), &format!("many-{a}"))));
        }
        let twice = failure("dup-1".into(), "dup");
        bodies.extend(std::iter::repeat_n(twice.clone(), 6));
        let mut other = failure("dup-2".into(), "dup");
        bodies.push(other.clone());
        other["ip"] = json!("198.51.100.7");
        bodies.push(other);
        let mut tasks = Vec::new();
        for body in bodies.clone() {
            let (url, key) = (s.url("/api/v1/events"), key.clone());
            tasks.push(tokio::spawn(async move {
                let res = client().post(url).bearer_auth(key).json(&body).send().await.unwrap();
                let replayed = res.headers().contains_key("idempotent-replayed");
                (res.status().as_u16(), replayed, res.json::<Value>().await.unwrap())
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        for a in 0..8 {
            let mut actions: Vec<String> = answers
                .iter()
                .filter(|(_, _, d)| d["account_id"] == format!("many-{a}"))
                .map(|(st, _, d)| {
                    assert_eq!(*st, 200, "{d}");
                    d["action"].as_str().unwrap().to_string()
                })
                .collect();
            actions.sort();
            assert_eq!(actions, expected, "account many-{a}");
            let holds = get(&s, &key, &format!("/api/v1/accounts/many-{a}/holds")).await;
            assert_eq!(holds.as_array().unwrap().len(), holds_alone, "account many-{a}");
        }
        let dup1: Vec<_> = answers.iter().filter(|(_, _, d)| d["event_id"] == "dup-1").collect();
        assert_eq!(dup1.len(), 6);
        assert!(dup1.iter().all(|(st, _, d)| *st == 200 && *d == dup1[0].2), "one answer for one id");
        assert_eq!(dup1.iter().filter(|(_, replayed, _)| *replayed).count(), 5, "five replays");
        let dup2: Vec<u16> = answers[answers.len() - 2..].iter().map(|(st, _, _)| *st).collect();
        assert!(dup2.contains(&200) && dup2.contains(&409), "{dup2:?}");
        assert_eq!(count(&s, "events").await, 12 + 8 * 12 + 2);
        assert_eq!(count(&s, "events WHERE action <> '' AND decision <> ''").await, 12 + 8 * 12 + 2);
    }
}

on_both_backends! {
    async fn a_batch_is_decided_in_order_as_if_sent_one_by_one(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let at = ago(60_000);
        let failure = |id: String, account: &str| failed_sign_in(id, account, &at);
        let expected = twelve_failures_one_by_one(&s, &key, &at).await;

        // Two accounts' failures interleaved, an invalid event, an id sent twice and an id
        // reused with another body, in one batch (queued whole, so committed together).
        let mut events = Vec::new();
        for n in 0..12 {
            events.push(failure(format!("a-{n}"), "batch-a"));
            events.push(failure(format!("b-{n}"), "batch-b"));
        }
        events.insert(5, json!({"id": "bad", "account_id": "batch-a", "kind": "nope", "occurred_at": at}));
        events.push(failure("a-3".into(), "batch-a"));
        let mut reused = failure("b-4".into(), "batch-b");
        reused["ip"] = json!("198.51.100.7");
        events.push(reused);
        let (st, answer, _) = post(&s, &key, "/api/v1/events/batch", &json!({ "events": events })).await;
        assert_eq!(st, 200, "{answer}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), 27);
        assert!(results.iter().enumerate().all(|(i, r)| r["index"] == i), "{answer}");
        assert_eq!((results[5]["status"].as_u64(), results[5]["error"]["field"].as_str()), (Some(422), Some("events[5].kind")));
        for account in ["batch-a", "batch-b"] {
            let actions: Vec<&str> = results[..25]
                .iter()
                .filter(|r| r["status"] == 200 && r["decision"]["account_id"] == account)
                .map(|r| r["decision"]["action"].as_str().unwrap())
                .collect();
            assert_eq!(actions, expected, "{account}, in the batch's order");
        }
        let first_a3 = results.iter().find(|r| r["decision"]["event_id"] == "a-3").unwrap();
        assert_eq!((results[25]["status"].as_u64(), &results[25]["decision"]), (Some(200), &first_a3["decision"]), "a replay");
        assert_eq!(results[26]["status"], 409, "{}", results[26]);
        assert_eq!(count(&s, "events").await, 12 + 24);
    }
}

on_both_backends! {
    async fn an_event_that_cannot_be_stored_spoils_only_itself(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let at = ago(60_000);
        let sign_in = |id: String, account: String| {
            json!({"id": id, "account_id": account, "kind": "login_succeeded", "occurred_at": at, "ip": "203.0.113.9",
                   "device_id": "laptop"})
        };
        let (st, _, _) = post(&s, &key, "/api/v1/events", &sign_in("first".into(), "broken".into())).await;
        assert_eq!(st, 200);
        sqlx::query("UPDATE risk_states SET state = 'not json' WHERE account_id = 'broken'")
            .execute(s.db.pool())
            .await
            .unwrap();
        // Sent together, so that the broken account's event shares a transaction with others.
        let mut tasks = Vec::new();
        for n in 0..24 {
            let account = if n == 11 { "broken".to_string() } else { format!("fine-{n}") };
            let (url, key, body) = (s.url("/api/v1/events"), key.clone(), sign_in(format!("e-{n}"), account));
            tasks.push(tokio::spawn(async move {
                client().post(url).bearer_auth(key).json(&body).send().await.unwrap().status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        assert_eq!(statuses[11], 500, "the account's stored state is unreadable");
        assert!(statuses.iter().enumerate().all(|(n, st)| n == 11 || *st == 200), "{statuses:?}");
        assert_eq!(count(&s, "events").await, 1 + 23, "nothing of the failed event was written");
        assert_eq!(count(&s, "events WHERE action <> '' AND decision <> ''").await, 1 + 23);
        let (st, d, _) = post(&s, &key, "/api/v1/events", &sign_in("after".into(), "fine-0".into())).await;
        assert_eq!((st, d["action"].as_str()), (200, Some("allow")), "the server goes on");
    }
}

on_both_backends! {
    async fn bad_events_are_refused_naming_the_field_and_write_nothing(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let ok = json!({"id": "e", "account_id": "u-1", "kind": "deposit", "occurred_at": ago(0), "amount": "10", "asset": "USDT"});
        let with = |k: &str, v: Value| { let mut e = ok.clone(); e[k] = v; e };
        let without = |k: &str| { let mut e = ok.clone(); e.as_object_mut().unwrap().remove(k); e };
        let cases = vec![
            (with("kind", json!("logged_in")), "kind", "unknown_kind"),
            (without("account_id"), "account_id", "invalid_field"),
            (with("amount", json!(10.5)), "amount", "invalid_field"),
            (with("amount", json!("ten")), "amount", "invalid_amount"),
            (with("occurred_at", json!(thaw_services::rfc3339(thaw_services::now_ms() + 10 * 60_000))), "occurred_at", "in_future"),
            (with("occurred_at", json!("yesterday")), "occurred_at", "invalid_time"),
            (with("ip", json!("300.1.1.1")), "ip", "invalid_ip"),
            (with("geo", json!({"lat": 100, "lon": 0})), "geo.lat", "out_of_range"),
            (with("surprise", json!(1)), "surprise", "invalid_field"),
        ];
        for (body, field, code) in cases {
            let (st, e, _) = post(&s, &key, "/api/v1/events", &body).await;
            assert_eq!((st, e["error"]["field"].as_str(), e["error"]["code"].as_str()), (422, Some(field), Some(code)), "{body}");
        }
        assert_eq!((count(&s, "events").await, count(&s, "accounts").await), (0, 0), "nothing written");

        let batch = json!({"events": [ok.clone(), with("kind", json!("nope")), with("id", json!("e2"))]});
        let (st, answer, _) = post(&s, &key, "/api/v1/events/batch", &batch).await;
        assert_eq!(st, 200);
        let r = answer["results"].as_array().unwrap();
        assert_eq!((r[0]["status"].as_u64(), r[1]["status"].as_u64(), r[2]["status"].as_u64()), (Some(200), Some(422), Some(200)));
        assert_eq!(r[1]["error"]["field"], "events[1].kind");
        assert_eq!(count(&s, "events").await, 2);
        let big = json!({"events": vec![ok.clone(); 1_001]});
        let (st, e, _) = post(&s, &key, "/api/v1/events/batch", &big).await;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("events")));
        assert_eq!(count(&s, "events").await, 2, "an oversized batch writes nothing");
        // Only the platform sends events.
        let (staff, csrf) = s.signed_in("admin").await;
        let res = staff.post(s.url("/api/v1/events")).header("x-csrf-token", csrf).json(&ok).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
}

on_both_backends! {
    async fn the_enforcement_call_follows_hold_release_and_cool_down(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let status = |s: &TestServer, key: &str| { let (s, key) = (s.url("/api/v1/accounts/u-t/status"), key.to_string()); async move { client().get(s).bearer_auth(key).send().await.unwrap().json::<Value>().await.unwrap() } };
        let st = status(&s, &key).await;
        assert_eq!((st["login"].as_str(), st["withdraw"].as_str()), (Some("allowed"), Some("allowed")));
        let d = takeover(&s, &key, "u-t").await;
        let hold_id = d["holds"][0]["id"].as_str().unwrap().to_string();
        let st = status(&s, &key).await;
        assert_eq!((st["login"].as_str(), st["trade"].as_str(), st["withdraw"].as_str()), (Some("allowed"), Some("held"), Some("held")));
        assert_eq!(st["holds"][0]["reason_code"], "impossible_travel");

        let (agent, csrf) = s.signed_in("agent_t1").await;
        let res = agent.post(s.url(&format!("/api/v1/holds/{hold_id}/release"))).header("x-csrf-token", &csrf)
            .json(&json!({"note": "owner confirmed by phone, travelling with a VPN"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let st = status(&s, &key).await;
        assert_eq!((st["trade"].as_str(), st["withdraw"].as_str()), (Some("allowed"), Some("held")), "withdrawals cool down");
        assert_eq!(st["holds"][0]["reason_code"], "cooldown_after_release");
        let history = get(&s, &key, &format!("/api/v1/holds/{hold_id}")).await;
        let changes: Vec<&str> = history["history"].as_array().unwrap().iter().map(|h| h["change"].as_str().unwrap()).collect();
        assert_eq!(changes, vec!["created", "released"]);
        assert!(history["history"][1]["actor"].as_str().unwrap().starts_with("staff:"));
        assert_eq!(history["history"][1]["note"], "owner confirmed by phone, travelling with a VPN");
        let res = agent.post(s.url(&format!("/api/v1/holds/{hold_id}/release"))).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(res.status(), 403, "released once");
    }
}

on_both_backends! {
    async fn compliance_holds_refuse_agents_and_cool_downs_refuse_everyone(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let (st, d, _) = post(&s, &key, "/api/v1/events", &json!({"id": "w1", "account_id": "u-c", "kind": "withdrawal_requested",
            "occurred_at": ago(0), "amount": "900", "asset": "USDT", "address": "0x01E2919679362DFBC9EE1644BA9C6DA6D6245BB1", "network": "ETH"})).await;
        assert_eq!((st, d["action"].as_str()), (200, Some("block")));
        let hold = d["holds"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(d["holds"][0]["release_policy"], "compliance_only");
        for role in ["agent_t2", "supervisor"] {
            let (c, csrf) = s.signed_in(role).await;
            let res = c.post(s.url(&format!("/api/v1/holds/{hold}/release"))).header("x-csrf-token", csrf).send().await.unwrap();
            assert_eq!(res.status(), 403, "{role}");
            assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "compliance_only");
        }
        let (st, e, _) = post(&s, &key, &format!("/api/v1/holds/{hold}/release"), &json!({})).await;
        assert_eq!((st, e["error"]["code"].as_str()), (403, Some("compliance_only")), "nor the platform");
        let (officer, csrf) = s.signed_in("compliance").await;
        let res = officer.post(s.url(&format!("/api/v1/holds/{hold}/release"))).header("x-csrf-token", csrf).send().await.unwrap();
        assert_eq!(res.status(), 200);

        post(&s, &key, "/api/v1/events", &json!({"id": "pw", "account_id": "u-c", "kind": "password_changed", "occurred_at": ago(60_000)})).await;
        let (_, d, _) = post(&s, &key, "/api/v1/events", &json!({"id": "w2", "account_id": "u-c", "kind": "withdrawal_requested",
            "occurred_at": ago(0), "amount": "10", "asset": "USDT", "address": "0xabc"})).await;
        let hold = d["holds"].as_array().unwrap().iter().find(|h| h["reason"]["code"] == "withdrawal_after_credential_change").expect("cool-down hold");
        let id = hold["id"].as_str().unwrap();
        let (sup, csrf) = s.signed_in("supervisor").await;
        let res = sup.post(s.url(&format!("/api/v1/holds/{id}/release"))).header("x-csrf-token", csrf).send().await.unwrap();
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "release_only_by_expiry");
    }
}

on_both_backends! {
    async fn expiring_holds_stop_counting_on_time_and_are_marked_expired(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        // A password change 24 h minus 5 s ago: the withdrawal hold expires in 5 s.
        post(&s, &key, "/api/v1/events", &json!({"id": "pw", "account_id": "u-e", "kind": "password_changed", "occurred_at": ago(86_400_000 - 5_000)})).await;
        let (_, d, _) = post(&s, &key, "/api/v1/events", &json!({"id": "w", "account_id": "u-e", "kind": "withdrawal_requested",
            "occurred_at": ago(0), "amount": "10", "asset": "USDT", "address": "0xabc"})).await;
        let id = d["holds"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(get(&s, &key, "/api/v1/accounts/u-e/status").await["withdraw"], "held");
        tokio::time::sleep(Duration::from_millis(5_300)).await;
        assert_eq!(get(&s, &key, "/api/v1/accounts/u-e/status").await["withdraw"], "allowed", "exactly on time");
        let mut status = String::new();
        for _ in 0..40 {
            status = get(&s, &key, &format!("/api/v1/holds/{id}")).await["hold"]["status"].as_str().unwrap().to_string();
            if status == "expired" { break; }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "expired", "the expiry job ran");
        let h = get(&s, &key, &format!("/api/v1/holds/{id}")).await;
        assert_eq!(h["history"][1]["change"], "expired");
    }
}

on_both_backends! {
    async fn a_passed_challenge_lifts_what_the_owner_may_lift(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        takeover(&s, &key, "u-ch").await;
        let (_, d, _) = post(&s, &key, "/api/v1/events", &json!({"id": "cp", "account_id": "u-ch", "kind": "challenge_passed", "occurred_at": ago(0), "device_id": "phone-1"})).await;
        assert_eq!(d["released_holds"].as_array().map(|a| a.len()), Some(1));
        let st = get(&s, &key, "/api/v1/accounts/u-ch/status").await;
        assert_eq!((st["trade"].as_str(), st["withdraw"].as_str()), (Some("allowed"), Some("held")), "then the cool-down");
    }
}

on_both_backends! {
    async fn holds_placed_by_hand_follow_their_policy(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let (st, h, _) = post(&s, &key, "/api/v1/accounts/u-p/holds", &json!({"scopes": ["login", "withdraw"], "reason_code": "chargeback_review",
            "explanation": {"zh-CN": "订单 {order} 正在处理拒付", "en": "Chargeback on order {order} under review"}, "facts": {"order": "A-77"},
            "amount": "300", "asset": "USDT"})).await;
        assert_eq!((st, h["origin"].as_str()), (201, Some("platform")));
        assert_eq!(h["reason"]["explanation"]["en"], "Chargeback on order A-77 under review");
        assert_eq!(get(&s, &key, "/api/v1/accounts/u-p/status").await["login"], "held");
        let (st, e, _) = post(&s, &key, "/api/v1/accounts/u-p/holds", &json!({"scopes": ["everything"], "reason_code": "x"})).await;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("scopes")));
        let (st, e, _) = post(&s, &key, "/api/v1/accounts/u-p/holds", &json!({"scopes": ["login"], "reason_code": "x", "release_policy": "expiry_only"})).await;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("expires_at")));
        let forever = json!({"scopes": ["all"], "reason_code": "x", "release_policy": "expiry_only", "expires_at": "2099-12-31T00:00:00Z"});
        let (st, e, _) = post(&s, &key, "/api/v1/accounts/u-p/holds", &forever).await;
        assert_eq!((st, e["error"]["code"].as_str()), (422, Some("too_far")), "nobody could ever lift it");
        let (agent1, csrf) = s.signed_in("agent_t1").await;
        let res = agent1.post(s.url("/api/v1/accounts/u-p/holds")).header("x-csrf-token", csrf).json(&json!({"scopes": ["login"], "reason_code": "x"})).send().await.unwrap();
        assert_eq!(res.status(), 403, "tier-1 agents do not place holds");
        let (st, _, _) = post(&s, &key, &format!("/api/v1/holds/{}/release", h["id"].as_str().unwrap()), &json!({"note": "chargeback withdrawn"})).await;
        assert_eq!(st, 200, "the platform lifts its own hold");
    }
}

on_both_backends! {
    async fn webhooks_are_signed_retried_and_delivered_once_across_processes(b) {
        let dir = temp_dir("hooks");
        let log = dir.join("received.jsonl");
        let secret = "whsec_test_secret_0123456789";
        let mut receiver = tokio::process::Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/webhooks/receiver.py"))
            .args([secret, log.to_str().unwrap(), "2"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the webhook receiver");
        let mut line = String::new();
        use tokio::io::AsyncBufReadExt;
        tokio::io::BufReader::new(receiver.stdout.take().unwrap()).read_line(&mut line).await.unwrap();
        let port: u16 = line.trim().parse().unwrap();

        let s = TestServer::start_with(b, |c| c.webhook_retry_base_ms = 100).await;
        let url = s.database_url.clone();
        let second = TestServer::start_with(b, |c| { c.database_url = url; c.webhook_retry_base_ms = 100; }).await;
        let (admin, csrf) = s.signed_in("admin").await;
        let res = admin.post(s.url("/api/v1/webhooks")).header("x-csrf-token", &csrf)
            .json(&json!({"url": format!("http://127.0.0.1:{port}/thaw"), "event_types": ["hold.created", "decision.made"], "secret": secret}))
            .send().await.unwrap();
        assert_eq!(res.status(), 201);
        let endpoint: Value = res.json().await.unwrap();
        assert_eq!(endpoint["secret"], secret, "shown once, at registration");
        let key = s.api_key().await;
        takeover(&s, &key, "u-hook").await;
        // One decision.made and one hold.created to deliver; the receiver fails its first two requests.
        for _ in 0..100 {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let delivered = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|e| e["status"] == 200).count();
            if delivered >= 2 { break; }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all: Vec<Value> = std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let ok: Vec<&Value> = all.iter().filter(|e| e["status"] == 200).collect();
        assert_eq!(ok.len(), 2, "each delivered once: {all:?}");
        assert!(all.iter().all(|e| e["valid"] == true), "every signature verifies with Python's hmac");
        let mut ids: Vec<&str> = ok.iter().map(|e| e["delivery"].as_str().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 2, "no double delivery");
        let mut types: Vec<&str> = ok.iter().map(|e| e["event"].as_str().unwrap()).collect();
        types.sort();
        assert_eq!(types, vec!["decision.made", "hold.created"]);
        assert_eq!(all.len(), 4, "two failed attempts, then two deliveries");
        let log_api: Value = admin.get(second.url(&format!("/api/v1/webhooks/{}/deliveries", endpoint["id"].as_str().unwrap()))).send().await.unwrap().json().await.unwrap();
        let attempts: i64 = log_api.as_array().unwrap().iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
        assert_eq!(attempts, 4);
        assert!(log_api.as_array().unwrap().iter().all(|d| d["status"] == "delivered"));
        drop(second);
        let _ = receiver.kill().await;
    }
}

on_both_backends! {
    async fn an_operators_rule_fires_after_a_reload_and_a_bad_file_changes_nothing(b) {
        let dir = temp_dir("policy");
        let file = dir.join("policy.toml");
        std::fs::write(&file, thaw_engines::risk::policy::DEFAULT_POLICY).unwrap();
        let s = TestServer::start_with(b, |c| c.policy_file = Some(file.clone())).await;
        let key = s.api_key().await;
        let (admin, csrf) = s.signed_in("admin").await;
        let rule = r#"
[[rules]]
code = "vip_trade_from_tor"
action = "challenge"
explanation."zh-CN" = "VIP {vip_level} 级账户从 IP {ip} 交易"
explanation.en = "Trade by a VIP {vip_level} account from IP {ip}"
when = { all = [ { field = "event.kind", op = "eq", value = "trade" }, { field = "event.ip", op = "in_cidr", value = ["185.220.0.0/16"] } ] }
"#;
        std::fs::write(&file, format!("{}{rule}", thaw_engines::risk::policy::DEFAULT_POLICY)).unwrap();
        let res = admin.post(s.url("/api/v1/policy/reload")).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.json::<Value>().await.unwrap()["rules"].as_array().unwrap().iter().any(|r| r == "vip_trade_from_tor"));
        let (_, d, _) = post(&s, &key, "/api/v1/events", &json!({"id": "t1", "account_id": "u-r", "kind": "trade", "occurred_at": ago(0),
            "ip": "185.220.101.4", "amount": "5", "asset": "BTC"})).await;
        assert_eq!(d["action"], "challenge");
        assert_eq!(d["reasons"][0]["explanation"]["en"], "Trade by a VIP 0 account from IP 185.220.101.4");
        assert!(d["challenge_url"].as_str().unwrap().ends_with(&format!("/security/challenge/{}", d["id"].as_str().unwrap())));

        std::fs::write(&file, "[detectors.failed_logins]\nwindow = \"soon\"\n").unwrap();
        let res = admin.post(s.url("/api/v1/policy/reload")).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("line 2"));
        let (_, d, _) = post(&s, &key, "/api/v1/events", &json!({"id": "t2", "account_id": "u-r", "kind": "trade", "occurred_at": ago(0),
            "ip": "185.220.101.4", "amount": "5", "asset": "BTC"})).await;
        assert_eq!(d["action"], "challenge", "the previous policy stays in force");
    }
}

on_both_backends! {
    async fn the_demo_day_leaves_holds_with_real_reasons(b) {
        let s = TestServer::start(b).await;
        let risk = thaw_services::risk::RiskRuntime::load(None, &s.base).unwrap();
        thaw_services::demo::seed(&s.db, |_, _| {}).await.unwrap();
        let n = thaw_services::demo::day::seed(&s.db, &risk, thaw_services::now_ms(), |_, _| {}).await.unwrap();
        assert!(n > 1_000);
        let key = s.api_key().await;
        let reasons = |account: &'static str| {
            let s = &s;
            let key = key.clone();
            async move {
                let holds = get(s, &key, &format!("/api/v1/accounts/{account}/holds?state=all")).await;
                holds.as_array().unwrap().iter().map(|h| h["reason"]["code"].as_str().unwrap().to_string()).collect::<Vec<_>>()
            }
        };
        assert!(reasons("demo-10004").await.contains(&"failed_logins".to_string()), "credential stuffing");
        let takeover = reasons("demo-10008").await;
        assert!(takeover.contains(&"impossible_travel".to_string()) && takeover.contains(&"withdrawal_after_credential_change".to_string()), "{takeover:?}");
        assert!(reasons("demo-10013").await.contains(&"listed_address".to_string()));
        assert!(reasons("demo-10021").await.contains(&"structuring".to_string()));
        assert!(reasons("demo-10042").await.contains(&"unusual_amount".to_string()));
        let dormant = get(&s, &key, "/api/v1/accounts/demo-10033/decisions").await;
        assert!(dormant.as_array().unwrap().iter().any(|d| d["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "dormant_account")));
        assert_eq!(thaw_services::demo::day::seed(&s.db, &risk, thaw_services::now_ms(), |_, _| {}).await.unwrap(), 0, "idempotent");
    }
}

on_both_backends! {
    async fn places_come_from_the_city_database_when_an_event_has_none(b) {
        let dir = temp_dir("geo");
        let mmdb = dir.join("cities.mmdb");
        let made = std::process::Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/geo/make_mmdb.py"))
            .arg(&mmdb)
            .output()
            .expect("python3");
        if !made.status.success() {
            assert_ne!(std::env::var("THAW_TEST_REQUIRE_PG").as_deref(), Ok("1"), "scripts/test installs mmdb-writer: {}", String::from_utf8_lossy(&made.stderr));
            eprintln!("note: mmdb-writer (PyPI) missing; city-database test skipped");
            return;
        }
        let s = TestServer::start_with(b, |c| c.geoip_db = Some(mmdb.clone())).await;
        let key = s.api_key().await;
        let bare = |id: &str, at: String, ip: &str| json!({"id": id, "account_id": "u-geo", "kind": "login_succeeded", "occurred_at": at, "ip": ip, "device_id": "p"});
        let (_, first, _) = post(&s, &key, "/api/v1/events", &bare("g1", ago(30 * 60_000), "101.80.3.4")).await;
        assert_eq!(first["geo_lookup"]["city"], "Shanghai", "flat layout read: {first}");
        let (_, d, _) = post(&s, &key, "/api/v1/events", &bare("g2", ago(5 * 60_000), "46.4.9.9")).await;
        assert_eq!(d["geo_lookup"]["country"], "DE", "GeoIP2 layout read");
        assert_eq!(d["geo_lookup"]["attribution"], "IP geolocation by DB-IP.com (CC BY 4.0)");
        let travel = d["reasons"].as_array().unwrap().iter().find(|r| r["code"] == "impossible_travel").expect("travel detected from looked-up places");
        assert_eq!(travel["facts"]["from_city"], "Shanghai");
        assert_eq!(travel["facts"]["to_city"], "Frankfurt");
        let (_, unknown, _) = post(&s, &key, "/api/v1/events", &bare("g3", ago(0), "192.0.2.1")).await;
        assert!(unknown.get("geo_lookup").is_none(), "an address the database does not know stays without a place");
    }
}

on_both_backends! {
    async fn the_inactivity_sweep_holds_idle_accounts_once_per_idle_spell(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let risk = thaw_services::risk::RiskRuntime::load(None, &s.base).unwrap();
        post(&s, &key, "/api/v1/events", &json!({"id": "old", "account_id": "u-idle", "kind": "trade", "occurred_at": ago(400 * 86_400_000), "amount": "1", "asset": "BTC"})).await;
        post(&s, &key, "/api/v1/events", &json!({"id": "new", "account_id": "u-busy", "kind": "trade", "occurred_at": ago(60_000), "amount": "1", "asset": "BTC"})).await;
        let now = thaw_services::now_ms();
        // The server's own job runner sweeps too; whoever comes first, the account is held once.
        assert!(thaw_services::holds::inactivity_sweep(&s.db, &risk, now).await.unwrap() <= 1);
        let all = get(&s, &key, "/api/v1/accounts/u-idle/holds?state=all").await;
        assert_eq!(all.as_array().unwrap().iter().filter(|h| h["origin"] == "inactivity").count(), 1);
        let st = get(&s, &key, "/api/v1/accounts/u-idle/status").await;
        assert_eq!((st["login"].as_str(), st["withdraw"].as_str()), (Some("held"), Some("held")));
        assert_eq!(st["holds"][0]["reason_code"], "inactivity");
        assert_eq!(get(&s, &key, "/api/v1/accounts/u-busy/status").await["login"], "allowed");
        assert_eq!(thaw_services::holds::inactivity_sweep(&s.db, &risk, now).await.unwrap(), 0, "once per idle spell");
        let hold = st["holds"][0]["id"].as_str().unwrap().to_string();
        let (agent, csrf) = s.signed_in("agent_t1").await;
        agent.post(s.url(&format!("/api/v1/holds/{hold}/release"))).header("x-csrf-token", csrf).send().await.unwrap();
        assert_eq!(thaw_services::holds::inactivity_sweep(&s.db, &risk, now + 1).await.unwrap(), 0, "not again after the owner was helped back in");
    }
}

async fn stored_activity(s: &TestServer, account: &str) -> Option<i64> {
    let row = sqlx::query("SELECT last_activity_at FROM risk_states WHERE account_id = $1").bind(account);
    sqlx::Row::try_get(&row.fetch_one(s.db.pool()).await.unwrap(), "last_activity_at").unwrap()
}

/// Waits until the server's job runner has run its first inactivity sweep (run at start, then
/// rescheduled a day on), so that a test's own sweep is the only one in the next day.
async fn first_sweep_done(s: &TestServer) {
    for _ in 0..200 {
        let row = sqlx::query("SELECT run_at FROM jobs WHERE kind = 'inactivity_sweep'")
            .fetch_optional(s.db.pool())
            .await
            .unwrap();
        let next: Option<i64> = row.map(|r| sqlx::Row::try_get(&r, "run_at").unwrap());
        if next.is_some_and(|at| at > thaw_services::now_ms() + 3_600_000) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server's job runner did not run its first inactivity sweep within 10 s");
}

on_both_backends! {
    async fn the_activity_column_moves_by_the_hour_and_the_sweep_goes_by_the_exact_time(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        // Else the server's sweep could run between the first two events and rightly hold an
        // account that was idle for a year at that moment.
        first_sweep_done(&s).await;
        let year = 365 * 86_400_000_i64;
        let trade = |id: &str, at_ms: i64| json!({"id": id, "account_id": "u-edge", "kind": "trade",
            "occurred_at": thaw_services::rfc3339(at_ms), "amount": "1", "asset": "BTC"});
        let now = thaw_services::now_ms();
        // Half an hour before the idle cutoff, then ten minutes after it: within the hour, so
        // the column keeps the first time while the account was in fact active since the cutoff.
        let first = now - year - 30 * 60_000;
        assert_eq!(post(&s, &key, "/api/v1/events", &trade("e1", first)).await.0, 200);
        assert_eq!(post(&s, &key, "/api/v1/events", &trade("e2", now - year + 10 * 60_000)).await.0, 200);
        // rfc3339 keeps milliseconds, so the stored time is the one sent.
        assert_eq!(stored_activity(&s, "u-edge").await, Some(first), "not rewritten within the hour");
        let risk = thaw_services::risk::RiskRuntime::load(None, &s.base).unwrap();
        assert_eq!(thaw_services::holds::inactivity_sweep(&s.db, &risk, now).await.unwrap(), 0, "active since the cutoff");
        let st = get(&s, &key, "/api/v1/accounts/u-edge/status").await;
        assert_eq!(st["login"], "allowed", "no inactivity hold: {st}");
        // An hour or more later the column moves.
        let later = now - year + 70 * 60_000;
        assert_eq!(post(&s, &key, "/api/v1/events", &trade("e3", later)).await.0, 200);
        assert_eq!(stored_activity(&s, "u-edge").await, Some(later));
        // The account's decisions are read through its events, newest first.
        let decisions = get(&s, &key, "/api/v1/accounts/u-edge/decisions").await;
        let ids: Vec<&str> = decisions.as_array().unwrap().iter().map(|d| d["event_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["e3", "e2", "e1"]);
    }
}
