-- Monitoring (現況確認): the users each SP has its platform watch.
CREATE TABLE monitoring_subscriptions (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
-- What monitoring saw: one row per (tenant, user, certificate, revocation) — the unique key makes
-- a second run or a second node a no-op — and the webhook outbox of its event. delivery:
-- pending / delivered / failed, or folded (the pair's other certificate carries the event).
CREATE TABLE monitoring_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    reason TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body BLOB NOT NULL,
    facts_pending BIGINT NOT NULL,
    delivery TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    UNIQUE (tenant_id, user_id, serial, reason, revoked_at)
);
CREATE INDEX monitoring_events_due ON monitoring_events (delivery, next_attempt_at);
CREATE INDEX monitoring_events_tenant ON monitoring_events (tenant_id, created_at);
-- One webhook endpoint per tenant, with its signing secret.
CREATE TABLE webhooks (
    tenant_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- Consents relayed to the authority (最新の利用者情報), by the authority's consent id.
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    items TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    given_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    withdrawn_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX consents_user ON consents (tenant_id, user_id);
-- Cursors of polls (the authority's consent withdrawals).
CREATE TABLE poll_cursors (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
