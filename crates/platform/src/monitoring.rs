//! Monitoring (現況確認): an SP registers its customers (user ids); a job (daily by default, or
//! `POST /v1/admin/monitoring/run`, or `hanko platform monitor --once`) checks every monitored
//! user's certificates against the CRLs held, reports the serials checked to the authority
//! (`POST /v1/status-checks`, how J-LIS counts 現況確認) and turns each newly seen revocation into
//! one event saying what it means, reading the **pair** of certificates (shared/spec/20-pki.md
//! §3, §5.3):
//!
//! | seen | event |
//! |---|---|
//! | signature revoked affiliationChanged, the auth certificate valid | `facts_changed` (異動) |
//! | both revoked affiliationChanged (or the auth one cessationOfOperation) | `death_or_emigration` |
//! | signature revoked affiliationChanged, no auth certificate known | `affiliation_changed` (refined by the latest facts when consented) |
//! | superseded | `renewed` (with the new certificate via the successor linkage) |
//! | certificateHold | `lost` |
//! | cessationOfOperation | `no_longer_used` |
//! | keyCompromise | `key_compromised`; any other reason `revoked` |
//!
//! An event is stored once per (tenant, user, certificate, revocation) — a unique key, so a
//! second run, or the same run on a second node, adds nothing. The pair's auth certificate
//! revoked for the same reason as the signature certificate is folded into the signature
//! certificate's event (one event for a death, a loss, a renewal). The event row is also the
//! webhook outbox entry (`crate::webhooks`): stored is delivered, eventually.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_pki::{CaKind, CertKind, CrlReason, Revocation, Serial};
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::store::{from_ts, ts, SqlStore};
use crate::tenants::{AdminCaller, SpCaller, Tenant};
use crate::users::{Binding, BoundBy};
use crate::verify::{certificate_type, rfc3339};
use crate::Platform;

/// Users per page of the monitoring run.
const PAGE: i64 = 1000;
/// Serials per status-check report (the authority's limit).
const REPORT_BATCH: usize = 10_000;
/// Most subscriptions listed per page.
const MAX_LIST: i64 = 1000;

/// A monitoring event to store (and deliver).
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// `evt_…`.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The tenant's user.
    pub user_id: String,
    /// The revoked certificate.
    pub serial: String,
    /// Its CRL reason name.
    pub reason: String,
    /// Its revocation date.
    pub revoked_at: OffsetDateTime,
    /// `facts_changed` … or `folded`.
    pub kind: String,
    /// When it was seen.
    pub created_at: OffsetDateTime,
    /// The webhook body (JSON).
    pub body: Vec<u8>,
    /// The latest facts are to be fetched before delivery (a consented user's facts changed).
    pub facts_pending: bool,
    /// `pending`, or `folded` (no delivery).
    pub delivery: &'static str,
}

