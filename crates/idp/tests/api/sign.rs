//! The signature API end to end: client_credentials → `POST /api/sign-transactions` (a bare
//! hash, a DER DigestInfo) → authorization with `sign_transaction_id` → the card signs the bytes
//! as given with its signature key → token → `GET /api/sign-transactions/{id}/result` → the JWE,
//! decrypted with the recipient's key or passed unchanged to the platform's
//! `POST /v1/verifications/sign-result`. And what must be refused.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_authority::Clock as _;
use hanko_card::Slot;
use hanko_pki::jwe::{JweDecryptionKey, JwePolicy, KeyAlgorithm};
use hanko_pki::{DigestAlgorithm, DigestInfo};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{json, Value};

use crate::common::*;

pub fn claims_of(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A client assertion made at the ecosystem's clock (the tests move it).
pub fn assertion_now(eco: &Eco, rp: &Rp) -> String {
    let now = eco.clock.now().unix_timestamp();
    let mut jti = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut jti);
    let claims = json!({
        "iss": rp.client_id, "sub": rp.client_id,
        "aud": format!("{}/protocol/openid-connect/token", eco.issuer()),
        "jti": hex::encode(jti), "iat": now, "exp": now + 60,
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(rp.kid.clone());
    jsonwebtoken::encode(&header, &claims, &rp.key).unwrap()
}

/// A token request of `rp` with `form` and a fresh assertion.
pub async fn token_for(eco: &Eco, rp: &Rp, form: &[(&str, &str)]) -> (u16, Value) {
    let assertion = assertion_now(eco, rp);
    let mut all = form.to_vec();
    all.push(("client_assertion_type", hanko_idp::JWT_BEARER));
    all.push(("client_assertion", &assertion));
    eco.token(&all).await
}

/// A client_credentials token of scope sign.
pub async fn sign_token(eco: &Eco, rp: &Rp) -> String {
    let (status, t) = token_for(eco, rp, &[("grant_type", "client_credentials"), ("scope", "sign")]).await;
    assert_eq!(status, 200, "{t}");
    t["access_token"].as_str().unwrap().to_owned()
}

/// `POST /api/sign-transactions` with `digest` (base64 as given).
pub async fn start_tx(eco: &Eco, token: &str, digest: &str) -> (u16, Value) {
    send(eco.http.post(format!("{}/api/sign-transactions", eco.i)).bearer_auth(token).json(&json!({"digest": digest})))
        .await
}

/// `GET /api/sign-transactions/{id}/result`.
pub async fn result_of(eco: &Eco, token: &str, tx: &str) -> (u16, Value) {
    send(eco.http.get(format!("{}/api/sign-transactions/{tx}/result", eco.i)).bearer_auth(token)).await
}

/// One authorization in progress: the flow's secrets, the request id and the browser's cookie.
pub struct Pending {
    pub flow: Flow,
    pub request_id: String,
    pub cookie: String,
}

/// Sends the authorization request of `rp` for `scope` with `extra` parameters; it must reach
/// the wallet.
pub async fn begin(eco: &Eco, rp: &Rp, scope: &str, extra: &[(&str, &str)]) -> Pending {
    let flow = rp.start(scope);
    let mut params = flow.params(rp);
    params.extend_from_slice(extra);
    let (status, location, cookie) = eco.authorize(&params).await;
    assert_eq!(status, 303, "{location}");
    Pending { request_id: request_id(&location), cookie: cookie.unwrap(), flow }
}

/// The card (or phone image) `card_id` signs what the sign request shows, with the signature
/// key and the password, the bytes as given: (status, answer).
pub async fn approve_sign(eco: &Eco, request_id: &str, card_id: &str, device: &str) -> (u16, Value) {
    let req = eco.app_request(request_id).await;
    assert_eq!(req["kind"], "sign", "{req}");
    let data = B64.decode(req["sign"]["data"].as_str().unwrap()).unwrap();
    let mut card = eco.card(card_id);
    let certificate = card.read_signature_certificate(PASSWORD).unwrap();
    let signature = card.sign(Slot::Signature, PASSWORD, &data).unwrap();
    let body = json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature), "device": device});
    send(eco.http.post(format!("{}/api/app/requests/{request_id}/approval", eco.i)).json(&body)).await
}

