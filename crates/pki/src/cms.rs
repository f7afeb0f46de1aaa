//! CMS `SignedData` (RFC 5652): signing and signature verification, detached and attached.
//!
//! One of the signature formats a JPKI verifier meets (shared/spec/20-pki.md §5, item 2). The
//! encoding goes through the `cms`, `der` and `x509-cert` types; nothing here writes DER by hand.
//!
//! ```text
//! ContentInfo ::= SEQUENCE {                                  -- RFC 5652 §3
//!     contentType ContentType,                                -- id-signedData
//!     content [0] EXPLICIT ANY DEFINED BY contentType }
//!
//! SignedData ::= SEQUENCE {                                   -- RFC 5652 §5.1
//!     version CMSVersion,
//!     digestAlgorithms DigestAlgorithmIdentifiers,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SignerInfos }
//! ```
//!
//! * [`sign`] produces what `openssl cms -sign -binary` produces: `SignedData` v1, one
//!   `SignerInfo` v1 identified by `IssuerAndSerialNumber`, signed attributes `contentType`
//!   (`id-data`), `messageDigest` and optionally `signingTime`, signature algorithm
//!   `rsaEncryption`. The key is only ever reached through [`Signer::sign_digest`], so a JPKI
//!   card (which signs a `DigestInfo`) can be the signer.
//! * [`signed_attributes`] and [`assemble`] split [`sign`] in two for a signer that answers
//!   later (a card behind the authentication app): the attributes whose hash is signed, then the
//!   same message around the signature that came back.
//! * [`SignedMessage::from_der`] parses hostile bytes under budgets ([`MAX_MESSAGE_LEN`],
//!   [`MAX_SIGNERS`], [`MAX_CERTIFICATES`], [`MAX_SET_ELEMENTS`], [`MAX_DEPTH`]);
//!   [`SignedMessage::verify`] checks the one signer's signature and returns a
//!   [`CmsSignature`].
//!
//! **Not checked here:** whether the signer certificate is trusted — its chain to a JPKI CA,
//! validity at the signing time, keyUsage, policy and revocation. [`CmsSignature`] only proves
//! that the private key of [`CmsSignature::signer_certificate_der`] signed the content; the
//! verifier must validate that certificate before believing anything about the signer.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, OctetString, SetOfVec};
use der::{Any, Decode, DecodeOwned, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;
use x509_cert::Certificate;

use crate::{
    from_x509_time, oid, x509_time, DigestAlgorithm, DigestInfo, KeyError, RsaPublicKey, SignatureAlgorithm, Signer,
    SignerError,
};

/// Largest DER message [`SignedMessage::from_der`] reads (16 MiB, attached content included);
/// [`sign`] refuses to produce a bigger one.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;
/// Most `SignerInfo`s a message may carry.
pub const MAX_SIGNERS: usize = 4;
/// Most certificates a message may carry (the signer's included).
pub const MAX_CERTIFICATES: usize = 16;
/// Most elements in any other `SET OF` in the message (attributes, attribute values, RDNs …).
///
/// The `der` crate sorts a `SET OF` while decoding it (insertion sort), so the element count is
/// bounded before the typed decoder runs.
pub const MAX_SET_ELEMENTS: usize = 64;
/// Deepest nesting of constructed values accepted.
pub const MAX_DEPTH: usize = 32;

/// Where the signed content travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encapsulation {
    /// `eContent` absent: the verifier supplies the content separately (`openssl cms -sign`
    /// default).
    Detached,
    /// `eContent` carries the content (`openssl cms -sign -nodetach`).
    Attached,
}

/// Why a CMS message could not be produced, parsed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmsError {
    // --- caller misuse (sign) ---
    /// [`sign`], [`assemble`]: the signer certificate is not a DER X.509 certificate.
    #[error("signer certificate is not a DER certificate: {0}")]
    SignerCertificateDer(der::Error),
    /// [`sign`], [`assemble`]: an extra certificate is not a DER X.509 certificate.
    #[error("extra certificate #{index} is not a DER certificate: {error}")]
    ExtraCertificateDer {
        /// Its position in `extra_certificates`.
        index: usize,
        /// The decoding error.
        error: der::Error,
    },
    /// [`sign`]: the signer certificate does not certify the signer's public key.
    #[error("the signer certificate does not belong to the signing key")]
    KeyMismatch,
    /// [`sign`], [`signed_attributes`], [`assemble`]: the signing time cannot be encoded (before
    /// 1970 or after 9999).
    #[error("signing time {0} cannot be encoded")]
    SigningTimeOutOfRange(OffsetDateTime),
    /// [`sign`]: the signer failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// [`sign`]: the signer returned a signature that does not verify under the certificate's
    /// key (a faulty card or HSM); [`assemble`]: the signature given does not verify over the
    /// signed attributes under the certificate's key. Nothing was emitted.
    #[error("the signer produced a signature that does not verify")]
    SignerFault,

    // --- hostile or malformed input ---
    /// The message exceeds [`MAX_MESSAGE_LEN`] (or [`sign`] would produce such a message).
    #[error("CMS message of {len} bytes exceeds the {max}-byte budget")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// Not DER, or not the RFC 5652 structure.
    #[error("CMS DER: {0}")]
    Der(#[from] der::Error),
    /// A structural budget ([`MAX_SET_ELEMENTS`], [`MAX_DEPTH`]) was exceeded.
    #[error("CMS message too complex: more than {max} {what}")]
    TooComplex {
        /// What was counted.
        what: &'static str,
        /// The budget.
        max: usize,
    },
    /// `ContentInfo.contentType` is not `id-signedData`.
    #[error("content type {0} is not id-signedData")]
    NotSignedData(ObjectIdentifier),
    /// More `SignerInfo`s than [`MAX_SIGNERS`].
    #[error("{count} signers, at most {max} accepted")]
    TooManySigners {
        /// How many the message has.
        count: usize,
        /// The budget.
        max: usize,
    },
    /// More certificates than [`MAX_CERTIFICATES`].
    #[error("{count} certificates, at most {max} accepted")]
    TooManyCertificates {
        /// How many.
        count: usize,
        /// The budget.
        max: usize,
    },
    /// `eContent` is present but not an OCTET STRING.
    #[error("eContent is {0}, not an OCTET STRING")]
    EContentNotOctetString(Tag),
    /// [`SignedMessage::verify`]: the message has no `SignerInfo`.
    #[error("the message has no signer")]
    NoSigner,
    /// [`SignedMessage::verify`]: the message has several signers (use
    /// [`SignedMessage::verify_all`]).
    #[error("the message has {count} signers, exactly one expected")]
    SeveralSigners {
        /// How many.
        count: usize,
    },
    /// Neither attached content nor detached content to verify against.
    #[error("no content: the message is detached and no content was supplied")]
    NoContent,
    /// The message carries its content and a detached content was supplied too.
    #[error("content supplied twice: the message is attached and a detached content was given")]
    ContentTwice,
    /// The signer's digest algorithm is not SHA-256/384/512.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedDigest(ObjectIdentifier),
    /// Digest algorithm parameters other than absent or NULL.
    #[error("digest algorithm {0} has parameters other than absent or NULL")]
    DigestParameters(ObjectIdentifier),
    /// The signer's digest algorithm is not listed in `SignedData.digestAlgorithms`.
    #[error("digest algorithm {0} is not listed in digestAlgorithms")]
    DigestNotListed(ObjectIdentifier),
    /// The signature algorithm is not RSASSA-PKCS1-v1_5 (`rsaEncryption` or `sha*WithRSA`).
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(ObjectIdentifier),
    /// A `sha*WithRSAEncryption` signature algorithm names another hash than the digest
    /// algorithm.
    #[error("signature algorithm {signature} does not match digest algorithm {}", .digest.name())]
    SignatureDigestMismatch {
        /// The signer's digest algorithm.
        digest: DigestAlgorithm,
        /// The signature algorithm OID.
        signature: ObjectIdentifier,
    },
    /// No certificate in the message matches the signer identifier.
    #[error("the signer certificate is not in the message")]
    SignerCertificateNotFound,
    /// Several different certificates match the signer identifier.
    #[error("{count} certificates match the signer identifier")]
    AmbiguousSignerCertificate {
        /// How many match.
        count: usize,
    },
    /// The signer certificate's key is unusable.
    #[error("signer certificate key: {0}")]
    Key(KeyError),
    /// A signed attribute RFC 5652 requires is missing.
    #[error("signed attribute {0} is missing")]
    MissingAttribute(ObjectIdentifier),
    /// A signed attribute that must occur once occurs several times (RFC 5652 §11).
    #[error("signed attribute {0} occurs more than once")]
    DuplicateAttribute(ObjectIdentifier),
    /// A signed attribute has not exactly one value, or a value of the wrong type.
    #[error("signed attribute {0} is malformed")]
    MalformedAttribute(ObjectIdentifier),
    /// The `contentType` attribute differs from `eContentType` (RFC 5652 §11.1).
    #[error("contentType attribute {attribute} differs from eContentType {econtent}")]
    ContentTypeMismatch {
        /// The signed `contentType` attribute.
        attribute: ObjectIdentifier,
        /// `encapContentInfo.eContentType`.
        econtent: ObjectIdentifier,
    },
    /// The `messageDigest` attribute is not the digest of the content (RFC 5652 §11.2).
    #[error("messageDigest attribute does not match the {} digest of the content", .algorithm.name())]
    MessageDigestMismatch {
        /// The digest algorithm.
        algorithm: DigestAlgorithm,
        /// The signed `messageDigest`.
        attribute: Vec<u8>,
        /// The digest of the content at hand.
        computed: Vec<u8>,
    },
    /// Without signed attributes the content type must be `id-data` (RFC 5652 §5.3).
    #[error("content type {0} requires signed attributes")]
    SignedAttributesRequired(ObjectIdentifier),
    /// The signature does not verify under the signer certificate's key.
    #[error("CMS signature does not verify")]
    SignatureInvalid,
}

