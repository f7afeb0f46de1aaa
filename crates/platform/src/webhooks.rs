//! Webhooks: each tenant's endpoint URL and signing secret, and the delivery of monitoring
//! events from a persistent outbox (the `monitoring_events` rows).
//!
//! **At least once.** An event is stored before anything is sent and marked delivered only after
//! the receiver answered 2xx; a delivery is claimed with a lease (5 minutes), so a node killed
//! mid-delivery leaves the event to be sent again — with the same id — once the lease runs out.
//! A failed attempt (no answer, a non-2xx status) is retried with exponential backoff
//! (`Config::webhook_backoff`, doubling, capped at 6 hours) up to `Config::webhook_max_attempts`,
//! then marked `failed`, visible in `GET /v1/webhook/deliveries` and re-queued by
//! `POST /v1/webhook/deliveries/{id}/retry`. Receivers deduplicate on the event id.
//!
//! **Signed the Standard Webhooks way** (<https://www.standardwebhooks.com>): headers
//! `webhook-id` (the event id), `webhook-timestamp` (Unix seconds) and `webhook-signature:
//! v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where the key is the base64 after
//! `whsec_` in the secret (shown once by `PUT /v1/webhook`). docs/platform.md shows how to verify.
//!
//! **SSRF guard.** Only `http`/`https` URLs without credentials; redirects are not followed. In
//! the production environment a URL naming a loopback, private, link-local or otherwise
//! non-public IP address, or `localhost`, is refused; the sandbox (test environment) allows them
//! so that SPs can develop against a local receiver. In production a name must resolve to public
//! addresses only — checked when the URL is set and again at each delivery, which connects to
//! exactly the addresses checked (no DNS rebinding).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lc_rs::hmac;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use rand_core::{OsRng, RngCore};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::{from_ts, ts, SqlStore};
use crate::tenants::{AdminCaller, SpCaller, Tenant};
use crate::verify::rfc3339;
use crate::{Environment, Platform};

/// How long a claimed delivery is another node's to leave alone.
const LEASE: time::Duration = time::Duration::minutes(5);
/// The longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// Deliveries claimed per batch (sent concurrently).
const BATCH: i64 = 32;
/// Batches per delivery pass.
const MAX_BATCHES: usize = 64;
/// The longest webhook URL.
const MAX_URL: usize = 2048;
/// Most deliveries listed.
const MAX_LIST: i64 = 1000;

/// A tenant's webhook endpoint.
#[derive(Clone)]
pub struct Webhook {
    /// Where events are POSTed.
    pub url: String,
    /// `whsec_<base64 key>`.
    pub secret: String,
    /// When it was set.
    pub created_at: OffsetDateTime,
}

/// A stored event and its delivery state.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// `evt_…`: the webhook id and the receiver's idempotency key.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user.
    pub user_id: String,
    /// `facts_changed` …
    pub kind: String,
    /// When it was seen.
    pub created_at: OffsetDateTime,
    /// The webhook body.
    pub body: Vec<u8>,
    /// The latest facts are still to be fetched.
    pub facts_pending: bool,
    /// `pending`, `delivered`, `failed`.
    pub delivery: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: OffsetDateTime,
    /// The receiver's last HTTP status.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<OffsetDateTime>,
}

impl EventRow {
    fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "user_id": self.user_id,
            "created_at": rfc3339(self.created_at),
            "status": self.delivery,
            "attempts": self.attempts,
            "next_attempt_at": (self.delivery == "pending").then(|| rfc3339(self.next_attempt_at)),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "delivered_at": self.delivered_at.map(rfc3339),
        })
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// 2xx.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Anything else; retried at `next` unless `last`.
    Failed {
        /// The status, when the receiver answered.
        status: Option<u16>,
        /// Why.
        error: String,
        /// When to try again.
        next: OffsetDateTime,
        /// No more attempts: mark it failed.
        last: bool,
    },
}

