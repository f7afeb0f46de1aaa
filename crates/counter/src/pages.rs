//! The counter page (`/`): pick the document, the source, enter the access code (masked),
//! read; progress while the chip is read; then the verified facts beside the photo, each
//! field marked signed / not signed, the issuer and chip checks, and the record kept. A document
//! with nothing signed (an under-16 residence card) is titled read but NOT verified by the
//! issuer's signature (the check's JSON `verified: false`), never 「確認できました」. The
//! records (`/records`). Japanese by default, English with `?lang=en` (remembered in a
//! cookie). The page's script (`/counter.js`) talks to the JSON API and writes every value
//! with `textContent`, never as markup; the CSP allows no inline script.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_documents::DocumentKind;
use hanko_store::http::page::{escape, Lang};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, Staff};
use crate::{Counter, CounterError};

/// The cookie that remembers the language.
pub(crate) const LANG_COOKIE: &str = "hanko_counter_lang";

const SCRIPT: &str = include_str!("assets/counter.js");
const STYLE: &str = include_str!("assets/counter.css");

fn lang_of(uri: &axum::http::Uri, headers: &HeaderMap) -> (Lang, bool) {
    Lang::of_request(uri.query(), headers, LANG_COOKIE)
}

/// The English name of a document.
pub(crate) fn label_en(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::MyNumberCard => "My Number Card",
        DocumentKind::DriverLicence => "Driver's licence",
        DocumentKind::ResidenceCard => "Residence card / special permanent resident certificate",
        DocumentKind::Passport => "Passport",
    }
}

fn label(lang: Lang, kind: DocumentKind) -> &'static str {
    lang.pick(kind.label_ja(), label_en(kind))
}

