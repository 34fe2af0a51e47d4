//! The SLA file (TOML): business-hours calendars by name and, per category and priority, the
//! first-response, next-reply and resolution targets, the calendar they run on and the
//! escalations at 80 % and at breach. Entries apply in order over the built-in defaults, each to
//! the categories and priorities it names (all when it names none). Every mistake is reported
//! with its line number; a file with any mistake is refused as a whole.

use crate::cases::calendar_from_settings;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use thaw_domain::CaseCategory;
use thaw_domain::case::Priority;
use thaw_domain::case::sla::{ALWAYS_CALENDAR, Calendar, DESK_CALENDAR, Escalation, SlaTable, Target};
use thaw_engines::risk::PolicyError;
use toml::Spanned;

/// What an SLA file defines: its calendars and the resulting table.
#[derive(Debug, Clone)]
pub struct SlaFile {
    pub calendars: BTreeMap<String, Calendar>,
    pub table: SlaTable,
}

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    calendars: BTreeMap<S<String>, S<RawCalendar>>,
    #[serde(default)]
    policy: Vec<S<RawPolicy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    time_zone: S<String>,
    hours: S<String>,
    #[serde(default)]
    weekdays: Option<S<String>>,
    #[serde(default)]
    holidays: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    categories: Option<Vec<S<String>>>,
    priorities: Option<Vec<S<String>>>,
    calendar: Option<S<String>>,
    first_response: Option<S<String>>,
    next_reply: Option<S<String>>,
    resolution: Option<S<String>>,
    on_warning: Option<Vec<S<String>>>,
    on_breach: Option<Vec<S<String>>>,
}

const ESCALATIONS: [Escalation; 4] =
    [Escalation::Notify, Escalation::RaisePriority, Escalation::MoveToTier2, Escalation::MoveToSupervisor];

/// Reads and checks an SLA file.
pub fn load(path: &Path) -> Result<SlaFile, Vec<PolicyError>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![PolicyError { line: 0, message: format!("cannot read {}: {e}", path.display()) }])?;
    parse(&src)
}