/// The storage of webhooks and of the outbox.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Sets (replaces) a tenant's endpoint.
    async fn set_webhook(&self, tenant_id: &str, url: &str, secret: &str, at: OffsetDateTime)
        -> Result<(), StoreError>;
    /// A tenant's endpoint.
    async fn webhook(&self, tenant_id: &str) -> Result<Option<Webhook>, StoreError>;
    /// Removes a tenant's endpoint; `false` when it had none.
    async fn delete_webhook(&self, tenant_id: &str) -> Result<bool, StoreError>;
    /// Ids of pending events due at `now`, not leased, of tenants with an endpoint.
    async fn due_events(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<String>, StoreError>;
    /// Claims a due event until `until`; `false` when another node has it.
    async fn claim_event(&self, id: &str, now: OffsetDateTime, until: OffsetDateTime) -> Result<bool, StoreError>;
    /// One event.
    async fn event(&self, id: &str) -> Result<Option<EventRow>, StoreError>;
    /// Replaces an event's type and body once its latest facts are fetched.
    async fn complete_event(&self, id: &str, kind: &str, body: &[u8]) -> Result<(), StoreError>;
    /// Records an attempt (and releases the claim).
    async fn record_attempt(
        &self,
        id: &str,
        attempts: i64,
        attempt: &Attempt,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// A tenant's events (not the folded ones), newest first, optionally of one status.
    async fn events(&self, tenant_id: &str, status: Option<&str>, limit: i64) -> Result<Vec<EventRow>, StoreError>;
    /// Re-queues a failed event of the tenant; `false` when there is none.
    async fn requeue_event(&self, tenant_id: &str, id: &str, now: OffsetDateTime) -> Result<bool, StoreError>;
    /// The undelivered events of tenants with an endpoint, of every tenant: (pending, failed).
    async fn webhook_backlog(&self) -> Result<(i64, i64), StoreError>;
}

fn event_row(r: &sqlx::any::AnyRow) -> Result<EventRow, StoreError> {
    Ok(EventRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        kind: r.try_get("type")?,
        created_at: from_ts(r.try_get("created_at")?)?,
        body: r.try_get("body")?,
        facts_pending: r.try_get::<i64, _>("facts_pending")? != 0,
        delivery: r.try_get("delivery")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: from_ts(r.try_get("next_attempt_at")?)?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        delivered_at: r.try_get::<Option<i64>, _>("delivered_at")?.map(from_ts).transpose()?,
    })
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn set_webhook(
        &self,
        tenant_id: &str,
        url: &str,
        secret: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhooks (tenant_id, url, secret, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, \
             created_at = excluded.created_at",
        )
        .bind(tenant_id)
        .bind(url)
        .bind(secret)
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn webhook(&self, tenant_id: &str) -> Result<Option<Webhook>, StoreError> {
        sqlx::query("SELECT url, secret, created_at FROM webhooks WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(self.db.pool())
            .await?
            .map(|r| {
                Ok(Webhook {
                    url: r.try_get("url")?,
                    secret: r.try_get("secret")?,
                    created_at: from_ts(r.try_get("created_at")?)?,
                })
            })
            .transpose()
    }

    async fn delete_webhook(&self, tenant_id: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1").bind(tenant_id).execute(self.db.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn due_events(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<String>, StoreError> {
        sqlx::query(
            "SELECT e.id FROM monitoring_events e JOIN webhooks w ON w.tenant_id = e.tenant_id \
             WHERE e.delivery = 'pending' AND e.next_attempt_at <= $1 \
             AND (e.lease_until IS NULL OR e.lease_until <= $1) ORDER BY e.next_attempt_at, e.id LIMIT $2",
        )
        .bind(ts(now))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| Ok(r.try_get("id")?))
        .collect()
    }

    async fn claim_event(&self, id: &str, now: OffsetDateTime, until: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE monitoring_events SET lease_until = $1 WHERE id = $2 AND delivery = 'pending' \
             AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)",
        )
        .bind(ts(until))
        .bind(id)
        .bind(ts(now))
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn event(&self, id: &str) -> Result<Option<EventRow>, StoreError> {
        sqlx::query("SELECT * FROM monitoring_events WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(event_row)
            .transpose()
    }

    async fn complete_event(&self, id: &str, kind: &str, body: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE monitoring_events SET type = $1, body = $2, facts_pending = 0 WHERE id = $3")
            .bind(kind)
            .bind(body)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn record_attempt(
        &self,
        id: &str,
        attempts: i64,
        attempt: &Attempt,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (delivery, status, error, next, delivered) = match attempt {
            Attempt::Delivered { status } => ("delivered", Some(i64::from(*status)), None, at, Some(ts(at))),
            Attempt::Failed { status, error, next, last } => {
                (if *last { "failed" } else { "pending" }, status.map(i64::from), Some(error.clone()), *next, None)
            }
        };
        sqlx::query(
            "UPDATE monitoring_events SET delivery = $1, attempts = $2, next_attempt_at = $3, lease_until = NULL, \
             last_status = $4, last_error = $5, delivered_at = $6 WHERE id = $7 AND delivery = 'pending'",
        )
        .bind(delivery)
        .bind(attempts)
        .bind(ts(next))
        .bind(status)
        .bind(error)
        .bind(delivered)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn events(&self, tenant_id: &str, status: Option<&str>, limit: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = match status {
            Some(s) => {
                sqlx::query(
                    "SELECT * FROM monitoring_events WHERE tenant_id = $1 AND delivery = $2 \
                     ORDER BY created_at DESC, id LIMIT $3",
                )
                .bind(tenant_id)
                .bind(s)
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT * FROM monitoring_events WHERE tenant_id = $1 AND delivery <> 'folded' \
                     ORDER BY created_at DESC, id LIMIT $2",
                )
                .bind(tenant_id)
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?
            }
        };
        rows.iter().map(event_row).collect()
    }

    async fn requeue_event(&self, tenant_id: &str, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE monitoring_events SET delivery = 'pending', attempts = 0, next_attempt_at = $1, \
             lease_until = NULL WHERE id = $2 AND tenant_id = $3 AND delivery = 'failed'",
        )
        .bind(ts(now))
        .bind(id)
        .bind(tenant_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn webhook_backlog(&self) -> Result<(i64, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT e.delivery, COUNT(*) AS n FROM monitoring_events e JOIN webhooks w ON w.tenant_id = e.tenant_id \
             WHERE e.delivery IN ('pending', 'failed') GROUP BY e.delivery",
        )
        .fetch_all(self.db.reader())
        .await?;
        let (mut pending, mut failed) = (0, 0);
        for r in rows {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<String, _>("delivery")?.as_str() {
                "pending" => pending = n,
                _ => failed = n,
            }
        }
        Ok((pending, failed))
    }
}

/// The `webhook-signature` value of a delivery: `v1,<base64 HMAC-SHA256>` over
/// `"{id}.{timestamp}.{body}"` with the key in `secret` (`whsec_<base64>`).
pub fn sign_webhook(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, PlatformError> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| B64.decode(k).ok())
        .ok_or_else(|| PlatformError::Pki("a webhook secret is whsec_<base64>".into()))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(format!("{id}.{timestamp}.").as_bytes());
    ctx.update(body);
    Ok(format!("v1,{}", B64.encode(ctx.sign().as_ref())))
}

fn new_secret() -> String {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    format!("whsec_{}", B64.encode(key))
}

/// Checks a webhook URL (the SSRF guard; see the module documentation).
pub(crate) fn check_url(url: &str, environment: Environment) -> Result<reqwest::Url, PlatformError> {
    let bad = |why: &str| PlatformError::Invalid(format!("webhook url: {why}"));
    if url.len() > MAX_URL {
        return Err(bad("longer than 2048 characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("only http and https URLs are delivered to"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials in the URL are refused; verify the signature instead"));
    }
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?;
    if environment == Environment::Production {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            if !is_public(ip) {
                return Err(bad("a loopback, private or link-local address is not a public endpoint"));
            }
        } else {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                return Err(bad("localhost is not a public address"));
            }
        }
    }
    Ok(parsed)
}

