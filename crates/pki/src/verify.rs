//! The verifier: chain to trusted CA generations, validity, profile, revocation, and the
//! signature over the document — returning proof types (shared/spec/20-pki.md §5).
//!
//! JPKI is a two-level PKI: every end-entity certificate is signed directly by one generation
//! of the signature CA or the user-authentication CA. Generations share one DN, so the issuer
//! is chosen by key identifier and signature, never by name alone.

use std::collections::HashMap;

use time::OffsetDateTime;
use x509_cert::ext::pkix::KeyUsages;

use crate::cert::{CertError, JpkiCertificate};
use crate::crl::CrlIndex;
use crate::crypto::{KeyError, RsaPublicKey};
use crate::{
    cms, ocsp, BasicFacts, CaKind, CertKind, CrlReason, DigestAlgorithm, DigestInfo, PolicySet, RevocationMeaning,
    RevocationStatus, Serial, SignatureAlgorithm,
};

/// Why verification failed. Hostile input and caller misuse are told apart by variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The certificate does not parse.
    #[error("certificate: {0}")]
    Certificate(#[from] CertError),
    /// A trust anchor is not a self-signed CA certificate (caller misuse).
    #[error("trust anchor rejected: {0}")]
    BadAnchor(String),
    /// No trusted CA generation has the issuer's name and key.
    #[error("unknown issuer {issuer}")]
    UnknownIssuer {
        /// The issuer DN.
        issuer: String,
    },
    /// A trusted CA generation with the issuer's name exists, but none of their keys signed it.
    #[error("certificate signature does not verify with any CA generation named {issuer}")]
    CertificateSignatureInvalid {
        /// The issuer DN.
        issuer: String,
    },
    /// The certificate is not yet valid at the verification time.
    #[error("certificate not valid before {not_before} (checked at {at})")]
    NotYetValid {
        /// Verification time.
        at: OffsetDateTime,
        /// notBefore.
        not_before: OffsetDateTime,
    },
    /// The certificate expired.
    #[error("certificate expired at {not_after} (checked at {at})")]
    Expired {
        /// Verification time.
        at: OffsetDateTime,
        /// notAfter.
        not_after: OffsetDateTime,
    },
    /// The issuing CA generation is not valid at the verification time.
    #[error("issuing CA generation is not valid at {at}")]
    IssuerNotValid {
        /// Verification time.
        at: OffsetDateTime,
    },
    /// The certificate is of another kind than the use requires.
    #[error("a {found:?} certificate cannot be used for {usage:?}")]
    WrongKind {
        /// The use.
        usage: Usage,
        /// The kind found.
        found: CertKind,
    },
    /// keyUsage lacks a bit the use needs.
    #[error("keyUsage lacks {missing}")]
    KeyUsage {
        /// The missing bit.
        missing: &'static str,
    },
    /// The certificate policy is not the one of its kind in the trusted hierarchy.
    #[error("certificate policy {found:?} is not {expected}")]
    Policy {
        /// The policies found.
        found: Vec<const_oid::ObjectIdentifier>,
        /// The policy required.
        expected: const_oid::ObjectIdentifier,
    },
    /// The certificate was issued by the other CA (e.g. an auth certificate from the signature CA).
    #[error("a {kind:?} certificate must come from the {expected:?} CA")]
    WrongCa {
        /// The certificate kind.
        kind: CertKind,
        /// The CA it must come from.
        expected: CaKind,
    },
    /// The certificate is revoked.
    #[error("certificate {serial} revoked at {revoked_at} ({reason})")]
    Revoked {
        /// Its serial.
        serial: Serial,
        /// revocationDate.
        revoked_at: OffsetDateTime,
        /// The CRL reason.
        reason: CrlReason,
        /// What it means for the business.
        meaning: RevocationMeaning,
    },
    /// OCSP answered `unknown` for the certificate.
    #[error("revocation source does not know certificate {0}")]
    RevocationUnknown(Serial),
    /// No CRL of the issuing CA generation was supplied.
    #[error("no CRL for the issuing CA generation")]
    CrlMissing,
    /// The CRL is past its nextUpdate.
    #[error("CRL expired at {next_update} (checked at {at})")]
    CrlStale {
        /// Verification time.
        at: OffsetDateTime,
        /// nextUpdate.
        next_update: OffsetDateTime,
    },
    /// A CRL could not be used.
    #[error("CRL: {0}")]
    Crl(String),
    /// The OCSP response could not be used.
    #[error("OCSP: {0}")]
    Ocsp(String),
    /// The holder's public key is unusable.
    #[error("holder key: {0}")]
    Key(#[from] KeyError),
    /// The document signature does not verify with the certificate's key.
    #[error("signature does not verify with the certificate's key")]
    SignatureInvalid,
    /// A digest of the wrong length for its algorithm.
    #[error("digest is {got} bytes, {algorithm:?} needs {expected}")]
    DigestLength {
        /// The algorithm.
        algorithm: DigestAlgorithm,
        /// Its length.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The CMS message could not be verified.
    #[error("CMS: {0}")]
    Cms(String),
}

/// What a certificate is being used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Usage {
    /// An electronic signature (署名): signature certificates, nonRepudiation.
    Signature,
    /// User authentication (利用者証明): auth certificates, digitalSignature.
    Authentication,
}

/// One trusted CA generation.
pub struct TrustAnchor {
    cert: JpkiCertificate,
    key: RsaPublicKey,
    kind: CaKind,
    name_der: Vec<u8>,
    key_id: Vec<u8>,
}

impl TrustAnchor {
    /// The CA certificate.
    pub fn certificate(&self) -> &JpkiCertificate {
        &self.cert
    }
    /// Signature or auth CA.
    pub fn kind(&self) -> CaKind {
        self.kind
    }
    /// The generation's key identifier (SKI, or SHA-1 of its key when absent).
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }
    /// Its public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.key
    }
}

