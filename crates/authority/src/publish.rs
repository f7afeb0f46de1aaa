//! CRL publication (shared/spec/20-pki.md §3 "Publication": the **full** list, regenerated
//! **daily**, only for registered verifiers).
//!
//! One complete CRL per CA generation, signed by that generation's CA key, written atomically to
//! `<data_dir>/crl/<kind>-<generation>.crl` (a static file any CDN can serve), its number and
//! window kept in the `crl_state` table. [`task`] republishes every 24 hours by the authority's
//! clock; `POST /v1/admin/crl` publishes at once. Verifiers list the CRLs with `GET /v1/crl` and
//! download one with `GET /v1/crl/{kind}/{generation}` (streamed, with `ETag`,
//! `Last-Modified`, `Cache-Control` and conditional requests). See
//! `docs/authority-publication.md`.
//!
//! The storage this needs beyond the register ([`PublicationStore`]) — paged CRL entries, the
//! `crl_state` rows, the OCSP status of one serial and the tip of the change feed — is also used
//! by the OCSP responder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_pki::crl::{daily_window, CrlBuilder, CrlEntry};
use hanko_pki::time::macros::format_description;
use hanko_pki::time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use hanko_pki::{CaKind, CrlReason, Revocation, Serial};
use hanko_store::sqlx::{self, Row};
use hanko_store::{write_atomic, StoreError};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::AuthorityError;
use crate::meter::Billable;
use crate::register::{from_ts, serial_of, ts, SqlStore};
use crate::verifiers::{Caller, OperatorCaller};
use crate::Authority;

/// Entries fetched from the register per query while building a CRL: the only per-entry
/// `Serial`/`CrlEntry` values alive at once (the builder packs each into 24 bytes).
pub const CRL_PAGE: usize = 50_000;

/// What one publication did: the CRLs published, and the generations that failed (skipped).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CrlPublication {
    /// The CRLs published.
    pub published: Vec<PublishedCrl>,
    /// The generations whose CRL could not be published.
    pub failed: Vec<CrlFailure>,
    /// Revocations whose stored reason a JPKI CRL cannot carry (removeFromCRL, … — left by an
    /// older version or a hand edit): listed as `unspecified`, so the certificate stays revoked
    /// and the CRL is still published, and reported here, in the log and in `failures_total`.
    pub listed_as_unspecified: Vec<CrlRepair>,
}

/// A revocation published with reason `unspecified` because its stored reason is not one a JPKI
/// revocation can have (see [`crate::REVOCATION_REASONS`]).
#[derive(Debug, Clone, Serialize)]
pub struct CrlRepair {
    /// `signature` or `auth`.
    #[serde(serialize_with = "kind_str")]
    pub kind: CaKind,
    /// CA generation id.
    pub generation: String,
    /// The certificate's serial (hex).
    pub serial: String,
    /// The reason code found in the register.
    pub stored_reason: u8,
}

impl CrlPublication {
    fn failure_summary(&self) -> String {
        let names: Vec<String> =
            self.failed.iter().map(|f| format!("{}-{}: {}", f.kind.as_str(), f.generation, f.error)).collect();
        format!("{} CRL(s) not published ({})", self.failed.len(), names.join("; "))
    }
}

/// A generation whose CRL could not be published.
#[derive(Debug, Clone, Serialize)]
pub struct CrlFailure {
    /// `signature` or `auth`.
    #[serde(serialize_with = "kind_str")]
    pub kind: CaKind,
    /// CA generation id.
    pub generation: String,
    /// Why (also in the log).
    pub error: String,
}

/// How a verifier names a CRL: `<kind>-<generation>` and the CRL number, e.g.
/// `"signature-2026-7"` (a strong validator: one number, one body).
fn etag(kind: CaKind, generation: &str, number: u64) -> String {
    format!("\"{}-{generation}-{number}\"", kind.as_str())
}

/// The `crl_state` row of one CA generation: the CRL last published for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlState {
    /// Signature or auth CA.
    pub ca_kind: CaKind,
    /// CA generation id.
    pub generation: String,
    /// cRLNumber.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// How many certificates it lists.
    pub entries: u64,
}

/// Where the next page of CRL entries starts: after this (revocation time, serial) key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlCursor {
    revoked_at: i64,
    serial: String,
}

