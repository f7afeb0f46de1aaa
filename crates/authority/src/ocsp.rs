//! The OCSP responder (RFC 6960): pre-signed answers cached per certificate, refreshed from the
//! register's change feed.

use hanko_pki::Serial;

use crate::Config;

/// Cached OCSP answers.
#[derive(Debug, Default)]
pub(crate) struct OcspCache {}

impl OcspCache {
    pub(crate) fn new(_config: &Config) -> OcspCache {
        OcspCache {}
    }

    /// The register changed `serial` (called after the change committed).
    pub(crate) fn register_changed(&self, _serial: &Serial) {}
}

/// Routes of this module.
pub(crate) fn routes() -> axum::Router<std::sync::Arc<crate::Authority>> {
    axum::Router::new()
}

/// Follows the register's change feed (runs until the process ends).
pub(crate) async fn task(_authority: std::sync::Arc<crate::Authority>) {}
