//! The thaw program: configuration, the command line and the wiring of the layers.
//! [`launch`] is the seam tests use to run the real server in-process.

pub mod cli;
pub mod config;

use anyhow::Context;
use config::Config;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use thaw_store::{Db, DbOptions};
use tokio::net::TcpListener;

/// Opens the database of `config` and applies missing migrations.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let options = DbOptions { max_connections: config.max_connections, ..DbOptions::default() };
    let db = Db::connect(&config.database_url, &options).await?;
    db.migrate().await.with_context(|| format!("migrating {}", db.masked_url()))?;
    Ok(db)
}

/// Runs thaw on `listener` until `shutdown` completes; requests in flight then finish before
/// it returns. The database is opened and migrated first.
pub async fn launch(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = open_db(&config).await?;
    serve(config, db, listener, shutdown).await
}

/// As [`launch`], on a database already open.
pub async fn serve(
    config: Config,
    db: Db,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    thaw_http::ops::init_metrics();
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(thaw_jobs::run_sweeper(db.clone(), Duration::from_secs(600), jobs_stopped));
    let state = thaw_http::AppState { db: db.clone(), config: std::sync::Arc::new(config.http()) };
    let app = thaw_http::router(state);
    tracing::info!(addr = %listener.local_addr()?, database = db.masked_url(), "thaw is listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    let _ = stop_jobs.send(true);
    let _ = sweeper.await;
    db.close().await;
    tracing::info!("thaw stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled, so a signal that arrives while the server is still starting
/// (say, during demo seeding) is not lost and does not kill the process abruptly.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut i), Ok(mut t)) => {
                    tokio::select! {
                        _ = i.recv() => {},
                        _ = t.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("shutting down: finishing requests in flight");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    }
}
