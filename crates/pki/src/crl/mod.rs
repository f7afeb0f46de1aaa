//! Certificate revocation lists: build, parse, verify, and a compact index
//! (shared/spec/20-pki.md §3, RFC 5280 §5).
//!
//! JPKI publishes the **full** list of revoked serials, regenerated **daily**, to registered
//! verifiers; at national scale that is 10–30 million entries (20-pki.md §3). Everything here is
//! sized for that:
//!
//! * [`CrlBuilder`] encodes the entries one by one with `der` straight into the output buffer
//!   (no per-entry `x509_cert` values), and signs sha256WithRSAEncryption with the CA key;
//! * [`ParsedCrl`] is zero-copy: it checks the envelope and the CRL extensions once, and
//!   [`ParsedCrl::entries`] decodes borrowed entries lazily, without heap allocation;
//! * [`CrlIndex`] answers "is serial S revoked — when, why" in O(1) at ≤ 24 bytes per entry.
//!
//! ```text
//! CertificateList  ::=  SEQUENCE  {
//!      tbsCertList          TBSCertList,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//!
//! TBSCertList  ::=  SEQUENCE  {
//!      version                 Version OPTIONAL,
//!                                   -- if present, MUST be v2
//!      signature               AlgorithmIdentifier,
//!      issuer                  Name,
//!      thisUpdate              Time,
//!      nextUpdate              Time OPTIONAL,
//!      revokedCertificates     SEQUENCE OF SEQUENCE  {
//!           userCertificate         CertificateSerialNumber,
//!           revocationDate          Time,
//!           crlEntryExtensions      Extensions OPTIONAL
//!                                    -- if present, version MUST be v2
//!                                }  OPTIONAL,
//!      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL
//!                                    -- if present, version MUST be v2
//!                                }
//! ```
//! (RFC 5280 §5.1.)
//!
//! # The 256 MiB wall
//!
//! `der` 0.7 caps a definite length at [`der::Length::MAX`] (256 MiB). A 20-million-entry CRL is
//! about 850 MB, so the three outermost headers (`CertificateList`, `TBSCertList`,
//! `revokedCertificates`) may need a 4-octet length beyond that cap. Those three headers — and
//! only they — go through a small reader/writer in this module that delegates to [`der::Header`]
//! whenever the length fits and adds the X.690 §8.1.3.5 long form (`0x84` + 4 octets) above it.
//! Every value inside them is encoded and decoded by `der`.
//!
//! # Order of checks
//!
//! [`ParsedCrl::from_der`] does **not** verify the signature; call
//! [`ParsedCrl::verify_signature`] with the issuing CA's key before trusting anything, and only
//! then build a [`CrlIndex`].

mod build;
mod envelope;
mod index;
mod parse;
mod types;

#[cfg(test)]
mod tests;

use const_oid::ObjectIdentifier;
use time::OffsetDateTime;

use crate::{CrlReason, Serial, SignerError};

pub use build::{daily_window, CrlBuilder};
pub use index::CrlIndex;
pub use parse::{CrlEntries, CrlEntryRef, ParsedCrl, DEFAULT_MAX_CRL_BYTES, MAX_CRL_EXTENSIONS, MAX_ENTRY_EXTENSIONS};

/// One revoked certificate, as the CA records it (RFC 5280 §5.1.2.6, §5.3.1).
///
/// ```text
/// SEQUENCE  {
///      userCertificate         CertificateSerialNumber,
///      revocationDate          Time,
///      crlEntryExtensions      Extensions OPTIONAL  }   -- reasonCode only
/// ```
///
/// The reason follows shared/spec/20-pki.md §3 (e.g. [`CrlReason::AFFILIATION_CHANGED`] for a
/// move or a marriage). [`CrlReason::UNSPECIFIED`] is encoded by *omitting* the reasonCode
/// extension, as RFC 5280 §5.3.1 recommends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// The revoked certificate's serial number.
    pub serial: Serial,
    /// When it was revoked (`revocationDate`; whole seconds are kept).
    pub revoked_at: OffsetDateTime,
    /// Why (`reasonCode`).
    pub reason: CrlReason,
}

