//! The page layout, the language (Japanese by default, English with `?lang=en`, remembered in a
//! cookie), escaping.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};

/// The cookie that remembers the language.
pub const LANG_COOKIE: &str = "hanko_bank_lang";

pub use hanko_store::http::page::{cookie, escape, Lang};

/// The language of a request: `?lang=` (also remembered), else the cookie, else Japanese.
/// `changed` is set when `?lang=` asked for it (the page then sets the cookie).
#[derive(Debug, Clone, Copy)]
pub struct PageLang {
    /// The language.
    pub lang: Lang,
    /// `?lang=` was given.
    pub changed: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<PageLang, Self::Rejection> {
        let (lang, changed) = Lang::of_request(parts.uri.query(), &parts.headers, LANG_COOKIE);
        Ok(PageLang { lang, changed })
    }
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans JP',sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}\
header{background:#0b4f6c;color:#fff;padding:.8em 1.2em;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}\
header a{color:#fff}header .brand{font-weight:700;font-size:1.2em;text-decoration:none}\
main{max-width:52em;margin:1.5em auto;padding:0 1em}\
.card{background:#fff;border:1px solid #d5d9de;border-radius:8px;padding:1em 1.4em;margin:1em 0}\
.alert{background:#fff4e5;border:1px solid #f0a020;border-radius:6px;padding:.7em 1em}\
.ok{background:#e9f7ef;border:1px solid #2e9b5b;border-radius:6px;padding:.7em 1em}\
.changed{background:#fdecea;border:1px solid #d93025;border-radius:6px;padding:.7em 1em;font-weight:700}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid #e3e6ea;vertical-align:top}\
th{width:14em;color:#444;font-weight:600}button,.button{background:#0b4f6c;color:#fff;border:0;border-radius:6px;padding:.6em 1.2em;font-size:1em;cursor:pointer;text-decoration:none;display:inline-block}\
button.secondary{background:#6b7480}label{display:block;margin:.6em 0 .2em;font-weight:600}select,input{font-size:1em;padding:.35em}\
footer{color:#666;font-size:.85em;text-align:center;margin:2em 0}.sample{color:#b00020;font-weight:700}";

/// A whole page: the bank's header and navigation, `body`, the sandbox footer. Sets the
/// language cookie when `?lang=` chose it.
pub fn page(lang: PageLang, path: &str, title: &str, logged_in: bool, body: &str) -> Response {
    let l = lang.lang;
    let other = match l {
        Lang::Ja => ("en", "English"),
        Lang::En => ("ja", "日本語"),
    };
    let nav = if logged_in {
        format!(
            "<a href=\"/me\">{}</a><a href=\"/age\">{}</a><form method=\"post\" action=\"/logout\" style=\"display:inline\">\
             <button class=\"secondary\" type=\"submit\">{}</button></form>",
            l.pick("マイページ", "My page"),
            l.pick("年齢確認", "Age check"),
            l.pick("ログアウト", "Log out"),
        )
    } else {
        format!(
            "<a href=\"/open\">{}</a><a href=\"/login\">{}</a><a href=\"/age\">{}</a>",
            l.pick("口座開設", "Open an account"),
            l.pick("ログイン", "Log in"),
            l.pick("年齢確認", "Age check"),
        )
    };
    let html = format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} — {bank}</title>\
         <style>{STYLE}</style></head><body><header><a class=\"brand\" href=\"/\">{bank}</a>{nav}\
         <a href=\"{path}?lang={other_code}\" hreflang=\"{other_code}\">{other_name}</a></header>\
         <main><h1>{title}</h1>{body}</main><footer><span class=\"sample\">見本 SAMPLE JPKI-TEST</span> — {footer}</footer>\
         </body></html>",
        code = l.code(),
        title = escape(title),
        bank = l.pick("見本銀行", "Mihon Bank"),
        other_code = other.0,
        other_name = other.1,
        footer = l.pick(
            "hanko のデモ銀行です。架空の人物と試験用の証明書だけを扱います。",
            "hanko's demo bank: synthetic people and test certificates only."
        ),
    );
    let mut response = Html(html).into_response();
    if lang.changed {
        let value = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", l.code());
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A minimal page without navigation (errors).
pub fn bare(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t} — 見本銀行 Mihon Bank</title>\
         <style>{STYLE}</style></head><body><header><a class=\"brand\" href=\"/\">見本銀行 Mihon Bank</a></header>\
         <main><h1>{t}</h1>{body}</main><footer><span class=\"sample\">見本 SAMPLE JPKI-TEST</span></footer></body></html>",
        t = escape(title)
    ))
}

/// A two-column table of (label, value) rows, values escaped.
pub fn table(rows: &[(&str, &str)]) -> String {
    let mut out = String::from("<table>");
    for (k, v) in rows {
        out.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v)));
    }
    out.push_str("</table>");
    out
}

/// A Unix time as JST text (`2026-12-06 22:15:03 JST`).
pub fn time_text(unix: i64) -> String {
    let jst = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            let t = t.to_offset(jst);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} JST",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => unix.to_string(),
    }
}
