//! The counter's errors, answered as `application/problem+json` (RFC 9457) with a stable
//! `code` and a message in both languages. 5xx bodies say nothing internal; the detail goes
//! to the log. No message ever carries an access code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hanko_store::StoreError;

/// An error of the counter service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CounterError {
    /// 400: the request is malformed (the message names the field, never its value).
    #[error("{en}")]
    Invalid {
        /// 日本語.
        ja: &'static str,
        /// English.
        en: &'static str,
    },
    /// 401: no staff sign-in (no cookie, a wrong token).
    #[error("the staff token is missing or wrong")]
    Unauthorized,
    /// 403: a POST from another origin (cross-site request forgery).
    #[error("the request does not come from the counter page's origin")]
    CrossOrigin,
    /// 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the source is already reading a document.
    #[error("the source is busy with another check")]
    Busy,
    /// 503: too many checks at once.
    #[error("too many checks at once")]
    Overloaded,
    /// 500: the database.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// 500: anything else that is our fault.
    #[error("internal: {0}")]
    Internal(String),
}

impl CounterError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            CounterError::Invalid { .. } => StatusCode::BAD_REQUEST,
            CounterError::Unauthorized => StatusCode::UNAUTHORIZED,
            CounterError::CrossOrigin => StatusCode::FORBIDDEN,
            CounterError::NotFound(_) => StatusCode::NOT_FOUND,
            CounterError::Busy => StatusCode::CONFLICT,
            CounterError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            CounterError::Store(_) | CounterError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of the problem body.
    pub fn code(&self) -> &'static str {
        match self {
            CounterError::Invalid { .. } => "invalid",
            CounterError::Unauthorized => "unauthorized",
            CounterError::CrossOrigin => "cross_origin",
            CounterError::NotFound(_) => "not_found",
            CounterError::Busy => "source_busy",
            CounterError::Overloaded => "overloaded",
            CounterError::Store(_) | CounterError::Internal(_) => "internal",
        }
    }

    /// The message in Japanese.
    fn ja(&self) -> String {
        match self {
            CounterError::Invalid { ja, .. } => (*ja).to_owned(),
            CounterError::Unauthorized => {
                "職員用の画面です。hanko check serve が表示した URL（トークン付き）で開いてください。".into()
            }
            CounterError::CrossOrigin => "この画面以外からの操作は受け付けません。".into(),
            CounterError::NotFound(what) => format!("見つかりません（{what}）。"),
            CounterError::Busy => "この読み取り元は別の確認の最中です。終わってからもう一度どうぞ。".into(),
            CounterError::Overloaded => "同時に行える確認の数を超えました。少し待ってからもう一度どうぞ。".into(),
            CounterError::Store(_) | CounterError::Internal(_) => {
                "内部エラーが発生しました。時間をおいてもう一度お試しください。".into()
            }
        }
    }
}

impl IntoResponse for CounterError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = if status.is_server_error() {
            tracing::error!(error = %self, "counter: internal error");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let mut body = hanko_store::http::problem_body(status, &detail);
        body["code"] = self.code().into();
        body["detail_ja"] = self.ja().into();
        let mut response = hanko_store::http::problem(status, &body);
        if matches!(self, CounterError::Unauthorized) {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
