//! Buildings: list, create, get, change.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{count_if, Page, PageParams};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tx::{json_one, json_rows};

/// The JSON of a building row `b`.
macro_rules! building_json {
    () => {
        "jsonb_build_object('id', b.id, 'key', b.key, 'name', b.name, 'address', b.address,
            'latitude', b.latitude, 'longitude', b.longitude, 'first_object_at', b.first_object_at,
            'created_at', b.created_at, 'updated_at', b.updated_at)"
    };
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/buildings", get(list_buildings).post(create_building))
        .route(
            "/api/buildings/{b}",
            get(get_building).patch(patch_building),
        )
}

/// List the buildings the key may see, by key.
#[utoipa::path(get, path = "/api/buildings", tag = "buildings", params(PageParams),
    responses((status = 200, description = "A page of buildings, ordered by key", body = crate::openapi::PageOf<crate::openapi::Building>),
              (status = 400, body = crate::openapi::ErrorBody), (status = 401, body = crate::openapi::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_buildings(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Query(page): Query<PageParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = page.limit()?;
    let want_count = page.count.unwrap_or(false);
    let after = page.after.clone();
    // As the path listings refuse an empty `after`: it is no key, not "from the start".
    if after.as_deref().is_some_and(|a| a.trim().is_empty()) {
        return Err(ApiError::validation(
            "after must be a building key (the last key of the previous page), not empty",
        ));
    }
    let (rows, count) = state
        .tx(&key, Scope::Read, None, move |c| {
            Box::pin(async move {
                let rows = json_rows(
                    c,
                    concat!(
                        "SELECT ",
                        building_json!(),
                        " FROM arxos.buildings b WHERE $1::text IS NULL OR b.key > $1 ORDER BY b.key LIMIT $2"
                    ),
                    &[&after, &(limit + 1)],
                )
                .await?;
                let count = count_if(c, want_count, "SELECT to_jsonb(count(*)) FROM arxos.buildings", &[]).await?;
                Ok((rows, count))
            })
        })
        .await?;
    let mut page = Page::from_rows(rows, limit, &uri, |v| {
        v.get("key").and_then(Value::as_str).map(str::to_owned)
    });
    page.count = count;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBuilding {
    /// Lowercase letters, digits, - and _ (1 to 63), e.g. `b42`.
    pub key: String,
    pub name: String,
    pub address: Option<String>,
    /// Degrees, stored as double precision. Passed on as written (a number that double
    /// precision cannot hold, 1e-400 say, is refused, not rounded to 0).
    #[schema(value_type = Option<f64>)]
    pub latitude: Option<serde_json::Number>,
    #[schema(value_type = Option<f64>)]
    pub longitude: Option<serde_json::Number>,
}

/// The buildings of a key limited to some (their keys, as a JSON array), none for a key of
/// every building. Such a key cannot create a building: row-level security would refuse the new
/// row in its own words (`new row violates row-level security policy for table "buildings"`),
/// which [`limited_key`] says in the API's.
const LIMITED_TO: &str =
    "SELECT to_jsonb(array(SELECT b.key FROM arxos.buildings b ORDER BY b.key))
      WHERE arxos.scope_ids() IS NOT NULL";

/// 403 for a key limited to the buildings `keys` (a JSON array) that asks to create one.
fn limited_key(keys: &Value) -> ApiError {
    let keys: Vec<&str> = keys
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let limited = match keys.is_empty() {
        true => "buildings that no longer exist".to_owned(),
        false => format!("buildings {}", keys.join(", ")),
    };
    ApiError::new(
        crate::error::ErrorCode::Forbidden,
        format!("this key is limited to {limited}; only a key for all buildings can create one"),
    )
}

/// Create a building (`arxos.create_building`). A key limited to buildings cannot (403).
#[utoipa::path(post, path = "/api/buildings", tag = "buildings", request_body = NewBuilding,
    responses((status = 201, body = crate::openapi::Building, headers(("Location" = String, description = "Where the new resource is read"))),
              (status = 400, body = crate::openapi::ErrorBody), (status = 401, body = crate::openapi::ErrorBody),
              (status = 403, description = "The key lacks the write scope, or is limited to buildings (only a key for all buildings can create one)", body = crate::openapi::ErrorBody),
              (status = 409, body = crate::openapi::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_building(
    State(state): State<AppState>,
    key: ApiKey,
    Json(body): Json<NewBuilding>,
) -> Result<axum::response::Response, ApiError> {
    let building = state
        .tx(&key, Scope::Write, None, move |c| {
            Box::pin(async move {
                if let Some(keys) = json_rows(c, LIMITED_TO, &[]).await?.first() {
                    return Err(limited_key(keys));
                }
                // The new row is visible to the next statement, not to the creating one.
                let id = json_one(
                    c,
                    "SELECT to_jsonb(arxos.create_building($1, $2, $3, $4::text::float8, $5::text::float8))",
                    &[
                        &body.key,
                        &body.name,
                        &body.address,
                        &body.latitude.as_ref().map(ToString::to_string),
                        &body.longitude.as_ref().map(ToString::to_string),
                    ],
                )
                .await?;
                let id = id.as_str().unwrap_or_default().to_owned();
                json_one(
                    c,
                    concat!(
                        "SELECT ",
                        building_json!(),
                        " FROM arxos.buildings b WHERE b.id = $1::text::uuid"
                    ),
                    &[&id],
                )
                .await
            })
        })
        .await?;
    let location = format!("/api/buildings/{}", super::field(&building, "key"));
    Ok(super::created(&location, building))
}

/// One building, by key or UUID.
#[utoipa::path(get, path = "/api/buildings/{b}", tag = "buildings",
    params(("b" = String, Path, example = "b42", description = "Building key (e.g. b42) or UUID")),
    responses((status = 200, body = crate::openapi::Building),
              (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
              (status = 404, body = crate::openapi::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_building(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let building = state
        .tx(&key, Scope::Read, Some(&b.clone()), move |c| {
            Box::pin(async move {
                json_one(
                    c,
                    concat!(
                        "SELECT ",
                        building_json!(),
                        " FROM arxos.buildings b WHERE b.id = arxos.building_id($1)"
                    ),
                    &[&b],
                )
                .await
            })
        })
        .await?;
    Ok(Json(building))
}

/// The fields of a building a PATCH changes (`arxos.patch_building`): those given; `null`
/// clears `address`, or the position (`latitude` and `longitude` together). `name` and `key`
/// are never cleared (`null` is the field left out, as everywhere in the API). A new `key`
/// needs the admin scope: it renames every URL and filter that names the building.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBuilding {
    /// A new key (admin scope): lowercase letters, digits, - and _ (1 to 63).
    pub key: Option<String>,
    pub name: Option<String>,
    /// `null` clears the address.
    #[serde(default, deserialize_with = "crate::body_fields::nullable")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    /// Degrees; `null` (with `longitude` `null`) clears the position.
    #[serde(default, deserialize_with = "crate::body_fields::nullable")]
    #[schema(value_type = Option<f64>)]
    pub latitude: Option<Option<serde_json::Number>>,
    #[serde(default, deserialize_with = "crate::body_fields::nullable")]
    #[schema(value_type = Option<f64>)]
    pub longitude: Option<Option<serde_json::Number>>,
}

impl PatchBuilding {
    /// The changes as `arxos.patch_building` takes them: a JSON object of the fields given.
    fn changes(&self) -> Value {
        let mut changes = serde_json::Map::new();
        let strings = [("key", &self.key), ("name", &self.name)];
        for (field, value) in strings {
            if let Some(v) = value {
                changes.insert(field.to_owned(), Value::from(v.as_str()));
            }
        }
        if let Some(address) = &self.address {
            changes.insert(
                "address".to_owned(),
                address.as_deref().map_or(Value::Null, Value::from),
            );
        }
        let degrees = [("latitude", &self.latitude), ("longitude", &self.longitude)];
        for (field, value) in degrees {
            if let Some(v) = value {
                changes.insert(
                    field.to_owned(),
                    v.clone().map_or(Value::Null, Value::Number),
                );
            }
        }
        Value::Object(changes)
    }
}

/// Change a building's name, address or position (write scope), or its key (admin scope),
/// with `arxos.patch_building`.
#[utoipa::path(patch, path = "/api/buildings/{b}", tag = "buildings",
    params(("b" = String, Path, example = "b42", description = "Building key (e.g. b42) or UUID")),
    request_body = PatchBuilding,
    responses((status = 200, description = "The building as changed", body = crate::openapi::Building),
              (status = 400, body = crate::openapi::ErrorBody), (status = 401, body = crate::openapi::ErrorBody),
              (status = 403, description = "The key lacks the write scope, or the admin scope for a new key", body = crate::openapi::ErrorBody),
              (status = 404, body = crate::openapi::ErrorBody),
              (status = 409, description = "Another building has that key", body = crate::openapi::ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch_building(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Json(body): Json<PatchBuilding>,
) -> Result<Json<Value>, ApiError> {
    let scope = match body.key {
        Some(_) => Scope::Admin,
        None => Scope::Write,
    };
    let building = state
        .one(
            &key,
            scope,
            Some(&b),
            concat!(
                "SELECT ",
                building_json!(),
                " FROM arxos.patch_building($1, $2) b"
            ),
            &[&b, &body.changes()],
        )
        .await?;
    Ok(Json(building))
}
