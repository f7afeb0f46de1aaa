//! The test authority: a real HTTP server on loopback over SQLite or PostgreSQL, with a clock
//! the test moves.

use std::path::PathBuf;
use std::sync::Arc;

use hanko_authority::{Authority, Config, ManualClock, Role};
use hanko_pki::time::macros::datetime;
use hanko_pki::time::OffsetDateTime;
use hanko_store::Db;
use serde_json::{json, Value};

#[path = "../../../store/tests/support/backends.rs"]
mod backends;
pub use backends::{postgres_or_skip, Backend};

/// The time the test authorities start at.
pub const START: OffsetDateTime = datetime!(2026-04-01 00:00 UTC);

/// A fresh, empty directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    backends::temp_dir("authority", tag)
}

/// The database URL of a fresh, empty database for `backend` (a new schema on PostgreSQL).
pub fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite:{}", dir.join("authority.sqlite").display()),
        Backend::Postgres => backends::fresh_postgres_url("t"),
    }
}

/// A running authority.
pub struct TestAuthority {
    pub authority: Arc<Authority>,
    pub clock: Arc<ManualClock>,
    pub dir: PathBuf,
    pub base: String,
    pub counter_key: String,
    pub operator_key: String,
    /// The database the authority runs on (tests reach into it to plant bad rows).
    pub db_url: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestAuthority {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestAuthority {
    /// Starts an authority with the default sandbox settings.
    pub async fn start(backend: Backend) -> TestAuthority {
        TestAuthority::start_with(backend, |_| {}).await
    }

    /// Starts an authority with settings changed by `configure`.
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestAuthority {
        let dir = temp_dir("api");
        let db_url = database_url(backend, &dir);
        let db = Db::connect(&db_url).await.unwrap();
        let mut config = Config::sandbox(&dir);
        configure(&mut config);
        let clock = Arc::new(ManualClock::new(START));
        let authority = Arc::new(Authority::open(db, config, clock.clone()).await.unwrap());
        let counter_key = authority.register_verifier(Role::Counter, "test counter").await.unwrap().api_key;
        let operator_key = authority.register_verifier(Role::Operator, "test operator").await.unwrap().api_key;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let a = authority.clone();
        let server = tokio::spawn(async move {
            hanko_authority::serve(a, listener, std::future::pending()).await.unwrap();
        });
        TestAuthority {
            authority,
            clock,
            dir,
            base,
            counter_key,
            operator_key,
            db_url,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// POST JSON with the counter key; returns (status, body).
    pub async fn counter_post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body), &self.counter_key).await
    }

    /// GET with the counter key.
    pub async fn counter_get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)), &self.counter_key).await
    }

    /// POST JSON with the operator key (`/v1/admin/*`).
    pub async fn operator_post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body), &self.operator_key).await
    }

    /// GET with the operator key.
    pub async fn operator_get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)), &self.operator_key).await
    }

    /// Sends with `key` as the bearer token; returns (status, JSON body or the text as a string).
    pub async fn send(&self, req: reqwest::RequestBuilder, key: &str) -> (u16, Value) {
        let resp = req.bearer_auth(key).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Registers a synthetic person; returns the person id.
    pub async fn person(&self, name: &str, birth: &str) -> String {
        let (status, body) = self
            .counter_post(
                "/v1/counter/persons",
                json!({"name": name, "sex": "2", "birth_date": birth,
                       "address": "東京都見本区試験町一丁目１番１号", "prefecture": "Tokyo-to", "municipality": "Mihon-ku"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Issues a card to `person` (PIN 1234, password HANKO2026); returns the counter's answer.
    pub async fn card(&self, person: &str) -> Value {
        let (status, body) = self
            .counter_post(
                &format!("/v1/counter/persons/{person}/cards"),
                json!({"sign_password": "HANKO2026", "auth_pin": "1234"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Records a life event at the counter; returns (status, answer).
    pub async fn event(&self, person: &str, body: Value) -> (u16, Value) {
        self.counter_post(&format!("/v1/counter/persons/{person}/events"), body).await
    }

    /// Registers a verifier of `role`; returns (id, API key).
    pub async fn verifier(&self, role: &str, name: &str) -> (String, String) {
        let (status, body) = self.operator_post("/v1/admin/verifiers", json!({"role": role, "name": name})).await;
        assert_eq!(status, 200, "{body}");
        (body["verifier"]["id"].as_str().unwrap().to_owned(), body["api_key"].as_str().unwrap().to_owned())
    }
}
