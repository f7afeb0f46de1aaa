//! Certificate profiles: what each kind of JPKI certificate carries (shared/spec/20-pki.md §1–2).
//!
//! A kind is a [`Profile`] value, not a branch in the issuer: the issuer walks the profile's
//! extension list in order and renders each one.

use const_oid::db::rfc5280::ID_KP_OCSP_SIGNING;
use const_oid::ObjectIdentifier;
use der::flagset::FlagSet;
use x509_cert::ext::pkix::KeyUsages;

use crate::oid;

/// The kind of a JPKI certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertKind {
    /// A CA generation (self-signed).
    Ca,
    /// 署名用電子証明書 on a card.
    Signature,
    /// 利用者証明用電子証明書 on a card.
    Auth,
    /// Smartphone signature certificate.
    SmartphoneSignature,
    /// Smartphone user-authentication certificate.
    SmartphoneAuth,
    /// Delegated OCSP responder (id-kp-OCSPSigning, ocsp-nocheck).
    OcspResponder,
    /// An RFC 3161 time-stamping authority (critical extendedKeyUsage id-kp-timeStamping).
    TimeStamping,
}

impl CertKind {
    /// `true` for the kinds that carry the 4 facts.
    pub fn carries_facts(self) -> bool {
        matches!(self, CertKind::Signature | CertKind::SmartphoneSignature)
    }

    /// A short stable name (`signature`, `auth`, …) for CLIs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CertKind::Ca => "ca",
            CertKind::Signature => "signature",
            CertKind::Auth => "auth",
            CertKind::SmartphoneSignature => "smartphone-signature",
            CertKind::SmartphoneAuth => "smartphone-auth",
            CertKind::OcspResponder => "ocsp-responder",
            CertKind::TimeStamping => "time-stamping",
        }
    }
}

/// Which of the two J-LIS CAs (each with several generations sharing one DN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaKind {
    /// The signature CA (署名用).
    Signature,
    /// The user-authentication CA (利用者証明用).
    Auth,
}

impl CaKind {
    /// `signature` or `auth`.
    pub fn as_str(self) -> &'static str {
        match self {
            CaKind::Signature => "signature",
            CaKind::Auth => "auth",
        }
    }
}

/// The certificate policy OIDs a hierarchy uses per end-entity kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySet {
    /// Card signature certificates.
    pub signature: ObjectIdentifier,
    /// Card user-authentication certificates.
    pub auth: ObjectIdentifier,
    /// Smartphone signature certificates.
    pub smartphone_signature: ObjectIdentifier,
    /// Smartphone user-authentication certificates (same as cards \[I\]).
    pub smartphone_auth: ObjectIdentifier,
}

impl PolicySet {
    /// The test-hierarchy OIDs (`1.2.392.200149.8.5.1.0.*`) the sandbox issues under.
    pub fn sandbox() -> PolicySet {
        PolicySet {
            signature: oid::POLICY_TEST_SIGNATURE,
            auth: oid::POLICY_TEST_AUTH,
            smartphone_signature: oid::POLICY_TEST_SMARTPHONE_SIGNATURE,
            smartphone_auth: oid::POLICY_TEST_AUTH,
        }
    }

    /// The production OIDs, for verifying real certificates.
    pub fn production() -> PolicySet {
        PolicySet {
            signature: oid::POLICY_SIGNATURE,
            auth: oid::POLICY_AUTH,
            smartphone_signature: oid::POLICY_SMARTPHONE_SIGNATURE,
            smartphone_auth: oid::POLICY_AUTH,
        }
    }

    /// The policy of `kind`, if it has one.
    pub fn for_kind(&self, kind: CertKind) -> Option<ObjectIdentifier> {
        match kind {
            CertKind::Signature => Some(self.signature),
            CertKind::Auth => Some(self.auth),
            CertKind::SmartphoneSignature => Some(self.smartphone_signature),
            CertKind::SmartphoneAuth => Some(self.smartphone_auth),
            CertKind::Ca | CertKind::OcspResponder | CertKind::TimeStamping => None,
        }
    }
}

