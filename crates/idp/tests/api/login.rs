//! The login (authentication API) end to end.

use serde_json::{json, Value};

use crate::common::*;

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn a_card_logs_in_and_userinfo_gives_the_facts(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000001", json!({})).await;
    let tokens = eco.login(&rp, &card, "openid name address birthdate gender").await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], eco.issuer());
    assert_eq!(id["aud"], "RP00000001", "aud is a string");
    assert!(id["at_hash"].is_string());
    assert_eq!(id["acr"], "aal3 crl");
    let (status, info) = send(
        eco.http
            .get(format!("{}/protocol/openid-connect/userinfo", eco.issuer()))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], id["sub"]);
    assert_eq!(info["name"], "見本 花子");
    assert_eq!(info["birthdate"], "19850315");
    assert_eq!(info["gender"], "2");
    assert_eq!(info["address"], "東京都見本区試験町一丁目１番１号");

    // The same person at the same RP: the same sub; at another RP: another.
    let again = eco.login(&rp, &card, "openid").await;
    assert_eq!(claims_of(again["id_token"].as_str().unwrap())["sub"], id["sub"]);
    let other = eco.rp("RP00000002", json!({})).await;
    let there = eco.login(&other, &card, "openid").await;
    assert_ne!(claims_of(there["id_token"].as_str().unwrap())["sub"], id["sub"]);
}
on_both!(card_login, a_card_logs_in_and_userinfo_gives_the_facts);
