//! Tenant-scoped users and their storage: each SP sees its own id for a person, never the
//! certificate serial (in sensitive-data mode). How a certificate finds its user — across
//! renewal, reissue, a new phone and between a person's signature and auth certificates — is
//! `crate::identity`; the UserService and CertificateService routes are `crate::userapi`.
//!
//! A user id is bound to every certificate (serial) of the person's lineage the platform knows
//! of. An SP that deletes the user removes those bindings: the person's next verification gets a
//! new id.

use async_trait::async_trait;
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use serde::Serialize;
use time::OffsetDateTime;

use crate::store::{from_ts, ts, SqlStore};

/// How a certificate came to be bound to its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BoundBy {
    /// The certificate itself was verified for the tenant.
    Seen,
    /// The authority's corresponding-serial service named it (the other certificate on the same
    /// device, or the phone's signature certificate of a card).
    Corresponding,
    /// The authority's old → new linkage named it as the successor of a known certificate.
    Successor,
}

impl BoundBy {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundBy::Seen => "seen",
            BoundBy::Corresponding => "corresponding",
            BoundBy::Successor => "successor",
        }
    }
    fn parse(s: &str) -> Result<BoundBy, StoreError> {
        match s {
            "seen" => Ok(BoundBy::Seen),
            "corresponding" => Ok(BoundBy::Corresponding),
            "successor" => Ok(BoundBy::Successor),
            _ => Err(StoreError::Corrupt(format!("binding source {s:?}"))),
        }
    }
}

/// A certificate to bind to a user.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Upper-case hex serial.
    pub serial: String,
    /// `signature`, `auth`, `smartphone-signature`, `smartphone-auth`.
    pub kind: String,
    /// notAfter, when the certificate itself was seen.
    pub not_after: Option<OffsetDateTime>,
    /// How it was found.
    pub source: BoundBy,
}

/// A certificate bound to a user.
#[derive(Debug, Clone)]
pub struct BoundCertificate {
    /// The user.
    pub user_id: String,
    /// Upper-case hex serial.
    pub serial: String,
    /// `signature`, `auth`, `smartphone-signature`, `smartphone-auth`.
    pub kind: String,
    /// notAfter, when known.
    pub not_after: Option<OffsetDateTime>,
    /// How it was bound.
    pub source: BoundBy,
    /// The serial it was followed to (renewed, reissued, replaced), if any.
    pub successor: Option<String>,
    /// When the successor was last asked for without an answer.
    pub successor_asked_at: Option<OffsetDateTime>,
    /// When it was bound.
    pub first_seen: OffsetDateTime,
}

/// A user of a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct UserRecord {
    /// The tenant's id for the person.
    pub id: String,
    /// When the platform first saw the person for this tenant.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A one-time login challenge taken for use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Unused and live: now used up; the challenge bytes.
    Fresh(Vec<u8>),
    /// Used already (a replay).
    Used,
    /// Past its lifetime.
    Expired,
    /// No such challenge for this tenant (or another tenant's).
    Unknown,
}

/// A status check made for a user (the status history).
#[derive(Debug, Clone, Serialize)]
pub struct StatusCheck {
    /// Its id.
    pub id: String,
    /// `JPKI_CARD_DIGITAL_SIGNATURE` …
    pub certificate_type: String,
    /// `liveness_check` or `signature_verification`.
    pub check_purpose: String,
    /// `valid`, `revoked`, `expired`.
    pub status: String,
    /// The revocation (reason, meaning, when) and the CRL numbers used.
    pub detail: serde_json::Value,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
}

