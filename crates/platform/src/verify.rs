//! The verification API: what a service provider sends (a signature, a document, a login
//! response) and the answer it can act on.
//!
//! Every answer is a result, not an error, once the request itself is well formed: `OK`, or why
//! not (`SIGNATURE_MISMATCH`, `CERTIFICATE_REVOKED`, `CERTIFICATE_EXPIRED`,
//! `UNSUPPORTED_CERTIFICATE` — the codes SPs know from commercial platforms), with a finer
//! `reason.code`, and for a revocation what it means for the business. Each answer is kept as
//! evidence (`evidence_id`) before it is returned.
//!
//! What is checked (shared/spec/20-pki.md §5): the certificate's chain to a trusted JPKI CA
//! generation (by signature and key identifier), its validity now, keyUsage and policy, its
//! revocation (the tenant's method: CRL index or OCSP), and the signature over the document.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_pki::verify::{RevocationCheck, RevocationEvidence, Signed, VerifiedCertificate, Verifier, VerifyError};
use hanko_pki::{CertKind, DigestAlgorithm};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::PlatformError;
use crate::evidence::NewEvidence;
use crate::tenants::{CheckMethod, FactItem, SpCaller, Tenant};
use crate::Platform;

/// The result of a verification (the codes of the PocketSign Verify API that SPs know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResultCode {
    /// Valid: certificate trusted, valid, not revoked, signature verifies.
    Ok,
    /// The signature does not verify with the certificate's key (or over this document).
    SignatureMismatch,
    /// The certificate is revoked (see `reason.revocation`).
    CertificateRevoked,
    /// The certificate is expired or not yet valid.
    CertificateExpired,
    /// Not a JPKI certificate of a trusted CA generation, or of the wrong kind for this use.
    UnsupportedCertificate,
}

impl ResultCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Ok => "OK",
            ResultCode::SignatureMismatch => "SIGNATURE_MISMATCH",
            ResultCode::CertificateRevoked => "CERTIFICATE_REVOKED",
            ResultCode::CertificateExpired => "CERTIFICATE_EXPIRED",
            ResultCode::UnsupportedCertificate => "UNSUPPORTED_CERTIFICATE",
        }
    }
}

/// The certificate type (`JPKI_{CARD,MOBILE}_{DIGITAL_SIGNATURE,USER_AUTHENTICATION}`).
pub fn certificate_type(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Signature => "JPKI_CARD_DIGITAL_SIGNATURE",
        CertKind::Auth => "JPKI_CARD_USER_AUTHENTICATION",
        CertKind::SmartphoneSignature => "JPKI_MOBILE_DIGITAL_SIGNATURE",
        CertKind::SmartphoneAuth => "JPKI_MOBILE_USER_AUTHENTICATION",
        _ => "UNSUPPORTED",
    }
}

/// Why a verification did not pass.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// A stable fine-grained code (`signature_invalid`, `expired`, `revoked`, `unknown_issuer` …).
    pub code: &'static str,
    /// A sentence for a person.
    pub detail: String,
    /// For a revocation: when, why, and what it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Value>,
}

/// The answer to a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The evidence record of this verification.
    pub evidence_id: String,
    /// The result code.
    pub result: ResultCode,
    /// `result == OK`.
    pub valid: bool,
    /// Why not, when not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// `JPKI_CARD_DIGITAL_SIGNATURE` …, when the certificate parsed as a JPKI certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_type: Option<&'static str>,
    /// The tenant's id for the person (valid certificates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The 4 facts of a valid signature certificate — only the items the tenant may receive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<Value>,
    /// `crl` or `ocsp`.
    pub check_method: CheckMethod,
    /// When it was checked.
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// The certificate (base64 DER) — only for tenants with sensitive-data mode off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

