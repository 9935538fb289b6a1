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
//! - a lane takes at most [`STATEMENTS`] statements in all, then ends when they are answered:
//!   the connection goes back through the pool's queue, where other keys and the server's own
//!   work wait their turn;
//! - when its last statement is answered, the lane ends and the connection goes back to the
//!   pool, still holding the identity (the next request of that identity reopens a lane on it);
//! - a request that goes away before its answer (the client left, the timeout fired) leaves
//!   its statement queued on the connection: the lane takes no more statements, and the
//!   connection is closed, not returned, when the lane ends (as for any request that did not
//!   finish, crate::tx).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::types::ToSql;

use crate::db::Conn;
use crate::error::ApiError;
use crate::grants::Grant;
use crate::tx::json_rows;

/// A lane that has answered nothing for this long takes no new statements.
const STALL: Duration = Duration::from_millis(20);
/// Statements a lane takes in all before it ends.
const STATEMENTS: u32 = 64;

/// What a lane runs on: a pooled connection (a stand-in in the unit tests).
pub trait Link {
    /// The connection is gone: nothing more can be sent on it.
    fn is_closed(&self) -> bool;
    /// Closes the connection instead of returning it to the pool.
    fn discard(self);
}

impl Link for Conn {
    fn is_closed(&self) -> bool {
        self.client().is_closed()
    }

    fn discard(self) {
        drop(deadpool::managed::Object::take(self));
    }
}

/// The open lanes of one pool.
pub struct Lanes<C = Conn> {
    /// Statements in flight per lane at most; 1 turns sharing off.
    depth: usize,
    /// [`STALL`]; the unit tests set it (a test thread can sleep longer than 20 ms).
    stall: Duration,
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
    /// Statements taken in all.
    taken: u32,
    /// When the lane opened or last answered a statement.
    progress: Instant,
    /// A statement's request went away before its answer: no more statements, and the
    /// connection is closed when the lane ends.
    abandoned: bool,
}

impl<C: Link> Lanes<C> {
    pub fn new(depth: usize) -> Lanes<C> {
        Lanes {
            depth: depth.max(1),
            stall: STALL,
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
                && l.taken < STATEMENTS
                && !l.abandoned
                && now.duration_since(l.progress) < self.stall
                && !l.conn.is_closed()
                && l.grant == *grant
        })?;
        lane.in_flight += 1;
        lane.taken += 1;
        let seat = Seat {
            lanes: self,
            id: lane.id,
            conn: Some(Arc::clone(&lane.conn)),
            answered: false,
        };
        drop(inner);
        metrics::counter!(crate::metrics::PIPELINED).increment(1);
        Some(seat)
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
            taken: 1,
            progress: Instant::now(),
            abandoned: false,
        });
        Seat {
            lanes: self,
            id,
            conn: Some(conn),
            answered: false,
        }
    }

    /// Connections carrying statements of more than one request now.
    pub fn shared_now(&self) -> usize {
        self.lock().lanes.iter().filter(|l| l.in_flight > 1).count()
    }

    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (
            inner.lanes.len(),
            inner.lanes.iter().map(|l| l.in_flight).sum(),
        )
    }

    /// A statement of `id` was answered, or its request went away before the answer. Answers
    /// whether the lane ended abandoned: then its connection must be closed.
    fn leave(&self, id: u64, answered: bool) -> bool {
        let mut inner = self.lock();
        let Some(at) = inner.lanes.iter().position(|l| l.id == id) else {
            return false;
        };
        let lane = &mut inner.lanes[at];
        lane.in_flight -= 1;
        if answered {
            lane.progress = Instant::now();
        } else {
            lane.abandoned = true;
        }
        if lane.in_flight > 0 {
            return false;
        }
        let ended = inner.lanes.swap_remove(at);
        drop(inner);
        // The lane's own reference goes here, outside the lock; the last seat's goes after.
        ended.abandoned
    }
}

/// One request's statement on a lane.
pub struct Seat<'a, C: Link = Conn> {
    lanes: &'a Lanes<C>,
    id: u64,
    /// Taken in `drop`.
    conn: Option<Arc<C>>,
    /// The statement's answer (or error) arrived.
    answered: bool,
}

