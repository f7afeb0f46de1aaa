//! Parsing a JPKI certificate into typed values (shared/spec/20-pki.md §1–2).
//!
//! ```text
//! Certificate ::= SEQUENCE {
//!     tbsCertificate       TBSCertificate,
//!     signatureAlgorithm   AlgorithmIdentifier,
//!     signatureValue       BIT STRING }
//! ```
//!
//! Parsing checks the structure every JPKI certificate shares (v3, RSA, sha2WithRSA, no
//! duplicate or unknown critical extensions, well-formed 4 facts) and classifies the kind.
//! Whether it is *trusted* is the verifier's business.

use core::ops::Range;

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES, ID_CE_CRL_DISTRIBUTION_POINTS,
    ID_CE_EXT_KEY_USAGE, ID_CE_ISSUER_ALT_NAME, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_KP_OCSP_SIGNING,
};
use const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK;
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitStringRef, IntRef, OctetStringRef};
use der::flagset::FlagSet;
use der::{Decode, Reader, Sequence, SliceReader, Tag, TagNumber, Tagged};
use spki::AlgorithmIdentifierRef;
use time::OffsetDateTime;
use x509_cert::certificate::{Certificate, Version};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::time::Validity;

use crate::facts::{BasicFacts, BirthDate, FactsError, Sex, SubstituteMap};
use crate::{from_x509_time, oid, CertKind, Serial, SignatureAlgorithm};

/// `TBSCertificate` read without copying (RFC 5280 §4.1); names and the key stay raw.
#[derive(Sequence)]
struct TbsRef<'a> {
    #[asn1(context_specific = "0", default = "Default::default")]
    version: Version,
    serial_number: IntRef<'a>,
    signature: AlgorithmIdentifierRef<'a>,
    issuer: AnyRef<'a>,
    validity: Validity,
    subject: AnyRef<'a>,
    subject_public_key_info: AnyRef<'a>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    issuer_unique_id: Option<BitStringRef<'a>>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    subject_unique_id: Option<BitStringRef<'a>>,
    /// `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension`, walked in place.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<AnyRef<'a>>,
}

/// Most extensions a certificate may carry (a JPKI certificate has 5–7).
pub const MAX_EXTENSIONS: usize = 24;

/// `PolicyInformation ::= SEQUENCE { policyIdentifier, policyQualifiers SEQUENCE OF … OPTIONAL }`.
#[derive(Sequence)]
struct PolicyInfoRef<'a> {
    policy_identifier: ObjectIdentifier,
    #[asn1(optional = "true")]
    qualifiers: Option<AnyRef<'a>>,
}

/// Largest certificate accepted, in bytes (a JPKI signature certificate is about 1.5 KB).
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;

/// Why a certificate could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Larger than [`MAX_CERTIFICATE_LEN`].
    #[error("certificate is {len} bytes, more than {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Malformed, truncated or trailing DER.
    #[error("certificate DER: {0}")]
    Der(der::Error),
    /// Not an X.509 v3 certificate.
    #[error("certificate is not X.509 v3")]
    NotV3,
    /// Signed with something other than sha{256,384,512}WithRSAEncryption.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(ObjectIdentifier),
    /// The inner and outer signature algorithms differ.
    #[error("tbsCertificate.signature differs from signatureAlgorithm")]
    AlgorithmMismatch,
    /// Not an RSA key.
    #[error("subject public key is {0}, not rsaEncryption")]
    NotRsa(ObjectIdentifier),
    /// The same extension twice.
    #[error("duplicate extension {0}")]
    DuplicateExtension(ObjectIdentifier),
    /// More than [`MAX_EXTENSIONS`] extensions.
    #[error("more than {max} extensions")]
    TooManyExtensions {
        /// The limit.
        max: usize,
    },
    /// A critical extension hanko does not understand.
    #[error("unknown critical extension {0}")]
    UnknownCriticalExtension(ObjectIdentifier),
    /// An extension whose value does not parse.
    #[error("extension {oid} malformed: {error}")]
    BadExtension {
        /// Which extension.
        oid: ObjectIdentifier,
        /// The DER error.
        error: der::Error,
    },
    /// A 4-facts otherName is malformed or appears twice, or one is missing.
    #[error("4 facts: {0}")]
    Facts(#[from] FactsError),
    /// A 4-facts otherName is missing or repeated.
    #[error("4 facts otherName {oid} is {problem}")]
    FactsShape {
        /// The otherName type.
        oid: ObjectIdentifier,
        /// `missing` or `repeated`.
        problem: &'static str,
    },
    /// The certificate matches no JPKI kind (no usable keyUsage).
    #[error("certificate matches no JPKI profile")]
    UnknownKind,
}

