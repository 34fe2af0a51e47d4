//! A text classifier trained in seconds on a CPU: hashed features — words of
//! [`crate::tokens`] (jieba words for Chinese, stemmed English), word bigrams, character 2–5-grams
//! of Latin words and character bigrams of Chinese — weighted by sublinear term frequency and
//! L2-normalised, and a multinomial logistic regression learnt by SGD with L2 regularisation.
//! Used for the case categories (the default model) and for any labelled CSV.

use crate::tokens::{self, is_han};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

/// A labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
}

/// How a model is trained.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Starting learning rate (decays per epoch).
    pub learning_rate: f32,
    /// L2 regularisation per example.
    pub l2: f32,
    /// Feature space of 2^hash_bits buckets.
    pub hash_bits: u32,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions { epochs: 12, learning_rate: 0.6, l2: 1e-6, hash_bits: 20, seed: 7 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no examples to learn from")]
    Empty,
    #[error("at least two labels are needed (found {0})")]
    OneLabel(usize),
    #[error("column '{column}' is not in the header (columns: {columns})")]
    MissingColumn { column: String, columns: String },
    #[error("line {line}: {message}")]
    Row { line: u64, message: String },
    #[error("CSV: {0}")]
    Csv(String),
    #[error("not a thaw triage model: {0}")]
    BadModel(&'static str),
    #[error("{0}")]
    Folds(String),
}

/// The best label for a text, its probability, and every label by probability.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Prediction {
    pub label: String,
    pub confidence: f32,
    pub ranked: Vec<(String, f32)>,
}

/// A trained model.
pub struct Model {
    labels: Vec<String>,
    hash_bits: u32,
    /// Feature bucket → row of `weights`.
    rows: HashMap<u32, u32>,
    /// rows × labels.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// The features of a text: (bucket, weight), L2-normalised.
fn features(text: &str, hash_bits: u32) -> Vec<(u32, f32)> {
    let mask = (1u64 << hash_bits) - 1;
    let mut counts: HashMap<u32, f32> = HashMap::new();
    let mut add = |parts: &[&str]| *counts.entry((fnv(parts) & mask) as u32).or_insert(0.0) += 1.0;
    let words = tokens::words(text);
    let mut previous: Option<&str> = None;
    for w in &words {
        add(&["w", &w.text]);
        // Bigrams of whole words (sub-words and characters overlap their word).
        if w.text.chars().count() > 1 || !w.text.chars().all(is_han) {
            if let Some(p) = previous {
                add(&["b", p, &w.text]);
            }
            previous = Some(&w.text);
        }
    }
    let lower = text.to_lowercase();
    let mut han_prev: Option<char> = None;
    let mut latin = String::new();
    let flush = |latin: &mut String, add: &mut dyn FnMut(&[&str])| {
        if latin.is_empty() {
            return;
        }
        let padded: Vec<char> = format!("<{latin}>").chars().collect();
        for n in 2..=5 {
            for win in padded.windows(n) {
                let g: String = win.iter().collect();
                add(&["c", &g]);
            }
        }
        latin.clear();
    };
    for c in lower.chars() {
        if is_han(c) {
            flush(&mut latin, &mut add);
            let c = tokens::simplified(c);
            if let Some(p) = han_prev {
                let pair: String = [p, c].iter().collect();
                add(&["h", &pair]);
            }
            han_prev = Some(c);
        } else if c.is_alphanumeric() {
            han_prev = None;
            latin.push(c);
        } else {
            han_prev = None;
            flush(&mut latin, &mut add);
        }
    }
    flush(&mut latin, &mut add);
    let mut out: Vec<(u32, f32)> = counts.into_iter().map(|(k, n)| (k, 1.0 + n.ln())).collect();
    out.sort_unstable_by_key(|(k, _)| *k);
    let norm = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in &mut out {
            *v /= norm;
        }
    }
    out
}

/// A small deterministic generator (xorshift64*) for shuffling.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

