//! `hanko bench idp` — full OpenID Connect logins per second through the authentication app
//! service (crates/idp) over its real HTTP endpoints, next to node-oidc-provider doing the same
//! flow on the same machine in the same run (the yardstick, `scripts/idp-js/bench-node-oidc.mjs`).
//!
//! Set-up, all in this process and on loopback, over SQLite: an authority issues one card per
//! concurrent flow (the cards are then used from memory, like a card in the user's hand); a
//! platform operator holds the authority's CRLs and has the idp as its tenant; the idp has one
//! client (RP) with an RS256 (or ES256) key registered as its JWKS.
//!
//! One login, as an RP and the user's app do it: `GET …/auth` (PKCE S256, state, nonce) → 303 to
//! the wallet with the flow's cookie → `GET /api/app/requests/{id}` (the idp asks the platform
//! for a challenge) → the card: VERIFY, the auth certificate, an RSA-2048 signature over the
//! challenge (and, when facts are asked for, the input-assist AP's files) → `POST …/approval`
//! (the idp has the platform verify chain, CRL and signature, and gets the person's id) → `GET
//! /app/requests/{id}/continue` with the cookie → 302 to the RP with the code → `POST …/token`
//! (a fresh private_key_jwt assertion, the PKCE verifier; the ID token is verified against the
//! JWKS, with its nonce and at_hash) → `GET …/userinfo`. Every flow has its own PKCE, state,
//! nonce, cookie and assertion `jti`; a failed flow fails the benchmark.
//!
//! Rounds alternate the yardstick (a node process) and ours; the best of each is kept (the
//! machine is shared). Then one flow at a time for a while: where a flow's time goes, step by
//! step, with the platform's share measured inside the platform. Timings are reported, never
//! asserted.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use hanko_authority::{CardPins, NewPerson, Role};
use hanko_card::{input_assist_ef, AccessCode, Card, Client, Slot};
use hanko_pki::{BasicFacts, BirthDate, DigestAlgorithm, DigestInfo, Sex};
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::bench_authority::{authority, cores, fresh_dir, sqlite_url};

/// Options of `hanko bench idp`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Working directory (replaced if present), removed afterwards unless --keep.
    #[arg(long, default_value = "target/bench-idp")]
    dir: PathBuf,
    /// Keep the working directory (databases, cards, keys) afterwards.
    #[arg(long)]
    keep: bool,
    /// Seconds of each measured run (ours and the yardstick's).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Logins in flight at once (one card each), for ours and the yardstick alike.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Rounds (yardstick, then ours); the best of each is kept.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// The scopes asked for (the same for the yardstick). The 4 facts make the app read the
    /// card's input-assist AP and the idp check its integrity record.
    #[arg(long, default_value = "openid name address birthdate gender")]
    scope: String,
    /// The RP's client assertion algorithm.
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256"])]
    client_alg: String,
    /// Seconds of the one-flow-at-a-time breakdown.
    #[arg(long, default_value_t = 3)]
    breakdown_seconds: u64,
    /// The node binary for the yardstick (scripts/idp-js.sh installs the packages and prints it).
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// The yardstick script.
    #[arg(long, default_value = "scripts/idp-js/bench-node-oidc.mjs")]
    yardstick: PathBuf,
    /// Measure ours only.
    #[arg(long)]
    no_yardstick: bool,
    /// Where the idp's, the platform's and the authority's SQLite databases live: `disk` (--dir,
    /// durable commits wait for the disk), `tmpfs` (/dev/shm: no disk wait, like the
    /// yardstick's in-memory store), or `both`, each measured.
    #[arg(long, default_value = "both", value_parser = ["both", "disk", "tmpfs"])]
    storage: String,
}

const PIN: &str = "1234";
const PASSWORD: &str = "HANKO2026";
const CLIENT_ID: &str = "RPBENCH01";
/// The scopes of the 4 facts (read from the card's input-assist AP).
const FACTS: [&str; 4] = ["name", "address", "birthdate", "gender"];
/// Never contacted: the flow stops at the redirect.
const REDIRECT_URI: &str = "http://127.0.0.1/bench/callback";

// ------------------------------------------------------------------------------ timing servers

