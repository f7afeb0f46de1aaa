//! Registered clients (RPs) and their authentication at the token endpoint: `private_key_jwt`
//! only (RFC 7523 client assertions), RS256 or ES256, keys from the client's registered JWKS or
//! JWKS URL, `jti` single use.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{IdpError, OAuthError};
use crate::Idp;

/// The client assertion type of RFC 7523.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Largest client assertion accepted.
const MAX_ASSERTION: usize = 8192;
/// Largest JWKS document fetched from a client's `jwks_uri`.
const MAX_JWKS: usize = 64 * 1024;
/// How long a fetched JWKS is used before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(300);
/// A JWKS is fetched again for an unknown `kid` at most this often.
const JWKS_REFETCH: Duration = Duration::from_secs(10);

/// How userinfo and the ID token write the 4 facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimFormat {
    /// The authentication app service's: strings — `"19850315"`, `"1"`, one address string.
    #[default]
    Jpki,
    /// OpenID Connect's standard claims: `birthdate` `"1985-03-15"`, `gender` `"male"` /
    /// `"female"`, `address` `{"formatted": …}`.
    Oidc,
}

/// Which devices a client accepts for logins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Devices {
    /// The card or a smartphone certificate.
    #[default]
    Either,
    /// The card only.
    Card,
    /// A smartphone certificate only.
    Phone,
}

/// Where the sign result (a JWE) is addressed: in practice the client's platform operator's key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JweRecipient {
    /// A JWKS URL (the platform's `GET /v1/jwks`), or give `jwk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The recipient's RSA public JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Value>,
    /// The key management algorithm (default `RSA-OAEP-256`).
    #[serde(default = "default_alg")]
    pub alg: String,
    /// The content encryption (default `A256GCM`).
    #[serde(default = "default_enc")]
    pub enc: String,
}

fn default_alg() -> String {
    "RSA-OAEP-256".into()
}
fn default_enc() -> String {
    "A256GCM".into()
}

/// A client's settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// The client's public keys (a JWKS) for its assertions, or give `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// Where the client publishes its JWKS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The My Number Act purpose (番号法 別表 item) the client is authorised for: only such a
    /// client may ask for scope `my_number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub my_number_purpose: Option<String>,
    /// How the 4 facts are written.
    #[serde(default)]
    pub claim_format: ClaimFormat,
    /// Where sign results are addressed (needed for the signature API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_result: Option<JweRecipient>,
    /// The test-card substitute (「認証API/署名APIテストレスポンス設定画面」): the authorization
    /// page offers canned outcomes instead of the app. Exclusive: such a client cannot use the
    /// app or a card. Sandbox only.
    #[serde(default)]
    pub substitute: bool,
    /// Which devices may log in.
    #[serde(default)]
    pub devices: Devices,
    /// A government body (行政機関): the signature API checks its signers' certificates (and
    /// refuses invalid ones). For private services (default) it returns the signature and the
    /// certificate unchecked — their platform operator verifies them.
    #[serde(default)]
    pub government: bool,
    /// The revocation check when `acr_values` names none: `crl` (default) or `ocsp`.
    #[serde(default = "default_check")]
    pub check_method: String,
}

fn default_check() -> String {
    "crl".into()
}

/// A registered client.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    /// `client_id`: 1–255 of `[0-9A-Za-z]`.
    pub id: String,
    /// Shown to the user.
    pub name: String,
    /// Its settings.
    pub config: ClientConfig,
    /// Disabled clients cannot authorise or authenticate.
    pub disabled: bool,
}

/// `POST /admin/clients`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// The id; `RP` + 8 random digits when absent.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Shown to the user (1–200 characters, no control characters).
    pub name: String,
    /// The settings.
    #[serde(flatten)]
    pub config: ClientConfig,
}

