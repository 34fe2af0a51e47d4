//! Test support: a throwaway database per test on either backend, and a running server.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use thaw::config::Config;
use thaw_store::Capabilities;
use thaw_store::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Defines one test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($b:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$meta])*
            async fn run($b: $crate::support::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::postgres_admin_url().is_none() {
                    return;
                }
                run($crate::support::Backend::Postgres).await
            }
        }
    };
}

/// The URL of the throwaway PostgreSQL cluster the test script starts. Without it the
/// PostgreSQL variants are skipped with a note — unless `THAW_TEST_REQUIRE_PG=1`, as in the
/// test script and CI, where its absence fails the test.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("THAW_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("THAW_TEST_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("THAW_TEST_POSTGRES_URL is not set but THAW_TEST_REQUIRE_PG=1");
            }
            eprintln!(
                "note: THAW_TEST_POSTGRES_URL not set; PostgreSQL test skipped (run scripts/test for both backends)"
            );
            None
        }
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", thaw_services::random_hex(6))
}

pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("thaw-{prefix}-")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh, empty database URL on `backend`.
pub async fn fresh_database_url(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/thaw.db", temp_dir("db").display()),
        Backend::Postgres => {
            let admin = postgres_admin_url().expect("postgres configured");
            let name = unique("thaw_t_");
            let db = Db::connect(&admin, &Default::default()).await.expect("admin connection");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(db.pool())
                .await
                .expect("create database");
            db.close().await;
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
    }
}

/// A fresh, migrated database.
pub async fn fresh_db(backend: Backend) -> Db {
    let db = Db::connect(&fresh_database_url(backend).await, &Default::default()).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// A thaw server running in-process on a free port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub db: Db,
    /// The database URL, password included, for a second server on the same database.
    pub database_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config { database_url: fresh_database_url(backend).await, ..Config::default() };
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.listen = addr.to_string();
        let db = thaw::open_db(&config).await.unwrap();
        let database_url = config.database_url.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(thaw::serve(config, db.clone(), listener, async move {
            let _ = stopped.await;
        }));
        TestServer { addr, base: format!("http://{addr}"), db, database_url, stop: Some(stop), handle: Some(handle) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Asks the server to stop; requests in flight finish first. Returns how `launch` ended.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn stopped(&mut self) -> anyhow::Result<()> {
        self.begin_shutdown();
        self.handle.take().expect("running").await.expect("server task")
    }

    /// A new platform API key, as `thaw admin create-api-key` would make.
    pub async fn api_key(&self) -> String {
        thaw_services::api_keys::create(&self.db, "test", "test").await.unwrap().plaintext
    }

    /// Creates a staff member with `role` and returns (email, password).
    pub async fn staff(&self, role: &str) -> (String, String) {
        let email = format!("{}@desk.example", unique(role));
        let password = "correct horse battery".to_string();
        let new = thaw_domain::NewStaff::validate(
            &email,
            None,
            role,
            thaw_domain::Skills::default(),
            5,
            thaw_domain::Locale::En,
        )
        .unwrap();
        thaw_services::staff::create(&self.db, &new, &password).await.unwrap();
        (email, password)
    }

    /// A browser-like client (cookies kept, redirects not followed) signed in as a new staff
    /// member of `role`; returns the client and the session's CSRF token.
    pub async fn signed_in(&self, role: &str) -> (reqwest::Client, String) {
        let (client, csrf, _) = self.signed_in_as(role).await;
        (client, csrf)
    }

    /// [`Self::signed_in`], also returning the staff member's id.
    pub async fn signed_in_as(&self, role: &str) -> (reqwest::Client, String, String) {
        let (email, password) = self.staff(role).await;
        let client = browser();
        let csrf = self.csrf_of(&client, "/desk/sign-in").await;
        let res = client
            .post(self.url("/desk/sign-in"))
            .form(&[
                ("email", email.as_str()),
                ("password", password.as_str()),
                ("csrf", csrf.as_str()),
                ("next", "/desk"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "sign-in of {role} should redirect");
        let csrf = self.csrf_of(&client, "/desk").await;
        let email = thaw_domain::Email::parse("email", &email).unwrap();
        let mut conn = self.db.conn().await.unwrap();
        let id = conn.staff().credentials_by_email(&email).await.unwrap().unwrap().member.id;
        (client, csrf, id)
    }

    /// The CSRF token in the forms of the page at `path`.
    pub async fn csrf_of(&self, client: &reqwest::Client, path: &str) -> String {
        let html = client.get(self.url(path)).send().await.unwrap().text().await.unwrap();
        csrf_in(&html).unwrap_or_else(|| panic!("no CSRF token on {path}: {html}"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")?;
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// A client that keeps cookies and does not follow redirects, like a browser the test inspects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}
