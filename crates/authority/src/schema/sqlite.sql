-- The authority schema (SQLite). Keep postgres.sql in step: schema.rs tests that they match.

CREATE TABLE generations (
  ca_kind TEXT NOT NULL, id TEXT NOT NULL, serial TEXT NOT NULL, not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL, certificate BLOB NOT NULL, responder BLOB NOT NULL,
  PRIMARY KEY (ca_kind, id));
CREATE TABLE persons (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, name_map TEXT NOT NULL, sex TEXT NOT NULL, birth TEXT NOT NULL,
  address TEXT NOT NULL, address_map TEXT NOT NULL, prefecture TEXT NOT NULL, municipality TEXT NOT NULL,
  ward BIGINT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE cards (
  id TEXT PRIMARY KEY, person_id TEXT NOT NULL REFERENCES persons (id), device TEXT NOT NULL,
  status TEXT NOT NULL, expiry TEXT NOT NULL, issued_at BIGINT NOT NULL, replaced_by TEXT);
CREATE INDEX cards_person ON cards (person_id);
CREATE TABLE certificates (
  serial TEXT PRIMARY KEY, kind TEXT NOT NULL, ca_kind TEXT NOT NULL, generation TEXT NOT NULL,
  person_id TEXT NOT NULL REFERENCES persons (id), card_id TEXT NOT NULL, reserved_at BIGINT NOT NULL,
  not_before BIGINT, not_after BIGINT, der BLOB, revoked_at BIGINT, reason BIGINT,
  predecessor TEXT, successor TEXT);
CREATE INDEX certificates_person ON certificates (person_id);
CREATE INDEX certificates_card ON certificates (card_id);
CREATE INDEX certificates_revoked ON certificates (ca_kind, generation, revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, at BIGINT NOT NULL);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at BIGINT NOT NULL, person_id TEXT NOT NULL, card_id TEXT, kind TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX events_person ON events (person_id);
CREATE TABLE crl_state (
  ca_kind TEXT NOT NULL, generation TEXT NOT NULL, number BIGINT NOT NULL, this_update BIGINT NOT NULL,
  next_update BIGINT NOT NULL, entries BIGINT NOT NULL, PRIMARY KEY (ca_kind, generation));
CREATE TABLE verifiers (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, environment TEXT NOT NULL, name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, disabled_at BIGINT);
CREATE TABLE verifier_services (
  verifier_id TEXT NOT NULL REFERENCES verifiers (id), sp_id TEXT NOT NULL, service_id TEXT NOT NULL,
  name TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (verifier_id, sp_id, service_id));
CREATE TABLE consents (
  id TEXT PRIMARY KEY, seq BIGINT NOT NULL, person_id TEXT NOT NULL REFERENCES persons (id),
  verifier_id TEXT NOT NULL, sp_id TEXT NOT NULL, service_id TEXT NOT NULL, items TEXT NOT NULL,
  document BLOB NOT NULL, signature BLOB NOT NULL, certificate_serial TEXT NOT NULL, given_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL, withdrawn_at BIGINT, withdrawal_seq BIGINT);
CREATE INDEX consents_verifier ON consents (verifier_id, withdrawal_seq);
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE meter (
  month TEXT NOT NULL, verifier_id TEXT NOT NULL, sp_id TEXT NOT NULL, service_id TEXT NOT NULL,
  kind TEXT NOT NULL, count BIGINT NOT NULL, yen BIGINT NOT NULL,
  PRIMARY KEY (month, verifier_id, sp_id, service_id, kind));
CREATE TABLE meter_once (key TEXT PRIMARY KEY, at BIGINT NOT NULL);
