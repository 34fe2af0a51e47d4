//! What each case category asks the holder when a case is opened (DESIGN.md: order number,
//! time, amount, transaction hash, …), and the validation that names the field at fault.

use crate::risk::Money;
use crate::{CaseCategory, Invalid, Locale};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text up to the given length.
    Text(usize),
    /// Several lines of text up to the given length.
    LongText(usize),
    /// One of the listed codes.
    Choice(&'static [&'static str]),
    /// A moment in the past: RFC 3339, or `YYYY-MM-DDTHH:MM` in the holder's UTC offset.
    PastTime,
    /// A decimal amount (its asset is the `asset` field).
    Amount,
    /// An asset or currency code such as USDT or CNY.
    Asset,
    /// A transaction hash or id.
    TxHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    zh: &'static str,
    en: &'static str,
}

impl Field {
    pub fn label(&self, locale: Locale) -> &'static str {
        match locale {
            Locale::ZhCn => self.zh,
            Locale::En => self.en,
        }
    }
}

const fn f(name: &'static str, kind: FieldKind, required: bool, zh: &'static str, en: &'static str) -> Field {
    Field { name, kind, required, zh, en }
}

const SCOPES: &[&str] = &["login", "trade", "withdraw", "all"];
const ACCESS_PROBLEMS: &[&str] = &["cannot_sign_in", "lost_2fa", "email_changed", "locked_out"];
const YES_NO: &[&str] = &["yes", "no"];
const CHANNELS: &[&str] = &["email", "sms", "phone", "telegram", "wechat", "website", "other"];
const DOCUMENTS: &[&str] = &["id_card", "passport", "driving_licence", "residence_permit"];
const DIRECTIONS: &[&str] = &["deposit", "withdrawal"];

/// The intake fields of a category, in the order a form shows them.
pub fn fields(category: CaseCategory) -> &'static [Field] {
    use FieldKind::*;
    match category {
        CaseCategory::AssetFreeze => {
            const {
                &[
                    f("scope", Choice(SCOPES), true, "被限制的功能", "What is restricted"),
                    f("since", PastTime, true, "从何时开始", "Since when"),
                    f("hold_reference", Text(40), false, "限制编号（如有）", "Hold reference (if shown)"),
                ]
            }
        }
        CaseCategory::AccountAccess => {
            const {
                &[
                    f("problem", Choice(ACCESS_PROBLEMS), true, "遇到的问题", "What is the problem"),
                    f("last_success", PastTime, false, "上次成功登录时间", "Last successful sign-in"),
                ]
            }
        }
        CaseCategory::AccountTheft => {
            const {
                &[
                    f("noticed_at", PastTime, true, "发现时间", "When you noticed"),
                    f(
                        "unauthorised_transactions",
                        LongText(4000),
                        true,
                        "不是您本人进行的操作",
                        "Transactions you did not make",
                    ),
                    f("still_has_access", Choice(YES_NO), false, "您是否仍能登录", "Can you still sign in"),
                ]
            }
        }
        CaseCategory::TradeDispute => {
            const {
                &[
                    f("order_number", Text(64), true, "订单号", "Order number"),
                    f("amount", Amount, true, "金额", "Amount"),
                    f("asset", Asset, true, "币种", "Currency or asset"),
                    f("paid_at", PastTime, true, "付款时间", "Payment time"),
                    f("counterparty", Text(100), false, "对方昵称", "Counterparty"),
                ]
            }
        }
        CaseCategory::PhishingReport => {
            const {
                &[
                    f("channel", Choice(CHANNELS), true, "对方联系您的渠道", "How they contacted you"),
                    f(
                        "contact_or_url",
                        Text(300),
                        true,
                        "对方的账号、号码或网址",
                        "Their handle, number or web address",
                    ),
                    f("lost_assets", Choice(YES_NO), false, "是否已有资产损失", "Have you lost assets"),
                ]
            }
        }
        CaseCategory::Verification => {
            const {
                &[
                    f("document_type", Choice(DOCUMENTS), true, "证件类型", "Document type"),
                    f("issue", LongText(2000), false, "遇到的问题", "What went wrong"),
                ]
            }
        }
        CaseCategory::DepositWithdrawal => {
            const {
                &[
                    f("direction", Choice(DIRECTIONS), true, "充值还是提现", "Deposit or withdrawal"),
                    f("amount", Amount, true, "金额", "Amount"),
                    f("asset", Asset, true, "币种", "Asset"),
                    f("occurred_at", PastTime, true, "发起时间", "When it was made"),
                    f("tx_hash", TxHash, false, "交易哈希（TxID）", "Transaction hash (TxID)"),
                    f("network", Text(30), false, "网络（如 TRC20、ERC20）", "Network (e.g. TRC20, ERC20)"),
                ]
            }
        }
        CaseCategory::Complaint => {
            const {
                &[
                    f("topic", Text(200), true, "投诉内容", "What the complaint is about"),
                    f("about_case", Text(20), false, "相关工单号", "Related case number"),
                ]
            }
        }
        CaseCategory::Other => &[],
    }
}

