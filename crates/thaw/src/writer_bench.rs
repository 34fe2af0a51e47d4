//! `thaw bench writer`: the event writer in process, without HTTP or a load generator: events
//! of the load mix ([`crate::load`]) submitted by concurrent tasks to the same group committer
//! the server uses, on a fresh SQLite file. It prints events per second and the CPU time per
//! event, split between SQLite's writer thread and the rest of the process: figures a change to
//! the writer moves far more visibly than the noise of the full load test. A benchmark, not a
//! test.

use anyhow::Context;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use thaw_domain::risk::{Event, EventBody};
use thaw_services::events::Ingestor;

#[derive(clap::Args, Debug, Clone)]
pub struct WriterArgs {
    /// Accounts the events are spread over (each gets a first event before the measurement).
    #[arg(long, default_value_t = 10_000)]
    pub accounts: usize,
    /// Events measured.
    #[arg(long, default_value_t = 60_000)]
    pub events: usize,
    /// Tasks submitting at once (as concurrent requests would).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// SQLite's synchronous setting: full or normal.
    #[arg(long, default_value = "full")]
    pub sqlite_synchronous: String,
    /// Rounds, each on a fresh database: the median is printed too.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// CPU time of this process's threads so far: (SQLite's worker threads, all threads).
fn thread_cpu() -> (Duration, Duration) {
    let (mut sqlite, mut all) = (Duration::ZERO, Duration::ZERO);
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        let t = crate::load::ticks_to_duration(ticks(11) + ticks(12));
        all += t;
        if head.contains("sqlx-sqlite") {
            sqlite += t;
        }
    }
    (sqlite, all)
}

/// Validated events of the load mix, with their canonical bodies.
fn events(run: &str, from: u64, n: usize, accounts: usize) -> anyhow::Result<Vec<(Event, String)>> {
    let now = thaw_services::now_ms();
    (from..from + n as u64)
        .map(|i| {
            let body: EventBody = serde_json::from_value(crate::load::event(run, i, accounts))?;
            let event = body.validate(now).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            Ok((event, body.canonical()))
        })
        .collect()
}

/// Submits `events` from `concurrency` tasks; returns the time it took.
async fn submit_all(ingestor: &Ingestor, events: Vec<(Event, String)>, concurrency: usize) -> anyhow::Result<Duration> {
    let events = Arc::new(std::sync::Mutex::new(events.into_iter().map(Some).collect::<Vec<_>>()));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (ingestor, events, next) = (ingestor.clone(), events.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((event, body)) = events.lock().expect("events").get_mut(i).and_then(Option::take) else {
                    return Ok::<_, anyhow::Error>(());
                };
                ingestor.submit(event, body, thaw_services::now_ms()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(started.elapsed())
}

struct Round {
    rate: f64,
    cpu_us: f64,
    sqlite_us: f64,
}

async fn round(args: &WriterArgs, n: usize) -> anyhow::Result<Round> {
    let dir = std::env::temp_dir().join(format!("thaw-writer-{}", thaw_services::random_hex(4)));
    std::fs::create_dir_all(&dir)?;
    let options =
        thaw_store::DbOptions { sqlite_synchronous_full: args.sqlite_synchronous != "normal", ..Default::default() };
    let db = thaw_store::Db::connect(&format!("sqlite://{}/thaw.db", dir.display()), &options).await?;
    db.migrate().await?;
    let risk =
        thaw_services::risk::RiskRuntime::load(None, "http://localhost").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let ingestor = Ingestor::start(db.clone(), Arc::new(risk));
    let run = thaw_services::random_hex(4);
    // Every account's first event, then the measured events (built before the clock starts).
    submit_all(&ingestor, events(&run, 0, args.accounts, args.accounts)?, args.concurrency).await?;
    let measured = events(&run, args.accounts as u64, n, args.accounts)?;
    let (sqlite_before, all_before) = thread_cpu();
    let took = submit_all(&ingestor, measured, args.concurrency).await?;
    let (sqlite_after, all_after) = thread_cpu();
    drop(ingestor);
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    Ok(Round {
        rate: n as f64 / took.as_secs_f64(),
        cpu_us: per_event(all_after - all_before),
        sqlite_us: per_event(sqlite_after - sqlite_before),
    })
}

pub async fn run(args: WriterArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.rounds > 0 && args.events > 0, "--rounds and --events must be at least 1");
    anyhow::ensure!(
        matches!(args.sqlite_synchronous.as_str(), "full" | "normal"),
        "--sqlite-synchronous must be full or normal"
    );
    println!(
        "thaw bench writer: SQLite (synchronous = {}), {} accounts, {} events a round, {} tasks, {} cores",
        args.sqlite_synchronous,
        args.accounts,
        args.events,
        args.concurrency,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let mut rounds = Vec::new();
    for r in 1..=args.rounds {
        let f = round(&args, args.events).await.with_context(|| format!("round {r}"))?;
        println!(
            "  round {r}: {:>7.0} events/s  CPU {:>5.1} µs/event (SQLite's threads {:>5.1}, the rest {:>5.1})",
            f.rate,
            f.cpu_us,
            f.sqlite_us,
            f.cpu_us - f.sqlite_us
        );
        rounds.push(f);
    }
    let median = |key: fn(&Round) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(key).collect();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        if v.len().is_multiple_of(2) { (v[mid - 1] + v[mid]) / 2.0 } else { v[mid] }
    };
    println!(
        "  median:  {:>7.0} events/s  CPU {:>5.1} µs/event (SQLite's threads {:>5.1})",
        median(|r| r.rate),
        median(|r| r.cpu_us),
        median(|r| r.sqlite_us)
    );
    Ok(())
}
