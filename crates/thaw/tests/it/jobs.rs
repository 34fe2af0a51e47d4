//! The job runner and the case desk's timers under contention, on PostgreSQL (where a writer
//! waits on the rows it needs, not on the whole file): the desk's timers may wait on busy rows,
//! deliveries go on; the desk rounds of several processes share the cases to open.

use crate::support::*;
use std::sync::Arc;
use std::time::Duration;
use thaw_store::Capabilities;

/// A webhook receiver that answers every POST with 200.
async fn receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

/// Waits until `check` holds, for at most `secs` seconds.
async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Decides a withdrawal of `account` to a sanctioned address; returns the id of its hold, one
/// that only staff may lift (so the desk opens a case for it).
async fn sanctioned_withdrawal(db: &thaw_store::Db, risk: &thaw_services::risk::RiskRuntime, account: &str) -> String {
    let now = thaw_services::now_ms();
    let event = thaw_domain::risk::EventInput {
        id: Some(format!("evt-{account}")),
        account_id: Some(account.into()),
        kind: Some("withdrawal_requested".into()),
        occurred_at_ms: Some(now),
        amount: Some("1.5".into()),
        asset: Some("ETH".into()),
        address: Some("0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1".into()),
        network: Some("ETH".into()),
        ..Default::default()
    }
    .validate(now)
    .unwrap();
    let decided = thaw_services::events::ingest(db, risk, &event, "{}", now).await.unwrap();
    decided.decision["holds"][0]["id"].as_str().expect("the withdrawal is held").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_round_waiting_on_a_busy_row_does_not_hold_up_webhook_deliveries() {
    if postgres_admin_url().is_none() {
        return;
    }
    let url = fresh_database_url(Backend::Postgres).await;
    let config = thaw::config::Config { database_url: url.clone(), ..Default::default() };
    let db = thaw::open_db(&config).await.unwrap();
    let risk = thaw::load_risk(&config).unwrap();
    let security = Arc::new(thaw_services::security::Security::new(config.security().unwrap()).unwrap());
    let desk = Arc::new(config.desk().unwrap());
    let secret = Some("whsec_contention_0123456789");
    thaw_services::webhooks::register(&db, &receiver().await, &["*".to_string()], secret, "test").await.unwrap();

    // A withdrawal to a sanctioned address, held for compliance: the desk's next round opens a
    // case for the hold.
    let hold_id = sanctioned_withdrawal(&db, &risk, "u-listed").await;

    // Another transaction holds the case-number row, as a long case opening elsewhere would.
    let admin = thaw_store::Db::connect(&url, &Default::default()).await.unwrap();
    let mut blocker = admin.pool().begin().await.unwrap();
    sqlx::query("SELECT value FROM counters WHERE name = 'case_number' FOR UPDATE")
        .execute(&mut *blocker)
        .await
        .unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = thaw_jobs::RunnerSettings {
        poll: Duration::from_millis(50),
        retry_base_ms: 100,
        desk_every: Duration::from_millis(100),
        ..Default::default()
    };
    let runner = tokio::spawn(thaw_jobs::run_jobs(db.clone(), risk.clone(), security, desk, settings, stopped));
    let waiting = || async {
        let sql = "SELECT COUNT(*) AS n FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE counters%'";
        let n: i64 = sqlx::Row::try_get(&sqlx::query(sql).fetch_one(admin.pool()).await.unwrap(), "n").unwrap();
        n > 0
    };
    assert!(eventually(10, waiting).await, "the desk round waits to open the hold's case");

    // A delivery queued now is made while the desk round still waits.
    let mut tx = db.begin_write().await.unwrap();
    let data = serde_json::json!({"id": "probe"});
    thaw_services::outbox::enqueue(&mut tx, "decision.made", &data, thaw_services::now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    let delivered = || async {
        let mut conn = db.conn().await.unwrap();
        let sql = "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'";
        let n: i64 = sqlx::Row::try_get(&sqlx::query(sql).fetch_one(&mut *conn).await.unwrap(), "n").unwrap();
        n == 0
    };
    assert!(eventually(10, delivered).await, "every delivery is made while the desk round waits on the row");
    assert!(waiting().await, "the desk round was still waiting");

    // Once the row is free, the desk round opens the case.
    blocker.rollback().await.unwrap();
    let opened = || async { db.conn().await.unwrap().cases().by_hold(&hold_id).await.unwrap().is_some() };
    assert!(eventually(10, opened).await, "the hold's case is opened once the row is free");
    stop.send(true).unwrap();
    runner.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_round_leaves_a_case_another_process_is_opening_to_it() {
    if postgres_admin_url().is_none() {
        return;
    }
    let config =
        thaw::config::Config { database_url: fresh_database_url(Backend::Postgres).await, ..Default::default() };
    let db = thaw::open_db(&config).await.unwrap();
    let risk = thaw::load_risk(&config).unwrap();
    let desk = config.desk().unwrap();
    let hold_id = sanctioned_withdrawal(&db, &risk, "u-shared").await;

    // Another process's round has taken the opening of the hold's case.
    let mut other = db.begin_write().await.unwrap();
    assert!(other.cases().claim_opening(&hold_id, false).await.unwrap());
    let now = thaw_services::now_ms();
    let opened = tokio::time::timeout(Duration::from_secs(5), thaw_services::cases::open_automatic(&db, &desk, now))
        .await
        .expect("the round does not wait for the other process")
        .unwrap();
    assert_eq!(opened, 0, "the round leaves the hold to the process opening its case");
    // The holder asking for the case meanwhile waits for that process, rather than being refused.
    let asked = tokio::spawn({
        let (db, desk, hold_id) = (db.clone(), desk.clone(), hold_id.clone());
        async move { thaw_services::cases::open_for_hold(&db, &desk, "u-shared", &hold_id, now).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!asked.is_finished(), "the holder's request waits while the other process has the opening");

    // The other process gave up (its transaction ended without a case): the holder's request
    // opens it, once; the next round finds nothing left to open.
    other.rollback().await.unwrap();
    let (case, new) = asked.await.unwrap().unwrap();
    assert_eq!((case.hold_id.as_deref(), new), (Some(hold_id.as_str()), true));
    assert_eq!(thaw_services::cases::open_automatic(&db, &desk, thaw_services::now_ms()).await.unwrap(), 0);
    let again = thaw_services::cases::open_for_hold(&db, &desk, "u-shared", &hold_id, now).await.unwrap();
    assert_eq!((again.0.id, again.1), (case.id, false));
}
