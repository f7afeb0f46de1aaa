//! The test ecosystem: an authority, a platform operator with the idp as its tenant, and the
//! idp, each a real HTTP server on loopback over SQLite or PostgreSQL, sharing one clock the test
//! moves; an RP (client) with its own key; the user's side (cards through their APDUs).

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use hanko_authority::{Authority, ManualClock, Role};
use hanko_card::{Client, Slot};
use hanko_cardlink::CardFile;
use hanko_idp::{Config, Idp};
use hanko_pki::time::macros::datetime;
use hanko_pki::time::OffsetDateTime;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use hanko_store::Db;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub use crate::backends::{postgres_or_skip, Backend};

/// The time the test ecosystem starts at.
pub const START: OffsetDateTime = datetime!(2026-04-01 00:00 UTC);
/// The PIN and password of every test card.
pub const PIN: &[u8] = b"1234";
pub const PASSWORD: &[u8] = b"HANKO2026";

/// A fresh, empty directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    crate::backends::temp_dir("idp", tag)
}

fn database_url(backend: Backend, dir: &std::path::Path, name: &str) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite:{}", dir.join(format!("{name}.sqlite")).display()),
        Backend::Postgres => crate::backends::fresh_postgres_url("i"),
    }
}

/// A running ecosystem.
#[allow(dead_code)]
pub struct Eco {
    pub authority: Arc<Authority>,
    pub platform: Arc<hanko_platform::Platform>,
    pub idp: Arc<Idp>,
    pub clock: Arc<ManualClock>,
    pub authority_dir: PathBuf,
    pub idp_dir: PathBuf,
    /// Base URLs.
    pub a: String,
    pub p: String,
    pub i: String,
    pub counter_key: String,
    pub operator_key: String,
    pub platform_admin: String,
    /// The idp's admin key.
    pub admin_key: String,
    /// A client that follows no redirects.
    pub http: reqwest::Client,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Eco {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    (l, base)
}

impl Eco {
    pub async fn start(backend: Backend) -> Eco {
        Eco::start_with(backend, |_| {}).await
    }

    /// Starts the ecosystem with idp settings changed by `configure`.
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Eco {
        Eco::start_full(backend, configure, |_| {}).await
    }

