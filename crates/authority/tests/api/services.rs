//! The serial services: corresponding serial, old → new linkage, age check.

use hanko_pki::time::macros::datetime;
use serde_json::json;

use crate::common::{Backend, TestAuthority};
use crate::consent::{call, platform};
use crate::on_both;

async fn the_corresponding_serial_is_for_registered_platforms_only(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let sig = card["signature_serial"].as_str().unwrap();
    let auth = card["auth_serial"].as_str().unwrap();
    let pf = platform(&t, &["SP1/web"]).await;
    let path = "/v1/serials/corresponding";

    for sp in [None, Some("SP1/web")] {
        let (status, body) = call(&t, path, &pf.1, sp, Some(json!({"serial": sig.to_lowercase()}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"serial": sig, "kind": "signature", "auth_serial": auth, "smartphone_signature_serial": null})
        );
    }
    // A pure signature verifier: 403, saying why.
    let (_, sv) = t.verifier("signature", "signature only").await;
    let (status, body) = call(&t, path, &sv, None, Some(json!({"serial": sig}))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("both signature and user-authentication"), "{body}");
    // Unregistered key: 401; no key: 401; a production key against the test authority: 403.
    let (status, _) = call(&t, path, &format!("hk_test_{}", "0".repeat(64)), None, Some(json!({"serial": sig}))).await;
    assert_eq!(status, 401);
    let resp = t.http.post(format!("{}{path}", t.base)).json(&json!({"serial": sig})).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (status, body) =
        call(&t, path, &format!("hk_production_{}", "ab".repeat(32)), None, Some(json!({"serial": sig}))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("test environment"), "{body}");
    // The counter's key is not a verifier's.
    let (status, _) = call(&t, path, &t.counter_key, None, Some(json!({"serial": sig}))).await;
    assert_eq!(status, 403);
    // Not ours: 404; an auth serial: 400; not hex: 400.
    let (status, _) = call(&t, path, &pf.1, None, Some(json!({"serial": "0102030405060708"}))).await;
    assert_eq!(status, 404);
    let (status, _) = call(&t, path, &pf.1, None, Some(json!({"serial": auth}))).await;
    assert_eq!(status, 400);
    let (status, _) = call(&t, path, &pf.1, None, Some(json!({"serial": "xyz"}))).await;
    assert_eq!(status, 400);
    // After a move the old signature certificate is revoked: 409; the new one answers the same
    // auth certificate (kept through a move).
    let (status, outcome) =
        t.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区新町二丁目２番２号"})).await;
    assert_eq!(status, 200, "{outcome}");
    let (status, _) = call(&t, path, &pf.1, None, Some(json!({"serial": sig}))).await;
    assert_eq!(status, 409);
    let new_sig = outcome["issued"][0][0].as_str().unwrap();
    let (status, body) = call(&t, path, &pf.1, None, Some(json!({"serial": new_sig}))).await;
    assert_eq!((status, body["auth_serial"].as_str()), (200, Some(auth)), "{body}");
    // Three answered lookups, 2 yen each.
    let (_, report) = t.operator_get("/v1/admin/meter?month=2026-04").await;
    let total: u64 = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "corresponding-serial")
        .map(|r| r["yen"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 6, "{report}");
}
on_both!(corresponding_serial, the_corresponding_serial_is_for_registered_platforms_only);

