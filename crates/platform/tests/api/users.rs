//! The UserService and CertificateService (issue 9 item 2): a user and its certificates, the
//! list, deletion, 現況確認 (liveness), a certificate's status, the status history; each route
//! with the wrong tenant's key (404, as an unknown id) and the admin key (403).

use serde_json::{json, Value};

use crate::common::{Backend, Eco, Sp};
use crate::identity::{login, signed, CARD_PASSWORD, CARD_PIN};
use crate::on_both;

/// Every user route for user `id`: (method, path, body).
fn user_routes(id: &str, certificate: &str) -> Vec<(&'static str, String, Value)> {
    vec![
        ("GET", format!("/v1/users/{id}"), Value::Null),
        ("POST", format!("/v1/users/{id}/liveness"), json!({})),
        ("GET", format!("/v1/users/{id}/status-history"), Value::Null),
        ("DELETE", format!("/v1/users/{id}"), Value::Null),
        ("GET", "/v1/users".to_owned(), Value::Null),
        (
            "POST",
            "/v1/certificates/status".to_owned(),
            json!({"certificate": certificate, "check_purpose": "liveness_check"}),
        ),
    ]
}

async fn send(eco: &Eco, method: &str, path: &str, key: &str, body: &Value) -> (u16, Value) {
    match method {
        "GET" => eco.p.get(path, key).await,
        "DELETE" => eco.p.delete(path, key).await,
        _ => eco.p.post(path, key, body.clone()).await,
    }
}

fn types(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["certificate_type"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()))
        .collect();
    out.sort();
    out
}

async fn user_of(eco: &Eco, sp: &Sp, card: &str) -> String {
    let out = signed(eco, sp, card, CARD_PASSWORD, b"doc").await;
    assert_eq!(out["result"], "OK", "{out}");
    out["user_id"].as_str().unwrap().to_owned()
}

/// A user shows its certificates' types and statuses — serials only outside sensitive-data
/// mode; liveness answers per certificate type with the revocation's meaning and lands in the
/// status history; the list pages.
async fn the_user_service_answers_per_certificate_type_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let open = eco.tenant("SPOPEN", json!({"sensitive": false})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let (_, card2) = eco.person_with_card("見本　次郎", "1990-06-15").await;
    let u = user_of(&eco, &sp, &card).await;
    let u2 = user_of(&eco, &sp, &card2).await;
    let o = user_of(&eco, &open, &card).await;

    let (status, view) = eco.p.get(&format!("/v1/users/{u}"), &sp.key).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["id"], u.as_str());
    assert_eq!(
        types(&view),
        vec![
            ("JPKI_CARD_DIGITAL_SIGNATURE".to_owned(), "valid".to_owned()),
            ("JPKI_CARD_USER_AUTHENTICATION".to_owned(), "valid".to_owned()),
        ],
        "{view}"
    );
    let text = view.to_string();
    assert!(!text.contains("serial"), "sensitive mode: no serials: {view}");
    let (_, open_view) = eco.p.get(&format!("/v1/users/{o}"), &open.key).await;
    assert!(open_view["certificates"][0]["serial"].is_string(), "{open_view}");

    // Liveness now: both valid.
    let (status, live) = eco.p.post(&format!("/v1/users/{u}/liveness"), &sp.key, json!({})).await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["any_valid"], true);
    assert_eq!(types(&live).iter().filter(|(_, s)| s == "valid").count(), 2, "{live}");

    // The card is lost: both certificates on hold (certificateHold → lost).
    eco.event(&person, json!({"kind": "card-lost", "card_id": card})).await;
    eco.publish_and_refresh().await;
    let (status, live) = eco.p.post(&format!("/v1/users/{u}/liveness"), &sp.key, json!({})).await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["any_valid"], false, "{live}");
    for c in live["certificates"].as_array().unwrap() {
        assert_eq!(c["status"], "revoked", "{live}");
        assert_eq!(c["revocation"]["reason"], "certificateHold", "{live}");
        assert_eq!(c["revocation"]["meaning"], "lost", "{live}");
    }
    assert!(!live.to_string().contains("serial"), "{live}");

    // The status history: 4 liveness checks (2 certificates × 2), newest first.
    let (status, history) = eco.p.get(&format!("/v1/users/{u}/status-history"), &sp.key).await;
    assert_eq!(status, 200, "{history}");
    let checks = history["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 4, "{history}");
    assert!(checks.iter().all(|c| c["check_purpose"] == "liveness_check"), "{history}");
    assert_eq!(checks[0]["status"], "revoked", "{history}");
    assert_eq!(checks[3]["status"], "valid", "{history}");
    let (status, _) = eco.p.get(&format!("/v1/users/{u}/status-history?limit=0"), &sp.key).await;
    assert_eq!(status, 400);

    // The list: pages of `limit`, bounded.
    let (status, page) = eco.p.get("/v1/users?limit=1", &sp.key).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    let next = page["next_after"].as_str().unwrap();
    let (_, page2) = eco.p.get(&format!("/v1/users?limit=1&after={next}"), &sp.key).await;
    assert_eq!(page2["users"].as_array().unwrap().len(), 1, "{page2}");
    let mut seen = vec![page["users"][0]["id"].clone(), page2["users"][0]["id"].clone()];
    seen.sort_by_key(|v| v.to_string());
    let mut want = vec![json!(u), json!(u2)];
    want.sort_by_key(|v| v.to_string());
    assert_eq!(seen, want);
    let (_, page3) =
        eco.p.get(&format!("/v1/users?limit=1&after={}", page2["next_after"].as_str().unwrap()), &sp.key).await;
    assert_eq!(page3["users"].as_array().unwrap().len(), 0, "{page3}");
    assert!(page3["next_after"].is_null());
    let (_, later) = eco.p.get("/v1/users?created_from=2027-01-01T00:00:00Z", &sp.key).await;
    assert_eq!(later["users"].as_array().unwrap().len(), 0, "{later}");
    for bad in ["/v1/users?limit=0", "/v1/users?limit=101", "/v1/users?created_from=yesterday", "/v1/users?x=1"] {
        let (status, out) = eco.p.get(bad, &sp.key).await;
        assert_eq!(status, 400, "{bad} → {out}");
    }
}
on_both!(the_user_service_answers_per_certificate_type, the_user_service_answers_per_certificate_type_body);

