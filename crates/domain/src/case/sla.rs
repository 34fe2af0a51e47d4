//! The SLA clock: business time on a calendar (time zone, weekdays, opening hours, holidays),
//! with pauses, and the targets each category and priority gets. Pure: instants go in as epoch
//! milliseconds and come out the same way, so the desk, the holder's expected times and the
//! breach job all compute with this one function.

use super::Priority;
use crate::{CaseCategory, Invalid};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use std::collections::BTreeSet;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// No calendar is searched further than this for business time (a calendar with at least one
/// open weekday always finds some within a few weeks, whatever its holidays).
const HORIZON_DAYS: i32 = 3 * 366;

/// When the desk works: around the clock, or opening hours on some weekdays in a time zone,
/// except holidays (local dates).
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub name: String,
    hours: Option<Hours>,
}

#[derive(Debug, Clone, PartialEq)]
struct Hours {
    tz: TimeZone,
    /// Monday first.
    weekdays: [bool; 7],
    /// Opening and closing minute of each working period of a day, in order, not overlapping.
    periods: Vec<(i32, i32)>,
    holidays: BTreeSet<Date>,
}

/// A business calendar as people read it: for the admins' SLA page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSummary {
    pub time_zone: String,
    /// `mon, tue, wed, thu, fri`.
    pub weekdays: String,
    /// `09:00-12:00, 13:00-18:00`.
    pub hours: String,
    pub holidays: Vec<String>,
}

impl Calendar {
    /// Every minute counts (the security categories).
    pub fn around_the_clock() -> Calendar {
        Calendar { name: "24x7".into(), hours: None }
    }

    /// Opening hours `open`–`close` ("09:00", "18:00"; close may be "24:00") on `weekdays`
    /// (Monday first) in `tz`, except `holidays`.
    pub fn business(
        name: &str,
        tz: TimeZone,
        weekdays: [bool; 7],
        open: &str,
        close: &str,
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Calendar, Invalid> {
        Calendar::business_periods(name, tz, weekdays, &[(open, close)], holidays)
    }

    /// Like [`Calendar::business`] with several working periods a day (`[("09:00", "12:00"),
    /// ("13:00", "18:00")]` for a lunch break). Periods that overlap are refused.
    pub fn business_periods(
        name: &str,
        tz: TimeZone,
        weekdays: [bool; 7],
        periods: &[(&str, &str)],
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Calendar, Invalid> {
        let mut parsed = Vec::with_capacity(periods.len());
        for (open, close) in periods {
            let open_minute = parse_hhmm("open", open)?;
            let close_minute = parse_hhmm("close", close)?;
            if open_minute >= close_minute {
                return Err(Invalid::new("close", "invalid_hours", "closing time must be after opening time"));
            }
            parsed.push((open_minute, close_minute));
        }
        if parsed.is_empty() {
            return Err(Invalid::new("hours", "invalid_hours", "a calendar needs opening hours"));
        }
        parsed.sort_unstable();
        if let Some(w) = parsed.windows(2).find(|w| w[1].0 < w[0].1) {
            return Err(Invalid::new(
                "hours",
                "overlapping_hours",
                format!("{} overlaps {}", period_text(w[1]), period_text(w[0])),
            ));
        }
        if !weekdays.iter().any(|d| *d) {
            return Err(Invalid::new("weekdays", "no_open_days", "a calendar needs at least one working weekday"));
        }
        let hours = Hours { tz, weekdays, periods: parsed, holidays: holidays.into_iter().collect() };
        Ok(Calendar { name: name.to_string(), hours: Some(hours) })
    }

    /// The calendar's settings as text; `None` around the clock.
    pub fn summary(&self) -> Option<CalendarSummary> {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let h = self.hours.as_ref()?;
        Some(CalendarSummary {
            time_zone: h.tz.iana_name().unwrap_or("UTC").to_string(),
            weekdays: DAYS.iter().zip(h.weekdays).filter(|(_, on)| *on).map(|(d, _)| *d).collect::<Vec<_>>().join(", "),
            hours: h.periods.iter().map(|p| period_text(*p)).collect::<Vec<_>>().join(", "),
            holidays: h.holidays.iter().map(|d| d.to_string()).collect(),
        })
    }

    pub fn is_around_the_clock(&self) -> bool {
        self.hours.is_none()
    }

    /// The working windows `[start, end)` in epoch ms that end after `from_ms`, in order.
    fn windows_from(&self, from_ms: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = self
            .hours
            .as_ref()
            .map(|h| Timestamp::from_millisecond(from_ms).unwrap_or_default().to_zoned(h.tz.clone()).date());
        let mut day = first;
        let mut done = false;
        let mut count = 0;
        // The day's windows still to give, last first.
        let mut pending: Vec<(i64, i64)> = Vec::new();
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let Some(h) = &self.hours else {
                done = true;
                return Some((i64::MIN, i64::MAX));
            };
            loop {
                if let Some(window) = pending.pop() {
                    return Some(window);
                }
                let d = day?;
                count += 1;
                if count > HORIZON_DAYS {
                    return None;
                }
                day = d.tomorrow().ok();
                let weekday = d.weekday().to_monday_zero_offset() as usize;
                if !h.weekdays[weekday] || h.holidays.contains(&d) {
                    continue;
                }
                for (open, close) in h.periods.iter().rev() {
                    let start = local_ms(&h.tz, d, *open)?;
                    let end = local_ms(&h.tz, d, *close)?;
                    if end > from_ms && end > start {
                        pending.push((start, end));
                    }
                }
            }
        })
    }

