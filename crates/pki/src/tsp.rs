//! RFC 3161 time-stamping: requests, a sandbox time-stamping authority (TSA) that answers
//! them, and the verification of time-stamp tokens against a message imprint.
//!
//! A token is a CMS `SignedData` (RFC 5652) whose `eContentType` is `id-ct-TSTInfo` and whose
//! content is a DER [`TstInfo`], signed by a certificate whose only extendedKeyUsage is
//! `id-kp-timeStamping`, marked critical (RFC 3161 §2.3, [`crate::Profile::time_stamping`]). The
//! signed attributes carry `signingCertificateV2` (RFC 5035 `ESSCertIDv2`), which
//! `openssl ts -verify` requires. The signing reuses [`crate::cms`].
//!
//! Pure: the time and the serial number of a token come in as arguments. The sandbox TSA's
//! certificates come from a [`CaGeneration`] under [`sandbox_tsa_naming`] (`O=JPKI-TEST`).
//!
//! **Limits.** `genTime` is whole seconds (no fraction; RFC 3161 allows one, `der`'s
//! `GeneralizedTime` does not); a token must carry its TSA certificate to be verified here
//! (the platform always asks with `certReq`); `signingCertificate` (v1, SHA-1) is not accepted.

use cms::content_info::ContentInfo;
use const_oid::db::rfc4519::{C, CN, O, OU};
use const_oid::db::rfc5280::{ID_CE_EXT_KEY_USAGE, ID_KP_TIME_STAMPING};
use const_oid::db::rfc5911::{ID_AA_SIGNING_CERTIFICATE_V_2, ID_SIGNED_DATA};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, GeneralizedTime, Int, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use crate::cms::{CmsError, Encapsulation, SignedMessage, TypedContent};
use crate::{dn, CaGeneration, DigestAlgorithm, Naming, RsaPublicKey, Serial, SignatureAlgorithm, Signer};

/// `id-ct-TSTInfo` (RFC 3161 §2.4.2): `1.2.840.113549.1.9.16.1.4`.
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// The policy the sandbox TSA stamps under: `1.2.3.4.1`, the example TSA policy of OpenSSL's
/// own configuration — a sandbox has no registered arc, and this one says "example" to anyone
/// who looks it up.
pub const SANDBOX_TSA_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.3.4.1");

/// Largest DER request [`TimeStampRequest::from_der`] reads.
pub const MAX_REQUEST_LEN: usize = 4096;

/// ```text
/// MessageImprint ::= SEQUENCE  {                              -- RFC 3161 §2.4.1
///      hashAlgorithm                AlgorithmIdentifier,
///      hashedMessage                OCTET STRING  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash of the data stamped.
    pub hashed_message: OctetString,
}

impl MessageImprint {
    /// The imprint of an already computed `digest` (parameters absent, as openssl writes them).
    pub fn new(algorithm: DigestAlgorithm, digest: &[u8]) -> Result<MessageImprint, TspError> {
        if digest.len() != algorithm.output_len() {
            return Err(TspError::DigestLength { expected: algorithm.output_len(), found: digest.len() });
        }
        Ok(MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned { oid: algorithm.oid(), parameters: None },
            hashed_message: OctetString::new(digest)?,
        })
    }

    /// The hash algorithm, when it is SHA-256/384/512 (parameters absent or NULL).
    pub fn algorithm(&self) -> Option<DigestAlgorithm> {
        let a = &self.hash_algorithm;
        if a.parameters.as_ref().is_some_and(|p| !p.is_null()) {
            return None;
        }
        DigestAlgorithm::from_oid(a.oid)
    }

    /// Whether this imprint is `digest` under `algorithm` (NULL and absent parameters alike).
    pub fn matches(&self, algorithm: DigestAlgorithm, digest: &[u8]) -> bool {
        self.algorithm() == Some(algorithm) && self.hashed_message.as_bytes() == digest
    }
}

/// ```text
/// TimeStampReq ::= SEQUENCE  {                                -- RFC 3161 §2.4.1
///    version                      INTEGER  { v1(1) },
///    messageImprint               MessageImprint,
///    reqPolicy             TSAPolicyId              OPTIONAL,
///    nonce                 INTEGER                  OPTIONAL,
///    certReq               BOOLEAN                  DEFAULT FALSE,
///    extensions            [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// 1.
    pub version: u8,
    /// What to stamp.
    pub message_imprint: MessageImprint,
    /// The policy the requester wants.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// A nonce the token must repeat.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Whether the token must carry the TSA certificate.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Extensions (the sandbox TSA accepts none).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// A parsed time-stamp request.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TimeStampRequest(pub TimeStampReq);