/// Server-side time per endpoint (count, total seconds), measured by a middleware around the
/// idp's and the platform's routers.
#[derive(Default)]
struct ServerTimes(Mutex<HashMap<&'static str, (u64, f64)>>);

impl ServerTimes {
    fn add(&self, what: &'static str, d: Duration) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(what).or_default();
        e.0 += 1;
        e.1 += d.as_secs_f64();
    }
    fn take(&self) -> HashMap<&'static str, (u64, f64)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn idp_endpoint(method: &axum::http::Method, path: &str) -> &'static str {
    if path.ends_with("/protocol/openid-connect/auth") {
        "authorize"
    } else if path.ends_with("/protocol/openid-connect/token") {
        "token"
    } else if path.ends_with("/protocol/openid-connect/userinfo") {
        "userinfo"
    } else if path.starts_with("/api/app/requests/") && path.ends_with("/approval") {
        "approval"
    } else if path.starts_with("/api/app/requests/") && method == axum::http::Method::GET {
        "app_request"
    } else if path.starts_with("/app/requests/") && path.ends_with("/continue") {
        "continue"
    } else {
        "other"
    }
}

fn platform_endpoint(_: &axum::http::Method, path: &str) -> &'static str {
    match path {
        "/v1/verifications/authentication" => "platform_verification",
        _ => "platform_other",
    }
}

/// Serves `router` on `listener`, timing every request into `times` under `classify`'s name.
fn serve_timed(
    router: axum::Router,
    listener: tokio::net::TcpListener,
    times: Arc<ServerTimes>,
    classify: fn(&axum::http::Method, &str) -> &'static str,
) -> tokio::task::JoinHandle<()> {
    let app =
        router.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            let times = times.clone();
            async move {
                let what = classify(req.method(), req.uri().path());
                let start = Instant::now();
                let resp = next.run(req).await;
                times.add(what, start.elapsed());
                resp
            }
        }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    })
}

async fn listen() -> Result<(tokio::net::TcpListener, String)> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", l.local_addr()?);
    Ok((l, base))
}

async fn post_json(http: &reqwest::Client, url: &str, key: &str, body: Value) -> Result<Value> {
    let r = http.post(url).bearer_auth(key).json(&body).send().await?;
    let status = r.status();
    let out: Value = r.json().await.with_context(|| format!("POST {url}: unreadable answer ({status})"))?;
    ensure!(status.is_success(), "POST {url}: {status}: {out}");
    Ok(out)
}

// --------------------------------------------------------------------------------- the world

/// The RP: its key and what discovery says.
struct Rp {
    key: EncodingKey,
    header: Header,
    issuer: String,
    auth: String,
    token: String,
    userinfo: String,
    jwks: JwkSet,
}

/// What a flow needs: the RP, the HTTP client (no redirects followed, keep-alive pool), the
/// scope.
struct Driver {
    rp: Rp,
    http: reqwest::Client,
    base: String,
    scope: String,
    facts: bool,
}

/// The running ecosystem.
struct World {
    runtime: tokio::runtime::Runtime,
    driver: Arc<Driver>,
    cards: Vec<Card>,
    idp_times: Arc<ServerTimes>,
    platform_times: Arc<ServerTimes>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for World {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

fn client_key(alg: &str) -> Result<(EncodingKey, Algorithm)> {
    if alg == "ES256" {
        use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("EC key generation failed"))?;
        Ok((EncodingKey::from_ec_der(pkcs8.as_ref()), Algorithm::ES256))
    } else {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)?;
        let der = Zeroizing::new(key.to_pkcs1_der()?.as_bytes().to_vec());
        Ok((EncodingKey::from_rsa_der(&der), Algorithm::RS256))
    }
}

