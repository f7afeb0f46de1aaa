//! The counter's tables. The first migration has no identity column and no bytes, so the two
//! dialects share one text.

use hanko_store::Migration;

/// The migrations of the counter service.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "counter check records",
    sqlite: include_str!("schema/1.sql"),
    postgres: include_str!("schema/1.sql"),
}];
