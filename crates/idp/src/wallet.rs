//! The user's app in the browser: the web wallet at `/app/requests/{id}` (server-rendered, no
//! framework, works without JavaScript except the polling of the PC flow), the PC flow's QR code
//! and status, and the test-card substitute page.
//!
//! - `GET /app/requests/{id}`: what the client asks for (the 4 facts, the My Number, the
//!   certificate, or the bytes a signature covers), the emulated cards (`Config::cards_dir`: an id
//!   and a masked holder hint, never the My Number), the PIN inputs, approve and cancel. In the
//!   browser that started the request it also shows a QR code of this URL (the id is the
//!   capability) for approving on another device, and polls `…/status` every second.
//! - `POST /app/requests/{id}`: the form. On approve the server drives the emulated card through
//!   its APDUs (the certificate, VERIFY and the signature of the login challenge or of the sign
//!   transaction's bytes, the input-assist AP's files) and answers through the app API
//!   ([`Idp::app_approve`]). A wrong PIN keeps the request pending and says how many tries are
//!   left; a locked PIN, a refused certificate or an expired request are said on the page.
//! - `GET /app/requests/{id}/status`: `{"status"}` for the polling page.
//!
//! CSRF: every form carries HMAC(the provider's key, id ‖ the browser's binding cookie) — the
//! flow cookie in the browser that started the request, or a device cookie set by the page on
//! another device — and a POST is refused without that cookie, with another token, or with an
//! `Origin` / `Sec-Fetch-Site` that is not this origin. PINs are never logged nor written back
//! into a page.
//!
//! Clients in the test-card substitute mode (「認証API/署名APIテストレスポンス設定画面」) get,
//! instead of the card UI, a page choosing 「正常」 and a test card (completed with the card's
//! default test PIN and password) or 「異常」 and an error; the app API cannot answer them.

use std::path::Path as FsPath;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use hanko_card::{input_assist_ef, AccessCode, CardAppError, ClientError, Device, Fid, PinStatus, Slot};
use hanko_cardlink::{CardFile, CardFileError};
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde_json::json;
use zeroize::Zeroizing;

use crate::app::{AppRequest, Approval, ApprovalOutcome, InputAssistFiles};
use crate::authorize::{cookie, cookie_name, html_escape, parse_params};
use crate::error::IdpError;
use crate::store::FlowRecord;
use crate::{constant_eq, random_token, sha256_hex, Idp};

/// The test cards' PIN (authentication and input-assist) the substitute page signs with.
pub const TEST_PIN: &str = "1234";
/// The test cards' signature password the substitute page signs with.
pub const TEST_PASSWORD: &str = "HANKO2026";
/// At most this many emulated cards are listed.
const MAX_CARDS: usize = 100;

/// The cookie a page on another device (no flow cookie) binds its forms to.
fn device_cookie_name(id: &str) -> String {
    format!("hanko_device_{id}")
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What ties a form to the browser showing it.
struct Binding {
    value: String,
    /// The browser that started the request (it may continue to the client).
    starter: bool,
    /// A new device cookie to set.
    set_cookie: Option<HeaderValue>,
}

impl Idp {
    /// The browser's binding for `flow`: the flow cookie when it is the right one, else the
    /// device cookie, else (when `create`) a new device cookie.
    fn binding(&self, flow: &FlowRecord, headers: &HeaderMap, create: bool) -> Option<Binding> {
        if let Some(secret) = cookie(headers, &cookie_name(&flow.id)) {
            if constant_eq(sha256_hex(secret.as_bytes()).as_bytes(), flow.browser_hash.as_bytes()) {
                return Some(Binding { value: secret.to_owned(), starter: true, set_cookie: None });
            }
        }
        if let Some(v) = cookie(headers, &device_cookie_name(&flow.id)).filter(|v| v.len() == 43 && valid_id(v)) {
            return Some(Binding { value: v.to_owned(), starter: false, set_cookie: None });
        }
        if !create {
            return None;
        }
        let value = random_token(32);
        let max_age = (flow.expires_at - self.clock.now().unix_timestamp()).max(0);
        let c = format!(
            "{}={value}; Path=/app/requests/{}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
            device_cookie_name(&flow.id),
            flow.id,
            if self.config.base_url.starts_with("https://") { "; Secure" } else { "" }
        );
        Some(Binding { value, starter: false, set_cookie: HeaderValue::from_str(&c).ok() })
    }

    /// The CSRF token of the forms of request `id` in the browser bound by `binding`.
    fn csrf_token(&self, id: &str, binding: &str) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.pairwise_key);
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        ctx.update(b"hanko idp wallet csrf\0");
        ctx.update(id.as_bytes());
        ctx.update(b"\0");
        ctx.update(binding.as_bytes());
        B64URL.encode(ctx.sign().as_ref())
    }

    /// Whether the request's `Origin` and `Sec-Fetch-Site`, when present, say this origin.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        let ours = reqwest::Url::parse(&self.config.base_url).map(|u| u.origin().ascii_serialization()).ok();
        if let Some(origin) = headers.get(header::ORIGIN) {
            if origin.to_str().ok() != ours.as_deref() {
                return false;
            }
        }
        match headers.get("sec-fetch-site").map(|v| v.to_str().unwrap_or_default()) {
            None | Some("same-origin") => true,
            Some(_) => false,
        }
    }

    /// The login challenge of a flow (made with the flow).
    async fn ensure_challenge(&self, flow: &FlowRecord) -> Result<Vec<u8>, IdpError> {
        flow.challenge.clone().map(|(_, b)| b).ok_or_else(|| IdpError::Internal("a flow without its challenge".into()))
    }
}

// ---------------------------------------------------------------------------------------------
// The cards.

/// An emulated card as listed.
struct CardEntry {
    id: String,
    hint: String,
    device: &'static str,
    usable: bool,
}

