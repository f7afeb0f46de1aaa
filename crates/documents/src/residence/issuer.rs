//! The sandbox immigration issuer (a root and the signer certificate under it, both clearly
//! test: `O=JPKI-TEST`, "TEST" in every name), the holders, and card issuance: the check code
//! (DF3 `DA`) is RSA-2048 PKCS#1 v1.5 type-1 padding **without DigestInfo** over
//! SHA-256(value of DF1/EF01 ‖ value of DF1/EF02) (shared/spec/40-id-documents.md §2).

use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use hanko_pki::x509_cert::certificate::{Certificate, TbsCertificate, Version};
use hanko_pki::x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use hanko_pki::x509_cert::ext::Extension;
use hanko_pki::x509_cert::name::Name;
use hanko_pki::x509_cert::serial_number::SerialNumber;
use hanko_pki::x509_cert::time::Validity;
use hanko_pki::{SignatureAlgorithm, Signer, SoftwareKey};
use rand_core::RngCore;
use rsa::pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::emulator::{NewCard, ResidenceChip};
use super::files::{self, Address, CardType};
use super::{CardNumber, ResidenceError};

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");

/// The sandbox root's subject.
pub const ROOT_CN: &str = "TEST Immigration Services Agency Root CA";
/// The sandbox signer's subject CN (the certificate in DF3 `DB`).
pub const SIGNER_CN: &str = "TEST Immigration Services Agency";

fn err(e: impl core::fmt::Display) -> ResidenceError {
    ResidenceError::Issue(e.to_string())
}

/// A sandbox immigration issuer: a self-signed root (what counters trust) and the signer
/// certificate under it whose key makes each card's check code.
pub struct ImmigrationIssuer {
    root_certificate: Vec<u8>,
    root_key: SoftwareKey,
    signer_certificate: Vec<u8>,
    signer_key: SoftwareKey,
}

/// An [`ImmigrationIssuer`] as bytes: certificates DER, keys PKCS#8 (zeroised on drop).
pub struct ImmigrationIssuerDer {
    /// The root certificate (DER).
    pub root_certificate: Vec<u8>,
    /// The root key (PKCS#8 DER).
    pub root_key: Zeroizing<Vec<u8>>,
    /// The signer certificate (DER).
    pub signer_certificate: Vec<u8>,
    /// The signer key (PKCS#8 DER).
    pub signer_key: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for ImmigrationIssuerDer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ImmigrationIssuerDer([keys elided])")
    }
}

impl core::fmt::Debug for ImmigrationIssuer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ImmigrationIssuer([keys elided])")
    }
}

fn name(cn: &str) -> Result<Name, ResidenceError> {
    hanko_pki::dn(&[(OID_C, "JP"), (OID_O, "JPKI-TEST"), (OID_CN, cn)]).map_err(err)
}

fn ext<T: Encode>(id: ObjectIdentifier, critical: bool, value: &T) -> Result<Extension, ResidenceError> {
    Ok(Extension { extn_id: id, critical, extn_value: OctetString::new(value.to_der().map_err(err)?).map_err(err)? })
}

fn sha256_with_rsa() -> hanko_pki::spki::AlgorithmIdentifierOwned {
    hanko_pki::spki::AlgorithmIdentifierOwned {
        oid: OID_SHA256_RSA,
        parameters: Some(der::asn1::Any::from(der::asn1::Null)),
    }
}

struct Draft<'a> {
    subject: Name,
    issuer: Name,
    subject_key: &'a SoftwareKey,
    issuer_key: &'a SoftwareKey,
    ca: bool,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

fn certify(d: Draft<'_>, rng: &mut dyn RngCore) -> Result<Vec<u8>, ResidenceError> {
    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7F) | 0x01;
    let usage = if d.ca { KeyUsages::KeyCertSign | KeyUsages::CRLSign } else { KeyUsages::DigitalSignature.into() };
    let ski = hanko_pki::key_identifier(d.subject_key.public_key());
    let aki = hanko_pki::key_identifier(d.issuer_key.public_key());
    let extensions = vec![
        ext(OID_BASIC_CONSTRAINTS, true, &BasicConstraints { ca: d.ca, path_len_constraint: d.ca.then_some(0) })?,
        ext(OID_KEY_USAGE, true, &KeyUsage(usage))?,
        ext(OID_SKI, false, &SubjectKeyIdentifier(OctetString::new(ski).map_err(err)?))?,
        ext(
            OID_AKI,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(aki).map_err(err)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(err)?,
        signature: sha256_with_rsa(),
        issuer: d.issuer,
        validity: Validity {
            not_before: hanko_pki::x509_time(d.not_before).map_err(err)?,
            not_after: hanko_pki::x509_time(d.not_after).map_err(err)?,
        },
        subject: d.subject,
        subject_public_key_info: d.subject_key.public_key().clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der().map_err(err)?;
    let sig = d.issuer_key.sign(SignatureAlgorithm::RsaPkcs1Sha256, &tbs_der).map_err(err)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sha256_with_rsa(),
        signature: BitString::from_bytes(&sig).map_err(err)?,
    };
    cert.to_der().map_err(err)
}

