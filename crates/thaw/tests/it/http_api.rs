//! The JSON API through real HTTP: authentication, accounts, API keys, errors, OpenAPI, operations.

use crate::on_both_backends;
use crate::support::*;
use serde_json::{Value, json};

async fn error_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("error bodies are JSON");
    (status, body["error"].clone())
}

on_both_backends! {
    async fn the_api_refuses_callers_without_valid_credentials(b) {
        let s = TestServer::start(b).await;
        let c = client();
        let res = c.get(s.url("/api/v1/accounts/u-1")).send().await.unwrap();
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let (status, e) = error_of(res).await;
        assert_eq!((status, e["code"].as_str()), (401, Some("unauthenticated")));

        for bad in ["nonsense", "thaw_0000000000000000_0000000000000000000000000000000000000000000000000000000000000000"] {
            let (status, e) = error_of(c.get(s.url("/api/v1/accounts/u-1")).bearer_auth(bad).send().await.unwrap()).await;
            assert_eq!((status, e["code"].as_str()), (401, Some("invalid_api_key")), "{bad}");
        }
        let key = s.api_key().await;
        let tampered = format!("{}0", &key[..key.len() - 1]);
        let tampered = if tampered == key { format!("{}1", &key[..key.len() - 1]) } else { tampered };
        let (status, _) = error_of(c.get(s.url("/api/v1/accounts/u-1")).bearer_auth(&tampered).send().await.unwrap()).await;
        assert_eq!(status, 401, "a key with a wrong secret is refused");
        // Health stays open.
        assert_eq!(c.get(s.url("/api/v1/health")).send().await.unwrap().status(), 200);
    }
}

on_both_backends! {
    async fn the_platform_upserts_and_reads_accounts_with_its_key(b) {
        let s = TestServer::start(b).await;
        let c = client();
        let key = s.api_key().await;
        let body = json!({"email": "Li.Wei@Example.COM", "phone": "+86 138 0013 8000", "locale": "zh-CN", "kyc_level": 2, "vip_level": 3, "created_at": "2024-03-01T08:00:00Z"});
        let res = c.put(s.url("/api/v1/accounts/u-1001")).bearer_auth(&key).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        assert_eq!(created["email"], "Li.Wei@example.com");
        assert_eq!(created["phone"], "+8613800138000");
        assert_eq!(created["created_at"], "2024-03-01T08:00:00Z");

        let res = c.put(s.url("/api/v1/accounts/u-1001")).bearer_auth(&key).json(&json!({"locale": "en", "vip_level": 9})).send().await.unwrap();
        assert_eq!(res.status(), 200, "second PUT replaces");
        let got: Value = c.get(s.url("/api/v1/accounts/u-1001")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!((got["locale"].as_str(), got["vip_level"].as_i64(), got["email"].is_null()), (Some("en"), Some(9), true));

        let page: Value = c.get(s.url("/api/v1/accounts?q=u-10&limit=5")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["id"], "u-1001");

        let (status, e) = error_of(c.get(s.url("/api/v1/accounts/nobody")).bearer_auth(&key).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("not_found")));
    }
}

