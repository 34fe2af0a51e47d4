//! Searchable text and what learns from it: knowledge-base revisions, the change feed the
//! search index of every process follows, case messages for indexing, trained triage models
//! with agents' corrections, the bot's conversations, and the searches and articles shown that
//! analytics counts.

use crate::Result;
use sqlx::Row;
use sqlx::any::AnyRow;

pub struct Texts<'c>(pub(crate) &'c mut sqlx::AnyConnection);

/// One saved version of an article in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct KbRevision {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub revision: i64,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub action: Option<String>,
    /// draft | published
    pub state: String,
    pub author: String,
    pub created_at_ms: i64,
}

/// A message as the search index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedMessage {
    pub id: String,
    pub case_id: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub internal: bool,
}

/// A conversation with the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct BotSession {
    pub id: String,
    pub account_id: String,
    pub locale: String,
    /// JSON array of {who: holder|bot, text, at}.
    pub transcript: String,
    pub predicted: Option<String>,
    pub confidence: Option<String>,
    /// open | solved | handed_over
    pub outcome: String,
    pub case_id: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const REVISION_COLUMNS: &str =
    "id, slug, locale, revision, title, body, tags, categories, action, state, author, created_at";

fn list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect()
}

fn revision(r: &AnyRow) -> Result<KbRevision> {
    Ok(KbRevision {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        locale: r.try_get("locale")?,
        revision: r.try_get("revision")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        tags: list(&r.try_get::<String, _>("tags")?),
        categories: list(&r.try_get::<String, _>("categories")?),
        action: r.try_get("action")?,
        state: r.try_get("state")?,
        author: r.try_get("author")?,
        created_at_ms: r.try_get("created_at")?,
    })
}

fn bot_session(r: &AnyRow) -> Result<BotSession> {
    Ok(BotSession {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        locale: r.try_get("locale")?,
        transcript: r.try_get("transcript")?,
        predicted: r.try_get("predicted")?,
        confidence: r.try_get("confidence")?,
        outcome: r.try_get("outcome")?,
        case_id: r.try_get("case_id")?,
        created_at_ms: r.try_get("created_at")?,
        updated_at_ms: r.try_get("updated_at")?,
    })
}