/// What the register says about one serial, for an OCSP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateState {
    /// The issuing CA.
    pub ca_kind: CaKind,
    /// The issuing CA generation.
    pub generation: String,
    /// `false` while the serial is only reserved (no certificate was signed).
    pub issued: bool,
    /// The revocation, once revoked.
    pub revocation: Option<Revocation>,
}

/// Storage of publication (CRL and OCSP) beyond the register's own trait.
#[async_trait]
pub trait PublicationStore: Send + Sync {
    /// Up to `limit` revoked certificates of a CA generation whose certificate is still valid at
    /// `valid_at` (notAfter ≥ `valid_at`), ordered by revocation time and serial, after
    /// `after`; and the cursor of the next page (`None` when this was the last).
    ///
    /// Revocations are never lifted or changed, so paging by this key sees every revocation
    /// committed before the first page was read, whatever commits meanwhile.
    async fn crl_page(
        &self,
        ca_kind: CaKind,
        generation: &str,
        valid_at: OffsetDateTime,
        after: Option<&CrlCursor>,
        limit: usize,
    ) -> Result<(Vec<CrlEntry>, Option<CrlCursor>), StoreError>;
    /// Every `crl_state` row.
    async fn crl_states(&self) -> Result<Vec<CrlState>, StoreError>;
    /// Inserts or replaces the `crl_state` row of `state`'s generation.
    async fn save_crl_state(&self, state: &CrlState) -> Result<(), StoreError>;
    /// What the register says about `serial` (`None`: never even reserved).
    async fn certificate_state(&self, serial: &Serial) -> Result<Option<CertificateState>, StoreError>;
    /// The highest sequence number of the change feed (0 when empty).
    async fn last_change(&self) -> Result<i64, StoreError>;
}

fn ca_kind_of(s: &str) -> Result<CaKind, StoreError> {
    parse_kind(s).ok_or_else(|| StoreError::Corrupt(format!("CA kind {s:?}")))
}

fn parse_kind(s: &str) -> Option<CaKind> {
    match s {
        "signature" => Some(CaKind::Signature),
        "auth" => Some(CaKind::Auth),
        _ => None,
    }
}

fn reason_of(r: i64) -> Result<CrlReason, StoreError> {
    u8::try_from(r).map(CrlReason).map_err(|_| StoreError::Corrupt(format!("reason {r}")))
}

fn number_of(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("CRL number {n}")))
}

#[async_trait]
impl PublicationStore for SqlStore {
    async fn crl_page(
        &self,
        ca_kind: CaKind,
        generation: &str,
        valid_at: OffsetDateTime,
        after: Option<&CrlCursor>,
        limit: usize,
    ) -> Result<(Vec<CrlEntry>, Option<CrlCursor>), StoreError> {
        let (after_at, after_serial) = after.map_or((i64::MIN, ""), |c| (c.revoked_at, c.serial.as_str()));
        // The partial index certificates_revoked (ca_kind, generation, revoked_at) serves both
        // the filter and the order.
        let rows = sqlx::query(
            "SELECT serial, revoked_at, reason FROM certificates WHERE ca_kind = $1 AND generation = $2 \
             AND revoked_at IS NOT NULL AND not_after >= $3 \
             AND (revoked_at > $4 OR (revoked_at = $4 AND serial > $5)) \
             ORDER BY revoked_at, serial LIMIT $6",
        )
        .bind(ca_kind.as_str())
        .bind(generation)
        .bind(ts(valid_at))
        .bind(after_at)
        .bind(after_serial)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in &rows {
            let serial: String = r.try_get("serial")?;
            let at: i64 = r.try_get("revoked_at")?;
            entries.push(CrlEntry {
                serial: serial_of(&serial)?,
                revoked_at: from_ts(at)?,
                reason: reason_of(r.try_get("reason")?)?,
            });
            last = Some(CrlCursor { revoked_at: at, serial });
        }
        let next = if rows.len() < limit { None } else { last };
        Ok((entries, next))
    }

