//! The test ecosystem: an authority and a platform, each a real HTTP server on loopback over
//! SQLite or PostgreSQL, sharing one clock the test moves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_authority::{Authority, ManualClock, Role};
use hanko_card::{Client, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::time::macros::datetime;
use hanko_pki::time::OffsetDateTime;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use hanko_platform::{Config, Platform};
use hanko_store::Db;
use serde_json::{json, Value};

#[path = "../../../store/tests/support/backends.rs"]
mod backends;
pub use backends::{postgres_or_skip, Backend};

/// The time the test ecosystem starts at.
pub const START: OffsetDateTime = datetime!(2026-04-01 00:00 UTC);

/// A fresh, empty directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    backends::temp_dir("platform", tag)
}

/// The database URL of a fresh, empty database for `backend` (a new schema on PostgreSQL).
pub fn database_url(backend: Backend, dir: &Path, name: &str) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite:{}", dir.join(format!("{name}.sqlite")).display()),
        Backend::Postgres => backends::fresh_postgres_url("p"),
    }
}

/// HTTP helpers over one base URL.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

impl Http {
    /// Sends with `key` as the bearer token (none when empty); returns (status, JSON body or
    /// the text as a string).
    pub async fn send(&self, req: reqwest::RequestBuilder, key: &str) -> (u16, Value) {
        let req = if key.is_empty() { req } else { req.bearer_auth(key) };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
    /// POST JSON.
    pub async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body), key).await
    }
    /// POST JSON that the server should refuse as too large: its (status, problem), or `None`
    /// when the server closed the connection before the client finished sending (HTTP/1.1 lets
    /// a server answer 413 and close without reading the rest; the client may then see the reset
    /// first). Either way the server must still answer afterwards.
    pub async fn post_too_large(&self, path: &str, key: &str, body: Value) -> Option<(u16, Value)> {
        let sent = self.client.post(format!("{}{path}", self.base)).bearer_auth(key).json(&body).send().await;
        let out = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                Some((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
            }
            Err(e) => {
                assert!(e.is_request() || e.is_body() || e.is_connect(), "{e}");
                None
            }
        };
        // On a new connection: the server closes the one it refused the body on, and a pooled
        // client could pick that one up before it sees the close.
        let fresh = Http { base: self.base.clone(), client: reqwest::Client::new() };
        let (status, _) = fresh.get("/healthz", "").await;
        assert_eq!(status, 200, "the server answers after refusing {path}");
        out
    }
    /// GET.
    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)), key).await
    }
    /// DELETE.
    #[allow(dead_code)]
    pub async fn delete(&self, path: &str, key: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)), key).await
    }
}

