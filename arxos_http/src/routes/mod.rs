//! HTTP routes, one module per resource, and what the listing routes share: keyset pagination.

pub mod buildings;
pub mod docs;
pub mod etag;
pub mod health;
pub mod keys;
pub mod market;
pub mod metrics;
pub mod objects;
pub mod query;
pub mod ratings;

use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Default and largest page size of the listing routes.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// The listing query `sql` (one jsonb column, its items in key order), cut at about
/// [`crate::realtime::event::PAGE_BYTES`] of items as the event pages are: the items that start
/// below it (at least one, whatever its size), then a NULL row where it cut, which
/// [`Page::from_rows`] reads as "there is more". The items' stored size is summed
/// (`arxos.jsonb_raw_size`), and the database stops sending at the cut (found by an audit: a
/// page of 1000 objects whose properties were near the body limit was an answer of about a
/// gigabyte, held by the shim while it sent it). For the listings whose items hold documents.
/// The window has no ORDER BY of its own: it runs over its input in the order `sql` gives
/// (a WindowAgg without partitions or ordering reads its subquery as it comes; `OFFSET 0`
/// keeps that subquery, and its ORDER BY, whole).
pub fn bounded_listing(sql: &str) -> String {
    let bytes = crate::realtime::event::PAGE_BYTES;
    format!(
        "SELECT CASE WHEN q.before < {bytes} THEN q.j END
           FROM (SELECT s.j, sum(s.size) OVER w - s.size AS before,
                        coalesce(lag(s.size) OVER w, 0) AS prev
                   FROM (SELECT x.j, coalesce(arxos.jsonb_raw_size(x.j), 0) + 64 AS size
                           FROM (\n{sql}\n) AS x(j) OFFSET 0) s
                 WINDOW w AS (ROWS UNBOUNDED PRECEDING)) q
          WHERE q.before - q.prev < {bytes}"
    )
}

/// Keyset pagination: `limit` items after the key `after`; `count` asks for the total too.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Largest number of items to return (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Return the items after this key, as in the `next` link: the last item's path (a
    /// building's key on /api/buildings).
    pub after: Option<String>,
    /// Also return the total number of items (costs a count).
    pub count: Option<bool>,
}

impl PageParams {
    /// The validated limit.
    pub fn limit(&self) -> Result<i64, ApiError> {
        checked_limit(self.limit)
    }
}

/// A 201 answer with `Location`, the URL the new resource is read at (RFC 9110, 10.2.2), as a
/// path on this server. Routes whose resources have no URL of their own (connections,
/// transfers, keys, contributions) answer 201 without one.
pub fn created(location: &str, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// The `id` (or another string field) of a created resource's JSON, for its `Location`.
pub fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name].as_str().unwrap_or_default()
}

/// The one value of a header that may be given once, or none: sent twice it is refused, not
/// one of them taken (which one the client meant is not ours to guess).
pub fn header_once<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &str,
    wanted: &str,
) -> Result<Option<&'a HeaderValue>, ApiError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::validation(format!(
            "{name} is given more than once: send {wanted}"
        )));
    }
    Ok(first)
}

/// Refuses a negative keyset id (`after` or `before`: an event, history or ledger id) before
/// anything else is checked: no id is negative, and a negative one read as "from the start"
/// would hide the client's mistake.
pub fn non_negative(name: &str, id: Option<i64>) -> Result<Option<i64>, ApiError> {
    match id {
        Some(id) if id < 0 => Err(ApiError::validation(format!("{name} must not be negative"))),
        other => Ok(other),
    }
}

/// A path parameter that names a row by UUID (`/api/objects/{id}`, `/api/webhooks/{id}`, …),
/// in canonical form. Text that is no UUID cannot name any row: 400, the same on every route,
/// with what was sent and what is expected (docs/api.md, "Errors").
pub fn uuid_param(text: &str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(text)
        .map(|id| id.to_string())
        .map_err(|_| {
            let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            ApiError::validation(format!(
                "{text:?} is not {article} {what} id: ids are UUIDs"
            ))
        })
}

pub fn checked_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    Ok(limit)
}

/// Keyset pagination of the listings by creation (keys, webhooks): `limit` items after the
/// place `after`, as the `next` link gives it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreatedPageParams {
    /// Largest number of items to return (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Return the items created after this place, as in the `next` link: the last item's
    /// `created_at` and `id` joined by a comma (the item need not exist any more).
    pub after: Option<String>,
}

impl CreatedPageParams {
    /// The SQL listing's `(after, max)`: the place as given, and one item more than the page
    /// (the extra one only says there is more).
    pub fn sql(&self) -> Result<(Option<String>, i32), ApiError> {
        let limit = checked_limit(self.limit)?;
        Ok((self.after.clone(), (limit + 1) as i32))
    }

    /// The page of `rows` ([`CreatedPageParams::sql`]'s), its `next` at the last item's place.
    pub fn page(&self, rows: Vec<Value>, uri: &Uri) -> Page {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        Page::from_rows(rows, limit, uri, |v| {
            Some(format!(
                "{},{}",
                v.get("created_at")?.as_str()?,
                v.get("id")?.as_str()?
            ))
        })
    }
}

