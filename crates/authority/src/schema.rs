//! The authority's tables, per dialect. Times are Unix seconds (BIGINT), serials upper-case hex
//! (TEXT), certificates and documents bytes (BLOB / BYTEA). The two files differ only in the
//! identity column and the bytes type; a test checks that.

use hanko_store::Migration;

/// The migrations of the authority service.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "authority register, publication, verifiers, consents, metering",
        sqlite: include_str!("schema/sqlite.sql"),
        postgres: include_str!("schema/postgres.sql"),
    },
    Migration { version: 2, description: "covering index for the CRL walk", sqlite: CRL_INDEX, postgres: CRL_INDEX },
    Migration { version: 3, description: "cards being issued", sqlite: ISSUING_INDEX, postgres: ISSUING_INDEX },
    Migration { version: 4, description: "phone enrolment challenges, keys by hash", sqlite: PHONE, postgres: PHONE },
];

/// Smartphone enrolment (`phone.rs`): the one-time challenges the authority issued per card, and
/// every certificate's key by the SHA-256 of its SubjectPublicKeyInfo (hex), so that a key any
/// certificate already carries is refused. Rows from before this migration get their hash at
/// start-up; the pending ones are found through a partial index that is empty once they are done,
/// so the check at every start (and every CLI command) reads nothing on a 20M-row register.
const PHONE: &str = "CREATE TABLE phone_challenges (\
    challenge TEXT PRIMARY KEY, card_id TEXT NOT NULL, expires_at BIGINT NOT NULL); \
    CREATE INDEX phone_challenges_expiry ON phone_challenges (expires_at); \
    ALTER TABLE certificates ADD COLUMN spki_sha256 TEXT; \
    CREATE INDEX certificates_spki ON certificates (spki_sha256) WHERE spki_sha256 IS NOT NULL; \
    CREATE INDEX certificates_spki_pending ON certificates (serial) WHERE der IS NOT NULL AND spki_sha256 IS NULL";

/// The cards still being made (start-up recovery reads only these).
const ISSUING_INDEX: &str = "CREATE INDEX cards_issuing ON cards (id) WHERE status = 'issuing'";

/// The CRL walk (`publish.rs`: one CA generation, unexpired, ordered by revocation time and
/// serial) read from the index alone: on a 20M-entry register SQLite's walk fell from 62 s to
/// 3.9 s, a full publication from 195 s to 33 s (`hanko bench authority --phases crl`).
const CRL_INDEX: &str = "DROP INDEX certificates_revoked; \
    CREATE INDEX certificates_crl ON certificates (ca_kind, generation, revoked_at, serial, not_after, reason) \
    WHERE revoked_at IS NOT NULL";

#[cfg(test)]
mod tests {
    #[test]
    fn the_dialects_differ_only_in_identity_and_bytes() {
        for m in super::MIGRATIONS {
            let sqlite = m.sqlite.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "IDENTITY");
            let postgres = m
                .postgres
                .replace("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "IDENTITY")
                .replace("BYTEA", "BLOB");
            let body = |s: &str| s.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join("\n");
            assert_eq!(body(&sqlite), body(&postgres), "migration {}", m.version);
        }
    }
}
