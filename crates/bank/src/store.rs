//! The bank's storage: one SQL layer over SQLite or PostgreSQL (hanko_store).

use hanko_store::sqlx::{self, Row};
use hanko_store::{Db, StoreError};
use serde_json::Value;

/// A customer account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Internal id.
    pub id: String,
    /// The account number shown to the customer (7 digits).
    pub number: String,
    /// The pairwise `sub` of the authentication app (login), once known.
    pub sub: Option<String>,
    /// The platform's user id for the bank.
    pub platform_user_id: String,
    /// 氏名 from the signature certificate.
    pub name: String,
    /// 住所.
    pub address: String,
    /// 生年月日 (`YYYY-MM-DD`, or as the certificate has it).
    pub birth_date: String,
    /// 性別.
    pub sex: String,
    /// 職業 (the customer's declaration).
    pub occupation: String,
    /// 取引を行う目的.
    pub purpose: String,
    /// When opened.
    pub opened_at: i64,
    /// When the platform reported a change (異動), if it did.
    pub changed_at: Option<i64>,
    /// What changed, for the dashboard.
    pub change_note: Option<String>,
    /// The latest-facts consent at the platform, once given.
    pub consent_id: Option<String>,
}

/// A pending OpenID Connect flow.
#[derive(Debug, Clone)]
pub struct Flow {
    /// `state`.
    pub state: String,
    /// What it is for (`login`, `open`, `apply`, `age`, `contract`, `consent`, `recover`).
    pub kind: String,
    /// The browser's flow cookie value it belongs to.
    pub browser: String,
    /// The ID token's expected nonce.
    pub nonce: String,
    /// PKCE verifier.
    pub pkce_verifier: String,
    /// The sign transaction, for a signature.
    pub sign_tx: Option<String>,
    /// What the card was asked to sign (a DER DigestInfo).
    pub digest: Option<Vec<u8>>,
    /// Anything the step needs afterwards (JSON).
    pub data: Value,
    /// When started.
    pub created_at: i64,
}

/// A contract: the PDF the customer signs, then its detached CMS signature.
#[derive(Debug, Clone)]
pub struct Contract {
    /// Internal id (in the download URLs).
    pub id: String,
    /// The customer's account.
    pub account_id: String,
    /// What it is.
    pub title: String,
    /// The PDF.
    pub pdf: Vec<u8>,
    /// The CMS `SignedData` (detached), once signed.
    pub cms: Option<Vec<u8>>,
    /// The platform's evidence id of the CMS verification, once signed.
    pub evidence_id: Option<String>,
    /// When made.
    pub created_at: i64,
    /// When signed.
    pub signed_at: Option<i64>,
}

/// The bank's tables.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

fn account(r: &sqlx::any::AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        sub: r.try_get("sub")?,
        platform_user_id: r.try_get("platform_user_id")?,
        name: r.try_get("name")?,
        address: r.try_get("address")?,
        birth_date: r.try_get("birth_date")?,
        sex: r.try_get("sex")?,
        occupation: r.try_get("occupation")?,
        purpose: r.try_get("purpose")?,
        opened_at: r.try_get("opened_at")?,
        changed_at: r.try_get("changed_at")?,
        change_note: r.try_get("change_note")?,
        consent_id: r.try_get("consent_id")?,
    })
}

const ACCOUNT_COLUMNS: &str =
    "id, number, sub, platform_user_id, name, address, birth_date, sex, occupation, purpose, \
                               opened_at, changed_at, change_note, consent_id";

