//! A desk at scale, for benchmarks (`thaw seed scale`): a year of synthetic history — a million
//! cases, millions of messages, a few hundred staff, hundreds of thousands of holders and their
//! holds — written in bulk, fast, into the very tables and formats the desk uses, so that the
//! queues, the case view, search and the enforcement call are measured on what they really read.
//!
//! Cases arrive evenly over `days`; those of the last three days are mostly still being worked
//! and a tail of older ones waits for their holders, everything else is resolved or closed.
//! Each case lives its conversation through the same domain rules the desk applies (status
//! changes, pauses while waiting for the holder, first response and next reply), and its SLA
//! deadline, warnings and breaches come from the desk's own SLA policies. The text is zh-CN and
//! en recombined from the shipped articles, the triage messages and the demo cases, so search
//! meets realistic words. Deterministic for a given seed.

use crate::cases::Desk;
use crate::{ServiceError, passwords};
use std::collections::HashMap;
use thaw_domain::case::routing::{Note, Unrouted, Why};
use thaw_domain::case::sla::Standing;
use thaw_domain::case::{Case, CaseStatus, Channel, Priority};
use thaw_domain::risk::hold::{Hold, HoldOrigin, HoldStatus, ReleasePolicy, Scope, ScopeSet};
use thaw_domain::risk::reason::Reason;
use thaw_domain::{Account, AccountId, CaseCategory, Email, Locale, NewStaff, Role, Skills};
use thaw_store::bulk::{Batch, Loader};
use thaw_store::{Capabilities, Db, Message, StoreError, TimelineEntry};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Cases written per transaction.
const CASES_PER_BATCH: u64 = 5_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct ScaleSpec {
    pub cases: u64,
    pub messages: u64,
    pub accounts: u64,
    pub staff: u64,
    /// Days of history the cases are spread over, ending now.
    pub days: i64,
    pub seed: u64,
}

impl Default for ScaleSpec {
    fn default() -> Self {
        ScaleSpec { cases: 1_000_000, messages: 5_000_000, accounts: 200_000, staff: 300, days: 365, seed: 1 }
    }
}

/// How far the generation is.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub cases: u64,
    pub messages: u64,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct ScaleReport {
    pub staff: u64,
    pub accounts: u64,
    pub cases: u64,
    /// Cases still being worked (not resolved or closed).
    pub active: u64,
    pub messages: u64,
    pub timeline: u64,
    pub holds: u64,
    /// The first and last case numbers.
    pub numbers: (i64, i64),
}

/// A small, fast, deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn by weight.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as u64) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A UUIDv7 for the instant `at_ms`, as thaw's ids are.
    fn id(&mut self, at_ms: i64) -> String {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next().to_le_bytes());
        random[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(at_ms.max(0) as u64, &random).into_uuid().to_string()
    }
}

/// The words the history is written with, by language.
struct Corpus {
    /// Holders' messages by (category, language).
    holder: HashMap<(CaseCategory, Locale), Vec<String>>,
    /// Subjects by (category, language).
    subjects: HashMap<(CaseCategory, Locale), Vec<String>>,
    /// Paragraphs an agent writes, by language.
    agent: HashMap<Locale, Vec<String>>,
    /// Internal notes, by language.
    notes: HashMap<Locale, Vec<String>>,
}

fn language_of(text: &str) -> Locale {
    if text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) { Locale::ZhCn } else { Locale::En }
}

/// The first line of `text`, at most `max` characters.
fn opening(text: &str, max: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    line.chars().take(max).collect()
}

