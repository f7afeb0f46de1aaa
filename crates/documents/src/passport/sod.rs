//! EF.SOD, the document security object (ICAO 9303-10 §4.6.2, 9303-12 §4): a CMS SignedData
//! (RFC 5652) whose content is the LDS security object, signed by the document signer. Built
//! and parsed with the `cms`/`der` types; the signature is verified with `hanko_pki::cms`.
//!
//! ```text
//! EF.SOD = 77 { ContentInfo { id-signedData, SignedData {
//!     eContentType id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1),
//!     eContent LDSSecurityObject, certificates { DSC }, one SignerInfo with signed attributes } } }
//!
//! LDSSecurityObject ::= SEQUENCE {
//!     version LDSSecurityObjectVersion,                      -- v0
//!     hashAlgorithm DigestAlgorithmIdentifier,               -- SHA-256 here
//!     dataGroupHashValues SEQUENCE SIZE (2..ub-DataGroups) OF DataGroupHash,
//!     ldsVersionInfo LDSVersionInfo OPTIONAL }               -- only in v1
//! DataGroupHash ::= SEQUENCE { dataGroupNumber DataGroupNumber, dataGroupHashValue OCTET STRING }
//! ```

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence, Tag};
use hanko_pki::cms::SignedMessage;
use hanko_pki::{DigestAlgorithm, SignatureAlgorithm, Signer};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

use super::issuer::PassportIssuer;
use super::lds::TAG_SOD;
use super::PassportError;
use crate::tlv;

/// id-icao-mrtd-security-ldsSecurityObject, `2.23.136.1.1.1`.
pub const ID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");

/// Most data-group hashes an LDS security object may list (DG1–DG16).
pub const MAX_DG_HASHES: usize = 16;

/// `DataGroupHash`.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct DataGroupHash {
    /// The data group's number (1–16).
    pub number: u8,
    /// Its hash.
    pub hash: OctetString,
}

/// `LDSSecurityObject` (v0).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct LdsSecurityObject {
    /// 0.
    pub version: u8,
    /// The hash algorithm of every DG hash.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// One hash per data group present.
    pub hashes: Vec<DataGroupHash>,
}

fn attr(oid: ObjectIdentifier, value: Any) -> Result<Attribute, PassportError> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

/// Builds EF.SOD over `groups` (number, file bytes as stored) with SHA-256, signed by the DSC of
/// `issuer` at `signing_time` (the `signingTime` signed attribute).
pub fn build(
    groups: &[(u8, &[u8])],
    issuer: &PassportIssuer,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, PassportError> {
    let digest = DigestAlgorithm::Sha256;
    let lds = LdsSecurityObject {
        version: 0,
        hash_algorithm: AlgorithmIdentifierOwned { oid: digest.oid(), parameters: None },
        hashes: groups
            .iter()
            .map(|(n, bytes)| Ok(DataGroupHash { number: *n, hash: OctetString::new(digest.digest(bytes))? }))
            .collect::<Result<_, der::Error>>()?,
    }
    .to_der()?;
    let attrs: SignedAttributes = SetOfVec::try_from(vec![
        attr(ID_CONTENT_TYPE, Any::encode_from(&ID_LDS_SECURITY_OBJECT)?)?,
        attr(ID_MESSAGE_DIGEST, Any::new(Tag::OctetString, digest.digest(&lds))?)?,
        attr(ID_SIGNING_TIME, Any::from_der(&hanko_pki::x509_time(signing_time)?.to_der()?)?)?,
    ])?;
    let signature = issuer
        .dsc
        .key()
        .sign(SignatureAlgorithm::RsaPkcs1Sha256, &attrs.to_der()?)
        .map_err(|e| PassportError::Issuer(e.to_string()))?;
    let dsc = Certificate::from_der(issuer.dsc.certificate_der())?;
    let digest_alg = AlgorithmIdentifierOwned { oid: digest.oid(), parameters: None };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: dsc.tbs_certificate.issuer.clone(),
            serial_number: dsc.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: hanko_pki::oid::SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        },
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_LDS_SECURITY_OBJECT,
            econtent: Some(Any::new(Tag::OctetString, lds)?),
        },
        certificates: Some(CertificateSet::try_from(vec![CertificateChoices::Certificate(dsc)])?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])?,
    };
    let ci = ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? }.to_der()?;
    Ok(tlv::encode(TAG_SOD, &ci))
}

/// EF.SOD whose CMS signature verified under the DSC it carries (the DSC itself not yet
/// validated: see [`super::verify`]).
#[derive(Debug, Clone)]
pub struct SignedSod {
    /// The parsed LDS security object.
    pub lds: LdsSecurityObject,
    /// The hash algorithm of the DG hashes.
    pub hash_algorithm: DigestAlgorithm,
    /// The DSC certificate DER whose key verified the signature.
    pub dsc: Vec<u8>,
    /// The `signingTime` signed attribute, if present.
    pub signing_time: Option<OffsetDateTime>,
}

/// Parses EF.SOD (tag `77`) and verifies its CMS signature: one signer, signed attributes,
/// eContentType = ldsSecurityObject, messageDigest matches, RSA PKCS#1 v1.5 signature by the
/// embedded DSC. Bounded by `hanko_pki::cms`'s budgets.
pub fn parse_and_verify_signature(sod: &[u8]) -> Result<SignedSod, PassportError> {
    let (t, _) =
        tlv::parse_one(sod).map_err(|e| PassportError::Lds(super::lds::LdsError::Tlv { file: "EF.SOD", error: e }))?;
    if t.tag != TAG_SOD {
        return Err(PassportError::Lds(super::lds::LdsError::WrongTag {
            file: "EF.SOD",
            expected: TAG_SOD,
            found: t.tag,
        }));
    }
    let message = SignedMessage::from_der(t.value).map_err(PassportError::Sod)?;
    if message.content_type() != ID_LDS_SECURITY_OBJECT {
        return Err(PassportError::SodContentType(message.content_type()));
    }
    let sig = message.verify(None).map_err(PassportError::Sod)?;
    if !sig.has_signed_attributes() {
        return Err(PassportError::SodContentType(message.content_type()));
    }
    let content = sig.content().ok_or(PassportError::Sod(hanko_pki::cms::CmsError::NoContent))?;
    let lds = LdsSecurityObject::from_der(content)?;
    if lds.hashes.len() > MAX_DG_HASHES {
        return Err(PassportError::Issuer("too many data-group hashes".into()));
    }
    let hash_algorithm = DigestAlgorithm::from_oid(lds.hash_algorithm.oid)
        .ok_or(PassportError::UnsupportedHash(lds.hash_algorithm.oid))?;
    Ok(SignedSod { lds, hash_algorithm, dsc: sig.signer_certificate_der().to_vec(), signing_time: sig.signing_time() })
}