    async fn crl_states(&self) -> Result<Vec<CrlState>, StoreError> {
        let rows = sqlx::query(
            "SELECT ca_kind, generation, number, this_update, next_update, entries FROM crl_state \
             ORDER BY ca_kind, generation",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CrlState {
                    ca_kind: ca_kind_of(&r.try_get::<String, _>("ca_kind")?)?,
                    generation: r.try_get("generation")?,
                    number: number_of(r.try_get("number")?)?,
                    this_update: from_ts(r.try_get("this_update")?)?,
                    next_update: from_ts(r.try_get("next_update")?)?,
                    entries: number_of(r.try_get("entries")?)?,
                })
            })
            .collect()
    }

    async fn save_crl_state(&self, s: &CrlState) -> Result<(), StoreError> {
        let big = |n: u64| i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} out of range")));
        sqlx::query(
            "INSERT INTO crl_state (ca_kind, generation, number, this_update, next_update, entries) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ca_kind, generation) DO UPDATE SET \
             number = excluded.number, this_update = excluded.this_update, next_update = excluded.next_update, \
             entries = excluded.entries",
        )
        .bind(s.ca_kind.as_str())
        .bind(&s.generation)
        .bind(big(s.number)?)
        .bind(ts(s.this_update))
        .bind(ts(s.next_update))
        .bind(big(s.entries)?)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn certificate_state(&self, serial: &Serial) -> Result<Option<CertificateState>, StoreError> {
        let row = sqlx::query(
            "SELECT ca_kind, generation, CASE WHEN der IS NULL THEN 0 ELSE 1 END AS issued, revoked_at, reason \
             FROM certificates WHERE serial = $1",
        )
        .bind(serial.to_string())
        .fetch_optional(self.db.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let revoked_at: Option<i64> = r.try_get("revoked_at")?;
        let reason: Option<i64> = r.try_get("reason")?;
        Ok(Some(CertificateState {
            ca_kind: ca_kind_of(&r.try_get::<String, _>("ca_kind")?)?,
            generation: r.try_get("generation")?,
            issued: r.try_get::<i64, _>("issued")? != 0,
            revocation: match (revoked_at, reason) {
                (Some(at), Some(reason)) => Some(Revocation { revoked_at: from_ts(at)?, reason: reason_of(reason)? }),
                _ => None,
            },
        }))
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM changes").fetch_one(self.db.pool()).await?;
        Ok(v.unwrap_or(0))
    }
}

/// One published CRL, as `GET /v1/crl` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedCrl {
    /// `signature` or `auth`.
    #[serde(serialize_with = "kind_str")]
    pub kind: CaKind,
    /// CA generation id.
    pub generation: String,
    /// cRLNumber.
    pub crl_number: u64,
    /// thisUpdate (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    /// nextUpdate (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub next_update: OffsetDateTime,
    /// How many certificates it lists.
    pub entries: u64,
    /// Where to download it (a path on this authority): `/v1/crl/<kind>/<generation>`.
    pub url: String,
}

fn kind_str<S: serde::Serializer>(k: &CaKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

impl From<CrlState> for PublishedCrl {
    fn from(s: CrlState) -> PublishedCrl {
        PublishedCrl {
            url: format!("/v1/crl/{}/{}", s.ca_kind.as_str(), s.generation),
            kind: s.ca_kind,
            generation: s.generation,
            crl_number: s.number,
            this_update: s.this_update,
            next_update: s.next_update,
            entries: s.entries,
        }
    }
}

/// The file a generation's CRL is published to: `<data_dir>/crl/<kind>-<generation>.crl`.
pub(crate) fn crl_path(data_dir: &Path, kind: CaKind, generation: &str) -> PathBuf {
    data_dir.join("crl").join(format!("{}-{generation}.crl", kind.as_str()))
}

/// Runs CPU- or disk-heavy work without stalling the runtime's other tasks (on a
/// multi-threaded runtime; a current-thread runtime simply runs it).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Holds `<data_dir>/crl/.lock` (an OS file lock) while CRLs are numbered and written, so two
/// publications — the daily task and `POST /v1/admin/crl`, or two processes sharing the data
/// directory — never interleave and a file never goes back to an older number.
async fn lock_publication(dir: PathBuf) -> Result<std::fs::File, AuthorityError> {
    let path = dir.join(".lock");
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| AuthorityError::io("creating", &dir, e))?;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| AuthorityError::io("opening", &path, e))?;
        f.lock().map_err(|e| AuthorityError::io("locking", &path, e))?;
        Ok(f)
    })
    .await
    .map_err(|e| AuthorityError::Pki(format!("publication lock task: {e}")))?
}