/// The label of a choice's code.
pub fn choice_label(code: &str, locale: Locale) -> &str {
    let (zh, en) = match code {
        "login" => ("登录", "Sign-in"),
        "trade" => ("交易", "Trading"),
        "withdraw" => ("提现", "Withdrawals"),
        "all" => ("全部功能", "Everything"),
        "cannot_sign_in" => ("无法登录", "I cannot sign in"),
        "lost_2fa" => ("丢失两步验证", "I lost my 2FA device"),
        "email_changed" => ("邮箱被更改", "My email was changed"),
        "locked_out" => ("账户被锁定", "My account is locked"),
        "yes" => ("是", "Yes"),
        "no" => ("否", "No"),
        "email" => ("邮件", "Email"),
        "sms" => ("短信", "Text message"),
        "phone" => ("电话", "Phone call"),
        "telegram" => ("Telegram", "Telegram"),
        "wechat" => ("微信", "WeChat"),
        "website" => ("网站", "Website"),
        "other" => ("其他", "Other"),
        "id_card" => ("身份证", "ID card"),
        "passport" => ("护照", "Passport"),
        "driving_licence" => ("驾驶证", "Driving licence"),
        "residence_permit" => ("居留许可", "Residence permit"),
        "deposit" => ("充值", "Deposit"),
        "withdrawal" => ("提现", "Withdrawal"),
        _ => return code,
    };
    match locale {
        Locale::ZhCn => zh,
        Locale::En => en,
    }
}

/// Checks the holder's answers for `category` and returns them normalised (times as RFC 3339
/// UTC, amounts canonical, codes trimmed). `utc_offset_minutes` is the holder's offset for times
/// typed without one; `now_ms` bounds "in the past" (with five minutes of clock skew).
pub fn validate(
    category: CaseCategory,
    answers: &BTreeMap<String, String>,
    utc_offset_minutes: i32,
    now_ms: i64,
) -> Result<BTreeMap<String, String>, Invalid> {
    validate_with(category, answers, utc_offset_minutes, now_ms, true)
}

/// As [`validate`], but required fields may be missing: a case the bot hands over, whose
/// category the model chose, is opened with what the holder said and the agent asks the rest.
pub fn validate_partial(
    category: CaseCategory,
    answers: &BTreeMap<String, String>,
    utc_offset_minutes: i32,
    now_ms: i64,
) -> Result<BTreeMap<String, String>, Invalid> {
    validate_with(category, answers, utc_offset_minutes, now_ms, false)
}

fn validate_with(
    category: CaseCategory,
    answers: &BTreeMap<String, String>,
    utc_offset_minutes: i32,
    now_ms: i64,
    require: bool,
) -> Result<BTreeMap<String, String>, Invalid> {
    let known = fields(category);
    if let Some(unknown) = answers.keys().find(|k| !known.iter().any(|f| f.name == k.as_str())) {
        let names: Vec<_> = known.iter().map(|f| f.name).collect();
        return Err(Invalid::new(
            format!("intake.{unknown}"),
            "unknown_field",
            format!("{} has no field '{unknown}' (fields: {})", category.code(), names.join(", ")),
        ));
    }
    let mut out = BTreeMap::new();
    for field in known {
        let name = format!("intake.{}", field.name);
        let value = answers.get(field.name).map(|v| v.trim()).unwrap_or("");
        if value.is_empty() {
            if field.required && require {
                return Err(Invalid::new(
                    name,
                    "required",
                    format!("{}: required for {}", field.name, category.code()),
                ));
            }
            continue;
        }
        let normalised = match field.kind {
            FieldKind::Text(max) | FieldKind::LongText(max) => {
                if value.chars().count() > max {
                    return Err(Invalid::new(name, "too_long", format!("{}: at most {max} characters", field.name)));
                }
                if matches!(field.kind, FieldKind::Text(_)) && value.contains(['\n', '\r']) {
                    return Err(Invalid::new(name, "invalid_field", format!("{}: one line", field.name)));
                }
                value.to_string()
            }
            FieldKind::Choice(options) => {
                if !options.contains(&value) {
                    return Err(Invalid::new(
                        name,
                        "invalid_choice",
                        format!("{}: one of {}", field.name, options.join(", ")),
                    ));
                }
                value.to_string()
            }
            FieldKind::PastTime => {
                let ms = parse_time(value, utc_offset_minutes).ok_or_else(|| {
                    Invalid::new(
                        name.clone(),
                        "invalid_time",
                        format!("{}: a date and time such as 2026-11-18T09:30", field.name),
                    )
                })?;
                if ms > now_ms + 5 * 60_000 {
                    return Err(Invalid::new(name, "in_future", format!("{}: must not be in the future", field.name)));
                }
                jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
            }
            FieldKind::Amount => {
                // The asset is checked as a field of its own.
                Money::parse(value, "UNIT")
                    .map_err(|e| Invalid::new(name, e.code, format!("{}: {}", field.name, e.message)))?
                    .amount
                    .to_string()
            }
            FieldKind::Asset => {
                let ok = (2..=12).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric());
                if !ok {
                    return Err(Invalid::new(
                        name,
                        "invalid_asset",
                        format!("{}: a code such as USDT or CNY", field.name),
                    ));
                }
                value.to_ascii_uppercase()
            }
            FieldKind::TxHash => {
                let hex = value.strip_prefix("0x").unwrap_or(value);
                let ok = (16..=128).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_alphanumeric());
                if !ok {
                    return Err(Invalid::new(
                        name,
                        "invalid_tx_hash",
                        format!("{}: the transaction hash as shown by the explorer (letters and digits)", field.name),
                    ));
                }
                value.to_string()
            }
        };
        out.insert(field.name.to_string(), normalised);
    }
    Ok(out)
}

