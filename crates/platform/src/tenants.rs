//! Tenants: the service providers (SP事業者, each with a サービスID as registered at the authority)
//! this platform verifies for, their API keys, and their settings.
//!
//! **Authentication: API keys.** `pk_<environment>_<64 hex>`, shown once; only the SHA-256 is
//! stored. A request carries `Authorization: Bearer <key>`. An SP key acts for its tenant only;
//! an admin key (written by `hanko platform init` to `DATA_DIR/admin.key`) manages tenants and
//! never verifies. A key of the other environment is refused with 403.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::digest;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::{from_ts, ts, SqlStore};
use crate::{Environment, Platform};

/// How an SP's certificates are checked for revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CheckMethod {
    /// The daily CRLs, fetched and indexed by the platform (free).
    #[default]
    Crl,
    /// An OCSP request to the authority per verification (status at most 15 minutes old).
    Ocsp,
}

impl CheckMethod {
    /// `crl` / `ocsp`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckMethod::Crl => "crl",
            CheckMethod::Ocsp => "ocsp",
        }
    }
    fn parse(s: &str) -> Result<CheckMethod, StoreError> {
        match s {
            "crl" => Ok(CheckMethod::Crl),
            "ocsp" => Ok(CheckMethod::Ocsp),
            _ => Err(StoreError::Corrupt(format!("check method {s:?}"))),
        }
    }
}

/// One of the 4 basic facts (基本4情報).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactItem {
    /// 氏名.
    Name,
    /// 住所.
    Address,
    /// 生年月日.
    BirthDate,
    /// 性別.
    Sex,
}

impl FactItem {
    /// All four.
    pub const ALL: [FactItem; 4] = [FactItem::Name, FactItem::Address, FactItem::BirthDate, FactItem::Sex];
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            FactItem::Name => "name",
            FactItem::Address => "address",
            FactItem::BirthDate => "birth_date",
            FactItem::Sex => "sex",
        }
    }
    fn parse(s: &str) -> Option<FactItem> {
        FactItem::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// An SP service served by the platform.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    /// The platform's id of the tenant (`TN…`).
    pub id: String,
    /// SP事業者ID, as registered at the authority.
    pub sp_id: String,
    /// サービスID, as registered at the authority.
    pub service_id: String,
    /// Display name.
    pub name: String,
    /// How its certificates are checked for revocation.
    pub check_method: CheckMethod,
    /// Which of the 4 facts it may receive.
    pub facts: Vec<FactItem>,
    /// Sensitive-data mode (default on): results only, never the certificate or revocation data.
    pub sensitive: bool,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Tenant {
    /// This tenant with its revocation check method replaced by `method` for one verification
    /// (an SP's per-request `check_method`), or as it is.
    pub fn checking_with(mut self, method: Option<CheckMethod>) -> Tenant {
        if let Some(m) = method {
            self.check_method = m;
        }
        self
    }

    /// The `X-Hanko-SP` value naming this SP service at the authority.
    pub fn sp_header(&self) -> String {
        format!("{}/{}", self.sp_id, self.service_id)
    }
}

/// The storage of tenants and keys.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Whether the database answers (for `/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Adds a tenant.
    async fn add_tenant(&self, t: &Tenant) -> Result<(), StoreError>;
    /// A tenant.
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError>;
    /// All tenants, oldest first.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Adds an API key (its hash) for a role (`sp` with a tenant, or `admin`).
    async fn add_key(
        &self,
        key_hash: &str,
        role: Role,
        tenant_id: Option<&str>,
        environment: Environment,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Disables the active key with this hash; `false` when there is none.
    async fn disable_key(&self, key_hash: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// The active key with this hash: its role, tenant and environment.
    async fn key(&self, key_hash: &str) -> Result<Option<(Role, Option<String>, String)>, StoreError>;
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A service provider: verification, its users and evidence.
    Sp,
    /// The platform's operators: tenants and keys.
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Sp => "sp",
            Role::Admin => "admin",
        }
    }
}