/// The storage of monitoring.
#[async_trait]
pub trait MonitoringStore: Send + Sync {
    /// Whether `user_id` is a live (not deleted) user of `tenant_id`.
    async fn live_user(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError>;
    /// Subscribes a user; `false` when it was subscribed already.
    async fn subscribe(&self, tenant_id: &str, user_id: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// When a user was subscribed, if it is.
    async fn subscription(&self, tenant_id: &str, user_id: &str) -> Result<Option<OffsetDateTime>, StoreError>;
    /// Unsubscribes; `false` when it was not subscribed.
    async fn unsubscribe(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError>;
    /// Subscribed users after `after` in id order.
    async fn subscriptions(
        &self,
        tenant_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError>;
    /// (user, serial, kind) of every certificate of the subscribed live users in `[from, to]`.
    async fn subscribed_certificates(
        &self,
        tenant_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError>;
    /// (user, serial, reason, revoked_at) of the events already stored for users in `[from, to]`.
    async fn seen_revocations(
        &self,
        tenant_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String, String, i64)>, StoreError>;
    /// Stores an event; `false` when one for the same user, certificate and revocation exists.
    async fn add_event(&self, e: &NewEvent) -> Result<bool, StoreError>;
}

#[async_trait]
impl MonitoringStore for SqlStore {
    async fn live_user(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?
            .is_some())
    }

    async fn subscribe(&self, tenant_id: &str, user_id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO monitoring_subscriptions (tenant_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, user_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(ts(at))
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn subscription(&self, tenant_id: &str, user_id: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        sqlx::query("SELECT created_at FROM monitoring_subscriptions WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?
            .map(|r| from_ts(r.try_get("created_at")?))
            .transpose()
    }

    async fn unsubscribe(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM monitoring_subscriptions WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn subscriptions(
        &self,
        tenant_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        sqlx::query(
            "SELECT user_id, created_at FROM monitoring_subscriptions WHERE tenant_id = $1 AND user_id > $2 \
             ORDER BY user_id LIMIT $3",
        )
        .bind(tenant_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("user_id")?, from_ts(r.try_get("created_at")?)?)))
        .collect()
    }

    async fn subscribed_certificates(
        &self,
        tenant_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        sqlx::query(
            "SELECT c.user_id, c.serial, c.kind FROM monitoring_subscriptions s \
             JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id AND u.deleted_at IS NULL \
             JOIN user_certificates c ON c.tenant_id = s.tenant_id AND c.user_id = s.user_id \
             WHERE s.tenant_id = $1 AND s.user_id >= $2 AND s.user_id <= $3 ORDER BY c.user_id, c.serial",
        )
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("user_id")?, r.try_get("serial")?, r.try_get("kind")?)))
        .collect()
    }

    async fn seen_revocations(
        &self,
        tenant_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        sqlx::query(
            "SELECT user_id, serial, reason, revoked_at FROM monitoring_events \
             WHERE tenant_id = $1 AND user_id >= $2 AND user_id <= $3",
        )
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("user_id")?, r.try_get("serial")?, r.try_get("reason")?, r.try_get("revoked_at")?)))
        .collect()
    }

    async fn add_event(&self, e: &NewEvent) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO monitoring_events (id, tenant_id, user_id, serial, reason, revoked_at, type, created_at, \
             body, facts_pending, delivery, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12) \
             ON CONFLICT (tenant_id, user_id, serial, reason, revoked_at) DO NOTHING",
        )
        .bind(&e.id)
        .bind(&e.tenant_id)
        .bind(&e.user_id)
        .bind(&e.serial)
        .bind(&e.reason)
        .bind(ts(e.revoked_at))
        .bind(&e.kind)
        .bind(ts(e.created_at))
        .bind(&e.body)
        .bind(i64::from(e.facts_pending))
        .bind(e.delivery)
        .bind(ts(e.created_at))
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// What a revocation means for the SP, reading the pair of certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EventType {
    /// 異動: the signature certificate revoked (affiliationChanged), the auth certificate valid.
    FactsChanged,
    /// Both revoked affiliationChanged (or the auth one cessationOfOperation): death or
    /// emigration.
    DeathOrEmigration,
    /// The signature certificate revoked affiliationChanged and no auth certificate of the pair
    /// known: facts changed, or death or emigration.
    AffiliationChanged,
    /// superseded: renewed.
    Renewed,
    /// certificateHold: lost, stolen or suspended (never released).
    Lost,
    /// cessationOfOperation: card returned, no longer used.
    NoLongerUsed,
    /// keyCompromise.
    KeyCompromised,
    /// Any other reason.
    Revoked,
}

impl EventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::FactsChanged => "facts_changed",
            EventType::DeathOrEmigration => "death_or_emigration",
            EventType::AffiliationChanged => "affiliation_changed",
            EventType::Renewed => "renewed",
            EventType::Lost => "lost",
            EventType::NoLongerUsed => "no_longer_used",
            EventType::KeyCompromised => "key_compromised",
            EventType::Revoked => "revoked",
        }
    }

    pub(crate) fn meaning(self) -> &'static str {
        match self {
            EventType::FactsChanged => {
                "the customer's name, address, birth date or sex changed (異動): the signature certificate \
                 was revoked, the user-authentication certificate stays valid"
            }
            EventType::DeathOrEmigration => "the customer died or emigrated: both certificates were revoked",
            EventType::AffiliationChanged => {
                "the signature certificate was revoked for a change of facts, death or emigration \
                 (the user-authentication certificate is not known to the platform)"
            }
            EventType::Renewed => "the certificate was renewed: a new certificate succeeds it",
            EventType::Lost => "the card or phone was reported lost or stolen, or suspended",
            EventType::NoLongerUsed => "the card was returned or is no longer used",
            EventType::KeyCompromised => "the certificate's key was compromised",
            EventType::Revoked => "the certificate was revoked",
        }
    }
}