/// Whether `s` is a valid `client_id`.
pub fn valid_client_id(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn valid_url(s: &str, what: &str) -> Result<(), IdpError> {
    let authority = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    let ok = (1..=255).contains(&s.len())
        && authority.is_some_and(|a| !a.starts_with('/'))
        && !s.contains(['#', '\\'])
        && s.bytes().all(|b| (0x21..0x7f).contains(&b))
        && reqwest::Url::parse(s)
            .is_ok_and(|u| u.username().is_empty() && u.password().is_none() && u.host().is_some());
    if ok {
        Ok(())
    } else {
        Err(IdpError::Invalid(format!(
            "{what} {s:?} is not an absolute http(s) URI of 1–255 printable ASCII characters without user \
             information or a fragment"
        )))
    }
}

impl ClientConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), IdpError> {
        if self.redirect_uris.is_empty() || self.redirect_uris.len() > 20 {
            return Err(IdpError::Invalid("give 1 to 20 redirect_uris".into()));
        }
        for u in &self.redirect_uris {
            valid_url(u, "redirect URI")?;
        }
        match (&self.jwks, &self.jwks_uri) {
            (Some(jwks), None) => {
                let set: JwkSet = serde_json::from_value(jwks.clone())
                    .map_err(|e| IdpError::Invalid(format!("jwks is not a JWK set: {e}")))?;
                if set.keys.is_empty() || set.keys.len() > 20 {
                    return Err(IdpError::Invalid("jwks must hold 1 to 20 keys".into()));
                }
                for k in &set.keys {
                    usable_algorithm(k).ok_or_else(|| {
                        IdpError::Invalid("jwks: every key must be an RSA or a P-256 EC public key".into())
                    })?;
                }
            }
            (None, Some(uri)) => valid_url(uri, "jwks_uri")?,
            _ => return Err(IdpError::Invalid("give exactly one of jwks and jwks_uri".into())),
        }
        if let Some(p) = &self.my_number_purpose {
            if p.trim().is_empty() || p.chars().count() > 200 || p.chars().any(char::is_control) {
                return Err(IdpError::Invalid("my_number_purpose: 1–200 characters, no control characters".into()));
            }
        }
        if let Some(r) = &self.sign_result {
            match (&r.jwks_uri, &r.jwk) {
                (Some(u), None) => valid_url(u, "sign_result.jwks_uri")?,
                (None, Some(jwk)) => {
                    hanko_pki::jwe::JweEncryptionKey::from_jwk(&jwk.to_string())
                        .map_err(|e| IdpError::Invalid(format!("sign_result.jwk: {e}")))?;
                }
                _ => return Err(IdpError::Invalid("sign_result: give exactly one of jwks_uri and jwk".into())),
            }
            hanko_pki::jwe::JwePolicy::from_names(&[&r.alg], &[&r.enc])
                .map_err(|e| IdpError::Invalid(format!("sign_result alg/enc: {e}")))?;
        }
        if !["crl", "ocsp"].contains(&self.check_method.as_str()) {
            return Err(IdpError::Invalid("check_method is crl or ocsp".into()));
        }
        Ok(())
    }
}

/// The JWS algorithm a client key is used with: RS256 for RSA, ES256 for P-256.
fn usable_algorithm(k: &Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    match &k.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Some(Algorithm::ES256),
        _ => None,
    }
}

/// JWKS fetched from `jwks_uri`s, by URL.
#[derive(Default)]
pub(crate) struct JwksCache {
    entries: Mutex<HashMap<String, (Instant, JwkSet)>>,
    /// When fetching a URL last failed.
    failures: Mutex<HashMap<String, Instant>>,
}

