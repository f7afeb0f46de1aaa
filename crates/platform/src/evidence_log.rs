//! The evidence log: every evidence record is a leaf of one append-only RFC 9162 Merkle tree
//! (`hanko_pki::tlog`), shared by every node on the database; signed checkpoints (C2SP
//! tlog-checkpoint notes, Ed25519) each carry an RFC 3161 time-stamp token from the platform's
//! own sandbox TSA. docs/platform-evidence.md describes the format and the auditor's checks.
//!
//! - **Append**: one transaction updates the single `evidence_head` row first (which serialises
//!   the appends of every node: a row lock on PostgreSQL, the write lock on SQLite), then writes
//!   the record — its canonical bytes name its sequence number — its leaf hash and the subtree
//!   nodes it completes. An acknowledged record is committed; nothing is numbered twice.
//! - **Verify**: recomputes every leaf hash from the record bytes, every stored node from its
//!   children, every checkpoint root from the leaves, and checks every checkpoint's signature and
//!   time-stamp token — any altered, reordered or removed record, node or checkpoint is reported.
//! - **Prove / export**: inclusion in the first checkpoint that covers the record and
//!   consistency of that checkpoint with the latest one, with everything an auditor needs offline
//!   ([`check_bundle`]).
//! - **Purge**: after the 7-year retention a record's bytes are emptied; its leaf hash stays, so
//!   the log stays verifiable.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path as UrlPath, State};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_pki::tlog::{
    self, Checkpoint, Ed25519NoteKey, Hash, NodeSource, NoteSigner, NoteVerifier, TreeError, EMPTY_ROOT,
};
use hanko_pki::tsp::{self, MessageImprint, TimeStampAuthority, TimeStampToken};
use hanko_pki::{CaGeneration, CaKind, DigestAlgorithm, PolicySet, Serial, SoftwareKey};
use hanko_store::sqlx::{self, AnyConnection, Row};
use hanko_store::StoreError;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::evidence::NewEvidence;
use crate::store::{from_ts, ts, SqlStore};
use crate::tenants::SpCaller;
use crate::Platform;

/// The directory under the data directory holding the log's keys.
pub const EVIDENCE_DIR: &str = "evidence";
/// The name of the leaf format (the `log` member of every leaf).
pub const LEAF_FORMAT: &str = "hanko-evidence/1";
/// The format of an exported bundle.
pub const BUNDLE_FORMAT: &str = "hanko-evidence-bundle/1";
/// How long evidence is kept before [`Platform::purge_evidence`] may empty it.
pub const RETENTION_YEARS: i32 = 7;

const PAGE: i64 = 2048;

// --- leaves --------------------------------------------------------------------------------

/// The canonical bytes of a record: the leaf the log hashes. Compact JSON with sorted keys,
/// naming the record's place in the log and every column stored beside it.
pub fn leaf_bytes(seq: i64, id: &str, e: &NewEvidence) -> Vec<u8> {
    let leaf = json!({
        "log": LEAF_FORMAT,
        "seq": seq,
        "id": id,
        "tenant_id": e.tenant_id,
        "kind": e.kind,
        "result": e.result,
        "user_id": e.user_id,
        "created_at": ts(e.at),
        "record": e.record,
    });
    // A `Value` always serialises.
    serde_json::to_vec(&leaf).unwrap_or_default()
}

/// The record inside a leaf (a leaf of another shape is returned whole).
pub(crate) fn record_of(mut leaf: Value) -> Value {
    if leaf.get("log").and_then(Value::as_str) == Some(LEAF_FORMAT) {
        leaf.get_mut("record").map(Value::take).unwrap_or(Value::Null)
    } else {
        leaf
    }
}

fn to_hash(bytes: &[u8], what: &str) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt(format!("{what}: not a 32-byte hash")))
}

// --- storage -------------------------------------------------------------------------------

/// One row of the log, as stored.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Position.
    pub seq: i64,
    /// Record id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Kind.
    pub kind: String,
    /// Result code.
    pub result: String,
    /// User id.
    pub user_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// The leaf bytes (empty once purged).
    pub leaf: Vec<u8>,
    /// The stored leaf hash.
    pub leaf_hash: Option<Vec<u8>>,
    /// When purged.
    pub purged_at: Option<i64>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed note (C2SP signed-note text).
    pub note: String,
    /// RFC 3161 token (DER `ContentInfo`) over SHA-256 of `note`.
    pub timestamp_token: Vec<u8>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

impl StoredCheckpoint {
    fn to_json(&self) -> Value {
        json!({
            "size": self.size,
            "root": B64.encode(self.root),
            "note": self.note,
            "timestamp_token": B64.encode(&self.timestamp_token),
            "created_at": crate::verify::rfc3339(self.created_at),
        })
    }
}

