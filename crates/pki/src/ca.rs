//! The sandbox certificate authority engine: CA generations and certificate issuance.
//!
//! Pure: keys come in as [`Signer`]s, time as arguments, randomness as an RNG.

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES, ID_CE_CRL_DISTRIBUTION_POINTS,
    ID_CE_EXT_KEY_USAGE, ID_CE_ISSUER_ALT_NAME, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK;
use der::asn1::{Any, BitString, Ia5StringRef, Null, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use rand_core::CryptoRngCore;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::OffsetDateTime;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage,
    IssuerAltName, KeyUsage, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::time::{Time, Validity};

use crate::facts::BasicFacts;
use crate::name::Naming;
use crate::profile::{CaKind, CertKind, ExtensionSpec, PolicySet, Profile};
use crate::signer::{SignatureAlgorithm, Signer, SignerError};
use crate::{oid, Serial};

/// Why the CA could not issue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// DER encoding failed (a name or value out of range).
    #[error("encoding: {0}")]
    Der(#[from] der::Error),
    /// The CA key failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The request does not fit the profile (caller misuse).
    #[error("request does not fit the {} profile: {reason}", .kind.as_str())]
    Profile {
        /// The profile.
        kind: CertKind,
        /// What is wrong.
        reason: &'static str,
    },
    /// notAfter is not after notBefore, or outside the CA's own validity.
    #[error("validity {} .. {} is empty or outside the CA's", crate::display::rfc3339(.not_before), crate::display::rfc3339(.not_after))]
    Validity {
        /// Requested start.
        not_before: OffsetDateTime,
        /// Requested end.
        not_after: OffsetDateTime,
    },
    /// The public key is not RSA or its SKI cannot be computed.
    #[error("public key is not an RSA SubjectPublicKeyInfo")]
    PublicKey,
    /// The given CA certificate does not belong to the given key.
    #[error("the CA certificate does not match the signing key")]
    KeyMismatch,
    /// The certificate could not be parsed.
    #[error("CA certificate: {0}")]
    Certificate(String),
}

/// Converts an instant into an X.509 `Time`: UTCTime before 2050, GeneralizedTime after (RFC 5280).
pub fn x509_time(t: OffsetDateTime) -> der::Result<Time> {
    let secs = u64::try_from(t.unix_timestamp()).map_err(|_| der::ErrorKind::DateTime)?;
    let dt = der::DateTime::from_unix_duration(core::time::Duration::from_secs(secs))?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(der::asn1::UtcTime::from_date_time(dt)?)
    } else {
        Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt))
    })
}

/// Converts an X.509 `Time` into an instant.
pub fn from_x509_time(t: &Time) -> OffsetDateTime {
    let secs = t.to_unix_duration().as_secs();
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// SHA-1 of the RSAPublicKey inside `spki` — the JPKI subjectKeyIdentifier (method 1) \[V\].
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let key = spki.subject_public_key.raw_bytes();
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, key).as_ref().to_vec()
}

fn sha256_with_rsa() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: oid::SHA256_WITH_RSA, parameters: Some(Any::from(Null)) }
}

fn ext<T: Encode>(id: const_oid::ObjectIdentifier, critical: bool, value: &T) -> der::Result<Extension> {
    Ok(Extension { extn_id: id, critical, extn_value: OctetString::new(value.to_der()?)? })
}

/// Everything needed to render one certificate.
struct Draft<'a> {
    profile: &'a Profile,
    serial: &'a Serial,
    subject: Name,
    public_key: SubjectPublicKeyInfoOwned,
    facts: Option<&'a BasicFacts>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

