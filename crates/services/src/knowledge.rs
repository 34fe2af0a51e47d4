//! The knowledge base: articles in zh-CN and en (title, Markdown body, tags, categories, an
//! optional self-service action), each change a revision — drafts that staff edit in the desk and
//! published versions that holders read. The articles thaw ships are added on start when missing.

use crate::{ServiceError, new_id};
use thaw_domain::{CaseCategory, Invalid};
use thaw_store::{Capabilities, Db, KbRevision, StoreError};

include!(concat!(env!("OUT_DIR"), "/kb_files.rs"));

/// Self-service actions an article may lead to.
pub const ACTIONS: [&str; 2] = ["self_thaw", "self_freeze"];
pub const LOCALES: [&str; 2] = ["zh-CN", "en"];
const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 50_000;

/// What an editor submits (or a shipped file holds).
#[derive(Debug, Clone, Default)]
pub struct ArticleInput {
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub body: String,
    /// Comma-separated.
    pub tags: String,
    pub categories: String,
    pub action: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    action: Option<String>,
}

/// A shipped file: `+++` TOML front matter `+++` then Markdown.
pub fn parse_file(slug: &str, locale: &str, src: &str) -> Result<ArticleInput, String> {
    let rest = src.strip_prefix("+++").ok_or("the file must start with +++ front matter")?;
    let (front, body) = rest.split_once("\n+++").ok_or("the front matter must end with a +++ line")?;
    let fm: FrontMatter = toml::from_str(front).map_err(|e| e.message().to_string())?;
    Ok(ArticleInput {
        slug: slug.into(),
        locale: locale.into(),
        title: fm.title,
        body: body.trim_start_matches(['\r', '\n']).to_string(),
        tags: fm.tags.join(","),
        categories: fm.categories.join(","),
        action: fm.action.unwrap_or_default(),
    })
}

fn split(s: &str) -> Vec<String> {
    s.split([',', '，']).map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect()
}

/// Checks an article; every mistake names its field.
pub fn validate(a: &ArticleInput) -> Result<ArticleInput, Invalid> {
    let slug = a.slug.trim().to_ascii_lowercase();
    if slug.is_empty()
        || slug.len() > 80
        || !slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || slug.starts_with('-')
    {
        return Err(Invalid::new(
            "slug",
            "invalid_slug",
            "slug: lowercase letters, digits and hyphens (e.g. freeze-your-account)",
        ));
    }
    if !LOCALES.contains(&a.locale.as_str()) {
        return Err(Invalid::new("locale", "invalid_locale", "locale: zh-CN or en"));
    }
    let title = a.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(Invalid::new("title", "invalid_title", format!("title: 1 to {MAX_TITLE} characters")));
    }
    if a.body.trim().is_empty() || a.body.chars().count() > MAX_BODY {
        return Err(Invalid::new("body", "invalid_body", format!("body: 1 to {MAX_BODY} characters of Markdown")));
    }
    let tags = split(&a.tags);
    if tags.len() > 10 || tags.iter().any(|t| t.chars().count() > 40) {
        return Err(Invalid::new("tags", "invalid_tags", "tags: at most 10, each up to 40 characters"));
    }
    let categories = split(&a.categories);
    if let Some(bad) = categories.iter().find(|c| CaseCategory::parse(c).is_none()) {
        let all: Vec<_> = CaseCategory::ALL.iter().map(|c| c.code()).collect();
        return Err(Invalid::new(
            "categories",
            "invalid_category",
            format!("categories: unknown '{bad}'; one of {}", all.join(", ")),
        ));
    }
    let action = a.action.trim();
    if !action.is_empty() && !ACTIONS.contains(&action) {
        return Err(Invalid::new("action", "invalid_action", "action: self_thaw, self_freeze or none"));
    }
    Ok(ArticleInput {
        slug,
        locale: a.locale.clone(),
        title: title.into(),
        body: a.body.replace("\r\n", "\n"),
        tags: tags.join(","),
        categories: categories.join(","),
        action: action.into(),
    })
}

fn revision_of(a: &ArticleInput, revision: i64, state: &str, author: &str, now_ms: i64) -> KbRevision {
    KbRevision {
        id: new_id(),
        slug: a.slug.clone(),
        locale: a.locale.clone(),
        revision,
        title: a.title.clone(),
        body: a.body.clone(),
        tags: split(&a.tags),
        categories: split(&a.categories),
        action: Some(a.action.clone()).filter(|x| !x.is_empty()),
        state: state.into(),
        author: author.into(),
        created_at_ms: now_ms,
    }
}

/// Stores `a` as the next revision of its article.
async fn add_revision(
    db: &Db,
    a: &ArticleInput,
    state: &str,
    author: &str,
    now_ms: i64,
) -> Result<KbRevision, ServiceError> {
    let a = validate(a)?;
    for _ in 0..5 {
        let mut tx = db.begin_write().await?;
        let latest = tx.texts().revisions(&a.slug, &a.locale).await?.first().map(|r| r.revision).unwrap_or(0);
        let r = revision_of(&a, latest + 1, state, author, now_ms);
        if tx.texts().add_revision(&r).await? {
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(r);
        }
        tx.rollback().await.map_err(StoreError::from)?;
    }
    Err(ServiceError::Conflict {
        code: "article_busy",
        message: "the article is being saved by someone else; try again".into(),
    })
}