/// The addresses `url`'s host resolves to, when every one is public (production's SSRF guard:
/// a name that resolves to a private, loopback or link-local address is refused, and delivery
/// connects to the address checked here, so a DNS answer that changes afterwards is not
/// followed).
async fn resolve_public(url: &reqwest::Url) -> Result<Vec<std::net::SocketAddr>, String> {
    let host = url.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<std::net::SocketAddr> =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| "the host name did not resolve in time".to_owned())?
            .map_err(|_| "the host name does not resolve".to_owned())?
            .collect();
    if addrs.is_empty() {
        return Err("the host name does not resolve".into());
    }
    if let Some(a) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!("the host resolves to {}, which is not a public address", a.ip()));
    }
    Ok(addrs)
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // protocol assignments 192.0.0.0/24
                || o[0] >= 240)
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = a.segments();
            let o = a.octets();
            let v4 = |b: &[u8]| IpAddr::V4(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]));
            // The forms that carry an IPv4 address reach it: IPv4-compatible (::/96), NAT64
            // (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056).
            if s[..6] == [0; 6] && !a.is_loopback() && !a.is_unspecified() {
                return is_public(v4(&o[12..16]));
            }
            // NAT64's local-use prefix (64:ff9b:1::/48, RFC 8215) reaches a site's own IPv4.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
                return false;
            }
            // NAT64 (64:ff9b::/96) and SIIT's IPv4-translated addresses (::ffff:0:0:0/96).
            if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
                return is_public(v4(&o[12..16]));
            }
            if s[0] == 0x2002 {
                return is_public(v4(&o[2..6]));
            }
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed inside sites)
                || s[..4] == [0x100, 0, 0, 0] // discard-only (RFC 6666)
                || (s[0] == 0x2001 && s[1] == 0xdb8)) // documentation
        }
    }
}

