//! User identity (issue 9 item 2): one tenant-scoped user id across a person's signature and
//! auth certificates, a move (reissue), renewal, a new phone; a new id after deletion; tenants
//! registered at the authority before they exist.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_authority::{sign_document, Clock, PhoneEnrolment, PhoneSecureElement};
use hanko_card::{Device, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::time::Duration;
use hanko_pki::{DigestAlgorithm, DigestInfo, JpkiCertificate};
use serde_json::{json, Value};

use crate::common::{sha256_b64, Backend, Eco, Sp};
use crate::on_both;

pub const CARD_PASSWORD: &[u8] = b"HANKO2026";
pub const CARD_PIN: &[u8] = b"1234";
pub const PHONE_PASSWORD: &[u8] = b"PHONE2026";
pub const PHONE_PIN: &[u8] = b"5678";

/// The auth certificate of a card or phone image and its signature over `challenge` (the
/// DigestInfo of SHA-256, as the auth slot signs), both base64.
pub fn auth_sign(eco: &Eco, image: &str, pin: &[u8], challenge: &[u8]) -> (String, String) {
    // The authority's client helper: VERIFY, read the certificate (a phone's auth certificate
    // needs the PIN), `80 2A` over the SHA-256 DigestInfo.
    let signed = sign_document(&mut eco.card(image), Slot::Auth, pin, challenge).unwrap();
    let v = serde_json::to_value(&signed).unwrap();
    (v["certificate"].as_str().unwrap().to_owned(), v["signature"].as_str().unwrap().to_owned())
}

/// A fresh challenge of `sp`: (id, bytes).
pub async fn challenge(eco: &Eco, sp: &Sp) -> (String, Vec<u8>) {
    let (status, c) = eco.p.post("/v1/auth/challenges", &sp.key, json!({})).await;
    assert_eq!(status, 201, "{c}");
    (c["challenge_id"].as_str().unwrap().to_owned(), B64.decode(c["challenge"].as_str().unwrap()).unwrap())
}

/// Logs in at `sp` with the auth key of `image`; the verification answer.
pub async fn login(eco: &Eco, sp: &Sp, image: &str, pin: &[u8]) -> Value {
    let (id, bytes) = challenge(eco, sp).await;
    let (certificate, signature) = auth_sign(eco, image, pin, &bytes);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/authentication",
            &sp.key,
            json!({"challenge_id": id, "certificate": certificate, "signature": signature}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    out
}

/// Signs `doc` with the signature key of `image` and verifies it at `sp`; the answer.
pub async fn signed(eco: &Eco, sp: &Sp, image: &str, password: &[u8], doc: &[u8]) -> Value {
    let v = serde_json::to_value(sign_document(&mut eco.card(image), Slot::Signature, password, doc).unwrap()).unwrap();
    let req = json!({"certificate": v["certificate"], "signature": v["signature"], "digest": sha256_b64(doc)});
    let (status, out) = eco.p.post("/v1/verifications/signature", &sp.key, req).await;
    assert_eq!(status, 200, "{out}");
    out
}

fn ok_user(out: &Value) -> String {
    assert_eq!(out["result"], "OK", "{out}");
    out["user_id"].as_str().unwrap().to_owned()
}

/// Enrols a phone for the holder of `card_id` (an application signed with the card) and saves
/// its secure element as a card image; the phone's id.
pub async fn enrol_phone(eco: &Eco, card_id: &str) -> String {
    let se = PhoneSecureElement::generate(Device::Android).unwrap();
    let (status, c) = eco.a.post("/v1/smartphone/challenges", "", json!({"card_id": card_id})).await;
    assert_eq!(status, 200, "{c}");
    let document = se.application_document(c["challenge"].as_str().unwrap(), eco.clock.now()).unwrap();
    let mut client = eco.card(card_id);
    let signed = sign_document(&mut client, Slot::Signature, CARD_PASSWORD, &document).unwrap();
    let (status, body) = eco.a.post("/v1/smartphone/applications", "", serde_json::to_value(&signed).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let answer: PhoneEnrolment = serde_json::from_value(body).unwrap();
    let phone = se.personalize(&answer, PHONE_PASSWORD, PHONE_PIN).unwrap();
    drop(CardFile::create(&eco.authority_dir, &answer.phone_id, phone).unwrap());
    answer.phone_id
}

/// The platform registers each tenant's SP service at the authority before it stores the
/// tenant; when the authority refuses, the admin gets a clear error and no tenant exists.
async fn tenants_are_registered_at_the_authority_first_body(b: Backend) {
    let eco = Eco::start(b).await;
    let (_, card) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let serial =
        JpkiCertificate::from_der(&eco.card(&card).read_certificate(Slot::Auth).unwrap()).unwrap().serial().to_string();
    let successor = |sp: &'static str| {
        let req = eco.a.client.get(format!("{}/v1/serials/{serial}/successor", eco.a.base)).header("X-Hanko-SP", sp);
        eco.a.send(req, &eco.platform_key)
    };
    // Not registered: the platform may not act for it at the authority.
    assert_eq!(successor("SPREG/web").await.0, 403);
    eco.tenant("SPREG", json!({})).await;
    let (status, out) = successor("SPREG/web").await;
    assert_eq!(status, 200, "{out}");

    // The authority refuses the platform (its key disabled there): 502 naming it, no tenant.
    let (status, out) =
        eco.a.post(&format!("/v1/admin/verifiers/{}/disable", eco.platform_id), &eco.operator_key, json!({})).await;
    assert_eq!(status, 200, "{out}");
    let before = eco.platform.store().tenants().await.unwrap().len();
    let (status, out) = eco
        .p
        .post("/v1/admin/tenants", &eco.admin_key, json!({"sp_id": "SPNEW", "service_id": "web", "name": "refused"}))
        .await;
    assert_eq!(status, 502, "{out}");
    assert!(out["detail"].as_str().unwrap().contains("no tenant added"), "{out}");
    let after = eco.platform.store().tenants().await.unwrap();
    assert_eq!(after.len(), before);
    assert!(after.iter().all(|t| t.sp_id != "SPNEW"));
}
on_both!(tenants_are_registered_at_the_authority_first, tenants_are_registered_at_the_authority_first_body);

/// A person's signature and auth certificates are one user, whichever comes first; another
/// person is another user; another SP has its own ids.
async fn signature_and_auth_certificates_are_one_user_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let other = eco.tenant("SPSHOP", json!({})).await;
    let (_, card1) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let (_, card2) = eco.person_with_card("見本　次郎", "1990-06-15").await;

    // Signature first, then login.
    let u1 = ok_user(&signed(&eco, &sp, &card1, CARD_PASSWORD, b"contract").await);
    let l1 = login(&eco, &sp, &card1, CARD_PIN).await;
    assert_eq!(l1["certificate_type"], "JPKI_CARD_USER_AUTHENTICATION", "{l1}");
    assert_eq!(ok_user(&l1), u1);
    // Login first, then signature.
    let u2 = ok_user(&login(&eco, &sp, &card2, CARD_PIN).await);
    assert_ne!(u2, u1);
    assert_eq!(ok_user(&signed(&eco, &sp, &card2, CARD_PASSWORD, b"contract").await), u2);
    // The same again: the same ids.
    assert_eq!(ok_user(&signed(&eco, &sp, &card1, CARD_PASSWORD, b"again").await), u1);
    assert_eq!(ok_user(&login(&eco, &sp, &card2, CARD_PIN).await), u2);
    // Another SP: its own id.
    let o1 = ok_user(&login(&eco, &other, &card1, CARD_PIN).await);
    assert_ne!(o1, u1);
    assert_eq!(ok_user(&signed(&eco, &other, &card1, CARD_PASSWORD, b"x").await), o1);
    // Two users at the SP, nothing more (no orphan rows).
    let (status, list) = eco.p.get("/v1/users", &sp.key).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["users"].as_array().unwrap().len(), 2, "{list}");
}
on_both!(signature_and_auth_certificates_are_one_user, signature_and_auth_certificates_are_one_user_body);