/// Signs `content` as a CMS `ContentInfo` / `SignedData` and returns its DER.
///
/// ```text
/// SignerInfo ::= SEQUENCE {                                   -- RFC 5652 §5.3
///     version CMSVersion,                                     -- 1
///     sid SignerIdentifier,                                   -- issuerAndSerialNumber
///     digestAlgorithm DigestAlgorithmIdentifier,              -- id-sha*, parameters absent
///     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,     -- contentType, messageDigest,
///                                                             -- signingTime (if given)
///     signatureAlgorithm SignatureAlgorithmIdentifier,        -- rsaEncryption, NULL
///     signature SignatureValue,
///     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
/// ```
///
/// The signature is PKCS#1 v1.5 over the DER of `signedAttrs` re-tagged as `SET OF`
/// (RFC 5652 §5.4), requested from `signer` with [`Signer::sign_digest`]: only the hash leaves
/// this function, so a smart card that signs a `DigestInfo` can sign. The signature is checked
/// against the certificate's key before anything is returned.
///
/// `certificates` holds the signer certificate and `extra_certificates` (e.g. the CA),
/// duplicates dropped, in DER `SET OF` order; at most [`MAX_CERTIFICATES`] in all. `signing_time` is the signer's claim of when it signed; the caller
/// supplies it (this crate reads no clock).
pub fn sign(
    signer: &impl Signer,
    signer_certificate_der: &[u8],
    content: &[u8],
    mode: Encapsulation,
    digest: DigestAlgorithm,
    signing_time: Option<OffsetDateTime>,
    extra_certificates: &[&[u8]],
) -> Result<Vec<u8>, CmsError> {
    let content =
        TypedContent { content_type: ID_DATA, content, extra_attributes: Vec::new(), include_certificates: true };
    sign_typed(signer, signer_certificate_der, content, mode, digest, signing_time, extra_certificates)
}

/// Content of another type than `id-data`, with signed attributes beyond the standard three
/// (an RFC 3161 `TSTInfo` and its `signingCertificateV2`).
pub(crate) struct TypedContent<'a> {
    pub(crate) content_type: ObjectIdentifier,
    pub(crate) content: &'a [u8],
    pub(crate) extra_attributes: Vec<Attribute>,
    /// `false` leaves `certificates` out (an RFC 3161 request without `certReq`).
    pub(crate) include_certificates: bool,
}

/// [`sign`] for any content type: `SignedData` v3 when it is not `id-data` (RFC 5652 §5.1).
pub(crate) fn sign_typed(
    signer: &impl Signer,
    signer_certificate_der: &[u8],
    typed: TypedContent<'_>,
    mode: Encapsulation,
    digest: DigestAlgorithm,
    signing_time: Option<OffsetDateTime>,
    extra_certificates: &[&[u8]],
) -> Result<Vec<u8>, CmsError> {
    let unsigned = Unsigned::new(signer_certificate_der, typed, digest, signing_time, extra_certificates)?;
    if unsigned.signer_certificate.tbs_certificate.subject_public_key_info != *signer.public_key() {
        return Err(CmsError::KeyMismatch);
    }
    let signature =
        signer.sign_digest(SignatureAlgorithm::for_digest(digest), &digest.digest(&unsigned.to_be_signed))?;
    unsigned.finish(signature, mode)
}

/// The DER of the signed attributes [`sign`] puts over `content` — `contentType` (`id-data`),
/// `messageDigest` and, when given, `signingTime` — with the `SET OF` tag: the bytes whose hash
/// the signer signs (RFC 5652 §5.4).
///
/// For a signer that answers later (a JPKI card through the authentication app): have it sign
/// `digest.digest(&signed_attributes(..))` (as a `DigestInfo`), then [`assemble`] the message
/// with the same `content`, `digest` and `signing_time`.
pub fn signed_attributes(
    content: &[u8],
    digest: DigestAlgorithm,
    signing_time: Option<OffsetDateTime>,
) -> Result<Vec<u8>, CmsError> {
    Ok(build_signed_attributes(ID_DATA, content, digest, signing_time, Vec::new())?.to_der()?)
}

/// Assembles what [`sign`] produces from a `signature` made elsewhere over the hash of
/// [`signed_attributes`]`(content, digest, signing_time)`: PKCS#1 v1.5 by the key of
/// `signer_certificate_der`. The signature is checked against the certificate's key before
/// anything is returned ([`CmsError::SignerFault`]: a signature over other attributes, by
/// another key, or garbage).
pub fn assemble(
    signer_certificate_der: &[u8],
    content: &[u8],
    mode: Encapsulation,
    digest: DigestAlgorithm,
    signing_time: Option<OffsetDateTime>,
    signature: &[u8],
    extra_certificates: &[&[u8]],
) -> Result<Vec<u8>, CmsError> {
    let typed =
        TypedContent { content_type: ID_DATA, content, extra_attributes: Vec::new(), include_certificates: true };
    Unsigned::new(signer_certificate_der, typed, digest, signing_time, extra_certificates)?
        .finish(signature.to_vec(), mode)
}

/// RFC 5652 §11: `contentType`, `messageDigest`, `signingTime` (when given), then `extra`.
fn build_signed_attributes(
    content_type: ObjectIdentifier,
    content: &[u8],
    digest: DigestAlgorithm,
    signing_time: Option<OffsetDateTime>,
    extra: Vec<Attribute>,
) -> Result<SignedAttributes, CmsError> {
    let mut attributes = vec![
        single_valued(ID_CONTENT_TYPE, Any::encode_from(&content_type)?)?,
        single_valued(ID_MESSAGE_DIGEST, Any::new(Tag::OctetString, digest.digest(content))?)?,
    ];
    if let Some(at) = signing_time {
        let time = x509_time(at).map_err(|_| CmsError::SigningTimeOutOfRange(at))?;
        attributes.push(single_valued(ID_SIGNING_TIME, Any::from_der(&time.to_der()?)?)?);
    }
    attributes.extend(extra);
    Ok(SetOfVec::try_from(attributes)?)
}

/// A message ready for its signature: everything [`sign`] and [`assemble`] share.
struct Unsigned<'a> {
    signer_certificate: Certificate,
    public_key: RsaPublicKey,
    certificates: Vec<Certificate>,
    signed_attrs: SignedAttributes,
    /// The DER of `signed_attrs` (RFC 5652 §5.4: the signature covers it with the SET OF tag).
    to_be_signed: Vec<u8>,
    content_type: ObjectIdentifier,
    content: &'a [u8],
    digest: DigestAlgorithm,
    include_certificates: bool,
}

