//! `thaw bench load`: a load tool. It starts `thaw serve` as a separate process (on SQLite, or
//! on the PostgreSQL of `--database-url`) and a bare axum handler as the ceiling, then drives
//! `POST /api/v1/events` with a realistic mix over many accounts: first as fast as it can
//! (closed loop), then at half of thaw's maximum rate (open loop, latency measured from the
//! scheduled send time; the bare handler too, at the same rate), then `GET …/status`. It
//! prints throughput, p50/p99/p99.9, the ratio thaw/ceiling, server CPU per request and the
//! server's memory at the end. A benchmark, not a test.

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
/// changes, over `accounts` accounts, with the time of sending. Its first `accounts` events go
/// to every account once (the multiplier is a prime).
pub(crate) fn event(run: &str, i: u64, accounts: usize) -> serde_json::Value {
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
    /// Requests answered successfully.
    answered: usize,
    p50: f64,
    p99: f64,
    p999: f64,
    errors: u64,
    /// Open loop: how late the requests left against their schedule (p50, p99 in ms), the load
    /// generator's own share of the latencies.
    late: Option<(f64, f64)>,
}

fn figures(mut lat_us: Vec<u64>, elapsed: Duration, errors: u64) -> Figures {
    lat_us.sort_unstable();
    let pct = |p: f64| {
        if lat_us.is_empty() { 0.0 } else { lat_us[((lat_us.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0 }
    };
    Figures {
        rate: lat_us.len() as f64 / elapsed.as_secs_f64(),
        answered: lat_us.len(),
        p50: pct(0.50),
        p99: pct(0.99),
        p999: pct(0.999),
        errors,
        late: None,
    }
}

/// Sends as fast as `connections` workers can for `seconds`, and on until `at_least` requests
/// were sent.
async fn closed_loop(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    args: &LoadArgs,
    run: &str,
    status_calls: bool,
    at_least: u64,
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
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if Instant::now() >= deadline && i >= at_least {
                    break;
                }
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
/// The pacing runs on a thread of its own that sleeps with the operating system's fine-grained
/// timer: tokio's timer has a resolution of one millisecond, so paced by it the requests of
/// each millisecond would leave together and late, and that delay would count as the server's
/// latency. How late the sends left all the same is returned beside the figures.
async fn open_loop(client: &reqwest::Client, base: &str, key: &str, args: &LoadArgs, run: &str, rate: f64) -> Figures {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let total = (rate * args.seconds as f64) as u64;
    let started = Instant::now();
    let errors = Arc::new(AtomicU64::new(0));
    let runtime = tokio::runtime::Handle::current();
    let (client, base, key, run, accounts) =
        (client.clone(), base.to_string(), key.to_string(), run.to_string(), args.accounts);
    let errors_ = errors.clone();
    let pacer = std::thread::spawn(move || {
        let mut tasks = Vec::with_capacity(total as usize);
        let mut late_us = Vec::with_capacity(total as usize);
        for i in 0..total {
            let scheduled = started + interval.mul_f64(i as f64);
            if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            late_us.push(scheduled.elapsed().as_micros() as u64);
            let (client, url, key, errors) =
                (client.clone(), format!("{base}/api/v1/events"), key.clone(), errors_.clone());
            let body = event(&run, i, accounts);
            tasks.push(runtime.spawn(async move {
                match client.post(url).bearer_auth(&key).json(&body).send().await {
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
        (tasks, late_us)
    });
    let (tasks, late_us) =
        tokio::task::spawn_blocking(move || pacer.join()).await.ok().and_then(|r| r.ok()).unwrap_or_default();
    let mut lat = Vec::new();
    for t in tasks {
        if let Ok(Some(l)) = t.await {
            lat.push(l);
        }
    }
    let late = figures(late_us, Duration::from_secs(1), 0);
    Figures { late: Some((late.p50, late.p99)), ..figures(lat, started.elapsed(), errors.load(Ordering::Relaxed)) }
}

/// CPU time a process has used so far (all its threads), from `/proc` (Linux); None elsewhere.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) in parentheses; user and
    // system time are the 14th and 15th fields in clock ticks.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks_to_duration(ticks))
}

/// Memory a process holds (resident set), from `/proc` (Linux); None elsewhere.
fn resident_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// Clock ticks of `/proc`'s CPU times as a duration.
pub(crate) fn ticks_to_duration(ticks: u64) -> Duration {
    static TICKS_PER_SECOND: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let hz = *TICKS_PER_SECOND.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100)
    });
    Duration::from_micros(ticks * 1_000_000 / hz)
}

/// Runs a phase and measures the CPU time the server process spent per answered request:
/// unlike throughput, hardly moved by other programs on a shared machine.
async fn measured(pid: u32, phase: impl std::future::Future<Output = Figures>) -> (Figures, Option<f64>) {
    let before = cpu_time(pid);
    let f = phase.await;
    let per_request = match (before, cpu_time(pid)) {
        (Some(b), Some(a)) if f.answered > 0 => Some((a - b).as_micros() as f64 / f.answered as f64),
        _ => None,
    };
    (f, per_request)
}

fn line(name: &str, (f, cpu): &(Figures, Option<f64>)) {
    let cpu = cpu.map(|us| format!("  server CPU {us:>5.0} µs/request")).unwrap_or_default();
    println!(
        "  {name:<44} {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  errors {}{cpu}",
        f.rate, f.p50, f.p99, f.p999, f.errors
    );
    if let Some((p50, p99)) = f.late {
        println!(
            "  {:<44} {:>11}  p50 {p50:>7.2} ms  p99 {p99:>7.2} ms",
            "  (sends left late against the schedule by)", ""
        );
    }
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
    let thaw_child = Child(
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
    let ceiling_child = Child(
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
    // Warm-up: every account gets a first event (the first `accounts` events of the mix are
    // one per account), so the measured phases see existing state.
    let warm = LoadArgs { seconds: 2.max(args.seconds / 5), ..args.clone() };
    closed_loop(&client, &thaw, &key, &warm, &format!("{run}w"), false, args.accounts as u64).await;
    let (thaw_pid, ceiling_pid) = (thaw_child.0.id(), ceiling_child.0.id());
    let max = measured(thaw_pid, closed_loop(&client, &thaw, &key, &args, &run, false, 0)).await;
    line("thaw POST /api/v1/events, max (closed loop)", &max);
    let bare = measured(ceiling_pid, closed_loop(&client, &ceil, &key, &args, &run, false, 0)).await;
    line("bare axum handler, max (closed loop)", &bare);
    let half_rate = max.0.rate / 2.0;
    let half = measured(thaw_pid, open_loop(&client, &thaw, &key, &args, &format!("{run}h"), half_rate)).await;
    line(&format!("thaw at half its max ({half_rate:.0}/s, open loop)"), &half);
    // The same rate on the bare handler: the latency this machine gives any server at it.
    let bare_half = measured(ceiling_pid, open_loop(&client, &ceil, &key, &args, &format!("{run}c"), half_rate)).await;
    line("bare axum handler at the same rate (open loop)", &bare_half);
    let status = measured(thaw_pid, closed_loop(&client, &thaw, &key, &args, &run, true, 0)).await;
    line("thaw GET …/status (closed loop)", &status);
    println!("  ratio thaw/ceiling: {:.1} %", 100.0 * max.0.rate / bare.0.rate.max(1.0));
    if let (Some(t), Some(b)) = (max.1, bare.1) {
        println!(
            "  server CPU per event, thaw/ceiling: {:.1} (the ceiling's share of it: {:.1} %)",
            t / b,
            100.0 * b / t
        );
    }
    if let Some(rss) = resident_mib(thaw_pid) {
        println!("  server memory at the end: {rss:.0} MiB resident");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_events_of_the_mix_reach_every_account_once() {
        for accounts in [7, 1_000, 10_000] {
            let mut seen: Vec<String> =
                (0..accounts as u64).map(|i| super::event("r", i, accounts)["account_id"].to_string()).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), accounts);
        }
    }
}
