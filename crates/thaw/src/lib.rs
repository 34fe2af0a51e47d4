//! The thaw program: configuration, the command line and the wiring of the layers.
//! [`launch`] is the seam tests use to run the real server in-process.

pub mod audit_cli;
pub mod cli;
pub mod config;
pub mod desk_scale;
pub mod load;
pub mod text_cli;
pub mod writer_bench;

use anyhow::Context;
use config::Config;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thaw_services::risk::RiskRuntime;
use thaw_store::{Db, DbOptions};
use tokio::net::TcpListener;

/// Opens the database of `config` and applies missing migrations.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let options = DbOptions {
        max_connections: config.max_connections,
        sqlite_synchronous_full: config.sqlite_synchronous == "full",
        ..DbOptions::default()
    };
    let db = Db::connect(&config.database_url, &options).await?;
    db.migrate().await.with_context(|| format!("migrating {}", db.masked_url()))?;
    if let Err(e) = db.refresh_statistics().await {
        tracing::warn!(error = %e, "could not refresh the query planner's statistics");
    }
    Ok(db)
}

/// Runs thaw on `listener` until `shutdown` completes; requests in flight then finish before
/// it returns. The policy is checked and the database opened and migrated first.
pub async fn launch(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let risk = load_risk(&config)?;
    let db = open_db(&config).await?;
    serve_with(config, db, risk, listener, shutdown).await
}

/// The risk engine of `config`: its policy file, or the shipped default. An invalid policy is
/// an error listing every mistake with its line: the server refuses to start on it.
pub fn load_risk(config: &Config) -> anyhow::Result<Arc<RiskRuntime>> {
    let mut risk = RiskRuntime::load(config.policy_file.as_deref(), &config.public_url()).map_err(|errors| {
        let file = config.policy_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let lines: Vec<String> = errors.iter().map(|e| format!("  {file}:{}: {}", e.line, e.message)).collect();
        anyhow::anyhow!("the risk policy is invalid:\n{}", lines.join("\n"))
    })?;
    if let Some(path) = &config.geoip_db {
        let geo = thaw_services::geo::GeoDb::open(path, &config.geoip_attribution)
            .map_err(|e| anyhow::anyhow!("geoip_db: cannot open the city database {e}"))?;
        risk = risk.with_geo(geo);
    }
    Ok(Arc::new(risk))
}

/// As [`launch`], on a database already open.
pub async fn serve(
    config: Config,
    db: Db,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let risk = load_risk(&config)?;
    serve_with(config, db, risk, listener, shutdown).await
}

/// As [`serve`], with the risk engine given (so that the caller can reload it).
pub async fn serve_with(
    config: Config,
    db: Db,
    risk: Arc<RiskRuntime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    thaw_http::ops::init_metrics();
    thaw_services::channels::assign_agent_ids(&db, thaw_services::now_ms()).await?;
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(thaw_jobs::run_sweeper(db.clone(), Duration::from_secs(600), jobs_stopped.clone()));
    let settings = thaw_jobs::RunnerSettings { retry_base_ms: config.webhook_retry_base_ms, ..Default::default() };
    let security = Arc::new(
        thaw_services::security::Security::new(config.security().map_err(anyhow::Error::msg)?)
            .map_err(anyhow::Error::msg)?,
    );
    let desk = Arc::new(config.desk().map_err(anyhow::Error::msg)?);
    let runner = tokio::spawn(thaw_jobs::run_jobs(
        db.clone(),
        risk.clone(),
        security.clone(),
        desk.clone(),
        settings,
        jobs_stopped,
    ));
    let ingestor = thaw_services::events::Ingestor::start(db.clone(), risk.clone());
    // Live pages end their streams when shutdown begins, so it does not wait on them.
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let live = thaw_http::live::Live::new(closing_rx);
    let postgres_url = (db.backend() == thaw_store::Backend::Postgres).then(|| config.database_url.clone());
    let follower = tokio::spawn(live.clone().follow(db.clone(), postgres_url));
    let search = Arc::new(match &config.search_dir {
        Some(dir) => thaw_services::search::Search::in_dir(dir)?,
        None => thaw_services::search::Search::new()?,
    });
    let indexer = tokio::spawn(follow_search(db.clone(), search.clone(), closing.subscribe()));
    let state = thaw_http::AppState::new(thaw_http::Services {
        db: db.clone(),
        config: Arc::new(config.http()),
        risk,
        ingestor,
        api_keys: Default::default(),
        security,
        desk,
        live,
        search,
        triage: Arc::new(thaw_services::triage::Triage::new()),
    });
    let app = thaw_http::router(state);
    tracing::info!(addr = %listener.local_addr()?, database = db.masked_url(), "thaw is listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = closing.send(true);
        })
        .await?;
    let _ = stop_jobs.send(true);
    let _ = follower.await;
    let _ = indexer.await;
    let _ = sweeper.await;
    let _ = runner.await;
    db.close().await;
    tracing::info!("thaw stopped");
    Ok(())
}

/// Adds the shipped knowledge-base articles that are missing, builds this process's search index
/// from the database or reopens the one kept in `search_dir` (in the background: the server
/// answers meanwhile, searches wait for it), then keeps it current with what other requests and
/// processes write.
async fn follow_search(
    db: Db,
    search: Arc<thaw_services::search::Search>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let started = std::time::Instant::now();
    loop {
        let built = async {
            let added = thaw_services::knowledge::seed_shipped(&db, thaw_services::now_ms()).await?;
            if added > 0 {
                tracing::info!(added, "knowledge base: shipped articles added");
            }
            search.start(&db, |_, _| {}).await
        };
        match built.await {
            Ok(thaw_services::search::Started::Built { docs }) => {
                tracing::info!(docs, ms = started.elapsed().as_millis() as u64, "search index built");
                break;
            }
            Ok(thaw_services::search::Started::Reopened { docs, changes }) => {
                let ms = started.elapsed().as_millis() as u64;
                tracing::info!(docs, changes, ms, "search index reopened from search_dir and brought up to date");
                break;
            }
            Err(e) => tracing::error!(error = %e, "search index: building failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = closing.changed() => return,
        }
    }
    loop {
        if let Err(e) = search.catch_up(&db).await {
            tracing::warn!(error = %e, "search index: catching up failed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = closing.changed() => return,
        }
    }
}

/// Reloads the risk policy on every SIGHUP, keeping the old one when the file is invalid.
pub fn reload_on_sighup(risk: Arc<RiskRuntime>, db: thaw_store::Db) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let context = thaw_store::AuditContext::new(Some("signal:SIGHUP".into()), None);
                match context.scope(risk.reload_audited(&db)).await {
                    Err(e) => tracing::error!(error = %e, "SIGHUP: the reload could not be recorded"),
                    Ok(Ok(rules)) => tracing::info!(rules, "SIGHUP: risk policy reloaded"),
                    Ok(Err(errors)) => {
                        for e in errors {
                            tracing::error!(line = e.line, "SIGHUP: policy not reloaded: {}", e.message);
                        }
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (risk, db);
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
