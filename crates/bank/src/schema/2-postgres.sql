-- Account applications (口座開設の申込) between the first signature (the 4 facts verified by the
-- platform) and the signed application: bound to the browser that started them, dropped when
-- the account is opened or after an hour. One account per platform user.

CREATE TABLE bank_applications (
    id TEXT PRIMARY KEY,
    browser TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    facts TEXT NOT NULL,
    verification TEXT NOT NULL,
    document BYTEA,
    created_at BIGINT NOT NULL
);
CREATE INDEX bank_applications_browser ON bank_applications (browser);

CREATE UNIQUE INDEX bank_accounts_one_per_user ON bank_accounts (platform_user_id);
