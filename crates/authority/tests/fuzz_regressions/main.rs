//! Every reproducer under `fuzz/regressions/` replayed through the code path of its fuzz
//! target, on SQLite and PostgreSQL: a crash the fuzzers once found fails `cargo test` if it
//! comes back. `authority_api` shares its driver with the fuzz target (`driver.rs`); each
//! reproducer gets a fresh authority, as `cargo fuzz run <target> <file>` gives it one.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

mod driver;

use std::path::{Path, PathBuf};

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions")
}

/// The reproducers of `target` (every file but the README), sorted.
fn reproducers(target: &str) -> Vec<PathBuf> {
    let dir = regressions().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

/// Replays every reproducer of `authority_api`, each on a fresh authority; reports all that fail.
fn replay_authority_api(postgres: Option<&str>) {
    let files = reproducers("authority_api");
    assert!(!files.is_empty(), "no reproducers found under fuzz/regressions/authority_api");
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let d = driver::Driver::new(postgres);
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.run(&data))).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "fuzz reproducers that fail again: {failed:?}");
}

#[test]
fn fuzz_reproducers_authority_api_replay_on_sqlite() {
    replay_authority_api(None);
}

#[test]
fn fuzz_reproducers_authority_api_replay_on_postgres() {
    // No skip: without HANKO_TEST_POSTGRES the PostgreSQL half fails, as the rest of the suite.
    let url = std::env::var("HANKO_TEST_POSTGRES")
        .expect("HANKO_TEST_POSTGRES is not set: run `export HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)`");
    replay_authority_api(Some(&url));
}

/// Every directory under fuzz/regressions/ names a target this test replays: a reproducer
/// added for another target must come with its replay here, not be silently ignored.
#[test]
fn every_fuzz_reproducer_directory_is_replayed() {
    // platform_api is replayed by hanko-platform's fuzz_regressions test.
    let replayed = ["authority_api", "platform_api"];
    for e in std::fs::read_dir(regressions()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            assert!(replayed.contains(&name.as_str()), "fuzz/regressions/{name} has no replay in this test");
        }
    }
}
