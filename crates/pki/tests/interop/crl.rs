//! CRL interop with the real `openssl` binary (OpenSSL 3): openssl parses and prints what
//! `hanko_pki::crl::CrlBuilder` produces, verifies its signature, and `openssl verify
//! -crl_check` accepts a certificate the CRL does not list and rejects one it does
//! (shared/spec/20-pki.md §3).
//!
//! These tests need `openssl` on the `PATH` and fail (never skip) without it.

use hanko_pki::crl::{daily_window, CrlBuilder, CrlEntry, CrlIndex, ParsedCrl};
use hanko_pki::{end_of_day_jst, CaGeneration, CaKind, CrlReason, RsaPublicKey, Serial, Signer, SoftwareKey};
use rand_core::OsRng;
use time::macros::date;
use time::{Duration, OffsetDateTime};

use crate::common::{describe, openssl, sandbox_ca, signature_holder, stdout_and_stderr, TempDir};

/// A sandbox signature CA valid around the real current time (openssl checks validity against
/// its own clock) and two signature certificates from it, written as PEM into a fresh directory.
struct Fixture {
    dir: TempDir,
    ca: CaGeneration<SoftwareKey>,
    now: OffsetDateTime,
    good: Serial,
    revoked: Serial,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = TempDir::new("crl", test);

        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let ca = sandbox_ca(
            CaKind::Signature,
            &Serial::random(&mut OsRng),
            now - Duration::days(1),
            end_of_day_jst(date!(2034 - 12 - 31)),
        );
        let (good, revoked) = (Serial::random(&mut OsRng), Serial::random(&mut OsRng));
        let f = Fixture { dir, ca, now, good, revoked };
        f.dir.write_pem("ca.pem", "CERTIFICATE", f.ca.certificate_der());
        f.dir.write_pem("good.pem", "CERTIFICATE", &f.issue(&f.good));
        f.dir.write_pem("revoked.pem", "CERTIFICATE", &f.issue(&f.revoked));
        f
    }

    fn issue(&self, serial: &Serial) -> Vec<u8> {
        signature_holder(&self.ca, serial, self.now, self.now - Duration::hours(2), self.now + Duration::days(365)).1
    }

    /// A daily CRL that started an hour ago, listing `revoked` among entries of every JPKI
    /// reason (20-pki.md §3), written as `crl.der` and `crl.pem`. Returns the DER.
    fn publish(&self, number: u64) -> Vec<u8> {
        let (this_update, next_update) = daily_window(self.now - Duration::hours(1));
        let at = self.now - Duration::hours(3);
        let entry = |serial: Serial, reason| CrlEntry { serial, revoked_at: at, reason };
        let der = CrlBuilder::new(number, this_update, next_update)
            .with_entries([
                entry(Serial::from_u64(0x0A01), CrlReason::AFFILIATION_CHANGED),
                entry(Serial::from_u64(0x0A02), CrlReason::SUPERSEDED),
                entry(Serial::from_u64(0x0A03), CrlReason::CESSATION_OF_OPERATION),
                entry(Serial::from_u64(0x0A04), CrlReason::CERTIFICATE_HOLD),
                entry(self.revoked.clone(), CrlReason::KEY_COMPROMISE),
                entry(Serial::from_u64(0x0A06), CrlReason::UNSPECIFIED),
            ])
            .sign(&self.ca)
            .unwrap();
        self.dir.write("crl.der", &der);
        self.dir.write_pem("crl.pem", "X509 CRL", &der);
        der
    }
}

