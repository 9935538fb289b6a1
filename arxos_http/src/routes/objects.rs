//! Objects by path (`/api/buildings/{b}/objects/{*path}` and the tree routes around it) and the
//! flat aliases by UUID (`/api/objects`).

use std::collections::BTreeMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::etag::{IfMatch, IfNoneMatch, Tagged};
use super::{bounded_listing, checked_limit, count_if, id_key, path_key, Items, Page, PageParams};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::tx::{json_one, json_rows};

/// The JSON of an object row `o`.
macro_rules! object_json {
    () => {
        "jsonb_build_object('id', o.id, 'building_id', o.building_id, 'path', o.path::text,
            'name', o.name::text, 'parent_path', o.parent_path::text, 'depth', o.depth,
            'type', o.type, 'status', o.status, 'health', o.health, 'needs_repair', o.needs_repair,
            'properties', o.properties, 'metrics', o.metrics, 'location', arxos.location_json(o),
            'instrumented', o.instrumented, 'last_reading_at', o.last_reading_at,
            'created_at', o.created_at, 'updated_at', o.updated_at, 'created_by', o.created_by,
            'updated_by', o.updated_by, 'version', o.version)"
    };
}

/// An object row `o` with its entity tag: `[object, etag]`, for [`Tagged::from_row`].
macro_rules! tagged_object_json {
    () => {
        concat!("jsonb_build_array(", object_json!(), ", arxos.etag(o))")
    };
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/buildings/{b}/objects/{*path}",
            get(get_object)
                .put(put_object)
                .patch(patch_object)
                .delete(delete_object),
        )
        .route("/api/buildings/{b}/ls", get(ls))
        .route("/api/buildings/{b}/ls/{*path}", get(ls))
        .route("/api/buildings/{b}/tree", get(tree))
        .route("/api/buildings/{b}/tree/{*path}", get(tree))
        .route("/api/buildings/{b}/move", post(move_subtree))
        .route("/api/buildings/{b}/near/{*path}", get(near))
        .route("/api/buildings/{b}/trace/{*path}", get(trace))
        .route("/api/buildings/{b}/history", get(history))
        .route(
            "/api/buildings/{b}/connections",
            get(building_connections).post(connect).delete(disconnect),
        )
        .route(
            "/api/buildings/{b}/connections/{*path}",
            get(connections_of),
        )
        .route("/api/objects", get(find_objects).post(create_object))
        .route(
            "/api/objects/{id}",
            get(get_by_id).patch(patch_by_id).delete(delete_by_id),
        )
}

/// `{b}` and the optional `{*path}` of a tree route; the path defaults to the root.
fn building_and_path(mut params: BTreeMap<String, String>) -> (String, String) {
    let b = params.remove("b").unwrap_or_default();
    let path = match params.remove("path") {
        Some(p) if p.starts_with('/') => p,
        Some(p) => format!("/{p}"),
        None => "/".to_owned(),
    };
    (b, path)
}