/// Saves a draft (holders keep reading the published version).
pub async fn save_draft(db: &Db, author: &str, a: &ArticleInput, now_ms: i64) -> Result<KbRevision, ServiceError> {
    add_revision(db, a, "draft", author, now_ms).await
}

/// Saves and publishes at once.
pub async fn save_published(db: &Db, author: &str, a: &ArticleInput, now_ms: i64) -> Result<KbRevision, ServiceError> {
    add_revision(db, a, "published", author, now_ms).await
}

/// Publishes the newest draft of an article.
pub async fn publish(db: &Db, slug: &str, locale: &str, now_ms: i64) -> Result<KbRevision, ServiceError> {
    let mut tx = db.begin_write().await?;
    let newest =
        tx.texts().revisions(slug, locale).await?.into_iter().next().ok_or(ServiceError::NotFound("article"))?;
    if newest.state != "draft" {
        return Err(ServiceError::Conflict {
            code: "nothing_to_publish",
            message: "the newest version is already published".into(),
        });
    }
    tx.texts().publish_revision(&newest.id, now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(KbRevision { state: "published".into(), ..newest })
}

/// Adds the shipped articles that are missing (by slug and locale); returns how many.
pub async fn seed_shipped(db: &Db, now_ms: i64) -> Result<usize, ServiceError> {
    let existing: std::collections::HashSet<(String, String)> = {
        let mut conn = db.conn().await?;
        conn.texts().latest_revisions().await?.into_iter().map(|r| (r.slug, r.locale)).collect()
    };
    let mut added = 0;
    for (locale, slug, src) in SHIPPED {
        if existing.contains(&(slug.to_string(), locale.to_string())) {
            continue;
        }
        let a = parse_file(slug, locale, src).map_err(|e| {
            ServiceError::Invalid(Invalid::new(
                "kb",
                "invalid_article",
                format!("shipped article {locale}/{slug}: {e}"),
            ))
        })?;
        // Revision 1 or nothing: several processes starting at once add each article once.
        let r = revision_of(&validate(&a)?, 1, "published", "thaw", now_ms);
        let mut tx = db.begin_write().await?;
        if tx.texts().add_revision(&r).await? {
            tx.commit().await.map_err(thaw_store::StoreError::from)?;
            added += 1;
        }
    }
    Ok(added)
}

/// A published article as holders read it.
#[derive(Debug, Clone)]
pub struct Article {
    pub slug: String,
    pub locale: String,
    pub title: String,
    /// Safe HTML of the Markdown body.
    pub html: String,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub action: Option<String>,
    pub revision: i64,
    pub updated_at_ms: i64,
}

impl From<KbRevision> for Article {
    fn from(r: KbRevision) -> Article {
        Article {
            html: thaw_text::markdown::to_html(&r.body),
            slug: r.slug,
            locale: r.locale,
            title: r.title,
            tags: r.tags,
            categories: r.categories,
            action: r.action,
            revision: r.revision,
            updated_at_ms: r.created_at_ms,
        }
    }
}

/// The published article, in `locale` or else in the other language.
pub async fn article(db: &Db, slug: &str, locale: &str) -> Result<Option<Article>, ServiceError> {
    let mut conn = db.conn().await?;
    if let Some(r) = conn.texts().published_one(slug, locale).await? {
        return Ok(Some(r.into()));
    }
    for other in LOCALES.iter().filter(|l| **l != locale) {
        if let Some(r) = conn.texts().published_one(slug, other).await? {
            return Ok(Some(r.into()));
        }
    }
    Ok(None)
}

/// Published articles in `locale`, by title.
pub async fn published(db: &Db, locale: &str) -> Result<Vec<KbRevision>, ServiceError> {
    let mut conn = db.conn().await?;
    let mut list: Vec<_> = conn.texts().published().await?.into_iter().filter(|r| r.locale == locale).collect();
    list.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_article_parses_validates_and_has_both_languages() {
        let mut en = std::collections::BTreeSet::new();
        let mut zh = std::collections::BTreeSet::new();
        for (locale, slug, src) in SHIPPED {
            let a = parse_file(slug, locale, src).unwrap_or_else(|e| panic!("{locale}/{slug}: {e}"));
            validate(&a).unwrap_or_else(|e| panic!("{locale}/{slug}: {}", e.message));
            if *locale == "en" {
                en.insert(*slug)
            } else {
                zh.insert(*slug)
            };
        }
        assert!(en.len() >= 30, "at least 30 articles per language, {} in en", en.len());
        assert_eq!(en, zh, "every article in both languages");
    }

    #[test]
    fn mistakes_name_their_field() {
        let ok = ArticleInput {
            slug: "a-b".into(),
            locale: "en".into(),
            title: "T".into(),
            body: "B".into(),
            ..Default::default()
        };
        assert!(validate(&ok).is_ok());
        for (bad, field) in [
            (ArticleInput { slug: "A B".into(), ..ok.clone() }, "slug"),
            (ArticleInput { locale: "fr".into(), ..ok.clone() }, "locale"),
            (ArticleInput { title: " ".into(), ..ok.clone() }, "title"),
            (ArticleInput { body: "x".repeat(MAX_BODY + 1), ..ok.clone() }, "body"),
            (ArticleInput { categories: "asset_freeze, nope".into(), ..ok.clone() }, "categories"),
            (ArticleInput { action: "delete_account".into(), ..ok.clone() }, "action"),
        ] {
            assert_eq!(validate(&bad).unwrap_err().field, field);
        }
    }
}
