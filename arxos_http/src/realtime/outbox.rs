//! Reading the outbox on a subscriber's behalf, as its key (row-level security keeps other
//! buildings' events out).

use std::sync::Arc;

use super::event::{self, Event};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// A page of events and what it was read under.
pub struct Page {
    pub events: Vec<Arc<Event>>,
    /// The buildings the key was allowed in the page's transaction (`None`: every building),
    /// which is what row-level security limited the page to.
    pub scope: Option<Vec<String>>,
    /// The outbox's head (`arxos.event_counter`) read just before the page: a page short of
    /// its bounds ([`event::page_is_short`]) holds every event it could up to there.
    pub head: i64,
}

/// The head of the sequenced events.
const HEAD_SQL: &str = "SELECT last_id FROM arxos.event_counter";

/// Up to `max` events (and [`event::PAGE_BYTES`] of JSON) after `after` that `key` may see,
/// oldest first, read by `sql`:
/// [`event::PAGE_SQL`] sequences what is pending first (a request that ends at once),
/// [`event::REPLAY_SQL`] reads what is sequenced (a stream, whose transaction may wait on its
/// client).
///
/// A page read while the database counted a key change the shim had not applied yet
/// (`arxos.key_generation`, read after the page) may have been read under the key as it was
/// before: every remembered grant is forgotten and the page read again, under the key as it
/// is (found by a review: a remembered grant could read events committed after its key lost
/// a building, until the key's notice arrived).
pub async fn page(
    state: &AppState,
    key: &ApiKey,
    after: i64,
    max: i32,
    building: Option<&str>,
    sql: &'static str,
) -> Result<Page, ApiError> {
    for _ in 0..READS {
        // Read before the transaction: its grant, remembered or asked for, reflects at least
        // the key changes counted here.
        let applied = state.grants.key_changes();
        let building = building.map(str::to_owned);
        let (events, scope, counted, head) = state
            .tx(key, Scope::Read, None, |c| {
                Box::pin(async move {
                    let head = c.prepare_cached(HEAD_SQL).await?;
                    let statement = c.prepare_cached(sql).await?;
                    let scope = c.prepare_cached(super::subscription::SCOPE_SQL).await?;
                    // Sent together: the round trips of the head and the scope cost nothing of
                    // their own (found by a review). The head is read first, so every id up to
                    // it is visible to the page's later snapshot; the scope last, counting the
                    // key changes with a snapshot no older than the page's.
                    let (head, events, scope) = tokio::try_join!(
                        biased;
                        c.query_one(&head, &[]),
                        event::page(c, &statement, after, max, building.as_deref()),
                        c.query_one(&scope, &[]),
                    )?;
                    Ok((
                        events,
                        super::subscription::buildings(scope.try_get(0)?),
                        scope.try_get::<_, i64>(1)?,
                        head.try_get::<_, i64>(0)?,
                    ))
                })
            })
            .await?;
        if applied < 0 && state.grants.key_changes() >= 0 {
            // The listener connected meanwhile: the transaction may have used a grant
            // remembered since, whose key changes this read did not compare.
            continue;
        }
        if applied < 0 || counted <= applied {
            return Ok(Page {
                events,
                scope,
                head,
            });
        }
        state.grants.caught_up(counted);
        // (a burst of key changes: give it a moment before the next read)
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Err(ApiError::unavailable(
        "API keys changed while the events were read; try again",
    ))
}

/// Reads of a page [`page`] makes at most while keys keep changing under it.
const READS: usize = 5;