/// The emulated cards under `dir`: id, masked holder hint (the first character of the name),
/// device. Never the My Number.
fn list_cards(dir: &FsPath) -> Vec<CardEntry> {
    let ids = hanko_cardlink::list_card_images(dir).unwrap_or_default();
    ids.into_iter()
        .take(MAX_CARDS)
        .map(|id| match CardFile::open(dir, &id) {
            Ok(f) => {
                let card = f.card();
                let device = match card.device() {
                    Device::Card => "マイナンバーカード / card",
                    Device::Android => "スマートフォン / Android",
                    Device::Iphone => "スマートフォン / iPhone",
                };
                CardEntry { hint: holder_hint(card), id, device, usable: true }
            }
            Err(CardFileError::InUse(_)) => {
                CardEntry { id, hint: "—".into(), device: "使用中 / in use", usable: false }
            }
            Err(_) => CardEntry { id, hint: "—".into(), device: "読めません / unreadable", usable: false },
        })
        .collect()
}

/// The first character of the holder's name followed by masks, from the card's 4-facts EF.
fn holder_hint(card: &hanko_card::Card) -> String {
    let content = card
        .applications()
        .iter()
        .find(|a| a.name == "input-assist")
        .and_then(|a| a.object(input_assist_ef::FACTS))
        .and_then(|o| match o {
            hanko_card::Object::File { content, .. } => Some(content.as_slice()),
            _ => None,
        });
    let Some(content) = content else { return "—".into() };
    let total = match content {
        [0xFF, 0x20, n, ..] if *n < 0x80 => 3 + usize::from(*n),
        [0xFF, 0x20, 0x81, n, ..] => 4 + usize::from(*n),
        [0xFF, 0x20, 0x82, a, b, ..] => 5 + (usize::from(*a) << 8 | usize::from(*b)),
        _ => return "—".into(),
    };
    match content.get(..total).map(hanko_card::FourFacts::parse) {
        Some(Ok(facts)) => {
            let first: String = facts.name().chars().take(1).collect();
            format!("{first}＊＊＊")
        }
        _ => "—".into(),
    }
}

/// Which secret a card refused.
#[derive(Clone, Copy)]
enum Secret {
    Auth,
    Sign,
    Assist,
}

impl Secret {
    fn label(self) -> &'static str {
        match self {
            Secret::Auth => "利用者証明用電子証明書の暗証番号 / authentication PIN",
            Secret::Sign => "署名用電子証明書の暗証番号 / signature password",
            Secret::Assist => "券面事項入力補助用暗証番号 / input-assist PIN",
        }
    }
}

/// Why the card did not answer.
enum CardProblem {
    WrongPin(Secret, u8),
    Locked(Secret),
    NotFound,
    InUse,
    /// The card holds no signature key (a child's card, or one whose signature certificate was
    /// never issued): asked to sign, it answers `6A 82` to the signature PIN's EF.
    NoSignature,
    Other(String),
}

impl CardProblem {
    fn message(&self) -> String {
        match self {
            CardProblem::WrongPin(s, n) => format!(
                "暗証番号が違います（{}）。あと{n}回間違えるとロックされます。 / Wrong PIN ({}): {n} tries left.",
                s.label().split(" / ").next().unwrap_or_default(),
                s.label().split(" / ").nth(1).unwrap_or_default(),
            ),
            CardProblem::Locked(s) => format!(
                "暗証番号がロックされています（{}）。市区町村の窓口で初期化してください。 / The {} is locked: \
                 the municipality can reset it.",
                s.label().split(" / ").next().unwrap_or_default(),
                s.label().split(" / ").nth(1).unwrap_or_default(),
            ),
            CardProblem::NotFound => "選んだカードが見つかりません。 / The chosen card was not found.".into(),
            CardProblem::InUse => "選んだカードは別の処理で使用中です。少し待ってからやり直してください。 / The card \
                                   is in use; try again shortly."
                .into(),
            CardProblem::NoSignature => "このカードには署名用電子証明書がありません（15歳未満の方のカードには搭載されていません）。電子署名が必要な手続きには使えません。キャンセルしてサービスの画面にお戻りください。 / This card has no signature certificate (a card of a child under 15 has none): it cannot be used where a signature is needed. Cancel to go back to the service.".into(),
            CardProblem::Other(m) => format!("カードを読み取れません。 / The card could not be read: {m}"),
        }
    }
}

fn client_problem(which: Secret, e: ClientError) -> CardProblem {
    match e {
        ClientError::WrongPin { tries_left } => CardProblem::WrongPin(which, tries_left),
        ClientError::PinBlocked => CardProblem::Locked(which),
        e => CardProblem::Other(e.to_string()),
    }
}

fn app_problem(which: Secret, e: CardAppError) -> CardProblem {
    match e {
        CardAppError::Client(e) => client_problem(which, e),
        e => CardProblem::Other(e.to_string()),
    }
}

/// What the card must do.
enum Task {
    /// Sign SHA-256(challenge)'s DigestInfo with the authentication key.
    Login(Vec<u8>),
    /// Sign these bytes as given with the signature key.
    Sign(Vec<u8>),
}

/// The secrets typed, zeroised when dropped.
struct Secrets {
    pin: Zeroizing<Vec<u8>>,
    assist: Option<Zeroizing<Vec<u8>>>,
}

