//! Running the authority as a service: the HTTP or HTTPS listener and the background tasks
//! (daily CRL, OCSP change feed and responder rotation, meter flush).

use std::future::Future;
use std::path::Path;
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

/// Serves the API over TLS (rustls with the aws-lc-rs provider) on `listener`, with the
/// certificate chain and private key read from PEM files, and the background tasks, until
/// `shutdown` completes (connections get 10 s to finish); then flushes the meter.
pub async fn serve_tls(
    authority: Arc<Authority>,
    listener: TcpListener,
    cert_pem: &Path,
    key_pem: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert_pem, key_pem).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("TLS certificate {} / key {}: {e}", cert_pem.display(), key_pem.display()),
        )
    })?;
    let listener = listener.into_std()?;
    let handle = axum_server::Handle::new();
    let stop = handle.clone();
    let stopper = tokio::spawn(async move {
        shutdown.await;
        stop.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let tasks = spawn_background(&authority);
    let app = crate::router(authority.clone());
    let result = axum_server::from_tcp_rustls(listener, config)
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await;
    stopper.abort();
    for t in tasks {
        t.abort();
    }
    if let Err(e) = authority.flush_meter().await {
        tracing::error!(error = %e, "flushing the meter at shutdown");
    }
    result
}