impl ImmigrationIssuer {
    /// Generates a sandbox issuer: RSA-2048 keys (aws-lc's own DRBG), a root valid for 20
    /// years and a signer valid for 10, both from a day before `now`; `rng` draws the serials.
    pub fn generate(now: OffsetDateTime, rng: &mut dyn RngCore) -> Result<ImmigrationIssuer, ResidenceError> {
        ImmigrationIssuer::generate_named(ROOT_CN, SIGNER_CN, now, rng)
    }

    /// [`generate`](Self::generate) with other common names (each must contain `TEST`).
    pub fn generate_named(
        root_cn: &str,
        signer_cn: &str,
        now: OffsetDateTime,
        rng: &mut dyn RngCore,
    ) -> Result<ImmigrationIssuer, ResidenceError> {
        if !root_cn.contains("TEST") || !signer_cn.contains("TEST") {
            return Err(ResidenceError::Issue("sandbox issuer names must contain TEST".into()));
        }
        let root_key = SoftwareKey::generate_rsa2048().map_err(err)?;
        let signer_key = SoftwareKey::generate_rsa2048().map_err(err)?;
        let from = now - Duration::days(1);
        let root_certificate = certify(
            Draft {
                subject: name(root_cn)?,
                issuer: name(root_cn)?,
                subject_key: &root_key,
                issuer_key: &root_key,
                ca: true,
                not_before: from,
                not_after: from + Duration::days(20 * 365),
            },
            rng,
        )?;
        let signer_certificate = certify(
            Draft {
                subject: name(signer_cn)?,
                issuer: name(root_cn)?,
                subject_key: &signer_key,
                issuer_key: &root_key,
                ca: false,
                not_before: from,
                not_after: from + Duration::days(10 * 365),
            },
            rng,
        )?;
        Ok(ImmigrationIssuer { root_certificate, root_key, signer_certificate, signer_key })
    }

    /// The issuer as DER certificates and PKCS#8 keys.
    pub fn to_der(&self) -> Result<ImmigrationIssuerDer, ResidenceError> {
        Ok(ImmigrationIssuerDer {
            root_certificate: self.root_certificate.clone(),
            root_key: self.root_key.to_pkcs8().map_err(err)?,
            signer_certificate: self.signer_certificate.clone(),
            signer_key: self.signer_key.to_pkcs8().map_err(err)?,
        })
    }

    /// The issuer back from [`to_der`](Self::to_der) (certificates are checked to parse).
    pub fn from_der(d: &ImmigrationIssuerDer) -> Result<ImmigrationIssuer, ResidenceError> {
        Certificate::from_der(&d.root_certificate).map_err(err)?;
        Certificate::from_der(&d.signer_certificate).map_err(err)?;
        Ok(ImmigrationIssuer {
            root_certificate: d.root_certificate.clone(),
            root_key: SoftwareKey::from_pkcs8(&d.root_key).map_err(err)?,
            signer_certificate: d.signer_certificate.clone(),
            signer_key: SoftwareKey::from_pkcs8(&d.signer_key).map_err(err)?,
        })
    }

    /// What a counter trusts: the root certificate (DER), for
    /// [`TrustAnchors::immigration_roots`](crate::TrustAnchors::immigration_roots).
    pub fn trust_anchor(&self) -> Vec<u8> {
        self.root_certificate.clone()
    }

    /// The signer certificate written into each card's DF3 `DB`.
    pub fn signer_certificate(&self) -> &[u8] {
        &self.signer_certificate
    }

    /// The check code over `front ‖ photo` (the full fixed-length values): `00 01 FF…FF 00 ‖
    /// SHA-256(…)` raised to the signer's private exponent.
    pub fn check_code(&self, front: &[u8], photo: &[u8]) -> Result<Vec<u8>, ResidenceError> {
        let digest = Sha256::new().chain_update(front).chain_update(photo).finalize();
        let pkcs8 = self.signer_key.to_pkcs8().map_err(err)?;
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8).map_err(err)?;
        key.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &digest).map_err(err)
    }
}

/// A (synthetic) holder, as the issuer writes the card.
#[derive(Debug, Clone)]
pub struct ResidenceHolder {
    /// The card number printed on the face (the chip's access code).
    pub card_number: CardNumber,
    /// Residence card or special permanent resident certificate.
    pub card_type: CardType,
    /// The front image (TIFF, at most 7000 bytes; null padded on the card).
    pub front_image: Vec<u8>,
    /// The photo (JPEG 2000, at most 3000 bytes). `None` for a holder under 16: the card then
    /// has neither photo nor signature.
    pub photo: Option<Vec<u8>>,
    /// The address on the back side.
    pub address: Address,
    /// DF2/EF02 and EF03 texts (residence cards only).
    pub permissions: Option<(String, String)>,
    /// DF2/EF04 (residence cards only).
    pub renewal_applied: Option<bool>,
}