/// Checks an SLA file's text and builds its table over the defaults.
pub fn parse(src: &str) -> Result<SlaFile, Vec<PolicyError>> {
    let mut c = Checker { src, errors: vec![] };
    let raw: RawFile = match toml::from_str(src) {
        Ok(r) => r,
        Err(e) => {
            let line = e.span().map(|s| c.line(s.start)).unwrap_or(1);
            return Err(vec![PolicyError { line, message: e.message().to_string() }]);
        }
    };
    let mut calendars = BTreeMap::new();
    for (name, cal) in &raw.calendars {
        if name.get_ref() == ALWAYS_CALENDAR {
            c.err(name.span(), format!("the calendar '{ALWAYS_CALENDAR}' is built in (every minute counts)"));
            continue;
        }
        if name.get_ref().trim().is_empty() {
            c.err(name.span(), "a calendar needs a name");
            continue;
        }
        let cal = cal.get_ref();
        let holidays: Vec<&str> = cal.holidays.iter().map(|h| h.get_ref().as_str()).collect();
        let weekdays = cal.weekdays.as_ref().map(|w| w.get_ref().as_str()).unwrap_or("mon-fri");
        match calendar_from_settings(
            name.get_ref(),
            "",
            cal.time_zone.get_ref(),
            cal.hours.get_ref(),
            weekdays,
            &holidays,
        ) {
            Ok(made) => {
                calendars.insert(name.get_ref().clone(), made);
            }
            Err(e) => {
                // Point at the setting the mistake is in.
                let span = match e.field.as_str() {
                    "time_zone" => cal.time_zone.span(),
                    "weekdays" => cal.weekdays.as_ref().map(|w| w.span()).unwrap_or(name.span()),
                    "holidays" => cal
                        .holidays
                        .iter()
                        .find(|h| h.get_ref().trim().parse::<jiff::civil::Date>().is_err())
                        .map(|h| h.span())
                        .unwrap_or(name.span()),
                    _ => cal.hours.span(),
                };
                c.err(span, format!("calendar {}: {}", name.get_ref(), e.message));
            }
        }
    }
    let known_calendar =
        |n: &str| n == DESK_CALENDAR || n == ALWAYS_CALENDAR || raw.calendars.keys().any(|k| k.get_ref() == n);

    let mut table = SlaTable::default();
    for entry in &raw.policy {
        let p = entry.get_ref();
        let categories = match &p.categories {
            None => CaseCategory::ALL.to_vec(),
            Some(list) => c.codes(list, "category", CaseCategory::parse, &CaseCategory::ALL.map(|x| x.code())),
        };
        let priorities = match &p.priorities {
            None => Priority::ALL.to_vec(),
            Some(list) => {
                c.codes(list, "priority", Priority::parse, &Priority::ALL.iter().map(|x| x.code()).collect::<Vec<_>>())
            }
        };
        if let Some(cal) = &p.calendar
            && !known_calendar(cal.get_ref())
        {
            c.err(
                cal.span(),
                format!(
                    "unknown calendar '{}': define it under [calendars.{}], or use '{DESK_CALENDAR}' or '{ALWAYS_CALENDAR}'",
                    cal.get_ref(),
                    cal.get_ref()
                ),
            );
        }
        let targets = [
            (Target::FirstResponse, c.target(&p.first_response, "first_response")),
            (Target::NextReply, c.target(&p.next_reply, "next_reply")),
            (Target::Resolution, c.target(&p.resolution, "resolution")),
        ];
        let on_warning = p.on_warning.as_ref().map(|l| c.escalations(l));
        let on_breach = p.on_breach.as_ref().map(|l| c.escalations(l));
        let given = [&p.calendar, &p.first_response, &p.next_reply, &p.resolution];
        if given.iter().all(|v| v.is_none()) && p.on_warning.is_none() && p.on_breach.is_none() {
            c.err(
                entry.span(),
                "this policy changes nothing: give first_response, next_reply, resolution, calendar, on_warning or on_breach",
            );
        }
        for category in &categories {
            for priority in &priorities {
                let mut policy = table.get(*category, *priority).clone();
                if let Some(cal) = &p.calendar {
                    policy.calendar = cal.get_ref().clone();
                }
                for (target, ms) in targets {
                    if let Some(ms) = ms {
                        match target {
                            Target::FirstResponse => policy.targets.first_response_ms = ms,
                            Target::NextReply => policy.targets.next_reply_ms = ms,
                            Target::Resolution => policy.targets.resolution_ms = ms,
                        }
                    }
                }
                if let Some(w) = &on_warning {
                    policy.on_warning = w.clone();
                }
                if let Some(b) = &on_breach {
                    policy.on_breach = b.clone();
                }
                table.set(*category, *priority, policy);
            }
        }
    }
    // The table as a whole: security categories around the clock, targets in order. Reported at
    // the last entry that touched the cell, once per entry and category with the priorities.
    let mut problems: BTreeMap<(usize, CaseCategory, &str), Vec<&str>> = BTreeMap::new();
    for (category, priority, policy) in table.iter() {
        let last = raw.policy.iter().rposition(|e| {
            let p = e.get_ref();
            let has = |list: &Option<Vec<S<String>>>, code: &str| {
                list.as_ref().is_none_or(|l| l.iter().any(|x| x.get_ref().trim() == code))
            };
            has(&p.categories, category.code()) && has(&p.priorities, priority.code())
        });
        let Some(last) = last else { continue };
        if category.is_security() && policy.calendar != ALWAYS_CALENDAR {
            problems.entry((last, category, "around_the_clock")).or_default().push(priority.code());
        }
        let t = policy.targets;
        if t.first_response_ms > t.resolution_ms || t.next_reply_ms > t.resolution_ms {
            problems.entry((last, category, "order")).or_default().push(priority.code());
        }
    }
    for ((entry, category, problem), priorities) in problems {
        let cell = format!("{} ({})", category.code(), priorities.join(", "));
        let message = if problem == "order" {
            format!("{cell}: first_response and next_reply must not be longer than resolution")
        } else {
            format!(
                "{cell}: {} is a security category and is worked around the clock; its calendar must be '{ALWAYS_CALENDAR}'",
                category.code()
            )
        };
        c.err(raw.policy[entry].span(), message);
    }
    if c.errors.is_empty() {
        Ok(SlaFile { calendars, table })
    } else {
        c.errors.sort_by_key(|e| e.line);
        c.errors.dedup();
        Err(c.errors)
    }
}