/// Maps what the trust core refused to a result, or to an error when the platform itself
/// cannot answer (no current revocation data).
pub fn classify(e: &VerifyError) -> Result<(ResultCode, Reason), PlatformError> {
    let reason = |code: &'static str| Reason { code, detail: e.to_string(), revocation: None };
    Ok(match e {
        VerifyError::SignatureInvalid | VerifyError::Key(_) => {
            (ResultCode::SignatureMismatch, reason("signature_invalid"))
        }
        VerifyError::Cms(_) => (ResultCode::SignatureMismatch, reason("cms_invalid")),
        VerifyError::Expired { .. } => (ResultCode::CertificateExpired, reason("expired")),
        VerifyError::NotYetValid { .. } => (ResultCode::CertificateExpired, reason("not_yet_valid")),
        VerifyError::CrlAfterExpiry { .. } => (ResultCode::CertificateExpired, reason("expired")),
        VerifyError::Revoked { revoked_at, reason: r, meaning, .. } => (
            ResultCode::CertificateRevoked,
            Reason {
                code: "revoked",
                detail: e.to_string(),
                revocation: Some(json!({
                    "reason": r.name(),
                    "meaning": meaning.as_str(),
                    "revoked_at": rfc3339(*revoked_at),
                })),
            },
        ),
        VerifyError::Certificate(_) => (ResultCode::UnsupportedCertificate, reason("malformed_certificate")),
        VerifyError::UnknownIssuer { .. } => (ResultCode::UnsupportedCertificate, reason("unknown_issuer")),
        VerifyError::CertificateSignatureInvalid { .. } => {
            (ResultCode::UnsupportedCertificate, reason("certificate_signature_invalid"))
        }
        VerifyError::IssuerNotValid { .. } => (ResultCode::UnsupportedCertificate, reason("issuer_not_valid")),
        VerifyError::WrongKind { .. } | VerifyError::WrongCa { .. } => {
            (ResultCode::UnsupportedCertificate, reason("wrong_certificate_kind"))
        }
        VerifyError::KeyUsage { .. } => (ResultCode::UnsupportedCertificate, reason("key_usage")),
        VerifyError::Policy { .. } => (ResultCode::UnsupportedCertificate, reason("policy")),
        VerifyError::RevocationUnknown(_) => (ResultCode::UnsupportedCertificate, reason("unknown_to_authority")),
        VerifyError::DigestLength { .. } => return Err(PlatformError::Invalid(e.to_string())),
        VerifyError::CrlMissing => {
            return Err(PlatformError::Unavailable(
                "no current revocation data: no CRL of the certificate's CA generation is held yet; try again later"
                    .into(),
            ))
        }
        VerifyError::CrlStale { .. } => {
            return Err(PlatformError::Unavailable(format!(
                "no current revocation data: the CRL held for the certificate's CA generation is stale ({e}) and no \
                 newer one could be fetched from the authority; nothing was recorded, try again later"
            )))
        }
        VerifyError::Crl(_) | VerifyError::Ocsp(_) => {
            return Err(PlatformError::Unavailable(format!("no current revocation data: {e}")))
        }
        _ => return Err(PlatformError::Pki(e.to_string())),
    })
}

