//! The verifier: chain to trusted CA generations, validity, profile, revocation, and the
//! signature over the document — returning proof types (shared/spec/20-pki.md §5).
//!
//! JPKI is a two-level PKI: every end-entity certificate is signed directly by one generation
//! of the signature CA or the user-authentication CA. Generations share one DN, so the issuer
//! is chosen by key identifier and signature, never by name alone.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;
use x509_cert::ext::pkix::KeyUsages;

use crate::cert::{CertError, JpkiCertificate};
use crate::crl::CrlIndex;
use crate::crypto::{KeyError, RsaPublicKey};
use crate::display::{oids, rfc3339};
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
    #[error("certificate not valid before {} (checked at {})", rfc3339(.not_before), rfc3339(.at))]
    NotYetValid {
        /// Verification time.
        at: OffsetDateTime,
        /// notBefore.
        not_before: OffsetDateTime,
    },
    /// The certificate expired.
    #[error("certificate expired at {} (checked at {})", rfc3339(.not_after), rfc3339(.at))]
    Expired {
        /// Verification time.
        at: OffsetDateTime,
        /// notAfter.
        not_after: OffsetDateTime,
    },
    /// The issuing CA generation is not valid at the verification time.
    #[error("issuing CA generation is not valid at {}", rfc3339(.at))]
    IssuerNotValid {
        /// Verification time.
        at: OffsetDateTime,
    },
    /// The certificate is of another kind than the use requires.
    #[error("{} certificates cannot be used for {}", .found.as_str(), .usage.as_str())]
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
    #[error("certificate policy {} is not {expected}", oids(.found))]
    Policy {
        /// The policies found.
        found: Vec<const_oid::ObjectIdentifier>,
        /// The policy required.
        expected: const_oid::ObjectIdentifier,
    },
    /// The certificate was issued by the other CA (e.g. an auth certificate from the signature CA).
    #[error("{} certificates must come from the {} CA", .kind.as_str(), .expected.as_str())]
    WrongCa {
        /// The certificate kind.
        kind: CertKind,
        /// The CA it must come from.
        expected: CaKind,
    },
    /// The certificate is revoked.
    #[error("certificate {serial} revoked at {} ({reason})", rfc3339(.revoked_at))]
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
    /// The CRL was issued after the certificate expired. An authority drops expired
    /// certificates from its CRLs, so its absence says nothing: the revocation status at the
    /// (earlier) verification time is unknown, not good. A CRL from before the expiry is needed.
    #[error("revocation status of certificate {serial} unknown: it expired at {not_after}, before the CRL of {this_update} was issued")]
    CrlAfterExpiry {
        /// The certificate's serial.
        serial: Serial,
        /// The certificate's notAfter.
        not_after: OffsetDateTime,
        /// The CRL's thisUpdate.
        this_update: OffsetDateTime,
    },
    /// The CRL is past its nextUpdate.
    #[error("CRL expired at {} (checked at {})", rfc3339(.next_update), rfc3339(.at))]
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
    #[error("digest is {got} bytes, {} needs {expected}", .algorithm.name())]
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

impl Usage {
    /// `signature` or `user authentication`, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Signature => "signature",
            Usage::Authentication => "user authentication",
        }
    }
}

