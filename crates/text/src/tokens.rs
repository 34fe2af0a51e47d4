//! Words of a text, the one tokeniser of search and triage: Chinese segmented into words by jieba
//! (with the shorter words inside long ones, so a query finds "客服" in "冒充客服", and their
//! single characters), traditional
//! characters mapped to simplified where the BIP-39 lists pair them, Latin-script words
//! lowercased and stemmed as English, numbers kept. Offsets point into the original text (for
//! highlighting).

use jieba_rs::Jieba;
use std::collections::HashMap;
use std::sync::LazyLock;

/// A word and where it stands in the text (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

pub(crate) static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

static STEMMER: LazyLock<rust_stemmers::Stemmer> =
    LazyLock::new(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));

/// Traditional → simplified, from the two Chinese BIP-39 lists (the same index is the same word).
static TRADITIONAL: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    let simplified = include_str!("../data/bip39/chinese_simplified.txt").lines();
    let traditional = include_str!("../data/bip39/chinese_traditional.txt").lines();
    let mut map = HashMap::new();
    for (s, t) in simplified.zip(traditional) {
        if let (Some(s), Some(t)) = (s.chars().next(), t.chars().next())
            && s != t
        {
            map.insert(t, s);
        }
    }
    // Common support words the lists do not pair.
    for (t, s) in [
        ('帳', '账'),
        ('號', '号'),
        ('凍', '冻'),
        ('結', '结'),
        ('幣', '币'),
        ('錢', '钱'),
        ('碼', '码'),
        ('驗', '验'),
        ('證', '证'),
        ('戶', '户'),
        ('問', '问'),
        ('題', '题'),
        ('請', '请'),
        ('謝', '谢'),
        ('釣', '钓'),
        ('詐', '诈'),
        ('騙', '骗'),
        ('盜', '盗'),
        ('轉', '转'),
        ('額', '额'),
        ('資', '资'),
        ('產', '产'),
        ('錄', '录'),
        ('設', '设'),
        ('備', '备'),
        ('機', '机'),
        ('單', '单'),
        ('訂', '订'),
        ('買', '买'),
        ('賣', '卖'),
        ('處', '处'),
        ('時', '时'),
        ('間', '间'),
        ('個', '个'),
        ('們', '们'),
        ('這', '这'),
        ('麼', '么'),
        ('為', '为'),
        ('沒', '没'),
        ('還', '还'),
        ('門', '门'),
        ('東', '东'),
        ('風', '风'),
        ('險', '险'),
        ('審', '审'),
        ('網', '网'),
        ('絡', '络'),
        ('鏈', '链'),
        ('礦', '矿'),
        ('詞', '词'),
        ('鑰', '钥'),
        ('隱', '隐'),
    ] {
        if s != t {
            map.insert(t, s);
        }
    }
    map
});

/// A Chinese (Han) character: CJK unified ideographs, extension A and B, compatibility.
pub(crate) fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF)
}

/// Simplified form of a Chinese character (itself when there is none).
pub fn simplified(c: char) -> char {
    TRADITIONAL.get(&c).copied().unwrap_or(c)
}

/// Loads the dictionaries now rather than on the first text (≈ 0.3 s for jieba).
pub fn warm_up() {
    LazyLock::force(&JIEBA);
    LazyLock::force(&TRADITIONAL);
}

/// The words of `text`, in order.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_han(c) {
            let mut end = start;
            let mut run = String::new();
            while let Some(&(i, c)) = chars.peek() {
                if !is_han(c) {
                    break;
                }
                run.push(simplified(c));
                end = i + c.len_utf8();
                chars.next();
            }
            chinese(text, start, end, &run, &mut out);
        } else if c.is_alphanumeric() {
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if !c.is_alphanumeric() || is_han(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            let word = text[start..end].to_lowercase();
            let word = if word.chars().all(|c| c.is_ascii_alphabetic()) {
                STEMMER.stem(irregular(&word).unwrap_or(&word)).into_owned()
            } else {
                word
            };
            out.push(Word { text: word, start, end });
        } else {
            chars.next();
        }
    }
    // In text order (sub-words and characters come with their word), as highlighting needs.
    out.sort_by_key(|w| w.start);
    out
}

