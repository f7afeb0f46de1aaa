//! `hanko idp …` and `hanko app approve` as processes: an authority, a platform and the
//! authentication app service each started with `hanko … serve`, the provider set up with
//! `hanko idp init` (registered as the platform's tenant) and a client with `hanko idp client
//! add`; an RP (this test, over real HTTP) runs the login, and `hanko app approve` does the
//! user's part with an emulated card: a wrong PIN refused with the tries left, the approval, the
//! code, the tokens, userinfo; then a second request declined with `--cancel`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::{json, Value};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hanko(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hanko"))
        .args(args)
        .env_remove("HANKO_PIN")
        .env_remove("HANKO_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn run(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = hanko(args, env);
    assert!(
        out.status.success(),
        "hanko {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_json(args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    serde_json::from_str(&run(&with_json, env)).unwrap()
}

/// A running `hanko … serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)], log: &Path) -> Server {
        let log = std::fs::File::create(log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hanko"))
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("http://"), "serve printed {line:?}");
        Server { child, base: line.trim().to_owned() }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An ES256 key pair: (signing key, its public JWK with kid).
fn rp_key() -> (jsonwebtoken::EncodingKey, Value) {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::ES256).unwrap();
    let mut public = serde_json::to_value(&jwk).unwrap();
    public["kid"] = json!(jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap());
    (key, public)
}

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    B64URL.encode(b)
}

