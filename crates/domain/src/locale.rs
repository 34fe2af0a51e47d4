//! The two languages thaw speaks, and how a visitor's language is chosen.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Locale {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[default]
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    pub fn code(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// The language's name in itself, as shown on a language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::ZhCn => "简体中文",
            Locale::En => "English",
        }
    }

    /// Accepts the canonical codes and the spellings browsers and platforms send
    /// (`zh`, `zh-cn`, `zh-Hans`, `en-US`, …).
    pub fn parse(s: &str) -> Option<Locale> {
        let s = s.trim().to_ascii_lowercase();
        let primary = s.split(['-', '_']).next().unwrap_or("");
        match primary {
            "zh" => Some(Locale::ZhCn),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// Only the canonical codes `zh-CN` and `en`, as stored and as the API accepts them.
    pub fn parse_canonical(s: &str) -> Option<Locale> {
        Locale::ALL.into_iter().find(|l| l.code() == s)
    }

    /// The best supported language of an `Accept-Language` header, by quality, ties by order.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (i, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Some(locale) = Locale::parse(tag) {
                let better = match best {
                    None => true,
                    Some((bq, bi, _)) => q > bq || (q == bq && i < bi),
                };
                if better {
                    best = Some((q, i, locale));
                }
            }
        }
        best.map(|(_, _, l)| l)
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_browser_spellings_of_both_languages() {
        for s in ["zh-CN", "zh", "zh-cn", "zh-Hans", "ZH_cn"] {
            assert_eq!(Locale::parse(s), Some(Locale::ZhCn), "{s}");
        }
        for s in ["en", "en-US", "EN-gb"] {
            assert_eq!(Locale::parse(s), Some(Locale::En), "{s}");
        }
        assert_eq!(Locale::parse("fr"), None);
        assert_eq!(Locale::parse(""), None);
        assert_eq!(Locale::parse_canonical("zh-CN"), Some(Locale::ZhCn));
        assert_eq!(Locale::parse_canonical("zh"), None);
    }

    #[test]
    fn accept_language_picks_highest_quality_supported_language() {
        assert_eq!(Locale::from_accept_language("fr-FR,zh-CN;q=0.8,en;q=0.5"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_accept_language("en;q=0.4, zh;q=0.9"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("de, fr"), None);
        assert_eq!(Locale::from_accept_language("zh;q=0, en;q=0.1"), Some(Locale::En));
    }

    #[test]
    fn displays_as_canonical_code() {
        assert_eq!(Locale::ZhCn.to_string(), "zh-CN");
        assert_eq!(Locale::En.to_string(), "en");
    }
}
