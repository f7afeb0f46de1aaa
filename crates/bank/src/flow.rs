//! The bank's side of every trip through the authentication app: start (a login, or a sign
//! transaction over the SHA-256 of a document, in the DigestInfo form a third party can verify),
//! the callback (`/callback`: the flow by its single-use `state`, bound to the browser that
//! started it by a cookie; RFC 9207 `iss` checked when present; the code exchanged; the ID token
//! checked), then the step the flow was for.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{BankError, Text};
use crate::pages::{self, PageLang};
use crate::rp::{Finished, SignResult};
use crate::store::Flow;
use crate::{secure, Bank};

/// The cookie binding a flow to the browser that started it.
pub(crate) const BROWSER_COOKIE: &str = "hanko_bank_browser";

fn random_id() -> String {
    let mut b = [0u8; 18];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// Starts a trip through the authentication app: `kind` names the step the callback runs,
/// `scopes` are asked beyond `openid`, `document_hash` (SHA-256) makes it a signature, `data`
/// is kept for the step. Answers the redirect to the provider.
pub(crate) async fn start(
    bank: &Bank,
    headers: &HeaderMap,
    kind: &str,
    scopes: &[&str],
    document_hash: Option<Vec<u8>>,
    data: Value,
) -> Result<Response, BankError> {
    let sign_tx = match &document_hash {
        Some(hash) => {
            let info = DigestInfo::new(DigestAlgorithm::Sha256, hash)
                .map_err(|e| BankError::Internal(format!("DigestInfo: {e}")))?
                .to_der()
                .map_err(|e| BankError::Internal(format!("DigestInfo: {e}")))?;
            Some(bank.rp.sign_transaction(&info).await?)
        }
        None => None,
    };
    let mut scopes = scopes.to_vec();
    if sign_tx.is_some() && !scopes.contains(&"sign") {
        scopes.push("sign");
    }
    let started = bank.rp.start(&scopes, sign_tx).await?;
    let browser = browser_id(bank, headers).unwrap_or_else(|| new_browser_id(bank));
    bank.store
        .add_flow(&Flow {
            state: started.state.clone(),
            kind: kind.to_owned(),
            browser: browser.clone(),
            nonce: started.nonce.clone(),
            pkce_verifier: started.pkce_verifier.to_string(),
            sign_tx: started.sign_tx.clone(),
            digest: document_hash,
            data,
            created_at: bank.now(),
        })
        .await?;
    let mut response = Redirect::to(&started.url).into_response();
    set_browser_cookie(bank, &mut response, &browser);
    Ok(response)
}

/// A fresh browser id: random, with the bank's MAC (a value the bank did not make is ignored).
pub(crate) fn new_browser_id(bank: &Bank) -> String {
    let id = random_id();
    let mac = bank.mac(&["browser", &id]);
    format!("{id}.{}", &mac[..32])
}

/// The browser id of a request, when it carries one the bank made.
pub(crate) fn browser_id(bank: &Bank, headers: &HeaderMap) -> Option<String> {
    let value = pages::cookie(headers, BROWSER_COOKIE)?;
    let (id, mac) = value.split_once('.')?;
    let expected = bank.mac(&["browser", id]);
    (id.len() == 36
        && aws_lc_rs::constant_time::verify_slices_are_equal(mac.as_bytes(), &expected.as_bytes()[..32]).is_ok())
    .then_some(value)
}

/// Sets (or, with `None`, clears) the browser-binding cookie on a response.
pub(crate) fn set_browser_cookie(bank: &Bank, response: &mut Response, browser: &str) {
    let cookie = if browser.is_empty() {
        format!("{BROWSER_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}", secure(bank))
    } else {
        format!("{BROWSER_COOKIE}={browser}; Path=/; HttpOnly; SameSite=Lax{}", secure(bank))
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// What the callback hands to a step.
pub(crate) struct Done {
    /// The flow as started.
    pub flow: Flow,
    /// The tokens.
    pub finished: Finished,
    /// The page language.
    pub lang: PageLang,
    /// The request's headers (the session cookie).
    pub headers: HeaderMap,
}

impl Done {
    /// The sign result of a signature flow, verified by the platform operator over the document
    /// hash the flow was started with. A result other than OK is refused with what it means for
    /// the customer.
    pub(crate) async fn signed(&self, bank: &Bank) -> Result<(SignResult, hanko_sp::Outcome), BankError> {
        let (Some(tx), Some(hash)) = (&self.flow.sign_tx, &self.flow.digest) else {
            return Err(BankError::Internal(format!("flow {} is not a signature", self.flow.kind)));
        };
        let result = bank.rp.sign_result(tx, &self.finished.access_token).await?;
        let outcome = bank.platform.verify_signature(&result.certificate, &result.signature, hash).await?;
        if !outcome.valid {
            return Err(refusal(&outcome));
        }
        Ok((result, outcome))
    }
}

/// What a failed verification means to the customer.
pub(crate) fn refusal(outcome: &hanko_sp::Outcome) -> BankError {
    let code = outcome.reason.as_ref().map(|r| r.code.as_str()).unwrap_or_default();
    let meaning = outcome
        .reason
        .as_ref()
        .and_then(|r| r.revocation.as_ref())
        .and_then(|r| r["meaning"].as_str())
        .unwrap_or_default();
    let text = match (outcome.result.as_str(), meaning) {
        ("CERTIFICATE_REVOKED", "lost") => Text::new(
            "このカードの電子証明書は一時保留（紛失・停止）中のため使えません。市区町村の窓口でお手続きください。",
            "This card's certificate is on hold (lost or suspended) and cannot be used. Please contact your municipal office.",
        ),
        ("CERTIFICATE_REVOKED", "facts-changed") => Text::new(
            "署名用電子証明書は住所・氏名などの変更（異動）により失効しています。市区町村の窓口で新しい証明書の発行を受けてください。",
            "The signature certificate was revoked because your name, address or other facts changed. Please get a new one at your municipal office.",
        ),
        ("CERTIFICATE_REVOKED", _) => Text::new(
            "このカードの電子証明書は失効しています。新しい証明書でもう一度お試しください。",
            "This card's certificate has been revoked. Please try again with a valid certificate.",
        ),
        ("CERTIFICATE_EXPIRED", _) => Text::new(
            "このカードの電子証明書は有効期限が切れています。市区町村の窓口で更新してください。",
            "This card's certificate has expired. Please renew it at your municipal office.",
        ),
        ("SIGNATURE_MISMATCH", _) => Text::new(
            "電子署名を確認できませんでした。もう一度最初からお試しください。",
            "The electronic signature could not be verified. Please start again.",
        ),
        _ => Text::new(
            format!("この証明書は受け付けられません（{code}）。"),
            format!("This certificate cannot be accepted ({code})."),
        ),
    };
    BankError::Refused(text)
}

/// What the authentication app's refusal (its `error_description`) means to the customer.
fn app_refusal(description: &str) -> Text {
    if description.contains("held") || description.contains("suspended") {
        Text::new(
            "このカードの電子証明書は一時保留（紛失・停止）中のため使えません。市区町村の窓口またはコールセンターにお問い合わせください。",
            "This card's certificate is on hold (reported lost or suspended) and cannot be used. Please contact your municipal office or the call centre.",
        )
    } else if description.contains("revoked") {
        Text::new(
            "このカードの電子証明書は失効しているため使えません。",
            "This card's certificate has been revoked and cannot be used.",
        )
    } else if description.contains("expired") {
        Text::new(
            "このカードの電子証明書は有効期限が切れています。市区町村の窓口で更新してください。",
            "This card's certificate has expired. Please renew it at your municipal office.",
        )
    } else if description.contains("locked") {
        Text::new(
            "暗証番号がロックされています。市区町村の窓口で初期化してください。",
            "The PIN is locked. Your municipal office can reset it.",
        )
    } else {
        Text::new("認証アプリが手続きを受け付けませんでした。", "The authentication app did not accept the request.")
    }
}

#[derive(Deserialize)]
struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

async fn callback(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, BankError> {
    let unknown = || {
        BankError::Expired(Text::new(
            "この手続きは終了したか、有効期限が切れています。最初からやり直してください。",
            "This request has ended or expired. Please start again.",
        ))
    };
    // Printable ASCII only: a NUL or a control character never reaches the database.
    let printable = |v: &&str| !v.is_empty() && v.len() <= 512 && v.bytes().all(|b| (0x21..0x7f).contains(&b));
    let state = q.state.as_deref().filter(printable).filter(|s| s.len() <= 128).ok_or_else(unknown)?;
    let flow = bank.store.take_flow(state).await?.ok_or_else(unknown)?;
    if browser_id(&bank, &headers).as_deref() != Some(flow.browser.as_str()) {
        return Err(BankError::Forbidden(Text::new(
            "この手続きは別のブラウザで始められました。このブラウザで最初からやり直してください。",
            "This request was started in another browser. Please start again in this one.",
        )));
    }
    if bank.now() > flow.created_at + bank.config.flow_lifetime.as_secs() as i64 {
        return Err(unknown());
    }
    // RFC 9207: the issuer in the response must be ours; required when the provider says it
    // sends it (discovery's authorization_response_iss_parameter_supported).
    match &q.iss {
        Some(iss) if *iss != bank.config.issuer => {
            return Err(BankError::Upstream(format!("the authorization response came from another issuer {iss:?}")));
        }
        None if bank.rp.response_iss_required().await? => {
            return Err(BankError::Upstream("the authorization response lacks iss (RFC 9207)".into()));
        }
        _ => {}
    }
    // From here on the flow's step works under a fresh browser id, set on this response: a
    // browser id someone planted in this browser (cookies ignore ports) no longer reaches what
    // the step stores (the pending application's facts).
    let browser = new_browser_id(&bank);
    let old_browser = flow.browser.clone();
    if let Some(error) = &q.error {
        let l = lang.lang;
        let description = q.error_description.as_deref().unwrap_or_default();
        let cancelled = error == "access_denied" && (description.is_empty() || description == "the user cancelled");
        let (title, message) = if cancelled {
            (
                l.pick("キャンセルしました", "Cancelled"),
                l.pick(
                    "マイナンバーカードでの手続きをキャンセルしました。情報は何も送られていません。",
                    "You cancelled the My Number Card step. Nothing was shared.",
                )
                .to_owned(),
            )
        } else {
            (
                l.pick("手続きを完了できませんでした", "The request could not be completed"),
                format!("{} ({error}: {description})", app_refusal(description).get(l)),
            )
        };
        let body = format!(
            "<p class=\"alert\" role=\"alert\">{}</p><p><a class=\"button\" href=\"/\">{}</a></p>",
            pages::escape(&message),
            l.pick("トップへ戻る", "Back to the top")
        );
        bank.metrics.flow(&flow.kind, if cancelled { "cancelled" } else { "refused" });
        let logged_in = crate::login::customer(&bank, &headers).await?.is_some();
        return Ok(pages::page(lang, "/", title, logged_in, &body));
    }
    let code = q.code.as_deref().filter(printable).ok_or_else(|| {
        BankError::invalid("認証アプリからの応答が不完全です。", "The authentication app's answer is incomplete.")
    })?;
    let kind = flow.kind.clone();
    let result = match bank.rp.finish(code, &flow.nonce, &flow.pkce_verifier).await {
        Ok(finished) => dispatch(&bank, Done { flow, finished, lang, headers }).await,
        Err(e) => Err(e),
    };
    bank.metrics.flow(&kind, crate::metrics::outcome(&result));
    let mut response = result?;
    crate::open::rebind_browser(&bank, &old_browser, &browser).await?;
    set_browser_cookie(&bank, &mut response, &browser);
    Ok(response)
}

/// Runs the step a flow was for.
async fn dispatch(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    match done.flow.kind.as_str() {
        "login" => crate::login::logged_in(bank, done).await,
        "open" => crate::open::verified(bank, done).await,
        "apply" => crate::open::applied(bank, done).await,
        "recover" => crate::recover::recovered(bank, done).await,
        "age" => crate::age::checked(bank, done).await,
        "contract" => crate::contract::signed(bank, done).await,
        "consent" => crate::consent::signed(bank, done).await,
        other => Err(BankError::Internal(format!("no step for a {other} flow"))),
    }
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/callback", get(callback))
}
