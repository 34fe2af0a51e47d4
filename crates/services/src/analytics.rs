//! Analytics for supervisors, computed on request from the business tables (never from stored
//! counters): volume, top issues, SLA attainment, response and resolution times, CSAT, the
//! assistant's deflection, self-service thaws, repeat contacts and the backlog by age.

use crate::ServiceError;
use serde::Serialize;
use std::collections::BTreeMap;
use thaw_domain::{CaseCategory, Invalid};
use thaw_store::analytics::CaseFact;
use thaw_store::{Capabilities, Db};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: f64 = 3_600_000.0;
/// The longest period one report covers.
pub const MAX_DAYS: i64 = 366;

/// What a report covers: whole UTC days `[from, to]`, optionally one category and one team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Midnight UTC of the first day.
    pub from_ms: i64,
    /// Midnight UTC after the last day.
    pub to_ms: i64,
    pub category: Option<CaseCategory>,
    pub team: Option<String>,
}

impl Filter {
    /// The filter from query parameters: `from`/`to` dates (YYYY-MM-DD, UTC, both included;
    /// default the 30 days ending today), `category`, `team`. Errors name the parameter.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        category: Option<&str>,
        team: Option<&str>,
        now_ms: i64,
    ) -> Result<Filter, Invalid> {
        let day = |field: &'static str, v: &str| -> Result<i64, Invalid> {
            let d: jiff::civil::Date = v
                .trim()
                .parse()
                .map_err(|_| Invalid::new(field, "invalid_date", format!("{field} must be a date like 2026-11-01")))?;
            let ts = d
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|_| Invalid::new(field, "invalid_date", format!("{field} is out of range")))?;
            Ok(ts.timestamp().as_millisecond())
        };
        let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
        let to_ms = match to.filter(|s| !s.trim().is_empty()) {
            Some(t) => day("to", t)? + DAY_MS,
            None => today + DAY_MS,
        };
        let from_ms = match from.filter(|s| !s.trim().is_empty()) {
            Some(f) => day("from", f)?,
            None => to_ms - 30 * DAY_MS,
        };
        if from_ms >= to_ms {
            return Err(Invalid::new("from", "invalid_period", "from must not be after to"));
        }
        if to_ms - from_ms > MAX_DAYS * DAY_MS {
            return Err(Invalid::new("to", "period_too_long", format!("a report covers at most {MAX_DAYS} days")));
        }
        let category = match category.map(str::trim).filter(|s| !s.is_empty()) {
            Some(c) => Some(
                CaseCategory::parse(c)
                    .ok_or_else(|| Invalid::new("category", "unknown_category", format!("unknown category {c}")))?,
            ),
            None => None,
        };
        let team = team.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if team.as_ref().is_some_and(|t| t.chars().count() > 64) {
            return Err(Invalid::new("team", "too_long", "team is at most 64 characters"));
        }
        Ok(Filter { from_ms, to_ms, category, team })
    }

    fn keeps_case(&self, c: &CaseFact) -> bool {
        self.category.is_none_or(|k| k.code() == c.category) && self.team.as_ref().is_none_or(|t| *t == c.team)
    }

    /// The days of the period, as `YYYY-MM-DD`.
    pub fn days(&self) -> Vec<String> {
        (0..(self.to_ms - self.from_ms) / DAY_MS).map(|i| date(self.from_ms + i * DAY_MS)).collect()
    }
}

fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// One named row of daily counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailySeries {
    pub name: String,
    pub counts: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    pub days: Vec<String>,
    pub total: i64,
    pub by_category: Vec<DailySeries>,
    pub by_channel: Vec<DailySeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchTerm {
    pub term: String,
    pub searches: i64,
    pub without_results: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopIssues {
    pub categories: Vec<Count>,
    pub search_terms: Vec<SearchTerm>,
    pub articles: Vec<Count>,
}

/// Targets met and missed; `rate` is met / (met + missed), absent without either.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attainment {
    pub met: i64,
    pub missed: i64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sla {
    pub first_response: Attainment,
    pub resolution: Attainment,
}

/// Percentiles by the nearest-rank method, in hours (one decimal).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: i64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Times {
    /// From opening to the first public reply, wall-clock hours.
    pub first_response_hours: Percentiles,
    /// From opening to resolution, wall-clock hours.
    pub resolution_hours: Percentiles,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsatGroup {
    pub name: String,
    pub ratings: i64,
    pub average: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Csat {
    pub ratings: i64,
    pub average: Option<f64>,
    /// How many ratings of 1, 2, 3, 4 and 5.
    pub distribution: [i64; 5],
    pub by_agent: Vec<CsatGroup>,
    pub by_team: Vec<CsatGroup>,
}

/// The assistant, strictly: only conversations the holder said solved their question count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deflection {
    pub conversations: i64,
    pub solved: i64,
    pub handed_over: i64,
    /// Neither (still open or left).
    pub other: i64,
    pub rate: Option<f64>,
}

/// Holds their owners may lift themselves, and how they ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelfService {
    /// Owner-releasable holds that ended in the period.
    pub owner_releasable_ended: i64,
    pub released_by_owner: i64,
    pub rate: Option<f64>,
    /// Median hours from placing to lifting, over every hold released in the period.
    pub median_hours_to_release: Option<f64>,
    /// The same over holds their owners lifted.
    pub median_hours_owner: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepeatContacts {
    pub cases: i64,
    pub repeats: i64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: String,
    /// The last day included.
    pub to: String,
    pub category: Option<String>,
    pub team: Option<String>,
    pub volume: Volume,
    pub top_issues: TopIssues,
    pub sla: Sla,
    pub times: Times,
    pub csat: Csat,
    pub deflection: Deflection,
    pub self_service: SelfService,
    pub repeat_contacts: RepeatContacts,
    /// Open cases now, by age: under 4 h, 4–24 h, 1–3 days, 3–7 days, over 7 days.
    pub backlog: Vec<Count>,
}

/// The sections a report has, as named in `/api/v1/analytics/{section}` and the CSV exports.
pub const SECTIONS: [&str; 9] =
    ["volume", "top_issues", "sla", "times", "csat", "deflection", "self_service", "repeat_contacts", "backlog"];

pub const BACKLOG_BUCKETS: [(&str, i64); 5] =
    [("under_4h", 4), ("4h_to_24h", 24), ("1d_to_3d", 72), ("3d_to_7d", 168), ("over_7d", i64::MAX)];

pub async fn report(db: &Db, f: &Filter, now_ms: i64) -> Result<Report, ServiceError> {
    let mut conn = db.conn().await?;
    let cases: Vec<CaseFact> =
        conn.analytics().cases_opened(f.from_ms, f.to_ms).await?.into_iter().filter(|c| f.keeps_case(c)).collect();
    let open: Vec<CaseFact> = conn.analytics().open_cases().await?.into_iter().filter(|c| f.keeps_case(c)).collect();
    let ratings: Vec<_> = conn
        .analytics()
        .ratings(f.from_ms, f.to_ms)
        .await?
        .into_iter()
        .filter(|r| f.category.is_none_or(|k| k.code() == r.category) && f.team.as_ref().is_none_or(|t| *t == r.team))
        .collect();
    let bot: Vec<_> = conn
        .analytics()
        .bot_sessions(f.from_ms, f.to_ms)
        .await?
        .into_iter()
        .filter(|(_, predicted)| f.category.is_none_or(|k| predicted.as_deref() == Some(k.code())))
        .collect();
    let holds = conn.analytics().holds_ended(f.from_ms, f.to_ms).await?;
    let terms = conn.analytics().top_searches(f.from_ms, f.to_ms, 20).await?;
    let articles = conn.analytics().top_articles(f.from_ms, f.to_ms, 20).await?;
    drop(conn);

    let days = f.days();
    let day_of = |ms: i64| ((ms - f.from_ms) / DAY_MS) as usize;
    let daily = |key: &dyn Fn(&CaseFact) -> String| -> Vec<DailySeries> {
        let mut by: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for c in &cases {
            by.entry(key(c)).or_insert_with(|| vec![0; days.len()])[day_of(c.created_at_ms)] += 1;
        }
        let mut rows: Vec<DailySeries> = by.into_iter().map(|(name, counts)| DailySeries { name, counts }).collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.counts.iter().sum::<i64>()));
        rows
    };
    let volume = Volume {
        days: days.clone(),
        total: cases.len() as i64,
        by_category: daily(&|c| c.category.clone()),
        by_channel: daily(&|c| c.channel.clone()),
    };

    let mut categories: BTreeMap<&str, i64> = BTreeMap::new();
    for c in &cases {
        *categories.entry(&c.category).or_default() += 1;
    }
    let mut categories: Vec<Count> =
        categories.into_iter().map(|(name, count)| Count { name: name.to_string(), count }).collect();
    categories.sort_by_key(|c| std::cmp::Reverse(c.count));
    let top_issues = TopIssues {
        categories,
        search_terms: terms
            .into_iter()
            .map(|(term, searches, without_results)| SearchTerm { term, searches, without_results })
            .collect(),
        articles: articles.into_iter().map(|(name, count)| Count { name, count }).collect(),
    };

    let attainment = |target: &str, done: &dyn Fn(&CaseFact) -> bool| {
        let missed = cases.iter().filter(|c| c.breached.iter().any(|b| b == target)).count() as i64;
        let met = cases.iter().filter(|c| done(c) && !c.breached.iter().any(|b| b == target)).count() as i64;
        Attainment { met, missed, rate: ratio(met, met + missed) }
    };
    let sla = Sla {
        first_response: attainment("first_response", &|c| c.first_response_at_ms.is_some()),
        resolution: attainment("resolution", &|c| c.resolved_at_ms.is_some()),
    };

    let hours = |pick: &dyn Fn(&CaseFact) -> Option<i64>| {
        let values: Vec<f64> =
            cases.iter().filter_map(|c| pick(c).map(|t| (t - c.created_at_ms).max(0) as f64 / HOUR_MS)).collect();
        percentiles(values)
    };
    let times = Times {
        first_response_hours: hours(&|c| c.first_response_at_ms),
        resolution_hours: hours(&|c| c.resolved_at_ms),
    };

    let mut distribution = [0i64; 5];
    for r in &ratings {
        if (1..=5).contains(&r.score) {
            distribution[(r.score - 1) as usize] += 1;
        }
    }
    let group = |key: &dyn Fn(&thaw_store::analytics::RatingFact) -> String| {
        let mut by: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for r in &ratings {
            let e = by.entry(key(r)).or_default();
            e.0 += 1;
            e.1 += r.score;
        }
        by.into_iter()
            .map(|(name, (n, sum))| CsatGroup { name, ratings: n, average: average(sum, n) })
            .collect::<Vec<_>>()
    };
    let csat = Csat {
        ratings: ratings.len() as i64,
        average: average(ratings.iter().map(|r| r.score).sum(), ratings.len() as i64),
        distribution,
        by_agent: group(&|r| r.agent_name.clone().or(r.agent_id.clone()).unwrap_or_else(|| "—".into())),
        by_team: group(&|r| if r.team.is_empty() { "—".into() } else { r.team.clone() }),
    };

    let solved = bot.iter().filter(|(o, _)| o == "solved").count() as i64;
    let handed_over = bot.iter().filter(|(o, _)| o == "handed_over").count() as i64;
    let deflection = Deflection {
        conversations: bot.len() as i64,
        solved,
        handed_over,
        other: bot.len() as i64 - solved - handed_over,
        rate: ratio(solved, bot.len() as i64),
    };

    let owner_kind = |h: &thaw_store::analytics::HoldFact| {
        serde_json::from_str::<serde_json::Value>(&h.release_policy)
            .ok()
            .and_then(|v| v["kind"].as_str().map(String::from))
            == Some("owner".into())
    };
    let by_owner =
        |h: &thaw_store::analytics::HoldFact| h.status == "released" && h.released_by.as_deref() == Some("owner");
    let owner_releasable: Vec<_> = holds.iter().filter(|h| owner_kind(h)).collect();
    let released_by_owner = owner_releasable.iter().filter(|h| by_owner(h)).count() as i64;
    let to_release = |only_owner: bool| {
        let v: Vec<f64> = holds
            .iter()
            .filter(|h| h.status == "released" && (!only_owner || by_owner(h)))
            .filter_map(|h| h.released_at_ms.map(|r| (r - h.created_at_ms).max(0) as f64 / HOUR_MS))
            .collect();
        percentiles(v).p50
    };
    let self_service = SelfService {
        owner_releasable_ended: owner_releasable.len() as i64,
        released_by_owner,
        rate: ratio(released_by_owner, owner_releasable.len() as i64),
        median_hours_to_release: to_release(false),
        median_hours_owner: to_release(true),
    };

    let repeats = cases.iter().filter(|c| c.repeat).count() as i64;
    let repeat_contacts =
        RepeatContacts { cases: cases.len() as i64, repeats, rate: ratio(repeats, cases.len() as i64) };

    let mut backlog: Vec<Count> =
        BACKLOG_BUCKETS.iter().map(|(n, _)| Count { name: n.to_string(), count: 0 }).collect();
    for c in &open {
        let age_h = (now_ms - c.created_at_ms).max(0) / 3_600_000;
        let i = BACKLOG_BUCKETS.iter().position(|(_, upto)| age_h < *upto).unwrap_or(BACKLOG_BUCKETS.len() - 1);
        backlog[i].count += 1;
    }

    Ok(Report {
        from: date(f.from_ms),
        to: date(f.to_ms - DAY_MS),
        category: f.category.map(|c| c.code().to_string()),
        team: f.team.clone(),
        volume,
        top_issues,
        sla,
        times,
        csat,
        deflection,
        self_service,
        repeat_contacts,
        backlog,
    })
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn average(sum: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| (sum as f64 / n as f64 * 100.0).round() / 100.0)
}

