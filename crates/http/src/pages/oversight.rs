//! Oversight pages of the desk: analytics with charts and CSV exports (supervisors, admins) and
//! the audit log with search, CSV export and chain verification (supervisors, compliance, admins).

use super::desk_cases::store_err;
use super::{PageError, Shell, render};
use crate::AppState;
use crate::auth::PageCtx;
use crate::auth::StaffCtx;
use crate::charts::{self, Chart, Series};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use thaw_domain::{CaseCategory, Locale, Permission};
use thaw_services::analytics::{self, Filter, Report};
use thaw_services::now_ms;
use thaw_store::Capabilities;
use thaw_store::audit::{Entry, Verdict};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/desk/analytics", get(analytics_page))
        .route("/desk/analytics/{file}", get(analytics_csv))
        .route("/desk/audit", get(audit_page))
        .route("/desk/audit.csv", get(audit_csv))
        .route("/desk/audit/verify", get(audit_verify))
}

#[derive(serde::Deserialize, Default)]
struct AnalyticsParams {
    from: Option<String>,
    to: Option<String>,
    category: Option<String>,
    team: Option<String>,
}

impl AnalyticsParams {
    fn filter(&self) -> Result<Filter, thaw_domain::Invalid> {
        Filter::parse(
            self.from.as_deref(),
            self.to.as_deref(),
            self.category.as_deref(),
            self.team.as_deref(),
            now_ms(),
        )
    }

    fn query_string(&self, r: &Report) -> String {
        let mut q = format!("from={}&to={}", r.from, r.to);
        if let Some(c) = &r.category {
            q.push_str(&format!("&category={c}"));
        }
        if let Some(t) = &r.team {
            q.push_str(&format!("&team={}", crate::auth::url_encode(t)));
        }
        q
    }
}

/// A figure shown as a big number with its label.
pub struct Kpi {
    pub label: &'static str,
    pub value: String,
    pub detail: String,
    pub testid: &'static str,
}

#[derive(Template)]
#[template(path = "desk/analytics.html")]
struct AnalyticsPage {
    shell: Shell,
    from: String,
    to: String,
    category: String,
    team: String,
    categories: Vec<(&'static str, &'static str)>,
    teams: Vec<String>,
    error: Option<String>,
    kpis: Vec<Kpi>,
    /// (title key, section for the CSV link, SVG)
    charts: Vec<(&'static str, &'static str, String)>,
    report: Option<Report>,
    query: String,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1} %", x * 100.0)).unwrap_or_else(|| "—".into())
}

fn hours(v: Option<f64>) -> String {
    v.map(|x| format!("{x} h")).unwrap_or_else(|| "—".into())
}

fn category_label(l: Locale, code: &str) -> String {
    CaseCategory::parse(code).map(|c| c.label(l).to_string()).unwrap_or_else(|| code.to_string())
}

