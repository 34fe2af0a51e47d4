//! The desk at a million cases. `thaw seed scale` writes a synthetic year of desk history into
//! a fresh database (printing its rate and an estimate of the time left); `thaw bench desk`
//! then measures, through the real router in this process, what staff and the platform wait
//! for: queue pages (each queue, each filter, a first and a deep page), the case view, the desk
//! search and the enforcement call, one request at a time, and prints p50/p95/p99. A benchmark,
//! not a test: it asserts nothing.

use crate::config::Config;
use anyhow::{Context, bail};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thaw_services::demo_scale::{self, ScaleSpec};

#[derive(clap::Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Cases to write.
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: u64,
    /// Messages to write in all (at least one per case).
    #[arg(long, default_value_t = 5_000_000)]
    pub messages: u64,
    /// Account holders the cases belong to.
    #[arg(long, default_value_t = 200_000)]
    pub accounts: u64,
    /// Staff who work the cases (password: the demo password).
    #[arg(long, default_value_t = 300)]
    pub staff: u64,
    /// Days of history, ending now.
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// Seed of the generator: the same seed writes the same history (up to the clock).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn thousands(n: u64) -> String {
    thaw_domain::risk::reason::group_thousands(n as i64)
}

/// `thaw seed scale`.
pub async fn seed(config: &Config, args: ScaleArgs) -> anyhow::Result<()> {
    let db = crate::open_db(config).await?;
    let desk = config.desk().map_err(anyhow::Error::msg)?;
    let spec = ScaleSpec {
        cases: args.cases,
        messages: args.messages.max(args.cases),
        accounts: args.accounts.max(1),
        staff: args.staff.max(1),
        days: args.days.max(1),
        seed: args.seed,
    };
    eprintln!(
        "Seeding {}: {} staff, {} holders, {} cases, {} messages over {} days…",
        db.masked_url(),
        thousands(spec.staff),
        thousands(spec.accounts),
        thousands(spec.cases),
        thousands(spec.messages),
        spec.days
    );
    let started = Instant::now();
    let total = spec.cases.max(1);
    let report = demo_scale::seed(&db, &config.database_url, &desk, &spec, thaw_services::now_ms(), |p| {
        let secs = started.elapsed().as_secs_f64();
        let rate = p.cases as f64 / secs.max(0.001);
        let eta = (total - p.cases) as f64 / rate.max(0.001);
        eprint!(
            "\r  cases {}/{} ({:.1} %) · messages {} · {} cases/s · {} messages/s · ETA {:.0} s   ",
            thousands(p.cases),
            thousands(total),
            100.0 * p.cases as f64 / total as f64,
            thousands(p.messages),
            thousands(rate as u64),
            thousands((p.messages as f64 / secs.max(0.001)) as u64),
            eta
        );
        let _ = std::io::stderr().flush();
    })
    .await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!();
    println!("Seeded {} in {secs:.1} s:", db.masked_url());
    println!("  staff     {:>12}  (password {})", thousands(report.staff), thaw_services::demo::DEMO_PASSWORD);
    println!("  holders   {:>12}", thousands(report.accounts));
    println!(
        "  cases     {:>12}  (C-{} … C-{}; {} still worked)",
        thousands(report.cases),
        report.numbers.0,
        report.numbers.1,
        thousands(report.active)
    );
    println!("  messages  {:>12}", thousands(report.messages));
    println!("  timeline  {:>12}", thousands(report.timeline));
    println!("  holds     {:>12}", thousands(report.holds));
    println!(
        "  rate      {:>12} cases/s, {} messages/s",
        thousands((report.cases as f64 / secs) as u64),
        thousands((report.messages as f64 / secs) as u64)
    );
    db.close().await;
    Ok(())
}

