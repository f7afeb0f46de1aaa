//! Findings of the security review (issue 8): bad input refused at the edge, one bad register
//! row never stopping publication, leaks elided.

use hanko_store::sqlx;
use hanko_store::Db;
use serde_json::json;

use crate::common::{Backend, TestAuthority};
use crate::on_both;

async fn revoke(t: &TestAuthority, serial: &str, reason: &str) -> (u16, serde_json::Value) {
    t.counter_post(&format!("/v1/counter/certificates/{serial}/revocation"), json!({"reason": reason})).await
}

/// `removeFromCRL` and the other reasons a JPKI revocation cannot have are refused (400), and
/// nothing is revoked.
async fn removefromcrl_revocation_is_refused(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let sig = card["signature_serial"].as_str().unwrap();
    for reason in ["removeFromCRL", "privilegeWithdrawn", "aACompromise", "cACompromise", "unknown", "7"] {
        let (status, body) = revoke(&t, sig, reason).await;
        assert_eq!(status, 400, "{reason}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("unknown reason"), "{body}");
    }
    // The library refuses it too (the CLI calls it).
    let serial = hanko_pki::Serial::from_hex(sig).unwrap();
    assert!(t.authority.revoke(&serial, hanko_pki::CrlReason::REMOVE_FROM_CRL).await.is_err());
    let record = t.authority.store().certificate(&serial).await.unwrap().unwrap();
    assert!(record.revocation.is_none());
    // The reasons the OpenAPI lists are accepted.
    let (status, body) = revoke(&t, sig, "certificateHold").await;
    assert_eq!(status, 200, "{body}");
}
on_both!(removefromcrl_is_refused, removefromcrl_revocation_is_refused);

/// A revocation row that cannot go into a complete CRL (planted straight into the database, as
/// an old version or a hand edit could leave it) stops only its own generation's CRL: the other
/// generations are published, the failure is reported in the answer and counted.
async fn a_bad_revocation_row_does_not_stop_publication(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let (sig, auth) = (card["signature_serial"].as_str().unwrap(), card["auth_serial"].as_str().unwrap());
    assert_eq!(revoke(&t, sig, "affiliationChanged").await.0, 200);
    assert_eq!(revoke(&t, auth, "cessationOfOperation").await.0, 200);
    let bad_generation =
        t.authority.store().certificate(&hanko_pki::Serial::from_hex(sig).unwrap()).await.unwrap().unwrap().generation;
    // A second generation of both CAs: four CRLs to publish.
    let (status, body) = t.operator_post("/v1/admin/generations", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let db = Db::connect(&t.db_url).await.unwrap();
    sqlx::query("UPDATE certificates SET reason = 8 WHERE serial = $1").bind(sig).execute(db.pool()).await.unwrap();

    let (status, body) = t.operator_post("/v1/admin/crl", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let crls = body["crls"].as_array().unwrap();
    assert_eq!(crls.len(), 3, "{body}");
    assert!(crls.iter().all(|c| !(c["kind"] == "signature" && c["generation"] == bad_generation.as_str())));
    let failed = body["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{body}");
    assert_eq!(
        (failed[0]["kind"].as_str(), failed[0]["generation"].as_str()),
        (Some("signature"), Some(&*bad_generation))
    );
    assert!(body["failures_total"].as_u64().unwrap() >= 1, "{body}");
    // The counter is exposed to operators.
    let (status, status_body) = t.operator_get("/v1/admin/crl").await;
    assert_eq!(status, 200, "{status_body}");
    assert!(status_body["failures_total"].as_u64().unwrap() >= 1, "{status_body}");
    // The auth CRL of the same generation lists its revocation.
    let auth_crl = crls.iter().find(|c| c["kind"] == "auth" && c["generation"] == bad_generation.as_str()).unwrap();
    assert_eq!(auth_crl["entries"], 1, "{auth_crl}");
    // The library call publishes the others too, and says it failed.
    let e = t.authority.publish_crls().await.unwrap_err();
    assert!(e.to_string().contains("not published"), "{e}");
    let report = t.authority.publish_crls_report().await.unwrap();
    assert_eq!((report.published.len(), report.failed.len()), (3, 1));
}
on_both!(bad_row_does_not_stop_publication, a_bad_revocation_row_does_not_stop_publication);
