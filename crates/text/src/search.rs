//! The search index: knowledge-base articles and case messages, each in a tantivy index of its
//! own, in memory or in a directory, tokenised by [`crate::tokens`] (Chinese words with or
//! without spaces, stemmed English). Each process keeps its own index, built from the database
//! and kept current from its change table by the services; this module only indexes, removes
//! and searches, and keeps with each commit a marker of what it holds (so an index on disk can
//! be reopened and brought up to date instead of rebuilt).

use crate::{snippet, tokens};
use std::path::Path;
use std::sync::Mutex;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

const TOKENIZER: &str = "thaw";
/// Longest query taken (characters); the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// The version of the index's schema and tokenising: an index on disk written by another
/// version is rebuilt, not reused.
pub const FORMAT: u32 = 3;

/// What is indexed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    #[default]
    Article,
    Message,
}

impl DocKind {
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Article => "article",
            DocKind::Message => "message",
        }
    }
}

/// A document to index: an article (id = its slug and locale) or a case message.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: String,
    pub kind: DocKind,
    /// zh-CN or en (articles); the case's language (messages).
    pub locale: String,
    pub title: String,
    pub body: String,
    /// The case of a message; empty for articles.
    pub case_id: String,
    /// An internal note (staff only).
    pub internal: bool,
}

/// What a search looks in: articles or messages (they are kept apart, each ranked by its own
/// statistics), optionally in one language.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: DocKind,
    pub locale: Option<String>,
    /// Include internal notes (staff only).
    pub internal: bool,
}

/// One result, with a highlighted snippet (HTML: the text escaped, matches in `<b>`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    pub id: String,
    pub kind: DocKind,
    pub locale: String,
    pub title: String,
    pub case_id: String,
    pub score: f32,
    pub snippet_html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index: another process writes to {0}")]
    Busy(String),
    #[error("search index: {0}")]
    Directory(String),
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    locale: Field,
    title: Field,
    body: Field,
    case_id: Field,
    internal: Field,
    /// Messages only: the subject and the body, indexed together.
    text: Field,
}

/// One tantivy index: the articles or the messages.
struct Part {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
}

impl Part {
    /// `threads` indexing and searching threads (tantivy needs at least 15 MB of budget for
    /// each indexing thread).
    fn new(mut index: Index, threads: usize, budget: usize) -> Result<Part, SearchError> {
        index.tokenizers().register(TOKENIZER, ThawTokenizer);
        // A search runs over the index's segments on as many threads as it indexes with.
        if threads > 1 {
            index.set_multithread_executor(threads)?;
        }
        let writer = index.writer_with_num_threads(threads, budget).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => SearchError::Busy(format!("{:?}", index.directory())),
            e => e.into(),
        })?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Part { index, reader, writer: Mutex::new(writer) })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The index of one process: articles and messages in two tantivy indexes, so that a search of
/// the few hundred articles never walks the postings of millions of messages, and each is
/// ranked by the word statistics of its own kind.
pub struct SearchIndex {
    articles: Part,
    messages: Part,
    /// The marker every commit carries until it is replaced.
    marker: Mutex<Option<String>>,
    f: Fields,
}

/// tantivy's view of [`tokens::words`].
#[derive(Clone, Default)]
struct ThawTokenizer;

struct Words {
    words: std::vec::IntoIter<tokens::Word>,
    token: Token,
    position: usize,
}

impl TokenStream for Words {
    fn advance(&mut self) -> bool {
        match self.words.next() {
            Some(w) => {
                self.token = Token {
                    offset_from: w.start,
                    offset_to: w.end,
                    position: self.position,
                    text: w.text,
                    position_length: 1,
                };
                self.position += 1;
                true
            }
            None => false,
        }
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl Tokenizer for ThawTokenizer {
    type TokenStream<'a> = Words;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Words {
        Words { words: tokens::words(text).into_iter(), token: Token::default(), position: 0 }
    }
}

/// The schema of one part. Articles index their title (counting double) and body apart.
/// Messages are stored with their case's subject as title, and matched on one field holding
/// both, so that a search requiring every word intersects one posting list per word.
fn schema(kind: DocKind) -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Frequencies but no positions: queries are sets of words, never phrases, and positions
    // would double the index of millions of messages.
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqs),
    );
    let shown = match kind {
        DocKind::Article => words.clone().set_stored(),
        DocKind::Message => TextOptions::default().set_stored(),
    };
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        locale: b.add_text_field("locale", STRING | STORED),
        title: b.add_text_field("title", shown.clone()),
        body: b.add_text_field("body", shown),
        case_id: b.add_text_field("case_id", STRING | STORED),
        internal: b.add_u64_field("internal", INDEXED | STORED),
        text: b.add_text_field("text", words),
    };
    (b.build(), f)
}