    /// Business milliseconds in `[from_ms, to_ms)`, leaving out `pauses` (`[start, end)`, an open
    /// pause runs to `to_ms`).
    pub fn business_ms_between(&self, from_ms: i64, to_ms: i64, pauses: &[Pause]) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let mut total = 0;
        for (start, end) in self.windows_from(from_ms) {
            if start >= to_ms {
                break;
            }
            let (s, e) = (start.max(from_ms), end.min(to_ms));
            if e > s {
                total += e - s - paused_within(pauses, s, e);
            }
        }
        total
    }

    /// The instant at which `business_ms` of business time have passed since `from_ms`, not
    /// counting `pauses`. `None` while a pause is open (the clock is stopped) or when the
    /// calendar has no working time within three years.
    pub fn add_business_ms(&self, from_ms: i64, business_ms: i64, pauses: &[Pause]) -> Option<i64> {
        if pauses.iter().any(|p| p.end_ms.is_none()) {
            return None;
        }
        let mut left = business_ms.max(0);
        for (start, end) in self.windows_from(from_ms) {
            let mut cursor = start.max(from_ms);
            // Walk the window around the pauses that cut it.
            let mut cuts: Vec<(i64, i64)> = pauses
                .iter()
                .filter_map(|p| {
                    let pe = p.end_ms.unwrap_or(i64::MAX);
                    (pe > cursor && p.start_ms < end).then_some((p.start_ms.max(cursor), pe.min(end)))
                })
                .collect();
            cuts.sort_unstable();
            cuts.push((end, end));
            for (cut_start, cut_end) in cuts {
                if cut_start > cursor {
                    let run = cut_start - cursor;
                    if left <= run {
                        return Some(cursor + left);
                    }
                    left -= run;
                }
                cursor = cursor.max(cut_end);
            }
        }
        None
    }
}

/// A stretch of time in which the clock stood still (the case waited for the holder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub start_ms: i64,
    pub end_ms: Option<i64>,
}

fn paused_within(pauses: &[Pause], s: i64, e: i64) -> i64 {
    // Pauses may overlap each other; merge them within the window first.
    let mut parts: Vec<(i64, i64)> = pauses
        .iter()
        .map(|p| (p.start_ms.max(s), p.end_ms.unwrap_or(i64::MAX).min(e)))
        .filter(|(a, b)| b > a)
        .collect();
    parts.sort_unstable();
    let mut total = 0;
    let mut reach = s;
    for (a, b) in parts {
        let a = a.max(reach);
        if b > a {
            total += b - a;
            reach = b;
        }
    }
    total
}

