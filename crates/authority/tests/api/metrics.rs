//! `GET /metrics` and `GET /healthz`: certificates issued and revoked, CRLs published and OCSP
//! answers counted under their labels — none naming a verifier, a person or a serial; an
//! operator key guards the metrics unless the authority opens them.

use std::sync::Arc;
use std::time::Duration;

use hanko_authority::{Authority, Config, ManualClock, Role};
use hanko_pki::ocsp::{build_request, CertIdentity};
use hanko_pki::time::Duration as Span;
use hanko_pki::{CaKind, Serial};
use hanko_store::Db;
use serde_json::json;
use tower::ServiceExt as _;

use crate::common::{database_url, temp_dir, Backend, TestAuthority, START};
use crate::on_both;

/// The value of the sample `series` (name and labels, exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn ocsp(t: &TestAuthority, der: Vec<u8>, key: Option<&str>) -> u16 {
    let mut req = t.http.post(format!("{}/ocsp", t.base)).header("content-type", "application/ocsp-request").body(der);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn scrape(t: &TestAuthority, key: Option<&str>) -> (u16, String) {
    let mut req = t.http.get(format!("{}/metrics", t.base));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

on_both!(metrics_count_issuance_revocation_crls_and_ocsp, metrics_body);
async fn metrics_body(b: Backend) {
    let t = TestAuthority::start_with(b, |c| c.ocsp_lag = Duration::ZERO).await;
    let (platform_id, key) = t.verifier("platform", "試験PF").await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let sig = card["signature_serial"].as_str().unwrap().to_owned();
    let issuer = t
        .authority
        .cas()
        .unwrap()
        .current(CaKind::Signature, t.authority.clock().now())
        .unwrap()
        .ca
        .certificate()
        .clone();
    let id = CertIdentity::new(&issuer, &Serial::from_hex(&sig).unwrap()).unwrap();
    let bare = build_request(std::slice::from_ref(&id), None).unwrap();

    // Good: signed, then from the cache; junk; no key; revoked (with a nonce: never cached).
    assert_eq!(ocsp(&t, bare.clone(), Some(&key)).await, 200);
    assert_eq!(ocsp(&t, bare, Some(&key)).await, 200);
    assert_eq!(ocsp(&t, b"\x30\x03junk".to_vec(), Some(&key)).await, 200);
    assert_eq!(ocsp(&t, b"\x30\x03junk".to_vec(), None).await, 200);
    let (status, body) =
        t.counter_post(&format!("/v1/counter/certificates/{sig}/revocation"), json!({"reason": "keyCompromise"})).await;
    assert_eq!(status, 200, "{body}");
    let with_nonce = build_request(std::slice::from_ref(&id), Some(&[7u8; 16])).unwrap();
    assert_eq!(ocsp(&t, with_nonce, Some(&key)).await, 200);

    // Not public: no key 401, a counter key 403, an operator key 200.
    assert_eq!(scrape(&t, None).await.0, 401);
    assert_eq!(scrape(&t, Some(&t.counter_key)).await.0, 403);
    let (status, text) = scrape(&t, Some(&t.operator_key)).await;
    assert_eq!(status, 200, "{text}");

    let a = r#"service="authority""#;
    for (series, value) in [
        (format!(r#"hanko_authority_certificates_issued_total{{{a},kind="signature"}}"#), 1.0),
        (format!(r#"hanko_authority_certificates_issued_total{{{a},kind="auth"}}"#), 1.0),
        (format!(r#"hanko_authority_certificates_revoked_total{{{a},reason="keyCompromise"}}"#), 1.0),
        (format!(r#"hanko_authority_ocsp_responses_total{{{a},status="good",cached="false"}}"#), 1.0),
        (format!(r#"hanko_authority_ocsp_responses_total{{{a},status="good",cached="true"}}"#), 1.0),
        (format!(r#"hanko_authority_ocsp_responses_total{{{a},status="revoked",cached="false"}}"#), 1.0),
        (format!(r#"hanko_authority_ocsp_responses_total{{{a},status="malformedRequest",cached="false"}}"#), 1.0),
        (format!(r#"hanko_authority_ocsp_responses_total{{{a},status="unauthorized",cached="false"}}"#), 1.0),
        (format!(r#"hanko_http_requests_total{{{a},method="POST",route="/ocsp",status="200"}}"#), 5.0),
        (
            format!(
                r#"hanko_http_requests_total{{{a},method="POST",route="/v1/counter/persons/{{id}}/cards",status="200"}}"#
            ),
            1.0,
        ),
        (format!(r#"hanko_http_requests_total{{{a},method="GET",route="/metrics",status="401"}}"#), 1.0),
        (format!(r#"hanko_http_requests_total{{{a},method="GET",route="/metrics",status="403"}}"#), 1.0),
    ] {
        assert_eq!(sample(&text, &series), Some(value), "{series} in\n{text}");
    }
    // No label names a verifier, a person, a card or a serial.
    let card_id = card["card_id"].as_str().unwrap();
    for id in [platform_id.as_str(), person.as_str(), card_id, sig.as_str(), sig.to_lowercase().as_str()] {
        assert!(!text.contains(id), "{id} is in the metrics:\n{text}");
    }
}

on_both!(public_metrics_need_no_key, public_body);
async fn public_body(b: Backend) {
    let t = TestAuthority::start_with(b, |c| c.metrics_public = true).await;
    let (status, text) = scrape(&t, None).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(r#"hanko_build_info{service="authority",version=""#), "{text}");
}

/// The router alone (no background publication: the test decides when CRLs are published and
/// what time it is).
async fn get(router: &axum::Router, path: &str, key: Option<&str>) -> (u16, String) {
    let mut req = axum::http::Request::get(path);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let resp = router.clone().oneshot(req.body(axum::body::Body::empty()).unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

on_both!(crl_publications_are_counted_and_healthz_says_when_one_is_overdue, publication_body);
async fn publication_body(b: Backend) {
    let dir = temp_dir("metrics");
    let clock = Arc::new(ManualClock::new(START));
    let db = Db::connect(&database_url(b, &dir)).await.unwrap();
    let authority = Arc::new(Authority::open(db, Config::sandbox(&dir), clock.clone()).await.unwrap());
    let operator = authority.register_verifier(Role::Operator, "test operator").await.unwrap().api_key;
    let router = hanko_authority::router(authority.clone());

    // No CRL yet: nothing overdue (nothing published, nothing listed).
    let (status, health) = get(&router, "/healthz", None).await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!((status, &health["status"], &health["database"]), (200, &json!("ok"), &json!("ok")), "{health}");
    authority.publish_crls().await.unwrap();
    authority.publish_crls().await.unwrap();
    let (_, text) = get(&router, "/metrics", Some(&operator)).await;
    for kind in ["signature", "auth"] {
        let series = format!(
            r#"hanko_authority_crl_publications_total{{service="authority",kind="{kind}",outcome="published"}}"#
        );
        assert_eq!(sample(&text, &series), Some(2.0), "{series} in\n{text}");
    }
    let (_, health) = get(&router, "/healthz", None).await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["crls"].as_array().unwrap().len(), 2, "{health}");
    assert_eq!(health["crl_failures_total"], 0, "{health}");

    // A day and an hour on without a publication: both CRLs are overdue (still a 200).
    clock.advance(Span::hours(25));
    let (status, health) = get(&router, "/healthz", None).await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!((status, &health["status"]), (200, &json!("overdue")), "{health}");
    assert!(health["crls"].as_array().unwrap().iter().all(|c| c["overdue"] == true), "{health}");
    authority.publish_crls().await.unwrap();
    let (_, health) = get(&router, "/healthz", None).await;
    assert!(health.contains(r#""status":"ok""#), "{health}");
}
