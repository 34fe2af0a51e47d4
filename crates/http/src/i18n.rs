//! Every user-facing text of the pages, in Simplified Chinese and English. Each entry carries
//! both languages, so a text cannot exist in one only; a test checks that every key the
//! templates and handlers use is here.

use std::collections::HashMap;
use std::sync::OnceLock;
use thaw_domain::Locale;

/// (key, zh-CN, en)
const TEXTS: &[(&str, &str, &str)] = &[
    ("common.skip", "跳到主要内容", "Skip to main content"),
    ("common.nav", "主导航", "Main navigation"),
    ("common.language", "语言", "Language"),
    (
        "common.footer_safety",
        "thaw 的工作人员绝不会索要您的助记词、私钥、密码或验证码，也不会要求您转账到“安全账户”。",
        "thaw staff will never ask for your seed phrase, private key, password or verification codes, nor ask you to move funds to a “safe account”.",
    ),
    ("common.minutes", "分钟", "minutes"),
    ("common.search", "搜索", "Search"),
    ("common.pages", "分页", "Pages"),
    ("common.previous", "上一页", "Previous"),
    ("common.next", "下一页", "Next"),
    ("common.page", "第", "Page"),
    ("desk.brand", "客服工作台", "Support desk"),
    ("portal.brand", "安全中心", "Security centre"),
    ("desk.nav.home", "首页", "Home"),
    ("desk.nav.accounts", "用户账户", "Accounts"),
    ("desk.nav.api_keys", "API 密钥", "API keys"),
    ("desk.signout", "退出登录", "Sign out"),
    ("desk.signin.title", "工作人员登录", "Staff sign-in"),
    (
        "desk.signin.lead",
        "使用您的工作邮箱和密码登录客服工作台。",
        "Sign in to the support desk with your work email and password.",
    ),
    ("desk.signin.signed_out", "您已安全退出。", "You have been signed out."),
    ("desk.signin.retry_in", "请在以下时间后重试：", "Try again in"),
    ("desk.signin.email", "工作邮箱", "Work email"),
    ("desk.signin.password", "密码", "Password"),
    ("desk.signin.submit", "登录", "Sign in"),
    (
        "desk.signin.help",
        "忘记密码？请联系管理员重置。连续多次输错后，本设备需稍候再试，其他同事不受影响。",
        "Forgot your password? Ask an administrator to reset it. After several wrong attempts this device has to wait a little; colleagues elsewhere are not affected.",
    ),
    ("desk.signin.bad_credentials", "邮箱或密码不正确。", "Wrong email or password."),
    (
        "desk.signin.throttled",
        "失败次数过多，已暂时限制从此设备登录。",
        "Too many failed attempts: sign-in from this device is paused.",
    ),
    ("desk.home.title", "工作台首页", "Desk home"),
    ("desk.home.welcome", "您好", "Welcome"),
    ("desk.home.you", "我的资料", "Your profile"),
    ("desk.home.role", "角色", "Role"),
    ("desk.home.email", "邮箱", "Email"),
    ("desk.home.languages", "服务语言", "Languages"),
    ("desk.home.capacity", "同时处理上限", "Capacity"),
    ("desk.home.cases", "个工单", "cases at a time"),
    ("desk.home.skills", "可处理的工单类别", "Case categories you handle"),
    ("desk.home.platform", "平台概况", "Platform"),
    ("desk.home.accounts", "已同步的用户账户", "Accounts mirrored"),
    ("desk.home.staff", "工作人员", "Staff members"),
    ("desk.home.browse_accounts", "查看用户账户", "Browse accounts"),
    ("desk.accounts.title", "用户账户", "Accounts"),
    ("desk.accounts.search_label", "按账户 ID 或邮箱搜索", "Search by account id or email"),
    ("desk.accounts.search_placeholder", "账户 ID 或邮箱开头", "Account id or start of email"),
    ("desk.accounts.found", "个账户", "accounts"),
    ("desk.accounts.none", "没有符合条件的账户。", "No accounts match."),
    ("desk.accounts.id", "账户 ID", "Account id"),
    ("desk.accounts.email", "邮箱", "Email"),
    ("desk.accounts.locale", "语言", "Language"),
    ("desk.accounts.created", "注册时间", "Opened"),
    ("desk.account.title", "账户", "Account"),
    ("desk.account.phone", "手机号", "Phone"),
    ("desk.account.kyc", "KYC 等级", "KYC level"),
    ("desk.account.vip", "VIP 等级", "VIP level"),
    ("desk.account.synced", "最近同步", "Last synced"),
    ("desk.account.holds", "限制（冻结）", "Holds"),
    ("desk.account.no_holds", "该账户没有任何限制。", "This account has no holds."),
    ("desk.account.decisions", "近 7 天的风控决策", "Risk decisions of the last 7 days"),
    ("desk.account.no_decisions", "近 7 天没有需要处理的事件。", "No events in the last 7 days."),
    ("desk.account.place_from", "地点由 IP 查得：", "Place looked up from the IP:"),
    ("desk.hold.lift", "解除", "Lift"),
    ("desk.hold.note", "解除说明", "Why it is lifted"),
    ("desk.hold.note_placeholder", "解除原因（记入历史）", "Why (kept in the history)"),
    (
        "desk.hold.lifted",
        "限制已解除，已记入历史并通知平台。",
        "The hold is lifted; the history and the platform have been told.",
    ),
    ("desk.refused.compliance_only", "只有合规专员可以解除此限制。", "Only a compliance officer may lift this hold."),
    (
        "desk.refused.release_only_by_expiry",
        "此限制任何人都不能提前解除，到期后自动解除。",
        "Nobody can lift this hold early; it ends when it expires.",
    ),
    (
        "desk.refused.above_authority",
        "金额超出您的权限，需要主管审批。",
        "The amount is above your authority; a supervisor must approve.",
    ),
    ("desk.refused.hold_not_active", "此限制已不再生效。", "This hold is no longer in force."),
    ("desk.refused.not_allowed", "您不能解除此限制。", "You may not lift this hold."),
    ("desk.hold.scopes", "范围", "Scopes"),
    ("desk.hold.reason", "原因", "Reason"),
    ("desk.hold.release", "谁可以解除", "Who can lift it"),
    ("desk.hold.status", "状态", "Status"),
    ("desk.hold.created", "设置时间", "Placed"),
    ("desk.hold.expires", "到期时间", "Expires"),
    ("desk.hold.active", "生效中", "In force"),
    ("desk.hold.released", "已解除", "Lifted"),
    ("desk.hold.expired", "已到期", "Expired"),
    ("desk.release.owner_one_factor", "用户本人（一项验证）", "The owner (one factor)"),
    ("desk.release.owner_two_factors", "用户本人（两项验证，需等待）", "The owner (two factors, after a wait)"),
    ("desk.release.expiry_only", "无人可提前解除，到期自动解除", "Nobody; ends when it expires"),
    ("desk.release.agent", "客服（权限内），超出需主管审批", "An agent within authority; above it a supervisor"),
    ("desk.release.compliance_only", "仅合规专员", "Compliance officers only"),
    ("desk.keys.title", "平台 API 密钥", "Platform API keys"),
    (
        "desk.keys.lead",
        "平台后端用这些密钥调用 thaw 的 API（Authorization: Bearer）。密钥只在创建时显示一次，thaw 只保存其哈希。",
        "The platform's backend calls thaw's API with these keys (Authorization: Bearer). A key is shown once, when it is created; thaw keeps only its hash.",
    ),
    (
        "desk.keys.created",
        "新密钥已创建。请立即复制保存，离开本页后将无法再次查看：",
        "The new key is ready. Copy it now: it will not be shown again.",
    ),
    ("desk.keys.name", "名称", "Name"),
    ("desk.keys.name_placeholder", "例如：生产环境后端", "e.g. production backend"),
    ("desk.keys.create", "创建密钥", "Create key"),
    ("desk.keys.none", "还没有 API 密钥。", "No API keys yet."),
    ("desk.keys.created_at", "创建时间", "Created"),
    ("desk.keys.last_used", "最近使用", "Last used"),
    ("desk.keys.status", "状态", "Status"),
    ("desk.keys.revoked", "已吊销", "Revoked"),
    ("desk.keys.active", "有效", "Active"),
    ("desk.keys.revoke", "吊销", "Revoke"),
    ("desk.keys.bad_name", "请填写 1 到 100 个字符的名称。", "Give the key a name of 1 to 100 characters."),
    (
        "desk.keys.revoked_notice",
        "密钥已吊销，使用它的请求将被拒绝。",
        "The key is revoked; requests using it are refused.",
    ),
    ("portal.home.title", "账户安全中心", "Account security centre"),
    (
        "portal.home.lead",
        "在这里，您可以看到账户受限的确切原因，一键冻结自己的账户，并在安全的情况下自行解冻。",
        "Here you see exactly why your account is restricted, freeze it yourself in one click, and lift restrictions yourself where that is safe.",
    ),
    ("portal.home.frozen_title", "账户被冻结或受限？", "Account frozen or restricted?"),
    (
        "portal.home.frozen_body",
        "每一项限制都会说明原因和具体事实（时间、地点、金额、规则），以及谁可以解除、下一步怎么做。",
        "Every restriction states its reason and the facts behind it (time, place, amount, rule), who can lift it and what to do next.",
    ),
    ("portal.home.stolen_title", "怀疑账户被盗？", "Think your account is stolen?"),
    (
        "portal.home.stolen_body",
        "立即冻结账户：提现、交易和登录都会暂停，随后由安全团队全天候跟进。每封安全提醒邮件中也有“不是我本人操作”的冻结链接。",
        "Freeze your account straight away: withdrawals, trading and sign-in stop, and the security team follows up around the clock. Every alert email carries a “this wasn't me” freeze link too.",
    ),
    ("portal.home.scam_title", "谨防冒充客服的骗子", "Beware of fake support"),
    (
        "portal.home.scam_1",
        "我们绝不会索要助记词、私钥、密码或短信/邮箱验证码。",
        "We never ask for your seed phrase, private key, password or SMS/email codes.",
    ),
    (
        "portal.home.scam_2",
        "我们绝不会要求您把资产转到“安全账户”或安装远程控制软件。",
        "We never ask you to move assets to a “safe account” or to install remote-control software.",
    ),
    (
        "portal.home.scam_3",
        "官方邮件都带有您设置的防钓鱼码；没有防钓鱼码的邮件请勿相信。",
        "Official emails carry the anti-phishing code you set; do not trust an email without it.",
    ),
    ("portal.home.staff_link", "工作人员？", "Staff?"),
    ("portal.home.staff_link_text", "进入客服工作台", "Go to the support desk"),
    ("error.back", "返回首页", "Back to the start"),
    ("error.not_found.title", "页面不存在", "Page not found"),
    ("error.not_found.body", "您要找的页面不存在或已被移除。", "The page you asked for does not exist or has moved."),
    ("error.forbidden.title", "无权访问", "Not allowed"),
    (
        "error.forbidden.body",
        "您的角色无权查看或执行此操作。如需权限，请联系管理员。",
        "Your role does not allow this. Ask an administrator if you need access.",
    ),
    ("error.csrf.title", "表单已过期", "This form has expired"),
    (
        "error.csrf.body",
        "为保护您的账户，我们拒绝了这次提交。请返回、刷新页面后重试。",
        "To protect your account we refused this submission. Go back, reload the page and try again.",
    ),
    ("error.bad_request.title", "请求无效", "Invalid request"),
    (
        "error.bad_request.body",
        "提交的内容无法处理，请检查后重试。",
        "What was sent could not be processed; check it and try again.",
    ),
    ("error.unavailable.title", "服务暂时不可用", "Temporarily unavailable"),
    (
        "error.unavailable.body",
        "数据库暂时无法访问，请稍后重试。",
        "The database cannot be reached right now; please try again shortly.",
    ),
    ("error.internal.title", "出错了", "Something went wrong"),
    (
        "error.internal.body",
        "我们这边出现了问题，已记录在案。请稍后重试。",
        "Something failed on our side and has been logged. Please try again shortly.",
    ),
];

