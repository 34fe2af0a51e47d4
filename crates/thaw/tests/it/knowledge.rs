//! The knowledge base and search, on both backends: the shipped articles are searchable in
//! Chinese (with or without spaces) and English from the help centre, the desk and the API;
//! edits by staff become searchable in every process; case messages are found by staff;
//! articles with scripts are rendered inert; bad input is named.

use crate::on_both_backends;
use crate::support::*;
use serde_json::{Value, json};

async fn api_search(s: &TestServer, key: &str, query: &str) -> (u16, Value) {
    let res = client().get(s.url("/api/v1/search")).query(&[("q", query)]).bearer_auth(key).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

fn first_slug(v: &Value) -> String {
    v["hits"][0]["id"].as_str().unwrap_or_default().to_string()
}

/// Polls `check` until it holds (the index follows the database about twice a second).
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    false
}

/// Queries as holders would type them, and the article that must come first. Written from the
/// articles' subjects, not their titles.
const GOLDEN: &[(&str, &str)] = &[
    ("有人冒充客服让我转账", "recognise-fake-support"),
    ("冒充 客服 私信 我", "recognise-fake-support"),
    ("充值一直没到账怎么办", "deposit-not-credited"),
    ("我把助记词发给别人了", "shared-seed-phrase-or-private-key"),
    ("谷歌验证器手机丢了登不上", "lost-2fa-device"),
    ("防钓鱼码是什么", "anti-phishing-code"),
    ("c2c 买家付款了 需要哪些证据", "p2p-trade-dispute-evidence"),
    ("fake support agent on telegram asking for my phrase", "recognise-fake-support"),
    ("deposit sent on the wrong chain without memo", "wrong-network-or-missing-memo"),
    ("lost my authenticator phone", "lost-2fa-device"),
    ("why can't I withdraw for a day after changing my password", "withdrawal-paused-after-security-change"),
    ("someone logged in and stole my coins", "account-stolen-what-to-do"),
];

on_both_backends! {
    async fn shipped_articles_are_found_in_chinese_and_english_from_help_desk_and_api(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let mut misses = vec![];
        for (q, slug) in GOLDEN {
            let (st, v) = api_search(&s, &key, q).await;
            assert_eq!(st, 200, "{v}");
            let top: Vec<String> = v["hits"].as_array().unwrap().iter().take(3).map(|h| h["id"].as_str().unwrap().to_string()).collect();
            if top.first().map(String::as_str) != Some(*slug) {
                misses.push(format!("{q} → {top:?} (want {slug})"));
            }
        }
        assert!(misses.is_empty(), "golden queries not answered first: {misses:#?}");
        let (_, spaced) = api_search(&s, &key, "充值 没 到账").await;
        assert_eq!(first_slug(&spaced), "deposit-not-credited", "with spaces too");
        let (_, traditional) = api_search(&s, &key, "帳號被凍結").await;
        assert!(traditional["hits"].as_array().is_some_and(|h| !h.is_empty()), "traditional characters find simplified articles");

        // The help centre, public, in the visitor's language, with highlighted snippets.
        let c = browser();
        let html = c.get(s.url("/help?q=防钓鱼码")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(html.contains("href=\"/help/anti-phishing-code\"") && html.contains("<b>"), "{html}");
        let page = c.get(s.url("/help/freeze-your-account")).header("accept-language", "en").send().await.unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("data-testid=\"article-action\"") && page.contains("<h2>"), "Markdown rendered, action offered");
        assert_eq!(c.get(s.url("/help/no-such-article")).send().await.unwrap().status(), 404);

        // Bad input is named.
        let (st, v) = api_search(&s, &key, "").await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some("q")));
        let res = client().get(s.url("/api/v1/search?q=x&kind=everything")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let res = client().get(s.url("/api/v1/search?q=x&limit=500")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(client().get(s.url("/api/v1/search?q=x")).send().await.unwrap().status(), 401);
    }
}

