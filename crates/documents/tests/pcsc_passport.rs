//! The emulated passport through a real pcscd (vpcd): our reader over
//! `hanko_cardlink::PcscTransport` (BAC + passive + active authentication, and the same read
//! without access control for the secure-messaging overhead), and an independent open-source
//! reader, the crates.io `emrtd` crate (BAC, SM, passive authentication with OpenSSL), driven by
//! scripts/emrtd-read.
//!
//! Needs pcscd with the vpcd driver (brought up by scripts/pcsc-up.sh; fails, never skips).
//! `HANKO_VPCD_PORT` / `HANKO_VPCD_READER` name the vpcd reader (default 35963, "Virtual PCD 00 00").
//! Timings are printed (eprintln), never asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/pcsc.rs"]
mod pcsc;

use std::process::Command as Process;
use std::time::{Duration, Instant};

use hanko_cardlink::PcscTransport;
use hanko_documents::passport::{self, issue, sample_holder, AccessControl, PassportIssuer};
use hanko_documents::{ChipCheck, DocumentChip, TrustAnchors};
use pcsc::{lock, pcscd, reader_name, Served};
use rand_core::OsRng;
use time::OffsetDateTime;

fn setup() -> (PassportIssuer, TrustAnchors, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    let issuer = PassportIssuer::generate("JP", now - time::Duration::days(30), &mut OsRng).unwrap();
    let trust = TrustAnchors { cscas: vec![issuer.trust_anchor()], ..TrustAnchors::default() };
    (issuer, trust, now)
}

fn read_through_pcscd(
    chip: passport::PassportChip,
    trust: &TrustAnchors,
    now: OffsetDateTime,
) -> (hanko_documents::Report, Duration, usize) {
    let served = Served::start(DocumentChip::Passport(chip));
    let mut t = PcscTransport::connect(Some(&reader_name())).unwrap();
    let mut chunks = 0usize;
    let start = Instant::now();
    let report = passport::check(&mut t, &sample_holder(1).access_code(), trust, now, &mut |p| {
        chunks += usize::from(p.step.starts_with("DG2"));
    })
    .unwrap();
    let took = start.elapsed();
    drop(t);
    served.stop(); // the bridge ended cleanly and the passport left the reader
    (report, took, chunks)
}

#[test]
fn our_reader_through_pcscd_with_and_without_secure_messaging() {
    pcscd();
    let _l = lock();
    let (issuer, trust, now) = setup();
    let holder = sample_holder(1);
    let signed = now - time::Duration::days(1);
    let (report, with_sm, chunks) =
        read_through_pcscd(issue(&holder, &issuer, AccessControl::Bac, signed).unwrap(), &trust, now);
    assert_eq!(report.field("surname").unwrap().value, "MIHON");
    assert!(matches!(report.chip, ChipCheck::Proven { .. }));
    assert!(report.issuer.method.contains("BAC"));
    let (plain_report, without_sm, _) =
        read_through_pcscd(issue(&holder, &issuer, AccessControl::None, signed).unwrap(), &trust, now);
    assert!(plain_report.issuer.method.contains("no access control"));
    eprintln!(
        "passport full read + PA + AA through pcscd: BAC + 3DES SM {:.1} ms, no access control {:.1} ms \
         (SM overhead ×{:.2}); DG2 in {chunks} progress steps",
        with_sm.as_secs_f64() * 1e3,
        without_sm.as_secs_f64() * 1e3,
        with_sm.as_secs_f64() / without_sm.as_secs_f64()
    );
}

/// The crates.io `emrtd` crate reads our passport through pcscd: BAC, EF.COM, EF.SOD with its
/// passive authentication against our CSCA, DG1 and DG2 with their hashes.
#[test]
fn the_independent_emrtd_crate_reads_and_verifies_it() {
    pcscd();
    let _l = lock();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{root}/target"));
    let target = format!("{target}/emrtd-read");
    let build = Process::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path", &format!("{root}/scripts/emrtd-read/Cargo.toml")])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(build.success(), "building scripts/emrtd-read (the emrtd crate) failed");
    let (issuer, _trust, now) = setup();
    let holder = sample_holder(1);
    let csca = std::env::temp_dir().join(format!("hanko-csca-{}.der", std::process::id()));
    std::fs::write(&csca, issuer.trust_anchor()).unwrap();
    let chip = issue(&holder, &issuer, AccessControl::Bac, now - time::Duration::days(1)).unwrap();
    let served = Served::start(DocumentChip::Passport(chip));
    let out = Process::new(format!("{target}/debug/emrtd-read"))
        .args([&reader_name(), &holder.document_number, &holder.birth, &holder.expiry, csca.to_str().unwrap()])
        .output()
        .unwrap();
    served.stop();
    let _ = std::fs::remove_file(&csca);
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("emrtd-read:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "emrtd-read failed:\n{text}");
    for line in ["bac: ok", "passive authentication: ok", "dg1 hash: ok", "dg2 hash: ok"] {
        assert!(text.contains(line), "missing {line:?}:\n{text}");
    }
    assert!(text.contains("P<JPNMIHON<<TARO"), "{text}");
}
