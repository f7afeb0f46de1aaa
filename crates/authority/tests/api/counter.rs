//! The counter: residents, cards, life events, PIN resets, renewal.

use hanko_authority::Clock;
use hanko_card::Client;
use hanko_cardlink::CardFile;
use serde_json::json;

use crate::common::{Backend, TestAuthority};
use crate::on_both;

async fn a_card_is_issued_with_keys_made_in_the_chip(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let id = card["card_id"].as_str().unwrap();
    let mut client = Client::new(CardFile::open(&t.dir, id).unwrap());
    let sign = client.read_signature_certificate(b"HANKO2026").unwrap();
    let cert = hanko_pki::JpkiCertificate::from_der(&sign).unwrap();
    assert_eq!(cert.serial().to_string(), card["signature_serial"].as_str().unwrap());
    assert_eq!(cert.facts().unwrap().name(), "試験　花子");
    let (status, body) = t.counter_get(&format!("/v1/counter/cards/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["certificates"].as_array().unwrap().len(), 2);
    // Without the counter key: 401 problem+json.
    let resp = t.http.get(format!("{}/v1/counter/cards/{id}", t.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let _ = json!({});
}
on_both!(card_issuance, a_card_is_issued_with_keys_made_in_the_chip);

/// The certificates on a card, from the counter API: (serial, kind, revocation reason or "").
async fn certs(t: &TestAuthority, card: &str) -> Vec<(String, String, String)> {
    let (status, body) = t.counter_get(&format!("/v1/counter/cards/{card}")).await;
    assert_eq!(status, 200, "{body}");
    body["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["serial"].as_str().unwrap().to_owned(),
                c["kind"].as_str().unwrap().to_owned(),
                c["revoked"]["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn event(t: &TestAuthority, person: &str, body: serde_json::Value) -> serde_json::Value {
    let (status, out) = t.event(person, body).await;
    assert_eq!(status, 200, "{out}");
    out
}

/// shared/spec/20-pki.md §3: a move revokes the signature certificate (affiliationChanged) and
/// keeps the auth certificate; the counter writes a new signature certificate with the new facts
/// onto the same card, under a key the chip generated.
async fn a_move_replaces_only_the_signature_certificate(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let id = card["card_id"].as_str().unwrap();
    let (old_sign, auth) = (card["signature_serial"].as_str().unwrap(), card["auth_serial"].as_str().unwrap());
    t.clock.advance(hanko_pki::time::Duration::days(30));
    let out = event(&t, &person, json!({"kind": "facts-changed", "address": "東京都見本区架空台五丁目６番７号"})).await;
    assert_eq!(out["revoked"], json!([[old_sign, "affiliationChanged"]]));
    let issued = out["issued"].as_array().unwrap();
    assert_eq!(issued.len(), 1);
    let new_sign = issued[0][0].as_str().unwrap();
    let list = certs(&t, id).await;
    assert!(list.contains(&(old_sign.into(), "signature".into(), "affiliationChanged".into())));
    assert!(list.contains(&(auth.into(), "auth".into(), "".into())));
    assert!(list.contains(&(new_sign.into(), "signature".into(), "".into())));
    // The card now holds the new certificate, with the new address, for a new chip key.
    let mut client = Client::new(CardFile::open(&t.dir, id).unwrap());
    let der = client.read_signature_certificate(b"HANKO2026").unwrap();
    let cert = hanko_pki::JpkiCertificate::from_der(&der).unwrap();
    assert_eq!(cert.serial().to_string(), new_sign);
    assert_eq!(cert.facts().unwrap().address(), "東京都見本区架空台五丁目６番７号");
    assert_eq!(cert.facts().unwrap().name(), "試験　花子");
    // And it signs with the new key: the new certificate verifies the signature.
    let digest = [7u8; 32];
    let di = hanko_pki::DigestInfo::new(hanko_pki::DigestAlgorithm::Sha256, &digest).unwrap().to_der().unwrap();
    let sig = client.sign(hanko_card::Slot::Signature, b"HANKO2026", &di).unwrap();
    let trust = t.authority.cas().unwrap().trust_store().unwrap();
    hanko_pki::verify::Verifier::new(&trust)
        .verify_signature(
            &der,
            hanko_pki::DigestAlgorithm::Sha256,
            hanko_pki::verify::Signed::Digest(&digest),
            &sig,
            t.clock.now(),
            hanko_pki::verify::RevocationCheck::Skip,
        )
        .unwrap();
    // The input-assist AP answers the new address too, under an integrity record that verifies
    // against the CV root (it answered the old 4 facts before).
    let root = std::fs::read(t.dir.join("cv/root.spki.der")).unwrap();
    let root = hanko_pki::RsaPublicKey::from_spki_der(&root).unwrap();
    let facts = client.read_facts(hanko_card::AccessCode::Pin(b"1234")).unwrap();
    assert_eq!(facts.address(), "東京都見本区架空台五丁目６番７号");
    let verified = client.verify_facts_integrity(&root).unwrap();
    assert_eq!(verified.facts().unwrap().address(), "東京都見本区架空台五丁目６番７号");
    // The old certificate links to the new one.
    let old = t.authority.store().certificate(&hanko_pki::Serial::from_hex(old_sign).unwrap()).await.unwrap().unwrap();
    assert_eq!(old.successor.unwrap().to_string(), new_sign);
}
on_both!(move_replaces_signature_certificate, a_move_replaces_only_the_signature_certificate);

async fn death_loss_return_and_emigration_revoke_per_the_table(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    // Death: both, affiliationChanged.
    let p = t.person("見本　太郎", "1958-12-31").await;
    let c = t.card(&p).await;
    let out = event(&t, &p, json!({"kind": "death"})).await;
    let reasons: Vec<&str> = out["revoked"].as_array().unwrap().iter().map(|r| r[1].as_str().unwrap()).collect();
    assert_eq!(reasons, ["affiliationChanged", "affiliationChanged"]);
    let (status, _) = t.event(&p, json!({"kind": "death"})).await;
    assert_eq!(status, 409, "a death is recorded once");
    assert!(certs(&t, c["card_id"].as_str().unwrap()).await.iter().all(|x| x.2 == "affiliationChanged"));

    // Loss: both on hold; never released (a second event revokes nothing more).
    let p = t.person("架空　一", "1990-01-08").await;
    let c = t.card(&p).await;
    let id = c["card_id"].as_str().unwrap();
    let out = event(&t, &p, json!({"kind": "card-lost", "card_id": id})).await;
    assert_eq!(out["revoked"].as_array().unwrap().len(), 2);
    assert!(certs(&t, id).await.iter().all(|x| x.2 == "certificateHold"));
    let out = event(&t, &p, json!({"kind": "card-returned", "card_id": id})).await;
    assert_eq!(out["revoked"], json!([]), "a hold is never changed into another reason");

    // Return: cessationOfOperation.
    let p = t.person("例題　次郎", "1980-02-02").await;
    let c = t.card(&p).await;
    let id = c["card_id"].as_str().unwrap();
    event(&t, &p, json!({"kind": "card-returned", "card_id": id})).await;
    assert!(certs(&t, id).await.iter().all(|x| x.2 == "cessationOfOperation"));

    // Emigration, default policy: signature revoked, auth kept.
    let p = t.person("例題　三郎", "1981-03-03").await;
    let c = t.card(&p).await;
    let out = event(&t, &p, json!({"kind": "emigration"})).await;
    assert_eq!(out["revoked"], json!([[c["signature_serial"], "affiliationChanged"]]));
}
on_both!(revocation_reasons, death_loss_return_and_emigration_revoke_per_the_table);

async fn emigration_can_revoke_both(backend: Backend) {
    let t = TestAuthority::start_with(backend, |c| c.emigration = hanko_authority::EmigrationPolicy::RevokeBoth).await;
    let p = t.person("例題　三郎", "1981-03-03").await;
    let c = t.card(&p).await;
    let out = event(&t, &p, json!({"kind": "emigration"})).await;
    let mut revoked = out["revoked"].as_array().unwrap().clone();
    revoked.sort_by_key(|r| r[1].as_str().unwrap().to_owned());
    assert_eq!(
        revoked,
        [json!([c["signature_serial"], "affiliationChanged"]), json!([c["auth_serial"], "cessationOfOperation"])]
    );
}
on_both!(emigration_policy, emigration_can_revoke_both);

async fn minors_and_wards_get_the_auth_certificate_only(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let minor = t.person("例題　さくら", "2014-05-01").await;
    let card = t.card(&minor).await;
    assert!(card["signature_serial"].is_null());
    let (status, body) = t
        .counter_post(
            "/v1/counter/persons",
            json!({"name": "例題　後見", "sex": "1", "birth_date": "1970-01-01", "address": "東京都見本区試験町",
                   "prefecture": "Tokyo-to", "municipality": "Mihon-ku", "ward": true}),
        )
        .await;
    assert_eq!(status, 200);
    let ward_card = t.card(body["id"].as_str().unwrap()).await;
    assert!(ward_card["signature_serial"].is_null());
    let mut client = Client::new(CardFile::open(&t.dir, card["card_id"].as_str().unwrap()).unwrap());
    assert!(client.read_signature_certificate(b"HANKO2026").is_err());
    assert!(!client.read_certificate(hanko_card::Slot::Auth).unwrap().is_empty());
    drop(client);
    // The minor moves (at 16 now): the card stays auth-only, nothing is written onto it.
    t.clock.set(hanko_pki::time::macros::datetime!(2030-06-01 00:00 UTC));
    let out = event(&t, &minor, json!({"kind": "facts-changed", "address": "東京都見本区架空台"})).await;
    assert_eq!(out, json!({"revoked": [], "issued": [], "pending": []}));
}
on_both!(minors_and_wards, minors_and_wards_get_the_auth_certificate_only);

/// Five years in one test: certificates end at the 5th birthday after issue; renewal opens 3
/// months before; the renewed certificates succeed the old ones, which are revoked as
/// superseded.
async fn renewal_at_the_fifth_birthday(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let p = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&p).await;
    let id = card["card_id"].as_str().unwrap();
    let auth = hanko_pki::Serial::from_hex(card["auth_serial"].as_str().unwrap()).unwrap();
    let rec = t.authority.store().certificate(&auth).await.unwrap().unwrap();
    let not_after = rec.validity.unwrap().1;
    // 2026-04-01 issue: valid to the end of the 5th birthday after it, 2031-04-01 23:59:59 JST.
    assert_eq!(not_after, hanko_pki::time::macros::datetime!(2031-04-01 14:59:59 UTC));
    let (status, body) = t.counter_post(&format!("/v1/counter/cards/{id}/renewal"), json!({})).await;
    assert_eq!(status, 409, "too early: {body}");
    t.clock.set(not_after - hanko_pki::time::Duration::days(60));
    let (status, out) = t.counter_post(&format!("/v1/counter/cards/{id}/renewal"), json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["issued"].as_array().unwrap().len(), 2);
    let reasons: Vec<&str> = out["revoked"].as_array().unwrap().iter().map(|r| r[1].as_str().unwrap()).collect();
    assert_eq!(reasons, ["superseded", "superseded"]);
    let rec = t.authority.store().certificate(&auth).await.unwrap().unwrap();
    let successor = rec.successor.unwrap();
    let new = t.authority.store().certificate(&successor).await.unwrap().unwrap();
    assert_eq!(new.predecessor.unwrap(), auth);
    // Renewed on 2031-01-31: the 5th birthday after that is 2035-04-01 (the one in 2031 is the
    // first), so renewing early shortens the new term — the rule, not an off-by-one.
    assert_eq!(new.validity.unwrap().1, hanko_pki::time::macros::datetime!(2035-04-01 14:59:59 UTC));
    // The card carries the renewed auth certificate.
    let mut client = Client::new(CardFile::open(&t.dir, id).unwrap());
    let der = client.read_certificate(hanko_card::Slot::Auth).unwrap();
    assert_eq!(hanko_pki::JpkiCertificate::from_der(&der).unwrap().serial(), &successor);
}
on_both!(renewal, renewal_at_the_fifth_birthday);

async fn the_counter_unblocks_a_pin(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let p = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&p).await;
    let id = card["card_id"].as_str().unwrap();
    {
        let mut client = Client::new(CardFile::open(&t.dir, id).unwrap());
        for _ in 0..3 {
            assert!(client.verify_pin(hanko_card::Slot::Auth, b"9999").is_err());
        }
        assert!(matches!(client.verify_pin(hanko_card::Slot::Auth, b"1234"), Err(hanko_card::ClientError::PinBlocked)));
    }
    let (status, body) =
        t.counter_post(&format!("/v1/counter/cards/{id}/pin-reset"), json!({"slot": "auth", "new_pin": "4321"})).await;
    assert_eq!(status, 200, "{body}");
    let mut client = Client::new(CardFile::open(&t.dir, id).unwrap());
    client.verify_pin(hanko_card::Slot::Auth, b"4321").unwrap();
    // A malformed PIN is refused, and the card is not changed.
    drop(client);
    let (status, _) =
        t.counter_post(&format!("/v1/counter/cards/{id}/pin-reset"), json!({"slot": "auth", "new_pin": "12"})).await;
    assert_eq!(status, 400);
    let mut client = Client::new(CardFile::open(&t.dir, id).unwrap());
    client.verify_pin(hanko_card::Slot::Auth, b"4321").unwrap();
}
on_both!(pin_reset, the_counter_unblocks_a_pin);

/// Found by the authority_api fuzz target: hostile input must answer 4xx problem+json, and a
/// refused card issuance must leave nothing behind.
async fn hostile_input_is_refused_cleanly(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let p = t.person("試験　花子", "1985-04-01").await;
    for pins in
        [json!({"sign_password": "HANKO2026", "auth_pin": "12"}), json!({"sign_password": "x", "auth_pin": "1234"})]
    {
        let (status, body) = t.counter_post(&format!("/v1/counter/persons/{p}/cards"), pins).await;
        assert_eq!(status, 400, "{body}");
    }
    let (_, person) = t.counter_get(&format!("/v1/counter/persons/{p}")).await;
    assert_eq!(person["cards"], json!([]), "a refused issuance left a card");
    let (status, body) = t.event(&p, json!({"kind": "facts-changed", "name": ""})).await;
    assert_eq!(status, 400, "{body}");
    // NUL in an id (PostgreSQL refuses it as text): a client error, never a 500.
    let (status, _) = t.counter_get("/v1/counter/persons/%00").await;
    assert!(status == 400 || status == 404, "{status}");
    // axum's own refusals speak problem+json too.
    for (req, want) in [
        (
            t.http.post(format!("{}/v1/counter/persons", t.base)).header("content-type", "application/json").body("{"),
            400,
        ),
        (t.http.post(format!("{}/v1/counter/persons", t.base)).body("{}"), 400),
        (t.http.delete(format!("{}/v1/counter/persons", t.base)), 405),
        (t.http.get(format!("{}/no/such/route", t.base)), 404),
    ] {
        let resp = req.bearer_auth(&t.counter_key).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), want);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["status"], want);
    }
}
on_both!(hostile_input, hostile_input_is_refused_cleanly);

/// Found by a schema-driven tester (schemathesis, requests generated from /openapi.json): axum
/// answered 415 to a body without a JSON content type and 422 to JSON of the wrong shape on
/// every operation with a body, statuses the document did not list (the docs promise 400).
/// Both are 400 problem+json now, and the document lists what the router answers by itself.
async fn openapi_undocumented_415_and_422_answer_400(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let p = t.person("試験　花子", "1985-04-01").await;
    for req in [
        t.http.post(format!("{}/v1/counter/persons", t.base)).body("{}"),
        t.http.post(format!("{}/v1/counter/persons", t.base)).header("content-type", "text/plain").body("{}"),
        t.http.post(format!("{}/v1/counter/persons", t.base)).json(&json!({"name": 5})),
        t.http.post(format!("{}/v1/counter/persons/{p}/cards", t.base)).json(&json!({"auth_pin": []})),
        t.http.post(format!("{}/v1/counter/persons/{p}/events", t.base)).json(&json!({"kind": "nope"})),
    ] {
        let resp = req.bearer_auth(&t.counter_key).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["status"], 400, "{v}");
    }
    let doc: serde_json::Value =
        t.http.get(format!("{}/openapi.json", t.base)).send().await.unwrap().json().await.unwrap();
    let mut bodies = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("requestBody").is_none() || path == "/ocsp" {
                continue;
            }
            bodies += 1;
            for code in ["400", "413"] {
                assert!(op["responses"].get(code).is_some(), "{method} {path} does not list {code}");
            }
        }
    }
    assert!(bodies >= 14, "only {bodies} operations with a body");
}
on_both!(openapi_router_statuses, openapi_undocumented_415_and_422_answer_400);
