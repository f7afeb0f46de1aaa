//! Evidence (証跡): every verification the platform answers is kept as a record an auditor can
//! re-check — the hashes, the signature, the certificate, the revocation data used, the time, the
//! result and the SP — in one append-only sequence shared by every node.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::{from_ts, ts, SqlStore};
use crate::tenants::SpCaller;
use crate::Platform;

/// A record to append: what was verified and the answer.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    /// The tenant it was verified for.
    pub tenant_id: String,
    /// `signature`, `cms`, `pdf`, `jwe`, `authentication` …
    pub kind: &'static str,
    /// The result code (`OK`, `SIGNATURE_MISMATCH` …).
    pub result: String,
    /// The tenant's user id, when the certificate was valid.
    pub user_id: Option<String>,
    /// The record itself (canonical JSON: inputs in base64, revocation evidence, result).
    pub record: Value,
    /// When.
    pub at: OffsetDateTime,
}

/// A stored record.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceRecord {
    /// Its id (`ev-…`).
    pub id: String,
    /// Its position in the log (0-based).
    pub seq: i64,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: String,
    /// `signature`, `cms` …
    pub kind: String,
    /// The result code.
    pub result: String,
    /// The user id.
    pub user_id: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The record (the bytes that were logged, as JSON).
    pub record: Value,
}

/// The storage of evidence.
#[async_trait]
pub trait EvidenceStore: Send + Sync {
    /// Appends a record with id `id`; returns its sequence number.
    async fn append_evidence(&self, id: &str, e: &NewEvidence, bytes: &[u8]) -> Result<i64, StoreError>;
    /// One record.
    async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>, StoreError>;
}

fn evidence_row(r: &sqlx::any::AnyRow) -> Result<EvidenceRecord, StoreError> {
    let bytes: Vec<u8> = r.try_get("record")?;
    Ok(EvidenceRecord {
        id: r.try_get("id")?,
        seq: r.try_get("seq")?,
        tenant_id: r.try_get("tenant_id")?,
        kind: r.try_get("kind")?,
        result: r.try_get("result")?,
        user_id: r.try_get("user_id")?,
        created_at: from_ts(r.try_get("created_at")?)?,
        record: serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("evidence record: {e}")))?,
    })
}

#[async_trait]
impl EvidenceStore for SqlStore {
    async fn append_evidence(&self, id: &str, e: &NewEvidence, bytes: &[u8]) -> Result<i64, StoreError> {
        // The next sequence number is taken inside the insert; two nodes racing for the same
        // number make one insert fail on the primary key, and it retries.
        for _ in 0..16 {
            let done = sqlx::query(
                "INSERT INTO evidence (seq, id, tenant_id, created_at, kind, result, user_id, record) \
                 SELECT COALESCE(MAX(seq) + 1, 0), $1, $2, $3, $4, $5, $6, $7 FROM evidence RETURNING seq",
            )
            .bind(id)
            .bind(&e.tenant_id)
            .bind(ts(e.at))
            .bind(e.kind)
            .bind(&e.result)
            .bind(&e.user_id)
            .bind(bytes)
            .fetch_one(self.db.pool())
            .await;
            match done {
                Ok(row) => return Ok(row.try_get("seq")?),
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict("evidence sequence contended; try again".into()))
    }

    async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>, StoreError> {
        sqlx::query("SELECT * FROM evidence WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(evidence_row)
            .transpose()
    }
}

impl Platform {
    /// Appends an evidence record; returns its id. The record is durable when this returns.
    pub async fn append_evidence(&self, e: NewEvidence) -> Result<String, PlatformError> {
        let id = format!("ev-{}", crate::new_id());
        let bytes = serde_json::to_vec(&e.record).map_err(|err| PlatformError::Pki(err.to_string()))?;
        self.store.append_evidence(&id, &e, &bytes).await?;
        Ok(id)
    }

    /// Evidence record `id` of `tenant` (another tenant's is "not found").
    pub async fn tenant_evidence(&self, tenant_id: &str, id: &str) -> Result<EvidenceRecord, PlatformError> {
        match self.store.evidence(id).await? {
            Some(e) if e.tenant_id == tenant_id => Ok(e),
            _ => Err(PlatformError::not_found("evidence", id)),
        }
    }
}

async fn get_evidence(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<Json<EvidenceRecord>, PlatformError> {
    Ok(Json(platform.tenant_evidence(&tenant.id, &id).await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new().route("/v1/evidence/{id}", get(get_evidence))
}
