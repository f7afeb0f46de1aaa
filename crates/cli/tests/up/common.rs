//! The harness: `hanko up` as a child process, a cookie-keeping browser, the user's app.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_card::{Client, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde_json::{json, Value};

pub use crate::backends::{postgres_or_skip, Backend};

pub const PIN: &[u8] = b"1234";
pub const PASSWORD: &[u8] = b"HANKO2026";

/// A running `hanko up`.
pub struct Up {
    child: Child,
    pub backend: Backend,
    pub dir: PathBuf,
    pub ready: Value,
    pub bank: String,
    pub idp: String,
    pub platform: String,
    pub console: String,
    pub http: reqwest::Client,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Up {
    /// Starts `hanko up` on free ports over `backend`, and waits until it is ready.
    pub fn start(backend: Backend) -> Up {
        let dir = crate::backends::temp_dir("up", "eco");
        Up::start_in(dir, backend)
    }

    /// Starts (or restarts) `hanko up` on the data directory `dir`.
    pub fn start_in(dir: PathBuf, backend: Backend) -> Up {
        let ready_file = dir.with_extension("ready.json");
        let _ = std::fs::remove_file(&ready_file);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hanko"));
        cmd.args(["up", "--port", "0", "--tick", "3600"])
            .arg("--data-dir")
            .arg(&dir)
            .arg("--ready-file")
            .arg(&ready_file)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if backend == Backend::Postgres {
            let url = postgres_url_for(&dir);
            cmd.arg("--database").arg(url);
        }
        let child = cmd.spawn().unwrap();
        let mut up = Up {
            child,
            backend,
            dir,
            ready: Value::Null,
            bank: String::new(),
            idp: String::new(),
            platform: String::new(),
            console: String::new(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        };
        // A bound on the wait (not a timing): the first start issues the cards.
        let until = Instant::now() + Duration::from_secs(300);
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready_file) {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    up.ready = v;
                    break;
                }
            }
            if let Some(status) = up.child.try_wait().unwrap() {
                panic!("hanko up exited before it was ready: {status}");
            }
            assert!(Instant::now() < until, "hanko up was not ready in time");
            std::thread::sleep(Duration::from_millis(100));
        }
        let u = |k: &str| up.ready["urls"][k].as_str().unwrap().to_owned();
        up.bank = u("bank");
        up.idp = u("idp");
        up.platform = u("platform");
        up.console = up.ready["console"].as_str().unwrap().to_owned();
        up
    }

    /// Stops it (the data stays).
    pub fn stop(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::take(&mut self.dir)
    }

    /// The resident (from the ready file) whose name starts with `name`.
    pub fn resident(&self, name: &str) -> Value {
        self.ready["residents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"].as_str().unwrap().starts_with(name))
            .cloned()
            .unwrap_or_else(|| panic!("no resident {name}"))
    }

    /// The bank's store, opened beside the running bank (the test plays the platform when it
    /// needs the webhook secret the bank keeps there).
    pub async fn bank_store(&self) -> hanko_bank::Store {
        let url = match self.backend {
            // `hanko up` makes the schemas <hanko_schema>_<service>.
            Backend::Postgres => format!("{}_bank", postgres_url_for(&self.dir)),
            Backend::Sqlite => format!("sqlite:{}", self.dir.join("bank").join("bank.sqlite").display()),
        };
        hanko_bank::Store::new(hanko_store::Db::connect(&url).await.unwrap()).await.unwrap()
    }

    /// The card id of the resident whose name starts with `name`.
    pub fn card_of(&self, name: &str) -> String {
        self.ready["residents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"].as_str().unwrap().starts_with(name))
            .map(|r| r["card_id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no resident {name}"))
    }

    /// A card client over the card image.
    pub fn card(&self, card_id: &str) -> Client<CardFile> {
        Client::new(CardFile::open(&self.dir.join("authority"), card_id).unwrap())
    }

    /// The app's view of a request.
    pub async fn app_request(&self, request_id: &str) -> Value {
        let (status, body) = send(self.http.get(format!("{}/api/app/requests/{request_id}", self.idp))).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The user approves the request with `card_id`: a login (auth key, PIN) or a signature
    /// (signature key, password), as the request asks. (status, answer).
    pub async fn approve(&self, request_id: &str, card_id: &str) -> (u16, Value) {
        let req = self.app_request(request_id).await;
        let mut card = self.card(card_id);
        let body = if req["kind"] == "sign" {
            let data = B64.decode(req["sign"]["data"].as_str().unwrap()).unwrap();
            let certificate = card.read_signature_certificate(PASSWORD).unwrap();
            let signature = card.sign(Slot::Signature, PASSWORD, &data).unwrap();
            json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature), "device": "card"})
        } else {
            let challenge = B64.decode(req["challenge"].as_str().unwrap()).unwrap();
            let certificate = card.read_certificate(Slot::Auth).unwrap();
            let di = DigestInfo::of(DigestAlgorithm::Sha256, &challenge).to_der().unwrap();
            let signature = card.sign(Slot::Auth, PIN, &di).unwrap();
            json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)})
        };
        send(self.http.post(format!("{}/api/app/requests/{request_id}/approval", self.idp)).json(&body)).await
    }

    /// The user declines the request.
    pub async fn cancel(&self, request_id: &str) -> (u16, Value) {
        send(self.http.post(format!("{}/api/app/requests/{request_id}/cancel", self.idp)).json(&json!({}))).await
    }
}

