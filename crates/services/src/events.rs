//! Taking in the platform's events: idempotent by the platform's id, decided by the engine,
//! and stored durably — event, decision, new state, holds, history and webhooks in one
//! transaction — before the answer is sent.
//!
//! Concurrent requests are committed together ([`Ingestor`]): one writer per process gathers
//! the events that arrive while the previous transaction commits and writes them in the next,
//! so that the cost of a commit (an fsync) is shared instead of paid per event. A group is
//! written in a few multi-row statements whatever its size ([`decide_all`]): each statement is a
//! round trip to the database (a thread switch to sqlx's SQLite worker, a network exchange with
//! PostgreSQL), which cost more than the work itself when they were several per event.

use crate::holds::{from_plan, hold_json, insert, release_in};
use crate::risk::RiskRuntime;
use crate::{ServiceError, new_id, outbox, rfc3339, secret_digest};
use std::collections::{BTreeMap, HashMap, HashSet};
use thaw_domain::AccountId;
use thaw_domain::risk::{Action, Actor, Event, HoldOrigin, ReleasePolicy};
use thaw_engines::risk::{AccountState, Engine, Profile};
use thaw_store::risk::{ACTIVITY_STEP_MS, DecisionRecord, EventRecord, EventTx, Loaded, StateRecord};
use thaw_store::{AnyConnection, Capabilities, Db, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The answer to an event: the decision as stored, and whether this was a replay of an event
/// already decided.
pub struct Ingested {
    pub decision: serde_json::Value,
    pub replayed: bool,
}

/// The fingerprint of an event body, to tell a replay (same body) from a conflict.
pub fn body_hash(canonical_body: &str) -> String {
    secret_digest(canonical_body)
}

/// Decides and stores one event in its own transaction.
pub async fn ingest(
    db: &Db,
    risk: &RiskRuntime,
    event: &Event,
    canonical_body: &str,
    now_ms: i64,
) -> Result<Ingested, ServiceError> {
    let hash = body_hash(canonical_body);
    if let Some(done) = replay(db, &event.id, &hash).await? {
        return Ok(done);
    }
    let item = Item { event, body: canonical_body, hash: &hash, now_ms };
    let step =
        decide_all(db, risk, &risk.engine(), std::slice::from_ref(&item)).await?.pop().expect("one step an event");
    db.sync_log().await?;
    finish(db, &event.id, &hash, step).await
}

/// What deciding an event inside a transaction came to.
enum Step {
    Decided(serde_json::Value),
    /// Another request stored this id first: answer from what it stored, after commit.
    AlreadyStored,
}

async fn finish(db: &Db, id: &str, hash: &str, step: Step) -> Result<Ingested, ServiceError> {
    match step {
        Step::Decided(decision) => Ok(Ingested { decision, replayed: false }),
        Step::AlreadyStored => {
            replay(db, id, hash).await?.ok_or(ServiceError::Store(StoreError::Duplicate("event id")))
        }
    }
}

async fn replay(db: &Db, id: &str, hash: &str) -> Result<Option<Ingested>, ServiceError> {
    let Some(stored) = db.conn().await?.risk().stored_event(id).await? else { return Ok(None) };
    if stored.body_hash != hash {
        return Err(ServiceError::Conflict {
            code: "event_id_reused",
            message: format!("event {id} was received before with a different body"),
        });
    }
    let decision = serde_json::from_str(&stored.decision_body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(Ingested { decision, replayed: true }))
}

/// An event to decide and store: as validated, its body as received and that body's hash.
struct Item<'a> {
    event: &'a Event,
    body: &'a str,
    hash: &'a str,
    now_ms: i64,
}

/// An account's profile and risk state while its events are decided.
struct Account {
    profile: Profile,
    state: AccountState,
    now_ms: i64,
    /// Its stored `last_activity_at` column.
    activity_at: Option<i64>,
}

