//! `hanko verify …` — certificates, raw signatures, CMS, signed PDFs, user-authentication
//! responses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_pki::verify::{
    CrlSet, RevocationCheck, RevocationEvidence, Signed, TrustStore, Usage, VerifiedCertificate, Verifier, VerifyError,
};
use hanko_pki::{CaKind, DigestAlgorithm, PolicySet};
use serde_json::{json, Value};

use crate::files::{anchors, read_der};
use crate::{fmt_time, now_or, Failure};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Verify a certificate: chain, validity, profile and revocation.
    Certificate {
        /// The certificate (DER or PEM).
        cert: PathBuf,
        /// What it is used for.
        #[arg(long, value_enum, default_value = "signature")]
        usage: UsageArg,
        #[command(flatten)]
        opts: Opts,
    },
    /// Verify a raw RSASSA-PKCS1-v1_5 signature (what the card's `80 2A` returns).
    Signature {
        /// The signer's certificate (DER or PEM).
        #[arg(long)]
        cert: PathBuf,
        /// The signature file (raw bytes).
        #[arg(long)]
        signature: PathBuf,
        /// The signed data.
        #[arg(long, conflicts_with = "digest", required_unless_present = "digest")]
        data: Option<PathBuf>,
        /// The digest of the signed data, in hex (when only the hash is at hand).
        #[arg(long)]
        digest: Option<String>,
        /// Hash algorithm.
        #[arg(long, value_enum, default_value = "sha256")]
        hash: HashArg,
        #[command(flatten)]
        opts: Opts,
    },
    /// Verify a CMS SignedData (DER or PEM), attached or detached.
    Cms {
        /// The CMS file.
        cms: PathBuf,
        /// The content, for a detached signature.
        #[arg(long)]
        content: Option<PathBuf>,
        #[command(flatten)]
        opts: Opts,
    },
    /// Verify every signature of a signed PDF (PAdES: ETSI.CAdES.detached, adbe.pkcs7.detached).
    /// Exit status 0 only when every signature verifies and nothing was added to the file
    /// after the last one.
    Pdf {
        /// The PDF file.
        pdf: PathBuf,
        #[command(flatten)]
        opts: Opts,
    },
    /// Verify a user-authentication response: the auth key's signature over a challenge.
    Auth {
        /// The user-authentication certificate.
        #[arg(long)]
        cert: PathBuf,
        /// The challenge that was sent (raw bytes).
        #[arg(long)]
        challenge: PathBuf,
        /// The signature (raw bytes).
        #[arg(long)]
        signature: PathBuf,
        /// Hash algorithm the card's DigestInfo used.
        #[arg(long, value_enum, default_value = "sha256")]
        hash: HashArg,
        #[command(flatten)]
        opts: Opts,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum UsageArg {
    /// Electronic signature (signature certificates).
    Signature,
    /// User authentication (auth certificates).
    Auth,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum HashArg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA-1, only for signatures older tools made (e.g. jpki-cli); needs --data.
    Sha1Legacy,
}

impl HashArg {
    fn algorithm(self) -> Result<DigestAlgorithm> {
        match self {
            HashArg::Sha256 => Ok(DigestAlgorithm::Sha256),
            HashArg::Sha384 => Ok(DigestAlgorithm::Sha384),
            HashArg::Sha512 => Ok(DigestAlgorithm::Sha512),
            HashArg::Sha1Legacy => bail!("--hash sha1-legacy is only for `hanko verify signature --data`"),
        }
    }
}

/// Trust and revocation options shared by every verify command.
#[derive(Args)]
pub(crate) struct Opts {
    /// Trust the sandbox authority in this data directory (and use its published CRLs).
    #[arg(long, env = "HANKO_DATA_DIR", default_value = "hanko-data")]
    data_dir: PathBuf,
    /// Trust the real J-LIS CA generations in this directory instead (files sign_*.pem and
    /// auth_*.pem, e.g. shared/data/jlis-ca) with the production policy OIDs.
    #[arg(long)]
    jlis_ca: Option<PathBuf>,
    /// CRL files (DER or PEM) to check revocation with; default: the sandbox's published CRLs.
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Check revocation with this OCSP response (DER) instead of CRLs.
    #[arg(long, conflicts_with = "crl")]
    ocsp_response: Option<PathBuf>,
    /// The nonce sent in the OCSP request, hex.
    #[arg(long, requires = "ocsp_response")]
    ocsp_nonce: Option<String>,
    /// Skip the revocation check (the result says so).
    #[arg(long, conflicts_with_all = ["crl", "ocsp_response"])]
    no_revocation: bool,
    /// Verify at this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

struct Loaded {
    trust: TrustStore,
    crls: CrlSet,
    ocsp: Option<(Vec<u8>, Option<Vec<u8>>)>,
    skip: bool,
}

impl Loaded {
    fn revocation(&self) -> RevocationCheck<'_> {
        if self.skip {
            return RevocationCheck::Skip;
        }
        match &self.ocsp {
            Some((response, nonce)) => RevocationCheck::Ocsp {
                response,
                nonce: nonce.as_deref(),
                max_age: hanko_pki::time::Duration::hours(24),
            },
            None => RevocationCheck::Crl(&self.crls),
        }
    }
}

fn load(opts: &Opts) -> Result<Loaded> {
    let mut crl_files = opts.crl.clone();
    let trust = match &opts.jlis_ca {
        Some(dir) => {
            let mut t = TrustStore::new(PolicySet::production());
            for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                let kind = if name.starts_with("sign") {
                    CaKind::Signature
                } else if name.starts_with("auth") {
                    CaKind::Auth
                } else {
                    continue;
                };
                t.add_anchor(&read_der(&path)?, kind).with_context(|| format!("trust anchor {}", path.display()))?;
            }
            t
        }
        None => {
            let mut t = TrustStore::new(PolicySet::sandbox());
            for (kind, der) in anchors(&opts.data_dir)? {
                t.add_anchor(&der, kind)?;
            }
            if crl_files.is_empty() && opts.ocsp_response.is_none() && !opts.no_revocation {
                crl_files = sandbox_crls(&opts.data_dir)?;
                if crl_files.is_empty() {
                    bail!(
                        "no CRL published yet: run `hanko authority crl`, or pass --crl, --ocsp-response or --no-revocation"
                    );
                }
            }
            t
        }
    };
    let mut crls = CrlSet::new();
    for path in &crl_files {
        crls.add(&trust, &read_der(path)?).with_context(|| format!("CRL {}", path.display()))?;
    }
    let ocsp = match &opts.ocsp_response {
        Some(path) => {
            let nonce = opts.ocsp_nonce.as_deref().map(hex::decode).transpose().context("--ocsp-nonce is not hex")?;
            Some((read_der(path)?, nonce))
        }
        None => None,
    };
    Ok(Loaded { trust, crls, ocsp, skip: opts.no_revocation })
}

