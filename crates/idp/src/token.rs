//! The token endpoint (`POST {issuer}/protocol/openid-connect/token`, form-encoded,
//! `private_key_jwt` only): `authorization_code` (PKCE S256 mandatory), `client_credentials`
//! (scope `sign`, to start sign transactions only) and `refresh_token` (rotated; a reused one
//! revokes the grant). Access tokens are RS256 JWTs (`typ: at+jwt`); ID tokens ES256 with
//! `at_hash`, `nonce`, `acr`, `auth_time` and the pairwise `sub`; `aud` is a string.
//!
//! And userinfo (`GET|POST {issuer}/protocol/openid-connect/userinfo`, Bearer): `sub` and the
//! claims of the granted scopes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::authorize::parse_params;
use crate::clients::Client;
use crate::error::OAuthError;
use crate::store::{GrantRecord, TakenCode};
use crate::{random_token, sha256_hex, Idp};

fn s256(verifier: &str) -> String {
    B64URL.encode(hanko_pki::DigestAlgorithm::Sha256.digest(verifier.as_bytes()))
}

/// `at_hash`: the left half of SHA-256 of the access token (ES256 and RS256 both use SHA-256).
fn at_hash(token: &str) -> String {
    let h = hanko_pki::DigestAlgorithm::Sha256.digest(token.as_bytes());
    B64URL.encode(&h[..16])
}

fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl Idp {
    /// The claims of one of our access tokens, checked: signature, issuer, expiry (the
    /// provider's clock), the grant not revoked.
    pub(crate) async fn access_token_claims(&self, token: &str) -> Result<Value, OAuthError> {
        let claims = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .verify_access_token(token)
            .ok_or_else(|| OAuthError::invalid_token("the access token is not one of this provider's"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.config.issuer().as_str()) {
            return Err(OAuthError::invalid_token("the access token is not one of this provider's"));
        }
        let now = self.clock.now().unix_timestamp();
        if claims.get("exp").and_then(Value::as_i64).is_none_or(|e| e <= now) {
            return Err(OAuthError::invalid_token("the access token has expired"));
        }
        if let Some(sid) = claims.get("sid").and_then(Value::as_str) {
            let grant = self.store.grant(sid).await?;
            if grant.is_none_or(|g| g.revoked) {
                return Err(OAuthError::invalid_token("the access token was revoked"));
            }
        }
        Ok(claims)
    }

    fn access_token(
        &self,
        client: &Client,
        sub: &str,
        scope: &str,
        sid: Option<&str>,
        gty: &str,
    ) -> Result<(String, i64), OAuthError> {
        let now = self.clock.now().unix_timestamp();
        let lifetime = self.config.access_token_lifetime.as_secs() as i64;
        let mut claims = json!({
            "iss": self.config.issuer(),
            "sub": sub,
            "aud": client.id,
            "azp": client.id,
            "exp": now + lifetime,
            "iat": now,
            "jti": random_token(16),
            "scope": scope,
            "typ": "Bearer",
            "gty": gty,
        });
        if let Some(sid) = sid {
            claims["sid"] = json!(sid);
        }
        let token = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .sign_access_token(&claims)
            .map_err(OAuthError::server_error)?;
        Ok((token, lifetime))
    }

    fn id_token(
        &self,
        client: &Client,
        grant: &GrantRecord,
        result: &Value,
        access_token: &str,
        nonce: Option<&str>,
    ) -> Result<String, OAuthError> {
        let now = self.clock.now().unix_timestamp();
        let mut claims = json!({
            "iss": self.config.issuer(),
            "sub": grant.sub,
            "aud": client.id,
            "azp": client.id,
            "exp": now + self.config.access_token_lifetime.as_secs() as i64,
            "iat": now,
            "auth_time": result.get("auth_time"),
            "acr": result.get("acr"),
            "amr": result.get("amr"),
            "at_hash": at_hash(access_token),
            "sid": grant.id,
            "session_state": result.get("session_state"),
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        self.keys.read().unwrap_or_else(|p| p.into_inner()).sign_id_token(&claims).map_err(OAuthError::server_error)
    }

    async fn code_grant(&self, client: &Client, p: &HashMap<String, String>) -> Result<Value, OAuthError> {
        let code = p.get("code").ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let verifier = p
            .get("code_verifier")
            .ok_or_else(|| OAuthError::invalid_request("code_verifier is missing (PKCE is mandatory)"))?;
        let redirect_uri =
            p.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is missing"))?;
        if code.len() > 256 {
            return Err(OAuthError::invalid_grant("the code is unknown, expired or used"));
        }
        let now = self.clock.now().unix_timestamp();
        let flow = match self.store.take_code(&sha256_hex(code.as_bytes()), now).await? {
            TakenCode::Fresh(f) => f,
            TakenCode::Replayed(flow_id) => {
                // RFC 6749 §4.1.2: a code used twice revokes what it granted.
                self.store.revoke_flow_grants(&flow_id, now).await?;
                return Err(OAuthError::invalid_grant("the code was used before; the tokens it gave are revoked"));
            }
            TakenCode::Invalid => return Err(OAuthError::invalid_grant("the code is unknown, expired or used")),
        };
        // Another client's code answers like an unknown one (it is used up all the same).
        if flow.client_id != client.id {
            return Err(OAuthError::invalid_grant("the code is unknown, expired or used"));
        }
        if flow.request.redirect_uri != *redirect_uri {
            return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request's"));
        }
        if !valid_verifier(verifier)
            || !crate::constant_eq(s256(verifier).as_bytes(), flow.request.code_challenge.as_bytes())
        {
            return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge (S256)"));
        }
        let result =
            flow.result.clone().ok_or_else(|| OAuthError::invalid_grant("the code is unknown, expired or used"))?;
        let sub = result.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();
        let scope = flow.request.scope.join(" ");
        let refresh = random_token(32);
        let grant = GrantRecord {
            id: random_token(16),
            client_id: client.id.clone(),
            flow_id: flow.id.clone(),
            sub: sub.clone(),
            scope: scope.clone(),
            claims: json!({"claims": result.get("claims"), "acr": result.get("acr"), "amr": result.get("amr"),
                           "auth_time": result.get("auth_time"), "session_state": result.get("session_state")}),
            sign_transaction_id: flow.request.sign_transaction_id.clone(),
            refresh_expires_at: Some(
                now + self.config.refresh_token_lifetime.min(self.config.session_lifetime).as_secs() as i64,
            ),
            created_at: now,
            revoked: false,
        };
        let refresh_token = format!("{}.{refresh}", grant.id);
        self.store.add_grant(&grant, Some(&sha256_hex(refresh.as_bytes()))).await?;
        self.store.clear_flow_result(&flow.id).await?;
        let (access, expires_in) = self.access_token(client, &sub, &scope, Some(&grant.id), "authorization_code")?;
        let id_token = self.id_token(client, &grant, &grant.claims, &access, Some(&flow.request.nonce))?;
        Ok(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh_token,
            "refresh_expires_in": self.config.refresh_token_lifetime.as_secs(),
            "id_token": id_token,
            "scope": scope,
            "session_state": grant.claims.get("session_state"),
        }))
    }

    async fn refresh_grant(&self, client: &Client, p: &HashMap<String, String>) -> Result<Value, OAuthError> {
        let token = p.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        let bad = || OAuthError::invalid_grant("the refresh token is unknown, expired, revoked or used");
        let (grant_id, secret) =
            token.split_once('.').filter(|(g, s)| crate::valid_token_id(g) && s.len() <= 128).ok_or_else(bad)?;
        let now = self.clock.now().unix_timestamp();
        let grant = self.store.grant(grant_id).await?.ok_or_else(bad)?;
        if grant.client_id != client.id || grant.revoked || grant.refresh_expires_at.is_none_or(|e| e < now) {
            return Err(bad());
        }
        // RFC 6749 §6: the new access token has the scope asked for, a subset of the grant's.
        let scope = match p.get("scope") {
            Some(requested) => {
                let granted: Vec<&str> = grant.scope.split(' ').collect();
                if requested.split(' ').any(|s| !granted.contains(&s)) {
                    return Err(OAuthError::invalid_scope("a refresh cannot widen the scope"));
                }
                granted.into_iter().filter(|g| requested.split(' ').any(|r| r == *g)).collect::<Vec<_>>().join(" ")
            }
            None => grant.scope.clone(),
        };
        // However often it is refreshed, the grant (and the facts it holds) ends with the session.
        let session_end = grant.created_at.saturating_add(self.config.session_lifetime.as_secs() as i64);
        if now >= session_end {
            self.store.revoke_grant(&grant.id, now).await?;
            return Err(OAuthError::invalid_grant("the session has ended: log in again"));
        }
        let new_secret = random_token(32);
        let expires = (now + self.config.refresh_token_lifetime.as_secs() as i64).min(session_end);
        if !self
            .store
            .rotate_refresh(&grant.id, &sha256_hex(secret.as_bytes()), &sha256_hex(new_secret.as_bytes()), expires)
            .await?
        {
            // Not the current token: an old one used again — a stolen token, or its thief
            // already refreshed. Either way the grant ends (RFC 9700 §4.14.2).
            self.store.revoke_grant(&grant.id, now).await?;
            return Err(OAuthError::invalid_grant("the refresh token was used before; the grant is revoked"));
        }
        let (access, expires_in) = self.access_token(client, &grant.sub, &scope, Some(&grant.id), "refresh_token")?;
        let id_token = self.id_token(client, &grant, &grant.claims, &access, None)?;
        Ok(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": format!("{}.{new_secret}", grant.id),
            "refresh_expires_in": expires - now,
            "id_token": id_token,
            "scope": scope,
        }))
    }

    fn client_credentials_grant(&self, client: &Client, p: &HashMap<String, String>) -> Result<Value, OAuthError> {
        let scope = p.get("scope").map(String::as_str).unwrap_or("sign");
        if scope.split(' ').any(|s| s != "sign" && s != "openid") || !scope.split(' ').any(|s| s == "sign") {
            return Err(OAuthError::invalid_scope(
                "client_credentials gives scope sign only (to start sign transactions)",
            ));
        }
        if client.config.sign_result.is_none() {
            return Err(OAuthError::unauthorized_client(
                "this client is not registered for the signature API (no sign_result)",
            ));
        }
        let (access, expires_in) =
            self.access_token(client, &format!("service-account-{}", client.id), "sign", None, "client_credentials")?;
        Ok(json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in, "scope": "sign"}))
    }

    /// Answers a token request (the form's parameters).
    pub async fn token(&self, p: &HashMap<String, String>) -> Result<Value, OAuthError> {
        let grant_type =
            p.get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?.clone();
        if !["authorization_code", "refresh_token", "client_credentials"].contains(&grant_type.as_str()) {
            return Err(OAuthError::unsupported_grant_type(format!(
                "grant_type {grant_type:?} is not supported (authorization_code, refresh_token, client_credentials)"
            )));
        }
        let client = self.authenticate_client(p).await?;
        match grant_type.as_str() {
            "authorization_code" => self.code_grant(&client, p).await,
            "refresh_token" => self.refresh_grant(&client, p).await,
            _ => self.client_credentials_grant(&client, p),
        }
    }

    /// Answers userinfo for an access token.
    pub async fn userinfo(&self, token: &str) -> Result<Value, OAuthError> {
        let claims = self.access_token_claims(token).await?;
        let scopes: Vec<&str> = claims.get("scope").and_then(Value::as_str).unwrap_or_default().split(' ').collect();
        if !scopes.contains(&"openid") {
            return Err(OAuthError::insufficient_scope("userinfo needs a token of scope openid"));
        }
        let sid = claims.get("sid").and_then(Value::as_str).unwrap_or_default();
        let grant =
            self.store.grant(sid).await?.ok_or_else(|| OAuthError::invalid_token("the access token was revoked"))?;
        let mut out = json!({"sub": grant.sub});
        if let Some(Value::Object(c)) = grant.claims.get("claims") {
            // Only what the token's scope covers (a refresh may have narrowed it); each claim is
            // named for its scope.
            for (k, v) in c.iter().filter(|(k, _)| scopes.contains(&k.as_str())) {
                out[k] = v.clone();
            }
        }
        Ok(out)
    }
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

async fn post_token(State(idp): State<Arc<Idp>>, headers: HeaderMap, body: String) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return OAuthError::invalid_request("the token request is application/x-www-form-urlencoded").into_response();
    }
    if headers.contains_key(header::AUTHORIZATION) {
        return OAuthError::invalid_client(
            "only private_key_jwt client authentication is accepted (no Authorization header)",
        )
        .into_response();
    }
    let params = match parse_params(&body) {
        Ok(p) => p,
        Err(e) => return OAuthError::invalid_request(e).into_response(),
    };
    match idp.token(&params).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn userinfo(State(idp): State<Arc<Idp>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let Some(token) = token else {
        return OAuthError { bearer: true, ..OAuthError::invalid_token("a Bearer access token is required") }
            .into_response();
    };
    match idp.userinfo(token.trim()).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

pub(crate) fn routes() -> Router<Arc<Idp>> {
    Router::new()
        .route("/api/realms/main/protocol/openid-connect/token", post(post_token))
        .route("/api/realms/main/protocol/openid-connect/userinfo", axum::routing::get(userinfo).post(userinfo))
}
