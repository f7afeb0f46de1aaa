//! `hanko up` — the whole ecosystem in one process on loopback: the authority (J-LIS role), a
//! platform operator, the authentication app service (OpenID Connect provider + wallet) and the
//! demo bank, over the embedded SQLite default (or PostgreSQL, one schema per service), with a
//! sandbox console that plays the municipal counter. The first start creates everything (the
//! authority, synthetic residents with emulated cards, the tenants, the bank's client); a later
//! start reuses the data directory.
//!
//! The services talk to each other only through their HTTP APIs, exactly as when they run apart;
//! this module only wires them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hanko_authority::{Authority, CardPins, NewPerson, Role};
use hanko_pki::{BasicFacts, BirthDate, Sex};
use hanko_store::{Clock, SystemClock};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::files::write_atomic;

/// The sandbox cards' user-authentication PIN (4 digits) and the input-assist PIN.
pub(crate) const UP_PIN: &str = "1234";
/// The sandbox cards' signature password (6–16 upper-case letters and digits).
pub(crate) const UP_PASSWORD: &str = "HANKO2026";

/// Options of `hanko up`.
#[derive(clap::Args)]
#[command(after_long_help = "\
The first start creates, under --data-dir:
  authority/  the sandbox authority (O=JPKI-TEST CAs), its register and the emulated cards
  platform/   the platform operator (PF事業者), its evidence log and CRL cache
  idp/        the authentication app service (デジタル認証アプリ) and its keys
  bank/       the demo bank (見本銀行), its client keys and ledger
  up.json     the residents and their card ids

Synthetic residents, each with an emulated My Number Card (never real people):
  試験　花子  female, born 1985-04-01  an adult: account opening, login, contracts
  見本　太郎  male,   born 1958-12-31  an adult
  架空　一    male,   born 1990-01-08  an adult (use him for a lost card)
  例題　さくら female, born 2014-05-01  a child: a user-authentication certificate only
  見本　みらい female, 17 years old     an adult's card but under 18: the age check refuses

Every card has the same sandbox secrets:
  user-authentication PIN and input-assist PIN  1234
  signature password                             HANKO2026

Ports (with --port P): the authority P, the platform P+1, the identity provider P+2, the bank
P+3, the sandbox console P+4. --port 0 takes free ports (see --ready-file).")]
pub(crate) struct Args {
    /// Where everything lives (created on the first start, reused afterwards).
    #[arg(long, env = "HANKO_UP_DIR", default_value = "hanko-up")]
    data_dir: PathBuf,
    /// PostgreSQL instead of SQLite: `postgres://user@host/db` (each service gets its own
    /// schema, `hanko_up_<service>`). Give the same URL at every start.
    #[arg(long, env = "HANKO_DATABASE")]
    database: Option<String>,
    /// The first of five consecutive loopback ports; 0 takes any free ones.
    #[arg(long, default_value_t = 8400)]
    port: u16,
    /// Write the URLs (and the console's sign-in URL) as JSON to this file once everything
    /// answers (for scripts and tests).
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Seconds between sandbox syncs: the authority publishes a CRL, the platform fetches it,
    /// checks its monitored customers and delivers webhooks (so a change at the counter made
    /// with `hanko authority event` reaches the bank in seconds, not the next day).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    tick: u64,
    /// Log format on stderr: text or json (one object a line). RUST_LOG filters [default: warn];
    /// every service serves GET /metrics (Prometheus) and GET /healthz without a key here.
    #[arg(long, value_enum, default_value = "text")]
    log_format: crate::ops::LogFormat,
}

/// One resident as `up.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Resident {
    pub(crate) person_id: String,
    pub(crate) name: String,
    pub(crate) card_id: String,
    pub(crate) signature: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    residents: Vec<Resident>,
}

const STATE_FILE: &str = "up.json";
const SERVICES: [&str; 4] = ["authority", "platform", "idp", "bank"];

/// The running ecosystem, for the console.
pub(crate) struct Eco {
    pub(crate) authority: Arc<Authority>,
    pub(crate) platform: Arc<hanko_platform::Platform>,
    pub(crate) residents: Vec<Resident>,
    pub(crate) urls: Urls,
}

/// Where each service answers.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Urls {
    pub(crate) authority: String,
    pub(crate) platform: String,
    pub(crate) idp: String,
    pub(crate) bank: String,
    pub(crate) console: String,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(up(args))
}

