#![no_main]
//! Hostile HTTP requests through the authority's real router, in process: the driver (fixture,
//! input format, checks) is `crates/authority/tests/fuzz_regressions/driver.rs`, shared with the
//! test that replays every reproducer under `fuzz/regressions/authority_api` on SQLite and
//! PostgreSQL. HANKO_FUZZ_POSTGRES=<url> runs on a new PostgreSQL schema instead of SQLite.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/authority/tests/fuzz_regressions/driver.rs"]
mod driver;

fn driver() -> &'static driver::Driver {
    static D: OnceLock<driver::Driver> = OnceLock::new();
    D.get_or_init(|| driver::Driver::new(std::env::var("HANKO_FUZZ_POSTGRES").ok().as_deref()))
}

fuzz_target!(|data: &[u8]| driver().run(data));