impl<'a> Unsigned<'a> {
    fn new(
        signer_certificate_der: &[u8],
        typed: TypedContent<'a>,
        digest: DigestAlgorithm,
        signing_time: Option<OffsetDateTime>,
        extra_certificates: &[&[u8]],
    ) -> Result<Unsigned<'a>, CmsError> {
        let TypedContent { content_type, content, extra_attributes, include_certificates } = typed;
        let signer_certificate =
            Certificate::from_der(signer_certificate_der).map_err(CmsError::SignerCertificateDer)?;
        let public_key = RsaPublicKey::from_spki(&signer_certificate.tbs_certificate.subject_public_key_info)
            .map_err(CmsError::Key)?;
        let mut certificates = vec![signer_certificate.clone()];
        for (index, der) in extra_certificates.iter().enumerate() {
            let certificate =
                Certificate::from_der(der).map_err(|error| CmsError::ExtraCertificateDer { index, error })?;
            if !certificates.contains(&certificate) {
                certificates.push(certificate);
            }
        }
        if certificates.len() > MAX_CERTIFICATES {
            return Err(CmsError::TooManyCertificates { count: certificates.len(), max: MAX_CERTIFICATES });
        }
        let signed_attrs = build_signed_attributes(content_type, content, digest, signing_time, extra_attributes)?;
        let to_be_signed = signed_attrs.to_der()?;
        Ok(Unsigned {
            signer_certificate,
            public_key,
            certificates,
            signed_attrs,
            to_be_signed,
            content_type,
            content,
            digest,
            include_certificates,
        })
    }

    /// Checks `signature` against the signer certificate's key, then encodes the message.
    fn finish(self, signature: Vec<u8>, mode: Encapsulation) -> Result<Vec<u8>, CmsError> {
        let Unsigned {
            signer_certificate,
            public_key,
            certificates,
            signed_attrs,
            to_be_signed,
            content_type,
            content,
            digest,
            include_certificates,
        } = self;
        let tbs = &signer_certificate.tbs_certificate;
        let algorithm = SignatureAlgorithm::for_digest(digest);
        public_key.verify(algorithm, &to_be_signed, &signature).map_err(|_| CmsError::SignerFault)?;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });

        let digest_algorithm = AlgorithmIdentifierOwned { oid: digest.oid(), parameters: None };
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid,
            digest_alg: digest_algorithm.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned { oid: oid::RSA_ENCRYPTION, parameters: Some(Any::null()) },
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let econtent = match mode {
            Encapsulation::Attached => Some(Any::new(Tag::OctetString, content)?),
            Encapsulation::Detached => None,
        };
        let certificates = certificates.into_iter().map(CertificateChoices::Certificate).collect::<Vec<_>>();
        let signed_data = SignedData {
            version: if content_type == ID_DATA { CmsVersion::V1 } else { CmsVersion::V3 },
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm])?,
            encap_content_info: EncapsulatedContentInfo { econtent_type: content_type, econtent },
            certificates: if include_certificates { Some(CertificateSet::try_from(certificates)?) } else { None },
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info])?,
        };
        let der = ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? }.to_der()?;
        if der.len() > MAX_MESSAGE_LEN {
            return Err(CmsError::TooLarge { len: der.len(), max: MAX_MESSAGE_LEN });
        }
        Ok(der)
    }
}