impl TimeStampRequest {
    /// A v1 request for `digest`, with an optional nonce, asking for the TSA certificate when
    /// `cert_req`.
    pub fn new(
        algorithm: DigestAlgorithm,
        digest: &[u8],
        nonce: Option<u64>,
        cert_req: bool,
    ) -> Result<TimeStampRequest, TspError> {
        let nonce = match nonce {
            Some(n) => Some(Int::new(&positive_int_bytes(&n.to_be_bytes()))?),
            None => None,
        };
        Ok(TimeStampRequest(TimeStampReq {
            version: 1,
            message_imprint: MessageImprint::new(algorithm, digest)?,
            req_policy: None,
            nonce,
            cert_req,
            extensions: None,
        }))
    }

    /// Parses a DER `TimeStampReq` (at most [`MAX_REQUEST_LEN`] bytes).
    pub fn from_der(der: &[u8]) -> Result<TimeStampRequest, TspError> {
        if der.len() > MAX_REQUEST_LEN {
            return Err(TspError::TooLarge { len: der.len(), max: MAX_REQUEST_LEN });
        }
        Ok(TimeStampRequest(TimeStampReq::from_der(der)?))
    }

    /// The DER encoding.
    pub fn to_der(&self) -> Result<Vec<u8>, TspError> {
        Ok(self.0.to_der()?)
    }
}

/// Two's-complement big-endian bytes of a non-negative magnitude (a leading 0 if the top bit is
/// set, leading zeros dropped).
fn positive_int_bytes(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude.iter().position(|b| *b != 0).unwrap_or(magnitude.len());
    let m = &magnitude[start..];
    match m.first() {
        None => vec![0],
        Some(b) if b & 0x80 != 0 => [&[0u8][..], m].concat(),
        Some(_) => m.to_vec(),
    }
}

/// ```text
/// Accuracy ::= SEQUENCE {                                     -- RFC 3161 §2.4.2
///          seconds        INTEGER              OPTIONAL,
///          millis     [0] INTEGER  (1..999)    OPTIONAL,
///          micros     [1] INTEGER  (1..999)    OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    /// Milliseconds.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// ```text
/// TSTInfo ::= SEQUENCE  {                                     -- RFC 3161 §2.4.2
///    version                      INTEGER  { v1(1) },
///    policy                       TSAPolicyId,
///    messageImprint               MessageImprint,
///    serialNumber                 INTEGER,
///    genTime                      GeneralizedTime,
///    accuracy                     Accuracy                 OPTIONAL,
///    ordering                     BOOLEAN             DEFAULT FALSE,
///    nonce                        INTEGER                  OPTIONAL,
///    tsa                          [0] GeneralName          OPTIONAL,
///    extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
///
/// (`tsa` is a CHOICE, so its tag is explicit even in the IMPLICIT TAGS module.)
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// 1.
    pub version: u8,
    /// The TSA policy the token was issued under.
    pub policy: ObjectIdentifier,
    /// What was stamped.
    pub message_imprint: MessageImprint,
    /// Unique per token of this TSA.
    pub serial_number: Int,
    /// When.
    pub gen_time: GeneralizedTime,
    /// How precise `gen_time` is.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether tokens of this TSA are ordered by `gen_time` alone.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The request's nonce.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// The TSA's name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE {                                -- RFC 3161 §2.4.2
///     status        PKIStatus,                                -- granted(0) … rejection(2)
///     statusString  PKIFreeText     OPTIONAL,                 -- SEQUENCE OF UTF8String
///     failInfo      PKIFailureInfo  OPTIONAL  }               -- BIT STRING
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4 revocationWarning,
    /// 5 revocationNotification.
    pub status: u8,
    /// Free text.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// Why it failed.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// ```text
/// TimeStampResp ::= SEQUENCE  {                               -- RFC 3161 §2.4.2
///      status                  PKIStatusInfo,
///      timeStampToken          TimeStampToken     OPTIONAL  }  -- ContentInfo
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// The status.
    pub status: PkiStatusInfo,
    /// The token, when granted.
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