on_both_backends! {
    async fn bad_input_gets_a_clear_error_and_changes_nothing(b) {
        let s = TestServer::start(b).await;
        let c = client();
        let key = s.api_key().await;
        let url = s.url("/api/v1/accounts/u-7");
        c.put(&url).bearer_auth(&key).json(&json!({"email": "keep@example.com"})).send().await.unwrap();

        let cases: Vec<(Value, &str, &str)> = vec![
            (json!({"email": "not-an-email"}), "email", "invalid_email"),
            (json!({"locale": "fr"}), "locale", "invalid_locale"),
            (json!({"kyc_level": 99}), "kyc_level", "out_of_range"),
            (json!({"vip_level": "gold"}), "vip_level", "invalid_field"),
            (json!({"created_at": "yesterday"}), "created_at", "invalid_time"),
            (json!({"colour": "blue"}), "colour", "invalid_field"),
        ];
        for (body, field, code) in cases {
            let (status, e) = error_of(c.put(&url).bearer_auth(&key).json(&body).send().await.unwrap()).await;
            assert_eq!((status, e["field"].as_str(), e["code"].as_str()), (422, Some(field), Some(code)), "{body}");
        }
        let (status, e) = error_of(c.put(s.url("/api/v1/accounts/has%20space")).bearer_auth(&key).json(&json!({})).send().await.unwrap()).await;
        assert_eq!((status, e["field"].as_str()), (422, Some("id")));

        let (status, e) = error_of(c.put(&url).bearer_auth(&key).header("content-type", "application/json").body("{\"email\": ").send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (400, Some("malformed_json")));
        let (status, e) = error_of(c.put(&url).bearer_auth(&key).header("content-type", "text/plain").body("{}").send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (415, Some("unsupported_media_type")));
        let huge = json!({"email": format!("{}@example.com", "a".repeat(2 * 1024 * 1024))});
        let (status, e) = error_of(c.put(&url).bearer_auth(&key).json(&huge).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (413, Some("payload_too_large")));

        let got: Value = c.get(&url).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(got["email"], "keep@example.com", "nothing stored was lost");

        let (status, e) = error_of(c.get(s.url("/api/v1/no-such-thing")).bearer_auth(&key).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("not_found")));
        let (status, e) = error_of(c.post(s.url("/api/v1/accounts/u-7")).bearer_auth(&key).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (405, Some("method_not_allowed")));
    }
}

on_both_backends! {
    async fn staff_sessions_use_the_api_within_their_role_and_with_csrf_on_writes(b) {
        let s = TestServer::start(b).await;
        s.api_key().await;
        let (agent, agent_csrf) = s.signed_in("agent_t1").await;
        let (admin, admin_csrf) = s.signed_in("admin").await;
        let url = s.url("/api/v1/accounts/u-9");
        let body = json!({"locale": "zh-CN"});

        let (status, e) = error_of(agent.put(&url).header("x-csrf-token", &agent_csrf).json(&body).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (403, Some("forbidden")), "agents do not sync accounts");
        let (status, e) = error_of(admin.put(&url).json(&body).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (403, Some("csrf_failed")), "a cookie alone cannot write");
        assert_eq!(admin.put(&url).header("x-csrf-token", &admin_csrf).json(&body).send().await.unwrap().status(), 201);
        assert_eq!(agent.get(&url).send().await.unwrap().status(), 200, "agents read accounts");

        let (status, _) = error_of(agent.get(s.url("/api/v1/api-keys")).send().await.unwrap()).await;
        assert_eq!(status, 403, "only admins manage keys");
        let me: Value = agent.get(s.url("/api/v1/whoami")).send().await.unwrap().json().await.unwrap();
        assert_eq!((me["kind"].as_str(), me["role"].as_str()), (Some("staff"), Some("agent_t1")));
    }
}

