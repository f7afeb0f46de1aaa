//! (being written)

use std::sync::Arc;

use axum::Router;

use crate::Authority;

/// Routes of this module.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
}
