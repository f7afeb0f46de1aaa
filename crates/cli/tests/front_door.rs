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
