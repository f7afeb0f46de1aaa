//! Every reproducer under `fuzz/regressions/platform_api` replayed through the fuzz target's
//! driver (`driver.rs`, shared with `fuzz/fuzz_targets/platform_api.rs`), with the platform on
//! SQLite and on PostgreSQL: a crash the fuzzer once found fails `cargo test` if it comes back.
//! Each reproducer gets a fresh authority and platform, as `cargo fuzz run` gives it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub, dead_code)]

mod driver;

use std::path::{Path, PathBuf};

fn reproducers() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/platform_api");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

fn replay(postgres: Option<&str>) {
    let files = reproducers();
    assert!(!files.is_empty(), "no reproducers under fuzz/regressions/platform_api");
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let d = driver::Driver::new(postgres);
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.run(&data))).is_err() {
            failed.push(file.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(failed.is_empty(), "fuzz reproducers that fail again: {failed:?}");
}

#[test]
fn fuzz_reproducers_platform_api_replay_on_sqlite() {
    replay(None);
}

#[test]
fn fuzz_reproducers_platform_api_replay_on_postgres() {
    let url = std::env::var("HANKO_TEST_POSTGRES")
        .expect("HANKO_TEST_POSTGRES is not set: run `export HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)`");
    replay(Some(&url));
}