/// Drives emulated card `card_id` through its APDUs: the certificate, the signature, and the
/// input-assist AP's files when `facts` or `my_number`.
fn drive_card(
    dir: &FsPath,
    card_id: &str,
    task: &Task,
    secrets: &Secrets,
    facts: bool,
    my_number: bool,
    assist_challenge: &[u8],
) -> Result<Approval, CardProblem> {
    let file = CardFile::open(dir, card_id).map_err(|e| match e {
        CardFileError::NotFound { .. } | CardFileError::BadId(_) => CardProblem::NotFound,
        CardFileError::InUse(_) => CardProblem::InUse,
        // The error names the server's cards directory: logged, not shown.
        e => {
            tracing::warn!(error = %e, "opening a card image failed");
            CardProblem::Other("the card image cannot be opened".into())
        }
    })?;
    let device = match file.card().device() {
        Device::Card => None,
        Device::Android | Device::Iphone => Some("phone".to_owned()),
    };
    let mut card = hanko_card::Client::new(file);
    let (certificate, signature) = match task {
        Task::Login(challenge) => {
            if card.pin_status(Slot::Auth).map_err(|e| client_problem(Secret::Auth, e))? == PinStatus::Blocked {
                return Err(CardProblem::Locked(Secret::Auth));
            }
            let di = DigestInfo::of(DigestAlgorithm::Sha256, challenge)
                .to_der()
                .map_err(|e| CardProblem::Other(e.to_string()))?;
            // VERIFY first: a phone's certificate is read only after the PIN (a card's any time).
            let auth = |e| client_problem(Secret::Auth, e);
            card.verify_pin(Slot::Auth, &secrets.pin).map_err(auth)?;
            card.select_ef(hanko_card::layout::jpki::AUTH_CERT).map_err(auth)?;
            let certificate = card.read_der_ef().map_err(auth)?;
            let signature = card.sign_verified(Slot::Auth, &di).map_err(auth)?;
            (certificate, signature)
        }
        Task::Sign(data) => {
            let status = card.pin_status(Slot::Signature).map_err(|e| match e {
                ClientError::Status { sw: hanko_card::StatusWord::FILE_NOT_FOUND, .. } => CardProblem::NoSignature,
                e => client_problem(Secret::Sign, e),
            })?;
            if status == PinStatus::Blocked {
                return Err(CardProblem::Locked(Secret::Sign));
            }
            let certificate =
                card.read_signature_certificate(&secrets.pin).map_err(|e| client_problem(Secret::Sign, e))?;
            let signature = card.sign_verified(Slot::Signature, data).map_err(|e| client_problem(Secret::Sign, e))?;
            (certificate, signature)
        }
    };
    let input_assist = if facts || my_number {
        let code = secrets.assist.as_ref().ok_or(CardProblem::Locked(Secret::Assist))?;
        let code = AccessCode::Pin(code);
        let facts_file = if facts {
            Some(card.read_facts(code).map_err(|e| app_problem(Secret::Assist, e))?.as_bytes().to_vec())
        } else {
            drop(card.read_my_number(code).map_err(|e| app_problem(Secret::Assist, e))?);
            None
        };
        let mut read = |fid: Fid, len: usize| -> Result<Vec<u8>, CardProblem> {
            card.select_ef(fid).map_err(|e| client_problem(Secret::Assist, e))?;
            let mut out = Vec::with_capacity(len);
            while out.len() < len {
                let chunk = card
                    .read_binary(out.len() as u16, (len - out.len()).min(256))
                    .map_err(|e| client_problem(Secret::Assist, e))?;
                if chunk.is_empty() {
                    return Err(CardProblem::Other("an input-assist EF is shorter than expected".into()));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        };
        let integrity = read(input_assist_ef::INTEGRITY, hanko_card::INTEGRITY_RECORD_LEN)?;
        let cv = read(input_assist_ef::CV_CERTIFICATE, hanko_card::CV_CERTIFICATE_LEN)?;
        let number = if my_number {
            let ef = Zeroizing::new(read(input_assist_ef::MY_NUMBER, hanko_card::MY_NUMBER_EF_LEN)?);
            Some(B64.encode(ef.as_slice()))
        } else {
            None
        };
        let (chip_key_record, chip_signature) =
            card.prove_input_assist_chip(assist_challenge).map_err(|e| app_problem(Secret::Assist, e))?;
        Some(InputAssistFiles {
            facts: facts_file.map(|f| B64.encode(f)),
            my_number: number,
            integrity_record: B64.encode(integrity),
            cv_certificate: B64.encode(cv),
            chip_key_record: B64.encode(chip_key_record),
            chip_signature: B64.encode(chip_signature),
        })
    } else {
        None
    };
    Ok(Approval { certificate: B64.encode(certificate), signature: B64.encode(signature), input_assist, device })
}

// ---------------------------------------------------------------------------------------------
// Pages.

const STYLE: &str = "body{font-family:system-ui,'Noto Sans JP','IPAGothic',sans-serif;margin:0;background:#f4f5f7;\
color:#1a1a1a}main{max-width:40rem;margin:1.5rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;\
box-shadow:0 1px 4px #0002}h1{font-size:1.35rem}h2{font-size:1.1rem;margin-top:1.5rem}.en{display:block;\
color:#555;font-size:.85em;font-weight:normal}fieldset{border:1px solid #ccd;border-radius:6px;margin:1rem 0}\
label{display:block;margin:.4rem 0}input[type=password]{font-size:1.2rem;width:12rem;padding:.3rem}\
.alert{background:#fde8e8;border:1px solid #c33;padding:.75rem;border-radius:6px}.ok{background:#e6f4ea;\
border:1px solid #3a7;padding:.75rem;border-radius:6px}.share li{margin:.2rem 0}button{font-size:1rem;\
padding:.5rem 1.2rem;margin:.5rem .5rem 0 0;border-radius:6px;border:1px solid #335;cursor:pointer}\
button.primary{background:#1d4ed8;color:#fff}.qr svg{width:12rem;height:12rem}code{word-break:break-all}";

/// A whole page.
fn page(
    status: StatusCode,
    title: &str,
    body: &str,
    script: Option<&str>,
    set_cookie: Option<HeaderValue>,
) -> Response {
    let nonce = random_token(16);
    let script = script.map(|s| format!("<script nonce=\"{nonce}\">{s}</script>")).unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}{script}</body></html>",
        html_escape(title)
    );
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    // No form-action: browsers apply it to the redirects after the form too, and the form ends
    // at the client's redirect URI.
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; connect-src 'self'; \
         img-src data:; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The URL holds the capability: never send it to another origin. (`no-referrer` would make
    // browsers send `Origin: null` with the form, which the CSRF check refuses.)
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(c) = set_cookie {
        h.append(header::SET_COOKIE, c);
    }
    r
}

/// A page with one message: (Japanese, English).
fn message_page(status: StatusCode, id: &str, title: (&str, &str), message: &str, back: bool) -> Response {
    notice_page(status, status.is_success(), id, title, message, back)
}

/// A page with one message, `ok` or an alert.
fn notice_page(status: StatusCode, ok: bool, id: &str, title: (&str, &str), message: &str, back: bool) -> Response {
    let back = if back {
        format!(
            "<p><a id=\"continue\" href=\"/app/requests/{}/continue\">サービスに戻る <span lang=\"en\">Back to the \
             service</span></a></p>",
            html_escape(id)
        )
    } else {
        String::new()
    };
    let class = if ok { "ok" } else { "alert" };
    let body = format!(
        "<main><h1>{}<span class=\"en\" lang=\"en\">{}</span></h1><p id=\"message\" class=\"{class}\" \
         role=\"alert\">{}</p>{back}</main>",
        html_escape(title.0),
        html_escape(title.1),
        html_escape(message)
    );
    page(status, &format!("{} / {}", title.0, title.1), &body, None, None)
}

fn error_message_page(e: &IdpError, id: &str) -> Response {
    match e {
        IdpError::NotFound(_) => message_page(
            StatusCode::NOT_FOUND,
            id,
            ("要求が見つかりません", "Request not found"),
            "この認証要求はありません。サービスの画面からやり直してください。 / There is no such request: start \
             again from the service.",
            false,
        ),
        IdpError::Gone(m) => message_page(
            StatusCode::GONE,
            id,
            ("有効期限切れ", "Expired"),
            &format!("この要求は有効期限が切れました。サービスの画面からやり直してください。 / {m}"),
            false,
        ),
        IdpError::Conflict(m) => message_page(
            StatusCode::CONFLICT,
            id,
            ("処理済み", "Already answered"),
            &format!("この要求は処理済みです。 / {m}"),
            false,
        ),
        IdpError::Platform(_) | IdpError::Unavailable(_) => {
            tracing::warn!(error = %e, "wallet: the platform operator failed");
            message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                id,
                ("一時的に利用できません", "Temporarily unavailable"),
                "電子証明書を確認できませんでした。しばらくしてからやり直してください。 / The certificate could not \
                 be checked now; try again later.",
                false,
            )
        }
        IdpError::Store(_) | IdpError::Internal(_) => {
            tracing::error!(error = %e, "wallet failed");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                id,
                ("エラー", "Error"),
                "処理できませんでした。 / The provider cannot serve this request now; try again.",
                false,
            )
        }
        e => message_page(e.status(), id, ("エラー", "Error"), &e.to_string(), false),
    }
}