/// A certificate's status now, with the purpose; recorded in the history of its user.
async fn the_certificate_service_tells_a_status_now_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let u = login(&eco, &sp, &card, CARD_PIN).await["user_id"].as_str().unwrap().to_owned();
    let (certificate, _) = eco.sign(&card, b"x");
    let path = "/v1/certificates/status";

    let (status, out) =
        eco.p.post(path, &sp.key, json!({"certificate": certificate, "check_purpose": "signature_verification"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "valid", "{out}");
    assert_eq!(out["result"], "OK");
    assert_eq!(out["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE");
    assert_eq!(out["check_method"], "crl");
    // The login bound only the auth certificate (an auth certificate has no corresponding
    // serial to ask), and a status check never creates or links a user.
    assert!(out["user_id"].is_null(), "{out}");

    // A move: the old signature certificate is revoked (facts changed).
    eco.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区架空台五丁目６番７号"})).await;
    eco.publish_and_refresh().await;
    let (status, out) =
        eco.p.post(path, &sp.key, json!({"certificate": certificate, "check_purpose": "liveness_check"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "revoked", "{out}");
    assert_eq!(out["result"], "CERTIFICATE_REVOKED");
    assert_eq!(out["reason"]["revocation"]["meaning"], "facts-changed", "{out}");
    assert!(out.get("revocation_data").is_none(), "sensitive mode: {out}");

    // The auth certificate is still valid, and the check lands in the user's history.
    let auth = eco.card(&card).read_certificate(hanko_card::Slot::Auth).unwrap();
    let auth_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, auth);
    let (status, out) =
        eco.p.post(path, &sp.key, json!({"certificate": auth_b64, "check_purpose": "liveness_check"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!((out["status"].as_str(), out["user_id"].as_str()), (Some("valid"), Some(u.as_str())), "{out}");
    let (_, history) = eco.p.get(&format!("/v1/users/{u}/status-history"), &sp.key).await;
    let checks = history["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["certificate_type"] == "JPKI_CARD_USER_AUTHENTICATION" && c["status"] == "valid"),
        "{history}"
    );

    // Bad input: 400; garbage certificate: a status, not an error.
    for bad in [
        json!({"certificate": certificate, "check_purpose": "curiosity"}),
        json!({"certificate": certificate}),
        json!({"certificate": "%%%", "check_purpose": "liveness_check"}),
    ] {
        let (status, out) = eco.p.post(path, &sp.key, bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {out}");
    }
    let (status, out) =
        eco.p.post(path, &sp.key, json!({"certificate": "Z2FyYmFnZQ==", "check_purpose": "liveness_check"})).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("unsupported")), "{out}");
}
on_both!(the_certificate_service_tells_a_status_now, the_certificate_service_tells_a_status_now_body);

/// Every user and certificate route: another tenant's key gets exactly the 404 an unknown id
/// gets (and changes nothing); the admin key gets 403.
async fn user_routes_are_tenant_scoped_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let other = eco.tenant("SPSHOP", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let u = user_of(&eco, &sp, &card).await;
    let (certificate, _) = eco.sign(&card, b"x");
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (method, path, body) in user_routes(&u, &certificate) {
        let (status, out) = send(&eco, method, &path, &eco.admin_key, &body).await;
        assert_eq!(status, 403, "{method} {path} with the admin key: {out}");
        if !path.contains(&u) {
            continue;
        }
        let (status, theirs) = send(&eco, method, &path, &other.key, &body).await;
        assert_eq!(status, 404, "{method} {path} with another tenant's key: {theirs}");
        let (status, none) = send(&eco, method, &path.replace(&u, unknown), &other.key, &body).await;
        assert_eq!(status, 404, "{method} {path} unknown: {none}");
        assert_eq!(theirs["title"], none["title"]);
        assert_eq!(
            theirs["detail"].as_str().unwrap().replace(&u, unknown),
            none["detail"].as_str().unwrap(),
            "the same answer as an unknown id"
        );
    }
    // The other tenant's list holds nothing of ours; a status check of our customer's
    // certificate at the other tenant names no user of ours.
    let (_, list) = eco.p.get("/v1/users", &other.key).await;
    assert_eq!(list["users"], json!([]), "{list}");
    let (_, out) = eco
        .p
        .post(
            "/v1/certificates/status",
            &other.key,
            json!({"certificate": certificate, "check_purpose": "liveness_check"}),
        )
        .await;
    assert!(out["user_id"].is_null(), "{out}");
    // Nothing was deleted by the other tenant's DELETE.
    let (status, _) = eco.p.get(&format!("/v1/users/{u}"), &sp.key).await;
    assert_eq!(status, 200);
}
on_both!(user_routes_are_tenant_scoped, user_routes_are_tenant_scoped_body);
