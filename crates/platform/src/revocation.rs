//! Revocation data: the authority's CRLs, fetched on schedule with their ETags, verified,
//! indexed (`hanko_pki::crl::CrlIndex`, 24 bytes per entry) and switched in atomically — a
//! verification sees the old set or the new one, never a half-built one.
//!
//! **One generation at a time.** The set holds each CA generation's index behind an `Arc`: a new
//! CRL of one generation is indexed into a clone of the set, so the other generations' indexes
//! are shared, never rebuilt.
//!
//! **Kept on disk.** Every CRL switched in is written to `DATA_DIR/crl/<kind>-<generation>.crl`
//! (atomically) with its ETag in `DATA_DIR/crl/state.json`. At open the platform verifies and
//! indexes them again, so a restarted node answers at once and its first refresh costs 304s.
//!
//! **Schedule.** [`task`] refreshes every `Config::crl_refresh`, and sooner when a CRL held
//! reaches its nextUpdate (the authority publishes the next one then): at nextUpdate +
//! [`AFTER_NEXT_UPDATE`]. A failed refresh is retried after [`RETRY`]; while a valid trust
//! anchor has no CRL yet, every [`MISSING_RETRY`].
//!
//! **Stale data.** A CRL past its nextUpdate is never used to say "good": the trust core answers
//! `CrlStale` and the verification is a 503 naming the generation's expiry, with nothing
//! recorded. `/healthz` reports each CRL's age.
//!
//! **New CA generations.** A CRL signed by no trust anchor (a generation the authority created
//! after this platform was set up) is refused with a log line naming the anchor file to add;
//! the other generations are unaffected. `DATA_DIR/anchors/` is read again at every refresh, so
//! dropping the generation's CA certificate there (`signature-<generation>.der` /
//! `auth-<generation>.der`) makes the next refresh accept its CRL — no restart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hanko_pki::crl::ParsedCrl;
use hanko_pki::verify::{CrlSet, TrustStore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::authority::{CrlListing, Fetched};
use crate::error::PlatformError;
use crate::Platform;

/// The directory of the CRLs kept, under the data directory.
pub const CRL_DIR: &str = "crl";
/// The state file (ETags) in [`CRL_DIR`].
const STATE_FILE: &str = "state.json";
/// How long after a CRL's nextUpdate the next refresh runs (the authority publishes at
/// nextUpdate).
pub const AFTER_NEXT_UPDATE: Duration = Duration::from_secs(30);
/// How soon a failed refresh is tried again (at most `Config::crl_refresh`).
pub const RETRY: Duration = Duration::from_secs(60);
/// How soon the CRLs are asked for again while a valid trust anchor has none (the authority has
/// not published it yet — e.g. both started together).
pub const MISSING_RETRY: Duration = Duration::from_secs(5);

/// One CRL held: where it came from, its ETag and the file it is kept in.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    url: String,
    kind: String,
    generation: String,
    etag: Option<String>,
    /// The issuer's key identifier (hex): which index of the set this is.
    key_id: String,
    #[serde(with = "time::serde::rfc3339")]
    fetched_at: OffsetDateTime,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    crls: Vec<Held>,
}

/// The CRLs held, and the ETag of each download (to ask "if none match").
#[derive(Default)]
pub(crate) struct Crls {
    current: RwLock<Arc<CrlSet>>,
    /// What each URL holds; refreshes are serialised by this lock.
    held: tokio::sync::Mutex<BTreeMap<String, Held>>,
    /// A copy of `held` for readers that must not wait for a refresh (`/healthz`).
    snapshot: RwLock<Arc<Vec<Held>>>,
}

/// What a refresh did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CrlRefresh {
    /// CRLs downloaded and switched in.
    pub updated: usize,
    /// CRLs the authority said were unchanged (304), or that were not newer than the one held.
    pub unchanged: usize,
    /// CRLs downloaded but refused (signed by no trust anchor — a new CA generation — or
    /// malformed); the others are switched in regardless.
    pub refused: usize,
    /// CRLs whose download failed (tried again soon); the others are switched in regardless.
    pub failed: usize,
}

