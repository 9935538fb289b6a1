//! Pooled connections shared by concurrent requests of one identity: pipelining.
//!
//! A one-statement route whose key's identity a pooled connection already holds sends its
//! statement alone (see crate::tx). Such statements need no connection of their own: a
//! connection that holds the identity becomes a *lane*, and other requests with exactly the
//! same identity that arrive while it is busy send their statements down the same connection
//! without waiting for the answers before theirs (tokio-postgres pipelines the requests of one
//! client). PostgreSQL reads several statements per wake-up and the shim writes and reads
//! several per system call, which is most of what a small statement costs (docs/security.md,
//! "Identities left on pooled connections", and bench/analysis.md section 6).
//!
//! What keeps it safe and fair:
//! - a lane carries only statements sent alone, in autocommit: each ends with its own Sync,
//!   so a statement that fails aborts nothing but itself, and none of them changes what the
//!   connection holds;
//! - a lane serves one identity (the key's grant, compared in full); a request of another
//!   identity never joins it;
//! - at most `depth` statements ride a lane at once, and a lane whose oldest statement has
//!   gone [`STALL`] without an answer takes no more (they would wait behind it);
//! - when its last statement is answered, the lane ends and the connection goes back to the
//!   pool, still holding the identity (the next request of that identity reopens a lane on it).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::types::ToSql;

use crate::db::Conn;
use crate::error::ApiError;
use crate::grants::Grant;
use crate::tx::{first_json, Client};

/// A lane that has answered nothing for this long takes no new statements.
const STALL: Duration = Duration::from_millis(20);

/// What a lane runs on: a pooled connection (a stand-in in the unit tests).
pub trait Link {
    /// The connection is gone: nothing more can be sent on it.
    fn is_closed(&self) -> bool;
}

impl Link for Conn {
    fn is_closed(&self) -> bool {
        self.client().is_closed()
    }
}

/// The open lanes of one pool.
pub struct Lanes<C = Conn> {
    /// Statements in flight per lane at most; 1 turns sharing off.
    depth: usize,
    inner: Mutex<Inner<C>>,
}

struct Inner<C> {
    next_id: u64,
    lanes: Vec<Lane<C>>,
}

struct Lane<C> {
    id: u64,
    grant: Grant,
    conn: Arc<C>,
    in_flight: usize,
    /// When the lane opened or last answered a statement.
    progress: Instant,
}

impl<C: Link> Lanes<C> {
    pub fn new(depth: usize) -> Lanes<C> {
        Lanes {
            depth: depth.max(1),
            inner: Mutex::new(Inner {
                next_id: 0,
                lanes: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<C>> {
        // The lock guards counters only; a panic elsewhere cannot leave them half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A seat on an open lane holding exactly `grant`, if one has room and is answering.
    pub fn join(&self, grant: &Grant) -> Option<Seat<'_, C>> {
        if self.depth == 1 {
            return None;
        }
        let now = Instant::now();
        let mut inner = self.lock();
        let lane = inner.lanes.iter_mut().find(|l| {
            l.in_flight < self.depth
                && now.duration_since(l.progress) < STALL
                && !l.conn.is_closed()
                && l.grant == *grant
        })?;
        lane.in_flight += 1;
        metrics::counter!("arxos_db_pipelined_statements_total").increment(1);
        Some(Seat {
            lanes: self,
            id: lane.id,
            conn: Arc::clone(&lane.conn),
        })
    }

    /// Opens a lane on a connection that holds exactly `grant`, with the caller seated.
    pub fn open(&self, grant: Grant, conn: C) -> Seat<'_, C> {
        let conn = Arc::new(conn);
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.lanes.push(Lane {
            id,
            grant,
            conn: Arc::clone(&conn),
            in_flight: 1,
            progress: Instant::now(),
        });
        Seat {
            lanes: self,
            id,
            conn,
        }
    }

    /// Lanes open now.
    pub fn open_lanes(&self) -> usize {
        self.lock().lanes.len()
    }

    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (
            inner.lanes.len(),
            inner.lanes.iter().map(|l| l.in_flight).sum(),
        )
    }

    /// A statement of `id` was answered (or given up): the lane ends with its last one.
    fn leave(&self, id: u64) {
        let ended = {
            let mut inner = self.lock();
            let Some(at) = inner.lanes.iter().position(|l| l.id == id) else {
                return;
            };
            let lane = &mut inner.lanes[at];
            lane.in_flight -= 1;
            lane.progress = Instant::now();
            (lane.in_flight == 0).then(|| inner.lanes.swap_remove(at))
        };
        // The connection goes back to the pool with the last seat's Arc, outside the lock.
        drop(ended);
    }
}

/// One request's statement on a lane.
pub struct Seat<'a, C: Link = Conn> {
    lanes: &'a Lanes<C>,
    id: u64,
    conn: Arc<C>,
}

impl Seat<'_> {
    pub fn client(&self) -> &Client {
        self.conn.client()
    }