    /// Starts the ecosystem with idp and platform settings changed.
    pub async fn start_full(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
        configure_platform: impl FnOnce(&mut hanko_platform::Config),
    ) -> Eco {
        let authority_dir = temp_dir("authority");
        let platform_dir = temp_dir("platform");
        let idp_dir = temp_dir("idp");
        let clock = Arc::new(ManualClock::new(START));
        let db = Db::connect(&database_url(backend, &authority_dir, "authority")).await.unwrap();
        let authority = Arc::new(
            Authority::open(db, hanko_authority::Config::sandbox(&authority_dir), clock.clone()).await.unwrap(),
        );
        let counter_key = authority.register_verifier(Role::Counter, "test counter").await.unwrap().api_key;
        let operator_key = authority.register_verifier(Role::Operator, "test operator").await.unwrap().api_key;
        let pf = authority.register_verifier(Role::Platform, "test platform").await.unwrap();
        let (listener, a) = listen().await;
        let au = authority.clone();
        let mut servers = vec![tokio::spawn(async move {
            hanko_authority::serve(au, listener, std::future::pending()).await.unwrap();
        })];

        // The platform, trusting the authority's CAs.
        let anchors = platform_dir.join(hanko_platform::ANCHORS_DIR);
        std::fs::create_dir_all(&anchors).unwrap();
        for kind in ["signature", "auth"] {
            for g in std::fs::read_dir(authority_dir.join("ca").join(kind)).unwrap() {
                let g = g.unwrap().path();
                let name = g.file_name().unwrap().to_str().unwrap().to_owned();
                std::fs::copy(g.join("ca.der"), anchors.join(format!("{kind}-{name}.der"))).unwrap();
            }
        }
        std::fs::write(platform_dir.join(hanko_platform::AUTHORITY_KEY_FILE), &pf.api_key).unwrap();
        std::fs::write(platform_dir.join(hanko_platform::AUTHORITY_ID_FILE), &pf.verifier.id).unwrap();
        let mut pconfig = hanko_platform::Config::new(&platform_dir, &a);
        configure_platform(&mut pconfig);
        let platform = Arc::new(
            hanko_platform::Platform::open(
                Db::connect(&database_url(backend, &platform_dir, "platform")).await.unwrap(),
                pconfig,
                clock.clone(),
            )
            .await
            .unwrap(),
        );
        let platform_admin = platform.add_admin_key().await.unwrap();
        let (listener, p) = listen().await;
        let pl = platform.clone();
        servers.push(tokio::spawn(async move {
            let app = hanko_platform::router(pl).into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        }));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        // The idp is the platform's tenant: all 4 facts, CRL by default.
        let (status, tenant) = send(
            http.post(format!("{p}/v1/admin/tenants"))
                .bearer_auth(&platform_admin)
                .json(&json!({"sp_id": "DA", "service_id": "idp", "name": "test authentication app service",
                              "facts": ["name", "address", "birth_date", "sex"], "check_method": "crl"})),
        )
        .await;
        assert_eq!(status, 201, "{tenant}");
        std::fs::write(idp_dir.join(hanko_idp::PLATFORM_KEY_FILE), tenant["api_key"].as_str().unwrap()).unwrap();

        let (listener, i) = listen().await;
        let mut config = Config::new(&idp_dir, &i, &p);
        config.cards_dir = Some(authority_dir.clone());
        config.cv_root = Some(authority_dir.join("cv/root.spki.der"));
        configure(&mut config);
        let idp = Arc::new(
            Idp::open(Db::connect(&database_url(backend, &idp_dir, "idp")).await.unwrap(), config, clock.clone())
                .await
                .unwrap(),
        );
        let admin_key = idp.add_admin_key().await.unwrap();
        let id = idp.clone();
        servers.push(tokio::spawn(async move {
            hanko_idp::serve(id, listener, std::future::pending()).await.unwrap();
        }));
        let eco = Eco {
            authority,
            platform,
            idp,
            clock,
            authority_dir,
            idp_dir,
            a,
            p,
            i,
            counter_key,
            operator_key,
            platform_admin,
            admin_key,
            http,
            servers,
        };
        eco.publish_and_refresh().await;
        eco
    }

    /// Publishes the authority's CRLs now and has the platform fetch them.
    pub async fn publish_and_refresh(&self) {
        let (status, body) =
            send(self.http.post(format!("{}/v1/admin/crl", self.a)).bearer_auth(&self.operator_key).json(&json!({})))
                .await;
        assert_eq!(status, 200, "{body}");
        self.platform.refresh_crls().await.unwrap();
    }

    /// The issuer.
    pub fn issuer(&self) -> String {
        format!("{}/api/realms/main", self.i)
    }

