//! The platform's tables. Times are Unix seconds (BIGINT), serials upper-case hex (TEXT), records
//! bytes (BLOB / BYTEA). The dialects differ only in the bytes type; a test checks that.
//!
//! Areas add their own migrations, numbered in the order they landed.

use hanko_store::Migration;

/// The migrations of the platform service.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "tenants, API keys, evidence, users",
        sqlite: include_str!("schema/1-sqlite.sql"),
        postgres: include_str!("schema/1-postgres.sql"),
    },
    Migration {
        version: 2,
        description: "the evidence log: leaf hashes, tree nodes, checkpoints",
        sqlite: include_str!("schema/2-sqlite.sql"),
        postgres: include_str!("schema/2-postgres.sql"),
    },
    Migration {
        version: 3,
        description: "identity: certificate lineage, login challenges, status checks",
        sqlite: include_str!("schema/3-sqlite.sql"),
        postgres: include_str!("schema/3-postgres.sql"),
    },
    Migration {
        version: 4,
        description: "meter",
        sqlite: include_str!("schema/4-sqlite.sql"),
        postgres: include_str!("schema/4-postgres.sql"),
    },
    Migration {
        version: 5,
        description: "monitoring subscriptions and events (the webhook outbox), webhooks, consents",
        sqlite: include_str!("schema/5-sqlite.sql"),
        postgres: include_str!("schema/5-postgres.sql"),
    },
    Migration {
        version: 6,
        description: "the SP's evidence search by user",
        sqlite: EVIDENCE_BY_USER,
        postgres: EVIDENCE_BY_USER,
    },
];

/// `GET /v1/evidence?user_id=…` reads the user's records only (evidence_api.rs).
const EVIDENCE_BY_USER: &str = "CREATE INDEX evidence_tenant_user ON evidence (tenant_id, user_id, seq)";

#[cfg(test)]
mod tests {
    #[test]
    fn the_dialects_differ_only_in_bytes() {
        for m in super::MIGRATIONS {
            assert_eq!(m.sqlite, m.postgres.replace("BYTEA", "BLOB"), "migration {}", m.version);
        }
    }
}
