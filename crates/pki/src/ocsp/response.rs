//! OCSP responses: the responder side (RFC 6960 §4.2).
//!
//! ```text
//! OCSPResponse ::= SEQUENCE {
//!    responseStatus         OCSPResponseStatus,
//!    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
//!
//! ResponseBytes ::=       SEQUENCE {
//!    responseType   OBJECT IDENTIFIER,         -- id-pkix-ocsp-basic
//!    response       OCTET STRING }             -- DER of BasicOCSPResponse
//!
//! BasicOCSPResponse       ::= SEQUENCE {
//!    tbsResponseData      ResponseData,
//!    signatureAlgorithm   AlgorithmIdentifier,
//!    signature            BIT STRING,
//!    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//!
//! ResponseData ::= SEQUENCE {
//!    version              [0] EXPLICIT Version DEFAULT v1,
//!    responderID              ResponderID,
//!    producedAt               GeneralizedTime,
//!    responses                SEQUENCE OF SingleResponse,
//!    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
//!
//! ResponderID ::= CHOICE {
//!    byName   [1] Name,
//!    byKey    [2] KeyHash }   -- SHA-1 of the responder's subjectPublicKey
//!
//! SingleResponse ::= SEQUENCE {
//!    certID                       CertID,
//!    certStatus                   CertStatus,
//!    thisUpdate                   GeneralizedTime,
//!    nextUpdate           [0]     EXPLICIT GeneralizedTime OPTIONAL,
//!    singleExtensions     [1]     EXPLICIT Extensions OPTIONAL }
//!
//! CertStatus ::= CHOICE {
//!    good                [0]     IMPLICIT NULL,
//!    revoked             [1]     IMPLICIT RevokedInfo,
//!    unknown             [2]     IMPLICIT UnknownInfo }
//!
//! RevokedInfo ::= SEQUENCE {
//!    revocationTime              GeneralizedTime,
//!    revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
//! ```

use core::fmt;

use const_oid::db::rfc4519::{C, CN, O};
use der::asn1::{Any, BitString, Null, OctetString};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::OffsetDateTime;
use x509_cert::name::Name;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, ResponderId, ResponseData, RevokedInfo,
    SingleResponse, Version,
};

use super::verify::{check_delegate, issuer_key};
use super::{generalized_time, nonce_extension, CertIdentity, OcspError, MAX_RESPONSES};
use crate::{
    dn, key_identifier, oid, CaGeneration, CrlReason, IssueError, Profile, RevocationStatus, Serial,
    SignatureAlgorithm, Signer,
};

/// The subject DN of hanko's delegated OCSP responder certificates — clearly a test name:
/// `C=JP, O=JPKI-TEST, CN=hanko sandbox OCSP responder`.
pub fn responder_subject() -> der::Result<Name> {
    dn(&[(C, "JP"), (O, "JPKI-TEST"), (CN, "hanko sandbox OCSP responder")])
}

