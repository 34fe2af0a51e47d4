//! A case's email thread. Every public update (the case opened, a staff reply, waiting for the
//! holder, resolved) is mailed to the holder with their anti-phishing code, a reply address that
//! carries a one-time token of this email, and a Message-ID; replies come back as RFC 822
//! messages and become case messages, found by the token or by In-Reply-To/References. Automatic
//! replies and bounces are recognised and dropped, so two robots never talk in a loop.

use crate::cases::{self, Desk, HolderReplied, OpenCase};
use crate::evidence::{self, Upload};
use crate::inbound::{self, Inbound};
use crate::mail::{self, Content, Threading};
use crate::security::Security;
use crate::{ServiceError, new_id, random_hex, secret_digest, utc_minute};
use serde_json::{Value, json};
use thaw_domain::case::{Case, CaseStatus, Channel};
use thaw_domain::{AccountId, CaseCategory, Email, Invalid, Locale};
use thaw_store::{AnyConnection, Capabilities, Db, StoreError};

/// The job that composes and queues one case email.
pub const JOB: &str = "case_email";
/// At most this many emails into one case per hour; more are dropped as a loop.
pub const MAX_INCOMING_PER_HOUR: i64 = 20;

/// Schedules the holder's email about a public update, in the caller's transaction.
/// `kind`: opened | reply | status.
pub async fn schedule(
    conn: &mut AnyConnection,
    case: &Case,
    kind: &str,
    message_id: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let payload = json!({"case_id": case.id, "kind": kind, "message_id": message_id}).to_string();
    conn.jobs().schedule(&new_id(), JOB, &payload, now_ms, now_ms).await
}

fn tr(l: Locale, zh: &'static str, en: &'static str) -> &'static str {
    if l == Locale::ZhCn { zh } else { en }
}

/// The bare address thaw sends from (and receives replies at, plus-addressed).
pub fn base_address(security: &Security) -> String {
    security.from.email.to_string().to_ascii_lowercase()
}

