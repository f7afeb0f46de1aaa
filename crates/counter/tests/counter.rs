//! The counter service in process: the router over in-memory sources (emulated chips behind
//! `hanko_card::Transport`), on SQLite and PostgreSQL. Synthetic holders only.
//! `documents_through_the_real_reader` checks each of the four documents through the real
//! readers (`hanko_documents::check`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/samples.rs"]
mod samples;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use hanko_card::{Transport, TransportError};
use hanko_counter::{CheckFn, Counter, CounterConfig, RecordPolicy, SourceInfo, Sources};
use hanko_documents::{
    AccessCode, CheckError, ChipCheck, DocumentKind, Field, IssuerCheck, Photo, PhotoFormat, Progress, Report, Trust,
    TrustAnchors,
};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

/// The sample card's 照合番号B (Showa 55-02-17, expires 2035, security code 2285).
const NUMBER_B: &str = "55021720352285";
const BIRTH_PART: &str = "550217";

// ---------------------------------------------------------------------------------------------
// Logs: every test's log lines go to one buffer, so a test can assert no access code is in it.

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let b = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || b.clone())
            .with_ansi(false)
            .try_init();
        buffer
    })
}

// ---------------------------------------------------------------------------------------------
// In-memory sources.

type SharedTransport = Arc<Mutex<Box<dyn Transport + Send>>>;

struct Shared(SharedTransport);

impl Transport for Shared {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.lock().unwrap().transmit(apdu)
    }
}

#[derive(Default)]
struct MemSources {
    entries: Vec<(SourceInfo, SharedTransport)>,
}

impl MemSources {
    fn with(mut self, id: &str, label: &str, kind: Option<DocumentKind>, t: impl Transport + Send + 'static) -> Self {
        let info = SourceInfo { id: id.into(), label: label.into(), kind };
        self.entries.push((info, Arc::new(Mutex::new(Box::new(t)))));
        self
    }
}

impl Sources for MemSources {
    fn list(&self) -> Vec<SourceInfo> {
        self.entries.iter().map(|(i, _)| i.clone()).collect()
    }
    fn open(&self, id: &str) -> Result<Box<dyn Transport + Send>, String> {
        let (_, t) = self.entries.iter().find(|(i, _)| i.id == id).ok_or_else(|| format!("no source {id}"))?;
        Ok(Box::new(Shared(t.clone())))
    }
}

/// A personalised sample My Number Card (synthetic holder) as an in-process transport.
fn sample_card() -> hanko_card::Card {
    hanko_card::sample::issue(hanko_card::Device::Card, Vec::new()).unwrap().card
}

// ---------------------------------------------------------------------------------------------
// A stand-in reader for the flow tests (the real readers are stubs today): it talks to the
// source's transport (SELECT of the 券面AP, proving the transport is the source's), reports
// progress, accepts only NUMBER_B and answers a report with signed and unsigned fields and the
// synthetic JPEG 2000 portrait.

fn fake_report(kind: DocumentKind) -> Report {
    let signed = |key, label, value: &str| Field { key, label, value: value.into(), trust: Trust::Signed };
    Report {
        kind,
        fields: vec![
            signed("name", "氏名", "見本　花子"),
            signed("birth_date", "生年月日", "1980-02-17"),
            signed("address", "住所", "東京都見本区試験町一丁目１番１号"),
            signed("my_number", "個人番号", "991234567803"),
            Field {
                key: "address_change",
                label: "住所変更",
                value: "東京都見本区架空台三丁目４番５号".into(),
                trust: Trust::Unsigned { why: "written after issue; not signed".into() },
            },
        ],
        photo: Some(Photo {
            format: PhotoFormat::Jpeg2000,
            bytes: hanko_card::SYNTHETIC_PORTRAIT_JP2.to_vec(),
            trust: Trust::Signed,
        }),
        issuer: IssuerCheck { method: "test issuer signature".into(), signer: "CN=JPKI-TEST issuer".into() },
        chip: ChipCheck::Proven { method: "test internal authentication".into() },
    }
}