impl Corpus {
    fn load() -> Result<Corpus, ServiceError> {
        let mut c =
            Corpus { holder: HashMap::new(), subjects: HashMap::new(), agent: HashMap::new(), notes: HashMap::new() };
        let examples = thaw_text::triage::read_csv(crate::triage::SHIPPED_CSV.as_bytes(), "text", "category")
            .map_err(|e| ServiceError::Internal(format!("triage messages: {e}")))?;
        for e in examples {
            let Some(category) = CaseCategory::parse(&e.label) else { continue };
            let lang = language_of(&e.text);
            c.subjects.entry((category, lang)).or_default().push(opening(&e.text, 40));
            c.holder.entry((category, lang)).or_default().push(e.text);
        }
        for d in crate::demo_cases::texts()? {
            let Some(category) = CaseCategory::parse(&d.category) else { continue };
            let lang = Locale::parse_canonical(&d.locale).unwrap_or(Locale::En);
            c.subjects.entry((category, lang)).or_default().push(d.subject.clone());
            for (from, body) in d.messages {
                match from.as_str() {
                    "holder" => c.holder.entry((category, lang)).or_default().push(body),
                    "agent" => c.agent.entry(lang).or_default().push(body),
                    _ => c.notes.entry(lang).or_default().push(body),
                }
            }
        }
        for (locale, _, src) in crate::knowledge::SHIPPED {
            let lang = Locale::parse_canonical(locale).unwrap_or(Locale::En);
            let paragraphs = src
                .split("\n\n")
                .map(|p| p.trim())
                .filter(|p| p.chars().count() > 30 && !p.starts_with('#') && !p.starts_with("---"))
                .map(|p| thaw_text::markdown::to_text(p).trim().to_string());
            c.agent.entry(lang).or_default().extend(paragraphs);
        }
        let notes: [(Locale, &[&str]); 2] = [
            (
                Locale::ZhCn,
                &[
                    "已核对登录记录，设备与常用地一致，暂无异常。",
                    "用户情绪较激动，已安抚，等待风控复核结果。",
                    "提现地址与历史地址不一致，建议二级复核后再解除限制。",
                    "已联系支付渠道确认到账情况，预计明天回复。",
                    "KYC 资料已补齐，转合规同事确认。",
                ],
            ),
            (
                Locale::En,
                &[
                    "Checked the sign-in history: device and location match the usual ones.",
                    "Holder is upset; reassured them, waiting for the risk review.",
                    "Withdrawal address differs from the history, tier 2 should review before lifting.",
                    "Asked the payment provider to confirm the deposit, expecting an answer tomorrow.",
                    "KYC documents complete now, handing to compliance for a look.",
                ],
            ),
        ];
        for (lang, list) in notes {
            c.notes.entry(lang).or_default().extend(list.iter().map(|s| s.to_string()));
        }
        Ok(c)
    }

    fn holder_text(&self, rng: &mut Rng, category: CaseCategory, lang: Locale) -> String {
        let own = self.holder.get(&(category, lang)).filter(|v| !v.is_empty());
        let list = own.or_else(|| self.holder.get(&(CaseCategory::Other, lang))).map(Vec::as_slice).unwrap_or(&[]);
        if list.is_empty() {
            return "?".into();
        }
        let first = rng.pick(list).clone();
        if rng.chance(0.5) { format!("{first}\n{}", rng.pick(list)) } else { first }
    }

    fn subject(&self, rng: &mut Rng, category: CaseCategory, lang: Locale, body: &str) -> String {
        match self.subjects.get(&(category, lang)).filter(|v| !v.is_empty()) {
            Some(list) if rng.chance(0.7) => rng.pick(list).clone(),
            _ => opening(body, 40),
        }
    }

    fn agent_text(&self, rng: &mut Rng, lang: Locale) -> String {
        let list = self.agent.get(&lang).map(Vec::as_slice).unwrap_or(&[]);
        if list.is_empty() {
            return "…".into();
        }
        let (hello, bye) = match lang {
            Locale::ZhCn => ("您好，", "如有其他问题，请直接回复本工单。"),
            Locale::En => ("Hello, ", "If anything else comes up, just reply to this case."),
        };
        let body = rng.pick(list);
        if rng.chance(0.4) {
            format!("{hello}\n{body}\n{}\n{bye}", rng.pick(list))
        } else {
            format!("{hello}\n{body}\n{bye}")
        }
    }

    fn note_text(&self, rng: &mut Rng, lang: Locale) -> String {
        self.notes.get(&lang).filter(|v| !v.is_empty()).map(|v| rng.pick(v).clone()).unwrap_or_default()
    }
}

/// A staff member as the generator routes to.
struct Agent {
    id: String,
    role: Role,
    languages: Vec<Locale>,
    capacity: i64,
}

