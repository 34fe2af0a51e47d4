//! Agents' macros: ready answers in zh-CN and en whose placeholders are filled from the case —
//! the holder's name, the case number and category, the reasons of its holds, the amounts at
//! stake, the expected times of the next step and of resolution, the agent's name.

use crate::cases::{Desk, Expected};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use thaw_domain::case::Case;
use thaw_domain::risk::Hold;
use thaw_domain::{CaseCategory, Locale};

/// A macro as shipped (`data/macros.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct Macro {
    pub code: String,
    /// The category it is for (None: every category).
    pub category: Option<String>,
    pub title: BTreeMap<String, String>,
    pub body: BTreeMap<String, String>,
}

/// Every shipped macro.
pub fn all() -> &'static [Macro] {
    static MACROS: OnceLock<Vec<Macro>> = OnceLock::new();
    MACROS.get_or_init(|| serde_json::from_str(include_str!("../data/macros.json")).expect("data/macros.json is valid"))
}

/// The macros that fit a case's category, general ones last.
pub fn for_category(category: CaseCategory) -> Vec<&'static Macro> {
    let mut list: Vec<&Macro> =
        all().iter().filter(|m| m.category.as_deref().is_none_or(|c| c == category.code())).collect();
    list.sort_by_key(|m| m.category.is_none());
    list
}

/// An expected time as macros show it (none while the clock waits for the holder).
fn when(ms: Option<i64>, l: Locale) -> String {
    match ms {
        Some(ms) => crate::utc_minute(ms),
        None if l == Locale::ZhCn => "（等待您回复后）".into(),
        None => "(once you reply)".into(),
    }
}

/// What a macro's placeholders are filled with.
pub struct Facts<'a> {
    pub case: &'a Case,
    pub holder_name: &'a str,
    pub agent_name: &'a str,
    pub holds: &'a [Hold],
    pub expected: Expected,
}

/// The macro's title and body in `language`, placeholders filled.
pub fn render(m: &Macro, language: Locale, f: &Facts<'_>) -> (String, String) {
    let l = language.code();
    let pick = |map: &BTreeMap<String, String>| map.get(l).or_else(|| map.get("en")).cloned().unwrap_or_default();
    let reasons: Vec<String> = f
        .holds
        .iter()
        .map(|h| {
            if language == Locale::ZhCn { h.reason.explanation.zh_cn.clone() } else { h.reason.explanation.en.clone() }
        })
        .collect();
    let amounts: Vec<String> =
        f.holds.iter().filter_map(|h| h.amount.as_ref()).map(|m| format!("{} {}", m.amount, m.asset)).collect();
    let sep = if language == Locale::ZhCn { "；" } else { "; " };
    let values = [
        ("holder_name", f.holder_name.to_string()),
        ("case_number", f.case.reference()),
        ("category", f.case.category.label(language).to_string()),
        ("hold_reasons", reasons.join(sep)),
        ("amounts", amounts.join(sep)),
        ("next_step_due", when(f.expected.next_step_ms, language)),
        ("resolution_due", when(f.expected.resolution_ms, language)),
        ("agent_name", f.agent_name.to_string()),
    ];
    let fill = |mut text: String| {
        for (k, v) in &values {
            text = text.replace(&format!("{{{{{k}}}}}"), v);
        }
        text
    };
    (fill(pick(&m.title)), fill(pick(&m.body)))
}

/// Fills a macro for a case in the case's language.
pub fn fill_for(desk: &Desk, m: &Macro, case: &Case, holder_name: &str, agent_name: &str, holds: &[Hold]) -> String {
    let facts = Facts { case, holder_name, agent_name, holds, expected: desk.expected(case) };
    render(m, case.language, &facts).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_macro_has_both_languages_and_only_known_placeholders() {
        let known = [
            "holder_name",
            "case_number",
            "category",
            "hold_reasons",
            "amounts",
            "next_step_due",
            "resolution_due",
            "agent_name",
        ];
        assert!(all().len() >= 10);
        for m in all() {
            for l in ["zh-CN", "en"] {
                let body = &m.body[l];
                assert!(!m.title[l].trim().is_empty() && !body.trim().is_empty(), "{} {l}", m.code);
                for part in body.split("{{").skip(1) {
                    let name = part.split("}}").next().unwrap();
                    assert!(known.contains(&name), "{}: unknown placeholder {name}", m.code);
                }
            }
            if let Some(c) = &m.category {
                assert!(CaseCategory::parse(c).is_some(), "{}: category {c}", m.code);
            }
        }
    }
}
