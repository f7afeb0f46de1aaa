//! (being written)

use std::sync::Arc;

use axum::Router;

use crate::Authority;

/// Routes of this module.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
}

/// Storage of consents.
#[async_trait::async_trait]
pub trait ConsentStore: Send + Sync {}

#[async_trait::async_trait]
impl ConsentStore for crate::register::SqlStore {}