/// One page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    /// The items, in key order.
    pub items: Vec<Value>,
    /// The URL of the next page (path and query), or null on the last page.
    pub next: Option<String>,
    /// The total number of items, when asked for with `count=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

/// A list that is not paginated (bounded by its own parameters).
#[derive(Debug, Serialize, ToSchema)]
pub struct Items {
    pub items: Vec<Value>,
}

impl Page {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more. `key`
    /// picks the keyset value out of an item.
    pub fn from_rows(
        rows: Vec<Value>,
        limit: i64,
        uri: &Uri,
        key: impl Fn(&Value) -> Option<String>,
    ) -> Page {
        Page::from_rows_by(rows, limit, uri, "after", key)
    }

    /// [`Page::from_rows`] with the keyset parameter `name` (`before` on newest-first lists).
    pub fn from_rows_by(
        mut rows: Vec<Value>,
        limit: i64,
        uri: &Uri,
        name: &str,
        key: impl Fn(&Value) -> Option<String>,
    ) -> Page {
        // A NULL item is where a bounded listing's bytes cut it ([`bounded_listing`]).
        let cut = rows.iter().position(Value::is_null);
        let more = cut.is_some() || rows.len() as i64 > limit;
        rows.truncate(cut.unwrap_or(usize::MAX).min(limit as usize));
        let next = if more {
            rows.last()
                .and_then(&key)
                .map(|last| next_link_by(uri, name, &last))
        } else {
            None
        };
        Page {
            items: rows,
            next,
            count: None,
        }
    }
}

/// The answer of a `SELECT to_jsonb(count(*)) …` statement, run only when the caller asked
/// for a count (`count=true`: it costs a scan).
pub async fn count_if(
    client: &crate::tx::Client,
    wanted: bool,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<i64>, crate::error::ApiError> {
    if !wanted {
        return Ok(None);
    }
    Ok(crate::tx::json_one(client, sql, params).await?.as_i64())
}

/// The item's `path`, the key of path-ordered listings.
pub fn path_key(item: &Value) -> Option<String> {
    item.get("path")?.as_str().map(str::to_owned)
}

/// The item's numeric `id`, the key of id-ordered listings (histories).
pub fn id_key(item: &Value) -> Option<String> {
    item.get("id")?.as_i64().map(|id| id.to_string())
}

/// The request's URL with the keyset parameter `name` (`after`, or `before` on the newest-first
/// deliveries) set to the given key.
pub fn next_link_by(uri: &Uri, name: &str, key: &str) -> String {
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    // `count` is the first page's: the next pages would pay for the same count again (a
    // 200-page export, 200 counts of the whole listing).
    pairs.retain(|(n, _)| n != name && n != "count");
    pairs.push((name.to_owned(), key.to_owned()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{}?{query}", uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_link_replaces_after_drops_count_and_keeps_the_rest() {
        let uri: Uri = "/api/buildings/b42/ls/electrical?limit=2&after=%2Fa&count=true"
            .parse()
            .unwrap();
        assert_eq!(
            next_link_by(&uri, "after", "/electrical/b c"),
            "/api/buildings/b42/ls/electrical?limit=2&after=%2Felectrical%2Fb+c"
        );
    }

    #[test]
    fn a_page_links_on_only_when_there_is_more() {
        let uri: Uri = "/x?limit=2".parse().unwrap();
        let rows = vec![
            json!({"path": "/a"}),
            json!({"path": "/b"}),
            json!({"path": "/c"}),
        ];
        let page = Page::from_rows(rows, 2, &uri, path_key);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next.as_deref(), Some("/x?limit=2&after=%2Fb"));
        let page = Page::from_rows(vec![json!({"path": "/a"})], 2, &uri, path_key);
        assert_eq!(page.next, None);
        // cut by its bytes: the items before the NULL, and a link after the last of them
        let rows = vec![json!({"path": "/a"}), Value::Null];
        let page = Page::from_rows(rows, 2, &uri, path_key);
        assert_eq!(page.items, vec![json!({"path": "/a"})]);
        assert_eq!(page.next.as_deref(), Some("/x?limit=2&after=%2Fa"));
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(checked_limit(None).unwrap(), DEFAULT_LIMIT);
        assert!(checked_limit(Some(0)).is_err());
        assert!(checked_limit(Some(MAX_LIMIT + 1)).is_err());
    }

    #[test]
    fn uuid_params_are_canonical_and_others_refused_with_their_text() {
        assert_eq!(
            uuid_param("0190A0B1-0000-7000-8000-000000000001", "object").unwrap(),
            "0190a0b1-0000-7000-8000-000000000001"
        );
        let refused = uuid_param("not-a-uuid", "webhook").unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::Validation);
        assert_eq!(
            refused.message,
            r#""not-a-uuid" is not a webhook id: ids are UUIDs"#
        );
    }
}
