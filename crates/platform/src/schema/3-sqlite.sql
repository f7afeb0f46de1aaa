-- Identity (issue 9, items 2 "user authentication" and "user identity").
-- What the platform knows of each bound certificate: its expiry (when seen), how it was bound
-- (seen / corresponding / successor), and the successor it was followed to.
ALTER TABLE user_certificates ADD COLUMN not_after BIGINT;
ALTER TABLE user_certificates ADD COLUMN source TEXT NOT NULL DEFAULT 'seen';
ALTER TABLE user_certificates ADD COLUMN successor TEXT;
ALTER TABLE user_certificates ADD COLUMN successor_asked_at BIGINT;
CREATE INDEX user_certificates_open ON user_certificates (tenant_id, successor);
CREATE INDEX users_tenant_id ON users (tenant_id, id);
-- The CRL set (issuer:number list) each tenant's certificates were last scanned against for
-- successor links.
CREATE TABLE identity_scans (
    tenant_id TEXT PRIMARY KEY,
    crl_mark TEXT NOT NULL,
    scanned_at BIGINT NOT NULL
);
-- One-time login challenges: any node may consume one; used ones are kept until they expire,
-- so that a replay is told apart from an unknown challenge.
CREATE TABLE auth_challenges (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    challenge BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX auth_challenges_tenant ON auth_challenges (tenant_id, expires_at);
-- Status checks made for a user (liveness, certificate status): the status history.
CREATE TABLE status_checks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT,
    certificate_type TEXT NOT NULL,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    checked_at BIGINT NOT NULL
);
CREATE INDEX status_checks_user ON status_checks (tenant_id, user_id, checked_at);
