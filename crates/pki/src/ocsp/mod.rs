//! OCSP (RFC 6960): requests, signed responses and client-side verification.
//!
//! JPKI publishes revocation by OCSP only to registered verifiers, with the status updated
//! every 15 minutes (shared/spec/20-pki.md §3, "Publication"). This module is the pure core of
//! both ends:
//!
//! - a client builds an `OCSPRequest` with [`build_request`] and checks the answer with
//!   [`verify_response`], which returns one [`SingleStatus`] per certificate asked about;
//! - a responder reads requests with [`ParsedRequest::from_der`] and answers with a
//!   [`Responder`], signing either with the CA key itself or with a delegated responder
//!   certificate ([`issue_responder_certificate`], profile [`crate::Profile::ocsp_responder`]).
//!
//! ```text
//! OCSPRequest     ::= SEQUENCE {
//!    tbsRequest                  TBSRequest,
//!    optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
//!
//! OCSPResponse ::= SEQUENCE {
//!    responseStatus         OCSPResponseStatus,
//!    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
//! ```
//!
//! All ASN.1 goes through the `x509-ocsp` types. Time comes in as arguments; nothing here reads
//! the clock. Everything attacker-controlled is bounded: request and response sizes, the number
//! of CertIDs, SingleResponses and certificates, the nonce length.

mod cert_id;
mod request;
mod response;
#[cfg(test)]
mod testutil;
mod verify;

use const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE;
use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, OctetString, OctetStringRef};
use der::{Decode, Encode};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::Extension;

pub use cert_id::{CertIdHash, CertIdentity};
pub use request::{build_request, ParsedRequest};
pub use response::{error_response, issue_responder_certificate, responder_subject, Responder};
pub use verify::{verify_response, SingleStatus};
/// The `x509-ocsp` types that appear in this module's API.
pub use x509_ocsp::{CertId, OcspResponseStatus};

use crate::{CrlReason, KeyError, Serial, SignerError};

/// Most CertIDs one request may carry (client and responder side).
pub const MAX_REQUEST_IDS: usize = 32;
/// Largest `OCSPRequest` accepted, in bytes (a signed request with its certificate fits easily).
pub const MAX_REQUEST_LEN: usize = 16 * 1024;
/// Most `SingleResponse`s one response may carry (made or accepted).
pub const MAX_RESPONSES: usize = 64;
/// Most certificates accepted in `BasicOCSPResponse.certs`.
pub const MAX_RESPONSE_CERTS: usize = 8;
/// Largest `OCSPResponse` accepted, in bytes.
pub const MAX_RESPONSE_LEN: usize = 64 * 1024;
/// Longest nonce, in bytes (RFC 8954: `Nonce ::= OCTET STRING(SIZE(1..32))`).
pub const MAX_NONCE_LEN: usize = 32;
/// Clock skew tolerated between responder and client when checking `thisUpdate`,
/// `nextUpdate` and the responder certificate's validity.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
/// How often JPKI refreshes OCSP status (shared/spec/20-pki.md §3): the natural
/// `nextUpdate - thisUpdate` of a hanko responder.
pub const UPDATE_INTERVAL: Duration = Duration::minutes(15);

