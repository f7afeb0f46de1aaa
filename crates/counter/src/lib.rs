#![doc = include_str!("../README.md")]

mod auth;
mod checks;
mod error;
mod metrics;
mod openapi;
mod pages;
mod photo;
mod records;
mod schema;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use hanko_card::Transport;
use hanko_documents::{AccessCode, CheckError, DocumentKind, Progress, Report, TrustAnchors};
use hanko_store::{Clock, Db, SystemClock};
use serde_json::json;
use zeroize::Zeroizing;

pub use checks::{MAX_APDUS, MAX_KEPT, MAX_RUNNING, RESULT_TTL};
pub use error::CounterError;
pub use photo::{to_png, PhotoError, MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS};
pub use records::{Record, RecordPolicy, AML_FIELDS, RETENTION_SECS};

/// One place a document can be read from: a PC/SC reader or an emulated document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceInfo {
    /// Stable id (what the page sends back; never shown as HTML unescaped).
    pub id: String,
    /// What the staff see ("ACS ACR1252 00 00", "emulated: 見本 花子 (passport)").
    pub label: String,
    /// The document it holds, when known (an emulated document); `None` for a reader.
    pub kind: Option<DocumentKind>,
}

/// Where documents are read from: the readers and the emulated documents. `hanko check serve`
/// implements it over the data directory's images and (feature `pcsc`) the PC/SC readers.
pub trait Sources: Send + Sync + 'static {
    /// The sources now (readers come and go: asked each time the page loads).
    fn list(&self) -> Vec<SourceInfo>;
    /// A transport to the document in source `id` (an error in words when there is none).
    /// Called on a blocking thread; the counter runs at most one check per source at a time.
    fn open(&self, id: &str) -> Result<Box<dyn Transport + Send>, String>;
}

/// The function that reads and verifies a document: [`hanko_documents::check`] unless a test or
/// a demo replaces it.
pub type CheckFn = dyn Fn(
        DocumentKind,
        &mut dyn Transport,
        &AccessCode,
        &TrustAnchors,
        time::OffsetDateTime,
        &mut dyn FnMut(Progress<'_>),
    ) -> Result<Report, CheckError>
    + Send
    + Sync;

/// The counter's settings.
#[derive(Clone)]
pub struct CounterConfig {
    /// What the counter trusts (police keys, immigration roots, CSCAs, the My Number CV root).
    pub trust: TrustAnchors,
    /// The readers and emulated documents.
    pub sources: Arc<dyn Sources>,
    /// The records database: `sqlite:PATH` or `postgres://…`; `None` is
    /// `sqlite:DATA_DIR/counter.sqlite`.
    pub database_url: Option<String>,
    /// Where the SQLite database lives by default.
    pub data_dir: PathBuf,
    /// What a check's record keeps (default: the minimum the law asks for).
    pub record_policy: RecordPolicy,
    /// The staff token: the page and the API need it (the URL [`serve`] prints once, or
    /// `Authorization: Bearer`). Random unless set.
    pub staff_token: Zeroizing<String>,
    /// The page's public origin (`https://counter.example`) when behind a proxy; POSTs must
    /// come from it. `None`: the origin of the request's `Host`.
    pub public_origin: Option<String>,
    /// Serve `GET /metrics` without the staff token (a scraper on loopback).
    pub metrics_public: bool,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// How long one check may take before it is ended (default 120 s).
    pub check_timeout: Duration,
    /// The reader and verifier ([`hanko_documents::check`]).
    pub checker: Arc<CheckFn>,
}

impl std::fmt::Debug for CounterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterConfig")
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("data_dir", &self.data_dir)
            .field("record_policy", &self.record_policy)
            .field("staff_token", &"[elided]")
            .field("public_origin", &self.public_origin)
            .field("metrics_public", &self.metrics_public)
            .field("check_timeout", &self.check_timeout)
            .finish_non_exhaustive()
    }
}

/// A database URL without its password.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:[elided]{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A fresh staff token (24 random bytes, hex).
pub fn new_staff_token() -> Zeroizing<String> {
    let mut b = Zeroizing::new([0u8; 24]);
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, b.as_mut());
    Zeroizing::new(hex::encode(b.as_ref()))
}