/// After a move the card gets a new signature certificate (the old one revoked as
/// affiliationChanged): the same user.
async fn a_move_keeps_the_user_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let signer = eco.tenant("SPSIGN", json!({})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let u = ok_user(&signed(&eco, &sp, &card, CARD_PASSWORD, b"before").await);
    let us = ok_user(&signed(&eco, &signer, &card, CARD_PASSWORD, b"before").await);
    let old = eco.card(&card).read_signature_certificate(CARD_PASSWORD).unwrap();
    eco.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区架空台五丁目６番７号"})).await;
    eco.publish_and_refresh().await;
    assert_ne!(eco.card(&card).read_signature_certificate(CARD_PASSWORD).unwrap(), old, "a new signature certificate");
    let after = signed(&eco, &sp, &card, CARD_PASSWORD, b"after").await;
    assert_eq!(ok_user(&after), u);
    assert_eq!(ok_user(&signed(&eco, &signer, &card, CARD_PASSWORD, b"after").await), us);
    // The old certificate is now revoked; it still says whose it was not (no user id for an
    // invalid certificate) but the user's view shows it superseded by the new one.
    let (status, view) = eco.p.get(&format!("/v1/users/{u}"), &sp.key).await;
    assert_eq!(status, 200, "{view}");
    let certs = view["certificates"].as_array().unwrap();
    let sigs: Vec<&Value> = certs.iter().filter(|c| c["certificate_type"] == "JPKI_CARD_DIGITAL_SIGNATURE").collect();
    assert_eq!(sigs.len(), 2, "{view}");
    assert!(sigs.iter().any(|c| c["status"] == "revoked" && c["revocation"]["meaning"] == "facts-changed"), "{view}");
    assert!(sigs.iter().any(|c| c["status"] == "valid" && c["current"] == true), "{view}");
}
on_both!(a_move_keeps_the_user, a_move_keeps_the_user_body);

