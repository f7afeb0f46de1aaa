//! The app API: what the user's app (the web wallet, another device through the QR code,
//! `hanko app approve`) reads about a pending request and how it approves it with the card's
//! answer, or cancels it. The request id is the capability: it is in the wallet's URL and the
//! QR code, never sent to the client (RP).
//!
//! - `GET /api/app/requests/{id}`: the client, what will be shared, and what the card must sign
//!   (the platform's login challenge, or the sign transaction's bytes).
//! - `POST /api/app/requests/{id}/approval`: the certificate and signature (and, for the 4 facts
//!   or the My Number, the input-assist AP's files as read). Logins are verified at the platform
//!   operator (chain, revocation, the person's id); a refused card ends the request with
//!   `access_denied` and says why.
//! - `POST /api/app/requests/{id}/cancel`: the user declines (`access_denied`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_card::{ChipKeyRecord, CvCertificate, FourFacts, IntegrityRecord};
use hanko_pki::DigestInfo;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::claims::{fact_claims, Facts};
use crate::clients::{Client, Devices};
use crate::error::IdpError;
use crate::store::FlowRecord;
use crate::{random_token, Idp};

/// What the app is shown.
#[derive(Debug, Serialize)]
pub struct AppRequest {
    /// The request id.
    pub request_id: String,
    /// The client (RP) asking.
    pub client: Value,
    /// `login` or `sign`.
    pub kind: &'static str,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// The 4 facts that will be shared (scope names).
    pub facts: Vec<&'static str>,
    /// Whether the My Number is asked for.
    pub my_number: bool,
    /// Whether the certificate is shared (`user_certificate`).
    pub user_certificate: bool,
    /// `card`, `phone` or `either`.
    pub devices: Devices,
    /// `pending`, `approved`, `denied`, `failed`, `done`.
    pub status: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Login: the bytes the user-authentication key signs (base64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// Sign: the bytes the signature key signs (base64) and their form (`hash`, `digest_info`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign: Option<Value>,
    /// The client uses the test-card substitute instead of the app.
    pub substitute: bool,
    /// When the 4 facts or the My Number are read from the input-assist AP: the bytes its chip
    /// signs (base64; see [`InputAssistFiles::chip_signature`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_assist_challenge: Option<String>,
}

/// The input-assist AP's files as read from the card (base64). Its `Debug` shows none of them
/// (they hold the 4 facts and the My Number).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputAssistFiles {
    /// The 4-facts EF (`0002`).
    #[serde(default)]
    pub facts: Option<String>,
    /// The My Number EF (`0001`).
    #[serde(default)]
    pub my_number: Option<String>,
    /// The integrity record (`0003`).
    pub integrity_record: String,
    /// The CV certificate (`0004`).
    pub cv_certificate: String,
    /// The chip key record (`0007`).
    pub chip_key_record: String,
    /// The input-assist chip's signature over the request's `input_assist_challenge`
    /// (`80 2A 00 00`, PKCS#1 v1.5 over its SHA-256 DigestInfo): the files were read now, from
    /// the chip they belong to (hanko_card `Client::prove_input_assist_chip`).
    pub chip_signature: String,
}

/// The bytes the input-assist chip signs for a request: SHA-256 of a label and the request's
/// login challenge, so that a proof made for one request is worthless for another.
pub(crate) fn input_assist_challenge(flow_challenge: &[u8]) -> Vec<u8> {
    let mut data = b"hanko idp input-assist\0".to_vec();
    data.extend_from_slice(flow_challenge);
    hanko_pki::DigestAlgorithm::Sha256.digest(&data)
}

impl std::fmt::Debug for InputAssistFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputAssistFiles(redacted)")
    }
}