fn local_ms(tz: &TimeZone, day: Date, minute: i32) -> Option<i64> {
    // 24:00 is midnight of the next day. In a DST gap the later instant is used, in a fold the
    // earlier (jiff's "compatible" disambiguation, as calendars and RFC 5545 do).
    let (day, minute) = if minute >= 24 * 60 { (day.tomorrow().ok()?, minute - 24 * 60) } else { (day, minute) };
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
    Some(day.to_datetime(time).to_zoned(tz.clone()).ok()?.timestamp().as_millisecond())
}

fn period_text((open, close): (i32, i32)) -> String {
    format!("{:02}:{:02}-{:02}:{:02}", open / 60, open % 60, close / 60, close % 60)
}

fn parse_hhmm(field: &str, s: &str) -> Result<i32, Invalid> {
    let bad =
        || Invalid::new(field, "invalid_time_of_day", format!("{field}: a time of day such as 09:00 (00:00–24:00)"));
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// What may happen when a target is at 80 % or breached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// Tell the assignee and the supervisors (desk notice and `case.sla_warning`/`case.sla_breached` webhook).
    Notify,
    /// One priority step up (low → normal → high → urgent).
    RaisePriority,
    /// Move to tier 2 and route again.
    MoveToTier2,
    /// Hand to a supervisor.
    MoveToSupervisor,
}

impl Escalation {
    pub fn code(self) -> &'static str {
        match self {
            Escalation::Notify => "notify",
            Escalation::RaisePriority => "raise_priority",
            Escalation::MoveToTier2 => "move_to_tier2",
            Escalation::MoveToSupervisor => "move_to_supervisor",
        }
    }
}

/// The three targets of a case, in business milliseconds of its calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response_ms: i64,
    pub next_reply_ms: i64,
    pub resolution_ms: i64,
}

impl Targets {
    pub fn of(&self, target: Target) -> i64 {
        match target {
            Target::FirstResponse => self.first_response_ms,
            Target::NextReply => self.next_reply_ms,
            Target::Resolution => self.resolution_ms,
        }
    }
}

/// The calendar of the desk's business hours (the `desk_*` settings or the SLA file).
pub const DESK_CALENDAR: &str = "desk";
/// The built-in calendar in which every minute counts.
pub const ALWAYS_CALENDAR: &str = "24x7";

/// The SLA a case gets: its targets, on which calendar (by name), and what happens at 80 % and
/// at breach.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    pub targets: Targets,
    pub calendar: String,
    pub on_warning: Vec<Escalation>,
    pub on_breach: Vec<Escalation>,
}

/// The SLA policy of every category and priority (the defaults, changed by an SLA file).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaTable {
    policies: std::collections::BTreeMap<(CaseCategory, Priority), SlaPolicy>,
}

impl Default for SlaTable {
    fn default() -> Self {
        let mut policies = std::collections::BTreeMap::new();
        for c in CaseCategory::ALL {
            for p in Priority::ALL {
                policies.insert((c, *p), default_policy(c, *p));
            }
        }
        SlaTable { policies }
    }
}

impl SlaTable {
    pub fn get(&self, category: CaseCategory, priority: Priority) -> &SlaPolicy {
        // Every cell is filled by `default`; `set` only replaces.
        &self.policies[&(category, priority)]
    }

    pub fn set(&mut self, category: CaseCategory, priority: Priority, policy: SlaPolicy) {
        self.policies.insert((category, priority), policy);
    }

    /// Every cell, category by category.
    pub fn iter(&self) -> impl Iterator<Item = (CaseCategory, Priority, &SlaPolicy)> {
        self.policies.iter().map(|((c, p), policy)| (*c, *p, policy))
    }
}