fn setup(args: &Args, dir: &Path) -> Result<World> {
    fresh_dir(dir)?;
    let dir = dir.canonicalize()?;
    let (adir, pdir, idir) = (dir.join("authority"), dir.join("platform"), dir.join("idp"));
    for d in [&adir, &pdir, &idir] {
        std::fs::create_dir_all(d)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(cores()).enable_all().build()?;
    let idp_times = Arc::new(ServerTimes::default());
    let platform_times = Arc::new(ServerTimes::default());
    let (it, pt) = (idp_times.clone(), platform_times.clone());
    let concurrency = args.concurrency;
    let client_alg = args.client_alg.clone();
    let scope = args.scope.clone();
    let cards_dir = adir.clone();
    let (driver, card_ids, servers) = runtime.block_on(async move {
        let mut servers = Vec::new();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;

        // The authority: a card per concurrent flow, CRLs published.
        eprintln!("idp: an authority issuing {concurrency} cards …");
        let (a, _db) = authority(&adir, &sqlite_url(&adir)).await?;
        let mut card_ids = Vec::with_capacity(concurrency);
        for i in 0..concurrency {
            let person = a
                .add_person(NewPerson {
                    facts: BasicFacts::new(
                        &format!("試験　花子{}", i + 1),
                        Sex::FEMALE,
                        BirthDate::Known(hanko_pki::time::macros::date!(1985 - 04 - 01)),
                        "東京都見本区試験町一丁目１番１号",
                    )?,
                    prefecture: "Tokyo-to".into(),
                    municipality: "Mihon-ku".into(),
                    ward: false,
                })
                .await?;
            let card = a
                .issue_card(
                    &person.id,
                    &CardPins {
                        sign_password: Some(Zeroizing::new(PASSWORD.to_owned())),
                        auth_pin: Zeroizing::new(PIN.to_owned()),
                    },
                )
                .await?;
            card_ids.push(card.card_id);
        }
        a.publish_crls().await?;
        let pf = a.register_verifier(Role::Platform, "bench platform").await?;
        let (listener, authority_url) = listen().await?;
        let au = a.clone();
        servers.push(tokio::spawn(async move {
            let _ = hanko_authority::serve(au, listener, std::future::pending()).await;
        }));

        // The platform: the authority's CAs as anchors, its CRLs fetched; the idp its tenant.
        eprintln!("idp: a platform operator and the idp as its tenant …");
        let anchors = pdir.join(hanko_platform::ANCHORS_DIR);
        std::fs::create_dir_all(&anchors)?;
        for kind in ["signature", "auth"] {
            for g in std::fs::read_dir(adir.join("ca").join(kind))? {
                let g = g?.path();
                let name = g.file_name().and_then(|n| n.to_str()).context("CA directory name")?.to_owned();
                std::fs::copy(g.join("ca.der"), anchors.join(format!("{kind}-{name}.der")))?;
            }
        }
        std::fs::write(pdir.join(hanko_platform::AUTHORITY_KEY_FILE), &pf.api_key)?;
        std::fs::write(pdir.join(hanko_platform::AUTHORITY_ID_FILE), &pf.verifier.id)?;
        let platform = Arc::new(
            hanko_platform::Platform::open(
                hanko_store::Db::connect(&sqlite_url(&pdir)).await?,
                hanko_platform::Config::new(&pdir, &authority_url),
                Arc::new(hanko_store::SystemClock),
            )
            .await?,
        );
        platform.refresh_crls().await?;
        let platform_admin = platform.add_admin_key().await?;
        let (listener, platform_url) = listen().await?;
        servers.push(serve_timed(hanko_platform::router(platform.clone()), listener, pt, platform_endpoint));
        let tenant = post_json(
            &http,
            &format!("{platform_url}/v1/admin/tenants"),
            &platform_admin,
            json!({"sp_id": "DA", "service_id": "idp", "name": "bench authentication app service",
                   "facts": ["name", "address", "birth_date", "sex"], "check_method": "crl"}),
        )
        .await?;
        std::fs::write(
            idir.join(hanko_idp::PLATFORM_KEY_FILE),
            tenant["api_key"].as_str().context("the platform gave the tenant no api_key")?,
        )?;

        // The idp and its client.
        let (listener, idp_url) = listen().await?;
        let mut config = hanko_idp::Config::new(&idir, &idp_url, &platform_url);
        config.cards_dir = Some(adir.clone());
        config.cv_root = Some(adir.join("cv/root.spki.der"));
        let idp = Arc::new(
            hanko_idp::Idp::open(
                hanko_store::Db::connect(&sqlite_url(&idir)).await?,
                config,
                Arc::new(hanko_store::SystemClock),
            )
            .await?,
        );
        let idp_admin = idp.add_admin_key().await?;
        servers.push(serve_timed(hanko_idp::router(idp), listener, it, idp_endpoint));
        let (key, alg) = client_key(&client_alg)?;
        let jwk = Jwk::from_encoding_key(&key, alg)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256)?;
        let mut public = serde_json::to_value(&jwk)?;
        public["kid"] = json!(kid);
        post_json(
            &http,
            &format!("{idp_url}/api/admin/clients"),
            &idp_admin,
            json!({"client_id": CLIENT_ID, "name": "ベンチマークRP", "redirect_uris": [REDIRECT_URI],
                   "jwks": {"keys": [public]}}),
        )
        .await?;

        // The RP discovers the provider.
        let issuer = format!("{idp_url}/api/realms/main");
        let meta: Value = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let s = |k: &str| meta[k].as_str().map(str::to_owned).with_context(|| format!("discovery: no {k}"));
        let jwks: JwkSet = http.get(s("jwks_uri")?).send().await?.error_for_status()?.json().await?;
        let mut header = Header::new(alg);
        header.kid = Some(kid);
        let rp = Rp {
            key,
            header,
            issuer: s("issuer")?,
            auth: s("authorization_endpoint")?,
            token: s("token_endpoint")?,
            userinfo: s("userinfo_endpoint")?,
            jwks,
        };
        let facts = scope.split(' ').any(|s| FACTS.contains(&s));
        let driver = Driver { rp, http, base: idp_url, scope, facts };
        anyhow::Ok((driver, card_ids, servers))
    })?;

    // The cards, from their images into memory (as in the user's hand: no file write per PIN).
    let seal = hanko_cardlink::seal_key(&cards_dir)?;
    let mut cards = Vec::with_capacity(card_ids.len());
    for id in &card_ids {
        let bytes = std::fs::read(hanko_cardlink::cards_dir(&cards_dir).join(format!("{id}.card")))?;
        let (card, _) = Card::from_image(&bytes, &seal).map_err(|e| anyhow::anyhow!("card {id}: {e}"))?;
        cards.push(card);
    }
    Ok(World { runtime, driver: Arc::new(driver), cards, idp_times, platform_times, servers })
}

