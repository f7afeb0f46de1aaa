//! `hanko authority …` — the authority service (the J-LIS role) and its admin commands. The
//! commands call the same library functions as the HTTP API, on the same database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_authority::{
    Authority, CardPins, Clock, Config, EmigrationPolicy, LifeEvent, ManualClock, NewPerson, RegisterStore, Role,
    SqlStore, SystemClock,
};
use hanko_pki::{BasicFacts, BirthDate, Serial};
use hanko_store::Db;
use serde_json::json;

use crate::{now_or, DataDir, Failure};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create the authority: its database, the first generation of both CAs (with their OCSP
    /// responders), a counter API key in DATA_DIR/counter.key and an operator API key (CA and
    /// key administration, /v1/admin/*) in DATA_DIR/operator.key (both mode 0600). Idempotent.
    Init(Common),
    /// Run the HTTP API (counter, CRL, OCSP, serial services, consents, smartphone
    /// certificates, metering; OpenAPI at /openapi.json) until Ctrl-C.
    ///
    /// GET /healthz: the database and the CRLs' publication. GET /metrics: Prometheus metrics
    /// (requests, latencies, certificates issued and revoked, CRL publications, OCSP responses),
    /// with an operator key unless --public-metrics. See docs/authority.md, "Metrics and health".
    Serve(ServeArgs),
    /// Register a synthetic resident with the 4 facts.
    AddPerson(PersonArgs),
    /// Show a resident and their cards.
    ShowPerson {
        #[command(flatten)]
        common: Common,
        /// Person id (P…).
        id: String,
    },
    /// Issue a My Number Card to a resident: keys generated in the chip, certified, the card
    /// image written under DATA_DIR/cards. PIN from $HANKO_PIN, signature password from
    /// $HANKO_PASSWORD (not needed for minors and adult wards).
    IssueCard {
        #[command(flatten)]
        common: Common,
        /// Person id (P…).
        person: String,
    },
    /// Show a card and its certificates (status, revocation, linkage).
    ShowCard {
        #[command(flatten)]
        common: Common,
        /// Card id.
        id: String,
    },
    /// Print a certificate the authority issued (PEM), or write it to --out (DER, or PEM when
    /// the name ends in .pem).
    Cert {
        #[command(flatten)]
        common: Common,
        /// Serial in hex.
        serial: String,
        /// Write it here instead of printing.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Record a life event: facts-changed (a move, a name/sex/birth-date change), death,
    /// emigration, card-lost, card-returned — and apply its certificate consequences.
    Event(EventArgs),
    /// Reset (unblock) a PIN at the counter; the new value from $HANKO_NEW_PIN (auth, 4 digits)
    /// or $HANKO_NEW_PASSWORD (signature, 6–16 of A-Z0-9).
    PinReset {
        #[command(flatten)]
        common: Common,
        /// Card id.
        card: String,
        /// Which PIN.
        #[arg(long, value_enum)]
        slot: SlotArg,
    },
    /// Renew a card's certificates (from 3 months before they expire).
    Renew {
        #[command(flatten)]
        common: Common,
        /// Card id.
        card: String,
    },
    /// Revoke one certificate by serial (hex) with an RFC 5280 reason.
    Revoke {
        #[command(flatten)]
        common: Common,
        /// Serial in hex.
        serial: String,
        /// affiliationChanged, superseded, certificateHold, cessationOfOperation, keyCompromise, unspecified.
        #[arg(long)]
        reason: String,
    },
    /// Enrol a smartphone from a card: the emulated phone secure element makes its keys, the
    /// card signs the online application (VERIFY + 80 2A, password from $HANKO_PASSWORD), the
    /// authority issues the phone certificates (an earlier phone's are superseded), and the
    /// phone image is written under DATA_DIR/cards. The phone's PIN is $HANKO_PIN.
    EnrollPhone {
        #[command(flatten)]
        common: Common,
        /// The card that applies.
        #[arg(long)]
        card: String,
        /// The phone.
        #[arg(long, value_enum, default_value = "android")]
        device: PhoneArg,
    },
    /// Register a verifier (signature, auth, platform) or counter staff; prints its API key once.
    AddVerifier {
        #[command(flatten)]
        common: Common,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Disable a registration's API key (verifier, platform, counter or operator). Written to the
    /// register at once; a running `authority serve` stops accepting it within its 60 s key
    /// cache — use `POST /v1/admin/verifiers/{id}/disable` on the server for an immediate stop.
    DisableKey {
        #[command(flatten)]
        common: Common,
        /// The registration id (TSV…, TPF…, TCT…, TOP…).
        id: String,
    },
    /// Give a registration a new API key (printed once). The old key is refused at once by the
    /// register; a running server drops it within its 60 s key cache (the HTTP endpoint
    /// `POST /v1/admin/verifiers/{id}/key` evicts it immediately).
    RotateKey {
        #[command(flatten)]
        common: Common,
        /// The registration id.
        id: String,
    },
    /// Register an SP's service (SP事業者ID + サービスID) behind a platform operator.
    AddService {
        #[command(flatten)]
        common: Common,
        /// The platform operator's id (TPF…).
        #[arg(long)]
        platform: String,
        /// SP事業者ID.
        #[arg(long)]
        sp: String,
        /// サービスID.
        #[arg(long)]
        service: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Start a new generation of both CAs (same DN, new keys), like J-LIS every few years.
    NewGeneration(Common),
    /// Issue one certificate for a public key made outside any card (a software or HSM key) —
    /// for interoperability tests. The holder is registered as a resident.
    IssueCert(IssueArgs),
    /// Publish the full CRL of every CA generation now (the service also does it daily), to
    /// DATA_DIR/crl/KIND-GENERATION.crl.
    Crl(Common),
    /// List the CA generations and the certificates issued (the first 10,000).
    List(Common),
    /// The meter of a month (JST): billable events per verifier, SP, service and kind, with fees.
    Report {
        #[command(flatten)]
        common: Common,
        /// The month, YYYY-MM (default: the current JST month).
        #[arg(long)]
        month: Option<String>,
    },
}

/// The kind of certificate to issue for an outside key.
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

#[derive(Args)]
pub(crate) struct IssueArgs {
    #[command(flatten)]
    common: Common,
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
    /// 氏名 (needed for signature kinds).
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
    /// Romanised prefecture for the subject L.
    #[arg(long, default_value = "Tokyo-to")]
    prefecture: String,
    /// Romanised municipality for the subject L.
    #[arg(long, default_value = "Mihon-ku")]
    municipality: String,
    /// The card's expiry date (YYYY-MM-DD); caps the validity. Default: 10 years from issue.
    #[arg(long)]
    card_expiry: Option<String>,
    /// Also write the certificate here (DER, or PEM when the name ends in .pem).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Where the authority keeps its data, and how to report.
#[derive(Args, Clone)]
pub(crate) struct Common {
    #[command(flatten)]
    data: DataDir,
    /// Database URL: sqlite:PATH or postgres://…  [default: sqlite:DATA_DIR/authority.sqlite]
    #[arg(long, env = "HANKO_DATABASE_URL")]
    database: Option<String>,
    /// Act at this time (RFC 3339) instead of now: the authority's clock stands there.
    #[arg(long)]
    at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    ops: crate::ops::ServeOps,
    /// Address to listen on. Plain HTTP only on a loopback address, unless --insecure-http.
    #[arg(long, default_value = "127.0.0.1:8440")]
    listen: String,
    /// Serve HTTPS (rustls) with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Serve plain HTTP on a non-loopback address anyway: PINs at the counter and API keys
    /// travel in clear.
    #[arg(long)]
    insecure_http: bool,
    /// How long a register change may take to show in OCSP answers, in seconds (J-LIS: 900).
    #[arg(long, default_value_t = 900)]
    ocsp_lag: u64,
    /// What emigration does to the user-authentication certificate.
    #[arg(long, value_enum, default_value = "keep-auth")]
    emigration: EmigrationArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EmigrationArg {
    /// Keep it (it can be used abroad since 2024).
    KeepAuth,
    /// Revoke it (cessationOfOperation).
    RevokeBoth,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PhoneArg {
    /// An Android phone's JPKI applet (GP secure element).
    Android,
    /// An iPhone's JPKI applet.
    Iphone,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SlotArg {
    /// The signature password.
    Signature,
    /// The 4-digit user-authentication PIN.
    Auth,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    /// 署名検証者.
    Signature,
    /// 利用者証明検証者.
    Auth,
    /// PF事業者 (both, for registered SPs).
    Platform,
    /// Counter staff.
    Counter,
    /// Operator: CA and key administration.
    Operator,
}

#[derive(Args)]
pub(crate) struct PersonArgs {
    #[command(flatten)]
    common: Common,
    /// 氏名.
    #[arg(long)]
    name: String,
    /// 性別: 1 male, 2 female, 3 unknown.
    #[arg(long)]
    sex: String,
    /// 生年月日, YYYY-MM-DD.
    #[arg(long)]
    birth: String,
    /// 住所 from the prefecture, no postal code.
    #[arg(long)]
    address: String,
    /// Romanised prefecture for the certificate subject.
    #[arg(long, default_value = "Tokyo-to")]
    prefecture: String,
    /// Romanised municipality for the certificate subject.
    #[arg(long, default_value = "Mihon-ku")]
    municipality: String,
    /// An adult ward (auth certificate only).
    #[arg(long)]
    ward: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EventKind {
    /// 異動: new address/name/sex/birth date (give the ones that change).
    FactsChanged,
    /// Death: every certificate revoked.
    Death,
    /// Emigration (per the authority's emigration policy).
    Emigration,
    /// Card lost or suspended: certificates on hold, never released (phones too).
    CardLost,
    /// Card returned: cessationOfOperation.
    CardReturned,
}

#[derive(Args)]
pub(crate) struct EventArgs {
    #[command(flatten)]
    common: Common,
    /// Person id (P…).
    person: String,
    /// The event.
    #[arg(long, value_enum)]
    kind: EventKind,
    /// The card (card-lost, card-returned).
    #[arg(long)]
    card: Option<String>,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// New address.
    #[arg(long)]
    address: Option<String>,
    /// Corrected birth date, YYYY-MM-DD.
    #[arg(long)]
    birth: Option<String>,
    /// Changed sex code.
    #[arg(long)]
    sex: Option<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

pub(crate) fn database_url(data_dir: &std::path::Path, database: Option<&str>) -> String {
    database.map(str::to_owned).unwrap_or_else(|| format!("sqlite:{}", data_dir.join("authority.sqlite").display()))
}

/// The file of the data directory that names its authority; the database holds the same id
/// ([`hanko_store::Db::bind`]). Written once by `authority init`, compared on every open.
const BINDING_FILE: &str = "authority.id";
/// The service name of the authority's binding in the database.
const BINDING_SERVICE: &str = "authority";

/// A database URL fit to print: the password of a postgres:// URL is elided.
pub(crate) fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user_info, host)) if user_info.contains(':') => {
                let user = user_info.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The authority id written in the data directory, if any.
fn binding_file(data_dir: &Path) -> Result<Option<String>> {
    let path = data_dir.join(BINDING_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

async fn connect(url: &str) -> Result<Db> {
    Db::connect(url).await.with_context(|| format!("opening the database {}", redacted(url)))
}

/// A refusal to open an authority whose data directory and database do not belong together.
fn refusal(message: String) -> anyhow::Error {
    Failure::bad_input("authority-binding", message).into()
}

/// The refusal when a data directory and a database name different authorities.
fn mismatch(data_dir: &Path, file_id: &str, url: &str, db_id: &str) -> anyhow::Error {
    Failure::bad_input(
        "authority-binding",
        format!(
            "the data directory {} belongs to authority {file_id}, but the database {} to authority {db_id}: \
         check --data-dir / $HANKO_DATA_DIR and --database / $HANKO_DATABASE_URL (nothing was changed)",
            data_dir.display(),
            redacted(url)
        ),
    )
    .into()
}

/// A data directory bound to an authority, and a SQLite database path that does not exist:
/// refused before anything creates the file.
fn refuse_missing_sqlite(data_dir: &Path, file_id: &str, url: &str) -> Result<()> {
    if let Some(path) = url.strip_prefix("sqlite:").map(|p| p.trim_start_matches("//")) {
        if !Path::new(path).exists() {
            return Err(refusal(format!(
                "the database {url} does not exist, but {} belongs to authority {file_id}: check --database / \
                 $HANKO_DATABASE_URL (nothing was created)",
                data_dir.display()
            )));
        }
    }
    Ok(())
}

/// A data directory bound to an authority, and a database that holds none.
fn unbound(data_dir: &Path, file_id: &str, url: &str) -> anyhow::Error {
    Failure::bad_input(
        "authority-binding",
        format!(
            "the database {} holds no hanko authority, but {} belongs to authority {file_id}: check --database / \
         $HANKO_DATABASE_URL (nothing was changed)",
            redacted(url),
            data_dir.display()
        ),
    )
    .into()
}

/// Opens the authority of a data directory, which `hanko authority init` made. The data
/// directory and the database must name the same authority; nothing is created here, so a
/// mistyped `--database` is refused instead of starting a second authority over the CA keys.
pub(crate) async fn open(
    data_dir: &std::path::Path,
    database: Option<&str>,
    clock: Arc<dyn Clock>,
    configure: impl FnOnce(&mut Config),
) -> Result<Arc<Authority>> {
    let url = database_url(data_dir, database);
    let Some(file_id) = binding_file(data_dir)? else {
        return Err(refusal(format!(
            "no authority in {} (no {BINDING_FILE}): run `hanko authority init --data-dir {}` first \
             (it also adopts a directory made by an older hanko)",
            data_dir.display(),
            data_dir.display()
        )));
    };
    refuse_missing_sqlite(data_dir, &file_id, &url)?;
    let db = connect(&url).await?;
    match db.binding(BINDING_SERVICE).await? {
        Some(db_id) if db_id == file_id => {}
        Some(db_id) => return Err(mismatch(data_dir, &file_id, &url, &db_id)),
        None => return Err(unbound(data_dir, &file_id, &url)),
    }
    authority(db, data_dir, clock, configure).await
}

/// `hanko authority init` (and the demo): sets up the authority of a data directory and its
/// database — or opens it when they already belong together. Binds the two by a random id
/// written in both; refuses a pair that belongs to different authorities, a database that
/// belongs to another data directory, and a data directory that holds CA keys of a database
/// other than this one.
pub(crate) async fn create(
    data_dir: &std::path::Path,
    database: Option<&str>,
    clock: Arc<dyn Clock>,
    configure: impl FnOnce(&mut Config),
) -> Result<Arc<Authority>> {
    let url = database_url(data_dir, database);
    let file_id = binding_file(data_dir)?;
    if let Some(f) = &file_id {
        refuse_missing_sqlite(data_dir, f, &url)?;
    }
    let db = connect(&url).await?;
    let db_id = db.binding(BINDING_SERVICE).await?;
    let has_keys = data_dir.join("ca").exists();
    let (dir, shown) = (data_dir.display(), redacted(&url));
    match (file_id, db_id) {
        (Some(f), Some(d)) if f == d => {}
        (Some(f), Some(d)) => return Err(mismatch(data_dir, &f, &url, &d)),
        (None, Some(d)) => {
            return Err(refusal(format!(
                "the database {shown} belongs to authority {d}, whose data directory (with its CA keys) is not {dir}: \
             check --data-dir / $HANKO_DATA_DIR (nothing was changed)"
            )))
        }
        (Some(f), None) if has_keys => return Err(unbound(data_dir, &f, &url)),
        // An init that stopped after writing the file and before binding the database.
        (Some(f), None) => {
            if !SqlStore::new(db.clone()).await?.generations().await?.is_empty() {
                return Err(unbound(data_dir, &f, &url));
            }
            bind(&db, &f).await?
        }
        (None, None) => {
            let has_cas = !SqlStore::new(db.clone()).await?.generations().await?.is_empty();
            if has_cas != has_keys {
                return Err(refusal(format!(
                    "{dir} and the database {shown} do not belong together ({}): check --data-dir and --database \
                     (nothing was changed)",
                    if has_keys {
                        "the directory holds CA keys, the database no CA"
                    } else {
                        "the database holds CAs whose keys are not in the directory"
                    }
                )));
            }
            // A new authority, or one made by an older hanko (its keys are checked against its
            // certificates when it loads).
            let mut raw = [0u8; 16];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut raw);
            let id = hex::encode(raw);
            let path = data_dir.join(BINDING_FILE);
            if !hanko_store::create_new(&path, format!("{id}\n").as_bytes(), 0o644)
                .with_context(|| format!("writing {}", path.display()))?
            {
                return Err(refusal(format!(
                    "{} appeared while init ran (another init?); run it again",
                    path.display()
                )));
            }
            bind(&db, &id).await?;
        }
    }
    authority(db, data_dir, clock, configure).await
}

/// Binds the database to `id`, refusing when another process bound it first.
async fn bind(db: &Db, id: &str) -> Result<()> {
    let bound = db.bind(BINDING_SERVICE, id).await?;
    if bound != id {
        bail!("the database was bound to authority {bound} while init ran (another init?)");
    }
    Ok(())
}

async fn authority(
    db: Db,
    data_dir: &Path,
    clock: Arc<dyn Clock>,
    configure: impl FnOnce(&mut Config),
) -> Result<Arc<Authority>> {
    let mut config = Config::sandbox(data_dir);
    configure(&mut config);
    let store = Arc::new(SqlStore::new(db).await?);
    Ok(Arc::new(Authority::with_store(store, config, clock).await?))
}

fn clock(at: Option<&str>) -> Result<Arc<dyn Clock>> {
    Ok(match at {
        Some(_) => Arc::new(ManualClock::new(now_or(at)?)),
        None => Arc::new(SystemClock),
    })
}

fn print(json: bool, value: serde_json::Value, text: impl FnOnce() -> String) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", text());
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_date(option: &str, s: &str) -> Result<BirthDate> {
    let fmt = hanko_pki::time::macros::format_description!("[year]-[month]-[day]");
    // The input is not echoed: a birth date is personal data.
    Ok(BirthDate::Known(hanko_pki::time::Date::parse(s, &fmt).map_err(|e| {
        Failure::bad_input("bad-input", format!("{option} is not a date like 1985-04-01 ({})", crate::root_cause(&e)))
    })?))
}

pub(crate) fn run(cmd: Command) -> Result<ExitCode> {
    runtime()?.block_on(run_async(cmd))
}

async fn run_async(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Init(c) => {
            let a = create(&c.data.data_dir, c.database.as_deref(), clock(c.at.as_deref())?, |_| {}).await?;
            let key_path = c.data.data_dir.join("counter.key");
            let operator_path = c.data.data_dir.join("operator.key");
            for (path, role, name) in [
                (&key_path, Role::Counter, "counter (made by authority init)"),
                (&operator_path, Role::Operator, "operator (made by authority init)"),
            ] {
                if !path.exists() {
                    let reg = a.register_verifier(role, name).await?;
                    // create_new: a key file is never overwritten (a concurrent init keeps its own).
                    hanko_store::create_new(path, reg.api_key.as_bytes(), 0o600)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
            }
            let generations: Vec<_> =
                a.cas()?.all().iter().map(|g| json!({"kind": g.ca.kind().as_str(), "generation": g.id})).collect();
            print(
                c.json,
                json!({"generations": generations, "counter_key": key_path, "operator_key": operator_path}),
                || {
                    format!(
                        "authority ready in {} ({} CA generations); counter API key in {}, operator API key in {}",
                        c.data.data_dir.display(),
                        generations.len(),
                        key_path.display(),
                        operator_path.display()
                    )
                },
            )
        }
        Command::Serve(s) => serve(s).await,
        Command::AddPerson(p) => {
            let a = open(&p.common.data.data_dir, p.common.database.as_deref(), clock(p.common.at.as_deref())?, |_| {})
                .await?;
            let facts = BasicFacts::new(
                &p.name,
                hanko_authority::parse_sex(&p.sex)?,
                parse_date("--birth", &p.birth)?,
                &p.address,
            )?;
            let person = a
                .add_person(NewPerson { facts, prefecture: p.prefecture, municipality: p.municipality, ward: p.ward })
                .await?;
            print(p.common.json, json!({"id": person.id}), || format!("registered {}", person.id))
        }
        Command::ShowPerson { common, id } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let p = a.person(&id).await?;
            let cards = a.store().cards_of(&id).await?;
            let cards_json: Vec<_> = cards
                .iter()
                .map(|c| json!({"id": c.id, "device": c.device.as_str(), "status": format!("{:?}", c.status)}))
                .collect();
            print(
                common.json,
                json!({"id": p.id, "name": p.facts.name(), "address": p.facts.address(),
                       "birth_date": p.facts.birth_date().to_string(), "sex": p.facts.sex().as_str(),
                       "status": format!("{:?}", p.status), "ward": p.ward, "cards": cards_json}),
                || {
                    let mut s = format!(
                        "{} {} ({:?}) born {} — {}",
                        p.id,
                        p.facts.name(),
                        p.status,
                        p.facts.birth_date(),
                        p.facts.address()
                    );
                    for c in &cards {
                        s.push_str(&format!("\n  {} {} {:?}", c.id, c.device.as_str(), c.status));
                    }
                    s
                },
            )
        }
        Command::IssueCard { common, person } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let pins = CardPins {
                sign_password: crate::secrets::PASSWORD.get_optional()?,
                auth_pin: crate::secrets::PIN.get()?,
            };
            let card = a.issue_card(&person, &pins).await?;
            print(common.json, serde_json::to_value(&card)?, || {
                format!(
                    "issued card {} to {person}: auth certificate {}, signature certificate {}\n\
                     security code on the card face (sandbox; part of 照合番号B for card read-face): {}, \
                     expiry {}\n\
                     serve it to PC/SC readers with: hanko card serve --card {}",
                    card.card_id,
                    card.auth_serial,
                    card.signature_serial.as_deref().unwrap_or("none (minor or adult ward)"),
                    card.security_code,
                    card.expiry,
                    card.card_id
                )
            })
        }
        Command::ShowCard { common, id } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let card = a.card(&id).await?;
            let certs = a.store().certificates_on(&id).await?;
            let rows: Vec<_> = certs
                .iter()
                .map(|c| {
                    json!({"serial": c.serial.to_string(), "kind": c.kind.as_str(),
                       "not_after": c.validity.map(|(_, na)| crate::fmt_time(na)),
                       "revoked": c.revocation.map(|(at, r)| json!({"at": crate::fmt_time(at), "reason": r.name()})),
                       "predecessor": c.predecessor.as_ref().map(Serial::to_string),
                       "successor": c.successor.as_ref().map(Serial::to_string)})
                })
                .collect();
            print(
                common.json,
                json!({"id": card.id, "device": card.device.as_str(), "status": format!("{:?}", card.status), "certificates": rows}),
                || {
                    let mut s =
                        format!("{} {} {:?} (holder {})", card.id, card.device.as_str(), card.status, card.person_id);
                    for c in &certs {
                        let state = match c.revocation {
                            Some((at, r)) => format!("REVOKED {} ({})", crate::fmt_time(at), r.name()),
                            None => "valid".into(),
                        };
                        s.push_str(&format!("\n  {:<16} {:<22} {state}", c.serial.to_string(), c.kind.as_str()));
                    }
                    s
                },
            )
        }
        Command::Cert { common, serial, out } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let s = Serial::from_hex(&serial).with_context(|| format!("{serial:?} is not a hex serial"))?;
            let der = a
                .store()
                .certificate(&s)
                .await?
                .and_then(|c| c.der)
                .with_context(|| format!("no certificate {serial} was issued by this authority"))?;
            match out {
                Some(path) => {
                    let bytes = if path.extension().is_some_and(|e| e == "pem") {
                        crate::files::pem("CERTIFICATE", &der)?.into_bytes()
                    } else {
                        der
                    };
                    crate::files::write_atomic(&path, &bytes, 0o644)?;
                }
                None => print!("{}", crate::files::pem("CERTIFICATE", &der)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Event(e) => {
            let c = &e.common;
            let a = open(&c.data.data_dir, c.database.as_deref(), clock(c.at.as_deref())?, |_| {}).await?;
            let card = || e.card.clone().context("this event needs --card");
            // A flag the event kind does not take is refused, not silently ignored.
            let given = [
                ("--card", e.card.is_some()),
                ("--name", e.name.is_some()),
                ("--address", e.address.is_some()),
                ("--birth", e.birth.is_some()),
                ("--sex", e.sex.is_some()),
            ];
            let takes: &[&str] = match e.kind {
                EventKind::FactsChanged => &["--name", "--address", "--birth", "--sex"],
                EventKind::Death | EventKind::Emigration => &[],
                EventKind::CardLost | EventKind::CardReturned => &["--card"],
            };
            if let Some((flag, _)) = given.iter().find(|(f, g)| *g && !takes.contains(f)) {
                bail!("this event takes no {flag}");
            }
            let event = match e.kind {
                EventKind::FactsChanged => LifeEvent::FactsChanged {
                    name: e.name.clone(),
                    address: e.address.clone(),
                    locality: None,
                    birth_date: e.birth.as_deref().map(|b| parse_date("--birth", b)).transpose()?,
                    sex: e.sex.as_deref().map(hanko_authority::parse_sex).transpose()?,
                },
                EventKind::Death => LifeEvent::Death,
                EventKind::Emigration => LifeEvent::Emigration,
                EventKind::CardLost => LifeEvent::CardLost { card_id: card()? },
                EventKind::CardReturned => LifeEvent::CardReturned { card_id: card()? },
            };
            let out = a.record_event(&e.person, event).await?;
            print(c.json, serde_json::to_value(&out)?, || outcome_text(&out))
        }
        Command::PinReset { common, card, slot } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let slot = match slot {
                SlotArg::Signature => hanko_card::Slot::Signature,
                SlotArg::Auth => hanko_card::Slot::Auth,
            };
            let pin = crate::secrets::Secret::new_of(slot).get()?;
            a.reset_pin(&card, slot, pin.as_bytes()).await?;
            print(common.json, json!({"card": card, "reset": true}), || format!("PIN of card {card} reset"))
        }
        Command::Renew { common, card } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let out = a.renew_certificates(&card).await?;
            print(common.json, serde_json::to_value(&out)?, || outcome_text(&out))
        }
        Command::Revoke { common, serial, reason } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let s = Serial::from_hex(&serial).with_context(|| format!("{serial:?} is not a hex serial"))?;
            let reason = hanko_authority::revocation_reason(&reason)?;
            if a.store().certificate(&s).await?.and_then(|c| c.der).is_none() {
                bail!("no certificate {serial} was issued by this authority");
            }
            if !a.revoke(&s, reason).await? {
                bail!("{s} was already revoked (a revocation is never changed)");
            }
            print(common.json, json!({"serial": s.to_string(), "reason": reason.name()}), || {
                format!("revoked {s} ({}): it appears in the next CRL and in OCSP", reason.name())
            })
        }
        Command::EnrollPhone { common, card, device } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let device = match device {
                PhoneArg::Android => hanko_card::Device::Android,
                PhoneArg::Iphone => hanko_card::Device::Iphone,
            };
            let (password, pin) = (crate::secrets::PASSWORD.get()?, crate::secrets::PIN.get()?);
            let phone = hanko_authority::PhoneSecureElement::generate(device)?;
            let challenge = a.phone_challenge(&card).await?;
            let application = phone.application_document(&challenge.challenge, a.clock().now())?;
            let signed = {
                let mut client = hanko_card::Client::new(hanko_cardlink::CardFile::open(&common.data.data_dir, &card)?);
                hanko_authority::sign_document(
                    &mut client,
                    hanko_card::Slot::Signature,
                    password.as_bytes(),
                    &application,
                )?
            };
            let answer = a.enrol_smartphone(&signed).await?;
            let image = phone.personalize(&answer, password.as_bytes(), pin.as_bytes())?;
            hanko_cardlink::CardFile::create(&common.data.data_dir, &answer.phone_id, image)?;
            print(
                common.json,
                json!({"phone": answer.phone_id, "device": answer.device, "superseded": answer.revoked}),
                || {
                    format!(
                        "enrolled {} {} from card {card}; serve it with: hanko card serve --card {}",
                        answer.device, answer.phone_id, answer.phone_id
                    )
                },
            )
        }
        Command::AddVerifier { common, role, name } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let role = match role {
                RoleArg::Signature => Role::Signature,
                RoleArg::Auth => Role::Auth,
                RoleArg::Platform => Role::Platform,
                RoleArg::Counter => Role::Counter,
                RoleArg::Operator => Role::Operator,
            };
            let reg = a.register_verifier(role, &name).await?;
            print(common.json, serde_json::to_value(&reg)?, || {
                format!(
                    "registered {} ({}, {} environment)\nAPI key (shown once): {}",
                    reg.verifier.id,
                    role.as_str(),
                    reg.verifier.environment,
                    reg.api_key
                )
            })
        }
        Command::DisableKey { common, id } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let v = a.disable_verifier(&id).await?;
            print(common.json, json!({"id": v.id, "role": v.role, "disabled": true}), || {
                format!("disabled the key of {id}")
            })
        }
        Command::RotateKey { common, id } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            let reg = a.rotate_key(&id).await?;
            print(common.json, serde_json::to_value(&reg)?, || {
                format!("new API key of {id} (shown once; the old one is refused): {}", reg.api_key)
            })
        }
        Command::AddService { common, platform, sp, service, name } => {
            let a =
                open(&common.data.data_dir, common.database.as_deref(), clock(common.at.as_deref())?, |_| {}).await?;
            a.register_service(&platform, &sp, &service, &name).await?;
            print(common.json, json!({"platform": platform, "sp_id": sp, "service_id": service}), || {
                format!("registered service {sp}/{service} under {platform}")
            })
        }
        Command::IssueCert(args) => issue_cert(args).await,
        Command::Crl(c) => {
            let a = open(&c.data.data_dir, c.database.as_deref(), clock(c.at.as_deref())?, |_| {}).await?;
            // One generation that fails is reported and skipped; the others are published.
            let report = a.publish_crls_report().await?;
            let rows: Vec<serde_json::Value> = report
                .published
                .iter()
                .map(|p| {
                    let path = c.data.data_dir.join("crl").join(format!("{}-{}.crl", p.kind.as_str(), p.generation));
                    // A PEM copy beside the DER, for tools that want one (openssl verify -CRLfile).
                    let der = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                    crate::files::write_atomic(
                        &path.with_extension("crl.pem"),
                        crate::files::pem("X509 CRL", &der)?.as_bytes(),
                        0o644,
                    )?;
                    let mut v = serde_json::to_value(p)?;
                    v["path"] = json!(path);
                    Ok(v)
                })
                .collect::<Result<_>>()?;
            print(c.json, json!(rows), || {
                rows.iter()
                    .map(|r| {
                        format!(
                            "{} CA {}: CRL #{} with {} entries, next update {} → {}",
                            r["kind"].as_str().unwrap_or("?"),
                            r["generation"].as_str().unwrap_or("?"),
                            r["crl_number"],
                            r["entries"],
                            r["next_update"].as_str().unwrap_or("?"),
                            r["path"].as_str().unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            if !report.failed.is_empty() {
                let failed: Vec<String> = report
                    .failed
                    .iter()
                    .map(|f| format!("{} CA {}: {}", f.kind.as_str(), f.generation, f.error))
                    .collect();
                bail!("{} CRL(s) not published: {}", failed.len(), failed.join("; "));
            }
            if !report.listed_as_unspecified.is_empty() {
                let rows: Vec<String> = report
                    .listed_as_unspecified
                    .iter()
                    .map(|r| {
                        format!(
                            "{} CA {}: {} (stored reason {})",
                            r.kind.as_str(),
                            r.generation,
                            r.serial,
                            r.stored_reason
                        )
                    })
                    .collect();
                bail!(
                    "{} revocation(s) with a reason a JPKI CRL cannot carry were listed as unspecified: {}",
                    rows.len(),
                    rows.join("; ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List(c) => {
            let a = open(&c.data.data_dir, c.database.as_deref(), clock(c.at.as_deref())?, |_| {}).await?;
            let generations: Vec<_> = a
                .cas()?
                .all()
                .iter()
                .map(|g| {
                    let (nb, na) = g.ca.validity();
                    json!({"kind": g.ca.kind().as_str(), "id": g.id,
                           "serial": Serial::of(&g.ca.certificate().tbs_certificate.serial_number).to_string(),
                           "not_before": crate::fmt_time(nb), "not_after": crate::fmt_time(na)})
                })
                .collect();
            let certs = a.store().all_certificates(10_000).await?;
            let issued: Vec<_> = certs
                .iter()
                .map(|c| {
                    json!({"serial": c.serial.to_string(), "kind": c.kind.as_str(), "ca": c.ca_kind.as_str(),
                           "generation": c.generation, "person": c.person_id, "card": c.card_id,
                           "not_after": c.validity.map(|(_, na)| crate::fmt_time(na)),
                           "revoked": c.revocation.map(|(at, r)| json!({"at": crate::fmt_time(at), "reason": r.name()}))})
                })
                .collect();
            print(c.json, json!({"generations": generations, "issued": issued}), || {
                let mut lines: Vec<String> = generations
                    .iter()
                    .map(|g| {
                        format!(
                            "CA {:<9} generation {:<6} serial {} valid to {}",
                            g["kind"].as_str().unwrap_or("?"),
                            g["id"].as_str().unwrap_or("?"),
                            g["serial"].as_str().unwrap_or("?"),
                            g["not_after"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                for c in &certs {
                    let state = match c.revocation {
                        Some((at, r)) => format!("REVOKED {} {}", crate::fmt_time(at), r.name()),
                        None => "valid".into(),
                    };
                    lines.push(format!(
                        "{:<16} {:<22} {:<16} {state}",
                        c.serial.to_string(),
                        c.kind.as_str(),
                        c.card_id
                    ));
                }
                lines.join("\n")
            })
        }
        Command::Report { common, month } => {
            let clock = clock(common.at.as_deref())?;
            let month = month.unwrap_or_else(|| hanko_authority::jst_month(clock.now()));
            let a = open(&common.data.data_dir, common.database.as_deref(), clock, |_| {}).await?;
            let report = a.meter_report(&month).await?;
            print(common.json, serde_json::to_value(&report)?, || {
                let mut lines = vec![format!("meter {month} (JST)")];
                for r in &report.rows {
                    lines.push(format!(
                        "  {:<12} {:<12} {:<10} {:<22} {:>8} {:>10} yen",
                        r.verifier_id, r.sp_id, r.service_id, r.kind, r.count, r.yen
                    ));
                }
                for t in &report.totals {
                    lines.push(format!("  total {:<12} {:>8} events {:>10} yen", t.verifier_id, t.count, t.yen));
                }
                lines.push(format!("  all verifiers: {} yen", report.total_yen));
                lines.join("\n")
            })
        }
        Command::NewGeneration(c) => {
            let a = open(&c.data.data_dir, c.database.as_deref(), clock(c.at.as_deref())?, |_| {}).await?;
            let ids = a.new_generation().await?;
            print(c.json, json!({"generations": ids}), || format!("new CA generation {}", ids.join(", ")))
        }
    }
}

async fn issue_cert(a: IssueArgs) -> Result<ExitCode> {
    use hanko_pki::der::Decode;
    use hanko_pki::spki::SubjectPublicKeyInfoOwned;
    use hanko_pki::{CertKind, Signer};
    let c = &a.common;
    let authority = open(&c.data.data_dir, c.database.as_deref(), clock(c.at.as_deref())?, |_| {}).await?;
    let kind = match a.kind {
        IssueKind::Signature => CertKind::Signature,
        IssueKind::Auth => CertKind::Auth,
        IssueKind::SmartphoneSignature => CertKind::SmartphoneSignature,
        IssueKind::SmartphoneAuth => CertKind::SmartphoneAuth,
    };
    let holder = match (&a.name, &a.birth, &a.address) {
        (Some(name), Some(birth), Some(address)) => Some(NewPerson {
            facts: BasicFacts::new(name, hanko_authority::parse_sex(&a.sex)?, parse_date("--birth", birth)?, address)?,
            prefecture: a.prefecture.clone(),
            municipality: a.municipality.clone(),
            ward: false,
        }),
        (None, None, None) => None,
        _ => bail!("give all of --name, --birth and --address, or none"),
    };
    let public_key = match (&a.public_key, &a.generate_key) {
        (Some(path), _) => {
            let der = crate::files::read_der(path)?;
            SubjectPublicKeyInfoOwned::from_der(&der)
                .with_context(|| format!("{} is not a SubjectPublicKeyInfo", path.display()))?
        }
        (None, Some(path)) => {
            let key = hanko_pki::SoftwareKey::generate_rsa2048()?;
            // A private key file is never overwritten.
            if !hanko_store::create_new(path, &key.to_pkcs8()?, 0o600)
                .with_context(|| format!("writing {}", path.display()))?
            {
                bail!("{} exists: --generate-key never overwrites a key file; choose a new name", path.display());
            }
            key.public_key().clone()
        }
        (None, None) => bail!("give --public-key or --generate-key"),
    };
    let card_expiry =
        a.card_expiry.as_deref().map(|s| parse_date("--card-expiry", s).map(|b| b.date())).transpose()?.flatten();
    let rec = authority.issue_for_key(kind, holder, public_key, card_expiry).await?;
    let der = rec.der.clone().context("issued without DER")?;
    let path = c.data.data_dir.join("issued").join(format!("{}.der", rec.serial));
    crate::files::write_atomic(&path, &der, 0o644)?;
    crate::files::write_atomic(&path.with_extension("pem"), crate::files::pem("CERTIFICATE", &der)?.as_bytes(), 0o644)?;
    if let Some(out) = &a.out {
        let bytes = if out.extension().is_some_and(|e| e == "pem") {
            crate::files::pem("CERTIFICATE", &der)?.into_bytes()
        } else {
            der.clone()
        };
        crate::files::write_atomic(out, &bytes, 0o644)?;
    }
    let not_after = rec.validity.map(|(_, na)| crate::fmt_time(na)).unwrap_or_default();
    print(
        c.json,
        json!({"serial": rec.serial.to_string(), "kind": kind.as_str(), "person": rec.person_id, "not_after": not_after, "path": path}),
        || format!("issued {} certificate {} (valid to {not_after}) → {}", kind.as_str(), rec.serial, path.display()),
    )
}

fn outcome_text(out: &hanko_authority::Outcome) -> String {
    let mut lines = Vec::new();
    for (serial, reason) in &out.revoked {
        lines.push(format!("revoked {serial} ({reason})"));
    }
    for (serial, kind) in &out.issued {
        lines.push(format!("issued {serial} ({kind})"));
    }
    for p in &out.pending {
        lines.push(format!("pending: {p}"));
    }
    if lines.is_empty() {
        lines.push("no certificate changed".into());
    }
    lines.join("\n")
}

async fn serve(s: ServeArgs) -> Result<ExitCode> {
    crate::ops::init_logs(s.ops.log_format);
    let c = &s.common;
    if s.tls_cert.is_none() && !s.insecure_http {
        use std::net::ToSocketAddrs;
        let addrs: Vec<std::net::SocketAddr> =
            s.listen.to_socket_addrs().with_context(|| format!("--listen {}", s.listen))?.collect();
        if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
            anyhow::bail!(
                "refusing to serve plain HTTP on {}, which is not a loopback address: PINs at the counter and \
                 API keys would travel in clear. Give --tls-cert and --tls-key to serve HTTPS, or \
                 --insecure-http to serve plain HTTP anyway",
                s.listen
            );
        }
    }
    let lag = std::time::Duration::from_secs(s.ocsp_lag);
    let emigration = match s.emigration {
        EmigrationArg::KeepAuth => EmigrationPolicy::KeepAuth,
        EmigrationArg::RevokeBoth => EmigrationPolicy::RevokeBoth,
    };
    let a = open(&c.data.data_dir, c.database.as_deref(), clock(c.at.as_deref())?, |config| {
        config.ocsp_lag = lag;
        config.emigration = emigration;
        config.metrics_public = s.ops.public_metrics;
    })
    .await?;
    let listener =
        tokio::net::TcpListener::bind(&s.listen).await.with_context(|| format!("listening on {}", s.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if s.tls_cert.is_some() { "https" } else { "http" };
    // The first line on stdout is the URL, so scripts can read it.
    println!("{scheme}://{addr}");
    eprintln!(
        "hanko authority on {scheme}://{addr} (data {}, OCSP lag {} s); API: {scheme}://{addr}/openapi.json; Ctrl-C stops",
        c.data.data_dir.display(),
        s.ocsp_lag
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match (&s.tls_cert, &s.tls_key) {
        (Some(cert), Some(key)) => hanko_authority::serve_tls(a, listener, cert, key, stop).await?,
        _ => hanko_authority::serve(a, listener, stop).await?,
    }
    Ok(ExitCode::SUCCESS)
}
