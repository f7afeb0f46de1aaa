//! The UserService and CertificateService of the API (the concepts SPs know from PocketSign
//! Verify): a user and its certificates' types and statuses, the user list, deletion, the
//! 現況確認 liveness check, a certificate's status now, and the status history.
//!
//! Every route acts for the caller's tenant only: another tenant's user is the same 404 as an
//! unknown id; an admin key is 403. In sensitive-data mode (the default) no answer carries a
//! certificate serial — only the certificate type and status; with it off, `serial` is added.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_pki::verify::{RevocationEvidence, Usage};
use hanko_pki::{CertKind, JpkiCertificate, Serial};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::identity::{kind_from_str, CrlState};
use crate::tenants::{SpCaller, Tenant};
use crate::users::{BoundCertificate, StatusCheck, UserRecord};
use crate::verify::{b64, certificate_type, classify, revocation_record, rfc3339, ResultCode};
use crate::Platform;

/// Largest page of `GET /v1/users`.
pub(crate) const MAX_PAGE: u32 = 100;
/// Most status checks returned by `GET /v1/users/{id}/status-history`.
pub(crate) const MAX_HISTORY: u32 = 500;

/// `check_purpose` of a status check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckPurpose {
    /// Checking the certificate of a signature (before relying on it).
    SignatureVerification,
    /// 現況確認: is the customer's certificate still valid (moved, died, lost the card …)?
    LivenessCheck,
}

impl CheckPurpose {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckPurpose::SignatureVerification => "signature_verification",
            CheckPurpose::LivenessCheck => "liveness_check",
        }
    }
}

/// A status check's id, ordered by time and, within a second, by this node's sequence:
/// `sc-<seconds hex>-<sequence hex>-<random>`.
fn check_id(at: OffsetDateTime) -> String {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("sc-{:010x}-{seq:08x}-{}", at.unix_timestamp().max(0), &crate::new_id()[..8])
}

fn revocation_json(r: &hanko_pki::Revocation) -> Value {
    json!({"reason": r.reason.name(), "meaning": r.reason.meaning().as_str(), "revoked_at": rfc3339(r.revoked_at)})
}

impl Platform {
    async fn tenant_user(&self, tenant: &Tenant, id: &str) -> Result<UserRecord, PlatformError> {
        if id.len() > 64 {
            return Err(PlatformError::not_found("user", "(too long)"));
        }
        self.store.user(&tenant.id, id).await?.ok_or_else(|| PlatformError::not_found("user", id))
    }

    /// The status of a bound certificate in the CRLs held now: (status, revocation).
    fn bound_status(
        &self,
        c: &BoundCertificate,
        now: OffsetDateTime,
    ) -> Result<(&'static str, Option<Value>), PlatformError> {
        let (Some(kind), Some(serial)) = (kind_from_str(&c.kind), Serial::from_hex(&c.serial)) else {
            return Err(PlatformError::Store(hanko_store::StoreError::Corrupt(format!(
                "bound certificate {}",
                c.kind
            ))));
        };
        let crls = self.crls.current();
        Ok(match self.crl_state(&crls, kind, &serial, now) {
            CrlState::Revoked(r) => ("revoked", Some(revocation_json(&r))),
            CrlState::NoData => {
                return Err(PlatformError::Unavailable(format!("no current {} CRL is held", kind.as_str())));
            }
            CrlState::NotRevoked if c.not_after.is_some_and(|na| na < now) => ("expired", None),
            CrlState::NotRevoked => ("valid", None),
        })
    }

    fn certificate_json(
        &self,
        tenant: &Tenant,
        c: &BoundCertificate,
        status: &str,
        revocation: Option<Value>,
    ) -> Value {
        let ty = kind_from_str(&c.kind).map(certificate_type).unwrap_or("UNSUPPORTED");
        let mut out = json!({
            "certificate_type": ty,
            "status": status,
            "current": c.successor.is_none(),
            "bound_by": c.source,
            "first_seen": rfc3339(c.first_seen),
        });
        if let Some(r) = revocation {
            out["revocation"] = r;
        }
        if let Some(na) = c.not_after {
            out["not_after"] = json!(rfc3339(na));
        }
        if !tenant.sensitive {
            out["serial"] = json!(c.serial);
            if let Some(s) = &c.successor {
                out["successor"] = json!(s);
            }
        }
        out
    }