/// ```text
/// SigningCertificateV2 ::=  SEQUENCE {                        -- RFC 5035 §3
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ESSCertIDv2 ::=  SEQUENCE {
///     hashAlgorithm           AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash                Hash,
///     issuerSerial            IssuerSerial OPTIONAL }
/// IssuerSerial ::= SEQUENCE {
///     issuer                   GeneralNames,
///     serialNumber             CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    /// `None` is the DEFAULT, id-sha256 (the derive's DEFAULT support needs `Copy`).
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `PKIFailureInfo` bits the sandbox TSA reports (RFC 3161 §2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureInfo {
    /// badAlg (0): unrecognised or unsupported hash algorithm.
    BadAlg,
    /// badRequest (2): transaction not permitted or supported.
    BadRequest,
    /// badDataFormat (5): the data submitted has the wrong format.
    BadDataFormat,
    /// unacceptedPolicy (15): the requested policy is not supported.
    UnacceptedPolicy,
    /// unacceptedExtension (16): the requested extension is not supported.
    UnacceptedExtension,
}

impl FailureInfo {
    fn bit(self) -> usize {
        match self {
            FailureInfo::BadAlg => 0,
            FailureInfo::BadRequest => 2,
            FailureInfo::BadDataFormat => 5,
            FailureInfo::UnacceptedPolicy => 15,
            FailureInfo::UnacceptedExtension => 16,
        }
    }

    /// The DER named-bit-list with only this bit set (trailing zero bits dropped).
    fn to_bit_string(self) -> der::Result<BitString> {
        let bit = self.bit();
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        BitString::new((7 - bit % 8) as u8, bytes)
    }

    fn from_bit_string(bits: &BitString) -> Option<FailureInfo> {
        let set: Vec<usize> = bits.bits().enumerate().filter(|(_, b)| *b).map(|(i, _)| i).collect();
        [Self::BadAlg, Self::BadRequest, Self::BadDataFormat, Self::UnacceptedPolicy, Self::UnacceptedExtension]
            .into_iter()
            .find(|f| set == [f.bit()])
    }
}

/// A time-stamp request or token was bad, or a TSA could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TspError {
    // --- caller misuse ---
    /// A digest of the wrong length for its algorithm.
    #[error("digest of {found} bytes, {expected} expected")]
    DigestLength {
        /// The algorithm's length.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The TSA certificate does not belong to the TSA key.
    #[error("the TSA certificate does not belong to the signing key")]
    KeyMismatch,
    /// The time cannot be a `GeneralizedTime` (before 1970 or after 9999).
    #[error("time {0} cannot be encoded")]
    TimeOutOfRange(OffsetDateTime),

    // --- hostile or malformed input ---
    /// The input exceeds its budget.
    #[error("{len} bytes exceed the {max}-byte budget")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// Not DER, or not the RFC 3161 structure.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// The CMS layer of the token failed.
    #[error("token: {0}")]
    Cms(#[from] CmsError),
    /// The response status is not granted (0) or grantedWithMods (1).
    #[error("the TSA refused: status {status}{}", .fail_info.map(|f| format!(" ({f:?})")).unwrap_or_default())]
    Refused {
        /// The status.
        status: u8,
        /// The failure reason, if a known one.
        fail_info: Option<FailureInfo>,
    },
    /// A granted response without a token.
    #[error("granted response without a token")]
    NoToken,
    /// The token's content type is not `id-signedData` / `id-ct-TSTInfo`.
    #[error("content type {0} is not a time-stamp token")]
    NotATimeStampToken(ObjectIdentifier),
    /// `TSTInfo.version` is not 1.
    #[error("TSTInfo version {0} is not 1")]
    Version(u8),
    /// The token stamps another imprint.
    #[error("the token stamps another message imprint")]
    ImprintMismatch,
    /// The token repeats another nonce.
    #[error("the token's nonce is not the request's")]
    NonceMismatch,
    /// The TSA certificate is not a time-stamping certificate: extendedKeyUsage must be present,
    /// critical, and only `id-kp-timeStamping` (RFC 3161 §2.3).
    #[error("the TSA certificate is not a time-stamping certificate: {0}")]
    NotTsaCertificate(&'static str),
    /// `signingCertificateV2` is missing or names another certificate.
    #[error("signingCertificateV2 is missing or does not name the signer certificate")]
    SigningCertificate,
    /// The TSA certificate was not issued by the given CA.
    #[error("the TSA certificate was not issued by the given CA")]
    UntrustedTsa,
    /// `genTime` lies outside the validity of the TSA certificate or its CA.
    #[error("genTime {at} lies outside the validity of the TSA certificate or its CA")]
    OutsideValidity {
        /// `genTime`.
        at: OffsetDateTime,
    },
    /// The TSA key failed.
    #[error(transparent)]
    Signer(#[from] crate::SignerError),
}

/// The DN of the sandbox TSA CA and its names: a `CaGeneration` made with this [`Naming`] (kind
/// [`crate::CaKind::Signature`], whose names it replaces) issues TSA certificates.
pub fn sandbox_tsa_naming() -> Naming {
    let own = |v: &[(ObjectIdentifier, &str)]| v.iter().map(|(o, s)| (*o, (*s).to_owned())).collect::<Vec<_>>();
    let ca = own(&[(C, "JP"), (O, "JPKI-TEST"), (OU, "hanko sandbox time-stamping CA"), (OU, "not J-LIS")]);
    Naming {
        signature_ca: ca.clone(),
        auth_ca: ca.clone(),
        signature_ca_alt: ca.clone(),
        auth_ca_alt: ca.clone(),
        issuer_alt: ca,
        cps_uri: "http://jpki-test.hanko.invalid/tsa-cps.html".to_owned(),
    }
}

/// `C=JP, O=JPKI-TEST, CN=<cn>` — a sandbox TSA certificate subject.
pub fn tsa_subject(cn: &str) -> der::Result<Name> {
    dn(&[(C, "JP"), (O, "JPKI-TEST"), (CN, cn)])
}

/// Checks RFC 3161 §2.3: one extendedKeyUsage, critical, only `id-kp-timeStamping`.
fn check_tsa_certificate(certificate: &Certificate) -> Result<(), TspError> {
    let extensions = certificate.tbs_certificate.extensions.as_deref().unwrap_or_default();
    let mut eku = extensions.iter().filter(|e| e.extn_id == ID_CE_EXT_KEY_USAGE);
    let ext = eku.next().ok_or(TspError::NotTsaCertificate("no extendedKeyUsage"))?;
    if eku.next().is_some() {
        return Err(TspError::NotTsaCertificate("extendedKeyUsage twice"));
    }
    if !ext.critical {
        return Err(TspError::NotTsaCertificate("extendedKeyUsage is not critical"));
    }
    let purposes = Vec::<ObjectIdentifier>::from_der(ext.extn_value.as_bytes())
        .map_err(|_| TspError::NotTsaCertificate("malformed extendedKeyUsage"))?;
    if purposes != [ID_KP_TIME_STAMPING] {
        return Err(TspError::NotTsaCertificate("extendedKeyUsage is not only id-kp-timeStamping"));
    }
    Ok(())
}

/// A time-stamping authority: its key (behind [`Signer`]), certificate and policy.
pub struct TimeStampAuthority<S> {
    signer: S,
    certificate: Certificate,
    certificate_der: Vec<u8>,
    policy: ObjectIdentifier,
}

impl<S> core::fmt::Debug for TimeStampAuthority<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TimeStampAuthority(policy {}, [key elided])", self.policy)
    }
}

/// The sandbox TSA of a [`CaGeneration`]: issues its certificate (profile
/// [`crate::Profile::time_stamping`]) for `signer`'s key and returns the authority.
pub fn issue_sandbox_tsa<C: Signer, S: Signer>(
    ca: &CaGeneration<C>,
    signer: S,
    serial: &Serial,
    cn: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<TimeStampAuthority<S>, crate::IssueError> {
    let der = ca.issue(
        &crate::Profile::time_stamping(),
        serial,
        tsa_subject(cn)?,
        signer.public_key().clone(),
        None,
        not_before,
        not_after,
    )?;
    TimeStampAuthority::new(signer, &der, SANDBOX_TSA_POLICY).map_err(|_| crate::IssueError::Profile {
        kind: crate::CertKind::TimeStamping,
        reason: "not a TSA certificate",
    })
}

impl<S: Signer> TimeStampAuthority<S> {
    /// A TSA signing with `signer` under `certificate_der`, stamping under `policy`. The
    /// certificate must be a time-stamping certificate (RFC 3161 §2.3) for the signer's key.
    pub fn new(signer: S, certificate_der: &[u8], policy: ObjectIdentifier) -> Result<TimeStampAuthority<S>, TspError> {
        let certificate = Certificate::from_der(certificate_der)?;
        if certificate.tbs_certificate.subject_public_key_info != *signer.public_key() {
            return Err(TspError::KeyMismatch);
        }
        check_tsa_certificate(&certificate)?;
        Ok(TimeStampAuthority { signer, certificate, certificate_der: certificate_der.to_vec(), policy })
    }

    /// The TSA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The policy tokens are issued under.
    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }

    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`: a token stamped `at` with
    /// `serial`, or a rejection with the RFC 3161 failure reason for a request it cannot serve
    /// (malformed, another hash than SHA-256/384/512, another policy, extensions). An `Err` is
    /// a fault of the TSA itself (its key).
    pub fn respond(&self, request_der: &[u8], at: OffsetDateTime, serial: &Serial) -> Result<Vec<u8>, TspError> {
        let request = match TimeStampRequest::from_der(request_der) {
            Ok(r) if r.0.version == 1 => r,
            _ => return reject(FailureInfo::BadDataFormat),
        };
        let req = &request.0;
        let Some(algorithm) = req.message_imprint.algorithm() else {
            return reject(FailureInfo::BadAlg);
        };
        if req.message_imprint.hashed_message.as_bytes().len() != algorithm.output_len() {
            return reject(FailureInfo::BadDataFormat);
        }
        if req.req_policy.is_some_and(|p| p != self.policy) {
            return reject(FailureInfo::UnacceptedPolicy);
        }
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return reject(FailureInfo::UnacceptedExtension);
        }
        let token = self.stamp(&req.message_imprint, req.nonce.clone(), req.cert_req, at, serial)?;
        let response = TimeStampResp {
            status: PkiStatusInfo { status: 0, status_string: None, fail_info: None },
            time_stamp_token: Some(ContentInfo::from_der(&token)?),
        };
        Ok(response.to_der()?)
    }

    /// Issues a token (DER `ContentInfo`) for `imprint`, stamped `at` with `serial`; it carries
    /// the TSA certificate when `include_certificate`.
    pub fn stamp(
        &self,
        imprint: &MessageImprint,
        nonce: Option<Int>,
        include_certificate: bool,
        at: OffsetDateTime,
        serial: &Serial,
    ) -> Result<Vec<u8>, TspError> {
        let secs = u64::try_from(at.unix_timestamp()).map_err(|_| TspError::TimeOutOfRange(at))?;
        let gen_time = GeneralizedTime::from_unix_duration(core::time::Duration::from_secs(secs))
            .map_err(|_| TspError::TimeOutOfRange(at))?;
        let tst_info = TstInfo {
            version: 1,
            policy: self.policy,
            message_imprint: imprint.clone(),
            serial_number: Int::new(&positive_int_bytes(serial.as_bytes()))?,
            gen_time,
            accuracy: Some(Accuracy { seconds: Some(1), millis: None, micros: None }),
            ordering: false,
            nonce,
            tsa: Some(GeneralName::DirectoryName(self.certificate.tbs_certificate.subject.clone())),
            extensions: None,
        };
        let content = tst_info.to_der()?;
        let tbs = &self.certificate.tbs_certificate;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(DigestAlgorithm::Sha256.digest(&self.certificate_der))?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                    serial_number: tbs.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        let attribute = crate::cms::single_valued(ID_AA_SIGNING_CERTIFICATE_V_2, Any::encode_from(&ess)?)?;
        let typed = TypedContent {
            content_type: ID_CT_TST_INFO,
            content: &content,
            extra_attributes: vec![attribute],
            include_certificates: include_certificate,
        };
        Ok(crate::cms::sign_typed(
            &self.signer,
            &self.certificate_der,
            typed,
            Encapsulation::Attached,
            DigestAlgorithm::Sha256,
            Some(at),
            &[],
        )?)
    }
}

fn reject(fail: FailureInfo) -> Result<Vec<u8>, TspError> {
    let response = TimeStampResp {
        status: PkiStatusInfo {
            status: 2,
            status_string: Some(vec![format!("{fail:?}")]),
            fail_info: Some(fail.to_bit_string()?),
        },
        time_stamp_token: None,
    };
    Ok(response.to_der()?)
}

/// A parsed `TimeStampResp`.
#[derive(Debug, Clone)]
pub struct TimeStampResponse {
    /// The raw response.
    pub response: TimeStampResp,
}

impl TimeStampResponse {
    /// Parses a DER `TimeStampResp` (at most [`crate::cms::MAX_MESSAGE_LEN`] bytes).
    pub fn from_der(der: &[u8]) -> Result<TimeStampResponse, TspError> {
        if der.len() > crate::cms::MAX_MESSAGE_LEN {
            return Err(TspError::TooLarge { len: der.len(), max: crate::cms::MAX_MESSAGE_LEN });
        }
        Ok(TimeStampResponse { response: TimeStampResp::from_der(der)? })
    }

    /// The token's DER, when granted; the refusal otherwise.
    pub fn token_der(&self) -> Result<Vec<u8>, TspError> {
        let status = &self.response.status;
        if status.status > 1 {
            return Err(TspError::Refused {
                status: status.status,
                fail_info: status.fail_info.as_ref().and_then(FailureInfo::from_bit_string),
            });
        }
        Ok(self.response.time_stamp_token.as_ref().ok_or(TspError::NoToken)?.to_der()?)
    }
}

/// A parsed time-stamp token, not yet verified.
#[derive(Debug, Clone)]
pub struct TimeStampToken {
    message: SignedMessage,
    tst_info: TstInfo,
}

impl TimeStampToken {
    /// Parses a DER token (`ContentInfo` / `SignedData` / `TSTInfo`) under the budgets of
    /// [`crate::cms`].
    pub fn from_der(der: &[u8]) -> Result<TimeStampToken, TspError> {
        let message = SignedMessage::from_der(der)?;
        if message.content_type() != ID_CT_TST_INFO {
            return Err(TspError::NotATimeStampToken(message.content_type()));
        }
        let content = message.attached_content().ok_or(TspError::NotATimeStampToken(ID_SIGNED_DATA))?;
        let tst_info = TstInfo::from_der(content)?;
        if tst_info.version != 1 {
            return Err(TspError::Version(tst_info.version));
        }
        Ok(TimeStampToken { message, tst_info })
    }

    /// The unverified `TSTInfo`.
    pub fn tst_info(&self) -> &TstInfo {
        &self.tst_info
    }

    /// The unverified `genTime`.
    pub fn gen_time(&self) -> OffsetDateTime {
        gen_time(&self.tst_info)
    }

    /// Verifies the token: it stamps `digest` under `algorithm` (and repeats `nonce` when one is
    /// given), its CMS signature holds, its signer is a time-stamping certificate (RFC 3161
    /// §2.3) named by `signingCertificateV2`, issued by `tsa_ca_der` and valid (as is the CA)
    /// at `genTime`.
    pub fn verify(
        &self,
        algorithm: DigestAlgorithm,
        digest: &[u8],
        nonce: Option<u64>,
        tsa_ca_der: &[u8],
    ) -> Result<VerifiedTimeStamp, TspError> {
        if !self.tst_info.message_imprint.matches(algorithm, digest) {
            return Err(TspError::ImprintMismatch);
        }
        if let Some(n) = nonce {
            let want = positive_int_bytes(&n.to_be_bytes());
            if self.tst_info.nonce.as_ref().map(|i| i.as_bytes()) != Some(want.as_slice()) {
                return Err(TspError::NonceMismatch);
            }
        }
        let signature = self.message.verify(None)?;
        let tsa_der = signature.signer_certificate_der();
        let tsa = Certificate::from_der(tsa_der)?;
        check_tsa_certificate(&tsa)?;

        // signingCertificateV2 must name this certificate.
        let signer_info =
            self.message.signed_data().signer_infos.0.as_slice().first().ok_or(TspError::SigningCertificate)?;
        let attrs = signer_info.signed_attrs.as_ref().ok_or(TspError::SigningCertificate)?;
        let value =
            crate::cms::attribute_value(attrs, ID_AA_SIGNING_CERTIFICATE_V_2)?.ok_or(TspError::SigningCertificate)?;
        let ess: SigningCertificateV2 = value.decode_as().map_err(|_| TspError::SigningCertificate)?;
        let first = ess.certs.first().ok_or(TspError::SigningCertificate)?;
        let hash = match &first.hash_algorithm {
            None => DigestAlgorithm::Sha256,
            Some(a) => DigestAlgorithm::from_oid(a.oid).ok_or(TspError::SigningCertificate)?,
        };
        if first.cert_hash.as_bytes() != hash.digest(tsa_der).as_slice() {
            return Err(TspError::SigningCertificate);
        }
        if let Some(issuer_serial) = &first.issuer_serial {
            let names_issuer = issuer_serial.issuer.iter().any(|n| match n {
                GeneralName::DirectoryName(name) => *name == tsa.tbs_certificate.issuer,
                _ => false,
            });
            if !names_issuer || issuer_serial.serial_number != tsa.tbs_certificate.serial_number {
                return Err(TspError::SigningCertificate);
            }
        }

        // Issued by the CA, valid at genTime.
        let ca = Certificate::from_der(tsa_ca_der)?;
        if tsa.tbs_certificate.issuer != ca.tbs_certificate.subject {
            return Err(TspError::UntrustedTsa);
        }
        let algorithm = SignatureAlgorithm::from_oid(tsa.signature_algorithm.oid).ok_or(TspError::UntrustedTsa)?;
        let ca_key =
            RsaPublicKey::from_spki(&ca.tbs_certificate.subject_public_key_info).map_err(|_| TspError::UntrustedTsa)?;
        let tbs = tsa.tbs_certificate.to_der()?;
        let sig = tsa.signature.as_bytes().ok_or(TspError::UntrustedTsa)?;
        ca_key.verify(algorithm, &tbs, sig).map_err(|_| TspError::UntrustedTsa)?;
        let at = self.gen_time();
        for validity in [&tsa.tbs_certificate.validity, &ca.tbs_certificate.validity] {
            if at < crate::from_x509_time(&validity.not_before) || at > crate::from_x509_time(&validity.not_after) {
                return Err(TspError::OutsideValidity { at });
            }
        }
        Ok(VerifiedTimeStamp {
            gen_time: at,
            serial: Serial::from_bytes(self.tst_info.serial_number.as_bytes()),
            policy: self.tst_info.policy,
            tsa_certificate_der: tsa_der.to_vec(),
        })
    }
}

fn gen_time(tst: &TstInfo) -> OffsetDateTime {
    let secs = tst.gen_time.to_unix_duration().as_secs();
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A token that [`TimeStampToken::verify`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimeStamp {
    gen_time: OffsetDateTime,
    serial: Serial,
    policy: ObjectIdentifier,
    tsa_certificate_der: Vec<u8>,
}

impl VerifiedTimeStamp {
    /// When the TSA says the imprint existed.
    pub fn gen_time(&self) -> OffsetDateTime {
        self.gen_time
    }
    /// The token's serial number.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }
    /// The TSA policy.
    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }
    /// The TSA certificate that signed it.
    pub fn tsa_certificate_der(&self) -> &[u8] {
        &self.tsa_certificate_der
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{testutil, CaKind, PolicySet, SoftwareKey};
    use rand_core::OsRng;
    use time::macros::datetime;

    struct Fixture {
        ca: CaGeneration<SoftwareKey>,
        tsa: TimeStampAuthority<SoftwareKey>,
    }

    fn fixture() -> Fixture {
        let ca = CaGeneration::create(
            CaKind::Signature,
            sandbox_tsa_naming(),
            PolicySet::sandbox(),
            SoftwareKey::generate_rsa2048().unwrap(),
            &Serial::random(&mut OsRng),
            datetime!(2025-01-01 00:00 UTC),
            datetime!(2035-01-01 00:00 UTC),
        )
        .unwrap();
        let tsa = issue_sandbox_tsa(
            &ca,
            SoftwareKey::generate_rsa2048().unwrap(),
            &Serial::random(&mut OsRng),
            "hanko sandbox TSA",
            datetime!(2025-06-01 00:00 UTC),
            datetime!(2030-01-01 00:00 UTC),
        )
        .unwrap();
        Fixture { ca, tsa }
    }

    #[test]
    fn a_token_verifies_against_its_imprint_and_ca() {
        let f = fixture();
        let digest = DigestAlgorithm::Sha256.digest(b"checkpoint");
        let req = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest, Some(0x8000_0000_0000_0001), true).unwrap();
        let resp = f.tsa.respond(&req.to_der().unwrap(), testutil::NOW, &Serial::from_u64(42)).unwrap();
        let token_der = TimeStampResponse::from_der(&resp).unwrap().token_der().unwrap();
        let token = TimeStampToken::from_der(&token_der).unwrap();
        let v = token
            .verify(DigestAlgorithm::Sha256, &digest, Some(0x8000_0000_0000_0001), f.ca.certificate_der())
            .unwrap();
        assert_eq!(v.gen_time(), testutil::NOW);
        assert_eq!(v.serial(), &Serial::from_u64(42));
        assert_eq!(v.policy(), SANDBOX_TSA_POLICY);
        assert_eq!(v.tsa_certificate_der(), f.tsa.certificate_der());

        let other = DigestAlgorithm::Sha256.digest(b"other");
        assert_eq!(
            token.verify(DigestAlgorithm::Sha256, &other, None, f.ca.certificate_der()),
            Err(TspError::ImprintMismatch)
        );
        assert_eq!(
            token.verify(DigestAlgorithm::Sha256, &digest, Some(7), f.ca.certificate_der()),
            Err(TspError::NonceMismatch)
        );
        let stranger = fixture();
        assert_eq!(
            token.verify(DigestAlgorithm::Sha256, &digest, None, stranger.ca.certificate_der()),
            Err(TspError::UntrustedTsa)
        );
        // Outside the TSA certificate's validity.
        let late = f
            .tsa
            .stamp(
                &MessageImprint::new(DigestAlgorithm::Sha256, &digest).unwrap(),
                None,
                true,
                datetime!(2031-01-01 00:00 UTC),
                &Serial::from_u64(1),
            )
            .unwrap();
        assert!(matches!(
            TimeStampToken::from_der(&late).unwrap().verify(
                DigestAlgorithm::Sha256,
                &digest,
                None,
                f.ca.certificate_der()
            ),
            Err(TspError::OutsideValidity { .. })
        ));
        // Without certReq the token carries no certificate and cannot be verified here.
        let bare = f
            .tsa
            .stamp(
                &MessageImprint::new(DigestAlgorithm::Sha256, &digest).unwrap(),
                None,
                false,
                testutil::NOW,
                &Serial::from_u64(2),
            )
            .unwrap();
        let bare = TimeStampToken::from_der(&bare).unwrap();
        assert_eq!(bare.message.certificates().count(), 0);
        assert!(bare.verify(DigestAlgorithm::Sha256, &digest, None, f.ca.certificate_der()).is_err());
    }

    #[test]
    fn the_tsa_certificate_has_a_critical_time_stamping_eku() {
        let f = fixture();
        let cert = Certificate::from_der(f.tsa.certificate_der()).unwrap();
        check_tsa_certificate(&cert).unwrap();
        let parsed = crate::JpkiCertificate::from_der(f.tsa.certificate_der()).unwrap();
        assert_eq!(parsed.kind(), crate::CertKind::TimeStamping);
        // A JPKI signature certificate is no TSA certificate.
        let ca = testutil::ca(CaKind::Signature);
        let (key, der) = testutil::signature_cert(&ca);
        assert_eq!(
            TimeStampAuthority::new(key, &der, SANDBOX_TSA_POLICY).unwrap_err(),
            TspError::NotTsaCertificate("no extendedKeyUsage")
        );
        let other = SoftwareKey::generate_rsa2048().unwrap();
        assert_eq!(
            TimeStampAuthority::new(other, f.tsa.certificate_der(), SANDBOX_TSA_POLICY).unwrap_err(),
            TspError::KeyMismatch
        );
    }

    #[test]
    fn bad_requests_are_rejected_with_their_reason() {
        let f = fixture();
        let refused = |der: &[u8]| {
            let resp = f.tsa.respond(der, testutil::NOW, &Serial::from_u64(1)).unwrap();
            TimeStampResponse::from_der(&resp).unwrap().token_der().unwrap_err()
        };
        let fail = |info| TspError::Refused { status: 2, fail_info: Some(info) };
        assert_eq!(refused(b"garbage"), fail(FailureInfo::BadDataFormat));
        let digest = DigestAlgorithm::Sha256.digest(b"x");
        let mut req = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest, None, true).unwrap();
        req.0.message_imprint.hash_algorithm.oid = crate::oid::SHA1;
        assert_eq!(refused(&req.to_der().unwrap()), fail(FailureInfo::BadAlg));
        let mut req = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest, None, true).unwrap();
        req.0.message_imprint.hashed_message = OctetString::new([1u8; 5]).unwrap();
        assert_eq!(refused(&req.to_der().unwrap()), fail(FailureInfo::BadDataFormat));
        let mut req = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest, None, true).unwrap();
        req.0.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4.5"));
        assert_eq!(refused(&req.to_der().unwrap()), fail(FailureInfo::UnacceptedPolicy));
        let mut req = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest, None, true).unwrap();
        req.0.version = 2;
        assert_eq!(refused(&req.to_der().unwrap()), fail(FailureInfo::BadDataFormat));
        assert!(matches!(
            MessageImprint::new(DigestAlgorithm::Sha384, &digest),
            Err(TspError::DigestLength { expected: 48, found: 32 })
        ));
        // Bit-string encodings of the failure bits.
        for info in [
            FailureInfo::BadAlg,
            FailureInfo::BadRequest,
            FailureInfo::UnacceptedPolicy,
            FailureInfo::UnacceptedExtension,
        ] {
            assert_eq!(FailureInfo::from_bit_string(&info.to_bit_string().unwrap()), Some(info));
        }
    }

    #[test]
    fn every_corrupted_byte_fails_to_parse_or_to_verify() {
        let f = fixture();
        let digest = DigestAlgorithm::Sha256.digest(b"checkpoint");
        let token = f
            .tsa
            .stamp(
                &MessageImprint::new(DigestAlgorithm::Sha256, &digest).unwrap(),
                None,
                true,
                testutil::NOW,
                &Serial::from_u64(9),
            )
            .unwrap();
        let ca = f.ca.certificate_der();
        let good =
            TimeStampToken::from_der(&token).unwrap().verify(DigestAlgorithm::Sha256, &digest, None, ca).unwrap();
        for i in 0..token.len() {
            let mut bad = token.clone();
            bad[i] ^= 0x01;
            // Unsigned fields (versions, the unsigned certificate set's order …) may change
            // without effect; what a verified token says never changes.
            if let Ok(Ok(v)) =
                TimeStampToken::from_der(&bad).map(|t| t.verify(DigestAlgorithm::Sha256, &digest, None, ca))
            {
                assert_eq!(v, good, "byte {i} flipped changed what the token says");
            }
        }
    }
}
