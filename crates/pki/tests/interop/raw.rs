//! Raw PKCS#1 v1.5 signatures over a bare hash, with the real `openssl` binary (OpenSSL 3):
//! `openssl pkeyutl -sign` with no digest pads and signs the input bytes as given (type-1
//! padding, no DigestInfo) — what the card's `80 2A` does with a bare SHA-256 — and the trust
//! core verifies that as [`Signed::BareDigest`] only. Needs `openssl` on the `PATH` (never skips).

use hanko_pki::verify::{RevocationCheck, Signed, SignedForm, TrustStore, Verifier, VerifyError};
use hanko_pki::{end_of_day_jst, CaKind, DigestAlgorithm, PolicySet, Serial};
use rand_core::OsRng;
use time::macros::date;
use time::{Duration, OffsetDateTime};

use crate::common::{openssl_ok, sandbox_ca, signature_holder, TempDir};

#[test]
fn openssl_signs_a_bare_hash_that_verifies_as_the_bare_form_only() {
    let dir = TempDir::new("raw", "bare");
    let now = OffsetDateTime::now_utc();
    let ca = sandbox_ca(
        CaKind::Signature,
        &Serial::random(&mut OsRng),
        now - Duration::days(1),
        end_of_day_jst(date!(2034 - 12 - 31)),
    );
    let (key, cert) =
        signature_holder(&ca, &Serial::random(&mut OsRng), now, now - Duration::hours(1), now + Duration::days(365));
    let mut trust = TrustStore::new(PolicySet::sandbox());
    trust.add_anchor(ca.certificate_der(), CaKind::Signature).unwrap();
    dir.write_pem("ee.key", "PRIVATE KEY", &key.to_pkcs8().unwrap());
    let hash = DigestAlgorithm::Sha256.digest(b"synthetic contract");
    dir.write("hash.bin", &hash);
    openssl_ok(
        &dir,
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            "ee.key",
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
            "-in",
            "hash.bin",
            "-out",
            "sig.bin",
        ],
    );
    let sig = dir.read("sig.bin");
    assert_eq!(sig.len(), 256);

    let v = Verifier::new(&trust);
    let sha256 = DigestAlgorithm::Sha256;
    let ok = v.verify_signature(&cert, sha256, Signed::BareDigest(&hash), &sig, now, RevocationCheck::Skip).unwrap();
    assert_eq!(ok.form(), SignedForm::BareDigest);
    let e = v.verify_signature(&cert, sha256, Signed::Digest(&hash), &sig, now, RevocationCheck::Skip);
    assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
    let mut tampered = sig.clone();
    tampered[255] ^= 1;
    for signed in [Signed::BareDigest(&hash), Signed::Digest(&hash)] {
        let e = v.verify_signature(&cert, sha256, signed, &tampered, now, RevocationCheck::Skip);
        assert_eq!(e.unwrap_err(), VerifyError::SignatureInvalid);
    }
}