/// The facts as the six `otherName`s of the signature certificate, in the observed order
/// `.1 .4 .3 .5 .2 .6` \[V\].
pub(crate) fn facts_general_names(facts: &BasicFacts) -> der::Result<Vec<GeneralName>> {
    let birth = facts.birth_date().to_string();
    let sex = facts.sex();
    let values: [(const_oid::ObjectIdentifier, &str); 6] = [
        (oid::JPKI_NAME, facts.name()),
        (oid::JPKI_BIRTH_DATE, &birth),
        (oid::JPKI_SEX, sex.as_str()),
        (oid::JPKI_ADDRESS, facts.address()),
        (oid::JPKI_NAME_SUBSTITUTES, facts.name_substitutes().as_str()),
        (oid::JPKI_ADDRESS_SUBSTITUTES, facts.address_substitutes().as_str()),
    ];
    values
        .iter()
        .map(|(type_id, v)| {
            // OtherName.value is `[0] EXPLICIT`: x509-cert adds the tag around the UTF8String.
            Ok(GeneralName::OtherName(OtherName { type_id: *type_id, value: Any::from(Utf8StringRef::new(v)?) }))
        })
        .collect()
}

/// One generation of a JPKI CA: its self-signed certificate and the key behind it.
pub struct CaGeneration<S> {
    kind: CaKind,
    naming: Naming,
    policies: PolicySet,
    certificate: Certificate,
    der: Vec<u8>,
    key_id: Vec<u8>,
    signer: S,
}

impl<S: Signer> CaGeneration<S> {
    /// Creates a new generation: a self-signed CA certificate in the real J-LIS shape under
    /// `naming`'s (test) DN, valid from `not_before` to `not_after`.
    pub fn create(
        kind: CaKind,
        naming: Naming,
        policies: PolicySet,
        signer: S,
        serial: &Serial,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<CaGeneration<S>, IssueError> {
        let name = naming.ca_name(kind)?;
        let key_id = key_identifier(signer.public_key());
        let draft = Draft {
            profile: &Profile::ca(),
            serial,
            subject: name.clone(),
            public_key: signer.public_key().clone(),
            facts: None,
            not_before,
            not_after,
        };
        let tbs = render(&draft, kind, &naming, &policies, &name, &key_id)?;
        let certificate = sign_tbs(&signer, tbs)?;
        let der = certificate.to_der()?;
        Ok(CaGeneration { kind, naming, policies, certificate, der, key_id, signer })
    }

    /// Re-opens a generation from its certificate and key (checks they belong together).
    pub fn open(
        kind: CaKind,
        naming: Naming,
        policies: PolicySet,
        certificate_der: &[u8],
        signer: S,
    ) -> Result<CaGeneration<S>, IssueError> {
        let certificate = Certificate::from_der(certificate_der).map_err(|e| IssueError::Certificate(e.to_string()))?;
        if certificate.tbs_certificate.subject_public_key_info != *signer.public_key() {
            return Err(IssueError::KeyMismatch);
        }
        let key_id = key_identifier(signer.public_key());
        Ok(CaGeneration { kind, naming, policies, certificate, der: certificate_der.to_vec(), key_id, signer })
    }

    /// Which CA this is.
    pub fn kind(&self) -> CaKind {
        self.kind
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.der
    }

    /// The CA's subjectKeyIdentifier.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The CA's DN (shared by all generations).
    pub fn name(&self) -> &Name {
        &self.certificate.tbs_certificate.subject
    }

    /// The signing key.
    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// The policy OIDs this hierarchy issues under.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The CA's validity.
    pub fn validity(&self) -> (OffsetDateTime, OffsetDateTime) {
        let v = &self.certificate.tbs_certificate.validity;
        (from_x509_time(&v.not_before), from_x509_time(&v.not_after))
    }

    /// Issues an end-entity certificate of `profile` for `public_key`.
    ///
    /// `facts` must be given exactly for the kinds that carry them. The validity must lie inside
    /// the CA's. Returns the DER.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        profile: &Profile,
        serial: &Serial,
        subject: Name,
        public_key: SubjectPublicKeyInfoOwned,
        facts: Option<&BasicFacts>,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Vec<u8>, IssueError> {
        let kind = profile.kind;
        if kind == CertKind::Ca {
            return Err(IssueError::Profile { kind, reason: "use CaGeneration::create for CA certificates" });
        }
        if kind.carries_facts() != facts.is_some() {
            return Err(IssueError::Profile {
                kind,
                reason: "the 4 facts go in signature certificates and only there",
            });
        }
        if public_key.algorithm.oid != oid::RSA_ENCRYPTION {
            return Err(IssueError::PublicKey);
        }
        let (ca_from, ca_to) = self.validity();
        if not_after <= not_before || not_before < ca_from || not_after > ca_to {
            return Err(IssueError::Validity { not_before, not_after });
        }
        let draft = Draft { profile, serial, subject, public_key, facts, not_before, not_after };
        let tbs = render(&draft, self.kind, &self.naming, &self.policies, self.name(), &self.key_id)?;
        Ok(sign_tbs(&self.signer, tbs)?.to_der()?)
    }
}

fn sign_tbs<S: Signer>(signer: &S, tbs: TbsCertificate) -> Result<Certificate, IssueError> {
    let tbs_der = tbs.to_der()?;
    let signature = signer.sign(SignatureAlgorithm::RsaPkcs1Sha256, &tbs_der)?;
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sha256_with_rsa(),
        signature: BitString::from_bytes(&signature)?,
    })
}