/// `POST /api/app/requests/{id}/approval`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The certificate of the key that signed (auth for a login, signature for a sign), base64
    /// DER.
    pub certificate: String,
    /// The signature, base64.
    pub signature: String,
    /// The input-assist AP's files, when the 4 facts or the My Number are asked for.
    #[serde(default)]
    pub input_assist: Option<InputAssistFiles>,
    /// What signed: `card` (default) or `phone` (the smartphone certificate in the phone's
    /// secure element). A phone's user-authentication certificate carries the card's policy, so
    /// the certificate alone cannot say.
    #[serde(default)]
    pub device: Option<String>,
}

/// The answer to an approval.
#[derive(Debug, Serialize)]
pub struct ApprovalOutcome {
    /// `approved` or `failed`.
    pub status: &'static str,
    /// Why not (`access_denied` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// In words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Where the browser that started the request continues.
    pub continue_url: String,
}

fn b64(what: &str, s: &str) -> Result<Vec<u8>, IdpError> {
    if s.len() > 16 * 1024 {
        return Err(IdpError::Invalid(format!("{what} is too long")));
    }
    B64.decode(s.trim()).map_err(|_| IdpError::Invalid(format!("{what} is not base64")))
}

impl Idp {
    /// A pending, unexpired flow and its client.
    async fn live_flow(&self, id: &str) -> Result<(FlowRecord, Client), IdpError> {
        if !crate::valid_token_id(id) {
            return Err(IdpError::NotFound("request".into()));
        }
        let flow = self.store.flow(id).await?.ok_or_else(|| IdpError::not_found("request", id))?;
        let client = self.store.client(&flow.client_id).await?.ok_or_else(|| IdpError::not_found("request", id))?;
        Ok((flow, client))
    }

    /// What the app shows for request `id`.
    pub async fn app_request(&self, id: &str) -> Result<AppRequest, IdpError> {
        let (flow, client) = self.live_flow(id).await?;
        let now = self.clock.now().unix_timestamp();
        let pending = flow.status == "pending" && flow.expires_at >= now;
        let req = flow.request.clone();
        let (mut challenge, mut sign) = (None, None);
        if let Some(tx) = &req.sign_transaction_id {
            let tx =
                self.store.sign_tx(tx).await?.ok_or_else(|| IdpError::Gone("the sign transaction expired".into()))?;
            sign = Some(json!({"data": B64.encode(&tx.data), "form": tx.form}));
        } else if pending && !client.config.substitute {
            challenge = flow.challenge.as_ref().map(|(_, b)| B64.encode(b));
        }
        Ok(AppRequest {
            request_id: flow.id.clone(),
            client: json!({"id": client.id, "name": client.name}),
            kind: if req.sign_transaction_id.is_some() { "sign" } else { "login" },
            facts: req.facts(),
            my_number: req.has("my_number"),
            user_certificate: req.has("user_certificate"),
            scopes: req.scope.clone(),
            devices: client.config.devices,
            status: if flow.status == "pending" && !pending { "expired".into() } else { flow.status.clone() },
            expires_at: flow.expires_at,
            challenge,
            sign,
            substitute: client.config.substitute,
            input_assist_challenge: (req.has("my_number")
                || (req.sign_transaction_id.is_none() && !req.facts().is_empty()))
            .then(|| flow.challenge.as_ref().map(|(_, c)| B64.encode(input_assist_challenge(c))))
            .flatten(),
        })
    }

    /// Ends request `id` as the user declined.
    pub async fn app_cancel(&self, id: &str) -> Result<ApprovalOutcome, IdpError> {
        let (flow, _) = self.live_flow(id).await?;
        let result = json!({"error": "access_denied", "error_description": "the user cancelled"});
        if !self.store.finish_flow(&flow.id, "denied", &result).await? {
            return Err(IdpError::Conflict("this request was answered already".into()));
        }
        self.metrics.flow_ended(&flow, "denied");
        Ok(ApprovalOutcome {
            status: "denied",
            error: Some("access_denied"),
            error_description: Some("the user cancelled".into()),
            continue_url: format!("/app/requests/{id}/continue"),
        })
    }

