//! User authentication (issue 9 item 2): one-time challenges answered by the card's auth key.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_pki::time::Duration;
use hanko_platform::{Config, Platform, PlatformError};
use hanko_store::Db;
use serde_json::{json, Value};

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

/// A login's `check_method` overrides the tenant's for that one verification (the
/// authentication app service's `acr_values`): a CRL tenant asking for OCSP reaches the
/// authority — a card lost after the last CRL passes the CRL check but OCSP refuses it, the
/// authority bills an auth check — and the answer and the evidence say which method was used.
async fn a_login_may_ask_for_another_check_method_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPIDP", json!({"sensitive": false})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let answer = |method: Option<&str>| {
        let eco = &eco;
        let sp = &sp;
        let card = card.clone();
        let method = method.map(str::to_owned);
        async move {
            let (id, bytes) = challenge(eco, sp).await;
            let (certificate, signature) = auth_sign(eco, &card, CARD_PIN, &bytes);
            let mut req = json!({"challenge_id": id, "certificate": certificate, "signature": signature});
            if let Some(m) = method {
                req["check_method"] = json!(m);
            }
            let (status, out) = eco.p.post("/v1/verifications/authentication", &sp.key, req).await;
            assert_eq!(status, 200, "{out}");
            let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
            (out, ev)
        }
    };
    let auth_checks = || async {
        let (status, meter) = eco.p.get("/v1/meter?month=2026-04", &sp.key).await;
        assert_eq!(status, 200, "{meter}");
        let line = meter["lines"].as_array().unwrap().iter().find(|l| l["kind"] == "auth-check").cloned();
        line.map_or(0, |l| l["count"].as_i64().unwrap())
    };

    // The tenant's own method, then OCSP asked for: both valid, the OCSP one with its response.
    let (out, ev) = answer(None).await;
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("OK"), Some("crl")), "{out}");
    assert_eq!(ev["record"]["inputs"]["check_method"], "crl", "{ev}");
    assert_eq!(ev["record"]["inputs"]["check_method_requested"], Value::Null, "{ev}");
    assert_eq!(auth_checks().await, 0);
    let (out, ev) = answer(Some("ocsp")).await;
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("OK"), Some("ocsp")), "{out}");
    assert_eq!(ev["record"]["check_method"], "ocsp", "{ev}");
    assert_eq!(ev["record"]["inputs"]["check_method"], "ocsp", "{ev}");
    assert_eq!(ev["record"]["inputs"]["check_method_requested"], "ocsp", "{ev}");
    assert_eq!(ev["record"]["revocation"]["method"], "ocsp", "{ev}");
    assert!(ev["record"]["ocsp_response"].is_string(), "{ev}");
    assert_eq!(auth_checks().await, 1);

    // The card is lost; no CRL is published yet. The CRL (by default or asked for) still says
    // good; OCSP says held at once.
    eco.clock.advance(Duration::minutes(5));
    eco.event(&person, json!({"kind": "card-lost", "card_id": card})).await;
    for method in [None, Some("crl")] {
        let (out, ev) = answer(method).await;
        assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("OK"), Some("crl")), "{out}");
        assert_eq!(ev["record"]["revocation"]["method"], "crl", "{ev}");
        assert_eq!(ev["record"]["inputs"]["check_method_requested"], json!(method), "{ev}");
    }
    let (out, ev) = answer(Some("ocsp")).await;
    assert_eq!(out["result"], "CERTIFICATE_REVOKED", "{out}");
    assert_eq!(out["check_method"], "ocsp", "{out}");
    assert_eq!(out["reason"]["revocation"]["meaning"], "lost", "{out}");
    assert_eq!(ev["record"]["inputs"]["check_method"], "ocsp", "{ev}");
    assert_eq!(auth_checks().await, 2);
    // The tenant's setting itself is unchanged.
    let (out, _) = answer(None).await;
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("OK"), Some("crl")), "{out}");

    // Any other value: a 400 problem, and the challenge is not used up.
    let (id, bytes) = challenge(&eco, &sp).await;
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &bytes);
    for bad in [json!("OCSP"), json!("none"), json!(""), json!(1)] {
        let req = json!({"challenge_id": id, "certificate": certificate, "signature": signature, "check_method": bad});
        let (status, out) = eco.p.post("/v1/verifications/authentication", &sp.key, req).await;
        assert_eq!((status, &out["status"]), (400, &json!(400)), "{bad}: {out}");
        assert!(out["detail"].as_str().unwrap().contains("check_method"), "{bad}: {out}");
    }
    let req = json!({"challenge_id": id, "certificate": certificate, "signature": signature, "check_method": "ocsp"});
    let (status, out) = eco.p.post("/v1/verifications/authentication", &sp.key, req).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("CERTIFICATE_REVOKED")), "{out}");
    assert_eq!(auth_checks().await, 3);
}
on_both!(a_login_may_ask_for_another_check_method, a_login_may_ask_for_another_check_method_body);

/// A broker's own challenge (`own_challenge`): verified without any challenge state here, the
/// evidence saying the caller chose it; the same answer twice is the caller's to refuse (the
/// platform answers it again); its size is bounded; exactly one way of naming a challenge.
async fn a_broker_may_bring_its_own_challenge_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBROKER", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let path = "/v1/verifications/authentication";
    let own = [7u8; 32];
    let (certificate, signature) = auth_sign(&eco, &card, CARD_PIN, &own);
    let answer = json!({"own_challenge": B64.encode(own), "certificate": certificate, "signature": signature});
    let (status, out) = eco.p.post(path, &sp.key, answer.clone()).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
    let (status, evidence) =
        eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(status, 200, "{evidence}");
    assert!(evidence.to_string().contains(r#""challenge_source":"caller""#), "{evidence}");
    // Over other bytes: a mismatch.
    let other = json!({"own_challenge": B64.encode([8u8; 32]), "certificate": certificate, "signature": signature});
    let (_, out) = eco.p.post(path, &sp.key, other).await;
    assert_eq!(out["result"], "SIGNATURE_MISMATCH", "{out}");
    for bad in [
        json!({"own_challenge": B64.encode([1u8; 15]), "certificate": certificate, "signature": signature}),
        json!({"own_challenge": B64.encode([1u8; 65]), "certificate": certificate, "signature": signature}),
        json!({"own_challenge": B64.encode(own), "challenge": B64.encode(own), "certificate": certificate, "signature": signature}),
    ] {
        let (status, out) = eco.p.post(path, &sp.key, bad).await;
        assert_eq!(status, 400, "{out}");
    }
}
on_both!(a_broker_may_bring_its_own_challenge, a_broker_may_bring_its_own_challenge_body);
