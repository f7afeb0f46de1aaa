//! Client-side verification of OCSP responses (RFC 6960 §3.2, §4.2.2.2).
//!
//! A response is accepted only when, in this order:
//! 1. it is `successful` and of type `id-pkix-ocsp-basic`, DER, within the budgets;
//! 2. its signature verifies with the issuer CA's key (ResponderID naming the CA), or with a
//!    delegated responder certificate from `certs` that the ResponderID names, that the CA's
//!    key signed, that carries id-kp-OCSPSigning and that is valid now (RFC 6960 §4.2.2.2);
//! 3. the nonce sent is echoed exactly;
//! 4. every certificate asked about has exactly one SingleResponse, whose `thisUpdate` is not
//!    in the future, `nextUpdate` (if any) not passed and `thisUpdate` not older than
//!    `max_age`.

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES, ID_CE_CRL_DISTRIBUTION_POINTS,
    ID_CE_EXT_KEY_USAGE, ID_CE_ISSUER_ALT_NAME, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_KP_OCSP_SIGNING,
};
use const_oid::db::rfc6960::{ID_PKIX_OCSP_BASIC, ID_PKIX_OCSP_NOCHECK};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, ResponderId, SingleResponse};

use super::{
    from_generalized_time, nonce_value, scan_extensions, CertIdentity, OcspError, MAX_CLOCK_SKEW, MAX_RESPONSES,
    MAX_RESPONSE_CERTS, MAX_RESPONSE_LEN,
};
use crate::{
    from_x509_time, key_identifier, CrlReason, Revocation, RevocationStatus, RsaPublicKey, SignatureAlgorithm,
};

/// The verified status of one certificate, from one `SingleResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleStatus {
    /// The certificate, as the caller expected it.
    pub id: CertIdentity,
    /// good, revoked (time and reason; an absent reason reads as unspecified) or unknown.
    pub status: RevocationStatus,
    /// `thisUpdate`: when the status was known to be correct.
    pub this_update: OffsetDateTime,
    /// `nextUpdate`: when newer information will be available, if the responder said.
    pub next_update: Option<OffsetDateTime>,
}

/// The issuer CA's public key.
pub(super) fn issuer_key(issuer: &Certificate) -> Result<RsaPublicKey, OcspError> {
    RsaPublicKey::from_spki(&issuer.tbs_certificate.subject_public_key_info).map_err(OcspError::IssuerKey)
}

/// A signature `AlgorithmIdentifier` hanko verifies: sha{256,384,512}WithRSAEncryption with
/// parameters NULL or absent.
fn signature_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<SignatureAlgorithm, OcspError> {
    match SignatureAlgorithm::from_oid(alg.oid) {
        Some(a) if alg.parameters.as_ref().is_none_or(|p| p.is_null()) => Ok(a),
        _ => Err(OcspError::UnsupportedSignatureAlgorithm(alg.oid)),
    }
}

/// Extensions a delegated responder certificate may mark critical.
const KNOWN_CRITICAL: [ObjectIdentifier; 10] = [
    ID_CE_KEY_USAGE,
    ID_CE_EXT_KEY_USAGE,
    ID_CE_BASIC_CONSTRAINTS,
    ID_CE_CERTIFICATE_POLICIES,
    ID_CE_SUBJECT_ALT_NAME,
    ID_CE_ISSUER_ALT_NAME,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_CE_AUTHORITY_KEY_IDENTIFIER,
    ID_CE_CRL_DISTRIBUTION_POINTS,
    ID_PKIX_OCSP_NOCHECK,
];

