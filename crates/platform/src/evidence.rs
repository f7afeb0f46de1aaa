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
    /// Appends records `(id, record, bytes)` in order, durably when it returns: one commit for
    /// all of them where the store can (group commit); returns their sequence numbers.
    async fn append_evidence_batch(&self, batch: &[(String, NewEvidence, Vec<u8>)]) -> Result<Vec<i64>, StoreError> {
        let mut seqs = Vec::with_capacity(batch.len());
        for (id, e, bytes) in batch {
            seqs.push(self.append_evidence(id, e, bytes).await?);
        }
        Ok(seqs)
    }
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

/// Inserts one record at the next sequence number on `conn` (a pool or a transaction). The
/// number is taken inside the insert; two nodes racing for the same number make one insert fail
/// on the primary key (`Ok(None)`), and the caller retries.
async fn insert_evidence<'c, E>(conn: E, id: &str, e: &NewEvidence, bytes: &[u8]) -> Result<Option<i64>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
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
    .fetch_one(conn)
    .await;
    match done {
        Ok(row) => Ok(Some(row.try_get("seq")?)),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[async_trait]
impl EvidenceStore for SqlStore {
    async fn append_evidence(&self, id: &str, e: &NewEvidence, bytes: &[u8]) -> Result<i64, StoreError> {
        for _ in 0..16 {
            if let Some(seq) = insert_evidence(self.db.pool(), id, e, bytes).await? {
                return Ok(seq);
            }
        }
        Err(StoreError::Conflict("evidence sequence contended; try again".into()))
    }

    async fn append_evidence_batch(&self, batch: &[(String, NewEvidence, Vec<u8>)]) -> Result<Vec<i64>, StoreError> {
        // One transaction, one commit (one fsync on SQLite) for the whole batch; a race with
        // another node for a sequence number rolls it back and tries it again whole.
        'retry: for _ in 0..16 {
            let mut tx = self.db.pool().begin().await?;
            let mut seqs = Vec::with_capacity(batch.len());
            for (id, e, bytes) in batch {
                match insert_evidence(&mut *tx, id, e, bytes).await? {
                    Some(seq) => seqs.push(seq),
                    None => {
                        tx.rollback().await?;
                        continue 'retry;
                    }
                }
            }
            tx.commit().await?;
            return Ok(seqs);
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

/// Records waiting for the evidence writer, and the writer's turn (see
/// [`Platform::append_evidence`]).
#[derive(Default)]
pub(crate) struct Queue {
    pending: std::sync::Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<()>,
}

/// A record waiting to be written; `done` gets `None` once it is durable, or the error.
struct Pending {
    record: (String, NewEvidence, Vec<u8>),
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
        let bytes = serde_json::to_vec(&e.record).map_err(|err| PlatformError::Pki(err.to_string()))?;
        let (done, written) = tokio::sync::oneshot::channel();
        self.evidence_queue
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Pending { record: (id.clone(), e, bytes), done });
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
    Ok(Json(platform.tenant_evidence(&tenant.id, &id).await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new().route("/v1/evidence/{id}", get(get_evidence))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(n: u32) -> (String, NewEvidence, Vec<u8>) {
        let e = NewEvidence {
            tenant_id: "TNTEST".into(),
            kind: "signature",
            result: "OK".into(),
            user_id: None,
            record: serde_json::json!({ "n": n }),
            at: OffsetDateTime::UNIX_EPOCH,
        };
        let bytes = serde_json::to_vec(&e.record).unwrap();
        (format!("ev-test-{n}"), e, bytes)
    }

    #[tokio::test]
    async fn a_batch_of_evidence_takes_consecutive_sequence_numbers_in_one_commit() {
        let dir = std::env::temp_dir().join(format!("hanko-platform-evidence-batch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = hanko_store::Db::connect(&format!("sqlite:{}", dir.join("p.sqlite").display())).await.unwrap();
        let store = SqlStore::new(db).await.unwrap();
        let (id, e, bytes) = record(0);
        assert_eq!(store.append_evidence(&id, &e, &bytes).await.unwrap(), 0);
        let batch: Vec<_> = (1..=5).map(record).collect();
        assert_eq!(store.append_evidence_batch(&batch).await.unwrap(), [1, 2, 3, 4, 5]);
        // In order, each readable as written.
        for (n, (id, _, _)) in batch.iter().enumerate() {
            let r = store.evidence(id).await.unwrap().unwrap();
            assert_eq!(r.seq, n as i64 + 1);
            assert_eq!(r.record["n"], n + 1);
        }
        // A batch that fails (a duplicate id) leaves nothing of itself behind.
        let bad = vec![record(6), record(1)];
        assert!(store.append_evidence_batch(&bad).await.is_err());
        assert!(store.evidence("ev-test-6").await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
