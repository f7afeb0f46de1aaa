//! The age check (case 13): only the predicate, decided from the verified birth date today in
//! Japan.

use crate::common::*;

/// The age check at `min` with `card`: the result page.
async fn check(up: &Up, card: &str, min: &str) -> Page {
    let browser = Browser::new();
    let page = browser.get(&format!("{}/age?min={min}", up.bank)).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(element(&page.body, "age-question").unwrap().contains(&format!("{min}歳以上")), "{}", page.body);
    let start = browser.post(&format!("{}/age", up.bank), &[("min", min)]).await;
    assert_eq!(start.status, 303, "{start:?}");
    browser.through_app(up, start, Some(card)).await
}

fn result(page: &Page) -> (String, String) {
    let at = page.body.find("id=\"age-result\"").unwrap_or_else(|| panic!("no result: {page:?}"));
    let rest = &page.body[at..];
    let r = rest.find("data-result=\"").unwrap() + 13;
    let answer = rest[r..r + rest[r..].find('"').unwrap()].to_owned();
    (answer, element(&page.body, "age-result").unwrap())
}

/// 試験　花子 (born 1985) is 18 and 20 or older; 見本　みらい (17 today) is refused at 18 and
/// passes at 16. The page says only the answer, never the birth date. A threshold other than
/// 16, 18 or 20 is refused. 例題　さくら's card (a child's: no signature certificate) cannot sign:
/// the wallet says so.
async fn age_checks(backend: Backend) {
    let up = Up::start(backend);
    let hanako = up.card_of("試験");
    let mirai = up.card_of("見本　みらい");

    let page = check(&up, &hanako, "18").await;
    assert_eq!(result(&page), ("yes".into(), "18歳以上であることを確認しました".into()));
    assert!(!page.body.contains("1985"), "{}", page.body);
    let page = check(&up, &hanako, "20").await;
    assert_eq!(result(&page).0, "yes");

    let page = check(&up, &mirai, "18").await;
    assert_eq!(result(&page), ("no".into(), "18歳未満のため、ご利用いただけません".into()));
    let page = check(&up, &mirai, "16").await;
    assert_eq!(result(&page), ("yes".into(), "16歳以上であることを確認しました".into()));

    let browser = Browser::new();
    let page = browser.get(&format!("{}/age", up.bank)).await;
    assert!(element(&page.body, "age-question").unwrap().contains("18歳以上"), "the default is 18");
    assert!(element(&page.body, "child-note").unwrap().contains("署名用電子証明書がありません"));
    let page = browser.get(&format!("{}/age?min=17", up.bank)).await;
    assert_eq!(page.status, 400, "{page:?}");
    let page = browser.post(&format!("{}/age", up.bank), &[("min", "5")]).await;
    assert_eq!(page.status, 400, "{page:?}");
    let page = browser.get(&format!("{}/age?min=16&lang=en", up.bank)).await;
    assert!(page.body.contains("We check that you are 16 or older"), "{}", page.body);

    // 例題　さくら in the wallet: the signature password typed, the card has no signature key.
    let sakura = up.card_of("例題");
    let browser = Browser::new();
    let start = browser.post(&format!("{}/age", up.bank), &[("min", "16")]).await;
    let wallet = browser.follow(start).await;
    assert!(wallet.url.contains("/app/requests/"), "{wallet:?}");
    let form = browser.get(&wallet.url).await;
    assert_eq!(form.status, 200, "{form:?}");
    let csrf = input_value(&form.body, "csrf");
    let answer = browser
        .post(&wallet.url, &[("csrf", &csrf), ("card", &sakura), ("pin", "HANKO2026"), ("action", "approve")])
        .await;
    let notice = element(&answer.body, "notice").unwrap_or_else(|| panic!("no notice: {answer:?}"));
    eprintln!("例題　さくら at the wallet: {} {notice}", answer.status);
    assert!(notice.contains("署名用電子証明書"), "{notice}");
}
on_both!(age_checks, age_checks);
