//! `hanko bench idp` end to end, shortened: full logins through the idp's HTTP endpoints with
//! emulated cards (the bench fails on any failed login: state, code, PKCE, the ID token's
//! signature, nonce and at_hash, userinfo's sub and facts), next to node-oidc-provider driven by
//! the same kind of flow (the yardstick checks its own configuration first: PKCE required,
//! assertion `jti` single use, private_key_jwt only). Counts and the report's shape only: timings
//! are never asserted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The node binary, with scripts/idp-js installed (the script installs what is missing).
fn node() -> String {
    let out = Command::new(repo().join("scripts/idp-js.sh")).output().unwrap();
    assert!(out.status.success(), "scripts/idp-js.sh: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn logins_complete_through_the_idp_and_the_yardstick() {
    let node = node();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-idp");
    let out = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .current_dir(repo())
        .args(["bench", "idp", "--json", "--seconds", "1", "--rounds", "1", "--concurrency", "2"])
        .args(["--breakdown-seconds", "1", "--storage", "both", "--node", &node, "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hanko bench idp: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for storage in ["disk", "tmpfs"] {
        let h = &v["hanko"][storage];
        assert!(h["flows"].as_u64().unwrap() > 0, "{storage}: no login completed: {v}");
        assert!(h["ratio"].as_f64().unwrap() > 0.0, "{v}");
        let b = &h["breakdown"];
        assert!(b["flows"].as_u64().unwrap() > 0, "{v}");
        for step in ["authorize", "app_request", "card", "approval", "continue", "token", "userinfo", "total"] {
            assert!(b["client_ms"][step].as_f64().unwrap() > 0.0, "{storage}: {step}: {b}");
        }
        // The platform was asked for a challenge and a verification in every login.
        for step in ["platform_verification", "approval", "token", "userinfo"] {
            assert!(b["server_ms"][step].as_f64().unwrap() > 0.0, "{storage}: {step}: {b}");
        }
    }
    let y = &v["yardstick"];
    assert_eq!(y["provider"], "node-oidc-provider", "{v}");
    assert!(y["flows"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(y["id_token_alg"], "ES256", "the yardstick signs ID tokens as the idp does: {v}");
    assert!(v["card_rsa2048_signatures_per_second"].as_f64().unwrap() > 0.0, "{v}");
    // Nothing left behind: the tmpfs databases are always removed, the disk ones without --keep.
    assert!(!dir.exists(), "{} is left behind", dir.display());
}