fn sandbox_crls(dir: &Path) -> Result<Vec<PathBuf>> {
    let crl_dir = dir.join("crl");
    if !crl_dir.exists() {
        return Ok(Vec::new());
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(&crl_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "crl"))
        .collect();
    v.sort();
    Ok(v)
}

/// JSON description of a verified certificate (the 4 facts included: this is the command's output).
pub(crate) fn describe(v: &VerifiedCertificate) -> Value {
    let facts = v.facts().map(|f| {
        json!({"name": f.name(), "sex": f.sex().as_str(), "birth_date": f.birth_date().to_string(),
               "birth_date_iso": f.birth_date().date().map(|d| d.to_string()), "address": f.address()})
    });
    let revocation = match v.revocation() {
        RevocationEvidence::Crl { crl_number, this_update } => {
            json!({"method": "crl", "crl_number": crl_number, "this_update": fmt_time(*this_update)})
        }
        RevocationEvidence::Ocsp { this_update } => json!({"method": "ocsp", "this_update": fmt_time(*this_update)}),
        RevocationEvidence::NotChecked => json!({"method": "none"}),
        _ => json!({"method": "other"}),
    };
    json!({
        "kind": v.kind().as_str(),
        "serial": v.serial().to_string(),
        "subject": v.certificate().subject_string(),
        "not_after": fmt_time(v.certificate().not_after()),
        "issuer_key_id": hex::encode(v.issuer_key_id()),
        "facts": facts,
        "revocation": revocation,
        "verified_at": fmt_time(v.verified_at()),
    })
}

