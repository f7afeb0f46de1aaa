//! The authority's public API as the platform calls it — the same calls a certified platform
//! operator makes to J-LIS — with the platform's verifier key and, per SP, `X-Hanko-SP`.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::PlatformError;

/// Largest body read from the authority (a national CRL is ~850 MB at 20 million entries).
pub(crate) const MAX_CRL_BYTES: usize = 2 << 30;

/// An HTTP client of the authority.
pub struct AuthorityClient {
    base: String,
    key: Zeroizing<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for AuthorityClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorityClient").field("base", &self.base).field("key", &"[elided]").finish()
    }
}

/// One CRL the authority publishes (`GET /v1/crl`).
#[derive(Debug, Clone, Deserialize)]
pub struct CrlListing {
    /// `signature` / `auth`.
    pub kind: String,
    /// The CA generation.
    pub generation: String,
    /// Its cRLNumber.
    pub crl_number: u64,
    /// Where to download it, relative to the authority's base URL.
    pub url: String,
}

#[derive(Deserialize)]
struct CrlList {
    crls: Vec<CrlListing>,
}

/// A CRL download: the DER and its ETag, or "not modified".
#[derive(Debug)]
pub enum Fetched {
    /// A new body.
    Body {
        /// The DER.
        der: Vec<u8>,
        /// The ETag, to ask "if none match" next time.
        etag: Option<String>,
    },
    /// 304: the copy held is current.
    NotModified,
}

impl AuthorityClient {
    /// A client of the authority at `base` with the platform's verifier key.
    pub fn new(base: &str, key: Zeroizing<String>) -> Result<AuthorityClient, PlatformError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| PlatformError::Authority(e.to_string()))?;
        Ok(AuthorityClient { base: base.trim_end_matches('/').to_owned(), key, http })
    }

    /// The authority's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `path` with the platform's key, acting for `sp` (`SP事業者ID/サービスID`) when
    /// given.
    pub fn request(&self, method: reqwest::Method, path: &str, sp: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(self.key.as_str());
        if let Some(sp) = sp {
            r = r.header("X-Hanko-SP", sp);
        }
        r
    }

    /// Sends `request` and reads a JSON answer; an authority error becomes
    /// [`PlatformError::Authority`] with its problem detail, or [`PlatformError::Unavailable`]
    /// when the authority cannot be reached.
    pub async fn json<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, PlatformError> {
        let response = send(request).await?;
        let response = check(response).await?;
        response.json().await.map_err(|e| PlatformError::Authority(format!("unreadable answer: {e}")))
    }

    /// Registers the SP service `sp_id/service_id` under this platform at the authority
    /// (`POST /v1/platform/services`, idempotent); `true` when it was registered now.
    pub async fn register_service(&self, sp_id: &str, service_id: &str, name: &str) -> Result<bool, PlatformError> {
        #[derive(Deserialize)]
        struct Registered {
            created: bool,
        }
        let body = serde_json::json!({"sp_id": sp_id, "service_id": service_id, "name": name});
        let r: Registered =
            self.json(self.request(reqwest::Method::POST, "/v1/platform/services", None).json(&body)).await?;
        Ok(r.created)
    }

    /// Sends `request` and reads any answer: its status and JSON body (`null` when the body is
    /// not JSON); [`PlatformError::Unavailable`] when the authority cannot be reached.
    pub async fn answer(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, serde_json::Value), PlatformError> {
        let response = send(request).await?;
        let status = response.status();
        let body = response.json::<serde_json::Value>().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }

    /// The CRLs the platform may download.
    pub async fn crl_list(&self) -> Result<Vec<CrlListing>, PlatformError> {
        let list: CrlList = self.json(self.request(reqwest::Method::GET, "/v1/crl", None)).await?;
        Ok(list.crls)
    }

    /// Downloads the CRL at `url` (from [`CrlListing::url`]), unless its ETag is still `etag`.
    pub async fn crl(&self, url: &str, etag: Option<&str>) -> Result<Fetched, PlatformError> {
        if !url.starts_with("/v1/crl/") {
            return Err(PlatformError::Authority(format!("CRL URL {url:?} is not under /v1/crl/")));
        }
        let mut request = self.request(reqwest::Method::GET, url, None);
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = send(request).await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        let mut response = check(response).await?;
        let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut der = Vec::with_capacity(response.content_length().unwrap_or(0).min(MAX_CRL_BYTES as u64) as usize);
        while let Some(chunk) =
            response.chunk().await.map_err(|e| PlatformError::Unavailable(format!("authority: {e}")))?
        {
            if der.len() + chunk.len() > MAX_CRL_BYTES {
                return Err(PlatformError::Authority(format!("CRL {url} is over {MAX_CRL_BYTES} bytes")));
            }
            der.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body { der, etag })
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, PlatformError> {
    request.send().await.map_err(|e| PlatformError::Unavailable(format!("authority unreachable: {e}")))
}

/// Passes a 2xx answer; turns any other into an error with the authority's problem detail.
async fn check(response: reqwest::Response) -> Result<reqwest::Response, PlatformError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let detail = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or_default();
    Err(PlatformError::Authority(format!("{} {detail}", status.as_u16())))
}
