//! Background work that every process runs; none of it may only run once per cluster.
//! Timers and deliveries live in the job table and are claimed with row locks and a lease
//! ([`thaw_store::Jobs`]); the sweep of expired sessions is an idempotent delete.

use std::sync::Arc;
use std::time::Duration;
use thaw_services::cases::{self, Desk};
use thaw_services::risk::RiskRuntime;
use thaw_services::security::Security;
use thaw_services::{alerts, case_mail, evidence, holds, mail, new_id, now_ms, webhooks};
use thaw_store::{Capabilities, Db, Job};
use tokio::sync::watch;

/// Failures older than this no longer matter to throttling.
const FAILURE_RETENTION_MS: i64 = 24 * 3600 * 1000;
/// How long a claimed job is ours before another process may take it over.
const LEASE_MS: i64 = 60_000;
/// Webhook deliveries are retried for this long, then given up.
pub const DELIVERY_WINDOW_MS: i64 = 24 * 3600 * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// One sweep; returns (sessions removed, failures removed).
pub async fn sweep(db: &Db, now_ms: i64) -> thaw_store::Result<(u64, u64)> {
    let mut conn = db.write_conn().await?;
    let sessions = conn.sessions().delete_expired(now_ms).await? + conn.holders().delete_expired(now_ms).await?;
    let failures = conn.throttle().delete_older_than(now_ms - FAILURE_RETENTION_MS).await?;
    Ok((sessions, failures))
}

/// Sweeps every `every` until `shutdown` turns true.
pub async fn run_sweeper(db: Db, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match sweep(&db, now_ms()).await {
                    Ok((s, f)) if s + f > 0 => tracing::info!(sessions = s, failures = f, "swept expired records"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
                }
                if let Err(e) = db.refresh_statistics().await {
                    tracing::warn!(error = %e, "could not refresh the query planner's statistics");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Settings of the job runner.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// How often to look for due jobs.
    pub poll: Duration,
    /// First retry delay of a failed webhook delivery; doubles each time (capped at an hour),
    /// with ±25 % jitter.
    pub retry_base_ms: i64,
    /// Time limit of one webhook request.
    pub request_timeout: Duration,
    /// How often the case desk's timers run (automatic cases, SLA warnings and breaches).
    pub desk_every: Duration,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            retry_base_ms: 5_000,
            request_timeout: Duration::from_secs(10),
            desk_every: Duration::from_secs(15),
        }
    }
}

/// Runs due jobs, and the case desk's timers in a loop of their own, until `shutdown` turns
/// true. Any number of processes may run this at once. The two loops are apart because a desk
/// round may wait a long time on rows other processes hold (many cases to open or escalate
/// under load), and deliveries must not wait with it.
pub async fn run_jobs(
    db: Db,
    risk: Arc<RiskRuntime>,
    security: Arc<Security>,
    desk: Arc<Desk>,
    settings: RunnerSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let worker = format!("{}-{}", std::process::id(), &new_id()[24..]);
    let client = reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("thaw-webhooks/1")
        .build()
        .expect("HTTP client");
    if let Err(e) = ensure_recurring(&db).await {
        tracing::warn!(error = %e, "could not schedule the inactivity sweep; will retry on next start");
    }
    let timers = tokio::spawn(run_desk_timers(db.clone(), desk.clone(), settings.desk_every, shutdown.clone()));
    let mut tick = tokio::time::interval(settings.poll);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = run_due(&db, &risk, &security, &desk, &client, &settings, &worker).await {
                    tracing::warn!(error = %e, "job run failed; will retry");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    let _ = timers.await;
}

/// Runs [`desk_round`] every `every` until `shutdown` turns true; a round that overran its
/// period is followed by the next one at once, not by a burst of them.
async fn run_desk_timers(db: Db, desk: Arc<Desk>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        // Shutdown does not wait for a round stuck on a busy row: each change of a round is a
        // transaction of its own, and one cut short is rolled back.
        tokio::select! {
            _ = desk_round(&db, &desk, now_ms()) => {}
            _ = shutdown.changed() => break,
        }
    }
}