/// Why a CRL could not be built, parsed, verified or indexed.
///
/// Hostile input (everything from [`ParsedCrl::from_der`], [`CrlEntries`], [`CrlIndex`]) and
/// caller misuse of the builder (the variants documented as such) are separate variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// The input is larger than the parsing budget.
    #[error("CRL of {len} bytes exceeds the budget of {max} bytes")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// A length runs past the end of the input.
    #[error("{at}: truncated: {needed} bytes declared, {available} available")]
    Truncated {
        /// Which structure.
        at: &'static str,
        /// Declared length.
        needed: usize,
        /// Bytes actually left.
        available: usize,
    },
    /// Malformed DER outside the revoked-certificate list.
    #[error("{at}: malformed DER: {error}")]
    Malformed {
        /// Which structure.
        at: &'static str,
        /// The decoder's error.
        error: der::Error,
    },
    /// A malformed revoked-certificate entry.
    #[error("revoked certificate #{index}: malformed DER: {error}")]
    MalformedEntry {
        /// Position of the entry in the list (0-based).
        index: usize,
        /// The decoder's error.
        error: der::Error,
    },
    /// Bytes follow the `CertificateList`.
    #[error("{extra} bytes of trailing data after the CertificateList")]
    TrailingData {
        /// How many.
        extra: usize,
    },
    /// `version` is absent (v1) or not v2 (`1`).
    #[error("CRL version {found:?} is not v2")]
    UnsupportedVersion {
        /// The encoded version INTEGER (0 = v1, 1 = v2); `None` when absent (v1).
        found: Option<u8>,
    },
    /// The signature algorithm is not an RSASSA-PKCS1-v1_5 algorithm with NULL or absent
    /// parameters.
    #[error("unsupported signature algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// Its OID.
        oid: ObjectIdentifier,
    },
    /// `tbsCertList.signature` and `signatureAlgorithm` differ (RFC 5280 §5.1.1.2).
    #[error("signature algorithm mismatch: tbsCertList says {inner}, CertificateList says {outer}")]
    AlgorithmMismatch {
        /// In `tbsCertList`.
        inner: ObjectIdentifier,
        /// In `CertificateList`.
        outer: ObjectIdentifier,
    },
    /// The signature BIT STRING has unused bits.
    #[error("signatureValue is not a whole number of octets")]
    SignatureBits,
    /// A critical extension hanko does not know (RFC 5280 §5.2, §5.3).
    #[error("unknown critical extension {oid}{}", entry_suffix(*.entry))]
    UnknownCriticalExtension {
        /// Its OID.
        oid: ObjectIdentifier,
        /// The entry index, for a CRL entry extension.
        entry: Option<usize>,
    },
    /// An extension hanko knows but does not support, whatever its criticality: the
    /// issuingDistributionPoint (a partitioned CRL would look complete) and the certificateIssuer
    /// entry extension (indirect CRLs).
    #[error("unsupported extension {oid}{}", entry_suffix(*.entry))]
    UnsupportedExtension {
        /// Its OID.
        oid: ObjectIdentifier,
        /// The entry index, for a CRL entry extension.
        entry: Option<usize>,
    },
    /// The same extension appears twice (RFC 5280 §4.2).
    #[error("duplicate extension {oid}{}", entry_suffix(*.entry))]
    DuplicateExtension {
        /// Its OID.
        oid: ObjectIdentifier,
        /// The entry index, for a CRL entry extension.
        entry: Option<usize>,
    },
    /// More extensions than [`MAX_CRL_EXTENSIONS`] / [`MAX_ENTRY_EXTENSIONS`], or an empty `Extensions` (`SIZE (1..MAX)`).
    #[error("extension count {count} outside 1..={max}{}", entry_suffix(*.entry))]
    ExtensionCount {
        /// How many (at least).
        count: usize,
        /// The budget.
        max: usize,
        /// The entry index, for CRL entry extensions.
        entry: Option<usize>,
    },
    /// A known extension whose value does not decode (or a cRLNumber beyond 64 bits).
    #[error("extension {oid}{}: bad value: {error}", entry_suffix(*.entry))]
    BadExtension {
        /// Its OID.
        oid: ObjectIdentifier,
        /// The entry index, for a CRL entry extension.
        entry: Option<usize>,
        /// The decoder's error.
        error: der::Error,
    },
    /// A revoked serial is negative (RFC 5280 §4.1.2.2: serials are positive).
    #[error("revoked certificate #{index}: negative serial number")]
    NegativeSerial {
        /// Position of the entry.
        index: usize,
    },
    /// The signature does not verify under the given key.
    #[error("CRL signature does not verify")]
    BadSignature,
    /// The same serial is listed twice in one CRL.
    #[error("serial {serial} is listed twice")]
    DuplicateSerial {
        /// The serial.
        serial: Serial,
    },
    /// A complete CRL lists a serial with removeFromCRL, which only delta CRLs may
    /// (RFC 5280 §5.3.1).
    #[error("serial {serial}: removeFromCRL in a complete CRL")]
    RemoveFromCrlInCompleteCrl {
        /// The serial.
        serial: Serial,
    },
    /// The CRL has no cRLNumber, which an index needs to order deltas.
    #[error("CRL has no cRLNumber")]
    MissingCrlNumber,
    /// A delta CRL was given where a complete CRL is needed.
    #[error("CRL {crl_number} is a delta CRL on base {base}, not a complete CRL")]
    UnexpectedDelta {
        /// The delta's number.
        crl_number: u64,
        /// Its BaseCRLNumber.
        base: u64,
    },
    /// A complete CRL was given where a delta CRL is needed.
    #[error("not a delta CRL (no deltaCRLIndicator)")]
    NotADelta,
    /// The delta's BaseCRLNumber is newer than the complete CRL the index was built from
    /// (RFC 5280 §5.2.4).
    #[error("delta CRL needs base CRL {base} or later; the index holds complete CRL {complete}")]
    DeltaBaseMismatch {
        /// The delta's BaseCRLNumber.
        base: u64,
        /// The index's complete CRL number.
        complete: u64,
    },
    /// The delta is not newer than what the index already holds.
    #[error("delta CRL {delta} is not newer than CRL {current}")]
    StaleDelta {
        /// The delta's number.
        delta: u64,
        /// The index's current number.
        current: u64,
    },
    /// The delta comes from another issuer (name or authority key identifier differ).
    #[error("delta CRL is from another issuer")]
    IssuerMismatch,
    /// Builder misuse: `next_update` is not after `this_update`.
    #[error("nextUpdate {} is not after thisUpdate {}", crate::display::rfc3339(.next_update), crate::display::rfc3339(.this_update))]
    InvalidWindow {
        /// thisUpdate.
        this_update: OffsetDateTime,
        /// nextUpdate.
        next_update: OffsetDateTime,
    },
    /// Builder misuse: a reason code RFC 5280 §5.3.1 does not define (7, or above 10), or
    /// removeFromCRL outside a delta CRL.
    #[error("reason {reason:?} cannot be used here")]
    InvalidReason {
        /// The reason.
        reason: CrlReason,
    },
    /// Builder misuse: a delta CRL's base is not older than the delta.
    #[error("delta base {base} is not below CRL number {crl_number}")]
    InvalidDeltaBase {
        /// The base.
        base: u64,
        /// The delta's number.
        crl_number: u64,
    },
    /// Builder: encoding failed (a value out of DER range, or a CRL above 4 GiB).
    #[error("encoding: {0}")]
    Encode(der::Error),
    /// Builder: the CA key failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

fn entry_suffix(entry: Option<usize>) -> String {
    entry.map(|i| format!(" in revoked certificate #{i}")).unwrap_or_default()
}
