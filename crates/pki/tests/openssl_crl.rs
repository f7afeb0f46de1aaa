//! CRL interop with the real `openssl` binary (OpenSSL 3): openssl parses and prints what
//! `hanko_pki::crl::CrlBuilder` produces, verifies its signature, and `openssl verify
//! -crl_check` accepts a certificate the CRL does not list and rejects one it does
//! (shared/spec/20-pki.md §3).
//!
//! These tests need `openssl` on the `PATH` and fail (never skip) without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use der::pem::LineEnding;
use hanko_pki::crl::{daily_window, CrlBuilder, CrlEntry, CrlIndex, ParsedCrl};
use hanko_pki::{
    end_of_day_jst, issuance_id, signature_subject, BasicFacts, BirthDate, CaGeneration, CaKind, CertKind, CrlReason,
    Naming, PolicySet, Profile, RsaPublicKey, Serial, Sex, Signer, SoftwareKey,
};
use rand_core::OsRng;
use time::macros::date;
use time::{Duration, OffsetDateTime};

/// A sandbox signature CA valid around the real current time (openssl checks validity against
/// its own clock) and two signature certificates from it, written as PEM into a fresh directory.
struct Fixture {
    dir: PathBuf,
    ca: CaGeneration<SoftwareKey>,
    now: OffsetDateTime,
    good: Serial,
    revoked: Serial,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("hanko-openssl-crl-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();

        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let ca = CaGeneration::create(
            CaKind::Signature,
            Naming::sandbox(),
            PolicySet::sandbox(),
            SoftwareKey::generate_rsa2048().unwrap(),
            &Serial::random(&mut OsRng),
            now - Duration::days(1),
            end_of_day_jst(date!(2034 - 12 - 31)),
        )
        .unwrap();
        let (good, revoked) = (Serial::random(&mut OsRng), Serial::random(&mut OsRng));
        let f = Fixture { dir, ca, now, good, revoked };
        f.write_pem("ca.pem", "CERTIFICATE", f.ca.certificate_der());
        f.write_pem("good.pem", "CERTIFICATE", &f.issue(&f.good));
        f.write_pem("revoked.pem", "CERTIFICATE", &f.issue(&f.revoked));
        f
    }

    fn issue(&self, serial: &Serial) -> Vec<u8> {
        let key = SoftwareKey::generate_rsa2048().unwrap();
        let facts = BasicFacts::new(
            "試験　花子",
            Sex::FEMALE,
            BirthDate::Known(date!(1990 - 04 - 01)),
            "東京都千代田区霞が関一丁目１番１号",
        )
        .unwrap();
        self.ca
            .issue(
                &Profile::end_entity(CertKind::Signature),
                serial,
                signature_subject("Tokyo-to", "Chiyoda-ku", &issuance_id(self.now, 1, "HANKOTEST")).unwrap(),
                key.public_key().clone(),
                Some(&facts),
                self.now - Duration::hours(2),
                self.now + Duration::days(365),
            )
            .unwrap()
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
        std::fs::write(self.dir.join("crl.der"), &der).unwrap();
        self.write_pem("crl.pem", "X509 CRL", &der);
        der
    }

    fn write_pem(&self, name: &str, label: &str, der: &[u8]) {
        std::fs::write(self.dir.join(name), der::pem::encode_string(label, LineEnding::LF, der).unwrap()).unwrap();
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `openssl` in `dir`. Panics (fails the test) when the binary is missing.
fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the `openssl` binary is required for these tests (they do not skip)")
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
    let all = format!("{}{}", String::from_utf8_lossy(&revoked.stdout), String::from_utf8_lossy(&revoked.stderr));
    assert!(all.contains("certificate revoked"), "{}", describe(&revoked));

    // And our own index agrees with openssl.
    let crl = ParsedCrl::from_der(&der).unwrap();
    crl.verify_signature(&RsaPublicKey::from_spki(f.ca.signer().public_key()).unwrap()).unwrap();
    let index = CrlIndex::from_crl(&crl).unwrap();
    assert_eq!(index.lookup(&f.revoked).map(|r| r.reason), Some(CrlReason::KEY_COMPROMISE));
    assert_eq!(index.lookup(&f.good), None);
}

#[test]
fn openssl_rejects_a_crl_from_another_ca() {
    let f = Fixture::new("other-ca");
    let other = Fixture::new("other-ca-2");
    // `other` signs a CRL under a CA of the same name but another key.
    other.publish(1);
    std::fs::copy(other.dir.join("crl.pem"), f.dir.join("crl.pem")).unwrap();
    let out = openssl(&f.dir, &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "good.pem"]);
    assert!(!out.status.success(), "openssl accepted a CRL signed by another key: {}", describe(&out));
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
    std::fs::write(f.dir.join("delta.der"), &der).unwrap();
    let out = openssl(&f.dir, &["crl", "-inform", "DER", "-in", "delta.der", "-noout", "-text"]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("X509v3 Delta CRL Indicator: critical"), "{text}");
    assert!(text.contains("Remove From CRL"), "{text}");
}