fn claims_of(jwt: &str) -> Value {
    serde_json::from_slice(&B64URL.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

const REDIRECT: &str = "https://rp.example/cli/callback";
const CLIENT: &str = "RPCLI0001";

/// The RP's authorization request as a browser sends it: (wallet URL, cookie, state, verifier).
fn authorize(
    http: &reqwest::blocking::Client,
    issuer: &str,
    base: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> (String, String, String, String) {
    let verifier = random(32);
    let challenge = B64URL.encode(hanko_pki::DigestAlgorithm::Sha256.digest(verifier.as_bytes()));
    let state = format!("st;{}", random(6));
    let mut url = reqwest::Url::parse(&format!("{issuer}/protocol/openid-connect/auth")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", &state),
        ("nonce", &random(12)),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    url.query_pairs_mut().extend_pairs(extra);
    let r = http.get(url).send().unwrap();
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().unwrap_or_default());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    (format!("{base}{location}"), cookie, state, verifier)
}

/// The browser continues: the redirect to the RP as its query pairs.
fn continue_flow(http: &reqwest::blocking::Client, wallet: &str, cookie: &str) -> Vec<(String, String)> {
    let r = http.get(format!("{wallet}/continue")).header("cookie", cookie).send().unwrap();
    assert_eq!(r.status().as_u16(), 302, "{}", r.text().unwrap_or_default());
    let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    location.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A client assertion of CLIENT for the token endpoint.
fn assertion(key: &jsonwebtoken::EncodingKey, kid: &str, token_url: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        &json!({"iss": CLIENT, "sub": CLIENT, "aud": token_url, "jti": random(16), "iat": now, "exp": now + 60}),
        key,
    )
    .unwrap()
}

/// Exchanges a code: the token response.
fn exchange(http: &reqwest::blocking::Client, token_url: &str, assertion: &str, code: &str, verifier: &str) -> Value {
    let r = http
        .post(token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().unwrap()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn hanko_app_approve_does_the_users_part_of_a_login_set_up_with_hanko_idp() {
    let dir = scratch("idp-cli");
    let auth = dir.join("auth");
    let env = [("HANKO_DATA_DIR", s(&auth)), ("HANKO_PIN", "1234"), ("HANKO_PASSWORD", "HANKO2026")];
    run(&["authority", "init"], &env);
    let person = run_json(
        &[
            "authority",
            "add-person",
            "--name",
            "試験　花子",
            "--sex",
            "2",
            "--birth",
            "1985-04-01",
            "--address",
            "東京都見本区試験町一丁目１番１号",
        ],
        &env,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let card = run_json(&["authority", "issue-card", &person], &env)["card_id"].as_str().unwrap().to_owned();
    let pf = run_json(&["authority", "add-verifier", "--role", "platform", "--name", "PF test"], &env);
    let pf_key = dir.join("pf-authority.key");
    std::fs::write(&pf_key, pf["api_key"].as_str().unwrap()).unwrap();
    let authority = Server::start(
        &["authority", "serve", "--listen", "127.0.0.1:0", "--ocsp-lag", "0"],
        &env,
        &dir.join("authority.log"),
    );

    let pf_dir = dir.join("pf");
    run_json(
        &[
            "platform",
            "init",
            "--data-dir",
            s(&pf_dir),
            "--authority",
            &authority.base,
            "--authority-key-file",
            s(&pf_key),
            "--anchors",
            s(&auth),
        ],
        &[],
    );
    let platform = Server::start(
        &["platform", "serve", "--listen", "127.0.0.1:0", "--data-dir", s(&pf_dir), "--authority", &authority.base],
        &[],
        &dir.join("platform.log"),
    );
    let http = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut ready = false;
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{}/healthz", platform.base)).send() {
            if r.json::<Value>().map(|v| v["crls_held"] == 2).unwrap_or(false) {
                ready = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ready, "the platform never held the CRLs");

    // The provider: the platform's tenant, a client registered from the command line.
    let idp_dir = dir.join("idp");
    let common = ["--data-dir", s(&idp_dir), "--platform-url", &platform.base];
    let init = run_json(
        &[&["idp", "init", "--platform-admin-key-file", s(&pf_dir.join("admin.key"))][..], &common[..]].concat(),
        &[],
    );
    assert_eq!(init["tenant"]["sp_id"], "DA", "{init}");
    for f in ["platform.key", "admin.key", "pairwise.key"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(idp_dir.join(f)).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "{f} is readable by others");
    }
    // A second init keeps everything and registers nothing.
    let again = run_json(&[&["idp", "init"][..], &common[..]].concat(), &[]);
    assert!(again["tenant"].is_null(), "{again}");

    let (key, public) = rp_key();
    let jwks = dir.join("rp-jwks.json");
    std::fs::write(&jwks, json!({"keys": [public]}).to_string()).unwrap();
    let added = run_json(
        &[
            &[
                "idp",
                "client",
                "add",
                "--client-id",
                CLIENT,
                "--name",
                "CLI テストRP",
                "--redirect-uri",
                REDIRECT,
                "--jwks-file",
                s(&jwks),
                "--claim-format",
                "oidc",
                "--sign-result-jwks-uri",
                &format!("{}/v1/jwks", platform.base),
            ][..],
            &common[..],
        ]
        .concat(),
        &[],
    );
    assert_eq!(added["id"], CLIENT, "{added}");
    assert_eq!(added["config"]["claim_format"], "oidc");
    // A bad registration is a clean usage error (exit 2), not a crash.
    let bad = hanko(
        &[
            &["idp", "client", "add", "--name", "x", "--redirect-uri", "ftp://nope", "--jwks-file", s(&jwks)][..],
            &common[..],
        ]
        .concat(),
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));

    let idp = Server::start(
        &[&["idp", "serve", "--listen", "127.0.0.1:0", "--cards-dir", s(&auth)][..], &common[..]].concat(),
        &[],
        &dir.join("idp.log"),
    );
    let issuer = format!("{}/api/realms/main", idp.base);
    // The admin API through the CLI.
    let listed = run_json(&[&["idp", "client", "list", "--url", &idp.base][..], &common[..]].concat(), &[]);
    assert_eq!(listed["clients"], json!([CLIENT]));

    // A login: the RP redirects the browser, `hanko app approve` answers with the card.
    let (wallet, cookie, state, verifier) = authorize(&http, &issuer, &idp.base, "openid name birthdate", &[]);
    let wrong = dir.join("wrong.pin");
    std::fs::write(&wrong, "9876\n").unwrap();
    let card_args = ["--card", card.as_str(), "--data-dir", s(&auth)];
    let out = hanko(&[&["app", "approve", &wallet, "--pin-file", s(&wrong)][..], &card_args[..]].concat(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("wrong PIN: 2 tries left"), "{stderr}");
    assert!(!stderr.contains("9876"), "the PIN was printed: {stderr}");
    assert!(stderr.contains("CLI テストRP (RPCLI0001) asks you to log in"), "{stderr}");
    assert!(stderr.contains("name (氏名), birth date (生年月日)"), "{stderr}");

    let pin = dir.join("good.pin");
    std::fs::write(&pin, "1234\n").unwrap();
    let out = hanko(&[&["app", "approve", &wallet, "--pin-file", s(&pin), "--json"][..], &card_args[..]].concat(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for secret in ["1234", "試験", "花子", "見本区", "1985"] {
        assert!(!stderr.contains(secret), "{secret} was printed: {stderr}");
    }
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["status"], "approved", "{outcome}");
    assert_eq!(outcome["continue_url"], format!("{wallet}/continue"));

    let pairs = continue_flow(&http, &wallet, &cookie);
    assert_eq!(get(&pairs, "state"), Some(state.as_str()), "state comes back byte for byte");
    assert_eq!(get(&pairs, "iss"), Some(issuer.as_str()));
    let code = get(&pairs, "code").expect("a code").to_owned();
    let token_url = format!("{issuer}/protocol/openid-connect/token");
    let kid = public["kid"].as_str().unwrap().to_owned();
    let tokens = exchange(&http, &token_url, &assertion(&key, &kid, &token_url), &code, &verifier);
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["aud"], CLIENT);
    let info: Value = http
        .get(format!("{issuer}/protocol/openid-connect/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["sub"], id_token["sub"]);
    assert_eq!(info["name"], "試験　花子", "{info}");
    assert_eq!(info["birthdate"], "1985-04-01", "the client's OIDC claim format: {info}");

    // The same request again: answered already, a clean refusal.
    let out = hanko(&[&["app", "approve", &wallet, "--pin-file", s(&pin)][..], &card_args[..]].concat(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    // Declined by id with --url: the RP gets access_denied with its state.
    let (wallet, cookie, state, _) = authorize(&http, &issuer, &idp.base, "openid", &[]);
    let id = wallet.rsplit('/').next().unwrap();
    let out = hanko(&["app", "approve", id, "--url", &idp.base, "--cancel"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("declined"));
    let pairs = continue_flow(&http, &wallet, &cookie);
    assert_eq!(get(&pairs, "error"), Some("access_denied"));
    assert_eq!(get(&pairs, "state"), Some(state.as_str()));

    // A signature: client_credentials, a sign transaction over a document's hash, the user signs
    // with the signature password through `hanko app approve`, the RP fetches the JWE, and the
    // platform operator verifies it.
    let r = http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "sign"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion(&key, &kid, &token_url)),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cc: Value = r.json().unwrap();
    // The DigestInfo form (a standard PKCS#1 v1.5 signature), of SHA-384: the provider takes a
    // SHA-256 DigestInfo (51 bytes) for a bare hash and refuses it, and cannot check a bare hash
    // at the platform yet — both reported, neither this test's subject.
    let hash = hanko_pki::DigestAlgorithm::Sha384.digest(b"synthetic contract (JPKI-TEST)");
    let b64 = base64::engine::general_purpose::STANDARD;
    let digest_info =
        b64.encode(hanko_pki::DigestInfo::new(hanko_pki::DigestAlgorithm::Sha384, &hash).unwrap().to_der().unwrap());
    let digest = b64.encode(&hash);
    let r = http
        .post(format!("{}/api/sign-transactions", idp.base))
        .bearer_auth(cc["access_token"].as_str().unwrap())
        .json(&json!({"digest": digest_info}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let tx = r.json::<Value>().unwrap()["sign_transaction_id"].as_str().unwrap().to_owned();
    let (wallet, cookie, _, verifier) =
        authorize(&http, &issuer, &idp.base, "openid sign", &[("sign_transaction_id", &tx)]);
    let password = dir.join("password.txt");
    std::fs::write(&password, "HANKO2026\n").unwrap();
    let out = hanko(&[&["app", "approve", &wallet, "--pin-file", s(&password)][..], &card_args[..]].concat(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("asks you to sign"), "{stderr}");
    assert!(!stderr.contains("HANKO2026"), "the password was printed: {stderr}");
    let pairs = continue_flow(&http, &wallet, &cookie);
    let code = get(&pairs, "code").expect("a code").to_owned();
    let tokens = exchange(&http, &token_url, &assertion(&key, &kid, &token_url), &code, &verifier);
    let r = http
        .get(format!("{}/api/sign-transactions/{tx}/result", idp.base))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let result: Value = r.json().unwrap();
    let tenant_key = std::fs::read_to_string(idp_dir.join("platform.key")).unwrap();
    let verdict: Value = http
        .post(format!("{}/v1/verifications/sign-result", platform.base))
        .bearer_auth(tenant_key.trim())
        .json(&json!({"sign_certificate_jwe": result["sign_certificate_jwe"], "digest": digest,
                      "digest_algorithm": "sha384"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["signed_form"], "digest_info", "{verdict}");

    // Disabled through the admin API: new logins are refused with an error page.
    run(&[&["idp", "client", "disable", CLIENT, "--url", &idp.base][..], &common[..]].concat(), &[]);
    let shown = run_json(&[&["idp", "client", "show", CLIENT][..], &common[..]].concat(), &[]);
    assert_eq!(shown["disabled"], true, "{shown}");
    drop((idp, platform, authority));
}
