//! Documents a resident signs with the card (a consent, a smartphone application, a withdrawal):
//! a PKCS#1 v1.5 signature over the SHA-256 DigestInfo of the document bytes — what the card's
//! `80 2A` produces — plus the certificate. The authority verifies the chain with its own trust
//! store and the revocation status in its own register (it is the register).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_pki::verify::{RevocationCheck, VerifiedCertificate, Verifier};
use hanko_pki::DigestAlgorithm;
use serde::{Deserialize, Serialize};

use crate::error::AuthorityError;
use crate::register::CertRecord;
use crate::Authority;

/// A signed document on the wire: three base64 fields. `Debug` shows only their lengths (the
/// document names the person's choices, the certificate carries the 4 facts).
#[derive(Clone, Serialize, Deserialize)]
pub struct SignedDocument {
    /// The document bytes (JSON for hanko's documents), base64.
    pub document: String,
    /// PKCS#1 v1.5 signature over the SHA-256 DigestInfo of the document, base64.
    pub signature: String,
    /// The signer's certificate (DER), base64.
    pub certificate: String,
}

impl std::fmt::Debug for SignedDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elided = |s: &str| format!("[{} base64 characters elided]", s.len());
        f.debug_struct("SignedDocument")
            .field("document", &elided(&self.document))
            .field("signature", &elided(&self.signature))
            .field("certificate", &elided(&self.certificate))
            .finish()
    }
}

/// Which key must have signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedWith {
    /// A signature certificate (the card's or a phone's).
    Signature,
    /// A user-authentication certificate (the card's or a phone's).
    Auth,
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, AuthorityError> {
    B64.decode(s.as_bytes()).map_err(|_| AuthorityError::Invalid(format!("{field} is not base64")))
}

impl SignedDocument {
    /// Encodes a document signed elsewhere.
    pub fn new(document: &[u8], signature: &[u8], certificate: &[u8]) -> SignedDocument {
        SignedDocument {
            document: B64.encode(document),
            signature: B64.encode(signature),
            certificate: B64.encode(certificate),
        }
    }
}

impl Authority {
    /// Verifies `signed`: the certificate chains to one of our CA generations and is valid now,
    /// of the right usage, issued by us and not revoked in the register; the signature is over
    /// the document. Returns the document bytes, the verified certificate and its register row.
    pub(crate) async fn verify_signed(
        &self,
        signed: &SignedDocument,
        with: SignedWith,
    ) -> Result<(Vec<u8>, VerifiedCertificate, CertRecord), AuthorityError> {
        let document = b64("document", &signed.document)?;
        let signature = b64("signature", &signed.signature)?;
        let certificate = b64("certificate", &signed.certificate)?;
        let now = self.clock.now();
        let verified = {
            let trust = self.trust();
            let verifier = Verifier::new(&trust);
            match with {
                SignedWith::Signature => verifier
                    .verify_signature(
                        &certificate,
                        DigestAlgorithm::Sha256,
                        hanko_pki::verify::Signed::Data(&document),
                        &signature,
                        now,
                        RevocationCheck::Skip,
                    )?
                    .certificate()
                    .clone(),
                SignedWith::Auth => verifier
                    .verify_authentication(
                        &certificate,
                        &document,
                        DigestAlgorithm::Sha256,
                        &signature,
                        now,
                        RevocationCheck::Skip,
                    )?
                    .certificate()
                    .clone(),
            }
        };
        let record = self
            .store
            .certificate(verified.serial())
            .await?
            .filter(|r| r.der.as_deref() == Some(certificate.as_slice()))
            .ok_or_else(|| AuthorityError::Invalid("the certificate was not issued by this authority".into()))?;
        if record.revocation.is_some() {
            return Err(AuthorityError::Revoked(record.serial));
        }
        Ok((document, verified, record))
    }
}
