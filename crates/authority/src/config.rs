//! The authority's settings. Every [S]/[I] fact of shared/spec/20-pki.md is a setting here.

use std::path::PathBuf;
use std::time::Duration;

use hanko_pki::time::macros::datetime;
use hanko_pki::time::OffsetDateTime;

/// Which ecosystem an authority (and a verifier's credentials) belongs to. A verifier registered
/// for one is refused by the other, like J-LIS's separate test and production IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// The sandbox (test IDs, test certificates). The only one hanko runs as today.
    Test,
    /// Production IDs.
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

/// What emigration (海外転出) does to the user-authentication certificate: sources differ, and
/// since 2024 it can continue abroad (shared/spec/20-pki.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmigrationPolicy {
    /// Signature certificate revoked (affiliationChanged), auth certificate kept. Default.
    KeepAuth,
    /// Both revoked: signature affiliationChanged, auth cessationOfOperation.
    RevokeBoth,
}

/// The authority's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Keys, card images and published CRLs live here.
    pub data_dir: PathBuf,
    /// The environment this authority serves.
    pub environment: Environment,
    /// Emigration rule \[S\].
    pub emigration: EmigrationPolicy,
    /// How long a register change may take to show in OCSP answers (J-LIS: 15 minutes; zero
    /// means at once).
    pub ocsp_lag: Duration,
    /// OCSP checks are free until then (January 2023 + 3 years) \[V\].
    pub ocsp_free_until: OffsetDateTime,
    /// The municipality code written on cards (5 digits; `99999` is not a real one).
    pub municipality_code: String,
    /// The bound of the OCSP cache (pre-signed answers and remembered requests), in bytes.
    pub ocsp_cache_bytes: usize,
    /// How long a delegated OCSP responder certificate is valid; a new one is issued (with the
    /// CA key) when less than half of this is left (default 7 days).
    pub responder_validity: std::time::Duration,
    /// The ages `POST /v1/age-check` may be asked about (default 15, 16, 18, 20, 65): any other
    /// is refused, so that a verifier cannot bisect the birth date.
    pub age_thresholds: Vec<u32>,
    /// Age checks per verifier and certificate (default 5 at once, then one per 4.8 hours — 5 a
    /// day): asking daily would otherwise reveal the birthday.
    pub age_check_rate: crate::Rate,
    /// Requests per client address and per bearer key on the unauthenticated routes
    /// (`/openapi.json`, `/v1/smartphone/*`); default 60 at once, then 10 a second.
    pub public_rate: crate::Rate,
    /// Serve `GET /metrics` without a key (default: an operator key is needed). For a scraper on
    /// a private network or on loopback (`hanko up`).
    pub metrics_public: bool,
}

impl Config {
    /// [`Config::responder_validity`] as a certificate validity: at least an hour.
    pub(crate) fn responder_lifetime(&self) -> Result<hanko_pki::time::Duration, crate::AuthorityError> {
        let d = hanko_pki::time::Duration::try_from(self.responder_validity)
            .map_err(|_| crate::AuthorityError::Invalid("responder_validity is out of range".into()))?;
        if d < hanko_pki::time::Duration::hours(1) {
            return Err(crate::AuthorityError::Invalid("responder_validity must be at least an hour".into()));
        }
        Ok(d)
    }

    /// The defaults of the sandbox, keeping files under `data_dir`.
    pub fn sandbox(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            environment: Environment::Test,
            emigration: EmigrationPolicy::KeepAuth,
            ocsp_lag: Duration::from_secs(15 * 60),
            ocsp_free_until: datetime!(2025-12-31 15:00 UTC),
            municipality_code: "99999".into(),
            ocsp_cache_bytes: crate::ocsp::DEFAULT_CACHE_BYTES,
            responder_validity: Duration::from_secs(7 * 24 * 3600),
            age_thresholds: vec![15, 16, 18, 20, 65],
            age_check_rate: crate::Rate::new(5, Duration::from_secs(24 * 3600 / 5)),
            public_rate: crate::Rate::new(60, Duration::from_millis(100)),
            metrics_public: false,
        }
    }
}
