//! One outbox event as the shim passes it around, and the query that reads a page of them.

use std::sync::Arc;

use tokio_postgres::{Client, Row, Statement};

/// Reads a page of events after `$1` (at most `$2`), oldest first, of the building `$3` (an
/// id; NULL: every building), read in SQL so that a subscriber to one quiet building does not
/// scan every other building's events a page at a time. `arxos.events_since`
/// sequences committed pending events first, folding the rating deltas lazily (the listener
/// polls every 5 ms while writes flow; see `arxos.fold_ratings`); row-level security
/// limits the page to what the session may see.
pub const PAGE_SQL: &str = "SELECT e.id, e.type, e.building_id::text, e.path,
       arxos.event_object_type(e), arxos.event_json(e)::text,
       arxos.event_other_path(e), arxos.event_old_type(e)
  FROM arxos.events_since($1, max => $2, building => $3::text, lazy_fold => true) e";

/// Like [`PAGE_SQL`], of the events sequenced so far only: what a stream replays. A position
/// below the purge horizon is AX026 (`arxos.check_resume`), so a stream that falls behind a
/// purge ends rather than skip what was purged; its client's reconnect is then answered 410. A stream's
/// transaction runs while its client reads, and one whose client stopped reading could stay
/// open; it must not hold the sequencer's lock (which `events_since` takes to sequence), or
/// event numbering would stop for every shim. The listener sequences.
///
/// A page also stops at `$4` bytes of event JSON (`sse::REPLAY_PAGE_BYTES`): it holds the
/// events that start below that many bytes, so at least one, whatever its size.
pub const REPLAY_SQL: &str = "SELECT p.id, p.type, p.building_id, p.path, p.object_type, p.json,
       p.other_path, p.old_type
  FROM (SELECT q.*, sum(octet_length(q.json)) OVER (ORDER BY q.id) - octet_length(q.json) AS before
          FROM (SELECT e.id, e.type, e.building_id::text, e.path,
                       arxos.event_object_type(e) AS object_type, arxos.event_json(e)::text AS json,
                       arxos.event_other_path(e) AS other_path, arxos.event_old_type(e) AS old_type
                  FROM arxos.events e WHERE arxos.check_resume($1::int8) AND e.id > $1::int8
                   AND ($3::text IS NULL OR e.building_id = $3::text::uuid)
                 ORDER BY e.id LIMIT $2::int4) q) p
 WHERE p.before < $4::int4
 ORDER BY p.id";

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

/// The events after `after`, at most `max` (1 to 100,000), oldest first, of one building or
/// all; `statement` is [`PAGE_SQL`] (`max_bytes` None) or [`REPLAY_SQL`] (`max_bytes` its
/// byte bound) prepared on `client`.
pub async fn page(
    client: &Client,
    statement: &Statement,
    after: i64,
    max: i32,
    building: Option<&str>,
    max_bytes: Option<i32>,
) -> Result<Vec<Arc<Event>>, tokio_postgres::Error> {
    let rows = match max_bytes {
        None => client.query(statement, &[&after, &max, &building]).await?,
        Some(bytes) => {
            client
                .query(statement, &[&after, &max, &building, &bytes])
                .await?
        }
    };
    rows.iter()
        .map(|row| Event::from_row(row).map(Arc::new))
        .collect()
}