/// Decides and stores events in one transaction, one account's events in the order given.
/// The group costs two round trips to the database on SQLite whatever its size
/// ([`thaw_store::risk::EventTx`]): read which ids are stored and every account's profile and
/// state, then write every event with its decision, every state, and commit. An event costs
/// statements of its own only when something follows from it (a hold, a release, a webhook, an
/// alert) or when it is its account's first.
async fn decide_all(
    db: &Db,
    risk: &RiskRuntime,
    engine: &Engine,
    items: &[Item<'_>],
) -> Result<Vec<Step>, ServiceError> {
    let mut tx = db.begin_events().await?;
    let decided = decide_in(&mut tx, risk, engine, items).await;
    if decided.is_err() {
        tx.rollback().await;
    }
    decided
}

async fn decide_in(
    tx: &mut EventTx,
    risk: &RiskRuntime,
    engine: &Engine,
    items: &[Item<'_>],
) -> Result<Vec<Step>, ServiceError> {
    let decision_ids: Vec<String> = items.iter().map(|_| new_id()).collect();
    // The first copy of an id in the group is decided unless the id is stored; a later copy
    // answers from what it stored.
    let mut seen = HashSet::with_capacity(items.len());
    let first: Vec<bool> = items.iter().map(|it| seen.insert(it.event.id.as_str())).collect();
    let event_ids: Vec<&str> =
        items.iter().zip(&first).filter(|(_, f)| **f).map(|(it, _)| it.event.id.as_str()).collect();
    // Every account of the group is read with the ids (also those of events already stored,
    // which are not known yet); an account seen for the first time is then created, in id
    // order like the rest.
    let mut ids: Vec<&str> = items.iter().map(|it| it.event.account_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let (stored, mut loaded) = tx.claim_and_load(&event_ids, &ids).await?;
    let decide: Vec<bool> =
        items.iter().zip(&first).map(|(it, first)| *first && !stored.contains(&it.event.id)).collect();
    // Each account's first event to decide, in account order: it creates the account if new.
    let mut firsts: BTreeMap<&str, &Item> = BTreeMap::new();
    for (it, _) in items.iter().zip(&decide).filter(|(_, d)| **d) {
        firsts.entry(it.event.account_id.as_str()).or_insert(it);
    }
    let conn = tx.conn();
    let mut accounts: HashMap<&str, Account> = HashMap::with_capacity(firsts.len());
    for (id, it) in firsts {
        let (profile, state_json, activity_at) = match loaded.remove(id) {
            Some(Loaded { profile: (kyc_level, vip_level, created_at_ms), state, activity_at }) => {
                (Profile { kyc_level, vip_level, created_at_ms }, Some(state), activity_at)
            }
            None => {
                let account =
                    crate::holds::ensure_account(conn, &it.event.account_id, it.event.occurred_at_ms, it.now_ms)
                        .await?;
                let state = conn.risk().lock_state(id, it.now_ms).await?;
                let profile = Profile {
                    kyc_level: account.kyc_level,
                    vip_level: account.vip_level,
                    created_at_ms: account.created_at_ms,
                };
                (profile, state, None)
            }
        };
        let state = match state_json.filter(|s| !s.is_empty()) {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("risk state: {e}")))?,
            None => AccountState::default(),
        };
        accounts.insert(id, Account { profile, state, now_ms: 0, activity_at });
    }

    let mut steps = Vec::with_capacity(items.len());
    let mut bodies = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        if !decide[i] {
            steps.push(Step::AlreadyStored);
            continue;
        }
        let account = accounts.get_mut(it.event.account_id.as_str()).expect("every account was loaded");
        account.now_ms = account.now_ms.max(it.now_ms);
        let (decision, action) = decide_one(conn, risk, engine, it.event, account, &decision_ids[i], it.now_ms).await?;
        bodies.push((i, action, decision.to_string()));
        steps.push(Step::Decided(decision));
    }
    let events: Vec<EventRecord> = bodies
        .iter()
        .map(|(i, action, body)| {
            let it = &items[*i];
            EventRecord {
                id: &it.event.id,
                account_id: it.event.account_id.as_str(),
                kind: it.event.kind.code(),
                occurred_at_ms: it.event.occurred_at_ms,
                received_at_ms: it.now_ms,
                body_hash: it.hash,
                body: it.body,
                decision: DecisionRecord { id: &decision_ids[*i], action, body },
            }
        })
        .collect();
    let states: Vec<StateRecord> = accounts
        .iter()
        .map(|(id, a)| StateRecord {
            account_id: id,
            state: serde_json::to_string(&a.state).expect("state serialises"),
            last_activity_at: a
                .state
                .last_activity_at
                .filter(|at| a.activity_at.is_none_or(|stored| at - stored >= ACTIVITY_STEP_MS)),
            now_ms: a.now_ms,
        })
        .collect();
    tx.commit(&events, &states).await?;
    Ok(steps)
}

