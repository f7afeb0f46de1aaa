//! `hanko ca …` — the sandbox certificate authority.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_pki::crl::{CrlBuilder, CrlEntry};
use hanko_pki::der::Decode;
use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::time::{Date, OffsetDateTime};
use hanko_pki::{
    auth_subject, end_entity_not_after, issuance_id, opaque_auth_id, signature_subject, BasicFacts, BirthDate, CaKind,
    CertKind, CrlReason, Profile, Serial, Sex, Signer, SoftwareKey,
};
use serde_json::json;

use crate::people::Person;
use crate::sandbox::{self, from_ts, parse_ca_kind, write_atomic, IssuedRecord, Sandbox};
use crate::{fmt_time, now_or, DataDir};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create the signature and user-authentication CAs — or, when they exist, a new
    /// generation of both (same DN, new key), like J-LIS every few years.
    Init(Act),
    /// Issue an end-entity certificate for a public key and a person.
    Issue(IssueArgs),
    /// Revoke a certificate by serial (hex) with an RFC 5280 reason.
    Revoke {
        #[command(flatten)]
        data: DataDir,
        /// Serial number in hex, as `hanko ca list` prints it.
        serial: String,
        /// Reason: affiliationChanged (move, name change, death), superseded (renewal),
        /// certificateHold (loss; never released), cessationOfOperation (card returned),
        /// keyCompromise, unspecified.
        #[arg(long, default_value = "affiliationChanged")]
        reason: String,
        /// Revocation time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish the daily CRL of every CA generation (thisUpdate now, nextUpdate +24 h).
    Crl(Act),
    /// List CA generations and issued certificates.
    List {
        #[command(flatten)]
        data: DataDir,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The data directory, the time to act at, and the output format.
#[derive(Args)]
pub(crate) struct Act {
    #[command(flatten)]
    data: DataDir,
    /// Act at this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The kind of end-entity certificate to issue.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum IssueKind {
    /// 署名用電子証明書: the 4 facts, digitalSignature + nonRepudiation.
    Signature,
    /// 利用者証明用電子証明書: no personal data, digitalSignature.
    Auth,
    /// Smartphone signature certificate.
    SmartphoneSignature,
    /// Smartphone user-authentication certificate.
    SmartphoneAuth,
}

impl IssueKind {
    fn cert_kind(self) -> CertKind {
        match self {
            IssueKind::Signature => CertKind::Signature,
            IssueKind::Auth => CertKind::Auth,
            IssueKind::SmartphoneSignature => CertKind::SmartphoneSignature,
            IssueKind::SmartphoneAuth => CertKind::SmartphoneAuth,
        }
    }
}

#[derive(Args)]
pub(crate) struct IssueArgs {
    #[command(flatten)]
    data: DataDir,
    /// Certificate kind.
    #[arg(long, value_enum)]
    kind: IssueKind,
    /// The holder's public key (SubjectPublicKeyInfo, DER or PEM).
    #[arg(long, conflicts_with = "generate_key", required_unless_present = "generate_key")]
    public_key: Option<PathBuf>,
    /// Generate the holder's key here instead (PKCS#8, mode 0600) — for tests; on a card the
    /// key is generated inside the chip.
    #[arg(long)]
    generate_key: Option<PathBuf>,
    /// 氏名 (signature kinds).
    #[arg(long)]
    name: Option<String>,
    /// 性別: 1 male, 2 female, 3 unknown.
    #[arg(long, default_value = "3")]
    sex: String,
    /// 生年月日 as YYYY-MM-DD.
    #[arg(long)]
    birth: Option<String>,
    /// 住所 from the prefecture, no postal code.
    #[arg(long)]
    address: Option<String>,
    /// Romanised prefecture for the subject L (e.g. Tokyo-to).
    #[arg(long, default_value = "Tokyo-to")]
    prefecture: String,
    /// Romanised municipality for the subject L (e.g. Mihon-ku).
    #[arg(long, default_value = "Mihon-ku")]
    municipality: String,
    /// The card's expiry date (YYYY-MM-DD); caps the validity. Default: 10 years from issue.
    #[arg(long)]
    card_expiry: Option<String>,
    /// Issue time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Also write the certificate here (DER, or PEM when the name ends in .pem).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Init(Act { data, at, json }) => init(&data.data_dir, now_or(at.as_deref())?, json),
        Command::Issue(args) => issue_cmd(&args),
        Command::Revoke { data, serial, reason, at, json } => {
            let mut sb = Sandbox::open(&data.data_dir)?;
            let serial = Serial::from_hex(&serial).with_context(|| format!("{serial:?} is not a hex serial"))?;
            let reason = CrlReason::from_name(&reason)
                .with_context(|| format!("unknown reason {reason:?} (e.g. affiliationChanged, certificateHold)"))?;
            let at = now_or(at.as_deref())?;
            let rec = sb.revoke(&serial, reason, at)?.clone();
            if json {
                println!(
                    "{}",
                    json!({"serial": rec.serial, "reason": reason.name(), "meaning": reason.meaning().as_str(), "revoked_at": fmt_time(at)})
                );
            } else {
                println!(
                    "revoked {} ({} certificate) at {}: {} — {}",
                    rec.serial,
                    rec.kind,
                    fmt_time(at),
                    reason,
                    reason.meaning().as_str()
                );
                println!("it appears in the next CRL: hanko ca crl --data-dir {}", data.data_dir.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Crl(Act { data, at, json }) => {
            let mut sb = Sandbox::open(&data.data_dir)?;
            let published = publish_crls(&mut sb, now_or(at.as_deref())?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&published)?);
            } else {
                for p in &published {
                    let s = |k: &str| p[k].as_str().map(str::to_owned).unwrap_or_else(|| p[k].to_string());
                    println!(
                        "{} CA {}: CRL #{} with {} entries → {}",
                        s("ca"),
                        s("generation"),
                        s("crl_number"),
                        s("entries"),
                        s("path")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List { data, json } => {
            let sb = Sandbox::open(&data.data_dir)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"generations": sb.register.generations, "issued": sb.register.issued})
                    )?
                );
            } else {
                for g in &sb.register.generations {
                    println!(
                        "CA {:<9} generation {:<6} serial {} valid to {}",
                        g.kind,
                        g.id,
                        g.serial,
                        fmt_time(from_ts(g.not_after)?)
                    );
                }
                for i in &sb.register.issued {
                    let state = match &i.revoked {
                        Some(r) => format!("REVOKED {} {}", fmt_time(from_ts(r.at)?), CrlReason(r.reason)),
                        None => "valid".into(),
                    };
                    println!("{:<22} {:<16} {:<40} {}", i.serial, i.kind, i.subject, state);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init(dir: &Path, now: OffsetDateTime, json: bool) -> Result<ExitCode> {
    let mut sb = Sandbox::open_or_empty(dir)?;
    let mut made = Vec::new();
    for kind in [CaKind::Signature, CaKind::Auth] {
        made.push(sb.create_generation(kind, now)?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&made)?);
    } else {
        for g in &made {
            println!(
                "created {} CA generation {} (serial {}, valid to {}) in {}",
                g.kind,
                g.id,
                g.serial,
                fmt_time(from_ts(g.not_after)?),
                dir.join("ca").join(&g.kind).join(&g.id).display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Issues one certificate of `kind` to `person` for `public_key` from the current generation.
pub(crate) fn issue(
    sb: &mut Sandbox,
    kind: CertKind,
    person: Option<&Person>,
    public_key: SubjectPublicKeyInfoOwned,
    at: OffsetDateTime,
    card_expiry: Date,
) -> Result<(IssuedRecord, Vec<u8>, PathBuf)> {
    let ca_kind = if kind.carries_facts() { CaKind::Signature } else { CaKind::Auth };
    let generation = sb.current(ca_kind, at)?.clone();
    let ca = sb.load(ca_kind, &generation.id)?;
    let serial = sb.fresh_serial();
    let (subject, facts, not_after) = if kind.carries_facts() {
        let p = person.context("a signature certificate needs the person's 4 facts (--name, --birth, --address)")?;
        let seq = u32::try_from(sb.register.issued.len() % 100_000)?;
        let subject = signature_subject(&p.prefecture, &p.municipality, &issuance_id(at, seq, "HANKOTEST"))?;
        (subject, Some(&p.facts), end_entity_not_after(at, p.facts.birth_date(), card_expiry))
    } else {
        let birth = person.map(|p| p.facts.birth_date()).unwrap_or(BirthDate::Unknown(*b"00000000"));
        (auth_subject(&opaque_auth_id(&mut rand_core::OsRng))?, None, end_entity_not_after(at, birth, card_expiry))
    };
    let (_, ca_not_after) = ca.validity();
    let not_after = not_after.min(ca_not_after);
    let der = ca.issue(&Profile::end_entity(kind), &serial, subject.clone(), public_key, facts, at, not_after)?;
    let rec = IssuedRecord {
        serial: serial.to_string(),
        kind: kind.as_str().into(),
        ca: ca_kind.as_str().into(),
        generation: generation.id.clone(),
        subject: subject.to_string(),
        not_after: sandbox::ts(not_after),
        revoked: None,
    };
    let path = sb.record_issued(rec.clone(), &der)?;
    Ok((rec, der, path))
}

fn parse_date(s: &str) -> Result<Date> {
    let fmt = hanko_pki::time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).with_context(|| format!("{s:?} is not a date like 1985-04-01"))
}

/// Default card expiry: ten years after issue (adult cards; the card-expiry rule is \[I\]).
pub(crate) fn default_card_expiry(at: OffsetDateTime) -> Date {
    let d = (at + hanko_pki::time::Duration::hours(9)).date();
    Date::from_calendar_date(d.year() + 10, d.month(), d.day().min(28)).unwrap_or(d)
}

fn issue_cmd(a: &IssueArgs) -> Result<ExitCode> {
    let mut sb = Sandbox::open(&a.data.data_dir)?;
    let at = now_or(a.at.as_deref())?;
    let kind = a.kind.cert_kind();
    let person = match (&a.name, &a.birth, &a.address) {
        (Some(name), Some(birth), Some(address)) => Some(Person {
            facts: BasicFacts::new(name, Sex::parse(&a.sex)?, BirthDate::Known(parse_date(birth)?), address)?,
            prefecture: a.prefecture.clone(),
            municipality: a.municipality.clone(),
            adult: true,
        }),
        (None, None, None) => None,
        _ => bail!("give all of --name, --birth and --address, or none"),
    };
    let public_key = match (&a.public_key, &a.generate_key) {
        (Some(path), _) => {
            let der = sandbox::read_der(path)?;
            SubjectPublicKeyInfoOwned::from_der(&der)
                .with_context(|| format!("{} is not a SubjectPublicKeyInfo", path.display()))?
        }
        (None, Some(path)) => {
            let key = SoftwareKey::generate_rsa2048()?;
            write_atomic(path, &key.to_pkcs8()?, 0o600)?;
            key.public_key().clone()
        }
        (None, None) => bail!("give --public-key or --generate-key"),
    };
    let card_expiry = match &a.card_expiry {
        Some(s) => parse_date(s)?,
        None => default_card_expiry(at),
    };
    let (rec, der, path) = issue(&mut sb, kind, person.as_ref(), public_key, at, card_expiry)?;
    if let Some(out) = &a.out {
        let bytes = if out.extension().is_some_and(|e| e == "pem") {
            sandbox::pem("CERTIFICATE", &der)?.into_bytes()
        } else {
            der.clone()
        };
        write_atomic(out, &bytes, 0o644)?;
    }
    if a.json {
        println!(
            "{}",
            json!({"serial": rec.serial, "kind": rec.kind, "subject": rec.subject, "not_after": fmt_time(from_ts(rec.not_after)?), "path": path})
        );
    } else {
        println!(
            "issued {} certificate {} to {} (valid to {}) → {}",
            rec.kind,
            rec.serial,
            rec.subject,
            fmt_time(from_ts(rec.not_after)?),
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Publishes a full CRL for every generation; returns one JSON summary per CRL.
pub(crate) fn publish_crls(sb: &mut Sandbox, now: OffsetDateTime) -> Result<Vec<serde_json::Value>> {
    let (this_update, next_update) = hanko_pki::crl::daily_window(now);
    let mut out = Vec::new();
    for g in sb.register.generations.clone() {
        let kind = parse_ca_kind(&g.kind)?;
        let ca = sb.load(kind, &g.id)?;
        let entries: Vec<CrlEntry> = sb
            .register
            .issued
            .iter()
            .filter(|i| i.ca == g.kind && i.generation == g.id)
            .filter_map(|i| {
                let r = i.revoked.as_ref()?;
                Some((i, r))
            })
            .map(|(i, r)| {
                Ok(CrlEntry {
                    serial: Serial::from_hex(&i.serial).context("corrupt serial in register")?,
                    revoked_at: from_ts(r.at)?,
                    reason: CrlReason(r.reason),
                })
            })
            .collect::<Result<_>>()?;
        let count = entries.len();
        let number = sb.next_crl_number(kind, &g.id)?;
        let der = CrlBuilder::new(number, this_update, next_update).with_entries(entries).sign(&ca)?;
        let path = sb.dir.join("crl").join(format!("{}-{}.crl", g.kind, g.id));
        write_atomic(&path, &der, 0o644)?;
        write_atomic(&path.with_extension("crl.pem"), sandbox::pem("X509 CRL", &der)?.as_bytes(), 0o644)?;
        out.push(json!({"ca": g.kind, "generation": g.id, "crl_number": number, "entries": count,
            "this_update": fmt_time(this_update), "next_update": fmt_time(next_update), "path": path}));
    }
    Ok(out)
}
