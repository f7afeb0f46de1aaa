//! Revocation data: the authority's CRLs, fetched on schedule with their ETags, verified,
//! indexed (`hanko_pki::crl::CrlIndex`, 24 bytes per entry) and switched in atomically — a
//! verification sees the old set or the new one, never a half-built one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hanko_pki::verify::CrlSet;

use crate::authority::Fetched;
use crate::error::PlatformError;
use crate::Platform;

/// The CRLs held, and the ETag and DER of each download (to ask "if none match" and to rebuild
/// the set when one generation changes).
#[derive(Default)]
pub(crate) struct Crls {
    current: RwLock<Arc<CrlSet>>,
    /// url → (etag, DER); refreshes are serialised by this lock.
    downloads: tokio::sync::Mutex<HashMap<String, Download>>,
}

/// A CRL held: its ETag and DER.
type Download = (Option<String>, Arc<Vec<u8>>);

/// What a refresh did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CrlRefresh {
    /// CRLs downloaded and switched in.
    pub updated: usize,
    /// CRLs the authority said were unchanged (304).
    pub unchanged: usize,
}

impl Crls {
    pub(crate) fn current(&self) -> Arc<CrlSet> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Platform {
    /// Fetches every CRL the authority lists (an unchanged one costs a 304), verifies and indexes
    /// the new ones, and switches the set in at once. Refreshes are serialised.
    pub async fn refresh_crls(&self) -> Result<CrlRefresh, PlatformError> {
        let mut downloads = self.crls.downloads.lock().await;
        let listings = self.authority.crl_list().await?;
        let mut next = downloads.clone();
        let mut report = CrlRefresh::default();
        for l in &listings {
            let etag = downloads.get(&l.url).and_then(|(etag, _)| etag.clone());
            match self.authority.crl(&l.url, etag.as_deref()).await? {
                Fetched::NotModified => report.unchanged += 1,
                Fetched::Body { der, etag } => {
                    report.updated += 1;
                    next.insert(l.url.clone(), (etag, Arc::new(der)));
                }
            }
        }
        if report.updated == 0 {
            return Ok(report);
        }
        // Index every CRL held (in a blocking thread: a national CRL takes seconds), then switch.
        let trust = self.trust();
        let ders: Vec<Arc<Vec<u8>>> = next.values().map(|(_, der)| der.clone()).collect();
        let set = tokio::task::spawn_blocking(move || -> Result<CrlSet, PlatformError> {
            let mut set = CrlSet::new();
            for der in &ders {
                set.add(&trust, der).map_err(|e| PlatformError::Authority(format!("CRL refused: {e}")))?;
            }
            Ok(set)
        })
        .await
        .map_err(|e| PlatformError::Pki(format!("CRL indexing: {e}")))??;
        *downloads = next;
        *self.crls.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        tracing::info!(updated = report.updated, unchanged = report.unchanged, "CRLs switched in");
        Ok(report)
    }
}

/// Refreshes the CRLs every `Config::crl_refresh` (and at once).
pub(crate) async fn task(platform: Arc<Platform>) {
    loop {
        if let Err(e) = platform.refresh_crls().await {
            tracing::warn!(error = %e, "CRL refresh failed; keeping the CRLs held");
        }
        tokio::time::sleep(platform.config.crl_refresh).await;
    }
}
