//! The HTTP API: one router over the platform. Every area contributes its routes; errors answer
//! `application/problem+json`; request bodies are capped.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::error::PlatformError;
use crate::Platform;

/// The platform's router: tenants (admin), verification, evidence, users, the OpenAPI
/// document at `/openapi.json`, `/healthz` and `/metrics`.
pub fn router(platform: Arc<Platform>) -> Router {
    let max_body = platform.config.max_body;
    let max_document_body = platform.config.max_document_body;
    let metrics = platform.metrics.metrics.clone();
    let router = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(health))
        .route("/metrics", get(crate::metrics::get_metrics))
        .merge(crate::tenants::routes())
        .merge(crate::verify::routes())
        .merge(crate::formats::routes(max_document_body))
        .merge(crate::evidence::routes())
        .merge(crate::login::routes())
        .merge(crate::userapi::routes())
        .merge(crate::meter::routes())
        .merge(crate::monitoring::routes())
        .merge(crate::webhooks::routes())
        .merge(crate::consents::routes())
        .fallback(|| async { PlatformError::not_found("route", "for this path") })
        .layer(axum::middleware::map_response(hanko_store::http::problem_for_rejections))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(platform);
    metrics.measure(router)
}

async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], crate::openapi::document())
}

/// `GET /healthz`: the database answers (else 503, `unavailable`) and the CRLs held.
async fn health(axum::extract::State(platform): axum::extract::State<Arc<Platform>>) -> impl IntoResponse {
    let database_ok = match platform.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            false
        }
    };
    let crls = platform.crl_status();
    // "stale": a CRL past its nextUpdate (verifications by CRL of that generation answer 503).
    let status = match (database_ok, crls.iter().any(|c| c.stale)) {
        (false, _) => "unavailable",
        (true, true) => "stale",
        (true, false) => "ok",
    };
    let oldest = crls.iter().map(|c| c.age_seconds).max();
    let code = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        axum::Json(json!({"status": status, "database": if database_ok { "ok" } else { "unreachable" },
                          "crls_held": crls.len(), "crl_age_seconds": oldest, "crls": crls})),
    )
}
