#![doc = include_str!("../README.md")]

mod api;
mod ca;
mod clock;
mod config;
mod consent;
mod counter;
mod error;
mod limit;
mod meter;
mod metrics;
mod ocsp;
pub mod openapi;
mod phone;
mod publish;
mod register;
mod schema;
mod service;
mod services;
mod signed;
mod verifiers;

use std::sync::{Arc, RwLock, RwLockReadGuard};

pub use api::{parse_sex, router, MAX_BODY};
pub use ca::{CaSet, Generation};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, EmigrationPolicy, Environment};
pub use counter::{
    card_expiry_after, revocation_reason, CardPins, IssuedCard, LifeEvent, NewPerson, Outcome, REVOCATION_REASONS,
};
pub use error::AuthorityError;
pub use limit::Rate;
pub use register::{
    CardRecord, CardStatus, CertRecord, GenerationRecord, Person, PersonStatus, RegisterStore, RevokedEntry, SqlStore,
};
// --- consent exports ---
pub use consent::{
    ConsentRecord, ConsentStatus, ConsentStore, ConsentedFacts, FactItem, LatestFacts, Registered, CONSENT_TYPE,
    WITHDRAWAL_TYPE,
};
// --- meter exports ---
pub use meter::{
    jst_month, Billable, MeterOnce, MeterReport, MeterRow, MeterStore, StatusCheckOutcome, VerifierTotal,
    AUTH_CHECK_YEN, CORRESPONDING_SERIAL_YEN, LATEST_FACTS_YEN, MAX_STATUS_CHECK_SERIALS, SIGNATURE_CHECK_YEN,
};
// --- ocsp/publish exports ---
pub use ocsp::{CACHE_FRESH, DEFAULT_CACHE_BYTES, GAP_GRACE, MAX_REMEMBERED_REQUEST};
pub use publish::{
    CertificateState, CrlCursor, CrlFailure, CrlPublication, CrlRepair, CrlState, PublicationStore, PublishedCrl,
    CRL_PAGE,
};
// --- services/phone exports ---
pub use phone::{
    revocation_document, sign_document, PhoneChallenge, PhoneChange, PhoneClientError, PhoneEnrolment,
    PhoneSecureElement, PhoneStore, RevokedCertificate, APPLICATION_TYPE, CHALLENGE_LIFETIME, DOCUMENT_WINDOW,
    MAX_LIVE_CHALLENGES, POSSESSION_TYPE, REVOCATION_TYPE,
};
pub use service::{serve, serve_tls, spawn_background};
pub use services::{CertificateStatus, Corresponding, Succession};
pub use signed::{SignedDocument, SignedWith};
pub use verifiers::{
    Caller, CounterCaller, OperatorCaller, Registration, Role, VerifierRecord, VerifierStore, SP_HEADER,
};

use hanko_pki::CaKind;
use hanko_store::Db;

/// Everything the authority stores: one trait per area, implemented together by [`SqlStore`]
/// for SQLite and PostgreSQL.
pub trait Repository:
    RegisterStore + VerifierStore + ConsentStore + MeterStore + publish::PublicationStore + phone::PhoneStore
{
}
impl<T: RegisterStore + VerifierStore + ConsentStore + MeterStore + publish::PublicationStore + phone::PhoneStore>
    Repository for T
{
}

