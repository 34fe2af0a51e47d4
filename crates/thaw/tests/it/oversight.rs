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
        assert_eq!(log.len(), 13);
        assert_eq!(log[12].action, "staff.created");
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
