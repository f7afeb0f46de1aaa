//! What the services' HTML pages share (the bank, the `hanko up` console, the counter): HTML
//! escaping, reading a cookie, the page language (Japanese by default, English with
//! `?lang=en`, remembered in a cookie) and the security headers every page answers with.

use axum::http::{header, HeaderMap, HeaderValue};

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 日本語 (default).
    Ja,
    /// English.
    En,
}

impl Lang {
    /// `ja` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The Japanese or the English text.
    pub fn pick<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    /// `ja` or `en` as a language; anything else is `None`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language of a request: `?lang=` in `query` (then `true`: the page sets the cookie),
    /// else the cookie `cookie_name`, else Japanese.
    pub fn of_request(query: Option<&str>, headers: &HeaderMap, cookie_name: &str) -> (Lang, bool) {
        let query = query.unwrap_or_default();
        if let Some(lang) = query.split('&').filter_map(|p| p.strip_prefix("lang=")).find_map(Lang::parse) {
            return (lang, true);
        }
        (cookie(headers, cookie_name).and_then(|v| Lang::parse(&v)).unwrap_or(Lang::Ja), false)
    }
}

/// A cookie's value (the first one sent under `name`).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers, name).into_iter().next()
}

/// Every value sent under `name`, in order: a browser sends several when another site on the
/// same host (cookies ignore ports) or another path set one of the same name.
pub fn cookies(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .collect()
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Every page's headers: never framed (clickjacking; cookies do not separate ports), no MIME
/// sniffing, no referrer beyond the site, and `csp` unless the handler set its own policy.
pub fn security_headers(h: &mut HeaderMap, csp: &'static str) {
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(csp));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("a\u{0}b"), "a\u{FFFD}b");
    }

    #[test]
    fn the_language_comes_from_the_query_then_the_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of_request(None, &h, "l"), (Lang::Ja, false));
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; l=en"));
        assert_eq!(Lang::of_request(None, &h, "l"), (Lang::En, false));
        assert_eq!(Lang::of_request(Some("x=1&lang=ja"), &h, "l"), (Lang::Ja, true));
        assert_eq!(cookie(&h, "a").as_deref(), Some("b"));
    }
}
