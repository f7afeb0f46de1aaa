//! Digest algorithms and the PKCS#1 `DigestInfo` a JPKI card signs.
//!
//! ```text
//! DigestInfo ::= SEQUENCE {
//!     digestAlgorithm AlgorithmIdentifier,
//!     digest OCTET STRING }
//! ```

use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifier;

use crate::oid;

/// A hash a JPKI signature may use (SHA-256 or stronger, 20-pki.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// `SHA-256`, `SHA-384` or `SHA-512`: the name for messages.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
            DigestAlgorithm::Sha512 => "SHA-512",
        }
    }

    /// The `id-sha*` OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sha256 => oid::SHA256,
            DigestAlgorithm::Sha384 => oid::SHA384,
            DigestAlgorithm::Sha512 => oid::SHA512,
        }
    }

    /// The algorithm of an `id-sha*` OID.
    pub fn from_oid(o: ObjectIdentifier) -> Option<DigestAlgorithm> {
        [Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|a| a.oid() == o)
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        self.aws().output_len()
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(self.aws(), data).as_ref().to_vec()
    }

    pub(crate) fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            DigestAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
            DigestAlgorithm::Sha384 => &aws_lc_rs::digest::SHA384,
            DigestAlgorithm::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }

    /// The `AlgorithmIdentifier` (parameters NULL, as PKCS#1 DigestInfo requires).
    pub fn algorithm_identifier(self) -> spki::AlgorithmIdentifierOwned {
        spki::AlgorithmIdentifierOwned { oid: self.oid(), parameters: Some(der::Any::null()) }
    }
}

#[derive(Sequence)]
struct DigestInfoRef<'a> {
    algorithm: AlgorithmIdentifier<AnyRef<'a>>,
    digest: OctetStringRef<'a>,
}

/// A PKCS#1 `DigestInfo`: what `80 2A` on a JPKI card signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestInfo {
    /// The hash.
    pub algorithm: DigestAlgorithm,
    /// The digest value (length checked).
    pub digest: Vec<u8>,
}

/// A `DigestInfo` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestInfoError {
    /// Not DER.
    #[error("DigestInfo is not DER: {0}")]
    Der(der::Error),
    /// An algorithm other than SHA-256/384/512.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedAlgorithm(ObjectIdentifier),
    /// Parameters other than absent or NULL.
    #[error("digest algorithm parameters must be NULL or absent")]
    Parameters,
    /// The digest has the wrong length.
    #[error("digest is {got} bytes, {} needs {expected}", .algorithm.name())]
    Length {
        /// The algorithm.
        algorithm: DigestAlgorithm,
        /// Its output length.
        expected: usize,
        /// What was given.
        got: usize,
    },
}

impl DigestInfo {
    /// A DigestInfo over `data` hashed with `algorithm`.
    pub fn of(algorithm: DigestAlgorithm, data: &[u8]) -> DigestInfo {
        DigestInfo { algorithm, digest: algorithm.digest(data) }
    }

    /// A DigestInfo from a precomputed digest (length checked).
    pub fn new(algorithm: DigestAlgorithm, digest: &[u8]) -> Result<DigestInfo, DigestInfoError> {
        if digest.len() != algorithm.output_len() {
            return Err(DigestInfoError::Length { algorithm, expected: algorithm.output_len(), got: digest.len() });
        }
        Ok(DigestInfo { algorithm, digest: digest.to_vec() })
    }

    /// Parses DER.
    pub fn from_der(bytes: &[u8]) -> Result<DigestInfo, DigestInfoError> {
        let r = DigestInfoRef::from_der(bytes).map_err(DigestInfoError::Der)?;
        let algorithm =
            DigestAlgorithm::from_oid(r.algorithm.oid).ok_or(DigestInfoError::UnsupportedAlgorithm(r.algorithm.oid))?;
        if r.algorithm.parameters.is_some_and(|p| !p.is_null()) {
            return Err(DigestInfoError::Parameters);
        }
        DigestInfo::new(algorithm, r.digest.as_bytes())
    }

    /// Encodes DER (parameters NULL).
    pub fn to_der(&self) -> der::Result<Vec<u8>> {
        DigestInfoRef {
            algorithm: AlgorithmIdentifier { oid: self.algorithm.oid(), parameters: Some(AnyRef::NULL) },
            digest: OctetStringRef::new(&self.digest)?,
        }
        .to_der()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sha256_digest_info_matches_rfc8017_prefix() {
        let di = DigestInfo::of(DigestAlgorithm::Sha256, b"abc");
        let der = di.to_der().unwrap();
        assert_eq!(&der[..19], &hex::decode("3031300d060960864801650304020105000420").unwrap()[..]);
        assert_eq!(DigestInfo::from_der(&der).unwrap(), di);
    }

    #[test]
    fn rejects_bad_digest_info() {
        let mut der = DigestInfo::of(DigestAlgorithm::Sha256, b"abc").to_der().unwrap();
        der[1] += 1;
        assert!(matches!(DigestInfo::from_der(&der), Err(DigestInfoError::Der(_))));
        assert!(matches!(DigestInfo::new(DigestAlgorithm::Sha384, &[0; 32]), Err(DigestInfoError::Length { .. })));
    }
}
