//! OCSP interop with the real `openssl ocsp` (OpenSSL 3): openssl's requests answered by our
//! responder and verified by openssl; openssl's responder answering our requests, verified by
//! our client. Issuer-signed and delegated, good and revoked, with nonces.
//!
//! These tests FAIL when `openssl` is not on the PATH: interop is not optional.

use hanko_pki::der::pem::LineEnding;
use hanko_pki::der::{Decode, EncodePem};
use hanko_pki::ocsp::{
    build_request, error_response, issue_responder_certificate, verify_response, CertIdHash, CertIdentity,
    OcspResponseStatus, ParsedRequest, Responder, UPDATE_INTERVAL,
};
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{CaGeneration, CaKind, CrlReason, Revocation, RevocationStatus, Serial, Signer, SoftwareKey};

use crate::common::{auth_holder, openssl, openssl_ok, sandbox_ca, stdout_and_stderr, TempDir};

/// A sandbox CA with a good and a revoked user-authentication certificate and a delegated
/// OCSP responder, all written as PEM into a fresh temporary directory.
struct Fixture {
    dir: TempDir,
    now: OffsetDateTime,
    ca: CaGeneration<SoftwareKey>,
    good: Serial,
    revoked: Serial,
    revocation: Revocation,
    responder_key: SoftwareKey,
    responder_cert: Vec<u8>,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = TempDir::new("ocsp", name);
        // openssl checks times against the wall clock, so the fixtures live around it.
        let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
        let ca =
            sandbox_ca(CaKind::Auth, &Serial::from_u64(0x0100), now - Duration::days(1), now + Duration::days(365));
        dir.write("ca.pem", ca.certificate().to_pem(LineEnding::LF).unwrap());
        dir.write_pem("ca.key", "PRIVATE KEY", &ca.signer().to_pkcs8().unwrap());

        let mut serials = Vec::new();
        for (file, serial) in [("good.pem", 0x1234_5678_9ABC_u64), ("revoked.pem", 0xFEDC_BA98_7654)] {
            let serial = Serial::from_u64(serial);
            let (_, der) = auth_holder(
                &ca,
                &serial,
                &format!("HANKOTEST{}", file.len()),
                now - Duration::hours(1),
                now + Duration::days(30),
            );
            dir.write_pem(file, "CERTIFICATE", &der);
            serials.push(serial);
        }

        let responder_key = SoftwareKey::generate_rsa2048().unwrap();
        let responder_cert = issue_responder_certificate(
            &ca,
            responder_key.public_key().clone(),
            &Serial::from_u64(0x0200),
            now - Duration::hours(1),
            now + Duration::days(7),
        )
        .unwrap();
        dir.write_pem("responder.pem", "CERTIFICATE", &responder_cert);
        dir.write_pem("responder.key", "PRIVATE KEY", &responder_key.to_pkcs8().unwrap());

        let revocation = Revocation { revoked_at: now - Duration::hours(2), reason: CrlReason::AFFILIATION_CHANGED };
        let revoked = serials.pop().unwrap();
        let good = serials.pop().unwrap();
        Fixture { dir, now, ca, good, revoked, revocation, responder_key, responder_cert }
    }

    fn status(&self, id: &CertIdentity) -> RevocationStatus {
        if *id.serial() == self.good {
            RevocationStatus::Good
        } else if *id.serial() == self.revoked {
            RevocationStatus::Revoked(self.revocation)
        } else {
            RevocationStatus::Unknown
        }
    }

    fn id(&self, hash: CertIdHash, serial: &Serial) -> CertIdentity {
        CertIdentity::with_hash(hash, self.ca.certificate(), serial).unwrap()
    }

    /// openssl's index.txt: the good certificate valid, the revoked one revoked with reason.
    fn write_index(&self) {
        let stamp = |t: OffsetDateTime| {
            format!(
                "{:02}{:02}{:02}{:02}{:02}{:02}Z",
                t.year() % 100,
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        };
        let expiry = stamp(self.now + Duration::days(30));
        let index = format!(
            "V\t{expiry}\t\t{}\tunknown\t/C=JP/CN=good\nR\t{expiry}\t{},{}\t{}\tunknown\t/C=JP/CN=revoked\n",
            self.good,
            stamp(self.revocation.revoked_at),
            self.revocation.reason.name(),
            self.revoked,
        );
        self.dir.write("index.txt", index);
    }
}