    /// Ends request `id` as refused (the card or the certificate not accepted).
    pub(crate) async fn fail_flow(
        &self,
        flow: &FlowRecord,
        error: &'static str,
        description: String,
    ) -> Result<ApprovalOutcome, IdpError> {
        let id = &flow.id;
        let result = json!({"error": error, "error_description": description});
        if !self.store.finish_flow(id, "failed", &result).await? {
            return Err(IdpError::Conflict("this request was answered already".into()));
        }
        self.metrics.flow_ended(flow, "failed");
        Ok(ApprovalOutcome {
            status: "failed",
            error: Some(error),
            error_description: Some(description),
            continue_url: format!("/app/requests/{id}/continue"),
        })
    }

    /// Ends request `id` as approved with what was proved.
    pub(crate) async fn approve_flow(&self, flow: &FlowRecord, result: Value) -> Result<ApprovalOutcome, IdpError> {
        let id = &flow.id;
        if !self.store.finish_flow(id, "approved", &result).await? {
            return Err(IdpError::Conflict("this request was answered already".into()));
        }
        self.metrics.flow_ended(flow, "approved");
        Ok(ApprovalOutcome {
            status: "approved",
            error: None,
            error_description: None,
            continue_url: format!("/app/requests/{id}/continue"),
        })
    }

    /// Approves request `id` with the card's (or the phone's) answer.
    pub async fn app_approve(&self, id: &str, approval: Approval) -> Result<ApprovalOutcome, IdpError> {
        self.approve_as(id, approval, false).await
    }

