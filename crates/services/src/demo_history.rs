//! A month of history for `thaw serve --demo`, so that every analytics chart has a shape: about
//! 600 cases over the last 30 days (resolved and open, some late, some repeat contacts, with
//! their conversation, timeline and ratings), the assistant's conversations, help-centre searches
//! and articles shown, and holds that their owners (or agents) lifted.
//!
//! The story the charts tell: a busy weekday desk and quiet weekends; a phishing campaign two
//! weeks ago that doubled account-theft and phishing reports for a week (and the searches and
//! self-freezes that came with it); most holds thawed by their owners within hours; agent2, who
//! takes the disputes and complaints, rated lower than the others.
//!
//! Everything is planned first by pure functions ([`plan`]) from a fixed seed and `now_ms` —
//! no clock, no operating-system randomness, so the same instant always gives the same month —
//! and then written straight through the store capabilities, not through the case services
//! (those route, use the clock and send emails and webhooks). Nothing written here is still in
//! force: every history hold has ended, and open cases carry the SLA warnings and breaches they
//! have earned already, so the SLA job does not report them again.

use crate::cases::{Desk, REPEAT_WINDOW_MS, entry};
use crate::demo::{DEMO_ACCOUNTS, demo_account};
use crate::holds::{COOLDOWN_REASON, HoldPlan, from_plan};
use crate::{ServiceError, new_id, rfc3339};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use thaw_domain::case::routing::{Note, Unrouted, Why};
use thaw_domain::case::sla::{Pause, Standing, Target};
use thaw_domain::case::{Case, CaseStatus, Channel, Priority};
use thaw_domain::risk::reason::{fact_int, fact_str};
use thaw_domain::risk::{Facts, Hold, HoldOrigin, HoldStatus, Money, Reason, ReleasePolicy, Scope, ScopeSet};
use thaw_domain::{AccountId, CaseCategory, Email, Locale, StaffMember};
use thaw_store::{AnyConnection, BotSession, Capabilities, Db, Message, Rating, StoreError, Tx};

/// The setting that marks the history as seeded.
const SEEDED: &str = "demo_history_seeded";

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// How far back the history reaches: today and the 29 days before it (the analytics default).
const DAYS: i64 = 30;
/// Cases per transaction (and per progress report).
const BATCH: usize = 50;
/// Other rows (conversations, searches, articles shown, holds) per transaction.
const ROWS_PER_COMMIT: usize = 500;
/// The seed of the month's pseudo-random stream ("thaw-his").
const SEED: u64 = 0x7468_6177_2d68_6973;

/// Demo accounts kept out of the history: the security centre's demo holders (demo_security.rs),
/// whose portal a newcomer opens first.
const RESERVED: std::ops::RangeInclusive<usize> = 290..=295;

// ---- the shape of the month ---------------------------------------------------------------------

/// Cases a day, before a little jitter (±20 %).
const WEEKDAY_CASES: i64 = 25;
const WEEKEND_CASES: i64 = 8;
/// The phishing campaign: these days ago, account theft and phishing reports come in twice as
/// often (and with them searches for fake support, and self-freezes).
const CAMPAIGN_DAYS_AGO: std::ops::RangeInclusive<i64> = 8..=14;

/// The categories' shares in percent (they sum to 100).
const CATEGORY_WEIGHTS: [(CaseCategory, u32); 9] = [
    (CaseCategory::AccountAccess, 25),
    (CaseCategory::AssetFreeze, 20),
    (CaseCategory::DepositWithdrawal, 18),
    (CaseCategory::Verification, 10),
    (CaseCategory::AccountTheft, 8),
    (CaseCategory::PhishingReport, 7),
    (CaseCategory::TradeDispute, 6),
    (CaseCategory::Complaint, 4),
    (CaseCategory::Other, 2),
];

/// How cases come in, in percent.
const CHANNEL_WEIGHTS: [(Channel, u32); 4] =
    [(Channel::Portal, 55), (Channel::Email, 25), (Channel::Bot, 15), (Channel::Api, 5)];

/// Cases written in Chinese, in percent (the rest in English).
const ZH_PERCENT: u32 = 55;
/// Cases that arrive within business hours (08:00–20:00 UTC), in percent; the rest any time.
const BUSINESS_HOURS_PERCENT: u32 = 85;
const BUSINESS_START: i64 = 8 * HOUR;
const BUSINESS_END: i64 = 20 * HOUR;

/// First responses and resolutions after their target, in percent (SLA attainment ≈ 90 %).
const LATE_FIRST_RESPONSE_PERCENT: u32 = 8;
const LATE_RESOLUTION_PERCENT: u32 = 10;
/// Cases where the agent first asks the holder for something (the clock pauses), in percent.
const ASKS_HOLDER_PERCENT: u32 = 25;
/// Repeat contacts: the same holder about the same thing within a week, in percent.
const REPEAT_PERCENT: u32 = 10;
/// Resolved cases the holder rated, in percent.
const RATED_PERCENT: u32 = 45;

/// Assistant conversations a day besides those handed over to a case.
const WEEKDAY_BOT_EXTRA: i64 = 11;
const WEEKEND_BOT_EXTRA: i64 = 6;
/// Of those, the share the holder said were solved, in percent (≈ 35 % of all conversations).
const BOT_SOLVED_PERCENT: u32 = 47;

const WEEKDAY_SEARCHES: i64 = 45;
const WEEKEND_SEARCHES: i64 = 30;
/// Searches by agents at the desk rather than holders in the help centre, in percent.
const DESK_SEARCH_PERCENT: u32 = 30;
/// Searches for a term that usually finds something but this time found nothing, in percent.
const MISSED_SEARCH_PERCENT: u32 = 8;

const WEEKDAY_SHOWS: i64 = 70;
const WEEKEND_SHOWS: i64 = 45;
/// Where articles are shown, as search.rs records it: in help-centre results, opened, or in the
/// assistant's answers.
const SHOW_SURFACES: [(&str, u32); 3] = [("help", 50), ("opened", 25), ("assistant", 25)];

/// Holds the risk engine (and holders freezing themselves) place a day.
const HOLDS_PER_DAY: i64 = 4;
/// Holds are planned only if placed this long before now, so that each has ended by now.
const HOLD_SETTLED: i64 = 3 * HOUR;
/// The default policy's cool-down after a lifted travel hold or self-freeze, and the self-freeze wait.
const COOLDOWN_MS: i64 = 24 * HOUR;
const SELF_FREEZE_WAIT_MS: i64 = 2 * HOUR;

// ---- entry points -----------------------------------------------------------------------------

/// Seeds 30 days of resolved and open cases, ratings, assistant conversations, searches, articles
/// shown and self-service releases, once (a setting marks it done). Returns how many cases it
/// added. SLA deadlines are those of the default desk (09:00–18:00 UTC, Monday to Friday); see
/// [`seed_month_on`] to use the configured desk.
pub async fn seed_month(db: &Db, now_ms: i64, progress: impl FnMut(usize, usize)) -> Result<usize, ServiceError> {
    let desk = Desk::from_settings("UTC", "09:00-18:00", "mon-fri", "")?;
    seed_month_on(db, &desk, now_ms, progress).await
}