fn fake_checker(
    kind: DocumentKind,
    t: &mut dyn Transport,
    code: &AccessCode,
    _: &TrustAnchors,
    _: time::OffsetDateTime,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, CheckError> {
    progress(Progress { step: "select", done: 0, total: Some(3) });
    // SELECT the 券面AP (D3 92 10 00 31 00 01 01 04 08): the sample card answers.
    let answer = t.transmit(&hex::decode("00A4040C0AD3921000310001010408").unwrap())?;
    assert!(answer.len() >= 2, "the source's transport answers");
    progress(Progress { step: "read", done: 1, total: Some(3) });
    match code {
        AccessCode::NumberB(b) if b.as_str() == NUMBER_B => {}
        AccessCode::NumberB(_) => return Err(CheckError::WrongAccessCode { which: None, tries_left: Some(9) }),
        _ => return Err(CheckError::WrongKindOfCode("test: only check number B")),
    }
    progress(Progress { step: "verify", done: 3, total: Some(3) });
    Ok(fake_report(kind))
}

// ---------------------------------------------------------------------------------------------
// Harness.

struct Harness {
    router: Router,
    counter: Arc<Counter>,
    cookie: String,
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "hanko-counter-test-{}-{}",
        std::process::id(),
        rand_core::RngCore::next_u64(&mut rand_core::OsRng)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The PostgreSQL URL of a fresh schema, or `None` when knowingly skipped.
fn postgres_url() -> Option<String> {
    match std::env::var("HANKO_TEST_POSTGRES") {
        Ok(base) => {
            let schema = format!("counter_{:x}", rand_core::RngCore::next_u64(&mut rand_core::OsRng));
            Some(format!("{base}{}hanko_schema={schema}", if base.contains('?') { '&' } else { '?' }))
        }
        Err(_) if std::env::var("HANKO_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: the PostgreSQL half (HANKO_SKIP_POSTGRES=1)");
            None
        }
        Err(_) => panic!(
            "HANKO_TEST_POSTGRES is not set: run `export HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)` \
             (or HANKO_SKIP_POSTGRES=1 to skip the PostgreSQL half knowingly)"
        ),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

async fn harness_with(
    backend: Backend,
    sources: MemSources,
    checker: Option<Arc<CheckFn>>,
    policy: RecordPolicy,
) -> Option<Harness> {
    logs();
    let dir = temp_dir();
    let mut config = CounterConfig::new(TrustAnchors::default(), Arc::new(sources), &dir);
    if backend == Backend::Postgres {
        config.database_url = Some(postgres_url()?);
    }
    if let Some(c) = checker {
        config.checker = c;
    }
    config.record_policy = policy;
    let counter = Arc::new(Counter::open(config).await.unwrap());
    let router = hanko_counter::router(counter.clone());
    let mut h = Harness { router, counter, cookie: String::new() };
    let token = h.counter.config().staff_token.to_string();
    let r = h.send(Method::GET, &format!("/?token={token}"), None, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/", "the token leaves the URL");
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains(&token), "the cookie is not the token");
    h.cookie = set.split(';').next().unwrap().to_owned();
    Some(h)
}

async fn harness(sources: MemSources, checker: Option<Arc<CheckFn>>) -> Harness {
    harness_with(Backend::Sqlite, sources, checker, RecordPolicy::Minimal).await.unwrap()
}

fn card_sources() -> MemSources {
    MemSources::default().with(
        "card-1",
        "emulated: 見本 花子 (My Number Card)",
        Some(DocumentKind::MyNumberCard),
        sample_card(),
    )
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

const ORIGIN: &str = "http://counter.test";

impl Harness {
    /// A request as the signed-in page sends it (the cookie; a POST carries the page's Origin).
    async fn send(&self, method: Method, path: &str, body: Option<Value>, extra: &[(&str, &str)]) -> Answer {
        let mut req = Request::builder().method(method.clone()).uri(path).header(header::HOST, "counter.test");
        if !self.cookie.is_empty() && !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("cookie")) {
            req = req.header(header::COOKIE, &self.cookie);
        }
        if method == Method::POST && !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("origin")) {
            req = req.header(header::ORIGIN, ORIGIN);
        }
        for (k, v) in extra {
            if !v.is_empty() {
                req = req.header(*k, *v);
            }
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Answer { status, headers, body }
    }

    async fn start(&self, document: &str, source: &str, code: Value) -> Answer {
        self.send(Method::POST, "/api/checks", Some(json!({"document": document, "source": source, "code": code})), &[])
            .await
    }

    /// Polls a check to its end; the progress steps seen on the way.
    async fn finish(&self, id: &str) -> (Value, Vec<String>) {
        let mut steps = Vec::new();
        for _ in 0..2000 {
            let a = self.send(Method::GET, &format!("/api/checks/{id}"), None, &[]).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text());
            let s = a.json();
            if s["state"] != "running" {
                return (s, steps);
            }
            if let Some(step) = s["progress"]["step"].as_str() {
                if steps.last().map(String::as_str) != Some(step) {
                    steps.push(step.to_owned());
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("the check did not end");
    }
}

fn fake() -> Option<Arc<CheckFn>> {
    Some(Arc::new(fake_checker))
}

// ---------------------------------------------------------------------------------------------
// The flow.

async fn a_check_passes_shows_the_facts_and_keeps_only_the_minimal_record(backend: Backend) {
    let Some(h) = harness_with(backend, card_sources(), fake(), RecordPolicy::Minimal).await else { return };
    let page = h.send(Method::GET, "/", None, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("照合番号B") && html.contains("emulated: 見本 花子"), "{html}");
    assert!(html.contains("type=\"password\""), "the access code is masked");

    let a = h.start("my_number_card", "card-1", json!({"number_b": NUMBER_B})).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let (s, _steps) = h.finish(&id).await;
    assert_eq!(s["state"], "done", "{s}");
    let fields = s["report"]["fields"].as_array().unwrap();
    assert_eq!(fields[0]["value"], "見本　花子");
    assert_eq!(fields[0]["trust"], "signed");
    assert_eq!(fields[4]["trust"], "unsigned");
    assert_eq!(s["report"]["chip"]["chip"], "proven");
    assert_eq!(s["verified"], true, "signed fields: shown as checked");
    // The record: the time, the document, the 8 digits without the birth date. Nothing else.
    let record = &s["record"];
    assert_eq!(record["document"], "my_number_card");
    assert_eq!(record["number_b_tail"], "20352285");
    assert_eq!(record["policy"], "minimal");
    assert!(record.get("details").is_none());
    // The photo: JPEG 2000 on the chip, PNG to the browser.
    let photo = h.send(Method::GET, s["photo"].as_str().unwrap(), None, &[]).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.headers[header::CONTENT_TYPE], "image/png");
    assert!(photo.body.starts_with(b"\x89PNG\r\n\x1a\n"));

    let records = h.send(Method::GET, "/api/records", None, &[]).await.json();
    let stored = &records["records"][0];
    assert_eq!(stored, record, "the stored record is the one shown");
    let text = records.to_string();
    assert!(!text.contains(NUMBER_B) && !text.contains(BIRTH_PART), "no access code, no birth date: {text}");
    assert!(!text.contains("991234567803") && !text.contains("見本"), "no My Number, no personal data: {text}");
    let page = h.send(Method::GET, "/records", None, &[]).await.text();
    assert!(page.contains("20352285") && !page.contains(NUMBER_B));
    // Nothing the service answered or logged carries the access code.
    assert!(!s.to_string().contains(NUMBER_B));
    assert!(!String::from_utf8_lossy(&logs().0.lock().unwrap()).contains(NUMBER_B), "the access code is never logged");
}

#[tokio::test]
async fn a_check_passes_sqlite() {
    a_check_passes_shows_the_facts_and_keeps_only_the_minimal_record(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_check_passes_postgres() {
    a_check_passes_shows_the_facts_and_keeps_only_the_minimal_record(Backend::Postgres).await;
}

#[tokio::test]
async fn progress_is_reported_while_reading() {
    // A reader that waits between steps until the test lets it go on.
    let gate = Arc::new((Mutex::new(0u32), std::sync::Condvar::new()));
    let g = gate.clone();
    let slow: Arc<CheckFn> = Arc::new(move |kind, t, code, trust, now, progress| {
        for step in ["DG1", "DG2 (face)"] {
            progress(Progress { step, done: 0, total: Some(2) });
            let (m, c) = &*g;
            let mut n = m.lock().unwrap();
            let want = *n + 1;
            while *n < want {
                n = c.wait(n).unwrap();
            }
        }
        fake_checker(kind, t, code, trust, now, progress)
    });
    let h = harness(card_sources(), Some(slow)).await;
    let id = h.start("my_number_card", "card-1", json!({"number_b": NUMBER_B})).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut seen = Vec::new();
    for _ in 0..2 {
        for _ in 0..500 {
            let s = h.send(Method::GET, &format!("/api/checks/{id}"), None, &[]).await.json();
            let step = s["progress"]["step"].as_str().unwrap_or_default().to_owned();
            if step.starts_with("DG") && !seen.contains(&step) {
                seen.push(step);
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // One check per source at a time.
        let busy = h.start("my_number_card", "card-1", json!({"number_b": NUMBER_B})).await;
        assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.text());
        assert_eq!(busy.json()["code"], "source_busy");
        let (m, c) = &*gate;
        *m.lock().unwrap() += 1;
        c.notify_all();
    }
    assert_eq!(seen, ["DG1", "DG2 (face)"]);
    assert_eq!(h.finish(&id).await.0["state"], "done");
}

#[tokio::test]
async fn a_wrong_access_code_fails_says_the_tries_left_and_keeps_no_record() {
    let h = harness(card_sources(), fake()).await;
    let id = h.start("my_number_card", "card-1", json!({"number_b": "55021720359999"})).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = h.finish(&id).await;
    assert_eq!(s["state"], "failed");
    assert_eq!(s["error"]["code"], "wrong_access_code");
    assert_eq!(s["error"]["tries_left"], 9);
    assert!(!s.to_string().contains("55021720359999"));
    assert_eq!(h.send(Method::GET, "/api/records", None, &[]).await.json()["records"], json!([]));
    assert!(!String::from_utf8_lossy(&logs().0.lock().unwrap()).contains("55021720359999"));
}

#[tokio::test]
async fn malformed_access_codes_are_refused_without_repeating_them() {
    let h = harness(card_sources(), fake()).await;
    for (document, code) in [
        ("my_number_card", json!({"number_b": 55021720352285u64})),
        ("my_number_card", json!({"number_b": "5502172035228X"})),
        ("driver_licence", json!({"pin1": "98761", "pin2": "9876"})),
        ("residence_card", json!({"card_number": "<script>9876"})),
        ("passport", json!({"can": "98765X"})),
        ("passport", json!({"secret": "98765"})),
    ] {
        let a = h.start(document, "card-1", code.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/problem+json");
        for digits in ["98761", "9876", "552285", "5502172035228", "script"] {
            assert!(!a.text().contains(digits), "{}", a.text());
        }
    }
    let a = h.start("no_such_document", "card-1", json!({})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = h.start("my_number_card", "no-such-source", json!({"number_b": NUMBER_B})).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let big = "9".repeat(8000);
    let a = h.start("my_number_card", "card-1", json!({"number_b": big})).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!a.text().contains("9999999"));
}

#[tokio::test]
async fn a_check_that_never_ends_is_cut_by_the_command_budget() {
    let endless: Arc<CheckFn> = Arc::new(|_, t, _, _, _, _| loop {
        t.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x00])?;
    });
    let h = harness(card_sources(), Some(endless)).await;
    let id = h.start("my_number_card", "card-1", json!({"number_b": NUMBER_B})).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = h.finish(&id).await;
    assert_eq!(s["error"]["code"], "transport", "{s}");
    assert!(s["error"]["message"].as_str().unwrap().contains(&hanko_counter::MAX_APDUS.to_string()));
    // The source is free again.
    assert_eq!(h.start("my_number_card", "card-1", json!({"number_b": NUMBER_B})).await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_aml_policy_records_more_but_never_the_my_number() {
    let h = harness_with(Backend::Sqlite, card_sources(), fake(), RecordPolicy::Aml).await.unwrap();
    let id = h.start("my_number_card", "card-1", json!({"number_b": NUMBER_B})).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = h.finish(&id).await;
    let details = &s["record"]["details"];
    assert_eq!(details["fields"]["name"]["value"], "見本　花子");
    assert_eq!(details["fields"]["address"]["signed"], true);
    let text = h.send(Method::GET, "/api/records", None, &[]).await.text();
    assert!(!text.contains("991234567803") && !text.contains("my_number\""), "{text}");
    assert!(!text.contains(NUMBER_B));
}

/// The sample My Number Card with its 券面AP (synthetic holder, 照合番号B = NUMBER_B) and the
/// trust anchors that verify it (its sandbox CV root).
fn my_number_card_with_face() -> (hanko_card::Card, TrustAnchors) {
    let (card, root) = samples::my_number_card();
    (card, TrustAnchors { mynumber_cv_root: Some(root), ..Default::default() })
}

async fn through_the_real_reader(
    kind: DocumentKind,
    document: (impl Transport + Send + 'static, TrustAnchors),
    code: Value,
) -> Value {
    through_the_real_reader_with(kind, document, code, RecordPolicy::Minimal).await.0
}

/// [`through_the_real_reader`] under `policy`, with the counter (its records, page, metrics).
async fn through_the_real_reader_with(
    kind: DocumentKind,
    (source, trust): (impl Transport + Send + 'static, TrustAnchors),
    code: Value,
    policy: RecordPolicy,
) -> (Value, Harness) {
    logs();
    let sources = MemSources::default().with("doc", "emulated document", Some(kind), source);
    let mut config = CounterConfig::new(trust, Arc::new(sources), temp_dir());
    config.record_policy = policy;
    let counter = Arc::new(Counter::open(config).await.unwrap());
    let token = counter.config().staff_token.to_string();
    let h = Harness { router: hanko_counter::router(counter.clone()), counter, cookie: String::new() };
    let bearer = format!("Bearer {token}");
    let auth: &[(&str, &str)] = &[("authorization", &bearer)];
    let body = json!({"document": kind.as_str(), "source": "doc", "code": code});
    let a = h.send(Method::POST, "/api/checks", Some(body), auth).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let s = loop {
        let s = h.send(Method::GET, &format!("/api/checks/{id}"), None, auth).await.json();
        if s["state"] != "running" {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(s["state"], "done", "{s}");
    assert_eq!(s["record"]["document"], kind.as_str());
    if kind == DocumentKind::MyNumberCard && policy == RecordPolicy::Minimal {
        assert_eq!(s["record"]["number_b_tail"], "20352285");
    }
    assert!(!s.to_string().contains(NUMBER_B));
    (s, h)
}

#[tokio::test]
async fn documents_through_the_real_reader() {
    use DocumentKind::*;
    let s = through_the_real_reader(MyNumberCard, my_number_card_with_face(), json!({"number_b": NUMBER_B})).await;
    assert_eq!(s["verified"], true, "{s}");
    through_the_real_reader(
        DriverLicence,
        samples::sample_document(DriverLicence),
        json!({"pin1": "1234", "pin2": "5678"}),
    )
    .await;
    through_the_real_reader(
        ResidenceCard,
        samples::sample_document(ResidenceCard),
        json!({"card_number": "AA12345678BB"}),
    )
    .await;
    let p = hanko_documents::passport::sample_holder(0);
    through_the_real_reader(
        Passport,
        samples::sample_document(Passport),
        json!({"document_number": p.document_number, "birth": p.birth, "expiry": p.expiry}),
    )
    .await;
}

/// Review finding: an under-16 residence card has no signature at all (every field unsigned);
/// the counter must not present it as checked. The JSON says `verified: false`, and the page's
/// script titles such a result "read, NOT verified by the issuer's signature" (Japanese and
/// English) with the `unsigned` class instead of 「確認できました」/"Checked".
#[tokio::test]
async fn an_unsigned_document_is_read_but_not_shown_as_verified() {
    let (s, h) = through_the_real_reader_with(
        DocumentKind::ResidenceCard,
        samples::under_16_residence_card(),
        json!({"card_number": samples::UNDER_16_CARD_NUMBER}),
        RecordPolicy::Aml,
    )
    .await;
    let fields = s["report"]["fields"].as_array().unwrap();
    assert!(!fields.is_empty() && fields.iter().all(|f| f["trust"] == "unsigned"), "{s}");
    assert!(s["report"]["photo"].is_null(), "{s}");
    assert_eq!(s["verified"], false, "no signed field: {s}");
    // The AML record, the records page and the metrics say so too (the second review).
    assert_eq!(s["record"]["verified"], false, "every record says it: {s}");
    let details = &s["record"]["details"];
    assert_eq!(details["verified"], false, "{details}");
    assert!(details["method"].as_str().unwrap().contains("NOT verified"), "{details}");
    let token = h.counter.config().staff_token.to_string();
    let bearer = format!("Bearer {token}");
    let page = h.send(Method::GET, "/records", None, &[("authorization", &bearer)]).await.text();
    assert!(page.contains("(署名なし)"), "unsigned values are marked on the records page: {page}");
    assert!(page.contains("検証なし（署名のない書類）"), "the record is marked not verified: {page}");
    let listed = h.send(Method::GET, "/api/records", None, &[("authorization", &bearer)]).await.json();
    assert_eq!(listed["records"][0]["verified"], false, "{listed}");
    let metrics = h.send(Method::GET, "/metrics", None, &[("authorization", &bearer)]).await.text();
    assert!(metrics.contains(r#"outcome="read_unverified""#), "{metrics}");
    assert!(!metrics.contains(r#"outcome="passed""#), "{metrics}");
    // A signed document, for contrast.
    let s = through_the_real_reader(
        DocumentKind::ResidenceCard,
        samples::sample_document(DocumentKind::ResidenceCard),
        json!({"card_number": "AA12345678BB"}),
    )
    .await;
    assert_eq!(s["verified"], true, "{s}");
    assert_eq!(s["record"]["verified"], true, "{s}");

    // The page's script: the title follows `verified`, in both languages, marked `unsigned`.
    let h = harness(card_sources(), fake()).await;
    let js = h.send(Method::GET, "/counter.js", None, &[]).await.text();
    assert!(js.contains("読み取りましたが、発行者の署名による検証はできていません"), "ja string");
    assert!(js.contains("Read, but NOT verified by the issuer's signature"), "en string");
    assert!(js.contains("s.verified === true"), "the title follows the server's verdict");
    assert!(js.contains(r#"$("result-title").className = verified ? "" : "unsigned""#), "distinct class");
    assert!(!js.contains("${t.passed} —"), "the title is no longer always 確認できました");
}

// ---------------------------------------------------------------------------------------------
// Attacks.

/// Every route and method of the OpenAPI document (the router's own routes, by the test in
/// src/openapi.rs), with its path parameters filled in.
fn every_route() -> Vec<(Method, String)> {
    let doc: Value = serde_json::from_str(&openapi_text()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            out.push((m, path.replace("{id}", &"0".repeat(32))));
        }
    }
    assert!(out.len() >= 13);
    out
}

fn openapi_text() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = harness(MemSources::default(), fake()).await;
            h.send(Method::GET, "/openapi.json", None, &[]).await.text()
        })
    })
    .clone()
}

/// Routes anyone may read: liveness, the API description, the page's script and style.
const PUBLIC: [&str; 4] = ["/healthz", "/openapi.json", "/counter.js", "/counter.css"];

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_a_wrong_token_a_forged_cookie_and_another_origin() {
    let text = tokio::task::spawn_blocking(openapi_text).await.unwrap();
    assert!(text.contains("/api/checks"));
    let h = harness(card_sources(), fake()).await;
    let wrong = "0".repeat(48);
    let body = json!({"document": "my_number_card", "source": "card-1", "code": {"number_b": NUMBER_B}});
    for (method, path) in every_route() {
        let body = (method == Method::POST).then(|| body.clone());
        if PUBLIC.contains(&path.as_str()) {
            let a = h.send(method.clone(), &path, body, &[("cookie", "x=y")]).await;
            assert_eq!(a.status, StatusCode::OK, "{method} {path}");
            continue;
        }
        let attacks: [(&str, &[(&str, &str)]); 5] = [
            ("no credentials", &[("cookie", "x=y")]),
            ("a wrong bearer token", &[("cookie", "x=y"), ("authorization", &format!("Bearer {wrong}"))]),
            ("a forged cookie", &[("cookie", &format!("hanko_counter_staff={wrong}"))]),
            (
                "the token as the cookie",
                &[("cookie", &format!("hanko_counter_staff={}", h.counter.config().staff_token.as_str()))],
            ),
            ("the cookie from another origin", &[("origin", "http://evil.test")]),
        ];
        for (what, extra) in attacks {
            let a = h.send(method.clone(), &path, body.clone(), extra).await;
            assert!(
                a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::FORBIDDEN,
                "{method} {path} with {what}: {}",
                a.status
            );
            assert!(!a.text().contains("花子") && !a.text().contains("card-1"), "{method} {path}: {}", a.text());
        }
        // A wrong ?token= on the page does not sign in.
        let a = h.send(method.clone(), &format!("{path}?token={wrong}"), body.clone(), &[("cookie", "x=y")]).await;
        assert!(a.headers.get(header::SET_COOKIE).is_none(), "{method} {path}");
        if method == Method::POST {
            // The cookie without an Origin (not a browser's POST from the page).
            let mut req = Request::builder().method(Method::POST).uri(&path).header(header::HOST, "counter.test");
            req = req.header(header::COOKIE, &h.cookie).header(header::CONTENT_TYPE, "application/json");
            let res = h.router.clone().oneshot(req.body(Body::from(json!({}).to_string())).unwrap()).await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} without Origin");
        }
    }
    // The right bearer token works without a cookie.
    let token = h.counter.config().staff_token.to_string();
    let a = h
        .send(Method::GET, "/api/sources", None, &[("cookie", "x=y"), ("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["sources"][0]["id"], "card-1");
    assert!(!String::from_utf8_lossy(&logs().0.lock().unwrap()).contains(&token), "the token is never logged");
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let h = harness(card_sources(), fake()).await;
    assert_eq!(h.send(Method::GET, "/api/sources", None, &[]).await.status, StatusCode::OK);
    // A second browser signs in: its own session, not the same cookie.
    let token = h.counter.config().staff_token.to_string();
    let r = h.send(Method::GET, &format!("/?token={token}"), None, &[("cookie", "x=y")]).await;
    let other = r.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert_ne!(other, h.cookie, "a fresh session per sign-in");
    // A cookie of the same name planted by another app on the host neither hides the page's own
    // nor survives sign-out in its place.
    let planted = format!("hanko_counter_staff={}; {}", "0".repeat(64), h.cookie);
    assert_eq!(h.send(Method::GET, "/api/sources", None, &[("cookie", &planted)]).await.status, StatusCode::OK);
    let r = h.send(Method::POST, "/signout", None, &[("cookie", &planted)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    // A copy of the signed-out cookie no longer signs in; the other browser's still does.
    assert_eq!(h.send(Method::GET, "/api/sources", None, &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.send(Method::GET, "/", None, &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.send(Method::GET, "/api/sources", None, &[("cookie", &other)]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_answer_forbids_framing_and_sniffing() {
    let h = harness(card_sources(), fake()).await;
    for path in ["/", "/records", "/api/sources", "/healthz", "/counter.js", "/nowhere", "/?token=x"] {
        for cookie in [h.cookie.as_str(), "x=y"] {
            let a = h.send(Method::GET, path, None, &[("cookie", cookie)]).await;
            assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
            assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
            assert!(!csp.contains("unsafe-inline"));
            assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
        }
    }
}

#[tokio::test]
async fn pages_speak_japanese_then_english_and_escape_what_sources_say() {
    let sources = MemSources::default().with(
        "x\"><script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        None,
        sample_card(),
    );
    let h = harness(sources, fake()).await;
    let ja = h.send(Method::GET, "/", None, &[]).await.text();
    assert!(ja.contains("lang=\"ja\"") && ja.contains("読み取る"));
    assert!(!ja.contains("<script>alert") && !ja.contains("<img src=x"), "escaped");
    let en = h.send(Method::GET, "/?lang=en", None, &[]).await;
    assert!(en.text().contains("lang=\"en\"") && en.text().contains("Read an identity document"));
    assert!(en.headers[header::SET_COOKIE].to_str().unwrap().starts_with("hanko_counter_lang=en"));
}

#[tokio::test]
async fn health_metrics_and_the_api_description() {
    let h = harness(card_sources(), fake()).await;
    assert_eq!(h.send(Method::GET, "/healthz", None, &[]).await.json()["status"], "ok");
    let id = h.start("my_number_card", "card-1", json!({"number_b": NUMBER_B})).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.finish(&id).await;
    let m = h.send(Method::GET, "/metrics", None, &[]).await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.text();
    assert!(
        text.contains(
            "hanko_counter_checks_total{service=\"counter\",document=\"my_number_card\",outcome=\"passed\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("route=\"/api/checks/{id}\""));
    let doc = h.send(Method::GET, "/openapi.json", None, &[("cookie", "x=y")]).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
}
