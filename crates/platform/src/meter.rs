//! Metering per SP: the authority's billable events the platform causes for each tenant,
//! mirrored under the authority's names and fees (docs/authority-services.md "Fees and the
//! meter"), and the platform's own verification counts, per JST calendar month.
//!
//! | kind | what | yen |
//! |---|---|---|
//! | `signature-check` | OCSP check of a signature certificate | 20; 0 before `Config::ocsp_free_until` |
//! | `auth-check` | OCSP check of a user-authentication certificate | 2; 0 before `Config::ocsp_free_until` |
//! | `corresponding-serial` | a corresponding-serial lookup | 2 |
//! | `latest-facts` | latest-4-facts records returned (count = records) | 20 each |
//! | `latest-facts-not-obtainable` | asked, nothing returned (`meter(t, "latest-facts", 0)`) | 0 |
//! | `crl-download` | a CRL download (the platform's own line, tenant `-`) | 0 |
//! | `successor-lookup` | old → new serial linkage | 0 |
//! | `status-check-reported` | serials reported to the authority's 現況確認 count (the authority counts persons once a year and does not say which were new, so its `status-check` line cannot be mirrored) | 0 |
//! | `verification.<kind>.<RESULT>` | the platform's own verifications by kind and result | 0 |
//!
//! **Buffering**, as the authority does it: [`Platform::meter`] adds to an in-memory table (one
//! short mutex section, no I/O — safe on the verification path); [`task`] flushes it every
//! second, and [`Platform::flush_meter`] at shutdown and before a report, in one transaction of
//! additive upserts (`count = meter.count + excluded.count`), so several nodes flush into one
//! database. A failed flush puts its counts back. A node killed without a shutdown loses at most
//! its last second of counts — never counts twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::SqlStore;
use crate::tenants::{AdminCaller, SpCaller, Tenant};
use crate::Platform;

/// The meter's tenant id of the platform's own lines (CRL downloads).
pub const PLATFORM_LINE: &str = "-";

/// Fee of a signature-certificate validity check (OCSP), yen.
pub const SIGNATURE_CHECK_YEN: u64 = 20;
/// Fee of a user-authentication-certificate validity check (OCSP), yen.
pub const AUTH_CHECK_YEN: u64 = 2;
/// Fee of a corresponding-serial lookup, yen.
pub const CORRESPONDING_SERIAL_YEN: u64 = 2;
/// Fee per latest-4-facts record returned, yen.
pub const LATEST_FACTS_YEN: u64 = 20;

/// Longest kind name accepted by [`Platform::meter`].
const MAX_KIND_LEN: usize = 80;

/// Something that names a tenant: its id, or the tenant.
pub trait TenantRef {
    /// The tenant id.
    fn tenant_id(&self) -> &str;
}
impl TenantRef for str {
    fn tenant_id(&self) -> &str {
        self
    }
}
impl TenantRef for String {
    fn tenant_id(&self) -> &str {
        self
    }
}
impl TenantRef for Tenant {
    fn tenant_id(&self) -> &str {
        &self.id
    }
}
impl<T: TenantRef + ?Sized> TenantRef for &T {
    fn tenant_id(&self) -> &str {
        (**self).tenant_id()
    }
}

/// The JST calendar month (`YYYY-MM`) of `at`.
pub fn jst_month(at: OffsetDateTime) -> String {
    let d = (at + time::Duration::hours(9)).date();
    format!("{:04}-{:02}", d.year(), d.month() as u8)
}

/// One line of the meter: what one tenant used of one kind in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeterLine {
    /// JST month, `YYYY-MM`.
    pub month: String,
    /// The tenant (`-`: the platform's own line).
    pub tenant_id: String,
    /// Its SP事業者ID (`-` for the platform's own line).
    pub sp_id: String,
    /// Its サービスID (`-` for the platform's own line).
    pub service_id: String,
    /// What (see the module documentation).
    pub kind: String,
    /// How many.
    pub count: u64,
    /// Fees the authority charges for them, yen.
    pub yen: u64,
}

/// One tenant's total in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeterTotal {
    /// The tenant.
    pub tenant_id: String,
    /// Its SP事業者ID.
    pub sp_id: String,
    /// Its サービスID.
    pub service_id: String,
    /// Fees, yen.
    pub yen: u64,
}

/// The meter of one month.
#[derive(Debug, Clone, Serialize)]
pub struct MeterReport {
    /// JST month, `YYYY-MM`.
    pub month: String,
    /// Lines by tenant and kind.
    pub lines: Vec<MeterLine>,
    /// Totals per tenant.
    pub totals: Vec<MeterTotal>,
    /// Grand total, yen.
    pub total_yen: u64,
}