/// As [`seed_month`], with the SLA policies and calendars of `desk`.
pub async fn seed_month_on(
    db: &Db,
    desk: &Desk,
    now_ms: i64,
    mut progress: impl FnMut(usize, usize),
) -> Result<usize, ServiceError> {
    let mut tx = db.begin_write().await?;
    if tx.staff().setting(SEEDED).await?.is_some() {
        return Ok(0);
    }
    let first = AccountId::parse("id", &account_id(0))?;
    if tx.accounts().get(&first).await?.is_none() {
        return Err(ServiceError::NotFound("demo account"));
    }
    let staff = DemoStaff::load(&mut tx).await?;
    // Teams, so that analytics can compare them.
    for agent in Agent::ALL {
        if let Some(team) = agent.team() {
            tx.staff().set_team(&staff.member(agent).id, team, now_ms).await?;
        }
    }

    let month = plan(desk, now_ms);
    let total = month.cases.len();
    // Case numbers as written, by index, for the repeat contacts' timeline.
    let mut numbers: Vec<i64> = Vec::with_capacity(total);
    for (i, planned) in month.cases.iter().enumerate() {
        let earlier = planned.repeat_of.map(|j| (month.cases[j].case.id.as_str(), numbers[j]));
        numbers.push(write_case(&mut tx, planned, earlier, &staff).await?);
        if (i + 1) % BATCH == 0 || i + 1 == total {
            tx = renew(db, tx).await?;
            progress(i + 1, total);
        }
    }

    let mut rows = 0;
    for session in &month.bots {
        tx.texts().save_bot_session(session).await?;
        rows += 1;
        if rows % ROWS_PER_COMMIT == 0 {
            tx = renew(db, tx).await?;
        }
    }
    for s in &month.searches {
        tx.texts().log_search(&new_id(), s.at, s.surface, s.locale.code(), s.query, s.results).await?;
        rows += 1;
        if rows % ROWS_PER_COMMIT == 0 {
            tx = renew(db, tx).await?;
        }
    }
    for s in &month.shows {
        tx.texts().log_article_shown(&new_id(), s.at, s.slug, s.surface).await?;
        rows += 1;
        if rows % ROWS_PER_COMMIT == 0 {
            tx = renew(db, tx).await?;
        }
    }
    for h in &month.holds {
        write_hold(&mut tx, &h.hold, h.placed_by, &h.note, &h.end, &staff).await?;
        if let Some((cool, end)) = &h.cooldown {
            write_hold(&mut tx, cool, "thaw", "cool-down after release", end, &staff).await?;
        }
        rows += 1;
        if rows % ROWS_PER_COMMIT == 0 {
            tx = renew(db, tx).await?;
        }
    }
    tx.staff().set_setting(SEEDED, &rfc3339(now_ms), now_ms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(total)
}

/// Commits `tx` and starts the next write transaction.
async fn renew(db: &Db, tx: Tx) -> Result<Tx, ServiceError> {
    tx.commit().await.map_err(StoreError::from)?;
    Ok(db.begin_write().await?)
}

// ---- a small deterministic random stream ---------------------------------------------------------

/// xorshift64*: small, fast and good enough for a demo; the same seed gives the same month.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // The state must never be zero.
        Rng(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `[0, n)` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True `p` times in 100.
    fn percent(&mut self, p: u32) -> bool {
        self.below(100) < u64::from(p)
    }

    /// A number in `[lo, hi)` (`lo` when the range is empty).
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { lo + self.below((hi - lo) as u64) as i64 }
    }

    /// A number in `[lo, hi]`, spread evenly on a log scale: many short waits, a few long ones.
    fn log_between(&mut self, lo: i64, hi: i64) -> i64 {
        let lo = lo.max(1);
        if hi <= lo {
            return lo;
        }
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + (b - a) * self.unit()).exp().round() as i64).clamp(lo, hi)
    }

    /// One of `items`, each as often as its weight says.
    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(u64::from(total)) as u32;
        for (item, w) in items {
            if r < *w {
                return *item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ---- days and times -------------------------------------------------------------------------

/// Midnight UTC of the day of `ms`.
fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY) * DAY
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
fn weekday(ms: i64) -> i64 {
    (ms.div_euclid(DAY) + 3).rem_euclid(7)
}

fn is_weekend(ms: i64) -> bool {
    weekday(ms) >= 5
}

/// An instant within business hours (08:00–20:00 UTC) of the day starting at `day`, busiest in
/// the early afternoon (the mean of two even draws).
fn business_time(rng: &mut Rng, day: i64) -> i64 {
    let span = (BUSINESS_END - BUSINESS_START) as u64;
    let offset = (rng.below(span) + rng.below(span)) / 2;
    day + BUSINESS_START + offset as i64
}

/// When something happens on the day starting at `day`: mostly in business hours, now and then
/// at night.
fn arrival(rng: &mut Rng, day: i64) -> i64 {
    if rng.percent(BUSINESS_HOURS_PERCENT) { business_time(rng, day) } else { day + rng.below(DAY as u64) as i64 }
}

/// `base` give or take a fifth.
fn jittered(rng: &mut Rng, base: i64) -> i64 {
    base + rng.between(-base / 5, base / 5 + 1)
}

/// `n` arrivals on the day starting at `day`, those after `now_ms` left out.
fn arrivals_until(rng: &mut Rng, day: i64, n: i64, now_ms: i64) -> Vec<i64> {
    (0..n).map(|_| arrival(rng, day)).filter(|t| *t < now_ms).collect()
}

/// When the cases of the day starting at `day` were opened, in order. Today has as many as the
/// share of the day gone by, most of them in the last hours (so the backlog's youngest bucket
/// is never empty).
fn case_arrivals(rng: &mut Rng, day: i64, now_ms: i64, campaign: bool) -> Vec<i64> {
    let base = if is_weekend(day) { WEEKEND_CASES } else { WEEKDAY_CASES };
    let mut n = jittered(rng, base);
    if campaign {
        // Doubling two categories worth 15 % adds 15 % to the day.
        n = n * 115 / 100;
    }
    let mut times: Vec<i64> = if day + DAY <= now_ms {
        (0..n).map(|_| arrival(rng, day)).collect()
    } else {
        let elapsed = (now_ms - day).max(30 * MIN);
        let n = (n * (now_ms - day).max(0) / DAY).max(4);
        // The first within the last three hours, whatever the time of day.
        (0..n)
            .map(|k| now_ms - rng.log_between(10 * MIN, if k == 0 { elapsed.min(3 * HOUR) } else { elapsed }))
            .collect()
    };
    times.sort_unstable();
    times
}

/// The category weights of a day: in the campaign, account theft and phishing reports double.
fn category_weights(campaign: bool) -> [(CaseCategory, u32); 9] {
    let mut weights = CATEGORY_WEIGHTS;
    if campaign {
        for (category, weight) in weights.iter_mut() {
            if category.is_security() {
                *weight *= 2;
            }
        }
    }
    weights
}

/// The chance, in percent, that a case of this age is resolved by now (if its resolution time
/// has come): about 85 % of those older than two days, fewer of the younger, none of those
/// opened in the last four hours (the backlog's youngest bucket).
fn resolved_percent(age_ms: i64) -> u32 {
    match age_ms {
        a if a >= 7 * DAY => 90,
        a if a >= 3 * DAY => 80,
        a if a >= 2 * DAY => 70,
        a if a >= DAY => 45,
        a if a >= 4 * HOUR => 20,
        _ => 0,
    }
}

// ---- who works the history ----------------------------------------------------------------------

/// The demo staff who worked the month (demo.rs), by the part they play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agent {
    ZhDesk,
    EnDesk,
    /// agent2: tier 2, disputes and complaints, some freezes and withdrawals.
    Tier2,
    Security,
    /// Lifts self-freezes (a supervisor only may help there); works no history case.
    Supervisor,
}

impl Agent {
    /// In the order of their discriminants (see `DemoStaff`).
    const ALL: [Agent; 5] = [Agent::ZhDesk, Agent::EnDesk, Agent::Tier2, Agent::Security, Agent::Supervisor];

    fn email(self) -> &'static str {
        match self {
            Agent::ZhDesk => "agent1.zh@thaw.example",
            Agent::EnDesk => "agent1.en@thaw.example",
            Agent::Tier2 => "agent2@thaw.example",
            Agent::Security => "security@thaw.example",
            Agent::Supervisor => "supervisor@thaw.example",
        }
    }

    fn team(self) -> Option<&'static str> {
        match self {
            Agent::ZhDesk => Some("zh-desk"),
            Agent::EnDesk => Some("en-desk"),
            Agent::Tier2 | Agent::Security => Some("security"),
            Agent::Supervisor => None,
        }
    }

    /// How many open history cases stay assigned to them; the rest wait unassigned, so that
    /// the live demo's cases still find an agent under capacity.
    fn open_slots(self) -> usize {
        match self {
            Agent::ZhDesk | Agent::EnDesk | Agent::Security => 2,
            Agent::Tier2 => 1,
            Agent::Supervisor => 0,
        }
    }

    /// Their holders' ratings (score, weight): agent2 gets the hard cases, and it shows.
    fn scores(self) -> &'static [(i64, u32)] {
        match self {
            Agent::Tier2 => &[(5, 30), (4, 25), (3, 20), (2, 13), (1, 12)],
            _ => &[(5, 58), (4, 24), (3, 9), (2, 5), (1, 4)],
        }
    }

    fn desk(language: Locale) -> Agent {
        match language {
            Locale::ZhCn => Agent::ZhDesk,
            Locale::En => Agent::EnDesk,
        }
    }

    /// Who works a case, by the skills demo.rs gives them.
    fn for_case(rng: &mut Rng, category: CaseCategory, language: Locale) -> Agent {
        use CaseCategory::*;
        match category {
            AccountTheft | PhishingReport => Agent::Security,
            TradeDispute | Complaint => Agent::Tier2,
            AssetFreeze | DepositWithdrawal if rng.percent(20) => Agent::Tier2,
            _ => Agent::desk(language),
        }
    }
}

/// The demo staff as stored, indexed by [`Agent`].
struct DemoStaff(Vec<StaffMember>);

impl DemoStaff {
    async fn load(conn: &mut AnyConnection) -> Result<DemoStaff, ServiceError> {
        let mut members = Vec::with_capacity(Agent::ALL.len());
        for agent in Agent::ALL {
            let email = Email::parse("email", agent.email())?;
            let found = conn.staff().credentials_by_email(&email).await?;
            members.push(found.map(|c| c.member).ok_or(ServiceError::NotFound("demo staff"))?);
        }
        Ok(DemoStaff(members))
    }

    fn member(&self, agent: Agent) -> &StaffMember {
        &self.0[agent as usize]
    }

    fn label(&self, agent: Agent) -> String {
        format!("staff:{}", self.member(agent).id)
    }
}

// ---- the demo accounts ------------------------------------------------------------------------

fn account_id(index: usize) -> String {
    format!("demo-{}", 10_001 + index)
}

/// The demo accounts by language, with their VIP levels (demo.rs makes them deterministic).
struct Accounts {
    zh: Vec<usize>,
    en: Vec<usize>,
    locale: Vec<Locale>,
    vip: Vec<i64>,
}

impl Accounts {
    fn new(now_ms: i64) -> Accounts {
        let mut a = Accounts { zh: vec![], en: vec![], locale: vec![], vip: vec![] };
        for i in 0..DEMO_ACCOUNTS {
            let account = demo_account(i, now_ms);
            a.locale.push(account.locale);
            a.vip.push(account.vip_level);
            if RESERVED.contains(&i) {
                continue;
            }
            match account.locale {
                Locale::ZhCn => a.zh.push(i),
                Locale::En => a.en.push(i),
            }
        }
        a
    }

    fn of(&self, rng: &mut Rng, language: Locale) -> usize {
        let pool = if language == Locale::ZhCn { &self.zh[..] } else { &self.en[..] };
        *rng.pick(pool)
    }

    /// Any account, with its language.
    fn any(&self, rng: &mut Rng) -> (usize, Locale) {
        let language = if rng.percent(60) { Locale::ZhCn } else { Locale::En };
        let i = self.of(rng, language);
        (i, self.locale[i])
    }
}

// ---- the plan ---------------------------------------------------------------------------------

/// Everything the month holds, before it is written.
#[derive(Debug, Default)]
struct Month {
    /// In the order they were opened.
    cases: Vec<PlannedCase>,
    bots: Vec<BotSession>,
    searches: Vec<Search>,
    shows: Vec<Show>,
    holds: Vec<PlannedHold>,
}

