//! The secret guard: before a message is stored or shown, every secret in it is found and
//! replaced by a bilingual marker ([`SecretKind::marker`]); nothing of the secret is kept, not
//! even a prefix or a hash. [`scan`] says where the secrets are, [`redact`] replaces them.
//!
//! # What counts as a secret
//!
//! **Seed phrases (BIP-39).** 12, 15, 18, 21 or 24 words of one of the ten official lists,
//! accepted only when the BIP-39 checksum holds (11 bits per word; the first ENT/32 bits of
//! SHA-256(entropy) must equal the last bits), so ordinary text almost never triggers. Words are
//! compared case-insensitively after NFKD, with Latin accents dropped (the Spanish and French
//! lists stay unambiguous without them, so "abaco" finds "ábaco"). The words of a phrase may be
//! separated by any whitespace (ASCII, U+3000, newlines) or by short punctuation and numbering
//! ("1. word 2. word", "1)word", "word, word"), but the separators inside one candidate must all
//! look alike: twelve words written as prose ("…wait, then tomorrow…") mix spaces and commas and
//! are never a candidate. A run of list words longer than the phrase is searched for every valid
//! window of every length, and overlapping valid windows are hidden together, so a phrase inside
//! a sentence ("my phrase is abandon … about please help") is found and no word of it is left.
//!
//! **Chinese phrases** (one character per word) are found like the others when the characters are
//! separated (spaces, "，"). Written without separators they need more evidence, because ordinary
//! Chinese is made of exactly these characters and an unspaced 12-character run passes the 4-bit
//! checksum about one time in 16. An unspaced run is a seed phrase only when
//! 1. its checksum holds, **and**
//! 2. it does not read like Chinese: fewer than 55 % of its characters are "ordinary", where a
//!    character is ordinary if jieba (dictionary only, no HMM) puts it in a word of two or more
//!    characters, or it is one of the 128 most frequent characters (the Chinese lists are in
//!    frequency order, so this is list index < 128); a jieba piece seen for the third time or
//!    more, and the characters of a trigram already seen in the window, do not count (the
//!    official test vectors repeat themselves: "的的的…在", "歇歇歇…逻", "壤对据人三谈我表壤对据…"),
//!    **and**
//! 3. either the window is the whole maximal run of list characters (bounded by punctuation,
//!    spaces or other characters), or it starts right after a cue — 助记词, 恢复词, 种子(词), 私钥,
//!    钱包, 密钥 (simplified or traditional), seed, phrase, mnemonic, words, recovery — optionally
//!    followed by 是/为/如下/就是, inside the run or just before it ("我的助记词是……请帮我看看").
//!
//! Measured with python jieba 0.42 (the same dictionary as jieba-rs) on 2,012 ordinary texts
//! (tests/data/ordinary_messages.txt, the triage sets, the zh-CN help articles): 200 maximal runs
//! of exactly 12–24 list characters, all with at least 58 % ordinary characters (none under the
//! 55 % line; 14 of them pass the checksum, one of them is line 62 of ordinary_messages.txt at
//! 87 %), and 3 of 2,184 windows cut from longer runs under the line. 10,000 random mnemonics
//! of each length in both lists: 4 in 10,000 twelve-character ones read as ordinary (and so are
//! missed when unspaced and uncued; spaced ones are always caught), at most 1 in 10,000 of the
//! longer ones. The 48 official Chinese vectors score at most 42 %. jieba coverage alone (no
//! frequent-character term) would call 8 of the 200 ordinary runs random; without the repetition
//! terms "的的的…在" would score 100 % and be missed. Expected false alarms: 1/16 × < 1/200 per
//! exact-length run of list characters. Unspaced Japanese and Korean phrases are not looked for.
//!
//! **Private keys.** 64 hexadecimal characters (optionally `0x`) standing alone, unless they are a
//! transaction hash: the nearest cue before the token decides — a transaction cue (txid, tx hash,
//! transaction, hash, 哈希, 交易, 区块, block, checksum…) within 24 characters means a hash, a key cue
//! (private key, priv key, secret, key:, 私钥, 密钥…) within 40 characters means a key; with no cue
//! before, a token inside a URL (an explorer link) or followed by a transaction cue is a hash and
//! anything else is a key. WIF keys: base58check, 51 characters starting with 5 (9 on testnet) or
//! 52 starting with K/L (c on testnet), version 0x80/0xEF, 32 key bytes (+0x01 when compressed).
//! **Extended private keys**: xprv/yprv/zprv/tprv/uprv/vprv (and the multisig Y/Z/U/Vprv),
//! 111 characters, base58check of 78 bytes. Addresses are never secrets (wrong length or
//! alphabet), nor are extended public keys.
//!
//! **Keystores.** An Ethereum keystore (Web3 secret storage) JSON object: the outermost balanced
//! `{…}` around a `"ciphertext"` key that also holds `kdf`/`kdfparams` — normally the whole
//! `{"crypto": {…}, "id": …}` file. Braces are counted without parsing strings (keystore values
//! hold none), which also works for JSON pasted with escaped quotes. A keystore cut off before its
//! closing brace is hidden to the end of the text.
//!
//! **Passwords the writer labels.** "password"/"passwd"/"passphrase"/"passcode"/"pwd" followed by
//! `:`, `：`, `=` or "is"/"was"; "密码"/"密碼"/"口令" (so also 登录密码, 交易密码…) followed by 是/为,
//! `：`/`:`/`=`, or just a space. Only the value is hidden, never the label: a quoted value (up to
//! 64 characters, not all Chinese), or the run of characters up to a space, a Chinese character or
//! Chinese punctuation (a longer run is a link or prose, not a password; trailing `.,;:)]}` stay
//! outside). A value that
//! merely describes the password is left alone: after an English label (or a Chinese label with
//! only a space) it must have 4+ characters and contain a digit, a symbol or an inner capital
//! ("my password is correct / wrong / expired" stay); after 密码是/密码： it must have 4+
//! non-Chinese characters ("密码是对的", "密码是什么" stay), and a number of at most four digits
//! followed by Chinese ("密码是2024年…") is not one.
//!
//! # Guarantees
//! Findings are sorted, do not overlap (overlaps are merged, the stronger kind wins: keystore,
//! seed phrase, extended key, key, password) and lie on char boundaries. Markers already in a text
//! are blanked before scanning (replaced by as many spaces, so they are inert and offsets hold),
//! and [`redact`] scans again until nothing more is found (a second round is rare: hiding a
//! value can remove the cue that made a nearby hex string a hash), so redacting a redacted text
//! changes nothing. The work is linear in the text: a hash lookup per word, at most five
//! checksums per list word in a run, jieba only on the rare checksum-valid unspaced Chinese
//! window; the word lists are indexed once (`LazyLock`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::tokens::{JIEBA, is_han};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::tokens::simplified;

/// What a secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    SeedPhrase,
    PrivateKey,
    ExtendedPrivateKey,
    Keystore,
    Password,
}

impl SecretKind {
    /// Every kind, in declaration order.
    pub const ALL: [SecretKind; 5] = [
        SecretKind::SeedPhrase,
        SecretKind::PrivateKey,
        SecretKind::ExtendedPrivateKey,
        SecretKind::Keystore,
        SecretKind::Password,
    ];

    /// Stable machine name (the serde name).
    pub fn code(self) -> &'static str {
        match self {
            SecretKind::SeedPhrase => "seed_phrase",
            SecretKind::PrivateKey => "private_key",
            SecretKind::ExtendedPrivateKey => "extended_private_key",
            SecretKind::Keystore => "keystore",
            SecretKind::Password => "password",
        }
    }

    /// The text that takes the secret's place.
    pub fn marker(self) -> &'static str {
        match self {
            SecretKind::SeedPhrase => "[已隐藏：助记词 · seed phrase removed]",
            SecretKind::PrivateKey => "[已隐藏：私钥 · private key removed]",
            SecretKind::ExtendedPrivateKey => "[已隐藏：扩展私钥 · extended private key removed]",
            SecretKind::Keystore => "[已隐藏：钱包密钥文件 · keystore removed]",
            SecretKind::Password => "[已隐藏：密码 · password removed]",
        }
    }

    /// Which kind names a merged finding (the larger wins).
    fn rank(self) -> u8 {
        match self {
            SecretKind::Keystore => 5,
            SecretKind::SeedPhrase => 4,
            SecretKind::ExtendedPrivateKey => 3,
            SecretKind::PrivateKey => 2,
            SecretKind::Password => 1,
        }
    }
}