/// One of a user's certificates and what the CRLs say of it.
#[derive(Debug, Clone)]
pub(crate) struct CertState {
    pub(crate) serial: String,
    pub(crate) kind: CertKind,
    pub(crate) revocation: Option<Revocation>,
}

/// What to do with one revoked certificate of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finding {
    /// An event of this type; `with` are the pair's certificates revoked for the same reason
    /// (indices into the user's certificates).
    Event(EventType, Vec<usize>),
    /// Carried by the event of the pair's signature certificate.
    Folded,
}

fn is_signature(kind: CertKind) -> bool {
    matches!(kind, CertKind::Signature | CertKind::SmartphoneSignature)
}

/// The other certificate of the pair on the same device (card: signature ↔ auth; phone:
/// smartphone signature ↔ smartphone auth).
fn counterpart(kind: CertKind) -> Option<CertKind> {
    Some(match kind {
        CertKind::Signature => CertKind::Auth,
        CertKind::Auth => CertKind::Signature,
        CertKind::SmartphoneSignature => CertKind::SmartphoneAuth,
        CertKind::SmartphoneAuth => CertKind::SmartphoneSignature,
        _ => return None,
    })
}

fn kind_of(s: &str) -> Option<CertKind> {
    [CertKind::Signature, CertKind::Auth, CertKind::SmartphoneSignature, CertKind::SmartphoneAuth]
        .into_iter()
        .find(|k| k.as_str() == s)
}

/// Reads the pair: what the revocation of `certs[i]` means (a pure function of the user's
/// certificates and their CRL status).
pub(crate) fn classify(certs: &[CertState], i: usize) -> Option<Finding> {
    let c = &certs[i];
    let r = c.revocation?;
    let other = counterpart(c.kind);
    let pair: Vec<usize> = (0..certs.len()).filter(|j| Some(certs[*j].kind) == other).collect();
    let same_reason: Vec<usize> =
        pair.iter().copied().filter(|j| certs[*j].revocation.is_some_and(|o| o.reason == r.reason)).collect();
    if !is_signature(c.kind) && !same_reason.is_empty() {
        return Some(Finding::Folded);
    }
    let t = match r.reason {
        CrlReason::AFFILIATION_CHANGED if is_signature(c.kind) => {
            if pair.iter().any(|j| certs[*j].revocation.is_none()) {
                EventType::FactsChanged
            } else if pair.iter().any(|j| {
                certs[*j].revocation.is_some_and(|o| {
                    matches!(o.reason, CrlReason::AFFILIATION_CHANGED | CrlReason::CESSATION_OF_OPERATION)
                })
            }) {
                EventType::DeathOrEmigration
            } else {
                EventType::AffiliationChanged
            }
        }
        // An auth certificate is revoked affiliationChanged only with its signature certificate.
        CrlReason::AFFILIATION_CHANGED => EventType::DeathOrEmigration,
        CrlReason::SUPERSEDED => EventType::Renewed,
        CrlReason::CERTIFICATE_HOLD => EventType::Lost,
        CrlReason::CESSATION_OF_OPERATION => EventType::NoLongerUsed,
        CrlReason::KEY_COMPROMISE => EventType::KeyCompromised,
        _ => EventType::Revoked,
    };
    Some(Finding::Event(t, if is_signature(c.kind) { same_reason } else { Vec::new() }))
}

/// What one monitoring run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonitoringReport {
    /// Tenants with monitored users.
    pub tenants: usize,
    /// Users checked.
    pub users: usize,
    /// Certificates checked against the CRLs.
    pub certificates: usize,
    /// Revoked certificates among them.
    pub revoked: usize,
    /// New events stored (to be delivered).
    pub events: usize,
    /// Serials reported to the authority as checked (現況確認).
    pub reported: usize,
    /// Problems that did not stop the run (the authority unreachable …); the run is retried.
    pub errors: Vec<String>,
}

/// The successor of a certificate, as the event tells it.
struct Successor {
    serial: String,
    status: String,
}