/// The storage of the evidence log, beside [`crate::EvidenceStore`].
#[async_trait]
pub trait LogStore: Send + Sync {
    /// The number of leaves.
    async fn log_size(&self) -> Result<u64, StoreError>;
    /// The hashes of perfect subtrees `(level, index)` (level 0: leaf hashes), in order.
    async fn log_nodes(&self, wanted: &[(u8, u64)]) -> Result<Vec<Hash>, StoreError>;
    /// Stored hashes of `level` with index in `[from, to)`, ascending.
    async fn log_node_range(&self, level: u8, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Up to `limit` entries from position `from`, ascending.
    async fn log_entries(&self, from: i64, limit: i64) -> Result<Vec<LogEntry>, StoreError>;
    /// The position of record `id`.
    async fn log_seq(&self, id: &str) -> Result<Option<(i64, String)>, StoreError>;
    /// Stores a checkpoint; `false` when one of that size exists already.
    async fn add_checkpoint(&self, c: &StoredCheckpoint) -> Result<bool, StoreError>;
    /// Up to `limit` checkpoints of size above `after`, ascending.
    async fn checkpoints_after(&self, after: i64, limit: i64) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// The latest checkpoint.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Empties the bytes of the records created before `before`; returns how many.
    async fn purge(&self, before: OffsetDateTime, at: OffsetDateTime) -> Result<u64, StoreError>;
}

fn checkpoint_row(r: &sqlx::any::AnyRow) -> Result<StoredCheckpoint, StoreError> {
    let size: i64 = r.try_get("size")?;
    let root: Vec<u8> = r.try_get("root")?;
    Ok(StoredCheckpoint {
        size: u64::try_from(size).map_err(|_| StoreError::Corrupt("checkpoint size".into()))?,
        root: to_hash(&root, "checkpoint root")?,
        note: r.try_get("note")?,
        timestamp_token: r.try_get("timestamp_token")?,
        created_at: from_ts(r.try_get("created_at")?)?,
    })
}

async fn node_in(conn: &mut AnyConnection, level: u8, index: u64) -> Result<Hash, StoreError> {
    let index = i64::try_from(index).map_err(|_| StoreError::Corrupt("node index".into()))?;
    let hash: Option<Option<Vec<u8>>> = if level == 0 {
        sqlx::query_scalar("SELECT leaf_hash FROM evidence WHERE seq = $1")
            .bind(index)
            .fetch_optional(&mut *conn)
            .await?
    } else {
        sqlx::query_scalar("SELECT hash FROM evidence_nodes WHERE level = $1 AND idx = $2")
            .bind(i64::from(level))
            .bind(index)
            .fetch_optional(&mut *conn)
            .await?
            .map(Some)
    };
    match hash.flatten() {
        Some(h) => to_hash(&h, "evidence log node"),
        None => Err(StoreError::Corrupt(format!("evidence log node ({level}, {index}) is missing"))),
    }
}

/// Nodes read ahead: a tree function runs once to learn which nodes it needs (their values do
/// not change which), the nodes are read, and it runs again on them.
#[derive(Default)]
struct Prefetch {
    nodes: HashMap<(u8, u64), Hash>,
    missing: RefCell<Vec<(u8, u64)>>,
}

impl NodeSource for Prefetch {
    type Error = Infallible;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Infallible> {
        Ok(match self.nodes.get(&(level, index)) {
            Some(h) => *h,
            None => {
                self.missing.borrow_mut().push((level, index));
                [0; 32]
            }
        })
    }
}

fn tree_error(e: TreeError<Infallible>) -> StoreError {
    StoreError::Invalid(format!("evidence log: {e}"))
}

/// Runs `f` over the nodes it needs, read from `store`.
async fn with_nodes<T>(
    store: &dyn LogStore,
    f: impl Fn(&Prefetch) -> Result<T, TreeError<Infallible>>,
) -> Result<T, StoreError> {
    let mut p = Prefetch::default();
    f(&p).map_err(tree_error)?;
    let wanted = p.missing.take();
    let hashes = store.log_nodes(&wanted).await?;
    p.nodes = wanted.into_iter().zip(hashes).collect();
    f(&p).map_err(tree_error)
}

/// Most records one append transaction takes.
pub const MAX_BATCH: usize = 256;

/// Appends `batch` inside one transaction (see the module doc); returns their positions.
pub(crate) async fn append(store: &SqlStore, batch: &[(String, NewEvidence)]) -> Result<Vec<i64>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(batch.len()).map_err(|_| StoreError::Invalid("batch".into()))?;
    let mut tx = store.db.pool().begin().await?;
    let size: i64 = sqlx::query_scalar("UPDATE evidence_head SET size = size + $1 WHERE id = 0 RETURNING size")
        .bind(count)
        .fetch_one(&mut *tx)
        .await?;
    let first = size - count;
    let mut known = Prefetch::default();
    let mut rows = Vec::with_capacity(batch.len());
    let mut new_nodes = Vec::new();
    for (offset, (id, e)) in (0i64..).zip(batch) {
        let seq = first + offset;
        let index = u64::try_from(seq).map_err(|_| StoreError::Corrupt("evidence head".into()))?;
        let bytes = leaf_bytes(seq, id, e);
        let leaf = tlog::leaf_hash(&bytes);
        // The left siblings of the nodes this leaf completes: earlier leaves of this batch, or
        // stored ones.
        let _ = tlog::new_nodes(&known, index, leaf);
        for (level, i) in known.missing.take() {
            let h = node_in(&mut tx, level, i).await?;
            known.nodes.insert((level, i), h);
        }
        let Ok(nodes) = tlog::new_nodes(&known, index, leaf);
        known.nodes.insert((0, index), leaf);
        for &(level, i, hash) in &nodes {
            known.nodes.insert((level, i), hash);
            let i = i64::try_from(i).map_err(|_| StoreError::Corrupt("node index".into()))?;
            new_nodes.push((i64::from(level), i, hash));
        }
        rows.push((seq, id, e, bytes, leaf));
    }
    // One statement for the records and one for the nodes: the appends of every node wait for
    // this transaction, so its round trips count.
    let mut sql = String::from(
        "INSERT INTO evidence (seq, id, tenant_id, created_at, kind, result, user_id, record, leaf_hash) VALUES ",
    );
    for r in 0..rows.len() {
        let b = r * 9;
        sql.push_str(&format!(
            "{}(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            if r == 0 { "" } else { ", " },
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9
        ));
    }
    let mut insert = sqlx::query(&sql);
    for (seq, id, e, bytes, leaf) in &rows {
        insert = insert
            .bind(*seq)
            .bind(id.as_str())
            .bind(e.tenant_id.as_str())
            .bind(ts(e.at))
            .bind(e.kind)
            .bind(e.result.as_str())
            .bind(e.user_id.as_deref())
            .bind(bytes.as_slice())
            .bind(leaf.to_vec());
    }
    insert.execute(&mut *tx).await?;
    if !new_nodes.is_empty() {
        let mut sql = String::from("INSERT INTO evidence_nodes (level, idx, hash) VALUES ");
        for r in 0..new_nodes.len() {
            let b = r * 3;
            sql.push_str(&format!("{}(${}, ${}, ${})", if r == 0 { "" } else { ", " }, b + 1, b + 2, b + 3));
        }
        let mut insert = sqlx::query(&sql);
        for (level, i, hash) in &new_nodes {
            insert = insert.bind(*level).bind(*i).bind(hash.to_vec());
        }
        insert.execute(&mut *tx).await?;
    }
    let seqs = rows.iter().map(|r| r.0).collect();
    tx.commit().await?;
    Ok(seqs)
}