/// The status the app shows, with `expired` for a pending request past its time.
fn live_status(idp: &Idp, flow: &FlowRecord) -> &'static str {
    match flow.status.as_str() {
        "pending" if flow.expires_at < idp.clock.now().unix_timestamp() => "expired",
        "pending" => "pending",
        "approved" => "approved",
        "denied" => "denied",
        "failed" => "failed",
        _ => "done",
    }
}

/// What will be shared, as list items.
fn shared_items(req: &AppRequest) -> String {
    let mut items = Vec::new();
    for f in &req.facts {
        let (ja, en) = match *f {
            "name" => ("氏名", "name"),
            "address" => ("住所", "address"),
            "birthdate" => ("生年月日", "date of birth"),
            _ => ("性別", "gender"),
        };
        items.push(format!("<li data-share=\"{f}\">{ja} <span lang=\"en\">({en})</span></li>"));
    }
    if req.my_number {
        items.push(
            "<li data-share=\"my_number\">個人番号（マイナンバー） <span lang=\"en\">(My Number)</span></li>".into(),
        );
    }
    if req.user_certificate {
        items.push(
            "<li data-share=\"user_certificate\">利用者証明用電子証明書 <span lang=\"en\">(your authentication \
             certificate)</span></li>"
                .into(),
        );
    }
    if let Some(sign) = &req.sign {
        let data = B64.decode(sign["data"].as_str().unwrap_or_default()).unwrap_or_default();
        let digest = match sign["form"].as_str() {
            Some("digest_info") => DigestInfo::from_der(&data).map(|d| d.digest).unwrap_or_default(),
            _ => data,
        };
        items.push(format!(
            "<li data-share=\"signature\">電子署名と署名用電子証明書（氏名・住所・生年月日・性別を含む） <span \
             lang=\"en\">(a signature and your signature certificate, which holds your name, address, date of birth \
             and gender)</span><br>署名する文書のハッシュ <span lang=\"en\">(the document's hash)</span>: \
             <code id=\"hash\">{}</code></li>",
            hex::encode(digest)
        ));
    }
    if items.is_empty() {
        items.push(
            "<li data-share=\"none\">ログインした事実のみ（個人を識別しない番号） <span lang=\"en\">(only that you \
             logged in, as an identifier unique to this service)</span></li>"
                .into(),
        );
    }
    format!("<ul class=\"share\" id=\"share\">{}</ul>", items.join(""))
}