/// Decides one claimed event on its account's state, and writes what follows from the
/// decision: holds, releases, the webhook, alerts. Returns the decision as answered, and its
/// action's code.
async fn decide_one(
    conn: &mut AnyConnection,
    risk: &RiskRuntime,
    engine: &Engine,
    event: &Event,
    account: &mut Account,
    decision_id: &str,
    now_ms: i64,
) -> Result<(serde_json::Value, &'static str), ServiceError> {
    // An event without a place gets one from the city database, when one is configured.
    let mut located = None;
    if event.geo.is_none() && event.ip.is_some() && risk.geo.is_some() {
        let mut copy = event.clone();
        if let Some(attribution) = risk.locate(&mut copy) {
            located = Some((copy, attribution.to_string()));
        }
    }
    let event = located.as_ref().map(|(e, _)| e).unwrap_or(event);
    let account_id = event.account_id.as_str();
    let outcome = engine.evaluate(event, &account.profile, &mut account.state, now_ms);

    let mut holds = Vec::with_capacity(outcome.holds.len());
    for plan in outcome.holds {
        let hold = from_plan(plan, account_id, Some(decision_id), now_ms);
        insert(conn, &hold, "thaw", &format!("event {}", event.id), now_ms).await?;
        holds.push(hold);
    }
    // A passed challenge is the owner verifying with one factor: lift what that may lift.
    let mut released = Vec::new();
    if outcome.owner_verified {
        for h in conn.holds().in_force(account_id, now_ms).await? {
            let owner_kind = matches!(h.origin, HoldOrigin::Risk | HoldOrigin::Inactivity);
            let allowed = h.check_release(&Actor::Owner { factors: 1 }, now_ms, &engine.policy.authority).is_ok();
            if owner_kind && matches!(h.release, ReleasePolicy::Owner { .. }) && allowed {
                let note = format!("owner passed a challenge (event {})", event.id);
                released.push(release_in(conn, &h, "owner", &note, now_ms).await?.id);
            }
        }
    }
    let mut decision = serde_json::json!({
        "id": decision_id,
        "event_id": event.id,
        "event_kind": event.kind.code(),
        "occurred_at": rfc3339(event.occurred_at_ms),
        "account_id": account_id,
        "action": outcome.action.code(),
        "reasons": outcome.reasons,
        "holds": holds.iter().map(hold_json).collect::<Vec<_>>(),
        "decided_at": rfc3339(now_ms),
    });
    if outcome.action == Action::Challenge {
        decision["challenge_url"] = format!("{}/security/challenge/{decision_id}", risk.public_url).into();
    }
    if !released.is_empty() {
        decision["released_holds"] = released.into();
    }
    if let (Some((_, attribution)), Some(geo)) = (&located, &event.geo) {
        decision["geo_lookup"] =
            serde_json::json!({ "country": geo.country, "city": geo.city, "attribution": attribution });
    }
    if outcome.action != Action::Allow {
        outbox::enqueue(conn, "decision.made", &decision, now_ms).await?;
    }
    // A withdrawal stopped for compliance is announced only as a restriction under review.
    let new_address = outcome.new_address && !holds.iter().any(|h| h.confidential);
    queue_alerts(conn, event, &outcome.reasons, new_address, now_ms).await?;
    Ok((decision, outcome.action.code()))
}