impl Platform {
    /// Monitoring: checks every monitored user of every tenant against the CRLs held, reports
    /// the serials checked to the authority, and stores one event per newly seen revocation.
    pub async fn run_monitoring(&self) -> Result<MonitoringReport, PlatformError> {
        let result = self.monitoring_pass().await;
        self.metrics.monitoring_run(&result);
        result
    }

    async fn monitoring_pass(&self) -> Result<MonitoringReport, PlatformError> {
        let mut report = MonitoringReport::default();
        if let Err(e) = self.poll_withdrawals().await {
            report.errors.push(format!("consent withdrawals: {e}"));
        }
        let crls = self.crls.current();
        let trust = self.trust();
        let mut by_kind: HashMap<CaKind, Vec<&hanko_pki::crl::CrlIndex>> = HashMap::new();
        for a in trust.anchors() {
            let Some(index) = crls.get(a.key_id()) else {
                return Err(PlatformError::Unavailable(format!(
                    "no CRL held for a {} CA generation; monitoring needs current revocation data",
                    a.kind().as_str()
                )));
            };
            by_kind.entry(a.kind()).or_default().push(index);
        }
        let status = |serial: &str, kind: CertKind| -> Option<Revocation> {
            let ca = if is_signature(kind) { CaKind::Signature } else { CaKind::Auth };
            let s = Serial::from_hex(serial)?;
            by_kind.get(&ca)?.iter().find_map(|index| index.lookup(&s))
        };
        for tenant in self.store.tenants().await? {
            let mut after = String::new();
            let mut checked: Vec<String> = Vec::new();
            let mut any = false;
            loop {
                let users = self.store.subscriptions(&tenant.id, &after, PAGE).await?;
                let (Some(first), Some(last)) = (users.first(), users.last()) else { break };
                any = true;
                let (first, last) = (first.0.clone(), last.0.clone());
                report.users += users.len();
                let rows = self.store.subscribed_certificates(&tenant.id, &first, &last).await?;
                let seen: HashSet<(String, String, String, i64)> =
                    self.store.seen_revocations(&tenant.id, &first, &last).await?.into_iter().collect();
                let mut per_user: Vec<(String, Vec<CertState>)> = Vec::new();
                for (user, serial, kind) in rows {
                    let Some(kind) = kind_of(&kind) else { continue };
                    report.certificates += 1;
                    let revocation = status(&serial, kind);
                    checked.push(serial.clone());
                    if per_user.last().is_none_or(|(u, _)| *u != user) {
                        per_user.push((user.clone(), Vec::new()));
                    }
                    if let Some((_, certs)) = per_user.last_mut() {
                        certs.push(CertState { serial, kind, revocation });
                    }
                }
                for (user, certs) in &per_user {
                    for i in 0..certs.len() {
                        let Some(r) = certs[i].revocation else { continue };
                        report.revoked += 1;
                        let key = (user.clone(), certs[i].serial.clone(), r.reason.name().to_owned(), ts(r.revoked_at));
                        if seen.contains(&key) {
                            continue;
                        }
                        match self.record_event(&tenant, user, certs, i).await {
                            Ok(true) => report.events += 1,
                            Ok(false) => {}
                            Err(e) => report.errors.push(format!("tenant {} user {user}: {e}", tenant.id)),
                        }
                    }
                }
                after = last;
            }
            if any {
                report.tenants += 1;
            }
            checked.sort();
            checked.dedup();
            for batch in checked.chunks(REPORT_BATCH) {
                let request = self
                    .authority
                    .request(reqwest::Method::POST, "/v1/status-checks", Some(&tenant.sp_header()))
                    .json(&json!({"serials": batch}));
                match self.authority.json::<Value>(request).await {
                    Ok(_) => {
                        report.reported += batch.len();
                        // The authority counts persons once a year and does not say which were
                        // new (that would tell who holds which certificate): the platform's meter
                        // counts the serials it reported, under its own name.
                        self.meter(&tenant, "status-check-reported", batch.len() as u64);
                    }
                    Err(e) => report.errors.push(format!("status-check report for tenant {}: {e}", tenant.id)),
                }
            }
        }
        tracing::info!(
            users = report.users,
            certificates = report.certificates,
            events = report.events,
            errors = report.errors.len(),
            "monitoring run"
        );
        Ok(report)
    }

