//! Recovering an account (case 7): after a new signature certificate on the same card (the
//! platform's user id follows the serial linkage), and after a new card (a new user id: the verified name,
//! birth date and sex find the account).

use serde_json::{json, Value};

use crate::common::*;
use crate::open::{open_account, record_item};

/// Recovers in `browser` with `card`; the customer's page.
async fn recover(up: &Up, browser: &Browser, card: &str) -> Page {
    let intro = browser.get(&format!("{}/recover", up.bank)).await;
    assert_eq!(intro.status, 200, "{intro:?}");
    let start = browser.post(&format!("{}/recover", up.bank), &[]).await;
    assert_eq!(start.status, 303, "{start:?}");
    browser.through_app(up, start, Some(card)).await
}

/// The newest record of a kind on the customer's page: its page.
async fn newest_record(up: &Up, browser: &Browser, title: &str) -> Page {
    let me = browser.get(&format!("{}/me", up.bank)).await;
    let at = me.body.find(title).unwrap_or_else(|| panic!("no {title} in {}", me.body));
    let before = &me.body[..at];
    let id = &before[before.rfind("/records/").unwrap() + 9..];
    let id = &id[..id.find('"').unwrap()];
    browser.get(&format!("{}/records/{id}", up.bank)).await
}

/// 試験　花子 opens an account; she moves, and the counter issues her card a new signature
/// certificate (the old one revoked, affiliationChanged; the authority links the two serials);
/// she recovers with it: the platform's user id, which follows the linkage, finds the account,
/// `/me` says so and shows the same number and the new address, the recovery record is there,
/// and she still logs in with the card.
///
/// (The console's renewal button answers "renewal opens 3 months before expiry" for the fresh
/// sandbox cards of `hanko up`, whose clock cannot jump: the move is the re-issue with serial
/// linkage a test can make today.)
async fn recover_after_a_new_certificate(backend: Backend) {
    let up = Up::start(backend);
    let card = up.card_of("試験");
    let person = person_of(&up, &card);
    let browser = Browser::new();
    let record = open_account(&up, &browser, &card, "公務員", "貯蓄").await;
    let number = element(&record.body, "account-number").unwrap();
    let old_address = record_item(&record.body, "address").unwrap();
    browser.post(&format!("{}/logout", up.bank), &[]).await;

    let console = Browser::new();
    console.get(&up.console).await;
    let base = up.ready["urls"]["console"].as_str().unwrap();
    let shown = console.follow(console.post(&format!("{base}/residents/{person}/move"), &[]).await).await;
    assert!(shown.body.contains("転居を記録しました"), "{}", shown.body);

    let me = recover(&up, &browser, &card).await;
    assert!(me.url.ends_with("/me"), "{me:?}");
    assert!(element(&me.body, "recovered").is_some(), "{}", me.body);
    assert!(me.body.contains(&number), "{}", me.body);
    let rec = newest_record(&up, &browser, "アカウント復旧の本人確認記録").await;
    assert_eq!(rec.status, 200, "{rec:?}");
    assert_eq!(record_item(&rec.body, "account-number").as_deref(), Some(number.as_str()));
    assert_eq!(record_item(&rec.body, "name").as_deref(), Some("試験　花子"));
    let new_address = record_item(&rec.body, "address").unwrap();
    assert_ne!(new_address, old_address, "the record has the certificate's new address");
    assert!(me.body.contains(&new_address), "the account follows the certificate: {}", me.body);
    assert!(record_item(&rec.body, "transaction").unwrap().contains("アカウント復旧"));

    browser.post(&format!("{}/logout", up.bank), &[]).await;
    let start = browser.post(&format!("{}/login", up.bank), &[]).await;
    let me = browser.through_app(&up, start, Some(&card)).await;
    assert!(me.url.ends_with("/me") && me.body.contains(&number), "{me:?}");
}
on_both!(recover_after_a_new_certificate, recover_after_a_new_certificate);

