//! `hanko bench authority` — the authority service under load, each number next to a yardstick
//! measured in the same run:
//!
//! 1. **OCSP over HTTP**: responses/s of `hanko authority serve` (a child process) answering
//!    `GET /ocsp/<base64>` from its pre-signed cache, against nginx serving the very same
//!    response bytes as static files at the same paths; the same `wrk` drives both (same
//!    threads, connections, duration, Lua script, `Authorization` header). Both servers get the
//!    same worker count (`--workers`, default all cores: hanko's tokio runtime through
//!    `TOKIO_WORKER_THREADS`, nginx's `worker_processes`); rounds alternate hanko/nginx and the
//!    best of each is kept. Secondary: the nonce path (signed afresh per request) against
//!    `openssl speed rsa2048` sign/s.
//! 2. **CRL regeneration**: one CA generation's register filled with N revoked certificates
//!    (bulk INSERTs straight into `certificates`), then `Authority::publish_crls` timed; against
//!    `openssl crl -noout` parsing the produced file and the CRL builder alone on N entries in
//!    memory.
//! 3. **Issuance**: `issue_for_key` certificates/s, sequential and with 2 concurrent tasks,
//!    against `openssl speed rsa2048` sign/s, with the parts (a committed write, a signature)
//!    measured on their own; on PostgreSQL too when `HANKO_TEST_POSTGRES` is set.
//!
//! Timings are reported, never asserted.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bench_crl::{reset_peak_rss, rss_kb, Fast};
use anyhow::{bail, ensure, Context, Result};
use clap::ValueEnum;
use hanko_authority::{Authority, Config, NewPerson, Repository, Role, SqlStore, SystemClock, CRL_PAGE};
use hanko_pki::crl::{daily_window, CrlBuilder, CrlEntry};
use hanko_pki::ocsp::{build_request, verify_response, CertIdentity};
use hanko_pki::time::{self, OffsetDateTime};
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{
    auth_subject, opaque_auth_id, BasicFacts, BirthDate, CaKind, CertKind, Profile, RevocationStatus, Serial, Sex,
    Signer, SoftwareKey,
};
use hanko_store::sqlx::{self, Executor};
use hanko_store::Db;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};

use crate::bench_verify::openssl_rsa2048;

/// The parts of the benchmark.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Phase {
    /// OCSP responses/s over HTTP vs nginx.
    Ocsp,
    /// CRL regeneration from an N-entry register.
    Crl,
    /// Certificates issued per second.
    Issue,
}

/// Options of `hanko bench authority`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Which parts to run.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "ocsp,crl,issue")]
    phases: Vec<Phase>,
    /// Working directory: each part works in a fresh subdirectory (ocsp/, crl/, issue/, replaced
    /// if present), removed afterwards.
    #[arg(long, default_value = "target/bench-authority")]
    dir: PathBuf,
    /// Keep the working directory (databases, CRL, nginx.conf, wrk script) afterwards.
    #[arg(long)]
    keep: bool,
    /// OCSP: certificates the load cycles through (one URL each).
    #[arg(long, default_value_t = 64)]
    ocsp_certs: usize,
    /// OCSP: seconds per wrk run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// OCSP: wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// OCSP: wrk connections (keep-alive).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// OCSP: alternating hanko/nginx rounds; the best of each is kept.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// OCSP: server workers for both hanko (tokio worker threads) and nginx (worker_processes)
    /// [default: all cores].
    #[arg(long)]
    workers: Option<usize>,
    /// CRL: revoked certificates in the register (20000000 for the national scale).
    #[arg(long, default_value_t = 1_000_000)]
    crl_entries: u64,
    /// Issuance: certificates per measurement.
    #[arg(long, default_value_t = 200)]
    issue: usize,
    /// Seconds of `openssl speed rsa2048` (the RSA yardstick).
    #[arg(long, default_value_t = 3)]
    openssl_seconds: u64,
    /// Print one JSON object on stdout instead of the table (progress stays on stderr).
    #[arg(long)]
    json: bool,
    /// Internal: publish the CRLs of the authority in this directory, in this fresh process,
    /// and print the time and peak RSS as JSON (the CRL part runs itself so).
    #[arg(long, hide = true)]
    publish_crl_in: Option<PathBuf>,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let Some(dir) = &args.publish_crl_in {
        return publish_here(&rt, dir);
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = args.dir.canonicalize()?;
    eprintln!("measuring openssl speed rsa2048 ({} s) …", args.openssl_seconds);
    let (openssl_sign, _) = openssl_rsa2048(args.openssl_seconds)?;
    let mut out = json!({ "openssl_rsa2048_sign_per_s": openssl_sign });
    let mut text = vec![format!(
        "hanko bench authority  ({} cores; openssl speed rsa2048: {openssl_sign:.0} sign/s on 1 core)",
        cores()
    )];
    let phases = [Phase::Ocsp, Phase::Crl, Phase::Issue];
    for phase in phases.into_iter().filter(|p| args.phases.contains(p)) {
        let (name, result) = match phase {
            Phase::Ocsp => ("ocsp", ocsp(args, &rt, &dir.join("ocsp"), openssl_sign)?),
            Phase::Crl => ("crl", crl(args, &rt, &dir.join("crl"))?),
            Phase::Issue => ("issue", issue(args, &rt, &dir.join("issue"), openssl_sign)?),
        };
        text.extend(result.1);
        out[name] = result.0;
    }
    if !args.keep {
        // Only what this run made: the phases' subdirectories, then the directory if empty.
        for phase in ["ocsp", "crl", "issue"] {
            let _ = std::fs::remove_dir_all(dir.join(phase));
        }
        let _ = std::fs::remove_dir(&dir);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", text.join("\n"));
    }
    Ok(ExitCode::SUCCESS)
}

type Report = (Value, Vec<String>);

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(crate) fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc())
}

