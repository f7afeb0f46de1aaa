//! Integration tests of `hanko-pki`, in one binary (ARCHITECTURE.md §3 item 12):
//!
//! - `cms`, `crl`, `ocsp`, `raw`, `tsp`: interop with the real `openssl` binary (OpenSSL 3).
//!   They need `openssl` on the `PATH` and fail (never skip) without it.
//! - `jlis_ca`: the real J-LIS CA certificates, parsed and reproduced byte for byte.
//! - `jwe`, `pades`: interop with jwcrypto and pyHanko (through scripts/pades-fixture.py), from the virtualenv scripts/py-interop-venv.sh makes
//!   (pinned versions; fails, never skips, when it cannot be made).
//!
//! `common` holds what they share: the scratch directory, the `openssl` runner, and the
//! sandbox CA and holders made through the public API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cms;
mod common;
mod crl;
mod jlis_ca;
mod jwe;
mod ocsp;
mod pades;
mod raw;
mod tsp;
