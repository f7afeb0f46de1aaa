//! `hanko bench platform` — the platform's verification API under load, next to the in-process
//! verification limit measured in the same run.
//!
//! Set-up: an authority (in this process, served on loopback) issues signature certificates to
//! software keys and publishes its CRLs; a platform (`hanko platform init`, `add-tenant`, then
//! `hanko platform serve` — a child process of this binary, so its CPU and memory are its own)
//! fetches the CRLs over HTTP like any platform.
//!
//! 1. **In-process limit**: full verifications/s of `hanko_pki::verify` on one core, as
//!    `hanko bench verify` measures them, over the same certificates and the same CRL.
//! 2. **HTTP peak**: `wrk` (Lua script cycling the holders) POSTs
//!    `/v1/verifications/signature` with the tenant's key; verifications/s over HTTP (every one
//!    answered, evidence recorded) against the in-process limit × the cores. wrk shares the cores.
//! 3. **Latency at half the peak**: `oha -q` (constant rate, latency corrected, as wrk2 does)
//!    at half of the measured peak: p50 and p99.
//! 4. **Soak** (`--soak SECONDS`): wrk for that long, in rounds; errors and the RSS of the
//!    serving process after a warm-up and at the end.
//!
//! Timings are reported, never asserted.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_authority::{NewPerson, Role};
use hanko_pki::verify::{CrlSet, RevocationCheck, Verifier};
use hanko_pki::{BasicFacts, BirthDate, CertKind, DigestAlgorithm, Sex, SignatureAlgorithm, Signer, SoftwareKey};
use serde_json::{json, Value};

use crate::bench_authority::{
    authority, clock_ticks_per_s, cores, cpu_ticks, fresh_dir, now, parse_wrk, sqlite_url, wait_listening, Server,
    WrkRun,
};
use crate::bench_verify::{full_verify_rate, Case};

/// Options of `hanko bench platform`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Working directory (replaced if present), removed afterwards unless --keep.
    #[arg(long, default_value = "target/bench-platform")]
    dir: PathBuf,
    /// Keep the working directory (databases, wrk script, logs) afterwards.
    #[arg(long)]
    keep: bool,
    /// Holders (certificates) the load cycles through.
    #[arg(long, default_value_t = 16)]
    holders: usize,
    /// Seconds per measurement (in-process rate, each wrk run, the constant-rate run).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// wrk threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// wrk connections (keep-alive).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Peak runs, alternating with the in-process measurement; the best of each is kept.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Also run a soak of this many seconds under verify load (after the peak and latency runs):
    /// errors and the serving process's RSS growth.
    #[arg(long)]
    soak: Option<u64>,
    /// Only the soak (no in-process, peak or latency runs): with --soak.
    #[arg(long, requires = "soak")]
    soak_only: bool,
}

const PATH: &str = "/v1/verifications/signature";

/// The world under test: the authority (served by this process), the platform (a child process),
/// the tenant's key and the request bodies.
struct World {
    _runtime: tokio::runtime::Runtime,
    platform: Server,
    base: String,
    key: String,
    cases: Vec<Case>,
    bodies: Vec<String>,
    in_process: InProcess,
}

/// What the in-process verifier needs: the platform's trust anchors and the CRLs it fetched.
struct InProcess {
    trust: hanko_pki::verify::TrustStore,
    crls: CrlSet,
}

