//! The real J-LIS CA certificates (shared/data/jlis-ca, copied to tests/data/jlis-ca so that a
//! clone of the repository tests on its own): hanko parses them, and its CA engine,
//! given the same names, key, serial and validity, reproduces them byte for byte.

use std::path::PathBuf;

use const_oid::db::rfc4519::{C, O, OU};
use hanko_pki::der::Decode;
use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::x509_cert::Certificate;
use hanko_pki::*;

fn jlis(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/jlis-ca").join(name);
    let pem = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (label, der) = hanko_pki::der::pem::decode_vec(pem.as_bytes()).unwrap();
    assert_eq!(label, "CERTIFICATE");
    der
}

const ALL: [(&str, CaKind); 4] = [
    ("sign_ca_2015.pem", CaKind::Signature),
    ("sign_ca_2023.pem", CaKind::Signature),
    ("auth_ca_2015.pem", CaKind::Auth),
    ("auth_ca_2023.pem", CaKind::Auth),
];

/// The J-LIS production names — spelled out here, in a test, and nowhere in the library.
fn production_naming() -> Naming {
    let o = |v: &[(const_oid::ObjectIdentifier, &str)]| v.iter().map(|(a, b)| (*a, (*b).to_owned())).collect();
    const AGENCY: &str = "Japan Agency for Local Authority Information Systems";
    Naming {
        signature_ca: o(&[(C, "JP"), (O, "JPKI"), (OU, "JPKI for digital signature"), (OU, AGENCY)]),
        auth_ca: o(&[(C, "JP"), (O, "JPKI"), (OU, "JPKI for user authentication"), (OU, AGENCY)]),
        signature_ca_alt: o(&[
            (C, "JP"),
            (O, "公的個人認証サービス"),
            (OU, "公的個人認証サービス署名用"),
            (OU, "地方公共団体情報システム機構"),
        ]),
        auth_ca_alt: o(&[
            (C, "JP"),
            (O, "公的個人認証サービス"),
            (OU, "公的個人認証サービス利用者証明用"),
            (OU, "地方公共団体情報システム機構"),
        ]),
        issuer_alt: o(&[(C, "JP"), (O, "公的個人認証サービス")]),
        cps_uri: "http://www.jpki.go.jp/cps.html".into(),
    }
}

/// A "signer" that owns the real public key and answers with the real signature: enough to
/// let the CA engine render the complete certificate without J-LIS's private key.
struct Replay {
    spki: SubjectPublicKeyInfoOwned,
    signature: Vec<u8>,
}

impl Signer for Replay {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }
    fn sign(&self, _: SignatureAlgorithm, _: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.signature.clone())
    }
    fn sign_digest(&self, _: SignatureAlgorithm, _: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.signature.clone())
    }
}

#[test]
fn real_jlis_ca_certificates_parse_as_ca() {
    for (file, _) in ALL {
        let der = jlis(file);
        let c = JpkiCertificate::from_der(&der).unwrap();
        assert_eq!(c.kind(), CertKind::Ca, "{file}");
        assert!(c.authority_key_id().is_none(), "{file}: J-LIS CAs carry no AKI");
        let x = c.to_x509().unwrap();
        let spki = &x.tbs_certificate.subject_public_key_info;
        assert_eq!(c.subject_key_id(), Some(&key_identifier(spki)[..]), "{file}: SKI is SHA-1 of RSAPublicKey");
        assert_eq!(c.not_after().time(), hanko_pki::time::macros::time!(14:59:59), "{file}");
    }
}

#[test]
fn ca_engine_reproduces_real_jlis_certificates_byte_for_byte() {
    for (file, kind) in ALL {
        let der = jlis(file);
        let real = Certificate::from_der(&der).unwrap();
        let tbs = &real.tbs_certificate;
        let replay =
            Replay { spki: tbs.subject_public_key_info.clone(), signature: real.signature.raw_bytes().to_vec() };
        let ours = CaGeneration::create(
            kind,
            production_naming(),
            PolicySet::production(),
            replay,
            &Serial::of(&tbs.serial_number),
            from_x509_time(&tbs.validity.not_before),
            from_x509_time(&tbs.validity.not_after),
        )
        .unwrap();
        assert_eq!(hex::encode(ours.certificate_der()), hex::encode(&der), "{file}");
    }
}

#[test]
fn real_jlis_generations_are_trust_anchors_with_verified_self_signatures() {
    use hanko_pki::verify::{TrustStore, Usage, Verifier, VerifyError};
    let mut trust = TrustStore::new(PolicySet::production());
    for (file, kind) in ALL {
        trust.add_anchor(&jlis(file), kind).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    assert_eq!(trust.anchors().len(), 4);
    // Two generations per CA share one DN; each is its own anchor, told apart by key.
    let ids: std::collections::HashSet<_> = trust.anchors().iter().map(|a| a.key_id().to_vec()).collect();
    assert_eq!(ids.len(), 4);
    // A tampered J-LIS certificate is not accepted as an anchor.
    let mut bad = jlis("sign_ca_2023.pem");
    let n = bad.len();
    bad[n - 10] ^= 0x01;
    assert!(matches!(
        TrustStore::new(PolicySet::production()).add_anchor(&bad, CaKind::Signature),
        Err(VerifyError::BadAnchor(_))
    ));
    // A CA certificate is not an end entity.
    let e = Verifier::new(&trust).verify_certificate(
        &jlis("auth_ca_2023.pem"),
        Usage::Authentication,
        hanko_pki::time::macros::datetime!(2026-01-01 00:00 UTC),
        hanko_pki::verify::RevocationCheck::Skip,
    );
    assert!(matches!(e, Err(VerifyError::WrongKind { .. })));
}
