#![doc = include_str!("../README.md")]

mod age;
mod consent;
mod contract;
mod error;
mod flow;
mod login;
mod metrics;
mod open;
pub mod pages;
mod records;
mod recover;
mod rp;
mod schema;
mod staff;
mod store;
mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use hanko_store::{Clock, Db};
use serde_json::json;
use zeroize::Zeroizing;

pub use error::{BankError, Text};
pub use rp::{Rp, CLIENT_KEY_FILE, JWE_KEY_FILE};
pub use store::{Account, Contract, Flow, Store};

/// Entry points for the fuzz target (`fuzz/fuzz_targets/bank_parsers.rs`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::Value;

    /// What an event changes on an account: the note and the new address.
    pub type Change = Option<(String, Option<String>)>;

    /// A webhook body as the receiver reads it after the signature check: the change it means
    /// for an account and the body as stored.
    pub fn webhook_event(body: &[u8]) -> Option<(Change, String)> {
        let event: Value = serde_json::from_slice(body).ok()?;
        let kind = event["type"].as_str().unwrap_or_default();
        Some((crate::webhook::fuzzing_change(kind, &event["data"]), crate::webhook::fuzzing_stored_body(&event)))
    }

    /// A stored verification record rendered as the record page (both languages).
    pub fn record_page(record: &[u8]) -> Option<(String, String)> {
        let record: Value = serde_json::from_slice(record).ok()?;
        Some((
            crate::records::record_html(crate::pages::Lang::Ja, &record),
            crate::records::record_html(crate::pages::Lang::En, &record),
        ))
    }

    /// The contract PDF of a customer with this name and account number.
    pub fn contract(name: &str, number: &str) -> Vec<u8> {
        crate::contract::fuzzing_pdf(name, number)
    }

    /// Escapes text for HTML.
    pub fn escape(s: &str) -> String {
        crate::pages::escape(s)
    }
}

/// The file under the data directory holding the bank's API key at the platform operator.
pub const PLATFORM_KEY_FILE: &str = "platform.key";
/// The file under the data directory holding the key of the bank's cookies and form tokens.
pub const SECRET_FILE: &str = "secret.key";
/// The file under the data directory holding the staff key (the staff dashboard).
pub const STAFF_KEY_FILE: &str = "staff.key";

/// The bank's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Keys live here.
    pub data_dir: PathBuf,
    /// The bank's public base URL (`http://127.0.0.1:8404`), no trailing slash.
    pub base_url: String,
    /// The authentication app service's issuer (`{idp}/api/realms/main`).
    pub issuer: String,
    /// The bank's client id at the authentication app service.
    pub client_id: String,
    /// The platform operator's base URL.
    pub platform_url: String,
    /// How long a login lasts (default 30 minutes).
    pub session_lifetime: Duration,
    /// How long the user has to finish an authorization request (default 10 minutes).
    pub flow_lifetime: Duration,
    /// Serve `GET /metrics` without the staff key (a scraper on loopback; `hanko up`).
    pub metrics_public: bool,
}

impl Config {
    /// Defaults for a bank at `base_url` with files under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>, base_url: &str, issuer: &str, platform_url: &str) -> Config {
        Config {
            data_dir: data_dir.into(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: "MIHONBANK".into(),
            platform_url: platform_url.trim_end_matches('/').to_owned(),
            session_lifetime: Duration::from_secs(1800),
            flow_lifetime: Duration::from_secs(600),
            metrics_public: false,
        }
    }

    /// Where the authentication app sends the browser back.
    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.base_url)
    }

    /// Where the platform sends its webhook events.
    pub fn webhook_url(&self) -> String {
        format!("{}/hooks/platform", self.base_url)
    }
}

/// The demo bank. Cheap to share (`Arc`).
pub struct Bank {
    pub(crate) store: Store,
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rp: Rp,
    pub(crate) platform: hanko_sp::Client,
    pub(crate) secret: Zeroizing<Vec<u8>>,
    pub(crate) metrics: metrics::BankMetrics,
}

impl std::fmt::Debug for Bank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bank").field("config", &self.config).finish_non_exhaustive()
    }
}

