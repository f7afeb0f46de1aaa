//! `hanko platform serve` as a process: two nodes on one PostgreSQL serving one tenant at once
//! (every acknowledged verification has exactly one evidence record, and the evidence sequence
//! is 0..n-1 without a gap or a duplicate), and nodes killed with SIGKILL in the middle of a
//! stream of verifications, on SQLite and PostgreSQL (every evidence id acknowledged before the
//! kill is there after the restart, once). Only the public HTTP API is asserted on
//! (`GET /v1/evidence/{id}` and its `seq`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .args(args)
        .envs(env.iter().copied())
        .env("HANKO_PIN", "1234")
        .env("HANKO_PASSWORD", "HANKO2026")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hanko {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_json(args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    serde_json::from_str(&run(&with_json, env)).unwrap()
}

/// The PostgreSQL URL of a fresh schema, or `None` only when HANKO_SKIP_POSTGRES=1 says so.
fn postgres(tag: &str) -> Option<String> {
    let Ok(base) = std::env::var("HANKO_TEST_POSTGRES") else {
        if std::env::var("HANKO_SKIP_POSTGRES").as_deref() == Ok("1") {
            eprintln!("SKIPPED: the PostgreSQL half (HANKO_SKIP_POSTGRES=1)");
            return None;
        }
        panic!("HANKO_TEST_POSTGRES is not set (or HANKO_SKIP_POSTGRES=1 to skip the PostgreSQL half knowingly)");
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let schema = format!("cli_{tag}_{}_{:x}", std::process::id(), nanos & 0xffff_ffff);
    Some(format!("{base}{}hanko_schema={schema}", if base.contains('?') { '&' } else { '?' }))
}

/// A running `hanko … serve`, killed with SIGKILL when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts `hanko ARGS`; its log goes to `log` (appended).
    fn start(args: &[&str], env: &[(&str, &str)], log: &Path) -> Server {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hanko"))
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("http://"), "serve printed {line:?}");
        Server { child, base: line.trim().to_owned() }
    }

    /// Ctrl-C (SIGINT): the graceful shutdown, which writes the buffered meter counts.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        assert!(self.child.wait().unwrap().success());
    }

    fn kill(mut self) {
        // SIGKILL: no destructor, no flush, no graceful shutdown.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An authority with one card, a platform set up against it (database `db`) with one tenant,
/// and a signature to verify.
struct World {
    dir: PathBuf,
    authority: Server,
    platform_db: String,
    sp_key: String,
    request: Value,
}

const DOCUMENT: &[u8] = b"synthetic test contract (JPKI-TEST)";

fn world(tag: &str, platform_db: Option<String>) -> World {
    let dir = scratch(tag);
    let auth = dir.join("auth");
    let auth_s = auth.to_str().unwrap().to_owned();
    let env = [("HANKO_DATA_DIR", auth_s.as_str())];
    run(&["authority", "init"], &env);
    let person = run_json(
        &[
            "authority",
            "add-person",
            "--name",
            "試験　花子",
            "--sex",
            "2",
            "--birth",
            "1985-04-01",
            "--address",
            "東京都見本区試験町一丁目１番１号",
        ],
        &env,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let card = run_json(&["authority", "issue-card", &person], &env)["card_id"].as_str().unwrap().to_owned();
    let (doc, sig, cert) = (dir.join("doc.txt"), dir.join("sig.bin"), dir.join("cert.der"));
    std::fs::write(&doc, DOCUMENT).unwrap();
    run(&["card", "sign", "--card", &card, "--data", doc.to_str().unwrap(), "--out", sig.to_str().unwrap()], &env);
    run(&["card", "read-cert", "--card", &card, "--slot", "signature", "--out", cert.to_str().unwrap()], &env);
    let pf = run_json(&["authority", "add-verifier", "--role", "platform", "--name", "PF test"], &env);
    let key_file = dir.join("pf-authority.key");
    std::fs::write(&key_file, pf["api_key"].as_str().unwrap()).unwrap();
    let authority = Server::start(
        &["authority", "serve", "--listen", "127.0.0.1:0", "--ocsp-lag", "0"],
        &env,
        &dir.join("authority.log"),
    );

    let pf_dir = dir.join("pf");
    let platform_db =
        platform_db.unwrap_or_else(|| format!("sqlite:{}", dir.join("platform.sqlite").to_str().unwrap()));
    let common = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        v.extend(
            ["--data-dir", pf_dir.to_str().unwrap(), "--database", &platform_db, "--authority", &authority.base]
                .map(String::from),
        );
        v
    };
    let args = common(&["platform", "init", "--authority-key-file", key_file.to_str().unwrap(), "--anchors", &auth_s]);
    run_json(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let args = common(&["platform", "add-tenant", "--sp-id", "SPBANK", "--service-id", "web", "--name", "Test Bank"]);
    let sp_key =
        run_json(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])["api_key"].as_str().unwrap().to_owned();
    let b64 = |p: &Path| base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap());
    let request = json!({"certificate": b64(&cert), "signature": b64(&sig),
        "data": base64::engine::general_purpose::STANDARD.encode(DOCUMENT)});
    World { dir, authority, platform_db, sp_key, request }
}