fn render(
    d: &Draft<'_>,
    ca_kind: CaKind,
    naming: &Naming,
    policies: &PolicySet,
    issuer: &Name,
    issuer_key_id: &[u8],
) -> Result<TbsCertificate, IssueError> {
    let mut extensions = Vec::with_capacity(d.profile.extensions.len());
    for spec in &d.profile.extensions {
        extensions.push(match spec {
            ExtensionSpec::KeyUsage(flags) => ext(ID_CE_KEY_USAGE, true, &KeyUsage(*flags))?,
            ExtensionSpec::CertificatePolicies => {
                let policy = policies.for_kind(d.profile.kind).ok_or(IssueError::Profile {
                    kind: d.profile.kind,
                    reason: "this kind has no certificate policy",
                })?;
                let cps = PolicyQualifierInfo {
                    policy_qualifier_id: oid::QT_CPS,
                    qualifier: Some(Any::from(Ia5StringRef::new(&naming.cps_uri)?)),
                };
                let info = PolicyInformation { policy_identifier: policy, policy_qualifiers: Some(vec![cps]) };
                ext(ID_CE_CERTIFICATE_POLICIES, true, &CertificatePolicies(vec![info]))?
            }
            ExtensionSpec::IssuerAltName => ext(
                ID_CE_ISSUER_ALT_NAME,
                false,
                &IssuerAltName(vec![GeneralName::DirectoryName(naming.issuer_alt_name()?)]),
            )?,
            ExtensionSpec::SubjectAltName => {
                let names = match d.facts {
                    Some(facts) => facts_general_names(facts)?,
                    None => vec![GeneralName::DirectoryName(naming.ca_alt_name(ca_kind)?)],
                };
                ext(ID_CE_SUBJECT_ALT_NAME, false, &SubjectAltName(names))?
            }
            ExtensionSpec::BasicConstraintsCa => {
                ext(ID_CE_BASIC_CONSTRAINTS, true, &BasicConstraints { ca: true, path_len_constraint: None })?
            }
            ExtensionSpec::CrlDistributionPoint => {
                let dp = DistributionPoint {
                    distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::DirectoryName(
                        issuer.clone(),
                    )])),
                    reasons: None,
                    crl_issuer: None,
                };
                ext(ID_CE_CRL_DISTRIBUTION_POINTS, false, &CrlDistributionPoints(vec![dp]))?
            }
            ExtensionSpec::AuthorityKeyIdentifier => {
                let aki = AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(issuer_key_id)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                };
                ext(ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)?
            }
            ExtensionSpec::ExtendedKeyUsage(purpose) => {
                ext(ID_CE_EXT_KEY_USAGE, false, &ExtendedKeyUsage(vec![*purpose]))?
            }
            ExtensionSpec::CriticalExtendedKeyUsage(purpose) => {
                ext(ID_CE_EXT_KEY_USAGE, true, &ExtendedKeyUsage(vec![*purpose]))?
            }
            ExtensionSpec::OcspNoCheck => ext(ID_PKIX_OCSP_NOCHECK, false, &Null)?,
            ExtensionSpec::SubjectKeyIdentifier => {
                let ski = SubjectKeyIdentifier(OctetString::new(key_identifier(&d.public_key))?);
                ext(ID_CE_SUBJECT_KEY_IDENTIFIER, false, &ski)?
            }
        });
    }
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: d.serial.to_serial_number()?,
        signature: sha256_with_rsa(),
        issuer: issuer.clone(),
        validity: Validity { not_before: x509_time(d.not_before)?, not_after: x509_time(d.not_after)? },
        subject: d.subject.clone(),
        subject_public_key_info: d.public_key.clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