/// One extension of a profile, in the order it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionSpec {
    /// keyUsage (critical).
    KeyUsage(FlagSet<KeyUsages>),
    /// certificatePolicies (critical) with the CPS qualifier.
    CertificatePolicies,
    /// issuerAltName DirName.
    IssuerAltName,
    /// subjectAltName: the 4 facts for end entities, the DirName for CAs.
    SubjectAltName,
    /// basicConstraints (critical) CA:TRUE.
    BasicConstraintsCa,
    /// cRLDistributionPoints with the CA's DN as DirName.
    CrlDistributionPoint,
    /// authorityKeyIdentifier keyIdentifier \[I: not confirmed on real end-entity certificates\].
    AuthorityKeyIdentifier,
    /// extendedKeyUsage id-kp-OCSPSigning.
    ExtendedKeyUsage(ObjectIdentifier),
    /// extendedKeyUsage with one purpose, marked critical (id-kp-timeStamping, RFC 3161 §2.3).
    CriticalExtendedKeyUsage(ObjectIdentifier),
    /// id-pkix-ocsp-nocheck.
    OcspNoCheck,
    /// subjectKeyIdentifier: SHA-1 of the RSAPublicKey (method 1) \[V\].
    SubjectKeyIdentifier,
}

/// A certificate profile: its kind and its extensions in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The kind of certificate this profile makes.
    pub kind: CertKind,
    /// Extensions, in DER order.
    pub extensions: Vec<ExtensionSpec>,
}

impl Profile {
    /// A CA generation: keyUsage, SAN DirName, basicConstraints, CRL DP, SKI — no AKI \[V\].
    pub fn ca() -> Profile {
        use ExtensionSpec::*;
        Profile {
            kind: CertKind::Ca,
            extensions: vec![
                KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                SubjectAltName,
                BasicConstraintsCa,
                CrlDistributionPoint,
                SubjectKeyIdentifier,
            ],
        }
    }

    /// An end entity of `kind` (signature, auth or a smartphone kind); SKI last \[V\].
    ///
    /// Order \[I\]: keyUsage, certificatePolicies, issuerAltName, subjectAltName (facts only),
    /// cRLDistributionPoints, authorityKeyIdentifier, subjectKeyIdentifier.
    pub fn end_entity(kind: CertKind) -> Profile {
        use ExtensionSpec::*;
        let usage = if kind.carries_facts() {
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
        } else {
            KeyUsages::DigitalSignature.into()
        };
        let mut extensions = vec![KeyUsage(usage), CertificatePolicies, IssuerAltName];
        if kind.carries_facts() {
            extensions.push(SubjectAltName);
        }
        extensions.extend([CrlDistributionPoint, AuthorityKeyIdentifier, SubjectKeyIdentifier]);
        Profile { kind, extensions }
    }

    /// A delegated OCSP responder: keyUsage digitalSignature, EKU OCSPSigning, ocsp-nocheck,
    /// AKI, SKI (RFC 6960 §4.2.2.2).
    pub fn ocsp_responder() -> Profile {
        use ExtensionSpec::*;
        Profile {
            kind: CertKind::OcspResponder,
            extensions: vec![
                KeyUsage(KeyUsages::DigitalSignature.into()),
                ExtendedKeyUsage(ID_KP_OCSP_SIGNING),
                OcspNoCheck,
                AuthorityKeyIdentifier,
                SubjectKeyIdentifier,
            ],
        }
    }

    /// An RFC 3161 time-stamping unit: keyUsage digitalSignature + nonRepudiation, the only
    /// extendedKeyUsage id-kp-timeStamping and critical (RFC 3161 §2.3), AKI, SKI.
    pub fn time_stamping() -> Profile {
        use ExtensionSpec::*;
        Profile {
            kind: CertKind::TimeStamping,
            extensions: vec![
                KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
                CriticalExtendedKeyUsage(const_oid::db::rfc5280::ID_KP_TIME_STAMPING),
                AuthorityKeyIdentifier,
                SubjectKeyIdentifier,
            ],
        }
    }

    /// Removes one kind of extension (e.g. the AKI or CRL DP, which are not confirmed on real
    /// end-entity certificates).
    pub fn without(mut self, spec: ExtensionSpec) -> Profile {
        self.extensions.retain(|e| core::mem::discriminant(e) != core::mem::discriminant(&spec));
        self
    }
}