/// A whole page: header with the navigation and the language switch, `body`, the footer.
fn page(lang: (Lang, bool), path: &str, title: &str, signed_in: bool, body: &str) -> Response {
    let (l, changed) = lang;
    let other = match l {
        Lang::Ja => ("en", "English"),
        Lang::En => ("ja", "日本語"),
    };
    let nav = if signed_in {
        format!(
            "<a href=\"/\" id=\"nav-check\">{}</a><a href=\"/records\" id=\"nav-records\">{}</a>\
             <form method=\"post\" action=\"/signout\" class=\"inline\"><button class=\"secondary\" type=\"submit\">{}</button></form>",
            l.pick("確認", "Check"),
            l.pick("確認記録", "Records"),
            l.pick("終了", "Sign out"),
        )
    } else {
        String::new()
    };
    let html = format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} — {app}</title>\
         <link rel=\"stylesheet\" href=\"/counter.css\"><script src=\"/counter.js\" defer></script></head>\
         <body><header><a class=\"brand\" href=\"/\">{app}</a>{nav}\
         <a href=\"{path}?lang={other_code}\" hreflang=\"{other_code}\" id=\"lang-switch\">{other_name}</a></header>\
         <main><h1>{title}</h1>{body}</main><footer><span class=\"sample\">見本 SAMPLE JPKI-TEST</span> — {footer}</footer>\
         </body></html>",
        code = l.code(),
        title = escape(title),
        app = l.pick("窓口本人確認", "Counter identity check"),
        other_code = other.0,
        other_name = other.1,
        footer = l.pick(
            "hanko の窓口確認アプリです。ICチップを読み取り、発行者の署名とチップの真正性を検証します。",
            "hanko's counter check app: reads the IC chip and verifies the issuer's signature and the chip."
        ),
    );
    let mut response = Html(html).into_response();
    if changed {
        let value = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", l.code());
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn refused(lang: (Lang, bool), e: &CounterError) -> Response {
    let body = format!(
        "<p class=\"alert\" role=\"alert\" id=\"refused\">{}</p>",
        escape(lang.0.pick(
            "職員用の画面です。hanko check serve が表示した URL（トークン付き）で開いてください。",
            "This page is for staff. Open it with the URL (with its token) that hanko check serve printed.",
        ))
    );
    let mut r = page(lang, "/", lang.0.pick("サインインが必要です", "Sign-in needed"), false, &body);
    *r.status_mut() = e.status();
    r
}

#[derive(Deserialize)]
struct IndexQuery {
    token: Option<String>,
}

/// `GET /`: the sign-in with `?token=` (then a cookie, and the page without the token in the
/// URL), else the counter page.
async fn index(
    State(counter): State<Arc<Counter>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(q): Query<IndexQuery>,
) -> Response {
    let lang = lang_of(&uri, &headers);
    if let Some(token) = &q.token {
        if !auth::is_token(&counter, token) {
            tracing::warn!("counter: a sign-in with a wrong staff token");
            return refused(lang, &CounterError::Unauthorized);
        }
        let secure = if counter.config.public_origin.as_deref().is_some_and(|o| o.starts_with("https://")) {
            "; Secure"
        } else {
            ""
        };
        let Some(session) = counter.sessions.open() else {
            return refused(lang, &CounterError::Internal("no randomness for a session".into()));
        };
        let cookie = format!(
            "{}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            auth::COOKIE,
            auth::LIFETIME_SECS
        );
        let mut r = Redirect::to("/").into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        return r;
    }
    if let Err(e) = auth::check(&counter, &Method::GET, &headers) {
        return refused(lang, &e);
    }
    let l = lang.0;
    let documents: String = DocumentKind::ALL
        .into_iter()
        .map(|k| format!("<option value=\"{}\">{}</option>", k.as_str(), escape(label(l, k))))
        .collect();
    let sources = counter.config.sources.clone();
    let list = tokio::task::spawn_blocking(move || sources.list()).await.unwrap_or_default();
    let sources: String = list
        .iter()
        .map(|s| {
            format!(
                "<option value=\"{}\" data-kind=\"{}\">{}</option>",
                escape(&s.id),
                s.kind.map(|k| k.as_str()).unwrap_or(""),
                escape(&s.label)
            )
        })
        .collect();
    let no_sources = if list.is_empty() {
        format!(
            "<p class=\"alert\" id=\"no-sources\">{}</p>",
            l.pick(
                "読み取り元がありません。リーダーをつなぐか、エミュレートした書類を用意してください。",
                "No sources: connect a reader or prepare an emulated document."
            )
        )
    } else {
        String::new()
    };
    let input = |id: &str, label: &str, hint: &str, mode: &str, max: u8| {
        format!(
            "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{id}\" type=\"password\" \
             autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" inputmode=\"{mode}\" maxlength=\"{max}\">\
             <small>{hint}</small>"
        )
    };
    let body = format!(
        "{no_sources}<div class=\"columns\"><form id=\"check-form\" class=\"card\" autocomplete=\"off\">\
         <label for=\"document\">{doc}</label><select id=\"document\" name=\"document\">{documents}</select>\
         <label for=\"source\">{src}</label><select id=\"source\" name=\"source\">{sources}</select>\
         <fieldset data-for=\"my_number_card\"><legend>{code}</legend>{nb}</fieldset>\
         <fieldset data-for=\"driver_licence\" hidden><legend>{code}</legend>{p1}{p2}</fieldset>\
         <fieldset data-for=\"residence_card\" hidden><legend>{code}</legend>{cn}</fieldset>\
         <fieldset data-for=\"passport\" hidden><legend>{code}</legend>{dn}{bd}{ex}<p class=\"or\">{or}</p>{can}</fieldset>\
         <p class=\"note\">{note}</p><button type=\"submit\" id=\"start\">{read}</button></form>\
         <section id=\"progress\" class=\"card\" hidden aria-live=\"polite\"><h2>{reading}</h2>\
         <progress id=\"bar\"></progress><p id=\"step\"></p></section>\
         <div id=\"error\" class=\"alert\" role=\"alert\" hidden></div>\
         <section id=\"result\" class=\"card\" hidden><h2 id=\"result-title\"></h2>\
         <div class=\"side\"><figure id=\"photo-box\"><img id=\"photo\" alt=\"{photo}\"><figcaption id=\"photo-trust\"></figcaption></figure>\
         <table id=\"fields\"><thead><tr><th>{item}</th><th>{value}</th><th>{sig}</th></tr></thead><tbody></tbody></table></div>\
         <h3>{checks}</h3><table id=\"checks\"><tbody></tbody></table>\
         <h3>{record}</h3><table id=\"record\"><tbody></tbody></table></section></div>",
        doc = l.pick("書類", "Document"),
        src = l.pick("読み取り元", "Source"),
        code = l.pick("書類を開く番号（表示されません・保存されません）", "Access code (masked, never stored)"),
        nb = input(
            "number_b",
            l.pick("照合番号B（14桁）", "Check number B (14 digits)"),
            l.pick("生年月日6桁＋有効期限の西暦年4桁＋セキュリティコード4桁", "birth date YYMMDD + expiry year + security code"),
            "numeric",
            14
        ),
        p1 = input("pin1", l.pick("暗証番号1", "PIN 1"), l.pick("数字4桁（未設定は ****）", "4 digits (**** if none set)"), "numeric", 4),
        p2 = input("pin2", l.pick("暗証番号2", "PIN 2"), l.pick("数字4桁（本籍・写真）", "4 digits (domicile, photo)"), "numeric", 4),
        cn = input("card_number", l.pick("在留カード等番号", "Card number"), l.pick("英数字12桁", "12 letters and digits"), "text", 12),
        dn = input("document_number", l.pick("旅券番号", "Document number"), "", "text", 9),
        bd = input("birth", l.pick("生年月日（YYMMDD）", "Birth date (YYMMDD)"), "", "numeric", 6),
        ex = input("expiry", l.pick("有効期限（YYMMDD）", "Expiry date (YYMMDD)"), "", "numeric", 6),
        or = l.pick("または", "or"),
        can = input("can", l.pick("CAN（6桁）", "CAN (6 digits)"), "", "numeric", 6),
        note = l.pick(
            "番号は読み取りにだけ使い、ログにも記録にも残しません。マイナンバーカードは照合番号Bのうち生年月日を除く8桁と確認時刻だけを記録します。",
            "The code only opens the chip; it is never logged or stored. For the My Number Card the record keeps the check time and the 8 digits of check number B without the birth date.",
        ),
        read = l.pick("読み取る", "Read"),
        reading = l.pick("読み取り中…", "Reading…"),
        photo = l.pick("顔写真", "Photo"),
        item = l.pick("項目", "Item"),
        value = l.pick("内容", "Value"),
        sig = l.pick("署名", "Signature"),
        checks = l.pick("検証", "Checks"),
        record = l.pick("残した記録", "Record kept"),
    );
    page(lang, "/", l.pick("本人確認書類の読み取り", "Read an identity document"), true, &body)
}

/// A Unix time as JST text (`2026-12-06 22:15:03 JST`).
fn jst(unix: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else { return unix.to_string() };
    let t = t.to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC));
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} JST", t.hour(), t.minute(), t.second())
}

