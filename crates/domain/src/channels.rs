//! Official channels: the domains, email senders, phone numbers, social handles and staff agent IDs
//! an exchange really uses, and [`check`], which tells a user whether something they were sent is one
//! of them, only imitates one (and by which tricks), or is simply not ours.
//!
//! A value is official only when, once normalised, it is a registered one character for character.
//! Resemblance through confusable characters, typos, extra words, another top-level domain or a
//! misleading part of a link makes it a look-alike, never official.

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// The field every rejection names: the value being checked or registered.
const FIELD: &str = "value";
/// The longest input accepted, in characters.
pub const MAX_INPUT_CHARS: usize = 500;
const MIN_PHONE_DIGITS: usize = 6;
/// E.164's limit.
const MAX_PHONE_DIGITS: usize = 15;
/// One character changed in a shorter name is just another name.
const MIN_LEN_FOR_TYPO: usize = 3;
/// Shorter brands occur inside too many ordinary words to flag `thawsecure`-style names.
const MIN_LEN_FOR_WORDS: usize = 4;
const MAX_HANDLE_CHARS: usize = 64;
const MAX_AGENT_ID_CHARS: usize = 64;
const MAX_LABEL_CHARS: usize = 100;

/// Second-level suffixes under which names are registered (`thaw.co.uk`), so that the brand is the
/// label before them. A short list instead of the public-suffix list: enough for look-alike checks.
const TWO_LABEL_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "com.cn", "net.cn", "org.cn", "com.hk", "com.tw", "com.sg", "com.my",
    "com.au", "net.au", "co.jp", "co.kr", "co.nz", "co.za", "co.in", "co.id", "com.br", "com.tr", "com.mx", "com.ar",
    "com.ph", "com.vn", "co.th", "com.ua",
];

/// Social sites whose profile links are checked as handles: (host, platform).
const SOCIAL_SITES: &[(&str, &str)] = &[
    ("x.com", "x"),
    ("twitter.com", "x"),
    ("t.me", "telegram"),
    ("telegram.me", "telegram"),
    ("telegram.dog", "telegram"),
    ("instagram.com", "instagram"),
    ("youtube.com", "youtube"),
    ("facebook.com", "facebook"),
    ("fb.com", "facebook"),
    ("tiktok.com", "tiktok"),
    ("linkedin.com", "linkedin"),
    ("github.com", "github"),
    ("medium.com", "medium"),
];

/// Other names admins may give a platform when registering a handle.
const PLATFORM_ALIASES: &[(&str, &str)] =
    &[("twitter", "x"), ("tg", "telegram"), ("ig", "instagram"), ("yt", "youtube"), ("fb", "facebook")];

/// First path segments of social sites that are pages of the site, not profiles.
const RESERVED_PATHS: &[&str] = &[
    "home",
    "explore",
    "search",
    "i",
    "intent",
    "share",
    "settings",
    "messages",
    "notifications",
    "hashtag",
    "login",
    "signup",
    "joinchat",
    "addstickers",
    "watch",
    "channel",
    "p",
    "reel",
    "reels",
    "stories",
    "groups",
    "pages",
    "profile.php",
    "events",
    "about",
    "help",
    "privacy",
];

/// What kind of channel a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A website's domain; its subdomains are official too.
    Domain,
    /// A full sender address; a registered domain does not make every address at it official.
    Email,
    Phone,
    /// A social account, registered as `platform:handle` (`x:thaw_official`).
    Handle,
    /// A staff member's public agent ID (`THAW-A1234`).
    AgentId,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] =
        [ChannelKind::Domain, ChannelKind::Email, ChannelKind::Phone, ChannelKind::Handle, ChannelKind::AgentId];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Domain => "domain",
            ChannelKind::Email => "email",
            ChannelKind::Phone => "phone",
            ChannelKind::Handle => "handle",
            ChannelKind::AgentId => "agent_id",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|kind| kind.as_str() == s)
    }
}

/// A channel an admin registered. `value` is normalised by [`normalise_registration`]; `label` is
/// what users are shown, such as "Website" or "X (Twitter)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialChannel {
    pub kind: ChannelKind,
    pub value: String,
    pub label: String,
}

impl OfficialChannel {
    /// A registration: `raw` normalised for `kind`, and a label of 1 to 100 characters.
    pub fn new(kind: ChannelKind, raw: &str, label: &str) -> Result<OfficialChannel, Invalid> {
        let value = normalise_registration(kind, raw)?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(Invalid::new(
                "label",
                "invalid_label",
                "a label is 1 to 100 characters on one line, e.g. Website or X (Twitter)",
            ));
        }
        Ok(OfficialChannel { kind, value, label: label.to_string() })
    }
}

/// How an input imitates an official channel. Each has a stable code ([`Trick::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trick {
    /// The host is written in punycode (`xn--`), which hides the characters it decodes to.
    Punycode,
    /// Characters that pass for others: Cyrillic or Greek letters, full-width forms, accents,
    /// invisible characters, `0` for `o`, `1` for `l`, `rn` for `m`, `vv` for `w`.
    Confusables,
    /// One word mixes alphabets, such as Latin with Cyrillic.
    MixedScripts,
    /// The official name with words added: `thaw-support.com`, `thaw_official_help`.
    ExtraWords,
    /// One character added, dropped or changed, or two neighbours swapped.
    Typo,
    /// The official name under another top-level domain: `thaw.co` for `thaw.com`.
    OtherTld,
    /// The official name left of someone else's domain: `thaw.com.evil.io`, `thaw.evil.io`.
    SubdomainOfOther,
    /// The official name before the `@` of a link, which browsers take as a user name and skip:
    /// `https://thaw.com@evil.io` leads to evil.io.
    UserInfo,
    /// An email whose display name names the brand while its address is not official.
    DisplayNameOnly,
    /// An email at someone else's domain whose mailbox names the brand: `thaw.support@gmail.com`.
    BrandInMailbox,
    /// An official handle's name on a platform where it is not registered.
    OtherPlatform,
}

impl Trick {
    pub const ALL: [Trick; 11] = [
        Trick::Punycode,
        Trick::Confusables,
        Trick::MixedScripts,
        Trick::ExtraWords,
        Trick::Typo,
        Trick::OtherTld,
        Trick::SubdomainOfOther,
        Trick::UserInfo,
        Trick::DisplayNameOnly,
        Trick::BrandInMailbox,
        Trick::OtherPlatform,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trick::Punycode => "punycode",
            Trick::Confusables => "confusables",
            Trick::MixedScripts => "mixed_scripts",
            Trick::ExtraWords => "extra_words",
            Trick::Typo => "typo",
            Trick::OtherTld => "other_tld",
            Trick::SubdomainOfOther => "subdomain_of_other",
            Trick::UserInfo => "user_info",
            Trick::DisplayNameOnly => "display_name_only",
            Trick::BrandInMailbox => "brand_in_mailbox",
            Trick::OtherPlatform => "other_platform",
        }
    }

    pub fn parse(s: &str) -> Option<Trick> {
        Trick::ALL.into_iter().find(|trick| trick.as_str() == s)
    }
}

/// The answer to "is this official?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The input is, or for a domain lies under, the registered value `matched`.
    Official { kind: ChannelKind, matched: String },
    /// The input is not official but imitates the registered value `imitates`.
    LookAlike { kind: ChannelKind, imitates: String, tricks: Vec<Trick> },
    /// The input is neither official nor like any official channel.
    NotOfficial { kind: ChannelKind },
}

impl Verdict {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Verdict::Official { kind, .. } | Verdict::LookAlike { kind, .. } | Verdict::NotOfficial { kind } => *kind,
        }
    }

    /// The outcome's stable code: `official`, `look_alike` or `not_official`.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Official { .. } => "official",
            Verdict::LookAlike { .. } => "look_alike",
            Verdict::NotOfficial { .. } => "not_official",
        }
    }

    pub fn is_official(&self) -> bool {
        matches!(self, Verdict::Official { .. })
    }
}

