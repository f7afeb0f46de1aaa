//! Opening an account with the JPKI signature method (case 1): two signatures, the form
//! pre-filled from the certificate, the verification record; the refusals around it.

use std::time::Instant;

use crate::common::*;

/// A row of the record table (`r-<item>`), tags removed.
pub fn record_item(body: &str, item: &str) -> Option<String> {
    let at = body.find(&format!("id=\"r-{item}\""))?;
    let rest = &body[at..];
    let td = rest.find("<td>")? + 4;
    Some(rest[td..td + rest[td..].find("</td>")?].to_owned())
}

/// From a page that sends the browser to the app: the user approves with `card`, and the URL
/// the app sends the browser back to (the bank's `/callback?…`), not followed.
pub async fn until_callback(browser: &Browser, up: &Up, start: Page, card: &str) -> String {
    let wallet = browser.follow(start).await;
    assert!(wallet.url.contains("/app/requests/"), "not at the wallet: {wallet:?}");
    let request_id = wallet.url.rsplit('/').next().unwrap().to_owned();
    let (status, answer) = up.approve(&request_id, card).await;
    assert!((200..300).contains(&status), "the app's answer: {status} {answer}");
    let back = browser.get(&format!("{}/app/requests/{request_id}/continue", up.idp)).await;
    let callback = back.location.clone().unwrap_or_else(|| panic!("no way back: {back:?}"));
    assert!(callback.starts_with(&format!("{}/callback?", up.bank)), "{callback}");
    callback
}

/// Opens an account with `card` in `browser` (logged out): the explanation, the first
/// signature, the form, the signed application. The record page the bank ends on.
pub async fn open_account(up: &Up, browser: &Browser, card: &str, occupation: &str, purpose: &str) -> Page {
    let intro = browser.get(&format!("{}/open", up.bank)).await;
    assert_eq!(intro.status, 200, "{intro:?}");
    assert!(intro.body.contains("第6条第1項第1号ワ"), "{}", intro.body);
    let start = browser.post(&format!("{}/open", up.bank), &[]).await;
    assert_eq!(start.status, 303, "{start:?}");
    let form = browser.through_app(up, start, Some(card)).await;
    assert_eq!(form.status, 200, "{form:?}");
    assert!(form.url.ends_with("/open/form"), "{form:?}");
    let token = input_value(&form.body, "token");
    let start = browser
        .post(&format!("{}/open/form", up.bank), &[("token", &token), ("occupation", occupation), ("purpose", purpose)])
        .await;
    assert_eq!(start.status, 303, "{start:?}");
    browser.through_app(up, start, Some(card)).await
}

