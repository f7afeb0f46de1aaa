//! The HTTP API: one router over the platform. Every area contributes its routes; errors answer
//! `application/problem+json`; request bodies are capped.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::error::PlatformError;
use crate::Platform;

/// The platform's router: tenants (admin), verification, evidence, users, and the OpenAPI
/// document at `/openapi.json`.
pub fn router(platform: Arc<Platform>) -> Router {
    let max_body = platform.config.max_body;
    let max_document_body = platform.config.max_document_body;
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(health))
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
        .layer(axum::middleware::map_response(problem_for_rejections))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(platform)
}

async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], crate::openapi::document())
}

async fn health(axum::extract::State(platform): axum::extract::State<Arc<Platform>>) -> impl IntoResponse {
    let crls = platform.crl_status();
    // "stale": a CRL past its nextUpdate (verifications by CRL of that generation answer 503).
    let status = if crls.iter().any(|c| c.stale) { "stale" } else { "ok" };
    let oldest = crls.iter().map(|c| c.age_seconds).max();
    axum::Json(json!({"status": status, "crls_held": crls.len(), "crl_age_seconds": oldest, "crls": crls}))
}

/// axum's own refusals (a body that is not JSON, a wrong method, a too-large body) answer in
/// `text/plain` or with no body; they become `application/problem+json` like every other error.
/// A JSON body that does not fit the operation's schema (axum: 422) or a missing or wrong
/// `Content-Type` (axum: 415) is a 400.
async fn problem_for_rejections(response: axum::response::Response) -> axum::response::Response {
    use axum::http::header::CONTENT_TYPE;
    use axum::http::StatusCode;
    let mut status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(status.is_client_error() || status.is_server_error()) || content_type.starts_with("application/problem+json") {
        return response;
    }
    if matches!(status, StatusCode::UNPROCESSABLE_ENTITY | StatusCode::UNSUPPORTED_MEDIA_TYPE) {
        status = StatusCode::BAD_REQUEST;
    }
    let (parts, body) = response.into_parts();
    let detail =
        axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": if detail.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { detail },
    });
    let mut out = (status, body.to_string()).into_response();
    for (name, value) in
        parts.headers.iter().filter(|(n, _)| *n != CONTENT_TYPE && *n != axum::http::header::CONTENT_LENGTH)
    {
        out.headers_mut().insert(name.clone(), value.clone());
    }
    out.headers_mut().insert(CONTENT_TYPE, axum::http::HeaderValue::from_static("application/problem+json"));
    out
}
