//! The signature API: `POST /api/sign-transactions` (a client_credentials token; only the hash
//! of the RP's document leaves it — a bare hash, or the DER DigestInfo for outputs a third party
//! verifies as standard RSASSA-PKCS1-v1_5), then the authorization request with
//! `sign_transaction_id`, then `GET /api/sign-transactions/{id}/result` with the
//! authorization-code token: a JWE addressed to the key registered for the client (in practice
//! its platform operator's), holding the signature and the signature certificate.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_pki::jwe::{ContentAlgorithm, JweEncryptionKey, KeyAlgorithm};
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::clients::Client;
use crate::error::{IdpError, OAuthError};
use crate::store::SignTxRecord;
use crate::Idp;

/// The hash algorithm of a bare hash, by its length.
pub(crate) fn bare_hash_algorithm(len: usize) -> Result<DigestAlgorithm, IdpError> {
    [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512]
        .into_iter()
        .find(|a| a.output_len() == len)
        .ok_or_else(|| IdpError::Invalid(format!("a {len}-byte digest is neither SHA-256, SHA-384 nor SHA-512")))
}

/// `POST /api/sign-transactions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSignTransaction {
    /// The bytes to sign, standard base64 with padding: a SHA-256/384/512 hash, or a DER
    /// DigestInfo of one.
    pub digest: String,
}

/// A 8-4-4-4-12 UUID (version 4) of random bytes.
pub(crate) fn uuid4() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

impl Idp {
    /// Starts a sign transaction for `client`.
    pub async fn start_sign_transaction(&self, client: &Client, digest: &str) -> Result<SignTxRecord, IdpError> {
        if client.config.sign_result.is_none() {
            return Err(IdpError::Forbidden(
                "this client has no sign result recipient registered (sign_result): it cannot use the signature API"
                    .into(),
            ));
        }
        if digest.len() > 200 {
            return Err(IdpError::Invalid("digest is too long for a hash or a DigestInfo".into()));
        }
        let data =
            B64.decode(digest).map_err(|_| IdpError::Invalid("digest is not standard base64 with padding".into()))?;
        // A SHA-256/384/512 hash is 32, 48 or 64 bytes; their DigestInfos are 51, 67 and 83.
        let form = if bare_hash_algorithm(data.len()).is_ok() {
            "hash"
        } else {
            let di = DigestInfo::from_der(&data).map_err(|e| {
                IdpError::Invalid(format!(
                    "digest is neither a SHA-256/384/512 hash nor a DER DigestInfo of one ({} bytes: {e})",
                    data.len()
                ))
            })?;
            // Verified as the standard encoding (parameters NULL): another one could never verify.
            if di.to_der().ok().as_deref() != Some(data.as_slice()) {
                return Err(IdpError::Invalid(
                    "digest: the DigestInfo is not in the standard DER encoding (algorithm parameters NULL)".into(),
                ));
            }
            "digest_info"
        };
        let now = self.clock.now().unix_timestamp();
        let tx = SignTxRecord {
            id: uuid4(),
            client_id: client.id.clone(),
            data,
            form: form.into(),
            status: "started".into(),
            flow_id: None,
            result: None,
            created_at: now,
            expires_at: now + self.config.sign_transaction_lifetime.as_secs() as i64,
        };
        self.store.add_sign_tx(&tx).await?;
        self.metrics.sign_transaction_started();
        Ok(tx)
    }

    /// Encrypts the sign result to the client's registered recipient.
    pub(crate) async fn seal_sign_result(
        &self,
        client: &Client,
        tx_id: &str,
        certificate: &[u8],
        signature: &[u8],
        claims: &Map<String, Value>,
    ) -> Result<String, IdpError> {
        let tx =
            self.store.sign_tx(tx_id).await?.ok_or_else(|| IdpError::Gone("the sign transaction expired".into()))?;
        let r = client
            .config
            .sign_result
            .as_ref()
            .ok_or_else(|| IdpError::Forbidden("this client has no sign result recipient registered".into()))?;
        let key = match (&r.jwk, &r.jwks_uri) {
            (Some(jwk), _) => JweEncryptionKey::from_jwk(&jwk.to_string()),
            (None, Some(uri)) => {
                let set = self.fetch_jwks_value(uri).await?;
                let jwk = set
                    .get("keys")
                    .and_then(Value::as_array)
                    .and_then(|keys| recipient_key(keys, &r.alg))
                    .ok_or_else(|| {
                        IdpError::Invalid("the sign result JWKS has no RSA encryption key for the client's alg".into())
                    })?;
                JweEncryptionKey::from_jwk(&jwk.to_string())
            }
            (None, None) => return Err(IdpError::Internal("sign_result without a key".into())),
        }
        .map_err(|e| IdpError::Invalid(format!("the sign result recipient key: {e}")))?;
        let alg = KeyAlgorithm::from_name(&r.alg).ok_or_else(|| IdpError::Internal("stored alg".into()))?;
        let enc = ContentAlgorithm::from_name(&r.enc).ok_or_else(|| IdpError::Internal("stored enc".into()))?;
        let mut payload = json!({
            "sign_transaction_id": tx.id,
            "signature": B64.encode(signature),
            "certificate": B64.encode(certificate),
            "signed_form": tx.form,
        });
        for (k, v) in claims {
            if k != "user_certificate" {
                payload[k] = v.clone();
            }
        }
        let plaintext =
            zeroize::Zeroizing::new(serde_json::to_vec(&payload).map_err(|e| IdpError::Internal(e.to_string()))?);
        let mut header = Map::new();
        header.insert("cty".into(), json!("json"));
        hanko_pki::jwe::encrypt(&plaintext, &key, alg, enc, &header, &mut rand_core::OsRng)
            .map_err(|e| IdpError::Internal(format!("sealing the sign result: {e}")))
    }

