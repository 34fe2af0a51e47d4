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
    (
        "portal.home.open_security",
        "打开安全中心：查看限制、冻结或解冻账户",
        "Open the security centre: see restrictions, freeze or thaw your account",
    ),
    ("sec.nav.overview", "账户安全", "Account security"),
    ("sec.nav.factors", "验证方式", "Verification methods"),
    ("sec.nav.history", "登录与安全记录", "Sign-ins and history"),
    ("sec.signout", "退出", "Sign out"),
    ("sec.back", "返回安全中心", "Back to the security centre"),
    ("sec.on", "已开启", "On"),
    ("sec.off", "未开启", "Off"),
    ("sec.signin.title", "登录安全中心", "Sign in to the security centre"),
    (
        "sec.signin.sso_hint",
        "最方便的方式：在平台的 App 或网站中打开“安全中心”，会自动登录。",
        "Easiest: open “Security centre” in the platform's app or website and you are signed in automatically.",
    ),
    (
        "sec.signin.lead",
        "无法登录平台（例如账户被冻结）？输入您注册时使用的邮箱，我们会发送一个 6 位验证码。",
        "Cannot reach the platform (for example because your login is frozen)? Enter the email you registered with and we will send you a 6-digit code.",
    ),
    ("sec.signin.email", "邮箱", "Email"),
    ("sec.signin.send_code", "发送验证码", "Send me a code"),
    (
        "sec.signin.code_sent_if_known",
        "如果有账户使用这个邮箱，我们已经发送了验证码。请查收邮件（10 分钟内有效）。",
        "If an account uses this email, we have sent it a code. Check your inbox (valid for 10 minutes).",
    ),
    ("sec.signin.code_for", "验证码已发送至", "Code sent to"),
    ("sec.signin.code", "6 位验证码", "6-digit code"),
    ("sec.signin.submit", "登录", "Sign in"),
    ("sec.signin.other_email", "换一个邮箱", "Use another email"),
    (
        "sec.signin.help",
        "thaw 不会通过电话或聊天向您索要验证码。核对邮件中的防钓鱼码，确认邮件来自我们。",
        "thaw never asks for your code by phone or chat. Check the anti-phishing code in the email to know it is from us.",
    ),
    ("sec.signin.bad_email", "请输入有效的邮箱地址。", "Enter a valid email address."),
    (
        "sec.signin.wrong_code",
        "验证码错误或已过期。每个验证码最多可尝试 5 次。",
        "The code is wrong or has expired. Each code allows 5 tries.",
    ),
    ("sec.signin.throttled", "尝试次数过多，已暂时限制。", "Too many attempts: paused for now."),
    (
        "sec.sso.sso_malformed",
        "平台的登录凭证无效。请从平台重新打开安全中心，或用邮箱验证码登录。",
        "The platform's sign-in token is not valid. Open the security centre from the platform again, or sign in with an email code.",
    ),
    (
        "sec.sso.sso_wrong_algorithm",
        "平台的登录凭证签名方式不被接受。",
        "The platform's sign-in token uses a signature thaw does not accept.",
    ),
    ("sec.sso.sso_bad_signature", "平台的登录凭证签名不正确。", "The platform's sign-in token has a wrong signature."),
    (
        "sec.sso.sso_expired",
        "平台的登录凭证已过期。请从平台重新打开安全中心。",
        "The platform's sign-in token has expired. Open the security centre from the platform again.",
    ),
    (
        "sec.sso.sso_lifetime_too_long",
        "平台的登录凭证有效期过长（最多 5 分钟），已拒绝。",
        "The platform's sign-in token lives too long (5 minutes at most) and was refused.",
    ),
    (
        "sec.sso.sso_replayed",
        "这个登录凭证已经使用过。请从平台重新打开安全中心。",
        "This sign-in token was used already. Open the security centre from the platform again.",
    ),
    (
        "sec.sso.sso_not_configured",
        "尚未配置平台单点登录。请用邮箱验证码登录。",
        "Platform single sign-on is not configured. Sign in with an email code.",
    ),
    ("sec.overview.title", "账户安全", "Your account's security"),
    ("sec.overview.account", "账户", "Account"),
    ("sec.overview.holds", "当前限制", "Current restrictions"),
    ("sec.overview.no_holds", "您的账户目前没有任何限制。", "Nothing restricts your account right now."),
    ("sec.overview.protection", "保护措施", "Protection"),
    ("sec.overview.manage", "管理验证方式和防钓鱼码", "Manage verification methods and anti-phishing code"),
    ("sec.overview.alerts", "最近的安全提醒", "Recent security alerts"),
    ("sec.overview.no_alerts", "暂无提醒。", "No alerts yet."),
    ("sec.hold.title", "解除限制", "Lift a restriction"),
    ("sec.hold.restricted", "受限功能", "Restricted"),
    ("sec.hold.since", "开始于", "Since"),
    ("sec.hold.until", "结束于", "Until"),
    ("sec.hold.who", "谁可以解除：", "Who can lift it:"),
    ("sec.hold.next", "下一步：", "Next step:"),
    ("sec.hold.lift_myself", "我自己解除", "Lift it myself"),
    ("sec.hold.needs", "解除需要验证", "Lifting needs"),
    ("sec.hold.factors", "种验证方式。", "verification methods."),
    (
        "sec.hold.cooldown_note",
        "解除后，提现会有一段冷静期，以防他人仍能操作您的账户。",
        "After lifting, withdrawals cool down for a while in case someone else still has access.",
    ),
    ("sec.hold.lift", "解除限制", "Lift the restriction"),
    ("sec.who.owner_one", "您本人，通过一种验证方式确认身份", "You, after verifying with one method"),
    (
        "sec.who.owner_two",
        "您本人，通过两种验证方式确认身份，并在等待期之后",
        "You, after verifying with two methods, once the waiting period has passed",
    ),
    ("sec.who.expiry", "任何人都不能提前解除；到期自动结束", "Nobody can lift it early; it ends by itself"),
    ("sec.who.staff", "客服人员审核后解除", "Support staff, after a review"),
    ("sec.who.compliance", "合规团队", "The compliance team"),
    ("sec.next.self", "用您的验证方式确认身份，即可自行解除。", "Verify it is you and lift it yourself."),
    (
        "sec.next.wait",
        "为了您的安全，自行冻结后需要等待一段时间才能解除。可解除时间：",
        "For your safety a self-freeze can only be lifted after a waiting period. You can lift it from",
    ),
    ("sec.next.expiry", "无需操作，限制会按时自动结束。", "Nothing to do: it ends on time by itself."),
    (
        "sec.next.staff",
        "请通过平台的官方帮助渠道提交工单，客服会审核并解除。提交时请附上下面的编号。",
        "Open a case through the platform's official help channel; support will review and lift it. Quote the reference below.",
    ),
    (
        "sec.next.compliance",
        "合规审核正在进行中，完成后会通知您。请勿向任何自称能“加快解冻”的人付款或提供信息。",
        "A compliance review is under way and you will be told when it ends. Do not pay or give details to anyone who offers to “speed up” the review.",
    ),
    ("sec.next.case_ref", "编号：", "Reference:"),
    ("sec.compliance_review", "合规审核正在进行中。", "A compliance review is under way."),
    ("sec.scope.login", "登录", "sign-in"),
    ("sec.scope.trade", "交易", "trading"),
    ("sec.scope.withdraw", "提现", "withdrawals"),
    ("sec.scope.all", "全部功能", "everything"),
    ("sec.freeze.title", "冻结我的账户", "Freeze my account"),
    (
        "sec.freeze.body",
        "怀疑账户被盗？立即冻结：登录、交易和提现全部暂停，平台会同时收到通知。之后您可以用两种验证方式、在等待期后自行解冻。",
        "Think your account is stolen? Freeze it now: sign-in, trading and withdrawals stop, and the platform is told at once. Later you can thaw it yourself with two verification methods after a waiting period.",
    ),
    ("sec.freeze.button", "立即冻结账户", "Freeze my account now"),
    (
        "sec.freezelink.confirm",
        "您通过提醒邮件中的“不是我本人”链接来到这里。确认后，您的账户将被冻结（登录、交易、提现全部暂停）。此链接只能使用一次。",
        "You came here from the “this wasn't me” link of an alert email. Confirm and your account is frozen (sign-in, trading and withdrawals stop). The link works once.",
    ),
    ("sec.freezelink.done", "账户已冻结", "Your account is frozen"),
    (
        "sec.freezelink.done_body",
        "平台已收到通知，我们也已为您登记账户被盗案件。您可以用邮箱验证码登录安全中心查看详情。",
        "The platform has been told and an account-theft case has been recorded for you. Sign in to the security centre with an email code to see the details.",
    ),
    ("sec.freezelink.sign_in", "登录安全中心", "Sign in to the security centre"),
    ("sec.freezelink.invalid", "链接无效", "This link does not work"),
    (
        "sec.freezelink.invalid_body",
        "此链接已使用过、已过期（24 小时），或不是 thaw 的链接。如需冻结账户，请登录安全中心。",
        "The link was used already, has expired (24 hours), or is not a thaw link. To freeze your account, sign in to the security centre.",
    ),
    ("sec.stepup.title", "确认是您本人", "Confirm it is you"),
    (
        "sec.stepup.lead",
        "用您已设置的方式验证。每次验证 10 分钟内有效。",
        "Verify with the methods you set up. Each verification counts for 10 minutes.",
    ),
    ("sec.stepup.verified", "已验证：", "Verified:"),
    ("sec.stepup.verify", "验证", "Verify"),
    ("sec.stepup.use_passkey", "使用通行密钥验证", "Verify with a passkey"),
    ("sec.stepup.send_email", "发送验证码到", "Email a code to"),
    ("sec.stepup.lost_device", "手机丢了？使用恢复码", "Lost your phone? Use a recovery code"),
    (
        "sec.stepup.enrol_hint",
        "您还没有设置验证器或通行密钥。设置后可以更安全地自行解冻：",
        "You have no authenticator or passkey yet. Set one up to thaw your account safely yourself:",
    ),
    ("sec.factor.totp", "验证器 App（TOTP）", "Authenticator app (TOTP)"),
    ("sec.factor.passkey", "通行密钥", "Passkey"),
    ("sec.factor.email", "邮箱验证码", "Email code"),
    ("sec.factor.recovery", "恢复码", "Recovery code"),
    ("sec.thawed.title", "限制已解除", "Restriction lifted"),
    ("sec.thawed.lifted", "已解除：", "Lifted:"),
    ("sec.thawed.cooldown", "提现冷静期", "Withdrawal cool-down"),
    ("sec.thawed.checklist", "接下来请做这几件事", "Please do these next"),
    (
        "sec.thawed.password",
        "在平台修改登录密码（不要使用在其他地方用过的密码）。",
        "Change your platform password (one you have not used anywhere else).",
    ),
    (
        "sec.thawed.review",
        "检查最近的登录记录，确认每一次都是您本人：",
        "Review your recent sign-ins and check each one was you:",
    ),
    (
        "sec.thawed.enable_2fa",
        "开启两步验证（验证器 App 或通行密钥）。",
        "Turn on two-step verification (authenticator app or passkey).",
    ),
    (
        "sec.thawed.anti_phishing",
        "设置防钓鱼码，以便识别冒充我们的邮件。",
        "Set an anti-phishing code to spot emails that pretend to be us.",
    ),
    ("sec.challenge.title", "这是您本人吗？", "Was this you?"),
    ("sec.challenge.lead", "我们发现一次需要您确认的操作：", "We saw something we need you to confirm:"),
    ("sec.challenge.it_was_me", "是我本人", "Yes, it was me"),
    ("sec.challenge.not_me", "不是我 —— 冻结账户", "No — freeze my account"),
    (
        "sec.challenge.passed",
        "已确认。我们会记住这台设备和地点，相关限制已解除。",
        "Confirmed. We will remember this device and place, and the related restrictions are lifted.",
    ),
    ("sec.fact.time", "时间 (UTC)", "Time (UTC)"),
    ("sec.fact.place", "地点", "Place"),
    ("sec.fact.ip", "IP 地址", "IP address"),
    ("sec.fact.device", "设备", "Device"),
    ("sec.fact.browser", "浏览器 / App", "Browser / app"),
    ("sec.factors.title", "验证方式与防钓鱼码", "Verification methods and anti-phishing code"),
    (
        "sec.factors.verify_first",
        "您已设置过验证方式：修改前请先用其中一种确认身份。",
        "You already have a verification method: verify with it before changing them.",
    ),
    (
        "sec.factors.totp_lead",
        "用手机上的验证器 App（如 Google Authenticator、Microsoft Authenticator）生成 6 位动态码。",
        "Use an authenticator app on your phone (Google Authenticator, Microsoft Authenticator …) for 6-digit codes.",
    ),
    ("sec.factors.setup", "设置验证器", "Set up an authenticator"),
    (
        "sec.factors.scan",
        "用验证器 App 扫描二维码，或手动输入密钥：",
        "Scan the QR code with your authenticator app, or type in the key:",
    ),
    ("sec.factors.qr_alt", "验证器二维码", "Authenticator QR code"),
    ("sec.factors.secret", "密钥：", "Key:"),
    ("sec.factors.first_code", "App 显示的 6 位码", "The 6-digit code the app shows"),
    ("sec.factors.continue", "我已保存，继续", "I have saved them — continue"),
    ("sec.factors.confirm", "确认", "Confirm"),
    (
        "sec.factors.passkey_lead",
        "通行密钥用您设备的指纹、面容或锁屏密码验证，无法被钓鱼网站骗走。",
        "A passkey verifies with your device's fingerprint, face or screen lock, and cannot be phished.",
    ),
    ("sec.factors.passkey_name", "名称", "Name"),
    ("sec.factors.passkey_add", "添加通行密钥", "Add a passkey"),
    (
        "sec.factors.recovery_lead",
        "手机丢失时，用恢复码代替验证器。每个恢复码只能用一次。",
        "If you lose your phone, a recovery code stands in for the authenticator. Each works once.",
    ),
    ("sec.factors.recovery_left", "剩余可用：", "Left:"),
    ("sec.factors.recovery_generate", "生成新的恢复码", "Generate new recovery codes"),
    ("sec.factors.recovery_new", "您的恢复码", "Your recovery codes"),
    (
        "sec.factors.recovery_once",
        "这些恢复码只显示这一次。请抄写或打印并妥善保存；旧的恢复码已失效。",
        "These codes are shown only now. Write them down or print them and keep them safe; older codes no longer work.",
    ),
    ("sec.ap.title", "防钓鱼码", "Anti-phishing code"),
    (
        "sec.ap.lead",
        "设置后，thaw 发给您的每封邮件顶部都会显示它。没有这个码的邮件不是我们发的。",
        "Once set, every email thaw sends you shows it at the top. An email without it is not from us.",
    ),
    ("sec.ap.code", "您的防钓鱼码", "Your anti-phishing code"),
    ("sec.ap.rules", "8 到 32 个字符，只能包含字母和数字。", "8 to 32 characters, letters and digits only."),
    ("sec.ap.save", "保存", "Save"),
    ("sec.ap.too_short", "防钓鱼码至少需要 8 个字符。", "The anti-phishing code needs at least 8 characters."),
    ("sec.ap.too_long", "防钓鱼码最多 32 个字符。", "The anti-phishing code has at most 32 characters."),
    (
        "sec.ap.letters_digits",
        "防钓鱼码只能包含字母和数字（不能有空格或符号）。",
        "The anti-phishing code may contain only letters and digits (no spaces or symbols).",
    ),
    ("sec.history.title", "登录与安全记录", "Sign-ins and security history"),
    (
        "sec.history.lead",
        "您账户的登录和安全事件，以及我们对每一件事的判断。",
        "Your account's sign-ins and security events, and what we decided about each.",
    ),
    ("sec.history.what", "事件", "What"),
    ("sec.history.result", "结果", "Result"),
    ("sec.history.empty", "暂无记录。", "Nothing yet."),
    ("sec.mailbox.title", "演示邮箱", "Demo mailbox"),
    (
        "sec.mailbox.lead",
        "演示模式没有邮件服务器：这里显示 thaw 会发送给用户的邮件（验证码、提醒和冻结链接）。生产环境中没有此页面。",
        "The demo has no mail server: this page shows the emails thaw would send to holders (codes, alerts and freeze links). It does not exist in production.",
    ),
    ("sec.mailbox.empty", "还没有邮件。", "No emails yet."),
    ("sec.notice.verified", "验证成功。", "Verified."),
    ("sec.notice.wrong_code", "验证码错误或已过期。", "The code is wrong or has expired."),
    (
        "sec.notice.code_replayed",
        "这个验证码已经用过。请等待 App 显示新的验证码。",
        "This code was used already. Wait for the app to show a new one.",
    ),
    ("sec.notice.throttled", "尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    ("sec.notice.code_sent", "验证码已发送到您的邮箱。", "A code has been sent to your email."),
    (
        "sec.notice.frozen",
        "您的账户已冻结。平台已收到通知，我们也已为您登记账户被盗案件。",
        "Your account is frozen. The platform has been told and an account-theft case has been recorded.",
    ),
    ("sec.notice.already_frozen", "您的账户已经处于冻结状态。", "Your account is frozen already."),
    ("sec.notice.enrolled", "验证器已设置。", "Authenticator set up."),
    ("sec.notice.passkey_added", "通行密钥已添加。", "Passkey added."),
    ("sec.notice.anti_phishing_saved", "防钓鱼码已保存。", "Anti-phishing code saved."),
    ("sec.notice.need_factor", "请先用已设置的验证方式确认身份。", "Verify with a method you already have first."),
    ("sec.notice.factor_already_enrolled", "您已经设置过验证器。", "You have an authenticator set up already."),
    ("sec.notice.challenge_passed", "已确认是您本人。", "Confirmed: it was you."),
    ("sec.notice.passkey_rejected", "通行密钥验证失败。", "The passkey could not be verified."),
    (
        "sec.notice.passkeys_unavailable",
        "此服务器的地址不支持通行密钥（需要域名，而不是 IP 地址）。",
        "Passkeys are not available at this server's address (it needs a host name, not an IP address).",
    ),
    ("sec.notice.signed_out", "您已退出安全中心。", "You have signed out of the security centre."),
    ("sec.refusal.hold_not_active", "这项限制已经结束。", "This restriction has ended already."),
    (
        "sec.refusal.release_only_by_expiry",
        "这项限制不能提前解除，会按时自动结束。",
        "This restriction cannot be lifted early; it ends on time by itself.",
    ),
    (
        "sec.refusal.compliance_only",
        "只有合规团队可以解除这项限制。",
        "Only the compliance team can lift this restriction.",
    ),
    ("sec.refusal.step_up_required", "还需要更多验证方式才能解除。", "More verification is needed to lift it."),
    ("sec.refusal.waiting_period", "等待期尚未结束。", "The waiting period has not passed yet."),
    ("sec.refusal.above_authority", "这项限制需要主管审批。", "This restriction needs a supervisor's approval."),
    (
        "sec.refusal.not_allowed",
        "您不能自行解除这项限制，请提交工单。",
        "You cannot lift this restriction yourself; open a case.",
    ),
    ("sec.alert.new_device", "新设备登录", "New device signed in"),
    ("sec.alert.new_country", "新的国家或地区登录", "Sign-in from a new country"),
    ("sec.alert.impossible_travel", "异常登录地点", "Unusual sign-in location"),
    ("sec.alert.hold_placed", "账户被限制", "Account restricted"),
    ("sec.alert.hold_released", "限制已解除", "Restriction lifted"),
    ("sec.alert.new_withdrawal_address", "向新地址提现", "Withdrawal to a new address"),
    ("sec.alert.credential_changed", "安全设置已更改", "Security settings changed"),
    ("sec.event.login_succeeded", "登录成功", "Signed in"),
    ("sec.event.login_failed", "登录失败", "Failed sign-in"),
    ("sec.event.challenge_passed", "通过验证", "Verification passed"),
    ("sec.event.challenge_failed", "验证失败", "Verification failed"),
    ("sec.event.password_changed", "修改密码", "Password changed"),
    ("sec.event.mfa_changed", "修改两步验证", "Two-step verification changed"),
    ("sec.event.email_changed", "修改邮箱", "Email changed"),
    ("sec.event.phone_changed", "修改手机号", "Phone changed"),
    ("sec.event.device_flagged", "设备风险提示", "Device flagged"),
    ("sec.event.deposit", "充值", "Deposit"),
    ("sec.event.withdrawal_requested", "申请提现", "Withdrawal requested"),
    ("sec.event.trade", "交易", "Trade"),
    ("sec.event.p2p_order", "C2C 订单", "P2P order"),
    ("sec.event.address_added", "添加地址", "Address added"),
    ("sec.action.allow", "已放行", "Allowed"),
    ("sec.action.challenge", "需要验证", "Verification asked"),
    ("sec.action.hold", "已限制", "Restricted"),
    ("sec.action.block", "已拦截", "Blocked"),
    ("desk.nav.security", "账户安全", "Security"),
    ("desk.signin.code", "验证器代码（如已设置）", "Authenticator code (if you set one up)"),
    (
        "desk.signin.totp_required",
        "请输入验证器 App 显示的 6 位代码（或一个恢复码）。",
        "Enter the 6-digit code from your authenticator app (or a recovery code).",
    ),
    ("desk.security.title", "我的登录安全", "My sign-in security"),
    (
        "desk.security.lead",
        "登录时除了密码，还需要验证器 App 的动态码。",
        "Sign in with a code from an authenticator app as well as your password.",
    ),
    (
        "desk.security.must_enrol",
        "管理员要求所有工作人员使用验证器。设置完成前无法使用工作台其他功能。",
        "Administrators require an authenticator for all staff. Set one up to use the rest of the desk.",
    ),
    ("desk.security.already", "您已经设置过验证器。", "You have an authenticator already."),
    ("desk.security.wrong_code", "代码不正确，请重试。", "That code is not right; try again."),
    (
        "desk.security.lost",
        "手机丢失时，用恢复码登录，并请管理员为您重置。",
        "If you lose your phone, sign in with a recovery code and ask an administrator to reset it.",
    ),
    ("desk.security.policy", "全体工作人员的要求", "Requirement for all staff"),
    ("desk.security.required_now", "必须使用验证器：", "Authenticator required:"),
    ("desk.security.require", "要求所有工作人员使用验证器", "Require an authenticator for all staff"),
    ("desk.security.make_optional", "改为可选", "Make it optional"),
    ("case.nav", "我的工单", "My cases"),
    ("case.author.support", "客服", "Support"),
    ("case.author.system", "系统", "thaw"),
    ("case.author.you", "您", "You"),
    ("case.category", "类别", "Category"),
    ("case.conversation", "对话与进展", "Conversation and progress"),
    ("case.error.empty_reply", "请先写下您的回复。", "Write your reply first."),
    ("case.event.followed_up", "已转入新的跟进工单", "Continued in a new case"),
    ("case.event.opened", "工单已创建", "Case opened"),
    ("case.event.status", "状态变更为", "Status changed to"),
    (
        "case.expected.closed",
        "此工单已结束。如有新问题，回复即可创建关联的新工单。",
        "This case is finished. Replying opens a new linked case.",
    ),
    ("case.expected.next_step", "我们预计在此时间前回复您：", "We expect to reply by"),
    (
        "case.expected.note",
        "预计时间按客服工作时间计算（账户被盗和可疑信息类全天候处理），时间为 UTC。",
        "Expected times follow the desk's working hours (account theft and phishing reports are handled around the clock); times are UTC.",
    ),
    ("case.expected.resolution", "预计解决时间：", "Expected resolution by"),
    ("case.expected.title", "预计时间", "What happens next"),
    (
        "case.expected.waiting_for_you",
        "我们在等待您的回复，回复后处理时限将继续计算。",
        "We are waiting for your reply; the clock continues when you answer.",
    ),
    ("case.for_hold", "为此限制创建工单", "Open a case about this restriction"),
    ("case.intake", "您提供的信息", "What you told us"),
    ("case.list.empty", "您还没有工单。", "You have no cases yet."),
    ("case.list.title", "我的工单", "My cases"),
    ("case.new.body", "请描述发生了什么", "Describe what happened"),
    ("case.new.button", "新建工单", "Open a case"),
    ("case.new.continue", "继续", "Continue"),
    ("case.new.local_time", "按您设备的本地时间填写。", "In your device's local time."),
    (
        "case.new.safety",
        "请勿在工单中填写助记词、私钥或密码——我们永远不会索要这些信息。",
        "Never put your seed phrase, private key or password in a case — we will never ask for them.",
    ),
    ("case.new.submit", "提交工单", "Submit the case"),
    ("case.new.title", "新建工单", "Open a case"),
    ("case.new.what", "您遇到的是哪类问题？", "What is it about?"),
    (
        "case.notice.opened",
        "工单已创建。您可以在这里查看进展和预计时间。",
        "Your case is open. Follow its progress and expected times here.",
    ),
    ("case.notice.reopened", "工单已重新打开，我们会尽快回复。", "The case is open again; we will reply soon."),
    ("case.notice.replied", "回复已发送。", "Your reply was sent."),
    ("case.number", "工单号", "Case"),
    (
        "case.reply.after_close",
        "此工单已关闭，回复将创建一个关联的新工单。",
        "This case is closed; a reply opens a new linked case.",
    ),
    ("case.reply.label", "回复", "Reply"),
    ("case.reply.send", "发送回复", "Send reply"),
    ("case.rule.invalid", "填写有误", "is not valid"),
    ("case.rule.required", "此项必填", "is required"),
    ("case.rule.too_long", "内容过长", "is too long"),
    ("case.rule.invalid_choice", "请从列表中选择", "choose one of the options"),
    ("case.rule.invalid_time", "请填写日期和时间", "enter a date and time"),
    ("case.rule.in_future", "不能是将来的时间", "must not be in the future"),
    ("case.rule.invalid_amount", "请填写金额，如 1250.50", "enter an amount such as 1250.50"),
    ("case.rule.invalid_asset", "请填写币种代码，如 USDT", "enter a code such as USDT"),
    (
        "case.rule.invalid_tx_hash",
        "请填写区块浏览器中显示的交易哈希",
        "enter the transaction hash as the explorer shows it",
    ),
    ("case.rule.invalid_category", "请选择问题类别", "choose what it is about"),
    ("case.field.subject", "标题", "Subject"),
    ("case.field.body", "问题描述", "Description"),
    ("case.field.category", "类别", "Category"),
    ("case.status", "状态", "Status"),
    ("case.subject", "标题", "Subject"),
    ("case.updated", "最近更新", "Last update"),
    ("desk.nav.cases", "工单", "Cases"),
    ("desk.cases.title", "工单", "Cases"),
    ("desk.cases.empty", "此队列中没有工单。", "No cases in this queue."),
    ("desk.cases.new", "新建工单", "Open a case"),
    ("desk.cases.queues", "队列", "Queues"),
    ("desk.queue.mine", "我的", "Mine"),
    ("desk.queue.team", "团队", "Team"),
    ("desk.queue.unassigned", "未分配", "Unassigned"),
    ("desk.queue.at_risk", "即将超时", "At risk"),
    ("desk.queue.breached", "已超时", "Breached"),
    ("desk.presence.away", "离开", "Away"),
    ("desk.presence.online", "在线", "Online"),
    ("desk.presence.go_away", "设为离开", "Go away"),
    ("desk.presence.go_online", "上线接单", "Go online"),
    ("desk.sla.on_track", "正常", "On track"),
    ("desk.sla.at_risk", "即将超时", "At risk"),
    ("desk.sla.breached", "已超时", "Breached"),
    ("desk.sla.paused", "已暂停", "Paused"),
    ("desk.sla.none", "无时限", "No deadline"),
    ("desk.target.first_response", "首次回复", "First response"),
    ("desk.target.next_reply", "下次回复", "Next reply"),
    ("desk.target.resolution", "解决", "Resolution"),
    ("desk.case.add_note", "添加内部备注", "Add internal note"),
    ("desk.case.assign_to", "分配给", "Assign to"),
    ("desk.case.assigned", "已更新分配。", "Assignment updated."),
    ("desk.case.assignee", "处理人", "Assignee"),
    ("desk.case.due", "截止时间", "Due"),
    ("desk.case.first_message", "用户的描述", "The holder's description"),
    ("desk.case.holder", "用户", "Holder"),
    ("desk.case.internal", "内部", "Internal"),
    ("desk.case.keep_status", "保持当前状态", "Keep the status"),
    ("desk.case.language", "语言", "Language"),
    ("desk.case.no_account", "找不到该用户账户。", "No account with this id."),
    ("desk.case.noted", "内部备注已添加。", "Internal note added."),
    ("desk.case.opened", "工单已创建。", "Case opened."),
    ("desk.case.paused", "已暂停（等待用户）", "Paused (waiting for the holder)"),
    ("desk.case.priority", "优先级", "Priority"),
    ("desk.case.released", "限制已解除，已记录在工单中。", "The hold was lifted and recorded on the case."),
    ("desk.case.reroute", "重新分配", "Route again"),
    ("desk.case.send_reply", "发送公开回复", "Send public reply"),
    ("desk.case.sent", "回复已发送给用户。", "Reply sent to the holder."),
    ("desk.case.set_status", "更改状态", "Change status"),
    ("desk.case.sla", "服务时限", "SLA"),
    ("desk.case.status_changed", "状态已更改。", "Status changed."),
    ("desk.case.take", "由我处理", "Take it"),
    ("desk.case.then_status", "发送后的状态", "Then set the status to"),
    ("desk.case.tier", "级别", "tier"),
    ("desk.case.unassigned", "未分配", "Unassigned"),
    ("desk.case.why", "分配原因：", "Routed because:"),
    ("desk.case.write", "回复或备注", "Reply or note"),
    ("desk.panel.title", "用户信息", "Customer"),
    ("desk.panel.account", "账户", "Account"),
    ("desk.panel.flags", "风险标记（7 天）", "Risk flags (7 days)"),
    ("desk.panel.holds", "当前限制", "Active holds"),
    ("desk.panel.money", "充值、提现与交易（7 天）", "Deposits, withdrawals and trades (7 days)"),
    ("desk.panel.none", "无", "None"),
    ("desk.panel.previous", "以往工单", "Previous cases"),
    ("desk.panel.sign_ins", "近期登录（7 天）", "Recent sign-ins (7 days)"),
    ("desk.event.opened", "创建", "Opened"),
    ("desk.event.routed", "路由", "Routed"),
    ("desk.event.assigned", "分配", "Assigned"),
    ("desk.event.status", "状态", "Status"),
    ("desk.event.reopened", "重新打开", "Reopened"),
    ("desk.event.sla_warning", "时限已用 80%", "80 % of the target used"),
    ("desk.event.sla_breached", "已超时", "Target breached"),
    ("desk.event.repeat_contact", "重复联系，之前的工单", "Repeat contact; earlier case"),
    ("desk.event.followed_up", "已转入跟进工单", "Followed up in"),
    ("desk.event.hold_released", "解除限制", "Hold lifted"),
    ("desk.event.security_context", "安全上下文", "Security context"),
    ("desk.refused.other", "操作未能完成。", "The action could not be done."),
    ("desk.refused.forbidden", "您的角色不能执行此操作。", "Your role may not do this."),
    ("desk.refused.invalid_transition", "不能变更为该状态。", "The case cannot move to that status."),
    ("desk.refused.required", "请先填写内容。", "Write something first."),
    ("desk.refused.too_long", "内容过长。", "The text is too long."),
    ("desk.refused.case_busy", "工单正被他人修改，请重试。", "Someone else is changing the case; try again."),
    ("desk.refused.case_closed", "工单已解决或关闭。", "The case is resolved or closed."),
    ("desk.refused.unknown_staff", "找不到该工作人员。", "No such staff member."),
    ("desk.refused.not_an_agent", "只有客服和主管可以处理工单。", "Only agents and supervisors work cases."),
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

/// The text of `key` in `locale`, if the catalogue has it.
pub fn lookup(locale: Locale, key: &str) -> Option<&'static str> {
    table().get(key).map(|(zh, en)| if locale == Locale::ZhCn { *zh } else { *en })
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
        for dir in
            ["templates", "templates/desk", "templates/portal", "templates/security", "src", "src/pages", "src/api"]
        {
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
                let prefixes = ["common.", "desk.", "portal.", "error.", "sec."];
                if prefixes.iter().any(|p| part.starts_with(p))
                    && !part.ends_with(".html")
                    && !part.ends_with('.')
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
