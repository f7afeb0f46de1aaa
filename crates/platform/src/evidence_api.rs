//! The SP's own verifications (the VerificationService's Search and Delete): a paged search
//! over the caller's evidence records, and deleting one — its content is emptied as the
//! retention purge does, its leaf hash stays, so the evidence log stays verifiable and the
//! deletion itself is visible (`purged_at`).

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, Query, State};
use axum::Json;
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::{from_ts, ts, SqlStore};
use crate::tenants::SpCaller;
use crate::Platform;

/// Records per page at most (50 by default).
pub const MAX_EVIDENCE_PAGE: i64 = 200;

/// Log positions one page looks through at most: a search that matches little answers after
/// this many of the caller's… positions with `next` to go on from, so one request never walks a
/// whole log.
pub const MAX_EVIDENCE_SCAN: i64 = 10_000;

/// The filters of `GET /v1/evidence`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// Only this user's.
    pub user_id: Option<String>,
    /// Only this result (`OK`, `SIGNATURE_MISMATCH` …).
    pub result: Option<String>,
    /// Only this kind (`signature`, `cms`, `pdf`, `sign-result`, `authentication` …).
    pub kind: Option<String>,
    /// From this time (RFC 3339, inclusive).
    pub from: Option<String>,
    /// Until this time (RFC 3339, exclusive).
    pub to: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<i64>,
    /// Records per page (1–200, default 50).
    pub limit: Option<i64>,
}

/// One record in a search answer (without its content: fetch it by id).
#[derive(Debug, Serialize)]
pub struct EvidenceSummary {
    /// Its id.
    pub id: String,
    /// Its position in the log.
    pub seq: i64,
    /// What was verified.
    pub kind: String,
    /// The result code.
    pub result: String,
    /// The user id.
    pub user_id: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was emptied (deleted by the SP or purged after the retention period).
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub purged_at: Option<OffsetDateTime>,
}

