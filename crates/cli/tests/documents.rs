//! The counter check and the emulated documents through the `hanko` binary: `hanko document
//! init | new | list`, `hanko check read` on an emulated My Number Card (and, once their modules
//! are in, the licence, the residence card and the passport: one line each at the end).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const PIN: &str = "1234";
const PASSWORD: &str = "HANKO2026";
/// Every access-code variable: a test sets only the ones it means.
const CODE_VARS: [&str; 7] = [
    "HANKO_NUMBER_B",
    "HANKO_LICENCE_PIN1",
    "HANKO_LICENCE_PIN2",
    "HANKO_CARD_NUMBER",
    "HANKO_MRZ",
    "HANKO_CAN",
    "HANKO_PIN",
];

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("documents-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hanko(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hanko"));
    c.env("HANKO_DATA_DIR", dir.join("data")).env_remove("HANKO_PASSWORD");
    for v in CODE_VARS {
        c.env_remove(v);
    }
    c.envs(env.iter().copied()).args(args);
    let out = c.output().unwrap();
    let all = text(&out);
    assert!(!all.contains("panicked"), "{all}");
    assert!(!all.contains("PRIVATE KEY"), "a key was printed: {all}");
    out
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok_json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(o)))
}

fn error_code(o: &Output) -> String {
    let v: Value = serde_json::from_slice(&o.stderr).unwrap_or_else(|_| panic!("{}", text(o)));
    v["error"]["code"].as_str().unwrap().to_owned()
}

/// A sandbox authority, the document issuers, and one My Number Card; returns the card id and
/// its 照合番号B (synthetic person 0 is born Showa 60-04-01).
fn setup(dir: &Path) -> (String, String) {
    ok_json(&hanko(dir, &[], &["authority", "init", "--json"]));
    let init = ok_json(&hanko(dir, &[], &["document", "init", "--json"]));
    assert_eq!(init["issuers"].as_array().unwrap().len(), 3, "{init}");
    let card = ok_json(&hanko(dir, &[("HANKO_PIN", PIN), ("HANKO_PASSWORD", PASSWORD)], &["card", "new", "--json"]));
    let number_b =
        format!("600401{}{}", &card["expiry"].as_str().unwrap()[..4], card["security_code"].as_str().unwrap());
    (card["card"].as_str().unwrap().to_owned(), number_b)
}

#[test]
fn a_my_number_card_at_the_counter() {
    let dir = scratch("mynumber");
    let (card, number_b) = setup(&dir);
    let photo = dir.join("photo.jp2");
    let o = hanko(
        &dir,
        &[("HANKO_NUMBER_B", &number_b)],
        &[
            "check",
            "read",
            "--json",
            "--document",
            "my-number-card",
            "--emulated",
            &card,
            "--photo-out",
            photo.to_str().unwrap(),
        ],
    );
    let v = ok_json(&o);
    assert_eq!(v["document"], "my_number_card");
    assert_eq!(v["verified"], true);
    let field = |k: &str| v["fields"].as_array().unwrap().iter().find(|f| f["key"] == k).cloned().unwrap();
    assert_eq!(field("name")["value"], "試験　花子");
    assert_eq!(field("birth_date")["value"], "1985-04-01");
    assert_eq!(field("birth_date")["trust"]["signed"], true);
    assert_eq!(field("expiry")["trust"]["signed"], false, "DF29 is not covered by the face signature");
    assert_eq!(v["photo"]["trust"]["signed"], true);
    assert_eq!(v["chip"]["chip"], "proven");
    // The record: the time, the document, the 8 digits without the birth date.
    assert_eq!(v["record"]["document"], "my_number_card");
    assert_eq!(v["record"]["number_b_without_birth_date"], &number_b[6..]);
    assert!(v["timing"]["total_ms"].as_f64().unwrap() > 0.0);
    assert!(!text(&o).contains(&number_b), "照合番号B was printed whole");
    assert_eq!(&std::fs::read(&photo).unwrap()[4..8], b"jP  ");

    // The text form marks each field.
    let o = hanko(
        &dir,
        &[("HANKO_NUMBER_B", &number_b)],
        &["check", "read", "--document", "my-number-card", "--emulated", &card],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("生年月日 (birth_date): 1985-04-01   [signed]"), "{t}");
    assert!(t.contains("有効期限 (expiry)") && t.contains("NOT signed"), "{t}");
    assert!(t.contains("record (確認記録): ") && t.contains(&number_b[6..]), "{t}");
}