/// The trusted CA generations and the policy OIDs of their hierarchy.
pub struct TrustStore {
    anchors: Vec<TrustAnchor>,
    policies: PolicySet,
}

impl TrustStore {
    /// An empty store for a hierarchy using `policies` (sandbox or production).
    pub fn new(policies: PolicySet) -> TrustStore {
        TrustStore { anchors: Vec::new(), policies }
    }

    /// Adds a CA generation after checking it is a CA whose self-signature verifies.
    pub fn add_anchor(&mut self, der: &[u8], kind: CaKind) -> Result<&TrustAnchor, VerifyError> {
        let cert = JpkiCertificate::from_der(der)?;
        if cert.kind() != CertKind::Ca || !cert.key_usage().contains(KeyUsages::KeyCertSign) {
            return Err(VerifyError::BadAnchor("not a CA certificate with keyCertSign".into()));
        }
        let key = RsaPublicKey::from_spki(&cert.x509().tbs_certificate.subject_public_key_info)?;
        key.verify(cert.signature_algorithm(), cert.tbs_der(), cert.signature())
            .map_err(|_| VerifyError::BadAnchor("self-signature does not verify".into()))?;
        let name_der = cert.subject_der().map_err(|e| VerifyError::BadAnchor(e.to_string()))?;
        let key_id = match cert.subject_key_id() {
            Some(id) => id.to_vec(),
            None => crate::key_identifier(&cert.x509().tbs_certificate.subject_public_key_info),
        };
        if self.anchors.iter().any(|a| a.key_id == key_id) {
            return Err(VerifyError::BadAnchor("this CA generation is already trusted".into()));
        }
        self.anchors.push(TrustAnchor { cert, key, kind, name_der, key_id });
        Ok(&self.anchors[self.anchors.len() - 1])
    }

    /// The trusted generations.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// The policy OIDs required of end entities.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The anchor that signed `cert`: candidates by key identifier when the certificate has an
    /// AKI, else by DN; the one whose key verifies the signature wins.
    fn issuer_of(&self, cert: &JpkiCertificate) -> Result<&TrustAnchor, VerifyError> {
        let issuer_der = cert.issuer_der().map_err(|e| CertError::Der(e))?;
        let issuer = || cert.x509().tbs_certificate.issuer.to_string();
        let mut candidates = self.anchors.iter().filter(|a| a.name_der == issuer_der).peekable();
        if candidates.peek().is_none() {
            return Err(VerifyError::UnknownIssuer { issuer: issuer() });
        }
        let by_key_id: Vec<&TrustAnchor> = match cert.authority_key_id() {
            Some(aki) => candidates.filter(|a| a.key_id == aki).collect(),
            None => candidates.collect(),
        };
        if by_key_id.is_empty() {
            return Err(VerifyError::UnknownIssuer { issuer: issuer() });
        }
        by_key_id
            .into_iter()
            .find(|a| a.key.verify(cert.signature_algorithm(), cert.tbs_der(), cert.signature()).is_ok())
            .ok_or_else(|| VerifyError::CertificateSignatureInvalid { issuer: issuer() })
    }
}