/// Renewal (both certificates replaced, the old ones revoked as superseded): the same user for
/// an SP that knew both, and for one that only ever saw logins.
async fn renewal_keeps_the_user_body(b: Backend) {
    let eco = Eco::start(b).await;
    let bank = eco.tenant("SPBANK", json!({})).await;
    let login_only = eco.tenant("SPGAME", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let u = ok_user(&signed(&eco, &bank, &card, CARD_PASSWORD, b"open account").await);
    assert_eq!(ok_user(&login(&eco, &bank, &card, CARD_PIN).await), u);
    let g = ok_user(&login(&eco, &login_only, &card, CARD_PIN).await);

    // Two months before the auth certificate expires: renewal opens.
    let old_auth = eco.card(&card).read_certificate(Slot::Auth).unwrap();
    let not_after = JpkiCertificate::from_der(&old_auth).unwrap().not_after();
    eco.clock.set(not_after - Duration::days(60));
    let (status, out) = eco.a.post(&format!("/v1/counter/cards/{card}/renewal"), &eco.counter_key, json!({})).await;
    assert_eq!(status, 200, "{out}");
    eco.publish_and_refresh().await;
    assert_ne!(eco.card(&card).read_certificate(Slot::Auth).unwrap(), old_auth, "renewed");

    // The background scan (here run at once) follows the superseded certificates to their
    // successors before the person comes back (the new-phone test covers the request path).
    eco.platform.scan_all_successors().await.unwrap();
    let (_, view) = eco.p.get(&format!("/v1/users/{g}"), &login_only.key).await;
    let certs = view["certificates"].as_array().unwrap();
    assert!(
        certs.iter().any(|c| c["bound_by"] == "successor" && c["current"] == true && c["status"] == "valid"),
        "{view}"
    );
    assert!(certs.iter().any(|c| c["current"] == false && c["revocation"]["meaning"] == "renewed"), "{view}");

    assert_eq!(ok_user(&login(&eco, &login_only, &card, CARD_PIN).await), g);
    assert_eq!(ok_user(&login(&eco, &bank, &card, CARD_PIN).await), u);
    assert_eq!(ok_user(&signed(&eco, &bank, &card, CARD_PASSWORD, b"renewed").await), u);
    let (_, list) = eco.p.get("/v1/users", &bank.key).await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1, "{list}");
}
on_both!(renewal_keeps_the_user, renewal_keeps_the_user_body);

