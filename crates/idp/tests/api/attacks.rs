//! Attacks on the OpenID Connect core (issue 10, "Attacks"): authorization, token, userinfo,
//! refresh and client authentication. Each test is a real HTTP attack on the running ecosystem
//! and asserts the exact refusal — and that nothing redirects where it must not, leaks, or
//! answers 500 for a client's mistake. Where the storage decides the outcome (a code or an
//! assertion used once, refresh rotation, the purge) the test runs on SQLite and PostgreSQL.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use hanko_card::Slot;
use hanko_idp::{Clock as _, JWT_BEARER};
use hanko_pki::time::Duration;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde_json::{json, Value};

use crate::common::*;

// --- helpers ---------------------------------------------------------------------------------

fn now(eco: &Eco) -> i64 {
    eco.clock.now().unix_timestamp()
}

fn token_url(eco: &Eco) -> String {
    format!("{}/protocol/openid-connect/token", eco.issuer())
}

fn userinfo_url(eco: &Eco) -> String {
    format!("{}/protocol/openid-connect/userinfo", eco.issuer())
}

fn auth_url(eco: &Eco) -> String {
    format!("{}/protocol/openid-connect/auth", eco.issuer())
}

fn random_id(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    B64URL.encode(b)
}

fn claims_of(jwt: &str) -> Value {
    serde_json::from_slice(&B64URL.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn s256(verifier: &str) -> String {
    B64URL.encode(DigestAlgorithm::Sha256.digest(verifier.as_bytes()))
}

/// The claims of a good client assertion of `client_id` at the ecosystem's time.
fn base_claims(eco: &Eco, client_id: &str) -> Value {
    let t = now(eco);
    json!({"iss": client_id, "sub": client_id, "aud": token_url(eco), "jti": random_id(16), "iat": t, "exp": t + 60})
}

/// `claims` signed ES256 with `rp`'s key (its kid in the header).
fn es256(rp: &Rp, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(rp.kid.clone());
    jsonwebtoken::encode(&h, claims, &rp.key).unwrap()
}

/// A fresh, good client assertion of `rp`.
fn fresh(eco: &Eco, rp: &Rp) -> String {
    es256(rp, &base_claims(eco, &rp.client_id))
}

/// A good assertion of `rp` with `change` applied to its claims.
fn assertion_with(eco: &Eco, rp: &Rp, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut c = base_claims(eco, &rp.client_id);
    change(c.as_object_mut().unwrap());
    es256(rp, &c)
}

/// A token request whose grant (a code that does not exist) fails after client authentication:
/// `invalid_grant` says the assertion was accepted, `invalid_client` that it was not.
async fn probe(eco: &Eco, assertion: &str) -> (u16, Value) {
    let verifier = "v".repeat(43);
    eco.token(&[
        ("grant_type", "authorization_code"),
        ("code", "no-such-code"),
        ("redirect_uri", "https://rp.example/RP00000001/callback"),
        ("code_verifier", &verifier),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ])
    .await
}

#[track_caller]
fn oauth_error(r: &(u16, Value), status: u16, error: &str) {
    assert_eq!(r.0, status, "{}", r.1);
    assert_eq!(r.1["error"], error, "{}", r.1);
    assert!(r.1["error_description"].is_string(), "{}", r.1);
}

#[track_caller]
fn accepted(r: &(u16, Value)) {
    oauth_error(r, 400, "invalid_grant");
}

#[track_caller]
fn refused_client(r: &(u16, Value)) {
    oauth_error(r, 401, "invalid_client");
}

/// An RSA key made by openssl: (the encoding key, its public JWK with a kid).
fn rsa_key() -> (EncodingKey, Value) {
    let out = std::process::Command::new("sh")
        .args(["-c", "openssl genrsa 2048 2>/dev/null | openssl rsa -traditional -outform DER 2>/dev/null"])
        .output()
        .unwrap();
    assert!(out.status.success() && !out.stdout.is_empty(), "openssl genrsa | openssl rsa failed");
    let key = EncodingKey::from_rsa_der(&out.stdout);
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    let kid = jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap();
    let mut v = serde_json::to_value(&jwk).unwrap();
    v["kid"] = json!(kid);
    (key, v)
}

struct Setup {
    eco: Eco,
    rp: Rp,
    card: String,
}

async fn setup(backend: Backend) -> Setup {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000001", json!({})).await;
    Setup { eco, rp, card }
}

/// A code ready to exchange.
struct Ready {
    flow: Flow,
    code: String,
    request_id: String,
}

async fn code_for(eco: &Eco, rp: &Rp, card: &str, scope: &str) -> Ready {
    code_with(eco, rp, card, rp.start(scope)).await
}

async fn code_with(eco: &Eco, rp: &Rp, card: &str, flow: Flow) -> Ready {
    let (status, location, cookie) = eco.authorize(&flow.params(rp)).await;
    assert_eq!(status, 303, "{location}");
    let request_id = request_id(&location);
    let (status, answer) = eco.approve_login(&request_id, card).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "approved", "{answer}");
    let (status, pairs, location) = eco.continue_flow(&request_id, &cookie.unwrap()).await;
    assert_eq!(status, 302, "{location}");
    assert!(location.starts_with(&format!("{}?", rp.redirect_uri)), "{location}");
    assert_eq!(pairs["state"], flow.state);
    assert_eq!(pairs["iss"], eco.issuer(), "RFC 9207");
    assert!(!pairs["session_state"].is_empty());
    Ready { code: pairs["code"].clone(), flow, request_id }
}

async fn exchange_as(eco: &Eco, rp: &Rp, code: &str, verifier: &str, redirect_uri: &str) -> (u16, Value) {
    let a = fresh(eco, rp);
    eco.token(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &a),
    ])
    .await
}

async fn exchange(eco: &Eco, rp: &Rp, ready: &Ready) -> (u16, Value) {
    exchange_as(eco, rp, &ready.code, &ready.flow.verifier, &rp.redirect_uri).await
}

/// A login's token response.
async fn tokens(eco: &Eco, rp: &Rp, card: &str, scope: &str) -> Value {
    let ready = code_for(eco, rp, card, scope).await;
    let r = exchange(eco, rp, &ready).await;
    assert_eq!(r.0, 200, "{}", r.1);
    r.1
}

async fn refresh(eco: &Eco, rp: &Rp, refresh_token: &str, scope: Option<&str>) -> (u16, Value) {
    let a = fresh(eco, rp);
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &a),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    eco.token(&form).await
}

async fn client_credentials(eco: &Eco, rp: &Rp) -> (u16, Value) {
    let a = fresh(eco, rp);
    eco.token(&[
        ("grant_type", "client_credentials"),
        ("scope", "sign"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &a),
    ])
    .await
}

async fn userinfo(eco: &Eco, token: &str) -> (u16, Value) {
    send(eco.http.get(userinfo_url(eco)).bearer_auth(token)).await
}

/// What the authorization endpoint answered: (status, Location, body).
async fn authz(eco: &Eco, params: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let mut url = Url::parse(&auth_url(eco)).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    authz_url(eco, url.as_str()).await
}

async fn authz_url(eco: &Eco, url: &str) -> (u16, Option<String>, String) {
    let (status, headers, body) = eco.get_raw(url, None).await;
    if status == 400 {
        let ct = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(ct.starts_with("text/html"), "the error page is HTML, not {ct}: {body}");
    }
    (status, headers.get("location").map(|v| v.to_str().unwrap().to_owned()), body)
}

/// The error page: a 400, no redirect anywhere.
#[track_caller]
fn page(r: &(u16, Option<String>, String)) {
    assert_eq!(r.0, 400, "{}", r.2);
    assert!(r.1.is_none(), "redirected to {:?}", r.1);
    assert!(r.2.starts_with("<!doctype html>") && r.2.contains("<p id=\"error\">"), "{}", r.2);
}

/// An error redirect to `rp`'s redirect URI (query, never fragment) with `error`: its pairs.
#[track_caller]
fn error_redirect(eco: &Eco, r: &(u16, Option<String>, String), rp: &Rp, error: &str) -> HashMap<String, String> {
    assert_eq!(r.0, 302, "{}", r.2);
    let location = r.1.as_deref().unwrap();
    assert!(location.starts_with(&format!("{}?", rp.redirect_uri)), "{location}");
    let url = Url::parse(location).unwrap();
    assert!(url.fragment().is_none(), "{location}");
    let pairs: HashMap<String, String> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert_eq!(pairs.get("error").map(String::as_str), Some(error), "{location}");
    assert!(pairs.contains_key("error_description"), "{location}");
    assert!(!pairs.contains_key("code"), "{location}");
    assert_eq!(pairs.get("iss"), Some(&eco.issuer()), "{location}");
    pairs
}

fn with<'a>(p: &[(&'a str, &'a str)], k: &'a str, v: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<_> = p.iter().copied().filter(|(x, _)| *x != k).collect();
    out.push((k, v));
    out
}

fn without<'a>(p: &[(&'a str, &'a str)], k: &str) -> Vec<(&'a str, &'a str)> {
    p.iter().copied().filter(|(x, _)| *x != k).collect()
}

/// The body the app posts to approve a login with `card` (reads the challenge first).
async fn approval_body(eco: &Eco, request_id: &str, card: &str) -> Value {
    let req = eco.app_request(request_id).await;
    let challenge = B64.decode(req["challenge"].as_str().unwrap()).unwrap();
    let mut c = eco.card(card);
    let certificate = c.read_certificate(Slot::Auth).unwrap();
    let di = DigestInfo::of(DigestAlgorithm::Sha256, &challenge).to_der().unwrap();
    let signature = c.sign(Slot::Auth, PIN, &di).unwrap();
    json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)})
}

async fn post_approval(eco: &Eco, request_id: &str, body: &Value) -> (u16, Value) {
    send(eco.http.post(format!("{}/api/app/requests/{request_id}/approval", eco.i)).json(body)).await
}

async fn disable(eco: &Eco, client_id: &str) {
    let (status, body) =
        send(eco.http.post(format!("{}/api/admin/clients/{client_id}/disable", eco.i)).bearer_auth(&eco.admin_key))
            .await;
    assert_eq!(status, 204, "{body}");
}

async fn start_sign_tx(eco: &Eco, access_token: &str) -> (u16, Value) {
    let digest = B64.encode(DigestAlgorithm::Sha256.digest(b"the RP's document"));
    send(
        eco.http
            .post(format!("{}/api/sign-transactions", eco.i))
            .bearer_auth(access_token)
            .json(&json!({"digest": digest})),
    )
    .await
}

