//! Prometheus metrics, shared by every service (feature `http`): one [`Metrics`] per service,
//! each with its **own registry** — services that run in one process (`hanko up`) each show
//! their own metrics only; there is no process-global recorder.
//!
//! - [`Metrics::new`] makes the registry (names prefixed `hanko_`, every series labelled
//!   `service`) with the HTTP metrics, and lets the service register its domain metrics.
//! - [`Metrics::measure`] wraps a router: every request is counted
//!   (`hanko_http_requests_total{method, route, status}`), timed
//!   (`hanko_http_request_duration_seconds{method, route, status_class}`) and traced (a
//!   `request` span with the method and route; a `response` event with the status and the
//!   latency — `debug`, or `warn` for a 5xx).
//! - [`Metrics::render`] answers `GET /metrics` in the Prometheus text format (0.0.4). Who may
//!   read it is the service's decision (its admin key unless the deployment opens it).
//!
//! **Labels are bounded by construction.** The route is axum's route *template*
//! (`/v1/counter/persons/{id}`, never the path that was asked for), a request no route matched
//! is `unmatched`, a method outside the standard ones is `OTHER`. A service's own labels are
//! values of a closed set (`&'static str`, see [`Counters`]): never a tenant, user, client or
//! certificate id — a per-customer count is business data whoever scrapes would read, and an
//! unbounded label is a memory leak.
//!
//! ```
//! # use hanko_store::http::metrics::{Counters, Metrics};
//! let verifications = Counters::<1>::default();
//! let metrics = Metrics::new("platform", |registry| {
//!     registry.register("platform_verifications", "Verifications by result", verifications.clone());
//! });
//! verifications.get_or_create(&[("result", "OK")]).inc();
//! let router: axum::Router = metrics.measure(axum::Router::new());
//! assert!(metrics.encode().contains("hanko_platform_verifications_total{service=\"platform\",result=\"OK\"} 1"));
//! ```

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tracing::Instrument as _;

pub use prometheus_client;

/// The request latency buckets, in seconds: 0.5 ms (an OCSP answer from the cache) to 10 s.
pub const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The route label of a request no route matched (a 404 of the fallback).
pub const UNMATCHED: &str = "unmatched";

/// A family of counters whose `N` labels take values of a closed set (`&'static str`): the
/// label names and values a service may use. A tenant or user id cannot be one.
pub type Counters<const N: usize> = Family<[(&'static str, &'static str); N], Counter>;

/// A family of gauges (`f64`) whose `N` labels take values of a closed set.
pub type Gauges<const N: usize> = Family<[(&'static str, &'static str); N], Gauge<f64, std::sync::atomic::AtomicU64>>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    method: &'static str,
    route: String,
    status_class: &'static str,
}

type LatencyFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

struct Inner {
    service: &'static str,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
}

/// One service's metrics: its registry, with the HTTP metrics. Cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("service", &self.0.service).finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// The metrics of `service` (`authority`, `platform`, `idp`, `bank`: the value of the
    /// `service` label of every series): the HTTP metrics and `hanko_build_info`, then whatever
    /// `register` adds. Names given to the registry get the `hanko_` prefix; a counter's name
    /// does not end in `_total` (the encoding adds it).
    pub fn new(service: &'static str, register: impl FnOnce(&mut Registry)) -> Metrics {
        let mut registry =
            Registry::with_prefix_and_labels("hanko", [(Cow::Borrowed("service"), Cow::Borrowed(service))].into_iter());
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            requests.clone(),
        );
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to the response head, by method, route template and status class",
            Unit::Seconds,
            latency.clone(),
        );
        let build = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        build.get_or_create(&[("version", env!("CARGO_PKG_VERSION"))]).set(1);
        registry.register("build_info", "The hanko version serving (always 1)", build);
        register(&mut registry);
        Metrics(Arc::new(Inner { service, registry, requests, latency }))
    }

    /// The `service` label.
    pub fn service(&self) -> &'static str {
        self.0.service
    }

    /// `router` with every request counted, timed and traced. Apply it last (after every
    /// `route`, `merge`, `fallback` and `with_state`): a route added after it is not measured.
    pub fn measure<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router.layer(axum::middleware::from_fn_with_state(self.clone(), track))
    }

    /// Counts one answered request (what [`Metrics::measure`] does for each).
    pub fn observe(&self, method: &'static str, route: &str, status: StatusCode, seconds: f64) {
        let route = route.to_owned();
        self.0.requests.get_or_create(&RequestLabels { method, route: route.clone(), status: status.as_u16() }).inc();
        self.0
            .latency
            .get_or_create(&LatencyLabels { method, route, status_class: status_class(status) })
            .observe(seconds);
    }

    /// Every metric in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.0.registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        out
    }

    /// The answer of `GET /metrics`: [`Metrics::encode`] as
    /// `text/plain; version=0.0.4`, not cached.
    pub fn render(&self) -> Response {
        let mut r = (StatusCode::OK, self.encode()).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus_client::encoding::prometheus_text::CONTENT_TYPE),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

