//! CMS interop with the real `openssl` binary (OpenSSL 3): openssl verifies what
//! `hanko_pki::cms::sign` produces, and `hanko_pki::cms` verifies what `openssl cms -sign`
//! produces, detached and attached.
//!
//! These tests need `openssl` on the `PATH` and fail (never skip) without it.
//!
//! JPKI signature certificates carry keyUsage digitalSignature + nonRepudiation and no
//! extendedKeyUsage. That satisfies openssl's default S/MIME-signing purpose, so no relaxing
//! flag (`-purpose any`, `-noverify`) is needed: the tests name `-purpose smimesign` (the
//! `cms -verify` default) explicitly and the chain is verified against `-CAfile`.

use std::process::Output;

use hanko_pki::cms::{self, CmsError, Encapsulation, SignedMessage};
use hanko_pki::{end_of_day_jst, CaKind, DigestAlgorithm, Serial, SoftwareKey};
use rand_core::OsRng;
use time::macros::date;
use time::{Duration, OffsetDateTime};

use crate::common::{describe, openssl, sandbox_ca, signature_holder, TempDir};

/// Binary content with CR, LF and NUL, which a non-binary (S/MIME canonicalising) path would alter.
const CONTENT: &[u8] = b"hanko \xe5\x8d\xb0\xe9\x91\x91\r\nline two\n\x00\x01\x02\xff end";

/// A sandbox signature CA valid around the real current time (openssl checks validity against
/// its own clock), a holder key and its signature certificate, written as PEM into a fresh
/// directory.
struct Fixture {
    dir: TempDir,
    key: SoftwareKey,
    ca_der: Vec<u8>,
    ee_der: Vec<u8>,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = TempDir::new("cms", test);

        let now = OffsetDateTime::now_utc();
        let ca = sandbox_ca(
            CaKind::Signature,
            &Serial::random(&mut OsRng),
            now - Duration::days(1),
            end_of_day_jst(date!(2034 - 12 - 31)),
        );
        let (key, ee_der) = signature_holder(
            &ca,
            &Serial::random(&mut OsRng),
            now,
            now - Duration::hours(1),
            now + Duration::days(365),
        );
        let ca_der = ca.certificate_der().to_vec();

        dir.write_pem("ca.pem", "CERTIFICATE", &ca_der);
        dir.write_pem("ee.pem", "CERTIFICATE", &ee_der);
        dir.write_pem("ee.key", "PRIVATE KEY", &key.to_pkcs8().unwrap());
        dir.write("data.bin", CONTENT);
        Fixture { dir, key, ca_der, ee_der }
    }

    /// Signs `CONTENT` with the public API.
    fn sign(&self, mode: Encapsulation, digest: DigestAlgorithm) -> Vec<u8> {
        let now = OffsetDateTime::now_utc();
        cms::sign(&self.key, &self.ee_der, CONTENT, mode, digest, Some(now), &[&self.ca_der]).unwrap()
    }
}

/// `openssl cms -verify` of `sig.der`, with the chain checked against `ca.pem`.
fn openssl_verify(f: &Fixture, detached_content: Option<&str>) -> Output {
    let mut args = vec!["cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der"];
    if let Some(content) = detached_content {
        args.extend(["-content", content]);
    }
    args.extend(["-CAfile", "ca.pem", "-purpose", "smimesign", "-out", "verified.bin"]);
    openssl(&f.dir, &args)
}