#[derive(Debug, Clone)]
struct PlannedCase {
    /// Number and assignee are filled in when written.
    case: Case,
    account: usize,
    agent: Agent,
    /// Whether it is (still) assigned to `agent`.
    assigned: bool,
    /// The earlier case (index) this one repeats.
    repeat_of: Option<usize>,
    /// When the holder answered the agent's question and the clock ran again.
    resumed_at: Option<i64>,
    /// Missed targets with the instant each deadline passed (for the timeline).
    breaches: Vec<(Target, i64)>,
    next_due_at: Option<i64>,
    /// (score, when)
    rating: Option<(i64, i64)>,
    /// Which of the category's texts it uses.
    variant: usize,
}

#[derive(Debug, Clone)]
struct Search {
    at: i64,
    surface: &'static str,
    locale: Locale,
    query: &'static str,
    results: i64,
}

#[derive(Debug, Clone)]
struct Show {
    at: i64,
    slug: &'static str,
    surface: &'static str,
}

/// Who ended a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The holder with step-up (the actor freeze.rs records).
    Owner,
    /// thaw itself: the hold expired.
    Thaw,
    Staff(Agent),
}

#[derive(Debug, Clone)]
struct HoldEnd {
    at: i64,
    status: HoldStatus,
    by: Who,
    note: &'static str,
}

#[derive(Debug, Clone)]
struct PlannedHold {
    /// Active as placed; `end` closes it.
    hold: Hold,
    placed_by: &'static str,
    note: String,
    end: HoldEnd,
    /// The withdrawal cool-down that followed a release, when it has run out by now.
    cooldown: Option<(Hold, HoldEnd)>,
}

/// The month ending at `now_ms`, deterministic for a given `now_ms` and desk.
fn plan(desk: &Desk, now_ms: i64) -> Month {
    let mut rng = Rng::new(SEED);
    let accounts = Accounts::new(now_ms);
    let today = day_start(now_ms);
    let mut month = Month::default();
    for days_ago in (0..DAYS).rev() {
        let day = today - days_ago * DAY;
        let campaign = CAMPAIGN_DAYS_AGO.contains(&days_ago);
        for at in case_arrivals(&mut rng, day, now_ms, campaign) {
            let planned = plan_case(&mut rng, desk, &accounts, &month.cases, at, campaign, now_ms);
            if planned.case.channel == Channel::Bot {
                month.bots.push(handed_over(&mut rng, &planned));
            }
            month.cases.push(planned);
        }
        plan_conversations(&mut rng, &accounts, day, now_ms, campaign, &mut month.bots);
        plan_searches(&mut rng, day, now_ms, campaign, &mut month.searches);
        plan_shows(&mut rng, day, now_ms, campaign, &mut month.shows);
        plan_holds(&mut rng, &accounts, day, now_ms, campaign, &mut month.holds);
    }
    assign_open_cases(&mut month.cases);
    month
}

/// One case opened at `created`, and how it went until `now_ms`.
fn plan_case(
    rng: &mut Rng,
    desk: &Desk,
    accounts: &Accounts,
    earlier: &[PlannedCase],
    created: i64,
    campaign: bool,
    now_ms: i64,
) -> PlannedCase {
    // A repeat contact: the same holder writes again about the same thing within a week.
    let repeat_of = if rng.percent(REPEAT_PERCENT) {
        let recent: Vec<usize> = earlier
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, c)| c.case.created_at_ms >= created - REPEAT_WINDOW_MS)
            .map(|(i, _)| i)
            .collect();
        (!recent.is_empty()).then(|| *rng.pick(&recent))
    } else {
        None
    };
    let (account, category, language) = match repeat_of {
        Some(i) => (earlier[i].account, earlier[i].case.category, earlier[i].case.language),
        None => {
            let language = if rng.percent(ZH_PERCENT) { Locale::ZhCn } else { Locale::En };
            let category = rng.weighted(&category_weights(campaign));
            (accounts.of(rng, language), category, language)
        }
    };
    let channel = rng.weighted(&CHANNEL_WEIGHTS);
    // As cases.rs: security first, VIPs one step higher.
    let base = if category.is_security() { Priority::High } else { Priority::Normal };
    let priority = if accounts.vip[account] > 0 { base.raised() } else { base };
    let agent = Agent::for_case(rng, category, language);
    let variant = rng.below(3) as usize;
    let mut case = Case {
        priority,
        subject: pick_text(subject(category, language), variant).to_string(),
        intake: intake(rng, category, language, created),
        language,
        channel,
        ..Case::opened(new_id(), 0, account_id(account), category, created)
    };
    let targets = desk.policy(&case).targets;
    let calendar = desk.calendar_for(&case);

    // The first reply: on time mostly, now and then late. Business time, as the SLA counts it.
    let first_business = if rng.percent(LATE_FIRST_RESPONSE_PERCENT) {
        rng.log_between(targets.first_response_ms * 11 / 10, targets.first_response_ms * 4)
    } else {
        rng.log_between((10 * MIN).min(targets.first_response_ms / 2), targets.first_response_ms * 9 / 10)
    };
    let first_at = calendar.add_business_ms(created, first_business, &[]).unwrap_or(created + first_business);
    // Sometimes the agent needs something from the holder first; the clock waits for the answer.
    let asks_holder = rng.percent(ASKS_HOLDER_PERCENT);
    let answered_at = first_at + rng.log_between(HOUR, 2 * DAY);
    let pauses = if asks_holder { vec![Pause { start_ms: first_at, end_ms: Some(answered_at) }] } else { vec![] };
    let resolution_business = if rng.percent(LATE_RESOLUTION_PERCENT) {
        rng.log_between(targets.resolution_ms * 21 / 20, targets.resolution_ms * 2)
    } else {
        let floor = (first_business + 30 * MIN).max(HOUR);
        rng.log_between(floor, (targets.resolution_ms * 19 / 20).max(floor + MIN))
    };
    let resolved_at =
        calendar.add_business_ms(created, resolution_business, &pauses).unwrap_or(answered_at + resolution_business);
    let age = now_ms - created;
    let (mut rating, mut resumed_at) = (None, None);
    // A missed target is reported once, with its warning, at the instant its deadline passed.
    let mut breaches: Vec<(Target, i64)> = vec![];
    let mut missed = |target: Target, deadline: Option<i64>, c: &mut Case| {
        if !c.breached.contains(&target) {
            c.breached.push(target);
        }
        if !c.warned.contains(&target) {
            c.warned.push(target);
        }
        if let Some(at) = deadline.filter(|at| *at <= now_ms) {
            breaches.push((target, at));
        }
    };

    if resolved_at < now_ms - 5 * MIN && rng.percent(resolved_percent(age)) {
        // Resolved (and, some days later, closed).
        case.first_response_at_ms = Some(first_at);
        case.pauses = pauses.clone();
        case.status = CaseStatus::Resolved;
        case.resolved_at_ms = Some(resolved_at);
        case.updated_at_ms = resolved_at;
        if resolved_at + 3 * DAY < now_ms && rng.percent(60) {
            case.status = CaseStatus::Closed;
            case.closed_at_ms = Some(resolved_at + 3 * DAY);
            case.updated_at_ms = resolved_at + 3 * DAY;
        }
        if calendar.business_ms_between(created, first_at, &[]) >= targets.first_response_ms {
            let deadline = calendar.add_business_ms(created, targets.first_response_ms, &[]);
            missed(Target::FirstResponse, deadline, &mut case);
        }
        if calendar.business_ms_between(created, resolved_at, &pauses) >= targets.resolution_ms {
            let deadline = calendar.add_business_ms(created, targets.resolution_ms, &pauses);
            missed(Target::Resolution, deadline, &mut case);
        }
        if rng.percent(RATED_PERCENT) {
            let at = resolved_at + rng.log_between(10 * MIN, 2 * DAY);
            if at < now_ms {
                let mut score = rng.weighted(agent.scores());
                if !case.breached.is_empty() && rng.percent(50) {
                    score = (score - 1).max(1);
                }
                rating = Some((score, at));
            }
        }
        resumed_at = asks_holder.then_some(answered_at);
    } else if first_at < now_ms - MIN {
        // Answered, not resolved: waiting for the holder, worked internally, or open (perhaps
        // with a new message from the holder).
        case.first_response_at_ms = Some(first_at);
        case.updated_at_ms = first_at;
        let roll = rng.below(100);
        let (waiting, internal) = if age < DAY { (roll < 30, false) } else { (roll < 55, (55..75).contains(&roll)) };
        if waiting {
            case.status = CaseStatus::PendingCustomer;
            case.pauses = vec![Pause { start_ms: first_at, end_ms: None }];
        } else if internal {
            case.status = CaseStatus::PendingInternal;
        } else {
            case.status = CaseStatus::Open;
            if rng.percent(40) {
                let since = first_at + rng.between((now_ms - first_at) / 5, (now_ms - first_at) * 9 / 10);
                case.awaiting_reply_since_ms = Some(since);
                case.updated_at_ms = since;
            }
        }
        if calendar.business_ms_between(created, first_at, &[]) >= targets.first_response_ms {
            let deadline = calendar.add_business_ms(created, targets.first_response_ms, &[]);
            missed(Target::FirstResponse, deadline, &mut case);
        }
    }
    // Whatever still runs: reported at 80 % and at breach already, as the SLA job would have.
    for (target, deadline, standing) in desk.standings(&case, now_ms) {
        match standing {
            Standing::Breached => missed(target, deadline, &mut case),
            Standing::AtRisk if !case.warned.contains(&target) => case.warned.push(target),
            _ => {}
        }
    }
    let next_due_at = desk.next_due(&case);
    PlannedCase { case, account, agent, assigned: true, repeat_of, resumed_at, breaches, next_due_at, rating, variant }
}

/// Open cases stay with their agent while the agent has a free history slot (the youngest
/// first); the others wait unassigned. Resolved cases keep whoever resolved them.
fn assign_open_cases(cases: &mut [PlannedCase]) {
    let mut slots: Vec<usize> = Agent::ALL.iter().map(|a| a.open_slots()).collect();
    for c in cases.iter_mut().rev().filter(|c| c.case.status.is_active()) {
        let free = &mut slots[c.agent as usize];
        c.assigned = *free > 0;
        *free = free.saturating_sub(1);
    }
}

