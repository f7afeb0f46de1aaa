//! Raw signatures (the card's `80 2A`): valid, revoked after a move, over other data, garbage.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::json;

use crate::common::{sha256_b64, Backend, Eco};
use crate::on_both;

const CONTRACT: &[u8] = "売買契約書 (synthetic test contract)".as_bytes();

on_both!(signature_ok_then_revoked_after_a_move, signature_ok_then_revoked_after_a_move_body);
async fn signature_ok_then_revoked_after_a_move_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({"facts": ["name", "birth_date"]})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);

    let req = json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)});
    let (status, out) = eco.p.post("/v1/verifications/signature", &sp.key, req.clone()).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "OK", "{out}");
    assert_eq!(out["valid"], true);
    assert_eq!(out["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE");
    assert_eq!(out["check_method"], "crl");
    // Only the facts the SP may have; never the certificate in sensitive-data mode.
    assert_eq!(out["facts"]["name"], "見本　花子");
    assert!(out["facts"]["birth_date"].is_string());
    assert!(out["facts"].get("address").is_none(), "{out}");
    assert!(out["facts"].get("sex").is_none(), "{out}");
    assert!(out.get("certificate").is_none(), "{out}");
    let user = out["user_id"].as_str().unwrap().to_owned();

    // The same certificate again: the same user; the data form gives the same answer.
    let (_, again) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "data": B64.encode(CONTRACT)}),
        )
        .await;
    assert_eq!(again["result"], "OK", "{again}");
    assert_eq!(again["user_id"], user.as_str());
    assert_ne!(again["evidence_id"], out["evidence_id"]);

    // The evidence of the first answer is the SP's to read.
    let (status, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(status, 200, "{ev}");
    assert_eq!(ev["result"], "OK");
    assert_eq!(ev["record"]["inputs"]["digest"], sha256_b64(CONTRACT));
    // Sensitive-data mode: no certificate, no revocation data — the auditor's copy has them.
    assert!(ev["record"].get("certificate").is_none() && ev["record"].get("revocation").is_none(), "{ev}");
    let kept = eco.platform.export_evidence(out["evidence_id"].as_str().unwrap()).await.unwrap().to_string();
    assert!(kept.contains(&cert), "the evidence bundle keeps the certificate");

    // A move revokes the signature certificate (affiliationChanged); the next CRL says so.
    eco.clock.advance(hanko_pki::time::Duration::hours(1));
    eco.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区架空台五丁目６番７号"})).await;
    eco.publish_and_refresh().await;
    let (status, out) = eco.p.post("/v1/verifications/signature", &sp.key, req).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "CERTIFICATE_REVOKED", "{out}");
    assert_eq!(out["valid"], false);
    assert_eq!(out["reason"]["revocation"]["reason"], "affiliationChanged");
    assert_eq!(out["reason"]["revocation"]["meaning"], "facts-changed");
    // A sensitive-data SP gets the code's meaning, not words naming the serial (an identifier
    // other SPs could match).
    assert_eq!(out["reason"]["detail"], "the certificate is revoked (see revocation.meaning)", "{out}");
    assert!(out.get("user_id").is_none(), "a revoked certificate identifies nobody: {out}");
    assert!(out.get("facts").is_none(), "{out}");
}

on_both!(signature_over_other_data_is_a_mismatch, signature_over_other_data_is_a_mismatch_body);
async fn signature_over_other_data_is_a_mismatch_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(b"another document")}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "SIGNATURE_MISMATCH", "{out}");
    assert_eq!(out["reason"]["code"], "signature_invalid");
    assert!(out.get("user_id").is_none());
    // Still kept as evidence.
    let (status, _) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(status, 200);
}

