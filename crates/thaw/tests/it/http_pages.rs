//! The desk and portal pages through real HTTP: sign-in, CSRF, throttling, sessions shared
//! through the database, language, security headers.

use crate::on_both_backends;
use crate::support::*;

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

async fn sign_in(s: &TestServer, c: &reqwest::Client, email: &str, password: &str, ip: &str) -> reqwest::Response {
    let csrf = s.csrf_of(c, "/desk/sign-in").await;
    c.post(s.url("/desk/sign-in"))
        .header("x-forwarded-for", ip)
        .form(&[("email", email), ("password", password), ("csrf", &csrf), ("next", "/desk/accounts")])
        .send()
        .await
        .unwrap()
}

on_both_backends! {
    async fn staff_sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session(b) {
        let s = TestServer::start(b).await;
        let (email, password) = s.staff("agent_t1").await;
        let c = browser();
        let res = c.get(s.url("/desk")).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/desk/sign-in?next=%2Fdesk");

        let res = sign_in(&s, &c, &email, &password, "").await;
        assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/desk/accounts"));
        let session_cookie = set_cookies(&res).into_iter().find(|c| c.starts_with("thaw_session=")).expect("session cookie");
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(session_cookie.contains(flag), "{session_cookie}");
        }
        assert!(!session_cookie.contains("Secure"), "not Secure over plain HTTP");
        let token = session_cookie.split(';').next().unwrap().trim_start_matches("thaw_session=").to_string();

        let home = c.get(s.url("/desk")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("data-testid=\"whoami\""), "signed in");
        // The token is not stored as such: only its hash.
        let stored: Vec<String> = sqlx::query("SELECT token_hash FROM staff_sessions").fetch_all(s.db.pool()).await.unwrap()
            .iter().map(|r| sqlx::Row::try_get(r, "token_hash").unwrap()).collect();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], token);

        let csrf = s.csrf_of(&c, "/desk").await;
        let res = c.post(s.url("/desk/sign-out")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/desk/sign-in?signed_out=1");
        // The old cookie no longer opens the desk, even replayed by hand.
        let replay = client().get(s.url("/desk")).header("cookie", format!("thaw_session={token}")).send().await.unwrap();
        assert_eq!(replay.status(), 303);
    }
}

on_both_backends! {
    async fn wrong_passwords_and_missing_csrf_are_refused(b) {
        let s = TestServer::start(b).await;
        let (email, _) = s.staff("agent_t1").await;
        let c = browser();
        let res = sign_in(&s, &c, &email, "wrong password!", "").await;
        assert_eq!(res.status(), 401);
        let page = res.text().await.unwrap();
        assert!(page.contains("data-testid=\"signin-error\""));
        assert!(page.contains(&email), "the email is kept in the form");
        let res = sign_in(&s, &c, "nobody@desk.example", "whatever-password", "").await;
        assert_eq!(res.status(), 401, "same answer for an unknown email");

        let res = c.post(s.url("/desk/sign-in")).form(&[("email", email.as_str()), ("password", "x"), ("csrf", "forged")]).send().await.unwrap();
        assert_eq!(res.status(), 403, "forged CSRF token");
        let res = client().post(s.url("/desk/sign-in")).form(&[("email", email.as_str()), ("password", "x")]).send().await.unwrap();
        assert_eq!(res.status(), 403, "no CSRF token at all");
    }
}

on_both_backends! {
    async fn throttling_stops_guessing_from_one_place_without_locking_the_owner_out(b) {
        let s = TestServer::start_with(b, |c| c.behind_proxy = true).await;
        let (email, password) = s.staff("agent_t2").await;
        let attacker = browser();
        for _ in 0..5 {
            assert_eq!(sign_in(&s, &attacker, &email, "guess-guess-guess", "203.0.113.66").await.status(), 401);
        }
        let res = sign_in(&s, &attacker, &email, &password, "203.0.113.66").await;
        assert_eq!(res.status(), 429, "even the right password is refused from the guessing address");
        assert!(res.text().await.unwrap().contains("data-testid=\"signin-error\""));

        let owner = browser();
        let res = sign_in(&s, &owner, &email, &password, "198.51.100.7").await;
        assert_eq!(res.status(), 303, "the owner elsewhere still signs in");

        // Spraying many emails from one address hits the per-address limit.
        let sprayer = browser();
        let mut last = 0;
        for i in 0..31 {
            last = sign_in(&s, &sprayer, &format!("victim{i}@desk.example"), "password123", "192.0.2.99").await.status().as_u16();
        }
        assert_eq!(last, 429);
    }
}

