//! The SDK against a real authority and platform on loopback (the platform's test ecosystem).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub, dead_code, unused_imports)]

#[path = "../../platform/tests/api/common.rs"]
mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{Backend, Eco};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_verifies_a_card_signature_and_reads_its_evidence() {
    let eco = Eco::start(Backend::Sqlite).await;
    let sp = eco.tenant("SPSDK", json!({"facts": ["address"]})).await;
    let (_, card) = eco.person_with_card("見本　次郎", "1979-11-03").await;
    let document = b"application form (synthetic)";
    let (cert, sig) = eco.sign(&card, document);
    let (cert, sig) = (B64.decode(cert).unwrap(), B64.decode(sig).unwrap());

    let client = hanko_sp::Client::new(&eco.p.base, sp.key.clone()).unwrap();
    let outcome = client.verify_signature(&cert, &sig, &hanko_sp::sha256(document)).await.unwrap();
    assert!(outcome.valid, "{outcome:?}");
    assert_eq!(outcome.result, "OK");
    assert_eq!(outcome.facts.as_ref().unwrap()["address"], "東京都見本区試験町一丁目１番１号");
    let evidence = client.evidence(&outcome.evidence_id).await.unwrap();
    assert_eq!(evidence["result"], "OK");

    let other = client.verify_signature(&cert, &sig, &hanko_sp::sha256(b"something else")).await.unwrap();
    assert_eq!(other.result, "SIGNATURE_MISMATCH");
    assert_eq!(other.reason.unwrap().code, "signature_invalid");

    // Refusals come back as problems with their status; ids that could change the path never
    // leave the client.
    let stranger = hanko_sp::Client::new(&eco.p.base, format!("pk_test_{}", "0".repeat(64))).unwrap();
    match stranger.tenant().await {
        Err(hanko_sp::Error::Problem { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(client.evidence("../admin/tenants").await, Err(hanko_sp::Error::Config(_))));
    assert!(matches!(hanko_sp::Client::new(&eco.p.base, "hk_test_x"), Err(hanko_sp::Error::Config(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_verifies_a_sign_result_jwe_and_refuses_a_pdf_without_signature() {
    use hanko_pki::jwe::{encrypt, ContentAlgorithm, JweEncryptionKey, KeyAlgorithm};
    let eco = Eco::start(Backend::Sqlite).await;
    let sp = eco.tenant("SPSDK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　次郎", "1979-11-03").await;
    let document = b"consent form (synthetic)";
    let (cert, sig) = eco.sign(&card, document);
    // What the authentication app service returns: a JWE to the platform's published key.
    let (_, jwks) = eco.p.get("/v1/jwks", "").await;
    let key = JweEncryptionKey::from_jwk(&jwks["keys"][0].to_string()).unwrap();
    let payload = json!({"signature": sig, "certificate": cert}).to_string();
    let jwe = encrypt(
        payload.as_bytes(),
        &key,
        KeyAlgorithm::RsaOaep256,
        ContentAlgorithm::A256Gcm,
        &Default::default(),
        &mut rand_core::OsRng,
    )
    .unwrap();
    let client = hanko_sp::Client::new(&eco.p.base, sp.key.clone()).unwrap();
    let outcome = client.verify_sign_result(&jwe, &hanko_sp::sha256(document)).await.unwrap();
    assert_eq!(outcome.result, "OK", "{outcome:?}");
    let cms = client.verify_cms(b"not a CMS", None).await;
    assert!(matches!(cms, Err(hanko_sp::Error::Problem { status: 400, .. })), "{cms:?}");
    let pdf = client.verify_pdf(b"%PDF-1.7\n%%EOF\n").await;
    match pdf {
        Err(hanko_sp::Error::Problem { status: 400, detail, .. }) => {
            assert!(detail.contains("no signature"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_logs_a_card_in_and_finds_the_same_user_as_its_signature() {
    let eco = Eco::start(Backend::Sqlite).await;
    let sp = eco.tenant("SPSDKLOGIN", json!({})).await;
    let (_, card) = eco.person_with_card("見本　三郎", "1988-08-08").await;
    let client = hanko_sp::Client::new(&eco.p.base, sp.key.clone()).unwrap();
    let (cert, sig) = eco.sign(&card, b"terms of service");
    let signed = client
        .verify_signature(&B64.decode(cert).unwrap(), &B64.decode(sig).unwrap(), &hanko_sp::sha256(b"terms of service"))
        .await
        .unwrap();
    assert!(signed.valid, "{signed:?}");

    let challenge = client.auth_challenge().await.unwrap();
    let bytes = B64.decode(challenge["challenge"].as_str().unwrap()).unwrap();
    let mut card_client = eco.card(&card);
    let response = hanko_authority::sign_document(&mut card_client, hanko_card::Slot::Auth, b"1234", &bytes).unwrap();
    let response = serde_json::to_value(&response).unwrap();
    let login = client
        .verify_authentication(
            challenge["challenge_id"].as_str().unwrap(),
            &B64.decode(response["certificate"].as_str().unwrap()).unwrap(),
            &B64.decode(response["signature"].as_str().unwrap()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(login.result, "OK", "{login:?}");
    assert_eq!(login.certificate_type.as_deref(), Some("JPKI_CARD_USER_AUTHENTICATION"));
    assert_eq!(login.user_id, signed.user_id, "the auth and signature certificates are one person");
    let user = client.user(login.user_id.as_deref().unwrap()).await.unwrap();
    assert!(user.is_object(), "{user}");
}

#[test]
fn sdk_checks_webhooks_the_platform_signed() {
    let secret = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLXRlc3QtMDEyMzQ1Njc4OQ==";
    let body = br#"{"type":"facts_changed"}"#;
    let signature = hanko_platform::sign_webhook(secret, "evt_1", 1_775_001_600, body).unwrap();
    let check = |id: &str, t: &str, sig: &str, body: &[u8], now: i64| {
        hanko_sp::verify_webhook(secret, id, t, sig, body, now, 300)
    };
    check("evt_1", "1775001600", &signature, body, 1_775_001_700).unwrap();
    // Several signatures (a key rotation): one matching is enough.
    check("evt_1", "1775001600", &format!("v1,AAAA {signature}"), body, 1_775_001_600).unwrap();
    assert!(check("evt_2", "1775001600", &signature, body, 1_775_001_600).is_err(), "another event id");
    assert!(check("evt_1", "1775001601", &signature, body, 1_775_001_600).is_err(), "another timestamp");
    assert!(check("evt_1", "1775001600", &signature, b"{}", 1_775_001_600).is_err(), "another body");
    assert!(check("evt_1", "1775001600", &signature, body, 1_775_009_999).is_err(), "too old: a replay");
    assert!(hanko_sp::verify_webhook("nope", "evt_1", "1775001600", &signature, body, 0, 300).is_err());
}
