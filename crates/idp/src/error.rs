//! Errors. The OpenID Connect endpoints answer RFC 6749 errors ([`OAuthError`]); the other APIs
//! (`/api/sign-transactions`, the app API, the admin API) answer `application/problem+json`
//! ([`IdpError`]). 5xx bodies say nothing internal.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hanko_store::StoreError;
use serde_json::json;

/// An error of the provider's non-OAuth APIs.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// 400: the request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// 401: no credentials, or unknown ones.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: credentials that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 409: the object is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// 410: expired.
    #[error("{0}")]
    Gone(String),
    /// 502: the platform operator refused or answered nonsense.
    #[error("the platform operator: {0}")]
    Platform(String),
    /// 503: the platform operator cannot be reached.
    #[error("the platform operator is unavailable: {0}")]
    Unavailable(String),
    /// 500: the database.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// 500: anything else that is our fault.
    #[error("internal: {0}")]
    Internal(String),
}

impl IdpError {
    /// `NotFound` for a `what` named `id` (another client's object answers the same).
    pub fn not_found(what: &str, id: &str) -> IdpError {
        IdpError::NotFound(format!("{what} {id}"))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            IdpError::Invalid(_) => StatusCode::BAD_REQUEST,
            IdpError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            IdpError::Forbidden(_) => StatusCode::FORBIDDEN,
            IdpError::NotFound(_) => StatusCode::NOT_FOUND,
            IdpError::Conflict(_) => StatusCode::CONFLICT,
            IdpError::Gone(_) => StatusCode::GONE,
            IdpError::Platform(_) => StatusCode::BAD_GATEWAY,
            IdpError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IdpError::Store(_) | IdpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for IdpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = if matches!(self, IdpError::Store(_) | IdpError::Internal(_)) {
            tracing::error!(error = %self, "request failed");
            "internal error; see the provider's log".to_owned()
        } else {
            self.to_string()
        };
        let mut response = hanko_store::http::problem(status, &hanko_store::http::problem_body(status, &detail));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"main\""));
        }
        response
    }
}

/// An RFC 6749 §5.2 error (token endpoint) or RFC 6750 §3 error (userinfo, resources).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The RFC 6749 error code.
    pub error: &'static str,
    /// A human-readable description (never internal details).
    pub description: String,
    /// Answer with `WWW-Authenticate: Bearer …` (RFC 6750 resource errors).
    pub bearer: bool,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { status, error, description: description.into(), bearer: false }
    }
    /// 400 `invalid_request`.
    pub fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    /// 401 `invalid_client`.
    pub fn invalid_client(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }
    /// 400 `invalid_grant`.
    pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    /// 400 `unauthorized_client`.
    pub fn unauthorized_client(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
    }
    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
    }
    /// 400 `invalid_scope`.
    pub fn invalid_scope(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }
    /// 401 `invalid_token` (RFC 6750).
    pub fn invalid_token(d: impl Into<String>) -> OAuthError {
        OAuthError { bearer: true, ..OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", d) }
    }
    /// 403 `insufficient_scope` (RFC 6750).
    pub fn insufficient_scope(d: impl Into<String>) -> OAuthError {
        OAuthError { bearer: true, ..OAuthError::new(StatusCode::FORBIDDEN, "insufficient_scope", d) }
    }
    /// 500 `server_error` (logged; the description says nothing internal).
    pub fn server_error(e: impl std::fmt::Display) -> OAuthError {
        tracing::error!(error = %e, "request failed");
        OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error; see the provider's log")
    }
    /// 503 `temporarily_unavailable`.
    pub fn unavailable(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", d)
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> OAuthError {
        OAuthError::server_error(e)
    }
}

impl From<IdpError> for OAuthError {
    fn from(e: IdpError) -> OAuthError {
        match e {
            IdpError::Unavailable(d) | IdpError::Platform(d) => OAuthError::unavailable(d),
            IdpError::Store(_) | IdpError::Internal(_) => OAuthError::server_error(e),
            e => OAuthError::invalid_request(e.to_string()),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.bearer || self.status == StatusCode::UNAUTHORIZED {
            let scheme = if self.error == "invalid_client" { "Basic" } else { "Bearer" };
            let challenge = format!(
                "{scheme} realm=\"main\", error=\"{}\", error_description=\"{}\"",
                self.error,
                self.description
                    .replace(['"', '\\'], "'")
                    .chars()
                    .filter(|c| (' '..='~').contains(c))
                    .collect::<String>()
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        response
    }
}