/// Opens a fresh authority on `url` with files under `dir`; returns it and its database.
pub(crate) async fn authority(dir: &Path, url: &str) -> Result<(Arc<Authority>, Db)> {
    let db = Db::connect(url).await.with_context(|| format!("opening {url}"))?;
    let store: Arc<dyn Repository> = Arc::new(SqlStore::new(db.clone()).await?);
    let a = Authority::with_store(store, Config::sandbox(dir), Arc::new(SystemClock)).await?;
    Ok((Arc::new(a), db))
}

pub(crate) fn sqlite_url(dir: &Path) -> String {
    crate::cmd_authority::database_url(dir, None)
}

/// RFC 4648 §5 base64url without padding (the GET form's path segment needs no escaping then).
fn base64url(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

/// Prints "`<what>` … 12 s, RSS 800 MB" to stderr every 10 s until dropped.
struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(what: String) -> Heartbeat {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut next = Duration::from_secs(10);
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if start.elapsed() >= next {
                    let rss = rss_kb("VmRSS:").map(mb).unwrap_or_default();
                    eprintln!("  {what} … {} s, RSS {rss}", next.as_secs());
                    next += Duration::from_secs(10);
                }
            }
        });
        Heartbeat { stop, thread: Some(thread) }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Unique serials in the range of `Serial::random` (2^56 ≤ s < 2^63) that look random: the low
/// 56 bits are a bijection of the index (xor a key, times an odd constant, mod 2^56), so no two
/// indexes collide whatever the random top bits are.
struct Serials {
    key: u64,
    top: Fast,
}

impl Serials {
    const LOW: u64 = (1 << 56) - 1;

    fn new() -> Serials {
        Serials { key: OsRng.next_u64() & Serials::LOW, top: Fast(OsRng.next_u64()) }
    }

    fn get(&mut self, i: u64) -> u64 {
        let low = ((i ^ self.key).wrapping_mul(0x9e37_79b9_7f4a_7c15)) & Serials::LOW;
        let top = 1 + self.top.next() % 127;
        (top << 56) | low
    }
}

// ---------------------------------------------------------------------------------------------
// 1. OCSP over HTTP vs nginx

/// A server child process, stopped (SIGTERM, then SIGKILL) when dropped.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    pub(crate) _stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("  {} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) of process `pid` and its direct children (nginx's workers), in
/// clock ticks, from /proc.
pub(crate) fn cpu_ticks(pid: u32) -> u64 {
    // Fields after the `)` closing the command name: state ppid … utime (14th) stime (15th).
    let fields = |stat: &str| -> Option<(u32, u64)> {
        let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some((rest.get(1)?.parse().ok()?, rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?))
    };
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Some((ppid, ticks)) = std::fs::read_to_string(entry.path().join("stat")).ok().as_deref().and_then(fields)
        else {
            continue;
        };
        if p == pid || ppid == pid {
            total += ticks;
        }
    }
    total
}

pub(crate) fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn wait_listening(server: &mut Server, port: u16) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = server.child.try_wait()? {
            bail!("{} exited ({status}) before listening", server.name);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{} is not listening on port {port} after 20 s", server.name)
}

/// Starts `hanko authority serve` on `dir` (this binary) with `workers` tokio threads.
fn start_hanko(dir: &Path, workers: usize) -> Result<(Server, String)> {
    let log = std::fs::File::create(dir.join("serve.log"))?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["authority", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env_remove("HANKO_DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("TOKIO_WORKER_THREADS", workers.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("starting hanko authority serve")?;
    let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?);
    let mut server = Server { name: "hanko authority serve", child, _stdout: None };
    let mut url = String::new();
    stdout.read_line(&mut url)?;
    let url = url.trim().to_owned();
    server._stdout = Some(stdout);
    ensure!(url.starts_with("http://"), "hanko authority serve printed {url:?}; see {}/serve.log", dir.display());
    let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).context("port in the URL")?;
    wait_listening(&mut server, port)?;
    Ok((server, url))
}

/// Starts nginx serving `root` on 127.0.0.1:`port`: `worker_processes` = `workers` (the same
/// as hanko's tokio workers), keep-alive without a request limit (hyper has none either), no
/// access log, open-file cache on — its best static-file configuration.
fn start_nginx(dir: &Path, root: &Path, port: u16, workers: usize) -> Result<Server> {
    let root_user = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false);
    let d = dir.display();
    let conf = format!(
        "# Written by hanko bench authority.\n\
         daemon off;\n\
         {user}\
         worker_processes {workers};\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 sendfile on;\n\
         \x20 tcp_nopush on;\n\
         \x20 keepalive_requests 100000000;\n\
         \x20 keepalive_timeout 120s;\n\
         \x20 open_file_cache max=4096 inactive=120s;\n\
         \x20 client_body_temp_path {d}/tmp-body;\n\
         \x20 proxy_temp_path {d}/tmp-proxy;\n\
         \x20 fastcgi_temp_path {d}/tmp-fastcgi;\n\
         \x20 uwsgi_temp_path {d}/tmp-uwsgi;\n\
         \x20 scgi_temp_path {d}/tmp-scgi;\n\
         \x20 types {{ }}\n\
         \x20 default_type application/ocsp-response;\n\
         \x20 server {{\n\
         \x20   listen 127.0.0.1:{port};\n\
         \x20   root {root};\n\
         \x20 }}\n\
         }}\n",
        user = if root_user { "user root;\n" } else { "" },
        root = root.display(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    let child = Command::new("nginx")
        .args(["-e", &format!("{d}/error.log"), "-p"])
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting nginx (apt-get install nginx-light)")?;
    let mut server = Server { name: "nginx", child, _stdout: None };
    wait_listening(&mut server, port)?;
    Ok(server)
}

/// What wrk reported.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WrkRun {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) requests: f64,
    pub(crate) bytes: f64,
    pub(crate) errors: u64,
    pub(crate) non_2xx: u64,
}