/// The conversation with the assistant that ended in this bot-channel case.
fn handed_over(rng: &mut Rng, c: &PlannedCase) -> BotSession {
    let started = c.case.created_at_ms - rng.between(2, 7) * MIN;
    let confidence = if rng.percent(40) {
        format!("0.{:03}", rng.between(180, 350))
    } else {
        format!("0.{:03}", rng.between(400, 800))
    };
    BotSession {
        id: new_id(),
        account_id: c.case.account_id.clone(),
        locale: c.case.language.code().into(),
        transcript: transcript(rng, c.case.category, c.case.language, "handed_over", started),
        predicted: Some(c.case.category.code().into()),
        confidence: Some(confidence),
        outcome: "handed_over".into(),
        case_id: Some(c.case.id.clone()),
        created_at_ms: started,
        updated_at_ms: c.case.created_at_ms,
    }
}

/// The day's other conversations: solved by an article, or left without an answer.
fn plan_conversations(
    rng: &mut Rng,
    accounts: &Accounts,
    day: i64,
    now_ms: i64,
    campaign: bool,
    out: &mut Vec<BotSession>,
) {
    let n = jittered(rng, if is_weekend(day) { WEEKEND_BOT_EXTRA } else { WEEKDAY_BOT_EXTRA });
    for at in arrivals_until(rng, day, n, now_ms - 10 * MIN) {
        let (account, locale) = accounts.any(rng);
        let category = rng.weighted(&category_weights(campaign));
        let outcome = if rng.percent(BOT_SOLVED_PERCENT) { "solved" } else { "open" };
        out.push(BotSession {
            id: new_id(),
            account_id: account_id(account),
            locale: locale.code().into(),
            transcript: transcript(rng, category, locale, outcome, at),
            predicted: Some(category.code().into()),
            confidence: Some(format!("0.{:03}", rng.between(450, 950))),
            outcome: outcome.into(),
            case_id: None,
            created_at_ms: at,
            updated_at_ms: at + rng.between(1, 7) * MIN,
        });
    }
}

fn plan_searches(rng: &mut Rng, day: i64, now_ms: i64, campaign: bool, out: &mut Vec<Search>) {
    let weights: Vec<(usize, u32)> = SEARCH_TERMS
        .iter()
        .enumerate()
        .map(|(i, t)| (i, if campaign && t.phishing { t.weight * 3 } else { t.weight }))
        .collect();
    let n = jittered(rng, if is_weekend(day) { WEEKEND_SEARCHES } else { WEEKDAY_SEARCHES });
    for at in arrivals_until(rng, day, n, now_ms) {
        let term = &SEARCH_TERMS[rng.weighted(&weights)];
        let results = if term.results == 0 || rng.percent(MISSED_SEARCH_PERCENT) {
            0
        } else {
            (term.results + rng.between(-2, 3)).clamp(1, 10)
        };
        let surface = if rng.percent(DESK_SEARCH_PERCENT) { "desk" } else { "help" };
        out.push(Search { at, surface, locale: term.locale, query: term.query, results });
    }
}

fn plan_shows(rng: &mut Rng, day: i64, now_ms: i64, campaign: bool, out: &mut Vec<Show>) {
    let weights: Vec<(&'static str, u32)> = ARTICLE_WEIGHTS
        .iter()
        .map(|(slug, w, phishing)| (*slug, if campaign && *phishing { w * 3 } else { *w }))
        .collect();
    let n = jittered(rng, if is_weekend(day) { WEEKEND_SHOWS } else { WEEKDAY_SHOWS });
    for at in arrivals_until(rng, day, n, now_ms) {
        let surface = rng.weighted(&SHOW_SURFACES);
        out.push(Show { at, slug: rng.weighted(&weights), surface });
    }
}

// ---- holds --------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldKind {
    /// Impossible travel: withdrawals and trading, the owner lifts it with one factor.
    Travel,
    /// Too many failed sign-ins: sign-in for 15 minutes, or the owner lifts it sooner.
    FailedLogins,
    /// The holder froze the account: everything, two factors after the waiting period.
    SelfFreeze,
    /// An unusual amount: withdrawals, an agent reviews it.
    LargeWithdrawal,
}

const HOLD_WEIGHTS: [(HoldKind, u32); 4] =
    [(HoldKind::Travel, 35), (HoldKind::FailedLogins, 25), (HoldKind::SelfFreeze, 15), (HoldKind::LargeWithdrawal, 25)];

fn plan_holds(rng: &mut Rng, accounts: &Accounts, day: i64, now_ms: i64, campaign: bool, out: &mut Vec<PlannedHold>) {
    let mut kinds: Vec<HoldKind> = (0..jittered(rng, HOLDS_PER_DAY)).map(|_| rng.weighted(&HOLD_WEIGHTS)).collect();
    if campaign {
        // Taken-over accounts: more travel holds, more holders freezing their account.
        kinds.extend([HoldKind::Travel, HoldKind::Travel, HoldKind::SelfFreeze]);
    }
    for kind in kinds {
        let placed = day + rng.below(DAY as u64) as i64;
        if placed > now_ms - HOLD_SETTLED {
            continue;
        }
        out.push(plan_hold(rng, accounts, kind, placed, now_ms));
    }
}

/// One hold placed at `placed` and how it ended before `now_ms`.
fn plan_hold(rng: &mut Rng, accounts: &Accounts, kind: HoldKind, placed: i64, now_ms: i64) -> PlannedHold {
    let (account, locale) = accounts.any(rng);
    let zh = locale == Locale::ZhCn;
    let ip =
        format!("{}.{}.{}.{}", rng.between(31, 223), rng.between(0, 256), rng.between(0, 256), rng.between(1, 255));
    let latest = now_ms - MIN;
    let released =
        |at: i64, by: Who, note: &'static str| HoldEnd { at: at.min(latest), status: HoldStatus::Released, by, note };
    let (plan, placed_by, note, end) = match kind {
        HoldKind::Travel => {
            let (from, to, km) = *rng.pick(if zh { ZH_TRAVEL } else { EN_TRAVEL });
            let mut facts = Facts::new();
            facts.insert("from_city".into(), fact_str(from));
            facts.insert("to_city".into(), fact_str(to));
            facts.insert("ip".into(), fact_str(ip));
            facts.insert("distance_km".into(), fact_int(km));
            facts.insert("minutes".into(), fact_int(rng.between(5, 90)));
            let reason = Reason::new(
                "impossible_travel",
                facts,
                "登录地点从{from_city}变为{to_city}，相距 {distance_km} 公里，间隔 {minutes} 分钟",
                "Sign-in from {to_city} {distance_km} km from {from_city} {minutes} minutes after the previous one",
            );
            let plan = HoldPlan {
                cooldown_ms: Some(COOLDOWN_MS),
                ..HoldPlan::risk(
                    ScopeSet::new([Scope::Withdraw, Scope::Trade]),
                    ReleasePolicy::Owner { factors: 1, wait_ms: 0 },
                    &reason,
                )
            };
            let end = if rng.percent(85) {
                released(placed + rng.log_between(5 * MIN, 2 * DAY), Who::Owner, "owner step-up with totp")
            } else {
                let by = Who::Staff(Agent::desk(locale));
                released(placed + rng.log_between(30 * MIN, DAY), by, "holder confirmed the sign-in on a call")
            };
            (plan, "thaw", "risk engine: impossible travel", end)
        }
        HoldKind::FailedLogins => {
            let mut facts = Facts::new();
            facts.insert("ip".into(), fact_str(ip));
            facts.insert("failures".into(), fact_int(rng.between(10, 15)));
            facts.insert("minutes".into(), fact_int(15));
            facts.insert("hold_minutes".into(), fact_int(15));
            let reason = Reason::new(
                "failed_logins",
                facts,
                "{minutes} 分钟内来自 IP {ip} 的登录失败 {failures} 次，登录暂停 {hold_minutes} 分钟",
                "{failures} failed sign-ins from IP {ip} within {minutes} minutes; sign-in paused for {hold_minutes} minutes",
            );
            let plan = HoldPlan {
                expires_at_ms: Some(placed + 15 * MIN),
                ..HoldPlan::risk(
                    ScopeSet::new([Scope::Login]),
                    ReleasePolicy::Owner { factors: 1, wait_ms: 0 },
                    &reason,
                )
            };
            let end = if rng.percent(35) {
                released(placed + rng.log_between(2 * MIN, 14 * MIN), Who::Owner, "owner step-up with email")
            } else {
                HoldEnd { at: placed + 15 * MIN, status: HoldStatus::Expired, by: Who::Thaw, note: "expired on time" }
            };
            (plan, "thaw", "risk engine: failed sign-ins", end)
        }
        HoldKind::SelfFreeze => {
            let via = if rng.percent(70) { "portal" } else { "email_link" };
            let mut facts = Facts::new();
            facts.insert("via".into(), fact_str(via));
            facts.insert("ip".into(), fact_str(ip));
            facts.insert("time".into(), fact_str(rfc3339(placed)));
            let reason = Reason::new(
                "self_freeze",
                facts,
                "您于 {time} 自行冻结了账户（来自 IP {ip}）",
                "You froze your account yourself at {time} (from IP {ip})",
            );
            let plan = HoldPlan {
                origin: HoldOrigin::SelfFreeze,
                cooldown_ms: Some(COOLDOWN_MS),
                ..HoldPlan::risk(
                    ScopeSet::new([Scope::All]),
                    ReleasePolicy::Owner { factors: 2, wait_ms: SELF_FREEZE_WAIT_MS },
                    &reason,
                )
            };
            let end = if rng.percent(75) {
                let wait = SELF_FREEZE_WAIT_MS + rng.log_between(5 * MIN, 2 * DAY);
                released(placed + wait, Who::Owner, "owner step-up with email + totp")
            } else {
                let by = Who::Staff(Agent::Supervisor);
                released(placed + rng.log_between(HOUR, DAY), by, "identity confirmed on a call")
            };
            let note = if via == "portal" { "self-freeze via portal" } else { "self-freeze via email_link" };
            (plan, "owner", note, end)
        }
        HoldKind::LargeWithdrawal => {
            let amount = rng.between(12, 61) * 1_000;
            let median = rng.between(200, 2_000);
            let ratio = amount * 10 / median;
            let mut facts = Facts::new();
            facts.insert("amount".into(), fact_str(amount.to_string()));
            facts.insert("asset".into(), fact_str("USDT"));
            facts.insert("median".into(), fact_str(median.to_string()));
            facts.insert("ratio".into(), fact_str(format!("{}.{}", ratio / 10, ratio % 10)));
            facts.insert("days".into(), fact_int(30));
            let reason = Reason::new(
                "unusual_amount",
                facts,
                "提现 {amount} {asset}，是该账户近 {days} 天提现中位数 {median} {asset} 的 {ratio} 倍",
                "Withdrawal of {amount} {asset} is {ratio}× the account's median withdrawal of {median} {asset} over {days} days",
            );
            let plan = HoldPlan {
                amount: Some(Money { amount: rust_decimal::Decimal::from(amount), asset: "USDT".into() }),
                ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::Agent, &reason)
            };
            let by = Who::Staff(Agent::Tier2);
            let end =
                released(placed + rng.log_between(30 * MIN, 20 * HOUR), by, "withdrawal confirmed with the holder");
            (plan, "thaw", "risk engine: unusual amount", end)
        }
    };
    let hold = from_plan(plan, &account_id(account), None, placed);
    // The cool-down that follows a lift, if it has run out by now (history leaves nothing in force).
    let cooldown = (end.status == HoldStatus::Released && hold.cooldown_ms.is_some() && end.at + COOLDOWN_MS <= latest)
        .then(|| {
            let mut facts = Facts::new();
            facts.insert("hours".into(), fact_int(COOLDOWN_MS / HOUR));
            facts.insert("released_hold".into(), fact_str(hold.id.clone()));
            facts.insert("reason".into(), fact_str(hold.reason.code.clone()));
            let reason = Reason::new(
                COOLDOWN_REASON,
                facts,
                "限制解除后，提现冷静期 {hours} 小时",
                "Withdrawals cool down for {hours} hours after the restriction was lifted",
            );
            let plan = HoldPlan {
                expires_at_ms: Some(end.at + COOLDOWN_MS),
                ..HoldPlan::risk(ScopeSet::new([Scope::Withdraw]), ReleasePolicy::ExpiryOnly, &reason)
            };
            let cool = from_plan(plan, &hold.account_id, None, end.at);
            let expired = HoldEnd {
                at: end.at + COOLDOWN_MS,
                status: HoldStatus::Expired,
                by: Who::Thaw,
                note: "expired on time",
            };
            (cool, expired)
        });
    PlannedHold { hold, placed_by, note: note.to_string(), end, cooldown }
}