impl Store {
    /// Opens the store, applying the migrations.
    pub async fn new(db: Db) -> Result<Store, StoreError> {
        db.migrate("bank", crate::schema::MIGRATIONS).await?;
        Ok(Store { db })
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Adds an account.
    pub async fn add_account(&self, a: &Account) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO bank_accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&a.id)
        .bind(&a.number)
        .bind(&a.sub)
        .bind(&a.platform_user_id)
        .bind(&a.name)
        .bind(&a.address)
        .bind(&a.birth_date)
        .bind(&a.sex)
        .bind(&a.occupation)
        .bind(&a.purpose)
        .bind(a.opened_at)
        .bind(a.changed_at)
        .bind(&a.change_note)
        .bind(&a.consent_id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn account_where(&self, clause: &str, value: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM bank_accounts WHERE {clause} = $1 ORDER BY opened_at LIMIT 1"
        ))
        .bind(value)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(account).transpose()
    }

    /// The account `id`.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.account_where("id", id).await
    }

    /// The account of a pairwise `sub`.
    pub async fn account_by_sub(&self, sub: &str) -> Result<Option<Account>, StoreError> {
        self.account_where("sub", sub).await
    }

    /// The (first) account of a platform user.
    pub async fn account_by_user(&self, user_id: &str) -> Result<Option<Account>, StoreError> {
        self.account_where("platform_user_id", user_id).await
    }

    /// Every account, newest first (the staff dashboard; the demo has a handful).
    pub async fn accounts(&self, limit: i64) -> Result<Vec<Account>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM bank_accounts ORDER BY opened_at DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?;
        rows.iter().map(account).collect()
    }

    /// Binds an account to a login `sub` (recovery, or the first login), and to the platform's
    /// user id (which may have changed after a new card).
    pub async fn bind_account(&self, id: &str, sub: Option<&str>, user_id: &str) -> Result<(), StoreError> {
        if let Some(sub) = sub {
            // A `sub` belongs to one account: release it elsewhere first.
            sqlx::query("UPDATE bank_accounts SET sub = NULL WHERE sub = $1 AND id <> $2")
                .bind(sub)
                .bind(id)
                .execute(self.db.pool())
                .await?;
        }
        sqlx::query("UPDATE bank_accounts SET sub = COALESCE($1, sub), platform_user_id = $2 WHERE id = $3")
            .bind(sub)
            .bind(user_id)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Records a change (異動) reported for the platform user; returns how many accounts.
    pub async fn mark_changed(
        &self,
        user_id: &str,
        at: i64,
        note: &str,
        address: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE bank_accounts SET changed_at = $1, change_note = $2, address = COALESCE($3, address) \
             WHERE platform_user_id = $4",
        )
        .bind(at)
        .bind(note)
        .bind(address)
        .bind(user_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Sets the account's latest-facts consent.
    pub async fn set_consent(&self, id: &str, consent_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE bank_accounts SET consent_id = $1 WHERE id = $2")
            .bind(consent_id)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Keeps a verification record (JSON) until `retain_until`.
    pub async fn add_record(
        &self,
        id: &str,
        account_id: Option<&str>,
        kind: &str,
        created_at: i64,
        retain_until: i64,
        record: &Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bank_records (id, account_id, kind, created_at, retain_until, record) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(account_id)
        .bind(kind)
        .bind(created_at)
        .bind(retain_until)
        .bind(record.to_string())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A verification record: (account, kind, record).
    pub async fn record(&self, id: &str) -> Result<Option<(Option<String>, String, Value)>, StoreError> {
        let row = sqlx::query("SELECT account_id, kind, record FROM bank_records WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| {
            let text: String = r.try_get("record")?;
            let value = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))?;
            Ok((r.try_get("account_id")?, r.try_get("kind")?, value))
        })
        .transpose()
    }

    /// An account's records, newest first: (id, kind, created_at).
    pub async fn records_of(&self, account_id: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT id, kind, created_at FROM bank_records WHERE account_id = $1 ORDER BY created_at DESC")
                .bind(account_id)
                .fetch_all(self.db.pool())
                .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("kind")?, r.try_get("created_at")?))).collect()
    }

    /// Stores a pending flow.
    pub async fn add_flow(&self, f: &Flow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bank_flows (state, kind, browser, nonce, pkce_verifier, sign_tx, digest, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&f.state)
        .bind(&f.kind)
        .bind(&f.browser)
        .bind(&f.nonce)
        .bind(&f.pkce_verifier)
        .bind(&f.sign_tx)
        .bind(&f.digest)
        .bind(f.data.to_string())
        .bind(f.created_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Takes (deletes and returns) a pending flow: a `state` is used once.
    pub async fn take_flow(&self, state: &str) -> Result<Option<Flow>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM bank_flows WHERE state = $1 \
             RETURNING state, kind, browser, nonce, pkce_verifier, sign_tx, digest, data, created_at",
        )
        .bind(state)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| {
            let data: String = r.try_get("data")?;
            Ok(Flow {
                state: r.try_get("state")?,
                kind: r.try_get("kind")?,
                browser: r.try_get("browser")?,
                nonce: r.try_get("nonce")?,
                pkce_verifier: r.try_get("pkce_verifier")?,
                sign_tx: r.try_get("sign_tx")?,
                digest: r.try_get("digest")?,
                data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(format!("flow data: {e}")))?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Drops flows and sessions older than their lifetimes.
    pub async fn purge(&self, flows_before: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM bank_flows WHERE created_at < $1").bind(flows_before).execute(self.db.pool()).await?;
        sqlx::query("DELETE FROM bank_sessions WHERE expires_at < $1").bind(now).execute(self.db.pool()).await?;
        // Contracts whose signature never came back (cancelled, abandoned).
        sqlx::query("DELETE FROM bank_contracts WHERE cms IS NULL AND created_at < $1")
            .bind(flows_before)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Adds a session (the cookie's SHA-256).
    pub async fn add_session(
        &self,
        id_hash: &str,
        account_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO bank_sessions (id_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(id_hash)
            .bind(account_id)
            .bind(now)
            .bind(expires_at)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// The account of a live session.
    pub async fn session(&self, id_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT account_id FROM bank_sessions WHERE id_hash = $1 AND expires_at >= $2")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// Ends every session of an account (after a recovery rebinds it).
    pub async fn end_sessions_of(&self, account_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM bank_sessions WHERE account_id = $1").bind(account_id).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn end_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM bank_sessions WHERE id_hash = $1").bind(id_hash).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Stores a webhook event once; `false` when its id was seen before (a redelivery).
    pub async fn add_event(
        &self,
        id: &str,
        kind: &str,
        user_id: &str,
        at: i64,
        body: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO bank_events (id, kind, user_id, received_at, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(user_id)
        .bind(at)
        .bind(body)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest events: (id, kind, user_id, received_at).
    pub async fn events(&self, limit: i64) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT id, kind, user_id, received_at FROM bank_events ORDER BY received_at DESC LIMIT $1")
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("kind")?, r.try_get("user_id")?, r.try_get("received_at")?)))
            .collect()
    }

    /// Stores a webhook event once and, for a new one, the change it reports on the accounts
    /// of its user (`note`, and the new `address` when the event carries it) in the same
    /// transaction: `None` when its id was seen before (a redelivery: nothing changes), else how
    /// many accounts were marked.
    pub async fn add_event_with_change(
        &self,
        id: &str,
        kind: &str,
        user_id: &str,
        at: i64,
        body: &str,
        change: Option<(&str, Option<&str>)>,
    ) -> Result<Option<u64>, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let added = sqlx::query(
            "INSERT INTO bank_events (id, kind, user_id, received_at, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(user_id)
        .bind(at)
        .bind(body)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() != 1 {
            return Ok(None);
        }
        let mut marked = 0;
        if let Some((note, address)) = change {
            marked = sqlx::query(
                "UPDATE bank_accounts SET changed_at = $1, change_note = $2, address = COALESCE($3, address) \
                 WHERE platform_user_id = $4",
            )
            .bind(at)
            .bind(note)
            .bind(address)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(Some(marked))
    }

    /// Adds a contract (unsigned).
    pub async fn add_contract(&self, c: &Contract) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bank_contracts (id, account_id, title, pdf, cms, evidence_id, created_at, signed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.title)
        .bind(&c.pdf)
        .bind(&c.cms)
        .bind(&c.evidence_id)
        .bind(c.created_at)
        .bind(c.signed_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Keeps a contract's signature; `false` when it is unknown or signed already.
    pub async fn sign_contract(&self, id: &str, cms: &[u8], evidence_id: &str, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE bank_contracts SET cms = $1, evidence_id = $2, signed_at = $3 WHERE id = $4 AND cms IS NULL",
        )
        .bind(cms)
        .bind(evidence_id)
        .bind(at)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A contract.
    pub async fn contract(&self, id: &str) -> Result<Option<Contract>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, title, pdf, cms, evidence_id, created_at, signed_at FROM bank_contracts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| {
            Ok(Contract {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                title: r.try_get("title")?,
                pdf: r.try_get("pdf")?,
                cms: r.try_get("cms")?,
                evidence_id: r.try_get("evidence_id")?,
                created_at: r.try_get("created_at")?,
                signed_at: r.try_get("signed_at")?,
            })
        })
        .transpose()
    }

    /// An account's signed contracts, newest first: (id, title, signed_at).
    pub async fn signed_contracts_of(&self, account_id: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, title, signed_at FROM bank_contracts WHERE account_id = $1 AND signed_at IS NOT NULL \
             ORDER BY signed_at DESC",
        )
        .bind(account_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("title")?, r.try_get("signed_at")?))).collect()
    }

    /// A setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM bank_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// Sets a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bank_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
        )
        .bind(key)
        .bind(value)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