/// One CRL the platform holds, as `/healthz` and [`Platform::crl_status`] report it.
#[derive(Debug, Clone, Serialize)]
pub struct CrlHeld {
    /// `signature` / `auth`.
    pub kind: String,
    /// The CA generation.
    pub generation: String,
    /// Its cRLNumber.
    pub crl_number: u64,
    /// Entries.
    pub entries: usize,
    /// thisUpdate.
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    /// nextUpdate: after it the CRL is stale and verifications by CRL answer 503.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// When this platform downloaded it.
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: OffsetDateTime,
    /// Seconds since thisUpdate.
    pub age_seconds: i64,
    /// Past nextUpdate.
    pub stale: bool,
}

impl Crls {
    pub(crate) fn current(&self) -> Arc<CrlSet> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn publish(&self, set: Option<CrlSet>, held: &BTreeMap<String, Held>) {
        if let Some(set) = set {
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        }
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(held.values().cloned().collect());
    }
}

fn crl_dir(platform: &Platform) -> PathBuf {
    platform.config.data_dir.join(CRL_DIR)
}

/// `signature` / `auth` and a generation of `[A-Za-z0-9_-]{1,64}` (it names a file).
fn valid_listing(l: &CrlListing) -> bool {
    matches!(l.kind.as_str(), "signature" | "auth")
        && !l.generation.is_empty()
        && l.generation.len() <= 64
        && l.generation.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn crl_file(dir: &Path, kind: &str, generation: &str) -> PathBuf {
    dir.join(format!("{kind}-{generation}.crl"))
}

/// Verifies and indexes `der` into `set` on a blocking thread (a national CRL takes seconds).
async fn index_into(set: CrlSet, trust: Arc<TrustStore>, der: Arc<Vec<u8>>) -> (CrlSet, Result<Vec<u8>, String>) {
    let joined = tokio::task::spawn_blocking(move || {
        let mut set = set;
        let r = set.add(&trust, &der).map_err(|e| e.to_string());
        (set, r)
    })
    .await;
    match joined {
        Ok(out) => out,
        Err(e) => (CrlSet::new(), Err(format!("indexing failed: {e}"))),
    }
}

impl Platform {
    /// Loads the CRLs kept under the data directory (at open): each is verified against the
    /// trust anchors and indexed again; one that fails is dropped (and fetched at the next
    /// refresh).
    pub(crate) async fn load_crls(&self) -> Result<(), PlatformError> {
        let dir = crl_dir(self);
        let state_path = dir.join(STATE_FILE);
        let state: StateFile = match std::fs::read(&state_path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(path = %state_path.display(), error = %e, "CRL state unreadable; fetching all CRLs");
                    return Ok(());
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(PlatformError::io("CRL state", &state_path, e)),
        };
        let mut held = self.crls.held.lock().await;
        let trust = self.trust();
        let mut set = CrlSet::new();
        for h in state.crls {
            let listing = CrlListing {
                kind: h.kind.clone(),
                generation: h.generation.clone(),
                crl_number: 0,
                url: h.url.clone(),
            };
            if !valid_listing(&listing) {
                continue;
            }
            let path = crl_file(&dir, &h.kind, &h.generation);
            let der = match std::fs::read(&path) {
                Ok(d) => Arc::new(d),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "a kept CRL is missing; fetching it again");
                    continue;
                }
            };
            let (next, r) = index_into(set, trust.clone(), der).await;
            set = next;
            match r {
                Ok(key_id) => {
                    held.insert(h.url.clone(), Held { key_id: hex::encode(key_id), ..h });
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "a kept CRL was refused; fetching it again")
                }
            }
        }
        tracing::info!(crls = held.len(), "CRLs loaded from {}", dir.display());
        self.crls.publish(Some(set), &held);
        Ok(())
    }

    /// Reads `DATA_DIR/anchors/` again and switches the trust anchors in when they changed
    /// (a new CA generation's certificate was added). A directory that no longer loads keeps the
    /// anchors held.
    fn reload_anchors(&self) {
        let dir = self.config.data_dir.join(crate::ANCHORS_DIR);
        match crate::load_anchors(&dir, self.config.environment) {
            Ok(trust) => {
                let ids =
                    |t: &TrustStore| -> BTreeSet<Vec<u8>> { t.anchors().iter().map(|a| a.key_id().to_vec()).collect() };
                let current = self.trust();
                if ids(&trust) != ids(&current) {
                    tracing::info!(anchors = trust.anchors().len(), "trust anchors changed; switched in");
                    self.set_trust(trust);
                }
            }
            Err(e) => tracing::warn!(error = %e, "trust anchors unreadable; keeping those held"),
        }
    }

    /// Fetches every CRL the authority lists (an unchanged one costs a 304), verifies and indexes
    /// the new ones — only those: the other generations' indexes are kept as they are — keeps
    /// them under the data directory, and switches the set in at once. Refreshes are serialised.
    pub async fn refresh_crls(&self) -> Result<CrlRefresh, PlatformError> {
        let result = self.fetch_crls().await;
        self.metrics.crl_refresh(&result);
        result
    }

    async fn fetch_crls(&self) -> Result<CrlRefresh, PlatformError> {
        let mut held = self.crls.held.lock().await;
        self.reload_anchors();
        let listings = self.authority.crl_list().await?;
        let trust = self.trust();
        let dir = crl_dir(self);
        let mut set = (*self.crls.current()).clone();
        let mut next = held.clone();
        let mut report = CrlRefresh::default();
        for l in &listings {
            if !valid_listing(l) {
                tracing::warn!(kind = %l.kind, generation = %l.generation, "the authority lists a CRL with an unusable kind or generation name; skipped");
                report.refused += 1;
                continue;
            }
            let etag = held.get(&l.url).and_then(|h| h.etag.clone());
            let (der, etag) = match self.authority.crl(&l.url, etag.as_deref()).await {
                Ok(Fetched::NotModified) => {
                    report.unchanged += 1;
                    continue;
                }
                Ok(Fetched::Body { der, etag }) => (Arc::new(der), etag),
                // One download that fails does not hold back the others.
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(kind = %l.kind, generation = %l.generation, error = %e, "CRL download failed; keeping the one held");
                    continue;
                }
            };
            self.meter_platform("crl-download", 1);
            // Not newer than the index held for its issuer (an ETag lost): keep the one held.
            if let Ok(parsed) = ParsedCrl::from_der(&der) {
                let held_number = parsed.authority_key_id().and_then(|id| set.get(id)).map(|i| i.crl_number());
                if let (Some(have), Some(got)) = (held_number, parsed.crl_number()) {
                    if got <= have {
                        report.unchanged += 1;
                        continue;
                    }
                }
            }
            let (s, r) = index_into(set, trust.clone(), der.clone()).await;
            set = s;
            match r {
                Ok(key_id) => {
                    let path = crl_file(&dir, &l.kind, &l.generation);
                    hanko_store::write_atomic(&path, &der, 0o644)
                        .map_err(|e| PlatformError::io("writing CRL", &path, e))?;
                    next.insert(
                        l.url.clone(),
                        Held {
                            url: l.url.clone(),
                            kind: l.kind.clone(),
                            generation: l.generation.clone(),
                            etag,
                            key_id: hex::encode(key_id),
                            fetched_at: self.clock.now(),
                        },
                    );
                    report.updated += 1;
                }
                Err(e) if e.contains("no trusted CA generation") => {
                    report.refused += 1;
                    tracing::warn!(
                        kind = %l.kind, generation = %l.generation, error = %e,
                        "CRL of a CA generation this platform does not trust: refused. If the authority created this \
                         generation, add its CA certificate as {}/{}-{}.der; it is used from the next refresh",
                        self.config.data_dir.join(crate::ANCHORS_DIR).display(), l.kind, l.generation
                    );
                }
                Err(e) => {
                    report.refused += 1;
                    tracing::error!(kind = %l.kind, generation = %l.generation, error = %e, "CRL refused; keeping the one held");
                }
            }
        }
        if report.updated > 0 {
            let state = StateFile { crls: next.values().cloned().collect() };
            let path = dir.join(STATE_FILE);
            let bytes = serde_json::to_vec_pretty(&state).map_err(|e| PlatformError::Pki(e.to_string()))?;
            hanko_store::write_atomic(&path, &bytes, 0o644)
                .map_err(|e| PlatformError::io("writing CRL state", &path, e))?;
            *held = next;
            self.crls.publish(Some(set), &held);
            tracing::info!(
                updated = report.updated,
                unchanged = report.unchanged,
                refused = report.refused,
                "CRLs switched in"
            );
        }
        Ok(report)
    }

    /// The CRLs held (one per CA generation), with their age; for `/healthz`.
    pub fn crl_status(&self) -> Vec<CrlHeld> {
        let now = self.clock.now();
        let set = self.crls.current();
        let held = self.crls.snapshot.read().unwrap_or_else(|p| p.into_inner()).clone();
        held.iter()
            .filter_map(|h| {
                let index = set.get(&hex::decode(&h.key_id).ok()?)?;
                Some(CrlHeld {
                    kind: h.kind.clone(),
                    generation: h.generation.clone(),
                    crl_number: index.crl_number(),
                    entries: index.len(),
                    this_update: index.this_update(),
                    next_update: index.next_update(),
                    fetched_at: h.fetched_at,
                    age_seconds: (now - index.this_update()).whole_seconds(),
                    stale: index.next_update().is_some_and(|n| now > n),
                })
            })
            .collect()
    }

    /// The CRL set verifications use now (each generation's index shared between successive
    /// sets while its CRL is unchanged).
    pub fn crl_set(&self) -> Arc<CrlSet> {
        self.crls.current()
    }

    /// How long until the next scheduled refresh: the configured interval, or sooner — just
    /// after the earliest nextUpdate of the CRLs held, [`RETRY`] when one is past it, and
    /// [`MISSING_RETRY`] while a valid trust anchor has no CRL.
    pub fn next_crl_refresh(&self) -> Duration {
        let now = self.clock.now();
        let mut wait = self.config.crl_refresh;
        let set = self.crls.current();
        let missing =
            self.trust().anchors().iter().any(|a| a.certificate().not_after() > now && set.get(a.key_id()).is_none());
        if missing {
            wait = wait.min(MISSING_RETRY);
        }
        for h in self.crl_status() {
            if let Some(n) = h.next_update {
                let due = n - now;
                if due.is_positive() {
                    let due = Duration::try_from(due).unwrap_or(wait) + AFTER_NEXT_UPDATE;
                    wait = wait.min(due);
                } else {
                    // Past nextUpdate and still not replaced: try again soon, not in a loop.
                    wait = wait.min(RETRY);
                }
            }
        }
        wait.max(Duration::from_secs(1))
    }
}

/// Refreshes the CRLs at once, then every `Config::crl_refresh` — sooner just after a CRL's
/// nextUpdate, and after [`RETRY`] when a refresh failed.
pub(crate) async fn task(platform: Arc<Platform>) {
    loop {
        let wait = match platform.refresh_crls().await {
            Ok(r) if r.failed > 0 => platform.next_crl_refresh().min(RETRY),
            Ok(_) => platform.next_crl_refresh(),
            Err(e) => {
                tracing::warn!(error = %e, "CRL refresh failed; keeping the CRLs held");
                platform.config.crl_refresh.min(RETRY)
            }
        };
        tokio::time::sleep(wait).await;
    }
}