/// Composes and queues the email of a scheduled update. Finished (Ok) also when there is
/// nothing to send (no email address, the case or message gone).
pub async fn deliver(
    db: &Db,
    security: &Security,
    desk: &Desk,
    payload: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let p: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let (Some(case_id), Some(kind)) = (p["case_id"].as_str(), p["kind"].as_str()) else { return Ok(()) };
    let mut tx = db.begin_write().await?;
    let Some((case, _)) = tx.cases().get(case_id).await? else { return Ok(()) };
    let Some(account) = tx.accounts().get(&AccountId::parse("account_id", &case.account_id)?).await? else {
        return Ok(());
    };
    if account.email.is_none() {
        return Ok(());
    }
    let message = match p["message_id"].as_str() {
        Some(id) => tx.cases().messages(&case.id, false).await?.into_iter().find(|m| m.id == id),
        None => None,
    };
    let l = account.locale;
    let token = random_hex(16);
    // Replies go to the sender's plus-address: `support+TOKEN@example.com`.
    let (user, domain) = (security.from.email.user(), security.from.email.domain());
    let message_id = format!("{}.{}@{domain}", case.reference().to_ascii_lowercase(), new_id());
    let in_reply_to = tx.cases().last_mail(&case.id).await?;
    let reply_to = Some(format!("{user}+{token}@{domain}"));
    let expected = desk.expected(&case);
    let case_link = security.link(&format!("/security/cases/{}", case.reference()));
    let mut paragraphs = vec![inbound::REPLY_MARKER.to_string()];
    let heading = match kind {
        "opened" => {
            paragraphs.push(format!(
                "{} {}",
                tr(l, "我们已收到您的工单：", "We have received your case:"),
                case.subject
            ));
            tr(l, "我们已收到您的工单", "We have received your case").to_string()
        }
        "reply" => {
            if let Some(m) = &message {
                paragraphs.push(m.body.clone());
            }
            tr(l, "客服回复了您的工单", "Support replied on your case").to_string()
        }
        _ => format!("{} {}", tr(l, "工单状态：", "Case status:"), case.status.label(l)),
    };
    let mut rating_links = vec![];
    match case.status {
        CaseStatus::PendingCustomer => paragraphs.push(
            tr(
                l,
                "我们在等待您的回复。直接回复此邮件即可，处理时限在您回复前暂停。",
                "We are waiting for your answer. Reply to this email; our clock is paused until you do.",
            )
            .to_string(),
        ),
        CaseStatus::Resolved => {
            paragraphs.push(
                tr(l, "此工单已解决。如果问题仍未解决，请在 7 天内回复此邮件，工单会重新打开。", "This case is resolved. If your problem is not solved, reply to this email within 7 days and the case reopens.")
                    .to_string(),
            );
            let rating = random_hex(16);
            tx.cases().set_rating_token(&case.id, &secret_digest(&rating)).await?;
            paragraphs.push(
                tr(l, "请为我们的服务打分（1 = 很差，5 = 很好）：", "Please rate our help (1 = poor, 5 = excellent):")
                    .to_string(),
            );
            for score in 1..=5 {
                rating_links
                    .push(format!("{score}: {}", security.link(&format!("/cases/rate?t={rating}&score={score}"))));
            }
            paragraphs.push(rating_links.join("\n"));
        }
        _ => {
            if let Some(next) = expected.next_step_ms {
                paragraphs.push(format!("{} {}", tr(l, "预计下一步：", "Expected next step:"), utc_minute(next)));
            }
            if let Some(done) = expected.resolution_ms {
                paragraphs.push(format!("{} {}", tr(l, "预计解决：", "Expected resolution:"), utc_minute(done)));
            }
        }
    }
    paragraphs.push(
        tr(
            l,
            "回复此邮件即可补充信息。请勿在邮件中发送助记词、私钥或密码。",
            "Reply to this email to add information. Never send a seed phrase, private key or password by email.",
        )
        .to_string(),
    );
    let content = Content {
        subject: format!("[{}] {}", case.reference(), case.subject),
        heading,
        paragraphs,
        action: Some((tr(l, "查看工单", "View your case").to_string(), case_link)),
        freeze: None,
    };
    let threading = Threading { message_id: Some(message_id.clone()), in_reply_to, reply_to };
    if mail::queue_threaded(&mut tx, security, &account, &format!("case_{kind}"), &content, threading, now_ms)
        .await?
        .is_some()
    {
        tx.cases().add_mail(&new_id(), &case.id, "out", &message_id, Some(&secret_digest(&token)), now_ms).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// What became of an incoming email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Added to a case (reopened it, or opened a linked case when it was closed).
    Added { case: String, reopened: bool, new_case: bool },
    /// From a known holder without a thread: a new case.
    Opened { case: String },
    /// Kept as an internal note: it came to the case's reply address from another address.
    Noted { case: String },
    /// Not taken, with the reason: auto_reply | bounce | bulk | duplicate | unknown_sender |
    /// too_many | empty.
    Ignored(&'static str),
}

impl Received {
    pub fn code(&self) -> &'static str {
        match self {
            Received::Added { new_case: true, .. } => "new_case",
            Received::Added { reopened: true, .. } => "reopened",
            Received::Added { .. } => "added",
            Received::Opened { .. } => "opened",
            Received::Noted { .. } => "noted",
            Received::Ignored(_) => "ignored",
        }
    }
}

/// Takes one email from the mail server (RFC 822 bytes).
pub async fn receive(
    db: &Db,
    desk: &Desk,
    base_address: &str,
    raw: &[u8],
    now_ms: i64,
) -> Result<(Received, Inbound), ServiceError> {
    let mail =
        inbound::parse(raw).map_err(|e| Invalid::new("message", e.code(), format!("message: {}", e.message())))?;
    let outcome = receive_parsed(db, desk, base_address, &mail, now_ms).await?;
    match &outcome {
        Received::Ignored(why) => tracing::info!(reason = why, "incoming email not taken"),
        r => tracing::info!(outcome = r.code(), "incoming email taken"),
    }
    Ok((outcome, mail))
}

async fn receive_parsed(
    db: &Db,
    desk: &Desk,
    base_address: &str,
    mail: &Inbound,
    now_ms: i64,
) -> Result<Received, ServiceError> {
    if let Some(auto) = &mail.automatic {
        return Ok(Received::Ignored(auto.code()));
    }
    let message_id = mail.message_id.clone().unwrap_or_else(|| format!("no-id.{}", new_id()));
    let (case, sender_account) = {
        let mut conn = db.conn().await?;
        if conn.cases().has_incoming_mail(&message_id).await? {
            return Ok(Received::Ignored("duplicate"));
        }
        let by_token = match inbound::reply_token(base_address, &mail.to) {
            Some(token) => conn.cases().case_of_mail_token(&secret_digest(&token)).await?,
            None => None,
        };
        let case_id = match by_token {
            Some(id) => Some(id),
            None => conn.cases().case_of_message_ids(&mail.in_reply_to).await?,
        };
        let case = match case_id {
            Some(id) => conn.cases().get(&id).await?.map(|(c, _)| c),
            None => None,
        };
        let sender = match mail.from.as_deref().and_then(|f| Email::parse("from", f).ok()) {
            Some(email) => conn.accounts().by_email(&email.normalized()).await?.map(|a| a.id.as_str().to_string()),
            None => None,
        };
        (case, sender)
    };
    let text = mail.text.trim();
    if text.is_empty() && mail.attachments.is_empty() {
        return Ok(Received::Ignored("empty"));
    }
    let body = if text.is_empty() { "(attachment)".to_string() } else { text.chars().take(20_000).collect() };
    let Some(case) = case else {
        // Not part of a thread: a known holder writing to support opens a case.
        let Some(account_id) = sender_account else { return Ok(Received::Ignored("unknown_sender")) };
        let subject = match mail.subject.trim() {
            "" => "(no subject)".to_string(),
            s => s.chars().take(120).collect(),
        };
        let req = OpenCase::new(&account_id, CaseCategory::Other, &subject, &body, Channel::Email);
        let mut tx = db.begin_write().await?;
        let case = cases::open_in(&mut tx, desk, req, &cases::CaseActor::Holder { account_id }, now_ms).await?;
        tx.cases().add_mail(&new_id(), &case.id, "in", &message_id, None, now_ms).await?;
        tx.commit().await.map_err(StoreError::from)?;
        attach_files(db, desk, &case, mail, now_ms).await;
        return Ok(Received::Opened { case: case.reference() });
    };
    {
        let mut conn = db.conn().await?;
        if conn.cases().incoming_mail_since(&case.id, now_ms - 3_600_000).await? >= MAX_INCOMING_PER_HOUR {
            return Ok(Received::Ignored("too_many"));
        }
    }
    if sender_account.as_deref() != Some(case.account_id.as_str()) {
        // Someone else wrote to this case's reply address (a forward, or a phisher who got the
        // address): the agents see it as a note; the holder's conversation is untouched.
        let from = mail.from.clone().unwrap_or_else(|| "?".into());
        let note = format!("Email from {from} (not the account holder's address):\n\n{body}");
        let staff = cases::CaseActor::System;
        cases::system_note(db, desk, &case.id, &staff, &note, now_ms).await?;
        let mut conn = db.conn().await?;
        conn.cases().add_mail(&new_id(), &case.id, "in", &message_id, None, now_ms).await?;
        return Ok(Received::Noted { case: case.reference() });
    }
    let HolderReplied { case: landed, reopened, new_case } =
        cases::holder_reply(db, desk, &case.account_id, case.number, &body, Channel::Email, now_ms).await?;
    {
        let mut conn = db.conn().await?;
        conn.cases().add_mail(&new_id(), &landed.id, "in", &message_id, None, now_ms).await?;
    }
    attach_files(db, desk, &landed, mail, now_ms).await;
    Ok(Received::Added { case: landed.reference(), reopened, new_case })
}

/// Keeps an email's attachments as evidence on the case. A refused file (type, size) is noted
/// for the agents instead, so the message itself is never lost over an attachment.
async fn attach_files(db: &Db, desk: &Desk, case: &Case, mail: &Inbound, now_ms: i64) {
    if mail.attachments.is_empty() {
        return;
    }
    let files = mail
        .attachments
        .iter()
        .map(|a| Upload {
            filename: a.filename.clone(),
            declared_type: a.content_type.clone(),
            bytes: a.bytes.clone(),
            identity: false,
        })
        .collect();
    if let Err(e) = evidence::attach(db, &desk.evidence, case, "email", None, files, now_ms).await {
        let note = format!("Attachments of an email were not kept: {e}");
        if let Err(e) = cases::system_note(db, desk, &case.id, &cases::CaseActor::System, &note, now_ms).await {
            tracing::warn!(error = %e, case = case.number, "could not note refused email attachments");
        }
    }
}
