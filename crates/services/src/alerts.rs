//! Alerts to account holders: a new device or country, impossible travel, a hold placed or
//! lifted, a withdrawal to a new address, a credential change. Whatever decides queues an
//! alert in its own transaction (one job row); the job applies the throttle (one alert of a
//! kind per account per window), records the alert, tells the platform by webhook
//! (`alert.created`, for its SMS and push) and emails the holder in their language, with the
//! facts, what to do, and a single-use "this wasn't me — freeze my account" link.

use crate::mail::{self, Content};
use crate::security::Security;
use crate::{ServiceError, new_id, outbox, random_hex, rfc3339, secret_digest};
use serde_json::{Map, Value, json};
use thaw_domain::risk::{Event, Hold};
use thaw_domain::{AccountId, Locale};
use thaw_store::{AlertRecord, AnyConnection, Capabilities, Db};

pub const KINDS: &[&str] = &[
    "new_device",
    "new_country",
    "impossible_travel",
    "hold_placed",
    "hold_released",
    "new_withdrawal_address",
    "credential_changed",
];

/// How long a freeze link in an alert email works.
pub const FREEZE_LINK_TTL_MS: i64 = 24 * 3600 * 1000;

/// Queues an alert of `kind` with its facts, in the caller's transaction.
pub async fn queue(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: &str,
    facts: Map<String, Value>,
    now_ms: i64,
) -> thaw_store::Result<()> {
    let payload = json!({ "account_id": account_id, "kind": kind, "facts": facts, "at": now_ms });
    conn.jobs().schedule(&new_id(), "alert", &payload.to_string(), now_ms, now_ms).await
}

/// The facts of an event a holder can recognise: time, place, IP, device, amount, address.
pub fn event_facts(e: &Event) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("time".into(), rfc3339(e.occurred_at_ms).into());
    if let Some(ip) = e.ip {
        f.insert("ip".into(), ip.to_string().into());
    }
    if let Some(g) = &e.geo {
        let place = [g.city.as_deref(), g.country.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
        if !place.is_empty() {
            f.insert("place".into(), place.into());
        }
    }
    let device =
        [e.device_id.as_deref(), e.user_agent.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    if !device.is_empty() {
        f.insert("device".into(), device.into());
    }
    if let Some(m) = &e.money {
        f.insert("amount".into(), format!("{} {}", m.amount, m.asset).into());
    }
    if let Some(a) = &e.address {
        f.insert("address".into(), a.clone().into());
    }
    if let Some(n) = &e.network {
        f.insert("network".into(), n.clone().into());
    }
    f.insert("event".into(), e.kind.code().into());
    f
}

/// The facts of a hold for its alert. A confidential (compliance) hold says only that a review
/// is under way: its reason never reaches the holder.
pub fn hold_facts(h: &Hold) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("hold_id".into(), h.id.clone().into());
    f.insert("scopes".into(), h.scopes.scopes().iter().map(|s| s.code()).collect::<Vec<_>>().into());
    f.insert("time".into(), rfc3339(h.released_at_ms.unwrap_or(h.created_at_ms)).into());
    if h.confidential {
        f.insert("compliance_review".into(), true.into());
    } else {
        f.insert("explanation".into(), json!({ "zh-CN": h.reason.explanation.zh_cn, "en": h.reason.explanation.en }));
    }
    if let Some(c) = h.cooldown_ms.filter(|c| *c > 0)
        && h.released_at_ms.is_some()
    {
        f.insert("cooldown_hours".into(), (c / 3_600_000).into());
    }
    f
}

/// Runs `alert` jobs, `(id, payload)` each, held by `worker`, in one transaction: throttle,
/// record, webhook, email, and each job marked done with its delivery, so that a batch costs one
/// commit. Returns, per job, whether it was marked done: not when its payload names no account
/// (nothing to send) or when `worker` no longer holds it (nothing sent).
pub async fn deliver(
    db: &Db,
    security: &Security,
    jobs: &[(&str, &str)],
    worker: &str,
    now_ms: i64,
) -> Result<Vec<bool>, ServiceError> {
    let mut tx = db.begin_write().await?;
    let mut done = Vec::with_capacity(jobs.len());
    for (id, payload) in jobs {
        done.push(deliver_one(&mut tx, security, (id, worker), payload, now_ms).await?);
    }
    tx.commit().await.map_err(thaw_store::StoreError::from)?;
    Ok(done)
}

