//! `GET /metrics` and `GET /healthz`: logins and sign transactions counted by outcome, requests
//! by route template — no label names a client, a user or a request; the admin key guards the
//! metrics unless the provider opens them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_card::Slot;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde_json::json;

use crate::common::*;
use crate::sign::{begin, sign};

/// The value of the sample `series` (name and labels, exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(eco: &Eco, key: Option<&str>) -> (u16, String) {
    let mut req = eco.http.get(format!("{}/metrics", eco.i));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn metrics_count_logins_and_signatures(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (person, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000077", json!({"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}})).await;

    // A login approved, one the user cancels, one whose signature is not over the challenge.
    eco.login(&rp, &card, "openid").await;
    let cancelled = begin(&eco, &rp, "openid", &[]).await;
    let (status, out) =
        send(eco.http.post(format!("{}/api/app/requests/{}/cancel", eco.i, cancelled.request_id))).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("denied")), "{out}");
    let refused = begin(&eco, &rp, "openid", &[]).await;
    let (certificate, signature) = {
        let mut c = eco.card(&card);
        let di = DigestInfo::of(DigestAlgorithm::Sha256, b"not the challenge").to_der().unwrap();
        (c.read_certificate(Slot::Auth).unwrap(), c.sign(Slot::Auth, PIN, &di).unwrap())
    };
    let body = json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)});
    let (status, out) =
        send(eco.http.post(format!("{}/api/app/requests/{}/approval", eco.i, refused.request_id)).json(&body)).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("failed")), "{out}");
    // A sign transaction, approved.
    let hash = DigestAlgorithm::Sha256.digest(b"contract");
    let (tx, _) = sign(&eco, &rp, &card, &B64.encode(&hash), "openid sign").await;

    // Not public: no key or a key the provider does not know 401, its admin key 200.
    assert_eq!(scrape(&eco, None).await.0, 401);
    assert_eq!(scrape(&eco, Some(&eco.platform_admin)).await.0, 401);
    let (status, text) = scrape(&eco, Some(&eco.admin_key)).await;
    assert_eq!(status, 200, "{text}");

    let i = r#"service="idp""#;
    for (series, value) in [
        (format!(r#"hanko_idp_logins_total{{{i},outcome="approved"}}"#), 1.0),
        (format!(r#"hanko_idp_logins_total{{{i},outcome="denied"}}"#), 1.0),
        (format!(r#"hanko_idp_logins_total{{{i},outcome="failed"}}"#), 1.0),
        (format!(r#"hanko_idp_sign_transactions_total{{{i},outcome="approved"}}"#), 1.0),
        (format!(r#"hanko_idp_sign_transactions_started_total{{{i}}}"#), 1.0),
        (
            format!(
                r#"hanko_http_requests_total{{{i},method="POST",route="/api/app/requests/{{id}}/approval",status="200"}}"#
            ),
            3.0,
        ),
        (
            format!(
                r#"hanko_http_requests_total{{{i},method="POST",route="/api/app/requests/{{id}}/cancel",status="200"}}"#
            ),
            1.0,
        ),
        (format!(r#"hanko_http_requests_total{{{i},method="POST",route="/api/sign-transactions",status="201"}}"#), 1.0),
        (format!(r#"hanko_http_requests_total{{{i},method="GET",route="/metrics",status="401"}}"#), 2.0),
    ] {
        assert_eq!(sample(&text, &series), Some(value), "{series} in\n{text}");
    }
    // No label names the client, a request, the transaction, the person or the card.
    for id in ["RP00000077", &cancelled.request_id, &refused.request_id, &tx, &person, &card] {
        assert!(!text.contains(id), "{id} is in the metrics:\n{text}");
    }

    let (status, health) = send(eco.http.get(format!("{}/healthz", eco.i))).await;
    assert_eq!(
        (status, health["status"].as_str(), health["database"].as_str()),
        (200, Some("ok"), Some("ok")),
        "{health}"
    );
}
on_both!(metrics_count_logins_and_sign_transactions_by_outcome, metrics_count_logins_and_signatures);

async fn public_metrics(backend: Backend) {
    let eco = Eco::start_with(backend, |c| c.metrics_public = true).await;
    let (status, text) = scrape(&eco, None).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(r#"hanko_build_info{service="idp",version=""#), "{text}");
}
on_both!(public_metrics_need_no_key, public_metrics);