impl Authority {
    /// Publishes a complete CRL for every CA generation now and returns what was published.
    ///
    /// For each generation: the cRLNumber comes from the persisted counter `crl/<kind>/<gen>`,
    /// taken **before** anything is written, so a number is never reused, even after a crash
    /// (a crash only leaves a gap); thisUpdate = now by the authority's clock, nextUpdate = 24 h
    /// later ([`daily_window`]); the entries are the generation's revoked certificates **whose
    /// certificate has not expired at thisUpdate** — an expired certificate can no longer be
    /// presented, so listing it would only grow the national CRL (RFC 5280 §3.3 lets a CA drop
    /// it). Signed by the generation's CA key, written atomically to
    /// `<data_dir>/crl/<kind>-<gen>.crl`, then recorded in `crl_state`.
    ///
    /// The entries are read from the committed register in pages of [`CRL_PAGE`]: every
    /// revocation acknowledged before the call is listed. Memory: the CRL builder's 24 bytes per
    /// entry plus the encoded CRL (~43 bytes per entry) — about 1.3 GB for 20 million entries;
    /// never a full row per entry.
    ///
    /// One generation that cannot be published (a corrupt register row, a missing key) never
    /// stops the others: use [`Authority::publish_crls_report`] to see which failed. This call
    /// publishes every generation it can and then answers an error naming the ones it could not.
    pub async fn publish_crls(&self) -> Result<Vec<PublishedCrl>, AuthorityError> {
        let report = self.publish_crls_report().await?;
        match report.failed.is_empty() {
            true => Ok(report.published),
            false => Err(AuthorityError::Pki(report.failure_summary())),
        }
    }

    /// Publishes a complete CRL for every CA generation now (as [`Authority::publish_crls`]),
    /// reporting each generation that failed instead of stopping: the failure is logged, counted
    /// in [`Authority::crl_failures`] and skipped, and the other generations are published.
    pub async fn publish_crls_report(&self) -> Result<CrlPublication, AuthorityError> {
        self.publish_where(|_, _| true).await
    }