    /// Registers a synthetic person and issues a card (PIN 1234, password HANKO2026); returns
    /// (person id, card id).
    pub async fn person_with_card(&self, name: &str, birth: &str) -> (String, String) {
        let (status, body) = send(
            self.http.post(format!("{}/v1/counter/persons", self.a)).bearer_auth(&self.counter_key).json(
                &json!({"name": name, "sex": "2", "birth_date": birth,
                        "address": "東京都見本区試験町一丁目１番１号", "prefecture": "Tokyo-to", "municipality": "Mihon-ku"}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let person = body["id"].as_str().unwrap().to_owned();
        let (status, body) = send(
            self.http
                .post(format!("{}/v1/counter/persons/{person}/cards", self.a))
                .bearer_auth(&self.counter_key)
                .json(&json!({"sign_password": "HANKO2026", "auth_pin": "1234"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        (person, body["card_id"].as_str().unwrap().to_owned())
    }

    /// Records a life event at the counter.
    pub async fn event(&self, person: &str, body: Value) -> Value {
        let (status, out) = send(
            self.http
                .post(format!("{}/v1/counter/persons/{person}/events", self.a))
                .bearer_auth(&self.counter_key)
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{out}");
        out
    }

    /// A card client over the card image.
    pub fn card(&self, card_id: &str) -> Client<CardFile> {
        Client::new(CardFile::open(&self.authority_dir, card_id).unwrap())
    }

    /// Registers an RP with a fresh ES256 key and `settings` merged into the registration.
    pub async fn rp(&self, client_id: &str, settings: Value) -> Rp {
        let rp = Rp::new(client_id, &self.issuer());
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
            send(self.http.post(format!("{}/api/admin/clients", self.i)).bearer_auth(&self.admin_key).json(&body))
                .await;
        assert_eq!(status, 201, "{out}");
        rp
    }

    /// GET (no redirects followed): (status, headers, body text).
    pub async fn get_raw(&self, url: &str, cookie: Option<&str>) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.http.get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    /// Sends the authorization request `params` as a browser would: (status, Location, the
    /// flow's cookie "name=value").
    pub async fn authorize(&self, params: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let mut url = reqwest::Url::parse(&format!("{}/protocol/openid-connect/auth", self.issuer())).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        let (status, headers, body) = self.get_raw(url.as_str(), None).await;
        let location = headers.get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or(body);
        let cookie = headers.get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
        (status, location, cookie)
    }

    /// The app's view of a request.
    pub async fn app_request(&self, request_id: &str) -> Value {
        let (status, body) = send(self.http.get(format!("{}/api/app/requests/{request_id}", self.i))).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Approves a login request with card `card_id` (PIN 1234) through the app API: (status,
    /// answer). Reads the input-assist AP when the request asks for facts.
    pub async fn approve_login(&self, request_id: &str, card_id: &str) -> (u16, Value) {
        let req = self.app_request(request_id).await;
        let challenge = B64.decode(req["challenge"].as_str().unwrap()).unwrap();
        let mut card = self.card(card_id);
        let certificate = card.read_certificate(Slot::Auth).unwrap();
        let di = DigestInfo::of(DigestAlgorithm::Sha256, &challenge).to_der().unwrap();
        let signature = card.sign(Slot::Auth, PIN, &di).unwrap();
        let mut body = json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)});
        if !req["facts"].as_array().unwrap().is_empty() || req["my_number"] == true {
            body["input_assist"] = input_assist_files(
                &mut card,
                req["my_number"] == true,
                req["input_assist_challenge"].as_str().unwrap(),
            );
        }
        send(self.http.post(format!("{}/api/app/requests/{request_id}/approval", self.i)).json(&body)).await
    }

    /// The browser continues after the approval: the redirect to the RP as its query pairs.
    pub async fn continue_flow(&self, request_id: &str, cookie: &str) -> (u16, HashMap<String, String>, String) {
        let (status, headers, body) =
            self.get_raw(&format!("{}/app/requests/{request_id}/continue", self.i), Some(cookie)).await;
        let location = headers.get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or(body);
        let pairs = reqwest::Url::parse(&location)
            .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default();
        (status, pairs, location)
    }

    /// POSTs a token request form.
    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        send(self.http.post(format!("{}/protocol/openid-connect/token", self.issuer())).form(form)).await
    }

    /// A whole login of `card_id` for `rp` with `scope`: authorize → approve → continue → token.
    /// Returns the token response.
    pub async fn login(&self, rp: &Rp, card_id: &str, scope: &str) -> Value {
        let flow = rp.start(scope);
        let (status, location, cookie) = self.authorize(&flow.params(rp)).await;
        assert_eq!(status, 303, "{location}");
        let request_id = request_id(&location);
        let (status, answer) = self.approve_login(&request_id, card_id).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "approved", "{answer}");
        let (status, pairs, location) = self.continue_flow(&request_id, &cookie.unwrap()).await;
        assert_eq!(status, 302, "{location}");
        assert_eq!(pairs["state"], flow.state);
        let code = pairs["code"].clone();
        let assertion = rp.assertion(&self.issuer());
        let (status, tokens) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &rp.redirect_uri),
                ("code_verifier", &flow.verifier),
                ("client_assertion_type", hanko_idp::JWT_BEARER),
                ("client_assertion", &assertion),
            ])
            .await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }
}

/// The request id in a wallet URL (`/app/requests/{id}`).
pub fn request_id(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_owned()
}

/// The input-assist AP's files, read from the card with the PIN, with the chip's proof over
/// `challenge_b64` (a request's `input_assist_challenge`).
pub fn input_assist_files(card: &mut Client<CardFile>, my_number: bool, challenge_b64: &str) -> Value {
    use hanko_card::{input_assist_ef as ef, AccessCode};
    let facts = card.read_facts(AccessCode::Pin(PIN)).unwrap();
    let mut out = json!({
        "facts": B64.encode(facts.as_bytes()),
        "integrity_record": B64.encode(read_ef(card, ef::INTEGRITY)),
        "cv_certificate": B64.encode(read_ef(card, ef::CV_CERTIFICATE)),
    });
    let (record, signature) = card.prove_input_assist_chip(&B64.decode(challenge_b64).unwrap()).unwrap();
    out["chip_key_record"] = json!(B64.encode(record));
    out["chip_signature"] = json!(B64.encode(signature));
    if my_number {
        out["my_number"] = json!(B64.encode(read_ef(card, ef::MY_NUMBER)));
    }
    out
}

fn read_ef(card: &mut Client<CardFile>, fid: hanko_card::Fid) -> Vec<u8> {
    card.select_ef(fid).unwrap();
    let mut out = Vec::new();
    loop {
        let chunk = card.read_binary(out.len() as u16, 0xFF).unwrap_or_default();
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        out.extend_from_slice(&chunk);
        if n < 0xFF {
            break;
        }
    }
    out
}

/// Sends; (status, JSON body or the text as a string).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A relying party: its id, key and redirect URI.
pub struct Rp {
    pub client_id: String,
    pub redirect_uri: String,
    pub key: EncodingKey,
    pub kid: String,
    pub public_jwk: Value,
}

/// One authorization's secrets.
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub challenge: String,
    pub scope: String,
}

impl Flow {
    /// The authorization request's parameters.
    pub fn params<'a>(&'a self, rp: &'a Rp) -> Vec<(&'a str, &'a str)> {
        vec![
            ("response_type", "code"),
            ("client_id", &rp.client_id),
            ("redirect_uri", &rp.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.challenge),
            ("code_challenge_method", "S256"),
        ]
    }
}

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    B64URL.encode(b)
}

