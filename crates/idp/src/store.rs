//! The SQL store of the provider, on SQLite or PostgreSQL. Times are Unix seconds.

use hanko_store::sqlx::{self, Row};
use hanko_store::{Db, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::authorize::AuthRequest;
use crate::clients::{Client, ClientConfig};

/// The provider's tables on one database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) db: Db,
}

/// An authorization request and what became of it.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    /// Its id: the capability to approve it (in the wallet's URL and the QR code).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The validated request.
    pub request: AuthRequest,
    /// SHA-256 (hex) of the secret in the cookie of the browser that made the request.
    pub browser_hash: String,
    /// `pending`, `approved`, `denied`, `failed`, `done`, `replayed` (its code was presented
    /// twice).
    pub status: String,
    /// The login challenge (its source, `idp`, and its bytes) the card signs.
    pub challenge: Option<(String, Vec<u8>)>,
    /// What the approval proved (JSON), or the error given.
    pub result: Option<serde_json::Value>,
    /// Whether a code was issued.
    pub code_issued: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A grant made by a code exchange.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    /// Its id (`sid` in the access token).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The flow it came from.
    pub flow_id: String,
    /// The pairwise subject.
    pub sub: String,
    /// The granted scope.
    pub scope: String,
    /// The claims userinfo answers (JSON object).
    pub claims: serde_json::Value,
    /// The sign transaction it authorises fetching, if any.
    pub sign_transaction_id: Option<String>,
    /// When its refresh token expires (Unix seconds).
    pub refresh_expires_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Revoked (a code replayed, a refresh token reused).
    pub revoked: bool,
}

/// A sign transaction.
#[derive(Debug, Clone)]
pub struct SignTxRecord {
    /// Its id (a UUID).
    pub id: String,
    /// The client that started it.
    pub client_id: String,
    /// The bytes the card signs: a hash or a DER DigestInfo.
    pub data: Vec<u8>,
    /// `hash` or `digest_info`.
    pub form: String,
    /// `started`, `bound` (an authorization request names it), `signed`, `fetched`.
    pub status: String,
    /// The flow that signs it.
    pub flow_id: Option<String>,
    /// The result JWE, once signed.
    pub result: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_json<T: DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}")))
}

