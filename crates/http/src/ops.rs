//! Operations: liveness (`/healthz`), readiness (`/readyz`, the database answers) and Prometheus
//! metrics (`/metrics`: requests and latency by route and status, database pool).

use crate::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics_text))
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// The process-wide Prometheus recorder; installed once, shared by every server in the process.
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            )
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may be installed already (an embedding program); then ours only renders.
        let _ = metrics::set_global_recorder(recorder);
        // Histograms keep each observation until they are folded into their buckets, which a
        // scrape does, or this upkeep: without it a server nobody scrapes would hold every
        // request's latency for ever.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

pub fn init_metrics() {
    prometheus();
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let (size, idle) = state.db.pool_figures();
    metrics::gauge!("thaw_db_pool_connections").set(size as f64);
    metrics::gauge!("thaw_db_pool_idle_connections").set(idle as f64);
    if let Some(syncs) = state.db.log_syncs() {
        // SQLite: fsyncs of the event log shared by the events committed while one ran.
        metrics::gauge!("thaw_sqlite_event_log_syncs").set(syncs as f64);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], prometheus().render()).into_response()
}

/// Counts every request and its latency by method, route pattern and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    init_metrics();
    let started = Instant::now();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let labels = [("method", method), ("route", route), ("status", res.status().as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    res
}