fn database_url(dir: &Path, database: Option<&str>, service: &str) -> String {
    match database {
        Some(url) => {
            // `hanko_schema=X` given: the services' schemas are X_<service>; else hanko_up_<service>.
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            let mut prefix = "hanko_up".to_owned();
            let mut rest: Vec<&str> = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.strip_prefix("hanko_schema=") {
                    Some(x) => prefix = x.to_owned(),
                    None => rest.push(pair),
                }
            }
            let schema = format!("hanko_schema={prefix}_{service}");
            rest.push(&schema);
            let query = rest.join("&");
            format!("{base}?{query}")
        }
        // The same file names as `hanko authority|platform|idp … --data-dir <dir>/<service>` use,
        // so those commands work on a `hanko up` directory.
        None => format!("sqlite:{}", dir.join(service).join(format!("{service}.sqlite")).display()),
    }
}

async fn db(dir: &Path, database: Option<&str>, service: &str) -> Result<hanko_store::Db> {
    let url = database_url(dir, database, service);
    hanko_store::Db::connect(&url)
        .await
        .with_context(|| format!("opening the {service} database {}", crate::cmd_authority::redacted(&url)))
}

async fn listen(port: u16, offset: u16) -> Result<tokio::net::TcpListener> {
    let port = if port == 0 { 0 } else { port.checked_add(offset).context("--port is too high")? };
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{port} (another hanko up running? choose another --port)"))
}

fn read_key(path: &Path) -> Result<Zeroizing<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

