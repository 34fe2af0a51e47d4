//! Snippets of search results: the stretch of a text where the query's words weigh most, those
//! words in `<b>`, everything else escaped. The words are looked for in the text as the
//! tokeniser would see them (simplified characters, lower case; an English stem at the start of
//! a word) without segmenting the text again: segmenting long articles for their snippets cost
//! more than the search itself.

use crate::tokens::{is_han, simplified};

/// A query word and how much it counts (rare words more than common ones).
pub struct Weighted<'a> {
    pub word: &'a str,
    pub weight: f32,
}

/// The best stretch of at most `max_chars` characters of `text` for `words`, as HTML; empty
/// when no word occurs.
pub fn snippet(text: &str, words: &[Weighted<'_>], max_chars: usize) -> String {
    let chars: Vec<(usize, char)> =
        text.char_indices().map(|(i, c)| (i, simplified(c).to_lowercase().next().unwrap_or(c))).collect();
    let at = |i: usize| chars.get(i).map(|c| c.1);
    let wordlike = |c: char| c.is_alphanumeric() && !is_han(c);
    // Every occurrence: (first char, past the last, which word).
    let mut found: Vec<(usize, usize, usize)> = vec![];
    for (n, w) in words.iter().enumerate() {
        let w: Vec<char> = w.word.chars().collect();
        let Some(&first) = w.first() else { continue };
        for i in 0..chars.len() {
            if chars[i].1 != first || !w.iter().enumerate().all(|(k, c)| at(i + k) == Some(*c)) {
                continue;
            }
            if is_han(first) {
                found.push((i, i + w.len(), n));
            } else if i == 0 || !wordlike(chars[i - 1].1) {
                // An English stem or a number: the whole word that starts with it.
                let mut end = i + w.len();
                while at(end).is_some_and(wordlike) {
                    end += 1;
                }
                found.push((i, end, n));
            }
        }
    }
    // Longest first where several start together; none overlaps another.
    found.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
    let mut kept: Vec<(usize, usize, usize)> = vec![];
    for m in found {
        if kept.last().is_none_or(|last| m.0 >= last.1) {
            kept.push(m);
        }
    }
    if kept.is_empty() {
        return String::new();
    }
    // The stretch with the most weight of distinct words, starting a little before a match.
    let lead = max_chars / 8;
    let mut best = (f32::MIN, 0);
    for m in &kept {
        let start = m.0.saturating_sub(lead);
        let mut seen = vec![false; words.len()];
        let mut weight = 0.0;
        for k in kept.iter().filter(|k| k.0 >= start && k.1 <= start + max_chars) {
            if !seen[k.2] {
                seen[k.2] = true;
                weight += words[k.2].weight;
            }
        }
        if weight > best.0 {
            best = (weight, start);
        }
    }
    let (start, end) = (best.1, (best.1 + max_chars).min(chars.len()));
    let byte = |i: usize| chars.get(i).map_or(text.len(), |c| c.0);
    let mut html = String::new();
    let mut pos = start;
    for k in kept.iter().filter(|k| k.0 >= start && k.1 <= end) {
        html.push_str(&crate::markdown::escape(&text[byte(pos)..byte(k.0)]));
        html.push_str("<b>");
        html.push_str(&crate::markdown::escape(&text[byte(k.0)..byte(k.1)]));
        html.push_str("</b>");
        pos = k.1;
    }
    html.push_str(&crate::markdown::escape(&text[byte(pos)..byte(end)]));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(word: &str, weight: f32) -> Weighted<'_> {
        Weighted { word, weight }
    }

    #[test]
    fn words_are_highlighted_and_the_rest_escaped() {
        let html =
            snippet("Check the <b>memo</b> & tag; Withdrawals paused", &[w("memo", 1.0), w("withdraw", 1.0)], 180);
        assert_eq!(html, "Check the &lt;b&gt;<b>memo</b>&lt;/b&gt; &amp; tag; <b>Withdrawals</b> paused");
        // A stem inside a word is not a match.
        assert_eq!(snippet("unmemorable", &[w("memo", 1.0)], 180), "");
    }

    #[test]
    fn chinese_words_are_found_in_traditional_text_longest_first() {
        let html = snippet("我的帳戶被凍結了", &[w("账户", 2.0), w("账", 0.5), w("冻结", 2.0)], 180);
        assert_eq!(html, "我的<b>帳戶</b>被<b>凍結</b>了");
    }

    #[test]
    fn the_stretch_with_the_rarest_words_is_chosen() {
        let text = format!("{} deposit {} seed phrase stolen", "x ".repeat(200), "y ".repeat(200));
        let html = snippet(&text, &[w("deposit", 0.1), w("seed", 3.0), w("phrase", 3.0)], 60);
        assert!(html.contains("<b>seed</b> <b>phrase</b>") && !html.contains("deposit"), "{html}");
        assert!(html.chars().count() <= 60 + "<b></b>".len() * 2, "{html}");
    }
}