async fn analytics_page(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(p): Query<AnalyticsParams>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAnalytics)?;
    let l = ctx.locale;
    let teams = state.db.conn().await.map_err(store_err(&ctx))?.analytics().teams().await.map_err(store_err(&ctx))?;
    let mut page = AnalyticsPage {
        shell: Shell::new(&ctx, "desk", "analytics"),
        from: p.from.clone().unwrap_or_default(),
        to: p.to.clone().unwrap_or_default(),
        category: p.category.clone().unwrap_or_default(),
        team: p.team.clone().unwrap_or_default(),
        categories: CaseCategory::ALL.iter().map(|c| (c.code(), c.label(l))).collect(),
        teams,
        error: None,
        kpis: vec![],
        charts: vec![],
        report: None,
        query: String::new(),
    };
    let filter = match p.filter() {
        Ok(f) => f,
        Err(e) => {
            page.error = Some(format!("{}: {}", e.field, e.message));
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let r = analytics::report(&state.db, &filter, now_ms()).await.map_err(|e| PageError::from_service(&ctx, e))?;
    page.from = r.from.clone();
    page.to = r.to.clone();
    page.query = p.query_string(&r);
    let t = |k: &'static str| crate::i18n::text(l, k);
    page.kpis = vec![
        Kpi {
            label: t("desk.an.cases"),
            value: r.volume.total.to_string(),
            detail: String::new(),
            testid: "kpi-cases",
        },
        Kpi {
            label: t("desk.an.sla_first"),
            value: pct(r.sla.first_response.rate),
            detail: format!(
                "{} / {}",
                r.sla.first_response.met,
                r.sla.first_response.met + r.sla.first_response.missed
            ),
            testid: "kpi-sla-first",
        },
        Kpi {
            label: t("desk.an.sla_resolution"),
            value: pct(r.sla.resolution.rate),
            detail: format!("{} / {}", r.sla.resolution.met, r.sla.resolution.met + r.sla.resolution.missed),
            testid: "kpi-sla-resolution",
        },
        Kpi {
            label: t("desk.an.first_response_p50"),
            value: hours(r.times.first_response_hours.p50),
            detail: format!("p90 {}", hours(r.times.first_response_hours.p90)),
            testid: "kpi-frt",
        },
        Kpi {
            label: t("desk.an.resolution_p50"),
            value: hours(r.times.resolution_hours.p50),
            detail: format!("p90 {}", hours(r.times.resolution_hours.p90)),
            testid: "kpi-rt",
        },
        Kpi {
            label: t("desk.an.csat"),
            value: r.csat.average.map(|a| format!("{a} / 5")).unwrap_or_else(|| "—".into()),
            detail: format!("{} {}", r.csat.ratings, t("desk.an.ratings")),
            testid: "kpi-csat",
        },
        Kpi {
            label: t("desk.an.deflection"),
            value: pct(r.deflection.rate),
            detail: format!("{} / {}", r.deflection.solved, r.deflection.conversations),
            testid: "kpi-deflection",
        },
        Kpi {
            label: t("desk.an.self_service"),
            value: pct(r.self_service.rate),
            detail: format!("{} {}", t("desk.an.median_release"), hours(r.self_service.median_hours_to_release)),
            testid: "kpi-self-service",
        },
        Kpi {
            label: t("desk.an.repeat"),
            value: pct(r.repeat_contacts.rate),
            detail: format!("{} / {}", r.repeat_contacts.repeats, r.repeat_contacts.cases),
            testid: "kpi-repeat",
        },
    ];
    let daily = |id: &str, title: &str, rows: &[analytics::DailySeries], name: &dyn Fn(&str) -> String| Chart {
        id: id.into(),
        title: title.into(),
        x_labels: r.volume.days.iter().map(|d| d[5..].to_string()).collect(),
        series: rows.iter().map(|s| Series::new(name(&s.name), s.counts.iter().map(|&n| n as f64).collect())).collect(),
        unit: String::new(),
    };
    let channel_label = |c: &str| {
        thaw_domain::case::Channel::parse(c).map(|ch| ch.label(l).to_string()).unwrap_or_else(|| c.to_string())
    };
    let ranked = |rows: Vec<(String, i64)>| rows.into_iter().map(|(n, c)| (n, c as f64)).collect::<Vec<_>>();
    page.charts = vec![
        (
            "desk.an.volume_by_category",
            "volume",
            charts::stacked(&daily("vol-cat", t("desk.an.volume_by_category"), &r.volume.by_category, &|c| {
                category_label(l, c)
            })),
        ),
        (
            "desk.an.volume_by_channel",
            "volume",
            charts::stacked(&daily("vol-chan", t("desk.an.volume_by_channel"), &r.volume.by_channel, &channel_label)),
        ),
        (
            "desk.an.top_categories",
            "top_issues",
            charts::hbars(
                t("desk.an.top_categories"),
                "top-cat",
                &ranked(r.top_issues.categories.iter().map(|c| (category_label(l, &c.name), c.count)).collect()),
                "",
            ),
        ),
        (
            "desk.an.top_searches",
            "top_issues",
            charts::hbars(
                t("desk.an.top_searches"),
                "top-search",
                &ranked(r.top_issues.search_terms.iter().take(10).map(|s| (s.term.clone(), s.searches)).collect()),
                "",
            ),
        ),
        (
            "desk.an.top_articles",
            "top_issues",
            charts::hbars(
                t("desk.an.top_articles"),
                "top-articles",
                &ranked(r.top_issues.articles.iter().take(10).map(|a| (a.name.clone(), a.count)).collect()),
                "",
            ),
        ),
        (
            "desk.an.csat_distribution",
            "csat",
            charts::bars(&Chart {
                id: "csat".into(),
                title: t("desk.an.csat_distribution").into(),
                x_labels: (1..=5).map(|s| format!("{s}★")).collect(),
                series: vec![Series::new(
                    t("desk.an.ratings"),
                    r.csat.distribution.iter().map(|&n| n as f64).collect(),
                )],
                unit: String::new(),
            }),
        ),
        (
            "desk.an.backlog",
            "backlog",
            charts::bars(&Chart {
                id: "backlog".into(),
                title: t("desk.an.backlog").into(),
                x_labels: r.backlog.iter().map(|b| crate::i18n::text(l, backlog_key(&b.name)).to_string()).collect(),
                series: vec![Series::new(t("desk.an.open_cases"), r.backlog.iter().map(|b| b.count as f64).collect())],
                unit: String::new(),
            }),
        ),
    ];
    page.report = Some(r);
    Ok(render(StatusCode::OK, &page))
}

fn backlog_key(bucket: &str) -> &'static str {
    match bucket {
        "under_4h" => "desk.an.age.under_4h",
        "4h_to_24h" => "desk.an.age.4h_to_24h",
        "1d_to_3d" => "desk.an.age.1d_to_3d",
        "3d_to_7d" => "desk.an.age.3d_to_7d",
        _ => "desk.an.age.over_7d",
    }
}

