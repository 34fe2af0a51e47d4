//! A case's email thread through a real SMTP server (aiosmtpd, as the test script installs):
//! public updates reach the holder with their anti-phishing code, a plus-addressed Reply-To and
//! a Message-ID; the holder's reply, handed back as RFC 822, lands on the case without the
//! quoted text; automatic replies, bounces and repeats change nothing; a reply to a closed case
//! opens a linked case; mail from a stranger never reaches the holder's conversation.

use crate::on_both_backends;
use crate::support::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use thaw_domain::Role;
use thaw_services::cases::{self, CaseActor, Desk, StaffMessage};
use thaw_store::Capabilities;

/// aiosmtpd writing every message it receives into a maildir; stopped on drop.
struct Smtp {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl Smtp {
    fn start() -> Smtp {
        let dir = temp_dir("smtp");
        let maildir = dir.join("mail");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stderr(std::fs::File::create(dir.join("smtp.err")).unwrap())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Smtp { child, port, maildir };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start: {}", std::fs::read_to_string(dir.join("smtp.err")).unwrap_or_default());
    }

    /// Every message delivered so far, raw, oldest first.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(self.maildir.join("new"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
            .collect();
        files.sort();
        files.iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect()
    }

    /// Waits for the `n`th message whose subject contains `needle`.
    async fn wait_for(&self, needle: &str, n: usize) -> String {
        for _ in 0..400 {
            let found: Vec<String> = self
                .messages()
                .into_iter()
                .filter(|m| header(m, "Subject").contains(needle) || m.contains(needle))
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no message {n} with {needle:?}; have {:?}",
            self.messages().iter().map(|m| header(m, "Subject")).collect::<Vec<_>>()
        );
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An unfolded header's value.
fn header(raw: &str, name: &str) -> String {
    let head = raw.split("\n\n").next().unwrap_or("").replace("\r\n", "\n").replace("\n ", " ").replace("\n\t", " ");
    head.lines()
        .find_map(|l| {
            l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// The plain-text part, decoded (lettre sends it quoted-printable or base64).
fn text_of(raw: &str) -> String {
    let msg = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
    msg.body_text(0).unwrap().to_string()
}

async fn inbound(s: &TestServer, key: &str, raw: &str) -> (u16, Value) {
    let res = client()
        .post(s.url("/api/v1/mail/inbound"))
        .bearer_auth(key)
        .header("content-type", "message/rfc822")
        .body(raw.replace('\n', "\r\n"))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn reply(from: &str, to: &str, in_reply_to: &str, id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: Li Wei <{from}>\nTo: {to}\nSubject: Re: your case\nMessage-ID: <{id}>\nIn-Reply-To: {in_reply_to}\nDate: Sat, 21 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n{extra}\n{body}\n"
    )
}

async fn conversation(s: &TestServer, case_id: &str, internal: bool) -> Vec<(String, bool, String)> {
    let mut conn = s.db.conn().await.unwrap();
    let all = conn.cases().messages(case_id, internal).await.unwrap();
    all.into_iter().map(|m| (m.author_kind, m.internal, m.body)).collect()
}

on_both_backends! {
    async fn a_case_email_thread_round_trips_through_a_real_smtp_server(b) {
        let smtp = Smtp::start();
        let port = smtp.port;
        let s = TestServer::start_with(b, move |c| {
            c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            c.mail_from = "thaw support <support@desk.example>".into();
        })
        .await;
        let key = s.api_key().await;
        let res = client().put(s.url("/api/v1/accounts/u-mail")).bearer_auth(&key)
            .json(&json!({"email": "li.wei@mail.example", "locale": "en"})).send().await.unwrap();
        assert!(res.status().is_success());
        s.db.conn().await.unwrap().accounts().set_anti_phishing_code("u-mail", "BLUE-OTTER-42", 0).await.unwrap();
        let res = client().post(s.url("/api/v1/cases")).bearer_auth(&key)
            .json(&json!({"account_id": "u-mail", "category": "other", "subject": "Where is my deposit", "body": "It has been two days."}))
            .send().await.unwrap();
        assert_eq!(res.status(), 201);
        let number = res.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_string();
        let (case, _) = s.db.conn().await.unwrap().cases().by_number(thaw_domain::case::parse_case_ref(&number).unwrap()).await.unwrap().unwrap();

        // The confirmation, then the agent's public reply, each with the anti-phishing code.
        let opened = smtp.wait_for(&format!("[{number}]"), 1).await;
        assert_eq!(header(&opened, "To"), "li.wei@mail.example");
        assert!(text_of(&opened).contains("BLUE-OTTER-42"));
        let msg = StaffMessage { body: "Please send the transaction hash.", internal: false, status: Some(thaw_domain::case::CaseStatus::PendingCustomer) };
        let staff_id = {
            let (email, _) = s.staff("agent_t1").await;
            let email = thaw_domain::Email::parse("e", &email).unwrap();
            s.db.conn().await.unwrap().staff().credentials_by_email(&email).await.unwrap().unwrap().member.id
        };
        let agent = CaseActor::Staff { id: staff_id, role: Role::AgentT1, name: "Agent".into() };
        cases::staff_message(&s.db, &Desk::default(), &agent, &case.id, msg, thaw_services::now_ms()).await.unwrap();
        let replied = smtp.wait_for(&format!("[{number}]"), 2).await;
        let text = text_of(&replied);
        assert!(text.contains("Please send the transaction hash.") && text.contains("BLUE-OTTER-42"), "{text}");
        assert!(text.contains(thaw_services::inbound::REPLY_MARKER));
        let reply_to = header(&replied, "Reply-To");
        assert!(reply_to.starts_with("support+") && reply_to.ends_with("@desk.example"), "{reply_to}");
        let message_id = header(&replied, "Message-ID");
        assert_eq!(header(&replied, "In-Reply-To"), header(&opened, "Message-ID"), "threaded on the confirmation");

        // The holder answers above the quote.
        let answer = reply("li.wei@mail.example", &reply_to, &message_id, "r1@mail.example", "",
            "The hash is 0xabc123.\n\nOn Sat, 21 Nov 2026, thaw support wrote:\n> Please send the transaction hash.");
        let (st, body) = inbound(&s, &key, &answer).await;
        assert_eq!((st, body["result"].as_str(), body["case"].as_str()), (202, Some("added"), Some(number.as_str())), "{body}");
        let after = conversation(&s, &case.id, true).await;
        assert_eq!(after.last().unwrap(), &("holder".to_string(), false, "The hash is 0xabc123.".to_string()));
        let status = s.db.conn().await.unwrap().cases().get(&case.id).await.unwrap().unwrap().0.status;
        assert_eq!(status, thaw_domain::case::CaseStatus::Open, "the holder's answer puts the case back to the desk");

        // Robots and repeats change nothing.
        let count_before = conversation(&s, &case.id, true).await.len();
        for (id, extra, reason) in [
            ("r1@mail.example", "", "duplicate"),
            ("auto1@mail.example", "Auto-Submitted: auto-replied\n", "auto_reply"),
            ("bounce1@mail.example", "Return-Path: <>\n", "bounce"),
            ("list1@mail.example", "Precedence: bulk\n", "bulk"),
        ] {
            let (st, body) = inbound(&s, &key, &reply("li.wei@mail.example", &reply_to, &message_id, id, extra, "I am away.")).await;
            assert_eq!((st, body["result"].as_str(), body["reason"].as_str()), (202, Some("ignored"), Some(reason)), "{id}");
        }
        assert_eq!(conversation(&s, &case.id, true).await.len(), count_before);

        // A stranger writing to the reply address: a note for the agents only.
        let (_, body) = inbound(&s, &key, &reply("mallory@evil.example", &reply_to, "", "m1@evil.example", "", "Send your seed phrase to verify.")).await;
        assert_eq!(body["result"], "noted");
        assert!(conversation(&s, &case.id, false).await.iter().all(|(_, _, b)| !b.contains("seed phrase")), "never public");
        assert!(conversation(&s, &case.id, true).await.iter().any(|(_, internal, b)| *internal && b.contains("mallory@evil.example")));

        // Closed: a reply opens a new linked case instead of being lost.
        for to in ["resolved", "closed"] {
            cases::set_status(&s.db, &Desk::default(), &agent, &case.id, to, thaw_services::now_ms()).await.unwrap();
        }
        let (_, body) = inbound(&s, &key, &reply("li.wei@mail.example", &reply_to, &message_id, "r2@mail.example", "", "It happened again today.")).await;
        assert_eq!(body["result"], "new_case", "{body}");
        let new_number = body["case"].as_str().unwrap();
        assert_ne!(new_number, number);
        let (linked, _) = s.db.conn().await.unwrap().cases().by_number(thaw_domain::case::parse_case_ref(new_number).unwrap()).await.unwrap().unwrap();
        assert_eq!(linked.linked_from.as_deref(), Some(case.id.as_str()));
        assert_eq!(conversation(&s, &linked.id, false).await[0].2, "It happened again today.");

        // New mail: a known holder opens a case; a stranger does not.
        let fresh = "From: li.wei@mail.example\nTo: support@desk.example\nSubject: =?UTF-8?B?5o+Q546w5pyq5Yiw6LSm?=\nMessage-ID: <n1@mail.example>\nContent-Type: text/plain; charset=utf-8\n\n提现三天了还没到账。\n";
        let (_, body) = inbound(&s, &key, fresh).await;
        assert_eq!(body["result"], "opened", "{body}");
        let (opened_case, _) = s.db.conn().await.unwrap().cases().by_number(thaw_domain::case::parse_case_ref(body["case"].as_str().unwrap()).unwrap()).await.unwrap().unwrap();
        assert_eq!((opened_case.subject.as_str(), opened_case.channel.code()), ("提现未到账", "email"));
        let (_, body) = inbound(&s, &key, &fresh.replace("li.wei@mail.example", "someone@else.example").replace("n1@", "n2@")).await;
        assert_eq!((body["result"].as_str(), body["reason"].as_str()), (Some("ignored"), Some("unknown_sender")));

        // Bad input is refused with a clear code; only the mail integration may post.
        let (st, body) = inbound(&s, &key, "   ").await;
        assert_eq!((st, body["error"]["code"].as_str(), body["error"]["field"].as_str()), (422, Some("empty_message"), Some("message")));
        let (st, _) = inbound(&s, &key, "this is not an email at all").await;
        assert_eq!(st, 422);
        let res = client().post(s.url("/api/v1/mail/inbound")).body(fresh).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
}
