//! One outbox event as the shim passes it around, and the query that reads a page of them.

use std::sync::Arc;

use tokio_postgres::{Client, Row, Statement};

/// Bytes of event JSON per page, whoever reads it (the listener, a stream's replay,
/// `/api/events/recent`): a page holds the events that start below this many bytes, so at least
/// one whatever its size (found by an audit: 500 events of 200 KB held 100 MB per replaying
/// stream, 1000 made a 205 MB answer).
pub const PAGE_BYTES: i32 = 8 << 20;

/// A page query around `$events`, a query of `arxos.events` rows `e` after `$1` (at most `$2`,
/// of the building `$3`): each event's fields and JSON, oldest first, up to `$4` bytes of JSON
/// (the events that start below that many bytes: at least one).
macro_rules! page_sql {
    ($events:literal) => {
        concat!(
            "SELECT p.id, p.type, p.building_id, p.path, p.object_type, p.json, p.other_path, p.old_type
  FROM (SELECT q.*, sum(octet_length(q.json)) OVER (ORDER BY q.id) - octet_length(q.json) AS before
          FROM (SELECT e.id, e.type, e.building_id::text, e.path,
                       arxos.event_object_type(e) AS object_type, arxos.event_json(e)::text AS json,
                       arxos.event_other_path(e) AS other_path, arxos.event_old_type(e) AS old_type
                  ",
            $events,
            ") q) p
 WHERE p.before < $4::int4
 ORDER BY p.id"
        )
    };
}

/// Reads a page of events after `$1` (at most `$2`, and at most `$4` bytes of JSON: see
/// [`PAGE_BYTES`]), oldest first, of the building `$3` (an id; NULL: every building), read in
/// SQL so that a subscriber to one quiet building does not scan every other building's events
/// a page at a time. `arxos.events_since` sequences committed pending events first, folding
/// the rating deltas lazily (the listener polls every 5 ms while writes flow; see
/// `arxos.fold_ratings`); row-level security limits the page to what the session may see.
pub const PAGE_SQL: &str =
    page_sql!("FROM arxos.events_since($1, max => $2, building => $3::text, lazy_fold => true) e");

/// Like [`PAGE_SQL`], of the events sequenced so far only: what a stream replays. A position
/// below the purge horizon is AX026 (`arxos.check_resume`), so a stream that falls behind a
/// purge ends rather than skip what was purged; its client's reconnect is then answered 410. A stream's
/// transaction runs while its client reads, and one whose client stopped reading could stay
/// open; it must not hold the sequencer's lock (which `events_since` takes to sequence), or
/// event numbering would stop for every shim. The listener sequences.
pub const REPLAY_SQL: &str = page_sql!(
    "FROM arxos.events e WHERE arxos.check_resume($1::int8) AND e.id > $1::int8
                   AND ($3::text IS NULL OR e.building_id = $3::text::uuid)
                 ORDER BY e.id LIMIT $2::int4"
);

/// Whether a page of at most `max` events read by [`PAGE_SQL`] or [`REPLAY_SQL`] came back
/// short of both bounds: then it holds every event there was to read; a page cut by its
/// bytes (or full) does not.
pub fn page_is_short(page: &[Arc<Event>], max: i32) -> bool {
    let bytes: usize = page.iter().map(|e| e.json.len()).sum();
    (page.len() as i64) < i64::from(max) && bytes < PAGE_BYTES as usize
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
}

impl Event {
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
            json: "x".repeat(bytes),
            other_path: None,
            old_type: None,
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
