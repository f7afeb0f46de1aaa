//! RSA public keys prepared once and reused for every verification (aws-lc).

use aws_lc_rs::signature::{ParsedPublicKey, UnparsedPublicKey};
use der::{Decode, Encode};

use spki::SubjectPublicKeyInfoOwned;

use crate::{oid, SignatureAlgorithm};

/// Smallest RSA modulus hanko accepts, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A public key was unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not `rsaEncryption`.
    #[error("public key algorithm {0} is not rsaEncryption")]
    NotRsa(const_oid::ObjectIdentifier),
    /// Not a well-formed RSAPublicKey, or smaller than [`MIN_RSA_BITS`] / larger than 8192 bits.
    #[error("RSA public key rejected: {0}")]
    Rejected(String),
}

/// A signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct BadSignature;

/// An RSA public key, parsed once for fast repeated verification.
pub struct RsaPublicKey {
    spki_der: Vec<u8>,
    sha256: ParsedPublicKey,
}

impl core::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RsaPublicKey({} bytes)", self.spki_der.len())
    }
}

impl RsaPublicKey {
    /// From a `SubjectPublicKeyInfo`.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<RsaPublicKey, KeyError> {
        RsaPublicKey::from_spki_der(&spki.to_der().map_err(|e| KeyError::Rejected(e.to_string()))?)
    }

    /// From DER `SubjectPublicKeyInfo` (no copy of the key is decoded on the way).
    pub fn from_spki_der(der: &[u8]) -> Result<RsaPublicKey, KeyError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::Rejected(e.to_string()))?;
        if spki.algorithm.oid != oid::RSA_ENCRYPTION {
            return Err(KeyError::NotRsa(spki.algorithm.oid));
        }
        RsaPublicKey::from_rsa_spki_der(der)
    }

    /// From DER `SubjectPublicKeyInfo` whose algorithm the caller already checked is
    /// rsaEncryption (a parsed [`crate::JpkiCertificate`]'s key).
    pub(crate) fn from_rsa_spki_der(der: &[u8]) -> Result<RsaPublicKey, KeyError> {
        let sha256 = UnparsedPublicKey::new(SignatureAlgorithm::RsaPkcs1Sha256.verification(), der)
            .parse()
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(RsaPublicKey { spki_der: der.to_vec(), sha256 })
    }

    /// The key as DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Verifies an RSASSA-PKCS1-v1_5 `signature` over `message`.
    pub fn verify(&self, algorithm: SignatureAlgorithm, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        match algorithm {
            SignatureAlgorithm::RsaPkcs1Sha256 => self.sha256.verify_sig(message, signature),
            other => UnparsedPublicKey::new(other.verification(), &self.spki_der).verify(message, signature),
        }
        .map_err(|_| BadSignature)
    }

    /// Verifies an RSASSA-PKCS1-v1_5 `signature` with SHA-1 over `message` — only for signatures
    /// that older tools made (they send a SHA-1 DigestInfo to the card, 10-card.md §4). JPKI
    /// verification otherwise requires SHA-256 or stronger (20-pki.md §5).
    pub fn verify_legacy_sha1(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, &self.spki_der)
            .verify(message, signature)
            .map_err(|_| BadSignature)
    }

    /// Verifies a PKCS#1 v1.5 type-1 `signature` whose recovered content is exactly `content`,
    /// with no DigestInfo around it (what a card's `80 2A` makes of bare bytes): the RSA public
    /// operation, then `00 01 FF…FF 00 ‖ content` compared in full in constant time (the `rsa`
    /// crate's unprefixed PKCS#1 v1.5 verification). The signature names no hash algorithm.
    pub fn verify_unprefixed(&self, content: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&self.spki_der).map_err(|_| BadSignature)?;
        let key = rsa::pkcs1::RsaPublicKey::from_der(spki.subject_public_key.raw_bytes()).map_err(|_| BadSignature)?;
        let n = rsa::BigUint::from_bytes_be(key.modulus.as_bytes());
        let e = rsa::BigUint::from_bytes_be(key.public_exponent.as_bytes());
        let key = rsa::RsaPublicKey::new_with_max_size(n, e, 8192).map_err(|_| BadSignature)?;
        key.verify(rsa::Pkcs1v15Sign::new_unprefixed(), content, signature).map_err(|_| BadSignature)
    }

    /// Verifies an RSASSA-PKCS1-v1_5 `signature` over a precomputed `digest`.
    pub fn verify_digest(
        &self,
        algorithm: SignatureAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), BadSignature> {
        let d =
            aws_lc_rs::digest::Digest::import_less_safe(digest, algorithm.digest().aws()).map_err(|_| BadSignature)?;
        match algorithm {
            SignatureAlgorithm::RsaPkcs1Sha256 => self.sha256.verify_digest_sig(&d, signature),
            other => UnparsedPublicKey::new(other.verification(), &self.spki_der).verify_digest(&d, signature),
        }
        .map_err(|_| BadSignature)
    }
}
