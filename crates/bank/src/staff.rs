//! The staff dashboard (`/staff`): the accounts (number, name, opened, consent, the 「異動あり」
//! badge with its date and note), the latest webhook events, and any verification record.
//!
//! Staff sign in with the key in `DATA_DIR/staff.key` (`/staff?key=…`, the URL `hanko up`
//! prints): the bank answers an HttpOnly, SameSite=Strict cookie limited to `/staff` — an
//! expiry and the bank's MAC over it and the key, so changing the key signs everyone out — and
//! redirects to the dashboard without the key in the URL.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::error::{BankError, Text};
use crate::pages::{self, escape, PageLang};
use crate::Bank;

/// The staff cookie.
const COOKIE: &str = "hanko_bank_staff";
/// How long a staff sign-in lasts.
const LIFETIME_SECS: i64 = 8 * 3600;

fn forbidden() -> BankError {
    BankError::Forbidden(Text::new(
        "職員用の画面です。hanko up が表示した職員用 URL（キー付き）で開いてください。",
        "This is the staff dashboard. Open it with the staff URL (with its key) that hanko up printed.",
    ))
}

fn staff_key(bank: &Bank) -> Result<String, BankError> {
    let path = bank.config.data_dir.join(crate::STAFF_KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| BankError::Internal(format!("{}: {e}", path.display())))?;
    Ok(text.trim().to_owned())
}

/// Whether `given` is the staff key (`GET /metrics` as a Bearer token).
pub(crate) fn is_staff_key(bank: &Bank, given: &str) -> Result<bool, BankError> {
    Ok(!given.is_empty() && equal(given, &staff_key(bank)?))
}

