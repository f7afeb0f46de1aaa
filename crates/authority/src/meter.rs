//! Metering (being written).

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;

use crate::register::SqlStore;
use crate::verifiers::Caller;
use crate::Authority;

/// A billable (or counted) event.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Billable {
    /// A validity check of a signature certificate (OCSP): 20 yen, free during the waiver.
    SignatureCheck,
    /// A validity check of a user-authentication certificate (OCSP): 2 yen, free during the waiver.
    AuthCheck,
    /// A corresponding-serial lookup: 2 yen.
    CorrespondingSerial,
    /// Latest 4 facts: 20 yen per record returned, 0 when not obtainable.
    LatestFacts {
        /// Records returned.
        records: u32,
    },
    /// A CRL download: free.
    CrlDownload,
    /// A status check by CRL of one person's certificate: counted once per user per year.
    StatusCheck {
        /// The person behind the certificate.
        person_id: String,
    },
}

/// Buffered meter counts.
#[derive(Debug, Default)]
pub(crate) struct MeterBuffer {}

/// Storage of the meter.
#[async_trait]
pub trait MeterStore: Send + Sync {}

#[async_trait]
impl MeterStore for SqlStore {}

impl Authority {
    /// Records a billable event for `caller` (buffered; see [`Authority::flush_meter`]).
    pub(crate) fn meter(&self, _caller: &Caller, _event: Billable) {}

    /// Writes the buffered meter counts.
    pub async fn flush_meter(&self) -> Result<(), crate::AuthorityError> {
        Ok(())
    }
}

/// Routes of this module.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
}

/// Flushes the meter every second (runs until the process ends).
pub(crate) async fn task(_authority: Arc<Authority>) {}
