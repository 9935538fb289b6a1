//! Prometheus metrics: requests and latency by route and status (middleware here), pool usage
//! (read at scrape time), and the counters other parts increment (rating recomputes, events
//! delivered, webhook deliveries).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the process-wide recorder; `None` when one is installed already.
pub fn install() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".to_owned()),
            LATENCY_BUCKETS,
        )
        .ok()?
        .install_recorder()
        .ok()?;
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by method, route and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method, route and status"
    );
    for name in [
        "arxos_rating_recomputes_total",
        "arxos_events_delivered_total",
        "arxos_webhook_deliveries_total",
    ] {
        metrics::counter!(name).absolute(0);
    }
    Some(handle)
}

/// Counts and times every request under its route template (`/api/buildings/{b}`, never the
/// concrete path, so the label set stays small).
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
