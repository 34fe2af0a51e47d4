//! The raw facts analytics are computed from, read straight from the business tables (never
//! from stored counters): cases, ratings, assistant conversations, holds, searches and articles
//! shown, each within a period `[from_ms, to_ms)`.

use crate::Result;
use sqlx::{AnyConnection, Row};

pub struct Analytics<'c>(pub(crate) &'c mut AnyConnection);

/// What analytics needs of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFact {
    pub id: String,
    pub category: String,
    pub channel: String,
    pub status: String,
    pub created_at_ms: i64,
    pub first_response_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    /// Target codes whose deadline passed.
    pub breached: Vec<String>,
    pub assignee_id: Option<String>,
    /// The assignee's team ('' without one).
    pub team: String,
    /// Whether it was linked as a repeat contact of an earlier case.
    pub repeat: bool,
}

/// A rating with the case's category and the agent it rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingFact {
    pub score: i64,
    pub category: String,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub team: String,
}

/// A hold that ended (released or expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldFact {
    /// JSON of the release policy, `{"kind": "owner", …}`.
    pub release_policy: String,
    pub status: String,
    pub released_by: Option<String>,
    pub created_at_ms: i64,
    pub released_at_ms: Option<i64>,
}

const CASE_FACT: &str = "SELECT c.id, c.category, c.channel, c.status, c.created_at, c.first_response_at, c.resolved_at,
        c.breached, c.assignee_id, COALESCE(s.team, '') AS team,
        CASE WHEN EXISTS (SELECT 1 FROM case_context x WHERE x.case_id = c.id AND x.kind = 'repeat_of') THEN 1 ELSE 0 END AS is_repeat
     FROM cases c LEFT JOIN staff s ON s.id = c.assignee_id";

impl Analytics<'_> {
    /// Cases opened in the period.
    pub async fn cases_opened(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<CaseFact>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CASE_FACT} WHERE c.created_at >= $1 AND c.created_at < $2 ORDER BY c.created_at"
        )))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(case_fact).collect()
    }

    /// Cases not resolved or closed now (the backlog), whenever they were opened.
    pub async fn open_cases(&mut self) -> Result<Vec<CaseFact>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CASE_FACT} WHERE c.status NOT IN ('resolved', 'closed') ORDER BY c.created_at"
        )))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(case_fact).collect()
    }

    /// Ratings given in the period.
    pub async fn ratings(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<RatingFact>> {
        let rows = sqlx::query(
            "SELECT r.score, c.category, c.assignee_id, s.display_name, COALESCE(s.team, '') AS team
             FROM case_ratings r JOIN cases c ON c.id = r.case_id LEFT JOIN staff s ON s.id = c.assignee_id
             WHERE r.created_at >= $1 AND r.created_at < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RatingFact {
                    score: r.try_get("score")?,
                    category: r.try_get("category")?,
                    agent_id: r.try_get("assignee_id")?,
                    agent_name: r.try_get("display_name")?,
                    team: r.try_get("team")?,
                })
            })
            .collect()
    }

    /// Assistant conversations started in the period: (outcome, predicted category).
    pub async fn bot_sessions(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<(String, Option<String>)>> {
        let rows =
            sqlx::query("SELECT outcome, predicted FROM bot_sessions WHERE created_at >= $1 AND created_at < $2")
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(&mut *self.0)
                .await?;
        rows.iter().map(|r| Ok((r.try_get("outcome")?, r.try_get("predicted")?))).collect()
    }

    /// Holds that ended in the period (released or expired).
    pub async fn holds_ended(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<HoldFact>> {
        let rows = sqlx::query(
            "SELECT release_policy, status, released_by, created_at, released_at FROM holds
             WHERE status IN ('released', 'expired') AND released_at >= $1 AND released_at < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HoldFact {
                    release_policy: r.try_get("release_policy")?,
                    status: r.try_get("status")?,
                    released_by: r.try_get("released_by")?,
                    created_at_ms: r.try_get("created_at")?,
                    released_at_ms: r.try_get("released_at")?,
                })
            })
            .collect()
    }

    /// The most searched terms (lower-cased): (term, searches, searches without results).
    pub async fn top_searches(&mut self, from_ms: i64, to_ms: i64, limit: i64) -> Result<Vec<(String, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT LOWER(query) AS term, COUNT(*) AS n, SUM(CASE WHEN results = 0 THEN 1 ELSE 0 END) AS empty
             FROM search_log WHERE at >= $1 AND at < $2 GROUP BY LOWER(query) ORDER BY n DESC, term LIMIT $3",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("term")?, r.try_get("n")?, r.try_get("empty")?))).collect()
    }

    /// The most shown articles: (slug, times shown).
    pub async fn top_articles(&mut self, from_ms: i64, to_ms: i64, limit: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT slug, COUNT(*) AS n FROM article_shows WHERE at >= $1 AND at < $2
             GROUP BY slug ORDER BY n DESC, slug LIMIT $3",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("slug")?, r.try_get("n")?))).collect()
    }

    /// The teams staff belong to.
    pub async fn teams(&mut self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT team FROM staff WHERE team <> '' ORDER BY team")
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("team")?)).collect()
    }
}

fn case_fact(r: &sqlx::any::AnyRow) -> Result<CaseFact> {
    let breached: String = r.try_get("breached")?;
    Ok(CaseFact {
        id: r.try_get("id")?,
        category: r.try_get("category")?,
        channel: r.try_get("channel")?,
        status: r.try_get("status")?,
        created_at_ms: r.try_get("created_at")?,
        first_response_at_ms: r.try_get("first_response_at")?,
        resolved_at_ms: r.try_get("resolved_at")?,
        breached: serde_json::from_str(&breached).unwrap_or_default(),
        assignee_id: r.try_get("assignee_id")?,
        team: r.try_get("team")?,
        repeat: r.try_get::<i64, _>("is_repeat")? == 1,
    })
}
