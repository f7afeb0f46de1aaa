//! Who may log in: a revoked or held certificate is refused (CRL and OCSP), a wrong PIN counts
//! down and a blocked one is a clean error, smartphone certificates next to cards (per-client
//! device policy), the same pairwise `sub` for a person's card, phone, renewed card and moved
//! card, and the My Number only for clients registered with a My Number Act purpose.

use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_authority::{sign_document, Clock as _, PhoneEnrolment, PhoneSecureElement};
use hanko_card::{AccessCode, ClientError, Device, PinStatus, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::time::Duration;
use hanko_pki::{DigestAlgorithm, DigestInfo, JpkiCertificate};
use serde_json::{json, Value};

use crate::common::*;
use crate::sign::{
    approve_sign, begin, claims_of, finish, login_now, refused, sign, sign_token, start_tx, token_for, Pending,
};

/// Approves a login request with `image` (a card, or a phone when `device` is `phone`): the
/// auth key signs the challenge with the PIN. `input_assist` is sent as given.
async fn approve_with(
    eco: &Eco,
    request_id: &str,
    image: &str,
    device: &str,
    input_assist: Option<Value>,
) -> (u16, Value) {
    let req = eco.app_request(request_id).await;
    let challenge = B64.decode(req["challenge"].as_str().unwrap()).unwrap();
    // VERIFY, read the certificate (a phone's needs the PIN), 80 2A over the SHA-256 DigestInfo.
    let signed =
        serde_json::to_value(sign_document(&mut eco.card(image), Slot::Auth, PIN, &challenge).unwrap()).unwrap();
    let mut body = json!({"certificate": signed["certificate"], "signature": signed["signature"], "device": device});
    if let Some(files) = input_assist {
        body["input_assist"] = files;
    }
    send(eco.http.post(format!("{}/api/app/requests/{request_id}/approval", eco.i)).json(&body)).await
}

/// A login with `image` on `device`: the ID token's claims.
async fn device_login(eco: &Eco, rp: &Rp, image: &str, device: &str, extra: &[(&str, &str)]) -> Value {
    let p = begin(eco, rp, "openid", extra).await;
    let (status, answer) = approve_with(eco, &p.request_id, image, device, None).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    claims_of(finish(eco, rp, &p).await["id_token"].as_str().unwrap())
}

/// A login that must be refused: the redirect's error description.
async fn refused_login(eco: &Eco, rp: &Rp, image: &str, device: &str, extra: &[(&str, &str)]) -> String {
    let p: Pending = begin(eco, rp, "openid", extra).await;
    let (status, answer) = approve_with(eco, &p.request_id, image, device, None).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("failed")), "{answer}");
    assert_eq!(answer["error"], "access_denied", "{answer}");
    let pairs = refused(eco, &p).await;
    assert_eq!(pairs["error"], "access_denied");
    assert_eq!(pairs["error_description"], answer["error_description"].as_str().unwrap());
    pairs["error_description"].clone()
}

fn auth_serial(eco: &Eco, card: &str) -> String {
    JpkiCertificate::from_der(&eco.card(card).read_certificate(Slot::Auth).unwrap()).unwrap().serial().to_string()
}

