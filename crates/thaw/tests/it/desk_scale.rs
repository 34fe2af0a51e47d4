//! The desk at scale in miniature, on both backends: the bulk generator of `thaw seed scale`
//! writes cases that the desk's queues list (page by page, and filtered) and that its case view
//! opens with their whole conversation; it refuses a database that already has cases.

use crate::on_both_backends;
use crate::support::*;
use std::collections::BTreeSet;
use thaw_domain::Locale;
use thaw_services::ServiceError;
use thaw_services::cases::Desk;
use thaw_services::demo_scale::{self, ScaleSpec};
use thaw_store::Capabilities;

async fn count(s: &TestServer, sql: &'static str) -> i64 {
    sqlx::Row::try_get(&sqlx::query(sql).fetch_one(s.db.pool()).await.unwrap(), 0).unwrap()
}

/// The case numbers a queue page links to, and its "next page" address.
fn page_of(html: &str) -> (Vec<i64>, Option<String>) {
    let numbers =
        html.split("data-testid=\"row-C-").skip(1).filter_map(|s| s.split('"').next()?.parse().ok()).collect();
    let next = html.find("data-testid=\"queue-next\"").and_then(|at| {
        let before = &html[..at];
        let start = before.rfind("href=\"")? + 6;
        Some(before[start..start + before[start..].find('"')?].replace("&#38;", "&").replace("&amp;", "&"))
    });
    (numbers, next)
}

/// Every case of a queue, following its pages.
async fn whole_queue(s: &TestServer, c: &reqwest::Client, first: &str) -> Vec<i64> {
    let (mut all, mut url) = (vec![], Some(first.to_string()));
    while let Some(u) = url {
        let res = c.get(s.url(&u)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{u}");
        let (numbers, next) = page_of(&res.text().await.unwrap());
        assert!(numbers.len() <= 50, "a page holds at most 50 cases");
        all.extend(numbers);
        url = next;
    }
    all
}

on_both_backends! {
    async fn a_seeded_history_is_listed_page_by_page_and_opened_by_the_desk(b) {
        let s = TestServer::start(b).await;
        let spec = ScaleSpec { cases: 400, messages: 1_600, accounts: 60, staff: 12, days: 20, seed: 7 };
        let now = thaw_services::now_ms();
        let report = demo_scale::seed(&s.db, &s.database_url, &Desk::default(), &spec, now, |_| {}).await.unwrap();
        assert_eq!((report.cases, report.messages, report.staff, report.accounts), (400, 1_600, 12, 60));
        assert_eq!(count(&s, "SELECT COUNT(*) FROM cases").await, 400);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM case_messages").await, 1_600);
        let active = count(&s, "SELECT COUNT(*) FROM cases WHERE status NOT IN ('resolved', 'closed')").await;
        assert!(active > 50 && active < 400, "recent cases are being worked, older ones are done: {active}");
        assert_eq!(active as u64, report.active);

        let (desk, _) = s.signed_in("supervisor").await;
        let team = whole_queue(&s, &desk, "/desk/cases?queue=team").await;
        assert_eq!(team.len() as i64, active, "the team queue lists every case being worked, over its pages");
        assert_eq!(team.iter().collect::<BTreeSet<_>>().len(), team.len(), "no case on two pages");
        let mut conn = s.db.conn().await.unwrap();
        let mut last_due = i64::MIN;
        for n in &team {
            let (case, _) = conn.cases().by_number(*n).await.unwrap().unwrap();
            assert!(case.status.is_active());
            let due = Desk::default().next_due(&case).unwrap_or(i64::MAX);
            assert!(due >= last_due, "most urgent first: C-{n}");
            last_due = due;
        }

        let english = whole_queue(&s, &desk, "/desk/cases?queue=team&language=en").await;
        let expected = count(&s, "SELECT COUNT(*) FROM cases WHERE status NOT IN ('resolved', 'closed') AND language = 'en'").await;
        assert_eq!(english.len() as i64, expected);
        for n in &english {
            assert_eq!(conn.cases().by_number(*n).await.unwrap().unwrap().0.language, Locale::En);
        }
        let bad = desk.get(s.url("/desk/cases?queue=team&category=nonsense")).send().await.unwrap();
        assert_eq!(bad.status(), 400, "an unknown filter value is a bad request");
        assert!(bad.text().await.unwrap().contains("<code>category</code>"), "naming the parameter");
        let bad = desk.get(s.url("/desk/cases?queue=team&after=12x")).send().await.unwrap();
        assert_eq!(bad.status(), 400, "a malformed page cursor is a bad request");
        assert!(bad.text().await.unwrap().contains("<code>after</code>"));

        // A case from the history opens with its whole conversation.
        let (case, _) = conn.cases().by_number(report.numbers.0 + 7).await.unwrap().unwrap();
        let messages = conn.cases().messages(&case.id, true).await.unwrap();
        assert!(!messages.is_empty());
        drop(conn);
        let res = desk.get(s.url(&format!("/desk/cases/{}", case.reference()))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        let shown = html.matches("data-testid=\"line-message\"").count() + html.matches("data-testid=\"line-note\"").count();
        assert_eq!(shown, messages.len(), "every message and note of {} is shown", case.reference());

        let again = demo_scale::seed(&s.db, &s.database_url, &Desk::default(), &spec, now, |_| {}).await;
        assert!(matches!(again, Err(ServiceError::Conflict { .. })), "a second history is not mixed into the first");
    }
}
