//! How many event streams each API key holds open (`--max-streams-per-key`). A stream holds no
//! database connection, but it holds a socket, a file descriptor and its share of the hub's
//! fan-out: without a cap, one key could open streams until the server runs out of
//! descriptors and refuses everyone's connections (found by a review).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use crate::auth::ApiKey;
use crate::error::{ApiError, ErrorCode};

/// The default of `--max-streams-per-key`.
pub const DEFAULT_MAX_PER_KEY: u32 = 20;

/// The open streams per key (a hash of it: the key is never held in clear).
pub struct Streams {
    max: usize,
    open: Mutex<HashMap<[u8; 32], usize>>,
}

/// One open stream of a key: released when dropped (the stream ended or its client left).
pub struct Seat {
    streams: Arc<Streams>,
    slot: [u8; 32],
}

impl Streams {
    /// At most `max` open streams per key; 0 for no limit.
    pub fn new(max: u32) -> Arc<Streams> {
        Arc::new(Streams {
            max: max as usize,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A seat for one more stream of `key`, or 429 when it has `max` open.
    pub fn take(self: &Arc<Self>, key: &ApiKey) -> Result<Seat, ApiError> {
        let slot = slot(key);
        let mut open = self.lock();
        let count = open.entry(slot).or_insert(0);
        if self.max > 0 && *count >= self.max {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "this API key has {} event streams open, the most it may have at once (--max-streams-per-key): close one before opening another",
                    self.max
                ),
            ));
        }
        *count += 1;
        Ok(Seat {
            streams: Arc::clone(self),
            slot,
        })
    }

    /// The streams `key` has open.
    #[cfg(test)]
    fn open(&self, key: &ApiKey) -> usize {
        self.lock().get(&slot(key)).copied().unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], usize>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A key's entry: a hash of it, so that the key is never held in clear.
fn slot(key: &ApiKey) -> [u8; 32] {
    Sha256::digest(key.0.as_bytes()).into()
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.streams.lock();
        if let Some(count) = open.get_mut(&self.slot) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_at_most_max_seats_and_gets_them_back() {
        let streams = Streams::new(2);
        let (a, b) = (ApiKey("arx_a".into()), ApiKey("arx_b".into()));
        let first = streams.take(&a).expect("first");
        let second = streams.take(&a).expect("second");
        let refused = streams.take(&a).err().expect("third refused");
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert!(
            refused.message.contains("2 event streams"),
            "{}",
            refused.message
        );
        let other = streams.take(&b).expect("another key has its own");
        drop(first);
        assert_eq!(streams.open(&a), 1);
        let again = streams.take(&a).expect("a seat came back");
        drop((second, again, other));
        assert_eq!(streams.open(&a), 0);
        assert!(
            streams.lock().is_empty(),
            "no entry is kept for keys without streams"
        );
    }

    #[test]
    fn zero_means_no_limit() {
        let streams = Streams::new(0);
        let key = ApiKey("arx_a".into());
        let seats: Vec<Seat> = (0..1000)
            .map(|_| streams.take(&key).expect("seat"))
            .collect();
        assert_eq!(streams.open(&key), 1000);
        drop(seats);
    }
}