/// Seeds the history into the (migrated) database at `url`, which must hold no case yet.
/// `progress` is told after every batch.
pub async fn seed(
    db: &Db,
    url: &str,
    desk: &Desk,
    spec: &ScaleSpec,
    now_ms: i64,
    mut progress: impl FnMut(Progress),
) -> Result<ScaleReport, ServiceError> {
    let mut rng = Rng(spec.seed);
    let corpus = Corpus::load()?;
    let first_number = {
        let mut conn = db.conn().await?;
        if !conn.cases().is_empty().await? {
            return Err(ServiceError::Conflict {
                code: "not_empty",
                message: "this database already has cases; seed the desk at scale into a fresh database".into(),
            });
        }
        conn.cases().peek_next_number().await?
    };
    let mut report = ScaleReport::default();
    let agents = seed_staff(db, spec, &mut rng, now_ms).await?;
    report.staff = agents.len() as u64;
    let mut loader = Loader::open(url).await?;
    let mut batch = Batch::default();
    // Holders: ids as a platform would have them, 60 % choosing Chinese.
    let mut locales = Vec::with_capacity(spec.accounts as usize);
    for i in 0..spec.accounts {
        let locale = if rng.chance(0.6) { Locale::ZhCn } else { Locale::En };
        locales.push(locale);
        let created = now_ms - 3 * 365 * DAY + rng.below(3 * 365 * DAY as u64) as i64;
        batch.account(&Account {
            id: AccountId::parse("id", &account_id(i))?,
            email: Some(Email::parse("email", &format!("holder{i}@mail.example"))?),
            phone: None,
            locale,
            kyc_level: rng.below(4) as i64,
            vip_level: if rng.chance(0.9) { 0 } else { 1 + rng.below(5) as i64 },
            created_at_ms: created,
            updated_at_ms: created,
        });
        if batch.len() >= 50_000 {
            loader.write(&mut batch).await?;
        }
    }
    loader.write(&mut batch).await?;
    report.accounts = spec.accounts;
    let agents_for = |lang: Locale, tier: u8| -> Vec<&Agent> {
        agents
            .iter()
            .filter(|a| a.languages.contains(&lang))
            .filter(|a| tier == 1 || matches!(a.role, Role::AgentT2 | Role::Supervisor))
            .collect()
    };
    let pools: HashMap<(Locale, u8), Vec<&Agent>> =
        [(Locale::ZhCn, 1), (Locale::ZhCn, 2), (Locale::En, 1), (Locale::En, 2)]
            .into_iter()
            .map(|k| (k, agents_for(k.0, k.1)))
            .collect();
    // Each holder's latest case, for follow-ups and repeat contacts.
    let mut latest: HashMap<u64, (String, CaseCategory, i64)> = HashMap::new();
    let span = spec.days.max(1) * DAY;
    let start = now_ms - span;
    let mut messages_left = spec.messages;
    for i in 0..spec.cases {
        let cases_left = spec.cases - i;
        let created = start + ((i as i128 * span as i128) / spec.cases.max(1) as i128) as i64;
        let created = created + rng.below((span / spec.cases.max(1) as i64).max(1) as u64) as i64;
        let holder = ((rng.unit().powf(1.6)) * spec.accounts as f64) as u64 % spec.accounts.max(1);
        let lang = if rng.chance(0.9) { locales[holder as usize] } else { other(locales[holder as usize]) };
        // Messages of this case: at least one, on average what is left per case left.
        let mean = messages_left as f64 / cases_left as f64;
        let count = if cases_left == 1 {
            messages_left
        } else {
            let p = (1.0 / mean.max(1.0)).min(1.0);
            let extra = if p >= 1.0 { 0.0 } else { (rng.unit().max(1e-12).ln() / (1.0 - p).ln()).floor() };
            (1 + extra as u64).min(40).min(messages_left.saturating_sub(cases_left - 1)).max(1)
        };
        messages_left -= count.min(messages_left);
        let number = first_number + i as i64;
        let previous = latest.get(&holder).cloned();
        let mut life = Life { rng: &mut rng, corpus: &corpus, desk, batch: &mut batch, now_ms };
        let lived = life.case(number, holder, lang, created, count, &pools, previous.as_ref())?;
        report.messages += lived.messages;
        report.timeline += lived.timeline;
        report.holds += lived.holds;
        report.active += lived.active as u64;
        latest.insert(holder, (lived.id, lived.category, created));
        report.cases += 1;
        if (i + 1) % CASES_PER_BATCH == 0 || i + 1 == spec.cases {
            loader.write(&mut batch).await?;
            progress(Progress { cases: report.cases, messages: report.messages });
        }
    }
    loader.settle().await?;
    loader.close().await?;
    if spec.cases > 0 {
        let mut conn = db.conn().await?;
        conn.cases().set_number_counter(first_number + spec.cases as i64 - 1).await?;
        report.numbers = (first_number, first_number + spec.cases as i64 - 1);
    }
    // Running servers index the new messages too.
    crate::search::request_rebuild(db, now_ms).await?;
    Ok(report)
}