/// The stored form of a channel an admin registers:
/// - domain: a domain or a link to it, lowercased, without `www.` or trailing dots, `xn--` labels
///   decoded to Unicode; at least two labels; not an IP address (an official site has a name);
/// - email: `local@domain` lowercased, the domain as above (a `Name <address>` form is accepted);
/// - phone: `+` and 6 to 15 digits; `00` counts as `+`; spaces, dashes, dots and brackets dropped;
/// - handle: `platform:handle` (`twitter:@Thaw` gives `x:thaw`) or a profile link on a known site;
/// - agent ID: upper case, letters, digits, dashes and underscores.
pub fn normalise_registration(kind: ChannelKind, raw: &str) -> Result<String, Invalid> {
    let s = clean_input(raw)?;
    match kind {
        ChannelKind::Domain => register_domain(s),
        ChannelKind::Email => register_email(s),
        ChannelKind::Phone => phone_digits(s).ok_or_else(invalid_phone).and_then(|digits| phone_value(&digits)),
        ChannelKind::Handle => register_handle(s),
        ChannelKind::AgentId => register_agent_id(s),
    }
}

/// Whether `input` is an official channel. `official` holds registered channels (values from
/// [`normalise_registration`]); `agent_ids` the staff's public agent IDs, in any case.
///
/// The kind is read from the input, in this order: a registered agent ID (or one written with
/// confusable characters); a phone number (digits with spaces, dashes, dots, brackets, a leading `+`
/// or `tel:`); `@handle`; an email address (`a@b`, `Name <a@b>`, `mailto:`); something written like an
/// agent ID (`ABC-123`); a single word without a dot, taken as a handle on any platform; otherwise a
/// link or bare domain, where a profile link on a known social site is checked as a handle.
pub fn check(official: &[OfficialChannel], agent_ids: &[String], input: &str) -> Result<Verdict, Invalid> {
    let s = clean_input(input)?;
    if let Some(verdict) = check_registered_agent_id(agent_ids, s) {
        return Ok(verdict);
    }
    if let Some(digits) = phone_digits(s) {
        return check_phone(official, &digits);
    }
    if let Some(name) = s.strip_prefix('@') {
        let name = handle_name(name).ok_or_else(invalid_handle)?;
        return Ok(check_handle(official, None, &name));
    }
    if let Some((display, address)) = email_parts(s) {
        return Ok(check_email(official, display, address));
    }
    if looks_like_agent_id(s) {
        return Ok(Verdict::NotOfficial { kind: ChannelKind::AgentId });
    }
    if !s.contains('.')
        && let Some(name) = handle_name(s)
    {
        return Ok(check_handle(official, None, &name));
    }
    let link = split_link(s).ok_or_else(|| {
        Invalid::new(FIELD, "unrecognised", "paste one link, email address, phone number, handle or agent ID")
    })?;
    let host = Host::parse(link.host, true);
    if let Some(platform) = social_platform(&host.text)
        && let Some(name) = profile_handle(platform, link.path)
    {
        return Ok(check_handle(official, Some(platform), &name));
    }
    Ok(check_domain(official, &host, link.userinfo))
}

/// The text folded to the ASCII it passes for: lowercased, confusable letters and full-width,
/// mathematical and small-capital forms replaced by the letters they imitate, accents and invisible
/// characters dropped, ideographic dots read as `.`, then `rn` read as `m` and `vv` as `w`. Two texts
/// that look alike share a skeleton.
pub fn skeleton(text: &str) -> String {
    let folded: String = text.chars().flat_map(char::to_lowercase).filter_map(fold).collect();
    folded.replace("rn", "m").replace("vv", "w")
}

/// The Unicode form of an `xn--` label (RFC 3492), or `None` when `label` is not one or does not
/// decode.
pub fn punycode_label(label: &str) -> Option<String> {
    punycode::decode(strip_prefix_ignore_case(label, "xn--")?)
}

// ---- input -------------------------------------------------------------------------------------

fn clean_input(raw: &str) -> Result<&str, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::new(FIELD, "required", "paste a link, email address, phone number, handle or agent ID"));
    }
    if s.chars().count() > MAX_INPUT_CHARS {
        return Err(Invalid::new(FIELD, "too_long", format!("at most {MAX_INPUT_CHARS} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid::new(
            FIELD,
            "control_characters",
            "contains control characters such as line breaks or tabs; paste a single value",
        ));
    }
    Ok(s)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

fn invalid_phone() -> Invalid {
    Invalid::new(
        FIELD,
        "invalid_phone",
        format!(
            "a phone number is {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits with the country code, \
             written with spaces, dashes, dots or brackets and an optional leading +"
        ),
    )
}

fn invalid_handle() -> Invalid {
    Invalid::new(FIELD, "invalid_handle", "a handle is letters, digits, underscores, dots and dashes")
}

fn invalid_domain(message: &str) -> Invalid {
    Invalid::new(FIELD, "invalid_domain", message)
}

// ---- registration ------------------------------------------------------------------------------

fn register_domain(s: &str) -> Result<String, Invalid> {
    let link = split_link(s).ok_or_else(|| invalid_domain("a domain such as thaw.example, or a link to it"))?;
    if link.userinfo.is_some() {
        return Err(invalid_domain("a link with a user name before @ does not name a domain"));
    }
    let host = Host::parse(link.host, true);
    check_domain_name(&host.text)?;
    Ok(host.text)
}

fn check_domain_name(name: &str) -> Result<(), Invalid> {
    if is_ip(name) {
        return Err(invalid_domain("register the domain name, not an IP address"));
    }
    let labels = split_labels(name);
    if labels.len() < 2 {
        return Err(invalid_domain("a domain has at least two parts separated by a dot, e.g. thaw.example"));
    }
    let bad_label = |label: &&str| {
        label.is_empty()
            || label.chars().count() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || label.starts_with("xn--")
            || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.iter().any(bad_label) {
        return Err(invalid_domain("each part of a domain is letters and digits, with hyphens only inside"));
    }
    Ok(())
}

fn register_email(s: &str) -> Result<String, Invalid> {
    let bad = || Invalid::new(FIELD, "invalid_email", "an email address such as support@thaw.example");
    let (_, address) = email_parts(s).ok_or_else(bad)?;
    let (local, domain) = address.rsplit_once('@').ok_or_else(bad)?;
    let host = Host::parse(domain, false);
    check_domain_name(&host.text).map_err(|_| bad())?;
    Ok(format!("{}@{}", local.to_lowercase(), host.text))
}

fn register_handle(s: &str) -> Result<String, Invalid> {
    let bad = || {
        Invalid::new(
            FIELD,
            "invalid_handle",
            "a handle is registered as platform:handle, e.g. x:thaw_official, or as a link to the profile",
        )
    };
    if let Some(link) = split_link(s)
        && let Some(platform) = social_platform(&Host::parse(link.host, true).text)
    {
        return profile_handle(platform, link.path).map(|name| format!("{platform}:{name}")).ok_or_else(bad);
    }
    let (platform, name) = s.split_once(':').ok_or_else(bad)?;
    let platform = platform.trim().to_lowercase();
    let platform = canonical_platform(&platform);
    if platform.is_empty() || !platform.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    let name = handle_name(name.trim()).ok_or_else(bad)?;
    Ok(format!("{platform}:{name}"))
}

fn canonical_platform(platform: &str) -> &str {
    PLATFORM_ALIASES.iter().find(|(alias, _)| *alias == platform).map_or(platform, |&(_, canonical)| canonical)
}

fn register_agent_id(s: &str) -> Result<String, Invalid> {
    let id = s.to_uppercase();
    if id.chars().count() > MAX_AGENT_ID_CHARS || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Invalid::new(
            FIELD,
            "invalid_agent_id",
            "an agent ID is up to 64 letters, digits, dashes and underscores, e.g. THAW-A1234",
        ));
    }
    Ok(id)
}

// ---- agent IDs ---------------------------------------------------------------------------------