fn signer(eco: &Eco) -> Value {
    json!({"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}})
}

macro_rules! sqlite_test {
    ($name:ident, $body:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $body(Backend::Sqlite).await
        }
    };
}

// --- codes -----------------------------------------------------------------------------------

async fn code_replay_fails_and_revokes_the_first_tokens(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let ready = code_for(&eco, &rp, &card, "openid name").await;
    let first = exchange(&eco, &rp, &ready).await;
    assert_eq!(first.0, 200, "{}", first.1);
    let at = first.1["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&eco, at).await.0, 200);
    let second = exchange(&eco, &rp, &ready).await;
    oauth_error(&second, 400, "invalid_grant");
    assert!(second.1.get("access_token").is_none());
    // The tokens of the first exchange are dead: the access token and the refresh token.
    let (status, body) = userinfo(&eco, at).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    oauth_error(&refresh(&eco, &rp, first.1["refresh_token"].as_str().unwrap(), None).await, 400, "invalid_grant");
}
on_both!(code_replay, code_replay_fails_and_revokes_the_first_tokens);

async fn a_code_is_only_for_the_client_it_was_issued_to(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let thief = eco.rp("RP00000002", json!({"redirect_uris": [rp.redirect_uri.clone()]})).await;
    let ready = code_for(&eco, &rp, &card, "openid name").await;
    // The thief has the code, the verifier and the redirect URI; only its key is its own.
    let r = exchange_as(&eco, &thief, &ready.code, &ready.flow.verifier, &rp.redirect_uri).await;
    oauth_error(&r, 400, "invalid_grant");
    assert!(r.1.get("id_token").is_none());
    // The code is spent: the rightful client learns it was intercepted (and gets nothing).
    oauth_error(&exchange(&eco, &rp, &ready).await, 400, "invalid_grant");
}
sqlite_test!(code_for_another_client, a_code_is_only_for_the_client_it_was_issued_to);

async fn an_expired_code_is_refused(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let ready = code_for(&eco, &rp, &card, "openid").await;
    eco.clock.advance(Duration::seconds(61));
    oauth_error(&exchange(&eco, &rp, &ready).await, 400, "invalid_grant");
    // Within its minute, a code works.
    let ready = code_for(&eco, &rp, &card, "openid").await;
    eco.clock.advance(Duration::seconds(60));
    assert_eq!(exchange(&eco, &rp, &ready).await.0, 200);
}
sqlite_test!(code_after_expiry, an_expired_code_is_refused);

async fn pkce_verifier_missing_is_invalid_request_and_spares_the_code(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let ready = code_for(&eco, &rp, &card, "openid").await;
    let a = fresh(&eco, &rp);
    let r = eco
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &ready.code),
            ("redirect_uri", &rp.redirect_uri),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ])
        .await;
    oauth_error(&r, 400, "invalid_request");
    assert!(r.1["error_description"].as_str().unwrap().contains("code_verifier"), "{}", r.1);
    // Whoever cannot authenticate as the client cannot spend its code either (with everything
    // else right).
    let thief = eco.rp("RP00000002", json!({})).await;
    let forged = es256(&thief, &base_claims(&eco, &rp.client_id));
    let r = eco
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &ready.code),
            ("redirect_uri", &rp.redirect_uri),
            ("code_verifier", &ready.flow.verifier),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &forged),
        ])
        .await;
    refused_client(&r);
    assert_eq!(exchange(&eco, &rp, &ready).await.0, 200);
}
sqlite_test!(pkce_verifier_missing, pkce_verifier_missing_is_invalid_request_and_spares_the_code);

async fn pkce_mismatched_verifier_is_refused_and_burns_the_code(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let ready = code_for(&eco, &rp, &card, "openid name").await;
    assert!(eco.idp.store().flow(&ready.request_id).await.unwrap().unwrap().result.is_some());
    let other = rp.start("openid").verifier;
    let r = exchange_as(&eco, &rp, &ready.code, &other, &rp.redirect_uri).await;
    oauth_error(&r, 400, "invalid_grant");
    // What the card proved (the name) is not kept for a code that can no longer be exchanged.
    let flow = eco.idp.store().flow(&ready.request_id).await.unwrap().unwrap();
    assert!(flow.result.is_none(), "{:?}", flow.result);
    // Whoever tried a wrong verifier has the code: it is spent.
    oauth_error(&exchange(&eco, &rp, &ready).await, 400, "invalid_grant");
}
sqlite_test!(pkce_mismatched_verifier, pkce_mismatched_verifier_is_refused_and_burns_the_code);

async fn pkce_verifier_of_a_wrong_charset_or_length_is_refused(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    // The challenge matches these verifiers, but RFC 7636 §4.1 does not allow them.
    for verifier in [
        format!("{} !", "a".repeat(41)),  // space and '!'
        "a".repeat(42),                   // too short
        "a".repeat(129),                  // too long
        format!("{}é", "a".repeat(42)),   // not ASCII
        format!("{}%41", "a".repeat(40)), // percent sign
    ] {
        let mut flow = rp.start("openid");
        flow.challenge = s256(&verifier);
        flow.verifier = verifier.clone();
        let ready = code_with(&eco, &rp, &card, flow).await;
        let r = exchange(&eco, &rp, &ready).await;
        oauth_error(&r, 400, "invalid_grant");
    }
}
sqlite_test!(pkce_verifier_charset, pkce_verifier_of_a_wrong_charset_or_length_is_refused);

async fn pkce_missing_or_plain_is_refused_at_authorization(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let params = flow.params(&rp);
    // No challenge at all.
    let r = authz(&eco, &without(&without(&params, "code_challenge"), "code_challenge_method")).await;
    let pairs = error_redirect(&eco, &r, &rp, "invalid_request");
    assert_eq!(pairs["state"], flow.state);
    // plain (the challenge is the verifier itself).
    let plain = with(&with(&params, "code_challenge_method", "plain"), "code_challenge", &flow.verifier);
    error_redirect(&eco, &authz(&eco, &plain).await, &rp, "invalid_request");
    // The method left out (RFC 7636 would default to plain).
    error_redirect(&eco, &authz(&eco, &without(&params, "code_challenge_method")).await, &rp, "invalid_request");
    // s256 in lower case, and a challenge with characters outside [0-9a-zA-Z_-].
    error_redirect(&eco, &authz(&eco, &with(&params, "code_challenge_method", "s256")).await, &rp, "invalid_request");
    error_redirect(&eco, &authz(&eco, &with(&params, "code_challenge", "abc+/=")).await, &rp, "invalid_request");
    let long = "a".repeat(129);
    error_redirect(&eco, &authz(&eco, &with(&params, "code_challenge", &long)).await, &rp, "invalid_request");
}
sqlite_test!(pkce_missing_or_plain, pkce_missing_or_plain_is_refused_at_authorization);

// --- redirect URIs -----------------------------------------------------------------------------

async fn redirect_uri_variants_get_an_error_page_and_no_redirect(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let params = flow.params(&rp);
    assert_eq!(authz(&eco, &params).await.0, 303, "the registered URI works");
    let registered = rp.redirect_uri.clone(); // https://rp.example/RP00000001/callback
    for variant in [
        format!("{registered}/"),
        registered.replace("rp.example", "RP.EXAMPLE"),
        registered.replace("callback", "Callback"),
        format!("{registered}?next=https://evil.example/"),
        format!("{registered}#frag"),
        format!("{registered}?"),
        registered.replace("https://", "http://"),
        registered.replace("rp.example", "rp.example:8443"),
        registered.replace("rp.example", "rp.example:443"),
        registered.replace("rp.example", "evil.example@rp.example"),
        registered.replace("rp.example", "rp.example@evil.example"),
        registered.replace("rp.example", "rp.example.evil.example"),
        registered.replace("/callback", "/%63allback"),
        registered.replace("/callback", "/x/../callback"),
        format!(" {registered}"),
        "https://evil.example/RP00000001/callback".to_owned(),
        String::new(),
    ] {
        let r = authz(&eco, &with(&params, "redirect_uri", &variant)).await;
        assert_eq!(r.0, 400, "{variant:?}: {}", r.2);
        assert!(r.1.is_none(), "{variant:?} redirected to {:?}", r.1);
    }
    page(&authz(&eco, &without(&params, "redirect_uri")).await);
}
sqlite_test!(redirect_uri_variants, redirect_uri_variants_get_an_error_page_and_no_redirect);

async fn errors_with_an_unregistered_redirect_uri_never_redirect(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let evil = "https://evil.example/cb";
    let params = with(&flow.params(&rp), "redirect_uri", evil);
    // Each of these would be an error redirect with the registered URI.
    let cases: Vec<Vec<(&str, &str)>> = vec![
        with(&params, "response_type", "token"),
        without(&params, "state"),
        with(&params, "prompt", "none"),
        with(&params, "scope", "profile"),
        with(&params, "code_challenge_method", "plain"),
        with(&params, "request", "eyJhbGciOiJub25lIn0.e30."),
        with(&params, "client_id", "RP99999999"),
        with(&params, "client_id", "RP-0001"),
        without(&params, "client_id"),
    ];
    for case in &cases {
        let r = authz(&eco, case).await;
        page(&r);
        assert!(!r.2.contains("evil.example"), "the page does not link the URI: {}", r.2);
    }
    // The same through the POST form.
    let mut form = Url::parse("http://x/").unwrap();
    form.query_pairs_mut().extend_pairs(&cases[0]);
    let resp = eco
        .http
        .post(auth_url(&eco))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.query().unwrap().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    // A disabled client gets the page too, even with its registered URI.
    disable(&eco, &rp.client_id).await;
    page(&authz(&eco, &flow.params(&rp)).await);
}
sqlite_test!(open_redirect_through_errors, errors_with_an_unregistered_redirect_uri_never_redirect);

async fn redirect_uri_must_match_at_the_token_endpoint(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let first = "https://rp.example/RP00000001/callback";
    let rp = eco.rp("RP00000001", json!({"redirect_uris": [first, "https://rp.example/RP00000001/other"]})).await;
    let ready = code_for(&eco, &rp, &card, "openid").await;
    for other in ["https://rp.example/RP00000001/other", "https://rp.example/RP00000001/callback/", ""] {
        let r = exchange_as(&eco, &rp, &ready.code, &ready.flow.verifier, other).await;
        oauth_error(&r, 400, "invalid_grant");
    }
}
sqlite_test!(redirect_uri_mismatch_at_token, redirect_uri_must_match_at_the_token_endpoint);

// --- state and nonce -------------------------------------------------------------------------

