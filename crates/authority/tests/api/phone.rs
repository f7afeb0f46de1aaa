//! Smartphone certificates (shared/spec/20-pki.md §4, 00-system.md flow 7): a card-signed online
//! application, the phone's secure element (saved as a card image) signing through its APDUs,
//! supersession by a second phone, call-centre suspension, revocation from the phone, and the
//! life events that reach the phones.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_authority::{
    revocation_document, sign_document, Clock, PhoneClientError, PhoneEnrolment, PhoneSecureElement, SignedDocument,
};
use hanko_card::{Client, Device, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::time::Duration;
use hanko_pki::verify::{RevocationCheck, Signed, Verifier};
use hanko_pki::{CertKind, CrlReason, DigestAlgorithm, Serial};
use serde_json::{json, Value};

use crate::common::{Backend, TestAuthority};
use crate::on_both;

const CARD_PASSWORD: &[u8] = b"HANKO2026";
const CARD_PIN: &[u8] = b"1234";
const PHONE_PASSWORD: &[u8] = b"PHONE2026";
const PHONE_PIN: &[u8] = b"5678";

/// POST without any API key (the signature authenticates); returns (status, body).
async fn post_public(t: &TestAuthority, path: &str, body: &impl serde::Serialize) -> (u16, Value) {
    let resp = t.http.post(format!("{}{path}", t.base)).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    if status >= 400 {
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Signs `document` with the key of `slot` on the card or phone image `id`, through its APDUs.
fn sign_on(t: &TestAuthority, id: &str, slot: Slot, pin: &[u8], document: &[u8]) -> SignedDocument {
    let mut client = Client::new(CardFile::open(&t.dir, id).unwrap());
    sign_document(&mut client, slot, pin, document).unwrap()
}

/// A person with a card; returns (person id, card id).
async fn resident(t: &TestAuthority, name: &str) -> (String, String) {
    let person = t.person(name, "1985-04-01").await;
    let card = t.card(&person).await;
    (person, card["card_id"].as_str().unwrap().to_owned())
}

/// A one-time enrolment challenge for `card_id`.
async fn challenge(t: &TestAuthority, card_id: &str) -> String {
    let (status, body) = post_public(t, "/v1/smartphone/challenges", &json!({"card_id": card_id})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["card_id"], card_id);
    body["challenge"].as_str().unwrap().to_owned()
}

/// Enrols a phone of `device` with an application signed by `card_id`; the secure element is
/// personalised and saved as the image `phone_id`.
async fn enrol(t: &TestAuthority, card_id: &str, device: Device) -> (PhoneEnrolment, SignedDocument) {
    let se = PhoneSecureElement::generate(device).unwrap();
    let document = se.application_document(&challenge(t, card_id).await, t.clock.now()).unwrap();
    let signed = sign_on(t, card_id, Slot::Signature, CARD_PASSWORD, &document);
    let (status, body) = post_public(t, "/v1/smartphone/applications", &signed).await;
    assert_eq!(status, 200, "{body}");
    let answer: PhoneEnrolment = serde_json::from_value(body).unwrap();
    let phone = se.personalize(&answer, PHONE_PASSWORD, PHONE_PIN).unwrap();
    drop(CardFile::create(&t.dir, &answer.phone_id, phone).unwrap());
    (answer, signed)
}

async fn reason_of(t: &TestAuthority, serial: &str) -> Option<CrlReason> {
    let s = Serial::from_hex(serial).unwrap();
    t.authority.store().certificate(&s).await.unwrap().unwrap().revocation.map(|(_, r)| r)
}

async fn status_of(t: &TestAuthority, id: &str) -> String {
    let (status, body) = t.counter_get(&format!("/v1/counter/cards/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body["status"].as_str().unwrap().to_owned()
}

/// A well-formed rsaEncryption SubjectPublicKeyInfo of `bits` bits with e = 65537 (not a real
/// key: only its size matters here).
fn rsa_spki(bits: usize) -> Vec<u8> {
    use hanko_pki::der::asn1::{AnyRef, BitString, UintRef};
    use hanko_pki::der::Encode;
    let mut modulus = vec![0xC5; bits / 8];
    modulus[bits / 8 - 1] = 0x01;
    let n = UintRef::new(&modulus).unwrap();
    let e = UintRef::new(&[0x01, 0x00, 0x01]).unwrap();
    let mut raw = Vec::new();
    hanko_pki::der::Header::new(
        hanko_pki::der::Tag::Sequence,
        (n.encoded_len().unwrap() + e.encoded_len().unwrap()).unwrap(),
    )
    .unwrap()
    .encode_to_vec(&mut raw)
    .unwrap();
    n.encode_to_vec(&mut raw).unwrap();
    e.encode_to_vec(&mut raw).unwrap();
    hanko_pki::spki::SubjectPublicKeyInfo::<AnyRef<'_>, BitString> {
        algorithm: hanko_pki::spki::AlgorithmIdentifier {
            oid: hanko_pki::oid::RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        subject_public_key: BitString::from_bytes(&raw).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn openssl(args: &[&str]) -> String {
    let out = std::process::Command::new("openssl").args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}

async fn an_android_phone_is_enrolled_and_signs_with_its_own_keys(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, card_id) = resident(&t, "試験　花子").await;
    let (answer, _) = enrol(&t, &card_id, Device::Android).await;
    assert_eq!(answer.device, "android");
    assert!(answer.revoked.is_empty());
    assert!(answer.phone_id.starts_with("phone") && answer.phone_id.len() == 15);
    let card = t.counter_get(&format!("/v1/counter/cards/{card_id}")).await.1;
    assert_eq!(answer.expiry, card["expiry"]);

    // The phone image signs through its APDUs with its own keys.
    let mut phone = Client::new(CardFile::open(&t.dir, &answer.phone_id).unwrap());
    let sign_der = phone.read_signature_certificate(PHONE_PASSWORD).unwrap();
    assert_eq!(B64.encode(&sign_der), answer.signature_certificate);
    assert!(phone.read_certificate(Slot::Auth).is_err(), "Android: the auth certificate needs the PIN");
    assert!(phone.read_common_record().is_err(), "a phone carries only the JPKI-AP");
    let contract = "契約書: 携帯電話の署名用電子証明書で署名".as_bytes();
    let signed = sign_document(&mut phone, Slot::Signature, PHONE_PASSWORD, contract).unwrap();
    let login = sign_document(&mut phone, Slot::Auth, PHONE_PIN, b"challenge-0001").unwrap();
    drop(phone);

    let trust = t.authority.cas().unwrap().trust_store().unwrap();
    let verifier = Verifier::new(&trust);
    let now = t.clock.now();
    let sig = B64.decode(&signed.signature).unwrap();
    let v = verifier
        .verify_signature(&sign_der, DigestAlgorithm::Sha256, Signed::Data(contract), &sig, now, RevocationCheck::Skip)
        .unwrap();
    let cert = v.certificate();
    assert_eq!(cert.kind(), CertKind::SmartphoneSignature);
    assert!(cert.certificate().policies().contains(&hanko_pki::oid::POLICY_TEST_SMARTPHONE_SIGNATURE));
    assert_eq!(cert.serial().to_string(), answer.signature_serial);
    assert_eq!(cert.facts().unwrap().name(), "試験　花子");
    let auth_der = B64.decode(&login.certificate).unwrap();
    let a = verifier
        .verify_authentication(
            &auth_der,
            b"challenge-0001",
            DigestAlgorithm::Sha256,
            &B64.decode(&login.signature).unwrap(),
            now,
            RevocationCheck::Skip,
        )
        .unwrap();
    assert_eq!(a.certificate().serial().to_string(), answer.auth_serial);
    // The card's own keys do not verify for the phone's certificate.
    let by_card = sign_on(&t, &card_id, Slot::Signature, CARD_PASSWORD, contract);
    assert!(verifier
        .verify_signature(
            &sign_der,
            DigestAlgorithm::Sha256,
            Signed::Data(contract),
            &B64.decode(&by_card.signature).unwrap(),
            now,
            RevocationCheck::Skip
        )
        .is_err());

    // The register: a phone row, both certificates of the smartphone kinds.
    let (status, body) = t.counter_get(&format!("/v1/counter/cards/{}", answer.phone_id)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["device"], "android");
    assert_eq!(body["status"], "active");
    let kinds: Vec<&str> =
        body["certificates"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"smartphone-signature") && kinds.contains(&"smartphone-auth"), "{kinds:?}");

    // openssl parses and chains what the CA issued for the phone.
    let dir = &t.dir;
    for (name, b64) in [
        ("sign.der", &answer.signature_certificate),
        ("sign-ca.der", &answer.signature_ca),
        ("auth.der", &answer.auth_certificate),
        ("auth-ca.der", &answer.auth_ca),
    ] {
        std::fs::write(dir.join(name), B64.decode(b64).unwrap()).unwrap();
        let pem = dir.join(name.replace(".der", ".pem"));
        openssl(&["x509", "-inform", "DER", "-in", dir.join(name).to_str().unwrap(), "-out", pem.to_str().unwrap()]);
    }
    let text = openssl(&["x509", "-noout", "-text", "-in", dir.join("sign.pem").to_str().unwrap()]);
    assert!(text.contains("1.2.392.200149.8.5.1.0.40"), "{text}");
    let at = (now + Duration::hours(1)).unix_timestamp().to_string();
    for (leaf, ca) in [("sign.pem", "sign-ca.pem"), ("auth.pem", "auth-ca.pem")] {
        openssl(&[
            "verify",
            "-attime",
            &at,
            "-CAfile",
            dir.join(ca).to_str().unwrap(),
            dir.join(leaf).to_str().unwrap(),
        ]);
    }
}
on_both!(phone_enrolment, an_android_phone_is_enrolled_and_signs_with_its_own_keys);

async fn a_second_phone_supersedes_the_first(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, card_id) = resident(&t, "試験　花子").await;
    let (first, _) = enrol(&t, &card_id, Device::Android).await;
    t.clock.advance(Duration::hours(2));
    let (second, _) = enrol(&t, &card_id, Device::Iphone).await;
    assert_eq!(second.device, "iphone");
    let mut revoked: Vec<(String, String)> =
        second.revoked.iter().map(|r| (r.serial.clone(), r.reason.clone())).collect();
    revoked.sort();
    let mut expected = vec![
        (first.signature_serial.clone(), "superseded".to_owned()),
        (first.auth_serial.clone(), "superseded".to_owned()),
    ];
    expected.sort();
    assert_eq!(revoked, expected);

    // The register: superseded, and linked old → new per kind.
    let store = t.authority.store();
    for (old, new) in [(&first.signature_serial, &second.signature_serial), (&first.auth_serial, &second.auth_serial)] {
        let o = store.certificate(&Serial::from_hex(old).unwrap()).await.unwrap().unwrap();
        let n = store.certificate(&Serial::from_hex(new).unwrap()).await.unwrap().unwrap();
        assert_eq!(o.revocation.map(|(_, r)| r), Some(CrlReason::SUPERSEDED));
        assert_eq!(o.successor.as_ref().map(Serial::to_string).as_ref(), Some(new));
        assert_eq!(n.predecessor.as_ref().map(Serial::to_string).as_ref(), Some(old));
        assert!(n.revocation.is_none());
    }
    assert_eq!(status_of(&t, &first.phone_id).await, "replaced");
    assert_eq!(status_of(&t, &second.phone_id).await, "active");
    // The card itself is untouched.
    let card = t.counter_get(&format!("/v1/counter/cards/{card_id}")).await.1;
    assert!(card["certificates"].as_array().unwrap().iter().all(|c| c["revoked"].is_null()));

    // iPhone: the auth certificate reads without the PIN (10-card.md §8).
    let mut iphone = Client::new(CardFile::open(&t.dir, &second.phone_id).unwrap());
    assert_eq!(B64.encode(iphone.read_certificate(Slot::Auth).unwrap()), second.auth_certificate);
    drop(iphone);
    // The first phone's revoked key no longer acts.
    let doc = revocation_document(&first.phone_id, t.clock.now()).unwrap();
    let signed = sign_on(&t, &first.phone_id, Slot::Auth, PHONE_PIN, &doc);
    let (status, body) = post_public(&t, &format!("/v1/smartphone/{}/revocation", first.phone_id), &signed).await;
    assert_eq!(status, 409, "{body}");
}
on_both!(phone_supersession, a_second_phone_supersedes_the_first);

async fn bad_applications_are_refused(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (person, card_a) = resident(&t, "試験　花子").await;
    let (_, card_b) = resident(&t, "見本　一郎").await;
    let apply = |signed: SignedDocument| {
        let t = &t;
        async move { post_public(t, "/v1/smartphone/applications", &signed).await }
    };
    let se = PhoneSecureElement::generate(Device::Android).unwrap();
    let document = se.application_document(&challenge(&t, &card_a).await, t.clock.now()).unwrap();

    // Signed by another card's key, with card A's certificate.
    let by_a = sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &document);
    let by_b = sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &document);
    let (status, body) = apply(SignedDocument { signature: by_b.signature.clone(), ..by_a.clone() }).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("does not verify"), "{body}");
    // Tampered after signing (the device changed).
    let tampered = String::from_utf8(document.clone()).unwrap().replace("\"android\"", "\"iphone\"");
    let (status, body) = apply(SignedDocument { document: B64.encode(tampered), ..by_a.clone() }).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("does not verify"), "{body}");
    // Signed with the card's user-authentication key.
    let (status, body) = apply(sign_on(&t, &card_a, Slot::Auth, CARD_PIN, &document)).await;
    assert_eq!(status, 400, "{body}");
    // Stale.
    let stale = se.application_document(&challenge(&t, &card_a).await, t.clock.now() - Duration::days(2)).unwrap();
    let (status, body) = apply(sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &stale)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("applied_at"), "{body}");
    // Well signed but not a phone application: device card, one key twice, a truncated key,
    // another type, an unknown field.
    let base: Value = serde_json::from_slice(&document).unwrap();
    let key = base["sign_public_key"].as_str().unwrap().to_owned();
    let short = B64.encode(&B64.decode(&key).unwrap()[..100]);
    let small = B64.encode(rsa_spki(1024));
    for (field, value, why) in [
        ("device", json!("card"), "android or iphone"),
        ("auth_public_key", json!(key), "must differ"),
        ("auth_public_key", json!(short), "not a DER SubjectPublicKeyInfo"),
        ("sign_public_key", json!(small), "not an RSA-2048 key"),
        ("type", json!("hanko-consent-v1"), "document type"),
        ("type", json!("hanko-smartphone-application-v1"), "document type"),
        ("extra", json!(1), "unknown field"),
    ] {
        let mut v = base.clone();
        v[field] = value;
        let doc = serde_json::to_vec(&v).unwrap();
        let (status, body) = apply(sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &doc)).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(why), "{field}: {body}");
    }
    // Not a signed document at all: problem+json too.
    let (status, _) = post_public(&t, "/v1/smartphone/applications", &json!({"document": 1})).await;
    assert_eq!(status, 400);
    assert!(matches!(PhoneSecureElement::generate(Device::Card), Err(PhoneClientError::NotAPhone(Device::Card))));

    // The good one passes once; a replay is refused.
    let (status, body) = apply(by_a.clone()).await;
    assert_eq!(status, 200, "{body}");
    let answer: PhoneEnrolment = serde_json::from_value(body).unwrap();
    let (status, body) = apply(by_a).await;
    assert_eq!(status, 409, "{body}");
    let phone = se.personalize(&answer, PHONE_PASSWORD, PHONE_PIN).unwrap();
    drop(CardFile::create(&t.dir, &answer.phone_id, phone).unwrap());

    // An application signed with the phone's signature certificate: a phone cannot beget phones.
    let other = PhoneSecureElement::generate(Device::Iphone).unwrap();
    let doc = other.application_document(&challenge(&t, &card_a).await, t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &answer.phone_id, Slot::Signature, PHONE_PASSWORD, &doc)).await;
    assert_eq!(status, 403, "{body}");

    // Only the one phone was made.
    let (_, p) = t.counter_get(&format!("/v1/counter/persons/{person}")).await;
    let devices: Vec<&str> = p["cards"].as_array().unwrap().iter().map(|c| c["device"].as_str().unwrap()).collect();
    assert_eq!(devices, ["card", "android"]);
}
on_both!(phone_refusals, bad_applications_are_refused);

