//! `hanko bench verify` — full signature verifications per second on one core (parse, chain to
//! the CA generation, validity, profile, CRL lookup, PKCS#1 signature) next to the RSA-2048
//! verify rate `openssl speed rsa2048` measures in the same run.
//!
//! Each verification does two RSA-2048 public-key operations (the CA's signature on the
//! certificate and the holder's signature on the document), so the ceiling is half of
//! openssl's verify rate: the "2-RSA-verify limit".

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hanko_pki::crl::{CrlBuilder, CrlEntry};
use hanko_pki::time::macros::{date, datetime};
use hanko_pki::verify::{CrlSet, RevocationCheck, Signed, TrustStore, Verifier};
use hanko_pki::{
    end_of_day_jst, signature_subject, BasicFacts, BirthDate, CaGeneration, CaKind, CertKind, CrlReason,
    DigestAlgorithm, Naming, PolicySet, Profile, Serial, Sex, SignatureAlgorithm, Signer, SoftwareKey,
};

/// Options of `hanko bench verify`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Seconds to measure each side (split into 3 alternating rounds).
    #[arg(long, default_value_t = 6)]
    seconds: u64,
    /// Distinct holders (certificates) to cycle through.
    #[arg(long, default_value_t = 32)]
    holders: usize,
    /// Revoked entries in the CRL the lookups go to.
    #[arg(long, default_value_t = 1_000_000)]
    crl_entries: u64,
}

/// Runs `openssl speed -seconds S rsa2048` and returns (sign/s, verify/s).
pub(crate) fn openssl_rsa2048(seconds: u64) -> Result<(f64, f64)> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "rsa2048"])
        .output()
        .context("running `openssl speed` (is openssl installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 7 && f[0] == "rsa" && f[1] == "2048" {
            let sign: f64 = f[f.len() - 2].parse().context("openssl sign/s")?;
            let verify: f64 = f[f.len() - 1].parse().context("openssl verify/s")?;
            return Ok((sign, verify));
        }
    }
    bail!("could not read `openssl speed rsa2048` output:\n{text}")
}

/// A holder's certificate, a SHA-256 digest and the holder's PKCS#1 signature over it.
pub(crate) type Case = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Full signature verifications per second on this thread for `budget`, cycling through `cases`.
pub(crate) fn full_verify_rate(
    verifier: &Verifier<'_>,
    rc: RevocationCheck<'_>,
    cases: &[Case],
    now: hanko_pki::time::OffsetDateTime,
    budget: Duration,
) -> Result<f64> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for (der, digest, sig) in cases {
            verifier.verify_signature(der, DigestAlgorithm::Sha256, Signed::Digest(digest), sig, now, rc)?;
            n += 1;
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let now = datetime!(2026-06-01 00:00 UTC);
    let ca = CaGeneration::create(
        CaKind::Signature,
        Naming::sandbox(),
        PolicySet::sandbox(),
        SoftwareKey::generate_rsa2048()?,
        &Serial::from_u64(1),
        datetime!(2025-01-01 00:00 UTC),
        end_of_day_jst(date!(2034 - 12 - 31)),
    )?;
    let facts = BasicFacts::new(
        "試験　花子",
        Sex::FEMALE,
        BirthDate::Known(date!(1985 - 04 - 01)),
        "東京都見本区試験町一丁目１番１号",
    )?;
    eprintln!("setting up {} holders and a {}-entry CRL …", args.holders, args.crl_entries);
    let mut cases = Vec::with_capacity(args.holders);
    for i in 0..args.holders {
        let key = SoftwareKey::generate_rsa2048()?;
        let serial = Serial::random(&mut rand_core::OsRng);
        let der = ca.issue(
            &Profile::end_entity(CertKind::Signature),
            &serial,
            signature_subject("Tokyo-to", "Mihon-ku", &format!("20260601090000{i:05}HANKOTEST"))?,
            key.public_key().clone(),
            Some(&facts),
            datetime!(2026-01-01 00:00 UTC),
            end_of_day_jst(date!(2030 - 12 - 31)),
        )?;
        let digest = DigestAlgorithm::Sha256.digest(format!("document {i}").as_bytes());
        let sig = key.sign_digest(SignatureAlgorithm::RsaPkcs1Sha256, &digest)?;
        cases.push((der, digest, sig));
    }
    let entries = (0..args.crl_entries).map(|_| CrlEntry {
        serial: Serial::random(&mut rand_core::OsRng),
        revoked_at: datetime!(2026-01-02 00:00 UTC),
        reason: CrlReason::AFFILIATION_CHANGED,
    });
    let crl = CrlBuilder::new(1, datetime!(2026-05-31 15:00 UTC), datetime!(2026-06-01 15:00 UTC))
        .with_entries(entries)
        .sign(&ca)?;
    let mut trust = TrustStore::new(PolicySet::sandbox());
    trust.add_anchor(ca.certificate_der(), CaKind::Signature)?;
    let mut crls = CrlSet::new();
    crls.add(&trust, &crl)?;
    let verifier = Verifier::new(&trust);
    let rc = RevocationCheck::Crl(&crls);

    // Ours and openssl's, alternating in rounds so both see the same machine; best of each.
    let rounds = 3;
    let budget = Duration::from_secs_f64(args.seconds as f64 / rounds as f64);
    let (mut ours, mut openssl_verify) = (0f64, 0f64);
    for _ in 0..rounds {
        ours = ours.max(full_verify_rate(&verifier, rc, &cases, now, budget)?);
        openssl_verify = openssl_verify.max(openssl_rsa2048(budget.as_secs().max(1))?.1);
    }

    // Where the time goes: the parts, each on its own.
    let rate = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(500) {
            f();
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let (der, digest, sig) = &cases[0];
    let parse = rate(&mut || {
        let _ = hanko_pki::JpkiCertificate::from_der(der);
    });
    let cert = hanko_pki::JpkiCertificate::from_der(der)?;
    let spki = cert.public_key_der();
    let key_parse = rate(&mut || {
        let _ = hanko_pki::RsaPublicKey::from_spki_der(spki);
    });
    let key = hanko_pki::RsaPublicKey::from_spki_der(spki)?;
    let rsa = rate(&mut || {
        let _ = key.verify_digest(SignatureAlgorithm::RsaPkcs1Sha256, digest, sig);
    });
    let fresh = rate(&mut || {
        if let Ok(k) = hanko_pki::RsaPublicKey::from_spki_der(spki) {
            let _ = k.verify_digest(SignatureAlgorithm::RsaPkcs1Sha256, digest, sig);
        }
    });

    let limit = openssl_verify / 2.0;
    println!(
        "hanko bench verify  (1 core; chain + validity + profile + CRL lookup in {} entries + PKCS#1 signature;",
        args.crl_entries
    );
    println!("                     best of {rounds} alternating rounds)");
    println!("  hanko full verifications/s          {ours:>10.0}");
    println!("  openssl speed rsa2048 verify/s      {openssl_verify:>10.0}");
    println!("  2-RSA-verify limit (openssl / 2)    {limit:>10.0}");
    println!("  ratio to the limit                  {:>9.1} %   (goal ≥ 85 %)", 100.0 * ours / limit);
    println!("  parts/s: certificate parse {parse:.0}, holder key parse {key_parse:.0}, RSA verify with a warm key {rsa:.0},");
    println!("           holder key parse + first verify {fresh:.0}");
    Ok(ExitCode::SUCCESS)
}