    /// Approves request `id` with the card's answer; `substitute`: answered on the test-card
    /// substitute page (only for clients in that mode, which the app may not answer).
    pub(crate) async fn approve_as(
        &self,
        id: &str,
        approval: Approval,
        substitute: bool,
    ) -> Result<ApprovalOutcome, IdpError> {
        let (flow, client) = self.live_flow(id).await?;
        let now = self.clock.now().unix_timestamp();
        if flow.status != "pending" {
            return Err(IdpError::Conflict("this request was answered already".into()));
        }
        if flow.expires_at < now {
            return Err(IdpError::Gone("this request expired; start the login again".into()));
        }
        if client.config.substitute && !substitute {
            return Err(IdpError::Forbidden(
                "this client uses the test-card substitute: answer on its page, not with the app".into(),
            ));
        }
        if substitute && !client.config.substitute {
            return Err(IdpError::Forbidden("this client does not use the test-card substitute".into()));
        }
        let certificate = b64("certificate", &approval.certificate)?;
        let signature = b64("signature", &approval.signature)?;
        if signature.len() > 1024 {
            return Err(IdpError::Invalid("signature is longer than any JPKI signature".into()));
        }
        let declared_phone = match approval.device.as_deref() {
            None | Some("card") => false,
            Some("phone") => true,
            Some(_) => return Err(IdpError::Invalid("device is card or phone".into())),
        };
        let req = flow.request.clone();
        let wanted = req.facts();
        let (_, flow_challenge) =
            flow.challenge.clone().ok_or_else(|| IdpError::Internal("a flow without its challenge".into()))?;
        // What the input-assist AP gives is checked before the platform is asked (a request
        // refused here can be approved again).
        let read = if (req.sign_transaction_id.is_none() && !wanted.is_empty()) || req.has("my_number") {
            Some(self.input_assist_facts(&approval, &req, declared_phone, &flow_challenge)?)
        } else {
            None
        };
        let verdict = if let Some(tx_id) = &req.sign_transaction_id {
            let tx =
                self.store.sign_tx(tx_id).await?.filter(|t| t.expires_at >= now).ok_or_else(|| {
                    IdpError::Gone("the sign transaction expired; the service must start again".into())
                })?;
            let (digest, algorithm) = match tx.form.as_str() {
                "digest_info" => DigestInfo::from_der(&tx.data)
                    .map(|d| (d.digest, d.algorithm))
                    .map_err(|_| IdpError::Internal("stored DigestInfo does not parse".into()))?,
                _ => (tx.data.clone(), crate::sign::bare_hash_algorithm(tx.data.len())?),
            };
            let verdict = self
                .platform
                .verify_signature(&digest, algorithm.name(), &certificate, &signature, &req.check_method)
                .await?;
            // The card signs the bytes as stored, padded as given: a signature in the other form
            // (a DigestInfo made of a submitted hash, or the hash out of a submitted DigestInfo)
            // is not what the service asked for.
            if client.config.government && verdict.valid && verdict.signed_form.as_deref() != Some(tx.form.as_str()) {
                let description = format!(
                    "the card signed the {} form, but the service submitted {}: sign the bytes as given",
                    verdict.signed_form.as_deref().unwrap_or("unknown"),
                    if tx.form == "hash" { "a bare hash" } else { "a DigestInfo" }
                );
                return self.fail_flow(&flow, "access_denied", description).await;
            }
            verdict
        } else {
            // The flow's own challenge (made with it, answered once: the flow ends with the first
            // verdict), verified at the platform without state there.
            let (_, challenge) =
                flow.challenge.clone().ok_or_else(|| IdpError::Internal("a flow without its challenge".into()))?;
            self.platform.verify_login(&challenge, &certificate, &signature, &req.check_method).await?
        };
        // The signature API does not check the signature certificate's validity for private
        // services (their platform operator does, from the JWE): only a government client's
        // revoked or expired signer is refused here (shared/spec/30-auth-app-api.md §1; seed 003:
        // 「行政機関向けに限り署名用電子証明書の有効性を確認」). A signature that does not verify,
        // or a certificate that is no JPKI signature certificate, is refused for everyone: the
        // approval API is open to whoever holds the request id, not only to a card.
        let unchecked_sign = req.sign_transaction_id.is_some()
            && !client.config.government
            && matches!(verdict.result.as_str(), "CERTIFICATE_REVOKED" | "CERTIFICATE_EXPIRED");
        if !verdict.valid && !unchecked_sign {
            let why = verdict
                .reason
                .as_ref()
                .and_then(|r| r.get("code"))
                .and_then(Value::as_str)
                .unwrap_or("refused")
                .to_owned();
            let revocation =
                verdict.reason.as_ref().and_then(|r| r.pointer("/revocation/reason")).and_then(Value::as_str);
            let how = if verdict.check_method == "ocsp" { "OCSP" } else { "the CRL" };
            let description = match (verdict.result.as_str(), revocation) {
                ("CERTIFICATE_REVOKED", Some("certificateHold")) => format!(
                    "the certificate is suspended (held; {how}): the card or phone was reported lost — ask the \
                     municipality or the call centre"
                ),
                ("CERTIFICATE_REVOKED", _) => format!("the certificate is revoked ({how}): it cannot be used"),
                ("CERTIFICATE_EXPIRED", _) => "the certificate has expired: renew it at the municipality".to_owned(),
                ("SIGNATURE_MISMATCH", _) if req.sign_transaction_id.is_some() => {
                    "the signature does not verify over the submitted bytes with this certificate".to_owned()
                }
                ("SIGNATURE_MISMATCH", _) => "the card's signature does not verify".to_owned(),
                (r, _) => format!("the certificate is not accepted ({r}, {why})"),
            };
            return self.fail_flow(&flow, "access_denied", description).await;
        }
        // A phone's user-authentication certificate carries the card's policy (20-pki.md §1):
        // the certificate alone does not tell them apart, so for a login the device is what the
        // app read from (its own secure element or a card), unless the platform names a phone's
        // type. A signature certificate says which it is (its policy): the app's word does not
        // count there, or a card would pass for a phone at a phone-only client.
        let certified_phone = verdict.certificate_type.as_deref().is_some_and(|t| t.contains("MOBILE"));
        let phone = if req.sign_transaction_id.is_some() { certified_phone } else { declared_phone || certified_phone };
        match (client.config.devices, phone) {
            (Devices::Card, true) => {
                return self
                    .fail_flow(&flow, "access_denied", "this service accepts the card only, not a smartphone".into())
                    .await
            }
            (Devices::Phone, false) => {
                return self
                    .fail_flow(&flow, "access_denied", "this service accepts a smartphone certificate only".into())
                    .await
            }
            _ => {}
        }
        let user_id = match (&verdict.user_id, verdict.valid) {
            (Some(u), true) => u.clone(),
            // A private service's signature by a revoked or expired certificate: no person is
            // known, and the sub must not be one anybody holding that certificate could make
            // again — a fresh one, never seen again.
            (_, false) if unchecked_sign => format!("unverified:{}", random_token(16)),
            _ => return Err(IdpError::Platform("a valid verdict without a user id".into())),
        };
        let facts = match read {
            Some((facts, my_number)) => {
                // A sign with facts: the signature certificate's (the My Number came from the AP).
                let facts = if req.sign_transaction_id.is_some() {
                    verdict.facts.as_ref().and_then(|v| platform_facts(v).0)
                } else {
                    facts
                };
                Some((facts, my_number))
            }
            None if req.sign_transaction_id.is_some() && !wanted.is_empty() => {
                verdict.facts.as_ref().map(platform_facts)
            }
            None => None,
        };
        let mut claims = serde_json::Map::new();
        if let Some((facts, my_number)) = &facts {
            if let Some(f) = facts {
                claims.extend(fact_claims(f, &wanted, client.config.claim_format));
            }
            if let Some(n) = my_number {
                claims.insert("my_number".into(), json!(n.as_str()));
            }
        }
        if req.has("user_certificate") && verdict.valid {
            claims.insert("user_certificate".into(), json!(B64.encode(&certificate)));
        }
        // The check the platform made (the request's acr_values or the client's default); a
        // signer the platform did not accept is no authentication at all.
        let acr = match (verdict.valid, verdict.check_method.as_str()) {
            (false, _) => "unverified",
            (true, "ocsp") => "aal3 ocsp",
            _ => "aal3 crl",
        };
        let result = json!({
            "sub": self.pairwise_sub(&client, &user_id),
            "acr": acr,
            "amr": [if phone { "phone" } else { "card" }, "pin"],
            "auth_time": now,
            "session_state": random_token(16),
            "claims": claims,
            "check_method": verdict.check_method,
        });
        if let Some(tx_id) = &req.sign_transaction_id {
            let jwe = self.seal_sign_result(&client, tx_id, &certificate, &signature, &claims).await?;
            if !self.store.complete_sign_tx(tx_id, id, &jwe).await? {
                return Err(IdpError::Conflict("the sign transaction was signed already".into()));
            }
        }
        self.approve_flow(&flow, result).await
    }