fn wrk_duration_ms(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (v, unit) = s.split_at(split);
    let v: f64 = v.parse().ok()?;
    Some(match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => return None,
    })
}

fn wrk_bytes(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (v, unit) = s.split_at(split);
    let v: f64 = v.parse().ok()?;
    Some(
        v * match unit {
            "" | "B" => 1.0,
            "KB" => 1024.0,
            "MB" => 1024.0 * 1024.0,
            "GB" => 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        },
    )
}

pub(crate) fn parse_wrk(text: &str) -> Result<WrkRun> {
    let mut r = WrkRun::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["Requests/sec:", v] => r.rps = v.parse()?,
            ["50%", v] => r.p50_ms = wrk_duration_ms(v).unwrap_or(f64::NAN),
            ["99%", v] => r.p99_ms = wrk_duration_ms(v).unwrap_or(f64::NAN),
            [n, "requests", "in", _, bytes, "read"] => {
                r.requests = n.parse()?;
                r.bytes = wrk_bytes(bytes).unwrap_or(f64::NAN);
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx = n.parse()?,
            ["Socket", "errors:", rest @ ..] => {
                r.errors = rest.iter().filter_map(|v| v.trim_end_matches(',').parse::<u64>().ok()).sum();
            }
            _ => {}
        }
    }
    ensure!(r.rps > 0.0, "could not read wrk's output:\n{text}");
    Ok(r)
}

fn wrk(args: &Args, script: &Path, base: &str, seconds: u64) -> Result<WrkRun> {
    let out = Command::new("wrk")
        .args(["-t", &args.threads.to_string(), "-c", &args.connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "--latency", "-s"])
        .arg(script)
        .arg(base)
        .output()
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success(), "wrk failed ({}): {}{}", out.status, text, String::from_utf8_lossy(&out.stderr));
    parse_wrk(&text)
}

/// A wrk script cycling GET over `paths`, each with `Authorization: Bearer <key>`.
fn wrk_script(path: &Path, paths: &[String], key: &str) -> Result<()> {
    let mut s = String::from("-- Written by hanko bench authority: GET /ocsp/<base64url>, cycling.\n");
    writeln!(s, "wrk.headers[\"Authorization\"] = \"Bearer {key}\"")?;
    s.push_str("local paths = {\n");
    for p in paths {
        writeln!(s, "  \"{p}\",")?;
    }
    s.push_str("}\nlocal n = #paths\nlocal i = 0\nrequest = function()\n  i = i % n + 1\n  return wrk.format(\"GET\", paths[i])\nend\n");
    std::fs::write(path, s)?;
    Ok(())
}

async fn fetch(http: &reqwest::Client, url: &str, key: &str) -> Result<Vec<u8>> {
    let resp = http.get(url).bearer_auth(key).send().await?;
    ensure!(resp.status().is_success(), "GET {url}: HTTP {}", resp.status());
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    ensure!(ct == "application/ocsp-response", "GET {url}: content-type {ct:?}");
    Ok(resp.bytes().await?.to_vec())
}

fn check_good(der: &[u8], issuer: &Certificate, id: &CertIdentity, nonce: Option<&[u8]>) -> Result<()> {
    let statuses = verify_response(der, issuer, std::slice::from_ref(id), nonce, now(), time::Duration::hours(1))
        .context("the responder's answer does not verify")?;
    ensure!(statuses[0].status == RevocationStatus::Good, "status {:?}, expected good", statuses[0].status);
    Ok(())
}

