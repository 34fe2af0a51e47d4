//! Search for this process: its own index of published articles and case messages, kept current
//! by following `text_changes` (every process does the same, so each answers from its own index).
//! In memory it is built from the database at every start; in a directory of its own
//! (`search_dir`) it survives restarts — each commit records the change it has reached, so a
//! restart reopens it and applies only what changed meanwhile, instead of re-reading millions of
//! messages. `request_rebuild` posts a change that makes every running process rebuild.

use crate::ServiceError;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use thaw_store::{Capabilities, Db, IndexedMessage, KbRevision, StoreError};
use thaw_text::search::{Doc, DocKind, Filter, Hit, SearchError, SearchIndex};

/// Messages read from the database at a time.
const PAGE: i64 = 2000;
/// The setting naming this database, so that an index on disk is reused only for the database
/// it was built from.
const DATABASE_ID: &str = "search_database_id";

pub struct Search {
    /// Read-locked to search and to apply changes (the index serialises its own writes);
    /// write-locked only to swap in a rebuilt index.
    index: RwLock<SearchIndex>,
    /// The last change applied.
    seq: Mutex<i64>,
    /// Whether the first build is complete (searches wait for it).
    ready: tokio::sync::watch::Sender<bool>,
    /// Where the index is kept between runs; `None`: in memory only.
    dir: Mutex<Option<PathBuf>>,
    /// The database's name for markers (read at start).
    database: Mutex<String>,
}

/// What an index on disk holds: which database, up to which change, in which format.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Marker {
    format: u32,
    database: String,
    seq: i64,
}

/// How the index came to be at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// Built from the database.
    Built { docs: u64 },
    /// Reopened from its directory and brought up to date.
    Reopened { docs: u64, changes: usize },
}

fn article_doc(r: &KbRevision) -> Doc {
    Doc {
        id: format!("a:{}/{}", r.slug, r.locale),
        kind: DocKind::Article,
        locale: r.locale.clone(),
        title: r.title.clone(),
        body: format!("{}\n{}", r.tags.join(" "), thaw_text::markdown::to_text(&r.body)),
        case_id: String::new(),
        internal: false,
    }
}

fn message_doc(m: &IndexedMessage) -> Doc {
    Doc {
        id: format!("m:{}", m.id),
        kind: DocKind::Message,
        locale: m.language.clone(),
        title: m.subject.clone(),
        body: m.body.clone(),
        case_id: m.case_id.clone(),
        internal: m.internal,
    }
}

/// An article hit's slug and locale.
pub fn article_of(hit: &Hit) -> Option<(&str, &str)> {
    hit.id.strip_prefix("a:")?.split_once('/')
}

/// A message hit's message id.
pub fn message_of(hit: &Hit) -> Option<&str> {
    hit.id.strip_prefix("m:")
}

fn index_err(e: thaw_text::search::SearchError) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// The generations of index kept in `dir`, newest first: (number, path).
fn generations(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.strip_prefix("index-")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort_by_key(|g| std::cmp::Reverse(g.0));
    found
}

impl Search {
    /// An empty index in memory; `start` fills it.
    pub fn new() -> Result<Search, ServiceError> {
        let (ready, _) = tokio::sync::watch::channel(false);
        Ok(Search {
            index: RwLock::new(SearchIndex::new().map_err(index_err)?),
            seq: Mutex::new(0),
            ready,
            dir: Mutex::new(None),
            database: Mutex::new(String::new()),
        })
    }

