//! Running the authority as a service: the HTTP listener and the background tasks (daily CRL,
//! OCSP change feed, meter flush).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::Authority;

/// Starts the background tasks on the current tokio runtime; they stop when the handles drop.
pub fn spawn_background(authority: &Arc<Authority>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(crate::publish::task(authority.clone())),
        tokio::spawn(crate::ocsp::task(authority.clone())),
        tokio::spawn(crate::meter::task(authority.clone())),
    ]
}

/// Serves the API on `listener` with the background tasks until `shutdown` completes; then
/// flushes the meter.
pub async fn serve(
    authority: Arc<Authority>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tasks = spawn_background(&authority);
    let app = crate::router(authority.clone());
    // The client address reaches the rate limiter of the unauthenticated routes.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    for t in tasks {
        t.abort();
    }
    if let Err(e) = authority.flush_meter().await {
        tracing::error!(error = %e, "flushing the meter at shutdown");
    }
    result
}
