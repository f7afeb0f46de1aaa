//! User identity: which tenant-scoped user a verified certificate belongs to, the same across
//! renewal, reissue after a move, a new phone, and between a person's signature and auth
//! certificates — using only the authority's public services, acting for the tenant
//! (`X-Hanko-SP`):
//!
//! 1. **Known serial** (the common case): one indexed lookup, no authority call.
//! 2. **Corresponding serial** (`POST /v1/serials/corresponding`, 2 yen): for an unknown
//!    signature certificate, the auth certificate on the same device and, for a card, the
//!    phone's signature certificate (and, one more call, the phone's auth certificate). If one
//!    of them is bound, that is the user. Either way they are bound with it, so the person's
//!    auth certificate arriving later is a known serial.
//! 3. **Successor linkage** (`GET /v1/serials/{serial}/successor`, no fee): the CRLs say which
//!    known certificates were revoked as `superseded` (renewal, a new phone) or
//!    `affiliationChanged` (a move): those are followed to their successors, which are bound to
//!    the same user. This scan runs once per tenant per CRL set (a mark in `identity_scans`), in
//!    the background within a minute of a CRL switch, and on the request path only when an
//!    unknown certificate arrives before the background got to it (one scan per tenant at a
//!    time per node; others wait for it).
//! 4. Otherwise a **new user**, created together with its bindings in one transaction; a
//!    concurrent request for the same certificate wins or loses as a whole (no orphan user).
//!
//! Users are never merged: a binding never moves a certificate from one user to another.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use hanko_pki::verify::{CrlSet, VerifiedCertificate};
use hanko_pki::{CaKind, CertKind, CrlReason, Revocation, Serial};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::error::PlatformError;
use crate::tenants::Tenant;
use crate::users::{Binding, BoundBy};
use crate::Platform;

/// How long after its revocation a certificate without a successor is asked about again (a new
/// signature certificate is written at the counter some days after a move).
const SUCCESSOR_WINDOW: Duration = Duration::days(90);
/// Rows read per page while scanning a tenant's certificates.
const SCAN_PAGE: i64 = 1000;

/// The kind named by [`CertKind::as_str`].
pub(crate) fn kind_from_str(s: &str) -> Option<CertKind> {
    [CertKind::Signature, CertKind::Auth, CertKind::SmartphoneSignature, CertKind::SmartphoneAuth]
        .into_iter()
        .find(|k| k.as_str() == s)
}

fn ca_kind(kind: CertKind) -> CaKind {
    if kind.carries_facts() {
        CaKind::Signature
    } else {
        CaKind::Auth
    }
}

/// The revocation state of a serial in the CRLs held.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CrlState {
    /// Not on any CRL of its CA.
    NotRevoked,
    /// Revoked.
    Revoked(Revocation),
    /// No current CRL of its CA is held (none at all, or one past its nextUpdate).
    NoData,
}

#[derive(Deserialize)]
struct CorrespondingAnswer {
    kind: String,
    auth_serial: Option<String>,
    smartphone_signature_serial: Option<String>,
}

#[derive(Deserialize)]
struct SuccessorAnswer {
    chain: Vec<String>,
}

/// The per-tenant scan locks of this node.
fn scan_lock(tenant_id: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::OnceLock<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        std::sync::OnceLock::new();
    let mut locks = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if locks.len() > 10_000 {
        locks.retain(|_, l| Arc::strong_count(l) > 1);
    }
    locks.entry(tenant_id.to_owned()).or_default().clone()
}

/// Last on-demand CRL refresh (Unix seconds) made for a certificate newer than the CRLs held.
static LAST_DEMAND_REFRESH: AtomicI64 = AtomicI64::new(0);

impl Platform {
    /// A fingerprint of the CRL set held: each generation's cRLNumber.
    pub(crate) fn crl_mark(&self, crls: &CrlSet) -> String {
        let trust = self.trust();
        let mut parts: Vec<String> = trust
            .anchors()
            .iter()
            .filter_map(|a| crls.get(a.key_id()).map(|i| format!("{}:{}", hex::encode(a.key_id()), i.crl_number())))
            .collect();
        parts.sort();
        parts.join(",")
    }

    /// Whether `serial` (of `kind`) is on a CRL held of its CA (any generation: serials are
    /// unique within the authority).
    pub(crate) fn crl_state(&self, crls: &CrlSet, kind: CertKind, serial: &Serial, now: OffsetDateTime) -> CrlState {
        let trust = self.trust();
        let mut held = false;
        let mut stale = false;
        for a in trust.anchors().iter().filter(|a| a.kind() == ca_kind(kind)) {
            let Some(index) = crls.get(a.key_id()) else { continue };
            held = true;
            if let Some(r) = index.lookup(serial) {
                return CrlState::Revoked(r);
            }
            // A stale CRL of an expired CA generation is no gap: none of its certificates can
            // be valid any more.
            if index.next_update().is_some_and(|n| n < now) && a.certificate().not_after() >= now {
                stale = true;
            }
        }
        if !held || stale {
            CrlState::NoData
        } else {
            CrlState::NotRevoked
        }
    }

