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
