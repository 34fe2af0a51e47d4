//! The inbound email reader (`POST /api/v1/mail/inbound`): any bytes either are refused with a
//! stable error or become a reply whose fields keep their promises — addresses bare and
//! lowercased without repeats, ids without brackets, and a text that is trimmed, holds no quoted
//! line or thaw reply marker, and is what quote stripping leaves of itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thaw_text::inbound::{self, MAX_TOKEN_LEN, ParseError};

fn no_repeats(list: &[String]) -> bool {
    list.iter().enumerate().all(|(i, a)| !list[..i].contains(a))
}

fn bare(s: &str) -> bool {
    !s.is_empty() && s == s.trim() && !s.starts_with('<') && !s.ends_with('>')
}

fuzz_target!(|data: &[u8]| {
    let mail = match inbound::parse(data) {
        Ok(mail) => mail,
        Err(e) => {
            assert!(matches!(e, ParseError::Empty | ParseError::NotAMessage));
            assert_eq!(e == ParseError::Empty, data.iter().all(u8::is_ascii_whitespace));
            return;
        }
    };
    for address in mail.from.iter().chain(&mail.to) {
        assert!(bare(address), "address not bare: {address:?}");
        assert!(!address.chars().any(|c| c.is_ascii_uppercase()), "address not lowercased: {address:?}");
    }
    assert!(no_repeats(&mail.to), "repeated recipients: {:?}", mail.to);
    assert!(no_repeats(&mail.in_reply_to), "repeated ids: {:?}", mail.in_reply_to);
    for id in mail.message_id.iter().chain(&mail.in_reply_to) {
        assert!(bare(id), "id not bare: {id:?}");
    }
    assert_eq!(mail.subject, mail.subject.trim());

    let text = &mail.text;
    assert_eq!(text, text.trim(), "text not trimmed");
    for line in text.lines() {
        assert!(!line.trim_start().starts_with('>'), "a quoted line was kept: {line:?} in {text:?}");
        assert!(!line.contains("请在此线以上回复"), "thaw's reply marker was kept: {text:?}");
    }
    assert_eq!(&inbound::strip_quoted(text), text, "stripping the stripped text changed it");

    for attachment in &mail.attachments {
        assert!(!attachment.filename.is_empty() && attachment.filename == attachment.filename.trim());
        assert!(!attachment.content_type.is_empty());
    }

    if let Some(token) = inbound::reply_token("support@thaw.example", &mail.to) {
        assert!((1..=MAX_TOKEN_LEN).contains(&token.len()), "token {token:?}");
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "token {token:?}");
        assert!(mail.to.iter().any(|a| a.contains(&format!("+{token}@"))), "token {token:?} not in {:?}", mail.to);
    }
});
