//! One outbox event as the shim passes it around, and the query that reads a page of them.

use std::sync::Arc;

use tokio_postgres::{Client, Row, Statement};

/// Bytes of events per page (their bodies' stored size uncompressed, about their JSON's),
/// whoever reads it (the listener, a stream's replay, `/api/events/recent`): a page holds the
/// events that start below this many bytes, so at least one whatever its size (found by an audit: 500 events of 200 KB held 100 MB per replaying
/// stream, 1000 made a 205 MB answer).
pub const PAGE_BYTES: i32 = 8 << 20;

/// A page query around `$events`, a query whose column `e` is an `arxos.events` row, after `$1`
/// (at most `$2`, of the building `$3`): each event's fields and JSON, oldest first, up to `$4`
/// bytes: the events that start below that many bytes (at least one), counted by the stored
/// size of their bodies uncompressed (`arxos.jsonb_raw_size`, read from the header) plus 512
/// for the other fields, so that no event's JSON is built before the page is cut (found by a
/// review: summing the JSON's own length built it three times for every event scanned, 2-4×
/// the page's time). Each `OFFSET 0` keeps a layer from being merged into the next: the size
/// is read once per event, and only the kept events' JSON is built (1000 small events: about
/// 12 ms against 9 ms for the unbounded page).
macro_rules! page_sql {
    ($events:literal) => {
        concat!(
            "SELECT (w.e).id, (w.e).type, (w.e).building_id::text, (w.e).path,
       arxos.event_object_type(w.e), arxos.event_json(w.e)::text,
       arxos.event_other_path(w.e), arxos.event_old_type(w.e), w.size
  FROM (SELECT s.e, s.size, sum(s.size) OVER (ORDER BY s.id) - s.size AS before
          FROM (SELECT x.e, (x.e).id AS id, arxos.jsonb_raw_size((x.e).body) + 512 AS size
                  FROM (",
            $events,
            ") x OFFSET 0) s OFFSET 0) w
 WHERE w.before < $4::int4
 ORDER BY (w.e).id"
        )
    };
}

/// Reads a page of events after `$1` (at most `$2`, and at most `$4` bytes of JSON: see
/// [`PAGE_BYTES`]), oldest first, of the building `$3` (an id; NULL: every building), read in
/// SQL so that a subscriber to one quiet building does not scan every other building's events
/// a page at a time. `arxos.events_since` sequences committed pending events first, folding
/// the rating deltas lazily (the listener polls every 5 ms while writes flow; see
/// `arxos.fold_ratings`); row-level security limits the page to what the session may see.
pub const PAGE_SQL: &str = page_sql!(
    "SELECT e FROM arxos.events_since($1, max => $2, building => $3::text, lazy_fold => true) e"
);

/// Like [`PAGE_SQL`], of the events sequenced so far only: what a stream replays. A position
/// below the purge horizon is AX026 (`arxos.check_resume`), so a stream that falls behind a
/// purge ends rather than skip what was purged; its client's reconnect is then answered 410. A stream's
/// transaction runs while its client reads, and one whose client stopped reading could stay
/// open; it must not hold the sequencer's lock (which `events_since` takes to sequence), or
/// event numbering would stop for every shim. The listener sequences.
pub const REPLAY_SQL: &str = page_sql!(
    "SELECT e FROM arxos.events e WHERE arxos.check_resume($1::int8) AND e.id > $1::int8
                   AND ($3::text IS NULL OR e.building_id = $3::text::uuid)
                 ORDER BY e.id LIMIT $2::int4"
);

/// Whether a page of at most `max` events read by [`PAGE_SQL`] or [`REPLAY_SQL`] came back
/// short of both bounds: then it holds every event there was to read; a page cut by its
/// bytes (or full) does not.
pub fn page_is_short(page: &[Arc<Event>], max: i32) -> bool {
    let bytes: i64 = page.iter().map(|e| e.counted).sum();
    (page.len() as i64) < i64::from(max) && bytes < i64::from(PAGE_BYTES)
}

/// An event: the fields filters look at, and its JSON (`arxos.event_json`) as sent.
#[derive(Debug)]
pub struct Event {
    pub id: i64,
    pub event_type: String,
    pub building_id: Option<String>,
    pub path: Option<String>,
    pub object_type: Option<String>,
    pub json: String,
    /// `arxos.event_other_path`: where a moved object came from, a connection's target.
    pub other_path: Option<String>,
    /// `arxos.event_old_type`: the type an object had before the event changed it.
    pub old_type: Option<String>,
    /// The bytes its page counted for it ([`PAGE_BYTES`]), which [`page_is_short`] sums.
    pub counted: i64,
    /// Its JSON was left out of the hub's ring, whose bytes were spent ([`Event::without_json`]):
    /// a subscriber that wants it reads it from the outbox.
    pub left_out: bool,
}

impl Event {
    /// The event without its JSON, for the hub's ring when the ring's bytes are spent: the
    /// filters' fields stay, so that a subscriber it does not concern skips it.
    pub fn without_json(&self) -> Event {
        Event {
            id: self.id,
            event_type: self.event_type.clone(),
            building_id: self.building_id.clone(),
            path: self.path.clone(),
            object_type: self.object_type.clone(),
            json: String::new(),
            other_path: self.other_path.clone(),
            old_type: self.old_type.clone(),
            counted: self.counted,
            left_out: true,
        }
    }

    fn from_row(row: &Row) -> Result<Event, tokio_postgres::Error> {
        Ok(Event {
            id: row.try_get(0)?,
            event_type: row.try_get(1)?,
            building_id: row.try_get(2)?,
            path: row.try_get(3)?,
            object_type: row.try_get(4)?,
            json: row.try_get(5)?,
            other_path: row.try_get(6)?,
            old_type: row.try_get(7)?,
            counted: row.try_get(8)?,
            left_out: false,
        })
    }
}

/// The events after `after`, at most `max` (1 to 100,000) and [`PAGE_BYTES`] of JSON, oldest
/// first, of one building or all; `statement` is [`PAGE_SQL`] or [`REPLAY_SQL`] prepared on
/// `client`.
pub async fn page(
    client: &Client,
    statement: &Statement,
    after: i64,
    max: i32,
    building: Option<&str>,
) -> Result<Vec<Arc<Event>>, tokio_postgres::Error> {
    let rows = client
        .query(statement, &[&after, &max, &building, &PAGE_BYTES])
        .await?;
    rows.iter()
        .map(|row| Event::from_row(row).map(Arc::new))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, bytes: usize) -> Arc<Event> {
        Arc::new(Event {
            id,
            event_type: "object.created".into(),
            building_id: None,
            path: None,
            object_type: None,
            json: String::new(),
            other_path: None,
            old_type: None,
            counted: bytes as i64,
            left_out: false,
        })
    }

    /// A page cut by its bytes is not the end of what there was to read (a recent poll's
    /// last_id would have skipped to the head past unread events).
    #[test]
    fn a_page_is_short_only_below_both_bounds() {
        assert!(page_is_short(&[], 10));
        assert!(page_is_short(&[event(1, 100), event(2, 100)], 10));
        assert!(!page_is_short(
            &(1..=10).map(|i| event(i, 1)).collect::<Vec<_>>(),
            10
        ));
        let big = PAGE_BYTES as usize;
        assert!(!page_is_short(&[event(1, big / 2), event(2, big / 2)], 10));
        assert!(!page_is_short(&[event(1, big + 1)], 10));
        assert!(page_is_short(&[event(1, big - 1)], 10));
    }
}
