//! The bank's Prometheus metrics at `GET /metrics` (docs/bank.md): the HTTP metrics every service
//! has (`hanko_store::http::metrics`) and the bank's own. No label names a customer, an account
//! or an event: the kinds and outcomes are closed sets.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use hanko_store::http::metrics::{Counters, Metrics};

use crate::error::BankError;
use crate::Bank;

/// The bank's metrics.
pub(crate) struct BankMetrics {
    pub(crate) metrics: Metrics,
    flows: Counters<2>,
    webhooks: Counters<1>,
}

impl Default for BankMetrics {
    fn default() -> BankMetrics {
        let flows = Counters::<2>::default();
        let webhooks = Counters::<1>::default();
        let metrics = Metrics::new("bank", |r| {
            r.register(
                "bank_flows",
                "Trips through the authentication app that came back, by step (login, open, apply, recover, age, \
                 contract, consent) and outcome (completed; refused: the bank or the platform said no; cancelled; \
                 failed: an error)",
                flows.clone(),
            );
            r.register("bank_webhook_events", "Webhook events received from the platform, by type", webhooks.clone());
        });
        BankMetrics { metrics, flows, webhooks }
    }
}

/// A flow kind as a label (a closed set).
fn kind_label(kind: &str) -> &'static str {
    ["login", "open", "apply", "recover", "age", "contract", "consent"]
        .into_iter()
        .find(|k| *k == kind)
        .unwrap_or("other")
}

impl BankMetrics {
    /// A flow of `kind` came back with `outcome` (`completed`, `refused`, `cancelled`, `failed`).
    pub(crate) fn flow(&self, kind: &str, outcome: &'static str) {
        self.flows.get_or_create(&[("step", kind_label(kind)), ("outcome", outcome)]).inc();
    }

    /// A webhook event of `kind` was received (stored or a redelivery).
    pub(crate) fn webhook(&self, kind: &str) {
        let kind = [
            "facts_changed",
            "death_or_emigration",
            "affiliation_changed",
            "renewed",
            "lost",
            "no_longer_used",
            "key_compromised",
            "revoked",
        ]
        .into_iter()
        .find(|k| *k == kind)
        .unwrap_or("other");
        self.webhooks.get_or_create(&[("type", kind)]).inc();
    }
}

/// The outcome label of a step's result.
pub(crate) fn outcome<T>(result: &Result<T, BankError>) -> &'static str {
    match result {
        Ok(_) => "completed",
        Err(BankError::Refused(_) | BankError::Forbidden(_) | BankError::Expired(_) | BankError::Invalid(_)) => {
            "refused"
        }
        Err(_) => "failed",
    }
}

/// `GET /metrics`: the staff key as a Bearer token, unless `Config::metrics_public`.
pub(crate) async fn get_metrics(State(bank): State<Arc<Bank>>, headers: HeaderMap) -> Result<Response, BankError> {
    if !bank.config.metrics_public {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::staff::is_staff_key(&bank, given)? {
            return Err(BankError::Forbidden(crate::Text::new(
                "メトリクスには行員キーが必要です。",
                "/metrics needs the staff key as a Bearer token.",
            )));
        }
    }
    Ok(bank.metrics.metrics.render())
}