impl<C: Link> Seat<'_, C> {
    fn conn(&self) -> &C {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl Seat<'_> {
    /// Sends the statement alone and answers the first column of its rows as JSON. Cancelled
    /// half-way, the statement still runs to its end on the server, in autocommit
    /// (tokio-postgres reads and drops the answer), and the lane ends its connection.
    pub async fn rows(
        mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Value>, ApiError> {
        let result = json_rows(self.conn().client(), sql, params).await;
        self.answered = true;
        result
    }
}

impl<C: Link> Drop for Seat<'_, C> {
    fn drop(&mut self) {
        let abandoned = self.lanes.leave(self.id, self.answered);
        let conn = self.conn.take().expect("connection present until drop");
        if abandoned {
            // The lane has ended: this is the last reference.
            if let Ok(conn) = Arc::try_unwrap(conn) {
                conn.discard();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A connection that counts its returns to the pool and its closings.
    struct Fake {
        closed: AtomicBool,
        returned: Arc<AtomicUsize>,
        discarded: Arc<AtomicUsize>,
        discarding: bool,
    }

    impl Link for Fake {
        fn is_closed(&self) -> bool {
            self.closed.load(Ordering::Relaxed)
        }

        fn discard(mut self) {
            self.discarding = true;
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let counter = if self.discarding {
                &self.discarded
            } else {
                &self.returned
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    struct Counts {
        returned: Arc<AtomicUsize>,
        discarded: Arc<AtomicUsize>,
    }

    impl Counts {
        fn get(&self) -> (usize, usize) {
            (
                self.returned.load(Ordering::Relaxed),
                self.discarded.load(Ordering::Relaxed),
            )
        }
    }

    fn fake() -> (Fake, Counts) {
        let counts = Counts {
            returned: Arc::new(AtomicUsize::new(0)),
            discarded: Arc::new(AtomicUsize::new(0)),
        };
        let conn = Fake {
            closed: AtomicBool::new(false),
            returned: Arc::clone(&counts.returned),
            discarded: Arc::clone(&counts.discarded),
            discarding: false,
        };
        (conn, counts)
    }

    fn grant(owner: &str) -> Grant {
        Grant {
            owner: owner.to_owned(),
            key_id: format!("{owner}-key"),
            building_ids: String::new(),
        }
    }

    /// The seat's statement was answered.
    fn answered(mut seat: Seat<'_, Fake>) {
        seat.answered = true;
    }

    /// Lanes that never stall: a test thread may be descheduled for longer than [`STALL`].
    fn lanes(depth: usize) -> Lanes<Fake> {
        let mut lanes = Lanes::new(depth);
        lanes.stall = Duration::from_secs(60);
        lanes
    }

    #[test]
    fn requests_of_one_identity_share_a_lane_up_to_its_depth() {
        let lanes = lanes(3);
        let (conn, counts) = fake();
        let first = lanes.open(grant("ann"), conn);
        let second = lanes.join(&grant("ann")).expect("room on the lane");
        let third = lanes.join(&grant("ann")).expect("room on the lane");
        assert!(lanes.join(&grant("ann")).is_none(), "the lane is full");
        assert_eq!(lanes.usage(), (1, 3));
        assert_eq!(lanes.shared_now(), 1);
        answered(second);
        let fourth = lanes.join(&grant("ann")).expect("a seat came free");
        answered(first);
        answered(third);
        assert_eq!(lanes.shared_now(), 0, "one statement left");
        answered(fourth);
        assert_eq!(lanes.usage(), (0, 0));
        assert_eq!(counts.get(), (1, 0), "back to the pool once");
    }

    #[test]
    fn another_identity_never_joins() {
        let lanes = lanes(8);
        let (conn, _counts) = fake();
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
        let lanes = lanes(4);
        let (conn, counts) = fake();
        let first = lanes.open(grant("ann"), conn);
        let second = lanes.join(&grant("ann")).expect("room");
        answered(first);
        assert_eq!(counts.get(), (0, 0), "a statement still rides it");
        assert_eq!(lanes.usage(), (1, 1));
        answered(second);
        assert_eq!(counts.get(), (1, 0));
        assert!(lanes.join(&grant("ann")).is_none(), "the lane ended");
    }

    #[test]
    fn a_request_gone_before_its_answer_ends_the_lane_and_its_connection() {
        let lanes = lanes(8);
        let (conn, counts) = fake();
        let first = lanes.open(grant("ann"), conn);
        let second = lanes.join(&grant("ann")).expect("room");
        drop(first); // cancelled: its statement stays queued on the connection
        assert!(lanes.join(&grant("ann")).is_none(), "no more statements");
        answered(second);
        assert_eq!(counts.get(), (0, 1), "closed, not returned");
        assert_eq!(lanes.usage(), (0, 0));
    }

    #[test]
    fn a_lane_takes_a_bounded_number_of_statements() {
        let lanes = lanes(2);
        let (conn, counts) = fake();
        let mut held = lanes.open(grant("ann"), conn);
        for _ in 1..STATEMENTS {
            let next = lanes.join(&grant("ann")).expect("room");
            answered(std::mem::replace(&mut held, next));
        }
        assert!(lanes.join(&grant("ann")).is_none(), "took its share");
        answered(held);
        assert_eq!(counts.get(), (1, 0), "back through the pool's queue");
    }

    #[test]
    fn depth_one_shares_nothing() {
        let lanes = lanes(1);
        let (conn, counts) = fake();
        let seat = lanes.open(grant("ann"), conn);
        assert!(lanes.join(&grant("ann")).is_none());
        answered(seat);
        assert_eq!(counts.get(), (1, 0));
    }

    #[test]
    fn closed_and_stalled_lanes_take_no_one() {
        let lanes = lanes(8);
        let (conn, _counts) = fake();
        let seat = lanes.open(grant("ann"), conn);
        seat.conn().closed.store(true, Ordering::Relaxed);
        assert!(lanes.join(&grant("ann")).is_none(), "closed");
        seat.conn().closed.store(false, Ordering::Relaxed);
        answered(lanes.join(&grant("ann")).expect("open again"));
        // As if the last answer came longer ago than the stall.
        for lane in &mut lanes.lock().lanes {
            lane.progress = Instant::now()
                .checked_sub(lanes.stall)
                .expect("the clock has run a minute");
        }
        assert!(
            lanes.join(&grant("ann")).is_none(),
            "no answer for too long"
        );
    }
}
