#![doc = include_str!("../README.md")]

pub mod kyc;
pub mod tap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

/// What went wrong calling the platform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform could not be reached or the answer could not be read.
    #[error("platform unreachable or unreadable: {0}")]
    Transport(#[from] reqwest::Error),
    /// The platform refused the request (`application/problem+json`): the HTTP status, the
    /// problem's stable `code` when it has one, and its detail.
    #[error("platform answered {status}: {detail}")]
    Problem {
        /// The HTTP status.
        status: u16,
        /// The problem's `code`, when the platform gives one.
        code: Option<String>,
        /// The problem's detail.
        detail: String,
    },
    /// The client was set up with something unusable.
    #[error("{0}")]
    Config(String),
}

/// Why a verification did not pass.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Reason {
    /// A stable fine-grained code (`signature_invalid`, `revoked`, `expired`, `unknown_issuer` …).
    pub code: String,
    /// A sentence for a person.
    pub detail: String,
    /// For a revocation: `reason`, `meaning` (`facts-changed`, `renewed`, `lost` …), `revoked_at`.
    #[serde(default)]
    pub revocation: Option<Value>,
}

/// The platform's answer to a verification.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// The evidence record kept for this verification.
    pub evidence_id: String,
    /// `OK`, `SIGNATURE_MISMATCH`, `CERTIFICATE_REVOKED`, `CERTIFICATE_EXPIRED`,
    /// `UNSUPPORTED_CERTIFICATE`.
    pub result: String,
    /// `result == "OK"`.
    pub valid: bool,
    /// Why not.
    #[serde(default)]
    pub reason: Option<Reason>,
    /// `JPKI_CARD_DIGITAL_SIGNATURE` …
    #[serde(default)]
    pub certificate_type: Option<String>,
    /// The SP's own id for the person.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The facts the SP may receive.
    #[serde(default)]
    pub facts: Option<Value>,
    /// `crl` or `ocsp`.
    pub check_method: String,
    /// When it was checked (RFC 3339).
    pub checked_at: String,
    /// The certificate (base64 DER), only outside sensitive-data mode.
    #[serde(default)]
    pub certificate: Option<String>,
}

/// One signature of a PDF, as the platform reports it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PdfSignature {
    /// Its position in the file (0 = first).
    pub index: usize,
    /// `/SubFilter` (`ETSI.CAdES.detached`, `adbe.pkcs7.detached` …).
    #[serde(default)]
    pub sub_filter: Option<String>,
    /// Nothing was added to the file after this signature.
    pub covers_whole_file: bool,
    /// Bytes added after this signature (an incremental update).
    pub bytes_after: usize,
    /// Its verification (absent for a document timestamp or an unsupported `/SubFilter`).
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Why there is no outcome, or what else to know.
    #[serde(default)]
    pub note: Option<String>,
}

/// The platform's answer for a signed PDF.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PdfReport {
    /// SHA-256 of the file, base64.
    pub document_sha256: String,
    /// Every signature verified `OK`.
    pub all_valid: bool,
    /// The file was changed after its last signature.
    pub modified_after_last_signature: bool,
    /// Each signature, in file order.
    pub signatures: Vec<PdfSignature>,
}

/// A client of the platform for one SP (its API key).
pub struct Client {
    base: String,
    key: Zeroizing<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).field("key", &"[elided]").finish()
    }
}

/// SHA-256 of `data` (the digest the platform verifies a signature over).
pub fn sha256(data: &[u8]) -> Vec<u8> {
    hanko_pki::DigestAlgorithm::Sha256.digest(data)
}

impl Client {
    /// A client of the platform at `base` (`http://127.0.0.1:8450`) with the SP's API key.
    pub fn new(base: &str, api_key: impl Into<String>) -> Result<Client, Error> {
        let key = Zeroizing::new(api_key.into());
        if !key.starts_with("pk_") {
            return Err(Error::Config("an SP API key starts with pk_ (see `hanko platform add-tenant`)".into()));
        }
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build()?;
        Ok(Client { base: base.trim_end_matches('/').to_owned(), key, http })
    }