/// The defaults: security categories around the clock and faster; the others in business hours.
pub fn default_policy(category: CaseCategory, priority: Priority) -> SlaPolicy {
    let h = |first: f64, next: f64, resolve: f64| Targets {
        first_response_ms: (first * HOUR_MS as f64) as i64,
        next_reply_ms: (next * HOUR_MS as f64) as i64,
        resolution_ms: (resolve * HOUR_MS as f64) as i64,
    };
    let targets = match (category.is_security(), priority) {
        (true, Priority::Urgent) => h(0.25, 1.0, 4.0),
        (true, Priority::High) => h(0.5, 2.0, 12.0),
        (true, Priority::Normal) => h(1.0, 4.0, 24.0),
        (true, Priority::Low) => h(2.0, 8.0, 48.0),
        (false, Priority::Urgent) => h(1.0, 2.0, 8.0),
        (false, Priority::High) => h(2.0, 4.0, 16.0),
        (false, Priority::Normal) => h(4.0, 8.0, 24.0),
        (false, Priority::Low) => h(8.0, 16.0, 40.0),
    };
    SlaPolicy {
        targets,
        calendar: if category.is_security() { ALWAYS_CALENDAR } else { DESK_CALENDAR }.into(),
        on_warning: vec![Escalation::Notify],
        on_breach: vec![Escalation::Notify, Escalation::RaisePriority, Escalation::MoveToTier2],
    }
}

/// Which deadline a case is working towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    FirstResponse,
    NextReply,
    Resolution,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::FirstResponse, Target::NextReply, Target::Resolution];

    pub fn code(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::NextReply => "next_reply",
            Target::Resolution => "resolution",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.code() == s)
    }
}

/// Where a running target stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    OnTrack,
    /// 80 % of the target's business time used.
    AtRisk,
    Breached,
}

/// How far a target that started at `started_ms` has run by `now_ms`.
pub fn standing(calendar: &Calendar, started_ms: i64, target_ms: i64, now_ms: i64, pauses: &[Pause]) -> Standing {
    let used = calendar.business_ms_between(started_ms, now_ms, pauses);
    if used >= target_ms {
        Standing::Breached
    } else if used * 5 >= target_ms * 4 {
        Standing::AtRisk
    } else {
        Standing::OnTrack
    }
}