impl Texts<'_> {
    // ---- knowledge base ------------------------------------------------------------------

    /// Stores a new revision (its number one above the newest of that slug and locale, which
    /// the caller sets); false when that number was taken meanwhile.
    pub async fn add_revision(&mut self, r: &KbRevision) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO kb_revisions (id, slug, locale, revision, title, body, tags, categories, action, state, author, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (slug, locale, revision) DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.slug)
        .bind(&r.locale)
        .bind(r.revision)
        .bind(&r.title)
        .bind(&r.body)
        .bind(r.tags.join(","))
        .bind(r.categories.join(","))
        .bind(r.action.clone())
        .bind(&r.state)
        .bind(&r.author)
        .bind(r.created_at_ms)
        .execute(&mut *self.0)
        .await?;
        if done.rows_affected() == 1 {
            let key = format!("{}/{}", r.slug, r.locale);
            let change = crate::audit::Change {
                action: "article.revision_added",
                subject_type: "article",
                subject_id: &key,
                after: Some(serde_json::json!({ "revision": r.revision, "state": r.state, "title": r.title })),
                at_ms: r.created_at_ms,
                actor: Some(&r.author),
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
            self.changed("article", &key, r.created_at_ms).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Marks a draft revision published.
    pub async fn publish_revision(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE kb_revisions SET state = 'published' WHERE id = $1 AND state = 'draft'")
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        if done.rows_affected() == 1 {
            let row = sqlx::query("SELECT slug, locale FROM kb_revisions WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.0)
                .await?;
            let key = format!("{}/{}", row.try_get::<String, _>("slug")?, row.try_get::<String, _>("locale")?);
            let change = crate::audit::Change {
                action: "article.published",
                subject_type: "article",
                subject_id: &key,
                before: Some(serde_json::json!({ "state": "draft", "revision_id": id })),
                after: Some(serde_json::json!({ "state": "published", "revision_id": id })),
                at_ms: now_ms,
                ..Default::default()
            };
            crate::audit::record(self.0, change).await?;
            self.changed("article", &key, now_ms).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Every revision of an article in one language, newest first.
    pub async fn revisions(&mut self, slug: &str, locale: &str) -> Result<Vec<KbRevision>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE slug = $1 AND locale = $2 ORDER BY revision DESC"
        )))
        .bind(slug)
        .bind(locale)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(revision).collect()
    }

    /// The newest revision of every article in every language (drafts included), by slug.
    pub async fn latest_revisions(&mut self) -> Result<Vec<KbRevision>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REVISION_COLUMNS} FROM kb_revisions r WHERE revision =
               (SELECT MAX(revision) FROM kb_revisions x WHERE x.slug = r.slug AND x.locale = r.locale)
             ORDER BY slug, locale"
        )))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(revision).collect()
    }

    /// The newest published revision of every article in every language, by slug.
    pub async fn published(&mut self) -> Result<Vec<KbRevision>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REVISION_COLUMNS} FROM kb_revisions r WHERE state = 'published' AND revision =
               (SELECT MAX(revision) FROM kb_revisions x WHERE x.slug = r.slug AND x.locale = r.locale AND x.state = 'published')
             ORDER BY slug, locale"
        )))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(revision).collect()
    }

    /// The newest published revision of one article.
    pub async fn published_one(&mut self, slug: &str, locale: &str) -> Result<Option<KbRevision>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE slug = $1 AND locale = $2 AND state = 'published'
             ORDER BY revision DESC LIMIT 1"
        )))
        .bind(slug)
        .bind(locale)
        .fetch_optional(&mut *self.0)
        .await?;
        row.as_ref().map(revision).transpose()
    }

    // ---- the change feed ------------------------------------------------------------------

    /// Records that searchable text changed (kind article | message | case).
    pub async fn changed(&mut self, kind: &str, ref_id: &str, now_ms: i64) -> Result<()> {
        sqlx::query("INSERT INTO text_changes (kind, ref_id, at) VALUES ($1, $2, $3)")
            .bind(kind)
            .bind(ref_id)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Changes after `seq`, oldest first: (seq, kind, ref id).
    pub async fn changes_since(&mut self, seq: i64, limit: i64) -> Result<Vec<(i64, String, String)>> {
        let rows = sqlx::query("SELECT seq, kind, ref_id FROM text_changes WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(seq)
            .bind(limit)
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("kind")?, r.try_get("ref_id")?))).collect()
    }

    /// The newest change's number (0 when none).
    pub async fn last_change(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM text_changes").fetch_one(&mut *self.0).await?;
        Ok(row.try_get("seq")?)
    }

    /// Forgets changes older than `before_ms` (an index that fell that far behind rebuilds).
    pub async fn prune_changes(&mut self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM text_changes WHERE at < $1").bind(before_ms).execute(&mut *self.0).await?;
        Ok(done.rows_affected())
    }

    // ---- messages for the index -------------------------------------------------------------

    const MESSAGE_SQL: &'static str = "SELECT m.id, m.case_id, c.language, c.subject, m.body, m.visibility
         FROM case_messages m JOIN cases c ON c.id = m.case_id";

    fn message(r: &AnyRow) -> Result<IndexedMessage> {
        Ok(IndexedMessage {
            id: r.try_get("id")?,
            case_id: r.try_get("case_id")?,
            language: r.try_get("language")?,
            subject: r.try_get("subject")?,
            body: r.try_get("body")?,
            internal: r.try_get::<String, _>("visibility")? == "internal",
        })
    }

    /// Messages after `after_id` in id order (ids are time-ordered), `limit` at a time.
    pub async fn messages_page(&mut self, after_id: &str, limit: i64) -> Result<Vec<IndexedMessage>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE m.id > $1 ORDER BY m.id LIMIT $2", Self::MESSAGE_SQL)))
                .bind(after_id)
                .bind(limit)
                .fetch_all(&mut *self.0)
                .await?;
        rows.iter().map(Self::message).collect()
    }

    /// One message, or every message of a case.
    pub async fn messages_of(&mut self, kind: &str, ref_id: &str) -> Result<Vec<IndexedMessage>> {
        let column = if kind == "case" { "m.case_id" } else { "m.id" };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE {column} = $1", Self::MESSAGE_SQL)))
            .bind(ref_id)
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter().map(Self::message).collect()
    }

    /// How many messages there are (for progress).
    pub async fn message_count(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM case_messages").fetch_one(&mut *self.0).await?;
        Ok(row.try_get("n")?)
    }

    // ---- triage -----------------------------------------------------------------------------

    pub async fn save_model(&mut self, id: &str, examples: i64, model_base64: &str, now_ms: i64) -> Result<()> {
        sqlx::query("INSERT INTO triage_models (id, examples, model, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(examples)
            .bind(model_base64)
            .bind(now_ms)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// The newest trained model: (id, base64 of its bytes).
    pub async fn latest_model(&mut self) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT id, model FROM triage_models ORDER BY created_at DESC, id DESC LIMIT 1")
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("model")?))).transpose()
    }

    /// Records (or replaces) staff's correction of a case's category.
    pub async fn save_correction(
        &mut self,
        case_id: &str,
        text: &str,
        predicted: Option<&str>,
        category: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO triage_corrections (case_id, text, predicted, category, corrected_by, corrected_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (case_id) DO UPDATE SET category = excluded.category, corrected_by = excluded.corrected_by,
                 corrected_at = excluded.corrected_at",
        )
        .bind(case_id)
        .bind(text)
        .bind(predicted.map(String::from))
        .bind(category)
        .bind(by)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Every correction: (text, category).
    pub async fn corrections(&mut self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT text, category FROM triage_corrections ORDER BY corrected_at")
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("text")?, r.try_get("category")?))).collect()
    }

    // ---- the bot ----------------------------------------------------------------------------

    pub async fn save_bot_session(&mut self, s: &BotSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO bot_sessions (id, account_id, locale, transcript, predicted, confidence, outcome, case_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET transcript = excluded.transcript, predicted = excluded.predicted,
                 confidence = excluded.confidence, outcome = excluded.outcome, case_id = excluded.case_id,
                 updated_at = excluded.updated_at",
        )
        .bind(&s.id)
        .bind(&s.account_id)
        .bind(&s.locale)
        .bind(&s.transcript)
        .bind(s.predicted.clone())
        .bind(s.confidence.clone())
        .bind(&s.outcome)
        .bind(s.case_id.clone())
        .bind(s.created_at_ms)
        .bind(s.updated_at_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn bot_session(&mut self, id: &str) -> Result<Option<BotSession>> {
        let row = sqlx::query("SELECT * FROM bot_sessions WHERE id = $1").bind(id).fetch_optional(&mut *self.0).await?;
        row.as_ref().map(bot_session).transpose()
    }

    /// Conversations by outcome since `since_ms`: (outcome, count).
    pub async fn bot_outcomes(&mut self, since_ms: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT outcome, COUNT(*) AS n FROM bot_sessions WHERE created_at >= $1 GROUP BY outcome ORDER BY outcome",
        )
        .bind(since_ms)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("outcome")?, r.try_get("n")?))).collect()
    }

    // ---- what analytics counts -------------------------------------------------------------

    /// Records a search (its text after the secret guard) on `surface` (help, desk, …) and how
    /// many results it found.
    pub async fn log_search(
        &mut self,
        id: &str,
        at_ms: i64,
        surface: &str,
        locale: &str,
        query: &str,
        results: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO search_log (id, at, surface, locale, query, results) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(at_ms)
            .bind(surface)
            .bind(locale)
            .bind(query)
            .bind(results)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Records that article `slug` was shown on `surface` (help, bot, …).
    pub async fn log_article_shown(&mut self, id: &str, at_ms: i64, slug: &str, surface: &str) -> Result<()> {
        sqlx::query("INSERT INTO article_shows (id, at, slug, surface) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(at_ms)
            .bind(slug)
            .bind(surface)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }
}
