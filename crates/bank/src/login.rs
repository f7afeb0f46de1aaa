//! The top page, logging in with the authentication API (the pairwise `sub` finds the account),
//! sessions, logging out, and the customer's page.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::error::BankError;
use crate::flow::Done;
use crate::pages::{self, escape, PageLang};
use crate::store::Account;
use crate::{secure, Bank};

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "hanko_bank_session";

fn hash(id: &str) -> String {
    hex::encode(hanko_pki::DigestAlgorithm::Sha256.digest(id.as_bytes()))
}

/// The logged-in customer of a request, if any.
pub(crate) async fn customer(bank: &Bank, headers: &HeaderMap) -> Result<Option<Account>, BankError> {
    let Some(id) = pages::cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let Some(account_id) = bank.store.session(&hash(&id), bank.now()).await? else { return Ok(None) };
    Ok(bank.store.account(&account_id).await?)
}

/// The logged-in customer, or the login page.
pub(crate) async fn require(bank: &Bank, headers: &HeaderMap) -> Result<Account, BankError> {
    customer(bank, headers).await?.ok_or(BankError::LoginRequired)
}

/// A POST from another site is refused: the session cookie is `SameSite=Lax` already, and a
/// browser's `Origin` must be the bank's own.
pub(crate) fn same_origin(bank: &Bank, headers: &HeaderMap) -> Result<(), BankError> {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => Ok(()),
        Some(o) if o == bank.config.base_url => Ok(()),
        Some(_) => Err(BankError::Forbidden(crate::Text::new(
            "別のサイトからの送信は受け付けません。",
            "A form sent from another site is refused.",
        ))),
    }
}

/// Starts a session for `account` and sends the browser to `to`.
pub(crate) async fn start_session(bank: &Bank, account: &Account, to: &str) -> Result<Response, BankError> {
    let mut raw = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut raw);
    let id = hex::encode(raw);
    let now = bank.now();
    bank.store.add_session(&hash(&id), &account.id, now, now + bank.config.session_lifetime.as_secs() as i64).await?;
    let mut response = Redirect::to(to).into_response();
    let cookie = format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax{}", secure(bank));
    response
        .headers_mut()
        .append(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| BankError::Internal(e.to_string()))?);
    Ok(response)
}

async fn home(State(bank): State<Arc<Bank>>, lang: PageLang, headers: HeaderMap) -> Result<Response, BankError> {
    let l = lang.lang;
    let who = customer(&bank, &headers).await?;
    let body = format!(
        "<div class=\"card\"><p>{intro}</p></div>\
         <div class=\"card\"><h2>{open_h}</h2><p>{open_p}</p><p><a class=\"button\" id=\"open\" href=\"/open\">{open_b}</a></p></div>\
         <div class=\"card\"><h2>{login_h}</h2><p>{login_p}</p><p><a class=\"button\" id=\"login\" href=\"/login\">{login_b}</a></p>\
         <p><a href=\"/recover\">{recover}</a></p></div>\
         <div class=\"card\"><h2>{age_h}</h2><p>{age_p}</p><p><a class=\"button\" href=\"/age\">{age_b}</a></p></div>",
        intro = l.pick(
            "見本銀行はマイナンバーカード（公的個人認証サービス）で口座開設・ログイン・契約ができるデモ銀行です。",
            "Mihon Bank is a demo bank where you open an account, log in and sign contracts with the My Number Card (JPKI)."
        ),
        open_h = l.pick("口座開設", "Open an account"),
        open_p = l.pick(
            "署名用電子証明書（6〜16桁の暗証番号）で本人確認します（犯罪収益移転防止法の電子署名による方法）。その場で口座番号をお知らせします。",
            "We verify your identity with the signature certificate (6–16 character password), the AML Act's electronic-signature method. Your account number is ready at once."
        ),
        open_b = l.pick("口座を開設する", "Open an account"),
        login_h = l.pick("ログイン", "Log in"),
        login_p = l.pick(
            "利用者証明用電子証明書（4桁の暗証番号）でログインします。",
            "Log in with the user-authentication certificate (4-digit PIN)."
        ),
        login_b = l.pick("マイナンバーカードでログイン", "Log in with the My Number Card"),
        recover = l.pick("カードを再発行した・ログインできない方（アカウント復旧）", "New card or cannot log in? Recover your account"),
        age_h = l.pick("年齢確認", "Age check"),
        age_p = l.pick(
            "署名用電子証明書の生年月日から、一定の年齢以上かどうかだけを確認します。生年月日は保存しません。",
            "Checks only whether you are above an age, from the birth date in the signature certificate. The birth date is not kept."
        ),
        age_b = l.pick("年齢を確認する", "Check my age"),
    );
    Ok(pages::page(lang, "/", l.pick("ようこそ", "Welcome"), who.is_some(), &body))
}

