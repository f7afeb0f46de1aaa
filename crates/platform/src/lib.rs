#![doc = include_str!("../README.md")]

mod api;
mod authority;
mod config;
mod consents;
mod error;
mod evidence;
mod evidence_api;
pub mod evidence_log;
mod formats;
mod identity;
mod login;
mod meter;
mod metrics;
mod monitoring;
mod ocsp;
pub mod openapi;
mod revocation;
mod schema;
mod service;
mod store;
mod tenants;
mod userapi;
mod users;
mod verify;
mod webhooks;

use std::path::Path;
use std::sync::{Arc, RwLock};

pub use api::router;
pub use authority::{AuthorityClient, CrlListing, Fetched};
pub use config::{Config, Environment};
pub use consents::ConsentStore;
pub use error::PlatformError;
pub use evidence::{EvidenceRecord, EvidenceStore, NewEvidence};
pub use evidence_api::{EvidenceQuery, EvidenceSearchStore, EvidenceSummary, MAX_EVIDENCE_PAGE, MAX_EVIDENCE_SCAN};
pub use evidence_log::{check_bundle, BundleReport, EvidenceKeys, LogReport, LogStore, StoredCheckpoint};
pub use formats::{
    load_or_create_jwe_key, CmsRequest, FormatOutcome, PdfReport, PdfRequest, PdfSignatureReport, SignResultOutcome,
    SignResultRequest, JWE_KEY_FILE,
};
pub use hanko_store::{Clock, ManualClock, SystemClock};
pub use login::{Challenge, CHALLENGE_BYTES};
pub use meter::{
    jst_month, MeterLine, MeterReport, MeterStore, MeterTotal, TenantRef, AUTH_CHECK_YEN, CORRESPONDING_SERIAL_YEN,
    LATEST_FACTS_YEN, PLATFORM_LINE, SIGNATURE_CHECK_YEN,
};
pub use monitoring::{MonitoringReport, MonitoringStore, NewEvent};
pub use ocsp::OCSP_MAX_AGE;
pub use revocation::{CrlHeld, CrlRefresh, AFTER_NEXT_UPDATE, CRL_DIR, MISSING_RETRY, RETRY as CRL_RETRY};
pub use service::{serve, spawn_background};
pub use store::SqlStore;
pub use tenants::{AdminCaller, CheckMethod, FactItem, IssuedKey, NewTenant, Role, SpCaller, Tenant, TenantStore};
pub use userapi::CheckPurpose;
pub use users::{Binding, BoundBy, BoundCertificate, StatusCheck, Taken, UserRecord, UserStore};
pub use verify::{
    certificate_type, classify, Checked, Outcome, Reason, ResultCode, SignatureOutcome, SignatureRequest, MAX_SIGNATURE,
};
pub use webhooks::{sign_webhook, DeliveryReport, WebhookStore};

use hanko_pki::verify::TrustStore;
use hanko_pki::{CaKind, PolicySet};
use hanko_store::Db;
use zeroize::Zeroizing;

/// Everything the platform stores: one trait per area, implemented together by [`SqlStore`] for
/// SQLite and PostgreSQL.
pub trait Repository:
    TenantStore
    + EvidenceStore
    + EvidenceSearchStore
    + UserStore
    + MeterStore
    + MonitoringStore
    + WebhookStore
    + ConsentStore
{
}
impl<
        T: TenantStore
            + EvidenceStore
            + EvidenceSearchStore
            + UserStore
            + MeterStore
            + MonitoringStore
            + WebhookStore
            + ConsentStore,
    > Repository for T
{
}

/// The platform operator service. Cheap to share (`Arc`).
pub struct Platform {
    pub(crate) store: Arc<dyn Repository>,
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) authority: AuthorityClient,
    trust: RwLock<Arc<TrustStore>>,
    pub(crate) crls: revocation::Crls,
    /// The client webhooks are delivered with (`https` with the system's roots and
    /// `Config::webhook_ca`; no redirects).
    pub(crate) webhook_http: webhooks::WebhookClient,
    pub(crate) evidence_keys: evidence_log::EvidenceKeys,
    pub(crate) appender: evidence_log::Appender,
    /// The key sign results (JWE) are addressed to (`DATA_DIR/jwe.key`).
    pub(crate) jwe_key: hanko_pki::jwe::JweDecryptionKey,
    pub(crate) meter: meter::MeterBuffer,
    pub(crate) metrics: metrics::PlatformMetrics,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The file under the data directory holding the platform's API key at the authority.