async fn deliver_one(
    tx: &mut AnyConnection,
    security: &Security,
    job: (&str, &str),
    payload: &str,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let p: Value = serde_json::from_str(payload).map_err(|e| thaw_store::StoreError::Corrupt(e.to_string()))?;
    let account_id = p["account_id"].as_str().unwrap_or_default();
    let kind = p["kind"].as_str().unwrap_or_default();
    let facts = p["facts"].as_object().cloned().unwrap_or_default();
    let at = p["at"].as_i64().unwrap_or(now_ms);
    let Ok(id) = AccountId::parse("account_id", account_id) else { return Ok(false) };
    if !tx.jobs().complete(job.0, job.1, now_ms).await? {
        return Ok(false);
    }
    if tx.alerts().sent_since(account_id, kind, at - security.config.alert_throttle_ms).await? {
        tracing::debug!(account = account_id, kind, "alert throttled");
        return Ok(true);
    }
    let Some(account) = tx.accounts().get(&id).await? else { return Ok(true) };
    let alert = AlertRecord {
        id: new_id(),
        account_id: account_id.into(),
        kind: kind.into(),
        facts: Value::Object(facts.clone()).to_string(),
        created_at_ms: at,
    };
    tx.alerts().insert(&alert).await?;
    let webhook = json!({
        "id": alert.id,
        "account_id": account_id,
        "kind": kind,
        "locale": account.locale.code(),
        "facts": facts,
        "created_at": rfc3339(at),
        "security_centre_url": security.link("/security"),
    });
    outbox::enqueue(tx, "alert.created", &webhook, now_ms).await?;
    if account.email.is_some() {
        let token = random_hex(32);
        tx.holders()
            .insert_freeze_link(&secret_digest(&token), account_id, now_ms, now_ms + FREEZE_LINK_TTL_MS)
            .await?;
        let content = compose(account.locale, kind, &facts, security, &token);
        mail::queue(tx, security, &account, &format!("alert:{kind}"), &content, now_ms).await?;
    }
    Ok(true)
}

fn tr(locale: Locale, zh: &'static str, en: &'static str) -> String {
    if locale == Locale::ZhCn { zh.into() } else { en.into() }
}