/// The storage of the SP's search and delete.
#[async_trait]
pub trait EvidenceSearchStore: Send + Sync {
    /// Up to `limit` records of `tenant_id` in the positions `(after, until]` matching `q`'s
    /// equality filters and the time range `[from, to)`, oldest first.
    async fn search_evidence(
        &self,
        tenant_id: &str,
        q: &EvidenceQuery,
        range: (Option<i64>, Option<i64>),
        until: i64,
        limit: i64,
    ) -> Result<Vec<EvidenceSummary>, StoreError>;
    /// Empties record `id` of `tenant_id` (leaf hash kept); `false` when there is none to empty.
    async fn empty_evidence(&self, tenant_id: &str, id: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
}

#[async_trait]
impl EvidenceSearchStore for SqlStore {
    async fn search_evidence(
        &self,
        tenant_id: &str,
        q: &EvidenceQuery,
        (from, to): (Option<i64>, Option<i64>),
        until: i64,
        limit: i64,
    ) -> Result<Vec<EvidenceSummary>, StoreError> {
        // One statement, every filter optional; a range scan of the (tenant_id, seq) index, or of
        // (tenant_id, user_id, seq) for a user, bounded by `until`. On the read-only connections
        // (SQLite's one writer stays free for the appends).
        let rows = sqlx::query(
            "SELECT id, seq, kind, result, user_id, created_at, purged_at FROM evidence \
             WHERE tenant_id = $1 AND seq > $2 AND seq <= $9 \
             AND ($3 IS NULL OR user_id = $3) AND ($4 IS NULL OR result = $4) AND ($5 IS NULL OR kind = $5) \
             AND ($6 IS NULL OR created_at >= $6) AND ($7 IS NULL OR created_at < $7) \
             ORDER BY seq LIMIT $8",
        )
        .bind(tenant_id)
        .bind(q.after.unwrap_or(-1))
        .bind(q.user_id.as_deref())
        .bind(q.result.as_deref())
        .bind(q.kind.as_deref())
        .bind(from)
        .bind(to)
        .bind(limit)
        .bind(until)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let purged: Option<i64> = r.try_get("purged_at")?;
                Ok(EvidenceSummary {
                    id: r.try_get("id")?,
                    seq: r.try_get("seq")?,
                    kind: r.try_get("kind")?,
                    result: r.try_get("result")?,
                    user_id: r.try_get("user_id")?,
                    created_at: from_ts(r.try_get("created_at")?)?,
                    purged_at: purged.map(from_ts).transpose()?,
                })
            })
            .collect()
    }

    async fn empty_evidence(&self, tenant_id: &str, id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE evidence SET record = $1, purged_at = $2 WHERE id = $3 AND tenant_id = $4 AND purged_at IS NULL",
        )
        .bind(Vec::<u8>::new())
        .bind(ts(at))
        .bind(id)
        .bind(tenant_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn time_param(name: &str, s: Option<&str>) -> Result<Option<i64>, PlatformError> {
    s.map(|s| {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(ts)
            .map_err(|_| PlatformError::Invalid(format!("{name} must be an RFC 3339 time")))
    })
    .transpose()
}

fn short(name: &str, s: &Option<String>) -> Result<(), PlatformError> {
    match s {
        Some(v) if v.is_empty() || v.len() > 64 || v.chars().any(char::is_control) => {
            Err(PlatformError::Invalid(format!("{name} must be 1–64 characters, no control characters")))
        }
        _ => Ok(()),
    }
}

impl Platform {
    /// One page of `tenant_id`'s evidence records matching `q`, oldest first, and the `next`
    /// position to ask for (none on the last page).
    pub async fn search_evidence(&self, tenant_id: &str, q: &EvidenceQuery) -> Result<Value, PlatformError> {
        short("user_id", &q.user_id)?;
        short("result", &q.result)?;
        short("kind", &q.kind)?;
        let limit = q.limit.unwrap_or(50);
        if !(1..=MAX_EVIDENCE_PAGE).contains(&limit) {
            return Err(PlatformError::Invalid(format!("limit must be 1 to {MAX_EVIDENCE_PAGE}")));
        }
        let range = (time_param("from", q.from.as_deref())?, time_param("to", q.to.as_deref())?);
        let after = q.after.unwrap_or(-1).max(-1);
        let until = after.saturating_add(MAX_EVIDENCE_SCAN);
        let records = self.store.search_evidence(tenant_id, q, range, until, limit).await?;
        // A full page goes on after its last record; a short one after the scanned window, unless
        // the window reached the end of the log.
        let next = if records.len() as i64 == limit {
            records.last().map(|r| r.seq)
        } else if until < i64::try_from(self.store.log().log_size().await?).unwrap_or(i64::MAX).saturating_sub(1) {
            Some(until)
        } else {
            None
        };
        Ok(json!({"records": records, "next": next}))
    }

    /// Deletes `tenant_id`'s evidence record `id`: its content is emptied, its leaf hash stays.
    /// Deleting it again answers the same.
    pub async fn delete_evidence(&self, tenant_id: &str, id: &str) -> Result<Value, PlatformError> {
        if !self.store.empty_evidence(tenant_id, id, self.clock.now()).await? {
            // Unknown or another tenant's: 404 (as a read would answer); deleted before: the same
            // answer again.
            let record = self.tenant_evidence(tenant_id, id).await?;
            if record.purged_at.is_none() {
                return Err(PlatformError::Conflict("the record changed while it was deleted; try again".into()));
            }
        }
        tracing::info!(tenant = %tenant_id, evidence = %id, "evidence record emptied by its SP (leaf hash kept)");
        Ok(json!({"id": id, "deleted": true}))
    }
}

pub(crate) async fn search(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Query(q): Query<EvidenceQuery>,
) -> Result<Json<Value>, PlatformError> {
    Ok(Json(platform.search_evidence(&tenant.id, &q).await?))
}

pub(crate) async fn delete(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    Ok(Json(platform.delete_evidence(&tenant.id, &id).await?))
}
