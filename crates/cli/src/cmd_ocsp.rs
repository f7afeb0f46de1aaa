//! `hanko ocsp …` — OCSP requests and the sandbox authority's responder, file in / file out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use hanko_pki::der::Decode;
use hanko_pki::ocsp::{
    build_request, error_response, issue_responder_certificate, CertIdentity, OcspResponseStatus, ParsedRequest,
    Responder,
};
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{CaGeneration, CaKind, CrlReason, Revocation, RevocationStatus, Serial, Signer, SoftwareKey};
use serde_json::json;

use crate::sandbox::{self, from_ts, parse_ca_kind, read_der, write_atomic, IssuedRecord, Sandbox};
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
    /// Answer a DER OCSP request from the sandbox authority's register.
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
            let mut sb = Sandbox::open(&data.data_dir)?;
            let now = now_or(at.as_deref())?;
            let der = std::fs::read(&request).with_context(|| format!("reading {}", request.display()))?;
            let parsed = match ParsedRequest::from_der(&der) {
                Ok(p) => p,
                Err(e) => {
                    write_atomic(&out, &error_response(OcspResponseStatus::MalformedRequest)?, 0o644)?;
                    eprintln!("answered malformedRequest: {e}");
                    return Ok(ExitCode::SUCCESS);
                }
            };
            // The generation that issued the first certificate asked about answers for all.
            let mut generation = None;
            for g in &sb.register.generations {
                let kind = parse_ca_kind(&g.kind)?;
                let ca = sb.load(kind, &g.id)?;
                if parsed.ids().iter().any(|id| id.is_issued_by(ca.certificate())) {
                    generation = Some((kind, g.id.clone(), ca));
                    break;
                }
            }
            let Some((kind, gen_id, ca)) = generation else {
                write_atomic(&out, &error_response(OcspResponseStatus::Unauthorized)?, 0o644)?;
                eprintln!("answered unauthorized: no certificate of this authority was asked about");
                return Ok(ExitCode::SUCCESS);
            };
            let entries: Vec<(CertIdentity, RevocationStatus)> = parsed
                .ids()
                .iter()
                .map(|id| {
                    let status = if id.is_issued_by(ca.certificate()) {
                        status_of(&sb.register.issued, id.serial())?
                    } else {
                        RevocationStatus::Unknown
                    };
                    Ok((id.clone(), status))
                })
                .collect::<Result<_>>()?;
            let response = if issuer_signed {
                Responder::for_ca(&ca)?.respond(
                    &entries,
                    now,
                    now,
                    Some(now + hanko_pki::ocsp::UPDATE_INTERVAL),
                    parsed.nonce(),
                )?
            } else {
                let (cert, key) = delegated_responder(&mut sb, kind, &gen_id, &ca, now)?;
                Responder::delegated(ca.certificate(), &cert, key)?.respond(
                    &entries,
                    now,
                    now,
                    Some(now + hanko_pki::ocsp::UPDATE_INTERVAL),
                    parsed.nonce(),
                )?
            };
            write_atomic(&out, &response, 0o644)?;
            let summary: Vec<_> = entries
                .iter()
                .map(|(id, s)| match s {
                    RevocationStatus::Good => json!({"serial": id.serial().to_string(), "status": "good"}),
                    RevocationStatus::Revoked(r) => json!({"serial": id.serial().to_string(), "status": "revoked", "reason": r.reason.name(), "revoked_at": fmt_time(r.revoked_at)}),
                    RevocationStatus::Unknown => json!({"serial": id.serial().to_string(), "status": "unknown"}),
                })
                .collect();
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

/// Good if issued here and not revoked, revoked with time and reason, unknown if never issued.
fn status_of(issued: &[IssuedRecord], serial: &Serial) -> Result<RevocationStatus> {
    let hex = serial.to_string();
    Ok(match issued.iter().find(|i| i.serial == hex) {
        None => RevocationStatus::Unknown,
        Some(IssuedRecord { revoked: None, .. }) => RevocationStatus::Good,
        Some(IssuedRecord { revoked: Some(r), .. }) => {
            RevocationStatus::Revoked(Revocation { revoked_at: from_ts(r.at)?, reason: CrlReason(r.reason) })
        }
    })
}

/// The delegated responder of a generation, issued on first use (valid one year, capped by the CA).
fn delegated_responder(
    sb: &mut Sandbox,
    kind: CaKind,
    gen_id: &str,
    ca: &CaGeneration<SoftwareKey>,
    now: hanko_pki::time::OffsetDateTime,
) -> Result<(Vec<u8>, SoftwareKey)> {
    let base = sb.dir.join("ocsp").join(format!("{}-{gen_id}", kind.as_str()));
    let cert_path = base.with_extension("der");
    let key_path = base.with_extension("p8");
    if cert_path.exists() && key_path.exists() {
        let cert = std::fs::read(&cert_path)?;
        let not_after = Certificate::from_der(&cert)?.tbs_certificate.validity.not_after;
        if hanko_pki::from_x509_time(&not_after) > now {
            let key = SoftwareKey::from_pkcs8(&zeroize::Zeroizing::new(std::fs::read(&key_path)?))?;
            return Ok((cert, key));
        }
    }
    let key = SoftwareKey::generate_rsa2048()?;
    let serial = sb.fresh_serial();
    let not_after = (now + hanko_pki::time::Duration::days(365)).min(ca.validity().1);
    let cert = issue_responder_certificate(ca, key.public_key().clone(), &serial, now, not_after)?;
    write_atomic(&key_path, &key.to_pkcs8()?, 0o600)?;
    write_atomic(&cert_path, &cert, 0o644)?;
    write_atomic(&base.with_extension("pem"), sandbox::pem("CERTIFICATE", &cert)?.as_bytes(), 0o644)?;
    sb.record_issued(
        IssuedRecord {
            serial: serial.to_string(),
            kind: "ocsp-responder".into(),
            ca: kind.as_str().into(),
            generation: gen_id.into(),
            subject: hanko_pki::ocsp::responder_subject()?.to_string(),
            not_after: sandbox::ts(not_after),
            revoked: None,
        },
        &cert,
    )?;
    Ok((cert, key))
}