/// A running authority and platform. (Fields the areas' tests use.)
#[allow(dead_code)]
pub struct Eco {
    pub authority: Arc<Authority>,
    pub platform: Arc<Platform>,
    pub clock: Arc<ManualClock>,
    /// The authority's data directory (card images).
    pub authority_dir: PathBuf,
    /// The platform's data directory.
    pub platform_dir: PathBuf,
    pub platform_db: String,
    pub a: Http,
    pub p: Http,
    pub counter_key: String,
    pub operator_key: String,
    /// The platform's id and key at the authority.
    pub platform_id: String,
    pub platform_key: String,
    /// The platform's admin key.
    pub admin_key: String,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Eco {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

/// A tenant of the test platform: (tenant id, API key).
pub struct Sp {
    pub id: String,
    pub key: String,
}

impl Eco {
    /// Starts an authority and a platform registered at it.
    pub async fn start(backend: Backend) -> Eco {
        Eco::start_with(backend, |_| {}).await
    }

    /// Starts an authority and a platform with platform settings changed by `configure`.
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Eco {
        let authority_dir = temp_dir("authority");
        let platform_dir = temp_dir("platform");
        let clock = Arc::new(ManualClock::new(START));
        let db = Db::connect(&database_url(backend, &authority_dir, "authority")).await.unwrap();
        let authority = Arc::new(
            Authority::open(db, hanko_authority::Config::sandbox(&authority_dir), clock.clone()).await.unwrap(),
        );
        let counter_key = authority.register_verifier(Role::Counter, "test counter").await.unwrap().api_key;
        let operator_key = authority.register_verifier(Role::Operator, "test operator").await.unwrap().api_key;
        let pf = authority.register_verifier(Role::Platform, "test platform").await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = Http { base: format!("http://{}", listener.local_addr().unwrap()), client: reqwest::Client::new() };
        let au = authority.clone();
        let mut servers = vec![tokio::spawn(async move {
            hanko_authority::serve(au, listener, std::future::pending()).await.unwrap();
        })];

        // The platform's trust anchors: the authority's CA certificates.
        let anchors = platform_dir.join(hanko_platform::ANCHORS_DIR);
        std::fs::create_dir_all(&anchors).unwrap();
        for kind in ["signature", "auth"] {
            for g in std::fs::read_dir(authority_dir.join("ca").join(kind)).unwrap() {
                let g = g.unwrap().path();
                let name = g.file_name().unwrap().to_str().unwrap().to_owned();
                std::fs::copy(g.join("ca.der"), anchors.join(format!("{kind}-{name}.der"))).unwrap();
            }
        }
        std::fs::write(platform_dir.join(hanko_platform::AUTHORITY_KEY_FILE), &pf.api_key).unwrap();
        std::fs::write(platform_dir.join(hanko_platform::AUTHORITY_ID_FILE), &pf.verifier.id).unwrap();
        let platform_db = database_url(backend, &platform_dir, "platform");
        let mut config = Config::new(&platform_dir, &a.base);
        configure(&mut config);
        let platform =
            Arc::new(Platform::open(Db::connect(&platform_db).await.unwrap(), config, clock.clone()).await.unwrap());
        let admin_key = platform.add_admin_key().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = Http { base: format!("http://{}", listener.local_addr().unwrap()), client: reqwest::Client::new() };
        let pl = platform.clone();
        // The router only: the background CRL task is driven by the tests (`refresh`).
        servers.push(tokio::spawn(async move {
            let app = hanko_platform::router(pl).into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum_serve(listener, app).await;
        }));
        let eco = Eco {
            authority,
            platform,
            clock,
            authority_dir,
            platform_dir,
            platform_db,
            a,
            p,
            counter_key,
            operator_key,
            platform_id: pf.verifier.id,
            platform_key: pf.api_key,
            admin_key,
            servers,
        };
        eco.publish_and_refresh().await;
        eco
    }

    /// Publishes the authority's CRLs now and has the platform fetch them.
    pub async fn publish_and_refresh(&self) {
        let (status, body) = self.a.post("/v1/admin/crl", &self.operator_key, json!({})).await;
        assert_eq!(status, 200, "{body}");
        self.platform.refresh_crls().await.unwrap();
    }

    /// Adds a tenant through the admin API (also registered at the authority as `sp_id/web`).
    pub async fn tenant(&self, sp_id: &str, settings: Value) -> Sp {
        let mut body = json!({"sp_id": sp_id, "service_id": "web", "name": format!("test SP {sp_id}")});
        for (k, v) in settings.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, out) = self.p.post("/v1/admin/tenants", &self.admin_key, body).await;
        assert_eq!(status, 201, "{out}");
        Sp { id: out["tenant"]["id"].as_str().unwrap().to_owned(), key: out["api_key"].as_str().unwrap().to_owned() }
    }

    /// Registers a synthetic person and issues a card (PIN 1234, password HANKO2026); returns
    /// (person id, card id).
    pub async fn person_with_card(&self, name: &str, birth: &str) -> (String, String) {
        let (status, body) = self
            .a
            .post(
                "/v1/counter/persons",
                &self.counter_key,
                json!({"name": name, "sex": "2", "birth_date": birth,
                       "address": "東京都見本区試験町一丁目１番１号", "prefecture": "Tokyo-to", "municipality": "Mihon-ku"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let person = body["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .a
            .post(
                &format!("/v1/counter/persons/{person}/cards"),
                &self.counter_key,
                json!({"sign_password": "HANKO2026", "auth_pin": "1234"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (person, body["card_id"].as_str().unwrap().to_owned())
    }

    /// Records a life event at the counter.
    pub async fn event(&self, person: &str, body: Value) -> Value {
        let (status, out) = self.a.post(&format!("/v1/counter/persons/{person}/events"), &self.counter_key, body).await;
        assert_eq!(status, 200, "{out}");
        out
    }

    /// A card client over the card image.
    pub fn card(&self, card_id: &str) -> Client<CardFile> {
        Client::new(CardFile::open(&self.authority_dir, card_id).unwrap())
    }

    /// Signs `document` with the card's signature key through its APDUs: (certificate,
    /// signature), both base64.
    pub fn sign(&self, card_id: &str, document: &[u8]) -> (String, String) {
        let mut client = self.card(card_id);
        let certificate = client.read_signature_certificate(b"HANKO2026").unwrap();
        let digest_info = DigestInfo::of(DigestAlgorithm::Sha256, document).to_der().unwrap();
        let signature = client.sign(Slot::Signature, b"HANKO2026", &digest_info).unwrap();
        (B64.encode(certificate), B64.encode(signature))
    }
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    app: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, std::net::SocketAddr>,
) {
    axum::serve(listener, app).await.unwrap();
}

/// SHA-256, base64.
pub fn sha256_b64(data: &[u8]) -> String {
    B64.encode(DigestAlgorithm::Sha256.digest(data))
}