/// A registered agent ID, or one of them written with characters that pass for its own.
fn check_registered_agent_id(agent_ids: &[String], input: &str) -> Option<Verdict> {
    let kind = ChannelKind::AgentId;
    let wanted = input.to_uppercase();
    let mut ids = agent_ids.iter().map(|id| id.trim().to_uppercase()).filter(|id| !id.is_empty());
    if let Some(matched) = ids.clone().find(|id| *id == wanted) {
        return Some(Verdict::Official { kind, matched });
    }
    let wanted_skeleton = skeleton(&wanted);
    let imitates = ids.find(|id| skeleton(id) == wanted_skeleton)?;
    Some(Verdict::LookAlike { kind, imitates, tricks: character_tricks(false, true, input) })
}

/// Written like a staff agent ID: letters, a dash, then letters, digits and dashes with at least
/// one digit (`THAW-A1234`), so that `thaw-support` stays a handle.
fn looks_like_agent_id(s: &str) -> bool {
    let Some((prefix, rest)) = s.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.len() <= 16
        && prefix.chars().all(|c| c.is_ascii_alphabetic())
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && rest.chars().any(|c| c.is_ascii_digit())
}

// ---- phone numbers -----------------------------------------------------------------------------

/// The digits of a number written with spaces, dashes, dots or brackets, with an optional leading
/// `+` (or `00`, the international prefix) and `tel:`; `None` when `s` is not written like a phone
/// number at all. Strict by design: a number without its country code is another number.
fn phone_digits(s: &str) -> Option<String> {
    let s = strip_prefix_ignore_case(s, "tel:").unwrap_or(s).trim();
    if is_ipv4(s) || !s.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut digits = String::new();
    let mut plus = false;
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
            _ => return None,
        }
    }
    if !plus && digits.starts_with("00") {
        digits.replace_range(..2, "");
    }
    Some(digits)
}

fn phone_value(digits: &str) -> Result<String, Invalid> {
    if !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&digits.len()) {
        return Err(invalid_phone());
    }
    Ok(format!("+{digits}"))
}

fn check_phone(official: &[OfficialChannel], digits: &str) -> Result<Verdict, Invalid> {
    let kind = ChannelKind::Phone;
    let value = phone_value(digits)?;
    Ok(match values(official, kind).find(|registered| *registered == value) {
        Some(matched) => Verdict::Official { kind, matched: matched.to_string() },
        None => Verdict::NotOfficial { kind },
    })
}

// ---- handles -----------------------------------------------------------------------------------

/// A handle as compared: lowercase, without a leading `@`.
fn handle_name(raw: &str) -> Option<String> {
    let name = raw.trim_start_matches('@').to_lowercase();
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_HANDLE_CHARS
        && name.chars().all(|c| c.is_alphanumeric() || "_.-".contains(c));
    valid.then_some(name)
}

fn social_platform(host: &str) -> Option<&'static str> {
    SOCIAL_SITES.iter().find(|(site, _)| is_same_or_under(host, site)).map(|&(_, platform)| platform)
}

/// The handle a link on a social site names, if its path is a profile's.
fn profile_handle(platform: &str, path: &str) -> Option<String> {
    let path = path.to_lowercase();
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    let name = match (platform, segments.as_slice()) {
        ("youtube" | "tiktok" | "medium", [first, ..]) if first.starts_with('@') => *first,
        ("youtube", ["c" | "user", name, ..])
        | ("linkedin", ["company" | "in", name, ..])
        | ("telegram", ["s", name, ..]) => *name,
        ("youtube" | "tiktok" | "medium" | "linkedin", _) => return None,
        (_, [first, ..]) if !RESERVED_PATHS.contains(first) => *first,
        _ => return None,
    };
    handle_name(name)
}

struct RegisteredHandle<'a> {
    platform: &'a str,
    name: &'a str,
    value: &'a str,
}

/// `name` against the registered handles: on `platform` when the input named one (a profile
/// link), on any platform for a bare `@handle`.
fn check_handle(official: &[OfficialChannel], platform: Option<&str>, name: &str) -> Verdict {
    let kind = ChannelKind::Handle;
    let registered: Vec<RegisteredHandle<'_>> = values(official, kind)
        .filter_map(|value| value.split_once(':').map(|(platform, name)| RegisteredHandle { platform, name, value }))
        .collect();
    let on_platform = |handle: &RegisteredHandle<'_>| platform.is_none_or(|p| p == handle.platform);
    if let Some(handle) = registered.iter().find(|&handle| handle.name == name && on_platform(handle)) {
        return Verdict::Official { kind, matched: handle.value.to_string() };
    }
    if let Some(handle) = registered.iter().find(|handle| handle.name == name) {
        return Verdict::LookAlike { kind, imitates: handle.value.to_string(), tricks: vec![Trick::OtherPlatform] };
    }
    // Closest first: fewest tricks, then without confusables, then on the same platform, then a
    // registered handle before a brand taken from a domain.
    let mut found = Vec::new();
    for handle in &registered {
        if let Some((tricks, by_skeleton)) = resemble(name, handle.name) {
            let rank = (tricks.len(), by_skeleton, !on_platform(handle), false);
            found.push(Candidate { rank, imitates: handle.value, by_skeleton, tricks });
        }
    }
    for domain in values(official, ChannelKind::Domain) {
        let brand = brand_label(domain);
        if brand.chars().count() >= MIN_LEN_FOR_WORDS
            && let Some((tricks, by_skeleton)) = resemble(name, brand)
        {
            let rank = (tricks.len(), by_skeleton, true, true);
            found.push(Candidate { rank, imitates: domain, by_skeleton, tricks });
        }
    }
    match found.into_iter().min_by_key(|candidate| candidate.rank) {
        Some(closest) => {
            let mut tricks = character_tricks(false, closest.by_skeleton, name);
            tricks.extend(closest.tricks);
            Verdict::LookAlike { kind, imitates: closest.imitates.to_string(), tricks }
        }
        None => Verdict::NotOfficial { kind },
    }
}

/// A resemblance to one official value: the structural tricks, and whether it shows only between
/// skeletons. Among several, the lowest `rank` is the closest; ties go to the first found.
struct Candidate<'a, R> {
    rank: R,
    imitates: &'a str,
    by_skeleton: bool,
    tricks: Vec<Trick>,
}

/// How `name` resembles `target`, as written or else as skeletons (the `bool`); `None` when it does
/// not, or is `target` itself.
fn resemble(name: &str, target: &str) -> Option<(Vec<Trick>, bool)> {
    closer(brand_tricks(name, target), brand_tricks(&skeleton(name), &skeleton(target)))
}

/// The closer of a resemblance as written and one between skeletons; the `bool` says the skeleton
/// was needed. An empty resemblance as written means the very same value: not a look-alike.
fn closer(plain: Option<Vec<Trick>>, skeletal: Option<Vec<Trick>>) -> Option<(Vec<Trick>, bool)> {
    match (plain, skeletal) {
        (Some(plain), Some(skeletal)) if skeletal.len() < plain.len() => Some((skeletal, true)),
        (Some(plain), _) => (!plain.is_empty()).then_some((plain, false)),
        (None, Some(skeletal)) => Some((skeletal, true)),
        (None, None) => None,
    }
}

// ---- emails ------------------------------------------------------------------------------------

/// The display name and address of `Name <address>`, `address` or `mailto:address`; `None` when
/// `s` is not written as an email address.
fn email_parts(s: &str) -> Option<(Option<&str>, &str)> {
    let (display, address) = match (s.find('<'), s.strip_suffix('>')) {
        (Some(open), Some(inner)) => {
            let display = s[..open].trim().trim_matches('"').trim();
            (Some(display).filter(|d| !d.is_empty()), inner[open + 1..].trim())
        }
        _ => (None, s),
    };
    let address = match strip_prefix_ignore_case(address, "mailto:") {
        Some(rest) => rest.split('?').next().unwrap_or(rest),
        None => address,
    };
    let (local, domain) = address.rsplit_once('@')?;
    let plain = |part: &str| {
        !part.is_empty() && !part.contains(['/', '\\', '<', '>']) && !part.chars().any(char::is_whitespace)
    };
    (plain(local) && plain(domain) && !address.contains("://")).then_some((display, address))
}

