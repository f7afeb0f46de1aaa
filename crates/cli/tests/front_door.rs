//! What a new user meets first: the default binary without PC/SC, closed pipes, and a data
//! directory that must never be silently re-created (issue 8, sections 1, 3 and 4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("front-door-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hanko(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hanko"));
    c.env("HANKO_DATA_DIR", dir.join("data"))
        .env_remove("HANKO_DATABASE_URL")
        .env_remove("HANKO_PIN")
        .env_remove("HANKO_PASSWORD");
    c
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The default build links no PC/SC library; `--reader` then says what to install and how to
/// rebuild instead of failing obscurely (scripts/test.sh checks the same on the release binary).
#[cfg(not(feature = "pcsc"))]
#[test]
fn readme_command_needs_no_libpcsclite_and_reader_says_how_to_get_it() {
    let dir = scratch("no-pcsc");
    let o = hanko(&dir).args(["card", "show", "--reader", "Virtual PCD"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("--features pcsc") && t.contains("libpcsclite-dev") && t.contains("pcscd"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// Every private key file under the data directory, with its bytes.
fn keys(data: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "p8") || p.file_name().is_some_and(|n| n == "counter.key") {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(data, &mut out);
    out.sort();
    out
}

/// Runs the commands a user might run with a wrong database; each must be refused with a clear
/// message and leave every key file as it was.
fn assert_refused_everywhere(dir: &Path, database: &str, expect: &str) {
    let data = dir.join("data");
    let before = keys(&data);
    assert!(before.iter().any(|(p, _)| p.ends_with("key.p8")), "no CA keys: {before:?}");
    for args in [
        &["authority", "list"][..],
        &["authority", "show-person", "P000001"],
        &["authority", "crl"],
        &["authority", "new-generation"],
        &["authority", "init"],
    ] {
        let o = hanko(dir).args(args).args(["--database", database]).output().unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?} with --database {database}: {t}");
        assert!(t.contains(expect) && t.contains("nothing was"), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{t}");
        let o = hanko(dir).args(args).env("HANKO_DATABASE_URL", database).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?} with $HANKO_DATABASE_URL={database}: {}", text(&o));
    }
    assert_eq!(keys(&data), before, "a refused command touched a key file");
}

/// A mistyped `--database` / `$HANKO_DATABASE_URL` used to set up a new authority and
/// overwrite `ca/*/key.p8`; now the data directory and its database are bound at init by an id
/// in both, and a database that is missing, empty or another authority's is refused.
#[test]
fn mistyped_database_url_never_overwrites_ca_keys() {
    let dir = scratch("mistyped-db");
    ok(hanko(&dir).args(["authority", "init"]).output().unwrap());
    let data = dir.join("data");
    let id = std::fs::read_to_string(data.join("authority.id")).unwrap();
    assert_eq!(id.trim().len(), 32, "{id}");

    // A path that does not exist: refused, and no database file is created there.
    let missing = dir.join("typo.sqlite");
    assert_refused_everywhere(&dir, &format!("sqlite:{}", missing.display()), "does not exist");
    assert!(!missing.exists(), "a database was created at the mistyped path");

    // An existing database of no authority (e.g. another service's).
    let empty = dir.join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    assert_refused_everywhere(&dir, &format!("sqlite:{}", empty.display()), "holds no hanko authority");

    // Another authority's database.
    let other = scratch("mistyped-db-other");
    ok(hanko(&other).args(["authority", "init"]).output().unwrap());
    let other_db = format!("sqlite:{}", other.join("data/authority.sqlite").display());
    assert_refused_everywhere(&dir, &other_db, "belongs to authority");

    // The right database still works, with the same keys.
    let before = keys(&data);
    ok(hanko(&dir).args(["authority", "list"]).output().unwrap());
    ok(hanko(&dir).args(["authority", "init"]).output().unwrap());
    assert_eq!(keys(&data), before);

    // A mistyped --data-dir for a database that has its authority elsewhere: refused too.
    let o = hanko(&dir)
        .args(["authority", "init", "--data-dir"])
        .arg(dir.join("typo-dir"))
        .args(["--database", &other_db])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("check --data-dir"), "{}", text(&o));
    assert!(!dir.join("typo-dir/ca").exists(), "CA keys made for a database that has its own");
}

/// The same on PostgreSQL, where a mistyped URL most often names a reachable, empty database
/// (here: another schema).
#[test]
fn mistyped_database_url_never_overwrites_ca_keys_postgres() {
    let base = std::env::var("HANKO_TEST_POSTGRES")
        .expect("HANKO_TEST_POSTGRES is not set: run `export HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)`");
    let url = |schema: &str| format!("{base}{}hanko_schema={schema}", if base.contains('?') { '&' } else { '?' });
    let dir = scratch("mistyped-db-pg");
    // Fresh schemas each run.
    let unique = format!("{}_{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos() % 1_000_000);
    let (right, typo) = (url(&format!("cli_bind_{unique}")), url(&format!("cli_bind_typo_{unique}")));
    ok(hanko(&dir).args(["authority", "init", "--database", &right]).output().unwrap());
    ok(hanko(&dir).args(["authority", "list", "--database", &right]).output().unwrap());
    assert_refused_everywhere(&dir, &typo, "holds no hanko authority");
    // The default SQLite database of the directory is not this authority's either.
    let o = hanko(&dir).args(["authority", "list"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `issue-cert --generate-key F` used to overwrite an existing F; no private key file is ever
/// overwritten now.
#[test]
fn generate_key_never_overwrites_an_existing_key_file() {
    let dir = scratch("generate-key");
    ok(hanko(&dir).args(["authority", "init"]).output().unwrap());
    let key = dir.join("mine.p8");
    std::fs::write(&key, b"precious key").unwrap();
    let o = hanko(&dir)
        .args(["authority", "issue-cert", "--kind", "auth", "--generate-key"])
        .arg(&key)
        .args([
            "--name",
            "試験　花子",
            "--birth",
            "1985-04-01",
            "--sex",
            "2",
            "--address",
            "東京都見本区試験町一丁目１番１号",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("never overwrites"), "{}", text(&o));
    assert_eq!(std::fs::read(&key).unwrap(), b"precious key");
}

/// Runs hanko with a stdout whose reader is already gone (`hanko … | head` after head exited):
/// deterministic, unlike racing a real `head`.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = hanko(dir);
    c.args(args).stdout(writer).stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    drop(c); // our copy of the write end
    child.wait_with_output().unwrap()
}

/// `hanko card list | head -n 1` used to panic ("failed printing to stdout: Broken pipe"); a
/// closed pipe now ends the command quietly with 141, the status of a tool SIGPIPE stopped.
#[test]
fn closed_stdout_pipe_ends_quietly_without_a_panic() {
    let dir = scratch("closed-pipe");
    ok(hanko(&dir).args(["authority", "init"]).output().unwrap());
    ok(hanko(&dir).env("HANKO_PIN", "1234").env("HANKO_PASSWORD", "HANKO2026").args(["card", "new"]).output().unwrap());
    for args in [&["card", "list"][..], &["authority", "list"], &["authority", "list", "--json"], &["--help"]] {
        let o = with_closed_stdout(&dir, args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        if args != ["--help"] {
            assert_eq!(o.status.code(), Some(141), "{args:?}: {stderr}");
            assert_eq!(stderr, "", "{args:?}: a closed pipe ends quietly");
        }
    }
}

/// A fresh authority with one card; returns its id.
fn one_card(dir: &Path) -> String {
    ok(hanko(dir).args(["authority", "init"]).output().unwrap());
    let o = ok(hanko(dir)
        .env("HANKO_PIN", "1234")
        .env("HANKO_PASSWORD", "HANKO2026")
        .args(["card", "new", "--json"])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["card"].as_str().unwrap().to_owned()
}

fn tries(dir: &Path, card: &str, slot: &str) -> String {
    let o = ok(hanko(dir).args(["card", "pin-status", "--card", card, "--slot", slot]).output().unwrap());
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// Card commands took the signature password from $HANKO_PIN, issue-card from $HANKO_PASSWORD,
/// so docs/card.md's own example (both exported, then `card sign --slot signature`) spent a
/// password try. One rule now: $HANKO_PIN the 4-digit PIN, $HANKO_PASSWORD the signature
/// password, and an empty or malformed value never reaches the card.
#[test]
fn pin_variables_disagree_no_more_and_malformed_secrets_never_reach_the_card() {
    let dir = scratch("pin-rule");
    let card = one_card(&dir);
    let doc = dir.join("doc.txt");
    std::fs::write(&doc, b"document").unwrap();
    let sign = |env: &[(&str, &str)], slot: &str| {
        let mut c = hanko(&dir);
        c.envs(env.iter().copied()).args(["card", "sign", "--card", &card, "--slot", slot, "--data"]).arg(&doc);
        c.arg("--out").arg(dir.join("doc.sig"));
        c.output().unwrap()
    };
    // docs/card.md: export HANKO_PASSWORD=HANKO2026 HANKO_PIN=1234, then sign with either key.
    let both = [("HANKO_PIN", "1234"), ("HANKO_PASSWORD", "HANKO2026")];
    ok(sign(&both, "signature"));
    ok(sign(&both, "auth"));
    assert_eq!(tries(&dir, &card, "signature"), "5 tries left");
    assert_eq!(tries(&dir, &card, "auth"), "3 tries left");

    // Only the PIN set: the signature key is refused before the card, no try spent.
    let o = sign(&[("HANKO_PIN", "1234")], "signature");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("HANKO_PASSWORD"), "{}", text(&o));
    // Empty and malformed values, for every command that takes one.
    for (var, bad, args) in [
        ("HANKO_PASSWORD", "", &["card", "sign", "--slot", "signature", "--digest"][..]),
        ("HANKO_PASSWORD", "hanko2026", &["card", "verify-pin", "--slot", "signature"]),
        ("HANKO_PASSWORD", "QWERT", &["card", "read-cert", "--slot", "signature"]),
        ("HANKO_PIN", "", &["card", "verify-pin", "--slot", "auth"]),
        ("HANKO_PIN", "12345", &["card", "read-facts"]),
        ("HANKO_PIN", "HANKO2026", &["card", "sign", "--slot", "auth", "--digest"]),
    ] {
        let mut c = hanko(&dir);
        c.env(var, bad).args(args);
        if args.last() == Some(&"--digest") {
            c.arg("00".repeat(32)).arg("--out").arg(dir.join("x.sig"));
        }
        let o = c.arg("--card").arg(&card).arg("--json").output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{var}={bad:?} {args:?}: {}", text(&o));
        let e: serde_json::Value = serde_json::from_slice(&o.stderr).unwrap_or_else(|_| panic!("{}", text(&o)));
        let code = e["error"]["code"].as_str().unwrap();
        assert!(code == "missing-secret" || code == "malformed-secret", "{e}");
        assert!(bad.is_empty() || !text(&o).contains(bad), "the value was echoed: {}", text(&o));
    }
    assert_eq!(tries(&dir, &card, "signature"), "5 tries left", "a malformed password reached the card");
    assert_eq!(tries(&dir, &card, "auth"), "3 tries left", "a malformed PIN reached the card");
}

/// docs/cli.md: 0 ok, 1 a check said no, 2 bad input. A garbage certificate gave 1, a wrong PIN
/// 1 or 2 depending on the command, `card list` had no --json and errors under --json were
/// text. Now one mapping in main.rs, JSON errors on stderr with a stable code.
#[test]
fn exit_codes_and_json_errors_follow_docs_cli() {
    let dir = scratch("exit-codes");
    let card = one_card(&dir);
    // A garbage certificate is bad input (2), under --json a JSON error with its code.
    let garbage = dir.join("garbage.der");
    std::fs::write(&garbage, b"garbage").unwrap();
    for json in [false, true] {
        let mut c = hanko(&dir);
        c.args(["verify", "certificate", "--no-revocation"]).arg(&garbage);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        if json {
            let e: serde_json::Value = serde_json::from_slice(&o.stderr).unwrap_or_else(|_| panic!("{}", text(&o)));
            assert_eq!(e["error"]["code"], "bad-certificate", "{e}");
            assert!(o.stdout.is_empty(), "{}", text(&o));
        }
    }
    // A wrong PIN is 1 in every command, with the code wrong-pin.
    let wrong = [("HANKO_PIN", "9999"), ("HANKO_PASSWORD", "WRONG99")];
    let o = hanko(&dir).envs(wrong).args(["card", "verify-pin", "--card", &card, "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["verified"].as_bool(), v["code"].as_str()), (Some(false), Some("wrong-pin")), "{v}");
    for slot in ["auth", "signature"] {
        let o = hanko(&dir)
            .envs(wrong)
            .args(["card", "sign", "--card", &card, "--slot", slot, "--json", "--digest", &"00".repeat(32), "--out"])
            .arg(dir.join("x.sig"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "sign --slot {slot}: {}", text(&o));
        let e: serde_json::Value = serde_json::from_slice(&o.stderr).unwrap_or_else(|_| panic!("{}", text(&o)));
        assert_eq!(e["error"]["code"], "wrong-pin", "{e}");
    }
    // Every reporting card command prints JSON with --json.
    for args in [
        &["card", "list"][..],
        &["card", "show", "--card", &card],
        &["card", "pin-status", "--card", &card],
        &["card", "read-cert", "--card", &card],
    ] {
        let o = ok(hanko(&dir).args(args).arg("--json").output().unwrap());
        let _: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?} --json: {e}: {}", text(&o)));
    }
    // No command rejects --json; usage errors under --json are JSON too.
    for args in [
        &["card", "serve", "--card", "nope"][..],
        &["ocsp", "request"],
        &["bench", "crl", "--entries", "x"],
        &["demo", "--at", "x"],
        &["authority", "list", "--nonsense"],
    ] {
        let o = hanko(&dir).args(args).arg("--json").output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(!text(&o).contains("unexpected argument '--json'"), "{args:?}: {}", text(&o));
        let e: serde_json::Value =
            serde_json::from_slice(&o.stderr).unwrap_or_else(|_| panic!("{args:?}: {}", text(&o)));
        assert!(e["error"]["code"].is_string() && e["error"]["message"].is_string(), "{e}");
    }
    // A directory without an authority, under --json.
    let o = hanko(&scratch("exit-codes-empty")).args(["authority", "list", "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e: serde_json::Value = serde_json::from_slice(&o.stderr).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(e["error"]["code"], "authority-binding", "{e}");
}

/// What the CLI printed: `time`'s repeated messages, Debug names, `2026-12-06 3:49:31.0
/// +00:00:00`, sqlx's doubled text and a 30 s wait before "pool timed out" with PostgreSQL down.
#[test]
fn error_texts_are_said_once_without_internals() {
    let dir = scratch("error-texts");
    ok(hanko(&dir).args(["authority", "init"]).output().unwrap());
    let o = hanko(&dir)
        .args(["authority", "add-person", "--name", "試験　太郎", "--sex", "1", "--address", "東京都見本区"])
        .args(["--birth", "2026-02-30"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o).matches("day was not in range").count(), 1, "{}", text(&o));
    assert!(!text(&o).contains("2026-02-30"), "the birth date was echoed: {}", text(&o));

    let key = dir.join("auth.p8");
    let cert = dir.join("auth.der");
    ok(hanko(&dir)
        .args(["authority", "issue-cert", "--kind", "auth", "--generate-key"])
        .arg(&key)
        .args(["--name", "試験　花子", "--birth", "1985-04-01", "--sex", "2", "--address", "東京都見本区試験町"])
        .arg("--out")
        .arg(&cert)
        .output()
        .unwrap());
    let o = hanko(&dir)
        .args(["verify", "certificate", "--no-revocation", "--usage", "signature"])
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("auth certificates cannot be used for signature"), "{}", text(&o));
    let o = hanko(&dir)
        .args(["verify", "certificate", "--no-revocation", "--usage", "auth", "--at", "2050-01-01T00:00:00Z"])
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("(checked at 2050-01-01T00:00:00Z)"), "{}", text(&o));

    let o =
        hanko(&dir).args(["authority", "list", "--database", "postgres://hanko@127.0.0.1:1/hanko"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.to_lowercase().contains("connection refused") && !t.contains("timed out"), "{t}");
    assert_eq!(t.matches("refused").count(), 1, "{t}");
}

/// The docs named three default ports (8080, 8443, 8440) and a sealing-key path that does not
/// exist (`cards/.seal`); `card read-face` needed a security code that only `--json` showed.
#[test]
fn docs_name_one_default_port_and_the_security_code_is_shown() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let help = ok(hanko(&scratch("docs")).args(["authority", "serve", "--help"]).output().unwrap());
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("127.0.0.1:8440"), "{help}");
    for entry in std::fs::read_dir(&docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue; // docs/img/ and the like
        }
        let doc = std::fs::read_to_string(&path).unwrap();
        for port in ["127.0.0.1:8080", "127.0.0.1:8443"] {
            assert!(!doc.contains(port), "{} names {port}; the authority listens on 8440", path.display());
        }
        assert!(!doc.contains("cards/.seal"), "{} names cards/.seal; the key is card-seal.key", path.display());
    }
    let dir = scratch("security-code");
    ok(hanko(&dir).args(["authority", "init"]).output().unwrap());
    let o = ok(hanko(&dir)
        .env("HANKO_PIN", "1234")
        .env("HANKO_PASSWORD", "HANKO2026")
        .args(["card", "new"])
        .output()
        .unwrap());
    let t = text(&o);
    let code = t.split("照合番号B for card read-face): ").nth(1).map(|r| &r[..4]).unwrap_or_default();
    assert!(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()), "no security code shown: {t}");
    assert!(dir.join("data/card-seal.key").exists());
}
