-- The demo bank's tables. Times are Unix seconds; bytes use the dialect's byte type.

-- Customers. `sub` is the authentication app's pairwise subject for the bank (login);
-- `platform_user_id` the platform's id of the person for the bank (follows serial linkage).
CREATE TABLE bank_accounts (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    sub TEXT UNIQUE,
    platform_user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    occupation TEXT NOT NULL,
    purpose TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    changed_at BIGINT,
    change_note TEXT,
    consent_id TEXT
);
CREATE INDEX bank_accounts_user ON bank_accounts (platform_user_id);

-- Verification records (確認記録), kept 7 years: the record as built by hanko_sp::kyc, as JSON.
CREATE TABLE bank_records (
    id TEXT PRIMARY KEY,
    account_id TEXT,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retain_until BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX bank_records_account ON bank_records (account_id);

-- OpenID Connect requests waiting for the user: keyed by `state`, single use.
CREATE TABLE bank_flows (
    state TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    browser TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    sign_tx TEXT,
    digest BLOB,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Logged-in browsers: the SHA-256 of the cookie.
CREATE TABLE bank_sessions (
    id_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Signed contracts: the PDF, its detached CMS signature, the platform's evidence id.
CREATE TABLE bank_contracts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    title TEXT NOT NULL,
    pdf BLOB NOT NULL,
    cms BLOB,
    evidence_id TEXT,
    created_at BIGINT NOT NULL,
    signed_at BIGINT
);
CREATE INDEX bank_contracts_account ON bank_contracts (account_id);

-- Webhook events from the platform, once per webhook-id.
CREATE TABLE bank_events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL
);

-- Small settings: the webhook secret.
CREATE TABLE bank_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
