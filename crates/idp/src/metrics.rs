//! The provider's Prometheus metrics at `GET /metrics` (docs/idp.md, "Metrics and health"): the
//! HTTP metrics every service has (`hanko_store::http::metrics`) and the provider's own. No
//! label names a client, a user or a request: per-client counts are business data.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use hanko_store::http::metrics::prometheus_client::metrics::counter::Counter;
use hanko_store::http::metrics::{Counters, Metrics};

use crate::admin::AdminCaller;
use crate::error::IdpError;
use crate::store::FlowRecord;
use crate::Idp;

/// The provider's metrics.
pub(crate) struct IdpMetrics {
    pub(crate) metrics: Metrics,
    logins: Counters<1>,
    sign_transactions: Counters<1>,
    sign_transactions_started: Counter,
}

impl Default for IdpMetrics {
    fn default() -> IdpMetrics {
        let logins = Counters::<1>::default();
        let sign_transactions = Counters::<1>::default();
        let sign_transactions_started = Counter::default();
        let metrics = Metrics::new("idp", |r| {
            r.register(
                "idp_logins",
                "Logins answered in the app or the wallet, by outcome (approved; failed: the card or the \
                 certificate was refused; denied: the user cancelled)",
                logins.clone(),
            );
            r.register(
                "idp_sign_transactions",
                "Sign transactions answered in the app or the wallet, by outcome (approved, failed, denied)",
                sign_transactions.clone(),
            );
            r.register(
                "idp_sign_transactions_started",
                "Sign transactions started by clients (POST /api/sign-transactions)",
                sign_transactions_started.clone(),
            );
        });
        IdpMetrics { metrics, logins, sign_transactions, sign_transactions_started }
    }
}

impl IdpMetrics {
    /// A login or sign flow ended with `outcome` (`approved`, `failed`, `denied`).
    pub(crate) fn flow_ended(&self, flow: &FlowRecord, outcome: &'static str) {
        let family = if flow.request.sign_transaction_id.is_some() { &self.sign_transactions } else { &self.logins };
        family.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// A sign transaction started.
    pub(crate) fn sign_transaction_started(&self) {
        self.sign_transactions_started.inc();
    }
}

/// `GET /metrics`: the admin key, unless `Config::metrics_public`.
pub(crate) async fn get_metrics(State(idp): State<Arc<Idp>>, mut parts: Parts) -> Result<Response, IdpError> {
    if !idp.config.metrics_public {
        AdminCaller::from_request_parts(&mut parts, &idp).await?;
    }
    Ok(idp.metrics.metrics.render())
}