on_both!(garbage_inputs_are_clear_answers_never_a_500, garbage_inputs_are_clear_answers_never_a_500_body);
async fn garbage_inputs_are_clear_answers_never_a_500_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let digest = sha256_b64(CONTRACT);
    let post = |body: serde_json::Value| {
        let eco = &eco;
        let key = sp.key.clone();
        async move { eco.p.post("/v1/verifications/signature", &key, body).await }
    };
    // A certificate that is not one: a result, UNSUPPORTED_CERTIFICATE.
    let (status, out) =
        post(json!({"certificate": B64.encode(b"not a certificate"), "signature": sig, "digest": digest})).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("UNSUPPORTED_CERTIFICATE")), "{out}");
    // Not base64, a digest of the wrong length, both digest and data, unknown fields: 400.
    for body in [
        json!({"certificate": "%%%", "signature": sig, "digest": digest}),
        json!({"certificate": cert, "signature": sig, "digest": B64.encode([0u8; 20])}),
        json!({"certificate": cert, "signature": sig, "digest": digest, "data": "AA=="}),
        json!({"certificate": cert, "signature": sig}),
        json!({"certificate": cert, "signature": sig, "digest": digest, "digest_algorithm": "md5"}),
        json!({"certificate": cert, "signature": sig, "digest": digest, "extra": 1}),
        json!({"certificate": cert, "signature": sig, "digest": "AAAA\u{0}"}),
    ] {
        let (status, out) = post(body.clone()).await;
        assert_eq!(status, 400, "{body} → {out}");
        assert!(out["detail"].is_string(), "{out}");
    }
    // A body over the limit: 413, as problem+json.
    let big = "A".repeat(2 * 1024 * 1024);
    let (status, out) = post(json!({"certificate": big, "signature": sig, "digest": digest})).await;
    assert_eq!(status, 413, "{out}");
    assert_eq!(out["status"], 413);
}

on_both!(sensitive_mode_off_returns_the_certificate, sensitive_mode_off_returns_the_certificate_body);
async fn sensitive_mode_off_returns_the_certificate_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPOPEN", json!({"sensitive": false})).await;
    let (_, card) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (_, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)}),
        )
        .await;
    assert_eq!(out["result"], "OK", "{out}");
    assert_eq!(out["certificate"], cert.as_str());
    assert!(out.get("facts").is_none(), "no facts were granted: {out}");
    let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(ev["record"]["certificate"], cert.as_str(), "{ev}");
    assert!(ev["record"]["revocation"]["crl_number"].is_u64(), "{ev}");
}

on_both!(an_sp_searches_and_deletes_only_its_own_evidence, an_sp_searches_and_deletes_only_its_own_evidence_body);
async fn an_sp_searches_and_deletes_only_its_own_evidence_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let other = eco.tenant("SPOTHER", json!({})).await;
    let (_, card) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let good = json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)});
    let bad = json!({"certificate": cert, "signature": sig, "digest": sha256_b64(b"other")});
    let mut ids = Vec::new();
    for body in [&good, &bad, &good] {
        let (_, out) = eco.p.post("/v1/verifications/signature", &sp.key, body.clone()).await;
        ids.push(out["evidence_id"].as_str().unwrap().to_owned());
    }
    let (_, theirs) = eco.p.post("/v1/verifications/signature", &other.key, good.clone()).await;
    let theirs = theirs["evidence_id"].as_str().unwrap().to_owned();

    // Pages of 2, oldest first, only the caller's.
    let (status, page) = eco.p.get("/v1/evidence?limit=2", &sp.key).await;
    assert_eq!(status, 200, "{page}");
    let got: Vec<&str> = page["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()]);
    assert!(page["records"][0].get("record").is_none(), "summaries only: {page}");
    let (_, rest) = eco.p.get(&format!("/v1/evidence?limit=2&after={}", page["next"]), &sp.key).await;
    let got: Vec<&str> = rest["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[2].as_str()]);
    assert!(rest["next"].is_null());
    let (_, mismatches) = eco.p.get("/v1/evidence?result=SIGNATURE_MISMATCH", &sp.key).await;
    assert_eq!(mismatches["records"].as_array().unwrap().len(), 1, "{mismatches}");
    let user = page["records"][0]["user_id"].as_str().unwrap();
    let (_, by_user) = eco.p.get(&format!("/v1/evidence?user_id={user}&kind=signature"), &sp.key).await;
    assert_eq!(by_user["records"].as_array().unwrap().len(), 2, "{by_user}");
    for bad_query in ["limit=0", "limit=201", "from=yesterday", "color=red", "user_id="] {
        let (status, out) = eco.p.get(&format!("/v1/evidence?{bad_query}"), &sp.key).await;
        assert_eq!(status, 400, "{bad_query}: {out}");
    }

    // Another SP's record cannot be deleted (404, as an unknown id); the caller's can, twice alike.
    let (status, _) = eco.p.delete(&format!("/v1/evidence/{theirs}"), &sp.key).await;
    assert_eq!(status, 404);
    let (status, kept) = eco.p.get(&format!("/v1/evidence/{theirs}"), &other.key).await;
    assert_eq!(status, 200);
    assert!(kept["record"].is_object());
    for _ in 0..2 {
        let (status, out) = eco.p.delete(&format!("/v1/evidence/{}", ids[1]), &sp.key).await;
        assert_eq!((status, out["deleted"].as_bool()), (200, Some(true)), "{out}");
    }
    let (_, deleted) = eco.p.get(&format!("/v1/evidence/{}", ids[1]), &sp.key).await;
    assert!(deleted["record"].is_null(), "{deleted}");
    assert!(deleted["purged_at"].is_string(), "{deleted}");
    // The log stays whole: the deleted record's leaf hash is still there.
    let report = eco.platform.verify_evidence_log().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.records, 4);
}