/// Storage of the meter.
#[async_trait]
pub trait MeterStore: Send + Sync {
    /// Adds `lines` (`sp_id`/`service_id` ignored) with additive upserts, in one transaction.
    async fn add_meter(&self, lines: &[MeterLine]) -> Result<(), StoreError>;
    /// The lines of a month (of one tenant, or all), ordered by tenant and kind.
    async fn meter_lines(&self, month: &str, tenant_id: Option<&str>) -> Result<Vec<MeterLine>, StoreError>;
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[async_trait]
impl MeterStore for SqlStore {
    async fn add_meter(&self, lines: &[MeterLine]) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        for l in lines {
            sqlx::query(
                "INSERT INTO meter (month, tenant_id, kind, count, yen) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (month, tenant_id, kind) \
                 DO UPDATE SET count = meter.count + excluded.count, yen = meter.yen + excluded.yen",
            )
            .bind(&l.month)
            .bind(&l.tenant_id)
            .bind(&l.kind)
            .bind(to_i64(l.count))
            .bind(to_i64(l.yen))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn meter_lines(&self, month: &str, tenant_id: Option<&str>) -> Result<Vec<MeterLine>, StoreError> {
        let sql = "SELECT m.month, m.tenant_id, m.kind, m.count, m.yen, t.sp_id, t.service_id \
                   FROM meter m LEFT JOIN tenants t ON t.id = m.tenant_id \
                   WHERE m.month = $1 AND ($2 = '' OR m.tenant_id = $2) ORDER BY m.tenant_id, m.kind";
        let rows = sqlx::query(sql).bind(month).bind(tenant_id.unwrap_or("")).fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(MeterLine {
                    month: r.try_get("month")?,
                    tenant_id: r.try_get("tenant_id")?,
                    sp_id: r.try_get::<Option<String>, _>("sp_id")?.unwrap_or_else(|| PLATFORM_LINE.into()),
                    service_id: r.try_get::<Option<String>, _>("service_id")?.unwrap_or_else(|| PLATFORM_LINE.into()),
                    kind: r.try_get("kind")?,
                    count: to_u64(r.try_get("count")?),
                    yen: to_u64(r.try_get("yen")?),
                })
            })
            .collect()
    }
}

type Key = (String, String, String);

/// Buffered meter counts (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct MeterBuffer {
    pending: Mutex<HashMap<Key, (u64, u64)>>,
    /// Held for a whole flush, so that [`Platform::flush_meter`] returns only after every count
    /// recorded before it was called is in the database.
    flushing: tokio::sync::Mutex<()>,
}

impl MeterBuffer {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (u64, u64)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, key: Key, count: u64, yen: u64) {
        let mut pending = self.pending();
        let e = pending.entry(key).or_default();
        e.0 = e.0.saturating_add(count);
        e.1 = e.1.saturating_add(yen);
    }
}

/// Checks a month `YYYY-MM`.
fn check_month(month: &str) -> Result<(), PlatformError> {
    let b = month.as_bytes();
    let ok = b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(month[5..].parse::<u8>(), Ok(1..=12));
    if ok {
        Ok(())
    } else {
        Err(PlatformError::Invalid(format!(
            "month must be YYYY-MM, not {:?}",
            month.chars().take(20).collect::<String>()
        )))
    }
}

impl Platform {
    /// The kind and fee of `count` events of `kind` now (see the module documentation).
    fn price(&self, kind: &str, count: u64) -> (String, u64, u64) {
        let waived = self.clock.now() < self.config.ocsp_free_until;
        match kind {
            "signature-check" => {
                (kind.into(), count, if waived { 0 } else { count.saturating_mul(SIGNATURE_CHECK_YEN) })
            }
            "auth-check" => (kind.into(), count, if waived { 0 } else { count.saturating_mul(AUTH_CHECK_YEN) }),
            "corresponding-serial" => (kind.into(), count, count.saturating_mul(CORRESPONDING_SERIAL_YEN)),
            "latest-facts" if count == 0 => ("latest-facts-not-obtainable".into(), 1, 0),
            "latest-facts" => (kind.into(), count, count.saturating_mul(LATEST_FACTS_YEN)),
            _ => (kind.into(), count, 0),
        }
    }

