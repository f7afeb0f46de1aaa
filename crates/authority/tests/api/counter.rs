//! The counter: residents, cards, life events, PIN resets, renewal.

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
