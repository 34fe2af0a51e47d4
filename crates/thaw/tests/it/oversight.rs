//! Oversight: the hash-chained audit log (written with each change, tampering detected),
//! analytics, the official-channel checker and the admin pages.

use crate::on_both_backends;
use crate::support::*;
use serde_json::json;
use thaw_store::audit::{AuditQuery, Entry, Verdict};
use thaw_store::{Capabilities, Db};

async fn verdict(db: &Db) -> Verdict {
    db.conn().await.unwrap().audit().verify(|_| {}).await.unwrap()
}

async fn entries(db: &Db) -> Vec<Entry> {
    db.conn().await.unwrap().audit().page(0, 1000).await.unwrap()
}

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(db.pool()).await.unwrap();
}

async fn reinsert(db: &Db, e: &Entry) {
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, ip, action, subject_type, subject_id, before_json, after_json, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(e.seq)
    .bind(e.at_ms)
    .bind(&e.actor)
    .bind(e.ip.clone())
    .bind(&e.action)
    .bind(&e.subject_type)
    .bind(&e.subject_id)
    .bind(e.before.clone())
    .bind(e.after.clone())
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(db.pool())
    .await
    .unwrap();
}

/// Six audited changes through the services: three API keys, one revoked, a webhook, a setting.
async fn some_history(db: &Db) {
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(thaw_services::api_keys::create(db, name, "test").await.unwrap().record.id);
    }
    thaw_services::api_keys::revoke(db, &ids[1]).await.unwrap();
    thaw_services::webhooks::register(db, "https://platform.example/hook", &["hold.created".to_string()], None, "test")
        .await
        .unwrap();
    thaw_services::signin::require_staff_totp(db, true, thaw_services::now_ms()).await.unwrap();
}

