//! Headless Chromium (Debian's `chromium`, unmodified) walks every flow of the demo bank over a
//! real `hanko up`, like a person: the home page, a login without an account, opening an account
//! (the wallet twice, the pre-filled form, the verification record), logging out and in, the age
//! check, a contract and its .p7s, the consent, a move at the console and 「異動あり」, the staff
//! dashboard, recovery with the new certificate, a wrong PIN, a locked PIN, a cancel, a lost
//! card, recovery without an account, the English pages. The walk is `scripts/idp-js/up-browser-test.mjs`
//! (playwright-core, one browser process for every case), run with the Node.js
//! `scripts/idp-js.sh --chromium` gives (it installs chromium, Node.js and playwright-core when
//! missing). Screenshots of every step are kept under `target/test-artifacts/up-browser/`.
//!
//! SQLite only: the pages and flows are the same code over either database, and every flow's
//! storage runs on both backends in the other `tests/up` cases; one browser walk is enough.

use std::path::{Path, PathBuf};

use hanko_card::{PinStatus, Slot};
use serde_json::{json, Value};

use crate::common::*;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The Node.js that runs scripts/idp-js (installing it, its packages and chromium when missing).
fn node(root: &Path) -> PathBuf {
    let out = std::process::Command::new(root.join("scripts/idp-js.sh"))
        .arg("--chromium")
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("scripts/idp-js.sh runs");
    assert!(
        out.status.success(),
        "scripts/idp-js.sh --chromium failed ({}): the browser test needs Debian's chromium, Node.js and \
         playwright-core (scripts/test.sh installs them)",
        out.status
    );
    let node = String::from_utf8(out.stdout).unwrap().lines().last().unwrap_or_default().trim().to_owned();
    assert!(Path::new(&node).is_file(), "scripts/idp-js.sh printed no node binary: {node:?}");
    assert!(
        root.join("scripts/idp-js/node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in scripts/idp-js"
    );
    PathBuf::from(node)
}

/// The cases the script walks, in order (each must pass; see the script for what each checks).
const CASES: [&str; 16] = [
    "home",
    "login_no_account",
    "open_account",
    "logout_login",
    "age_check",
    "contract",
    "consent",
    "move",
    "staff",
    "recover",
    "wrong_pin",
    "pin_locked",
    "cancel",
    "lost_card",
    "recover_unknown",
    "english",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_walks_every_flow_of_the_bank() {
    let root = workspace();
    let chromium = Path::new("/usr/bin/chromium");
    let node = node(&root);
    assert!(chromium.is_file(), "no /usr/bin/chromium after scripts/idp-js.sh --chromium");
    let shots = root.join("target/test-artifacts/up-browser");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let up = Up::start(Backend::Sqlite);
    let taro = up.card_of("見本　太郎");
    let PinStatus::Tries(taro_tries) = up.card(&taro).pin_status(Slot::Auth).unwrap() else { panic!("太郎's PIN") };
    let config = json!({"chromium": chromium, "screenshots": shots, "ready": up.ready});
    let dir = up.dir.with_extension("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let (config_path, result_path) = (dir.join("config.json"), dir.join("result.json"));
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    let out = tokio::process::Command::new(&node)
        .arg(root.join("scripts/idp-js/up-browser-test.mjs"))
        .arg(&config_path)
        .arg(&result_path)
        .current_dir(&root)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    let result: Value = std::fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| panic!("the browser test wrote no result ({}):\n{stdout}\n{stderr}", out.status));
    assert!(
        out.status.success(),
        "the browser test failed ({}); screenshots in {}:\n{stdout}\n{stderr}",
        out.status,
        shots.display()
    );
    let cases = &result["cases"];
    for name in CASES {
        let case = &cases[name];
        assert_eq!(case["ok"], true, "{name}: {case}");
        let taken = case["screenshots"].as_array().unwrap();
        assert!(!taken.is_empty(), "{name} took no screenshot");
        for shot in taken {
            let f = shots.join(shot.as_str().unwrap());
            assert!(std::fs::metadata(&f).map(|m| m.len() > 1000).unwrap_or(false), "screenshot {}", f.display());
        }
    }
    // The two the README shows (docs/img/).
    for shot in ["03-6-record.png", "08-3-me-changed.png"] {
        assert!(shots.join(shot).is_file(), "{shot}");
    }

    // What the browser saw is what the services hold.
    // The record's evidence id is the platform's verification of the application's signature.
    let open = &cases["open_account"];
    let evidence = open["evidence"].as_str().unwrap();
    let key = std::fs::read_to_string(up.dir.join("bank").join(hanko_bank::PLATFORM_KEY_FILE)).unwrap();
    let (status, record) =
        send(up.http.get(format!("{}/v1/evidence/{evidence}", up.platform)).bearer_auth(key.trim())).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["result"], "OK", "{record}");
    // The contract and its signature verify with openssl (the check the bank's page prints).
    let contract = &cases["contract"];
    let verify = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-noverify", "-out", "/dev/null", "-in"])
        .arg(contract["p7s"].as_str().unwrap())
        .arg("-content")
        .arg(contract["pdf"].as_str().unwrap())
        .output()
        .expect("openssl runs");
    assert!(verify.status.success(), "openssl cms -verify: {}", String::from_utf8_lossy(&verify.stderr));
    let pdf = std::fs::read(contract["pdf"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(hanko_pki::DigestAlgorithm::Sha256.digest(&pdf)), contract["sha256"].as_str().unwrap());
    // The move: the new address came with the webhook.
    let moved = &cases["move"];
    assert!(moved["changed"].as_str().unwrap().contains("異動あり"), "{moved}");
    assert_ne!(moved["address"], open["prefilled"]["address"], "{moved}");
    // One try spent by the wrong PIN, given back by the right one (the card's own counter).
    assert_eq!(cases["wrong_pin"]["tries_left"], json!(taro_tries - 1));
    assert_eq!(up.card(&taro).pin_status(Slot::Auth).unwrap(), PinStatus::Tries(taro_tries), "the counter is reset");
    let sakura = up.card_of("例題");
    assert_eq!(up.card(&sakura).pin_status(Slot::Auth).unwrap(), PinStatus::Blocked, "さくら's PIN is locked");
    let lost = &cases["lost_card"];
    assert!(lost["bank"].as_str().unwrap().contains("一時保留"), "{lost}");
}
