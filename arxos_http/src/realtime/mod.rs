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
/// Starts the listener and the minute tick; returns the listener's registration id, which the
/// server removes at shutdown (`arxos.listener_leave`) so writers stop waking it at once.
pub fn spawn(config: Config, tls: MakeTlsConnector, hub: Hub, pool: Pool) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    tokio::spawn(listener::run(id, config, tls, hub));
    tokio::spawn(tick::run(pool));
    id
}