/// CRL indexes of the trusted CA generations, keyed by the issuer's key identifier.
#[derive(Default)]
pub struct CrlSet {
    by_issuer: HashMap<Vec<u8>, CrlIndex>,
}

impl CrlSet {
    /// An empty set.
    pub fn new() -> CrlSet {
        CrlSet::default()
    }

    /// Verifies a full CRL against the trusted generation that signed it and indexes it,
    /// replacing an older one of the same issuer. Returns the issuer's key identifier.
    pub fn add(&mut self, trust: &TrustStore, der: &[u8]) -> Result<Vec<u8>, VerifyError> {
        let parsed = crate::crl::ParsedCrl::from_der(der).map_err(|e| VerifyError::Crl(e.to_string()))?;
        let anchor = trust
            .anchors()
            .iter()
            .find(|a| parsed.verify_signature(&a.key).is_ok())
            .ok_or_else(|| VerifyError::Crl("signed by no trusted CA generation".into()))?;
        let index = CrlIndex::from_crl(&parsed).map_err(|e| VerifyError::Crl(e.to_string()))?;
        self.by_issuer.insert(anchor.key_id.clone(), index);
        Ok(anchor.key_id.clone())
    }

    /// The index of one issuer.
    pub fn get(&self, issuer_key_id: &[u8]) -> Option<&CrlIndex> {
        self.by_issuer.get(issuer_key_id)
    }

    /// Inserts an index the caller verified itself.
    pub fn insert(&mut self, issuer_key_id: Vec<u8>, index: CrlIndex) {
        self.by_issuer.insert(issuer_key_id, index);
    }
}

/// Where revocation status comes from.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum RevocationCheck<'a> {
    /// The daily CRLs, indexed.
    Crl(&'a CrlSet),
    /// An OCSP response for this certificate (and the nonce sent, if any).
    Ocsp {
        /// The DER response.
        response: &'a [u8],
        /// The nonce of the request.
        nonce: Option<&'a [u8]>,
        /// Oldest acceptable thisUpdate, relative to the verification time.
        max_age: time::Duration,
    },
    /// Do not check revocation (recorded as such in the proof).
    Skip,
}

/// How revocation was checked, kept as evidence (証跡).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationEvidence {
    /// Checked against a CRL.
    Crl {
        /// Its cRLNumber.
        crl_number: u64,
        /// Its thisUpdate.
        this_update: OffsetDateTime,
    },
    /// Checked by OCSP.
    Ocsp {
        /// The SingleResponse thisUpdate.
        this_update: OffsetDateTime,
    },
    /// Not checked.
    NotChecked,
}

/// Proof that a certificate chains to a trusted CA generation, is valid at `verified_at`, fits
/// its profile and is not revoked. Only the verifier constructs it.
#[derive(Debug, Clone)]
pub struct VerifiedCertificate {
    cert: JpkiCertificate,
    issuer_key_id: Vec<u8>,
    revocation: RevocationEvidence,
    verified_at: OffsetDateTime,
}

impl VerifiedCertificate {
    /// The certificate.
    pub fn certificate(&self) -> &JpkiCertificate {
        &self.cert
    }
    /// Its kind.
    pub fn kind(&self) -> CertKind {
        self.cert.kind()
    }
    /// Its serial (発行番号) — the identity of an authenticated user.
    pub fn serial(&self) -> &Serial {
        self.cert.serial()
    }
    /// The 4 facts (signature certificates).
    pub fn facts(&self) -> Option<&BasicFacts> {
        self.cert.facts()
    }
    /// The key identifier of the CA generation that issued it.
    pub fn issuer_key_id(&self) -> &[u8] {
        &self.issuer_key_id
    }
    /// How revocation was checked.
    pub fn revocation(&self) -> &RevocationEvidence {
        &self.revocation
    }
    /// The time the checks were made for.
    pub fn verified_at(&self) -> OffsetDateTime {
        self.verified_at
    }
}

/// Proof that a document signature was made with the key of a [`VerifiedCertificate`].
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    certificate: VerifiedCertificate,
    digest_algorithm: DigestAlgorithm,
    digest: Vec<u8>,
    signing_time: Option<OffsetDateTime>,
}

impl VerifiedSignature {
    /// The signer's verified certificate.
    pub fn certificate(&self) -> &VerifiedCertificate {
        &self.certificate
    }
    /// The hash of the signed data.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }
    /// The digest of the signed data (for CMS, of the content).
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }
    /// The CMS signingTime, if the signer stated one.
    pub fn signing_time(&self) -> Option<OffsetDateTime> {
        self.signing_time
    }
}