fn tenant_row(r: &sqlx::any::AnyRow) -> Result<Tenant, StoreError> {
    let facts: String = r.try_get("facts")?;
    Ok(Tenant {
        id: r.try_get("id")?,
        sp_id: r.try_get("sp_id")?,
        service_id: r.try_get("service_id")?,
        name: r.try_get("name")?,
        check_method: CheckMethod::parse(&r.try_get::<String, _>("check_method")?)?,
        facts: facts
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| FactItem::parse(s).ok_or_else(|| StoreError::Corrupt(format!("fact item {s:?}"))))
            .collect::<Result<_, _>>()?,
        sensitive: r.try_get::<i64, _>("sensitive")? != 0,
        created_at: from_ts(r.try_get("created_at")?)?,
    })
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    async fn add_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        let facts: Vec<&str> = t.facts.iter().map(|f| f.as_str()).collect();
        sqlx::query(
            "INSERT INTO tenants (id, sp_id, service_id, name, check_method, facts, sensitive, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.id)
        .bind(&t.sp_id)
        .bind(&t.service_id)
        .bind(&t.name)
        .bind(t.check_method.as_str())
        .bind(facts.join(","))
        .bind(i64::from(t.sensitive))
        .bind(ts(t.created_at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        sqlx::query("SELECT * FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.reader())
            .await?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        sqlx::query("SELECT * FROM tenants ORDER BY created_at, id")
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(tenant_row)
            .collect()
    }

    async fn add_key(
        &self,
        key_hash: &str,
        role: Role,
        tenant_id: Option<&str>,
        environment: Environment,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, role, tenant_id, environment, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key_hash)
        .bind(role.as_str())
        .bind(tenant_id)
        .bind(environment.as_str())
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn disable_key(&self, key_hash: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_keys SET disabled_at = $1 WHERE key_hash = $2 AND disabled_at IS NULL")
            .bind(ts(at))
            .bind(key_hash)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn key(&self, key_hash: &str) -> Result<Option<(Role, Option<String>, String)>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT role, tenant_id, environment FROM api_keys WHERE key_hash = $1 AND disabled_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(self.db.reader())
        .await?
        else {
            return Ok(None);
        };
        let role = match r.try_get::<String, _>("role")?.as_str() {
            "sp" => Role::Sp,
            "admin" => Role::Admin,
            other => return Err(StoreError::Corrupt(format!("key role {other:?}"))),
        };
        Ok(Some((role, r.try_get("tenant_id")?, r.try_get("environment")?)))
    }
}

pub(crate) fn key_hash(key: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, key.as_bytes()))
}

/// A new API key (`pk_<environment>_<64 hex>`).
pub(crate) fn new_api_key(env: Environment) -> String {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    format!("pk_{}_{}", env.as_str(), hex::encode(secret))
}

/// Checks an SP事業者ID or サービスID: 1–32 of `[A-Za-z0-9_-]` (what the authority accepts).
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), PlatformError> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(PlatformError::Invalid(format!("{what} must be 1–32 of [A-Za-z0-9_-]")));
    }
    Ok(())
}

/// Whether `id` has the form of an authority verifier id (`[T](SV|AV|PF|CT|OP)` + 8 digits).
fn is_verifier_id(id: &str) -> bool {
    let rest = id.strip_prefix('T').unwrap_or(id);
    rest.len() == 10
        && ["SV", "AV", "PF", "CT", "OP"].contains(&&rest[..2])
        && rest[2..].bytes().all(|b| b.is_ascii_digit())
}

/// A new tenant, as an admin asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// SP事業者ID.
    pub sp_id: String,
    /// サービスID.
    pub service_id: String,
    /// Display name.
    pub name: String,
    /// Revocation checking (default `crl`).
    #[serde(default)]
    pub check_method: CheckMethod,
    /// Which facts it may receive (default none).
    #[serde(default)]
    pub facts: Vec<FactItem>,
    /// Sensitive-data mode (default on).
    #[serde(default = "yes")]
    pub sensitive: bool,
}

fn yes() -> bool {
    true
}

