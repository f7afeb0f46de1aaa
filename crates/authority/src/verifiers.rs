//! Registered verifiers (shared/spec/20-pki.md §3 "Publication"): signature verifiers
//! (署名検証者, Art. 17), user-authentication verifiers (利用者証明検証者, Art. 36), platform
//! operators (PF事業者) with the SPs and services behind them, and the counter's own staff.
//! Only they get revocation data and services.
//!
//! **Authentication: API keys.** Each registration gets one key, shown once:
//! `hk_<environment>_<64 hex>`; the register keeps only its SHA-256. A request carries
//! `Authorization: Bearer <key>`; a platform names the SP and service it acts for in
//! `X-Hanko-SP: <SP事業者ID>/<サービスID>`, which must be registered under it. A key of the other
//! environment (test vs production) is refused with 403, whatever it says.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::digest;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::AuthorityError;
use crate::register::{from_ts, ts, SqlStore};
use crate::{Authority, Environment};

/// What a registration may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// 署名検証者: checks signature certificates.
    Signature,
    /// 利用者証明検証者: checks user-authentication certificates.
    Auth,
    /// PF事業者: both, on behalf of registered SPs.
    Platform,
    /// Municipality counter staff: the counter API (`/v1/counter/*`) only.
    Counter,
    /// The authority's operators: CA and key administration (`/v1/admin/*`: CA generations,
    /// CRL publication, registrations and their keys, the meter). Never the counter API.
    Operator,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Signature => "signature",
            Role::Auth => "auth",
            Role::Platform => "platform",
            Role::Counter => "counter",
            Role::Operator => "operator",
        }
    }
    fn parse(s: &str) -> Result<Role, StoreError> {
        Ok(match s {
            "signature" => Role::Signature,
            "auth" => Role::Auth,
            "platform" => Role::Platform,
            "counter" => Role::Counter,
            "operator" => Role::Operator,
            _ => return Err(StoreError::Corrupt(format!("role {s:?}"))),
        })
    }
    /// Whether this role may check signature certificates.
    pub fn checks_signatures(self) -> bool {
        matches!(self, Role::Signature | Role::Platform)
    }
    /// Whether this role may check user-authentication certificates.
    pub fn checks_auth(self) -> bool {
        matches!(self, Role::Auth | Role::Platform)
    }
    fn id_prefix(self) -> &'static str {
        match self {
            Role::Signature => "SV",
            Role::Auth => "AV",
            Role::Platform => "PF",
            Role::Counter => "CT",
            Role::Operator => "OP",
        }
    }
}