fn failure(e: &VerifyError) -> Value {
    let mut j = json!({"verified": false, "code": failure_code(e), "error": e.to_string()});
    if let VerifyError::Revoked { serial, revoked_at, reason, meaning } = e {
        j["revoked"] = json!({"serial": serial.to_string(), "at": fmt_time(*revoked_at), "reason": reason.name(), "meaning": meaning.as_str()});
    }
    j
}

/// The stable `code` of a verification that said no (`--json`).
fn failure_code(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Revoked { .. } => "revoked",
        VerifyError::Expired { .. } | VerifyError::NotYetValid { .. } | VerifyError::IssuerNotValid { .. } => {
            "not-valid-at-time"
        }
        VerifyError::UnknownIssuer { .. } | VerifyError::CertificateSignatureInvalid { .. } => "untrusted",
        VerifyError::SignatureInvalid => "bad-signature",
        VerifyError::RevocationUnknown(_)
        | VerifyError::CrlMissing
        | VerifyError::CrlStale { .. }
        | VerifyError::Crl(_)
        | VerifyError::Ocsp(_) => "revocation-unknown",
        _ => "not-verified",
    }
}

/// Prints the result of a verification: 0 verified, 1 it said no; input that is no certificate
/// at all (or a digest of the wrong length) is bad input, exit status 2, like any other.
fn report(result: Result<Value, VerifyError>, json: bool) -> Result<ExitCode> {
    if let Err(e @ (VerifyError::Certificate(_) | VerifyError::DigestLength { .. })) = &result {
        let code = if matches!(e, VerifyError::Certificate(_)) { "bad-certificate" } else { "bad-input" };
        return Err(Failure::bad_input(code, e.to_string()).into());
    }
    Ok(match result {
        Ok(mut v) => {
            v["verified"] = json!(true);
            if json {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                println!(
                    "OK: {} certificate {} ({})",
                    v["kind"].as_str().unwrap_or("?"),
                    v["serial"].as_str().unwrap_or("?"),
                    v["subject"].as_str().unwrap_or("?")
                );
                if let Some(f) = v["facts"].as_object() {
                    for k in ["name", "birth_date", "sex", "address"] {
                        println!("  {k:<10} {}", f.get(k).and_then(Value::as_str).unwrap_or(""));
                    }
                }
                println!("  revocation {}", v["revocation"]);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&failure(&e)).unwrap_or_default());
            } else {
                println!("FAILED: {e}");
                if let VerifyError::Revoked { meaning, .. } = &e {
                    println!("  meaning: {}", meaning.as_str());
                }
            }
            ExitCode::from(1)
        }
    })
}

pub(crate) fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Certificate { cert, usage, opts } => {
            let ctx = load(&opts)?;
            let at = now_or(opts.at.as_deref())?;
            let usage = match usage {
                UsageArg::Signature => Usage::Signature,
                UsageArg::Auth => Usage::Authentication,
            };
            let der = read_der(&cert)?;
            let r =
                Verifier::new(&ctx.trust).verify_certificate(&der, usage, at, ctx.revocation()).map(|v| describe(&v));
            report(r, opts.json)
        }
        Command::Signature { cert, signature, data, digest, hash, opts } => {
            let ctx = load(&opts)?;
            let at = now_or(opts.at.as_deref())?;
            let der = read_der(&cert)?;
            let sig = std::fs::read(&signature).with_context(|| format!("reading {}", signature.display()))?;
            let data_bytes = data
                .as_ref()
                .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
                .transpose()?;
            let digest_bytes = digest.as_deref().map(hex::decode).transpose().context("--digest is not hex")?;
            let signed = match (&data_bytes, &digest_bytes) {
                (Some(d), _) => Signed::Data(d),
                (None, Some(d)) => Signed::Digest(d),
                (None, None) => bail!("give --data or --digest"),
            };
            if let HashArg::Sha1Legacy = hash {
                let Signed::Data(data) = signed else { bail!("--hash sha1-legacy needs --data") };
                let r = Verifier::new(&ctx.trust)
                    .verify_legacy_sha1_signature(&der, data, &sig, at, ctx.revocation())
                    .map(|v| {
                        let mut j = describe(v.certificate());
                        j["hash"] = json!("sha1 (legacy)");
                        j
                    });
                return report(r, opts.json);
            }
            let r = Verifier::new(&ctx.trust)
                .verify_signature(&der, hash.algorithm()?, signed, &sig, at, ctx.revocation())
                .map(|v| {
                    let mut j = describe(v.certificate());
                    j["digest"] = json!(hex::encode(v.digest()));
                    j
                });
            report(r, opts.json)
        }
        Command::Cms { cms, content, opts } => {
            let ctx = load(&opts)?;
            let at = now_or(opts.at.as_deref())?;
            let der = read_der(&cms)?;
            let content = content
                .as_ref()
                .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
                .transpose()?;
            let r = Verifier::new(&ctx.trust).verify_cms(&der, content.as_deref(), at, ctx.revocation()).map(|v| {
                let mut j = describe(v.certificate());
                j["digest"] = json!(hex::encode(v.digest()));
                j["signing_time"] = json!(v.signing_time().map(fmt_time));
                j
            });
            report(r, opts.json)
        }
        Command::Pdf { pdf, opts } => verify_pdf(&pdf, &opts),
        Command::Auth { cert, challenge, signature, hash, opts } => {
            let ctx = load(&opts)?;
            let at = now_or(opts.at.as_deref())?;
            let der = read_der(&cert)?;
            let challenge = std::fs::read(&challenge).with_context(|| format!("reading {}", challenge.display()))?;
            let sig = std::fs::read(&signature).with_context(|| format!("reading {}", signature.display()))?;
            let r = Verifier::new(&ctx.trust)
                .verify_authentication(&der, &challenge, hash.algorithm()?, &sig, at, ctx.revocation())
                .map(|v| describe(v.certificate()));
            report(r, opts.json)
        }
    }
}

