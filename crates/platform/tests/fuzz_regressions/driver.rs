//! Hostile HTTP requests through the platform's real router, in process (no socket to the
//! platform): one authority (served on loopback, as the platform only reaches it over HTTP) and
//! one platform per process over SQLite with a manual clock, two tenants (A checks by CRL, B by
//! OCSP), the admin key, a resident with a card whose real signature reaches the valid paths.
//! Each input is one request: never a panic, never a 5xx other than 503 (the authority not
//! answering), no answer ever carries an API key, and tenant B never gets tenant A's records.
//!
//! Input: `[route] [method] [auth] [mode] params… body…`. A param is a length byte and that many
//! bytes, or (length ≥ 0xE0) a pick from a dictionary of real ids, certificates and names. The
//! body is raw, or JSON of the route's own fields with values read from the input, or the
//! route's real request with one field replaced. Seeds index ROUTES and the dictionary: append
//! to those lists, do not reorder them.
//!
//! HANKO_FUZZ_TRACE=1 prints each request's status and path, HANKO_FUZZ_LOG=1 the services' log;
//! HANKO_FUZZ_POSTGRES=<url> puts the platform on a new PostgreSQL schema. Reproducers:
//! fuzz/regressions/platform_api, replayed by `cargo test` (hanko-platform's `fuzz_regressions`
//! test includes this driver, as the fuzz target `fuzz/fuzz_targets/platform_api.rs` does).
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_authority::{Authority, CardPins, ManualClock, NewPerson, Role};
use hanko_card::{Client, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::{BasicFacts, BirthDate, DigestAlgorithm, DigestInfo, Sex};
use hanko_platform::{CheckMethod, Config, FactItem, NewTenant, Platform};
use tower::ServiceExt;

/// 2026-04-01 00:00 UTC.
const START_UNIX: i64 = 1_775_001_600;
const DOCUMENT: &[u8] = b"fuzz contract (synthetic)";

#[derive(Clone, Copy, PartialEq)]
enum M {
    G,
    P,
}

/// Every route of the router (`grep -ho '\.route(\s*"[^"]*"' crates/platform/src/*.rs`), `{}` for
/// a path parameter, with the fields of its JSON body. The last entry is a raw path.
const ROUTES: &[(M, &str, &[&str])] = &[
    (M::G, "/openapi.json", &[]),
    (M::G, "/healthz", &[]),
    (M::P, "/v1/admin/tenants", &["sp_id", "service_id", "name", "check_method", "facts", "sensitive"]),
    (M::G, "/v1/admin/tenants/{}", &[]),
    (M::P, "/v1/admin/tenants/{}/keys", &[]),
    (M::G, "/v1/tenant", &[]),
    (M::P, "/v1/verifications/signature", &["certificate", "signature", "digest", "data", "digest_algorithm"]),
    (M::G, "/v1/evidence/{}", &[]),
    (M::G, "/{}", &[]),
    (M::G, "/v1/admin/meter", &[]),
    (M::P, "/v1/admin/monitoring/run", &[]),
    (M::P, "/v1/admin/tenants/{}/webhook", &["url"]),
    (M::P, "/v1/admin/webhooks/deliver", &[]),
    (M::P, "/v1/auth/challenges", &[]),
    (M::P, "/v1/certificates/status", &["certificate", "check_purpose"]),
    (M::P, "/v1/consents", &["document", "signature", "certificate"]),
    (M::P, "/v1/consents/document", &["items"]),
    (M::G, "/v1/consents/{}", &[]),
    (M::G, "/v1/evidence/{}/proof", &[]),
    (M::G, "/v1/jwks", &[]),
    (M::G, "/v1/meter", &[]),
    (M::P, "/v1/monitoring/subscriptions", &["user_id", "evidence_id"]),
    (M::G, "/v1/monitoring/subscriptions/{}", &[]),
    (M::G, "/v1/users", &[]),
    (M::G, "/v1/users/{}", &[]),
    (M::P, "/v1/users/{}/latest-facts", &[]),
    (M::P, "/v1/users/{}/liveness", &[]),
    (M::G, "/v1/users/{}/status-history", &[]),
    (M::P, "/v1/verifications/authentication", &["challenge_id", "challenge", "certificate", "signature"]),
    (M::P, "/v1/verifications/cms", &["cms", "data"]),
    (M::P, "/v1/verifications/pdf", &["pdf"]),
    (M::P, "/v1/verifications/sign-result", &["sign_certificate_jwe", "digest", "digest_algorithm"]),
    (M::P, "/v1/webhook", &["url"]),
    (M::G, "/v1/webhook/deliveries", &[]),
    (M::G, "/v1/webhook/deliveries/{}", &[]),
    (M::P, "/v1/webhook/deliveries/{}/retry", &[]),
    (M::G, "/v1/evidence", &[]),
    (M::G, "/metrics", &[]),
];

struct Fixture {
    router: axum::Router,
    /// Tenant A (CRL), tenant B (OCSP), the admin, the platform at the authority.
    keys: [String; 4],
    /// A's tenant id and the ids of A's records, which B must never get.
    a_secrets: Vec<String>,
    words: Vec<String>,
    /// The real request of each route that has one (JSON).
    valid: Vec<(&'static str, serde_json::Value)>,
    execs: AtomicU32,
    /// The authority's server task; aborted when the fixture goes.
    _server: tokio::task::JoinHandle<()>,
}

/// One platform and the requests that drive it: the fuzz target keeps one per process, the
/// replay test (`crates/platform/tests/fuzz_regressions`) one per reproducer.
pub(crate) struct Driver {
    rt: tokio::runtime::Runtime,
    f: Fixture,
}

static FIXTURES: AtomicU32 = AtomicU32::new(0);

fn holder() -> NewPerson {
    NewPerson {
        facts: BasicFacts::new(
            "見本　桜",
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

impl Driver {
    /// A new authority and platform over SQLite in a new temporary directory, or the platform
    /// over a new schema of the PostgreSQL database at `postgres`.
    pub(crate) fn new(postgres: Option<&str>) -> Driver {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let f = rt.block_on(fixture(postgres));
        Driver { rt, f }
    }

    /// Sends the request `data` describes; panics on a 5xx other than 503, a leaked key or
    /// another tenant's record.
    pub(crate) fn run(&self, data: &[u8]) {
        self.rt.block_on(run(&self.f, data))
    }
}

async fn fixture(postgres: Option<&str>) -> Fixture {
    if std::env::var_os("HANKO_FUZZ_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).try_init();
    }
    let seq = FIXTURES.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("hanko-fuzz-platform-{}-{seq}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (adir, pdir) = (dir.join("authority"), dir.join("platform"));
    std::fs::create_dir_all(pdir.join(hanko_platform::ANCHORS_DIR)).expect("temp dir");
    let start = hanko_pki::time::OffsetDateTime::from_unix_timestamp(START_UNIX).expect("start");
    let clock = Arc::new(ManualClock::new(start));

    let db = hanko_store::Db::connect(&format!("sqlite:{}", adir.join("authority.sqlite").display()))
        .await
        .expect("authority db");
    let a =
        Arc::new(Authority::open(db, hanko_authority::Config::sandbox(&adir), clock.clone()).await.expect("authority"));
    let pf = a.register_verifier(Role::Platform, "fuzz platform").await.expect("platform");
    let person = a.add_person(holder()).await.expect("person");
    let pins = CardPins { sign_password: Some("HANKO2026".to_owned().into()), auth_pin: "1234".to_owned().into() };
    let card = a.issue_card(&person.id, &pins).await.expect("card");
    a.publish_crls().await.expect("CRLs");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let _ = hanko_authority::serve(a, listener, std::future::pending()).await;
    });

    for kind in ["signature", "auth"] {
        for g in std::fs::read_dir(adir.join("ca").join(kind)).expect("ca dir").flatten() {
            let name = g.file_name().to_string_lossy().into_owned();
            std::fs::copy(
                g.path().join("ca.der"),
                pdir.join(hanko_platform::ANCHORS_DIR).join(format!("{kind}-{name}.der")),
            )
            .expect("anchor");
        }
    }
    std::fs::write(pdir.join(hanko_platform::AUTHORITY_KEY_FILE), &pf.api_key).expect("key");
    let purl = match postgres {
        Some(base) => format!(
            "{base}{}hanko_schema=pfuzz_{}_{seq}_{}",
            if base.contains('?') { '&' } else { '?' },
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
        ),
        None => format!("sqlite:{}", pdir.join("platform.sqlite").display()),
    };
    let platform = Arc::new(
        Platform::open(hanko_store::Db::connect(&purl).await.expect("platform db"), Config::new(&pdir, &url), clock)
            .await
            .expect("platform"),
    );
    platform.refresh_crls().await.expect("CRLs");
    let tenant = |sp: &str, method| NewTenant {
        sp_id: sp.into(),
        service_id: "web".into(),
        name: format!("fuzz {sp}"),
        check_method: method,
        facts: vec![FactItem::Name, FactItem::Address],
        sensitive: true,
    };
    let ta = platform.add_tenant(tenant("SPFUZZA", CheckMethod::Crl)).await.expect("tenant A");
    let tb = platform.add_tenant(tenant("SPFUZZB", CheckMethod::Ocsp)).await.expect("tenant B");
    let admin = platform.add_admin_key().await.expect("admin");

    // The card's real signature over DOCUMENT.
    let mut client = Client::new(CardFile::open(&adir, &card.card_id).expect("card image"));
    let cert = client.read_signature_certificate(b"HANKO2026").expect("certificate");
    let di = DigestInfo::of(DigestAlgorithm::Sha256, DOCUMENT).to_der().expect("digest info");
    let sig = client.sign(Slot::Signature, b"HANKO2026", &di).expect("signature");
    let signature_request = serde_json::json!({
        "certificate": B64.encode(&cert), "signature": B64.encode(&sig),
        "digest": B64.encode(DigestAlgorithm::Sha256.digest(DOCUMENT))});

    let router = hanko_platform::router(platform.clone());
    // One verification by A, so that A has a record B must never see.
    let req = Request::post("/v1/verifications/signature")
        .header(header::AUTHORIZATION, format!("Bearer {}", ta.api_key))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(signature_request.to_string()))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
    let outcome: serde_json::Value = serde_json::from_slice(&body).expect("outcome");
    let evidence = outcome["evidence_id"].as_str().expect("evidence id").to_owned();
    let user = outcome["user_id"].as_str().unwrap_or_default().to_owned();

    let words = vec![
        ta.tenant.id.clone(),
        tb.tenant.id.clone(),
        evidence.clone(),
        user.clone(),
        "SPFUZZA".into(),
        "SPFUZZB".into(),
        "web".into(),
        "crl".into(),
        "ocsp".into(),
        "name".into(),
        "address".into(),
        "birth_date".into(),
        "sex".into(),
        "sha256".into(),
        "sha512".into(),
        B64.encode(&cert),
        B64.encode(&sig),
        B64.encode(DigestAlgorithm::Sha256.digest(DOCUMENT)),
        B64.encode(DOCUMENT),
        card.signature_serial.clone().unwrap_or_default(),
        card.auth_serial.clone(),
        "signature_verification".into(),
        "liveness_check".into(),
        "http://127.0.0.1:9/hook".into(),
        "2026-04".into(),
    ];
    eprintln!("platform_api: fixture ready in {}", dir.display());
    Fixture {
        router,
        keys: [ta.api_key, tb.api_key, admin, pf.api_key],
        a_secrets: vec![ta.tenant.id, evidence, user].into_iter().filter(|s| !s.is_empty()).collect(),
        words,
        valid: vec![("/v1/verifications/signature", signature_request)],
        execs: AtomicU32::new(0),
        _server: server,
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
    fn word<'f>(&mut self, f: &'f Fixture) -> &'f str {
        &f.words[usize::from(self.byte()) % f.words.len()]
    }
    /// A parameter: a dictionary word, or bytes.
    fn param(&mut self, f: &Fixture) -> Vec<u8> {
        let len = self.byte();
        if len >= 0xE0 {
            self.word(f).as_bytes().to_vec()
        } else {
            self.take(usize::from(len)).to_vec()
        }
    }
    /// A JSON value, or `None` to omit the field.
    fn json_value(&mut self, f: &Fixture) -> Option<serde_json::Value> {
        use serde_json::{json, Value};
        let tag = self.byte();
        Some(match tag % 8 {
            0 => Value::String(String::from_utf8_lossy(&self.param(f)).into_owned()),
            1 => Value::String(self.word(f).to_owned()),
            2 => Value::String(B64.encode(self.param(f))),
            3 => {
                let b = self.take(8);
                let mut x = [0u8; 8];
                x[..b.len()].copy_from_slice(b);
                json!(i64::from_le_bytes(x))
            }
            4 => return None,
            5 => [Value::Null, json!(true), json!(false), json!({}), json!([]), json!(0.5)][usize::from(tag >> 5) % 6]
                .clone(),
            6 => {
                let n = usize::from(self.byte() % 6);
                Value::Array((0..n).filter_map(|_| self.json_value(f)).collect())
            }
            _ => Value::String(String::from_utf8_lossy(&self.param(f)).repeat(usize::from(self.byte()))),
        })
    }
}

async fn run(f: &Fixture, data: &[u8]) {
    if data.len() > 64 * 1024 {
        return;
    }
    let trace = std::env::var_os("HANKO_FUZZ_TRACE").is_some();
    let mut input = Input(data);
    let (natural, template, fields) = ROUTES[usize::from(input.byte()) % ROUTES.len()];
    let m = input.byte();
    let auth = input.byte();
    let mode = input.byte();
    let method = match m % 8 {
        0..=4 => {
            if natural == M::G {
                Method::GET
            } else {
                Method::POST
            }
        }
        5 => Method::GET,
        6 => Method::POST,
        _ => [Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD][usize::from(m >> 3) % 4].clone(),
    };
    let mut path = String::new();
    let mut pieces = template.split("{}").peekable();
    while let Some(piece) = pieces.next() {
        path.push_str(piece);
        if pieces.peek().is_some() {
            path.push_str(&encode(&input.param(f)));
        }
    }
    if mode & 0x10 != 0 {
        path.push('?');
        path.push_str(&encode(&input.param(f)));
    }
    let body: Vec<u8> = match mode % 4 {
        0 => input.param(f),
        1 | 2 => {
            let mut object = serde_json::Map::new();
            for field in fields {
                if let Some(v) = input.json_value(f) {
                    object.insert((*field).to_owned(), v);
                }
            }
            serde_json::Value::Object(object).to_string().into_bytes()
        }
        _ => match f.valid.iter().find(|(p, _)| *p == template) {
            Some((_, v)) => {
                let mut v = v.clone();
                if let (Some(field), Some(value)) =
                    (fields.get(usize::from(input.byte()) % fields.len().max(1)), input.json_value(f))
                {
                    v[*field] = value;
                }
                v.to_string().into_bytes()
            }
            None => input.param(f),
        },
    };
    let who = usize::from(auth % 8);
    let mut req = Request::builder().method(method).uri(&path);
    match who {
        0..=3 => req = req.header(header::AUTHORIZATION, format!("Bearer {}", f.keys[who])),
        4 => req = req.header(header::AUTHORIZATION, format!("Bearer pk_production_{}", "0".repeat(64))),
        5 => req = req.header(header::AUTHORIZATION, String::from_utf8_lossy(&input.param(f)).into_owned()),
        _ => {}
    }
    if auth & 0x80 == 0 {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let Ok(req) = req.body(Body::from(body.clone())) else { return };
    let resp = f.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let answer = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap_or_default();
    let n = f.execs.fetch_add(1, Ordering::Relaxed);
    if trace {
        eprintln!("#{n} {status} {path} {}", String::from_utf8_lossy(&answer[..answer.len().min(200)]));
    }
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{status} for {path}: {}",
        String::from_utf8_lossy(&answer)
    );
    for key in &f.keys {
        assert!(!contains(&answer, key.as_bytes()), "an API key in the answer to {path}");
    }
    // Tenant B (key 1) never gets a success carrying A's records (unless it sent their ids).
    if who == 1 && status.is_success() {
        for secret in &f.a_secrets {
            if !contains(path.as_bytes(), secret.as_bytes()) && !contains(&body, secret.as_bytes()) {
                assert!(!contains(&answer, secret.as_bytes()), "tenant B got A's {secret} from {path}");
            }
        }
        assert!(
            !(path.starts_with("/v1/evidence/") && status.is_success() && f.a_secrets.iter().any(|s| path.contains(s))),
            "tenant B read A's evidence"
        );
    }
}

/// Percent-encodes `b` for a path segment.
fn encode(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            s.push(char::from(c));
        } else {
            s.push_str(&format!("%{c:02X}"));
        }
    }
    s
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