/// The whole opening for 試験　花子: the form shows the certificate's facts read-only, the record
/// holds every item the AML Act asks for (the evidence id is the platform's), the account number
/// shows, and logging in afterwards with the user-authentication certificate reaches the same
/// account (the pairwise `sub` of the signature and of the login are the same). A second opening
/// by the same person is refused with a way to log in; a replayed callback and another browser's
/// callback are refused. An age check while logged in keeps no birth date.
async fn open_an_account(backend: Backend) {
    let up = Up::start(backend);
    let browser = Browser::new();
    let card = up.card_of("試験");

    // The explanation, in English too.
    let en = Browser::new().get(&format!("{}/open?lang=en", up.bank)).await;
    assert!(en.body.contains("AML Act") && en.body.contains("kept for 7 years"), "{}", en.body);

    // The form, pre-filled.
    let started = Instant::now();
    let start = browser.post(&format!("{}/open", up.bank), &[]).await;
    let form = browser.through_app(&up, start, Some(&card)).await;
    assert_eq!(element(&form.body, "f-name").as_deref(), Some("試験　花子"), "{}", form.body);
    assert_eq!(element(&form.body, "f-birth-date").as_deref(), Some("1985-04-01"));
    assert_eq!(element(&form.body, "f-sex").as_deref(), Some("女性"));
    assert!(!element(&form.body, "f-address").unwrap().is_empty());
    assert!(!form.body.contains("name=\"name\""), "the facts are not inputs");
    assert!(form.body.contains("id=\"occupation\"") && form.body.contains("id=\"purpose\""));
    // An occupation outside the list is refused (nothing opens).
    let token = input_value(&form.body, "token");
    let bad = browser
        .post(&format!("{}/open/form", up.bank), &[("token", &token), ("occupation", "怪盗"), ("purpose", "貯蓄")])
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body.contains("職業を選んでください"), "{}", bad.body);
    let forged = browser
        .post(&format!("{}/open/form", up.bank), &[("token", "00"), ("occupation", "会社員"), ("purpose", "貯蓄")])
        .await;
    assert_eq!(forged.status, 403, "{forged:?}");

    let start = browser
        .post(
            &format!("{}/open/form", up.bank),
            &[("token", &token), ("occupation", "会社員"), ("purpose", "生計費決済")],
        )
        .await;
    let record = browser.through_app(&up, start, Some(&card)).await;
    eprintln!("account opening, machine time end to end (2 signatures, no typing): {:?}", started.elapsed());
    assert_eq!(record.status, 200, "{record:?}");
    assert!(record.url.contains("/records/"), "{record:?}");
    assert!(browser.cookie("hanko_bank_session").is_some(), "logged in after opening");
    let number = element(&record.body, "account-number").unwrap();
    assert!(number.len() == 7 && number.bytes().all(|b| b.is_ascii_digit()), "{number}");
    let item = |k: &str| record_item(&record.body, k).unwrap_or_else(|| panic!("no {k} in {}", record.body));
    assert_eq!(item("account-number"), number);
    assert!(item("law").contains("犯罪による収益の移転防止に関する法律"), "{}", item("law"));
    assert!(item("method").contains("第6条第1項第1号ワ"), "{}", item("method"));
    assert!(item("method").contains("署名用電子証明書"));
    assert!(item("checked-at").starts_with("20"), "{}", item("checked-at"));
    assert!(item("document").contains("署名用電子証明書"), "{}", item("document"));
    assert!(item("document").contains("JPKI_CARD_DIGITAL_SIGNATURE"), "{}", item("document"));
    assert!(!item("serial").is_empty());
    assert_eq!(item("name"), "試験　花子");
    assert!(!item("address").is_empty());
    assert_eq!(item("birth-date"), "1985-04-01");
    assert_eq!(item("sex"), "女性");
    assert_eq!(item("occupation"), "会社員");
    assert_eq!(item("purpose"), "生計費決済");
    assert!(!item("retain-until").is_empty());
    let checked_year: i32 = item("checked-at")[..4].parse().unwrap();
    let kept_year: i32 = item("retain-until")[..4].parse().unwrap();
    assert_eq!(kept_year - checked_year, 7, "kept 7 years");
    assert!(!record.body.contains("個人番号：") && !record.body.contains("my_number"));
    // The evidence id is the platform's record of that verification.
    let key = std::fs::read_to_string(up.dir.join("bank/platform.key")).unwrap();
    let (status, evidence) =
        send(up.http.get(format!("{}/v1/evidence/{}", up.platform, item("evidence-id"))).bearer_auth(key.trim())).await;
    assert_eq!(status, 200, "{evidence}");

    // The customer's page; then a login with the other certificate finds the same account.
    let me = browser.get(&format!("{}/me", up.bank)).await;
    assert!(me.body.contains(&number), "{}", me.body);
    assert!(me.body.contains("口座開設の本人確認記録"), "{}", me.body);
    let out = browser.post(&format!("{}/logout", up.bank), &[]).await;
    assert_eq!(out.status, 303);
    assert!(browser.cookie("hanko_bank_session").is_none());
    let start = browser.post(&format!("{}/login", up.bank), &[]).await;
    let me = browser.through_app(&up, start, Some(&card)).await;
    assert!(me.url.ends_with("/me"), "{me:?}");
    assert!(me.body.contains(&number), "{}", me.body);

    // An age check while logged in: the record has the answer, not the birth date.
    let start = browser.post(&format!("{}/age", up.bank), &[("min", "20")]).await;
    let answer = browser.through_app(&up, start, Some(&card)).await;
    assert!(answer.body.contains("data-result=\"yes\""), "{}", answer.body);
    let me = browser.get(&format!("{}/me", up.bank)).await;
    let at = me.body.find("年齢確認の記録").unwrap();
    let href = &me.body[..at];
    let id = &href[href.rfind("/records/").unwrap() + 9..];
    let id = &id[..id.find('"').unwrap()];
    let age_record = browser.get(&format!("{}/records/{id}", up.bank)).await;
    assert_eq!(age_record.status, 200, "{age_record:?}");
    assert_eq!(record_item(&age_record.body, "minimum-age").as_deref(), Some("20"));
    assert_eq!(record_item(&age_record.body, "reached").as_deref(), Some("true"));
    assert!(record_item(&age_record.body, "birth-date").is_none(), "{}", age_record.body);
    assert!(!age_record.body.contains("1985"), "no birth date anywhere: {}", age_record.body);
    assert!(record_item(&age_record.body, "name").is_none());
    // Another customer's record (here: nobody's) is not shown.
    let other = Browser::new();
    let page = other.get(&format!("{}/records/{id}", up.bank)).await;
    assert_eq!(page.status, 303, "not logged in: to the login page");

    // A second opening by the same person: refused, with a way to log in.
    let again = Browser::new();
    let start = again.post(&format!("{}/open", up.bank), &[]).await;
    let page = again.through_app(&up, start, Some(&card)).await;
    assert_eq!(page.status, 409, "{page:?}");
    assert!(page.body.contains("すでに口座をお持ちです"), "{}", page.body);
    assert!(page.body.contains("href=\"/login\""));

    // A callback replayed, and a callback taken to another browser.
    let b = Browser::new();
    let start = b.post(&format!("{}/open", up.bank), &[]).await;
    let callback = until_callback(&b, &up, start, &up.card_of("見本　太郎")).await;
    let first = b.get(&callback).await;
    assert_eq!(first.status, 303, "{first:?}");
    assert!(first.location.as_deref().unwrap().ends_with("/open/form"), "{first:?}");
    let replay = b.get(&callback).await;
    assert_eq!(replay.status, 410, "{replay:?}");
    assert!(replay.body.contains("有効期限が切れています"), "{}", replay.body);

    let start = b.post(&format!("{}/open", up.bank), &[]).await;
    let callback = until_callback(&b, &up, start, &up.card_of("見本　太郎")).await;
    let thief = Browser::new();
    let stolen = thief.get(&callback).await;
    assert_eq!(stolen.status, 403, "{stolen:?}");
    assert!(stolen.body.contains("別のブラウザ"), "{}", stolen.body);
    let form = thief.get(&format!("{}/open/form", up.bank)).await;
    assert_eq!(form.status, 404, "no application in the other browser: {form:?}");
}
on_both!(open_an_account, open_an_account);

