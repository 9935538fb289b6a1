//! The fan-out of live events: the listener publishes every event it reads, in id order, and
//! each subscriber (an SSE stream, the webhook worker) reads them from a bounded ring. A
//! subscriber that falls more than the ring's capacity behind is told so (it lagged) and
//! reads from the outbox instead; nothing is ever dropped silently.

use std::sync::Arc;

use tokio::sync::{broadcast, Notify};

use super::event::Event;

/// Events kept for live subscribers. A slower subscriber catches up from the outbox.
pub const RING_CAPACITY: usize = 8192;

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<Arc<Event>>,
    /// Woken whenever events were published.
    published: Notify,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let (sender, _) = broadcast::channel(RING_CAPACITY);
        Hub {
            inner: Arc::new(Inner {
                sender,
                published: Notify::new(),
            }),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.sender.subscribe()
    }

    /// Publishes a page of events (in id order) to every subscriber.
    pub fn publish(&self, events: Vec<Arc<Event>>) {
        if events.is_empty() {
            return;
        }
        for event in events {
            // No subscriber is not an error.
            let _ = self.inner.sender.send(event);
        }
        self.inner.published.notify_waiters();
    }

    /// Resolves after the next publication.
    pub async fn published(&self) {
        self.inner.published.notified().await
    }
}