/// The signature-certificate CN: JST request time `YYYYMMDDhhmmss` + 5-digit sequence +
/// 9-character window code \[S\].
pub fn issuance_id(issued: OffsetDateTime, sequence: u32, window_code: &str) -> String {
    let jst = issued.to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:05}{:<9.9}",
        jst.year(),
        jst.month() as u8,
        jst.day(),
        jst.hour(),
        jst.minute(),
        jst.second(),
        sequence % 100_000,
        window_code
    )
}

/// An opaque 23-character user-authentication CN (like `997794E9AGCIEG13221003A`): random
/// upper-case letters and digits, no personal data.
pub fn opaque_auth_id(rng: &mut impl CryptoRngCore) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNPQRSTUVW";
    (0..23).map(|_| char::from(ALPHABET[(rng.next_u32() % 32) as usize])).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testutil;

    #[test]
    fn issues_a_signature_certificate_that_parses() {
        let ca = testutil::ca(CaKind::Signature);
        let (_key, der) = testutil::signature_cert(&ca);
        let cert = Certificate::from_der(&der).unwrap();
        assert_eq!(cert.to_der().unwrap(), der, "re-encodes byte for byte");
        let ids: Vec<_> = cert.tbs_certificate.extensions.unwrap().iter().map(|e| e.extn_id).collect();
        assert_eq!(ids.last(), Some(&ID_CE_SUBJECT_KEY_IDENTIFIER));
        assert_eq!(ids[0], ID_CE_KEY_USAGE);
    }

    #[test]
    fn refuses_facts_on_auth_and_out_of_range_validity() {
        let ca = testutil::ca(CaKind::Auth);
        let key = crate::SoftwareKey::generate_rsa2048().unwrap();
        let subject = crate::auth_subject("X").unwrap();
        let f = testutil::facts();
        let r = ca.issue(
            &Profile::end_entity(CertKind::Auth),
            &Serial::from_u64(7),
            subject.clone(),
            key.public_key().clone(),
            Some(&f),
            testutil::NOW,
            testutil::NOW + time::Duration::days(1),
        );
        assert!(matches!(r, Err(IssueError::Profile { .. })));
        let r = ca.issue(
            &Profile::end_entity(CertKind::Auth),
            &Serial::from_u64(7),
            subject,
            key.public_key().clone(),
            None,
            testutil::NOW,
            time::macros::datetime!(2040-01-01 0:00 UTC),
        );
        assert!(matches!(r, Err(IssueError::Validity { .. })));
    }

    #[test]
    fn issuance_id_shape() {
        let id = issuance_id(time::macros::datetime!(2026-01-01 00:00:05 UTC), 42, "HANKOTEST");
        assert_eq!(id, "2026010109000500042HANKOTEST");
    }
}
