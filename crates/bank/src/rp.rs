//! The bank as a relying party of the authentication app service (shared/spec/30-auth-app-api.md):
//! the authorization code flow with PKCE S256, state and nonce through the `openidconnect`
//! crate (discovery, the ID token's signature, `iss`, `aud`, expiry, `nonce` and `at_hash`),
//! `private_key_jwt` (ES256) built here and given to the crate as extra parameters (it has no
//! such client authentication), and the signature API: `client_credentials` → `POST
//! /api/sign-transactions` → the authorization request with `sign_transaction_id` → `GET
//! /api/sign-transactions/{id}/result`, a JWE addressed to the bank's own RSA key (registered as
//! the client's sign-result recipient), decrypted here: the bank builds CMS signatures and
//! consents from the signature and the certificate, and has the platform operator verify them.

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use hanko_pki::jwe::{JweDecryptionKey, JwePolicy, KeyAlgorithm};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openidconnect::core::{CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{json, Value};
use tokio::sync::RwLock;
use zeroize::Zeroizing;

use crate::error::BankError;

/// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The client's signing key (ES256, PKCS#8) under the data directory.
pub const CLIENT_KEY_FILE: &str = "client.key";
/// The key sign results are encrypted to (RSA-2048, PKCS#8) under the data directory.
pub const JWE_KEY_FILE: &str = "jwe.key";

/// An authorization request the user has not finished: what the callback needs (`Debug`
/// elides the secrets).
#[derive(Clone)]
pub struct Started {
    /// Where to send the browser.
    pub url: String,
    /// The `state` (also the flow's key).
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: Zeroizing<String>,
    /// The sign transaction, for the signature API.
    pub sign_tx: Option<String>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started").field("url", &self.url).field("sign_tx", &self.sign_tx).finish_non_exhaustive()
    }
}

/// The end of a code flow: the ID token's facts and the access token (`Debug` elides it).
pub struct Finished {
    /// The pairwise subject.
    pub sub: String,
    /// `acr` (`aal3 crl`, `aal3 ocsp`, `unverified` …).
    pub acr: Option<String>,
    /// The access token (for userinfo or the sign result).
    pub access_token: Zeroizing<String>,
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished").field("sub", &self.sub).field("acr", &self.acr).finish_non_exhaustive()
    }
}

/// A decrypted sign result.
pub struct SignResult {
    /// PKCS#1 v1.5 signature by the card's signature key.
    pub signature: Vec<u8>,
    /// The signature certificate (DER).
    pub certificate: Vec<u8>,
    /// `digest_info` or `hash`: what the card signed.
    pub signed_form: String,
}

impl std::fmt::Debug for SignResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignResult").field("signed_form", &self.signed_form).finish_non_exhaustive()
    }
}

/// The bank's client of the authentication app service.
pub struct Rp {
    client_id: String,
    issuer: String,
    redirect_uri: String,
    signing_key: EncodingKey,
    signing_jwk: Value,
    kid: String,
    jwe_key: JweDecryptionKey,
    http: reqwest::Client,
    metadata: RwLock<Option<Arc<CoreProviderMetadata>>>,
    iss_required: tokio::sync::OnceCell<bool>,
}

impl std::fmt::Debug for Rp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rp").field("client_id", &self.client_id).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    B64URL.encode(b)
}

/// Reads a PKCS#8 key file, or makes one (mode 0600) with `make`.
fn load_or_make(
    path: &Path,
    make: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, BankError>,
) -> Result<Zeroizing<Vec<u8>>, BankError> {
    match std::fs::read(path) {
        Ok(der) => Ok(Zeroizing::new(der)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let der = make()?;
            if !hanko_store::create_new(path, &der, 0o600)
                .map_err(|e| BankError::Internal(format!("{}: {e}", path.display())))?
            {
                // Another process made it first: use theirs.
                return std::fs::read(path)
                    .map(Zeroizing::new)
                    .map_err(|e| BankError::Internal(format!("{}: {e}", path.display())));
            }
            Ok(der)
        }
        Err(e) => Err(BankError::Internal(format!("{}: {e}", path.display()))),
    }
}