/// The platform's id of the i-th synthetic holder.
pub fn account_id(i: u64) -> String {
    format!("u{}", 10_000_000 + i)
}

fn other(l: Locale) -> Locale {
    if l == Locale::ZhCn { Locale::En } else { Locale::ZhCn }
}

/// The staff: a few supervisors, a fifth tier 2, the rest tier 1, each with a few categories and
/// one or both languages; all share the demo password.
async fn seed_staff(db: &Db, spec: &ScaleSpec, rng: &mut Rng, now_ms: i64) -> Result<Vec<Agent>, ServiceError> {
    let hash = passwords::hash(crate::demo::DEMO_PASSWORD);
    let mut tx = db.begin_write().await?;
    let mut agents = vec![];
    for i in 0..spec.staff {
        let role = match i * 100 / spec.staff.max(1) {
            0..=2 => Role::Supervisor,
            3..=22 => Role::AgentT2,
            _ => Role::AgentT1,
        };
        let languages = match rng.below(100) {
            0..=44 => vec![Locale::ZhCn],
            45..=69 => vec![Locale::En],
            _ => vec![Locale::ZhCn, Locale::En],
        };
        let mut categories: Vec<CaseCategory> = CaseCategory::ALL.to_vec();
        while categories.len() > 3 + rng.below(3) as usize {
            categories.remove(rng.below(categories.len() as u64) as usize);
        }
        let skills = Skills { categories, languages: languages.clone() };
        let capacity = 8 + rng.below(23) as i64;
        let email = format!("agent{i:03}@scale.thaw.example");
        let name = format!("{} {i:03}", if languages[0] == Locale::ZhCn { "坐席" } else { "Agent" });
        let new = NewStaff::validate(&email, Some(&name), role.code(), skills, capacity, languages[0])?;
        let id = rng.id(now_ms);
        tx.staff().create(&id, &new, &hash, now_ms).await?;
        agents.push(Agent { id, role, languages, capacity });
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(agents)
}

/// One case lived from opening to now.
struct Lived {
    id: String,
    category: CaseCategory,
    active: bool,
    messages: u64,
    timeline: u64,
    holds: u64,
}

struct Life<'a> {
    rng: &'a mut Rng,
    corpus: &'a Corpus,
    desk: &'a Desk,
    batch: &'a mut Batch,
    now_ms: i64,
}

const CATEGORY_WEIGHTS: [u32; 9] = [14, 16, 6, 10, 5, 14, 22, 5, 8];
const CHANNELS: [Channel; 6] =
    [Channel::Portal, Channel::Email, Channel::Api, Channel::Bot, Channel::Staff, Channel::Automatic];
const CHANNEL_WEIGHTS: [u32; 6] = [45, 25, 10, 15, 3, 2];