#[test]
fn openssl_parses_and_prints_our_crl() {
    let f = Fixture::new("text");
    f.publish(7);
    let out = openssl(&f.dir, &["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"]);
    assert!(out.status.success(), "openssl could not parse our CRL: {}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Version 2 (0x1)",
        "Signature Algorithm: sha256WithRSAEncryption",
        "X509v3 Authority Key Identifier",
        "X509v3 CRL Number",
        "Affiliation Changed",
        "Superseded",
        "Cessation Of Operation",
        "Certificate Hold",
        "Key Compromise",
        "Serial Number: 0A06",
        &format!("Serial Number: {}", f.revoked),
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Unspecified is written by omitting reasonCode (RFC 5280 §5.3.1): six entries, five reasons.
    assert_eq!(text.matches("Serial Number:").count(), 6, "{text}");
    assert_eq!(text.matches("X509v3 CRL Reason Code").count(), 5, "{text}");
    assert!(!text.contains("Unspecified"), "{text}");
    let number = text.lines().skip_while(|l| !l.contains("X509v3 CRL Number")).nth(1).unwrap_or_default();
    assert_eq!(number.trim(), "7", "{text}");
}

#[test]
fn openssl_verifies_the_crl_signature() {
    let f = Fixture::new("signature");
    f.publish(1);
    let out = openssl(&f.dir, &["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("verify OK"), "{}", describe(&out));
}

#[test]
fn openssl_verify_crl_check_accepts_good_and_rejects_revoked() {
    let f = Fixture::new("verify");
    let der = f.publish(1);

    let good = openssl(&f.dir, &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "good.pem"]);
    assert!(good.status.success(), "openssl rejected a certificate the CRL does not list: {}", describe(&good));
    assert!(String::from_utf8_lossy(&good.stdout).contains("good.pem: OK"), "{}", describe(&good));

    let revoked = openssl(&f.dir, &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "revoked.pem"]);
    assert!(!revoked.status.success(), "openssl accepted a revoked certificate: {}", describe(&revoked));
    let all = stdout_and_stderr(&revoked);
    assert!(all.contains("certificate revoked"), "{}", describe(&revoked));

    // And our own index agrees with openssl.
    let crl = ParsedCrl::from_der(&der).unwrap();
    crl.verify_signature(&RsaPublicKey::from_spki(f.ca.signer().public_key()).unwrap()).unwrap();
    let index = CrlIndex::from_crl(&crl).unwrap();
    assert_eq!(index.lookup(&f.revoked).map(|r| r.reason), Some(CrlReason::KEY_COMPROMISE));
    assert_eq!(index.lookup(&f.good), None);
}

/// Section 5: this test passed because openssl found no CRL by key identifier ("unable to get
/// certificate CRL"), not because it checked the foreign signature. Now the foreign CRL names
/// our CA exactly — issuer name and authorityKeyIdentifier — so openssl selects it, and only
/// its signature (by another CA's key) is wrong: openssl must fail on that signature.
#[test]
fn openssl_rejects_a_crl_from_another_ca() {
    use hanko_pki::der::{Decode, Encode};
    use hanko_pki::x509_cert::crl::CertificateList;
    use hanko_pki::SignatureAlgorithm;

    let f = Fixture::new("other-ca");
    let other = Fixture::new("other-ca-2");
    // Our CA's CRL body (its name, its AKI), signed by the other CA's key.
    let ours = f.publish(1);
    let mut crl = CertificateList::from_der(&ours).unwrap();
    let tbs = crl.tbs_cert_list.to_der().unwrap();
    let forged = other.ca.signer().sign(SignatureAlgorithm::RsaPkcs1Sha256, &tbs).unwrap();
    crl.signature = hanko_pki::der::asn1::BitString::from_bytes(&forged).unwrap();
    f.dir.write_pem("foreign.pem", "X509 CRL", &crl.to_der().unwrap());

    // Control: with our own signature openssl finds the CRL and accepts the good certificate.
    let out = openssl(&f.dir, &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "good.pem"]);
    assert!(out.status.success(), "{}", describe(&out));

    let out = openssl(&f.dir, &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "foreign.pem", "good.pem"]);
    assert!(!out.status.success(), "openssl accepted a CRL signed by another key: {}", describe(&out));
    let all = stdout_and_stderr(&out);
    assert!(all.contains("CRL signature failure"), "openssl must reject the signature: {}", describe(&out));
    assert!(!all.contains("unable to get certificate CRL"), "openssl did not find the CRL: {}", describe(&out));
}

#[test]
fn openssl_prints_a_delta_crl() {
    let f = Fixture::new("delta");
    let (this_update, next_update) = daily_window(f.now - Duration::hours(1));
    let der = CrlBuilder::new(8, this_update, next_update)
        .with_delta_base(7)
        .with_entries([CrlEntry { serial: f.revoked.clone(), revoked_at: f.now, reason: CrlReason::REMOVE_FROM_CRL }])
        .sign(&f.ca)
        .unwrap();
    f.dir.write("delta.der", &der);
    let out = openssl(&f.dir, &["crl", "-inform", "DER", "-in", "delta.der", "-noout", "-text"]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("X509v3 Delta CRL Indicator: critical"), "{text}");
    assert!(text.contains("Remove From CRL"), "{text}");
}
