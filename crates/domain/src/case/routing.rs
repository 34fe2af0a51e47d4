//! Who works a case: the agent with the category's skill and the case's language who is online
//! and under capacity, least loaded first, round robin among equals; a VIP's dedicated agent when
//! online; tier-2 cases only to tier 2 and supervisors; never above capacity. The answer says why.

use crate::{CaseCategory, Locale, Role};

/// A staff member as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub role: Role,
    pub categories: Vec<CaseCategory>,
    pub languages: Vec<Locale>,
    pub online: bool,
    pub open_cases: i64,
    pub capacity: i64,
    /// When they were last given a case (round robin among equally loaded agents).
    pub last_assigned_ms: i64,
}

/// What is being routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub category: CaseCategory,
    pub language: Locale,
    /// 1 or 2; tier 2 goes to tier-2 agents and supervisors.
    pub tier: u8,
    pub dedicated_agent: Option<String>,
    /// Staff who must not get it (an appeal never goes to whoever decided).
    pub exclude: Vec<String>,
}

/// Where the case went and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    Agent { id: String, why: Why },
    Unassigned { why: Unrouted },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Why {
    pub category: CaseCategory,
    pub language: Locale,
    /// Open cases before this one, and the capacity.
    pub open: i64,
    pub capacity: i64,
    pub dedicated: bool,
    /// Several agents were equally loaded; the one who waited longest got it.
    pub round_robin: bool,
    pub tier: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unrouted {
    /// Nobody has the skill and language at this tier.
    NoSkilledAgent,
    /// Skilled agents exist but none is online.
    NobodyOnline,
    /// Everyone skilled and online is at capacity.
    AllAtCapacity,
}

/// What is kept on the case about its routing, to show why it sits where it does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    Routed(Why),
    Unassigned {
        why: Unrouted,
    },
    /// Assigned by hand by a staff member.
    ByHand {
        by: String,
    },
}

impl Note {
    pub fn describe(&self, locale: Locale) -> String {
        match self {
            Note::Routed(why) => why.describe(locale),
            Note::Unassigned { why } => why.describe(locale).to_string(),
            Note::ByHand { by } => match locale {
                Locale::ZhCn => format!("由 {by} 手动分配"),
                Locale::En => format!("assigned by hand by {by}"),
            },
        }
    }
}

impl From<&Routed> for Note {
    fn from(r: &Routed) -> Note {
        match r {
            Routed::Agent { why, .. } => Note::Routed(why.clone()),
            Routed::Unassigned { why } => Note::Unassigned { why: *why },
        }
    }
}

impl Why {
    /// "skill asset_freeze, zh-CN, 3/8 open" — as the desk shows it.
    pub fn describe(&self, locale: Locale) -> String {
        let mut s = match locale {
            Locale::ZhCn => format!(
                "技能 {}，{}，{}/{} 个进行中",
                self.category.code(),
                self.language.code(),
                self.open,
                self.capacity
            ),
            Locale::En => format!(
                "skill {}, {}, {}/{} open",
                self.category.code(),
                self.language.code(),
                self.open,
                self.capacity
            ),
        };
        let extra = match (locale, self.dedicated, self.round_robin, self.tier) {
            (Locale::ZhCn, true, _, _) => Some("VIP 专属客服"),
            (Locale::En, true, _, _) => Some("VIP's dedicated agent"),
            (Locale::ZhCn, false, true, _) => Some("同等负载中轮流分配"),
            (Locale::En, false, true, _) => Some("round robin among equals"),
            _ => None,
        };
        if let Some(e) = extra {
            s.push_str(if locale == Locale::ZhCn { "，" } else { ", " });
            s.push_str(e);
        }
        if self.tier >= 2 {
            s.push_str(if locale == Locale::ZhCn { "，二线" } else { ", tier 2" });
        }
        s
    }
}

impl Unrouted {
    pub fn code(self) -> &'static str {
        match self {
            Unrouted::NoSkilledAgent => "no_skilled_agent",
            Unrouted::NobodyOnline => "nobody_online",
            Unrouted::AllAtCapacity => "all_at_capacity",
        }
    }

    pub fn describe(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Unrouted::NoSkilledAgent, Locale::ZhCn) => "没有具备该技能和语言的客服",
            (Unrouted::NoSkilledAgent, Locale::En) => "nobody has this skill and language",
            (Unrouted::NobodyOnline, Locale::ZhCn) => "具备技能的客服均不在线，上线后分配",
            (Unrouted::NobodyOnline, Locale::En) => "no skilled agent is online; offered again when one comes online",
            (Unrouted::AllAtCapacity, Locale::ZhCn) => "在线客服均已满负荷，有空位后分配",
            (Unrouted::AllAtCapacity, Locale::En) => {
                "every skilled agent online is at capacity; offered again when one has room"
            }
        }
    }
}