fn ocsp(args: &Args, rt: &tokio::runtime::Runtime, dir: &Path, openssl_sign: f64) -> Result<Report> {
    ensure!(args.ocsp_certs > 0, "--ocsp-certs must be at least 1");
    fresh_dir(dir)?;
    let workers = args.workers.unwrap_or_else(cores);
    let data = dir.join("authority");
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("ocsp"))?;

    // The authority: certificates for software keys, a platform verifier.
    eprintln!("ocsp: issuing {} certificates and registering a verifier …", args.ocsp_certs);
    let (serials, key, issuer) = rt.block_on(async {
        let (a, db) = authority(&data, &sqlite_url(&data)).await?;
        let holder = SoftwareKey::generate_rsa2048()?;
        let mut serials = Vec::with_capacity(args.ocsp_certs);
        for _ in 0..args.ocsp_certs {
            serials.push(a.issue_for_key(CertKind::Auth, None, holder.public_key().clone(), None).await?.serial);
        }
        let key = a.register_verifier(Role::Platform, "bench").await?.api_key;
        let issuer = a.cas()?.current(CaKind::Auth, now())?.ca.certificate().clone();
        drop(a);
        db.close().await;
        anyhow::Ok((serials, key, issuer))
    })?;
    let ids: Vec<CertIdentity> = serials.iter().map(|s| CertIdentity::new(&issuer, s)).collect::<Result<_, _>>()?;
    let paths: Vec<String> = ids
        .iter()
        .map(|id| Ok(format!("/ocsp/{}", base64url(&build_request(std::slice::from_ref(id), None)?))))
        .collect::<Result<_>>()?;
    let nonce = [0x5a_u8; 16];
    let nonce_path = format!("/ocsp/{}", base64url(&build_request(&ids[..1], Some(&nonce))?));

    // hanko's answers (this also fills its cache), each verified and fetched twice: the second
    // is the cached copy and must be the same bytes. nginx serves those bytes at the same paths.
    let (hanko, base) = start_hanko(&data, workers)?;
    eprintln!("ocsp: {base} (hanko, {workers} workers); fetching and verifying the answers …");
    let response_len = rt.block_on(async {
        let http = reqwest::Client::new();
        let mut len = 0;
        for (path, id) in paths.iter().zip(&ids) {
            let url = format!("{base}{path}");
            let first = fetch(&http, &url, &key).await?;
            check_good(&first, &issuer, id, None)?;
            let again = fetch(&http, &url, &key).await?;
            ensure!(again == first, "the second answer for {path} differs: not served from the cache");
            std::fs::write(www.join(path.trim_start_matches('/')), &first)?;
            len = first.len();
        }
        let fresh = fetch(&http, &format!("{base}{nonce_path}"), &key).await?;
        check_good(&fresh, &issuer, &ids[0], Some(&nonce))?;
        anyhow::Ok(len)
    })?;
    let port = free_port()?;
    let nginx = start_nginx(dir, &www, port, workers)?;
    let nginx_base = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        let http = reqwest::Client::new();
        let mut bytes = Vec::new();
        for (path, id) in paths.iter().zip(&ids).take(3) {
            bytes = fetch(&http, &format!("{nginx_base}{path}"), &key).await?;
            check_good(&bytes, &issuer, id, None)?;
        }
        anyhow::Ok(bytes)
    })?;

    let script = dir.join("ocsp-get.lua");
    wrk_script(&script, &paths, &key)?;
    let nonce_script = dir.join("ocsp-nonce.lua");
    wrk_script(&nonce_script, std::slice::from_ref(&nonce_path), &key)?;
    // A short warm-up of each, then alternating rounds.
    let _ = wrk(args, &script, &base, 1)?;
    let _ = wrk(args, &script, &nginx_base, 1)?;
    let (mut best_hanko, mut best_nginx) = (WrkRun::default(), WrkRun::default());
    // Server CPU per response over all rounds: (ticks, responses), for hanko and nginx.
    let (mut cpu_hanko, mut cpu_nginx) = ((0u64, 0f64), (0u64, 0f64));
    let (hanko_pid, nginx_pid) = (hanko.child.id(), nginx.child.id());
    for round in 1..=args.rounds.max(1) {
        for (name, url, best, cpu, pid) in [
            ("hanko", &base, &mut best_hanko, &mut cpu_hanko, hanko_pid),
            ("nginx", &nginx_base, &mut best_nginx, &mut cpu_nginx, nginx_pid),
        ] {
            eprintln!("ocsp: round {round}/{}: {name}, wrk {} s …", args.rounds.max(1), args.seconds);
            let before = cpu_ticks(pid);
            let r = wrk(args, &script, url, args.seconds)?;
            cpu.0 += cpu_ticks(pid).saturating_sub(before);
            cpu.1 += r.requests;
            eprintln!("  {:.0} responses/s, p50 {:.2} ms, p99 {:.2} ms", r.rps, r.p50_ms, r.p99_ms);
            ensure!(r.errors == 0 && r.non_2xx == 0, "{name}: {} socket errors, {} non-2xx", r.errors, r.non_2xx);
            if r.rps > best.rps {
                *best = r;
            }
        }
    }
    eprintln!("ocsp: nonce path (signed per request), wrk {} s …", args.seconds);
    let fresh = wrk(args, &nonce_script, &base, args.seconds)?;
    ensure!(
        fresh.errors == 0 && fresh.non_2xx == 0,
        "nonce path: {} socket errors, {} non-2xx",
        fresh.errors,
        fresh.non_2xx
    );
    // Still the same answers after the load (the cache was hit, not bypassed into errors).
    rt.block_on(async {
        let http = reqwest::Client::new();
        let again = fetch(&http, &format!("{base}{}", paths[0]), &key).await?;
        check_good(&again, &issuer, &ids[0], None)
    })?;
    drop(nginx);
    drop(hanko);

    let ratio = best_hanko.rps / best_nginx.rps;
    let tick = clock_ticks_per_s();
    let cpu_us = |c: (u64, f64)| c.0 as f64 / tick / c.1.max(1.0) * 1e6;
    let (hanko_cpu_us, nginx_cpu_us) = (cpu_us(cpu_hanko), cpu_us(cpu_nginx));
    let per_resp = |r: &WrkRun| r.bytes / r.requests.max(1.0);
    let value = json!({
        "certificates": args.ocsp_certs,
        "workers": workers,
        "wrk": {"threads": args.threads, "connections": args.connections, "seconds": args.seconds, "rounds": args.rounds},
        "response_bytes": response_len,
        "hanko_get_per_s": best_hanko.rps,
        "hanko_p50_ms": best_hanko.p50_ms,
        "hanko_p99_ms": best_hanko.p99_ms,
        "nginx_per_s": best_nginx.rps,
        "nginx_p50_ms": best_nginx.p50_ms,
        "nginx_p99_ms": best_nginx.p99_ms,
        "ratio_to_nginx": ratio,
        "hanko_cpu_us_per_response": hanko_cpu_us,
        "nginx_cpu_us_per_response": nginx_cpu_us,
        "hanko_nonce_per_s": fresh.rps,
        "nonce_ratio_to_openssl_sign_1core": fresh.rps / openssl_sign,
    });
    let lines = vec![
        format!(
            "OCSP over HTTP  (GET /ocsp/<b64> over {} certificates, {response_len}-byte answers; wrk -t{} -c{} -d{}s,",
            args.ocsp_certs, args.threads, args.connections, args.seconds
        ),
        format!(
            "                 keep-alive; {workers} server workers each; best of {} alternating rounds)",
            args.rounds
        ),
        format!(
            "  hanko pre-signed answers/s       {:>10.0}   p50 {:.2} ms  p99 {:.2} ms  ({:.0} B/response on the wire)",
            best_hanko.rps,
            best_hanko.p50_ms,
            best_hanko.p99_ms,
            per_resp(&best_hanko)
        ),
        format!(
            "  nginx, same bytes as files       {:>10.0}   p50 {:.2} ms  p99 {:.2} ms  ({:.0} B/response on the wire)",
            best_nginx.rps,
            best_nginx.p50_ms,
            best_nginx.p99_ms,
            per_resp(&best_nginx)
        ),
        format!(
            "  ratio                            {:>9.1} %   (goal ≥ 50 %)  {}",
            100.0 * ratio,
            verdict(ratio >= 0.5)
        ),
        format!(
            "  server CPU per response          hanko {hanko_cpu_us:.1} µs, nginx {nginx_cpu_us:.1} µs: nginx/hanko {:.1} %  \
             (all rounds; wrk shares the cores)",
            100.0 * nginx_cpu_us / hanko_cpu_us
        ),
        format!(
            "  nonce path (signed per request)  {:>10.0}   p50 {:.2} ms;  {:.1} % of openssl's 1-core sign/s",
            fresh.rps,
            fresh.p50_ms,
            100.0 * fresh.rps / openssl_sign
        ),
    ];
    Ok((value, lines))
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