on_both_backends! {
    async fn admins_create_list_and_revoke_keys_and_revoked_keys_stop_working(b) {
        let s = TestServer::start(b).await;
        let (admin, csrf) = s.signed_in("admin").await;
        let res = admin.post(s.url("/api/v1/api-keys")).header("x-csrf-token", &csrf).json(&json!({"name": "backend"})).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let key = created["key"].as_str().unwrap().to_string();
        let id = created["id"].as_str().unwrap().to_string();
        let c = client();
        let me: Value = c.get(s.url("/api/v1/whoami")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!((me["kind"].as_str(), me["name"].as_str()), (Some("api_key"), Some("backend")));

        let listed: Value = admin.get(s.url("/api/v1/api-keys")).send().await.unwrap().json().await.unwrap();
        let entry = listed.as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap();
        assert!(entry.get("key").is_none(), "the secret is never listed");
        assert!(!listed.to_string().contains(&key[22..]), "no part of the secret in the listing");

        assert_eq!(admin.delete(s.url(&format!("/api/v1/api-keys/{id}"))).header("x-csrf-token", &csrf).send().await.unwrap().status(), 204);
        let (status, e) = error_of(c.get(s.url("/api/v1/whoami")).bearer_auth(&key).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (401, Some("invalid_api_key")));
        let (status, _) = error_of(admin.delete(s.url(&format!("/api/v1/api-keys/{id}"))).header("x-csrf-token", &csrf).send().await.unwrap()).await;
        assert_eq!(status, 404, "revoking twice reports not found");
        // A platform key cannot manage keys.
        let other = s.api_key().await;
        let (status, _) = error_of(c.get(s.url("/api/v1/api-keys")).bearer_auth(&other).send().await.unwrap()).await;
        assert_eq!(status, 403);
        // A verified key is remembered for a moment, its secret still checked on every call; one
        // revoked elsewhere (another process, the CLI) stops working within that moment.
        let last = if other.ends_with('0') { "1" } else { "0" };
        let forged = format!("{}{last}", &other[..other.len() - 1]);
        let (status, e) = error_of(c.get(s.url("/api/v1/whoami")).bearer_auth(&forged).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (401, Some("invalid_api_key")), "a known id with a wrong secret");
        thaw_services::api_keys::revoke(&s.db, &other[5..21]).await.unwrap();
        tokio::time::sleep(thaw_services::api_keys::KEY_CACHE_TTL + std::time::Duration::from_millis(100)).await;
        let (status, e) = error_of(c.get(s.url("/api/v1/whoami")).bearer_auth(&other).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (401, Some("invalid_api_key")), "revoked in another process");
    }
}

on_both_backends! {
    async fn the_openapi_document_describes_every_api_route(b) {
        let s = TestServer::start(b).await;
        let c = client();
        assert_eq!(c.get(s.url("/api/openapi.json")).send().await.unwrap().status(), 401);
        let key = s.api_key().await;
        let doc: Value = c.get(s.url("/api/openapi.json")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        let expected = [
            ("/api/v1/health", "get"),
            ("/api/v1/whoami", "get"),
            ("/api/v1/accounts", "get"),
            ("/api/v1/accounts/{id}", "get"),
            ("/api/v1/accounts/{id}", "put"),
            ("/api/v1/api-keys", "get"),
            ("/api/v1/api-keys", "post"),
            ("/api/v1/api-keys/{id}", "delete"),
            ("/api/v1/events", "post"),
            ("/api/v1/events/batch", "post"),
            ("/api/v1/accounts/{id}/status", "get"),
            ("/api/v1/accounts/{id}/holds", "get"),
            ("/api/v1/accounts/{id}/holds", "post"),
            ("/api/v1/accounts/{id}/decisions", "get"),
            ("/api/v1/holds/{id}", "get"),
            ("/api/v1/holds/{id}/release", "post"),
            ("/api/v1/webhooks", "get"),
            ("/api/v1/webhooks", "post"),
            ("/api/v1/webhooks/{id}", "delete"),
            ("/api/v1/webhooks/{id}/deliveries", "get"),
            ("/api/v1/policy", "get"),
            ("/api/v1/policy/reload", "post"),
            ("/api/v1/cases", "get"),
            ("/api/v1/cases", "post"),
            ("/api/v1/cases/{number}", "get"),
            ("/api/v1/mail/inbound", "post"),
            ("/api/v1/search", "get"),
            ("/api/v1/analytics/{section}", "get"),
            ("/api/v1/audit", "get"),
            ("/api/v1/check", "get"),
        ];
        for (path, method) in expected {
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing");
        }
        let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(documented, expected.len(), "a route is documented that this test does not know: update both");
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    }
}

on_both_backends! {
    async fn bad_query_parameters_are_422_naming_the_parameter_in_the_api_format(b) {
        let s = TestServer::start(b).await;
        let c = client();
        let key = s.api_key().await;
        let (admin, _) = s.signed_in("admin").await;
        let cases = [
            (c.get(s.url("/api/v1/cases")).bearer_auth(&key), "account_id"),
            (c.get(s.url("/api/v1/accounts/u-1/decisions?limit=9223372036854775808")).bearer_auth(&key), "limit"),
            (c.get(s.url("/api/v1/accounts?offset=first")).bearer_auth(&key), "offset"),
            (admin.get(s.url("/api/v1/audit?before_seq=latest")), "before_seq"),
            (admin.get(s.url("/api/v1/webhooks/w-1/deliveries?limit=-")), "limit"),
            (c.get(s.url("/api/v1/check")), "value"),
        ];
        for (req, field) in cases {
            let res = req.send().await.unwrap();
            let url = res.url().to_string();
            assert_eq!(res.headers()["content-type"], "application/json", "{url}");
            let (status, e) = error_of(res).await;
            assert_eq!((status, e["code"].as_str(), e["field"].as_str()), (422, Some("invalid_query"), Some(field)), "{url}: {e}");
        }
        // Decisions check the account id like the other account routes (they answered 200 `[]`).
        let (status, e) = error_of(c.get(s.url("/api/v1/accounts/has%20space/decisions")).bearer_auth(&key).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str(), e["field"].as_str()), (422, Some("invalid_account_id"), Some("id")));
    }
}

on_both_backends! {
    async fn text_with_a_nul_character_is_refused_naming_the_field_not_a_server_error(b) {
        // PostgreSQL stores no NUL in text: these were 500s there (found by tests/api).
        let s = TestServer::start(b).await;
        let c = client();
        let key = s.api_key().await;
        let (admin, admin_csrf) = s.signed_in("admin").await;
        c.put(s.url("/api/v1/accounts/u-nul")).bearer_auth(&key).json(&json!({})).send().await.unwrap();
        let bodies = [
            ("/api/v1/cases", json!({"account_id": "u-nul", "category": "other", "subject": "a\u{0}b", "body": "x"}), "subject"),
            ("/api/v1/accounts/u-nul/holds", json!({"scopes": ["login"], "reason_code": "x", "note": "\u{0}"}), "note"),
            ("/api/v1/cases", json!({"account_id": "u-nul", "category": "other", "subject": "s", "body": "b", "intake": {"k": "\u{0}"}}), "intake.k"),
        ];
        for (path, body, field) in bodies {
            let (status, e) = error_of(c.post(s.url(path)).bearer_auth(&key).json(&body).send().await.unwrap()).await;
            assert_eq!((status, e["code"].as_str(), e["field"].as_str()), (422, Some("invalid_text"), Some(field)), "{path} {body}");
        }
        let (status, e) = error_of(admin.get(s.url("/api/v1/audit?subject_id=%00")).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str(), e["field"].as_str()), (422, Some("invalid_text"), Some("subject_id")));
        let (status, e) = error_of(c.get(s.url("/api/v1/holds/%00")).bearer_auth(&key).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("not_found")));
        let (status, _) = error_of(c.post(s.url("/api/v1/holds/a%00/release")).bearer_auth(&key).send().await.unwrap()).await;
        assert_eq!(status, 404);
        for path in ["/api/v1/api-keys/%00", "/api/v1/webhooks/%00"] {
            let (status, e) = error_of(admin.delete(s.url(path)).header("x-csrf-token", &admin_csrf).send().await.unwrap()).await;
            assert_eq!((status, e["code"].as_str()), (404, Some("not_found")), "{path}");
        }
        let (status, _) = error_of(admin.get(s.url("/api/v1/webhooks/%00/deliveries")).send().await.unwrap()).await;
        assert_eq!(status, 404);
    }
}

