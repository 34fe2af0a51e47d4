//! Inbound email: a holder's reply to a case email, as the mail server hands it over (raw RFC 822),
//! parsed into what the case desk needs and classified so that machine mail (bounces, auto-replies,
//! list mail) never becomes a case message. Pure: no database, no clock; the caller stores.

use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders};
use std::fmt;

/// thaw puts this line at the top of outgoing case emails; everything from it down is ours.
pub const REPLY_MARKER: &str = "## 请在此线以上回复 / Reply above this line ##";

/// Plus-address reply tokens are at most this long.
pub const MAX_TOKEN_LEN: usize = 64;

/// A received email, reduced to what a case message needs.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The sender's bare address, lowercased, e.g. "li.wei@example.com".
    pub from: Option<String>,
    /// Bare recipient addresses, lowercased and without repeats: To, Cc, then the envelope
    /// recipients the server recorded (Delivered-To, X-Original-To), which survive a Bcc.
    pub to: Vec<String>,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To, then References ids, without angle brackets or repeats, in order.
    pub in_reply_to: Vec<String>,
    /// The new text of the reply: the plain-text body (HTML converted when there is no text part)
    /// with quoted earlier mail and the signature removed, trimmed.
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// Some when the mail was sent by a machine and must not become a case message: answering
    /// it could start a mail loop.
    pub automatic: Option<Automatic>,
}

/// A file attached to an email, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub filename: String,
    /// As declared by the sender ("type/subtype"), not verified against the bytes.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why an email counts as machine mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automatic {
    /// Out-of-office and other automatic answers, read receipts included.
    AutoReply,
    /// A delivery failure report.
    Bounce,
    /// Mailing-list and bulk mail.
    Bulk,
}

impl Automatic {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Automatic::AutoReply => "auto_reply",
            Automatic::Bounce => "bounce",
            Automatic::Bulk => "bulk",
        }
    }
}

/// Why raw bytes could not be read as an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing, or only whitespace, was received.
    Empty,
    /// The bytes do not start with header fields, or carry no sender, message id or content.
    NotAMessage,
}

impl ParseError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty_message",
            ParseError::NotAMessage => "not_a_message",
        }
    }

    /// A message naming the problem, safe to show.
    pub fn message(&self) -> &'static str {
        match self {
            ParseError::Empty => "The email is empty: no bytes were received.",
            ParseError::NotAMessage => {
                "This is not an email message: it does not start with header fields, or it has no sender, message id or content."
            }
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ParseError {}

/// Parses a raw RFC 822 message and decides whether it is a holder's reply or machine mail.
pub fn parse(raw: &[u8]) -> Result<Inbound, ParseError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let raw = skip_envelope_line(raw);
    if !starts_with_header_field(raw) {
        return Err(ParseError::NotAMessage);
    }
    let Some(message) = MessageParser::default().parse(raw) else { return Err(ParseError::NotAMessage) };

    let from = addresses(message.from()).into_iter().next();
    let mut to = Vec::new();
    let envelope = header_values(&message, "Delivered-To")
        .into_iter()
        .chain(header_values(&message, "X-Original-To"))
        .filter_map(|value| envelope_address(&value));
    for address in addresses(message.to()).into_iter().chain(addresses(message.cc())).chain(envelope) {
        push_new(&mut to, address);
    }
    let subject = message.subject().unwrap_or_default().trim().to_string();
    let message_id = message.message_id().map(bare_id).filter(|id| !id.is_empty());
    let mut in_reply_to = Vec::new();
    for id in message_ids(message.in_reply_to()).into_iter().chain(message_ids(message.references())) {
        push_new(&mut in_reply_to, id);
    }

    let mut body = String::new();
    for pos in 0..message.text_body_count() {
        if let Some(part) = message.body_text(pos) {
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(&part);
        }
    }

    let attachments: Vec<Attachment> = message
        .attachments()
        .enumerate()
        .map(|(index, part)| Attachment {
            filename: part
                .attachment_name()
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map_or_else(|| format!("attachment-{}", index + 1), str::to_string),
            content_type: part.content_type().map_or_else(
                || "application/octet-stream".to_string(),
                |ct| match ct.subtype() {
                    Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
                    None => ct.ctype().to_string(),
                },
            ),
            bytes: part.contents().to_vec(),
        })
        .collect();

    // Header fields without sender, id or content: a fragment, not a message.
    if from.is_none() && message_id.is_none() && body.trim().is_empty() && attachments.is_empty() {
        return Err(ParseError::NotAMessage);
    }

    let automatic = classify(&message, from.as_deref(), &subject);
    Ok(Inbound { from, to, subject, message_id, in_reply_to, text: strip_quoted(&body), attachments, automatic })
}