/// Checks that `cert` is a delegated OCSP responder of `issuer` (RFC 6960 §4.2.2.2): issued
/// and signed by the issuer's key, id-kp-OCSPSigning in its EKU, digitalSignature in its
/// keyUsage if it has one, no unknown critical extension. Returns its public key. Validity in
/// time is the caller's business.
pub(super) fn check_delegate(
    cert: &Certificate,
    issuer: &Certificate,
    issuer_key: &RsaPublicKey,
) -> Result<RsaPublicKey, OcspError> {
    let tbs = &cert.tbs_certificate;
    if tbs.issuer != issuer.tbs_certificate.subject {
        return Err(OcspError::ResponderNotIssuedByCa);
    }
    let alg = signature_algorithm(&cert.signature_algorithm)?;
    if tbs.signature != cert.signature_algorithm {
        return Err(OcspError::ResponderCertificate("tbsCertificate.signature differs from signatureAlgorithm"));
    }
    let tbs_der = tbs.to_der().map_err(OcspError::Encode)?;
    let signature = cert.signature.as_bytes().ok_or(OcspError::ResponderNotIssuedByCa)?;
    issuer_key.verify(alg, &tbs_der, signature).map_err(|_| OcspError::ResponderNotIssuedByCa)?;

    let extensions = tbs.extensions.as_deref().unwrap_or_default();
    let mut ocsp_signing = false;
    let mut digital_signature = true;
    for (i, e) in extensions.iter().enumerate() {
        if extensions[..i].iter().any(|p| p.extn_id == e.extn_id) {
            return Err(OcspError::ResponderCertificate("duplicate extension"));
        }
        if e.critical && !KNOWN_CRITICAL.contains(&e.extn_id) {
            return Err(OcspError::ResponderCertificate("unknown critical extension"));
        }
        let value = e.extn_value.as_bytes();
        if e.extn_id == ID_CE_EXT_KEY_USAGE {
            let eku = ExtendedKeyUsage::from_der(value)
                .map_err(|_| OcspError::ResponderCertificate("malformed extendedKeyUsage"))?;
            ocsp_signing = eku.0.contains(&ID_KP_OCSP_SIGNING);
        } else if e.extn_id == ID_CE_KEY_USAGE {
            let ku = KeyUsage::from_der(value).map_err(|_| OcspError::ResponderCertificate("malformed keyUsage"))?;
            digital_signature = ku.0.contains(KeyUsages::DigitalSignature);
        }
    }
    if !ocsp_signing || !digital_signature {
        return Err(OcspError::ResponderNotAuthorized);
    }
    RsaPublicKey::from_spki(&tbs.subject_public_key_info)
        .map_err(|_| OcspError::ResponderCertificate("public key is not a usable RSA key"))
}

/// Does the ResponderID name this key / subject?
fn names(id: &ResponderId, cert: &Certificate) -> bool {
    match id {
        ResponderId::ByKey(hash) => hash.as_bytes() == key_identifier(&cert.tbs_certificate.subject_public_key_info),
        ResponderId::ByName(name) => *name == cert.tbs_certificate.subject,
    }
}

/// Finds the key that signed `basic` and verifies the signature (module docs, step 2).
fn verify_signature(basic: &BasicOcspResponse, issuer: &Certificate, now: OffsetDateTime) -> Result<(), OcspError> {
    let alg = signature_algorithm(&basic.signature_algorithm)?;
    let tbs = basic.tbs_response_data.to_der().map_err(OcspError::Encode)?;
    let signature = basic.signature.as_bytes().ok_or(OcspError::BadSignature)?;
    let responder_id = &basic.tbs_response_data.responder_id;
    let issuer_key = issuer_key(issuer)?;

    let mut failure = OcspError::UnknownResponder;
    if names(responder_id, issuer) {
        if issuer_key.verify(alg, &tbs, signature).is_ok() {
            return Ok(());
        }
        failure = OcspError::BadSignature;
    }
    let issuer_spki = &issuer.tbs_certificate.subject_public_key_info;
    for cert in basic.certs.as_deref().unwrap_or_default() {
        if !names(responder_id, cert) || cert.tbs_certificate.subject_public_key_info == *issuer_spki {
            continue;
        }
        let attempt = check_delegate(cert, issuer, &issuer_key).and_then(|key| {
            let validity = &cert.tbs_certificate.validity;
            let (not_before, not_after) = (from_x509_time(&validity.not_before), from_x509_time(&validity.not_after));
            if now + MAX_CLOCK_SKEW < not_before || now - MAX_CLOCK_SKEW > not_after {
                return Err(OcspError::ResponderExpired { now, not_before, not_after });
            }
            key.verify(alg, &tbs, signature).map_err(|_| OcspError::BadSignature)
        });
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) => failure = e,
        }
    }
    Err(failure)
}