/// A registration.
#[derive(Debug, Clone, Serialize)]
pub struct VerifierRecord {
    /// 署名検証者ID / 利用者証明検証者ID / PF事業者ID (`T` prefix for test IDs).
    pub id: String,
    /// Role.
    pub role: Role,
    /// `test` or `production`.
    pub environment: &'static str,
    /// Display name.
    pub name: String,
    /// When registered (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The storage of registrations.
#[async_trait]
pub trait VerifierStore: Send + Sync {
    /// Adds a registration with the hash of its key.
    async fn add_verifier(&self, v: &VerifierRecord, key_hash: &str) -> Result<(), StoreError>;
    /// The active registration whose key hashes to `key_hash`.
    async fn verifier_by_key(&self, key_hash: &str) -> Result<Option<VerifierRecord>, StoreError>;
    /// A registration.
    async fn verifier(&self, id: &str) -> Result<Option<VerifierRecord>, StoreError>;
    /// Registers an SP service under a platform.
    async fn add_service(
        &self,
        verifier_id: &str,
        sp_id: &str,
        service_id: &str,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Whether the SP service is registered under the platform.
    async fn has_service(&self, verifier_id: &str, sp_id: &str, service_id: &str) -> Result<bool, StoreError>;
    /// Disables a registration's key (writes `disabled_at`); `false` when there is no such active
    /// registration.
    async fn disable_verifier(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// Replaces the key of an active registration; `false` when there is none.
    async fn replace_key(&self, id: &str, key_hash: &str) -> Result<bool, StoreError>;
}

fn verifier_row(r: &hanko_store::sqlx::any::AnyRow) -> Result<VerifierRecord, StoreError> {
    let env: String = r.try_get("environment")?;
    Ok(VerifierRecord {
        id: r.try_get("id")?,
        role: Role::parse(&r.try_get::<String, _>("role")?)?,
        environment: Environment::parse(&env)
            .ok_or_else(|| StoreError::Corrupt(format!("environment {env:?}")))?
            .as_str(),
        name: r.try_get("name")?,
        created_at: from_ts(r.try_get("created_at")?)?,
    })
}

#[async_trait]
impl VerifierStore for SqlStore {
    async fn add_verifier(&self, v: &VerifierRecord, key_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO verifiers (id, role, environment, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&v.id)
        .bind(v.role.as_str())
        .bind(v.environment)
        .bind(&v.name)
        .bind(key_hash)
        .bind(ts(v.created_at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn verifier_by_key(&self, key_hash: &str) -> Result<Option<VerifierRecord>, StoreError> {
        sqlx::query("SELECT * FROM verifiers WHERE key_hash = $1 AND disabled_at IS NULL")
            .bind(key_hash)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(verifier_row)
            .transpose()
    }

    async fn verifier(&self, id: &str) -> Result<Option<VerifierRecord>, StoreError> {
        sqlx::query("SELECT * FROM verifiers WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(verifier_row)
            .transpose()
    }

    async fn add_service(
        &self,
        verifier_id: &str,
        sp_id: &str,
        service_id: &str,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO verifier_services (verifier_id, sp_id, service_id, name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(verifier_id)
        .bind(sp_id)
        .bind(service_id)
        .bind(name)
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn has_service(&self, verifier_id: &str, sp_id: &str, service_id: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM verifier_services WHERE verifier_id = $1 AND sp_id = $2 AND service_id = $3",
        )
        .bind(verifier_id)
        .bind(sp_id)
        .bind(service_id)
        .fetch_one(self.db.pool())
        .await?;
        Ok(n > 0)
    }

    async fn disable_verifier(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE verifiers SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(ts(at))
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_key(&self, id: &str, key_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE verifiers SET key_hash = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(key_hash)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn key_hash(key: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, key.as_bytes()))
}

/// Registrations recently authenticated, so the hot paths (OCSP) do not query the register for
/// every request: key hash → registration, and the (platform, SP, service) triples seen. Only
/// positive answers are kept, for [`KeyCache::TTL`]; disabling or rotating a key evicts its
/// registration at once ([`KeyCache::evict`]).
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    keys: std::sync::RwLock<std::collections::HashMap<String, (VerifierRecord, std::time::Instant)>>,
    services: std::sync::RwLock<std::collections::HashMap<(String, String, String), std::time::Instant>>,
}

impl KeyCache {
    /// How long a positive answer is reused.
    const TTL: std::time::Duration = std::time::Duration::from_secs(60);
    /// Entries kept at most (the cache is cleared when full).
    const MAX: usize = 100_000;

    fn key(&self, hash: &str) -> Option<VerifierRecord> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(hash).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(v, _)| v.clone())
    }

    fn remember_key(&self, hash: String, v: &VerifierRecord) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= Self::MAX {
            keys.clear();
        }
        keys.insert(hash, (v.clone(), std::time::Instant::now()));
    }

    /// Forgets every cached key and service of registration `id`.
    fn evict(&self, id: &str) {
        self.keys.write().unwrap_or_else(|p| p.into_inner()).retain(|_, (v, _)| v.id != id);
        self.services.write().unwrap_or_else(|p| p.into_inner()).retain(|(v, _, _), _| v != id);
    }

    fn service(&self, triple: &(String, String, String)) -> bool {
        let services = self.services.read().unwrap_or_else(|p| p.into_inner());
        services.get(triple).is_some_and(|at| at.elapsed() < Self::TTL)
    }

    fn remember_service(&self, triple: (String, String, String)) {
        let mut services = self.services.write().unwrap_or_else(|p| p.into_inner());
        if services.len() >= Self::MAX {
            services.clear();
        }
        services.insert(triple, std::time::Instant::now());
    }
}

/// A new registration and its API key (shown once). `Debug` hides the key.
#[derive(Serialize)]
pub struct Registration {
    /// The registration.
    pub verifier: VerifierRecord,
    /// The API key: `Authorization: Bearer <api_key>`.
    pub api_key: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").field("verifier", &self.verifier).field("api_key", &"[elided]").finish()
    }
}

fn new_api_key(env: Environment) -> String {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    format!("hk_{}_{}", env.as_str(), hex::encode(secret))
}

fn check_id(what: &str, id: &str) -> Result<(), AuthorityError> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(AuthorityError::Invalid(format!("{what} must be 1–32 of [A-Za-z0-9_-]")));
    }
    Ok(())
}

impl Authority {
    /// Registers a verifier (or counter staff) in this authority's environment.
    pub async fn register_verifier(&self, role: Role, name: &str) -> Result<Registration, AuthorityError> {
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AuthorityError::Invalid("name must be 1–200 characters".into()));
        }
        let env = self.config.environment;
        let seq = self.store.next_counter(&format!("verifier-{}", role.as_str())).await?;
        let test = if env == Environment::Test { "T" } else { "" };
        let id = format!("{test}{}{seq:08}", role.id_prefix());
        let api_key = new_api_key(env);
        let verifier =
            VerifierRecord { id, role, environment: env.as_str(), name: name.to_owned(), created_at: self.clock.now() };
        self.store.add_verifier(&verifier, &key_hash(&api_key)).await?;
        Ok(Registration { verifier, api_key })
    }

