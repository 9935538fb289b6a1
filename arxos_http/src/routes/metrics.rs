//! `GET /metrics` in the Prometheus text format.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics_text))
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let Some(handle) = &state.metrics else {
        return ApiError::not_found("metrics are not enabled").into_response();
    };
    for (pool, name) in [
        (Some(&state.pool), "api"),
        (state.query_pool.as_ref(), "query"),
    ] {
        if let Some(pool) = pool {
            let status = pool.status();
            metrics::gauge!("arxos_db_pool_connections", "pool" => name).set(status.size as f64);
            metrics::gauge!("arxos_db_pool_idle", "pool" => name).set(status.available as f64);
            metrics::gauge!("arxos_db_pool_max", "pool" => name).set(status.max_size as f64);
            metrics::gauge!("arxos_db_pool_waiting", "pool" => name).set(status.waiting as f64);
            metrics::gauge!("arxos_db_pool_shared", "pool" => name)
                .set(pool.lanes().shared_now() as f64);
        }
    }
    let (connected, _) = state.hub.listener();
    metrics::gauge!(crate::metrics::LISTENER_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    metrics::gauge!(crate::metrics::LISTENER_QUIET)
        .set(state.hub.listener_quiet_for().as_secs_f64());
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
