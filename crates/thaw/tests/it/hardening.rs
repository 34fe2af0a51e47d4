//! Hardening, on both backends: signing in always mints a new session (a planted or stolen
//! cookie is never promoted) and a new CSRF token; forged cross-site forms change nothing; the
//! assistant is rate-limited per account.

use crate::on_both_backends;
use crate::security::holder_by_email;
use crate::support::*;
use serde_json::json;
use thaw_store::Capabilities;

fn session_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap().to_string()))
}

async fn desk_sign_in(s: &TestServer, cookie: &str, email: &str, password: &str) -> reqwest::Response {
    let anonymous = client();
    let page = anonymous.get(s.url("/desk/sign-in")).header("cookie", cookie).send().await.unwrap();
    let seed = session_cookie(&page, "thaw_csrf");
    // Someone already signed in is sent on from the sign-in page; their forms carry the token.
    let html = match page.status().is_redirection() {
        true => anonymous.get(s.url("/desk")).header("cookie", cookie).send().await.unwrap().text().await.unwrap(),
        false => page.text().await.unwrap(),
    };
    let csrf = csrf_in(&html).unwrap();
    let cookie = match seed {
        Some(seed) => format!("{cookie}; thaw_csrf={seed}"),
        None => cookie.to_string(),
    };
    anonymous
        .post(s.url("/desk/sign-in"))
        .header("cookie", cookie)
        .form(&[("email", email), ("password", password), ("csrf", csrf.as_str()), ("next", "/desk")])
        .send()
        .await
        .unwrap()
}

on_both_backends! {
    async fn signing_in_never_adopts_a_planted_session_and_renews_the_csrf_token(b) {
        let s = TestServer::start(b).await;
        // A session the attacker holds (their own sign-in), planted in the victim's browser.
        let (attacker, attacker_password) = s.staff("agent_t1").await;
        let res = desk_sign_in(&s, "thaw_session=planted-by-attacker", &attacker, &attacker_password).await;
        let attacker_token = session_cookie(&res, "thaw_session").expect("the attacker's session");
        assert_ne!(attacker_token, "planted-by-attacker", "a made-up value is never taken as a session");

        let (victim, victim_password) = s.staff("supervisor").await;
        let res = desk_sign_in(&s, &format!("thaw_session={attacker_token}"), &victim, &victim_password).await;
        assert_eq!(res.status(), 303);
        let victim_token = session_cookie(&res, "thaw_session").expect("a new session for the victim");
        assert_ne!(victim_token, attacker_token, "signing in mints a new session");

        // The planted session was ended, not promoted: it opens nothing any more.
        let whoami = |token: String| {
            let url = s.url("/api/v1/whoami");
            async move {
                let res = client().get(url).header("cookie", format!("thaw_session={token}")).send().await.unwrap();
                (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap()["role"].as_str().unwrap_or_default().to_string())
            }
        };
        assert_eq!(whoami(attacker_token).await, (401, String::new()));
        assert_eq!(whoami(victim_token.clone()).await, (200, "supervisor".to_string()));

        // The token of the forms before sign-in does not work after it.
        let before = csrf_in(&client().get(s.url("/desk/sign-in")).send().await.unwrap().text().await.unwrap()).unwrap();
        let signed_in = client();
        let html = signed_in.get(s.url("/desk")).header("cookie", format!("thaw_session={victim_token}")).send().await.unwrap().text().await.unwrap();
        let after = csrf_in(&html).unwrap();
        assert_ne!(before, after);
        let res = signed_in.post(s.url("/desk/presence")).header("cookie", format!("thaw_session={victim_token}"))
            .form(&[("csrf", before.as_str()), ("online", "1")]).send().await.unwrap();
        assert_eq!(res.status(), 403, "a pre-session token is refused on a signed-in form");
    }
}

