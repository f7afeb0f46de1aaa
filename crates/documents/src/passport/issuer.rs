//! The sandbox passport PKI (ICAO 9303-12): a country signing CA (CSCA) and one document signer
//! (DSC) under it, RSA-2048 with SHA-256. Test names only: `CN=CSCA TEST, O=JPKI-TEST, C=JP`
//! and `CN=DS TEST, O=JPKI-TEST, C=JP`.
//!
//! ```text
//! PassportIssuer ::= SEQUENCE {        -- this crate's own storage form (to_der / from_der)
//!     cscaKey OCTET STRING,            -- PKCS#8
//!     csca    Certificate,
//!     dscKey  OCTET STRING,            -- PKCS#8
//!     dsc     Certificate }
//! ```

use const_oid::db::rfc4519::{COMMON_NAME, COUNTRY_NAME, ORGANIZATION_NAME};
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Sequence};
use hanko_pki::{SignatureAlgorithm, Signer, SoftwareKey};
use rand_core::RngCore;
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use x509_cert::{Certificate, TbsCertificate, Version};
use zeroize::Zeroizing;

use super::PassportError;

/// One key and its certificate.
pub struct IssuerKey {
    key: SoftwareKey,
    certificate: Vec<u8>,
}

impl IssuerKey {
    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    pub(crate) fn key(&self) -> &SoftwareKey {
        &self.key
    }
}

impl core::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "IssuerKey({} byte certificate, [elided])", self.certificate.len())
    }
}

/// A sandbox passport issuer: its CSCA and one DSC.
#[derive(Debug)]
pub struct PassportIssuer {
    /// The country signing CA.
    pub csca: IssuerKey,
    /// The document signer.
    pub dsc: IssuerKey,
}

#[derive(Sequence)]
struct Stored {
    csca_key: OctetString,
    csca: Certificate,
    dsc_key: OctetString,
    dsc: Certificate,
}

fn name(cn: &str, country: &str) -> Result<Name, PassportError> {
    Ok(hanko_pki::dn(&[(COUNTRY_NAME, country), (ORGANIZATION_NAME, "JPKI-TEST"), (COMMON_NAME, cn)])?)
}

fn ext<T: Encode>(id: const_oid::ObjectIdentifier, critical: bool, value: &T) -> der::Result<Extension> {
    Ok(Extension { extn_id: id, critical, extn_value: OctetString::new(value.to_der()?)? })
}

fn sha256_with_rsa() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: hanko_pki::oid::SHA256_WITH_RSA, parameters: Some(der::Any::null()) }
}

fn key_err(e: hanko_pki::SignerError) -> PassportError {
    PassportError::Issuer(e.to_string())
}

#[allow(clippy::too_many_arguments)]
fn certify(
    signer: &SoftwareKey,
    issuer: &Name,
    issuer_ski: &[u8],
    subject: Name,
    key: &SoftwareKey,
    ca: bool,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    rng: &mut dyn RngCore,
) -> Result<Vec<u8>, PassportError> {
    let spki = key.public_key().clone();
    let ski = hanko_pki::key_identifier(&spki);
    let mut serial = [0u8; 12];
    rng.fill_bytes(&mut serial);
    serial[0] &= 0x7F;
    serial[0] |= 0x01;
    let usage = if ca { KeyUsages::KeyCertSign | KeyUsages::CRLSign } else { KeyUsages::DigitalSignature.into() };
    let mut extensions = vec![
        ext(ID_CE_KEY_USAGE, true, &KeyUsage(usage))?,
        ext(ID_CE_SUBJECT_KEY_IDENTIFIER, false, &SubjectKeyIdentifier(OctetString::new(ski)?))?,
    ];
    if ca {
        extensions.push(ext(
            ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints { ca: true, path_len_constraint: Some(0) },
        )?);
    } else {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(issuer_ski)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        extensions.push(ext(ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)?);
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial)?,
        signature: sha256_with_rsa(),
        issuer: issuer.clone(),
        validity: Validity {
            not_before: hanko_pki::x509_time(not_before)?,
            not_after: hanko_pki::x509_time(not_after)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = signer.sign(SignatureAlgorithm::RsaPkcs1Sha256, &tbs.to_der()?).map_err(key_err)?;
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sha256_with_rsa(),
        signature: BitString::from_bytes(&signature)?,
    }
    .to_der()?)
}