/// A card whose auth certificate is revoked, and one reported lost (held): refused at once by
/// OCSP (`acr_values=ocsp`), by the CRL once the next one is published; the RP gets
/// access_denied saying which. `acr` says which check was made.
async fn revoked_and_held_cards_are_refused_at_login(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, revoked) = eco.person_with_card("見本 一郎", "319850315").await;
    let (lost_person, lost) = eco.person_with_card("見本 二郎", "419900101").await;
    let rp = eco.rp("RP00000030", json!({})).await;
    let ocsp = [("acr_values", "ocsp")];
    assert_eq!(device_login(&eco, &rp, &revoked, "card", &ocsp).await["acr"], "aal3 ocsp");
    assert_eq!(device_login(&eco, &rp, &lost, "card", &[]).await["acr"], "aal3 crl");

    eco.clock.advance(Duration::minutes(5));
    let serial = auth_serial(&eco, &revoked);
    let (status, out) = send(
        eco.http
            .post(format!("{}/v1/counter/certificates/{serial}/revocation", eco.a))
            .bearer_auth(&eco.counter_key)
            .json(&json!({"reason": "keyCompromise"})),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    // card-lost holds both certificates (docs/authority.md: the event that touches the auth one).
    eco.event(&lost_person, json!({"kind": "card-lost", "card_id": lost})).await;

    // OCSP: at once.
    let why = refused_login(&eco, &rp, &revoked, "card", &ocsp).await;
    assert_eq!(why, "the certificate is revoked (OCSP): it cannot be used");
    let why = refused_login(&eco, &rp, &lost, "card", &ocsp).await;
    assert!(why.starts_with("the certificate is suspended (held; OCSP)"), "{why}");
    // The CRL held still lists neither (the CRL's own delay; acr says which check was made).
    assert_eq!(device_login(&eco, &rp, &revoked, "card", &[]).await["acr"], "aal3 crl");
    // Once published: the CRL refuses both.
    eco.publish_and_refresh().await;
    let why = refused_login(&eco, &rp, &revoked, "card", &[]).await;
    assert_eq!(why, "the certificate is revoked (the CRL): it cannot be used");
    let why = refused_login(&eco, &rp, &lost, "card", &[]).await;
    assert!(why.contains("suspended (held; the CRL)") && why.contains("reported lost"), "{why}");
    // A client whose default is OCSP gets OCSP without acr_values.
    let by_ocsp = eco.rp("RP00000031", json!({"check_method": "ocsp"})).await;
    let why = refused_login(&eco, &by_ocsp, &lost, "card", &[]).await;
    assert!(why.contains("(held; OCSP)"), "{why}");
}
on_both!(revoked_and_held, revoked_and_held_cards_are_refused_at_login);

/// What the wallet shows for the PIN: tries left without spending one, a wrong PIN counting
/// down, a blocked PIN refusing even the right one — clean `ClientError`s, never a signature.
/// The request then ends only by the user's cancel (access_denied).
async fn wrong_pins_count_down_and_a_blocked_pin_is_clean(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000040", json!({})).await;
    let p = begin(&eco, &rp, "openid", &[]).await;
    let req = eco.app_request(&p.request_id).await;
    let challenge = B64.decode(req["challenge"].as_str().unwrap()).unwrap();
    let di = DigestInfo::of(DigestAlgorithm::Sha256, &challenge).to_der().unwrap();
    let mut c = eco.card(&card);
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Tries(3));
    let e = c.sign(Slot::Auth, b"9999", &di).unwrap_err();
    assert!(matches!(e, ClientError::WrongPin { tries_left: 2 }), "{e:?}");
    assert_eq!(e.to_string(), "wrong PIN: 2 tries left");
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Tries(2));
    let e = c.sign(Slot::Auth, b"0000", &di).unwrap_err();
    assert!(matches!(e, ClientError::WrongPin { tries_left: 1 }), "{e:?}");
    let e = c.sign(Slot::Auth, b"1111", &di).unwrap_err();
    assert!(matches!(e, ClientError::WrongPin { tries_left: 0 } | ClientError::PinBlocked), "{e:?}");
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Blocked);
    let e = c.sign(Slot::Auth, PIN, &di).unwrap_err();
    assert!(matches!(e, ClientError::PinBlocked), "the right PIN after the block: {e:?}");
    assert_eq!(e.to_string(), "PIN blocked");
    // The signature password has its own counter: untouched.
    assert!(matches!(c.pin_status(Slot::Signature).unwrap(), PinStatus::Tries(n) if n > 0));
    drop(c);
    // Nothing reached the provider: the request waits; the user cancels.
    assert_eq!(eco.app_request(&p.request_id).await["status"], "pending");
    let (status, out) =
        send(eco.http.post(format!("{}/api/app/requests/{}/cancel", eco.i, p.request_id)).json(&json!({}))).await;
    assert_eq!((status, out["error"].as_str()), (200, Some("access_denied")), "{out}");
    assert_eq!(refused(&eco, &p).await["error"], "access_denied");
}
on_both!(wrong_pins, wrong_pins_count_down_and_a_blocked_pin_is_clean);

