//! Latest 4 facts with the resident's consent: consents signed through the card's APDUs,
//! facts following the person across moves, withdrawal and its poll.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_card::{Client, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::time::format_description::well_known::Rfc3339;
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::{DigestAlgorithm, DigestInfo, JpkiCertificate};
use serde_json::{json, Value};

use crate::common::{Backend, TestAuthority};
use crate::on_both;

/// Registers a platform operator with SP services (`"SP1/web"` …); returns (id, key).
pub async fn platform(t: &TestAuthority, services: &[&str]) -> (String, String) {
    let (id, key) = t.verifier("platform", "test platform").await;
    for s in services {
        let (sp, svc) = s.split_once('/').unwrap();
        let (status, body) = t
            .operator_post(
                &format!("/v1/admin/verifiers/{id}/services"),
                json!({"sp_id": sp, "service_id": svc, "name": format!("service {s}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    (id, key)
}

/// Sends JSON (`None` = GET) as `key`, for the SP service `sp` when given.
pub async fn call(t: &TestAuthority, path: &str, key: &str, sp: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", t.base);
    let mut req = match body {
        Some(b) => t.http.post(url).json(&b),
        None => t.http.get(url),
    };
    if let Some(sp) = sp {
        req = req.header("x-hanko-sp", sp);
    }
    t.send(req, key).await
}

/// Signs `document` with the card's signature key through its APDUs (password HANKO2026), as
/// a `SignedDocument` JSON.
pub fn sign_with_card(t: &TestAuthority, card_id: &str, document: &[u8]) -> Value {
    let mut client = Client::new(CardFile::open(&t.dir, card_id).unwrap());
    let certificate = client.read_signature_certificate(b"HANKO2026").unwrap();
    let digest_info = DigestInfo::of(DigestAlgorithm::Sha256, document).to_der().unwrap();
    let signature = client.sign(Slot::Signature, b"HANKO2026", &digest_info).unwrap();
    json!({"document": B64.encode(document), "signature": B64.encode(signature), "certificate": B64.encode(certificate)})
}

/// The serial of the signature certificate on the card now.
pub fn card_signature_serial(t: &TestAuthority, card_id: &str) -> String {
    let mut client = Client::new(CardFile::open(&t.dir, card_id).unwrap());
    let der = client.read_signature_certificate(b"HANKO2026").unwrap();
    JpkiCertificate::from_der(&der).unwrap().serial().to_string()
}

fn now(t: &TestAuthority, offset: Duration) -> String {
    (t.authority.clock().now() + offset).format(&Rfc3339).unwrap()
}

/// A consent document for `verifier`/`sp`.
pub fn consent_document(t: &TestAuthority, verifier: &str, sp: &str, items: &[&str]) -> Vec<u8> {
    consent_document_at(t, verifier, sp, items, Duration::ZERO)
}

fn consent_document_at(t: &TestAuthority, verifier: &str, sp: &str, items: &[&str], off: Duration) -> Vec<u8> {
    let (sp_id, service_id) = sp.split_once('/').unwrap();
    serde_json::to_vec(&json!({"type": "hanko-consent-v1", "verifier_id": verifier, "sp_id": sp_id,
        "service_id": service_id, "items": items, "issued_at": now(t, off)}))
    .unwrap()
}

/// Registers a consent of the card's holder for `sp`; returns its id.
pub async fn consent(t: &TestAuthority, card_id: &str, pf: &(String, String), sp: &str, items: &[&str]) -> String {
    let signed = sign_with_card(t, card_id, &consent_document(t, &pf.0, sp, items));
    let (status, body) = call(t, "/v1/consents", &pf.1, Some(sp), Some(signed)).await;
    assert_eq!(status, 200, "{body}");
    body["consent_id"].as_str().unwrap().to_owned()
}

async fn move_to(t: &TestAuthority, person: &str, address: &str) -> Value {
    let (status, body) = t.event(person, json!({"kind": "facts-changed", "address": address})).await;
    assert_eq!(status, 200, "{body}");
    body
}

const OLD: &str = "東京都見本区試験町一丁目１番１号";
const NEW: &str = "東京都見本区新町二丁目２番２号";

async fn latest_facts_follow_the_person_across_moves(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let card_id = card["card_id"].as_str().unwrap();
    let pf = platform(&t, &["SP1/web"]).await;
    let document = consent_document(&t, &pf.0, "SP1/web", &["name", "address"]);
    let signed = sign_with_card(&t, card_id, &document);
    let (status, body) = call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(signed.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active");
    assert_eq!(body["created"], true);
    assert_eq!(body["items"], json!(["name", "address"]));
    let id = body["consent_id"].as_str().unwrap().to_owned();
    // The same document again (a retry): the same consent.
    let (status, again) = call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(signed)).await;
    assert_eq!(
        (status, again["consent_id"].as_str(), again["created"].as_bool()),
        (200, Some(id.as_str()), Some(false))
    );
    let (status, got) = call(&t, &format!("/v1/consents/{id}"), &pf.1, Some("SP1/web"), None).await;
    assert_eq!((status, got["status"].as_str()), (200, Some("active")), "{got}");

    let facts = |body: &Value| body["facts"]["address"].as_str().map(str::to_owned);
    let (status, body) = call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": id}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["obtainable"], true);
    assert_eq!(facts(&body).as_deref(), Some(OLD));
    assert_eq!(body["facts"]["name"], "試験　花子");
    assert_eq!(body["serial"], card["signature_serial"]);
    // Only the consented items leave.
    assert!(body["facts"].get("birth_date").is_none() && body["facts"].get("sex").is_none(), "{body}");

    // A move: the counter reissues the signature certificate onto the card.
    let outcome = move_to(&t, &person, NEW).await;
    let new_serial = outcome["issued"][0][0].as_str().unwrap().to_owned();
    assert_eq!(card_signature_serial(&t, card_id), new_serial);
    let (status, body) = call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": id}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["obtainable"], true);
    assert_eq!(facts(&body).as_deref(), Some(NEW));
    assert_eq!(body["serial"], new_serial.as_str());

    // Another move while the card is not at hand: revoked, nothing reissued yet.
    let image = t.dir.join("cards").join(format!("{card_id}.card"));
    std::fs::rename(&image, image.with_extension("away")).unwrap();
    let outcome = move_to(&t, &person, "東京都見本区遠町三丁目３番３号").await;
    assert!(outcome["issued"].as_array().unwrap().is_empty(), "{outcome}");
    assert!(!outcome["pending"].as_array().unwrap().is_empty(), "{outcome}");
    let (status, body) = call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": id}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"obtainable": false, "reason": "no-valid-signature-certificate"}));

    // Billed: 2 records returned, 1 not obtainable.
    let (status, report) = t.operator_get("/v1/admin/meter?month=2026-04").await;
    assert_eq!(status, 200, "{report}");
    let row = |kind: &str| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind && r["sp_id"] == "SP1")
            .map(|r| (r["count"].as_u64().unwrap(), r["yen"].as_u64().unwrap()))
    };
    assert_eq!(row("latest-facts"), Some((2, 40)));
    assert_eq!(row("latest-facts-not-obtainable"), Some((1, 0)));
}
on_both!(latest_facts_across_moves, latest_facts_follow_the_person_across_moves);

async fn consents_are_refused_withdrawn_and_polled(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card_id = t.card(&person).await["card_id"].as_str().unwrap().to_owned();
    let other = t.person("見本　次郎", "1990-01-01").await;
    let other_card = t.card(&other).await["card_id"].as_str().unwrap().to_owned();
    let pf = platform(&t, &["SP1/web", "SP2/app"]).await;
    let (_, sv_key) = t.verifier("signature", "a signature verifier").await;

    // A consent for SP1 sent for SP2: refused.
    let signed = sign_with_card(&t, &card_id, &consent_document(&t, &pf.0, "SP1/web", &["address"]));
    let (status, body) = call(&t, "/v1/consents", &pf.1, Some("SP2/app"), Some(signed.clone())).await;
    assert_eq!(status, 403, "{body}");
    // Tampered: another document under the signature.
    let mut tampered = signed.clone();
    tampered["document"] = json!(B64.encode(consent_document(&t, &pf.0, "SP1/web", &["name", "address", "sex"])));
    let (status, body) = call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(tampered)).await;
    assert_eq!(status, 400, "{body}");
    // Stale, empty, unknown items: refused.
    let stale = consent_document_at(&t, &pf.0, "SP1/web", &["name"], Duration::days(-2));
    let (status, body) =
        call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(sign_with_card(&t, &card_id, &stale))).await;
    assert_eq!(status, 400, "{body}");
    for items in [&[][..], &["name", "name"], &["my_number"]] {
        let doc = consent_document(&t, &pf.0, "SP1/web", items);
        let (status, body) =
            call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(sign_with_card(&t, &card_id, &doc))).await;
        assert_eq!(status, 400, "{items:?}: {body}");
    }
    // The refusals left nothing behind; now the real one.
    let (status, body) = call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(signed)).await;
    assert_eq!(status, 200, "{body}");
    let c1 = body["consent_id"].as_str().unwrap().to_owned();
    // A second, different consent for the same service while the first is active: conflict.
    let doc = consent_document(&t, &pf.0, "SP1/web", &["name"]);
    let (status, body) =
        call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(sign_with_card(&t, &card_id, &doc))).await;
    assert_eq!(status, 409, "{body}");
    // Other services and verifiers do not see it; unknown ids are 404.
    let (status, _) = call(&t, &format!("/v1/consents/{c1}"), &pf.1, Some("SP2/app"), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&t, &format!("/v1/consents/{c1}"), &sv_key, None, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&t, "/v1/latest-facts", &pf.1, Some("SP2/app"), Some(json!({"consent_id": c1}))).await;
    assert_eq!(status, 404);
    let (status, _) = call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": "C00"}))).await;
    assert_eq!(status, 404);
    let (status, _) = call(&t, &format!("/v1/consents/{c1}"), &pf.1, None, None).await;
    assert_eq!(status, 200, "the platform itself sees its SPs' consents");

    // Withdrawal signed by someone else: refused.
    let withdrawal =
        |id: &str| serde_json::to_vec(&json!({"type": "hanko-consent-withdrawal-v1", "consent_id": id})).unwrap();
    let by_other = sign_with_card(&t, &other_card, &withdrawal(&c1));
    let (status, body) = call(&t, &format!("/v1/consents/{c1}/withdrawal"), &sv_key, None, Some(by_other)).await;
    assert_eq!(status, 403, "{body}");
    // Signed by the person, relayed by any registered verifier.
    let signed = sign_with_card(&t, &card_id, &withdrawal(&c1));
    let (status, body) = call(&t, &format!("/v1/consents/{c1}/withdrawal"), &sv_key, None, Some(signed.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "withdrawn");
    let seq1 = body["withdrawal_seq"].as_i64().unwrap();
    // Idempotent.
    let (status, body) = call(&t, &format!("/v1/consents/{c1}/withdrawal"), &pf.1, None, Some(signed)).await;
    assert_eq!((status, body["withdrawal_seq"].as_i64()), (200, Some(seq1)), "{body}");
    // The facts never leave again.
    let (status, body) = call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": c1}))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["detail"].as_str().unwrap(), format!("forbidden: consent {c1} was withdrawn"));
    let (_, got) = call(&t, &format!("/v1/consents/{c1}"), &pf.1, Some("SP1/web"), None).await;
    assert_eq!(got["status"], "withdrawn");

    // The counter withdraws another consent.
    let c2 = consent(&t, &card_id, &pf, "SP2/app", &["birth_date"]).await;
    let (status, body) = t.counter_post(&format!("/v1/counter/consents/{c2}/withdrawal"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let seq2 = body["withdrawal_seq"].as_i64().unwrap();
    assert!(seq2 > seq1);
    let (status, _) = call(&t, &format!("/v1/counter/consents/{c2}/withdrawal"), &pf.1, None, Some(json!({}))).await;
    assert_eq!(status, 403, "a verifier key is not a counter key");

    // The poll: per service, or everything for the platform itself.
    let poll = |sp: Option<&'static str>, after: i64| {
        let key = pf.1.clone();
        let t = &t;
        async move {
            let (status, body) = call(t, &format!("/v1/consents/withdrawals?after={after}"), &key, sp, None).await;
            assert_eq!(status, 200, "{body}");
            let ids: Vec<String> = body["withdrawals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["consent_id"].as_str().unwrap().to_owned())
                .collect();
            (ids, body["next_after"].as_i64().unwrap())
        }
    };
    assert_eq!(poll(Some("SP1/web"), 0).await, (vec![c1.clone()], seq1));
    assert_eq!(poll(Some("SP1/web"), seq1).await, (vec![], seq1));
    assert_eq!(poll(Some("SP2/app"), 0).await, (vec![c2.clone()], seq2));
    assert_eq!(poll(None, 0).await, (vec![c1.clone(), c2.clone()], seq2));
    assert_eq!(poll(None, seq1).await, (vec![c2.clone()], seq2));
    let (status, body) = call(&t, "/v1/consents/withdrawals?after=0", &sv_key, None, None).await;
    assert_eq!((status, body["withdrawals"].as_array().map(Vec::len)), (200, Some(0)));

    // After the withdrawal a new consent may be given.
    let doc = consent_document(&t, &pf.0, "SP1/web", &["name"]);
    let (status, body) =
        call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(sign_with_card(&t, &card_id, &doc))).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["consent_id"].as_str(), Some(c1.as_str()));
}
on_both!(consent_refusals_and_withdrawal, consents_are_refused_withdrawn_and_polled);

/// A consent survives the 5-year renewal of the certificates: it is bound to the person.
async fn a_consent_survives_renewal(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-06-15").await;
    let card_id = t.card(&person).await["card_id"].as_str().unwrap().to_owned();
    let pf = platform(&t, &["SP1/web"]).await;
    let id = consent(&t, &card_id, &pf, "SP1/web", &["name", "birth_date", "sex"]).await;
    t.clock.set(OffsetDateTime::new_utc(
        hanko_pki::time::Date::from_calendar_date(2031, hanko_pki::time::Month::April, 1).unwrap(),
        hanko_pki::time::Time::MIDNIGHT,
    ));
    let (status, outcome) = t.counter_post(&format!("/v1/counter/cards/{card_id}/renewal"), json!({})).await;
    assert_eq!(status, 200, "{outcome}");
    let (status, body) = call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": id}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["serial"].as_str().unwrap(), card_signature_serial(&t, &card_id));
    assert_eq!(body["facts"]["birth_date"], "319850615");
    assert_eq!(body["facts"]["sex"], "2");
    assert!(body["facts"].get("address").is_none());
}
on_both!(consent_survives_renewal, a_consent_survives_renewal);