/// A parsed JPKI certificate: the DER, the x509-cert structure and the typed facts.
#[derive(Clone)]
pub struct JpkiCertificate {
    der: Vec<u8>,
    tbs: Range<usize>,
    signature: Range<usize>,
    issuer: Range<usize>,
    subject: Range<usize>,
    spki: Range<usize>,
    kind: CertKind,
    serial: Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    signature_algorithm: SignatureAlgorithm,
    key_usage: FlagSet<KeyUsages>,
    policies: Vec<ObjectIdentifier>,
    is_ca: bool,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    facts: Option<BasicFacts>,
}

impl core::fmt::Debug for JpkiCertificate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JpkiCertificate")
            .field("kind", &self.kind)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

fn decode_ext<'a, T: Decode<'a>>(oid: ObjectIdentifier, bytes: &'a [u8]) -> Result<T, CertError> {
    T::from_der(bytes).map_err(|error| CertError::BadExtension { oid, error })
}

/// The extensions hanko understands, so a critical one of them is acceptable.
const KNOWN: [ObjectIdentifier; 10] = [
    ID_CE_KEY_USAGE,
    ID_CE_BASIC_CONSTRAINTS,
    ID_CE_CERTIFICATE_POLICIES,
    ID_CE_SUBJECT_ALT_NAME,
    ID_CE_ISSUER_ALT_NAME,
    ID_CE_CRL_DISTRIBUTION_POINTS,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_CE_AUTHORITY_KEY_IDENTIFIER,
    ID_CE_EXT_KEY_USAGE,
    ID_PKIX_OCSP_NOCHECK,
];

const FACT_OIDS: [ObjectIdentifier; 6] = [
    oid::JPKI_NAME,
    oid::JPKI_NAME_SUBSTITUTES,
    oid::JPKI_SEX,
    oid::JPKI_BIRTH_DATE,
    oid::JPKI_ADDRESS,
    oid::JPKI_ADDRESS_SUBSTITUTES,
];

/// Reads the six JPKI `otherName`s of a subjectAltName (`GeneralNames`), if there are any.
///
/// ```text
/// OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY DEFINED BY type-id }
/// ```
fn parse_facts(san: &[u8]) -> Result<Option<BasicFacts>, CertError> {
    let bad = |error| CertError::BadExtension { oid: ID_CE_SUBJECT_ALT_NAME, error };
    let (mut names, rest) = tlv_of(Tag::Sequence, san).map_err(bad)?;
    no_trailing(rest).map_err(bad)?;
    let mut values: [Option<&str>; 6] = Default::default();
    let mut any = false;
    // otherName is GeneralName [0], IMPLICIT: the SEQUENCE's contents under tag [0].
    let other_name = Tag::ContextSpecific { constructed: true, number: TagNumber::N0 };
    while !names.is_empty() {
        let (tag, name, rest) = tlv(names).map_err(bad)?;
        names = rest;
        if tag != other_name {
            continue;
        }
        // Compare the OID's encoding directly: only the six JPKI ones are read.
        let (type_id, rest) = tlv_of(Tag::ObjectIdentifier, name).map_err(bad)?;
        let Some(i) = FACT_OIDS.iter().position(|o| o.as_bytes() == type_id) else { continue };
        // value [0] EXPLICIT UTF8String
        let (explicit, rest) = tlv_of(other_name, rest).map_err(bad)?;
        no_trailing(rest).map_err(bad)?;
        let (text, rest) = tlv_of(Tag::Utf8String, explicit).map_err(bad)?;
        no_trailing(rest).map_err(bad)?;
        let text = core::str::from_utf8(text).map_err(|e| bad(der::ErrorKind::Utf8(e).into()))?;
        any = true;
        if values[i].replace(text).is_some() {
            return Err(CertError::FactsShape { oid: FACT_OIDS[i], problem: "repeated" });
        }
    }
    if !any {
        return Ok(None);
    }
    let take = |i: usize| values[i].ok_or(CertError::FactsShape { oid: FACT_OIDS[i], problem: "missing" });
    let (name, address) = (take(0)?, take(4)?);
    let facts = BasicFacts::with_substitutes(
        name,
        SubstituteMap::new("name", name, take(1)?)?,
        Sex::parse(take(2)?)?,
        BirthDate::parse(take(3)?)?,
        address,
        SubstituteMap::new("address", address, take(5)?)?,
    )?;
    Ok(Some(facts))
}