/// (subject, what happened, what to do) of an alert kind.
fn kind_texts(l: Locale, kind: &str) -> (String, String, String) {
    let (s, h, d) = match kind {
        "new_device" => (
            ("新设备登录了您的账户", "A new device signed in to your account"),
            (
                "您的账户在一台我们没见过的设备上登录。",
                "Your account was signed in on a device we have not seen before.",
            ),
            (
                "如果是您本人，无需操作。如果不是，请立即冻结账户并修改平台密码。",
                "If this was you, there is nothing to do. If not, freeze your account now and change your platform password.",
            ),
        ),
        "new_country" => (
            ("您的账户在新的国家或地区登录", "Sign-in to your account from a new country"),
            (
                "您的账户从一个以前没有登录过的国家或地区登录。",
                "Your account was signed in from a country it has not been used in before.",
            ),
            (
                "如果是您本人（例如正在旅行），无需操作。如果不是，请立即冻结账户。",
                "If this was you (travelling, say), there is nothing to do. If not, freeze your account now.",
            ),
        ),
        "impossible_travel" => (
            ("异常登录：地点变化过快", "Unusual sign-in: too far, too fast"),
            (
                "两次登录之间的距离在这段时间内无法到达。",
                "Two sign-ins happened too far apart for the time between them.",
            ),
            (
                "如果您没有使用 VPN，这很可能是他人在使用您的账户：请立即冻结账户。",
                "Unless you use a VPN, someone else is probably using your account: freeze it now.",
            ),
        ),
        "hold_placed" => (
            ("您的账户已被限制", "Your account has been restricted"),
            (
                "为保护您的资产，我们限制了您账户的部分功能。",
                "To protect your funds we restricted part of your account.",
            ),
            (
                "打开安全中心查看原因，以及您自己能否解除。",
                "Open the security centre to see why, and whether you can lift it yourself.",
            ),
        ),
        "hold_released" => (
            ("账户限制已解除", "A restriction on your account was lifted"),
            ("您账户上的一项限制已解除。", "A restriction on your account has been lifted."),
            (
                "如果不是您本人解除的，请立即冻结账户并联系我们。",
                "If you did not do this, freeze your account now and contact us.",
            ),
        ),
        "new_withdrawal_address" => (
            ("向新地址提现", "Withdrawal to a new address"),
            (
                "您的账户申请向一个从未使用过的地址提现。",
                "Your account asked to withdraw to an address it has never used.",
            ),
            (
                "如果不是您本人，请立即冻结账户：提现会被拦下。",
                "If this was not you, freeze your account now: withdrawals will be stopped.",
            ),
        ),
        _ => (
            ("您的账户安全设置已更改", "Your account's security settings changed"),
            (
                "您账户的密码、两步验证、邮箱或手机号已更改。",
                "The password, two-factor setting, email or phone of your account changed.",
            ),
            (
                "如果不是您本人，请立即冻结账户：更改后 24 小时内提现会被暂停。",
                "If this was not you, freeze your account now: withdrawals are paused for 24 hours after such a change.",
            ),
        ),
    };
    let pick = |p: (&'static str, &'static str)| tr(l, p.0, p.1);
    (pick(s), pick(h), pick(d))
}

fn fact_label(l: Locale, key: &str) -> Option<String> {
    let (zh, en) = match key {
        "time" => ("时间 (UTC)", "Time (UTC)"),
        "place" => ("地点", "Place"),
        "ip" => ("IP 地址", "IP address"),
        "device" => ("设备", "Device"),
        "amount" => ("金额", "Amount"),
        "address" => ("地址", "Address"),
        "network" => ("网络", "Network"),
        "scopes" => ("受限功能", "Restricted"),
        _ => return None,
    };
    Some(tr(l, zh, en))
}

fn compose(l: Locale, kind: &str, facts: &Map<String, Value>, security: &Security, freeze_token: &str) -> Content {
    let (subject, happened, to_do) = kind_texts(l, kind);
    let mut paragraphs = vec![happened];
    if let Some(e) = facts.get("explanation").and_then(|e| e.get(l.code())).and_then(Value::as_str) {
        paragraphs.push(e.to_string());
    }
    if facts.get("compliance_review").is_some() {
        paragraphs.push(tr(l, "合规审核正在进行中。", "A compliance review is under way."));
    }
    for key in ["time", "place", "ip", "device", "amount", "address", "network", "scopes"] {
        let Some(v) = facts.get(key) else { continue };
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        };
        if let Some(label) = fact_label(l, key) {
            paragraphs.push(format!("{label}: {value}"));
        }
    }
    if let Some(h) = facts.get("cooldown_hours").and_then(Value::as_i64) {
        paragraphs.push(if l == Locale::ZhCn {
            format!("提现冷静期：{h} 小时后恢复提现。")
        } else {
            format!("Withdrawals cool down for {h} hours.")
        });
    }
    paragraphs.push(to_do);
    Content {
        heading: subject.clone(),
        subject,
        paragraphs,
        action: Some((tr(l, "打开安全中心", "Open the security centre"), security.link("/security"))),
        freeze: Some((
            tr(
                l,
                "不是我本人 —— 立即冻结我的账户（24 小时内有效，仅限一次）",
                "This wasn't me — freeze my account (works once, for 24 hours)",
            ),
            security.link(&format!("/freeze/{freeze_token}")),
        )),
    }
}

/// The account's alerts, newest first (the security centre's history).
pub async fn for_account(db: &Db, account_id: &str, limit: i64) -> Result<Vec<AlertRecord>, ServiceError> {
    Ok(db.conn().await?.alerts().for_account(account_id, limit).await?)
}
