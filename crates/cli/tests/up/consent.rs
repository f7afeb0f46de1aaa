//! The customer's consent to the latest-4-facts service, signed with the card.

use crate::common::*;

/// The consent page explains what the bank receives, the fee it bears, how long and how to
/// withdraw; the signed consent reaches the platform (a consent id), `/me` shows it, and a second
/// consent is not asked for while the platform says it is in force. Cancelled at the app,
/// nothing is consented.
async fn give_consent(backend: Backend) {
    let up = Up::start(backend);
    let browser = Browser::new();
    let card = up.card_of("試験");
    open_account(&up, &browser, &card).await;

    let me = browser.get(&format!("{}/me", up.bank)).await;
    assert!(element(&me.body, "consent-link").is_some(), "{}", me.body);
    let page = browser.get(&format!("{}/me/consent", up.bank)).await;
    assert_eq!(page.status, 200, "{page:?}");
    for text in ["氏名、住所", "20円", "当行が負担", "10年", "撤回"] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let english = browser.get(&format!("{}/me/consent?lang=en", up.bank)).await;
    assert!(english.body.contains("20 yen") && english.body.contains("withdraw"), "{}", english.body);
    browser.get(&format!("{}/me?lang=ja", up.bank)).await;

    let start = browser.post(&format!("{}/me/consent", up.bank), &[]).await;
    assert_eq!(start.status, 303, "{start:?}");
    let cancelled = browser.through_app(&up, start, None).await;
    assert!(cancelled.body.contains("キャンセルしました"), "{}", cancelled.body);
    let me = browser.get(&format!("{}/me", up.bank)).await;
    assert!(element(&me.body, "consent-link").is_some(), "no consent after a cancellation");

    let start = browser.post(&format!("{}/me/consent", up.bank), &[]).await;
    assert_eq!(start.status, 303, "{start:?}");
    let done = browser.through_app(&up, start, Some(&card)).await;
    assert_eq!(done.status, 200, "{done:?}");
    let given = element(&done.body, "consent-done").unwrap_or_else(|| panic!("{}", done.body));
    let consent_id = given.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    assert!(!consent_id.is_empty());

    let me = browser.get(&format!("{}/me", up.bank)).await;
    assert!(element(&me.body, "consent").unwrap().contains(&consent_id), "{}", me.body);
    assert!(element(&me.body, "consent-link").is_none());
    let page = browser.get(&format!("{}/me/consent", up.bank)).await;
    let status = page.body.split("id=\"consent-status\"").nth(1).unwrap().split("</p>").next().unwrap();
    assert!(status.contains(&consent_id) && status.contains("有効期限"), "the platform's state: {status}");
    assert!(element(&page.body, "consent-start").is_none());
    let again = browser.post(&format!("{}/me/consent", up.bank), &[]).await;
    assert_eq!((again.status, again.location.as_deref()), (303, Some(format!("{}/me/consent", up.bank).as_str())));
}
on_both!(give_consent, give_consent);
