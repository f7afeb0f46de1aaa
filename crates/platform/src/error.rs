//! The platform's errors, and how they answer over HTTP (`application/problem+json`, RFC 9457).
//! A 5xx body says nothing internal; the detail goes to the log.
//!
//! A verification whose answer is "this signature is not valid" is **not** an error: it is a
//! result (`crate::verify::Outcome`) with a reason an SP can act on. Errors are for requests
//! the platform cannot answer (malformed input, wrong tenant, the authority unreachable).

use std::path::Path;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hanko_store::StoreError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The request is malformed or impossible.
    #[error("{0}")]
    Invalid(String),
    /// No such tenant, evidence record, user … (or one that belongs to another tenant: the
    /// answer is the same, so that ids of other tenants cannot be probed).
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up.
        what: &'static str,
        /// The id given.
        id: String,
    },
    /// The action conflicts with the stored state.
    #[error("{0}")]
    Conflict(String),
    /// The thing asked for existed but is no longer usable (an expired login challenge).
    #[error("{0}")]
    Gone(String),
    /// No valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// Valid credentials, but not for this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many requests; retry after the given time.
    #[error("too many requests; retry in {} s", .0.as_secs().max(1))]
    TooManyRequests(std::time::Duration),
    /// The platform cannot give a trustworthy answer now (no current revocation data, the
    /// authority unreachable).
    #[error("{0}")]
    Unavailable(String),
    /// The authority answered an error the platform cannot pass on as the caller's fault.
    #[error("authority: {0}")]
    Authority(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What.
        what: &'static str,
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Signing or encoding failed (an internal error).
    #[error("PKI: {0}")]
    Pki(String),
    /// A refusal an SP tells apart by its stable `code` (added to the problem body), e.g. the
    /// consent errors of the latest-facts relay (`not_consented`, `consent_withdrawn` …).
    #[error("{detail}")]
    Refused {
        /// The HTTP status (4xx).
        status: StatusCode,
        /// The stable code.
        code: &'static str,
        /// A sentence for a person.
        detail: String,
    },
}

impl PlatformError {
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> PlatformError {
        PlatformError::Io { what, path: path.display().to_string(), source }
    }
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> PlatformError {
        PlatformError::NotFound { what, id: id.to_string() }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            PlatformError::Invalid(_) => StatusCode::BAD_REQUEST,
            PlatformError::NotFound { .. } => StatusCode::NOT_FOUND,
            PlatformError::Conflict(_) => StatusCode::CONFLICT,
            PlatformError::Gone(_) => StatusCode::GONE,
            PlatformError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            PlatformError::Store(StoreError::Invalid(_)) => StatusCode::BAD_REQUEST,
            PlatformError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            PlatformError::Forbidden(_) => StatusCode::FORBIDDEN,
            PlatformError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            PlatformError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PlatformError::Authority(_) => StatusCode::BAD_GATEWAY,
            PlatformError::Refused { status, .. } => *status,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

macro_rules! pki_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for PlatformError {
            fn from(e: $t) -> PlatformError {
                PlatformError::Pki(e.to_string())
            }
        }
    )*};
}
pki_errors!(hanko_pki::der::Error, hanko_pki::SignerError, hanko_pki::KeyError);

impl IntoResponse for PlatformError {
    fn into_response(self) -> Response {
        let status = self.status();
        // The authority's own refusal (its problem detail) is safe to pass on and tells the
        // caller what to fix.
        let detail = if status.is_server_error()
            && !matches!(self, PlatformError::Unavailable(_) | PlatformError::Authority(_))
        {
            tracing::error!(error = %self, "request failed");
            "internal error; see the platform's log".to_owned()
        } else if let PlatformError::Store(StoreError::Conflict(_) | StoreError::Invalid(_)) = &self {
            // The database's own message names tables, constraints and values: log it, answer
            // generically.
            tracing::warn!(error = %self, "request refused by the database");
            match &self {
                PlatformError::Store(StoreError::Conflict(_)) => {
                    "conflicts with a record that exists already".to_owned()
                }
                _ => "a value was refused as malformed".to_owned(),
            }
        } else {
            self.to_string()
        };
        let mut body = hanko_store::http::problem_body(status, &detail);
        if let PlatformError::Refused { code, .. } = &self {
            body["code"] = serde_json::json!(code);
        }
        let mut response = hanko_store::http::problem(status, &body);
        if let PlatformError::TooManyRequests(after) = self {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(after.as_secs().max(1)));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"hanko-platform\""));
        }
        response
    }
}