    /// Stores the event of `certs[i]`'s revocation (with successor lookups where the event
    /// names the new certificate); `false` when it was stored before (another node).
    async fn record_event(
        &self,
        tenant: &Tenant,
        user: &str,
        certs: &[CertState],
        i: usize,
    ) -> Result<bool, PlatformError> {
        let c = &certs[i];
        let Some(r) = c.revocation else { return Ok(false) };
        let now = self.clock.now();
        let id = format!("evt_{}", crate::new_id().replace('-', ""));
        let (kind, delivery, body, facts_pending) = match classify(certs, i) {
            None => return Ok(false),
            Some(Finding::Folded) => ("folded".to_owned(), "folded", b"{}".to_vec(), false),
            Some(Finding::Event(mut t, with)) => {
                let involved: Vec<&CertState> = std::iter::once(c).chain(with.iter().map(|j| &certs[*j])).collect();
                let mut successors = Vec::new();
                if matches!(t, EventType::Renewed | EventType::FactsChanged | EventType::AffiliationChanged) {
                    for cert in &involved {
                        if let Some(s) = self.successor(tenant, &cert.serial).await? {
                            // Follow the new certificate from now on (bound to the same user).
                            let b = Binding {
                                serial: s.serial.clone(),
                                kind: cert.kind.as_str().to_owned(),
                                not_after: None,
                                source: BoundBy::Successor,
                            };
                            self.store.bind(&tenant.id, user, &[b], now).await?;
                            successors.push((cert.kind, s));
                        }
                    }
                    // Reissued with new facts: the person is alive and resident.
                    if t == EventType::AffiliationChanged && !successors.is_empty() {
                        t = EventType::FactsChanged;
                    }
                }
                let consented = matches!(t, EventType::FactsChanged | EventType::AffiliationChanged)
                    && self.active_consent(&tenant.id, user).await?.is_some();
                let shown = |serial: &str| (!tenant.sensitive).then(|| serial.to_owned());
                let certificates: Vec<Value> = involved
                    .iter()
                    .filter_map(|cert| {
                        let rev = cert.revocation?;
                        Some(json!({
                            "certificate_type": certificate_type(cert.kind),
                            "reason": rev.reason.name(),
                            "revoked_at": rfc3339(rev.revoked_at),
                            "serial": shown(&cert.serial),
                        }))
                    })
                    .collect();
                let successors: Vec<Value> = successors
                    .iter()
                    .map(|(kind, s)| {
                        json!({"certificate_type": certificate_type(*kind), "status": s.status,
                               "serial": shown(&s.serial)})
                    })
                    .collect();
                let body = json!({
                    "id": id,
                    "type": t.as_str(),
                    "created_at": rfc3339(now),
                    "user_id": user,
                    "data": {
                        "meaning": t.meaning(),
                        "reason": r.reason.name(),
                        "revoked_at": rfc3339(r.revoked_at),
                        "certificates": certificates,
                        "successors": successors,
                        "latest_facts": Value::Null,
                    },
                });
                let body = serde_json::to_vec(&body).map_err(|e| PlatformError::Pki(e.to_string()))?;
                (t.as_str().to_owned(), "pending", body, consented)
            }
        };
        let stored = self
            .store
            .add_event(&NewEvent {
                id,
                tenant_id: tenant.id.clone(),
                user_id: user.to_owned(),
                serial: c.serial.clone(),
                reason: r.reason.name().to_owned(),
                revoked_at: r.revoked_at,
                kind,
                created_at: now,
                body,
                facts_pending,
                delivery,
            })
            .await?;
        Ok(stored && delivery == "pending")
    }

    /// The newest successor of `serial` (the authority's old → new linkage), if any.
    async fn successor(&self, tenant: &Tenant, serial: &str) -> Result<Option<Successor>, PlatformError> {
        let path = format!("/v1/serials/{serial}/successor");
        let request = self.authority.request(reqwest::Method::GET, &path, Some(&tenant.sp_header()));
        let answer: Value = self.authority.json(request).await?;
        self.meter(tenant, "successor-lookup", 1);
        Ok(answer["successor"].as_str().map(|s| Successor {
            serial: s.to_owned(),
            status: answer["status"].as_str().unwrap_or("unknown").to_owned(),
        }))
    }

