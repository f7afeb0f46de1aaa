//! Writing to stdout and stderr. `print!`, `println!`, `eprint!` and `eprintln!` in this crate
//! are the macros of `main.rs`, which write through here instead of std's, which panic with
//! "failed printing to stdout: Broken pipe" when the reader went away (`hanko … | head`).
//!
//! A closed pipe ends the command at once and quietly, with exit status 141 (128 + SIGPIPE):
//! what a shell reports for any Unix tool a closed pipe stopped (`yes | head`), so that
//! `set -o pipefail` scripts see the same as with other tools, and never 0, which would claim
//! that a result (a verification, say) was delivered when it was not.

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};

/// The exit status when stdout or stderr was closed by its reader: 128 + SIGPIPE (13).
pub(crate) const CLOSED_PIPE: i32 = 141;

/// `print!`: writes to stdout; a closed pipe ends the process with [`CLOSED_PIPE`].
pub(crate) fn stdout(args: Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_PIPE);
        }
        // Anything else (a full disk behind `>`): say so once, and fail as bad output would.
        let _ = writeln!(std::io::stderr(), "hanko: error: writing to stdout: {e}");
        std::process::exit(2);
    }
}

/// `eprint!`: writes to stderr; a closed pipe ends the process with [`CLOSED_PIPE`], other
/// errors are dropped (there is nowhere left to report them).
pub(crate) fn stderr(args: Arguments<'_>) {
    if let Err(e) = std::io::stderr().lock().write_fmt(args) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_PIPE);
        }
    }
}
