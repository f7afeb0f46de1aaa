//! CA keys behind a [`Signer`] trait, so a PKCS#11 HSM can replace the software key.

use core::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self as sig, KeyPair as _};
use der::Decode;
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

/// A signature algorithm hanko signs or verifies with (RSASSA-PKCS1-v1_5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// sha256WithRSAEncryption — everything JPKI issues.
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption.
    RsaPkcs1Sha512,
}

impl SignatureAlgorithm {
    /// The `AlgorithmIdentifier` OID.
    pub fn oid(self) -> const_oid::ObjectIdentifier {
        match self {
            SignatureAlgorithm::RsaPkcs1Sha256 => crate::oid::SHA256_WITH_RSA,
            SignatureAlgorithm::RsaPkcs1Sha384 => crate::oid::SHA384_WITH_RSA,
            SignatureAlgorithm::RsaPkcs1Sha512 => crate::oid::SHA512_WITH_RSA,
        }
    }

    /// The algorithm of an `AlgorithmIdentifier` OID, if supported.
    pub fn from_oid(oid: const_oid::ObjectIdentifier) -> Option<SignatureAlgorithm> {
        [Self::RsaPkcs1Sha256, Self::RsaPkcs1Sha384, Self::RsaPkcs1Sha512].into_iter().find(|a| a.oid() == oid)
    }

    /// The digest this algorithm signs.
    pub fn digest(self) -> crate::DigestAlgorithm {
        match self {
            SignatureAlgorithm::RsaPkcs1Sha256 => crate::DigestAlgorithm::Sha256,
            SignatureAlgorithm::RsaPkcs1Sha384 => crate::DigestAlgorithm::Sha384,
            SignatureAlgorithm::RsaPkcs1Sha512 => crate::DigestAlgorithm::Sha512,
        }
    }

    /// The RSASSA-PKCS1-v1_5 algorithm for `digest`.
    pub fn for_digest(digest: crate::DigestAlgorithm) -> SignatureAlgorithm {
        match digest {
            crate::DigestAlgorithm::Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
            crate::DigestAlgorithm::Sha384 => SignatureAlgorithm::RsaPkcs1Sha384,
            crate::DigestAlgorithm::Sha512 => SignatureAlgorithm::RsaPkcs1Sha512,
        }
    }

    pub(crate) fn encoding(self) -> &'static dyn sig::RsaEncoding {
        match self {
            SignatureAlgorithm::RsaPkcs1Sha256 => &sig::RSA_PKCS1_SHA256,
            SignatureAlgorithm::RsaPkcs1Sha384 => &sig::RSA_PKCS1_SHA384,
            SignatureAlgorithm::RsaPkcs1Sha512 => &sig::RSA_PKCS1_SHA512,
        }
    }

    pub(crate) fn verification(self) -> &'static sig::RsaParameters {
        match self {
            SignatureAlgorithm::RsaPkcs1Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            SignatureAlgorithm::RsaPkcs1Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            SignatureAlgorithm::RsaPkcs1Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        }
    }
}

/// A signing key failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The key material was rejected.
    #[error("key rejected: {0}")]
    KeyRejected(String),
    /// The signing operation failed (HSM unreachable, key unusable …).
    #[error("signing failed: {0}")]
    Failed(String),
}

/// A private key that signs on behalf of a CA, an OCSP responder or a test holder.
///
/// Implementations keep the key inside (a file, an HSM, a card): the trait has no way out.
pub trait Signer {
    /// The public key, as `SubjectPublicKeyInfo`.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;
    /// Signs `message` (hashing it) with `algorithm`.
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignerError>;
    /// Signs an already computed `digest` of `algorithm`'s hash (PKCS#1 v1.5 over its DigestInfo).
    fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// An RSA key held in memory (aws-lc), loaded from or saved as PKCS#8.
///
/// `Debug` prints only the key size; the PKCS#8 export is zeroised on drop.
pub struct SoftwareKey {
    pair: KeyPair,
    spki: SubjectPublicKeyInfoOwned,
}

impl SoftwareKey {
    /// Generates a fresh RSA-2048 key (e = 65537) with aws-lc's own DRBG.
    pub fn generate_rsa2048() -> Result<SoftwareKey, SignerError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| SignerError::Failed(e.to_string()))?;
        Self::from_pair(pair)
    }

    /// Loads an RSA key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<SoftwareKey, SignerError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|e| SignerError::KeyRejected(e.to_string()))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: KeyPair) -> Result<SoftwareKey, SignerError> {
        let spki_der = pair.public_key().as_der().map_err(|e| SignerError::Failed(e.to_string()))?;
        let spki =
            SubjectPublicKeyInfoOwned::from_der(spki_der.as_ref()).map_err(|e| SignerError::Failed(e.to_string()))?;
        Ok(SoftwareKey { pair, spki })
    }

    /// The key as PKCS#8 DER, zeroised when dropped. Only the key store should call this.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, SignerError> {
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&self.pair)
            .map_err(|e| SignerError::Failed(e.to_string()))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoftwareKey(RSA-{}, [elided])", self.pair.public_modulus_len() * 8)
    }
}

impl Signer for SoftwareKey {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let mut out = vec![0; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(algorithm.encoding(), &rng, message, &mut out)
            .map_err(|e| SignerError::Failed(e.to_string()))?;
        Ok(out)
    }

    fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        let digest = aws_lc_rs::digest::Digest::import_less_safe(digest, algorithm.digest().aws())
            .map_err(|_| SignerError::Failed(format!("digest is not {} bytes", algorithm.digest().output_len())))?;
        let mut out = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign_digest(algorithm.encoding(), &digest, &mut out)
            .map_err(|e| SignerError::Failed(e.to_string()))?;
        Ok(out)
    }
}

impl<S: Signer + ?Sized> Signer for &S {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        (**self).public_key()
    }
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        (**self).sign(algorithm, message)
    }
    fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        (**self).sign_digest(algorithm, digest)
    }
}