/// openssl asks (with a nonce) about both certificates, we answer, openssl verifies.
fn openssl_asks_we_answer(name: &str, delegated: bool) {
    let f = Fixture::new(name);
    openssl_ok(
        &f.dir,
        &["ocsp", "-issuer", "ca.pem", "-cert", "good.pem", "-cert", "revoked.pem", "-nonce", "-reqout", "req.der"],
    );
    let request = ParsedRequest::from_der(&f.dir.read("req.der")).unwrap();
    assert_eq!(request.ids(), &[f.id(CertIdHash::Sha1, &f.good), f.id(CertIdHash::Sha1, &f.revoked)]);
    let nonce = request.nonce().expect("openssl -nonce sends a nonce");
    assert_eq!(nonce.len(), 16, "openssl's default nonce is 16 bytes inside the extension's OCTET STRING");
    assert!(!request.is_signed());

    let entries: Vec<_> = request.ids().iter().map(|id| (id.clone(), f.status(id))).collect();
    let response = if delegated {
        Responder::delegated(f.ca.certificate(), &f.responder_cert, &f.responder_key).unwrap().respond(
            &entries,
            f.now,
            f.now,
            Some(f.now + UPDATE_INTERVAL),
            Some(nonce),
        )
    } else {
        Responder::for_ca(&f.ca).unwrap().respond(&entries, f.now, f.now, Some(f.now + UPDATE_INTERVAL), Some(nonce))
    }
    .unwrap();
    f.dir.write("resp.der", &response);

    // An issuer-signed response carries no certificate: the client knows its CA, and openssl
    // must be told (`-verify_other`) where to find the signer; the chain still goes to -CAfile.
    let signer: &[&str] = if delegated { &[] } else { &["-verify_other", "ca.pem"] };
    // 1. Against the request it sent: signature, responder authority and nonce. (With `-cert`,
    //    openssl would build a fresh request with a fresh nonce instead of reading -reqin.)
    let mut args = vec!["ocsp", "-reqin", "req.der", "-respin", "resp.der", "-CAfile", "ca.pem"];
    args.extend_from_slice(signer);
    let out = openssl_ok(&f.dir, &args);
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(!out.contains("WARNING") && !out.contains("Nonce Verify error"), "{out}");
    // 2. The status of each certificate.
    let mut args = vec![
        "ocsp",
        "-respin",
        "resp.der",
        "-issuer",
        "ca.pem",
        "-cert",
        "good.pem",
        "-cert",
        "revoked.pem",
        "-CAfile",
        "ca.pem",
        "-no_nonce",
    ];
    args.extend_from_slice(signer);
    let out = openssl_ok(&f.dir, &args);
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("good.pem: good"), "{out}");
    assert!(out.contains("revoked.pem: revoked"), "{out}");
    assert!(out.contains("Reason: affiliationChanged"), "{out}");

    // openssl is really checking: another nonce, or a flipped signature bit, is refused.
    let respond_with = |nonce: &[u8]| {
        if delegated {
            Responder::delegated(f.ca.certificate(), &f.responder_cert, &f.responder_key).unwrap().respond(
                &entries,
                f.now,
                f.now,
                None,
                Some(nonce),
            )
        } else {
            Responder::for_ca(&f.ca).unwrap().respond(&entries, f.now, f.now, None, Some(nonce))
        }
        .unwrap()
    };
    f.dir.write("other-nonce.der", respond_with(&[0u8; 16]));
    let mut refused = vec![("other-nonce.der", "Nonce Verify error")];
    if !delegated {
        // Issuer-signed: the response ends with the signature BIT STRING.
        let mut flipped = respond_with(nonce);
        *flipped.last_mut().unwrap() ^= 1;
        f.dir.write("flipped.der", &flipped);
        refused.push(("flipped.der", "Response Verify Failure"));
    }
    for (file, complaint) in refused {
        let mut args = vec!["ocsp", "-reqin", "req.der", "-respin", file, "-CAfile", "ca.pem"];
        args.extend_from_slice(signer);
        let out = openssl(&f.dir, &args);
        let all = stdout_and_stderr(&out);
        assert!(!out.status.success() && all.contains(complaint), "{file}: {all}");
    }

    // openssl's own dump of the response agrees on the signer and the nonce.
    let text = openssl_ok(&f.dir, &["ocsp", "-respin", "resp.der", "-resp_text", "-noverify"]);
    assert!(text.contains("OCSP Response Status: successful (0x0)"), "{text}");
    assert!(text.contains("Responder Id: "), "{text}");
    assert!(text.contains("OCSP Nonce"), "{text}");
    if delegated {
        assert!(text.contains("Subject: C=JP, O=JPKI-TEST, CN=hanko sandbox OCSP responder"), "certs: {text}");
    }
}