/// One trusted CA generation.
pub struct TrustAnchor {
    cert: JpkiCertificate,
    x509: x509_cert::Certificate,
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
    /// The CA certificate as x509-cert decodes it.
    pub fn x509(&self) -> &x509_cert::Certificate {
        &self.x509
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
        let x509 = cert.to_x509()?;
        let key = RsaPublicKey::from_spki_der(cert.public_key_der())?;
        key.verify(cert.signature_algorithm(), cert.tbs_der(), cert.signature())
            .map_err(|_| VerifyError::BadAnchor("self-signature does not verify".into()))?;
        if cert.issuer_der() != cert.subject_der() {
            return Err(VerifyError::BadAnchor("not self-issued".into()));
        }
        let name_der = cert.subject_der().to_vec();
        let key_id = match cert.subject_key_id() {
            Some(id) => id.to_vec(),
            None => crate::key_identifier(&x509.tbs_certificate.subject_public_key_info),
        };
        if self.anchors.iter().any(|a| a.key_id == key_id) {
            return Err(VerifyError::BadAnchor("this CA generation is already trusted".into()));
        }
        self.anchors.push(TrustAnchor { cert, x509, key, kind, name_der, key_id });
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
        let issuer_der = cert.issuer_der();
        let issuer = || cert.issuer_string();
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
///
/// Each index is shared (`Arc`): cloning a set is cheap, so a service replaces one generation's
/// CRL in a clone and switches the clone in, without re-indexing the other generations.
#[derive(Default, Clone)]
pub struct CrlSet {
    by_issuer: HashMap<Vec<u8>, Arc<CrlIndex>>,
}

impl CrlSet {
    /// An empty set.
    pub fn new() -> CrlSet {
        CrlSet::default()
    }

    /// Verifies a full CRL against the trusted generation that signed it and indexes it,
    /// replacing the one held for that generation only if its cRLNumber is higher. CRLs without
    /// nextUpdate are refused. Returns the issuer's key identifier.
    pub fn add(&mut self, trust: &TrustStore, der: &[u8]) -> Result<Vec<u8>, VerifyError> {
        let parsed = crate::crl::ParsedCrl::from_der(der).map_err(|e| VerifyError::Crl(e.to_string()))?;
        // The generation named by the CRL's authorityKeyIdentifier, else any whose key verifies.
        let anchor = trust
            .anchors()
            .iter()
            .filter(|a| parsed.authority_key_id().is_none_or(|id| id == a.key_id.as_slice()))
            .find(|a| parsed.verify_signature(&a.key).is_ok())
            .ok_or_else(|| VerifyError::Crl("signed by no trusted CA generation".into()))?;
        if parsed.next_update().is_none() {
            return Err(VerifyError::Crl("no nextUpdate: a CRL must say when it goes stale".into()));
        }
        let index = CrlIndex::from_crl(&parsed).map_err(|e| VerifyError::Crl(e.to_string()))?;
        if let Some(current) = self.by_issuer.get(&anchor.key_id) {
            // Never roll back: an older CRL, still unexpired, would hide newer revocations.
            if index.crl_number() <= current.crl_number() {
                return Err(VerifyError::Crl(format!(
                    "CRL #{} is not newer than the CRL #{} already held for this CA generation",
                    index.crl_number(),
                    current.crl_number()
                )));
            }
        }
        self.by_issuer.insert(anchor.key_id.clone(), Arc::new(index));
        Ok(anchor.key_id.clone())
    }

    /// The index of one issuer.
    pub fn get(&self, issuer_key_id: &[u8]) -> Option<&CrlIndex> {
        self.by_issuer.get(issuer_key_id).map(Arc::as_ref)
    }

    /// The shared index of one issuer (the same `Arc` in every clone of the set that holds it).
    pub fn get_shared(&self, issuer_key_id: &[u8]) -> Option<&Arc<CrlIndex>> {
        self.by_issuer.get(issuer_key_id)
    }

    /// The issuers' key identifiers and their indexes.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Arc<CrlIndex>)> {
        self.by_issuer.iter().map(|(k, v)| (k.as_slice(), v))
    }

    /// Inserts an index the caller verified itself.
    pub fn insert(&mut self, issuer_key_id: Vec<u8>, index: CrlIndex) {
        self.by_issuer.insert(issuer_key_id, Arc::new(index));
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
    form: SignedForm,
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
    /// What the signature's padding carried: a DigestInfo, or the bare digest.
    pub fn form(&self) -> SignedForm {
        self.form
    }
}

/// What a verified PKCS#1 v1.5 signature's padding carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedForm {
    /// A DER DigestInfo (standard RSASSA-PKCS1-v1_5; CMS, the card's usual input).
    DigestInfo,
    /// The bare digest bytes, no DigestInfo ([`Signed::BareDigest`]).
    BareDigest,
}

impl SignedForm {
    /// `digest_info` / `hash`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignedForm::DigestInfo => "digest_info",
            SignedForm::BareDigest => "hash",
        }
    }
}

/// Proof that a signature certificate's key signed `data` with PKCS#1 v1.5 and **SHA-1** — what
/// older tools (e.g. jpki-cli 0.4) produce. Kept apart from [`VerifiedSignature`] so that code
/// expecting SHA-256 or stronger never receives it by accident.
#[derive(Debug, Clone)]
pub struct VerifiedLegacySha1Signature {
    certificate: VerifiedCertificate,
}

