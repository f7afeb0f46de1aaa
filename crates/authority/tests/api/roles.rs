//! Roles (issue 8, findings 2.4 and 2.11): counter keys are not root, operators administer CAs
//! and keys, a disabled key is refused at once, each verifier service answers only the roles
//! it is for and never another verifier's data.

use serde_json::{json, Value};

use crate::common::{Backend, TestAuthority};
use crate::consent::call;
use crate::on_both;

/// Every `/v1/admin/*` operation, as (method, path, body).
fn admin_calls() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("POST", "/v1/admin/generations", json!({})),
        ("POST", "/v1/admin/verifiers", json!({"role": "counter", "name": "x"})),
        ("POST", "/v1/admin/verifiers/TPF00000001/services", json!({"sp_id": "S", "service_id": "s", "name": "n"})),
        ("POST", "/v1/admin/verifiers/TSV00000001/disable", json!({})),
        ("POST", "/v1/admin/verifiers/TSV00000001/key", json!({})),
        ("POST", "/v1/admin/crl", json!({})),
        ("GET", "/v1/admin/crl", Value::Null),
        ("GET", "/v1/admin/meter", Value::Null),
    ]
}

async fn send(t: &TestAuthority, method: &str, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}{path}", t.base);
    let req = if method == "GET" { t.http.get(url) } else { t.http.post(url).json(body) };
    t.send(req, key).await
}