#[test]
fn wrong_missing_and_malformed_codes() {
    let dir = scratch("codes");
    let (card, number_b) = setup(&dir);
    let read = |env: &[(&str, &str)]| {
        hanko(&dir, env, &["check", "read", "--json", "--document", "my-number-card", "--emulated", &card])
    };
    let wrong = format!("{}0000", &number_b[..10]);
    let o = read(&[("HANKO_NUMBER_B", &wrong)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(error_code(&o), "wrong-access-code");
    assert!(text(&o).contains("9 tries left"), "{}", text(&o));
    let o = read(&[]);
    assert_eq!((o.status.code(), error_code(&o)), (Some(2), "missing-secret".to_owned()));
    let o = read(&[("HANKO_NUMBER_B", "12345")]);
    assert_eq!((o.status.code(), error_code(&o)), (Some(2), "malformed-secret".to_owned()));
    // No such source; no reader in a build without PC/SC or with no such reader.
    let o = hanko(
        &dir,
        &[("HANKO_NUMBER_B", &number_b)],
        &["check", "read", "--json", "--document", "my-number-card", "--emulated", "nobody"],
    );
    assert_eq!(error_code(&o), "not-found");
    // The right code still opens it.
    ok_json(&read(&[("HANKO_NUMBER_B", &number_b)]));
}

#[test]
fn help_says_what_is_kept() {
    let dir = scratch("help");
    for args in [&["check", "read", "--help"][..], &["document", "init", "--help"], &["document", "new", "--help"]] {
        let o = hanko(&dir, &[], args);
        assert!(o.status.success(), "{}", text(&o));
    }
    let t = text(&hanko(&dir, &[], &["check", "read", "--help"]));
    assert!(t.contains("never") && t.contains("HANKO_MRZ") && t.contains("record"), "{t}");
    let t = text(&hanko(&dir, &[], &["document", "init", "--help"]));
    assert!(t.contains("0600") && t.contains("JPKI-TEST"), "{t}");
}

#[test]
fn an_empty_list() {
    let dir = scratch("list");
    let v = ok_json(&hanko(&dir, &[], &["document", "list", "--json"]));
    assert_eq!(v["documents"], serde_json::json!([]));
}

// ---- the three other documents (their modules land separately) -------------------------------

/// Makes a document of `kind` (`hanko document new`), lists it, and checks it at the counter
/// with the access code `document new` printed.
fn check_document(kind: &str, document: &str, variant: Option<&str>) -> Value {
    let dir = scratch(kind);
    setup(&dir);
    let mut args = vec!["document", "new", kind, "--json"];
    if let Some(v) = variant {
        args.extend(["--variant", v]);
    }
    let made = ok_json(&hanko(&dir, &[], &args));
    let id = made["document"].as_str().unwrap().to_owned();
    let listed = ok_json(&hanko(&dir, &[], &["document", "list", "--json"]));
    assert_eq!(listed["documents"][0]["document"], id.as_str());
    let codes: Vec<(String, String)> = made["access_code"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let env: Vec<(&str, &str)> = codes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let v = ok_json(&hanko(&dir, &env, &["check", "read", "--json", "--document", document, "--emulated", &id]));
    assert_eq!(v["verified"], true);
    assert_eq!(v["record"].as_object().unwrap().len(), 3, "only the time, the document, verified: {v}");
    assert_eq!(v["record"]["verified"], true, "{v}");
    v
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v["fields"].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap_or_else(|| panic!("no {key}: {v}"))
}

#[test]
fn a_driver_licence_at_the_counter() {
    let v = check_document("licence", "driver-licence", None);
    assert_eq!(field(&v, "name")["value"], "見本　花子");
    assert_eq!(field(&v, "name")["trust"]["signed"], true);
    assert_eq!(field(&v, "change")["trust"]["signed"], false, "a change entry is not signed: {v}");
    assert_eq!(v["chip"]["chip"], "not_proven");
}

#[test]
fn a_residence_card_at_the_counter() {
    let v = check_document("residence", "residence-card", None);
    assert_eq!(field(&v, "front_image")["trust"]["signed"], true);
    assert_eq!(field(&v, "address")["trust"]["signed"], false, "the back side is not signed: {v}");
}

/// An under-16 residence card carries no signature: read, but never called verified — in the
/// JSON and in the words a person reads.
#[test]
fn an_unsigned_residence_card_is_read_but_not_verified() {
    let dir = scratch("residence-minor");
    setup(&dir);
    let made = ok_json(&hanko(&dir, &[], &["document", "new", "residence", "--holder", "2", "--json"]));
    let id = made["document"].as_str().unwrap().to_owned();
    let number = made["access_code"]["HANKO_CARD_NUMBER"].as_str().unwrap().to_owned();
    let env = [("HANKO_CARD_NUMBER", number.as_str())];
    let read = ["check", "read", "--document", "residence-card", "--emulated", &id];
    let o = hanko(&dir, &env, &[&read[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(3), "read, not verified: {}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((&v["verified"], &v["record"]["verified"]), (&Value::Bool(false), &Value::Bool(false)), "{v}");
    assert!(v["photo"].is_null(), "{v}");
    let o = hanko(&dir, &env, &read);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("NOT verified") && !t.contains("— verified"), "{t}");
}

#[test]
fn a_passport_at_the_counter() {
    for variant in [None, Some("bac"), Some("pace-only"), Some("no-sm")] {
        let v = check_document("passport", "passport", variant);
        assert_eq!(field(&v, "surname")["value"], "MIHON");
        assert_eq!(v["chip"]["chip"], "proven", "active authentication ({variant:?}): {v}");
    }
}

// ---- through pcscd ---------------------------------------------------------------------------

/// The vpcd port and reader name this machine's pcscd gives the tests (CI: 35963, "Virtual PCD
/// 00 00"; a shared machine sets `HANKO_VPCD_PORT` and `HANKO_VPCD_READER`).
#[cfg(feature = "pcsc")]
fn vpcd() -> (String, String) {
    (
        std::env::var("HANKO_VPCD_PORT").unwrap_or_else(|_| "35963".into()),
        std::env::var("HANKO_VPCD_READER").unwrap_or_else(|_| "Virtual PCD 00 00".into()),
    )
}

/// `hanko card serve` of a card or document id into the reader; killed on drop.
#[cfg(feature = "pcsc")]
struct Served(std::process::Child);

#[cfg(feature = "pcsc")]
impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(feature = "pcsc")]
fn serve(dir: &Path, id: &str) -> Served {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pcsc-up.sh");
    let o = Command::new("bash").arg(script).output().unwrap();
    assert!(o.status.success(), "scripts/pcsc-up.sh failed: {}", text(&o));
    let (port, reader) = vpcd();
    let child = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .env("HANKO_DATA_DIR", dir.join("data"))
        .args(["card", "serve", "--card", id, "--port", &port])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let served = Served(child);
    let start = std::time::Instant::now();
    loop {
        let o = Command::new("opensc-tool").arg("-l").output().expect("opensc-tool (OpenSC)");
        if text(&o).lines().any(|l| l.contains(&reader) && l.contains("Yes")) {
            return served;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{id} never appeared in {reader}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Serves `id` into pcscd and checks it from the reader; `env` holds its access code.
#[cfg(feature = "pcsc")]
fn check_through_pcscd(dir: &Path, id: &str, document: &str, env: &[(&str, &str)]) -> Value {
    let _served = serve(dir, id);
    let (_, reader) = vpcd();
    ok_json(&hanko(dir, env, &["check", "read", "--json", "--document", document, "--reader", &reader]))
}

#[cfg(feature = "pcsc")]
#[test]
fn a_my_number_card_through_pcscd() {
    let dir = scratch("pcsc-mynumber");
    let (card, number_b) = setup(&dir);
    let v = check_through_pcscd(&dir, &card, "my-number-card", &[("HANKO_NUMBER_B", &number_b)]);
    assert_eq!(v["chip"]["chip"], "proven");
    assert_eq!(v["record"]["number_b_without_birth_date"], &number_b[6..]);
}
