//! The store on both backends: migrations, and each capability's queries.

use crate::on_both_backends;
use crate::support::*;
use thaw_domain::{AccountId, AccountInput, Locale, NewStaff, Skills};
use thaw_store::accounts::Upserted;
use thaw_store::{Capabilities, Db, SessionRecord, StoreError};

fn account(id: &str, email: &str, now: i64) -> thaw_domain::Account {
    AccountInput { email: Some(email.into()), locale: Some("zh-CN".into()), kyc_level: Some(2), ..Default::default() }
        .validate(AccountId::parse("id", id).unwrap(), now)
        .unwrap()
}

on_both_backends! {
    async fn migrations_run_once_even_when_processes_start_together(b) {
        let url = fresh_database_url(b).await;
        let mut handles = Vec::new();
        for _ in 0..4 {
            let url = url.clone();
            handles.push(tokio::spawn(async move {
                let db = Db::connect(&url, &Default::default()).await.unwrap();
                db.migrate().await.unwrap()
            }));
        }
        let mut applied = Vec::new();
        for h in handles {
            applied.extend(h.await.unwrap());
        }
        applied.sort();
        assert_eq!(applied, (1..=11).collect::<Vec<i64>>(), "exactly one starter applies each migration");
        let db = Db::connect(&url, &Default::default()).await.unwrap();
        assert!(db.migrate().await.unwrap().is_empty(), "a later start applies nothing");
        let n: i64 = sqlx::Row::try_get(&sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations").fetch_one(db.pool()).await.unwrap(), "n").unwrap();
        assert_eq!(n, 11);
    }
}

on_both_backends! {
    async fn decisions_of_an_earlier_schema_move_onto_their_events(b) {
        let url = fresh_database_url(b).await;
        let db = Db::connect(&url, &Default::default()).await.unwrap();
        db.migrate_to(10).await.unwrap();
        for (n, action) in [(1, "allow"), (2, "hold")] {
            sqlx::query("INSERT INTO events (id, account_id, kind, occurred_at, received_at, body_hash, body, decision_id)
                         VALUES ($1, 'u-old', 'trade', $2, $2, 'h', '{}', $3)")
                .bind(format!("e{n}")).bind(1_000 * n).bind(format!("d{n}")).execute(db.pool()).await.unwrap();
            sqlx::query("INSERT INTO decisions (id, event_id, account_id, action, body, decided_at) VALUES ($1, $2, 'u-old', $3, $4, 0)")
                .bind(format!("d{n}")).bind(format!("e{n}")).bind(action).bind(format!("{{\"action\":\"{action}\"}}"))
                .execute(db.pool()).await.unwrap();
        }
        assert_eq!(db.migrate().await.unwrap(), vec![11]);
        let mut c = db.conn().await.unwrap();
        let stored = c.risk().stored_event("e2").await.unwrap().unwrap();
        assert_eq!((stored.body_hash.as_str(), stored.decision_body.as_str()), ("h", r#"{"action":"hold"}"#));
        let (account, action, decision, _) = c.risk().decision_with_event("d1").await.unwrap().unwrap();
        assert_eq!((account.as_str(), action.as_str(), decision.as_str()), ("u-old", "allow", r#"{"action":"allow"}"#));
        assert_eq!(c.risk().decisions("u-old", 0, 10).await.unwrap(), [r#"{"action":"hold"}"#, r#"{"action":"allow"}"#]);
        assert!(sqlx::query("SELECT 1 FROM decisions").fetch_all(db.pool()).await.is_err(), "the old table is gone");
    }
}

on_both_backends! {
    async fn account_upsert_creates_then_replaces_the_copy(b) {
        let db = fresh_db(b).await;
        let mut c = db.conn().await.unwrap();
        assert_eq!(c.accounts().upsert(&account("u-1", "Li@Example.com", 1_000)).await.unwrap(), Upserted::Created);
        let mut changed = account("u-1", "wei@example.com", 2_000);
        changed.vip_level = 7;
        assert_eq!(c.accounts().upsert(&changed).await.unwrap(), Upserted::Updated);
        let got = c.accounts().get(&AccountId::parse("id", "u-1").unwrap()).await.unwrap().unwrap();
        assert_eq!(got, changed);
        assert_eq!(c.accounts().count().await.unwrap(), 1);
        assert!(!c.accounts().insert_if_absent(&account("u-1", "x@example.com", 3_000)).await.unwrap());
        assert_eq!(c.accounts().get(&AccountId::parse("id", "u-1").unwrap()).await.unwrap().unwrap().vip_level, 7, "insert_if_absent keeps what exists");
    }
}

on_both_backends! {
    async fn account_search_matches_prefixes_and_treats_wildcards_literally(b) {
        let db = fresh_db(b).await;
        let mut c = db.conn().await.unwrap();
        for (i, (id, email)) in [("alice-1", "alice@example.com"), ("bob-2", "bob@example.com"), ("carol_3", "c%rol@example.com")].iter().enumerate() {
            c.accounts().upsert(&account(id, email, 1_000 + i as i64)).await.unwrap();
        }
        let (page, total) = c.accounts().list(Some("ALI"), 10, 0).await.unwrap();
        assert_eq!((total, page.len(), page[0].id.as_str()), (1, 1, "alice-1"));
        let (_, total) = c.accounts().list(Some("%"), 10, 0).await.unwrap();
        assert_eq!(total, 0, "% is not a wildcard");
        let (_, total) = c.accounts().list(Some("c%"), 10, 0).await.unwrap();
        assert_eq!(total, 1, "matches the email that really starts with c%");
        let (page, total) = c.accounts().list(None, 2, 0).await.unwrap();
        assert_eq!((total, page.len(), page[0].id.as_str()), (3, 2, "carol_3"), "newest first");
        let (page, _) = c.accounts().list(None, 2, 2).await.unwrap();
        assert_eq!(page.len(), 1);
    }
}

on_both_backends! {
    async fn staff_emails_are_unique_whatever_their_case(b) {
        let db = fresh_db(b).await;
        let mut c = db.conn().await.unwrap();
        let new = NewStaff::validate("Wang@Desk.example", None, "agent_t1", Skills::default(), 5, Locale::ZhCn).unwrap();
        c.staff().create("s1", &new, "hash", 1).await.unwrap();
        let again = NewStaff::validate("wang@desk.EXAMPLE", None, "admin", Skills::default(), 5, Locale::En).unwrap();
        let err = c.staff().create("s2", &again, "hash", 2).await.unwrap_err();
        assert!(matches!(err, StoreError::Duplicate("email")), "{err:?}");
        let all = c.staff().list().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].role, thaw_domain::Role::AgentT1, "the first member is unchanged");
        assert_eq!(all[0].skills, Skills::parse("", "").unwrap());
    }
}

on_both_backends! {
    async fn sessions_are_found_by_hash_until_they_expire(b) {
        let db = fresh_db(b).await;
        let mut c = db.conn().await.unwrap();
        let new = NewStaff::validate("a@desk.example", None, "admin", Skills::default(), 5, Locale::En).unwrap();
        c.staff().create("s1", &new, "hash", 1).await.unwrap();
        let record = SessionRecord { token_hash: "h1".into(), staff_id: "s1".into(), csrf_token: "c".into(), created_at_ms: 100, expires_at_ms: 200, ip: "127.0.0.1".into(), user_agent: "ua".into(), method: "password".into() };
        c.sessions().create(&record).await.unwrap();
        assert_eq!(c.sessions().live("h1", 150).await.unwrap().unwrap().staff_id, "s1");
        assert!(c.sessions().live("h1", 200).await.unwrap().is_none(), "expired at its expiry time");
        assert!(c.sessions().live("h2", 150).await.unwrap().is_none());
        assert_eq!(c.sessions().delete_expired(250).await.unwrap(), 1);
        assert!(c.sessions().live("h1", 150).await.unwrap().is_none(), "swept");
    }
}

on_both_backends! {
    async fn sign_in_failures_are_counted_per_subject_within_the_window(b) {
        let db = fresh_db(b).await;
        let mut c = db.conn().await.unwrap();
        for at in [100, 200, 300] {
            c.throttle().record_failure("s", "a|1.1.1.1", at).await.unwrap();
        }
        c.throttle().record_failure("s", "b|1.1.1.1", 300).await.unwrap();
        assert_eq!(c.throttle().failures_since("s", "a|1.1.1.1", 150).await.unwrap(), (2, Some(200)));
        assert_eq!(c.throttle().failures_since("s", "a|1.1.1.1", 0).await.unwrap(), (3, Some(100)));
        assert_eq!(c.throttle().failures_since("s", "nobody", 0).await.unwrap(), (0, None));
        c.throttle().clear("s", "a|1.1.1.1").await.unwrap();
        assert_eq!(c.throttle().failures_since("s", "a|1.1.1.1", 0).await.unwrap().0, 0);
        assert_eq!(c.throttle().failures_since("s", "b|1.1.1.1", 0).await.unwrap().0, 1, "other subjects untouched");
        assert_eq!(thaw_jobs::sweep(&db, 300 + 24 * 3600 * 1000 + 1).await.unwrap(), (0, 1));
    }
}

on_both_backends! {
    async fn demo_seeding_is_idempotent(b) {
        let db = fresh_db(b).await;
        let first = thaw_services::demo::seed(&db, |_, _| {}).await.unwrap();
        assert_eq!((first.staff_created, first.accounts_created), (thaw_services::demo::STAFF.len(), thaw_services::demo::DEMO_ACCOUNTS));
        let second = thaw_services::demo::seed(&db, |_, _| {}).await.unwrap();
        assert_eq!((second.staff_created, second.accounts_created), (0, 0));
        let mut c = db.conn().await.unwrap();
        assert_eq!(c.accounts().count().await.unwrap(), thaw_services::demo::DEMO_ACCOUNTS as i64);
        let zh = c.accounts().list(None, 500, 0).await.unwrap().0.iter().filter(|a| a.locale == Locale::ZhCn).count();
        assert!(zh > 50 && zh < 250, "both languages present: {zh} zh-CN");
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout() {
    let db = fresh_db(Backend::Sqlite).await;
    let mut c = db.conn().await.unwrap();
    let mode: String =
        sqlx::Row::try_get(&sqlx::query("PRAGMA journal_mode").fetch_one(&mut *c).await.unwrap(), 0).unwrap();
    assert_eq!(mode, "wal");
    let timeout: i64 =
        sqlx::Row::try_get(&sqlx::query("PRAGMA busy_timeout").fetch_one(&mut *c).await.unwrap(), 0).unwrap();
    assert!(timeout >= 5000, "busy timeout {timeout} ms");
}

#[tokio::test]
async fn sqlite_gets_planner_statistics_so_a_queue_is_read_by_its_most_selective_index() {
    let url = fresh_database_url(Backend::Sqlite).await;
    let open = || async { thaw_store::Db::connect(&url, &Default::default()).await.unwrap() };
    let db = open().await;
    db.migrate().await.unwrap();
    let spec = thaw_services::demo_scale::ScaleSpec {
        cases: 600,
        messages: 1_200,
        accounts: 80,
        staff: 30,
        days: 10,
        seed: 3,
    };
    let desk = thaw_services::cases::Desk::default();
    thaw_services::demo_scale::seed(&db, &url, &desk, &spec, thaw_services::now_ms(), |_| {}).await.unwrap();
    // A database that never had statistics (the seeder writes some: dropped).
    sqlx::raw_sql("DROP TABLE IF EXISTS sqlite_stat1").execute(db.pool()).await.unwrap();
    db.close().await;

    let db = open().await;
    db.refresh_statistics().await.unwrap();
    let analysed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'cases'").fetch_one(db.pool()).await.unwrap();
    assert!(analysed > 0, "the cases table has statistics");
    db.close().await;

    // Connections read them: "my cases in Chinese" walks the assignee's queue index, not the
    // language's (half of all cases).
    let db = open().await;
    let sql = "EXPLAIN QUERY PLAN SELECT id FROM cases WHERE status NOT IN ('resolved', 'closed') \
               AND assignee_id = 'x' AND language = 'zh-CN' \
               ORDER BY COALESCE(next_due_at, 9223372036854775807), number LIMIT 50";
    let rows = sqlx::query(sql).fetch_all(db.pool()).await.unwrap();
    let plan: Vec<String> = rows.iter().map(|r| sqlx::Row::try_get(r, "detail").unwrap()).collect();
    assert!(plan.iter().any(|p| p.contains("cases_queue_assignee")), "{plan:?}");
    // Again, with statistics in place: PRAGMA optimize, nothing breaks.
    db.refresh_statistics().await.unwrap();
}

on_both_backends! {
    async fn a_write_dropped_unfinished_leaves_nothing_and_the_next_writer_goes_on(b) {
        let db = fresh_db(b).await;
        let id = AccountId::parse("id", "u-drop").unwrap();
        let within = std::time::Duration::from_secs(5);
        {
            // A request that failed half-way: its transaction is dropped without a commit.
            let mut tx = db.begin_write().await.unwrap();
            assert_eq!(tx.accounts().upsert(&account("u-drop", "d@example.com", 1_000)).await.unwrap(), Upserted::Created);
        }
        let mut tx = tokio::time::timeout(within, db.begin_write()).await.expect("the next writer is not kept waiting").unwrap();
        assert!(tx.accounts().get(&id).await.unwrap().is_none(), "the dropped write is gone");
        tx.accounts().upsert(&account("u-drop", "e@example.com", 2_000)).await.unwrap();
        tx.commit().await.unwrap();
        {
            // The same for the event writer's transaction, after its first round trip.
            let mut events = db.begin_events().await.unwrap();
            let (stored, loaded) = events.claim_and_load(&["ev-drop"], &["u-drop"]).await.unwrap();
            assert!(stored.is_empty() && loaded.is_empty(), "neither the event nor the account's state is stored");
            // The account's first event creates its state row, inside the transaction.
            assert_eq!(events.conn().risk().lock_state("u-drop", 3_000).await.unwrap(), None);
        }
        let mut w = tokio::time::timeout(within, db.write_conn()).await.expect("the next writer is not kept waiting").unwrap();
        let n: i64 = sqlx::Row::try_get(&sqlx::query("SELECT COUNT(*) AS n FROM risk_states").fetch_one(&mut *w).await.unwrap(), "n").unwrap();
        assert_eq!(n, 0, "the dropped transaction's state row is gone");
        drop(w);
        let got = db.conn().await.unwrap().accounts().get(&id).await.unwrap().unwrap();
        assert_eq!(got, account("u-drop", "e@example.com", 2_000), "the committed write stays");
    }
}

async fn synchronous(conn: &mut thaw_store::AnyConnection) -> i64 {
    sqlx::Row::try_get(&sqlx::query("PRAGMA synchronous").fetch_one(conn).await.unwrap(), 0).unwrap()
}

/// SQLite with `synchronous = FULL`: the event writer commits without syncing and its answers
/// wait for `Db::sync_log`, one fsync for every commit made before it began; every other writer
/// gets the connection back in `FULL`.
#[tokio::test]
async fn the_event_writer_leaves_syncing_to_one_shared_fsync_and_other_writers_sync_as_before() {
    let db = fresh_db(Backend::Sqlite).await;
    let mut events = db.begin_events().await.unwrap();
    events.claim_and_load(&["ev-sync"], &["u-sync"]).await.unwrap();
    let record = thaw_store::risk::EventRecord {
        id: "ev-sync",
        account_id: "u-sync",
        kind: "login_succeeded",
        occurred_at_ms: 1_000,
        received_at_ms: 1_000,
        body_hash: "h",
        body: "{}",
        decision: thaw_store::risk::DecisionRecord { id: "d-sync", action: "allow", body: "{}" },
    };
    events.commit(&[record], &[]).await.unwrap();
    assert_eq!(synchronous(events.conn()).await, 1, "the event writer commits in NORMAL");
    drop(events);
    let before = db.log_syncs().expect("SQLite in FULL syncs the log itself");
    // Thirty-two answers waiting at once: the first fsync covers the first caller, the second
    // every caller that came while the first ran.
    let mut waiting = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let db = db.clone();
        waiting.spawn(async move { db.sync_log().await });
    }
    while let Some(done) = waiting.join_next().await {
        done.unwrap().unwrap();
    }
    let made = db.log_syncs().unwrap() - before;
    assert!((1..=2).contains(&made), "{made} fsyncs for 32 callers");
    let mut tx = db.begin_write().await.unwrap();
    assert_eq!(synchronous(&mut tx).await, 2, "any other writer commits in FULL again");
    tx.commit().await.unwrap();
    let mut w = db.write_conn().await.unwrap();
    assert_eq!(synchronous(&mut w).await, 2);
    drop(w);
    // Configured NORMAL: nothing to sync.
    let url = fresh_database_url(Backend::Sqlite).await;
    let normal = Db::connect(&url, &thaw_store::DbOptions { sqlite_synchronous_full: false, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(normal.log_syncs(), None);
    normal.sync_log().await.unwrap();
}