// ---------------------------------------------------------------------------------- one login

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    B64URL.encode(b)
}

fn now() -> i64 {
    hanko_pki::time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Client-side milliseconds of one login, step by step.
#[derive(Default, Clone, Copy)]
struct Steps {
    authorize: f64,
    app_request: f64,
    card: f64,
    approval: f64,
    continue_: f64,
    assertion: f64,
    token: f64,
    id_token_check: f64,
    userinfo: f64,
}

impl Steps {
    fn add(&mut self, o: &Steps) {
        self.authorize += o.authorize;
        self.app_request += o.app_request;
        self.card += o.card;
        self.approval += o.approval;
        self.continue_ += o.continue_;
        self.assertion += o.assertion;
        self.token += o.token;
        self.id_token_check += o.id_token_check;
        self.userinfo += o.userinfo;
    }
    fn total(&self) -> f64 {
        self.authorize
            + self.app_request
            + self.card
            + self.approval
            + self.continue_
            + self.assertion
            + self.token
            + self.id_token_check
            + self.userinfo
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The card's part: the auth certificate and the signature over `challenge` (VERIFY first), and
/// the input-assist AP's files when facts are asked for.
fn card_answer(card: &mut Card, challenge: &[u8], facts: bool, assist_challenge: &[u8]) -> Result<Value> {
    let mut c = Client::new(card);
    let certificate = c.read_certificate(Slot::Auth)?;
    let di = DigestInfo::of(DigestAlgorithm::Sha256, challenge).to_der()?;
    let signature = c.sign(Slot::Auth, PIN.as_bytes(), &di)?;
    let mut body = json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)});
    if facts {
        let four = c.read_facts(AccessCode::Pin(PIN.as_bytes()))?;
        let mut read = |fid| -> Result<String> {
            c.select_ef(fid)?;
            let mut out = Vec::new();
            loop {
                let chunk = c.read_binary(out.len() as u16, 0xFF)?;
                let n = chunk.len();
                out.extend_from_slice(&chunk);
                if n < 0xFF {
                    break;
                }
            }
            Ok(B64.encode(out))
        };
        let integrity_record = read(input_assist_ef::INTEGRITY)?;
        let cv_certificate = read(input_assist_ef::CV_CERTIFICATE)?;
        let (record, chip_signature) = c.prove_input_assist_chip(assist_challenge)?;
        body["input_assist"] = json!({
            "facts": B64.encode(four.as_bytes()),
            "integrity_record": integrity_record,
            "cv_certificate": cv_certificate,
            "chip_key_record": B64.encode(record),
            "chip_signature": B64.encode(chip_signature),
        });
    }
    Ok(body)
}

fn at_hash(token: &str) -> String {
    B64URL.encode(&DigestAlgorithm::Sha256.digest(token.as_bytes())[..16])
}