    /// How many CRL publications of one generation have failed since this authority started
    /// (a counter, exposed by `GET /v1/admin/crl` as `failures_total`).
    pub fn crl_failures(&self) -> u64 {
        self.crl_failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn publish_where(&self, wanted: impl Fn(CaKind, &str) -> bool) -> Result<CrlPublication, AuthorityError> {
        let dir = self.config.data_dir.join("crl");
        let _lock = lock_publication(dir).await?;
        let generations: Vec<(CaKind, String)> = self
            .cas()?
            .all()
            .iter()
            .map(|g| (g.ca.kind(), g.id.clone()))
            .filter(|(kind, id)| wanted(*kind, id))
            .collect();
        let (this_update, next_update) = daily_window(self.clock.now());
        let mut report = CrlPublication::default();
        for (kind, id) in generations {
            match self.publish_one(kind, &id, this_update, next_update).await {
                Ok((p, repairs)) => {
                    self.metrics.crl_publication(kind, true);
                    let repaired = u64::try_from(repairs.len()).unwrap_or(u64::MAX);
                    self.crl_failures.fetch_add(repaired, std::sync::atomic::Ordering::Relaxed);
                    report.published.push(p);
                    report.listed_as_unspecified.extend(repairs);
                }
                Err(e) => {
                    self.metrics.crl_publication(kind, false);
                    self.crl_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!(kind = kind.as_str(), generation = %id, error = %e,
                        "publishing this generation's CRL failed; the other generations are published");
                    report.failed.push(CrlFailure { kind, generation: id, error: e.to_string() });
                }
            }
        }
        Ok(report)
    }

    async fn publish_one(
        &self,
        kind: CaKind,
        id: &str,
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Result<(PublishedCrl, Vec<CrlRepair>), AuthorityError> {
        let number = self.store.next_counter(&format!("crl/{}/{id}", kind.as_str())).await?;
        let number = u64::try_from(number).map_err(|_| AuthorityError::Pki(format!("CRL number {number}")))?;
        let mut builder = CrlBuilder::new(number, this_update, next_update);
        let mut cursor = None;
        let mut repairs = Vec::new();
        loop {
            let (page, next) = self.store.crl_page(kind, id, this_update, cursor.as_ref(), CRL_PAGE).await?;
            let page = page.into_iter().map(|mut e| {
                if !crate::REVOCATION_REASONS.contains(&e.reason) {
                    tracing::error!(kind = kind.as_str(), generation = %id, serial = %e.serial, reason = e.reason.0,
                        "a revocation's stored reason cannot be listed in a JPKI CRL: listed as unspecified");
                    repairs.push(CrlRepair {
                        kind,
                        generation: id.to_owned(),
                        serial: e.serial.to_string(),
                        stored_reason: e.reason.0,
                    });
                    e.reason = CrlReason::UNSPECIFIED;
                }
                e
            });
            builder = builder.with_entries(page);
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let entries = builder.len() as u64;
        let path = crl_path(&self.config.data_dir, kind, id);
        blocking(|| -> Result<(), AuthorityError> {
            let der = {
                let cas = self.cas()?;
                let g = cas.get(kind, id).ok_or(AuthorityError::NoCa(kind))?;
                builder.sign(&g.ca)?
            };
            write_atomic(&path, &der, 0o644).map_err(|e| AuthorityError::io("writing", &path, e))
        })?;
        let state = CrlState { ca_kind: kind, generation: id.to_owned(), number, this_update, next_update, entries };
        self.store.save_crl_state(&state).await?;
        tracing::info!(kind = kind.as_str(), generation = %state.generation, number, entries, "CRL published");
        Ok((PublishedCrl::from(state), repairs))
    }

    /// The CRLs published so far (the `crl_state` rows).
    pub async fn published_crls(&self) -> Result<Vec<PublishedCrl>, AuthorityError> {
        Ok(self.store.crl_states().await?.into_iter().map(PublishedCrl::from).collect())
    }

    /// The generations whose CRL is due: no CRL (row or file), or its nextUpdate has come.
    async fn crls_due(&self) -> Result<Vec<(CaKind, String)>, AuthorityError> {
        let states = self.store.crl_states().await?;
        let now = self.clock.now();
        let generations: Vec<(CaKind, String)> =
            self.cas()?.all().iter().map(|g| (g.ca.kind(), g.id.clone())).collect();
        Ok(generations
            .into_iter()
            .filter(|(kind, id)| match states.iter().find(|s| s.ca_kind == *kind && s.generation == *id) {
                None => true,
                Some(s) => now >= s.next_update || !crl_path(&self.config.data_dir, *kind, id).exists(),
            })
            .collect())
    }
}

/// The daily CRL schedule (runs until the process ends): publishes at once when a generation
/// has no CRL or its nextUpdate has passed by the authority's clock, then checks every second
/// and republishes when the clock passes the last thisUpdate + 24 h (nextUpdate). After a
/// failure it waits a minute before trying again.
pub(crate) async fn task(authority: Arc<Authority>) {
    loop {
        let pause = match authority.crls_due().await {
            Ok(due) if due.is_empty() => StdDuration::from_secs(1),
            // Only the due generations: one that keeps failing is retried alone, the others
            // keep their daily rhythm (and their CRL numbers).
            Ok(due) => match authority.publish_where(|k, id| due.iter().any(|(dk, did)| *dk == k && did == id)).await {
                Ok(report) if report.failed.is_empty() => StdDuration::from_secs(1),
                Ok(report) => {
                    tracing::error!(
                        failed = report.failed.len(),
                        "some CRLs were not published; retrying them in a minute"
                    );
                    StdDuration::from_secs(60)
                }
                Err(e) => {
                    tracing::error!(error = %e, "publishing the CRLs failed; retrying in a minute");
                    StdDuration::from_secs(60)
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "checking the CRL schedule failed");
                StdDuration::from_secs(60)
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// Whether `role` may fetch CRLs of `kind` (signature verifiers the signature CA's, user
/// authentication verifiers the auth CA's, platforms both).
fn may_fetch(caller: &Caller, kind: CaKind) -> bool {
    match kind {
        CaKind::Signature => caller.verifier.role.checks_signatures(),
        CaKind::Auth => caller.verifier.role.checks_auth(),
    }
}

async fn post_crl(State(a): State<Arc<Authority>>, _: OperatorCaller) -> Result<Json<Value>, AuthorityError> {
    let report = a.publish_crls_report().await?;
    Ok(Json(
        json!({"crls": report.published, "failed": report.failed, "listed_as_unspecified": report.listed_as_unspecified, "failures_total": a.crl_failures()}),
    ))
}

async fn get_crl_status(State(a): State<Arc<Authority>>, _: OperatorCaller) -> Result<Json<Value>, AuthorityError> {
    Ok(Json(json!({"crls": a.published_crls().await?, "failures_total": a.crl_failures()})))
}

async fn list_crls(State(a): State<Arc<Authority>>, caller: Caller) -> Result<Json<Value>, AuthorityError> {
    let crls: Vec<PublishedCrl> =
        a.published_crls().await?.into_iter().filter(|c| may_fetch(&caller, c.kind)).collect();
    Ok(Json(json!({"crls": crls})))
}

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
const HTTP_DATE: &[time::format_description::FormatItem<'static>] =
    format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");

fn http_date(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).format(HTTP_DATE).unwrap_or_default()
}

fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s.trim(), HTTP_DATE).ok().map(PrimitiveDateTime::assume_utc)
}

/// RFC 9110 §13.1.2: `If-None-Match` matches with the weak comparison (`W/` ignored); `*`
/// matches any current representation.
fn none_match(headers: &HeaderMap, tag: &str) -> Option<bool> {
    let values: Vec<&str> = headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return None;
    }
    Some(values.iter().flat_map(|v| v.split(',')).map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == tag))
}

async fn get_crl(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    UrlPath((kind, generation)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AuthorityError> {
    let kind = parse_kind(&kind).ok_or_else(|| AuthorityError::not_found("CRL kind", &kind))?;
    if !may_fetch(&caller, kind) {
        return Err(AuthorityError::Forbidden(format!(
            "a {} verifier does not get {} CRLs",
            caller.verifier.role.as_str(),
            kind.as_str()
        )));
    }
    let missing = || AuthorityError::not_found("CRL", format!("{}/{generation}", kind.as_str()));
    // The row is read before the file is opened, and the publisher writes the file before the
    // row: the body served is never older than the ETag, so a client's cached copy is never
    // kept for a number it does not hold.
    let state = a
        .store
        .crl_states()
        .await?
        .into_iter()
        .find(|s| s.ca_kind == kind && s.generation == generation)
        .ok_or_else(missing)?;
    let tag = etag(kind, &generation, state.number);
    let now = a.clock.now();
    let max_age = (state.next_update - now).whole_seconds().max(0);
    let mut out = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.insert(name, v);
        }
    };
    put(header::ETAG, tag.clone());
    put(header::LAST_MODIFIED, http_date(state.this_update));
    put(header::CACHE_CONTROL, format!("private, max-age={max_age}"));
    let not_modified = match none_match(&headers, &tag) {
        Some(matched) => matched,
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .is_some_and(|since| state.this_update <= since),
    };
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    let path = crl_path(&a.config.data_dir, kind, &generation);
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(AuthorityError::io("opening", &path, e)),
    };
    let len = file.metadata().await.map_err(|e| AuthorityError::io("reading", &path, e))?.len();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pkix-crl"));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    a.meter(&caller, Billable::CrlDownload);
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024));
    Ok((StatusCode::OK, out, body).into_response())
}

/// `POST /v1/admin/crl`, `GET /v1/crl`, `GET /v1/crl/{kind}/{generation}`.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
        .route("/v1/admin/crl", post(post_crl).get(get_crl_status))
        .route("/v1/crl", get(list_crls))
        .route("/v1/crl/{kind}/{generation}", get(get_crl))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hanko_pki::time::macros::datetime;

    #[test]
    fn http_dates_round_trip() {
        let t = datetime!(1994-11-06 08:49:37 UTC);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        let mut h = HeaderMap::new();
        assert_eq!(none_match(&h, "\"a-1\""), None);
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"a-1\""));
        assert_eq!(none_match(&h, "\"a-1\""), Some(true));
        assert_eq!(none_match(&h, "\"a-2\""), Some(false));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert_eq!(none_match(&h, "\"a-2\""), Some(true));
    }
}
