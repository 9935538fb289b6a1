//! Who subscribes and to what: checks the key (read scope, building limits) and resolves the
//! filters, in one request transaction.

use axum::http::HeaderMap;

use super::filter::{Filter, FilterParams};
use crate::auth::{key_required, sent_key, ApiKey, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// A subscriber's key, filters, and where the outbox stood when it subscribed.
pub struct Subscription {
    pub key: ApiKey,
    pub filter: Filter,
    /// `arxos.event_counter.last_id` at subscription time.
    pub head: i64,
    /// `arxos.event_horizon.purged_through` then: resuming below it would skip events.
    pub purged_through: i64,
}

impl Subscription {
    /// Checks a client's start (`after`, `Last-Event-ID`): an id beyond the outbox's head was
    /// never handed out by this database (a cursor from another database, or one restored to
    /// an older state), and following it would skip every event up to it without a word.
    /// `named` is how the client gave it: `after` or `Last-Event-ID`.
    pub fn check_after(&self, after: i64, named: &str) -> Result<i64, ApiError> {
        if after > self.head {
            return Err(ApiError::validation(format!(
                "{named} is {after}, beyond the newest event id ({}): event ids come from this database's outbox; \
                 start again without after (or with after={})",
                self.head, self.head
            )));
        }
        if after > 0 && after < self.purged_through {
            return Err(ApiError::new(
                crate::error::ErrorCode::Gone,
                format!(
                    "{named} is {after}, but the events after it were purged (through {}): take a new snapshot of what you follow, \
                     then start at the head (after={})",
                    self.purged_through, self.head
                ),
            )
            // What arxos.check_resume raises in SQL for the same start.
            .with_details(serde_json::json!({"sqlstate": "AX026"})));
        }
        Ok(after)
    }
}

/// The key of a request: the usual headers, or `?api_key=` (a browser's `EventSource`
/// cannot send headers); both only with the same key ([`sent_key`]).
pub fn request_key(headers: &HeaderMap, query_key: Option<&str>) -> Result<ApiKey, ApiError> {
    sent_key(headers, query_key)?
        .map(|k| ApiKey(k.to_owned()))
        .ok_or_else(|| key_required(true))
}

/// The longest object type (the objects' `object_type_format` CHECK).
const OBJECT_TYPE_MAX: usize = 100;

/// Checks `key` for reading (and for the building filter) and resolves the filters.
pub async fn subscribe(
    state: &AppState,
    key: ApiKey,
    params: &FilterParams,
) -> Result<Subscription, ApiError> {
    let types = params.type_patterns()?;
    let under = params.under_path()?;
    // A blank filter is a mistake, not "any": leaving it out says that.
    for (name, value, every) in [
        ("object_type", &params.object_type, "object type"),
        ("building", &params.building, "building"),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ApiError::validation(format!(
                "{name} must not be empty: leave it out for every {every}"
            )));
        }
    }
    // An object type no object can have (a space at an end, a control or invisible
    // character) would match nothing for ever: refused as the webhooks' filter and the
    // objects' column refuse it (found by an audit: ` sensor` streamed nothing).
    if let Some(kind) = params.object_type.as_deref() {
        if !arxos_core::label::is_label(kind, OBJECT_TYPE_MAX) {
            return Err(ApiError::validation(format!(
                "object_type must be an object type, 1 to {OBJECT_TYPE_MAX} characters, no space at either end, without control or invisible formatting characters (got {}): leave it out for every object type",
                arxos_core::message::shown(kind)
            )));
        }
    }
    let building = params.building.as_deref();
    let named = params.building.clone();
    // (the database judges the types too: a name or prefix no event has is refused, as for
    // webhooks and events_since)
    let patterns = types.clone();
    let (allowed, building_id, head, purged_through) = state
        .tx(&key, Scope::Read, building, |c| {
            Box::pin(async move {
                if patterns.is_some() {
                    let check = c
                        .prepare_cached("SELECT arxos.check_event_types($1::text[])")
                        .await?;
                    c.execute(&check, &[&patterns]).await?;
                }
                let statement = c
                    .prepare_cached(
                        "SELECT nullif(current_setting('arxos.building_ids', true), ''),
                                CASE WHEN $1::text IS NOT NULL THEN arxos.event_building_id($1)::text END,
                                (SELECT last_id FROM arxos.event_counter),
                                (SELECT purged_through FROM arxos.event_horizon)",
                    )
                    .await?;
                let row = c.query_one(&statement, &[&named]).await?;
                Ok((
                    row.try_get::<_, Option<String>>(0)?,
                    row.try_get::<_, Option<String>>(1)?,
                    row.try_get::<_, i64>(2)?,
                    row.try_get::<_, i64>(3)?,
                ))
            })
        })
        .await?;
    Ok(Subscription {
        key,
        filter: Filter {
            types,
            building_id,
            under,
            object_type: params.object_type.clone(),
            allowed_buildings: buildings(allowed),
        },
        head,
        purged_through,
    })
}

/// The buildings a key may see, from `arxos.building_ids` as a request's identity holds it
/// (ids joined by `,`; none: every building).
/// The ids of a key's buildings, sorted: lists of the same buildings compare equal whatever
/// order the key stores them in (found by a review: a reordered array ended every stream).
pub(super) fn buildings(ids: Option<String>) -> Option<Vec<String>> {
    ids.map(|ids| {
        let mut ids: Vec<String> = ids.split(',').map(|id| id.trim().to_owned()).collect();
        ids.sort();
        ids
    })
}

/// The buildings the transaction's key may see, as `arxos.authorize` set them (NULL: every
/// building).
/// Second column: the database's count of key changes (`arxos.key_generation`), which
/// [`super::outbox::page`] compares with the count the shim has applied.
pub(super) const SCOPE_SQL: &str = "SELECT nullif(current_setting('arxos.building_ids', true), ''),
       (SELECT generation FROM arxos.key_generation)";

/// The buildings `key` may see now, as the database says (`None`: every building); 401/403
/// when it no longer accepts the key for reading.
pub async fn key_buildings(
    state: &AppState,
    key: &ApiKey,
) -> Result<Option<Vec<String>>, ApiError> {
    let ids = state
        .tx(key, Scope::Read, None, |c| {
            Box::pin(async move {
                let statement = c.prepare_cached(SCOPE_SQL).await?;
                Ok(c.query_one(&statement, &[])
                    .await?
                    .try_get::<_, Option<String>>(0)?)
            })
        })
        .await?;
    Ok(buildings(ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_buildings_compare_as_a_set() {
        assert_eq!(buildings(None), None);
        assert_eq!(
            buildings(Some("b2, b1".into())),
            buildings(Some("b1,b2".into()))
        );
        assert_eq!(
            buildings(Some("b2,b1".into())),
            Some(vec!["b1".to_owned(), "b2".to_owned()])
        );
    }
}
