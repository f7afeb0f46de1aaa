//! `hanko idp …` — the authentication app service (デジタル認証アプリ): an OpenID Connect
//! provider for the My Number Card authentication and signature APIs, a tenant of a platform
//! operator. Set-up, serving, client registration, key rotation. See docs/idp.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_idp::{ClaimFormat, Client, ClientConfig, Config, Devices, Idp, JweRecipient, NewClient, SystemClock};
use hanko_store::Db;
use serde_json::{json, Value};

use crate::cmd_authority::redacted;
use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Set up a provider in DATA_DIR: registers it as a tenant (SP事業者ID/サービスID, all 4
    /// facts) of a running platform operator with the platform's admin key, and keeps the
    /// tenant's API key (DATA_DIR/platform.key); makes the signing keys (DATA_DIR/keys), the
    /// pairwise-subject key (DATA_DIR/pairwise.key), the database, and an admin key for the
    /// provider's admin API (DATA_DIR/admin.key). Every secret file is mode 0600. Idempotent: a
    /// second run keeps what exists (and does not register again).
    Init(InitArgs),
    /// Run the provider over HTTP until Ctrl-C: the OpenID Connect endpoints at
    /// BASE/api/realms/main, the signature API, the web wallet and the app API, the admin API
    /// (OpenAPI at /openapi.json). SIGHUP reloads the signing keys (after `rotate-keys`).
    ///
    /// GET /healthz: the database. GET /metrics: Prometheus metrics (requests, latencies, logins
    /// and sign transactions by outcome), with the admin key unless --public-metrics. See
    /// docs/idp.md, "Metrics and health".
    Serve(ServeArgs),
    /// Registered clients (RPs): add, show, list, disable.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Add a new ES256 (ID tokens) and RS256 (access tokens) signing key. The new keys sign from
    /// the next start of `serve` (or at once after `kill -HUP` of a running one); the old keys
    /// stay published in the JWKS so that tokens they signed still verify.
    RotateKeys {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client (RP). On the database of DATA_DIR directly, or through a running
    /// provider's admin API with --url (and its admin key, DATA_DIR/admin.key or --admin-key-file).
    /// Prints the registration.
    Add(Box<AddArgs>),
    /// Show one client's registration (JSON).
    Show {
        #[command(flatten)]
        on: On,
        /// The client id.
        id: String,
    },
    /// List the client ids.
    List {
        #[command(flatten)]
        on: On,
    },
    /// Disable a client: it can no longer authorise nor authenticate at the token endpoint.
    Disable {
        #[command(flatten)]
        on: On,
        /// The client id.
        id: String,
    },
}

/// Where the provider keeps its data.
#[derive(Args, Clone)]
pub(crate) struct Common {
    /// The provider's data directory.
    #[arg(long, env = "HANKO_IDP_DIR", default_value = "hanko-idp")]
    pub(crate) data_dir: PathBuf,
    /// Database URL: sqlite:PATH or postgres://…  [default: sqlite:DATA_DIR/idp.sqlite]
    #[arg(long, env = "HANKO_IDP_DATABASE_URL")]
    pub(crate) database: Option<String>,
    /// The platform operator's base URL (logins and signatures are verified there).
    #[arg(long, env = "HANKO_PLATFORM_URL", default_value = "http://127.0.0.1:8450")]
    pub(crate) platform_url: String,
}

/// The database of DATA_DIR, or a running provider's admin API.
#[derive(Args, Clone)]
pub(crate) struct On {
    #[command(flatten)]
    common: Common,
    /// A running provider's base URL: use its admin API instead of the database.
    #[arg(long, env = "HANKO_IDP_URL")]
    url: Option<String>,
    /// The admin key for --url [default: DATA_DIR/admin.key].
    #[arg(long)]
    admin_key_file: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    common: Common,
    /// A file holding the platform operator's admin key (its DATA_DIR/admin.key), to register
    /// the provider as its tenant. Not needed when DATA_DIR/platform.key exists.
    #[arg(long)]
    platform_admin_key_file: Option<PathBuf>,
    /// The provider's SP事業者ID at the platform.
    #[arg(long, default_value = "DA")]
    sp_id: String,
    /// The provider's サービスID at the platform.
    #[arg(long, default_value = "idp")]
    service_id: String,
    /// The tenant's display name at the platform.
    #[arg(long, default_value = "hanko authentication app service")]
    name: String,
    /// The tenant's revocation check when a login names none (`acr_values`).
    #[arg(long, value_enum, default_value = "crl")]
    check_method: CheckArg,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    ops: crate::ops::ServeOps,
    /// Address to listen on (plain HTTP: loopback only; put a TLS proxy in front otherwise).
    #[arg(long, default_value = "127.0.0.1:8460")]
    listen: String,
    /// The public base URL, no trailing slash: the issuer is BASE/api/realms/main. [default:
    /// http://LISTEN, with the port the listener got]
    #[arg(long, env = "HANKO_IDP_BASE_URL")]
    base_url: Option<String>,
    /// Leave `iss` out of authorization responses. By default they carry it (RFC 9207, as
    /// Keycloak 23+ does); some RPs written against older servers break on it.
    #[arg(long)]
    no_iss_in_response: bool,
    /// Sandbox: the authority's data directory, whose emulated cards the web wallet lists.
    #[arg(long)]
    cards_dir: Option<PathBuf>,
    /// The CV root public key (DER SubjectPublicKeyInfo) the cards' input-assist data chains
    /// to, needed to give the 4 facts or the My Number [default: CARDS_DIR/cv/root.spki.der
    /// when --cards-dir is given].
    #[arg(long)]
    cv_root: Option<PathBuf>,
    /// How long an authorization request waits for the user, in seconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(30..=86_400))]
    request_lifetime: u64,
}

#[derive(Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    on: On,
    /// The client id (1–255 of A-Z a-z 0-9) [default: RP + 8 random digits].
    #[arg(long)]
    client_id: Option<String>,
    /// The name the user is shown (1–200 characters).
    #[arg(long)]
    name: String,
    /// A redirect URI, matched exactly (repeatable, 1–20).
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// A file holding the client's public keys for its client assertions: a JWKS
    /// ({"keys": […]}) or one JWK; RSA (RS256) or P-256 (ES256) keys.
    #[arg(long, conflicts_with = "jwks_uri", required_unless_present = "jwks_uri")]
    jwks_file: Option<PathBuf>,
    /// Where the client publishes its JWKS instead (fetched and cached by the provider).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// The My Number Act purpose (番号法 別表 item) the client is authorised for: only then may
    /// it ask for scope my_number.
    #[arg(long)]
    my_number_purpose: Option<String>,
    /// How the 4 facts are written: jpki (strings, "19850315", "1") or oidc (OpenID Connect
    /// standard claims: "1985-03-15", "female", {"formatted": …}).
    #[arg(long, value_enum, default_value = "jpki")]
    claim_format: FormatArg,
    /// The signature API: the JWKS URL of the key sign results (JWE) are addressed to — in
    /// practice the platform operator's GET /v1/jwks.
    #[arg(long, conflicts_with = "sign_result_jwk_file")]
    sign_result_jwks_uri: Option<String>,
    /// The signature API: a file with the RSA public JWK sign results are addressed to.
    #[arg(long)]
    sign_result_jwk_file: Option<PathBuf>,
    /// The sign result's JWE key management algorithm (RSA-OAEP-256, RSA-OAEP).
    #[arg(long, default_value = "RSA-OAEP-256")]
    jwe_alg: String,
    /// The sign result's JWE content encryption (A256GCM, A192GCM, A128GCM, A256CBC-HS512, …).
    #[arg(long, default_value = "A256GCM")]
    jwe_enc: String,
    /// The test-card substitute (認証API/署名APIテストレスポンス設定画面): the authorization page
    /// offers canned outcomes (正常 with a test card, or 異常 with an error) instead of the
    /// app. Exclusive: such a client cannot log in with a card. Sandbox only.
    #[arg(long)]
    substitute: bool,
    /// Which devices may log in: the card, a smartphone certificate, or either.
    #[arg(long, value_enum, default_value = "either")]
    devices: DevicesArg,
    /// A government body (行政機関): the signature API checks the signers' certificates and
    /// refuses invalid ones. Without it (private services) the signature and the certificate
    /// are returned unchecked, for the service's platform operator to verify.
    #[arg(long)]
    government: bool,
    /// The revocation check when a request's acr_values names none.
    #[arg(long, value_enum, default_value = "crl")]
    check_method: CheckArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    /// The authentication app service's strings.
    Jpki,
    /// OpenID Connect's standard claims.
    Oidc,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DevicesArg {
    /// The My Number Card only.
    Card,
    /// A smartphone certificate only.
    Phone,
    /// Either.
    Either,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum CheckArg {
    /// The CRLs.
    Crl,
    /// OCSP per login.
    Ocsp,
}

impl CheckArg {
    fn as_str(self) -> &'static str {
        match self {
            CheckArg::Crl => "crl",
            CheckArg::Ocsp => "ocsp",
        }
    }
}

fn database_url(c: &Common) -> String {
    c.database.clone().unwrap_or_else(|| format!("sqlite:{}", c.data_dir.join("idp.sqlite").display()))
}

/// Opens the provider of a data directory made by `hanko idp init`.
async fn open(c: &Common, configure: impl FnOnce(&mut Config)) -> Result<Arc<Idp>> {
    if !c.data_dir.join(hanko_idp::PLATFORM_KEY_FILE).exists() {
        return Err(Failure::bad_input(
            "idp-not-initialised",
            format!(
                "no provider in {} (no {}): run `hanko idp init` first",
                c.data_dir.display(),
                hanko_idp::PLATFORM_KEY_FILE
            ),
        )
        .into());
    }
    let url = database_url(c);
    let db = Db::connect(&url).await.with_context(|| format!("opening the database {}", redacted(&url)))?;
    let mut config = Config::new(&c.data_dir, "http://127.0.0.1:8460", &c.platform_url);
    configure(&mut config);
    Ok(Arc::new(Idp::open(db, config, Arc::new(SystemClock)).await?))
}

fn read_secret_file(path: &Path, what: &str) -> Result<zeroize::Zeroizing<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))?;
    let key = zeroize::Zeroizing::new(text.trim().to_owned());
    if key.is_empty() {
        return Err(Failure::bad_input("bad-input", format!("{} is empty", path.display())).into());
    }
    Ok(key)
}

