//! `CertID`: which certificate an OCSP request or SingleResponse is about (RFC 6960 §4.1.1).
//!
//! ```text
//! CertID          ::=     SEQUENCE {
//!     hashAlgorithm       AlgorithmIdentifier,
//!     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
//!     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
//!     serialNumber        CertificateSerialNumber }
//! ```

use core::fmt;
use core::hash::{Hash, Hasher};

use const_oid::ObjectIdentifier;
use der::asn1::{Any, Null, OctetString, Uint};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;
use x509_ocsp::CertId;

use super::{hex, OcspError};
use crate::{oid, Serial};

/// The hash of a `CertID` (`hashAlgorithm`).
///
/// SHA-1 is what openssl and the RFC 5019 lightweight profile send; it hashes public names and
/// keys here, so collisions do not matter. SHA-256 and stronger are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertIdHash {
    /// `id-sha1` (1.3.14.3.2.26).
    Sha1,
    /// `id-sha256`.
    Sha256,
    /// `id-sha384`.
    Sha384,
    /// `id-sha512`.
    Sha512,
}

impl CertIdHash {
    const ALL: [CertIdHash; 4] = [CertIdHash::Sha1, CertIdHash::Sha256, CertIdHash::Sha384, CertIdHash::Sha512];

    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            CertIdHash::Sha1 => oid::SHA1,
            CertIdHash::Sha256 => oid::SHA256,
            CertIdHash::Sha384 => oid::SHA384,
            CertIdHash::Sha512 => oid::SHA512,
        }
    }

    /// The algorithm of an OID, if supported.
    pub fn from_oid(o: ObjectIdentifier) -> Option<CertIdHash> {
        CertIdHash::ALL.into_iter().find(|h| h.oid() == o)
    }

    fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            CertIdHash::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            CertIdHash::Sha256 => &aws_lc_rs::digest::SHA256,
            CertIdHash::Sha384 => &aws_lc_rs::digest::SHA384,
            CertIdHash::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        self.aws().output_len()
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(self.aws(), data).as_ref().to_vec()
    }
}

/// Identifies one certificate to OCSP: the hashes of its issuer's DN and public key, and its
/// serial (an RFC 6960 `CertID`, see the module docs).
///
/// Equality (and `Hash`) is by hash algorithm, both hashes and serial; whether the
/// `AlgorithmIdentifier` parameters were `NULL` or absent is kept only to echo a requester's
/// CertID byte for byte.
#[derive(Clone)]
pub struct CertIdentity {
    hash: CertIdHash,
    issuer_name_hash: Vec<u8>,
    issuer_key_hash: Vec<u8>,
    serial: Serial,
    null_parameters: bool,
}

impl PartialEq for CertIdentity {
    fn eq(&self, other: &CertIdentity) -> bool {
        self.hash == other.hash
            && self.issuer_name_hash == other.issuer_name_hash
            && self.issuer_key_hash == other.issuer_key_hash
            && self.serial == other.serial
    }
}

impl Eq for CertIdentity {}

impl Hash for CertIdentity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hash.hash(state);
        self.issuer_name_hash.hash(state);
        self.issuer_key_hash.hash(state);
        self.serial.hash(state);
    }
}

impl fmt::Debug for CertIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertIdentity")
            .field("hash", &self.hash)
            .field("issuer_name_hash", &hex(&self.issuer_name_hash))
            .field("issuer_key_hash", &hex(&self.issuer_key_hash))
            .field("serial", &self.serial)
            .finish()
    }
}

/// The DER of the issuer's subject DN and the bytes of its subjectPublicKey BIT STRING: the
/// two inputs of a CertID.
fn issuer_inputs(issuer: &Certificate) -> Result<(Vec<u8>, &[u8]), OcspError> {
    let name = issuer.tbs_certificate.subject.to_der().map_err(OcspError::Encode)?;
    Ok((name, issuer.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes()))
}

impl CertIdentity {
    /// The identity of certificate `serial` issued by `issuer`, with SHA-1 hashes (what openssl
    /// and RFC 5019 clients send).
    pub fn new(issuer: &Certificate, serial: &Serial) -> Result<CertIdentity, OcspError> {
        CertIdentity::with_hash(CertIdHash::Sha1, issuer, serial)
    }

    /// The identity of certificate `serial` issued by `issuer`, hashed with `hash`.
    pub fn with_hash(hash: CertIdHash, issuer: &Certificate, serial: &Serial) -> Result<CertIdentity, OcspError> {
        let (name, key) = issuer_inputs(issuer)?;
        Ok(CertIdentity {
            hash,
            issuer_name_hash: hash.digest(&name),
            issuer_key_hash: hash.digest(key),
            serial: serial.clone(),
            null_parameters: true,
        })
    }