impl PassportIssuer {
    /// A fresh sandbox CSCA (valid from a day before `now` for 15 years) and DSC (valid from a
    /// day before `now` for 10 years) for `country` (ISO 3166 alpha-2, `JP`). Keys come from
    /// aws-lc's DRBG; serial numbers from `rng`.
    pub fn generate(
        country: &str,
        now: OffsetDateTime,
        rng: &mut dyn RngCore,
    ) -> Result<PassportIssuer, PassportError> {
        let day = time::Duration::days(1);
        Self::generate_with_validity(
            country,
            (now - day, now + time::Duration::days(365 * 15)),
            (now - day, now + time::Duration::days(365 * 10)),
            rng,
        )
    }

    /// [`PassportIssuer::generate`] with the CSCA's and DSC's validity given (tests: an expired
    /// DSC).
    pub fn generate_with_validity(
        country: &str,
        csca_validity: (OffsetDateTime, OffsetDateTime),
        dsc_validity: (OffsetDateTime, OffsetDateTime),
        rng: &mut dyn RngCore,
    ) -> Result<PassportIssuer, PassportError> {
        let csca_key = SoftwareKey::generate_rsa2048().map_err(key_err)?;
        let csca_name = name("CSCA TEST", country)?;
        let csca_ski = hanko_pki::key_identifier(csca_key.public_key());
        let csca = certify(
            &csca_key,
            &csca_name,
            &csca_ski,
            csca_name.clone(),
            &csca_key,
            true,
            csca_validity.0,
            csca_validity.1,
            rng,
        )?;
        let dsc_key = SoftwareKey::generate_rsa2048().map_err(key_err)?;
        let dsc = certify(
            &csca_key,
            &csca_name,
            &csca_ski,
            name("DS TEST", country)?,
            &dsc_key,
            false,
            dsc_validity.0,
            dsc_validity.1,
            rng,
        )?;
        Ok(PassportIssuer {
            csca: IssuerKey { key: csca_key, certificate: csca },
            dsc: IssuerKey { key: dsc_key, certificate: dsc },
        })
    }

    /// The CSCA certificate DER: what goes into [`crate::TrustAnchors::cscas`].
    pub fn trust_anchor(&self) -> Vec<u8> {
        self.csca.certificate.clone()
    }

    /// The issuer with both private keys, as DER (zeroised when dropped).
    pub fn to_der(&self) -> Result<Zeroizing<Vec<u8>>, PassportError> {
        let csca_key = self.csca.key.to_pkcs8().map_err(key_err)?;
        let dsc_key = self.dsc.key.to_pkcs8().map_err(key_err)?;
        let stored = Stored {
            csca_key: OctetString::new(csca_key.to_vec())?,
            csca: Certificate::from_der(&self.csca.certificate)?,
            dsc_key: OctetString::new(dsc_key.to_vec())?,
            dsc: Certificate::from_der(&self.dsc.certificate)?,
        };
        Ok(Zeroizing::new(stored.to_der()?))
    }

    /// From [`PassportIssuer::to_der`].
    pub fn from_der(bytes: &[u8]) -> Result<PassportIssuer, PassportError> {
        let stored = Stored::from_der(bytes)?;
        let csca_key = Zeroizing::new(stored.csca_key.into_bytes());
        let dsc_key = Zeroizing::new(stored.dsc_key.into_bytes());
        Ok(PassportIssuer {
            csca: IssuerKey {
                key: SoftwareKey::from_pkcs8(&csca_key).map_err(key_err)?,
                certificate: stored.csca.to_der()?,
            },
            dsc: IssuerKey {
                key: SoftwareKey::from_pkcs8(&dsc_key).map_err(key_err)?,
                certificate: stored.dsc.to_der()?,
            },
        })
    }
}