/// The case desk's timers: open the cases owed (self-freezes, holds only staff may lift) and
/// run the SLA clock. Every process may run it: openings are unique per hold and pending
/// record, and case changes are saved only against the version they read.
pub async fn desk_round(db: &Db, desk: &Desk, now_ms: i64) {
    match cases::open_automatic(db, desk, now_ms).await {
        Ok(n) if n > 0 => tracing::info!(cases = n, "opened cases automatically"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "opening automatic cases failed; will retry"),
    }
    match cases::sla_sweep(db, desk, now_ms).await {
        Ok((w, b)) if w + b > 0 => tracing::info!(warnings = w, breaches = b, "SLA clock reported cases"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "SLA sweep failed; will retry"),
    }
    match evidence::retention_sweep(db, &desk.evidence, now_ms).await {
        Ok(n) if n > 0 => tracing::info!(documents = n, "deleted identity documents past their retention"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "identity document retention failed; will retry"),
    }
}

async fn ensure_recurring(db: &Db) -> thaw_store::Result<()> {
    let now = now_ms();
    db.conn().await?.jobs().ensure_unique(&new_id(), "inactivity_sweep", "inactivity_sweep", now, now).await
}

/// Claims and runs the jobs that are due now; returns how many ran.
#[allow(clippy::too_many_arguments)]
pub async fn run_due(
    db: &Db,
    risk: &RiskRuntime,
    security: &Security,
    desk: &Desk,
    client: &reqwest::Client,
    settings: &RunnerSettings,
    worker: &str,
) -> thaw_store::Result<usize> {
    let now = now_ms();
    // Look before taking the write lock: idle processes must not contend with event writes.
    if db.conn().await?.jobs().due_exists(now).await? == 0 {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let jobs = tx.jobs().claim(worker, now, LEASE_MS, 16).await?;
    tx.commit().await?;
    let n = jobs.len();
    // The batch's alerts are delivered in one transaction (they are many under load, and each
    // transaction holds SQLite's writer connection, which the event writer waits for). Should
    // it fail, or an alert not be done with it, each runs on its own, retried as any job.
    let (alerts, others): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.kind == "alert");
    let mut again = Vec::new();
    if !alerts.is_empty() {
        let batch: Vec<(&str, &str)> = alerts.iter().map(|j| (j.id.as_str(), j.payload.as_str())).collect();
        again = match alerts::deliver(db, security, &batch, worker, now).await {
            Ok(done) => alerts.into_iter().zip(done).filter(|(_, done)| !done).map(|(job, _)| job).collect(),
            Err(e) => {
                tracing::info!(error = %e, jobs = alerts.len(), "alert batch failed; running its jobs one by one");
                alerts
            }
        };
    }
    for job in others.into_iter().chain(again) {
        run_one(db, risk, security, desk, client, settings, worker, job, now).await;
    }
    Ok(n)
}

#[allow(clippy::too_many_arguments)]
async fn run_one(
    db: &Db,
    risk: &RiskRuntime,
    security: &Security,
    desk: &Desk,
    client: &reqwest::Client,
    settings: &RunnerSettings,
    worker: &str,
    job: Job,
    claimed_at: i64,
) {
    let now = now_ms();
    // The claim covered a batch; past half of its lease, the lease is renewed for this job alone
    // before it runs, so a job that waited behind slow ones is never run here after another
    // process took it over. Before that, no other process may have claimed it.
    let renewed = if now - claimed_at < LEASE_MS / 2 {
        Ok(true)
    } else {
        match db.write_conn().await {
            Ok(mut conn) => conn.jobs().renew(&job.id, worker, now, LEASE_MS).await,
            Err(e) => Err(e),
        }
    };
    match renewed {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "could not renew the lease; leaving the job for later");
            return;
        }
    }
    let result: Result<Option<i64>, String> = match job.kind.as_str() {
        "hold_expiry" => holds::expire(db, &job.payload, now).await.map(|_| None).map_err(|e| e.to_string()),
        "inactivity_sweep" => match holds::inactivity_sweep(db, risk, now).await {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(holds = n, "inactivity sweep placed holds");
                }
                Ok(Some(now + DAY_MS))
            }
            Err(e) => Err(e.to_string()),
        },
        "webhook" => deliver(db, client, &job, now).await,
        // Done with its delivery, in one transaction.
        "alert" => match alerts::deliver(db, security, &[(&job.id, &job.payload)], worker, now).await {
            Ok(done) if done == [true] => return,
            Ok(_) => Ok(None),
            Err(e) => Err(e.to_string()),
        },
        "email" => mail::send(db, security, &job.payload, now).await.map(|_| None),
        case_mail::JOB => {
            case_mail::deliver(db, security, desk, &job.payload, now).await.map(|_| None).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown job kind {other}")),
    };
    let outcome = async {
        let mut conn = db.write_conn().await?;
        match result {
            Ok(None) => {
                conn.jobs().complete(&job.id, worker, now_ms()).await?;
            }
            Ok(Some(next)) => conn.jobs().reschedule(&job.id, worker, next).await?,
            Err(e) => {
                let delay = backoff(settings.retry_base_ms, job.attempts);
                tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed; retrying");
                conn.jobs().retry(&job.id, worker, now_ms() + delay, &e).await?;
            }
        }
        Ok::<(), thaw_store::StoreError>(())
    };
    if let Err(e) = outcome.await {
        tracing::warn!(job = %job.id, error = %e, "could not record the job's result; its lease will run out and it will run again");
    }
}