/// English words too common to require in a search ("why is my account restricted" asks for
/// "account" and "restricted").
const STOP_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "hello", "hi", "how", "i", "if", "in", "is", "it", "its", "me", "my",
    "no", "not", "of", "on", "or", "our", "please", "so", "that", "the", "there", "this", "to", "us", "was", "we",
    "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Chinese function words: question words, adverbs of time and degree, pronouns and
/// conjunctions. Like the English stop words they say how something is asked, not what about.
const ZH_STOP_WORDS: &[&str] = &[
    "怎么办",
    "怎么",
    "怎样",
    "怎么样",
    "为什么",
    "什么",
    "如何",
    "请问",
    "一直",
    "还是",
    "已经",
    "现在",
    "可以",
    "能否",
    "是否",
    "一下",
    "这个",
    "那个",
    "我们",
    "你们",
    "他们",
    "自己",
    "因为",
    "所以",
    "但是",
    "然后",
    "如果",
    "的话",
    "没有",
];

/// The words a search requires, each as a group of which one must be present: every
/// Chinese word of two or more characters (with the dictionary words inside it, so that "验证器"
/// is also met by "验证"), and every English word or number, less the stop words of either
/// language. Single Chinese characters and stop words are left out. `all` are the [`words`] of
/// `text`.
pub fn required(text: &str, all: &[Word]) -> Vec<Vec<String>> {
    let inside = |w: &Word, outer: &Word| {
        outer.start <= w.start && w.end <= outer.end && outer.end - outer.start > w.end - w.start
    };
    let mut groups: Vec<Vec<String>> = vec![];
    for w in all {
        if all.iter().any(|o| inside(w, o)) {
            continue;
        }
        let raw = &text[w.start..w.end];
        let han = raw.chars().next().is_some_and(is_han);
        let group: Vec<String> = if han {
            if raw.chars().count() < 2 || ZH_STOP_WORDS.contains(&raw) {
                continue;
            }
            all.iter()
                .filter(|s| s.start >= w.start && s.end <= w.end && text[s.start..s.end].chars().count() >= 2)
                .map(|s| s.text.clone())
                .collect()
        } else {
            if STOP_WORDS.contains(&raw.to_lowercase().as_str()) {
                continue;
            }
            vec![w.text.clone()]
        };
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

/// The base form of common irregular English verbs, which a stemmer leaves apart ("stole" and
/// "stolen" are "steal").
fn irregular(word: &str) -> Option<&'static str> {
    Some(match word {
        "stole" | "stolen" => "steal",
        "lost" => "lose",
        "froze" | "frozen" => "freeze",
        "sent" => "send",
        "paid" => "pay",
        "got" | "gotten" => "get",
        "forgot" | "forgotten" => "forget",
        "withdrew" | "withdrawn" => "withdraw",
        "bought" => "buy",
        "sold" => "sell",
        "took" | "taken" => "take",
        "gave" | "given" => "give",
        "made" => "make",
        "said" => "say",
        "told" => "tell",
        "spent" => "spend",
        "went" | "gone" => "go",
        "saw" | "seen" => "see",
        "knew" | "known" => "know",
        "hid" | "hidden" => "hide",
        "wrote" | "written" => "write",
        "began" | "begun" => "begin",
        "kept" => "keep",
        "held" => "hold",
        "broke" | "broken" => "break",
        "chose" | "chosen" => "choose",
        _ => return None,
    })
}

/// Segments a run of Chinese characters (already simplified in `run`, which has the same number
/// of characters as `text[start..end]`).
fn chinese(text: &str, start: usize, end: usize, run: &str, out: &mut Vec<Word>) {
    // Byte offset in `text` of each character of the run.
    let offsets: Vec<usize> = text[start..end].char_indices().map(|(i, _)| start + i).chain([end]).collect();
    let run_offsets: Vec<usize> = run.char_indices().map(|(i, _)| i).chain([run.len()]).collect();
    let char_at = |byte: usize| run_offsets.binary_search(&byte).unwrap_or_else(|i| i);
    for piece in JIEBA.cut(run, true) {
        let from = piece.as_ptr() as usize - run.as_ptr() as usize;
        let (a, b) = (char_at(from), char_at(from + piece.len()));
        let (s, e) = (offsets[a], offsets[b]);
        // Long words also yield the dictionary words inside them, as jieba's search mode does.
        let n = b - a;
        if n > 2 {
            let chars: Vec<char> = piece.chars().collect();
            for len in 2..n {
                for i in 0..=(n - len) {
                    let sub: String = chars[i..i + len].iter().collect();
                    if JIEBA.has_word(&sub) {
                        out.push(Word { text: sub, start: offsets[a + i], end: offsets[a + i + len] });
                    }
                }
            }
        }
        out.push(Word { text: piece.to_string(), start: s, end: e });
        // And its characters, so that "丢了" still meets "丢失" and a word jieba does not know
        // is found by its parts.
        if n > 1 {
            for (i, c) in piece.chars().enumerate() {
                out.push(Word { text: c.to_string(), start: offsets[a + i], end: offsets[a + i + 1] });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        words(s).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn chinese_is_segmented_with_or_without_spaces() {
        let joined = texts("我的账户被冻结了");
        let spaced = texts("我的 账户 被 冻结 了");
        assert!(joined.contains(&"账户".to_string()) && joined.contains(&"冻结".to_string()), "{joined:?}");
        for w in ["账户", "冻结"] {
            assert!(spaced.contains(&w.to_string()));
        }
    }

    #[test]
    fn long_words_also_give_the_words_inside() {
        let w = texts("冒充客服");
        assert!(w.contains(&"客服".to_string()), "{w:?}");
    }

    #[test]
    fn traditional_characters_map_to_simplified() {
        let w = texts("帳戶被凍結");
        assert!(w.contains(&"账户".to_string()) && w.contains(&"冻结".to_string()), "{w:?}");
    }

    #[test]
    fn english_is_lowercased_and_stemmed_and_offsets_point_into_the_text() {
        let text = "Withdrawals FROZEN since Monday, 2 BTC";
        let w = words(text);
        assert_eq!(w[0].text, "withdraw");
        assert_eq!(&text[w[0].start..w[0].end], "Withdrawals");
        assert!(w.iter().any(|x| x.text == "freez"), "frozen is freeze: {w:?}");
        assert_eq!(words("stole")[0].text, words("stolen")[0].text);
        assert!(w.iter().any(|x| x.text == "2") && w.iter().any(|x| x.text == "btc"));
    }

    #[test]
    fn mixed_scripts_and_offsets_stay_on_char_boundaries() {
        let text = "我的USDT提现一直pending，帳號 ok";
        for w in words(text) {
            assert!(text.is_char_boundary(w.start) && text.is_char_boundary(w.end));
            assert!(w.start < w.end);
        }
        let t = texts(text);
        assert!(
            t.contains(&"usdt".to_string()) && t.contains(&"提现".to_string()) && t.contains(&"pend".to_string()),
            "{t:?}"
        );
    }

    #[test]
    fn a_search_requires_the_words_not_the_characters_nor_the_stop_words() {
        let required = |text: &str| required(text, &words(text));
        let zh = required("账户被冻结了怎么办");
        assert!(zh.contains(&vec!["账户".to_string()]) && zh.contains(&vec!["冻结".to_string()]), "{zh:?}");
        assert_eq!(zh.len(), 2, "怎么办 asks, it does not select: {zh:?}");
        assert!(zh.iter().flatten().all(|w| w.chars().count() >= 2), "no single characters: {zh:?}");
        let long = required("验证器");
        assert_eq!(long.len(), 1, "one word, met by itself or a word inside it: {long:?}");
        assert!(long[0].contains(&"验证".to_string()), "{long:?}");
        assert_eq!(
            required("Why is my account RESTRICTED?"),
            vec![vec!["account".to_string()], vec!["restrict".to_string()]]
        );
        assert_eq!(
            required("lost 2FA, lost phone"),
            vec![vec!["lose".to_string()], vec!["2fa".to_string()], vec!["phone".to_string()]]
        );
        assert!(required("is it 了").is_empty());
    }
}