    /// Like [`CertIdentity::with_hash`], from the issuer certificate's DER.
    pub fn from_issuer_der(hash: CertIdHash, issuer_der: &[u8], serial: &Serial) -> Result<CertIdentity, OcspError> {
        let issuer =
            Certificate::from_der(issuer_der).map_err(|error| OcspError::Der { what: "issuer certificate", error })?;
        CertIdentity::with_hash(hash, &issuer, serial)
    }

    /// The identity of `certificate`, assuming (not checking) that `issuer` issued it.
    pub fn of_certificate(
        hash: CertIdHash,
        issuer: &Certificate,
        certificate: &Certificate,
    ) -> Result<CertIdentity, OcspError> {
        CertIdentity::with_hash(hash, issuer, &Serial::of(&certificate.tbs_certificate.serial_number))
    }

    /// The hash algorithm.
    pub fn hash_algorithm(&self) -> CertIdHash {
        self.hash
    }

    /// `issuerNameHash`: the hash of the issuer's DER subject DN.
    pub fn issuer_name_hash(&self) -> &[u8] {
        &self.issuer_name_hash
    }

    /// `issuerKeyHash`: the hash of the issuer's subjectPublicKey BIT STRING contents.
    pub fn issuer_key_hash(&self) -> &[u8] {
        &self.issuer_key_hash
    }

    /// The certificate serial.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// `true` when both hashes match `issuer` (its DN and key), whatever the hash algorithm.
    /// CA generations share one DN, so the key hash is what tells them apart.
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        match issuer_inputs(issuer) {
            Ok((name, key)) => {
                self.hash.digest(key) == self.issuer_key_hash && self.hash.digest(&name) == self.issuer_name_hash
            }
            Err(_) => false,
        }
    }

    /// Reads an `x509-ocsp` CertID: the hash must be supported with `NULL` or absent
    /// parameters, both hashes of its length, the serial non-negative.
    pub fn from_cert_id(id: &CertId) -> Result<CertIdentity, OcspError> {
        let alg = &id.hash_algorithm;
        let hash = CertIdHash::from_oid(alg.oid).ok_or(OcspError::UnsupportedHash(alg.oid))?;
        let null_parameters = match &alg.parameters {
            None => false,
            Some(p) if p.is_null() => true,
            Some(_) => return Err(OcspError::BadCertId("hash parameters must be NULL or absent")),
        };
        let (name, key) = (id.issuer_name_hash.as_bytes(), id.issuer_key_hash.as_bytes());
        if name.len() != hash.output_len() || key.len() != hash.output_len() {
            return Err(OcspError::BadCertId("issuer hash has the wrong length"));
        }
        let serial = id.serial_number.as_bytes();
        if serial.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(OcspError::BadCertId("negative serial number"));
        }
        let serial = Serial::from_bytes(serial);
        if serial.as_bytes().len() > MAX_SERIAL_LEN {
            return Err(OcspError::BadCertId("serial number longer than 20 octets"));
        }
        Ok(CertIdentity {
            hash,
            issuer_name_hash: name.to_vec(),
            issuer_key_hash: key.to_vec(),
            serial,
            null_parameters,
        })
    }

    /// As an `x509-ocsp` CertID (parameters `NULL` unless read absent).
    pub fn to_cert_id(&self) -> Result<CertId, OcspError> {
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: self.hash.oid(),
                parameters: self.null_parameters.then(|| Any::from(Null)),
            },
            issuer_name_hash: OctetString::new(self.issuer_name_hash.clone()).map_err(OcspError::Encode)?,
            issuer_key_hash: OctetString::new(self.issuer_key_hash.clone()).map_err(OcspError::Encode)?,
            serial_number: serial_number(&self.serial).map_err(OcspError::Encode)?,
        })
    }
}

/// RFC 5280 §4.1.2.2: serials of up to 20 octets.
const MAX_SERIAL_LEN: usize = 20;

