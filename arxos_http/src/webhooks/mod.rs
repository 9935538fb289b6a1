//! Webhooks: management routes, Standard Webhooks signing, the SSRF-safe client and the
//! durable delivery worker. See docs/realtime.md.

mod client;
mod config;
pub(crate) mod routes;
mod signing;
mod worker;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::db::Pool;

pub use config::WebhookArgs;
pub use routes::router;

use crate::realtime::Hub;

/// The running delivery worker.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts the delivery worker unless the configuration turns it off.
pub fn spawn(pool: Pool, hub: Hub, args: &WebhookArgs) -> Option<Worker> {
    if args.no_webhook_worker {
        tracing::info!("webhook worker off in this shim (--no-webhook-worker)");
        return None;
    }
    let (stop, stopping) = watch::channel(false);
    let task = tokio::spawn(worker::run(pool, hub, args.clone(), stopping));
    Some(Worker { stop, task })
}

impl Worker {
    /// Claims no more deliveries from now on; those in flight go on.
    pub fn stop_claiming(&self) {
        let _ = self.stop.send(true);
    }

    /// What aborts the worker, for a stop that cannot wait for [`Worker::stop`] (a second
    /// signal).
    pub fn abort_handle(&self) -> tokio::task::AbortHandle {
        self.task.abort_handle()
    }

    /// Stops claiming and waits until `deadline` for the deliveries in flight to finish and
    /// their outcomes to be recorded. What is still in flight then is abandoned: its lease
    /// expires and it is sent again, by this shim's successor or another replica.
    pub async fn stop(self, deadline: Instant) {
        self.stop_claiming();
        let mut task = self.task;
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            task.abort();
            tracing::warn!(
                "webhook deliveries still in flight at shutdown; their leases expire and they are sent again"
            );
        }
    }
}
