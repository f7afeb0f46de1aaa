//! User authentication (issue 9 item 2): one-time challenges answered by the card's auth key.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_pki::time::Duration;
use hanko_platform::{Config, Platform, PlatformError};
use hanko_store::Db;
use serde_json::json;

use crate::common::{Backend, Eco};
use crate::identity::{auth_sign, challenge, login, CARD_PASSWORD, CARD_PIN};
use crate::on_both;

/// A challenge answered by the card's auth key logs the person in, once; replayed, expired,
/// unknown and other tenants' challenges are refused, each with its own status.
async fn a_card_logs_in_with_a_one_time_challenge_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let other = eco.tenant("SPSHOP", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let path = "/v1/verifications/authentication";

    let (status, c) = eco.p.post("/v1/auth/challenges", &sp.key, json!({})).await;
    assert_eq!(status, 201, "{c}");
    let bytes = B64.decode(c["challenge"].as_str().unwrap()).unwrap();
    assert!(bytes.len() >= 32, "{c}");
    assert!(c["expires_at"].as_str().unwrap().starts_with("2026-04-01T00:05:00"), "5 minutes: {c}");
    let id = c["challenge_id"].as_str().unwrap().to_owned();
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &bytes);
    let answer = json!({"challenge_id": id, "certificate": certificate, "signature": signature});

    // Another tenant cannot use it: the same 404 as an unknown challenge (and it stays usable).
    let (status, out) = eco.p.post(path, &other.key, answer.clone()).await;
    assert_eq!(status, 404, "{out}");
    let unknown =
        json!({"challenge_id": format!("ch_{}", "0".repeat(32)), "certificate": certificate, "signature": signature});
    let (status, out) = eco.p.post(path, &sp.key, unknown).await;
    assert_eq!(status, 404, "{out}");
    // An admin key: 403.
    let (status, _) = eco.p.post(path, &eco.admin_key, answer.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = eco.p.post("/v1/auth/challenges", &eco.admin_key, json!({})).await;
    assert_eq!(status, 403);

    let (status, out) = eco.p.post(path, &sp.key, answer.clone()).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "OK", "{out}");
    assert_eq!(out["certificate_type"], "JPKI_CARD_USER_AUTHENTICATION");
    assert!(out["user_id"].is_string() && out["evidence_id"].is_string(), "{out}");
    assert!(out.get("facts").is_none(), "an auth certificate carries no facts: {out}");
    // Replayed: 409, saying so.
    let (status, out) = eco.p.post(path, &sp.key, answer).await;
    assert_eq!(status, 409, "{out}");
    assert!(out["detail"].as_str().unwrap().contains("answered already"), "{out}");

    // The challenge itself may name it instead of its id.
    let (_, bytes) = challenge(&eco, &sp).await;
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &bytes);
    let (status, out) = eco
        .p
        .post(
            path,
            &sp.key,
            json!({"challenge": B64.encode(&bytes), "certificate": certificate, "signature": signature}),
        )
        .await;
    assert_eq!((status, &out["result"]), (200, &json!("OK")), "{out}");

    // Expired after 5 minutes: 410.
    let (id, bytes) = challenge(&eco, &sp).await;
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &bytes);
    eco.clock.advance(Duration::seconds(301));
    let (status, out) = eco
        .p
        .post(path, &sp.key, json!({"challenge_id": id, "certificate": certificate, "signature": signature}))
        .await;
    assert_eq!(status, 410, "{out}");
    assert!(out["detail"].as_str().unwrap().contains("expired"), "{out}");

    // A signature over other bytes: SIGNATURE_MISMATCH, and the challenge is used up.
    let (id, _) = challenge(&eco, &sp).await;
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, b"some other challenge");
    let answer = json!({"challenge_id": id, "certificate": certificate, "signature": signature});
    let (status, out) = eco.p.post(path, &sp.key, answer.clone()).await;
    assert_eq!((status, &out["result"]), (200, &json!("SIGNATURE_MISMATCH")), "{out}");
    assert!(out.get("user_id").is_none(), "{out}");
    let (status, _) = eco.p.post(path, &sp.key, answer).await;
    assert_eq!(status, 409);

    // A signature certificate presented for login: UNSUPPORTED_CERTIFICATE.
    let (id, bytes) = challenge(&eco, &sp).await;
    let (sig_certificate, _) = eco.sign(&card, b"unused");
    let mut client = eco.card(&card);
    let digest_info = hanko_pki::DigestInfo::of(hanko_pki::DigestAlgorithm::Sha256, &bytes).to_der().unwrap();
    let signature = B64.encode(client.sign(hanko_card::Slot::Signature, CARD_PASSWORD, &digest_info).unwrap());
    let (status, out) = eco
        .p
        .post(path, &sp.key, json!({"challenge_id": id, "certificate": sig_certificate, "signature": signature}))
        .await;
    assert_eq!((status, &out["result"]), (200, &json!("UNSUPPORTED_CERTIFICATE")), "{out}");
    assert_eq!(out["reason"]["code"], "wrong_certificate_kind", "{out}");

    // Malformed requests: 400.
    for bad in [
        json!({"certificate": certificate, "signature": signature}),
        json!({"challenge_id": id, "challenge": "AAAA", "certificate": certificate, "signature": signature}),
        json!({"challenge_id": id, "certificate": "not base64!", "signature": signature}),
        json!({"challenge_id": id, "certificate": certificate, "signature": signature, "extra": 1}),
    ] {
        let (status, out) = eco.p.post(path, &sp.key, bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {out}");
    }
    // Garbage as the certificate: a result, not an error.
    let (id, _) = challenge(&eco, &sp).await;
    let (status, out) = eco
        .p
        .post(path, &sp.key, json!({"challenge_id": id, "certificate": B64.encode(b"garbage"), "signature": signature}))
        .await;
    assert_eq!((status, &out["result"]), (200, &json!("UNSUPPORTED_CERTIFICATE")), "{out}");
}
on_both!(a_card_logs_in_with_a_one_time_challenge, a_card_logs_in_with_a_one_time_challenge_body);