fn assert_openssl_verified(f: &Fixture, out: &Output) {
    assert!(out.status.success(), "openssl rejected our CMS: {}", describe(out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"), "{}", describe(out));
    assert_eq!(f.dir.read("verified.bin"), CONTENT, "openssl recovered other content");
}

const ALL_DIGESTS: [DigestAlgorithm; 3] = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512];

#[test]
fn openssl_verifies_our_detached_signature() {
    let f = Fixture::new("our-detached");
    for digest in ALL_DIGESTS {
        f.dir.write("sig.der", f.sign(Encapsulation::Detached, digest));
        let out = openssl_verify(&f, Some("data.bin"));
        assert_openssl_verified(&f, &out);
    }
}

#[test]
fn openssl_verifies_our_attached_signature() {
    let f = Fixture::new("our-attached");
    for digest in ALL_DIGESTS {
        f.dir.write("sig.der", f.sign(Encapsulation::Attached, digest));
        let out = openssl_verify(&f, None);
        assert_openssl_verified(&f, &out);
    }
}

#[test]
fn openssl_rejects_our_signature_over_other_content() {
    let f = Fixture::new("our-altered");
    f.dir.write("sig.der", f.sign(Encapsulation::Detached, DigestAlgorithm::Sha256));
    f.dir.write("altered.bin", b"not the signed document");
    let out = openssl_verify(&f, Some("altered.bin"));
    assert!(!out.status.success(), "openssl accepted a signature over other content: {}", describe(&out));
}

#[test]
fn openssl_verifies_the_chain_of_our_signer() {
    // The chain check inside `cms -verify` is the point of not using -noverify; this is the same
    // check on its own, so a failure says whether the certificate or the CMS is at fault.
    let f = Fixture::new("chain");
    let out = openssl(&f.dir, &["verify", "-CAfile", "ca.pem", "-purpose", "smimesign", "ee.pem"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ee.pem: OK"), "{}", describe(&out));
}

/// `openssl cms -sign` of `data.bin` into `sig.der`.
fn openssl_sign(f: &Fixture, md: &str, extra: &[&str]) {
    let mut args =
        vec!["cms", "-sign", "-binary", "-md", md, "-signer", "ee.pem", "-inkey", "ee.key", "-outform", "DER"];
    args.extend(extra);
    args.extend(["-in", "data.bin", "-out", "sig.der"]);
    let out = openssl(&f.dir, &args);
    assert!(out.status.success(), "openssl cms -sign failed: {}", describe(&out));
}

#[test]
fn we_verify_openssl_detached_signature() {
    let f = Fixture::new("openssl-detached");
    for (md, digest) in [("sha256", DigestAlgorithm::Sha256), ("sha512", DigestAlgorithm::Sha512)] {
        openssl_sign(&f, md, &[]);
        let message = SignedMessage::from_der(&f.dir.read("sig.der")).unwrap();
        assert_eq!(message.attached_content(), None);
        let signature = message.verify(Some(CONTENT)).unwrap();
        assert_eq!(signature.signer_certificate_der(), f.ee_der.as_slice());
        assert_eq!(signature.digest_algorithm(), digest);
        assert_eq!(signature.content_digest(), digest.digest(CONTENT).as_slice());
        assert!(signature.has_signed_attributes());
        let signed_at = signature.signing_time().expect("openssl adds signingTime");
        assert!((OffsetDateTime::now_utc() - signed_at).abs() < Duration::hours(1), "signingTime {signed_at}");
        assert_eq!(signature.content(), None);

        let altered = message.verify(Some(b"hanko altered content"));
        assert!(matches!(altered, Err(CmsError::MessageDigestMismatch { .. })), "{altered:?}");
        assert_eq!(message.verify(None), Err(CmsError::NoContent));
    }
}

#[test]
fn we_verify_openssl_attached_signature() {
    let f = Fixture::new("openssl-attached");
    for (md, digest) in [("sha256", DigestAlgorithm::Sha256), ("sha384", DigestAlgorithm::Sha384)] {
        openssl_sign(&f, md, &["-nodetach"]);
        let der = f.dir.read("sig.der");
        let message = SignedMessage::from_der(&der).unwrap();
        assert_eq!(message.attached_content(), Some(CONTENT));
        let signature = message.verify(None).unwrap();
        assert_eq!(signature.signer_certificate_der(), f.ee_der.as_slice());
        assert_eq!(signature.digest_algorithm(), digest);
        assert_eq!(signature.content(), Some(CONTENT));
        assert_eq!(message.verify(Some(CONTENT)), Err(CmsError::ContentTwice));

        // Alter one byte of the encapsulated content in place: same structure, other content.
        let at = der.windows(CONTENT.len()).position(|w| w == CONTENT).expect("eContent in the DER");
        let mut tampered = der.clone();
        tampered[at + 3] ^= 0x20;
        let altered = SignedMessage::from_der(&tampered).unwrap().verify(None);
        assert!(matches!(altered, Err(CmsError::MessageDigestMismatch { .. })), "{altered:?}");
    }
}

#[test]
fn we_verify_openssl_signature_identified_by_subject_key_identifier() {
    let f = Fixture::new("openssl-keyid");
    openssl_sign(&f, "sha256", &["-keyid", "-nodetach"]);
    let message = SignedMessage::from_der(&f.dir.read("sig.der")).unwrap();
    let sid = &message.signed_data().signer_infos.0.as_slice()[0].sid;
    assert!(matches!(sid, ::cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(_)), "{sid:?}");
    assert_eq!(message.verify(None).unwrap().signer_certificate_der(), f.ee_der.as_slice());
}