pub(crate) fn single_valued(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

/// A parsed CMS `SignedData` message, not yet verified.
///
/// ```text
/// EncapsulatedContentInfo ::= SEQUENCE {                      -- RFC 5652 §5.2
///     eContentType ContentType,
///     eContent [0] EXPLICIT OCTET STRING OPTIONAL }
///
/// SignerIdentifier ::= CHOICE {                               -- RFC 5652 §5.3
///     issuerAndSerialNumber IssuerAndSerialNumber,
///     subjectKeyIdentifier [0] SubjectKeyIdentifier }
/// ```
#[derive(Debug, Clone)]
pub struct SignedMessage {
    signed_data: SignedData,
    /// The `Certificate` choices of `certificates`, with their DER.
    certificates: Vec<(Certificate, Vec<u8>)>,
}

impl SignedMessage {
    /// Parses a DER `ContentInfo` carrying `SignedData`, within the budgets of this module.
    pub fn from_der(bytes: &[u8]) -> Result<SignedMessage, CmsError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(CmsError::TooLarge { len: bytes.len(), max: MAX_MESSAGE_LEN });
        }
        prescan(bytes)?;
        let content_info = ContentInfo::from_der(bytes)?;
        if content_info.content_type != ID_SIGNED_DATA {
            return Err(CmsError::NotSignedData(content_info.content_type));
        }
        let signed_data: SignedData = content_info.content.decode_as()?;
        let signers = signed_data.signer_infos.0.len();
        if signers > MAX_SIGNERS {
            return Err(CmsError::TooManySigners { count: signers, max: MAX_SIGNERS });
        }
        let choices = signed_data.certificates.as_ref().map_or(0, |set| set.0.len());
        if choices > MAX_CERTIFICATES {
            return Err(CmsError::TooManyCertificates { count: choices, max: MAX_CERTIFICATES });
        }
        if let Some(econtent) = &signed_data.encap_content_info.econtent {
            if econtent.tag() != Tag::OctetString {
                return Err(CmsError::EContentNotOctetString(econtent.tag()));
            }
        }
        let mut certificates = Vec::with_capacity(choices);
        for choice in signed_data.certificates.iter().flat_map(|set| set.0.iter()) {
            if let CertificateChoices::Certificate(certificate) = choice {
                certificates.push((certificate.clone(), certificate.to_der()?));
            }
        }
        Ok(SignedMessage { signed_data, certificates })
    }

    /// The decoded `SignedData`.
    pub fn signed_data(&self) -> &SignedData {
        &self.signed_data
    }

    /// `encapContentInfo.eContentType`.
    pub fn content_type(&self) -> ObjectIdentifier {
        self.signed_data.encap_content_info.econtent_type
    }

    /// The encapsulated content, when the message is attached (`eContent` present).
    pub fn attached_content(&self) -> Option<&[u8]> {
        self.signed_data.encap_content_info.econtent.as_ref().map(|any| any.value())
    }

    /// How many `SignerInfo`s the message has.
    pub fn signer_count(&self) -> usize {
        self.signed_data.signer_infos.0.len()
    }

    /// The DER of every X.509 certificate in `certificates` (for path building).
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.certificates.iter().map(|(_, der)| der.as_slice())
    }

    /// Verifies the message's single signer over the attached content or `detached_content`.
    ///
    /// Exactly one signer is required (JPKI documents carry one); a message with several is
    /// [`CmsError::SeveralSigners`] — use [`SignedMessage::verify_all`] for those. The content
    /// must come from exactly one place: attached in the message or supplied as
    /// `detached_content`.
    ///
    /// Checks, per RFC 5652 §5.4 and §11: the digest algorithm is SHA-256/384/512 and listed in
    /// `digestAlgorithms`; the signature algorithm is `rsaEncryption` or the matching
    /// `sha*WithRSAEncryption`; the signer certificate is found in `certificates` by
    /// `IssuerAndSerialNumber` or `SubjectKeyIdentifier`; with signed attributes,
    /// `contentType` equals `eContentType`, `messageDigest` equals the content's digest, and the
    /// signature verifies over the DER `SET OF` of the signed attributes; without them, the
    /// content type is `id-data` and the signature verifies over the content itself.
    ///
    /// The signer certificate itself is **not** validated (chain, validity, keyUsage,
    /// revocation): that is the caller's job, with [`CmsSignature::signer_certificate_der`].
    pub fn verify(&self, detached_content: Option<&[u8]>) -> Result<CmsSignature, CmsError> {
        match self.signed_data.signer_infos.0.as_slice() {
            [] => Err(CmsError::NoSigner),
            [signer_info] => self.verify_signer(signer_info, detached_content),
            several => Err(CmsError::SeveralSigners { count: several.len() }),
        }
    }

    /// Verifies every signer as [`SignedMessage::verify`] does; all must verify.
    pub fn verify_all(&self, detached_content: Option<&[u8]>) -> Result<Vec<CmsSignature>, CmsError> {
        if self.signed_data.signer_infos.0.is_empty() {
            return Err(CmsError::NoSigner);
        }
        self.signed_data.signer_infos.0.iter().map(|si| self.verify_signer(si, detached_content)).collect()
    }

    fn verify_signer(
        &self,
        signer_info: &SignerInfo,
        detached_content: Option<&[u8]>,
    ) -> Result<CmsSignature, CmsError> {
        let attached = self.attached_content();
        let content = match (attached, detached_content) {
            (Some(_), Some(_)) => return Err(CmsError::ContentTwice),
            (None, None) => return Err(CmsError::NoContent),
            (Some(content), None) | (None, Some(content)) => content,
        };

        let digest_oid = signer_info.digest_alg.oid;
        let digest = DigestAlgorithm::from_oid(digest_oid).ok_or(CmsError::UnsupportedDigest(digest_oid))?;
        if !null_or_absent(&signer_info.digest_alg) {
            return Err(CmsError::DigestParameters(digest_oid));
        }
        if !self.signed_data.digest_algorithms.iter().any(|a| a.oid == digest_oid) {
            return Err(CmsError::DigestNotListed(digest_oid));
        }
        let algorithm = signature_algorithm(&signer_info.signature_algorithm, digest)?;
        let (certificate, certificate_der) = self.signer_certificate(&signer_info.sid)?;
        let public_key =
            RsaPublicKey::from_spki(&certificate.tbs_certificate.subject_public_key_info).map_err(CmsError::Key)?;

        let content_type = self.content_type();
        let content_digest = DigestInfo::of(digest, content);
        let signature = signer_info.signature.as_bytes();
        let signing_time = match &signer_info.signed_attrs {
            Some(attrs) => {
                let attribute =
                    attribute_value(attrs, ID_CONTENT_TYPE)?.ok_or(CmsError::MissingAttribute(ID_CONTENT_TYPE))?;
                let attribute: ObjectIdentifier = decode_any(attribute, ID_CONTENT_TYPE)?;
                if attribute != content_type {
                    return Err(CmsError::ContentTypeMismatch { attribute, econtent: content_type });
                }
                let md =
                    attribute_value(attrs, ID_MESSAGE_DIGEST)?.ok_or(CmsError::MissingAttribute(ID_MESSAGE_DIGEST))?;
                let md: OctetString = decode_any(md, ID_MESSAGE_DIGEST)?;
                if md.as_bytes() != content_digest.digest.as_slice() {
                    return Err(CmsError::MessageDigestMismatch {
                        algorithm: digest,
                        attribute: md.as_bytes().to_vec(),
                        computed: content_digest.digest,
                    });
                }
                let signing_time = match attribute_value(attrs, ID_SIGNING_TIME)? {
                    Some(value) => Some(from_x509_time(&decode_any::<Time>(value, ID_SIGNING_TIME)?)),
                    None => None,
                };
                // RFC 5652 §5.4: the DER of the attributes under the universal SET OF tag, not [0] IMPLICIT.
                let signed = attrs.to_der()?;
                public_key.verify(algorithm, &signed, signature).map_err(|_| CmsError::SignatureInvalid)?;
                signing_time
            }
            None => {
                if content_type != ID_DATA {
                    return Err(CmsError::SignedAttributesRequired(content_type));
                }
                public_key
                    .verify_digest(algorithm, &content_digest.digest, signature)
                    .map_err(|_| CmsError::SignatureInvalid)?;
                None
            }
        };

        Ok(CmsSignature {
            signer_certificate_der: certificate_der.to_vec(),
            digest_algorithm: digest,
            signature_algorithm: algorithm,
            content_type,
            content_digest,
            signing_time,
            content: attached.map(<[u8]>::to_vec),
            signature: signature.to_vec(),
            signed_attributes: signer_info.signed_attrs.is_some(),
        })
    }

    /// The DER certificate the one signer's identifier names, found without verifying anything
    /// (to ask about its revocation before verifying); `None` with no signer, several signers,
    /// or no single matching certificate.
    pub fn signer_certificate_der(&self) -> Option<&[u8]> {
        let [signer_info] = self.signed_data.signer_infos.0.as_slice() else { return None };
        self.signer_certificate(&signer_info.sid).ok().map(|(_, der)| der)
    }

    /// The one certificate the signer identifier names.
    fn signer_certificate(&self, sid: &SignerIdentifier) -> Result<(&Certificate, &[u8]), CmsError> {
        let matches = |certificate: &Certificate| match sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => {
                certificate.tbs_certificate.issuer == id.issuer
                    && certificate.tbs_certificate.serial_number == id.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(id) => subject_key_identifier(certificate).as_ref() == Some(id),
        };
        let mut found = self.certificates.iter().filter(|(c, _)| matches(c));
        match (found.next(), found.count()) {
            (None, _) => Err(CmsError::SignerCertificateNotFound),
            (Some((certificate, der)), 0) => Ok((certificate, der)),
            (Some(_), more) => Err(CmsError::AmbiguousSignerCertificate { count: more.saturating_add(1) }),
        }
    }
}

/// A CMS signature that verifies under the key of [`CmsSignature::signer_certificate_der`].
///
/// Only [`SignedMessage::verify`] makes one. It does **not** say that the certificate is
/// trusted, valid or unrevoked: validate the certificate (chain to a JPKI CA, validity at the
/// signing time, keyUsage nonRepudiation, policy, revocation — shared/spec/20-pki.md §5) before
/// relying on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmsSignature {
    signer_certificate_der: Vec<u8>,
    digest_algorithm: DigestAlgorithm,
    signature_algorithm: SignatureAlgorithm,
    content_type: ObjectIdentifier,
    content_digest: DigestInfo,
    signing_time: Option<OffsetDateTime>,
    content: Option<Vec<u8>>,
    signature: Vec<u8>,
    signed_attributes: bool,
}

impl CmsSignature {
    /// The DER certificate whose key verified the signature (not yet validated).
    pub fn signer_certificate_der(&self) -> &[u8] {
        &self.signer_certificate_der
    }

    /// The signer's digest algorithm.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// The RSASSA-PKCS1-v1_5 algorithm the signature verified with.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// `eContentType` (`id-data` for plain documents).
    pub fn content_type(&self) -> ObjectIdentifier {
        self.content_type
    }

    /// The digest of the signed content (evidence: "signed data hash").
    pub fn content_digest(&self) -> &[u8] {
        &self.content_digest.digest
    }

    /// The digest of the signed content as a `DigestInfo`.
    pub fn content_digest_info(&self) -> &DigestInfo {
        &self.content_digest
    }

    /// The signed `signingTime` attribute, if any: the signer's claim, not a trusted time.
    pub fn signing_time(&self) -> Option<OffsetDateTime> {
        self.signing_time
    }

    /// The encapsulated content, when the message was attached.
    pub fn content(&self) -> Option<&[u8]> {
        self.content.as_deref()
    }

    /// The raw signature value.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Whether the signature covered signed attributes (else it covered the content itself).
    pub fn has_signed_attributes(&self) -> bool {
        self.signed_attributes
    }
}

/// `rsaEncryption` (the hash is the digest algorithm's, RFC 3370 §3.2) or the
/// `sha*WithRSAEncryption` matching it (RFC 5754 §3.2); parameters NULL or absent.
fn signature_algorithm(id: &AlgorithmIdentifierOwned, digest: DigestAlgorithm) -> Result<SignatureAlgorithm, CmsError> {
    if id.oid != oid::RSA_ENCRYPTION {
        let named = SignatureAlgorithm::from_oid(id.oid).ok_or(CmsError::UnsupportedSignatureAlgorithm(id.oid))?;
        if named.digest() != digest {
            return Err(CmsError::SignatureDigestMismatch { digest, signature: id.oid });
        }
    }
    if !null_or_absent(id) {
        return Err(CmsError::UnsupportedSignatureAlgorithm(id.oid));
    }
    Ok(SignatureAlgorithm::for_digest(digest))
}

fn null_or_absent(id: &AlgorithmIdentifierOwned) -> bool {
    id.parameters.as_ref().is_none_or(Any::is_null)
}