fn read_or_make_secret(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, BankError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut raw = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut raw);
            let text = format!("{}\n", hex::encode(raw));
            hanko_store::create_new(path, text.as_bytes(), 0o600)
                .map_err(|e| BankError::Internal(format!("{}: {e}", path.display())))?;
            std::fs::read_to_string(path).map_err(|e| BankError::Internal(format!("{}: {e}", path.display())))?
        }
        Err(e) => return Err(BankError::Internal(format!("{}: {e}", path.display()))),
    };
    hex::decode(text.trim())
        .map(Zeroizing::new)
        .map_err(|_| BankError::Internal(format!("{} is not hex", path.display())))
}

impl Bank {
    /// Opens the bank on `db` with files under `config.data_dir`: its platform API key
    /// (`platform.key`, required), its client keys (made when missing), its cookie secret and
    /// staff key (made when missing).
    pub async fn open(db: Db, config: Config, clock: Arc<dyn Clock>) -> Result<Bank, BankError> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| BankError::Internal(format!("{}: {e}", dir.display())))?;
        let key_path = dir.join(PLATFORM_KEY_FILE);
        let key = std::fs::read_to_string(&key_path)
            .map_err(|e| BankError::Internal(format!("the platform API key {}: {e}", key_path.display())))?;
        let platform = hanko_sp::Client::new(&config.platform_url, key.trim().to_owned())?;
        let rp = Rp::open(dir, &config.client_id, &config.issuer, &config.redirect_uri())?;
        let secret = read_or_make_secret(&dir.join(SECRET_FILE))?;
        read_or_make_secret(&dir.join(STAFF_KEY_FILE))?;
        Ok(Bank { store: Store::new(db).await?, config, clock, rp, platform, secret, metrics: Default::default() })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The relying party (its registration for the provider's admin API).
    pub fn rp(&self) -> &Rp {
        &self.rp
    }

    /// The client of the platform operator.
    pub fn platform(&self) -> &hanko_sp::Client {
        &self.platform
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// HMAC-SHA256 of `parts` under the bank's secret, hex (form tokens, cookie checks).
    pub(crate) fn mac(&self, parts: &[&str]) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.secret);
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p.as_bytes());
        }
        hex::encode(ctx.sign().as_ref())
    }

    /// Sets the platform webhook to this bank's receiver; keeps the secret.
    pub async fn register_webhook(&self) -> Result<(), BankError> {
        let answer = self.platform.set_webhook(&self.config.webhook_url()).await?;
        let secret =
            answer["secret"].as_str().ok_or_else(|| BankError::Upstream("the webhook has no secret".into()))?;
        self.store.set_setting("webhook_secret", secret).await?;
        Ok(())
    }
}

/// `; Secure` for the bank's cookies when it is served over HTTPS.
pub(crate) fn secure(bank: &Bank) -> &'static str {
    if bank.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The bank's router.
pub fn router(bank: Arc<Bank>) -> Router {
    let metrics = bank.metrics.metrics.clone();
    let router = Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::get_metrics))
        .merge(login::routes())
        .merge(flow::routes())
        .merge(open::routes())
        .merge(recover::routes())
        .merge(age::routes())
        .merge(records::routes())
        .merge(contract::routes())
        .merge(consent::routes())
        .merge(webhook::routes())
        .merge(staff::routes())
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(bank);
    metrics.measure(router)
}

/// Every answer: no framing (clickjacking; cookies do not separate ports), no MIME sniffing, no
/// referrer beyond the bank (a wallet URL carries a request id).
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    hanko_store::http::page::security_headers(
        response.headers_mut(),
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' http: https:",
    );
    response
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn health(axum::extract::State(bank): axum::extract::State<Arc<Bank>>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match bank.store.db().ping().await {
        Ok(()) => Json(json!({"status": "ok", "database": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health: the database does not answer");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unavailable"})),
            )
                .into_response()
        }
    }
}

/// Serves the bank on `listener` until `shutdown` completes, purging old flows and sessions
/// every minute.
pub async fn serve(
    bank: Arc<Bank>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let b = bank.clone();
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = b.now();
            if let Err(e) = b.store.purge(now - b.config.flow_lifetime.as_secs() as i64, now).await {
                tracing::warn!(error = %e, "purging old flows and sessions");
            }
        }
    });
    let result = axum::serve(listener, router(bank)).with_graceful_shutdown(shutdown).await;
    purge.abort();
    result
}
