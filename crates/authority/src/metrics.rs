//! The authority's Prometheus metrics at `GET /metrics` (docs/authority.md, "Metrics and
//! health"): the HTTP metrics every service has (`hanko_store::http::metrics`) and the
//! authority's own. No label names a verifier, a person, a card or a serial: what each verifier
//! asked is the meter's business (`/v1/admin/meter`), behind an operator key.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use hanko_pki::{CaKind, CertKind, CrlReason};
use hanko_store::http::metrics::{Counters, Metrics};

use crate::error::AuthorityError;
use crate::verifiers::OperatorCaller;
use crate::Authority;

/// The authority's metrics.
pub(crate) struct AuthorityMetrics {
    pub(crate) metrics: Metrics,
    issued: Counters<1>,
    revoked: Counters<1>,
    crl_publications: Counters<2>,
    ocsp_responses: Counters<2>,
}

impl Default for AuthorityMetrics {
    fn default() -> AuthorityMetrics {
        let issued = Counters::<1>::default();
        let revoked = Counters::<1>::default();
        let crl_publications = Counters::<2>::default();
        let ocsp_responses = Counters::<2>::default();
        let metrics = Metrics::new("authority", |r| {
            r.register(
                "authority_certificates_issued",
                "Certificates issued, by kind (signature, auth, smartphone-signature, smartphone-auth)",
                issued.clone(),
            );
            r.register(
                "authority_certificates_revoked",
                "Certificates revoked, by RFC 5280 reason (affiliationChanged, superseded, certificateHold, \
                 cessationOfOperation, keyCompromise, unspecified)",
                revoked.clone(),
            );
            r.register(
                "authority_crl_publications",
                "CRLs published, by CA kind and outcome (published, failed)",
                crl_publications.clone(),
            );
            r.register(
                "authority_ocsp_responses",
                "OCSP responses, by status (the certStatus good, revoked or unknown of a successful answer's \
                 first certificate; or the error: malformedRequest, internalError, tryLater, sigRequired, \
                 unauthorized) and cached (true: a pre-signed answer)",
                ocsp_responses.clone(),
            );
        });
        AuthorityMetrics { metrics, issued, revoked, crl_publications, ocsp_responses }
    }
}

impl AuthorityMetrics {
    /// One certificate issued.
    pub(crate) fn issued(&self, kind: CertKind) {
        self.issued.get_or_create(&[("kind", kind.as_str())]).inc();
    }

    /// One certificate revoked (the first time).
    pub(crate) fn revoked(&self, reason: CrlReason) {
        self.revoked.get_or_create(&[("reason", reason.name())]).inc();
    }

    /// One generation's CRL published, or not.
    pub(crate) fn crl_publication(&self, kind: CaKind, published: bool) {
        let outcome = if published { "published" } else { "failed" };
        self.crl_publications.get_or_create(&[("kind", kind.as_str()), ("outcome", outcome)]).inc();
    }

    /// One OCSP response.
    pub(crate) fn ocsp_response(&self, status: &'static str, cached: bool) {
        let cached = if cached { "true" } else { "false" };
        self.ocsp_responses.get_or_create(&[("status", status), ("cached", cached)]).inc();
    }
}

/// `GET /metrics`: an operator key, unless `Config::metrics_public`.
pub(crate) async fn get_metrics(
    State(authority): State<Arc<Authority>>,
    mut parts: Parts,
) -> Result<Response, AuthorityError> {
    if !authority.config.metrics_public {
        OperatorCaller::from_request_parts(&mut parts, &authority).await?;
    }
    Ok(authority.metrics.metrics.render())
}
