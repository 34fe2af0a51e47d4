//! Search for this process: the in-memory index of published articles and case messages, built
//! from the database at start and kept current by following `text_changes` (every process does
//! the same, so each answers from its own index). `rebuild` posts a change that makes every
//! running process rebuild too.

use crate::ServiceError;
use std::sync::{Mutex, RwLock};
use thaw_store::{Capabilities, Db, IndexedMessage, KbRevision};
use thaw_text::search::{Doc, DocKind, Filter, Hit, SearchIndex};

/// Messages read from the database at a time.
const PAGE: i64 = 1000;

pub struct Search {
    /// Read-locked to search and to apply changes (the index serialises its own writes);
    /// write-locked only to swap in a rebuilt index.
    index: RwLock<SearchIndex>,
    /// The last change applied.
    seq: Mutex<i64>,
    /// Whether the first build is complete (searches wait for it).
    ready: tokio::sync::watch::Sender<bool>,
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

impl Search {
    /// An empty index; `rebuild` fills it.
    pub fn new() -> Result<Search, ServiceError> {
        let (ready, _) = tokio::sync::watch::channel(false);
        Ok(Search { index: RwLock::new(SearchIndex::new().map_err(index_err)?), seq: Mutex::new(0), ready })
    }

    /// Builds the index from scratch (articles, then messages `PAGE` at a time), telling
    /// `progress` (done, total documents); returns how many documents it holds. Searches keep
    /// using the old index until the new one is complete.
    pub async fn rebuild(&self, db: &Db, mut progress: impl FnMut(u64, u64)) -> Result<u64, ServiceError> {
        let fresh = SearchIndex::new().map_err(index_err)?;
        let mut conn = db.conn().await?;
        // Changes from here on are applied afterwards, so nothing written meanwhile is missed.
        let seq = conn.texts().last_change().await?;
        let articles = conn.texts().published().await?;
        let total = articles.len() as u64 + conn.texts().message_count().await? as u64;
        let docs: Vec<Doc> = articles.iter().map(article_doc).collect();
        fresh.upsert(&docs).map_err(index_err)?;
        let mut done = docs.len() as u64;
        progress(done, total);
        let mut after = String::new();
        loop {
            let page = conn.texts().messages_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            let docs: Vec<Doc> = page.iter().map(message_doc).collect();
            fresh.upsert(&docs).map_err(index_err)?;
            done += docs.len() as u64;
            progress(done.min(total), total);
        }
        drop(conn);
        let count = fresh.len();
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        *self.seq.lock().unwrap_or_else(|e| e.into_inner()) = seq;
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
            {
                let index = self.index.read().unwrap_or_else(|e| e.into_inner());
                if !removals.is_empty() {
                    index.remove(&removals).map_err(index_err)?;
                }
                if !upserts.is_empty() {
                    index.upsert(&upserts).map_err(index_err)?;
                }
            }
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