/// Where a secret is (byte offsets into the scanned text) and what it is; never its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: SecretKind,
    pub start: usize,
    pub end: usize,
}

/// A text with its secrets replaced by markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarded {
    pub text: String,
    /// Distinct kinds, in the order found.
    pub kinds: Vec<SecretKind>,
}

impl Guarded {
    /// Whether anything was hidden.
    pub fn redacted(&self) -> bool {
        !self.kinds.is_empty()
    }
}

/// The secrets of `text`: sorted, non-overlapping, on char boundaries.
pub fn scan(text: &str) -> Vec<Finding> {
    if text.is_empty() {
        return Vec::new();
    }
    let masked = mask_markers(text);
    let t: &str = &masked;
    let mut found = Vec::new();
    keystores(t, &mut found);
    keys(t, &mut found);
    seed_phrases(t, &mut found);
    passwords(t, &mut found);
    found.retain(|f| {
        f.start < f.end && f.end <= text.len() && text.is_char_boundary(f.start) && text.is_char_boundary(f.end)
    });
    settle(found)
}

/// `text` with every secret replaced by its kind's marker.
pub fn redact(text: &str) -> Guarded {
    let mut current: Cow<'_, str> = Cow::Borrowed(text);
    let mut kinds = Vec::new();
    // Hiding a secret can change the context of another token (a cue inside a hidden value, a
    // shorter run of Chinese characters), so the text is scanned again until it is clean; one
    // round is the rule, two the exception.
    for _ in 0..MAX_ROUNDS {
        let findings = scan(&current);
        if findings.is_empty() {
            break;
        }
        let mut out = String::with_capacity(current.len());
        let mut last = 0;
        for f in &findings {
            out.push_str(&current[last..f.start]);
            out.push_str(f.kind.marker());
            last = f.end;
            if !kinds.contains(&f.kind) {
                kinds.push(f.kind);
            }
        }
        out.push_str(&current[last..]);
        current = Cow::Owned(out);
    }
    Guarded { text: current.into_owned(), kinds }
}

/// Every round hides at least one word or key for good, so this only bounds hostile input.
const MAX_ROUNDS: usize = 16;

/// Sorts findings and merges overlapping ones (the stronger kind names the union).
fn settle(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        if let Some(last) = out.last_mut()
            && f.start < last.end
        {
            last.end = last.end.max(f.end);
            if f.kind.rank() > last.kind.rank() {
                last.kind = f.kind;
            }
            continue;
        }
        out.push(f);
    }
    out
}

/// The text with markers of an earlier redaction blanked out (same byte length, so offsets
/// hold): they are neither secrets nor context for the detectors.
fn mask_markers(text: &str) -> Cow<'_, str> {
    const OPEN: &str = "[已隐藏：";
    if !text.contains(OPEN) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(rel) = text[i..].find(OPEN) {
        let at = i + rel;
        out.push_str(&text[i..at]);
        match SecretKind::ALL.iter().map(|k| k.marker()).find(|m| text[at..].starts_with(m)) {
            Some(marker) => {
                out.extend(std::iter::repeat_n(' ', marker.len()));
                i = at + marker.len();
            }
            None => {
                out.push_str(OPEN);
                i = at + OPEN.len();
            }
        }
    }
    out.push_str(&text[i..]);
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// Small text helpers
// ---------------------------------------------------------------------------------------------

/// The last `n` characters of `s`.
fn tail(s: &str, n: usize) -> &str {
    let start = s.char_indices().rev().take(n).last().map_or(s.len(), |(i, _)| i);
    &s[start..]
}

/// The first `n` characters of `s`.
fn head(s: &str, n: usize) -> &str {
    let end = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// Byte offset after at most `max` spaces or tabs (ASCII or ideographic) from `at`.
fn skip_blanks(text: &str, at: usize, max: usize) -> usize {
    let mut end = at;
    for c in text[at..].chars().take(max) {
        if !matches!(c, ' ' | '\t' | '\u{3000}') {
            break;
        }
        end += c.len_utf8();
    }
    end
}

/// Byte offset after at most `max` whitespace characters from `at`.
fn skip_whitespace(text: &str, at: usize, max: usize) -> usize {
    let mut end = at;
    for c in text[at..].chars().take(max) {
        if !c.is_whitespace() {
            break;
        }
        end += c.len_utf8();
    }
    end
}

/// Position of `needle` in `hay[from..]`, ASCII case-insensitively.
fn find_ascii_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle)).map(|p| from + p)
}

// ---------------------------------------------------------------------------------------------
// Seed phrases
// ---------------------------------------------------------------------------------------------

const N_LANGS: usize = 10;
const ZH_SIMPLIFIED: usize = 1;
const ZH_TRADITIONAL: usize = 2;
/// "Not in this list".
const NONE: u16 = u16::MAX;
const SIZES: [usize; 5] = [12, 15, 18, 21, 24];
const MIN_WORDS: usize = 12;
/// Longer tokens are not looked up (the longest list word is far shorter).
const MAX_WORD_BYTES: usize = 64;
/// Longer separators end a phrase.
const MAX_GAP_CHARS: usize = 8;
/// Characters a separator between two phrase words may contain besides whitespace and numbers.
const GAP_PUNCT: &str = ",;.:)(-|/*#•、，；．：）（\"'[]【】";

/// The ten official lists; the index of a language is its column in [`Wordlists`].
static LISTS: [(&str, &str); N_LANGS] = [
    ("english", include_str!("../data/bip39/english.txt")),
    ("chinese_simplified", include_str!("../data/bip39/chinese_simplified.txt")),
    ("chinese_traditional", include_str!("../data/bip39/chinese_traditional.txt")),
    ("czech", include_str!("../data/bip39/czech.txt")),
    ("french", include_str!("../data/bip39/french.txt")),
    ("italian", include_str!("../data/bip39/italian.txt")),
    ("japanese", include_str!("../data/bip39/japanese.txt")),
    ("korean", include_str!("../data/bip39/korean.txt")),
    ("portuguese", include_str!("../data/bip39/portuguese.txt")),
    ("spanish", include_str!("../data/bip39/spanish.txt")),
];

/// Word → its index in each list ([`NONE`] where absent).
struct Wordlists {
    /// Non-Chinese words by [`word_key`].
    words: HashMap<String, [u16; N_LANGS]>,
    /// Chinese characters.
    han: HashMap<char, [u16; N_LANGS]>,
}

static WORDLISTS: LazyLock<Wordlists> = LazyLock::new(|| {
    let mut words: HashMap<String, [u16; N_LANGS]> = HashMap::new();
    let mut han: HashMap<char, [u16; N_LANGS]> = HashMap::new();
    let mut key = String::new();
    for (lang, (_, list)) in LISTS.iter().enumerate() {
        for (index, word) in list.lines().take(2048).enumerate() {
            let word = word.trim();
            if word.is_empty() {
                continue;
            }
            let index = index as u16;
            if lang == ZH_SIMPLIFIED || lang == ZH_TRADITIONAL {
                if let Some(c) = word.chars().next() {
                    han.entry(c).or_insert([NONE; N_LANGS])[lang] = index;
                }
            } else {
                word_key(word, &mut key);
                words.entry(key.clone()).or_insert([NONE; N_LANGS])[lang] = index;
            }
        }
    }
    Wordlists { words, han }
});