    /// The 4 facts (and the My Number) from the input-assist AP's files, checked against the
    /// integrity record and the CV certificate (`Config::cv_root`).
    fn input_assist_facts(
        &self,
        approval: &Approval,
        req: &crate::authorize::AuthRequest,
        phone: bool,
        flow_challenge: &[u8],
    ) -> Result<(Option<Facts>, Option<String>), IdpError> {
        if phone {
            return Err(IdpError::Invalid(
                "a smartphone has no input-assist AP: the 4 facts and the My Number are read from the card — \
                 approve this request with the card"
                    .into(),
            ));
        }
        let files = approval.input_assist.as_ref().ok_or_else(|| {
            IdpError::Invalid("the 4 facts or the My Number were asked for: send the input-assist AP's files".into())
        })?;
        let root = self.cv_root()?;
        let bad = |e: hanko_card::CardDataError| IdpError::Invalid(format!("input-assist AP files: {e}"));
        let cert = CvCertificate::parse(&b64("cv_certificate", &files.cv_certificate)?).map_err(bad)?;
        let cert = cert.verify(&root).map_err(bad)?;
        let record = IntegrityRecord::parse(&b64("integrity_record", &files.integrity_record)?).map_err(bad)?;
        let record = record.verify(&cert).map_err(bad)?;
        // The files must come from a chip present now: its certified key signs this request's
        // challenge. Copied files of another card (they are fixed data) do not pass.
        let chip = ChipKeyRecord::parse(&b64("chip_key_record", &files.chip_key_record)?).map_err(bad)?;
        let chip_key = chip.verify(&cert).map_err(bad)?;
        let chip_signature = b64("chip_signature", &files.chip_signature)?;
        chip_key
            .verify(
                hanko_pki::SignatureAlgorithm::RsaPkcs1Sha256,
                &input_assist_challenge(flow_challenge),
                &chip_signature,
            )
            .map_err(|_| {
                IdpError::Invalid(
                    "input-assist AP: the chip's signature over this request's input_assist_challenge does not verify \
                     (the files must be read now, from the card that answers)"
                        .into(),
                )
            })?;
        let facts = if req.facts().is_empty() {
            None
        } else {
            let file = b64(
                "facts",
                files.facts.as_deref().ok_or_else(|| IdpError::Invalid("input_assist.facts is missing".into()))?,
            )?;
            let facts = FourFacts::parse(&file).map_err(bad)?;
            record.check_facts(facts.signed_part()).map_err(bad)?;
            let birth = facts.birth_date().to_string();
            Some(Facts {
                name: facts.name().to_owned(),
                address: facts.address().to_owned(),
                birthdate: birth.get(1..).unwrap_or_default().to_owned(),
                gender: facts.sex().to_string(),
            })
        };
        let my_number = if req.has("my_number") {
            let ef = zeroize::Zeroizing::new(b64(
                "my_number",
                files
                    .my_number
                    .as_deref()
                    .ok_or_else(|| IdpError::Invalid("input_assist.my_number is missing".into()))?,
            )?);
            record.check_my_number_ef(&ef).map_err(bad)?;
            let n = hanko_card::parse_my_number_ef(&ef).map_err(bad)?;
            Some(String::from_utf8_lossy(n.expose()).into_owned())
        } else {
            None
        };
        Ok((facts, my_number))
    }
}

