//! `thaw bench load`: a load tool. It starts `thaw serve` as a separate process (on SQLite, or
//! on the PostgreSQL of `--database-url`) and a bare axum handler as the ceiling, then drives
//! `POST /api/v1/events` with a realistic mix over many accounts: first as fast as it can
//! (closed loop), then at half of thaw's maximum rate (open loop, latency measured from the
//! scheduled send time), then `GET …/status`. It prints throughput, p50/p99/p99.9 and the
//! ratio thaw/ceiling. A benchmark, not a test.

use anyhow::{Context, bail};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// Accounts the events are spread over.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: usize,
    /// Seconds of each phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent connections in the closed-loop phases.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Run thaw on this PostgreSQL instead of a fresh SQLite file.
    #[arg(long)]
    pub postgres: Option<String>,
    /// SQLite's synchronous setting for the server: full or normal.
    #[arg(long, default_value = "full")]
    pub sqlite_synchronous: String,
}

/// A bare axum handler that parses the event and answers a small JSON: the ceiling.
pub async fn ceiling(listen: &str) -> anyhow::Result<()> {
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route(
            "/api/v1/events",
            post(|axum::Json(v): axum::Json<serde_json::Value>| async move {
                axum::Json(serde_json::json!({"event_id": v["id"], "action": "allow", "reasons": [], "holds": []}))
            }),
        )
        .route("/api/v1/accounts/{id}/status", get(|| async { axum::Json(serde_json::json!({"login": "allowed"})) }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).with_graceful_shutdown(crate::shutdown_signal()).await?;
    Ok(())
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_up(url: &str) -> anyhow::Result<()> {
    let c = reqwest::Client::new();
    for _ in 0..300 {
        if c.get(url).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} did not come up")
}

/// The i-th event of the mix: sign-ins (some failed), trades, deposits, withdrawals, address
/// changes, over `accounts` accounts, with the time of sending.
fn event(run: &str, i: u64, accounts: usize) -> serde_json::Value {
    let account = (i.wrapping_mul(2_654_435_761) % accounts as u64) as usize;
    let r = i.wrapping_mul(40_503) % 100;
    let now = thaw_services::rfc3339(thaw_services::now_ms());
    let cities = [("CN", "Shanghai", 31.23, 121.47), ("SG", "Singapore", 1.35, 103.82), ("GB", "London", 51.51, -0.13)];
    let c = cities[account % cities.len()];
    let mut e = serde_json::json!({
        "id": format!("{run}-{i}"), "account_id": format!("load-{account}"), "occurred_at": now,
        "ip": format!("10.{}.{}.{}", account % 250, (account / 250) % 250, 1 + r % 3),
        "device_id": format!("dev-{account}"), "geo": {"country": c.0, "city": c.1, "lat": c.2, "lon": c.3},
    });
    let (kind, amount) = match r {
        0..=39 => ("login_succeeded", None),
        40..=49 => ("login_failed", None),
        50..=64 => ("trade", Some("250.5")),
        65..=79 => ("deposit", Some("1200")),
        80..=96 => ("withdrawal_requested", Some("300")),
        _ => ("address_added", None),
    };
    e["kind"] = kind.into();
    if let Some(a) = amount {
        e["amount"] = a.into();
        e["asset"] = "USDT".into();
    }
    if matches!(kind, "withdrawal_requested" | "address_added") {
        e["address"] = format!("0x{account:040x}").into();
        e["network"] = "ETH".into();
    }
    e
}

struct Figures {
    rate: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    errors: u64,
}

fn figures(mut lat_us: Vec<u64>, elapsed: Duration, errors: u64) -> Figures {
    lat_us.sort_unstable();
    let pct = |p: f64| {
        if lat_us.is_empty() { 0.0 } else { lat_us[((lat_us.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0 }
    };
    Figures {
        rate: lat_us.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        p999: pct(0.999),
        errors,
    }
}

/// Sends as fast as `connections` workers can for `seconds`.
async fn closed_loop(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    args: &LoadArgs,
    run: &str,
    status_calls: bool,
) -> Figures {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (client, base, key, run) = (client.clone(), base.to_string(), key.to_string(), run.to_string());
        let (counter, errors, accounts) = (counter.clone(), errors.clone(), args.accounts);
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let res = if status_calls {
                    client
                        .get(format!("{base}/api/v1/accounts/load-{}/status", i % accounts as u64))
                        .bearer_auth(&key)
                        .send()
                        .await
                } else {
                    client
                        .post(format!("{base}/api/v1/events"))
                        .bearer_auth(&key)
                        .json(&event(&run, i, accounts))
                        .send()
                        .await
                };
                match res {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap_or_default());
    }
    figures(all, started.elapsed(), errors.load(Ordering::Relaxed))
}

/// Sends at `rate` per second for `seconds`, measuring each latency from its scheduled time.
async fn open_loop(client: &reqwest::Client, base: &str, key: &str, args: &LoadArgs, run: &str, rate: f64) -> Figures {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let total = (rate * args.seconds as f64) as u64;
    let started = Instant::now();
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, base, key, errors) = (client.clone(), base.to_string(), key.to_string(), errors.clone());
        let body = event(run, i, args.accounts);
        tasks.push(tokio::spawn(async move {
            match client.post(format!("{base}/api/v1/events")).bearer_auth(&key).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                    Some(scheduled.elapsed().as_micros() as u64)
                }
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    None
                }
            }
        }));
    }
    let mut lat = Vec::new();
    let per = rate as usize;
    let mut sec: Vec<u64> = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if let Ok(Some(l)) = t.await {
            lat.push(l);
            sec.push(l);
        }
        if (i + 1) % per.max(1) == 0 {
            sec.sort_unstable();
            if !sec.is_empty() {
                eprintln!(
                    "  second {}: p50 {} us p99 {} us max {} us",
                    i / per.max(1),
                    sec[sec.len() / 2],
                    sec[sec.len() * 99 / 100],
                    sec[sec.len() - 1]
                );
            }
            sec.clear();
        }
    }
    figures(lat, started.elapsed(), errors.load(Ordering::Relaxed))
}

