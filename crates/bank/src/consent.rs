//! The customer's consent to the latest-4-facts service (最新の利用者情報の提供): the platform
//! writes the consent document (name and address), the card signs it through the authentication
//! app (PKCS#1 v1.5 over its SHA-256 DigestInfo, the card's `80 2A`), the platform has verified
//! the signature at the callback and relays the signed consent to the authority; the bank keeps
//! the consent id and has the platform monitor the customer, so that a move reaches the bank as
//! a webhook carrying the new address (shared/spec/50-scenarios.md case 16, docs/platform.md).

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_pki::DigestAlgorithm;
use serde_json::json;

use crate::error::BankError;
use crate::flow::Done;
use crate::login::{require, same_origin};
use crate::pages::{self, escape, Lang, PageLang};
use crate::store::Account;
use crate::Bank;

/// The items the bank asks for.
const ITEMS: [&str; 2] = ["name", "address"];

/// The consent's state at the platform (`{"status": "active" | "withdrawn" | "expired",
/// "expires_at", …}`), or `None` when the platform cannot say now (the page then shows what the
/// bank knows).
async fn at_platform(bank: &Bank, id: &str) -> Option<serde_json::Value> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    match bank.platform.call(reqwest::Method::GET, &format!("/v1/consents/{id}"), None).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "the consent's status at the platform");
            None
        }
    }
}

/// Whether the account holds a consent that is still in force (as far as the platform says).
async fn in_force(bank: &Bank, a: &Account) -> Option<(String, Option<serde_json::Value>)> {
    let id = a.consent_id.clone()?;
    let state = at_platform(bank, &id).await;
    match state.as_ref().and_then(|s| s["status"].as_str()) {
        Some("withdrawn") | Some("expired") => None,
        _ => Some((id, state)),
    }
}

/// The customer's page's part about the consent.
pub(crate) fn me_section(l: Lang, a: &Account) -> String {
    let status = match &a.consent_id {
        Some(id) => format!(
            "<p id=\"consent\">{} <code>{}</code></p>",
            l.pick(
                "最新の氏名・住所の提供に同意済みです。同意番号",
                "You consented to the latest name and address service. Consent"
            ),
            escape(id)
        ),
        None => format!(
            "<p id=\"consent\">{}</p><p><a class=\"button\" id=\"consent-link\" href=\"/me/consent\">{}</a></p>",
            l.pick(
                "引っ越しなどで住所・氏名が変わったとき、届出なしで当行の登録を最新にできます。",
                "When your address or name changes, the bank can update your details without a form."
            ),
            l.pick("最新情報の提供に同意する", "Consent to updates")
        ),
    };
    format!(
        "<div class=\"card\"><h2>{}</h2>{status}</div>",
        l.pick("住所・氏名の変更のお知らせ", "Address and name updates")
    )
}

async fn page(State(bank): State<Arc<Bank>>, lang: PageLang, headers: HeaderMap) -> Result<Response, BankError> {
    let a = require(&bank, &headers).await?;
    let l = lang.lang;
    let facts = pages::table(&[
        (l.pick("提供される情報", "What the bank receives"), l.pick("氏名、住所（最新のもの）", "Your current name and address")),
        (l.pick("提供の時期", "When"), l.pick(
            "住所・氏名などが変わり、署名用電子証明書が失効したとき（市区町村への届出の後）",
            "When your name, address or other facts change and the signature certificate is revoked (after you notify your municipality)",
        )),
        (l.pick("手数料", "Fee"), l.pick(
            "1件20円（地方公共団体情報システム機構への手数料）は当行が負担します。お客さまの負担はありません。",
            "20 yen per record (the fee of J-LIS) is borne by the bank; nothing for you.",
        )),
        (l.pick("有効期間", "Valid for"), l.pick("同意から10年間（カードや証明書を更新しても続きます）", "10 years from your consent (it survives new cards and certificates)")),
        (l.pick("撤回", "Withdrawing"), l.pick(
            "いつでも撤回できます。お住まいの市区町村の窓口でお申し出ください。撤回後、当行は最新の情報を受け取りません（この画面に「撤回済み」と表示されます）。",
            "You can withdraw at any time at your municipal office. After that the bank receives nothing (this page then says so).",
        )),
        (l.pick("提供の仕組み", "How"), l.pick(
            "プラットフォーム事業者を通じて、地方公共団体情報システム機構から提供されます（公的個人認証法に基づく最新の利用者情報の提供）。",
            "J-LIS provides it through the platform operator (the JPKI Act's provision of a user's latest information).",
        )),
    ]);
    let ended = match &a.consent_id {
        Some(_) => format!(
            "<p class=\"alert\" role=\"status\" id=\"consent-ended\">{}</p>",
            l.pick(
                "以前の同意は撤回されたか、有効期限が切れています。",
                "Your earlier consent was withdrawn or has expired."
            )
        ),
        None => String::new(),
    };
    let action = match in_force(&bank, &a).await {
        Some((id, state)) => format!(
            "<p class=\"ok\" role=\"status\" id=\"consent-status\">{} <code>{}</code>{}</p>",
            l.pick("同意済みです。同意番号", "You have consented. Consent"),
            escape(&id),
            state
                .as_ref()
                .and_then(|s| s["expires_at"].as_str())
                .map(|e| format!(" ({} {})", l.pick("有効期限", "valid until"), escape(e.get(..10).unwrap_or(e))))
                .unwrap_or_default()
        ),
        None => ended
            + &format!(
            "<p>{}</p><form method=\"post\" action=\"/me/consent\"><button id=\"consent-start\" type=\"submit\">{}</button></form>",
            l.pick(
                "同意は、同意書にマイナンバーカードの署名用電子証明書（6〜16桁の暗証番号）で電子署名して行います。",
                "You consent by signing the consent document with the My Number Card's signature certificate (6–16 character password)."
            ),
            l.pick("同意書に署名して同意する", "Sign the consent")
        ),
    };
    let body = format!(
        "<div class=\"card\"><p>{intro}</p>{facts}</div><div class=\"card\">{action}</div>",
        intro = l.pick(
            "引っ越しや結婚などで住所・氏名が変わったとき、当行がお客さまの最新の氏名・住所を受け取ることへの同意です。",
            "Your consent for the bank to receive your current name and address when they change (a move, a marriage …)."
        ),
    );
    Ok(pages::page(
        lang,
        "/me/consent",
        l.pick("最新の住所・氏名の提供への同意", "Consent to address and name updates"),
        true,
        &body,
    ))
}