/// Issues a delegated OCSP responder certificate from `ca` for `public_key`
/// ([`Profile::ocsp_responder`]: keyUsage digitalSignature, EKU id-kp-OCSPSigning,
/// id-pkix-ocsp-nocheck, AKI, SKI; subject [`responder_subject`]). Returns the DER.
///
/// Responder certificates carry ocsp-nocheck, so keep them short-lived and rotate them.
pub fn issue_responder_certificate<S: Signer>(
    ca: &CaGeneration<S>,
    public_key: SubjectPublicKeyInfoOwned,
    serial: &Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Vec<u8>, IssueError> {
    ca.issue(&Profile::ocsp_responder(), serial, responder_subject()?, public_key, None, not_before, not_after)
}

/// Encodes an unsuccessful `OCSPResponse` (no `responseBytes`): `malformedRequest`,
/// `internalError`, `tryLater`, `sigRequired` or `unauthorized`. Such answers are unsigned
/// (RFC 6960 §2.3). `successful` is refused with [`OcspError::NotAnError`].
pub fn error_response(status: OcspResponseStatus) -> Result<Vec<u8>, OcspError> {
    if status == OcspResponseStatus::Successful {
        return Err(OcspError::NotAnError);
    }
    OcspResponse { response_status: status, response_bytes: None }.to_der().map_err(OcspError::Encode)
}

/// The `x509-cert` form of a revocation reason; `None` for unspecified (written as an absent
/// `revocationReason`, as RFC 5280 §5.3.1 asks of CRL entries).
fn reason(r: CrlReason) -> Result<Option<x509_cert::ext::pkix::CrlReason>, OcspError> {
    use x509_cert::ext::pkix::CrlReason as X;
    Ok(Some(match r {
        CrlReason::UNSPECIFIED => return Ok(None),
        CrlReason::KEY_COMPROMISE => X::KeyCompromise,
        CrlReason::CA_COMPROMISE => X::CaCompromise,
        CrlReason::AFFILIATION_CHANGED => X::AffiliationChanged,
        CrlReason::SUPERSEDED => X::Superseded,
        CrlReason::CESSATION_OF_OPERATION => X::CessationOfOperation,
        CrlReason::CERTIFICATE_HOLD => X::CertificateHold,
        CrlReason::REMOVE_FROM_CRL => X::RemoveFromCRL,
        CrlReason::PRIVILEGE_WITHDRAWN => X::PrivilegeWithdrawn,
        CrlReason::AA_COMPROMISE => X::AaCompromise,
        other => return Err(OcspError::Reason(other)),
    }))
}

/// Signs OCSP responses for one CA generation, either with the CA key itself
/// ([`Responder::issuer_signed`], [`Responder::for_ca`]) or with a delegated responder
/// certificate the CA issued ([`Responder::delegated`]), which is then sent in `certs`.
///
/// The ResponderID is always `byKey` (SHA-1 of the signer's subjectPublicKey): CA generations
/// share one DN, so a name would not say which key signed. Responses are signed
/// sha256WithRSAEncryption.
pub struct Responder<S> {
    signer: S,
    issuer: Certificate,
    key_hash: Vec<u8>,
    certificate: Option<Certificate>,
}

impl<S> fmt::Debug for Responder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("delegated", &self.certificate.is_some())
            .field("key_hash", &super::hex(&self.key_hash))
            .finish_non_exhaustive()
    }
}

impl<'a, S: Signer> Responder<&'a S> {
    /// The CA generation answering for itself with its own key.
    pub fn for_ca(ca: &'a CaGeneration<S>) -> Result<Responder<&'a S>, OcspError> {
        Responder::issuer_signed(ca.certificate(), ca.signer())
    }
}

impl<S: Signer> Responder<S> {
    /// The CA answering with its own key: `signer` must hold the key of `issuer`.
    pub fn issuer_signed(issuer: &Certificate, signer: S) -> Result<Responder<S>, OcspError> {
        if *signer.public_key() != issuer.tbs_certificate.subject_public_key_info {
            return Err(OcspError::KeyMismatch);
        }
        let key_hash = key_identifier(signer.public_key());
        Ok(Responder { signer, issuer: issuer.clone(), key_hash, certificate: None })
    }

    /// A delegated responder: `responder_certificate_der` must be issued (signed) by `issuer`,
    /// carry id-kp-OCSPSigning, and certify `signer`'s key.
    ///
    /// Its validity period is not checked here (no clock in this crate): rotate it before
    /// [`Responder::certificate`]'s notAfter, or clients will refuse the answers.
    pub fn delegated(
        issuer: &Certificate,
        responder_certificate_der: &[u8],
        signer: S,
    ) -> Result<Responder<S>, OcspError> {
        let certificate = Certificate::from_der(responder_certificate_der)
            .map_err(|error| OcspError::Der { what: "responder certificate", error })?;
        if *signer.public_key() != certificate.tbs_certificate.subject_public_key_info {
            return Err(OcspError::KeyMismatch);
        }
        check_delegate(&certificate, issuer, &issuer_key(issuer)?)?;
        let key_hash = key_identifier(signer.public_key());
        Ok(Responder { signer, issuer: issuer.clone(), key_hash, certificate: Some(certificate) })
    }

