//! `thaw reindex` and `thaw triage …`: rebuilding the search index, and training and evaluating
//! text classifiers (the shipped case-category model, or any labelled CSV).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use thaw_text::triage::{self, Evaluation, Example, Model, TrainOptions};

#[derive(Subcommand, Debug)]
pub enum TriageCommand {
    /// Train a model. With --csv: on that file, written to --out. Without: the case-category
    /// model from the shipped messages plus agents' corrections, saved in the database for the
    /// servers (used from their next start).
    Train(TrainArgs),
    /// Evaluate a model (default: the shipped one) on a labelled CSV, or cross-validate on it.
    Eval(EvalArgs),
}

#[derive(Args, Debug)]
pub struct Columns {
    /// A CSV file with a header row.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[arg(long, default_value = "text")]
    pub text_column: String,
    #[arg(long, default_value = "category")]
    pub label_column: String,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub columns: Columns,
    /// Where to write the model (with --csv).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub columns: Columns,
    /// A model written by `triage train --out`; the shipped model without it.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Instead of a model: k-fold cross-validation on the CSV (trains k models).
    #[arg(long)]
    pub folds: Option<usize>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn read(columns: &Columns) -> anyhow::Result<Vec<Example>> {
    let path = columns.csv.as_ref().context("--csv FILE is required")?;
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let examples = triage::read_csv(file, &columns.text_column, &columns.label_column)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if examples.is_empty() {
        bail!("{}: no rows", path.display());
    }
    Ok(examples)
}

/// Trains with a progress line on stderr.
fn train(examples: &[Example]) -> anyhow::Result<(Model, f64)> {
    eprint!("Training on {} examples…", examples.len());
    let _ = std::io::stderr().flush();
    let started = Instant::now();
    let model = Model::train(examples, &TrainOptions::default())?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!("\rTraining on {} examples… done in {secs:.2} s, {} labels.", examples.len(), model.labels().len());
    Ok((model, secs))
}

/// The CSV commands (no database needed).
pub fn triage_offline(cmd: &TriageCommand) -> Option<anyhow::Result<()>> {
    match cmd {
        TriageCommand::Train(a) if a.columns.csv.is_some() => Some((|| {
            let out = a.out.as_ref().context("--out MODEL is required with --csv")?;
            let examples = read(&a.columns)?;
            let (model, _) = train(&examples)?;
            std::fs::write(out, model.to_bytes()).with_context(|| format!("cannot write {}", out.display()))?;
            println!("{}: model of {} labels from {} examples", out.display(), model.labels().len(), examples.len());
            Ok(())
        })()),
        TriageCommand::Train(_) => None,
        TriageCommand::Eval(a) => Some(eval(a)),
    }
}

fn eval(a: &EvalArgs) -> anyhow::Result<()> {
    let examples = read(&a.columns)?;
    if let Some(k) = a.folds {
        if k < 2 {
            bail!("--folds: at least 2");
        }
        eprint!("Cross-validating ({k} folds, {} examples)…", examples.len());
        let _ = std::io::stderr().flush();
        let started = Instant::now();
        let folds = triage::cross_validate(&examples, k, &TrainOptions::default(), 42)?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!("\rCross-validating ({k} folds, {} examples)… done in {secs:.1} s.", examples.len());
        let pooled = triage::combine(&folds);
        // Training time and latency: one model on every example, timed on 2,000 of them.
        let (model, train_secs) = train(&examples)?;
        let sample: Vec<&Example> = examples.iter().take(2000).collect();
        let started = Instant::now();
        for e in &sample {
            std::hint::black_box(model.predict(&e.text));
        }
        let per_message_us = started.elapsed().as_secs_f64() * 1e6 / sample.len() as f64;
        return report(&pooled, a.json, Some((&folds, train_secs, per_message_us)));
    }
    let model = match &a.model {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => {
            let shipped = thaw_services::triage::shipped_examples();
            Model::train(&shipped, &TrainOptions::default())?
        }
    };
    let eval = triage::evaluate(&model, &examples);
    report(&eval, a.json, None)
}

fn report(e: &Evaluation, json: bool, cv: Option<(&[Evaluation], f64, f64)>) -> anyhow::Result<()> {
    if json {
        let mut v = serde_json::to_value(e)?;
        if let Some((folds, train_secs, us)) = cv {
            v["folds"] = serde_json::json!(
                folds
                    .iter()
                    .map(|f| serde_json::json!({"accuracy": f.accuracy, "macro_f1": f.macro_f1, "n": f.n}))
                    .collect::<Vec<_>>()
            );
            v["train_seconds_all"] = serde_json::json!(train_secs);
            v["predict_microseconds_per_message"] = serde_json::json!(us);
        }
        println!("{v}");
        return Ok(());
    }
    println!("n         {}", e.n);
    println!("accuracy  {:.4}", e.accuracy);
    println!("macro-F1  {:.4}", e.macro_f1);
    if let Some((folds, train_secs, us)) = cv {
        for (i, f) in folds.iter().enumerate() {
            println!("fold {}    accuracy {:.4}  macro-F1 {:.4}  n {}", i + 1, f.accuracy, f.macro_f1, f.n);
        }
        println!("training on all {} examples: {train_secs:.2} s; classifying: {us:.1} µs per message", e.n);
    }
    if !e.confused.is_empty() {
        println!("most confused (gold → predicted: count):");
        for c in e.confused.iter().take(10) {
            println!("  {} → {}: {}", c.gold, c.predicted, c.count);
        }
    }
    Ok(())
}

/// `thaw triage train` without a CSV: the case-category model, saved for the servers.
pub async fn train_default(db: &thaw_store::Db) -> anyhow::Result<()> {
    eprint!("Training the case-category model on the shipped messages and agents' corrections…");
    let _ = std::io::stderr().flush();
    let started = Instant::now();
    let (model, n) = thaw_services::triage::train_and_save(db, thaw_services::now_ms()).await?;
    eprintln!(" done in {:.2} s.", started.elapsed().as_secs_f64());
    println!("saved: {} labels from {n} examples; servers use it from their next start", model.labels().len());
    Ok(())
}

/// `thaw reindex`: builds the index from the database here (to check it and show progress) and
/// asks every running server to rebuild its own.
pub async fn reindex(db: &thaw_store::Db) -> anyhow::Result<()> {
    let search = thaw_services::search::Search::new()?;
    let started = Instant::now();
    let docs = search
        .rebuild(db, |done, total| {
            const WIDTH: u64 = 30;
            let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH).min(WIDTH) as usize;
            eprint!("\rIndexing [{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(WIDTH as usize - filled));
            let _ = std::io::stderr().flush();
        })
        .await?;
    eprintln!();
    thaw_services::search::request_rebuild(db, thaw_services::now_ms()).await?;
    println!(
        "{docs} documents indexed in {:.1} s; running servers rebuild their index now",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