/// A fresh schema prefix per data directory (the same at a restart of that directory).
fn postgres_url_for(dir: &std::path::Path) -> String {
    let base = std::env::var("HANKO_TEST_POSTGRES").unwrap();
    let tag: String = dir.file_name().unwrap().to_str().unwrap().chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{base}{}hanko_schema=t{tag}", if base.contains('?') { '&' } else { '?' })
}

/// Sends; (status, JSON body or the text as a string).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// An answer the browser got.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A browser without JavaScript: one cookie jar for 127.0.0.1 (cookies ignore ports), no
/// automatic redirects (it follows them itself, to stop at the wallet).
pub struct Browser {
    http: reqwest::Client,
    jar: Mutex<HashMap<String, String>>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            jar: Mutex::new(HashMap::new()),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// The value of a cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Forgets a cookie (another browser, a cleared cookie).
    pub fn forget(&self, name: &str) {
        self.jar.lock().unwrap().remove(name);
    }

    async fn answer(&self, url: &str, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let first = v.split(';').next().unwrap();
            let (k, val) = first.split_once('=').unwrap();
            let mut jar = self.jar.lock().unwrap();
            if v.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_owned(), val.to_owned());
            }
        }
        let location = resp.headers().get("location").map(|l| {
            let l = l.to_str().unwrap();
            reqwest::Url::parse(url).unwrap().join(l).unwrap().to_string()
        });
        Page { url: url.to_owned(), status, location, body: resp.text().await.unwrap() }
    }

    /// GETs a download: (status, content type, bytes).
    pub async fn bytes(&self, url: &str) -> (u16, String, Vec<u8>) {
        let resp = self.http.get(url).header("cookie", self.cookie_header()).send().await.unwrap();
        let status = resp.status().as_u16();
        let kind = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, kind, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn get(&self, url: &str) -> Page {
        let resp = self.http.get(url).header("cookie", self.cookie_header()).send().await.unwrap();
        self.answer(url, resp).await
    }

    /// POSTs a form as a page of `origin` would.
    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let origin = reqwest::Url::parse(url).unwrap().origin().ascii_serialization();
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .unwrap();
        self.answer(url, resp).await
    }

    /// Follows redirects from `page` (GET), stopping at the wallet (`/app/requests/{id}`) or at
    /// a page that is not a redirect.
    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            let Some(next) = page.location.clone().filter(|_| (300..400).contains(&page.status)) else { return page };
            if next.contains("/app/requests/") && !next.ends_with("/continue") {
                return Page { url: next, status: page.status, location: None, body: String::new() };
            }
            page = self.get(&next).await;
        }
        panic!("too many redirects from {}", page.url);
    }

    /// From a page that sends the browser to the authentication app: the user approves with
    /// `card_id` (or cancels with `None`), the browser comes back to the bank; the bank's page.
    pub async fn through_app(&self, up: &Up, start: Page, card_id: Option<&str>) -> Page {
        let wallet = self.follow(start).await;
        assert!(wallet.url.contains("/app/requests/"), "not at the wallet: {wallet:?}");
        let request_id = wallet.url.rsplit('/').next().unwrap().to_owned();
        let (status, answer) = match card_id {
            Some(card) => up.approve(&request_id, card).await,
            None => up.cancel(&request_id).await,
        };
        assert!((200..300).contains(&status), "the app's answer: {status} {answer}");
        let back = self.get(&format!("{}/app/requests/{request_id}/continue", up.idp)).await;
        self.follow(back).await
    }
}

/// The text of an element `id="…"` in a page (its inner HTML, tags kept).
pub fn element(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\""))?;
    let open_end = start + body[start..].find('>')? + 1;
    let close = open_end + body[open_end..].find("</")?;
    Some(body[open_end..close].to_owned())
}

/// The value of the form input `name` in a page.
pub fn input_value(body: &str, name: &str) -> String {
    let at = body.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no input {name} in {body}"));
    let rest = &body[at..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..v + rest[v..].find('"').unwrap()].to_owned()
}

/// Opens an account with `card` in `browser` through the bank's real flow (`open::open_account`:
/// the first signature, the form, the signed application); the browser is logged in afterwards.
/// The account number.
pub async fn open_account(up: &Up, browser: &Browser, card: &str) -> String {
    let record = crate::open::open_account(up, browser, card, "会社員", "生計費決済").await;
    assert_eq!(record.status, 200, "{record:?}");
    assert!(browser.cookie("hanko_bank_session").is_some(), "logged in after opening");
    element(&record.body, "account-number").unwrap_or_else(|| panic!("no account number: {}", record.body))
}
