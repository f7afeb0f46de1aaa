//! 最新の利用者情報 — the latest 4 facts with the customer's consent, relayed SP → platform →
//! authority (shared/spec/20-pki.md §4).
//!
//! The customer signs the consent document (`POST /v1/consents/document` prepares it: the
//! platform's verifier id, the SP's ids, the items, the time) with the card's signature key; the
//! SP forwards the signed document (`POST /v1/consents`), the platform relays it to the authority
//! with the tenant's `X-Hanko-SP` and binds the consent to the tenant's user of the signing
//! certificate. The latest facts are asked for on demand (`POST /v1/users/{id}/latest-facts`)
//! and by monitoring when the user's facts changed (delivered in the webhook event). Only the
//! items both consented and allowed to the tenant leave the platform.
//!
//! Refusals carry a stable `code` in the problem body: `not_consented`, `consent_expired`,
//! `consent_withdrawn`, `latest_certificate_revoked`, `latest_certificate_on_hold`,
//! `not_yet_synced` (moved, the new certificate not yet written), `deceased`, `emigrated`;
//! and for a consent the authority refuses: `consent_invalid`, `consent_refused`,
//! `consent_conflict`. Withdrawals are polled from the authority (`GET
//! /v1/consents/withdrawals`) at every monitoring run and before each latest-facts request.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::{from_ts, ts, SqlStore};
use crate::tenants::{FactItem, SpCaller, Tenant};
use crate::verify::{b64, rfc3339};
use crate::Platform;

/// The poll cursor of the authority's withdrawals.
const WITHDRAWALS: &str = "consent-withdrawals";
/// Most withdrawal pages read in one poll (1,000 each).
const MAX_POLL_PAGES: usize = 100;

/// A consent relayed to the authority.
#[derive(Debug, Clone)]
pub struct ConsentRow {
    /// The authority's consent id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The tenant's user who consented.
    pub user_id: String,
    /// The consented items.
    pub items: Vec<String>,
    /// The signing certificate's serial.
    pub certificate_serial: String,
    /// When given.
    pub given_at: OffsetDateTime,
    /// When it expires (10 years).
    pub expires_at: OffsetDateTime,
    /// When withdrawn, if it was.
    pub withdrawn_at: Option<OffsetDateTime>,
}

impl ConsentRow {
    fn status(&self, now: OffsetDateTime) -> &'static str {
        if self.withdrawn_at.is_some() {
            "withdrawn"
        } else if now >= self.expires_at {
            "expired"
        } else {
            "active"
        }
    }

    fn to_json(&self, now: OffsetDateTime) -> Value {
        json!({
            "consent_id": self.id,
            "user_id": self.user_id,
            "status": self.status(now),
            "items": self.items,
            "given_at": rfc3339(self.given_at),
            "expires_at": rfc3339(self.expires_at),
            "withdrawn_at": self.withdrawn_at.map(rfc3339),
        })
    }
}

/// The storage of consents.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Stores a consent (a second store of the same id is a no-op).
    async fn add_consent(&self, c: &ConsentRow, at: OffsetDateTime) -> Result<(), StoreError>;
    /// One consent.
    async fn consent(&self, id: &str) -> Result<Option<ConsentRow>, StoreError>;
    /// The newest consent of a user.
    async fn newest_consent(&self, tenant_id: &str, user_id: &str) -> Result<Option<ConsentRow>, StoreError>;
    /// Marks a consent withdrawn (the first time only).
    async fn withdraw_consent(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError>;
    /// A poll cursor (0 when never set).
    async fn cursor(&self, name: &str) -> Result<i64, StoreError>;
    /// Moves a poll cursor forward (never back).
    async fn advance_cursor(&self, name: &str, value: i64) -> Result<(), StoreError>;
}

