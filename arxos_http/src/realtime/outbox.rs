//! Reading the outbox on a subscriber's behalf, as its key (row-level security keeps other
//! buildings' events out).

use std::sync::Arc;

use super::event::{self, Event};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// Up to `max` events (and [`event::PAGE_BYTES`] of JSON) after `after` that `key` may see,
/// oldest first, read by `sql`:
/// [`event::PAGE_SQL`] sequences what is pending first (a request that ends at once),
/// [`event::REPLAY_SQL`] reads what is sequenced (a stream, whose transaction may wait on its
/// client). With them, the buildings the key was allowed in that transaction (`None`: every
/// building), which is what row-level security limited the page to.
pub async fn page(
    state: &AppState,
    key: &ApiKey,
    after: i64,
    max: i32,
    building: Option<&str>,
    sql: &'static str,
) -> Result<(Vec<Arc<Event>>, Option<Vec<String>>), ApiError> {
    let building = building.map(str::to_owned);
    state
        .tx(key, Scope::Read, None, |c| {
            Box::pin(async move {
                let statement = c.prepare_cached(sql).await?;
                let scope = c.prepare_cached(super::subscription::SCOPE_SQL).await?;
                // Sent together: the scope read costs no round trip of its own (found by a
                // review).
                let (events, scope) = tokio::try_join!(
                    event::page(c, &statement, after, max, building.as_deref()),
                    c.query_one(&scope, &[]),
                )?;
                Ok((events, super::subscription::buildings(scope.try_get(0)?)))
            })
        })
        .await
}