    /// Disables registration `id`: its key is refused from now on, by this process at once (the
    /// key cache is evicted). Other processes sharing the database stop accepting it within
    /// their key cache's lifetime (60 s).
    pub async fn disable_verifier(&self, id: &str) -> Result<VerifierRecord, AuthorityError> {
        let v = self.store.verifier(id).await?.ok_or_else(|| AuthorityError::not_found("registration", id))?;
        let done = self.store.disable_verifier(id, self.clock.now()).await?;
        self.keys.evict(id);
        if !done {
            return Err(AuthorityError::Conflict(format!("{id} is disabled already")));
        }
        tracing::info!(verifier = %id, "key disabled");
        Ok(v)
    }

    /// Gives registration `id` a new key (shown once) and disables the old one at once.
    pub async fn rotate_key(&self, id: &str) -> Result<Registration, AuthorityError> {
        let verifier = self.store.verifier(id).await?.ok_or_else(|| AuthorityError::not_found("registration", id))?;
        let api_key = new_api_key(self.config.environment);
        let done = self.store.replace_key(id, &key_hash(&api_key)).await?;
        self.keys.evict(id);
        if !done {
            return Err(AuthorityError::Conflict(format!("{id} is disabled; register a new one")));
        }
        tracing::info!(verifier = %id, "key rotated");
        Ok(Registration { verifier, api_key })
    }

    /// Registers an SP's service (SP事業者ID + サービスID) behind a platform operator.
    pub async fn register_service(
        &self,
        platform_id: &str,
        sp_id: &str,
        service_id: &str,
        name: &str,
    ) -> Result<(), AuthorityError> {
        check_id("SP id", sp_id)?;
        check_id("service id", service_id)?;
        let v = self
            .store
            .verifier(platform_id)
            .await?
            .ok_or_else(|| AuthorityError::not_found("verifier", platform_id))?;
        if v.role != Role::Platform {
            return Err(AuthorityError::Conflict(format!("{platform_id} is not a platform operator")));
        }
        self.store.add_service(platform_id, sp_id, service_id, name, self.clock.now()).await?;
        Ok(())
    }