/// The method as a label: the standard ones by name, any other `OTHER`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "OTHER",
    }
}

/// `2xx` … `5xx`.
pub fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(request.method());
    let route: Arc<str> = match request.extensions().get::<MatchedPath>() {
        Some(p) => Arc::from(p.as_str()),
        None => Arc::from(UNMATCHED),
    };
    // The template only: the path itself may carry ids (a person, a request capability).
    let span = tracing::info_span!("request", service = metrics.service(), method, route = %route);
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status();
    metrics.observe(method, &route, status, elapsed.as_secs_f64());
    // Milliseconds to the microsecond.
    let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(target: "hanko::http", status = status.as_u16(), latency_ms, "response");
        } else {
            tracing::debug!(target: "hanko::http", status = status.as_u16(), latency_ms, "response");
        }
    });
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt as _;

    use super::*;

    async fn call(router: &Router, method: &str, uri: &str) -> StatusCode {
        let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
        router.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn requests_are_counted_by_route_template_not_by_path() {
        let seen = Counters::<1>::default();
        let metrics = Metrics::new("test", |r| r.register("test_things", "Things", seen.clone()));
        let router = metrics.measure(
            Router::new()
                .route("/persons/{id}", get(|| async { "ok" }))
                .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
                .fallback(|| async { StatusCode::NOT_FOUND }),
        );
        assert_eq!(call(&router, "GET", "/persons/P123456").await, StatusCode::OK);
        assert_eq!(call(&router, "GET", "/persons/P999").await, StatusCode::OK);
        assert_eq!(call(&router, "POST", "/persons/P999").await, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(call(&router, "GET", "/nowhere/P777").await, StatusCode::NOT_FOUND);
        assert_eq!(call(&router, "GET", "/boom").await, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(call(&router, "BREW", "/persons/P1").await, StatusCode::METHOD_NOT_ALLOWED);
        seen.get_or_create(&[("kind", "a")]).inc();
        let text = metrics.encode();
        for line in [
            "# TYPE hanko_http_requests_total counter",
            r#"hanko_http_requests_total{service="test",method="GET",route="/persons/{id}",status="200"} 2"#,
            r#"hanko_http_requests_total{service="test",method="POST",route="/persons/{id}",status="405"} 1"#,
            r#"hanko_http_requests_total{service="test",method="GET",route="unmatched",status="404"} 1"#,
            r#"hanko_http_requests_total{service="test",method="GET",route="/boom",status="500"} 1"#,
            r#"hanko_http_requests_total{service="test",method="OTHER",route="/persons/{id}",status="405"} 1"#,
            "# TYPE hanko_http_request_duration_seconds histogram",
            r#"hanko_http_request_duration_seconds_count{service="test",method="GET",route="/persons/{id}",status_class="2xx"} 2"#,
            r#"hanko_http_request_duration_seconds_bucket{service="test",method="GET",route="/persons/{id}",status_class="2xx",le="+Inf"} 2"#,
            r#"hanko_build_info{service="test",version=""#,
            r#"hanko_test_things_total{service="test",kind="a"} 1"#,
        ] {
            assert!(text.contains(line), "{line} is not in\n{text}");
        }
        // No path (and so no id in it) ever becomes a label.
        for id in ["P123456", "P999", "P777", "/nowhere"] {
            assert!(!text.contains(id), "{id} leaked into\n{text}");
        }
    }

    #[tokio::test]
    async fn two_services_in_one_process_keep_their_own_metrics() {
        let a = Metrics::new("a", |_| {});
        let b = Metrics::new("b", |_| {});
        let ra = a.measure(Router::new().route("/x", get(|| async { "a" })));
        assert_eq!(call(&ra, "GET", "/x").await, StatusCode::OK);
        assert!(a
            .encode()
            .contains(r#"hanko_http_requests_total{service="a",method="GET",route="/x",status="200"} 1"#));
        assert!(!b.encode().contains("route=\"/x\""), "{}", b.encode());
    }

    #[tokio::test]
    async fn the_answer_is_prometheus_text_and_never_cached() {
        let metrics = Metrics::new("t", |_| {});
        let r = metrics.render();
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain; version=0.0.4; charset=utf-8");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }
}