/// Nearest-rank percentiles (the smallest value with at least q of the values at or below it).
pub fn percentiles(mut values: Vec<f64>) -> Percentiles {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        Some((values[rank - 1] * 10.0).round() / 10.0)
    };
    Percentiles { count: values.len() as i64, p50: at(0.5), p90: at(0.9), p95: at(0.95) }
}

/// One section of the report as CSV rows (header first).
pub fn section_csv(r: &Report, section: &str) -> Option<String> {
    use crate::audit::csv_row;
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut out = String::new();
    match section {
        "volume" => {
            out.push_str(&csv_row(&["dimension", "name", "day", "cases"]));
            for (dim, rows) in [("category", &r.volume.by_category), ("channel", &r.volume.by_channel)] {
                for s in rows {
                    for (day, n) in r.volume.days.iter().zip(&s.counts) {
                        out.push_str(&csv_row(&[dim, &s.name, day, &n.to_string()]));
                    }
                }
            }
        }
        "top_issues" => {
            out.push_str(&csv_row(&["kind", "name", "count", "without_results"]));
            for c in &r.top_issues.categories {
                out.push_str(&csv_row(&["category", &c.name, &c.count.to_string(), ""]));
            }
            for t in &r.top_issues.search_terms {
                out.push_str(&csv_row(&[
                    "search_term",
                    &t.term,
                    &t.searches.to_string(),
                    &t.without_results.to_string(),
                ]));
            }
            for a in &r.top_issues.articles {
                out.push_str(&csv_row(&["article", &a.name, &a.count.to_string(), ""]));
            }
        }
        "sla" => {
            out.push_str(&csv_row(&["target", "met", "missed", "rate"]));
            for (name, a) in [("first_response", &r.sla.first_response), ("resolution", &r.sla.resolution)] {
                out.push_str(&csv_row(&[name, &a.met.to_string(), &a.missed.to_string(), &opt(a.rate)]));
            }
        }
        "times" => {
            out.push_str(&csv_row(&["measure", "count", "p50_hours", "p90_hours", "p95_hours"]));
            for (name, p) in
                [("first_response", &r.times.first_response_hours), ("resolution", &r.times.resolution_hours)]
            {
                out.push_str(&csv_row(&[name, &p.count.to_string(), &opt(p.p50), &opt(p.p90), &opt(p.p95)]));
            }
        }
        "csat" => {
            out.push_str(&csv_row(&["group", "name", "ratings", "average"]));
            out.push_str(&csv_row(&["all", "", &r.csat.ratings.to_string(), &opt(r.csat.average)]));
            for (i, n) in r.csat.distribution.iter().enumerate() {
                out.push_str(&csv_row(&["score", &(i + 1).to_string(), &n.to_string(), ""]));
            }
            for (group, rows) in [("agent", &r.csat.by_agent), ("team", &r.csat.by_team)] {
                for g in rows {
                    out.push_str(&csv_row(&[group, &g.name, &g.ratings.to_string(), &opt(g.average)]));
                }
            }
        }
        "deflection" => {
            let d = &r.deflection;
            out.push_str(&csv_row(&["conversations", "solved", "handed_over", "other", "rate"]));
            out.push_str(&csv_row(&[
                &d.conversations.to_string(),
                &d.solved.to_string(),
                &d.handed_over.to_string(),
                &d.other.to_string(),
                &opt(d.rate),
            ]));
        }
        "self_service" => {
            let s = &r.self_service;
            out.push_str(&csv_row(&[
                "owner_releasable_ended",
                "released_by_owner",
                "rate",
                "median_hours_to_release",
                "median_hours_owner",
            ]));
            out.push_str(&csv_row(&[
                &s.owner_releasable_ended.to_string(),
                &s.released_by_owner.to_string(),
                &opt(s.rate),
                &opt(s.median_hours_to_release),
                &opt(s.median_hours_owner),
            ]));
        }
        "repeat_contacts" => {
            let c = &r.repeat_contacts;
            out.push_str(&csv_row(&["cases", "repeats", "rate"]));
            out.push_str(&csv_row(&[&c.cases.to_string(), &c.repeats.to_string(), &opt(c.rate)]));
        }
        "backlog" => {
            out.push_str(&csv_row(&["age", "open_cases"]));
            for b in &r.backlog {
                out.push_str(&csv_row(&[&b.name, &b.count.to_string()]));
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = percentiles(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((p.count, p.p50, p.p90, p.p95), (5, Some(3.0), Some(5.0), Some(5.0)));
        let p = percentiles((1..=20).map(f64::from).collect());
        assert_eq!((p.p50, p.p90, p.p95), (Some(10.0), Some(18.0), Some(19.0)));
        assert_eq!(percentiles(vec![]).p50, None);
    }

    #[test]
    fn filters_name_the_bad_parameter() {
        let now = 1_700_000_000_000;
        let f =
            Filter::parse(Some("2026-11-01"), Some("2026-11-03"), Some("asset_freeze"), Some("zh-desk"), now).unwrap();
        assert_eq!(f.days(), ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(Filter::parse(Some("11/01/2026"), None, None, None, now).unwrap_err().field, "from");
        assert_eq!(Filter::parse(Some("2026-11-05"), Some("2026-11-01"), None, None, now).unwrap_err().field, "from");
        assert_eq!(Filter::parse(None, None, Some("refunds"), None, now).unwrap_err().field, "category");
        assert_eq!(Filter::parse(Some("2024-01-01"), Some("2026-01-01"), None, None, now).unwrap_err().field, "to");
        assert_eq!(Filter::parse(None, None, None, None, now).unwrap().days().len(), 30);
    }
}
