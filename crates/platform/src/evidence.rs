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
    async fn append_evidence(&self, id: &str, e: &NewEvidence) -> Result<i64, StoreError>;
    /// Appends records `(id, record)` in order, durably when it returns: one commit for all of
    /// them where the store can (group commit); returns their sequence numbers.
    async fn append_evidence_batch(&self, batch: &[(String, NewEvidence)]) -> Result<Vec<i64>, StoreError> {
        let mut seqs = Vec::with_capacity(batch.len());
        for (id, e) in batch {
            seqs.push(self.append_evidence(id, e).await?);
        }
        Ok(seqs)
    }
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
    async fn append_evidence(&self, id: &str, e: &NewEvidence) -> Result<i64, StoreError> {
        crate::evidence_log::append(self, id, e).await
    }

    async fn append_evidence_batch(&self, batch: &[(String, NewEvidence)]) -> Result<Vec<i64>, StoreError> {
        // One transaction, one commit (one fsync on SQLite) for the whole batch.
        let mut tx = self.db.pool().begin().await?;
        let mut seqs = Vec::with_capacity(batch.len());
        for (id, e) in batch {
            seqs.push(crate::evidence_log::append_in(&mut tx, id, e).await?);
        }
        tx.commit().await?;
        Ok(seqs)
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

/// Records waiting for the evidence writer, and the writer's turn (see
/// [`Platform::append_evidence`]).
#[derive(Default)]
pub(crate) struct Queue {
    pending: std::sync::Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<()>,
}

/// A record waiting to be written; `done` gets `None` once it is durable, or the error.
struct Pending {
    record: (String, NewEvidence),
    done: tokio::sync::oneshot::Sender<Option<String>>,
}

impl Platform {
    /// Appends an evidence record; returns its id. The record is durable when this returns.
    ///
    /// Group commit: records of concurrent requests are written together, in one transaction,
    /// by whichever request gets the writer's turn first; the others find theirs written when
    /// their turn comes (one commit — one fsync on SQLite — per batch instead of one per
    /// answer). The write runs in its own task, so a caller that goes away mid-write cannot
    /// cancel the others' records.
    pub async fn append_evidence(&self, e: NewEvidence) -> Result<String, PlatformError> {
        let id = format!("ev-{}", crate::new_id());
        let (done, written) = tokio::sync::oneshot::channel();
        self.evidence_queue
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Pending { record: (id.clone(), e), done });
        {
            let _turn = self.evidence_queue.writer.lock().await;
            let batch = std::mem::take(&mut *self.evidence_queue.pending.lock().unwrap_or_else(|p| p.into_inner()));
            if !batch.is_empty() {
                let store = self.store.clone();
                let _ = tokio::spawn(async move {
                    let (records, waiters): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.record, p.done)).unzip();
                    let failed = store.append_evidence_batch(&records).await.err().map(|e| e.to_string());
                    for w in waiters {
                        let _ = w.send(failed.clone());
                    }
                })
                .await;
            }
        }
        match written.await {
            Ok(None) => Ok(id),
            Ok(Some(error)) => Err(PlatformError::Unavailable(format!("the evidence was not recorded: {error}"))),
            Err(_) => Err(PlatformError::Unavailable("the evidence was not recorded: its writer stopped".into())),
        }
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
        if let Some(r) = record.record.as_object_mut() {
            for field in ["certificate", "revocation", "ocsp_response"] {
                r.remove(field);
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

#[cfg(test)]
mod batch_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(n: u32) -> (String, NewEvidence) {
        let e = NewEvidence {
            tenant_id: "TNTEST".into(),
            kind: "signature",
            result: "OK".into(),
            user_id: None,
            record: serde_json::json!({ "n": n }),
            at: OffsetDateTime::UNIX_EPOCH,
        };
        (format!("ev-test-{n}"), e)
    }

    #[tokio::test]
    async fn a_batch_of_evidence_takes_consecutive_sequence_numbers_in_one_commit() {
        let dir = std::env::temp_dir().join(format!("hanko-platform-evidence-batch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = hanko_store::Db::connect(&format!("sqlite:{}", dir.join("p.sqlite").display())).await.unwrap();
        let store = SqlStore::new(db).await.unwrap();
        let (id, e) = record(0);
        assert_eq!(store.append_evidence(&id, &e).await.unwrap(), 0);
        let batch: Vec<_> = (1..=5).map(record).collect();
        assert_eq!(store.append_evidence_batch(&batch).await.unwrap(), [1, 2, 3, 4, 5]);
        for (n, (id, _)) in batch.iter().enumerate() {
            let r = store.evidence(id).await.unwrap().unwrap();
            assert_eq!(r.seq, n as i64 + 1);
            assert_eq!(r.record["n"], n + 1);
        }
        // A batch that fails (a duplicate id) leaves nothing of itself behind, and the log goes on.
        assert!(store.append_evidence_batch(&[record(6), record(1)]).await.is_err());
        assert!(store.evidence("ev-test-6").await.unwrap().is_none());
        assert_eq!(store.append_evidence_batch(&[record(7)]).await.unwrap(), [6]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
