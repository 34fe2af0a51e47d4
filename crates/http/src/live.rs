//! Live pages: every change of a case is recorded in the database (`case_changes`); each server
//! process follows that feed — on PostgreSQL by LISTEN on `thaw_cases` (notified when the
//! changing transaction commits), on SQLite by polling the table — and pushes it to the pages
//! open in its browsers as server-sent events. So a page updates without reload also when the
//! change happened in another process.

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::time::Duration;
use thaw_store::{Capabilities, Db};
use tokio::sync::{broadcast, watch};

/// One changed case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub case_id: String,
    pub account_id: String,
}

/// The changes of this process's database, fanned out to open pages.
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Change>,
    /// Turns true when the server shuts down: open streams end, so shutdown does not wait.
    closing: watch::Receiver<bool>,
}

const POLL: Duration = Duration::from_millis(400);

impl Live {
    pub fn new(closing: watch::Receiver<bool>) -> Live {
        let (tx, _) = broadcast::channel(1024);
        Live { tx, closing }
    }

    /// Follows the database's change feed until the server closes.
    pub async fn follow(self, db: Db, postgres_url: Option<String>) {
        let mut closing = self.closing.clone();
        if let Some(url) = postgres_url {
            loop {
                match self.listen(&url, &mut closing).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, "live updates: LISTEN failed; reconnecting"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = closing.changed() => return,
                }
            }
        }
        let mut last = match db.conn().await {
            Ok(mut c) => c.cases().last_change().await.unwrap_or(0),
            Err(_) => 0,
        };
        let mut rounds = 0u64;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = closing.changed() => return,
            }
            let Ok(mut conn) = db.conn().await else { continue };
            match conn.cases().changes_since(last, 500).await {
                Ok(changes) => {
                    for (seq, case_id, account_id) in changes {
                        last = seq;
                        let _ = self.tx.send(Change { case_id, account_id });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "live updates: reading changes failed"),
            }
            rounds += 1;
            // Pages only need the last moments; the table is kept short.
            if rounds.is_multiple_of(1500) {
                let _ = conn.cases().prune_changes(thaw_services::now_ms() - 3_600_000).await;
            }
        }
    }

    async fn listen(&self, url: &str, closing: &mut watch::Receiver<bool>) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen("thaw_cases").await?;
        tracing::info!("live updates: listening on PostgreSQL");
        loop {
            tokio::select! {
                n = listener.recv() => {
                    let n = n?;
                    let (case_id, account_id) = n.payload().split_once(' ').unwrap_or((n.payload(), ""));
                    let _ = self.tx.send(Change { case_id: case_id.into(), account_id: account_id.into() });
                }
                _ = closing.changed() => return Ok(()),
            }
        }
    }

    /// An event stream of the changes `keep` lets through: each event is `change` with the
    /// case id as data (`*` when some were missed: reload).
    pub fn stream<F>(&self, keep: F) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<F>>
    where
        F: Fn(&Change) -> bool + Send + 'static,
    {
        let rx = self.tx.subscribe();
        let closing = self.closing.clone();
        let stream = futures_util::stream::unfold((rx, closing, keep), |(mut rx, mut closing, keep)| async move {
            if *closing.borrow() {
                return None;
            }
            loop {
                tokio::select! {
                    _ = closing.changed() => return None,
                    r = rx.recv() => match r {
                        Ok(c) if keep(&c) => {
                            let e = Event::default().event("change").data(c.case_id);
                            return Some((Ok(e), (rx, closing, keep)));
                        }
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            let e = Event::default().event("change").data("*");
                            return Some((Ok(e), (rx, closing, keep)));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
        Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
    }
}
