//! `hanko up` end to end: the binary runs the whole ecosystem (authority, platform, identity
//! provider, demo bank, console) on loopback, on SQLite and on PostgreSQL; a browser-like client
//! (cookies, no JavaScript) walks the bank's pages, and the user's app answers the provider's
//! requests with the emulated cards through their APDUs (the app API, as the wallet does).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

#[macro_use]
#[allow(dead_code)] // the harness: not every helper is used by every suite
#[path = "../../../store/tests/support/backends.rs"]
mod backends;
mod age;
mod browser;
mod common;
mod consent;
mod contract;
mod login;
mod lost;
mod moving;
mod open;
mod policy;
mod recover;
mod staff;
mod timing;
