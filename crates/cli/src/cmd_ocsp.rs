//! `hanko ocsp …` — OCSP requests and the sandbox authority's responder, file in / file out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use hanko_pki::der::Decode;
use hanko_pki::ocsp::{build_request, error_response, CertIdentity, OcspResponseStatus, ParsedRequest, Responder};
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{Revocation, RevocationStatus, Serial};
use serde_json::json;

use crate::files::{read_der, write_atomic};
use crate::{fmt_time, now_or, DataDir};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Build an OCSP request for a certificate (SHA-1 CertID, with a fresh nonce).
    Request {
        /// The issuing CA certificate (DER or PEM).
        #[arg(long)]
        issuer: PathBuf,
        /// The certificate to ask about (DER or PEM).
        #[arg(long, required_unless_present = "serial")]
        cert: Option<PathBuf>,
        /// …or its serial in hex.
        #[arg(long, conflicts_with = "cert")]
        serial: Option<String>,
        /// Send no nonce.
        #[arg(long)]
        no_nonce: bool,
        /// Where to write the DER request.
        #[arg(long)]
        out: PathBuf,
    },
    /// Answer a DER OCSP request from the authority's register, file in / file out (the service
    /// answers over HTTP at /ocsp).
    Respond {
        #[command(flatten)]
        data: DataDir,
        /// The DER request.
        #[arg(long)]
        request: PathBuf,
        /// Where to write the DER response.
        #[arg(long)]
        out: PathBuf,
        /// Sign with the CA key itself instead of the delegated responder certificate.
        #[arg(long)]
        issuer_signed: bool,
        /// Answer at this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Request { issuer, cert, serial, no_nonce, out } => {
            let issuer = Certificate::from_der(&read_der(&issuer)?).context("--issuer is not a certificate")?;
            let serial = match (cert, serial) {
                (Some(path), _) => Serial::of(
                    &Certificate::from_der(&read_der(&path)?)
                        .context("--cert is not a certificate")?
                        .tbs_certificate
                        .serial_number,
                ),
                (None, Some(hex)) => Serial::from_hex(&hex).with_context(|| format!("{hex:?} is not a hex serial"))?,
                (None, None) => anyhow::bail!("give --cert or --serial"),
            };
            let id = CertIdentity::new(&issuer, &serial)?;
            let mut nonce = [0u8; 16];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
            let nonce = (!no_nonce).then_some(&nonce[..]);
            write_atomic(&out, &build_request(&[id], nonce)?, 0o644)?;
            println!("{}", json!({"serial": serial.to_string(), "nonce": nonce.map(hex::encode), "request": out}));
            Ok(ExitCode::SUCCESS)
        }
        Command::Respond { data, request, out, issuer_signed, at, json } => {
            let der = std::fs::read(&request).with_context(|| format!("reading {}", request.display()))?;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (response, summary) = runtime.block_on(respond(&data, &der, issuer_signed, at.as_deref()))?;
            write_atomic(&out, &response, 0o644)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&json!({"responses": summary, "out": out}))?);
            } else {
                for s in &summary {
                    println!("{} {}", s["serial"].as_str().unwrap_or("?"), s["status"].as_str().unwrap_or("?"));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Answers `der` from the authority's register: signed by the generation's delegated responder
/// (or its CA key); `malformedRequest` / `unauthorized` as RFC 6960 says.
async fn respond(
    data: &DataDir,
    der: &[u8],
    issuer_signed: bool,
    at: Option<&str>,
) -> Result<(Vec<u8>, Vec<serde_json::Value>)> {
    let now = now_or(at)?;
    let parsed = match ParsedRequest::from_der(der) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("answered malformedRequest: {e}");
            return Ok((error_response(OcspResponseStatus::MalformedRequest)?, Vec::new()));
        }
    };
    let clock = std::sync::Arc::new(hanko_authority::ManualClock::new(now));
    let authority = crate::cmd_authority::open(&data.data_dir, None, clock, |_| {}).await?;
    // The generation that issued the first certificate asked about answers for all.
    let Some((kind, generation, issuer)) = authority.cas()?.all().iter().find_map(|g| {
        parsed
            .ids()
            .iter()
            .any(|id| id.is_issued_by(g.ca.certificate()))
            .then(|| (g.ca.kind(), g.id.clone(), g.ca.certificate().clone()))
    }) else {
        eprintln!("answered unauthorized: no certificate of this authority was asked about");
        return Ok((error_response(OcspResponseStatus::Unauthorized)?, Vec::new()));
    };
    let mut entries = Vec::new();
    for id in parsed.ids() {
        let record = match id.is_issued_by(&issuer) {
            true => authority.store().certificate(id.serial()).await?,
            false => None,
        };
        let status = match record {
            Some(r) if r.der.is_some() && r.ca_kind == kind && r.generation == generation => match r.revocation {
                Some((revoked_at, reason)) => RevocationStatus::Revoked(Revocation { revoked_at, reason }),
                None => RevocationStatus::Good,
            },
            _ => RevocationStatus::Unknown,
        };
        entries.push((id.clone(), status));
    }
    let next = Some(now + hanko_pki::ocsp::UPDATE_INTERVAL);
    let response = {
        let cas = authority.cas()?;
        let g = cas.get(kind, &generation).context("the generation vanished")?;
        if issuer_signed {
            Responder::for_ca(&g.ca)?.respond(&entries, now, now, next, parsed.nonce())?
        } else {
            g.responder.respond(&entries, now, now, next, parsed.nonce())?
        }
    };
    let summary = entries
        .iter()
        .map(|(id, s)| match s {
            RevocationStatus::Good => json!({"serial": id.serial().to_string(), "status": "good"}),
            RevocationStatus::Revoked(r) => json!({"serial": id.serial().to_string(), "status": "revoked",
                "reason": r.reason.name(), "revoked_at": fmt_time(r.revoked_at)}),
            RevocationStatus::Unknown => json!({"serial": id.serial().to_string(), "status": "unknown"}),
        })
        .collect();
    Ok((response, summary))
}
