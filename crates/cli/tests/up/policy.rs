//! The bank follows the identity-check policy by law (hanko_sp::kyc) when opening an account.

use crate::common::*;

/// The open page shows what the AML Act says of each online method; asking for one the law
/// refuses for an account opening (the login certificate: it carries no facts) is refused with
/// the law's reason and starts nothing at the provider; one the law accepts but the bank does
/// not offer online is said as such; an unknown method is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_opening_takes_only_methods_the_law_accepts() {
    let up = Up::start(Backend::Sqlite);
    let browser = Browser::new();
    let page = browser.get(&format!("{}/open", up.bank)).await;
    let methods = element(&page.body, "methods").unwrap_or_default();
    assert!(page.body.contains("data-method=\"jpki-signature\"><td>✓"), "{}", page.body);
    assert!(page.body.contains("data-method=\"jpki-login\"><td>✗"), "{methods}");

    let refused = browser.post(&format!("{}/open", up.bank), &[("method", "jpki-login")]).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(refused.body.contains("この方法では口座を開設できません"), "{}", refused.body);
    assert!(refused.location.is_none(), "nothing started at the provider");

    let not_offered = browser.post(&format!("{}/open", up.bank), &[("method", "chip-selfie")]).await;
    assert_eq!(not_offered.status, 422, "{not_offered:?}");
    assert!(not_offered.body.contains("当行ではオンラインで提供していません"), "{}", not_offered.body);

    let unknown = browser.post(&format!("{}/open", up.bank), &[("method", "telepathy")]).await;
    assert_eq!(unknown.status, 400, "{unknown:?}");

    let accepted = browser.post(&format!("{}/open", up.bank), &[("method", "jpki-signature")]).await;
    assert_eq!(accepted.status, 303, "{accepted:?}");
}
