-- The counter's records (確認記録, shared/spec/40-id-documents.md §4): created when a check
-- passes, kept 7 years. Times are Unix seconds. Never an access code, never the My Number.
-- `number_b_tail`: for the My Number Card, the 8 digits of 照合番号B without the birth date
-- (expiry year ‖ security code; 50-scenarios.md §4). `details`: JSON, only under an opt-in
-- policy (`aml`: the record items of the AML law, still without the My Number). `verification`:
-- `signature` when the issuer's signature verified something on the document, `none` when it
-- carried no signature (an under-16 residence card): read, not verified.
CREATE TABLE counter_records (
    id TEXT PRIMARY KEY,
    checked_at BIGINT NOT NULL,
    document TEXT NOT NULL,
    number_b_tail TEXT,
    policy TEXT NOT NULL,
    verification TEXT NOT NULL,
    details TEXT,
    retain_until BIGINT NOT NULL
);
CREATE INDEX counter_records_checked ON counter_records (checked_at);
CREATE INDEX counter_records_retain ON counter_records (retain_until);
