//! The secret guard (every text written into a case passes it): on any text its findings are
//! sorted, apart and on char boundaries, redaction is idempotent and leaves nothing it would find
//! again; and a valid seed phrase planted anywhere in the text, set apart by a separator, never
//! survives redaction.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thaw_text::guard::{redact, scan};

/// Valid BIP-39 phrases (checksums hold): English 12 and 18 words, Chinese, French with accents.
const PHRASES: &[&str] = &[
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    "gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable narrow fog",
    "父 泥 炼 胁 鞋 控 载 政 惨 逐 整 碗 环 惯 案 棒 订 移",
    "fiasco ivoire mardi révulsif signal enlever envahir anormal vaisseau essayer céleste sagesse engager mener différer ruisseau lutter esprit",
];

/// How the planted phrase's words are separated.
const SEPARATORS: &[&str] = &[" ", "\n", "\u{3000}", ", "];

fn check(text: &str) {
    let findings = scan(text);
    for f in &findings {
        assert!(f.start < f.end && f.end <= text.len(), "{f:?} outside the text");
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end), "{f:?} not on char boundaries");
    }
    for pair in findings.windows(2) {
        assert!(pair[0].end <= pair[1].start, "findings overlap or are unsorted: {findings:?}");
    }
    let once = redact(text);
    assert_eq!(once.redacted(), !findings.is_empty(), "redaction disagrees with the scan");
    assert!(scan(&once.text).is_empty(), "a secret survived redaction: {:?}", once.text);
    assert_eq!(redact(&once.text).text, once.text, "redacting the redacted text changed it");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    if mode & 1 == 0 {
        check(&text);
        return;
    }
    // Plant a phrase between two halves of the text: "<before> <phrase> <after>".
    let phrase = PHRASES[usize::from(mode >> 1) % PHRASES.len()];
    let separator = SEPARATORS[usize::from(mode >> 3) % SEPARATORS.len()];
    let phrase = phrase.split(' ').collect::<Vec<_>>().join(separator);
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let planted = format!("{} {phrase} {}", &text[..cut], &text[cut..]);
    let out = redact(&planted).text;
    assert!(!out.contains(&phrase), "a planted phrase survived: {planted:?} → {out:?}");
    check(&planted);
});