impl Model {
    /// Learns from `examples` (deterministic for the same examples and options).
    pub fn train(examples: &[Example], options: &TrainOptions) -> Result<Model, TriageError> {
        if examples.is_empty() {
            return Err(TriageError::Empty);
        }
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort();
        labels.dedup();
        if labels.len() < 2 {
            return Err(TriageError::OneLabel(labels.len()));
        }
        let k = labels.len();
        let label_index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
        let hash_bits = options.hash_bits.clamp(10, 24);
        let mut rows: HashMap<u32, u32> = HashMap::new();
        let data: Vec<(Vec<(u32, f32)>, usize)> = examples
            .iter()
            .map(|e| {
                let f: Vec<(u32, f32)> = features(&e.text, hash_bits)
                    .into_iter()
                    .map(|(bucket, v)| {
                        let next = rows.len() as u32;
                        (*rows.entry(bucket).or_insert(next), v)
                    })
                    .collect();
                (f, label_index[e.label.as_str()])
            })
            .collect();
        let mut weights = vec![0.0f32; rows.len() * k];
        let mut bias = vec![0.0f32; k];
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = Rng(options.seed ^ 0x9e37_79b9_7f4a_7c15);
        let mut probs = vec![0.0f32; k];
        for epoch in 0..options.epochs {
            rng.shuffle(&mut order);
            let lr = options.learning_rate / (1.0 + epoch as f32 * 0.5);
            for &i in &order {
                let (f, gold) = &data[i];
                probs.copy_from_slice(&bias);
                for (row, v) in f {
                    let w = &weights[*row as usize * k..(*row as usize + 1) * k];
                    for c in 0..k {
                        probs[c] += w[c] * v;
                    }
                }
                softmax(&mut probs);
                probs[*gold] -= 1.0;
                for (row, v) in f {
                    let w = &mut weights[*row as usize * k..(*row as usize + 1) * k];
                    for c in 0..k {
                        w[c] -= lr * (probs[c] * v + options.l2 * w[c]);
                    }
                }
                for c in 0..k {
                    bias[c] -= lr * probs[c] * 0.1;
                }
            }
        }
        Ok(Model { labels, hash_bits, rows, weights, bias })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The label of `text` (any text, also empty: then the most common label's bias decides).
    pub fn predict(&self, text: &str) -> Prediction {
        let k = self.labels.len();
        let mut scores = self.bias.clone();
        for (bucket, v) in features(text, self.hash_bits) {
            if let Some(row) = self.rows.get(&bucket) {
                let w = &self.weights[*row as usize * k..(*row as usize + 1) * k];
                for c in 0..k {
                    scores[c] += w[c] * v;
                }
            }
        }
        softmax(&mut scores);
        let mut ranked: Vec<(String, f32)> = self.labels.iter().cloned().zip(scores).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Prediction { label: ranked[0].0.clone(), confidence: ranked[0].1, ranked }
    }

    const MAGIC: &'static [u8; 8] = b"THAWTRI1";

    /// The model as bytes: magic, hash bits, labels, rows (bucket per row), weights, bias (little endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.weights.len() * 4 + self.rows.len() * 4);
        out.extend_from_slice(Self::MAGIC);
        out.extend_from_slice(&self.hash_bits.to_le_bytes());
        out.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        for l in &self.labels {
            out.extend_from_slice(&(l.len() as u32).to_le_bytes());
            out.extend_from_slice(l.as_bytes());
        }
        let mut by_row: Vec<(u32, u32)> = self.rows.iter().map(|(b, r)| (*r, *b)).collect();
        by_row.sort_unstable();
        out.extend_from_slice(&(by_row.len() as u32).to_le_bytes());
        for (_, bucket) in &by_row {
            out.extend_from_slice(&bucket.to_le_bytes());
        }
        for w in self.weights.iter().chain(&self.bias) {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Model, TriageError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != Self::MAGIC {
            return Err(TriageError::BadModel("wrong magic bytes"));
        }
        let hash_bits = r.u32()?;
        if !(10..=24).contains(&hash_bits) {
            return Err(TriageError::BadModel("hash bits out of range"));
        }
        let n = r.u32()? as usize;
        if !(2..=10_000).contains(&n) {
            return Err(TriageError::BadModel("label count out of range"));
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u32()? as usize;
            labels
                .push(String::from_utf8(r.take(len)?.to_vec()).map_err(|_| TriageError::BadModel("label not UTF-8"))?);
        }
        let row_count = r.u32()? as usize;
        if row_count > (1 << hash_bits) {
            return Err(TriageError::BadModel("more rows than buckets"));
        }
        let mut rows = HashMap::with_capacity(row_count);
        for i in 0..row_count {
            rows.insert(r.u32()?, i as u32);
        }
        let floats =
            row_count.checked_mul(n).and_then(|x| x.checked_add(n)).ok_or(TriageError::BadModel("too large"))?;
        let mut weights = Vec::with_capacity(floats);
        for _ in 0..floats {
            weights.push(f32::from_le_bytes(r.take(4)?.try_into().map_err(|_| TriageError::BadModel("truncated"))?));
        }
        if r.at != bytes.len() {
            return Err(TriageError::BadModel("trailing bytes"));
        }
        let bias = weights.split_off(row_count * n);
        Ok(Model { labels, hash_bits, rows, weights, bias })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TriageError> {
        let end =
            self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or(TriageError::BadModel("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, TriageError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| TriageError::BadModel("truncated"))?))
    }
}

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LabelScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Gold labels predicted as another, and how often.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Confusion {
    pub gold: String,
    pub predicted: String,
    pub count: usize,
}

/// How a model did on labelled examples.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_label: Vec<LabelScore>,
    pub confused: Vec<Confusion>,
    /// (gold, predicted) of every example, for pooling folds.
    #[serde(skip)]
    pairs: Vec<(String, String)>,
}

/// Scores (gold, predicted) pairs.
pub fn score(pairs: Vec<(String, String)>) -> Evaluation {
    let n = pairs.len();
    let correct = pairs.iter().filter(|(g, p)| g == p).count();
    let mut labels: Vec<&String> = pairs.iter().flat_map(|(g, p)| [g, p]).collect();
    labels.sort();
    labels.dedup();
    let mut per_label = vec![];
    for l in &labels {
        let tp = pairs.iter().filter(|(g, p)| g == *l && p == *l).count() as f64;
        let predicted = pairs.iter().filter(|(_, p)| p == *l).count() as f64;
        let support = pairs.iter().filter(|(g, _)| g == *l).count();
        let precision = if predicted > 0.0 { tp / predicted } else { 0.0 };
        let recall = if support > 0 { tp / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        per_label.push(LabelScore { label: (*l).clone(), precision, recall, f1, support });
    }
    let macro_f1 =
        if per_label.is_empty() { 0.0 } else { per_label.iter().map(|s| s.f1).sum::<f64>() / per_label.len() as f64 };
    let mut confusions: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (g, p) in pairs.iter().filter(|(g, p)| g != p) {
        *confusions.entry((g.clone(), p.clone())).or_default() += 1;
    }
    let mut confused: Vec<Confusion> =
        confusions.into_iter().map(|((gold, predicted), count)| Confusion { gold, predicted, count }).collect();
    confused.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.gold.cmp(&b.gold)));
    confused.truncate(10);
    Evaluation {
        n,
        accuracy: if n == 0 { 0.0 } else { correct as f64 / n as f64 },
        macro_f1,
        per_label,
        confused,
        pairs,
    }
}

/// `model` on `examples`.
pub fn evaluate(model: &Model, examples: &[Example]) -> Evaluation {
    score(examples.iter().map(|e| (e.label.clone(), model.predict(&e.text).label)).collect())
}

/// Stratified k-fold cross-validation: every example is predicted once by a model that did not
/// see it.
pub fn cross_validate(
    examples: &[Example],
    folds: usize,
    options: &TrainOptions,
    seed: u64,
) -> Result<Vec<Evaluation>, TriageError> {
    if folds < 2 || folds > examples.len() {
        return Err(TriageError::Folds(format!("folds: from 2 to the number of examples ({})", examples.len())));
    }
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in examples.iter().enumerate() {
        by_label.entry(&e.label).or_default().push(i);
    }
    let mut rng = Rng(seed ^ 0x51_7cc1_b727_220a);
    let mut fold_of = vec![0usize; examples.len()];
    let mut next = 0;
    for indices in by_label.values_mut() {
        rng.shuffle(indices);
        for i in indices.iter() {
            fold_of[*i] = next % folds;
            next += 1;
        }
    }
    let mut out = vec![];
    for f in 0..folds {
        let train: Vec<Example> =
            examples.iter().enumerate().filter(|(i, _)| fold_of[*i] != f).map(|(_, e)| e.clone()).collect();
        let test: Vec<Example> =
            examples.iter().enumerate().filter(|(i, _)| fold_of[*i] == f).map(|(_, e)| e.clone()).collect();
        let model = Model::train(&train, options)?;
        out.push(evaluate(&model, &test));
    }
    Ok(out)
}

/// The folds pooled: every prediction counted once.
pub fn combine(evals: &[Evaluation]) -> Evaluation {
    score(evals.iter().flat_map(|e| e.pairs.iter().cloned()).collect())
}

/// Labelled examples from a CSV with a header row.
pub fn read_csv(reader: impl Read, text_column: &str, label_column: &str) -> Result<Vec<Example>, TriageError> {
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(reader);
    let headers = csv.byte_headers().map_err(|e| TriageError::Csv(e.to_string()))?.clone();
    let names: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    let find = |column: &str| {
        names
            .iter()
            .position(|n| n == column)
            .ok_or_else(|| TriageError::MissingColumn { column: column.into(), columns: names.join(", ") })
    };
    let (t, l) = (find(text_column)?, find(label_column)?);
    let mut out = vec![];
    for record in csv.byte_records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => TriageError::Row { line: p.line(), message: e.to_string() },
            None => TriageError::Csv(e.to_string()),
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let field = |i: usize, what: &str| -> Result<String, TriageError> {
            let bytes = record.get(i).unwrap_or_default();
            let s = std::str::from_utf8(bytes)
                .map_err(|_| TriageError::Row { line, message: format!("{what} is not valid UTF-8") })?;
            if s.trim().is_empty() {
                return Err(TriageError::Row { line, message: format!("{what} is empty") });
            }
            Ok(s.trim().to_string())
        };
        out.push(Example { text: field(t, text_column)?, label: field(l, label_column)? });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: &str) -> Example {
        Example { text: text.into(), label: label.into() }
    }

    fn small() -> Vec<Example> {
        let mut v = vec![];
        for (t, l) in [
            ("my account is frozen please unfreeze", "freeze"),
            ("withdrawals are blocked on my account", "freeze"),
            ("why is my account restricted", "freeze"),
            ("账户被冻结了，怎么解冻", "freeze"),
            ("提币被限制了", "freeze"),
            ("资产冻结怎么办", "freeze"),
            ("my deposit has not arrived", "deposit"),
            ("deposit not credited after one hour", "deposit"),
            ("sent usdt but balance did not change", "deposit"),
            ("充值没有到账", "deposit"),
            ("转账三小时了还没到账", "deposit"),
            ("充币一直不到账", "deposit"),
        ] {
            v.push(ex(t, l));
        }
        v
    }

    #[test]
    fn learns_and_generalises_to_paraphrases_in_both_languages() {
        let m = Model::train(&small(), &TrainOptions::default()).unwrap();
        assert_eq!(m.predict("the account got frozen yesterday").label, "freeze");
        assert_eq!(m.predict("我的充值还没到账").label, "deposit");
        assert_eq!(m.predict("deposit still not arrived").label, "deposit");
        let p = m.predict("");
        assert_eq!(p.ranked.len(), 2);
        assert!((p.ranked.iter().map(|(_, x)| x).sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn bytes_round_trip_and_garbage_is_refused() {
        let m = Model::train(&small(), &TrainOptions::default()).unwrap();
        let bytes = m.to_bytes();
        let back = Model::from_bytes(&bytes).unwrap();
        for t in ["账户冻结", "deposit missing", "hello"] {
            assert_eq!(m.predict(t).ranked, back.predict(t).ranked);
        }
        assert!(Model::from_bytes(b"garbage").is_err());
        assert!(Model::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        assert!(Model::from_bytes(&[]).is_err());
        let again = Model::train(&small(), &TrainOptions::default()).unwrap();
        assert_eq!(again.to_bytes(), bytes, "training is deterministic");
    }

    #[test]
    fn csv_columns_are_named_and_quoting_works() {
        let csv = "id,text,category\n1,\"frozen, please help\",freeze\n2,\"line one\nline two\",deposit\n";
        let got = read_csv(csv.as_bytes(), "text", "category").unwrap();
        assert_eq!(got[0].text, "frozen, please help");
        assert_eq!(got[1].text, "line one\nline two");
        let err = read_csv(csv.as_bytes(), "message", "category").unwrap_err().to_string();
        assert!(err.contains("'message'") && err.contains("id, text, category"), "{err}");
        let err = read_csv("text,category\nhello,\n".as_bytes(), "text", "category").unwrap_err().to_string();
        assert!(err.starts_with("line 2") && err.contains("category is empty"), "{err}");
        assert!(read_csv(&b"text,category\n\xff\xfe,x\n"[..], "text", "category").is_err());
    }

    #[test]
    fn evaluation_arithmetic_matches_a_hand_computed_case() {
        // gold a,a,b,b ; predicted a,b,b,b → accuracy 3/4; a: P 1, R .5, F1 2/3; b: P 2/3, R 1, F1 .8.
        let pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")].map(|(g, p)| (g.to_string(), p.to_string()));
        let e = score(pairs.to_vec());
        assert_eq!(e.n, 4);
        assert!((e.accuracy - 0.75).abs() < 1e-9);
        assert!((e.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
        assert_eq!((e.confused[0].gold.as_str(), e.confused[0].predicted.as_str(), e.confused[0].count), ("a", "b", 1));
    }

    #[test]
    fn cross_validation_predicts_every_example_once() {
        let data = small();
        let folds = cross_validate(&data, 3, &TrainOptions::default(), 1).unwrap();
        assert_eq!(folds.len(), 3);
        assert_eq!(folds.iter().map(|f| f.n).sum::<usize>(), data.len());
        assert_eq!(combine(&folds).n, data.len());
        assert!(cross_validate(&data, 1, &TrainOptions::default(), 1).is_err());
        assert!(matches!(Model::train(&[ex("x", "a")], &TrainOptions::default()), Err(TriageError::OneLabel(1))));
    }
}