/// The storage of users, their certificates, login challenges and status checks.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The live user of `tenant` bound to certificate `serial`.
    async fn user_of_serial(&self, tenant_id: &str, serial: &str) -> Result<Option<String>, StoreError>;
    /// The users bound to any of `serials` (serial, user), at most 16 serials.
    async fn users_of_serials(&self, tenant_id: &str, serials: &[String]) -> Result<Vec<(String, String)>, StoreError>;
    /// In one transaction: creates user `user_id` and binds `bindings` to it. The first binding
    /// must be new: when another request bound it first, nothing is written (no orphan user)
    /// and the answer is `false`. The others are bound unless bound already.
    async fn create_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        bindings: &[Binding],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Binds `bindings` to the existing user `user_id` in one transaction (those bound already
    /// are left to their user); a certificate seen now gets its notAfter.
    async fn bind(
        &self,
        tenant_id: &str,
        user_id: &str,
        bindings: &[Binding],
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Records that `serial` was followed to `successor` (or, with `None`, that it was asked
    /// about at `at` and has none yet).
    async fn set_successor(
        &self,
        tenant_id: &str,
        serial: &str,
        successor: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The tenant's bound certificates not yet followed to a successor, with `serial > after`,
    /// in serial order, at most `limit`.
    async fn open_certificates(
        &self,
        tenant_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<BoundCertificate>, StoreError>;
    /// The CRL set the tenant's certificates were last scanned against.
    async fn scan_mark(&self, tenant_id: &str) -> Result<Option<String>, StoreError>;
    /// Records a scan against `mark`.
    async fn set_scan_mark(&self, tenant_id: &str, mark: &str, at: OffsetDateTime) -> Result<(), StoreError>;
    /// A live user.
    async fn user(&self, tenant_id: &str, user_id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// The certificates of a user, oldest binding first.
    async fn user_certificates(&self, tenant_id: &str, user_id: &str) -> Result<Vec<BoundCertificate>, StoreError>;
    /// Live users with `id > after`, created within `[from, to)`, in id order, at most `limit`.
    async fn users(
        &self,
        tenant_id: &str,
        after: &str,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Deletes a user: marks it deleted and removes its certificate bindings and status checks;
    /// `false` when there was no such live user.
    async fn delete_user(&self, tenant_id: &str, user_id: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// Stores a login challenge unless the tenant has `max_live` unexpired, unused ones already
    /// (`false` then); removes the tenant's challenges that expired before `purge_before`.
    #[allow(clippy::too_many_arguments)]
    async fn add_challenge(
        &self,
        tenant_id: &str,
        id: &str,
        challenge: &[u8],
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
        max_live: i64,
        purge_before: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Uses up challenge `id` of the tenant at `now` (once, on whichever node asks first).
    async fn take_challenge(&self, tenant_id: &str, id: &str, now: OffsetDateTime) -> Result<Taken, StoreError>;
    /// Records a status check.
    async fn add_status_check(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
        check: &StatusCheck,
    ) -> Result<(), StoreError>;
    /// A user's status checks, newest first (ids sort by time), at most `limit`.
    async fn status_checks(&self, tenant_id: &str, user_id: &str, limit: i64) -> Result<Vec<StatusCheck>, StoreError>;
}

fn bound_row(r: &sqlx::any::AnyRow) -> Result<BoundCertificate, StoreError> {
    Ok(BoundCertificate {
        user_id: r.try_get("user_id")?,
        serial: r.try_get("serial")?,
        kind: r.try_get("kind")?,
        not_after: r.try_get::<Option<i64>, _>("not_after")?.map(from_ts).transpose()?,
        source: BoundBy::parse(&r.try_get::<String, _>("source")?)?,
        successor: r.try_get("successor")?,
        successor_asked_at: r.try_get::<Option<i64>, _>("successor_asked_at")?.map(from_ts).transpose()?,
        first_seen: from_ts(r.try_get("first_seen")?)?,
    })
}

fn user_row(r: &sqlx::any::AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord { id: r.try_get("id")?, created_at: from_ts(r.try_get("created_at")?)? })
}

/// Frees a serial still bound to a deleted user (a deletion racing a verification that bound a
/// new certificate to the user being deleted), so it can be bound anew.
const UNBIND_DELETED: &str = "DELETE FROM user_certificates WHERE tenant_id = $1 AND serial = $2 \
                              AND user_id IN (SELECT id FROM users WHERE tenant_id = $1 AND deleted_at IS NOT NULL)";

const BIND: &str = "INSERT INTO user_certificates (tenant_id, serial, kind, user_id, first_seen, not_after, source) \
                    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, serial) DO NOTHING";

#[async_trait]
impl UserStore for SqlStore {
    async fn user_of_serial(&self, tenant_id: &str, serial: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query(
            "SELECT c.user_id FROM user_certificates c JOIN users u ON u.id = c.user_id \
             WHERE c.tenant_id = $1 AND c.serial = $2 AND u.deleted_at IS NULL",
        )
        .bind(tenant_id)
        .bind(serial)
        .fetch_optional(self.db.pool())
        .await?
        .map(|r| r.try_get("user_id"))
        .transpose()?)
    }

    async fn users_of_serials(&self, tenant_id: &str, serials: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let serials = &serials[..serials.len().min(16)];
        if serials.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..serials.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT c.serial, c.user_id FROM user_certificates c JOIN users u ON u.id = c.user_id \
             WHERE c.tenant_id = $1 AND u.deleted_at IS NULL AND c.serial IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(tenant_id);
        for s in serials {
            q = q.bind(s);
        }
        q.fetch_all(self.db.pool()).await?.iter().map(|r| Ok((r.try_get("serial")?, r.try_get("user_id")?))).collect()
    }

    async fn create_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        bindings: &[Binding],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("INSERT INTO users (id, tenant_id, created_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(tenant_id)
            .bind(ts(at))
            .execute(&mut *tx)
            .await?;
        for (i, b) in bindings.iter().enumerate() {
            sqlx::query(UNBIND_DELETED).bind(tenant_id).bind(&b.serial).execute(&mut *tx).await?;
            let done = sqlx::query(BIND)
                .bind(tenant_id)
                .bind(&b.serial)
                .bind(&b.kind)
                .bind(user_id)
                .bind(ts(at))
                .bind(b.not_after.map(ts))
                .bind(b.source.as_str())
                .execute(&mut *tx)
                .await?;
            if i == 0 && done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn bind(
        &self,
        tenant_id: &str,
        user_id: &str,
        bindings: &[Binding],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        for b in bindings {
            sqlx::query(UNBIND_DELETED).bind(tenant_id).bind(&b.serial).execute(&mut *tx).await?;
            sqlx::query(BIND)
                .bind(tenant_id)
                .bind(&b.serial)
                .bind(&b.kind)
                .bind(user_id)
                .bind(ts(at))
                .bind(b.not_after.map(ts))
                .bind(b.source.as_str())
                .execute(&mut *tx)
                .await?;
            if let Some(not_after) = b.not_after {
                sqlx::query(
                    "UPDATE user_certificates SET not_after = $3 WHERE tenant_id = $1 AND serial = $2 AND not_after IS NULL",
                )
                .bind(tenant_id)
                .bind(&b.serial)
                .bind(ts(not_after))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_successor(
        &self,
        tenant_id: &str,
        serial: &str,
        successor: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE user_certificates SET successor = $3, successor_asked_at = $4 WHERE tenant_id = $1 AND serial = $2",
        )
        .bind(tenant_id)
        .bind(serial)
        .bind(successor)
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn open_certificates(
        &self,
        tenant_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<BoundCertificate>, StoreError> {
        sqlx::query(
            "SELECT * FROM user_certificates WHERE tenant_id = $1 AND successor IS NULL AND serial > $2 \
             ORDER BY serial LIMIT $3",
        )
        .bind(tenant_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(bound_row)
        .collect()
    }

    async fn scan_mark(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT crl_mark FROM identity_scans WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(self.db.pool())
            .await?
            .map(|r| r.try_get("crl_mark"))
            .transpose()?)
    }

    async fn set_scan_mark(&self, tenant_id: &str, mark: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO identity_scans (tenant_id, crl_mark, scanned_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET crl_mark = excluded.crl_mark, scanned_at = excluded.scanned_at",
        )
        .bind(tenant_id)
        .bind(mark)
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn user(&self, tenant_id: &str, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        sqlx::query("SELECT id, created_at FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    async fn user_certificates(&self, tenant_id: &str, user_id: &str) -> Result<Vec<BoundCertificate>, StoreError> {
        sqlx::query(
            "SELECT * FROM user_certificates WHERE tenant_id = $1 AND user_id = $2 ORDER BY first_seen, serial LIMIT 1000",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(bound_row)
        .collect()
    }

    async fn users(
        &self,
        tenant_id: &str,
        after: &str,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        sqlx::query(
            "SELECT id, created_at FROM users WHERE tenant_id = $1 AND deleted_at IS NULL AND id > $2 \
             AND created_at >= $3 AND created_at < $4 ORDER BY id LIMIT $5",
        )
        .bind(tenant_id)
        .bind(after)
        .bind(from.map(ts).unwrap_or(i64::MIN))
        .bind(to.map(ts).unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(user_row)
        .collect()
    }

    async fn delete_user(&self, tenant_id: &str, user_id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let done =
            sqlx::query("UPDATE users SET deleted_at = $3 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(tenant_id)
                .bind(user_id)
                .bind(ts(at))
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for table in ["user_certificates", "status_checks"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND user_id = $2"))
                .bind(tenant_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn add_challenge(
        &self,
        tenant_id: &str,
        id: &str,
        challenge: &[u8],
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
        max_live: i64,
        purge_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM auth_challenges WHERE tenant_id = $1 AND expires_at < $2")
            .bind(tenant_id)
            .bind(ts(purge_before))
            .execute(self.db.pool())
            .await?;
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM auth_challenges WHERE tenant_id = $1 AND expires_at >= $2 AND used_at IS NULL",
        )
        .bind(tenant_id)
        .bind(ts(at))
        .fetch_one(self.db.pool())
        .await?;
        if live >= max_live {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO auth_challenges (id, tenant_id, challenge, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(challenge)
        .bind(ts(at))
        .bind(ts(expires_at))
        .execute(self.db.pool())
        .await?;
        Ok(true)
    }

    async fn take_challenge(&self, tenant_id: &str, id: &str, now: OffsetDateTime) -> Result<Taken, StoreError> {
        // One conditional UPDATE: of two nodes taking the same challenge, exactly one changes
        // the row.
        let done = sqlx::query(
            "UPDATE auth_challenges SET used_at = $3 WHERE tenant_id = $1 AND id = $2 AND used_at IS NULL \
             AND expires_at >= $3",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(ts(now))
        .execute(self.db.pool())
        .await?;
        let row =
            sqlx::query("SELECT challenge, expires_at, used_at FROM auth_challenges WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        let Some(row) = row else { return Ok(Taken::Unknown) };
        if done.rows_affected() == 1 {
            return Ok(Taken::Fresh(row.try_get("challenge")?));
        }
        let used: Option<i64> = row.try_get("used_at")?;
        Ok(if used.is_some() { Taken::Used } else { Taken::Expired })
    }

    async fn add_status_check(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
        check: &StatusCheck,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO status_checks (id, tenant_id, user_id, certificate_type, purpose, status, detail, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&check.id)
        .bind(tenant_id)
        .bind(user_id)
        .bind(&check.certificate_type)
        .bind(&check.check_purpose)
        .bind(&check.status)
        .bind(check.detail.to_string())
        .bind(ts(check.checked_at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn status_checks(&self, tenant_id: &str, user_id: &str, limit: i64) -> Result<Vec<StatusCheck>, StoreError> {
        sqlx::query("SELECT * FROM status_checks WHERE tenant_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3")
            .bind(tenant_id)
            .bind(user_id)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(|r| {
                let detail: String = r.try_get("detail")?;
                Ok(StatusCheck {
                    id: r.try_get("id")?,
                    certificate_type: r.try_get("certificate_type")?,
                    check_purpose: r.try_get("purpose")?,
                    status: r.try_get("status")?,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::Corrupt(format!("status detail: {e}")))?,
                    checked_at: from_ts(r.try_get("checked_at")?)?,
                })
            })
            .collect()
    }
}