/// The sentence of a reason for a tenant in sensitive-data mode: the trust core's own words name
/// the certificate's serial for some refusals (a revocation, an unknown certificate), which is an
/// identifier every SP sees alike — the SP gets the code's meaning instead.
pub(crate) fn sensitive_detail(code: &str) -> &'static str {
    match code {
        "revoked" => "the certificate is revoked (see revocation.meaning)",
        "expired" => "the certificate has expired",
        "not_yet_valid" => "the certificate is not valid yet",
        "unknown_to_authority" => "the authority does not know the certificate",
        "signature_invalid" | "cms_invalid" => "the signature does not verify over this document with this certificate",
        "malformed_certificate" => "the certificate does not parse",
        "unknown_issuer" | "certificate_signature_invalid" | "issuer_not_valid" => {
            "the certificate was not issued by a trusted JPKI CA generation"
        }
        "wrong_certificate_kind" => "the certificate is of another kind than this use needs",
        "key_usage" | "policy" => "the certificate does not fit the JPKI profile of its kind",
        _ => "not valid",
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The facts of a signature certificate the tenant may receive.
pub(crate) fn tenant_facts(tenant: &Tenant, cert: &VerifiedCertificate) -> Option<Value> {
    let facts = cert.facts()?;
    if tenant.facts.is_empty() {
        return None;
    }
    let mut out = serde_json::Map::new();
    for item in &tenant.facts {
        let v = match item {
            FactItem::Name => json!(facts.name()),
            FactItem::Address => json!(facts.address()),
            FactItem::BirthDate => json!(facts.birth_date().to_string()),
            FactItem::Sex => json!(facts.sex().as_str()),
        };
        out.insert(item.as_str().to_owned(), v);
    }
    Some(Value::Object(out))
}

/// The revocation evidence as it is recorded.
pub(crate) fn revocation_record(e: &RevocationEvidence) -> Value {
    match e {
        RevocationEvidence::Crl { crl_number, this_update } => {
            json!({"method": "crl", "crl_number": crl_number, "this_update": rfc3339(*this_update)})
        }
        RevocationEvidence::Ocsp { this_update } => json!({"method": "ocsp", "this_update": rfc3339(*this_update)}),
        _ => json!({"method": "none"}),
    }
}

/// What one verification produced, before it is recorded.
pub struct Checked {
    /// `signature`, `cms`, `pdf`, `jwe`, `authentication`.
    pub kind: &'static str,
    /// The inputs to keep as evidence (base64 and hashes; the document itself never).
    pub inputs: Value,
    /// The certificate DER, when one was found.
    pub certificate: Option<Vec<u8>>,
    /// The verified certificate, or why the verification failed.
    pub verdict: Result<VerifiedCertificate, VerifyError>,
    /// Extra revocation evidence to keep (the OCSP response itself, base64), when OCSP was used.
    pub ocsp_response: Option<Vec<u8>>,
}

impl Platform {
    /// Runs `f` with the revocation source of `tenant`'s method: the CRL set held, or an OCSP
    /// response fetched from the authority for `certificate`.
    pub async fn with_revocation<T>(
        &self,
        tenant: &Tenant,
        certificate: &[u8],
        f: impl FnOnce(&Verifier<'_>, RevocationCheck<'_>) -> T,
    ) -> Result<(T, Option<Vec<u8>>), PlatformError> {
        let trust = self.trust();
        let verifier = Verifier::new(&trust);
        match tenant.check_method {
            CheckMethod::Crl => {
                let crls = self.crls.current();
                Ok((f(&verifier, RevocationCheck::Crl(&crls)), None))
            }
            CheckMethod::Ocsp => match self.fetch_ocsp(tenant, certificate, self.clock.now()).await? {
                Some(answer) => {
                    let check = RevocationCheck::Ocsp {
                        response: &answer.response,
                        nonce: Some(&answer.nonce),
                        max_age: crate::ocsp::OCSP_MAX_AGE,
                    };
                    let out = f(&verifier, check);
                    Ok((out, Some(answer.response)))
                }
                // No question was needed: the verifier refuses the certificate before revocation;
                // an empty response would fail closed if it ever got that far.
                None => {
                    let check =
                        RevocationCheck::Ocsp { response: &[], nonce: None, max_age: crate::ocsp::OCSP_MAX_AGE };
                    Ok((f(&verifier, check), None))
                }
            },
        }
    }

    /// Records a verification and builds the answer: the user id for a valid certificate, the
    /// facts the tenant may have, the certificate only outside sensitive-data mode.
    pub async fn conclude(&self, tenant: &Tenant, checked: Checked) -> Result<Outcome, PlatformError> {
        let now = self.clock.now();
        let (result, reason, verified) = match checked.verdict {
            Ok(v) => (ResultCode::Ok, None, Some(v)),
            Err(e) => {
                let (code, reason) = classify(&e)?;
                (code, Some(reason), None)
            }
        };
        let kind = verified.as_ref().map(|v| v.kind()).or_else(|| {
            checked
                .certificate
                .as_deref()
                .and_then(|der| hanko_pki::JpkiCertificate::from_der(der).ok())
                .map(|c| c.kind())
        });
        let user_id = match &verified {
            Some(v) => Some(self.user_for(tenant, v).await?),
            None => None,
        };
        let facts = verified.as_ref().and_then(|v| tenant_facts(tenant, v));
        let record = json!({
            "version": 1,
            "tenant": {"id": tenant.id, "sp_id": tenant.sp_id, "service_id": tenant.service_id},
            "kind": checked.kind,
            "checked_at": rfc3339(now),
            "inputs": checked.inputs,
            // A certificate that would not fit a JPKI one is kept by its hash only.
            "certificate": checked
                .certificate
                .as_deref()
                .filter(|c| c.len() <= hanko_pki::MAX_CERTIFICATE_LEN)
                .map(|c| B64.encode(c)),
            "certificate_sha256": checked.certificate.as_deref().map(|c| B64.encode(hanko_pki::DigestAlgorithm::Sha256.digest(c))),
            "revocation": verified.as_ref().map(|v| revocation_record(v.revocation())),
            "ocsp_response": checked.ocsp_response.as_deref().map(|r| B64.encode(r)),
            "check_method": tenant.check_method.as_str(),
            "result": result.as_str(),
            "reason": reason,
            "user_id": user_id,
        });
        let evidence_id = self
            .append_evidence(NewEvidence {
                tenant_id: tenant.id.clone(),
                kind: checked.kind,
                result: result.as_str().to_owned(),
                user_id: user_id.clone(),
                record,
                at: now,
            })
            .await?;
        self.meter(tenant, &format!("verification.{}.{}", checked.kind, result.as_str()), 1);
        self.metrics.verification(checked.kind, result, tenant.check_method.as_str());
        // The record keeps the trust core's words for an auditor; a sensitive-data SP gets the
        // code's meaning (the words may name the serial).
        let reason = match reason {
            Some(mut r) if tenant.sensitive => {
                r.detail = sensitive_detail(r.code).to_owned();
                Some(r)
            }
            other => other,
        };
        Ok(Outcome {
            evidence_id,
            result,
            valid: result == ResultCode::Ok,
            reason,
            certificate_type: kind.map(certificate_type),
            user_id,
            facts,
            check_method: tenant.check_method,
            checked_at: now,
            certificate: if tenant.sensitive { None } else { checked.certificate.as_deref().map(|c| B64.encode(c)) },
        })
    }
}

/// `POST /v1/verifications/signature`: a raw RSASSA-PKCS1-v1_5 signature (what the card's
/// `80 2A` returns) over a digest or over data, with the signer's certificate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureRequest {
    /// The signer's certificate, base64 DER.
    pub certificate: String,
    /// The signature, base64.
    pub signature: String,
    /// The digest of the signed document, base64 (or give `data`).
    #[serde(default)]
    pub digest: Option<String>,
    /// The signed bytes themselves, base64 (small documents; or give `digest`).
    #[serde(default)]
    pub data: Option<String>,
    /// `sha256` (default), `sha384`, `sha512`.
    #[serde(default)]
    pub digest_algorithm: Option<String>,
    /// `crl` or `ocsp` for this verification only, instead of the tenant's method (the
    /// authentication app service's `acr_values`).
    #[serde(default)]
    pub check_method: Option<CheckMethod>,
}