fn print(json_out: bool, value: &Value, text: impl FnOnce() -> String) -> Result<ExitCode> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(cmd: Command, json_out: bool) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run_async(cmd, json_out))
}

async fn run_async(cmd: Command, json_out: bool) -> Result<ExitCode> {
    match cmd {
        Command::Init(i) => init(i, json_out).await,
        Command::Serve(s) => serve(s).await,
        Command::Client(c) => client(c, json_out).await,
        Command::RotateKeys { common } => {
            if !common.data_dir.join(hanko_idp::keys::KEYS_DIR).exists() {
                return Err(Failure::bad_input(
                    "idp-not-initialised",
                    format!("no signing keys in {}: run `hanko idp init` first", common.data_dir.display()),
                )
                .into());
            }
            let kids = hanko_idp::keys::rotate(&common.data_dir)?;
            print(json_out, &json!({"new_kids": kids}), || {
                format!(
                    "new signing keys {}: they sign from the next start of `hanko idp serve`, or at once after \
                     `kill -HUP` of the running one; the old keys stay published",
                    kids.join(", ")
                )
            })
        }
    }
}

async fn init(i: InitArgs, json_out: bool) -> Result<ExitCode> {
    let c = &i.common;
    std::fs::create_dir_all(&c.data_dir).with_context(|| format!("creating {}", c.data_dir.display()))?;
    let key_path = c.data_dir.join(hanko_idp::PLATFORM_KEY_FILE);
    let mut tenant = Value::Null;
    if !key_path.exists() {
        let Some(admin_file) = &i.platform_admin_key_file else {
            return Err(Failure::bad_input(
                "bad-input",
                "give --platform-admin-key-file (the platform's admin.key) to register the provider as its tenant",
            )
            .into());
        };
        let admin = read_secret_file(admin_file, "the platform's admin key")?;
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build()?;
        let url = format!("{}/v1/admin/tenants", c.platform_url.trim_end_matches('/'));
        let resp = http
            .post(&url)
            .bearer_auth(admin.as_str())
            .json(&json!({
                "sp_id": i.sp_id, "service_id": i.service_id, "name": i.name,
                "facts": ["name", "address", "birth_date", "sex"], "check_method": i.check_method.as_str(),
            }))
            .send()
            .await
            .with_context(|| format!("registering at the platform {url}"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let detail = body.get("detail").and_then(Value::as_str).unwrap_or("no detail");
            return Err(Failure::bad_input(
                "platform-registration",
                format!("the platform refused the registration (HTTP {status}): {detail}"),
            )
            .into());
        }
        let key = body.get("api_key").and_then(Value::as_str).context("the platform's answer has no api_key")?;
        hanko_store::create_new(&key_path, key.as_bytes(), 0o600)
            .with_context(|| format!("writing {}", key_path.display()))?;
        tenant = body.get("tenant").cloned().unwrap_or(Value::Null);
    }
    let idp = open(c, |_| {}).await?;
    let admin_path = c.data_dir.join(hanko_idp::ADMIN_KEY_FILE);
    if !admin_path.exists() {
        let key = idp.add_admin_key().await?;
        hanko_store::create_new(&admin_path, key.as_bytes(), 0o600)
            .with_context(|| format!("writing {}", admin_path.display()))?;
    }
    let registered = !tenant.is_null();
    print(
        json_out,
        &json!({"data_dir": c.data_dir, "tenant": tenant, "platform_key": key_path, "admin_key": admin_path}),
        || {
            format!(
                "provider ready in {}{}; platform API key in {}; admin API key in {}. Register clients with \
                 `hanko idp client add`, then `hanko idp serve`",
                c.data_dir.display(),
                if registered {
                    format!(" (tenant {}/{} of {})", i.sp_id, i.service_id, c.platform_url)
                } else {
                    String::new()
                },
                key_path.display(),
                admin_path.display()
            )
        },
    )
}

async fn serve(s: ServeArgs) -> Result<ExitCode> {
    crate::ops::init_logs(s.ops.log_format);
    {
        use std::net::ToSocketAddrs;
        let addrs: Vec<std::net::SocketAddr> =
            s.listen.to_socket_addrs().with_context(|| format!("--listen {}", s.listen))?.collect();
        if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
            anyhow::bail!(
                "refusing to serve plain HTTP on {}, which is not a loopback address: tokens and keys would travel \
                 in clear. Put a TLS-terminating proxy in front, listen on loopback and give --base-url",
                s.listen
            );
        }
    }
    if let Some(b) = &s.base_url {
        if !(b.starts_with("https://") || b.starts_with("http://")) || reqwest::Url::parse(b).is_err() {
            return Err(Failure::bad_input("bad-input", format!("--base-url {b:?} is not an http(s) URL")).into());
        }
    }
    let listener =
        tokio::net::TcpListener::bind(&s.listen).await.with_context(|| format!("listening on {}", s.listen))?;
    let addr = listener.local_addr()?;
    let base = s.base_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let cv_root = s.cv_root.clone().or_else(|| s.cards_dir.as_ref().map(|d| d.join("cv").join("root.spki.der")));
    let idp = open(&s.common, |config| {
        *config = Config::new(&s.common.data_dir, &base, &s.common.platform_url);
        config.authorization_response_iss = !s.no_iss_in_response;
        config.cards_dir = s.cards_dir.clone();
        config.cv_root = cv_root.clone();
        config.request_lifetime = std::time::Duration::from_secs(s.request_lifetime);
        config.metrics_public = s.ops.public_metrics;
    })
    .await?;
    // The first line on stdout is the URL, so scripts can read it.
    println!("http://{addr}");
    eprintln!(
        "hanko idp on http://{addr}: issuer {}/api/realms/main (platform {}, data {}); API: \
         http://{addr}/openapi.json; SIGHUP reloads the signing keys; Ctrl-C stops",
        base.trim_end_matches('/'),
        s.common.platform_url,
        s.common.data_dir.display()
    );
    let reload = idp.clone();
    let hup = tokio::spawn(async move {
        let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        while signal.recv().await.is_some() {
            match reload.reload_keys() {
                Ok(()) => eprintln!("hanko idp: signing keys reloaded"),
                Err(e) => eprintln!("hanko idp: reloading the signing keys failed, the old ones still sign: {e}"),
            }
        }
    });
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let result = hanko_idp::serve(idp, listener, stop).await;
    hup.abort();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// A JSON file: a JWKS, or one JWK made a JWKS.
fn read_jwks(path: &Path) -> Result<Value> {
    let v = read_json(path)?;
    Ok(if v.get("keys").is_some() { v } else { json!({"keys": [v]}) })
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text)
        .map_err(|e| Failure::bad_input("bad-input", format!("{} is not JSON: {e}", path.display())).into())
}