    /// A user and its certificates (types, statuses in the CRLs held now).
    pub async fn user_view(&self, tenant: &Tenant, id: &str) -> Result<Value, PlatformError> {
        let user = self.tenant_user(tenant, id).await?;
        let now = self.clock.now();
        let mut certificates = Vec::new();
        for c in self.store.user_certificates(&tenant.id, id).await? {
            let (status, revocation) = match self.bound_status(&c, now) {
                Ok(s) => s,
                Err(PlatformError::Unavailable(_)) => ("unknown", None),
                Err(e) => return Err(e),
            };
            certificates.push(self.certificate_json(tenant, &c, status, revocation));
        }
        Ok(json!({"id": user.id, "created_at": rfc3339(user.created_at), "certificates": certificates}))
    }

    /// 現況確認 now: the user's current certificates (those not followed to a successor) against
    /// the CRLs held, each recorded in the status history and reported to the authority's
    /// status-check count.
    pub async fn liveness(&self, tenant: &Tenant, id: &str) -> Result<Value, PlatformError> {
        self.tenant_user(tenant, id).await?;
        // Follow renewals and moves the current CRLs show first, so that "current" is current.
        self.scan_successors(tenant, None).await?;
        let now = self.clock.now();
        let crls = self.crls.current();
        let mut answers = Vec::new();
        let mut checks = Vec::new();
        let mut serials = Vec::new();
        for c in self.store.user_certificates(&tenant.id, id).await?.into_iter().filter(|c| c.successor.is_none()) {
            let (status, revocation) = self.bound_status(&c, now)?;
            let ty = kind_from_str(&c.kind).map(certificate_type).unwrap_or("UNSUPPORTED");
            checks.push(StatusCheck {
                id: check_id(now),
                certificate_type: ty.to_owned(),
                check_purpose: CheckPurpose::LivenessCheck.as_str().to_owned(),
                status: status.to_owned(),
                detail: json!({"revocation": revocation, "crls": self.crl_mark(&crls)}),
                checked_at: now,
            });
            answers.push(self.certificate_json(tenant, &c, status, revocation));
            serials.push(c.serial.clone());
        }
        for check in &checks {
            self.store.add_status_check(&tenant.id, Some(id), check).await?;
        }
        // The authority counts 現況確認 persons per year (no fee); a failure does not fail the check.
        if !serials.is_empty() {
            let request = self
                .authority
                .request(reqwest::Method::POST, "/v1/status-checks", Some(&tenant.sp_header()))
                .json(&json!({"serials": serials}));
            if let Err(e) = self.authority.json::<Value>(request).await {
                tracing::warn!(tenant = %tenant.id, error = %e, "status-check report to the authority failed");
            }
        }
        let valid = answers.iter().any(|a| a["status"] == "valid");
        Ok(json!({
            "user_id": id,
            "checked_at": rfc3339(now),
            "check_method": "crl",
            "any_valid": valid,
            "certificates": answers,
        }))
    }

