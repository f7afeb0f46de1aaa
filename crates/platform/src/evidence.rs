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
use crate::store::{from_ts, SqlStore};
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
    /// The record (the bytes that were logged, as JSON); `null` once purged.
    pub record: Value,
    /// When the retention purge emptied the record (its leaf hash stays in the log).
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub purged_at: Option<OffsetDateTime>,
}

/// The storage of evidence.
#[async_trait]
pub trait EvidenceStore: Send + Sync {
    /// Appends a record with id `id` as the next leaf of the evidence log (its canonical bytes,
    /// [`crate::evidence_log::leaf_bytes`], name its sequence number); returns that number.
    async fn append_evidence(&self, id: &str, e: &NewEvidence) -> Result<i64, StoreError> {
        let seqs = self.append_evidence_batch(&[(id.to_owned(), e.clone())]).await?;
        seqs.first().copied().ok_or_else(|| StoreError::Corrupt("evidence append returned nothing".into()))
    }
    /// Appends several records in one transaction, in order; returns their sequence numbers.
    async fn append_evidence_batch(&self, batch: &[(String, NewEvidence)]) -> Result<Vec<i64>, StoreError>;
    /// One record.
    async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>, StoreError>;
    /// The log's storage: size, nodes, checkpoints, purge (crate::evidence_log).
    fn log(&self) -> &dyn crate::evidence_log::LogStore;
}

fn evidence_row(r: &sqlx::any::AnyRow) -> Result<EvidenceRecord, StoreError> {
    let bytes: Vec<u8> = r.try_get("record")?;
    let purged_at: Option<i64> = r.try_get("purged_at")?;
    let record = if purged_at.is_some() {
        Value::Null
    } else {
        let leaf: Value =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("evidence record: {e}")))?;
        crate::evidence_log::record_of(leaf)
    };
    Ok(EvidenceRecord {
        id: r.try_get("id")?,
        seq: r.try_get("seq")?,
        tenant_id: r.try_get("tenant_id")?,
        kind: r.try_get("kind")?,
        result: r.try_get("result")?,
        user_id: r.try_get("user_id")?,
        created_at: from_ts(r.try_get("created_at")?)?,
        record,
        purged_at: purged_at.map(from_ts).transpose()?,
    })
}

#[async_trait]
impl EvidenceStore for SqlStore {
    async fn append_evidence_batch(&self, batch: &[(String, NewEvidence)]) -> Result<Vec<i64>, StoreError> {
        crate::evidence_log::append(self, batch).await
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

    fn log(&self) -> &dyn crate::evidence_log::LogStore {
        self
    }
}

impl Platform {
    /// Appends an evidence record; returns its id. The record is durable when this returns
    /// (committed with the others waiting at the same moment: `evidence_log::Appender`).
    pub async fn append_evidence(&self, e: NewEvidence) -> Result<String, PlatformError> {
        let id = format!("ev-{}", crate::new_id());
        self.appender.append(id.clone(), e).await?;
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
    let mut record = platform.tenant_evidence(&tenant.id, &id).await?;
    if tenant.sensitive {
        // Sensitive-data mode: results only. The certificate (which carries the 4 facts) and the
        // revocation data stay with the platform (`hanko platform evidence export` for an auditor).
        // A CMS carries its signer's certificate, and the certificate's hash and the reason's
        // words (a serial) are identifiers other SPs could match: none of them either.
        if let Some(r) = record.record.as_object_mut() {
            for field in ["certificate", "certificate_sha256", "revocation", "ocsp_response"] {
                r.remove(field);
            }
            if let Some(inputs) = r.get_mut("inputs").and_then(serde_json::Value::as_object_mut) {
                inputs.remove("cms");
            }
            if let Some(reason) = r.get_mut("reason").and_then(serde_json::Value::as_object_mut) {
                let code = reason.get("code").and_then(serde_json::Value::as_str).unwrap_or_default();
                let detail = crate::verify::sensitive_detail(code);
                reason.insert("detail".into(), serde_json::json!(detail));
            }
        }
    }
    Ok(Json(record))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/evidence", get(crate::evidence_api::search))
        .route("/v1/evidence/{id}", get(get_evidence).delete(crate::evidence_api::delete))
        .route("/v1/evidence/{id}/proof", get(crate::evidence_log::get_proof))
}