on_both_backends! {
    async fn staff_edit_articles_drafts_stay_hidden_scripts_are_inert_and_messages_are_found(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let (agent, _) = s.signed_in("agent_t1").await;
        assert_eq!(agent.get(s.url("/desk/kb")).send().await.unwrap().status(), 403, "agents do not edit the knowledge base");
        let (sup, csrf) = s.signed_in("supervisor").await;
        let form = |then: &'static str, body: &'static str| {
            vec![("csrf", csrf.clone()), ("slug", "cold-wallet-zebra".into()), ("locale", "en".into()),
                 ("title", "Zebra cold wallet transfers".into()), ("body", body.into()), ("tags", "zebra".into()),
                 ("categories", "other".into()), ("action", "".into()), ("then", then.into())]
        };
        let res = sup.post(s.url("/desk/kb")).form(&form("draft", "Draft about zebra transfers.")).send().await.unwrap();
        assert_eq!(res.status(), 303);
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let (_, v) = api_search(&s, &key, "zebra").await;
        assert!(v["hits"].as_array().unwrap().is_empty(), "a draft is not published: {v}");
        assert_eq!(browser().get(s.url("/help/cold-wallet-zebra")).send().await.unwrap().status(), 404);

        let res = sup.post(s.url("/desk/kb")).form(&form("publish", "Zebra transfers <script>alert('x')</script> take a day.")).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(eventually(|| async { first_slug(&api_search(&s, &key, "zebra").await.1) == "cold-wallet-zebra" }).await, "published articles become searchable");
        let page = browser().get(s.url("/help/cold-wallet-zebra")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>alert"), "scripts are inert");

        // A mistake names its field and keeps the text.
        let mut bad = form("publish", "text");
        bad[3].1 = String::new();
        let res = sup.post(s.url("/desk/kb")).form(&bad).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("title:"));

        // Case messages are found by staff and by the platform; internal notes only by staff.
        let res = client().put(s.url("/api/v1/accounts/u-search")).bearer_auth(&key).json(&json!({"email": "u-search@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());
        let body = json!({"account_id": "u-search", "category": "other", "subject": "Question", "body": "Where is my quokka statement?"});
        let res = client().post(s.url("/api/v1/cases")).bearer_auth(&key).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let found = eventually(|| async {
            let res = client().get(s.url("/api/v1/search?q=quokka&kind=message")).bearer_auth(&key).send().await.unwrap();
            res.json::<Value>().await.unwrap()["hits"].as_array().is_some_and(|h| h.len() == 1)
        }).await;
        assert!(found, "case messages are indexed");
        let (desk, _) = s.signed_in("agent_t1").await;
        let html = desk.get(s.url("/desk/search?q=quokka")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("/desk/cases/C-") && html.contains("<b>quokka</b>"), "{html}");
    }
}

on_both_backends! {
    async fn a_pasted_seed_phrase_is_never_stored_indexed_or_shown_and_the_holder_is_warned(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/u-paste")).bearer_auth(&key).json(&json!({"email": "u-paste@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());
        let phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
        let txid = "TxID: 9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e";
        let body = json!({"account_id": "u-paste", "category": "account_theft", "subject": "Help, password: Hunter2024!",
            "body": format!("The agent on Telegram asked for my words so I sent them: {phrase}. My deposit {txid} also vanished."),
            "intake": {"noticed_at": "2026-11-20T08:00:00Z", "unauthorised_transactions": "withdrawal of 2 BTC"}});
        let res = client().post(s.url("/api/v1/cases")).bearer_auth(&key).json(&body).send().await.unwrap();
        let status = res.status();
        let case: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "{case}");
        let number = case["number"].as_str().unwrap().to_string();
        let got: Value = client().get(s.url(&format!("/api/v1/cases/{number}"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        let text = got.to_string();
        assert!(!text.contains("sausage") && !text.contains("Hunter2024"), "nothing of the secrets is kept: {text}");
        assert!(text.contains("seed phrase removed") && text.contains("password removed"));
        assert!(text.contains("9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e"), "a transaction hash is not a secret");
        assert!(text.contains("Support never asks for your seed phrase") && text.contains("/security"), "the holder is warned: {text}");
        // Nor in the database or the search index.
        let rows: Vec<String> = sqlx::query("SELECT body FROM case_messages").fetch_all(s.db.pool()).await.unwrap()
            .iter().map(|r| sqlx::Row::try_get(r, "body").unwrap()).collect();
        assert!(rows.iter().all(|b| !b.contains("sausage")));
        let indexed = eventually(|| async {
            let v: Value = client().get(s.url("/api/v1/search?q=vanished&kind=message")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
            v["hits"].as_array().is_some_and(|h| !h.is_empty())
        }).await;
        assert!(indexed);
        let v: Value = client().get(s.url("/api/v1/search?q=sausage&kind=message")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert!(v["hits"].as_array().unwrap().is_empty(), "the index never saw it");
    }
}

on_both_backends! {
    async fn the_assistant_offers_self_service_counts_only_a_yes_and_hands_over_with_the_transcript(b) {
        let s = crate::cases::server(b).await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/u-bot")).bearer_auth(&key).json(&json!({"email": "u-bot@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());
        let (c, csrf) = crate::cases::holder(&s, "u-bot").await;
        let csrf = {
            let html = c.get(s.url("/security/assistant")).send().await.unwrap().text().await.unwrap();
            assert!(html.contains("data-testid=\"bot-message\""));
            csrf_in(&html).unwrap_or(csrf)
        };
        let ask = |session: String, message: &'static str| {
            let (c, s, csrf) = (c.clone(), &s, csrf.clone());
            async move {
                let res = c.post(s.url("/security/assistant")).form(&[("csrf", csrf.as_str()), ("session", session.as_str()), ("message", message)]).send().await.unwrap();
                (res.status().as_u16(), res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default())
            }
        };
        // Bad input is named.
        let (st, _) = ask(String::new(), "").await;
        assert_eq!(st, 422);

        // A deposit question: the assistant answers with articles and asks; "yes" is counted.
        let (st, location) = ask(String::new(), "I sent USDT to my deposit address three hours ago and it is still not credited").await;
        assert_eq!(st, 303, "{location}");
        assert!(location.starts_with("/security/assistant?s="), "{location}");
        let session = location.trim_start_matches("/security/assistant?s=").to_string();
        let page = c.get(s.url(&location)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-testid=\"bot-articles\"") && page.contains("data-testid=\"bot-yes\""), "{page}");
        let outcome: String = sqlx::Row::try_get(&sqlx::query("SELECT outcome FROM bot_sessions WHERE id = $1").bind(&session).fetch_one(s.db.pool()).await.unwrap(), "outcome").unwrap();
        assert_eq!(outcome, "open", "an unanswered conversation is not a deflection");
        let predicted: String = sqlx::Row::try_get(&sqlx::query("SELECT predicted FROM bot_sessions WHERE id = $1").bind(&session).fetch_one(s.db.pool()).await.unwrap(), "predicted").unwrap();
        assert_eq!(predicted, "deposit_withdrawal");
        let res = c.post(s.url("/security/assistant/solved")).form(&[("csrf", csrf.as_str()), ("session", session.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let page = c.get(s.url(&location)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-testid=\"bot-solved\""));

        // Asking for a person hands over with the transcript and the predicted category; a pasted
        // seed phrase never reaches the case.
        let (_, location) = ask(String::new(), "Someone logged into my account and withdrew all my BTC, I did not do it").await;
        let session = location.trim_start_matches("/security/assistant?s=").to_string();
        assert!(!session.is_empty(), "{location}");
        let (_, location) = ask(session.clone(), "my words were legal winner thank year wave sausage worth useful legal winner thank yellow, I want to talk to a person").await;
        assert!(location.starts_with("/security/cases/C-") && location.ends_with("notice=handed_over"), "{location}");
        let number = location.trim_start_matches("/security/cases/").split('?').next().unwrap().to_string();
        let case: Value = client().get(s.url(&format!("/api/v1/cases/{number}"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(case["category"], "account_theft", "{case}");
        assert_eq!(case["channel"], "bot");
        let text = case.to_string();
        assert!(text.contains("withdrew all my BTC") && text.contains("seed phrase removed") && !text.contains("sausage"), "{text}");
        // Another holder cannot read or answer this conversation.
        let (other, other_csrf) = crate::cases::holder(&s, "u-bot-other").await;
        assert_eq!(other.get(s.url(&format!("/security/assistant?s={session}"))).send().await.unwrap().status(), 404);
        let res = other.post(s.url("/security/assistant/solved")).form(&[("csrf", other_csrf.as_str()), ("session", session.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
}

on_both_backends! {
    async fn an_agents_category_correction_is_kept_and_retraining_learns_from_it(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/u-fix")).bearer_auth(&key).json(&json!({"email": "u-fix@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());
        let body = json!({"account_id": "u-fix", "category": "other", "subject": "Seller silent", "body": "I paid the P2P seller by bank transfer but the USDT was never released"});
        let case: Value = client().post(s.url("/api/v1/cases")).bearer_auth(&key).json(&body).send().await.unwrap().json().await.unwrap();
        let number = case["number"].as_str().unwrap().to_string();
        let (desk, csrf) = s.signed_in("agent_t1").await;
        let res = desk.post(s.url(&format!("/desk/cases/{number}/category"))).form(&[("csrf", csrf.as_str()), ("category", "nonsense")]).send().await.unwrap();
        assert!(res.headers()["location"].to_str().unwrap().ends_with("refused=invalid_category"));
        let res = desk.post(s.url(&format!("/desk/cases/{number}/category"))).form(&[("csrf", csrf.as_str()), ("category", "trade_dispute")]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let got: Value = client().get(s.url(&format!("/api/v1/cases/{number}"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(got["category"], "trade_dispute");
        let row = sqlx::query("SELECT text, predicted, category FROM triage_corrections").fetch_one(s.db.pool()).await.unwrap();
        let (text, predicted, category): (String, String, String) =
            (sqlx::Row::try_get(&row, "text").unwrap(), sqlx::Row::try_get(&row, "predicted").unwrap(), sqlx::Row::try_get(&row, "category").unwrap());
        assert!(text.contains("never released") && predicted == "other" && category == "trade_dispute");
        let shipped = thaw_services::triage::shipped_examples().len();
        assert!(shipped >= 700, "the shipped training set: {shipped}");
        let set = thaw_services::triage::training_set(&s.db).await.unwrap();
        assert_eq!(set.len(), shipped + 1, "retraining includes the correction");
        let (model, n) = thaw_services::triage::train_and_save(&s.db, thaw_services::now_ms()).await.unwrap();
        assert_eq!(n, shipped + 1);
        assert_eq!(model.labels().len(), 9);
        let fresh = thaw_services::triage::Triage::new();
        let loaded = fresh.model(&s.db).await.unwrap();
        assert_eq!(loaded.to_bytes(), model.to_bytes(), "servers load the saved model");
    }
}

on_both_backends! {
    async fn a_search_index_kept_in_search_dir_is_reopened_and_caught_up_never_shared_nor_reused_elsewhere(b) {
        use thaw_services::search::{Search, Started};
        use thaw_text::search::{DocKind, Filter};
        let db = fresh_db(b).await;
        thaw_services::knowledge::seed_shipped(&db, thaw_services::now_ms()).await.unwrap();
        let dir = temp_dir("search");
        let messages = Filter { kind: DocKind::Message, locale: None, internal: true };

        let first = Search::in_dir(&dir).unwrap();
        let articles = match first.start(&db, |_, _| {}).await.unwrap() {
            Started::Built { docs } => docs,
            other => panic!("an empty directory means a build: {other:?}"),
        };
        assert!(articles > 30, "the shipped articles are indexed");
        drop(first);

        // Written while no process follows the database: a case and its first message.
        let account = thaw_domain::Account {
            id: thaw_domain::AccountId::parse("id", "u-search-1").unwrap(),
            email: None,
            phone: None,
            locale: thaw_domain::Locale::En,
            kyc_level: 1,
            vip_level: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        use thaw_store::Capabilities;
        db.conn().await.unwrap().accounts().insert_if_absent(&account).await.unwrap();
        let req = thaw_services::cases::OpenCase::new(
            "u-search-1",
            thaw_domain::CaseCategory::Other,
            "Deposit missing",
            "My zebrafinch deposit never arrived",
            thaw_domain::case::Channel::Api,
        );
        let desk = thaw_services::cases::Desk::default();
        thaw_services::cases::open(&db, &desk, req, &thaw_services::cases::CaseActor::Platform, thaw_services::now_ms())
            .await
            .unwrap();

        let second = Search::in_dir(&dir).unwrap();
        match second.start(&db, |_, _| {}).await.unwrap() {
            Started::Reopened { docs, changes } => {
                assert!(changes >= 1, "the changes written meanwhile are applied");
                assert_eq!(docs, articles + 1);
            }
            other => panic!("the index of this database is reopened, not rebuilt: {other:?}"),
        }
        assert_eq!(second.query("zebrafinch", &messages, 5).await.unwrap().len(), 1, "the new message is found");

        // A second process pointed at the same directory keeps its own index in memory.
        let third = Search::in_dir(&dir).unwrap();
        assert!(matches!(third.start(&db, |_, _| {}).await.unwrap(), Started::Built { .. }));
        assert_eq!(third.query("zebrafinch", &messages, 5).await.unwrap().len(), 1);
        drop((second, third));

        // Another database never reuses this one's index.
        let other = fresh_db(b).await;
        let fourth = Search::in_dir(&dir).unwrap();
        assert!(matches!(fourth.start(&other, |_, _| {}).await.unwrap(), Started::Built { .. }));
        assert!(fourth.query("zebrafinch", &messages, 5).await.unwrap().is_empty());
    }
}