/// The range `inner` occupies inside `outer` (both slices of the same buffer).
fn range_in(outer: &[u8], inner: &[u8]) -> Range<usize> {
    let start = (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize);
    start..start + inner.len()
}

/// The range of a whole TLV whose contents are `any`.
fn tlv_range(outer: &[u8], any: &AnyRef<'_>) -> Result<Range<usize>, CertError> {
    let value = range_in(outer, any.value());
    let header = der::Header::new(any.tag(), any.value().len())
        .and_then(|h| der::Encode::encoded_len(&h))
        .map_err(CertError::Der)?;
    let header = usize::try_from(header).map_err(CertError::Der)?;
    Ok(value.start - header..value.end)
}

/// One DER TLV at the front of `input`: its tag, its contents and the bytes after it.
///
/// The hot path of [`JpkiCertificate::from_der`] walks the extensions and the 4-facts
/// `otherName`s with this instead of the der crate's generic readers, which cost about a
/// quarter of a parse. It holds the same rules as `der::Header::decode`: a tag byte the der crate
/// knows (low tag numbers only), a definite length in its shortest form of at most 4 octets.
fn tlv(input: &[u8]) -> der::Result<(Tag, &[u8], &[u8])> {
    let truncated = || {
        der::Error::from(der::ErrorKind::Incomplete { expected_len: der::Length::ONE, actual_len: der::Length::ZERO })
    };
    let (&tag, rest) = input.split_first().ok_or_else(truncated)?;
    let tag = Tag::try_from(tag)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(truncated)?;
    let len = match first {
        0..=0x7F => usize::from(first),
        0x80 => return Err(der::ErrorKind::IndefiniteLength.into()),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let (octets, after) = rest.split_at_checked(n).ok_or_else(truncated)?;
            rest = after;
            let len = octets.iter().fold(0usize, |l, &b| (l << 8) | usize::from(b));
            // X.690 §10.1: the fewest octets; der's lengths stop below 256 MiB.
            let shortest = match len {
                0..=0x7F => 0x80,
                0x80..=0xFF => 0x81,
                0x100..=0xFFFF => 0x82,
                0x1_0000..=0xFF_FFFF => 0x83,
                _ => 0x84,
            };
            if shortest != first {
                return Err(der::ErrorKind::Overlength.into());
            }
            if len > 0x0FFF_FFFF {
                return Err(der::ErrorKind::Overflow.into());
            }
            len
        }
        _ => return Err(der::ErrorKind::Overlength.into()),
    };
    let (value, after) = rest.split_at_checked(len).ok_or_else(truncated)?;
    Ok((tag, value, after))
}

/// [`tlv`] whose tag must be `expected`.
fn tlv_of(expected: Tag, input: &[u8]) -> der::Result<(&[u8], &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    tag.assert_eq(expected)?;
    Ok((value, rest))
}

/// Nothing may follow the last element of a structure.
fn no_trailing(rest: &[u8]) -> der::Result<()> {
    match rest.len() {
        0 => Ok(()),
        n => {
            Err(der::ErrorKind::TrailingData { decoded: der::Length::ZERO, remaining: der::Length::try_from(n)? }
                .into())
        }
    }
}

/// `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`
/// (the contents of the SEQUENCE): the OID, whether critical, and the value.
fn extension(contents: &[u8]) -> der::Result<(ObjectIdentifier, bool, &[u8])> {
    let (oid, rest) = tlv_of(Tag::ObjectIdentifier, contents)?;
    let oid = ObjectIdentifier::from_bytes(oid).map_err(|_| der::ErrorKind::OidMalformed)?;
    let (mut tag, mut value, mut rest) = tlv(rest)?;
    let critical = tag == Tag::Boolean;
    if critical {
        // DER: TRUE is FF, and FALSE — the DEFAULT — is omitted, never written (RFC 5280 §4.1;
        // the der crate would accept an explicit FALSE).
        if value != [0xFF] {
            return Err(der::ErrorKind::Noncanonical { tag: Tag::Boolean }.into());
        }
        (tag, value, rest) = tlv(rest)?;
    }
    tag.assert_eq(Tag::OctetString)?;
    no_trailing(rest)?;
    Ok((oid, critical, value))
}

