//! The support bot in the security centre: the holder describes the problem in their words; the
//! bot classifies it, looks at the account (a hold the holder may lift themselves → it offers
//! exactly that, with the hold's explanation), answers with the best articles and asks whether
//! that solved it. "Yes" ends the conversation as solved by the bot — the only thing counted as
//! deflection; "no", low confidence or asking for a person opens a case with the transcript and
//! the predicted category, routed as usual.

use crate::cases::{self, CaseActor, Desk, OpenCase};
use crate::search::{Search, article_of};
use crate::triage::Triage;
use crate::{ServiceError, new_id};
use serde_json::{Value, json};
use thaw_domain::case::{Case, Channel};
use thaw_domain::risk::{Hold, ReleasePolicy};
use thaw_domain::{CaseCategory, Invalid, Locale};
use thaw_store::{BotSession, Capabilities, Db, StoreError};
use thaw_text::search::{DocKind, Filter};

/// Below this confidence the bot does not guess: a person takes over.
pub const LOW_CONFIDENCE: f32 = 0.35;
const MAX_MESSAGE: usize = 2000;
/// Messages an account may send the bot per throttle window (15 minutes): a person never
/// needs more, a script hammering the search and the model does.
pub const MAX_MESSAGES_PER_WINDOW: i64 = 30;
/// Turns after which the bot hands over rather than going round in circles.
const MAX_TURNS: usize = 6;

/// An article the bot offers.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub slug: String,
    pub title: String,
    pub snippet_html: String,
}

/// What the bot answered.
#[derive(Debug, Clone)]
pub struct BotTurn {
    pub session: BotSession,
    pub category: CaseCategory,
    pub confidence: f32,
    /// A hold on the account the holder may lift themselves.
    pub hold: Option<Hold>,
    pub articles: Vec<Suggestion>,
    /// The secret guard removed something from the message.
    pub redacted: Option<String>,
    /// Handed over: the case opened with the transcript.
    pub case: Option<Case>,
}

/// Whether the holder asks for a person.
pub fn wants_human(text: &str) -> bool {
    let t = text.to_lowercase();
    const CUES: [&str; 14] = [
        "人工",
        "真人",
        "转人工",
        "找客服",
        "联系客服",
        "客服人员",
        "human",
        "real person",
        "an agent",
        "a person",
        "speak to someone",
        "talk to someone",
        "live agent",
        "operator",
    ];
    CUES.iter().any(|c| t.contains(c))
}

/// The conversation so far: `{who: holder|bot, text, articles?: [{slug, title}], hold?, at}`.
pub fn transcript(s: &BotSession) -> Vec<Value> {
    serde_json::from_str(&s.transcript).unwrap_or_default()
}