fn cards_fieldset(cards: &[CardEntry], legend: (&str, &str), chosen: Option<&str>) -> String {
    let mut out = format!(
        "<fieldset id=\"cards\"><legend>{}<span class=\"en\" lang=\"en\">{}</span></legend>",
        legend.0, legend.1
    );
    if cards.is_empty() {
        out.push_str(
            "<p>エミュレートされたカードがありません。 <span lang=\"en\">No emulated card is available here (a PC/SC \
             reader: use <code>hanko app approve</code>).</span></p>",
        );
    }
    for (i, c) in cards.iter().enumerate() {
        let id = html_escape(&c.id);
        out.push_str(&format!(
            "<label for=\"card-{i}\"><input type=\"radio\" name=\"card\" id=\"card-{i}\" value=\"{id}\" required{}{}> \
             <strong>{id}</strong> — {} ({})</label>",
            if c.usable { "" } else { " disabled" },
            if chosen == Some(c.id.as_str()) { " checked" } else { "" },
            html_escape(&c.hint),
            c.device
        ));
    }
    out.push_str("</fieldset>");
    out
}

/// The polling script: `data-status` is the status URL; `data-continue` (the starting browser)
/// where to go when the request is answered.
const POLL: &str = "(function(){var d=document.getElementById('wallet').dataset;var t=setInterval(function(){\
fetch(d.status,{cache:'no-store',credentials:'same-origin'}).then(function(r){return r.json()}).then(function(j){\
if(j.status&&j.status!=='pending'){clearInterval(t);if(d.continue&&j.status!=='expired'){location.href=d.continue}\
else{location.reload()}}}).catch(function(){})},1000)})();";

fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(qrcode::render::svg::Color("#000"))
            .light_color(qrcode::render::svg::Color("#fff"))
            .quiet_zone(true)
            .build()
            .replacen("<?xml version=\"1.0\" standalone=\"yes\"?>", "", 1),
        Err(_) => String::new(),
    }
}

/// An error to show above the form.
struct Notice(String);