struct Checker<'a> {
    src: &'a str,
    errors: Vec<PolicyError>,
}

impl Checker<'_> {
    fn line(&self, offset: usize) -> usize {
        self.src[..offset.min(self.src.len())].matches('\n').count() + 1
    }

    fn err(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let line = self.line(span.start);
        self.errors.push(PolicyError { line, message: message.into() });
    }

    fn codes<T>(&mut self, list: &[S<String>], what: &str, parse: fn(&str) -> Option<T>, known: &[&str]) -> Vec<T> {
        if list.is_empty() {
            self.err(0..0, format!("an empty list of {what} codes applies to nothing; leave it out to mean all"));
        }
        list.iter()
            .filter_map(|code| {
                let parsed = parse(code.get_ref());
                if parsed.is_none() {
                    self.err(code.span(), format!("unknown {what} '{}'; one of {}", code.get_ref(), known.join(", ")));
                }
                parsed
            })
            .collect()
    }

    /// A target in business time: minutes or hours ("15m", "4h", "1h30m").
    fn target(&mut self, v: &Option<S<String>>, what: &str) -> Option<i64> {
        let s = v.as_ref()?;
        match parse_business_duration(s.get_ref()) {
            Some(ms) if ms > 0 => Some(ms),
            _ => {
                let msg = format!(
                    "{what}: '{}' is not a duration of business time such as 30m, 4h or 1h30m (hours, not days: a business day is not 24 hours)",
                    s.get_ref()
                );
                self.err(s.span(), msg);
                None
            }
        }
    }

    fn escalations(&mut self, list: &[S<String>]) -> Vec<Escalation> {
        let names: Vec<&str> = ESCALATIONS.iter().map(|e| e.code()).collect();
        list.iter()
            .filter_map(|s| {
                let found = ESCALATIONS.into_iter().find(|e| e.code() == s.get_ref().trim());
                if found.is_none() {
                    self.err(s.span(), format!("unknown escalation '{}'; one of {}", s.get_ref(), names.join(", ")));
                }
                found
            })
            .collect()
    }
}