#[test]
fn openssl_verifies_our_issuer_signed_response() {
    openssl_asks_we_answer("issuer", false);
}

#[test]
fn openssl_verifies_our_delegated_response() {
    openssl_asks_we_answer("delegated", true);
}

/// We ask (with a nonce, `hash` CertIDs), openssl's `-index` responder answers, we verify.
fn we_ask_openssl_answers(name: &str, delegated: bool, hash: CertIdHash, extra: &[&str]) {
    let f = Fixture::new(name);
    f.write_index();
    let ids = [f.id(hash, &f.good), f.id(hash, &f.revoked)];
    let nonce = [0x42u8; 16];
    f.dir.write("req.der", build_request(&ids, Some(&nonce)).unwrap());

    let (signer, key) = if delegated { ("responder.pem", "responder.key") } else { ("ca.pem", "ca.key") };
    let mut args = vec![
        "ocsp",
        "-index",
        "index.txt",
        "-rsigner",
        signer,
        "-rkey",
        key,
        "-CA",
        "ca.pem",
        "-reqin",
        "req.der",
        "-respout",
        "resp.der",
        "-nmin",
        "15",
    ];
    args.extend_from_slice(extra);
    openssl_ok(&f.dir, &args);
    let response = f.dir.read("resp.der");

    let got = verify_response(&response, f.ca.certificate(), &ids, Some(&nonce), f.now, Duration::minutes(5)).unwrap();
    assert_eq!(got[0].status, RevocationStatus::Good);
    assert_eq!(got[1].status, RevocationStatus::Revoked(f.revocation));
    for s in &got {
        assert!((s.this_update - f.now).abs() < Duration::minutes(2), "{s:?}");
        assert_eq!(s.next_update, Some(s.this_update + UPDATE_INTERVAL));
    }
    assert_eq!(got[0].id, ids[0]);

    // A different nonce, or none echoed, is caught.
    assert!(
        verify_response(&response, f.ca.certificate(), &ids, Some(&[0x43; 16]), f.now, Duration::minutes(5)).is_err()
    );
}

#[test]
fn we_verify_openssl_issuer_signed_response() {
    we_ask_openssl_answers("o-issuer", false, CertIdHash::Sha1, &[]);
}

#[test]
fn we_verify_openssl_delegated_response() {
    we_ask_openssl_answers("o-delegated", true, CertIdHash::Sha1, &[]);
}

#[test]
fn we_verify_openssl_delegated_response_by_key_with_sha256_cert_ids() {
    we_ask_openssl_answers("o-bykey", true, CertIdHash::Sha256, &["-resp_key_id"]);
}

#[test]
fn openssl_reads_our_error_responses() {
    let f = Fixture::new("errors");
    for (status, text) in [
        (OcspResponseStatus::MalformedRequest, "malformedrequest (1)"),
        (OcspResponseStatus::InternalError, "internalerror (2)"),
        (OcspResponseStatus::TryLater, "trylater (3)"),
        (OcspResponseStatus::SigRequired, "sigrequired (5)"),
        (OcspResponseStatus::Unauthorized, "unauthorized (6)"),
    ] {
        f.dir.write("err.der", error_response(status).unwrap());
        let out = openssl(&f.dir, &["ocsp", "-respin", "err.der", "-resp_text", "-noverify"]);
        let all = stdout_and_stderr(&out);
        assert!(all.contains(&format!("Responder Error: {text}")), "{all}");
    }
}

#[test]
fn openssl_parses_our_responder_certificate() {
    let f = Fixture::new("cert");
    let text = openssl_ok(&f.dir, &["x509", "-in", "responder.pem", "-noout", "-text"]);
    assert!(text.contains("OCSP Signing"), "{text}");
    assert!(text.contains("OCSP No Check"), "{text}");
    assert!(text.contains("Subject: C = JP, O = JPKI-TEST, CN = hanko sandbox OCSP responder"), "{text}");
    let out = openssl_ok(&f.dir, &["verify", "-CAfile", "ca.pem", "-purpose", "ocsphelper", "responder.pem"]);
    assert!(out.contains("responder.pem: OK"), "{out}");
    let cert = Certificate::from_der(&f.responder_cert).unwrap();
    assert_eq!(cert.tbs_certificate.issuer, *f.ca.name());
}
