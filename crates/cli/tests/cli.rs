//! The `hanko` binary end to end, with the real `openssl` as the independent client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hanko(dir: &Path, args: &[&str]) -> Output {
    let out =
        Command::new(env!("CARGO_BIN_EXE_hanko")).args(args).env("HANKO_DATA_DIR", dir.join("data")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "hanko {args:?} panicked: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
    out
}

fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let out = hanko(dir, args);
    assert!(
        out.status.success(),
        "hanko {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("hanko {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().expect("openssl must be installed (scripts/test.sh installs it)")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const AT: &str = "2026-04-01T00:00:00Z";

fn issue_signature(dir: &Path, name: &str) -> Value {
    let key = dir.join(format!("{name}.p8"));
    ok_json(
        dir,
        &[
            "authority",
            "issue-cert",
            "--kind",
            "signature",
            "--generate-key",
            key.to_str().unwrap(),
            "--name",
            "試験　花子",
            "--birth",
            "1985-04-01",
            "--sex",
            "2",
            "--address",
            "東京都見本区試験町一丁目１番１号",
            "--at",
            AT,
            "--json",
        ],
    )
}

#[test]
fn lifecycle_through_the_cli_agrees_with_openssl() {
    let dir = scratch("lifecycle");
    ok_json(&dir, &["authority", "init", "--at", "2026-01-01T00:00:00Z", "--json"]);
    let issued = issue_signature(&dir, "holder");
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let cert = PathBuf::from(issued["path"].as_str().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("holder.p8")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "holder key must be private");
        let ca_key = dir.join("data/ca/signature/2026/key.p8");
        assert_eq!(std::fs::metadata(ca_key).unwrap().permissions().mode() & 0o777, 0o600, "CA key must be private");
    }

    // openssl shows the JPKI profile: critical keyUsage and policies, the six 4-facts otherNames.
    let o = openssl(&["x509", "-inform", "DER", "-in", cert.to_str().unwrap(), "-noout", "-text", "-nameopt", "utf8"]);
    let shown = text(&o);
    assert!(o.status.success(), "{shown}");
    for needle in [
        "X509v3 Key Usage: critical",
        "Digital Signature, Non Repudiation",
        "X509v3 Certificate Policies: critical",
        "Policy: 1.2.392.200149.8.5.1.0.20",
        "othername: 1.2.392.200149.8.5.5.1::試験　花子",
        "othername: 1.2.392.200149.8.5.5.4::319850401",
        "othername: 1.2.392.200149.8.5.5.3::2",
        "othername: 1.2.392.200149.8.5.5.5::東京都見本区試験町一丁目１番１号",
        "othername: 1.2.392.200149.8.5.5.2::00000",
        "othername: 1.2.392.200149.8.5.5.6::",
        "X509v3 Issuer Alternative Name",
        "X509v3 Subject Key Identifier",
        "Subject: C=JP, L=Tokyo-to, L=Mihon-ku, CN=",
        "Issuer: C=JP, O=JPKI-TEST",
    ] {
        assert!(shown.contains(needle), "openssl x509 -text lacks {needle:?}:\n{shown}");
    }

    // Before any CRL, verification explains what is missing.
    let out = hanko(&dir, &["verify", "certificate", cert.to_str().unwrap(), "--at", AT]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no CRL published yet"));

    ok_json(&dir, &["authority", "crl", "--at", AT, "--json"]);
    let v = ok_json(&dir, &["verify", "certificate", cert.to_str().unwrap(), "--at", AT, "--json"]);
    assert_eq!(v["verified"], true);
    assert_eq!(v["facts"]["name"], "試験　花子");
    assert_eq!(v["facts"]["birth_date"], "319850401");
    assert_eq!(v["revocation"]["method"], "crl");

    // openssl accepts the certificate against our CRL …
    let ca_pem = dir.join("data/ca/signature/2026/ca.pem");
    let crl_pem = dir.join("data/crl/signature-2026.crl.pem");
    let cert_pem = cert.with_extension("pem");
    let attime = "1775001600"; // 2026-04-01T00:00:00Z
    let check = || {
        openssl(&[
            "verify",
            "-crl_check",
            "-attime",
            attime,
            "-CAfile",
            ca_pem.to_str().unwrap(),
            "-CRLfile",
            crl_pem.to_str().unwrap(),
            cert_pem.to_str().unwrap(),
        ])
    };
    let o = check();
    assert!(o.status.success(), "{}", text(&o));

    // … and after a move (affiliationChanged) both sides reject it.
    ok_json(&dir, &["authority", "revoke", &serial, "--reason", "affiliationChanged", "--at", AT, "--json"]);
    ok_json(&dir, &["authority", "crl", "--at", "2026-04-01T00:00:01Z", "--json"]);
    let o = check();
    assert!(!o.status.success() && text(&o).contains("certificate revoked"), "{}", text(&o));
    let out = hanko(&dir, &["verify", "certificate", cert.to_str().unwrap(), "--at", "2026-04-01T00:00:02Z", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["revoked"]["reason"], "affiliationChanged");
    assert_eq!(v["revoked"]["meaning"], "facts-changed");

    // Revoking twice is refused; the register says it once.
    let out = hanko(&dir, &["authority", "revoke", &serial, "--reason", "superseded", "--at", AT]);
    assert_eq!(out.status.code(), Some(2));
    let list = ok_json(&dir, &["authority", "list", "--json"]);
    assert_eq!(list["issued"].as_array().unwrap().iter().filter(|i| i["revoked"].is_object()).count(), 1);
}

#[test]
fn a_new_generation_shares_the_dn_and_old_certificates_still_verify() {
    let dir = scratch("generations");
    ok_json(&dir, &["authority", "init", "--at", "2026-01-01T00:00:00Z", "--json"]);
    let old = issue_signature(&dir, "old");
    let gens = ok_json(&dir, &["authority", "new-generation", "--at", "2026-03-01T00:00:00Z", "--json"]);
    assert_eq!(gens["generations"][0], "2026-1");
    let new = issue_signature(&dir, "new");
    ok_json(&dir, &["authority", "crl", "--at", AT, "--json"]);
    let subject = |p: &Value| {
        let o = openssl(&["x509", "-inform", "DER", "-in", p["path"].as_str().unwrap(), "-noout", "-issuer"]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(subject(&old), subject(&new), "generations share one DN");
    for c in [&old, &new] {
        let v = ok_json(&dir, &["verify", "certificate", c["path"].as_str().unwrap(), "--at", AT, "--json"]);
        assert_eq!(v["verified"], true);
    }
    let a = ok_json(&dir, &["verify", "certificate", old["path"].as_str().unwrap(), "--at", AT, "--json"]);
    let b = ok_json(&dir, &["verify", "certificate", new["path"].as_str().unwrap(), "--at", AT, "--json"]);
    assert_ne!(a["issuer_key_id"], b["issuer_key_id"], "each generation is found by its key");
}

#[test]
fn ocsp_responder_answers_openssl_and_our_verifier() {
    let dir = scratch("ocsp");
    let now = "2026-01-01T00:00:00Z";
    ok_json(&dir, &["authority", "init", "--at", now, "--json"]);
    // OpenSSL checks OCSP times against its own clock, so this test works in the present.
    ok_json(&dir, &["authority", "new-generation", "--json"]);
    let key = dir.join("k.p8");
    let issued = ok_json(
        &dir,
        &["authority", "issue-cert", "--kind", "auth", "--generate-key", key.to_str().unwrap(), "--json"],
    );
    let cert = issued["path"].as_str().unwrap().replace(".der", ".pem");
    let gen = ok_json(&dir, &["authority", "list", "--json"])["generations"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|g| g["kind"] == "auth")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ca = dir.join(format!("data/ca/auth/{gen}/ca.pem"));
    let req = dir.join("req.der");
    let resp = dir.join("resp.der");

    // openssl asks, hanko answers (delegated responder), openssl verifies with the nonce.
    let o = openssl(&["ocsp", "-issuer", ca.to_str().unwrap(), "-cert", &cert, "-reqout", req.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    ok_json(&dir, &["ocsp", "respond", "--request", req.to_str().unwrap(), "--out", resp.to_str().unwrap(), "--json"]);
    let o = openssl(&[
        "ocsp",
        "-reqin",
        req.to_str().unwrap(),
        "-respin",
        resp.to_str().unwrap(),
        "-CAfile",
        ca.to_str().unwrap(),
    ]);
    assert!(text(&o).contains("Response verify OK"), "{}", text(&o));

    // hanko asks, hanko answers, hanko verifies — good, then revoked (lost).
    let r = ok_json(
        &dir,
        &["ocsp", "request", "--issuer", ca.to_str().unwrap(), "--cert", &cert, "--out", req.to_str().unwrap()],
    );
    let nonce = r["nonce"].as_str().unwrap().to_owned();
    ok_json(
        &dir,
        &[
            "ocsp",
            "respond",
            "--request",
            req.to_str().unwrap(),
            "--out",
            resp.to_str().unwrap(),
            "--issuer-signed",
            "--json",
        ],
    );
    let verify = |dir: &Path| {
        hanko(
            dir,
            &[
                "verify",
                "certificate",
                &cert,
                "--usage",
                "auth",
                "--ocsp-response",
                resp.to_str().unwrap(),
                "--ocsp-nonce",
                &nonce,
                "--json",
            ],
        )
    };
    let o = verify(&dir);
    assert!(o.status.success(), "{}", text(&o));
    ok_json(
        &dir,
        &["authority", "revoke", issued["serial"].as_str().unwrap(), "--reason", "certificateHold", "--json"],
    );
    ok_json(&dir, &["ocsp", "respond", "--request", req.to_str().unwrap(), "--out", resp.to_str().unwrap(), "--json"]);
    let o = verify(&dir);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["revoked"]["meaning"], "lost");

    // A malformed request gets malformedRequest, which openssl reads.
    std::fs::write(&req, b"\x30\x03\x02\x01").unwrap();
    let out = hanko(&dir, &["ocsp", "respond", "--request", req.to_str().unwrap(), "--out", resp.to_str().unwrap()]);
    assert!(out.status.success());
    let o = openssl(&["ocsp", "-respin", resp.to_str().unwrap(), "-resp_text", "-noverify"]);
    assert!(text(&o).contains("malformedrequest") || text(&o).contains("malformedRequest"), "{}", text(&o));
}

#[test]
fn bad_input_gives_clear_errors_not_panics() {
    let dir = scratch("bad");
    // No authority yet.
    let out = hanko(&dir, &["authority", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("hanko authority init"));
    ok_json(&dir, &["authority", "init", "--json"]);
    ok_json(&dir, &["authority", "crl", "--json"]);
    let garbage = dir.join("garbage.der");
    for bytes in [
        &b""[..],
        b"\x30\x82\xff\xff",
        b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        &[0x30; 40000],
    ] {
        std::fs::write(&garbage, bytes).unwrap();
        let out = hanko(&dir, &["verify", "certificate", garbage.to_str().unwrap()]);
        assert!(matches!(out.status.code(), Some(1) | Some(2)), "{}", text(&out));
        assert!(text(&out).contains("FAILED") || text(&out).contains("error"), "{}", text(&out));
    }
    let out = hanko(&dir, &["authority", "revoke", "nothex", "--reason", "superseded", "--at", AT]);
    assert!(text(&out).contains("not a hex serial"));
    let out = hanko(&dir, &["authority", "revoke", "01", "--reason", "bogus"]);
    assert!(text(&out).contains("unknown reason"));
    // removefromcrl_revocation_is_refused: a reason a JPKI revocation cannot have (it would stop
    // every later CRL) is refused before anything is looked up.
    for reason in ["removeFromCRL", "privilegeWithdrawn", "aACompromise"] {
        let out = hanko(&dir, &["authority", "revoke", "01", "--reason", reason]);
        assert!(!out.status.success() && text(&out).contains("unknown reason"), "{reason}: {}", text(&out));
    }
    let out = hanko(
        &dir,
        &["authority", "issue-cert", "--kind", "signature", "--generate-key", dir.join("x.p8").to_str().unwrap()],
    );
    assert!(text(&out).contains("4 facts"), "{}", text(&out));
    let out = hanko(&dir, &["authority", "issue-cert", "--kind", "auth", "--generate-key", "k", "--at", "yesterday"]);
    assert!(text(&out).contains("RFC 3339"));
    let out = hanko(
        &dir,
        &[
            "authority",
            "issue-cert",
            "--kind",
            "signature",
            "--generate-key",
            "k",
            "--name",
            "試験",
            "--birth",
            "1985-02-30",
            "--address",
            "東京都",
        ],
    );
    assert!(text(&out).contains("not a date"));
}

#[test]
fn real_jlis_anchors_load_and_do_not_trust_the_sandbox() {
    let dir = scratch("jlis");
    ok_json(&dir, &["authority", "init", "--json"]);
    let issued = ok_json(
        &dir,
        &["authority", "issue-cert", "--kind", "auth", "--generate-key", dir.join("k.p8").to_str().unwrap(), "--json"],
    );
    let jlis = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pki/tests/data/jlis-ca");
    let out = hanko(
        &dir,
        &[
            "verify",
            "certificate",
            issued["path"].as_str().unwrap(),
            "--usage",
            "auth",
            "--jlis-ca",
            jlis.to_str().unwrap(),
            "--no-revocation",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The sandbox's test policy is refused before any issuer lookup.
    assert!(v["error"].as_str().unwrap().contains("is not 1.2.392.200149.8.5.1.3.30"), "{v}");
}

#[test]
fn demo_runs_twice_and_refuses_foreign_directories() {
    let dir = scratch("demo");
    let demo = dir.join("d");
    for _ in 0..2 {
        let out = hanko(&dir, &["demo", "--dir", demo.to_str().unwrap(), "--at", "2026-02-01T00:00:00Z"]);
        assert!(out.status.success(), "{}", text(&out));
        let t = text(&out);
        assert!(t.contains("verify CMS detached:  OK"));
        assert!(t.contains("REVOKED (affiliationChanged)"));
    }
    let foreign = dir.join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("precious.txt"), b"keep").unwrap();
    let out = hanko(&dir, &["demo", "--dir", foreign.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(foreign.join("precious.txt").exists());
}

/// Finding 2.4: `authority init` writes an operator key beside the counter key (both 0600), and
/// any key can be disabled or rotated from the CLI.
#[test]
fn init_makes_an_operator_key_and_keys_can_be_disabled() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("operator-key");
    let v = ok_json(&dir, &["authority", "init", "--at", "2026-01-01T00:00:00Z", "--json"]);
    for name in ["counter.key", "operator.key"] {
        let path = dir.join("data").join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("hk_test_"));
    }
    assert!(v["operator_key"].as_str().unwrap().ends_with("operator.key"), "{v}");
    let reg = ok_json(&dir, &["authority", "add-verifier", "--role", "signature", "--name", "sv", "--json"]);
    let id = reg["verifier"]["id"].as_str().unwrap();
    let rotated = ok_json(&dir, &["authority", "rotate-key", id, "--json"]);
    assert_ne!(rotated["api_key"], reg["api_key"]);
    let disabled = ok_json(&dir, &["authority", "disable-key", id, "--json"]);
    assert_eq!(disabled["disabled"], true);
    let out = hanko(&dir, &["authority", "disable-key", id]);
    assert!(!out.status.success() && text(&out).contains("disabled already"), "{}", text(&out));
}

#[test]
fn platform_init_makes_a_private_jwe_key_and_serve_refuses_unknown_jwe_algorithms() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("platform-jwe");
    ok_json(&dir, &["authority", "init", "--at", "2026-01-01T00:00:00Z", "--json"]);
    let pf = ok_json(&dir, &["authority", "add-verifier", "--role", "platform", "--name", "pf", "--json"]);
    std::fs::write(dir.join("pf.key"), pf["api_key"].as_str().unwrap()).unwrap();
    let pf_dir = dir.join("pf");
    let (pf_dir_s, key_s, anchors_s) =
        (pf_dir.to_str().unwrap(), dir.join("pf.key"), dir.join("data").to_str().unwrap().to_owned());
    let v = ok_json(
        &dir,
        &[
            "platform",
            "init",
            "--data-dir",
            pf_dir_s,
            "--authority-key-file",
            key_s.to_str().unwrap(),
            "--anchors",
            &anchors_s,
            "--json",
        ],
    );
    let jwe_key = pf_dir.join("jwe.key");
    assert_eq!(v["jwe_key"], jwe_key.to_str().unwrap(), "{v}");
    assert_eq!(std::fs::metadata(&jwe_key).unwrap().permissions().mode() & 0o777, 0o600);
    let before = std::fs::read(&jwe_key).unwrap();
    hanko_pki::jwe::JweDecryptionKey::from_pkcs8(&before).unwrap();
    // Opening again keeps the key.
    let out = hanko(&dir, &["platform", "tenant-key", "--data-dir", pf_dir_s, "TN-none"]);
    assert!(!out.status.success() && text(&out).contains("not found"), "{}", text(&out));
    assert_eq!(std::fs::read(&jwe_key).unwrap(), before);
    let out =
        hanko(&dir, &["platform", "serve", "--data-dir", pf_dir_s, "--listen", "127.0.0.1:0", "--jwe-alg", "RSA1_5"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("RSA1_5"), "{}", text(&out));
}
