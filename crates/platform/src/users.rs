//! Tenant-scoped user ids: each SP sees its own id for a person, never the certificate serial.
//!
//! A user id is bound to the certificates (serials) it has been seen with. An SP that deletes
//! the user gets a new id the next time the person comes.

use async_trait::async_trait;
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::{ts, SqlStore};
use crate::Platform;

/// The storage of users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The live user of `tenant` bound to certificate `serial`.
    async fn user_of_serial(&self, tenant_id: &str, serial: &str) -> Result<Option<String>, StoreError>;
    /// Creates user `user_id` of `tenant`.
    async fn add_user(&self, tenant_id: &str, user_id: &str, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Binds certificate `serial` (of `kind`) to a user; `false` when it was bound already.
    async fn bind_serial(
        &self,
        tenant_id: &str,
        serial: &str,
        kind: &str,
        user_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl UserStore for SqlStore {
    async fn user_of_serial(&self, tenant_id: &str, serial: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT user_id FROM user_certificates WHERE tenant_id = $1 AND serial = $2")
            .bind(tenant_id)
            .bind(serial)
            .fetch_optional(self.db.pool())
            .await?
            .map(|r| r.try_get("user_id"))
            .transpose()?)
    }

    async fn add_user(&self, tenant_id: &str, user_id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO users (id, tenant_id, created_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(tenant_id)
            .bind(ts(at))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn bind_serial(
        &self,
        tenant_id: &str,
        serial: &str,
        kind: &str,
        user_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO user_certificates (tenant_id, serial, kind, user_id, first_seen) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, serial) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(serial)
        .bind(kind)
        .bind(user_id)
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Platform {
    /// The tenant's user id for a verified certificate: the one bound to its serial, else a new
    /// one. (Two requests racing for a new serial agree: the first binding wins.)
    pub async fn user_for(&self, tenant_id: &str, serial: &str, kind: &str) -> Result<String, PlatformError> {
        if let Some(id) = self.store.user_of_serial(tenant_id, serial).await? {
            return Ok(id);
        }
        let now = self.clock.now();
        let id = crate::new_id();
        self.store.add_user(tenant_id, &id, now).await?;
        if self.store.bind_serial(tenant_id, serial, kind, &id, now).await? {
            return Ok(id);
        }
        self.store
            .user_of_serial(tenant_id, serial)
            .await?
            .ok_or_else(|| PlatformError::Store(StoreError::Corrupt("user binding vanished".into())))
    }
}
