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
                    Some(v) => display(v, &mut out),
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

/// Writes a fact as shown in an explanation.
fn display(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => out.push_str(s),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => push_grouped(i, out),
            None => out.push_str(&n.to_string()),
        },
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Null => out.push('—'),
        other => out.push_str(&other.to_string()),
    }
}

/// 1234567 → "1,234,567".
pub fn group_thousands(i: i64) -> String {
    let mut out = String::new();
    push_grouped(i, &mut out);
    out
}

/// Appends `i` with thousands separators.
fn push_grouped(i: i64, out: &mut String) {
    if i < 0 {
        out.push('-');
    }
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut len = 0;
    loop {
        buf[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for k in (0..len).rev() {
        out.push(buf[k] as char);
        if k > 0 && k % 3 == 0 {
            out.push(',');
        }
    }
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
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(100_000), "100,000");
        assert_eq!(group_thousands(i64::MIN), "-9,223,372,036,854,775,808");
        let mut f = Facts::new();
        f.insert("n".into(), serde_json::Value::Null);
        f.insert("b".into(), serde_json::Value::Bool(true));
        f.insert("x".into(), serde_json::json!(2.5));
        assert_eq!(render_template("{n} {b} {x}", &f), "— true 2.5");
    }
}