    /// A certificate's status now, by the tenant's revocation method; recorded in the status
    /// history of its user when the certificate is bound to one (a user is never created here).
    pub async fn certificate_status(
        &self,
        tenant: &Tenant,
        der: &[u8],
        purpose: CheckPurpose,
    ) -> Result<Value, PlatformError> {
        let now = self.clock.now();
        let parsed = JpkiCertificate::from_der(der).ok();
        let kind = parsed.as_ref().map(JpkiCertificate::kind);
        let usage = match kind {
            Some(CertKind::Auth | CertKind::SmartphoneAuth) => Usage::Authentication,
            _ => Usage::Signature,
        };
        let (verdict, _) =
            self.with_revocation(tenant, der, |v, rev| v.verify_certificate(der, usage, now, rev)).await?;
        let (result, reason, revocation_data) = match &verdict {
            Ok(v) => (ResultCode::Ok, None, Some(revocation_record(v.revocation()))),
            Err(e) => {
                let (code, reason) = classify(e)?;
                (code, Some(reason), None)
            }
        };
        let status = match result {
            ResultCode::Ok => "valid",
            ResultCode::CertificateRevoked => "revoked",
            ResultCode::CertificateExpired => "expired",
            _ => "unsupported",
        };
        let user_id = match (&parsed, result) {
            (Some(c), ResultCode::Ok | ResultCode::CertificateRevoked | ResultCode::CertificateExpired) => {
                self.store.user_of_serial(&tenant.id, &c.serial().to_string()).await?
            }
            _ => None,
        };
        let ty = kind.map(certificate_type);
        let revocation = reason.as_ref().and_then(|r| r.revocation.clone());
        if let (Some(user), Some(ty)) = (&user_id, ty) {
            let crl = match &verdict {
                Ok(v) => match v.revocation() {
                    RevocationEvidence::Crl { crl_number, .. } => json!(crl_number),
                    _ => Value::Null,
                },
                Err(_) => Value::Null,
            };
            let check = StatusCheck {
                id: check_id(now),
                certificate_type: ty.to_owned(),
                check_purpose: purpose.as_str().to_owned(),
                status: status.to_owned(),
                detail: json!({"revocation": revocation, "crl_number": crl, "result": result.as_str()}),
                checked_at: now,
            };
            self.store.add_status_check(&tenant.id, Some(user), &check).await?;
        }
        let mut out = json!({
            "result": result.as_str(),
            "status": status,
            "certificate_type": ty,
            "check_purpose": purpose.as_str(),
            "check_method": tenant.check_method.as_str(),
            "checked_at": rfc3339(now),
            "user_id": user_id,
        });
        if let Some(r) = reason {
            out["reason"] = json!(r);
        }
        if !tenant.sensitive {
            out["revocation_data"] = json!(revocation_data);
        }
        Ok(out)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    created_from: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    created_to: Option<OffsetDateTime>,
}

async fn list_users(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, PlatformError> {
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_PAGE {
        return Err(PlatformError::Invalid(format!("limit must be 1–{MAX_PAGE}")));
    }
    let after = q.after.unwrap_or_default();
    if after.len() > 64 {
        return Err(PlatformError::Invalid("after is a user id".into()));
    }
    let users = platform.store.users(&tenant.id, &after, q.created_from, q.created_to, i64::from(limit)).await?;
    let next = if users.len() == limit as usize { users.last().map(|u| u.id.clone()) } else { None };
    Ok(Json(json!({"users": users, "next_after": next})))
}

async fn get_user(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    Ok(Json(platform.user_view(&tenant, &id).await?))
}

async fn delete_user(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, PlatformError> {
    platform.tenant_user(&tenant, &id).await?;
    if !platform.store.delete_user(&tenant.id, &id, platform.clock.now()).await? {
        return Err(PlatformError::not_found("user", &id));
    }
    tracing::info!(tenant = %tenant.id, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn post_liveness(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    Ok(Json(platform.liveness(&tenant, &id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    #[serde(default)]
    limit: Option<u32>,
}

async fn get_history(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Value>, PlatformError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_HISTORY {
        return Err(PlatformError::Invalid(format!("limit must be 1–{MAX_HISTORY}")));
    }
    platform.tenant_user(&tenant, &id).await?;
    let checks = platform.store.status_checks(&tenant.id, &id, i64::from(limit)).await?;
    Ok(Json(json!({"user_id": id, "checks": checks})))
}

/// `POST /v1/certificates/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    certificate: String,
    check_purpose: CheckPurpose,
}

async fn post_certificate_status(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(req): Json<StatusRequest>,
) -> Result<Json<Value>, PlatformError> {
    let der = b64("certificate", &req.certificate)?;
    Ok(Json(platform.certificate_status(&tenant, &der, req.check_purpose).await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/users", get(list_users))
        .route("/v1/users/{id}", get(get_user).delete(delete_user))
        .route("/v1/users/{id}/liveness", post(post_liveness))
        .route("/v1/users/{id}/status-history", get(get_history))
        .route("/v1/certificates/status", post(post_certificate_status))
}