/// The login challenge is the idp's own and lives as long as its request (10 minutes), longer
/// than a platform challenge would (5): a user who signs after 6 minutes is logged in; after the
/// request's end the approval is refused (410).
async fn the_challenge_lives_with_its_request(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000045", json!({})).await;
    let p = begin(&eco, &rp, "openid", &[]).await;
    let first = eco.app_request(&p.request_id).await["challenge"].clone();
    assert_eq!(eco.app_request(&p.request_id).await["challenge"], first, "one challenge per request");
    eco.clock.advance(Duration::minutes(6));
    let (status, answer) = approve_with_challenge(&eco, &p.request_id, &card, &first).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    let tokens = finish(&eco, &rp, &p).await;
    assert!(tokens["id_token"].is_string());

    let late = begin(&eco, &rp, "openid", &[]).await;
    let challenge = eco.app_request(&late.request_id).await["challenge"].clone();
    eco.clock.advance(Duration::minutes(11));
    let (status, out) = approve_with_challenge(&eco, &late.request_id, &card, &challenge).await;
    assert_eq!(status, 410, "{out}");
}
on_both!(challenge_lifetime, the_challenge_lives_with_its_request);

/// Approves with the card's signature over `challenge` (base64) as the app read it earlier.
async fn approve_with_challenge(eco: &Eco, request_id: &str, card: &str, challenge: &Value) -> (u16, Value) {
    let challenge = B64.decode(challenge.as_str().unwrap()).unwrap();
    let signed =
        serde_json::to_value(sign_document(&mut eco.card(card), Slot::Auth, PIN, &challenge).unwrap()).unwrap();
    let body = json!({"certificate": signed["certificate"], "signature": signed["signature"]});
    send(eco.http.post(format!("{}/api/app/requests/{request_id}/approval", eco.i)).json(&body)).await
}