fn line(name: &str, f: &Figures) {
    println!(
        "  {name:<44} {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  errors {}",
        f.rate, f.p50, f.p99, f.p999, f.errors
    );
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the thaw binary")?;
    let dir = std::env::temp_dir().join(format!("thaw-load-{}", thaw_services::random_hex(4)));
    std::fs::create_dir_all(&dir)?;
    let database_url = match &args.postgres {
        Some(url) => url.clone(),
        None => format!("sqlite://{}/thaw.db", dir.display()),
    };
    let backend = match &args.postgres {
        Some(_) => "PostgreSQL".to_string(),
        None => format!("SQLite (synchronous = {})", args.sqlite_synchronous),
    };
    let out = std::process::Command::new(&exe)
        .args(["admin", "create-api-key", "--name", "load"])
        .env("THAW_DATABASE_URL", &database_url)
        .env("THAW_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!("creating an API key failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let key = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string();
    let (thaw_port, ceiling_port) = (free_port()?, free_port()?);
    let _thaw = Child(
        std::process::Command::new(&exe)
            .args(["serve", "--listen", &format!("127.0.0.1:{thaw_port}")])
            .env("THAW_DATABASE_URL", &database_url)
            .env("THAW_LOG", "warn")
            .env("THAW_MAX_CONNECTIONS", "16")
            .env("THAW_SQLITE_SYNCHRONOUS", &args.sqlite_synchronous)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .spawn()?,
    );
    let _ceiling = Child(
        std::process::Command::new(&exe)
            .args(["bench", "ceiling", "--listen", &format!("127.0.0.1:{ceiling_port}")])
            .stdout(Stdio::null())
            .spawn()?,
    );
    let thaw = format!("http://127.0.0.1:{thaw_port}");
    let ceil = format!("http://127.0.0.1:{ceiling_port}");
    wait_up(&format!("{thaw}/healthz")).await?;
    wait_up(&format!("{ceil}/api/v1/accounts/x/status")).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.connections * 2).tcp_nodelay(true).build()?;
    let run = thaw_services::random_hex(4);
    println!(
        "thaw bench load: {backend}, {} accounts, {} s per phase, {} connections (closed loop), {} cores",
        args.accounts,
        args.seconds,
        args.connections,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    // Warm-up: every account gets a first event, so the measured phases see existing state.
    let warm = LoadArgs { seconds: 2.max(args.seconds / 5), ..args.clone() };
    closed_loop(&client, &thaw, &key, &warm, &format!("{run}w"), false).await;
    let max = closed_loop(&client, &thaw, &key, &args, &run, false).await;
    line("thaw POST /api/v1/events, max (closed loop)", &max);
    let bare = closed_loop(&client, &ceil, &key, &args, &run, false).await;
    line("bare axum handler, max (closed loop)", &bare);
    let half = open_loop(&client, &thaw, &key, &args, &format!("{run}h"), max.rate / 2.0).await;
    line(&format!("thaw at half its max ({:.0}/s, open loop)", max.rate / 2.0), &half);
    let status = closed_loop(&client, &thaw, &key, &args, &run, true).await;
    line("thaw GET …/status (closed loop)", &status);
    println!("  ratio thaw/ceiling: {:.1} %", 100.0 * max.rate / bare.rate.max(1.0));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