/// The reply token of a plus-address: for base "support@thaw.example" and to-address
/// "support+k3j4h5@thaw.example" → Some("k3j4h5"). Local part and domain compare
/// case-insensitively; the token is 1..=64 of [A-Za-z0-9_-], returned as written (addresses from
/// [`parse`] are lowercased, so tokens should be issued in lowercase). None otherwise.
pub fn reply_token(base_address: &str, to: &[String]) -> Option<String> {
    let (base_local, base_domain) = base_address.trim().rsplit_once('@')?;
    to.iter().find_map(|address| {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = address.rsplit_once('@')?;
        let (local, token) = local.split_once('+')?;
        let token_ok = (1..=MAX_TOKEN_LEN).contains(&token.len())
            && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        (token_ok && local.eq_ignore_ascii_case(base_local) && domain.eq_ignore_ascii_case(base_domain))
            .then(|| token.to_string())
    })
}

/// Strips quoted earlier mail from a plain-text reply: everything from the first line that
/// starts a quote ("> …", "On … wrote:", "在 … 写道：", an Outlook "-----Original Message-----"
/// or "From:/发件人：" header block, thaw's [`REPLY_MARKER`]) and a signature after "-- ".
/// When that leaves nothing, the holder wrote below the quote: quoted lines are dropped instead.
/// Line ends come out as "\n" (carriage returns before a line break are dropped, however many), so
/// stripping the result again changes nothing.
pub fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').map(|line| line.trim_end_matches('\r')).collect();
    let reply = lines[..first_cut(&lines)].join("\n").trim().to_string();
    if !reply.is_empty() {
        return reply;
    }
    let mut unquoted = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_quote(line) || is_attribution(line) {
            i += 1;
        } else if lines.get(i + 1).is_some_and(|next| is_wrapped_attribution(line, next)) {
            i += 2;
        } else {
            unquoted.push(line);
            i += 1;
        }
    }
    unquoted[..first_cut(&unquoted)].join("\n").trim().to_string()
}

/// The index of the first line that belongs to quoted mail or the signature.
fn first_cut(lines: &[&str]) -> usize {
    for (i, &line) in lines.iter().enumerate() {
        if is_signature_separator(line)
            || is_quote(line)
            || is_reply_marker(line)
            || is_original_separator(line)
            || is_attribution(line)
            || lines.get(i + 1).is_some_and(|next| is_wrapped_attribution(line, next))
            || starts_header_block(lines, i)
        {
            return i;
        }
    }
    lines.len()
}

/// "-- ", the usual signature separator; leading whitespace is allowed because the reply is
/// trimmed at the end, which would otherwise turn an indented "  -- " into one on a second pass.
fn is_signature_separator(line: &str) -> bool {
    line.trim_start() == "-- "
}

fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_reply_marker(line: &str) -> bool {
    let line = line.trim();
    line.contains("请在此线以上回复") || line.to_ascii_lowercase().contains("reply above this line")
}

/// "-----Original Message-----", Foxmail's "------ 原始邮件 ------", Outlook web's underscore rule.
fn is_original_separator(line: &str) -> bool {
    let line = line.trim();
    let dashed = line.starts_with("----")
        && (line.to_ascii_lowercase().contains("original message")
            || line.contains("原始邮件")
            || line.contains("原始郵件"));
    dashed || (line.len() >= 20 && line.bytes().all(|b| b == b'_'))
}

/// "On Mon, 3 Nov 2026 at 10:02, thaw <support@…> wrote:" or "在 2026年11月3日 10:02，thaw 写道：".
fn is_attribution(line: &str) -> bool {
    let line = line.trim();
    (starts_with_ignore_case(line, "on ") && ends_with_ignore_case(line, "wrote:")) || ends_with_xiedao(line)
}

/// The same attribution wrapped by the client over two lines.
fn is_wrapped_attribution(first: &str, second: &str) -> bool {
    let (first, second) = (first.trim(), second.trim());
    if first.is_empty() || second.is_empty() {
        return false;
    }
    (starts_with_ignore_case(first, "on ") && ends_with_ignore_case(second, "wrote:"))
        || (first.starts_with('在') && ends_with_xiedao(second))
}