async fn the_call_centre_suspends_a_phone(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, card_id) = resident(&t, "試験　花子").await;
    let (answer, _) = enrol(&t, &card_id, Device::Android).await;
    let path = format!("/v1/counter/phones/{}/suspension", answer.phone_id);
    let (status, _) = post_public(&t, &path, &json!({})).await;
    assert_eq!(status, 401);
    let (status, body) = t.counter_post(&path, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "suspended");
    assert_eq!(body["revoked"].as_array().unwrap().len(), 2);
    for serial in [&answer.signature_serial, &answer.auth_serial] {
        assert_eq!(reason_of(&t, serial).await, Some(CrlReason::CERTIFICATE_HOLD));
    }
    assert_eq!(status_of(&t, &answer.phone_id).await, "suspended");
    // Again: nothing more to do, and a hold is never released.
    let (status, body) = t.counter_post(&path, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"], json!([]));
    // A card is not a phone.
    let (status, body) = t.counter_post(&format!("/v1/counter/phones/{card_id}/suspension"), json!({})).await;
    assert_eq!(status, 404, "{body}");
    // The card is untouched.
    assert_eq!(status_of(&t, &card_id).await, "active");
}
on_both!(phone_suspension, the_call_centre_suspends_a_phone);

async fn a_phone_revokes_itself_with_its_auth_key(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, card_id) = resident(&t, "試験　花子").await;
    let (_, card_b) = resident(&t, "見本　一郎").await;
    let (answer, _) = enrol(&t, &card_id, Device::Android).await;
    let (other, _) = enrol(&t, &card_b, Device::Iphone).await;
    let id = &answer.phone_id;
    let path = format!("/v1/smartphone/{id}/revocation");
    let doc = revocation_document(id, t.clock.now()).unwrap();

    // The same document signed by the card's auth key, by the phone's signature key, by another
    // phone's auth key: refused.
    let (status, body) = post_public(&t, &path, &sign_on(&t, &card_id, Slot::Auth, CARD_PIN, &doc)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = post_public(&t, &path, &sign_on(&t, id, Slot::Signature, PHONE_PASSWORD, &doc)).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post_public(&t, &path, &sign_on(&t, &other.phone_id, Slot::Auth, PHONE_PIN, &doc)).await;
    assert_eq!(status, 403, "{body}");
    // Signed by the phone, but naming another phone, or stale.
    let wrong = revocation_document(&other.phone_id, t.clock.now()).unwrap();
    let (status, body) = post_public(&t, &path, &sign_on(&t, id, Slot::Auth, PHONE_PIN, &wrong)).await;
    assert_eq!(status, 400, "{body}");
    let stale = revocation_document(id, t.clock.now() - Duration::days(3)).unwrap();
    let (status, body) = post_public(&t, &path, &sign_on(&t, id, Slot::Auth, PHONE_PIN, &stale)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(status_of(&t, id).await, "active");

    let signed = sign_on(&t, id, Slot::Auth, PHONE_PIN, &doc);
    let (status, body) = post_public(&t, &path, &signed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "returned");
    let reasons: Vec<&str> =
        body["revoked"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["cessationOfOperation", "cessationOfOperation"]);
    for serial in [&answer.signature_serial, &answer.auth_serial] {
        assert_eq!(reason_of(&t, serial).await, Some(CrlReason::CESSATION_OF_OPERATION));
    }
    // Replayed: the key is revoked now.
    let (status, body) = post_public(&t, &path, &signed).await;
    assert_eq!(status, 409, "{body}");
    // The other phone and the card live on.
    assert_eq!(status_of(&t, &other.phone_id).await, "active");
    assert_eq!(status_of(&t, &card_id).await, "active");
}
on_both!(phone_revocation, a_phone_revokes_itself_with_its_auth_key);

async fn death_and_card_loss_reach_the_phones(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    // Death: every certificate, the phone's included, affiliationChanged.
    let (dead, card_a) = resident(&t, "試験　花子").await;
    let (phone_a, _) = enrol(&t, &card_a, Device::Android).await;
    let (status, body) = t.event(&dead, json!({"kind": "death"})).await;
    assert_eq!(status, 200, "{body}");
    let revoked: Vec<String> =
        body["revoked"].as_array().unwrap().iter().map(|r| r[0].as_str().unwrap().to_owned()).collect();
    for serial in [&phone_a.signature_serial, &phone_a.auth_serial] {
        assert!(revoked.contains(serial), "{body}");
        assert_eq!(reason_of(&t, serial).await, Some(CrlReason::AFFILIATION_CHANGED));
    }
    assert_eq!(status_of(&t, &phone_a.phone_id).await, "returned");

    // Card loss: the card's and the phone's certificates on hold.
    let (lost, card_b) = resident(&t, "見本　一郎").await;
    let (phone_b, _) = enrol(&t, &card_b, Device::Iphone).await;
    let (status, body) = t.event(&lost, json!({"kind": "card-lost", "card_id": card_b})).await;
    assert_eq!(status, 200, "{body}");
    for serial in [&phone_b.signature_serial, &phone_b.auth_serial] {
        assert_eq!(reason_of(&t, serial).await, Some(CrlReason::CERTIFICATE_HOLD));
    }
    assert_eq!(status_of(&t, &phone_b.phone_id).await, "suspended");
    // A new phone cannot be enrolled with the lost card.
    let se = PhoneSecureElement::generate(Device::Android).unwrap();
    let document = se.application_document("no-challenge-for-a-lost-card", t.clock.now()).unwrap();
    let signed = sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &document);
    let (status, body) = post_public(&t, "/v1/smartphone/applications", &signed).await;
    assert_eq!(status, 409, "{body}");
}
on_both!(phone_life_events, death_and_card_loss_reach_the_phones);