    /// Subscribes a live user of `tenant` to monitoring. When the platform knows the user's
    /// valid signature certificate but not the auth certificate of the pair, it asks the
    /// authority for it (対応証明書の発行番号, 2 yen) so that a revocation can be read as a
    /// pair; a failure there does not refuse the subscription.
    pub async fn subscribe(&self, tenant: &Tenant, user_id: &str) -> Result<Value, PlatformError> {
        if !self.store.live_user(&tenant.id, user_id).await? {
            return Err(PlatformError::not_found("user", user_id));
        }
        let now = self.clock.now();
        let created = self.store.subscribe(&tenant.id, user_id, now).await?;
        let certs: Vec<(String, String)> =
            self.store.user_certificates(&tenant.id, user_id).await?.into_iter().map(|c| (c.serial, c.kind)).collect();
        let kinds: HashSet<CertKind> = certs.iter().filter_map(|(_, k)| kind_of(k)).collect();
        for (serial, kind) in &certs {
            let Some(kind) = kind_of(kind) else { continue };
            if !is_signature(kind) || counterpart(kind).is_some_and(|k| kinds.contains(&k)) {
                continue;
            }
            let request = self
                .authority
                .request(reqwest::Method::POST, "/v1/serials/corresponding", Some(&tenant.sp_header()))
                .json(&json!({"serial": serial}));
            match self.authority.json::<Value>(request).await {
                Ok(v) => {
                    self.meter(tenant, "corresponding-serial", 1);
                    if let (Some(auth), Some(k)) = (v["auth_serial"].as_str(), counterpart(kind)) {
                        let b = Binding {
                            serial: auth.to_owned(),
                            kind: k.as_str().to_owned(),
                            not_after: None,
                            source: BoundBy::Corresponding,
                        };
                        self.store.bind(&tenant.id, user_id, &[b], now).await?;
                    }
                }
                Err(e) => tracing::info!(error = %e, "corresponding serial not learnt; the pair stays unknown"),
            }
        }
        let since = self.store.subscription(&tenant.id, user_id).await?.unwrap_or(now);
        Ok(json!({"user_id": user_id, "monitored_since": rfc3339(since), "created": created}))
    }
}