fn ends_with_xiedao(line: &str) -> bool {
    line.ends_with("写道：") || line.ends_with("写道:")
}

/// Header keys that follow "From:" / "发件人：" in a quoted Outlook or Foxmail header block.
const QUOTED_HEADER_KEYS: &[&str] =
    &["sent", "date", "to", "cc", "subject", "发送时间", "时间", "日期", "收件人", "抄送", "主题"];

/// A quoted header block: after a blank line, "From:" or "发件人：" followed within a few lines
/// by another header (Sent, To, Subject, 收件人, 主题 …), so an ordinary "From: …" line stays.
fn starts_header_block(lines: &[&str], i: usize) -> bool {
    if i == 0 || !lines[i - 1].trim().is_empty() {
        return false;
    }
    let Some(key) = header_key(lines[i]) else { return false };
    if key != "from" && key != "发件人" {
        return false;
    }
    lines[i + 1..]
        .iter()
        .take(4)
        .filter_map(|line| header_key(line))
        .any(|key| QUOTED_HEADER_KEYS.contains(&key.as_str()))
}

/// The lowercased key of a "Key: value" or "键：值" line, when short enough to be one.
fn header_key(line: &str) -> Option<String> {
    let line = line.trim_start();
    let end = line.find([':', '：'])?;
    let key = line[..end].trim();
    (!key.is_empty() && key.chars().count() <= 20).then(|| key.to_lowercase())
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len() && s.get(s.len() - suffix.len()..).is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

/// Subject prefixes of automatic answers, lowercase.
const AUTO_REPLY_SUBJECTS: &[&str] = &["auto:", "automatic reply:", "out of office", "自动回复", "自动答复"];

/// Bounces first (strong signals), then auto-replies, then bulk mail; an empty Return-Path
/// comes last because RFC 3834 auto-replies are sent with one too.
fn classify(message: &Message<'_>, from: Option<&str>, subject: &str) -> Option<Automatic> {
    let content_type =
        header_values(message, "Content-Type").into_iter().next().map(|v| compact(&v)).unwrap_or_default();
    if content_type.starts_with("multipart/report") {
        // A read receipt is a report too, but the holder's client sent it, not a mail server.
        if content_type.contains("report-type=disposition-notification") {
            return Some(Automatic::AutoReply);
        }
        return Some(Automatic::Bounce);
    }
    if let Some(from) = from {
        let local = from.split_once('@').map_or(from, |(local, _)| local);
        if local == "mailer-daemon" || local == "postmaster" {
            return Some(Automatic::Bounce);
        }
    }

    let auto_submitted = header_values(message, "Auto-Submitted").into_iter().any(|value| {
        let keyword = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        keyword != "no"
    });
    // X-Auto-Response-Suppress is ignored: Outlook sets it on mail people write.
    let precedence: Vec<String> =
        header_values(message, "Precedence").iter().map(|v| v.trim().to_ascii_lowercase()).collect();
    let subject = subject.trim().to_lowercase();
    if auto_submitted
        || has_header(message, "X-Autoreply")
        || has_header(message, "X-Autorespond")
        || precedence.iter().any(|p| p == "auto_reply")
        || AUTO_REPLY_SUBJECTS.iter().any(|&prefix| subject.starts_with(prefix))
    {
        return Some(Automatic::AutoReply);
    }

    if precedence.iter().any(|p| matches!(p.as_str(), "bulk" | "junk" | "list"))
        || has_header(message, "List-Id")
        || has_header(message, "List-Unsubscribe")
    {
        return Some(Automatic::Bulk);
    }

    if header_values(message, "Return-Path").iter().any(|value| compact(value) == "<>") {
        return Some(Automatic::Bounce);
    }
    None
}

/// The raw values of a top-level header field, trimmed, in message order (names compare
/// case-insensitively). Raw, so checks do not depend on how the parser types a field.
fn header_values(message: &Message<'_>, name: &str) -> Vec<String> {
    message
        .headers_raw()
        .filter(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_string())
        .collect()
}

fn has_header(message: &Message<'_>, name: &str) -> bool {
    message.headers_raw().any(|(field, _)| field.eq_ignore_ascii_case(name))
}

/// Lowercase, without whitespace (folding included) or quotes.
fn compact(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace() && *c != '"').flat_map(char::to_lowercase).collect()
}