/// Exponential backoff with ±25 % jitter: base, 2×base, 4×base … capped at one hour.
pub fn backoff(base_ms: i64, attempts: i64) -> i64 {
    let exp = base_ms.saturating_mul(1 << attempts.clamp(1, 20).saturating_sub(1)).min(3_600_000);
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    let jitter = (u16::from_le_bytes(b) as i64 % 501 - 250) as f64 / 1000.0;
    (exp as f64 * (1.0 + jitter)) as i64
}

/// Sends one webhook delivery. Ok(None) when finished (delivered, given up, or no longer
/// wanted); Err to retry later.
async fn deliver(db: &Db, client: &reqwest::Client, job: &Job, now: i64) -> Result<Option<i64>, String> {
    let mut conn = db.conn().await.map_err(|e| e.to_string())?;
    let Some(delivery) = conn.webhooks().delivery(&job.payload).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    if delivery.status == "delivered" || delivery.status == "failed" {
        return Ok(None);
    }
    let endpoint = conn.webhooks().endpoint(&delivery.endpoint_id).await.map_err(|e| e.to_string())?;
    let Some(endpoint) = endpoint.filter(|e| e.active) else {
        conn.webhooks()
            .record_attempt(&delivery.id, "failed", None, Some("endpoint removed"), now)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(None);
    };
    drop(conn);
    let sent_at = now / 1000;
    let result = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("thaw-signature", webhooks::signature(&endpoint.secret, sent_at, &delivery.payload))
        .header("thaw-delivery", &delivery.id)
        .header("thaw-event", &delivery.event_type)
        .body(delivery.payload.clone())
        .send()
        .await;
    let (ok, status, error) = match result {
        Ok(res) if res.status().is_success() => (true, Some(res.status().as_u16() as i64), None),
        Ok(res) => (false, Some(res.status().as_u16() as i64), Some(format!("HTTP {}", res.status().as_u16()))),
        // Without the URL: its query string may hold a token.
        Err(e) => (false, None, Some(format!("request failed: {}", short(&e.without_url().to_string())))),
    };
    let give_up = !ok && now - delivery.created_at_ms >= DELIVERY_WINDOW_MS;
    let state = if ok {
        "delivered"
    } else if give_up {
        "failed"
    } else {
        "retrying"
    };
    let mut conn = db.write_conn().await.map_err(|e| e.to_string())?;
    conn.webhooks()
        .record_attempt(&delivery.id, state, status, error.as_deref(), now_ms())
        .await
        .map_err(|e| e.to_string())?;
    match (ok, give_up) {
        (true, _) | (false, true) => Ok(None),
        (false, false) => Err(error.unwrap_or_default()),
    }
}

fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped_at_an_hour() {
        for attempt in 1..=6 {
            let want = 5_000 * (1 << (attempt - 1));
            let got = backoff(5_000, attempt);
            assert!(got >= want * 3 / 4 && got <= want * 5 / 4, "attempt {attempt}: {got} vs {want}");
        }
        assert!(backoff(5_000, 40) <= 4_500_000);
    }
}