/// The lookup form of a word: NFKD, Latin accents dropped, lowercase. Japanese voicing marks
/// (U+3099/U+309A) are kept: they tell words apart.
fn word_key(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        return;
    }
    for c in word.nfkd() {
        if ('\u{300}'..='\u{36F}').contains(&c) {
            continue;
        }
        out.extend(c.to_lowercase());
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || is_combining_mark(c)
}

/// What separates a list word from the list word before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// Nothing (two Chinese characters side by side).
    Empty,
    /// Whitespace only.
    Space,
    /// Punctuation and numbering (digits as `#`), whitespace ignored: "，", "#.", "#)".
    Punct([char; 4]),
    /// Anything else, or another word in between: not the same phrase.
    Broken,
}

/// A word of at least one list.
#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    hits: [u16; N_LANGS],
    gap: Gap,
}

fn gap_shape(gap: &str) -> Gap {
    if gap.is_empty() {
        return Gap::Empty;
    }
    let mut shape = ['\0'; 4];
    let mut len = 0;
    let mut spaced = false;
    let mut digits = 0;
    for (n, c) in gap.chars().enumerate() {
        if n >= MAX_GAP_CHARS {
            return Gap::Broken;
        }
        if c.is_whitespace() {
            spaced = true;
            digits = 0;
            continue;
        }
        let symbol = if c.is_ascii_digit() {
            digits += 1;
            if digits > 3 {
                return Gap::Broken;
            }
            if digits > 1 {
                continue;
            }
            '#'
        } else if GAP_PUNCT.contains(c) {
            digits = 0;
            c
        } else {
            return Gap::Broken;
        };
        if len == shape.len() {
            return Gap::Broken;
        }
        shape[len] = symbol;
        len += 1;
    }
    if len == 0 {
        Gap::Space
    } else if !spaced && shape[..len].iter().all(|&c| c == '#') {
        // "word12word" is not numbering.
        Gap::Broken
    } else {
        Gap::Punct(shape)
    }
}

/// The list words of `text` in order: each Chinese character is a token, other words are maximal
/// runs of letters (and combining marks). Words in no list are dropped, and break the phrase.
fn list_tokens(text: &str) -> Vec<Token> {
    let lists = &*WORDLISTS;
    let mut out = Vec::new();
    let mut key = String::new();
    let mut prev_end: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let (end, hits) = if is_han(c) {
            (start + c.len_utf8(), lists.han.get(&c).copied())
        } else if is_word_char(c) {
            let mut end = start + c.len_utf8();
            while let Some(&(i, d)) = chars.peek() {
                if is_han(d) || !is_word_char(d) {
                    break;
                }
                end = i + d.len_utf8();
                chars.next();
            }
            let word = &text[start..end];
            let hits = if word.len() <= MAX_WORD_BYTES {
                word_key(word, &mut key);
                lists.words.get(key.as_str()).copied()
            } else {
                None
            };
            (end, hits)
        } else {
            continue;
        };
        match hits {
            Some(hits) => {
                let gap = prev_end.map_or(Gap::Broken, |p| gap_shape(&text[p..start]));
                out.push(Token { start, end, hits, gap });
                prev_end = Some(end);
            }
            None => prev_end = None,
        }
    }
    out
}

/// Whether a list word continues the run of the word before it.
fn joins(gap: Gap, chinese: bool) -> bool {
    match gap {
        Gap::Broken => false,
        Gap::Empty => chinese,
        Gap::Space | Gap::Punct(_) => true,
    }
}

