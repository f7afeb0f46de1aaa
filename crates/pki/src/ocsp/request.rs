//! OCSP requests (RFC 6960 §4.1).
//!
//! ```text
//! OCSPRequest     ::=     SEQUENCE {
//!     tbsRequest                  TBSRequest,
//!     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
//!
//! TBSRequest      ::=     SEQUENCE {
//!     version             [0]     EXPLICIT Version DEFAULT v1,
//!     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
//!     requestList                 SEQUENCE OF Request,
//!     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
//!
//! Request         ::=     SEQUENCE {
//!     reqCert                     CertID,
//!     singleRequestExtensions     [0] EXPLICIT Extensions OPTIONAL }
//! ```

use der::{Decode, Encode};
use x509_ocsp::{OcspRequest, Request, TbsRequest, Version};

use super::{
    check_nonce, nonce_extension, nonce_value, scan_extensions, CertIdentity, OcspError, MAX_REQUEST_IDS,
    MAX_REQUEST_LEN,
};

/// Builds an unsigned DER `OCSPRequest` for `ids`, with the `id-pkix-ocsp-nonce` extension
/// when `nonce` is given (RFC 8954 form, 1..=32 bytes; openssl sends 16).
///
/// At most [`MAX_REQUEST_IDS`] ids; the nonce comes in as an argument because this crate has no
/// randomness of its own.
pub fn build_request(ids: &[CertIdentity], nonce: Option<&[u8]>) -> Result<Vec<u8>, OcspError> {
    if ids.is_empty() {
        return Err(OcspError::NoIds);
    }
    if ids.len() > MAX_REQUEST_IDS {
        return Err(OcspError::TooManyIds { count: ids.len(), max: MAX_REQUEST_IDS });
    }
    let request_list = ids
        .iter()
        .map(|id| Ok(Request { req_cert: id.to_cert_id()?, single_request_extensions: None }))
        .collect::<Result<Vec<_>, OcspError>>()?;
    let request_extensions = nonce.map(|n| nonce_extension(n).map(|e| vec![e])).transpose()?;
    let request = OcspRequest {
        tbs_request: TbsRequest { version: Version::V1, requestor_name: None, request_list, request_extensions },
        optional_signature: None,
    };
    request.to_der().map_err(OcspError::Encode)
}

/// A parsed `OCSPRequest`: the certificates asked about and the nonce, if any.
///
/// Signed requests are accepted, but the signature and `requestorName` are **ignored**: a
/// JPKI responder authorises registered verifiers at the transport (their HTTP credentials),
/// not by request signatures. [`ParsedRequest::is_signed`] tells whether one was present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    ids: Vec<CertIdentity>,
    nonce: Option<Vec<u8>>,
    signed: bool,
}

impl ParsedRequest {
    /// Parses a DER `OCSPRequest` (at most [`MAX_REQUEST_LEN`] bytes and [`MAX_REQUEST_IDS`]
    /// CertIDs; a nonce of 1..=32 bytes; no unknown critical extension).
    ///
    /// The nonce is read from the RFC 8954 form (an `OCTET STRING` inside `extnValue`, what
    /// openssl sends) or, failing that, taken as the raw `extnValue` of legacy clients.
    pub fn from_der(der: &[u8]) -> Result<ParsedRequest, OcspError> {
        if der.len() > MAX_REQUEST_LEN {
            return Err(OcspError::TooLarge { what: "OCSP request", len: der.len(), max: MAX_REQUEST_LEN });
        }
        let request = OcspRequest::from_der(der).map_err(|error| OcspError::Der { what: "OCSP request", error })?;
        let tbs = &request.tbs_request;
        let count = tbs.request_list.len();
        if count == 0 {
            return Err(OcspError::NoIds);
        }
        if count > MAX_REQUEST_IDS {
            return Err(OcspError::TooManyIds { count, max: MAX_REQUEST_IDS });
        }
        let mut ids = Vec::with_capacity(count);
        for r in &tbs.request_list {
            scan_extensions(r.single_request_extensions.as_deref(), false)?;
            ids.push(CertIdentity::from_cert_id(&r.req_cert)?);
        }
        let nonce = match scan_extensions(tbs.request_extensions.as_deref(), true)? {
            Some(ext) => {
                let value = nonce_value(ext);
                check_nonce(value)?;
                Some(value.to_vec())
            }
            None => None,
        };
        Ok(ParsedRequest { ids, nonce, signed: request.optional_signature.is_some() })
    }

    /// The certificates asked about, in request order (duplicates kept).
    pub fn ids(&self) -> &[CertIdentity] {
        &self.ids
    }

