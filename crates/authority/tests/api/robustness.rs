//! Findings of the security review (issue 8): bad input refused at the edge, one bad register
//! row never stopping publication, leaks elided.

use hanko_store::sqlx;
use hanko_store::Db;
use serde_json::json;

use crate::common::{Backend, TestAuthority};
use crate::on_both;

async fn revoke(t: &TestAuthority, serial: &str, reason: &str) -> (u16, serde_json::Value) {
    t.counter_post(&format!("/v1/counter/certificates/{serial}/revocation"), json!({"reason": reason})).await
}

/// `removeFromCRL` and the other reasons a JPKI revocation cannot have are refused (400), and
/// nothing is revoked.
async fn removefromcrl_revocation_is_refused(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let sig = card["signature_serial"].as_str().unwrap();
    for reason in ["removeFromCRL", "privilegeWithdrawn", "aACompromise", "cACompromise", "unknown", "7"] {
        let (status, body) = revoke(&t, sig, reason).await;
        assert_eq!(status, 400, "{reason}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("unknown reason"), "{body}");
    }
    // The library refuses it too (the CLI calls it).
    let serial = hanko_pki::Serial::from_hex(sig).unwrap();
    assert!(t.authority.revoke(&serial, hanko_pki::CrlReason::REMOVE_FROM_CRL).await.is_err());
    let record = t.authority.store().certificate(&serial).await.unwrap().unwrap();
    assert!(record.revocation.is_none());
    // The reasons the OpenAPI lists are accepted.
    let (status, body) = revoke(&t, sig, "certificateHold").await;
    assert_eq!(status, 200, "{body}");
}
on_both!(removefromcrl_is_refused, removefromcrl_revocation_is_refused);

/// Finding 2.1: a revocation row whose reason a JPKI CRL cannot carry (planted straight into the
/// database, as an older version let `removeFromCRL` in) no longer stops publication: every
/// generation's CRL is published, the certificate stays listed as revoked (reason unspecified),
/// and the row is reported in the answer and counted in `failures_total`. A row that cannot be
/// read at all (a reason beyond 255) stops only its own generation's CRL.
async fn a_bad_revocation_row_does_not_stop_publication(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let (sig, auth) = (card["signature_serial"].as_str().unwrap(), card["auth_serial"].as_str().unwrap());
    assert_eq!(revoke(&t, sig, "affiliationChanged").await.0, 200);
    assert_eq!(revoke(&t, auth, "cessationOfOperation").await.0, 200);
    let bad_generation =
        t.authority.store().certificate(&hanko_pki::Serial::from_hex(sig).unwrap()).await.unwrap().unwrap().generation;
    // A second generation of both CAs: four CRLs to publish.
    let (status, body) = t.operator_post("/v1/admin/generations", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let db = Db::connect(&t.db_url).await.unwrap();
    sqlx::query("UPDATE certificates SET reason = 8 WHERE serial = $1").bind(sig).execute(db.pool()).await.unwrap();

    let (status, body) = t.operator_post("/v1/admin/crl", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let crls = body["crls"].as_array().unwrap();
    assert_eq!(crls.len(), 4, "{body}");
    assert!(body["failed"].as_array().unwrap().is_empty(), "{body}");
    let repaired = body["listed_as_unspecified"].as_array().unwrap();
    assert_eq!(repaired.len(), 1, "{body}");
    assert_eq!(repaired[0]["stored_reason"], 8, "{body}");
    assert_eq!(repaired[0]["generation"].as_str(), Some(&*bad_generation), "{body}");
    assert!(body["failures_total"].as_u64().unwrap() >= 1, "{body}");
    let (status, status_body) = t.operator_get("/v1/admin/crl").await;
    assert_eq!(status, 200, "{status_body}");
    assert!(status_body["failures_total"].as_u64().unwrap() >= 1, "{status_body}");
    // The certificate is still revoked in the published CRL, as unspecified.
    let sig_crl = crls.iter().find(|c| c["kind"] == "signature" && c["generation"] == bad_generation.as_str()).unwrap();
    assert_eq!(sig_crl["entries"], 1, "{sig_crl}");
    let der = std::fs::read(t.dir.join("crl").join(format!("signature-{bad_generation}.crl"))).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&der)?;
            c.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // (RFC 5280 §5.3.1: unspecified is said by leaving the reasonCode out.)
    assert!(out.status.success() && text.to_uppercase().contains(&sig.to_uppercase()), "{text}");
    assert!(!text.contains("CRL Reason Code") && !text.contains("Remove From CRL"), "{text}");

    // A row that cannot be read at all stops only its own generation's CRL.
    sqlx::query("UPDATE certificates SET reason = 300 WHERE serial = $1").bind(sig).execute(db.pool()).await.unwrap();
    let e = t.authority.publish_crls().await.unwrap_err();
    assert!(e.to_string().contains("not published"), "{e}");
    let report = t.authority.publish_crls_report().await.unwrap();
    assert_eq!((report.published.len(), report.failed.len()), (3, 1));
    assert_eq!((report.failed[0].kind.as_str(), report.failed[0].generation.as_str()), ("signature", &*bad_generation));
}
on_both!(bad_row_does_not_stop_publication, a_bad_revocation_row_does_not_stop_publication);

/// Finding 2.13: a 409 from the database says nothing of its tables, constraints or values.
async fn conflict_bodies_carry_no_database_messages(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (id, _) = t.verifier("platform", "試験PF").await;
    let body = json!({"sp_id": "SP1", "service_id": "web", "name": "service"});
    assert_eq!(t.operator_post(&format!("/v1/admin/verifiers/{id}/services"), body.clone()).await.0, 200);
    let (status, answer) = t.operator_post(&format!("/v1/admin/verifiers/{id}/services"), body).await;
    assert_eq!(status, 409, "{answer}");
    let detail = answer["detail"].as_str().unwrap().to_lowercase();
    for leak in ["unique", "duplicate", "constraint", "verifier_services", "sp1", "key ("] {
        assert!(!detail.contains(leak), "{leak} in {detail}");
    }
    assert_eq!(detail, "conflicts with a record that exists already");
}
on_both!(conflict_bodies_are_generic, conflict_bodies_carry_no_database_messages);

/// Finding 2.13: a malformed birth date is not echoed (it is a fact of a person).
async fn a_malformed_birth_date_is_not_echoed(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (status, body) = t
        .counter_post(
            "/v1/counter/persons",
            json!({"name": "試験　花子", "sex": "2", "birth_date": "319850x01",
                   "address": "東京都見本区試験町一丁目１番１号", "prefecture": "Tokyo-to", "municipality": "Mihon-ku"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.to_string().contains("319850x01"), "{body}");
    let e = hanko_pki::BirthDate::parse("319850x01").unwrap_err();
    assert!(!format!("{e} {e:?}").contains("319850x01"));
}
on_both!(birth_date_syntax_is_elided, a_malformed_birth_date_is_not_echoed);

/// Finding 2.13: `Debug` of the register's records and documents elides names, addresses and
/// certificate DER.
async fn debug_output_elides_the_4_facts_and_certificates(backend: Backend) {
    use base64::Engine;
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let serial = hanko_pki::Serial::from_hex(card["signature_serial"].as_str().unwrap()).unwrap();
    let record = t.authority.store().certificate(&serial).await.unwrap().unwrap();
    let der = record.der.clone().unwrap();
    let shown = format!("{record:?}");
    assert!(shown.contains("bytes elided") && !shown.contains(&format!("{:?}", &der[..16])[1..40]), "{shown}");
    assert!(shown.len() < 1000, "{shown}");

    let event = hanko_authority::LifeEvent::FactsChanged {
        name: Some("試験　花子".into()),
        address: Some("東京都見本区試験町一丁目１番１号".into()),
        locality: Some(("Tokyo-to".into(), "Mihon-ku".into())),
        birth_date: None,
        sex: None,
    };
    let shown = format!("{event:?}");
    for fact in ["試験", "東京都", "Tokyo-to", "Mihon-ku"] {
        assert!(!shown.contains(fact), "{shown}");
    }
    assert!(shown.contains("FactsChanged") && shown.contains("[elided]"), "{shown}");

    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let signed = hanko_authority::SignedDocument {
        document: base64::engine::general_purpose::STANDARD.encode("{\"name\":\"試験　花子\"}"),
        signature: "AAAA".into(),
        certificate: b64.clone(),
    };
    let shown = format!("{signed:?}");
    assert!(!shown.contains(&b64[..40]) && !shown.contains(&signed.document), "{shown}");

    let enrolment: hanko_authority::PhoneEnrolment = serde_json::from_value(json!({
        "phone_id": "phone0000000001", "device": "android", "expiry": "2036-04-01",
        "signature_serial": "01", "auth_serial": "02", "signature_certificate": b64,
        "auth_certificate": b64, "signature_ca": b64, "auth_ca": b64, "revoked": []
    }))
    .unwrap();
    let shown = format!("{enrolment:?}");
    assert!(!shown.contains(&b64[..40]) && shown.contains("phone0000000001"), "{shown}");
}
on_both!(debug_elides_facts, debug_output_elides_the_4_facts_and_certificates);

/// Issue 8 §4: an event that changes nothing, or carries a field its kind does not take, is
/// refused (400) and revokes nothing.
async fn empty_or_foreign_event_fields_are_refused(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    for event in [
        json!({"kind": "facts-changed"}),
        json!({"kind": "facts-changed", "name": "試験　花子"}),
        json!({"kind": "facts-changed", "address": "東京都見本区試験町一丁目１番１号", "sex": "2"}),
        json!({"kind": "death", "name": "見本　太郎"}),
        json!({"kind": "emigration", "card_id": "x"}),
        json!({"kind": "card-lost", "card_id": card["card_id"], "address": "x"}),
        json!({"kind": "facts-changed", "card_id": card["card_id"]}),
    ] {
        let (status, body) = t.event(&person, event.clone()).await;
        assert_eq!(status, 400, "{event}: {body}");
    }
    let (_, view) = t.counter_get(&format!("/v1/counter/cards/{}", card["card_id"].as_str().unwrap())).await;
    assert!(view["certificates"].as_array().unwrap().iter().all(|c| c["revoked"].is_null()), "{view}");
    assert_eq!(view["status"], "active");
}
on_both!(empty_events_refused, empty_or_foreign_event_fields_are_refused);

/// Issue 8 §4: only the sex codes the OpenAPI gives (1/2/3) and birth dates the register can hold
/// (not in the future, not before Meiji) are accepted at the edge; a person of unknown sex (3)
/// gets a card (the input-assist AP's 9).
async fn sex_and_birth_dates_are_validated_at_the_edge(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let new_person = |sex: &str, birth: &str| {
        json!({"name": "試験　花子", "sex": sex, "birth_date": birth,
               "address": "東京都見本区試験町一丁目１番１号", "prefecture": "Tokyo-to", "municipality": "Mihon-ku"})
    };
    for (sex, birth, says) in [
        ("9", "1985-04-01", "sex"),
        ("0", "1985-04-01", "sex"),
        ("1", "2026-04-02", "future"),
        ("1", "2100-01-01", "future"),
        ("1", "1868-10-22", "1868-10-23"),
    ] {
        let (status, body) = t.counter_post("/v1/counter/persons", new_person(sex, birth)).await;
        assert_eq!(status, 400, "{sex} {birth}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(says), "{body}");
    }
    // The edges themselves are accepted; sex 3 makes a card.
    let (status, body) = t.counter_post("/v1/counter/persons", new_person("3", "2026-04-01")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.counter_post("/v1/counter/persons", new_person("3", "1868-10-23")).await;
    assert_eq!(status, 200, "{body}");
    let person = t.person("試験　花子", "1985-04-01").await;
    let (status, body) = t.event(&person, json!({"kind": "facts-changed", "sex": "9"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = t.event(&person, json!({"kind": "facts-changed", "birth_date": "2030-01-01"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = t.counter_post("/v1/counter/persons", new_person("3", "1990-01-01")).await;
    assert_eq!(status, 200, "{body}");
    t.card(body["id"].as_str().unwrap()).await;
}
on_both!(sex_and_birth_validated, sex_and_birth_dates_are_validated_at_the_edge);

/// Finding 2.12: every unauthenticated route is rate-limited per client address (and per key
/// sent): over the limit, 429 problem+json with Retry-After; authenticated routes are not.
async fn unauthenticated_routes_are_rate_limited(backend: Backend) {
    let t = TestAuthority::start_with(backend, |c| {
        c.public_rate = hanko_authority::Rate::new(3, std::time::Duration::from_secs(3600));
    })
    .await;
    let post = |path: &'static str| {
        let t = &t;
        async move {
            t.http
                .post(format!("{}{path}", t.base))
                .json(&json!({"document": "", "signature": "", "certificate": ""}))
                .send()
                .await
                .unwrap()
        }
    };
    // One address: three requests across the unauthenticated routes, then 429 on each.
    assert_eq!(post("/v1/smartphone/applications").await.status().as_u16(), 400);
    assert_eq!(t.http.get(format!("{}/openapi.json", t.base)).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(post("/v1/smartphone/phone0000000001/revocation").await.status().as_u16(), 400);
    for resp in [
        post("/v1/smartphone/applications").await,
        t.http.get(format!("{}/openapi.json", t.base)).send().await.unwrap(),
    ] {
        assert_eq!(resp.status().as_u16(), 429);
        assert!(resp.headers().contains_key("retry-after"));
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
    // The counter API (authenticated) is not limited by it.
    assert_eq!(t.counter_get("/v1/counter/persons/P1").await.0, 404);
}
on_both!(public_routes_rate_limited, unauthenticated_routes_are_rate_limited);
