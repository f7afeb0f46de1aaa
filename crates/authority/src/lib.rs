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

pub use api::{check_birth_date, parse_sex, router, MAX_BODY};
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
pub use ocsp::{CACHE_CAPACITY, CACHE_FRESH, GAP_GRACE};
pub use publish::{
    CertificateState, CrlCursor, CrlFailure, CrlPublication, CrlState, PublicationStore, PublishedCrl, CRL_PAGE,
};
// --- services/phone exports ---
pub use phone::{
    revocation_document, sign_document, PhoneChange, PhoneClientError, PhoneEnrolment, PhoneSecureElement,
    RevokedCertificate, APPLICATION_TYPE, DOCUMENT_WINDOW, REVOCATION_TYPE,
};
pub use service::{serve, spawn_background};
pub use services::{CertificateStatus, Corresponding, Succession};
pub use signed::{SignedDocument, SignedWith};
pub use verifiers::{
    Caller, CounterCaller, OperatorCaller, Registration, Role, VerifierRecord, VerifierStore, SP_HEADER,
};

use hanko_pki::CaKind;
use hanko_store::Db;

/// Everything the authority stores: one trait per area, implemented together by [`SqlStore`]
/// for SQLite and PostgreSQL.
pub trait Repository: RegisterStore + VerifierStore + ConsentStore + MeterStore + publish::PublicationStore {}
impl<T: RegisterStore + VerifierStore + ConsentStore + MeterStore + publish::PublicationStore> Repository for T {}

/// The authority service: register, CAs, publication. Cheap to share (`Arc`).
pub struct Authority {
    pub(crate) store: Arc<dyn Repository>,
    cas: RwLock<CaSet>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Config,
    pub(crate) ocsp: ocsp::OcspCache,
    pub(crate) meter: meter::MeterBuffer,
    pub(crate) keys: verifiers::KeyCache,
    pub(crate) crl_failures: std::sync::atomic::AtomicU64,
    pub(crate) age_limit: limit::Limiter,
    pub(crate) public_limit: limit::Limiter,
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
        for kind in [CaKind::Signature, CaKind::Auth] {
            if cas.current(kind, now).is_err() {
                cas.create_generation(store.as_ref(), &config.data_dir, kind, now).await?;
            }
        }
        let ocsp = ocsp::OcspCache::new(&config);
        let age_limit = limit::Limiter::new(config.age_check_rate, limit::MAX_KEYS);
        let public_limit = limit::Limiter::new(config.public_rate, limit::MAX_KEYS);
        let authority = Authority {
            store,
            cas: RwLock::new(cas),
            clock,
            config,
            ocsp,
            meter: meter::MeterBuffer::default(),
            keys: verifiers::KeyCache::default(),
            crl_failures: std::sync::atomic::AtomicU64::new(0),
            age_limit,
            public_limit,
        };
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
        let mut ids = Vec::new();
        for kind in [CaKind::Signature, CaKind::Auth] {
            ids.push(cas.create_generation(self.store.as_ref(), &self.config.data_dir, kind, now).await?.id.clone());
        }
        *self.cas.write().unwrap_or_else(|p| p.into_inner()) = cas;
        Ok(ids)
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