/// `hanko verify pdf`: each signature's byte range and CMS; 0 when all verify and the last one
/// covers the whole file, 1 otherwise, 2 when the file is no signed PDF.
fn verify_pdf(path: &Path, opts: &Opts) -> Result<ExitCode> {
    use hanko_pki::pades;
    let ctx = load(opts)?;
    let at = now_or(opts.at.as_deref())?;
    let pdf = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let found =
        pades::signatures(&pdf).map_err(|e| Failure::bad_input("bad-input", format!("{}: {e}", path.display())))?;
    if found.is_empty() {
        return Err(Failure::bad_input("bad-input", format!("{}: no signature (no /ByteRange)", path.display())).into());
    }
    let verifier = Verifier::new(&ctx.trust);
    let mut all_verified = true;
    let mut reports = Vec::new();
    for (index, sig) in found.iter().enumerate() {
        let mut j = match sig {
            Err(e) => json!({"verified": false, "code": "bad-signature-dictionary", "error": e.to_string()}),
            Ok(sig) if !sig.sub_filter.is_detached_cms() => {
                json!({"verified": false, "code": "unsupported", "error": format!("/SubFilter {} is not verified", sig.sub_filter.name())})
            }
            Ok(sig) => match verifier.verify_cms(&sig.cms_der, Some(&sig.signed_content()), at, ctx.revocation()) {
                Ok(v) => {
                    let mut j = describe(v.certificate());
                    j["verified"] = json!(true);
                    j["digest"] = json!(hex::encode(v.digest()));
                    j
                }
                Err(e) => failure(&e),
            },
        };
        all_verified &= j["verified"] == json!(true);
        j["index"] = json!(index);
        if let Ok(sig) = sig {
            j["sub_filter"] = json!(sig.sub_filter.name());
            j["byte_range"] = json!(sig.byte_range);
            j["bytes_after"] = json!(sig.bytes_after());
            j["claimed_time"] = json!(sig.claimed_time);
        }
        reports.push(j);
    }
    let modified = !found.iter().flatten().any(|s| s.covers_whole_file());
    let ok = all_verified && !modified;
    if opts.json {
        let out = json!({"verified": ok, "modified_after_last_signature": modified, "signatures": reports});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        for r in &reports {
            if r["verified"] == json!(true) {
                println!(
                    "signature {}: OK: {} certificate {} ({}), {} bytes after it",
                    r["index"],
                    r["kind"].as_str().unwrap_or("?"),
                    r["serial"].as_str().unwrap_or("?"),
                    r["subject"].as_str().unwrap_or("?"),
                    r["bytes_after"]
                );
            } else {
                println!("signature {}: FAILED: {}", r["index"], r["error"].as_str().unwrap_or("?"));
            }
        }
        if modified {
            println!("the file was changed after its last signature");
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
