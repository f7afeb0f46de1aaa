//! RFC 3161 interop with the real `openssl ts` (OpenSSL 3): openssl verifies the tokens the
//! sandbox TSA issues — against the data, its digest and the request — and refuses them for
//! other data; the sandbox TSA answers requests that `openssl ts -query` makes.
//!
//! These tests need `openssl` on the `PATH` and fail (never skip) without it.

use hanko_pki::tsp::{
    issue_sandbox_tsa, sandbox_tsa_naming, TimeStampAuthority, TimeStampRequest, TimeStampResponse, TimeStampToken,
};
use hanko_pki::{CaGeneration, CaKind, DigestAlgorithm, PolicySet, Serial, SoftwareKey};
use rand_core::OsRng;
use time::{Duration, OffsetDateTime};

use crate::common::{describe, openssl, openssl_ok, TempDir};

const DATA: &[u8] = b"hanko.invalid/platform/evidence\n42\nAAAA\n";

/// A sandbox TSA CA and TSA valid around the real current time (openssl checks the chain at its
/// own clock), written as PEM with the data file.
struct Fixture {
    dir: TempDir,
    ca: CaGeneration<SoftwareKey>,
    tsa: TimeStampAuthority<SoftwareKey>,
    now: OffsetDateTime,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = TempDir::new("tsp", test);
        let now = OffsetDateTime::now_utc();
        let ca = CaGeneration::create(
            CaKind::Signature,
            sandbox_tsa_naming(),
            PolicySet::sandbox(),
            SoftwareKey::generate_rsa2048().unwrap(),
            &Serial::random(&mut OsRng),
            now - Duration::days(1),
            now + Duration::days(3650),
        )
        .unwrap();
        let tsa = issue_sandbox_tsa(
            &ca,
            SoftwareKey::generate_rsa2048().unwrap(),
            &Serial::random(&mut OsRng),
            "hanko sandbox TSA",
            now - Duration::hours(1),
            now + Duration::days(365),
        )
        .unwrap();
        dir.write_pem("ca.pem", "CERTIFICATE", ca.certificate_der());
        dir.write_pem("tsa.pem", "CERTIFICATE", tsa.certificate_der());
        dir.write("data.bin", DATA);
        Fixture { dir, ca, tsa, now }
    }

    fn verify(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["ts", "-verify"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-in", "resp.tsr", "-CAfile", "ca.pem", "-untrusted", "tsa.pem"]);
        openssl(&self.dir, &all)
    }
}

fn verified(out: &std::process::Output) -> bool {
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verification: OK")
}

#[test]
fn openssl_ts_verifies_a_sandbox_token_by_data_and_by_digest() {
    let f = Fixture::new("by-digest");
    let digest = DigestAlgorithm::Sha256.digest(DATA);
    let request = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest, Some(0x1234_5678_9abc_def0), true).unwrap();
    let response = f.tsa.respond(&request.to_der().unwrap(), f.now, &Serial::from_u64(1)).unwrap();
    f.dir.write("resp.tsr", &response);
    f.dir.write("req.tsq", request.to_der().unwrap());

    let hex = hex::encode(&digest);
    for args in [vec!["-digest", hex.as_str()], vec!["-data", "data.bin"], vec!["-queryfile", "req.tsq"]] {
        let out = f.verify(&args);
        assert!(verified(&out), "openssl ts -verify {args:?}:\n{}", describe(&out));
    }
    // openssl reads the token as RFC 3161 says: the policy, serial and the TSA name.
    let text = openssl_ok(&f.dir, &["ts", "-reply", "-in", "resp.tsr", "-text"]);
    assert!(text.contains("Status: Granted."), "{text}");
    // (1.2.3.4.1 is the example policy of openssl.cnf, which names it `tsa_policy1`.)
    assert!(text.contains("Policy OID: 1.2.3.4.1") || text.contains("Policy OID: tsa_policy1"), "{text}");
    assert!(text.contains("TSA: DirName:/C=JP/O=JPKI-TEST/CN=hanko sandbox TSA"), "{text}");
    assert!(text.contains("Nonce: 0x123456789ABCDEF0"), "{text}");

    // And hanko verifies what openssl just accepted.
    let token = TimeStampResponse::from_der(&response).unwrap().token_der().unwrap();
    let v = TimeStampToken::from_der(&token)
        .unwrap()
        .verify(DigestAlgorithm::Sha256, &digest, Some(0x1234_5678_9abc_def0), f.ca.certificate_der())
        .unwrap();
    assert_eq!(v.serial(), &Serial::from_u64(1));
}

#[test]
fn openssl_ts_refuses_a_sandbox_token_for_other_data() {
    let f = Fixture::new("refuses");
    let digest = DigestAlgorithm::Sha256.digest(DATA);
    let request = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest, None, true).unwrap();
    f.dir.write("resp.tsr", f.tsa.respond(&request.to_der().unwrap(), f.now, &Serial::from_u64(2)).unwrap());

    let other = hex::encode(DigestAlgorithm::Sha256.digest(b"another checkpoint"));
    let out = f.verify(&["-digest", &other]);
    assert!(!verified(&out), "openssl accepted a token for another digest:\n{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("message imprint mismatch"), "{}", describe(&out));
    f.dir.write("other.bin", b"tampered");
    let out = f.verify(&["-data", "other.bin"]);
    assert!(!verified(&out), "openssl accepted a token for other data:\n{}", describe(&out));

    // Another CA: the chain does not verify.
    let stranger = Fixture::new("refuses-stranger");
    f.dir.write_pem("ca.pem", "CERTIFICATE", stranger.ca.certificate_der());
    let out = f.verify(&["-data", "data.bin"]);
    assert!(!verified(&out), "openssl accepted a token under another CA:\n{}", describe(&out));
}

#[test]
fn the_sandbox_tsa_answers_an_openssl_query() {
    let f = Fixture::new("query");
    openssl_ok(&f.dir, &["ts", "-query", "-data", "data.bin", "-sha512", "-cert", "-out", "req.tsq"]);
    let response = f.tsa.respond(&f.dir.read("req.tsq"), f.now, &Serial::from_u64(3)).unwrap();
    f.dir.write("resp.tsr", &response);
    let out = f.verify(&["-queryfile", "req.tsq"]);
    assert!(verified(&out), "{}", describe(&out));
    let out = f.verify(&["-data", "data.bin"]);
    assert!(verified(&out), "{}", describe(&out));

    // A SHA-1 query is refused with badAlg, which openssl reports.
    openssl_ok(&f.dir, &["ts", "-query", "-data", "data.bin", "-sha1", "-out", "sha1.tsq"]);
    f.dir.write("refused.tsr", f.tsa.respond(&f.dir.read("sha1.tsq"), f.now, &Serial::from_u64(4)).unwrap());
    let text = openssl_ok(&f.dir, &["ts", "-reply", "-in", "refused.tsr", "-text"]);
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(text.contains("unrecognized or unsupported algorithm"), "{text}");
}