/// "45m", "4h", "1h30m" in milliseconds.
fn parse_business_duration(s: &str) -> Option<i64> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut last_unit = u8::MAX;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        let (unit, ms) = match rest.as_bytes()[digits] {
            b'h' => (0, 3_600_000),
            b'm' => (1, 60_000),
            _ => return None,
        };
        if unit <= last_unit && last_unit != u8::MAX {
            return None; // "30m1h", "1h1h"
        }
        last_unit = unit;
        total = total.checked_add(n.checked_mul(ms)?)?;
        rest = &rest[digits + 1..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../data/sla.example.toml");

    fn errors(src: &str) -> Vec<String> {
        parse(src).err().unwrap_or_default().into_iter().map(|e| format!("{}: {}", e.line, e.message)).collect()
    }

    #[test]
    fn business_durations_in_minutes_and_hours() {
        assert_eq!(parse_business_duration("45m"), Some(45 * 60_000));
        assert_eq!(parse_business_duration("4h"), Some(4 * 3_600_000));
        assert_eq!(parse_business_duration("1h30m"), Some(90 * 60_000));
        for bad in ["", "1d", "30m1h", "1h1h", "h", "1.5h", "-1h", "1 h", "4"] {
            assert_eq!(parse_business_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_shipped_example_is_valid_and_changes_the_table() {
        let file = parse(EXAMPLE).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(file.calendars.contains_key("desk"));
        let urgent = file.table.get(CaseCategory::AssetFreeze, Priority::Urgent);
        assert_eq!(urgent.targets.first_response_ms, 30 * 60_000);
        assert_eq!(urgent.calendar, DESK_CALENDAR);
        let theft = file.table.get(CaseCategory::AccountTheft, Priority::Urgent);
        assert_eq!(theft.calendar, ALWAYS_CALENDAR);
        assert_eq!(theft.targets.first_response_ms, 10 * 60_000);
        assert!(theft.on_breach.contains(&Escalation::MoveToSupervisor));
        // A cell no entry names keeps the default.
        let other = file.table.get(CaseCategory::Other, Priority::Low);
        assert_eq!(other, &thaw_domain::case::sla::default_policy(CaseCategory::Other, Priority::Low));
    }

    #[test]
    fn later_entries_override_earlier_ones_field_by_field() {
        let file = parse(
            "[[policy]]\nresolution = \"80h\"\nfirst_response = \"6h\"\n\n[[policy]]\ncategories = [\"complaint\"]\npriorities = [\"high\"]\nfirst_response = \"1h\"\n",
        )
        .unwrap();
        let high = file.table.get(CaseCategory::Complaint, Priority::High);
        assert_eq!((high.targets.first_response_ms, high.targets.resolution_ms), (3_600_000, 80 * 3_600_000));
        let low = file.table.get(CaseCategory::Complaint, Priority::Low);
        assert_eq!(low.targets.first_response_ms, 6 * 3_600_000);
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let src = r#"[calendars.shanghai]
time_zone = "Asia/Shangai"
hours = "09:00-18:00"

[calendars.berlin]
time_zone = "Europe/Berlin"
hours = "18:00-09:00"

[calendars.weekend]
time_zone = "UTC"
hours = "09:00-17:00"
weekdays = "sat-sun"
holidays = ["2026-02-30"]

[[policy]]
categories = ["asset_freez"]
first_response = "2d"

[[policy]]
priorities = ["urgent"]
calendar = "tokyo"
on_breach = ["page_someone"]

[[policy]]
categories = ["phishing_report"]
calendar = "desk"

[[policy]]
categories = ["verification"]
first_response = "50h"
resolution = "40h"

[[policy]]
categories = ["other"]
"#;
        let got = errors(src);
        let want = [
            "2: calendar shanghai: time_zone: unknown time zone 'Asia/Shangai'",
            "7: calendar berlin: hours '18:00-09:00': closing time must be after opening time",
            "13: calendar weekend: holidays: '2026-02-30' is not a date",
            "16: unknown category 'asset_freez'",
            "17: first_response: '2d' is not a duration of business time",
            "21: unknown calendar 'tokyo'",
            "22: unknown escalation 'page_someone'",
            "24: phishing_report (low, normal, high, urgent): phishing_report is a security category",
            "28: verification (low, normal, high, urgent): first_response and next_reply must not be longer",
            "33: this policy changes nothing",
        ];
        for w in want {
            assert!(got.iter().any(|g| g.starts_with(w)), "missing {w:?} in {got:#?}");
        }
        // An entry with a mistaken field is not also "changing nothing"; the urgent entry's
        // unknown calendar is named, and so is what it would do to account_theft.
        assert!(!got.iter().any(|g| g.starts_with("15:")), "{got:#?}");
        assert!(got.iter().any(|g| g.contains("account_theft (urgent)")), "{got:#?}");
        assert_eq!(got.len(), want.len() + 1, "{got:#?}");
        assert!(parse("[policy]\nx = 1\n").is_err_and(|e| e[0].line == 1));
        assert!(errors("[[policy]]\nfirst_reponse = \"1h\"\n").iter().any(|e| e.starts_with("2: unknown field")));
        assert!(errors("[calendars.24x7]\ntime_zone = \"UTC\"\nhours = \"00:00-24:00\"\n")[0].contains("built in"));
    }
}