    /// Registers an SP's service under the calling platform operator itself (the platform's own
    /// API: `POST /v1/platform/services`). Idempotent: `Ok(false)` when it was registered
    /// already, `Ok(true)` when registered now.
    pub async fn register_own_service(
        &self,
        platform: &VerifierRecord,
        sp_id: &str,
        service_id: &str,
        name: &str,
    ) -> Result<bool, AuthorityError> {
        if platform.role != Role::Platform {
            return Err(AuthorityError::Forbidden(format!(
                "{} is registered as a {} verifier; only platform operators register SP services",
                platform.id,
                platform.role.as_str()
            )));
        }
        check_id("sp_id", sp_id)?;
        check_id("service_id", service_id)?;
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(AuthorityError::Invalid("name must be 1–200 characters, no control characters".into()));
        }
        if self.store.has_service(&platform.id, sp_id, service_id).await? {
            return Ok(false);
        }
        match self.store.add_service(&platform.id, sp_id, service_id, name, self.clock.now()).await {
            Ok(()) => {}
            // Two registrations racing: the other one won, which is the same outcome.
            Err(StoreError::Conflict(_)) if self.store.has_service(&platform.id, sp_id, service_id).await? => {
                return Ok(false)
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(platform = %platform.id, sp = %sp_id, service = %service_id, "SP service registered by its platform");
        Ok(true)
    }

    /// Authenticates an API key for this environment.
    pub async fn authenticate(&self, api_key: &str) -> Result<VerifierRecord, AuthorityError> {
        let env = self.config.environment;
        let Some(rest) = api_key.strip_prefix("hk_") else {
            return Err(AuthorityError::Unauthenticated("malformed API key"));
        };
        if !rest.starts_with(&format!("{}_", env.as_str())) {
            return Err(AuthorityError::Forbidden(format!(
                "this is the {} environment; the key is for another",
                env.as_str()
            )));
        }
        let hash = key_hash(api_key);
        let v = match self.keys.key(&hash) {
            Some(v) => v,
            None => {
                let v = self
                    .store
                    .verifier_by_key(&hash)
                    .await?
                    .ok_or(AuthorityError::Unauthenticated("unknown API key"))?;
                self.keys.remember_key(hash, &v);
                v
            }
        };
        if v.environment != env.as_str() {
            return Err(AuthorityError::Forbidden("registered for another environment".into()));
        }
        Ok(v)
    }
}

/// An authenticated caller of the verifier APIs: the registration, and the SP service it acts
/// for (a platform names it in `X-Hanko-SP`; others act for themselves, service `-`).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The registration.
    pub verifier: VerifierRecord,
    /// SP事業者ID.
    pub sp_id: String,
    /// サービスID.
    pub service_id: String,
}

/// Header naming the SP and service a platform acts for.
pub const SP_HEADER: &str = "x-hanko-sp";

impl FromRequestParts<Arc<Authority>> for Caller {
    type Rejection = AuthorityError;

    async fn from_request_parts(parts: &mut Parts, authority: &Arc<Authority>) -> Result<Caller, AuthorityError> {
        let key = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AuthorityError::Unauthenticated("send Authorization: Bearer <API key>"))?;
        let verifier = authority.authenticate(key.trim()).await?;
        let sp = parts.headers.get(SP_HEADER).and_then(|v| v.to_str().ok());
        let (sp_id, service_id) = match (verifier.role, sp) {
            (Role::Platform, Some(sp)) => {
                let (sp_id, service_id) = sp
                    .split_once('/')
                    .ok_or_else(|| AuthorityError::Invalid(format!("{SP_HEADER} is <SP id>/<service id>")))?;
                let triple = (verifier.id.clone(), sp_id.to_owned(), service_id.to_owned());
                if !authority.keys.service(&triple) {
                    if !authority.store.has_service(&verifier.id, sp_id, service_id).await? {
                        return Err(AuthorityError::Forbidden(format!(
                            "service {sp_id}/{service_id} is not registered under {}",
                            verifier.id
                        )));
                    }
                    authority.keys.remember_service(triple);
                }
                (sp_id.to_owned(), service_id.to_owned())
            }
            (Role::Platform, None) => (verifier.id.clone(), "-".to_owned()),
            (_, Some(_)) => {
                return Err(AuthorityError::Forbidden(format!("only platform operators send {SP_HEADER}")));
            }
            (_, None) => (verifier.id.clone(), "-".to_owned()),
        };
        if matches!(verifier.role, Role::Counter | Role::Operator) {
            return Err(AuthorityError::Forbidden("counter and operator keys do not call verifier services".into()));
        }
        Ok(Caller { verifier, sp_id, service_id })
    }
}

/// The bearer key of a request.
fn bearer<'a>(parts: &'a Parts, hint: &'static str) -> Result<&'a str, AuthorityError> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AuthorityError::Unauthenticated(hint))
}