/// Sign-ins too far apart too fast: (from, to, km), as the holders of each language travel.
const ZH_TRAVEL: &[(&str, &str, i64)] = &[
    ("上海", "Frankfurt", 8_890),
    ("北京", "Lagos", 11_560),
    ("深圳", "São Paulo", 17_990),
    ("杭州", "Moscow", 6_680),
];
const EN_TRAVEL: &[(&str, &str, i64)] = &[
    ("London", "Singapore", 10_880),
    ("New York", "Moscow", 7_510),
    ("Sydney", "Amsterdam", 16_630),
    ("Singapore", "Bogotá", 19_040),
];

// ---- writing ------------------------------------------------------------------------------------

/// Writes one planned case with its conversation, timeline, links and rating; returns its number.
async fn write_case(
    conn: &mut AnyConnection,
    p: &PlannedCase,
    earlier: Option<(&str, i64)>,
    staff: &DemoStaff,
) -> Result<i64, ServiceError> {
    let member = staff.member(p.agent);
    let agent_label = staff.label(p.agent);
    let mut case = p.case.clone();
    case.number = conn.cases().next_number().await?;
    case.routing = Some(if p.assigned {
        Note::Routed(Why {
            category: case.category,
            language: case.language,
            open: (p.variant as i64) % member.capacity.max(1),
            capacity: member.capacity,
            dedicated: false,
            round_robin: false,
            tier: case.tier,
        })
    } else {
        Note::Unassigned { why: Unrouted::AllAtCapacity }
    });
    case.assignee_id = p.assigned.then(|| member.id.clone());
    if !case.status.is_active() {
        case.decided_by = Some(member.id.clone());
    }
    conn.cases().insert(&case, p.next_due_at).await?;

    let (language, category, variant) = (case.language, case.category, p.variant);
    // The platform opens API cases; holders the others (the assistant's on their behalf).
    let (author_kind, author_id, opener) = match case.channel {
        Channel::Api => ("system", Some("platform".to_string()), "platform"),
        _ => ("holder", Some(case.account_id.clone()), "holder"),
    };
    let holder_channel = match case.channel {
        Channel::Email => "email",
        _ => "portal",
    };
    let say = |kind: &'static str, author: Option<String>, body: &str, channel: &str, at: i64| Message {
        id: new_id(),
        case_id: case.id.clone(),
        author_kind: kind.into(),
        author_id: author,
        internal: false,
        body: body.to_string(),
        channel: channel.into(),
        created_at_ms: at,
    };
    let mut messages = vec![say(
        author_kind,
        author_id,
        pick_text(holder_opening(category, language), variant),
        case.channel.code(),
        case.created_at_ms,
    )];
    let staff_id = Some(member.id.clone());
    let holder_id = Some(case.account_id.clone());
    let asked = p.resumed_at.is_some() || case.status == CaseStatus::PendingCustomer;
    if let Some(at) = case.first_response_at_ms {
        let body = if asked { ask_holder(language) } else { pick_text(first_reply(category, language), variant) };
        messages.push(say("staff", staff_id.clone(), body, "staff", at));
    }
    if let Some(at) = p.resumed_at {
        messages.push(say("holder", holder_id.clone(), holder_answer(language), holder_channel, at));
    }
    if let Some(at) = case.awaiting_reply_since_ms {
        messages.push(say("holder", holder_id.clone(), holder_nudge(language), holder_channel, at));
    }
    if let Some(at) = case.resolved_at_ms {
        messages.push(say("staff", staff_id.clone(), closing(language), "staff", at));
    }
    for m in &messages {
        conn.cases().add_message(m).await?;
    }

    let id = case.id.clone();
    let opened = json!({"channel": case.channel.code(), "category": category.code(), "priority": case.priority.code()});
    let mut timeline = vec![
        entry(&id, opener, "opened", opened, true, case.created_at_ms),
        entry(&id, "thaw", "routed", json!(case.routing), false, case.created_at_ms),
    ];
    if let Some((earlier_id, earlier_number)) = earlier {
        conn.cases().attach(&id, "case", earlier_id).await?;
        conn.cases().attach(&id, "repeat_of", earlier_id).await?;
        let data = json!({"case": thaw_domain::case::case_ref(earlier_number), "case_id": earlier_id});
        timeline.push(entry(&id, "thaw", "repeat_contact", data, false, case.created_at_ms));
    }
    if let Some(at) = case.first_response_at_ms.filter(|_| asked) {
        // The agent's first reply asked for something: new → waiting for the holder.
        let data = json!({"from": "new", "to": "pending_customer"});
        timeline.push(entry(&id, &agent_label, "status", data, true, at));
    }
    if let Some(at) = p.resumed_at {
        timeline.push(entry(&id, "holder", "status", json!({"to": "open", "by": "holder"}), true, at));
    }
    if case.status == CaseStatus::PendingInternal
        && let Some(at) = case.first_response_at_ms
    {
        let data = json!({"from": "open", "to": "pending_internal"});
        timeline.push(entry(&id, &agent_label, "status", data, true, at + MIN));
    }
    for (target, at) in &p.breaches {
        let data = json!({"target": target.code(), "escalations": ["notify"], "priority": case.priority.code(),
            "tier": case.tier, "assignee": case.assignee_id});
        timeline.push(entry(&id, "thaw", "sla_breached", data, false, *at));
    }
    if let Some(at) = case.resolved_at_ms {
        timeline.push(entry(&id, &agent_label, "status", json!({"from": "open", "to": "resolved"}), true, at));
    }
    if let Some(at) = case.closed_at_ms {
        timeline.push(entry(&id, "thaw", "status", json!({"from": "resolved", "to": "closed"}), true, at));
    }
    if let Some((score, at)) = p.rating {
        let comment = if variant == 0 { "" } else { rating_comment(score, language) };
        let channel = if variant == 2 { "email" } else { "portal" };
        conn.cases()
            .rate(&Rating {
                case_id: id.clone(),
                score,
                comment: comment.into(),
                channel: channel.into(),
                created_at_ms: at,
            })
            .await?;
        let data = json!({"score": score, "comment": comment, "channel": channel});
        timeline.push(entry(&id, "holder", "rated", data, false, at));
    }
    for e in &timeline {
        conn.cases().add_timeline(e).await?;
    }
    Ok(case.number)
}

/// Writes a hold that was placed and has ended, with its history entries (as holds.rs does, but
/// without webhooks or alerts: this is the past).
async fn write_hold(
    conn: &mut AnyConnection,
    hold: &Hold,
    placed_by: &str,
    note: &str,
    end: &HoldEnd,
    staff: &DemoStaff,
) -> Result<(), ServiceError> {
    conn.holds().insert(hold, placed_by).await?;
    crate::holds::record(conn, hold, "created", placed_by, note, None, HoldStatus::Active, hold.created_at_ms).await?;
    let by = match end.by {
        Who::Owner => "owner".to_string(),
        Who::Thaw => "thaw".to_string(),
        Who::Staff(agent) => staff.label(agent),
    };
    conn.holds().close(&hold.id, end.status, end.at, &by).await?;
    let change = if end.status == HoldStatus::Expired { "expired" } else { "released" };
    Ok(crate::holds::record(conn, hold, change, &by, end.note, Some(HoldStatus::Active), end.status, end.at).await?)
}

// ---- what people wrote --------------------------------------------------------------------------

