//! The platform operator's public API as the provider calls it: login challenges, the
//! verification of a login (chain, revocation by CRL or OCSP, the person's user id, stable
//! across renewal, reissue and a new phone) and of a signature.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::IdpError;

/// The file under the data directory holding the provider's API key at the platform.
pub const PLATFORM_KEY_FILE: &str = "platform.key";

/// A client of the platform operator's API.
pub(crate) struct PlatformClient {
    base: String,
    key: Zeroizing<String>,
    http: reqwest::Client,
}

/// A challenge issued by the platform.
#[derive(Debug, Deserialize)]
pub(crate) struct Challenge {
    pub(crate) challenge_id: String,
    pub(crate) challenge: String,
}

/// The platform's verdict (its `Outcome`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Verdict {
    pub(crate) result: String,
    pub(crate) valid: bool,
    #[serde(default)]
    pub(crate) reason: Option<Value>,
    #[serde(default)]
    pub(crate) certificate_type: Option<String>,
    #[serde(default)]
    pub(crate) user_id: Option<String>,
    #[serde(default)]
    pub(crate) facts: Option<Value>,
    pub(crate) check_method: String,
    /// For a signature: `digest_info` or `hash`, the form that verified.
    #[serde(default)]
    pub(crate) signed_form: Option<String>,
}

impl PlatformClient {
    pub(crate) fn new(base: &str, key: Zeroizing<String>) -> Result<PlatformClient, IdpError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| IdpError::Internal(format!("HTTP client: {e}")))?;
        Ok(PlatformClient { base: base.trim_end_matches('/').to_owned(), key, http })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, IdpError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.key.as_str())
            .json(&body)
            .send()
            .await
            .map_err(|e| IdpError::Unavailable(e.without_url().to_string()))?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| IdpError::Platform(format!("unreadable answer: {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        let detail = body.get("detail").and_then(Value::as_str).unwrap_or("no detail").to_owned();
        Err(match status.as_u16() {
            // Busy (a tenant's live challenges at their cap) or down: try again later, not a
            // gateway fault.
            429 | 503 => IdpError::Unavailable(detail),
            400 | 409 | 410 | 404 => IdpError::Invalid(format!("the platform refused: {detail}")),
            _ => IdpError::Platform(format!("HTTP {status}: {detail}")),
        })
    }

    /// A new login challenge.
    pub(crate) async fn challenge(&self) -> Result<(String, Vec<u8>), IdpError> {
        let c: Challenge = serde_json::from_value(self.post("/v1/auth/challenges", json!({})).await?)
            .map_err(|e| IdpError::Platform(format!("challenge: {e}")))?;
        let bytes = B64.decode(&c.challenge).map_err(|_| IdpError::Platform("challenge is not base64".into()))?;
        Ok((c.challenge_id, bytes))
    }

    /// Verifies a login: the card's signature over the challenge with its certificate.
    pub(crate) async fn verify_login(
        &self,
        challenge_id: &str,
        certificate: &[u8],
        signature: &[u8],
        check_method: &str,
    ) -> Result<Verdict, IdpError> {
        let body = json!({
            "challenge_id": challenge_id,
            "certificate": B64.encode(certificate),
            "signature": B64.encode(signature),
            "check_method": check_method,
        });
        serde_json::from_value(self.post("/v1/verifications/authentication", body).await?)
            .map_err(|e| IdpError::Platform(format!("authentication answer: {e}")))
    }

    /// Verifies a signature over `digest` with its certificate (the standard form over the
    /// DigestInfo, or over the bare digest: the answer's `signed_form` says which), checking
    /// revocation by `check_method`.
    pub(crate) async fn verify_signature(
        &self,
        digest: &[u8],
        digest_algorithm: &str,
        certificate: &[u8],
        signature: &[u8],
        check_method: &str,
    ) -> Result<Verdict, IdpError> {
        let body = json!({
            "digest": B64.encode(digest),
            "digest_algorithm": digest_algorithm,
            "certificate": B64.encode(certificate),
            "signature": B64.encode(signature),
            "check_method": check_method,
        });
        serde_json::from_value(self.post("/v1/verifications/signature", body).await?)
            .map_err(|e| IdpError::Platform(format!("signature answer: {e}")))
    }
}