    /// Sends `method path` with an optional JSON body; reads a JSON answer or the problem.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, Error> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(self.key.as_str());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let problem: Value = response.json().await.unwrap_or(Value::Null);
        Err(Error::Problem {
            status: status.as_u16(),
            code: problem["code"].as_str().map(str::to_owned),
            detail: problem["detail"]
                .as_str()
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error"))
                .to_owned(),
        })
    }

    /// Verifies a raw PKCS#1 v1.5 signature (what the card returns) over a SHA-256 `digest`.
    pub async fn verify_signature(
        &self,
        certificate: &[u8],
        signature: &[u8],
        digest: &[u8],
    ) -> Result<Outcome, Error> {
        let body = json!({
            "certificate": B64.encode(certificate),
            "signature": B64.encode(signature),
            "digest": B64.encode(digest),
        });
        self.call(reqwest::Method::POST, "/v1/verifications/signature", Some(&body)).await
    }

    /// Verifies CMS `SignedData` (a `.p7s`): detached with its `content`, or attached (`None`).
    pub async fn verify_cms(&self, cms: &[u8], content: Option<&[u8]>) -> Result<Outcome, Error> {
        let mut body = json!({"cms": B64.encode(cms)});
        if let Some(content) = content {
            body["data"] = json!(B64.encode(content));
        }
        self.call(reqwest::Method::POST, "/v1/verifications/cms", Some(&body)).await
    }

    /// Verifies every signature of a signed PDF.
    pub async fn verify_pdf(&self, pdf: &[u8]) -> Result<PdfReport, Error> {
        let body = json!({"pdf": B64.encode(pdf)});
        self.call(reqwest::Method::POST, "/v1/verifications/pdf", Some(&body)).await
    }

    /// Verifies the authentication app service's sign result (its JWE, unchanged) over the
    /// SHA-256 `digest` the SP submitted to the sign transaction.
    pub async fn verify_sign_result(&self, sign_certificate_jwe: &str, digest: &[u8]) -> Result<Outcome, Error> {
        let body = json!({"sign_certificate_jwe": sign_certificate_jwe, "digest": B64.encode(digest)});
        self.call(reqwest::Method::POST, "/v1/verifications/sign-result", Some(&body)).await
    }

    /// A one-time login challenge: `{"challenge_id", "challenge" (base64), "expires_at"}`.
    pub async fn auth_challenge(&self) -> Result<Value, Error> {
        self.call(reqwest::Method::POST, "/v1/auth/challenges", None).await
    }

    /// Verifies a login: the card's auth-key signature over the challenge `challenge_id`.
    pub async fn verify_authentication(
        &self,
        challenge_id: &str,
        certificate: &[u8],
        signature: &[u8],
    ) -> Result<Outcome, Error> {
        let body = json!({"challenge_id": challenge_id, "certificate": B64.encode(certificate),
                          "signature": B64.encode(signature)});
        self.call(reqwest::Method::POST, "/v1/verifications/authentication", Some(&body)).await
    }

    /// One of the SP's users: its certificates' types and statuses.
    pub async fn user(&self, user_id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::GET, &format!("/v1/users/{}", path_segment(user_id)?), None).await
    }

    /// Deletes a user: the person gets a new user id next time.
    pub async fn delete_user(&self, user_id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::DELETE, &format!("/v1/users/{}", path_segment(user_id)?), None).await
    }

    /// 現況確認 now: the user's current certificates against the current revocation data.
    pub async fn liveness(&self, user_id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::POST, &format!("/v1/users/{}/liveness", path_segment(user_id)?), None).await
    }

    /// Monitors a user: revocations of its certificates become webhook events.
    pub async fn monitor(&self, user_id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::POST, "/v1/monitoring/subscriptions", Some(&json!({"user_id": user_id}))).await
    }

    /// Sets the SP's webhook URL; the answer holds the signing secret (shown once).
    pub async fn set_webhook(&self, url: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::PUT, "/v1/webhook", Some(&json!({"url": url}))).await
    }

    /// The document a customer signs to consent to the latest-facts service for `items`.
    pub async fn consent_document(&self, items: &[&str]) -> Result<Value, Error> {
        self.call(reqwest::Method::POST, "/v1/consents/document", Some(&json!({"items": items}))).await
    }

    /// Relays a signed consent to the authority.
    pub async fn consent(&self, document: &[u8], signature: &[u8], certificate: &[u8]) -> Result<Value, Error> {
        let body = json!({"document": B64.encode(document), "signature": B64.encode(signature),
                          "certificate": B64.encode(certificate)});
        self.call(reqwest::Method::POST, "/v1/consents", Some(&body)).await
    }

    /// The latest 4 facts of a consented user, fetched from the authority now.
    pub async fn latest_facts(&self, user_id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::POST, &format!("/v1/users/{}/latest-facts", path_segment(user_id)?), None).await
    }

    /// The SP's meter of a JST month (`YYYY-MM`).
    pub async fn meter(&self, month: &str) -> Result<Value, Error> {
        if !(month.len() == 7 && month.as_bytes()[4] == b'-' && month.bytes().filter(u8::is_ascii_digit).count() == 6) {
            return Err(Error::Config(format!("{month:?} is not YYYY-MM")));
        }
        self.call(reqwest::Method::GET, &format!("/v1/meter?month={month}"), None).await
    }

    /// The tamper-evidence proof of one of the SP's evidence records.
    pub async fn evidence_proof(&self, id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::GET, &format!("/v1/evidence/{}/proof", path_segment(id)?), None).await
    }

    /// A page of the SP's evidence records: `query` is the URL query (`user_id=…&result=OK&limit=50`,
    /// see `GET /v1/evidence`), percent-encoded by the caller.
    pub async fn search_evidence(&self, query: &str) -> Result<Value, Error> {
        if query.bytes().any(|b| matches!(b, b'#' | b'/' | b'?') || b.is_ascii_control()) {
            return Err(Error::Config("the query must be percent-encoded key=value pairs".into()));
        }
        self.call(reqwest::Method::GET, &format!("/v1/evidence?{query}"), None).await
    }

    /// Deletes one of the SP's evidence records (its content; the log keeps its hash).
    pub async fn delete_evidence(&self, id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::DELETE, &format!("/v1/evidence/{}", path_segment(id)?), None).await
    }

    /// One of the SP's evidence records (as JSON: the record as logged).
    pub async fn evidence(&self, id: &str) -> Result<Value, Error> {
        self.call(reqwest::Method::GET, &format!("/v1/evidence/{}", path_segment(id)?), None).await
    }

    /// The SP's own tenant settings.
    pub async fn tenant(&self) -> Result<Value, Error> {
        self.call(reqwest::Method::GET, "/v1/tenant", None).await
    }
}