async fn state_comes_back_byte_for_byte(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let odd = "a;b c;;d  e%20+&=?/#x~`!@$^*()[]{}|\\:'\",.<> ;";
    let mut flow = rp.start("openid");
    flow.state = odd.to_owned();
    let ready = code_with(&eco, &rp, &card, flow).await;
    assert_eq!(ready.flow.state, odd);
    // And on an error redirect (the user cancels).
    let mut flow = rp.start("openid");
    flow.state = odd.to_owned();
    let (status, location, cookie) = eco.authorize(&flow.params(&rp)).await;
    assert_eq!(status, 303);
    let id = request_id(&location);
    let (status, body) = send(eco.http.post(format!("{}/api/app/requests/{id}/cancel", eco.i))).await;
    assert_eq!(status, 200, "{body}");
    let (status, pairs, location) = eco.continue_flow(&id, &cookie.unwrap()).await;
    assert_eq!(status, 302, "{location}");
    assert_eq!(pairs["error"], "access_denied");
    assert_eq!(pairs["state"], odd);
    // 255 characters is the most.
    let long = "s".repeat(255);
    assert_eq!(authz(&eco, &with(&rp.start("openid").params(&rp), "state", &long)).await.0, 303);
}
sqlite_test!(state_byte_for_byte, state_comes_back_byte_for_byte);

async fn missing_overlong_or_non_printable_state_and_nonce_are_refused(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let params = flow.params(&rp);
    let long = "s".repeat(256);
    for name in ["state", "nonce"] {
        for bad in
            [None, Some(""), Some(long.as_str()), Some("a\u{1}b"), Some("tab\there"), Some("new\nline"), Some("日本")]
        {
            let p = match bad {
                None => without(&params, name),
                Some(v) => with(&params, name, v),
            };
            let r = authz(&eco, &p).await;
            let pairs = error_redirect(&eco, &r, &rp, "invalid_request");
            assert!(pairs["error_description"].contains(name), "{pairs:?}");
            if name == "state" {
                // A state that is not a valid one is not echoed.
                assert!(!pairs.contains_key("state"), "{pairs:?}");
            } else {
                assert_eq!(pairs["state"], flow.state);
            }
        }
    }
}
sqlite_test!(state_and_nonce_constraints, missing_overlong_or_non_printable_state_and_nonce_are_refused);

async fn duplicate_parameters_are_refused(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let flow = rp.start("openid");
    let mut url = Url::parse(&auth_url(&eco)).unwrap();
    url.query_pairs_mut().extend_pairs(flow.params(&rp));
    for dup in ["state=other", "redirect_uri=https%3A%2F%2Fevil.example%2Fcb", "client_id=RP00000002", "scope=openid"] {
        let r = authz_url(&eco, &format!("{url}&{dup}")).await;
        page(&r);
    }
    // At the token endpoint too.
    let ready = code_for(&eco, &rp, &card, "openid").await;
    let a = fresh(&eco, &rp);
    let r = eco
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &ready.code),
            ("code", "another"),
            ("redirect_uri", &rp.redirect_uri),
            ("code_verifier", &ready.flow.verifier),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ])
        .await;
    oauth_error(&r, 400, "invalid_request");
}
sqlite_test!(duplicate_parameters, duplicate_parameters_are_refused);

// --- scopes and the other authorization parameters ------------------------------------------------

async fn scope_constraints_are_enforced(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let params = flow.params(&rp);
    for (scope, error) in [
        ("openid profile", "invalid_scope"),
        ("openid email", "invalid_scope"),
        ("OpenID name", "invalid_scope"),
        ("openid Name", "invalid_scope"),
        ("name address", "invalid_scope"),
        ("", "invalid_scope"),
        ("openid  name", "invalid_scope"),
        ("openid my_number", "invalid_scope"),
    ] {
        let pairs = error_redirect(&eco, &authz(&eco, &with(&params, "scope", scope)).await, &rp, error);
        assert_eq!(pairs["state"], flow.state, "{scope:?}");
    }
    error_redirect(&eco, &authz(&eco, &without(&params, "scope")).await, &rp, "invalid_scope");
    // Every known scope but sign and my_number is fine.
    let all = "openid name address birthdate gender user_certificate";
    assert_eq!(authz(&eco, &with(&params, "scope", all)).await.0, 303);
}
sqlite_test!(scope_constraints, scope_constraints_are_enforced);

async fn my_number_needs_a_purpose(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid my_number");
    let pairs = error_redirect(&eco, &authz(&eco, &flow.params(&rp)).await, &rp, "invalid_scope");
    assert!(pairs["error_description"].contains("purpose"), "{pairs:?}");
    let purposed = eco.rp("RP00000002", json!({"my_number_purpose": "番号法別表 第1項"})).await;
    let flow = purposed.start("openid my_number");
    assert_eq!(authz(&eco, &flow.params(&purposed)).await.0, 303);
}
sqlite_test!(my_number_without_purpose, my_number_needs_a_purpose);

async fn sign_and_sign_transaction_id_go_together(backend: Backend) {
    let eco = Eco::start(backend).await;
    let rp = eco.rp("RP00000001", signer(&eco)).await;
    let other = eco.rp("RP00000002", signer(&eco)).await;
    let (s, cc) = client_credentials(&eco, &rp).await;
    assert_eq!(s, 200, "{cc}");
    let (s, tx) = start_sign_tx(&eco, cc["access_token"].as_str().unwrap()).await;
    assert_eq!(s, 201, "{tx}");
    let tx = tx["sign_transaction_id"].as_str().unwrap().to_owned();

    let signing = rp.start("openid sign");
    let params = signing.params(&rp);
    // sign without the transaction, the transaction without sign.
    error_redirect(&eco, &authz(&eco, &params).await, &rp, "invalid_request");
    let login = rp.start("openid");
    error_redirect(
        &eco,
        &authz(&eco, &with(&login.params(&rp), "sign_transaction_id", &tx)).await,
        &rp,
        "invalid_request",
    );
    // A transaction that does not exist, or garbage.
    let unknown = "3f0e7c8e-8f4e-4b7e-9d2e-6c1f2a3b4c5d";
    for bad in [unknown, "not-a-uuid", "\u{0}"] {
        error_redirect(&eco, &authz(&eco, &with(&params, "sign_transaction_id", bad)).await, &rp, "invalid_request");
    }
    // Another client's transaction.
    let theirs = other.start("openid sign");
    let r = authz(&eco, &with(&theirs.params(&other), "sign_transaction_id", &tx)).await;
    error_redirect(&eco, &r, &other, "invalid_request");
    // The owner can use it, once.
    assert_eq!(authz(&eco, &with(&params, "sign_transaction_id", &tx)).await.0, 303);
    let again = rp.start("openid sign");
    error_redirect(
        &eco,
        &authz(&eco, &with(&again.params(&rp), "sign_transaction_id", &tx)).await,
        &rp,
        "invalid_request",
    );
}
sqlite_test!(sign_and_transaction_id, sign_and_sign_transaction_id_go_together);

async fn unsupported_response_types_modes_and_prompts_are_refused(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let params = flow.params(&rp);
    for rt in ["token", "id_token", "code id_token", "code token", "none", "CODE"] {
        let pairs = error_redirect(
            &eco,
            &authz(&eco, &with(&params, "response_type", rt)).await,
            &rp,
            "unsupported_response_type",
        );
        assert_eq!(pairs["state"], flow.state);
    }
    error_redirect(&eco, &authz(&eco, &without(&params, "response_type")).await, &rp, "invalid_request");
    for mode in ["fragment", "form_post", "jwt"] {
        // The error goes back in the query: a fragment is never used.
        error_redirect(&eco, &authz(&eco, &with(&params, "response_mode", mode)).await, &rp, "invalid_request");
    }
    assert_eq!(authz(&eco, &with(&params, "response_mode", "query")).await.0, 303);
    for prompt in ["none", "login none"] {
        error_redirect(&eco, &authz(&eco, &with(&params, "prompt", prompt)).await, &rp, "login_required");
    }
    error_redirect(&eco, &authz(&eco, &with(&params, "request", "e30.e30.")).await, &rp, "request_not_supported");
    error_redirect(
        &eco,
        &authz(&eco, &with(&params, "request_uri", "https://evil.example/r")).await,
        &rp,
        "request_uri_not_supported",
    );
    error_redirect(&eco, &authz(&eco, &with(&params, "acr_values", "aal3 crl ocsp")).await, &rp, "invalid_request");
}
sqlite_test!(response_type_mode_prompt, unsupported_response_types_modes_and_prompts_are_refused);

// --- client authentication ---------------------------------------------------------------------

async fn a_client_assertion_is_used_once(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let a = fresh(&eco, &rp);
    accepted(&probe(&eco, &a).await);
    let r = probe(&eco, &a).await;
    refused_client(&r);
    assert!(r.1["error_description"].as_str().unwrap().contains("jti"), "{}", r.1);
    // The same jti in a new assertion is refused too; another client may use that jti.
    let jti = claims_of(&a)["jti"].as_str().unwrap().to_owned();
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("jti".into(), json!(jti));
                c.insert("exp".into(), json!(now(&eco) + 30));
            }),
        )
        .await,
    );
    let other = eco.rp("RP00000002", json!({})).await;
    let mut c = base_claims(&eco, &other.client_id);
    c["jti"] = json!(jti);
    accepted(&probe(&eco, &es256(&other, &c)).await);
    // jti is required, and bounded.
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.remove("jti");
            }),
        )
        .await,
    );
    let long = "j".repeat(256);
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("jti".into(), json!(long));
            }),
        )
        .await,
    );
}
on_both!(assertion_replay, a_client_assertion_is_used_once);

async fn assertion_lifetimes(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let t = now(&eco);
    // Expired, and expiring now.
    for exp in [t - 1, t] {
        refused_client(
            &probe(
                &eco,
                &assertion_with(&eco, &rp, |c| {
                    c.insert("iat".into(), json!(t - 60));
                    c.insert("exp".into(), json!(exp));
                }),
            )
            .await,
        );
    }
    // Living longer than a day: with iat, and without (then from now).
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("exp".into(), json!(t + 86_401));
            }),
        )
        .await,
    );
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.remove("iat");
                c.insert("exp".into(), json!(t + 86_401));
            }),
        )
        .await,
    );
    // Exactly 5 seconds and exactly one day are accepted (what real RPs send).
    for life in [5, 86_400] {
        accepted(
            &probe(
                &eco,
                &assertion_with(&eco, &rp, |c| {
                    c.insert("exp".into(), json!(t + life));
                }),
            )
            .await,
        );
    }
    // iat is optional.
    accepted(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.remove("iat");
            }),
        )
        .await,
    );
    // exp is not.
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.remove("exp");
            }),
        )
        .await,
    );
    // A one-day assertion made an hour ago still counts from its iat.
    accepted(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("iat".into(), json!(t - 3600));
                c.insert("exp".into(), json!(t - 3600 + 86_400));
            }),
        )
        .await,
    );
    // Non-numeric times.
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("exp".into(), json!((t + 60).to_string()));
            }),
        )
        .await,
    );
}
sqlite_test!(assertion_lifetime, assertion_lifetimes);

