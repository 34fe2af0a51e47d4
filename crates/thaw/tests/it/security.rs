//! The security centre, on both backends, as an account holder's browser and the platform's
//! backend use it: single sign-on, email codes, TOTP checked against pyotp (an independent
//! implementation), self-freeze and the single-use freeze link of alert emails received by a
//! real SMTP server (aiosmtpd), self-service thaw by step-up, challenges, confidential holds.

use crate::on_both_backends;
use crate::support::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SSO_SECRET: &str = "platform-shared-secret-0123456789abcdef";

fn now_s() -> i64 {
    thaw_services::now_ms() / 1000
}

fn sso_token(sub: &str, email: &str, exp_s: i64, jti: &str) -> String {
    thaw_services::sso::sign_hs256(
        SSO_SECRET.as_bytes(),
        &json!({"sub": sub, "email": email, "exp": exp_s, "jti": jti}),
    )
}

/// Python with `module` importable, or None (then the test says so and, when the test script
/// requires these tools, fails).
fn python_with(module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok && std::env::var("THAW_TEST_REQUIRE_PYTHON").is_ok() {
        panic!("python3 with {module} is required (scripts/test installs it)");
    }
    if !ok {
        eprintln!("skipping: python3 module {module} is not installed");
    }
    ok
}

/// The current TOTP code of `secret` as pyotp computes it.
fn pyotp_now(secret: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())", secret])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A real SMTP server (aiosmtpd) writing what it receives into a Maildir.
struct SmtpSink {
    port: u16,
    dir: PathBuf,
    child: std::process::Child,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = temp_dir("maildir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("mail"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        SmtpSink { port, dir, child }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits for a message to `to` whose decoded text contains `needle`; returns (text, html).
    async fn wait_for(&self, to: &str, needle: &str) -> (String, String) {
        for _ in 0..200 {
            for m in self.messages() {
                if m["to"].as_str().is_some_and(|t| t.contains(to))
                    && m["text"].as_str().is_some_and(|t| t.contains(needle))
                {
                    return (m["text"].as_str().unwrap().into(), m["html"].as_str().unwrap_or("").into());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no email to {to} containing {needle:?}; got {:?}", self.messages());
    }

    /// Every received message, decoded by Python's email package.
    fn messages(&self) -> Vec<Value> {
        let new = self.dir.join("mail").join("new");
        let script = r#"
import email, json, os, sys
from email import policy
out = []
d = sys.argv[1]
for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    m = email.message_from_bytes(open(os.path.join(d, name), 'rb').read(), policy=policy.default)
    text = m.get_body(('plain',)); html = m.get_body(('html',))
    out.append({"to": str(m['to']), "subject": str(m['subject']), "text": text.get_content() if text else "", "html": html.get_content() if html else ""})
print(json.dumps(out))
"#;
        let out = std::process::Command::new("python3").args(["-c", script]).arg(&new).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_policy(self_freeze_wait: &str) -> PathBuf {
    let text = thaw_engines::risk::policy::DEFAULT_POLICY
        .replace("self_freeze_wait = \"2h\"", &format!("self_freeze_wait = \"{self_freeze_wait}\""));
    assert_ne!(text, thaw_engines::risk::policy::DEFAULT_POLICY, "the default policy names self_freeze_wait");
    let path = temp_dir("policy").join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn server(b: Backend, smtp: Option<&SmtpSink>, policy: Option<&Path>) -> TestServer {
    let smtp = smtp.map(|s| s.url());
    let policy = policy.map(Path::to_path_buf);
    TestServer::start_with(b, move |c| {
        c.sso_hs256_secret = Some(SSO_SECRET.into());
        c.smtp_url = smtp;
        c.policy_file = policy;
        c.alert_throttle_secs = 600;
    })
    .await
}

pub(crate) async fn put_account(s: &TestServer, key: &str, id: &str, email: &str) {
    let res = client()
        .put(s.url(&format!("/api/v1/accounts/{id}")))
        .bearer_auth(key)
        .json(&json!({"email": email, "locale": "en"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

async fn event(s: &TestServer, key: &str, body: Value) -> Value {
    let res = client().post(s.url("/api/v1/events")).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn login(id: &str, account: &str, device: &str, country: &str, city: &str, lat: f64, lon: f64) -> Value {
    json!({"id": id, "account_id": account, "kind": "login_succeeded", "occurred_at": thaw_services::rfc3339(thaw_services::now_ms()),
           "ip": "203.0.113.7", "device_id": device, "user_agent": "Test/1.0",
           "geo": {"country": country, "city": city, "lat": lat, "lon": lon}})
}

/// The newest email with a one-time code thaw stored for `account` (sent or not); alerts
/// written in between are passed over.
async fn last_code(s: &TestServer, account: &str) -> String {
    let emails = thaw_services::mail::recent(&s.db, Some(account), 20).await.unwrap();
    emails.iter().find(|e| e.purpose.ends_with("_code")).map(|e| e.body_text.clone()).unwrap_or_default()
}

fn code_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_string()
}

/// A holder's browser signed in by the email code flow; returns the client and its CSRF token.
pub(crate) async fn holder_by_email(s: &TestServer, email: &str, account: &str) -> (reqwest::Client, String) {
    let c = browser();
    let csrf = s.csrf_of(&c, "/security/sign-in").await;
    let res =
        c.post(s.url("/security/sign-in")).form(&[("csrf", csrf.as_str()), ("email", email)]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let code = code_in(&last_code(s, account).await);
    let res = c
        .post(s.url("/security/sign-in/code"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("code", code.as_str()), ("next", "/security")])
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/security"));
    let csrf = s.csrf_of(&c, "/security").await;
    (c, csrf)
}

async fn page(c: &reqwest::Client, s: &TestServer, path: &str) -> (u16, String) {
    let res = c.get(s.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Posts a form and returns (status, Location header).
async fn form(c: &reqwest::Client, s: &TestServer, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = c.post(s.url(path)).form(fields).send().await.unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status().as_u16(), location)
}

/// Enrols TOTP through the factors page; returns its secret.
async fn enrol_totp(c: &reqwest::Client, s: &TestServer, csrf: &str) -> String {
    let res = c.post(s.url("/security/factors/totp")).form(&[("csrf", csrf)]).send().await.unwrap();
    let html = res.text().await.unwrap();
    let secret = between(&html, "data-testid=\"totp-secret\">", "<").to_string();
    let factor = between(&html, "name=\"factor_id\" value=\"", "\"").to_string();
    assert!(html.contains("data:image/svg+xml;base64,"), "a QR code rendered by the server");
    let code = pyotp_now(&secret);
    let res = c
        .post(s.url("/security/factors/totp/confirm"))
        .form(&[("csrf", csrf), ("factor_id", factor.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"recovery-codes\""), "recovery codes are shown once after the first factor");
    secret
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let at = s.find(start).unwrap_or_else(|| panic!("{start} not in page")) + start.len();
    &s[at..at + s[at..].find(end).unwrap()]
}

/// Waits for the next TOTP step, so a fresh code is not the one just used.
async fn next_totp_step() {
    let step = thaw_services::now_ms() / 30_000;
    while thaw_services::now_ms() / 30_000 == step {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

on_both_backends! {
    async fn sso_opens_a_session_once_and_refuses_expired_forged_and_long_lived_tokens(b) {
        let s = server(b, None, None).await;
        let c = browser();
        let ok = sso_token("sso-user-1", "sso1@example.com", now_s() + 120, "jti-1");
        let res = c.get(s.url(&format!("/sso?token={ok}&next=/security/history"))).send().await.unwrap();
        assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/security/history"));
        let (st, html) = page(&c, &s, "/security").await;
        assert_eq!(st, 200);
        assert!(html.contains("sso-user-1") && html.contains("sso1@example.com"), "the account was created from the token");

        for (token, why) in [
            (ok.clone(), "replayed"),
            (sso_token("sso-user-1", "a@example.com", now_s() - 120, "jti-2"), "expired"),
            (sso_token("sso-user-1", "a@example.com", now_s() + 3600, "jti-3"), "lifetime_too_long"),
            (thaw_services::sso::sign_hs256(b"another-secret-of-the-attacker-0123456789", &json!({"sub": "sso-user-1", "exp": now_s() + 60, "jti": "jti-4"})), "bad_signature"),
            ("not.a.token".to_string(), "malformed"),
        ] {
            let fresh = browser();
            let res = fresh.get(s.url(&format!("/sso?token={token}"))).send().await.unwrap();
            assert_eq!(res.status(), 401, "{why}");
            assert!(res.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("thaw_holder=")), "{why}: no session");
            let (st, _) = page(&fresh, &s, "/security").await;
            assert_eq!(st, 303, "{why}: still signed out");
        }
    }
}

on_both_backends! {
    async fn email_codes_reveal_nothing_and_brute_force_is_throttled(b) {
        let s = server(b, None, None).await;
        let key = s.api_key().await;
        put_account(&s, &key, "code-user", "known@example.com").await;
        // The same answer whether or not the email is known.
        let mut answers = Vec::new();
        for email in ["known@example.com", "nobody@example.com"] {
            let c = browser();
            let csrf = s.csrf_of(&c, "/security/sign-in").await;
            let res = c.post(s.url("/security/sign-in")).form(&[("csrf", csrf.as_str()), ("email", email)]).send().await.unwrap();
            let st = res.status().as_u16();
            let html = res.text().await.unwrap().replace(&csrf, "").replace(email, "");
            answers.push((st, html));
        }
        assert_eq!(answers[0], answers[1], "a known and an unknown email get the same page");
        let code = code_in(&last_code(&s, "code-user").await);
        assert_eq!(thaw_services::mail::recent(&s.db, None, 10).await.unwrap().len(), 1, "only the known email got a code");

        // Five wrong codes use up the code's tries and pause this email from this address.
        let c = browser();
        let csrf = s.csrf_of(&c, "/security/sign-in").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let (st, _) = form(&c, &s, "/security/sign-in/code", &[("csrf", &csrf), ("email", "known@example.com"), ("code", wrong)]).await;
            assert_eq!(st, 401);
        }
        let (st, _) = form(&c, &s, "/security/sign-in/code", &[("csrf", &csrf), ("email", "known@example.com"), ("code", &code)]).await;
        assert_eq!(st, 429, "after five failures even the right code is refused for a while");
        let (st, _) = page(&c, &s, "/security").await;
        assert_eq!(st, 303, "no session");
    }
}

on_both_backends! {
    async fn totp_codes_from_pyotp_work_once_and_recovery_codes_once(b) {
        if !python_with("pyotp") { return; }
        let s = server(b, None, None).await;
        let key = s.api_key().await;
        put_account(&s, &key, "totp-user", "totp@example.com").await;
        let (c, csrf) = holder_by_email(&s, "totp@example.com", "totp-user").await;
        let secret = enrol_totp(&c, &s, &csrf).await;
        // A second enrolment is refused while one exists.
        let res = c.post(s.url("/security/factors/totp")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 409);

        next_totp_step().await;
        let code = pyotp_now(&secret);
        let verify = |code: String| {
            let c = c.clone();
            let csrf = csrf.clone();
            let url = s.url("/security/verify/totp");
            async move {
                let res = c.post(url).form(&[("csrf", csrf.as_str()), ("code", code.as_str()), ("next", "/security/factors")]).send().await.unwrap();
                res.headers()["location"].to_str().unwrap().to_string()
            }
        };
        assert_eq!(verify(code.clone()).await, "/security/factors?notice=verified");
        assert_eq!(verify(code).await, "/security/factors?notice=code_replayed", "a code cannot be replayed");
        assert_eq!(verify("12345".into()).await, "/security/factors?notice=wrong_code");

        // Recovery codes: ten, each once.
        let html = c.post(s.url("/security/factors/recovery")).form(&[("csrf", csrf.as_str())]).send().await.unwrap().text().await.unwrap();
        let first = between(&html, "<li><code>", "</code>").to_string();
        assert_eq!(html.matches("<li><code>").count(), 10);
        let use_code = |code: String| {
            let c = c.clone();
            let csrf = csrf.clone();
            let url = s.url("/security/verify/recovery");
            async move {
                let res = c.post(url).form(&[("csrf", csrf.as_str()), ("code", code.as_str()), ("next", "/security")]).send().await.unwrap();
                res.headers()["location"].to_str().unwrap().to_string()
            }
        };
        assert_eq!(use_code(first.to_uppercase()).await, "/security?notice=verified");
        assert_eq!(use_code(first).await, "/security?notice=wrong_code", "a recovery code works once");
    }
}

on_both_backends! {
    async fn alert_email_shows_the_anti_phishing_code_and_its_freeze_link_works_once(b) {
        if !python_with("aiosmtpd") { return; }
        let smtp = SmtpSink::start().await;
        let s = server(b, Some(&smtp), None).await;
        let key = s.api_key().await;
        put_account(&s, &key, "mail-user", "mail@example.com").await;
        let (c, csrf) = holder_by_email(&s, "mail@example.com", "mail-user").await;
        // The rule is named when the code breaks it.
        for (bad, rule) in [("short1", "at least 8 characters"), ("has space 123", "letters and digits")] {
            let res = c.post(s.url("/security/anti-phishing")).form(&[("csrf", csrf.as_str()), ("code", bad)]).send().await.unwrap();
            assert_eq!(res.status(), 422);
            assert!(res.text().await.unwrap().contains(rule), "{bad}");
        }
        let (st, _) = form(&c, &s, "/security/anti-phishing", &[("csrf", &csrf), ("code", "Blue42Harbor")]).await;
        assert_eq!(st, 303);

        event(&s, &key, login("m1", "mail-user", "phone-1", "CN", "Shanghai", 31.23, 121.47)).await;
        let d = event(&s, &key, login("m2", "mail-user", "laptop-9", "DE", "Frankfurt", 50.11, 8.68)).await;
        assert_ne!(d["action"], "allow", "Shanghai then Frankfurt at once");
        let (text, html) = smtp.wait_for("mail@example.com", "A new device signed in").await;
        assert!(text.starts_with("Your anti-phishing code: Blue42Harbor"), "the code comes first: {text}");
        assert!(html.contains("Blue42Harbor"));
        assert!(text.contains("laptop-9") && text.contains("Frankfurt") && text.contains("203.0.113.7"), "facts: {text}");
        let link = text.split_whitespace().find(|w| w.contains("/freeze/")).expect("a freeze link").to_string();
        let path = &link[link.find("/freeze/").unwrap()..];

        // Anyone with the link, not signed in: looking uses nothing up, the button freezes once.
        let stranger = browser();
        let (st, body) = page(&stranger, &s, path).await;
        assert_eq!(st, 200);
        let seed = csrf_in(&body).unwrap();
        let (st, _) = page(&stranger, &s, path).await;
        assert_eq!(st, 200, "opening the link twice (mail scanners do) still works");
        let res = stranger.post(s.url(path)).form(&[("csrf", seed.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("data-testid=\"frozen\""));
        let res = stranger.post(s.url(path)).form(&[("csrf", seed.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 410, "the link works once");

        let status: Value = client().get(s.url("/api/v1/accounts/mail-user/status")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!((status["login"].as_str(), status["withdraw"].as_str()), (Some("held"), Some("held")));
        let holds: Value = client().get(s.url("/api/v1/accounts/mail-user/holds")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        let frozen = holds.as_array().unwrap().iter().find(|h| h["origin"] == "self").expect("a self-freeze");
        assert_eq!((frozen["release_policy"].as_str(), frozen["scopes"][0].as_str()), (Some("owner_two_factors"), Some("all")));
        // The case desk opens an account_theft case with the security context (the server's own
        // timer may have done it already; it happens once either way).
        let desk = thaw_services::cases::Desk::default();
        thaw_services::cases::open_automatic(&s.db, &desk, thaw_services::now_ms()).await.unwrap();
        let mut conn = s.db.conn().await.unwrap();
        let opened = thaw_store::Capabilities::cases(&mut *conn).of_account("mail-user", 10).await.unwrap();
        let theft: Vec<_> = opened.iter().filter(|c| c.category == thaw_domain::CaseCategory::AccountTheft).collect();
        assert_eq!(theft.len(), 1, "the case desk must open an account_theft case");
        let timeline = thaw_store::Capabilities::cases(&mut *conn).timeline(&theft[0].id, true).await.unwrap();
        assert!(
            timeline.iter().any(|e| e.kind == "security_context" && e.data.to_string().contains("laptop-9")),
            "with the security context"
        );
        // The holder hears about the hold too.
        smtp.wait_for("mail@example.com", "Your account has been restricted").await;
    }
}

on_both_backends! {
    async fn self_freeze_is_lifted_by_two_factors_after_the_wait_then_withdrawals_cool_down(b) {
        if !python_with("pyotp") { return; }
        let policy = write_policy("2s");
        let s = server(b, None, Some(&policy)).await;
        let key = s.api_key().await;
        put_account(&s, &key, "thaw-user", "thaw@example.com").await;
        let (c, csrf) = holder_by_email(&s, "thaw@example.com", "thaw-user").await;
        let secret = enrol_totp(&c, &s, &csrf).await;
        let (st, loc) = form(&c, &s, "/security/freeze", &[("csrf", &csrf)]).await;
        assert_eq!((st, loc.as_str()), (303, "/security?notice=frozen"));
        let (_, html) = page(&c, &s, "/security").await;
        let hold = between(&html, "data-testid=\"lift-", "\"").to_string();
        assert!(html.contains("You froze your account yourself"));
        // Factors verified before the freeze (email sign-in, TOTP enrolment) do not count for it.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let res = c.post(s.url(&format!("/security/holds/{hold}/release"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 403, "verifications from before the freeze do not lift it");

        // A new session: no factor verified yet.
        let (c, csrf) = {
            let fresh = browser();
            let token = sso_token("thaw-user", "thaw@example.com", now_s() + 60, &unique("jti"));
            fresh.get(s.url(&format!("/sso?token={token}"))).send().await.unwrap();
            let csrf = s.csrf_of(&fresh, "/security").await;
            (fresh, csrf)
        };
        let release = format!("/security/holds/{hold}/release");
        let res = c.post(s.url(&release)).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("More verification is needed"));
        next_totp_step().await;
        let code = pyotp_now(&secret);
        let (_, loc) = form(&c, &s, "/security/verify/totp", &[("csrf", &csrf), ("code", &code), ("next", "/security")]).await;
        assert_eq!(loc, "/security?notice=verified");
        let res = c.post(s.url(&release)).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 403, "one factor is not enough for a self-freeze");
        let (_, loc) = form(&c, &s, "/security/verify/email/send", &[("csrf", &csrf), ("next", "/security")]).await;
        assert_eq!(loc, "/security?notice=code_sent");
        let code = code_in(&last_code(&s, "thaw-user").await);
        let (_, loc) = form(&c, &s, "/security/verify/email", &[("csrf", &csrf), ("code", &code), ("next", "/security")]).await;
        assert_eq!(loc, "/security?notice=verified");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (st, loc) = form(&c, &s, &release, &[("csrf", &csrf)]).await;
        assert_eq!((st, loc), (303, format!("/security/thawed/{hold}")));
        let (_, html) = page(&c, &s, &format!("/security/thawed/{hold}")).await;
        assert!(html.contains("data-testid=\"cooldown\"") && html.contains("data-testid=\"checklist\""));
        let status: Value = client().get(s.url("/api/v1/accounts/thaw-user/status")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!((status["login"].as_str(), status["withdraw"].as_str()), (Some("allowed"), Some("held")), "withdrawals cool down");
    }
}

on_both_backends! {
    async fn waiting_period_of_a_self_freeze_is_enforced(b) {
        let s = server(b, None, None).await;
        let key = s.api_key().await;
        put_account(&s, &key, "wait-user", "wait@example.com").await;
        let (c, csrf) = holder_by_email(&s, "wait@example.com", "wait-user").await;
        form(&c, &s, "/security/freeze", &[("csrf", &csrf)]).await;
        let (_, html) = page(&c, &s, "/security").await;
        let hold = between(&html, "data-testid=\"lift-", "\"").to_string();
        assert!(html.contains("data-next=\"wait\""), "the card says when it can be lifted");
        let res = c.post(s.url(&format!("/security/holds/{hold}/release"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
}

on_both_backends! {
    async fn a_compliance_hold_cannot_be_self_released_and_its_reason_never_reaches_the_holder(b) {
        let s = server(b, None, None).await;
        let key = s.api_key().await;
        put_account(&s, &key, "ofac-user", "ofac@example.com").await;
        let address = "0x01E2919679362DFBC9EE1644BA9C6DA6D6245BB1";
        let d = event(&s, &key, json!({"id": "w-ofac", "account_id": "ofac-user", "kind": "withdrawal_requested",
            "occurred_at": thaw_services::rfc3339(thaw_services::now_ms()), "amount": "900", "asset": "USDT", "address": address, "network": "ETH"})).await;
        let hold = d["holds"][0]["id"].as_str().unwrap().to_string();
        let (c, csrf) = holder_by_email(&s, "ofac@example.com", "ofac-user").await;
        let mut seen = String::new();
        for path in ["/security", &format!("/security/holds/{hold}"), "/security/history"] {
            let (st, html) = page(&c, &s, path).await;
            assert_eq!(st, 200, "{path}");
            seen.push_str(&html);
        }
        assert!(seen.contains("A compliance review is under way"));
        // Let the alert job run, then look at everything the holder was sent too.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        for e in thaw_services::mail::recent(&s.db, Some("ofac-user"), 20).await.unwrap() {
            seen.push_str(&e.body_text);
            seen.push_str(&e.body_html);
        }
        for secret in [address, &address.to_lowercase(), "OFAC", "sanction", "Sanction"] {
            assert!(!seen.contains(secret), "the holder must not see {secret}");
        }
        let res = c.post(s.url(&format!("/security/holds/{hold}/release"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("Only the compliance team"));
        let status: Value = client().get(s.url("/api/v1/accounts/ofac-user/status")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(status["withdraw"], "held");
    }
}

on_both_backends! {
    async fn passing_a_challenge_reports_challenge_passed_and_trusts_the_device(b) {
        let s = server(b, None, None).await;
        let key = s.api_key().await;
        put_account(&s, &key, "ch-user", "ch@example.com").await;
        event(&s, &key, login("c1", "ch-user", "phone-1", "CN", "Shanghai", 31.23, 121.47)).await;
        let d = event(&s, &key, login("c2", "ch-user", "tablet-2", "CN", "Shanghai", 31.23, 121.47)).await;
        assert_eq!(d["action"], "challenge");
        let url = d["challenge_url"].as_str().unwrap();
        let path = &url[url.find("/security/challenge/").unwrap()..];
        // Strangers are sent to sign in first, and brought back.
        let (st, _) = page(&browser(), &s, path).await;
        assert_eq!(st, 303);
        let (c, csrf) = holder_by_email(&s, "ch@example.com", "ch-user").await;
        let (st, html) = page(&c, &s, path).await;
        assert_eq!(st, 200);
        assert!(html.contains("tablet-2") && html.contains("203.0.113.7"), "the page names the device and IP");
        let (st, loc) = form(&c, &s, &format!("{path}/pass"), &[("csrf", &csrf)]).await;
        assert_eq!((st, loc), (303, format!("{path}?notice=challenge_passed")), "the email sign-in counts as the factor");
        let again = event(&s, &key, login("c3", "ch-user", "tablet-2", "CN", "Shanghai", 31.23, 121.47)).await;
        assert_eq!(again["action"], "allow", "the engine now trusts the device");
        // Another holder cannot see this challenge.
        put_account(&s, &key, "other-user", "other@example.com").await;
        let (other, _) = holder_by_email(&s, "other@example.com", "other-user").await;
        let (st, _) = page(&other, &s, path).await;
        assert_eq!(st, 404);
    }
}

on_both_backends! {
    async fn staff_use_totp_on_the_same_mechanism_and_admins_can_require_it(b) {
        if !python_with("pyotp") { return; }
        let s = server(b, None, None).await;
        let (email, password) = s.staff("agent_t1").await;
        let sign_in = |code: String| {
            let (email, password) = (email.clone(), password.clone());
            let url = s.url("/desk/sign-in");
            let seed_url = s.url("/desk/sign-in");
            async move {
                let c = browser();
                let html = c.get(seed_url).send().await.unwrap().text().await.unwrap();
                let csrf = csrf_in(&html).unwrap();
                let res = c.post(url).form(&[("email", email.as_str()), ("password", password.as_str()), ("code", code.as_str()), ("csrf", csrf.as_str())]).send().await.unwrap();
                (res.status().as_u16(), c)
            }
        };
        let (st, c) = sign_in(String::new()).await;
        assert_eq!(st, 303, "no TOTP yet: the password is enough");
        let csrf = s.csrf_of(&c, "/desk/security").await;
        let html = c.post(s.url("/desk/security/totp")).form(&[("csrf", csrf.as_str())]).send().await.unwrap().text().await.unwrap();
        let secret = between(&html, "data-testid=\"totp-secret\">", "<").to_string();
        let factor = between(&html, "name=\"factor_id\" value=\"", "\"").to_string();
        let code = pyotp_now(&secret);
        let res = c.post(s.url("/desk/security/totp/confirm")).form(&[("csrf", csrf.as_str()), ("factor_id", factor.as_str()), ("code", code.as_str())]).send().await.unwrap();
        assert!(res.text().await.unwrap().contains("data-testid=\"recovery-codes\""));

        let (st, _) = sign_in(String::new()).await;
        assert_eq!(st, 401, "with TOTP set up the password alone is refused");
        let (st, _) = sign_in("000000".into()).await;
        assert_eq!(st, 401);
        next_totp_step().await;
        let (st, _) = sign_in(pyotp_now(&secret)).await;
        assert_eq!(st, 303);

        // An admin requires TOTP: a colleague without it can only reach the enrolment page.
        let (admin, admin_csrf) = s.signed_in("admin").await;
        let (agent, agent_csrf) = s.signed_in("agent_t2").await;
        let res = agent.post(s.url("/desk/security/require-totp")).form(&[("csrf", agent_csrf.as_str()), ("required", "true")]).send().await.unwrap();
        assert_eq!(res.status(), 403, "only admins set the requirement");
        let res = admin.post(s.url("/desk/security/require-totp")).form(&[("csrf", admin_csrf.as_str()), ("required", "true")]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let res = agent.get(s.url("/desk/accounts")).send().await.unwrap();
        assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/desk/security"));
        let res = agent.get(s.url("/desk/security")).send().await.unwrap();
        assert!(res.text().await.unwrap().contains("data-testid=\"must-enrol\""));
        let res = agent.get(s.url("/api/v1/accounts")).send().await.unwrap();
        assert_eq!(res.status(), 403, "the API is closed to them too");
    }
}

on_both_backends! {
    async fn alerts_of_a_kind_are_throttled_per_account_and_reach_the_platform_by_webhook(b) {
        let s = server(b, None, None).await;
        let key = s.api_key().await;
        let (admin, csrf) = s.signed_in("admin").await;
        // The platform subscribes to alerts (for its SMS and push); the receiver need not exist.
        let res = admin
            .post(s.url("/api/v1/webhooks"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"url": "http://127.0.0.1:9/hook", "event_types": ["alert.created"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        put_account(&s, &key, "th-user", "th@example.com").await;
        event(&s, &key, login("t1", "th-user", "phone-1", "CN", "Shanghai", 31.23, 121.47)).await;
        for (id, device) in [("t2", "tablet-2"), ("t3", "laptop-3")] {
            let d = event(&s, &key, login(id, "th-user", device, "CN", "Shanghai", 31.23, 121.47)).await;
            assert!(d["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "new_device"), "{d}");
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let alerts = thaw_services::alerts::for_account(&s.db, "th-user", 10).await.unwrap();
        let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "new_device").count(), 1, "one new-device alert per 10 minutes: {kinds:?}");
        let facts: Value = serde_json::from_str(&alerts.iter().find(|a| a.kind == "new_device").unwrap().facts).unwrap();
        assert_eq!((facts["device"].as_str(), facts["ip"].as_str()), (Some("tablet-2 · Test/1.0"), Some("203.0.113.7")));
        let n: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event_type = 'alert.created'").fetch_one(s.db.pool()).await.unwrap(),
            "n",
        )
        .unwrap();
        assert_eq!(n as usize, alerts.len(), "every alert is also a webhook delivery");
        // Each alert job, the one sent and the one throttled, was marked done with its delivery.
        let jobs: Vec<(Option<i64>, i64)> = sqlx::query_as("SELECT done_at, attempts FROM jobs WHERE kind = 'alert'")
            .fetch_all(s.db.pool())
            .await
            .unwrap();
        assert!(jobs.len() >= 2, "{jobs:?}");
        assert!(jobs.iter().all(|(done, attempts)| done.is_some() && *attempts == 1), "{jobs:?}");
    }
}

on_both_backends! {
    async fn alert_jobs_run_in_batches_and_a_bad_one_spoils_only_itself(b) {
        let s = server(b, None, None).await;
        let key = s.api_key().await;
        for id in ["ab-1", "ab-2"] {
            put_account(&s, &key, id, &format!("{id}@example.com")).await;
        }
        // Three alert jobs due at once, as the runner claims them in one batch: two good ones
        // and one whose payload is not JSON, which fails the batch's transaction.
        let now = thaw_services::now_ms();
        let mut conn = s.db.write_conn().await.unwrap();
        for (id, payload) in [
            ("job-ab-1", json!({"account_id": "ab-1", "kind": "new_device", "facts": {"device": "d1"}, "at": now}).to_string()),
            ("job-ab-bad", "not json".to_string()),
            ("job-ab-2", json!({"account_id": "ab-2", "kind": "new_device", "facts": {"device": "d2"}, "at": now}).to_string()),
        ] {
            thaw_store::Capabilities::jobs(&mut *conn).schedule(id, "alert", &payload, now, now).await.unwrap();
        }
        drop(conn);
        let mut delivered = 0;
        for _ in 0..100 {
            delivered = 0;
            for id in ["ab-1", "ab-2"] {
                delivered += thaw_services::alerts::for_account(&s.db, id, 10).await.unwrap().len();
            }
            if delivered == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(delivered, 2, "each good alert is delivered once");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let jobs: Vec<(String, Option<i64>, i64, Option<String>)> =
            sqlx::query_as("SELECT id, done_at, attempts, last_error FROM jobs WHERE kind = 'alert' ORDER BY id")
                .fetch_all(s.db.pool())
                .await
                .unwrap();
        let by_id = |id: &str| jobs.iter().find(|j| j.0 == id).cloned().unwrap();
        for id in ["job-ab-1", "job-ab-2"] {
            let (_, done, attempts, _) = by_id(id);
            assert!(done.is_some(), "{id} is done: {jobs:?}");
            assert_eq!(attempts, 1, "{id} was claimed once: {jobs:?}");
        }
        let (_, done, attempts, error) = by_id("job-ab-bad");
        assert!(done.is_none() && attempts >= 1, "the bad job waits for its retry: {jobs:?}");
        assert!(error.is_some_and(|e| !e.is_empty()), "its error is recorded: {jobs:?}");
        let n: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE account_id IN ('ab-1', 'ab-2')").fetch_one(s.db.pool()).await.unwrap(),
            "n",
        )
        .unwrap();
        assert_eq!(n, 2, "nothing of the failed batch stayed");
    }
}