impl Idp {
    /// Fetches a JWKS document (bounded size, short timeout), through the cache unless `fresh`.
    pub(crate) async fn fetch_jwks(&self, uri: &str, fresh: bool) -> Result<JwkSet, IdpError> {
        let now = Instant::now();
        {
            let entries = self.jwks_cache.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, set)) = entries.get(uri) {
                let ttl = if fresh { JWKS_REFETCH } else { JWKS_TTL };
                if now.duration_since(*at) < ttl {
                    return Ok(set.clone());
                }
            }
        }
        // What the fetch found (refused, timed out, a status, a parse error) is logged, never
        // answered: the callers are anonymous (a token request names any client; the app's
        // approval of a sign request), and jwks_uri may name an address inside the provider's
        // network. A failure is remembered for JWKS_REFETCH: anonymous token requests naming a
        // client whose JWKS cannot be fetched do not each make the provider fetch it again.
        let refused = || {
            IdpError::Invalid("the client's JWKS (jwks_uri) cannot be fetched or read; see the provider's log".into())
        };
        {
            let failures = self.jwks_cache.failures.lock().unwrap_or_else(|p| p.into_inner());
            if failures.get(uri).is_some_and(|at| now.duration_since(*at) < JWKS_REFETCH) {
                return Err(refused());
            }
        }
        match self.fetch_jwks_now(uri).await {
            Ok(set) => {
                self.jwks_cache.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(uri);
                let mut entries = self.jwks_cache.entries.lock().unwrap_or_else(|p| p.into_inner());
                if entries.len() > 1000 {
                    entries.clear();
                }
                entries.insert(uri.to_owned(), (Instant::now(), set.clone()));
                Ok(set)
            }
            Err(e) => {
                tracing::warn!(jwks_uri = %uri, error = %e, "fetching a JWKS failed");
                let mut failures = self.jwks_cache.failures.lock().unwrap_or_else(|p| p.into_inner());
                if failures.len() > 1000 {
                    failures.clear();
                }
                failures.insert(uri.to_owned(), Instant::now());
                Err(refused())
            }
        }
    }

    /// One fetch of a JWKS document: at most 64 KiB and 20 keys.
    async fn fetch_jwks_now(&self, uri: &str) -> Result<JwkSet, String> {
        let mut resp = self.http.get(uri).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS {
                return Err("larger than 64 KiB".into());
            }
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        // Every key may be tried for each assertion: as many as a registered JWKS may hold.
        if set.keys.len() > 20 {
            return Err(format!("{} keys, more than 20", set.keys.len()));
        }
        Ok(set)
    }

    /// The client's assertion keys.
    async fn client_keys(&self, client: &Client, fresh: bool) -> Result<JwkSet, IdpError> {
        match (&client.config.jwks, &client.config.jwks_uri) {
            (Some(jwks), _) => serde_json::from_value(jwks.clone())
                .map_err(|e| IdpError::Internal(format!("stored jwks of {}: {e}", client.id))),
            (None, Some(uri)) => self.fetch_jwks(uri, fresh).await,
            (None, None) => Err(IdpError::Internal(format!("client {} has no keys", client.id))),
        }
    }

    /// Authenticates the client of a token request (`private_key_jwt`): the client.
    pub(crate) async fn authenticate_client(&self, form: &HashMap<String, String>) -> Result<Client, OAuthError> {
        let bad = |d: String| OAuthError::invalid_client(d);
        if form.get("client_secret").is_some() {
            return Err(bad("only private_key_jwt client authentication is accepted".into()));
        }
        match form.get("client_assertion_type") {
            Some(t) if t == JWT_BEARER => {}
            Some(_) => return Err(bad(format!("client_assertion_type must be {JWT_BEARER}"))),
            None => {
                return Err(bad(
                    "client authentication is private_key_jwt: give client_assertion and client_assertion_type".into(),
                ))
            }
        }
        let assertion = form.get("client_assertion").ok_or_else(|| bad("client_assertion is missing".into()))?;
        if assertion.len() > MAX_ASSERTION {
            return Err(bad("client_assertion is too long".into()));
        }
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| bad("client_assertion is not a JWS".into()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(bad("client_assertion must be signed RS256 or ES256".into()));
        }
        let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
            .map_err(|_| bad("client_assertion's claims are not JSON".into()))?;
        let iss = claims.get("iss").and_then(Value::as_str).ok_or_else(|| bad("client_assertion has no iss".into()))?;
        if claims.get("sub").and_then(Value::as_str) != Some(iss) {
            return Err(bad("client_assertion: sub must equal iss (the client_id)".into()));
        }
        if form.get("client_id").is_some_and(|c| c != iss) {
            return Err(bad("client_id differs from the client_assertion's iss".into()));
        }
        if !valid_client_id(iss) {
            return Err(bad("unknown client".into()));
        }
        let client =
            self.store.client(iss).await?.filter(|c| !c.disabled).ok_or_else(|| bad("unknown client".into()))?;

        // The key: by kid when the header names one, else every key usable with the alg.
        let mut verified = None;
        for fresh in [false, true] {
            let keys = self.client_keys(&client, fresh).await.map_err(|e| bad(e.to_string()))?;
            for k in keys.keys.iter().filter(|k| {
                usable_algorithm(k) == Some(header.alg)
                    && header.kid.as_ref().is_none_or(|kid| k.common.key_id.as_ref().is_none_or(|id| id == kid))
            }) {
                let Ok(key) = DecodingKey::from_jwk(k) else { continue };
                let mut v = Validation::new(header.alg);
                v.validate_exp = false;
                v.validate_aud = false;
                v.required_spec_claims.clear();
                if let Ok(data) = jsonwebtoken::decode::<Value>(assertion, &key, &v) {
                    verified = Some(data.claims);
                    break;
                }
            }
            if verified.is_some() || client.config.jwks_uri.is_none() {
                break;
            }
        }
        let claims = verified
            .ok_or_else(|| bad("client_assertion's signature does not verify with the client's keys".into()))?;

        // aud: the token endpoint (or the issuer), a string or a one-element array.
        let aud = match claims.get("aud") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Array(a)) if a.len() == 1 => a[0].as_str(),
            _ => None,
        };
        let token_endpoint = self.config.token_endpoint();
        if aud != Some(token_endpoint.as_str()) && aud != Some(self.config.issuer().as_str()) {
            return Err(bad(format!("client_assertion's aud must be {token_endpoint}")));
        }
        let now = self.clock.now().unix_timestamp();
        let int = |name: &str| claims.get(name).and_then(Value::as_i64);
        let exp = int("exp").ok_or_else(|| bad("client_assertion has no exp".into()))?;
        if exp <= now {
            return Err(bad("client_assertion has expired".into()));
        }
        let issued = match claims.get("iat") {
            None => now,
            Some(_) => int("iat").ok_or_else(|| bad("client_assertion's iat is not a number".into()))?,
        };
        if issued > now + 60 {
            return Err(bad("client_assertion's iat is in the future".into()));
        }
        if claims.get("nbf").is_some_and(|_| int("nbf").is_none_or(|n| n > now + 60)) {
            return Err(bad("client_assertion is not valid yet (nbf)".into()));
        }
        if exp.checked_sub(issued).is_none_or(|d| d > self.config.max_assertion_lifetime.as_secs() as i64) {
            return Err(bad("client_assertion lives longer than the provider accepts (one day)".into()));
        }
        let jti = claims.get("jti").and_then(Value::as_str).ok_or_else(|| bad("client_assertion has no jti".into()))?;
        if jti.is_empty() || jti.len() > 255 || jti.chars().any(char::is_control) {
            return Err(bad("client_assertion's jti must be 1–255 bytes without control characters".into()));
        }
        if !self.store.use_assertion(&client.id, jti, exp).await? {
            return Err(bad("client_assertion was used before (jti)".into()));
        }
        Ok(client)
    }
}