// A raw signature over the **bare** SHA-256 (the card was given the hash alone — the
// authentication app service's sign API with a bare hash) verifies after the standard form is
// tried, and `signed_form` says which form verified (also in the evidence); a bare signature
// over another hash is a mismatch with no form. `check_method` overrides the tenant's method.
on_both!(signature_over_a_bare_hash, signature_over_a_bare_hash_body);
async fn signature_over_a_bare_hash_body(b: Backend) {
    use hanko_card::Slot;
    use hanko_pki::DigestAlgorithm;
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBROKER", json!({})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, standard) = eco.sign(&card, CONTRACT);
    let hash = DigestAlgorithm::Sha256.digest(CONTRACT);
    let mut client = eco.card(&card);
    let bare = B64.encode(client.sign(Slot::Signature, b"HANKO2026", &hash).unwrap());
    let other = B64.encode(client.sign(Slot::Signature, b"HANKO2026", &DigestAlgorithm::Sha256.digest(b"x")).unwrap());
    drop(client);
    let verify = |signature: &str, extra: serde_json::Value| {
        let mut req = json!({"certificate": cert, "signature": signature, "digest": B64.encode(&hash)});
        for (k, v) in extra.as_object().unwrap() {
            req[k] = v.clone();
        }
        let (eco, key) = (&eco, sp.key.clone());
        async move { eco.p.post("/v1/verifications/signature", &key, req).await }
    };
    for (signature, form) in [(&bare, "hash"), (&standard, "digest_info")] {
        let (status, out) = verify(signature, json!({})).await;
        assert_eq!(
            (status, out["result"].as_str(), out["signed_form"].as_str()),
            (200, Some("OK"), Some(form)),
            "{out}"
        );
        let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
        assert_eq!(ev["record"]["inputs"]["signed_form"], form, "{ev}");
    }
    let (status, out) = verify(&other, json!({})).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("SIGNATURE_MISMATCH")), "{out}");
    assert!(out.get("signed_form").is_none(), "{out}");

    // Lost after the last CRL: the CRL says good, OCSP asked for says held.
    eco.clock.advance(hanko_pki::time::Duration::minutes(5));
    eco.event(&person, json!({"kind": "card-lost", "card_id": card})).await;
    let (_, out) = verify(&bare, json!({"check_method": "crl"})).await;
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("OK"), Some("crl")), "{out}");
    let (_, out) = verify(&bare, json!({"check_method": "ocsp"})).await;
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("CERTIFICATE_REVOKED"), Some("ocsp")));
    let (status, _) = verify(&bare, json!({"check_method": "OCSP"})).await;
    assert_eq!(status, 400);
}
