//! Real-time delivery: the outbox listener, the fan-out hub, `GET /api/events` (SSE) and
//! `GET /api/events/recent`. See docs/realtime.md.

mod event;
mod filter;
mod hub;
mod listener;
mod outbox;
mod recent;
mod sse;
mod subscription;
mod tick;

use axum::routing::get;
use axum::Router;
use deadpool_postgres::Pool;
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::Config;

pub use hub::Hub;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(sse::stream))
        .route("/api/events/recent", get(recent::recent))
}

/// Starts the listener (on its own connection) publishing to `hub`, and the ticker.
pub fn spawn(config: Config, tls: MakeTlsConnector, hub: Hub, pool: Pool) {
    tokio::spawn(listener::run(config, tls, hub));
    tokio::spawn(tick::run(pool));
}