/// A new tenant or key and its API key (shown once). `Debug` hides the key.
#[derive(Serialize)]
pub struct IssuedKey {
    /// The tenant.
    pub tenant: Tenant,
    /// `Authorization: Bearer <api_key>`.
    pub api_key: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey").field("tenant", &self.tenant).field("api_key", &"[elided]").finish()
    }
}

impl Platform {
    /// Adds a tenant with its first API key, after registering its SP service at the authority
    /// (`POST /v1/platform/services`; idempotent there).
    pub async fn add_tenant(&self, new: NewTenant) -> Result<IssuedKey, PlatformError> {
        check_id("sp_id", &new.sp_id)?;
        check_id("service_id", &new.service_id)?;
        if new.service_id == "-" || is_verifier_id(&new.sp_id) {
            // `<verifier id>/-` is the platform acting for itself at the authority.
            return Err(PlatformError::Invalid(
                "service id \"-\" and ids of the authority's verifiers (TPF00000001 …) are reserved".into(),
            ));
        }
        if new.name.is_empty() || new.name.chars().count() > 200 || new.name.chars().any(char::is_control) {
            return Err(PlatformError::Invalid("name must be 1–200 characters, no control characters".into()));
        }
        let mut facts = new.facts;
        facts.sort();
        facts.dedup();
        let tenant = Tenant {
            id: format!("TN{}", crate::new_id()[..12].to_ascii_uppercase()),
            sp_id: new.sp_id,
            service_id: new.service_id,
            name: new.name,
            check_method: new.check_method,
            facts,
            sensitive: new.sensitive,
            created_at: self.clock.now(),
        };
        // Registered at the authority first: a tenant the authority does not know could verify
        // nothing that needs the authority's services. A failure leaves no tenant row.
        self.authority.register_service(&tenant.sp_id, &tenant.service_id, &tenant.name).await.map_err(
            |e| match e {
                PlatformError::Authority(d) => PlatformError::Authority(format!(
                    "registering {}/{} there failed, no tenant added: {d}",
                    tenant.sp_id, tenant.service_id
                )),
                other => other,
            },
        )?;
        self.store.add_tenant(&tenant).await?;
        let api_key = self.new_key(Role::Sp, Some(&tenant.id)).await?;
        tracing::info!(tenant = %tenant.id, sp = %tenant.sp_id, service = %tenant.service_id, "tenant added");
        Ok(IssuedKey { tenant, api_key })
    }

    /// Issues another API key for tenant `id` (keys of one tenant are equivalent).
    pub async fn add_tenant_key(&self, id: &str) -> Result<IssuedKey, PlatformError> {
        let tenant = self.store.tenant(id).await?.ok_or_else(|| PlatformError::not_found("tenant", id))?;
        let api_key = self.new_key(Role::Sp, Some(id)).await?;
        Ok(IssuedKey { tenant, api_key })
    }

    /// Issues an admin key.
    pub async fn add_admin_key(&self) -> Result<String, PlatformError> {
        self.new_key(Role::Admin, None).await
    }

    async fn new_key(&self, role: Role, tenant: Option<&str>) -> Result<String, PlatformError> {
        let env = self.config.environment;
        let key = new_api_key(env);
        self.store.add_key(&key_hash(&key), role, tenant, env, self.clock.now()).await?;
        Ok(key)
    }

    /// Disables an API key (a leaked or retired one): refused from the next request on, by every
    /// node (keys are looked up in the database on each request). Rotating a key is issuing a new
    /// one (`add_tenant_key`) and disabling the old. `Err(NotFound)` for a key that is not active.
    pub async fn disable_key(&self, api_key: &str) -> Result<(), PlatformError> {
        if !self.store.disable_key(&key_hash(api_key.trim()), self.clock.now()).await? {
            return Err(PlatformError::not_found("active API key", "given"));
        }
        tracing::info!("an API key was disabled");
        Ok(())
    }