/// The single value of the attribute `oid`, if present (RFC 5652 §11: one instance, one value).
pub(crate) fn attribute_value(attrs: &SignedAttributes, oid: ObjectIdentifier) -> Result<Option<&Any>, CmsError> {
    let mut found = None;
    for attribute in attrs.iter().filter(|a| a.oid == oid) {
        if found.is_some() {
            return Err(CmsError::DuplicateAttribute(oid));
        }
        match attribute.values.as_slice() {
            [value] => found = Some(value),
            _ => return Err(CmsError::MalformedAttribute(oid)),
        }
    }
    Ok(found)
}

fn decode_any<T: DecodeOwned>(value: &Any, oid: ObjectIdentifier) -> Result<T, CmsError> {
    let der = value.to_der().map_err(|_| CmsError::MalformedAttribute(oid))?;
    T::from_der(&der).map_err(|_| CmsError::MalformedAttribute(oid))
}

/// The certificate's subjectKeyIdentifier extension, if present and well formed.
fn subject_key_identifier(certificate: &Certificate) -> Option<SubjectKeyIdentifier> {
    let extensions = certificate.tbs_certificate.extensions.as_ref()?;
    let extension = extensions.iter().find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    SubjectKeyIdentifier::from_der(extension.extn_value.as_bytes()).ok()
}

// --- budgets, checked on the raw TLV tree before the typed decoder runs ---

const CERTIFICATES_TAG: Tag = Tag::ContextSpecific { constructed: true, number: TagNumber::N0 };

/// Counts signers and certificates where `SignedData` keeps them, then bounds every `SET OF`
/// and the nesting depth — all in one linear pass that sorts nothing.
fn prescan(bytes: &[u8]) -> Result<(), CmsError> {
    let root = AnyRef::from_der(bytes)?;
    // ContentInfo { contentType, [0] { SignedData } }
    if let Some(signed_data) = nth_child(root, 1)?.map(|explicit| nth_child(explicit, 0)).transpose()?.flatten() {
        if signed_data.tag() == Tag::Sequence {
            let mut last = None;
            for_each_child(signed_data, |_, field| {
                if field.tag() == CERTIFICATES_TAG {
                    let count = for_each_child(field, |_, _| Ok(()))?;
                    if count > MAX_CERTIFICATES {
                        return Err(CmsError::TooManyCertificates { count, max: MAX_CERTIFICATES });
                    }
                }
                last = Some(field);
                Ok(())
            })?;
            // signerInfos SET OF SignerInfo is the last field.
            if let Some(signer_infos) = last.filter(|f| f.tag() == Tag::Set) {
                let count = for_each_child(signer_infos, |_, _| Ok(()))?;
                if count > MAX_SIGNERS {
                    return Err(CmsError::TooManySigners { count, max: MAX_SIGNERS });
                }
            }
        }
    }
    walk(root, 0)
}

fn walk(node: AnyRef<'_>, depth: usize) -> Result<(), CmsError> {
    let tag = node.tag();
    if !tag.is_constructed() {
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Err(CmsError::TooComplex { what: "levels of nesting", max: MAX_DEPTH });
    }
    // SET OF, and the IMPLICIT [n] sets of CMS (certificates, crls, signed/unsigned attributes).
    let set = tag == Tag::Set || tag.is_context_specific();
    for_each_child(node, |index, child| {
        if set && index >= MAX_SET_ELEMENTS {
            return Err(CmsError::TooComplex { what: "elements in one SET", max: MAX_SET_ELEMENTS });
        }
        walk(child, depth.saturating_add(1))
    })?;
    Ok(())
}