/// The authority service: register, CAs, publication. Cheap to share (`Arc`).
pub struct Authority {
    pub(crate) store: Arc<dyn Repository>,
    cas: RwLock<CaSet>,
    /// The trust store of every CA generation, rebuilt only when the generations change.
    trust: RwLock<Arc<hanko_pki::verify::TrustStore>>,
    trust_builds: std::sync::atomic::AtomicUsize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Config,
    pub(crate) ocsp: ocsp::OcspCache,
    pub(crate) meter: meter::MeterBuffer,
    pub(crate) keys: verifiers::KeyCache,
    pub(crate) crl_failures: std::sync::atomic::AtomicU64,
    pub(crate) age_limit: limit::Limiter,
    pub(crate) public_limit: limit::Limiter,
    pub(crate) metrics: metrics::AuthorityMetrics,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Authority {
    /// Opens the authority on `db` with files under `config.data_dir`; creates the first CA
    /// generations when there are none.
    pub async fn open(db: Db, config: Config, clock: Arc<dyn Clock>) -> Result<Authority, AuthorityError> {
        let store = Arc::new(SqlStore::new(db).await?);
        Authority::with_store(store, config, clock).await
    }

    /// Opens the authority over any [`Repository`].
    pub async fn with_store(
        store: Arc<dyn Repository>,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Authority, AuthorityError> {
        let mut cas = CaSet::load(store.as_ref(), &config.data_dir).await?;
        let now = clock.now();
        let lifetime = config.responder_lifetime()?;
        for kind in [CaKind::Signature, CaKind::Auth] {
            if cas.current(kind, now).is_err() {
                cas.create_generation(store.as_ref(), &config.data_dir, kind, now, lifetime).await?;
            }
        }
        cas.rotate_responders(&config.data_dir, now, lifetime)?;
        let trust = Arc::new(cas.trust_store()?);
        let ocsp = ocsp::OcspCache::new(&config);
        let age_limit = limit::Limiter::new(config.age_check_rate, limit::MAX_KEYS);
        let public_limit = limit::Limiter::new(config.public_rate, limit::MAX_KEYS);
        let authority = Authority {
            store,
            cas: RwLock::new(cas),
            trust: RwLock::new(trust),
            trust_builds: std::sync::atomic::AtomicUsize::new(1),
            clock,
            config,
            ocsp,
            meter: meter::MeterBuffer::default(),
            keys: verifiers::KeyCache::default(),
            crl_failures: std::sync::atomic::AtomicU64::new(0),
            age_limit,
            public_limit,
            metrics: Default::default(),
        };
        let hashed = authority.store.backfill_key_hashes().await?;
        if hashed > 0 {
            tracing::info!(certificates = hashed, "recorded the key hash of certificates stored before it was kept");
        }
        let voided = authority.recover_interrupted_issuance().await?;
        if !voided.is_empty() {
            tracing::warn!(cards = ?voided, "voided cards whose issuance a crash interrupted");
        }
        Ok(authority)
    }

    /// Starts a new generation of both CAs (same DN, new keys), like J-LIS every few years.
    pub async fn new_generation(&self) -> Result<Vec<String>, AuthorityError> {
        let now = self.clock.now();
        let mut cas = CaSet::load(self.store.as_ref(), &self.config.data_dir).await?;
        let lifetime = self.config.responder_lifetime()?;
        let mut ids = Vec::new();
        for kind in [CaKind::Signature, CaKind::Auth] {
            let g = cas.create_generation(self.store.as_ref(), &self.config.data_dir, kind, now, lifetime).await?;
            ids.push(g.id.clone());
        }
        let trust = Arc::new(cas.trust_store()?);
        *self.cas.write().unwrap_or_else(|p| p.into_inner()) = cas;
        *self.trust.write().unwrap_or_else(|p| p.into_inner()) = trust;
        self.trust_builds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(ids)
    }

    /// The trust store of every CA generation (built once per change of the generations).
    pub(crate) fn trust(&self) -> Arc<hanko_pki::verify::TrustStore> {
        self.trust.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many times the trust store was built (once at start, once per new generation).
    pub fn trust_store_builds(&self) -> usize {
        self.trust_builds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Replaces every delegated OCSP responder certificate that is due
    /// (`Config::responder_validity`: less than half left, or longer than configured) with a
    /// new one signed by the CA key; returns how many. Cheap when none is due.
    pub fn rotate_responders(&self) -> Result<usize, AuthorityError> {
        let now = self.clock.now();
        let lifetime = self.config.responder_lifetime()?;
        if !self.cas()?.responders_due(now, lifetime) {
            return Ok(0);
        }
        let mut cas = self.cas.write().unwrap_or_else(|p| p.into_inner());
        cas.rotate_responders(&self.config.data_dir, now, lifetime)
    }

    /// The CA generations.
    pub fn cas(&self) -> Result<RwLockReadGuard<'_, CaSet>, AuthorityError> {
        Ok(self.cas.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The storage.
    pub fn store(&self) -> &dyn Repository {
        self.store.as_ref()
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