    /// The nonce value to echo in the response, if the client sent one.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.nonce.as_deref()
    }

    /// `true` when the request carried an `optionalSignature` (which was not checked).
    pub fn is_signed(&self) -> bool {
        self.signed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ocsp::CertIdHash;
    use crate::{testutil, CaKind, Serial};
    use der::asn1::{BitString, OctetString};
    use x509_cert::ext::Extension;

    fn ids(n: u64) -> Vec<CertIdentity> {
        let ca = testutil::ca(CaKind::Auth);
        (1..=n).map(|s| CertIdentity::new(ca.certificate(), &Serial::from_u64(s)).unwrap()).collect()
    }

    #[test]
    fn request_round_trips_with_and_without_nonce() {
        let ids = ids(3);
        let der = build_request(&ids, Some(&[7; 16])).unwrap();
        let parsed = ParsedRequest::from_der(&der).unwrap();
        assert_eq!(parsed.ids(), &ids[..]);
        assert_eq!(parsed.nonce(), Some(&[7u8; 16][..]));
        assert!(!parsed.is_signed());
        // Re-encoding what x509-ocsp read gives the same bytes.
        assert_eq!(OcspRequest::from_der(&der).unwrap().to_der().unwrap(), der);

        let bare = ParsedRequest::from_der(&build_request(&ids[..1], None).unwrap()).unwrap();
        assert_eq!(bare.nonce(), None);
        assert_eq!(bare.ids().len(), 1);
    }

    #[test]
    fn sha256_ids_survive_the_trip() {
        let ca = testutil::ca(CaKind::Signature);
        let id = CertIdentity::with_hash(CertIdHash::Sha256, ca.certificate(), &Serial::from_u64(9)).unwrap();
        let parsed = ParsedRequest::from_der(&build_request(std::slice::from_ref(&id), None).unwrap()).unwrap();
        assert_eq!(parsed.ids(), &[id]);
    }

    #[test]
    fn budgets_and_bad_nonces() {
        let many = ids(MAX_REQUEST_IDS as u64 + 1);
        assert!(matches!(build_request(&many, None), Err(OcspError::TooManyIds { count: 33, max: 32 })));
        assert!(matches!(build_request(&[], None), Err(OcspError::NoIds)));
        assert!(matches!(build_request(&many[..1], Some(&[0; 33])), Err(OcspError::NonceLength { .. })));

        // A hostile request with too many ids, built by hand with x509-ocsp.
        let list =
            many.iter().map(|id| Request { req_cert: id.to_cert_id().unwrap(), single_request_extensions: None });
        let hostile = OcspRequest {
            tbs_request: TbsRequest { request_list: list.collect(), ..Default::default() },
            optional_signature: None,
        }
        .to_der()
        .unwrap();
        assert!(matches!(ParsedRequest::from_der(&hostile), Err(OcspError::TooManyIds { count: 33, .. })));

        let empty = OcspRequest { tbs_request: TbsRequest::default(), optional_signature: None }.to_der().unwrap();
        assert!(matches!(ParsedRequest::from_der(&empty), Err(OcspError::NoIds)));

        assert!(matches!(ParsedRequest::from_der(&vec![0x30; MAX_REQUEST_LEN + 1]), Err(OcspError::TooLarge { .. })));
    }

    #[test]
    fn malformed_der_is_an_error_not_a_panic() {
        let der = build_request(&ids(2), Some(&[1; 16])).unwrap();
        for cut in 0..der.len() {
            assert!(ParsedRequest::from_der(&der[..cut]).is_err());
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(ParsedRequest::from_der(&trailing), Err(OcspError::Der { .. })));
        for i in 0..der.len() {
            let mut flipped = der.clone();
            flipped[i] ^= 0xFF;
            let _ = ParsedRequest::from_der(&flipped);
        }
    }

    #[test]
    fn oversized_nonce_and_unknown_critical_extensions_are_rejected() {
        let id = ids(1).remove(0);
        let mut req = OcspRequest::from_der(&build_request(&[id], Some(&[1; 16])).unwrap()).unwrap();
        let long = OctetString::new(der::asn1::OctetString::new(vec![0; 64]).unwrap().to_der().unwrap()).unwrap();
        req.tbs_request.request_extensions.as_mut().unwrap()[0].extn_value = long;
        assert!(matches!(ParsedRequest::from_der(&req.to_der().unwrap()), Err(OcspError::NonceLength { len: 64, .. })));

        let critical = Extension {
            extn_id: const_oid::db::rfc6960::ID_PKIX_OCSP_SERVICE_LOCATOR,
            critical: true,
            extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
        };
        req.tbs_request.request_extensions = None;
        req.tbs_request.request_list[0].single_request_extensions = Some(vec![critical.clone()]);
        assert!(matches!(
            ParsedRequest::from_der(&req.to_der().unwrap()),
            Err(OcspError::UnsupportedCriticalExtension(_))
        ));
        // Non-critical unknown extensions are ignored.
        let mut benign = critical;
        benign.critical = false;
        req.tbs_request.request_list[0].single_request_extensions = Some(vec![benign]);
        assert!(ParsedRequest::from_der(&req.to_der().unwrap()).is_ok());
    }

    #[test]
    fn signed_requests_are_accepted_signature_ignored() {
        let mut req = OcspRequest::from_der(&build_request(&ids(1), None).unwrap()).unwrap();
        req.optional_signature = Some(x509_ocsp::Signature {
            signature_algorithm: spki::AlgorithmIdentifierOwned { oid: crate::oid::SHA256_WITH_RSA, parameters: None },
            signature: BitString::from_bytes(&[0; 256]).unwrap(),
            certs: None,
        });
        let parsed = ParsedRequest::from_der(&req.to_der().unwrap()).unwrap();
        assert!(parsed.is_signed());
    }
}
