//! The counter's Prometheus metrics at `GET /metrics`: the HTTP metrics every service has
//! (`hanko_store::http::metrics`) and the checks by document and outcome. No label names a
//! person, a source or a check: the documents and outcomes are closed sets.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use hanko_documents::DocumentKind;
use hanko_store::http::metrics::{Counters, Metrics};

use crate::{Counter, CounterError};

/// The counter's metrics.
pub(crate) struct CounterMetrics {
    pub(crate) metrics: Metrics,
    started: Counters<1>,
    finished: Counters<2>,
}

impl Default for CounterMetrics {
    fn default() -> CounterMetrics {
        let started = Counters::<1>::default();
        let finished = Counters::<2>::default();
        let metrics = Metrics::new("counter", |r| {
            r.register("counter_checks_started", "Counter checks started, by document", started.clone());
            r.register(
                "counter_checks",
                "Counter checks ended, by document and outcome (passed: read, verified and recorded; read_unverified: read and recorded, but nothing on the \
                 document is signed by its issuer (an under-16 residence card); refused: \
                 the document did not verify; failed: a wrong access code, a transport or source error, a timeout; \
                 error: the record could not be kept)",
                finished.clone(),
            );
        });
        CounterMetrics { metrics, started, finished }
    }
}

impl CounterMetrics {
    pub(crate) fn started(&self, kind: DocumentKind) {
        self.started.get_or_create(&[("document", kind.as_str())]).inc();
    }

    pub(crate) fn finished(&self, kind: DocumentKind, outcome: &'static str) {
        self.finished.get_or_create(&[("document", kind.as_str()), ("outcome", outcome)]).inc();
    }
}

/// `GET /metrics`: the staff token as a Bearer token, unless `metrics_public`.
pub(crate) async fn get_metrics(
    State(counter): State<Arc<Counter>>,
    headers: HeaderMap,
) -> Result<Response, CounterError> {
    if !counter.config.metrics_public {
        crate::auth::check(&counter, &axum::http::Method::GET, &headers)?;
    }
    Ok(counter.metrics.metrics.render())
}