/// A card reported lost (its certificates on hold, published in the CRL the platform holds) is
/// refused at the opening with what it means; cancelling at the app opens nothing.
async fn refused_and_cancelled(backend: Backend) {
    let up = Up::start(backend);
    let card = up.card_of("架空");

    // Cancel at the app: the cancellation page, no application.
    let browser = Browser::new();
    let start = browser.post(&format!("{}/open", up.bank), &[]).await;
    let page = browser.through_app(&up, start, None).await;
    assert!(page.body.contains("キャンセルしました"), "{}", page.body);
    let form = browser.get(&format!("{}/open/form", up.bank)).await;
    assert_eq!(form.status, 404, "{form:?}");
    assert!(form.body.contains("id=\"no-application\""), "{}", form.body);

    // The counter records the loss; the console syncs (CRL published and fetched).
    let console = Browser::new();
    let signed_in = console.get(&up.console).await;
    assert_eq!(signed_in.status, 303, "{signed_in:?}");
    let base = up.ready["urls"]["console"].as_str().unwrap();
    let done = console.post(&format!("{base}/cards/{card}/lost"), &[]).await;
    assert_eq!(done.status, 303, "{done:?}");
    let shown = console.follow(done).await;
    assert!(shown.body.contains("紛失を記録しました"), "{}", shown.body);

    let start = browser.post(&format!("{}/open", up.bank), &[]).await;
    let page = browser.through_app(&up, start, Some(&card)).await;
    assert_eq!(page.status, 422, "{page:?}");
    assert!(page.body.contains("一時保留（紛失・停止）"), "{}", page.body);
    let form = browser.get(&format!("{}/open/form", up.bank)).await;
    assert_eq!(form.status, 404, "nothing pending after a refusal: {form:?}");
}
on_both!(refused_and_cancelled, refused_and_cancelled);