impl JpkiCertificate {
    /// Parses DER, without copying anything but the result: names and the key stay as byte
    /// ranges of the input.
    pub fn from_der(der: &[u8]) -> Result<JpkiCertificate, CertError> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(CertError::TooLarge { len: der.len(), max: MAX_CERTIFICATE_LEN });
        }
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        let mut r = SliceReader::new(der).map_err(CertError::Der)?;
        let (tbs_tlv, alg, signature) = r
            .sequence(|r| {
                let tbs = r.tlv_bytes()?;
                let alg = AlgorithmIdentifierRef::decode(r)?;
                let sig = BitStringRef::decode(r)?;
                Ok((tbs, alg, sig))
            })
            .and_then(|v| r.finish(v))
            .map_err(CertError::Der)?;
        let tbs = TbsRef::from_der(tbs_tlv).map_err(CertError::Der)?;
        let signature =
            signature.as_bytes().ok_or(CertError::Der(der::ErrorKind::Noncanonical { tag: Tag::BitString }.into()))?;

        if tbs.version != Version::V3 {
            return Err(CertError::NotV3);
        }
        let signature_algorithm =
            SignatureAlgorithm::from_oid(alg.oid).ok_or(CertError::UnsupportedSignatureAlgorithm(alg.oid))?;
        if tbs.signature != alg {
            return Err(CertError::AlgorithmMismatch);
        }
        let spki: spki::SubjectPublicKeyInfoRef<'_> =
            tbs.subject_public_key_info.decode_as().map_err(CertError::Der)?;
        if spki.algorithm.oid != oid::RSA_ENCRYPTION {
            return Err(CertError::NotRsa(spki.algorithm.oid));
        }

        let mut key_usage = FlagSet::default();
        let mut policies = Vec::new();
        let mut is_ca = false;
        let mut subject_key_id = None;
        let mut authority_key_id = None;
        let mut facts = None;
        let mut ocsp_signing = false;
        let mut time_stamping = false;
        let mut seen: [Option<ObjectIdentifier>; MAX_EXTENSIONS] = [None; MAX_EXTENSIONS];
        let mut count = 0;
        let mut exts: &[u8] = match &tbs.extensions {
            Some(any) if any.tag() == Tag::Sequence => any.value(),
            Some(any) => return Err(CertError::Der(any.tag().unexpected_error(Some(Tag::Sequence)))),
            None => &[],
        };
        while !exts.is_empty() {
            let (contents, rest) = tlv_of(Tag::Sequence, exts).map_err(CertError::Der)?;
            exts = rest;
            let (extn_id, critical, v) = extension(contents).map_err(CertError::Der)?;
            if count == MAX_EXTENSIONS {
                return Err(CertError::TooManyExtensions { max: MAX_EXTENSIONS });
            }
            if seen[..count].contains(&Some(extn_id)) {
                return Err(CertError::DuplicateExtension(extn_id));
            }
            seen[count] = Some(extn_id);
            count += 1;
            if critical && !KNOWN.contains(&extn_id) {
                return Err(CertError::UnknownCriticalExtension(extn_id));
            }
            match extn_id {
                ID_CE_KEY_USAGE => key_usage = decode_ext::<KeyUsage>(extn_id, v)?.0,
                ID_CE_BASIC_CONSTRAINTS => is_ca = decode_ext::<BasicConstraints>(extn_id, v)?.ca,
                ID_CE_CERTIFICATE_POLICIES => {
                    policies = decode_ext::<Vec<PolicyInfoRef<'_>>>(extn_id, v)?
                        .into_iter()
                        .map(|p| p.policy_identifier)
                        .collect();
                }
                ID_CE_SUBJECT_ALT_NAME => facts = parse_facts(v)?,
                ID_CE_SUBJECT_KEY_IDENTIFIER => {
                    subject_key_id = Some(decode_ext::<OctetStringRef<'_>>(extn_id, v)?.as_bytes().to_vec());
                }
                ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                    authority_key_id =
                        decode_ext::<AuthorityKeyIdentifier>(extn_id, v)?.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                ID_CE_EXT_KEY_USAGE => {
                    let purposes = decode_ext::<Vec<ObjectIdentifier>>(extn_id, v)?;
                    ocsp_signing = purposes.contains(&ID_KP_OCSP_SIGNING);
                    time_stamping = purposes.contains(&const_oid::db::rfc5280::ID_KP_TIME_STAMPING);
                }
                _ => {}
            }
        }

        let smartphone = policies
            .iter()
            .any(|p| [oid::POLICY_SMARTPHONE_SIGNATURE, oid::POLICY_TEST_SMARTPHONE_SIGNATURE].contains(p));
        let kind = if is_ca {
            CertKind::Ca
        } else if ocsp_signing {
            CertKind::OcspResponder
        } else if time_stamping {
            CertKind::TimeStamping
        } else if facts.is_some() {
            if smartphone {
                CertKind::SmartphoneSignature
            } else {
                CertKind::Signature
            }
        } else if key_usage.contains(KeyUsages::DigitalSignature) {
            CertKind::Auth
        } else {
            return Err(CertError::UnknownKind);
        };

        Ok(JpkiCertificate {
            tbs: range_in(der, tbs_tlv),
            signature: range_in(der, signature),
            issuer: tlv_range(der, &tbs.issuer)?,
            subject: tlv_range(der, &tbs.subject)?,
            spki: tlv_range(der, &tbs.subject_public_key_info)?,
            serial: Serial::from_bytes(tbs.serial_number.as_bytes()),
            not_before: from_x509_time(&tbs.validity.not_before),
            not_after: from_x509_time(&tbs.validity.not_after),
            signature_algorithm,
            key_usage,
            policies,
            is_ca,
            subject_key_id,
            authority_key_id,
            facts,
            kind,
            der: der.to_vec(),
        })
    }

    /// The DER the certificate was parsed from.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// The exact `tbsCertificate` bytes the issuer signed.
    pub fn tbs_der(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }
    /// The signature bits.
    pub fn signature(&self) -> &[u8] {
        &self.der[self.signature.clone()]
    }
    /// Decodes the full x509-cert structure (strict DER; allocates — not on the hot path).
    pub fn to_x509(&self) -> Result<Certificate, CertError> {
        Certificate::from_der(&self.der).map_err(CertError::Der)
    }
    /// The kind, classified from basicConstraints, EKU, the 4 facts, keyUsage and policy.
    pub fn kind(&self) -> CertKind {
        self.kind
    }
    /// The serial (発行番号).
    pub fn serial(&self) -> &Serial {
        &self.serial
    }
    /// notBefore.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }
    /// notAfter.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
    /// The issuer's signature algorithm.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }
    /// keyUsage bits (empty when absent).
    pub fn key_usage(&self) -> FlagSet<KeyUsages> {
        self.key_usage
    }
    /// certificatePolicies identifiers.
    pub fn policies(&self) -> &[ObjectIdentifier] {
        &self.policies
    }
    /// basicConstraints CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }
    /// subjectKeyIdentifier.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_deref()
    }
    /// authorityKeyIdentifier keyIdentifier.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }
    /// The 4 facts (signature certificates only).
    pub fn facts(&self) -> Option<&BasicFacts> {
        self.facts.as_ref()
    }
    /// The issuer DN, DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.der[self.issuer.clone()]
    }
    /// The subject DN, DER.
    pub fn subject_der(&self) -> &[u8] {
        &self.der[self.subject.clone()]
    }
    /// The issuer DN as RFC 4514 text.
    pub fn issuer_string(&self) -> String {
        name_string(self.issuer_der())
    }
    /// The subject DN as RFC 4514 text.
    pub fn subject_string(&self) -> String {
        name_string(self.subject_der())
    }
    /// The subject public key, DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        &self.der[self.spki.clone()]
    }
}

