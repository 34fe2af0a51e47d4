//! Email to account holders: composed in their language with their anti-phishing code in a
//! fixed place at the top, stored, then sent over SMTP by a job (retried with backoff). Without
//! an SMTP server configured, emails are kept (the demo mailbox shows them) but not sent.

use crate::security::Security;
use crate::{ServiceError, new_id};
use lettre::AsyncTransport;
use lettre::message::{Message, MultiPart};
use thaw_domain::{Account, Locale};
use thaw_store::{AnyConnection, Capabilities, Db, EmailRecord};

/// Sending is given up after this many attempts (about a day with the job backoff).
pub const MAX_ATTEMPTS: i64 = 12;

/// An email's content before it is wrapped with the anti-phishing code and footer.
pub struct Content {
    pub subject: String,
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// A button: (label, absolute URL).
    pub action: Option<(String, String)>,
    /// A second, smaller link under the text (the "this wasn't me" link).
    pub freeze: Option<(String, String)>,
}

fn tr(locale: Locale, zh: &'static str, en: &'static str) -> &'static str {
    if locale == Locale::ZhCn { zh } else { en }
}

/// The text and HTML bodies of an email.
pub fn render(locale: Locale, anti_phishing: Option<&str>, c: &Content) -> (String, String) {
    let code_line = match anti_phishing {
        Some(code) => format!("{} {code}", tr(locale, "您的防钓鱼码：", "Your anti-phishing code:")),
        None => tr(
            locale,
            "您尚未设置防钓鱼码。请在安全中心设置，之后 thaw 的每封邮件都会显示它。",
            "You have not set an anti-phishing code. Set one in the security centre and every email from thaw will show it.",
        )
        .to_string(),
    };
    let safety = tr(
        locale,
        "thaw 绝不会索要您的助记词、私钥、密码或验证码。没有显示您的防钓鱼码的邮件不是我们发的。",
        "thaw never asks for your seed phrase, private key, password or codes. An email without your anti-phishing code is not from us.",
    );
    let mut text = format!("{code_line}\n\n{}\n\n", c.heading);
    for p in &c.paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    if let Some((label, url)) = &c.action {
        text.push_str(&format!("{label}: {url}\n\n"));
    }
    if let Some((label, url)) = &c.freeze {
        text.push_str(&format!("{label}: {url}\n\n"));
    }
    text.push_str("-- \n");
    text.push_str(safety);
    text.push('\n');

    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:600px;margin:auto;color:#1a1a1a\">",
    );
    html.push_str(&format!(
        "<div id=\"anti-phishing\" style=\"border:2px solid #0b57d0;border-radius:6px;padding:10px 14px;margin:12px 0;font-size:16px\"><strong>{}</strong></div>",
        thaw_text::markdown::escape(&code_line)
    ));
    html.push_str(&format!("<h1 style=\"font-size:20px\">{}</h1>", thaw_text::markdown::escape(&c.heading)));
    for p in &c.paragraphs {
        html.push_str(&format!("<p>{}</p>", thaw_text::markdown::escape(p)));
    }
    if let Some((label, url)) = &c.action {
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;background:#0b57d0;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">{}</a></p>",
            thaw_text::markdown::escape(url),
            thaw_text::markdown::escape(label)
        ));
    }
    if let Some((label, url)) = &c.freeze {
        html.push_str(&format!(
            "<p><a id=\"freeze-link\" href=\"{}\" style=\"color:#b3261e;font-weight:bold\">{}</a></p>",
            thaw_text::markdown::escape(url),
            thaw_text::markdown::escape(label)
        ));
    }
    html.push_str(&format!(
        "<hr><p style=\"font-size:12px;color:#555\">{}</p></body></html>",
        thaw_text::markdown::escape(safety)
    ));
    (text, html)
}

/// The headers that thread a case email: its Message-ID, the one it answers, where replies go.
#[derive(Debug, Clone, Default)]
pub struct Threading {
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub reply_to: Option<String>,
}

/// Stores an email to `account` and schedules its sending, in the caller's transaction.
pub async fn queue(
    conn: &mut AnyConnection,
    security: &Security,
    account: &Account,
    purpose: &str,
    content: &Content,
    now_ms: i64,
) -> thaw_store::Result<Option<String>> {
    queue_threaded(conn, security, account, purpose, content, Threading::default(), now_ms).await
}