impl CounterConfig {
    /// Defaults: records in `data_dir/counter.sqlite`, the minimal record policy, a random staff
    /// token, the system clock, [`hanko_documents::check`].
    pub fn new(trust: TrustAnchors, sources: Arc<dyn Sources>, data_dir: impl Into<PathBuf>) -> CounterConfig {
        CounterConfig {
            trust,
            sources,
            database_url: None,
            data_dir: data_dir.into(),
            record_policy: RecordPolicy::default(),
            staff_token: new_staff_token(),
            public_origin: None,
            metrics_public: false,
            clock: Arc::new(SystemClock),
            check_timeout: Duration::from_secs(120),
            checker: Arc::new(hanko_documents::check),
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("counter.sqlite").display()))
    }
}

/// The counter service. Cheap to share (`Arc`).
pub struct Counter {
    pub(crate) config: CounterConfig,
    pub(crate) records: records::Store,
    pub(crate) checks: checks::Checks,
    pub(crate) metrics: metrics::CounterMetrics,
    pub(crate) sessions: auth::Sessions,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Counter {
    /// Opens the counter: connects to the records database and applies its migrations.
    pub async fn open(config: CounterConfig) -> Result<Counter, CounterError> {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| CounterError::Internal(format!("{}: {e}", config.data_dir.display())))?;
        }
        let db = Db::connect(&config.database_url()).await?;
        Counter::with_db(db, config).await
    }

    /// Opens the counter on a database already connected.
    pub async fn with_db(db: Db, config: CounterConfig) -> Result<Counter, CounterError> {
        Ok(Counter {
            records: records::Store::new(db).await?,
            checks: checks::Checks::default(),
            metrics: metrics::CounterMetrics::default(),
            sessions: auth::Sessions::default(),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &CounterConfig {
        &self.config
    }

    /// The records kept, newest first (at most `limit`).
    pub async fn records(&self, limit: i64) -> Result<Vec<Record>, CounterError> {
        Ok(self.records.list(limit).await?)
    }

    pub(crate) fn now(&self) -> time::OffsetDateTime {
        self.config.clock.now()
    }
}

/// The counter's router: the page (`/`), the records (`/records`), the API (`/api/…`),
/// `/healthz`, `/metrics`, `/openapi.json`.
pub fn router(counter: Arc<Counter>) -> Router {
    let metrics = counter.metrics.metrics.clone();
    let router = Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::get_metrics))
        .route("/openapi.json", get(openapi_json))
        .merge(pages::routes())
        .merge(checks::routes())
        .merge(records::routes())
        .layer(axum::extract::DefaultBodyLimit::max(checks::MAX_BODY))
        .layer(axum::middleware::map_response(rejections))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(counter);
    metrics.measure(router)
}

/// The counter page's policy: its own script and styles only, images from itself (the photo),
/// never framed, forms and fetches to itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    hanko_store::http::page::security_headers(response.headers_mut(), CSP);
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

/// axum's own refusals as problem+json (the HTML pages' own refusals stay HTML).
async fn rejections(response: axum::response::Response) -> axum::response::Response {
    let html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        response
    } else {
        hanko_store::http::problem_for_rejections(response).await
    }
}

async fn openapi_json() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi::document()).into_response()
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn health(axum::extract::State(counter): axum::extract::State<Arc<Counter>>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match counter.records.db().ping().await {
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

/// Serves the counter on `listener` until the process ends: opens the records database,
/// prints the staff sign-in URL once on standard output (the token is never logged), purges
/// records past their retention daily.
pub async fn serve(config: CounterConfig, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let counter = Arc::new(Counter::open(config).await?);
    let addr = listener.local_addr()?;
    let base = counter.config.public_origin.clone().unwrap_or_else(|| format!("http://{addr}"));
    println!("counter check page (staff): {base}/?token={}", counter.config.staff_token.as_str());
    tracing::info!(%addr, "counter check service listening");
    serve_counter(counter, listener).await
}

/// Serves an opened counter on `listener` (no URL printed).
pub async fn serve_counter(counter: Arc<Counter>, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let c = counter.clone();
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            tick.tick().await;
            match c.records.purge(c.now().unix_timestamp()).await {
                Ok(n) if n > 0 => tracing::info!(records = n, "records past their retention deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging records past their retention"),
            }
        }
    });
    let result = axum::serve(listener, router(counter)).await;
    purge.abort();
    Ok(result?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(super::redact_url("postgres://u:secret@h/db"), "postgres://u:[elided]@h/db");
        assert_eq!(super::redact_url("sqlite:/x/y"), "sqlite:/x/y");
    }
}
