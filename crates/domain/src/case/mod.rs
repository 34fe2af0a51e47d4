//! Cases of the desk: their categories' intake fields, statuses, priorities, the SLA clock and
//! routing. Pure rules; the services store and deliver.

pub mod authority;
pub mod intake;
pub mod routing;
pub mod sla;

use crate::{CaseCategory, Invalid, Locale};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.code() == s.trim())
            }
            pub fn label(self, locale: Locale) -> &'static str {
                match (self, locale) {
                    $(($name::$variant, Locale::ZhCn) => $zh, ($name::$variant, Locale::En) => $en,)+
                }
            }
        }
    };
}

code_enum! {
    /// How urgent a case is; SLA targets depend on it.
    Priority {
        Low => "low", "低", "Low";
        Normal => "normal", "普通", "Normal";
        High => "high", "高", "High";
        Urgent => "urgent", "紧急", "Urgent";
    }
}

impl Priority {
    /// One step up; urgent stays urgent.
    pub fn raised(self) -> Priority {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }
}

code_enum! {
    /// Where a case stands. `PendingCustomer` stops the SLA clock.
    CaseStatus {
        New => "new", "新建", "New";
        Open => "open", "处理中", "Open";
        PendingCustomer => "pending_customer", "等待您的回复", "Waiting for the holder";
        PendingInternal => "pending_internal", "内部处理中", "Pending internally";
        Resolved => "resolved", "已解决", "Resolved";
        Closed => "closed", "已关闭", "Closed";
    }
}

/// A holder's reply reopens a resolved case within this long; after it, a new linked case opens.
pub const REOPEN_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

impl CaseStatus {
    /// Whether the case still needs work (counts against an agent's capacity).
    pub fn is_active(self) -> bool {
        !matches!(self, CaseStatus::Resolved | CaseStatus::Closed)
    }

    /// Statuses staff may set by hand from this one.
    pub fn can_become(self, to: CaseStatus) -> bool {
        use CaseStatus::*;
        match (self, to) {
            (a, b) if a == b => false,
            (Closed, _) => false,
            (_, New) => false,
            (Resolved, Open | Closed) => true,
            (Resolved, _) => false,
            _ => true,
        }
    }