fn hanko(args: &[&str]) -> Result<String> {
    let out = Command::new(std::env::current_exe()?)
        .args(args)
        .env_remove("HANKO_PLATFORM_DATABASE_URL")
        .env_remove("HANKO_PLATFORM_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running hanko {}", args.join(" ")))?;
    ensure!(
        out.status.success(),
        "hanko {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn setup(args: &Args) -> Result<World> {
    fresh_dir(&args.dir)?;
    let adir = args.dir.join("authority");
    let pdir = args.dir.join("platform");
    std::fs::create_dir_all(&adir)?;
    // The authority: one worker thread, idle during the load (the platform holds the CRLs).
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    eprintln!("platform: an authority issuing {} signature certificates …", args.holders);
    let (authority_url, platform_key, cases) = rt.block_on(async {
        let (a, _db) = authority(&adir, &sqlite_url(&adir)).await?;
        let mut cases = Vec::with_capacity(args.holders);
        for i in 0..args.holders {
            let key = SoftwareKey::generate_rsa2048()?;
            let holder = NewPerson {
                facts: BasicFacts::new(
                    "試験　花子",
                    Sex::FEMALE,
                    BirthDate::Known(hanko_pki::time::macros::date!(1985 - 04 - 01)),
                    "東京都見本区試験町一丁目１番１号",
                )?,
                prefecture: "Tokyo-to".into(),
                municipality: "Mihon-ku".into(),
                ward: false,
            };
            let record = a.issue_for_key(CertKind::Signature, Some(holder), key.public_key().clone(), None).await?;
            let der = record.der.context("issued certificate without DER")?;
            let digest = DigestAlgorithm::Sha256.digest(format!("bench document {i}").as_bytes());
            let sig = key.sign_digest(SignatureAlgorithm::RsaPkcs1Sha256, &digest)?;
            cases.push((der, digest, sig));
        }
        a.publish_crls().await?;
        let platform_key = a.register_verifier(Role::Platform, "bench platform").await?.api_key;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = hanko_authority::serve(a, listener, std::future::pending()).await;
        });
        anyhow::Ok((url, platform_key, cases))
    })?;

    eprintln!("platform: hanko platform init / add-tenant / serve …");
    let key_file = args.dir.join("authority.key");
    std::fs::write(&key_file, &platform_key)?;
    let pdir_s = pdir.to_str().context("non-UTF-8 directory")?;
    let common = ["--data-dir", pdir_s, "--authority", &authority_url];
    let key_file_s = key_file.to_str().context("non-UTF-8 directory")?;
    let adir_s = adir.to_str().context("non-UTF-8 directory")?;
    hanko(&[&["platform", "init"][..], &common, &["--authority-key-file", key_file_s, "--anchors", adir_s]].concat())?;
    let tenant: Value = serde_json::from_str(&hanko(
        &[
            &["--json", "platform", "add-tenant"][..],
            &common,
            &["--sp-id", "BENCHSP", "--service-id", "web", "--name", "bench SP"],
        ]
        .concat(),
    )?)?;
    let key = tenant["api_key"].as_str().context("add-tenant printed no api_key")?.to_owned();

    let log = std::fs::File::create(args.dir.join("platform-serve.log"))?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["platform", "serve", "--listen", "127.0.0.1:0"])
        .args(common)
        .env_remove("HANKO_PLATFORM_DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("TOKIO_WORKER_THREADS", cores().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("starting hanko platform serve")?;
    let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?);
    let mut platform = Server { name: "hanko platform serve", child, _stdout: None };
    let mut base = String::new();
    stdout.read_line(&mut base)?;
    let base = base.trim().to_owned();
    platform._stdout = Some(stdout);
    ensure!(base.starts_with("http://"), "hanko platform serve printed {base:?}; see platform-serve.log");
    let port: u16 = base.rsplit(':').next().and_then(|p| p.parse().ok()).context("port in the URL")?;
    wait_listening(&mut platform, port)?;

    let bodies: Vec<String> = cases
        .iter()
        .map(|(der, digest, sig)| {
            json!({"certificate": B64.encode(der), "signature": B64.encode(sig), "digest": B64.encode(digest)})
                .to_string()
        })
        .collect();
    let http = reqwest::Client::new();
    let (trust, crls) = rt.block_on(async {
        // The platform fetches the CRLs at start: wait until it holds them.
        let start = Instant::now();
        loop {
            let health: Value = http.get(format!("{base}/healthz")).send().await?.json().await?;
            if health["crls_held"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
            ensure!(start.elapsed() < Duration::from_secs(60), "the platform holds no CRL after 60 s: {health}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Every body verifies (OK) once before the load.
        for body in &bodies {
            let r = http
                .post(format!("{base}{PATH}"))
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await?;
            let status = r.status();
            let answer: Value = r.json().await?;
            ensure!(status == 200 && answer["result"] == "OK", "verification answered {status}: {answer}");
        }
        // The in-process side: the platform's anchors and the CRLs as the authority serves them.
        let trust =
            hanko_platform::load_anchors(&pdir.join(hanko_platform::ANCHORS_DIR), hanko_platform::Environment::Test)?;
        let client =
            hanko_platform::AuthorityClient::new(&authority_url, zeroize::Zeroizing::new(platform_key.clone()))?;
        let mut crls = CrlSet::new();
        for l in client.crl_list().await? {
            if let hanko_platform::Fetched::Body { der, .. } = client.crl(&l.url, None).await? {
                crls.add(&trust, &der)?;
            }
        }
        anyhow::Ok((trust, crls))
    })?;
    Ok(World { _runtime: rt, platform, base, key, cases, bodies, in_process: InProcess { trust, crls } })
}

/// The wrk script: POST the bodies in turn, with the tenant's key.
fn wrk_script(path: &Path, bodies: &[String], key: &str) -> Result<()> {
    let mut s = String::new();
    writeln!(s, "wrk.method = \"POST\"")?;
    writeln!(s, "wrk.headers[\"Authorization\"] = \"Bearer {key}\"")?;
    writeln!(s, "wrk.headers[\"Content-Type\"] = \"application/json\"")?;
    s.push_str("local bodies = {\n");
    for b in bodies {
        // JSON of base64 strings: no `]]` inside.
        writeln!(s, "  [[{b}]],")?;
    }
    s.push_str("}\nlocal reqs = {}\nfor i, b in ipairs(bodies) do\n");
    writeln!(s, "  reqs[i] = wrk.format(\"POST\", \"{PATH}\", nil, b)")?;
    s.push_str("end\nlocal i = 0\nrequest = function()\n  i = i % #reqs + 1\n  return reqs[i]\nend\n");
    std::fs::write(path, s)?;
    Ok(())
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

/// What oha reported for a constant-rate run.
struct OhaRun {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    ok: u64,
    errors: u64,
}

/// `oha` at `rate` requests/s for `seconds` with latency correction (the time a request waited
/// for its turn counts, as in wrk2), POSTing `body`.
fn oha(args: &Args, w: &World, body_file: &Path, rate: f64, seconds: u64) -> Result<Option<OhaRun>> {
    if Command::new("oha").arg("--version").output().is_err() {
        eprintln!("platform: oha not found (cargo install oha): no constant-rate latency run");
        return Ok(None);
    }
    let out = Command::new("oha")
        .args(["--no-tui", "--output-format", "json", "--latency-correction"])
        .args(["-z", &format!("{seconds}s"), "-q", &format!("{rate:.0}"), "-c", &args.connections.to_string()])
        .args(["-m", "POST", "-H", &format!("Authorization: Bearer {}", w.key), "-T", "application/json", "-D"])
        .arg(body_file)
        .arg(format!("{}{PATH}", w.base))
        .output()
        .context("running oha")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success(), "oha failed ({}): {}{}", out.status, text, String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(&text).with_context(|| format!("oha's JSON: {text}"))?;
    let ms = |p: &str| v["latencyPercentiles"][p].as_f64().map_or(f64::NAN, |s| s * 1000.0);
    let ok = v["statusCodeDistribution"]["200"].as_u64().unwrap_or(0);
    let all_status: u64 =
        v["statusCodeDistribution"].as_object().map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    let errors: u64 = v["errorDistribution"].as_object().map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    Ok(Some(OhaRun {
        rps: v["summary"]["requestsPerSec"].as_f64().unwrap_or(f64::NAN),
        p50_ms: ms("p50"),
        p99_ms: ms("p99"),
        ok,
        errors: errors + (all_status - ok),
    }))
}

/// Resident set of process `pid`, in kB.
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    ensure!(args.holders > 0, "--holders must be at least 1");
    let w = setup(args)?;
    let script = args.dir.join("verify.lua");
    wrk_script(&script, &w.bodies, &w.key)?;
    let body_file = args.dir.join("body.json");
    std::fs::write(&body_file, &w.bodies[0])?;
    let pid = w.platform.child.id();
    let cores = cores();
    let mut out = String::new();

    if !args.soak_only {
        let verifier = Verifier::new(&w.in_process.trust);
        let rc = RevocationCheck::Crl(&w.in_process.crls);
        let _ = wrk(args, &script, &w.base, 1)?; // warm-up
        let (mut in_process, mut peak, mut best) = (0f64, 0f64, WrkRun::default());
        let ticks = clock_ticks_per_s();
        let mut server_cpu = 0f64;
        for round in 1..=args.rounds.max(1) {
            eprintln!(
                "platform: round {round}/{}: in-process {} s, then wrk {} s …",
                args.rounds.max(1),
                args.seconds,
                args.seconds
            );
            in_process =
                in_process.max(full_verify_rate(&verifier, rc, &w.cases, now(), Duration::from_secs(args.seconds))?);
            let before = cpu_ticks(pid);
            let r = wrk(args, &script, &w.base, args.seconds)?;
            let cpu = (cpu_ticks(pid) - before) as f64 / ticks / args.seconds as f64;
            ensure!(
                r.errors == 0 && r.non_2xx == 0,
                "wrk saw {} socket errors and {} non-2xx answers",
                r.errors,
                r.non_2xx
            );
            if r.rps > peak {
                (peak, best, server_cpu) = (r.rps, r, cpu);
            }
        }
        let limit = in_process * cores as f64;
        writeln!(
            out,
            "hanko bench platform  (POST {PATH}, {} holders, CRL check, evidence recorded per answer;",
            args.holders
        )?;
        writeln!(
            out,
            "                       wrk -t{} -c{} -d{}s, best of {} rounds; wrk shares the {cores} cores)",
            args.threads,
            args.connections,
            args.seconds,
            args.rounds.max(1)
        )?;
        writeln!(out, "  in-process full verifications/s (1 core)   {in_process:>10.0}")?;
        writeln!(out, "  in-process limit × {cores} cores                {limit:>10.0}")?;
        writeln!(out, "  verifications/s over HTTP                  {peak:>10.0}   (p50 {:.2} ms, p99 {:.2} ms at -c{}; server CPU {:.0} %)", best.p50_ms, best.p99_ms, args.connections, server_cpu * 100.0)?;
        writeln!(out, "  ratio to the in-process limit              {:>9.1} %   (goal ≥ 50 %)", 100.0 * peak / limit)?;
        let rate = (peak / 2.0).max(1.0);
        eprintln!("platform: oha at {rate:.0}/s (half the peak) for {} s …", args.seconds);
        match oha(args, &w, &body_file, rate, args.seconds)? {
            Some(o) => {
                writeln!(out, "  at half the peak ({rate:.0}/s, oha -q, latency-corrected): p50 {:.2} ms, p99 {:.2} ms   (goal p99 < 10 ms)", o.p50_ms, o.p99_ms)?;
                writeln!(
                    out,
                    "                                              {:.0}/s achieved, {} answered 200, {} errors",
                    o.rps, o.ok, o.errors
                )?;
            }
            None => writeln!(out, "  at half the peak: not measured (oha not installed: cargo install oha)")?,
        }
    }

    if let Some(soak) = args.soak {
        let warm = (soak / 10).clamp(5, 60);
        eprintln!("platform: soak: warm-up {warm} s …");
        let _ = wrk(args, &script, &w.base, warm)?;
        let rss_start = rss_of(pid).context("reading the server's RSS")?;
        let chunk = 60.min(soak.max(1));
        let (mut done, mut requests, mut errors, mut non_2xx, mut rss_max) = (0u64, 0f64, 0u64, 0u64, rss_start);
        let start = Instant::now();
        while done < soak {
            let s = chunk.min(soak - done);
            let r = wrk(args, &script, &w.base, s)?;
            done += s;
            requests += r.requests;
            errors += r.errors;
            non_2xx += r.non_2xx;
            let rss = rss_of(pid).context("reading the server's RSS")?;
            rss_max = rss_max.max(rss);
            eprintln!(
                "platform: soak {done}/{soak} s: {:.0}/s, {} errors, {} non-2xx, RSS {} kB ({:+.1} %)",
                r.rps,
                r.errors,
                r.non_2xx,
                rss,
                100.0 * (rss as f64 - rss_start as f64) / rss_start as f64
            );
        }
        let rss_end = rss_of(pid).context("reading the server's RSS")?;
        let growth = 100.0 * (rss_end as f64 - rss_start as f64) / rss_start as f64;
        writeln!(
            out,
            "soak  ({soak} s of wrk -t{} -c{} after {warm} s of warm-up; {:.0} s wall)",
            args.threads,
            args.connections,
            start.elapsed().as_secs_f64()
        )?;
        writeln!(
            out,
            "  verifications                              {requests:>10.0}   ({:.0}/s)",
            requests / soak as f64
        )?;
        writeln!(out, "  errors (socket) + non-2xx answers          {:>10}   (goal 0)", errors + non_2xx)?;
        writeln!(out, "  server RSS after warm-up → end (max)       {rss_start} kB → {rss_end} kB ({rss_max} kB): {growth:+.1} %   (goal < 10 %)")?;
    }
    drop(w);
    if !args.keep {
        let _ = std::fs::remove_dir_all(&args.dir);
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
