//! `hanko authority serve` killed with SIGKILL, many times, in the middle of issuance and
//! revocation: no serial is ever used twice, every card the API acknowledged is in the register
//! and on disk, and every revocation the API acknowledged appears in the next CRL (read by
//! openssl) and in OCSP (asked with `openssl ocsp`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hanko(data: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    serde_json::from_str(&hanko_text(data, &with_json)).unwrap()
}

fn hanko_text(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .args(args)
        .env("HANKO_DATA_DIR", data)
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

/// A running `hanko authority serve`, killed with SIGKILL when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hanko"))
            .args(["authority", "serve", "--listen", "127.0.0.1:0", "--ocsp-lag", "0"])
            .env("HANKO_DATA_DIR", data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("http://"), "serve printed {line:?}");
        Server { child, base: line.trim().to_owned() }
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

fn counter_key(data: &Path) -> String {
    std::fs::read_to_string(data.join("counter.key")).unwrap().trim().to_owned()
}

/// A small xorshift, seeded from the clock: kill moments differ from run to run.
fn jitter(state: &mut u64, min_ms: u64, max_ms: u64) -> Duration {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    Duration::from_millis(min_ms + *state % (max_ms - min_ms))
}

fn seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
}

#[test]
fn issuance_killed_many_times_never_reuses_a_serial_nor_loses_an_acknowledged_card() {
    let dir = scratch("kill-issuance");
    let data = dir.join("data");
    hanko(&data, &["authority", "init"]);
    let person = hanko(
        &data,
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
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = counter_key(&data);
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let acknowledged: Arc<Mutex<Vec<Value>>> = Arc::default();
    let mut rng = seed();
    let mut kills = 0;
    for _round in 0..8 {
        let server = Server::start(&data);
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (http, base, key, person) = (http.clone(), server.base.clone(), key.clone(), person.clone());
                let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let r = http
                            .post(format!("{base}/v1/counter/persons/{person}/cards"))
                            .bearer_auth(&key)
                            .json(&json!({"sign_password": "HANKO2026", "auth_pin": "1234"}))
                            .send();
                        let Ok(resp) = r else {
                            break; // the server was killed
                        };
                        let status = resp.status();
                        match resp.json::<Value>() {
                            Ok(v) if status.is_success() => acknowledged.lock().unwrap().push(v),
                            Ok(v) => panic!("the counter refused: {status} {v}"),
                            Err(_) => break, // killed mid-answer: not acknowledged
                        }
                    }
                })
            })
            .collect();
        // A card takes ~0.4 s in a debug build: kill after 0 to ~5 of them.
        std::thread::sleep(jitter(&mut rng, 100, 2000));
        server.kill();
        kills += 1;
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(kills == 8 && !acknowledged.is_empty(), "no card was issued between the kills");

    // Every certificate in the register, per card; every serial once.
    let person_view = hanko(&data, &["authority", "show-person", &person]);
    let mut serials: BTreeMap<String, String> = BTreeMap::new();
    for card in person_view["cards"].as_array().unwrap() {
        let id = card["id"].as_str().unwrap();
        for c in hanko(&data, &["authority", "show-card", id])["certificates"].as_array().unwrap() {
            let serial = c["serial"].as_str().unwrap().to_owned();
            assert!(serials.insert(serial.clone(), id.to_owned()).is_none(), "serial {serial} used twice");
        }
    }
    for ack in &acknowledged {
        let card = ack["card_id"].as_str().unwrap();
        for field in ["auth_serial", "signature_serial"] {
            let serial = ack[field].as_str().unwrap();
            assert_eq!(serials.get(serial).map(String::as_str), Some(card), "acknowledged {serial} is not on {card}");
        }
        // The card image the counter handed over is on disk and holds those certificates.
        let text = hanko_text(&data, &["card", "show", "--card", card]);
        assert!(text.contains(ack["auth_serial"].as_str().unwrap()), "card {card}: {text}");
    }
    // Interrupted issuances were voided when the authority reopened: no image, certificates
    // revoked as "destroyed before handover" (unspecified). Every active card has its image.
    let acked: BTreeSet<&str> = acknowledged.iter().map(|a| a["card_id"].as_str().unwrap()).collect();
    for card in person_view["cards"].as_array().unwrap() {
        let id = card["id"].as_str().unwrap();
        let view = hanko(&data, &["authority", "show-card", id]);
        let image = data.join("cards").join(format!("{id}.card"));
        match view["status"].as_str().unwrap() {
            "Active" => assert!(image.exists(), "active card {id} has no image"),
            "Returned" => {
                assert!(!acked.contains(id) && !image.exists(), "voided card {id} was handed over");
                for c in view["certificates"].as_array().unwrap() {
                    assert_eq!(c["revoked"]["reason"], "unspecified", "{view}");
                }
            }
            other => panic!("card {id} is {other}"),
        }
    }
    let distinct: BTreeSet<_> = acknowledged.iter().map(|a| a["card_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(distinct.len(), acknowledged.len(), "a card id was handed out twice");
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().expect("openssl must be installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn acknowledged_revocations_survive_kill_9_and_reach_the_crl_and_ocsp() {
    let dir = scratch("kill-revocation");
    let data = dir.join("data");
    hanko(&data, &["authority", "init"]);
    let key = dir.join("holder.pem");
    let spki = dir.join("holder.spki");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.to_str().unwrap()]);
    openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout", "-outform", "DER", "-out", spki.to_str().unwrap()]);
    let serials: Vec<String> = (0..40)
        .map(|_| {
            hanko(&data, &["authority", "issue-cert", "--kind", "auth", "--public-key", spki.to_str().unwrap()])
                ["serial"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let counter = counter_key(&data);
    let reasons = ["certificateHold", "affiliationChanged", "cessationOfOperation", "keyCompromise", "superseded"];
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let mut acknowledged: BTreeMap<String, &str> = BTreeMap::new();
    let mut next = 0;
    let mut rng = seed();
    let mut kills = 0;
    while next < serials.len() && kills < 12 {
        let server = Server::start(&data);
        let queue: Vec<(String, &'static str)> =
            serials[next..].iter().enumerate().map(|(i, s)| (s.clone(), reasons[(next + i) % reasons.len()])).collect();
        let (http2, base, key) = (http.clone(), server.base.clone(), counter.clone());
        let worker = std::thread::spawn(move || {
            let mut acked = Vec::new();
            for (serial, reason) in queue {
                let Ok(resp) = http2
                    .post(format!("{base}/v1/counter/certificates/{serial}/revocation"))
                    .bearer_auth(&key)
                    .json(&json!({"reason": reason}))
                    .send()
                else {
                    break;
                };
                if !resp.status().is_success() {
                    break;
                }
                acked.push((serial, reason));
                std::thread::sleep(Duration::from_millis(15));
            }
            acked
        });
        std::thread::sleep(jitter(&mut rng, 20, 200));
        server.kill();
        kills += 1;
        let acked = worker.join().unwrap();
        // Revocations are sent in order; one may have committed without its answer arriving.
        next += acked.len() + 1;
        acknowledged.extend(acked);
    }
    assert!(kills >= 3 && acknowledged.len() >= 3, "{kills} kills, {} acknowledged", acknowledged.len());

    // After the crashes: the next CRL lists every acknowledged revocation with its reason …
    let server = Server::start(&data);
    let (status, crls) = {
        // Publication is CA administration: the operator's key (a counter key is refused).
        let operator = std::fs::read_to_string(data.join("operator.key")).unwrap().trim().to_owned();
        let r = http.post(format!("{}/v1/admin/crl", server.base)).bearer_auth(&operator).send().unwrap();
        (r.status(), r.json::<Value>().unwrap())
    };
    assert!(status.is_success(), "{crls}");
    let platform = hanko(&data, &["authority", "add-verifier", "--role", "platform", "--name", "kill test"]);
    let api_key = platform["api_key"].as_str().unwrap().to_owned();
    let listing: Value =
        http.get(format!("{}/v1/crl", server.base)).bearer_auth(&api_key).send().unwrap().json().unwrap();
    let mut crl_text = String::new();
    for c in listing.as_array().or_else(|| listing["crls"].as_array()).unwrap() {
        let der =
            http.get(format!("{}{}", server.base, c["url"].as_str().unwrap())).bearer_auth(&api_key).send().unwrap();
        assert!(der.status().is_success());
        let path = dir.join("crl.der");
        std::fs::write(&path, der.bytes().unwrap()).unwrap();
        crl_text.push_str(&openssl(&["crl", "-inform", "DER", "-in", path.to_str().unwrap(), "-noout", "-text"]));
    }
    let flat: String = crl_text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (serial, reason) in &acknowledged {
        let at = flat.find(&format!("Serial Number: {serial}")).unwrap_or_else(|| panic!("{serial} not in the CRL"));
        let reason_text = match *reason {
            "certificateHold" => "Certificate Hold",
            "affiliationChanged" => "Affiliation Changed",
            "cessationOfOperation" => "Cessation Of Operation",
            "keyCompromise" => "Key Compromise",
            _ => "Superseded",
        };
        assert!(flat[at..].split("Serial Number:").nth(1).unwrap_or("").contains(reason_text), "{serial}: {reason}");
    }

    // … and OCSP (asked by openssl, checked against the delegated responder) says revoked.
    let ca_dir = std::fs::read_dir(data.join("ca/auth")).unwrap().next().unwrap().unwrap().path();
    let ca = ca_dir.join("ca.pem");
    let responder = ca_dir.join("ocsp.pem");
    let header = format!("Authorization=Bearer {api_key}");
    for batch in acknowledged.keys().collect::<Vec<_>>().chunks(16) {
        let mut args = vec![
            "ocsp".to_owned(),
            "-issuer".into(),
            ca.to_str().unwrap().into(),
            "-url".into(),
            format!("{}/ocsp", server.base),
            "-header".into(),
            header.clone(),
            "-VAfile".into(),
            responder.to_str().unwrap().into(),
        ];
        for s in batch {
            args.push("-serial".into());
            args.push(format!("0x{s}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = openssl(&refs);
        assert!(out.contains("Response verify OK"), "{out}");
        assert_eq!(out.matches(": revoked").count(), batch.len(), "{out}");
    }
}

/// Finding 2.14: plain HTTP on an address that is not loopback is refused, with a clear error
/// (PINs at the counter and bearer keys would travel in clear).
#[test]
fn plain_http_on_a_non_loopback_address_is_refused() {
    let dir = scratch("plain-http");
    let data = dir.join("data");
    hanko(&data, &["authority", "init"]);
    let out = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .args(["authority", "serve", "--listen", "0.0.0.0:0"])
        .env("HANKO_DATA_DIR", &data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("refusing to serve plain HTTP")
            && stderr.contains("--tls-cert")
            && stderr.contains("--insecure-http"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "it must not have started: {}", String::from_utf8_lossy(&out.stdout));
    // --tls-cert without --tls-key is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .args(["authority", "serve", "--listen", "0.0.0.0:0", "--tls-cert", "x.pem"])
        .env("HANKO_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}

/// Finding 2.14: with a certificate and key configured, `authority serve` speaks TLS; curl and
/// openssl s_client verify the configured certificate.
#[test]
fn authority_serve_speaks_tls_with_the_configured_certificate() {
    let dir = scratch("tls-serve");
    let data = dir.join("data");
    hanko(&data, &["authority", "init"]);
    let (cert, key) = (dir.join("tls.pem"), dir.join("tls-key.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=hanko test authority",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-days",
        "2",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hanko"))
        .args(["authority", "serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("HANKO_DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let server = Server { child, base: line.trim().to_owned() };
    assert!(server.base.starts_with("https://127.0.0.1:"), "serve printed {line:?}");

    let out = Command::new("curl")
        .args(["-sS", "--fail", "--cacert", cert.to_str().unwrap()])
        .arg(format!("{}/openapi.json", server.base))
        .output()
        .unwrap();
    assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["paths"]["/ocsp"].is_object(), "{doc}");
    // Plain HTTP to the TLS port gets no API answer.
    let plain = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "5"])
        .arg(format!("{}/openapi.json", server.base.replace("https://", "http://")))
        .output()
        .unwrap();
    assert!(!plain.status.success() || !String::from_utf8_lossy(&plain.stdout).contains("openapi"));
    // openssl s_client checks the chain against the configured certificate.
    let port = server.base.rsplit(':').next().unwrap();
    let mut s_client = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", cert.to_str().unwrap()])
        .args(["-verify_return_error", "-verify_ip", "127.0.0.1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(s_client.stdin.take());
    let out = s_client.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    server.kill();
}