    async fn fetch_jwks_value(&self, uri: &str) -> Result<Value, IdpError> {
        let set = self.fetch_jwks(uri, false).await?;
        serde_json::to_value(set).map_err(|e| IdpError::Internal(e.to_string()))
    }
}

/// The key of a recipient's JWKS a sign result is encrypted to: an RSA key meant for encryption
/// (`use` absent or `enc`) with the client's `alg` (or none named) — never a signing key that
/// happens to come first.
fn recipient_key<'k>(keys: &'k [Value], alg: &str) -> Option<&'k Value> {
    let s = |k: &Value, name: &str| k.get(name).and_then(Value::as_str).map(str::to_owned);
    keys.iter().find(|k| {
        s(k, "kty").as_deref() == Some("RSA")
            && s(k, "use").is_none_or(|u| u == "enc")
            && s(k, "alg").is_none_or(|a| a == alg)
    })
}

/// The access token of a request (`Authorization: Bearer …`), verified.
pub(crate) async fn bearer_claims(idp: &Idp, headers: &HeaderMap) -> Result<Value, OAuthError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| OAuthError { bearer: true, ..OAuthError::invalid_token("a Bearer access token is required") })?;
    idp.access_token_claims(token.trim()).await
}

async fn post_sign_transaction(
    State(idp): State<Arc<Idp>>,
    headers: HeaderMap,
    Json(body): Json<NewSignTransaction>,
) -> Result<(StatusCode, Json<Value>), axum::response::Response> {
    use axum::response::IntoResponse;
    let claims = bearer_claims(&idp, &headers).await.map_err(IntoResponse::into_response)?;
    if claims.get("gty").and_then(Value::as_str) != Some("client_credentials")
        || !claims.get("scope").and_then(Value::as_str).unwrap_or_default().split(' ').any(|s| s == "sign")
    {
        return Err(OAuthError::insufficient_scope(
            "start sign transactions with a client_credentials token of scope sign",
        )
        .into_response());
    }
    let client_id = claims.get("azp").and_then(Value::as_str).unwrap_or_default();
    let client = idp
        .store
        .client(client_id)
        .await
        .map_err(|e| IdpError::from(e).into_response())?
        .filter(|c| !c.disabled)
        .ok_or_else(|| OAuthError::invalid_token("the client is disabled").into_response())?;
    let tx = idp.start_sign_transaction(&client, &body.digest).await.map_err(IntoResponse::into_response)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "sign_transaction_id": tx.id,
            "form": tx.form,
            "expires_in": tx.expires_at - tx.created_at,
        })),
    ))
}

async fn get_result(
    State(idp): State<Arc<Idp>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, axum::response::Response> {
    use axum::response::IntoResponse;
    let claims = bearer_claims(&idp, &headers).await.map_err(IntoResponse::into_response)?;
    let not_found = || IdpError::not_found("sign transaction", &id).into_response();
    if !is_uuid(&id) {
        return Err(not_found());
    }
    // Another client's transaction, or one that expired, is unknown to the caller.
    let caller = claims.get("azp").and_then(Value::as_str).unwrap_or_default();
    let now = idp.clock.now().unix_timestamp();
    let tx = idp.store.sign_tx(&id).await.map_err(|e| IdpError::from(e).into_response())?;
    let tx = tx.filter(|t| t.client_id == caller && t.expires_at >= now).ok_or_else(not_found)?;
    let Some(jwe) = tx.result.clone() else {
        return Err(IdpError::Conflict("the transaction is not signed yet".into()).into_response());
    };
    // Signed: only the access token of the authorization that signed it may fetch it.
    let grant_id = claims.get("sid").and_then(Value::as_str).unwrap_or_default();
    let grant = idp.store.grant(grant_id).await.map_err(|e| IdpError::from(e).into_response())?;
    if !grant.is_some_and(|g| g.sign_transaction_id.as_deref() == Some(id.as_str()) && g.client_id == tx.client_id) {
        return Err(OAuthError::insufficient_scope(
            "fetch the result with the access token of the authorization that signed this transaction",
        )
        .into_response());
    }
    Ok(Json(json!({"sign_transaction_id": tx.id, "sign_certificate_jwe": jwe})))
}

pub(crate) fn routes() -> Router<Arc<Idp>> {
    Router::new()
        .route("/api/sign-transactions", post(post_sign_transaction))
        .route("/api/sign-transactions/{id}/result", get(get_result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipient_key_is_an_encryption_key_for_the_alg() {
        let keys = vec![
            json!({"kty": "RSA", "use": "sig", "kid": "sig", "n": "x", "e": "AQAB"}),
            json!({"kty": "EC", "use": "enc", "kid": "ec"}),
            json!({"kty": "RSA", "alg": "RSA-OAEP", "kid": "oaep1"}),
            json!({"kty": "RSA", "use": "enc", "alg": "RSA-OAEP-256", "kid": "enc"}),
        ];
        let kid = |alg| recipient_key(&keys, alg).and_then(|k| k["kid"].as_str()).map(str::to_owned);
        assert_eq!(kid("RSA-OAEP-256").as_deref(), Some("enc"));
        assert_eq!(kid("RSA-OAEP").as_deref(), Some("oaep1"));
        assert!(recipient_key(&keys[..2], "RSA-OAEP-256").is_none());
    }
}
