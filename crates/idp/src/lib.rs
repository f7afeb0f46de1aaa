#![doc = include_str!("../README.md")]

mod admin;
mod api;
mod app;
mod authorize;
mod claims;
mod clients;
mod config;
mod error;
pub mod keys;
mod metrics;
pub mod openapi;
mod platform;
mod schema;
mod service;
mod sign;
mod store;
mod token;
mod wallet;

use std::sync::{Arc, RwLock};

pub use admin::AdminCaller;
pub use api::router;
pub use app::{AppRequest, Approval, ApprovalOutcome, InputAssistFiles};
pub use authorize::{AuthRequest, SCOPES};
pub use clients::{valid_client_id, ClaimFormat, Client, ClientConfig, Devices, JweRecipient, NewClient, JWT_BEARER};
pub use config::Config;
pub use error::{IdpError, OAuthError};
pub use hanko_store::{Clock, ManualClock, SystemClock};
pub use platform::PLATFORM_KEY_FILE;
pub use service::serve;
pub use sign::NewSignTransaction;
pub use store::{FlowRecord, GrantRecord, SignTxRecord, SqlStore};
pub use wallet::{TEST_PASSWORD, TEST_PIN};

use hanko_pki::RsaPublicKey;
use hanko_store::Db;
use zeroize::Zeroizing;

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/idp_parsers.rs`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// The parser of authorization queries and form bodies (a repeated parameter is an error).
    pub fn parse_params(raw: &str) -> Result<std::collections::HashMap<String, String>, String> {
        crate::authorize::parse_params(raw)
    }
}

/// The file under the data directory holding the key pairwise subjects are derived with.
pub const PAIRWISE_KEY_FILE: &str = "pairwise.key";
/// The file under the data directory holding an admin key (written by `hanko idp init`).
pub const ADMIN_KEY_FILE: &str = "admin.key";

/// The authentication app service. Cheap to share (`Arc`).
pub struct Idp {
    pub(crate) store: SqlStore,
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: RwLock<keys::Keys>,
    pub(crate) platform: platform::PlatformClient,
    pub(crate) http: reqwest::Client,
    pub(crate) jwks_cache: clients::JwksCache,
    pub(crate) metrics: metrics::IdpMetrics,
    pairwise_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Idp {
    /// Opens the provider on `db` with files under `config.data_dir`: the platform API key
    /// (`platform.key`), the signing keys (`keys/`, made when missing) and the pairwise key
    /// (`pairwise.key`, made when missing).
    pub async fn open(db: Db, config: Config, clock: Arc<dyn Clock>) -> Result<Idp, IdpError> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| IdpError::Internal(format!("{}: {e}", dir.display())))?;
        let key_path = dir.join(PLATFORM_KEY_FILE);
        let platform_key = std::fs::read_to_string(&key_path).map_err(|e| {
            IdpError::Internal(format!("the platform API key {}: {e} (see `hanko idp init`)", key_path.display()))
        })?;
        let platform =
            platform::PlatformClient::new(&config.platform_url, Zeroizing::new(platform_key.trim().to_owned()))?;
        let pairwise_key = load_or_create_secret(&dir.join(PAIRWISE_KEY_FILE))?;
        let keys = keys::Keys::load(dir)?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IdpError::Internal(format!("HTTP client: {e}")))?;
        Ok(Idp {
            store: SqlStore::new(db).await?,
            config,
            clock,
            keys: RwLock::new(keys),
            platform,
            http,
            jwks_cache: Default::default(),
            metrics: Default::default(),
            pairwise_key,
        })
    }

    /// The CV root key (`Config::cv_root`), read when needed (the authority makes it with its
    /// first card).
    pub(crate) fn cv_root(&self) -> Result<RsaPublicKey, IdpError> {
        let path = self.config.cv_root.as_ref().ok_or_else(|| {
            IdpError::Unavailable("the provider has no CV root key configured to check the card's 4 facts".into())
        })?;
        let der = std::fs::read(path).map_err(|e| IdpError::Internal(format!("CV root {}: {e}", path.display())))?;
        RsaPublicKey::from_spki_der(&der).map_err(|e| IdpError::Internal(format!("CV root {}: {e}", path.display())))
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &SqlStore {
        &self.store
    }

    /// Loads the signing keys again (after `hanko idp rotate-keys`).
    pub fn reload_keys(&self) -> Result<(), IdpError> {
        let keys = keys::Keys::load(&self.config.data_dir)?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }

    /// The pairwise `sub` of the person the platform knows as `user_id` at `client`: an
    /// HMAC-SHA256 of both under the provider's pairwise key, written as a UUID. The platform's
    /// user id is stable across card renewal, reissue and a new phone, so this is too; it
    /// reveals nothing about the person and differs between clients.
    pub(crate) fn pairwise_sub(&self, client: &clients::Client, user_id: &str) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.pairwise_key);
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        ctx.update(b"hanko idp pairwise sub\0");
        ctx.update(client.id.as_bytes());
        ctx.update(b"\0");
        ctx.update(user_id.as_bytes());
        let tag = ctx.sign();
        let h = hex::encode(&tag.as_ref()[..16]);
        format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }
}

fn load_or_create_secret(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, IdpError> {
    let fail = |e: std::io::Error| IdpError::Internal(format!("{}: {e}", path.display()));
    if !path.exists() {
        let secret = Zeroizing::new(random_token(32));
        hanko_store::create_new(path, secret.as_bytes(), 0o600).map_err(fail)?;
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(fail)?);
    if text.trim().len() < 32 {
        return Err(IdpError::Internal(format!("{} is too short to be a key", path.display())));
    }
    Ok(Zeroizing::new(text.trim().as_bytes().to_vec()))
}

/// `n` random bytes.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    b
}

/// `n` random bytes, base64url without padding.
pub(crate) fn random_token(n: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// Whether `s` can be an id this provider made with [`random_token`] (flows, grants): 1–64 of
/// `[0-9A-Za-z_-]`. Anything else is unknown without asking the database (PostgreSQL refuses a
/// NUL in a text parameter: that would be a 500).
pub(crate) fn valid_token_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// SHA-256, hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(hanko_pki::DigestAlgorithm::Sha256.digest(data))
}

/// Compares in constant time.
pub(crate) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