/// The bare addresses of an address field, lowercased.
fn addresses(field: Option<&Address<'_>>) -> Vec<String> {
    let Some(field) = field else { return Vec::new() };
    let mut found = Vec::new();
    if let Some(list) = field.as_list() {
        found.extend(list.iter().filter_map(|addr| addr.address()).filter_map(bare_address));
    } else if let Some(groups) = field.as_group() {
        let members = groups.iter().flat_map(|group| group.addresses.iter());
        found.extend(members.filter_map(|addr| addr.address()).filter_map(bare_address));
    }
    found
}

/// Without surrounding whitespace or angle brackets, however they nest ("< <a@b> >").
fn unbracketed(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '<' || c == '>')
}

fn bare_address(address: &str) -> Option<String> {
    let address = unbracketed(address);
    (!address.is_empty()).then(|| address.to_lowercase())
}

/// An envelope header's address ("support+k3j4h5@thaw.example" or "<…>"), lowercased.
fn envelope_address(value: &str) -> Option<String> {
    let inner = match (value.find('<'), value.rfind('>')) {
        (Some(start), Some(end)) if start < end => &value[start + 1..end],
        _ => value,
    };
    let address = inner.split_whitespace().next()?;
    if address.contains('@') { bare_address(address) } else { None }
}

fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<String> = match value {
        HeaderValue::Text(id) => vec![bare_id(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| bare_id(id)).collect(),
        _ => Vec::new(),
    };
    ids.into_iter().filter(|id| !id.is_empty()).collect()
}

fn bare_id(id: &str) -> String {
    unbracketed(id).to_string()
}

