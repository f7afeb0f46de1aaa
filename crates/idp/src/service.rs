//! Running the provider as a service: the HTTP listener and the housekeeping task.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::Idp;

/// Deletes expired flows, assertions, transactions and grants every minute.
async fn housekeeping(idp: Arc<Idp>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = idp.store.purge(idp.clock.now().unix_timestamp()).await {
            tracing::warn!(error = %e, "purging expired rows failed");
        }
    }
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    idp: Arc<Idp>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let task = tokio::spawn(housekeeping(idp.clone()));
    let app = crate::router(idp).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    task.abort();
    result
}
