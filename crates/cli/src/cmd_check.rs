//! `hanko check …` — the counter check of the four IC photo IDs (shared/spec/50-scenarios.md §4,
//! 40-id-documents.md §4): read the chip with the access code the holder gives, verify the
//! issuer's signature and the chip, show every field marked signed or not, and print the record
//! the law asks for — the time and which document; for a My Number Card also the 8 digits of
//! 照合番号B without the birth date. Never the My Number; nothing else is kept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use hanko_card::Transport;
use hanko_documents::{AccessCode, CheckError, DocumentKind, Progress, Report, Trust};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cmd_document::{check_name, trust_anchors};
use crate::{fmt_time, now_or, DataDir, Failure};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Read and verify one document at the counter, from a PC/SC reader or an emulated document
    /// of the data directory: the issuer's signature (My Number Card: the card face under the CV
    /// root; licence: the police key by SKI; residence card: the immigration certificate;
    /// passport: passive authentication under the CSCA) and the chip (where the document can
    /// prove it). Prints each field marked signed / not signed, the checks, and the record line.
    ///
    /// The access code never comes from the command line: $HANKO_NUMBER_B (My Number Card,
    /// 14 digits), $HANKO_LICENCE_PIN1 and $HANKO_LICENCE_PIN2 (4 digits, or **** when the holder
    /// set none), $HANKO_CARD_NUMBER (residence card, 12 characters), $HANKO_MRZ (passport: the
    /// 24-character MRZ information, document number + check digit + birth YYMMDD + check digit +
    /// expiry YYMMDD + check digit) or $HANKO_CAN (6 digits, PACE); typed at a hidden prompt when
    /// unset on a terminal. Nothing is stored: the record is printed, for the business to keep.
    ///
    /// Exit status: 0 verified; 3 read but NOT verified (the document carries no issuer
    /// signature, e.g. a residence card of a holder under 16); 1 the check said no (a wrong
    /// code, a signature that fails …); 2 bad input or a reader error.
    Read(ReadArgs),
    /// Serve the counter check web page (hanko-counter): pick the document, enter its access
    /// code, choose a reader or an emulated document of the data directory, see the verified
    /// facts and the photo side by side.
    Serve(ServeArgs),
}

/// The four documents.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DocumentArg {
    /// マイナンバーカード (照合番号B).
    MyNumberCard,
    /// 運転免許証 (PIN1 and PIN2).
    DriverLicence,
    /// 在留カード・特別永住者証明書 (card number).
    ResidenceCard,
    /// 旅券 (MRZ or CAN).
    Passport,
}

impl DocumentArg {
    fn kind(self) -> DocumentKind {
        match self {
            DocumentArg::MyNumberCard => DocumentKind::MyNumberCard,
            DocumentArg::DriverLicence => DocumentKind::DriverLicence,
            DocumentArg::ResidenceCard => DocumentKind::ResidenceCard,
            DocumentArg::Passport => DocumentKind::Passport,
        }
    }
}

#[derive(Args)]
pub(crate) struct ReadArgs {
    #[command(flatten)]
    data: DataDir,
    /// Which document the holder shows.
    #[arg(long, value_enum)]
    document: DocumentArg,
    /// A document in the PC/SC reader whose name contains this text. Needs a running pcscd and a
    /// hanko built with `--features pcsc`.
    #[arg(long, required_unless_present = "emulated")]
    reader: Option<String>,
    /// An emulated document (or My Number Card) of the data directory, by id, in process.
    #[arg(long, conflicts_with = "reader")]
    emulated: Option<String>,
    /// Write the photo as read from the chip (JPEG 2000 or JPEG) here.
    #[arg(long)]
    photo_out: Option<PathBuf>,
    /// Check as of this time (RFC 3339) instead of now (expiry, certificate validity).
    #[arg(long)]
    at: Option<String>,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    data: DataDir,
    /// Address to listen on (loopback: put a TLS proxy in front for another machine).
    #[arg(long, default_value = "127.0.0.1:8790")]
    listen: String,
    /// What each check's record keeps: `minimal` (the law's minimum: the time and which
    /// document; for a My Number Card the 8 digits of 照合番号B without the birth date) or `aml`
    /// (also name, birth date, address and the document number, for businesses the AML Act
    /// obliges to keep them). Never the My Number.
    #[arg(long, default_value = "minimal")]
    record: String,
    /// Records database: `postgres://…`; default `sqlite:DATA_DIR/counter.sqlite`.
    #[arg(long, env = "HANKO_COUNTER_DATABASE")]
    database: Option<String>,
    #[command(flatten)]
    ops: crate::ops::ServeOps,
}