fn pick_text(texts: &'static [&'static str], variant: usize) -> &'static str {
    texts[variant % texts.len()]
}

fn subject(category: CaseCategory, language: Locale) -> &'static [&'static str] {
    use CaseCategory::*;
    let zh = language == Locale::ZhCn;
    match category {
        AssetFreeze if zh => &["账户提现被限制", "资产被冻结，无法提现", "账户突然被冻结了"],
        AssetFreeze => &["Withdrawals restricted on my account", "My funds are frozen", "Account suddenly frozen"],
        AccountAccess if zh => &["无法登录账户", "二次验证设备丢失", "登录提示账户已锁定"],
        AccountAccess => &["Can't sign in", "Lost my 2FA phone", "Account locked after sign-in attempts"],
        AccountTheft if zh => &["账户被盗，有陌生提现", "我的账户被别人登录了", "资产被转走了"],
        AccountTheft => &[
            "Account hacked: unknown withdrawal",
            "Someone else signed in to my account",
            "My funds were moved without me",
        ],
        TradeDispute if zh => &["C2C 订单已付款对方不放币", "P2P 交易纠纷", "买家称已付款但我没收到"],
        TradeDispute => {
            &["Paid on P2P but the seller won't release", "P2P trade dispute", "Buyer says they paid, nothing arrived"]
        }
        PhishingReport if zh => &["收到冒充客服的钓鱼邮件", "有人冒充客服加我微信", "举报钓鱼网站"],
        PhishingReport => &[
            "Phishing email pretending to be support",
            "Fake support account on Telegram",
            "Reporting a phishing site",
        ],
        Verification if zh => &["身份认证一直审核不通过", "证件上传失败", "KYC 被拒绝"],
        Verification => &["Identity verification keeps failing", "Can't upload my ID", "KYC rejected"],
        DepositWithdrawal if zh => &["提现一直处理中", "充值未到账", "提币显示成功但没收到"],
        DepositWithdrawal => {
            &["Withdrawal pending for hours", "Deposit not credited", "Withdrawal complete but not received"]
        }
        Complaint if zh => &["对处理速度不满意", "投诉客服回复太慢", "对冻结决定有异议"],
        Complaint => {
            &["Unhappy with how long this takes", "Complaint about slow replies", "I disagree with the freeze"]
        }
        Other if zh => &["咨询 VIP 权益", "如何修改绑定手机号", "其他问题"],
        Other => &["Question about VIP benefits", "How do I change my phone number?", "General question"],
    }
}

fn holder_opening(category: CaseCategory, language: Locale) -> &'static [&'static str] {
    use CaseCategory::*;
    let zh = language == Locale::ZhCn;
    match category {
        AssetFreeze if zh => &[
            "今天提现时提示账户受限，请问是什么原因？什么时候可以恢复？",
            "我的资产被冻结了，没有收到任何通知，请尽快处理。",
        ],
        AssetFreeze => &[
            "I tried to withdraw today and was told my account is restricted. Why, and when will it be lifted?",
            "My funds are frozen and I got no explanation. Please look into it.",
        ],
        AccountAccess if zh => &["换了手机之后验证器没有了，现在无法登录。", "输错几次密码后账户被锁，怎么解锁？"],
        AccountAccess => &[
            "I changed phones and lost my authenticator, now I can't sign in.",
            "My account got locked after a few wrong passwords. How do I get back in?",
        ],
        AccountTheft if zh => &[
            "我收到了不是我本人操作的登录提醒，随后有一笔提现，请马上帮我冻结账户！",
            "有人登录了我的账户并修改了邮箱，我已经无法登录。",
        ],
        AccountTheft => &[
            "I got a sign-in alert that wasn't me and then a withdrawal I didn't make. Please lock my account now!",
            "Someone signed in and changed my email, I can't get in any more.",
        ],
        TradeDispute if zh => {
            &["我已经付款给卖家，但对方一直不放币，也不回复消息。", "买家说已经付款，但我的银行卡没有收到钱。"]
        }
        TradeDispute => &[
            "I paid the seller but they haven't released the coins and don't answer.",
            "The buyer marked the order paid but nothing reached my bank account.",
        ],
        PhishingReport if zh => &[
            "收到一封自称平台客服的邮件，让我点击链接验证账户，看起来像钓鱼。",
            "有人自称客服加我，让我提供验证码，我没有给。",
        ],
        PhishingReport => &[
            "I received an email claiming to be support asking me to verify my account via a link. Looks like phishing.",
            "Someone posing as support messaged me and asked for my code. I didn't give it.",
        ],
        Verification if zh => &["上传身份证后一直显示审核失败，不知道哪里有问题。", "护照照片上传总是失败。"],
        Verification => &[
            "My ID upload keeps failing verification and I don't know why.",
            "Uploading my passport photo always fails.",
        ],
        DepositWithdrawal if zh => {
            &["提现已经好几个小时了还是处理中，请帮忙查一下。", "充值已经确认了但余额没有增加。"]
        }
        DepositWithdrawal => &[
            "My withdrawal has been pending for hours, can you check?",
            "My deposit is confirmed on chain but my balance hasn't changed.",
        ],
        Complaint if zh => &["我的工单好几天没有人回复，非常不满意。", "冻结我的账户却不说明原因，我要投诉。"],
        Complaint => &[
            "Nobody has replied to my case for days. I'm not happy.",
            "You froze my account without saying why. I want to complain.",
        ],
        Other if zh => &["想咨询一下 VIP 等级的权益和专属客服。", "请问如何修改绑定的手机号？"],
        Other => &[
            "I'd like to know more about VIP levels and the dedicated agent.",
            "How do I change the phone number on my account?",
        ],
    }
}

fn first_reply(category: CaseCategory, language: Locale) -> &'static [&'static str] {
    use CaseCategory::*;
    let zh = language == Locale::ZhCn;
    match category {
        AssetFreeze if zh => &["您好，这是风控系统的保护性限制，我们正在核实，请留意工单更新。"],
        AssetFreeze => {
            &["Hello, this is a protective hold from our risk checks. We're verifying it and will update this case."]
        }
        AccountAccess if zh => &["您好，请先在安全中心通过邮箱验证码登录，我们会协助您重置二次验证。"],
        AccountAccess => &[
            "Hello, please sign in to the security centre with an email code first; we'll help you reset your 2FA from there.",
        ],
        AccountTheft if zh => &["我们已临时冻结您的账户以保护资产，安全团队正在核查最近的登录和提现记录。"],
        AccountTheft => &[
            "We've frozen the account to protect your funds; the security team is reviewing recent sign-ins and withdrawals.",
        ],
        TradeDispute if zh => &["已收到，我们正在联系对方核实付款情况。"],
        TradeDispute => &["Thanks, we're contacting the counterparty to check the payment."],
        PhishingReport if zh => &["感谢举报！我们从不会私聊索要验证码，该账号已提交处理。"],
        PhishingReport => {
            &["Thanks for reporting! We never ask for codes in private messages. We've reported the account."]
        }
        Verification if zh => &["您好，证件照片需四角完整、无反光，请重新上传清晰照片。"],
        Verification => &["Hello, the photo must show all four corners without glare; please upload a clearer one."],
        DepositWithdrawal if zh => &["您好，我们已查询到该笔交易，正在与链上记录核对。"],
        DepositWithdrawal => &["Hello, we've found the transaction and are checking it against the chain."],
        Complaint if zh => &["非常抱歉给您带来不便，您的投诉已转交主管跟进。"],
        Complaint => &["We're sorry for the trouble. Your complaint has been passed to a supervisor."],
        Other if zh => &["您好，帮助中心有相关说明，我们也可以在这里为您解答。"],
        Other => &["Hello, the help centre covers this, and we're happy to answer here too."],
    }
}

fn ask_holder(language: Locale) -> &'static str {
    match language {
        Locale::ZhCn => "您好，请补充相关截图和交易信息，我们收到后会继续处理。",
        Locale::En => {
            "Hello, could you send us a screenshot and any transaction details? We'll continue as soon as we have them."
        }
    }
}

fn holder_answer(language: Locale) -> &'static str {
    match language {
        Locale::ZhCn => "已经补充了，请查看。",
        Locale::En => "I've added the details, please have a look.",
    }
}

fn holder_nudge(language: Locale) -> &'static str {
    match language {
        Locale::ZhCn => "请问现在进展如何？",
        Locale::En => "Any update on this?",
    }
}

fn closing(language: Locale) -> &'static str {
    match language {
        Locale::ZhCn => "问题已处理完毕。如仍有疑问，请直接回复本工单。",
        Locale::En => "This is sorted now. If anything is still unclear, just reply to this case.",
    }
}

fn rating_comment(score: i64, language: Locale) -> &'static str {
    let zh = language == Locale::ZhCn;
    match score {
        5 if zh => "很快解决了，谢谢！",
        5 => "Quick and helpful, thanks!",
        4 if zh => "解决了，就是等得有点久。",
        4 => "Solved, though it took a while.",
        3 => "",
        2 if zh => "回复太慢了。",
        2 => "Replies were slow.",
        _ if zh => "问题没有真正解决。",
        _ => "My problem wasn't really solved.",
    }
}

