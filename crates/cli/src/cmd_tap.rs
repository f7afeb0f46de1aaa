//! `hanko tap …` — PIN-less tap use (かざし利用) at managed terminals, and the 2015 offline
//! whitelist gate (hanko_sp::tap; docs/tap.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_card::{CardFaceChipKey, Client, Slot, Transport};
use hanko_cardlink::CardFile;
use hanko_pki::verify::TrustStore;
use hanko_pki::{CaKind, JpkiCertificate, PolicySet, RsaPublicKey};
use hanko_sp::tap::whitelist::{ConversionKey, Gate, GateDecision, Seller, Whitelist};
use hanko_sp::tap::{
    AssuranceLevel, AuthorityOcsp, Environment, Policy, Registration, RegistrationPins, ServiceId, TapError,
    TapService, TapStore, TerminalId,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::files::{read_der, write_atomic};
use crate::{secrets, DataDir, Failure};

const LEGAL: &str = "\
PIN-less tap use (かざし利用, My Number Act as amended in 2023; shared/spec/50-scenarios.md §3):
  * only face to face (対面), inside a managed and monitored facility, or on a managed device
    lent to the holder — never online, never outdoors;
  * only for services whose risk assessment gives assurance level 1 (保証レベル１);
  * first visit (registration): the auth PIN, a user-authentication signature over a fresh
    challenge, the auth certificate and its validity check at the authority; the birth date
    from the input-assist AP with its PIN ($HANKO_PIN) — kept only as the 6-digit birth-date key;
  * later visits: no PIN — the auth certificate read freely, its validity checked at the
    authority (OCSP), and the card's chip proven by the card-face AP's internal authentication
    opened by the stored birth date (what the official かざし利用ソフト does).
Terminals and services live in <data-dir>/tap/policy.json (`hanko tap terminal add`,
`hanko tap service add`); the guard refuses anything else with a precise reason.
The 2015 offline variant (`hanko tap whitelist …`, `hanko tap gate`) is a demonstration of
seed 004: a list of ticket numbers and keyed one-way conversion values of serials, checked at a
gate with no network.";

#[derive(Subcommand)]
#[command(after_help = LEGAL)]
pub(crate) enum Command {
    /// Register a managed terminal with where it is used.
    #[command(after_help = LEGAL)]
    Terminal {
        #[command(subcommand)]
        action: TerminalAction,
    },
    /// Register a service with its assurance level (tap use only at level 1).
    #[command(after_help = LEGAL)]
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// First visit: register a card for a service, with the PIN from $HANKO_PIN (auth PIN and
    /// input-assist PIN), a user-authentication signature and the validity check at the authority.
    #[command(after_help = LEGAL)]
    Register(FlowArgs),
    /// A later visit, with no PIN: certificate, validity check, chip check.
    #[command(after_help = LEGAL)]
    Visit(FlowArgs),
    /// Remove a card's registration (the holder withdraws, with the card: its chip must prove it is
    /// the registered one; no PIN).
    #[command(after_help = LEGAL)]
    Unregister(FlowArgs),
    /// The 2015 offline variant, ticket seller side: the conversion key and the whitelist.
    #[command(subcommand)]
    Whitelist(WhitelistCommand),
    /// The 2015 offline variant, venue side: check a card at the gate against the whitelist, with
    /// no network.
    Gate(GateArgs),
}

#[derive(Subcommand)]
pub(crate) enum TerminalAction {
    /// Add (or move) a terminal.
    Add {
        #[command(flatten)]
        data: DataDir,
        /// Its id (1–64 of A-Z a-z 0-9 . _ -).
        #[arg(long)]
        id: String,
        /// Where it is used.
        #[arg(long, value_enum)]
        environment: EnvArg,
    },
    /// Remove a terminal (e.g. a lost lent device).
    Remove {
        #[command(flatten)]
        data: DataDir,
        /// Its id.
        #[arg(long)]
        id: String,
    },
    /// List terminals and services.
    List {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
pub(crate) enum ServiceAction {
    /// Add (or re-assess) a service.
    Add {
        #[command(flatten)]
        data: DataDir,
        /// Its id.
        #[arg(long)]
        id: String,
        /// Its assurance level (1–3) from the risk assessment.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
        level: u8,
    },
}

/// Where a terminal is used.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EnvArg {
    /// 対面: a staffed counter.
    Counter,
    /// 管理され監視された施設: a terminal in a managed, monitored facility.
    MonitoredFacility,
    /// 貸し出され管理される端末: a managed device lent to the holder.
    LentDevice,
    /// Online (refused for tap use).
    Online,
    /// Outdoors (refused for tap use).
    Outdoors,
}

impl EnvArg {
    fn environment(self) -> Environment {
        match self {
            EnvArg::Counter => Environment::Counter,
            EnvArg::MonitoredFacility => Environment::MonitoredFacility,
            EnvArg::LentDevice => Environment::LentDevice,
            EnvArg::Online => Environment::Online,
            EnvArg::Outdoors => Environment::Outdoors,
        }
    }
}

/// Which card.
#[derive(Args)]
pub(crate) struct CardArg {
    /// An emulated card of the data directory, by id (`hanko card list`; with `hanko up`'s data
    /// directory, its residents' cards).
    #[arg(long, required_unless_present = "reader")]
    card: Option<String>,
    /// A card in a PC/SC reader whose name contains this text (needs `--features pcsc`).
    #[arg(long, conflicts_with = "card")]
    reader: Option<String>,
}

#[derive(Args)]
pub(crate) struct AuthorityArgs {
    /// The authority's base URL (its `/ocsp`), e.g. http://127.0.0.1:8440.
    #[arg(long)]
    authority: String,
    /// A file holding the service's verifier API key at the authority (`hanko authority
    /// add-verifier --role auth`); default: $HANKO_AUTHORITY_KEY.
    #[arg(long)]
    authority_key_file: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct FlowArgs {
    #[command(flatten)]
    data: DataDir,
    #[command(flatten)]
    card: CardArg,
    /// The terminal the card is tapped on.
    #[arg(long)]
    terminal: String,
    /// The service.
    #[arg(long)]
    service: String,
    #[command(flatten)]
    authority: AuthorityArgs,
    /// Check at this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum WhitelistCommand {
    /// Make a conversion key (the service's 「特定機関用秘密鍵」 stand-in; 64 hex digits, mode 0600).
    Key {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Export the whitelist of an event: ticket numbers and conversion values only.
    Export {
        #[command(flatten)]
        data: DataDir,
        /// The event.
        #[arg(long)]
        event: String,
        /// The conversion key file.
        #[arg(long)]
        key_file: PathBuf,
        /// A sale: TICKET=CARD (an emulated card of the data directory). Repeat.
        #[arg(long = "ticket", required = true)]
        tickets: Vec<String>,
        /// Where to write the list (JSON).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
pub(crate) struct GateArgs {
    #[command(flatten)]
    data: DataDir,
    #[command(flatten)]
    card: CardArg,
    /// The whitelist (JSON).
    #[arg(long)]
    whitelist: PathBuf,
    /// The conversion key file.
    #[arg(long)]
    key_file: PathBuf,
    /// The tickets already in (JSON; created; default `DATA_DIR/tap/gate-EVENT.json`).
    #[arg(long)]
    entered: Option<PathBuf>,
    /// Check at this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
}

/// The authority's data directory: `<dir>/authority` for `hanko up`'s, else `<dir>` itself.
fn authority_dir(data: &Path) -> PathBuf {
    if data.join("up.json").exists() {
        data.join("authority")
    } else {
        data.to_path_buf()
    }
}

fn tap_dir(data: &Path) -> Result<PathBuf> {
    let dir = data.join("tap");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn open_card(data: &Path, card: &CardArg) -> Result<Box<dyn Transport + Send>> {
    match (&card.card, &card.reader) {
        (Some(id), _) => Ok(Box::new(CardFile::open(&authority_dir(data), id)?)),
        (None, Some(name)) => reader(name),
        (None, None) => bail!("give --card ID or --reader NAME"),
    }
}

#[cfg(feature = "pcsc")]
fn reader(name: &str) -> Result<Box<dyn Transport + Send>> {
    Ok(Box::new(hanko_cardlink::PcscTransport::connect(Some(name))?))
}

#[cfg(not(feature = "pcsc"))]
fn reader(_name: &str) -> Result<Box<dyn Transport + Send>> {
    Err(crate::no_pcsc("--reader"))
}

/// The authority's user-authentication CA generations (public certificates under `ca/auth/`).
fn trust(data: &Path) -> Result<TrustStore> {
    let dir = authority_dir(data).join("ca").join("auth");
    let mut t = TrustStore::new(PolicySet::sandbox());
    for g in std::fs::read_dir(&dir)
        .with_context(|| format!("reading {} (the authority's CA certificates)", dir.display()))?
    {
        let path = g?.path().join("ca.der");
        t.add_anchor(&read_der(&path)?, CaKind::Auth).with_context(|| format!("trust anchor {}", path.display()))?;
    }
    Ok(t)
}

fn cv_root(data: &Path) -> Result<RsaPublicKey> {
    let path = authority_dir(data).join("cv").join("root.spki.der");
    Ok(RsaPublicKey::from_spki_der(&read_der(&path)?)?)
}

// ---- The policy file ----

#[derive(Default, Serialize, Deserialize)]
struct PolicyFile {
    terminals: BTreeMap<String, Environment>,
    services: BTreeMap<String, u8>,
}

fn policy_path(data: &Path) -> Result<PathBuf> {
    Ok(tap_dir(data)?.join("policy.json"))
}

fn load_policy_file(data: &Path) -> Result<PolicyFile> {
    let path = policy_path(data)?;
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PolicyFile::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn save_policy_file(data: &Path, p: &PolicyFile) -> Result<()> {
    write_atomic(&policy_path(data)?, serde_json::to_string_pretty(p)?.as_bytes(), 0o644)
}

fn policy(data: &Path) -> Result<Policy> {
    let file = load_policy_file(data)?;
    let mut p = Policy::new();
    for (id, env) in file.terminals {
        p.register_terminal(TerminalId::parse(&id)?, env);
    }
    for (id, level) in file.services {
        let level = AssuranceLevel::from_number(level).context("policy.json: a level is 1-3")?;
        p.register_service(ServiceId::parse(&id)?, level);
    }
    Ok(p)
}

// ---- The registration store: one JSON file, mode 0600 (it holds birth-date keys) ----

#[derive(Serialize, Deserialize)]
struct Row {
    service: String,
    certificate: String,
    serial: String,
    birth_date_key: String,
    chip_key: String,
    terminal: String,
    registered_at: String,
}

impl Drop for Row {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.birth_date_key);
    }
}

/// Registrations in `<data-dir>/tap/registrations.json` (0600): personal data (birth-date keys).
struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    fn rows(&self) -> Result<Vec<Row>, TapError> {
        match std::fs::read(&self.path) {
            Ok(b) => {
                let b = Zeroizing::new(b);
                serde_json::from_slice(&b).map_err(|e| TapError::Store(format!("{}: {e}", self.path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(TapError::Store(format!("{}: {e}", self.path.display()))),
        }
    }
    fn save(&self, rows: &[Row]) -> Result<(), TapError> {
        let text = Zeroizing::new(serde_json::to_vec_pretty(rows).map_err(|e| TapError::Store(e.to_string()))?);
        hanko_store::write_atomic(&self.path, &text, 0o600).map_err(|e| TapError::Store(e.to_string()))
    }
}

fn hex32(s: &str) -> Result<[u8; 32], TapError> {
    hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| TapError::Store("a fingerprint is not 32 bytes".into()))
}

impl TapStore for FileStore {
    fn put(&self, r: Registration) -> Result<(), TapError> {
        let _g = self.lock.lock().map_err(|_| TapError::Store("lock".into()))?;
        let fp = hex::encode(r.certificate_fingerprint());
        let mut rows = self.rows()?;
        rows.retain(|x| !(x.service == r.service().as_str() && x.certificate == fp));
        rows.push(Row {
            service: r.service().to_string(),
            certificate: fp,
            serial: r.serial().to_owned(),
            birth_date_key: r.birth_date_key().as_str().to_owned(),
            chip_key: hex::encode(r.chip_key().value()),
            terminal: r.terminal().to_string(),
            registered_at: r
                .registered_at()
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| TapError::Store(e.to_string()))?,
        });
        self.save(&rows)
    }
    fn get(&self, service: &ServiceId, certificate: &[u8; 32]) -> Result<Option<Registration>, TapError> {
        let fp = hex::encode(certificate);
        let rows = self.rows()?;
        let Some(x) = rows.iter().find(|x| x.service == service.as_str() && x.certificate == fp) else {
            return Ok(None);
        };
        let bad = |e: String| TapError::Store(e);
        Registration::restore(
            ServiceId::parse(&x.service).map_err(|e| bad(e.to_string()))?,
            hex32(&x.certificate)?,
            x.serial.clone(),
            Zeroizing::new(x.birth_date_key.clone()),
            hex::decode(&x.chip_key)
                .ok()
                .and_then(|v| CardFaceChipKey::from_value(&v).ok())
                .ok_or_else(|| bad("a stored chip key is not a 券面AP chip key (DF12)".into()))?,
            TerminalId::parse(&x.terminal).map_err(|e| bad(e.to_string()))?,
            time::OffsetDateTime::parse(&x.registered_at, &time::format_description::well_known::Rfc3339)
                .map_err(|e| bad(e.to_string()))?,
        )
        .map(Some)
    }
    fn remove(&self, service: &ServiceId, certificate: &[u8; 32]) -> Result<bool, TapError> {
        let _g = self.lock.lock().map_err(|_| TapError::Store("lock".into()))?;
        let fp = hex::encode(certificate);
        let mut rows = self.rows()?;
        let before = rows.len();
        rows.retain(|x| !(x.service == service.as_str() && x.certificate == fp));
        let removed = rows.len() != before;
        if removed {
            self.save(&rows)?;
        }
        Ok(removed)
    }
}

fn authority_key(a: &AuthorityArgs) -> Result<Zeroizing<String>> {
    let key = match &a.authority_key_file {
        Some(path) => Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?.trim().to_owned(),
        ),
        None => Zeroizing::new(std::env::var("HANKO_AUTHORITY_KEY").unwrap_or_default().trim().to_owned()),
    };
    if key.is_empty() {
        return Err(Failure::bad_input(
            "bad-input",
            "the validity check needs the service's verifier key at the authority: --authority-key-file FILE or \
             $HANKO_AUTHORITY_KEY (make one with `hanko authority add-verifier --role auth --name …`)",
        )
        .into());
    }
    Ok(key)
}

fn tap_failure(e: TapError) -> anyhow::Error {
    let status_bad = matches!(e, TapError::Config(_) | TapError::Store(_) | TapError::AuthorityUnavailable(_));
    let message = e.to_string();
    if status_bad {
        Failure::bad_input(e.code(), message).into()
    } else {
        Failure::refused(e.code(), message).into()
    }
}

fn emit(json: bool, value: &serde_json::Value) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else if let Some(map) = value.as_object() {
        for (k, v) in map {
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => println!("{k}: {s}"),
                other => println!("{k}: {other}"),
            }
        }
    }
    Ok(())
}

fn service_for(f: &FlowArgs) -> Result<TapService<FileStore>> {
    let data = &f.data.data_dir;
    let ocsp = AuthorityOcsp::new(&f.authority.authority, authority_key(&f.authority)?).map_err(tap_failure)?;
    let store = FileStore { path: tap_dir(data)?.join("registrations.json"), lock: Mutex::new(()) };
    Ok(TapService::new(policy(data)?, trust(data)?, cv_root(data)?, ocsp, store))
}

fn flow(f: FlowArgs, kind: &str, json: bool) -> Result<ExitCode> {
    let terminal = TerminalId::parse(&f.terminal)?;
    let service = ServiceId::parse(&f.service)?;
    let at = crate::now_or(f.at.as_deref())?;
    // The PIN is read (and its format checked) before anything reaches the card.
    let pin = if kind == "register" { Some(secrets::PIN.get()?) } else { None };
    let tap = service_for(&f)?;
    let mut card = open_card(&f.data.data_dir, &f.card)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let out = match kind {
        "register" => {
            let pin = pin.context("the PIN")?;
            let pins = RegistrationPins { auth_pin: pin.as_bytes(), input_assist_pin: pin.as_bytes() };
            let r = runtime.block_on(tap.register(&terminal, &service, &mut *card, pins, at)).map_err(tap_failure)?;
            json!({
                "result": "registered",
                "service": r.registration.service().as_str(),
                "terminal": r.registration.terminal().as_str(),
                "auth_certificate": r.registration.serial(),
                "validity": validity(&r.revocation),
                "kept": "certificate fingerprint, serial, 券面AP chip key (public), birth-date key (era YYMMDD)",
            })
        }
        "visit" => {
            let v = runtime.block_on(tap.visit(&terminal, &service, &mut *card, at)).map_err(tap_failure)?;
            json!({
                "result": "ok",
                "service": v.permit.service().as_str(),
                "terminal": v.permit.terminal().as_str(),
                "environment": v.permit.environment().as_str(),
                "auth_certificate": v.registration.serial(),
                "validity": validity(&v.revocation),
                "chip": "genuine, the registered card (券面AP internal authentication)",
                "pin": "none",
            })
        }
        _ => {
            let removed = runtime.block_on(tap.unregister(&terminal, &service, &mut *card)).map_err(tap_failure)?;
            json!({"result": if removed { "removed" } else { "not-registered" }, "service": service.as_str()})
        }
    };
    emit(json, &out)?;
    Ok(ExitCode::SUCCESS)
}

/// How the validity check was made, for people and JSON.
fn validity(e: &hanko_pki::verify::RevocationEvidence) -> serde_json::Value {
    use hanko_pki::verify::RevocationEvidence as R;
    let t = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    match e {
        R::Ocsp { this_update } => json!({"method": "ocsp", "status": "good", "this_update": t(*this_update)}),
        R::Crl { crl_number, this_update } => {
            json!({"method": "crl", "status": "good", "crl_number": crl_number, "this_update": t(*this_update)})
        }
        _ => json!({"method": "none"}),
    }
}

fn read_key(path: &Path) -> Result<ConversionKey> {
    let text = Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?);
    ConversionKey::from_hex(&text).map_err(|e| Failure::bad_input("bad-input", e.to_string()).into())
}

pub(crate) fn run(cmd: Command, json: bool) -> Result<ExitCode> {
    match cmd {
        Command::Terminal { action: TerminalAction::Add { data, id, environment } } => {
            TerminalId::parse(&id)?;
            let mut p = load_policy_file(&data.data_dir)?;
            p.terminals.insert(id.clone(), environment.environment());
            save_policy_file(&data.data_dir, &p)?;
            emit(json, &json!({"terminal": id, "environment": environment.environment().as_str()}))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Terminal { action: TerminalAction::Remove { data, id } } => {
            let mut p = load_policy_file(&data.data_dir)?;
            let removed = p.terminals.remove(&id).is_some();
            save_policy_file(&data.data_dir, &p)?;
            emit(json, &json!({"terminal": id, "removed": removed}))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Terminal { action: TerminalAction::List { data } } => {
            let p = load_policy_file(&data.data_dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                for (id, env) in &p.terminals {
                    println!("terminal {id}  {}", env.as_str());
                }
                for (id, level) in &p.services {
                    println!("service  {id}  level {level}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Service { action: ServiceAction::Add { data, id, level } } => {
            ServiceId::parse(&id)?;
            let mut p = load_policy_file(&data.data_dir)?;
            p.services.insert(id.clone(), level);
            save_policy_file(&data.data_dir, &p)?;
            emit(
                json,
                &json!({"service": id, "level": level, "tap_use": if level == 1 { "allowed" } else { "refused (level 1 only)" }}),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Register(f) => flow(f, "register", json),
        Command::Visit(f) => flow(f, "visit", json),
        Command::Unregister(f) => flow(f, "unregister", json),
        Command::Whitelist(WhitelistCommand::Key { out }) => {
            let key = ConversionKey::generate()?;
            write_atomic(&out, key.to_hex().as_bytes(), 0o600)?;
            emit(json, &json!({"key": out.display().to_string(), "key_check": key.check_value()}))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Whitelist(WhitelistCommand::Export { data, event, key_file, tickets, out }) => {
            let key = read_key(&key_file)?;
            let trust = trust(&data.data_dir)?;
            let now = crate::now_or(None)?;
            let mut seller = Seller::new(&event);
            for t in &tickets {
                let (ticket, card) = t.split_once('=').context("--ticket takes TICKET=CARD")?;
                let mut file = CardFile::open(&authority_dir(&data.data_dir), card)?;
                let der = Client::new(&mut file).read_certificate(Slot::Auth).map_err(crate::cmd_card::explain)?;
                // The seller checks the certificate at sale (chain and period here; revocation is
                // the authority's OCSP, `hanko tap register`'s check, when it sells online).
                hanko_pki::verify::Verifier::new(&trust)
                    .verify_certificate(
                        &der,
                        hanko_pki::verify::Usage::Authentication,
                        now,
                        hanko_pki::verify::RevocationCheck::Skip,
                    )
                    .map_err(|e| Failure::refused("certificate", format!("card {card}: {e}")))?;
                seller
                    .add(&key, ticket, &JpkiCertificate::from_der(&der)?)
                    .map_err(|e| Failure::bad_input("bad-input", e.to_string()))?;
            }
            let list = seller.export(&key);
            write_atomic(&out, serde_json::to_string_pretty(&list)?.as_bytes(), 0o644)?;
            emit(
                json,
                &json!({"whitelist": out.display().to_string(), "event": event, "entries": list.entries.len(), "key_check": list.key_check}),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Gate(g) => gate(g, json),
    }
}

fn gate(g: GateArgs, json: bool) -> Result<ExitCode> {
    let data = &g.data.data_dir;
    let list: Whitelist = serde_json::from_slice(
        &std::fs::read(&g.whitelist).with_context(|| format!("reading {}", g.whitelist.display()))?,
    )
    .map_err(|e| Failure::bad_input("bad-input", format!("{}: {e}", g.whitelist.display())))?;
    let mut gate =
        Gate::new(read_key(&g.key_file)?, &list).map_err(|e| Failure::bad_input("bad-input", e.to_string()))?;
    let entered_path = match &g.entered {
        Some(p) => p.clone(),
        None => tap_dir(data)?.join(format!("gate-{}.json", sanitize(gate.event()))),
    };
    let entered: Vec<String> = match std::fs::read(&entered_path) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("reading {}", entered_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", entered_path.display())),
    };
    gate.restore_entered(entered.iter().map(String::as_str));
    let trust = trust(data)?;
    let at = crate::now_or(g.at.as_deref())?;
    let mut card = open_card(data, &g.card)?;
    let cert = Client::new(&mut *card).read_certificate(Slot::Auth).map_err(crate::cmd_card::explain)?;
    let started = std::time::Instant::now();
    let decision = gate.admit(&trust, &cert, at).map_err(|e| Failure::refused("certificate", format!("gate: {e}")))?;
    let elapsed = started.elapsed();
    let all: Vec<&str> = gate.entered().collect();
    write_atomic(&entered_path, serde_json::to_string(&all)?.as_bytes(), 0o644)?;
    let (result, ticket) = match &decision {
        GateDecision::Admit { ticket } => ("admit", Some(ticket.clone())),
        GateDecision::AlreadyEntered { ticket } => ("already-entered", Some(ticket.clone())),
        GateDecision::NotListed => ("not-listed", None),
        _ => ("refused", None),
    };
    emit(
        json,
        &json!({"result": result, "ticket": ticket, "event": gate.event(), "network": "none", "check_ms": elapsed.as_secs_f64() * 1e3}),
    )?;
    Ok(match decision {
        GateDecision::Admit { .. } => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// A file-name-safe form of an event name.
fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(64).collect()
}
