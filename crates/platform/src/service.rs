//! Running the platform as a service: the HTTP listener and the background tasks (CRL refresh, evidence checkpoints).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::Platform;

/// Starts the background tasks on the current tokio runtime; abort the handles to stop them.
pub fn spawn_background(platform: &Arc<Platform>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(crate::revocation::task(platform.clone())),
        tokio::spawn(crate::evidence_log::task(platform.clone())),
        tokio::spawn(crate::identity::task(platform.clone())),
        tokio::spawn(crate::meter::task(platform.clone())),
        tokio::spawn(crate::monitoring::task(platform.clone())),
        tokio::spawn(crate::webhooks::task(platform.clone())),
    ]
}

/// Serves the API on `listener` with the background tasks until `shutdown` completes.
pub async fn serve(
    platform: Arc<Platform>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tasks = spawn_background(&platform);
    let app = crate::router(platform.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    for t in tasks {
        t.abort();
    }
    if let Err(e) = platform.flush_meter().await {
        tracing::error!(error = %e, "the last meter counts could not be written");
    }
    result
}
