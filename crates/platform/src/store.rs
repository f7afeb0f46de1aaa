//! The SQL store of the platform: one [`SqlStore`] implements every area's storage trait, on
//! SQLite or PostgreSQL.

use hanko_store::{Db, StoreError};
use time::OffsetDateTime;

/// The platform's tables on one database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) db: Db,
}

impl SqlStore {
    /// Applies the platform's migrations to `db`.
    pub async fn new(db: Db) -> Result<SqlStore, StoreError> {
        db.migrate("platform", crate::schema::MIGRATIONS).await?;
        Ok(SqlStore { db })
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

pub(crate) fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub(crate) fn from_ts(t: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|_| StoreError::Corrupt(format!("time {t}")))
}
