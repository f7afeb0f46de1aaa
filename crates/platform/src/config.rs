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
    /// How often the evidence log is checkpointed (signed and time-stamped) when it grew.
    pub checkpoint_interval: Duration,
    /// Largest request body of the routes that carry a whole document (a signed PDF, an
    /// attached CMS), base64 in JSON: 4/3 of the document.
    pub max_document_body: usize,
    /// Which JWE `alg`/`enc` the sign-result route accepts (default RSA-OAEP-256 + A256GCM).
    pub jwe_policy: hanko_pki::jwe::JwePolicy,
    /// How long a login challenge may be answered (default 5 minutes).
    pub challenge_lifetime: Duration,
    /// Unexpired, unused login challenges a tenant may hold at once (default 10,000).
    pub max_live_challenges: u32,
    /// Until when the authority waives its OCSP fees (its `ocsp_free_until`): the meter mirrors
    /// them as 0 yen before, the published fees after.
    pub ocsp_free_until: time::OffsetDateTime,
    /// Load the CRLs kept under the data directory at open (a serving node: yes; a one-off
    /// command such as `hanko platform add-tenant`: no need to index a national CRL).
    pub load_crls: bool,
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
    /// Serve `GET /metrics` without a key (default: the admin key is needed). For a scraper on
    /// a private network or on loopback (`hanko up`); counts of verifications and webhooks are
    /// business data.
    pub metrics_public: bool,
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
            checkpoint_interval: Duration::from_secs(10 * 60),
            max_document_body: 24 * 1024 * 1024,
            jwe_policy: hanko_pki::jwe::JwePolicy::default(),
            challenge_lifetime: Duration::from_secs(5 * 60),
            max_live_challenges: 10_000,
            ocsp_free_until: time::macros::datetime!(2025-12-31 15:00 UTC),
            load_crls: true,
            verifier_id: None,
            monitoring_interval: Duration::from_secs(24 * 3600),
            webhook_poll: Duration::from_secs(5),
            webhook_max_attempts: 12,
            webhook_backoff: Duration::from_secs(30),
            webhook_ca: None,
            metrics_public: false,
        }
    }
}