/// The facts of a signature certificate as the platform gave them.
fn platform_facts(v: &Value) -> (Option<Facts>, Option<String>) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let birth = s("birth_date");
    (
        Some(Facts {
            name: s("name"),
            address: s("address"),
            birthdate: birth.get(1..).unwrap_or_default().to_owned(),
            gender: s("sex"),
        }),
        None,
    )
}

async fn get_request(State(idp): State<Arc<Idp>>, Path(id): Path<String>) -> Result<Json<AppRequest>, IdpError> {
    Ok(Json(idp.app_request(&id).await?))
}

async fn post_approval(
    State(idp): State<Arc<Idp>>,
    Path(id): Path<String>,
    Json(approval): Json<Approval>,
) -> Result<Json<ApprovalOutcome>, IdpError> {
    Ok(Json(idp.app_approve(&id, approval).await?))
}

async fn post_cancel(State(idp): State<Arc<Idp>>, Path(id): Path<String>) -> Result<Json<ApprovalOutcome>, IdpError> {
    Ok(Json(idp.app_cancel(&id).await?))
}

pub(crate) fn routes() -> Router<Arc<Idp>> {
    Router::new()
        .route("/api/app/requests/{id}", get(get_request))
        .route("/api/app/requests/{id}/approval", post(post_approval))
        .route("/api/app/requests/{id}/cancel", post(post_cancel))
}