impl Rp {
    /// The client `client_id` of the provider `issuer`, called back at `redirect_uri`, with its
    /// keys under `dir` (made when missing).
    pub fn open(dir: &Path, client_id: &str, issuer: &str, redirect_uri: &str) -> Result<Rp, BankError> {
        use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let ec = load_or_make(&dir.join(CLIENT_KEY_FILE), || {
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
                    .map_err(|_| BankError::Internal("EC key generation failed".into()))?;
            Ok(Zeroizing::new(pkcs8.as_ref().to_vec()))
        })?;
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &ec)
            .map_err(|_| BankError::Internal(format!("{CLIENT_KEY_FILE} is not a P-256 PKCS#8 key")))?;
        let signing_key = EncodingKey::from_ec_der(&ec);
        let jwk = Jwk::from_encoding_key(&signing_key, Algorithm::ES256)
            .map_err(|e| BankError::Internal(format!("client JWK: {e}")))?;
        let kid =
            jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| BankError::Internal(format!("client JWK: {e}")))?;
        let mut signing_jwk = serde_json::to_value(&jwk).map_err(|e| BankError::Internal(e.to_string()))?;
        signing_jwk["kid"] = json!(kid);
        signing_jwk["use"] = json!("sig");
        signing_jwk["alg"] = json!("ES256");
        let jwe = load_or_make(&dir.join(JWE_KEY_FILE), || {
            JweDecryptionKey::generate_rsa2048()
                .and_then(|k| k.to_pkcs8())
                .map_err(|e| BankError::Internal(format!("JWE key: {e}")))
        })?;
        let jwe_key =
            JweDecryptionKey::from_pkcs8(&jwe).map_err(|e| BankError::Internal(format!("{JWE_KEY_FILE}: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BankError::Internal(format!("HTTP client: {e}")))?;
        Ok(Rp {
            client_id: client_id.to_owned(),
            issuer: issuer.trim_end_matches('/').to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            signing_key,
            signing_jwk,
            kid,
            jwe_key,
            http,
            metadata: RwLock::new(None),
            iss_required: tokio::sync::OnceCell::new(),
        })
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The registration the provider needs (`POST /api/admin/clients`): the redirect URI, the
    /// client's public signing key, the sign-result recipient (the bank's RSA key).
    pub fn registration(&self, name: &str) -> Value {
        json!({
            "client_id": self.client_id,
            "name": name,
            "redirect_uris": [self.redirect_uri],
            "jwks": {"keys": [self.signing_jwk]},
            "sign_result": {"jwk": self.jwe_key.public_key().jwk(KeyAlgorithm::RsaOaep256),
                            "alg": "RSA-OAEP-256", "enc": "A256GCM"},
        })
    }

    async fn metadata(&self) -> Result<Arc<CoreProviderMetadata>, BankError> {
        if let Some(m) = self.metadata.read().await.as_ref() {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| BankError::Internal(format!("issuer: {e}")))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| BankError::Unavailable(format!("discovering the authentication app service: {e}")))?;
        let m = Arc::new(m);
        *self.metadata.write().await = Some(m.clone());
        Ok(m)
    }

    async fn client(
        &self,
    ) -> Result<
        openidconnect::Client<
            openidconnect::EmptyAdditionalClaims,
            openidconnect::core::CoreAuthDisplay,
            openidconnect::core::CoreGenderClaim,
            openidconnect::core::CoreJweContentEncryptionAlgorithm,
            openidconnect::core::CoreJsonWebKey,
            openidconnect::core::CoreAuthPrompt,
            openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
            openidconnect::core::CoreTokenResponse,
            openidconnect::core::CoreTokenIntrospectionResponse,
            openidconnect::core::CoreRevocableToken,
            openidconnect::core::CoreRevocationErrorResponse,
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        BankError,
    > {
        let m = self.metadata().await?;
        let redirect = RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|e| BankError::Internal(format!("redirect URI: {e}")))?;
        Ok(CoreClient::from_provider_metadata((*m).clone(), ClientId::new(self.client_id.clone()), None)
            .set_redirect_uri(redirect))
    }

    /// Whether the provider says it puts `iss` in authorization responses (RFC 9207): the bank
    /// then requires it.
    pub async fn response_iss_required(&self) -> Result<bool, BankError> {
        // The crate's metadata type drops this field: read the discovery document once.
        self.iss_required
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                let doc: Value = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| BankError::Unavailable(format!("discovery: {e}")))?
                    .json()
                    .await
                    .map_err(|e| BankError::Upstream(format!("discovery: {e}")))?;
                Ok(doc["authorization_response_iss_parameter_supported"] == true)
            })
            .await
            .copied()
    }

    fn token_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer)
    }

    /// The provider's base URL (the issuer without `/api/realms/main`).
    fn base(&self) -> &str {
        self.issuer.strip_suffix("/api/realms/main").unwrap_or(&self.issuer)
    }

    /// A fresh client assertion (private_key_jwt, ES256, 60 s, single-use `jti`).
    fn assertion(&self) -> Result<String, BankError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({"iss": self.client_id, "sub": self.client_id, "aud": self.token_endpoint(),
                            "jti": random(18), "iat": now, "exp": now + 60});
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.signing_key)
            .map_err(|e| BankError::Internal(format!("assertion: {e}")))
    }

    /// Starts a login (`scope` beyond `openid`, e.g. none) or, with `sign_tx`, the user's
    /// approval of a sign transaction.
    pub async fn start(&self, scopes: &[&str], sign_tx: Option<String>) -> Result<Started, BankError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = random(24);
        let nonce = random(24);
        let (s, n) = (state.clone(), nonce.clone());
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(s),
                move || Nonce::new(n),
            )
            .set_pkce_challenge(challenge);
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).to_owned()));
        }
        if let Some(tx) = &sign_tx {
            request = request.add_extra_param("sign_transaction_id", tx.clone());
        }
        let (url, _, _) = request.url();
        Ok(Started {
            url: url.to_string(),
            state,
            nonce,
            pkce_verifier: Zeroizing::new(verifier.secret().clone()),
            sign_tx,
        })
    }

    /// Exchanges the code and checks the ID token (signature by the provider's JWKS, ES256;
    /// `iss`, `aud`, expiry, `nonce`, `at_hash`).
    pub async fn finish(&self, code: &str, nonce: &str, pkce_verifier: &str) -> Result<Finished, BankError> {
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| BankError::Internal(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .add_extra_param("client_assertion_type", JWT_BEARER)
            .add_extra_param("client_assertion", self.assertion()?)
            .request_async(&self.http)
            .await
            .map_err(|e| BankError::Upstream(format!("exchanging the code: {e}")))?;
        let verifier = client.id_token_verifier().set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
        let id_token = tokens.id_token().ok_or_else(|| BankError::Upstream("no ID token".into()))?;
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|e| BankError::Upstream(format!("the ID token: {e}")))?;
        let alg = id_token.signing_alg().map_err(|e| BankError::Upstream(format!("the ID token's alg: {e}")))?;
        let key =
            id_token.signing_key(&verifier).map_err(|e| BankError::Upstream(format!("the ID token's key: {e}")))?;
        let expected = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| BankError::Upstream(format!("at_hash: {e}")))?;
        if claims.access_token_hash() != Some(&expected) {
            return Err(BankError::Upstream("the ID token's at_hash does not match the access token".into()));
        }
        Ok(Finished {
            sub: claims.subject().as_str().to_owned(),
            acr: claims.auth_context_ref().map(|a| a.as_str().to_owned()),
            access_token: Zeroizing::new(tokens.access_token().secret().clone()),
        })
    }

    async fn form_token(&self, form: &[(&str, &str)]) -> Result<Value, BankError> {
        let assertion = self.assertion()?;
        let mut form = form.to_vec();
        form.push(("client_assertion_type", JWT_BEARER));
        form.push(("client_assertion", &assertion));
        let response = self
            .http
            .post(self.token_endpoint())
            .form(&form)
            .send()
            .await
            .map_err(|e| BankError::Unavailable(format!("the token endpoint: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(BankError::Upstream(format!("the token endpoint answered {status}: {body}")));
        }
        Ok(body)
    }

    /// Creates a sign transaction over `digest` (a bare hash or a DER DigestInfo).
    pub async fn sign_transaction(&self, digest: &[u8]) -> Result<String, BankError> {
        let token = self.form_token(&[("grant_type", "client_credentials"), ("scope", "sign")]).await?;
        let token = token["access_token"].as_str().ok_or_else(|| BankError::Upstream("no access token".into()))?;
        let response = self
            .http
            .post(format!("{}/api/sign-transactions", self.base()))
            .bearer_auth(token)
            .json(&json!({"digest": B64.encode(digest)}))
            .send()
            .await
            .map_err(|e| BankError::Unavailable(format!("sign transactions: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(BankError::Upstream(format!("sign transaction refused ({status}): {body}")));
        }
        body["sign_transaction_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BankError::Upstream("no sign_transaction_id".into()))
    }

    /// Fetches and decrypts the result of an approved sign transaction.
    pub async fn sign_result(&self, sign_tx: &str, access_token: &str) -> Result<SignResult, BankError> {
        if !sign_tx.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(BankError::Internal("a stored sign transaction id is not an id".into()));
        }
        let response = self
            .http
            .get(format!("{}/api/sign-transactions/{sign_tx}/result", self.base()))
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| BankError::Unavailable(format!("the sign result: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(BankError::Upstream(format!("the sign result ({status}): {body}")));
        }
        let jwe = body["sign_certificate_jwe"]
            .as_str()
            .ok_or_else(|| BankError::Upstream("no sign_certificate_jwe".into()))?;
        let plain = self
            .jwe_key
            .decrypt(jwe, &JwePolicy::default())
            .map_err(|e| BankError::Upstream(format!("the sign result JWE: {e}")))?;
        let payload: Value = serde_json::from_slice(&plain.plaintext)
            .map_err(|e| BankError::Upstream(format!("the sign result: {e}")))?;
        let field = |k: &str| {
            payload[k]
                .as_str()
                .and_then(|s| B64.decode(s).ok())
                .ok_or_else(|| BankError::Upstream(format!("the sign result has no {k}")))
        };
        Ok(SignResult {
            signature: field("signature")?,
            certificate: field("certificate")?,
            signed_form: payload["signed_form"].as_str().unwrap_or_default().to_owned(),
        })
    }
}
