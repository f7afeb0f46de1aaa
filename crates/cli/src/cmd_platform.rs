//! `hanko platform …` — the platform operator service (PF事業者): set-up, serving, tenants.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_platform::{CheckMethod, Config, FactItem, NewTenant, Platform, SystemClock};
use hanko_store::Db;
use serde_json::json;

use crate::cmd_authority::redacted;
use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Set up a platform in DATA_DIR: its database, the authority's CA certificates as trust
    /// anchors (DATA_DIR/anchors), the platform's API key at the authority (DATA_DIR/authority.key,
    /// from `hanko authority add-verifier --role platform`), and an admin key for this platform
    /// (DATA_DIR/admin.key, mode 0600). Idempotent: a second run keeps what exists.
    Init(InitArgs),
    /// Run the HTTP API (tenants, verification, evidence; OpenAPI at /openapi.json) and the CRL
    /// refresh until Ctrl-C.
    ///
    /// GET /healthz: the database and the CRLs held. GET /metrics: Prometheus metrics (requests,
    /// latencies, verifications by result, CRL age, webhook backlog, monitoring runs), with the
    /// admin key unless --public-metrics. See docs/platform.md, "Metrics and health".
    Serve(ServeArgs),
    /// Add a tenant: a service provider's service (SP事業者ID + サービスID), registered at the
    /// authority first (which must be running). Prints its API key once.
    AddTenant(AddTenantArgs),
    /// Monitoring (現況確認): fetch the CRLs, check every monitored user's certificates, report
    /// the checks to the authority, store the new events and deliver the due webhooks. With
    /// --once a single pass (what a cron job runs); otherwise every --interval seconds.
    Monitor(MonitorArgs),
    /// Disable an API key (an SP's or an admin's), read from a file so that it stays out of the
    /// shell history: refused from the next request on, by every node. To rotate, issue a new key
    /// with `tenant-key` first.
    DisableKey {
        #[command(flatten)]
        common: Common,
        /// A file holding the key (pk_…).
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Issue another API key for a tenant (printed once).
    TenantKey {
        #[command(flatten)]
        common: Common,
        /// The tenant id (TN…).
        id: String,
    },
    /// The meter of a JST month: per tenant, the authority's billable events this platform caused
    /// (OCSP checks, corresponding serials, latest facts …, with the authority's fees) and the
    /// verification counts; the platform's own CRL downloads on the line of tenant `-`.
    Report {
        #[command(flatten)]
        common: Common,
        /// The JST month, YYYY-MM [default: the current one].
        #[arg(long)]
        month: Option<String>,
        /// Only this tenant (TN…).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// The evidence log (docs/platform-evidence.md): verify it whole, prove or export a record,
    /// check an exported bundle offline, checkpoint now, purge after the retention period.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
}

#[derive(Subcommand)]
pub(crate) enum EvidenceCommand {
    /// Recompute the whole log — every record's leaf hash, every stored tree node, every
    /// checkpoint's root, signature and RFC 3161 token — and list any inconsistency (an altered,
    /// reordered or removed record, node or checkpoint). Exit status 1 when there is one.
    Verify {
        #[command(flatten)]
        common: Common,
    },
    /// Make a signed, time-stamped checkpoint of the log now (the server makes one periodically).
    Checkpoint {
        #[command(flatten)]
        common: Common,
    },
    /// Print the proof of one record (JSON): inclusion in the first checkpoint that covers it and
    /// consistency of that checkpoint with the latest.
    Prove {
        #[command(flatten)]
        common: Common,
        /// The evidence id (ev-…).
        id: String,
    },
    /// Export one record as a self-contained evidence bundle (JSON) for an auditor: the record
    /// (certificate, revocation data used), its leaf bytes, proofs, checkpoints, time-stamp
    /// tokens, the TSA certificates and the checkpoint verifier key.
    Export {
        #[command(flatten)]
        common: Common,
        /// The evidence id (ev-…).
        id: String,
        /// Write the bundle here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check an exported bundle offline (no data directory, no network): leaf, inclusion,
    /// consistency, checkpoint signatures and time-stamp tokens. Exit status 1 when it fails.
    CheckBundle {
        /// The bundle (JSON).
        file: PathBuf,
        /// The checkpoint verifier key the platform publishes (`<origin>+<hash>+<key>`); without
        /// it the bundle's own key is used and printed, to compare by hand.
        #[arg(long)]
        verifier_key: Option<String>,
        /// The TSA CA certificate the platform publishes (DER or PEM); without it the bundle's.
        #[arg(long)]
        tsa_ca: Option<PathBuf>,
        /// Also write the files `openssl ts -verify` needs into this directory (checkpoint.note,
        /// checkpoint.tsr, tsa.pem, tsa-ca.pem, and the same for latest).
        #[arg(long)]
        extract: Option<PathBuf>,
    },
    /// Retention: empty the records created before DATE (YYYY-MM-DD, UTC), which must be at
    /// least 7 years ago. Their leaf hashes stay, so the log stays verifiable.
    Purge {
        #[command(flatten)]
        common: Common,
        /// The cut-off date.
        #[arg(long)]
        before: String,
    },
}

/// Where the platform keeps its data.
#[derive(Args, Clone)]
pub(crate) struct Common {
    /// The platform's data directory.
    #[arg(long, env = "HANKO_PLATFORM_DIR", default_value = "hanko-platform")]
    pub(crate) data_dir: PathBuf,
    /// Database URL: sqlite:PATH or postgres://…  [default: sqlite:DATA_DIR/platform.sqlite]
    #[arg(long, env = "HANKO_PLATFORM_DATABASE_URL")]
    pub(crate) database: Option<String>,
    /// The authority's base URL.
    #[arg(long, env = "HANKO_AUTHORITY_URL", default_value = "http://127.0.0.1:8440")]
    pub(crate) authority: String,
}

#[derive(Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    common: Common,
    /// A file holding the platform's API key at the authority (hk_test_…), as printed by
    /// `hanko authority add-verifier --role platform`.
    #[arg(long)]
    authority_key_file: PathBuf,
    /// Trust anchors: an authority data directory (its ca/signature/*/ca.der and
    /// ca/auth/*/ca.der), or `signature:FILE` / `auth:FILE` for one CA certificate (DER or PEM),
    /// e.g. the real J-LIS certificates of shared/data/jlis-ca. Repeatable.
    #[arg(long, required = true)]
    anchors: Vec<String>,
    /// The platform's verifier id at the authority (TPF…, printed by `hanko authority
    /// add-verifier --role platform`), named in the consent documents the platform prepares
    /// (written to DATA_DIR/authority.id).
    #[arg(long)]
    authority_id: Option<String>,
}

#[derive(Args)]
pub(crate) struct MonitorArgs {
    #[command(flatten)]
    common: Common,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
    /// Seconds between passes (without --once).
    #[arg(long, default_value_t = 86_400)]
    interval: u64,
    /// A PEM file of CA certificates trusted for https webhook receivers, besides the system's.
    #[arg(long)]
    webhook_ca: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    ops: crate::ops::ServeOps,
    /// Address to listen on (plain HTTP: loopback only).
    #[arg(long, default_value = "127.0.0.1:8450")]
    listen: String,
    /// Fetch the CRLs again every this many seconds (an unchanged CRL costs one 304).
    #[arg(long, default_value_t = 900)]
    crl_refresh: u64,
    /// Checkpoint the evidence log (signed, RFC 3161 time-stamped) every this many seconds when
    /// it grew.
    #[arg(long, default_value_t = 600)]
    checkpoint_interval: u64,
    /// How long a login challenge may be answered, in seconds (10–3600).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=3600))]
    challenge_lifetime: u64,
    /// JWE key algorithms accepted for sign results (comma separated: RSA-OAEP-256, RSA-OAEP).
    #[arg(long, value_delimiter = ',', default_value = "RSA-OAEP-256")]
    jwe_alg: Vec<String>,
    /// JWE content encryptions accepted for sign results (comma separated: A256GCM, A192GCM,
    /// A128GCM, A256CBC-HS512, A192CBC-HS384, A128CBC-HS256).
    #[arg(long, value_delimiter = ',', default_value = "A256GCM")]
    jwe_enc: Vec<String>,
    /// Run the monitoring job (現況確認) every this many seconds.
    #[arg(long, default_value_t = 86_400)]
    monitoring_interval: u64,
    /// A PEM file of CA certificates trusted for https webhook receivers, besides the system's.
    #[arg(long)]
    webhook_ca: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct AddTenantArgs {
    #[command(flatten)]
    common: Common,
    /// SP事業者ID (as registered at the authority).
    #[arg(long)]
    sp_id: String,
    /// サービスID.
    #[arg(long)]
    service_id: String,
    /// Display name.
    #[arg(long)]
    name: String,
    /// Revocation checking for this SP.
    #[arg(long, value_enum, default_value = "crl")]
    check_method: MethodArg,
    /// Which of the 4 facts the SP may receive (comma separated: name,address,birth_date,sex).
    #[arg(long, value_delimiter = ',')]
    facts: Vec<FactArg>,
    /// Turn sensitive-data mode off: the SP also receives the certificate itself.
    #[arg(long)]
    no_sensitive: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum MethodArg {
    /// The daily CRLs (free).
    Crl,
    /// OCSP per verification.
    Ocsp,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FactArg {
    /// 氏名.
    Name,
    /// 住所.
    Address,
    /// 生年月日.
    #[value(name = "birth_date")]
    BirthDate,
    /// 性別.
    Sex,
}

const BINDING_FILE: &str = "platform.id";
const BINDING_SERVICE: &str = "platform";

fn database_url(c: &Common) -> String {
    c.database.clone().unwrap_or_else(|| format!("sqlite:{}", c.data_dir.join("platform.sqlite").display()))
}

async fn connect(c: &Common) -> Result<Db> {
    let url = database_url(c);
    Db::connect(&url).await.with_context(|| format!("opening the database {}", redacted(&url)))
}

/// Opens the platform of a data directory made by `hanko platform init`; the directory and the
/// database must belong together.
async fn open(c: &Common, configure: impl FnOnce(&mut Config)) -> Result<Arc<Platform>> {
    let path = c.data_dir.join(BINDING_FILE);
    let Ok(file_id) = std::fs::read_to_string(&path) else {
        return Err(Failure::bad_input(
            "platform-binding",
            format!("no platform in {} (no {BINDING_FILE}): run `hanko platform init` first", c.data_dir.display()),
        )
        .into());
    };
    let db = connect(c).await?;
    match db.binding(BINDING_SERVICE).await? {
        Some(id) if id == file_id.trim() => {}
        other => {
            return Err(Failure::bad_input(
                "platform-binding",
                format!(
                    "the database {} {} but {} belongs to platform {}: check --database and --data-dir",
                    redacted(&database_url(c)),
                    other.map(|id| format!("belongs to platform {id}")).unwrap_or_else(|| "holds no platform".into()),
                    c.data_dir.display(),
                    file_id.trim()
                ),
            )
            .into())
        }
    }
    let mut config = Config::new(&c.data_dir, &c.authority);
    // Only a serving node needs the kept CRLs indexed (`serve` turns this back on).
    config.load_crls = false;
    configure(&mut config);
    Ok(Arc::new(Platform::open(db, config, Arc::new(SystemClock)).await?))
}

fn copy_anchors(data_dir: &Path, specs: &[String]) -> Result<usize> {
    let dir = data_dir.join(hanko_platform::ANCHORS_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut n = 0;
    let mut add = |kind: &str, der: Vec<u8>| -> Result<()> {
        let id = hex::encode(&aws_sha256(&der)[..8]);
        let path = dir.join(format!("{kind}-{id}.der"));
        std::fs::write(&path, &der).with_context(|| format!("writing {}", path.display()))?;
        n += 1;
        Ok(())
    };
    for spec in specs {
        if let Some((kind @ ("signature" | "auth"), file)) = spec.split_once(':') {
            add(kind, crate::files::read_der(Path::new(file))?)?;
            continue;
        }
        let found = crate::files::anchors(Path::new(spec))?;
        for (kind, der) in found {
            add(kind.as_str(), der)?;
        }
    }
    Ok(n)
}

fn aws_sha256(b: &[u8]) -> Vec<u8> {
    hanko_pki::DigestAlgorithm::Sha256.digest(b)
}

pub(crate) fn run(cmd: Command, json_out: bool) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run_async(cmd, json_out))
}

fn print(json_out: bool, value: serde_json::Value, text: impl FnOnce() -> String) -> Result<ExitCode> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", text());
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_async(cmd: Command, json_out: bool) -> Result<ExitCode> {
    match cmd {
        Command::Init(i) => {
            let c = &i.common;
            std::fs::create_dir_all(&c.data_dir).with_context(|| format!("creating {}", c.data_dir.display()))?;
            let key = std::fs::read_to_string(&i.authority_key_file)
                .with_context(|| format!("reading {}", i.authority_key_file.display()))?;
            let key = zeroize::Zeroizing::new(key.trim().to_owned());
            if !key.starts_with("hk_") {
                return Err(Failure::bad_input(
                    "bad-input",
                    format!("{} does not hold an authority API key (hk_…)", i.authority_key_file.display()),
                )
                .into());
            }
            let anchors = copy_anchors(&c.data_dir, &i.anchors)?;
            let key_path = c.data_dir.join(hanko_platform::AUTHORITY_KEY_FILE);
            hanko_store::write_atomic(&key_path, key.as_bytes(), 0o600)
                .with_context(|| format!("writing {}", key_path.display()))?;
            if let Some(id) = &i.authority_id {
                let id_path = c.data_dir.join(hanko_platform::AUTHORITY_ID_FILE);
                hanko_store::write_atomic(&id_path, format!("{}\n", id.trim()).as_bytes(), 0o644)
                    .with_context(|| format!("writing {}", id_path.display()))?;
            }
            let db = connect(c).await?;
            let binding = c.data_dir.join(BINDING_FILE);
            let id = match std::fs::read_to_string(&binding) {
                Ok(id) => id.trim().to_owned(),
                Err(_) => {
                    let mut raw = [0u8; 16];
                    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut raw);
                    let id = hex::encode(raw);
                    hanko_store::create_new(&binding, format!("{id}\n").as_bytes(), 0o644)
                        .with_context(|| format!("writing {}", binding.display()))?;
                    id
                }
            };
            let bound = db.bind(BINDING_SERVICE, &id).await?;
            if bound != id {
                return Err(Failure::bad_input(
                    "platform-binding",
                    format!("the database belongs to platform {bound}, not to {} ({id})", c.data_dir.display()),
                )
                .into());
            }
            db.close().await;
            let p = open(c, |_| {}).await?;
            let admin_path = c.data_dir.join("admin.key");
            if !admin_path.exists() {
                let key = p.add_admin_key().await?;
                hanko_store::create_new(&admin_path, key.as_bytes(), 0o600)
                    .with_context(|| format!("writing {}", admin_path.display()))?;
            }
            let jwe_key = c.data_dir.join(hanko_platform::JWE_KEY_FILE);
            print(json_out, json!({"anchors": anchors, "admin_key": admin_path, "jwe_key": jwe_key}), || {
                format!(
                    "platform ready in {} ({anchors} trust anchors); admin API key in {}; sign results (JWE) are \
                     decrypted with {} (public key: GET /v1/jwks)",
                    c.data_dir.display(),
                    admin_path.display(),
                    jwe_key.display()
                )
            })
        }
        Command::Serve(s) => serve(s).await,
        Command::Monitor(m) => monitor(m, json_out).await,
        Command::AddTenant(a) => {
            let p = open(&a.common, |_| {}).await?;
            let issued = p
                .add_tenant(NewTenant {
                    sp_id: a.sp_id,
                    service_id: a.service_id,
                    name: a.name,
                    check_method: match a.check_method {
                        MethodArg::Crl => CheckMethod::Crl,
                        MethodArg::Ocsp => CheckMethod::Ocsp,
                    },
                    facts: a
                        .facts
                        .iter()
                        .map(|f| match f {
                            FactArg::Name => FactItem::Name,
                            FactArg::Address => FactItem::Address,
                            FactArg::BirthDate => FactItem::BirthDate,
                            FactArg::Sex => FactItem::Sex,
                        })
                        .collect(),
                    sensitive: !a.no_sensitive,
                })
                .await?;
            print(json_out, serde_json::to_value(&issued)?, || {
                format!("tenant {} added; API key (shown once): {}", issued.tenant.id, issued.api_key)
            })
        }
        Command::Evidence(e) => evidence(e, json_out).await,
        Command::Report { common, month, tenant } => {
            let p = open(&common, |_| {}).await?;
            let month = month.unwrap_or_else(|| hanko_platform::jst_month(time::OffsetDateTime::now_utc()));
            let report = match p.meter_report(&month, tenant.as_deref()).await {
                Ok(r) => r,
                Err(e @ hanko_platform::PlatformError::Invalid(_)) => {
                    return Err(Failure::bad_input("bad-input", e.to_string()).into())
                }
                Err(e) => return Err(e.into()),
            };
            print(json_out, serde_json::to_value(&report)?, || {
                let mut out = format!("meter {} (JST)\n", report.month);
                for l in &report.lines {
                    out.push_str(&format!(
                        "{:<16} {:>12}/{:<12} {:<44} {:>8} {:>8} yen\n",
                        l.tenant_id, l.sp_id, l.service_id, l.kind, l.count, l.yen
                    ));
                }
                out.push_str(&format!("total {} yen", report.total_yen));
                out
            })
        }
        Command::DisableKey { common, key_file } => {
            let key = std::fs::read_to_string(&key_file).with_context(|| format!("reading {}", key_file.display()))?;
            let p = open(&common, |c| c.load_crls = false).await?;
            p.disable_key(&key).await?;
            print(json_out, json!({"disabled": true}), || "the key is disabled".to_owned())
        }
        Command::TenantKey { common, id } => {
            let p = open(&common, |_| {}).await?;
            let issued = p.add_tenant_key(&id).await?;
            print(json_out, serde_json::to_value(&issued)?, || {
                format!("new API key for {} (shown once): {}", issued.tenant.id, issued.api_key)
            })
        }
    }
}

async fn serve(s: ServeArgs) -> Result<ExitCode> {
    crate::ops::init_logs(s.ops.log_format);
    {
        use std::net::ToSocketAddrs;
        let addrs: Vec<std::net::SocketAddr> =
            s.listen.to_socket_addrs().with_context(|| format!("--listen {}", s.listen))?.collect();
        if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
            anyhow::bail!(
                "refusing to serve plain HTTP on {}, which is not a loopback address: API keys would travel in \
                 clear. Put a TLS-terminating proxy in front and listen on loopback",
                s.listen
            );
        }
    }
    let refresh = std::time::Duration::from_secs(s.crl_refresh.max(1));
    let checkpoints = std::time::Duration::from_secs(s.checkpoint_interval.max(1));
    let challenge_lifetime = std::time::Duration::from_secs(s.challenge_lifetime);
    let jwe_policy = hanko_pki::jwe::JwePolicy::from_names(&s.jwe_alg, &s.jwe_enc)
        .map_err(|e| Failure::bad_input("bad-input", format!("--jwe-alg/--jwe-enc: {e}")))?;
    let monitoring = std::time::Duration::from_secs(s.monitoring_interval.max(60));
    let p = open(&s.common, |config| {
        config.crl_refresh = refresh;
        config.jwe_policy = jwe_policy;
        config.load_crls = true;
        config.monitoring_interval = monitoring;
        config.checkpoint_interval = checkpoints;
        config.challenge_lifetime = challenge_lifetime;
        config.webhook_ca = s.webhook_ca.clone();
        config.metrics_public = s.ops.public_metrics;
    })
    .await?;
    let listener =
        tokio::net::TcpListener::bind(&s.listen).await.with_context(|| format!("listening on {}", s.listen))?;
    let addr = listener.local_addr()?;
    // The first line on stdout is the URL, so scripts can read it.
    println!("http://{addr}");
    eprintln!(
        "hanko platform on http://{addr} (data {}, authority {}); API: http://{addr}/openapi.json; Ctrl-C stops",
        s.common.data_dir.display(),
        s.common.authority
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    hanko_platform::serve(p, listener, stop).await?;
    Ok(ExitCode::SUCCESS)
}

async fn evidence(cmd: EvidenceCommand, json_out: bool) -> Result<ExitCode> {
    match cmd {
        EvidenceCommand::Verify { common } => {
            let p = open(&common, |_| {}).await?;
            let report = p.verify_evidence_log().await?;
            let ok = report.problems.is_empty();
            print(json_out, serde_json::to_value(&report)?, || {
                let mut out = format!(
                    "evidence log: {} records ({} purged), {} tree nodes, {} checkpoints; root {}",
                    report.records, report.purged, report.nodes, report.checkpoints, report.root
                );
                for problem in &report.problems {
                    out.push_str(&format!("\n  PROBLEM: {problem}"));
                }
                if report.more_problems > 0 {
                    out.push_str(&format!("\n  … and {} more", report.more_problems));
                }
                out.push_str(if report.problems.is_empty() { "\nintact" } else { "\nNOT INTACT" });
                out
            })?;
            if ok {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(Failure::refused("evidence-log-inconsistent", "the evidence log is not intact").into())
            }
        }
        EvidenceCommand::Checkpoint { common } => {
            let p = open(&common, |_| {}).await?;
            let c = p.checkpoint().await?;
            let value = c.as_ref().map(|c| json!({"size": c.size, "note": c.note})).unwrap_or(json!(null));
            print(json_out, value, || match &c {
                Some(c) => c.note.clone(),
                None => "the evidence log is empty: no checkpoint".to_owned(),
            })
        }
        EvidenceCommand::Prove { common, id } => {
            let p = open(&common, |_| {}).await?;
            let proof = p.prove_evidence(&id, true).await?;
            println!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Export { common, id, out } => {
            let p = open(&common, |_| {}).await?;
            let bundle = serde_json::to_string_pretty(&p.export_evidence(&id).await?)?;
            match out {
                Some(path) => {
                    // The bundle holds the certificate, so personal data: owner-only.
                    hanko_store::write_atomic(&path, bundle.as_bytes(), 0o600)
                        .with_context(|| format!("writing {}", path.display()))?;
                    print(json_out, json!({"id": id, "bundle": path}), || {
                        format!("evidence bundle of {id} written to {}", path.display())
                    })
                }
                None => {
                    println!("{bundle}");
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        EvidenceCommand::CheckBundle { file, verifier_key, tsa_ca, extract } => {
            let text = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let bundle: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| Failure::bad_input("bad-input", format!("{} is not JSON: {e}", file.display())))?;
            if let Some(k) = &verifier_key {
                hanko_pki::tlog::NoteVerifier::parse(k)
                    .map_err(|e| Failure::bad_input("bad-input", format!("--verifier-key: {e}")))?;
            }
            let ca = match &tsa_ca {
                Some(path) => Some(crate::files::read_der(path)?),
                None => None,
            };
            let report = hanko_platform::check_bundle(&bundle, verifier_key.as_deref(), ca.as_deref())
                .map_err(|e| Failure::refused("evidence-bundle-invalid", format!("the bundle does not check: {e}")))?;
            if let Some(dir) = &extract {
                extract_bundle(&bundle, dir)?;
            }
            print(json_out, serde_json::to_value(&report)?, || {
                format!(
                    "bundle OK: record {} (leaf {}) is in checkpoint {} of {} (time-stamped {}), consistent with checkpoint {} (time-stamped {})\nsigned by {}{}",
                    report.id,
                    report.seq,
                    report.checkpoint_size,
                    report.origin,
                    report.checkpoint_time,
                    report.latest_size,
                    report.latest_time,
                    report.verifier_key,
                    if verifier_key.is_none() {
                        "\n(the bundle's own key and TSA CA: compare them with the ones the platform publishes, or pass --verifier-key and --tsa-ca)"
                    } else {
                        ""
                    }
                )
            })
        }
        EvidenceCommand::Purge { common, before } => {
            let date = hanko_pki::time::Date::parse(
                &before,
                &hanko_pki::time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| Failure::bad_input("bad-input", format!("--before {before}: not a YYYY-MM-DD date")))?;
            let p = open(&common, |_| {}).await?;
            let n = p
                .purge_evidence(date.midnight().assume_utc())
                .await
                .map_err(|e| Failure::bad_input("bad-input", e.to_string()))?;
            print(json_out, json!({"purged": n}), || {
                format!("{n} evidence records created before {before} emptied; their leaf hashes stay in the log")
            })
        }
    }
}

/// The files `openssl ts -verify -token_in` needs, per checkpoint of a bundle.
fn extract_bundle(bundle: &serde_json::Value, dir: &Path) -> Result<()> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    let decode = |v: &serde_json::Value| b64.decode(v.as_str().unwrap_or_default()).unwrap_or_default();
    for (key, name) in [("checkpoint", "checkpoint"), ("latest_checkpoint", "latest")] {
        write(&format!("{name}.note"), bundle[key]["note"].as_str().unwrap_or_default().as_bytes())?;
        write(&format!("{name}.tsr"), &decode(&bundle[key]["timestamp_token"]))?;
    }
    let pem = |der: Vec<u8>| {
        hanko_pki::der::pem::encode_string("CERTIFICATE", hanko_pki::der::pem::LineEnding::LF, &der)
            .map_err(|e| anyhow::anyhow!("PEM: {e}"))
    };
    write("tsa.pem", pem(decode(&bundle["log"]["tsa_certificate"]))?.as_bytes())?;
    write("tsa-ca.pem", pem(decode(&bundle["log"]["tsa_ca_certificate"]))?.as_bytes())?;
    Ok(())
}

async fn monitor(m: MonitorArgs, json_out: bool) -> Result<ExitCode> {
    let p = open(&m.common, |config| config.webhook_ca = m.webhook_ca.clone()).await?;
    loop {
        p.refresh_crls().await?;
        let report = p.run_monitoring().await?;
        let delivered = p.deliver_webhooks().await?;
        if m.once {
            let failed = !report.errors.is_empty();
            print(json_out, json!({"monitoring": report, "webhooks": delivered}), || {
                format!(
                    "{} users, {} certificates checked ({} revoked, {} reported to the authority); {} new events; \
                     webhooks: {} delivered, {} failed{}",
                    report.users,
                    report.certificates,
                    report.revoked,
                    report.reported,
                    report.events,
                    delivered.delivered,
                    delivered.failed,
                    report.errors.iter().map(|e| format!("\n  error: {e}")).collect::<String>()
                )
            })?;
            return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
        }
        tokio::time::sleep(std::time::Duration::from_secs(m.interval.max(60))).await;
    }
}
