//! The other signature formats an SP sends: CMS `SignedData` (detached or attached), a signed
//! PDF (PAdES: every signature of the file, each with its own result), and the authentication
//! app service's sign result, a JWE addressed to this platform's key
//! (shared/spec/30-auth-app-api.md §6, §8) — plus the route that publishes that key.
//!
//! Each verification follows the raw-signature route: the trust core checks chain, validity,
//! keyUsage/policy, revocation by the tenant's method and the signature; the answer is an
//! [`Outcome`] kept as evidence. Malformed input (not base64, not CMS, not a PDF, a JWE for
//! another key or with a refused algorithm) is a 400 problem, never a 500.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_pki::cms::SignedMessage;
use hanko_pki::jwe::{JweDecryptionKey, JweError, KeyAlgorithm};
use hanko_pki::pades::{self, PdfSignature};
use hanko_pki::verify::{Signed, VerifiedCertificate, VerifyError};
use hanko_pki::DigestAlgorithm;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::PlatformError;
use crate::tenants::{CheckMethod, SpCaller, Tenant};
use crate::verify::{b64, digest_algorithm, rfc3339, Checked, Outcome};
use crate::Platform;

/// The file under the data directory holding the platform's JWE private key (PKCS#8 DER, 0600).
pub const JWE_KEY_FILE: &str = "jwe.key";

/// Loads the platform's JWE key from `DATA_DIR/jwe.key`, or makes an RSA-2048 one there (0600)
/// on first use. Two processes starting together end up with the same key: the new file is
/// published with a hard link, which fails if the other one was first.
pub fn load_or_create_jwe_key(data_dir: &Path) -> Result<JweDecryptionKey, PlatformError> {
    let path = data_dir.join(JWE_KEY_FILE);
    let read = |path: &Path| -> Result<JweDecryptionKey, PlatformError> {
        let der = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| PlatformError::io("JWE key", path, e))?);
        JweDecryptionKey::from_pkcs8(&der).map_err(|e| PlatformError::Invalid(format!("{}: {e}", path.display())))
    };
    if path.exists() {
        return read(&path);
    }
    let key = JweDecryptionKey::generate_rsa2048().map_err(|e| PlatformError::Pki(e.to_string()))?;
    let der = key.to_pkcs8().map_err(|e| PlatformError::Pki(e.to_string()))?;
    let tmp = data_dir.join(format!("{JWE_KEY_FILE}.new{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    hanko_store::create_new(&tmp, &der, 0o600).map_err(|e| PlatformError::io("JWE key", &tmp, e))?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(PlatformError::io("JWE key", &path, e)),
    }
}

/// A JWE refusal as the SP sees it: 400 with what was wrong (never the plaintext).
fn jwe_problem(e: JweError) -> PlatformError {
    match e {
        JweError::NotForThisKey | JweError::OtherKeyId { .. } => PlatformError::Invalid(format!(
            "sign_certificate_jwe is not addressed to this platform's key (GET /v1/jwks): {e}"
        )),
        e => PlatformError::Invalid(format!("sign_certificate_jwe: {e}")),
    }
}

fn sha256_b64(bytes: &[u8]) -> String {
    B64.encode(DigestAlgorithm::Sha256.digest(bytes))
}

/// An [`Outcome`] with what one format adds.
#[derive(Debug, Serialize)]
pub struct FormatOutcome {
    /// The verification result.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The signing time the signer claims (CMS `signingTime`, PDF `/M`) — a claim, not proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_signing_time: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// CMS

/// `POST /v1/verifications/cms`: CMS `SignedData` (`openssl cms -sign`, a `.p7s`), detached
/// with `data`, or attached.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmsRequest {
    /// The DER CMS, base64.
    pub cms: String,
    /// For a detached signature: the signed bytes, base64.
    #[serde(default)]
    pub data: Option<String>,
}

async fn post_cms(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(req): Json<CmsRequest>,
) -> Result<Json<FormatOutcome>, PlatformError> {
    let der = b64("cms", &req.cms)?;
    let data = req.data.as_deref().map(|d| b64("data", d)).transpose()?;
    let message =
        SignedMessage::from_der(&der).map_err(|e| PlatformError::Invalid(format!("cms is not CMS SignedData: {e}")))?;
    let encapsulation = match (message.attached_content().is_some(), data.is_some()) {
        (true, true) => return Err(PlatformError::Invalid("the CMS carries its content: do not send data".into())),
        (false, false) => return Err(PlatformError::Invalid("a detached CMS needs the signed bytes in data".into())),
        (true, false) => "attached",
        (false, true) => "detached",
    };
    let content_sha256 = sha256_b64(data.as_deref().or(message.attached_content()).unwrap_or_default());
    let signer_certificate = message.signer_certificate_der().map(<[u8]>::to_vec);
    let outcome = verify_cms_and_conclude(
        &platform,
        &tenant,
        "cms",
        &der,
        data.as_deref(),
        signer_certificate,
        json!({"encapsulation": encapsulation, "content_sha256": content_sha256}),
    )
    .await?;
    Ok(Json(outcome))
}

