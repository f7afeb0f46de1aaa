//! `hanko` — the JPKI ecosystem on one machine. This binary only wires: the logic lives in the
//! library crates.

// These shadow std's macros in every module below (textual scope comes first): output goes
// through `out`, where a closed pipe (`hanko … | head`) ends the command quietly, not in a panic.
macro_rules! print {
    ($($t:tt)*) => { $crate::out::stdout(format_args!($($t)*)) };
}
macro_rules! println {
    () => { $crate::out::stdout(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::stdout(format_args!("{}\n", format_args!($($t)*))) };
}
#[allow(unused_macros)]
macro_rules! eprint {
    ($($t:tt)*) => { $crate::out::stderr(format_args!($($t)*)) };
}
macro_rules! eprintln {
    () => { $crate::out::stderr(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::stderr(format_args!("{}\n", format_args!($($t)*))) };
}

mod bench_authority;
mod bench_card;
mod bench_crl;
mod bench_idp;
mod bench_platform;
mod bench_verify;
mod check_web;
mod cmd_app;
mod cmd_authority;
mod cmd_card;
mod cmd_check;
mod cmd_document;
mod cmd_idp;
mod cmd_ocsp;
mod cmd_platform;
mod cmd_tap;
mod cmd_up;
mod cmd_verify;
mod demo;
mod files;
mod ops;
mod out;
mod people;
mod secrets;
mod up_console;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use hanko_pki::time::format_description::well_known::Rfc3339;
use hanko_pki::time::OffsetDateTime;

/// hanko: Japan's public personal authentication (JPKI) — sandbox authority, revocation and
/// verification of My Number Card certificates.
///
/// Everything hanko mints is clearly test material (O=JPKI-TEST, test policy OIDs, synthetic
/// people). Private keys are written only as PKCS#8 files with mode 0600 and never printed.
#[derive(Parser)]
#[command(name = "hanko", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print JSON (results on stdout; an error as {"error": {"code", "message"}} on stderr).
    /// Accepted by every command.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole ecosystem in one process on loopback: the authority, a platform operator,
    /// the authentication app service with its wallet, the demo bank and a sandbox console. The
    /// first start creates everything; a later one reuses the data. Start here.
    Up(cmd_up::Args),
    /// Create a sandbox authority, issue certificates to a few synthetic people, revoke one,
    /// publish CRLs and verify everything — printing what was made.
    Demo(demo::Args),
    /// The authority service (the J-LIS role): counter, life events, CRL and OCSP over HTTP,
    /// verifiers, serial services, consents, smartphone certificates, metering.
    #[command(subcommand)]
    Authority(cmd_authority::Command),
    /// The platform operator service (PF事業者): verifies signatures and logins for service
    /// providers (tenants) against the authority, keeps evidence.
    #[command(subcommand)]
    Platform(cmd_platform::Command),
    /// The authentication app service (デジタル認証アプリ): an OpenID Connect provider for the My
    /// Number Card authentication and signature APIs, a tenant of a platform operator; set-up,
    /// serving, client (RP) registration, key rotation. See docs/idp.md.
    #[command(subcommand)]
    Idp(cmd_idp::Command),
    /// The user's app without a browser: approve or decline a pending login or signature
    /// request of the authentication app service with a card.
    #[command(subcommand)]
    App(cmd_app::Command),
    /// Emulated My Number Cards (and real ones in PC/SC readers): issue, read, verify PINs, sign, serve to pcscd.
    ///
    /// `--card ID` uses a card of the data directory in process and needs nothing else.
    /// `--reader NAME` needs pcscd running and a hanko built with `--features pcsc`
    /// (libpcsclite-dev); `serve` needs pcscd with the vpcd driver (scripts/pcsc-up.sh).
    #[command(subcommand)]
    Card(cmd_card::Command),
    /// OCSP (RFC 6960) responder and client, file in / file out.
    #[command(subcommand)]
    Ocsp(cmd_ocsp::Command),
    /// Verify a certificate, a raw signature, a CMS signature or a user-authentication response.
    #[command(subcommand)]
    Verify(cmd_verify::Command),
    /// Benchmarks that print ratios against yardsticks measured in the same run.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// PIN-less tap use (かざし利用) at managed terminals, assurance level 1 only: register a card
    /// (PIN), later visits without a PIN; and the 2015 offline whitelist gate. See docs/tap.md.
    #[command(subcommand)]
    Tap(cmd_tap::Command),
    /// Emulated IC documents besides the My Number Card — driver's licence, residence card,
    /// passport: sandbox issuers, documents for synthetic holders, the list. See docs/documents.md.
    #[command(subcommand)]
    Document(cmd_document::Command),
    /// The counter check of the four IC photo IDs: read, verify, show each field signed or not,
    /// print the record the law asks for (never the My Number). See docs/check.md.
    #[command(subcommand)]
    Check(cmd_check::Command),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Signature verifications per second (chain + signature + CRL lookup) vs `openssl speed rsa2048`.
    Verify(bench_verify::Args),
    /// The emulated chip: APDUs/s, signatures/s vs `openssl speed rsa2048`, pcscd round trip.
    Card(bench_card::Args),
    /// The authority under load: OCSP responses/s over HTTP vs nginx, CRL regeneration from an
    /// N-entry register, certificates issued/s vs `openssl speed rsa2048`.
    Authority(bench_authority::Args),
    /// The platform's verification API over HTTP (wrk, oha) vs the in-process verification limit
    /// × the cores; `--soak S` for errors and RSS growth under load.
    Platform(bench_platform::Args),
    /// Full OpenID Connect logins per second through the idp (emulated cards in process) vs
    /// node-oidc-provider doing the same flow; where a login's time goes.
    Idp(bench_idp::Args),
    /// Build, parse and index an N-entry CRL, vs `openssl crl -noout` on the same file.
    Crl {
        /// Number of revoked entries.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
        /// Working directory for the CRL file.
        #[arg(long, default_value = "target/bench-crl")]
        dir: PathBuf,
        /// Instead: an authority with N revoked certificates in its register publishes its CRL
        /// and a platform's CRL fetcher downloads it over HTTP, verifies and indexes it — vs
        /// `openssl crl -noout` on the downloaded file (DIR is replaced).
        #[arg(long)]
        fetch: bool,
    },
}

/// Options shared by commands that use the sandbox authority's data directory.
#[derive(clap::Args, Clone)]
pub(crate) struct DataDir {
    /// The authority's data directory.
    #[arg(long, env = "HANKO_DATA_DIR", default_value = "hanko-data")]
    pub(crate) data_dir: PathBuf,
}

/// The error of a PC/SC operation in a hanko built without the `pcsc` feature.
#[cfg_attr(feature = "pcsc", allow(dead_code))]
pub(crate) fn no_pcsc(what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} needs PC/SC, and this hanko was built without it. Install pcscd and libpcsclite-dev \
         (Debian: apt-get install pcscd libpcsclite-dev pkg-config), then rebuild with \
         `cargo build --release -p hanko-cli --features pcsc` (see docs/pcsc.md)"
    )
}