    /// The tenant's user id for a verified certificate (see the module documentation).
    pub async fn user_for(&self, tenant: &Tenant, v: &VerifiedCertificate) -> Result<String, PlatformError> {
        let serial = v.serial().to_string();
        let seen = Binding {
            serial: serial.clone(),
            kind: v.kind().as_str().to_owned(),
            not_after: Some(v.certificate().not_after()),
            source: BoundBy::Seen,
        };
        if let Some(id) = self.store.user_of_serial(&tenant.id, &serial).await? {
            return Ok(id);
        }
        // 2. The other certificates of the person's device, for a signature certificate.
        let mut related =
            if v.kind().carries_facts() { self.corresponding(tenant, &serial).await? } else { Vec::new() };
        // A card's signature certificate names the phone's signature certificate; the phone's
        // auth certificate is one hop further (2 yen more, only for a person with a phone).
        if v.kind() == CertKind::Signature {
            let phone: Vec<String> = related
                .iter()
                .filter(|b| b.kind == CertKind::SmartphoneSignature.as_str())
                .map(|b| b.serial.clone())
                .collect();
            for s in phone {
                let more = self.corresponding(tenant, &s).await?;
                related.extend(more.into_iter().filter(|b| b.kind == CertKind::SmartphoneAuth.as_str()));
            }
        }
        let serials: Vec<String> = related.iter().map(|b| b.serial.clone()).collect();
        if let Some((_, user)) = self.store.users_of_serials(&tenant.id, &serials).await?.into_iter().next() {
            return self.bind_to(tenant, &user, seen, related).await;
        }
        // 3. A successor of a known certificate the CRLs show superseded or changed.
        if self.scan_successors(tenant, Some(v)).await? {
            let mut all = vec![serial.clone()];
            all.extend(serials.iter().cloned());
            if let Some((_, user)) = self.store.users_of_serials(&tenant.id, &all).await?.into_iter().next() {
                return self.bind_to(tenant, &user, seen, related).await;
            }
        }
        // 4. A new user with all it is known by, in one transaction.
        let now = self.clock.now();
        let id = crate::new_id();
        let mut bindings = vec![seen];
        bindings.extend(related);
        if self.store.create_user(&tenant.id, &id, &bindings, now).await? {
            tracing::debug!(tenant = %tenant.id, "new user");
            return Ok(id);
        }
        // Another request bound this certificate first: its user it is.
        self.store
            .user_of_serial(&tenant.id, &serial)
            .await?
            .ok_or_else(|| PlatformError::Store(hanko_store::StoreError::Corrupt("user binding vanished".into())))
    }

    async fn bind_to(
        &self,
        tenant: &Tenant,
        user: &str,
        seen: Binding,
        related: Vec<Binding>,
    ) -> Result<String, PlatformError> {
        let serial = seen.serial.clone();
        let mut bindings = vec![seen];
        bindings.extend(related);
        self.store.bind(&tenant.id, user, &bindings, self.clock.now()).await?;
        // Bound to `user`, or (raced) to whoever bound it first.
        Ok(self.store.user_of_serial(&tenant.id, &serial).await?.unwrap_or_else(|| user.to_owned()))
    }