on_both_backends! {
    async fn a_release_note_over_the_body_limit_is_413_in_the_api_format(b) {
        let s = TestServer::start(b).await;
        let c = client();
        let key = s.api_key().await;
        let hold: Value = c.post(s.url("/api/v1/accounts/u-r/holds")).bearer_auth(&key)
            .json(&json!({"scopes": ["withdraw"], "reason_code": "chargeback_review"})).send().await.unwrap().json().await.unwrap();
        let release = s.url(&format!("/api/v1/holds/{}/release", hold["id"].as_str().unwrap()));
        let huge = json!({"note": "n".repeat(2 * 1024 * 1024)});
        let (status, e) = error_of(c.post(&release).bearer_auth(&key).json(&huge).send().await.unwrap()).await;
        assert_eq!((status, e["code"].as_str()), (413, Some("payload_too_large")));
        let res = c.post(&release).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.status(), 200, "without a body the hold is released");
        let released: Value = res.json().await.unwrap();
        assert_eq!(released["status"], "released");
    }
}

on_both_backends! {
    async fn the_openapi_document_describes_parameters_errors_and_schemas_as_served(b) {
        let s = TestServer::start(b).await;
        let key = s.api_key().await;
        let doc: Value = client().get(s.url("/api/openapi.json")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().unwrap();
                    let place = if path.contains(&format!("{{{name}}}")) { "path" } else { "query" };
                    assert_eq!(p["in"], place, "{method} {path}: parameter {name}");
                    if place == "query" && p["schema"]["type"].as_array().is_some_and(|t| t.contains(&json!("null"))) {
                        assert_ne!(p["required"], true, "{method} {path}: optional parameter {name} is not required");
                    }
                }
                let Some(body) = op.get("requestBody") else { continue };
                if body["content"].get("application/json").is_none() {
                    continue;
                }
                let responses = op["responses"].as_object().unwrap();
                let mut errors = vec!["400", "413", "422"];
                if body["required"] == true {
                    errors.push("415");
                }
                for status in errors {
                    let documented = &responses.get(status).unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
                    assert_eq!(documented["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody", "{method} {path} {status}");
                }
            }
        }
        // OpenAPI 3.1 schemas give `items` one schema: no tuple arrays of schemas anywhere.
        fn tuple_items(v: &Value, at: &str) -> Option<String> {
            match v {
                Value::Object(m) => {
                    if m.get("items").is_some_and(Value::is_array) {
                        return Some(at.to_string());
                    }
                    m.iter().find_map(|(k, v)| tuple_items(v, &format!("{at}/{k}")))
                }
                Value::Array(a) => a.iter().enumerate().find_map(|(i, v)| tuple_items(v, &format!("{at}/{i}"))),
                _ => None,
            }
        }
        assert_eq!(tuple_items(&doc, ""), None);
        assert_eq!(doc["components"]["schemas"]["AuditEntryBody"]["properties"]["before"]["type"], json!(["object", "null"]));
    }
}

