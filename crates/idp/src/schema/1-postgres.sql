-- Registered clients (RPs). `config` is the client's settings as JSON (clients.rs).
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
-- The provider's admin API keys (SHA-256 hex of the key).
CREATE TABLE admin_keys (
    hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
-- Authorization requests waiting for the user, then their code. `request` is the validated
-- parameters (JSON); `result` what the user's card proved (JSON), cleared when the code is
-- exchanged or the request expires.
CREATE TABLE flows (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    request TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    challenge_id TEXT,
    challenge BYTEA,
    result TEXT,
    code_hash TEXT UNIQUE,
    code_expires_at BIGINT,
    code_used_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX flows_expiry ON flows (expires_at);
-- Grants made by a code exchange: what userinfo answers, the refresh token (hash, rotated).
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    scope TEXT NOT NULL,
    claims TEXT NOT NULL,
    sign_transaction_id TEXT,
    refresh_hash TEXT UNIQUE,
    refresh_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX grants_flow ON grants (flow_id);
-- Client assertion ids already used (single use until they expire).
CREATE TABLE used_assertions (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_assertions_expiry ON used_assertions (expires_at);
-- Sign transactions: the submitted bytes (a hash or a DigestInfo), then the JWE result.
CREATE TABLE sign_transactions (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    data BYTEA NOT NULL,
    form TEXT NOT NULL,
    status TEXT NOT NULL,
    flow_id TEXT,
    result TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sign_transactions_expiry ON sign_transactions (expires_at);
