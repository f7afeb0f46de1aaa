//! Staff sign-in. The staff token is printed once by `hanko check serve` (`/?token=…`, like
//! `hanko up`'s console); the page trades it for an HttpOnly, SameSite=Strict cookie and
//! redirects to itself without the token. Scripts send it as `Authorization: Bearer`.
//!
//! The cookie is not the token: it is HMAC-SHA256 of a fixed label under the token, so a
//! cookie read off a disk does not sign in at the API with a Bearer header, and a new token
//! signs everyone out. Every request with the cookie that changes something (POST) must carry
//! the page's own `Origin` (cross-site request forgery; the cookie's SameSite=Strict is the
//! second fence). The token is never logged.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};

use crate::{Counter, CounterError};

/// The staff cookie.
pub(crate) const COOKIE: &str = "hanko_counter_staff";
/// How long a sign-in lasts in the browser.
pub(crate) const LIFETIME_SECS: u64 = 12 * 3600;

fn equal(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The cookie value of a signed-in browser.
pub(crate) fn session_value(counter: &Counter) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, counter.config.staff_token.as_bytes());
    hex::encode(aws_lc_rs::hmac::sign(&key, b"hanko-counter staff session v1").as_ref())
}

/// Whether `given` is the staff token.
pub(crate) fn is_token(counter: &Counter, given: &str) -> bool {
    let token = counter.config.staff_token.as_str();
    !token.is_empty() && equal(given.as_bytes(), token.as_bytes())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

/// The origins the page is served from: the configured one, else `http(s)://` + `Host`.
fn origin_allowed(counter: &Counter, headers: &HeaderMap, origin: &str) -> bool {
    match &counter.config.public_origin {
        Some(o) => origin == o.trim_end_matches('/'),
        None => {
            let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
            origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
        }
    }
}

/// Checks a request: signed in (cookie or Bearer token) and, for a POST, from the page's origin.
pub(crate) fn check(counter: &Counter, method: &Method, headers: &HeaderMap) -> Result<(), CounterError> {
    let origin = headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("\u{0}"));
    if let Some(origin) = origin {
        if !origin_allowed(counter, headers, origin) && origin != "null" {
            return Err(CounterError::CrossOrigin);
        }
        if origin == "null" && method != Method::GET && method != Method::HEAD {
            return Err(CounterError::CrossOrigin);
        }
    }
    if let Some(given) = bearer(headers) {
        return if is_token(counter, given) { Ok(()) } else { Err(CounterError::Unauthorized) };
    }
    let Some(value) = hanko_store::http::page::cookie(headers, COOKIE) else {
        return Err(CounterError::Unauthorized);
    };
    if !equal(value.as_bytes(), session_value(counter).as_bytes()) {
        return Err(CounterError::Unauthorized);
    }
    if method != Method::GET && method != Method::HEAD && origin.is_none() {
        // A browser sends Origin with every POST; a cookie without one is not our page.
        return Err(CounterError::CrossOrigin);
    }
    Ok(())
}

/// A signed-in staff request (the extractor every guarded route takes).
pub(crate) struct Staff;

impl FromRequestParts<Arc<Counter>> for Staff {
    type Rejection = CounterError;

    async fn from_request_parts(parts: &mut Parts, counter: &Arc<Counter>) -> Result<Staff, CounterError> {
        check(counter, &parts.method, &parts.headers).map(|()| Staff)
    }
}