/// A phone's certificates are the person's user too, and a new phone (the old one's
/// certificates superseded) keeps it.
async fn a_new_phone_keeps_the_user_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let phone1 = enrol_phone(&eco, &card).await;
    eco.publish_and_refresh().await;
    // The phone logs in first; the card's signature then finds the same user (card signature →
    // phone signature → phone auth).
    let first = login(&eco, &sp, &phone1, PHONE_PIN).await;
    // (A phone's auth certificate carries the card auth policy (20-pki.md §1): by the
    // certificate alone it is a JPKI_CARD_USER_AUTHENTICATION.)
    assert_eq!(first["certificate_type"], "JPKI_CARD_USER_AUTHENTICATION", "{first}");
    let u = ok_user(&first);
    assert_eq!(ok_user(&signed(&eco, &sp, &card, CARD_PASSWORD, b"contract").await), u);
    assert_eq!(ok_user(&signed(&eco, &sp, &phone1, PHONE_PASSWORD, b"contract").await), u);
    assert_eq!(ok_user(&login(&eco, &sp, &card, CARD_PIN).await), u);

    // A new phone supersedes the old one.
    let phone2 = enrol_phone(&eco, &card).await;
    eco.publish_and_refresh().await;
    let old = login_status(&eco, &sp, &phone1).await;
    assert_eq!(old["result"], "CERTIFICATE_REVOKED", "{old}");
    assert_eq!(ok_user(&login(&eco, &sp, &phone2, PHONE_PIN).await), u);
    assert_eq!(ok_user(&signed(&eco, &sp, &phone2, PHONE_PASSWORD, b"new phone").await), u);
    let (_, list) = eco.p.get("/v1/users", &sp.key).await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1, "{list}");
}
on_both!(a_new_phone_keeps_the_user, a_new_phone_keeps_the_user_body);

async fn login_status(eco: &Eco, sp: &Sp, image: &str) -> Value {
    login(eco, sp, image, PHONE_PIN).await
}

/// After the SP deletes a user, the person's next verification gets a new id; the old id is
/// gone (404).
async fn deleting_a_user_gives_a_new_id_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let u = ok_user(&signed(&eco, &sp, &card, CARD_PASSWORD, b"x").await);
    assert_eq!(ok_user(&login(&eco, &sp, &card, CARD_PIN).await), u);
    let (status, out) = eco.p.delete(&format!("/v1/users/{u}"), &sp.key).await;
    assert_eq!(status, 204, "{out}");
    let (status, _) = eco.p.get(&format!("/v1/users/{u}"), &sp.key).await;
    assert_eq!(status, 404);
    let (status, _) = eco.p.delete(&format!("/v1/users/{u}"), &sp.key).await;
    assert_eq!(status, 404);
    let v = ok_user(&login(&eco, &sp, &card, CARD_PIN).await);
    assert_ne!(v, u);
    assert_eq!(ok_user(&signed(&eco, &sp, &card, CARD_PASSWORD, b"y").await), v);

    // A verification racing the deletion binds a certificate to the user being deleted: that
    // binding never resolves to the deleted user, and the certificate gets the next new id.
    let (status, _) = eco.p.delete(&format!("/v1/users/{v}"), &sp.key).await;
    assert_eq!(status, 204);
    let auth = eco.card(&card).read_certificate(Slot::Auth).unwrap();
    let serial = JpkiCertificate::from_der(&auth).unwrap().serial().to_string();
    let store = eco.platform.store();
    let binding =
        hanko_platform::Binding { serial, kind: "auth".into(), not_after: None, source: hanko_platform::BoundBy::Seen };
    store.bind(&sp.id, &v, &[binding], eco.clock.now()).await.unwrap();
    let w = ok_user(&login(&eco, &sp, &card, CARD_PIN).await);
    assert!(w != v && w != u, "{w}");
}
on_both!(deleting_a_user_gives_a_new_id, deleting_a_user_gives_a_new_id_body);