    /// `true` when answers are signed by a delegated responder certificate.
    pub fn is_delegated(&self) -> bool {
        self.certificate.is_some()
    }

    /// The delegated responder certificate, if any.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }

    /// The ResponderID `KeyHash`: SHA-1 of the signer's subjectPublicKey.
    pub fn key_hash(&self) -> &[u8] {
        &self.key_hash
    }

    /// `true` when `id` names a certificate of this responder's CA generation (hashes match its
    /// DN and key). Answer anything else `unknown`.
    pub fn serves(&self, id: &CertIdentity) -> bool {
        id.is_issued_by(&self.issuer)
    }

    /// Signs a successful response (`id-pkix-ocsp-basic`) with one SingleResponse per entry, in
    /// order, each with `this_update` and `next_update`; the nonce (if any) is echoed in
    /// `responseExtensions` in the RFC 8954 form.
    ///
    /// `good` and `revoked` may only be said about certificates this responder
    /// [serves](Responder::serves) ([`OcspError::ForeignCertificate`] otherwise); a revocation
    /// with reason unspecified is written without `revocationReason`. 1 to [`MAX_RESPONSES`]
    /// entries; `next_update` must be after `this_update` (JPKI: [`super::UPDATE_INTERVAL`]).
    pub fn respond(
        &self,
        entries: &[(CertIdentity, RevocationStatus)],
        produced_at: OffsetDateTime,
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, OcspError> {
        if entries.is_empty() {
            return Err(OcspError::NoIds);
        }
        if entries.len() > MAX_RESPONSES {
            return Err(OcspError::TooManyIds { count: entries.len(), max: MAX_RESPONSES });
        }
        if let Some(next) = next_update {
            if next <= this_update {
                return Err(OcspError::UpdateOrder { this_update, next_update: next });
            }
        }
        let this = generalized_time(this_update)?;
        let next = next_update.map(generalized_time).transpose()?;
        let mut responses = Vec::with_capacity(entries.len());
        for (id, status) in entries {
            let cert_status = match status {
                RevocationStatus::Unknown => CertStatus::unknown(),
                _ if !self.serves(id) => return Err(OcspError::ForeignCertificate { serial: id.serial().clone() }),
                RevocationStatus::Good => CertStatus::good(),
                RevocationStatus::Revoked(r) => CertStatus::Revoked(RevokedInfo {
                    revocation_time: generalized_time(r.revoked_at)?,
                    revocation_reason: reason(r.reason)?,
                }),
            };
            responses.push(SingleResponse {
                cert_id: id.to_cert_id()?,
                cert_status,
                this_update: this,
                next_update: next,
                single_extensions: None,
            });
        }
        let tbs_response_data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(OctetString::new(self.key_hash.clone()).map_err(OcspError::Encode)?),
            produced_at: generalized_time(produced_at)?,
            responses,
            response_extensions: nonce.map(|n| nonce_extension(n).map(|e| vec![e])).transpose()?,
        };
        let tbs = tbs_response_data.to_der().map_err(OcspError::Encode)?;
        let signature = self.signer.sign(SignatureAlgorithm::RsaPkcs1Sha256, &tbs).map_err(OcspError::Signer)?;
        let basic = BasicOcspResponse {
            tbs_response_data,
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: oid::SHA256_WITH_RSA,
                parameters: Some(Any::from(Null)),
            },
            signature: BitString::from_bytes(&signature).map_err(OcspError::Encode)?,
            certs: self.certificate.clone().map(|c| vec![c]),
        };
        OcspResponse::successful(basic).and_then(|r| r.to_der()).map_err(OcspError::Encode)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ocsp::testutil as t;
    use crate::{testutil, CaKind, Revocation, SoftwareKey};

