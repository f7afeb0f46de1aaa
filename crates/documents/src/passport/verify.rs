//! Passive authentication (ICAO 9303-11 §5.1, 9303-12) and active authentication (§6.1).
//!
//! Passive authentication, in order: EF.SOD's CMS signature under the DSC it carries; the DSC
//! chained to a CSCA of the trust list (issuer name and key identifier, RSA PKCS#1 v1.5
//! signature); DSC and CSCA valid at the signing time (the `signingTime` signed attribute, else
//! now); the CSCA's, the DSC's and DG1's issuing country agree; every data group read hashes to
//! its value in the LDS security object, and DG1 is there.

use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use const_oid::db::rfc4519::COUNTRY_NAME;
use der::Decode;
use hanko_pki::{RsaPublicKey, SignatureAlgorithm};
use time::OffsetDateTime;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::Certificate;

use super::lds::{self, MrzFields};
use super::reader::PassportFiles;
use super::sod;
use super::PassportError;

/// What passive authentication established.
#[derive(Debug, Clone)]
pub struct PassiveAuthentication {
    /// DG1's MRZ, covered by the SOD.
    pub mrz: MrzFields,
    /// The DSC's subject.
    pub dsc_subject: String,
    /// The CSCA's subject.
    pub csca_subject: String,
    /// The signing time the validity was checked at.
    pub checked_at: OffsetDateTime,
    /// Whether that time came from the SOD's `signingTime` (else it is "now").
    pub signing_time_in_sod: bool,
    /// The data groups whose hashes matched.
    pub groups: Vec<u8>,
}

fn country(name: &Name) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find(|a| a.oid == COUNTRY_NAME).and_then(|a| {
        der::asn1::PrintableStringRef::try_from(&a.value)
            .map(|s| s.as_str().to_owned())
            .ok()
            .or_else(|| der::asn1::Utf8StringRef::try_from(&a.value).map(|s| s.as_str().to_owned()).ok())
    })
}

/// ICAO issuing-state codes (alpha-3, 9303-3 §5) → ISO 3166 alpha-2 for the states a counter
/// in Japan meets most; `None` for others.
pub fn alpha2(state: &str) -> Option<&'static str> {
    const T: &[(&str, &str)] = &[
        ("JPN", "JP"),
        ("USA", "US"),
        ("CHN", "CN"),
        ("KOR", "KR"),
        ("TWN", "TW"),
        ("PHL", "PH"),
        ("VNM", "VN"),
        ("THA", "TH"),
        ("IDN", "ID"),
        ("IND", "IN"),
        ("NPL", "NP"),
        ("BRA", "BR"),
        ("GBR", "GB"),
        ("D", "DE"),
        ("FRA", "FR"),
        ("AUS", "AU"),
        ("CAN", "CA"),
        ("UTO", "UT"),
    ];
    T.iter().find(|(a, _)| *a == state).map(|(_, b)| *b)
}

fn ext<'a, T: Decode<'a>>(cert: &'a Certificate, oid: const_oid::ObjectIdentifier) -> Option<T> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .and_then(|e| T::from_der(e.extn_value.as_bytes()).ok())
}

fn within(cert: &Certificate, at: OffsetDateTime) -> bool {
    let v = &cert.tbs_certificate.validity;
    hanko_pki::from_x509_time(&v.not_before) <= at && at <= hanko_pki::from_x509_time(&v.not_after)
}

