//! `GET /metrics` and `GET /healthz`: the counters move with real requests, under the right
//! labels, none of which names a tenant or a user; the admin key guards them unless the platform
//! opens them.

use serde_json::json;

use crate::common::{sha256_b64, Backend, Eco};
use crate::on_both;

const CONTRACT: &[u8] = "売買契約書 (synthetic test contract)".as_bytes();

/// The value of the sample `series` (name and labels, exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The values of the samples whose series starts with `prefix`, in ascending order.
fn gauge_with_prefix(text: &str, prefix: &str) -> Vec<f64> {
    let mut v: Vec<f64> =
        text.lines().filter(|l| l.starts_with(prefix)).filter_map(|l| l.rsplit(' ').next()?.parse().ok()).collect();
    v.sort_by(f64::total_cmp);
    v
}

on_both!(metrics_count_verifications_crls_webhooks_and_requests, metrics_body);
async fn metrics_body(b: Backend) {
    let eco = Eco::start(b).await;
    let _ = eco.authority.register_service(&eco.platform_id, "SPMETRICS", "web", "metrics SP").await;
    let sp = eco.tenant("SPMETRICS", json!({})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (status, ok) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)}),
        )
        .await;
    assert_eq!((status, ok["result"].as_str()), (200, Some("OK")), "{ok}");
    let user = ok["user_id"].as_str().unwrap().to_owned();
    let (status, bad) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(b"another document")}),
        )
        .await;
    assert_eq!((status, bad["result"].as_str()), (200, Some("SIGNATURE_MISMATCH")), "{bad}");

    // A subscribed customer dies; the SP's receiver is down: one event, one failed attempt.
    let (status, out) = eco.p.post("/v1/monitoring/subscriptions", &sp.key, json!({"user_id": user})).await;
    assert_eq!(status, 201, "{out}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (status, out) = eco
        .p
        .send(
            eco.p.client.put(format!("{}/v1/webhook", eco.p.base)).json(&json!({"url": format!("http://{port}/hook")})),
            &sp.key,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    eco.clock.advance(hanko_pki::time::Duration::hours(1));
    eco.event(&person, json!({"kind": "death"})).await;
    eco.publish_and_refresh().await;
    let (status, run) = eco.p.post("/v1/admin/monitoring/run", &eco.admin_key, json!({})).await;
    assert_eq!((status, run["events"].as_u64()), (200, Some(1)), "{run}");
    let (status, sent) = eco.p.post("/v1/admin/webhooks/deliver", &eco.admin_key, json!({})).await;
    assert_eq!((status, sent["failed"].as_u64()), (200, Some(1)), "{sent}");

    // Not public: no key 401, an SP's key 403, the admin key 200.
    let (status, body) = eco.p.get("/metrics", "").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = eco.p.get("/metrics", &sp.key).await;
    assert_eq!(status, 403, "{body}");
    let response =
        eco.p.client.get(format!("{}/metrics", eco.p.base)).bearer_auth(&eco.admin_key).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = response.text().await.unwrap();

    let p = r#"service="platform""#;
    for (series, value) in [
        (format!(r#"hanko_platform_verifications_total{{{p},kind="signature",result="OK",check_method="crl"}}"#), 1.0),
        (
            format!(
                r#"hanko_platform_verifications_total{{{p},kind="signature",result="SIGNATURE_MISMATCH",check_method="crl"}}"#
            ),
            1.0,
        ),
        (
            format!(
                r#"hanko_http_requests_total{{{p},method="POST",route="/v1/verifications/signature",status="200"}}"#
            ),
            2.0,
        ),
        (format!(r#"hanko_http_requests_total{{{p},method="GET",route="/metrics",status="401"}}"#), 1.0),
        (format!(r#"hanko_http_requests_total{{{p},method="GET",route="/metrics",status="403"}}"#), 1.0),
        (
            format!(
                r#"hanko_http_request_duration_seconds_count{{{p},method="POST",route="/v1/verifications/signature",status_class="2xx"}}"#
            ),
            2.0,
        ),
        (format!(r#"hanko_platform_monitoring_runs_total{{{p},outcome="ok"}}"#), 1.0),
        (format!(r#"hanko_platform_webhook_attempts_total{{{p},outcome="failed"}}"#), 1.0),
        (format!(r#"hanko_platform_webhook_backlog{{{p},state="pending"}}"#), 1.0),
        (format!(r#"hanko_platform_webhook_backlog{{{p},state="failed"}}"#), 0.0),
        // At start and after the publication.
        (format!(r#"hanko_platform_crl_refreshes_total{{{p},outcome="ok"}}"#), 2.0),
    ] {
        assert_eq!(sample(&text, &series), Some(value), "{series} in\n{text}");
    }
    // One age per CRL held (signature and auth), computed when scraped: two hours on, two hours
    // older; none stale.
    let ages = gauge_with_prefix(&text, &format!(r#"hanko_platform_crl_age_seconds{{{p},kind="#));
    assert_eq!(ages.len(), 2, "{text}");
    assert_eq!(gauge_with_prefix(&text, &format!(r#"hanko_platform_crl_stale{{{p},kind="#)), [0.0, 0.0], "{text}");
    eco.clock.advance(hanko_pki::time::Duration::hours(2));
    let (_, later) = eco.p.get("/metrics", &eco.admin_key).await;
    let later = later.as_str().unwrap();
    let later_ages = gauge_with_prefix(later, &format!(r#"hanko_platform_crl_age_seconds{{{p},kind="#));
    assert_eq!(later_ages, ages.iter().map(|a| a + 7200.0).collect::<Vec<_>>(), "{later}");

    // No label carries a tenant, an SP, a user, a person or a card.
    for id in [sp.id.as_str(), "SPMETRICS", user.as_str(), person.as_str(), card.as_str()] {
        assert!(!text.contains(id), "{id} is in the metrics:\n{text}");
    }

    let (status, health) = eco.p.get("/healthz", "").await;
    assert_eq!(
        (status, health["status"].as_str(), health["database"].as_str()),
        (200, Some("ok"), Some("ok")),
        "{health}"
    );
}

on_both!(public_metrics_need_no_key, public_body);
async fn public_body(b: Backend) {
    let eco = Eco::start_with(b, |c| c.metrics_public = true).await;
    let (status, text) = eco.p.get("/metrics", "").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.as_str().unwrap().contains(r#"hanko_build_info{service="platform",version=""#), "{text}");
}
