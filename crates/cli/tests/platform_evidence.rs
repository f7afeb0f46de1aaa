//! `hanko platform evidence …` end to end: verify, checkpoint, prove, export, the offline
//! `check-bundle` (and openssl on the files it extracts), purge — over a platform whose log a
//! library node filled, as `hanko platform serve` would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use hanko_platform::{Config, NewEvidence, Platform, SystemClock};
use hanko_store::Db;
use serde_json::{json, Value};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hanko(env_data: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_hanko")).args(args).env("HANKO_DATA_DIR", env_data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "hanko {args:?} panicked: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
    out
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn evidence_commands_verify_prove_export_check_and_purge() {
    let dir = scratch("platform-evidence");
    let authority = dir.join("authority");
    let out = hanko(&authority, &["authority", "init"]);
    assert!(out.status.success(), "{}", text(&out));
    let key_file = dir.join("authority.key");
    std::fs::write(&key_file, "hk_test_0000000000000000\n").unwrap();
    let pdir = dir.join("platform");
    let pd = pdir.to_str().unwrap();
    let out = hanko(
        &authority,
        &[
            "platform",
            "init",
            "--data-dir",
            pd,
            "--authority-key-file",
            key_file.to_str().unwrap(),
            "--anchors",
            authority.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    // A node appends evidence (the verification endpoints do this).
    let ids: Vec<String> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = Db::connect(&format!("sqlite:{}", pdir.join("platform.sqlite").display())).await.unwrap();
        let p = Platform::open(db, Config::new(&pdir, "http://127.0.0.1:9"), Arc::new(SystemClock)).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..5u32 {
            let e = NewEvidence {
                tenant_id: "TN-cli".into(),
                kind: "signature",
                result: "OK".into(),
                user_id: Some(format!("u-{i}")),
                record: json!({"version": 1, "n": i}),
                at: p.now(),
            };
            ids.push(p.append_evidence(e).await.unwrap());
        }
        ids
    });

    let run = |args: &[&str]| {
        let mut all = vec!["--json", "platform", "evidence"];
        all.extend_from_slice(args);
        hanko(&authority, &all)
    };
    let out = run(&["checkpoint", "--data-dir", pd]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["verify", "--data-dir", pd]);
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["records"].as_u64(), report["checkpoints"].as_u64()), (Some(5), Some(1)), "{report}");

    let out = hanko(&authority, &["platform", "evidence", "prove", "--data-dir", pd, &ids[3]]);
    assert!(out.status.success(), "{}", text(&out));
    let proof: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(proof["seq"], 3);
    assert_eq!(proof["checkpoint"]["size"], 5);

    let bundle = dir.join("bundle.json");
    let out = run(&["export", "--data-dir", pd, &ids[3], "--out", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let extract = dir.join("extract");
    let out = hanko(
        &authority,
        &["platform", "evidence", "check-bundle", bundle.to_str().unwrap(), "--extract", extract.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("bundle OK"), "{}", text(&out));
    // The auditor's openssl accepts the checkpoint's time-stamp token over the note.
    let openssl = Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in", "checkpoint.tsr", "-data", "checkpoint.note"])
        .args(["-CAfile", "tsa-ca.pem", "-untrusted", "tsa.pem"])
        .current_dir(&extract)
        .output()
        .expect("openssl must be installed (scripts/test.sh installs it)");
    assert!(String::from_utf8_lossy(&openssl.stdout).contains("Verification: OK"), "{}", text(&openssl));
    // With the published keys given explicitly, and with a wrong key.
    let vkey = std::fs::read_to_string(pdir.join("evidence/checkpoint.vkey")).unwrap();
    let ca = pdir.join("evidence/tsa-ca.der");
    let out = run(&[
        "check-bundle",
        bundle.to_str().unwrap(),
        "--verifier-key",
        vkey.trim(),
        "--tsa-ca",
        ca.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let malformed = "someone+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let out = run(&["check-bundle", bundle.to_str().unwrap(), "--verifier-key", malformed]);
    assert_eq!(out.status.code(), Some(2), "a malformed key is bad input: {}", text(&out));
    // (The golang.org/x/mod/sumdb/note test key: well formed, not the platform's.)
    let other = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let out = run(&["check-bundle", bundle.to_str().unwrap(), "--verifier-key", other]);
    assert_eq!(out.status.code(), Some(1), "another key does not check: {}", text(&out));
    // A changed record in the bundle: refused, exit status 1.
    let mut b: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    b["record"]["n"] = json!(99);
    std::fs::write(&bundle, serde_json::to_vec(&b).unwrap()).unwrap();
    let out = run(&["check-bundle", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Purge: refused inside the retention period, nothing to purge before 2020.
    let out = run(&["purge", "--data-dir", pd, "--before", "2099-01-01"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = run(&["purge", "--data-dir", pd, "--before", "2019-01-01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["purged"], 0);

    // A changed byte in the database: verify says so, exit status 1.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = Db::connect(&format!("sqlite:{}", pdir.join("platform.sqlite").display())).await.unwrap();
        hanko_store::sqlx::query("UPDATE evidence SET result = 'SIGNATURE_MISMATCH' WHERE seq = 1")
            .execute(db.pool())
            .await
            .unwrap();
        db.close().await;
    });
    let out = hanko(&authority, &["platform", "evidence", "verify", "--data-dir", pd]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("record 1"), "{}", text(&out));
}
