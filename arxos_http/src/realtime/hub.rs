//! The fan-out of live events: the listener publishes every event it reads, in id order, and
//! each subscriber (an SSE stream, the webhook worker) reads them from a bounded ring. A
//! subscriber that falls more than the ring's capacity behind is told so (it lagged) and
//! reads from the outbox instead; nothing is ever dropped silently. The ring is bounded in
//! bytes too: past [`RING_BYTES`] of JSON among its events, an event goes in without its JSON
//! ([`Event::without_json`]), and a subscriber it concerns reads it from the outbox.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, Notify};

use super::event::Event;

/// Events kept for live subscribers. A slower subscriber catches up from the outbox.
pub const RING_CAPACITY: usize = 8192;

/// Bytes of events' JSON the ring may hold for subscribers that have not read them. A
/// subscriber that stops reading keeps every event it has not read, so the ring must be
/// bounded in bytes, not only in events (found by a review: a slow reader of 400 KB events
/// held 1.9 GB, 8,192 of them).
pub const RING_BYTES: usize = 64 << 20;

/// The ring's events that some subscriber has not read yet (the ring drops an event once
/// every subscriber has read it, or once it is overwritten), with their JSON bytes, oldest
/// first.
#[derive(Default)]
struct Window {
    held: VecDeque<(Weak<Event>, usize)>,
    total: usize,
}