    #[test]
    fn error_responses_are_bare_statuses() {
        for (status, code) in [
            (OcspResponseStatus::MalformedRequest, 1u8),
            (OcspResponseStatus::InternalError, 2),
            (OcspResponseStatus::TryLater, 3),
            (OcspResponseStatus::SigRequired, 5),
            (OcspResponseStatus::Unauthorized, 6),
        ] {
            assert_eq!(error_response(status).unwrap(), [0x30, 0x03, 0x0A, 0x01, code]);
        }
        assert_eq!(error_response(OcspResponseStatus::Successful), Err(OcspError::NotAnError));
    }

    #[test]
    fn responder_subject_is_a_test_name() {
        let ca = testutil::ca(CaKind::Auth);
        let (_key, der) = t::responder(&ca);
        let cert = Certificate::from_der(&der).unwrap();
        assert_eq!(cert.tbs_certificate.subject.to_string(), "CN=hanko sandbox OCSP responder,O=JPKI-TEST,C=JP");
        assert_eq!(cert.to_der().unwrap(), der);
    }

    #[test]
    fn responder_constructors_check_keys_and_authority() {
        let ca = testutil::ca(CaKind::Signature);
        let stranger = SoftwareKey::generate_rsa2048().unwrap();
        assert!(matches!(Responder::issuer_signed(ca.certificate(), &stranger), Err(OcspError::KeyMismatch)));
        let (key, der) = t::responder(&ca);
        assert!(matches!(Responder::delegated(ca.certificate(), &der, &stranger), Err(OcspError::KeyMismatch)));
        let r = Responder::delegated(ca.certificate(), &der, &key).unwrap();
        assert!(r.is_delegated());
        assert_eq!(r.key_hash(), key_identifier(key.public_key()));
        // A responder certificate from another CA generation (same DN) is refused.
        let other = testutil::ca(CaKind::Signature);
        assert!(matches!(
            Responder::delegated(other.certificate(), &der, &key),
            Err(OcspError::ResponderNotIssuedByCa)
        ));
        // An auth certificate is not an OCSP signer.
        let (ee_key, ee) = testutil::auth_cert(&ca);
        assert!(matches!(Responder::delegated(ca.certificate(), &ee, &ee_key), Err(OcspError::ResponderNotAuthorized)));
        assert!(matches!(Responder::delegated(ca.certificate(), b"junk", &key), Err(OcspError::Der { .. })));
    }

    #[test]
    fn respond_refuses_misuse() {
        let ca = testutil::ca(CaKind::Auth);
        let r = Responder::for_ca(&ca).unwrap();
        assert!(!r.is_delegated());
        let id = t::id(&ca, 1);
        let now = testutil::NOW;
        assert_eq!(r.respond(&[], now, now, None, None), Err(OcspError::NoIds));
        let many: Vec<_> = (0..=MAX_RESPONSES as u64).map(|s| (t::id(&ca, s), RevocationStatus::Good)).collect();
        assert!(matches!(r.respond(&many, now, now, None, None), Err(OcspError::TooManyIds { .. })));
        let good = [(id.clone(), RevocationStatus::Good)];
        assert!(matches!(r.respond(&good, now, now, Some(now), None), Err(OcspError::UpdateOrder { .. })));
        assert!(matches!(r.respond(&good, now, now, None, Some(&[])), Err(OcspError::NonceLength { .. })));
        let odd = [(id, RevocationStatus::Revoked(Revocation { revoked_at: now, reason: CrlReason(7) }))];
        assert!(matches!(r.respond(&odd, now, now, None, None), Err(OcspError::Reason(_))));

        // Good about another CA's certificate is a lie; unknown is the honest answer.
        let foreign = t::id(&testutil::ca(CaKind::Auth), 1);
        assert!(matches!(
            r.respond(&[(foreign.clone(), RevocationStatus::Good)], now, now, None, None),
            Err(OcspError::ForeignCertificate { .. })
        ));
        assert!(r.serves(&t::id(&ca, 1)) && !r.serves(&foreign));
        assert!(r.respond(&[(foreign, RevocationStatus::Unknown)], now, now, None, None).is_ok());
    }