    /// The authority's corresponding serials of the valid signature certificate `serial`, as
    /// bindings. A certificate the authority now refuses (revoked since the CRL, 409) has none;
    /// an unreachable authority is an error (an identity guessed now could never be mended).
    async fn corresponding(&self, tenant: &Tenant, serial: &str) -> Result<Vec<Binding>, PlatformError> {
        let request = self
            .authority
            .request(reqwest::Method::POST, "/v1/serials/corresponding", Some(&tenant.sp_header()))
            .json(&serde_json::json!({"serial": serial}));
        let answer: CorrespondingAnswer = match self.authority.json(request).await {
            Ok(a) => {
                // Billed to the SP by the authority (2 yen): mirrored in the platform's meter.
                self.meter(tenant, "corresponding-serial", 1);
                a
            }
            Err(PlatformError::Authority(detail)) => {
                tracing::warn!(tenant = %tenant.id, %detail, "corresponding serial not available");
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        let auth_kind = if answer.kind == CertKind::SmartphoneSignature.as_str() {
            CertKind::SmartphoneAuth
        } else {
            CertKind::Auth
        };
        let mut out = Vec::new();
        for (s, kind) in
            [(answer.auth_serial, auth_kind), (answer.smartphone_signature_serial, CertKind::SmartphoneSignature)]
        {
            if let Some(s) = s.as_deref().and_then(Serial::from_hex) {
                out.push(Binding {
                    serial: s.to_string(),
                    kind: kind.as_str().to_owned(),
                    not_after: None,
                    source: BoundBy::Corresponding,
                });
            }
        }
        Ok(out)
    }

    /// Follows the successors of `tenant`'s certificates that the CRLs held show revoked as
    /// superseded or affiliationChanged, binding each successor chain to its user; once per
    /// CRL set. `trigger`, a certificate newer than the CRLs held, first has the CRLs refreshed
    /// (at most once a minute per node). `true` when a scan ran.
    pub async fn scan_successors(
        &self,
        tenant: &Tenant,
        trigger: Option<&VerifiedCertificate>,
    ) -> Result<bool, PlatformError> {
        let now = self.clock.now();
        let mut crls = self.crls.current();
        if let Some(v) = trigger {
            let newer = self
                .trust()
                .anchors()
                .iter()
                .filter(|a| a.kind() == ca_kind(v.kind()))
                .filter_map(|a| crls.get(a.key_id()))
                .all(|i| i.this_update() < v.certificate().not_before());
            let last = LAST_DEMAND_REFRESH.load(Ordering::Relaxed);
            if newer && now.unix_timestamp() - last >= 60 {
                LAST_DEMAND_REFRESH.store(now.unix_timestamp(), Ordering::Relaxed);
                if let Err(e) = self.refresh_crls().await {
                    tracing::warn!(error = %e, "CRL refresh for a new certificate failed");
                }
                crls = self.crls.current();
            }
        }
        let mark = self.crl_mark(&crls);
        if mark.is_empty() || self.store.scan_mark(&tenant.id).await?.as_deref() == Some(mark.as_str()) {
            return Ok(false);
        }
        // One scan per tenant at a time on this node: a request arriving during the scan waits
        // for it and then finds the mark current.
        let lock = scan_lock(&tenant.id);
        let _guard = lock.lock().await;
        if self.store.scan_mark(&tenant.id).await?.as_deref() == Some(mark.as_str()) {
            return Ok(true);
        }
        let mut after = String::new();
        let mut followed = 0usize;
        loop {
            let page = self.store.open_certificates(&tenant.id, &after, SCAN_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.serial.clone();
            for c in &page {
                let (Some(kind), Some(serial)) = (kind_from_str(&c.kind), Serial::from_hex(&c.serial)) else {
                    continue;
                };
                let CrlState::Revoked(r) = self.crl_state(&crls, kind, &serial, now) else { continue };
                if !matches!(r.reason, CrlReason::SUPERSEDED | CrlReason::AFFILIATION_CHANGED)
                    || r.revoked_at + SUCCESSOR_WINDOW < now
                {
                    continue;
                }
                let path = format!("/v1/serials/{}/successor", c.serial);
                let request = self.authority.request(reqwest::Method::GET, &path, Some(&tenant.sp_header()));
                let chain = match self.authority.json::<SuccessorAnswer>(request).await {
                    Ok(a) => {
                        self.meter(tenant, "successor-lookup", 1);
                        a.chain
                    }
                    Err(PlatformError::Authority(detail)) => {
                        tracing::warn!(tenant = %tenant.id, %detail, "successor not available");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let chain: Vec<String> =
                    chain.iter().filter_map(|s| Serial::from_hex(s)).map(|s| s.to_string()).collect();
                if chain.is_empty() {
                    self.store.set_successor(&tenant.id, &c.serial, None, now).await?;
                    continue;
                }
                let bindings: Vec<Binding> = chain
                    .iter()
                    .map(|s| Binding {
                        serial: s.clone(),
                        kind: c.kind.clone(),
                        not_after: None,
                        source: BoundBy::Successor,
                    })
                    .collect();
                self.store.bind(&tenant.id, &c.user_id, &bindings, now).await?;
                // A successor verified before the CRLs showed this one revoked got a user of its
                // own; users are never merged, but the operator hears of it.
                let owners = self.store.users_of_serials(&tenant.id, &chain).await?;
                if owners.iter().any(|(_, u)| *u != c.user_id) {
                    tracing::warn!(
                        tenant = %tenant.id,
                        "a successor certificate was bound to another user before its predecessor \
                         was seen revoked: one person has two user ids at this tenant"
                    );
                }
                let mut previous = c.serial.clone();
                for s in &chain {
                    self.store.set_successor(&tenant.id, &previous, Some(s), now).await?;
                    previous.clone_from(s);
                }
                followed += 1;
            }
        }
        self.store.set_scan_mark(&tenant.id, &mark, now).await?;
        if followed > 0 {
            tracing::info!(tenant = %tenant.id, followed, "certificates followed to their successors");
        }
        Ok(true)
    }

    /// Runs [`Platform::scan_successors`] for every tenant (the background task, after a CRL
    /// refresh).
    pub async fn scan_all_successors(&self) -> Result<(), PlatformError> {
        for tenant in self.store.tenants().await? {
            self.scan_successors(&tenant, None).await?;
        }
        Ok(())
    }
}

/// Scans every tenant's certificates for successors soon after the CRL set changed: it looks
/// every minute (or every `Config::crl_refresh`, if shorter); an unchanged CRL set costs one
/// query per tenant.
pub(crate) async fn task(platform: Arc<Platform>) {
    let every = platform.config.crl_refresh.min(std::time::Duration::from_secs(60));
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = platform.scan_all_successors().await {
            tracing::warn!(error = %e, "successor scan failed; retried at the next CRL refresh");
        }
    }
}