/// The client webhooks are POSTed with: HTTP/1.1 over TCP, or over TLS (rustls with aws-lc)
/// for `https`, trusting the system's CA bundle and `Config::webhook_ca`. It never follows a
/// redirect (an SSRF guard), connects within 5 s and waits 10 s for the answer.
pub(crate) struct WebhookClient {
    tls: Arc<rustls::ClientConfig>,
    /// Production: connect only to public addresses (see [`resolve_public`]).
    public_only: bool,
}

/// Where the system's CA bundle is looked for (`SSL_CERT_FILE` first): Debian/Ubuntu/Alpine,
/// Fedora/RHEL, openSUSE, and the like.
const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn pem_certificates(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(path).and_then(|it| it.collect::<Result<_, _>>()).map_err(|e| e.to_string())
}

impl WebhookClient {
    pub(crate) fn new(extra_ca: Option<&std::path::Path>, public_only: bool) -> Result<WebhookClient, PlatformError> {
        let mut roots = rustls::RootCertStore::empty();
        let system = std::env::var_os("SSL_CERT_FILE")
            .map(std::path::PathBuf::from)
            .into_iter()
            .chain(CA_BUNDLES.iter().map(std::path::PathBuf::from))
            .find(|p| p.is_file());
        if let Some(bundle) = system {
            match pem_certificates(&bundle) {
                Ok(certs) => {
                    roots.add_parsable_certificates(certs);
                }
                Err(e) => tracing::warn!(bundle = %bundle.display(), error = %e, "system CA bundle not read"),
            }
        }
        if let Some(path) = extra_ca {
            let bad = |e: String| PlatformError::Invalid(format!("webhook CA file {}: {e}", path.display()));
            let certs = pem_certificates(path).map_err(bad)?;
            if certs.is_empty() {
                return Err(bad("holds no certificate".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| bad(e.to_string()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PlatformError::Pki(format!("TLS set-up: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(WebhookClient { tls: Arc::new(tls), public_only })
    }

    /// POSTs `body` to `url` with `headers`; the receiver's status, or why there is none.
    async fn post(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<u16, String> {
        let url = reqwest::Url::parse(url).map_err(|_| "malformed URL".to_owned())?;
        let host = url.host_str().ok_or_else(|| "no host".to_owned())?.to_owned();
        let port = url.port_or_known_default().ok_or_else(|| "no port".to_owned())?;
        let connect_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let connect = async {
            if self.public_only {
                // Resolved and checked now, connected to exactly what was checked.
                let addrs = resolve_public(&url).await?;
                tokio::net::TcpStream::connect(&addrs[..]).await.map_err(|_| "could not connect".to_owned())
            } else {
                tokio::net::TcpStream::connect((connect_host.as_str(), port))
                    .await
                    .map_err(|_| "could not connect".to_owned())
            }
        };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect).await.map_err(|_| "timed out".to_owned())??;
        let _ = tcp.set_nodelay(true);
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path = format!("{path}?{q}");
        }
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut request = hyper::Request::post(path).header(hyper::header::HOST, authority);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .header(hyper::header::CONTENT_LENGTH, body.len())
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .map_err(|_| "malformed request".to_owned())?;
        if url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(connect_host).map_err(|_| "bad host name".to_owned())?;
            let tls = tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, tcp),
            )
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|_| "TLS failed (is the receiver's certificate trusted?)".to_owned())?;
            exchange(tls, request).await
        } else {
            exchange(tcp, request).await
        }
    }
}

/// How long connecting (and the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the receiver may take to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP/1.1 request on `io`; the status.
async fn exchange<S>(io: S, request: hyper::Request<http_body_util::Full<hyper::body::Bytes>>) -> Result<u16, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|_| "transport error".to_owned())?;
    /// Stops the connection task however the exchange ends (also when it is dropped).
    struct Driver(tokio::task::JoinHandle<Result<(), hyper::Error>>);
    impl Drop for Driver {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _driver = Driver(tokio::spawn(connection));
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, sender.send_request(request)).await;
    match answer {
        Err(_) => Err("timed out".to_owned()),
        Ok(Err(_)) => Err("transport error".to_owned()),
        Ok(Ok(response)) => Ok(response.status().as_u16()),
    }
}