type Reply = tokio::sync::oneshot::Sender<Result<i64, String>>;

/// Group commit: the appends of one node go through one task that takes every record waiting
/// (up to [`MAX_BATCH`]) into one transaction. The log's appends are serialised across nodes,
/// so one commit per record would cap the whole platform at one record per disk flush; one
/// commit per batch does not. The task owns each append, so a request that goes away (a client
/// that disconnects) never leaves a transaction half done.
#[derive(Debug, Clone)]
pub(crate) struct Appender {
    queue: tokio::sync::mpsc::UnboundedSender<(String, NewEvidence, Reply)>,
}

impl Appender {
    /// Starts the task on the current runtime; it ends when the last `Appender` is dropped.
    pub(crate) fn start(store: Arc<dyn crate::Repository>) -> Appender {
        let (queue, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, NewEvidence, Reply)>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let (records, replies): (Vec<_>, Vec<_>) =
                    batch.into_iter().map(|(id, e, reply)| ((id, e), reply)).unzip();
                match store.append_evidence_batch(&records).await {
                    Ok(seqs) => {
                        for (reply, seq) in replies.into_iter().zip(seqs) {
                            let _ = reply.send(Ok(seq));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, records = records.len(), "evidence append failed");
                        for reply in replies {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        Appender { queue }
    }

    /// Appends one record; returns its position once it is committed.
    pub(crate) async fn append(&self, id: String, e: NewEvidence) -> Result<i64, PlatformError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send((id, e, reply))
            .map_err(|_| PlatformError::Unavailable("the evidence log is shutting down".into()))?;
        match answer.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(PlatformError::Store(StoreError::Corrupt(format!("evidence append: {e}")))),
            Err(_) => Err(PlatformError::Unavailable("the evidence log is shutting down".into())),
        }
    }
}

#[async_trait]
impl LogStore for SqlStore {
    async fn log_size(&self) -> Result<u64, StoreError> {
        let size: i64 =
            sqlx::query_scalar("SELECT size FROM evidence_head WHERE id = 0").fetch_one(self.db.pool()).await?;
        u64::try_from(size).map_err(|_| StoreError::Corrupt("evidence head".into()))
    }