/// Official only as a registered sender. Look-alikes are judged against the registered domains and
/// the senders' domains; an unregistered address at one of those domains imitates nothing.
fn check_email(official: &[OfficialChannel], display: Option<&str>, address: &str) -> Verdict {
    let kind = ChannelKind::Email;
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Verdict::NotOfficial { kind };
    };
    let local = local.to_lowercase();
    let host = Host::parse(domain, false);
    let normalised = format!("{local}@{}", host.text);
    let senders: Vec<&str> = values(official, kind).collect();
    if let Some(matched) = senders.iter().copied().find(|sender| *sender == normalised) {
        return Verdict::Official { kind, matched: matched.to_string() };
    }
    let mut domains: Vec<&str> = values(official, ChannelKind::Domain).collect();
    for &sender in &senders {
        if let Some((_, sender_domain)) = sender.rsplit_once('@')
            && !domains.contains(&sender_domain)
        {
            domains.push(sender_domain);
        }
    }
    if official_match(&domains, &host.text).is_some() {
        return Verdict::NotOfficial { kind };
    }
    let mut imitated: Option<&str> = None;
    let mut tricks = Vec::new();
    if let Some(found) = resemblance(&domains, &host) {
        imitated = Some(found.imitates);
        tricks = found.tricks;
    }
    if let Some(domain) = display.and_then(|name| brand_mentioned(&domains, name)) {
        imitated = imitated.or(Some(domain));
        tricks.push(Trick::DisplayNameOnly);
    }
    if let Some(domain) = brand_mentioned(&domains, &local) {
        imitated = imitated.or(Some(domain));
        tricks.push(Trick::BrandInMailbox);
    }
    match imitated {
        Some(domain) => Verdict::LookAlike { kind, imitates: sender_at(&senders, &local, domain), tricks },
        None => Verdict::NotOfficial { kind },
    }
}

/// The official domain whose brand `text` names, as a word or, for longer brands, inside a word.
fn brand_mentioned<'a>(domains: &[&'a str], text: &str) -> Option<&'a str> {
    let text = skeleton(text);
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).collect();
    domains.iter().copied().find(|domain| {
        let brand = skeleton(brand_label(domain));
        let len = brand.chars().count();
        words.iter().any(|word| {
            (len >= MIN_LEN_FOR_TYPO && *word == brand) || (len >= MIN_LEN_FOR_WORDS && word.contains(brand.as_str()))
        })
    })
}

/// What an email imitating `domain` passes for: the registered sender there with the same mailbox,
/// else the first sender there, else the domain itself.
fn sender_at(senders: &[&str], local: &str, domain: &str) -> String {
    let mut at_domain =
        senders.iter().copied().filter(|sender| sender.rsplit_once('@').is_some_and(|(_, d)| d == domain));
    let first = at_domain.clone().next();
    at_domain
        .find(|sender| sender.rsplit_once('@').is_some_and(|(l, _)| l == local))
        .or(first)
        .unwrap_or(domain)
        .to_string()
}

// ---- domains and links -------------------------------------------------------------------------

/// The parts of a link that decide where it leads.
struct Link<'a> {
    userinfo: Option<&'a str>,
    host: &'a str,
    path: &'a str,
}

/// `s` as a browser reads a link, with or without a scheme: the authority ends at the first `/`,
/// `\`, `?` or `#`, and the host follows the last `@` in it.
fn split_link(s: &str) -> Option<Link<'_>> {
    if s.chars().any(char::is_whitespace) {
        return None;
    }
    let rest = match s.find("://") {
        Some(at) if is_scheme(&s[..at]) => &s[at + 3..],
        Some(_) => return None,
        None => s.strip_prefix("//").unwrap_or(s),
    };
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let path = tail.split(['?', '#']).next().unwrap_or_default();
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let host = without_port(host_port);
    (!host.is_empty()).then_some(Link { userinfo, host, path })
}

fn is_scheme(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A host name in the forms the checks compare.
struct Host {
    /// As a browser reaches it: percent-escapes decoded, lowercased, trailing dots (and for links a
    /// leading `www.`) dropped, `xn--` labels decoded. Confusables are kept: only the skeleton folds them.
    text: String,
    skeleton: String,
    /// Some label was written in punycode.
    punycode: bool,
}

impl Host {
    fn parse(raw: &str, strip_www: bool) -> Host {
        let lower = percent_decode(raw).to_lowercase();
        let mut punycode = false;
        let labels: Vec<String> = lower
            .trim_end_matches('.')
            .split('.')
            .map(|label| {
                if label.starts_with("xn--") {
                    punycode = true;
                }
                punycode_label(label).map_or_else(|| label.to_string(), |decoded| decoded.to_lowercase())
            })
            .collect();
        let mut text = labels.join(".");
        if strip_www
            && let Some(rest) = text.strip_prefix("www.")
            && rest.contains('.')
        {
            text = rest.to_string();
        }
        let skeleton = skeleton(&text);
        Host { text, skeleton, punycode }
    }
}

/// Browsers decode percent-escapes in host names: `%74haw.example` is thaw.example.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16)).and_then(|d| u8::try_from(d).ok());
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                out.push(high * 16 + low);
                i += 3;
            }
            (byte, ..) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn split_labels(host: &str) -> Vec<&str> {
    host.split('.').collect()
}

fn is_ipv4(s: &str) -> bool {
    let parts = split_labels(s);
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// An IP address in any form a browser accepts: IPv6 in brackets, or a last label of digits
/// (`192.168.0.1`, `10.1`).
fn is_ip(host: &str) -> bool {
    host.starts_with('[')
        || host.contains(':')
        || host.rsplit('.').next().is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

fn is_same_or_under(host: &str, domain: &str) -> bool {
    host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
}

fn values(official: &[OfficialChannel], kind: ChannelKind) -> impl Iterator<Item = &str> {
    official.iter().filter(move |channel| channel.kind == kind).map(|channel| channel.value.as_str())
}

/// The official domain `host` is or lies under, compared character for character (never by
/// skeleton); the longest when several match.
fn official_match<'a>(domains: &[&'a str], host: &str) -> Option<&'a str> {
    domains.iter().copied().filter(|domain| is_same_or_under(host, domain)).max_by_key(|domain| domain.len())
}

fn check_domain(official: &[OfficialChannel], host: &Host, userinfo: Option<&str>) -> Verdict {
    let kind = ChannelKind::Domain;
    let domains: Vec<&str> = values(official, kind).collect();
    if let Some(matched) = official_match(&domains, &host.text) {
        return Verdict::Official { kind, matched: matched.to_string() };
    }
    if let Some(user) = userinfo {
        let user = user.split(':').next().unwrap_or(user);
        let user_host = Host::parse(user, true);
        let imitated = match official_match(&domains, &user_host.text) {
            Some(domain) => Some((domain, Vec::new())),
            None => resemblance(&domains, &user_host).map(|found| (found.imitates, found.tricks)),
        };
        if let Some((domain, tricks)) = imitated {
            let tricks = std::iter::once(Trick::UserInfo).chain(tricks).collect();
            return Verdict::LookAlike { kind, imitates: domain.to_string(), tricks };
        }
    }
    match resemblance(&domains, host) {
        Some(found) => Verdict::LookAlike { kind, imitates: found.imitates.to_string(), tricks: found.tricks },
        None => Verdict::NotOfficial { kind },
    }
}

struct Resemblance<'a> {
    imitates: &'a str,
    tricks: Vec<Trick>,
}

/// The official domain `host` most closely imitates, if any: fewest tricks first, then as written
/// before by skeleton, then in registration order. `host` must not be official itself.
fn resemblance<'a>(domains: &[&'a str], host: &Host) -> Option<Resemblance<'a>> {
    if is_ip(&host.text) {
        return None;
    }
    let text_labels = split_labels(&host.text);
    let skeleton_labels = split_labels(&host.skeleton);
    let mut found = Vec::new();
    for &domain in domains {
        let domain_skeleton = skeleton(domain);
        let plain = relate(&text_labels, &split_labels(domain));
        let skeletal = relate(&skeleton_labels, &split_labels(&domain_skeleton));
        if let Some((tricks, by_skeleton)) = closer(plain, skeletal) {
            found.push(Candidate { rank: (tricks.len(), by_skeleton), imitates: domain, by_skeleton, tricks });
        }
    }
    let closest = found.into_iter().min_by_key(|candidate| candidate.rank)?;
    let mut tricks = character_tricks(host.punycode, closest.by_skeleton, &host.text);
    tricks.extend(closest.tricks);
    Some(Resemblance { imitates: closest.imitates, tricks })
}