/// What a delivery pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryReport {
    /// Delivered (2xx).
    pub delivered: usize,
    /// Attempts that failed (to be retried, or marked failed).
    pub failed: usize,
    /// Events marked failed for good in this pass.
    pub gave_up: usize,
}

impl Platform {
    /// Sets a tenant's webhook endpoint with a new signing secret (returned once).
    pub async fn set_webhook(&self, tenant: &Tenant, url: &str) -> Result<Value, PlatformError> {
        let parsed = check_url(url, self.config.environment)?;
        if self.config.environment == Environment::Production {
            resolve_public(&parsed).await.map_err(|e| PlatformError::Invalid(format!("webhook url: {e}")))?;
        }
        let secret = new_secret();
        let now = self.clock.now();
        self.store.set_webhook(&tenant.id, parsed.as_str(), &secret, now).await?;
        Ok(json!({"url": parsed.as_str(), "secret": secret, "created_at": rfc3339(now)}))
    }

    /// Sends every due event (claimed with a lease, concurrently per batch).
    pub async fn deliver_webhooks(self: &Arc<Self>) -> Result<DeliveryReport, PlatformError> {
        let mut report = DeliveryReport::default();
        for _ in 0..MAX_BATCHES {
            let now = self.clock.now();
            let due = self.store.due_events(now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            let mut tasks = tokio::task::JoinSet::new();
            for id in due {
                if !self.store.claim_event(&id, now, now + LEASE).await? {
                    continue;
                }
                let platform = self.clone();
                tasks.spawn(async move { platform.deliver_one(&id).await });
            }
            if tasks.is_empty() {
                break;
            }
            while let Some(done) = tasks.join_next().await {
                match done {
                    Ok(Ok(Attempt::Delivered { .. })) => {
                        report.delivered += 1;
                        self.metrics.webhook_attempt("delivered");
                    }
                    Ok(Ok(Attempt::Failed { last, .. })) => {
                        report.failed += 1;
                        report.gave_up += usize::from(last);
                        self.metrics.webhook_attempt(if last { "gave_up" } else { "failed" });
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "webhook delivery"),
                    Err(e) => tracing::warn!(error = %e, "webhook delivery task"),
                }
            }
        }
        Ok(report)
    }

    /// One attempt of a claimed event.
    async fn deliver_one(&self, id: &str) -> Result<Attempt, PlatformError> {
        let mut event = self.store.event(id).await?.ok_or_else(|| PlatformError::not_found("event", id))?;
        let tenant = self
            .store
            .tenant(&event.tenant_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("event of missing tenant {}", event.tenant_id)))?;
        let attempts = event.attempts + 1;
        let now = self.clock.now();
        let result = match self.store.webhook(&tenant.id).await? {
            None => Err((None, "no webhook endpoint".to_owned())),
            Some(hook) => match self.prepare(&tenant, &mut event).await {
                Err(e) => Err((None, format!("latest facts: {e}"))),
                Ok(()) => self.post(&hook, &event, now).await,
            },
        };
        let attempt = match result {
            Ok(status) => Attempt::Delivered { status },
            Err((status, error)) => {
                let exp = u32::try_from(attempts - 1).unwrap_or(u32::MAX).min(20);
                let delay = self.config.webhook_backoff.saturating_mul(1 << exp).min(MAX_BACKOFF);
                Attempt::Failed {
                    status,
                    error,
                    next: now + delay,
                    last: attempts >= i64::from(self.config.webhook_max_attempts),
                }
            }
        };
        self.store.record_attempt(id, attempts, &attempt, now).await?;
        if matches!(attempt, Attempt::Delivered { .. }) {
            self.forget_facts(&event).await?;
        }
        if let Attempt::Failed { error, last, .. } = &attempt {
            tracing::info!(event = id, attempts, last, error = %error, "webhook attempt failed");
        }
        Ok(attempt)
    }