fn holder_text(s: &BotSession) -> String {
    transcript(s)
        .iter()
        .filter(|t| t["who"] == "holder")
        .filter_map(|t| t["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A conversation of this holder.
pub async fn own_session(db: &Db, account_id: &str, id: &str) -> Result<BotSession, ServiceError> {
    let mut conn = db.conn().await?;
    match conn.texts().bot_session(id).await? {
        Some(s) if s.account_id == account_id => Ok(s),
        _ => Err(ServiceError::NotFound("conversation")),
    }
}

async fn save(db: &Db, s: &BotSession) -> Result<(), ServiceError> {
    let mut conn = db.conn().await?;
    conn.texts().save_bot_session(s).await.map_err(ServiceError::from)
}

/// Everything the bot needs from the process.
pub struct BotParts<'a> {
    pub db: &'a Db,
    pub desk: &'a Desk,
    pub search: &'a Search,
    pub triage: &'a Triage,
}

/// The holder writes to the bot (a new conversation when `session_id` is None).
pub async fn ask(
    parts: &BotParts<'_>,
    account_id: &str,
    locale: Locale,
    session_id: Option<&str>,
    message: &str,
    now_ms: i64,
) -> Result<BotTurn, ServiceError> {
    let message = message.trim();
    if message.is_empty() {
        return Err(Invalid::new("message", "required", "message: describe the problem").into());
    }
    if message.chars().count() > MAX_MESSAGE {
        return Err(Invalid::new("message", "too_long", format!("message: at most {MAX_MESSAGE} characters")).into());
    }
    {
        let mut conn = parts.db.conn().await?;
        let limit = [("bot_message", account_id, MAX_MESSAGES_PER_WINDOW)];
        crate::signin::check_limits(&mut conn, &limit, now_ms).await?;
        conn.throttle().record_failure("bot_message", account_id, now_ms).await?;
    }
    let screened = crate::guard::screen(message);
    let mut session = match session_id {
        Some(id) => {
            let s = own_session(parts.db, account_id, id).await?;
            if s.outcome != "open" {
                return Err(ServiceError::Conflict {
                    code: "conversation_ended",
                    message: "this conversation has ended".into(),
                });
            }
            s
        }
        None => BotSession {
            id: new_id(),
            account_id: account_id.into(),
            locale: locale.code().into(),
            transcript: "[]".into(),
            predicted: None,
            confidence: None,
            outcome: "open".into(),
            case_id: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        },
    };
    let mut turns = transcript(&session);
    turns.push(json!({"who": "holder", "text": screened.text, "at": now_ms}));
    if !screened.found.is_empty() {
        turns.push(json!({"who": "bot", "text": crate::guard::warning(locale, &screened.found), "at": now_ms}));
    }
    session.transcript = Value::Array(turns.clone()).to_string();
    session.updated_at_ms = now_ms;
    let redacted = (!screened.found.is_empty()).then(|| crate::guard::warning(locale, &screened.found));

    let prediction = parts.triage.classify(parts.db, &holder_text(&session)).await?;
    let category = CaseCategory::parse(&prediction.label).unwrap_or(CaseCategory::Other);
    session.predicted = Some(category.code().into());
    session.confidence = Some(format!("{:.3}", prediction.confidence));
    let holder_turns = turns.iter().filter(|t| t["who"] == "holder").count();
    let mut turn = BotTurn {
        session: session.clone(),
        category,
        confidence: prediction.confidence,
        hold: None,
        articles: vec![],
        redacted,
        case: None,
    };
    if wants_human(message) || prediction.confidence < LOW_CONFIDENCE || holder_turns >= MAX_TURNS {
        save(parts.db, &session).await?;
        turn.case = Some(hand_over(parts, account_id, &session.id, now_ms).await?);
        turn.session = own_session(parts.db, account_id, &session.id).await?;
        return Ok(turn);
    }
    // A hold the holder may lift themselves comes first: that is what most people need.
    let holds = {
        let mut conn = parts.db.conn().await?;
        conn.holds().in_force(account_id, now_ms).await?
    };
    turn.hold = holds.into_iter().find(|h| matches!(h.release, ReleasePolicy::Owner { .. }));
    turn.articles = articles(parts, &holder_text(&session), locale, category).await?;
    let shown: Vec<&str> = turn.articles.iter().map(|a| a.slug.as_str()).collect();
    crate::search::record_shown(parts.db, "assistant", &shown, now_ms).await;
    let reply = match locale {
        Locale::ZhCn => format!("看起来是「{}」方面的问题。", category.label(locale)),
        Locale::En => format!("This looks like a question about {}.", category.label(locale).to_lowercase()),
    };
    let mut turns = transcript(&session);
    let articles: Vec<Value> = turn.articles.iter().map(|a| json!({"slug": a.slug, "title": a.title})).collect();
    let hold = turn.hold.as_ref().map(|h| h.id.clone());
    turns.push(json!({"who": "bot", "text": reply, "articles": articles, "hold": hold, "at": now_ms}));
    session.transcript = Value::Array(turns).to_string();
    save(parts.db, &session).await?;
    turn.session = session;
    Ok(turn)
}

/// The best articles for what the holder wrote, those of the predicted category first.
async fn articles(
    parts: &BotParts<'_>,
    text: &str,
    locale: Locale,
    category: CaseCategory,
) -> Result<Vec<Suggestion>, ServiceError> {
    let filter = Filter { kind: DocKind::Article, locale: Some(locale.code().into()), internal: false };
    let hits = parts.search.query(text, &filter, 8).await?;
    let in_category: std::collections::HashSet<String> = crate::knowledge::published(parts.db, locale.code())
        .await?
        .into_iter()
        .filter(|r| r.categories.iter().any(|c| c == category.code()))
        .map(|r| r.slug)
        .collect();
    let mut list: Vec<Suggestion> = hits
        .iter()
        .filter_map(|h| {
            let (slug, _) = article_of(h)?;
            Some(Suggestion { slug: slug.into(), title: h.title.clone(), snippet_html: h.snippet_html.clone() })
        })
        .collect();
    list.sort_by_key(|s| !in_category.contains(&s.slug));
    list.truncate(3);
    Ok(list)
}

/// "Yes, that solved it": the conversation ends, counted as solved by the bot.
pub async fn solved(db: &Db, account_id: &str, session_id: &str, now_ms: i64) -> Result<BotSession, ServiceError> {
    let mut s = own_session(db, account_id, session_id).await?;
    if s.outcome != "open" {
        return Err(ServiceError::Conflict {
            code: "conversation_ended",
            message: "this conversation has ended".into(),
        });
    }
    s.outcome = "solved".into();
    s.updated_at_ms = now_ms;
    save(db, &s).await?;
    Ok(s)
}

/// "No" or "a person, please": a case with the transcript and the predicted category, routed as
/// usual. Asking twice gives the same case.
pub async fn hand_over(
    parts: &BotParts<'_>,
    account_id: &str,
    session_id: &str,
    now_ms: i64,
) -> Result<Case, ServiceError> {
    let mut s = own_session(parts.db, account_id, session_id).await?;
    if let Some(case_id) = &s.case_id {
        let mut conn = parts.db.conn().await?;
        return conn.cases().get(case_id).await?.map(|(c, _)| c).ok_or(ServiceError::NotFound("case"));
    }
    if s.outcome != "open" {
        return Err(ServiceError::Conflict {
            code: "conversation_ended",
            message: "this conversation has ended".into(),
        });
    }
    let locale = Locale::parse(&s.locale).unwrap_or(Locale::En);
    let category = s.predicted.as_deref().and_then(CaseCategory::parse).unwrap_or(CaseCategory::Other);
    let first = holder_text(&s);
    let mut subject: String = first.lines().next().unwrap_or_default().chars().take(80).collect();
    if subject.trim().is_empty() {
        subject = category.label(locale).into();
    }
    let (holder, bot) = match locale {
        Locale::ZhCn => ("用户", "智能助手"),
        Locale::En => ("Holder", "Assistant"),
    };
    let mut body = String::new();
    for t in transcript(&s) {
        let who = if t["who"] == "holder" { holder } else { bot };
        let mut line = t["text"].as_str().unwrap_or_default().to_string();
        if let Some(titles) = t["articles"].as_array().filter(|a| !a.is_empty()) {
            let titles: Vec<&str> = titles.iter().filter_map(|x| x["title"].as_str()).collect();
            line.push_str(&format!(" [{}]", titles.join(" · ")));
        }
        body.push_str(&format!("{who}: {line}\n"));
    }
    let confidence = s.confidence.clone().unwrap_or_default();
    body.push_str(&match locale {
        Locale::ZhCn => format!("（助手判断类别：{}，置信度 {confidence}）", category.code()),
        Locale::En => format!("(The assistant's category: {}, confidence {confidence})", category.code()),
    });
    let mut req = OpenCase::new(account_id, category, &subject, &body, Channel::Bot);
    req.language = Some(locale);
    let actor = CaseActor::Holder { account_id: account_id.into() };
    let mut tx = parts.db.begin_write().await?;
    let case = cases::open_in(&mut tx, parts.desk, req, &actor, now_ms).await?;
    s.outcome = "handed_over".into();
    s.case_id = Some(case.id.clone());
    s.updated_at_ms = now_ms;
    tx.texts().save_bot_session(&s).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(case)
}