fn name_string(der: &[u8]) -> String {
    Name::from_der(der).map(|n| n.to_string()).unwrap_or_else(|e| format!("<malformed name: {e}>"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{testutil, CaKind};

    #[test]
    fn parses_our_signature_certificate_with_facts() {
        let ca = testutil::ca(CaKind::Signature);
        let (_, der) = testutil::signature_cert(&ca);
        let c = JpkiCertificate::from_der(&der).unwrap();
        assert_eq!(c.kind(), CertKind::Signature);
        assert_eq!(c.facts(), Some(&testutil::facts()));
        assert!(c.key_usage().contains(KeyUsages::NonRepudiation));
        assert_eq!(c.policies(), &[oid::POLICY_TEST_SIGNATURE]);
        assert_eq!(c.authority_key_id(), Some(ca.key_id()));
        let x = c.to_x509().unwrap();
        assert_eq!(der::Encode::to_der(&x).unwrap(), der);
        assert_eq!(c.tbs_der(), der::Encode::to_der(&x.tbs_certificate).unwrap());
        assert_eq!(c.public_key_der(), der::Encode::to_der(&x.tbs_certificate.subject_public_key_info).unwrap());
        assert_eq!(c.issuer_der(), der::Encode::to_der(&x.tbs_certificate.issuer).unwrap());
        assert_eq!(c.signature(), x.signature.raw_bytes());
    }

    #[test]
    fn parses_auth_and_ca() {
        let ca = testutil::ca(CaKind::Auth);
        let (_, der) = testutil::auth_cert(&ca);
        let c = JpkiCertificate::from_der(&der).unwrap();
        assert_eq!(c.kind(), CertKind::Auth);
        assert!(c.facts().is_none());
        let c = JpkiCertificate::from_der(ca.certificate_der()).unwrap();
        assert_eq!(c.kind(), CertKind::Ca);
        assert_eq!(c.subject_key_id(), Some(ca.key_id()));
    }

    #[test]
    fn an_explicit_default_critical_false_is_not_der() {
        let ca = testutil::ca(CaKind::Auth);
        let (_, der) = testutil::auth_cert(&ca);
        // Insert `01 01 00` (critical FALSE) into the issuerAltName extension, fixing lengths by
        // re-encoding through x509-cert, then re-inserting by hand.
        let x = Certificate::from_der(&der).unwrap();
        let ian =
            der::Encode::to_der(x.tbs_certificate.extensions.as_ref().unwrap().iter().find(|e| !e.critical).unwrap())
                .unwrap();
        let pos = der.windows(ian.len()).position(|w| w == ian.as_slice()).unwrap();
        let mut ber_ext = vec![0x30, (ian.len() - 2 + 3) as u8];
        ber_ext.extend_from_slice(&ian[2..7]); // the OID TLV (06 03 55 1D xx)
        ber_ext.extend_from_slice(&[0x01, 0x01, 0x00]);
        ber_ext.extend_from_slice(&ian[7..]);
        let mut bad = der[..pos].to_vec();
        bad.extend_from_slice(&ber_ext);
        bad.extend_from_slice(&der[pos + ian.len()..]);
        // Fix the four enclosing lengths (certificate, tbs, [3], extensions), each long-form 82.
        let fix = |b: &mut Vec<u8>, at: usize| {
            let l = u16::from_be_bytes([b[at + 2], b[at + 3]]) + 3;
            b[at + 2..at + 4].copy_from_slice(&l.to_be_bytes());
        };
        fix(&mut bad, 0);
        fix(&mut bad, 4);
        // The extensions' [3] is the last field of the TBS: found by arithmetic, not by searching
        // for A3 82 (random key or serial bytes can hold that pair too).
        let tbs_len = der::Encode::to_der(&x.tbs_certificate).unwrap().len();
        let exts_len = der::Encode::to_der(x.tbs_certificate.extensions.as_ref().unwrap()).unwrap().len();
        let ext_start = 4 + tbs_len - (4 + exts_len);
        assert_eq!(bad[ext_start..ext_start + 2], [0xA3, 0x82]);
        fix(&mut bad, ext_start);
        fix(&mut bad, ext_start + 4);
        assert!(Certificate::from_der(&bad).is_ok(), "the der crate accepts this BER");
        assert!(matches!(JpkiCertificate::from_der(&bad), Err(CertError::Der(_))));
    }

    #[test]
    fn rejects_truncated_trailing_and_oversized() {
        let ca = testutil::ca(CaKind::Auth);
        let der = ca.certificate_der();
        for cut in [0, 1, 10, der.len() / 2, der.len() - 1] {
            assert!(matches!(JpkiCertificate::from_der(&der[..cut]), Err(CertError::Der(_))), "cut at {cut}");
        }
        let mut trailing = der.to_vec();
        trailing.push(0);
        assert!(matches!(JpkiCertificate::from_der(&trailing), Err(CertError::Der(_))));
        assert!(matches!(
            JpkiCertificate::from_der(&vec![0x30; MAX_CERTIFICATE_LEN + 1]),
            Err(CertError::TooLarge { .. })
        ));
    }
}
