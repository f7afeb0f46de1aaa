//! A lost card at the municipal counter (the console's 紛失): the provider refuses its login and
//! the bank says why — on hold, ask the municipality — not that the customer cancelled.

use crate::common::*;

async fn a_lost_cards_login_is_refused_with_the_reason(backend: Backend) {
    let up = Up::start(backend);
    let browser = Browser::new();
    let card = up.card_of("架空");
    let signed_in = browser.get(&up.console).await;
    assert_eq!(signed_in.status, 303, "{signed_in:?}");
    let console = up.ready["urls"]["console"].as_str().unwrap();
    let done = browser.post(&format!("{console}/cards/{card}/lost"), &[]).await;
    let done = browser.follow(done).await;
    assert!(done.body.contains("紛失を記録しました"), "{done:?}");

    let start = browser.post(&format!("{}/login", up.bank), &[]).await;
    let wallet = browser.follow(start).await;
    let request_id = wallet.url.rsplit('/').next().unwrap().to_owned();
    let (status, answer) = up.approve(&request_id, &card).await;
    assert!((200..300).contains(&status), "{status} {answer}");
    assert_eq!(answer["status"], "failed", "{answer}");
    let back = browser.get(&format!("{}/app/requests/{request_id}/continue", up.idp)).await;
    let page = browser.follow(back).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("手続きを完了できませんでした"), "{}", page.body);
    assert!(page.body.contains("一時保留"), "{}", page.body);
    assert!(!page.body.contains("キャンセルしました"), "{}", page.body);
    assert!(browser.cookie("hanko_bank_session").is_none());
}
on_both!(lost_card_login, a_lost_cards_login_is_refused_with_the_reason);
