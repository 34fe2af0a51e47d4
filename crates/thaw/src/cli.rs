//! The command line: `thaw serve`, `thaw migrate` and the `thaw admin …` tasks.

use crate::config::{self, Config, Layer, LogFormat};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use thaw_domain::{Locale, NewStaff, Skills};
use thaw_services::{ServiceError, api_keys, demo, passwords, staff};

#[derive(Parser, Debug)]
#[command(name = "thaw", version, about = "Account protection and recovery desk for crypto platforms")]
pub struct Cli {
    /// Configuration file (default: thaw.toml if present; also $THAW_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://path or postgres://user:password@host/db (also $THAW_DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Log format: human or json (also $THAW_LOG_FORMAT).
    #[arg(long, global = true)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply missing database migrations and exit.
    Migrate,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Risk policy tools.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// SLA file tools.
    #[command(subcommand)]
    Sla(SlaCommand),
    /// Rebuild the search index (and make running servers rebuild theirs).
    Reindex,
    /// The audit log: verify its hash chain, export it.
    #[command(subcommand)]
    Audit(crate::audit_cli::AuditCommand),
    /// Train and evaluate text classifiers (case categories, or any labelled CSV).
    #[command(subcommand)]
    Triage(crate::text_cli::TriageCommand),
    /// Benchmarks (not tests): figures for BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Synthetic data for benchmarks.
    #[command(subcommand)]
    Seed(SeedCommand),
}

