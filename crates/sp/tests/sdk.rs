//! The SDK against a real authority and platform on loopback (the platform's test ecosystem).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub, dead_code)]

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
