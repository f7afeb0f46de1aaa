//! The provider's settings.

use std::path::PathBuf;
use std::time::Duration;

/// The provider's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Signing keys (`keys/`), the pairwise key and the admin key live here.
    pub data_dir: PathBuf,
    /// The public base URL (`https://idp.example` or `http://127.0.0.1:8460`), no trailing
    /// slash: the issuer is `{base}/api/realms/main`.
    pub base_url: String,
    /// The platform operator's base URL: logins are verified there.
    pub platform_url: String,
    /// Add `iss` to authorization responses (RFC 9207, what Keycloak 23+ does). Some RPs break on
    /// it: a deployment switch (default on).
    pub authorization_response_iss: bool,
    /// Where emulated cards live (the authority's data directory in the sandbox): the wallet lists
    /// them; `None` in production.
    pub cards_dir: Option<PathBuf>,
    /// The CV root public key (SubjectPublicKeyInfo DER) the input-assist AP's integrity records
    /// chain to (the authority's `cv/root.spki.der`): needed to accept the 4 facts or the My
    /// Number read from a card.
    pub cv_root: Option<PathBuf>,
    /// How long an authorization request waits for the user (default 10 minutes).
    pub request_lifetime: Duration,
    /// How long an authorization code may be exchanged (default 60 s).
    pub code_lifetime: Duration,
    /// Access token lifetime (default 5 minutes).
    pub access_token_lifetime: Duration,
    /// Refresh token lifetime (default 30 minutes, the real service's session length).
    pub refresh_token_lifetime: Duration,
    /// The longest a grant lives however often it is refreshed (default 10 hours, Keycloak's
    /// "SSO Session Max"): its refresh token, and the facts userinfo answers from it, end then.
    pub session_lifetime: Duration,
    /// How long a sign transaction waits for its signature and its result (default 10 minutes).
    pub sign_transaction_lifetime: Duration,
    /// The longest client assertion lifetime accepted (`exp - iat`, default one day: the real
    /// server accepts a day).
    pub max_assertion_lifetime: Duration,
    /// Largest request body accepted.
    pub max_body: usize,
    /// Serve `GET /metrics` without a key (default: the admin key is needed). For a scraper on
    /// a private network or on loopback (`hanko up`).
    pub metrics_public: bool,
}

impl Config {
    /// Defaults for an idp at `base_url` with files under `data_dir`, verifying at the platform
    /// `platform_url`.
    pub fn new(data_dir: impl Into<PathBuf>, base_url: &str, platform_url: &str) -> Config {
        Config {
            data_dir: data_dir.into(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            platform_url: platform_url.trim_end_matches('/').to_owned(),
            authorization_response_iss: true,
            cards_dir: None,
            cv_root: None,
            request_lifetime: Duration::from_secs(600),
            code_lifetime: Duration::from_secs(60),
            access_token_lifetime: Duration::from_secs(300),
            refresh_token_lifetime: Duration::from_secs(1800),
            session_lifetime: Duration::from_secs(10 * 3600),
            sign_transaction_lifetime: Duration::from_secs(600),
            max_assertion_lifetime: Duration::from_secs(86_400),
            max_body: 64 * 1024,
            metrics_public: false,
        }
    }

    /// `{base}/api/realms/main`.
    pub fn issuer(&self) -> String {
        format!("{}/api/realms/main", self.base_url)
    }

    /// The token endpoint's URL (the `aud` of client assertions).
    pub fn token_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer())
    }
}
