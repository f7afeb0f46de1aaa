//! Logging in to the bank with the authentication API.

use crate::common::*;

/// A card with no account: the login works at the provider and the bank says no account is
/// linked, offering to open one or to recover; cancelling at the app comes back as a
/// cancellation and nothing else.
async fn login_without_an_account(backend: Backend) {
    let up = Up::start(backend);
    let browser = Browser::new();
    let card = up.card_of("試験");
    let home = browser.get(&format!("{}/", up.bank)).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("見本銀行"), "{}", home.body);

    let start = browser.post(&format!("{}/login", up.bank), &[]).await;
    assert_eq!(start.status, 303, "{start:?}");
    let page = browser.through_app(&up, start, Some(&card)).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("口座が見つかりません"), "{}", page.body);
    assert!(browser.cookie("hanko_bank_session").is_none(), "no session without an account");

    let start = browser.post(&format!("{}/login", up.bank), &[]).await;
    let page = browser.through_app(&up, start, None).await;
    assert!(page.body.contains("キャンセルしました"), "{}", page.body);

    // The bank's metrics counted both trips by step and outcome, and no label names a person:
    // every service of `hanko up` serves /metrics without a key (sandbox on loopback).
    let metrics = browser.get(&format!("{}/metrics", up.bank)).await;
    assert_eq!(metrics.status, 200);
    for line in [
        "hanko_bank_flows_total{service=\"bank\",step=\"login\",outcome=\"completed\"} 1",
        "hanko_bank_flows_total{service=\"bank\",step=\"login\",outcome=\"cancelled\"} 1",
    ] {
        assert!(metrics.body.lines().any(|l| l == line), "{line} in\n{}", metrics.body);
    }
    assert!(!metrics.body.contains(&card), "a card id in the metrics");
    for url in [&up.idp, &up.platform] {
        let m = browser.get(&format!("{url}/metrics")).await;
        assert_eq!(m.status, 200, "{url}/metrics");
        assert!(m.body.contains("hanko_http_requests_total"), "{url}: {}", m.body);
    }
    let idp = browser.get(&format!("{}/metrics", up.idp)).await;
    assert!(idp.body.contains("hanko_idp_logins_total{service=\"idp\",outcome=\"approved\"} 1"), "{}", idp.body);
}
on_both!(login_without_an_account, login_without_an_account);