    /// Fetches the latest facts an event is waiting for and stores the completed body (once:
    /// a retry does not ask, nor pay, again).
    async fn prepare(&self, tenant: &Tenant, event: &mut EventRow) -> Result<(), PlatformError> {
        if !event.facts_pending {
            return Ok(());
        }
        let mut body: Value =
            serde_json::from_slice(&event.body).map_err(|e| StoreError::Corrupt(format!("event body: {e}")))?;
        match self.latest_facts(tenant, &event.user_id).await {
            Ok(answer) => {
                body["data"]["latest_facts"] = answer["facts"].clone();
                if body["type"] == "affiliation_changed" {
                    body["type"] = json!("facts_changed");
                    body["data"]["meaning"] = json!(crate::monitoring::EventType::FactsChanged.meaning());
                }
            }
            Err(PlatformError::Refused { code, detail, .. }) => {
                if matches!(code, "deceased" | "emigrated") {
                    body["type"] = json!("death_or_emigration");
                    body["data"]["meaning"] = json!(crate::monitoring::EventType::DeathOrEmigration.meaning());
                }
                body["data"]["latest_facts_error"] = json!({"code": code, "detail": detail});
            }
            Err(e) => return Err(e),
        }
        let kind = body["type"].as_str().unwrap_or(&event.kind).to_owned();
        let bytes = serde_json::to_vec(&body).map_err(|e| PlatformError::Pki(e.to_string()))?;
        self.store.complete_event(&event.id, &kind, &bytes).await?;
        event.kind = kind;
        event.body = bytes;
        event.facts_pending = false;
        Ok(())
    }

    /// Once delivered, the customer's facts are not kept in the outbox (a delivered event is
    /// never sent again): the stored body says they were delivered instead.
    async fn forget_facts(&self, event: &EventRow) -> Result<(), PlatformError> {
        let Ok(mut body) = serde_json::from_slice::<Value>(&event.body) else { return Ok(()) };
        if body["data"]["latest_facts"].is_null() {
            return Ok(());
        }
        body["data"]["latest_facts"] = Value::Null;
        body["data"]["latest_facts_delivered"] = json!(true);
        let bytes = serde_json::to_vec(&body).map_err(|e| PlatformError::Pki(e.to_string()))?;
        self.store.complete_event(&event.id, &event.kind, &bytes).await?;
        Ok(())
    }

    async fn post(&self, hook: &Webhook, event: &EventRow, now: OffsetDateTime) -> Result<u16, (Option<u16>, String)> {
        let timestamp = now.unix_timestamp();
        let signature =
            sign_webhook(&hook.secret, &event.id, timestamp, &event.body).map_err(|e| (None, e.to_string()))?;
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("user-agent", concat!("hanko-platform/", env!("CARGO_PKG_VERSION")).to_owned()),
            ("webhook-id", event.id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        let status = self.webhook_http.post(&hook.url, &headers, event.body.clone()).await.map_err(|e| (None, e))?;
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err((Some(status), format!("the receiver answered {status}")))
        }
    }
}