#[derive(Subcommand, Debug)]
pub enum SeedCommand {
    /// Write a year of synthetic desk history (a million cases, five million messages by
    /// default) into a fresh database, in bulk.
    Scale(crate::desk_scale::ScaleArgs),
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Load thaw's event API from this process and compare with a bare axum handler.
    Load(crate::load::LoadArgs),
    /// Measure the desk's pages, search and the enforcement call on the database (after
    /// `thaw seed scale`): p50/p95/p99 per view.
    Desk(crate::desk_scale::DeskBenchArgs),
    /// The event writer in process on a fresh SQLite file, without HTTP: events/s and CPU
    /// time per event (SQLite's thread and the rest).
    Writer(crate::writer_bench::WriterArgs),
    /// The bare axum handler used as the ceiling by `bench load`.
    Ceiling {
        #[arg(long)]
        listen: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Check a policy file; prints every mistake with its line number (exit 1 if any).
    Check { file: PathBuf },
    /// Print the shipped default policy (a starting point for your own).
    Default,
}

#[derive(Subcommand, Debug)]
pub enum SlaCommand {
    /// Check an SLA file; prints every mistake with its line number (exit 1 if any), else the
    /// targets of every category and priority.
    Check { file: PathBuf },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (also $THAW_LISTEN).
    #[arg(long)]
    pub listen: Option<String>,
    /// Seed (idempotently) a demo world and print where and how to sign in.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a staff member. The password is read from stdin with --password-stdin,
    /// otherwise generated and printed once.
    CreateStaff {
        #[arg(long)]
        email: String,
        /// agent_t1, agent_t2, supervisor, compliance or admin.
        #[arg(long)]
        role: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Case categories, comma-separated (default: all).
        #[arg(long, default_value = "")]
        skills: String,
        /// Languages served, comma-separated: zh-CN, en (default: both).
        #[arg(long, default_value = "")]
        languages: String,
        /// Cases at a time.
        #[arg(long, default_value_t = 8)]
        capacity: i64,
        /// Language of the desk for this member: zh-CN or en.
        #[arg(long, default_value = "en")]
        locale: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create a platform API key; the key is printed once, alone on the last line.
    CreateApiKey {
        #[arg(long)]
        name: String,
    },
    /// List platform API keys (never their secrets).
    ListApiKeys,
    /// Revoke a platform API key by its id.
    RevokeApiKey {
        #[arg(long)]
        id: String,
    },
}

/// Loads the configuration from the file, the environment and these flags.
pub fn configure(cli: &Cli) -> anyhow::Result<Config> {
    let listen = match &cli.command {
        Command::Serve(a) => a.listen.clone(),
        _ => None,
    };
    let flags =
        Layer { listen, database_url: cli.database_url.clone(), log_format: cli.log_format, ..Default::default() };
    let (config, unknown) = config::load(cli.config.as_deref(), std::env::vars().collect(), flags)?;
    for name in unknown {
        eprintln!("warning: unknown environment variable {name} ignored");
    }
    Ok(config)
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("THAW_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Policy(cmd) => return policy(&cmd),
        Command::Sla(SlaCommand::Check { file }) => return sla_check(&file),
        Command::Triage(ref cmd) => {
            if let Some(done) = crate::text_cli::triage_offline(cmd) {
                return done;
            }
        }
        Command::Bench(BenchCommand::Load(args)) => return crate::load::run(args).await,
        Command::Bench(BenchCommand::Ceiling { listen }) => return crate::load::ceiling(&listen).await,
        Command::Bench(BenchCommand::Writer(args)) => return crate::writer_bench::run(args).await,
        _ => {}
    }
    let config = configure(&cli)?;
    init_logging(config.log_format);
    match cli.command {
        Command::Serve(args) => serve(config, args.demo).await,
        Command::Migrate => {
            let db = thaw_store::Db::connect(&config.database_url, &Default::default()).await?;
            let applied = db.migrate().await?;
            println!("{}: {} migration(s) applied, schema is current", db.masked_url(), applied.len());
            Ok(())
        }
        Command::Admin(cmd) => cli_context().scope(admin(config, cmd)).await,
        Command::Audit(cmd) => {
            let db = thaw_store::Db::connect(&config.database_url, &Default::default()).await?;
            db.migrate().await?;
            crate::audit_cli::run(&db, cmd).await
        }
        Command::Reindex => {
            let db = thaw_store::Db::connect(&config.database_url, &Default::default()).await?;
            db.migrate().await?;
            thaw_services::knowledge::seed_shipped(&db, thaw_services::now_ms()).await?;
            crate::text_cli::reindex(&db).await
        }
        Command::Triage(_) => {
            let db = thaw_store::Db::connect(&config.database_url, &Default::default()).await?;
            db.migrate().await?;
            crate::text_cli::train_default(&db).await
        }
        Command::Seed(SeedCommand::Scale(args)) => crate::desk_scale::seed(&config, args).await,
        Command::Bench(BenchCommand::Desk(args)) => crate::desk_scale::bench(config, args).await,
        Command::Policy(_) | Command::Sla(_) | Command::Bench(_) => unreachable!("handled before configuration"),
    }
}

fn sla_check(file: &std::path::Path) -> anyhow::Result<()> {
    match thaw_services::sla_file::load(file) {
        Ok(sla) => {
            let minutes = |ms: i64| {
                let m = ms / 60_000;
                if m % 60 == 0 {
                    format!("{}h", m / 60)
                } else if m > 60 {
                    format!("{}h{}m", m / 60, m % 60)
                } else {
                    format!("{m}m")
                }
            };
            println!("{}: valid — {} calendar(s) of its own", file.display(), sla.calendars.len());
            println!(
                "{:<20} {:<8} {:>8} {:>8} {:>8}  {:<12} escalations at 80 % / breach",
                "category", "priority", "first", "next", "resolve", "calendar"
            );
            for (category, priority, p) in sla.table.iter() {
                let codes =
                    |e: &[thaw_domain::case::sla::Escalation]| e.iter().map(|e| e.code()).collect::<Vec<_>>().join(",");
                println!(
                    "{:<20} {:<8} {:>8} {:>8} {:>8}  {:<12} {} / {}",
                    category.code(),
                    priority.code(),
                    minutes(p.targets.first_response_ms),
                    minutes(p.targets.next_reply_ms),
                    minutes(p.targets.resolution_ms),
                    p.calendar,
                    codes(&p.on_warning),
                    codes(&p.on_breach)
                );
            }
            Ok(())
        }
        Err(errors) => {
            for e in &errors {
                println!("{}:{}: {}", file.display(), e.line, e.message);
            }
            bail!("{} error(s) in {}", errors.len(), file.display())
        }
    }
}

fn policy(cmd: &PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Default => {
            print!("{}", thaw_engines::risk::policy::DEFAULT_POLICY);
            Ok(())
        }
        PolicyCommand::Check { file } => match thaw_services::risk::load_policy_file(file) {
            Ok(p) => {
                println!(
                    "{}: valid — {} rule(s), {} sanctioned address(es), {} deny-listed address(es)",
                    file.display(),
                    p.rules.len(),
                    p.lists.sanctioned.len(),
                    p.lists.deny_addresses.len()
                );
                Ok(())
            }
            Err(errors) => {
                for e in &errors {
                    println!("{}:{}: {}", file.display(), e.line, e.message);
                }
                bail!("{} error(s) in {}", errors.len(), file.display())
            }
        },
    }
}

async fn serve(mut config: Config, demo: bool) -> anyhow::Result<()> {
    config.demo = demo;
    let shutdown = crate::shutdown_signal();
    let risk = crate::load_risk(&config)?;
    let db = crate::open_db(&config).await?;
    crate::reload_on_sighup(risk.clone(), db.clone());
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    if demo {
        let base = match &config.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None if addr.ip().is_loopback() => format!("http://localhost:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        let desk = config.desk().map_err(anyhow::Error::msg)?;
        seed_demo(&db, &risk, &desk, &base).await?;
    }
    crate::serve_with(config, db, risk, listener, shutdown).await
}

async fn seed_demo(
    db: &thaw_store::Db,
    risk: &thaw_services::risk::RiskRuntime,
    desk: &thaw_services::cases::Desk,
    base: &str,
) -> anyhow::Result<()> {
    eprint!("Seeding the demo world…");
    let report = demo::seed(db, |done, total| {
        eprint!("\rSeeding the demo world… accounts {done}/{total}");
        let _ = std::io::stderr().flush();
    })
    .await?;
    eprintln!(
        "\rSeeding the demo world… done: {} staff and {} accounts new.          ",
        report.staff_created, report.accounts_created
    );
    let events = demo::day::seed(db, risk, thaw_services::now_ms(), |done, total| {
        eprint!("\rPlaying a day of platform events through the risk engine… {done}/{total}");
        let _ = std::io::stderr().flush();
    })
    .await?;
    if events > 0 {
        eprintln!("\rPlaying a day of platform events through the risk engine… done: {events} events.");
    }
    thaw_services::channels::seed_demo(db, thaw_services::now_ms()).await?;
    let holders = thaw_services::demo_security::seed(db, risk, thaw_services::now_ms()).await?;
    let first: Vec<String> = holders.iter().map(|h| h.account_id.clone()).collect();
    let opened = thaw_services::demo_cases::seed(db, desk, thaw_services::now_ms(), &first, |done, total| {
        eprint!("\rOpening demo cases… {done}/{total}");
        let _ = std::io::stderr().flush();
    })
    .await?;
    if opened > 0 {
        eprintln!("\rOpening demo cases… done: {opened} cases.");
    }
    let history = thaw_services::demo_history::seed_month_on(db, desk, thaw_services::now_ms(), |done, total| {
        eprint!("\rWriting a month of desk history… {done}/{total}");
        let _ = std::io::stderr().flush();
    })
    .await?;
    if history > 0 {
        eprintln!("\rWriting a month of desk history… done: {history} cases.");
    }
    println!();
    println!("thaw demo is running.");
    println!("  Security centre (account holders): {base}/");
    println!("  Support desk (staff):              {base}/desk");
    println!("  Staff sign-in, all with password {}:", demo::DEMO_PASSWORD);
    for s in demo::STAFF {
        println!("    {:<26} {}", s.email, s.role.code());
    }
    println!();
    println!("  Try a self-thaw in the security centre ({base}/security/sign-in):");
    println!("    1. Sign in with the email of a demo holder below; there is no mail server in the demo,");
    println!("       so the 6-digit code appears in the demo mailbox: {base}/demo/mailbox");
    println!(
        "    2. Every demo holder has an authenticator with the secret {}",
        thaw_services::demo_security::DEMO_TOTP_SECRET
    );
    println!(
        "       (add it to an authenticator app, or: python3 -c \"import pyotp; print(pyotp.TOTP('{}').now())\")",
        thaw_services::demo_security::DEMO_TOTP_SECRET
    );
    println!(
        "       and the anti-phishing code {}, shown at the top of every email.",
        thaw_services::demo_security::DEMO_ANTI_PHISHING
    );
    println!("    3. Open the hold, verify with the email code and the authenticator, lift it, and see the cool-down.");
    for h in &holders {
        println!("    {:<38} {:<12} {}", h.email, h.account_id, h.hold);
    }
    println!();
    Ok(())
}

/// Changes made from the command line are audited as `cli:<operating-system user>`.
fn cli_context() -> thaw_store::AuditContext {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    thaw_store::AuditContext::new(Some(format!("cli:{user}")), None)
}

async fn admin(config: Config, cmd: AdminCommand) -> anyhow::Result<()> {
    let db = crate::open_db(&config).await?;
    match cmd {
        AdminCommand::CreateStaff { email, role, name, skills, languages, capacity, locale, password_stdin } => {
            let Some(locale) = Locale::parse_canonical(&locale) else {
                bail!("--locale must be zh-CN or en, not '{locale}'");
            };
            let skills =
                Skills::parse(&skills, &languages).map_err(|e| anyhow::anyhow!("--{}: {}", e.field, e.message))?;
            let new = NewStaff::validate(&email, name.as_deref(), &role, skills, capacity, locale)
                .map_err(|e| anyhow::anyhow!("--{}: {}", e.field, e.message))?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (passwords::generate(), true)
            };
            match staff::create(&db, &new, &password).await {
                Ok(member) => {
                    println!(
                        "Created staff member {} <{}> as {}.",
                        member.display_name,
                        member.email,
                        member.role.code()
                    );
                    if generated {
                        println!("Password (shown once):");
                        println!("{password}");
                    }
                    Ok(())
                }
                Err(ServiceError::Invalid(e)) => bail!("--{}: {}", e.field, e.message),
                Err(ServiceError::Duplicate { message, .. }) => bail!("{message}; nothing was changed"),
                Err(e) => Err(e.into()),
            }
        }
        AdminCommand::CreateApiKey { name } => {
            let created = api_keys::create(&db, &name, "cli").await.map_err(|e| match e {
                ServiceError::Invalid(i) => anyhow::anyhow!("--{}: {}", i.field, i.message),
                e => e.into(),
            })?;
            println!(
                "Created API key {} ({}). It is shown once; store it now:",
                created.record.id, created.record.name
            );
            println!("{}", created.plaintext);
            Ok(())
        }
        AdminCommand::ListApiKeys => {
            let keys = api_keys::list(&db).await?;
            if keys.is_empty() {
                println!("No API keys.");
            }
            for k in keys {
                let status = if k.revoked_at_ms.is_some() { "revoked" } else { "active" };
                println!("{}  {:<8} {}", k.id, status, k.name);
            }
            Ok(())
        }
        AdminCommand::RevokeApiKey { id } => match api_keys::revoke(&db, &id).await {
            Ok(()) => {
                println!("Revoked API key {id}.");
                Ok(())
            }
            Err(ServiceError::NotFound(_)) => bail!("no active API key with id {id}"),
            Err(e) => Err(e.into()),
        },
    }
}