impl VerifiedLegacySha1Signature {
    /// The signer's verified certificate.
    pub fn certificate(&self) -> &VerifiedCertificate {
        &self.certificate
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
    /// A digest the card signed as is, with no DigestInfo: the signature's recovered content is
    /// exactly these bytes (the authentication app service's sign API when the RP submits a bare
    /// hash). It must be `digest_algorithm`'s length, but the signature itself names no algorithm.
    BareDigest(&'a [u8]),
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
        let expected =
            self.trust.policies.for_kind(cert.kind()).ok_or(VerifyError::WrongKind { usage, found: cert.kind() })?;
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
        let (digest, form) = check_raw(&certificate, digest_algorithm, signed, signature)?;
        Ok(VerifiedSignature { certificate, digest_algorithm, digest, signing_time: None, form })
    }

    /// Verifies a legacy SHA-1 PKCS#1 v1.5 signature over `data` by a signature certificate.
    pub fn verify_legacy_sha1_signature(
        &self,
        cert_der: &[u8],
        data: &[u8],
        signature: &[u8],
        at: OffsetDateTime,
        revocation: RevocationCheck<'_>,
    ) -> Result<VerifiedLegacySha1Signature, VerifyError> {
        let certificate = self.verify_certificate(cert_der, Usage::Signature, at, revocation)?;
        let key = RsaPublicKey::from_rsa_spki_der(certificate.cert.public_key_der())?;
        key.verify_legacy_sha1(data, signature).map_err(|_| VerifyError::SignatureInvalid)?;
        Ok(VerifiedLegacySha1Signature { certificate })
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
        let certificate =
            self.verify_certificate(signature.signer_certificate_der(), Usage::Signature, at, revocation)?;
        Ok(VerifiedSignature {
            certificate,
            digest_algorithm: signature.digest_algorithm(),
            digest: signature.content_digest().to_vec(),
            signing_time: signature.signing_time(),
            form: SignedForm::DigestInfo,
        })
    }
}

/// Verifies a raw PKCS#1 v1.5 signature with the certificate's key; returns the digest and
/// what the padding carried.
fn check_raw(
    certificate: &VerifiedCertificate,
    algorithm: DigestAlgorithm,
    signed: Signed<'_>,
    signature: &[u8],
) -> Result<(Vec<u8>, SignedForm), VerifyError> {
    let key = RsaPublicKey::from_rsa_spki_der(certificate.cert.public_key_der())?;
    let digest = match signed {
        Signed::BareDigest(d) => {
            if d.len() != algorithm.output_len() {
                return Err(VerifyError::DigestLength { algorithm, expected: algorithm.output_len(), got: d.len() });
            }
            key.verify_unprefixed(d, signature).map_err(|_| VerifyError::SignatureInvalid)?;
            return Ok((d.to_vec(), SignedForm::BareDigest));
        }
        Signed::Data(data) => algorithm.digest(data),
        Signed::Digest(d) => {
            DigestInfo::new(algorithm, d)
                .map_err(|_| VerifyError::DigestLength { algorithm, expected: algorithm.output_len(), got: d.len() })?
                .digest
        }
    };
    key.verify_digest(SignatureAlgorithm::for_digest(algorithm), &digest, signature)
        .map_err(|_| VerifyError::SignatureInvalid)?;
    Ok((digest, SignedForm::DigestInfo))
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
                // Expired entries are dropped from later CRLs: absence vouches for nothing then.
                None if index.this_update() > cert.not_after() => {
                    return Err(VerifyError::CrlAfterExpiry {
                        serial: cert.serial().clone(),
                        not_after: cert.not_after(),
                        this_update: index.this_update(),
                    })
                }
                None => RevocationStatus::Good,
            };
            revoked(cert.serial(), status)?;
            Ok(RevocationEvidence::Crl { crl_number: index.crl_number(), this_update: index.this_update() })
        }
        RevocationCheck::Ocsp { response, nonce, max_age } => {
            let id =
                ocsp::CertIdentity::new(&anchor.x509, cert.serial()).map_err(|e| VerifyError::Ocsp(e.to_string()))?;
            let statuses = ocsp::verify_response(response, &anchor.x509, &[id], nonce, at, max_age)
                .map_err(|e| VerifyError::Ocsp(e.to_string()))?;
            let single = statuses.into_iter().next().ok_or_else(|| VerifyError::Ocsp("no status".into()))?;
            revoked(cert.serial(), single.status)?;
            Ok(RevocationEvidence::Ocsp { this_update: single.this_update })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use der::{Decode, Encode};
    use time::macros::datetime;
    use x509_cert::ext::pkix::KeyUsage;
    use x509_cert::Certificate;

    use super::*;
    use crate::crl::{CrlBuilder, CrlEntry};
    use crate::testutil::{self, NOW};
    use crate::{CaGeneration, Revocation, Signer, SoftwareKey};

    struct World {
        sign_ca: CaGeneration<SoftwareKey>,
        auth_ca: CaGeneration<SoftwareKey>,
        trust: TrustStore,
    }

    fn world() -> World {
        let sign_ca = testutil::ca(CaKind::Signature);
        let auth_ca = testutil::ca(CaKind::Auth);
        let mut trust = TrustStore::new(PolicySet::sandbox());
        trust.add_anchor(sign_ca.certificate_der(), CaKind::Signature).unwrap();
        trust.add_anchor(auth_ca.certificate_der(), CaKind::Auth).unwrap();
        World { sign_ca, auth_ca, trust }
    }

    fn crls(w: &World, revoked: &[CrlEntry]) -> CrlSet {
        let mut set = CrlSet::new();
        let (t, n) = crate::crl::daily_window(NOW);
        for ca in [&w.sign_ca, &w.auth_ca] {
            let der = CrlBuilder::new(1, t, n).with_entries(revoked.iter().cloned()).sign(ca).unwrap();
            set.add(&w.trust, &der).unwrap();
        }
        set
    }

    /// Re-signs `der` with `key` after `edit` — a certificate with a valid signature but a
    /// changed body, as a buggy or hostile CA would make.
    fn resign(der: &[u8], key: &SoftwareKey, edit: impl FnOnce(&mut Certificate)) -> Vec<u8> {
        let mut c = Certificate::from_der(der).unwrap();
        edit(&mut c);
        let tbs = c.tbs_certificate.to_der().unwrap();
        let sig = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, &tbs).unwrap();
        c.signature = der::asn1::BitString::from_bytes(&sig).unwrap();
        c.to_der().unwrap()
    }

    #[test]
    fn signature_with_crl_returns_the_facts() {
        let w = world();
        let (key, cert) = testutil::signature_cert(&w.sign_ca);
        let set = crls(&w, &[]);
        let doc = b"application";
        let sig = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, doc).unwrap();
        let v = Verifier::new(&w.trust);
        let ok = v
            .verify_signature(&cert, DigestAlgorithm::Sha256, Signed::Data(doc), &sig, NOW, RevocationCheck::Crl(&set))
            .unwrap();
        assert_eq!(ok.certificate().facts(), Some(&testutil::facts()));
        assert_eq!(ok.certificate().issuer_key_id(), w.sign_ca.key_id());
        assert!(matches!(ok.certificate().revocation(), RevocationEvidence::Crl { crl_number: 1, .. }));
        // The same through a digest, for each hash.
        for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512] {
            let d = alg.digest(doc);
            let s = key.sign_digest(SignatureAlgorithm::for_digest(alg), &d).unwrap();
            v.verify_signature(&cert, alg, Signed::Digest(&d), &s, NOW, RevocationCheck::Crl(&set)).unwrap();
        }
        // Forged: another key's signature, or the document changed.
        let other = SoftwareKey::generate_rsa2048().unwrap().sign(SignatureAlgorithm::RsaPkcs1Sha256, doc).unwrap();
        let e =
            v.verify_signature(&cert, DigestAlgorithm::Sha256, Signed::Data(doc), &other, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
        let e = v.verify_signature(
            &cert,
            DigestAlgorithm::Sha256,
            Signed::Data(b"applicatioN"),
            &sig,
            NOW,
            RevocationCheck::Skip,
        );
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
        let e = v.verify_signature(
            &cert,
            DigestAlgorithm::Sha256,
            Signed::Digest(&[0; 20]),
            &sig,
            NOW,
            RevocationCheck::Skip,
        );
        assert!(matches!(e.unwrap_err(), VerifyError::DigestLength { got: 20, .. }));
    }

    /// A bare SHA-256 padded and signed as is (what the card's `80 2A` makes of 32 bytes that
    /// are not a DigestInfo: the chip pads with `rsa`'s unprefixed PKCS#1 v1.5) verifies as the
    /// bare-digest form only; the standard form is refused, and a tampered signature fails both.
    #[test]
    fn a_bare_digest_signature_verifies_only_as_the_bare_form() {
        use rsa::pkcs8::DecodePrivateKey;
        let w = world();
        let (key, cert) = testutil::signature_cert(&w.sign_ca);
        let set = crls(&w, &[]);
        let chip = rsa::RsaPrivateKey::from_pkcs8_der(&key.to_pkcs8().unwrap()).unwrap();
        let hash = DigestAlgorithm::Sha256.digest(b"application");
        let sig = chip.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &hash).unwrap();
        let v = Verifier::new(&w.trust);
        let sha256 = DigestAlgorithm::Sha256;
        let ok = v.verify_signature(&cert, sha256, Signed::BareDigest(&hash), &sig, NOW, RevocationCheck::Crl(&set));
        let ok = ok.unwrap();
        assert_eq!((ok.form(), ok.form().as_str(), ok.digest()), (SignedForm::BareDigest, "hash", &hash[..]));
        assert!(matches!(ok.certificate().revocation(), RevocationEvidence::Crl { .. }));
        let e = v.verify_signature(&cert, sha256, Signed::Digest(&hash), &sig, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
        // The standard form the other way round: a DigestInfo signature is not a bare one.
        let standard = key.sign_digest(SignatureAlgorithm::RsaPkcs1Sha256, &hash).unwrap();
        let ok = v.verify_signature(&cert, sha256, Signed::Digest(&hash), &standard, NOW, RevocationCheck::Skip);
        assert_eq!(ok.unwrap().form(), SignedForm::DigestInfo);
        let e = v.verify_signature(&cert, sha256, Signed::BareDigest(&hash), &standard, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
        // Tampered (each byte position class: first, middle, last), another hash, another key.
        for i in [0, sig.len() / 2, sig.len() - 1] {
            let mut bad = sig.clone();
            bad[i] ^= 0x01;
            for signed in [Signed::BareDigest(&hash), Signed::Digest(&hash)] {
                let e = v.verify_signature(&cert, sha256, signed, &bad, NOW, RevocationCheck::Skip);
                assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid, "byte {i}");
            }
        }
        let other = DigestAlgorithm::Sha256.digest(b"applicatioN");
        let e = v.verify_signature(&cert, sha256, Signed::BareDigest(&other), &sig, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
        let stranger =
            rsa::RsaPrivateKey::from_pkcs8_der(&SoftwareKey::generate_rsa2048().unwrap().to_pkcs8().unwrap());
        let forged = stranger.unwrap().sign(rsa::Pkcs1v15Sign::new_unprefixed(), &hash).unwrap();
        let e = v.verify_signature(&cert, sha256, Signed::BareDigest(&hash), &forged, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
        // A truncated signature, and a digest of the wrong length for the algorithm.
        let e = v.verify_signature(&cert, sha256, Signed::BareDigest(&hash), &sig[1..], NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
        let e = v.verify_signature(&cert, sha256, Signed::BareDigest(&hash[..20]), &sig, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::DigestLength { got: 20, .. }));
    }

    #[test]
    fn revoked_certificate_carries_reason_and_meaning() {
        let w = world();
        let (_, cert) = testutil::signature_cert(&w.sign_ca);
        let serial = JpkiCertificate::from_der(&cert).unwrap().serial().clone();
        let at = datetime!(2025-12-31 03:00 UTC);
        for (reason, meaning) in [
            (CrlReason::AFFILIATION_CHANGED, RevocationMeaning::FactsChanged),
            (CrlReason::SUPERSEDED, RevocationMeaning::Renewed),
            (CrlReason::CERTIFICATE_HOLD, RevocationMeaning::Lost),
        ] {
            let set = crls(&w, &[CrlEntry { serial: serial.clone(), revoked_at: at, reason }]);
            let e =
                Verifier::new(&w.trust).verify_certificate(&cert, Usage::Signature, NOW, RevocationCheck::Crl(&set));
            assert_eq!(
                e.unwrap_err(),
                VerifyError::Revoked { serial: serial.clone(), revoked_at: at, reason, meaning }
            );
        }
    }

    #[test]
    fn stale_or_missing_crl_is_refused() {
        let w = world();
        let (_, cert) = testutil::signature_cert(&w.sign_ca);
        let set = crls(&w, &[]);
        let later = NOW + time::Duration::days(2);
        let e = Verifier::new(&w.trust).verify_certificate(&cert, Usage::Signature, later, RevocationCheck::Crl(&set));
        assert!(matches!(e.unwrap_err(), VerifyError::CrlStale { .. }));
        let e = Verifier::new(&w.trust).verify_certificate(
            &cert,
            Usage::Signature,
            NOW,
            RevocationCheck::Crl(&CrlSet::new()),
        );
        assert_eq!(e.unwrap_err(), VerifyError::CrlMissing);
    }

    /// Finding 2.7: at a past verification time a CRL issued after the certificate expired
    /// vouched "not revoked" — but the authority drops expired entries, so it cannot know.
    #[test]
    fn crl_issued_after_the_certificate_expired_does_not_vouch_not_revoked() {
        let w = world();
        let (_, der) = testutil::signature_cert(&w.sign_ca);
        let not_after = JpkiCertificate::from_der(&der).unwrap().not_after();
        let at = NOW + time::Duration::days(1); // the certificate was valid then
        let crl_at = |this_update: OffsetDateTime| {
            let der = CrlBuilder::new(1, this_update, this_update + time::Duration::days(30)).sign(&w.sign_ca).unwrap();
            let mut set = CrlSet::new();
            set.add(&w.trust, &der).unwrap();
            set
        };
        let after_expiry = crl_at(not_after + time::Duration::days(1));
        let e =
            Verifier::new(&w.trust).verify_certificate(&der, Usage::Signature, at, RevocationCheck::Crl(&after_expiry));
        assert!(
            matches!(e, Err(VerifyError::CrlAfterExpiry { not_after: n, .. }) if n == not_after),
            "unknown, not good: {e:?}"
        );
        // A CRL issued while the certificate was still valid does vouch.
        let before_expiry = crl_at(not_after - time::Duration::days(1));
        Verifier::new(&w.trust)
            .verify_certificate(&der, Usage::Signature, at, RevocationCheck::Crl(&before_expiry))
            .unwrap();
    }

    #[test]
    fn an_older_crl_never_replaces_a_newer_one() {
        let w = world();
        let (t, n) = crate::crl::daily_window(NOW);
        let older = CrlBuilder::new(1, t, n).sign(&w.sign_ca).unwrap();
        let newer = CrlBuilder::new(2, t, n).sign(&w.sign_ca).unwrap();
        let mut set = CrlSet::new();
        set.add(&w.trust, &newer).unwrap();
        assert!(matches!(set.add(&w.trust, &older), Err(VerifyError::Crl(_))));
        assert!(matches!(set.add(&w.trust, &newer), Err(VerifyError::Crl(_))));
        assert_eq!(set.get(w.sign_ca.key_id()).unwrap().crl_number(), 2);
    }

    #[test]
    fn a_new_crl_of_one_generation_in_a_clone_leaves_the_others_shared_and_the_original_unchanged() {
        let w = world();
        let set = crls(&w, &[]);
        let (t, n) = crate::crl::daily_window(NOW);
        let mut next = set.clone();
        next.add(&w.trust, &CrlBuilder::new(2, t, n).sign(&w.sign_ca).unwrap()).unwrap();
        assert_eq!(next.get(w.sign_ca.key_id()).unwrap().crl_number(), 2);
        assert_eq!(set.get(w.sign_ca.key_id()).unwrap().crl_number(), 1);
        let (old, new) = (set.get_shared(w.auth_ca.key_id()).unwrap(), next.get_shared(w.auth_ca.key_id()).unwrap());
        assert!(Arc::ptr_eq(old, new), "the auth generation's index is shared, not rebuilt");
        assert_eq!(next.iter().count(), 2);
    }

    #[test]
    fn crl_signed_by_an_untrusted_key_is_refused() {
        let w = world();
        let stranger = testutil::ca(CaKind::Signature);
        let (t, n) = crate::crl::daily_window(NOW);
        let der = CrlBuilder::new(1, t, n).sign(&stranger).unwrap();
        assert!(matches!(CrlSet::new().add(&w.trust, &der), Err(VerifyError::Crl(_))));
    }

    #[test]
    fn validity_window() {
        let w = world();
        let (_, cert) = testutil::signature_cert(&w.sign_ca);
        let v = Verifier::new(&w.trust);
        let e = v.verify_certificate(&cert, Usage::Signature, NOW - time::Duration::seconds(1), RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::NotYetValid { .. }));
        let e = v.verify_certificate(&cert, Usage::Signature, datetime!(2031-01-01 00:00 UTC), RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::Expired { .. }));
    }

    #[test]
    fn usage_kind_key_usage_and_policy() {
        let w = world();
        let (_, auth) = testutil::auth_cert(&w.auth_ca);
        let (_, sign) = testutil::signature_cert(&w.sign_ca);
        let v = Verifier::new(&w.trust);
        let e = v.verify_certificate(&auth, Usage::Signature, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::WrongKind { usage: Usage::Signature, found: CertKind::Auth });
        let e = v.verify_certificate(&sign, Usage::Authentication, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::WrongKind { .. }));
        // A signature certificate without nonRepudiation.
        let no_nr = resign(&sign, w.sign_ca.signer(), |c| {
            let exts = c.tbs_certificate.extensions.as_mut().unwrap();
            exts[0].extn_value =
                der::asn1::OctetString::new(KeyUsage(KeyUsages::DigitalSignature.into()).to_der().unwrap()).unwrap();
        });
        let e = v.verify_certificate(&no_nr, Usage::Signature, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::KeyUsage { missing: "nonRepudiation" });
        // Production policies do not accept sandbox certificates.
        let mut prod = TrustStore::new(PolicySet::production());
        prod.add_anchor(w.sign_ca.certificate_der(), CaKind::Signature).unwrap();
        let e = Verifier::new(&prod).verify_certificate(&sign, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::Policy { .. }));
        // An auth certificate issued by the signature CA.
        let (_, misissued) = testutil::auth_cert(&w.sign_ca);
        let e = v.verify_certificate(&misissued, Usage::Authentication, NOW, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::WrongCa { kind: CertKind::Auth, expected: CaKind::Auth });
    }

    #[test]
    fn issuer_is_chosen_by_key_not_by_name() {
        let w = world();
        // A second generation with the same DN but another key issues a certificate.
        let gen2 = testutil::ca(CaKind::Signature);
        assert_eq!(gen2.name(), w.sign_ca.name());
        let (_, cert2) = testutil::signature_cert(&gen2);
        let v = Verifier::new(&w.trust);
        let e = v.verify_certificate(&cert2, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::UnknownIssuer { .. }));
        // Without an AKI the name matches, but the signature gives it away.
        let no_aki = resign(&cert2, gen2.signer(), |c| {
            c.tbs_certificate
                .extensions
                .as_mut()
                .unwrap()
                .retain(|e| e.extn_id != const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER);
        });
        let e = v.verify_certificate(&no_aki, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::CertificateSignatureInvalid { .. }));
        // Once trusted, both generations verify, each by its own key.
        let mut both = TrustStore::new(PolicySet::sandbox());
        both.add_anchor(w.sign_ca.certificate_der(), CaKind::Signature).unwrap();
        both.add_anchor(gen2.certificate_der(), CaKind::Signature).unwrap();
        let ok =
            Verifier::new(&both).verify_certificate(&no_aki, Usage::Signature, NOW, RevocationCheck::Skip).unwrap();
        assert_eq!(ok.issuer_key_id(), gen2.key_id());
        let (_, cert1) = testutil::signature_cert(&w.sign_ca);
        let ok = Verifier::new(&both).verify_certificate(&cert1, Usage::Signature, NOW, RevocationCheck::Skip).unwrap();
        assert_eq!(ok.issuer_key_id(), w.sign_ca.key_id());
        // A forged certificate signature.
        let mut forged = cert1.clone();
        let n = forged.len();
        forged[n - 5] ^= 1;
        let e = Verifier::new(&both).verify_certificate(&forged, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::CertificateSignatureInvalid { .. }));
    }

    #[test]
    fn unknown_issuer_and_bad_anchors() {
        let w = world();
        let stranger = testutil::ca(CaKind::Signature);
        let mut t = TrustStore::new(PolicySet::sandbox());
        t.add_anchor(w.auth_ca.certificate_der(), CaKind::Auth).unwrap();
        let (_, cert) = testutil::signature_cert(&stranger);
        let e = Verifier::new(&t).verify_certificate(&cert, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::UnknownIssuer { .. }));
        assert!(matches!(t.add_anchor(&cert, CaKind::Signature), Err(VerifyError::BadAnchor(_))));
        assert!(matches!(t.add_anchor(w.auth_ca.certificate_der(), CaKind::Auth), Err(VerifyError::BadAnchor(_))));
        let broken = resign(w.sign_ca.certificate_der(), SoftwareKey::generate_rsa2048().as_ref().unwrap(), |_| {});
        assert!(matches!(t.add_anchor(&broken, CaKind::Signature), Err(VerifyError::BadAnchor(_))));
    }

    #[test]
    fn duplicate_extensions_and_facts_are_rejected() {
        let w = world();
        let (_, cert) = testutil::signature_cert(&w.sign_ca);
        let dup_ext = resign(&cert, w.sign_ca.signer(), |c| {
            let exts = c.tbs_certificate.extensions.as_mut().unwrap();
            let first = exts[0].clone();
            exts.push(first);
        });
        let e = Verifier::new(&w.trust).verify_certificate(&dup_ext, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::Certificate(CertError::DuplicateExtension(_))));
        let dup_fact = resign(&cert, w.sign_ca.signer(), |c| {
            let exts = c.tbs_certificate.extensions.as_mut().unwrap();
            let san = exts.iter_mut().find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME).unwrap();
            let mut names = x509_cert::ext::pkix::SubjectAltName::from_der(san.extn_value.as_bytes()).unwrap();
            names.0.push(names.0[0].clone());
            san.extn_value = der::asn1::OctetString::new(names.to_der().unwrap()).unwrap();
        });
        let e = Verifier::new(&w.trust).verify_certificate(&dup_fact, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::Certificate(CertError::FactsShape { problem: "repeated", .. })));
        let unknown_critical = resign(&cert, w.sign_ca.signer(), |c| {
            let exts = c.tbs_certificate.extensions.as_mut().unwrap();
            exts.insert(
                0,
                x509_cert::ext::Extension {
                    extn_id: const_oid::ObjectIdentifier::new_unwrap("1.2.3.4"),
                    critical: true,
                    extn_value: der::asn1::OctetString::new(vec![5, 0]).unwrap(),
                },
            );
        });
        let e =
            Verifier::new(&w.trust).verify_certificate(&unknown_critical, Usage::Signature, NOW, RevocationCheck::Skip);
        assert!(matches!(e.unwrap_err(), VerifyError::Certificate(CertError::UnknownCriticalExtension(_))));
    }

    #[test]
    fn authentication_challenge_response() {
        let w = world();
        let (key, cert) = testutil::auth_cert(&w.auth_ca);
        let set = crls(&w, &[]);
        let challenge = b"random challenge from the verifier";
        let sig = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, challenge).unwrap();
        let v = Verifier::new(&w.trust);
        let ok = v
            .verify_authentication(&cert, challenge, DigestAlgorithm::Sha256, &sig, NOW, RevocationCheck::Crl(&set))
            .unwrap();
        assert_eq!(ok.certificate().kind(), CertKind::Auth);
        assert!(ok.certificate().facts().is_none());
        let e = v.verify_authentication(
            &cert,
            b"another challenge",
            DigestAlgorithm::Sha256,
            &sig,
            NOW,
            RevocationCheck::Crl(&set),
        );
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
    }

    #[test]
    fn cms_detached_and_attached() {
        let w = world();
        let (key, cert) = testutil::signature_cert(&w.sign_ca);
        let set = crls(&w, &[]);
        let doc = b"contract";
        let v = Verifier::new(&w.trust);
        let detached =
            cms::sign(&key, &cert, doc, cms::Encapsulation::Detached, DigestAlgorithm::Sha256, Some(NOW), &[]).unwrap();
        let ok = v.verify_cms(&detached, Some(doc), NOW, RevocationCheck::Crl(&set)).unwrap();
        assert_eq!(ok.digest(), DigestAlgorithm::Sha256.digest(doc));
        assert_eq!(ok.signing_time(), Some(NOW));
        assert!(matches!(
            v.verify_cms(&detached, Some(b"contracT"), NOW, RevocationCheck::Skip),
            Err(VerifyError::Cms(_))
        ));
        let attached =
            cms::sign(&key, &cert, doc, cms::Encapsulation::Attached, DigestAlgorithm::Sha512, None, &[]).unwrap();
        v.verify_cms(&attached, None, NOW, RevocationCheck::Crl(&set)).unwrap();
        // A CMS signed by an auth certificate is not an electronic signature.
        let (akey, acert) = testutil::auth_cert(&w.auth_ca);
        let by_auth =
            cms::sign(&akey, &acert, doc, cms::Encapsulation::Attached, DigestAlgorithm::Sha256, None, &[]).unwrap();
        assert!(matches!(v.verify_cms(&by_auth, None, NOW, RevocationCheck::Skip), Err(VerifyError::WrongKind { .. })));
    }

    #[test]
    fn ocsp_good_revoked_nonce_and_other_certificate() {
        let w = world();
        let (_, cert) = testutil::signature_cert(&w.sign_ca);
        let (_, other) = testutil::signature_cert(&w.sign_ca);
        let serial = JpkiCertificate::from_der(&cert).unwrap().serial().clone();
        let other_serial = JpkiCertificate::from_der(&other).unwrap().serial().clone();
        let responder = ocsp::Responder::for_ca(&w.sign_ca).unwrap();
        let id = |s: &Serial| ocsp::CertIdentity::new(w.sign_ca.certificate(), s).unwrap();
        let nonce = b"0123456789abcdef";
        let respond = |s: &Serial, status, nonce: Option<&[u8]>| {
            responder.respond(&[(id(s), status)], NOW, NOW, Some(NOW + time::Duration::minutes(15)), nonce).unwrap()
        };
        let max_age = time::Duration::hours(1);
        let v = Verifier::new(&w.trust);
        let check = |resp: &[u8], n: Option<&[u8]>| {
            v.verify_certificate(
                &cert,
                Usage::Signature,
                NOW,
                RevocationCheck::Ocsp { response: resp, nonce: n, max_age },
            )
        };

        let good = respond(&serial, RevocationStatus::Good, Some(nonce));
        assert!(matches!(check(&good, Some(nonce)).unwrap().revocation(), RevocationEvidence::Ocsp { .. }));
        let revoked = respond(
            &serial,
            RevocationStatus::Revoked(Revocation { revoked_at: NOW, reason: CrlReason::CERTIFICATE_HOLD }),
            Some(nonce),
        );
        assert!(matches!(
            check(&revoked, Some(nonce)).unwrap_err(),
            VerifyError::Revoked { meaning: RevocationMeaning::Lost, .. }
        ));
        let unknown = respond(&serial, RevocationStatus::Unknown, None);
        assert!(matches!(check(&unknown, None).unwrap_err(), VerifyError::RevocationUnknown(_)));
        // For another certificate, without the nonce, or with another nonce.
        let for_other = respond(&other_serial, RevocationStatus::Good, Some(nonce));
        assert!(matches!(check(&for_other, Some(nonce)).unwrap_err(), VerifyError::Ocsp(_)));
        let no_nonce = respond(&serial, RevocationStatus::Good, None);
        assert!(matches!(check(&no_nonce, Some(nonce)).unwrap_err(), VerifyError::Ocsp(_)));
        assert!(matches!(check(&good, Some(b"another nonce!!!")).unwrap_err(), VerifyError::Ocsp(_)));
    }
}