/// The `CertificateSerialNumber` of `serial`, including 20-octet serials with the high bit set
/// (21 octets encoded, which `SerialNumber::new` refuses but decoding accepts).
fn serial_number(serial: &Serial) -> der::Result<SerialNumber> {
    serial.to_serial_number().or_else(|_| SerialNumber::from_der(&Uint::new(serial.as_bytes())?.to_der()?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{testutil, CaKind};

    #[test]
    fn sha1_cert_id_matches_the_rfc_definition() {
        let ca = testutil::ca(CaKind::Auth);
        let serial = Serial::from_u64(0x1234);
        let id = CertIdentity::new(ca.certificate(), &serial).unwrap();
        assert_eq!(id.hash_algorithm(), CertIdHash::Sha1);
        // The key hash of a JPKI CA equals its subjectKeyIdentifier (both SHA-1 of the key).
        assert_eq!(id.issuer_key_hash(), ca.key_id());
        assert_eq!(id.issuer_name_hash(), CertIdHash::Sha1.digest(&ca.name().to_der().unwrap()));
        assert!(id.is_issued_by(ca.certificate()));
        let other = testutil::ca(CaKind::Auth);
        assert!(!id.is_issued_by(other.certificate()), "same DN, other key: not the issuer");
    }

    #[test]
    fn round_trips_through_x509_ocsp_and_equality_ignores_parameters() {
        let ca = testutil::ca(CaKind::Signature);
        let id = CertIdentity::with_hash(CertIdHash::Sha256, ca.certificate(), &Serial::from_u64(0xFF01)).unwrap();
        let der = id.to_cert_id().unwrap().to_der().unwrap();
        let back = CertIdentity::from_cert_id(&CertId::from_der(&der).unwrap()).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.to_cert_id().unwrap().to_der().unwrap(), der, "re-encodes byte for byte");

        let mut absent = id.to_cert_id().unwrap();
        absent.hash_algorithm.parameters = None;
        let read = CertIdentity::from_cert_id(&absent).unwrap();
        assert_eq!(read, id);
        assert_eq!(read.to_cert_id().unwrap(), absent, "absent parameters are echoed as absent");

        let sha1 = CertIdentity::new(ca.certificate(), &Serial::from_u64(0xFF01)).unwrap();
        assert_ne!(sha1, id, "different hash algorithm, different CertID");
        assert_ne!(CertIdentity::new(ca.certificate(), &Serial::from_u64(2)).unwrap(), sha1);
    }

    #[test]
    fn rejects_bad_cert_ids() {
        let ca = testutil::ca(CaKind::Signature);
        let good = CertIdentity::new(ca.certificate(), &Serial::from_u64(5)).unwrap().to_cert_id().unwrap();

        let mut md5 = good.clone();
        md5.hash_algorithm.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
        assert!(matches!(CertIdentity::from_cert_id(&md5), Err(OcspError::UnsupportedHash(_))));

        let mut short = good.clone();
        short.issuer_key_hash = OctetString::new(vec![0; 19]).unwrap();
        assert!(matches!(CertIdentity::from_cert_id(&short), Err(OcspError::BadCertId(_))));

        let mut params = good.clone();
        params.hash_algorithm.parameters = Some(Any::from(der::asn1::Utf8StringRef::new("x").unwrap()));
        assert!(matches!(CertIdentity::from_cert_id(&params), Err(OcspError::BadCertId(_))));

        // A 21-octet serial.
        let mut long = good.clone();
        long.serial_number = SerialNumber::from_der(&Uint::new(&[0x7F; 21]).unwrap().to_der().unwrap()).unwrap();
        assert!(matches!(CertIdentity::from_cert_id(&long), Err(OcspError::BadCertId(_))));

        // A negative serial (INTEGER -1).
        let mut negative = good;
        negative.serial_number = x509_cert::serial_number::SerialNumber::from_der(&[0x02, 0x01, 0xFF]).unwrap();
        assert!(matches!(CertIdentity::from_cert_id(&negative), Err(OcspError::BadCertId(_))));
    }

    #[test]
    fn twenty_octet_serials_with_the_high_bit_round_trip() {
        let ca = testutil::ca(CaKind::Auth);
        let serial = Serial::from_bytes(&[0xFF; 20]);
        let id = CertIdentity::new(ca.certificate(), &serial).unwrap();
        let der = id.to_cert_id().unwrap().to_der().unwrap();
        let back = CertIdentity::from_cert_id(&CertId::from_der(&der).unwrap()).unwrap();
        assert_eq!(back.serial(), &serial);
        assert_eq!(back.to_cert_id().unwrap().to_der().unwrap(), der);
    }

    #[test]
    fn from_issuer_der_and_of_certificate_agree() {
        let ca = testutil::ca(CaKind::Auth);
        let (_key, ee) = testutil::auth_cert(&ca);
        let ee = Certificate::from_der(&ee).unwrap();
        let serial = Serial::of(&ee.tbs_certificate.serial_number);
        let a = CertIdentity::from_issuer_der(CertIdHash::Sha256, ca.certificate_der(), &serial).unwrap();
        let b = CertIdentity::of_certificate(CertIdHash::Sha256, ca.certificate(), &ee).unwrap();
        assert_eq!(a, b);
        assert!(matches!(
            CertIdentity::from_issuer_der(CertIdHash::Sha1, b"junk", &serial),
            Err(OcspError::Der { .. })
        ));
    }
}
