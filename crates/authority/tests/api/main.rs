//! The authority service end to end: a real HTTP server over SQLite and PostgreSQL, real
//! clients (reqwest, openssl, curl), the card through its APDUs.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

mod common;
mod consent;
mod counter;
mod meter;
mod metrics;
mod phone;
mod publication;
mod robustness;
mod roles;
mod services;