    /// Sends the statement alone and answers the first column of its rows as JSON. Cancelled
    /// half-way, the statement still runs to its end on the server, in autocommit, and the
    /// connection stays usable: tokio-postgres reads and drops the answer.
    pub async fn rows(
        self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Value>, ApiError> {
        let client = self.client();
        let statement = client.prepare_cached(sql).await?;
        let rows = client.query(&statement, params).await?;
        rows.iter().map(first_json).collect()
    }
}

impl<C: Link> Drop for Seat<'_, C> {
    fn drop(&mut self) {
        self.lanes.leave(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A connection that counts its returns to the pool.
    struct Fake {
        closed: AtomicBool,
        returned: Arc<AtomicUsize>,
    }

    impl Link for Fake {
        fn is_closed(&self) -> bool {
            self.closed.load(Ordering::Relaxed)
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.returned.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn fake() -> (Fake, Arc<AtomicUsize>) {
        let returned = Arc::new(AtomicUsize::new(0));
        let conn = Fake {
            closed: AtomicBool::new(false),
            returned: Arc::clone(&returned),
        };
        (conn, returned)
    }

    fn grant(owner: &str) -> Grant {
        Grant {
            owner: owner.to_owned(),
            key_id: format!("{owner}-key"),
            building_ids: String::new(),
        }
    }

    #[test]
    fn requests_of_one_identity_share_a_lane_up_to_its_depth() {
        let lanes = Lanes::new(3);
        let (conn, returned) = fake();
        let first = lanes.open(grant("ann"), conn);
        let second = lanes.join(&grant("ann")).expect("room on the lane");
        let third = lanes.join(&grant("ann")).expect("room on the lane");
        assert!(lanes.join(&grant("ann")).is_none(), "the lane is full");
        assert_eq!(lanes.usage(), (1, 3));
        drop(second);
        let fourth = lanes.join(&grant("ann")).expect("a seat came free");
        drop((first, third, fourth));
        assert_eq!(lanes.usage(), (0, 0));
        assert_eq!(returned.load(Ordering::Relaxed), 1, "back to the pool once");
    }

    #[test]
    fn another_identity_never_joins() {
        let lanes = Lanes::new(8);
        let (conn, _) = fake();
        let _seat = lanes.open(grant("ann"), conn);
        assert!(lanes.join(&grant("bob")).is_none());
        let mut other_building = grant("ann");
        other_building.building_ids = "b1".to_owned();
        assert!(
            lanes.join(&other_building).is_none(),
            "grants compare in full"
        );
    }

    #[test]
    fn the_connection_returns_with_the_last_seat_not_before() {
        let lanes = Lanes::new(4);
        let (conn, returned) = fake();
        let first = lanes.open(grant("ann"), conn);
        let second = lanes.join(&grant("ann")).expect("room");
        drop(first);
        assert_eq!(
            returned.load(Ordering::Relaxed),
            0,
            "a statement still rides it"
        );
        assert_eq!(lanes.usage(), (1, 1));
        drop(second);
        assert_eq!(returned.load(Ordering::Relaxed), 1);
        assert!(lanes.join(&grant("ann")).is_none(), "the lane ended");
    }

    #[test]
    fn depth_one_shares_nothing() {
        let lanes = Lanes::new(1);
        let (conn, returned) = fake();
        let seat = lanes.open(grant("ann"), conn);
        assert!(lanes.join(&grant("ann")).is_none());
        drop(seat);
        assert_eq!(returned.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn closed_and_stalled_lanes_take_no_one() {
        let lanes = Lanes::new(8);
        let (conn, _) = fake();
        let seat = lanes.open(grant("ann"), conn);
        seat.conn.closed.store(true, Ordering::Relaxed);
        assert!(lanes.join(&grant("ann")).is_none(), "closed");
        seat.conn.closed.store(false, Ordering::Relaxed);
        assert!(lanes.join(&grant("ann")).is_some(), "open again");
        std::thread::sleep(STALL + Duration::from_millis(5));
        assert!(
            lanes.join(&grant("ann")).is_none(),
            "no answer for too long"
        );
    }
}