fn equal(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A staff cookie value: `{expires}.{mac}`.
fn cookie_value(bank: &Bank, key: &str, expires: i64) -> String {
    let expires = expires.to_string();
    format!("{expires}.{}", bank.mac(&["staff", &expires, key]))
}

fn signed_in(bank: &Bank, headers: &HeaderMap) -> Result<bool, BankError> {
    let Some(value) = pages::cookie(headers, COOKIE) else { return Ok(false) };
    let Some((expires, _)) = value.split_once('.') else { return Ok(false) };
    let Ok(expires) = expires.parse::<i64>() else { return Ok(false) };
    if expires < bank.now() {
        return Ok(false);
    }
    Ok(equal(&value, &cookie_value(bank, &staff_key(bank)?, expires)))
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

/// The staff's dashboard, or the sign-in with `?key=`.
async fn dashboard(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
    Query(q): Query<KeyQuery>,
) -> Result<Response, BankError> {
    if let Some(key) = &q.key {
        let expected = staff_key(&bank)?;
        if expected.is_empty() || !equal(key, &expected) {
            tracing::warn!("a staff sign-in with a wrong key");
            return Err(forbidden());
        }
        let cookie = format!(
            "{COOKIE}={}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}",
            cookie_value(&bank, &expected, bank.now() + LIFETIME_SECS)
        );
        let mut response = Redirect::to("/staff").into_response();
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| BankError::Internal(e.to_string()))?,
        );
        return Ok(response);
    }
    if !signed_in(&bank, &headers)? {
        return Err(forbidden());
    }
    let l = lang.lang;
    let mut accounts = String::new();
    let all = bank.store.accounts(200).await?;
    for a in &all {
        let consent = match &a.consent_id {
            Some(id) => format!("{} <code>{}</code>", l.pick("同意済み", "given"), escape(id)),
            None => "—".to_owned(),
        };
        let badge = match (a.changed_at, &a.change_note) {
            (Some(at), Some(note)) => format!(
                "<span class=\"changed\" id=\"changed-{n}\">{label}</span> <span id=\"changed-at-{n}\">{at}</span><br><small>{note}</small>",
                n = escape(&a.number),
                label = l.pick("異動あり", "Facts changed"),
                at = escape(&pages::time_text(at)),
                note = escape(crate::webhook::note_text(l, note)),
            ),
            _ => String::new(),
        };
        let records = bank
            .store
            .records_of(&a.id)
            .await?
            .into_iter()
            .map(|(id, kind, _)| {
                format!(
                    "<a href=\"/staff/records/{}\">{}</a>",
                    escape(&id),
                    escape(crate::records::kind_text(l, &kind))
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        accounts.push_str(&format!(
            "<tr id=\"account-{n}\"><td>{n}</td><td>{name}</td><td>{address}</td><td>{opened}</td><td>{consent}</td><td>{badge}</td><td>{records}</td></tr>",
            n = escape(&a.number),
            name = escape(&a.name),
            address = escape(&a.address),
            opened = escape(&pages::time_text(a.opened_at)),
        ));
    }
    let mut events = String::new();
    for (id, kind, user, at) in bank.store.events(50).await? {
        let number = all.iter().find(|a| a.platform_user_id == user).map(|a| a.number.as_str()).unwrap_or("—");
        events.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&pages::time_text(at)),
            escape(&kind),
            escape(number),
            escape(&id)
        ));
    }
    let body = format!(
        "<div class=\"card\"><h2>{acc_h}</h2><table id=\"accounts\"><tr><th>{num}</th><th>{name}</th><th>{addr}</th><th>{opened}</th>\
         <th>{consent}</th><th>{status}</th><th>{records}</th></tr>{accounts}</table></div>\
         <div class=\"card\"><h2>{ev_h}</h2><table id=\"events\"><tr><th>{received}</th><th>{kind}</th><th>{num}</th><th>webhook-id</th></tr>{events}</table></div>",
        acc_h = l.pick("口座", "Accounts"),
        num = l.pick("口座番号", "Account number"),
        name = l.pick("氏名", "Name"),
        addr = l.pick("住所", "Address"),
        opened = l.pick("開設日時", "Opened"),
        consent = l.pick("最新情報の提供への同意", "Latest-facts consent"),
        status = l.pick("異動", "Changes"),
        records = l.pick("本人確認記録", "Verification records"),
        ev_h = l.pick("プラットフォームからの通知（最新50件）", "Platform webhook events (latest 50)"),
        received = l.pick("受信日時", "Received"),
        kind = l.pick("種類", "Type"),
    );
    Ok(pages::page(lang, "/staff", l.pick("職員用ダッシュボード", "Staff dashboard"), false, &body))
}

async fn record(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, BankError> {
    if !signed_in(&bank, &headers)? {
        return Err(forbidden());
    }
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BankError::NotFound(Text::new("記録が見つかりません。", "No such record.")));
    }
    let l = lang.lang;
    let not_found =
        || BankError::NotFound(Text::new("その本人確認記録はありません。", "There is no such verification record."));
    if id.is_empty() || id.len() > 128 {
        return Err(not_found());
    }
    let (account_id, kind, value) = bank.store.record(&id).await?.ok_or_else(not_found)?;
    let account = match &account_id {
        Some(a) => bank.store.account(a).await?.map(|a| format!("{} {}", a.number, a.name)).unwrap_or_default(),
        None => "—".to_owned(),
    };
    let body = format!(
        "<div class=\"card\">{}</div><div class=\"card\" id=\"record\">{}</div><p><a href=\"/staff\">{}</a></p>",
        pages::table(&[
            (l.pick("記録 ID", "Record id"), &id),
            (l.pick("種類", "Kind"), crate::records::kind_text(l, &kind)),
            (l.pick("口座", "Account"), &account)
        ]),
        crate::records::record_html(l, &value),
        l.pick("ダッシュボードへ戻る", "Back to the dashboard"),
    );
    Ok(pages::page(lang, "/staff", l.pick("本人確認記録", "Verification record"), false, &body))
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/staff", get(dashboard)).route("/staff/records/{id}", get(record))
}