/// Where each part lives in an index directory.
fn part_dir(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Article => "articles",
        DocKind::Message => "messages",
    }
}

impl SearchIndex {
    /// An empty index in memory.
    pub fn new() -> Result<SearchIndex, SearchError> {
        Self::with_parts([
            Index::create_in_ram(schema(DocKind::Article).0),
            Index::create_in_ram(schema(DocKind::Message).0),
        ])
    }

    /// An empty index in the directory `dir` (created if missing; it must hold no index).
    pub fn create_in(dir: &Path) -> Result<SearchIndex, SearchError> {
        let create = |kind: DocKind| {
            let path = dir.join(part_dir(kind));
            std::fs::create_dir_all(&path).map_err(|e| SearchError::Directory(format!("{}: {e}", path.display())))?;
            Ok::<_, SearchError>(Index::create_in_dir(&path, schema(kind).0)?)
        };
        Self::with_parts([create(DocKind::Article)?, create(DocKind::Message)?])
    }

    /// The index in the directory `dir`, written earlier by [`Self::create_in`] of this format.
    /// Its marker is the one both parts committed last (none when a crash came between their
    /// commits, so that the caller rebuilds).
    pub fn open_in(dir: &Path) -> Result<SearchIndex, SearchError> {
        let open = |kind: DocKind| {
            let index = Index::open_in_dir(dir.join(part_dir(kind)))?;
            if index.schema() != schema(kind).0 {
                return Err(SearchError::Directory(format!("{}: an index of another format", dir.display())));
            }
            Ok(index)
        };
        let opened = Self::with_parts([open(DocKind::Article)?, open(DocKind::Message)?])?;
        let articles = opened.articles.index.load_metas()?.payload;
        let messages = opened.messages.index.load_metas()?.payload;
        *opened.marker.lock().unwrap_or_else(|e| e.into_inner()) = articles.filter(|a| Some(a) == messages.as_ref());
        Ok(opened)
    }