/// Delivers due events every `Config::webhook_poll`.
pub(crate) async fn task(platform: Arc<Platform>) {
    loop {
        if let Err(e) = platform.deliver_webhooks().await {
            tracing::warn!(error = %e, "webhook delivery pass failed");
        }
        tokio::time::sleep(platform.config.webhook_poll).await;
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookIn {
    url: String,
}

async fn put_webhook(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(body): Json<WebhookIn>,
) -> Result<Json<Value>, PlatformError> {
    Ok(Json(platform.set_webhook(&tenant, &body.url).await?))
}

async fn put_tenant_webhook(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
    Path(id): Path<String>,
    Json(body): Json<WebhookIn>,
) -> Result<Json<Value>, PlatformError> {
    let tenant = platform.store.tenant(&id).await?.ok_or_else(|| PlatformError::not_found("tenant", &id))?;
    Ok(Json(platform.set_webhook(&tenant, &body.url).await?))
}

async fn get_webhook(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
) -> Result<Json<Value>, PlatformError> {
    let hook = platform
        .store
        .webhook(&tenant.id)
        .await?
        .ok_or_else(|| PlatformError::not_found("webhook", "of this tenant"))?;
    Ok(Json(json!({"url": hook.url, "created_at": rfc3339(hook.created_at)})))
}

async fn delete_webhook(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
) -> Result<StatusCode, PlatformError> {
    if !platform.store.delete_webhook(&tenant.id).await? {
        return Err(PlatformError::not_found("webhook", "of this tenant"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DeliveriesQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

async fn list_deliveries(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<Value>, PlatformError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(PlatformError::Invalid(format!("limit must be 1–{MAX_LIST}")));
    }
    if let Some(s) = &q.status {
        if !matches!(s.as_str(), "pending" | "delivered" | "failed") {
            return Err(PlatformError::Invalid("status must be pending, delivered or failed".into()));
        }
    }
    let list = platform.store.events(&tenant.id, q.status.as_deref(), limit).await?;
    Ok(Json(json!({"deliveries": list.iter().map(EventRow::summary).collect::<Vec<_>>()})))
}

async fn tenant_event(platform: &Platform, tenant: &Tenant, id: &str) -> Result<EventRow, PlatformError> {
    platform
        .store
        .event(id)
        .await?
        .filter(|e| e.tenant_id == tenant.id && e.delivery != "folded")
        .ok_or_else(|| PlatformError::not_found("delivery", id))
}

async fn get_delivery(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    let e = tenant_event(&platform, &tenant, &id).await?;
    let mut out = e.summary();
    out["event"] = serde_json::from_slice(&e.body).unwrap_or(Value::Null);
    Ok(Json(out))
}

async fn post_retry(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    let e = tenant_event(&platform, &tenant, &id).await?;
    if !platform.store.requeue_event(&tenant.id, &id, platform.clock.now()).await? {
        return Err(PlatformError::Conflict(format!("delivery {id} is {}, not failed", e.delivery)));
    }
    let e = tenant_event(&platform, &tenant, &id).await?;
    Ok(Json(e.summary()))
}

async fn post_deliver(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
) -> Result<Json<DeliveryReport>, PlatformError> {
    Ok(Json(platform.deliver_webhooks().await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/webhook", put(put_webhook).get(get_webhook).delete(delete_webhook))
        .route("/v1/webhook/deliveries", get(list_deliveries))
        .route("/v1/webhook/deliveries/{id}", get(get_delivery))
        .route("/v1/webhook/deliveries/{id}/retry", post(post_retry))
        .route("/v1/admin/tenants/{id}/webhook", put(put_tenant_webhook))
        .route("/v1/admin/webhooks/deliver", post(post_deliver))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn webhook_urls_are_http_or_https_and_public_in_production() {
        for bad in ["ftp://example.com/x", "file:///etc/passwd", "gopher://x", "http://user:pw@example.com/", "nope"] {
            assert!(check_url(bad, Environment::Test).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9000/hook", Environment::Test).is_ok());
        for private in [
            "http://127.0.0.1/",
            "http://localhost:8080/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
        ] {
            assert!(check_url(private, Environment::Production).is_err(), "{private}");
        }
        assert!(check_url("https://hooks.example.com/jpki", Environment::Production).is_ok());
        assert!(check_url("https://203.0.113.9/", Environment::Production).is_err(), "documentation range");
    }

    #[test]
    fn the_signature_is_standard_webhooks_v1() {
        // The Standard Webhooks reference vector (standard-webhooks/standard-webhooks, spec tests).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = 1614265330;
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(sign_webhook(secret, id, ts, body).unwrap(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