fn push_new(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Skips the mbox "From sender date" line some delivery agents put before the headers.
fn skip_envelope_line(raw: &[u8]) -> &[u8] {
    if !raw.starts_with(b"From ") {
        return raw;
    }
    match raw.iter().position(|&b| b == b'\n') {
        Some(end) => raw.get(end + 1..).unwrap_or_default(),
        None => raw,
    }
}

/// Whether the first line is a header field: a name of printable ASCII without spaces, then ':'.
fn starts_with_header_field(raw: &[u8]) -> bool {
    let line = raw.split(|&b| b == b'\n').next().unwrap_or_default();
    let Some(colon) = line.iter().position(|&b| b == b':') else { return false };
    colon > 0 && line[..colon].iter().all(|b| (33..=126).contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_BASE64: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    /// PNG_BASE64, decoded.
    const PNG: [u8; 70] = [
        137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 31, 21,
        196, 137, 0, 0, 0, 13, 73, 68, 65, 84, 120, 218, 99, 100, 96, 248, 95, 15, 0, 2, 135, 1, 128, 235, 71, 186,
        146, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
    ];

    /// A holder's short reply with extra header lines (each ending in \r\n) and a subject.
    fn reply_with(extra_headers: &str, subject: &str) -> String {
        format!(
            "From: Li Wei <li.wei@example.com>\r\n\
             To: support+k3j4h5@thaw.example\r\n\
             Subject: {subject}\r\n\
             Message-ID: <r1@mail.example.com>\r\n\
             {extra_headers}\
             Content-Type: text/plain; charset=UTF-8\r\n\
             \r\n\
             Thanks, I have done it.\r\n"
        )
    }

    fn automatic_of(raw: &str) -> Option<Automatic> {
        parse(raw.as_bytes()).expect("a message").automatic
    }

    #[test]
    fn a_plain_reply_keeps_only_the_new_text_above_a_gmail_quote() {
        let raw = concat!(
            "Return-Path: <li.wei@example.com>\r\n",
            "Delivered-To: support+k3j4h5@thaw.example\r\n",
            "From: Li Wei <Li.Wei@Example.com>\r\n",
            "To: thaw Support <support+k3j4h5@thaw.example>\r\n",
            "Cc: Wang Fang <WANG.FANG@example.com>\r\n",
            "Subject: Re: Your case C-1042\r\n",
            "Message-ID: <CAF=abc123@mail.gmail.com>\r\n",
            "X-Auto-Response-Suppress: All\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=UTF-8\r\n",
            "\r\n",
            "Here is my passport photo.\r\n",
            "It was me who signed in from Berlin.\r\n",
            "\r\n",
            "On Mon, 3 Nov 2026 at 10:02, thaw <support+k3j4h5@thaw.example>\r\n",
            "wrote:\r\n",
            "\r\n",
            "> ## 请在此线以上回复 / Reply above this line ##\r\n",
            "> Please upload a photo of your passport.\r\n",
        );
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.text, "Here is my passport photo.\nIt was me who signed in from Berlin.");
        assert_eq!(mail.from.as_deref(), Some("li.wei@example.com"));
        assert_eq!(mail.to, vec!["support+k3j4h5@thaw.example".to_string(), "wang.fang@example.com".to_string()]);
        assert_eq!(mail.subject, "Re: Your case C-1042");
        assert_eq!(mail.message_id.as_deref(), Some("CAF=abc123@mail.gmail.com"));
        assert!(mail.attachments.is_empty());
        assert_eq!(mail.automatic, None, "a human reply, Outlook's X-Auto-Response-Suppress notwithstanding");
    }

    #[test]
    fn a_chinese_quoted_printable_body_and_base64_subject_are_decoded() {
        let raw = concat!(
            "From: =?UTF-8?B?5p2O5Lyf?= <li.wei@example.com>\r\n",
            "To: support+k3j4h5@thaw.example\r\n",
            "Subject: =?UTF-8?B?5Zue5aSN77ya6LSm5oi35Ya757uT55Sz6K+J?=\r\n",
            "Message-ID: <zh1@mail.example.com>\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=UTF-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "=E6=82=A8=E5=A5=BD=EF=BC=8C=E6=88=91=E5=B7=B2=E7=BB=8F=E4=B8=8A=E4=BC=A0=E4=\r\n",
            "=BA=86=E8=BA=AB=E4=BB=BD=E8=AF=81=E7=85=A7=E7=89=87=E3=80=82\r\n",
            "\r\n",
            "=E5=9C=A8 2026=E5=B9=B411=E6=9C=883=E6=97=A5 10:02=EF=BC=8Cthaw <support@th=\r\n",
            "aw.example> =E5=86=99=E9=81=93=EF=BC=9A\r\n",
            "> =E8=AF=B7=E4=B8=8A=E4=BC=A0=E8=AF=81=E4=BB=B6=E7=85=A7=E7=89=87=E3=80=82\r\n",
        );
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.subject, "回复：账户冻结申诉");
        assert_eq!(mail.text, "您好，我已经上传了身份证照片。");
        assert_eq!(mail.automatic, None);
    }

    #[test]
    fn an_html_only_alternative_becomes_text_without_tags_or_the_quote() {
        let raw = concat!(
            "From: Li Wei <li.wei@example.com>\r\n",
            "To: support+k3j4h5@thaw.example\r\n",
            "Subject: Re: documents\r\n",
            "Message-ID: <h1@mail.example.com>\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/alternative; boundary=\"alt\"\r\n",
            "\r\n",
            "--alt\r\n",
            "Content-Type: text/html; charset=UTF-8\r\n",
            "\r\n",
            "<html><body><div>I have sent the <b>documents</b>.<br></div>",
            "<div>On Mon, 3 Nov 2026 at 10:02, thaw &lt;support@thaw.example&gt; wrote:<br></div>",
            "<blockquote>Please upload your ID.</blockquote></body></html>\r\n",
            "--alt--\r\n",
        );
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.text, "I have sent the documents.");
        assert!(!mail.text.contains('<'), "{}", mail.text);
        assert!(mail.attachments.is_empty(), "the HTML body is not an attachment");
    }

    #[test]
    fn a_png_attachment_keeps_its_name_type_and_bytes() {
        let raw = format!(
            "From: Li Wei <li.wei@example.com>\r\n\
             To: support+k3j4h5@thaw.example\r\n\
             Subject: Re: ID photo\r\n\
             Message-ID: <a1@mail.example.com>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"mix\"\r\n\
             \r\n\
             --mix\r\n\
             Content-Type: text/plain; charset=UTF-8\r\n\
             \r\n\
             Here is the photo of my ID.\r\n\
             --mix\r\n\
             Content-Type: image/png; name=\"id-card.png\"\r\n\
             Content-Disposition: attachment; filename=\"id-card.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n\
             {PNG_BASE64}\r\n\
             --mix--\r\n"
        );
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.text, "Here is the photo of my ID.");
        assert_eq!(
            mail.attachments,
            vec![Attachment { filename: "id-card.png".into(), content_type: "image/png".into(), bytes: PNG.to_vec() }]
        );
    }

    #[test]
    fn in_reply_to_then_references_without_brackets_or_repeats() {
        let raw = reply_with(
            "In-Reply-To: <case-3@thaw.example>\r\nReferences: <case-1@thaw.example>\r\n <case-2@thaw.example> <case-3@thaw.example>\r\n",
            "Re: Your case",
        );
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.in_reply_to, vec!["case-3@thaw.example", "case-1@thaw.example", "case-2@thaw.example"]);
        assert_eq!(mail.message_id.as_deref(), Some("r1@mail.example.com"));
    }

    #[test]
    fn a_plain_human_reply_is_not_automatic() {
        let mail = parse(reply_with("", "Re: Your case").as_bytes()).unwrap();
        assert_eq!(mail.automatic, None);
        assert_eq!(mail.text, "Thanks, I have done it.");
    }

    #[test]
    fn a_delivery_status_report_is_a_bounce() {
        let raw = concat!(
            "From: Mail Delivery System <delivery@mx.example.net>\r\n",
            "To: support+k3j4h5@thaw.example\r\n",
            "Subject: Undelivered Mail Returned to Sender\r\n",
            "Message-ID: <b1@mx.example.net>\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/report; report-type=delivery-status;\r\n",
            "\tboundary=\"rep\"\r\n",
            "\r\n",
            "--rep\r\n",
            "Content-Type: text/plain\r\n",
            "\r\n",
            "The mail could not be delivered.\r\n",
            "--rep\r\n",
            "Content-Type: message/delivery-status\r\n",
            "\r\n",
            "Final-Recipient: rfc822; li.wei@example.com\r\n",
            "Action: failed\r\n",
            "--rep--\r\n",
        );
        assert_eq!(automatic_of(raw), Some(Automatic::Bounce));
    }

    #[test]
    fn a_read_receipt_report_is_an_auto_reply() {
        let raw = concat!(
            "From: Li Wei <li.wei@example.com>\r\n",
            "To: support+k3j4h5@thaw.example\r\n",
            "Subject: Read: Your case\r\n",
            "Message-ID: <mdn1@mail.example.com>\r\n",
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"mdn\"\r\n",
            "\r\n",
            "--mdn\r\n",
            "Content-Type: text/plain\r\n",
            "\r\n",
            "Your message was read.\r\n",
            "--mdn--\r\n",
        );
        assert_eq!(automatic_of(raw), Some(Automatic::AutoReply));
    }

    #[test]
    fn mail_from_mailer_daemon_or_postmaster_is_a_bounce() {
        let daemon =
            reply_with("", "Delivery failure").replace("Li Wei <li.wei@example.com>", "MAILER-DAEMON@mx.example.net");
        assert_eq!(automatic_of(&daemon), Some(Automatic::Bounce));
        let postmaster = reply_with("", "Delivery failure").replace("li.wei@example.com", "Postmaster@example.org");
        assert_eq!(automatic_of(&postmaster), Some(Automatic::Bounce));
    }

    #[test]
    fn an_empty_return_path_is_a_bounce() {
        assert_eq!(automatic_of(&reply_with("Return-Path: <>\r\n", "Re: Your case")), Some(Automatic::Bounce));
    }

    #[test]
    fn an_auto_reply_with_an_empty_return_path_is_still_an_auto_reply() {
        let raw = reply_with("Return-Path: <>\r\nAuto-Submitted: auto-replied\r\n", "Re: Your case");
        assert_eq!(automatic_of(&raw), Some(Automatic::AutoReply));
    }

    #[test]
    fn auto_submitted_other_than_no_is_an_auto_reply() {
        assert_eq!(
            automatic_of(&reply_with("Auto-Submitted: auto-replied\r\n", "Re: Your case")),
            Some(Automatic::AutoReply)
        );
        assert_eq!(
            automatic_of(&reply_with("Auto-Submitted: Auto-Generated; type=notice\r\n", "Re: Your case")),
            Some(Automatic::AutoReply)
        );
        assert_eq!(automatic_of(&reply_with("Auto-Submitted: No\r\n", "Re: Your case")), None);
    }

    #[test]
    fn x_autoreply_and_x_autorespond_are_auto_replies() {
        assert_eq!(automatic_of(&reply_with("X-Autoreply: yes\r\n", "Re: Your case")), Some(Automatic::AutoReply));
        assert_eq!(
            automatic_of(&reply_with("X-Autorespond: Re: Your case\r\n", "Re: Your case")),
            Some(Automatic::AutoReply)
        );
    }

    #[test]
    fn outlooks_auto_response_suppress_alone_is_not_automatic() {
        assert_eq!(automatic_of(&reply_with("X-Auto-Response-Suppress: All\r\n", "Re: Your case")), None);
        assert_eq!(automatic_of(&reply_with("X-Auto-Response-Suppress: OOF, AutoReply\r\n", "Re: Your case")), None);
    }

    #[test]
    fn precedence_auto_reply_is_an_auto_reply() {
        assert_eq!(
            automatic_of(&reply_with("Precedence: auto_reply\r\n", "Re: Your case")),
            Some(Automatic::AutoReply)
        );
    }

    #[test]
    fn auto_reply_subjects_are_recognised_in_any_case() {
        for subject in [
            "Auto: Re: Your case",
            "Automatic reply: Your case",
            "OUT OF OFFICE until Monday",
            "自动回复：您的案件",
            "自动答复: Your case",
        ] {
            assert_eq!(automatic_of(&reply_with("", subject)), Some(Automatic::AutoReply), "{subject}");
        }
        assert_eq!(automatic_of(&reply_with("", "Re: Auto: not at the start")), None);
    }

    #[test]
    fn bulk_precedence_and_list_headers_are_bulk() {
        for header in [
            "Precedence: bulk\r\n",
            "Precedence: junk\r\n",
            "Precedence: List\r\n",
            "List-Id: <news.example.com>\r\n",
            "List-Unsubscribe: <mailto:leave@example.com>\r\n",
        ] {
            assert_eq!(automatic_of(&reply_with(header, "Weekly news")), Some(Automatic::Bulk), "{header}");
        }
    }

    #[test]
    fn automatic_codes_are_stable() {
        assert_eq!(Automatic::AutoReply.code(), "auto_reply");
        assert_eq!(Automatic::Bounce.code(), "bounce");
        assert_eq!(Automatic::Bulk.code(), "bulk");
    }

    #[test]
    fn empty_input_is_empty() {
        assert_eq!(parse(b"").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b" \r\n\r\n").unwrap_err(), ParseError::Empty);
        assert_eq!(ParseError::Empty.code(), "empty_message");
    }

    #[test]
    fn text_without_headers_is_not_a_message() {
        let err = parse(b"this is not an email at all\r\njust some words\r\n").unwrap_err();
        assert_eq!(err, ParseError::NotAMessage);
        assert_eq!(err.code(), "not_a_message");
        assert!(err.message().contains("not an email"));
    }

    #[test]
    fn headers_without_sender_id_or_content_are_not_a_message() {
        assert_eq!(parse(b"X-Thing: 1\r\n\r\n").unwrap_err(), ParseError::NotAMessage);
    }

    #[test]
    fn an_mbox_envelope_line_before_the_headers_is_skipped() {
        let raw = format!("From li.wei@example.com Mon Nov  3 10:02:00 2026\r\n{}", reply_with("", "Re: Your case"));
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.from.as_deref(), Some("li.wei@example.com"));
        assert_eq!(mail.text, "Thanks, I have done it.");
    }

    #[test]
    fn reply_token_is_read_from_a_plus_address() {
        let to = vec!["li.wei@example.com".to_string(), "support+k3j4h5@thaw.example".to_string()];
        assert_eq!(reply_token("support@thaw.example", &to).as_deref(), Some("k3j4h5"));
        let shouted = vec!["<Support+Ab_9-x@THAW.Example>".to_string()];
        assert_eq!(reply_token("support@thaw.example", &shouted).as_deref(), Some("Ab_9-x"));
        let longest = format!("support+{}@thaw.example", "a".repeat(64));
        assert_eq!(reply_token("support@thaw.example", &[longest]), Some("a".repeat(64)));
    }

    #[test]
    fn reply_token_refuses_other_addresses_and_bad_tokens() {
        let none = |to: &str| reply_token("support@thaw.example", &[to.to_string()]);
        assert_eq!(none("support+k3j4h5@other.example"), None, "wrong domain");
        assert_eq!(none("sales+k3j4h5@thaw.example"), None, "wrong local part");
        assert_eq!(none("support@thaw.example"), None, "no plus");
        assert_eq!(none("support+@thaw.example"), None, "empty token");
        assert_eq!(none("support+k3j.4h5@thaw.example"), None, "bad character");
        assert_eq!(none("support+k3j4h5+x@thaw.example"), None, "second plus");
        assert_eq!(none(&format!("support+{}@thaw.example", "a".repeat(65))), None, "too long");
        assert_eq!(reply_token("not-an-address", &["support+k3j4h5@thaw.example".to_string()]), None);
        assert_eq!(reply_token("support@thaw.example", &[]), None);
    }

    #[test]
    fn strip_quoted_stops_at_the_first_quoted_line() {
        assert_eq!(strip_quoted("Line one\r\n> quoted\r\nafter the quote\r\n"), "Line one");
    }

    #[test]
    fn strip_quoted_stops_at_thaws_reply_marker() {
        let text = format!("Yes, it was me.\n\n{REPLY_MARKER}\nYour case C-1042 was updated.\n");
        assert_eq!(strip_quoted(&text), "Yes, it was me.");
    }

    #[test]
    fn strip_quoted_stops_at_chinese_attributions_on_one_or_two_lines() {
        assert_eq!(
            strip_quoted("收到，谢谢。\n\n在 2026年11月3日 10:02，thaw <support@thaw.example> 写道:\n请上传"),
            "收到，谢谢。"
        );
        assert_eq!(
            strip_quoted("收到\n\n在 2026年11月3日 10:02，thaw <support@\nthaw.example> 写道：\n请上传"),
            "收到"
        );
    }

    #[test]
    fn strip_quoted_stops_at_outlook_and_foxmail_headers() {
        let outlook = "Please see the attachment.\n\n-----Original Message-----\nFrom: thaw <support@thaw.example>\nSent: Monday\n";
        assert_eq!(strip_quoted(outlook), "Please see the attachment.");
        let block = "已补充材料。\n\n发件人： thaw <support@thaw.example>\n发送时间： 2026年11月3日 10:02\n收件人： 李伟\n主题： 案件更新\n旧内容";
        assert_eq!(strip_quoted(block), "已补充材料。");
        let english =
            "Done.\n\nFrom: thaw <support@thaw.example>\nSent: Monday, November 3, 2026 10:02\nTo: Li Wei\nold";
        assert_eq!(strip_quoted(english), "Done.");
        let foxmail = "好的\n\n------------------ 原始邮件 ------------------\n发件人: thaw\n";
        assert_eq!(strip_quoted(foxmail), "好的");
    }

    #[test]
    fn strip_quoted_keeps_an_ordinary_from_line() {
        let text = "Hello\nFrom: my old phone I cannot sign in\nthanks";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn strip_quoted_drops_the_signature() {
        assert_eq!(strip_quoted("Thanks\r\n-- \r\nLi Wei\r\nSent from my phone\r\n"), "Thanks");
    }

    #[test]
    fn nested_brackets_and_spaces_around_addresses_and_ids_are_removed() {
        // Found by fuzzing: "<<< <li.wei@…>" kept a "<" in front of the address.
        let raw = "From: Li Wei <<< <li.wei@example.com>\r\nMessage-ID: < <m1@mail.example.com> >\r\n\r\nHello\r\n";
        let mail = parse(raw.as_bytes()).unwrap();
        assert_eq!(mail.from.as_deref(), Some("li.wei@example.com"));
        assert_eq!(bare_address(" < <Li.Wei@Example.com> > "), Some("li.wei@example.com".to_string()));
        assert_eq!(bare_id("< <m1@mail.example.com> >"), "m1@mail.example.com");
    }

    #[test]
    fn strip_quoted_drops_stray_carriage_returns_and_is_stable() {
        // Found by fuzzing: "\r\r\n" used to leave a "\r" line that a second pass removed.
        let once = strip_quoted("Done.\n\r\r\nThanks\r\n");
        assert_eq!(once, "Done.\n\nThanks");
        assert_eq!(strip_quoted(&once), once);
    }

    #[test]
    fn an_indented_signature_separator_is_one_too() {
        // Found by fuzzing: the final trim turned "\r-- " into "-- ", cut on a second pass.
        let text = "On Mon, 3 Nov 2026 at 10:02, thaw <support@thaw.example>\r\nwrote:\r\n\r\n\r-- \nLi";
        let once = strip_quoted(text);
        assert_eq!(once, "");
        assert_eq!(strip_quoted(&once), once);
        assert_eq!(strip_quoted("Thanks\n  -- \nLi Wei"), "Thanks");
    }

    #[test]
    fn strip_quoted_keeps_a_reply_written_below_the_quote() {
        let text = "On Mon, 3 Nov 2026, thaw wrote:\n> Was this you?\n\nYes, it was me.\n-- \nLi Wei";
        assert_eq!(strip_quoted(text), "Yes, it was me.");
    }
}