/// The synthetic front image: a bilevel card-face layout marked "SAMPLE TEST / NOT A REAL
/// CARD", CCITT G4 (MMR) TIFF, made by scripts/gen-residence-assets.sh.
pub const SYNTHETIC_FRONT_TIFF: &[u8] = include_bytes!("../../assets/residence_front.tif");
/// The synthetic colour photo: a tinted colour variant of
/// [`hanko_card::SYNTHETIC_PORTRAIT_JP2`], JPEG 2000, made by scripts/gen-residence-assets.sh.
pub const SYNTHETIC_PHOTO_JP2: &[u8] = include_bytes!("../../assets/residence_photo.jp2");

/// Synthetic holders for tests: `n % 3 == 0` a residence card (n = 0 has the official test
/// vectors' card number `AA12345678BB`), `1` a special permanent resident certificate, `2` a
/// residence card of a holder under 16 (no photo, no signature). Nobody real: the front image
/// says SAMPLE TEST, the address is in 見本区.
pub fn sample_holder(n: u32) -> ResidenceHolder {
    let number = if n == 0 { "AA12345678BB".to_owned() } else { format!("TS{:08}TE", n % 100_000_000) };
    #[allow(clippy::expect_used)]
    let card_number = CardNumber::parse(&number).expect("a well-formed sample number");
    let address = Address {
        written_on: "20260401".into(),
        municipality_code: "139999".into(),
        address: format!("東京都見本区見本町一丁目{}番1号", n % 50 + 1),
    };
    let (card_type, photo, permissions, renewal) = match n % 3 {
        1 => (CardType::SpecialPermanentResident, Some(SYNTHETIC_PHOTO_JP2.to_vec()), None, None),
        2 => (CardType::ResidenceCard, None, Some((String::new(), String::new())), Some(false)),
        _ => (
            CardType::ResidenceCard,
            Some(SYNTHETIC_PHOTO_JP2.to_vec()),
            Some(("許可：原則28時間以内・風俗営業等の従事を除く（見本）".to_owned(), String::new())),
            Some(n.is_multiple_of(2)),
        ),
    };
    ResidenceHolder {
        card_number,
        card_type,
        front_image: SYNTHETIC_FRONT_TIFF.to_vec(),
        photo,
        address,
        permissions,
        renewal_applied: renewal,
    }
}

fn fits(what: &'static str, v: &[u8], max: usize) -> Result<(), ResidenceError> {
    if v.len() > max {
        Err(ResidenceError::TooLong { what, len: v.len(), max })
    } else {
        Ok(())
    }
}

/// Issues the emulated card of `holder` under `issuer`: the files, and (with a photo) the
/// check code over the front image and the photo with the signer certificate.
pub fn issue(holder: &ResidenceHolder, issuer: &ImmigrationIssuer) -> Result<ResidenceChip, ResidenceError> {
    fits("front image", &holder.front_image, files::FRONT_IMAGE_LEN)?;
    fits("address", holder.address.address.as_bytes(), files::ADDRESS_LEN)?;
    fits("address write date", holder.address.written_on.as_bytes(), files::WRITE_DATE_LEN)?;
    fits("municipality code", holder.address.municipality_code.as_bytes(), files::MUNICIPALITY_LEN)?;
    if let Some((a, b)) = &holder.permissions {
        fits("permission", a.as_bytes(), files::PERMISSION_LEN)?;
        fits("permission", b.as_bytes(), files::PERMISSION_LEN)?;
    }
    fits("signer certificate", issuer.signer_certificate(), files::CERTIFICATE_LEN)?;
    let signature = match &holder.photo {
        Some(photo) => {
            fits("photo", photo, files::PHOTO_LEN)?;
            let front = files::padded(&holder.front_image, files::FRONT_IMAGE_LEN);
            let photo = files::padded(photo, files::PHOTO_LEN);
            Some(issuer.check_code(&front, &photo)?)
        }
        None => None,
    };
    // Special permanent resident certificates have no DF2/EF02–EF04.
    let residence = holder.card_type == CardType::ResidenceCard;
    Ok(ResidenceChip::new(NewCard {
        card_number: holder.card_number.clone(),
        card_type: holder.card_type,
        front_image: &holder.front_image,
        photo: holder.photo.as_deref(),
        address: &holder.address,
        permissions: holder.permissions.as_ref().filter(|_| residence).map(|(a, b)| (a.as_str(), b.as_str())),
        renewal_applied: holder.renewal_applied.filter(|_| residence),
        signature: signature.as_deref().map(|code| (code, issuer.signer_certificate())),
    }))
}