/// The status of a SingleResponse.
fn status(s: &SingleResponse) -> RevocationStatus {
    match &s.cert_status {
        CertStatus::Good(_) => RevocationStatus::Good,
        CertStatus::Unknown(_) => RevocationStatus::Unknown,
        CertStatus::Revoked(info) => RevocationStatus::Revoked(Revocation {
            revoked_at: from_generalized_time(&info.revocation_time),
            // The x509-cert enum's discriminants are the CRLReason codes (0..=10).
            reason: info.revocation_reason.map_or(CrlReason::UNSPECIFIED, |r| CrlReason(r as u8)),
        }),
    }
}

/// Verifies a DER `OCSPResponse` about certificates of `issuer` (a CA certificate the caller
/// trusts) and returns the status of each `expected` certificate, in order.
///
/// `nonce` is the nonce sent in the request (it must come back exactly), `now` the
/// verification time and `max_age` the oldest acceptable `thisUpdate` (JPKI refreshes OCSP
/// status every 15 minutes, [`super::UPDATE_INTERVAL`]). Times are compared with
/// [`MAX_CLOCK_SKEW`] of tolerance, except `max_age`. See the module docs for every check.
///
/// A SingleResponse answers an expected certificate when its serial is the same and its
/// CertID hashes match `issuer`, whatever hash algorithm the responder chose. Extra
/// SingleResponses are ignored. Hostile input gives an error, never a panic.
pub fn verify_response(
    der: &[u8],
    issuer: &Certificate,
    expected: &[CertIdentity],
    nonce: Option<&[u8]>,
    now: OffsetDateTime,
    max_age: Duration,
) -> Result<Vec<SingleStatus>, OcspError> {
    if expected.is_empty() {
        return Err(OcspError::NoIds);
    }
    if let Some(foreign) = expected.iter().find(|id| !id.is_issued_by(issuer)) {
        return Err(OcspError::ForeignCertId { serial: foreign.serial().clone() });
    }
    if der.len() > MAX_RESPONSE_LEN {
        return Err(OcspError::TooLarge { what: "OCSP response", len: der.len(), max: MAX_RESPONSE_LEN });
    }
    let response = OcspResponse::from_der(der).map_err(|error| OcspError::Der { what: "OCSP response", error })?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(OcspError::Unsuccessful(response.response_status));
    }
    let bytes = response.response_bytes.ok_or(OcspError::NoResponseBytes)?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(OcspError::UnsupportedResponseType(bytes.response_type));
    }
    let raw = bytes.response.as_bytes();
    let basic =
        BasicOcspResponse::from_der(raw).map_err(|error| OcspError::Der { what: "BasicOCSPResponse", error })?;
    let data = &basic.tbs_response_data;
    if data.responses.len() > MAX_RESPONSES {
        return Err(OcspError::TooManyResponses { count: data.responses.len(), max: MAX_RESPONSES });
    }
    let cert_count = basic.certs.as_ref().map_or(0, Vec::len);
    if cert_count > MAX_RESPONSE_CERTS {
        return Err(OcspError::TooManyCerts { count: cert_count, max: MAX_RESPONSE_CERTS });
    }
    // The signature covers the bytes sent; insisting they are DER makes them the bytes we re-encode.
    if basic.to_der().map_err(OcspError::Encode)? != raw {
        return Err(OcspError::NotDer { what: "BasicOCSPResponse" });
    }

    verify_signature(&basic, issuer, now)?;

    let nonce_ext = scan_extensions(data.response_extensions.as_deref(), true)?;
    if let Some(sent) = nonce {
        let got = nonce_ext.ok_or(OcspError::NonceMissing)?;
        if nonce_value(got) != sent {
            return Err(OcspError::NonceMismatch);
        }
    }

    let mut singles = Vec::with_capacity(data.responses.len());
    for s in &data.responses {
        scan_extensions(s.single_extensions.as_deref(), false)?;
        let id = CertIdentity::from_cert_id(&s.cert_id)?;
        let ours = id.is_issued_by(issuer);
        singles.push((id, ours, s));
    }

    let mut out = Vec::with_capacity(expected.len());
    for want in expected {
        let mut matching = singles.iter().filter(|(id, ours, _)| *ours && id.serial() == want.serial());
        let (_, _, single) =
            matching.next().ok_or_else(|| OcspError::MissingResponse { serial: want.serial().clone() })?;
        if matching.next().is_some() {
            return Err(OcspError::DuplicateResponse { serial: want.serial().clone() });
        }
        let this_update = from_generalized_time(&single.this_update);
        let next_update = single.next_update.as_ref().map(from_generalized_time);
        if this_update > now + MAX_CLOCK_SKEW {
            return Err(OcspError::NotYetValid { this_update, now });
        }
        if let Some(next_update) = next_update {
            if now - MAX_CLOCK_SKEW > next_update {
                return Err(OcspError::Expired { next_update, now });
            }
        }
        if now - this_update > max_age {
            return Err(OcspError::TooOld { this_update, now, max_age });
        }
        out.push(SingleStatus { id: want.clone(), status: status(single), this_update, next_update });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ocsp::testutil as t;
    use crate::ocsp::{error_response, CertIdHash, Responder, MAX_RESPONSES, MAX_RESPONSE_CERTS, UPDATE_INTERVAL};
    use crate::testutil::{self, NOW};
    use crate::{CaGeneration, CaKind, Serial, Signer, SoftwareKey};
    use der::asn1::{BitString, OctetString};
    use x509_ocsp::ResponseBytes;

    const NONCE: &[u8] = &[0x5A; 16];
    const HOUR: Duration = Duration::hours(1);

    fn revoked() -> RevocationStatus {
        RevocationStatus::Revoked(Revocation {
            revoked_at: NOW - Duration::days(3),
            reason: CrlReason::AFFILIATION_CHANGED,
        })
    }

    /// An issuer-signed response from `ca`: 1 good, 2 revoked, 3 unknown; 15-minute window.
    fn answer(ca: &CaGeneration<SoftwareKey>, nonce: Option<&[u8]>) -> Vec<u8> {
        let entries = [
            (t::id(ca, 1), RevocationStatus::Good),
            (t::id(ca, 2), revoked()),
            (t::id(ca, 3), RevocationStatus::Unknown),
        ];
        Responder::for_ca(ca).unwrap().respond(&entries, NOW, NOW, Some(NOW + UPDATE_INTERVAL), nonce).unwrap()
    }

    fn verify(der: &[u8], ca: &CaGeneration<SoftwareKey>, serials: &[u64]) -> Result<Vec<SingleStatus>, OcspError> {
        let ids: Vec<_> = serials.iter().map(|s| t::id(ca, *s)).collect();
        verify_response(der, ca.certificate(), &ids, Some(NONCE), NOW, HOUR)
    }

    #[test]
    fn issuer_signed_good_revoked_unknown() {
        let ca = testutil::ca(CaKind::Signature);
        let der = answer(&ca, Some(NONCE));
        let got = verify(&der, &ca, &[3, 1, 2]).unwrap();
        assert_eq!(
            got.iter().map(|s| s.status).collect::<Vec<_>>(),
            [RevocationStatus::Unknown, RevocationStatus::Good, revoked()]
        );
        assert_eq!(got[1].id, t::id(&ca, 1));
        assert_eq!(got[1].this_update, NOW);
        assert_eq!(got[1].next_update, Some(NOW + UPDATE_INTERVAL));
    }

    #[test]
    fn delegated_good_and_revoked() {
        let ca = testutil::ca(CaKind::Auth);
        let (key, cert) = t::responder(&ca);
        let r = Responder::delegated(ca.certificate(), &cert, &key).unwrap();
        let entries = [(t::id(&ca, 1), RevocationStatus::Good), (t::id(&ca, 2), revoked())];
        let der = r.respond(&entries, NOW, NOW, None, Some(NONCE)).unwrap();
        let got = verify(&der, &ca, &[1, 2]).unwrap();
        assert_eq!(got[0].status, RevocationStatus::Good);
        assert_eq!(got[1].status, revoked());
        assert_eq!(got[0].next_update, None);
    }

    #[test]
    fn responder_id_by_name_is_accepted() {
        let ca = testutil::ca(CaKind::Signature);
        let der = t::resign(&answer(&ca, Some(NONCE)), ca.signer(), |b| {
            b.tbs_response_data.responder_id = ResponderId::ByName(ca.name().clone());
        });
        assert!(verify(&der, &ca, &[1]).is_ok());
    }

    #[test]
    fn sha256_cert_ids_answer_sha1_expectations() {
        let ca = testutil::ca(CaKind::Signature);
        let id256 = CertIdentity::with_hash(CertIdHash::Sha256, ca.certificate(), &Serial::from_u64(1)).unwrap();
        let der =
            Responder::for_ca(&ca).unwrap().respond(&[(id256, RevocationStatus::Good)], NOW, NOW, None, None).unwrap();
        let got = verify_response(&der, ca.certificate(), &[t::id(&ca, 1)], None, NOW, HOUR).unwrap();
        assert_eq!(got[0].status, RevocationStatus::Good);
    }

    #[test]
    fn nonce_missing_mismatched_or_unasked() {
        let ca = testutil::ca(CaKind::Auth);
        assert_eq!(verify(&answer(&ca, None), &ca, &[1]), Err(OcspError::NonceMissing));
        assert_eq!(verify(&answer(&ca, Some(&[0x5B; 16])), &ca, &[1]), Err(OcspError::NonceMismatch));
        // A nonce nobody asked for is harmless.
        let ids = [t::id(&ca, 1)];
        assert!(verify_response(&answer(&ca, Some(NONCE)), ca.certificate(), &ids, None, NOW, HOUR).is_ok());
    }

    #[test]
    fn response_for_another_certificate_is_refused() {
        let ca = testutil::ca(CaKind::Auth);
        let der = answer(&ca, Some(NONCE));
        assert_eq!(verify(&der, &ca, &[1, 4]), Err(OcspError::MissingResponse { serial: Serial::from_u64(4) }));
        // A SingleResponse about serial 1 of *another* CA generation does not answer for ours.
        let other = testutil::ca(CaKind::Auth);
        let foreign = Responder::for_ca(&ca)
            .unwrap()
            .respond(&[(t::id(&other, 1), RevocationStatus::Unknown)], NOW, NOW, None, Some(NONCE))
            .unwrap();
        assert_eq!(verify(&foreign, &ca, &[1]), Err(OcspError::MissingResponse { serial: Serial::from_u64(1) }));
        // Asking about another CA's certificate against this CA is caller misuse.
        let ids = [t::id(&other, 1)];
        assert!(matches!(
            verify_response(&der, ca.certificate(), &ids, None, NOW, HOUR),
            Err(OcspError::ForeignCertId { .. })
        ));
        assert_eq!(verify_response(&der, ca.certificate(), &[], None, NOW, HOUR), Err(OcspError::NoIds));
    }

    #[test]
    fn duplicate_answers_are_refused() {
        let ca = testutil::ca(CaKind::Auth);
        let der = t::resign(&answer(&ca, Some(NONCE)), ca.signer(), |b| {
            let first = b.tbs_response_data.responses[0].clone();
            b.tbs_response_data.responses.push(first);
        });
        assert_eq!(verify(&der, &ca, &[1]), Err(OcspError::DuplicateResponse { serial: Serial::from_u64(1) }));
    }

    #[test]
    fn forged_signatures_are_refused() {
        let ca = testutil::ca(CaKind::Signature);
        let der = answer(&ca, Some(NONCE));
        // Flip a signature bit.
        let flipped = t::tamper(&der, |b| {
            let mut sig = b.signature.raw_bytes().to_vec();
            sig[10] ^= 1;
            b.signature = BitString::from_bytes(&sig).unwrap();
        });
        assert_eq!(verify(&flipped, &ca, &[1]), Err(OcspError::BadSignature));
        // Turn "revoked" into "good" without re-signing.
        let whitewashed = t::tamper(&der, |b| b.tbs_response_data.responses[1].cert_status = CertStatus::good());
        assert_eq!(verify(&whitewashed, &ca, &[2]), Err(OcspError::BadSignature));
        // A stranger signs and claims to be the CA (ResponderID byKey of the CA).
        let stranger = SoftwareKey::generate_rsa2048().unwrap();
        let forged = t::resign(&der, &stranger, |_| {});
        assert_eq!(verify(&forged, &ca, &[1]), Err(OcspError::BadSignature));
        // A stranger names itself: nobody the verifier trusts.
        let unnamed = t::resign(&der, &stranger, |b| b.tbs_response_data.responder_id = t::by_key(&stranger));
        assert_eq!(verify(&unnamed, &ca, &[1]), Err(OcspError::UnknownResponder));
        // The same response checked against another CA generation with the same DN.
        let other = testutil::ca(CaKind::Signature);
        let ids = [t::id(&other, 1)];
        assert_eq!(verify_response(&der, other.certificate(), &ids, None, NOW, HOUR), Err(OcspError::UnknownResponder));
    }

    #[test]
    fn responder_certificate_not_from_the_issuer() {
        let ca = testutil::ca(CaKind::Signature);
        let other = testutil::ca(CaKind::Signature);
        let (key, cert) = t::responder(&ca);
        let r = Responder::delegated(ca.certificate(), &cert, &key).unwrap();
        let der = r.respond(&[(t::id(&ca, 1), RevocationStatus::Good)], NOW, NOW, None, Some(NONCE)).unwrap();
        // Same key and DN, but certified by another CA generation: the response signature is
        // still fine, the responder certificate is not.
        let impostor = crate::ocsp::issue_responder_certificate(
            &other,
            key.public_key().clone(),
            &Serial::from_u64(77),
            NOW - Duration::days(1),
            NOW + Duration::days(1),
        )
        .unwrap();
        let swapped = t::tamper(&der, |b| {
            b.certs = Some(vec![Certificate::from_der(&impostor).unwrap()]);
        });
        assert_eq!(verify(&swapped, &ca, &[1]), Err(OcspError::ResponderNotIssuedByCa));
        // And without any certificate, the ResponderID names nobody known.
        let bare = t::tamper(&der, |b| b.certs = None);
        assert_eq!(verify(&bare, &ca, &[1]), Err(OcspError::UnknownResponder));
    }

    #[test]
    fn responder_without_ocsp_signing_is_refused() {
        let ca = testutil::ca(CaKind::Auth);
        let (key, cert) = testutil::auth_cert(&ca);
        let der = t::resign(&answer(&ca, Some(NONCE)), &key, |b| {
            b.tbs_response_data.responder_id = t::by_key(&key);
            b.certs = Some(vec![Certificate::from_der(&cert).unwrap()]);
        });
        assert_eq!(verify(&der, &ca, &[1]), Err(OcspError::ResponderNotAuthorized));
    }

    #[test]
    fn expired_responder_certificate_is_refused() {
        let ca = testutil::ca(CaKind::Auth);
        let (key, cert) = t::responder(&ca);
        let r = Responder::delegated(ca.certificate(), &cert, &key).unwrap();
        let later = NOW + Duration::days(60);
        let der = r.respond(&[(t::id(&ca, 1), RevocationStatus::Good)], later, later, None, None).unwrap();
        let ids = [t::id(&ca, 1)];
        assert!(matches!(
            verify_response(&der, ca.certificate(), &ids, None, later, HOUR),
            Err(OcspError::ResponderExpired { .. })
        ));
    }

    #[test]
    fn stale_future_and_old_responses_are_refused() {
        let ca = testutil::ca(CaKind::Auth);
        let der = answer(&ca, Some(NONCE));
        let ids = [t::id(&ca, 1)];
        let at = |now| verify_response(&der, ca.certificate(), &ids, Some(NONCE), now, HOUR);
        // Within the skew on both sides.
        assert!(at(NOW - MAX_CLOCK_SKEW).is_ok());
        assert!(at(NOW + UPDATE_INTERVAL + MAX_CLOCK_SKEW).is_ok());
        assert!(matches!(at(NOW - MAX_CLOCK_SKEW - Duration::SECOND), Err(OcspError::NotYetValid { .. })));
        assert!(matches!(
            at(NOW + UPDATE_INTERVAL + MAX_CLOCK_SKEW + Duration::SECOND),
            Err(OcspError::Expired { .. })
        ));
        // No nextUpdate: only max_age limits it.
        let open = Responder::for_ca(&ca)
            .unwrap()
            .respond(&[(ids[0].clone(), RevocationStatus::Good)], NOW, NOW, None, None)
            .unwrap();
        let late = NOW + Duration::minutes(61);
        assert!(matches!(
            verify_response(&open, ca.certificate(), &ids, None, late, HOUR),
            Err(OcspError::TooOld { .. })
        ));
        assert!(verify_response(&open, ca.certificate(), &ids, None, late, 2 * HOUR).is_ok());
    }

    #[test]
    fn unsuccessful_and_odd_envelopes() {
        let ca = testutil::ca(CaKind::Auth);
        let try_later = error_response(OcspResponseStatus::TryLater).unwrap();
        assert_eq!(verify(&try_later, &ca, &[1]), Err(OcspError::Unsuccessful(OcspResponseStatus::TryLater)));
        let empty = OcspResponse { response_status: OcspResponseStatus::Successful, response_bytes: None };
        assert_eq!(verify(&empty.to_der().unwrap(), &ca, &[1]), Err(OcspError::NoResponseBytes));
        let other_type = OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: ID_PKIX_OCSP_NOCHECK,
                response: OctetString::new(vec![0x05, 0x00]).unwrap(),
            }),
        };
        assert_eq!(
            verify(&other_type.to_der().unwrap(), &ca, &[1]),
            Err(OcspError::UnsupportedResponseType(ID_PKIX_OCSP_NOCHECK))
        );
        let md5 = t::tamper(&answer(&ca, Some(NONCE)), |b| {
            b.signature_algorithm.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.4");
        });
        assert!(matches!(verify(&md5, &ca, &[1]), Err(OcspError::UnsupportedSignatureAlgorithm(_))));
    }

    #[test]
    fn budgets_on_responses_and_certs() {
        let ca = testutil::ca(CaKind::Auth);
        let der = answer(&ca, Some(NONCE));
        let crowded = t::resign(&der, ca.signer(), |b| {
            let one = b.tbs_response_data.responses[2].clone();
            b.tbs_response_data.responses = vec![one; MAX_RESPONSES + 1];
        });
        assert!(matches!(verify(&crowded, &ca, &[1]), Err(OcspError::TooManyResponses { .. })));
        let heavy = t::tamper(&der, |b| b.certs = Some(vec![ca.certificate().clone(); MAX_RESPONSE_CERTS + 1]));
        assert!(matches!(verify(&heavy, &ca, &[1]), Err(OcspError::TooManyCerts { .. })));
        assert!(matches!(verify(&vec![0x30; MAX_RESPONSE_LEN + 1], &ca, &[1]), Err(OcspError::TooLarge { .. })));
    }

    #[test]
    fn non_der_encodings_are_refused() {
        let ca = testutil::ca(CaKind::Auth);
        let der = t::resign(&answer(&ca, Some(NONCE)), ca.signer(), |b| {
            b.tbs_response_data.response_extensions.as_mut().unwrap()[0].critical = true;
        });
        // id-pkix-ocsp-nonce, then critical BOOLEAN TRUE: rewrite it as an explicit FALSE, which
        // DER forbids for a DEFAULT FALSE field (same length, so no other byte changes).
        let pattern = [0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02, 0x01, 0x01, 0xFF];
        let at = der.windows(pattern.len()).position(|w| w == pattern).unwrap();
        let mut patched = der.clone();
        patched[at + pattern.len() - 1] = 0x00;
        let got = verify(&patched, &ca, &[1]);
        assert!(matches!(got, Err(OcspError::NotDer { .. })), "{got:?}");
    }

    #[test]
    fn malformed_der_is_an_error_not_a_panic() {
        let ca = testutil::ca(CaKind::Auth);
        let (key, cert) = t::responder(&ca);
        let der = Responder::delegated(ca.certificate(), &cert, &key)
            .unwrap()
            .respond(&[(t::id(&ca, 1), revoked())], NOW, NOW, Some(NOW + UPDATE_INTERVAL), Some(NONCE))
            .unwrap();
        assert!(verify(&der, &ca, &[1]).is_ok());
        for cut in 0..der.len() {
            assert!(verify(&der[..cut], &ca, &[1]).is_err());
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(verify(&trailing, &ca, &[1]), Err(OcspError::Der { .. })));
        // Every single-byte corruption is refused (or, at worst, still the same answer).
        for i in 0..der.len() {
            let mut flipped = der.clone();
            flipped[i] ^= 0x41;
            if let Ok(s) = verify(&flipped, &ca, &[1]) {
                assert_eq!(s[0].status, revoked(), "byte {i}");
            }
        }
        assert!(matches!(verify(b"", &ca, &[1]), Err(OcspError::Der { .. })));
    }
}