/// The person id of the resident holding `card`.
fn person_of(up: &Up, card: &str) -> String {
    up.ready["residents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["card_id"] == card)
        .map(|r| r["person_id"].as_str().unwrap().to_owned())
        .unwrap()
}

/// A registration of counter staff at the running authority (`hanko authority add-verifier`
/// on `hanko up`'s authority directory and database): its API key.
fn counter_key(up: &Up, backend: Backend) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hanko"));
    cmd.args(["authority", "add-verifier", "--role", "counter", "--name", "test counter", "--json", "--data-dir"])
        .arg(up.dir.join("authority"));
    if backend == Backend::Postgres {
        let base = std::env::var("HANKO_TEST_POSTGRES").unwrap();
        let tag: String =
            up.dir.file_name().unwrap().to_str().unwrap().chars().filter(char::is_ascii_alphanumeric).collect();
        let sep = if base.contains('?') { '&' } else { '?' };
        cmd.arg("--database").arg(format!("{base}{sep}hanko_schema=t{tag}_authority"));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["api_key"].as_str().unwrap().to_owned()
}

/// 架空　一 opens an account, loses his card (the counter holds its certificates) and gets a new
/// card: a login with it finds no account (a new person to the platform, a new `sub`); the
/// recovery matches the verified name, birth date and sex to his account and binds the new card;
/// he then logs in with the new card. A person without an account is not found.
async fn recover_after_a_new_card(backend: Backend) {
    let up = Up::start(backend);
    let old = up.card_of("架空");
    let person = person_of(&up, &old);
    let browser = Browser::new();
    let record = open_account(&up, &browser, &old, "自営業", "事業費決済").await;
    let number = element(&record.body, "account-number").unwrap();
    browser.post(&format!("{}/logout", up.bank), &[]).await;

    // The counter: the loss, then a new card.
    let key = counter_key(&up, backend);
    let authority = up.ready["urls"]["authority"].as_str().unwrap();
    let (status, body) = send(
        up.http
            .post(format!("{authority}/v1/counter/persons/{person}/events"))
            .bearer_auth(&key)
            .json(&json!({"kind": "card-lost", "card_id": old})),
    )
    .await;
    assert!((200..300).contains(&status), "{status} {body}");
    let (status, issued) = send(
        up.http
            .post(format!("{authority}/v1/counter/persons/{person}/cards"))
            .bearer_auth(&key)
            .json(&json!({"sign_password": "HANKO2026", "auth_pin": "1234"})),
    )
    .await;
    assert!((200..300).contains(&status), "{status} {issued}");
    let new = issued["card_id"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    // Recovery by facts needs the old card to be unusable as the platform sees it: before the
    // next CRL it still looks valid, and the bank refuses (the holder may still have it).
    let early = recover(&up, &browser, &new).await;
    assert_eq!(early.status, 404, "{early:?}");
    assert!(element(&early.body, "not-recovered").unwrap().contains("自動で復旧できません"), "{}", early.body);
    // The console's sync: the authority publishes the CRL, the platform fetches it.
    let operator = Browser::new();
    operator.follow(operator.get(&up.console).await).await;
    let console = up.ready["urls"]["console"].as_str().unwrap();
    let synced = operator.post(&format!("{console}/sync"), &[]).await;
    assert_eq!(synced.status, 303, "{synced:?}");

    // A login with the new card: no account yet.
    let start = browser.post(&format!("{}/login", up.bank), &[]).await;
    let page = browser.through_app(&up, start, Some(&new)).await;
    assert!(page.body.contains("口座が見つかりません"), "{}", page.body);

    let me = recover(&up, &browser, &new).await;
    assert!(me.url.ends_with("/me"), "{me:?}");
    assert!(element(&me.body, "recovered").is_some(), "{}", me.body);
    assert!(me.body.contains(&number), "{}", me.body);

    browser.post(&format!("{}/logout", up.bank), &[]).await;
    let start = browser.post(&format!("{}/login", up.bank), &[]).await;
    let me = browser.through_app(&up, start, Some(&new)).await;
    assert!(me.url.ends_with("/me") && me.body.contains(&number), "{me:?}");

    // Nobody else is found by a recovery: 見本　太郎 has no account.
    let other = Browser::new();
    let page = recover(&up, &other, &up.card_of("見本　太郎")).await;
    assert_eq!(page.status, 404, "{page:?}");
    assert!(element(&page.body, "not-recovered").is_some(), "{}", page.body);
}
on_both!(recover_after_a_new_card, recover_after_a_new_card);