/// An authenticated operator: CA and key administration (`/v1/admin/*`).
#[derive(Debug, Clone)]
pub struct OperatorCaller(pub VerifierRecord);

impl FromRequestParts<Arc<Authority>> for OperatorCaller {
    type Rejection = AuthorityError;

    async fn from_request_parts(
        parts: &mut Parts,
        authority: &Arc<Authority>,
    ) -> Result<OperatorCaller, AuthorityError> {
        let key = bearer(parts, "send Authorization: Bearer <operator API key>")?;
        let v = authority.authenticate(key).await?;
        if v.role != Role::Operator {
            return Err(AuthorityError::Forbidden("this needs an operator key".into()));
        }
        Ok(OperatorCaller(v))
    }
}

/// An authenticated counter caller.
#[derive(Debug, Clone)]
pub struct CounterCaller(pub VerifierRecord);

impl FromRequestParts<Arc<Authority>> for CounterCaller {
    type Rejection = AuthorityError;

    async fn from_request_parts(
        parts: &mut Parts,
        authority: &Arc<Authority>,
    ) -> Result<CounterCaller, AuthorityError> {
        let key = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AuthorityError::Unauthenticated("send Authorization: Bearer <counter API key>"))?;
        let v = authority.authenticate(key.trim()).await?;
        if v.role != Role::Counter {
            return Err(AuthorityError::Forbidden("this needs a counter key".into()));
        }
        Ok(CounterCaller(v))
    }
}

#[derive(Deserialize)]
struct NewVerifier {
    role: Role,
    name: String,
}

#[derive(Deserialize)]
struct NewService {
    sp_id: String,
    service_id: String,
    name: String,
}

async fn post_verifier(
    State(a): State<Arc<Authority>>,
    _: OperatorCaller,
    Json(body): Json<NewVerifier>,
) -> Result<Json<Registration>, AuthorityError> {
    Ok(Json(a.register_verifier(body.role, &body.name).await?))
}

async fn post_service(
    State(a): State<Arc<Authority>>,
    _: OperatorCaller,
    Path(id): Path<String>,
    Json(body): Json<NewService>,
) -> Result<Json<serde_json::Value>, AuthorityError> {
    a.register_service(&id, &body.sp_id, &body.service_id, &body.name).await?;
    Ok(Json(serde_json::json!({"platform": id, "sp_id": body.sp_id, "service_id": body.service_id})))
}

/// `POST /v1/platform/services`: a platform operator registers an SP service under itself.
async fn post_own_service(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Json(body): Json<NewService>,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), AuthorityError> {
    let created = a.register_own_service(&caller.verifier, &body.sp_id, &body.service_id, &body.name).await?;
    let status = if created { axum::http::StatusCode::CREATED } else { axum::http::StatusCode::OK };
    Ok((
        status,
        Json(serde_json::json!({
            "platform": caller.verifier.id, "sp_id": body.sp_id, "service_id": body.service_id, "created": created,
        })),
    ))
}

async fn post_disable(
    State(a): State<Arc<Authority>>,
    OperatorCaller(me): OperatorCaller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AuthorityError> {
    if me.id == id {
        return Err(AuthorityError::Conflict("an operator does not disable its own key; use another".into()));
    }
    let v = a.disable_verifier(&id).await?;
    Ok(Json(serde_json::json!({"id": v.id, "role": v.role, "disabled": true})))
}

async fn post_rotate(
    State(a): State<Arc<Authority>>,
    _: OperatorCaller,
    Path(id): Path<String>,
) -> Result<Json<Registration>, AuthorityError> {
    Ok(Json(a.rotate_key(&id).await?))
}

/// `POST /v1/admin/verifiers`, `POST /v1/admin/verifiers/{id}/services`,
/// `POST /v1/admin/verifiers/{id}/disable`, `POST /v1/admin/verifiers/{id}/key`,
/// `POST /v1/platform/services`.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
        .route("/v1/admin/verifiers", post(post_verifier))
        .route("/v1/admin/verifiers/{id}/services", post(post_service))
        .route("/v1/admin/verifiers/{id}/disable", post(post_disable))
        .route("/v1/admin/verifiers/{id}/key", post(post_rotate))
        .route("/v1/platform/services", post(post_own_service))
}