// ---------------------------------------------------------------------------------------------
// 2. CRL regeneration

const FILL_ROWS_PER_INSERT: u64 = 1000;
const FILL_ROWS_PER_TRANSACTION: u64 = 250_000;

/// Fills the register with `n` revoked signature certificates of generation `generation`, held
/// by `person`: unique random serials, revoked in the last 5 years, valid for 30 days to 5 more
/// years, a 1-byte placeholder instead of the certificate. Multi-row INSERTs of literal values
/// (all generated numbers), large transactions.
pub(crate) async fn fill(db: &Db, generation: &str, person: &str, n: u64) -> Result<()> {
    ensure!(!generation.contains('\'') && !person.contains('\''), "unexpected quote in an id");
    let day = 86_400_i64;
    let t = now().unix_timestamp();
    let mut serials = Serials::new();
    let mut rng = Fast(OsRng.next_u64());
    // A big page cache while filling only (SQLite's default is 2 MB); reset before publishing.
    db.pool().execute("PRAGMA cache_size = -1048576").await?;
    let start = Instant::now();
    let mut last_report = Instant::now();
    let mut i = 0u64;
    let mut sql = String::new();
    while i < n {
        let mut tx = db.pool().begin().await?;
        let end = (i + FILL_ROWS_PER_TRANSACTION).min(n);
        while i < end {
            let m = FILL_ROWS_PER_INSERT.min(end - i);
            sql.clear();
            sql.push_str(
                "INSERT INTO certificates (serial, kind, ca_kind, generation, person_id, card_id, reserved_at, \
                 not_before, not_after, der, revoked_at, reason) VALUES ",
            );
            for j in 0..m {
                let serial = serials.get(i + j);
                let not_before = t - 5 * 365 * day + (rng.next() % (4 * 365 * day as u64)) as i64;
                let not_after = t + 30 * day + (rng.next() % (5 * 365 * day as u64)) as i64;
                let revoked_at = (not_before + (rng.next() % (t - day - not_before) as u64) as i64).max(not_before);
                let reason = rng.reason().0;
                let sep = if j == 0 { "" } else { "," };
                write!(
                    sql,
                    "{sep}('{serial:016X}','signature','signature','{generation}','{person}','-',{not_before},\
                     {not_before},{not_after},X'00',{revoked_at},{reason})"
                )?;
            }
            sqlx::raw_sql(&sql).execute(&mut *tx).await?;
            i += m;
        }
        tx.commit().await?;
        if last_report.elapsed() >= Duration::from_secs(5) || i == n {
            let s = start.elapsed().as_secs_f64();
            eprintln!("  filled {i} / {n} rows ({:.0} rows/s, {s:.0} s)", i as f64 / s);
            last_report = Instant::now();
        }
    }
    db.pool().execute("PRAGMA cache_size = -2000").await?;
    db.pool().execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    Ok(())
}