on_both_backends! {
    async fn a_session_made_by_one_process_is_honoured_by_another(b) {
        let first = TestServer::start(b).await;
        let (client, _) = first.signed_in("supervisor").await;
        // A second server on the same database.
        let url = first.database_url.clone();
        let second = TestServer::start_with(b, |c| c.database_url = url).await;
        let page = client.get(second.url("/desk")).send().await.unwrap();
        assert_eq!(page.status(), 200, "the cookie from the first process opens the second");
    }
}

on_both_backends! {
    async fn pages_follow_the_chosen_language_then_the_browser(b) {
        let s = TestServer::start(b).await;
        let c = browser();
        let zh = c.get(s.url("/desk/sign-in")).header("accept-language", "zh-CN,zh;q=0.9,en;q=0.5").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("工作人员登录"));
        let en = c.get(s.url("/desk/sign-in")).header("accept-language", "en-US").send().await.unwrap().text().await.unwrap();
        assert!(en.contains("Staff sign-in"));

        let csrf = s.csrf_of(&c, "/").await;
        let res = c.post(s.url("/lang")).form(&[("lang", "zh-CN"), ("next", "/desk/sign-in"), ("csrf", &csrf)]).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/desk/sign-in");
        let chosen = c.get(s.url("/desk/sign-in")).header("accept-language", "en-US").send().await.unwrap().text().await.unwrap();
        assert!(chosen.contains("工作人员登录"), "the choice beats the browser");

        let res = c.post(s.url("/lang")).form(&[("lang", "en"), ("next", "https://evil.example/"), ("csrf", &csrf)]).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/", "never redirects off-site");
        let res = c.post(s.url("/lang")).form(&[("lang", "en"), ("next", "/")]).send().await.unwrap();
        assert_eq!(res.status(), 403, "the switch is a form with a CSRF token too");
    }
}

on_both_backends! {
    async fn staff_language_choice_is_remembered_in_their_profile(b) {
        let s = TestServer::start(b).await;
        let (c, csrf) = s.signed_in("agent_t1").await;
        c.post(s.url("/lang")).form(&[("lang", "zh-CN"), ("next", "/desk"), ("csrf", &csrf)]).send().await.unwrap();
        let locale: String = sqlx::Row::try_get(&sqlx::query("SELECT locale FROM staff").fetch_one(s.db.pool()).await.unwrap(), "locale").unwrap();
        assert_eq!(locale, "zh-CN");
    }
}

on_both_backends! {
    async fn pages_escape_what_they_show_and_send_security_headers(b) {
        let s = TestServer::start_with(b, |c| c.public_url = Some("https://desk.example".into())).await;
        let (email, password) = s.staff("agent_t2").await;
        let res = sign_in(&s, &browser(), &email, &password, "").await;
        assert!(set_cookies(&res).iter().any(|c| c.starts_with("thaw_session=") && c.contains("; Secure")), "Secure over TLS");
        let key = s.api_key().await;
        client().put(s.url("/api/v1/accounts/xss-1")).bearer_auth(&key)
            .json(&serde_json::json!({"email": "a\"><script>alert(1)</script>@x.example"})).send().await.unwrap();
        let (c, _) = s.signed_in("agent_t1").await;
        let res = c.get(s.url("/desk/accounts?q=%3Cscript%3E")).send().await.unwrap();
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="), "HSTS over TLS");
        let html = res.text().await.unwrap();
        assert!(!html.contains("<script>"), "the query is escaped");
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }
}

on_both_backends! {
    async fn unknown_pages_and_forbidden_pages_are_friendly(b) {
        let s = TestServer::start(b).await;
        let res = client().get(s.url("/no/such/page")).header("accept-language", "zh-CN").send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert!(res.text().await.unwrap().contains("页面不存在"));
        let (agent, _) = s.signed_in("agent_t1").await;
        let res = agent.get(s.url("/desk/api-keys")).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("Not allowed"));
    }
}