    /// Authenticates an API key of this environment: its role and tenant.
    pub async fn authenticate(&self, api_key: &str) -> Result<(Role, Option<Tenant>), PlatformError> {
        let env = self.config.environment;
        let Some(rest) = api_key.strip_prefix("pk_") else {
            return Err(PlatformError::Unauthenticated("malformed API key"));
        };
        if !rest.starts_with(&format!("{}_", env.as_str())) {
            return Err(PlatformError::Forbidden(format!(
                "this is the {} environment; the key is for another",
                env.as_str()
            )));
        }
        let (role, tenant_id, key_env) =
            self.store.key(&key_hash(api_key)).await?.ok_or(PlatformError::Unauthenticated("unknown API key"))?;
        if key_env != env.as_str() {
            return Err(PlatformError::Forbidden("registered for another environment".into()));
        }
        let tenant = match tenant_id {
            Some(id) => Some(
                self.store
                    .tenant(&id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("key of missing tenant {id}")))?,
            ),
            None => None,
        };
        Ok((role, tenant))
    }
}

fn bearer(parts: &Parts) -> Result<&str, PlatformError> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(PlatformError::Unauthenticated("send Authorization: Bearer <API key>"))
}

/// An authenticated SP: every SP route takes one, and sees only its tenant's data.
#[derive(Debug, Clone)]
pub struct SpCaller(pub Tenant);

impl FromRequestParts<Arc<Platform>> for SpCaller {
    type Rejection = PlatformError;

    async fn from_request_parts(parts: &mut Parts, platform: &Arc<Platform>) -> Result<SpCaller, PlatformError> {
        match platform.authenticate(bearer(parts)?).await? {
            (Role::Sp, Some(tenant)) => Ok(SpCaller(tenant)),
            _ => Err(PlatformError::Forbidden("an admin key cannot act for an SP; use the SP's key".into())),
        }
    }
}

/// An authenticated platform operator (admin key).
#[derive(Debug, Clone, Copy)]
pub struct AdminCaller;

impl FromRequestParts<Arc<Platform>> for AdminCaller {
    type Rejection = PlatformError;

    async fn from_request_parts(parts: &mut Parts, platform: &Arc<Platform>) -> Result<AdminCaller, PlatformError> {
        match platform.authenticate(bearer(parts)?).await? {
            (Role::Admin, _) => Ok(AdminCaller),
            _ => Err(PlatformError::Forbidden("this needs the platform's admin key".into())),
        }
    }
}

async fn post_tenant(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
    Json(new): Json<NewTenant>,
) -> Result<(axum::http::StatusCode, Json<IssuedKey>), PlatformError> {
    Ok((axum::http::StatusCode::CREATED, Json(platform.add_tenant(new).await?)))
}

async fn get_tenant(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, PlatformError> {
    Ok(Json(platform.store.tenant(&id).await?.ok_or_else(|| PlatformError::not_found("tenant", &id))?))
}

async fn post_tenant_key(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<IssuedKey>), PlatformError> {
    Ok((axum::http::StatusCode::CREATED, Json(platform.add_tenant_key(&id).await?)))
}

/// `POST /v1/admin/keys/disable`: the key itself identifies it (only its hash is stored).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableKey {
    api_key: String,
}

async fn post_disable_key(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
    parts: axum::http::HeaderMap,
    Json(req): Json<DisableKey>,
) -> Result<Json<serde_json::Value>, PlatformError> {
    let own = parts
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if own == Some(req.api_key.trim()) {
        return Err(PlatformError::Conflict("an admin key cannot disable itself; use another admin key".into()));
    }
    platform.disable_key(&req.api_key).await?;
    Ok(Json(serde_json::json!({"disabled": true})))
}

async fn get_me(SpCaller(tenant): SpCaller) -> Json<Tenant> {
    Json(tenant)
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/admin/tenants", post(post_tenant))
        .route("/v1/admin/tenants/{id}", get(get_tenant))
        .route("/v1/admin/tenants/{id}/keys", post(post_tenant_key))
        .route("/v1/admin/keys/disable", post(post_disable_key))
        .route("/v1/tenant", get(get_me))
}
