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
}
on_both!(login_without_an_account, login_without_an_account);