async fn an_assertion_issued_in_the_future_is_refused(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let t = now(&eco);
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("iat".into(), json!(t + 3600));
                c.insert("exp".into(), json!(t + 3660));
            }),
        )
        .await,
    );
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("nbf".into(), json!(t + 3600));
            }),
        )
        .await,
    );
    // A small skew is tolerated.
    accepted(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("iat".into(), json!(t + 30));
                c.insert("exp".into(), json!(t + 90));
            }),
        )
        .await,
    );
}
sqlite_test!(assertion_iat_in_future, an_assertion_issued_in_the_future_is_refused);

async fn assertion_audience(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let token = token_url(&eco);
    for aud in [
        json!(format!("{token}/")),
        json!(userinfo_url(&eco)),
        json!("https://another-idp.example/api/realms/main/protocol/openid-connect/token"),
        json!(token.to_uppercase()),
        json!([token.clone(), "https://another.example/token"]),
        json!(["https://another.example/token", token.clone()]),
        json!([]),
        json!([[token.clone()]]),
        json!(null),
        json!(1),
    ] {
        let r = probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("aud".into(), aud.clone());
            }),
        )
        .await;
        refused_client(&r);
    }
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.remove("aud");
            }),
        )
        .await,
    );
    // A one-element array is what some RPs send.
    accepted(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("aud".into(), json!([token.clone()]));
            }),
        )
        .await,
    );
}
sqlite_test!(assertion_wrong_aud, assertion_audience);

async fn unsigned_or_wrongly_signed_assertions_are_refused(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let claims = base_claims(&eco, &rp.client_id);
    let body = B64URL.encode(claims.to_string());
    // alg none, with and without a signature part.
    for header in [json!({"alg": "none", "typ": "JWT"}), json!({"alg": "None"}), json!({"alg": "NONE", "kid": rp.kid})]
    {
        let h = B64URL.encode(header.to_string());
        refused_client(&probe(&eco, &format!("{h}.{body}.")).await);
        refused_client(&probe(&eco, &format!("{h}.{body}")).await);
    }
    // HS256 with the client's public key as the HMAC secret (the JWK as registered, and its x).
    for secret in [rp.public_jwk.to_string().into_bytes(), B64URL.decode(rp.public_jwk["x"].as_str().unwrap()).unwrap()]
    {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(rp.kid.clone());
        let mut c = claims.clone();
        c["jti"] = json!(random_id(16));
        let jwt = jsonwebtoken::encode(&h, &c, &EncodingKey::from_secret(&secret).unwrap()).unwrap();
        refused_client(&probe(&eco, &jwt).await);
    }
    // The signature of another assertion spliced on; a tampered payload.
    let good = fresh(&eco, &rp);
    let parts: Vec<&str> = good.split('.').collect();
    let mut c = claims.clone();
    c["jti"] = json!(random_id(16));
    let spliced = format!("{}.{}.{}", parts[0], B64URL.encode(c.to_string()), parts[2]);
    refused_client(&probe(&eco, &spliced).await);
    refused_client(&probe(&eco, "not a jwt").await);
    refused_client(&probe(&eco, &"a".repeat(9000)).await);
    // The good one still works (nothing above spent it).
    accepted(&probe(&eco, &good).await);
}
sqlite_test!(assertion_alg_none_and_hs256, unsigned_or_wrongly_signed_assertions_are_refused);

async fn assertions_signed_with_a_key_the_client_does_not_have_are_refused(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    // RS256, where the client registered only an EC key (kid of its EC key, or its own).
    let (rsa, rsa_jwk) = rsa_key();
    for kid in [Some(rp.kid.clone()), Some(rsa_jwk["kid"].as_str().unwrap().to_owned()), None] {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = kid;
        let jwt = jsonwebtoken::encode(&h, &base_claims(&eco, &rp.client_id), &rsa).unwrap();
        refused_client(&probe(&eco, &jwt).await);
    }
    // Another client's key: its kid, or the victim's kid on the header.
    let other = eco.rp("RP00000002", json!({})).await;
    let jwt = es256(&other, &base_claims(&eco, &rp.client_id));
    refused_client(&probe(&eco, &jwt).await);
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(rp.kid.clone());
    let jwt = jsonwebtoken::encode(&h, &base_claims(&eco, &rp.client_id), &other.key).unwrap();
    refused_client(&probe(&eco, &jwt).await);
    // A client registered with that RSA key may use it.
    let rs = eco.rp("RP00000003", json!({"jwks": {"keys": [rsa_jwk.clone()]}})).await;
    let mut h = Header::new(Algorithm::RS256);
    h.kid = rsa_jwk["kid"].as_str().map(str::to_owned);
    accepted(&probe(&eco, &jsonwebtoken::encode(&h, &base_claims(&eco, &rs.client_id), &rsa).unwrap()).await);
}
sqlite_test!(assertion_foreign_keys, assertions_signed_with_a_key_the_client_does_not_have_are_refused);

async fn assertion_identity(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    // iss ≠ sub, no sub, client_id ≠ iss.
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("sub".into(), json!("RP00000002"));
            }),
        )
        .await,
    );
    refused_client(
        &probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.remove("sub");
            }),
        )
        .await,
    );
    let a = fresh(&eco, &rp);
    let verifier = "v".repeat(43);
    let r = eco
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("redirect_uri", &rp.redirect_uri),
            ("code_verifier", &verifier),
            ("client_id", "RP00000002"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ])
        .await;
    refused_client(&r);
    // Unknown clients (well-formed or not).
    for id in ["RP99999999", "RP-1", "", "RP00000001\u{0}"] {
        let mut c = base_claims(&eco, id);
        c["sub"] = json!(id);
        refused_client(&probe(&eco, &es256(&rp, &c)).await);
    }
    // The wrong assertion type, or none.
    let a = fresh(&eco, &rp);
    for t in ["urn:ietf:params:oauth:client-assertion-type:saml2-bearer", ""] {
        let r = eco
            .token(&[("grant_type", "client_credentials"), ("client_assertion_type", t), ("client_assertion", &a)])
            .await;
        refused_client(&r);
    }
}
sqlite_test!(assertion_iss_sub_unknown_client, assertion_identity);

async fn a_disabled_client_cannot_authenticate_and_its_tokens_die(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let t = tokens(&eco, &rp, &card, "openid name").await;
    let a = fresh(&eco, &rp);
    disable(&eco, &rp.client_id).await;
    refused_client(&probe(&eco, &a).await);
    let r = refresh(&eco, &rp, t["refresh_token"].as_str().unwrap(), None).await;
    refused_client(&r);
    let (status, body) = userinfo(&eco, t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "a disabled client's access token still reads userinfo: {body}");
    // Disabling twice: 404 (no such active client).
    let (status, _) = send(
        eco.http.post(format!("{}/api/admin/clients/{}/disable", eco.i, rp.client_id)).bearer_auth(&eco.admin_key),
    )
    .await;
    assert_eq!(status, 404);
}
sqlite_test!(disabled_client, a_disabled_client_cannot_authenticate_and_its_tokens_die);

