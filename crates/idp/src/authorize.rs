//! The authorization endpoint (`GET|POST {issuer}/protocol/openid-connect/auth`) with every
//! parameter constraint of the authentication app service (shared/spec/30-auth-app-api.md §3),
//! and the end of the flow: the code (or the error) sent back to the browser that asked.
//!
//! An unknown client or a redirect URI that is not registered exactly is answered with an error
//! page, never a redirect (no open redirect). Every other error goes back to the client's
//! redirect URI with `error`, `error_description` and `state`.
//!
//! A valid request becomes a *flow*, and the browser gets a cookie binding it to the flow
//! (`hanko_flow_{id}`), then goes to the wallet (`/app/requests/{id}`). The user approves with
//! the card there, on another device (QR code) or with `hanko app approve`; the browser then
//! asks `/app/requests/{id}/continue`, which only the browser holding the cookie may, and is
//! redirected to the client with `code`, `state`, `session_state` (and `iss`, RFC 9207, when
//! the deployment says so).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clients::{valid_client_id, Client};
use crate::error::IdpError;
use crate::{random_token, sha256_hex, Idp};

/// The scopes the provider knows.
pub const SCOPES: &[&str] =
    &["openid", "name", "address", "birthdate", "gender", "user_certificate", "sign", "my_number"];

/// A validated authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    /// The redirect URI (registered exactly).
    pub redirect_uri: String,
    /// The requested scopes, in the order given.
    pub scope: Vec<String>,
    /// Returned byte for byte.
    pub state: String,
    /// Put into the ID token.
    pub nonce: String,
    /// BASE64URL(SHA-256(code_verifier)).
    pub code_challenge: String,
    /// `acr_values` as given.
    #[serde(default)]
    pub acr_values: Option<String>,
    /// `crl` or `ocsp`.
    pub check_method: String,
    /// The sign transaction this request signs.
    #[serde(default)]
    pub sign_transaction_id: Option<String>,
}

impl AuthRequest {
    /// Whether `scope` was asked for.
    pub fn has(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }

    /// Which of the 4 facts are asked for (the scope names).
    pub fn facts(&self) -> Vec<&'static str> {
        ["name", "address", "birthdate", "gender"].into_iter().filter(|f| self.has(f)).collect()
    }
}