pub const AUTHORITY_KEY_FILE: &str = "authority.key";
/// The file under the data directory holding the platform's verifier id at the authority
/// (`TPF…`, printed by `hanko authority add-verifier --role platform`); optional.
pub const AUTHORITY_ID_FILE: &str = "authority.id";
/// The directory of trust anchors (`signature-*.der`, `auth-*.der`) under the data directory.
pub const ANCHORS_DIR: &str = "anchors";

impl Platform {
    /// Opens the platform on `db` with files under `config.data_dir`: the trust anchors in
    /// `anchors/` and the authority key in `authority.key` (see `hanko platform init`).
    pub async fn open(db: Db, config: Config, clock: Arc<dyn Clock>) -> Result<Platform, PlatformError> {
        let key_path = config.data_dir.join(AUTHORITY_KEY_FILE);
        let key = std::fs::read_to_string(&key_path).map_err(|e| PlatformError::io("authority key", &key_path, e))?;
        let key = Zeroizing::new(key.trim().to_owned());
        let mut config = config;
        if config.verifier_id.is_none() {
            config.verifier_id = std::fs::read_to_string(config.data_dir.join(AUTHORITY_ID_FILE))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
        }
        let store = Arc::new(SqlStore::new(db).await?);
        Platform::with_store(store, config, clock, key).await
    }

    /// Opens the platform over any [`Repository`] with the authority key given.
    pub async fn with_store(
        store: Arc<dyn Repository>,
        config: Config,
        clock: Arc<dyn Clock>,
        authority_key: Zeroizing<String>,
    ) -> Result<Platform, PlatformError> {
        let trust = load_anchors(&config.data_dir.join(ANCHORS_DIR), config.environment)?;
        let authority = AuthorityClient::new(&config.authority_url, authority_key)?;
        let webhook_http =
            webhooks::WebhookClient::new(config.webhook_ca.as_deref(), config.environment == Environment::Production)?;
        let evidence_keys =
            evidence_log::EvidenceKeys::load_or_create(&config.data_dir.join(evidence_log::EVIDENCE_DIR), clock.now())?;
        let appender = evidence_log::Appender::start(store.clone());
        let jwe_key = formats::load_or_create_jwe_key(&config.data_dir)?;
        let platform = Platform {
            store,
            config,
            clock,
            authority,
            trust: RwLock::new(Arc::new(trust)),
            crls: Default::default(),
            webhook_http,
            evidence_keys,
            appender,
            jwe_key,
            meter: Default::default(),
            metrics: Default::default(),
        };
        if platform.config.load_crls {
            platform.load_crls().await?;
        }
        Ok(platform)
    }

    /// The trust anchors (the authority's CA generations).
    pub fn trust(&self) -> Arc<TrustStore> {
        self.trust.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Switches new trust anchors in (see `revocation`: anchors/ is read again at each refresh).
    pub(crate) fn set_trust(&self, trust: TrustStore) {
        *self.trust.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(trust);
    }

    /// The storage.
    pub fn store(&self) -> &dyn Repository {
        self.store.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The authority client.
    pub fn authority(&self) -> &AuthorityClient {
        &self.authority
    }
}

/// Reads the trust anchors: every `signature-*.der` / `auth-*.der` file of `dir`.
pub fn load_anchors(dir: &Path, environment: Environment) -> Result<TrustStore, PlatformError> {
    let policies = match environment {
        Environment::Test => PolicySet::sandbox(),
        Environment::Production => PolicySet::production(),
    };
    let mut trust = TrustStore::new(policies);
    let entries = std::fs::read_dir(dir).map_err(|e| PlatformError::io("trust anchors", dir, e))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let kind = if name.starts_with("signature-") {
            CaKind::Signature
        } else if name.starts_with("auth-") {
            CaKind::Auth
        } else {
            continue;
        };
        let der = std::fs::read(&path).map_err(|e| PlatformError::io("trust anchor", &path, e))?;
        trust.add_anchor(&der, kind).map_err(|e| PlatformError::Invalid(format!("{}: {e}", path.display())))?;
    }
    if trust.anchors().is_empty() {
        return Err(PlatformError::Invalid(format!(
            "no trust anchors in {} (signature-*.der, auth-*.der); see `hanko platform init --help`",
            dir.display()
        )));
    }
    Ok(trust)
}

/// A random id in the UUID v4 format.
pub(crate) fn new_id() -> String {
    use rand_core::{OsRng, RngCore};
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