/// The instant a target reaches 80 %.
pub fn warning_at(calendar: &Calendar, started_ms: i64, target_ms: i64, pauses: &[Pause]) -> Option<i64> {
    calendar.add_business_ms(started_ms, target_ms * 4 / 5, pauses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WEEKDAYS: [bool; 7] = [true, true, true, true, true, false, false];

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn at(ms: i64) -> String {
        Timestamp::from_millisecond(ms).unwrap().to_string()
    }

    fn shanghai(holidays: &[&str]) -> Calendar {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let hs = holidays.iter().map(|d| d.parse::<Date>().unwrap());
        Calendar::business("cn", tz, WEEKDAYS, "09:00", "18:00", hs).unwrap()
    }

    fn new_york() -> Calendar {
        Calendar::business("us", TimeZone::get("America/New_York").unwrap(), WEEKDAYS, "09:00", "17:00", []).unwrap()
    }

    #[test]
    fn deadlines_on_business_calendars() {
        let h = HOUR_MS;
        // (calendar, start, business time, pauses, expected due) — Shanghai is UTC+8, no DST.
        let cn = shanghai(&["2026-10-01", "2026-10-02"]);
        let table: Vec<(&Calendar, &str, i64, Vec<Pause>, &str)> = vec![
            // Tuesday 10:00 local + 4 h → 14:00 the same day
            (&cn, "2026-11-17T02:00:00Z", 4 * h, vec![], "2026-11-17T06:00:00Z"),
            // Tuesday 16:00 local + 4 h → Wednesday 11:00 (2 h today, 2 h tomorrow)
            (&cn, "2026-11-17T08:00:00Z", 4 * h, vec![], "2026-11-18T03:00:00Z"),
            // Friday 17:00 local + 2 h → Monday 10:00
            (&cn, "2026-11-20T09:00:00Z", 2 * h, vec![], "2026-11-23T02:00:00Z"),
            // opened Saturday → counts from Monday 09:00
            (&cn, "2026-11-21T04:00:00Z", h, vec![], "2026-11-23T02:00:00Z"),
            // opened at night, before opening: from 09:00
            (&cn, "2026-11-17T20:00:00Z", h, vec![], "2026-11-18T02:00:00Z"),
            // exactly at closing: from the next morning
            (&cn, "2026-11-17T10:00:00Z", h, vec![], "2026-11-18T02:00:00Z"),
            // holidays are skipped: Wednesday 30 Sep 17:00 + 2 h → Monday 5 Oct 10:00
            (&cn, "2026-09-30T09:00:00Z", 2 * h, vec![], "2026-10-05T02:00:00Z"),
            // zero target: the next business instant
            (&cn, "2026-11-21T04:00:00Z", 0, vec![], "2026-11-23T01:00:00Z"),
            // a day's worth: 9 business hours from Tuesday 09:00 → Tuesday 18:00
            (&cn, "2026-11-17T01:00:00Z", 9 * h, vec![], "2026-11-17T10:00:00Z"),
            // pause of 1 h inside business hours pushes the deadline 1 h
            (
                &cn,
                "2026-11-17T02:00:00Z",
                4 * h,
                vec![Pause { start_ms: ms("2026-11-17T03:00:00Z"), end_ms: Some(ms("2026-11-17T04:00:00Z")) }],
                "2026-11-17T07:00:00Z",
            ),
            // a pause over the night costs nothing extra
            (
                &cn,
                "2026-11-17T08:00:00Z",
                4 * h,
                vec![Pause { start_ms: ms("2026-11-17T12:00:00Z"), end_ms: Some(ms("2026-11-17T23:00:00Z")) }],
                "2026-11-18T03:00:00Z",
            ),
            // overlapping pauses count once
            (
                &cn,
                "2026-11-17T02:00:00Z",
                4 * h,
                vec![
                    Pause { start_ms: ms("2026-11-17T03:00:00Z"), end_ms: Some(ms("2026-11-17T04:00:00Z")) },
                    Pause { start_ms: ms("2026-11-17T03:30:00Z"), end_ms: Some(ms("2026-11-17T04:30:00Z")) },
                ],
                "2026-11-17T07:30:00Z",
            ),
        ];
        for (i, (cal, start, target, pauses, due)) in table.into_iter().enumerate() {
            let got = cal.add_business_ms(ms(start), target, &pauses).map(at);
            assert_eq!(got.as_deref(), Some(due), "row {i}");
            assert_eq!(cal.business_ms_between(ms(start), ms(due), &pauses), target, "row {i} elapsed");
        }
    }

    #[test]
    fn around_the_clock_counts_every_minute_and_weekends() {
        let cal = Calendar::around_the_clock();
        let due = cal.add_business_ms(ms("2026-11-21T23:30:00Z"), HOUR_MS, &[]).unwrap();
        assert_eq!(at(due), "2026-11-22T00:30:00Z");
        assert_eq!(cal.business_ms_between(ms("2026-11-21T00:00:00Z"), ms("2026-11-23T00:00:00Z"), &[]), 48 * HOUR_MS);
    }

    #[test]
    fn an_open_pause_stops_the_clock() {
        let cal = Calendar::around_the_clock();
        let start = ms("2026-11-17T00:00:00Z");
        let pause = Pause { start_ms: start + HOUR_MS, end_ms: None };
        assert_eq!(cal.add_business_ms(start, 4 * HOUR_MS, &[pause]), None);
        assert_eq!(cal.business_ms_between(start, start + 10 * HOUR_MS, &[pause]), HOUR_MS);
    }

    #[test]
    fn daylight_saving_days_keep_local_opening_hours() {
        let ny = new_york();
        // Sunday 8 Mar 2026 clocks go forward; Monday opens at 09:00 EDT = 13:00Z (Friday was 14:00Z).
        let friday_close = ms("2026-03-06T22:00:00Z"); // 17:00 EST
        assert_eq!(at(ny.add_business_ms(friday_close, HOUR_MS, &[]).unwrap()), "2026-03-09T14:00:00Z");
        // Sunday 1 Nov 2026 clocks go back; Monday opens at 09:00 EST = 14:00Z.
        let friday_close = ms("2026-10-30T21:00:00Z"); // 17:00 EDT
        assert_eq!(at(ny.add_business_ms(friday_close, HOUR_MS, &[]).unwrap()), "2026-11-02T15:00:00Z");
        // An 8-hour business day stays 8 hours on both sides of the change.
        assert_eq!(ny.business_ms_between(ms("2026-03-06T00:00:00Z"), ms("2026-03-10T00:00:00Z"), &[]), 16 * HOUR_MS);
    }

    #[test]
    fn a_calendar_that_opens_inside_a_dst_gap_opens_at_the_first_valid_minute() {
        // Europe/Berlin springs forward at 02:00 local on Sunday 29 Mar 2026; a 02:30 opening
        // does not exist that day and becomes 03:30 CEST (01:30Z).
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let cal = Calendar::business("de-night", tz, [true; 7], "02:30", "06:00", []).unwrap();
        let open = cal.add_business_ms(ms("2026-03-28T23:00:00Z"), 0, &[]).unwrap();
        assert_eq!(at(open), "2026-03-29T01:30:00Z");
    }

    #[test]
    fn a_change_of_time_zone_moves_the_working_day() {
        let start = ms("2026-11-17T00:00:00Z");
        let cn = shanghai(&[]);
        let ny = new_york();
        assert_eq!(at(cn.add_business_ms(start, HOUR_MS, &[]).unwrap()), "2026-11-17T02:00:00Z");
        assert_eq!(at(ny.add_business_ms(start, HOUR_MS, &[]).unwrap()), "2026-11-17T15:00:00Z");
    }

    #[test]
    fn a_lunch_break_does_not_count_and_overlapping_periods_are_refused() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let cal = Calendar::business_periods("x", tz.clone(), WEEKDAYS, &[("13:00", "18:00"), ("09:00", "12:00")], [])
            .unwrap();
        // Tuesday 11:30 Shanghai (03:30Z) + 1 h: 30 min before lunch, 30 after → 13:30 (05:30Z).
        assert_eq!(at(cal.add_business_ms(ms("2026-11-17T03:30:00Z"), HOUR_MS, &[]).unwrap()), "2026-11-17T05:30:00Z");
        // A whole Tuesday holds 8 business hours.
        assert_eq!(cal.business_ms_between(ms("2026-11-16T16:00:00Z"), ms("2026-11-17T16:00:00Z"), &[]), 8 * HOUR_MS);
        // 5 h from Tuesday 17:00 local: 1 h on Tuesday, 3 h Wednesday morning, 1 h after lunch.
        assert_eq!(
            at(cal.add_business_ms(ms("2026-11-17T09:00:00Z"), 5 * HOUR_MS, &[]).unwrap()),
            "2026-11-18T06:00:00Z"
        );
        let s = cal.summary().unwrap();
        assert_eq!(
            (s.hours.as_str(), s.weekdays.as_str(), s.time_zone.as_str()),
            ("09:00-12:00, 13:00-18:00", "mon, tue, wed, thu, fri", "Asia/Shanghai")
        );
        let overlap =
            Calendar::business_periods("x", tz, WEEKDAYS, &[("09:00", "13:00"), ("12:00", "18:00")], []).unwrap_err();
        assert_eq!((overlap.field.as_str(), overlap.code), ("hours", "overlapping_hours"));
        assert_eq!(overlap.message, "12:00-18:00 overlaps 09:00-13:00");
        assert!(Calendar::around_the_clock().summary().is_none());
    }

    #[test]
    fn bad_calendars_are_refused_by_field() {
        let tz = TimeZone::UTC;
        assert_eq!(Calendar::business("x", tz.clone(), WEEKDAYS, "18:00", "09:00", []).unwrap_err().field, "close");
        assert_eq!(Calendar::business("x", tz.clone(), WEEKDAYS, "9am", "18:00", []).unwrap_err().field, "open");
        assert_eq!(Calendar::business("x", tz.clone(), WEEKDAYS, "09:00", "24:30", []).unwrap_err().field, "close");
        assert_eq!(Calendar::business("x", tz, [false; 7], "09:00", "18:00", []).unwrap_err().field, "weekdays");
    }

    #[test]
    fn standing_turns_at_risk_at_80_percent_and_breached_at_100() {
        let cal = Calendar::around_the_clock();
        let start = 0;
        let target = 10 * HOUR_MS;
        assert_eq!(standing(&cal, start, target, 7 * HOUR_MS, &[]), Standing::OnTrack);
        assert_eq!(standing(&cal, start, target, 8 * HOUR_MS, &[]), Standing::AtRisk);
        assert_eq!(standing(&cal, start, target, 10 * HOUR_MS, &[]), Standing::Breached);
        assert_eq!(warning_at(&cal, start, target, &[]), Some(8 * HOUR_MS));
    }

    #[test]
    fn security_categories_run_around_the_clock_and_faster() {
        let theft = default_policy(CaseCategory::AccountTheft, Priority::Normal);
        let freeze = default_policy(CaseCategory::AssetFreeze, Priority::Normal);
        assert!(theft.calendar == ALWAYS_CALENDAR && freeze.calendar == DESK_CALENDAR);
        assert!(theft.targets.first_response_ms < freeze.targets.first_response_ms);
        for c in CaseCategory::ALL {
            let mut last = i64::MAX;
            for p in Priority::ALL {
                let t = default_policy(c, *p).targets;
                assert!(t.first_response_ms <= t.next_reply_ms && t.next_reply_ms <= t.resolution_ms);
                assert!(t.first_response_ms <= last, "higher priority, shorter target");
                last = t.first_response_ms;
            }
        }
    }

    fn arb_calendar() -> impl Strategy<Value = Calendar> {
        let zones = prop::sample::select(vec![
            "UTC",
            "Asia/Shanghai",
            "America/New_York",
            "Europe/Berlin",
            "Australia/Lord_Howe",
        ]);
        (
            zones,
            prop::array::uniform7(any::<bool>()),
            0i32..20,
            1i32..=8,
            prop::collection::vec(0i32..60, 0..4),
            any::<bool>(),
        )
            .prop_filter("an open weekday", |(_, days, ..)| days.iter().any(|d| *d))
            .prop_map(|(zone, days, open_h, len_h, holiday_offsets, always)| {
                if always {
                    return Calendar::around_the_clock();
                }
                let holidays = holiday_offsets
                    .into_iter()
                    .map(|o| Date::constant(2026, 11, 1).checked_add(jiff::Span::new().days(o)).unwrap());
                let close_h = (open_h + len_h).min(24);
                Calendar::business(
                    "p",
                    TimeZone::get(zone).unwrap(),
                    days,
                    &format!("{open_h:02}:00"),
                    &format!("{close_h:02}:00"),
                    holidays,
                )
                .unwrap()
            })
    }

    fn arb_pauses(base: i64) -> impl Strategy<Value = Vec<Pause>> {
        prop::collection::vec((0i64..20 * 24, 1i64..72), 0..4).prop_map(move |v| {
            v.into_iter()
                .map(|(start_h, len_h)| Pause {
                    start_ms: base + start_h * HOUR_MS,
                    end_ms: Some(base + (start_h + len_h) * HOUR_MS),
                })
                .collect()
        })
    }

    const BASE: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The deadline is exactly `target` business time after the start, and not a minute earlier.
        #[test]
        fn deadline_and_elapsed_agree(cal in arb_calendar(), start_min in 0i64..(14 * 24 * 60), target_min in 0i64..(5 * 24 * 60), pauses in arb_pauses(BASE)) {
            let start = BASE + start_min * MINUTE_MS;
            let target = target_min * MINUTE_MS;
            let due = cal.add_business_ms(start, target, &pauses).expect("a calendar with an open weekday has time");
            prop_assert!(due >= start);
            prop_assert_eq!(cal.business_ms_between(start, due, &pauses), target);
            if target > 0 {
                prop_assert!(cal.business_ms_between(start, due - MINUTE_MS, &pauses) < target);
            }
        }

        /// Elapsed business time is additive and never more than wall time.
        #[test]
        fn elapsed_is_additive_and_bounded(cal in arb_calendar(), a in 0i64..(20 * 24 * 60), b in 0i64..(20 * 24 * 60), c in 0i64..(20 * 24 * 60), pauses in arb_pauses(BASE)) {
            let mut v = [a, b, c];
            v.sort_unstable();
            let [a, b, c] = v.map(|m| BASE + m * MINUTE_MS);
            let ab = cal.business_ms_between(a, b, &pauses);
            let bc = cal.business_ms_between(b, c, &pauses);
            prop_assert_eq!(ab + bc, cal.business_ms_between(a, c, &pauses));
            prop_assert!(ab <= b - a);
            // Pauses only ever take time away.
            prop_assert!(ab <= cal.business_ms_between(a, b, &[]));
        }
    }
}