/// Checks a webhook delivery: `webhook-signature` (`v1,<base64>`, several may be given separated
/// by spaces) must be the HMAC-SHA256 of `"{webhook-id}.{webhook-timestamp}.{body}"` under the
/// secret (`whsec_<base64>`), and the timestamp within `tolerance_secs` of `now_unix` (replays of
/// old deliveries are refused). Use the body bytes as received, before any JSON parsing.
pub fn verify_webhook(
    secret: &str,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), Error> {
    use aws_lc_rs::hmac;
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| B64.decode(k).ok())
        .ok_or_else(|| Error::Config("a webhook secret is whsec_<base64>".into()))?;
    let t: i64 = timestamp.parse().map_err(|_| Error::Config("webhook-timestamp is not a number".into()))?;
    if now_unix.checked_sub(t).and_then(i64::checked_abs).is_none_or(|d| d > tolerance_secs) {
        return Err(Error::Config("webhook-timestamp is too far from now (a replay?)".into()));
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let message = [format!("{id}.{t}.").as_bytes(), body].concat();
    let ok = signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| B64.decode(s).ok())
        .any(|tag| hmac::verify(&key, &message, &tag).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Config("webhook-signature does not match".into()))
    }
}

/// An id used in a path: refused when it could change the path.
fn path_segment(id: &str) -> Result<&str, Error> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::Config(format!("{id:?} is not an id")));
    }
    Ok(id)
}