/// A counter key can no longer rotate the CAs, mint keys, publish or read the meter: those need
/// an operator key, which in turn cannot use the counter API or the verifier services.
async fn counter_keys_are_not_root(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let generations = t.authority.cas().unwrap().all().len();
    for (method, path, body) in admin_calls() {
        let (status, answer) = send(&t, method, path, &t.counter_key, &body).await;
        assert_eq!(status, 403, "{method} {path} with a counter key: {answer}");
    }
    assert_eq!(t.authority.cas().unwrap().all().len(), generations, "no CA was rotated");
    // The operator may.
    let (status, body) = t.operator_post("/v1/admin/generations", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.operator_post("/v1/admin/verifiers", json!({"role": "operator", "name": "second"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["verifier"]["id"].as_str().unwrap().starts_with("TOP"), "{body}");
    // An operator key is not a counter key, nor a verifier's.
    let (status, _) = t
        .send(
            t.http.post(format!("{}/v1/counter/persons", t.base)).json(&json!({"name": "x"})),
            &t.operator_key.clone(),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = call(&t, "/v1/crl", &t.operator_key, None, None).await;
    assert_eq!(status, 403);
}
on_both!(counter_keys_are_not_root_, counter_keys_are_not_root);

/// A disabled key is refused on the very next request, even though the authority had just
/// cached it; a rotated key's old value likewise, and the new one works.
async fn a_disabled_key_is_refused_at_once(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (sv_id, sv) = t.verifier("signature", "試験署名検証者").await;
    let (pf_id, pf) = t.verifier("platform", "試験PF").await;
    // Authenticated once: now in the key cache.
    assert_eq!(call(&t, "/v1/crl", &sv, None, None).await.0, 200);
    assert_eq!(call(&t, "/v1/crl", &pf, None, None).await.0, 200);

    let (status, body) = t.operator_post(&format!("/v1/admin/verifiers/{sv_id}/disable"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    let (status, body) = call(&t, "/v1/crl", &sv, None, None).await;
    assert_eq!(status, 401, "{body}");
    // Twice: a conflict; rotating a disabled key too.
    assert_eq!(t.operator_post(&format!("/v1/admin/verifiers/{sv_id}/disable"), json!({})).await.0, 409);
    assert_eq!(t.operator_post(&format!("/v1/admin/verifiers/{sv_id}/key"), json!({})).await.0, 409);
    assert_eq!(t.operator_post("/v1/admin/verifiers/TSV99999999/disable", json!({})).await.0, 404);

    let (status, body) = t.operator_post(&format!("/v1/admin/verifiers/{pf_id}/key"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let new_key = body["api_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, pf);
    assert_eq!(call(&t, "/v1/crl", &pf, None, None).await.0, 401);
    assert_eq!(call(&t, "/v1/crl", &new_key, None, None).await.0, 200);

    // The counter key too (through the library, as the CLI does), at once.
    assert_eq!(t.counter_get("/v1/counter/persons/P1").await.0, 404);
    let counter = t.authority.authenticate(&t.counter_key).await.unwrap();
    t.authority.disable_verifier(&counter.id).await.unwrap();
    assert_eq!(t.counter_get("/v1/counter/persons/P1").await.0, 401);

    // An operator does not lock itself out.
    let me = t.authority.authenticate(&t.operator_key).await.unwrap();
    assert_eq!(t.operator_post(&format!("/v1/admin/verifiers/{}/disable", me.id), json!({})).await.0, 409);
}
on_both!(disabled_key_refused_at_once, a_disabled_key_is_refused_at_once);

/// Finding 2.11: consents and the latest 4 facts are for signature verifiers and platforms only;
/// every other role is refused (403), and another verifier never sees a consent that is not its
/// own (404, as for an unknown id).
async fn consent_services_answer_only_their_roles_and_tenant(backend: Backend) {
    use crate::consent::{consent, consent_document, platform, sign_with_card};
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let card_id = card["card_id"].as_str().unwrap();
    let pf = platform(&t, &["SP1/web"]).await;
    let id = consent(&t, card_id, &pf, "SP1/web", &["address"]).await;
    let (sv_id, sv) = t.verifier("signature", "試験署名検証者").await;
    let (av_id, av) = t.verifier("auth", "試験利用者証明検証者").await;
    let other_pf = platform(&t, &["SP1/web"]).await;

    // Wrong roles: an auth verifier (even with a document naming itself), counter, operator.
    let own = |vid: &str| sign_with_card(&t, card_id, &consent_document(&t, vid, &format!("{vid}/-"), &["name"]));
    let (status, body) = call(&t, "/v1/consents", &av, None, Some(own(&av_id))).await;
    assert_eq!(status, 403, "{body}");
    let withdrawal = json!({"document": "", "signature": "", "certificate": ""});
    for key in [&av, &t.counter_key, &t.operator_key] {
        assert_eq!(call(&t, "/v1/consents", key, None, Some(own(&av_id))).await.0, 403);
        assert_eq!(call(&t, &format!("/v1/consents/{id}"), key, None, None).await.0, 403);
        assert_eq!(call(&t, "/v1/latest-facts", key, None, Some(json!({"consent_id": id}))).await.0, 403);
        assert_eq!(call(&t, "/v1/consents/withdrawals", key, None, None).await.0, 403);
        assert_eq!(
            call(&t, &format!("/v1/consents/{id}/withdrawal"), key, None, Some(withdrawal.clone())).await.0,
            403
        );
    }
    // Another tenant: a signature verifier, another platform (even naming the same SP/service).
    for (key, sp) in [(&sv, None), (&other_pf.1, Some("SP1/web")), (&other_pf.1, None)] {
        let (status, body) = call(&t, &format!("/v1/consents/{id}"), key, sp, None).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = call(&t, "/v1/latest-facts", key, sp, Some(json!({"consent_id": id}))).await;
        assert_eq!(status, 404, "{body}");
    }
    // The owner still gets it; a signature verifier may register its own consent.
    let (status, body) = call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": id}))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&t, "/v1/consents", &sv, None, Some(own(&sv_id))).await;
    assert_eq!(status, 200, "{body}");
    // Withdrawals: each sees only its own.
    let (status, _) =
        call(&t, &format!("/v1/counter/consents/{id}/withdrawal"), &t.counter_key, None, Some(json!({}))).await;
    assert_eq!(status, 200);
    let (_, list) = call(&t, "/v1/consents/withdrawals", &sv, None, None).await;
    assert_eq!(list["withdrawals"], json!([]), "{list}");
    let (_, list) = call(&t, "/v1/consents/withdrawals", &other_pf.1, Some("SP1/web"), None).await;
    assert_eq!(list["withdrawals"], json!([]), "{list}");
    let (_, list) = call(&t, "/v1/consents/withdrawals", &pf.1, Some("SP1/web"), None).await;
    assert_eq!(list["withdrawals"].as_array().unwrap().len(), 1, "{list}");
}
on_both!(consent_roles, consent_services_answer_only_their_roles_and_tenant);

/// Finding 2.2: the age check answers only the configured thresholds, only roles that check the
/// certificate's kind, at most 5 a day per verifier and certificate, billed as a validity check.
async fn the_age_check_does_not_reveal_the_birth_date(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　若葉", "2008-04-10").await;
    let card = t.card(&person).await;
    let sig = card["signature_serial"].as_str().unwrap().to_owned();
    let auth = card["auth_serial"].as_str().unwrap().to_owned();
    let (sv_id, sv) = t.verifier("signature", "試験署名検証者").await;
    let (_, av) = t.verifier("auth", "試験利用者証明検証者").await;
    let (_, sv2) = t.verifier("signature", "別の署名検証者").await;
    let ask = |serial: &str, key: &str, age: u32| {
        let (t, serial, key) = (&t, serial.to_owned(), key.to_owned());
        async move { call(t, "/v1/age-check", &key, None, Some(json!({"serial": serial, "age": age}))).await }
    };
    // Thresholds outside the configured set: 400, whoever asks.
    for age in [0, 17, 19, 21, 64, 150] {
        let (status, body) = ask(&sig, &sv, age).await;
        assert_eq!(status, 400, "{age}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("15, 16, 18, 20, 65"), "{body}");
    }
    // Wrong roles.
    assert_eq!(ask(&sig, &av, 18).await.0, 403);
    assert_eq!(ask(&auth, &sv, 18).await.0, 403);
    assert_eq!(ask(&sig, &t.counter_key, 18).await.0, 403);
    assert_eq!(ask(&sig, &t.operator_key, 18).await.0, 403);
    // Five a day per verifier and certificate, then 429 with Retry-After.
    for age in [15, 16, 18, 20, 65] {
        let (status, body) = ask(&sig, &sv, age).await;
        assert_eq!(status, 200, "{body}");
    }
    let resp = t
        .http
        .post(format!("{}/v1/age-check", t.base))
        .bearer_auth(&sv)
        .json(&json!({"serial": sig, "age": 18}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    // Another verifier, or another certificate, is not limited by it; time refills it.
    assert_eq!(ask(&sig, &sv2, 18).await.0, 200);
    assert_eq!(ask(&auth, &av, 18).await.0, 200);
    t.clock.advance(hanko_pki::time::Duration::hours(5));
    assert_eq!(ask(&sig, &sv, 18).await.0, 200);
    assert_eq!(ask(&sig, &sv, 18).await.0, 429);
    // Billed as the validity check it is part of: 6 signature checks at 20 yen (after the
    // waiver), nothing under another name.
    let (_, report) = t.operator_get("/v1/admin/meter?month=2026-04").await;
    let rows: Vec<&Value> =
        report["rows"].as_array().unwrap().iter().filter(|r| r["verifier_id"] == sv_id.as_str()).collect();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(
        (rows[0]["kind"].as_str(), rows[0]["count"].as_u64(), rows[0]["yen"].as_u64()),
        (Some("signature-check"), Some(6), Some(120))
    );
}
on_both!(age_check_limits, the_age_check_does_not_reveal_the_birth_date);