/// Verifies one CMS (`detached` content or attached) and records it as evidence of `kind`;
/// `certificate_hint` is the signer's certificate (asked about by OCSP, kept as evidence when
/// the CMS does not verify).
async fn verify_cms_and_conclude(
    platform: &Platform,
    tenant: &Tenant,
    kind: &'static str,
    der: &[u8],
    detached: Option<&[u8]>,
    certificate_hint: Option<Vec<u8>>,
    mut inputs: Value,
) -> Result<FormatOutcome, PlatformError> {
    let now = platform.clock.now();
    let hint = certificate_hint.clone().unwrap_or_default();
    let (result, ocsp) =
        platform.with_revocation(tenant, &hint, |v, rev| v.verify_cms(der, detached, now, rev)).await?;
    let claimed = result.as_ref().ok().and_then(|s| s.signing_time()).map(rfc3339);
    if let Ok(s) = &result {
        inputs["digest_algorithm"] = json!(s.digest_algorithm().name());
        inputs["digest"] = json!(B64.encode(s.digest()));
    }
    inputs["cms_sha256"] = json!(sha256_b64(der));
    // The CMS itself is the signature a court needs; an attached one carries the document,
    // which is kept only by its hash (above).
    if detached.is_some() && der.len() <= 64 * 1024 {
        inputs["cms"] = json!(B64.encode(der));
    }
    inputs["claimed_signing_time"] = json!(claimed);
    let (certificate, verdict) = match result {
        Ok(s) => (Some(s.certificate().certificate().der().to_vec()), Ok(s.certificate().clone())),
        Err(e) => (certificate_hint, Err(e)),
    };
    let checked = Checked { kind, inputs, certificate, verdict, ocsp_response: ocsp };
    let outcome = platform.conclude(tenant, checked).await?;
    Ok(FormatOutcome { outcome, claimed_signing_time: claimed })
}

// ---------------------------------------------------------------------------------------------
// PDF

/// `POST /v1/verifications/pdf`: a signed PDF, base64.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfRequest {
    /// The PDF file, base64.
    pub pdf: String,
}

