//! Benchmark (not a test): search latency over 100,000 articles and case messages in one
//! in-memory index, with zh-CN and en queries. Prints indexing time and the p50/p95/p99 of
//! query latency (median of 5 runs of 2,000 queries).
//! Run: `cargo bench -p thaw-text --bench search`.

use std::time::Instant;
use thaw_text::search::{Doc, DocKind, Filter, SearchIndex};

/// Documents and queries per run under `cargo bench`; `cargo test --all-targets` runs this file
/// too (without `--bench`), as a quick smoke run.
fn sizes() -> (usize, usize) {
    if std::env::args().any(|a| a == "--bench") { (100_000, 2_000) } else { (2_000, 50) }
}

/// Messages from the labelled triage set and the help articles' bodies, recombined so that each
/// document differs.
fn corpus() -> Vec<String> {
    let csv = include_str!("../../../data/triage/messages.csv");
    let mut texts: Vec<String> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .filter_map(|r| r.ok().and_then(|r| r.get(0).map(String::from)))
        .collect();
    for dir in ["en", "zh-CN"] {
        let path = format!("{}/../../data/kb/{dir}", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            if let Ok(s) = std::fs::read_to_string(entry.path()) {
                texts.extend(s.split("\n\n").filter(|p| p.len() > 40).map(String::from));
            }
        }
    }
    texts
}

fn main() {
    let (docs, per_run) = sizes();
    let texts = corpus();
    let index = SearchIndex::new().expect("index");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(5000);
    for i in 0..docs {
        let a = &texts[i % texts.len()];
        let b = &texts[(i * 7919 + 13) % texts.len()];
        let article = i % 50 == 0;
        batch.push(Doc {
            id: format!("d{i}"),
            kind: if article { DocKind::Article } else { DocKind::Message },
            locale: if a.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
                "zh-CN".into()
            } else {
                "en".into()
            },
            title: a.chars().take(40).collect(),
            body: format!("{a} {b} #{i}"),
            case_id: if article { String::new() } else { format!("c{}", i / 4) },
            internal: i % 9 == 0,
        });
        if batch.len() == 5000 {
            index.upsert(&batch).expect("upsert");
            batch.clear();
        }
    }
    index.upsert(&batch).expect("upsert");
    let indexing = started.elapsed();
    let queries = [
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
    let filters = [
        Filter::default(),
        Filter { kind: DocKind::Article, locale: Some("zh-CN".into()), internal: false },
        Filter { kind: DocKind::Message, locale: None, internal: true },
    ];
    let mut p50s = vec![];
    let mut p95s = vec![];
    let mut p99s = vec![];
    for _ in 0..5 {
        let mut times = Vec::with_capacity(per_run);
        for i in 0..per_run {
            let q = queries[i % queries.len()];
            let f = &filters[i % filters.len()];
            let t = Instant::now();
            let hits = index.search(q, f, 10).expect("search");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(hits);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        p50s.push(at(0.50));
        p95s.push(at(0.95));
        p99s.push(at(0.99));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!("documents indexed: {} in {:.1} s", index.len(), indexing.as_secs_f64());
    println!(
        "query latency, top 10 with snippets (median of 5 runs × {per_run} queries): p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        median(&mut p50s),
        median(&mut p95s),
        median(&mut p99s)
    );
}