/// How a host's labels stand to an official domain's, both in the same form: `Some(vec![])` when
/// the host is the domain or under it, the tricks by which it resembles the domain, or `None`. The
/// official domain's first label is its brand: `thaw` in `thaw.example`.
fn relate(host: &[&str], official: &[&str]) -> Option<Vec<Trick>> {
    let (brand, rest) = official.split_first()?;
    if host.ends_with(official) {
        return Some(Vec::new());
    }
    // The label the host is registered under: `evil` in `thaw.example.evil.io`, `thaw` in `thaw.com.cn`
    // (where `thaw.com` is not to its left but is the same name under another suffix).
    let registered_at = host.len().checked_sub(public_suffix_len(host) + 1)?;
    if host[..registered_at].windows(official.len()).any(|window| window == official) {
        return Some(vec![Trick::SubdomainOfOther]);
    }
    // The label to compare with the brand: the one before the official suffix when the host ends
    // with it, else the one the host is registered under, which then has another suffix.
    let shares_rest = host.len() >= official.len() && host[host.len() - rest.len()..] == *rest;
    let (index, other_tld) = if shares_rest { (host.len() - official.len(), false) } else { (registered_at, true) };
    if let Some(mut tricks) = brand_tricks(host[index], brand) {
        if other_tld {
            tricks.push(Trick::OtherTld);
        }
        return Some(tricks);
    }
    let brand_len = brand.chars().count();
    let names_brand = |label: &&str| {
        (brand_len >= MIN_LEN_FOR_TYPO && *label == *brand)
            || (brand_len >= MIN_LEN_FOR_WORDS && label.contains(*brand))
    };
    host[..index].iter().any(names_brand).then(|| vec![Trick::SubdomainOfOther])
}

/// How a name resembles an official one (both in the same form): `Some(vec![])` when equal.
fn brand_tricks(label: &str, brand: &str) -> Option<Vec<Trick>> {
    let brand_len = brand.chars().count();
    if label == brand {
        Some(Vec::new())
    } else if brand_len >= MIN_LEN_FOR_TYPO && one_edit_apart(label, brand) {
        Some(vec![Trick::Typo])
    } else if brand_len >= MIN_LEN_FOR_WORDS && label.contains(brand) {
        Some(vec![Trick::ExtraWords])
    } else if brand_len >= MIN_LEN_FOR_WORDS && label.split(['-', '_', '.']).any(|word| one_edit_apart(word, brand)) {
        Some(vec![Trick::ExtraWords, Trick::Typo])
    } else {
        None
    }
}

/// How many trailing labels form the public suffix: two for `co.uk`-style suffixes, else one.
fn public_suffix_len(labels: &[&str]) -> usize {
    match labels {
        [.., _, second, last] if TWO_LABEL_SUFFIXES.contains(&format!("{second}.{last}").as_str()) => 2,
        _ => 1,
    }
}

/// The label a domain is registered under: `thaw` in `support.thaw.co.uk`.
fn brand_label(domain: &str) -> &str {
    let labels = split_labels(domain);
    let index = labels.len().saturating_sub(public_suffix_len(&labels) + 1);
    labels.get(index).copied().unwrap_or(domain)
}

// ---- characters --------------------------------------------------------------------------------

/// The tricks visible in the characters themselves, listed before the structural ones.
fn character_tricks(punycode: bool, confusables: bool, text: &str) -> Vec<Trick> {
    let mut tricks = Vec::new();
    if punycode {
        tricks.push(Trick::Punycode);
    }
    if confusables {
        tricks.push(Trick::Confusables);
    }
    if has_mixed_scripts(text) {
        tricks.push(Trick::MixedScripts);
    }
    tricks
}

/// Whether two names are one edit apart (Damerau): a character added, dropped or changed, or two
/// neighbours swapped.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    match long.len() - short.len() {
        0 => {
            let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match differ[..] {
                [_] => true,
                [i, j] => j == i + 1 && a[i] == b[j] && a[j] == b[i],
                _ => false,
            }
        }
        1 => {
            let same = short.iter().zip(long.iter()).take_while(|(x, y)| x == y).count();
            short[same..] == long[same + 1..]
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
}

fn script(c: char) -> Option<Script> {
    match c {
        'a'..='z'
        | 'A'..='Z'
        | '\u{c0}'..='\u{24f}'
        | '\u{250}'..='\u{2af}'
        | '\u{1e00}'..='\u{1eff}'
        | '\u{ff21}'..='\u{ff3a}'
        | '\u{ff41}'..='\u{ff5a}' => Some(Script::Latin),
        '\u{370}'..='\u{3ff}' | '\u{1f00}'..='\u{1fff}' => Some(Script::Greek),
        '\u{400}'..='\u{52f}' => Some(Script::Cyrillic),
        '\u{530}'..='\u{58f}' => Some(Script::Armenian),
        _ => None,
    }
}

/// Whether a word (between dots, dashes and underscores) mixes the alphabets look-alikes are built
/// from. Latin next to Chinese is ordinary and not counted.
fn has_mixed_scripts(text: &str) -> bool {
    text.split(['.', '-', '_']).any(|word| {
        let mut first = None;
        word.chars().filter_map(script).any(|s| *first.get_or_insert(s) != s)
    })
}

