//! The authority's tables, per dialect. Times are Unix seconds (BIGINT), serials upper-case hex
//! (TEXT), certificates and documents bytes (BLOB / BYTEA). The two files differ only in the
//! identity column and the bytes type; a test checks that.

use hanko_store::Migration;

/// The migrations of the authority service.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "authority register, publication, verifiers, consents, metering",
    sqlite: include_str!("schema/sqlite.sql"),
    postgres: include_str!("schema/postgres.sql"),
}];

#[cfg(test)]
mod tests {
    #[test]
    fn the_dialects_differ_only_in_identity_and_bytes() {
        let sqlite = super::MIGRATIONS[0].sqlite.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "IDENTITY");
        let postgres = super::MIGRATIONS[0]
            .postgres
            .replace("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "IDENTITY")
            .replace("BYTEA", "BLOB");
        let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&sqlite), body(&postgres));
    }
}