// ---- access codes ---------------------------------------------------------------------------

/// One access code from an environment variable (or a hidden prompt), checked before any APDU.
struct CodeVar {
    var: &'static str,
    what: &'static str,
    rule: &'static str,
    accepts: fn(&str) -> bool,
}

const PIN1: CodeVar = CodeVar {
    var: "HANKO_LICENCE_PIN1",
    what: "the licence's PIN 1 (暗証番号1)",
    rule: "4 digits, or **** when the holder set none",
    accepts: licence_pin,
};
const PIN2: CodeVar = CodeVar { var: "HANKO_LICENCE_PIN2", what: "the licence's PIN 2 (暗証番号2)", ..PIN1 };
const CARD_NUMBER: CodeVar = CodeVar {
    var: "HANKO_CARD_NUMBER",
    what: "the residence card number (在留カード番号)",
    rule: "2 letters, 8 digits, 2 letters, e.g. AA12345678BB",
    accepts: card_number,
};
const MRZ: CodeVar = CodeVar {
    var: "HANKO_MRZ",
    what: "the passport's MRZ information",
    rule: "24 characters: document number (9, <-padded) + check digit + birth YYMMDD + check digit + expiry \
           YYMMDD + check digit, e.g. L898902C<369080619406236",
    accepts: |s| parse_mrz(s).is_some(),
};
const CAN: CodeVar =
    CodeVar { var: "HANKO_CAN", what: "the passport's card access number", rule: "6 digits", accepts: can };

fn licence_pin(s: &str) -> bool {
    s == "****" || (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
}

fn card_number(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..10].iter().all(u8::is_ascii_digit)
        && b[10..].iter().all(u8::is_ascii_uppercase)
}