/// The wallet (or the substitute page) for a pending request.
async fn wallet_page(
    idp: &Arc<Idp>,
    flow: &FlowRecord,
    binding: Binding,
    notice: Option<Notice>,
    chosen: Option<&str>,
    status: StatusCode,
) -> Response {
    let id = flow.id.clone();
    let req = match idp.app_request(&id).await {
        Ok(r) => r,
        Err(e) => return error_message_page(&e, &id),
    };
    let client = req.client["name"].as_str().unwrap_or_default().to_owned();
    let client_id = req.client["id"].as_str().unwrap_or_default().to_owned();
    match req.status.as_str() {
        "pending" => {}
        "expired" => {
            return message_page(
                StatusCode::GONE,
                &id,
                ("有効期限切れ", "Expired"),
                "この要求は有効期限が切れました。サービスの画面からやり直してください。 / This request has expired: \
                 start again from the service.",
                binding.starter,
            )
        }
        _ => {
            return message_page(
                StatusCode::OK,
                &id,
                ("処理済み", "Already answered"),
                "この要求は処理済みです。 / This request has been answered.",
                binding.starter,
            )
        }
    }
    let dir = idp.config.cards_dir.clone();
    let cards = match dir {
        Some(dir) => tokio::task::spawn_blocking(move || list_cards(&dir)).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let csrf = idp.csrf_token(&id, &binding.value);
    let eid = html_escape(&id);
    let sign = req.kind == "sign";
    let notice = notice
        .map(|n| format!("<p id=\"notice\" class=\"alert\" role=\"alert\">{}</p>", html_escape(&n.0)))
        .unwrap_or_default();
    let what =
        if sign { ("電子署名の要求", "Signature request") } else { ("ログインの要求", "Login request") };
    let mut body = format!(
        "<main id=\"wallet\" data-status=\"/app/requests/{eid}/status\"{}><h1>{} <span class=\"en\" \
         lang=\"en\">{}</span></h1>{notice}<p><strong id=\"client\">{}</strong> <span>({})</span> \
         が次の情報を求めています。<span class=\"en\" lang=\"en\">asks for the following.</span></p>{}",
        if binding.starter { format!(" data-continue=\"/app/requests/{eid}/continue\"") } else { String::new() },
        what.0,
        what.1,
        html_escape(&client),
        html_escape(&client_id),
        shared_items(&req),
    );
    body.push_str(&format!(
        "<form method=\"post\" action=\"/app/requests/{eid}\" id=\"form\"><input type=\"hidden\" name=\"csrf\" \
         value=\"{csrf}\">"
    ));
    if req.substitute {
        body.push_str(&substitute_form(&cards, chosen));
    } else {
        body.push_str(&cards_fieldset(&cards, ("カードを選ぶ", "Choose a card"), chosen));
        let assist = !req.facts.is_empty() && !sign || req.my_number;
        if sign {
            body.push_str(
                "<label for=\"pin\">署名用電子証明書の暗証番号（英数字6〜16文字）<span class=\"en\" \
                 lang=\"en\">Signature password (6–16 letters and digits)</span></label><input id=\"pin\" \
                 name=\"pin\" type=\"password\" minlength=\"6\" maxlength=\"16\" pattern=\"[A-Za-z0-9]{6,16}\" \
                 autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" required>",
            );
        } else {
            body.push_str(
                "<label for=\"pin\">利用者証明用電子証明書の暗証番号（数字4桁）<span class=\"en\" \
                 lang=\"en\">Authentication PIN (4 digits)</span></label><input id=\"pin\" name=\"pin\" \
                 type=\"password\" inputmode=\"numeric\" minlength=\"4\" maxlength=\"4\" pattern=\"[0-9]{4}\" \
                 autocomplete=\"off\" required>",
            );
        }
        if assist {
            if !sign {
                body.push_str(
                    "<label for=\"same_pin\"><input type=\"checkbox\" id=\"same_pin\" name=\"same_pin\" \
                     value=\"1\"> 券面事項入力補助用暗証番号は上と同じ <span lang=\"en\">(the input-assist PIN is \
                     the same as the authentication PIN)</span></label>",
                );
            }
            body.push_str(
                "<label for=\"assist_pin\">券面事項入力補助用暗証番号（数字4桁）<span class=\"en\" \
                 lang=\"en\">Input-assist PIN (4 digits)</span></label><input id=\"assist_pin\" \
                 name=\"assist_pin\" type=\"password\" inputmode=\"numeric\" maxlength=\"4\" pattern=\"[0-9]{4}\" \
                 autocomplete=\"off\">",
            );
        }
        body.push_str(
            "<div><button type=\"submit\" class=\"primary\" id=\"approve\" name=\"action\" \
             value=\"approve\">同意して送信 <span lang=\"en\">Approve</span></button><button type=\"submit\" \
             id=\"cancel\" name=\"action\" value=\"cancel\" formnovalidate>キャンセル <span \
             lang=\"en\">Cancel</span></button></div>",
        );
    }
    body.push_str("</form>");
    if binding.starter && !req.substitute {
        let url = format!("{}/app/requests/{id}", idp.config.base_url);
        body.push_str(&format!(
            "<section id=\"pc\" aria-labelledby=\"pc-h\"><h2 id=\"pc-h\">別の端末で承認する <span class=\"en\" \
             lang=\"en\">Approve on another device</span></h2><p>スマートフォンでこのQRコードを読み取って承認すると、\
             この画面は自動で進みます。 <span lang=\"en\">Scan this QR code with your phone and approve there: this \
             page moves on by itself.</span></p><div class=\"qr\" role=\"img\" aria-label=\"QR code of {}\">{}</div>\
             <p><code id=\"app-url\">{}</code></p></section>",
            html_escape(&url),
            qr_svg(&url),
            html_escape(&url)
        ));
    }
    body.push_str("</main>");
    let title = format!("{} / {} — hanko", what.0, what.1);
    page(status, &title, &body, Some(POLL), binding.set_cookie)
}

fn substitute_form(cards: &[CardEntry], chosen: Option<&str>) -> String {
    let mut out = String::from(
        "<h2 id=\"substitute\">認証API/署名APIテストレスポンス設定画面 <span class=\"en\" lang=\"en\">Test response \
         settings (authentication / signature API)</span></h2><fieldset id=\"outcome\"><legend>応答 <span \
         class=\"en\" lang=\"en\">Response</span></legend><label for=\"outcome-normal\"><input type=\"radio\" \
         id=\"outcome-normal\" name=\"outcome\" value=\"normal\" required> 正常 <span lang=\"en\">(success with a \
         test card)</span></label><label for=\"outcome-error\"><input type=\"radio\" id=\"outcome-error\" \
         name=\"outcome\" value=\"error\"> 異常 <span lang=\"en\">(an error)</span></label></fieldset>",
    );
    let radios: String = cards
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = html_escape(&c.id);
            format!(
                "<label for=\"card-{i}\"><input type=\"radio\" name=\"card\" id=\"card-{i}\" value=\"{id}\"{}{}> \
                 <strong>{id}</strong> — {} ({})</label>",
                if c.usable { "" } else { " disabled" },
                if chosen == Some(c.id.as_str()) { " checked" } else { "" },
                html_escape(&c.hint),
                c.device
            )
        })
        .collect();
    out.push_str(&format!(
        "<fieldset id=\"cards\"><legend>正常: テストカード <span class=\"en\" lang=\"en\">Success: the test \
         card</span></legend>{}</fieldset>",
        if radios.is_empty() {
            "<p>テストカードがありません。 <span lang=\"en\">No test card.</span></p>".into()
        } else {
            radios
        }
    ));
    out.push_str(
        "<fieldset id=\"errors\"><legend>異常: エラー <span class=\"en\" lang=\"en\">Error: which one</span></legend>\
         <label for=\"error\">エラーの種類 <span lang=\"en\">Error</span></label><select id=\"error\" name=\"error\">\
         <option value=\"cancelled\">access_denied: 利用者がキャンセル (the user cancelled)</option>\
         <option value=\"revoked\">access_denied: 電子証明書が失効 (certificate revoked)</option>\
         <option value=\"held\">access_denied: 電子証明書が一時保留 (certificate held)</option>\
         <option value=\"pin_locked\">access_denied: 暗証番号ロック (PIN locked)</option>\
         <option value=\"unavailable\">temporarily_unavailable: 一時的に利用不可 (temporarily unavailable)</option>\
         </select></fieldset><div><button type=\"submit\" class=\"primary\" id=\"send\" name=\"action\" \
         value=\"substitute\">送信 <span lang=\"en\">Send</span></button></div>",
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Handlers.

async fn get_wallet(State(idp): State<Arc<Idp>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if !valid_id(&id) {
        return error_message_page(&IdpError::not_found("request", "?"), "");
    }
    let flow = match idp.store.flow(&id).await {
        Ok(Some(f)) => f,
        Ok(None) => return error_message_page(&IdpError::not_found("request", &id), &id),
        Err(e) => return error_message_page(&e.into(), &id),
    };
    let Some(binding) = idp.binding(&flow, &headers, true) else {
        return error_message_page(&IdpError::Internal("no binding".into()), &id);
    };
    wallet_page(&idp, &flow, binding, None, None, StatusCode::OK).await
}

async fn get_status(State(idp): State<Arc<Idp>>, Path(id): Path<String>) -> Result<Response, IdpError> {
    if !valid_id(&id) {
        return Err(IdpError::not_found("request", "?"));
    }
    let flow = idp.store.flow(&id).await?.ok_or_else(|| IdpError::not_found("request", &id))?;
    let mut r = Json(json!({"status": live_status(&idp, &flow)})).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

fn refused(id: &str, message: &str) -> Response {
    message_page(StatusCode::FORBIDDEN, id, ("送信を受け付けられません", "Request refused"), message, false)
}

async fn post_wallet(
    State(idp): State<Arc<Idp>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !valid_id(&id) {
        return error_message_page(&IdpError::not_found("request", "?"), "");
    }
    if !idp.same_origin(&headers) {
        return refused(&id, "別のサイトからの送信は受け付けません。 / A form sent from another site is refused.");
    }
    let flow = match idp.store.flow(&id).await {
        Ok(Some(f)) => f,
        Ok(None) => return error_message_page(&IdpError::not_found("request", &id), &id),
        Err(e) => return error_message_page(&e.into(), &id),
    };
    let Some(binding) = idp.binding(&flow, &headers, false) else {
        return refused(
            &id,
            "このブラウザーのセッションがありません。ページを開き直してください。 / This browser has no session \
             for the request (cookie missing): open the page again.",
        );
    };
    let form = match parse_params(&body) {
        Ok(f) => FormFields(f),
        Err(e) => return message_page(StatusCode::BAD_REQUEST, &id, ("入力エラー", "Bad form"), &e, false),
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let expected = idp.csrf_token(&id, &binding.value);
    if !constant_eq(field("csrf").as_bytes(), expected.as_bytes()) {
        return refused(
            &id,
            "フォームの確認に失敗しました。ページを開き直してください。 / The form's token does not match this \
             browser: open the page again.",
        );
    }
    let client = match idp.store.client(&flow.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_message_page(&IdpError::not_found("request", &id), &id),
        Err(e) => return error_message_page(&e.into(), &id),
    };
    match live_status(&idp, &flow) {
        "pending" => {}
        "expired" => {
            return error_message_page(
                &IdpError::Gone("this request has expired: start again from the service".into()),
                &id,
            )
        }
        _ => return error_message_page(&IdpError::Conflict("this request was answered already".into()), &id),
    }
    let substitute = client.config.substitute;
    let result = match (field("action"), substitute) {
        ("cancel", false) => idp.app_cancel(&id).await,
        ("approve", false) => {
            let secrets = match wallet_secrets(&idp, &flow, &form) {
                Ok(s) => s,
                Err(m) => {
                    return wallet_page(
                        &idp,
                        &flow,
                        binding,
                        Some(Notice(m)),
                        Some(field("card")),
                        StatusCode::BAD_REQUEST,
                    )
                    .await
                }
            };
            match approve_with_card(&idp, &flow, field("card"), secrets, false).await {
                Ok(r) => r,
                Err(m) => {
                    return wallet_page(&idp, &flow, binding, Some(m), Some(field("card")), StatusCode::BAD_REQUEST)
                        .await
                }
            }
        }
        ("substitute", true) => match field("outcome") {
            "normal" => {
                let secrets = Secrets {
                    pin: Zeroizing::new(
                        if flow.request.sign_transaction_id.is_some() { TEST_PASSWORD } else { TEST_PIN }
                            .as_bytes()
                            .to_vec(),
                    ),
                    assist: Some(Zeroizing::new(TEST_PIN.as_bytes().to_vec())),
                };
                match approve_with_card(&idp, &flow, field("card"), secrets, true).await {
                    Ok(r) => r,
                    Err(m) => {
                        return wallet_page(&idp, &flow, binding, Some(m), Some(field("card")), StatusCode::BAD_REQUEST)
                            .await
                    }
                }
            }
            "error" => {
                let (error, description) = match field("error") {
                    "cancelled" => ("access_denied", "the user cancelled"),
                    "revoked" => ("access_denied", "the certificate is revoked: the card cannot log in"),
                    "held" => (
                        "access_denied",
                        "the certificate is suspended (held): ask the municipality or the call centre",
                    ),
                    "pin_locked" => ("access_denied", "the PIN is locked: the municipality can reset it"),
                    "unavailable" => ("temporarily_unavailable", "the service is temporarily unavailable"),
                    _ => {
                        let m = Notice("エラーの種類を選んでください。 / Choose an error.".into());
                        return wallet_page(
                            &idp,
                            &flow,
                            binding,
                            Some(m),
                            Some(field("card")),
                            StatusCode::BAD_REQUEST,
                        )
                        .await;
                    }
                };
                if error == "access_denied" && description == "the user cancelled" {
                    idp.app_cancel(&id).await
                } else {
                    idp.fail_flow(&flow, error, description.into()).await
                }
            }
            _ => {
                let m = Notice("正常か異常かを選んでください。 / Choose success or an error.".into());
                return wallet_page(&idp, &flow, binding, Some(m), Some(field("card")), StatusCode::BAD_REQUEST).await;
            }
        },
        (_, true) => {
            return refused(
                &id,
                "このサービスはテストレスポンス設定画面で応答します。 / This client answers on the test response \
                 page.",
            )
        }
        (_, false) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                &id,
                ("入力エラー", "Bad form"),
                "action must be approve or cancel",
                false,
            )
        }
    };
    match result {
        Ok(outcome) => outcome_page(&id, &outcome, binding.starter, substitute),
        // Still pending (refused before the verdict — files that do not check, a platform that
        // is busy): the form again, saying so.
        Err(IdpError::Conflict(m)) if matches!(idp.store.flow(&id).await, Ok(Some(f)) if f.status == "pending") => {
            let notice = Notice(format!("もう一度お試しください。 / Please try again: {m}"));
            wallet_page(&idp, &flow, binding, Some(notice), Some(field("card")), StatusCode::CONFLICT).await
        }
        Err(e) => error_message_page(&e, &id),
    }
}

/// The form's fields; the values (PINs among them) are zeroised when dropped.
struct FormFields(std::collections::HashMap<String, String>);

impl Drop for FormFields {
    fn drop(&mut self) {
        for v in self.0.values_mut() {
            zeroize::Zeroize::zeroize(v);
        }
    }
}

impl std::ops::Deref for FormFields {
    type Target = std::collections::HashMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The PINs typed in the wallet, checked before the card sees them (no try spent on a typo of
/// the wrong length).
fn wallet_secrets(
    idp: &Idp,
    flow: &FlowRecord,
    form: &std::collections::HashMap<String, String>,
) -> Result<Secrets, String> {
    let _ = idp;
    let req = &flow.request;
    let sign = req.sign_transaction_id.is_some();
    let pin = form.get("pin").map(String::as_str).unwrap_or_default();
    let pin = if sign {
        if !(6..=16).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("署名用電子証明書の暗証番号は英数字6〜16文字です。 / The signature password is 6–16 letters \
                        and digits."
                .into());
        }
        Zeroizing::new(pin.to_ascii_uppercase().into_bytes())
    } else {
        if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err("利用者証明用電子証明書の暗証番号は数字4桁です。 / The authentication PIN is 4 digits.".into());
        }
        Zeroizing::new(pin.as_bytes().to_vec())
    };
    let needs_assist = req.has("my_number") || (!sign && !req.facts().is_empty());
    let assist = if needs_assist {
        let same = !sign && form.get("same_pin").is_some_and(|v| !v.is_empty());
        if same {
            Some(pin.clone())
        } else {
            let a = form.get("assist_pin").map(String::as_str).unwrap_or_default();
            if a.len() != 4 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err("券面事項入力補助用暗証番号（数字4桁）を入力してください。 / Enter the input-assist PIN \
                            (4 digits)."
                    .into());
            }
            Some(Zeroizing::new(a.as_bytes().to_vec()))
        }
    } else {
        None
    };
    Ok(Secrets { pin, assist })
}