on_both_backends! {
    async fn admins_manage_keys_in_the_desk_and_see_each_secret_once(b) {
        let s = TestServer::start(b).await;
        let (admin, csrf) = s.signed_in("admin").await;
        let page = admin.post(s.url("/desk/api-keys")).form(&[("name", "ledger sync"), ("csrf", &csrf)]).send().await.unwrap().text().await.unwrap();
        let at = page.find("data-testid=\"new-key\">").expect("key shown") + "data-testid=\"new-key\">".len();
        let key = &page[at..at + page[at..].find('<').unwrap()];
        assert!(key.starts_with("thaw_"));
        assert_eq!(client().get(s.url("/api/v1/whoami")).bearer_auth(key).send().await.unwrap().status(), 200);
        let again = admin.get(s.url("/desk/api-keys")).send().await.unwrap().text().await.unwrap();
        assert!(again.contains("ledger sync") && !again.contains(key), "listed, never shown again");
        let id = &key[5..21];
        admin.post(s.url(&format!("/desk/api-keys/{id}/revoke"))).form(&[("csrf", &csrf)]).send().await.unwrap();
        assert_eq!(client().get(s.url("/api/v1/whoami")).bearer_auth(key).send().await.unwrap().status(), 401);
    }
}

on_both_backends! {
    async fn the_desk_lists_and_searches_accounts(b) {
        let s = TestServer::start(b).await;
        thaw_services::demo::seed(&s.db, |_, _| {}).await.unwrap();
        let (c, _) = s.signed_in("agent_t1").await;
        let page = c.get(s.url("/desk/accounts")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-testid=\"account-total\">300 "), "all demo accounts counted");
        assert!(page.contains("rel=\"next\""));
        let page = c.get(s.url("/desk/accounts?q=demo-10042")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-testid=\"account-total\">1 ") && page.contains("/desk/accounts/demo-10042"));
        let detail = c.get(s.url("/desk/accounts/demo-10042")).send().await.unwrap();
        assert_eq!(detail.status(), 200);
        assert_eq!(c.get(s.url("/desk/accounts/nobody")).send().await.unwrap().status(), 404);
    }
}

on_both_backends! {
    async fn agents_lift_holds_from_the_desk_within_the_release_policy(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let (st, hold) = {
            let res = client().post(s.url("/api/v1/accounts/u-desk/holds")).bearer_auth(&key)
                .json(&serde_json::json!({"scopes": ["withdraw"], "reason_code": "chargeback_review"})).send().await.unwrap();
            (res.status(), res.json::<serde_json::Value>().await.unwrap())
        };
        assert_eq!(st, 201);
        let compliance = client().post(s.url("/api/v1/accounts/u-desk/holds")).bearer_auth(&key)
            .json(&serde_json::json!({"scopes": ["withdraw"], "reason_code": "legal_request", "release_policy": "compliance_only"}))
            .send().await.unwrap().json::<serde_json::Value>().await.unwrap();
        let (agent, csrf) = s.signed_in("agent_t2").await;
        let page = agent.get(s.url("/desk/accounts/u-desk")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("chargeback_review") && page.contains("legal_request"));

        let res = agent.post(s.url(&format!("/desk/holds/{}/release", compliance["id"].as_str().unwrap())))
            .form(&[("csrf", csrf.as_str()), ("note", "try")]).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/desk/accounts/u-desk?refused=compliance_only");
        let page = agent.get(s.url("/desk/accounts/u-desk?refused=compliance_only")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Only a compliance officer may lift this hold."));

        let res = agent.post(s.url(&format!("/desk/holds/{}/release", hold["id"].as_str().unwrap())))
            .form(&[("csrf", csrf.as_str()), ("note", "chargeback withdrawn by the bank")]).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/desk/accounts/u-desk?released=1");
        let status: serde_json::Value = client().get(s.url("/api/v1/accounts/u-desk/status")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(status["holds"].as_array().unwrap().len(), 1, "only the compliance hold is left");
        let history: serde_json::Value = client().get(s.url(&format!("/api/v1/holds/{}", hold["id"].as_str().unwrap()))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(history["history"][1]["note"], "chargeback withdrawn by the bank");
        let res = agent.post(s.url(&format!("/desk/holds/{}/release", hold["id"].as_str().unwrap()))).form(&[("note", "x")]).send().await.unwrap();
        assert_eq!(res.status(), 403, "CSRF token required");
    }
}
