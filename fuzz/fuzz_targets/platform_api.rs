#![no_main]
//! Hostile HTTP requests through the platform's real router, in process: the driver (fixture,
//! input format, checks) is `crates/platform/tests/fuzz_regressions/driver.rs`, shared with the
//! test that replays every reproducer under `fuzz/regressions/platform_api` on SQLite and
//! PostgreSQL. HANKO_FUZZ_POSTGRES=<url> puts the platform on a new PostgreSQL schema.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/platform/tests/fuzz_regressions/driver.rs"]
mod driver;

fn driver() -> &'static driver::Driver {
    static D: OnceLock<driver::Driver> = OnceLock::new();
    D.get_or_init(|| driver::Driver::new(std::env::var("HANKO_FUZZ_POSTGRES").ok().as_deref()))
}

fuzz_target!(|data: &[u8]| driver().run(data));