on_both_backends! {
    async fn operations_endpoints_report_health_readiness_and_metrics(b) {
        let s = TestServer::start(b).await;
        let c = client();
        assert_eq!(c.get(s.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
        assert_eq!(c.get(s.url("/readyz")).send().await.unwrap().status(), 200);
        c.get(s.url("/api/v1/accounts/x")).send().await.unwrap();
        let text = c.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/api/v1/accounts/{id}\",status=\"401\"}"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket"), "latency is a histogram");
        assert!(text.contains("thaw_db_pool_connections"));
        s.db.close().await;
        assert_eq!(c.get(s.url("/readyz")).send().await.unwrap().status(), 503, "not ready without the database");
    }
}

on_both_backends! {
    async fn shutdown_lets_a_request_in_flight_finish(b) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TestServer::start(b).await;
        let key = s.api_key().await;
        let body = br#"{"locale": "zh-CN"}"#;
        let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "PUT /api/v1/accounts/inflight HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&body[..5]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        s.begin_shutdown();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        conn.write_all(&body[5..]).await.unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        s.stopped().await.unwrap();
        assert!(tokio::net::TcpStream::connect(s.addr).await.is_err(), "no longer listening");
    }
}

on_both_backends! {
    async fn launch_opens_migrates_and_serves_on_the_listener_it_is_given(b) {
        let config = thaw::config::Config { database_url: fresh_database_url(b).await, ..Default::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(thaw::launch(config, listener, async move {
            let _ = stopped.await;
        }));
        let res = client().get(format!("http://{addr}/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