fn parse_time(value: &str, utc_offset_minutes: i32) -> Option<i64> {
    if let Ok(ts) = value.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let local: jiff::civil::DateTime = value.parse().ok()?;
    let offset = jiff::tz::Offset::from_seconds(utc_offset_minutes.clamp(-18 * 60, 18 * 60) * 60).ok()?;
    Some(offset.to_timestamp(local).ok()?.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000; // 2026-11-18

    fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_trade_dispute_needs_its_order_amount_and_payment_time() {
        let good = answers(&[
            ("order_number", "P2P-20261118-004512"),
            ("amount", "7300.00"),
            ("asset", "cny"),
            ("paid_at", "2026-11-17T10:15"),
        ]);
        let out = validate(CaseCategory::TradeDispute, &good, 480, NOW).unwrap();
        assert_eq!(out["amount"], "7300");
        assert_eq!(out["asset"], "CNY");
        assert_eq!(out["paid_at"], "2026-11-17T02:15:00Z", "10:15 at UTC+8");
        for missing in ["order_number", "amount", "asset", "paid_at"] {
            let mut a = good.clone();
            a.remove(missing);
            let e = validate(CaseCategory::TradeDispute, &a, 0, NOW).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (format!("intake.{missing}").as_str(), "required"));
        }
    }

    #[test]
    fn bad_values_are_refused_by_field_with_the_rule() {
        type Row<'a> = (CaseCategory, &'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Row] = &[
            (
                CaseCategory::AssetFreeze,
                &[("scope", "everything"), ("since", "2026-11-17T10:00:00Z")],
                "intake.scope",
                "invalid_choice",
            ),
            (CaseCategory::AssetFreeze, &[("scope", "all"), ("since", "yesterday")], "intake.since", "invalid_time"),
            (
                CaseCategory::AssetFreeze,
                &[("scope", "all"), ("since", "2027-01-01T00:00:00Z")],
                "intake.since",
                "in_future",
            ),
            (
                CaseCategory::DepositWithdrawal,
                &[
                    ("direction", "deposit"),
                    ("amount", "-5"),
                    ("asset", "USDT"),
                    ("occurred_at", "2026-11-17T10:00:00Z"),
                ],
                "intake.amount",
                "invalid_amount",
            ),
            (
                CaseCategory::DepositWithdrawal,
                &[
                    ("direction", "deposit"),
                    ("amount", "5"),
                    ("asset", "US DT"),
                    ("occurred_at", "2026-11-17T10:00:00Z"),
                ],
                "intake.asset",
                "invalid_asset",
            ),
            (
                CaseCategory::DepositWithdrawal,
                &[
                    ("direction", "deposit"),
                    ("amount", "5"),
                    ("asset", "USDT"),
                    ("occurred_at", "2026-11-17T10:00:00Z"),
                    ("tx_hash", "0x12"),
                ],
                "intake.tx_hash",
                "invalid_tx_hash",
            ),
            (CaseCategory::Other, &[("order_number", "1")], "intake.order_number", "unknown_field"),
            (CaseCategory::Complaint, &[("topic", "a\nb")], "intake.topic", "invalid_field"),
        ];
        for (category, pairs, field, code) in cases {
            let e = validate(*category, &answers(pairs), 0, NOW).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (*field, *code), "{pairs:?}");
        }
    }

    #[test]
    fn every_category_has_labels_in_both_languages_and_unique_names() {
        for c in CaseCategory::ALL {
            let fs = fields(c);
            for (i, f) in fs.iter().enumerate() {
                assert!(!f.label(Locale::ZhCn).is_empty() && !f.label(Locale::En).is_empty());
                assert!(fs[..i].iter().all(|g| g.name != f.name), "{} twice in {}", f.name, c.code());
                if let FieldKind::Choice(options) = f.kind {
                    for o in options {
                        assert_ne!(choice_label(o, Locale::En), *o, "{o} needs labels");
                    }
                }
            }
        }
    }
}
