//! Errors, answered as HTML pages a person can read (in Japanese and English): what happened
//! and what to do. 5xx pages say nothing internal; the detail goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hanko_store::StoreError;

use crate::pages::{self, Lang};

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// 日本語.
    pub ja: String,
    /// English.
    pub en: String,
}

impl Text {
    /// Both languages.
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Text {
        Text { ja: ja.into(), en: en.into() }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

/// An error of the bank.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BankError {
    /// 400: the request is malformed.
    #[error("{}", .0.en)]
    Invalid(Text),
    /// 401: not logged in.
    #[error("not logged in")]
    LoginRequired,
    /// 403: not allowed (a staff page without the key, a forged form).
    #[error("{}", .0.en)]
    Forbidden(Text),
    /// 404.
    #[error("{}", .0.en)]
    NotFound(Text),
    /// 409/422: the bank refuses (the law does not accept the method, a revoked certificate, a
    /// cancelled consent …): the message says why and what to do.
    #[error("{}", .0.en)]
    Refused(Text),
    /// 410: the request expired (a flow older than its lifetime).
    #[error("{}", .0.en)]
    Expired(Text),
    /// 502: the platform operator or the authentication app refused or answered nonsense.
    #[error("upstream: {0}")]
    Upstream(String),
    /// 503: a service the bank needs cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: the database.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// 500: anything else that is our fault.
    #[error("internal: {0}")]
    Internal(String),
}

impl BankError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            BankError::Invalid(_) => StatusCode::BAD_REQUEST,
            BankError::LoginRequired => StatusCode::UNAUTHORIZED,
            BankError::Forbidden(_) => StatusCode::FORBIDDEN,
            BankError::NotFound(_) => StatusCode::NOT_FOUND,
            BankError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            BankError::Expired(_) => StatusCode::GONE,
            BankError::Upstream(_) => StatusCode::BAD_GATEWAY,
            BankError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            BankError::Store(_) | BankError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What a person is told.
    pub fn text(&self) -> Text {
        match self {
            BankError::Invalid(t)
            | BankError::Forbidden(t)
            | BankError::NotFound(t)
            | BankError::Refused(t)
            | BankError::Expired(t) => t.clone(),
            BankError::LoginRequired => Text::new(
                "ログインしてください（マイナンバーカードの利用者証明用電子証明書でログインします）。",
                "Please log in (with the My Number Card's user-authentication certificate).",
            ),
            BankError::Upstream(_) => Text::new(
                "本人確認の連携先（プラットフォーム事業者または認証アプリ）がエラーを返しました。しばらくしてからもう一度お試しください。",
                "The identity-check partner (the platform operator or the authentication app) answered an error. Please try again later.",
            ),
            BankError::Unavailable(_) => Text::new(
                "本人確認の連携先に接続できません。しばらくしてからもう一度お試しください。",
                "The identity-check partner cannot be reached. Please try again later.",
            ),
            BankError::Store(_) | BankError::Internal(_) => Text::new(
                "銀行のシステムでエラーが発生しました。お手数ですが最初からやり直してください。",
                "The bank's system failed. Please start again.",
            ),
        }
    }

    /// A 400 in both languages.
    pub fn invalid(ja: impl Into<String>, en: impl Into<String>) -> BankError {
        BankError::Invalid(Text::new(ja, en))
    }

    /// A refusal in both languages.
    pub fn refused(ja: impl Into<String>, en: impl Into<String>) -> BankError {
        BankError::Refused(Text::new(ja, en))
    }
}

impl From<hanko_sp::Error> for BankError {
    fn from(e: hanko_sp::Error) -> BankError {
        match e {
            hanko_sp::Error::Transport(e) => BankError::Unavailable(format!("platform: {e}")),
            e => BankError::Upstream(format!("platform: {e}")),
        }
    }
}

impl IntoResponse for BankError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "bank request failed");
        }
        if matches!(self, BankError::LoginRequired) {
            return axum::response::Redirect::to("/login").into_response();
        }
        let text = self.text();
        let body = format!(
            "<p class=\"alert\" role=\"alert\" lang=\"ja\">{}</p><p class=\"alert\" role=\"alert\" lang=\"en\">{}</p>\
             <p><a href=\"/\">トップへ戻る / Back to the top</a></p>",
            pages::escape(&text.ja),
            pages::escape(&text.en)
        );
        (status, pages::bare("エラー / Error", &body)).into_response()
    }
}
