-- The meter: per JST month, tenant ('-': the platform's own line) and kind, what was used and
-- what the authority charges for it. Nodes add to it with additive upserts.
CREATE TABLE meter (
    month TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL,
    yen BIGINT NOT NULL,
    PRIMARY KEY (month, tenant_id, kind)
);
