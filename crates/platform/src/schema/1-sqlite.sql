-- Service providers (SP事業者 + サービス) served by this platform.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    sp_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    name TEXT NOT NULL,
    check_method TEXT NOT NULL,
    facts TEXT NOT NULL,
    sensitive BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (sp_id, service_id)
);
-- API keys: only their SHA-256. role 'sp' (tenant_id set) or 'admin' (the platform's operators).
CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id),
    environment TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
-- Every verification, in one sequence (the evidence log).
CREATE TABLE evidence (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    result TEXT NOT NULL,
    user_id TEXT,
    record BLOB NOT NULL
);
CREATE INDEX evidence_tenant ON evidence (tenant_id, seq);
-- Tenant-scoped user ids, and the certificates known to belong to each.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX users_tenant ON users (tenant_id, created_at);
CREATE TABLE user_certificates (
    tenant_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, serial)
);
CREATE INDEX user_certificates_user ON user_certificates (user_id);