fn flow_row(r: &sqlx::any::AnyRow) -> Result<FlowRecord, StoreError> {
    let challenge_id: Option<String> = r.try_get("challenge_id")?;
    let challenge: Option<Vec<u8>> = r.try_get("challenge")?;
    let result: Option<String> = r.try_get("result")?;
    Ok(FlowRecord {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        request: from_json(&r.try_get::<String, _>("request")?)?,
        browser_hash: r.try_get("browser_hash")?,
        status: r.try_get("status")?,
        challenge: challenge_id.zip(challenge),
        result: result.map(|s| from_json(&s)).transpose()?,
        code_issued: r.try_get::<Option<String>, _>("code_hash")?.is_some(),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

fn grant_row(r: &sqlx::any::AnyRow) -> Result<GrantRecord, StoreError> {
    Ok(GrantRecord {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        flow_id: r.try_get("flow_id")?,
        sub: r.try_get("sub")?,
        scope: r.try_get("scope")?,
        claims: from_json(&r.try_get::<String, _>("claims")?)?,
        sign_transaction_id: r.try_get("sign_transaction_id")?,
        refresh_expires_at: r.try_get("refresh_expires_at")?,
        created_at: r.try_get("created_at")?,
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    })
}

fn sign_row(r: &sqlx::any::AnyRow) -> Result<SignTxRecord, StoreError> {
    Ok(SignTxRecord {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        data: r.try_get("data")?,
        form: r.try_get("form")?,
        status: r.try_get("status")?,
        flow_id: r.try_get("flow_id")?,
        result: r.try_get("result")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

/// What taking a code found.
#[derive(Debug)]
pub enum TakenCode {
    /// The code is fresh: its flow (now marked used).
    Fresh(Box<FlowRecord>),
    /// The code was used before (the flow's grants should be revoked): the flow id.
    Replayed(String),
    /// Unknown or expired.
    Invalid,
}

impl SqlStore {
    /// Applies the provider's migrations to `db`.
    pub async fn new(db: Db) -> Result<SqlStore, StoreError> {
        db.migrate("idp", crate::schema::MIGRATIONS).await?;
        Ok(SqlStore { db })
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    // --- clients and admin keys ---------------------------------------------------------

    /// Adds a client; `false` when the id is taken.
    pub async fn add_client(&self, c: &Client, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO clients (id, name, config, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(to_json(&c.config)?)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a client's name and settings; `false` when there is no such client.
    pub async fn update_client(&self, c: &Client) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE clients SET name = $2, config = $3 WHERE id = $1")
            .bind(&c.id)
            .bind(&c.name)
            .bind(to_json(&c.config)?)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A client (disabled ones too).
    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query("SELECT id, name, config, disabled_at FROM clients WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| {
            Ok(Client {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                config: from_json::<ClientConfig>(&r.try_get::<String, _>("config")?)?,
                disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// Every client id, sorted.
    pub async fn client_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM clients ORDER BY id").fetch_all(self.db.pool()).await?)
    }

    /// Disables a client and revokes its grants (their access and refresh tokens stop working);
    /// `false` when there is no such active client.
    pub async fn disable_client(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let done = sqlx::query("UPDATE clients SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE grants SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores an admin key's hash.
    pub async fn add_admin_key(&self, hash: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO admin_keys (hash, created_at) VALUES ($1, $2)")
            .bind(hash)
            .bind(now)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Whether `hash` is an active admin key.
    pub async fn admin_key_active(&self, hash: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admin_keys WHERE hash = $1 AND disabled_at IS NULL")
            .bind(hash)
            .fetch_one(self.db.pool())
            .await?;
        Ok(n > 0)
    }

    // --- flows ----------------------------------------------------------------------------

    /// Stores a new authorization request.
    pub async fn add_flow(&self, f: &FlowRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO flows (id, client_id, request, browser_hash, status, created_at, expires_at, challenge_id, challenge) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&f.id)
        .bind(&f.client_id)
        .bind(to_json(&f.request)?)
        .bind(&f.browser_hash)
        .bind(&f.status)
        .bind(f.created_at)
        .bind(f.expires_at)
        .bind(f.challenge.as_ref().map(|(id, _)| id.clone()))
        .bind(f.challenge.as_ref().map(|(_, b)| b.clone()))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A flow.
    pub async fn flow(&self, id: &str) -> Result<Option<FlowRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM flows WHERE id = $1").bind(id).fetch_optional(self.db.pool()).await?;
        row.as_ref().map(flow_row).transpose()
    }

    /// Ends a pending flow with `status` and `result`; `false` when it was not pending (another
    /// approval or a cancel won).
    pub async fn finish_flow(&self, id: &str, status: &str, result: &serde_json::Value) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE flows SET status = $2, result = $3 WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .bind(status)
            .bind(to_json(result)?)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Issues the code of an approved flow (once); `false` when a code was issued already. The
    /// flow is kept until `keep_until` (to recognise a replayed code).
    pub async fn issue_code(
        &self,
        id: &str,
        code_hash: &str,
        expires_at: i64,
        keep_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE flows SET code_hash = $2, code_expires_at = $3, expires_at = $4 \
             WHERE id = $1 AND status = 'approved' AND code_hash IS NULL",
        )
        .bind(id)
        .bind(code_hash)
        .bind(expires_at)
        .bind(keep_until)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses up a code at `now` (once, on whichever node asks first).
    pub async fn take_code(&self, code_hash: &str, now: i64) -> Result<TakenCode, StoreError> {
        let done = sqlx::query(
            "UPDATE flows SET code_used_at = $2, status = 'done' \
             WHERE code_hash = $1 AND code_used_at IS NULL AND code_expires_at >= $2",
        )
        .bind(code_hash)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        let row = sqlx::query("SELECT * FROM flows WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else { return Ok(TakenCode::Invalid) };
        let flow = flow_row(&row)?;
        if done.rows_affected() == 1 {
            return Ok(TakenCode::Fresh(Box::new(flow)));
        }
        let used: Option<i64> = row.try_get("code_used_at")?;
        Ok(if used.is_some() { TakenCode::Replayed(flow.id) } else { TakenCode::Invalid })
    }

    /// Marks a flow whose code was presented again (`status = 'replayed'`).
    pub async fn mark_code_replayed(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE flows SET status = 'replayed' WHERE id = $1").bind(id).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Clears what a flow proved (the 4 facts): after the code exchange.
    pub async fn clear_flow_result(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE flows SET result = NULL WHERE id = $1").bind(id).execute(self.db.pool()).await?;
        Ok(())
    }

    // --- grants ---------------------------------------------------------------------------

    /// Stores a grant with the hash of its refresh token.
    pub async fn add_grant(&self, g: &GrantRecord, refresh_hash: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO grants (id, client_id, flow_id, sub, scope, claims, sign_transaction_id, refresh_hash, \
             refresh_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.flow_id)
        .bind(&g.sub)
        .bind(&g.scope)
        .bind(to_json(&g.claims)?)
        .bind(&g.sign_transaction_id)
        .bind(refresh_hash)
        .bind(g.refresh_expires_at)
        .bind(g.created_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A grant.
    pub async fn grant(&self, id: &str) -> Result<Option<GrantRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM grants WHERE id = $1").bind(id).fetch_optional(self.db.pool()).await?;
        row.as_ref().map(grant_row).transpose()
    }

    /// The grant a refresh token belongs to, with whether the token is its current one.
    pub async fn grant_by_refresh(&self, hash: &str) -> Result<Option<GrantRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM grants WHERE refresh_hash = $1")
            .bind(hash)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(grant_row).transpose()
    }

    /// Rotates a grant's refresh token from `old` to `new` (once: `false` when `old` is no
    /// longer current or the grant is revoked).
    pub async fn rotate_refresh(&self, id: &str, old: &str, new: &str, expires_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE grants SET refresh_hash = $3, refresh_expires_at = $4 \
             WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(old)
        .bind(new)
        .bind(expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes a grant.
    pub async fn revoke_grant(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Revokes every grant made from a flow (its code was replayed).
    pub async fn revoke_flow_grants(&self, flow_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $2 WHERE flow_id = $1 AND revoked_at IS NULL")
            .bind(flow_id)
            .bind(now)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    // --- client assertions -----------------------------------------------------------------

    /// Uses up assertion `jti` of `client_id` (kept until `expires_at`); `false` when it was
    /// used before.
    pub async fn use_assertion(&self, client_id: &str, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO used_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO NOTHING",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // --- sign transactions -----------------------------------------------------------------

    /// Stores a new sign transaction.
    pub async fn add_sign_tx(&self, t: &SignTxRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sign_transactions (id, client_id, data, form, status, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(&t.client_id)
        .bind(&t.data)
        .bind(&t.form)
        .bind(&t.status)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A sign transaction.
    pub async fn sign_tx(&self, id: &str) -> Result<Option<SignTxRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM sign_transactions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(sign_row).transpose()
    }

    /// Binds a started transaction to the flow that will sign it (once).
    pub async fn bind_sign_tx(&self, id: &str, flow_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sign_transactions SET status = 'bound', flow_id = $2 WHERE id = $1 AND status = 'started'",
        )
        .bind(id)
        .bind(flow_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the result of a bound transaction (once).
    pub async fn complete_sign_tx(&self, id: &str, flow_id: &str, result: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sign_transactions SET status = 'signed', result = $3 WHERE id = $1 AND flow_id = $2 AND status = 'bound'",
        )
        .bind(id)
        .bind(flow_id)
        .bind(result)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // --- housekeeping ------------------------------------------------------------------------

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    /// Deletes what expired before `now` (grants whose refresh token expired, flows, used
    /// assertions, sign transactions); the rows deleted. A flow stays as long as a grant made
    /// from it: its code presented again, however late, still revokes that grant.
    pub async fn purge(&self, now: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for q in [
            "DELETE FROM grants WHERE refresh_expires_at IS NOT NULL AND refresh_expires_at < $1",
            "DELETE FROM flows WHERE expires_at < $1 AND NOT EXISTS (SELECT 1 FROM grants WHERE grants.flow_id = flows.id)",
            "DELETE FROM used_assertions WHERE expires_at < $1",
            "DELETE FROM sign_transactions WHERE expires_at < $1",
        ] {
            n += sqlx::query(q).bind(now).execute(self.db.pool()).await?.rows_affected();
        }
        Ok(n)
    }
}