    /// Records `count` events of `kind` for `tenant` (a tenant id or a [`Tenant`]) — the
    /// authority's kind names: `corresponding-serial`, `latest-facts` (count = records
    /// returned; 0 counts one `latest-facts-not-obtainable`), `signature-check`, `auth-check`,
    /// `successor-lookup`; the platform's own (`status-check-reported`, `verification.…`) at 0
    /// yen; fees as the authority charges them. Buffered: never
    /// blocks on I/O. A kind outside `[a-z0-9._-]`, or longer than 80, is logged and dropped.
    pub fn meter(&self, tenant: impl TenantRef, kind: &str, count: u64) {
        if kind.is_empty()
            || kind.len() > MAX_KIND_LEN
            || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            tracing::error!(kind = %kind.chars().take(MAX_KIND_LEN).collect::<String>(), "meter kind refused");
            return;
        }
        let (kind, count, yen) = self.price(kind, count);
        let month = jst_month(self.clock.now());
        self.meter.add((month, tenant.tenant_id().to_owned(), kind), count, yen);
    }

    /// Records the platform's own events (CRL downloads), on the line of tenant `-`.
    pub(crate) fn meter_platform(&self, kind: &str, count: u64) {
        self.meter(PLATFORM_LINE, kind, count);
    }

    /// Writes the buffered meter counts. When it returns `Ok`, every event recorded before the
    /// call is in the database; on an error the counts stay buffered for the next flush.
    pub async fn flush_meter(&self) -> Result<(), PlatformError> {
        let _flushing = self.meter.flushing.lock().await;
        let taken = std::mem::take(&mut *self.meter.pending());
        if taken.is_empty() {
            return Ok(());
        }
        let lines: Vec<MeterLine> = taken
            .iter()
            .map(|((month, tenant_id, kind), (count, yen))| MeterLine {
                month: month.clone(),
                tenant_id: tenant_id.clone(),
                sp_id: String::new(),
                service_id: String::new(),
                kind: kind.clone(),
                count: *count,
                yen: *yen,
            })
            .collect();
        if let Err(e) = self.store.add_meter(&lines).await {
            for (k, (c, y)) in taken {
                self.meter.add(k, c, y);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// The meter of a JST month (`YYYY-MM`; all tenants, or one), after flushing this node's
    /// buffer.
    pub async fn meter_report(&self, month: &str, tenant_id: Option<&str>) -> Result<MeterReport, PlatformError> {
        check_month(month)?;
        self.flush_meter().await?;
        let lines = self.store.meter_lines(month, tenant_id).await?;
        let mut totals: Vec<MeterTotal> = Vec::new();
        for l in &lines {
            match totals.last_mut() {
                Some(t) if t.tenant_id == l.tenant_id => t.yen = t.yen.saturating_add(l.yen),
                _ => totals.push(MeterTotal {
                    tenant_id: l.tenant_id.clone(),
                    sp_id: l.sp_id.clone(),
                    service_id: l.service_id.clone(),
                    yen: l.yen,
                }),
            }
        }
        let total_yen = totals.iter().map(|t| t.yen).fold(0u64, u64::saturating_add);
        Ok(MeterReport { month: month.to_owned(), lines, totals, total_yen })
    }
}

/// Flushes the meter every second (until the process ends).
pub(crate) async fn task(platform: Arc<Platform>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Err(e) = platform.flush_meter().await {
            tracing::warn!(error = %e, "meter flush failed; the counts stay buffered");
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthQuery {
    month: Option<String>,
}

async fn get_meter(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Query(q): Query<MonthQuery>,
) -> Result<Json<MeterReport>, PlatformError> {
    let month = q.month.unwrap_or_else(|| jst_month(platform.clock.now()));
    Ok(Json(platform.meter_report(&month, Some(&tenant.id)).await?))
}

async fn get_admin_meter(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
    Query(q): Query<MonthQuery>,
) -> Result<Json<MeterReport>, PlatformError> {
    let month = q.month.unwrap_or_else(|| jst_month(platform.clock.now()));
    Ok(Json(platform.meter_report(&month, None).await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new().route("/v1/meter", get(get_meter)).route("/v1/admin/meter", get(get_admin_meter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_checked() {
        assert!(check_month("2026-04").is_ok());
        for bad in ["2026-4", "2026-13", "2026-00", "202604", "2026/04", "abcd-ef", "2026-04x"] {
            assert!(check_month(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_month_is_jst() {
        use time::macros::datetime;
        assert_eq!(jst_month(datetime!(2026-03-31 14:59 UTC)), "2026-03");
        assert_eq!(jst_month(datetime!(2026-03-31 15:00 UTC)), "2026-04");
    }
}