    async fn log_nodes(&self, wanted: &[(u8, u64)]) -> Result<Vec<Hash>, StoreError> {
        // Two queries whatever the count (a proof needs up to ~2·log2 n nodes).
        let mut found: HashMap<(u8, u64), Vec<u8>> = HashMap::with_capacity(wanted.len());
        for chunk in wanted.chunks(256) {
            let leaves: Vec<i64> =
                chunk.iter().filter(|(l, _)| *l == 0).filter_map(|(_, i)| i64::try_from(*i).ok()).collect();
            if !leaves.is_empty() {
                let list = (1..=leaves.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
                let sql = format!("SELECT seq, leaf_hash FROM evidence WHERE seq IN ({list})");
                let mut q = sqlx::query(&sql);
                for i in &leaves {
                    q = q.bind(*i);
                }
                for r in q.fetch_all(self.db.pool()).await? {
                    let seq: i64 = r.try_get("seq")?;
                    let hash: Option<Vec<u8>> = r.try_get("leaf_hash")?;
                    if let (Ok(seq), Some(hash)) = (u64::try_from(seq), hash) {
                        found.insert((0, seq), hash);
                    }
                }
            }
            let inner: Vec<(i64, i64)> = chunk
                .iter()
                .filter(|(l, _)| *l > 0)
                .filter_map(|(l, i)| Some((i64::from(*l), i64::try_from(*i).ok()?)))
                .collect();
            if !inner.is_empty() {
                let list = (0..inner.len())
                    .map(|n| format!("(level = ${} AND idx = ${})", 2 * n + 1, 2 * n + 2))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                let sql = format!("SELECT level, idx, hash FROM evidence_nodes WHERE {list}");
                let mut q = sqlx::query(&sql);
                for (l, i) in &inner {
                    q = q.bind(*l).bind(*i);
                }
                for r in q.fetch_all(self.db.pool()).await? {
                    let level: i64 = r.try_get("level")?;
                    let idx: i64 = r.try_get("idx")?;
                    if let (Ok(level), Ok(idx)) = (u8::try_from(level), u64::try_from(idx)) {
                        found.insert((level, idx), r.try_get("hash")?);
                    }
                }
            }
        }
        wanted
            .iter()
            .map(|(level, index)| match found.get(&(*level, *index)) {
                Some(h) => to_hash(h, "evidence log node"),
                None => Err(StoreError::Corrupt(format!("evidence log node ({level}, {index}) is missing"))),
            })
            .collect()
    }

    async fn log_node_range(&self, level: u8, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let (from, to) = (i64::try_from(from).unwrap_or(i64::MAX), i64::try_from(to).unwrap_or(i64::MAX));
        let rows = if level == 0 {
            sqlx::query("SELECT seq AS idx, leaf_hash AS hash FROM evidence WHERE seq >= $1 AND seq < $2 ORDER BY seq")
                .bind(from)
                .bind(to)
                .fetch_all(self.db.pool())
                .await?
        } else {
            sqlx::query("SELECT idx, hash FROM evidence_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx")
                .bind(i64::from(level))
                .bind(from)
                .bind(to)
                .fetch_all(self.db.pool())
                .await?
        };
        rows.iter()
            .map(|r| {
                let idx: i64 = r.try_get("idx")?;
                let hash: Option<Vec<u8>> = r.try_get("hash")?;
                Ok((u64::try_from(idx).unwrap_or(u64::MAX), hash.unwrap_or_default()))
            })
            .collect()
    }

    async fn log_entries(&self, from: i64, limit: i64) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, id, tenant_id, kind, result, user_id, created_at, record, leaf_hash, purged_at \
             FROM evidence WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(from)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogEntry {
                    seq: r.try_get("seq")?,
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    kind: r.try_get("kind")?,
                    result: r.try_get("result")?,
                    user_id: r.try_get("user_id")?,
                    created_at: r.try_get("created_at")?,
                    leaf: r.try_get("record")?,
                    leaf_hash: r.try_get("leaf_hash")?,
                    purged_at: r.try_get("purged_at")?,
                })
            })
            .collect()
    }

    async fn log_seq(&self, id: &str) -> Result<Option<(i64, String)>, StoreError> {
        let row = sqlx::query("SELECT seq, tenant_id FROM evidence WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| Ok((r.try_get("seq")?, r.try_get("tenant_id")?))).transpose()
    }

    async fn add_checkpoint(&self, c: &StoredCheckpoint) -> Result<bool, StoreError> {
        let size = i64::try_from(c.size).map_err(|_| StoreError::Invalid("checkpoint size".into()))?;
        let done = sqlx::query(
            "INSERT INTO evidence_checkpoints (size, root, note, timestamp_token, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING",
        )
        .bind(size)
        .bind(c.root.to_vec())
        .bind(&c.note)
        .bind(&c.timestamp_token)
        .bind(ts(c.created_at))
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn checkpoints_after(&self, after: i64, limit: i64) -> Result<Vec<StoredCheckpoint>, StoreError> {
        sqlx::query("SELECT * FROM evidence_checkpoints WHERE size > $1 ORDER BY size LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(checkpoint_row)
            .collect()
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        sqlx::query("SELECT * FROM evidence_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(checkpoint_row)
            .transpose()
    }

    async fn purge(&self, before: OffsetDateTime, at: OffsetDateTime) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE evidence SET record = $1, purged_at = $2 WHERE created_at < $3 AND purged_at IS NULL")
                .bind(Vec::<u8>::new())
                .bind(ts(at))
                .bind(ts(before))
                .execute(self.db.pool())
                .await?;
        Ok(done.rows_affected())
    }
}

// --- keys ----------------------------------------------------------------------------------

/// The log's keys (DATA_DIR/evidence): the Ed25519 checkpoint key and the sandbox TSA with its
/// CA. Made once, the first time the platform opens its data directory; nodes of one platform
/// share these files.
pub struct EvidenceKeys {
    origin: String,
    note_key: Ed25519NoteKey,
    tsa: TimeStampAuthority<SoftwareKey>,
    tsa_ca_der: Vec<u8>,
}

impl std::fmt::Debug for EvidenceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EvidenceKeys({}, [keys elided])", self.origin)
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, PlatformError> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| PlatformError::io("evidence log key file", &path, e))
}

impl EvidenceKeys {
    /// Loads the keys of `dir`, making them first when the directory does not exist.
    pub fn load_or_create(dir: &Path, now: OffsetDateTime) -> Result<EvidenceKeys, PlatformError> {
        if !dir.join("origin").exists() {
            Self::create(dir, now)?;
        }
        let origin = String::from_utf8_lossy(&read(dir, "origin")?).trim().to_owned();
        let note_key = Ed25519NoteKey::from_pkcs8(&origin, &read(dir, "checkpoint.key")?)
            .map_err(|e| PlatformError::Pki(e.to_string()))?;
        let tsa_key = SoftwareKey::from_pkcs8(&read(dir, "tsa.key")?)?;
        let tsa = TimeStampAuthority::new(tsa_key, &read(dir, "tsa.der")?, tsp::SANDBOX_TSA_POLICY)
            .map_err(|e| PlatformError::Pki(e.to_string()))?;
        Ok(EvidenceKeys { origin, note_key, tsa, tsa_ca_der: read(dir, "tsa-ca.der")? })
    }