/// Many requests racing for a person the SP has not seen: one user, no orphan user rows.
async fn racing_first_verifications_make_one_user_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1985-04-01").await;
    let mut client = eco.card(&card);
    let certificate = B64.encode(client.read_signature_certificate(CARD_PASSWORD).unwrap());
    let signature = B64.encode(
        client
            .sign(Slot::Signature, CARD_PASSWORD, &DigestInfo::of(DigestAlgorithm::Sha256, b"d").to_der().unwrap())
            .unwrap(),
    );
    let req = json!({"certificate": certificate, "signature": signature, "digest": sha256_b64(b"d")});
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (p, key, req) = (eco.p.clone(), sp.key.clone(), req.clone());
        tasks.push(tokio::spawn(async move { p.post("/v1/verifications/signature", &key, req).await }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, out) = t.await.unwrap();
        assert_eq!(status, 200, "{out}");
        ids.insert(ok_user(&out));
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let (_, list) = eco.p.get("/v1/users?limit=100", &sp.key).await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1, "no orphan users: {list}");
}
on_both!(racing_first_verifications_make_one_user, racing_first_verifications_make_one_user_body);

/// Not a test: what the successor scan costs per known certificate (run explicitly:
/// `cargo test -p hanko-platform --test api successor_scan_cost -- --ignored --nocapture`).
/// Prints the scan's time per certificate next to a plain read of the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: prints costs, asserts nothing about time"]
async fn successor_scan_cost() {
    use hanko_platform::{Binding, BoundBy};
    let n: usize = std::env::var("HANKO_SCAN_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let eco = Eco::start(Backend::Sqlite).await;
    let sp = eco.tenant("SPBENCH", json!({})).await;
    let tenant = eco.platform.store().tenant(&sp.id).await.unwrap().unwrap();
    let store = eco.platform.store();
    let now = eco.clock.now();
    for chunk in 0..n.div_ceil(10_000) {
        let bindings: Vec<Binding> = (chunk * 10_000..((chunk + 1) * 10_000).min(n))
            .map(|i| Binding {
                serial: format!("{:016X}", 0x7000_0000_0000_0000u64 + i as u64),
                kind: "auth".into(),
                not_after: None,
                source: BoundBy::Seen,
            })
            .collect();
        assert!(store.create_user(&tenant.id, &format!("bench-{chunk}"), &bindings, now).await.unwrap());
    }
    let t = std::time::Instant::now();
    let mut after = String::new();
    let mut rows = 0;
    loop {
        let page = store.open_certificates(&tenant.id, &after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.serial.clone();
        rows += page.len();
    }
    let read = t.elapsed();
    let t = std::time::Instant::now();
    assert!(eco.platform.scan_successors(&tenant, None).await.unwrap());
    let scan = t.elapsed();
    println!(
        "successor scan of {n} known certificates (SQLite): {:.2} s ({:.2} µs each); reading the same {rows} rows alone: {:.2} s; scan/read = {:.2}",
        scan.as_secs_f64(),
        scan.as_secs_f64() * 1e6 / n as f64,
        read.as_secs_f64(),
        scan.as_secs_f64() / read.as_secs_f64()
    );
}