impl Window {
    /// The event as the ring takes it: whole while the JSON held stays within [`RING_BYTES`],
    /// else without its JSON.
    fn admit(&mut self, event: Arc<Event>) -> Arc<Event> {
        // Subscribers read in order: the events they have all read leave from the front.
        while let Some((held, bytes)) = self.held.front() {
            if held.strong_count() > 0 && self.held.len() < RING_CAPACITY {
                break;
            }
            self.total -= bytes;
            self.held.pop_front();
        }
        let size = event.json.len();
        if self.total + size > RING_BYTES {
            // (one left behind, in a stream's hands, may hide others that left: counted again)
            self.held.retain(|(held, _)| held.strong_count() > 0);
            self.total = self.held.iter().map(|(_, bytes)| bytes).sum();
        }
        let event = if self.total + size > RING_BYTES {
            Arc::new(event.without_json())
        } else {
            event
        };
        if !event.json.is_empty() {
            self.held
                .push_back((Arc::downgrade(&event), event.json.len()));
            self.total += event.json.len();
        }
        event
    }
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<Arc<Event>>,
    /// What the ring holds ([`RING_BYTES`]); only the listener publishes.
    window: Mutex<Window>,
    /// Woken whenever events were published.
    published: Notify,
    /// The listener has found where it starts: every event after that point will be
    /// published. Before, a subscriber cannot know where the hub's events will begin.
    live: AtomicBool,
    /// The server is shutting down: streams end (with their position and a retry hint).
    closing: AtomicBool,
    /// How many times the listener found events it had not read yet purged, and went on after
    /// them ([`Hub::mark_gap`]).
    gaps: AtomicU64,
    closed: Notify,
    /// Whether the listener has a session now, and since when ([`Hub::listener`]).
    listener: Mutex<(bool, Instant)>,
    /// When the hub was made: what `last_read_ms` counts from.
    base: Instant,
    /// When the listener last read the outbox, in milliseconds after `base` (`u64::MAX`:
    /// never).
    last_read_ms: AtomicU64,
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
                window: Mutex::default(),
                published: Notify::new(),
                live: AtomicBool::new(false),
                closing: AtomicBool::new(false),
                gaps: AtomicU64::new(0),
                closed: Notify::new(),
                listener: Mutex::new((false, Instant::now())),
                base: Instant::now(),
                last_read_ms: AtomicU64::new(u64::MAX),
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
        let mut window = self.inner.window.lock().unwrap_or_else(|e| e.into_inner());
        for event in events {
            // No subscriber is not an error.
            let _ = self.inner.sender.send(window.admit(event));
        }
        drop(window);
        self.inner.published.notify_waiters();
    }

    /// Called by the listener once it knows the id it publishes after (its first start reads
    /// the outbox's head): from then on the hub misses nothing.
    pub fn mark_live(&self) {
        self.inner.live.store(true, Ordering::Release);
    }

    /// Called by the listener when its session is set up (`true`) and when it ends (`false`).
    pub fn set_listener_connected(&self, connected: bool) {
        let mut state = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if state.0 != connected {
            *state = (connected, Instant::now());
        }
    }

    /// Whether the listener has a session, and for how long that has been so (since the
    /// server started, before its first session).
    pub fn listener(&self) -> (bool, Duration) {
        let state = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (state.0, state.1.elapsed())
    }

    /// Called by the listener after each read of the outbox that worked (at least every
    /// second while its session works, events or not).
    pub fn listener_read(&self) {
        let ms = self.inner.base.elapsed().as_millis() as u64;
        self.inner.last_read_ms.store(ms, Ordering::Release);
    }

    /// How long since the listener last read the outbox (`None`: it never has). A session
    /// that is set up and then fails at its first read, again and again, reads nothing: this
    /// grows while [`Hub::listener`] flaps.
    pub fn listener_last_read(&self) -> Option<Duration> {
        match self.inner.last_read_ms.load(Ordering::Acquire) {
            u64::MAX => None,
            ms => Some(
                self.inner
                    .base
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms)),
            ),
        }
    }

    /// How long the listener has gone without reading the outbox: since its last read, or
    /// since the server started.
    pub fn listener_quiet_for(&self) -> Duration {
        self.listener_last_read()
            .unwrap_or_else(|| self.inner.base.elapsed())
    }

    /// Whether a subscriber that has read the outbox from now on can switch to the hub
    /// without a gap ([`Hub::mark_live`]).
    pub fn is_live(&self) -> bool {
        self.inner.live.load(Ordering::Acquire)
    }

    /// Called by the listener when events it had not read yet were purged (a DELETE or a short
    /// purge horizon): it goes on after them, and the hub's events have a gap. A stream that
    /// sees the count move reads from the outbox again, where a position below the purge is
    /// refused (it ends, and its client's reconnect is answered 410), instead of following
    /// the hub past the gap without a word.
    pub fn mark_gap(&self) {
        self.inner.gaps.fetch_add(1, Ordering::AcqRel);
    }

    /// How many gaps the hub's events have had ([`Hub::mark_gap`]).
    pub fn gaps(&self) -> u64 {
        self.inner.gaps.load(Ordering::Acquire)
    }

    /// Tells the subscribers that the server is shutting down ([`Hub::closing`]).
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
        self.inner.closed.notify_waiters();
    }

    /// Whether [`Hub::close`] was called.
    pub fn is_closing(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }

    /// Resolves once the server shuts down (at once if it already does).
    pub async fn closing(&self) {
        loop {
            let closed = self.inner.closed.notified();
            tokio::pin!(closed);
            // Registered before the flag is read: a close in between still wakes it.
            closed.as_mut().enable();
            if self.is_closing() {
                return;
            }
            closed.await;
        }
    }

    /// Resolves after the next publication.
    pub async fn published(&self) {
        self.inner.published.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, bytes: usize) -> Arc<Event> {
        Arc::new(Event {
            id,
            event_type: "object.updated".into(),
            building_id: Some("b".into()),
            path: Some("/a".into()),
            object_type: Some("sensor".into()),
            json: "x".repeat(bytes),
            other_path: None,
            old_type: None,
            counted: bytes as i64 + 512,
            left_out: false,
        })
    }

    /// The ring holds at most RING_BYTES of JSON that subscribers have not read, whatever
    /// the events' sizes: past that, events go in without their JSON (and keep the filters'
    /// fields), and whole again once read (found by a review: a slow reader held 8,192 events
    /// of 400 KB).
    #[test]
    fn the_ring_is_bounded_in_bytes() {
        let hub = Hub::new();
        let mut rx = hub.subscribe();
        let big = 1 << 20;
        let read = |rx: &mut broadcast::Receiver<Arc<Event>>| {
            let mut whole = Vec::new();
            while let Ok(got) = rx.try_recv() {
                assert_eq!(got.path.as_deref(), Some("/a"));
                assert_eq!(got.json.len(), if got.left_out { 0 } else { big });
                if !got.left_out {
                    whole.push(got.id);
                }
            }
            whole
        };
        // 100 events of 1 MiB that nobody reads yet: the first 64 whole, the rest left out
        hub.publish((1..=100).map(|id| event(id, big)).collect());
        assert_eq!(read(&mut rx), (1..=64).collect::<Vec<_>>());
        // read, they are no longer held: the next ones are whole again
        hub.publish((101..=110).map(|id| event(id, big)).collect());
        assert_eq!(read(&mut rx), (101..=110).collect::<Vec<_>>());
        // a reader that keeps up holds nothing, however much goes by
        for id in 111..=300 {
            hub.publish(vec![event(id, big)]);
            assert_eq!(read(&mut rx), [id]);
        }
        // (counted until the next event comes: at most the last one)
        assert!(hub.inner.window.lock().unwrap().total <= big);
        // one that keeps an event in hand holds it, and it counts
        hub.publish(vec![event(301, big)]);
        let in_hand = rx.try_recv().unwrap();
        hub.publish((302..=400).map(|id| event(id, big)).collect());
        assert_eq!(read(&mut rx).len(), RING_BYTES / big - 1);
        drop(in_hand);
        // no subscriber: nothing is held
        drop(rx);
        hub.publish((401..=500).map(|id| event(id, big)).collect());
        assert!(hub.inner.window.lock().unwrap().total <= big);
    }
}