/// Finding 2.6: an application is bound to a one-time challenge issued for that card, and has
/// its own document type — a consent is not an application, an application not a consent.
async fn phone_application_without_domain_separation_is_refused(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, card_a) = resident(&t, "試験　花子").await;
    let (_, card_b) = resident(&t, "見本　一郎").await;
    let apply = |signed: SignedDocument| {
        let t = &t;
        async move { post_public(t, "/v1/smartphone/applications", &signed).await }
    };
    // A challenge for a card that is not one.
    let (status, body) = post_public(&t, "/v1/smartphone/challenges", &json!({"card_id": "card-none"})).await;
    assert_eq!(status, 404, "{body}");

    // A challenge issued for card B, in an application card A signs: refused, and B's challenge
    // stays good for B.
    let for_b = challenge(&t, &card_b).await;
    let se = PhoneSecureElement::generate(Device::Android).unwrap();
    let doc = se.application_document(&for_b, t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &doc)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("challenge"), "{body}");
    // A challenge the authority never issued.
    let doc = se.application_document("made-up-challenge", t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &doc)).await;
    assert_eq!(status, 403, "{body}");

    // Used once: a second application with the same challenge (new keys) is refused.
    let doc = se.application_document(&for_b, t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &doc)).await;
    assert_eq!(status, 200, "{body}");
    let again = PhoneSecureElement::generate(Device::Iphone).unwrap();
    let doc = again.application_document(&for_b, t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &doc)).await;
    assert_eq!(status, 403, "{body}");

    // Expired.
    let late = challenge(&t, &card_a).await;
    t.clock.advance(hanko_authority::CHALLENGE_LIFETIME + Duration::seconds(1));
    let doc = again.application_document(&late, t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &doc)).await;
    assert_eq!(status, 403, "{body}");

    // At most MAX_LIVE_CHALLENGES live challenges per card: a new one drops the oldest.
    let mut live = Vec::new();
    for _ in 0..=hanko_authority::MAX_LIVE_CHALLENGES {
        live.push(challenge(&t, &card_a).await);
        t.clock.advance(Duration::seconds(1));
    }
    let doc = again.application_document(&live[0], t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &doc)).await;
    assert_eq!(status, 403, "the oldest challenge was dropped: {body}");

    // A consent document, well signed by the card, is not a phone application …
    let pf = crate::consent::platform(&t, &["SP1/web"]).await;
    let consent = crate::consent::consent_document(&t, &pf.0, "SP1/web", &["name"]);
    let (status, body) = apply(sign_on(&t, &card_a, Slot::Signature, CARD_PASSWORD, &consent)).await;
    assert_eq!(status, 400, "{body}");
    // … and a phone application (with a fresh challenge) is not a consent.
    let doc = again.application_document(&challenge(&t, &card_a).await, t.clock.now()).unwrap();
    let signed = crate::consent::sign_with_card(&t, &card_a, &doc);
    let (status, body) = crate::consent::call(&t, "/v1/consents", &pf.1, Some("SP1/web"), Some(signed)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("consent"), "{body}");
}
on_both!(phone_domain_separation, phone_application_without_domain_separation_is_refused);

