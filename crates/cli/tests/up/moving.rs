//! The move (case 16): a consented customer moves at the municipal counter; the platform's
//! webhook tells the bank, with the new address; the customer's page and the staff dashboard
//! show 「異動あり」. And the webhook receiver's refusals: a wrong signature, a stale timestamp,
//! a changed body; a redelivered event is stored once.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::common::*;

/// Standard Webhooks headers for `body` under `secret` (`whsec_…`), as the platform sends them.
fn signed_headers(secret: &str, id: &str, timestamp: i64, body: &str) -> Vec<(&'static str, String)> {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let tag = aws_lc_rs::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", format!("v1,{}", B64.encode(tag.as_ref()))),
    ]
}

async fn deliver(up: &Up, headers: &[(&'static str, String)], body: &str) -> (u16, Value) {
    let mut request = up.http.post(format!("{}/hooks/platform", up.bank)).header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    send(request.body(body.to_owned())).await
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// 試験　花子 opens an account and consents; the operator records her move at the console; the
/// sync delivers the platform's `facts_changed` webhook with the latest facts: `/me` shows
/// 異動あり and the new address, the staff dashboard shows the badge on her account and the
/// event. Then the receiver as an attacker and a redelivering platform would meet it.
async fn the_move_reaches_the_bank(backend: Backend) {
    let up = Up::start(backend);
    let browser = Browser::new();
    let card = up.card_of("試験");
    let number = open_account(&up, &browser, &card).await;
    let start = browser.post(&format!("{}/me/consent", up.bank), &[]).await;
    let done = browser.through_app(&up, start, Some(&card)).await;
    assert!(element(&done.body, "consent-done").is_some(), "{}", done.body);
    let me = browser.get(&format!("{}/me", up.bank)).await;
    assert!(element(&me.body, "changed").is_none(), "{}", me.body);

    // The municipal counter: the console signs in with its token, then the move button.
    let console = browser.follow(browser.get(&up.console).await).await;
    assert_eq!(console.status, 200, "{console:?}");
    let console_base = up.console.split("/?").next().unwrap().to_owned();
    let person = up.resident("試験")["person_id"].as_str().unwrap().to_owned();
    let moved = browser.post(&format!("{console_base}/residents/{person}/move"), &[]).await;
    assert_eq!(moved.status, 303, "{moved:?}");
    let moved = browser.follow(moved).await;
    // The console writes its attributes unquoted.
    let report = moved.body.split("id=done>").nth(1).and_then(|r| r.split("</p>").next());
    let report = report.unwrap_or_else(|| panic!("{}", moved.body));
    assert!(report.contains("転居を記録しました"), "{report}");
    assert!(report.contains("1 delivered"), "the sync delivered the webhook: {report}");
    let new_address = report.split("新住所 ").nth(1).unwrap().split('）').next().unwrap().to_owned();

    let me = browser.get(&format!("{}/me", up.bank)).await;
    let changed = element(&me.body, "changed").unwrap_or_else(|| panic!("no 異動あり: {}", me.body));
    assert!(changed.contains("異動あり"), "{changed}");
    assert!(me.body.contains(&new_address), "the new address {new_address} on /me: {}", me.body);
    let english = browser.get(&format!("{}/me?lang=en", up.bank)).await;
    let changed = element(&english.body, "changed").unwrap();
    assert!(changed.contains("Facts changed") && changed.contains("address was updated"), "{changed}");
    assert!(!changed.contains("異動"), "{changed}");
    browser.get(&format!("{}/me?lang=ja", up.bank)).await;

    let staff = Browser::new();
    let dashboard = staff.follow(staff.get(up.ready["staff"].as_str().unwrap()).await).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    let badge = element(&dashboard.body, &format!("changed-{number}")).unwrap_or_else(|| panic!("{}", dashboard.body));
    assert!(badge.contains("異動あり"), "{badge}");
    assert!(element(&dashboard.body, &format!("changed-at-{number}")).unwrap().starts_with("20"));
    assert!(element(&dashboard.body, &format!("account-{number}")).is_some());
    assert!(dashboard.body.contains(&new_address));
    let events = dashboard.body.split("id=\"events\"").nth(1).unwrap();
    assert!(events.contains("facts_changed") && events.contains(&number), "{}", dashboard.body);

    // The stored event keeps no facts (they are on the account).
    let store = up.bank_store().await;
    let events = store.events(50).await.unwrap();
    let (event_id, kind, _, _) = events.iter().find(|e| e.1 == "facts_changed").unwrap().clone();
    assert_eq!(kind, "facts_changed");
    let body: String = hanko_store::sqlx::query_scalar("SELECT body FROM bank_events WHERE id = $1")
        .bind(&event_id)
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    assert!(!body.contains(&new_address), "{body}");

    // A wrong signature, a replayed (stale) delivery, a changed body: 401, nothing stored.
    let secret = store.setting("webhook_secret").await.unwrap().unwrap();
    let user = body.split("\"user_id\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let event = json!({"id": "evt_test_lost", "type": "lost", "created_at": "2026-12-06T00:00:00Z", "user_id": user,
                       "data": {"meaning": "lost", "reason": "certificateHold"}})
    .to_string();
    let forged = signed_headers(&format!("whsec_{}", B64.encode([7u8; 32])), "evt_test_lost", now(), &event);
    assert_eq!(deliver(&up, &forged, &event).await.0, 401);
    let stale = signed_headers(&secret, "evt_test_lost", now() - 3600, &event);
    assert_eq!(deliver(&up, &stale, &event).await.0, 401);
    let good = signed_headers(&secret, "evt_test_lost", now(), &event);
    assert_eq!(deliver(&up, &good, &event.replace("lost\"", "revoked\"")).await.0, 401);
    assert_eq!(deliver(&up, &[], &event).await.0, 401);
    assert!(store.events(50).await.unwrap().iter().all(|e| e.0 != "evt_test_lost"));

    // Delivered twice (at least once): stored once, the second time without effect.
    let (status, answer) = deliver(&up, &good, &event).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("stored")), "{answer}");
    let first = store.account_by_user(&user).await.unwrap().unwrap();
    assert!(first.change_note.as_deref().unwrap().contains("紛失"), "{first:?}");
    hanko_store::sqlx::query("UPDATE bank_accounts SET change_note = 'probe' WHERE platform_user_id = $1")
        .bind(&user)
        .execute(store.db().pool())
        .await
        .unwrap();
    let again = signed_headers(&secret, "evt_test_lost", now(), &event);
    let (status, answer) = deliver(&up, &again, &event).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("duplicate")), "{answer}");
    let events = store.events(50).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.0 == "evt_test_lost").count(), 1);
    let after = store.account_by_user(&user).await.unwrap().unwrap();
    assert_eq!(after.change_note.as_deref(), Some("probe"), "a redelivery changes nothing");
}
on_both!(the_move_reaches_the_bank, the_move_reaches_the_bank);