    #[test]
    fn response_layout_is_as_rfc6960_says() {
        let ca = testutil::ca(CaKind::Auth);
        let r = Responder::for_ca(&ca).unwrap();
        let now = testutil::NOW;
        let revoked = Revocation { revoked_at: now - time::Duration::days(1), reason: CrlReason::AFFILIATION_CHANGED };
        let entries = [
            (t::id(&ca, 1), RevocationStatus::Good),
            (t::id(&ca, 2), RevocationStatus::Revoked(revoked)),
            (t::id(&ca, 3), RevocationStatus::Revoked(Revocation { revoked_at: now, reason: CrlReason::UNSPECIFIED })),
            (t::id(&ca, 4), RevocationStatus::Unknown),
        ];
        let der = r.respond(&entries, now, now, Some(now + super::super::UPDATE_INTERVAL), Some(&[9; 16])).unwrap();
        let resp = OcspResponse::from_der(&der).unwrap();
        assert_eq!(resp.to_der().unwrap(), der, "re-encodes byte for byte");
        assert_eq!(resp.response_status, OcspResponseStatus::Successful);
        let bytes = resp.response_bytes.unwrap();
        assert_eq!(bytes.response_type, const_oid::db::rfc6960::ID_PKIX_OCSP_BASIC);
        let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
        assert_eq!(basic.signature_algorithm.oid, oid::SHA256_WITH_RSA);
        assert!(basic.certs.is_none(), "issuer-signed: no certs");
        let data = &basic.tbs_response_data;
        assert_eq!(data.responder_id, ResponderId::ByKey(OctetString::new(ca.key_id()).unwrap()));
        assert_eq!(data.responses.len(), 4);
        assert_eq!(data.responses[0].cert_status, CertStatus::good());
        match &data.responses[1].cert_status {
            CertStatus::Revoked(info) => {
                assert_eq!(info.revocation_reason, Some(x509_cert::ext::pkix::CrlReason::AffiliationChanged));
            }
            other => panic!("{other:?}"),
        }
        match &data.responses[2].cert_status {
            CertStatus::Revoked(info) => assert_eq!(info.revocation_reason, None),
            other => panic!("{other:?}"),
        }
        assert_eq!(data.responses[3].cert_status, CertStatus::unknown());
        assert_eq!(data.nonce().unwrap().0.as_bytes(), &[9; 16]);
        // The signature covers tbsResponseData with the CA key.
        let key = crate::RsaPublicKey::from_spki(ca.signer().public_key()).unwrap();
        key.verify(SignatureAlgorithm::RsaPkcs1Sha256, &data.to_der().unwrap(), basic.signature.raw_bytes()).unwrap();
    }

    #[test]
    fn delegated_responses_carry_the_responder_certificate() {
        let ca = testutil::ca(CaKind::Signature);
        let (key, cert) = t::responder(&ca);
        let r = Responder::delegated(ca.certificate(), &cert, &key).unwrap();
        let now = testutil::NOW;
        let der = r.respond(&[(t::id(&ca, 1), RevocationStatus::Good)], now, now, None, None).unwrap();
        let basic = t::basic(&der);
        assert_eq!(basic.certs.unwrap()[0].to_der().unwrap(), cert);
        assert_eq!(
            basic.tbs_response_data.responder_id,
            ResponderId::ByKey(OctetString::new(key_identifier(key.public_key())).unwrap())
        );
        assert!(basic.tbs_response_data.response_extensions.is_none());
        assert!(basic.tbs_response_data.responses[0].next_update.is_none());
    }
}