    /// Makes the keys in a scratch directory and renames it into place, so that two nodes
    /// starting at once end with one set.
    fn create(dir: &Path, now: OffsetDateTime) -> Result<(), PlatformError> {
        let mut raw = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut raw);
        let origin = format!("hanko.invalid/platform/evidence/{}", hex::encode(raw));
        let tmp = dir.with_extension(format!("tmp-{}", hex::encode(raw)));
        std::fs::create_dir_all(&tmp).map_err(|e| PlatformError::io("evidence log keys", &tmp, e))?;
        let write = |name: &str, bytes: &[u8], mode: u32| {
            let path = tmp.join(name);
            hanko_store::write_atomic(&path, bytes, mode).map_err(|e| PlatformError::io("evidence log key", &path, e))
        };
        let note_key = Ed25519NoteKey::generate(&origin).map_err(|e| PlatformError::Pki(e.to_string()))?;
        let mut rng = rand_core::OsRng;
        let ca = CaGeneration::create(
            CaKind::Signature,
            tsp::sandbox_tsa_naming(),
            PolicySet::sandbox(),
            SoftwareKey::generate_rsa2048()?,
            &Serial::random(&mut rng),
            now - time::Duration::days(1),
            now + time::Duration::days(366 * 20),
        )
        .map_err(|e| PlatformError::Pki(e.to_string()))?;
        let tsa_key = SoftwareKey::generate_rsa2048()?;
        let tsa_key_der = tsa_key.to_pkcs8()?;
        let tsa = tsp::issue_sandbox_tsa(
            &ca,
            tsa_key,
            &Serial::random(&mut rng),
            "hanko platform sandbox TSA",
            now - time::Duration::days(1),
            now + time::Duration::days(366 * 10),
        )
        .map_err(|e| PlatformError::Pki(e.to_string()))?;
        write("origin", format!("{origin}\n").as_bytes(), 0o644)?;
        write("checkpoint.key", &note_key.to_pkcs8()?, 0o600)?;
        write("checkpoint.vkey", format!("{}\n", note_key.verifier_key()).as_bytes(), 0o644)?;
        write("tsa.key", &tsa_key_der, 0o600)?;
        write("tsa.der", tsa.certificate_der(), 0o644)?;
        write("tsa-ca.der", ca.certificate_der(), 0o644)?;
        write("tsa-ca.key", &ca.signer().to_pkcs8()?, 0o600)?;
        if std::fs::rename(&tmp, dir).is_err() {
            // Another node made them first.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Ok(())
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key of checkpoint signatures (`<origin>+<hash>+<key>`).
    pub fn verifier_key(&self) -> String {
        self.note_key.verifier_key()
    }

    /// The TSA certificate (DER).
    pub fn tsa_certificate(&self) -> &[u8] {
        self.tsa.certificate_der()
    }

    /// The TSA's CA certificate (DER).
    pub fn tsa_ca_certificate(&self) -> &[u8] {
        &self.tsa_ca_der
    }

    fn log_json(&self) -> Value {
        json!({
            "origin": self.origin,
            "verifier_key": self.verifier_key(),
            "tsa_certificate": B64.encode(self.tsa_certificate()),
            "tsa_ca_certificate": B64.encode(&self.tsa_ca_der),
        })
    }
}

// --- the platform's operations --------------------------------------------------------------

/// What [`Platform::verify_evidence_log`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogReport {
    /// The log's size (the head).
    pub size: u64,
    /// Records read.
    pub records: u64,
    /// Records whose bytes were purged (their leaf hashes checked through the roots).
    pub purged: u64,
    /// Of those, records emptied before their 7-year retention ended (deleted by their SP).
    pub emptied_early: u64,
    /// Interior nodes checked.
    pub nodes: u64,
    /// Checkpoints checked (signature, root, time-stamp token).
    pub checkpoints: u64,
    /// The root of the whole log, recomputed.
    pub root: String,
    /// Every inconsistency found (at most 100 listed); empty when the log is intact.
    pub problems: Vec<String>,
    /// Problems beyond those listed.
    pub more_problems: u64,
}

impl LogReport {
    fn problem(&mut self, p: String) {
        if self.problems.len() < 100 {
            self.problems.push(p);
        } else {
            self.more_problems += 1;
        }
    }
}

/// The perfect subtrees of the leaves seen so far (a compact range), for streaming roots.
#[derive(Default)]
struct Compact(Vec<(u32, Hash)>);

impl Compact {
    fn push(&mut self, leaf: Hash) {
        let (mut level, mut hash) = (0u32, leaf);
        while let Some(&(l, left)) = self.0.last() {
            if l != level {
                break;
            }
            self.0.pop();
            hash = tlog::node_hash(&left, &hash);
            level += 1;
        }
        self.0.push((level, hash));
    }

    fn root(&self) -> Hash {
        let mut iter = self.0.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else { return EMPTY_ROOT };
        for (_, left) in iter {
            acc = tlog::node_hash(left, &acc);
        }
        acc
    }
}

impl Platform {
    /// The platform clock's time.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The evidence log's keys.
    pub fn evidence_keys(&self) -> &EvidenceKeys {
        &self.evidence_keys
    }

    /// Makes a signed, time-stamped checkpoint of the log as it is now, unless the latest
    /// checkpoint already has this size. Returns the latest checkpoint.
    pub async fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, PlatformError> {
        let log = self.store.log();
        let size = log.log_size().await?;
        let latest = log.latest_checkpoint().await?;
        if size == 0 || latest.as_ref().is_some_and(|c| c.size >= size) {
            return Ok(latest);
        }
        let root = with_nodes(log, |s| tlog::root(s, size)).await?;
        let keys = &self.evidence_keys;
        let now = self.clock.now();
        let note = Checkpoint { origin: keys.origin.clone(), size, root, extensions: Vec::new() }
            .sign(&keys.note_key)
            .map_err(|e| PlatformError::Pki(e.to_string()))?
            .to_text();
        let digest = DigestAlgorithm::Sha256.digest(note.as_bytes());
        let imprint =
            MessageImprint::new(DigestAlgorithm::Sha256, &digest).map_err(|e| PlatformError::Pki(e.to_string()))?;
        let token = keys
            .tsa
            .stamp(&imprint, None, true, now, &Serial::random(&mut rand_core::OsRng))
            .map_err(|e| PlatformError::Pki(e.to_string()))?;
        let c = StoredCheckpoint { size, root, note, timestamp_token: token, created_at: now };
        // Another node may have checkpointed this size first; either is as good.
        log.add_checkpoint(&c).await?;
        Ok(log.latest_checkpoint().await?)
    }