    /// An index kept in `dir` (this process's own directory); `start` opens or builds it.
    pub fn in_dir(dir: &Path) -> Result<Search, ServiceError> {
        let search = Search::new()?;
        *search.dir.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir.to_path_buf());
        Ok(search)
    }

    fn marker(&self, seq: i64) -> Option<String> {
        self.dir.lock().unwrap_or_else(|e| e.into_inner()).as_ref()?;
        let database = self.database.lock().unwrap_or_else(|e| e.into_inner()).clone();
        serde_json::to_string(&Marker { format: thaw_text::search::FORMAT, database, seq }).ok()
    }

    /// Makes the index ready: reopens the one kept on disk when it was built from this database
    /// in this format (and applies the changes since), else builds it.
    pub async fn start(&self, db: &Db, progress: impl FnMut(u64, u64)) -> Result<Started, ServiceError> {
        let dir = self.dir.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(dir) = dir else {
            return Ok(Started::Built { docs: self.rebuild(db, progress).await? });
        };
        let database = database_id(db).await?;
        *self.database.lock().unwrap_or_else(|e| e.into_inner()) = database.clone();
        let last = db.conn().await?.texts().last_change().await?;
        for (_, path) in generations(&dir).into_iter().take(1) {
            match SearchIndex::open_in(&path) {
                Ok(index) => {
                    let marker = index.marker().and_then(|m| serde_json::from_str::<Marker>(&m).ok());
                    match marker {
                        Some(m) if m.format == thaw_text::search::FORMAT && m.database == database && m.seq <= last => {
                            *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
                            *self.seq.lock().unwrap_or_else(|e| e.into_inner()) = m.seq;
                            let changes = self.catch_up(db).await?;
                            self.ready.send_replace(true);
                            return Ok(Started::Reopened { docs: self.len(), changes });
                        }
                        _ => {
                            tracing::info!(path = %path.display(), "search index on disk is of another database or format; rebuilding")
                        }
                    }
                }
                Err(SearchError::Busy(_)) => {
                    tracing::warn!(dir = %dir.display(), "another process uses this search_dir; this one keeps its index in memory");
                    *self.dir.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "search index on disk unreadable; rebuilding")
                }
            }
        }
        Ok(Started::Built { docs: self.rebuild(db, progress).await? })
    }

    /// Builds the index from scratch (articles, then messages `PAGE` at a time), telling
    /// `progress` (done, total documents); returns how many documents it holds. Searches keep
    /// using the old index until the new one is complete. On disk the new index is a new
    /// generation in the directory; the old ones are removed once it is in use.
    pub async fn rebuild(&self, db: &Db, mut progress: impl FnMut(u64, u64)) -> Result<u64, ServiceError> {
        let dir = self.dir.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (fresh, path) = match &dir {
            Some(dir) => {
                if self.database.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                    *self.database.lock().unwrap_or_else(|e| e.into_inner()) = database_id(db).await?;
                }
                let next = generations(dir).first().map_or(1, |g| g.0 + 1);
                let path = dir.join(format!("index-{next}"));
                (SearchIndex::create_in(&path).map_err(index_err)?, Some(path))
            }
            None => (SearchIndex::new().map_err(index_err)?, None),
        };
        let mut conn = db.conn().await?;
        // Changes from here on are applied afterwards, so nothing written meanwhile is missed.
        let seq = conn.texts().last_change().await?;
        let articles = conn.texts().published().await?;
        let total = articles.len() as u64 + conn.texts().message_count().await? as u64;
        let docs: Vec<Doc> = articles.iter().map(article_doc).collect();
        fresh.stage(&docs).map_err(index_err)?;
        let mut done = docs.len() as u64;
        progress(done, total);
        let mut after = String::new();
        loop {
            let page = conn.texts().messages_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            let docs: Vec<Doc> = page.iter().map(message_doc).collect();
            fresh.stage(&docs).map_err(index_err)?;
            done += docs.len() as u64;
            progress(done.min(total), total);
            tokio::task::yield_now().await;
        }
        drop(conn);
        fresh.apply(&[], &[], self.marker(seq).as_deref()).map_err(index_err)?;
        let count = fresh.len();
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        *self.seq.lock().unwrap_or_else(|e| e.into_inner()) = seq;
        if let (Some(dir), Some(path)) = (dir, path) {
            for (_, old) in generations(&dir).into_iter().filter(|(_, p)| *p != path) {
                if let Err(e) = std::fs::remove_dir_all(&old) {
                    tracing::warn!(path = %old.display(), error = %e, "an old search index was not removed");
                }
            }
        }
        self.catch_up(db).await?;
        self.ready.send_replace(true);
        Ok(count)
    }

    /// Applies the changes since the last one seen; returns how many. A `rebuild` change (posted
    /// by `thaw reindex`) rebuilds the whole index.
    pub async fn catch_up(&self, db: &Db) -> Result<usize, ServiceError> {
        let mut applied = 0;
        loop {
            let since = *self.seq.lock().unwrap_or_else(|e| e.into_inner());
            let mut conn = db.conn().await?;
            let changes = conn.texts().changes_since(since, 500).await?;
            let Some((last, _, _)) = changes.last().cloned() else { return Ok(applied) };
            if changes.iter().any(|(_, kind, _)| kind == "rebuild") {
                drop(conn);
                *self.seq.lock().unwrap_or_else(|e| e.into_inner()) = last;
                Box::pin(self.rebuild(db, |_, _| {})).await?;
                return Ok(applied + changes.len());
            }
            let (mut upserts, mut removals) = (vec![], vec![]);
            for (_, kind, ref_id) in &changes {
                match kind.as_str() {
                    "article" => {
                        let Some((slug, locale)) = ref_id.split_once('/') else { continue };
                        match conn.texts().published_one(slug, locale).await? {
                            Some(r) => upserts.push(article_doc(&r)),
                            None => removals.push(format!("a:{ref_id}")),
                        }
                    }
                    "message" | "case" => {
                        let found = conn.texts().messages_of(kind, ref_id).await?;
                        if found.is_empty() && kind == "message" {
                            removals.push(format!("m:{ref_id}"));
                        }
                        upserts.extend(found.iter().map(message_doc));
                    }
                    _ => {}
                }
            }
            drop(conn);
            let marker = self.marker(last);
            self.index
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .apply(&upserts, &removals, marker.as_deref())
                .map_err(index_err)?;
            *self.seq.lock().unwrap_or_else(|e| e.into_inner()) = last;
            applied += changes.len();
        }
    }

    /// The best `limit` hits for `query` within `filter`, once the first build is complete (a
    /// process answers while it builds its index at start; searches wait the moment it takes).
    pub async fn query(&self, query: &str, filter: &Filter, limit: usize) -> Result<Vec<Hit>, ServiceError> {
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|r| *r).await;
        self.index.read().unwrap_or_else(|e| e.into_inner()).search(query, filter, limit).map_err(index_err)
    }

    /// Documents indexed.
    pub fn len(&self) -> u64 {
        self.index.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The name of this database for search markers, made once.
async fn database_id(db: &Db) -> Result<String, ServiceError> {
    let mut tx = db.begin_write().await?;
    let id = match tx.staff().setting(DATABASE_ID).await? {
        Some(id) => id,
        None => {
            let id = crate::random_hex(16);
            tx.staff().set_setting(DATABASE_ID, &id, crate::now_ms()).await?;
            id
        }
    };
    tx.commit().await.map_err(StoreError::from)?;
    Ok(id)
}

/// Asks every running process to rebuild its index (after `thaw reindex`).
pub async fn request_rebuild(db: &Db, now_ms: i64) -> Result<(), ServiceError> {
    let mut conn = db.conn().await?;
    conn.texts().changed("rebuild", "", now_ms).await?;
    Ok(())
}

/// Records a search for analytics (top searched terms): the text after the secret guard, at
/// most 200 characters, and how many results it found. Recording never fails the search.
pub async fn record_search(db: &Db, surface: &str, locale: &str, query: &str, results: usize, now_ms: i64) {
    let text: String = crate::guard::screen(query.trim()).text.chars().take(200).collect();
    if text.is_empty() {
        return;
    }
    let logged = async {
        let mut conn = db.conn().await?;
        conn.texts().log_search(&crate::new_id(), now_ms, surface, locale, &text, results as i64).await
    };
    if let Err(e) = logged.await {
        tracing::warn!(error = %e, "a search was not recorded for analytics");
    }
}

/// Records that articles were shown (in results, the assistant's answers, or opened), for the
/// analytics of most shown articles.
pub async fn record_shown(db: &Db, surface: &str, slugs: &[&str], now_ms: i64) {
    let logged = async {
        let mut conn = db.conn().await?;
        for slug in slugs {
            conn.texts().log_article_shown(&crate::new_id(), now_ms, slug, surface).await?;
        }
        Ok::<_, thaw_store::StoreError>(())
    };
    if let Err(e) = logged.await {
        tracing::warn!(error = %e, "articles shown were not recorded for analytics");
    }
}