fn csv_response(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        // A byte-order mark, so spreadsheet programs read the Chinese text as UTF-8.
        format!("\u{feff}{body}"),
    )
        .into_response()
}

async fn analytics_csv(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Path(file): Path<String>,
    Query(p): Query<AnalyticsParams>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAnalytics)?;
    let Some(section) = file.strip_suffix(".csv").filter(|s| analytics::SECTIONS.contains(s)) else {
        return Err(PageError::new(&ctx, StatusCode::NOT_FOUND, "error.not_found"));
    };
    let filter = p.filter().map_err(|_| PageError::new(&ctx, StatusCode::UNPROCESSABLE_ENTITY, "error.bad_request"))?;
    let r = analytics::report(&state.db, &filter, now_ms()).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let body = analytics::section_csv(&r, section).unwrap_or_default();
    Ok(csv_response(&format!("thaw-{section}-{}-{}.csv", r.from, r.to), body))
}

#[derive(serde::Deserialize, Default)]
struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    subject_type: Option<String>,
    subject_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before_seq: Option<i64>,
}

impl AuditParams {
    fn query(&self) -> Result<thaw_store::AuditQuery, thaw_domain::Invalid> {
        crate::api::oversight::audit_query(
            self.actor.clone(),
            self.action.clone(),
            self.subject_type.clone(),
            self.subject_id.clone(),
            self.from.as_deref(),
            self.to.as_deref(),
            self.before_seq,
        )
    }
}

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub subject: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "desk/audit.html")]
struct AuditPage {
    shell: Shell,
    actor: String,
    action: String,
    subject_type: String,
    subject_id: String,
    from: String,
    to: String,
    rows: Vec<AuditRow>,
    error: Option<String>,
    /// The filters as a query string, for the export and the next page.
    query: String,
    next_seq: Option<i64>,
    verdict: Option<(bool, String)>,
}

