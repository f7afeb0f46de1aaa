//! `hanko app …` — the user's app without a browser: approve (or decline) a pending login or
//! signature request of the authentication app service with a card, for scripts and headless
//! use. What the web wallet does, through the same app API (docs/idp.md, "The app API").

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::{Args, Subcommand};
use hanko_card::{input_assist_ef as ef, AccessCode, CardAppError, Client, Fid, Slot, Transport};
use hanko_cardlink::CardFile;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::cmd_card::explain;
use crate::secrets;
use crate::{DataDir, Failure};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Approve a pending request with a card: shows on stderr who asks and what will be
    /// shared (which of the 4 facts, the My Number, the certificate) or signed, has the card sign
    /// (the login challenge with the user-authentication key and PIN, or the sign transaction's
    /// hash with the signature key and password), reads the input-assist AP when the 4 facts or
    /// the My Number are asked for, and sends the answer. Prints the outcome; exit status 1 when
    /// the request ends refused (a revoked or held certificate, a device the client does not
    /// accept …) or the card refuses the PIN (tries left are said).
    ///
    /// The PIN (login) or the signature password (sign) comes from --pin-file, else $HANKO_PIN /
    /// $HANKO_PASSWORD, else a prompt on the terminal; it is never printed. The input-assist AP
    /// opens with the same PIN (the same-PIN shortcut) unless --facts-pin-file names another.
    Approve(ApproveArgs),
}

#[derive(Args)]
pub(crate) struct ApproveArgs {
    /// The request: the wallet URL the login was redirected to
    /// (`https://idp.example/app/requests/ID`, also what the PC flow's QR code holds), or its ID
    /// with --url.
    request: String,
    /// The provider's base URL, when REQUEST is an ID.
    #[arg(long, env = "HANKO_IDP_URL")]
    url: Option<String>,
    #[command(flatten)]
    data: DataDir,
    /// An emulated card (or phone) of the authority data directory, by id (see `hanko card list`).
    #[arg(long, required_unless_present_any = ["reader", "cancel"])]
    card: Option<String>,
    /// A card in a PC/SC reader whose name contains this text. Needs pcscd and a hanko built with
    /// `--features pcsc` (see docs/pcsc.md).
    #[arg(long, conflicts_with = "card")]
    reader: Option<String>,
    /// A file whose first line is the PIN (login) or the signature password (sign).
    #[arg(long)]
    pin_file: Option<PathBuf>,
    /// A file whose first line is the input-assist PIN, when it differs from the login PIN (or
    /// for a sign request that asks for the My Number).
    #[arg(long)]
    facts_pin_file: Option<PathBuf>,
    /// Decline instead: the client gets access_denied.
    #[arg(long, conflicts_with_all = ["card", "reader", "pin_file", "facts_pin_file"])]
    cancel: bool,
}