    /// What a holder's message does to the case: reopen it (resolved within the window), open a
    /// new linked case (closed, or resolved too long ago), or just move it back to the desk.
    pub fn on_holder_reply(self, resolved_at_ms: Option<i64>, now_ms: i64) -> HolderReply {
        match self {
            CaseStatus::Closed => HolderReply::NewLinkedCase,
            CaseStatus::Resolved => match resolved_at_ms {
                Some(at) if now_ms - at <= REOPEN_WINDOW_MS => HolderReply::Reopen,
                _ => HolderReply::NewLinkedCase,
            },
            CaseStatus::PendingCustomer => HolderReply::BackToDesk,
            CaseStatus::New | CaseStatus::Open | CaseStatus::PendingInternal => HolderReply::Append,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderReply {
    /// Added to the conversation; the status stays.
    Append,
    /// The case waited for the holder: back to open, the clock runs again.
    BackToDesk,
    /// A resolved case opens again.
    Reopen,
    /// Too late to reopen: a new case linked to this one.
    NewLinkedCase,
}

code_enum! {
    /// How a case came in.
    Channel {
        Portal => "portal", "用户门户", "Portal";
        Email => "email", "邮件", "Email";
        Api => "api", "平台接口", "Platform API";
        Staff => "staff", "客服创建", "Opened by staff";
        Bot => "bot", "智能助手", "Assistant";
        Automatic => "automatic", "系统自动", "Automatic";
    }
}

/// A case as the desk keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    pub number: i64,
    pub account_id: String,
    pub category: CaseCategory,
    pub priority: Priority,
    pub status: CaseStatus,
    pub subject: String,
    pub intake: BTreeMap<String, String>,
    pub language: Locale,
    pub channel: Channel,
    /// 1 or 2.
    pub tier: u8,
    pub assignee_id: Option<String>,
    /// Why it is assigned where it is (or why not).
    pub routing: Option<routing::Note>,
    /// The hold this case was opened for, if any.
    pub hold_id: Option<String>,
    /// The case this one follows on from (reopened too late, appeal, repeat contact).
    pub linked_from: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub first_response_at_ms: Option<i64>,
    /// The holder wrote after the last public staff reply: the next-reply clock runs from here.
    pub awaiting_reply_since_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    /// Times spent waiting for the holder.
    pub pauses: Vec<sla::Pause>,
    /// Targets already reported at 80 % and at breach (each once).
    pub warned: Vec<sla::Target>,
    pub breached: Vec<sla::Target>,
    /// What this case appeals: `hold:<id>` or `case:<id>`.
    pub appeal_of: Option<String>,
    /// The staff member who resolved it (an appeal goes to someone else).
    pub decided_by: Option<String>,
    /// The case this one was merged into (it is closed then).
    pub merged_into: Option<String>,
}

impl Case {
    /// A case as it is opened at `at_ms`: new, tier 1, normal priority, in English from the
    /// portal with no subject yet, nobody assigned, no clock history and no links. Callers set
    /// the rest with struct update syntax.
    pub fn opened(id: String, number: i64, account_id: String, category: CaseCategory, at_ms: i64) -> Case {
        Case {
            id,
            number,
            account_id,
            category,
            priority: Priority::Normal,
            status: CaseStatus::New,
            subject: String::new(),
            intake: BTreeMap::new(),
            language: Locale::En,
            channel: Channel::Portal,
            tier: 1,
            assignee_id: None,
            routing: None,
            hold_id: None,
            linked_from: None,
            created_at_ms: at_ms,
            updated_at_ms: at_ms,
            first_response_at_ms: None,
            awaiting_reply_since_ms: None,
            resolved_at_ms: None,
            closed_at_ms: None,
            pauses: vec![],
            warned: vec![],
            breached: vec![],
            appeal_of: None,
            decided_by: None,
            merged_into: None,
        }
    }

    pub fn reference(&self) -> String {
        case_ref(self.number)
    }

    /// The targets running now, each with the instant its clock started.
    pub fn running_targets(&self) -> Vec<(sla::Target, i64)> {
        if !self.status.is_active() {
            return vec![];
        }
        let mut running = vec![];
        match (self.first_response_at_ms, self.awaiting_reply_since_ms) {
            (None, _) => running.push((sla::Target::FirstResponse, self.created_at_ms)),
            (Some(_), Some(since)) if self.status != CaseStatus::PendingCustomer => {
                running.push((sla::Target::NextReply, since))
            }
            _ => {}
        }
        running.push((sla::Target::Resolution, self.created_at_ms));
        running
    }

    /// When each running target falls due on `calendar` under `policy` (`None` while paused).
    pub fn deadlines(&self, policy: &sla::SlaPolicy, calendar: &sla::Calendar) -> Vec<(sla::Target, Option<i64>)> {
        self.running_targets()
            .into_iter()
            .map(|(t, start)| (t, calendar.add_business_ms(start, policy.targets.of(t), &self.pauses)))
            .collect()
    }

    /// The deadline of the next step (first response or next reply), if one is running.
    pub fn next_step_due(&self, policy: &sla::SlaPolicy, calendar: &sla::Calendar) -> Option<i64> {
        self.deadlines(policy, calendar).into_iter().find(|(t, _)| *t != sla::Target::Resolution).and_then(|(_, d)| d)
    }

    pub fn resolution_due(&self, policy: &sla::SlaPolicy, calendar: &sla::Calendar) -> Option<i64> {
        self.deadlines(policy, calendar).into_iter().find(|(t, _)| *t == sla::Target::Resolution).and_then(|(_, d)| d)
    }

    /// Moves the case to `to` at `now_ms`, keeping the pauses and timestamps the clock needs.
    pub fn set_status(&mut self, to: CaseStatus, now_ms: i64) {
        let from = self.status;
        if from == to {
            return;
        }
        if from == CaseStatus::PendingCustomer
            && let Some(p) = self.pauses.iter_mut().find(|p| p.end_ms.is_none())
        {
            p.end_ms = Some(now_ms);
        }
        if to == CaseStatus::PendingCustomer {
            self.pauses.push(sla::Pause { start_ms: now_ms, end_ms: None });
        }
        match to {
            CaseStatus::Resolved => self.resolved_at_ms = Some(now_ms),
            CaseStatus::Closed => {
                self.closed_at_ms = Some(now_ms);
                self.resolved_at_ms.get_or_insert(now_ms);
            }
            CaseStatus::Open if !from.is_active() => {
                // Reopened: the resolution clock counts again; what was reported stays reported.
                self.resolved_at_ms = None;
                self.closed_at_ms = None;
            }
            _ => {}
        }
        self.status = to;
        self.updated_at_ms = now_ms;
    }
}

/// The human-friendly number of a case, as shown everywhere: `C-10042`.
pub fn case_ref(number: i64) -> String {
    format!("C-{number}")
}

/// Parses `C-10042`, `c-10042` or `10042`.
pub fn parse_case_ref(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix("C-").or_else(|| s.strip_prefix("c-")).unwrap_or(s);
    digits.parse().ok().filter(|n| *n > 0)
}

/// A case's subject: required, one line, at most 120 characters.
pub fn validate_subject(s: &str) -> Result<String, Invalid> {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Err(Invalid::new("subject", "required", "subject: say in a few words what happened"));
    }
    if s.chars().count() > 120 {
        return Err(Invalid::new("subject", "too_long", "subject: at most 120 characters"));
    }
    Ok(s)
}

/// A message body: required, at most 20,000 characters.
pub fn validate_body(field: &str, s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Invalid::new(field, "required", format!("{field}: write a message")));
    }
    if s.chars().count() > 20_000 {
        return Err(Invalid::new(field, "too_long", format!("{field}: at most 20,000 characters")));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_reply_reopens_within_seven_days_and_opens_a_linked_case_after() {
        let resolved = 1_000_000;
        assert_eq!(
            CaseStatus::Resolved.on_holder_reply(Some(resolved), resolved + REOPEN_WINDOW_MS),
            HolderReply::Reopen
        );
        assert_eq!(
            CaseStatus::Resolved.on_holder_reply(Some(resolved), resolved + REOPEN_WINDOW_MS + 1),
            HolderReply::NewLinkedCase
        );
        assert_eq!(CaseStatus::Closed.on_holder_reply(Some(resolved), resolved + 1), HolderReply::NewLinkedCase);
        assert_eq!(CaseStatus::PendingCustomer.on_holder_reply(None, 0), HolderReply::BackToDesk);
        assert_eq!(CaseStatus::Open.on_holder_reply(None, 0), HolderReply::Append);
    }

    #[test]
    fn closed_is_final_and_nothing_goes_back_to_new() {
        for s in CaseStatus::ALL {
            assert!(!CaseStatus::Closed.can_become(*s));
            assert!(!s.can_become(CaseStatus::New));
        }
        assert!(CaseStatus::Open.can_become(CaseStatus::PendingCustomer));
        assert!(CaseStatus::Resolved.can_become(CaseStatus::Open));
        assert!(!CaseStatus::Resolved.can_become(CaseStatus::PendingInternal));
    }

    fn case(now: i64) -> Case {
        Case { subject: "s".into(), ..Case::opened("c1".into(), 10001, "a".into(), CaseCategory::AssetFreeze, now) }
    }

    #[test]
    fn waiting_for_the_holder_stops_every_clock_and_the_reply_restarts_it() {
        let hour = 3_600_000;
        let cal = sla::Calendar::around_the_clock();
        let policy = sla::default_policy(CaseCategory::AssetFreeze, Priority::Normal);
        let mut c = case(0);
        assert_eq!(c.next_step_due(&policy, &cal), Some(4 * hour), "first response 4 h");
        assert_eq!(c.resolution_due(&policy, &cal), Some(24 * hour));
        c.first_response_at_ms = Some(hour);
        c.set_status(CaseStatus::PendingCustomer, hour);
        assert_eq!(c.next_step_due(&policy, &cal), None, "nothing due from the desk");
        assert_eq!(c.resolution_due(&policy, &cal), None, "paused");
        c.set_status(CaseStatus::Open, 11 * hour);
        c.awaiting_reply_since_ms = Some(11 * hour);
        assert_eq!(c.next_step_due(&policy, &cal), Some(19 * hour), "next reply 8 h after the holder wrote");
        assert_eq!(c.resolution_due(&policy, &cal), Some(34 * hour), "24 h plus the 10 h pause");
        c.set_status(CaseStatus::Resolved, 12 * hour);
        assert!(c.running_targets().is_empty());
        c.set_status(CaseStatus::Open, 13 * hour);
        assert_eq!(c.resolved_at_ms, None);
        assert_eq!(c.resolution_due(&policy, &cal), Some(34 * hour), "a reopened case keeps its clock");
    }

    #[test]
    fn case_numbers_read_back_in_every_spelling() {
        assert_eq!(case_ref(10042), "C-10042");
        for s in ["C-10042", "c-10042", " 10042 "] {
            assert_eq!(parse_case_ref(s), Some(10042));
        }
        assert_eq!(parse_case_ref("C-"), None);
        assert_eq!(parse_case_ref("C-0"), None);
        assert_eq!(parse_case_ref("H-12"), None);
    }

    #[test]
    fn priority_rises_one_step_and_stops_at_urgent() {
        assert_eq!(Priority::Low.raised(), Priority::Normal);
        assert_eq!(Priority::Urgent.raised(), Priority::Urgent);
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.code()), Some(*p));
        }
    }
}
