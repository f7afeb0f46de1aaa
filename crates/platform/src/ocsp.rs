//! OCSP per verification, for tenants whose `check_method` is `ocsp`: an RFC 6960 request for
//! the one certificate (SHA-1 CertID, a fresh 16-byte nonce) is POSTed to the authority's
//! `/ocsp` with the platform's key and the tenant's `X-Hanko-SP` (the authority bills it to that
//! SP: `signature-check` 20 yen, `auth-check` 2 yen), and the trust core verifies the answer:
//! signed by the issuing generation or its delegated responder, the nonce echoed, thisUpdate at
//! most [`OCSP_MAX_AGE`] old. The response bytes themselves go into the evidence record.
//!
//! No request is sent (nothing billed) for a certificate that cannot pass anyway: one that does
//! not parse, is outside its validity period, or names no trusted CA generation. The verifier
//! then fails on that before it looks at revocation; the check handed to it is fail-closed (an
//! empty response) so that it could never say "good" without an answer.

use hanko_pki::ocsp::{build_request, CertIdentity, MAX_RESPONSE_LEN};
use hanko_pki::verify::TrustStore;
use hanko_pki::{CaKind, JpkiCertificate};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::tenants::Tenant;
use crate::Platform;

/// The oldest OCSP thisUpdate accepted: JPKI refreshes OCSP status every 15 minutes.
pub const OCSP_MAX_AGE: time::Duration = hanko_pki::ocsp::UPDATE_INTERVAL;

/// An OCSP answer about one certificate, and the nonce it must echo.
#[derive(Debug)]
pub(crate) struct OcspAnswer {
    pub(crate) response: Vec<u8>,
    pub(crate) nonce: [u8; 16],
}

/// The anchor (its certificate and kind) that issued `cert`, by issuer name and key identifier
/// (and, among several, by signature).
fn issuing_anchor(trust: &TrustStore, cert: &JpkiCertificate) -> Option<(hanko_pki::x509_cert::Certificate, CaKind)> {
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
    Some((chosen.x509().clone(), chosen.kind()))
}

impl Platform {
    /// Asks the authority about `certificate` for `tenant`; `None` when no question is needed
    /// (see the module documentation).
    pub(crate) async fn fetch_ocsp(
        &self,
        tenant: &Tenant,
        certificate: &[u8],
        at: OffsetDateTime,
    ) -> Result<Option<OcspAnswer>, PlatformError> {
        let Ok(cert) = JpkiCertificate::from_der(certificate) else { return Ok(None) };
        if at < cert.not_before() || at > cert.not_after() {
            return Ok(None);
        }
        let Some((issuer, kind)) = issuing_anchor(&self.trust(), &cert) else { return Ok(None) };
        let id = CertIdentity::new(&issuer, cert.serial()).map_err(|e| PlatformError::Pki(e.to_string()))?;
        let mut nonce = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let request = build_request(&[id], Some(&nonce)).map_err(|e| PlatformError::Pki(e.to_string()))?;
        let sp = tenant.sp_header();
        let mut response = self
            .authority
            .request(reqwest::Method::POST, "/ocsp", Some(&sp))
            .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
            .body(request)
            .send()
            .await
            .map_err(|e| PlatformError::Unavailable(format!("OCSP: authority unreachable: {e}")))?;
        if !response.status().is_success() {
            return Err(PlatformError::Unavailable(format!(
                "OCSP: the authority answered HTTP {}",
                response.status().as_u16()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| PlatformError::Unavailable(format!("OCSP: authority: {e}")))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_LEN {
                return Err(PlatformError::Unavailable(format!(
                    "OCSP: the authority's response is over {MAX_RESPONSE_LEN} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        // An error status (`30 03 0A 01 <status>`): not billed by the authority, and no answer.
        if let [0x30, 0x03, 0x0a, 0x01, status] = body[..] {
            let hint = if status == 6 {
                format!(
                    ": the authority knows the platform's key or {sp} under it no longer (disabled or unregistered)"
                )
            } else {
                String::new()
            };
            return Err(PlatformError::Unavailable(format!(
                "OCSP: the authority's responder refused the request for {sp} ({}){hint}",
                match status {
                    1 => "malformedRequest",
                    2 => "internalError",
                    3 => "tryLater",
                    5 => "sigRequired",
                    6 => "unauthorized",
                    _ => "unknown status",
                }
            )));
        }
        self.meter(
            tenant,
            match kind {
                CaKind::Signature => "signature-check",
                CaKind::Auth => "auth-check",
            },
            1,
        );
        Ok(Some(OcspAnswer { response: body, nonce }))
    }
}
