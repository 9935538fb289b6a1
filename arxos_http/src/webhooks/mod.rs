//! Webhooks: management routes, Standard Webhooks signing, the SSRF-safe client and the
//! durable delivery worker. See docs/realtime.md.

mod client;
mod config;
pub(crate) mod routes;
mod signing;
mod worker;

use crate::db::Pool;

pub use config::WebhookArgs;
pub use routes::router;

use crate::realtime::Hub;

/// Starts the delivery worker unless the configuration turns it off.
pub fn spawn(pool: Pool, hub: Hub, args: &WebhookArgs) {
    if args.no_webhook_worker {
        tracing::info!("webhook worker off in this shim (--no-webhook-worker)");
        return;
    }
    tokio::spawn(worker::run(pool, hub, args.clone()));
}