#[derive(clap::Args, Debug, Clone)]
pub struct DeskBenchArgs {
    /// Requests per view (after a few unmeasured ones).
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// How deep the deep page is (pages of 50 followed from the first).
    #[arg(long, default_value_t = 20)]
    pub deep_page: usize,
    /// Keep the search index in this directory (as `search_dir` does for `thaw serve`), so a
    /// second run reopens it instead of building it; without it (and without `search_dir`) the
    /// index is built in memory, which takes minutes at this size.
    #[arg(long)]
    pub search_dir: Option<std::path::PathBuf>,
    /// Measure twice: first with the indexes of migration 0009 (desk_scale) dropped, as the
    /// desk was before them, then with them created again. Changes the database's indexes.
    #[arg(long)]
    pub compare_indexes: bool,
}

/// The indexes the desk needs at scale (migration 0009), dropped and created by
/// `--compare-indexes`.
const SCALE_INDEXES_SQLITE: &str = include_str!("../../store/migrations/sqlite/0009_desk_scale.sql");
const SCALE_INDEXES_POSTGRES: &str = include_str!("../../store/migrations/postgres/0009_desk_scale.sql");

/// Drops (`on` false) or creates the indexes of migration 0009.
async fn scale_indexes(db: &thaw_store::Db, on: bool) -> anyhow::Result<()> {
    let postgres = db.backend() == thaw_store::Backend::Postgres;
    let sql = if postgres { SCALE_INDEXES_POSTGRES } else { SCALE_INDEXES_SQLITE };
    let names: Vec<&str> =
        sql.lines().filter_map(|l| l.strip_prefix("CREATE INDEX ")?.split_whitespace().next()).collect();
    for name in &names {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP INDEX IF EXISTS {name}"))).execute(db.pool()).await?;
    }
    if on {
        let started = Instant::now();
        sqlx::raw_sql(sql).execute(db.pool()).await?;
        if postgres {
            // Statistics of the indexed expressions, as autovacuum would gather.
            sqlx::raw_sql("ANALYZE cases; ANALYZE case_context").execute(db.pool()).await?;
        }
        println!("created the {} indexes of migration 0009 in {:.1} s", names.len(), started.elapsed().as_secs_f64());
    } else {
        println!("dropped the {} indexes of migration 0009", names.len());
    }
    Ok(())
}

fn print_table(figures: &[Figures]) {
    println!(
        "{:<48} {:>5} {:>9} {:>9} {:>9} {:>9} {:>6}",
        "view", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    );
    for f in figures {
        println!(
            "{:<48} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>6}",
            f.name,
            f.lat_us.len(),
            f.pct(0.50),
            f.pct(0.95),
            f.pct(0.99),
            f.pct(1.0),
            f.errors
        );
    }
    for f in figures.iter().filter(|f| f.failure.is_some()) {
        println!("  {}: {}", f.name, f.failure.as_deref().unwrap_or(""));
    }
}

/// One view's latencies.
struct Figures {
    name: String,
    lat_us: Vec<u64>,
    errors: usize,
    /// The first failure, to show.
    failure: Option<String>,
}