/// (base URL, request id) of a wallet URL or a bare id.
fn locate(request: &str, url: Option<&str>) -> Result<(String, String)> {
    let valid = |id: &str| {
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if request.starts_with("http://") || request.starts_with("https://") {
        let u = reqwest::Url::parse(request)
            .map_err(|e| Failure::bad_input("bad-input", format!("{request:?} is not a URL: {e}")))?;
        let segments: Vec<&str> = u.path_segments().map(Iterator::collect).unwrap_or_default();
        let at = segments.windows(2).position(|w| w[0] == "app" && w[1] == "requests");
        let id = at.and_then(|i| segments.get(i + 2)).copied().filter(|id| valid(id)).ok_or_else(|| {
            Failure::bad_input("bad-input", format!("{request} is not a wallet URL (…/app/requests/ID)"))
        })?;
        let mut base = u.origin().ascii_serialization();
        // A provider behind a path prefix: everything before /app or /api/app.
        let prefix_end = at.map(|i| if i > 0 && segments[i - 1] == "api" { i - 1 } else { i }).unwrap_or(0);
        for s in &segments[..prefix_end] {
            base.push('/');
            base.push_str(s);
        }
        return Ok((base, id.to_owned()));
    }
    if !valid(request) {
        return Err(
            Failure::bad_input("bad-input", format!("{request:?} is neither a wallet URL nor a request id")).into()
        );
    }
    let base = url.ok_or_else(|| {
        Failure::bad_input("bad-input", "REQUEST is an id: give the provider's base URL with --url (or $HANKO_IDP_URL)")
    })?;
    Ok((base.trim_end_matches('/').to_owned(), request.to_owned()))
}

/// The app API of one request.
struct Api {
    http: reqwest::Client,
    base: String,
    id: String,
}

impl Api {
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp = req.send().await.with_context(|| format!("reaching the provider at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let detail = body.get("detail").and_then(Value::as_str).map(str::to_owned).unwrap_or(text);
        let code = match status.as_u16() {
            404 => "not-found",
            409 => "conflict",
            410 => "expired",
            _ => "refused",
        };
        Err(Failure::bad_input(code, format!("the provider answered HTTP {status}: {detail}")).into())
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/api/app/requests/{}{tail}", self.base, self.id)
    }
}

pub(crate) fn run(cmd: Command, json_out: bool) -> Result<ExitCode> {
    let Command::Approve(a) = cmd;
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(approve(a, json_out))
}

fn list(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default()
}

/// Says on stderr who asks and what will be shared or signed (never the values).
/// `s` without control characters (text from the server is printed to a terminal).
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

fn show(base: &str, req: &Value) {
    let client = format!(
        "{} ({})",
        printable(req["client"]["name"].as_str().unwrap_or_default()),
        printable(req["client"]["id"].as_str().unwrap_or_default())
    );
    let sign = req["kind"] == "sign";
    eprintln!("provider {}: {client} asks you to {}", printable(base), if sign { "sign" } else { "log in" });
    if sign {
        let data = B64.decode(req["sign"]["data"].as_str().unwrap_or_default()).unwrap_or_default();
        let what = if req["sign"]["form"] == "digest_info" { "DigestInfo" } else { "hash" };
        eprintln!("  to sign ({what}, with the signature key and password): {}", hex::encode(data));
    }
    let facts = list(&req["facts"]);
    let names: Vec<&str> = facts
        .iter()
        .map(|f| match f.as_str() {
            "name" => "name (氏名)",
            "address" => "address (住所)",
            "birthdate" => "birth date (生年月日)",
            "gender" => "sex (性別)",
            other => other,
        })
        .collect();
    eprintln!("  shared: {}", if names.is_empty() { "only a per-service identifier".into() } else { names.join(", ") });
    if req["my_number"] == true {
        eprintln!("  shared: your My Number (個人番号)");
    }
    if req["user_certificate"] == true || sign {
        eprintln!("  shared: your {} certificate", if sign { "signature" } else { "user-authentication" });
    }
    if let Some(d) = req["devices"].as_str().filter(|d| *d != "either") {
        eprintln!("  this service accepts: the {d} only");
    }
}

/// The card (or phone) and whether it is a phone (the app API's `device`: a phone's
/// user-authentication certificate carries the card's policy, so the app says what it read). A
/// reader holds a card.
fn open_card(a: &ApproveArgs) -> Result<(Client<Box<dyn Transport>>, bool)> {
    let (transport, phone): (Box<dyn Transport>, bool) = match (&a.card, &a.reader) {
        (Some(id), _) => {
            let file = CardFile::open(&a.data.data_dir, id)?;
            let phone = file.card().device() != hanko_card::Device::Card;
            (Box::new(file), phone)
        }
        (None, Some(name)) => (crate::cmd_card::reader_transport(name)?, false),
        (None, None) => return Err(Failure::bad_input("usage", "give --card ID or --reader NAME").into()),
    };
    Ok((Client::new(transport), phone))
}

fn card_app(e: CardAppError) -> anyhow::Error {
    match e {
        CardAppError::Client(c) => explain(c),
        other => anyhow::anyhow!(other).context("reading the input-assist AP"),
    }
}

/// Reads `len` bytes of EF `fid` of the selected application.
fn read_ef<T: Transport>(c: &mut Client<T>, fid: Fid, len: usize) -> Result<Vec<u8>> {
    c.select_ef(fid).map_err(explain)?;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let chunk = c.read_binary(out.len() as u16, (len - out.len()).min(256)).map_err(explain)?;
        if chunk.is_empty() {
            break;
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The input-assist AP's files as the app API takes them, read with `pin`, with the chip's
/// signature over the request's `input_assist_challenge` (proof that they come from this card,
/// now).
fn input_assist<T: Transport>(
    c: &mut Client<T>,
    pin: &[u8],
    my_number: bool,
    facts: bool,
    req: &Value,
) -> Result<Value> {
    let challenge = B64
        .decode(req["input_assist_challenge"].as_str().unwrap_or_default())
        .map_err(|_| anyhow::anyhow!("the request's input_assist_challenge is not base64"))?;
    let four = c.read_facts(AccessCode::Pin(pin)).map_err(card_app)?;
    let mut out = json!({
        "integrity_record": B64.encode(read_ef(c, ef::INTEGRITY, hanko_card::INTEGRITY_RECORD_LEN)?),
        "cv_certificate": B64.encode(read_ef(c, ef::CV_CERTIFICATE, hanko_card::CV_CERTIFICATE_LEN)?),
    });
    if facts {
        out["facts"] = json!(B64.encode(four.as_bytes()));
    }
    if my_number {
        let ef = Zeroizing::new(read_ef(c, ef::MY_NUMBER, hanko_card::MY_NUMBER_EF_LEN)?);
        out["my_number"] = json!(B64.encode(&*ef));
    }
    let (record, signature) = c.prove_input_assist_chip(&challenge).map_err(card_app)?;
    out["chip_key_record"] = json!(B64.encode(record));
    out["chip_signature"] = json!(B64.encode(signature));
    Ok(out)
}

async fn approve(a: ApproveArgs, json_out: bool) -> Result<ExitCode> {
    let (base, id) = locate(&a.request, a.url.as_deref())?;
    let api = Api { http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?, base, id };
    if a.cancel {
        let out = api.send(api.http.post(api.url("/cancel"))).await?;
        return outcome(&api, &out, json_out, true);
    }
    let req = api.send(api.http.get(api.url(""))).await?;
    match req["status"].as_str() {
        Some("pending") => {}
        Some(s) => {
            return Err(Failure::bad_input("not-pending", format!("the request is {s}, no longer pending")).into())
        }
        None => return Err(anyhow::anyhow!("the provider's answer has no status")),
    }
    if req["substitute"] == true {
        return Err(Failure::bad_input(
            "substitute",
            "this client uses the test-card substitute: answer on its page in the browser, not with a card",
        )
        .into());
    }
    show(&api.base, &req);
    let facts = !list(&req["facts"]).is_empty();
    let my_number = req["my_number"] == true;
    let (mut card, phone) = open_card(&a)?;
    let mut body = if req["kind"] == "sign" {
        let data = B64
            .decode(req["sign"]["data"].as_str().unwrap_or_default())
            .map_err(|_| anyhow::anyhow!("the request's sign data is not base64"))?;
        // Only a hash or a DigestInfo of one: a provider may not have the signature key sign
        // anything else (a document, another protocol's message).
        let hash_len = [32, 48, 64].contains(&data.len());
        let digest_info = hanko_pki::DigestInfo::from_der(&data).is_ok_and(|d| d.to_der().is_ok_and(|der| der == data));
        if !hash_len && !digest_info {
            return Err(Failure::bad_input(
                "bad-input",
                "the provider asks to sign bytes that are neither a SHA-256/384/512 hash nor a DigestInfo of one: refused",
            )
            .into());
        }
        let password = secrets::PASSWORD.resolve(a.pin_file.as_deref())?;
        let signature = card.sign(Slot::Signature, password.as_bytes(), &data).map_err(explain)?;
        let certificate = card.read_signature_certificate(password.as_bytes()).map_err(explain)?;
        let mut body = json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)});
        if my_number {
            // The 4 facts of a sign request come from the signature certificate; the My Number
            // only from the input-assist AP, which opens with the PIN (not the password).
            let pin = secrets::PIN.resolve(a.facts_pin_file.as_deref())?;
            body["input_assist"] = input_assist(&mut card, pin.as_bytes(), true, facts, &req)?;
        }
        body
    } else {
        let challenge = B64
            .decode(req["challenge"].as_str().unwrap_or_default())
            .map_err(|_| anyhow::anyhow!("the request's challenge is not base64"))?;
        let pin = secrets::PIN.resolve(a.pin_file.as_deref())?;
        let certificate = card.read_certificate(Slot::Auth).map_err(explain)?;
        let di = DigestInfo::of(DigestAlgorithm::Sha256, &challenge).to_der()?;
        let signature = card.sign(Slot::Auth, pin.as_bytes(), &di).map_err(explain)?;
        let mut body = json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature)});
        // A phone has no input-assist AP: the provider says so (and keeps the request open).
        if (facts || my_number) && !phone {
            let facts_pin = match &a.facts_pin_file {
                Some(f) => secrets::PIN.resolve(Some(f))?,
                None => pin,
            };
            body["input_assist"] = input_assist(&mut card, facts_pin.as_bytes(), my_number, facts, &req)?;
        }
        body
    };
    if phone {
        body["device"] = json!("phone");
    }
    let out = api.send(api.http.post(api.url("/approval")).json(&body)).await;
    // The request's answer holds the 4 facts' files: drop it at once.
    if let Some(obj) = body.as_object_mut() {
        obj.remove("input_assist");
    }
    outcome(&api, &out?, json_out, false)
}

