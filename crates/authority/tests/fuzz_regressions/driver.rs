//! Hostile HTTP requests through the authority's real router, in process (no socket): one
//! authority per process over SQLite with a manual clock, a counter key, a platform key with a
//! registered SP service, a resident with a card and certificates, a consent and published CRLs.
//! Each input is one request: never a panic, never a 5xx other than 503, and no answer ever
//! carries a private key or the API keys. The register changes across inputs (revocations,
//! events, consents) as it would in service.
//!
//! Input: `[route] [method] [auth] [mode] params… body…`. A param is a length byte and that many
//! bytes, or (length ≥ 0xE0) a pick from a dictionary of real ids, serials, types and times.
//! The body is raw, or JSON of the route's own fields with values read from the input, or a
//! signed document whose document is such JSON signed by the fixture with a real key (so the
//! documents behind the signature checks are reached), or a real blob (OCSP request, DER).
//! scripts/test.sh seeds one well-formed request per route; its seeds index ROUTES and the
//! dictionary (`words`), so append to those lists, do not reorder them.
//!
//! HANKO_FUZZ_TRACE=1 prints each request's status and path, HANKO_FUZZ_LOG=1 the authority's
//! log (the cause of a 5xx); HANKO_FUZZ_POSTGRES=<url> runs on a new PostgreSQL schema
//! `fuzz_<pid>_<n>_<ms>` (left behind) instead of SQLite. Reproducers: fuzz/regressions/authority_api,
//! replayed by `cargo test` (hanko-authority's `fuzz_regressions` test includes this driver, as
//! the fuzz target `fuzz/fuzz_targets/authority_api.rs` does).
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_authority::{
    sign_document, Authority, CardPins, Config, ManualClock, NewPerson, PersonStatus, Role, SignedDocument,
};
use hanko_card::{Client, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::ocsp::{build_request, CertIdentity};
use hanko_pki::{BasicFacts, BirthDate, CaKind, CertKind, Sex, SignatureAlgorithm, Signer, SoftwareKey};
use tower::ServiceExt;

/// 2026-04-01 00:00 UTC, when the test authorities start.
const START_UNIX: i64 = 1_775_001_600;

fn start() -> hanko_pki::time::OffsetDateTime {
    hanko_pki::time::OffsetDateTime::from_unix_timestamp(START_UNIX).expect("start")
}
const CARD_PASSWORD: &str = "HANKO2026";
const CARD_PIN: &str = "1234";
const SP: &str = "SPFUZZ";
const SERVICE: &str = "svc1";

#[derive(Clone, Copy, PartialEq)]
enum M {
    G,
    P,
}

/// Every route of the router (`grep -ho '\.route(\s*"[^"]*"' crates/authority/src/*.rs`), `{}`
/// for a path parameter, with the fields of its JSON body. The last entry is a raw path.
const ROUTES: &[(M, &str, &[&str])] = &[
    (
        M::P,
        "/v1/counter/persons",
        &[
            "name",
            "sex",
            "birth_date",
            "address",
            "prefecture",
            "municipality",
            "ward",
            "name_substitutes",
            "address_substitutes",
        ],
    ),
    (M::G, "/v1/counter/persons/{}", &[]),
    (M::P, "/v1/counter/persons/{}/cards", &["sign_password", "auth_pin"]),
    (
        M::P,
        "/v1/counter/persons/{}/events",
        &["kind", "name", "address", "prefecture", "municipality", "birth_date", "sex", "card_id"],
    ),
    (M::G, "/v1/counter/cards/{}", &[]),
    (M::P, "/v1/counter/cards/{}/pin-reset", &["slot", "new_pin"]),
    (M::P, "/v1/counter/cards/{}/renewal", &[]),
    (M::P, "/v1/counter/certificates/{}/revocation", &["reason"]),
    (M::P, "/v1/admin/generations", &[]),
    (M::G, "/openapi.json", &[]),
    (M::P, "/v1/consents", &["type", "verifier_id", "sp_id", "service_id", "items", "issued_at"]),
    (M::G, "/v1/consents/withdrawals", &[]),
    (M::G, "/v1/consents/{}", &[]),
    (M::P, "/v1/consents/{}/withdrawal", &["type", "consent_id", "issued_at"]),
    (M::P, "/v1/counter/consents/{}/withdrawal", &[]),
    (M::P, "/v1/latest-facts", &["consent_id"]),
    (M::G, "/v1/admin/meter", &[]),
    (M::P, "/v1/status-checks", &["serials"]),
    (M::P, "/ocsp", &[]),
    (M::G, "/ocsp/{}", &[]),
    (M::P, "/v1/smartphone/applications", &["type", "device", "sign_public_key", "auth_public_key", "applied_at"]),
    (M::P, "/v1/smartphone/{}/revocation", &["type", "phone_id", "at"]),
    (M::P, "/v1/counter/phones/{}/suspension", &[]),
    (M::P, "/v1/admin/crl", &[]),
    (M::G, "/v1/crl", &[]),
    (M::G, "/v1/crl/{}/{}", &[]),
    (M::P, "/v1/serials/corresponding", &["serial"]),
    (M::G, "/v1/serials/{}/successor", &[]),
    (M::P, "/v1/age-check", &["serial", "age"]),
    (M::P, "/v1/admin/verifiers", &["role", "name"]),
    (M::P, "/v1/admin/verifiers/{}/services", &["sp_id", "service_id", "name"]),
    (M::G, "/{}", &[]),
    (M::G, "/healthz", &[]),
    (M::G, "/metrics", &[]),
];

/// Routes whose success is expensive (key generation, card writes): (burst, executions per
/// further success). Past its budget a call goes without a key (and is refused cheaply).
fn budget(route: usize) -> Option<(u32, u32)> {
    match ROUTES[route].1 {
        "/v1/admin/generations" => Some((2, 20_000)),
        "/v1/counter/persons/{}/cards" | "/v1/counter/cards/{}/renewal" => Some((5, 200)),
        "/v1/counter/persons/{}/events" => Some((50, 20)),
        _ => None,
    }
}

struct Fixture {
    router: axum::Router,
    authority: Arc<Authority>,
    counter_key: String,
    /// The operator's key: what `/v1/admin/*` needs (counter keys are refused there).
    operator_key: String,
    platform_key: String,
    /// Ids, serials, names and times the fuzzer can pick. Word 0 is the victim resident: once
    /// dead or emigrated, a new one takes the word.
    words: RwLock<Vec<String>>,
    /// DER and JSON the fuzzer can pick.
    blobs: Vec<Vec<u8>>,
    /// (key, certificate DER): a signature and an auth certificate for software keys, never
    /// handed to the fuzzer as words (so they stay usable).
    soft_signature: (SoftwareKey, Vec<u8>),
    soft_auth: (SoftwareKey, Vec<u8>),
    data_dir: PathBuf,
    /// The card that signs (its id is not a word either).
    signer_card: String,
    /// Successes of each budgeted route.
    spent: Vec<AtomicU32>,
    victims: AtomicU32,
    execs: AtomicU32,
}

impl Fixture {
    fn word(&self, i: u8) -> String {
        let words = self.words.read().unwrap_or_else(|p| p.into_inner());
        words[usize::from(i) % words.len()].clone()
    }

    /// A new victim resident when the last one died or emigrated (events would only conflict).
    async fn refresh_victim(&self) {
        let id = self.word(0);
        let gone = self.authority.person(&id).await.is_ok_and(|p| p.status != PersonStatus::Resident);
        if gone {
            self.victims.fetch_add(1, Ordering::Relaxed);
            if let Ok(p) = self.authority.add_person(holder("見本 桜")).await {
                self.words.write().unwrap_or_else(|p| p.into_inner())[0] = p.id;
            }
        }
    }
}

/// Removes the data directories of earlier fuzzing processes that have ended.
fn sweep(tmp: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("hanko-fuzz-authority-").and_then(|r| r.split('-').next()) {
            if !std::path::Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn holder(name: &str) -> NewPerson {
    NewPerson {
        facts: BasicFacts::new(
            name,
            Sex::FEMALE,
            BirthDate::Known(
                hanko_pki::time::Date::from_calendar_date(1985, hanko_pki::time::Month::April, 1).expect("date"),
            ),
            "東京都見本区試験町一丁目１番１号",
        )
        .expect("facts"),
        prefecture: "Tokyo-to".into(),
        municipality: "Mihon-ku".into(),
        ward: false,
    }
}

/// One authority and the requests that drive it: the fuzz target keeps one per process, the
/// replay test (`crates/authority/tests/fuzz_regressions`) one per reproducer and database.
pub(crate) struct Driver {
    rt: tokio::runtime::Runtime,
    f: Fixture,
}

static FIXTURES: AtomicU32 = AtomicU32::new(0);

impl Driver {
    /// A new authority over SQLite in a new temporary directory, or over a new schema of the
    /// PostgreSQL database at `postgres`.
    pub(crate) fn new(postgres: Option<&str>) -> Driver {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let f = fixture(&rt, postgres);
        Driver { rt, f }
    }

    /// Sends the request `data` describes; panics on a 5xx other than 503 or a leaked secret.
    pub(crate) fn run(&self, data: &[u8]) {
        run(&self.f, &self.rt, data)
    }
}

fn fixture(rt: &tokio::runtime::Runtime, postgres: Option<&str>) -> Fixture {
    {
        let t0 = std::time::Instant::now();
        // HANKO_FUZZ_LOG=1: the authority's log (the cause of a 5xx) on stderr.
        if std::env::var_os("HANKO_FUZZ_LOG").is_some() {
            let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).try_init();
        }
        let tmp = std::env::temp_dir();
        sweep(&tmp);
        let seq = FIXTURES.fetch_add(1, Ordering::Relaxed);
        let dir = tmp.join(format!("hanko-fuzz-authority-{}-{seq}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let f = rt.block_on(async {
            // SQLite by default, or a fresh PostgreSQL schema.
            let url = match postgres {
                Some(base) => format!(
                    "{base}{}hanko_schema=fuzz_{}_{seq}_{}",
                    if base.contains('?') { '&' } else { '?' },
                    std::process::id(),
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
                ),
                None => format!("sqlite:{}", dir.join("authority.sqlite").display()),
            };
            let db = hanko_store::Db::connect(&url).await.expect("sqlite");
            let clock = Arc::new(ManualClock::new(start()));
            let a = Arc::new(Authority::open(db, Config::sandbox(&dir), clock).await.expect("authority"));
            let counter_key = a.register_verifier(Role::Counter, "fuzz counter").await.expect("counter").api_key;
            let operator_key = a.register_verifier(Role::Operator, "fuzz operator").await.expect("operator").api_key;
            let platform = a.register_verifier(Role::Platform, "fuzz platform").await.expect("platform");
            a.register_service(&platform.verifier.id, SP, SERVICE, "fuzz service").await.expect("service");
            let sv = a.register_verifier(Role::Signature, "fuzz sv").await.expect("sv");

            // The anchors: software keys with a signature and an auth certificate, and a card.
            let key = SoftwareKey::generate_rsa2048().expect("key");
            let sig = a
                .issue_for_key(CertKind::Signature, Some(holder("署名 花子")), key.public_key().clone(), None)
                .await
                .expect("signature certificate");
            let key2 = SoftwareKey::generate_rsa2048().expect("key");
            let auth =
                a.issue_for_key(CertKind::Auth, None, key2.public_key().clone(), None).await.expect("auth certificate");
            let pins =
                CardPins { sign_password: Some(CARD_PASSWORD.to_owned().into()), auth_pin: CARD_PIN.to_owned().into() };
            let anchor = a.add_person(holder("署名 太郎")).await.expect("person");
            let signer_card = a.issue_card(&anchor.id, &pins).await.expect("card").card_id;

            // The victims: a resident with a card, software-key certificates, a consent.
            let victim = a.add_person(holder("見本 桜")).await.expect("person");
            let card = a.issue_card(&victim.id, &pins).await.expect("card");
            let key3 = SoftwareKey::generate_rsa2048().expect("key");
            let vsig = a
                .issue_for_key(CertKind::Signature, Some(holder("見本 椿")), key3.public_key().clone(), None)
                .await
                .expect("certificate");
            let vauth = a.issue_for_key(CertKind::Auth, None, key3.public_key().clone(), None).await.expect("cert");

            let router = hanko_authority::router(a.clone());
            let now = "2026-04-01T09:00:00+09:00";
            let consent_doc = serde_json::json!({"type": "hanko-consent-v1", "verifier_id": platform.verifier.id,
                "sp_id": SP, "service_id": SERVICE, "items": ["name", "address"], "issued_at": now});
            let consent_doc = serde_json::to_vec(&consent_doc).expect("json");
            let sigbytes = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, &consent_doc).expect("sign");
            let signed = SignedDocument::new(&consent_doc, &sigbytes, sig.der.as_deref().expect("der"));
            let req = Request::post("/v1/consents")
                .header(header::AUTHORIZATION, format!("Bearer {}", platform.api_key))
                .header("x-hanko-sp", format!("{SP}/{SERVICE}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&signed).expect("json")))
                .expect("request");
            let resp = router.clone().oneshot(req).await.expect("infallible");
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
            assert!(
                status.is_success(),
                "registering the fixture's consent: {status} {}",
                String::from_utf8_lossy(&body)
            );
            let consent: serde_json::Value = serde_json::from_slice(&body).expect("json");
            let consent_id = consent["consent_id"].as_str().expect("consent id").to_owned();

            let crls = a.publish_crls().await.expect("CRLs");
            let issuer =
                a.cas().expect("cas").current(CaKind::Auth, start()).expect("auth CA").ca.certificate().clone();
            let ids: Vec<CertIdentity> = [&vauth.serial, &auth.serial]
                .into_iter()
                .map(|s| CertIdentity::new(&issuer, s).expect("cert id"))
                .collect();
            let ocsp_one = build_request(&ids[..1], None).expect("ocsp request");
            let ocsp_two = build_request(&ids, Some(&[0x5a; 16][..])).expect("ocsp request");

            let mut words = vec![
                victim.id.clone(),
                card.card_id.clone(),
                card.auth_serial.clone(),
                card.signature_serial.clone().unwrap_or_default(),
                vsig.serial.to_string(),
                vauth.serial.to_string(),
                platform.verifier.id.clone(),
                sv.verifier.id.clone(),
                consent_id,
                SP.into(),
                SERVICE.into(),
                format!("{SP}/{SERVICE}"),
                "-".into(),
                "signature".into(),
                "auth".into(),
                "platform".into(),
                "counter".into(),
                "hanko-consent-v1".into(),
                "hanko-consent-withdrawal-v1".into(),
                "hanko-smartphone-application-v1".into(),
                "hanko-smartphone-revocation-v1".into(),
                now.into(),
                "2026-04-01T00:00:00Z".into(),
                "9999-12-31T23:59:59+23:59".into(),
                "name".into(),
                "sex".into(),
                "birth_date".into(),
                "address".into(),
                "android".into(),
                "iphone".into(),
                "keyCompromise".into(),
                "certificateHold".into(),
                "facts-changed".into(),
                "death".into(),
                "emigration".into(),
                "card-lost".into(),
                "card-returned".into(),
                "1985-04-01".into(),
                "2026-04".into(),
                CARD_PASSWORD.into(),
                CARD_PIN.into(),
                "Tokyo-to".into(),
                "東京都見本区試験町一丁目１番１号".into(),
                B64.encode(&ocsp_one),
                "phone0000000001".into(),
            ];
            for c in &crls {
                words.push(c.generation.clone());
            }
            let spki = |k: &SoftwareKey| {
                use hanko_pki::der::Encode;
                B64.encode(k.public_key().to_der().expect("spki"))
            };
            words.push(spki(&key3));
            words.push(spki(&SoftwareKey::generate_rsa2048().expect("key")));
            let blobs = vec![
                ocsp_one,
                ocsp_two,
                vsig.der.clone().unwrap_or_default(),
                vauth.der.clone().unwrap_or_default(),
                hanko_pki::der::Encode::to_der(&issuer).unwrap_or_default(),
            ];
            let n = ROUTES.len();
            Fixture {
                router,
                authority: a,
                counter_key,
                operator_key,
                platform_key: platform.api_key,
                words: RwLock::new(words),
                blobs,
                soft_signature: (key, sig.der.unwrap_or_default()),
                soft_auth: (key2, auth.der.unwrap_or_default()),
                data_dir: dir.clone(),
                signer_card,
                spent: (0..n).map(|_| AtomicU32::new(0)).collect(),
                victims: AtomicU32::new(0),
                execs: AtomicU32::new(0),
            }
        });
        eprintln!("authority_api: fixture ready in {:.1}s in {}", t0.elapsed().as_secs_f64(), f.data_dir.display());
        f
    }
}

/// Reads the input front to back; past the end everything is zero or empty.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
    /// A parameter: a dictionary word, or bytes.
    fn param(&mut self, f: &Fixture) -> Vec<u8> {
        let len = self.byte();
        if len >= 0xE0 {
            f.word(self.byte()).into_bytes()
        } else {
            self.take(usize::from(len)).to_vec()
        }
    }
    /// A JSON value (or raw text, or nothing to omit the field).
    fn json_value(&mut self, f: &Fixture) -> Option<String> {
        let tag = self.byte();
        Some(match tag % 8 {
            0 => json_str(&String::from_utf8_lossy(&self.param(f))),
            1 => String::from_utf8_lossy(&self.param(f)).into_owned(),
            2 => json_str(&f.word(self.byte())),
            3 => {
                let b = self.take(8);
                let mut x = [0u8; 8];
                x[..b.len()].copy_from_slice(b);
                if tag & 0x80 != 0 {
                    i64::from_le_bytes(x).to_string()
                } else {
                    u64::from_le_bytes(x).to_string()
                }
            }
            4 => return None,
            5 => ["null", "true", "false", "{}", "[]", "1e999", "-0", "0.5"][usize::from(tag >> 5)].to_owned(),
            6 => {
                let n = usize::from(self.byte() % 8);
                let items: Vec<String> = (0..n).map(|_| self.json_value(f).unwrap_or_else(|| "1".into())).collect();
                format!("[{}]", items.join(","))
            }
            _ => {
                let b = self.byte();
                if b & 1 == 0 {
                    json_str(&B64.encode(&f.blobs[usize::from(b >> 1) % f.blobs.len()]))
                } else {
                    json_str(&B64.encode(self.param(f)))
                }
            }
        })
    }
    /// A JSON object of `fields`, values read from the input; repeated keys and unknown keys
    /// come from the input's leftovers.
    fn json_object(&mut self, f: &Fixture, fields: &[&str]) -> Vec<u8> {
        let mut parts = Vec::new();
        for field in fields {
            if let Some(v) = self.json_value(f) {
                parts.push(format!("{}:{v}", json_str(field)));
            }
        }
        if self.byte() & 1 == 1 {
            let k = String::from_utf8_lossy(&self.param(f)).into_owned();
            if let Some(v) = self.json_value(f) {
                parts.push(format!("{}:{v}", json_str(&k)));
            }
        }
        format!("{{{}}}", parts.join(",")).into_bytes()
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Percent-encodes `b` for a path segment or a query; `raw` keeps every byte that may stand in
/// a URI as is (`%`, `/`, `?`, `=`, `&` … included) so that malformed escapes reach the router.
fn encode(b: &[u8], raw: bool, query: bool) -> String {
    let mut s = String::new();
    for &c in b {
        let keep = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'_' | b'~')
            || (query && matches!(c, b'=' | b'&'))
            || (raw
                && c.is_ascii_graphic()
                && !matches!(c, b'#' | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'));
        if keep {
            s.push(char::from(c));
        } else {
            s.push_str(&format!("%{c:02X}"));
        }
    }
    s
}

fn sign(f: &Fixture, signer: u8, document: &[u8]) -> Option<SignedDocument> {
    let soft = |(key, der): &(SoftwareKey, Vec<u8>)| {
        let s = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, document).ok()?;
        Some(SignedDocument::new(document, &s, der))
    };
    match signer % 4 {
        0 => soft(&f.soft_signature),
        1 => soft(&f.soft_auth),
        n => {
            let (slot, pin) = if n == 2 { (Slot::Signature, CARD_PASSWORD) } else { (Slot::Auth, CARD_PIN) };
            let mut client = Client::new(CardFile::open(&f.data_dir, &f.signer_card).ok()?);
            sign_document(&mut client, slot, pin.as_bytes(), document).ok()
        }
    }
}

/// `%XX` decoded, `+` as a space (as a query decodes it).
fn percent_decode(b: &[u8]) -> Vec<u8> {
    let hex = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Every JSON string literal in `b` (parsed or not as a whole), unescaped.
fn json_strings(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(start) = b[i..].iter().position(|&c| c == b'"').map(|p| i + p) {
        let mut j = start + 1;
        while j < b.len() && b[j] != b'"' {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        let end = j.min(b.len().saturating_sub(1));
        if let Ok(s) = serde_json::from_slice::<String>(&b[start..=end]) {
            out.push(s.into_bytes());
        }
        i = end + 1;
        if i >= b.len() {
            break;
        }
    }
    out
}

/// HANKO_FUZZ_TRACE=1: each request's status, path and the start of the answer on stderr.
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("HANKO_FUZZ_TRACE").is_some())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn run(f: &Fixture, rt: &tokio::runtime::Runtime, data: &[u8]) {
    if data.len() > 64 * 1024 {
        return;
    }
    let mut input = Input(data);
    let route = usize::from(input.byte()) % ROUTES.len();
    let (natural, template, fields) = ROUTES[route];
    let m = input.byte();
    let auth = input.byte();
    let mode = input.byte();

    let method = match m % 8 {
        0..=3 => {
            if natural == M::G {
                Method::GET
            } else {
                Method::POST
            }
        }
        4 => Method::GET,
        5 => Method::POST,
        6 => {
            [Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD, Method::OPTIONS][usize::from(m >> 3) % 5].clone()
        }
        _ => Method::from_bytes(b"FUZZ").unwrap_or(Method::GET),
    };
    let raw = auth & 0x40 != 0;

    // The path, its parameters read from the input.
    let mut path = String::new();
    let mut pieces = template.split("{}").peekable();
    while let Some(piece) = pieces.next() {
        path.push_str(piece);
        if pieces.peek().is_some() {
            path.push_str(&encode(&input.param(f), raw, false));
        }
    }
    if mode & 0x10 != 0 {
        path.push('?');
        path.push_str(&encode(&input.param(f), raw, true));
    }

    // The key.
    let mut key: Option<String> = match auth % 4 {
        0 => None,
        1 if ROUTES[route].1.starts_with("/v1/admin/") => Some(f.operator_key.clone()),
        1 => Some(f.counter_key.clone()),
        2 => Some(f.platform_key.clone()),
        _ => Some(match (auth >> 4) % 4 {
            0 => format!("hk_production_{}", &f.counter_key[8..]),
            1 => format!("hk_test_{}", "0".repeat(64)),
            2 => f.counter_key[..f.counter_key.len() - 1].to_owned(),
            _ => String::from_utf8_lossy(&input.param(f)).into_owned(),
        }),
    };
    let execs = f.execs.fetch_add(1, Ordering::Relaxed);
    if (key.as_deref() == Some(f.counter_key.as_str()) || key.as_deref() == Some(f.operator_key.as_str()))
        && budget(route).is_some_and(|(burst, per)| f.spent[route].load(Ordering::Relaxed) >= burst + execs / per)
    {
        key = None;
    }
    let sp: Option<Vec<u8>> = match (auth >> 2) % 4 {
        0 => None,
        1 => Some(format!("{SP}/{SERVICE}").into_bytes()),
        2 => Some(format!("{SP}/nope").into_bytes()),
        _ => Some(input.param(f)),
    };
    let conditional = if mode & 0x20 != 0 { Some(input.param(f)) } else { None };

    // The body.
    let mut document = Vec::new();
    let body: Vec<u8> = match mode % 4 {
        0 => input.0.to_vec(),
        1 => input.json_object(f, fields),
        2 => {
            let signer = input.byte();
            document = if signer & 0x80 != 0 { input.0.to_vec() } else { input.json_object(f, fields) };
            match sign(f, signer, &document) {
                Some(s) => serde_json::to_vec(&s).unwrap_or_default(),
                None => document.clone(),
            }
        }
        _ => {
            let b = input.byte();
            let mut blob = f.blobs[usize::from(b) % f.blobs.len()].clone();
            blob.extend_from_slice(input.0);
            blob
        }
    };

    let mut req = Request::builder().method(method).uri(path.as_str());
    if let Some(k) = &key {
        let v = match auth >> 7 {
            0 => format!("Bearer {k}"),
            _ => format!("Bearer  {k} "),
        };
        if let Ok(v) = HeaderValue::from_str(&v) {
            req = req.header(header::AUTHORIZATION, v);
        }
    }
    if let Some(sp) = sp.as_deref().and_then(|v| HeaderValue::from_bytes(v).ok()) {
        req = req.header("x-hanko-sp", sp);
    }
    if let Some(c) = conditional.as_deref().and_then(|v| HeaderValue::from_bytes(v).ok()) {
        req = req.header(if mode & 0x40 != 0 { header::IF_NONE_MATCH } else { header::IF_MODIFIED_SINCE }, c);
    }
    if mode & 0x04 != 0 {
        let ct = if mode & 0x08 != 0 { "application/ocsp-request" } else { "application/json" };
        req = req.header(header::CONTENT_TYPE, ct);
    }
    // What the answer may echo without leaking anything: whatever the request itself said
    // (percent-decoded, and every JSON string in the body or the signed document, unescaped).
    let mut said = vec![percent_decode(path.as_bytes()), body.clone(), document.clone()];
    said.extend(sp.clone());
    said.extend(conditional.clone());
    said.extend(json_strings(&body));
    said.extend(json_strings(&document));
    // A path the fuzzer made may not be a URI at all: that is the HTTP layer's to refuse.
    let Ok(req) = req.body(Body::from(body)) else { return };

    rt.block_on(async {
        let resp = f.router.clone().oneshot(req).await.expect("the router is infallible");
        let status = resp.status();
        if status.is_success() && budget(route).is_some() {
            f.spent[route].fetch_add(1, Ordering::Relaxed);
        }
        if ROUTES[route].1 == "/v1/counter/persons/{}/events" {
            f.refresh_victim().await;
        }
        let body = axum::body::to_bytes(resp.into_body(), 64 << 20).await.expect("a response body");
        if trace() {
            eprintln!("{status} {path} {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
        }
        assert!(
            !status.is_server_error() || status.as_u16() == 503,
            "{status} from {} {path}: {}",
            ROUTES[route].1,
            String::from_utf8_lossy(&body)
        );
        for secret in
            [b"PRIVATE KEY".as_slice(), f.counter_key.as_bytes(), f.operator_key.as_bytes(), f.platform_key.as_bytes()]
        {
            let leaked = contains(&body, secret) && !said.iter().any(|s| contains(s, secret));
            assert!(!leaked, "{status} from {path} leaks {}", String::from_utf8_lossy(secret));
        }
    });
}
