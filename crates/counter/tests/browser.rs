//! Headless Chromium (Debian's `chromium`, unmodified) walks the counter check page like counter
//! staff: refused without the token, the sign-in URL, a check of the sample My Number Card with
//! progress, the facts beside the photo and the record, a wrong code, the records, English. The
//! walk is `scripts/idp-js/counter-browser-test.mjs` (playwright-core, one browser process), run
//! with the Node.js `scripts/idp-js.sh --chromium` gives (it installs chromium, Node.js and
//! playwright-core when missing). Screenshots go to `target/test-artifacts/counter-browser/`;
//! `HANKO_UPDATE_SCREENSHOTS=1` also copies them to docs/img/check-*.png.
//!
//! The server is the `counter-demo` example (built by `cargo test -p hanko-counter`); with
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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
    assert!(out.status.success(), "scripts/idp-js.sh --chromium failed ({})", out.status);
    let node = String::from_utf8(out.stdout).unwrap().lines().last().unwrap_or_default().trim().to_owned();
    assert!(Path::new(&node).is_file(), "scripts/idp-js.sh printed no node binary: {node:?}");
    PathBuf::from(node)
}

/// The demo server binary beside this test's binary (`target/<profile>/examples/counter-demo`).
fn demo_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let demo = profile_dir.join("examples").join("counter-demo");
    assert!(
        demo.is_file(),
        "{} is missing: run the package's tests (`cargo test -p hanko-counter` builds its examples) or \
         `cargo build -p hanko-counter --example counter-demo` first",
        demo.display()
    );
    demo
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const CASES: [&str; 6] = ["refused", "sign_in", "check", "wrong_code", "records", "english"];

#[test]
fn chromium_walks_a_check_on_the_counter_page() {
    let root = workspace();
    let chromium = Path::new("/usr/bin/chromium");
    let node = node(&root);
    let shots = root.join("target/test-artifacts/counter-browser");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let dir = std::env::temp_dir().join(format!("hanko-counter-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ready_file = dir.join("ready.json");

    let mut demo = std::process::Command::new(demo_binary());
    let _server = Server(
        demo.arg("--ready-file")
            .arg(&ready_file)
            .arg("--dir")
            .arg(dir.join("data"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the demo server starts"),
    );
    let started = Instant::now();
    let ready: Value = loop {
        if let Some(v) = std::fs::read(&ready_file).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            break v;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the demo server wrote no ready file");
        std::thread::sleep(Duration::from_millis(100));
    };

    let config = json!({"chromium": chromium, "screenshots": shots, "ready": ready});
    let (config_path, result_path) = (dir.join("config.json"), dir.join("result.json"));
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let out = std::process::Command::new(&node)
        .arg(root.join("scripts/idp-js/counter-browser-test.mjs"))
        .arg(&config_path)
        .arg(&result_path)
        .current_dir(&root)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    let result: Value = std::fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| panic!("the browser test wrote no result ({}):\n{stdout}\n{stderr}", out.status));
    assert!(out.status.success(), "the browser test failed; screenshots in {}:\n{stdout}\n{stderr}", shots.display());
    assert!(result.get("console_errors").is_none(), "the page's script failed: {result}");
    for name in CASES {
        let case = &result["cases"][name];
        assert_eq!(case["ok"], true, "{name}: {case}");
        for shot in case["screenshots"].as_array().unwrap() {
            let f = shots.join(shot.as_str().unwrap());
            assert!(std::fs::metadata(&f).map(|m| m.len() > 1000).unwrap_or(false), "screenshot {}", f.display());
        }
    }
    if std::env::var("HANKO_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        for entry in std::fs::read_dir(&shots).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), root.join("docs/img").join(entry.file_name())).unwrap();
        }
    }
}
