//! Tenants and keys: admin and SP roles, the wrong tenant's key, the other environment.

use serde_json::json;

use crate::common::{sha256_b64, Backend, Eco};
use crate::on_both;

on_both!(keys_act_only_for_their_role_and_tenant, keys_act_only_for_their_role_and_tenant_body);
async fn keys_act_only_for_their_role_and_tenant_body(b: Backend) {
    let eco = Eco::start(b).await;
    let a = eco.tenant("SPA", json!({})).await;
    let bb = eco.tenant("SPB", json!({})).await;
    let (_, card) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let (cert, sig) = eco.sign(&card, b"doc");
    let req = json!({"certificate": cert, "signature": sig, "digest": sha256_b64(b"doc")});
    let (_, out) = eco.p.post("/v1/verifications/signature", &a.key, req.clone()).await;
    assert_eq!(out["result"], "OK", "{out}");
    let evidence = out["evidence_id"].as_str().unwrap().to_owned();

    // Another tenant cannot read A's evidence: the same 404 as an unknown id.
    let (status, other) = eco.p.get(&format!("/v1/evidence/{evidence}"), &bb.key).await;
    assert_eq!(status, 404, "{other}");
    let (status, unknown) = eco.p.get("/v1/evidence/ev-00000000-0000-4000-8000-000000000000", &bb.key).await;
    assert_eq!(status, 404);
    assert_eq!(other["detail"].as_str().map(|d| d.contains(&evidence)), Some(true));
    assert_eq!(unknown["title"], other["title"]);
    // The same person gets a different user id at each SP.
    let (_, at_b) = eco.p.post("/v1/verifications/signature", &bb.key, req.clone()).await;
    assert_eq!(at_b["result"], "OK");
    assert_ne!(at_b["user_id"], out["user_id"]);

    // An admin key never verifies; an SP key never administers.
    let (status, _) = eco.p.post("/v1/verifications/signature", &eco.admin_key, req.clone()).await;
    assert_eq!(status, 403);
    let (status, _) =
        eco.p.post("/v1/admin/tenants", &a.key, json!({"sp_id": "X", "service_id": "y", "name": "z"})).await;
    assert_eq!(status, 403);
    let (status, _) = eco.p.get(&format!("/v1/admin/tenants/{}", bb.id), &a.key).await;
    assert_eq!(status, 403);
    // No key, an unknown key, the other environment's key, the authority's key.
    let (status, _) = eco.p.post("/v1/verifications/signature", "", req.clone()).await;
    assert_eq!(status, 401);
    let (status, _) =
        eco.p.post("/v1/verifications/signature", &format!("pk_test_{}", "0".repeat(64)), req.clone()).await;
    assert_eq!(status, 401);
    let (status, _) =
        eco.p.post("/v1/verifications/signature", &format!("pk_production_{}", "0".repeat(64)), req.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = eco.p.post("/v1/verifications/signature", &eco.platform_key, req).await;
    assert_eq!(status, 401);
    // The tenant sees its own settings.
    let (status, me) = eco.p.get("/v1/tenant", &a.key).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], a.id.as_str());
    assert_eq!(me["sensitive"], true);
}

on_both!(tenant_ids_are_checked, tenant_ids_are_checked_body);
async fn tenant_ids_are_checked_body(b: Backend) {
    let eco = Eco::start(b).await;
    for body in [
        json!({"sp_id": "", "service_id": "web", "name": "x"}),
        json!({"sp_id": "SP/1", "service_id": "web", "name": "x"}),
        json!({"sp_id": "SP1", "service_id": "web", "name": "x\u{0}"}),
        json!({"sp_id": "SP1", "service_id": "web", "name": "x", "facts": ["my_number"]}),
        json!({"sp_id": "SP1", "service_id": "web", "name": "x", "check_method": "phone"}),
    ] {
        let (status, out) = eco.p.post("/v1/admin/tenants", &eco.admin_key, body.clone()).await;
        assert_eq!(status, 400, "{body} → {out}");
    }
    eco.tenant("SP1", json!({})).await;
    let (status, _) = eco
        .p
        .post("/v1/admin/tenants", &eco.admin_key, json!({"sp_id": "SP1", "service_id": "web", "name": "again"}))
        .await;
    assert_eq!(status, 409);
}

on_both!(a_leaked_key_is_disabled_at_once, a_leaked_key_is_disabled_at_once_body);
async fn a_leaked_key_is_disabled_at_once_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPLEAK", json!({})).await;
    let (status, second) = eco.p.post(&format!("/v1/admin/tenants/{}/keys", sp.id), &eco.admin_key, json!({})).await;
    assert_eq!(status, 201, "{second}");
    let second = second["api_key"].as_str().unwrap().to_owned();
    // An SP cannot disable keys; an admin cannot disable its own; garbage is 404.
    let (status, _) = eco.p.post("/v1/admin/keys/disable", &sp.key, json!({"api_key": second})).await;
    assert_eq!(status, 403);
    let (status, _) = eco.p.post("/v1/admin/keys/disable", &eco.admin_key, json!({"api_key": eco.admin_key})).await;
    assert_eq!(status, 409);
    let (status, _) = eco.p.post("/v1/admin/keys/disable", &eco.admin_key, json!({"api_key": "pk_test_00"})).await;
    assert_eq!(status, 404);
    // The leaked first key: refused from now on; the second still works.
    let (status, out) = eco.p.post("/v1/admin/keys/disable", &eco.admin_key, json!({"api_key": sp.key})).await;
    assert_eq!(status, 200, "{out}");
    let (status, _) = eco.p.get("/v1/tenant", &sp.key).await;
    assert_eq!(status, 401);
    let (status, me) = eco.p.get("/v1/tenant", &second).await;
    assert_eq!((status, me["id"].as_str()), (200, Some(sp.id.as_str())));
    let (status, _) = eco.p.post("/v1/admin/keys/disable", &eco.admin_key, json!({"api_key": sp.key})).await;
    assert_eq!(status, 404, "disabled already");
}
