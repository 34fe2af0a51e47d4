//! Background work that every process runs; none of it may only run once per cluster. For now:
//! the sweep that deletes expired staff sessions and old sign-in failures (idempotent deletes,
//! so several processes sweeping at once is harmless).

use std::time::Duration;
use thaw_store::{Capabilities, Db};
use tokio::sync::watch;

/// Failures older than this no longer matter to throttling.
const FAILURE_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// One sweep; returns (sessions removed, failures removed).
pub async fn sweep(db: &Db, now_ms: i64) -> thaw_store::Result<(u64, u64)> {
    let mut conn = db.conn().await?;
    let sessions = conn.sessions().delete_expired(now_ms).await?;
    let failures = conn.throttle().delete_older_than(now_ms - FAILURE_RETENTION_MS).await?;
    Ok((sessions, failures))
}

/// Sweeps every `every` until `shutdown` turns true.
pub async fn run_sweeper(db: Db, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
                match sweep(&db, now).await {
                    Ok((s, f)) if s + f > 0 => tracing::info!(sessions = s, failures = f, "swept expired records"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}