/// Enrols an Android phone for the holder of `card` through the authority's smartphone API (an
/// application signed with the card's signature key) with the PIN and password of the test
/// cards; its image is saved next to the cards. The phone id.
pub async fn enrol_phone(eco: &Eco, card: &str) -> String {
    let se = PhoneSecureElement::generate(Device::Android).unwrap();
    let (status, c) =
        send(eco.http.post(format!("{}/v1/smartphone/challenges", eco.a)).json(&json!({"card_id": card}))).await;
    assert_eq!(status, 200, "{c}");
    let document = se.application_document(c["challenge"].as_str().unwrap(), eco.clock.now()).unwrap();
    let signed = sign_document(&mut eco.card(card), Slot::Signature, PASSWORD, &document).unwrap();
    let (status, body) = send(
        eco.http.post(format!("{}/v1/smartphone/applications", eco.a)).json(&serde_json::to_value(&signed).unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: PhoneEnrolment = serde_json::from_value(body).unwrap();
    let phone = se.personalize(&answer, PASSWORD, PIN).unwrap();
    drop(CardFile::create(&eco.authority_dir, &answer.phone_id, phone).unwrap());
    answer.phone_id
}

/// A phone logs in with its auth key; `devices: card` refuses it, `phone` refuses a card,
/// `either` takes both; the 4 facts asked with a phone are a clean refusal (no input-assist AP:
/// the request stays open for the card). The person's `sub` at a client is the same for the
/// card, the phone, after a move and after a renewal.
async fn phones_cards_and_one_sub(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (person, card) = eco.person_with_card("見本 花子", "319850315").await;
    let either = eco.rp("RP00000050", json!({"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}})).await;
    let card_only = eco.rp("RP00000051", json!({"devices": "card"})).await;
    let phone_only = eco.rp("RP00000052", json!({"devices": "phone"})).await;
    let sub = device_login(&eco, &either, &card, "card", &[]).await["sub"].clone();

    let phone = enrol_phone(&eco, &card).await;
    eco.publish_and_refresh().await;
    // The card's signature certificate, seen once by the provider's tenant after the phone was
    // enrolled, links the phone's certificates to the person (the authority's corresponding
    // serials): here a sign through the signature API.
    let hash = B64.encode(DigestAlgorithm::Sha256.digest(b"terms of use"));
    let (_, tokens) = sign(&eco, &either, &card, &hash, "openid sign").await;
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["sub"], sub);

    let id = device_login(&eco, &either, &phone, "phone", &[]).await;
    assert_eq!(id["sub"], sub, "the phone is the same person at the same client");
    assert_eq!(id["amr"], json!(["phone", "pin"]));
    assert_eq!(device_login(&eco, &either, &card, "card", &[]).await["amr"], json!(["card", "pin"]));
    let why = refused_login(&eco, &card_only, &phone, "phone", &[]).await;
    assert_eq!(why, "this service accepts the card only, not a smartphone");
    let why = refused_login(&eco, &phone_only, &card, "card", &[]).await;
    assert_eq!(why, "this service accepts a smartphone certificate only");
    let at_phone_only = device_login(&eco, &phone_only, &phone, "phone", &[]).await["sub"].clone();
    assert_ne!(at_phone_only, sub, "pairwise: another client, another sub");
    assert_eq!(device_login(&eco, &card_only, &card, "card", &[]).await["acr"], "aal3 crl");

    // A phone signs through the signature API: its signature certificate names a phone
    // (JPKI_MOBILE_DIGITAL_SIGNATURE), whatever the app says, and carries the facts asked for.
    let sign_card_only = eco
        .rp("RP00000053", json!({"devices": "card", "sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}}))
        .await;
    let cc = sign_token(&eco, &sign_card_only).await;
    let (_, tx) = start_tx(&eco, &cc, &hash).await;
    let p = begin(
        &eco,
        &sign_card_only,
        "openid sign",
        &[("sign_transaction_id", tx["sign_transaction_id"].as_str().unwrap())],
    )
    .await;
    let (status, answer) = approve_sign(&eco, &p.request_id, &phone, "card").await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("failed")), "{answer}");
    assert_eq!(answer["error_description"], "this service accepts the card only, not a smartphone");
    let cc = sign_token(&eco, &either).await;
    let (_, tx) = start_tx(&eco, &cc, &hash).await;
    let p = begin(
        &eco,
        &either,
        "openid sign name",
        &[("sign_transaction_id", tx["sign_transaction_id"].as_str().unwrap())],
    )
    .await;
    let (status, answer) = approve_sign(&eco, &p.request_id, &phone, "phone").await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    let tokens = finish(&eco, &either, &p).await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!((&id["sub"], &id["amr"]), (&sub, &json!(["phone", "pin"])), "{id}");
    let (_, info) = send(
        eco.http
            .get(format!("{}/protocol/openid-connect/userinfo", eco.issuer()))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(info["name"], "見本 花子", "the phone's signature certificate gives the facts: {info}");

    // The 4 facts with a phone: refused before anything is spent; the card then approves.
    let p = begin(&eco, &either, "openid name", &[]).await;
    let (status, out) = approve_with(&eco, &p.request_id, &phone, "phone", None).await;
    assert_eq!(status, 400, "{out}");
    assert!(out["detail"].as_str().unwrap().contains("smartphone has no input-assist AP"), "{out}");
    let (status, answer) = eco.approve_login(&p.request_id, &card).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    let tokens = finish(&eco, &either, &p).await;
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["sub"], sub);

    // A move: a new signature certificate, the auth one kept — and a sign with the new one.
    eco.clock.advance(Duration::hours(1));
    eco.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区架空台五丁目６番７号"})).await;
    eco.publish_and_refresh().await;
    assert_eq!(device_login(&eco, &either, &card, "card", &[]).await["sub"], sub);
    let (_, tokens) = sign(&eco, &either, &card, &hash, "openid sign").await;
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["sub"], sub);

    // Renewal (new keys and certificates on the same card, the old ones superseded).
    let old = eco.card(&card).read_certificate(Slot::Auth).unwrap();
    let not_after = JpkiCertificate::from_der(&old).unwrap().not_after();
    eco.clock.set(not_after - Duration::days(60));
    let (status, out) = send(
        eco.http
            .post(format!("{}/v1/counter/cards/{card}/renewal", eco.a))
            .bearer_auth(&eco.counter_key)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    eco.publish_and_refresh().await;
    assert_ne!(eco.card(&card).read_certificate(Slot::Auth).unwrap(), old, "renewed");
    assert_eq!(device_login(&eco, &either, &card, "card", &[]).await["sub"], sub, "renewed card");
    assert_eq!(device_login(&eco, &either, &phone, "phone", &[]).await["sub"], sub, "phone after renewal");
}
on_both!(phones_and_cards, phones_cards_and_one_sub);

/// Everything logged while the process runs (all tests of this binary), to look for what must
/// never be logged.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let writer = move || Sink(sink.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(writer)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the first global subscriber of this binary");
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut b = self.0.lock().unwrap();
        if b.len() < 64 * 1024 * 1024 {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Only a client registered with a My Number Act purpose may ask for `my_number`; the number
/// comes from the input-assist AP, checked against the integrity record (a changed digit is
/// refused and the request stays open), and is in userinfo. Nothing logs it.
async fn my_number_only_with_a_purpose(backend: Backend) {
    let logs = captured_logs();
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let expected = {
        let mut c = eco.card(&card);
        String::from_utf8(c.read_my_number(AccessCode::Pin(PIN)).unwrap().expose().to_vec()).unwrap()
    };
    let plain = eco.rp("RP00000060", json!({})).await;
    let flow = plain.start("openid my_number");
    let (status, location, _) = eco.authorize(&flow.params(&plain)).await;
    assert_eq!(status, 302, "{location}");
    assert!(location.contains("error=invalid_scope"), "{location}");

    let office = eco.rp("RP00000061", json!({"my_number_purpose": "番号法別表第一 第9項 (synthetic)"})).await;
    let p = begin(&eco, &office, "openid my_number name", &[]).await;
    // A digit changed on the way: the integrity record refuses it; nothing is spent.
    let assist = eco.app_request(&p.request_id).await["input_assist_challenge"].as_str().unwrap().to_owned();
    let mut files = input_assist_files(&mut eco.card(&card), true, &assist);
    let mut ef = B64.decode(files["my_number"].as_str().unwrap()).unwrap();
    let last = ef.len() - 1;
    ef[last] = if ef[last] == b'1' { b'2' } else { b'1' };
    files["my_number"] = json!(B64.encode(&ef));
    let (status, out) = approve_with(&eco, &p.request_id, &card, "card", Some(files)).await;
    assert_eq!(status, 400, "{out}");
    assert!(out["detail"].as_str().unwrap().contains("My Number"), "{out}");
    assert!(!out.to_string().contains(&expected));
    // Without the My Number EF: a clear 400.
    let mut files = input_assist_files(&mut eco.card(&card), true, &assist);
    files.as_object_mut().unwrap().remove("my_number");
    let (status, out) = approve_with(&eco, &p.request_id, &card, "card", Some(files)).await;
    assert_eq!(status, 400, "{out}");
    // A phone has no input-assist AP.
    let phone = enrol_phone(&eco, &card).await;
    let (status, out) = approve_with(&eco, &p.request_id, &phone, "phone", None).await;
    assert_eq!(status, 400, "{out}");
    // The files as read.
    let (status, answer) = eco.approve_login(&p.request_id, &card).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    let tokens = finish(&eco, &office, &p).await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert!(id.get("my_number").is_none(), "not in the ID token: {id}");
    let (status, info) = send(
        eco.http
            .get(format!("{}/protocol/openid-connect/userinfo", eco.issuer()))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["my_number"], expected.as_str(), "{info}");
    assert_eq!(info["name"], "見本 花子");
    // The same client without my_number: none.
    let tokens = login_now(&eco, &office, &card, "openid").await;
    let (_, info) = send(
        eco.http
            .get(format!("{}/protocol/openid-connect/userinfo", eco.issuer()))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert!(info.get("my_number").is_none(), "{info}");
    // A client_credentials token cannot carry it either.
    let (status, body) =
        token_for(&eco, &office, &[("grant_type", "client_credentials"), ("scope", "my_number")]).await;
    assert_eq!(status, 400, "{body}");

    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(!text.is_empty(), "the capture works");
    assert!(!text.contains(&expected), "the My Number was logged");
}
on_both!(my_number, my_number_only_with_a_purpose);