/// One signature of a PDF.
#[derive(Debug, Serialize)]
pub struct PdfSignatureReport {
    /// Its position in the file (0 = first).
    pub index: usize,
    /// `/SubFilter` (`ETSI.CAdES.detached`, `adbe.pkcs7.detached`, `ETSI.RFC3161` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_filter: Option<String>,
    /// `/ByteRange`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_range: Option<[usize; 4]>,
    /// The signed range ends at the end of the file (nothing was added after this signature).
    pub covers_whole_file: bool,
    /// Bytes of the file after the signed range (an incremental update after signing).
    pub bytes_after: usize,
    /// The verification of this signature (absent for a document timestamp or an unsupported
    /// `/SubFilter`: see `note`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<FormatOutcome>,
    /// Why there is no outcome, or what else the SP should know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The answer for a PDF.
#[derive(Debug, Serialize)]
pub struct PdfReport {
    /// SHA-256 of the whole file, base64.
    pub document_sha256: String,
    /// Every signature verified `OK`.
    pub all_valid: bool,
    /// The file has bytes after the end of its last signature's range: changed after the last
    /// signature (an SP normally refuses such a document, or shows the signed revision).
    pub modified_after_last_signature: bool,
    /// Each signature, in file order.
    pub signatures: Vec<PdfSignatureReport>,
}

async fn post_pdf(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(req): Json<PdfRequest>,
) -> Result<Json<PdfReport>, PlatformError> {
    let pdf = b64("pdf", &req.pdf)?;
    let found = pades::signatures(&pdf).map_err(|e| PlatformError::Invalid(format!("pdf: {e}")))?;
    if found.is_empty() {
        return Err(PlatformError::Invalid("pdf: the file has no signature (no /ByteRange)".into()));
    }
    let document_sha256 = sha256_b64(&pdf);
    let mut signatures = Vec::with_capacity(found.len());
    for (index, sig) in found.into_iter().enumerate() {
        signatures.push(pdf_signature(&platform, &tenant, index, sig, &document_sha256).await?);
    }
    let all_valid = signatures.iter().all(|s| s.outcome.as_ref().is_some_and(|o| o.outcome.valid));
    let modified_after_last_signature = signatures.iter().all(|s| !s.covers_whole_file);
    Ok(Json(PdfReport { document_sha256, all_valid, modified_after_last_signature, signatures }))
}

async fn pdf_signature(
    platform: &Platform,
    tenant: &Tenant,
    index: usize,
    sig: Result<PdfSignature<'_>, pades::PadesError>,
    document_sha256: &str,
) -> Result<PdfSignatureReport, PlatformError> {
    let sig = match sig {
        Ok(sig) => sig,
        Err(e) => {
            // A broken signature dictionary is that signature's result: recorded, not verified.
            let inputs = json!({"document_sha256": document_sha256, "index": index});
            let verdict = Err(VerifyError::Cms(format!("PDF signature {index}: {e}")));
            let checked = Checked { kind: "pdf", inputs, certificate: None, verdict, ocsp_response: None };
            let outcome = platform.conclude(tenant, checked).await?;
            return Ok(PdfSignatureReport {
                index,
                sub_filter: None,
                byte_range: None,
                covers_whole_file: false,
                bytes_after: 0,
                outcome: Some(FormatOutcome { outcome, claimed_signing_time: None }),
                note: Some(e.to_string()),
            });
        }
    };
    let mut report = PdfSignatureReport {
        index,
        sub_filter: Some(sig.sub_filter.name().to_owned()),
        byte_range: Some(sig.byte_range),
        covers_whole_file: sig.covers_whole_file(),
        bytes_after: sig.bytes_after(),
        outcome: None,
        note: None,
    };
    if sig.doc_timestamp || sig.sub_filter == pades::SubFilter::EtsiRfc3161 {
        report.note = Some("a document timestamp (ETSI.RFC3161), not a person's signature: not verified".into());
        return Ok(report);
    }
    if !sig.sub_filter.is_detached_cms() {
        report.note = Some(format!(
            "/SubFilter {:?} is not supported (ETSI.CAdES.detached and adbe.pkcs7.detached are)",
            sig.sub_filter.name()
        ));
        return Ok(report);
    }
    let signed = sig.signed_content();
    let hint = SignedMessage::from_der(&sig.cms_der).ok().and_then(|m| m.signer_certificate_der().map(<[u8]>::to_vec));
    let inputs = json!({
        "document_sha256": document_sha256,
        "index": index,
        "sub_filter": sig.sub_filter.name(),
        "byte_range": sig.byte_range,
        "signed_bytes_sha256": sha256_b64(&signed),
        "bytes_after": sig.bytes_after(),
        "pdf_claimed_time": sig.claimed_time,
    });
    let mut outcome =
        verify_cms_and_conclude(platform, tenant, "pdf", &sig.cms_der, Some(&signed), hint, inputs).await?;
    if outcome.claimed_signing_time.is_none() {
        outcome.claimed_signing_time = sig.claimed_time.clone();
    }
    if !sig.covers_whole_file() {
        report.note = Some(format!(
            "{} bytes were added to the file after this signature (an incremental update)",
            sig.bytes_after()
        ));
    }
    report.outcome = Some(outcome);
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// The authentication app service's sign result (JWE)

/// `POST /v1/verifications/sign-result`: the JWE the authentication app service returned for a
/// sign transaction (`GET /api/sign-transactions/{id}/result`), passed on unchanged, with the
/// digest the SP submitted for signing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignResultRequest {
    /// The compact JWE, addressed to this platform's key (`GET /v1/jwks`).
    pub sign_certificate_jwe: String,
    /// The digest the SP submitted to the sign transaction, base64.
    pub digest: String,
    /// `sha256` (default), `sha384`, `sha512`.
    #[serde(default)]
    pub digest_algorithm: Option<String>,
    /// `crl` or `ocsp` for this verification only, instead of the tenant's method.
    #[serde(default)]
    pub check_method: Option<CheckMethod>,
}

/// The answer for a sign result: the verification result, and for a valid signature what the
/// card signed.
#[derive(Debug, Serialize)]
pub struct SignResultOutcome {
    /// The verification result.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// `digest_info` (a standard RSASSA-PKCS1-v1_5 signature: the RP submitted a DigestInfo) or
    /// `hash` (the card signed the bare digest: the RP submitted a hash), when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_form: Option<&'static str>,
}

/// The JWE payload: the card's signature and its signature certificate (other members, such as
/// the 4 facts, are ignored and never stored).
#[derive(Deserialize)]
struct SignResultPayload {
    /// PKCS#1 v1.5 over the DigestInfo of the digest, or over the bare digest, base64.
    #[serde(alias = "signature_value")]
    signature: String,
    /// The signature certificate, base64 DER.
    #[serde(alias = "sign_certificate")]
    certificate: String,
}

async fn post_sign_result(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(req): Json<SignResultRequest>,
) -> Result<Json<SignResultOutcome>, PlatformError> {
    let tenant = tenant.checking_with(req.check_method);
    let algorithm = digest_algorithm(req.digest_algorithm.as_deref())?;
    let digest = b64("digest", &req.digest)?;
    if digest.len() != algorithm.output_len() {
        return Err(PlatformError::Invalid(format!(
            "digest is {} bytes; {} needs {}",
            digest.len(),
            algorithm.name(),
            algorithm.output_len()
        )));
    }
    let decrypted =
        platform.jwe_key.decrypt(&req.sign_certificate_jwe, &platform.config.jwe_policy).map_err(jwe_problem)?;
    let payload: SignResultPayload = serde_json::from_slice(&decrypted.plaintext).map_err(|_| {
        PlatformError::Invalid(
            "sign_certificate_jwe: the payload is not a JSON object with signature and certificate".into(),
        )
    })?;
    let cert = b64("sign_certificate_jwe certificate", &payload.certificate)?;
    let signature = b64("sign_certificate_jwe signature", &payload.signature)?;
    crate::verify::check_sizes(&cert, &signature)?;
    let now = platform.clock.now();
    // The standard form (the RP submitted a DigestInfo), then the bare digest (it submitted a hash).
    let (verdict, ocsp) = platform
        .with_revocation(&tenant, &cert, |v, rev| {
            let check = |signed| v.verify_signature(&cert, algorithm, signed, &signature, now, rev);
            match check(Signed::Digest(&digest)) {
                Err(VerifyError::SignatureInvalid) => check(Signed::BareDigest(&digest)),
                other => other,
            }
            .map(|s| (s.form().as_str(), s.certificate().clone()))
        })
        .await?;
    let signed_form = verdict.as_ref().ok().map(|(form, _)| *form);
    let inputs = json!({
        "jwe": {
            "alg": decrypted.key_algorithm.name(),
            "enc": decrypted.content_algorithm.name(),
            "kid": decrypted.header.get("kid"),
            "sha256": sha256_b64(req.sign_certificate_jwe.as_bytes()),
        },
        "digest_algorithm": algorithm.name(),
        "digest": B64.encode(&digest),
        "signature": B64.encode(&signature),
        "signed_form": signed_form,
        "check_method": tenant.check_method.as_str(),
        "check_method_requested": req.check_method.map(CheckMethod::as_str),
    });
    let verdict: Result<VerifiedCertificate, VerifyError> = verdict.map(|(_, c)| c);
    let checked = Checked { kind: "jwe", inputs, certificate: Some(cert), verdict, ocsp_response: ocsp };
    Ok(Json(SignResultOutcome { outcome: platform.conclude(&tenant, checked).await?, signed_form }))
}

/// `GET /v1/jwks`: the platform's JWE public key, to register at the authentication app
/// service (the key its sign results are encrypted to). Public: no API key needed.
async fn get_jwks(State(platform): State<Arc<Platform>>) -> Json<Value> {
    let alg = platform.config.jwe_policy.key_algorithms.first().copied().unwrap_or(KeyAlgorithm::RsaOaep256);
    let mut jwk = platform.jwe_key.public_key().jwk(alg);
    let encs: Vec<&str> = platform.config.jwe_policy.content_algorithms.iter().map(|e| e.name()).collect();
    jwk["enc_values_accepted"] = json!(encs);
    Json(json!({"keys": [jwk]}))
}

pub(crate) fn routes(max_document_body: usize) -> Router<Arc<Platform>> {
    let documents = axum::extract::DefaultBodyLimit::max(max_document_body);
    Router::new()
        .route("/v1/verifications/cms", post(post_cms).layer(documents))
        .route("/v1/verifications/pdf", post(post_pdf).layer(documents))
        .route("/v1/verifications/sign-result", post(post_sign_result))
        .route("/v1/jwks", get(get_jwks))
}