/// One full login with `card`; the steps' milliseconds.
async fn login(d: &Driver, card: &mut Card) -> Result<Steps> {
    let mut t = Steps::default();
    let verifier = random(32);
    let challenge = B64URL.encode(DigestAlgorithm::Sha256.digest(verifier.as_bytes()));
    let (state, nonce) = (random(16), random(16));

    // authorize → 303 to the wallet, with the flow's cookie
    let s = Instant::now();
    let mut url = reqwest::Url::parse(&d.rp.auth)?;
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", &d.scope),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let r = d.http.get(url).send().await?;
    let status = r.status();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let body = r.text().await?;
    let (Some(location), Some(cookie)) = (location, cookie) else {
        bail!("authorize answered {status} without the wallet's location and cookie: {body:.300}")
    };
    let id = location.rsplit('/').next().unwrap_or_default().to_owned();
    t.authorize = ms(s);

    // the app reads the request (with the idp's own challenge)
    let s = Instant::now();
    let r = d.http.get(format!("{}/api/app/requests/{id}", d.base)).send().await?;
    let status = r.status();
    let req: Value = r.json().await?;
    ensure!(status == 200, "app request: {status}: {req}");
    let bytes = B64.decode(req["challenge"].as_str().context("app request without a challenge")?)?;
    t.app_request = ms(s);

    // the card
    let s = Instant::now();
    let assist = match req["input_assist_challenge"].as_str() {
        Some(c) => B64.decode(c)?,
        None => Vec::new(),
    };
    let answer = card_answer(card, &bytes, d.facts, &assist)?;
    t.card = ms(s);

    // approval (the idp has the platform verify)
    let s = Instant::now();
    let r = d.http.post(format!("{}/api/app/requests/{id}/approval", d.base)).json(&answer).send().await?;
    let status = r.status();
    let out: Value = r.json().await?;
    ensure!(status == 200 && out["status"] == "approved", "approval: {status}: {out}");
    t.approval = ms(s);

    // the browser continues → 302 to the RP
    let s = Instant::now();
    let r = d.http.get(format!("{}/app/requests/{id}/continue", d.base)).header("cookie", &cookie).send().await?;
    let status = r.status();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = r.text().await?;
    let callback = reqwest::Url::parse(
        &location.with_context(|| format!("continue answered {status} without a redirect: {body:.300}"))?,
    )?;
    ensure!(callback.as_str().starts_with(REDIRECT_URI), "continue redirected elsewhere: {callback}");
    let q: HashMap<String, String> = callback.query_pairs().into_owned().collect();
    ensure!(!q.contains_key("error"), "the login failed: {callback}");
    ensure!(q.get("state") == Some(&state), "state did not come back byte for byte: {callback}");
    ensure!(q.get("iss").is_none_or(|i| *i == d.rp.issuer), "wrong iss in the callback: {callback}");
    let code = q.get("code").context("no code in the callback")?.clone();
    t.continue_ = ms(s);

    // token: a fresh client assertion, PKCE
    let s = Instant::now();
    let iat = now();
    let assertion = jsonwebtoken::encode(
        &d.rp.header,
        &json!({"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": d.rp.token, "jti": random(16), "iat": iat, "exp": iat + 60}),
        &d.rp.key,
    )?;
    t.assertion = ms(s);
    let s = Instant::now();
    let r = d
        .http
        .post(&d.rp.token)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_assertion_type", hanko_idp::JWT_BEARER),
            ("client_assertion", &assertion),
        ])
        .send()
        .await?;
    let status = r.status();
    let tokens: Value = r.json().await?;
    ensure!(status == 200, "token: {status}: {tokens}");
    t.token = ms(s);

    // the RP checks the ID token
    let s = Instant::now();
    let id_token = tokens["id_token"].as_str().context("no id_token")?;
    let access = tokens["access_token"].as_str().context("no access_token")?;
    let header = jsonwebtoken::decode_header(id_token)?;
    let jwk = d.rp.jwks.find(header.kid.as_deref().unwrap_or_default()).context("ID token kid not in the JWKS")?;
    let mut v = Validation::new(header.alg);
    v.set_audience(&[CLIENT_ID]);
    v.set_issuer(&[&d.rp.issuer]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(jwk)?, &v)?.claims;
    ensure!(claims["nonce"] == nonce.as_str(), "ID token nonce mismatch");
    ensure!(claims["at_hash"] == at_hash(access).as_str(), "ID token at_hash mismatch");
    t.id_token_check = ms(s);

    // userinfo
    let s = Instant::now();
    let r = d.http.get(&d.rp.userinfo).bearer_auth(access).send().await?;
    let status = r.status();
    let info: Value = r.json().await?;
    ensure!(status == 200 && info["sub"] == claims["sub"], "userinfo: {status}: {info}");
    for fact in d.scope.split(' ').filter(|s| FACTS.contains(s)) {
        ensure!(info.get(fact).is_some_and(Value::is_string), "userinfo without {fact}: {info}");
    }
    t.userinfo = ms(s);
    Ok(t)
}

// ------------------------------------------------------------------------------------ running