/// Alerts the holder should get about this event (holds placed and lifted alert on their own).
async fn queue_alerts(
    conn: &mut AnyConnection,
    event: &Event,
    reasons: &[thaw_domain::risk::Reason],
    new_address: bool,
    now_ms: i64,
) -> thaw_store::Result<()> {
    use thaw_domain::risk::EventKind as K;
    let mut kinds: Vec<(&str, Option<&thaw_domain::risk::Reason>)> = reasons
        .iter()
        .filter(|r| matches!(r.code.as_str(), "new_device" | "new_country" | "impossible_travel"))
        .map(|r| (r.code.as_str(), Some(r)))
        .collect();
    if new_address {
        kinds.push(("new_withdrawal_address", None));
    }
    if matches!(event.kind, K::PasswordChanged | K::MfaChanged | K::EmailChanged | K::PhoneChanged) {
        kinds.push(("credential_changed", None));
    }
    for (kind, reason) in kinds {
        let mut facts = crate::alerts::event_facts(event);
        if let Some(r) = reason {
            facts.insert(
                "explanation".into(),
                serde_json::json!({ "zh-CN": r.explanation.zh_cn, "en": r.explanation.en }),
            );
        }
        crate::alerts::queue(conn, event.account_id.as_str(), kind, facts, now_ms).await?;
    }
    Ok(())
}

/// Recent decisions of an account (for the desk and the API).
pub async fn decisions(
    db: &Db,
    account_id: &str,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<serde_json::Value>, ServiceError> {
    let id = AccountId::parse("id", account_id)?;
    let bodies = db.conn().await?.risk().decisions(id.as_str(), since_ms, limit).await?;
    Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
}

/// Most events committed in one transaction.
const MAX_GROUP: usize = 256;

struct Pending {
    event: Event,
    body: String,
    hash: String,
    now_ms: i64,
    reply: oneshot::Sender<Result<Ingested, ServiceError>>,
}

/// The group committer of one process: [`Ingestor::submit`] answers once the event is durable.
/// SQLite has one writer at a time, so there is one writer task; PostgreSQL takes several
/// transactions at once, so events are spread over several writers by account (keeping each
/// account's events in order, and each account's row lock in one writer).
#[derive(Clone)]
pub struct Ingestor {
    queues: std::sync::Arc<[mpsc::Sender<Pending>]>,
}

impl Ingestor {
    /// Starts the writer tasks; they end when every `Ingestor` clone is dropped.
    pub fn start(db: Db, risk: std::sync::Arc<RiskRuntime>) -> Ingestor {
        let writers = match db.backend() {
            thaw_store::Backend::Sqlite => 1,
            thaw_store::Backend::Postgres => 8,
        };
        let queues = (0..writers)
            .map(|_| {
                let (queue, rx) = mpsc::channel(4 * MAX_GROUP);
                tokio::spawn(writer(db.clone(), risk.clone(), rx));
                queue
            })
            .collect();
        Ingestor { queues }
    }

    /// Decides and stores `event`, committed together with whatever else is waiting. A replay
    /// is recognised by the writer when it claims the id, and answered from what is stored.
    pub async fn submit(&self, event: Event, canonical_body: String, now_ms: i64) -> Result<Ingested, ServiceError> {
        self.enqueue(event, canonical_body, now_ms).await?.answer().await
    }

    /// Queues `event` for its writer and returns its answer to wait for. Events queued one
    /// after the other are decided in that order (an account's events go to one writer) and
    /// may be committed together: a batch is queued whole, then its answers awaited.
    pub async fn enqueue(&self, event: Event, canonical_body: String, now_ms: i64) -> Result<Queued, ServiceError> {
        let hash = body_hash(&canonical_body);
        let (reply, answer) = oneshot::channel();
        let lane = account_lane(event.account_id.as_str(), self.queues.len());
        let pending = Pending { event, body: canonical_body, hash, now_ms, reply };
        self.queues[lane].send(pending).await.map_err(|_| writer_stopped())?;
        Ok(Queued(answer))
    }
}

/// An event queued for its writer ([`Ingestor::enqueue`]).
pub struct Queued(oneshot::Receiver<Result<Ingested, ServiceError>>);

impl Queued {
    /// The decision, once the event is durable.
    pub async fn answer(self) -> Result<Ingested, ServiceError> {
        self.0.await.map_err(|_| writer_stopped())?
    }
}

fn writer_stopped() -> ServiceError {
    ServiceError::Store(StoreError::Corrupt("the event writer stopped".into()))
}

/// Which writer takes an account's events: a stable hash of its id.
fn account_lane(account_id: &str, lanes: usize) -> usize {
    let h = account_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    (h % lanes as u64) as usize
}

/// How often the writer has SQLite's log copied into the database ([`Db::checkpoint`]).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

async fn writer(db: Db, risk: std::sync::Arc<RiskRuntime>, mut rx: mpsc::Receiver<Pending>) {
    let mut checkpoint: Option<(std::time::Instant, tokio::task::JoinHandle<()>)> = None;
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        // A group runs as a task of its own: should anything in it panic, its requests get an
        // error (their answer channels close) and this writer goes on with the next group.
        let task = tokio::spawn(commit_group(db.clone(), risk.clone(), group));
        if let Err(e) = task.await {
            tracing::error!(error = %e, "an event group failed unexpectedly; its requests were answered with an error");
        }
        // One checkpoint at a time, beside the next groups.
        let due = checkpoint.as_ref().is_none_or(|(at, task)| task.is_finished() && at.elapsed() >= CHECKPOINT_EVERY);
        if db.backend() == thaw_store::Backend::Sqlite && due {
            let db = db.clone();
            let task = tokio::spawn(async move {
                if let Err(e) = db.checkpoint().await {
                    tracing::warn!(error = %e, "checkpoint of the event log failed");
                }
            });
            checkpoint = Some((std::time::Instant::now(), task));
        }
    }
}