async fn successors_follow_a_move_and_a_renewal(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-06-15").await;
    let card = t.card(&person).await;
    let card_id = card["card_id"].as_str().unwrap();
    let sig = card["signature_serial"].as_str().unwrap().to_owned();
    let auth = card["auth_serial"].as_str().unwrap().to_owned();
    let (_, sv) = t.verifier("signature", "signature verifier").await;
    let (_, av) = t.verifier("auth", "auth verifier").await;
    let successor = |serial: String, key: String| {
        let t = &t;
        async move { call(t, &format!("/v1/serials/{serial}/successor"), &key, None, None).await }
    };

    let (status, body) = successor(sig.clone(), sv.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"serial": sig, "successor": null, "chain": [], "status": "valid", "revocation_reason": null})
    );
    // The role must match the certificate's kind.
    assert_eq!(successor(sig.clone(), av.clone()).await.0, 403);
    assert_eq!(successor(auth.clone(), sv.clone()).await.0, 403);
    assert_eq!(successor("0102030405060708".into(), sv.clone()).await.0, 404);

    // A move: a new signature certificate succeeds the old one.
    let (status, outcome) =
        t.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区新町二丁目２番２号"})).await;
    assert_eq!(status, 200, "{outcome}");
    let s2 = outcome["issued"][0][0].as_str().unwrap().to_owned();
    let (_, body) = successor(sig.clone(), sv.clone()).await;
    assert_eq!(
        body,
        json!({"serial": sig, "successor": s2, "chain": [s2], "status": "valid", "revocation_reason": null})
    );
    let (_, body) = successor(s2.clone(), sv.clone()).await;
    assert_eq!(body["successor"], json!(null));
    // The auth certificate is kept through a move.
    assert_eq!(successor(auth.clone(), av.clone()).await.1["successor"], json!(null));

    // Near the 5th birthday: renewal of both.
    t.clock.set(datetime!(2031-04-01 00:00 UTC));
    let (status, outcome) = t.counter_post(&format!("/v1/counter/cards/{card_id}/renewal"), json!({})).await;
    assert_eq!(status, 200, "{outcome}");
    let issued = outcome["issued"].as_array().unwrap();
    let new = |kind: &str| issued.iter().find(|i| i[1] == kind).unwrap()[0].as_str().unwrap().to_owned();
    let (s3, a2) = (new("signature"), new("auth"));
    let (_, body) = successor(sig.clone(), sv.clone()).await;
    assert_eq!(body["successor"], json!(s3));
    assert_eq!(body["chain"], json!([s2, s3]));
    assert_eq!(body["status"], "valid");
    let (_, body) = successor(auth.clone(), av.clone()).await;
    assert_eq!((body["successor"].clone(), body["chain"].clone()), (json!(a2), json!([a2])));
    // Renewal revoked the one it replaced as superseded; the newest is what counts.
    let (_, body) = successor(s2.clone(), sv.clone()).await;
    assert_eq!(body["successor"], json!(s3));
    // After the newest expires (the 5th birthday passed, not renewed again) it says so.
    t.clock.set(datetime!(2036-07-01 00:00 UTC));
    let (_, body) = successor(sig.clone(), sv.clone()).await;
    assert_eq!(body["status"], "expired", "{body}");
}
on_both!(successor_linkage, successors_follow_a_move_and_a_renewal);

async fn the_age_check_turns_on_the_birthday_in_japan(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　若葉", "2008-04-10").await;
    let card = t.card(&person).await;
    let sig = card["signature_serial"].as_str().unwrap().to_owned();
    let auth = card["auth_serial"].as_str().unwrap().to_owned();
    let pf = platform(&t, &[]).await;
    let (_, sv) = t.verifier("signature", "signature verifier").await;
    let check = |serial: String, key: String, age: u32| {
        let t = &t;
        async move { call(t, "/v1/age-check", &key, None, Some(json!({"serial": serial, "age": age}))).await }
    };
    let (status, body) = check(auth.clone(), pf.1.clone(), 18).await;
    assert_eq!(status, 200, "{body}");
    // Never the date: exactly these fields.
    assert_eq!(body, json!({"serial": auth, "age": 18, "at_least": false}));
    assert_eq!(check(sig.clone(), sv.clone(), 16).await.1["at_least"], true);
    // 23:59:59 JST on the eve of the 18th birthday, then midnight JST.
    t.clock.set(datetime!(2026-04-09 14:59:59 UTC));
    assert_eq!(check(auth.clone(), pf.1.clone(), 18).await.1["at_least"], false);
    t.clock.set(datetime!(2026-04-09 15:00 UTC));
    assert_eq!(check(auth.clone(), pf.1.clone(), 18).await.1["at_least"], true);
    assert_eq!(check(sig.clone(), sv.clone(), 20).await.1["at_least"], false);
    // Roles, bounds, unknown serials.
    assert_eq!(check(auth.clone(), sv.clone(), 18).await.0, 403);
    assert_eq!(check(auth.clone(), pf.1.clone(), 17).await.0, 400);
    assert_eq!(check("0102030405060708".into(), pf.1.clone(), 18).await.0, 404);
    // A corrected birth date that is unknown (era digit 0): the signature certificate is
    // reissued, the old one revoked (409); the age cannot be told (409).
    let (status, outcome) = t.event(&person, json!({"kind": "facts-changed", "birth_date": "020080000"})).await;
    assert_eq!(status, 200, "{outcome}");
    let (status, body) = check(sig.clone(), sv.clone(), 18).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = check(auth.clone(), pf.1.clone(), 18).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("no full birth date"), "{body}");
}
on_both!(age_check, the_age_check_turns_on_the_birthday_in_japan);

