//! Reading the outbox on a subscriber's behalf, as its key (row-level security keeps other
//! buildings' events out).

use std::sync::Arc;

use super::event::{self, Event, PAGE_SQL};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// Up to `max` events after `after` that `key` may see, oldest first.
pub async fn page(
    state: &AppState,
    key: &ApiKey,
    after: i64,
    max: i32,
) -> Result<Vec<Arc<Event>>, ApiError> {
    state
        .tx(key, Scope::Read, None, |c| {
            Box::pin(async move {
                let statement = c.prepare_cached(PAGE_SQL).await?;
                Ok(event::page(c, &statement, after, max).await?)
            })
        })
        .await
}