fn works_tier(role: Role, tier: u8) -> bool {
    match tier {
        0 | 1 => matches!(role, Role::AgentT1 | Role::AgentT2),
        _ => matches!(role, Role::AgentT2 | Role::Supervisor),
    }
}

/// Picks the agent for `req` among `candidates`.
pub fn route(req: &Request, candidates: &[Candidate]) -> Routed {
    let skilled: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| works_tier(c.role, req.tier))
        .filter(|c| c.categories.contains(&req.category) && c.languages.contains(&req.language))
        .filter(|c| !req.exclude.contains(&c.id))
        .collect();
    let why = |c: &Candidate, dedicated: bool, round_robin: bool| Why {
        category: req.category,
        language: req.language,
        open: c.open_cases,
        capacity: c.capacity,
        dedicated,
        round_robin,
        tier: req.tier,
    };
    let has_room = |c: &&Candidate| c.online && c.open_cases < c.capacity;
    if let Some(vip) = &req.dedicated_agent
        && let Some(c) = candidates
            .iter()
            .filter(|c| !req.exclude.contains(&c.id) && (works_tier(c.role, req.tier) || c.role == Role::Supervisor))
            .find(|c| &c.id == vip && has_room(c))
    {
        return Routed::Agent { id: c.id.clone(), why: why(c, true, false) };
    }
    if skilled.is_empty() {
        return Routed::Unassigned { why: Unrouted::NoSkilledAgent };
    }
    let online: Vec<&&Candidate> = skilled.iter().filter(|c| c.online).collect();
    if online.is_empty() {
        return Routed::Unassigned { why: Unrouted::NobodyOnline };
    }
    let with_room: Vec<&Candidate> = skilled.iter().copied().filter(has_room).collect();
    // Least loaded by share of capacity, then by count; among equals the longest waiting.
    let load = |c: &Candidate| (c.open_cases * 1_000_000) / c.capacity.max(1);
    let Some(least) = with_room.iter().map(|c| (load(c), c.open_cases)).min() else {
        return Routed::Unassigned { why: Unrouted::AllAtCapacity };
    };
    let equals: Vec<&Candidate> = with_room.into_iter().filter(|c| (load(c), c.open_cases) == least).collect();
    let chosen = equals.iter().min_by_key(|c| (c.last_assigned_ms, c.id.clone())).expect("non-empty");
    Routed::Agent { id: chosen.id.clone(), why: why(chosen, false, equals.len() > 1) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseCategory::*;

    fn agent(
        id: &str,
        role: Role,
        cats: &[CaseCategory],
        langs: &[Locale],
        online: bool,
        open: i64,
        cap: i64,
    ) -> Candidate {
        Candidate {
            id: id.into(),
            role,
            categories: cats.to_vec(),
            languages: langs.to_vec(),
            online,
            open_cases: open,
            capacity: cap,
            last_assigned_ms: 0,
        }
    }

    fn req(category: CaseCategory, language: Locale) -> Request {
        Request { category, language, tier: 1, dedicated_agent: None, exclude: vec![] }
    }

    fn chosen(r: &Routed) -> &str {
        match r {
            Routed::Agent { id, .. } => id,
            Routed::Unassigned { why } => why.code(),
        }
    }

    #[test]
    fn routing_table() {
        use Locale::*;
        use Role::*;
        let zh = &[ZhCn][..];
        let en = &[En][..];
        let both = &[ZhCn, En][..];
        // (case, agents, expected agent or reason)
        let table: Vec<(Request, Vec<Candidate>, &str)> = vec![
            // skill decides
            (
                req(AssetFreeze, ZhCn),
                vec![
                    agent("a", AgentT1, &[TradeDispute], zh, true, 0, 8),
                    agent("b", AgentT1, &[AssetFreeze], zh, true, 5, 8),
                ],
                "b",
            ),
            // language decides
            (
                req(AssetFreeze, En),
                vec![
                    agent("a", AgentT1, &[AssetFreeze], zh, true, 0, 8),
                    agent("b", AgentT1, &[AssetFreeze], both, true, 5, 8),
                ],
                "b",
            ),
            // least loaded (share of capacity)
            (
                req(AssetFreeze, En),
                vec![
                    agent("a", AgentT1, &[AssetFreeze], en, true, 4, 8),
                    agent("b", AgentT1, &[AssetFreeze], en, true, 3, 4),
                ],
                "a",
            ),
            // offline agents get nothing
            (
                req(AssetFreeze, En),
                vec![
                    agent("a", AgentT1, &[AssetFreeze], en, false, 0, 8),
                    agent("b", AgentT1, &[AssetFreeze], en, true, 7, 8),
                ],
                "b",
            ),
            // never above capacity
            (req(AssetFreeze, En), vec![agent("a", AgentT1, &[AssetFreeze], en, true, 8, 8)], "all_at_capacity"),
            (req(AssetFreeze, En), vec![agent("a", AgentT1, &[AssetFreeze], en, true, 0, 0)], "all_at_capacity"),
            (req(AssetFreeze, En), vec![agent("a", AgentT1, &[AssetFreeze], en, false, 0, 8)], "nobody_online"),
            (req(AssetFreeze, En), vec![agent("a", AgentT1, &[AssetFreeze], zh, true, 0, 8)], "no_skilled_agent"),
            // security categories only to whoever holds the security skills
            (
                req(AccountTheft, ZhCn),
                vec![
                    agent("a", AgentT1, &[AssetFreeze], zh, true, 0, 8),
                    agent("sec", AgentT2, &[AccountTheft, PhishingReport], zh, true, 6, 8),
                ],
                "sec",
            ),
            // compliance officers and admins are not routed cases
            (
                req(Other, En),
                vec![agent("c", Compliance, &[Other], en, true, 0, 8), agent("ad", Admin, &[Other], en, true, 0, 8)],
                "no_skilled_agent",
            ),
            // tier 2 goes past tier 1
            (
                Request { tier: 2, ..req(Complaint, En) },
                vec![
                    agent("t1", AgentT1, &[Complaint], en, true, 0, 8),
                    agent("t2", AgentT2, &[Complaint], en, true, 6, 8),
                ],
                "t2",
            ),
            (
                Request { tier: 2, ..req(Complaint, En) },
                vec![agent("t1", AgentT1, &[Complaint], en, true, 0, 8)],
                "no_skilled_agent",
            ),
            // an appeal never returns to whoever decided
            (
                Request { exclude: vec!["t2".into()], tier: 2, ..req(AssetFreeze, En) },
                vec![
                    agent("t2", AgentT2, &[AssetFreeze], en, true, 0, 8),
                    agent("s", Supervisor, &[AssetFreeze], en, true, 5, 8),
                ],
                "s",
            ),
            // a VIP's dedicated agent when online and with room, even if busier
            (
                Request { dedicated_agent: Some("vip".into()), ..req(AssetFreeze, En) },
                vec![
                    agent("a", AgentT1, &[AssetFreeze], en, true, 0, 8),
                    agent("vip", AgentT2, &[Other], en, true, 6, 8),
                ],
                "vip",
            ),
            (
                Request { dedicated_agent: Some("vip".into()), ..req(AssetFreeze, En) },
                vec![
                    agent("a", AgentT1, &[AssetFreeze], en, true, 0, 8),
                    agent("vip", AgentT2, &[AssetFreeze], en, false, 0, 8),
                ],
                "a",
            ),
            (
                Request { dedicated_agent: Some("vip".into()), ..req(AssetFreeze, En) },
                vec![
                    agent("a", AgentT1, &[AssetFreeze], en, true, 0, 8),
                    agent("vip", AgentT2, &[AssetFreeze], en, true, 8, 8),
                ],
                "a",
            ),
        ];
        for (i, (r, agents, expected)) in table.iter().enumerate() {
            assert_eq!(chosen(&route(r, agents)), *expected, "row {i}");
        }
    }

    #[test]
    fn equals_take_turns_and_the_reason_says_so() {
        let mut a = agent("a", Role::AgentT1, &[AssetFreeze], &[Locale::ZhCn], true, 3, 8);
        let mut b = a.clone();
        b.id = "b".into();
        a.last_assigned_ms = 200;
        b.last_assigned_ms = 100;
        let routed = route(&req(AssetFreeze, Locale::ZhCn), &[a.clone(), b.clone()]);
        let Routed::Agent { id, why } = routed else { panic!("routed nowhere") };
        assert_eq!(id, "b", "b waited longest");
        assert!(why.round_robin);
        assert_eq!(why.describe(Locale::En), "skill asset_freeze, zh-CN, 3/8 open, round robin among equals");
        assert_eq!(why.describe(Locale::ZhCn), "技能 asset_freeze，zh-CN，3/8 个进行中，同等负载中轮流分配");
        b.last_assigned_ms = 300;
        assert_eq!(chosen(&route(&req(AssetFreeze, Locale::ZhCn), &[a, b])), "a");
    }
}