fn nth_child(node: AnyRef<'_>, n: usize) -> Result<Option<AnyRef<'_>>, CmsError> {
    if !node.tag().is_constructed() {
        return Ok(None);
    }
    let mut found = None;
    for_each_child(node, |index, child| {
        if index == n {
            found = Some(child);
        }
        Ok(())
    })?;
    Ok(found)
}

/// Calls `f` on each TLV inside a constructed value; returns how many there were.
fn for_each_child<'a>(
    node: AnyRef<'a>,
    mut f: impl FnMut(usize, AnyRef<'a>) -> Result<(), CmsError>,
) -> Result<usize, CmsError> {
    let mut reader = SliceReader::new(node.value())?;
    let mut count = 0usize;
    while !reader.is_finished() {
        f(count, AnyRef::decode(&mut reader)?)?;
        count = count.saturating_add(1);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::testutil;
    use crate::{CaKind, SoftwareKey};
    use time::macros::datetime;

    const DOCUMENT: &[u8] = b"\xe5\xa5\x91\xe7\xb4\x84\xe6\x9b\xb8 hanko CMS test document\n";
    const ALL_DIGESTS: [DigestAlgorithm; 3] =
        [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512];

    struct Fixture {
        ca: crate::CaGeneration<SoftwareKey>,
        key: SoftwareKey,
        cert: Vec<u8>,
    }

    fn fixture() -> Fixture {
        let ca = testutil::ca(CaKind::Signature);
        let (key, cert) = testutil::signature_cert(&ca);
        Fixture { ca, key, cert }
    }

    fn sign_with(f: &Fixture, mode: Encapsulation, digest: DigestAlgorithm) -> Vec<u8> {
        sign(&f.key, &f.cert, DOCUMENT, mode, digest, Some(testutil::NOW), &[f.ca.certificate_der()]).unwrap()
    }

    fn decode(der: &[u8]) -> SignedData {
        ContentInfo::from_der(der).unwrap().content.decode_as().unwrap()
    }

    fn encode(signed_data: &SignedData) -> Vec<u8> {
        ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(signed_data).unwrap() }.to_der().unwrap()
    }

    /// Decodes `der`, lets `edit` change the `SignedData`, re-encodes.
    fn rewrite(der: &[u8], edit: impl FnOnce(&mut SignedData)) -> Vec<u8> {
        let mut signed_data = decode(der);
        edit(&mut signed_data);
        encode(&signed_data)
    }

    /// Lets `edit` change the first `SignerInfo` of `signed_data`.
    fn edit_signer(signed_data: &mut SignedData, edit: impl FnOnce(&mut SignerInfo)) {
        let empty = SignerInfos::try_from(Vec::new()).unwrap();
        let mut infos = core::mem::replace(&mut signed_data.signer_infos, empty).0.into_vec();
        edit(&mut infos[0]);
        signed_data.signer_infos = SignerInfos::try_from(infos).unwrap();
    }

    /// Decodes `der`, lets `edit` change its first `SignerInfo`, re-encodes.
    fn rewrite_signer(der: &[u8], edit: impl FnOnce(&mut SignerInfo)) -> Vec<u8> {
        rewrite(der, |sd| edit_signer(sd, edit))
    }

    fn verify(der: &[u8], detached: Option<&[u8]>) -> Result<CmsSignature, CmsError> {
        SignedMessage::from_der(der)?.verify(detached)
    }

    #[test]
    fn signs_and_verifies_attached_and_detached_with_each_digest() {
        let f = fixture();
        for digest in ALL_DIGESTS {
            let detached = sign_with(&f, Encapsulation::Detached, digest);
            let attached = sign_with(&f, Encapsulation::Attached, digest);

            let message = SignedMessage::from_der(&detached).unwrap();
            assert_eq!(message.attached_content(), None);
            assert_eq!(message.certificates().count(), 2);
            assert_eq!(message.signer_certificate_der(), Some(f.cert.as_slice()), "found before verifying");
            let s = message.verify(Some(DOCUMENT)).unwrap();
            assert_eq!(s.signer_certificate_der(), f.cert.as_slice());
            assert_eq!(s.digest_algorithm(), digest);
            assert_eq!(s.signature_algorithm(), SignatureAlgorithm::for_digest(digest));
            assert_eq!(s.content_type(), ID_DATA);
            assert_eq!(s.content_digest(), digest.digest(DOCUMENT).as_slice());
            assert_eq!(s.signing_time(), Some(testutil::NOW));
            assert_eq!(s.content(), None);
            assert!(s.has_signed_attributes());
            assert_eq!(s.signature().len(), 256);

            let s = verify(&attached, None).unwrap();
            assert_eq!(s.content(), Some(DOCUMENT));
            assert_eq!(s.digest_algorithm(), digest);
            assert_eq!(s.signer_certificate_der(), f.cert.as_slice());
        }
    }

    #[test]
    fn output_has_the_openssl_shape_and_reencodes_identically() {
        let f = fixture();
        for mode in [Encapsulation::Detached, Encapsulation::Attached] {
            let der = sign_with(&f, mode, DigestAlgorithm::Sha256);
            let content_info = ContentInfo::from_der(&der).unwrap();
            assert_eq!(content_info.to_der().unwrap(), der, "ContentInfo round trip");
            let signed_data = decode(&der);
            assert_eq!(encode(&signed_data), der, "SignedData round trip");
            assert_eq!(signed_data.version, CmsVersion::V1);
            let si = &signed_data.signer_infos.0.as_slice()[0];
            assert_eq!(si.version, CmsVersion::V1);
            assert!(matches!(si.sid, SignerIdentifier::IssuerAndSerialNumber(_)));
            assert_eq!(si.digest_alg.parameters, None);
            assert_eq!(si.signature_algorithm.oid, oid::RSA_ENCRYPTION);
            let oids: Vec<_> = si.signed_attrs.as_ref().unwrap().iter().map(|a| a.oid).collect();
            assert_eq!(oids, [ID_CONTENT_TYPE, ID_SIGNING_TIME, ID_MESSAGE_DIGEST], "DER SET OF order, like openssl");
        }
    }

    #[test]
    fn signing_time_is_optional() {
        let f = fixture();
        let der = sign(&f.key, &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &[]).unwrap();
        let message = SignedMessage::from_der(&der).unwrap();
        assert_eq!(message.certificates().count(), 1);
        assert_eq!(message.verify(Some(DOCUMENT)).unwrap().signing_time(), None);
        // A time after 2049 travels as GeneralizedTime (RFC 5652 §11.3).
        let late = datetime!(2051-02-03 04:05:06 UTC);
        let der =
            sign(&f.key, &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, Some(late), &[]).unwrap();
        assert_eq!(verify(&der, Some(DOCUMENT)).unwrap().signing_time(), Some(late));
        let early = datetime!(1960-01-01 00:00 UTC);
        let r = sign(&f.key, &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, Some(early), &[]);
        assert_eq!(r, Err(CmsError::SigningTimeOutOfRange(early)));
    }

    #[test]
    fn empty_content_signs_and_verifies() {
        let f = fixture();
        let der = sign(&f.key, &f.cert, b"", Encapsulation::Attached, DigestAlgorithm::Sha256, None, &[]).unwrap();
        assert_eq!(verify(&der, None).unwrap().content(), Some(&b""[..]));
    }

    #[test]
    fn tampered_content_is_a_message_digest_mismatch() {
        let f = fixture();
        let detached = sign_with(&f, Encapsulation::Detached, DigestAlgorithm::Sha256);
        let r = verify(&detached, Some(b"another document"));
        assert!(matches!(r, Err(CmsError::MessageDigestMismatch { algorithm: DigestAlgorithm::Sha256, .. })), "{r:?}");

        let attached = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha256);
        let tampered = rewrite(&attached, |sd| {
            let mut content = DOCUMENT.to_vec();
            content[0] ^= 1;
            sd.encap_content_info.econtent = Some(Any::new(Tag::OctetString, content).unwrap());
        });
        assert!(matches!(verify(&tampered, None), Err(CmsError::MessageDigestMismatch { .. })));
    }

    #[test]
    fn tampered_signed_attributes_fail_the_signature() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Detached, DigestAlgorithm::Sha256);
        let tampered = rewrite_signer(&der, |si| {
            let attrs = si.signed_attrs.take().unwrap();
            let other = x509_time(datetime!(2020-01-01 00:00 UTC)).unwrap();
            let changed: Vec<Attribute> = attrs
                .into_vec()
                .into_iter()
                .map(|a| {
                    if a.oid == ID_SIGNING_TIME {
                        single_valued(a.oid, Any::encode_from(&other).unwrap()).unwrap()
                    } else {
                        a
                    }
                })
                .collect();
            si.signed_attrs = Some(SetOfVec::try_from(changed).unwrap());
        });
        assert_eq!(verify(&tampered, Some(DOCUMENT)), Err(CmsError::SignatureInvalid));

        let flipped = rewrite_signer(&der, |si| {
            let mut signature = si.signature.as_bytes().to_vec();
            signature[10] ^= 0x80;
            si.signature = OctetString::new(signature).unwrap();
        });
        assert_eq!(verify(&flipped, Some(DOCUMENT)), Err(CmsError::SignatureInvalid));
    }

    #[test]
    fn content_must_come_from_exactly_one_place() {
        let f = fixture();
        let detached = sign_with(&f, Encapsulation::Detached, DigestAlgorithm::Sha256);
        let attached = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha256);
        assert_eq!(verify(&detached, None), Err(CmsError::NoContent));
        assert_eq!(verify(&attached, Some(DOCUMENT)), Err(CmsError::ContentTwice));
    }

    #[test]
    fn missing_or_ambiguous_signer_certificate() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Detached, DigestAlgorithm::Sha256);
        let no_certs = rewrite(&der, |sd| sd.certificates = None);
        assert_eq!(verify(&no_certs, Some(DOCUMENT)), Err(CmsError::SignerCertificateNotFound));

        // Another certificate from the same CA with the same serial: two candidates.
        let signed_data = decode(&der);
        let signer = Certificate::from_der(&f.cert).unwrap();
        let twin =
            f.ca.issue(
                &crate::Profile::end_entity(crate::CertKind::Signature),
                &crate::Serial::of(&signer.tbs_certificate.serial_number),
                signer.tbs_certificate.subject.clone(),
                SoftwareKey::generate_rsa2048().unwrap().public_key().clone(),
                Some(&testutil::facts()),
                testutil::NOW,
                testutil::NOW + time::Duration::days(30),
            )
            .unwrap();
        let ambiguous = rewrite(&der, |sd| {
            let mut certs = signed_data.certificates.clone().unwrap();
            certs.0.insert(CertificateChoices::Certificate(Certificate::from_der(&twin).unwrap())).unwrap();
            sd.certificates = Some(certs);
        });
        assert_eq!(verify(&ambiguous, Some(DOCUMENT)), Err(CmsError::AmbiguousSignerCertificate { count: 2 }));
    }

    #[test]
    fn finds_the_signer_by_subject_key_identifier() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha384);
        let ski = subject_key_identifier(&Certificate::from_der(&f.cert).unwrap()).unwrap();
        let by_ski = rewrite_signer(&der, |si| {
            si.version = CmsVersion::V3;
            si.sid = SignerIdentifier::SubjectKeyIdentifier(ski);
        });
        assert_eq!(verify(&by_ski, None).unwrap().signer_certificate_der(), f.cert.as_slice());

        let unknown = rewrite_signer(&der, |si| {
            si.sid = SignerIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(OctetString::new([7; 20]).unwrap()))
        });
        assert_eq!(verify(&unknown, None), Err(CmsError::SignerCertificateNotFound));
    }

    #[test]
    fn two_signers_need_verify_all() {
        let f = fixture();
        let (key2, cert2) = testutil::signature_cert(&f.ca);
        let first = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha256);
        let second =
            sign(&key2, &cert2, DOCUMENT, Encapsulation::Attached, DigestAlgorithm::Sha512, None, &[]).unwrap();
        let second = decode(&second);
        let both = rewrite(&first, |sd| {
            sd.digest_algorithms.insert(second.digest_algorithms.as_slice()[0].clone()).unwrap();
            let mut certs = sd.certificates.take().unwrap();
            certs.0.insert(CertificateChoices::Certificate(Certificate::from_der(&cert2).unwrap())).unwrap();
            sd.certificates = Some(certs);
            sd.signer_infos.0.insert(second.signer_infos.0.as_slice()[0].clone()).unwrap();
        });
        let message = SignedMessage::from_der(&both).unwrap();
        assert_eq!(message.signer_count(), 2);
        assert_eq!(message.verify(None), Err(CmsError::SeveralSigners { count: 2 }));
        let all = message.verify_all(None).unwrap();
        let mut certs: Vec<_> = all.iter().map(|s| s.signer_certificate_der().to_vec()).collect();
        certs.sort();
        let mut expected = vec![f.cert.clone(), cert2];
        expected.sort();
        assert_eq!(certs, expected);

        let none = rewrite(&first, |sd| sd.signer_infos = SignerInfos::try_from(Vec::new()).unwrap());
        let message = SignedMessage::from_der(&none).unwrap();
        assert_eq!(message.verify(None), Err(CmsError::NoSigner));
        assert_eq!(message.verify_all(None), Err(CmsError::NoSigner));
    }

    #[test]
    fn budgets_on_signers_certificates_and_sets() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Detached, DigestAlgorithm::Sha256);

        let five = rewrite(&der, |sd| {
            let si = sd.signer_infos.0.as_slice()[0].clone();
            for i in 1..=4u8 {
                let mut copy = si.clone();
                let mut signature = copy.signature.as_bytes().to_vec();
                signature[0] ^= i;
                copy.signature = OctetString::new(signature).unwrap();
                sd.signer_infos.0.insert(copy).unwrap();
            }
        });
        assert_eq!(
            SignedMessage::from_der(&five).unwrap_err(),
            CmsError::TooManySigners { count: 5, max: MAX_SIGNERS }
        );

        // 17 distinct certificates (same key, different serials).
        let extra: Vec<Vec<u8>> = (0..16).map(|_| testutil::signature_cert_for(&f.ca, &f.key)).collect();
        let extra_refs: Vec<&[u8]> = extra.iter().map(Vec::as_slice).collect();
        let r = sign(&f.key, &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &extra_refs);
        assert_eq!(r, Err(CmsError::TooManyCertificates { count: 17, max: MAX_CERTIFICATES }));
        let seventeen = rewrite(&der, |sd| {
            let mut certs = sd.certificates.take().unwrap();
            for c in &extra[1..] {
                certs.0.insert(CertificateChoices::Certificate(Certificate::from_der(c).unwrap())).unwrap();
            }
            sd.certificates = Some(certs);
        });
        assert_eq!(
            SignedMessage::from_der(&seventeen).unwrap_err(),
            CmsError::TooManyCertificates { count: 17, max: MAX_CERTIFICATES }
        );

        let big_set = rewrite(&der, |sd| {
            let values: Vec<Any> = (0..=MAX_SET_ELEMENTS as u32).map(|i| Any::encode_from(&i).unwrap()).collect();
            let attribute =
                Attribute { oid: ObjectIdentifier::new_unwrap("1.2.3.4"), values: SetOfVec::try_from(values).unwrap() };
            edit_signer(sd, |si| si.signed_attrs.as_mut().unwrap().insert(attribute).unwrap());
        });
        assert!(matches!(SignedMessage::from_der(&big_set), Err(CmsError::TooComplex { max: MAX_SET_ELEMENTS, .. })));

        let deep = rewrite(&der, |sd| {
            let mut value = Any::null();
            for _ in 0..MAX_DEPTH {
                value = Any::new(Tag::Sequence, value.to_der().unwrap()).unwrap();
            }
            let attribute = single_valued(ObjectIdentifier::new_unwrap("1.2.3.4"), value).unwrap();
            edit_signer(sd, |si| si.signed_attrs.as_mut().unwrap().insert(attribute).unwrap());
        });
        assert!(matches!(SignedMessage::from_der(&deep), Err(CmsError::TooComplex { max: MAX_DEPTH, .. })));

        let huge = vec![0u8; MAX_MESSAGE_LEN + 1];
        assert_eq!(
            SignedMessage::from_der(&huge).unwrap_err(),
            CmsError::TooLarge { len: MAX_MESSAGE_LEN + 1, max: MAX_MESSAGE_LEN }
        );
    }

    #[test]
    fn wrong_digest_and_signature_algorithms() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Detached, DigestAlgorithm::Sha256);

        let sha1 = rewrite_signer(&der, |si| si.digest_alg.oid = oid::SHA1);
        assert_eq!(verify(&sha1, Some(DOCUMENT)), Err(CmsError::UnsupportedDigest(oid::SHA1)));

        let unlisted = rewrite(&der, |sd| {
            sd.digest_algorithms = SetOfVec::try_from(vec![DigestAlgorithm::Sha384.algorithm_identifier()]).unwrap()
        });
        assert_eq!(verify(&unlisted, Some(DOCUMENT)), Err(CmsError::DigestNotListed(oid::SHA256)));

        let params = rewrite_signer(&der, |si| si.digest_alg.parameters = Some(Any::encode_from(&1u8).unwrap()));
        assert_eq!(verify(&params, Some(DOCUMENT)), Err(CmsError::DigestParameters(oid::SHA256)));

        // NULL parameters are accepted (RFC 5754 §2).
        let null = rewrite_signer(&der, |si| si.digest_alg = DigestAlgorithm::Sha256.algorithm_identifier());
        assert!(verify(&null, Some(DOCUMENT)).is_ok());

        // sha256WithRSAEncryption names the same computation.
        let named = rewrite_signer(&der, |si| si.signature_algorithm.oid = oid::SHA256_WITH_RSA);
        assert!(verify(&named, Some(DOCUMENT)).is_ok());

        let mismatch = rewrite_signer(&der, |si| si.signature_algorithm.oid = oid::SHA512_WITH_RSA);
        assert_eq!(
            verify(&mismatch, Some(DOCUMENT)),
            Err(CmsError::SignatureDigestMismatch { digest: DigestAlgorithm::Sha256, signature: oid::SHA512_WITH_RSA })
        );

        let pss = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
        let unsupported = rewrite_signer(&der, |si| si.signature_algorithm.oid = pss);
        assert_eq!(verify(&unsupported, Some(DOCUMENT)), Err(CmsError::UnsupportedSignatureAlgorithm(pss)));
    }

    #[test]
    fn signed_attribute_rules() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha256);
        let other_type = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
        let retyped = rewrite(&der, |sd| sd.encap_content_info.econtent_type = other_type);
        assert_eq!(
            verify(&retyped, None),
            Err(CmsError::ContentTypeMismatch { attribute: ID_DATA, econtent: other_type })
        );

        let edit_attrs = |edit: &dyn Fn(Vec<Attribute>) -> Vec<Attribute>| {
            rewrite_signer(&der, |si| {
                let attrs = si.signed_attrs.take().unwrap().into_vec();
                si.signed_attrs = Some(SetOfVec::try_from(edit(attrs)).unwrap());
            })
        };
        let no_digest = edit_attrs(&|a| a.into_iter().filter(|a| a.oid != ID_MESSAGE_DIGEST).collect());
        assert_eq!(verify(&no_digest, None), Err(CmsError::MissingAttribute(ID_MESSAGE_DIGEST)));
        let no_type = edit_attrs(&|a| a.into_iter().filter(|a| a.oid != ID_CONTENT_TYPE).collect());
        assert_eq!(verify(&no_type, None), Err(CmsError::MissingAttribute(ID_CONTENT_TYPE)));
        let twice = edit_attrs(&|mut a| {
            a.push(single_valued(ID_CONTENT_TYPE, Any::encode_from(&other_type).unwrap()).unwrap());
            a
        });
        assert_eq!(verify(&twice, None), Err(CmsError::DuplicateAttribute(ID_CONTENT_TYPE)));
        let two_values = edit_attrs(&|a| {
            a.into_iter()
                .map(|mut a| {
                    if a.oid == ID_MESSAGE_DIGEST {
                        a.values.insert(Any::new(Tag::OctetString, [0u8; 32]).unwrap()).unwrap();
                    }
                    a
                })
                .collect()
        });
        assert_eq!(verify(&two_values, None), Err(CmsError::MalformedAttribute(ID_MESSAGE_DIGEST)));
        let wrong_type = edit_attrs(&|a| {
            a.into_iter()
                .map(|a| if a.oid == ID_SIGNING_TIME { single_valued(a.oid, Any::null()).unwrap() } else { a })
                .collect()
        });
        assert_eq!(verify(&wrong_type, None), Err(CmsError::MalformedAttribute(ID_SIGNING_TIME)));
    }

    #[test]
    fn signature_over_the_content_without_signed_attributes() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha384);
        let plain = rewrite_signer(&der, |si| {
            si.signed_attrs = None;
            si.signature = OctetString::new(f.key.sign(SignatureAlgorithm::RsaPkcs1Sha384, DOCUMENT).unwrap()).unwrap();
        });
        let s = verify(&plain, None).unwrap();
        assert!(!s.has_signed_attributes());
        assert_eq!(s.signing_time(), None);
        assert_eq!(s.content_digest(), DigestAlgorithm::Sha384.digest(DOCUMENT).as_slice());

        let other_type = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
        let retyped = rewrite(&plain, |sd| sd.encap_content_info.econtent_type = other_type);
        assert_eq!(verify(&retyped, None), Err(CmsError::SignedAttributesRequired(other_type)));

        let altered = rewrite(&plain, |sd| {
            sd.encap_content_info.econtent = Some(Any::new(Tag::OctetString, &b"altered"[..]).unwrap())
        });
        assert_eq!(verify(&altered, None), Err(CmsError::SignatureInvalid));
    }

    #[test]
    fn sign_rejects_caller_misuse() {
        let f = fixture();
        let other = SoftwareKey::generate_rsa2048().unwrap();
        let r = sign(&other, &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &[]);
        assert_eq!(r, Err(CmsError::KeyMismatch));
        let r = sign(&f.key, &f.cert[1..], DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &[]);
        assert!(matches!(r, Err(CmsError::SignerCertificateDer(_))));
        let r = sign(&f.key, &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &[b"junk"]);
        assert!(matches!(r, Err(CmsError::ExtraCertificateDer { index: 0, .. })));
        // The signer certificate given again as an extra is dropped, not duplicated.
        let der = sign(&f.key, &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &[&f.cert])
            .unwrap();
        assert_eq!(SignedMessage::from_der(&der).unwrap().certificates().count(), 1);
    }

    /// A signer whose signatures are garbage (a faulty card).
    struct Faulty<'a>(&'a SoftwareKey);

    impl Signer for Faulty<'_> {
        fn public_key(&self) -> &spki::SubjectPublicKeyInfoOwned {
            self.0.public_key()
        }
        fn sign(&self, _: SignatureAlgorithm, _: &[u8]) -> Result<Vec<u8>, SignerError> {
            Ok(vec![1; 256])
        }
        fn sign_digest(&self, _: SignatureAlgorithm, _: &[u8]) -> Result<Vec<u8>, SignerError> {
            Ok(vec![1; 256])
        }
    }

    #[test]
    fn a_faulty_signer_is_caught() {
        let f = fixture();
        let r = sign(&Faulty(&f.key), &f.cert, DOCUMENT, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &[]);
        assert_eq!(r, Err(CmsError::SignerFault));
    }

    /// The card's way: the hash of the signed attributes leaves, the signature comes back, the
    /// message is assembled around it — the same bytes as [`sign`] with the key at hand.
    #[test]
    fn assemble_of_a_signature_made_elsewhere_equals_sign() {
        let f = fixture();
        for mode in [Encapsulation::Detached, Encapsulation::Attached] {
            for digest in ALL_DIGESTS {
                for at in [Some(testutil::NOW), None] {
                    let attributes = signed_attributes(DOCUMENT, digest, at).unwrap();
                    assert_eq!(attributes[0], 0x31, "signed with the SET OF tag");
                    let signature =
                        f.key.sign_digest(SignatureAlgorithm::for_digest(digest), &digest.digest(&attributes)).unwrap();
                    let extra = [f.ca.certificate_der()];
                    let assembled = assemble(&f.cert, DOCUMENT, mode, digest, at, &signature, &extra).unwrap();
                    let signed = sign(&f.key, &f.cert, DOCUMENT, mode, digest, at, &extra).unwrap();
                    assert_eq!(assembled, signed, "{mode:?} {digest:?} {at:?}");
                    let detached = (mode == Encapsulation::Detached).then_some(DOCUMENT);
                    let verified = verify(&assembled, detached).unwrap();
                    assert_eq!(verified.signing_time(), at);
                    assert_eq!(verified.signature(), signature.as_slice());
                }
            }
        }
    }

    #[test]
    fn assemble_refuses_a_signature_that_does_not_verify() {
        let f = fixture();
        let d = DigestAlgorithm::Sha256;
        let attributes = signed_attributes(DOCUMENT, d, Some(testutil::NOW)).unwrap();
        let good = f.key.sign_digest(SignatureAlgorithm::RsaPkcs1Sha256, &d.digest(&attributes)).unwrap();
        let assemble_with = |content: &[u8], at, signature: &[u8]| {
            assemble(&f.cert, content, Encapsulation::Detached, d, at, signature, &[])
        };
        assert!(assemble_with(DOCUMENT, Some(testutil::NOW), &good).is_ok());
        // Another document, another signing time, a flipped bit, another key, garbage.
        assert_eq!(assemble_with(b"another document", Some(testutil::NOW), &good), Err(CmsError::SignerFault));
        let later = testutil::NOW + time::Duration::seconds(1);
        assert_eq!(assemble_with(DOCUMENT, Some(later), &good), Err(CmsError::SignerFault));
        assert_eq!(assemble_with(DOCUMENT, None, &good), Err(CmsError::SignerFault));
        let mut flipped = good.clone();
        flipped[10] ^= 1;
        assert_eq!(assemble_with(DOCUMENT, Some(testutil::NOW), &flipped), Err(CmsError::SignerFault));
        let other = SoftwareKey::generate_rsa2048().unwrap();
        let by_other = other.sign_digest(SignatureAlgorithm::RsaPkcs1Sha256, &d.digest(&attributes)).unwrap();
        assert_eq!(assemble_with(DOCUMENT, Some(testutil::NOW), &by_other), Err(CmsError::SignerFault));
        assert_eq!(assemble_with(DOCUMENT, Some(testutil::NOW), &[]), Err(CmsError::SignerFault));
        assert_eq!(assemble_with(DOCUMENT, Some(testutil::NOW), &[7; 256]), Err(CmsError::SignerFault));
        // Caller misuse as in sign.
        let r = assemble(&f.cert[1..], DOCUMENT, Encapsulation::Detached, d, None, &good, &[]);
        assert!(matches!(r, Err(CmsError::SignerCertificateDer(_))));
        let r = assemble(&f.cert, DOCUMENT, Encapsulation::Detached, d, None, &good, &[b"junk"]);
        assert!(matches!(r, Err(CmsError::ExtraCertificateDer { index: 0, .. })));
    }

    #[test]
    fn rejects_what_is_not_signed_data() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha256);
        let mut content_info = ContentInfo::from_der(&der).unwrap();
        content_info.content_type = ID_DATA;
        let r = SignedMessage::from_der(&content_info.to_der().unwrap());
        assert_eq!(r.unwrap_err(), CmsError::NotSignedData(ID_DATA));

        let not_octets = rewrite(&der, |sd| sd.encap_content_info.econtent = Some(Any::null()));
        assert_eq!(SignedMessage::from_der(&not_octets).unwrap_err(), CmsError::EContentNotOctetString(Tag::Null));
    }

    #[test]
    fn truncated_and_malformed_der_never_panics() {
        let f = fixture();
        let der = sign_with(&f, Encapsulation::Attached, DigestAlgorithm::Sha256);
        for len in 0..der.len() {
            assert!(SignedMessage::from_der(&der[..len]).is_err(), "prefix of {len} bytes parsed");
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(SignedMessage::from_der(&trailing), Err(CmsError::Der(_))));
        // Every single-byte corruption either fails to parse or fails to verify — never panics,
        // never verifies (except in the unsigned certificate set of the CA).
        for i in 0..der.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut bad = der.clone();
                bad[i] ^= mask;
                if let Ok(message) = SignedMessage::from_der(&bad) {
                    let _ = message.verify(Some(DOCUMENT));
                    let _ = message.verify_all(None);
                    if let Ok(s) = message.verify(None) {
                        assert_eq!(s.content(), Some(DOCUMENT), "byte {i} ^ {mask:#x} changed the signed content");
                    }
                }
            }
        }
    }
}