/// [`queue`] with threading headers (case emails).
pub async fn queue_threaded(
    conn: &mut AnyConnection,
    security: &Security,
    account: &Account,
    purpose: &str,
    content: &Content,
    threading: Threading,
    now_ms: i64,
) -> thaw_store::Result<Option<String>> {
    let Some(to) = account.email.as_ref() else { return Ok(None) };
    let anti_phishing = conn.accounts().anti_phishing_code(account.id.as_str()).await?;
    let (text, html) = render(account.locale, anti_phishing.as_deref(), content);
    let id = new_id();
    let status = if security.sends_email() { "pending" } else { "unsent" };
    conn.alerts()
        .insert_email(&EmailRecord {
            id: id.clone(),
            account_id: Some(account.id.as_str().to_string()),
            to_addr: to.as_str().to_string(),
            purpose: purpose.into(),
            subject: content.subject.clone(),
            body_text: text,
            body_html: html,
            status: status.into(),
            attempts: 0,
            last_error: None,
            created_at_ms: now_ms,
            sent_at_ms: None,
            message_id: threading.message_id,
            in_reply_to: threading.in_reply_to,
            reply_to: threading.reply_to,
        })
        .await?;
    if security.sends_email() {
        conn.jobs().schedule(&new_id(), "email", &id, now_ms, now_ms).await?;
    }
    Ok(Some(id))
}

/// The email carrying a one-time code (sign-in or step-up).
pub async fn queue_code(
    conn: &mut AnyConnection,
    security: &Security,
    account: &Account,
    code: &str,
    purpose: &str,
    now_ms: i64,
) -> thaw_store::Result<()> {
    let l = account.locale;
    let content = Content {
        subject: format!("{} {code}", tr(l, "thaw 验证码：", "thaw verification code:")),
        heading: tr(l, "您的验证码", "Your verification code").to_string(),
        paragraphs: vec![
            code.to_string(),
            if purpose == "signin" {
                tr(l, "用此验证码登录 thaw 安全中心。10 分钟内有效，只能使用一次。", "Use this code to sign in to the thaw security centre. It is valid for 10 minutes and works once.")
            } else {
                tr(l, "用此验证码在 thaw 安全中心确认身份。10 分钟内有效，只能使用一次。", "Use this code to confirm it is you in the thaw security centre. It is valid for 10 minutes and works once.")
            }
            .to_string(),
            tr(l, "不要把验证码告诉任何人，包括自称客服的人。如果不是您本人操作，请忽略此邮件。", "Never tell this code to anyone, including people who say they are support. If you did not ask for it, ignore this email.").to_string(),
        ],
        action: None,
        freeze: None,
    };
    queue(conn, security, account, &format!("{purpose}_code"), &content, now_ms).await.map(|_| ())
}

/// Sends a stored email. Ok(true) when finished (sent or given up), Err to retry later.
pub async fn send(db: &Db, security: &Security, email_id: &str, now_ms: i64) -> Result<bool, String> {
    let mut conn = db.conn().await.map_err(|e| e.to_string())?;
    let Some(email) = conn.alerts().email(email_id).await.map_err(|e| e.to_string())? else { return Ok(true) };
    if email.status == "sent" || email.status == "failed" {
        return Ok(true);
    }
    drop(conn);
    let Some(mailer) = security.mailer.as_ref() else { return Ok(true) };
    let to = email.to_addr.parse().map_err(|e| format!("bad recipient: {e}"));
    let message = to.and_then(|to| {
        let mut builder = Message::builder().from(security.from.clone()).to(to).subject(email.subject.clone());
        if let Some(id) = &email.message_id {
            builder = builder.message_id(Some(format!("<{id}>")));
        }
        if let Some(id) = &email.in_reply_to {
            builder = builder.in_reply_to(format!("<{id}>")).references(format!("<{id}>"));
        }
        if let Some(addr) = &email.reply_to {
            builder = builder.reply_to(addr.parse().map_err(|e| format!("bad reply-to: {e}"))?);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(email.body_text.clone(), email.body_html.clone()))
            .map_err(|e| e.to_string())
    });
    let outcome = match message {
        Ok(m) => mailer.send(m).await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => {
            // A message that cannot be built will never send.
            record(db, &email.id, "failed", Some(&e), now_ms).await?;
            return Ok(true);
        }
    };
    match outcome {
        Ok(()) => {
            record(db, &email.id, "sent", None, now_ms).await?;
            Ok(true)
        }
        Err(e) if email.attempts + 1 >= MAX_ATTEMPTS => {
            record(db, &email.id, "failed", Some(&e), now_ms).await?;
            Ok(true)
        }
        Err(e) => {
            record(db, &email.id, "pending", Some(&e), now_ms).await?;
            Err(e)
        }
    }
}

async fn record(db: &Db, id: &str, status: &str, error: Option<&str>, now_ms: i64) -> Result<(), String> {
    let mut conn = db.conn().await.map_err(|e| e.to_string())?;
    conn.alerts().record_email_attempt(id, status, error, now_ms).await.map_err(|e| e.to_string())
}

/// The newest emails (of one account, or all): the demo mailbox.
pub async fn recent(db: &Db, account_id: Option<&str>, limit: i64) -> Result<Vec<EmailRecord>, ServiceError> {
    Ok(db.conn().await?.alerts().recent_emails(account_id, limit).await?)
}
