//! Client registration: the admin API (`/api/admin/clients`, the provider's admin key) and
//! [`Idp::add_client`], which `hanko idp client add` calls.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::clients::{valid_client_id, Client, ClientConfig, NewClient};
use crate::error::IdpError;
use crate::{random_token, sha256_hex, Idp};

/// The caller holds the provider's admin key.
pub struct AdminCaller;

impl FromRequestParts<Arc<Idp>> for AdminCaller {
    type Rejection = IdpError;

    async fn from_request_parts(parts: &mut Parts, idp: &Arc<Idp>) -> Result<AdminCaller, IdpError> {
        let key = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| IdpError::Unauthorized("give the admin key as a Bearer token".into()))?;
        if key.len() > 200 || !idp.store.admin_key_active(&sha256_hex(key.trim().as_bytes())).await? {
            return Err(IdpError::Unauthorized("unknown admin key".into()));
        }
        Ok(AdminCaller)
    }
}

/// Unicode format characters (general category Cf) that change what the wallet shows without
/// being seen: bidirectional overrides and isolates, zero-width characters, the soft hyphen, the
/// BOM, interlinear annotations and tags. A client named with them could pass for another.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
}

fn valid_name(name: &str) -> Result<(), IdpError> {
    let n = name.chars().count();
    if n == 0 || n > 200 || name.trim().is_empty() || name.chars().any(|c| c.is_control() || invisible(c)) {
        return Err(IdpError::Invalid(
            "name: 1–200 characters, no control, bidirectional or invisible formatting characters".into(),
        ));
    }
    Ok(())
}

impl Idp {
    /// Issues a new admin key (only its hash is kept).
    pub async fn add_admin_key(&self) -> Result<String, IdpError> {
        let key = format!("ik_{}", random_token(32));
        self.store.add_admin_key(&sha256_hex(key.as_bytes()), self.clock.now().unix_timestamp()).await?;
        Ok(key)
    }

    /// Registers a client.
    pub async fn add_client(&self, new: NewClient) -> Result<Client, IdpError> {
        valid_name(&new.name)?;
        new.config.validate()?;
        let id = match new.client_id {
            Some(id) if valid_client_id(&id) => id,
            Some(_) => return Err(IdpError::Invalid("client_id: 1–255 of [0-9a-zA-Z]".into())),
            None => {
                let mut b = [0u8; 4];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
                format!("RP{:08}", u32::from_be_bytes(b) % 100_000_000)
            }
        };
        let client = Client { id, name: new.name, config: new.config, disabled: false };
        if !self.store.add_client(&client, self.clock.now().unix_timestamp()).await? {
            return Err(IdpError::Conflict(format!("client {} exists already", client.id)));
        }
        Ok(client)
    }

    /// Replaces a client's name and settings.
    pub async fn update_client(&self, id: &str, name: String, config: ClientConfig) -> Result<Client, IdpError> {
        valid_name(&name)?;
        config.validate()?;
        if !valid_client_id(id) {
            return Err(IdpError::not_found("client", id));
        }
        let mut client = self.store.client(id).await?.ok_or_else(|| IdpError::not_found("client", id))?;
        client.name = name;
        client.config = config;
        if !self.store.update_client(&client).await? {
            return Err(IdpError::not_found("client", id));
        }
        Ok(client)
    }
}

async fn post_client(
    State(idp): State<Arc<Idp>>,
    _: AdminCaller,
    Json(new): Json<NewClient>,
) -> Result<(StatusCode, Json<Client>), IdpError> {
    Ok((StatusCode::CREATED, Json(idp.add_client(new).await?)))
}

async fn list_clients(State(idp): State<Arc<Idp>>, _: AdminCaller) -> Result<Json<Value>, IdpError> {
    Ok(Json(json!({"clients": idp.store.client_ids().await?})))
}

async fn get_client(
    State(idp): State<Arc<Idp>>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Client>, IdpError> {
    if !valid_client_id(&id) {
        return Err(IdpError::not_found("client", &id));
    }
    Ok(Json(idp.store.client(&id).await?.ok_or_else(|| IdpError::not_found("client", &id))?))
}

async fn put_client(
    State(idp): State<Arc<Idp>>,
    _: AdminCaller,
    Path(id): Path<String>,
    Json(new): Json<NewClient>,
) -> Result<Json<Client>, IdpError> {
    if new.client_id.as_ref().is_some_and(|c| *c != id) {
        return Err(IdpError::Invalid("client_id in the body differs from the path".into()));
    }
    Ok(Json(idp.update_client(&id, new.name, new.config).await?))
}

async fn post_disable(
    State(idp): State<Arc<Idp>>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, IdpError> {
    if !valid_client_id(&id) || !idp.store.disable_client(&id, idp.clock.now().unix_timestamp()).await? {
        return Err(IdpError::not_found("active client", &id));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn routes() -> Router<Arc<Idp>> {
    Router::new()
        .route("/api/admin/clients", post(post_client).get(list_clients))
        .route("/api/admin/clients/{id}", get(get_client).put(put_client))
        .route("/api/admin/clients/{id}/disable", post(post_disable))
}