/// Passive authentication of `files` against the CSCAs in `cscas` (certificate DER).
pub fn passive_authentication(
    files: &PassportFiles,
    cscas: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<PassiveAuthentication, PassportError> {
    let signed = sod::parse_and_verify_signature(&files.sod)?;
    let dsc = Certificate::from_der(&signed.dsc)?;
    let dsc_subject = dsc.tbs_certificate.subject.to_string();
    let issuer = &dsc.tbs_certificate.issuer;
    let aki: Option<AuthorityKeyIdentifier> = ext(&dsc, const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER);
    let aki = aki.and_then(|a| a.key_identifier).map(|k| k.as_bytes().to_vec());
    let algorithm = SignatureAlgorithm::from_oid(dsc.signature_algorithm.oid)
        .ok_or(PassportError::UnsupportedDscAlgorithm(dsc.signature_algorithm.oid))?;
    let tbs = der::Encode::to_der(&dsc.tbs_certificate)?;
    let signature = dsc.signature.as_bytes().ok_or(PassportError::ChainBroken { dsc_issuer: issuer.to_string() })?;
    let mut csca_found = None;
    for der_bytes in cscas {
        let Ok(csca) = Certificate::from_der(der_bytes) else { continue };
        if csca.tbs_certificate.subject != *issuer {
            continue;
        }
        let ski: Option<SubjectKeyIdentifier> = ext(&csca, const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER);
        if let (Some(aki), Some(ski)) = (&aki, &ski) {
            if ski.0.as_bytes() != aki.as_slice() {
                continue;
            }
        }
        let Ok(key) = RsaPublicKey::from_spki(&csca.tbs_certificate.subject_public_key_info) else { continue };
        if key.verify(algorithm, &tbs, signature).is_ok() {
            csca_found = Some(csca);
            break;
        }
    }
    let csca = csca_found.ok_or_else(|| PassportError::ChainBroken { dsc_issuer: issuer.to_string() })?;
    let at = signed.signing_time.unwrap_or(now);
    for (what, cert) in [("DSC", &dsc), ("CSCA", &csca)] {
        if !within(cert, at) {
            let v = &cert.tbs_certificate.validity;
            return Err(PassportError::NotValidAtSigning {
                what,
                at,
                not_before: hanko_pki::from_x509_time(&v.not_before),
                not_after: hanko_pki::from_x509_time(&v.not_after),
            });
        }
    }
    // Every data group read must be listed and hash to its value; DG1 must be there.
    let mut groups = Vec::new();
    for (n, bytes) in &files.groups {
        let listed = signed.lds.hashes.iter().find(|h| h.number == *n).ok_or(PassportError::NotInSod { dg: *n })?;
        let computed = signed.hash_algorithm.digest(bytes);
        if computed.as_slice() != listed.hash.as_bytes() {
            return Err(PassportError::HashMismatch { dg: *n });
        }
        groups.push(*n);
    }
    // The SOD, not EF.COM (which nothing signs), says which data groups exist: one this reader
    // knows (DG1 MRZ, DG2 face, DG14, DG15 the AA key) that the SOD lists must have been read, so
    // that leaving DG15 (or DG2) out of EF.COM cannot drop active authentication (or the photo).
    for known in [1u8, 2, 14, 15] {
        if signed.lds.hashes.iter().any(|h| h.number == known) && files.group(known).is_none() {
            return Err(PassportError::NotRead { dg: known });
        }
    }
    let dg1 = files.group(1).ok_or(PassportError::NotInSod { dg: 1 })?;
    let mrz = lds::parse_dg1(dg1)?;
    let csca_country = country(&csca.tbs_certificate.subject).unwrap_or_default();
    let dsc_country = country(&dsc.tbs_certificate.subject).unwrap_or_default();
    if csca_country != dsc_country || alpha2(&mrz.issuing_state) != Some(csca_country.as_str()) {
        return Err(PassportError::CountryMismatch {
            csca: csca_country,
            dsc: dsc_country,
            issuing_state: mrz.issuing_state.clone(),
        });
    }
    Ok(PassiveAuthentication {
        mrz,
        dsc_subject,
        csca_subject: csca.tbs_certificate.subject.to_string(),
        checked_at: at,
        signing_time_in_sod: signed.signing_time.is_some(),
        groups,
    })
}

/// The PACE downgrade check (ICAO 9303-11 §4.4, §9.2: DG14 carries the chip's PACEInfos too):
/// DG14, covered by EF.SOD (call this after [`passive_authentication`]), lists the PACE the chip
/// supports; EF.CardAccess, which nothing signs, must announce every one of them, and the reader
/// must have got in by PACE. A chip or a relay that hides EF.CardAccess to push the reader down
/// to BAC fails here.
pub fn check_pace_downgrade(files: &PassportFiles, access: super::AccessUsed) -> Result<(), PassportError> {
    let Some(dg14) = files.group(14) else { return Ok(()) };
    let signed: Vec<lds::SecurityInfo> =
        lds::parse_dg14(dg14)?.into_iter().filter(lds::SecurityInfo::is_pace).collect();
    if signed.is_empty() {
        return Ok(());
    }
    let announced = match &files.card_access {
        Some(bytes) => lds::parse_security_infos("EF.CardAccess", bytes)?,
        None => Vec::new(),
    };
    if !signed.iter().all(|info| announced.contains(info)) {
        return Err(PassportError::PaceDowngrade("EF.CardAccess does not announce the PACE that DG14 (signed) lists"));
    }
    if access != super::AccessUsed::Pace {
        return Err(PassportError::PaceDowngrade(
            "the chip supports PACE (DG14, signed) but the reader did not use it",
        ));
    }
    Ok(())
}

/// Checks that DG1's MRZ is the one the clerk typed (document number, birth, expiry).
pub fn compare_mrz(dg1: &MrzFields, document_number: &str, birth: &str, expiry: &str) -> Result<(), PassportError> {
    let typed = document_number.trim().trim_end_matches('<').to_ascii_uppercase();
    for (field, ok) in [
        ("document number", dg1.document_number == typed),
        ("birth date", dg1.birth == birth),
        ("expiry date", dg1.expiry == expiry),
    ] {
        if !ok {
            return Err(PassportError::Dg1Mismatch { field });
        }
    }
    Ok(())
}

/// Active authentication with an ECDSA key (9303-11 §6.1): DG14 must announce
/// ecdsa-plain-SHA256 in its ActiveAuthenticationInfo; the signature is the plain `r ‖ s` over
/// SHA-256 of the 8-byte challenge, by the key of DG15. Returns the method in words.
pub fn verify_active_authentication(
    dg15: &[u8],
    dg14: Option<&[u8]>,
    challenge: &[u8; 8],
    signature: &[u8],
) -> Result<&'static str, PassportError> {
    let spki_der = lds::parse_dg15(dg15)?;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&spki_der)?;
    if spki.algorithm.oid != const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
        return Err(PassportError::AaUnsupported("DG15 key is not an EC key (RSA ISO/IEC 9796-2 AA not supported)"));
    }
    let infos = match dg14 {
        Some(d) => lds::parse_dg14(d)?,
        None => return Err(PassportError::AaUnsupported("ECDSA AA without DG14")),
    };
    let aa = infos
        .iter()
        .find(|i| i.protocol == lds::ID_AA)
        .ok_or(PassportError::AaUnsupported("DG14 has no ActiveAuthenticationInfo"))?;
    let alg = aa.optional_data.as_ref().and_then(|a| a.decode_as::<der::asn1::ObjectIdentifier>().ok());
    if alg != Some(lds::ECDSA_PLAIN_SHA256) {
        return Err(PassportError::AaUnsupported("AA signature algorithm other than ecdsa-plain-SHA256"));
    }
    let point = spki.subject_public_key.raw_bytes();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(challenge, signature)
        .map_err(|_| PassportError::AaFailed)?;
    Ok("active authentication: ECDSA P-256 (ecdsa-plain-SHA256) key of DG15 over an 8-byte challenge")
}