/// A challenge is stored in the database: another node on the same database takes it, and the
/// first node then refuses it as answered.
async fn another_node_consumes_a_challenge_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let node2 = Arc::new(
        Platform::open(
            Db::connect(&eco.platform_db).await.unwrap(),
            Config::new(&eco.platform_dir, &eco.a.base),
            eco.clock.clone(),
        )
        .await
        .unwrap(),
    );
    let (id, bytes) = challenge(&eco, &sp).await;
    assert_eq!(node2.take_challenge(&sp.id, &id).await.unwrap(), bytes);
    assert!(matches!(node2.take_challenge(&sp.id, &id).await, Err(PlatformError::Conflict(_))));
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &bytes);
    let (status, _) = eco
        .p
        .post(
            "/v1/verifications/authentication",
            &sp.key,
            json!({"challenge_id": id, "certificate": certificate, "signature": signature}),
        )
        .await;
    assert_eq!(status, 409);
    // And one issued by node 2 is answered at node 1.
    let issued = node2.new_challenge(&sp.id).await.unwrap();
    let bytes = B64.decode(&issued.challenge).unwrap();
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &bytes);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/authentication",
            &sp.key,
            json!({"challenge_id": issued.challenge_id, "certificate": certificate, "signature": signature}),
        )
        .await;
    assert_eq!((status, &out["result"]), (200, &json!("OK")), "{out}");
    assert_eq!(out["user_id"], login(&eco, &sp, &card, CARD_PIN).await["user_id"]);
}
on_both!(another_node_consumes_a_challenge, another_node_consumes_a_challenge_body);

/// The live challenges of a tenant are bounded (429 beyond), per tenant; answering or expiry
/// frees room.
async fn live_challenges_are_bounded_per_tenant_body(b: Backend) {
    let eco = Eco::start_with(b, |c| {
        c.max_live_challenges = 3;
        c.challenge_lifetime = std::time::Duration::from_secs(60);
    })
    .await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let other = eco.tenant("SPSHOP", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(challenge(&eco, &sp).await);
    }
    let (status, out) = eco.p.post("/v1/auth/challenges", &sp.key, json!({})).await;
    assert_eq!(status, 429, "{out}");
    // Another tenant is not affected.
    challenge(&eco, &other).await;
    // Answering one frees room for one.
    let (id, bytes) = ids.pop().unwrap();
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &bytes);
    let (status, _) = eco
        .p
        .post(
            "/v1/verifications/authentication",
            &sp.key,
            json!({"challenge_id": id, "certificate": certificate, "signature": signature}),
        )
        .await;
    assert_eq!(status, 200);
    challenge(&eco, &sp).await;
    let (status, _) = eco.p.post("/v1/auth/challenges", &sp.key, json!({})).await;
    assert_eq!(status, 429);
    // Expiry frees them all (the configured lifetime: 60 s).
    eco.clock.advance(Duration::seconds(61));
    for _ in 0..3 {
        challenge(&eco, &sp).await;
    }
}
on_both!(live_challenges_are_bounded_per_tenant, live_challenges_are_bounded_per_tenant_body);