/// A platform operator registers its own SP services through the API (no operator involved),
/// idempotently; afterwards it may act for them with `X-Hanko-SP`. Other roles get 403, ids
/// are checked like the operator's registration, and another platform's services stay its own.
async fn a_platform_registers_its_own_sp_services(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let sig = card["signature_serial"].as_str().unwrap();
    let (pf_id, pf) = platform(&t, &[]).await;
    let path = "/v1/platform/services";
    let body = json!({"sp_id": "SP9", "service_id": "login", "name": "bank login"});

    // Not registered yet: acting for it is refused.
    let (status, _) = call(&t, "/v1/serials/corresponding", &pf, Some("SP9/login"), Some(json!({"serial": sig}))).await;
    assert_eq!(status, 403);
    let (status, out) = call(&t, path, &pf, None, Some(body.clone())).await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out, json!({"platform": pf_id, "sp_id": "SP9", "service_id": "login", "created": true}));
    let (status, out) = call(&t, path, &pf, None, Some(body.clone())).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["created"], false);
    let (status, out) =
        call(&t, "/v1/serials/corresponding", &pf, Some("SP9/login"), Some(json!({"serial": sig}))).await;
    assert_eq!(status, 200, "{out}");

    // Other roles: 403 (a verifier says why); no key: 401.
    let (_, sv) = t.verifier("signature", "signature only").await;
    let (_, av) = t.verifier("auth", "auth only").await;
    for key in [&sv, &av, &t.counter_key, &t.operator_key] {
        let (status, out) = call(&t, path, key, None, Some(body.clone())).await;
        assert_eq!(status, 403, "{out}");
    }
    let (status, out) = call(&t, path, &sv, None, Some(body.clone())).await;
    assert!(out["detail"].as_str().unwrap().contains("only platform operators"), "{status} {out}");
    let (status, _) = call(&t, path, "", None, Some(body.clone())).await;
    assert_eq!(status, 401);
    // Ids as the operator's registration checks them.
    for bad in [
        json!({"sp_id": "", "service_id": "x", "name": "n"}),
        json!({"sp_id": "SP/1", "service_id": "x", "name": "n"}),
        json!({"sp_id": "SP1", "service_id": "x".repeat(33), "name": "n"}),
        json!({"sp_id": "SP1", "service_id": "x", "name": ""}),
        json!({"sp_id": "SP1", "service_id": "x"}),
    ] {
        let (status, out) = call(&t, path, &pf, None, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad} → {out}");
    }
    // Another platform does not get SP9/login by this platform's registration.
    let (_, other) = platform(&t, &[]).await;
    let (status, _) =
        call(&t, "/v1/serials/corresponding", &other, Some("SP9/login"), Some(json!({"serial": sig}))).await;
    assert_eq!(status, 403);
}
on_both!(platform_registers_own_services, a_platform_registers_its_own_sp_services);