    /// The proof of record `id`: inclusion in the first checkpoint that covers it (made now if
    /// none does yet) and consistency of that checkpoint with the latest. `with_leaf` adds the
    /// record's bytes (which carry the certificate: not for sensitive-data tenants).
    pub async fn prove_evidence(&self, id: &str, with_leaf: bool) -> Result<Value, PlatformError> {
        let log = self.store.log();
        let (seq, _) = log.log_seq(id).await?.ok_or_else(|| PlatformError::not_found("evidence", id))?;
        let index = u64::try_from(seq).map_err(|_| PlatformError::Invalid("sequence".into()))?;
        let first = match log.checkpoints_after(seq, 1).await?.pop() {
            Some(c) => c,
            None => {
                self.checkpoint().await?;
                log.checkpoints_after(seq, 1)
                    .await?
                    .pop()
                    .ok_or_else(|| PlatformError::Unavailable("the record is not in a checkpoint yet; retry".into()))?
            }
        };
        let latest = log.latest_checkpoint().await?.unwrap_or_else(|| first.clone());
        let inclusion = with_nodes(log, |s| tlog::inclusion_proof(s, index, first.size)).await?;
        let consistency = with_nodes(log, |s| tlog::consistency_proof(s, first.size, latest.size)).await?;
        let leaf_hash = log.log_nodes(&[(0, index)]).await?.pop().unwrap_or_default();
        let mut out = json!({
            "id": id,
            "seq": seq,
            "leaf_hash": B64.encode(leaf_hash),
            "checkpoint": first.to_json(),
            "inclusion_proof": inclusion.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "latest_checkpoint": latest.to_json(),
            "consistency_proof": consistency.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "log": self.evidence_keys.log_json(),
        });
        if with_leaf {
            let entry = log.log_entries(seq, 1).await?.pop().filter(|e| e.seq == seq);
            if let Some(e) = entry.filter(|e| e.purged_at.is_none()) {
                out["leaf"] = json!(B64.encode(&e.leaf));
            }
        }
        Ok(out)
    }

    /// A self-contained evidence bundle of record `id` for an auditor: the record (certificate,
    /// revocation data used, inputs, result), its leaf bytes, the proofs, both checkpoints with
    /// their time-stamp tokens, the TSA chain and the checkpoint verifier key. [`check_bundle`]
    /// checks it offline.
    pub async fn export_evidence(&self, id: &str) -> Result<Value, PlatformError> {
        let mut bundle = self.prove_evidence(id, true).await?;
        if bundle.get("leaf").is_none() {
            return Err(PlatformError::Conflict(format!("evidence {id} was purged after its retention period")));
        }
        let record = self.store.evidence(id).await?.ok_or_else(|| PlatformError::not_found("evidence", id))?;
        bundle["format"] = json!(BUNDLE_FORMAT);
        bundle["record"] = record.record;
        Ok(bundle)
    }

    /// Empties the records created before `before`, which must be at least
    /// [`RETENTION_YEARS`] ago; their leaf hashes stay in the log.
    pub async fn purge_evidence(&self, before: OffsetDateTime) -> Result<u64, PlatformError> {
        let now = self.clock.now();
        let limit = now.replace_year(now.year() - RETENTION_YEARS).unwrap_or(now - time::Duration::days(365 * 7 + 2));
        if before > limit {
            return Err(PlatformError::Invalid(format!(
                "evidence is kept {RETENTION_YEARS} years: --before must be {} or earlier",
                crate::verify::rfc3339(limit)
            )));
        }
        Ok(self.store.log().purge(before, now).await?)
    }