fn consent_row(r: &sqlx::any::AnyRow) -> Result<ConsentRow, StoreError> {
    let items: String = r.try_get("items")?;
    Ok(ConsentRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        items: items.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        certificate_serial: r.try_get("certificate_serial")?,
        given_at: from_ts(r.try_get("given_at")?)?,
        expires_at: from_ts(r.try_get("expires_at")?)?,
        withdrawn_at: r.try_get::<Option<i64>, _>("withdrawn_at")?.map(from_ts).transpose()?,
    })
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn add_consent(&self, c: &ConsentRow, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (id, tenant_id, user_id, items, certificate_serial, given_at, expires_at, \
             withdrawn_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.tenant_id)
        .bind(&c.user_id)
        .bind(c.items.join(","))
        .bind(&c.certificate_serial)
        .bind(ts(c.given_at))
        .bind(ts(c.expires_at))
        .bind(c.withdrawn_at.map(ts))
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn consent(&self, id: &str) -> Result<Option<ConsentRow>, StoreError> {
        sqlx::query("SELECT * FROM consents WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(consent_row)
            .transpose()
    }

    async fn newest_consent(&self, tenant_id: &str, user_id: &str) -> Result<Option<ConsentRow>, StoreError> {
        sqlx::query(
            "SELECT * FROM consents WHERE tenant_id = $1 AND user_id = $2 ORDER BY given_at DESC, created_at DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(consent_row)
        .transpose()
    }

    async fn withdraw_consent(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE consents SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL")
            .bind(ts(at))
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn cursor(&self, name: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT value FROM poll_cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.pool())
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?
            .unwrap_or(0))
    }

    async fn advance_cursor(&self, name: &str, value: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO poll_cursors (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE poll_cursors.value < excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

fn refused(status: StatusCode, code: &'static str, detail: impl Into<String>) -> PlatformError {
    PlatformError::Refused { status, code, detail: detail.into() }
}

/// The facts of an authority answer the tenant may receive (each item with its substitute map).
fn allowed_facts(tenant: &Tenant, facts: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(all) = facts.as_object() {
        for (k, v) in all {
            let item = k.strip_suffix("_substitutes").unwrap_or(k);
            if tenant.facts.iter().any(|f| f.as_str() == item) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

impl Platform {
    /// The user's consent, if active (not withdrawn, not expired).
    pub(crate) async fn active_consent(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Option<ConsentRow>, PlatformError> {
        let now = self.clock.now();
        Ok(self.store.newest_consent(tenant_id, user_id).await?.filter(|c| c.status(now) == "active"))
    }

    /// Reads the authority's consent withdrawals since the last poll (for every SP of the
    /// platform) and marks them withdrawn here. Returns how many were read.
    pub async fn poll_withdrawals(&self) -> Result<usize, PlatformError> {
        let mut read = 0;
        for _ in 0..MAX_POLL_PAGES {
            let after = self.store.cursor(WITHDRAWALS).await?;
            let request =
                self.authority.request(reqwest::Method::GET, &format!("/v1/consents/withdrawals?after={after}"), None);
            let answer: Value = self.authority.json(request).await?;
            let list = answer["withdrawals"].as_array().cloned().unwrap_or_default();
            for w in &list {
                let (Some(id), at) = (w["consent_id"].as_str(), w["withdrawn_at"].as_str()) else { continue };
                let at = at
                    .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
                    .unwrap_or_else(|| self.clock.now());
                self.store.withdraw_consent(id, at).await?;
            }
            read += list.len();
            let next = answer["next_after"].as_i64().unwrap_or(after);
            if list.is_empty() || next <= after {
                break;
            }
            self.store.advance_cursor(WITHDRAWALS, next).await?;
        }
        Ok(read)
    }

    /// Relays a consent signed by the customer to the authority and binds it to the tenant's
    /// user of the signing certificate.
    pub async fn relay_consent(&self, tenant: &Tenant, signed: &SignedIn) -> Result<Value, PlatformError> {
        let der = b64("certificate", &signed.certificate)?;
        let cert = hanko_pki::JpkiCertificate::from_der(&der)
            .map_err(|e| PlatformError::Invalid(format!("certificate: {e}")))?;
        if !cert.kind().carries_facts() {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "consent_invalid",
                "a consent is signed with the signature certificate (署名用電子証明書)",
            ));
        }
        b64("document", &signed.document)?;
        b64("signature", &signed.signature)?;
        let request = self
            .authority
            .request(reqwest::Method::POST, "/v1/consents", Some(&tenant.sp_header()))
            .json(&json!({"document": signed.document, "signature": signed.signature,
                          "certificate": signed.certificate}));
        let (status, answer) = self.authority.answer(request).await?;
        let detail = answer["detail"].as_str().unwrap_or_default().to_owned();
        match status.as_u16() {
            200 => {}
            400 => return Err(refused(StatusCode::BAD_REQUEST, "consent_invalid", detail)),
            403 => return Err(refused(StatusCode::FORBIDDEN, "consent_refused", detail)),
            409 => return Err(refused(StatusCode::CONFLICT, "consent_conflict", detail)),
            s => return Err(PlatformError::Authority(format!("{s} {detail}"))),
        }
        let time = |k: &str| {
            answer[k]
                .as_str()
                .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
                .ok_or_else(|| PlatformError::Authority(format!("consent answer without {k}")))
        };
        // The authority took the consent, so the certificate is valid: verified here too (chain,
        // profile, the CRLs held) for the proof the user binding needs.
        let now = self.clock.now();
        let trust = self.trust();
        let crls = self.crls.current();
        let verified = hanko_pki::verify::Verifier::new(&trust)
            .verify_certificate(
                &der,
                hanko_pki::verify::Usage::Signature,
                now,
                hanko_pki::verify::RevocationCheck::Crl(&crls),
            )
            .map_err(|e| {
                PlatformError::Unavailable(format!("the consent's certificate could not be checked here: {e}"))
            })?;
        let user_id = self.user_for(tenant, &verified).await?;
        let serial = cert.serial().to_string();
        let row = ConsentRow {
            id: answer["consent_id"]
                .as_str()
                .ok_or_else(|| PlatformError::Authority("consent answer without consent_id".into()))?
                .to_owned(),
            tenant_id: tenant.id.clone(),
            user_id,
            items: answer["items"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            certificate_serial: serial,
            given_at: time("given_at")?,
            expires_at: time("expires_at")?,
            withdrawn_at: None,
        };
        let now = self.clock.now();
        self.store.add_consent(&row, now).await?;
        let stored = self.store.consent(&row.id).await?.unwrap_or(row);
        if stored.tenant_id != tenant.id {
            return Err(PlatformError::Conflict("the consent belongs to another tenant".into()));
        }
        let mut out = stored.to_json(now);
        out["created"] = answer["created"].clone();
        Ok(out)
    }

    /// The latest facts of a consented user (only the items the tenant may receive), or a
    /// refusal with its stable code.
    pub async fn latest_facts(&self, tenant: &Tenant, user_id: &str) -> Result<Value, PlatformError> {
        if !self.store.live_user(&tenant.id, user_id).await? {
            return Err(PlatformError::not_found("user", user_id));
        }
        if let Err(e) = self.poll_withdrawals().await {
            tracing::warn!(error = %e, "consent withdrawals not polled");
        }
        let now = self.clock.now();
        let Some(consent) = self.store.newest_consent(&tenant.id, user_id).await? else {
            return Err(refused(StatusCode::CONFLICT, "not_consented", format!("user {user_id} has not consented")));
        };
        match consent.status(now) {
            "withdrawn" => {
                return Err(refused(StatusCode::FORBIDDEN, "consent_withdrawn", "the consent was withdrawn"))
            }
            "expired" => return Err(refused(StatusCode::FORBIDDEN, "consent_expired", "the consent has expired")),
            _ => {}
        }
        let request = self
            .authority
            .request(reqwest::Method::POST, "/v1/latest-facts", Some(&tenant.sp_header()))
            .json(&json!({"consent_id": consent.id}));
        let (status, answer) = self.authority.answer(request).await?;
        let detail = answer["detail"].as_str().unwrap_or_default().to_owned();
        match status.as_u16() {
            200 => {}
            403 if detail.contains("withdrawn") => {
                self.store.withdraw_consent(&consent.id, now).await?;
                return Err(refused(StatusCode::FORBIDDEN, "consent_withdrawn", "the consent was withdrawn"));
            }
            403 if detail.contains("expired") => {
                return Err(refused(StatusCode::FORBIDDEN, "consent_expired", "the consent has expired"))
            }
            404 => return Err(refused(StatusCode::CONFLICT, "not_consented", "the authority holds no such consent")),
            s => return Err(PlatformError::Authority(format!("{s} {detail}"))),
        }
        // The authority bills 20 yen per record returned, nothing when none is (mirrored).
        self.meter(tenant, "latest-facts", u64::from(answer["obtainable"] == true));
        if answer["obtainable"] == true {
            return Ok(json!({
                "user_id": user_id,
                "obtainable": true,
                "facts": allowed_facts(tenant, &answer["facts"]),
                "fetched_at": rfc3339(now),
            }));
        }
        match answer["reason"].as_str() {
            Some("deceased") => Err(refused(StatusCode::CONFLICT, "deceased", "the customer has died")),
            Some("emigrated") => Err(refused(StatusCode::CONFLICT, "emigrated", "the customer has emigrated")),
            _ => {
                // No valid signature certificate: say why, from the newest certificate's state.
                let path = format!("/v1/serials/{}/successor", consent.certificate_serial);
                let request = self.authority.request(reqwest::Method::GET, &path, Some(&tenant.sp_header()));
                let newest: Value = self.authority.json(request).await?;
                self.meter(tenant, "successor-lookup", 1);
                Err(match (newest["status"].as_str(), newest["revocation_reason"].as_str()) {
                    (Some("revoked"), Some("certificateHold")) => refused(
                        StatusCode::CONFLICT,
                        "latest_certificate_on_hold",
                        "the customer's newest signature certificate is on hold (lost or suspended)",
                    ),
                    (Some("revoked"), Some("affiliationChanged")) => refused(
                        StatusCode::CONFLICT,
                        "not_yet_synced",
                        "the customer's facts changed and the new signature certificate is not written yet",
                    ),
                    _ => refused(
                        StatusCode::CONFLICT,
                        "latest_certificate_revoked",
                        "the customer holds no valid signature certificate (revoked or expired)",
                    ),
                })
            }
        }
    }
}

/// A consent signed by the customer: `{document, signature, certificate}`, each base64.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedIn {
    /// The consent document bytes.
    pub document: String,
    /// PKCS#1 v1.5 over the SHA-256 DigestInfo of the document (the card's `80 2A`).
    pub signature: String,
    /// The signature certificate (DER).
    pub certificate: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentIn {
    items: Vec<FactItem>,
}

async fn post_document(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(body): Json<DocumentIn>,
) -> Result<Json<Value>, PlatformError> {
    let verifier_id = platform.config.verifier_id.clone().ok_or_else(|| {
        PlatformError::Unavailable(
            "the platform's verifier id at the authority is not configured (DATA_DIR/authority.id)".into(),
        )
    })?;
    let mut items = body.items;
    items.sort();
    items.dedup();
    if items.is_empty() {
        return Err(PlatformError::Invalid("items: a non-empty list of name, address, birth_date, sex".into()));
    }
    let document = json!({
        "type": "hanko-consent-v1",
        "verifier_id": verifier_id,
        "sp_id": tenant.sp_id,
        "service_id": tenant.service_id,
        "items": items,
        "issued_at": rfc3339(platform.clock.now()),
    });
    let text = document.to_string();
    Ok(Json(json!({"document": B64.encode(text.as_bytes()), "text": text})))
}

async fn post_consent(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(signed): Json<SignedIn>,
) -> Result<(StatusCode, Json<Value>), PlatformError> {
    let out = platform.relay_consent(&tenant, &signed).await?;
    let status = if out["created"] == true { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(out)))
}

async fn get_consent(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    let c = platform
        .store
        .consent(&id)
        .await?
        .filter(|c| c.tenant_id == tenant.id)
        .ok_or_else(|| PlatformError::not_found("consent", &id))?;
    Ok(Json(c.to_json(platform.clock.now())))
}

async fn post_latest_facts(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    Ok(Json(platform.latest_facts(&tenant, &user_id).await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/consents/document", post(post_document))
        .route("/v1/consents", post(post_consent))
        .route("/v1/consents/{id}", get(get_consent))
        .route("/v1/users/{id}/latest-facts", post(post_latest_facts))
}
