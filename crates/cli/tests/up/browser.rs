//! Headless Chromium (Debian's `chromium`, unmodified) walks every flow of the demo bank over a
//! real `hanko up`, like a person: the home page, a login without an account, opening an account
//! (the wallet twice, the pre-filled form, the verification record), logging out and in, the age
//! check, a contract and its .p7s, the consent, a move at the console and 「異動あり」, a wrong
//! PIN, a cancel, a lost card, the English pages. The walk is `scripts/idp-js/up-browser-test.mjs`
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

/// The cases the script walks, in order, with the screenshots each must leave.
const CASES: [(&str, &[&str]); 12] = [
    ("home", &["01-1-home"]),
    ("login_no_account", &["02-1-login", "02-2-wallet-login", "02-3-no-account"]),
    (
        "open_account",
        &[
            "03-1-open",
            "03-2-wallet-open-sign-certificate",
            "03-3-open-form",
            "03-4-open-form-filled",
            "03-5-wallet-open-sign-application",
            "03-6-record",
        ],
    ),
    ("logout_login", &["04-1-wallet-login", "04-2-me"]),
    (
        "age_check",
        &["05-1-age", "05-2-wallet-age-mirai", "05-3-age-refused", "05-4-wallet-age-hanako", "05-5-age-passed"],
    ),
    ("contract", &["06-1-contract", "06-2-wallet-contract", "06-3-contract-signed"]),
    ("consent", &["07-1-consent", "07-2-wallet-consent", "07-3-consent-given"]),
    ("move", &["08-1-console-move", "08-2-console-move-done", "08-3-me-changed"]),
    ("wrong_pin", &["09-1-wallet-wrong-pin", "09-2-wrong-pin"]),
    ("cancel", &["10-1-wallet-before-cancel", "10-2-cancelled"]),
    (
        "lost_card",
        &[
            "11-1-console-lost",
            "11-2-console-lost-done",
            "11-3-wallet-lost",
            "11-4-wallet-refused",
            "11-5-bank-refused",
        ],
    ),
    (
        "english",
        &["12-1-home-en", "12-2-login-en", "12-3-wallet-login-en", "12-4-me-en", "12-5-open-en", "12-6-age-en"],
    ),
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
    for (name, screenshots) in CASES {
        let case = &cases[name];
        assert_eq!(case["ok"], true, "{name}: {case}");
        for shot in screenshots {
            let f = shots.join(format!("{shot}.png"));
            assert!(std::fs::metadata(&f).map(|m| m.len() > 1000).unwrap_or(false), "screenshot {}", f.display());
        }
    }

    // What the browser saw matches what the services hold.
    let open = &cases["open_account"];
    assert!(open["evidence"].as_str().is_some_and(|e| !e.is_empty()), "{open}");
    assert!(open["prefilled"]["address"].as_str().is_some_and(|a| a.contains("東京都")), "{open}");
    let moved = &cases["move"];
    assert!(moved["changed"].as_str().unwrap().contains("異動あり"), "{moved}");
    let p7s = std::fs::read(cases["contract"]["p7s"].as_str().unwrap()).unwrap();
    assert_eq!(p7s[0], 0x30, "the .p7s is DER");
    // One try spent by the wrong PIN, given back by the right one (the card's own counter).
    assert_eq!(cases["wrong_pin"]["tries_left"], json!(taro_tries - 1));
    assert_eq!(up.card(&taro).pin_status(Slot::Auth).unwrap(), PinStatus::Tries(taro_tries), "the counter is reset");
    let lost = &cases["lost_card"];
    assert!(lost["bank"].as_str().unwrap().contains("一時保留"), "{lost}");
}
