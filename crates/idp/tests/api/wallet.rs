//! The web wallet (`/app/requests/{id}`) driven over HTTP as a browser would: the form, the
//! emulated card behind it, the messages, CSRF, the PC flow's other device and status, the
//! test-card substitute page. (Headless Chromium walks the same pages in `browser.rs`.)

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_card::{PinStatus, Slot};
use hanko_pki::time::Duration;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde_json::{json, Value};

use crate::common::*;

/// Whether `secret` is written into the page as text or as an input's value. (A bare substring
/// test would also find it by chance inside the random ids, tokens and the QR code's SVG.)
pub fn echoes(html: &str, secret: &str) -> bool {
    html.contains(&format!("value=\"{secret}\""))
        || html.contains(&format!(">{secret}<"))
        || html.contains(&format!(" {secret} "))
}

/// The CSRF token in a wallet page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("the page has a CSRF token") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// A wallet page: (status, the device cookie it set, the HTML).
pub async fn wallet_get(eco: &Eco, id: &str, cookie: Option<&str>) -> (u16, Option<String>, String) {
    let (status, headers, body) = eco.get_raw(&format!("{}/app/requests/{id}", eco.i), cookie).await;
    let device = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("hanko_device_"));
    (status, device, body)
}

/// POSTs the wallet form: (status, Location, HTML).
pub async fn wallet_post(
    eco: &Eco,
    id: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let mut req = eco.http.post(format!("{}/app/requests/{id}", eco.i)).form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, location, resp.text().await.unwrap())
}

async fn status_of(eco: &Eco, id: &str) -> String {
    let (status, body) = send(eco.http.get(format!("{}/app/requests/{id}/status", eco.i))).await;
    assert_eq!(status, 200, "{body}");
    body["status"].as_str().unwrap().to_owned()
}

/// Starts a login of `rp` for `scope`: (flow, request id, the flow cookie).
async fn start(eco: &Eco, rp: &Rp, scope: &str) -> (Flow, String, String) {
    let flow = rp.start(scope);
    let (status, location, cookie) = eco.authorize(&flow.params(rp)).await;
    assert_eq!(status, 303, "{location}");
    (flow, request_id(&location), cookie.unwrap())
}