/// Has card `card_id` answer request `flow` and approves it; a card problem is a notice for
/// the form (the request stays pending).
async fn approve_with_card(
    idp: &Arc<Idp>,
    flow: &FlowRecord,
    card_id: &str,
    secrets: Secrets,
    substitute: bool,
) -> Result<Result<ApprovalOutcome, IdpError>, Notice> {
    let Some(dir) = idp.config.cards_dir.clone() else {
        return Err(Notice("このサーバーにはエミュレートされたカードがありません。 / No emulated cards here.".into()));
    };
    if card_id.is_empty() {
        return Err(Notice("カードを選んでください。 / Choose a card.".into()));
    }
    let req = &flow.request;
    let task = match &req.sign_transaction_id {
        Some(tx) => match idp.store.sign_tx(tx).await {
            Ok(Some(tx)) => Task::Sign(tx.data),
            Ok(None) => return Ok(Err(IdpError::Gone("the sign transaction expired".into()))),
            Err(e) => return Ok(Err(e.into())),
        },
        None => match idp.ensure_challenge(flow).await {
            Ok(c) => Task::Login(c),
            Err(e) => return Ok(Err(e)),
        },
    };
    let sign = req.sign_transaction_id.is_some();
    let my_number = req.has("my_number");
    let facts = !req.facts().is_empty() && (!sign || my_number);
    let card_id = card_id.to_owned();
    let assist_challenge = match idp.ensure_challenge(flow).await {
        Ok(c) => crate::app::input_assist_challenge(&c),
        Err(e) => return Ok(Err(e)),
    };
    let answer = tokio::task::spawn_blocking(move || {
        drive_card(&dir, &card_id, &task, &secrets, facts, my_number, &assist_challenge)
    })
    .await
    .unwrap_or_else(|e| Err(CardProblem::Other(e.to_string())));
    match answer {
        Ok(approval) => Ok(idp.approve_as(&flow.id, approval, substitute).await),
        Err(p) => Err(Notice(p.message())),
    }
}