/// Prints the outcome; a refusal is exit status 1.
fn outcome(api: &Api, out: &Value, json_out: bool, cancelled: bool) -> Result<ExitCode> {
    let status = out["status"].as_str().unwrap_or_default();
    let continue_url = format!("{}{}", api.base, out["continue_url"].as_str().unwrap_or_default());
    let mut report = out.clone();
    report["request_id"] = json!(api.id);
    report["continue_url"] = json!(continue_url);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    match status {
        "approved" => {
            if !json_out {
                println!("approved: the browser that started the request continues at {continue_url}");
            }
            Ok(ExitCode::SUCCESS)
        }
        "denied" if cancelled => {
            if !json_out {
                println!("declined: the client gets access_denied when the browser continues at {continue_url}");
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let why = format!(
                "{}: {}",
                out["error"].as_str().unwrap_or("failed"),
                out["error_description"].as_str().unwrap_or("the provider gave no reason")
            );
            if !json_out {
                println!("failed: {why}");
            }
            Err(Failure::refused("not-approved", format!("the request was not approved ({why})")).into())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::locate;

    #[test]
    fn a_request_is_a_wallet_url_an_app_api_url_or_an_id_with_url() {
        let at = |r: &str, url: Option<&str>| locate(r, url).map_err(|e| e.to_string());
        assert_eq!(
            at("http://127.0.0.1:8460/app/requests/Qm9-x_1", None).unwrap(),
            ("http://127.0.0.1:8460".into(), "Qm9-x_1".into())
        );
        assert_eq!(
            at("https://idp.example/auth/app/requests/abc/continue?x=1", None).unwrap(),
            ("https://idp.example/auth".into(), "abc".into()),
            "a provider behind a path prefix"
        );
        assert_eq!(
            at("https://idp.example/api/app/requests/abc", None).unwrap(),
            ("https://idp.example".into(), "abc".into())
        );
        assert_eq!(at("abc", Some("http://x:1/")).unwrap(), ("http://x:1".into(), "abc".into()));
        assert!(at("abc", None).unwrap_err().contains("--url"));
        assert!(at("https://idp.example/elsewhere/abc", None).is_err());
        assert!(at("https://idp.example/app/requests/a%2Fb", None).is_err());
        assert!(at("../etc/passwd", Some("http://x")).is_err());
        assert!(at(&"a".repeat(65), Some("http://x")).is_err());
    }
}