fn seed_phrases(text: &str, out: &mut Vec<Finding>) {
    let tokens = list_tokens(text);
    if tokens.len() < MIN_WORDS {
        return;
    }
    let mut indexes: Vec<u16> = Vec::new();
    for lang in 0..N_LANGS {
        let chinese = lang == ZH_SIMPLIFIED || lang == ZH_TRADITIONAL;
        let mut i = 0;
        while i < tokens.len() {
            if tokens[i].hits[lang] == NONE {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < tokens.len() && tokens[j].hits[lang] != NONE && joins(tokens[j].gap, chinese) {
                j += 1;
            }
            if j - i >= MIN_WORDS {
                let run = &tokens[i..j];
                indexes.clear();
                indexes.extend(run.iter().map(|t| t.hits[lang]));
                spaced_windows(run, &indexes, out);
                if chinese {
                    unspaced_windows(text, run, &indexes, out);
                }
            }
            i = j;
        }
    }
}

/// Checksum-valid windows whose words are all separated alike (and separated at all).
fn spaced_windows(run: &[Token], indexes: &[u16], out: &mut Vec<Finding>) {
    let n = run.len();
    // same[k]: how many separators up to word k's are equal to it (inside the run).
    let mut same = vec![0usize; n];
    for k in 1..n {
        let gap = run[k].gap;
        same[k] = match gap {
            Gap::Empty | Gap::Broken => 0,
            _ if k >= 2 && run[k - 1].gap == gap => same[k - 1] + 1,
            _ => 1,
        };
    }
    for a in 0..n {
        for size in SIZES {
            let b = a + size;
            if b > n {
                break;
            }
            if same[b - 1] >= size - 1 && checksum_ok(&indexes[a..b]) {
                out.push(Finding { kind: SecretKind::SeedPhrase, start: run[a].start, end: run[b - 1].end });
            }
        }
    }
}

/// Chinese characters written without separators (see the module doc for the rule).
fn unspaced_windows(text: &str, run: &[Token], indexes: &[u16], out: &mut Vec<Finding>) {
    let mut a = 0;
    while a < run.len() {
        let mut b = a + 1;
        while b < run.len() && run[b].gap == Gap::Empty {
            b += 1;
        }
        if b - a >= MIN_WORDS {
            unspaced_segment(text, &run[a..b], &indexes[a..b], out);
        }
        a = b;
    }
}

fn unspaced_segment(text: &str, seg: &[Token], indexes: &[u16], out: &mut Vec<Finding>) {
    let Some(first) = seg.first() else { return };
    let chars: Vec<char> = seg.iter().map(|t| text[t.start..t.end].chars().next().unwrap_or(' ')).collect();
    let len = seg.len();
    let mut windows: Vec<(usize, usize)> = Vec::new();
    if SIZES.contains(&len) {
        windows.push((0, len));
    }
    for p in cue_anchors(text, first.start, &chars) {
        for size in SIZES {
            if p + size <= len {
                windows.push((p, p + size));
            }
        }
    }
    windows.sort_unstable();
    windows.dedup();
    for (a, b) in windows {
        if checksum_ok(&indexes[a..b]) && !reads_like_chinese(&chars[a..b], &indexes[a..b]) {
            out.push(Finding { kind: SecretKind::SeedPhrase, start: seg[a].start, end: seg[b - 1].end });
        }
    }
}

/// Words announcing a seed phrase.
const SEED_CUES: [&str; 21] = [
    "助记词",
    "助記詞",
    "记忆词",
    "記憶詞",
    "恢复词",
    "恢復詞",
    "种子词",
    "種子詞",
    "种子",
    "種子",
    "私钥",
    "私鑰",
    "钱包",
    "錢包",
    "密钥",
    "密鑰",
    "seed",
    "phrase",
    "mnemonic",
    "words",
    "recovery",
];
/// What may stand between a cue and the phrase.
const CUE_LINKS: [&str; 6] = ["", "是", "为", "為", "如下", "就是"];

/// Every cue followed by every link, as characters.
static CUE_PATTERNS: LazyLock<Vec<Vec<char>>> = LazyLock::new(|| {
    SEED_CUES
        .iter()
        .flat_map(|cue| CUE_LINKS.iter().map(move |link| cue.chars().chain(link.chars()).collect::<Vec<char>>()))
        .collect()
});

/// The last character of every cue pattern (a quick filter).
static CUE_ENDINGS: LazyLock<HashSet<char>> =
    LazyLock::new(|| CUE_PATTERNS.iter().filter_map(|p| p.last().copied()).collect());

/// Positions in `seg` right after a cue (the cue may also end just before the segment).
fn cue_anchors(text: &str, seg_start: usize, seg: &[char]) -> Vec<usize> {
    let mut prefix: Vec<char> = tail(&text[..seg_start], 16).chars().flat_map(char::to_lowercase).collect();
    while prefix.last().is_some_and(|&c| c.is_whitespace() || ":：=-,，".contains(c)) {
        prefix.pop();
    }
    let base = prefix.len();
    let all: Vec<char> = prefix.into_iter().chain(seg.iter().copied()).collect();
    let mut anchors = Vec::new();
    for q in base.max(1)..=all.len() {
        if !CUE_ENDINGS.contains(&all[q - 1]) {
            continue;
        }
        if CUE_PATTERNS.iter().any(|p| p.len() <= q && all[q - p.len()..q] == p[..]) {
            anchors.push(q - base);
        }
    }
    anchors
}

/// How many of the most frequent characters count as ordinary (the lists are frequency-ordered).
const COMMON_CHARS: u16 = 128;
/// A jieba piece counts as ordinary at most this many times in one window.
const MAX_PIECE_REPEATS: u32 = 2;

/// Whether characters read like ordinary Chinese: at least 55 % of them are in dictionary words
/// of two or more characters or among the most frequent characters, not counting repetitions.
fn reads_like_chinese(chars: &[char], indexes: &[u16]) -> bool {
    let n = chars.len().min(indexes.len());
    if n == 0 {
        return true;
    }
    let plain: Vec<char> = chars[..n].iter().map(|&c| simplified(c)).collect();
    let sentence: String = plain.iter().collect();
    let mut ordinary = vec![false; n];
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let mut pos = 0;
    for piece in JIEBA.cut(&sentence, false) {
        let len = piece.chars().count();
        let count = seen.entry(piece).or_insert(0);
        *count += 1;
        let fresh = *count <= MAX_PIECE_REPEATS;
        for k in pos..(pos + len).min(n) {
            ordinary[k] = fresh && (len >= 2 || indexes[k] < COMMON_CHARS);
        }
        pos += len;
    }
    let mut trigrams = HashSet::new();
    for k in 0..n.saturating_sub(2) {
        if !trigrams.insert((plain[k], plain[k + 1], plain[k + 2])) {
            ordinary[k] = false;
            ordinary[k + 1] = false;
            ordinary[k + 2] = false;
        }
    }
    let count = ordinary.iter().filter(|&&o| o).count();
    count * 20 >= n * 11
}

/// The BIP-39 checksum of word indexes (12, 15, 18, 21 or 24 of them).
fn checksum_ok(indexes: &[u16]) -> bool {
    let n = indexes.len();
    if !SIZES.contains(&n) {
        return false;
    }
    let total_bits = n * 11;
    let checksum_bits = total_bits / 33;
    let entropy_bytes = (total_bits - checksum_bits) / 8;
    let mut bytes = [0u8; 33];
    let mut acc: u32 = 0;
    let mut pending: u32 = 0;
    let mut k = 0;
    for &index in indexes {
        acc = (acc << 11) | (u32::from(index) & 0x7FF);
        pending += 11;
        while pending >= 8 {
            pending -= 8;
            bytes[k] = (acc >> pending) as u8;
            k += 1;
        }
    }
    if pending > 0 {
        bytes[k] = (acc << (8 - pending)) as u8;
    }
    let hash = Sha256::digest(&bytes[..entropy_bytes]);
    let shift = 8 - checksum_bits;
    hash[0] >> shift == bytes[entropy_bytes] >> shift
}

// ---------------------------------------------------------------------------------------------
// Private keys, WIF, extended keys
// ---------------------------------------------------------------------------------------------

/// Cues that make 64 hex characters a hash rather than a key.
const HASH_CUES: [&str; 20] = [
    "txid",
    "tx id",
    "txhash",
    "tx hash",
    "txn",
    "tx:",
    "tx：",
    "tx ",
    "/tx/",
    "transaction",
    "hash",
    "哈希",
    "交易",
    "区块",
    "區塊",
    "block",
    "checksum",
    "sha256",
    "sha-256",
    "digest",
];
/// Cues that make 64 hex characters a key.
const KEY_CUES: [&str; 20] = [
    "private key",
    "privatekey",
    "private_key",
    "private-key",
    "priv key",
    "privkey",
    "priv_key",
    "secret key",
    "secret",
    "私钥",
    "私鑰",
    "密钥",
    "密鑰",
    "key:",
    "key：",
    "key=",
    "key =",
    "key is",
    "钥匙",
    "鑰匙",
];
const HASH_CUE_REACH: usize = 24;
const KEY_CUE_REACH: usize = 40;
const AFTER_CUE_REACH: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HexCue {
    Key,
    Hash,
}

fn keys(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let token = &text[start..i];
        let kind = match token.len() {
            64 | 66 => is_hex_key(text, start, i, token).then_some(SecretKind::PrivateKey),
            51 | 52 => is_wif(token).then_some(SecretKind::PrivateKey),
            111 => is_extended_private_key(token).then_some(SecretKind::ExtendedPrivateKey),
            _ => None,
        };
        if let Some(kind) = kind {
            out.push(Finding { kind, start, end: i });
        }
    }
}

fn is_hex_key(text: &str, start: usize, end: usize, token: &str) -> bool {
    let hex = if token.len() == 64 {
        token
    } else {
        match token.strip_prefix("0x").or_else(|| token.strip_prefix("0X")) {
            Some(hex) => hex,
            None => return false,
        }
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    match cue_before(text, start) {
        Some(HexCue::Key) => return true,
        Some(HexCue::Hash) => return false,
        None => {}
    }
    if in_url(text, start) {
        return false;
    }
    cue_after(text, end) != Some(HexCue::Hash)
}

/// The cue nearest before a token, if any is within reach (a tie goes to the key).
fn cue_before(text: &str, start: usize) -> Option<HexCue> {
    let window = tail(&text[..start], KEY_CUE_REACH).to_lowercase();
    let mut best: Option<(usize, HexCue)> = None;
    let mut consider = |cues: &[&str], reach: usize, cue: HexCue| {
        for c in cues {
            if let Some(at) = window.rfind(c) {
                let distance = window[at + c.len()..].chars().count();
                let nearer = best.is_none_or(|(d, _)| distance < d || (distance == d && cue == HexCue::Key));
                if distance <= reach && nearer {
                    best = Some((distance, cue));
                }
            }
        }
    };
    consider(&KEY_CUES[..], KEY_CUE_REACH, HexCue::Key);
    consider(&HASH_CUES[..], HASH_CUE_REACH, HexCue::Hash);
    best.map(|(_, cue)| cue)
}

/// The cue nearest after a token, if any.
fn cue_after(text: &str, end: usize) -> Option<HexCue> {
    let window = head(&text[end..], AFTER_CUE_REACH).to_lowercase();
    let mut best: Option<(usize, HexCue)> = None;
    for (cues, cue) in [(&KEY_CUES[..], HexCue::Key), (&HASH_CUES[..], HexCue::Hash)] {
        for c in cues {
            if let Some(at) = window.find(c)
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, cue));
            }
        }
    }
    best.map(|(_, cue)| cue)
}

