//! Distinguished names and the names an authority writes into its certificates
//! (shared/spec/20-pki.md §1).

use const_oid::db::rfc4519::{C, CN, L, O, OU};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, PrintableStringRef, SetOfVec, Utf8StringRef};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::CaKind;

/// Builds a DN of one attribute per RDN, in order: `C` as PrintableString, everything else as
/// UTF8String — the encoding of the J-LIS CA names.
pub fn dn(attrs: &[(ObjectIdentifier, &str)]) -> der::Result<Name> {
    let mut rdns = Vec::with_capacity(attrs.len());
    for (oid, value) in attrs {
        let value =
            if *oid == C { Any::from(PrintableStringRef::new(value)?) } else { Any::from(Utf8StringRef::new(value)?) };
        let atv = AttributeTypeAndValue { oid: *oid, value };
        rdns.push(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?));
    }
    Ok(RdnSequence(rdns))
}

/// `C=JP, L=<prefecture>, L=<municipality>, CN=<issuance id>` — a signature certificate subject.
pub fn signature_subject(prefecture: &str, municipality: &str, issuance_id: &str) -> der::Result<Name> {
    dn(&[(C, "JP"), (L, prefecture), (L, municipality), (CN, issuance_id)])
}

/// `C=JP, CN=<opaque id>` — a user-authentication certificate subject.
pub fn auth_subject(opaque_id: &str) -> der::Result<Name> {
    dn(&[(C, "JP"), (CN, opaque_id)])
}

/// Every name an authority hierarchy writes: CA DNs, the CA's subjectAltName DirName, the
/// end-entity issuerAltName and the CPS URI.
///
/// [`Naming::sandbox`] is the only set hanko mints with. The J-LIS production names are not
/// built in: the tests that reproduce the real CA certificates spell them out themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    /// `C, O, OU, OU` of the signature CA.
    pub signature_ca: Vec<(ObjectIdentifier, String)>,
    /// `C, O, OU, OU` of the user-authentication CA.
    pub auth_ca: Vec<(ObjectIdentifier, String)>,
    /// DirName in the signature CA's subjectAltName.
    pub signature_ca_alt: Vec<(ObjectIdentifier, String)>,
    /// DirName in the user-authentication CA's subjectAltName.
    pub auth_ca_alt: Vec<(ObjectIdentifier, String)>,
    /// DirName in every end-entity issuerAltName (`C=JP, O=公的個人認証サービス` in production).
    pub issuer_alt: Vec<(ObjectIdentifier, String)>,
    /// The CPS qualifier of the certificate policies.
    pub cps_uri: String,
}

fn owned(v: &[(ObjectIdentifier, &str)]) -> Vec<(ObjectIdentifier, String)> {
    v.iter().map(|(o, s)| (*o, (*s).to_owned())).collect()
}

impl Naming {
    /// The clearly-test names of the hanko sandbox (`O=JPKI-TEST`).
    pub fn sandbox() -> Naming {
        const AGENCY: &str = "hanko sandbox authority (not J-LIS)";
        Naming {
            signature_ca: owned(&[(C, "JP"), (O, "JPKI-TEST"), (OU, "JPKI-TEST for digital signature"), (OU, AGENCY)]),
            auth_ca: owned(&[(C, "JP"), (O, "JPKI-TEST"), (OU, "JPKI-TEST for user authentication"), (OU, AGENCY)]),
            signature_ca_alt: owned(&[
                (C, "JP"),
                (O, "公的個人認証サービス（試験用）"),
                (OU, "公的個人認証サービス署名用（試験用）"),
                (OU, "hanko 試験用認証局"),
            ]),
            auth_ca_alt: owned(&[
                (C, "JP"),
                (O, "公的個人認証サービス（試験用）"),
                (OU, "公的個人認証サービス利用者証明用（試験用）"),
                (OU, "hanko 試験用認証局"),
            ]),
            issuer_alt: owned(&[(C, "JP"), (O, "公的個人認証サービス（試験用）")]),
            cps_uri: "http://jpki-test.hanko.invalid/cps.html".to_owned(),
        }
    }

    fn to_name(v: &[(ObjectIdentifier, String)]) -> der::Result<Name> {
        let borrowed: Vec<(ObjectIdentifier, &str)> = v.iter().map(|(o, s)| (*o, s.as_str())).collect();
        dn(&borrowed)
    }

    /// The DN of the CA of `kind` (subject = issuer of every generation).
    pub fn ca_name(&self, kind: CaKind) -> der::Result<Name> {
        Self::to_name(match kind {
            CaKind::Signature => &self.signature_ca,
            CaKind::Auth => &self.auth_ca,
        })
    }

    /// The DirName of the CA's subjectAltName.
    pub fn ca_alt_name(&self, kind: CaKind) -> der::Result<Name> {
        Self::to_name(match kind {
            CaKind::Signature => &self.signature_ca_alt,
            CaKind::Auth => &self.auth_ca_alt,
        })
    }

    /// The DirName of end-entity issuerAltName.
    pub fn issuer_alt_name(&self) -> der::Result<Name> {
        Self::to_name(&self.issuer_alt)
    }
}
