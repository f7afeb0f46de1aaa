#![doc = include_str!("../README.md")]

mod ca;
mod cert;
pub mod cms;
pub mod crl;
mod crypto;
mod digest;
mod display;
mod facts;
pub mod jwe;
mod name;
pub mod ocsp;
pub mod oid;
pub mod pades;
mod profile;
mod revocation;
mod serial;
mod signer;
#[cfg(test)]
mod testutil;
pub mod tlog;
pub mod tsp;
pub mod verify;

pub use ca::{from_x509_time, issuance_id, key_identifier, opaque_auth_id, x509_time, CaGeneration, IssueError};
pub use cert::{CertError, JpkiCertificate, MAX_CERTIFICATE_LEN, MAX_EXTENSIONS};
pub use crypto::{BadSignature, KeyError, RsaPublicKey, MIN_RSA_BITS};
pub use digest::{DigestAlgorithm, DigestInfo, DigestInfoError};
pub use facts::{
    end_entity_not_after, end_of_day_jst, BasicFacts, BirthDate, Era, FactsError, Sex, SubstituteMap,
    MAX_ADDRESS_CHARS, MAX_NAME_CHARS,
};
pub use name::{auth_subject, dn, signature_subject, Naming};
pub use profile::{CaKind, CertKind, ExtensionSpec, PolicySet, Profile};
pub use revocation::{CrlReason, Revocation, RevocationMeaning, RevocationStatus};
pub use serial::Serial;
pub use signer::{SignatureAlgorithm, Signer, SignerError, SoftwareKey};

/// Re-exported ASN.1 crates, so callers use the same versions.
pub use {der, spki, time, x509_cert};