/// A minimal valid intake for the category (intake.rs names the fields).
fn intake(rng: &mut Rng, category: CaseCategory, language: Locale, created: i64) -> BTreeMap<String, String> {
    use CaseCategory::*;
    let zh = language == Locale::ZhCn;
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    match category {
        AssetFreeze => {
            put("scope", rng.weighted(&[("withdraw", 70), ("trade", 10), ("login", 10), ("all", 10)]).into());
            put("since", rfc3339(created - rng.log_between(20 * MIN, 2 * DAY)));
        }
        AccountAccess => {
            put("problem", (*rng.pick(&["cannot_sign_in", "lost_2fa", "email_changed", "locked_out"])).into());
            if rng.percent(60) {
                put("last_success", rfc3339(created - rng.log_between(DAY, 20 * DAY)));
            }
        }
        AccountTheft => {
            let amount = rng.between(3, 90) * 100;
            put("noticed_at", rfc3339(created - rng.log_between(5 * MIN, 6 * HOUR)));
            put(
                "unauthorised_transactions",
                if zh {
                    format!("一笔 {amount} USDT 的提现，不是我本人操作")
                } else {
                    format!("A withdrawal of {amount} USDT I did not make")
                },
            );
            put("still_has_access", (if rng.percent(60) { "yes" } else { "no" }).into());
        }
        TradeDispute => {
            let paid = created - rng.log_between(30 * MIN, 2 * DAY);
            let date =
                jiff::Timestamp::from_millisecond(paid).map(|t| t.strftime("%Y%m%d").to_string()).unwrap_or_default();
            put("order_number", format!("P2P-{date}-{:06}", rng.below(1_000_000)));
            put("amount", (rng.between(2, 200) * 100).to_string());
            put("asset", (if zh { "CNY" } else { "USDT" }).into());
            put("paid_at", rfc3339(paid));
            if rng.percent(50) {
                put("counterparty", (*rng.pick(&["moon_trader", "快速出币", "crypto_king88", "老王币行"])).into());
            }
        }
        PhishingReport => {
            let (channel, contact) = *rng.pick(&[
                ("email", "support@thaw-help-desk.example"),
                ("telegram", "@thaw_official_support"),
                ("wechat", "thaw_kefu_888"),
                ("sms", "+44 7700 900123"),
                ("website", "https://thaw-verify-account.example/login"),
                ("phone", "+1 202 555 0143"),
            ]);
            put("channel", channel.into());
            put("contact_or_url", contact.into());
            put("lost_assets", (if rng.percent(15) { "yes" } else { "no" }).into());
        }
        Verification => {
            put("document_type", (*rng.pick(&["id_card", "passport", "driving_licence", "residence_permit"])).into());
            if rng.percent(50) {
                put("issue", (if zh { "照片总是提示模糊" } else { "It keeps saying the photo is blurry" }).into());
            }
        }
        DepositWithdrawal => {
            put("direction", (if rng.percent(60) { "withdrawal" } else { "deposit" }).into());
            put("amount", rng.between(50, 25_000).to_string());
            put("asset", (if rng.percent(80) { "USDT" } else { "USDC" }).into());
            put("occurred_at", rfc3339(created - rng.log_between(30 * MIN, 3 * DAY)));
            if rng.percent(60) {
                let hash = format!(
                    "0x{:016x}{:016x}{:016x}{:016x}",
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64()
                );
                put("tx_hash", hash);
                put("network", (*rng.pick(&["TRC20", "ERC20", "BEP20"])).into());
            }
        }
        Complaint => {
            put("topic", (if zh { "处理太慢，没有人回复" } else { "Slow handling, no replies" }).into());
        }
        Other => {}
    }
    m
}

// ---- the assistant, searches and articles -----------------------------------------------------

/// The article the assistant offers for a category: (slug, zh-CN title, en title).
fn article_for(category: CaseCategory) -> (&'static str, &'static str, &'static str) {
    use CaseCategory::*;
    match category {
        AssetFreeze => {
            ("why-is-my-account-restricted", "为什么我的账户被冻结或受限？", "Why is my account frozen or restricted?")
        }
        AccountAccess => {
            ("lost-2fa-device", "二次验证设备丢失，如何重新登录", "I lost my 2FA device: how to get back in")
        }
        AccountTheft => ("account-stolen-what-to-do", "账户被盗了怎么办", "My account was stolen: what to do now"),
        TradeDispute => (
            "p2p-trade-dispute-evidence",
            "C2C/P2P 交易纠纷需要提供哪些证据",
            "P2P/C2C trade disputes: what evidence to provide",
        ),
        PhishingReport => (
            "report-phishing-or-fake-support",
            "如何举报钓鱼信息或冒充客服的账号",
            "How to report a phishing message or a fake support account",
        ),
        Verification => (
            "identity-verification-documents",
            "身份认证：需要哪些证件、谁能看到、何时删除",
            "Identity verification: which documents, who sees them and when they are deleted",
        ),
        DepositWithdrawal => (
            "withdrawal-pending-or-not-arrived",
            "提币一直处理中或未到账",
            "My withdrawal is pending or hasn't arrived",
        ),
        Complaint => ("complaints", "如何投诉", "How to make a complaint"),
        Other => (
            "how-support-cases-work",
            "工单如何运作：状态、回复与邮件",
            "How support cases work: statuses, replies and email",
        ),
    }
}

/// A conversation as bot.rs keeps it: `[{who, text, articles?, hold?, at}]`. Handed over ends
/// with the holder asking for a person; solved sometimes has a second question.
fn transcript(rng: &mut Rng, category: CaseCategory, locale: Locale, outcome: &str, at: i64) -> String {
    let zh = locale == Locale::ZhCn;
    let article = |(slug, zh_title, en_title): (&str, &str, &str)| {
        let title = if zh { zh_title } else { en_title };
        json!([{"slug": slug, "title": title}])
    };
    let answer = if zh {
        format!("看起来是「{}」方面的问题。", category.label(locale))
    } else {
        format!("This looks like a question about {}.", category.label(locale).to_lowercase())
    };
    let question = pick_text(holder_opening(category, locale), rng.below(2) as usize);
    let offered = article(article_for(category));
    let mut turns = vec![
        json!({"who": "holder", "text": question, "at": at}),
        json!({"who": "bot", "text": answer, "articles": offered, "hold": Value::Null, "at": at + 2_000}),
    ];
    match outcome {
        "handed_over" => {
            let text = if zh { "没有解决，转人工" } else { "That didn't help, I'd like a person please" };
            turns.push(json!({"who": "holder", "text": text, "at": at + 90_000}));
        }
        "solved" if rng.percent(30) => {
            let text = if zh { "那一般需要多久？" } else { "How long does that usually take?" };
            turns.push(json!({"who": "holder", "text": text, "at": at + 60_000}));
            let how_long =
                ("how-long-will-my-case-take", "工单和审核需要多长时间？", "How long will my case or review take?");
            let reply = if zh {
                "这篇文章说明了各类处理时间。"
            } else {
                "This article explains the usual times."
            };
            let offered = article(how_long);
            turns.push(
                json!({"who": "bot", "text": reply, "articles": offered, "hold": Value::Null, "at": at + 62_000}),
            );
        }
        _ => {}
    }
    Value::Array(turns).to_string()
}

/// A search term of the help centre or desk.
struct Term {
    query: &'static str,
    locale: Locale,
    weight: u32,
    /// Results it usually finds (0: the help centre has nothing on it).
    results: i64,
    /// Searched more during the phishing campaign.
    phishing: bool,
}

const fn term(query: &'static str, locale: Locale, weight: u32, results: i64, phishing: bool) -> Term {
    Term { query, locale, weight, results, phishing }
}

static SEARCH_TERMS: [Term; 31] = [
    term("提现 冻结", Locale::ZhCn, 9, 6, false),
    term("忘记密码", Locale::ZhCn, 7, 4, false),
    term("解冻", Locale::ZhCn, 8, 5, false),
    term("钓鱼 邮件", Locale::ZhCn, 3, 3, true),
    term("充值未到账", Locale::ZhCn, 6, 4, false),
    term("提币 处理中", Locale::ZhCn, 6, 5, false),
    term("二次验证 丢失", Locale::ZhCn, 5, 4, false),
    term("身份认证 失败", Locale::ZhCn, 4, 3, false),
    term("冒充客服", Locale::ZhCn, 3, 4, true),
    term("账户被盗", Locale::ZhCn, 3, 5, true),
    term("C2C 纠纷", Locale::ZhCn, 3, 3, false),
    term("防钓鱼码", Locale::ZhCn, 2, 2, true),
    term("手续费", Locale::ZhCn, 3, 0, false),
    term("VIP 专属客服", Locale::ZhCn, 1, 1, false),
    term("合规审核", Locale::ZhCn, 2, 2, false),
    term("助记词 泄露", Locale::ZhCn, 1, 2, false),
    term("2fa lost", Locale::En, 6, 4, false),
    term("withdrawal pending", Locale::En, 7, 5, false),
    term("seed phrase", Locale::En, 2, 2, false),
    term("account frozen", Locale::En, 8, 6, false),
    term("forgot password", Locale::En, 5, 3, false),
    term("unfreeze", Locale::En, 6, 5, false),
    term("deposit not credited", Locale::En, 5, 4, false),
    term("phishing email", Locale::En, 3, 3, true),
    term("fake support", Locale::En, 2, 4, true),
    term("kyc rejected", Locale::En, 3, 3, false),
    term("p2p dispute", Locale::En, 3, 3, false),
    term("wrong network", Locale::En, 2, 2, false),
    term("anti-phishing code", Locale::En, 2, 2, true),
    term("fees", Locale::En, 3, 0, false),
    term("staking rewards", Locale::En, 2, 0, false),
];