    fn with_parts([articles, messages]: [Index; 2]) -> Result<SearchIndex, SearchError> {
        // Two threads for messages where there are cores for them: a full build tokenises
        // millions of them, and a search walks their segments two at a time. Articles are few.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        Ok(SearchIndex {
            articles: Part::new(articles, 1, 15_000_000)?,
            messages: Part::new(messages, threads, 40_000_000 * threads)?,
            marker: Mutex::new(None),
            f: schema(DocKind::Message).1,
        })
    }

    fn part(&self, kind: DocKind) -> &Part {
        match kind {
            DocKind::Article => &self.articles,
            DocKind::Message => &self.messages,
        }
    }

    /// The marker of the last commit (see [`Self::apply`]).
    pub fn marker(&self) -> Option<String> {
        self.marker.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds documents without making them searchable yet (a full build adds everything, then
    /// commits once); ids must not be in the index already.
    pub fn stage(&self, docs: &[Doc]) -> Result<(), SearchError> {
        for kind in [DocKind::Article, DocKind::Message] {
            let w = self.part(kind).writer();
            for d in docs.iter().filter(|d| d.kind == kind) {
                w.add_document(self.document(d))?;
            }
        }
        Ok(())
    }

    fn document(&self, d: &Doc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.f.id, &d.id);
        doc.add_text(self.f.locale, &d.locale);
        doc.add_text(self.f.title, &d.title);
        doc.add_text(self.f.body, &d.body);
        doc.add_text(self.f.case_id, &d.case_id);
        doc.add_u64(self.f.internal, d.internal as u64);
        if d.kind == DocKind::Message {
            doc.add_text(self.f.text, format!("{}\n{}", d.title, d.body));
        }
        doc
    }

    /// Removes `removals` and adds or replaces `upserts` (by id), then commits — with
    /// everything staged before — in one step, carrying `marker` (or the previous marker), and
    /// makes it all searchable. The articles are committed before the messages: a crash
    /// between the two leaves markers that differ, which [`Self::open_in`] does not trust.
    pub fn apply(&self, upserts: &[Doc], removals: &[String], marker: Option<&str>) -> Result<(), SearchError> {
        let mut kept = self.marker.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = marker {
            *kept = Some(m.to_string());
        }
        for kind in [DocKind::Article, DocKind::Message] {
            let part = self.part(kind);
            let mut w = part.writer();
            for id in removals {
                w.delete_term(Term::from_field_text(self.f.id, id));
            }
            for d in upserts.iter().filter(|d| d.kind == kind) {
                w.delete_term(Term::from_field_text(self.f.id, &d.id));
                w.add_document(self.document(d))?;
            }
            let mut commit = w.prepare_commit()?;
            if let Some(m) = kept.as_deref() {
                commit.set_payload(m);
            }
            commit.commit()?;
            drop(w);
            part.reader.reload()?;
        }
        Ok(())
    }

    /// Adds or replaces documents (by id) and makes them searchable.
    pub fn upsert(&self, docs: &[Doc]) -> Result<(), SearchError> {
        self.apply(docs, &[], None)
    }

    /// Removes documents by id.
    pub fn remove(&self, ids: &[String]) -> Result<(), SearchError> {
        self.apply(&[], ids, None)
    }

    /// Documents in the index.
    pub fn len(&self) -> u64 {
        self.articles.reader.searcher().num_docs() + self.messages.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Documents of `kind` with any of `words`: in an article's title (counting double) or body,
    /// in a message's subject or body.
    fn any_of(&self, kind: DocKind, words: &[String]) -> BooleanQuery {
        let fields = match kind {
            DocKind::Article => &[(self.f.title, 2.0), (self.f.body, 1.0)][..],
            DocKind::Message => &[(self.f.text, 1.0)][..],
        };
        let mut should: Vec<(Occur, Box<dyn Query>)> = vec![];
        for w in words {
            for &(field, boost) in fields {
                let q = TermQuery::new(Term::from_field_text(field, w), IndexRecordOption::WithFreqs);
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        BooleanQuery::new(should)
    }

    /// `query` within `filter`'s language and, for messages, without internal notes unless
    /// asked. Without filters the query is searched as it is: a plain union of terms, which
    /// tantivy answers by skipping blocks that cannot reach the top (block-max WAND).
    fn filtered(&self, query: BooleanQuery, filter: &Filter) -> Box<dyn Query> {
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![];
        if let Some(locale) = &filter.locale {
            must.push((Occur::Must, term(self.f.locale, locale)));
        }
        if !filter.internal && filter.kind == DocKind::Message {
            let q = TermQuery::new(Term::from_field_u64(self.f.internal, 1), IndexRecordOption::Basic);
            must.push((Occur::MustNot, Box::new(q)));
        }
        if must.is_empty() {
            return Box::new(query);
        }
        must.push((Occur::Must, Box::new(query)));
        Box::new(BooleanQuery::new(must))
    }

    /// The best `limit` documents for `query` within `filter`, best first. A query with no words
    /// finds nothing. Articles are found by any of the words (the few hundred of them are all
    /// scored). Messages are found by all the words [`tokens::required`] names, best first among
    /// the newest that have them (see [`newest_best`]), and when fewer than `limit` have them
    /// all, by any of those words after them: scoring every message that shares one common word
    /// with the query would walk millions of postings.
    pub fn search(&self, query: &str, filter: &Filter, limit: usize) -> Result<Vec<Hit>, SearchError> {
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        let found = tokens::words(&query);
        let mut words: Vec<String> = found.iter().map(|w| w.text.clone()).collect();
        words.sort();
        words.dedup();
        if words.is_empty() || limit == 0 {
            return Ok(vec![]);
        }
        let searcher = self.part(filter.kind).reader.searcher();
        let groups = if filter.kind == DocKind::Message { tokens::required(&query, &found) } else { vec![] };
        let top = if !groups.is_empty() {
            let all: Vec<(Occur, Box<dyn Query>)> =
                groups.iter().map(|g| (Occur::Must, Box::new(self.any_of(filter.kind, g)) as Box<dyn Query>)).collect();
            let mut top = newest_best(&searcher, self.filtered(BooleanQuery::new(all), filter).as_ref(), limit)?;
            if top.len() < limit {
                // Fewer have every word: those with some of them follow.
                let mut some: Vec<String> = groups.concat();
                some.sort();
                some.dedup();
                let more = searcher
                    .search(&self.filtered(self.any_of(filter.kind, &some), filter), &TopDocs::with_limit(limit))?;
                for hit in more {
                    if top.len() < limit && !top.iter().any(|t| t.1 == hit.1) {
                        top.push(hit);
                    }
                }
            }
            top
        } else {
            searcher.search(&self.filtered(self.any_of(filter.kind, &words), filter), &TopDocs::with_limit(limit))?
        };
        // Snippets of the body, the query's words weighed by how rare they are (inverse
        // document frequency, as the ranking does).
        let matched = if filter.kind == DocKind::Article { self.f.body } else { self.f.text };
        let docs = searcher.num_docs() as f32;
        let mut weighted = Vec::with_capacity(words.len());
        for w in &words {
            let df = searcher.doc_freq(&Term::from_field_text(matched, w))? as f32;
            weighted.push(snippet::Weighted { word: w, weight: (1.0 + (docs - df + 0.5) / (df + 0.5)).ln() });
        }
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |f: Field| doc.get_first(f).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let body = text(self.f.body);
            let mut snippet_html = snippet::snippet(&body, &weighted, 180);
            if snippet_html.is_empty() {
                // The match was in the title only: the body's opening, escaped.
                let opening: String = body.chars().take(160).collect();
                snippet_html = crate::markdown::escape(&opening);
            }
            hits.push(Hit {
                id: text(self.f.id),
                kind: filter.kind,
                locale: text(self.f.locale),
                title: text(self.f.title),
                case_id: text(self.f.case_id),
                score,
                snippet_html,
            });
        }
        Ok(hits)
    }
}

/// How many messages with every word are ranked in each segment of the index, at most.
pub const RANKED_PER_SEGMENT: u32 = 2_000;

/// The best `limit` documents for `query` among the last [`RANKED_PER_SEGMENT`] it matches in
/// each segment of the index (all of them when fewer match), best first. A segment holds its
/// documents in the order they were indexed (messages oldest first), so these are the newest
/// matches. Each segment is read backwards in windows that double, from its end, until enough
/// have matched: a query whose words are in hundreds of thousands of messages stops after a few
/// thousand, instead of walking and scoring them all.
fn newest_best(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    limit: usize,
) -> Result<Vec<(f32, tantivy::DocAddress)>, SearchError> {
    use tantivy::{DocSet, TERMINATED, query::EnableScoring, query::Scorer};
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let mut best: Vec<(f32, tantivy::DocAddress)> = Vec::with_capacity(limit + 1);
    let mut window_matches: Vec<(f32, u32)> = vec![];
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let alive = reader.alive_bitset();
        let (mut end, mut window, mut found) = (reader.max_doc(), 4_096u32, 0usize);
        while end > 0 && found < RANKED_PER_SEGMENT as usize {
            let start = end.saturating_sub(window);
            let mut scorer = weight.scorer(reader, 1.0)?;
            let mut doc = scorer.doc();
            if doc < start {
                doc = scorer.seek(start);
            }
            window_matches.clear();
            while doc != TERMINATED && doc < end {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    window_matches.push((scorer.score(), doc));
                }
                doc = scorer.advance();
            }
            // The newest of this window, as many as are still to be ranked.
            let take = window_matches.len().min(RANKED_PER_SEGMENT as usize - found);
            for &(score, doc) in &window_matches[window_matches.len() - take..] {
                if best.len() < limit || score > best[best.len() - 1].0 {
                    let at = best.partition_point(|b| b.0 >= score);
                    best.insert(at, (score, tantivy::DocAddress::new(ord as u32, doc)));
                    best.truncate(limit);
                }
            }
            found += take;
            end = start;
            window = window.saturating_mul(2);
        }
    }
    Ok(best)
}

