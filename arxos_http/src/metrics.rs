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
    metrics::describe_counter!(
        RATING_RECOMPUTES,
        "Rating recomputations asked for over the API"
    );
    metrics::describe_counter!(
        EVENTS_DELIVERED,
        "Events handed to clients, by transport (sse: the live stream, poll: /api/events/recent)"
    );
    metrics::describe_counter!(
        WRITE_TIMEOUTS,
        "Connections closed because their client took no bytes of an answer for the request timeout (a stalled event stream, most often)"
    );
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts by outcome (success: 2xx, gone: 410, failure: anything else)"
    );
    metrics::describe_counter!(
        PIPELINED,
        "API statements that joined a database connection already carrying one of the same key"
    );
    metrics::describe_gauge!(
        LISTENER_CONNECTED,
        "1 while the event listener has a working database session; 0 while it reconnects (SSE and webhooks get no new events meanwhile)"
    );
    metrics::describe_gauge!(
        LISTENER_QUIET,
        metrics::Unit::Seconds,
        "Seconds since the event listener last read the outbox (it reads at least every second while it works)"
    );
    for (name, help) in [
        (
            "arxos_db_pool_connections",
            "Open database connections of the pool",
        ),
        (
            "arxos_db_pool_idle",
            "Open database connections of the pool not in use",
        ),
        (
            "arxos_db_pool_max",
            "The pool's size (--pool-size for the API's; /api/query's has 4)",
        ),
        (
            "arxos_db_pool_waiting",
            "Requests waiting for a connection of the pool",
        ),
        (
            "arxos_db_pool_shared",
            "Connections of the pool carrying statements of more than one request now",
        ),
    ] {
        metrics::describe_gauge!(name, help);
    }
    // Every series exists from the start, so rates over them need no special case.
    metrics::counter!(RATING_RECOMPUTES).absolute(0);
    metrics::counter!(PIPELINED).absolute(0);
    metrics::counter!(WRITE_TIMEOUTS).absolute(0);
    for transport in [EventTransport::Sse, EventTransport::Poll] {
        metrics::counter!(EVENTS_DELIVERED, "transport" => transport.as_str()).absolute(0);
    }
    for outcome in [
        WebhookOutcome::Success,
        WebhookOutcome::Failure,
        WebhookOutcome::Gone,
    ] {
        metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome.as_str()).absolute(0);
    }
    Some(handle)
}

pub const RATING_RECOMPUTES: &str = "arxos_rating_recomputes_total";
pub const PIPELINED: &str = "arxos_db_pipelined_statements_total";
pub const EVENTS_DELIVERED: &str = "arxos_events_delivered_total";
pub const WRITE_TIMEOUTS: &str = "arxos_http_write_timeouts_total";
pub const WEBHOOK_DELIVERIES: &str = "arxos_webhook_deliveries_total";
pub const LISTENER_CONNECTED: &str = "arxos_event_listener_connected";
pub const LISTENER_QUIET: &str = "arxos_event_listener_quiet_seconds";

/// How events reach a client: the label of [`EVENTS_DELIVERED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTransport {
    /// `GET /api/events`.
    Sse,
    /// `GET /api/events/recent`.
    Poll,
}

impl EventTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            EventTransport::Sse => "sse",
            EventTransport::Poll => "poll",
        }
    }
}

/// Counts `n` events handed to a client.
pub fn events_delivered(transport: EventTransport, n: u64) {
    metrics::counter!(EVENTS_DELIVERED, "transport" => transport.as_str()).increment(n);
}

/// Counts a connection closed because its client took no bytes of an answer in time
/// (crate::write_timeout).
pub fn write_timed_out() {
    metrics::counter!(WRITE_TIMEOUTS).increment(1);
}

/// How a webhook delivery attempt ended: the label of [`WEBHOOK_DELIVERIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The endpoint answered 2xx.
    Success,
    /// 410 Gone: the webhook is disabled.
    Gone,
    /// Any other answer, a timeout, a refused or unreachable destination: retried.
    Failure,
}

impl WebhookOutcome {
    /// The outcome of an attempt answered with `status` (`None`: no answer).
    pub fn of(status: Option<u16>) -> WebhookOutcome {
        match status {
            Some(200..=299) => WebhookOutcome::Success,
            Some(410) => WebhookOutcome::Gone,
            _ => WebhookOutcome::Failure,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Success => "success",
            WebhookOutcome::Gone => "gone",
            WebhookOutcome::Failure => "failure",
        }
    }
}

/// Counts one finished webhook delivery attempt.
pub fn webhook_delivery(outcome: WebhookOutcome) {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome.as_str()).increment(1);
}

/// The method as a label: the standard ones by name, any other as `other` (a method is any
/// token a client sends, and each new label value is a new series kept for ever).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts and times every request under its route template (`/api/buildings/{b}`, never the
/// concrete path, so the label set stays small).
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for made_up in ["FOO23103", "BREW", "get"] {
            let method = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{made_up}");
        }
    }

    #[test]
    fn webhook_outcomes_follow_the_status() {
        assert_eq!(WebhookOutcome::of(Some(200)), WebhookOutcome::Success);
        assert_eq!(WebhookOutcome::of(Some(204)), WebhookOutcome::Success);
        assert_eq!(WebhookOutcome::of(Some(410)), WebhookOutcome::Gone);
        assert_eq!(WebhookOutcome::of(Some(500)), WebhookOutcome::Failure);
        assert_eq!(WebhookOutcome::of(Some(301)), WebhookOutcome::Failure);
        assert_eq!(WebhookOutcome::of(None), WebhookOutcome::Failure);
    }
}