/// Parses an RFC 3339 time (`2026-01-01T09:00:00+09:00`).
pub(crate) fn parse_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
        Failure::bad_input(
            "bad-input",
            format!("{s:?} is not an RFC 3339 time like 2026-01-01T09:00:00+09:00 ({})", root_cause(&e)),
        )
        .into()
    })
}

/// The innermost cause's message, once: the `time` crate's errors repeat their source in their
/// own text ("day was not in range: day was not in range: …").
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut e = e;
    while let Some(next) = e.source() {
        e = next;
    }
    e.to_string()
}

/// The time to act at: `--at` or the system clock (the binary is where the clock is read).
pub(crate) fn now_or(at: Option<&str>) -> Result<OffsetDateTime> {
    match at {
        Some(s) => parse_time(s),
        None => Ok(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc())),
    }
}

/// Formats a time as RFC 3339.
pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// An error that says how the command ends: bad input or usage (exit status 2) or a check that
/// said no (exit status 1: a wrong or blocked PIN, a verification that failed), with a stable
/// `code` for `--json`.
#[derive(Debug)]
pub(crate) struct Failure {
    status: u8,
    code: &'static str,
    message: String,
}

impl Failure {
    /// Bad input or usage: exit status 2.
    pub(crate) fn bad_input(code: &'static str, message: impl Into<String>) -> Failure {
        Failure { status: 2, code, message: message.into() }
    }
    /// A check said no: exit status 1.
    pub(crate) fn refused(code: &'static str, message: impl Into<String>) -> Failure {
        Failure { status: 1, code, message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The one mapping of an error to docs/cli.md's exit status (1 a check said no, 2 bad input,
/// usage or anything else that stopped the command) and the stable `code` of `--json` errors.
pub(crate) fn classify(e: &anyhow::Error) -> (u8, &'static str) {
    use hanko_authority::AuthorityError as A;
    use hanko_card::ClientError as C;
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return (f.status, f.code);
        }
        if let Some(c) = cause.downcast_ref::<C>() {
            match c {
                C::WrongPin { .. } => return (1, "wrong-pin"),
                C::PinBlocked => return (1, "pin-blocked"),
                _ => return (2, "card"),
            }
        }
        if let Some(a) = cause.downcast_ref::<A>() {
            return match a {
                A::Invalid(_) => (2, "bad-input"),
                A::NotFound { .. } => (2, "not-found"),
                A::Conflict(_) => (2, "conflict"),
                A::Unauthenticated(_) | A::Forbidden(_) => (2, "forbidden"),
                A::Verify(_) | A::Revoked(_) => (1, "not-verified"),
                A::Store(_) => (2, "database"),
                A::Io { .. } => (2, "io"),
                _ => (2, "authority"),
            };
        }
        if let Some(p) = cause.downcast_ref::<hanko_platform::PlatformError>() {
            use hanko_platform::PlatformError as P;
            return match p {
                P::Invalid(_) => (2, "bad-input"),
                P::NotFound { .. } => (2, "not-found"),
                P::Conflict(_) => (2, "conflict"),
                P::Unauthenticated(_) | P::Forbidden(_) => (2, "forbidden"),
                P::Store(_) => (2, "database"),
                P::Io { .. } => (2, "io"),
                _ => (2, "platform"),
            };
        }
        if let Some(i) = cause.downcast_ref::<hanko_idp::IdpError>() {
            use hanko_idp::IdpError as I;
            return match i {
                I::Invalid(_) => (2, "bad-input"),
                I::NotFound(_) => (2, "not-found"),
                I::Conflict(_) => (2, "conflict"),
                I::Unauthorized(_) | I::Forbidden(_) => (2, "forbidden"),
                I::Store(_) => (2, "database"),
                _ => (2, "idp"),
            };
        }
        if cause.downcast_ref::<hanko_store::StoreError>().is_some() {
            return (2, "database");
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return (2, "io");
        }
    }
    (2, "error")
}

/// Prints an error the way `--json` or not asks for: text, or `{"error": {"code", "message"}}`,
/// both on stderr (stdout carries results only).
fn report_error(json: bool, code: &str, message: &str) {
    if json {
        let v = serde_json::json!({"error": {"code": code, "message": message}});
        eprintln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        eprintln!("hanko: error: {message}");
    }
}

fn main() -> std::process::ExitCode {
    // --json anywhere asks for JSON errors, also for the errors of parsing the command line.
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            let message = e.kind().as_str().map(str::to_owned).unwrap_or_else(|| e.to_string());
            let detail = e.to_string();
            let first = detail.lines().next().unwrap_or(&message).trim_start_matches("error: ");
            report_error(true, "usage", first);
            return std::process::ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Up(args) => cmd_up::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Authority(c) => cmd_authority::run(c),
        Command::Ocsp(c) => cmd_ocsp::run(c),
        Command::Platform(c) => cmd_platform::run(c, cli.json),
        Command::Idp(c) => cmd_idp::run(c, cli.json),
        Command::App(c) => cmd_app::run(c, cli.json),
        Command::Card(c) => cmd_card::run(c, cli.json),
        Command::Tap(c) => cmd_tap::run(c, cli.json),
        Command::Verify(c) => cmd_verify::run(c),
        Command::Document(c) => cmd_document::run(c, cli.json),
        Command::Check(c) => cmd_check::run(c, cli.json),
        Command::Bench(BenchCommand::Verify(args)) => bench_verify::run(&args),
        Command::Bench(BenchCommand::Card(args)) => bench_card::run(&args),
        Command::Bench(BenchCommand::Authority(args)) => bench_authority::run(&args),
        Command::Bench(BenchCommand::Platform(args)) => bench_platform::run(&args),
        Command::Bench(BenchCommand::Idp(args)) => bench_idp::run(&args, cli.json),
        Command::Bench(BenchCommand::Crl { entries, dir, fetch }) => {
            if fetch { bench_crl::run_fetch(entries, &dir) } else { bench_crl::run(entries, &dir) }
                .map(|()| std::process::ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let (status, code) = classify(&e);
            report_error(json, code, &format!("{e:#}"));
            std::process::ExitCode::from(status)
        }
    }
}