/// Articles of data/kb by how often they are shown, and whether the phishing campaign drove them.
const ARTICLE_WEIGHTS: [(&str, u32, bool); 26] = [
    ("why-is-my-account-restricted", 10, false),
    ("lift-a-restriction-yourself", 9, false),
    ("withdrawal-pending-or-not-arrived", 8, false),
    ("lost-2fa-device", 7, false),
    ("deposit-not-credited", 6, false),
    ("impossible-travel-sign-in", 5, false),
    ("recognise-fake-support", 4, true),
    ("report-phishing-or-fake-support", 3, true),
    ("anti-phishing-code", 3, true),
    ("account-stolen-what-to-do", 3, true),
    ("freeze-your-account", 4, true),
    ("too-many-failed-sign-ins", 4, false),
    ("identity-verification-documents", 4, false),
    ("p2p-trade-dispute-evidence", 3, false),
    ("withdrawal-paused-after-security-change", 4, false),
    ("unfreeze-after-self-freeze", 3, false),
    ("how-long-will-my-case-take", 3, false),
    ("changing-email-phone-or-2fa", 3, false),
    ("new-device-or-new-country-sign-in", 3, false),
    ("wrong-network-or-missing-memo", 2, false),
    ("complaints", 1, false),
    ("vip-dedicated-agent", 1, false),
    ("set-up-verification-methods", 2, false),
    ("shared-seed-phrase-or-private-key", 2, false),
    ("restriction-scopes-explained", 2, false),
    ("unusual-withdrawal-amount-review", 2, false),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-21T10:00Z, a Saturday.
    const NOW: i64 = 1_795_255_200_000;

    fn desk() -> Desk {
        Desk::from_settings("UTC", "09:00-18:00", "mon-fri", "").unwrap()
    }

    #[test]
    fn the_weights_are_percentages() {
        assert_eq!(CATEGORY_WEIGHTS.iter().map(|(_, w)| w).sum::<u32>(), 100);
        assert_eq!(CHANNEL_WEIGHTS.iter().map(|(_, w)| w).sum::<u32>(), 100);
        assert_eq!(HOLD_WEIGHTS.iter().map(|(_, w)| w).sum::<u32>(), 100);
        for c in CaseCategory::ALL {
            assert!(CATEGORY_WEIGHTS.iter().any(|(k, _)| *k == c), "{c:?}");
        }
        // The campaign doubles exactly account theft and phishing reports.
        let campaign = category_weights(true);
        for ((c, normal), (_, doubled)) in CATEGORY_WEIGHTS.iter().zip(campaign.iter()) {
            assert_eq!(*doubled, if c.is_security() { normal * 2 } else { *normal }, "{c:?}");
        }
        assert_eq!(campaign.iter().map(|(_, w)| w).sum::<u32>(), 115);
    }

    #[test]
    fn the_stream_is_deterministic_and_follows_its_weights() {
        let (mut a, mut b) = (Rng::new(SEED), Rng::new(SEED));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(0).next_u64(), 0, "a zero seed still gives a stream");
        let mut rng = Rng::new(42);
        let mut counts = [0u32; 9];
        let n = 20_000;
        for _ in 0..n {
            let c = rng.weighted(&CATEGORY_WEIGHTS);
            counts[CATEGORY_WEIGHTS.iter().position(|(k, _)| *k == c).unwrap()] += 1;
        }
        for ((c, w), got) in CATEGORY_WEIGHTS.iter().zip(counts) {
            let share = f64::from(got) * 100.0 / f64::from(n);
            assert!((share - f64::from(*w)).abs() < 2.0, "{c:?}: {share:.1} % for {w} %");
        }
        for _ in 0..1_000 {
            let x = rng.log_between(10 * MIN, 30 * HOUR);
            assert!((10 * MIN..=30 * HOUR).contains(&x));
            let y = rng.between(-3, 4);
            assert!((-3..4).contains(&y));
            assert!(rng.unit() < 1.0);
        }
        assert_eq!(rng.between(5, 5), 5);
        assert_eq!(rng.log_between(7, 3), 7);
    }

    #[test]
    fn weekdays_and_business_hours() {
        assert_eq!(weekday(NOW), 5, "2026-11-21 is a Saturday");
        assert!(is_weekend(NOW) && is_weekend(NOW + DAY) && !is_weekend(NOW + 2 * DAY));
        assert_eq!(weekday(0), 3, "1970-01-01 was a Thursday");
        let monday = day_start(NOW) + 2 * DAY;
        assert_eq!(weekday(monday), 0);
        let mut rng = Rng::new(7);
        for day in (0..5).map(|d| monday + d * DAY) {
            for _ in 0..500 {
                let t = business_time(&mut rng, day);
                assert!((day + 8 * HOUR..day + 20 * HOUR).contains(&t), "{}", rfc3339(t));
                let a = arrival(&mut rng, day);
                assert!((day..day + DAY).contains(&a));
            }
        }
    }

    #[test]
    fn today_always_has_young_cases_and_none_in_the_future() {
        let mut rng = Rng::new(3);
        for now in [day_start(NOW) + 5 * MIN, day_start(NOW) + 3 * HOUR, NOW, day_start(NOW) + DAY - MIN] {
            let times = case_arrivals(&mut rng, day_start(now), now, false);
            assert!(times.len() >= 4);
            assert!(times.windows(2).all(|w| w[0] <= w[1]));
            assert!(times.iter().all(|t| *t <= now - 10 * MIN));
            assert!(times.iter().any(|t| now - t < 4 * HOUR));
        }
    }

    #[test]
    fn the_month_is_plausible_and_nothing_lies_in_the_future() {
        let desk = desk();
        let month = plan(&desk, NOW);
        assert!((450..=800).contains(&month.cases.len()), "{} cases", month.cases.len());
        assert!(month.cases.windows(2).all(|w| w[0].case.created_at_ms <= w[1].case.created_at_ms));
        for p in &month.cases {
            let c = &p.case;
            assert!(c.created_at_ms < NOW && c.created_at_ms >= day_start(NOW) - DAYS * DAY - DAY);
            assert!(!RESERVED.contains(&p.account));
            let first = c.first_response_at_ms;
            assert!(first.is_none_or(|f| f > c.created_at_ms && f < NOW), "{}", c.id);
            assert_eq!(c.status.is_active(), c.resolved_at_ms.is_none());
            if let Some(r) = c.resolved_at_ms {
                assert!(first.is_some_and(|f| f < r) && r < NOW);
                assert!(p.assigned);
            }
            assert!(c.closed_at_ms.is_none_or(|at| at < NOW));
            assert!(p.rating.is_none_or(|(s, at)| (1..=5).contains(&s) && at < NOW && !c.status.is_active()));
            assert!(c.breached.iter().all(|t| c.warned.contains(t)));
            assert!(p.repeat_of.is_none_or(|i| {
                let e = &month.cases[i].case;
                e.account_id == c.account_id && e.category == c.category && e.created_at_ms <= c.created_at_ms
            }));
            thaw_domain::case::intake::validate(c.category, &c.intake, 0, NOW).unwrap();
            thaw_domain::case::validate_subject(&c.subject).unwrap();
        }
        // Every age bucket of the backlog has cases.
        let open: Vec<i64> =
            month.cases.iter().filter(|p| p.case.status.is_active()).map(|p| NOW - p.case.created_at_ms).collect();
        for (lo, hi) in [(0, 4 * HOUR), (4 * HOUR, DAY), (DAY, 3 * DAY), (3 * DAY, 7 * DAY), (7 * DAY, 40 * DAY)] {
            assert!(open.iter().any(|age| (lo..hi).contains(age)), "no open case aged {lo}..{hi} ms");
        }
        // Most first responses on time; a few late.
        let answered: Vec<&PlannedCase> =
            month.cases.iter().filter(|p| p.case.first_response_at_ms.is_some()).collect();
        let late = answered.iter().filter(|p| p.case.breached.contains(&Target::FirstResponse)).count();
        let share = late as f64 / answered.len() as f64;
        assert!((0.02..0.2).contains(&share), "late first responses: {share:.3}");
        // The campaign week has more security cases than the week before it.
        let security = |from: i64, to: i64| {
            let today = day_start(NOW);
            month
                .cases
                .iter()
                .filter(|p| p.case.category.is_security())
                .filter(|p| (today - to * DAY..today - from * DAY + DAY).contains(&p.case.created_at_ms))
                .count()
        };
        assert!(security(8, 14) > security(15, 21), "{} vs {}", security(8, 14), security(15, 21));
        // Open cases keep few agents busy.
        for agent in Agent::ALL {
            let assigned_open =
                month.cases.iter().filter(|p| p.agent == agent && p.assigned && p.case.status.is_active()).count();
            assert!(assigned_open <= agent.open_slots());
        }
    }

    #[test]
    fn every_history_hold_has_ended_before_now() {
        let month = plan(&desk(), NOW);
        assert!(month.holds.len() > 60, "{} holds", month.holds.len());
        let (mut owner_lifted, mut owner_releasable) = (0, 0);
        for h in &month.holds {
            if matches!(h.hold.release, ReleasePolicy::Owner { .. }) {
                owner_releasable += 1;
            }
            assert_eq!(h.hold.status, HoldStatus::Active, "placed active, then closed");
            assert!(h.end.at > h.hold.created_at_ms && h.end.at < NOW);
            if let ReleasePolicy::Owner { wait_ms, .. } = h.hold.release
                && h.end.by == Who::Owner
            {
                assert!(h.end.at >= h.hold.created_at_ms + wait_ms);
                owner_lifted += 1;
            }
            if h.end.status == HoldStatus::Expired {
                assert_eq!(Some(h.end.at), h.hold.expires_at_ms);
            }
            if let Some((cool, end)) = &h.cooldown {
                assert_eq!(cool.created_at_ms, h.end.at);
                assert!(end.at < NOW && end.status == HoldStatus::Expired);
            }
        }
        assert!(owner_lifted * 2 > owner_releasable, "most holds owners may lift are thawed by them");
    }

    #[test]
    fn conversations_searches_and_articles_fill_every_day() {
        let month = plan(&desk(), NOW);
        let solved = month.bots.iter().filter(|b| b.outcome == "solved").count() as f64;
        let handed = month.bots.iter().filter(|b| b.outcome == "handed_over").count();
        let share = solved / month.bots.len() as f64;
        assert!((0.25..0.5).contains(&share), "solved: {share:.3}");
        assert_eq!(handed, month.cases.iter().filter(|p| p.case.channel == Channel::Bot).count());
        for b in &month.bots {
            let turns: Vec<Value> = serde_json::from_str(&b.transcript).unwrap();
            assert!(turns.len() >= 2 && turns[0]["who"] == "holder");
            assert!(b.created_at_ms < NOW);
        }
        assert!(month.searches.iter().any(|s| s.results == 0));
        assert!(month.searches.iter().all(|s| (0..=10).contains(&s.results) && s.at < NOW));
        assert!(month.shows.len() > 1_000 && month.shows.iter().all(|s| s.at < NOW));
        assert_eq!(plan(&desk(), NOW).searches.len(), month.searches.len(), "deterministic");
    }
}
