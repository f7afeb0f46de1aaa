//! A small in-memory rate limiter: one token bucket per key (a verifier and serial, a client
//! address, an API key), refilled by the authority's clock, in bounded memory.
//!
//! A bucket holds at most `burst` tokens and gains one every `per`; a request takes one. At most
//! `max_keys` buckets are kept: when full, buckets that have refilled completely (they carry no
//! information) are dropped; if none has, a new key is refused — a flood of new keys can delay
//! newcomers, never grow memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

/// Buckets kept per limiter (about 100 bytes each).
pub(crate) const MAX_KEYS: usize = 100_000;

/// How fast a key may go: `burst` at once, then one per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: u32,
    /// One more request allowed every `per`.
    pub per: Duration,
}

impl Rate {
    /// `burst` at once, then one per `per`.
    pub const fn new(burst: u32, per: Duration) -> Rate {
        Rate { burst, per }
    }
}

/// The layer on every unauthenticated route (`/openapi.json`, `/v1/smartphone/*`): one bucket
/// per client address (when the server passes `ConnectInfo`) and one per bearer key sent (its
/// hash), at [`Config::public_rate`](crate::Config::public_rate), by the wall clock. Over the
/// limit: 429 `application/problem+json` with `Retry-After`.
pub(crate) async fn public_limit(
    axum::extract::State(a): axum::extract::State<std::sync::Arc<crate::Authority>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let now = OffsetDateTime::now_utc();
    let address = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| format!("address/{}", c.0.ip()));
    let key = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| format!("key/{}", hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes()))));
    for bucket in address.iter().chain(key.iter()) {
        if let Err(after) = a.public_limit.check(bucket, now) {
            return crate::AuthorityError::TooManyRequests(after).into_response();
        }
    }
    next.run(request).await
}

/// Token buckets per key.
#[derive(Debug)]
pub(crate) struct Limiter {
    rate: Rate,
    max_keys: usize,
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    by_key: HashMap<String, (f64, OffsetDateTime)>,
    /// When the full map was last swept for refilled buckets: at most one sweep (a walk over
    /// `max_keys` entries) a second, so a flood of new keys cannot make every request pay it.
    swept: Option<OffsetDateTime>,
}

impl Limiter {
    pub(crate) fn new(rate: Rate, max_keys: usize) -> Limiter {
        Limiter { rate, max_keys: max_keys.max(1), buckets: Mutex::new(Buckets::default()) }
    }

    fn refilled(&self, tokens: f64, since: OffsetDateTime, now: OffsetDateTime) -> f64 {
        let per = self.rate.per.as_secs_f64();
        let gained = if per > 0.0 { ((now - since).as_seconds_f64() / per).max(0.0) } else { f64::INFINITY };
        (tokens + gained).min(f64::from(self.rate.burst))
    }

    /// Takes a token for `key` at `now`; `Err(retry_after)` when there is none.
    pub(crate) fn check(&self, key: &str, now: OffsetDateTime) -> Result<(), Duration> {
        let burst = f64::from(self.rate.burst);
        let mut guard = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Buckets { by_key: buckets, swept } = &mut *guard;
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            if swept.is_none_or(|t| now - t >= time::Duration::SECOND) {
                buckets.retain(|_, (tokens, at)| self.refilled(*tokens, *at, now) < burst);
                *swept = Some(now);
            }
            if buckets.len() >= self.max_keys {
                return Err(self.rate.per);
            }
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((burst, now));
        let available = self.refilled(*tokens, *at, now);
        if available >= 1.0 {
            *tokens = available - 1.0;
            *at = now;
            Ok(())
        } else {
            *tokens = available;
            *at = now;
            Err(self.rate.per.mul_f64(1.0 - available))
        }
    }

    /// Buckets held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).by_key.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_bucket_empties_and_refills_by_the_clock() {
        let l = Limiter::new(Rate::new(2, Duration::from_secs(10)), 100);
        let t0 = datetime!(2026-04-01 00:00 UTC);
        assert!(l.check("a", t0).is_ok());
        assert!(l.check("a", t0).is_ok());
        assert_eq!(l.check("a", t0), Err(Duration::from_secs(10)));
        // Another key is not affected.
        assert!(l.check("b", t0).is_ok());
        assert!(l.check("a", t0 + time::Duration::seconds(10)).is_ok());
        assert!(l.check("a", t0 + time::Duration::seconds(10)).is_err());
    }

    #[test]
    fn memory_is_bounded_and_idle_buckets_are_dropped() {
        let l = Limiter::new(Rate::new(1, Duration::from_secs(10)), 3);
        let t0 = datetime!(2026-04-01 00:00 UTC);
        for k in ["a", "b", "c"] {
            assert!(l.check(k, t0).is_ok());
        }
        // Full, none refilled: a new key waits.
        assert!(l.check("d", t0).is_err());
        assert_eq!(l.len(), 3);
        // Once they have refilled they carry nothing and make room.
        assert!(l.check("d", t0 + time::Duration::seconds(10)).is_ok());
        assert!(l.len() <= 3);
    }
}