fn term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(id: &str, locale: &str, title: &str, body: &str) -> Doc {
        Doc {
            id: id.into(),
            kind: DocKind::Article,
            locale: locale.into(),
            title: title.into(),
            body: body.into(),
            case_id: String::new(),
            internal: false,
        }
    }

    fn index() -> SearchIndex {
        let i = SearchIndex::new().unwrap();
        i.upsert(&[
            article(
                "freeze/en",
                "en",
                "How to freeze your account",
                "Freeze everything in one click when you suspect a thief.",
            ),
            article("freeze/zh-CN", "zh-CN", "如何一键冻结账户", "怀疑账户被盗时，一键冻结您的账户，阻止登录和提币。"),
            article("phishing/zh-CN", "zh-CN", "识别冒充客服", "官方客服不会索要助记词或私钥。遇到冒充客服请举报。"),
            article(
                "deposit/en",
                "en",
                "My deposit has not arrived",
                "Check the transaction hash, network and memo <tag>.",
            ),
            Doc {
                id: "m1".into(),
                kind: DocKind::Message,
                locale: "en".into(),
                title: String::new(),
                body: "Customer says the deposit went to the wrong network".into(),
                case_id: "c1".into(),
                internal: true,
            },
        ])
        .unwrap();
        i
    }

    #[test]
    fn chinese_queries_find_chinese_articles_with_or_without_spaces() {
        let i = index();
        let f = Filter { kind: DocKind::Article, ..Default::default() };
        for q in ["冻结账户", "冻结 账户", "怎么冻结我的账户"] {
            let hits = i.search(q, &f, 3).unwrap();
            assert_eq!(hits[0].id, "freeze/zh-CN", "{q}");
        }
        assert_eq!(i.search("有人冒充客服要我的助记词", &f, 3).unwrap()[0].id, "phishing/zh-CN");
        assert_eq!(i.search("帳戶凍結", &f, 3).unwrap()[0].id, "freeze/zh-CN", "traditional characters");
    }

    #[test]
    fn english_is_stemmed_and_snippets_are_escaped_and_highlighted() {
        let i = index();
        let hits = i.search("deposits arriving", &Filter::default(), 3).unwrap();
        assert_eq!(hits[0].id, "deposit/en");
        let hits = i.search("memo", &Filter { kind: DocKind::Article, ..Default::default() }, 3).unwrap();
        assert!(
            hits[0].snippet_html.contains("<b>memo</b>") && hits[0].snippet_html.contains("&lt;tag"),
            "{}",
            hits[0].snippet_html
        );
    }

    #[test]
    fn internal_notes_only_when_asked_and_filters_apply() {
        let i = index();
        assert!(i.search("wrong network", &Filter::default(), 5).unwrap().iter().all(|h| h.id != "m1"));
        let staff = Filter { internal: true, kind: DocKind::Message, ..Default::default() };
        assert_eq!(i.search("wrong network", &staff, 5).unwrap()[0].case_id, "c1");
        let en = Filter { locale: Some("en".into()), ..Default::default() };
        assert!(i.search("冻结", &en, 5).unwrap().is_empty());
    }

    #[test]
    fn upsert_replaces_and_remove_deletes_and_empty_queries_find_nothing() {
        let i = index();
        i.upsert(&[article("freeze/en", "en", "Lock your account", "One click.")]).unwrap();
        assert_eq!(i.len(), 5);
        assert!(i.search("freeze", &Filter::default(), 5).unwrap().iter().all(|h| h.id != "freeze/en"));
        i.remove(&["freeze/en".into()]).unwrap();
        assert_eq!(i.len(), 4);
        assert!(i.search("  ,.!? ", &Filter::default(), 5).unwrap().is_empty());
        assert!(i.search(&"x".repeat(100_000), &Filter::default(), 5).is_ok());
    }

    #[test]
    fn an_index_on_disk_keeps_its_marker_unless_its_parts_disagree() {
        let dir = std::env::temp_dir().join(format!("thaw-search-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let i = SearchIndex::create_in(&dir).unwrap();
        i.apply(&[article("freeze/en", "en", "Freeze", "One click.")], &[], Some("seq 7")).unwrap();
        drop(i);
        let i = SearchIndex::open_in(&dir).unwrap();
        assert_eq!(i.marker().as_deref(), Some("seq 7"));
        assert_eq!(i.search("freeze", &Filter::default(), 3).unwrap()[0].id, "freeze/en");
        // A crash after the articles' commit and before the messages': the markers differ.
        let mut writer = i.articles.writer();
        let mut commit = writer.prepare_commit().unwrap();
        commit.set_payload("seq 8");
        commit.commit().unwrap();
        drop(writer);
        drop(i);
        assert_eq!(SearchIndex::open_in(&dir).unwrap().marker(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn message(id: &str, subject: &str, body: &str) -> Doc {
        Doc {
            id: id.into(),
            kind: DocKind::Message,
            locale: "en".into(),
            title: subject.into(),
            body: body.into(),
            case_id: format!("case-{id}"),
            internal: false,
        }
    }

    #[test]
    fn messages_with_every_word_come_first_then_those_with_some() {
        let i = SearchIndex::new().unwrap();
        let mut docs = vec![
            message("all", "Deposit missing", "I sent USDT on the wrong network"),
            message("subject", "Wrong network deposit", "Please help, nothing arrived."),
            message("some", "Hello", "My deposit is late"),
            message("none", "Hello", "I forgot my password"),
        ];
        // Many messages with one common word, so that ranking by it alone would bury the rest.
        docs.extend((0..200).map(|n| message(&format!("n{n}"), "Question", &format!("deposit deposit deposit {n}"))));
        i.upsert(&docs).unwrap();
        let f = Filter { kind: DocKind::Message, ..Default::default() };
        let hits = i.search("deposit on the wrong network", &f, 3).unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids.len(), 3);
        assert!(ids[..2].contains(&"all") && ids[..2].contains(&"subject"), "{ids:?}");
        let all = hits.iter().find(|h| h.id == "all").unwrap();
        assert!(all.snippet_html.contains("<b>network</b>"), "{}", all.snippet_html);
        let subject = hits.iter().find(|h| h.id == "subject").unwrap();
        assert_eq!(
            subject.snippet_html, "Please help, nothing arrived.",
            "a match in the subject shows the body's opening"
        );
        // Nothing has every word: messages with some of them are found all the same.
        let hits = i.search("late deposit refund", &f, 5).unwrap();
        assert_eq!(hits[0].id, "some");
        assert_eq!(hits.len(), 5);
        assert!(i.search("password", &f, 5).unwrap().iter().any(|h| h.id == "none"));
        assert!(i.search("telegram", &f, 5).unwrap().is_empty());
    }

    #[test]
    fn when_thousands_have_every_word_the_newest_are_ranked_and_a_lone_oldest_match_is_found() {
        let i = SearchIndex::new().unwrap();
        let n = RANKED_PER_SEGMENT as usize * 3;
        // The oldest message is the only one with "telegram"; every message has both other words.
        let mut docs = vec![message("m0", "Frozen", "account frozen, a fake telegram agent asked for my seed")];
        docs.extend((1..n).map(|k| message(&format!("m{k}"), "Frozen", &format!("my account is frozen ({k})"))));
        i.upsert(&docs).unwrap();
        let f = Filter { kind: DocKind::Message, ..Default::default() };
        // Every segment's last RANKED_PER_SEGMENT matches are ranked, and nothing before them.
        let searcher = i.messages.reader.searcher();
        let words = ["account", "freez"].map(|w| {
            let t = TermQuery::new(Term::from_field_text(i.f.text, w), IndexRecordOption::WithFreqs);
            (Occur::Must, Box::new(t) as Box<dyn Query>)
        });
        let query = BooleanQuery::new(words.into());
        let best = newest_best(&searcher, &query, 25).unwrap();
        assert_eq!(best.len(), 25);
        let mut ranked = std::collections::HashSet::new();
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let weight = query.weight(tantivy::query::EnableScoring::enabled_from_searcher(&searcher)).unwrap();
            let mut scorer = weight.scorer(reader, 1.0).unwrap();
            let mut matched = vec![];
            while scorer.doc() != tantivy::TERMINATED {
                matched.push(scorer.doc());
                tantivy::DocSet::advance(&mut scorer);
            }
            let newest = matched.len().saturating_sub(RANKED_PER_SEGMENT as usize);
            ranked.extend(matched[newest..].iter().map(|d| tantivy::DocAddress::new(ord as u32, *d)));
        }
        assert!(ranked.len() < n, "the index holds more matches than it ranks");
        assert!(best.iter().all(|(_, address)| ranked.contains(address)), "only the newest matches are ranked");
        assert!(best.windows(2).all(|w| w[0].0 >= w[1].0), "best first");
        let lone = i.search("telegram frozen", &f, 5).unwrap();
        assert_eq!(lone[0].id, "m0", "the windows reach back to the segment's first message");
        // A message replaced by a newer version is found once, as the new version.
        i.upsert(&[message(&format!("m{}", n - 1), "Frozen", "account frozen, resolved")]).unwrap();
        let hits = i.search("account frozen resolved", &f, 25).unwrap();
        assert_eq!(hits.iter().filter(|h| h.id == format!("m{}", n - 1)).count(), 1);
        assert_eq!(hits[0].id, format!("m{}", n - 1));
    }
}