/// Proof that the holder of a verified user-authentication certificate signed a challenge.
#[derive(Debug, Clone)]
pub struct VerifiedAuthentication {
    certificate: VerifiedCertificate,
}

impl VerifiedAuthentication {
    /// The holder's verified auth certificate; identify the user by its serial.
    pub fn certificate(&self) -> &VerifiedCertificate {
        &self.certificate
    }
}

/// The data a raw signature covers.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// The data itself (hashed here).
    Data(&'a [u8]),
    /// A digest computed elsewhere (e.g. an RP sends only the hash).
    Digest(&'a [u8]),
}

/// Verifies certificates and signatures against a [`TrustStore`].
pub struct Verifier<'a> {
    trust: &'a TrustStore,
}

impl<'a> Verifier<'a> {
    /// A verifier over `trust`.
    pub fn new(trust: &'a TrustStore) -> Verifier<'a> {
        Verifier { trust }
    }

    /// Verifies a certificate for `usage` at time `at`, with revocation from `revocation`.
    pub fn verify_certificate(
        &self,
        der: &[u8],
        usage: Usage,
        at: OffsetDateTime,
        revocation: RevocationCheck<'_>,
    ) -> Result<VerifiedCertificate, VerifyError> {
        let cert = JpkiCertificate::from_der(der)?;
        self.verify_parsed(cert, usage, at, revocation)
    }

    fn verify_parsed(
        &self,
        cert: JpkiCertificate,
        usage: Usage,
        at: OffsetDateTime,
        revocation: RevocationCheck<'_>,
    ) -> Result<VerifiedCertificate, VerifyError> {
        // Profile first: cheap, and tells the caller what is wrong before any RSA work.
        let (kinds, ca, usage_bits): (&[CertKind], CaKind, &[(KeyUsages, &str)]) = match usage {
            Usage::Signature => (
                &[CertKind::Signature, CertKind::SmartphoneSignature],
                CaKind::Signature,
                &[(KeyUsages::DigitalSignature, "digitalSignature"), (KeyUsages::NonRepudiation, "nonRepudiation")],
            ),
            Usage::Authentication => (
                &[CertKind::Auth, CertKind::SmartphoneAuth],
                CaKind::Auth,
                &[(KeyUsages::DigitalSignature, "digitalSignature")],
            ),
        };
        if !kinds.contains(&cert.kind()) {
            return Err(VerifyError::WrongKind { usage, found: cert.kind() });
        }
        for (bit, missing) in usage_bits {
            if !cert.key_usage().contains(*bit) {
                return Err(VerifyError::KeyUsage { missing });
            }
        }
        let expected = self.trust.policies.for_kind(cert.kind()).unwrap_or(crate::oid::POLICY_SIGNATURE);
        if !cert.policies().contains(&expected) {
            return Err(VerifyError::Policy { found: cert.policies().to_vec(), expected });
        }
        if at < cert.not_before() {
            return Err(VerifyError::NotYetValid { at, not_before: cert.not_before() });
        }
        if at > cert.not_after() {
            return Err(VerifyError::Expired { at, not_after: cert.not_after() });
        }

        let anchor = self.trust.issuer_of(&cert)?;
        if anchor.kind != ca {
            return Err(VerifyError::WrongCa { kind: cert.kind(), expected: ca });
        }
        if at < anchor.cert.not_before() || at > anchor.cert.not_after() {
            return Err(VerifyError::IssuerNotValid { at });
        }

        let evidence = check_revocation(&cert, anchor, at, revocation)?;
        Ok(VerifiedCertificate { issuer_key_id: anchor.key_id.clone(), cert, revocation: evidence, verified_at: at })
    }

    /// Verifies a raw RSASSA-PKCS1-v1_5 signature (what `80 2A` on the card returns) over
    /// `signed` with the certificate's key, after verifying the certificate for signatures.
    pub fn verify_signature(
        &self,
        cert_der: &[u8],
        digest_algorithm: DigestAlgorithm,
        signed: Signed<'_>,
        signature: &[u8],
        at: OffsetDateTime,
        revocation: RevocationCheck<'_>,
    ) -> Result<VerifiedSignature, VerifyError> {
        let certificate = self.verify_certificate(cert_der, Usage::Signature, at, revocation)?;
        let digest = check_raw(&certificate, digest_algorithm, signed, signature)?;
        Ok(VerifiedSignature { certificate, digest_algorithm, digest, signing_time: None })
    }

    /// Verifies a user-authentication response: `signature` over `challenge` (hashed with
    /// `digest_algorithm`, as the card signs a DigestInfo of it) by a user-authentication
    /// certificate.
    pub fn verify_authentication(
        &self,
        cert_der: &[u8],
        challenge: &[u8],
        digest_algorithm: DigestAlgorithm,
        signature: &[u8],
        at: OffsetDateTime,
        revocation: RevocationCheck<'_>,
    ) -> Result<VerifiedAuthentication, VerifyError> {
        let certificate = self.verify_certificate(cert_der, Usage::Authentication, at, revocation)?;
        check_raw(&certificate, digest_algorithm, Signed::Data(challenge), signature)?;
        Ok(VerifiedAuthentication { certificate })
    }

    /// Verifies a CMS SignedData (attached, or detached with `detached_content`) whose signer
    /// holds a signature certificate.
    pub fn verify_cms(
        &self,
        cms_der: &[u8],
        detached_content: Option<&[u8]>,
        at: OffsetDateTime,
        revocation: RevocationCheck<'_>,
    ) -> Result<VerifiedSignature, VerifyError> {
        let message = cms::SignedMessage::from_der(cms_der).map_err(|e| VerifyError::Cms(e.to_string()))?;
        let signature = message.verify(detached_content).map_err(|e| VerifyError::Cms(e.to_string()))?;
        let certificate = self.verify_certificate(signature.signer_certificate_der(), Usage::Signature, at, revocation)?;
        Ok(VerifiedSignature {
            certificate,
            digest_algorithm: signature.digest_algorithm(),
            digest: signature.content_digest().to_vec(),
            signing_time: signature.signing_time(),
        })
    }
}

/// Verifies a raw PKCS#1 v1.5 signature with the certificate's key; returns the digest.
fn check_raw(
    certificate: &VerifiedCertificate,
    algorithm: DigestAlgorithm,
    signed: Signed<'_>,
    signature: &[u8],
) -> Result<Vec<u8>, VerifyError> {
    let key = RsaPublicKey::from_spki(&certificate.cert.x509().tbs_certificate.subject_public_key_info)?;
    let digest = match signed {
        Signed::Data(data) => algorithm.digest(data),
        Signed::Digest(d) => DigestInfo::new(algorithm, d)
            .map_err(|_| VerifyError::DigestLength { algorithm, expected: algorithm.output_len(), got: d.len() })?
            .digest,
    };
    key.verify_digest(SignatureAlgorithm::for_digest(algorithm), &digest, signature)
        .map_err(|_| VerifyError::SignatureInvalid)?;
    Ok(digest)
}

fn revoked(serial: &Serial, status: RevocationStatus) -> Result<(), VerifyError> {
    match status {
        RevocationStatus::Good => Ok(()),
        RevocationStatus::Revoked(r) => Err(VerifyError::Revoked {
            serial: serial.clone(),
            revoked_at: r.revoked_at,
            reason: r.reason,
            meaning: r.reason.meaning(),
        }),
        RevocationStatus::Unknown => Err(VerifyError::RevocationUnknown(serial.clone())),
    }
}

fn check_revocation(
    cert: &JpkiCertificate,
    anchor: &TrustAnchor,
    at: OffsetDateTime,
    check: RevocationCheck<'_>,
) -> Result<RevocationEvidence, VerifyError> {
    match check {
        RevocationCheck::Skip => Ok(RevocationEvidence::NotChecked),
        RevocationCheck::Crl(set) => {
            let index = set.get(&anchor.key_id).ok_or(VerifyError::CrlMissing)?;
            if let Some(next_update) = index.next_update() {
                if at > next_update {
                    return Err(VerifyError::CrlStale { at, next_update });
                }
            }
            let status = match index.lookup(cert.serial()) {
                Some(r) => RevocationStatus::Revoked(r),
                None => RevocationStatus::Good,
            };
            revoked(cert.serial(), status)?;
            Ok(RevocationEvidence::Crl { crl_number: index.crl_number(), this_update: index.this_update() })
        }
        RevocationCheck::Ocsp { response, nonce, max_age } => {
            let id = ocsp::CertIdentity::new(anchor.cert.x509(), cert.serial())
                .map_err(|e| VerifyError::Ocsp(e.to_string()))?;
            let statuses = ocsp::verify_response(response, anchor.cert.x509(), &[id], nonce, at, max_age)
                .map_err(|e| VerifyError::Ocsp(e.to_string()))?;
            let single = statuses.into_iter().next().ok_or_else(|| VerifyError::Ocsp("no status".into()))?;
            revoked(cert.serial(), single.status)?;
            Ok(RevocationEvidence::Ocsp { this_update: single.this_update })
        }
    }
}