fn object_path(path: String) -> String {
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// One object.
#[utoipa::path(get, path = "/api/buildings/{b}/objects/{path}", tag = "objects",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, example = "electrical/panels/panel_1", description = "Object path below the building")),
    responses((status = 200, body = crate::openapi::BuildingObject), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_object(
    State(state): State<AppState>,
    key: ApiKey,
    Path((b, path)): Path<(String, String)>,
) -> Result<Tagged, ApiError> {
    let path = object_path(path);
    let row = state
        .one(
            &key,
            Scope::Read,
            Some(&b),
            concat!(
                "SELECT ",
                tagged_object_json!(),
                " FROM arxos.get($1, $2) o"
            ),
            &[&b, &path],
        )
        .await?;
    Ok(Tagged::from_row(StatusCode::OK, row))
}

/// The body of `PUT`: the object as it should be. Fields left out keep their value on an
/// existing object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutObject {
    #[serde(rename = "type", deserialize_with = "crate::body_fields::object_type")]
    pub kind: String,
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
    pub status: Option<String>,
    /// 0 to 100: any JSON number of a whole value (`50`, `50.0`, `5e1`).
    #[serde(default, deserialize_with = "crate::body_fields::whole")]
    #[schema(minimum = 0, maximum = 100)]
    pub health: Option<i32>,
    /// `{"x": m, "y": m, "z": m, "floor": n}`. A put keeps what it is not given (`null`, as
    /// for every field, is not given), so a `null` key inside it, which would clear nothing,
    /// is refused: clear with PATCH.
    #[schema(value_type = Option<Object>)]
    pub location: Option<Value>,
    pub needs_repair: Option<bool>,
    /// Create missing ancestors as directories (`null`, like leaving it out: false).
    #[serde(default, deserialize_with = "crate::body_fields::or_default")]
    #[schema(value_type = Option<bool>)]
    pub parents: bool,
}

/// Create or replace an object (`arxos.put`). 201 when it was created.
#[utoipa::path(put, path = "/api/buildings/{b}/objects/{path}", tag = "objects",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, example = "electrical/panels/panel_1", description = "Object path")),
    request_body = PutObject,
    responses((status = 200, description = "Updated (or unchanged)", body = crate::openapi::BuildingObject),
              (status = 201, description = "Created", body = crate::openapi::BuildingObject),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn put_object(
    State(state): State<AppState>,
    key: ApiKey,
    Path((b, path)): Path<(String, String)>,
    if_match: IfMatch,
    if_none_match: IfNoneMatch,
    Json(body): Json<PutObject>,
) -> Result<Tagged, ApiError> {
    let conditions = (if_match, if_none_match);
    put(&state, &key, b, object_path(path), body, conditions).await
}

async fn put(
    state: &AppState,
    key: &ApiKey,
    b: String,
    path: String,
    body: PutObject,
    (if_match, if_none_match): (IfMatch, IfNoneMatch),
) -> Result<Tagged, ApiError> {
    // Said in HTTP's terms here (the database's message names put's parameters; found by a
    // review); the database refuses the same.
    if if_match.0.is_some() && if_none_match.0.is_some() {
        return Err(ApiError::validation(
            "If-Match and If-None-Match together: a PUT either updates the object as read (If-Match: its ETag) or only creates (If-None-Match: *)",
        ));
    }
    // One statement (AppState::one), so a deadlock or serialization failure is retried.
    let row = state
        .one(
            key,
            Scope::Write,
            Some(&b),
            concat!(
                "SELECT jsonb_build_array(",
                tagged_object_json!(),
                ", o.version = 1 AND o.created_at = now())
                   FROM arxos.put($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) o"
            ),
            &[
                &b,
                &path,
                &body.kind,
                &body.properties,
                &body.status,
                &body.health,
                &body.location,
                &body.parents,
                &body.needs_repair,
                &if_match.0,
                &if_none_match.0,
            ],
        )
        .await?;
    let status = match row[1].as_bool() {
        Some(true) => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok(Tagged::from_row(status, row[0].clone()))
}

/// The body of `PATCH`: only the fields given change; `properties` are merged at the top level
/// (a key given replaces that property whole, nested objects included, and a null value
/// removes it: not a recursive RFC 7396 merge), `metrics` too; `location` is merged key by key
/// (a null key clears it, `"location": null` clears the whole location).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchObject {
    /// Merged at the top level: `{"b": {"c": 5}}` replaces property `b` whole; `{"a": null}`
    /// removes `a`.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
    pub status: Option<String>,
    /// 0 to 100: any JSON number of a whole value (`50`, `50.0`, `5e1`).
    #[serde(default, deserialize_with = "crate::body_fields::whole")]
    #[schema(minimum = 0, maximum = 100)]
    pub health: Option<i32>,
    pub needs_repair: Option<bool>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `null` clears the location; left out, it stays.
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = Option<Object>)]
    pub location: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<Value>,
}

/// A field that is there, even as `null` (`Some(Value::Null)`), as opposed to left out (`None`,
/// through `#[serde(default)]`): serde reads a `null` `Option` as `None` otherwise.
fn given<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

const PATCH_SQL: &str = concat!(
    "SELECT ",
    tagged_object_json!(),
    " FROM arxos.patch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) o"
);

/// Change some fields of an object (`arxos.patch`).
#[utoipa::path(patch, path = "/api/buildings/{b}/objects/{path}", tag = "objects",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, example = "electrical/panels/panel_1", description = "Object path")),
    request_body = PatchObject,
    responses((status = 200, body = crate::openapi::BuildingObject), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch_object(
    State(state): State<AppState>,
    key: ApiKey,
    Path((b, path)): Path<(String, String)>,
    if_match: IfMatch,
    Json(body): Json<PatchObject>,
) -> Result<Tagged, ApiError> {
    let path = object_path(path);
    // One statement (AppState::one), so a deadlock or serialization failure is retried.
    let row = state
        .one(
            &key,
            Scope::Write,
            Some(&b),
            PATCH_SQL,
            &patch_params(&b, &path, &body, &if_match),
        )
        .await?;
    Ok(Tagged::from_row(StatusCode::OK, row))
}

async fn patch(
    c: &crate::tx::Client,
    b: &str,
    path: &str,
    body: &PatchObject,
    if_match: &IfMatch,
) -> Result<Value, ApiError> {
    json_one(c, PATCH_SQL, &patch_params(&b, &path, body, if_match)).await
}

/// The parameters of [`PATCH_SQL`].
fn patch_params<'a>(
    b: &'a (dyn tokio_postgres::types::ToSql + Sync),
    path: &'a (dyn tokio_postgres::types::ToSql + Sync),
    body: &'a PatchObject,
    if_match: &'a IfMatch,
) -> [&'a (dyn tokio_postgres::types::ToSql + Sync); 10] {
    [
        b,
        path,
        &body.properties,
        &body.status,
        &body.health,
        &body.needs_repair,
        &body.kind,
        &body.location,
        &body.metrics,
        &if_match.0,
    ]
}