async fn start(State(bank): State<Arc<Bank>>, headers: HeaderMap) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    let a = require(&bank, &headers).await?;
    if in_force(&bank, &a).await.is_some() {
        return Ok(Redirect::to("/me/consent").into_response());
    }
    let answer = bank.platform.consent_document(&ITEMS).await?;
    let document = answer["document"]
        .as_str()
        .and_then(|d| B64.decode(d).ok())
        .ok_or_else(|| BankError::Upstream("the consent document is not base64".into()))?;
    let data = json!({"account": a.id, "document": B64.encode(&document)});
    crate::flow::start(&bank, &headers, "consent", &[], Some(DigestAlgorithm::Sha256.digest(&document)), data).await
}

/// The `consent` step: relay the signed consent, keep its id, monitor the customer.
pub(crate) async fn signed(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    let a = crate::contract::flow_customer(bank, &done).await?;
    let document = done.flow.data["document"]
        .as_str()
        .and_then(|d| B64.decode(d).ok())
        .ok_or_else(|| BankError::Internal("the consent flow has no document".into()))?;
    let (result, outcome) = done.signed(bank).await?;
    crate::contract::same_person(&a, &outcome, &done.finished.sub)?;
    let answer = match bank.platform.consent(&document, &result.signature, &result.certificate).await {
        Ok(answer) => answer,
        Err(hanko_sp::Error::Problem { code: Some(code), .. }) if code == "consent_conflict" => {
            return Err(BankError::refused(
                "この証明書では同意できません（すでに同意済みか、証明書が失効しています）。",
                "This certificate cannot consent (a consent exists already, or the certificate is revoked).",
            ))
        }
        Err(hanko_sp::Error::Problem { code: Some(code), .. })
            if code == "consent_invalid" || code == "consent_refused" =>
        {
            return Err(BankError::refused(
                "同意書の署名を受け付けられませんでした（有効期限切れ等）。もう一度最初からお試しください。",
                "The signed consent was not accepted (it may have expired). Please start again.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let consent_id = answer["consent_id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| BankError::Upstream("the platform's consent has no consent_id".into()))?;
    bank.store.set_consent(&a.id, consent_id).await?;
    let user = answer["user_id"].as_str().or(outcome.user_id.as_deref()).unwrap_or(&a.platform_user_id).to_owned();
    if let Err(e) = bank.platform.monitor(&user).await {
        tracing::warn!(error = %e, "monitoring a consented customer");
    }
    tracing::info!(consent = %consent_id, "latest-facts consent given");
    let l = done.lang.lang;
    let body = format!(
        "<p class=\"ok\" role=\"status\" id=\"consent-done\">{} <code>{}</code></p><p><a class=\"button\" href=\"/me\">{}</a></p>",
        l.pick("同意を受け付けました。同意番号", "Your consent was received. Consent"),
        escape(consent_id),
        l.pick("マイページへ", "To my page"),
    );
    Ok(pages::page(done.lang, "/me/consent", l.pick("同意しました", "Consent given"), true, &body))
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/me/consent", get(page).post(start))
}
