//! Fixtures for the OCSP unit tests.
#![allow(clippy::unwrap_used, unreachable_pub)]

use der::{Decode, Encode};
use rand_core::OsRng;
use time::Duration;
use x509_ocsp::{BasicOcspResponse, OcspResponse};

use super::{issue_responder_certificate, CertIdentity};
use crate::testutil::NOW;
use crate::{CaGeneration, Serial, Signer, SoftwareKey};

/// The SHA-1 CertID of serial `s` from `ca`.
pub fn id(ca: &CaGeneration<SoftwareKey>, s: u64) -> CertIdentity {
    CertIdentity::new(ca.certificate(), &Serial::from_u64(s)).unwrap()
}

/// A delegated responder key and certificate from `ca`, valid `NOW - 1 day .. NOW + 30 days`.
pub fn responder(ca: &CaGeneration<SoftwareKey>) -> (SoftwareKey, Vec<u8>) {
    let key = SoftwareKey::generate_rsa2048().unwrap();
    let der = issue_responder_certificate(
        ca,
        key.public_key().clone(),
        &Serial::random(&mut OsRng),
        NOW - Duration::days(1),
        NOW + Duration::days(30),
    )
    .unwrap();
    (key, der)
}

/// The BasicOCSPResponse inside a successful response.
pub fn basic(der: &[u8]) -> BasicOcspResponse {
    let resp = OcspResponse::from_der(der).unwrap();
    BasicOcspResponse::from_der(resp.response_bytes.unwrap().response.as_bytes()).unwrap()
}

/// Re-wraps a (possibly tampered) BasicOCSPResponse as a successful response.
pub fn wrap(basic: BasicOcspResponse) -> Vec<u8> {
    OcspResponse::successful(basic).unwrap().to_der().unwrap()
}

/// Decodes, changes and re-encodes the BasicOCSPResponse of `der` (signature untouched).
pub fn tamper(der: &[u8], f: impl FnOnce(&mut BasicOcspResponse)) -> Vec<u8> {
    let mut b = basic(der);
    f(&mut b);
    wrap(b)
}

/// Decodes and changes the BasicOCSPResponse of `der`, then signs it again with `key`.
pub fn resign(der: &[u8], key: &SoftwareKey, f: impl FnOnce(&mut BasicOcspResponse)) -> Vec<u8> {
    let mut b = basic(der);
    f(&mut b);
    let tbs = b.tbs_response_data.to_der().unwrap();
    let sig = key.sign(crate::SignatureAlgorithm::RsaPkcs1Sha256, &tbs).unwrap();
    b.signature = der::asn1::BitString::from_bytes(&sig).unwrap();
    wrap(b)
}

/// The ResponderID `byKey` of `key`.
pub fn by_key(key: &SoftwareKey) -> x509_ocsp::ResponderId {
    x509_ocsp::ResponderId::ByKey(der::asn1::OctetString::new(crate::key_identifier(key.public_key())).unwrap())
}
