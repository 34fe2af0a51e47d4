//! The real `thaw` binary, as an operator runs it.

use crate::on_both_backends;
use crate::support::*;
use std::process::{Command, Stdio};

fn thaw(dir: &std::path::Path, database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_thaw"))
        .current_dir(dir)
        .env("THAW_DATABASE_URL", database_url)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

on_both_backends! {
    async fn admin_commands_create_staff_and_keys_and_refuse_bad_input(b) {
        let dir = temp_dir("cli");
        let url = fresh_database_url(b).await;
        let out = thaw(&dir, &url, &["migrate"]);
        assert!(out.status.success(), "{:?}", text(&out));

        let out = thaw(&dir, &url, &["admin", "create-staff", "--email", "ops@desk.example", "--role", "admin"]);
        let (stdout, _) = text(&out);
        assert!(out.status.success(), "{stdout}");
        let password = stdout.lines().last().unwrap().trim().to_string();
        assert_eq!(password.len(), 20, "a generated password is printed once: {stdout}");

        let again = thaw(&dir, &url, &["admin", "create-staff", "--email", "OPS@desk.example", "--role", "agent_t1"]);
        let (_, stderr) = text(&again);
        assert!(!again.status.success() && stderr.contains("exists already") && stderr.contains("nothing was changed"), "{stderr}");

        let bad_role = thaw(&dir, &url, &["admin", "create-staff", "--email", "x@desk.example", "--role", "root"]);
        assert!(!bad_role.status.success() && text(&bad_role).1.contains("--role"), "{:?}", text(&bad_role));
        let bad_email = thaw(&dir, &url, &["admin", "create-staff", "--email", "not-an-email", "--role", "admin"]);
        assert!(!bad_email.status.success() && text(&bad_email).1.contains("--email"), "{:?}", text(&bad_email));

        let mut child = Command::new(env!("CARGO_BIN_EXE_thaw"))
            .current_dir(&dir)
            .env("THAW_DATABASE_URL", &url)
            .args(["admin", "create-staff", "--email", "li@desk.example", "--role", "agent_t1", "--password-stdin", "--locale", "zh-CN"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"a-chosen-password\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert!(!text(&out).0.contains("a-chosen-password"), "a chosen password is not echoed");

        let db = thaw_store::Db::connect(&url, &Default::default()).await.unwrap();
        let origin = thaw_services::signin::Origin { ip: "127.0.0.1", user_agent: "test" };
        let now = thaw_services::now_ms();
        assert!(thaw_services::signin::sign_in(&db, "ops@desk.example", &password, &origin, now).await.is_ok());
        assert!(thaw_services::signin::sign_in(&db, "li@desk.example", "a-chosen-password", &origin, now).await.is_ok());

        let out = thaw(&dir, &url, &["admin", "create-api-key", "--name", "platform"]);
        let (stdout, _) = text(&out);
        let key = stdout.lines().last().unwrap().to_string();
        assert!(key.starts_with("thaw_") && !key.contains(' '), "the key alone on the last line: {stdout}");
        let record = thaw_services::api_keys::authenticate(&db, &key).await.unwrap().expect("the printed key works");
        let stored: String = sqlx::Row::try_get(&sqlx::query("SELECT secret_hash FROM api_keys").fetch_one(db.pool()).await.unwrap(), "secret_hash").unwrap();
        assert!(!key.contains(&stored) && !stored.contains(&key[22..]), "stored hashed");

        let listed = text(&thaw(&dir, &url, &["admin", "list-api-keys"])).0;
        assert!(listed.contains(&record.id) && listed.contains("active") && !listed.contains(&key));
        assert!(thaw(&dir, &url, &["admin", "revoke-api-key", "--id", &record.id]).status.success());
        assert!(thaw_services::api_keys::authenticate(&db, &key).await.unwrap().is_none(), "revoked");
        let twice = thaw(&dir, &url, &["admin", "revoke-api-key", "--id", &record.id]);
        assert!(!twice.status.success());
    }
}

#[test]
fn logs_are_json_lines_when_asked() {
    let dir = temp_dir("jsonlog");
    let url = format!("sqlite://{}/thaw.db", dir.display());
    let out = thaw(&dir, &url, &["migrate", "--log-format", "json"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("applied migration")).expect("a log line");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(parsed["level"], "INFO");
}

#[test]
fn an_unknown_configuration_key_is_named_with_its_file() {
    let dir = temp_dir("cfg");
    std::fs::write(dir.join("thaw.toml"), "listen = \"127.0.0.1:0\"\ndatabse_url = \"sqlite://x.db\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_thaw")).current_dir(&dir).args(["migrate"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("databse_url") && stderr.contains("thaw.toml"), "{stderr}");
}

#[test]
fn an_unreachable_database_fails_with_the_masked_url_and_the_cause() {
    let dir = temp_dir("unreachable");
    let out = thaw(&dir, "postgres://thaw:topsecret@127.0.0.1:1/thaw", &["migrate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("postgres://thaw:***@127.0.0.1:1/thaw"), "{stderr}");
    assert!(!stderr.contains("topsecret"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused") || stderr.contains("unreachable"), "{stderr}");
}

#[test]
fn serve_with_no_configuration_uses_sqlite_in_thaw_data_and_stops_cleanly_on_sigterm() {
    let dir = temp_dir("serve");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_thaw"))
        .current_dir(&dir)
        .env_remove("THAW_DATABASE_URL")
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "thaw serve came up");
    assert!(dir.join("thaw-data/thaw.db").exists(), "SQLite created at ./thaw-data/thaw.db");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit after SIGTERM: {:?}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/desk")
            && stdout.contains("admin@thaw.example")
            && stdout.contains(thaw_services::demo::DEMO_PASSWORD),
        "{stdout}"
    );
}

#[test]
fn policy_check_prints_each_mistake_with_its_line_and_serve_refuses_a_bad_policy() {
    let dir = temp_dir("policycheck");
    let file = dir.join("policy.toml");
    std::fs::write(&file, "[detectors.failed_logins]\nwindow = \"15 minutes\"\n\n[[rules]]\ncode = \"r\"\naction = \"freeze\"\nexplanation.\"zh-CN\" = \"x\"\nexplanation.en = \"y\"\nwhen = { field = \"event.kind\", op = \"eq\", value = \"trade\" }\n").unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_thaw")).args(["policy", "check", file.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("policy.toml:2:") && stdout.contains("15 minutes"), "{stdout}");
    assert!(stdout.contains("policy.toml:6:") && stdout.contains("freeze"), "{stdout}");

    let good = dir.join("good.toml");
    let default = Command::new(env!("CARGO_BIN_EXE_thaw")).args(["policy", "default"]).output().unwrap();
    std::fs::write(&good, &default.stdout).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_thaw")).args(["policy", "check", good.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));

    let out = Command::new(env!("CARGO_BIN_EXE_thaw"))
        .current_dir(&dir)
        .env("THAW_POLICY_FILE", &file)
        .env("THAW_DATABASE_URL", format!("sqlite://{}/thaw.db", dir.display()))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refuses to start");
    assert!(stderr.contains(":2:") && stderr.contains("risk policy is invalid"), "{stderr}");
}

#[test]
fn sla_check_prints_the_table_or_each_mistake_and_serve_refuses_a_bad_sla_file() {
    let dir = temp_dir("slacheck");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/data/sla.example.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_thaw")).args(["sla", "check", example]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let row = stdout.lines().find(|l| l.starts_with("asset_freeze") && l.contains(" urgent ")).unwrap_or_default();
    assert!(row.contains("30m") && row.contains("desk"), "{stdout}");
    assert_eq!(stdout.lines().count(), 2 + 9 * 4, "a line per category and priority: {stdout}");

    let bad = dir.join("sla.toml");
    std::fs::write(
        &bad,
        "[[policy]]\ncategories = [\"phishing_report\"]\ncalendar = \"desk\"\nresolution = \"3 days\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_thaw")).args(["sla", "check", bad.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("sla.toml:4: resolution: '3 days'"), "{stdout}");
    assert!(stdout.contains("sla.toml:1: phishing_report"), "{stdout}");

    let out = Command::new(env!("CARGO_BIN_EXE_thaw"))
        .current_dir(&dir)
        .env("THAW_DESK_SLA_FILE", &bad)
        .env("THAW_DATABASE_URL", format!("sqlite://{}/thaw.db", dir.display()))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refuses to start");
    assert!(stderr.contains("desk_sla_file") && stderr.contains("sla.toml:4:"), "{stderr}");
}

#[tokio::test]
async fn sighup_reloads_the_policy_file_without_a_restart() {
    let dir = temp_dir("sighup");
    let url = format!("sqlite://{}/thaw.db", dir.display());
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, thaw_engines::risk::policy::DEFAULT_POLICY).unwrap();
    let key_out = thaw(&dir, &url, &["admin", "create-api-key", "--name", "t"]);
    let key = String::from_utf8_lossy(&key_out.stdout).lines().last().unwrap().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_thaw"))
        .current_dir(&dir)
        .env("THAW_DATABASE_URL", &url)
        .env("THAW_POLICY_FILE", &policy)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let c = client();
    for _ in 0..100 {
        if c.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let first = post_trade(&c, &base, &key, "t1").await;
    assert_eq!(first["action"], "allow");
    let rule = "\n[[rules]]\ncode = \"every_eth_trade\"\naction = \"challenge\"\nexplanation.\"zh-CN\" = \"ETH 交易\"\nexplanation.en = \"ETH trade\"\nwhen = { field = \"event.asset\", op = \"eq\", value = \"ETH\" }\n";
    std::fs::write(&policy, format!("{}{rule}", thaw_engines::risk::policy::DEFAULT_POLICY)).unwrap();
    assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    let mut action = String::new();
    for i in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let d = post_trade(&c, &base, &key, &format!("t2-{i}")).await;
        action = d["action"].as_str().unwrap_or_default().to_string();
        if action == "challenge" {
            break;
        }
    }
    assert_eq!(action, "challenge", "the new rule is in force after SIGHUP");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(child.wait().unwrap().success(), "still a clean stop");
}

/// A trade of account u-h through the event API, answered with its decision.
async fn post_trade(c: &reqwest::Client, base: &str, key: &str, id: &str) -> serde_json::Value {
    let now = thaw_services::rfc3339(thaw_services::now_ms());
    let trade = serde_json::json!({"id": id, "account_id": "u-h", "kind": "trade", "occurred_at": now, "amount": "1", "asset": "ETH"});
    c.post(format!("{base}/api/v1/events")).bearer_auth(key).json(&trade).send().await.unwrap().json().await.unwrap()
}

#[test]
fn triage_cli_trains_and_evaluates_any_labelled_csv_and_names_a_missing_column() {
    let dir = temp_dir("triage");
    let csv = dir.join("intents.csv");
    let mut rows = String::from("id,message,intent\n");
    let data = [
        (
            "card_lost",
            [
                "I lost my card",
                "my card is missing",
                "can't find my bank card",
                "card was stolen yesterday",
                "where is my card, lost it",
                "我的卡丢了",
            ],
        ),
        (
            "refund",
            [
                "I want a refund",
                "please refund my order",
                "money back for the purchase",
                "refund has not arrived",
                "how do I get my money back",
                "我要退款",
            ],
        ),
        (
            "pin",
            [
                "forgot my PIN",
                "how do I change my PIN",
                "PIN blocked after three tries",
                "reset the PIN code",
                "my pin is not working",
                "密码锁了PIN",
            ],
        ),
    ];
    let mut id = 0;
    for (label, texts) in data {
        for t in texts {
            id += 1;
            rows.push_str(&format!("{id},\"{t}\",{label}\n"));
        }
    }
    std::fs::write(&csv, rows).unwrap();
    let thaw = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_thaw")).args(args).output().unwrap();
    let model = dir.join("intents.model");
    let (csv_s, model_s) = (csv.to_str().unwrap(), model.to_str().unwrap());
    let out = thaw(&[
        "triage",
        "train",
        "--csv",
        csv_s,
        "--text-column",
        "message",
        "--label-column",
        "intent",
        "--out",
        model_s,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = thaw(&[
        "triage",
        "eval",
        "--model",
        model_s,
        "--csv",
        csv_s,
        "--text-column",
        "message",
        "--label-column",
        "intent",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 18);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9 && v["macro_f1"].as_f64().unwrap() > 0.9, "{v}");

    let out = thaw(&["triage", "eval", "--csv", csv_s, "--text-column", "text", "--label-column", "intent"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'text'") && err.contains("id, message, intent"), "the missing column is named: {err}");

    // Cross-validation prints one line per fold; the shipped model evaluates without --model.
    let out = thaw(&[
        "triage",
        "eval",
        "--csv",
        csv_s,
        "--text-column",
        "message",
        "--label-column",
        "intent",
        "--folds",
        "3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("fold 3") && stdout.contains("macro-F1"), "{stdout}");
    let holdout = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/triage_holdout.csv");
    let out = thaw(&["triage", "eval", "--csv", holdout, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 216);
    assert!(v["accuracy"].as_f64().unwrap() > 0.6, "the shipped model on independently written messages: {v}");
}