async fn exchange(eco: &Eco, rp: &Rp, flow: &Flow, code: &str) -> Value {
    let assertion = rp.assertion(&eco.issuer());
    let (status, tokens) = eco
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &rp.redirect_uri),
            ("code_verifier", &flow.verifier),
            ("client_assertion_type", hanko_idp::JWT_BEARER),
            ("client_assertion", &assertion),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn userinfo(eco: &Eco, tokens: &Value) -> Value {
    let (status, info) = send(
        eco.http
            .get(format!("{}/protocol/openid-connect/userinfo", eco.issuer()))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    info
}

async fn the_wallet_logs_in_with_the_card_and_the_same_pin_shortcut(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000001", json!({})).await;
    let (flow, id, cookie) = start(&eco, &rp, "openid name birthdate user_certificate").await;

    let (status, device, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    assert_eq!(status, 200, "{html}");
    assert!(device.is_none(), "the starting browser is bound by its flow cookie");
    assert!(html.contains("テストRP RP00000001"), "the client's name");
    for shared in ["name", "birthdate", "user_certificate"] {
        assert!(html.contains(&format!("data-share=\"{shared}\"")), "{shared} is said to be shared");
    }
    for not_shared in ["address", "gender", "my_number"] {
        assert!(!html.contains(&format!("data-share=\"{not_shared}\"")), "{not_shared} is not asked");
    }
    assert!(html.contains(&card) && html.contains("見＊＊＊"), "card id and masked holder hint");
    assert!(!html.contains("見本 花子") && !html.contains("花子"), "never the holder's name");
    assert!(html.contains("id=\"assist_pin\"") && html.contains("id=\"same_pin\""), "the input-assist PIN");
    assert!(html.contains("<svg") && html.contains(&format!("{}/app/requests/{id}", eco.i)), "the PC flow QR");
    assert_eq!(status_of(&eco, &id).await, "pending");

    let csrf = csrf_of(&html);
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", &card), ("pin", "1234"), ("same_pin", "1")];
    let (status, location, body) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("/app/requests/{id}/continue"));
    assert_eq!(status_of(&eco, &id).await, "approved");
    let (status, pairs, location) = eco.continue_flow(&id, &cookie).await;
    assert_eq!(status, 302, "{location}");
    assert_eq!(pairs["state"], flow.state);
    let tokens = exchange(&eco, &rp, &flow, &pairs["code"]).await;
    let info = userinfo(&eco, &tokens).await;
    assert_eq!(info["name"], "見本 花子");
    assert_eq!(info["birthdate"], "19850315");
    assert!(info.get("address").is_none());
    let cert = B64.decode(info["user_certificate"].as_str().unwrap()).unwrap();
    assert_eq!(cert, eco.card(&card).read_certificate(Slot::Auth).unwrap(), "the card's auth certificate");
}
on_both!(wallet_login, the_wallet_logs_in_with_the_card_and_the_same_pin_shortcut);

async fn a_wrong_pin_says_the_tries_left_then_locked_then_cancel_is_access_denied(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 一郎", "319800101").await;
    let rp = eco.rp("RP00000001", json!({})).await;
    let (flow, id, cookie) = start(&eco, &rp, "openid").await;
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    let csrf = csrf_of(&html);
    let PinStatus::Tries(tries) = eco.card(&card).pin_status(Slot::Auth).unwrap() else { panic!("blocked") };

    // A PIN of the wrong shape costs no try.
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", &card), ("pin", "12a")];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 400);
    assert!(html.contains("4 digits"), "{html}");
    assert_eq!(eco.card(&card).pin_status(Slot::Auth).unwrap(), PinStatus::Tries(tries));

    for left in (0..tries).rev() {
        let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", &card), ("pin", "9876")];
        let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
        assert_eq!(status, 400, "{html}");
        assert!(!echoes(&html, "9876"), "the PIN is never echoed");
        assert!(html.contains(&format!("value=\"{card}\" required checked")), "the chosen card stays chosen");
        if left > 0 {
            assert!(html.contains(&format!("あと{left}回")) && html.contains(&format!("{left} tries left")), "{html}");
        } else {
            assert!(html.contains("ロックされています") && html.contains("is locked"), "{html}");
        }
    }
    assert_eq!(eco.card(&card).pin_status(Slot::Auth).unwrap(), PinStatus::Blocked);
    // The right PIN now: still locked, no try spent, said so.
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", &card), ("pin", "1234")];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 400);
    assert!(html.contains("ロックされています"), "{html}");
    assert_eq!(status_of(&eco, &id).await, "pending");

    let (status, location, _) =
        wallet_post(&eco, &id, Some(&cookie), &[], &[("csrf", csrf.as_str()), ("action", "cancel")]).await;
    assert_eq!((status, location.as_str()), (303, format!("/app/requests/{id}/continue").as_str()));
    let (status, pairs, _) = eco.continue_flow(&id, &cookie).await;
    assert_eq!(status, 302);
    assert_eq!(pairs["error"], "access_denied");
    assert_eq!(pairs["state"], flow.state);
}
on_both!(wallet_wrong_pin, a_wrong_pin_says_the_tries_left_then_locked_then_cancel_is_access_denied);

async fn the_wallet_refuses_cross_site_and_cookieless_posts(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 二郎", "319800101").await;
    let rp = eco.rp("RP00000001", json!({})).await;
    let (_, id, cookie) = start(&eco, &rp, "openid").await;
    let (_, id2, cookie2) = start(&eco, &rp, "openid").await;
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    let csrf = csrf_of(&html);
    let (_, _, html2) = wallet_get(&eco, &id2, Some(&cookie2)).await;
    let csrf2 = csrf_of(&html2);
    let tries = eco.card(&card).pin_status(Slot::Auth).unwrap();
    let good = [("csrf", csrf.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let other_token = [("csrf", csrf2.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let no_token = [("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let origin = eco.i.clone();
    type Attempt<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, &'a [(&'a str, &'a str)]);
    let attempts: Vec<Attempt<'_>> = vec![
        ("no cookie", None, vec![], &good),
        ("no token", Some(&cookie), vec![], &no_token),
        ("another request's token", Some(&cookie), vec![], &other_token),
        ("another request's cookie", Some(&cookie2), vec![], &good),
        ("cross-site Origin", Some(&cookie), vec![("origin", "https://evil.example")], &good),
        ("null Origin", Some(&cookie), vec![("origin", "null")], &good),
        ("Sec-Fetch-Site cross-site", Some(&cookie), vec![("sec-fetch-site", "cross-site")], &good),
        ("Sec-Fetch-Site same-site", Some(&cookie), vec![("sec-fetch-site", "same-site")], &good),
    ];
    for (what, c, headers, form) in attempts {
        let (status, _, html) = wallet_post(&eco, &id, c, &headers, form).await;
        assert_eq!(status, 403, "{what}: {html}");
        assert!(!echoes(&html, "1234"), "{what}");
    }
    assert_eq!(status_of(&eco, &id).await, "pending", "nothing was approved");
    assert_eq!(eco.card(&card).pin_status(Slot::Auth).unwrap(), tries, "the card was not touched");
    // The same form from this origin goes through.
    let (status, _, html) =
        wallet_post(&eco, &id, Some(&cookie), &[("origin", &origin), ("sec-fetch-site", "same-origin")], &good).await;
    assert_eq!(status, 303, "{html}");
}
on_both!(wallet_csrf, the_wallet_refuses_cross_site_and_cookieless_posts);

async fn another_device_approves_with_the_id_and_the_first_browser_continues(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 三郎", "319800101").await;
    let rp = eco.rp("RP00000001", json!({})).await;
    let (flow, id, cookie) = start(&eco, &rp, "openid").await;
    // The phone opens the QR code's URL: no flow cookie; the page binds itself with a device cookie.
    let (status, device, html) = wallet_get(&eco, &id, None).await;
    assert_eq!(status, 200, "{html}");
    let device = device.expect("a device cookie");
    assert!(!html.contains("id=\"pc\""), "no QR code on the other device");
    assert!(!html.contains("data-continue"), "the other device does not continue to the client");
    let csrf = csrf_of(&html);
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let (status, _, html) = wallet_post(&eco, &id, Some(&device), &[], &form).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("承認しました"), "{html}");
    assert_eq!(status_of(&eco, &id).await, "approved");
    // The other device cannot continue; the first browser can.
    let (status, _, _) = eco.continue_flow(&id, &device).await;
    assert_eq!(status, 403);
    let (status, pairs, _) = eco.continue_flow(&id, &cookie).await;
    assert_eq!(status, 302);
    assert!(pairs.contains_key("code"));
    exchange(&eco, &rp, &flow, &pairs["code"]).await;
}
on_both!(wallet_other_device, another_device_approves_with_the_id_and_the_first_browser_continues);

async fn held_and_revoked_certificates_and_expired_requests_are_said_on_the_page(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (lost_person, lost) = eco.person_with_card("見本 四郎", "319800101").await;
    let (dead_person, dead) = eco.person_with_card("見本 五郎", "319800101").await;
    eco.event(&lost_person, json!({"kind": "card-lost", "card_id": lost})).await;
    eco.event(&dead_person, json!({"kind": "death"})).await;
    eco.publish_and_refresh().await;
    let rp = eco.rp("RP00000001", json!({})).await;
    for (card, ja, en) in [(&lost, "一時保留", "held"), (&dead, "失効", "revoked")] {
        let (flow, id, cookie) = start(&eco, &rp, "openid").await;
        let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
        let form =
            [("csrf", csrf_of(&html)), ("action", "approve".into()), ("card", card.clone()), ("pin", "1234".into())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains(ja) && html.contains(en), "{en}: {html}");
        assert!(html.contains(&format!("/app/requests/{id}/continue")), "a way back to the service");
        assert_eq!(status_of(&eco, &id).await, "failed");
        let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
        assert_eq!(pairs["error"], "access_denied");
        assert!(pairs["error_description"].contains(en));
        assert_eq!(pairs["state"], flow.state);
    }

    let (_, card) = eco.person_with_card("見本 六郎", "319800101").await;
    let (_, id, cookie) = start(&eco, &rp, "openid").await;
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    let csrf = csrf_of(&html);
    eco.clock.advance(Duration::minutes(11));
    assert_eq!(status_of(&eco, &id).await, "expired");
    let (status, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    assert_eq!(status, 410);
    assert!(html.contains("有効期限が切れました") && html.contains("expired"), "{html}");
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 410, "{html}");
    let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
    assert_eq!(pairs["error"], "access_denied");
}
on_both!(wallet_refusals, held_and_revoked_certificates_and_expired_requests_are_said_on_the_page);

/// A sign transaction of `rp` over SHA-256("a contract"): the bare hash, or its DigestInfo.
/// The card signs the bytes as given: (the transaction id, those bytes).
async fn sign_transaction(eco: &Eco, rp: &Rp, bare: bool) -> (String, Vec<u8>) {
    let assertion = rp.assertion(&eco.issuer());
    let (status, cc) = eco
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "sign"),
            ("client_assertion_type", hanko_idp::JWT_BEARER),
            ("client_assertion", &assertion),
        ])
        .await;
    assert_eq!(status, 200, "{cc}");
    let di = if bare {
        DigestAlgorithm::Sha256.digest(b"a contract").to_vec()
    } else {
        DigestInfo::of(DigestAlgorithm::Sha256, b"a contract").to_der().unwrap()
    };
    let (status, tx) = send(
        eco.http
            .post(format!("{}/api/sign-transactions", eco.i))
            .bearer_auth(cc["access_token"].as_str().unwrap())
            .json(&json!({"digest": B64.encode(&di)})),
    )
    .await;
    assert_eq!(status, 201, "{tx}");
    (tx["sign_transaction_id"].as_str().unwrap().to_owned(), di)
}

async fn the_wallet_signs_with_the_signature_password(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 七子", "419900202").await;
    let rp = eco.rp("RP00000001", json!({"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}})).await;
    let (tx, di) = sign_transaction(&eco, &rp, true).await;
    let mut flow = rp.start("openid sign");
    flow.scope = "openid sign".into();
    let mut params = flow.params(&rp);
    params.push(("sign_transaction_id", &tx));
    let (status, location, cookie) = eco.authorize(&params).await;
    assert_eq!(status, 303, "{location}");
    let (id, cookie) = (request_id(&location), cookie.unwrap());
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    let hash = hex::encode(DigestAlgorithm::Sha256.digest(b"a contract"));
    assert!(html.contains(&hash), "the document's hash is shown");
    assert!(html.contains("data-share=\"signature\"") && html.contains("minlength=\"6\""), "{html}");
    let csrf = csrf_of(&html);
    // A 4-digit PIN is not a signature password: refused before the card.
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 400);
    assert!(html.contains("6–16"), "{html}");
    // Lower case is the same password (the card's are upper case).
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "hanko2026")];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 303, "{html}");
    let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
    let tokens = exchange(&eco, &rp, &flow, &pairs["code"]).await;
    let (status, result) = send(
        eco.http
            .get(format!("{}/api/sign-transactions/{tx}/result", eco.i))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["sign_certificate_jwe"].as_str().unwrap().split('.').count(), 5);
    // The card signed exactly the transaction's bytes.
    let stored = eco.idp.store().sign_tx(&tx).await.unwrap().unwrap();
    assert_eq!(stored.data, di);
    assert!(stored.result.is_some() && ["signed", "fetched"].contains(&stored.status.as_str()), "{}", stored.status);
}
on_both!(wallet_sign, the_wallet_signs_with_the_signature_password);

async fn the_substitute_page_answers_normal_with_a_test_card_or_an_error(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 八子", "419900202").await;
    let rp = eco.rp("RP00000009", json!({"substitute": true})).await;
    // The substitute completes with the PIN and password the sandbox issues test cards with.
    assert_eq!(hanko_idp::TEST_PIN.as_bytes(), PIN);
    assert_eq!(hanko_idp::TEST_PASSWORD.as_bytes(), PASSWORD);

    // 正常 + the test card: completed with its default PIN, the 4 facts read.
    let (flow, id, cookie) = start(&eco, &rp, "openid name gender").await;
    let (status, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("認証API/署名APIテストレスポンス設定画面"), "{html}");
    assert!(!html.contains("id=\"pin\"") && !html.contains("id=\"approve\""), "no card UI");
    assert!(!html.contains("id=\"pc\""), "no QR code");
    // Exclusive: not through the app API, not through the wallet's approve.
    let certificate = B64.encode(eco.card(&card).read_certificate(Slot::Auth).unwrap());
    let (status, body) = send(
        eco.http
            .post(format!("{}/api/app/requests/{id}/approval", eco.i))
            .json(&json!({"certificate": certificate, "signature": B64.encode([1u8; 256])})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let csrf = csrf_of(&html);
    let approve = [("csrf", csrf.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let (status, _, _) = wallet_post(&eco, &id, Some(&cookie), &[], &approve).await;
    assert_eq!(status, 403);
    let form = [("csrf", csrf.as_str()), ("action", "substitute"), ("outcome", "normal"), ("card", card.as_str())];
    let (status, location, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 303, "{html}");
    assert_eq!(location, format!("/app/requests/{id}/continue"));
    let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
    let tokens = exchange(&eco, &rp, &flow, &pairs["code"]).await;
    let info = userinfo(&eco, &tokens).await;
    assert_eq!(info["name"], "見本 八子");
    assert_eq!(info["gender"], "2");

    // 異常 + each error.
    for (choice, error, says) in [
        ("cancelled", "access_denied", "cancelled"),
        ("revoked", "access_denied", "revoked"),
        ("held", "access_denied", "held"),
        ("pin_locked", "access_denied", "locked"),
        ("unavailable", "temporarily_unavailable", "unavailable"),
    ] {
        let (flow, id, cookie) = start(&eco, &rp, "openid").await;
        let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
        let form = [
            ("csrf", csrf_of(&html)),
            ("action", "substitute".into()),
            ("outcome", "error".into()),
            ("error", choice.into()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
        assert_eq!(status, 303, "{choice}: {html}");
        let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
        assert_eq!(pairs["error"], error, "{choice}");
        assert!(pairs["error_description"].contains(says), "{choice}: {pairs:?}");
        assert_eq!(pairs["state"], flow.state);
    }

    // The signature API through the substitute: 正常 signs with the test card's password.
    let rp = eco
        .rp("RP00000010", json!({"substitute": true, "sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}}))
        .await;
    let (tx, _) = sign_transaction(&eco, &rp, false).await;
    let flow = rp.start("openid sign");
    let mut params = flow.params(&rp);
    params.push(("sign_transaction_id", &tx));
    let (_, location, cookie) = eco.authorize(&params).await;
    let (id, cookie) = (request_id(&location), cookie.unwrap());
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    assert!(html.contains("認証API/署名APIテストレスポンス設定画面"));
    let csrf = csrf_of(&html);
    let form = [("csrf", csrf.as_str()), ("action", "substitute"), ("outcome", "normal"), ("card", card.as_str())];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 303, "{html}");
    let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
    assert!(pairs.contains_key("code"), "{pairs:?}");
    exchange(&eco, &rp, &flow, &pairs["code"]).await;
    assert_eq!(eco.idp.store().sign_tx(&tx).await.unwrap().unwrap().status, "signed");
}
on_both!(wallet_substitute, the_substitute_page_answers_normal_with_a_test_card_or_an_error);

async fn the_my_number_needs_the_input_assist_pin_typed_or_the_shortcut(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 九子", "419900202").await;
    let rp = eco.rp("RP00000011", json!({"my_number_purpose": "番号法別表 第一 項（試験）"})).await;
    let (flow, id, cookie) = start(&eco, &rp, "openid gender my_number").await;
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    assert!(html.contains("data-share=\"my_number\"") && html.contains("data-share=\"gender\""));
    let csrf = csrf_of(&html);
    // Neither the input-assist PIN nor the shortcut: refused before the card.
    let form = [("csrf", csrf.as_str()), ("action", "approve"), ("card", card.as_str()), ("pin", "1234")];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 400);
    assert!(html.contains("Enter the input-assist PIN"), "{html}");
    // A wrong input-assist PIN: said with its tries left, not echoed.
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("card", card.as_str()),
        ("pin", "1234"),
        ("assist_pin", "9753"),
    ];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 400);
    assert!(html.contains("input-assist PIN") && html.contains("tries left"), "{html}");
    assert!(!echoes(&html, "9753"));
    assert_eq!(status_of(&eco, &id).await, "pending");
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("card", card.as_str()),
        ("pin", "1234"),
        ("assist_pin", "1234"),
    ];
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 303, "{html}");
    let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
    let tokens = exchange(&eco, &rp, &flow, &pairs["code"]).await;
    let info = userinfo(&eco, &tokens).await;
    let number = eco.card(&card).read_my_number(hanko_card::AccessCode::Pin(PIN)).unwrap();
    assert_eq!(info["my_number"].as_str().unwrap().as_bytes(), number.expose());
    assert_eq!(info["gender"], "2");
}
on_both!(wallet_my_number, the_my_number_needs_the_input_assist_pin_typed_or_the_shortcut);

async fn a_phone_in_the_wallet_logs_in_where_phones_are_accepted(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 十子", "419900202").await;
    let phone = crate::devices::enrol_phone(&eco, &card).await;
    let either = eco.rp("RP00000012", json!({})).await;
    let card_only = eco.rp("RP00000013", json!({"devices": "card"})).await;

    let (flow, id, cookie) = start(&eco, &either, "openid").await;
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    assert!(html.contains(&phone) && html.contains("スマートフォン / Android"), "{html}");
    let form =
        [("csrf", csrf_of(&html)), ("action", "approve".into()), ("card", phone.clone()), ("pin", "1234".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 303, "{html}");
    let (_, pairs, _) = eco.continue_flow(&id, &cookie).await;
    let tokens = exchange(&eco, &either, &flow, &pairs["code"]).await;
    let id_token = tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap().to_owned();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id_token).unwrap()).unwrap();
    assert_eq!(claims["amr"][0], "phone", "{claims}");

    let (_, id, cookie) = start(&eco, &card_only, "openid").await;
    let (_, _, html) = wallet_get(&eco, &id, Some(&cookie)).await;
    let form =
        [("csrf", csrf_of(&html)), ("action", "approve".into()), ("card", phone.clone()), ("pin", "1234".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, html) = wallet_post(&eco, &id, Some(&cookie), &[], &form).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("承認できませんでした") && html.contains("card only"), "{html}");
}
on_both!(wallet_phone, a_phone_in_the_wallet_logs_in_where_phones_are_accepted);
