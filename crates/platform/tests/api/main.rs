//! The platform service end to end: a real authority and a real platform over HTTP on loopback,
//! on SQLite and PostgreSQL, with cards signing through their APDUs.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

mod common;
mod evidence;
mod formats;
mod identity;
mod login;
mod metrics;
mod monitoring;
mod review;
mod revocation;
mod signature;
mod tenants;
mod users;
