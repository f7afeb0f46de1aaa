//! The validity check (有効性確認) of a user-authentication certificate against the authority, over
//! its public HTTP API: an RFC 6960 OCSP request for the one certificate (SHA-1 CertID, a fresh
//! 16-byte nonce) POSTed to the authority's `/ocsp` with the service's 利用者証明検証者 API key —
//! the request the platform operator sends (crates/platform/src/ocsp.rs) — and the answer checked
//! by the trust core ([`hanko_pki::verify::Verifier`] with [`RevocationCheck::Ocsp`]): signed by
//! the issuing CA generation or its delegated responder, the nonce echoed, thisUpdate at most
//! [`OCSP_MAX_AGE`] old. Nothing here reads the authority's storage.
//!
//! No request is sent for a certificate that cannot pass anyway (unparsable, outside its validity
//! period, or from no trusted generation): the verifier fails on that first.

use std::time::Duration;

use hanko_pki::ocsp::{build_request, CertIdentity, MAX_RESPONSE_LEN};
use hanko_pki::verify::{RevocationCheck, TrustStore, Usage, VerifiedAuthentication, VerifiedCertificate, Verifier};
use hanko_pki::{DigestAlgorithm, JpkiCertificate};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::TapError;

/// The oldest OCSP thisUpdate accepted: JPKI refreshes OCSP status every 15 minutes.
pub const OCSP_MAX_AGE: time::Duration = hanko_pki::ocsp::UPDATE_INTERVAL;

/// The authority's OCSP responder, reached with the service's verifier key. `Debug` never
/// shows the key.
pub struct AuthorityOcsp {
    base: String,
    key: Zeroizing<String>,
    http: reqwest::Client,
}

impl core::fmt::Debug for AuthorityOcsp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthorityOcsp").field("base", &self.base).finish_non_exhaustive()
    }
}

/// What one OCSP exchange brought back.
struct Answer {
    response: Vec<u8>,
    nonce: [u8; 16],
}

impl AuthorityOcsp {
    /// The authority at `base` (`http://…` or `https://…`), asked with `key` (a verifier key of
    /// role `auth` or `platform`: `hanko authority add-verifier --role auth`).
    pub fn new(base: &str, key: Zeroizing<String>) -> Result<AuthorityOcsp, TapError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TapError::Config("the authority URL must start with http:// or https://".into()));
        }
        if key.trim().is_empty() || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(TapError::Config("the authority API key is empty or has whitespace".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| TapError::Config(e.to_string()))?;
        Ok(AuthorityOcsp { base: base.trim_end_matches('/').to_owned(), key, http })
    }

    /// The authority's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Asks about `cert`; `None` when no question is needed (it cannot pass anyway).
    async fn ask(&self, trust: &TrustStore, cert: &[u8], at: OffsetDateTime) -> Result<Option<Answer>, TapError> {
        let Ok(parsed) = JpkiCertificate::from_der(cert) else { return Ok(None) };
        if at < parsed.not_before() || at > parsed.not_after() {
            return Ok(None);
        }
        let Some(issuer) = issuing_anchor(trust, &parsed) else { return Ok(None) };
        let id = CertIdentity::new(&issuer, parsed.serial()).map_err(|e| TapError::Validity(e.to_string()))?;
        let mut nonce = [0u8; 16];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| TapError::Validity("no randomness for the nonce".into()))?;
        let request = build_request(&[id], Some(&nonce)).map_err(|e| TapError::Validity(e.to_string()))?;
        let mut response = self
            .http
            .post(format!("{}/ocsp", self.base))
            .bearer_auth(self.key.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
            .body(request)
            .send()
            .await
            .map_err(|e| TapError::AuthorityUnavailable(format!("OCSP: {e}")))?;
        if !response.status().is_success() {
            return Err(TapError::AuthorityUnavailable(format!("OCSP: HTTP {}", response.status().as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| TapError::AuthorityUnavailable(format!("OCSP: {e}")))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_LEN {
                return Err(TapError::AuthorityUnavailable(format!("OCSP response over {MAX_RESPONSE_LEN} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        if let [0x30, 0x03, 0x0a, 0x01, status] = body[..] {
            return Err(TapError::AuthorityUnavailable(format!(
                "OCSP: the responder refused the request (status {status}{})",
                if status == 6 { ": unauthorized — is the key a registered auth verifier's?" } else { "" }
            )));
        }
        Ok(Some(Answer { response: body, nonce }))
    }

    /// The validity check of a user-authentication certificate at `at` (a later visit: no
    /// signature, the certificate only).
    pub async fn check_certificate(
        &self,
        trust: &TrustStore,
        cert: &[u8],
        at: OffsetDateTime,
    ) -> Result<VerifiedCertificate, TapError> {
        let answer = self.ask(trust, cert, at).await?;
        let verifier = Verifier::new(trust);
        let check = revocation(&answer);
        Ok(verifier.verify_certificate(cert, Usage::Authentication, at, check)?)
    }

    /// The validity check with a user-authentication signature (registration): the card's
    /// PKCS#1 v1.5 signature over the SHA-256 DigestInfo of `challenge`, and the certificate.
    pub async fn check_authentication(
        &self,
        trust: &TrustStore,
        cert: &[u8],
        challenge: &[u8],
        signature: &[u8],
        at: OffsetDateTime,
    ) -> Result<VerifiedAuthentication, TapError> {
        let answer = self.ask(trust, cert, at).await?;
        let verifier = Verifier::new(trust);
        let check = revocation(&answer);
        Ok(verifier.verify_authentication(cert, challenge, DigestAlgorithm::Sha256, signature, at, check)?)
    }
}

/// Fail-closed: without an answer the check is an empty OCSP response, which never says good.
fn revocation(answer: &Option<Answer>) -> RevocationCheck<'_> {
    match answer {
        Some(a) => RevocationCheck::Ocsp { response: &a.response, nonce: Some(&a.nonce), max_age: OCSP_MAX_AGE },
        None => RevocationCheck::Ocsp { response: &[], nonce: None, max_age: OCSP_MAX_AGE },
    }
}

/// The anchor that issued `cert`, by issuer name and key identifier (and, among several, by
/// signature) — as the platform picks it.
fn issuing_anchor(trust: &TrustStore, cert: &JpkiCertificate) -> Option<hanko_pki::x509_cert::Certificate> {
    let mut candidates = trust.anchors().iter().filter(|a| {
        a.certificate().subject_der() == cert.issuer_der() && cert.authority_key_id().is_none_or(|id| id == a.key_id())
    });
    let first = candidates.next()?;
    let chosen = match candidates.next() {
        None => first,
        Some(second) => std::iter::once(first)
            .chain(std::iter::once(second))
            .chain(candidates)
            .find(|a| a.public_key().verify(cert.signature_algorithm(), cert.tbs_der(), cert.signature()).is_ok())?,
    };
    Some(chosen.x509().clone())
}