/// The ASCII a lowercase character passes for; `None` for characters that show nothing.
fn fold(c: char) -> Option<char> {
    let ascii = match c {
        // Full-width forms (ａ-ｚ, ０-９, ．) are ASCII shifted.
        '\u{ff01}'..='\u{ff5e}' => {
            return char::from_u32(u32::from(c) - 0xfee0).map(|a| a.to_ascii_lowercase()).and_then(fold);
        }
        // Mathematical letters (bold, italic, script, ...: 52 a style) and digits (10 a style).
        '\u{1d400}'..='\u{1d6a3}' => return char::from_u32(u32::from(b'a') + (u32::from(c) - 0x1d400) % 52 % 26),
        '\u{1d7ce}'..='\u{1d7ff}' => {
            return char::from_u32(u32::from(b'0') + (u32::from(c) - 0x1d7ce) % 10).and_then(fold);
        }
        // Ideographic and half-width ideographic full stops.
        '\u{3002}' | '\u{ff61}' => '.',
        // Soft hyphen, zero-width and direction marks, word joiners, BOM, combining accents.
        '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{300}'..='\u{36f}' => {
            return None;
        }
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' => '-',
        '0' => 'o',
        '1' | '|' => 'l',
        // Accented Latin letters, then Latin (small capitals, letterlike symbols), Cyrillic, Greek and
        // Armenian look-alikes of each letter.
        '\u{e0}'..='\u{e5}'
        | '\u{101}'
        | '\u{103}'
        | '\u{105}'
        | '\u{1ce}'
        | '\u{251}'
        | '\u{430}'
        | '\u{3b1}'
        | '\u{1d00}' => 'a',
        '\u{299}' => 'b',
        '\u{e7}' | '\u{107}' | '\u{109}' | '\u{10b}' | '\u{10d}' | '\u{441}' | '\u{3f2}' | '\u{1d04}' => 'c',
        '\u{10f}' | '\u{111}' | '\u{501}' | '\u{1d05}' => 'd',
        '\u{e8}'..='\u{eb}'
        | '\u{113}'
        | '\u{115}'
        | '\u{117}'
        | '\u{119}'
        | '\u{11b}'
        | '\u{435}'
        | '\u{451}'
        | '\u{3b5}'
        | '\u{1d07}'
        | '\u{212f}' => 'e',
        '\u{11d}' | '\u{11f}' | '\u{121}' | '\u{123}' | '\u{261}' | '\u{262}' | '\u{210a}' => 'g',
        '\u{125}' | '\u{127}' | '\u{4bb}' | '\u{570}' | '\u{29c}' | '\u{210e}' => 'h',
        '\u{ec}'..='\u{ef}'
        | '\u{129}'
        | '\u{12b}'
        | '\u{12d}'
        | '\u{12f}'
        | '\u{131}'
        | '\u{1d0}'
        | '\u{269}'
        | '\u{456}'
        | '\u{457}'
        | '\u{3b9}'
        | '\u{26a}' => 'i',
        '\u{135}' | '\u{237}' | '\u{458}' | '\u{3f3}' | '\u{1d0a}' => 'j',
        '\u{137}' | '\u{43a}' | '\u{3ba}' | '\u{1d0b}' => 'k',
        '\u{13a}' | '\u{13c}' | '\u{13e}' | '\u{140}' | '\u{142}' | '\u{1c0}' | '\u{4cf}' | '\u{2113}' | '\u{29f}' => {
            'l'
        }
        '\u{1d0d}' => 'm',
        '\u{f1}' | '\u{144}' | '\u{146}' | '\u{148}' | '\u{578}' | '\u{3b7}' | '\u{274}' => 'n',
        '\u{f2}'..='\u{f6}'
        | '\u{f8}'
        | '\u{14d}'
        | '\u{14f}'
        | '\u{151}'
        | '\u{1d2}'
        | '\u{43e}'
        | '\u{3bf}'
        | '\u{3c3}'
        | '\u{585}'
        | '\u{1d0f}'
        | '\u{2134}' => 'o',
        '\u{440}' | '\u{3c1}' | '\u{1d18}' => 'p',
        '\u{51b}' | '\u{566}' => 'q',
        '\u{155}' | '\u{157}' | '\u{159}' | '\u{280}' => 'r',
        '\u{15b}' | '\u{15d}' | '\u{15f}' | '\u{161}' | '\u{219}' | '\u{455}' => 's',
        '\u{163}' | '\u{165}' | '\u{167}' | '\u{21b}' | '\u{442}' | '\u{3c4}' | '\u{1d1b}' => 't',
        '\u{f9}'..='\u{fc}'
        | '\u{169}'
        | '\u{16b}'
        | '\u{16d}'
        | '\u{16f}'
        | '\u{171}'
        | '\u{173}'
        | '\u{1d4}'
        | '\u{1d6}'
        | '\u{1d8}'
        | '\u{1da}'
        | '\u{1dc}'
        | '\u{57d}'
        | '\u{3c5}'
        | '\u{1d1c}' => 'u',
        '\u{3bd}' | '\u{475}' | '\u{1d20}' => 'v',
        '\u{175}' | '\u{51d}' | '\u{3c9}' | '\u{1d21}' => 'w',
        '\u{445}' | '\u{3c7}' => 'x',
        '\u{fd}' | '\u{ff}' | '\u{177}' | '\u{443}' | '\u{4af}' | '\u{3b3}' | '\u{28f}' => 'y',
        '\u{17a}' | '\u{17c}' | '\u{17e}' | '\u{1d22}' => 'z',
        _ => c,
    };
    Some(ascii)
}

/// RFC 3492 decoding, the part of IDNA that turns `xn--mnchen-3ya` back into `münchen`.
mod punycode {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    const INITIAL_BIAS: u32 = 72;
    const INITIAL_N: u32 = 128;