fn can(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_digit(s: &str) -> Option<u8> {
    hanko_documents::passport::lds::check_digit(s).map(|c| c as u8)
}

/// (document number without filler, birth, expiry) of a 24-character MRZ information whose check
/// digits are right.
fn parse_mrz(s: &str) -> Option<(String, String, String)> {
    let (doc, rest) = (s.get(..10)?, s.get(10..)?);
    let (birth, expiry) = (rest.get(..7)?, rest.get(7..)?);
    let ok = |f: &str, n: usize| {
        f.len() == n + 1
            && check_digit(&f[..n]) == Some(f.as_bytes()[n])
            && (n == 9 || f[..n].bytes().all(|b| b.is_ascii_digit()))
    };
    if s.len() != 24 || !ok(doc, 9) || !ok(birth, 6) || !ok(expiry, 6) {
        return None;
    }
    Some((doc[..9].trim_end_matches('<').to_owned(), birth[..6].to_owned(), expiry[..6].to_owned()))
}

impl CodeVar {
    fn is_set(&self) -> bool {
        std::env::var_os(self.var).is_some()
    }

    fn get(&self) -> Result<Zeroizing<String>> {
        use std::io::IsTerminal as _;
        let value = match std::env::var(self.var) {
            Ok(v) => Zeroizing::new(v),
            Err(_) if std::io::stdin().is_terminal() => {
                crate::secrets::prompt(&format!("{} ({})", self.what, self.rule))?
            }
            Err(_) => Zeroizing::new(String::new()),
        };
        if value.is_empty() {
            return Err(Failure::bad_input(
                "missing-secret",
                format!(
                    "set ${} to {} ({}); access codes are never taken from the command line",
                    self.var, self.what, self.rule
                ),
            )
            .into());
        }
        if !(self.accepts)(&value) {
            return Err(Failure::bad_input(
                "malformed-secret",
                format!(
                    "${} is not {}: it must be {} (nothing was sent to the document)",
                    self.var, self.what, self.rule
                ),
            )
            .into());
        }
        Ok(value)
    }
}

/// The access code `kind` needs, from the environment or a hidden prompt.
fn access_code(kind: DocumentKind) -> Result<AccessCode> {
    Ok(match kind {
        DocumentKind::MyNumberCard => AccessCode::NumberB(crate::secrets::NUMBER_B.resolve(None)?),
        DocumentKind::DriverLicence => AccessCode::LicencePins { pin1: PIN1.get()?, pin2: PIN2.get()? },
        DocumentKind::ResidenceCard => AccessCode::CardNumber(CARD_NUMBER.get()?),
        DocumentKind::Passport if CAN.is_set() => AccessCode::Can(CAN.get()?),
        DocumentKind::Passport => {
            let mrz = MRZ.get()?;
            let (document_number, birth, expiry) = parse_mrz(&mrz).unwrap_or_default();
            AccessCode::Mrz { document_number, birth, expiry }
        }
    })
}

// ---- sources --------------------------------------------------------------------------------

/// An emulated My Number Card (`cards/<id>.card`) or document (`documents/<id>.document`) of the
/// data directory, opened for use.
pub(crate) fn open_emulated(data: &Path, id: &str) -> Result<Box<dyn Transport + Send>> {
    if hanko_cardlink::cards_dir(data).join(format!("{id}.card")).exists() {
        return Ok(Box::new(hanko_cardlink::CardFile::open(data, id)?));
    }
    match hanko_cardlink::DocumentFile::open(data, id) {
        Ok(f) => Ok(Box::new(f)),
        Err(hanko_cardlink::CardFileError::NotFound { .. }) => Err(Failure::bad_input(
            "not-found",
            format!("no card or document {id} in {} (see `hanko card list`, `hanko document list`)", data.display()),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

// ---- the check ------------------------------------------------------------------------------

/// How a failed check ends the command: a wrong or blocked code and a failed verification are
/// checks that said no (exit status 1); a vanished reader is an error (2).
fn explain(e: CheckError) -> anyhow::Error {
    let message = e.to_string();
    match e {
        CheckError::WrongAccessCode { .. } => Failure::refused("wrong-access-code", message).into(),
        CheckError::Blocked(_) => Failure::refused("blocked", message).into(),
        CheckError::WrongKindOfCode(_) => Failure::bad_input("bad-input", message).into(),
        CheckError::Transport(_) => Failure::bad_input("card", message).into(),
        _ => Failure::refused("not-verified", message).into(),
    }
}

/// Time spent per step of the read, for `--json` and scripts/bench-documents.sh.
struct Timing {
    start: Instant,
    last: Instant,
    steps: Vec<(String, f64)>,
    current: Option<String>,
}

impl Timing {
    fn new() -> Timing {
        let now = Instant::now();
        Timing { start: now, last: now, steps: Vec::new(), current: None }
    }

    /// Closes the current step (its time) when `step` is another one.
    fn at(&mut self, step: Option<&str>) {
        if self.current.as_deref() == step {
            return;
        }
        let now = Instant::now();
        if let Some(prev) = self.current.take() {
            self.steps.push((prev, now.duration_since(self.last).as_secs_f64() * 1e3));
        }
        self.last = now;
        self.current = step.map(str::to_owned);
    }

    fn total_ms(&self) -> f64 {
        self.last.duration_since(self.start).as_secs_f64() * 1e3
    }
}

fn trust_json(t: &Trust) -> serde_json::Value {
    match t {
        Trust::Signed => json!({"signed": true}),
        Trust::Unsigned { why } => json!({"signed": false, "why": why}),
    }
}

fn trust_text(t: &Trust) -> String {
    match t {
        Trust::Signed => "signed".into(),
        Trust::Unsigned { why } => format!("NOT signed: {why}"),
    }
}

/// The record the law asks for (確認記録): the time and which document; for a My Number Card
/// also the 8 digits of 照合番号B without the birth date. Never the My Number.
fn record(
    kind: DocumentKind,
    code: &AccessCode,
    at: hanko_pki::time::OffsetDateTime,
    verified: bool,
) -> Result<serde_json::Value> {
    let mut r = json!({"time": fmt_time(at), "document": kind.as_str(), "verified": verified});
    if kind == DocumentKind::MyNumberCard {
        r["number_b_without_birth_date"] = json!(hanko_documents::mynumber::record_digits(code).map_err(explain)?);
    }
    Ok(r)
}

fn read(a: &ReadArgs, json: bool) -> Result<ExitCode> {
    let kind = a.document.kind();
    let now = now_or(a.at.as_deref())?;
    let trust = trust_anchors(&a.data.data_dir)?;
    let code = access_code(kind)?;
    let mut timing = Timing::new();
    timing.at(Some("connect"));
    let mut transport: Box<dyn Transport> = match (&a.emulated, &a.reader) {
        (Some(id), _) => open_emulated(&a.data.data_dir, id)?,
        (None, Some(name)) => crate::cmd_card::reader_transport(name)?,
        (None, None) => return Err(Failure::bad_input("usage", "give --reader NAME or --emulated ID").into()),
    };
    let bar = if !json && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(1)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg:40} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = hanko_documents::check(kind, &mut *transport, &code, &trust, now, &mut |p: Progress<'_>| {
        timing.at(Some(p.step));
        bar.set_message(p.step.to_owned());
        bar.set_length(p.total.unwrap_or(p.done.max(1)) as u64);
        bar.set_position(p.done as u64);
    });
    timing.at(None);
    bar.finish_and_clear();
    drop(transport);
    let report = result.map_err(explain)?;
    if let (Some(path), Some(photo)) = (&a.photo_out, &report.photo) {
        crate::files::write_atomic(path, &photo.bytes, 0o600)?;
    }
    let record = record(kind, &code, now, report.verified())?;
    print_report(&report, &record, &timing, a, json)?;
    // A document with nothing signed was read, not verified: a script's `&&` must not take it
    // as a passed check.
    Ok(if report.verified() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

fn print_report(report: &Report, record: &serde_json::Value, timing: &Timing, a: &ReadArgs, json: bool) -> Result<()> {
    if json {
        let fields: Vec<_> = report
            .fields
            .iter()
            .map(|f| {
                let mut v = json!({"key": f.key, "label": f.label, "value": f.value});
                v["trust"] = trust_json(&f.trust);
                v
            })
            .collect();
        let photo = report.photo.as_ref().map(|p| {
            json!({"format": p.format, "bytes": p.bytes.len(), "trust": trust_json(&p.trust),
                   "path": a.photo_out.as_ref().map(|p| p.display().to_string())})
        });
        let steps: Vec<_> = timing.steps.iter().map(|(s, ms)| json!({"step": s, "ms": ms})).collect();
        let out = json!({
            "document": report.kind.as_str(),
            "verified": report.verified(),
            "fields": fields,
            "photo": photo,
            "issuer": report.issuer,
            "chip": report.chip,
            "record": record,
            "timing": {"total_ms": timing.total_ms(), "steps": steps},
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if report.verified() {
        println!("{} — verified", report.kind.label_ja());
    } else {
        println!(
            "{} — read, NOT verified: nothing on it is signed by the issuer (読み取りましたが、署名による検証はできていません)",
            report.kind.label_ja()
        );
    }
    for f in &report.fields {
        println!("  {} ({}): {}   [{}]", f.label, f.key, f.value, trust_text(&f.trust));
    }
    match &report.photo {
        Some(p) => println!(
            "  写真 (photo): {:?}, {} bytes{}   [{}]",
            p.format,
            p.bytes.len(),
            a.photo_out.as_ref().map(|p| format!(" → {}", p.display())).unwrap_or_default(),
            trust_text(&p.trust)
        ),
        None => println!("  写真 (photo): none on this document"),
    }
    println!("issuer: {} — {}", report.issuer.method, report.issuer.signer);
    match &report.chip {
        hanko_documents::ChipCheck::Proven { method } => println!("chip: proven — {method}"),
        hanko_documents::ChipCheck::NotProven { why } => println!("chip: NOT proven — {why}"),
    }
    let mut line = format!(
        "record (確認記録): {} {}",
        record["time"].as_str().unwrap_or_default(),
        record["document"].as_str().unwrap_or_default()
    );
    if let Some(d) = record["number_b_without_birth_date"].as_str() {
        line.push_str(&format!(" 照合番号B-without-birth-date={d}"));
    }
    println!("{line}");
    println!("({} ms, {} via {})", timing.total_ms().round(), check_name(report.kind), source_name(a));
    Ok(())
}

fn source_name(a: &ReadArgs) -> String {
    match (&a.emulated, &a.reader) {
        (Some(id), _) => format!("emulated {id}"),
        (None, Some(r)) => format!("reader {r:?}"),
        _ => String::new(),
    }
}

pub(crate) fn run(cmd: Command, json: bool) -> Result<ExitCode> {
    match cmd {
        Command::Read(a) => read(&a, json),
        Command::Serve(a) => crate::check_web::serve(&a.data.data_dir, &a.listen, &a.record, a.database, &a.ops),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrz_information_and_check_digits() {
        // ICAO 9303-11 App. D.
        assert_eq!(parse_mrz("L898902C<369080619406236"), Some(("L898902C".into(), "690806".into(), "940623".into())));
        assert_eq!(parse_mrz("L898902C<369080619406237"), None);
        assert_eq!(parse_mrz("L898902C<36908061940623"), None);
        assert!(card_number("AA12345678BB") && !card_number("AA1234567BBB"));
        assert!(licence_pin("****") && licence_pin("0123") && !licence_pin("12345"));
    }
}