/// Why an OCSP request or response could not be built, parsed or verified.
///
/// Caller misuse (first group) is told apart from hostile or broken input (second group);
/// [`OcspResponseStatus::from`] maps an error to the status a responder should answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspError {
    // ---- caller misuse ----
    /// No certificate identities were given.
    #[error("no certificate identities given")]
    NoIds,
    /// More CertIDs (or SingleResponses) than the budget allows.
    #[error("{count} certificate identities, at most {max} allowed")]
    TooManyIds {
        /// How many were given.
        count: usize,
        /// The budget ([`MAX_REQUEST_IDS`] or [`MAX_RESPONSES`]).
        max: usize,
    },
    /// A nonce (given or received) is empty or longer than [`MAX_NONCE_LEN`].
    #[error("nonce of {len} bytes, must be 1..={max}")]
    NonceLength {
        /// Its length.
        len: usize,
        /// [`MAX_NONCE_LEN`].
        max: usize,
    },
    /// A time cannot be written as a `GeneralizedTime` (before 1970 or after 9999).
    #[error("{} cannot be written as GeneralizedTime", crate::display::rfc3339(.at))]
    Time {
        /// The time.
        at: OffsetDateTime,
    },
    /// `nextUpdate` is not after `thisUpdate`.
    #[error("nextUpdate {next_update} is not after thisUpdate {this_update}")]
    UpdateOrder {
        /// thisUpdate.
        this_update: OffsetDateTime,
        /// nextUpdate.
        next_update: OffsetDateTime,
    },
    /// A revocation reason `CRLReason` cannot express (7 or above 10).
    #[error("revocation reason {0:?} cannot be encoded")]
    Reason(CrlReason),
    /// The responder was asked to say good or revoked about a certificate of another issuer;
    /// only `unknown` may be said about those.
    #[error("certificate {serial} is not from this responder's CA: only `unknown` may be answered")]
    ForeignCertificate {
        /// The serial.
        serial: Serial,
    },
    /// An expected CertID does not belong to the issuer certificate given to the verifier.
    #[error("expected CertID for {serial} does not belong to the given issuer")]
    ForeignCertId {
        /// The serial.
        serial: Serial,
    },
    /// `error_response` was asked for the status `successful`.
    #[error("a successful response needs a body: use Responder::respond")]
    NotAnError,
    /// A responder certificate's key is not the signer's key, or the CA key is not the CA's.
    #[error("the certificate does not match the signing key")]
    KeyMismatch,
    /// The issuer CA's public key is unusable.
    #[error("issuer key: {0}")]
    IssuerKey(KeyError),
    /// The signing key failed.
    #[error(transparent)]
    Signer(SignerError),
    /// Encoding failed (a value out of range).
    #[error("encoding: {0}")]
    Encode(der::Error),

    // ---- hostile or broken input ----
    /// The input is larger than its budget.
    #[error("{what} is {len} bytes, more than {max}")]
    TooLarge {
        /// What was read.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// Malformed, truncated or trailing DER.
    #[error("malformed {what}: {error}")]
    Der {
        /// What was read.
        what: &'static str,
        /// The decoder's complaint.
        error: der::Error,
    },
    /// The input decodes but does not re-encode to the same bytes (not DER), so the bytes a
    /// signature covers are ambiguous.
    #[error("{what} is not DER")]
    NotDer {
        /// What was read.
        what: &'static str,
    },
    /// A CertID hash algorithm other than SHA-1/256/384/512.
    #[error("unsupported CertID hash algorithm {0}")]
    UnsupportedHash(ObjectIdentifier),
    /// A CertID with a hash of the wrong length, bad parameters or a negative serial.
    #[error("malformed CertID: {0}")]
    BadCertId(&'static str),
    /// A critical extension this implementation does not understand (RFC 6960 §4.4).
    #[error("unsupported critical extension {0}")]
    UnsupportedCriticalExtension(ObjectIdentifier),
    /// The same extension twice.
    #[error("duplicate extension {0}")]
    DuplicateExtension(ObjectIdentifier),
    /// The responder answered with an error status.
    #[error("responder answered {0:?}")]
    Unsuccessful(OcspResponseStatus),
    /// A `successful` response without `responseBytes`.
    #[error("successful response without responseBytes")]
    NoResponseBytes,
    /// A response type other than `id-pkix-ocsp-basic`.
    #[error("unsupported response type {0}")]
    UnsupportedResponseType(ObjectIdentifier),
    /// More SingleResponses than [`MAX_RESPONSES`].
    #[error("{count} SingleResponses, at most {max} accepted")]
    TooManyResponses {
        /// How many.
        count: usize,
        /// [`MAX_RESPONSES`].
        max: usize,
    },
    /// More certificates than [`MAX_RESPONSE_CERTS`].
    #[error("{count} certificates in the response, at most {max} accepted")]
    TooManyCerts {
        /// How many.
        count: usize,
        /// [`MAX_RESPONSE_CERTS`].
        max: usize,
    },
    /// A signature algorithm other than sha{256,384,512}WithRSAEncryption (parameters NULL or absent).
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(ObjectIdentifier),
    /// The ResponderID names neither the issuer nor any certificate in the response.
    #[error("the ResponderID matches neither the issuer nor a certificate in the response")]
    UnknownResponder,
    /// The response signature does not verify with the responder's key.
    #[error("response signature does not verify")]
    BadSignature,
    /// The delegated responder certificate is not signed by the issuer CA's key.
    #[error("the responder certificate is not issued by the CA")]
    ResponderNotIssuedByCa,
    /// The delegated responder certificate lacks `id-kp-OCSPSigning` (or `digitalSignature`).
    #[error("the responder certificate is not authorised for OCSP signing")]
    ResponderNotAuthorized,
    /// The delegated responder certificate is not valid at the verification time.
    #[error("the responder certificate is valid {not_before} .. {not_after}, not at {now}")]
    ResponderExpired {
        /// The verification time.
        now: OffsetDateTime,
        /// Its notBefore.
        not_before: OffsetDateTime,
        /// Its notAfter.
        not_after: OffsetDateTime,
    },
    /// The delegated responder certificate is unusable otherwise (unknown critical extension,
    /// malformed extension, unusable key).
    #[error("responder certificate: {0}")]
    ResponderCertificate(&'static str),
    /// No SingleResponse answers for an expected certificate (e.g. the response is about
    /// another certificate).
    #[error("no response for certificate {serial}")]
    MissingResponse {
        /// The serial asked about.
        serial: Serial,
    },
    /// Two SingleResponses answer for the same certificate.
    #[error("two responses for certificate {serial}")]
    DuplicateResponse {
        /// The serial.
        serial: Serial,
    },
    /// A nonce was sent but the response carries none.
    #[error("the response does not echo the nonce")]
    NonceMissing,
    /// The response carries a different nonce than the one sent.
    #[error("the response nonce differs from the one sent")]
    NonceMismatch,
    /// `thisUpdate` lies in the future (beyond [`MAX_CLOCK_SKEW`]).
    #[error("thisUpdate {this_update} is in the future (now {now})")]
    NotYetValid {
        /// thisUpdate.
        this_update: OffsetDateTime,
        /// The verification time.
        now: OffsetDateTime,
    },
    /// `nextUpdate` has passed (beyond [`MAX_CLOCK_SKEW`]).
    #[error("nextUpdate {next_update} has passed (now {now})")]
    Expired {
        /// nextUpdate.
        next_update: OffsetDateTime,
        /// The verification time.
        now: OffsetDateTime,
    },
    /// `thisUpdate` is older than the caller's `max_age`.
    #[error("thisUpdate {this_update} is older than {max_age} at {now}")]
    TooOld {
        /// thisUpdate.
        this_update: OffsetDateTime,
        /// The verification time.
        now: OffsetDateTime,
        /// The caller's limit.
        max_age: Duration,
    },
}

impl From<&OcspError> for OcspResponseStatus {
    /// The status a responder answers when handling a request failed with this error:
    /// `malformedRequest` for anything wrong with the request, `internalError` otherwise.
    fn from(e: &OcspError) -> OcspResponseStatus {
        match e {
            OcspError::NoIds
            | OcspError::TooManyIds { .. }
            | OcspError::NonceLength { .. }
            | OcspError::TooLarge { .. }
            | OcspError::Der { .. }
            | OcspError::NotDer { .. }
            | OcspError::UnsupportedHash(_)
            | OcspError::BadCertId(_)
            | OcspError::UnsupportedCriticalExtension(_)
            | OcspError::DuplicateExtension(_) => OcspResponseStatus::MalformedRequest,
            _ => OcspResponseStatus::InternalError,
        }
    }
}

/// Converts an instant into the `GeneralizedTime` OCSP uses everywhere (whole seconds, `Z`).
pub(crate) fn generalized_time(at: OffsetDateTime) -> Result<x509_ocsp::OcspGeneralizedTime, OcspError> {
    let secs = u64::try_from(at.unix_timestamp()).map_err(|_| OcspError::Time { at })?;
    let t = GeneralizedTime::from_unix_duration(core::time::Duration::from_secs(secs))
        .map_err(|_| OcspError::Time { at })?;
    Ok(x509_ocsp::OcspGeneralizedTime(t))
}

/// Converts an OCSP `GeneralizedTime` into an instant.
pub(crate) fn from_generalized_time(t: &x509_ocsp::OcspGeneralizedTime) -> OffsetDateTime {
    let secs = i64::try_from(t.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Checks a nonce length against RFC 8954 (`OCTET STRING(SIZE(1..32))`).
pub(crate) fn check_nonce(nonce: &[u8]) -> Result<(), OcspError> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
        return Err(OcspError::NonceLength { len: nonce.len(), max: MAX_NONCE_LEN });
    }
    Ok(())
}

/// The `id-pkix-ocsp-nonce` extension carrying `nonce` in the RFC 8954 form: the value is an
/// `OCTET STRING` inside the extension's `OCTET STRING` (what openssl sends and expects).
///
/// ```text
/// Nonce ::= OCTET STRING(SIZE(1..32))
/// ```
pub(crate) fn nonce_extension(nonce: &[u8]) -> Result<Extension, OcspError> {
    check_nonce(nonce)?;
    let inner = OctetStringRef::new(nonce).and_then(|o| o.to_der()).map_err(OcspError::Encode)?;
    Ok(Extension {
        extn_id: ID_PKIX_OCSP_NONCE,
        critical: false,
        extn_value: OctetString::new(inner).map_err(OcspError::Encode)?,
    })
}

/// The nonce value of an `id-pkix-ocsp-nonce` extension: the inner `OCTET STRING` of the RFC
/// 8954 form, or — for legacy peers that put the raw bytes straight into `extnValue` — those
/// bytes when they are not exactly one DER `OCTET STRING`.
pub(crate) fn nonce_value(ext: &Extension) -> &[u8] {
    let raw = ext.extn_value.as_bytes();
    match OctetStringRef::from_der(raw) {
        Ok(inner) => inner.as_bytes(),
        Err(_) => raw,
    }
}

/// Walks an extension list: rejects duplicates and unknown critical extensions, and returns
/// the nonce extension if there is one. `nonce_allowed` says whether a nonce may appear here.
pub(crate) fn scan_extensions(
    extensions: Option<&[Extension]>,
    nonce_allowed: bool,
) -> Result<Option<&Extension>, OcspError> {
    let extensions = extensions.unwrap_or_default();
    let mut nonce = None;
    for (i, e) in extensions.iter().enumerate() {
        if extensions[..i].iter().any(|p| p.extn_id == e.extn_id) {
            return Err(OcspError::DuplicateExtension(e.extn_id));
        }
        if nonce_allowed && e.extn_id == ID_PKIX_OCSP_NONCE {
            nonce = Some(e);
        } else if e.critical {
            return Err(OcspError::UnsupportedCriticalExtension(e.extn_id));
        }
    }
    Ok(nonce)
}

/// Lower-case hex, for `Debug` output.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nonce_extension_is_double_wrapped_and_reads_back() {
        let ext = nonce_extension(&[0xAB; 16]).unwrap();
        let raw = ext.extn_value.as_bytes();
        assert_eq!(raw[..2], [0x04, 16]);
        assert_eq!(nonce_value(&ext), &[0xAB; 16]);
        // The legacy form: raw bytes straight in extnValue.
        let legacy = Extension {
            extn_id: ID_PKIX_OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(vec![1, 2, 3]).unwrap(),
        };
        assert_eq!(nonce_value(&legacy), &[1, 2, 3]);
        assert!(matches!(nonce_extension(&[]), Err(OcspError::NonceLength { len: 0, .. })));
        assert!(matches!(nonce_extension(&[0; 33]), Err(OcspError::NonceLength { len: 33, .. })));
    }

    #[test]
    fn times_round_trip_and_refuse_the_unencodable() {
        let t = time::macros::datetime!(2026-01-01 12:34:56 UTC);
        assert_eq!(from_generalized_time(&generalized_time(t).unwrap()), t);
        let before = time::macros::datetime!(1969-12-31 23:59:59 UTC);
        assert!(matches!(generalized_time(before), Err(OcspError::Time { .. })));
    }

    #[test]
    fn scan_extensions_rejects_duplicates_and_unknown_critical() {
        let n = nonce_extension(&[1; 16]).unwrap();
        assert!(scan_extensions(Some(std::slice::from_ref(&n)), true).unwrap().is_some());
        assert!(matches!(scan_extensions(Some(&[n.clone(), n.clone()]), true), Err(OcspError::DuplicateExtension(_))));
        let mut crit = n;
        crit.critical = true;
        crit.extn_id = const_oid::db::rfc6960::ID_PKIX_OCSP_CRL;
        assert!(matches!(scan_extensions(Some(&[crit]), true), Err(OcspError::UnsupportedCriticalExtension(_))));
    }

    #[test]
    fn errors_map_to_response_status() {
        assert_eq!(OcspResponseStatus::from(&OcspError::NoIds), OcspResponseStatus::MalformedRequest);
        assert_eq!(
            OcspResponseStatus::from(&OcspError::Signer(SignerError::Failed("hsm".into()))),
            OcspResponseStatus::InternalError
        );
    }
}