/// `GET /records`: the newest records.
async fn records(State(counter): State<Arc<Counter>>, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let lang = lang_of(&uri, &headers);
    if let Err(e) = auth::check(&counter, &Method::GET, &headers) {
        return refused(lang, &e);
    }
    let l = lang.0;
    let list = match counter.records.list(200).await {
        Ok(list) => list,
        Err(e) => return CounterError::from(e).into_response(),
    };
    let mut rows = String::new();
    for r in &list {
        let details = r
            .details
            .as_ref()
            .and_then(|d| d["fields"].as_object())
            .map(|f| {
                f.iter()
                    .map(|(k, v)| {
                        // Each value as the record keeps it: signed by the issuer, or not.
                        let mark = if v["signed"].as_bool() == Some(true) {
                            String::new()
                        } else {
                            format!(" <span class=\"unsigned\">({})</span>", l.pick("署名なし", "not signed"))
                        };
                        format!("{}: {}{mark}", escape(k), escape(v["value"].as_str().unwrap_or_default()))
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            })
            .unwrap_or_default();
        let verified = if r.verified {
            format!("<td class=\"signed\">{}</td>", l.pick("署名検証済み", "verified"))
        } else {
            format!(
                "<td class=\"unsigned\">{}</td>",
                l.pick("検証なし（署名のない書類）", "NOT verified (no signature)")
            )
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td>{verified}<td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&jst(r.checked_at)),
            escape(label(l, r.document)),
            escape(r.number_b_tail.as_deref().unwrap_or("—")),
            escape(&r.policy),
            details,
            escape(&jst(r.retain_until)),
        ));
    }
    let body = format!(
        "<p>{intro}</p><table id=\"records\"><thead><tr><th>{at}</th><th>{doc}</th><th>{verification}</th><th>{tail}</th><th>{policy}</th>\
         <th>{details}</th><th>{until}</th></tr></thead><tbody>{rows}</tbody></table>",
        intro = l.pick(
            "確認のたびに作る確認記録です（7年保存）。既定では確認時刻と書類の種類だけ、マイナンバーカードは照合番号Bの生年月日を除く8桁も。個人番号は記録しません。",
            "The record made at each check (kept 7 years). By default only the time and the document; for the My Number Card also the 8 digits of check number B without the birth date. Never the My Number.",
        ),
        at = l.pick("確認日時", "Checked at"),
        doc = l.pick("書類", "Document"),
        verification = l.pick("発行者の署名", "Issuer's signature"),
        tail = l.pick("照合番号B（生年月日を除く8桁）", "Check number B (8 digits, no birth date)"),
        policy = l.pick("記録方針", "Policy"),
        details = l.pick("記録事項", "Items"),
        until = l.pick("保存期限", "Keep until"),
    );
    page(lang, "/records", l.pick("確認記録", "Records"), true, &body)
}

/// `POST /signout`: ends this browser's session on the server and forgets its cookie.
async fn signout(State(counter): State<Arc<Counter>>, headers: HeaderMap, _: Staff) -> Response {
    for value in hanko_store::http::page::cookies(&headers, auth::COOKIE) {
        counter.sessions.close(&value);
    }
    let mut r = Redirect::to("/").into_response();
    let cookie = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", auth::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /api/sources`: the readers and emulated documents.
async fn sources(State(counter): State<Arc<Counter>>, _: Staff) -> Result<Response, CounterError> {
    let sources = counter.config.sources.clone();
    let list = tokio::task::spawn_blocking(move || sources.list())
        .await
        .map_err(|e| CounterError::Internal(format!("listing the sources: {e}")))?;
    Ok(Json(json!({"sources": list})).into_response())
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

async fn not_found() -> Response {
    CounterError::NotFound("page").into_response()
}

pub(crate) fn routes() -> Router<Arc<Counter>> {
    Router::new()
        .route("/", get(index))
        .route("/records", get(records))
        .route("/signout", post(signout))
        .route("/api/sources", get(sources))
        .route("/counter.js", get(script))
        .route("/counter.css", get(style))
        .fallback(not_found)
}
