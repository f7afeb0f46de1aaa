-- The evidence log (RFC 9162 Merkle tree over the evidence records, docs/platform-evidence.md).
-- record holds the canonical leaf bytes; leaf_hash = SHA-256(0x00 || record), kept when a
-- retention purge empties record so that the tree stays verifiable.
ALTER TABLE evidence ADD COLUMN leaf_hash BYTEA;
ALTER TABLE evidence ADD COLUMN purged_at BIGINT;
CREATE INDEX evidence_created ON evidence (created_at);
-- The log's size, one row: every append updates it first in its transaction, which serialises
-- the appends of every node (a row lock on PostgreSQL, the write lock on SQLite).
CREATE TABLE evidence_head (
    id BIGINT PRIMARY KEY,
    size BIGINT NOT NULL
);
INSERT INTO evidence_head (id, size) SELECT 0, COALESCE(MAX(seq) + 1, 0) FROM evidence;
-- Hashes of the complete subtrees of 2^level leaves (level >= 1), written with the leaf that
-- completes them; proofs read O(log n) of them.
CREATE TABLE evidence_nodes (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
-- Signed checkpoints (C2SP tlog-checkpoint note), each with an RFC 3161 token over the note.
CREATE TABLE evidence_checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    timestamp_token BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