impl Figures {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.lat_us.clone();
        v.sort_unstable();
        if v.is_empty() { 0.0 } else { v[((v.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0 }
    }
}

/// A small deterministic generator for choosing cases, holders and queries.
struct Pick(u64);

impl Pick {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

const QUERIES: [&str; 12] = [
    "账户被冻结了怎么办",
    "充值 没有 到账",
    "有人冒充客服",
    "提币一直在审核",
    "助记词泄露",
    "谷歌验证器丢了",
    "my withdrawal is frozen",
    "deposit not credited wrong network",
    "fake support telegram",
    "lost 2fa phone",
    "p2p seller did not release",
    "why is my account restricted",
];

/// `thaw bench desk`.
pub async fn bench(config: Config, args: DeskBenchArgs) -> anyhow::Result<()> {
    let db = crate::open_db(&config).await?;
    let backend = db.backend();
    let sizes = sizes(&db).await?;
    println!(
        "{} ({backend:?}): {} cases ({} still worked), {} messages, {} holders",
        db.masked_url(),
        thousands(sizes.cases),
        thousands(sizes.active),
        thousands(sizes.messages),
        thousands(sizes.accounts)
    );
    // The shipped articles, as `thaw serve` adds them at start: article searches find them.
    thaw_services::knowledge::seed_shipped(&db, thaw_services::now_ms()).await?;
    let dir = args.search_dir.clone().or_else(|| config.search_dir.clone());
    let search = Arc::new(match &dir {
        Some(dir) => thaw_services::search::Search::in_dir(dir)?,
        None => thaw_services::search::Search::new()?,
    });
    {
        let started = Instant::now();
        let how = search
            .start(&db, |done, total| {
                if done % 100_000 < 2_000 || done == total {
                    eprint!(
                        "\r  building the search index… {}/{} ({:.0} s)   ",
                        thousands(done),
                        thousands(total),
                        started.elapsed().as_secs_f64()
                    );
                    let _ = std::io::stderr().flush();
                }
            })
            .await?;
        eprintln!();
        let secs = started.elapsed().as_secs_f64();
        match how {
            thaw_services::search::Started::Built { docs } => {
                println!("search index: {} documents built in {secs:.1} s", thousands(docs))
            }
            thaw_services::search::Started::Reopened { docs, changes } => println!(
                "search index: {} documents reopened from {} in {secs:.1} s ({changes} changes applied)",
                thousands(docs),
                dir.as_deref().map(|d| d.display().to_string()).unwrap_or_default()
            ),
        }
    }
    // The real router with its state, without the background jobs.
    let risk = crate::load_risk(&config)?;
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let state = thaw_http::AppState::new(thaw_http::Services {
        db: db.clone(),
        config: Arc::new(config.http()),
        risk: risk.clone(),
        ingestor: thaw_services::events::Ingestor::start(db.clone(), risk),
        api_keys: Default::default(),
        security: Arc::new(
            thaw_services::security::Security::new(config.security().map_err(anyhow::Error::msg)?)
                .map_err(anyhow::Error::msg)?,
        ),
        desk: Arc::new(config.desk().map_err(anyhow::Error::msg)?),
        live: thaw_http::live::Live::new(closing_rx.clone()),
        search,
        triage: Arc::new(thaw_services::triage::Triage::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = thaw_http::router(state);
    let mut stop = closing_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await
    });
    let result = async {
        if !args.compare_indexes {
            return anyhow::Ok((None, measure(&db, &base, &sizes, &args).await?));
        }
        scale_indexes(&db, false).await?;
        let before = measure(&db, &base, &sizes, &args).await?;
        scale_indexes(&db, true).await?;
        anyhow::Ok((Some(before), measure(&db, &base, &sizes, &args).await?))
    }
    .await;
    let _ = closing.send(true);
    let _ = server.await;
    db.close().await;
    let (before, after) = result?;
    if let Some(before) = &before {
        println!();
        println!("without the indexes of migration 0009:");
        print_table(before);
        println!();
        println!("with them:");
    }
    println!();
    print_table(&after);
    if let Some(before) = &before {
        println!();
        println!("{:<48} {:>16} {:>16} {:>9}", "view", "before p50/p95", "after p50/p95", "after p99");
        for (b, a) in before.iter().zip(&after) {
            println!(
                "{:<48} {:>7.2} /{:>7.2} {:>7.2} /{:>7.2} {:>9.2}",
                a.name,
                b.pct(0.5),
                b.pct(0.95),
                a.pct(0.5),
                a.pct(0.95),
                a.pct(0.99)
            );
        }
    }
    Ok(())
}

struct Sizes {
    cases: u64,
    active: u64,
    messages: u64,
    accounts: u64,
    numbers: (i64, i64),
    /// The staff member with the most cases being worked: (email, cases).
    busiest: Option<(String, u64)>,
    /// Holders with a hold in force.
    held: Vec<String>,
}

async fn sizes(db: &thaw_store::Db) -> anyhow::Result<Sizes> {
    use sqlx::Row;
    let pool = db.pool();
    let one = |sql: &'static str| async move {
        let row = sqlx::query(sql).fetch_one(pool).await?;
        anyhow::Ok(row.try_get::<i64, _>(0)?)
    };
    let cases = one("SELECT COUNT(*) FROM cases").await? as u64;
    let active = one("SELECT COUNT(*) FROM cases WHERE status NOT IN ('resolved', 'closed')").await? as u64;
    let messages = one("SELECT COUNT(*) FROM case_messages").await? as u64;
    let accounts = one("SELECT COUNT(*) FROM accounts").await? as u64;
    let low = one("SELECT COALESCE(MIN(number), 0) FROM cases").await?;
    let high = one("SELECT COALESCE(MAX(number), 0) FROM cases").await?;
    let busiest = sqlx::query(
        "SELECT s.email, COUNT(*) AS n FROM cases c JOIN staff s ON s.id = c.assignee_id
         WHERE c.status NOT IN ('resolved', 'closed') AND s.role = 'agent_t1'
         GROUP BY s.email ORDER BY n DESC, s.email LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    .map(|r| anyhow::Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)? as u64)))
    .transpose()?;
    let held = sqlx::query("SELECT DISTINCT account_id FROM holds WHERE status = 'active' LIMIT 2000")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    Ok(Sizes { cases, active, messages, accounts, numbers: (low, high), busiest, held })
}

async fn measure(db: &thaw_store::Db, base: &str, sizes: &Sizes, args: &DeskBenchArgs) -> anyhow::Result<Vec<Figures>> {
    let Some((email, mine)) = &sizes.busiest else { bail!("no staff member works a case: seed the desk first") };
    println!("signed in as {email} ({mine} cases being worked)");
    let desk = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let csrf = |html: &str| {
        let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        Some(html[at..at + html[at..].find('"')?].to_string())
    };
    let page = desk.get(format!("{base}/desk/sign-in")).send().await?.text().await?;
    let token = csrf(&page).context("no CSRF token on the sign-in page")?;
    let res = desk
        .post(format!("{base}/desk/sign-in"))
        .form(&[
            ("email", email.as_str()),
            ("password", thaw_services::demo::DEMO_PASSWORD),
            ("csrf", token.as_str()),
            ("next", "/desk"),
        ])
        .send()
        .await?;
    if res.status() != 303 {
        bail!("signing in as {email} failed: {}", res.status());
    }
    let key = thaw_services::api_keys::create(db, "bench desk", "bench").await?.plaintext;
    let platform = reqwest::Client::new();
    let mut figures = vec![];
    let n = args.requests;
    let mut pick = Pick(0x2545_F491_4F6C_DD1D);

    let queues: Vec<(&str, String)> = vec![
        ("queue mine", "queue=mine".into()),
        ("queue team", "queue=team".into()),
        ("queue unassigned", "queue=unassigned".into()),
        ("queue at risk (breaching soon)", "queue=at_risk".into()),
        ("queue breached", "queue=breached".into()),
        ("team · category deposit_withdrawal", "queue=team&category=deposit_withdrawal".into()),
        ("team · status pending_customer", "queue=team&status=pending_customer".into()),
        ("team · priority urgent", "queue=team&priority=urgent".into()),
        ("team · language en", "queue=team&language=en".into()),
        ("team · verification + en + high", "queue=team&category=verification&language=en&priority=high".into()),
        ("mine · language zh-CN", "queue=mine&language=zh-CN".into()),
    ];
    for (name, query) in &queues {
        let url = format!("{base}/desk/cases?{query}");
        figures.push(run(&format!("{name}, first page"), n, |_| desk.get(&url)).await);
    }
    // Deep pages: follow "next" from the first page, then measure that page.
    let mut active_numbers: Vec<i64> = vec![];
    for (name, query) in [("queue team", "queue=team"), ("team · language en", "queue=team&language=en")] {
        let mut url = format!("{base}/desk/cases?{query}");
        let mut depth = 1;
        while depth < args.deep_page {
            let html = desk.get(&url).send().await?.text().await?;
            active_numbers.extend(numbers_in(&html));
            let Some(next) = next_link(&html) else { break };
            url = format!("{base}{next}");
            depth += 1;
        }
        figures.push(run(&format!("{name}, page {depth} (keyset)"), n, |_| desk.get(&url)).await);
    }
    // The case view: half cases being worked (what agents open), half anywhere in the history.
    let (low, high) = sizes.numbers;
    let mut chosen = vec![];
    for i in 0..n + n / 10 {
        let number = if i % 2 == 0 && !active_numbers.is_empty() {
            active_numbers[pick.below(active_numbers.len())]
        } else {
            low + pick.below((high - low + 1) as usize) as i64
        };
        chosen.push(number);
    }
    figures.push(
        run("case view (case, conversation, timeline, panel)", n, |i| {
            desk.get(format!("{base}/desk/cases/C-{}", chosen[i % chosen.len()]))
        })
        .await,
    );
    {
        figures.push(
            run("desk search (messages and articles)", n, |i| {
                desk.get(format!("{base}/desk/search?q={}", thaw_http::auth::url_encode(QUERIES[i % QUERIES.len()])))
            })
            .await,
        );
        figures.push(
            run("API search, articles zh-CN/en", n, |i| {
                let q = QUERIES[i % QUERIES.len()];
                let locale = if q.is_ascii() { "en" } else { "zh-CN" };
                desk.get(format!("{base}/api/v1/search?q={}&locale={locale}", thaw_http::auth::url_encode(q)))
            })
            .await,
        );
    }
    let mut holders = vec![];
    for i in 0..n + n / 10 {
        holders.push(if i % 2 == 0 && !sizes.held.is_empty() {
            sizes.held[pick.below(sizes.held.len())].clone()
        } else {
            demo_scale::account_id(pick.below(sizes.accounts.max(1) as usize) as u64)
        });
    }
    figures.push(
        run("enforcement GET /api/v1/accounts/{id}/status", n, |i| {
            platform.get(format!("{base}/api/v1/accounts/{}/status", holders[i % holders.len()])).bearer_auth(&key)
        })
        .await,
    );
    Ok(figures)
}

/// Case numbers linked from a queue page.
fn numbers_in(html: &str) -> Vec<i64> {
    html.split("href=\"/desk/cases/C-").skip(1).filter_map(|s| s.split('"').next()?.parse().ok()).collect()
}

fn next_link(html: &str) -> Option<String> {
    let at = html.find("data-testid=\"queue-next\"")?;
    let before = &html[..at];
    let href = before.rfind("href=\"")? + "href=\"".len();
    Some(before[href..href + before[href..].find('"')?].replace("&#38;", "&").replace("&amp;", "&"))
}

/// Sends request `i` for i in 0..n (after n/10 unmeasured ones), one at a time, and times each
/// from sending to the end of the body.
async fn run(name: &str, n: usize, request: impl Fn(usize) -> reqwest::RequestBuilder) -> Figures {
    let mut f = Figures { name: name.to_string(), lat_us: Vec::with_capacity(n), errors: 0, failure: None };
    let warm = n / 10;
    for i in 0..warm + n {
        let started = Instant::now();
        let outcome = match request(i).timeout(Duration::from_secs(60)).send().await {
            Ok(res) => {
                let status = res.status();
                match res.bytes().await {
                    Ok(_) if status.is_success() => Ok(()),
                    Ok(body) => Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]))),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let took = started.elapsed().as_micros() as u64;
        if i < warm {
            continue;
        }
        f.lat_us.push(took);
        if let Err(e) = outcome {
            f.errors += 1;
            f.failure.get_or_insert(e);
        }
    }
    eprintln!("  {name}: p95 {:.2} ms", f.pct(0.95));
    f
}
