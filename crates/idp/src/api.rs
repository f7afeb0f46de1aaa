//! The HTTP API: the OpenID Connect endpoints at the realm paths, the signature API, the app API
//! and pages, the admin API, the OpenAPI document.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::error::IdpError;
use crate::Idp;

/// The provider's router.
pub fn router(idp: Arc<Idp>) -> Router {
    let max_body = idp.config.max_body;
    let metrics = idp.metrics.metrics.clone();
    let router = Router::new()
        .route("/api/realms/main/.well-known/openid-configuration", get(discovery))
        .route("/api/realms/main/protocol/openid-connect/certs", get(certs))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(health))
        .route("/metrics", get(crate::metrics::get_metrics))
        .merge(crate::authorize::routes())
        .merge(crate::token::routes())
        .merge(crate::sign::routes())
        .merge(crate::app::routes())
        .merge(crate::admin::routes())
        .fallback(|| async { IdpError::not_found("route", "for this path") })
        .layer(axum::middleware::map_response(problem_for_rejections))
        // HTML pages with their own error pages (not turned into problem+json).
        .merge(crate::wallet::routes())
        .layer(axum::middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(idp);
    metrics.measure(router)
}

/// `GET /healthz`: the database answers (else 503, `unavailable`).
async fn health(State(idp): State<Arc<Idp>>) -> Response {
    match idp.store.ping().await {
        Ok(()) => Json(json!({"status": "ok", "database": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            let body = json!({"status": "unavailable", "database": "unreachable"});
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// axum's own refusals become problem+json; the provider's own answers pass unchanged: RFC 6749
/// errors (`application/json`, which OAuth clients parse) and the error page shown to the user
/// (`text/html`).
async fn problem_for_rejections(response: Response) -> Response {
    let own = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if own {
        return response;
    }
    hanko_store::http::problem_for_rejections(response).await
}

/// Headers every answer carries unless it set its own: the request id is in the wallet's URLs
/// (no `Referer` may carry it to the RP or to anything a page loads), and no page of the provider
/// may be framed (an approve button under someone else's page is a login CSRF).
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

async fn discovery(State(idp): State<Arc<Idp>>) -> Response {
    let iss = idp.config.issuer();
    let oidc = format!("{iss}/protocol/openid-connect");
    let mut r = Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "jwks_uri": format!("{oidc}/certs"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": crate::authorize::SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid",
                             "name", "address", "birthdate", "gender", "user_certificate"],
        "acr_values_supported": ["aal3", "crl", "ocsp"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": idp.config.authorization_response_iss,
    }))
    .into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}

async fn certs(State(idp): State<Arc<Idp>>) -> Response {
    let jwks = idp.keys.read().unwrap_or_else(|p| p.into_inner()).jwks().clone();
    let mut r = Json(jwks).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}

async fn openapi() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document())
}
