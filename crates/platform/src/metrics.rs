//! The platform's Prometheus metrics at `GET /metrics` (docs/platform.md, "Metrics and
//! health"): the HTTP metrics every service has (`hanko_store::http::metrics`) and the
//! platform's own. No label names a tenant, a user or a certificate: counts per SP are the
//! meter's business (`/v1/admin/meter`), behind the admin key, not a scrape's.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use hanko_store::http::metrics::prometheus_client::metrics::family::Family;
use hanko_store::http::metrics::prometheus_client::metrics::gauge::Gauge;
use hanko_store::http::metrics::prometheus_client::registry::Unit;
use hanko_store::http::metrics::{Counters, Metrics};

use crate::error::PlatformError;
use crate::tenants::AdminCaller;
use crate::verify::ResultCode;
use crate::{CrlRefresh, MonitoringReport, Platform};

/// A CRL held: its CA kind and generation (a handful, bounded by the trust anchors).
type CrlLabels = [(&'static str, String); 2];

/// The platform's metrics.
pub(crate) struct PlatformMetrics {
    pub(crate) metrics: Metrics,
    verifications: Counters<3>,
    crl_age: Family<CrlLabels, Gauge<f64, AtomicU64>>,
    crl_stale: Family<CrlLabels, Gauge>,
    crl_refreshes: Counters<1>,
    webhook_backlog: Family<[(&'static str, &'static str); 1], Gauge>,
    webhook_attempts: Counters<1>,
    monitoring_runs: Counters<1>,
}

impl Default for PlatformMetrics {
    fn default() -> PlatformMetrics {
        let verifications = Counters::<3>::default();
        let crl_age = Family::<CrlLabels, Gauge<f64, AtomicU64>>::default();
        let crl_stale = Family::<CrlLabels, Gauge>::default();
        let crl_refreshes = Counters::<1>::default();
        let webhook_backlog = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        let webhook_attempts = Counters::<1>::default();
        let monitoring_runs = Counters::<1>::default();
        let metrics = Metrics::new("platform", |r| {
            r.register(
                "platform_verifications",
                "Verifications answered, by kind (signature, cms, pdf, jwe, authentication), result (OK, \
                 SIGNATURE_MISMATCH, CERTIFICATE_REVOKED, CERTIFICATE_EXPIRED, UNSUPPORTED_CERTIFICATE) and \
                 check_method (crl, ocsp)",
                verifications.clone(),
            );
            r.register_with_unit(
                "platform_crl_age",
                "Seconds since the thisUpdate of each CRL held, by CA kind and generation (at scrape time)",
                Unit::Seconds,
                crl_age.clone(),
            );
            r.register(
                "platform_crl_stale",
                "1 when the CRL held is past its nextUpdate (verifications by CRL of that generation answer 503)",
                crl_stale.clone(),
            );
            r.register(
                "platform_crl_refreshes",
                "CRL refresh passes, by outcome (ok; partial: a CRL failed to download or was refused; failed: \
                 the authority's list could not be read)",
                crl_refreshes.clone(),
            );
            r.register(
                "platform_webhook_backlog",
                "Webhook events not delivered, by state (pending: to be tried again; failed: given up, waiting \
                 for a retry by the SP), at scrape time; events of SPs without an endpoint are not counted",
                webhook_backlog.clone(),
            );
            r.register(
                "platform_webhook_attempts",
                "Webhook delivery attempts, by outcome (delivered, failed; gave_up: the last attempt failed)",
                webhook_attempts.clone(),
            );
            r.register(
                "platform_monitoring_runs",
                "Monitoring runs (現況確認), by outcome (ok, errors: finished with some errors, failed)",
                monitoring_runs.clone(),
            );
        });
        PlatformMetrics {
            metrics,
            verifications,
            crl_age,
            crl_stale,
            crl_refreshes,
            webhook_backlog,
            webhook_attempts,
            monitoring_runs,
        }
    }
}

impl PlatformMetrics {
    /// One verification answered.
    pub(crate) fn verification(&self, kind: &'static str, result: ResultCode, check_method: &'static str) {
        self.verifications
            .get_or_create(&[("kind", kind), ("result", result.as_str()), ("check_method", check_method)])
            .inc();
    }

    /// One CRL refresh pass.
    pub(crate) fn crl_refresh(&self, result: &Result<CrlRefresh, PlatformError>) {
        let outcome = match result {
            Ok(r) if r.failed == 0 && r.refused == 0 => "ok",
            Ok(_) => "partial",
            Err(_) => "failed",
        };
        self.crl_refreshes.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// One webhook delivery attempt.
    pub(crate) fn webhook_attempt(&self, outcome: &'static str) {
        self.webhook_attempts.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// One monitoring run.
    pub(crate) fn monitoring_run(&self, result: &Result<MonitoringReport, PlatformError>) {
        let outcome = match result {
            Ok(r) if r.errors.is_empty() => "ok",
            Ok(_) => "errors",
            Err(_) => "failed",
        };
        self.monitoring_runs.get_or_create(&[("outcome", outcome)]).inc();
    }
}

impl Platform {
    /// Sets the gauges computed at scrape time (the CRLs' ages, the webhook backlog) and
    /// encodes every metric.
    pub(crate) async fn render_metrics(&self) -> Response {
        let m = &self.metrics;
        m.crl_age.clear();
        m.crl_stale.clear();
        for c in self.crl_status() {
            let Some(kind) = ["signature", "auth"].into_iter().find(|k| *k == c.kind) else { continue };
            let labels = [("kind", kind.to_owned()), ("generation", c.generation.clone())];
            m.crl_age.get_or_create(&labels).set(c.age_seconds as f64);
            m.crl_stale.get_or_create(&labels).set(i64::from(c.stale));
        }
        match self.store.webhook_backlog().await {
            Ok((pending, failed)) => {
                m.webhook_backlog.get_or_create(&[("state", "pending")]).set(pending);
                m.webhook_backlog.get_or_create(&[("state", "failed")]).set(failed);
            }
            Err(e) => tracing::warn!(error = %e, "counting the webhook backlog for /metrics failed"),
        }
        m.metrics.render()
    }
}

/// `GET /metrics`: the admin key, unless `Config::metrics_public`.
pub(crate) async fn get_metrics(
    State(platform): State<Arc<Platform>>,
    mut parts: Parts,
) -> Result<Response, PlatformError> {
    if !platform.config.metrics_public {
        AdminCaller::from_request_parts(&mut parts, &platform).await?;
    }
    Ok(platform.render_metrics().await)
}