/// After an answer: the starting browser continues to the client (a refusal is said on the page
/// first); another device is told it is done.
fn outcome_page(id: &str, outcome: &ApprovalOutcome, starter: bool, substitute: bool) -> Response {
    match outcome.status {
        _ if substitute && starter => see_other(&outcome.continue_url),
        "approved" if starter => see_other(&outcome.continue_url),
        "approved" => message_page(
            StatusCode::OK,
            id,
            ("承認しました", "Approved"),
            "承認しました。最初の端末の画面が自動で進みます。 / Approved: the first device's page moves on by itself.",
            false,
        ),
        "denied" if starter => see_other(&outcome.continue_url),
        "denied" => message_page(
            StatusCode::OK,
            id,
            ("キャンセルしました", "Cancelled"),
            "キャンセルしました。 / You cancelled the request.",
            false,
        ),
        _ => {
            let d = outcome.error_description.clone().unwrap_or_default();
            let ja = if d.contains("revoked") {
                "電子証明書が失効しているため、ログインできません。"
            } else if d.contains("held") || d.contains("suspended") {
                "電子証明書が一時保留されているため、ログインできません。市区町村の窓口またはコールセンターにお問い合わせください。"
            } else if d.contains("expired") {
                "電子証明書の有効期限が切れています。市区町村の窓口で更新してください。"
            } else if d.contains("PIN is locked") {
                "暗証番号がロックされています。市区町村の窓口で初期化してください。"
            } else if d.contains("unavailable") {
                "一時的に利用できません。しばらくしてからやり直してください。"
            } else {
                "この電子証明書は受け付けられませんでした。"
            };
            notice_page(
                StatusCode::OK,
                false,
                id,
                ("承認できませんでした", "Not approved"),
                &format!("{ja} / {d}"),
                starter,
            )
        }
    }
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn routes() -> Router<Arc<Idp>> {
    Router::new()
        .route("/app/requests/{id}", get(get_wallet).post(post_wallet))
        .route("/app/requests/{id}/status", get(get_status))
}