const AUDIT_PAGE: i64 = 100;

fn audit_rows(entries: &[Entry]) -> Vec<AuditRow> {
    entries
        .iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: Shell::time(e.at_ms),
            actor: e.actor.clone(),
            ip: e.ip.clone().unwrap_or_default(),
            action: e.action.clone(),
            subject: format!("{} {}", e.subject_type, e.subject_id),
            before: e.before.clone().unwrap_or_default(),
            after: e.after.clone().unwrap_or_default(),
        })
        .collect()
}

fn audit_page_for(ctx: &PageCtx, p: &AuditParams) -> AuditPage {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let mut query = String::new();
    for (k, val) in [
        ("actor", &p.actor),
        ("action", &p.action),
        ("subject_type", &p.subject_type),
        ("subject_id", &p.subject_id),
        ("from", &p.from),
        ("to", &p.to),
    ] {
        if let Some(val) = val.as_ref().filter(|s| !s.is_empty()) {
            query.push_str(&format!("{}{k}={}", if query.is_empty() { "" } else { "&" }, crate::auth::url_encode(val)));
        }
    }
    AuditPage {
        shell: Shell::new(ctx, "desk", "audit"),
        actor: v(&p.actor),
        action: v(&p.action),
        subject_type: v(&p.subject_type),
        subject_id: v(&p.subject_id),
        from: v(&p.from),
        to: v(&p.to),
        rows: vec![],
        error: None,
        query,
        next_seq: None,
        verdict: None,
    }
}

async fn audit_page(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(p): Query<AuditParams>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAudit)?;
    let mut page = audit_page_for(&ctx, &p);
    let q = match p.query() {
        Ok(q) => q,
        Err(e) => {
            page.error = Some(format!("{}: {}", e.field, e.message));
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let entries =
        thaw_services::audit::search(&state.db, &q, AUDIT_PAGE).await.map_err(|e| PageError::from_service(&ctx, e))?;
    if entries.len() as i64 == AUDIT_PAGE {
        page.next_seq = entries.last().map(|e| e.seq);
    }
    page.rows = audit_rows(&entries);
    Ok(render(StatusCode::OK, &page))
}

async fn audit_csv(
    State(state): State<AppState>,
    StaffCtx(ctx, _): StaffCtx,
    Query(p): Query<AuditParams>,
) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAudit)?;
    let q = p.query().map_err(|_| PageError::new(&ctx, StatusCode::UNPROCESSABLE_ENTITY, "error.bad_request"))?;
    let mut entries = thaw_services::audit::search(&state.db, &q, thaw_services::audit::MAX_ROWS)
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?;
    entries.reverse();
    Ok(csv_response("thaw-audit.csv", thaw_services::audit::to_csv(&entries)))
}

async fn audit_verify(State(state): State<AppState>, StaffCtx(ctx, _): StaffCtx) -> Result<Response, PageError> {
    ctx.require(Permission::ReadAudit)?;
    let l = ctx.locale;
    let verdict =
        thaw_services::audit::verify(&state.db, |_| {}).await.map_err(|e| PageError::from_service(&ctx, e))?;
    let mut page = audit_page_for(&ctx, &AuditParams::default());
    page.verdict = Some(match verdict {
        Verdict::Intact { entries, head_hash } => {
            (true, format!("{} {entries} · head {entries}:{head_hash}", crate::i18n::text(l, "desk.audit.intact")))
        }
        Verdict::Broken { seq, problem } => {
            (false, format!("{} {seq}: {problem}", crate::i18n::text(l, "desk.audit.broken")))
        }
    });
    let entries = thaw_services::audit::search(&state.db, &Default::default(), AUDIT_PAGE)
        .await
        .map_err(|e| PageError::from_service(&ctx, e))?;
    page.rows = audit_rows(&entries);
    Ok(render(StatusCode::OK, &page))
}