    /// Decodes the part of a label after `xn--`; `None` for anything malformed.
    pub(super) fn decode(encoded: &str) -> Option<String> {
        if !encoded.is_ascii() {
            return None;
        }
        let (basic, deltas) = match encoded.rfind('-') {
            Some(at) => (&encoded[..at], &encoded[at + 1..]),
            None => ("", encoded),
        };
        let mut output: Vec<char> = basic.chars().collect();
        let (mut n, mut i, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
        let mut digits = deltas.bytes().peekable();
        while digits.peek().is_some() {
            let old_i = i;
            let mut weight = 1u32;
            let mut k = BASE;
            loop {
                let digit = u32::from(match digits.next()? {
                    b @ b'a'..=b'z' => b - b'a',
                    b @ b'A'..=b'Z' => b - b'A',
                    b @ b'0'..=b'9' => b - b'0' + 26,
                    _ => return None,
                });
                i = i.checked_add(digit.checked_mul(weight)?)?;
                let t = if k <= bias {
                    T_MIN
                } else if k >= bias + T_MAX {
                    T_MAX
                } else {
                    k - bias
                };
                if digit < t {
                    break;
                }
                weight = weight.checked_mul(BASE - t)?;
                k += BASE;
            }
            let length = u32::try_from(output.len() + 1).ok()?;
            bias = adapt(i - old_i, length, old_i == 0);
            n = n.checked_add(i / length)?;
            i %= length;
            output.insert(usize::try_from(i).ok()?, char::from_u32(n)?);
            i += 1;
        }
        Some(output.into_iter().collect())
    }

    fn adapt(delta: u32, points: u32, first: bool) -> u32 {
        let mut delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn official() -> Vec<OfficialChannel> {
        [
            (ChannelKind::Domain, "https://www.Thaw.Example./", "Website"),
            (ChannelKind::Domain, "moonlot.io", "Partner site"),
            (ChannelKind::Email, "Support@Thaw.Example", "Support email"),
            (ChannelKind::Email, "security@moonlot.io", "Security email"),
            (ChannelKind::Phone, "+86 400-123-4567", "Hotline"),
            (ChannelKind::Handle, "twitter:@Thaw_Official", "X (Twitter)"),
            (ChannelKind::Handle, "https://t.me/ThawSupport", "Telegram"),
        ]
        .into_iter()
        .map(|(kind, raw, label)| OfficialChannel::new(kind, raw, label).expect("a valid registration"))
        .collect()
    }

    fn verdict(input: &str) -> Verdict {
        check(&official(), &["thaw-a1234".to_string()], input).expect("a checkable input")
    }

    fn official_as(input: &str) -> (ChannelKind, String) {
        match verdict(input) {
            Verdict::Official { kind, matched } => (kind, matched),
            other => panic!("{input}: expected official, got {other:?}"),
        }
    }

    fn look_alike(input: &str) -> (String, Vec<Trick>) {
        match verdict(input) {
            Verdict::LookAlike { imitates, tricks, .. } => (imitates, tricks),
            other => panic!("{input}: expected a look-alike, got {other:?}"),
        }
    }

    fn rejection(input: &str) -> Invalid {
        check(&official(), &[], input).expect_err("a rejected input")
    }

    fn domain_look_alike(tricks: &[Trick]) -> (String, Vec<Trick>) {
        ("thaw.example".to_string(), tricks.to_vec())
    }

    use Trick::*;
    use proptest::prelude::*;

    #[test]
    fn registrations_are_stored_normalised() {
        let values: Vec<String> = official().into_iter().map(|channel| channel.value).collect();
        assert_eq!(
            values,
            [
                "thaw.example",
                "moonlot.io",
                "support@thaw.example",
                "security@moonlot.io",
                "+864001234567",
                "x:thaw_official",
                "telegram:thawsupport"
            ]
        );
        assert_eq!(normalise_registration(ChannelKind::Domain, "xn--mnchen-3ya.de").unwrap(), "münchen.de");
        assert_eq!(
            normalise_registration(ChannelKind::Email, "Thaw <Help@THAW.example>").unwrap(),
            "help@thaw.example"
        );
        assert_eq!(normalise_registration(ChannelKind::Phone, "0086 (400) 123.4567").unwrap(), "+864001234567");
        assert_eq!(
            normalise_registration(ChannelKind::Handle, "https://www.youtube.com/@ThawTV").unwrap(),
            "youtube:thawtv"
        );
        assert_eq!(normalise_registration(ChannelKind::AgentId, " thaw-a1234 ").unwrap(), "THAW-A1234");
    }

    #[test]
    fn garbage_registrations_are_refused_naming_the_value() {
        let refused = [
            (ChannelKind::Domain, "thaw", "invalid_domain"),
            (ChannelKind::Domain, "192.168.0.1", "invalid_domain"),
            (ChannelKind::Domain, "https://thaw.example@evil.io", "invalid_domain"),
            (ChannelKind::Domain, "-thaw.example", "invalid_domain"),
            (ChannelKind::Email, "support.thaw.example", "invalid_email"),
            (ChannelKind::Email, "support@thaw", "invalid_email"),
            (ChannelKind::Phone, "12345", "invalid_phone"),
            (ChannelKind::Phone, "+86 400 CALL THAW", "invalid_phone"),
            (ChannelKind::Handle, "x:", "invalid_handle"),
            (ChannelKind::Handle, "@thaw_official", "invalid_handle"),
            (ChannelKind::Handle, "https://x.com/home", "invalid_handle"),
            (ChannelKind::AgentId, "THAW A1234", "invalid_agent_id"),
            (ChannelKind::Domain, "   ", "required"),
        ];
        for (kind, raw, code) in refused {
            let invalid = normalise_registration(kind, raw).expect_err(raw);
            assert_eq!((invalid.field.as_str(), invalid.code), ("value", code), "{raw}");
        }
        let label = OfficialChannel::new(ChannelKind::Domain, "thaw.example", " ").expect_err("an empty label");
        assert_eq!(label.field, "label");
    }

    #[test]
    fn the_official_domain_is_official_however_it_is_written() {
        for input in [
            "thaw.example",
            "THAW.EXAMPLE.",
            "www.thaw.example",
            "https://www.thaw.example:443/login?next=/wallet#top",
            "http://thaw.example",
            "//thaw.example/",
            "https://%74haw.example/",
            "https://user:pass@thaw.example/",
        ] {
            assert_eq!(official_as(input), (ChannelKind::Domain, "thaw.example".to_string()), "{input}");
        }
    }

    #[test]
    fn subdomains_of_an_official_domain_are_official() {
        assert_eq!(official_as("https://support.thaw.example/ticket/1").1, "thaw.example");
        assert_eq!(official_as("a.b.moonlot.io").1, "moonlot.io");
    }

    #[test]
    fn confusable_characters_make_a_look_alike_never_an_official_domain() {
        // Cyrillic а (U+0430) for the Latin a.
        assert_eq!(look_alike("th\u{430}w.example"), domain_look_alike(&[Confusables, MixedScripts]));
        // The same domain as a browser's address bar shows it.
        assert_eq!(
            look_alike("https://xn--thw-7cd.example/login"),
            domain_look_alike(&[Punycode, Confusables, MixedScripts])
        );
        // Full-width letters and the ideographic full stop.
        assert_eq!(look_alike("\u{ff54}\u{ff48}\u{ff41}\u{ff57}.example"), domain_look_alike(&[Confusables]));
        assert_eq!(look_alike("thaw\u{3002}example"), domain_look_alike(&[Confusables]));
        // Mathematical bold letters.
        assert_eq!(look_alike("\u{1d42d}\u{1d421}\u{1d41a}\u{1d430}.example"), domain_look_alike(&[Confusables]));
        assert_eq!(look_alike("thavv.example"), domain_look_alike(&[Confusables]));
        assert_eq!(look_alike("thaw.exarnple"), domain_look_alike(&[Confusables]));
        assert_eq!(look_alike("th\u{e1}w.example"), domain_look_alike(&[Confusables]));
        assert_eq!(look_alike("tha\u{200b}w.example"), domain_look_alike(&[Confusables]));
        for input in ["m00nlot.io", "moon1ot.io", "rnoonlot.io", "login.m00nlot.io"] {
            assert_eq!(look_alike(input), ("moonlot.io".to_string(), vec![Confusables]), "{input}");
        }
    }

    #[test]
    fn typos_extra_words_and_other_tlds_are_look_alikes() {
        assert_eq!(look_alike("thwa.example"), domain_look_alike(&[Typo]));
        assert_eq!(look_alike("thaww.example"), domain_look_alike(&[Typo]));
        assert_eq!(look_alike("thaw-support.example"), domain_look_alike(&[ExtraWords]));
        assert_eq!(look_alike("thaw-support.com"), domain_look_alike(&[ExtraWords, OtherTld]));
        assert_eq!(look_alike("thawsecure.net"), domain_look_alike(&[ExtraWords, OtherTld]));
        assert_eq!(look_alike("support-thaw.io"), domain_look_alike(&[ExtraWords, OtherTld]));
        assert_eq!(look_alike("secure-thwa.example"), domain_look_alike(&[ExtraWords, Typo]));
        assert_eq!(look_alike("thaw.co"), domain_look_alike(&[OtherTld]));
        assert_eq!(look_alike("https://thaw.co.uk/"), domain_look_alike(&[OtherTld]));
        assert_eq!(look_alike("moonlot.com"), ("moonlot.io".to_string(), vec![OtherTld]));
        let dotcom = [OfficialChannel::new(ChannelKind::Domain, "thaw.com", "Website").unwrap()];
        let tricks = |input: &str| match check(&dotcom, &[], input).unwrap() {
            Verdict::LookAlike { tricks, .. } => tricks,
            other => panic!("{input}: {other:?}"),
        };
        assert_eq!(tricks("thaw.com.cn"), [OtherTld]);
        assert_eq!(tricks("thaw.com.evil.io"), [SubdomainOfOther]);
    }

    #[test]
    fn short_brands_are_not_matched_inside_other_words() {
        let official = [OfficialChannel::new(ChannelKind::Domain, "okx.com", "Website").unwrap()];
        let verdict = |input: &str| check(&official, &[], input).unwrap();
        assert_eq!(verdict("okx-support.com"), Verdict::NotOfficial { kind: ChannelKind::Domain });
        assert_eq!(verdict("okx.co").code(), "look_alike");
        assert_eq!(verdict("0kx.com").code(), "look_alike");
    }

    #[test]
    fn the_official_name_left_of_another_domain_is_a_look_alike() {
        assert_eq!(look_alike("https://thaw.example.evil.io/login"), domain_look_alike(&[SubdomainOfOther]));
        assert_eq!(look_alike("thaw.evil.io"), domain_look_alike(&[SubdomainOfOther]));
        assert_eq!(look_alike("thaw-login.pages.dev"), domain_look_alike(&[SubdomainOfOther]));
    }

    #[test]
    fn a_user_name_before_the_at_sign_of_a_link_is_a_trick() {
        assert_eq!(look_alike("https://thaw.example@evil.io/login"), domain_look_alike(&[UserInfo]));
        assert_eq!(look_alike("https://thaw.example:443@192.168.4.4/"), domain_look_alike(&[UserInfo]));
        assert_eq!(look_alike("https://thaw-login.example@evil.io"), domain_look_alike(&[UserInfo, ExtraWords]));
        // Browsers end the host at a backslash: this leads to evil.io, which imitates nothing.
        assert_eq!(verdict("https://evil.io\\@thaw.example"), Verdict::NotOfficial { kind: ChannelKind::Domain });
    }

    #[test]
    fn unrelated_domains_and_addresses_are_not_official() {
        for input in
            ["example.org", "https://google.com/search?q=thaw", "http://192.168.1.10/login", "https://[::1]:8080/"]
        {
            assert_eq!(verdict(input), Verdict::NotOfficial { kind: ChannelKind::Domain }, "{input}");
        }
    }

    #[test]
    fn only_registered_senders_are_official_email() {
        for input in [
            "support@thaw.example",
            "SUPPORT@Thaw.Example",
            "Thaw Support <support@thaw.example>",
            "\"Thaw\" <support@thaw.example.>",
            "mailto:support@thaw.example?subject=help",
        ] {
            assert_eq!(official_as(input), (ChannelKind::Email, "support@thaw.example".to_string()), "{input}");
        }
        // An official domain does not make every address at it official; nor does it imitate anything.
        assert_eq!(verdict("random@thaw.example"), Verdict::NotOfficial { kind: ChannelKind::Email });
        assert_eq!(verdict("alice@gmail.com"), Verdict::NotOfficial { kind: ChannelKind::Email });
    }

    #[test]
    fn look_alike_emails_name_the_sender_they_imitate() {
        let support = "support@thaw.example".to_string();
        assert_eq!(look_alike("support@thaw-example.com"), (support.clone(), vec![ExtraWords, OtherTld]));
        assert_eq!(look_alike("support@th\u{430}w.example"), (support.clone(), vec![Confusables, MixedScripts]));
        assert_eq!(look_alike("security@rnoonlot.io"), ("security@moonlot.io".to_string(), vec![Confusables]));
        assert_eq!(look_alike("Thaw Support <helpdesk@gmail.com>"), (support.clone(), vec![DisplayNameOnly]));
        assert_eq!(look_alike("thaw.help@gmail.com"), (support.clone(), vec![BrandInMailbox]));
        assert_eq!(look_alike("Thaw <support@thaw.co>"), (support, vec![OtherTld, DisplayNameOnly]));
    }

    #[test]
    fn phone_numbers_match_on_their_digits_with_the_country_code() {
        for input in
            ["+86 400 123 4567", "(+86) 400-123-4567", "0086 400 123 4567", "tel:+864001234567", "+86.400.123.4567"]
        {
            assert_eq!(official_as(input), (ChannelKind::Phone, "+864001234567".to_string()), "{input}");
        }
        assert_eq!(verdict("400-123-4567"), Verdict::NotOfficial { kind: ChannelKind::Phone });
        assert_eq!(verdict("+86 400 123 4568"), Verdict::NotOfficial { kind: ChannelKind::Phone });
        assert_eq!(rejection("12345").code, "invalid_phone");
        assert_eq!(rejection("+1 234 567 890 123 456").code, "invalid_phone");
    }

    #[test]
    fn handles_match_as_at_names_and_profile_links() {
        let x = (ChannelKind::Handle, "x:thaw_official".to_string());
        assert_eq!(official_as("@thaw_official"), x);
        assert_eq!(official_as("@Thaw_Official"), x);
        assert_eq!(official_as("thaw_official"), x);
        assert_eq!(official_as("https://x.com/Thaw_Official"), x);
        assert_eq!(official_as("https://mobile.twitter.com/thaw_official?s=20"), x);
        assert_eq!(official_as("t.me/thawsupport").1, "telegram:thawsupport");
        assert_eq!(official_as("https://t.me/s/thawsupport").1, "telegram:thawsupport");
    }

    #[test]
    fn look_alike_handles_are_reported() {
        let x = "x:thaw_official".to_string();
        assert_eq!(look_alike("https://instagram.com/thaw_official"), (x.clone(), vec![OtherPlatform]));
        assert_eq!(look_alike("https://www.youtube.com/@thaw_official/videos"), (x.clone(), vec![OtherPlatform]));
        assert_eq!(look_alike("@thaw_offical"), (x.clone(), vec![Typo]));
        assert_eq!(look_alike("@thaw_official_support"), (x.clone(), vec![ExtraWords]));
        assert_eq!(look_alike("@th\u{430}w_official"), (x, vec![Confusables, MixedScripts]));
        assert_eq!(look_alike("https://t.me/thawsupp0rt"), ("telegram:thawsupport".to_string(), vec![Confusables]));
        assert_eq!(look_alike("@thaw_helpdesk"), ("thaw.example".to_string(), vec![ExtraWords]));
        assert_eq!(verdict("@random_person"), Verdict::NotOfficial { kind: ChannelKind::Handle });
        // A site page that is not a profile is checked as a domain.
        assert_eq!(verdict("https://x.com/home"), Verdict::NotOfficial { kind: ChannelKind::Domain });
    }

    #[test]
    fn agent_ids_are_official_only_when_registered() {
        let agent = |matched: &str| Verdict::Official { kind: ChannelKind::AgentId, matched: matched.to_string() };
        assert_eq!(verdict("THAW-A1234"), agent("THAW-A1234"));
        assert_eq!(verdict("  thaw-a1234 "), agent("THAW-A1234"));
        assert_eq!(verdict("THAW-A9999"), Verdict::NotOfficial { kind: ChannelKind::AgentId });
        assert_eq!(look_alike("THAW-Al234"), ("THAW-A1234".to_string(), vec![Confusables]));
        assert_eq!(look_alike("\u{422}HAW-A1234"), ("THAW-A1234".to_string(), vec![Confusables, MixedScripts]));
    }

    #[test]
    fn bad_input_is_rejected_naming_the_value() {
        let too_long = format!("{}.example", "a".repeat(MAX_INPUT_CHARS));
        for (input, code) in [
            ("", "required"),
            ("  \n ", "required"),
            (too_long.as_str(), "too_long"),
            ("thaw\u{7}.example", "control_characters"),
            ("thaw.example\nsupport", "control_characters"),
            ("is thaw.example real", "unrecognised"),
            ("@thaw official", "invalid_handle"),
            ("@thaw/x", "invalid_handle"),
        ] {
            let invalid = rejection(input);
            assert_eq!((invalid.field.as_str(), invalid.code), ("value", code), "{input:?}");
            assert!(!invalid.message.is_empty());
        }
    }

    #[test]
    fn punycode_labels_decode_as_python_does() {
        assert_eq!(punycode_label("xn--mnchen-3ya").as_deref(), Some("münchen"));
        assert_eq!(punycode_label("xn--fiqs8s").as_deref(), Some("中国"));
        assert_eq!(punycode_label("XN--bcher-kva").as_deref(), Some("bücher"));
        assert_eq!(punycode_label("xn--e1afmkfd").as_deref(), Some("\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}"));
        assert_eq!(punycode_label("xn--thw-7cd").as_deref(), Some("th\u{430}w"));
        assert_eq!(punycode_label("xn--thw-support-zij").as_deref(), Some("th\u{430}w-support"));
        assert_eq!(punycode_label("xn--zz"), None);
        assert_eq!(punycode_label("xn--99999999999"), None);
        assert_eq!(punycode_label("mnchen-3ya"), None);
    }

    #[test]
    fn skeletons_fold_what_looks_alike() {
        assert_eq!(skeleton("\u{ff34}\u{ff28}\u{ff21}\u{ff37}\u{ff0e}\u{ff45}\u{ff58}"), "thaw.ex");
        // Cyrillic "аррӏе" is "apple".
        assert_eq!(skeleton(&punycode_label("xn--80ak6aa92e").unwrap()), "apple");
        assert_eq!(skeleton("rnoon1ot"), "moonlot");
        assert_eq!(skeleton("b\u{ed}n\u{430}nce"), "binance");
        assert_eq!(skeleton("\u{299}\u{26a}\u{274}\u{1d00}\u{274}\u{1d04}\u{1d07}"), "binance");
        assert!(one_edit_apart("thwa", "thaw") && one_edit_apart("thaw", "thaww") && one_edit_apart("thaw", "thav"));
        assert!(!one_edit_apart("thaw", "thaw") && !one_edit_apart("thaw", "wath") && !one_edit_apart("thaw", "th"));
    }

    #[test]
    fn codes_are_stable_and_round_trip() {
        for kind in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for trick in Trick::ALL {
            assert_eq!(Trick::parse(trick.as_str()), Some(trick));
            assert_eq!(serde_json::to_value(trick).unwrap(), trick.as_str());
        }
        assert_eq!(
            serde_json::to_value(verdict("thaw-support.example")).unwrap(),
            serde_json::json!({
                "verdict": "look_alike", "kind": "domain", "imitates": "thaw.example", "tricks": ["extra_words"]
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Whatever is pasted, the check answers or refuses without panicking, and only a
        /// registered value is ever official.
        #[test]
        fn any_input_gets_an_answer(
            input in "[a-zA-Z0-9@.:/\\\\<>+()_ \u{430}\u{ff41}\u{3002}%-]{0,60}|\\PC{0,60}"
        ) {
            let official = official();
            if let Ok(Verdict::Official { matched, .. }) = check(&official, &[], &input) {
                prop_assert!(official.iter().any(|channel| channel.value == matched));
            }
        }

        #[test]
        fn malformed_punycode_is_refused_not_a_panic(label in "xn--[a-zA-Z0-9-]{0,40}") {
            let _ = punycode_label(&label);
        }
    }
}