/// The 409 of deleting an object with children says what to ask instead.
fn children_hint(e: ApiError) -> ApiError {
    e.with_hint_for("2BP01", "add ?recursive=true to delete the whole subtree")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Delete the whole subtree.
    pub recursive: Option<bool>,
}

/// Delete an object (with `recursive=true`, its subtree). Answers how many objects went.
#[utoipa::path(delete, path = "/api/buildings/{b}/objects/{path}", tag = "objects",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, example = "electrical/panels/panel_1", description = "Object path"), DeleteParams),
    responses((status = 200, body = crate::openapi::Deleted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The object has children", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_object(
    State(state): State<AppState>,
    key: ApiKey,
    Path((b, path)): Path<(String, String)>,
    Query(params): Query<DeleteParams>,
    if_match: IfMatch,
) -> Result<Json<Value>, ApiError> {
    let path = object_path(path);
    let recursive = params.recursive.unwrap_or(false);
    let deleted = state
        .one(
            &key,
            Scope::Write,
            Some(&b),
            "SELECT to_jsonb(arxos.rm($1, $2, $3, $4))",
            &[&b, &path, &recursive, &if_match.0],
        )
        .await
        .map_err(children_hint)?;
    Ok(Json(json!({ "deleted": deleted })))
}

/// The children of a path (`arxos.ls`), by path.
#[utoipa::path(get, path = "/api/buildings/{b}/ls/{path}", tag = "tree",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, description = "Parent path; `/api/buildings/{b}/ls` lists the root"),
           PageParams),
    responses((status = 200, description = "A page of directory entries", body = crate::openapi::PageOf<crate::openapi::LsEntry>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn ls(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Path(params): Path<BTreeMap<String, String>>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page>, ApiError> {
    let (b, path) = building_and_path(params);
    let limit = page.limit()?;
    let want_count = page.count.unwrap_or(false);
    let after = page.after.clone();
    let (rows, count) = state
        .tx(&key, Scope::Read, Some(&b.clone()), move |c| {
            Box::pin(async move {
                let rows = json_rows(
                    c,
                    "SELECT to_jsonb(l) FROM arxos.ls($1, $2, $3, $4::int8::int4) l",
                    &[&b, &path, &after, &(limit + 1)],
                )
                .await?;
                let count = count_if(
                    c,
                    want_count,
                    "SELECT to_jsonb(count(*)) FROM arxos.ls($1, $2)",
                    &[&b, &path],
                )
                .await?;
                Ok((rows, count))
            })
        })
        .await?;
    let mut page = Page::from_rows(rows, limit, &uri, path_key);
    page.count = count;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TreeParams {
    /// Levels below the path to include (0 = the object alone); default: all.
    #[param(minimum = 0)]
    pub depth: Option<i32>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    pub after: Option<String>,
    pub count: Option<bool>,
}

/// A subtree in path order (`arxos.tree`).
#[utoipa::path(get, path = "/api/buildings/{b}/tree/{path}", tag = "tree",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, description = "Top of the subtree; `/api/buildings/{b}/tree` is the whole building"),
           TreeParams),
    responses((status = 200, description = "A page of subtree entries", body = crate::openapi::PageOf<crate::openapi::TreeEntry>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn tree(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Path(params): Path<BTreeMap<String, String>>,
    Query(q): Query<TreeParams>,
) -> Result<Json<Page>, ApiError> {
    let (b, path) = building_and_path(params);
    let limit = checked_limit(q.limit)?;
    let want_count = q.count.unwrap_or(false);
    let (after, depth) = (q.after.clone(), q.depth);
    let (rows, count) = state
        .tx(&key, Scope::Read, Some(&b.clone()), move |c| {
            Box::pin(async move {
                let rows = json_rows(
                    c,
                    "SELECT to_jsonb(t) FROM arxos.tree($1, $2, $3, $4, $5::int8::int4) t",
                    &[&b, &path, &depth, &after, &(limit + 1)],
                )
                .await?;
                let count = count_if(
                    c,
                    want_count,
                    "SELECT to_jsonb(count(*)) FROM arxos.tree($1, $2, $3)",
                    &[&b, &path, &depth],
                )
                .await?;
                Ok((rows, count))
            })
        })
        .await?;
    let mut page = Page::from_rows(rows, limit, &uri, path_key);
    page.count = count;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub from: String,
    pub to: String,
}

/// Move or rename a subtree (`arxos.mv`). Answers how many objects moved.
#[utoipa::path(post, path = "/api/buildings/{b}/move", tag = "tree",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID")),
    request_body = MoveRequest,
    responses((status = 200, body = crate::openapi::Moved), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn move_subtree(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Json(body): Json<MoveRequest>,
) -> Result<Json<Value>, ApiError> {
    let moved = state
        .one(
            &key,
            Scope::Write,
            Some(&b),
            "SELECT to_jsonb(arxos.mv($1, $2, $3))",
            &[&b, &body.from, &body.to],
        )
        .await?;
    Ok(Json(json!({ "moved": moved })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearParams {
    /// Metres (default 5).
    #[serde(default, deserialize_with = "crate::body_fields::double")]
    #[param(minimum = 0, default = 5.0, value_type = Option<f64>)]
    pub radius: Option<f64>,
    /// The nearest this many (1 to 1000, default 100); `truncated` says whether more lie
    /// within the radius.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
}

/// Objects within `radius` metres of an object, nearest first (`arxos.near`).
#[utoipa::path(get, path = "/api/buildings/{b}/near/{path}", tag = "tree",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, example = "electrical/panels/panel_1", description = "Object path"), NearParams),
    responses((status = 200, description = "Objects near the given one, nearest first (ties by path), and whether `limit` left some out", body = crate::openapi::NearItems),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn near(
    State(state): State<AppState>,
    key: ApiKey,
    Path((b, path)): Path<(String, String)>,
    Query(q): Query<NearParams>,
) -> Result<Json<Value>, ApiError> {
    let path = object_path(path);
    let limit = checked_limit(q.limit)?;
    let radius = q.radius.unwrap_or(5.0);
    // one more than asked for: it only tells whether the answer was cut
    let mut items = state
        .rows(
            &key,
            Scope::Read,
            Some(&b),
            "SELECT to_jsonb(n) FROM arxos.near($1, $2, $3, $4::int8::int4) n",
            &[&b, &path, &radius, &(limit + 1)],
        )
        .await?;
    let truncated = items.len() as i64 > limit;
    items.truncate(limit as usize);
    Ok(Json(json!({ "items": items, "truncated": truncated })))
}

/// Which way a trace follows connections: `downstream` from `from` to `to`, `upstream` back.
// (for the OpenAPI document only: the database checks the value, arxos.trace)
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum TraceDirection {
    Downstream,
    Upstream,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TraceParams {
    /// `downstream` (default) or `upstream`.
    #[param(value_type = Option<TraceDirection>, inline)]
    pub direction: Option<String>,
    /// Follow only connections of this kind.
    pub kind: Option<String>,
    /// Hops to follow (1 to 1000, default 32).
    #[param(minimum = 1, maximum = 1000, default = 32)]
    pub max_depth: Option<i32>,
}

/// Follow connections from an object (`arxos.trace`).
#[utoipa::path(get, path = "/api/buildings/{b}/trace/{path}", tag = "tree",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, example = "electrical/panels/panel_1", description = "Object path"), TraceParams),
    responses((status = 200, description = "The steps of the trace", body = crate::openapi::ItemsOf<crate::openapi::TraceStep>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn trace(
    State(state): State<AppState>,
    key: ApiKey,
    Path((b, path)): Path<(String, String)>,
    Query(q): Query<TraceParams>,
) -> Result<Json<Items>, ApiError> {
    let path = object_path(path);
    let direction = q.direction.unwrap_or_else(|| "downstream".to_owned());
    let max_depth = q.max_depth.unwrap_or(32);
    let kind = q.kind;
    let items = state
        .rows(
            &key,
            Scope::Read,
            Some(&b),
            "SELECT to_jsonb(t) FROM arxos.trace($1, $2, $3, $4, $5) t",
            &[&b, &path, &direction, &kind, &max_depth],
        )
        .await?;
    Ok(Json(Items { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Only this path and what is below it.
    pub path: Option<String>,
    /// Only changes at or after this time (ISO 8601, e.g. 2026-01-01T00:00:00Z; without an
    /// offset, UTC).
    #[param(format = DateTime)]
    pub since: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Return the entries after this history id (as in the `next` link).
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// The audit history, oldest first (`arxos.history`), paginated by history id.
#[utoipa::path(get, path = "/api/buildings/{b}/history", tag = "tree",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"), HistoryParams),
    responses((status = 200, description = "A page of history entries", body = crate::openapi::PageOf<crate::openapi::HistoryEntry>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn history(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Path(b): Path<String>,
    Query(q): Query<HistoryParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(q.limit)?;
    let after = super::non_negative("after", q.after)?.unwrap_or(0);
    let (path, since) = (q.path, q.since);
    let rows = state
        .rows(
            &key,
            Scope::Read,
            Some(&b),
            // `since` as the API's other times: ISO 8601 (arxos.try_timestamptz), not every
            // word PostgreSQL reads as a time ('yesterday', 'epoch', 'infinity').
            &bounded_listing("SELECT to_jsonb(h) - 'building_id' || jsonb_build_object('path', h.path::text)
               FROM arxos.history($1, $2,
                      CASE WHEN $3::text IS NULL THEN NULL
                           WHEN arxos.try_timestamptz($3) IS NULL
                                AND arxos.raise('since must be an ISO 8601 time, like 2026-01-01T00:00:00Z, got '
                                                || arxos.shown($3)
                                                || CASE WHEN $3 ~ '[0-9] [0-9]{2}(:?[0-9]{2})? *$'
                                                        THEN ' (a + in a query string reads as a space: write the offset as %2B01:00)'
                                                        WHEN $3 ~ '[Tt ][0-9]{2}:[0-9]{2}:60'
                                                        THEN ' (a leap second, which timestamps cannot hold)'
                                                        WHEN $3 ~ '^ *[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)? *([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)? *$'
                                                        THEN ' (written as one, but no such day, time or offset exists)'
                                                        ELSE '' END, '22023') THEN NULL
                           ELSE arxos.try_timestamptz($3) END,
                      max => $5, after_id => $4) h
              ORDER BY h.id"),
            &[&b, &path, &since, &after, &(limit as i32 + 1)],
        )
        .await?;
    Ok(Json(Page::from_rows(rows, limit, &uri, id_key)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    pub from: String,
    pub to: String,
    /// e.g. power, data, feeds, monitors
    pub kind: String,
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
}

/// Connect two objects (`arxos.connect`).
#[utoipa::path(post, path = "/api/buildings/{b}/connections", tag = "connections",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID")),
    request_body = NewConnection,
    responses((status = 201, body = crate::openapi::Connection), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn connect(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Json(body): Json<NewConnection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let connection = state
        .one(
            &key,
            Scope::Write,
            Some(&b),
            // The paths as stored (normalised), not as sent.
            "SELECT to_jsonb(c) || jsonb_build_object('from', f.path::text, 'to', t.path::text)
               FROM arxos.connect($1, $2, $3, $4, coalesce($5::jsonb, '{}')) c
               JOIN arxos.objects f ON f.id = c.from_id
               JOIN arxos.objects t ON t.id = c.to_id",
            &[&b, &body.from, &body.to, &body.kind, &body.properties],
        )
        .await?;
    Ok((StatusCode::CREATED, Json(connection)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisconnectParams {
    pub from: String,
    pub to: String,
    /// Only connections of this kind (default: all kinds).
    pub kind: Option<String>,
}

/// Remove the connections from → to (`arxos.disconnect`). Answers how many went.
#[utoipa::path(delete, path = "/api/buildings/{b}/connections", tag = "connections",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"), DisconnectParams),
    responses((status = 200, body = crate::openapi::Deleted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn disconnect(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Query(q): Query<DisconnectParams>,
) -> Result<Json<Value>, ApiError> {
    let deleted = state
        .one(
            &key,
            Scope::Write,
            Some(&b),
            "SELECT to_jsonb(arxos.disconnect($1, $2, $3, $4))",
            &[&b, &q.from, &q.to, &q.kind],
        )
        .await?;
    Ok(Json(json!({ "deleted": deleted })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionPageParams {
    /// Largest number of connections to return (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// The connections after this id, as in the `next` link (the last id of the page before).
    pub after: Option<String>,
    /// Only connections of this kind.
    pub kind: Option<String>,
    /// Also return the total number of connections (of the kind; costs a count).
    pub count: Option<bool>,
}

/// Every connection of a building, by id (`arxos.building_connections`): what an export or an
/// application's copy of the building pages through.
#[utoipa::path(get, path = "/api/buildings/{b}/connections", tag = "connections",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"), ConnectionPageParams),
    responses((status = 200, description = "A page of connections, by id", body = crate::openapi::PageOf<crate::openapi::Connection>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn building_connections(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    OriginalUri(uri): OriginalUri,
    Query(page): Query<ConnectionPageParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(page.limit)?;
    let after = page
        .after
        .as_deref()
        .map(|a| super::uuid_param(a, "connection"))
        .transpose()?;
    let (kind, want_count) = (page.kind, page.count.unwrap_or(false));
    let building = b.clone();
    let (rows, count) = state
        .tx(&key, Scope::Read, Some(&b), move |c| {
            Box::pin(async move {
                let rows = json_rows(
                    c,
                    &bounded_listing("SELECT to_jsonb(x) FROM arxos.building_connections($1, $2, $3::text::uuid, $4::int8::int4) x"),
                    &[&building, &kind, &after, &(limit + 1)],
                )
                .await?;
                let count = count_if(
                    c,
                    want_count,
                    "SELECT to_jsonb(count(*)) FROM arxos.connections c
                      WHERE c.building_id = arxos.building_id($1) AND ($2::text IS NULL OR c.kind = $2)",
                    &[&building, &kind],
                )
                .await?;
                Ok((rows, count))
            })
        })
        .await?;
    let mut page = Page::from_rows(rows, limit, &uri, |v| {
        v.get("id").and_then(Value::as_str).map(str::to_owned)
    });
    page.count = count;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionsOfParams {
    /// Largest number of connections to return (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// The connections after this place, as in the `next` link: `direction:kind:path` of the
    /// last connection of the page before (`out:power:/electrical/x`), which holds when that
    /// connection is deleted meanwhile; or its id, while it is one of the object's.
    pub after: Option<String>,
}

/// The connections into and out of an object (`arxos.connections_of`): the outgoing ones
/// first, then the incoming, each by kind and the other end's path; paginated.
#[utoipa::path(get, path = "/api/buildings/{b}/connections/{path}", tag = "connections",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"),
           ("path" = String, Path, example = "electrical/panels/panel_1", description = "Object path"),
           ConnectionsOfParams),
    responses((status = 200, description = "A page of the object's connections", body = crate::openapi::PageOf<crate::openapi::ConnectionOf>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn connections_of(
    State(state): State<AppState>,
    key: ApiKey,
    Path((b, path)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    Query(page): Query<ConnectionsOfParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(page.limit)?;
    let path = object_path(path);
    let rows = state
        .rows(
            &key,
            Scope::Read,
            Some(&b),
            &bounded_listing(
                "SELECT to_jsonb(x) FROM arxos.connections_of($1, $2, $3, $4::int8::int4) x",
            ),
            &[&b, &path, &page.after, &(limit + 1)],
        )
        .await?;
    // The next page starts after the last connection's place, which a delete of that
    // connection does not take away (its id would no longer name a place).
    Ok(Json(Page::from_rows(rows, limit, &uri, |v| {
        let field = |name: &str| v.get(name).and_then(Value::as_str);
        Some(format!(
            "{}:{}:{}",
            field("direction")?,
            field("kind")?,
            field("other_path")?
        ))
    })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindParams {
    /// Building key or UUID. Without it: every building the key may see, ordered by building
    /// id and path, and `after` is a building id followed by a path (`next` gives it).
    pub building: Option<String>,
    /// Only objects at or below this path.
    pub under: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub needs_repair: Option<bool>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    pub after: Option<String>,
    pub count: Option<bool>,
}

/// Objects matching filters: of one building by path (`arxos.find`), or of every building the
/// key may see (`arxos.find_all`).
#[utoipa::path(get, path = "/api/objects", tag = "objects", params(FindParams),
    responses((status = 200, description = "A page of objects", body = crate::openapi::PageOf<crate::openapi::BuildingObject>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn find_objects(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<FindParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(q.limit)?;
    let want_count = q.count.unwrap_or(false);
    let under = q.under.clone().unwrap_or_else(|| "/".to_owned());
    // Without a building, the keyset value is the building id followed by the path.
    let (after_building, after_path) = match (&q.building, q.after.as_deref()) {
        (None, Some(after)) => {
            let (id, path) = building_and_path_key(after).ok_or_else(|| {
                ApiError::validation(
                    "after: without a building, a building id followed by a path (the next link gives it)",
                )
            })?;
            (Some(id.to_owned()), Some(path.to_owned()))
        }
        _ => (None, q.after.clone()),
    };
    let building = q.building.clone();
    let everywhere = building.is_none();
    let (rows, count) = state
        .tx(&key, Scope::Read, q.building.as_deref(), move |c| {
            Box::pin(async move {
                let filters: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                    [&under, &q.kind, &q.status, &q.needs_repair];
                let (rows, count) = match &building {
                    Some(b) => {
                        let rows = json_rows(
                            c,
                            &bounded_listing(concat!(
                                "SELECT ",
                                object_json!(),
                                " FROM arxos.find($7, $1, $2, $3, NULL, $4, $5, $6::int8::int4) o"
                            )),
                            &[&filters[..], &[&after_path, &(limit + 1), b]].concat(),
                        )
                        .await?;
                        let count = count_if(
                            c,
                            want_count,
                            "SELECT to_jsonb(count(*)) FROM arxos.find($5, $1, $2, $3, NULL, $4)",
                            &[&filters[..], &[b]].concat(),
                        )
                        .await?;
                        (rows, count)
                    }
                    None => {
                        let rows = json_rows(
                            c,
                            &bounded_listing(concat!(
                                "SELECT ",
                                object_json!(),
                                " FROM arxos.find_all($1, $2, $3, NULL, $4, $7::text::uuid, $5, $6::int8::int4) o"
                            )),
                            &[&filters[..], &[&after_path, &(limit + 1), &after_building]].concat(),
                        )
                        .await?;
                        let count = count_if(
                            c,
                            want_count,
                            "SELECT to_jsonb(count(*)) FROM arxos.find_all($1, $2, $3, NULL, $4)",
                            &filters,
                        )
                        .await?;
                        (rows, count)
                    }
                };
                Ok((rows, count))
            })
        })
        .await?;
    let mut page = Page::from_rows(rows, limit, &uri, |item| {
        let path = item.get("path")?.as_str()?;
        if everywhere {
            Some(format!("{}{path}", item.get("building_id")?.as_str()?))
        } else {
            Some(path.to_owned())
        }
    });
    page.count = count;
    Ok(Json(page))
}

/// Splits the keyset value of a listing across buildings: a building id (36 characters) and
/// the path that follows it.
fn building_and_path_key(after: &str) -> Option<(&str, &str)> {
    let (id, path) = (after.get(..36)?, after.get(36..)?);
    (uuid::Uuid::parse_str(id).is_ok() && path.starts_with('/')).then_some((id, path))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObject {
    /// Building key or UUID.
    pub building: String,
    pub path: String,
    #[serde(rename = "type", deserialize_with = "crate::body_fields::object_type")]
    pub kind: String,
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
    pub status: Option<String>,
    /// 0 to 100: any JSON number of a whole value (`50`, `50.0`, `5e1`).
    #[serde(default, deserialize_with = "crate::body_fields::whole")]
    #[schema(minimum = 0, maximum = 100)]
    pub health: Option<i32>,
    /// `{"x": m, "y": m, "z": m, "floor": n}`. A put keeps what it is not given (`null`, as
    /// for every field, is not given), so a `null` key inside it, which would clear nothing,
    /// is refused: clear with PATCH.
    #[schema(value_type = Option<Object>)]
    pub location: Option<Value>,
    pub needs_repair: Option<bool>,
    /// Create missing ancestors as directories (`null`, like leaving it out: false).
    #[serde(default, deserialize_with = "crate::body_fields::or_default")]
    #[schema(value_type = Option<bool>)]
    pub parents: bool,
}

/// Create (or replace) an object given its building and path in the body.
#[utoipa::path(post, path = "/api/objects", tag = "objects", request_body = NewObject,
    responses((status = 200, description = "Updated (or unchanged)", body = crate::openapi::BuildingObject),
              (status = 201, description = "Created", body = crate::openapi::BuildingObject, headers(("Location" = String, description = "Where the new resource is read"))),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_object(
    State(state): State<AppState>,
    key: ApiKey,
    if_match: IfMatch,
    if_none_match: IfNoneMatch,
    Json(body): Json<NewObject>,
) -> Result<Tagged, ApiError> {
    let object = PutObject {
        kind: body.kind,
        properties: body.properties,
        status: body.status,
        health: body.health,
        location: body.location,
        needs_repair: body.needs_repair,
        parents: body.parents,
    };
    let conditions = (if_match, if_none_match);
    let mut answer = put(&state, &key, body.building, body.path, object, conditions).await?;
    if answer.status == StatusCode::CREATED {
        let location = format!("/api/objects/{}", super::field(&answer.object, "id"));
        answer.location = axum::http::HeaderValue::from_str(&location).ok();
    }
    Ok(answer)
}

/// [`locate`] for a write that may carry If-Match: with one, an object that is gone answers
/// 412, as the same write by path does (the tag names an object that is not there), not 404.
async fn locate_for(
    c: &crate::tx::Client,
    id: &str,
    if_match: &IfMatch,
) -> Result<(String, String), ApiError> {
    locate(c, id)
        .await
        .map_err(|e| match (&if_match.0, e.code) {
            // the SQLSTATE the same refusal has by path (found by a review: by id it had none)
            (Some(tag), crate::error::ErrorCode::NotFound) => ApiError::new(
                crate::error::ErrorCode::PreconditionFailed,
                format!("no object with id {id} (If-Match {tag:?})"),
            )
            .with_details(serde_json::json!({"sqlstate": "AX025"})),
            _ => e,
        })
}

/// 404 for an object id the request cannot see, with the SQLSTATE the same refusal has by path
/// (found by a review: by id it had none).
fn no_object_with_id(id: &str) -> ApiError {
    ApiError::not_found(format!("no object with id {id}"))
        .with_details(serde_json::json!({"sqlstate": "P0002"}))
}

/// Building id and path of the object with this UUID, if the request may see it, for a write
/// by path in the same transaction. The id, not the key: a key changed by a transaction that
/// commits before the write would name another building, or none (found by a review). The object is locked until the transaction ends, so the
/// path still names this object when the write runs (without the lock a move committing in
/// between left another object at that path, and the write by id changed or deleted that
/// one). The lock is the write's own (FOR UPDATE), taken once: a weaker one first (FOR KEY
/// SHARE) had two writers of one object both hold it and then deadlock upgrading it, so that
/// of two PATCHes with the same If-Match one lost with a 409 after a second instead of a 412
/// (found by an audit).
async fn locate(c: &crate::tx::Client, id: &str) -> Result<(String, String), ApiError> {
    let located = json_one(
        c,
        "SELECT jsonb_build_array(o.building_id::text, o.path::text)
           FROM arxos.objects o
          WHERE o.id = $1::text::uuid
            FOR UPDATE OF o",
        &[&id],
    )
    .await
    .map_err(|e| match e.code {
        crate::error::ErrorCode::NotFound => no_object_with_id(id),
        _ => e,
    })?;
    let part = |i: usize| located[i].as_str().unwrap_or_default().to_owned();
    Ok((part(0), part(1)))
}

/// One object, by UUID.
#[utoipa::path(get, path = "/api/objects/{id}", tag = "objects",
    params(("id" = String, Path, format = Uuid, description = "Object UUID")),
    responses((status = 200, body = crate::openapi::BuildingObject), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_by_id(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Tagged, ApiError> {
    let id = super::uuid_param(&id, "object")?;
    let row = state
        .one(
            &key,
            Scope::Read,
            None,
            concat!(
                "SELECT ",
                tagged_object_json!(),
                " FROM arxos.objects o WHERE o.id = $1::text::uuid"
            ),
            &[&id],
        )
        .await
        .map_err(|e| match e.code {
            crate::error::ErrorCode::NotFound => no_object_with_id(&id),
            _ => e,
        })?;
    Ok(Tagged::from_row(StatusCode::OK, row))
}

/// Change some fields of an object, by UUID.
#[utoipa::path(patch, path = "/api/objects/{id}", tag = "objects",
    params(("id" = String, Path, format = Uuid, description = "Object UUID")),
    request_body = PatchObject,
    responses((status = 200, body = crate::openapi::BuildingObject), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch_by_id(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<PatchObject>,
) -> Result<Tagged, ApiError> {
    let id = super::uuid_param(&id, "object")?;
    let row = state
        .tx(&key, Scope::Write, None, move |c| {
            Box::pin(async move {
                let (b, path) = locate_for(c, &id, &if_match).await?;
                patch(c, &b, &path, &body, &if_match).await
            })
        })
        .await?;
    Ok(Tagged::from_row(StatusCode::OK, row))
}

/// Delete an object, by UUID (with `recursive=true`, its subtree).
#[utoipa::path(delete, path = "/api/objects/{id}", tag = "objects",
    params(("id" = String, Path, format = Uuid, description = "Object UUID"), DeleteParams),
    responses((status = 200, body = crate::openapi::Deleted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_by_id(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
    if_match: IfMatch,
) -> Result<Json<Value>, ApiError> {
    let id = super::uuid_param(&id, "object")?;
    let recursive = params.recursive.unwrap_or(false);
    let deleted = state
        .tx(&key, Scope::Write, None, move |c| {
            Box::pin(async move {
                // The readings table before the object's row (locate locks it), the order of
                // every delete of objects (arxos.lock_readings): after it, a deadlock with a
                // readings batch making a new month's partition.
                json_one(c, "SELECT to_jsonb(arxos.lock_readings())", &[]).await?;
                let (b, path) = locate_for(c, &id, &if_match).await?;
                json_one(
                    c,
                    "SELECT to_jsonb(arxos.rm($1, $2, $3, $4))",
                    &[&b, &path, &recursive, &if_match.0],
                )
                .await
            })
        })
        .await
        .map_err(children_hint)?;
    Ok(Json(json!({ "deleted": deleted })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_across_buildings_is_an_id_then_a_path() {
        let id = "01a23bfc-eb1e-7470-98b0-9e551ea3bb79";
        assert_eq!(
            building_and_path_key(&format!("{id}/electrical/a b")),
            Some((id, "/electrical/a b"))
        );
        for bad in [
            "/electrical",
            id,
            "01a23bfc-eb1e-7470-98b0-9e551ea3bb7x/a",
            "é",
            "",
        ] {
            assert_eq!(building_and_path_key(bad), None, "{bad}");
        }
        assert_eq!(
            building_and_path_key(&format!("{id}electrical")),
            None,
            "a path starts with /"
        );
    }
}