fn new_client(a: &AddArgs) -> Result<NewClient> {
    let sign_result = match (&a.sign_result_jwks_uri, &a.sign_result_jwk_file) {
        (None, None) => None,
        (uri, file) => Some(JweRecipient {
            jwks_uri: uri.clone(),
            jwk: match file {
                Some(f) => {
                    let v = read_json(f)?;
                    // A JWKS: its first RSA key.
                    Some(match v.get("keys").and_then(Value::as_array) {
                        Some(keys) => keys
                            .iter()
                            .find(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
                            .cloned()
                            .ok_or_else(|| Failure::bad_input("bad-input", format!("no RSA key in {}", f.display())))?,
                        None => v,
                    })
                }
                None => None,
            },
            alg: a.jwe_alg.clone(),
            enc: a.jwe_enc.clone(),
        }),
    };
    Ok(NewClient {
        client_id: a.client_id.clone(),
        name: a.name.clone(),
        config: ClientConfig {
            redirect_uris: a.redirect_uris.clone(),
            jwks: a.jwks_file.as_deref().map(read_jwks).transpose()?,
            jwks_uri: a.jwks_uri.clone(),
            my_number_purpose: a.my_number_purpose.clone(),
            claim_format: match a.claim_format {
                FormatArg::Jpki => ClaimFormat::Jpki,
                FormatArg::Oidc => ClaimFormat::Oidc,
            },
            sign_result,
            substitute: a.substitute,
            devices: match a.devices {
                DevicesArg::Card => Devices::Card,
                DevicesArg::Phone => Devices::Phone,
                DevicesArg::Either => Devices::Either,
            },
            government: a.government,
            check_method: a.check_method.as_str().to_owned(),
        },
    })
}

/// The registration as the admin API writes it.
fn body_of(n: &NewClient) -> Result<Value> {
    let mut body = serde_json::to_value(&n.config)?;
    body["name"] = json!(n.name);
    if let Some(id) = &n.client_id {
        body["client_id"] = json!(id);
    }
    Ok(body)
}

/// A running provider's admin API.
struct Admin {
    base: String,
    key: zeroize::Zeroizing<String>,
    http: reqwest::Client,
}

impl Admin {
    fn new(on: &On, url: &str) -> Result<Admin> {
        let file = on.admin_key_file.clone().unwrap_or_else(|| on.common.data_dir.join(hanko_idp::ADMIN_KEY_FILE));
        Ok(Admin {
            base: url.trim_end_matches('/').to_owned(),
            key: read_secret_file(&file, "the provider's admin key")?,
            http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?,
        })
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(self.key.as_str());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("reaching the provider at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let detail = body.get("detail").and_then(Value::as_str).unwrap_or(text.as_str()).to_owned();
        let code = match status.as_u16() {
            404 => "not-found",
            409 => "conflict",
            401 | 403 => "forbidden",
            _ => "bad-input",
        };
        Err(Failure::bad_input(code, format!("the provider answered HTTP {status}: {detail}")).into())
    }
}

fn client_text(c: &Value) -> String {
    let mut out = format!(
        "client {} ({}){}\n  redirect URIs: {}",
        c["id"].as_str().unwrap_or_default(),
        c["name"].as_str().unwrap_or_default(),
        if c["disabled"] == true { " DISABLED" } else { "" },
        c["config"]["redirect_uris"]
            .as_array()
            .map(|u| u.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    );
    let cfg = &c["config"];
    let keys = match (cfg.get("jwks_uri").and_then(Value::as_str), cfg["jwks"]["keys"].as_array()) {
        (Some(u), _) => format!("JWKS at {u}"),
        (None, Some(k)) => format!("{} registered key(s)", k.len()),
        _ => "none".into(),
    };
    out.push_str(&format!("\n  assertion keys: {keys}"));
    out.push_str(&format!(
        "\n  claims: {}, devices: {}, revocation check: {}",
        cfg["claim_format"].as_str().unwrap_or("jpki"),
        cfg["devices"].as_str().unwrap_or("either"),
        cfg["check_method"].as_str().unwrap_or("crl")
    ));
    if let Some(p) = cfg.get("my_number_purpose").and_then(Value::as_str) {
        out.push_str(&format!("\n  My Number purpose: {p}"));
    }
    if let Some(r) = cfg.get("sign_result").filter(|r| r.is_object()) {
        let to =
            r.get("jwks_uri").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| "a registered JWK".into());
        out.push_str(&format!(
            "\n  signature API: results to {to} ({} + {})",
            r["alg"].as_str().unwrap_or_default(),
            r["enc"].as_str().unwrap_or_default()
        ));
    }
    if cfg["substitute"] == true {
        out.push_str("\n  test-card substitute: on (no card logins)");
    }
    out
}

async fn client(cmd: ClientCommand, json_out: bool) -> Result<ExitCode> {
    let on = match &cmd {
        ClientCommand::Add(a) => a.on.clone(),
        ClientCommand::Show { on, .. } | ClientCommand::List { on } | ClientCommand::Disable { on, .. } => on.clone(),
    };
    if let Some(url) = &on.url {
        let admin = Admin::new(&on, url)?;
        use reqwest::Method;
        return match cmd {
            ClientCommand::Add(a) => {
                let c = admin.send(Method::POST, "/api/admin/clients", Some(body_of(&new_client(&a)?)?)).await?;
                print(json_out, &c, || format!("registered {}", client_text(&c)))
            }
            ClientCommand::Show { id, .. } => {
                let c = admin.send(Method::GET, &format!("/api/admin/clients/{}", path_segment(&id)?), None).await?;
                print(json_out, &c, || client_text(&c))
            }
            ClientCommand::List { .. } => {
                let v = admin.send(Method::GET, "/api/admin/clients", None).await?;
                print(json_out, &v, || list_text(&v))
            }
            ClientCommand::Disable { id, .. } => {
                admin.send(Method::POST, &format!("/api/admin/clients/{}/disable", path_segment(&id)?), None).await?;
                print(json_out, &json!({"disabled": id}), || format!("client {id} disabled"))
            }
        };
    }
    let idp = open(&on.common, |_| {}).await?;
    match cmd {
        ClientCommand::Add(a) => {
            let c: Client = idp.add_client(new_client(&a)?).await.map_err(idp_failure)?;
            let c = serde_json::to_value(&c)?;
            print(json_out, &c, || format!("registered {}", client_text(&c)))
        }
        ClientCommand::Show { id, .. } => {
            let c = idp
                .store()
                .client(&id)
                .await?
                .ok_or_else(|| Failure::bad_input("not-found", format!("no client {id}")))?;
            let c = serde_json::to_value(&c)?;
            print(json_out, &c, || client_text(&c))
        }
        ClientCommand::List { .. } => {
            let v = json!({"clients": idp.store().client_ids().await?});
            print(json_out, &v, || list_text(&v))
        }
        ClientCommand::Disable { id, .. } => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            if !idp.store().disable_client(&id, now).await? {
                return Err(Failure::bad_input("not-found", format!("no active client {id}")).into());
            }
            print(json_out, &json!({"disabled": id}), || format!("client {id} disabled"))
        }
    }
}

fn list_text(v: &Value) -> String {
    let ids: Vec<&str> =
        v["clients"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if ids.is_empty() {
        "no clients".into()
    } else {
        ids.join("\n")
    }
}

/// A client id as a URL path segment (only valid ids: they need no escaping).
fn path_segment(id: &str) -> Result<&str> {
    if hanko_idp::valid_client_id(id) {
        Ok(id)
    } else {
        Err(Failure::bad_input("bad-input", format!("{id:?} is not a client id (1–255 of A-Z a-z 0-9)")).into())
    }
}

/// The provider's refusals as the CLI's exit codes.
fn idp_failure(e: hanko_idp::IdpError) -> anyhow::Error {
    use hanko_idp::IdpError as E;
    match e {
        E::Invalid(m) => Failure::bad_input("bad-input", m).into(),
        E::Conflict(m) => Failure::bad_input("conflict", m).into(),
        E::NotFound(_) => Failure::bad_input("not-found", e.to_string()).into(),
        other => other.into(),
    }
}
