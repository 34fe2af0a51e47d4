//! Reasons: a stable code, the concrete facts, and a zh-CN/en explanation made from a template
//! with named facts, e.g. "相距 {distance_km} 公里".

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The facts behind a reason, by name. Values are JSON scalars: strings, integers, decimals as
/// strings.
pub type Facts = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub facts: Facts,
    pub explanation: Explanation,
}

impl Reason {
    pub fn new(code: &str, facts: Facts, zh_template: &str, en_template: &str) -> Reason {
        let explanation =
            Explanation { zh_cn: render_template(zh_template, &facts), en: render_template(en_template, &facts) };
        Reason { code: code.to_string(), facts, explanation }
    }
}

/// Fills `{name}` placeholders with facts. Whole numbers get thousands separators
/// (8900 → "8,900"); decimals are shown as given; unknown names stay visible as `{name}`.
pub fn render_template(template: &str, facts: &Facts) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') => {
                let name = &after[..close];
                match facts.get(name) {
                    Some(v) => out.push_str(&display(v)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn display(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => group_thousands(i),
            None => n.to_string(),
        },
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// 1234567 → "1,234,567".
pub fn group_thousands(i: i64) -> String {
    let digits = i.unsigned_abs().to_string();
    let mut out = String::new();
    for (n, c) in digits.chars().enumerate() {
        if n > 0 && (digits.len() - n).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if i < 0 { format!("-{out}") } else { out }
}

/// Helpers to build facts without repeating `serde_json::Value` conversions.
pub fn fact_str(s: impl Into<String>) -> serde_json::Value {
    serde_json::Value::String(s.into())
}

pub fn fact_int(i: i64) -> serde_json::Value {
    serde_json::Value::from(i)
}

pub fn fact_decimal(d: Decimal) -> serde_json::Value {
    serde_json::Value::String(d.normalize().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_show_facts_with_grouped_numbers() {
        let mut f = Facts::new();
        f.insert("from_city".into(), fact_str("上海"));
        f.insert("to_city".into(), fact_str("法兰克福"));
        f.insert("distance_km".into(), fact_int(8_900));
        f.insert("minutes".into(), fact_int(25));
        assert_eq!(
            render_template("登录地点从{from_city}变为{to_city}，相距 {distance_km} 公里，间隔 {minutes} 分钟", &f),
            "登录地点从上海变为法兰克福，相距 8,900 公里，间隔 25 分钟"
        );
        assert_eq!(render_template("{missing} and {to_city} {", &f), "{missing} and 法兰克福 {");
        f.insert("amount".into(), fact_decimal("12500.50".parse().unwrap()));
        assert_eq!(render_template("{amount} USDT", &f), "12500.5 USDT");
        assert_eq!(group_thousands(-1_234_567), "-1,234,567");
        assert_eq!(group_thousands(999), "999");
    }
}