/// Runs the monitoring job every `Config::monitoring_interval` (the first run one interval
/// after start, so that the CRLs are fetched first).
pub(crate) async fn task(platform: Arc<Platform>) {
    loop {
        tokio::time::sleep(platform.config.monitoring_interval).await;
        match platform.run_monitoring().await {
            Ok(r) if !r.errors.is_empty() => tracing::warn!(errors = ?r.errors, "monitoring run had errors"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "monitoring run failed; retried at the next interval"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeIn {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    evidence_id: Option<String>,
}

fn check_user_id(id: &str) -> Result<(), PlatformError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(PlatformError::Invalid("user_id must be 1–64 of [A-Za-z0-9_-]".into()));
    }
    Ok(())
}

async fn post_subscription(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(body): Json<SubscribeIn>,
) -> Result<(StatusCode, Json<Value>), PlatformError> {
    let user_id = match (body.user_id, body.evidence_id) {
        (Some(u), None) => {
            check_user_id(&u)?;
            u
        }
        (None, Some(e)) => platform
            .tenant_evidence(&tenant.id, &e)
            .await?
            .user_id
            .ok_or_else(|| PlatformError::Invalid(format!("evidence {e} identifies no user (it was not valid)")))?,
        _ => return Err(PlatformError::Invalid("give exactly one of user_id and evidence_id".into())),
    };
    let out = platform.subscribe(&tenant, &user_id).await?;
    let status = if out["created"] == true { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(out)))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

async fn list_subscriptions(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, PlatformError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(PlatformError::Invalid(format!("limit must be 1–{MAX_LIST}")));
    }
    let after = q.after.unwrap_or_default();
    if after.len() > 64 {
        return Err(PlatformError::Invalid("after is a user id".into()));
    }
    let list = platform.store.subscriptions(&tenant.id, &after, limit).await?;
    let next = (list.len() as i64 == limit).then(|| list.last().map(|(u, _)| u.clone())).flatten();
    let items: Vec<Value> = list.iter().map(|(u, at)| json!({"user_id": u, "monitored_since": rfc3339(*at)})).collect();
    Ok(Json(json!({"subscriptions": items, "next_after": next})))
}

async fn get_subscription(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, PlatformError> {
    let at = platform
        .store
        .subscription(&tenant.id, &user_id)
        .await?
        .ok_or_else(|| PlatformError::not_found("subscription", &user_id))?;
    Ok(Json(json!({"user_id": user_id, "monitored_since": rfc3339(at)})))
}

async fn delete_subscription(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Path(user_id): Path<String>,
) -> Result<StatusCode, PlatformError> {
    if !platform.store.unsubscribe(&tenant.id, &user_id).await? {
        return Err(PlatformError::not_found("subscription", &user_id));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn post_run(
    State(platform): State<Arc<Platform>>,
    _: AdminCaller,
) -> Result<Json<MonitoringReport>, PlatformError> {
    Ok(Json(platform.run_monitoring().await?))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/monitoring/subscriptions", post(post_subscription).get(list_subscriptions))
        .route("/v1/monitoring/subscriptions/{user_id}", get(get_subscription).delete(delete_subscription))
        .route("/v1/admin/monitoring/run", post(post_run))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use time::macros::datetime;

    use super::*;

    fn cert(kind: CertKind, reason: Option<CrlReason>) -> CertState {
        CertState {
            serial: "01".into(),
            kind,
            revocation: reason.map(|reason| Revocation { revoked_at: datetime!(2026-04-01 00:00 UTC), reason }),
        }
    }

    #[test]
    fn the_pair_says_what_a_revocation_means() {
        let aff = Some(CrlReason::AFFILIATION_CHANGED);
        // A move: the signature certificate revoked, the auth one valid.
        let moved = [cert(CertKind::Signature, aff), cert(CertKind::Auth, None)];
        assert_eq!(classify(&moved, 0), Some(Finding::Event(EventType::FactsChanged, vec![])));
        assert_eq!(classify(&moved, 1), None);
        // Death: both revoked affiliationChanged — one event, the auth certificate folded in.
        let dead = [cert(CertKind::Signature, aff), cert(CertKind::Auth, aff)];
        assert_eq!(classify(&dead, 0), Some(Finding::Event(EventType::DeathOrEmigration, vec![1])));
        assert_eq!(classify(&dead, 1), Some(Finding::Folded));
        // Emigration revoking both (the auth one cessationOfOperation).
        let gone = [cert(CertKind::Signature, aff), cert(CertKind::Auth, Some(CrlReason::CESSATION_OF_OPERATION))];
        assert_eq!(classify(&gone, 0), Some(Finding::Event(EventType::DeathOrEmigration, vec![])));
        // The pair not known.
        let alone = [cert(CertKind::Signature, aff)];
        assert_eq!(classify(&alone, 0), Some(Finding::Event(EventType::AffiliationChanged, vec![])));
        // An auth-only user (a login SP) whose auth certificate is revoked affiliationChanged.
        let auth_only = [cert(CertKind::Auth, aff)];
        assert_eq!(classify(&auth_only, 0), Some(Finding::Event(EventType::DeathOrEmigration, vec![])));
        // Loss, renewal, return: one event for the pair.
        for (reason, t) in [
            (CrlReason::CERTIFICATE_HOLD, EventType::Lost),
            (CrlReason::SUPERSEDED, EventType::Renewed),
            (CrlReason::CESSATION_OF_OPERATION, EventType::NoLongerUsed),
            (CrlReason::KEY_COMPROMISE, EventType::KeyCompromised),
            (CrlReason::UNSPECIFIED, EventType::Revoked),
        ] {
            let pair = [cert(CertKind::Auth, Some(reason)), cert(CertKind::Signature, Some(reason))];
            assert_eq!(classify(&pair, 1), Some(Finding::Event(t, vec![0])), "{reason:?}");
            assert_eq!(classify(&pair, 0), Some(Finding::Folded), "{reason:?}");
        }
        // A phone's pair is read apart from the card's.
        let phone = [
            cert(CertKind::Signature, aff),
            cert(CertKind::Auth, None),
            cert(CertKind::SmartphoneSignature, aff),
            cert(CertKind::SmartphoneAuth, aff),
        ];
        assert_eq!(classify(&phone, 0), Some(Finding::Event(EventType::FactsChanged, vec![])));
        assert_eq!(classify(&phone, 2), Some(Finding::Event(EventType::DeathOrEmigration, vec![3])));
    }
}