/// Shown when even the error page cannot be rendered.
pub const FALLBACK_ERROR_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>thaw</title></head><body><h1>出错了 · Something went wrong</h1><p>请稍后重试。Please try again shortly.</p><p><a href=\"/\">thaw</a></p></body></html>";

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| TEXTS.iter().map(|(k, zh, en)| (*k, (*zh, *en))).collect())
}

/// The text of `key` in `locale`. An unknown key shows itself (and a test keeps that from shipping).
pub fn text(locale: Locale, key: &str) -> &str {
    match table().get(key) {
        Some((zh, en)) => match locale {
            Locale::ZhCn => zh,
            Locale::En => en,
        },
        None => {
            tracing::warn!(key, "missing text");
            key
        }
    }
}

/// The title and body keys of an error page named `error.<kind>`.
pub fn error_keys(key: &str) -> (&'static str, &'static str) {
    match key {
        "error.not_found" => ("error.not_found.title", "error.not_found.body"),
        "error.forbidden" => ("error.forbidden.title", "error.forbidden.body"),
        "error.csrf" => ("error.csrf.title", "error.csrf.body"),
        "error.bad_request" => ("error.bad_request.title", "error.bad_request.body"),
        "error.unavailable" => ("error.unavailable.title", "error.unavailable.body"),
        _ => ("error.internal.title", "error.internal.body"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` in the templates and every text key in the handlers' sources.
    fn used_keys() -> Vec<String> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let mut sources = Vec::new();
        for dir in ["templates", "templates/desk", "templates/portal", "src", "src/pages", "src/api"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}{dir}")) else { continue };
            for e in entries.flatten() {
                if e.path().is_file() {
                    sources.push(std::fs::read_to_string(e.path()).unwrap());
                }
            }
        }
        let mut keys = Vec::new();
        for src in sources {
            for part in src.split('"').skip(1).step_by(2) {
                let prefixes = ["common.", "desk.", "portal.", "error."];
                if prefixes.iter().any(|p| part.starts_with(p))
                    && !part.ends_with(".html")
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                {
                    keys.push(part.to_string());
                }
            }
        }
        keys
    }

    #[test]
    fn every_used_text_exists_in_both_languages() {
        let keys = used_keys();
        assert!(keys.len() > 50, "found only {} keys; is the scan broken?", keys.len());
        for key in keys {
            let is_error_kind = [
                "error.not_found",
                "error.forbidden",
                "error.csrf",
                "error.bad_request",
                "error.unavailable",
                "error.internal",
            ]
            .contains(&key.as_str());
            if is_error_kind {
                let (t, b) = error_keys(&key);
                assert!(table().contains_key(t) && table().contains_key(b), "{key}");
            } else {
                assert!(table().contains_key(key.as_str()), "missing text {key}");
            }
        }
    }

    #[test]
    fn texts_are_unique_and_neither_language_is_blank() {
        assert_eq!(table().len(), TEXTS.len(), "duplicate keys");
        for (k, zh, en) in TEXTS {
            assert!(!zh.trim().is_empty() && !en.trim().is_empty(), "{k}");
            assert_ne!(zh, en, "{k} is not translated");
        }
    }

    #[test]
    fn lookups_follow_the_locale() {
        assert_eq!(text(Locale::ZhCn, "desk.signin.submit"), "登录");
        assert_eq!(text(Locale::En, "desk.signin.submit"), "Sign in");
    }
}
