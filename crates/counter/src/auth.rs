//! Staff sign-in. The staff token is printed once by `hanko check serve` (`/?token=…`, like
//! `hanko up`'s console); the page trades it for an HttpOnly, SameSite=Strict cookie and
//! redirects to itself without the token. Scripts send it as `Authorization: Bearer`.
//!
//! The cookie is not the token: each sign-in gets a fresh random session value, and the server
//! keeps only its SHA-256 with when it ends ([`Sessions`], in memory). A cookie read off a disk
//! does not sign in at the API with a Bearer header; signing out ends that session on the server
//! (a copy of the cookie stops working too); a restart or a new token signs everyone out. Every
//! request with the cookie that changes something (POST) must carry the page's own `Origin`
//! (cross-site request forgery; the cookie's SameSite=Strict is the second fence). The token is
//! never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Most browsers signed in at once; a sign-in beyond it ends the session that ends first.
pub(crate) const MAX_SESSIONS: usize = 256;

/// The signed-in browsers: SHA-256 of each session value → when it ends.
#[derive(Debug, Default)]
pub(crate) struct Sessions(Mutex<HashMap<[u8; 32], Instant>>);

fn session_key(value: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

impl Sessions {
    /// A new session: its cookie value (32 random bytes, hex), or `None` without randomness.
    pub(crate) fn open(&self) -> Option<String> {
        let mut value = [0u8; 32];
        aws_lc_rs::rand::fill(&mut value).ok()?;
        let value = hex::encode(value);
        let now = Instant::now();
        let mut map = self.0.lock().ok()?;
        map.retain(|_, end| *end > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(first) = map.iter().min_by_key(|(_, end)| **end).map(|(k, _)| *k) {
                map.remove(&first);
            }
        }
        map.insert(session_key(&value), now + Duration::from_secs(LIFETIME_SECS));
        Some(value)
    }
    /// Whether `value` is a session that has not ended.
    pub(crate) fn is_open(&self, value: &str) -> bool {
        let key = session_key(value);
        self.0.lock().is_ok_and(|map| map.get(&key).is_some_and(|end| *end > Instant::now()))
    }
    /// Ends the session `value` (signing out).
    pub(crate) fn close(&self, value: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&session_key(value));
        }
    }
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
    // Every value of the cookie counts: another app on the same host may have set one of the same
    // name (cookies ignore ports), which must neither hide nor replace the page's own.
    let values = hanko_store::http::page::cookies(headers, COOKIE);
    if !values.iter().any(|v| counter.sessions.is_open(v)) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_until_closed_and_the_oldest_gives_way() {
        let s = Sessions::default();
        let a = s.open().unwrap();
        assert_eq!(a.len(), 64);
        assert!(s.is_open(&a));
        assert!(!s.is_open(&"0".repeat(64)), "a made-up value");
        let b = s.open().unwrap();
        assert_ne!(a, b);
        s.close(&a);
        assert!(!s.is_open(&a) && s.is_open(&b), "signing out ends that session only");
        for _ in 0..MAX_SESSIONS {
            s.open().unwrap();
        }
        assert!(!s.is_open(&b), "beyond the bound the oldest session ended");
        assert_eq!(s.0.lock().unwrap().len(), MAX_SESSIONS);
    }
}