async fn up(args: &Args) -> Result<ExitCode> {
    crate::ops::init_logs_at(args.log_format, "warn");
    let dir = &args.data_dir;
    let database = args.database.as_deref();
    if let Some(url) = database {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("--database takes a postgres:// URL (SQLite is the default, under --data-dir)");
        }
    }
    let first = !dir.join(STATE_FILE).exists();
    if first && dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} is not empty but holds no {STATE_FILE}: an earlier first start did not finish, or the directory \
             belongs to something else. Remove it or choose another --data-dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // The databases hold the register, the customers and their facts: only this user reads them.
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", dir.display()))?;
    }
    let dir = dir.canonicalize()?;
    let [adir, pdir, idir, bdir] = SERVICES.map(|s| dir.join(s));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let listeners = [
        listen(args.port, 0).await?,
        listen(args.port, 1).await?,
        listen(args.port, 2).await?,
        listen(args.port, 3).await?,
        listen(args.port, 4).await?,
    ];
    let url = |i: usize| -> Result<String> { Ok(format!("http://{}", listeners[i].local_addr()?)) };
    let urls = Urls { authority: url(0)?, platform: url(1)?, idp: url(2)?, bank: url(3)?, console: url(4)? };
    let [al, pl, il, bl, cl] = listeners;
    let mut tasks = Vec::new();

    // The authority.
    if first {
        eprintln!("hanko up: creating the sandbox authority in {} …", adir.display());
    }
    let adb = Some(database_url(&dir, database, "authority"));
    let authority = if first {
        crate::cmd_authority::create(&adir, adb.as_deref(), clock.clone(), |c| c.metrics_public = true).await?
    } else {
        crate::cmd_authority::open(&adir, adb.as_deref(), clock.clone(), |c| c.metrics_public = true).await?
    };
    let residents = if first { residents(&authority).await? } else { read_state(&dir)?.residents };
    if first {
        authority.publish_crls().await?;
        let pf = authority.register_verifier(Role::Platform, "hanko up platform operator").await?;
        std::fs::create_dir_all(pdir.join(hanko_platform::ANCHORS_DIR))?;
        write_atomic(&pdir.join(hanko_platform::AUTHORITY_KEY_FILE), pf.api_key.as_bytes(), 0o600)?;
        write_atomic(&pdir.join(hanko_platform::AUTHORITY_ID_FILE), pf.verifier.id.as_bytes(), 0o644)?;
    }
    // The anchors: the authority's CA generations (again at every start: a new generation).
    for kind in ["signature", "auth"] {
        for g in std::fs::read_dir(adir.join("ca").join(kind))? {
            let g = g?.path();
            let name = g.file_name().and_then(|n| n.to_str()).context("CA directory name")?.to_owned();
            std::fs::copy(g.join("ca.der"), pdir.join(hanko_platform::ANCHORS_DIR).join(format!("{kind}-{name}.der")))?;
        }
    }
    tasks.push(tokio::spawn(hanko_authority::serve(authority.clone(), al, std::future::pending())));

    // The platform operator.
    let tick = Duration::from_secs(args.tick);
    let mut pconfig = hanko_platform::Config::new(&pdir, &urls.authority);
    pconfig.load_crls = true;
    pconfig.crl_refresh = tick;
    pconfig.monitoring_interval = tick;
    pconfig.metrics_public = true;
    let platform =
        Arc::new(hanko_platform::Platform::open(db(&dir, database, "platform").await?, pconfig, clock.clone()).await?);
    platform.refresh_crls().await.context("the platform fetching the authority's CRLs")?;
    let admin_file = pdir.join("admin.key");
    if first {
        let key = platform.add_admin_key().await?;
        write_atomic(&admin_file, key.as_bytes(), 0o600)?;
    }
    let platform_admin = read_key(&admin_file)?;
    tasks.push(tokio::spawn(hanko_platform::serve(platform.clone(), pl, std::future::pending())));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    if first {
        for (sp, service, name, file) in [
            ("DA", "idp", "認証アプリ (hanko up)", idir.join(hanko_idp::PLATFORM_KEY_FILE)),
            ("MIHON", "bank", "見本銀行 (hanko up)", bdir.join(hanko_bank::PLATFORM_KEY_FILE)),
        ] {
            let tenant = admin_call(
                &http,
                reqwest::Method::POST,
                &format!("{}/v1/admin/tenants", urls.platform),
                &platform_admin,
                Some(json!({"sp_id": sp, "service_id": service, "name": name,
                            "facts": ["name", "address", "birth_date", "sex"], "check_method": "crl"})),
            )
            .await?;
            let key = tenant["api_key"].as_str().context("the platform gave the tenant no api_key")?;
            std::fs::create_dir_all(file.parent().context("key file")?)?;
            write_atomic(&file, key.as_bytes(), 0o600)?;
        }
    }

    // The authentication app service, with the authority's cards in its wallet.
    let mut iconfig = hanko_idp::Config::new(&idir, &urls.idp, &urls.platform);
    iconfig.cards_dir = Some(adir.clone());
    iconfig.cv_root = Some(adir.join("cv").join("root.spki.der"));
    iconfig.metrics_public = true;
    let idp = Arc::new(hanko_idp::Idp::open(db(&dir, database, "idp").await?, iconfig, clock.clone()).await?);
    let idp_admin_file = idir.join(hanko_idp::ADMIN_KEY_FILE);
    if first {
        let key = idp.add_admin_key().await?;
        write_atomic(&idp_admin_file, key.as_bytes(), 0o600)?;
    }
    let idp_admin = read_key(&idp_admin_file)?;
    let issuer = idp.config().issuer();
    tasks.push(tokio::spawn(hanko_idp::serve(idp, il, std::future::pending())));

    // The bank: its client at the provider and its webhook at the platform, for this start's URLs.
    let mut bconfig = hanko_bank::Config::new(&bdir, &urls.bank, &issuer, &urls.platform);
    bconfig.metrics_public = true;
    let bank = Arc::new(hanko_bank::Bank::open(db(&dir, database, "bank").await?, bconfig, clock.clone()).await?);
    let registration = bank.rp().registration("見本銀行 Mihon Bank (JPKI-TEST)");
    let client_url = format!("{}/api/admin/clients/{}", urls.idp, bank.rp().client_id());
    if first {
        admin_call(
            &http,
            reqwest::Method::POST,
            &format!("{}/api/admin/clients", urls.idp),
            &idp_admin,
            Some(registration),
        )
        .await
        .context("registering the bank at the identity provider")?;
    } else {
        let mut update = registration;
        if let Some(o) = update.as_object_mut() {
            o.remove("client_id");
        }
        admin_call(&http, reqwest::Method::PUT, &client_url, &idp_admin, Some(update))
            .await
            .context("updating the bank's client at the identity provider")?;
    }
    bank.register_webhook().await.context("setting the bank's webhook at the platform")?;
    tasks.push(tokio::spawn(hanko_bank::serve(bank, bl, std::future::pending())));

    if first {
        write_atomic(
            &dir.join(STATE_FILE),
            serde_json::to_string_pretty(&State { version: 1, residents: residents.clone() })?.as_bytes(),
            0o644,
        )?;
    }

    // The console and the sandbox sync.
    let eco = Arc::new(Eco { authority, platform, residents, urls: urls.clone() });
    let token = crate::up_console::token();
    tasks.push(tokio::spawn(crate::up_console::serve(eco.clone(), cl, token.clone())));
    let sync = eco.clone();
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(tick);
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = crate::up_console::sync(&sync).await {
                eprintln!("hanko up: sandbox sync failed: {e:#}");
            }
        }
    }));

    let console = format!("{}/?token={}", urls.console, token.as_str());
    let staff = format!("{}/staff?key={}", urls.bank, read_key(&bdir.join(hanko_bank::STAFF_KEY_FILE))?.as_str());
    println!(
        "hanko up — the JPKI ecosystem in one process (data {}{})",
        dir.display(),
        match database {
            Some(_) => ", PostgreSQL",
            None => ", SQLite",
        }
    );
    println!("  bank        {}    ← start here: open an account, log in, sign", urls.bank);
    println!("  console     {console}    (the municipal counter: move, lose, renew a card)");
    println!("  staff       {staff}    (the bank's staff dashboard: accounts, 異動あり, records)");
    println!("  idp         {}/api/realms/main  (OpenID Connect; its wallet opens from the bank's buttons)", urls.idp);
    println!("  platform    {}  (API keys in {})", urls.platform, pdir.display());
    println!("  authority   {}", urls.authority);
    println!("cards (PIN {UP_PIN}, signature password {UP_PASSWORD}; see `hanko up --help`):");
    for r in &eco.residents {
        println!("  {}  card {}{}", r.name, r.card_id, if r.signature { "" } else { "  (auth only)" });
    }
    println!("Ctrl-C stops; a second `hanko up` reuses the data.");
    if let Some(file) = &args.ready_file {
        let ready = json!({"urls": urls, "console": console, "staff": staff, "data_dir": dir, "residents": eco.residents,
                           "pin": UP_PIN, "password": UP_PASSWORD});
        write_atomic(file, serde_json::to_string_pretty(&ready)?.as_bytes(), 0o600)?;
    }
    let _ = tokio::signal::ctrl_c().await;
    for t in tasks {
        t.abort();
    }
    eprintln!("hanko up: stopped");
    Ok(ExitCode::SUCCESS)
}