impl Rp {
    pub fn new(client_id: &str, _issuer: &str) -> Rp {
        use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
                .unwrap();
        let key = EncodingKey::from_ec_der(pkcs8.as_ref());
        let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        let kid = jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap();
        let mut public_jwk = serde_json::to_value(&jwk).unwrap();
        public_jwk["kid"] = json!(kid);
        Rp {
            client_id: client_id.to_owned(),
            redirect_uri: format!("https://rp.example/{client_id}/callback"),
            key,
            kid,
            public_jwk,
        }
    }

    /// Fresh state, nonce and PKCE for `scope`.
    pub fn start(&self, scope: &str) -> Flow {
        let verifier = random(32);
        let challenge = B64URL.encode(DigestAlgorithm::Sha256.digest(verifier.as_bytes()));
        Flow { state: format!("st;{}", random(8)), nonce: random(12), verifier, challenge, scope: scope.to_owned() }
    }

    /// A client assertion for the token endpoint with claims `extra` merged in.
    pub fn assertion_with(&self, issuer: &str, extra: Value) -> String {
        // The ecosystem's clock starts at START and the tests move it.
        let now = START.unix_timestamp();
        let mut claims = json!({
            "iss": self.client_id, "sub": self.client_id,
            "aud": format!("{issuer}/protocol/openid-connect/token"),
            "jti": random(16), "iat": now, "exp": now + 60,
        });
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }

    pub fn assertion(&self, issuer: &str) -> String {
        self.assertion_with(issuer, json!({}))
    }
}