impl World {
    /// Starts a platform node with its own copy of the data directory (`node`), and waits until
    /// it holds the CRLs.
    fn node(&self, node: &str) -> Server {
        let own = self.dir.join(format!("pf-{node}"));
        if !own.exists() {
            copy_dir(&self.dir.join("pf"), &own);
        }
        let server = Server::start(
            &[
                "platform",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                own.to_str().unwrap(),
                "--database",
                &self.platform_db,
                "--authority",
                &self.authority.base,
            ],
            &[],
            &self.dir.join(format!("node-{node}.log")),
        );
        let http = reqwest::blocking::Client::new();
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/healthz", server.base)).send() {
                if r.json::<Value>().map(|v| v["crls_held"] == 2).unwrap_or(false) {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "platform node {node} never held the CRLs; its log: {}",
            std::fs::read_to_string(self.dir.join(format!("node-{node}.log"))).unwrap_or_default()
        );
    }

    /// Looks up every acknowledged evidence id on `base`: its `seq`.
    fn seqs(&self, base: &str, ids: &[String]) -> BTreeMap<i64, String> {
        let http = reqwest::blocking::Client::new();
        let mut seqs = BTreeMap::new();
        for id in ids {
            let r = http.get(format!("{base}/v1/evidence/{id}")).bearer_auth(&self.sp_key).send().unwrap();
            assert_eq!(r.status().as_u16(), 200, "acknowledged evidence {id} is missing");
            let ev: Value = r.json().unwrap();
            assert_eq!(ev["id"], id.as_str());
            let seq = ev["seq"].as_i64().unwrap();
            assert!(seqs.insert(seq, id.clone()).is_none(), "seq {seq} is held by two acknowledged records");
        }
        seqs
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Posts verifications to `bases` (round robin) from `threads` threads until `stop` or `per_thread`
/// answers each; collects the acknowledged evidence ids. A connection error ends a thread (the
/// node was killed): that request was not acknowledged.
fn stream(
    bases: &[String],
    key: &str,
    request: &Value,
    threads: usize,
    per_thread: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..threads)
        .map(|t| {
            let (bases, key, request, stop) = (bases.to_vec(), key.to_owned(), request.clone(), stop.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
                let mut acked = Vec::new();
                for i in 0..per_thread {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let base = &bases[(t + i) % bases.len()];
                    let Ok(resp) =
                        http.post(format!("{base}/v1/verifications/signature")).bearer_auth(&key).json(&request).send()
                    else {
                        break;
                    };
                    let status = resp.status();
                    match resp.json::<Value>() {
                        Ok(v) if status.is_success() => {
                            assert_eq!(v["result"], "OK", "{v}");
                            acked.push(v["evidence_id"].as_str().unwrap().to_owned());
                        }
                        Ok(v) => panic!("the platform refused: {status} {v}"),
                        Err(_) => break, // killed mid-answer: not acknowledged
                    }
                }
                acked
            })
        })
        .collect()
}

