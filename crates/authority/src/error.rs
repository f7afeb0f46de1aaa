//! The authority's errors, and how they answer over HTTP (`application/problem+json`, RFC 9457).
//! A 5xx body says nothing internal; the detail goes to the log.

use std::path::Path;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hanko_pki::{CaKind, Serial};
use hanko_store::StoreError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The request is malformed or impossible.
    #[error("{0}")]
    Invalid(String),
    /// No such person, card, certificate, consent …
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up.
        what: &'static str,
        /// The id given.
        id: String,
    },
    /// The action conflicts with the register's state (already revoked, card not active …).
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// Valid credentials, but not for this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No CA generation of that kind is valid now.
    #[error("no {} CA generation is valid now", .0.as_str())]
    NoCa(CaKind),
    /// A certificate was refused by the verifier (consent, smartphone application …).
    #[error("signature not accepted: {0}")]
    Verify(#[from] hanko_pki::verify::VerifyError),
    /// A certificate is revoked.
    #[error("certificate {0} is revoked")]
    Revoked(Serial),
    /// The card image could not be used.
    #[error(transparent)]
    CardFile(#[from] hanko_cardlink::CardFileError),
    /// A counter operation on the card failed.
    #[error("card: {0}")]
    Card(String),
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
    /// Too many requests from this caller, address or for this certificate; retry after the
    /// given time.
    #[error("too many requests; retry in {} s", .0.as_secs().max(1))]
    TooManyRequests(std::time::Duration),
    /// Issuing, signing or encoding failed (an internal error).
    #[error("PKI: {0}")]
    Pki(String),
}

impl AuthorityError {
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> AuthorityError {
        AuthorityError::Io { what, path: path.display().to_string(), source }
    }
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> AuthorityError {
        AuthorityError::NotFound { what, id: id.to_string() }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthorityError::Invalid(_) | AuthorityError::Verify(_) => StatusCode::BAD_REQUEST,
            AuthorityError::NotFound { .. } => StatusCode::NOT_FOUND,
            AuthorityError::Conflict(_) | AuthorityError::Revoked(_) => StatusCode::CONFLICT,
            AuthorityError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            AuthorityError::Store(StoreError::Invalid(_)) => StatusCode::BAD_REQUEST,
            AuthorityError::CardFile(hanko_cardlink::CardFileError::InUse(_)) => StatusCode::CONFLICT,
            AuthorityError::CardFile(hanko_cardlink::CardFileError::NotFound { .. }) => StatusCode::NOT_FOUND,
            AuthorityError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AuthorityError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthorityError::NoCa(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthorityError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

macro_rules! pki_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for AuthorityError {
            fn from(e: $t) -> AuthorityError {
                AuthorityError::Pki(e.to_string())
            }
        }
    )*};
}
pki_errors!(
    hanko_pki::IssueError,
    hanko_pki::SignerError,
    hanko_pki::KeyError,
    hanko_pki::ocsp::OcspError,
    hanko_pki::crl::CrlError,
    hanko_pki::der::Error,
    hanko_card::ChipKeyError,
    hanko_card::PersonalizeError,
    hanko_card::CvIssueError,
    hanko_card::InputAssistBuildError,
    hanko_card::CardFaceBuildError,
    hanko_card::MyNumberError
);

/// Facts are always given by the caller: a fact that does not fit the profile is bad input.
impl From<hanko_pki::FactsError> for AuthorityError {
    fn from(e: hanko_pki::FactsError) -> AuthorityError {
        AuthorityError::Invalid(e.to_string())
    }
}

impl From<hanko_card::CounterError> for AuthorityError {
    fn from(e: hanko_card::CounterError) -> AuthorityError {
        match e {
            hanko_card::CounterError::PinFormat { .. } => AuthorityError::Invalid(e.to_string()),
            _ => AuthorityError::Card(e.to_string()),
        }
    }
}

impl IntoResponse for AuthorityError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "internal error; see the authority's log".to_owned()
        } else if let AuthorityError::Store(StoreError::Conflict(_) | StoreError::Invalid(_)) = &self {
            // The database's own message names tables, constraints and values: log it, answer
            // generically.
            tracing::warn!(error = %self, "request refused by the database");
            match &self {
                AuthorityError::Store(StoreError::Conflict(_)) => {
                    "conflicts with a record that exists already".to_owned()
                }
                _ => "a value was refused as malformed".to_owned(),
            }
        } else {
            self.to_string()
        };
        let mut response = hanko_store::http::problem(status, &hanko_store::http::problem_body(status, &detail));
        if let AuthorityError::TooManyRequests(after) = self {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(after.as_secs().max(1)));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"hanko-authority\""));
        }
        response
    }
}
