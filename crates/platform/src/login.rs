//! User authentication (login) with the card's user-authentication key: the SP asks the
//! platform for a one-time challenge, the person's card (or phone) signs it with the auth key
//! (PKCS#1 v1.5 over the DigestInfo of SHA-256(challenge), what the auth slot's `80 2A` does),
//! and the SP sends the certificate and signature back. The answer is an [`Outcome`] like every
//! verification, with the person's user id.
//!
//! A challenge is 32 random bytes, stored in the database so that any node may consume it, used
//! up by its first answer (valid or not), and answerable for `Config::challenge_lifetime`
//! (default 5 minutes). A tenant holds at most `Config::max_live_challenges` unanswered live
//! ones (429 beyond). Refusals say which: unknown (or another tenant's) 404, used 409, expired 410.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_pki::DigestAlgorithm;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::error::PlatformError;
use crate::tenants::{CheckMethod, SpCaller};
use crate::users::Taken;
use crate::verify::{b64, rfc3339, Checked, Outcome};
use crate::Platform;

/// Bytes of randomness in a challenge.
pub const CHALLENGE_BYTES: usize = 32;
/// How long an expired challenge is remembered (to answer "expired" rather than "unknown").
const REMEMBER: Duration = Duration::days(1);

/// A new challenge.
#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    /// Its id (`ch_…`): send it back with the answer.
    pub challenge_id: String,
    /// The bytes to sign, base64.
    pub challenge: String,
    /// Until when it may be answered.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The id of a challenge: derived from its bytes, so that an answer may name either.
fn challenge_id(bytes: &[u8]) -> String {
    format!("ch_{}", &hex::encode(DigestAlgorithm::Sha256.digest(bytes))[..32])
}

impl Platform {
    /// Issues a one-time login challenge for `tenant_id`.
    pub async fn new_challenge(&self, tenant_id: &str) -> Result<Challenge, PlatformError> {
        let mut bytes = [0u8; CHALLENGE_BYTES];
        OsRng.fill_bytes(&mut bytes);
        let now = self.clock.now();
        let lifetime = Duration::try_from(self.config.challenge_lifetime)
            .map_err(|_| PlatformError::Invalid("challenge lifetime out of range".into()))?;
        let expires_at = now + lifetime;
        let id = challenge_id(&bytes);
        let stored = self
            .store
            .add_challenge(
                tenant_id,
                &id,
                &bytes,
                now,
                expires_at,
                i64::from(self.config.max_live_challenges),
                now - REMEMBER,
            )
            .await?;
        if !stored {
            return Err(PlatformError::TooManyRequests(
                self.config.challenge_lifetime.min(std::time::Duration::from_secs(60)),
            ));
        }
        Ok(Challenge { challenge_id: id, challenge: B64.encode(bytes), expires_at })
    }

    /// Uses up a challenge of `tenant_id`: its bytes, or why not.
    pub async fn take_challenge(&self, tenant_id: &str, id: &str) -> Result<Vec<u8>, PlatformError> {
        match self.store.take_challenge(tenant_id, id, self.clock.now()).await? {
            Taken::Fresh(bytes) => Ok(bytes),
            Taken::Used => Err(PlatformError::Conflict(format!(
                "challenge {id} was answered already (challenges are single use); ask POST /v1/auth/challenges for a new one"
            ))),
            Taken::Expired => Err(PlatformError::Gone(format!(
                "challenge {id} has expired; ask POST /v1/auth/challenges for a new one"
            ))),
            Taken::Unknown => Err(PlatformError::not_found("challenge", id)),
        }
    }
}

async fn post_challenge(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
) -> Result<(axum::http::StatusCode, Json<Challenge>), PlatformError> {
    Ok((axum::http::StatusCode::CREATED, Json(platform.new_challenge(&tenant.id).await?)))
}

/// `POST /v1/verifications/authentication`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthenticationRequest {
    /// The challenge's id (or give `challenge`).
    #[serde(default)]
    pub challenge_id: Option<String>,
    /// The challenge itself, base64 (or give `challenge_id`).
    #[serde(default)]
    pub challenge: Option<String>,
    /// A challenge the caller issued itself (16–64 random bytes, base64) and keeps single use
    /// itself — a broker such as the authentication app service, whose anonymous users must
    /// not hold challenges here. The platform does not look it up; the evidence says so.
    #[serde(default)]
    pub own_challenge: Option<String>,
    /// The user-authentication certificate, base64 DER.
    pub certificate: String,
    /// The signature over the challenge, base64.
    pub signature: String,
    /// `crl` or `ocsp` for this verification only, instead of the tenant's method (the
    /// authentication app service's `acr_values`).
    #[serde(default)]
    pub check_method: Option<CheckMethod>,
}

async fn post_authentication(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(req): Json<AuthenticationRequest>,
) -> Result<Json<Outcome>, PlatformError> {
    let tenant = tenant.checking_with(req.check_method);
    let cert = b64("certificate", &req.certificate)?;
    let signature = b64("signature", &req.signature)?;
    if signature.len() > 1024 {
        return Err(PlatformError::Invalid("signature is longer than any RSA signature of a JPKI key".into()));
    }
    let (id, challenge) = match (&req.challenge_id, &req.challenge, &req.own_challenge) {
        (Some(id), None, None) => {
            if id.len() != 35 || !id.starts_with("ch_") {
                return Err(PlatformError::not_found("challenge", id));
            }
            // Used up before the answer is checked: a wrong answer burns the challenge too.
            (Some(id.clone()), platform.take_challenge(&tenant.id, id).await?)
        }
        (None, Some(c), None) => {
            let id = challenge_id(&b64("challenge", c)?);
            (Some(id.clone()), platform.take_challenge(&tenant.id, &id).await?)
        }
        (None, None, Some(c)) => {
            let bytes = b64("own_challenge", c)?;
            if !(16..=64).contains(&bytes.len()) {
                return Err(PlatformError::Invalid("own_challenge must be 16 to 64 bytes".into()));
            }
            (None, bytes)
        }
        _ => {
            return Err(PlatformError::Invalid("give exactly one of challenge_id, challenge and own_challenge".into()))
        }
    };
    let now = platform.clock.now();
    let (verdict, ocsp) = platform
        .with_revocation(&tenant, &cert, |v, rev| {
            v.verify_authentication(&cert, &challenge, DigestAlgorithm::Sha256, &signature, now, rev)
                .map(|a| a.certificate().clone())
        })
        .await?;
    let inputs = json!({
        "challenge_id": id,
        "challenge_source": if id.is_some() { "platform" } else { "caller" },
        "challenge": B64.encode(&challenge),
        "digest_algorithm": "sha256",
        "signature": B64.encode(&signature),
        "challenge_taken_at": rfc3339(now),
        "check_method": tenant.check_method.as_str(),
        "check_method_requested": req.check_method.map(CheckMethod::as_str),
    });
    let checked = Checked { kind: "authentication", inputs, certificate: Some(cert), verdict, ocsp_response: ocsp };
    Ok(Json(platform.conclude(&tenant, checked).await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/auth/challenges", post(post_challenge))
        .route("/v1/verifications/authentication", post(post_authentication))
}
