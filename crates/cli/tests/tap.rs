//! `hanko tap …` end to end with the binary: a sandbox authority served over HTTP, two emulated
//! cards, registration with the PIN, a PIN-less visit, the guard's refusals, and the 2015
//! offline whitelist gate after the authority is gone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs hanko with `--json` and the data directory; the PIN only when `pin`.
fn run(data: &Path, args: &[&str], pin: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hanko"));
    cmd.args(args).arg("--json").env("HANKO_DATA_DIR", data).env_remove("HANKO_PIN").env_remove("HANKO_AUTHORITY_KEY");
    if pin {
        cmd.env("HANKO_PIN", "1234").env("HANKO_PASSWORD", "HANKO2026");
    }
    cmd.output().unwrap()
}

fn ok(data: &Path, args: &[&str], pin: bool) -> Value {
    let out = run(data, args, pin);
    assert!(
        out.status.success(),
        "hanko {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A refusal: (exit status, the error code).
fn refused(data: &Path, args: &[&str]) -> (i32, String) {
    let out = run(data, args, false);
    assert!(!out.status.success(), "hanko {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
    let code = match serde_json::from_slice::<Value>(&out.stderr) {
        Ok(e) => e["error"]["code"].as_str().unwrap_or_default().to_owned(),
        Err(_) => serde_json::from_slice::<Value>(&out.stdout)
            .map(|v| v["result"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default(),
    };
    (out.status.code().unwrap(), code)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .args(["authority", "serve", "--listen", "127.0.0.1:0", "--ocsp-lag", "0"])
        .env("HANKO_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("http://"), "serve printed {line:?}");
    (Server(child), line.trim().to_owned())
}

#[test]
fn tap_register_then_visit_without_pin_and_the_offline_gate() {
    let dir = scratch("tap-cli");
    let data = dir.join("data");
    ok(&data, &["authority", "init"], false);
    let a = ok(&data, &["card", "new", "--person", "0"], true)["card"].as_str().unwrap().to_owned();
    let b = ok(&data, &["card", "new", "--person", "1"], true)["card"].as_str().unwrap().to_owned();
    let key = ok(&data, &["authority", "add-verifier", "--role", "auth", "--name", "test library"], false)["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_file = dir.join("library.key");
    std::fs::write(&key_file, key).unwrap();
    let key_file = key_file.to_str().unwrap();

    // The help states the legal frame.
    let help = Command::new(env!("CARGO_BIN_EXE_hanko")).args(["tap", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("assurance level 1") && help.contains("never online, never outdoors"), "{help}");

    ok(&data, &["tap", "terminal", "add", "--id", "desk-1", "--environment", "counter"], false);
    ok(&data, &["tap", "terminal", "add", "--id", "web", "--environment", "online"], false);
    ok(&data, &["tap", "service", "add", "--id", "library", "--level", "1"], false);
    ok(&data, &["tap", "service", "add", "--id", "account", "--level", "2"], false);

    let (server, url) = serve(&data);
    let flow = |verb: &'static str, card: &str, terminal: &str, service: &str| -> Vec<String> {
        [verb, "--card", card, "--terminal", terminal, "--service", service, "--authority", &url]
            .iter()
            .map(|s| s.to_string())
            .chain(["--authority-key-file".to_owned(), key_file.to_owned()])
            .collect()
    };
    let args = |v: &[String]| -> Vec<String> { std::iter::once("tap".to_owned()).chain(v.iter().cloned()).collect() };

    // Registration needs the PIN; without it nothing happens.
    let reg = args(&flow("register", &a, "desk-1", "library"));
    assert_eq!(refused(&data, &strs(&reg)), (2, "missing-secret".to_owned()));
    let out = ok(&data, &strs(&reg), true);
    assert_eq!(out["result"], "registered", "{out}");
    assert_eq!(out["validity"]["method"], "ocsp", "{out}");
    let mode = std::fs::metadata(data.join("tap").join("registrations.json")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600, "personal data: 0600");

    // A later visit: no PIN in the environment at all.
    let out = ok(&data, &strs(&args(&flow("visit", &a, "desk-1", "library"))), false);
    assert_eq!((out["result"].as_str(), out["pin"].as_str()), (Some("ok"), Some("none")), "{out}");
    // The guard; an unregistered card.
    assert_eq!(refused(&data, &strs(&args(&flow("visit", &a, "web", "library")))), (1, "refused-environment".into()));
    assert_eq!(
        refused(&data, &strs(&args(&flow("visit", &a, "desk-9", "library")))),
        (1, "refused-unregistered-terminal".into())
    );
    assert_eq!(
        refused(&data, &strs(&args(&flow("visit", &a, "desk-1", "account")))),
        (1, "refused-assurance-level".into())
    );
    assert_eq!(refused(&data, &strs(&args(&flow("visit", &b, "desk-1", "library")))), (1, "not-registered".into()));

    // The holder withdraws with the card (no PIN); then a visit finds nothing.
    let out = ok(&data, &strs(&args(&flow("unregister", &b, "desk-1", "library"))), false);
    assert_eq!(out["result"], "not-registered", "{out}");
    let out = ok(&data, &strs(&args(&flow("unregister", &a, "desk-1", "library"))), false);
    assert_eq!(out["result"], "removed", "{out}");
    assert_eq!(refused(&data, &strs(&args(&flow("visit", &a, "desk-1", "library")))), (1, "not-registered".into()));
    let reg = args(&flow("register", &a, "desk-1", "library"));
    assert_eq!(ok(&data, &strs(&reg), true)["result"], "registered");

    // The 2015 offline variant: the seller exports; the authority goes away; the gate decides.
    let conv = dir.join("event.key");
    let list = dir.join("whitelist.json");
    ok(&data, &["tap", "whitelist", "key", "--out", conv.to_str().unwrap()], false);
    let ticket = format!("T-0001={a}");
    ok(
        &data,
        &[
            "tap",
            "whitelist",
            "export",
            "--event",
            "concert",
            "--key-file",
            conv.to_str().unwrap(),
            "--ticket",
            &ticket,
            "--out",
            list.to_str().unwrap(),
        ],
        false,
    );
    drop(server);
    let gate = |card: &str| -> Vec<String> {
        ["tap", "gate", "--card", card, "--whitelist", list.to_str().unwrap(), "--key-file", conv.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let out = ok(&data, &strs(&gate(&a)), false);
    assert_eq!((out["result"].as_str(), out["ticket"].as_str()), (Some("admit"), Some("T-0001")), "{out}");
    assert_eq!(refused(&data, &strs(&gate(&a))), (1, "already-entered".into()));
    assert_eq!(refused(&data, &strs(&gate(&b))), (1, "not-listed".into()));
    let text = std::fs::read_to_string(&list).unwrap();
    assert!(!text.contains("serial"), "ticket numbers and conversion values only: {text}");
}
