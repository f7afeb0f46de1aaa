//! The platform's settings.

use std::path::PathBuf;
use std::time::Duration;

/// Which ecosystem the platform serves. An API key of the other one is refused with 403, like the
/// separate sandbox and production hosts of a commercial platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// The sandbox (the hanko authority, test certificates).
    Test,
    /// Production.
    Production,
}

impl Environment {
    /// `test` / `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }

    /// Parses [`Environment::as_str`].
    pub fn parse(s: &str) -> Option<Environment> {
        match s {
            "test" => Some(Environment::Test),
            "production" => Some(Environment::Production),
            _ => None,
        }
    }
}

/// The platform's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Trust anchors (`anchors/`), the platform's keys and cached CRLs live here.
    pub data_dir: PathBuf,
    /// The environment this platform serves.
    pub environment: Environment,
    /// The authority's base URL (`http://127.0.0.1:8440`).
    pub authority_url: String,
    /// How often the CRLs are fetched again (an unchanged CRL costs one 304).
    pub crl_refresh: Duration,
    /// Largest request body accepted.
    pub max_body: usize,
    /// The platform's verifier id at the authority (`TPF…`), named in the consent documents it
    /// prepares; `Platform::open` reads `DATA_DIR/authority.id` when this is `None`.
    pub verifier_id: Option<String>,
    /// How often the monitoring job (現況確認) runs (default daily).
    pub monitoring_interval: Duration,
    /// How often the webhook outbox is polled for due deliveries.
    pub webhook_poll: Duration,
    /// Delivery attempts of a webhook event before it is marked failed.
    pub webhook_max_attempts: u32,
    /// The first retry delay; each further one doubles (capped at 6 hours).
    pub webhook_backoff: Duration,
    /// Extra trust anchors (a PEM file of CA certificates) for `https` webhook receivers,
    /// besides the system's roots — e.g. an SP's private CA.
    pub webhook_ca: Option<PathBuf>,
}

impl Config {
    /// Sandbox defaults for a platform with files under `data_dir`, calling the authority at
    /// `authority_url`.
    pub fn new(data_dir: impl Into<PathBuf>, authority_url: impl Into<String>) -> Config {
        Config {
            data_dir: data_dir.into(),
            environment: Environment::Test,
            authority_url: authority_url.into(),
            crl_refresh: Duration::from_secs(15 * 60),
            max_body: 1024 * 1024,
            verifier_id: None,
            monitoring_interval: Duration::from_secs(24 * 3600),
            webhook_poll: Duration::from_secs(5),
            webhook_max_attempts: 12,
            webhook_backoff: Duration::from_secs(30),
            webhook_ca: None,
        }
    }
}
