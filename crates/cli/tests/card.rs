//! Emulated cards through the `hanko` binary: persistence, crash safety, and the real PC/SC
//! stack (pcscd + vpcd) with OpenSC as the independent client. hanko's own `--reader` needs the
//! `pcsc` feature (scripts/test.sh enables it); the tests that use it are built only with it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PASSWORD: &str = "HANKO2026";
const PIN: &str = "1234";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("card-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hanko(dir: &Path, pin: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hanko"));
    c.env("HANKO_DATA_DIR", dir.join("data")).env_remove("HANKO_PIN").env_remove("HANKO_PASSWORD");
    if let Some(pin) = pin {
        c.env("HANKO_PIN", pin);
    }
    c
}

fn run(mut c: Command) -> Output {
    let out = c.output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("panicked"), "{all}");
    assert!(!all.contains(PASSWORD) && !all.contains("PRIVATE KEY"), "a secret was printed: {all}");
    out
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A sandbox authority and one issued card; returns the card id and its certificates.
fn issue_card(dir: &Path) -> (String, Value) {
    let o = run({
        let mut c = hanko(dir, None);
        c.args(["authority", "init", "--json"]);
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    let o = run({
        let mut c = hanko(dir, Some(PIN));
        c.env("HANKO_PASSWORD", PASSWORD).args(["card", "new", "--json"]);
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    (v["card"].as_str().unwrap().to_owned(), v)
}

fn tries(dir: &Path, card: &str, slot: &str) -> String {
    let o = run({
        let mut c = hanko(dir, None);
        c.args(["card", "pin-status", "--card", card, "--slot", slot]);
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

#[test]
fn pin_counters_persist_and_a_blocked_pin_stays_blocked() {
    let dir = scratch("persist");
    let (card, _) = issue_card(&dir);
    assert_eq!(tries(&dir, &card, "auth"), "3 tries left");
    for left in ["2", "1"] {
        let o = run({
            let mut c = hanko(&dir, Some("0000"));
            c.args(["card", "verify-pin", "--card", &card]);
            c
        });
        assert_eq!(o.status.code(), Some(1));
        assert!(text(&o).contains(&format!("{left} tries left")), "{}", text(&o));
    }
    let o = run({
        let mut c = hanko(&dir, Some("0000"));
        c.args(["card", "verify-pin", "--card", &card]);
        c
    });
    assert!(text(&o).contains("blocked"));
    // Across restarts (every command is a new process) it stays blocked, even for the right PIN.
    let o = run({
        let mut c = hanko(&dir, Some(PIN));
        c.args(["card", "verify-pin", "--card", &card]);
        c
    });
    assert!(text(&o).contains("blocked"), "{}", text(&o));
    assert_eq!(tries(&dir, &card, "auth"), "blocked");
    assert_eq!(tries(&dir, &card, "signature"), "5 tries left");
}

/// Parallel processes cannot multiply guesses: each wrong answer anyone sees spent a try.
#[test]
fn parallel_processes_cannot_spend_one_try_twice() {
    let dir = scratch("parallel");
    let (card, _) = issue_card(&dir);
    let children: Vec<Child> = (0..8)
        .map(|_| {
            hanko(&dir, None)
                .env("HANKO_PASSWORD", "WRONGPW1")
                .args(["card", "verify-pin", "--card", &card, "--slot", "signature"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut wrong = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let t = text(&out);
        if t.contains("wrong PIN") || t.contains("blocked") {
            wrong += 1;
        } else {
            assert!(t.contains("in use by another process"), "{t}");
        }
    }
    let spent = match tries(&dir, &card, "signature").as_str() {
        "blocked" => 5,
        s => 5 - s.split(' ').next().unwrap().parse::<u32>().unwrap(),
    };
    assert_eq!(spent, wrong.min(5), "{wrong} wrong answers seen");
}

/// Kill the process between a wrong VERIFY and its answer, many times: the card must never
/// grant an extra try. Invariant: tries spent ≥ wrong answers the attacker saw.
#[test]
fn killing_the_card_between_verify_and_answer_never_grants_an_extra_try() {
    let dir = scratch("crash");
    let (card, _) = issue_card(&dir);
    // How long one wrong VERIFY takes end to end, to spread the kills over that span.
    let start = Instant::now();
    run({
        let mut c = hanko(&dir, None);
        c.env("HANKO_PASSWORD", "WRONGPW1").args(["card", "verify-pin", "--card", &card, "--slot", "signature"]);
        c
    });
    let span = start.elapsed().as_micros() as u64;
    let mut seen_wrong = 1u32;
    let mut kills = 0u32;
    let mut rounds = 0u64;
    while rounds < 300 {
        rounds += 1;
        let mut child = hanko(&dir, None)
            .env("HANKO_PASSWORD", "WRONGPW1")
            .args(["card", "verify-pin", "--card", &card, "--slot", "signature"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Kill at a moment spread over the whole run: before the VERIFY, after the image was
        // written but before the answer was printed, or after.
        std::thread::sleep(Duration::from_micros((rounds * 7919) % (span + span / 4)));
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
            kills += 1;
        }
        let out = child.wait_with_output().unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("wrong PIN") {
            seen_wrong += 1;
        }
        let status = tries(&dir, &card, "signature");
        let spent = match status.as_str() {
            "blocked" => 5,
            s => 5 - s.split(' ').next().unwrap().parse::<u32>().unwrap(),
        };
        assert!(spent >= seen_wrong, "round {rounds}: {seen_wrong} wrong answers seen but only {spent} tries spent");
        if status == "blocked" {
            break;
        }
    }
    assert!(kills > 0, "the test never interrupted the card");
    assert_eq!(tries(&dir, &card, "signature"), "blocked", "300 wrong attempts must block a 5-try password");
}

/// Section 4: after `event --kind facts-changed --address …` the input-assist AP answered the
/// old 4 facts. Now the counter rewrites them and their integrity record, and `read-facts`
/// (which verifies the record against the CV root) answers the new address.
#[test]
fn after_a_move_read_facts_answers_the_new_address_and_its_integrity_record_verifies() {
    let dir = scratch("moved");
    let (card, issued) = issue_card(&dir);
    let person = issued["person"].as_str().unwrap();
    let read_facts = || {
        let o = run({
            let mut c = hanko(&dir, Some(PIN));
            c.args(["card", "read-facts", "--json", "--card", &card]);
            c
        });
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let before = read_facts();
    let moved = "東京都見本区新町二丁目２番２号";
    assert_ne!(before["address"], moved);
    let o = run({
        let mut c = hanko(&dir, None);
        c.args(["authority", "event", person, "--kind", "facts-changed", "--address", moved]);
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    let after = read_facts();
    assert_eq!(after["address"], moved);
    assert_eq!(after["integrity"], "verified");
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["birth_date"], before["birth_date"]);
    assert_eq!(after["sex"], before["sex"]);
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pcsc_up() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pcsc-up.sh");
    let o = Command::new("bash").arg(script).output().expect("bash");
    assert!(o.status.success(), "scripts/pcsc-up.sh failed: {}", text(&o));
}

/// Serves the card on the second vpcd reader and waits until pcscd sees it.
#[cfg(feature = "pcsc")]
fn serve(dir: &Path, card: &str) -> Served {
    pcsc_up();
    let child = hanko(dir, None)
        .args(["card", "serve", "--card", card, "--port", "35964"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served(child);
    let start = Instant::now();
    loop {
        let o = Command::new("opensc-tool").arg("-l").output().expect("opensc-tool (OpenSC) must be installed");
        let t = text(&o);
        if t.lines().any(|l| l.contains("Virtual PCD 00 01") && l.contains("Yes")) {
            return served;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the card never appeared in pcscd:\n{t}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(feature = "pcsc")]
fn pkcs11_module() -> String {
    for p in [
        "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
        "/usr/lib/opensc-pkcs11.so",
    ] {
        if Path::new(p).exists() {
            return p.to_owned();
        }
    }
    panic!("opensc-pkcs11.so not found (scripts/pcsc-up.sh installs OpenSC)");
}

/// OpenSC's JPKI driver, unmodified, through pcscd and our vpcd bridge.
#[cfg(feature = "pcsc")]
#[test]
fn opensc_reads_signs_and_locks_through_pcscd() {
    let _lock = PCSC.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("opensc");
    let (card, issued) = issue_card(&dir);
    let _served = serve(&dir, &card);
    let reader = "Virtual PCD 00 01";

    let o = Command::new("pkcs15-tool").args(["--reader", reader, "--list-certificates"]).output().unwrap();
    let listed = text(&o);
    assert!(o.status.success(), "{listed}");
    assert!(listed.contains("User Authentication Certificate"), "{listed}");
    assert!(listed.contains("Digital Signature Certificate"), "{listed}");

    // Our own client through pcscd reads the same certificate the card holds in-process.
    let o = run({
        let mut c = hanko(&dir, None);
        c.args(["card", "read-cert", "--reader", reader, "--slot", "auth", "--out"]).arg(dir.join("auth-pcsc.der"));
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    let auth = std::fs::read(dir.join("auth-pcsc.der")).unwrap();
    assert_eq!(&auth[..2], &[0x30, 0x82]);
    // …and every other AP through pcscd too: the 共通AP record and the input-assist 4 facts
    // with their integrity record checked against the sandbox CV root.
    let o = run({
        let mut c = hanko(&dir, None);
        c.args(["card", "show", "--json", "--reader", reader]);
        c
    });
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(shown["common"]["municipality"], "99999", "{shown}");
    assert_eq!(shown["auth_pin_tries"], 3);
    let o = run({
        let mut c = hanko(&dir, Some(PIN));
        c.args(["card", "read-facts", "--json", "--reader", reader]);
        c
    });
    let facts: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(facts["name"], "試験　花子");
    assert_eq!(facts["integrity"], "verified");
    // The card face with 照合番号B: born Showa 60-04-01, the expiry year, the security code.
    let number_b =
        format!("600401{}{}", &issued["expiry"].as_str().unwrap()[..4], issued["security_code"].as_str().unwrap());
    let photo = dir.join("photo.jp2");
    let o = run({
        let mut c = hanko(&dir, None);
        c.env("HANKO_NUMBER_B", &number_b)
            .args(["card", "read-face", "--json", "--reader", reader, "--photo-out"])
            .arg(&photo);
        c
    });
    let face: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(face["signature"], "verified", "{face}");
    assert_eq!(face["birth_date"], "1985-04-01");
    assert_eq!(&std::fs::read(&photo).unwrap()[..12], &[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A]);

    // pkcs11-tool logs in with the auth PIN and signs; our verifier accepts the signature.
    let module = pkcs11_module();
    let doc = dir.join("doc.txt");
    std::fs::write(&doc, b"login challenge from a relying party").unwrap();
    let sig = dir.join("doc.sig");
    let o = pkcs11(|c| {
        c.args([
            "--module",
            &module,
            "--login",
            "--pin",
            PIN,
            "--sign",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--id",
            "01",
        ])
        .arg("--input-file")
        .arg(&doc)
        .arg("--output-file")
        .arg(&sig);
    });
    if !o.status.success() {
        let l = Command::new("pkcs11-tool").args(["--module", &module, "-L"]).output().unwrap();
        let r = Command::new("opensc-tool").args(["-l"]).output().unwrap();
        let a = Command::new("opensc-tool").args(["-r", "1", "-a"]).output().unwrap();
        panic!("pkcs11-tool --sign: {}\n-L: {}\n{}\n{}", text(&o), text(&l), text(&r), text(&a));
    }
    run({
        let mut c = hanko(&dir, None);
        c.args(["authority", "crl"]);
        c
    });
    let o = run({
        let mut c = hanko(&dir, None);
        c.args(["verify", "auth", "--cert"])
            .arg(dir.join("auth-pcsc.der"))
            .arg("--challenge")
            .arg(&doc)
            .arg("--signature")
            .arg(&sig);
        c
    });
    assert!(o.status.success(), "our verifier on OpenSC's signature: {}", text(&o));

    // Three wrong PINs lock the auth PIN as OpenSC reports it.
    for left in [2, 1] {
        let o = pkcs11(|c| {
            c.args(["--module", &module, "--login", "--pin", "0000", "--list-objects"]);
        });
        assert!(text(&o).contains("CKR_PIN_INCORRECT"), "{}", text(&o));
        assert_eq!(tries_via_reader(&dir, reader), format!("{left} tries left"));
    }
    let o = pkcs11(|c| {
        c.args(["--module", &module, "--login", "--pin", "0000", "--list-objects"]);
    });
    assert!(!o.status.success(), "{}", text(&o));
    // OpenSC reports the lock in the token flags (from the card's `63 C0` to a status query)…
    let o = pkcs11(|c| {
        c.args(["--module", &module, "-L"]);
    });
    let slots = text(&o);
    let auth_slot = slots.split("Slot ").find(|s| s.contains("User Authentication PIN")).expect("auth token listed");
    assert!(auth_slot.contains("user PIN locked"), "{slots}");
    // …and even the right PIN no longer logs in (the card answers `69 84`).
    let o = pkcs11(|c| {
        c.args(["--module", &module, "--login", "--pin", PIN, "--list-objects"]);
    });
    assert!(!o.status.success(), "{}", text(&o));
    assert_eq!(tries_via_reader(&dir, reader), "blocked");
}

/// Runs pkcs11-tool; retries while pcscd still reports the card as settling after the previous
/// client reset it (vpcd answers a reset with a fresh power-on).
#[cfg(feature = "pcsc")]
fn pkcs11(args: impl Fn(&mut Command)) -> Output {
    let mut last = None;
    for _ in 0..10 {
        let mut c = Command::new("pkcs11-tool");
        args(&mut c);
        let o = c.output().expect("pkcs11-tool (OpenSC) must be installed");
        if !text(&o).contains("CKR_TOKEN_NOT_RECOGNIZED") && !text(&o).contains("CKR_DEVICE_REMOVED") {
            return o;
        }
        last = Some(o);
        std::thread::sleep(Duration::from_millis(300));
    }
    last.expect("ran")
}

/// Tries left on the auth PIN, asked through pcscd by our own client.
#[cfg(feature = "pcsc")]
fn tries_via_reader(dir: &Path, reader: &str) -> String {
    let o = run({
        let mut c = hanko(dir, None);
        c.args(["card", "pin-status", "--reader", reader, "--slot", "auth"]);
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

static PCSC: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs jpki-cli under a pseudo-terminal (it reads PINs from the terminal), typing `input`.
fn jpki_cli(args: &str, input: &[&[u8]]) -> Output {
    let mut child = Command::new("script")
        .args(["-qec", &format!("jpki-cli {args}"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) must be installed");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for chunk in input {
            std::thread::sleep(Duration::from_millis(700));
            stdin.write_all(chunk).unwrap();
            stdin.flush().unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "jpki-cli {args} did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// jpki-cli (crates.io, unmodified) reads byte-identical certificates and signs; our verifier
/// accepts its (SHA-1 DigestInfo) signature. jpki-cli uses the first reader, "Virtual PCD 00 00".
#[test]
fn jpki_cli_reads_and_signs_through_pcscd() {
    let _lock = PCSC.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("jpki-cli");
    let (card, issued) = issue_card(&dir);
    pcsc_up();
    let child = hanko(&dir, None)
        .args(["card", "serve", "--card", &card, "--port", "35963"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _served = Served(child);
    let start = Instant::now();
    while !text(&Command::new("opensc-tool").arg("-l").output().unwrap())
        .lines()
        .any(|l| l.contains("Virtual PCD 00 00") && l.contains("Yes"))
    {
        assert!(start.elapsed() < Duration::from_secs(20), "the card never appeared in reader 00 00");
        std::thread::sleep(Duration::from_millis(200));
    }
    let issued_file = |key: &str| {
        let out = dir.join(format!("{key}.der"));
        let o = run({
            let mut c = hanko(&dir, None);
            c.args(["authority", "cert", issued[key].as_str().unwrap(), "--out", out.to_str().unwrap()]);
            c
        });
        assert!(o.status.success(), "{}", text(&o));
        std::fs::read(out).unwrap()
    };

    let auth = dir.join("jpki-auth.der");
    let o = jpki_cli(&format!("crypto --auth read-certificate > {}", auth.display()), &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read(&auth).unwrap() == issued_file("auth_certificate"), "auth certificate not byte-identical");

    let sign = dir.join("jpki-sign.der");
    let o = jpki_cli(&format!("crypto read-certificate > {}", sign.display()), &[format!("{PASSWORD}\n").as_bytes()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read(&sign).unwrap() == issued_file("signature_certificate"),
        "signature certificate not byte-identical"
    );

    // jpki-cli reads the document from the terminal up to EOF (^D), then asks the password.
    let sig = dir.join("jpki.sig");
    let o = jpki_cli(
        &format!("crypto sign {}", sig.display()),
        &[b"document\n", b"\x04", format!("{PASSWORD}\n").as_bytes()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let doc = dir.join("doc.txt");
    std::fs::write(&doc, b"document\n").unwrap();
    run({
        let mut c = hanko(&dir, None);
        c.args(["authority", "crl"]);
        c
    });
    let o = run({
        let mut c = hanko(&dir, None);
        c.args(["verify", "signature", "--hash", "sha1-legacy", "--cert"])
            .arg(&sign)
            .arg("--signature")
            .arg(&sig)
            .arg("--data")
            .arg(&doc);
        c
    });
    assert!(o.status.success(), "our verifier on jpki-cli's signature: {}", text(&o));
}

/// Section 3: jpki-cli's `surface` (券面AP) and `support` (input-assist AP) commands against
/// the emulated card through pcscd — never run before. jpki-cli uses reader "Virtual PCD 00 00".
#[test]
fn jpki_cli_surface_and_support_read_the_card_through_pcscd() {
    let _lock = PCSC.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("jpki-cli-surface");
    let (card, issued) = issue_card(&dir);
    pcsc_up();
    let child = hanko(&dir, None)
        .args(["card", "serve", "--card", &card, "--port", "35963"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _served = Served(child);
    let start = Instant::now();
    while !text(&Command::new("opensc-tool").arg("-l").output().unwrap())
        .lines()
        .any(|l| l.contains("Virtual PCD 00 00") && l.contains("Yes"))
    {
        assert!(start.elapsed() < Duration::from_secs(20), "the card never appeared in reader 00 00");
        std::thread::sleep(Duration::from_millis(200));
    }
    // 照合番号B: born Showa 60-04-01 (the sample person), the expiry year, the security code.
    let expiry = issued["expiry"].as_str().unwrap().replace('-', "");
    let number_b = format!("600401{}{}\n", &expiry[..4], issued["security_code"].as_str().unwrap());
    let get = |args: &str, secret: &str| {
        let out = dir.join("jpki-cli.out");
        let o = jpki_cli(&format!("{args} > {}", out.display()), &[secret.as_bytes()]);
        assert!(o.status.success(), "jpki-cli {args}: {}", text(&o));
        std::fs::read(out).unwrap()
    };
    let stat = |args: &str| {
        let o = jpki_cli(args, &[]);
        assert!(o.status.success(), "jpki-cli {args}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };

    assert_eq!(stat("surface stat b"), "10");
    assert_eq!(stat("surface stat a"), "10");
    assert_eq!(get("surface get date-of-birth", &number_b), b"19850401");
    assert_eq!(get("surface get sex", &number_b), b"2");
    assert_eq!(get("surface get expiry-date", &number_b), expiry.as_bytes());
    for image in ["name", "address", "code"] {
        let png = get(&format!("surface get {image}"), &number_b);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "the {image} image is a PNG");
    }
    let photo = get("surface get photo", &number_b);
    assert_eq!(&photo[..12], &[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A]);
    assert_eq!(get("surface get signature", &number_b).len(), 256);
    assert_eq!(stat("surface stat b"), "10", "a right 照合番号B spends nothing");

    assert_eq!(stat("support stat"), "3");
    let attributes = get("support get attributes", &format!("{PIN}\n"));
    let v: Value = serde_json::from_slice(&attributes).unwrap_or_else(|_| panic!("{attributes:?}"));
    assert_eq!(v["name"], "試験　花子");
    assert_eq!(v["date_of_birth"], "19850401");
    assert_eq!(v["sex"], "Female");
    assert!(v["address"].as_str().unwrap().starts_with("東京都"), "{v}");
    assert_eq!(stat("support stat"), "3");
}

/// Case 8's contract, signed the way open tools sign PDFs with a My Number Card: pyHanko
/// (scripts/pades-fixture.py) through PKCS#11 — OpenSC's JPKI driver, pcscd, our vpcd bridge —
/// with the signature password; the trust core finds the signature, checks its byte range and
/// verifies its CMS (chain to the authority's signature CA, keyUsage, the signed bytes).
#[cfg(feature = "pcsc")]
#[test]
fn pyhanko_signs_a_pdf_with_the_card_through_opensc_and_the_signature_verifies() {
    use hanko_pki::pades::{signatures, SubFilter};
    use hanko_pki::verify::{RevocationCheck, TrustStore, Verifier};

    let _lock = PCSC.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("pyhanko");
    let (card, _) = issue_card(&dir);
    let _served = serve(&dir, &card);

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = Command::new(root.join("scripts/py-interop-venv.sh")).output().unwrap();
    assert!(venv.status.success(), "scripts/py-interop-venv.sh (this test does not skip): {}", text(&venv));
    let python = String::from_utf8(venv.stdout).unwrap().trim().to_owned();
    let tool = |args: &[&str]| {
        let o = Command::new(&python)
            .args(["-W", "ignore"])
            .arg(root.join("scripts/pades-fixture.py"))
            .args(args)
            .env("HANKO_PKCS11_PIN", PASSWORD)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(!text(&o).contains(PASSWORD), "the password was printed");
        assert!(o.status.success(), "pades-fixture.py {args:?}: {}", text(&o));
    };
    tool(&["blank", "contract.pdf", "synthetic lease contract"]);
    tool(&[
        "sign",
        "contract.pdf",
        "signed.pdf",
        "--pkcs11-lib",
        &pkcs11_module(),
        "--pkcs11-token",
        "JPKI (Digital Signature PIN)",
        "--pkcs11-key-label",
        "Digital Signature Key",
        "--pkcs11-cert-label",
        "Digital Signature Certificate",
    ]);

    let pdf = std::fs::read(dir.join("signed.pdf")).unwrap();
    let found = signatures(&pdf).unwrap();
    assert_eq!(found.len(), 1);
    let sig = found[0].as_ref().unwrap();
    assert_eq!(sig.sub_filter, SubFilter::EtsiCadesDetached);
    assert!(sig.covers_whole_file());

    let mut trust = TrustStore::new(hanko_pki::PolicySet::sandbox());
    for generation in std::fs::read_dir(dir.join("data/ca/signature")).unwrap() {
        let der = std::fs::read(generation.unwrap().path().join("ca.der")).unwrap();
        trust.add_anchor(&der, hanko_pki::CaKind::Signature).unwrap();
    }
    let now = hanko_pki::time::OffsetDateTime::now_utc();
    let verified = Verifier::new(&trust)
        .verify_cms(&sig.cms_der, Some(&sig.signed_content()), now, RevocationCheck::Skip)
        .unwrap_or_else(|e| panic!("the card's PAdES signature does not verify: {e}"));
    assert_eq!(verified.certificate().kind(), hanko_pki::CertKind::Signature);
    // One changed byte of the signed range breaks it.
    let mut tampered = pdf.clone();
    let at = tampered.windows(9).position(|w| w == b"synthetic").unwrap();
    tampered[at] = b'S';
    let found = signatures(&tampered).unwrap();
    let sig = found[0].as_ref().unwrap();
    assert!(Verifier::new(&trust)
        .verify_cms(&sig.cms_der, Some(&sig.signed_content()), now, RevocationCheck::Skip)
        .is_err());

    // The same through `hanko verify pdf`, with the authority's CRLs: 0, then 1 for the tampered
    // file, and 1 for a file updated after its signature.
    let o = run({
        let mut c = hanko(&dir, None);
        c.args(["authority", "crl"]);
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    let verify = |file: &str| {
        run({
            let mut c = hanko(&dir, None);
            c.args(["verify", "pdf", "--json"]).arg(dir.join(file));
            c
        })
    };
    let o = verify("signed.pdf");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["signatures"][0]["kind"], "signature", "{v}");
    assert_eq!(v["signatures"][0]["revocation"]["method"], "crl", "{v}");
    std::fs::write(dir.join("tampered.pdf"), &tampered).unwrap();
    assert_eq!(verify("tampered.pdf").status.code(), Some(1));
    tool(&["append", "signed.pdf", "updated.pdf"]);
    let o = verify("updated.pdf");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["modified_after_last_signature"], true, "{v}");
    assert_eq!(v["signatures"][0]["verified"], true, "{v}");
    assert_eq!(verify("contract.pdf").status.code(), Some(2), "an unsigned PDF is bad input");
}