    /// Recomputes the whole log (see the module doc) and reports every inconsistency.
    pub async fn verify_evidence_log(&self) -> Result<LogReport, PlatformError> {
        let log = self.store.log();
        let keys = &self.evidence_keys;
        let verifier = NoteVerifier::parse(&keys.verifier_key()).map_err(|e| PlatformError::Pki(e.to_string()))?;
        let mut report = LogReport { size: log.log_size().await?, ..LogReport::default() };

        // Leaves, in order, with the checkpoints as their sizes are reached.
        let mut compact = Compact::default();
        let mut pending: VecDeque<StoredCheckpoint> = VecDeque::new();
        let (mut last_cp, mut exhausted) = (-1i64, false);
        let mut expected: i64 = 0;
        loop {
            let page = log.log_entries(expected, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for e in page {
                if e.seq != expected {
                    report.problem(format!("records {expected}..{} are missing", e.seq - 1));
                    expected = e.seq;
                }
                report.records += 1;
                let stored = e.leaf_hash.as_deref().and_then(|h| <Hash>::try_from(h).ok());
                let hash = match (e.purged_at, stored) {
                    (Some(purged_at), Some(h)) => {
                        // An emptied record (retention purge or its SP's deletion) is covered by
                        // its leaf hash alone: it must hold no bytes, and cannot predate itself.
                        // (Its other columns are no longer covered by the log.)
                        report.purged += 1;
                        if !e.leaf.is_empty() {
                            report.problem(format!("record {} ({}): marked emptied but holds bytes", e.seq, e.id));
                        }
                        if purged_at < e.created_at {
                            report.problem(format!("record {} ({}): emptied before it was made", e.seq, e.id));
                        }
                        // Emptied before its retention period was over? (An SP may delete its own
                        // record earlier — `DELETE /v1/evidence/{id}`: counted, not reported.)
                        let kept_until = from_ts(e.created_at)
                            .ok()
                            .and_then(|t| t.replace_year(t.year() + RETENTION_YEARS).ok())
                            .map(ts);
                        if kept_until.is_none_or(|until| purged_at < until) {
                            report.emptied_early += 1;
                        }
                        h
                    }
                    (_, stored) => {
                        let computed = tlog::leaf_hash(&e.leaf);
                        if stored != Some(computed) {
                            report.problem(format!("record {} ({}): leaf hash does not match its bytes", e.seq, e.id));
                        }
                        check_columns(&e, &mut report);
                        stored.unwrap_or(computed)
                    }
                };
                compact.push(hash);
                expected += 1;
                // The checkpoints of this size.
                loop {
                    if pending.is_empty() && !exhausted {
                        pending = log.checkpoints_after(last_cp, PAGE).await?.into();
                        exhausted = pending.len() < PAGE as usize;
                    }
                    let Some(size) = pending.front().map(|c| i64::try_from(c.size).unwrap_or(i64::MAX)) else {
                        break;
                    };
                    if size > expected {
                        break;
                    }
                    last_cp = size;
                    if let Some(c) = pending.pop_front() {
                        if size == expected {
                            check_checkpoint(&c, &compact.root(), keys, &verifier, &mut report);
                        } else {
                            report.problem(format!("checkpoint of size {size} does not fall on a record"));
                        }
                    }
                }
            }
        }
        if u64::try_from(expected).ok() != Some(report.size) {
            report.problem(format!("the head says {} records, the log holds {expected}", report.size));
        }
        let beyond = if exhausted { Vec::new() } else { log.checkpoints_after(last_cp, i64::MAX).await? };
        for c in pending.iter().chain(&beyond) {
            report.problem(format!("checkpoint of size {} is beyond the log's {expected} records", c.size));
        }
        report.root = B64.encode(compact.root());

        // Every stored interior node from its children; none missing, none beyond the log.
        let size = u64::try_from(expected).unwrap_or(0);
        let page = PAGE as u64;
        for level in 1u8..64 {
            let count = size >> level;
            let (mut from, mut seen) = (0u64, 0u64);
            loop {
                if from >= count {
                    for (idx, _) in log.log_node_range(level, from, i64::MAX as u64).await? {
                        report.problem(format!("node ({level}, {idx}) is beyond the log"));
                    }
                    break;
                }
                let to = (from + page).min(count);
                let nodes = log.log_node_range(level, from, to).await?;
                let children: HashMap<u64, Vec<u8>> =
                    log.log_node_range(level - 1, 2 * from, 2 * to).await?.into_iter().collect();
                let child = |i: u64| children.get(&i).and_then(|h| <Hash>::try_from(h.as_slice()).ok());
                for (idx, hash) in nodes {
                    if idx != seen {
                        report.problem(format!("nodes ({level}, {seen}..{idx}) are missing"));
                    }
                    seen = idx + 1;
                    report.nodes += 1;
                    let want = child(2 * idx).zip(child(2 * idx + 1)).map(|(l, r)| tlog::node_hash(&l, &r));
                    if want.as_ref().map(|w| w.as_slice()) != Some(hash.as_slice()) {
                        report.problem(format!("node ({level}, {idx}) is not the hash of its children"));
                    }
                }
                from = to;
            }
            if seen < count {
                report.problem(format!("nodes ({level}, {seen}..{count}) are missing"));
            }
        }
        Ok(report)
    }
}

/// The columns beside the leaf must say what the leaf says.
fn check_columns(e: &LogEntry, report: &mut LogReport) {
    let Ok(leaf) = serde_json::from_slice::<Value>(&e.leaf) else {
        report.problem(format!("record {} ({}): its bytes are not a leaf", e.seq, e.id));
        return;
    };
    let same = leaf["log"] == LEAF_FORMAT
        && leaf["seq"] == e.seq
        && leaf["id"] == e.id.as_str()
        && leaf["tenant_id"] == e.tenant_id.as_str()
        && leaf["kind"] == e.kind.as_str()
        && leaf["result"] == e.result.as_str()
        && leaf["user_id"] == json!(e.user_id)
        && leaf["created_at"] == e.created_at;
    if !same {
        report.problem(format!("record {} ({}): its columns differ from its logged bytes", e.seq, e.id));
    }
}

fn check_checkpoint(
    c: &StoredCheckpoint,
    computed: &Hash,
    keys: &EvidenceKeys,
    verifier: &NoteVerifier,
    report: &mut LogReport,
) {
    report.checkpoints += 1;
    let size = c.size;
    match Checkpoint::open(c.note.as_bytes(), verifier, &keys.origin) {
        Ok(cp) => {
            if cp.size != size || cp.root != c.root {
                report.problem(format!("checkpoint {size}: the signed note says another size or root"));
            }
            if cp.root != *computed {
                report.problem(format!("checkpoint {size}: the records no longer hash to its root"));
            }
        }
        Err(e) => report.problem(format!("checkpoint {size}: {e}")),
    }
    if c.root != *computed {
        report.problem(format!("checkpoint {size}: stored root differs from the recomputed root"));
    }
    let digest = DigestAlgorithm::Sha256.digest(c.note.as_bytes());
    if let Err(e) = TimeStampToken::from_der(&c.timestamp_token)
        .and_then(|t| t.verify(DigestAlgorithm::Sha256, &digest, None, &keys.tsa_ca_der))
    {
        report.problem(format!("checkpoint {size}: time-stamp token: {e}"));
    }
}

// --- offline bundle check ------------------------------------------------------------------

/// What [`check_bundle`] established.
#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    /// The record id.
    pub id: String,
    /// Its position.
    pub seq: u64,
    /// The log's origin.
    pub origin: String,
    /// The checkpoint verifier key the bundle was checked with.
    pub verifier_key: String,
    /// The checkpoint that includes the record, and the TSA's time for it.
    pub checkpoint_size: u64,
    /// RFC 3339.
    pub checkpoint_time: String,
    /// The latest checkpoint, consistent with the first, and its time.
    pub latest_size: u64,
    /// RFC 3339.
    pub latest_time: String,
}