/// The answer to a raw signature: the verification result and, when valid, what was signed.
#[derive(Debug, Serialize)]
pub struct SignatureOutcome {
    /// The verification result.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// `digest_info` (standard RSASSA-PKCS1-v1_5 over the DigestInfo of the digest) or `hash`
    /// (PKCS#1 v1.5 over the bare digest: what the card returns when it was given the hash
    /// alone, as in the authentication app service's sign API), when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_form: Option<&'static str>,
}

/// Largest signature accepted (RSA-8192 is 1024 bytes; JPKI keys are RSA-2048, 256 bytes): a
/// bigger one is refused before it could be logged.
pub const MAX_SIGNATURE: usize = 1024;

/// Refuses a signature longer than [`MAX_SIGNATURE`] or a certificate longer than
/// `hanko_pki::MAX_CERTIFICATE_LEN`: neither can be a JPKI one, and both would be kept 7 years.
pub(crate) fn check_sizes(certificate: &[u8], signature: &[u8]) -> Result<(), PlatformError> {
    if signature.len() > MAX_SIGNATURE {
        return Err(PlatformError::Invalid(format!("signature is {} bytes; at most {MAX_SIGNATURE}", signature.len())));
    }
    if certificate.len() > hanko_pki::MAX_CERTIFICATE_LEN {
        return Err(PlatformError::Invalid(format!(
            "certificate is {} bytes; at most {}",
            certificate.len(),
            hanko_pki::MAX_CERTIFICATE_LEN
        )));
    }
    Ok(())
}