#[test]
fn two_platform_nodes_on_one_postgresql_keep_one_evidence_sequence_without_gaps_or_duplicates() {
    let Some(db) = postgres("scale") else { return };
    let w = world("platform-scale-out", Some(db));
    let (a, b) = (w.node("a"), w.node("b"));
    let bases = vec![a.base.clone(), b.base.clone()];
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Vec<String> =
        stream(&bases, &w.sp_key, &w.request, 4, 25, &stop).into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(acked.len(), 100, "every request was answered");
    // Each acknowledged verification is one record, readable from either node; the tenant's
    // records are the whole log here, so their sequence numbers are exactly 0..n-1.
    let from_a = w.seqs(&a.base, &acked);
    let from_b = w.seqs(&b.base, &acked);
    assert_eq!(from_a, from_b);
    let seqs: Vec<i64> = from_a.keys().copied().collect();
    assert_eq!(seqs, (0..100).collect::<Vec<i64>>(), "a gap or a duplicate in the evidence sequence");

    // Both nodes flushed their meter counts into the one database (additive upserts): the
    // report counts every verification once.
    a.stop();
    b.stop();
    let pf = w.dir.join("pf");
    let report = run_json(
        &["platform", "report", "--data-dir", pf.to_str().unwrap(), "--database", &w.platform_db],
        &[("HANKO_AUTHORITY_URL", w.authority.base.as_str())],
    );
    let ok = report["lines"].as_array().unwrap().iter().find(|l| l["kind"] == "verification.signature.OK").cloned();
    assert_eq!(ok.map(|l| l["count"].clone()), Some(json!(100)), "{report}");
}

fn killed_during_verification(tag: &str, db: Option<String>) {
    let w = world(tag, db);
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut rng = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    for _round in 0..4 {
        let node = w.node("a");
        let stop = Arc::new(AtomicBool::new(false));
        let workers = stream(std::slice::from_ref(&node.base), &w.sp_key, &w.request, 3, usize::MAX, &stop);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(200 + rng % 1500));
        node.kill();
        stop.store(true, Ordering::Relaxed);
        for h in workers {
            acknowledged.lock().unwrap().extend(h.join().unwrap());
        }
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(!acked.is_empty(), "no verification was acknowledged between the kills");
    eprintln!("{} verifications acknowledged across 4 SIGKILLs", acked.len());
    let node = w.node("a");
    let seqs = w.seqs(&node.base, &acked);
    assert_eq!(seqs.len(), acked.len(), "an acknowledged id twice");
    // No gap among what the log holds: the largest acknowledged seq is below the number of
    // records, so everything acknowledged is within one contiguous sequence.
    let http = reqwest::blocking::Client::new();
    let r = http
        .post(format!("{}/v1/verifications/signature", node.base))
        .bearer_auth(&w.sp_key)
        .json(&w.request)
        .send()
        .unwrap();
    let last: Value = r.json().unwrap();
    let next = w.seqs(&node.base, &[last["evidence_id"].as_str().unwrap().to_owned()]);
    let next_seq = *next.keys().next().unwrap();
    assert!(seqs.keys().all(|s| *s < next_seq), "{seqs:?} vs {next_seq}");
    assert!(next_seq as usize >= acked.len());
}

#[test]
fn platform_killed_during_verifications_loses_no_acknowledged_evidence_sqlite() {
    killed_during_verification("platform-kill-sqlite", None);
}

#[test]
fn platform_killed_during_verifications_loses_no_acknowledged_evidence_postgres() {
    let Some(db) = postgres("kill") else { return };
    killed_during_verification("platform-kill-postgres", Some(db));
}