/// An authorization error: where it may go.
enum AuthzError {
    /// Shown to the user (the redirect URI cannot be trusted).
    Page(String),
    /// Sent to the client's redirect URI.
    Redirect { redirect_uri: String, error: &'static str, description: String, state: Option<String> },
}

fn printable(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Parses a query or form body, refusing repeated parameters (RFC 6749 §3.1).
pub(crate) fn parse_params(raw: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url_pairs(raw) {
        if out.insert(k.clone(), v).is_some() {
            return Err(format!("parameter {k} is given more than once"));
        }
    }
    Ok(out)
}

fn url_pairs(raw: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{raw}"))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

/// Validates the request's parameters against the client.
async fn validate(idp: &Idp, p: &HashMap<String, String>) -> Result<(Client, AuthRequest), AuthzError> {
    let client_id = p.get("client_id").map(String::as_str).unwrap_or_default();
    if !valid_client_id(client_id) {
        return Err(AuthzError::Page("client_id is missing or not 1–255 letters and digits".into()));
    }
    let client = match idp.store.client(client_id).await {
        Ok(Some(c)) if !c.disabled => c,
        Ok(_) => return Err(AuthzError::Page(format!("unknown client {client_id}"))),
        Err(e) => {
            tracing::error!(error = %e, "client lookup failed");
            return Err(AuthzError::Page("the provider cannot serve this request now; try again".into()));
        }
    };
    let redirect_uri = p.get("redirect_uri").cloned().unwrap_or_default();
    if !client.config.redirect_uris.contains(&redirect_uri) {
        return Err(AuthzError::Page("redirect_uri is missing or not registered for this client".into()));
    }
    let state = p.get("state").filter(|s| printable(s)).cloned();
    let fail = |error: &'static str, description: String| AuthzError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };
    for unsupported in ["request", "request_uri"] {
        if p.contains_key(unsupported) {
            let error = if unsupported == "request" { "request_not_supported" } else { "request_uri_not_supported" };
            return Err(fail(error, format!("{unsupported} is not supported")));
        }
    }
    match p.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return Err(fail("invalid_request", "response_type is missing".into())),
        Some(_) => return Err(fail("unsupported_response_type", "response_type must be code".into())),
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(fail("invalid_request", "response_mode must be query".into()));
    }
    let Some(state) = state.clone() else {
        return Err(fail("invalid_request", "state is required: 1–255 characters of %x20-7E".into()));
    };
    let Some(scope) = p.get("scope").filter(|s| !s.is_empty()) else {
        return Err(fail("invalid_scope", "scope is required and must include openid".into()));
    };
    let scopes: Vec<String> = scope.split(' ').map(str::to_owned).collect();
    if scopes.iter().any(|s| s.is_empty()) {
        return Err(fail("invalid_scope", "scope values are separated by single spaces".into()));
    }
    // Each at most once: the request is stored as given, and an anonymous caller must not make
    // each stored request as large as the body limit.
    if scopes.iter().enumerate().any(|(i, s)| scopes[..i].contains(s)) {
        return Err(fail("invalid_scope", "a scope value is given more than once".into()));
    }
    if !scopes.iter().any(|s| s == "openid") {
        return Err(fail("invalid_scope", "scope must include openid".into()));
    }
    if let Some(s) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(fail("invalid_scope", format!("unknown scope {s:?} (scopes are case sensitive)")));
    }
    if scopes.iter().any(|s| s == "my_number") && client.config.my_number_purpose.is_none() {
        return Err(fail(
            "invalid_scope",
            "my_number is only for clients registered with a My Number Act purpose".into(),
        ));
    }
    let Some(nonce) = p.get("nonce").filter(|s| printable(s)).cloned() else {
        return Err(fail("invalid_request", "nonce is required: 1–255 characters of %x20-7E".into()));
    };
    let Some(code_challenge) = p
        .get("code_challenge")
        .filter(|c| {
            (1..=128).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .cloned()
    else {
        return Err(fail("invalid_request", "code_challenge is required: 1–128 of [0-9a-zA-Z_-] (PKCE S256)".into()));
    };
    match p.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        None => return Err(fail("invalid_request", "code_challenge_method is required and must be S256".into())),
        Some(_) => return Err(fail("invalid_request", "code_challenge_method must be S256".into())),
    }
    if p.get("prompt").is_some_and(|v| v.split(' ').any(|x| x == "none")) {
        return Err(fail("login_required", "every login needs the card: prompt=none cannot be served".into()));
    }
    let acr_values = p.get("acr_values").cloned();
    if acr_values.as_deref().is_some_and(|a| !printable(a)) {
        return Err(fail("invalid_request", "acr_values: 1–255 characters of %x20-7E".into()));
    }
    let acr: Vec<&str> = acr_values.as_deref().unwrap_or_default().split(' ').filter(|s| !s.is_empty()).collect();
    let check_method = match (acr.contains(&"crl"), acr.contains(&"ocsp")) {
        (true, true) => return Err(fail("invalid_request", "acr_values names both crl and ocsp".into())),
        (true, false) => "crl".to_owned(),
        (false, true) => "ocsp".to_owned(),
        (false, false) => client.config.check_method.clone(),
    };
    let sign_transaction_id = p.get("sign_transaction_id").cloned();
    let signs = scopes.iter().any(|s| s == "sign");
    // With `sign`, user_certificate is the SIGNATURE certificate, which carries all 4 facts:
    // given alone it would hand over what the fact scopes (and the platform's filtering of a
    // tenant's facts) hold back.
    let all_facts = ["name", "address", "birthdate", "gender"].iter().all(|f| scopes.iter().any(|s| s == f));
    if signs && scopes.iter().any(|s| s == "user_certificate") && !all_facts {
        return Err(fail(
            "invalid_scope",
            "with sign, user_certificate is the signature certificate, which holds the 4 facts: ask for \
             name address birthdate gender too"
                .into(),
        ));
    }
    match (&sign_transaction_id, signs) {
        (Some(_), false) => {
            return Err(fail("invalid_request", "sign_transaction_id requires scope sign".into()));
        }
        (None, true) => {
            return Err(fail("invalid_request", "scope sign requires a sign_transaction_id".into()));
        }
        _ => {}
    }
    if let Some(id) = &sign_transaction_id {
        let tx = idp.store.sign_tx(id).await.ok().flatten();
        let now = idp.clock.now().unix_timestamp();
        let usable = tx.is_some_and(|t| t.client_id == client.id && t.status == "started" && t.expires_at >= now);
        if !usable {
            return Err(fail(
                "invalid_request",
                "sign_transaction_id is not a started sign transaction of this client".into(),
            ));
        }
    }
    let request = AuthRequest {
        redirect_uri: redirect_uri.clone(),
        scope: scopes,
        state,
        nonce,
        code_challenge,
        acr_values,
        check_method,
        sign_transaction_id,
    };
    Ok((client, request))
}

/// The cookie binding a flow to the browser that asked for it.
pub(crate) fn cookie_name(flow_id: &str) -> String {
    format!("hanko_flow_{flow_id}")
}

/// The value of cookie `name` in `headers`.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The error page (no redirect).
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>hanko: エラー / error</title></head>\
         <body><main><h1>リクエストを処理できません / The request cannot be served</h1><p id=\"error\">{}</p></main></body></html>",
        html_escape(message)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// Escapes text for HTML.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A redirect to the client with `params` added to its redirect URI's query.
pub(crate) fn redirect_to_client(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = reqwest::Url::parse(redirect_uri) else {
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, "the registered redirect URI does not parse");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl Idp {
    fn error_redirect(&self, redirect_uri: &str, error: &str, description: &str, state: Option<&str>) -> Response {
        let iss = self.config.issuer();
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(s) = state {
            params.push(("state", s));
        }
        if self.config.authorization_response_iss {
            params.push(("iss", iss.as_str()));
        }
        redirect_to_client(redirect_uri, &params)
    }

    /// Starts a flow for a validated request: (flow id, the browser's cookie secret).
    pub(crate) async fn start_flow(&self, client: &Client, request: AuthRequest) -> Result<(String, String), IdpError> {
        let id = random_token(16);
        let secret = random_token(32);
        let now = self.clock.now().unix_timestamp();
        let flow = crate::store::FlowRecord {
            id: id.clone(),
            client_id: client.id.clone(),
            browser_hash: sha256_hex(secret.as_bytes()),
            status: "pending".into(),
            challenge: None,
            result: None,
            code_issued: false,
            created_at: now,
            expires_at: now + self.config.request_lifetime.as_secs() as i64,
            request: request.clone(),
        };
        self.store.add_flow(&flow).await?;
        if let Some(tx) = &request.sign_transaction_id {
            if !self.store.bind_sign_tx(tx, &id).await? {
                return Err(IdpError::Conflict("the sign transaction is being signed by another request".into()));
            }
        }
        Ok((id, secret))
    }

    fn secure_cookies(&self) -> bool {
        self.config.base_url.starts_with("https://")
    }

    /// Ends a flow in the browser that started it: the code (or the error) to the client.
    async fn continue_flow(&self, id: &str, headers: &HeaderMap) -> Result<Response, IdpError> {
        if !crate::valid_token_id(id) {
            return Err(IdpError::not_found("request", id));
        }
        let flow = self.store.flow(id).await?.ok_or_else(|| IdpError::not_found("request", id))?;
        let secret = cookie(headers, &cookie_name(id)).unwrap_or_default();
        if !crate::constant_eq(sha256_hex(secret.as_bytes()).as_bytes(), flow.browser_hash.as_bytes()) {
            return Err(IdpError::Forbidden("this request was started in another browser: finish it there".into()));
        }
        let now = self.clock.now().unix_timestamp();
        let req = &flow.request;
        let clear = clear_cookie(id, self.secure_cookies());
        let mut response = match flow.status.as_str() {
            "pending" if flow.expires_at < now => {
                self.error_redirect(&req.redirect_uri, "access_denied", "the request expired", Some(&req.state))
            }
            "pending" => {
                let mut r = StatusCode::SEE_OTHER.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("/app/requests/{id}")) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                return Ok(r);
            }
            "approved" if !flow.code_issued => {
                let code = random_token(32);
                let code_exp = now + self.config.code_lifetime.as_secs() as i64;
                let keep = code_exp + self.config.refresh_token_lifetime.as_secs() as i64;
                if !self.store.issue_code(id, &sha256_hex(code.as_bytes()), code_exp, keep).await? {
                    return Err(IdpError::Conflict("the code of this request was issued already".into()));
                }
                let session_state = flow
                    .result
                    .as_ref()
                    .and_then(|r| r.get("session_state"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let iss = self.config.issuer();
                let mut params = vec![
                    ("code", code.as_str()),
                    ("state", req.state.as_str()),
                    ("session_state", session_state.as_str()),
                ];
                if self.config.authorization_response_iss {
                    params.push(("iss", iss.as_str()));
                }
                redirect_to_client(&req.redirect_uri, &params)
            }
            "denied" | "failed" => {
                let r = flow.result.clone().unwrap_or_else(|| json!({}));
                let error = match r.get("error").and_then(Value::as_str) {
                    Some("temporarily_unavailable") => "temporarily_unavailable",
                    Some("server_error") => "server_error",
                    _ => "access_denied",
                };
                let description =
                    r.get("error_description").and_then(Value::as_str).unwrap_or("the user did not approve");
                self.error_redirect(&req.redirect_uri, error, description, Some(&req.state))
            }
            _ => return Err(IdpError::Conflict("this request has ended; start a new login".into())),
        };
        response.headers_mut().append(header::SET_COOKIE, clear);
        Ok(response)
    }
}

fn clear_cookie(id: &str, secure: bool) -> HeaderValue {
    let s = format!(
        "{}=; Path=/app/requests/{id}; Max-Age=0; HttpOnly; SameSite=Lax{}",
        cookie_name(id),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

async fn authorize(idp: Arc<Idp>, raw: &str) -> Response {
    let params = match parse_params(raw) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e),
    };
    let (client, request) = match validate(&idp, &params).await {
        Ok(v) => v,
        Err(AuthzError::Page(m)) => return error_page(StatusCode::BAD_REQUEST, &m),
        Err(AuthzError::Redirect { redirect_uri, error, description, state }) => {
            return idp.error_redirect(&redirect_uri, error, &description, state.as_deref())
        }
    };
    let (redirect_uri, state) = (request.redirect_uri.clone(), request.state.clone());
    match idp.start_flow(&client, request).await {
        Ok((id, secret)) => {
            let cookie = format!(
                "{}={secret}; Path=/app/requests/{id}; Max-Age={}; HttpOnly; SameSite=Lax{}",
                cookie_name(&id),
                idp.config.request_lifetime.as_secs(),
                if idp.secure_cookies() { "; Secure" } else { "" }
            );
            let mut r = StatusCode::SEE_OTHER.into_response();
            let headers = r.headers_mut();
            if let (Ok(loc), Ok(c)) =
                (HeaderValue::from_str(&format!("/app/requests/{id}")), HeaderValue::from_str(&cookie))
            {
                headers.insert(header::LOCATION, loc);
                headers.insert(header::SET_COOKIE, c);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(IdpError::Conflict(m)) => idp.error_redirect(&redirect_uri, "invalid_request", &m, Some(&state)),
        Err(e) => {
            tracing::error!(error = %e, "starting a flow failed");
            idp.error_redirect(
                &redirect_uri,
                "server_error",
                "the provider cannot serve this request now",
                Some(&state),
            )
        }
    }
}

async fn get_authorize(State(idp): State<Arc<Idp>>, RawQuery(q): RawQuery) -> Response {
    authorize(idp, q.as_deref().unwrap_or_default()).await
}

async fn post_authorize(State(idp): State<Arc<Idp>>, headers: HeaderMap, body: String) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the parameters as application/x-www-form-urlencoded",
        );
    }
    authorize(idp, &body).await
}

async fn get_continue(State(idp): State<Arc<Idp>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match idp.continue_flow(&id, &headers).await {
        Ok(r) => r,
        Err(e @ (IdpError::NotFound(_) | IdpError::Forbidden(_) | IdpError::Conflict(_))) => {
            error_page(e.status(), &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "continuing a flow failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "the provider cannot serve this request now; try again")
        }
    }
}

pub(crate) fn routes() -> axum::Router<Arc<Idp>> {
    axum::Router::new()
        .route("/api/realms/main/protocol/openid-connect/auth", axum::routing::get(get_authorize).post(post_authorize))
        .route("/app/requests/{id}/continue", axum::routing::get(get_continue))
}