async fn client_secrets_and_basic_auth_are_refused(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let verifier = "v".repeat(43);
    let base = [
        ("grant_type", "authorization_code"),
        ("code", "no-such-code"),
        ("redirect_uri", rp.redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    // client_secret_post.
    let mut form = base.to_vec();
    form.extend([("client_id", "RP00000001"), ("client_secret", "secret")]);
    refused_client(&eco.token(&form).await);
    // client_secret_post alongside a good assertion.
    let a = fresh(&eco, &rp);
    let mut form = base.to_vec();
    form.extend([("client_secret", "secret"), ("client_assertion_type", JWT_BEARER), ("client_assertion", &a)]);
    refused_client(&eco.token(&form).await);
    // client_secret_basic, with and without a good assertion.
    let a = fresh(&eco, &rp);
    let mut form = base.to_vec();
    form.extend([("client_assertion_type", JWT_BEARER), ("client_assertion", &a)]);
    for f in [base.to_vec(), form] {
        let r = send(eco.http.post(token_url(&eco)).basic_auth("RP00000001", Some("secret")).form(&f)).await;
        refused_client(&r);
    }
    // No authentication at all, and a JSON body.
    refused_client(&eco.token(&base).await);
    let r = send(eco.http.post(token_url(&eco)).json(&json!({"grant_type": "client_credentials"}))).await;
    oauth_error(&r, 400, "invalid_request");
    // Grants that do not exist here.
    let a = fresh(&eco, &rp);
    for g in ["password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", ""] {
        let r = eco.token(&[("grant_type", g), ("client_assertion_type", JWT_BEARER), ("client_assertion", &a)]).await;
        oauth_error(&r, 400, "unsupported_grant_type");
    }
}
sqlite_test!(client_secret_refused, client_secrets_and_basic_auth_are_refused);

// --- refresh tokens ---------------------------------------------------------------------------

async fn refresh_token_reuse_after_rotation_revokes_the_grant(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let t = tokens(&eco, &rp, &card, "openid name").await;
    let old = t["refresh_token"].as_str().unwrap();
    let (status, r1) = refresh(&eco, &rp, old, None).await;
    assert_eq!(status, 200, "{r1}");
    let new = r1["refresh_token"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(userinfo(&eco, r1["access_token"].as_str().unwrap()).await.0, 200);
    // The old token again: refused, and the grant ends.
    oauth_error(&refresh(&eco, &rp, old, None).await, 400, "invalid_grant");
    oauth_error(&refresh(&eco, &rp, new, None).await, 400, "invalid_grant");
    for at in [t["access_token"].as_str().unwrap(), r1["access_token"].as_str().unwrap()] {
        let (status, body) = userinfo(&eco, at).await;
        assert_eq!(status, 401, "{body}");
    }
    // Other logins of the same person at the same RP are untouched.
    let t2 = tokens(&eco, &rp, &card, "openid").await;
    assert_eq!(refresh(&eco, &rp, t2["refresh_token"].as_str().unwrap(), None).await.0, 200);
}
on_both!(refresh_reuse, refresh_token_reuse_after_rotation_revokes_the_grant);

async fn a_refresh_token_is_only_for_its_client_and_scope(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let other = eco.rp("RP00000002", json!({})).await;
    let t = tokens(&eco, &rp, &card, "openid name").await;
    let rt = t["refresh_token"].as_str().unwrap();
    oauth_error(&refresh(&eco, &other, rt, None).await, 400, "invalid_grant");
    // Widening the scope.
    for scope in ["openid name address", "openid my_number", "openid name sign", "openid  name"] {
        oauth_error(&refresh(&eco, &rp, rt, Some(scope)).await, 400, "invalid_scope");
    }
    // None of that spent the token; narrowing gives the narrower scope.
    let (status, r) = refresh(&eco, &rp, rt, Some("openid")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["scope"], "openid");
    assert_eq!(claims_of(r["access_token"].as_str().unwrap())["scope"], "openid");
    let (status, info) = userinfo(&eco, r["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{info}");
    assert!(info.get("name").is_none(), "a narrowed token reads only its scope: {info}");
    // Garbage refresh tokens.
    for bad in ["", "x", ".", "a.b", &format!("{}.x", "g".repeat(65)), "\u{0}.\u{0}"] {
        oauth_error(&refresh(&eco, &rp, bad, None).await, 400, "invalid_grant");
    }
}
sqlite_test!(refresh_other_client_and_scope, a_refresh_token_is_only_for_its_client_and_scope);

async fn an_expired_refresh_token_is_refused(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let t = tokens(&eco, &rp, &card, "openid").await;
    eco.clock.advance(Duration::minutes(31));
    oauth_error(&refresh(&eco, &rp, t["refresh_token"].as_str().unwrap(), None).await, 400, "invalid_grant");
}
sqlite_test!(refresh_expired, an_expired_refresh_token_is_refused);

// --- access tokens -------------------------------------------------------------------------------

async fn forged_tampered_and_expired_access_tokens_are_refused(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let t = tokens(&eco, &rp, &card, "openid name").await;
    let at = t["access_token"].as_str().unwrap().to_owned();
    let claims = claims_of(&at);
    let header: Value = serde_json::from_slice(&B64URL.decode(at.split('.').next().unwrap()).unwrap()).unwrap();
    // Another provider's token: the same claims, signed with another key under our kid, or its own.
    let (rsa, rsa_jwk) = rsa_key();
    for kid in [header["kid"].as_str().unwrap(), rsa_jwk["kid"].as_str().unwrap()] {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.to_owned());
        h.typ = Some("at+jwt".into());
        let forged = jsonwebtoken::encode(&h, &claims, &rsa).unwrap();
        let (status, body) = userinfo(&eco, &forged).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_token");
    }
    // Tampered: another scope, another sub, the signature cut or swapped.
    let parts: Vec<&str> = at.split('.').collect();
    for change in [
        json!({"scope": "openid name address birthdate gender"}),
        json!({"sub": "someone-else"}),
        json!({"exp": claims["exp"].as_i64().unwrap() + 3600}),
    ] {
        let mut c = claims.clone();
        for (k, v) in change.as_object().unwrap() {
            c[k] = v.clone();
        }
        let tampered = format!("{}.{}.{}", parts[0], B64URL.encode(c.to_string()), parts[2]);
        assert_eq!(userinfo(&eco, &tampered).await.0, 401);
    }
    assert_eq!(userinfo(&eco, &format!("{}.{}.", parts[0], parts[1])).await.0, 401);
    let none = format!("{}.{}.", B64URL.encode(r#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
    assert_eq!(userinfo(&eco, &none).await.0, 401);
    // The ID token and the refresh token are not access tokens.
    assert_eq!(userinfo(&eco, t["id_token"].as_str().unwrap()).await.0, 401);
    assert_eq!(userinfo(&eco, t["refresh_token"].as_str().unwrap()).await.0, 401);
    // No token, another scheme, the token in the query.
    let (status, _) = send(eco.http.get(userinfo_url(&eco))).await;
    assert_eq!(status, 401);
    let (status, _) = send(eco.http.get(userinfo_url(&eco)).basic_auth("RP00000001", Some(&at))).await;
    assert_eq!(status, 401);
    let (status, _) = send(eco.http.get(format!("{}?access_token={at}", userinfo_url(&eco)))).await;
    assert_eq!(status, 401);
    // The real one works until it expires (5 minutes), then not.
    assert_eq!(userinfo(&eco, &at).await.0, 200);
    eco.clock.advance(Duration::seconds(300));
    let (status, body) = userinfo(&eco, &at).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
}
sqlite_test!(access_token_forged_tampered_expired, forged_tampered_and_expired_access_tokens_are_refused);

async fn tokens_are_only_good_for_their_purpose(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000001", signer(&eco)).await;
    // A client_credentials token (scope sign, no openid) at userinfo: 403.
    let (status, cc) = client_credentials(&eco, &rp).await;
    assert_eq!(status, 200, "{cc}");
    assert!(cc.get("id_token").is_none() && cc.get("refresh_token").is_none(), "{cc}");
    let (status, body) = userinfo(&eco, cc["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    // client_credentials asks for sign only.
    let a = fresh(&eco, &rp);
    let r = eco
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid name"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ])
        .await;
    oauth_error(&r, 400, "invalid_scope");
    // An authorization-code token cannot start sign transactions.
    let t = tokens(&eco, &rp, &card, "openid").await;
    let (status, body) = start_sign_tx(&eco, t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 403, "{body}");
    // A client without a sign result recipient gets no client_credentials token.
    let plain = eco.rp("RP00000002", json!({})).await;
    oauth_error(&client_credentials(&eco, &plain).await, 400, "unauthorized_client");
}
sqlite_test!(token_purposes, tokens_are_only_good_for_their_purpose);

async fn the_id_token_verifies_with_the_published_jwks_and_says_exactly_who(backend: Backend) {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, DecodingKey, Validation};
    let Setup { eco, rp, card } = setup(backend).await;
    let mut flow = rp.start("openid name");
    flow.nonce = "n;o n-ce \"quoted\" <>".to_owned();
    let ready = code_with(&eco, &rp, &card, flow).await;
    let (status, t) = exchange(&eco, &rp, &ready).await;
    assert_eq!(status, 200, "{t}");
    let id_token = t["id_token"].as_str().unwrap();
    let (status, jwks) = send(eco.http.get(format!("{}/protocol/openid-connect/certs", eco.issuer()))).await;
    assert_eq!(status, 200);
    let jwks: JwkSet = serde_json::from_value(jwks).unwrap();
    let header = decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    let kid = header.kid.unwrap();
    let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("kid {kid} is not published"));
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let validation = |aud: &str, iss: &str| {
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&[aud]);
        v.set_issuer(&[iss]);
        v.validate_exp = false; // the ecosystem's clock is not the system's
        v
    };
    let claims = decode::<Value>(id_token, &key, &validation(&rp.client_id, &eco.issuer())).unwrap().claims;
    assert_eq!(claims["iss"], eco.issuer());
    assert!(!claims["iss"].as_str().unwrap().ends_with('/'));
    assert_eq!(claims["aud"], json!(rp.client_id), "aud is a string");
    assert_eq!(claims["azp"], json!(rp.client_id));
    assert_eq!(claims["nonce"], json!(ready.flow.nonce));
    let at = t["access_token"].as_str().unwrap();
    let h = DigestAlgorithm::Sha256.digest(at.as_bytes());
    assert_eq!(claims["at_hash"], json!(B64URL.encode(&h[..16])));
    assert_eq!(claims["iat"], json!(now(&eco)));
    assert!(claims["exp"].as_i64().unwrap() > now(&eco));
    assert_eq!(claims["acr"], "aal3 crl");
    let (_, info) = userinfo(&eco, at).await;
    assert_eq!(claims["sub"], info["sub"]);
    // The check is not vacuous: another audience, another issuer, another key all fail.
    assert!(decode::<Value>(id_token, &key, &validation("RP00000002", &eco.issuer())).is_err());
    assert!(decode::<Value>(id_token, &key, &validation(&rp.client_id, &format!("{}/", eco.issuer()))).is_err());
    let at_kid = decode_header(at).unwrap().kid.unwrap();
    assert_ne!(at_kid, kid);
    let rsa = DecodingKey::from_jwk(jwks.find(&at_kid).unwrap()).unwrap();
    assert!(decode::<Value>(id_token, &rsa, &validation(&rp.client_id, &eco.issuer())).is_err());
    // The refreshed ID token says the same, without the nonce.
    let (status, r) = refresh(&eco, &rp, t["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200, "{r}");
    let again = decode::<Value>(r["id_token"].as_str().unwrap(), &key, &validation(&rp.client_id, &eco.issuer()))
        .unwrap()
        .claims;
    assert_eq!((&again["iss"], &again["aud"], &again["sub"]), (&claims["iss"], &claims["aud"], &claims["sub"]));
    assert_eq!(again["auth_time"], claims["auth_time"]);
}
sqlite_test!(id_token_checked_with_jwks, the_id_token_verifies_with_the_published_jwks_and_says_exactly_who);

// --- the flow in the browser and the app --------------------------------------------------------

async fn the_flow_cookie_of_another_flow_is_refused(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let a = rp.start("openid");
    let (_, loc_a, cookie_a) = eco.authorize(&a.params(&rp)).await;
    let b = rp.start("openid");
    let (_, loc_b, cookie_b) = eco.authorize(&b.params(&rp)).await;
    let id_a = request_id(&loc_a);
    assert_ne!(id_a, request_id(&loc_b));
    // The cookie is the browser's alone: not readable by scripts, not sent cross-site on POSTs,
    // only to this request's paths, gone when the request is.
    let (_, headers, _) = {
        let mut url = Url::parse(&auth_url(&eco)).unwrap();
        url.query_pairs_mut().extend_pairs(rp.start("openid").params(&rp));
        eco.get_raw(url.as_str(), None).await
    };
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    let id = request_id(headers["location"].to_str().unwrap());
    for attribute in ["HttpOnly", "SameSite=Lax", &format!("Path=/app/requests/{id}"), "Max-Age=600"] {
        assert!(set_cookie.split("; ").any(|a| a == attribute), "{attribute} in {set_cookie}");
    }
    let (cookie_a, cookie_b) = (cookie_a.unwrap(), cookie_b.unwrap());
    let (status, answer) = eco.approve_login(&id_a, &card).await;
    assert_eq!(status, 200, "{answer}");
    // B's cookie as it is, and B's secret under A's name; no cookie.
    let b_secret = cookie_b.split_once('=').unwrap().1;
    for cookie in
        [cookie_b.clone(), format!("hanko_flow_{id_a}={b_secret}"), format!("hanko_flow_{id_a}="), String::new()]
    {
        let (status, pairs, body) = eco.continue_flow(&id_a, &cookie).await;
        assert_eq!(status, 403, "{cookie}: {body}");
        assert!(!pairs.contains_key("code"));
    }
    // A's own cookie works, once: the code is issued once.
    let (status, pairs, _) = eco.continue_flow(&id_a, &cookie_a).await;
    assert_eq!(status, 302);
    assert!(pairs.contains_key("code"));
    let (status, pairs, _) = eco.continue_flow(&id_a, &cookie_a).await;
    assert_eq!(status, 409);
    assert!(!pairs.contains_key("code"));
    // An unknown request.
    let (status, _, _) = eco.continue_flow("nosuchrequest", &cookie_a).await;
    assert_eq!(status, 404);
}
sqlite_test!(flow_cookie_of_another_flow, the_flow_cookie_of_another_flow_is_refused);

async fn a_request_is_approved_once_and_not_after_it_expired(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let flow = rp.start("openid");
    let (_, location, _) = eco.authorize(&flow.params(&rp)).await;
    let id = request_id(&location);
    let body = approval_body(&eco, &id, &card).await;
    let (status, first) = post_approval(&eco, &id, &body).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = post_approval(&eco, &id, &body).await;
    assert_eq!(status, 409, "{second}");
    let (status, cancel) = send(eco.http.post(format!("{}/api/app/requests/{id}/cancel", eco.i))).await;
    assert_eq!(status, 409, "{cancel}");

    // Expired: the challenge read in time, the approval too late.
    let flow = rp.start("openid");
    let (_, location, cookie) = eco.authorize(&flow.params(&rp)).await;
    let id = request_id(&location);
    let body = approval_body(&eco, &id, &card).await;
    eco.clock.advance(Duration::seconds(601));
    let (status, late) = post_approval(&eco, &id, &body).await;
    assert_eq!(status, 410, "{late}");
    // The browser is sent back with access_denied.
    let (status, pairs, _) = eco.continue_flow(&id, &cookie.unwrap()).await;
    assert_eq!(status, 302);
    assert_eq!(pairs["error"], "access_denied");
    assert_eq!(pairs["state"], flow.state);
}
sqlite_test!(second_and_expired_approval, a_request_is_approved_once_and_not_after_it_expired);

// --- every route with another client's (or no) credentials -------------------------------------------

async fn every_route_refuses_wrong_credentials(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp1 = eco.rp("RP00000001", signer(&eco)).await;
    let rp2 = eco.rp("RP00000002", json!({})).await;
    let t1 = tokens(&eco, &rp1, &card, "openid name").await;
    let t2 = tokens(&eco, &rp2, &card, "openid").await;
    let code1 = code_for(&eco, &rp1, &card, "openid").await;
    let (_, cc1) = client_credentials(&eco, &rp1).await;
    let cc1 = cc1["access_token"].as_str().unwrap().to_owned();
    // A signed transaction of RP1 and the token of the authorization that signed it.
    let digest = B64.encode(DigestAlgorithm::Sha256.digest(b"RP1's document"));
    let (tx, signed) = crate::sign::sign(&eco, &rp1, &card, &digest, "openid sign").await;
    let ts = signed["access_token"].as_str().unwrap().to_owned();
    let f1 = rp1.start("openid");
    let (_, loc1, cookie1) = eco.authorize(&f1.params(&rp1)).await;
    let f2 = rp1.start("openid");
    let (_, _, cookie2) = eco.authorize(&f2.params(&rp1)).await;
    let id1 = request_id(&loc1);
    let secret2 = cookie2.unwrap().split_once('=').unwrap().1.to_owned();
    let _ = cookie1;
    let at1 = t1["access_token"].as_str().unwrap().to_owned();
    let at2 = t2["access_token"].as_str().unwrap().to_owned();
    let unknown_flow = random_id(16);

    let (status, doc) = send(eco.http.get(format!("{}/openapi.json", eco.i))).await;
    assert_eq!(status, 200);
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if !item[method].is_object() {
                continue;
            }
            let url = |p: &str| format!("{}{p}", eco.i);
            let h = &eco.http;
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // (what, request, expected status)
            let mut cases: Vec<(String, reqwest::RequestBuilder, u16)> = Vec::new();
            match (method, path.as_str()) {
                (
                    _,
                    "/api/realms/main/.well-known/openid-configuration"
                    | "/api/realms/main/protocol/openid-connect/certs"
                    | "/openapi.json"
                    | "/healthz",
                ) => {
                    cases.push(("public, no credentials needed".into(), h.request(m.clone(), url(path)), 200));
                }
                (_, "/api/realms/main/protocol/openid-connect/auth") => {
                    let p = with(&f1.params(&rp1), "redirect_uri", &rp2.redirect_uri);
                    let mut u = Url::parse(&url(path)).unwrap();
                    u.query_pairs_mut().extend_pairs(&p);
                    let req = if method == "get" {
                        h.get(u.as_str())
                    } else {
                        h.post(url(path))
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(u.query().unwrap().to_owned())
                    };
                    cases.push(("RP1's client_id with RP2's redirect URI".into(), req, 400));
                }
                ("post", "/api/realms/main/protocol/openid-connect/token") => {
                    let a2 = fresh(&eco, &rp2);
                    cases.push((
                        "RP1's code with RP2's assertion".into(),
                        h.post(url(path)).form(&[
                            ("grant_type", "authorization_code"),
                            ("code", code1.code.as_str()),
                            ("redirect_uri", rp1.redirect_uri.as_str()),
                            ("code_verifier", code1.flow.verifier.as_str()),
                            ("client_assertion_type", JWT_BEARER),
                            ("client_assertion", a2.as_str()),
                        ]),
                        400,
                    ));
                    let a2 = fresh(&eco, &rp2);
                    cases.push((
                        "RP1's refresh token with RP2's assertion".into(),
                        h.post(url(path)).form(&[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", t1["refresh_token"].as_str().unwrap()),
                            ("client_assertion_type", JWT_BEARER),
                            ("client_assertion", a2.as_str()),
                        ]),
                        400,
                    ));
                    let forged = es256(&rp2, &base_claims(&eco, &rp1.client_id));
                    cases.push((
                        "an assertion for RP1 signed with RP2's key".into(),
                        h.post(url(path)).form(&[
                            ("grant_type", "client_credentials"),
                            ("client_assertion_type", JWT_BEARER),
                            ("client_assertion", forged.as_str()),
                        ]),
                        401,
                    ));
                }
                (_, "/api/realms/main/protocol/openid-connect/userinfo") => {
                    cases.push(("no token".into(), h.request(m.clone(), url(path)), 401));
                    cases.push((
                        "the admin key".into(),
                        h.request(m.clone(), url(path)).bearer_auth(&eco.admin_key),
                        401,
                    ));
                    cases.push((
                        "RP1's client_credentials token".into(),
                        h.request(m.clone(), url(path)).bearer_auth(&cc1),
                        403,
                    ));
                }
                ("post", "/api/sign-transactions") => {
                    let body = json!({"digest": B64.encode([0u8; 32])});
                    cases.push(("no token".into(), h.post(url(path)).json(&body), 401));
                    cases.push((
                        "the admin key".into(),
                        h.post(url(path)).bearer_auth(&eco.admin_key).json(&body),
                        401,
                    ));
                    cases.push(("RP1's code token".into(), h.post(url(path)).bearer_auth(&at1).json(&body), 403));
                    cases.push(("RP2's code token".into(), h.post(url(path)).bearer_auth(&at2).json(&body), 403));
                }
                ("get", "/api/sign-transactions/{id}/result") => {
                    let u = url(&path.replace("{id}", &tx));
                    cases.push(("no token".into(), h.get(&u), 401));
                    cases.push(("the admin key".into(), h.get(&u).bearer_auth(&eco.admin_key), 401));
                    // Another client's transaction is unknown to it.
                    cases.push(("RP2's code token".into(), h.get(&u).bearer_auth(&at2), 404));
                    cases.push(("RP1's code token of another grant".into(), h.get(&u).bearer_auth(&at1), 403));
                    cases.push(("RP1's client_credentials token".into(), h.get(&u).bearer_auth(&cc1), 403));
                    // The refusals are not vacuous: the right token reads it.
                    cases.push(("the token of the signing authorization".into(), h.get(&u).bearer_auth(&ts), 200));
                }
                ("get", "/app/requests/{id}/continue") => {
                    let u = url(&path.replace("{id}", &id1));
                    cases.push(("no cookie".into(), h.get(&u), 403));
                    cases.push((
                        "another flow's cookie secret".into(),
                        h.get(&u).header("cookie", format!("hanko_flow_{id1}={secret2}")),
                        403,
                    ));
                }
                (_, p) if p.starts_with("/api/admin/") => {
                    let u = url(&p.replace("{id}", &rp1.client_id));
                    let body = json!({"name": "x", "redirect_uris": ["https://evil.example/cb"], "jwks": {"keys": [rp2.public_jwk.clone()]}});
                    cases.push(("no key".into(), h.request(m.clone(), &u).json(&body), 401));
                    cases.push((
                        "an RP's access token".into(),
                        h.request(m.clone(), &u).bearer_auth(&at1).json(&body),
                        401,
                    ));
                    cases.push((
                        "the platform's admin key".into(),
                        h.request(m.clone(), &u).bearer_auth(&eco.platform_admin).json(&body),
                        401,
                    ));
                    cases.push((
                        "a Basic admin key".into(),
                        h.request(m.clone(), &u).basic_auth("admin", Some(&eco.admin_key)).json(&body),
                        401,
                    ));
                }
                (_, p) if p.starts_with("/api/app/requests/{id}") => {
                    // The request id is the capability: an unknown one finds nothing.
                    let u = url(&p.replace("{id}", &unknown_flow));
                    let body = json!({"certificate": "AAAA", "signature": "AAAA"});
                    cases.push((
                        "an unknown request".into(),
                        h.request(m.clone(), &u).bearer_auth(&at1).json(&body),
                        404,
                    ));
                }
                (_, p) => {
                    // A route this table does not know yet: without credentials it must at least
                    // not fail on the server's side.
                    let u = url(&p.replace("{id}", &unknown_flow));
                    let resp = h.request(m.clone(), &u).send().await.unwrap();
                    assert!(resp.status().as_u16() < 500, "{method} {p}: {}", resp.status());
                    eprintln!("note: {method} {p} is not in the credentials table");
                    continue;
                }
            }
            for (what, req, expected) in cases {
                let (status, body) = send(req).await;
                assert_eq!(status, expected, "{method} {path}: {what}: {body}");
                if expected == 401 || expected == 403 {
                    assert!(body.get("access_token").is_none() && body.get("sign_certificate_jwe").is_none(), "{body}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "checked only {checked} cases");
    // Nothing above changed what RP1 holds.
    assert_eq!(userinfo(&eco, &at1).await.0, 200);
    assert_eq!(refresh(&eco, &rp1, t1["refresh_token"].as_str().unwrap(), None).await.0, 200);
}
sqlite_test!(wrong_credentials_on_every_route, every_route_refuses_wrong_credentials);

// --- housekeeping and robustness ------------------------------------------------------------------

async fn the_purge_removes_expired_rows_only(backend: Backend) {
    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP00000001", signer(&eco)).await;
    let t = tokens(&eco, &rp, &card, "openid name").await;
    let grant = claims_of(t["access_token"].as_str().unwrap())["sid"].as_str().unwrap().to_owned();
    let flow = rp.start("openid");
    let (_, location, _) = eco.authorize(&flow.params(&rp)).await;
    let pending = request_id(&location);
    let (_, cc) = client_credentials(&eco, &rp).await;
    let (_, tx) = start_sign_tx(&eco, cc["access_token"].as_str().unwrap()).await;
    let tx = tx["sign_transaction_id"].as_str().unwrap().to_owned();
    // The longest-lived used assertion: a day.
    let day = assertion_with(&eco, &rp, |c| {
        c.insert("exp".into(), json!(now(&eco) + 86_400));
    });
    accepted(&probe(&eco, &day).await);
    let store = eco.idp.store();
    let count = |table: &'static str| async move {
        let n: i64 = hanko_store::sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.db().pool())
            .await
            .unwrap();
        n
    };
    let before: Vec<i64> = vec![
        count("flows").await,
        count("grants").await,
        count("used_assertions").await,
        count("sign_transactions").await,
    ];
    assert!(before.iter().all(|n| *n > 0), "{before:?}");
    // Nothing is due yet.
    assert_eq!(store.purge(now(&eco)).await.unwrap(), 0);
    assert!(store.flow(&pending).await.unwrap().is_some());
    // A day later everything is.
    eco.clock.advance(Duration::days(1) + Duration::seconds(1));
    let n = store.purge(now(&eco)).await.unwrap();
    assert_eq!(n as i64, before.iter().sum::<i64>());
    for table in ["flows", "grants", "used_assertions", "sign_transactions"] {
        assert_eq!(count(table).await, 0, "{table}");
    }
    assert!(store.grant(&grant).await.unwrap().is_none());
    assert!(store.sign_tx(&tx).await.unwrap().is_none());
    // What was purged answers as unknown, never as a server error.
    let (status, _) = send(eco.http.get(format!("{}/api/app/requests/{pending}", eco.i))).await;
    assert_eq!(status, 404);
    let (status, _) = userinfo(&eco, t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    oauth_error(&refresh(&eco, &rp, t["refresh_token"].as_str().unwrap(), None).await, 400, "invalid_grant");
    // A purged jti cannot be replayed: its assertion has expired.
    refused_client(&probe(&eco, &day).await);
    // The service still works afterwards (with the day's CRLs).
    eco.publish_and_refresh().await;
    assert_eq!(tokens(&eco, &rp, &card, "openid").await["token_type"], "Bearer");
}
on_both!(purge, the_purge_removes_expired_rows_only);

async fn client_mistakes_never_get_a_500(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let i = &eco.i;
    let h = &eco.http;
    let nul = "%00";
    let mut requests: Vec<(String, reqwest::RequestBuilder)> = vec![
        (format!("GET app request {nul}"), h.get(format!("{i}/api/app/requests/{nul}"))),
        (format!("GET app request {nul}x"), h.get(format!("{i}/api/app/requests/a{nul}b"))),
        ("GET app request %FF".into(), h.get(format!("{i}/api/app/requests/%FF"))),
        ("GET app request long".into(), h.get(format!("{i}/api/app/requests/{}", "a".repeat(5000)))),
        ("approve NUL".into(), h.post(format!("{i}/api/app/requests/{nul}/approval")).json(&json!({"certificate": "", "signature": ""}))),
        ("cancel NUL".into(), h.post(format!("{i}/api/app/requests/{nul}/cancel"))),
        ("continue NUL".into(), h.get(format!("{i}/app/requests/{nul}/continue"))),
        ("admin get NUL".into(), h.get(format!("{i}/api/admin/clients/{nul}")).bearer_auth(&eco.admin_key)),
        ("admin disable NUL".into(), h.post(format!("{i}/api/admin/clients/{nul}/disable")).bearer_auth(&eco.admin_key)),
        (
            "admin put NUL".into(),
            h.put(format!("{i}/api/admin/clients/{nul}")).bearer_auth(&eco.admin_key).json(&json!({"name": "x", "redirect_uris": ["https://rp.example/cb"], "jwks": {"keys": [rp.public_jwk.clone()]}})),
        ),
        ("sign result NUL".into(), h.get(format!("{i}/api/sign-transactions/{nul}/result")).bearer_auth("x")),
        ("token: not a form".into(), h.post(token_url(&eco)).body("{]")),
        ("token: garbage form".into(), h.post(token_url(&eco)).header("content-type", "application/x-www-form-urlencoded").body("%%%&&==&%ZZ")),
        ("approval: not JSON".into(), h.post(format!("{i}/api/app/requests/x/approval")).header("content-type", "application/json").body("{")),
    ];
    // A pending request approved with garbage.
    let flow = rp.start("openid");
    let (_, location, _) = eco.authorize(&flow.params(&rp)).await;
    let id = request_id(&location);
    let _ = eco.app_request(&id).await;
    let mut approvals = Vec::new();
    for body in [
        json!({"certificate": "AAAA", "signature": "AAAA"}),
        json!({"certificate": "!!", "signature": "AAAA"}),
        json!({"certificate": B64.encode(b"not a certificate"), "signature": B64.encode([0u8; 256])}),
        json!({"certificate": "AAAA"}),
        json!({"certificate": "AAAA", "signature": "AAAA", "extra": 1}),
    ] {
        approvals.push((format!("approval {body}"), h.post(format!("{i}/api/app/requests/{id}/approval")).json(&body)));
    }
    // Assertions whose strings reach the database.
    for jti in ["\u{0}", "a\u{0}b"] {
        let a = assertion_with(&eco, &rp, |c| {
            c.insert("jti".into(), json!(jti));
        });
        requests.push((
            format!("jti {jti:?}"),
            h.post(token_url(&eco)).form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ]),
        ));
    }
    for rt in ["\u{0}.x", "abc\u{0}.x\u{0}"] {
        let a = fresh(&eco, &rp);
        requests.push((
            format!("refresh {rt:?}"),
            h.post(token_url(&eco)).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ]),
        ));
    }
    let a = fresh(&eco, &rp);
    let verifier = "v".repeat(43);
    requests.push((
        "code NUL".into(),
        h.post(token_url(&eco)).form(&[
            ("grant_type", "authorization_code"),
            ("code", "\u{0}"),
            ("redirect_uri", "\u{0}"),
            ("code_verifier", verifier.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ]),
    ));
    for (what, req) in requests {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert!((400..500).contains(&status), "{what}: {status} {body}");
    }
    // A refused card may end the request (200, failed) or be refused (4xx), never a 500.
    for (what, req) in approvals {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert!(status < 500, "{what}: {status} {body}");
    }
    // The service is fine afterwards.
    assert_eq!(tokens(&eco, &rp, &card, "openid").await["token_type"], "Bearer");
}
on_both!(no_500_for_client_mistakes, client_mistakes_never_get_a_500);

// --- races: the storage decides who wins ----------------------------------------------------------

/// POSTs `forms` to the token endpoint all at once: the answers.
async fn token_race(eco: &Eco, forms: Vec<Vec<(String, String)>>) -> Vec<(u16, Value)> {
    let mut set = tokio::task::JoinSet::new();
    for form in forms {
        let (http, url) = (eco.http.clone(), token_url(eco));
        set.spawn(async move { send(http.post(url).form(&form)).await });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

fn owned(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

async fn a_code_raced_from_many_connections_gives_no_live_tokens(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let ready = code_for(&eco, &rp, &card, "openid name").await;
    let forms = (0..6)
        .map(|_| {
            let a = fresh(&eco, &rp);
            owned(&[
                ("grant_type", "authorization_code"),
                ("code", &ready.code),
                ("redirect_uri", &rp.redirect_uri),
                ("code_verifier", &ready.flow.verifier),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ])
        })
        .collect();
    let answers = token_race(&eco, forms).await;
    let winners: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert!(winners.len() <= 1, "{answers:?}");
    for a in answers.iter().filter(|(s, _)| *s != 200) {
        oauth_error(a, 400, "invalid_grant");
    }
    // The code was presented more than once: whatever it gave is revoked.
    for w in winners {
        assert_eq!(userinfo(&eco, w["access_token"].as_str().unwrap()).await.0, 401);
        oauth_error(&refresh(&eco, &rp, w["refresh_token"].as_str().unwrap(), None).await, 400, "invalid_grant");
    }
}
on_both!(code_race, a_code_raced_from_many_connections_gives_no_live_tokens);

async fn a_refresh_token_raced_from_many_connections_ends_the_grant(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let t = tokens(&eco, &rp, &card, "openid").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let forms = (0..6)
        .map(|_| {
            let a = fresh(&eco, &rp);
            owned(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ])
        })
        .collect();
    let answers = token_race(&eco, forms).await;
    let winners: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {answers:?}");
    for a in answers.iter().filter(|(s, _)| *s != 200) {
        oauth_error(a, 400, "invalid_grant");
    }
    // The others were reuse: the grant is over, the winner's new token included.
    oauth_error(&refresh(&eco, &rp, winners[0]["refresh_token"].as_str().unwrap(), None).await, 400, "invalid_grant");
    assert_eq!(userinfo(&eco, winners[0]["access_token"].as_str().unwrap()).await.0, 401);
}
on_both!(refresh_race, a_refresh_token_raced_from_many_connections_ends_the_grant);

async fn one_assertion_raced_from_many_connections_is_accepted_once(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let a = fresh(&eco, &rp);
    let verifier = "v".repeat(43);
    let form = owned(&[
        ("grant_type", "authorization_code"),
        ("code", "no-such-code"),
        ("redirect_uri", &rp.redirect_uri),
        ("code_verifier", &verifier),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &a),
    ]);
    let answers = token_race(&eco, vec![form; 8]).await;
    let accepted_n = answers.iter().filter(|(_, b)| b["error"] == "invalid_grant").count();
    let refused_n = answers.iter().filter(|(s, b)| *s == 401 && b["error"] == "invalid_client").count();
    assert_eq!((accepted_n, refused_n), (1, 7), "{answers:?}");
}
on_both!(assertion_race, one_assertion_raced_from_many_connections_is_accepted_once);

async fn a_request_approved_from_many_connections_is_approved_once(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let flow = rp.start("openid");
    let (_, location, _) = eco.authorize(&flow.params(&rp)).await;
    let id = request_id(&location);
    let body = approval_body(&eco, &id, &card).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (http, url, body) = (eco.http.clone(), format!("{}/api/app/requests/{id}/approval", eco.i), body.clone());
        set.spawn(async move { send(http.post(url).json(&body)).await });
    }
    let mut answers = Vec::new();
    while let Some(r) = set.join_next().await {
        answers.push(r.unwrap());
    }
    let approved = answers.iter().filter(|(s, b)| *s == 200 && b["status"] == "approved").count();
    assert_eq!(approved, 1, "{answers:?}");
    // The others are refused as clients' mistakes (409 answered already, or the platform's
    // challenge used up), never a server error.
    assert!(answers.iter().all(|(s, _)| *s == 200 || (400..500).contains(s)), "{answers:?}");
}
on_both!(approval_race, a_request_approved_from_many_connections_is_approved_once);

// --- more of the authorization endpoint ------------------------------------------------------------

async fn the_error_page_escapes_what_the_attacker_wrote(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let mut url = Url::parse(&auth_url(&eco)).unwrap();
    url.query_pairs_mut().extend_pairs(flow.params(&rp));
    let evil = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let r = authz_url(&eco, &format!("{url}&{evil}=1&{evil}=2")).await;
    page(&r);
    assert!(!r.2.contains("<script>"), "{}", r.2);
    assert!(r.2.contains("&lt;script&gt;"), "{}", r.2);
    // The page is not to be framed or cached.
    let (_, headers, _) = eco.get_raw(&format!("{url}&{evil}=1&{evil}=2"), None).await;
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(headers.get("x-frame-options").unwrap(), "DENY");
    let csp = headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
}
sqlite_test!(error_page_xss, the_error_page_escapes_what_the_attacker_wrote);

async fn the_post_form_of_the_authorization_request_keeps_state_byte_for_byte(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let flow = rp.start("openid");
    let mut form = Url::parse("http://x/").unwrap();
    form.query_pairs_mut().extend_pairs(with(&flow.params(&rp), "state", "PLACEHOLDER"));
    // A raw '#' and ';' in the form body are data.
    let body = form.query().unwrap().replace("PLACEHOLDER", "a#b;c d");
    let resp = eco
        .http
        .post(auth_url(&eco))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let id = request_id(&location);
    assert_eq!(eco.approve_login(&id, &card).await.0, 200);
    let (status, pairs, _) = eco.continue_flow(&id, &cookie).await;
    assert_eq!(status, 302);
    assert_eq!(pairs["state"], "a#b;c d");
    // Not a form: refused, no redirect.
    let resp =
        eco.http.post(auth_url(&eco)).header("content-type", "application/json").body(body).send().await.unwrap();
    assert_eq!(resp.status(), 415);
    assert!(resp.headers().get("location").is_none());
}
sqlite_test!(post_authorization_state, the_post_form_of_the_authorization_request_keeps_state_byte_for_byte);

async fn registration_refuses_redirect_uris_that_invite_confusion(backend: Backend) {
    let eco = Eco::start(backend).await;
    let rp = Rp::new("RP00000009", &eco.issuer());
    for uri in [
        "https://user@rp.example/cb",
        "https://user:pass@rp.example/cb",
        "https://rp.example/cb#frag",
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://rp.example/cb",
        "//rp.example/cb",
        "/cb",
        "https://rp.example/c b",
        "https:///cb",
        "https://rp.example\\@evil.example/cb",
    ] {
        let body = json!({"client_id": "RP00000009", "name": "x", "redirect_uris": [uri], "jwks": {"keys": [rp.public_jwk.clone()]}});
        let (status, out) =
            send(eco.http.post(format!("{}/api/admin/clients", eco.i)).bearer_auth(&eco.admin_key).json(&body)).await;
        assert_eq!(status, 400, "{uri}: {out}");
    }
    // A symmetric key, or a private key, is not a client's public key.
    for jwk in [json!({"kty": "oct", "k": "c2VjcmV0"}), json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"})] {
        let body = json!({"client_id": "RP00000009", "name": "x", "redirect_uris": ["https://rp.example/cb"], "jwks": {"keys": [jwk]}});
        let (status, out) =
            send(eco.http.post(format!("{}/api/admin/clients", eco.i)).bearer_auth(&eco.admin_key).json(&body)).await;
        assert_eq!(status, 400, "{out}");
    }
}
sqlite_test!(registration_redirect_uris, registration_refuses_redirect_uris_that_invite_confusion);

async fn assertion_times_at_the_edges_of_i64_are_refused_cleanly(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    for (iat, exp) in [
        (json!(i64::MIN), json!(i64::MAX)),
        (json!(-1), json!(i64::MAX)),
        (json!(0), json!(u64::MAX)),
        (json!(1.5), json!(2.5e18)),
    ] {
        let r = probe(
            &eco,
            &assertion_with(&eco, &rp, |c| {
                c.insert("iat".into(), iat.clone());
                c.insert("exp".into(), exp.clone());
            }),
        )
        .await;
        refused_client(&r);
    }
}
sqlite_test!(assertion_time_overflow, assertion_times_at_the_edges_of_i64_are_refused_cleanly);

async fn answers_carry_the_headers_clients_rely_on(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    // Token answers and token errors are not cached.
    let ready = code_for(&eco, &rp, &card, "openid").await;
    let a = fresh(&eco, &rp);
    let resp = eco
        .http
        .post(token_url(&eco))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", ready.code.as_str()),
            ("redirect_uri", rp.redirect_uri.as_str()),
            ("code_verifier", ready.flow.verifier.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", a.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let tokens: Value = resp.json().await.unwrap();
    let resp = eco.http.post(token_url(&eco)).form(&[("grant_type", "client_credentials")]).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    // A refused bearer token says why, as RFC 6750 asks.
    let resp = eco.http.get(userinfo_url(&eco)).bearer_auth("forged").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""), "{challenge}");
    let (status, cc) = client_credentials(&eco, &rp).await;
    assert_eq!(status, 400, "this RP has no sign_result: {cc}");
    let _ = tokens;
    // Discovery advertises exactly what is enforced.
    let (_, d) = send(eco.http.get(format!("{}/.well-known/openid-configuration", eco.issuer()))).await;
    assert_eq!(d["issuer"], eco.issuer());
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["response_modes_supported"], json!(["query"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["token_endpoint_auth_methods_supported"], json!(["private_key_jwt"]));
    assert_eq!(d["token_endpoint"], json!(token_url(&eco)));
}
sqlite_test!(response_headers, answers_carry_the_headers_clients_rely_on);

async fn a_request_continued_before_approval_gives_no_code(backend: Backend) {
    let Setup { eco, rp, .. } = setup(backend).await;
    let flow = rp.start("openid");
    let (_, location, cookie) = eco.authorize(&flow.params(&rp)).await;
    let id = request_id(&location);
    let (status, headers, _) =
        eco.get_raw(&format!("{}/app/requests/{id}/continue", eco.i), Some(&cookie.unwrap())).await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], format!("/app/requests/{id}"));
    // The wallet's view shows what the RP asked, and no secret of the browser.
    let view = eco.app_request(&id).await;
    assert_eq!(view["status"], "pending");
    assert!(!view.to_string().contains(&flow.state) && !view.to_string().contains(&flow.nonce), "{view}");
    assert!(!view.to_string().contains(&flow.challenge), "{view}");
}
sqlite_test!(continue_before_approval, a_request_continued_before_approval_gives_no_code);

async fn a_redirect_uri_withdrawn_during_the_flow_gets_nothing(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let flow = rp.start("openid");
    let (_, location, cookie) = eco.authorize(&flow.params(&rp)).await;
    let id = request_id(&location);
    assert_eq!(eco.approve_login(&id, &card).await.0, 200);
    // The RP lost its domain: the admin registers another redirect URI.
    let body = json!({"name": "テストRP", "redirect_uris": ["https://new.rp.example/callback"],
                      "jwks": {"keys": [rp.public_jwk.clone()]}});
    let (status, out) = send(
        eco.http.put(format!("{}/api/admin/clients/{}", eco.i, rp.client_id)).bearer_auth(&eco.admin_key).json(&body),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (status, headers, page) =
        eco.get_raw(&format!("{}/app/requests/{id}/continue", eco.i), cookie.as_deref()).await;
    assert_eq!(status, 403, "{page}");
    assert!(headers.get("location").is_none(), "the code went to a withdrawn URI: {headers:?}");
    // A client disabled during the flow gets nothing either.
    let other = eco.rp("RP00000002", json!({})).await;
    let flow = other.start("openid");
    let (_, location, cookie) = eco.authorize(&flow.params(&other)).await;
    let id = request_id(&location);
    assert_eq!(eco.approve_login(&id, &card).await.0, 200);
    disable(&eco, &other.client_id).await;
    let (status, headers, page) =
        eco.get_raw(&format!("{}/app/requests/{id}/continue", eco.i), cookie.as_deref()).await;
    assert_eq!(status, 403, "{page}");
    assert!(headers.get("location").is_none());
}
sqlite_test!(redirect_uri_withdrawn_mid_flow, a_redirect_uri_withdrawn_during_the_flow_gets_nothing);

async fn a_code_replayed_late_still_revokes_a_grant_kept_alive_by_refreshes(backend: Backend) {
    let Setup { eco, rp, card } = setup(backend).await;
    let ready = code_for(&eco, &rp, &card, "openid name").await;
    let (status, t) = exchange(&eco, &rp, &ready).await;
    assert_eq!(status, 200, "{t}");
    // The RP refreshes every 20 minutes: the grant outlives the code's flow's own expiry.
    let mut rt = t["refresh_token"].as_str().unwrap().to_owned();
    let mut at = String::new();
    for _ in 0..3 {
        eco.clock.advance(Duration::minutes(20));
        let (status, r) = refresh(&eco, &rp, &rt, None).await;
        assert_eq!(status, 200, "{r}");
        rt = r["refresh_token"].as_str().unwrap().to_owned();
        at = r["access_token"].as_str().unwrap().to_owned();
        eco.idp.store().purge(now(&eco)).await.unwrap();
    }
    assert_eq!(userinfo(&eco, &at).await.0, 200);
    // An hour after the login, the stolen code is tried: refused, and the grant ends.
    oauth_error(&exchange(&eco, &rp, &ready).await, 400, "invalid_grant");
    assert_eq!(userinfo(&eco, &at).await.0, 401);
    oauth_error(&refresh(&eco, &rp, &rt, None).await, 400, "invalid_grant");
    // Once the grant is gone, so is the flow.
    eco.clock.advance(Duration::hours(1));
    eco.idp.store().purge(now(&eco)).await.unwrap();
    assert!(eco.idp.store().flow(&ready.request_id).await.unwrap().is_none());
}
on_both!(late_code_replay, a_code_replayed_late_still_revokes_a_grant_kept_alive_by_refreshes);