fn read_state(dir: &Path) -> Result<State> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not hanko up's state", path.display()))
}

async fn admin_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    key: &str,
    body: Option<Value>,
) -> Result<Value> {
    let mut request = http.request(method, url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{url} answered {status}: {value}");
    }
    Ok(value)
}

/// The residents of a new sandbox: the synthetic people of `hanko demo` and a 17-year-old, each
/// with a card (keys made in the chip) and the documented sandbox secrets.
async fn residents(authority: &Authority) -> Result<Vec<Resident>> {
    let mut people = crate::people::synthetic()?;
    let today = authority.clock().now().date();
    let born = today
        .replace_year(today.year() - 17)
        .or_else(|_| today.replace_day(28).and_then(|d| d.replace_year(d.year() - 17)))?;
    people.push(crate::people::Person {
        facts: BasicFacts::new(
            "見本　みらい",
            Sex::FEMALE,
            BirthDate::Known(born),
            "東京都見本区試験町三丁目５番８号",
        )?,
        prefecture: "Tokyo-to".into(),
        municipality: "Mihon-ku".into(),
    });
    let mut out = Vec::new();
    // A progress bar on a terminal; nothing otherwise (scripts read the summary).
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(people.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "hanko up: issuing cards (keys made in the chip) {bar:20} {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for p in people {
        bar.set_message(p.facts.name().to_owned());
        let person = authority
            .add_person(NewPerson {
                facts: p.facts.clone(),
                prefecture: p.prefecture,
                municipality: p.municipality,
                ward: false,
            })
            .await?;
        let card = authority
            .issue_card(
                &person.id,
                &CardPins {
                    sign_password: Some(Zeroizing::new(UP_PASSWORD.to_owned())),
                    auth_pin: Zeroizing::new(UP_PIN.to_owned()),
                },
            )
            .await?;
        out.push(Resident {
            person_id: person.id,
            name: p.facts.name().to_owned(),
            card_id: card.card_id,
            signature: card.signature_serial.is_some(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::database_url;
    use std::path::Path;

    #[test]
    fn each_service_gets_its_own_database() {
        let dir = Path::new("/d");
        assert_eq!(database_url(dir, None, "idp"), "sqlite:/d/idp/idp.sqlite");
        assert_eq!(database_url(dir, Some("postgres://h/db"), "bank"), "postgres://h/db?hanko_schema=hanko_up_bank");
        assert_eq!(
            database_url(dir, Some("postgres://h/db?sslmode=disable&hanko_schema=t1"), "platform"),
            "postgres://h/db?sslmode=disable&hanko_schema=t1_platform"
        );
    }
}