on_both_backends! {
    async fn a_holder_sign_in_replaces_a_planted_cookie_and_forged_forms_change_nothing(b) {
        let s = crate::cases::server(b).await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/hard-1")).bearer_auth(&key)
            .json(&json!({"email": "hard-1@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());

        // A planted holder cookie is replaced on sign-in and never opens the security centre.
        let planted = client().get(s.url("/security")).header("cookie", "thaw_holder=planted").send().await.unwrap();
        assert_eq!(planted.status(), 303, "a made-up holder cookie is not a session");
        let (c, csrf) = holder_by_email(&s, "hard-1@mail.example", "hard-1").await;
        assert_eq!(c.get(s.url("/security")).send().await.unwrap().status(), 200);

        // A form another site makes the holder's browser send (no token, or a wrong one) freezes nothing.
        for token in ["", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"] {
            let res = c.post(s.url("/security/freeze")).form(&[("csrf", token)]).send().await.unwrap();
            assert_eq!(res.status(), 403, "forged token {token:?}");
        }
        let holds = s.db.conn().await.unwrap().holds().in_force("hard-1", thaw_services::now_ms()).await.unwrap();
        assert!(holds.is_empty(), "no hold was placed by a forged form: {holds:?}");
        // With the page's own token the same form works.
        let res = c.post(s.url("/security/freeze")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let holds = s.db.conn().await.unwrap().holds().in_force("hard-1", thaw_services::now_ms()).await.unwrap();
        assert_eq!(holds.len(), 1);
    }
}

on_both_backends! {
    async fn the_assistant_is_rate_limited_per_account(b) {
        let s = crate::cases::server(b).await;
        let (c, csrf) = crate::cases::holder(&s, "bot-busy").await;
        let ask = |c: reqwest::Client, csrf: String| {
            let url = s.url("/security/assistant");
            async move {
                c.post(url).form(&[("csrf", csrf.as_str()), ("message", "my withdrawal is stuck")]).send().await.unwrap()
            }
        };
        for i in 0..thaw_services::bot::MAX_MESSAGES_PER_WINDOW {
            let res = ask(c.clone(), csrf.clone()).await;
            assert_eq!(res.status(), 303, "message {i} is answered");
        }
        let res = ask(c.clone(), csrf.clone()).await;
        assert_eq!(res.status(), 429, "one message too many");
        let page = res.text().await.unwrap();
        assert!(page.contains("Too many requests"), "the page says why: {page}");
        // Another holder is not affected.
        let (other, other_csrf) = crate::cases::holder(&s, "bot-calm").await;
        assert_eq!(ask(other, other_csrf).await.status(), 303);
    }
}

on_both_backends! {
    async fn page_forms_with_a_nul_character_or_over_the_limit_are_refused_by_field_and_store_nothing(b) {
        // PostgreSQL cannot store NUL in text: such forms used to fail there with a 500.
        let s = crate::cases::server(b).await;
        let (c, csrf) = crate::cases::holder(&s, "nul-holder").await;
        let form = [("csrf", csrf.as_str()), ("category", "other"), ("subject", "Help\u{0}me"), ("body", "Please help.")];
        let res = c.post(s.url("/security/cases")).header("accept-language", "zh-CN").form(&form).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains("data-testid=\"error-field\""), "the field is named: {page}");
        assert!(page.contains("<code>subject</code>"), "{page}");
        let cases = s.db.conn().await.unwrap().cases().of_account("nul-holder", 10).await.unwrap();
        assert!(cases.is_empty(), "no case was opened: {cases:?}");

        // A NUL in a field's name is named too, and staff forms are covered the same way.
        let (desk, desk_csrf) = s.signed_in("agent_t1").await;
        let res = desk.post(s.url("/desk/presence")).form(&[("csrf", desk_csrf.as_str()), ("on\u{0}line", "1")]).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("<code>on\u{2400}line</code>"));

        // Over the body limit: 413 as a page, nothing stored.
        let huge = "x".repeat(3 * 1024 * 1024);
        let form = [("csrf", csrf.as_str()), ("category", "other"), ("subject", "Big"), ("body", huge.as_str())];
        let res = c.post(s.url("/security/cases")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 413);
        assert!(res.text().await.unwrap().contains("too large"));
        assert!(s.db.conn().await.unwrap().cases().of_account("nul-holder", 10).await.unwrap().is_empty());

        // The same form without the NUL opens the case.
        let form = [("csrf", csrf.as_str()), ("category", "other"), ("subject", "Help me"), ("body", "Please help.")];
        assert_eq!(c.post(s.url("/security/cases")).form(&form).send().await.unwrap().status(), 303);
        assert_eq!(s.db.conn().await.unwrap().cases().of_account("nul-holder", 10).await.unwrap().len(), 1);
    }
}
