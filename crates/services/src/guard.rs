//! The secret guard at the door: every text a holder, an agent, an email or the bot writes into
//! a case passes through here before it is stored, indexed or shown. Secrets are replaced by a
//! marker (nothing of them is kept or logged), and a holder who pasted one is told at once that
//! support never asks for it, that it must be treated as compromised, and how to freeze.

use thaw_domain::Locale;
use thaw_text::guard::{self, SecretKind};

/// A text with its secrets replaced, and which kinds were found.
pub struct Screened {
    pub text: String,
    pub found: Vec<SecretKind>,
}

/// Replaces the secrets in `text`.
pub fn screen(text: &str) -> Screened {
    let g = guard::redact(text);
    if g.redacted() {
        // Only the kinds, never the content.
        tracing::info!(kinds = ?g.kinds, "secret guard: a secret was removed from a message");
    }
    Screened { text: g.text, found: g.kinds }
}

/// The warning a holder gets after pasting a secret, in their language.
pub fn warning(language: Locale, found: &[SecretKind]) -> String {
    let phrase = found.iter().any(|k| {
        matches!(
            k,
            SecretKind::SeedPhrase | SecretKind::PrivateKey | SecretKind::ExtendedPrivateKey | SecretKind::Keystore
        )
    });
    match (language, phrase) {
        (Locale::ZhCn, true) => "⚠ 您的消息里有助记词或私钥，我们已将其隐藏，没有保存。客服永远不会索要助记词、私钥或密码。请把它视为已经泄露：立即把资产转到用新助记词创建的新钱包；如担心账户安全，请在安全中心一键冻结账户（/security）。".into(),
        (Locale::ZhCn, false) => "⚠ 您的消息里有密码，我们已将其隐藏，没有保存。客服永远不会索要密码或验证码。请尽快修改该密码；如担心账户安全，请在安全中心一键冻结账户（/security）。".into(),
        (Locale::En, true) => "⚠ Your message contained a seed phrase or private key. We removed it and did not keep it. Support never asks for your seed phrase, private keys or passwords. Treat it as compromised: move your funds to a new wallet with a new seed phrase now; if you worry about your account, freeze it in one click in the security centre (/security).".into(),
        (Locale::En, false) => "⚠ Your message contained a password. We removed it and did not keep it. Support never asks for passwords or codes. Change that password soon; if you worry about your account, freeze it in one click in the security centre (/security).".into(),
    }
}
