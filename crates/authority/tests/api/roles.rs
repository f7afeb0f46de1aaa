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
