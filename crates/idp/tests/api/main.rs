//! The authentication app service end to end: a real authority, platform and idp over HTTP on
//! loopback, on SQLite and PostgreSQL, with emulated cards answering through their APDUs.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

#[macro_use]
#[path = "../../../store/tests/support/backends.rs"]
mod backends;
mod attacks;
mod browser;
mod common;
mod devices;
mod interop;
mod login;
mod metrics;
mod review;
mod sign;
mod wallet;