async fn login_page(State(bank): State<Arc<Bank>>, lang: PageLang, headers: HeaderMap) -> Result<Response, BankError> {
    if customer(&bank, &headers).await?.is_some() {
        return Ok(Redirect::to("/me").into_response());
    }
    let l = lang.lang;
    let body = format!(
        "<div class=\"card\"><p>{p}</p><form method=\"post\" action=\"/login\"><button id=\"login-start\" type=\"submit\">{b}</button></form></div>",
        p = l.pick(
            "デジタル認証アプリに移動し、マイナンバーカードの利用者証明用電子証明書（4桁の暗証番号）でログインします。",
            "You go to the authentication app and log in with the My Number Card's user-authentication certificate (4-digit PIN)."
        ),
        b = l.pick("マイナンバーカードでログイン", "Log in with the My Number Card"),
    );
    Ok(pages::page(lang, "/login", l.pick("ログイン", "Log in"), false, &body))
}

async fn login_start(State(bank): State<Arc<Bank>>, headers: HeaderMap) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    crate::flow::start(&bank, &headers, "login", &[], None, json!({})).await
}

/// The `login` step: the pairwise `sub` finds the account.
pub(crate) async fn logged_in(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    if let Some(account) = bank.store.account_by_sub(&done.finished.sub).await? {
        // The session this browser had before (if any) ends: a new login, a new session id.
        if let Some(old) = pages::cookie(&done.headers, SESSION_COOKIE) {
            bank.store.end_session(&hash(&old)).await?;
        }
        return start_session(bank, &account, "/me").await;
    }
    let l = done.lang.lang;
    let body = format!(
        "<p class=\"alert\" role=\"alert\">{p}</p><p><a class=\"button\" href=\"/open\">{open}</a> <a class=\"button\" href=\"/recover\">{recover}</a></p>",
        p = l.pick(
            "このマイナンバーカードに結びついた口座はありません。口座をお持ちでない方は口座開設へ、カードを再発行した方はアカウント復旧へお進みください。",
            "No account is linked to this My Number Card. Open an account, or, if you got a new card, recover your account."
        ),
        open = l.pick("口座を開設する", "Open an account"),
        recover = l.pick("アカウントを復旧する", "Recover my account"),
    );
    Ok(pages::page(done.lang, "/login", l.pick("口座が見つかりません", "No account found"), false, &body))
}

async fn logout(State(bank): State<Arc<Bank>>, headers: HeaderMap) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    if let Some(id) = pages::cookie(&headers, SESSION_COOKIE) {
        bank.store.end_session(&hash(&id)).await?;
    }
    // The browser binding goes too (and with it any application in progress in this browser).
    if let Some(browser) = crate::flow::browser_id(&bank, &headers) {
        crate::open::rebind_browser(&bank, &browser, "").await?;
    }
    let mut response = Redirect::to("/").into_response();
    crate::flow::set_browser_cookie(&bank, &mut response, "");
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    response
        .headers_mut()
        .append(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| BankError::Internal(e.to_string()))?);
    Ok(response)
}

/// The account's facts as table rows.
pub(crate) fn account_rows(l: pages::Lang, a: &Account) -> String {
    pages::table(&[
        (l.pick("口座番号", "Account number"), &a.number),
        (l.pick("氏名", "Name"), &a.name),
        (l.pick("住所", "Address"), &a.address),
        (l.pick("生年月日", "Birth date"), &a.birth_date),
        (l.pick("性別", "Sex"), &crate::records::sex_text(l, &a.sex)),
        (l.pick("職業", "Occupation"), &a.occupation),
        (l.pick("取引を行う目的", "Purpose of transactions"), &a.purpose),
    ])
}

async fn me(State(bank): State<Arc<Bank>>, lang: PageLang, headers: HeaderMap) -> Result<Response, BankError> {
    let a = require(&bank, &headers).await?;
    let l = lang.lang;
    let mut body = String::new();
    if let Some(note) = &a.change_note {
        body.push_str(&format!(
            "<p class=\"changed\" id=\"changed\" role=\"status\">{} {}</p>",
            l.pick("異動あり", "Facts changed"),
            escape(crate::webhook::note_text(l, note))
        ));
    }
    body.push_str(&format!("<div class=\"card\"><h2>{}</h2>{}</div>", l.pick("口座", "Account"), account_rows(l, &a)));
    body.push_str(&crate::consent::me_section(l, &a));
    body.push_str(&crate::contract::me_section(&bank, l, &a).await?);
    let records = bank.store.records_of(&a.id).await?;
    if records.iter().any(|(_, kind, at)| kind == "recovery" && *at > bank.now() - 600) {
        body.insert_str(
            0,
            &format!(
                "<p class=\"ok\" id=\"recovered\" role=\"status\">{}</p>",
                l.pick(
                    "アカウントを復旧しました。これからは新しいマイナンバーカードでログインできます。",
                    "Your account is recovered: from now on, log in with your new My Number Card."
                )
            ),
        );
    }
    if !records.is_empty() {
        body.push_str(&format!("<div class=\"card\"><h2>{}</h2><ul>", l.pick("本人確認記録", "Verification records")));
        for (id, kind, at) in records {
            body.push_str(&format!(
                "<li><a href=\"/records/{id}\">{}</a> — {}</li>",
                escape(crate::records::kind_text(l, &kind)),
                escape(&crate::pages::time_text(at))
            ));
        }
        body.push_str("</ul></div>");
    }
    Ok(pages::page(lang, "/me", l.pick("マイページ", "My page"), true, &body))
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_start))
        .route("/logout", post(logout))
        .route("/me", get(me))
}