fn field<'a>(v: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut node = v;
    for part in path.split('.') {
        node = node.get(part).ok_or_else(|| format!("the bundle has no {path}"))?;
    }
    Ok(node)
}

fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, String> {
    field(v, path)?.as_str().ok_or_else(|| format!("{path} is not a string"))
}

fn bytes(v: &Value, path: &str) -> Result<Vec<u8>, String> {
    B64.decode(text(v, path)?).map_err(|_| format!("{path} is not base64"))
}

fn hashes(v: &Value, path: &str) -> Result<Vec<Hash>, String> {
    let list = field(v, path)?.as_array().ok_or_else(|| format!("{path} is not a list"))?;
    if list.len() > tlog::MAX_PROOF_LEN {
        return Err(format!("{path} is too long"));
    }
    list.iter()
        .map(|h| {
            let b = h.as_str().and_then(|s| B64.decode(s).ok()).ok_or_else(|| format!("{path}: not base64"))?;
            <Hash>::try_from(b.as_slice()).map_err(|_| format!("{path}: not a 32-byte hash"))
        })
        .collect()
}

/// Checks an exported bundle offline: the leaf bytes hash to the leaf hash and name the record;
/// the inclusion proof leads to the first checkpoint's root; that checkpoint is consistent with
/// the latest; both notes are signed by the checkpoint key (`verifier_key`, or the bundle's own
/// when `None` — compare it with the one the platform publishes) and both time-stamp tokens
/// verify over their notes under the TSA CA (`tsa_ca_der`, or the bundle's own).
pub fn check_bundle(
    bundle: &Value,
    verifier_key: Option<&str>,
    tsa_ca_der: Option<&[u8]>,
) -> Result<BundleReport, String> {
    if text(bundle, "format")? != BUNDLE_FORMAT {
        return Err(format!("not a {BUNDLE_FORMAT} bundle"));
    }
    let leaf = bytes(bundle, "leaf")?;
    let leaf_hash = tlog::leaf_hash(&leaf);
    if bytes(bundle, "leaf_hash")? != leaf_hash {
        return Err("the leaf bytes do not hash to the leaf hash".into());
    }
    let parsed: Value = serde_json::from_slice(&leaf).map_err(|_| "the leaf is not JSON".to_string())?;
    let id = text(bundle, "id")?;
    let seq = field(bundle, "seq")?.as_u64().ok_or("seq is not a number")?;
    if parsed["log"] != LEAF_FORMAT || parsed["id"] != id || parsed["seq"] != seq {
        return Err("the leaf is not the record the bundle names".into());
    }
    if bundle.get("record").is_some_and(|r| *r != parsed["record"]) {
        return Err("the record differs from the logged leaf".into());
    }
    let origin = text(bundle, "log.origin")?;
    let bundled_key = text(bundle, "log.verifier_key")?;
    let vkey = verifier_key.unwrap_or(bundled_key);
    let verifier = NoteVerifier::parse(vkey).map_err(|e| format!("verifier key: {e}"))?;
    let bundled_ca = bytes(bundle, "log.tsa_ca_certificate")?;
    let tsa_ca = tsa_ca_der.unwrap_or(&bundled_ca);

    let open = |which: &str| -> Result<(Checkpoint, String), String> {
        let note = text(bundle, &format!("{which}.note"))?;
        let cp = Checkpoint::open(note.as_bytes(), &verifier, origin).map_err(|e| format!("{which}: {e}"))?;
        let token = bytes(bundle, &format!("{which}.timestamp_token"))?;
        let digest = DigestAlgorithm::Sha256.digest(note.as_bytes());
        let stamped = TimeStampToken::from_der(&token)
            .and_then(|t| t.verify(DigestAlgorithm::Sha256, &digest, None, tsa_ca))
            .map_err(|e| format!("{which} time-stamp token: {e}"))?;
        Ok((cp, crate::verify::rfc3339(stamped.gen_time())))
    };
    let (first, first_time) = open("checkpoint")?;
    let (latest, latest_time) = open("latest_checkpoint")?;
    tlog::verify_inclusion(seq, first.size, &leaf_hash, &hashes(bundle, "inclusion_proof")?, &first.root)
        .map_err(|e| format!("inclusion proof: {e}"))?;
    tlog::verify_consistency(first.size, latest.size, &first.root, &latest.root, &hashes(bundle, "consistency_proof")?)
        .map_err(|e| format!("consistency proof: {e}"))?;
    Ok(BundleReport {
        id: id.to_owned(),
        seq,
        origin: origin.to_owned(),
        verifier_key: vkey.to_owned(),
        checkpoint_size: first.size,
        checkpoint_time: first_time,
        latest_size: latest.size,
        latest_time,
    })
}

/// The background task: a checkpoint every [`crate::Config::checkpoint_interval`] when the log
/// grew (failures are logged and retried at the next tick).
pub(crate) async fn task(platform: Arc<Platform>) {
    let mut tick = tokio::time::interval(platform.config.checkpoint_interval.max(std::time::Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = platform.checkpoint().await {
            tracing::warn!(error = %e, "evidence checkpoint failed");
        }
    }
}

// --- HTTP ----------------------------------------------------------------------------------

/// `GET /v1/evidence/{id}/proof`: the proof of one of the caller's own records (another
/// tenant's is "not found"); the leaf bytes only outside sensitive-data mode.
pub(crate) async fn get_proof(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, PlatformError> {
    match platform.store.log().log_seq(&id).await? {
        Some((_, owner)) if owner == tenant.id => {}
        _ => return Err(PlatformError::not_found("evidence", &id)),
    }
    Ok(Json(platform.prove_evidence(&id, !tenant.sensitive).await?))
}
