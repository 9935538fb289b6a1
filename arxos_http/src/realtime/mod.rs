//! Real-time delivery: the outbox listener, the fan-out hub, `GET /api/events` (SSE) and
//! `GET /api/events/recent`. See docs/realtime.md.

pub(crate) mod event;
mod filter;
mod hub;
mod listener;
mod outbox;
pub(crate) mod recent;
pub(crate) mod sse;
pub(crate) mod streams;
mod subscription;
mod tick;

use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

use crate::db::Pool;
use postgres_native_tls::MakeTlsConnector;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::Config;

pub use hub::Hub;

use crate::grants::Grants;
use crate::state::AppState;

/// The event stream's route (as written in [`router`], where openapi.rs's test reads the
/// routes from the source).
pub const STREAM_PATH: &str = "/api/events";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(sse::stream))
        .route("/api/events/recent", get(recent::recent))
}

/// The running listener, stopped at shutdown so writers stop waking it at once.
pub struct Listener {
    id: uuid::Uuid,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts the listener (on its own connection) publishing to `hub`, and the minute tick
/// unless `ticker` is false (`--no-ticker`). The listener also keeps `grants` honest: it
/// forgets a key's grants when the key is revoked.
pub fn spawn(
    config: Config,
    tls: MakeTlsConnector,
    hub: Hub,
    grants: Arc<Grants>,
    pool: Pool,
    ticker: bool,
) -> Listener {
    let id = uuid::Uuid::new_v4();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(listener::run(id, config, tls, hub, grants, stopped));
    if ticker {
        tokio::spawn(tick::run(pool.clone()));
    } else {
        tracing::info!("minute ticker off in this shim (--no-ticker)");
    }
    Listener { id, stop, task }
}

impl Listener {
    /// Stops the listener, which removes its own registration (`arxos.listener_leave`). If it
    /// does not finish in time the registration is removed through `pool` instead; failing
    /// that it expires by itself within 30 s.
    pub async fn stop(self, pool: &Pool) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_ok()
        {
            return;
        }
        task.abort();
        let _ = task.await;
        let left = tokio::time::timeout(Duration::from_secs(2), async {
            let client = pool.get().await.ok()?;
            client
                .execute(
                    "SELECT arxos.listener_leave($1::text::uuid)",
                    &[&self.id.to_string()],
                )
                .await
                .ok()
        })
        .await;
        if !matches!(left, Ok(Some(_))) {
            tracing::warn!("could not unregister the event listener; it expires within 30 s");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stream_path_is_the_stream_route() {
        let route = format!(".route(\"{}\", get(sse::stream))", super::STREAM_PATH);
        assert!(include_str!("mod.rs").contains(&route), "{route}");
    }
}
