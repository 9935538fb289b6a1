//! `GET /api/events/recent?after=&limit=`: the outbox for polling clients.

use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::filter::FilterParams;
use super::outbox;
use super::subscription::{self, request_key};
use crate::error::ApiError;
use crate::metrics::EventTransport;
use crate::openapi::ErrorBody;
use crate::state::AppState;

const DEFAULT_LIMIT: i32 = 100;
const MAX_LIMIT: i32 = 1000;

/// The page of `GET /api/events/recent` (its filters are [`FilterParams`], read separately).
/// (No `Debug`: it holds the `?api_key=`.)
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentParams {
    /// Events after this id (0: from the oldest kept); an id beyond the newest event is
    /// refused (400), one whose following events were purged is 410.
    #[param(minimum = 0, default = 0)]
    pub after: Option<i64>,
    /// Events to scan, 1 to 1000.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i32>,
    /// The API key, when it cannot be sent as a header.
    pub api_key: Option<String>,
}

/// `{"events": [...], "last_id": N, "head": H}`: the events after `after` that pass the filters, among
/// the next `limit` the key may see, and the id to pass as `after` next time.
#[utoipa::path(get, path = "/api/events/recent", operation_id = "recent_events", tag = "events",
    params(FilterParams, RecentParams),
    responses((status = 200, body = crate::openapi::EventsPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "Unknown building", body = ErrorBody),
              (status = 410, description = "GONE: the events after `after` were purged; take a new snapshot and start at the head", body = ErrorBody)),
    security(("api_key" = []), ("api_key_query" = [])))]
pub async fn recent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(filters): Query<FilterParams>,
    Query(params): Query<RecentParams>,
) -> Result<Response, ApiError> {
    let key = request_key(&headers, params.api_key.as_deref())?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let after = crate::routes::non_negative("after", params.after)?.unwrap_or(0);
    let mut sub = subscription::subscribe(&state, key, &filters).await?;
    sub.check_after(after, "after")?;
    let building = sub.filter.page_building();
    let read = |building| {
        outbox::page(
            &state,
            &sub.key,
            after,
            limit,
            building,
            super::event::PAGE_SQL,
        )
    };
    // Whether the page is limited to one building by the key's list rather than the request's.
    let mut by_key = sub.filter.building_id.is_none() && building.is_some();
    let mut page = match read(building).await {
        // The key's only building, not named by the request, deleted since the key was made
        // (a key stays limited to it, docs/sql.md): its events are still the key's to read,
        // `building.deleted` among them, through row-level security alone.
        Err(e)
            if e.code == crate::error::ErrorCode::NotFound
                && sub.filter.building_id.is_none()
                && building.is_some() =>
        {
            by_key = false;
            read(None).await?
        }
        other => other?,
    };
    // Filtered with the buildings the page was read under, which may have changed since the
    // subscription read them (found by a review: a building the key had just gained had its
    // events skipped, and last_id moved past them); a page limited to the key's only building
    // as it was is read again, limited by row-level security alone.
    if by_key && page.scope != sub.filter.allowed_buildings {
        page = read(None).await?;
    }
    sub.filter.allowed_buildings = page.scope;
    let head = page.head;
    let page = page.events;
    // A page shorter than asked (in events and in bytes, event::PAGE_BYTES: a page cut by its
    // bytes is not the end) holds every event the key may see up to the head read before
    // it (every id up to that head was visible to the page's query), so the next poll starts
    // there: a key limited to a quiet building does not rescan other buildings' events.
    let last_seen = page.last().map_or(after, |e| e.id);
    let last_id = if super::event::page_is_short(&page, limit) {
        last_seen.max(head)
    } else {
        last_seen
    };
    let events: Vec<&str> = page
        .iter()
        .filter(|e| sub.filter.matches(e))
        .map(|e| e.json.as_str())
        .collect();
    crate::metrics::events_delivered(EventTransport::Poll, events.len() as u64);
    let body = format!(
        "{{\"events\":[{}],\"last_id\":{last_id},\"head\":{head}}}",
        events.join(",")
    );
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn limit_bounds() {
        assert!((1..=super::MAX_LIMIT).contains(&super::DEFAULT_LIMIT));
    }
}