/// Decodes a base64 field (standard alphabet, padding optional; URL-safe accepted too).
pub(crate) fn b64(field: &str, s: &str) -> Result<Vec<u8>, PlatformError> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let t = s.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(t)
        .or_else(|_| URL_SAFE_NO_PAD.decode(t))
        .map_err(|_| PlatformError::Invalid(format!("{field} is not base64")))
}

/// Parses a digest algorithm name.
pub(crate) fn digest_algorithm(s: Option<&str>) -> Result<DigestAlgorithm, PlatformError> {
    match s.map(|s| s.to_ascii_lowercase().replace('-', "")).as_deref() {
        None | Some("sha256") => Ok(DigestAlgorithm::Sha256),
        Some("sha384") => Ok(DigestAlgorithm::Sha384),
        Some("sha512") => Ok(DigestAlgorithm::Sha512),
        Some(_) => Err(PlatformError::Invalid("digest_algorithm must be sha256, sha384 or sha512".into())),
    }
}

async fn post_signature(
    State(platform): State<Arc<Platform>>,
    SpCaller(tenant): SpCaller,
    Json(req): Json<SignatureRequest>,
) -> Result<Json<SignatureOutcome>, PlatformError> {
    let tenant = tenant.checking_with(req.check_method);
    let cert = b64("certificate", &req.certificate)?;
    let signature = b64("signature", &req.signature)?;
    check_sizes(&cert, &signature)?;
    let algorithm = digest_algorithm(req.digest_algorithm.as_deref())?;
    let digest = match (&req.digest, &req.data) {
        (Some(d), None) => b64("digest", d)?,
        (None, Some(data)) => algorithm.digest(&b64("data", data)?),
        _ => return Err(PlatformError::Invalid("give exactly one of digest and data".into())),
    };
    if digest.len() != algorithm.output_len() {
        return Err(PlatformError::Invalid(format!(
            "digest is {} bytes; {} needs {}",
            digest.len(),
            algorithm.name(),
            algorithm.output_len()
        )));
    }
    let now = platform.clock.now();
    // The standard form (over the DigestInfo), then the bare digest (the card was given the hash
    // alone), as for the sign result.
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
        "digest_algorithm": algorithm.name(),
        "digest": B64.encode(&digest),
        "signature": B64.encode(&signature),
        "signed_form": signed_form,
        "check_method": tenant.check_method.as_str(),
        "check_method_requested": req.check_method.map(CheckMethod::as_str),
    });
    let verdict: Result<VerifiedCertificate, VerifyError> = verdict.map(|(_, c)| c);
    let checked = Checked { kind: "signature", inputs, certificate: Some(cert), verdict, ocsp_response: ocsp };
    Ok(Json(SignatureOutcome { outcome: platform.conclude(&tenant, checked).await?, signed_form }))
}

pub(crate) fn routes() -> Router<Arc<Platform>> {
    Router::new().route("/v1/verifications/signature", post(post_signature))
}