async fn commit_group(db: Db, risk: std::sync::Arc<RiskRuntime>, mut group: Vec<Pending>) {
    // One account's events keep their order; accounts are taken in id order so that
    // transactions of several processes lock account rows in the same order.
    group.sort_by(|a, b| a.event.account_id.as_str().cmp(b.event.account_id.as_str()));
    let engine = risk.engine();
    match write_group(&db, &risk, &engine, &group).await {
        // The answers wait for the group's commit to be on disk; the writer goes on meanwhile
        // (on SQLite the fsync is shared with the groups committed while it waits).
        Ok(steps) => drop(tokio::spawn(async move {
            let synced = db.sync_log().await.map_err(|e| e.to_string());
            for (p, step) in group.into_iter().zip(steps) {
                let answer = match &synced {
                    Ok(()) => finish(&db, &p.event.id, &p.hash, step).await,
                    Err(e) => Err(ServiceError::Internal(format!("the event log was not synced to disk: {e}"))),
                };
                let _ = p.reply.send(answer);
            }
        })),
        Err(e) => {
            // Something in the group failed: try each event on its own, so one bad apple
            // spoils only itself.
            tracing::warn!(error = %e, events = group.len(), "group commit failed; retrying one by one");
            for p in group {
                let answer = ingest(&db, &risk, &p.event, &p.body, p.now_ms).await;
                let _ = p.reply.send(answer);
            }
        }
    }
}

async fn write_group(
    db: &Db,
    risk: &RiskRuntime,
    engine: &Engine,
    group: &[Pending],
) -> Result<Vec<Step>, ServiceError> {
    let items: Vec<Item> =
        group.iter().map(|p| Item { event: &p.event, body: &p.body, hash: &p.hash, now_ms: p.now_ms }).collect();
    decide_all(db, risk, engine, &items).await
}