impl Life<'_> {
    #[allow(clippy::too_many_arguments)]
    fn case(
        &mut self,
        number: i64,
        holder: u64,
        lang: Locale,
        created: i64,
        count: u64,
        pools: &HashMap<(Locale, u8), Vec<&Agent>>,
        previous: Option<&(String, CaseCategory, i64)>,
    ) -> Result<Lived, ServiceError> {
        let now = self.now_ms;
        let rng = &mut *self.rng;
        let category = CaseCategory::ALL[rng.weighted(&CATEGORY_WEIGHTS)];
        let channel = CHANNELS[rng.weighted(&CHANNEL_WEIGHTS)];
        let mut priority = if category.is_security() { Priority::High } else { Priority::Normal };
        if rng.chance(0.1) {
            priority = priority.raised();
        } else if rng.chance(0.1) {
            priority = Priority::Low;
        }
        let tier = if (category.is_security() && rng.chance(0.3)) || rng.chance(0.05) { 2 } else { 1 };
        let age = now - created;
        // Still worked: most of the last three days, a tenth of the month before (waiting for
        // their holders); the rest of the history is done.
        let active = (age < 3 * DAY && rng.chance(0.85)) || (age < 30 * DAY && rng.chance(0.1));
        let pool = &pools[&(lang, tier)];
        let agent = if pool.is_empty() || (active && rng.chance(0.15)) { None } else { Some(*rng.pick(pool)) };
        let account_id = account_id(holder);
        let body = self.corpus.holder_text(rng, category, lang);
        let subject = self.corpus.subject(rng, category, lang, &body);
        let id = rng.id(created);
        let routing = match agent {
            Some(a) => Note::Routed(Why {
                category,
                language: lang,
                open: rng.below(a.capacity as u64) as i64,
                capacity: a.capacity,
                dedicated: false,
                round_robin: rng.chance(0.3),
                tier,
            }),
            None => Note::Unassigned { why: Unrouted::NobodyOnline },
        };
        let follow_up = previous.filter(|p| created - p.2 < 30 * DAY && rng.chance(0.05)).map(|p| p.0.clone());
        let mut case = Case {
            priority,
            subject,
            language: lang,
            channel,
            tier,
            assignee_id: agent.map(|a| a.id.clone()),
            routing: Some(routing.clone()),
            linked_from: follow_up.clone(),
            ..Case::opened(id.clone(), number, account_id.clone(), category, created)
        };
        let mut lived = Lived { id: id.clone(), category, active, messages: 0, timeline: 0, holds: 0 };
        // A hold behind a third of freezes and thefts: in force while the case is worked.
        if matches!(category, CaseCategory::AssetFreeze | CaseCategory::AccountTheft) && rng.chance(0.33) {
            let hold_id = rng.id(created - HOUR);
            let reason = Reason::new(
                "manual_review",
                Default::default(),
                "账户安全复核中，暂停提现",
                "Withdrawals paused during a security review",
            );
            let release = if category == CaseCategory::AccountTheft {
                ReleasePolicy::Agent
            } else {
                ReleasePolicy::Owner { factors: 1, wait_ms: 0 }
            };
            let scopes = if category == CaseCategory::AccountTheft {
                ScopeSet::new([Scope::All])
            } else {
                ScopeSet::new([Scope::Withdraw])
            };
            let hold = Hold {
                id: hold_id.clone(),
                account_id: account_id.clone(),
                scopes,
                origin: HoldOrigin::Risk,
                release,
                reason,
                confidential: false,
                created_at_ms: created - HOUR,
                expires_at_ms: None,
                cooldown_ms: None,
                amount: None,
                decision_id: None,
                status: if active { HoldStatus::Active } else { HoldStatus::Released },
                released_at_ms: None,
                released_by: None,
            };
            case.hold_id = Some(hold_id.clone());
            self.batch.hold(&hold, "risk");
            self.batch.attach(&id, "hold", &hold_id);
            lived.holds = 1;
        }
        if let Some(p) = previous {
            self.batch.attach(&id, "case", &p.0);
            if p.1 == category && created - p.2 < 7 * DAY && follow_up.is_none() {
                self.batch.attach(&id, "repeat_of", &p.0);
            }
        }
        let mut timeline = vec![
            (
                "holder".to_string(),
                "opened",
                serde_json::json!({"channel": channel.code(), "category": category.code(), "priority": priority.code()}),
                true,
                created,
            ),
            ("thaw".to_string(), "routed", serde_json::json!(routing), false, created),
        ];
        // The conversation: the holder's description, then turns until now (or the end).
        let end = if active {
            now - rng.below((age / 4).max(1) as u64) as i64
        } else {
            created + HOUR + rng.below((age.min(6 * DAY)) as u64) as i64
        };
        let end = end.clamp(created + 1, now);
        let step = ((end - created) / count.max(1) as i64).max(1);
        let staff_id = agent.map(|a| a.id.clone());
        let mut last_author = "holder";
        for k in 0..count {
            let at = if k == 0 { created } else { created + k as i64 * step + rng.below(step as u64 / 2 + 1) as i64 };
            let at = at.min(end);
            let holder_turn = k == 0
                || (k % 2 == 0 && rng.chance(0.85))
                || staff_id.is_none()
                || (active && case.first_response_at_ms.is_none() && rng.chance(0.15) && k == count - 1);
            let (author_kind, author_id, internal, text, channel_code) = if holder_turn {
                let text = if k == 0 { body.clone() } else { self.corpus.holder_text(rng, category, lang) };
                ("holder", Some(account_id.clone()), false, text, channel.code())
            } else if rng.chance(0.15) {
                ("staff", staff_id.clone(), true, self.corpus.note_text(rng, lang), Channel::Staff.code())
            } else {
                ("staff", staff_id.clone(), false, self.corpus.agent_text(rng, lang), Channel::Staff.code())
            };
            if holder_turn {
                if k > 0 {
                    if case.first_response_at_ms.is_some() && case.awaiting_reply_since_ms.is_none() {
                        case.awaiting_reply_since_ms = Some(at);
                    }
                    if case.status == CaseStatus::PendingCustomer {
                        case.set_status(CaseStatus::Open, at);
                        timeline.push((
                            "holder".into(),
                            "status",
                            serde_json::json!({"to": "open", "by": "holder"}),
                            true,
                            at,
                        ));
                    }
                }
                last_author = "holder";
            } else if !internal {
                case.first_response_at_ms.get_or_insert(at);
                case.awaiting_reply_since_ms = None;
                if case.status == CaseStatus::New {
                    case.set_status(CaseStatus::Open, at);
                }
                // A reply usually asks the holder something.
                if rng.chance(0.5) && case.status != CaseStatus::PendingCustomer {
                    let actor = format!("staff:{}", staff_id.clone().unwrap_or_default());
                    timeline.push((
                        actor,
                        "status",
                        serde_json::json!({"from": case.status.code(), "to": "pending_customer"}),
                        true,
                        at,
                    ));
                    case.set_status(CaseStatus::PendingCustomer, at);
                }
                last_author = "staff";
            }
            case.updated_at_ms = at;
            self.batch.message(&Message {
                id: rng.id(at),
                case_id: id.clone(),
                author_kind: author_kind.into(),
                author_id,
                internal,
                body: text,
                channel: channel_code.into(),
                created_at_ms: at,
            });
            lived.messages += 1;
        }
        if active {
            if last_author == "staff" && case.status == CaseStatus::Open && rng.chance(0.4) {
                case.set_status(CaseStatus::PendingInternal, end);
            }
        } else {
            // Reported while it ran, as the SLA job would have.
            self.report_standing(&mut case, end);
            let actor = format!("staff:{}", staff_id.clone().unwrap_or_default());
            timeline.push((
                actor.clone(),
                "status",
                serde_json::json!({"from": case.status.code(), "to": "resolved"}),
                true,
                end,
            ));
            case.set_status(CaseStatus::Resolved, end);
            case.decided_by = staff_id.clone();
            if end + 3 * DAY < now {
                timeline.push((
                    "thaw".into(),
                    "status",
                    serde_json::json!({"from": "resolved", "to": "closed"}),
                    true,
                    end + 3 * DAY,
                ));
                case.set_status(CaseStatus::Closed, end + 3 * DAY);
            }
        }
        if active {
            self.report_standing(&mut case, now);
        }
        for (actor, kind, data, public, at) in timeline {
            self.batch.timeline(&TimelineEntry {
                id: self.rng.id(at),
                case_id: id.clone(),
                at_ms: at,
                actor,
                kind: kind.into(),
                data,
                public,
            });
            lived.timeline += 1;
        }
        let next_due = self.desk.next_due(&case);
        self.batch.case(&case, next_due, lived.messages as i64);
        Ok(lived)
    }

    /// Marks the targets at 80 % as warned and those past due as breached, at `at`.
    fn report_standing(&self, case: &mut Case, at: i64) {
        for (target, _, standing) in self.desk.standings(case, at) {
            if matches!(standing, Standing::AtRisk | Standing::Breached) && !case.warned.contains(&target) {
                case.warned.push(target);
            }
            if standing == Standing::Breached && !case.breached.contains(&target) {
                case.breached.push(target);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_has_text_for_every_category_and_language() {
        let c = Corpus::load().unwrap();
        let mut rng = Rng(7);
        for category in CaseCategory::ALL {
            for lang in Locale::ALL {
                let text = c.holder_text(&mut rng, category, lang);
                assert!(text.chars().count() > 5, "{category:?} {lang:?}: {text}");
                assert!(!c.subject(&mut rng, category, lang, &text).is_empty());
            }
        }
        for lang in Locale::ALL {
            assert!(c.agent.get(&lang).is_some_and(|v| v.len() > 20), "{lang:?}");
            assert!(!c.note_text(&mut rng, lang).is_empty());
        }
    }

    #[test]
    fn ids_are_uuid_v7_ordered_by_time() {
        let mut rng = Rng(1);
        let (a, b) = (rng.id(1_700_000_000_000), rng.id(1_700_000_000_001));
        assert!(a < b, "{a} < {b}");
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
    }
}