/// The browser continues and the RP exchanges the code: the token response.
pub async fn finish(eco: &Eco, rp: &Rp, p: &Pending) -> Value {
    let (status, pairs, location) = eco.continue_flow(&p.request_id, &p.cookie).await;
    assert_eq!(status, 302, "{location}");
    assert_eq!(pairs["state"], p.flow.state);
    let code = pairs.get("code").unwrap_or_else(|| panic!("no code: {location}")).clone();
    let (status, tokens) = token_for(
        eco,
        rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &rp.redirect_uri),
            ("code_verifier", &p.flow.verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// The redirect's error parameters after a refused request.
pub async fn refused(eco: &Eco, p: &Pending) -> HashMap<String, String> {
    let (status, pairs, location) = eco.continue_flow(&p.request_id, &p.cookie).await;
    assert_eq!(status, 302, "{location}");
    assert!(pairs.contains_key("error"), "{location}");
    assert_eq!(pairs["state"], p.flow.state);
    pairs
}

/// A whole sign of `digest` (base64) by `card_id` for `rp`: (transaction id, token response).
pub async fn sign(eco: &Eco, rp: &Rp, card_id: &str, digest: &str, scope: &str) -> (String, Value) {
    let cc = sign_token(eco, rp).await;
    let (status, tx) = start_tx(eco, &cc, digest).await;
    assert_eq!(status, 201, "{tx}");
    let tx = tx["sign_transaction_id"].as_str().unwrap().to_owned();
    let p = begin(eco, rp, scope, &[("sign_transaction_id", &tx)]).await;
    let (status, answer) = approve_sign(eco, &p.request_id, card_id, "card").await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    (tx, finish(eco, rp, &p).await)
}

/// A login of `card_id` at `rp` with an assertion at the ecosystem's clock: the token response.
pub async fn login_now(eco: &Eco, rp: &Rp, card_id: &str, scope: &str) -> Value {
    let p = begin(eco, rp, scope, &[]).await;
    let (status, answer) = eco.approve_login(&p.request_id, card_id).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    finish(eco, rp, &p).await
}

/// Registers an SP at the platform: its API key.
pub async fn platform_tenant(eco: &Eco, sp_id: &str) -> String {
    let (status, t) = send(eco.http.post(format!("{}/v1/admin/tenants", eco.p)).bearer_auth(&eco.platform_admin).json(
        &json!({"sp_id": sp_id, "service_id": "web", "name": "test RP", "facts": ["name"], "check_method": "crl"}),
    ))
    .await;
    assert_eq!(status, 201, "{t}");
    t["api_key"].as_str().unwrap().to_owned()
}

/// The RP passes the JWE unchanged to its platform operator with the digest it submitted.
pub async fn platform_verifies(eco: &Eco, sp_key: &str, jwe: &str, digest: &[u8]) -> Value {
    let (status, out) = send(
        eco.http
            .post(format!("{}/v1/verifications/sign-result", eco.p))
            .bearer_auth(sp_key)
            .json(&json!({"sign_certificate_jwe": jwe, "digest": B64.encode(digest)})),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    out
}

const CONTRACT: &[u8] = "売買契約書 (synthetic test contract)".as_bytes();

/// A bare hash and a DigestInfo, each signed end to end with the platform's key as recipient:
/// the platform verifies the JWE and says which form was signed; the hash cannot be swapped;
/// the result is only for the authorization that signed it.
async fn sign_hash_and_digest_info_end_to_end(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let sp_key = platform_tenant(&eco, "RPCO").await;
    let rp = eco.rp("RP00000010", json!({"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}})).await;
    let hash = DigestAlgorithm::Sha256.digest(CONTRACT);

    // A bare hash, with name and address asked for.
    let (tx, tokens) = sign(&eco, &rp, &card, &B64.encode(&hash), "openid sign name address").await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "aal3 crl", "{id}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, result) = result_of(&eco, &access, &tx).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["sign_transaction_id"], tx.as_str());
    let jwe = result["sign_certificate_jwe"].as_str().unwrap().to_owned();
    let out = platform_verifies(&eco, &sp_key, &jwe, &hash).await;
    assert_eq!((out["result"].as_str(), out["signed_form"].as_str()), (Some("OK"), Some("hash")), "{out}");
    assert_eq!(out["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE");
    // The facts asked for, from the signature certificate.
    let (status, info) =
        send(eco.http.get(format!("{}/protocol/openid-connect/userinfo", eco.issuer())).bearer_auth(&access)).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["name"], "見本 花子", "{info}");
    assert_eq!(info["address"], "東京都見本区試験町一丁目１番１号", "{info}");
    assert!(info.get("birthdate").is_none(), "{info}");
    // Against another document's hash the same JWE is a mismatch.
    let out = platform_verifies(&eco, &sp_key, &jwe, &DigestAlgorithm::Sha256.digest(b"other")).await;
    assert_eq!(out["result"], "SIGNATURE_MISMATCH", "{out}");

    // A DigestInfo: the standard RSASSA-PKCS1-v1_5 form.
    let di = DigestInfo::of(DigestAlgorithm::Sha256, CONTRACT).to_der().unwrap();
    let (tx2, tokens2) = sign(&eco, &rp, &card, &B64.encode(&di), "openid sign").await;
    let access2 = tokens2["access_token"].as_str().unwrap().to_owned();
    let (status, result2) = result_of(&eco, &access2, &tx2).await;
    assert_eq!(status, 200, "{result2}");
    let out = platform_verifies(&eco, &sp_key, result2["sign_certificate_jwe"].as_str().unwrap(), &hash).await;
    assert_eq!((out["result"].as_str(), out["signed_form"].as_str()), (Some("OK"), Some("digest_info")), "{out}");

    // The result is the signing authorization's: not the other authorization's token, not the
    // client_credentials token; another client does not see the transaction at all.
    let cc = sign_token(&eco, &rp).await;
    assert_eq!(result_of(&eco, &access2, &tx).await.0, 403);
    assert_eq!(result_of(&eco, &cc, &tx).await.0, 403);
    let other = eco.rp("RP00000011", json!({"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}})).await;
    let other_cc = sign_token(&eco, &other).await;
    let (status, body) = result_of(&eco, &other_cc, &tx).await;
    assert_eq!(status, 404, "{body}");
    let other_tokens = eco.login(&other, &card, "openid").await;
    assert_eq!(result_of(&eco, other_tokens["access_token"].as_str().unwrap(), &tx).await.0, 404);
    assert_eq!(result_of(&eco, &access, "not-a-uuid").await.0, 404);

    // The hash cannot be swapped: a second POST is another transaction; the first one's result
    // still holds the signature over the first hash.
    let (status, second) = start_tx(&eco, &cc, &B64.encode(DigestAlgorithm::Sha256.digest(b"swapped"))).await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(second["sign_transaction_id"], tx.as_str());
    let (_, again) = result_of(&eco, &access, &tx).await;
    assert_eq!(again["sign_certificate_jwe"], jwe.as_str());
    // A transaction is signed once: a signed one cannot be named by a new authorization.
    let flow = rp.start("openid sign");
    let mut params = flow.params(&rp);
    params.push(("sign_transaction_id", &tx));
    let (status, location, _) = eco.authorize(&params).await;
    assert_eq!(status, 302, "{location}");
    assert!(location.contains("error=invalid_request"), "{location}");
}
on_both!(sign_end_to_end, sign_hash_and_digest_info_end_to_end);

/// The per-client recipient key and algorithms (RSA-OAEP + A128GCM) are honoured and the RP
/// decrypts with its key; a result before approval is 409; a transaction named by a second
/// authorization request is refused; a signature over other bytes ends the request with
/// access_denied — for a government client; a private client gets what the card returned, for its
/// platform operator to refuse; expired transactions; a client without `sign_result`; malformed
/// digests.
async fn sign_refusals_and_per_client_jwe(backend: Backend) {
    // Transactions live 5 minutes here, requests 10: a transaction can expire under a live request.
    let eco = Eco::start_with(backend, |c| c.sign_transaction_lifetime = std::time::Duration::from_secs(300)).await;
    let (person, card) = eco.person_with_card("見本 花子", "319850315").await;
    let key = JweDecryptionKey::generate_rsa2048().unwrap();
    let jwk = key.public_key().jwk(KeyAlgorithm::RsaOaep);
    let rp = eco
        .rp("RP00000020", json!({"government": true, "sign_result": {"jwk": jwk, "alg": "RSA-OAEP", "enc": "A128GCM"}}))
        .await;
    let hash = DigestAlgorithm::Sha256.digest(CONTRACT);
    let cc = sign_token(&eco, &rp).await;

    // Started, not signed: 409 to its client.
    let (status, tx) = start_tx(&eco, &cc, &B64.encode(&hash)).await;
    assert_eq!(status, 201, "{tx}");
    assert_eq!(tx["form"], "hash");
    let tx = tx["sign_transaction_id"].as_str().unwrap().to_owned();
    let (status, body) = result_of(&eco, &cc, &tx).await;
    assert_eq!(status, 409, "{body}");

    // Two authorization requests for one transaction: the second is invalid_request.
    let p = begin(&eco, &rp, "openid sign name", &[("sign_transaction_id", &tx)]).await;
    let flow = rp.start("openid sign");
    let mut params = flow.params(&rp);
    params.push(("sign_transaction_id", &tx));
    let (status, location, _) = eco.authorize(&params).await;
    assert_eq!(status, 302, "{location}");
    assert!(location.contains("error=invalid_request"), "{location}");
    let (status, body) = result_of(&eco, &cc, &tx).await;
    assert_eq!(status, 409, "bound, not signed: {body}");

    let (status, answer) = approve_sign(&eco, &p.request_id, &card, "card").await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    let tokens = finish(&eco, &rp, &p).await;
    let (status, result) = result_of(&eco, tokens["access_token"].as_str().unwrap(), &tx).await;
    assert_eq!(status, 200, "{result}");
    let jwe = result["sign_certificate_jwe"].as_str().unwrap();
    // The RP's own key opens it, with the registered algorithms (and no other).
    let policy = JwePolicy::from_names(&["RSA-OAEP"], &["A128GCM"]).unwrap();
    let opened = key.decrypt(jwe, &policy).unwrap();
    assert_eq!((opened.key_algorithm.name(), opened.content_algorithm.name()), ("RSA-OAEP", "A128GCM"));
    assert!(key.decrypt(jwe, &JwePolicy::default()).is_err(), "the default policy refuses RSA-OAEP + A128GCM");
    let payload: Value = serde_json::from_slice(&opened.plaintext).unwrap();
    assert_eq!(payload["sign_transaction_id"], tx.as_str());
    assert_eq!(payload["signed_form"], "hash");
    assert_eq!(payload["name"], "見本 花子", "{payload}");
    assert!(payload.get("address").is_none(), "only the facts asked for: {payload}");
    // The signature is over the stored bytes, by the certificate in the payload.
    let cert = B64.decode(payload["certificate"].as_str().unwrap()).unwrap();
    let signature = B64.decode(payload["signature"].as_str().unwrap()).unwrap();
    let card_cert = eco.card(&card).read_signature_certificate(PASSWORD).unwrap();
    assert_eq!(cert, card_cert);
    let resigned = eco.card(&card).sign(Slot::Signature, PASSWORD, &hash).unwrap();
    assert_eq!(signature, resigned, "PKCS#1 v1.5 is deterministic: the card signed the bare hash");

    // The app signs other bytes than the transaction's (the hash swapped on the way): the
    // platform finds a mismatch and the RP gets access_denied.
    let cc = sign_token(&eco, &rp).await;
    let (_, tx3) = start_tx(&eco, &cc, &B64.encode(&hash)).await;
    let tx3 = tx3["sign_transaction_id"].as_str().unwrap().to_owned();
    let p = begin(&eco, &rp, "openid sign", &[("sign_transaction_id", &tx3)]).await;
    let mut c = eco.card(&card);
    let body = json!({
        "certificate": B64.encode(c.read_signature_certificate(PASSWORD).unwrap()),
        "signature": B64.encode(c.sign(Slot::Signature, PASSWORD, &DigestAlgorithm::Sha256.digest(b"swapped")).unwrap()),
    });
    drop(c);
    let (status, answer) =
        send(eco.http.post(format!("{}/api/app/requests/{}/approval", eco.i, p.request_id)).json(&body)).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("failed")), "{answer}");
    let pairs = refused(&eco, &p).await;
    assert_eq!(pairs["error"], "access_denied");
    assert!(pairs["error_description"].contains("does not verify over the submitted bytes"), "{pairs:?}");
    assert_eq!(result_of(&eco, &cc, &tx3).await.0, 409, "never signed");
    // The card signs a DigestInfo made of a submitted bare hash: valid, but not the bytes as
    // given — refused.
    let (_, tx4) = start_tx(&eco, &cc, &B64.encode(&hash)).await;
    let tx4 = tx4["sign_transaction_id"].as_str().unwrap().to_owned();
    let p = begin(&eco, &rp, "openid sign", &[("sign_transaction_id", &tx4)]).await;
    let mut c = eco.card(&card);
    let di = DigestInfo::of(DigestAlgorithm::Sha256, CONTRACT).to_der().unwrap();
    let body = json!({
        "certificate": B64.encode(c.read_signature_certificate(PASSWORD).unwrap()),
        "signature": B64.encode(c.sign(Slot::Signature, PASSWORD, &di).unwrap()),
    });
    drop(c);
    let (_, answer) =
        send(eco.http.post(format!("{}/api/app/requests/{}/approval", eco.i, p.request_id)).json(&body)).await;
    assert_eq!(answer["status"], "failed", "{answer}");
    assert!(answer["error_description"].as_str().unwrap().contains("bytes as given"), "{answer}");

    // Expiry: an expired transaction cannot be authorised, approved or fetched.
    let (_, tx5) = start_tx(&eco, &cc, &B64.encode(&hash)).await;
    let tx5 = tx5["sign_transaction_id"].as_str().unwrap().to_owned();
    let (_, tx6) = start_tx(&eco, &cc, &B64.encode(&hash)).await;
    let tx6 = tx6["sign_transaction_id"].as_str().unwrap().to_owned();
    let bound = begin(&eco, &rp, "openid sign", &[("sign_transaction_id", &tx6)]).await;
    let _ = eco.app_request(&bound.request_id).await;
    eco.clock.advance(hanko_pki::time::Duration::seconds(301));
    let flow = rp.start("openid sign");
    let mut params = flow.params(&rp);
    params.push(("sign_transaction_id", &tx5));
    let (status, location, _) = eco.authorize(&params).await;
    assert_eq!(status, 302, "{location}");
    assert!(location.contains("error=invalid_request"), "{location}");
    let (status, answer) = approve_sign(&eco, &bound.request_id, &card, "card").await;
    assert_eq!(status, 410, "{answer}");
    assert!(answer["detail"].as_str().unwrap().contains("sign transaction expired"), "{answer}");
    let cc = sign_token(&eco, &rp).await;
    assert_eq!(result_of(&eco, &cc, &tx).await.0, 404, "an expired result is gone");

    // Malformed digests: 400, never a transaction.
    for digest in ["not base64!", &B64.encode([1u8; 20]), &B64.encode([1u8; 100]), "AA"] {
        let (status, body) = start_tx(&eco, &cc, digest).await;
        assert_eq!(status, 400, "{digest}: {body}");
    }
    // A login token cannot start a transaction.
    let login = login_now(&eco, &rp, &card, "openid").await;
    let (status, body) = start_tx(&eco, login["access_token"].as_str().unwrap(), &B64.encode(&hash)).await;
    assert_eq!(status, 403, "{body}");

    // acr_values=ocsp: the signature certificate is checked by OCSP (acr says so); once the
    // card is reported lost, OCSP refuses it at once (the CRL held does not list it yet).
    let (_, tx7) = start_tx(&eco, &cc, &B64.encode(&hash)).await;
    let tx7 = tx7["sign_transaction_id"].as_str().unwrap().to_owned();
    let p = begin(&eco, &rp, "openid sign", &[("sign_transaction_id", &tx7), ("acr_values", "ocsp")]).await;
    let (_, answer) = approve_sign(&eco, &p.request_id, &card, "card").await;
    assert_eq!(answer["status"], "approved", "{answer}");
    assert_eq!(claims_of(finish(&eco, &rp, &p).await["id_token"].as_str().unwrap())["acr"], "aal3 ocsp");
    eco.clock.advance(hanko_pki::time::Duration::minutes(1));
    eco.event(&person, json!({"kind": "card-lost", "card_id": card})).await;
    let (_, tx8) = start_tx(&eco, &cc, &B64.encode(&hash)).await;
    let tx8 = tx8["sign_transaction_id"].as_str().unwrap().to_owned();
    let p = begin(&eco, &rp, "openid sign", &[("sign_transaction_id", &tx8), ("acr_values", "ocsp")]).await;
    let (_, answer) = approve_sign(&eco, &p.request_id, &card, "card").await;
    assert_eq!(answer["status"], "failed", "{answer}");
    let why = refused(&eco, &p).await["error_description"].clone();
    assert!(why.starts_with("the certificate is suspended (held; OCSP)"), "{why}");
    assert_eq!(result_of(&eco, &cc, &tx8).await.0, 409, "never signed");

    // A private service: the signature API does not verify (seed 003: only for government
    // bodies). The held card's signature and certificate reach the RP's platform operator,
    // which refuses them.
    let private = eco.rp("RP00000022", json!({"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}})).await;
    let pcc = sign_token(&eco, &private).await;
    let (_, tx9) = start_tx(&eco, &pcc, &B64.encode(&hash)).await;
    let tx9 = tx9["sign_transaction_id"].as_str().unwrap().to_owned();
    let p = begin(&eco, &private, "openid sign", &[("sign_transaction_id", &tx9), ("acr_values", "ocsp")]).await;
    let (_, answer) = approve_sign(&eco, &p.request_id, &card, "card").await;
    assert_eq!(answer["status"], "approved", "{answer}");
    let tokens = finish(&eco, &private, &p).await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "unverified", "no authentication was made: {id}");
    assert!(!id["sub"].as_str().unwrap().is_empty());
    let (status, result) = result_of(&eco, tokens["access_token"].as_str().unwrap(), &tx9).await;
    assert_eq!(status, 200, "{result}");
    let platform_key = std::fs::read_to_string(eco.idp_dir.join(hanko_idp::PLATFORM_KEY_FILE)).unwrap();
    let (status, verdict) = send(
        eco.http.post(format!("{}/v1/verifications/sign-result", eco.p)).bearer_auth(platform_key.trim()).json(&json!({
            "sign_certificate_jwe": result["sign_certificate_jwe"], "digest": B64.encode(&hash), "check_method": "ocsp"})),
    )
    .await;
    assert_eq!((status, verdict["result"].as_str()), (200, Some("CERTIFICATE_REVOKED")), "{verdict}");

    // A client without sign_result may not use the signature API.
    let plain = eco.rp("RP00000021", json!({})).await;
    let (status, body) = token_for(&eco, &plain, &[("grant_type", "client_credentials"), ("scope", "sign")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
}
on_both!(sign_refusals, sign_refusals_and_per_client_jwe);