/// Whether the token starting at `start` is part of a URL.
fn in_url(text: &str, start: usize) -> bool {
    let before = tail(&text[..start], 512);
    let chunk = before.rsplit(|c: char| c.is_whitespace() || "，。；！？、".contains(c)).next().unwrap_or("");
    chunk.contains("://") || chunk.to_ascii_lowercase().contains("www.")
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_decode(s: &str) -> Option<Vec<u8>> {
    // Little-endian big number, multiplied by 58 and added to, digit by digit.
    let mut number: Vec<u8> = Vec::with_capacity(s.len());
    for b in s.bytes() {
        let mut carry = BASE58.iter().position(|&d| d == b)? as u32;
        for byte in number.iter_mut() {
            carry += u32::from(*byte) * 58;
            *byte = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            number.push(carry as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&b| b == b'1').count();
    let mut out = vec![0u8; zeros];
    out.extend(number.iter().rev());
    Some(out)
}

/// The payload of a base58check string whose checksum holds.
fn base58check(s: &str) -> Option<Vec<u8>> {
    let mut data = base58_decode(s)?;
    if data.len() < 5 {
        return None;
    }
    let split = data.len() - 4;
    let hash = Sha256::digest(Sha256::digest(&data[..split]));
    if hash[..4] != data[split..] {
        return None;
    }
    data.truncate(split);
    Some(data)
}

/// A wallet-import-format private key (mainnet or testnet, compressed or not).
fn is_wif(token: &str) -> bool {
    let shape = matches!((token.len(), token.bytes().next()), (51, Some(b'5' | b'9')) | (52, Some(b'K' | b'L' | b'c')));
    if !shape {
        return false;
    }
    match base58check(token).as_deref() {
        Some([0x80 | 0xEF, key @ ..]) if key.len() == 32 => true,
        Some([0x80 | 0xEF, key @ .., 0x01]) if key.len() == 32 => true,
        _ => false,
    }
}

const EXTENDED_PRIVATE_PREFIXES: [&str; 10] =
    ["xprv", "yprv", "zprv", "tprv", "uprv", "vprv", "Yprv", "Zprv", "Uprv", "Vprv"];

/// A BIP-32 extended private key (or its SLIP-132 variants).
fn is_extended_private_key(token: &str) -> bool {
    token.len() == 111
        && EXTENDED_PRIVATE_PREFIXES.iter().any(|p| token.starts_with(p))
        && base58check(token).is_some_and(|payload| payload.len() == 78)
}

// ---------------------------------------------------------------------------------------------
// Keystores
// ---------------------------------------------------------------------------------------------

/// How far from `"ciphertext"` a keystore's braces may be.
const MAX_KEYSTORE_BYTES: usize = 32 * 1024;
/// How many `ciphertext` occurrences are examined (bounds the work on hostile input).
const MAX_KEYSTORE_PROBES: usize = 32;

fn keystores(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    let mut from = 0;
    let mut probes = 0;
    while let Some(pos) = find_ascii_ci(bytes, from, b"ciphertext") {
        from = pos + "ciphertext".len();
        if pos == 0 || bytes[pos - 1] != b'"' {
            continue;
        }
        probes += 1;
        if probes > MAX_KEYSTORE_PROBES {
            break;
        }
        // Enclosing objects, innermost first.
        let mut opens = Vec::new();
        let mut depth = 0usize;
        let lower = pos.saturating_sub(MAX_KEYSTORE_BYTES);
        let mut i = pos;
        while i > lower && opens.len() < 4 {
            i -= 1;
            match bytes[i] {
                b'}' => depth += 1,
                b'{' if depth == 0 => opens.push(i),
                b'{' => depth -= 1,
                _ => {}
            }
        }
        let (Some(&innermost), Some(&outermost)) = (opens.first(), opens.last()) else { continue };
        let mut found = None;
        for &open in &opens {
            match closing_brace(bytes, open) {
                Some(end) if end > pos => {
                    if is_keystore(&bytes[open..end]) {
                        found = Some((open, end));
                    }
                }
                // An object that does not close cannot be closed by one further out either.
                _ => break,
            }
        }
        let span = match found {
            Some(span) => span,
            None => {
                // A keystore cut off before its end: hide the rest of the text, from the outermost
                // brace (none of the braces around the ciphertext closes).
                let rest = &bytes[innermost..bytes.len().min(innermost + MAX_KEYSTORE_BYTES)];
                if closing_brace(bytes, innermost).is_none() && find_ascii_ci(rest, 0, b"kdf").is_some() {
                    (outermost, text.len())
                } else {
                    continue;
                }
            }
        };
        out.push(Finding { kind: SecretKind::Keystore, start: span.0, end: span.1 });
        from = from.max(span.1);
    }
}

/// The end (exclusive) of the object opened at `open`, counting braces only.
fn closing_brace(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &b) in bytes.iter().enumerate().skip(open).take(MAX_KEYSTORE_BYTES) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_keystore(object: &[u8]) -> bool {
    find_ascii_ci(object, 0, b"ciphertext").is_some() && find_ascii_ci(object, 0, b"\"kdf").is_some()
}

// ---------------------------------------------------------------------------------------------
// Labelled passwords
// ---------------------------------------------------------------------------------------------

const ENGLISH_LABELS: [&str; 5] = ["password", "passwd", "passphrase", "passcode", "pwd"];
const CHINESE_LABELS: [&str; 3] = ["密码", "密碼", "口令"];
const MAX_PASSWORD_CHARS: usize = 64;
const MIN_PASSWORD_CHARS: usize = 4;
/// Punctuation ending a sentence rather than a password: left outside the hidden value.
const SPAN_TRAILERS: [char; 7] = ['.', ',', ';', ':', ')', ']', '}'];
/// Also ignored when judging whether a value looks like a password ("wrong!").
const CORE_TRAILERS: [char; 9] = ['.', ',', ';', ':', ')', ']', '}', '!', '?'];

fn passwords(text: &str, out: &mut Vec<Finding>) {
    let mut from = 0;
    for (i, c) in text.char_indices() {
        if i < from {
            continue;
        }
        let value = match c {
            'p' | 'P' => english_label(text, i),
            '密' | '口' => chinese_label(text, i),
            _ => None,
        };
        if let Some((start, end)) = value {
            out.push(Finding { kind: SecretKind::Password, start, end });
            from = end;
        }
    }
}

/// "password: X", "my password is X", "pwd=X": the span of X if it is a password.
fn english_label(text: &str, i: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    if i > 0 && bytes[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let label = ENGLISH_LABELS
        .iter()
        .find(|l| bytes.len() >= i + l.len() && bytes[i..i + l.len()].eq_ignore_ascii_case(l.as_bytes()))?;
    let after_label = i + label.len();
    if bytes.get(after_label).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let k = skip_blanks(text, after_label, 3);
    let k = english_separator(text, k)?;
    let v = skip_whitespace(text, k, 8);
    match value_at(text, v)? {
        Value::Quoted { start, end } => Some((start, end)),
        Value::Plain { start, end, core } => looks_like_password(core).then_some((start, end)),
    }
}

/// After "password": `:`, `：`, `=`, 是/为, or the word "is"/"was" (optionally with a colon).
fn english_separator(text: &str, k: usize) -> Option<usize> {
    let rest = &text[k..];
    for sep in [":", "：", "=", "是", "为", "為"] {
        if let Some(r) = rest.strip_prefix(sep) {
            return Some(text.len() - r.len());
        }
    }
    let b = rest.as_bytes();
    for word in ["is", "was"] {
        if b.len() >= word.len() && b[..word.len()].eq_ignore_ascii_case(word.as_bytes()) {
            let after = &rest[word.len()..];
            let mut chars = after.chars();
            match chars.next() {
                Some(':' | '：') => return Some(text.len() - chars.as_str().len()),
                Some(c) if c.is_whitespace() => return Some(text.len() - after.len()),
                _ => {}
            }
        }
    }
    None
}

/// "密码是X", "密码：X", "交易密码 X": the span of X if it is a password.
fn chinese_label(text: &str, i: usize) -> Option<(usize, usize)> {
    let rest = &text[i..];
    let label = CHINESE_LABELS.iter().find(|l| rest.starts_with(**l))?;
    let after_label = i + label.len();
    let blanks_end = skip_blanks(text, after_label, 3);
    let mut k = blanks_end;
    let mut explicit = false;
    for word in ["是", "为", "為"] {
        if text[k..].starts_with(word) {
            k += word.len();
            explicit = true;
            break;
        }
    }
    for sep in [":", "：", "="] {
        if text[k..].starts_with(sep) {
            k += sep.len();
            explicit = true;
            break;
        }
    }
    if !explicit && blanks_end == after_label {
        // "密码错误", "密码之后": no separator at all.
        return None;
    }
    let v = skip_whitespace(text, k, 8);
    match value_at(text, v)? {
        Value::Quoted { start, end } => Some((start, end)),
        Value::Plain { start, end, core } => {
            let ok = chinese_value_ok(text, end, core) && (explicit || looks_like_password(core));
            ok.then_some((start, end))
        }
    }
}

/// A value after a label: quoted, or a run of characters.
enum Value<'a> {
    Quoted { start: usize, end: usize },
    Plain { start: usize, end: usize, core: &'a str },
}

fn closing_quote(open: char) -> Option<char> {
    Some(match open {
        '"' => '"',
        '\'' => '\'',
        '`' => '`',
        '“' => '”',
        '‘' => '’',
        '「' => '」',
        '『' => '』',
        '«' => '»',
        _ => return None,
    })
}

/// Whether `c` ends an unquoted value.
fn ends_value(c: char) -> bool {
    c.is_whitespace()
        || is_han(c)
        || ('\u{3000}'..='\u{303F}').contains(&c)
        || (('\u{FF00}'..='\u{FFEF}').contains(&c) && !c.is_alphanumeric())
}

fn value_at(text: &str, start: usize) -> Option<Value<'_>> {
    let rest = &text[start..];
    let first = rest.chars().next()?;
    if let Some(close) = closing_quote(first) {
        let inner_start = start + first.len_utf8();
        for (count, (j, c)) in text[inner_start..].char_indices().enumerate() {
            if c == close {
                let content = &text[inner_start..inner_start + j];
                let ok = !content.trim().is_empty() && !content.chars().all(|c| is_han(c) || c.is_whitespace());
                return ok.then_some(Value::Quoted { start: inner_start, end: inner_start + j });
            }
            if c == '\n' || count >= MAX_PASSWORD_CHARS {
                return None;
            }
        }
        return None;
    }
    let mut end = start;
    for (count, (j, c)) in rest.char_indices().enumerate() {
        if ends_value(c) {
            break;
        }
        if count >= MAX_PASSWORD_CHARS {
            // Too long for a password: a link or some other text.
            return None;
        }
        end = start + j + c.len_utf8();
    }
    let span = text[start..end].trim_end_matches(SPAN_TRAILERS);
    let core = span.trim_end_matches(CORE_TRAILERS);
    if span.is_empty() {
        return None;
    }
    Some(Value::Plain { start, end: start + span.len(), core })
}

/// An English-style value: long enough, with a digit, a symbol or an inner capital.
fn looks_like_password(core: &str) -> bool {
    if core.chars().count() < MIN_PASSWORD_CHARS {
        return false;
    }
    let digit = core.chars().any(char::is_numeric);
    let symbol = core.chars().any(|c| !c.is_alphanumeric());
    let mixed = core.chars().skip(1).any(char::is_uppercase) && core.chars().any(char::is_lowercase);
    digit || symbol || mixed
}

/// A value after a Chinese label: long enough and not a count or a year ("8位", "2024年").
fn chinese_value_ok(text: &str, end: usize, core: &str) -> bool {
    if core.chars().count() < MIN_PASSWORD_CHARS {
        return false;
    }
    let short_number = core.len() <= 4 && core.bytes().all(|b| b.is_ascii_digit());
    let then_chinese = text[end..].chars().next().is_some_and(is_han);
    !(short_number && then_chinese)
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    fn marker(kind: SecretKind) -> &'static str {
        kind.marker()
    }

    /// A few official vectors, for builds without ../shared.
    const FALLBACK_VECTORS: [(&str, &str); 20] = [
        ("english", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"),
        (
            "english",
            "gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable narrow fog",
        ),
        ("chinese_simplified", "的 的 的 的 的 的 的 的 的 的 的 在"),
        ("chinese_simplified", "父 泥 炼 胁 鞋 控 载 政 惨 逐 整 碗 环 惯 案 棒 订 移"),
        ("chinese_traditional", "的 的 的 的 的 的 的 的 的 的 的 在"),
        ("chinese_traditional", "父 泥 煉 脅 鞋 控 載 政 慘 逐 整 碗 環 慣 案 棒 訂 移"),
        (
            "czech",
            "abdikace abdikace abdikace abdikace abdikace abdikace abdikace abdikace abdikace abdikace abdikace agrese",
        ),
        (
            "czech",
            "masakr odtok pijavice tajga upravit krmelec krvinka buditel zavinit lakomec flirt traktor kresba plevel kapitola tlupa paseka ladnost",
        ),
        (
            "french",
            "abaisser abaisser abaisser abaisser abaisser abaisser abaisser abaisser abaisser abaisser abaisser abeille",
        ),
        (
            "french",
            "fiasco ivoire mardi révulsif signal enlever envahir anormal vaisseau essayer céleste sagesse engager mener différer ruisseau lutter esprit",
        ),
        ("italian", "abaco abaco abaco abaco abaco abaco abaco abaco abaco abaco abaco abete"),
        (
            "italian",
            "immolato mummia oviparo sigla stirpe fonetico fosso appetito vasca galoppo cigno solubile foderato pargolo enduro sociale ormeggio galateo",
        ),
        (
            "japanese",
            "あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あいこくしん\u{3000}あおぞら",
        ),
        (
            "japanese",
            "しはつ\u{3000}たいちょう\u{3000}ちめいど\u{3000}ひりつ\u{3000}ほくろ\u{3000}こやく\u{3000}こんかい\u{3000}いひん\u{3000}よろしい\u{3000}さくら\u{3000}がはく\u{3000}ふっかつ\u{3000}こまる\u{3000}つごう\u{3000}けぬき\u{3000}ふすま\u{3000}ちから\u{3000}さくし",
        ),
        ("korean", "가격 가격 가격 가격 가격 가격 가격 가격 가격 가격 가격 가능"),
        (
            "korean",
            "서비스 알코올 오로지 착각 카운터 부근 부정 고양이 허락 비디오 단맛 체온 본인 완전 바람 철학 영하 비닐",
        ),
        (
            "portuguese",
            "abacate abacate abacate abacate abacate abacate abacate abacate abacate abacate abacate abater",
        ),
        (
            "portuguese",
            "fazenda invasor magreza repolho separado emenda enchente amassar valente enxerto cachorro roteiro eliminar marinho deboche rodovia locutor envolver",
        ),
        ("spanish", "ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco abierto"),
        (
            "spanish",
            "gráfico madera muro rutina suelo falso favor añadir variar firma casco semana fácil neón don sección morder fingir",
        ),
    ];

    /// (language, mnemonic) for every vector of the ten official languages.
    fn official_vectors() -> Vec<(String, String)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/bip39/vectors.json");
        let Ok(raw) = std::fs::read_to_string(path) else {
            return FALLBACK_VECTORS.iter().map(|(l, m)| (l.to_string(), m.to_string())).collect();
        };
        let json: serde_json::Value = serde_json::from_str(&raw).expect("vectors.json is JSON");
        let mut out = Vec::new();
        for &(lang, _) in LISTS.iter() {
            let vectors = json[lang].as_array().unwrap_or_else(|| panic!("vectors for {lang}"));
            for v in vectors {
                out.push((lang.to_string(), v[1].as_str().expect("a mnemonic").to_string()));
            }
        }
        assert_eq!(out.len(), 240);
        out
    }

    fn ordinary_messages() -> Vec<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ordinary_messages.txt");
        let raw = std::fs::read_to_string(path).expect("tests/data/ordinary_messages.txt");
        raw.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
    }

    fn is_chinese(lang: &str) -> bool {
        lang.starts_with("chinese")
    }

    /// `prefix + secret + suffix` becomes (part of) prefix, one marker, (part of) suffix.
    fn assert_hidden(prefix: &str, secret: &str, suffix: &str, kind: SecretKind) {
        let text = format!("{prefix}{secret}{suffix}");
        let g = redact(&text);
        let m = marker(kind);
        assert_eq!(g.text.matches(m).count(), 1, "{text:?} → {:?}", g.text);
        let at = g.text.find(m).unwrap_or_default();
        let (before, after) = (&g.text[..at], &g.text[at + m.len()..]);
        assert!(prefix.starts_with(before), "{text:?} → {:?}", g.text);
        assert!(suffix.ends_with(after), "{text:?} → {:?}", g.text);
        assert!(!g.text.contains(secret), "{text:?} → {:?}", g.text);
        assert_eq!(g.kinds, vec![kind]);
        check_invariants(&text);
    }

    fn assert_unchanged(text: &str) {
        let g = redact(text);
        assert_eq!(g.text, text, "findings: {:?}", scan(text));
        assert!(!g.redacted());
    }

    fn check_invariants(text: &str) {
        let findings = scan(text);
        for f in &findings {
            assert!(f.start < f.end && f.end <= text.len(), "{f:?} in {text:?}");
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end), "{f:?} in {text:?}");
        }
        for pair in findings.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{findings:?} in {text:?}");
        }
        let once = redact(text);
        assert_eq!(once.redacted(), !findings.is_empty());
        let twice = redact(&once.text);
        assert_eq!(twice.text, once.text, "not idempotent for {text:?}");
    }

    #[test]
    fn markers_and_codes() {
        for kind in SecretKind::ALL {
            assert!(kind.marker().starts_with("[已隐藏："));
            assert_eq!(serde_json::to_value(kind).expect("serialises"), serde_json::json!(kind.code()));
        }
    }

    #[test]
    fn wordlists_are_complete() {
        let lists = &*WORDLISTS;
        for lang in 0..N_LANGS {
            let count = if lang == ZH_SIMPLIFIED || lang == ZH_TRADITIONAL {
                lists.han.values().filter(|h| h[lang] != NONE).count()
            } else {
                lists.words.values().filter(|h| h[lang] != NONE).count()
            };
            assert_eq!(count, 2048, "{}", LISTS[lang].0);
        }
    }

    #[test]
    fn every_official_vector_is_caught_alone() {
        for (lang, m) in official_vectors() {
            let g = redact(&m);
            assert_eq!(g.text, marker(SecretKind::SeedPhrase), "{lang}: {m}");
            assert_eq!(scan(&m), vec![Finding { kind: SecretKind::SeedPhrase, start: 0, end: m.len() }], "{lang}");
        }
    }

    #[test]
    fn every_official_vector_is_caught_in_a_sentence() {
        for (lang, m) in official_vectors() {
            assert_hidden("my phrase is ", &m, " please help", SecretKind::SeedPhrase);
            assert_hidden("Help!\n1. ", &m, "\nthanks", SecretKind::SeedPhrase);
            if is_chinese(&lang) {
                assert_hidden("我的助记词是 ", &m, " 请帮我看看", SecretKind::SeedPhrase);
            }
        }
    }

    #[test]
    fn chinese_vectors_are_caught_without_spaces() {
        for (lang, m) in official_vectors() {
            if !is_chinese(&lang) {
                continue;
            }
            let joined: String = m.split_whitespace().collect();
            assert_eq!(redact(&joined).text, marker(SecretKind::SeedPhrase), "{lang}: {joined}");
            assert_hidden("助记词：", &joined, "，请帮我看看", SecretKind::SeedPhrase);
            assert_hidden("seed phrase: ", &joined, "。", SecretKind::SeedPhrase);
            if lang == "chinese_simplified" {
                assert_hidden("我的助记词是", &joined, "请帮我看看", SecretKind::SeedPhrase);
            } else {
                assert_hidden("我的助記詞是", &joined, "請幫我看看", SecretKind::SeedPhrase);
            }
        }
    }

    #[test]
    fn separators_numbering_case_and_accents() {
        let words: Vec<&str> = "gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable narrow fog"
            .split(' ')
            .collect();
        // The number before the first word stays outside the finding.
        let numbered: Vec<String> = words.iter().enumerate().map(|(i, w)| format!("{}. {w}", i + 1)).collect();
        let numbered = numbered.join("\n");
        assert_hidden("my words:\n1. ", numbered.trim_start_matches("1. "), "", SecretKind::SeedPhrase);
        let parens: Vec<String> = words.iter().enumerate().map(|(i, w)| format!("{}){w}", i + 1)).collect();
        let parens = parens.join(" ");
        assert_hidden("1)", parens.trim_start_matches("1)"), " ok?", SecretKind::SeedPhrase);
        assert_hidden("phrase: ", &words.join(", "), ". What now?", SecretKind::SeedPhrase);
        assert_hidden("", &words.join(" ").to_uppercase(), "", SecretKind::SeedPhrase);
        assert_hidden("", &words.join("\u{3000}"), "", SecretKind::SeedPhrase);
        // Spanish composed (NFC), decomposed and without accents.
        let spanish = "gráfico madera muro rutina suelo falso favor añadir variar firma casco semana fácil neón don sección morder fingir";
        let nfc: String = spanish.nfc().collect();
        let nfd: String = spanish.nfd().collect();
        let bare: String = spanish.nfd().filter(|c| !('\u{300}'..='\u{36F}').contains(c)).collect();
        for m in [nfc, nfd, bare] {
            assert_eq!(redact(&m).text, marker(SecretKind::SeedPhrase), "{m}");
        }
    }

    #[test]
    fn ordinary_messages_are_left_alone() {
        let lines = ordinary_messages();
        assert!(lines.len() >= 144);
        for line in &lines {
            assert_unchanged(line);
            check_invariants(line);
        }
    }

    #[test]
    fn checksum_failures_are_not_secrets() {
        assert!(!checksum_ok(&[0; 12]));
        assert!(checksum_ok(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]));
        assert_unchanged(&["abandon"; 12].join(" "));
        // A real phrase with its last word swapped.
        let words = "gravity machine north sort system female filter attitude volume fold club stay";
        let lists = &*WORDLISTS;
        let mut key = String::new();
        let indexes: Vec<u16> = words
            .split(' ')
            .map(|w| {
                word_key(w, &mut key);
                lists.words[key.as_str()][0]
            })
            .collect();
        assert!(!checksum_ok(&indexes), "pick another example");
        assert_unchanged(words);
        assert_unchanged(&format!("my words: {words}!"));
        assert_unchanged(&["的"; 12].join(" "));
    }

    #[test]
    fn unspaced_chinese_prose_with_a_valid_checksum_is_not_a_phrase() {
        // Line 62 of the ordinary messages: 15 list characters with a valid checksum.
        let run = "上个月的交易记录在哪里可以看到";
        let lists = &*WORDLISTS;
        let chars: Vec<char> = run.chars().collect();
        let indexes: Vec<u16> = chars.iter().map(|c| lists.han[c][ZH_SIMPLIFIED]).collect();
        assert!(checksum_ok(&indexes));
        assert!(reads_like_chinese(&chars, &indexes));
        assert_unchanged(run);
        assert_unchanged(&format!("{run}？"));
    }

    const HEX: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

    #[test]
    fn hex_keys_and_transaction_hashes() {
        assert_unchanged(&format!("TxID: {HEX}"));
        assert_unchanged(&format!("TxID: 0x{HEX}"));
        assert_unchanged(&format!("交易哈希 0x{HEX}，麻烦查一下"));
        assert_unchanged(&format!("https://etherscan.io/tx/0x{HEX}"));
        assert_unchanged(&format!("链接：https://tronscan.org/#/transaction/{HEX} 显示成功"));
        assert_unchanged(&format!("{HEX} is the tx hash"));
        assert_hidden("private key: ", HEX, "", SecretKind::PrivateKey);
        assert_hidden("my private key: 0x", HEX, " (not the tx hash)", SecretKind::PrivateKey);
        assert_hidden("这是我的私钥 ", &format!("0x{HEX}"), "，帮我看看", SecretKind::PrivateKey);
        assert_hidden("hash of my wallet, private key: ", HEX, "", SecretKind::PrivateKey);
        assert_hidden("", HEX, "", SecretKind::PrivateKey);
        // Addresses are not keys.
        assert_unchanged("0x06fc1812404ffe8c39675d5b762afb443ce0e22f");
        assert_unchanged("bc1qxp8ysse8pzzgl686h3tyypr973637aagqs9rq3");
        assert_unchanged(&format!("{HEX}{HEX}"));
    }

    const WIF: &str = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
    const WIF_COMPRESSED: &str = "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617";
    const WIF_TESTNET: &str = "91gGn1HgSap6CbU12F6z3pJri26xzp7Ay1VW6NHCoEayNXwRpu2";
    const XPRV: &str = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    const XPUB: &str = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";

    #[test]
    fn wif_and_extended_keys() {
        for wif in [WIF, WIF_COMPRESSED, WIF_TESTNET] {
            assert!(is_wif(wif), "{wif}");
            assert_hidden("my key ", wif, " thanks", SecretKind::PrivateKey);
        }
        let mut bad = WIF.to_string();
        bad.replace_range(20..21, "A");
        assert!(!is_wif(&bad));
        assert_unchanged(&format!("my key {bad} thanks"));

        assert!(is_extended_private_key(XPRV));
        assert_hidden("backup: ", XPRV, "", SecretKind::ExtendedPrivateKey);
        let mut bad = XPRV.to_string();
        bad.replace_range(50..51, "A");
        assert!(!is_extended_private_key(&bad));
        assert_unchanged(&bad);
        assert_unchanged(XPUB);
        // Addresses and a Solana signature.
        assert_unchanged(
            "3FKmGtSJmW4bP2RxVb164yFvUetHDynF1i TEp8XCiuKWf8mv28UTiuH52usAZ1jJjM9o 1CjY2hGFydCXwWxWTAAe17Dud5HWvnzbXg",
        );
        assert_unchanged("5zuZKYiH8SxttEUFPtXGwrYYzUADAnHNZrxXkZEso2U94Rd8CDebmMKB372LLUoXYC1ETqvScd1BxG1JRJ2BBe7q");
    }

    const KEYSTORE: &str = r#"{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"6087dab2f9fdbbfaddc31a909735c1e6"},"ciphertext":"5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46","kdf":"pbkdf2","kdfparams":{"c":262144,"dklen":32,"prf":"hmac-sha256","salt":"ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},"mac":"517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}"#;

    #[test]
    fn keystores_are_hidden_whole() {
        assert_hidden("Here is my wallet file {see below}: ", KEYSTORE, " can you restore it?", SecretKind::Keystore);
        let pretty = KEYSTORE.replace(",\"", ",\n  \"").replace("\"crypto\"", "\"Crypto\"");
        assert_hidden("钱包文件：\n", &pretty, "\n谢谢", SecretKind::Keystore);
        let escaped = KEYSTORE.replace('"', "\\\"");
        assert_hidden("json: \"", &escaped, "\"", SecretKind::Keystore);
        // Cut off before the end: everything from the brace on is hidden.
        let cut = &KEYSTORE[..KEYSTORE.find("\"mac\"").unwrap_or(KEYSTORE.len())];
        let g = redact(&format!("file: {cut}"));
        assert_eq!(g.text, format!("file: {}", marker(SecretKind::Keystore)));
        assert_unchanged(r#"{"ciphertext": "is a word I like"}"#);
    }

    #[test]
    fn labelled_passwords_are_hidden() {
        let cases = [
            ("my password is ", "Hunter2!", ""),
            ("Password: ", "S3cret#pass", " thanks"),
            ("pwd=", "abc123XY", ""),
            ("my password is '", "correct horse", "'"),
            ("login password was ", "Tr0ub4dor&3", ", please reset"),
            ("密码是", "Abc12345", ""),
            ("密码：", "qwe123456", "，请帮忙"),
            ("密码:", "abc@2024", ""),
            ("登录密码是", "Abc123456", "，请帮我看看"),
            ("交易密码 ", "889900Ab", " 忘了"),
            ("资金密码为", "zxcvbnm1", "。"),
            ("密碼是 ", "Pass1234", ""),
        ];
        for (label, value, rest) in cases {
            let g = redact(&format!("{label}{value}{rest}"));
            assert_eq!(g.text, format!("{label}{}{rest}", marker(SecretKind::Password)));
            assert_eq!(g.kinds, vec![SecretKind::Password]);
        }
    }

    #[test]
    fn ordinary_talk_about_passwords_is_left_alone() {
        for text in [
            "密码是对的，但还是一直提示登录失败",
            "密码是正确的",
            "密码是什么",
            "密码是不是泄露了",
            "密码是8位数字",
            "密码 2024年改过一次",
            "提币密码和登录密码是同一个吗？",
            "密码：",
            "My password is correct, I checked it twice.",
            "my password is wrong",
            "my password is wrong!",
            "my password is not working",
            "my password is the same",
            "my password is too long",
            "my password is expired",
            "password is required",
            "Password: required",
            "my password isn't working",
            "The passwords are different",
            "I forgot my password and the reset email never came.",
            "What is the optional passphrase (the 25th word) and do I need one for my Ledger?",
        ] {
            assert_unchanged(text);
        }
    }

    #[test]
    fn mixed_secrets_merge_and_keep_order() {
        let text = format!("pwd: Abc123! key: {HEX} and {WIF}");
        let g = redact(&text);
        assert_eq!(g.kinds, vec![SecretKind::Password, SecretKind::PrivateKey]);
        assert!(!g.text.contains(HEX) && !g.text.contains(WIF) && !g.text.contains("Abc123"));
        // A key inside a labelled password is one finding, named by the stronger kind.
        let f = scan(&format!("password: {HEX}"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, SecretKind::PrivateKey);
        check_invariants(&text);
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let mut texts: Vec<String> = vec![
            format!("password: Abc123 Second2 private key: {HEX}"),
            format!("pwd: myHash123 {HEX}"),
            format!("{} {}", marker(SecretKind::Password), HEX),
            format!("密码：{}", marker(SecretKind::Password)),
        ];
        for (_, m) in official_vectors().into_iter().take(30) {
            texts.push(format!("a {m} b {m}"));
        }
        for t in &texts {
            check_invariants(t);
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let huge_words = ["abandon"; 3_000].join(" ");
        let huge_han = "的".repeat(50_000);
        let huge_cues = "助记词是".repeat(5_000);
        let texts = [
            "",
            " ",
            "🙂",
            "密码：🙂🙂🙂🙂",
            "password: 🙂x1🙂",
            "密码",
            "password",
            "{",
            "}",
            "{\"ciphertext\"",
            "\"ciphertext\" kdf {",
            "0x",
            "的的的的的的的的的的的的的的的的的的的的的的的的的的的的的的",
            "abandon\u{301} 🙂 abandon,,,,,,,,,,,, about",
            "\u{0}\u{1}\u{FEFF}\u{200B}密\u{200B}码是",
            "x\u{300}\u{300}\u{300}",
            huge_words.as_str(),
            huge_han.as_str(),
            huge_cues.as_str(),
        ];
        for t in texts {
            check_invariants(t);
        }
    }

    const PIECES: [&str; 24] = [
        "abandon ",
        "about ",
        "的",
        "在",
        " ",
        "，",
        "1. ",
        "密码",
        "是",
        "：",
        "password",
        " is ",
        "Abc123!",
        "0x",
        "4c0883a69102937d",
        "🙂",
        "{",
        "}",
        "\"ciphertext\"",
        "\"kdf\"",
        "助记词",
        "é",
        "\u{3000}",
        "[已隐藏：",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_keeps_the_invariants(s in any::<String>()) {
            check_invariants(&s);
        }

        #[test]
        fn mixed_pieces_keep_the_invariants(parts in prop::collection::vec(prop::sample::select(PIECES.to_vec()), 0..60)) {
            check_invariants(&parts.concat());
        }
    }
}
