//! The bank's tables. Times are Unix seconds (BIGINT); bytes BLOB / BYTEA. The dialects differ
//! only in the bytes type; a test checks that.

use hanko_store::Migration;

/// The migrations of the bank.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "accounts, verification records, flows, sessions, contracts, webhook events, settings",
        sqlite: include_str!("schema/1-sqlite.sql"),
        postgres: include_str!("schema/1-postgres.sql"),
    },
    Migration {
        version: 2,
        description: "account applications; one account per platform user",
        sqlite: include_str!("schema/2-sqlite.sql"),
        postgres: include_str!("schema/2-postgres.sql"),
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_dialects_differ_only_in_bytes() {
        for m in super::MIGRATIONS {
            assert_eq!(m.sqlite, m.postgres.replace("BYTEA", "BLOB"), "migration {}", m.version);
        }
    }
}