/// One measured run: flows for `seconds` with one task per card; (flows, seconds, summed steps).
fn run_flows(w: &mut World, seconds: f64, progress: Option<&str>) -> Result<(u64, f64, Steps)> {
    let done = Arc::new(AtomicU64::new(0));
    let cards = std::mem::take(&mut w.cards);
    let driver = w.driver.clone();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let label = progress.map(str::to_owned);
    let result = w.runtime.block_on(async {
        let ticker = label.filter(|_| std::io::stderr().is_terminal()).map(|label| {
            let done = done.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(500));
                loop {
                    tick.tick().await;
                    let n = done.load(Ordering::Relaxed);
                    let el = start.elapsed().as_secs_f64();
                    let bar = ((el / seconds).min(1.0) * 30.0) as usize;
                    eprint!(
                        "\r{label} [{}{}] {n} logins, {:.0}/s  ",
                        "#".repeat(bar),
                        " ".repeat(30 - bar),
                        n as f64 / el.max(1e-3)
                    );
                }
            })
        });
        let tasks: Vec<_> = cards
            .into_iter()
            .map(|mut card| {
                let (driver, done) = (driver.clone(), done.clone());
                tokio::spawn(async move {
                    let mut sum = Steps::default();
                    let mut n = 0u64;
                    let mut failure = None;
                    while Instant::now() < deadline {
                        match login(&driver, &mut card).await {
                            Ok(t) => {
                                sum.add(&t);
                                n += 1;
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                    (card, n, sum, failure)
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await?);
        }
        if let Some(t) = ticker {
            t.abort();
            eprintln!();
        }
        anyhow::Ok(out)
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let (mut flows, mut sum, mut failure) = (0, Steps::default(), None);
    for (card, n, s, f) in result {
        w.cards.push(card);
        flows += n;
        sum.add(&s);
        failure = failure.or(f);
    }
    if let Some(e) = failure {
        return Err(e.context("a login failed"));
    }
    Ok((flows, elapsed, sum))
}

/// The yardstick: node-oidc-provider in a node process; its JSON.
fn yardstick(args: &Args, alg: &str) -> Result<Value> {
    let out = Command::new(&args.node)
        .arg(&args.yardstick)
        .args(["--seconds", &args.seconds.to_string(), "--concurrency", &args.concurrency.to_string()])
        .args(["--client-alg", alg, "--id-token-alg", "ES256"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!("running {} {} (scripts/idp-js.sh installs it)", args.node.display(), args.yardstick.display())
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "the yardstick failed ({}): {}{}",
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).context("the yardstick printed no JSON")?;
    Ok(serde_json::from_str(line)?)
}

/// RSA-2048 signatures per second of one emulated card in process (VERIFY once): the floor.
fn card_sign_rate(card: &mut Card, seconds: f64) -> Result<f64> {
    let mut c = Client::new(card);
    c.verify_pin(Slot::Auth, PIN.as_bytes())?;
    let di = DigestInfo::of(DigestAlgorithm::Sha256, b"bench idp challenge").to_der()?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        c.sign_verified(Slot::Auth, &di)?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// One storage's results.
struct Measured {
    name: &'static str,
    flows: u64,
    seconds: f64,
    breakdown: Value,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.flows as f64 / self.seconds
    }
}

/// One login at a time with the first card: where the time goes (client side and inside the
/// idp and the platform, mean ms).
fn breakdown(w: &mut World, seconds: u64) -> Result<Value> {
    let rest = w.cards.split_off(1);
    w.idp_times.take();
    w.platform_times.take();
    let (n, secs, steps) = run_flows(w, seconds.max(1) as f64, None)?;
    w.cards.extend(rest);
    let (idp, pf) = (w.idp_times.take(), w.platform_times.take());
    let per = |x: f64| x / n.max(1) as f64;
    let server = |m: &HashMap<&'static str, (u64, f64)>, k: &str| m.get(k).map_or(0.0, |(_, t)| 1000.0 * per(*t));
    Ok(json!({
        "flows": n,
        "flows_per_second": n as f64 / secs,
        "client_ms": {
            "authorize": per(steps.authorize), "app_request": per(steps.app_request), "card": per(steps.card),
            "approval": per(steps.approval), "continue": per(steps.continue_), "assertion": per(steps.assertion),
            "token": per(steps.token), "id_token_check": per(steps.id_token_check), "userinfo": per(steps.userinfo),
            "total": per(steps.total()),
        },
        "server_ms": {
            "authorize": server(&idp, "authorize"), "app_request": server(&idp, "app_request"),
            "approval": server(&idp, "approval"), "continue": server(&idp, "continue"),
            "token": server(&idp, "token"), "userinfo": server(&idp, "userinfo"),
            "platform_verification": server(&pf, "platform_verification"),
        },
    }))
}

pub(crate) fn run(args: &Args, json_out: bool) -> Result<ExitCode> {
    ensure!((1..=256).contains(&args.concurrency), "--concurrency must be 1 to 256");
    ensure!((1..=3600).contains(&args.seconds), "--seconds must be 1 to 3600");
    ensure!(args.scope.split(' ').any(|s| s == "openid"), "--scope must include openid");
    if !args.no_yardstick {
        ensure!(
            args.yardstick.exists() && args.yardstick.parent().is_some_and(|p| p.join("node_modules").exists()),
            "the yardstick {} or its node_modules is missing: run scripts/idp-js.sh first (or --no-yardstick)",
            args.yardstick.display()
        );
    }
    let shm = Path::new("/dev/shm");
    let tmpfs_dir = shm.join(format!("hanko-bench-idp-{}", std::process::id()));
    let mut worlds: Vec<(&'static str, PathBuf)> = Vec::new();
    if args.storage != "tmpfs" {
        worlds.push(("disk", args.dir.clone()));
    }
    if args.storage != "disk" {
        if shm.is_dir() {
            worlds.push(("tmpfs", tmpfs_dir.clone()));
        } else {
            ensure!(args.storage == "both", "--storage tmpfs: there is no /dev/shm here");
            eprintln!("idp: no /dev/shm: the databases on disk only");
        }
    }
    let mut running = Vec::new();
    for (name, dir) in &worlds {
        eprintln!("idp: the ecosystem with its databases on {name} ({}) …", dir.display());
        let mut w = setup(args, dir)?;
        eprintln!("idp: warm-up …");
        run_flows(&mut w, 1.0, None)?;
        running.push((*name, w));
    }
    let cleanup = |worlds: &[(&'static str, PathBuf)]| {
        for (name, dir) in worlds {
            if *name == "tmpfs" || !args.keep {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    };
    let result = measure(args, &mut running);
    drop(running);
    cleanup(&worlds);
    let (measured, best_node, card_rate) = result?;
    report(args, json_out, &measured, best_node.as_ref(), card_rate)
}

/// The rounds (the yardstick, then each storage), then the breakdowns.
#[allow(clippy::type_complexity)]
fn measure(args: &Args, worlds: &mut [(&'static str, World)]) -> Result<(Vec<Measured>, Option<Value>, f64)> {
    let card_rate = match worlds.first_mut() {
        Some((_, w)) => {
            eprintln!("idp: the card's RSA-2048 signatures, 2 s …");
            card_sign_rate(&mut w.cards[0], 2.0)?
        }
        None => bail!("no storage to measure"),
    };
    let rounds = args.rounds.max(1);
    let mut best: Vec<Option<(u64, f64)>> = vec![None; worlds.len()];
    let mut best_node: Option<Value> = None;
    for round in 1..=rounds {
        if !args.no_yardstick {
            eprintln!("idp: round {round}/{rounds}: node-oidc-provider, {} s …", args.seconds);
            let y = yardstick(args, &args.client_alg)?;
            let fps = |v: &Value| v["flows_per_second"].as_f64().unwrap_or(0.0);
            if best_node.as_ref().is_none_or(|b| fps(&y) > fps(b)) {
                best_node = Some(y);
            }
        }
        for (i, (name, w)) in worlds.iter_mut().enumerate() {
            let label = format!("idp: round {round}/{rounds}: hanko idp ({name})");
            eprintln!("{label}, {} s …", args.seconds);
            let (n, secs, _) = run_flows(w, args.seconds as f64, Some(&label))?;
            if best[i].is_none_or(|(bn, bs)| n as f64 / secs > bn as f64 / bs) {
                best[i] = Some((n, secs));
            }
        }
    }
    let mut measured = Vec::new();
    for (i, (name, w)) in worlds.iter_mut().enumerate() {
        eprintln!("idp: one login at a time for {} s ({name}) …", args.breakdown_seconds);
        let (flows, seconds) = best[i].context("no run")?;
        measured.push(Measured { name, flows, seconds, breakdown: breakdown(w, args.breakdown_seconds)? });
    }
    Ok((measured, best_node, card_rate))
}

fn report(
    args: &Args,
    json_out: bool,
    measured: &[Measured],
    node: Option<&Value>,
    card_rate: f64,
) -> Result<ExitCode> {
    let cores = cores();
    let node_fps = node.and_then(|v| v["flows_per_second"].as_f64());
    let out = json!({
        "hanko": measured.iter().map(|m| (m.name.to_owned(), json!({
            "flows": m.flows, "seconds": m.seconds, "flows_per_second": m.rate(),
            "concurrency": args.concurrency, "ratio": node_fps.map(|n| m.rate() / n),
            "breakdown": m.breakdown,
        }))).collect::<serde_json::Map<_, _>>(),
        "yardstick": node,
        "goal_ratio": 3.0,
        "scope": args.scope,
        "client_alg": args.client_alg,
        "cores": cores,
        "card_rsa2048_signatures_per_second": card_rate,
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rounds = args.rounds.max(1);
    println!("hanko bench idp  (full logins: authorize → app request → card → approval → continue → token → userinfo;");
    println!(
        "                  scope \"{}\", {} client assertions, {} in flight, {} s × {rounds} rounds, best of each;",
        args.scope, args.client_alg, args.concurrency, args.seconds
    );
    println!("                  one machine's {cores} cores for everything: servers, RP, cards, the yardstick's node)");
    let line = |label: &str, value: String, note: &str| println!("  {label:<64} {value:>9}   {note}");
    for m in measured {
        let what =
            if m.name == "disk" { "databases on disk (durable commits)" } else { "databases on tmpfs (no disk wait)" };
        line(&format!("hanko idp logins/s, {what}"), format!("{:.1}", m.rate()), "");
    }
    match node {
        Some(y) => {
            line(
                &format!("node-oidc-provider {} logins/s", y["version"].as_str().unwrap_or("?")),
                format!("{:.1}", node_fps.unwrap_or(f64::NAN)),
                &format!(
                    "(node {}; no card, in-memory store, opaque access tokens)",
                    y["node"].as_str().unwrap_or("?")
                ),
            );
            for m in measured {
                let r = node_fps.map_or(f64::NAN, |n| m.rate() / n);
                line(&format!("ratio, databases on {}", m.name), format!("{r:.2}×"), "(goal ≥ 3×)");
            }
        }
        None => println!("  node-oidc-provider: not measured (--no-yardstick)"),
    }
    line(
        "the floor: the card's RSA-2048 signatures/s (1 core, in process)",
        format!("{card_rate:.0}"),
        &format!("(≤ {:.0} logins/s on {cores} cores)", card_rate * cores as f64),
    );
    if let Some(card_ms) = measured.first().and_then(|m| m.breakdown["client_ms"]["card"].as_f64()) {
        // a long CPU-bound loop gets less of a busy machine than a login's short burst
        line(
            "the card's whole part of a login (one at a time), ms",
            format!("{card_ms:.2}"),
            &format!("(≤ {:.0} logins/s on {cores} cores)", 1000.0 / card_ms * cores as f64),
        );
    }
    println!("where a login's time goes: one login at a time, mean ms, as the client sees it (inside the server)");
    let header: String = measured
        .iter()
        .map(|m| {
            format!(" {:>19}", format!("{} ({:.0}/s)", m.name, m.breakdown["flows_per_second"].as_f64().unwrap_or(0.0)))
        })
        .collect();
    println!("  {:<46}{header}", "");
    let row = |label: &str, client: &str, server: Option<&str>| {
        let cells: String = measured
            .iter()
            .map(|m| {
                let c = m.breakdown["client_ms"][client].as_f64().unwrap_or(f64::NAN);
                match server {
                    Some(k) => {
                        format!(" {:>10.2} ({:>6.2})", c, m.breakdown["server_ms"][k].as_f64().unwrap_or(f64::NAN))
                    }
                    None => format!(" {c:>10.2}         "),
                }
            })
            .collect();
        println!("  {label:<46}{cells}");
    };
    let platform = |k: &str| -> String {
        measured
            .iter()
            .map(|m| format!("{:.2}", m.breakdown["server_ms"][k].as_f64().unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    row("authorize (303 to the wallet)", "authorize", Some("authorize"));
    row("app request", "app_request", Some("app_request"));
    let facts = if args.scope.split(' ').any(|s| FACTS.contains(&s)) { " + facts" } else { "" };
    row(&format!("card (VERIFY, certificate, RSA sign{facts})"), "card", None);
    row(
        &format!("approval (platform verification {})", platform("platform_verification")),
        "approval",
        Some("approval"),
    );
    row("continue (302 to the RP with the code)", "continue", Some("continue"));
    row(&format!("RP: client assertion ({})", args.client_alg), "assertion", None);
    row("token", "token", Some("token"));
    row("RP: ID token check", "id_token_check", None);
    row("userinfo", "userinfo", Some("userinfo"));
    row("total", "total", None);
    Ok(ExitCode::SUCCESS)
}