on_both_backends! {
    async fn audit_chain_detects_changed_removed_and_inserted_entries(b) {
        let db = fresh_db(b).await;
        some_history(&db).await;
        let log = entries(&db).await;
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["api_key.created", "api_key.created", "api_key.created", "api_key.revoked", "webhook.created", "setting.changed"]);
        assert_eq!(log[5].after.as_deref(), Some(r#"{"value":"true"}"#));
        assert_eq!(log[0].actor, "system", "no request context: the system acted");
        let Verdict::Intact { entries: 6, head_hash } = verdict(&db).await else { panic!("a fresh log is intact") };
        assert_eq!(head_hash, log[5].hash);

        // Changed content: the entry's own hash no longer matches.
        exec(&db, "UPDATE audit_log SET actor = 'staff:someone-else' WHERE seq = 2").await;
        let Verdict::Broken { seq: 2, problem } = verdict(&db).await else { panic!("a changed entry is found") };
        assert!(problem.contains("changed"), "{problem}");
        exec(&db, &format!("UPDATE audit_log SET actor = '{}' WHERE seq = 2", log[1].actor)).await;
        assert!(matches!(verdict(&db).await, Verdict::Intact { .. }), "restored, intact again");

        // Changed content with a recomputed hash: the next entry no longer follows it.
        let mut forged = log[2].clone();
        forged.after = Some(r#"{"name":"innocent"}"#.into());
        forged.hash = forged.computed_hash();
        exec(&db, "DELETE FROM audit_log WHERE seq = 3").await;
        reinsert(&db, &forged).await;
        let Verdict::Broken { seq: 4, problem } = verdict(&db).await else { panic!("a re-hashed entry breaks its successor") };
        assert!(problem.contains("does not follow"), "{problem}");
        exec(&db, "DELETE FROM audit_log WHERE seq = 3").await;
        reinsert(&db, &log[2]).await;

        // Removed in the middle.
        exec(&db, "DELETE FROM audit_log WHERE seq = 3").await;
        let Verdict::Broken { seq: 3, problem } = verdict(&db).await else { panic!("a removed entry is found") };
        assert!(problem.contains("missing"), "{problem}");
        reinsert(&db, &log[2]).await;

        // Inserted in the middle: later entries moved up one, a well-formed entry put at 3.
        for e in log[2..].iter().rev() {
            exec(&db, &format!("DELETE FROM audit_log WHERE seq = {}", e.seq)).await;
            reinsert(&db, &Entry { seq: e.seq + 1, ..e.clone() }).await;
        }
        let mut planted = Entry { seq: 3, action: "api_key.revoked".into(), prev_hash: log[1].hash.clone(), ..log[2].clone() };
        planted.hash = planted.computed_hash();
        reinsert(&db, &planted).await;
        let Verdict::Broken { seq: 4, .. } = verdict(&db).await else { panic!("an inserted entry is found") };
        for e in log[2..].iter() {
            exec(&db, &format!("DELETE FROM audit_log WHERE seq = {}", e.seq + 1)).await;
        }
        exec(&db, "DELETE FROM audit_log WHERE seq = 3").await;
        for e in &log[2..] {
            reinsert(&db, e).await;
        }
        assert!(matches!(verdict(&db).await, Verdict::Intact { entries: 6, .. }));

        // Added at the end, well formed, without moving the head.
        let mut appended = Entry { seq: 7, prev_hash: log[5].hash.clone(), ..log[5].clone() };
        appended.hash = appended.computed_hash();
        reinsert(&db, &appended).await;
        let Verdict::Broken { seq: 7, .. } = verdict(&db).await else { panic!("an entry added after the head is found") };
        exec(&db, "DELETE FROM audit_log WHERE seq = 7").await;

        // Removed at the end: the head still names the last entry.
        exec(&db, "DELETE FROM audit_log WHERE seq = 6").await;
        let Verdict::Broken { seq: 6, problem } = verdict(&db).await else { panic!("a removed last entry is found") };
        assert!(problem.contains("head"), "{problem}");
    }
}

on_both_backends! {
    async fn concurrent_changes_chain_one_after_another_and_refused_changes_leave_nothing(b) {
        let db = fresh_db(b).await;
        let mut tasks = Vec::new();
        for i in 0..12 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                thaw_services::api_keys::create(&db, &format!("k{i}"), "test").await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(matches!(verdict(&db).await, Verdict::Intact { entries: 12, .. }), "{:?}", verdict(&db).await);

        // A refused change (the same email twice) writes no audit entry.
        let new = thaw_domain::NewStaff::validate("dup@desk.example", None, "agent_t1", thaw_domain::Skills::default(), 5, thaw_domain::Locale::En).unwrap();
        thaw_services::staff::create(&db, &new, "correct horse battery").await.unwrap();
        assert!(thaw_services::staff::create(&db, &new, "correct horse battery").await.is_err());
        let log = entries(&db).await;
        assert_eq!(log.len(), 14, "the refused second creation added nothing");
        assert_eq!(log[12].action, "staff.created");
        assert_eq!(log[13].action, "staff.agent_id_assigned");
        assert!(!log[12].after.as_deref().unwrap().contains("argon2"), "no password hash in the log");
    }
}

on_both_backends! {
    async fn requests_are_audited_with_actor_address_and_before_after(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let key_id = key.split('_').nth(1).unwrap().to_string();
        let res = client()
            .post(s.url("/api/v1/accounts/u-audit/holds"))
            .bearer_auth(&key)
            .json(&json!({"scopes": ["withdraw"], "reason_code": "chargeback_review"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let hold: serde_json::Value = res.json().await.unwrap();
        let hold_id = hold["id"].as_str().unwrap().to_string();

        let (admin, csrf, admin_id) = s.signed_in_as("supervisor").await;
        let res = admin
            .post(s.url(&format!("/api/v1/holds/{hold_id}/release")))
            .header("x-csrf-token", &csrf)
            .json(&json!({"note": "confirmed with the owner"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

        let q = AuditQuery { subject_type: Some("hold".into()), subject_id: Some(hold_id.clone()), ..Default::default() };
        let mut log = s.db.conn().await.unwrap().audit().search(&q, 10).await.unwrap();
        log.reverse();
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[0].action, "hold.created");
        assert_eq!(log[0].actor, format!("api_key:{key_id}"));
        assert_eq!(log[0].ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(log[1].action, "hold.released");
        assert_eq!(log[1].actor, format!("staff:{admin_id}"));
        assert_eq!(log[1].before.as_deref(), Some(r#"{"status":"active"}"#));
        assert!(log[1].after.as_deref().unwrap().contains(r#""status":"released""#), "{:?}", log[1].after);
        let v = verdict(&s.db).await;
        assert!(matches!(v, Verdict::Intact { .. }), "{v:?}");
    }
}

on_both_backends! {
    async fn thaw_audit_verify_names_the_first_broken_entry_and_exports_csv(b) {
        let url = fresh_database_url(b).await;
        let db = Db::connect(&url, &Default::default()).await.unwrap();
        db.migrate().await.unwrap();
        some_history(&db).await;
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_thaw"))
                .env("THAW_DATABASE_URL", &url)
                .args(args)
                .output()
                .unwrap()
        };
        let out = run(&["audit", "verify"]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success() && stdout.starts_with("intact: 6 entries; head 6:"), "{stdout}");
        let head = stdout.trim().rsplit(' ').next().unwrap().to_string();
        let out = run(&["audit", "verify", "--expect-head", &head]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

        let out = run(&["audit", "export"]);
        let csv = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(csv.lines().count(), 7, "{csv}");
        assert!(csv.starts_with("seq,at,actor,ip,action,subject_type,subject_id,before,after,hash\r\n"));
        assert!(csv.contains(",setting.changed,setting,staff_totp_required,"), "{csv}");

        exec(&db, "UPDATE audit_log SET after_json = '{\"value\":\"false\"}' WHERE seq = 6").await;
        let out = run(&["audit", "verify"]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout.contains("BROKEN at entry 6"), "{stdout}");
    }
}

/// 2026-11-02T00:00Z plus `h` hours.
fn at(h: f64) -> i64 {
    1_793_577_600_000 + (h * 3_600_000.0) as i64
}

#[allow(clippy::too_many_arguments)]
async fn fixture_case(
    db: &Db,
    id: &str,
    n: i64,
    category: &str,
    channel: &str,
    status: &str,
    created: f64,
    first: Option<f64>,
    resolved: Option<f64>,
    breached: &str,
    assignee: Option<&str>,
) {
    sqlx::query(
        "INSERT INTO cases (id, number, account_id, category, priority, status, subject, intake, language, channel, tier,
            assignee_id, created_at, updated_at, first_response_at, resolved_at, pauses, warned, breached)
         VALUES ($1, $2, 'acc-1', $3, 'normal', $4, 's', '{}', 'en', $5, 1, $6, $7, $7, $8, $9, '[]', '[]', $10)",
    )
    .bind(id)
    .bind(n)
    .bind(category)
    .bind(status)
    .bind(channel)
    .bind(assignee)
    .bind(at(created))
    .bind(first.map(at))
    .bind(resolved.map(at))
    .bind(breached)
    .execute(db.pool())
    .await
    .unwrap();
}

on_both_backends! {
    async fn analytics_figures_match_hand_computed_values(b) {
        let s = TestServer::start(b).await;
        let db = &s.db;
        let acc = thaw_domain::AccountInput { email: Some("a@example.com".into()), ..Default::default() }
            .validate(thaw_domain::AccountId::parse("id", "acc-1").unwrap(), at(0.0))
            .unwrap();
        db.conn().await.unwrap().accounts().upsert(&acc).await.unwrap();
        let (_, _, ann) = s.signed_in_as("agent_t1").await;
        let (_, _, bob) = s.signed_in_as("agent_t1").await;
        exec(db, &format!("UPDATE staff SET display_name = 'Ann', team = 'zh-desk' WHERE id = '{ann}'")).await;
        exec(db, &format!("UPDATE staff SET display_name = 'Bob', team = 'en-desk' WHERE id = '{bob}'")).await;

        // The period is 2026-11-02 and 2026-11-03; "now" is 2026-11-04T00:00Z.
        fixture_case(db, "c1", 1, "asset_freeze", "portal", "resolved", 10.0, Some(11.0), Some(14.0), "[]", Some(&ann)).await;
        fixture_case(db, "c2", 2, "asset_freeze", "email", "resolved", 12.0, Some(20.0), Some(36.0), r#"["first_response"]"#, Some(&ann)).await;
        fixture_case(db, "c3", 3, "account_access", "portal", "open", 33.0, Some(33.5), None, "[]", Some(&bob)).await;
        fixture_case(db, "c4", 4, "account_access", "bot", "new", 47.0, None, None, r#"["first_response"]"#, None).await;
        fixture_case(db, "c5", 5, "other", "portal", "pending_customer", -192.0, Some(-190.0), None, "[]", None).await;
        exec(db, "INSERT INTO case_context (case_id, kind, ref_id) VALUES ('c2', 'repeat_of', 'c1')").await;
        for (case, score, h) in [("c1", 5, 15.0), ("c2", 2, 37.0), ("c3", 4, 34.0), ("c5", 1, -100.0)] {
            exec(db, &format!("INSERT INTO case_ratings (case_id, score, comment, channel, created_at) VALUES ('{case}', {score}, '', 'web', {})", at(h))).await;
        }
        for (i, (outcome, h)) in [("solved", 1.0), ("handed_over", 2.0), ("handed_over", 3.0), ("open", 4.0), ("solved", -5.0)].iter().enumerate() {
            exec(db, &format!("INSERT INTO bot_sessions (id, account_id, locale, transcript, predicted, outcome, created_at, updated_at) VALUES ('b{i}', 'acc-1', 'en', '[]', 'asset_freeze', '{outcome}', {t}, {t})", t = at(*h))).await;
        }
        for (id, policy, status, by, created, ended) in [
            ("h1", r#"{"kind":"owner","factors":1,"wait_ms":0}"#, "released", "owner", 10.0, 12.0),
            ("h2", r#"{"kind":"owner","factors":2,"wait_ms":0}"#, "expired", "thaw", 1.0, 30.0),
            ("h3", r#"{"kind":"agent"}"#, "released", "staff:x", 0.0, 24.0),
        ] {
            exec(db, &format!("INSERT INTO holds (id, account_id, scopes, origin, release_policy, reason, confidential, created_at, placed_by, status, released_at, released_by)
                VALUES ('{id}', 'acc-1', 'withdraw', 'risk_rule', '{policy}', '{{}}', 0, {}, 'risk', '{status}', {}, '{by}')", at(created), at(ended))).await;
        }
        for (i, (q, results)) in [("提现", 3), ("提现", 0), ("提现", 5), ("Withdrawal", 2), ("withdrawal", 0)].iter().enumerate() {
            exec(db, &format!("INSERT INTO search_log (id, at, surface, locale, query, results) VALUES ('q{i}', {}, 'help', 'en', '{q}', {results})", at(5.0))).await;
        }
        for (i, slug) in ["a", "a", "a", "b"].iter().enumerate() {
            exec(db, &format!("INSERT INTO article_shows (id, at, slug, surface) VALUES ('s{i}', {}, '{slug}', 'help')", at(6.0))).await;
        }

        let now = at(48.0);
        let f = thaw_services::analytics::Filter::parse(Some("2026-11-02"), Some("2026-11-03"), None, None, now).unwrap();
        let r = thaw_services::analytics::report(db, &f, now).await.unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["volume"]["total"], 4);
        assert_eq!(v["volume"]["days"], json!(["2026-11-02", "2026-11-03"]));
        assert_eq!(v["volume"]["by_category"], json!([{"name": "account_access", "counts": [0, 2]}, {"name": "asset_freeze", "counts": [2, 0]}]));
        assert_eq!(v["volume"]["by_channel"], json!([{"name": "portal", "counts": [1, 1]}, {"name": "bot", "counts": [0, 1]}, {"name": "email", "counts": [1, 0]}]));
        assert_eq!(v["top_issues"]["search_terms"], json!([{"term": "提现", "searches": 3, "without_results": 1}, {"term": "withdrawal", "searches": 2, "without_results": 1}]));
        assert_eq!(v["top_issues"]["articles"], json!([{"name": "a", "count": 3}, {"name": "b", "count": 1}]));
        assert_eq!(v["sla"], json!({"first_response": {"met": 2, "missed": 2, "rate": 0.5}, "resolution": {"met": 2, "missed": 0, "rate": 1.0}}));
        assert_eq!(v["times"]["first_response_hours"], json!({"count": 3, "p50": 1.0, "p90": 8.0, "p95": 8.0}));
        assert_eq!(v["times"]["resolution_hours"], json!({"count": 2, "p50": 4.0, "p90": 24.0, "p95": 24.0}));
        assert_eq!(v["csat"]["ratings"], 3);
        assert_eq!(v["csat"]["average"], 3.67);
        assert_eq!(v["csat"]["distribution"], json!([0, 1, 0, 1, 1]));
        assert_eq!(v["csat"]["by_agent"], json!([{"name": "Ann", "ratings": 2, "average": 3.5}, {"name": "Bob", "ratings": 1, "average": 4.0}]));
        assert_eq!(v["csat"]["by_team"], json!([{"name": "en-desk", "ratings": 1, "average": 4.0}, {"name": "zh-desk", "ratings": 2, "average": 3.5}]));
        assert_eq!(v["deflection"], json!({"conversations": 4, "solved": 1, "handed_over": 2, "other": 1, "rate": 0.25}));
        assert_eq!(v["self_service"], json!({"owner_releasable_ended": 2, "released_by_owner": 1, "rate": 0.5, "median_hours_to_release": 2.0, "median_hours_owner": 2.0}));
        assert_eq!(v["repeat_contacts"], json!({"cases": 4, "repeats": 1, "rate": 0.25}));
        assert_eq!(v["backlog"], /* c4 is 1 h old, c3 15 h, c5 10 days */ json!([{"name": "under_4h", "count": 1}, {"name": "4h_to_24h", "count": 1}, {"name": "1d_to_3d", "count": 0}, {"name": "3d_to_7d", "count": 0}, {"name": "over_7d", "count": 1}]));

        // Filters: one category, one team.
        let f = thaw_services::analytics::Filter::parse(Some("2026-11-02"), Some("2026-11-03"), Some("asset_freeze"), None, now).unwrap();
        let v = serde_json::to_value(thaw_services::analytics::report(db, &f, now).await.unwrap()).unwrap();
        assert_eq!((v["volume"]["total"].clone(), v["csat"]["average"].clone(), v["backlog"][4]["count"].clone()), (json!(2), json!(3.5), json!(0)));
        let f = thaw_services::analytics::Filter::parse(Some("2026-11-02"), Some("2026-11-03"), None, Some("en-desk"), now).unwrap();
        let v = serde_json::to_value(thaw_services::analytics::report(db, &f, now).await.unwrap()).unwrap();
        assert_eq!((v["volume"]["total"].clone(), v["csat"]["ratings"].clone()), (json!(1), json!(1)));

        // The API: supervisors see the same figures; agents are refused; bad filters name the field.
        let (sup, _) = s.signed_in("supervisor").await;
        let res = sup.get(s.url("/api/v1/analytics/sla?from=2026-11-02&to=2026-11-03")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["sla"]["first_response"]["rate"], 0.5);
        let res = sup.get(s.url("/api/v1/analytics/csat?from=2026-11-02&to=2026-11-03")).send().await.unwrap();
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["csat"]["average"], 3.67);
        let res = sup.get(s.url("/api/v1/analytics/sla?from=yesterday")).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["field"], "from");
        assert_eq!(sup.get(s.url("/api/v1/analytics/nonsense")).send().await.unwrap().status(), 404);
        let (agent, _) = s.signed_in("agent_t1").await;
        assert_eq!(agent.get(s.url("/api/v1/analytics/sla")).send().await.unwrap().status(), 403);
    }
}

on_both_backends! {
    async fn oversight_pages_show_charts_and_the_log_only_to_their_roles(b) {
        let s = TestServer::start(b).await;
        thaw_services::api_keys::create(&s.db, "for the log", "test").await.unwrap();
        let (sup, _) = s.signed_in("supervisor").await;
        let html = sup.get(s.url("/desk/analytics")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("data-testid=\"kpi-sla-first\"") && html.matches("<svg").count() >= 7, "charts on the page");
        let res = sup.get(s.url("/desk/analytics?from=nonsense")).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("from must be a date"));
        let res = sup.get(s.url("/desk/analytics/backlog.csv")).send().await.unwrap();
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(res.text().await.unwrap().contains("age,open_cases\r\nunder_4h,"));

        let (compliance, _) = s.signed_in("compliance").await;
        let html = compliance.get(s.url("/desk/audit?action=api_key.")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("api_key.created") && html.contains("data-testid=\"audit-log\""), "{html}");
        let html = compliance.get(s.url("/desk/audit/verify")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("data-testid=\"audit-verdict\"") && html.contains("intact"), "{html}");
        let csv = compliance.get(s.url("/desk/audit.csv")).send().await.unwrap().text().await.unwrap();
        assert!(csv.contains("api_key.created"));

        let (agent, _) = s.signed_in("agent_t2").await;
        for path in ["/desk/analytics", "/desk/analytics/sla.csv", "/desk/audit", "/desk/audit.csv", "/desk/audit/verify"] {
            assert_eq!(agent.get(s.url(path)).send().await.unwrap().status(), 403, "{path}");
        }
        assert_eq!(compliance.get(s.url("/desk/analytics")).send().await.unwrap().status(), 403);
        assert_eq!(compliance.get(s.url("/api/v1/audit?action=api_key.")).send().await.unwrap().status(), 200);
        assert_eq!(agent.get(s.url("/api/v1/audit")).send().await.unwrap().status(), 403);
    }
}

on_both_backends! {
    async fn the_checker_knows_official_channels_look_alikes_and_agent_ids(b) {
        let s = TestServer::start(b).await;
        let (admin, csrf) = s.signed_in("admin").await;
        for (kind, value, label) in [("domain", "Thaw.Example.", "Website"), ("email", "support@thaw.example", "Support"), ("handle", "x:thaw_official", "X")] {
            let res = admin.post(s.url("/desk/admin/channels")).form(&[("csrf", csrf.as_str()), ("kind", kind), ("value", value), ("label", label)]).send().await.unwrap();
            assert_eq!(res.status(), 303, "{kind} {value}");
        }
        let html = admin.get(s.url("/desk/admin/channels")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<td>thaw.example</td>"), "registered normalised: {html}");
        let res = admin.post(s.url("/desk/admin/channels")).form(&[("csrf", csrf.as_str()), ("kind", "domain"), ("value", "thaw.example"), ("label", "again")]).send().await.unwrap();
        assert_eq!(res.status(), 409, "a duplicate is refused");
        let res = admin.post(s.url("/desk/admin/channels")).form(&[("csrf", csrf.as_str()), ("kind", "domain"), ("value", "not a domain"), ("label", "x")]).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("value:"), "the error names the field");
        let res = admin.post(s.url("/desk/admin/channels")).form(&[("csrf", "wrong"), ("kind", "domain"), ("value", "b.example"), ("label", "x")]).send().await.unwrap();
        assert_eq!(res.status(), 403, "CSRF checked");
        let log = s.db.conn().await.unwrap().audit().search(&AuditQuery { action: Some("channel.".into()), ..Default::default() }, 10).await.unwrap();
        assert_eq!(log.len(), 3, "admin changes are audited");

        let check = |v: &str| {
            let url = format!("{}?value={}", s.url("/api/v1/check"), urlencode(v));
            async move { client().get(url).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
        };
        assert_eq!(check("https://www.thaw.example/login").await["verdict"], "official");
        assert_eq!(check("https://THAW.EXAMPLE./").await["verdict"], "official");
        let v = check("https://thаw.example/login").await; // Cyrillic а
        assert_eq!(v["verdict"], "look_alike", "{v}");
        assert_eq!(v["imitates"], "thaw.example");
        let v = check("https://xn--thw-7cd.example").await;
        assert_eq!(v["verdict"], "look_alike", "{v}");
        assert!(v["tricks"].as_array().unwrap().iter().any(|t| t == "punycode"), "{v}");
        let v = check("thaw-support.example").await;
        assert_eq!(v["verdict"], "look_alike", "{v}");
        assert!(v["advice"].is_array());
        assert_eq!(check("https://thaw.example@evil.io/").await["verdict"], "look_alike");
        assert_eq!(check("support@thaw.example").await["verdict"], "official");
        assert_eq!(check("@thaw_official").await["verdict"], "official");
        assert_eq!(check("https://unrelated.org").await["verdict"], "not_official");

        // Every staff member got a public agent ID at start; the checker knows them.
        let agent_id: String = sqlx::Row::try_get(&sqlx::query("SELECT agent_id FROM staff WHERE agent_id IS NOT NULL ORDER BY agent_id LIMIT 1").fetch_one(s.db.pool()).await.unwrap(), "agent_id").unwrap();
        assert!(agent_id.starts_with("THAW-"), "{agent_id}");
        assert_eq!(check(&agent_id.to_lowercase()).await["verdict"], "official");
        assert_eq!(check("THAW-9999").await["verdict"], "not_official");

        let res = client().get(s.url("/api/v1/check?value=")).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let html = client().get(s.url(&format!("/check?value={}", urlencode("https://thаw.example")))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("data-testid=\"check-look_alike\"") && html.contains("phishing_report"), "{html}");
        let (agent, agent_csrf) = s.signed_in("agent_t1").await;
        assert_eq!(agent.get(s.url("/desk/admin/channels")).send().await.unwrap().status(), 403);
        let res = agent.post(s.url("/desk/admin/channels")).form(&[("csrf", agent_csrf.as_str()), ("kind", "domain"), ("value", "x.example"), ("label", "x")]).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

on_both_backends! {
    async fn searches_and_articles_shown_are_recorded_without_secrets(b) {
        let s = TestServer::start(b).await;
        let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let q = format!("withdrawal pending {phrase}");
        let res = client().get(format!("{}?q={}", s.url("/help"), urlencode(&q))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let rows = sqlx::query("SELECT query, surface FROM search_log").fetch_all(s.db.pool()).await.unwrap();
        assert_eq!(rows.len(), 1);
        let logged: String = sqlx::Row::try_get(&rows[0], "query").unwrap();
        assert!(logged.starts_with("withdrawal pending") && !logged.contains("abandon"), "{logged}");
        let res = client().get(s.url("/help/withdrawal-pending")).send().await.unwrap();
        let opened = res.status() == 200;
        let shows: i64 = sqlx::Row::try_get(&sqlx::query("SELECT COUNT(*) AS n FROM article_shows").fetch_one(s.db.pool()).await.unwrap(), "n").unwrap();
        assert!(shows > opened as i64, "results shown (and the opened article) are counted: {shows}");
    }
}

fn identity(sub: &str, email: &str, verified: bool, roles: &[&str]) -> thaw_services::oidc::Identity {
    thaw_services::oidc::Identity {
        subject: sub.into(),
        email: Some(email.into()),
        email_verified: verified,
        name: Some("Wang Fang".into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

on_both_backends! {
    async fn staff_single_sign_on_links_creates_maps_roles_and_refuses_what_it_must(b) {
        use thaw_services::ServiceError;
        use thaw_services::signin::{Origin, sign_in_with_identity, session};
        let db = fresh_db(b).await;
        let origin = Origin { ip: "192.0.2.7", user_agent: "test" };
        let now = thaw_services::now_ms();
        let code = |r: Result<thaw_services::signin::NewSession, ServiceError>| match r {
            Err(ServiceError::Refused { code, .. }) => code,
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => panic!("signed in, but should have been refused"),
        };
        let new = thaw_domain::NewStaff::validate("wang.fang@desk.example", None, "agent_t1", thaw_domain::Skills::default(), 5, thaw_domain::Locale::En).unwrap();
        let agent = thaw_services::staff::create(&db, &new, "correct horse battery").await.unwrap();

        // An unverified email never ties a subject to a member.
        let r = sign_in_with_identity(&db, &identity("s-1", "wang.fang@desk.example", false, &["agent_t1"]), thaw_domain::Locale::En, &origin, now).await;
        assert_eq!(code(r), "sso_email_unverified");
        // No role: refused before anything else.
        let r = sign_in_with_identity(&db, &identity("s-1", "wang.fang@desk.example", true, &[]), thaw_domain::Locale::En, &origin, now).await;
        assert_eq!(code(r), "sso_no_role");

        // First sign-in by verified email (any case): tied to the member; roles beyond the
        // current one: the highest becomes theirs, audited with before and after.
        let s = sign_in_with_identity(&db, &identity("s-1", "Wang.Fang@desk.example", true, &["agent_t2", "supervisor"]), thaw_domain::Locale::En, &origin, now).await.unwrap();
        assert_eq!(s.staff.id, agent.id);
        assert_eq!(s.staff.role, thaw_domain::Role::Supervisor);
        let live = session(&db, &s.token, now).await.unwrap().expect("a live session");
        assert_eq!(live.staff.role, thaw_domain::Role::Supervisor);
        let log = entries(&db).await;
        let linked = log.iter().find(|e| e.action == "staff.sso_linked").expect("link audited");
        assert_eq!(linked.subject_id, agent.id);
        let changed = log.iter().rfind(|e| e.action == "staff.profile_changed").expect("role change audited");
        assert_eq!(changed.before.as_deref().map(|b| b.contains("\"agent_t1\"")), Some(true), "{:?}", changed.before);
        assert_eq!(changed.after.as_deref().map(|a| a.contains("\"supervisor\"")), Some(true), "{:?}", changed.after);

        // Later sign-ins go by subject, even with another email; a role the member holds stays.
        let s = sign_in_with_identity(&db, &identity("s-1", "renamed@desk.example", false, &["agent_t1", "supervisor"]), thaw_domain::Locale::En, &origin, now).await.unwrap();
        assert_eq!((s.staff.id.as_str(), s.staff.role), (agent.id.as_str(), thaw_domain::Role::Supervisor));
        // Another subject claiming the same email is refused.
        let r = sign_in_with_identity(&db, &identity("s-2", "wang.fang@desk.example", true, &["admin"]), thaw_domain::Locale::En, &origin, now).await;
        assert_eq!(code(r), "sso_subject_mismatch");

        // Someone new: created with the highest mapped role and the browser's language; TOTP
        // required by the admins does not apply to a provider's session.
        thaw_services::signin::require_staff_totp(&db, true, now).await.unwrap();
        let s = sign_in_with_identity(&db, &identity("s-3", "li.ming@desk.example", true, &["agent_t1", "admin"]), thaw_domain::Locale::ZhCn, &origin, now).await.unwrap();
        assert_eq!((s.staff.role, s.staff.locale, s.staff.display_name.as_str()), (thaw_domain::Role::Admin, thaw_domain::Locale::ZhCn, "Wang Fang"));
        assert!(!session(&db, &s.token, now).await.unwrap().unwrap().must_enrol_totp);
        let created = s.staff.id.clone();
        // The new member has no usable password.
        let pw = thaw_services::signin::sign_in(&db, "li.ming@desk.example", "", &origin, now).await;
        assert!(matches!(pw, Err(ServiceError::BadCredentials)));

        // Deactivated members are refused.
        let mut conn = db.conn().await.unwrap();
        let member = conn.staff().by_id(&created).await.unwrap().unwrap();
        let mut profile = thaw_domain::StaffProfile { display_name: member.display_name, role: member.role, skills: member.skills, capacity: member.capacity, active: false, team: String::new() };
        assert!(conn.staff().update_profile(&created, &profile, now).await.unwrap());
        drop(conn);
        let r = sign_in_with_identity(&db, &identity("s-3", "li.ming@desk.example", true, &["admin"]), thaw_domain::Locale::En, &origin, now).await;
        assert_eq!(code(r), "staff_inactive");
        profile.active = true;
        assert!(db.conn().await.unwrap().staff().update_profile(&created, &profile, now).await.unwrap());
        assert!(matches!(verdict(&db).await, Verdict::Intact { .. }));
    }
}

/// Every admin page: what a GET of it shows only to admins.
const ADMIN_PAGES: &[&str] = &[
    "/desk/admin",
    "/desk/admin/settings",
    "/desk/admin/sla",
    "/desk/admin/policy",
    "/desk/admin/webhooks",
    "/desk/admin/channels",
    "/desk/staff",
    "/desk/api-keys",
];

async fn status_and_body(res: reqwest::Response) -> (u16, String) {
    (res.status().as_u16(), res.text().await.unwrap())
}

on_both_backends! {
    async fn every_admin_page_is_for_admins_only_and_its_changes_are_checked_and_audited(b) {
        let dir = temp_dir("admin-policy");
        let file = dir.join("policy.toml");
        std::fs::write(&file, thaw_engines::risk::policy::DEFAULT_POLICY).unwrap();
        let s = TestServer::start_with(b, |c| c.policy_file = Some(file.clone())).await;
        let (admin, csrf, admin_id) = s.signed_in_as("admin").await;

        // Reachable only by admins: every other role gets 403 on each page and on each change;
        // strangers are sent to sign in.
        for path in ADMIN_PAGES {
            let (st, body) = status_and_body(admin.get(s.url(path)).send().await.unwrap()).await;
            assert_eq!(st, 200, "{path} for an admin: {body}");
            let res = client().get(s.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 303, "{path} for a stranger");
            assert!(res.headers()["location"].to_str().unwrap().starts_with("/desk/sign-in"));
        }
        for role in ["agent_t1", "agent_t2", "supervisor", "compliance"] {
            let (other, other_csrf) = s.signed_in(role).await;
            for path in ADMIN_PAGES {
                assert_eq!(other.get(s.url(path)).send().await.unwrap().status(), 403, "{path} for {role}");
            }
            for path in ["/desk/admin/settings", "/desk/admin/sla", "/desk/admin/policy", "/desk/admin/policy/reload", "/desk/admin/webhooks", "/desk/staff/new", &format!("/desk/staff/{admin_id}/profile")] {
                let res = other.post(s.url(path)).form(&[("csrf", other_csrf.as_str()), ("text", "x"), ("role", "agent_t1")]).send().await.unwrap();
                assert_eq!(res.status(), 403, "POST {path} for {role}");
            }
        }
        let hub = admin.get(s.url("/desk/admin")).send().await.unwrap().text().await.unwrap();
        for path in ADMIN_PAGES.iter().filter(|p| **p != "/desk/admin") {
            assert!(hub.contains(&format!("href=\"{path}\"")), "the hub links {path}");
        }

        // Staff: add a member, change their profile (audited before/after), refuse bad input
        // and an admin's own demotion; deactivation ends their sessions.
        let form = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let res = admin.post(s.url("/desk/staff/new")).form(&form(&[("csrf", &csrf), ("email", "zhou.min@desk.example"), ("display_name", "周敏"), ("role", "agent_t1"), ("locale", "zh-CN"), ("password", "short")])).send().await.unwrap();
        let (st, body) = status_and_body(res).await;
        assert_eq!(st, 422);
        assert!(body.contains("at least 12 characters"), "{body}");
        let res = admin.post(s.url("/desk/staff/new")).form(&form(&[("csrf", &csrf), ("email", "zhou.min@desk.example"), ("display_name", "周敏"), ("role", "agent_t1"), ("locale", "zh-CN"), ("password", "a long first password")])).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let email = thaw_domain::Email::parse("email", "zhou.min@desk.example").unwrap();
        let member = s.db.conn().await.unwrap().staff().credentials_by_email(&email).await.unwrap().unwrap().member;
        assert_eq!((member.role, member.locale), (thaw_domain::Role::AgentT1, thaw_domain::Locale::ZhCn));
        let zhou = browser();
        let zhou_csrf = s.csrf_of(&zhou, "/desk/sign-in").await;
        let res = zhou.post(s.url("/desk/sign-in")).form(&[("email", "zhou.min@desk.example"), ("password", "a long first password"), ("csrf", zhou_csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 303, "the new member signs in");
        assert_eq!(zhou.get(s.url("/desk")).send().await.unwrap().status(), 200);

        let profile = format!("/desk/staff/{}/profile", member.id);
        let base = [("csrf", csrf.as_str()), ("display_name", "周敏"), ("role", "agent_t2"), ("category", "asset_freeze"), ("category", "account_theft"), ("language", "zh-CN"), ("capacity", "12"), ("team", "zh-desk"), ("active", "on")];
        for (field, bad, says) in [("capacity", "lots", "capacity"), ("capacity", "500", "capacity"), ("role", "owner", "unknown role"), ("category", "gossip", "gossip"), ("display_name", " ", "display name")] {
            let mut pairs = form(&base);
            pairs.retain(|(k, _)| k != field);
            pairs.push((field.to_string(), bad.to_string()));
            let (st, body) = status_and_body(admin.post(s.url(&profile)).form(&pairs).send().await.unwrap()).await;
            assert_eq!(st, 422, "{field}={bad}");
            assert!(body.contains(says), "{field}={bad}: the message names it");
        }
        let unchanged = s.db.conn().await.unwrap().staff().by_id(&member.id).await.unwrap().unwrap();
        assert_eq!(unchanged.role, thaw_domain::Role::AgentT1, "a refused change changes nothing");
        let res = admin.post(s.url(&profile)).form(&form(&base)).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let changed = s.db.conn().await.unwrap().staff().by_id(&member.id).await.unwrap().unwrap();
        assert_eq!((changed.role, changed.capacity), (thaw_domain::Role::AgentT2, 12));
        assert_eq!(changed.skills.categories, vec![thaw_domain::CaseCategory::AssetFreeze, thaw_domain::CaseCategory::AccountTheft]);
        assert_eq!(changed.skills.languages, vec![thaw_domain::Locale::ZhCn]);
        assert_eq!(s.db.conn().await.unwrap().staff().team(&member.id).await.unwrap(), "zh-desk");
        let log = entries(&s.db).await;
        let entry = log.iter().rfind(|e| e.action == "staff.profile_changed" && e.subject_id == member.id).expect("audited");
        assert_eq!(entry.actor, format!("staff:{admin_id}"));
        assert!(entry.before.as_deref().unwrap().contains("agent_t1") && entry.after.as_deref().unwrap().contains("agent_t2"));
        let mut own = form(&[("csrf", &csrf), ("display_name", "Admin"), ("role", "agent_t1"), ("capacity", "5"), ("active", "on")]);
        let (st, body) = status_and_body(admin.post(s.url(&format!("/desk/staff/{admin_id}/profile"))).form(&own).send().await.unwrap()).await;
        assert_eq!(st, 409, "{body}");
        own.retain(|(k, _)| k != "active");
        own.retain(|(k, _)| k != "role");
        own.push(("role".into(), "admin".into()));
        assert_eq!(admin.post(s.url(&format!("/desk/staff/{admin_id}/profile"))).form(&own).send().await.unwrap().status(), 409, "nor deactivate themselves");
        let mut off = form(&base);
        off.retain(|(k, _)| k != "active");
        assert_eq!(admin.post(s.url(&profile)).form(&off).send().await.unwrap().status(), 303);
        assert_eq!(zhou.get(s.url("/desk")).send().await.unwrap().status(), 303, "a deactivated member's session ends");

        // SLA: the calendars and targets in force; a file is checked, never applied.
        let sla = admin.get(s.url("/desk/admin/sla")).send().await.unwrap().text().await.unwrap();
        assert!(sla.contains("24x7") && sla.contains("data-testid=\"sla-targets\""));
        let good = "[calendars.cn]\ntime_zone = \"Asia/Shanghai\"\nhours = \"09:00-12:00, 13:00-18:00\"\n";
        let (st, body) = status_and_body(admin.post(s.url("/desk/admin/sla")).form(&[("csrf", csrf.as_str()), ("text", good)]).send().await.unwrap()).await;
        assert_eq!(st, 200);
        assert!(body.contains("data-testid=\"sla-valid\"") && body.contains("cn"), "{body}");
        for (text, says) in [
            ("[calendars.cn]\ntime_zone = \"Asia/Shanghai\"\nhours = \"09:00-13:00, 12:00-18:00\"\n", "line 3: calendar cn: hours &#39;09:00-13:00, 12:00-18:00&#39;: 12:00-18:00 overlaps 09:00-13:00"),
            ("[calendars.mars]\ntime_zone = \"Mars/Olympus\"\nhours = \"09:00-18:00\"\n", "line 2: calendar mars: time_zone: unknown time zone"),
            ("[calendars.x]\ntime_zone = \"UTC\"\nhours = \"18:00-09:00\"\n", "line 3"),
        ] {
            let (st, body) = status_and_body(admin.post(s.url("/desk/admin/sla")).form(&[("csrf", csrf.as_str()), ("text", text)]).send().await.unwrap()).await;
            assert_eq!(st, 422, "{text}");
            assert!(body.contains(says), "{says} in {body}");
        }

        // Risk policy: shown with its fingerprint; a bad text is checked with its line; a bad
        // file on reload leaves the running policy (and the refusal is audited).
        let page = admin.get(s.url("/desk/admin/policy")).send().await.unwrap().text().await.unwrap();
        let sha = |html: &str| html.split("data-testid=\"policy-sha\">").nth(1).unwrap().split('<').next().unwrap().to_string();
        let running = sha(&page);
        assert_eq!(running.len(), 64);
        assert!(!page.contains("policy-changed"));
        let (st, body) = status_and_body(admin.post(s.url("/desk/admin/policy")).form(&[("csrf", csrf.as_str()), ("text", "[detectors.failed_logins]\nwindow = \"soon\"\n")]).send().await.unwrap()).await;
        assert_eq!(st, 422);
        assert!(body.contains("line 2"), "{body}");
        let (st, _) = status_and_body(admin.post(s.url("/desk/admin/policy")).form(&[("csrf", csrf.as_str()), ("text", thaw_engines::risk::policy::DEFAULT_POLICY)]).send().await.unwrap()).await;
        assert_eq!(st, 200);
        std::fs::write(&file, "[detectors.failed_logins]\nwindow = \"soon\"\n").unwrap();
        let page = admin.get(s.url("/desk/admin/policy")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("policy-changed"), "the page says the file changed");
        let (st, body) = status_and_body(admin.post(s.url("/desk/admin/policy/reload")).form(&[("csrf", csrf.as_str())]).send().await.unwrap()).await;
        assert_eq!(st, 422);
        assert!(body.contains("line 2") && sha(&body) == running, "the running policy stays");
        assert!(entries(&s.db).await.iter().any(|e| e.action == "policy.reload_refused"));
        std::fs::write(&file, thaw_engines::risk::policy::DEFAULT_POLICY).unwrap();
        let (st, body) = status_and_body(admin.post(s.url("/desk/admin/policy/reload")).form(&[("csrf", csrf.as_str())]).send().await.unwrap()).await;
        assert_eq!(st, 200, "{body}");
        assert!(body.contains("data-testid=\"policy-ok\""));

        // Webhooks: a bad URL is refused by name; a new endpoint's generated secret is shown
        // once; its deliveries are listed; deactivation is audited.
        let (st, body) = status_and_body(admin.post(s.url("/desk/admin/webhooks")).form(&[("csrf", csrf.as_str()), ("url", "ftp://x"), ("event_type", "hold.created")]).send().await.unwrap()).await;
        assert_eq!(st, 422);
        assert!(body.contains("url must be an absolute http(s) URL"));
        let (st, body) = status_and_body(admin.post(s.url("/desk/admin/webhooks")).form(&[("csrf", csrf.as_str()), ("url", "https://platform.example/hook"), ("event_type", "hold.created"), ("event_type", "hold.released")]).send().await.unwrap()).await;
        assert_eq!(st, 201);
        assert!(body.contains("data-testid=\"webhook-secret\"") && body.contains("whsec_"));
        let page = admin.get(s.url("/desk/admin/webhooks")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("https://platform.example/hook") && !page.contains("whsec_"), "the secret is not shown again");
        let id = thaw_services::webhooks::list(&s.db).await.unwrap()[0].id.clone();
        let res = admin.post(s.url(&format!("/desk/admin/webhooks/{id}/deactivate"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(!thaw_services::webhooks::list(&s.db).await.unwrap()[0].active);

        // Settings: a forged form changes nothing; the TOTP requirement is audited.
        let res = admin.post(s.url("/desk/admin/settings")).form(&[("csrf", "forged"), ("staff_totp_required", "on")]).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(!thaw_services::signin::staff_totp_required(&s.db).await.unwrap());
        let res = admin.post(s.url("/desk/admin/settings")).form(&[("csrf", csrf.as_str()), ("staff_totp_required", "on")]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(thaw_services::signin::staff_totp_required(&s.db).await.unwrap());
        let set = entries(&s.db).await.into_iter().rfind(|e| e.action == "setting.changed").unwrap();
        assert_eq!(set.actor, format!("staff:{admin_id}"));
        assert!(matches!(verdict(&s.db).await, Verdict::Intact { .. }));
    }
}