/// Finding 2.9: the new keys prove possession, and a key any certificate carries is refused.
async fn phone_keys_without_proof_of_possession_are_refused(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, card_a) = resident(&t, "試験　花子").await;
    let (person_b, card_b) = resident(&t, "見本　一郎").await;
    let apply = |signed: SignedDocument| {
        let t = &t;
        async move { post_public(t, "/v1/smartphone/applications", &signed).await }
    };
    let (phone_a, _) = enrol(&t, &card_a, Device::Android).await;
    let key_of = |b64: &str| {
        let der = B64.decode(b64).unwrap();
        B64.encode(hanko_pki::JpkiCertificate::from_der(&der).unwrap().public_key_der())
    };
    let (a_sign, a_auth) = (key_of(&phone_a.signature_certificate), key_of(&phone_a.auth_certificate));

    // Person B submits A's public keys with B's own secure element's proofs: refused.
    let se = PhoneSecureElement::generate(Device::Android).unwrap();
    let ch = challenge(&t, &card_b).await;
    let mut doc: Value = serde_json::from_slice(&se.application_document(&ch, t.clock.now()).unwrap()).unwrap();
    doc["sign_public_key"] = json!(a_sign);
    doc["auth_public_key"] = json!(a_auth);
    let (status, body) =
        apply(sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &serde_json::to_vec(&doc).unwrap())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("proof of possession"), "{body}");

    // Proofs missing, or swapped (each key's proof under the other key): refused.
    let good: Value = serde_json::from_slice(&se.application_document(&ch, t.clock.now()).unwrap()).unwrap();
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("sign_key_proof");
    let mut swapped = good.clone();
    swapped["sign_key_proof"] = good["auth_key_proof"].clone();
    swapped["auth_key_proof"] = good["sign_key_proof"].clone();
    for (what, doc, why) in [("missing", missing, "sign_key_proof"), ("swapped", swapped, "proof of possession")] {
        let (status, body) =
            apply(sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &serde_json::to_vec(&doc).unwrap())).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(why), "{what}: {body}");
    }

    // Even with valid proofs (A's phone signs them), a key a certificate carries is refused
    // for anyone: here B's card applies with A's phone's certified keys.
    let ch = challenge(&t, &card_b).await;
    let message = format!("{}\n{ch}\nandroid\n{a_sign}\n{a_auth}", hanko_authority::POSSESSION_TYPE);
    let proof = |slot, pin: &[u8]| sign_on(&t, &phone_a.phone_id, slot, pin, message.as_bytes()).signature;
    let doc = json!({"type": hanko_authority::APPLICATION_TYPE, "challenge": ch, "device": "android",
        "sign_public_key": a_sign, "auth_public_key": a_auth,
        "sign_key_proof": proof(Slot::Signature, PHONE_PASSWORD), "auth_key_proof": proof(Slot::Auth, PHONE_PIN),
        "applied_at": hanko_pki::time::OffsetDateTime::format(t.clock.now(),
            &hanko_pki::time::format_description::well_known::Rfc3339).unwrap()});
    let (status, body) =
        apply(sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &serde_json::to_vec(&doc).unwrap())).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("already certified"), "{body}");
    // The challenge was not used up by the refusal; B enrols with its own keys.
    let doc = se.application_document(&ch, t.clock.now()).unwrap();
    let (status, body) = apply(sign_on(&t, &card_b, Slot::Signature, CARD_PASSWORD, &doc)).await;
    assert_eq!(status, 200, "{body}");
    // B has exactly one phone, with B's own keys.
    let (_, p) = t.counter_get(&format!("/v1/counter/persons/{person_b}")).await;
    assert_eq!(p["cards"].as_array().unwrap().len(), 2, "{p}");
}
on_both!(phone_proof_of_possession, phone_keys_without_proof_of_possession_are_refused);