/// The publication process of the CRL part: `publish_crls()` on the authority in `dir`, timed,
/// with this process's peak RSS; prints JSON.
fn publish_here(rt: &tokio::runtime::Runtime, dir: &Path) -> Result<ExitCode> {
    let a = rt.block_on(authority(dir, &sqlite_url(dir)))?.0;
    let rss_before = rss_kb("VmRSS:").unwrap_or(0);
    let reset = reset_peak_rss();
    let beat = Heartbeat::start("crl: publishing".into());
    let start = Instant::now();
    let published = rt.block_on(a.publish_crls())?;
    let publish = start.elapsed();
    drop(beat);
    let peak = if reset { rss_kb("VmHWM:") } else { None };
    let crl = published.iter().find(|p| p.kind == CaKind::Signature).context("no signature CRL")?;
    let out = json!({
        "publish_s": publish.as_secs_f64(),
        "rss_before_kb": rss_before,
        "peak_rss_kb": peak,
        "generation": crl.generation,
        "entries": crl.entries,
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// `openssl crl -inform DER -noout` on `file`: wall time.
fn openssl_crl(file: &Path) -> Result<Duration> {
    let start = Instant::now();
    let out = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-in"])
        .arg(file)
        .output()
        .context("running openssl crl")?;
    let wall = start.elapsed();
    ensure!(out.status.success(), "openssl crl failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    Ok(wall)
}

fn crl(args: &Args, rt: &tokio::runtime::Runtime, dir: &Path) -> Result<Report> {
    let n = args.crl_entries;
    fresh_dir(dir)?;
    eprintln!("crl: filling a register with {n} revoked certificates …");
    let fill_start = Instant::now();
    rt.block_on(async {
        let (a, db) = authority(dir, &sqlite_url(dir)).await?;
        let person = a
            .add_person(NewPerson {
                facts: BasicFacts::new(
                    "試験　太郎",
                    Sex::MALE,
                    BirthDate::Known(time::macros::date!(1980 - 01 - 01)),
                    "東京都見本区試験町一丁目１番１号",
                )?,
                prefecture: "Tokyo-to".into(),
                municipality: "Mihon-ku".into(),
                ward: false,
            })
            .await?;
        let generation = a.cas()?.current(CaKind::Signature, now())?.id.clone();
        fill(&db, &generation, &person.id, n).await?;
        drop(a);
        db.close().await;
        anyhow::Ok(())
    })?;
    let fill_time = fill_start.elapsed();
    let db_bytes: u64 = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("authority.sqlite"))
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum();

    // publish_crls() in a fresh process, so the fill's memory (SQLite's page cache, kept by the
    // allocator) is not counted in, nor reused by, the publication.
    eprintln!("crl: publish_crls() in a fresh process …");
    let out = Command::new(std::env::current_exe()?)
        .args(["bench", "authority", "--publish-crl-in"])
        .arg(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running the publication process")?;
    ensure!(out.status.success(), "the publication process failed ({})", out.status);
    let child: Value = serde_json::from_slice(&out.stdout).context("the publication process's output")?;
    let publish = Duration::from_secs_f64(child["publish_s"].as_f64().context("publish_s")?);
    let rss_before = child["rss_before_kb"].as_u64().unwrap_or(0);
    let peak = child["peak_rss_kb"].as_u64();
    let generation = child["generation"].as_str().context("generation")?.to_owned();
    let listed = child["entries"].as_u64().context("entries")?;
    ensure!(listed == n, "the CRL lists {listed} entries, {n} expected");
    let file = dir.join("crl").join(format!("signature-{generation}.crl"));
    let crl_bytes = std::fs::metadata(&file).with_context(|| format!("{}", file.display()))?.len();
    let (a, db) = rt.block_on(authority(dir, &sqlite_url(dir)))?;

    // Where the time goes: SQLite walking the same rows in the same order, returning one row
    // (its own work); the register read page by page through the store (what publish_crls
    // reads, row by row through sqlx).
    eprintln!("crl: where the time goes: SQLite alone, then the pages through the store …");
    let (this_update, _) = daily_window(now());
    let (sqlite_walk, pages_read) = rt.block_on(async {
        let start = Instant::now();
        let row: (i64, i64) = sqlx::query_as(
            "SELECT count(*), sum(length(serial)) + sum(reason) FROM (SELECT serial, revoked_at, reason \
             FROM certificates WHERE ca_kind = $1 AND generation = $2 AND revoked_at IS NOT NULL \
             AND not_after >= $3 ORDER BY revoked_at, serial)",
        )
        .bind(CaKind::Signature.as_str())
        .bind(&generation)
        .bind(this_update.unix_timestamp())
        .fetch_one(db.pool())
        .await?;
        let sqlite_walk = start.elapsed();
        ensure!(u64::try_from(row.0)? == n, "SQLite counted {} rows", row.0);
        let start = Instant::now();
        let (mut cursor, mut read) = (None, 0u64);
        loop {
            let (page, next) =
                a.store().crl_page(CaKind::Signature, &generation, this_update, cursor.as_ref(), CRL_PAGE).await?;
            read += page.len() as u64;
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        ensure!(read == n, "the pages held {read} rows");
        anyhow::Ok((sqlite_walk, start.elapsed()))
    })?;

    // Yardsticks: openssl parsing the file, and the CRL builder alone on N entries in memory.
    eprintln!("crl: openssl crl -noout on the {:.0} MB file …", crl_bytes as f64 / 1e6);
    let runs = if n <= 5_000_000 { 3 } else { 1 };
    let openssl =
        (0..runs).map(|_| openssl_crl(&file)).collect::<Result<Vec<_>>>()?.into_iter().min().unwrap_or_default();
    eprintln!("crl: the CRL builder on {n} entries in memory …");
    let (this_update, next_update) = daily_window(now());
    let mut serials = Serials::new();
    let mut rng = Fast(OsRng.next_u64());
    let entries = (0..n).map(|i| CrlEntry {
        serial: Serial::from_u64(serials.get(i)),
        revoked_at: this_update - time::Duration::seconds((rng.next() % (5 * 365 * 86_400)) as i64),
        reason: rng.reason(),
    });
    let start = Instant::now();
    let der = {
        let cas = a.cas()?;
        let g = cas.current(CaKind::Signature, now())?;
        CrlBuilder::new(1, this_update, next_update).with_entries(entries).sign(&g.ca)?
    };
    let in_memory = start.elapsed();
    drop(der);
    drop(a);
    rt.block_on(db.close());

    let rate = n as f64 / publish.as_secs_f64();
    let value = json!({
        "entries": n,
        "fill_s": fill_time.as_secs_f64(),
        "database_bytes": db_bytes,
        "publish_s": publish.as_secs_f64(),
        "entries_per_s": rate,
        "rss_before_mb": rss_before as f64 / 1024.0,
        "peak_rss_mb": peak.map(|k| k as f64 / 1024.0),
        "crl_bytes": crl_bytes,
        "openssl_parse_s": openssl.as_secs_f64(),
        "ratio_to_openssl_parse": publish.as_secs_f64() / openssl.as_secs_f64(),
        "sqlite_walk_s": sqlite_walk.as_secs_f64(),
        "crl_pages_read_s": pages_read.as_secs_f64(),
        "in_memory_build_s": in_memory.as_secs_f64(),
        "ratio_to_in_memory_build": publish.as_secs_f64() / in_memory.as_secs_f64(),
    });
    let lines = vec![
        format!(
            "CRL regeneration  ({n} revoked in one generation; SQLite register {:.0} MB, filled in {:.0} s;\n                   publish_crls() in a fresh process)",
            db_bytes as f64 / 1e6,
            fill_time.as_secs_f64()
        ),
        format!(
            "  publish_crls()                   {:>8.2} s   {rate:.0} entries/s, CRL {:.1} MB ({:.1} B/entry)",
            publish.as_secs_f64(),
            crl_bytes as f64 / 1e6,
            crl_bytes as f64 / n.max(1) as f64
        ),
        format!(
            "  peak RSS of that process         {:>11}   (after opening the authority: {})",
            peak.map(mb).unwrap_or_else(|| "?".into()),
            mb(rss_before)
        ),
        format!(
            "  openssl crl -noout on the file   {:>8.2} s   ratio publish/parse {:.2}×",
            openssl.as_secs_f64(),
            publish.as_secs_f64() / openssl.as_secs_f64()
        ),
        format!(
            "  CRL builder alone, in memory     {:>8.2} s   ratio publish/in-memory {:.2}×  (the rest is reading the register)",
            in_memory.as_secs_f64(),
            publish.as_secs_f64() / in_memory.as_secs_f64()
        ),
        format!(
            "  where the time goes: the register read page by page (crl_page, {} queries of {CRL_PAGE} rows) {:.2} s,",
            n.div_ceil(CRL_PAGE as u64).max(1),
            pages_read.as_secs_f64()
        ),
        format!(
            "    of which SQLite's own walk of the rows {:.2} s (the rest: rows through sqlx Any, serials parsed); \
             the builder {:.2} s",
            sqlite_walk.as_secs_f64(),
            in_memory.as_secs_f64()
        ),
    ];
    Ok((value, lines))
}

// ---------------------------------------------------------------------------------------------
// 3. Issuance

/// Issuance timings on one backend.
struct IssueRates {
    /// Sequential certificates/s (total over all rounds).
    sequential: f64,
    sequential_p50_ms: f64,
    sequential_p90_ms: f64,
    /// Certificates/s with 2 concurrent tasks.
    concurrent: f64,
    /// A committed write on its own (`next_counter`: one upsert, one commit).
    commit_ms: f64,
    commit_p50_ms: f64,
    commit_p90_ms: f64,
}

fn quantile_ms(v: &mut [Duration], q: f64) -> f64 {
    v.sort();
    v.get(((v.len() as f64 - 1.0) * q).round() as usize).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn mean_ms(v: &[Duration]) -> f64 {
    v.iter().sum::<Duration>().as_secs_f64() * 1000.0 / v.len().max(1) as f64
}

/// Rounds of the issuance measurement: sequential, committed writes alone and concurrent
/// issuance alternate, so all three see the same disk (fsync latency on these machines drifts).
const ISSUE_ROUNDS: usize = 4;

/// Issues `m` certificates sequentially and `m` with 2 concurrent tasks, and makes `m`
/// committed writes on their own, in alternating rounds.
async fn issue_rates(a: &Arc<Authority>, m: usize, label: &str) -> Result<IssueRates> {
    let holder = SoftwareKey::generate_rsa2048()?;
    let spki = holder.public_key().clone();
    a.issue_for_key(CertKind::Auth, None, spki.clone(), None).await?; // warm-up
    let per = (m / ISSUE_ROUNDS).max(2);
    let (mut sequential, mut commits) = (Vec::new(), Vec::new());
    let mut concurrent = Duration::ZERO;
    for round in 1..=ISSUE_ROUNDS {
        eprintln!("issue ({label}): round {round}/{ISSUE_ROUNDS}: {per} sequential, {per} commits, {per} by 2 tasks …");
        for _ in 0..per {
            let start = Instant::now();
            a.issue_for_key(CertKind::Auth, None, spki.clone(), None).await?;
            sequential.push(start.elapsed());
        }
        for _ in 0..per {
            let start = Instant::now();
            a.store().next_counter("bench-commit").await?;
            commits.push(start.elapsed());
        }
        let start = Instant::now();
        let tasks: Vec<_> = (0..2)
            .map(|t| {
                let (a, spki) = (a.clone(), spki.clone());
                let count = per / 2 + usize::from(t == 0 && per % 2 == 1);
                tokio::spawn(async move {
                    for _ in 0..count {
                        a.issue_for_key(CertKind::Auth, None, spki.clone(), None).await?;
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        concurrent += start.elapsed();
    }
    let n = sequential.len() as f64;
    Ok(IssueRates {
        sequential: 1000.0 / mean_ms(&sequential),
        sequential_p50_ms: quantile_ms(&mut sequential, 0.5),
        sequential_p90_ms: quantile_ms(&mut sequential, 0.9),
        concurrent: n / concurrent.as_secs_f64(),
        commit_ms: mean_ms(&commits),
        commit_p50_ms: quantile_ms(&mut commits, 0.5),
        commit_p90_ms: quantile_ms(&mut commits, 0.9),
    })
}

fn rates_json(r: &IssueRates, openssl_sign: f64) -> Value {
    json!({
        "sequential_per_s": r.sequential,
        "sequential_p50_ms": r.sequential_p50_ms,
        "sequential_p90_ms": r.sequential_p90_ms,
        "concurrent2_per_s": r.concurrent,
        "commit_ms": r.commit_ms,
        "commit_p50_ms": r.commit_p50_ms,
        "commit_p90_ms": r.commit_p90_ms,
        "ratio_to_openssl_sign": r.sequential / openssl_sign,
    })
}

fn rates_lines(name: &str, r: &IssueRates, openssl_sign: f64) -> Vec<String> {
    vec![
        format!(
            "  {name:<11} sequential          {:>7.1} /s  ({:.2} ms each; p50 {:.2}, p90 {:.2})  {:.1} % of openssl sign/s",
            r.sequential,
            1000.0 / r.sequential,
            r.sequential_p50_ms,
            r.sequential_p90_ms,
            100.0 * r.sequential / openssl_sign
        ),
        format!("  {name:<11} 2 concurrent tasks  {:>7.1} /s", r.concurrent),
        format!(
            "  {name:<11} a 1-row commit      {:>7.2} ms (p50 {:.2}, p90 {:.2}; an upsert of a counter)",
            r.commit_ms, r.commit_p50_ms, r.commit_p90_ms
        ),
    ]
}

/// Writes per `issue_for_key` of an auth certificate: the person, its "registered" event, the
/// serial reservation, the signed certificate — each its own commit.
const WRITES_PER_ISSUE: f64 = 4.0;

fn issue(args: &Args, rt: &tokio::runtime::Runtime, dir: &Path, openssl_sign: f64) -> Result<Report> {
    let m = args.issue.max(ISSUE_ROUNDS * 2);
    fresh_dir(dir)?;
    let sqlite_dir = dir.join("sqlite");
    let (sqlite, no_fsync, sign_ms) = rt.block_on(async {
        let (a, db) = authority(&sqlite_dir, &sqlite_url(&sqlite_dir)).await?;
        let rates = issue_rates(&a, m, "SQLite").await?;
        // Attribution only: the same without an fsync per commit (WAL + synchronous=NORMAL is
        // not durable across a power cut; the service never runs so). One pooled connection.
        db.pool().execute("PRAGMA synchronous = NORMAL").await?;
        let no_fsync = issue_rates(&a, m, "SQLite, synchronous=NORMAL").await?;
        db.pool().execute("PRAGMA synchronous = FULL").await?;
        // The signature on its own: what issue_certificate does between the writes.
        let holder = SoftwareKey::generate_rsa2048()?;
        let start = Instant::now();
        {
            let cas = a.cas()?;
            let t = now();
            let g = cas.current(CaKind::Auth, t)?;
            for _ in 0..m {
                g.ca.issue(
                    &Profile::end_entity(CertKind::Auth),
                    &Serial::random(&mut OsRng),
                    auth_subject(&opaque_auth_id(&mut OsRng))?,
                    holder.public_key().clone(),
                    None,
                    t,
                    t + time::Duration::days(365),
                )?;
            }
        }
        let sign_ms = start.elapsed().as_secs_f64() * 1000.0 / m as f64;
        drop(a);
        db.close().await;
        anyhow::Ok((rates, no_fsync, sign_ms))
    })?;
    let postgres = match std::env::var("HANKO_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("hanko_bench_{:08x}", OsRng.next_u32());
            let sep = if url.contains('?') { '&' } else { '?' };
            let pg_dir = dir.join("postgres");
            Some(rt.block_on(async {
                let (a, db) = authority(&pg_dir, &format!("{url}{sep}hanko_schema={schema}")).await?;
                let rates = issue_rates(&a, m, "PostgreSQL").await;
                drop(a);
                db.pool().execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str()).await?;
                db.close().await;
                rates
            })?)
        }
        _ => None,
    };

    let per_cert_ms = 1000.0 / sqlite.sequential;
    let mut value = json!({
        "certificates": m,
        "rounds": ISSUE_ROUNDS,
        "writes_per_certificate": WRITES_PER_ISSUE,
        "sign_and_encode_ms": sign_ms,
        "sqlite": rates_json(&sqlite, openssl_sign),
        "sqlite_synchronous_normal": rates_json(&no_fsync, openssl_sign),
    });
    let mut lines = vec![
        format!("Issuance  (issue_for_key, auth certificates; {m} per measurement in {ISSUE_ROUNDS} alternating rounds;"),
        "           each = add the holder + its event, reserve the serial, sign, store: 4 commits + 1 RSA-2048 signature)"
            .to_owned(),
    ];
    lines.extend(rates_lines("SQLite", &sqlite, openssl_sign));
    let normal_ms = 1000.0 / no_fsync.sequential;
    lines.push(format!(
        "  without an fsync per commit (synchronous=NORMAL, attribution only): {:.1} /s ({normal_ms:.2} ms each)",
        no_fsync.sequential
    ));
    lines.push(format!(
        "  where the time goes ({per_cert_ms:.2} ms each): fsyncs {:.2} ms ({:.0} %: the difference, 4 commits), sign + \
         encode {sign_ms:.2} ms (openssl {:.2}), the rest {:.2} ms (SQL, sqlx, building the holder and subject)",
        per_cert_ms - normal_ms,
        100.0 * (per_cert_ms - normal_ms) / per_cert_ms,
        1000.0 / openssl_sign,
        normal_ms - sign_ms
    ));
    if let Some(pg) = postgres {
        value["postgres"] = rates_json(&pg, openssl_sign);
        lines.extend(rates_lines("PostgreSQL", &pg, openssl_sign));
    } else {
        lines.push("  (set HANKO_TEST_POSTGRES to compare PostgreSQL)".to_owned());
    }
    Ok((value, lines))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn serials_are_unique_and_in_range() {
        let mut s = Serials::new();
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000 {
            let v = s.get(i);
            assert!((1 << 56..1 << 63).contains(&v));
            assert!(seen.insert(v & Serials::LOW));
        }
    }

    #[test]
    fn reads_wrk_output() {
        let text = "Running 10s test @ http://127.0.0.1:1\n  2 threads and 64 connections\n  Latency Distribution\n     50%  512.00us\n     75%    1.00ms\n     99%    2.50ms\n  1000 requests in 10.00s, 1.50MB read\n  Socket errors: connect 0, read 1, write 0, timeout 2\nRequests/sec:    100.00\nTransfer/sec:    153.60KB\n";
        let r = parse_wrk(text).unwrap();
        assert_eq!(r.rps, 100.0);
        assert_eq!(r.p50_ms, 0.512);
        assert_eq!(r.p99_ms, 2.5);
        assert_eq!(r.requests, 1000.0);
        assert_eq!(r.bytes, 1.5 * 1024.0 * 1024.0);
        assert_eq!(r.errors, 3);
    }
}