/// Finding 2.12: the unauthenticated smartphone routes do not rebuild the trust store per
/// request; it is built once per change of the CA generations.
async fn smartphone_routes_rebuild_the_trust_store_per_request(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, card_id) = resident(&t, "試験　花子").await;
    assert_eq!(t.authority.trust_store_builds(), 1);
    let (first, _) = enrol(&t, &card_id, Device::Android).await;
    let doc = revocation_document(&first.phone_id, t.clock.now()).unwrap();
    let signed = sign_on(&t, &first.phone_id, Slot::Auth, PHONE_PIN, &doc);
    let garbage = SignedDocument { signature: B64.encode([0u8; 256]), ..signed.clone() };
    let (status, body) = post_public(&t, &format!("/v1/smartphone/{}/revocation", first.phone_id), &garbage).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(t.authority.trust_store_builds(), 1);
    // A new generation: built once more, and it trusts both generations.
    t.authority.new_generation().await.unwrap();
    assert_eq!(t.authority.trust_store_builds(), 2);
    let (status, body) = post_public(&t, &format!("/v1/smartphone/{}/revocation", first.phone_id), &signed).await;
    assert_eq!(status, 200, "{body}");
    enrol(&t, &card_id, Device::Iphone).await;
    assert_eq!(t.authority.trust_store_builds(), 2);
}
on_both!(phone_trust_store, smartphone_routes_rebuild_the_trust_store_per_request);

#[test]
fn the_openapi_fragment_names_every_phone_endpoint() {
    let doc: Value = serde_json::from_str(include_str!("../../src/openapi/phone.json")).unwrap();
    for path in [
        "/v1/smartphone/challenges",
        "/v1/smartphone/applications",
        "/v1/smartphone/{id}/revocation",
        "/v1/counter/phones/{id}/suspension",
    ] {
        assert!(doc["paths"][path]["post"].is_object(), "{path}");
    }
    for schema in [
        "SignedDocument",
        "SmartphoneApplication",
        "SmartphoneRevocation",
        "PhoneEnrolment",
        "PhoneChange",
        "PhoneChallenge",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
