//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations, and
//! the shapes of the JSON the SQL behind them builds.

#![allow(dead_code)] // The types below describe JSON built in SQL; only their schemas are used.

use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes::{self, buildings, keys, market, objects, query, ratings};

#[derive(OpenApi)]
#[openapi(
    info(title = "ArxOS API", description = "Buildings as queryable databases: objects by path, ratings, the market and read-only SQL. Every route but health, metrics and docs needs an API key (X-API-Key header or Authorization: Bearer)."),
    paths(
        buildings::list_buildings, buildings::create_building, buildings::get_building,
        objects::get_object, objects::put_object, objects::patch_object, objects::delete_object,
        objects::ls, objects::tree, objects::move_subtree, objects::near, objects::trace,
        objects::history, objects::connect, objects::disconnect, objects::connections_of,
        objects::find_objects, objects::create_object, objects::get_by_id, objects::patch_by_id,
        objects::delete_by_id,
        ratings::rating, ratings::breakdown, ratings::history, ratings::recompute,
        ratings::leaderboard, ratings::statistics,
        keys::create_key, keys::list_keys, keys::revoke_key,
        query::run_query,
        market::register_contributor, market::get_contributor, market::balance,
        market::top_contributors, market::contribute, market::list_contributions, market::verify,
        market::transfer, market::token
    ),
    components(schemas(ErrorBody, ErrorDetail, Building, BuildingObject, Location, LsEntry, TreeEntry,
        NearEntry, TraceStep, HistoryEntry, Connection, ConnectionOf, Rating, RatingBreakdown,
        RatingHistoryEntry, LeaderboardEntry, RatingStatistics, CreatedKey, KeyInfo, Deleted, Moved,
        routes::Page, routes::Items)),
    modifiers(&Security),
    tags((name = "buildings"), (name = "objects"), (name = "tree"), (name = "connections"),
         (name = "ratings"), (name = "keys"), (name = "query"), (name = "market"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error answer: `{"error": {"code", "message", "details"}}`.
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// VALIDATION_ERROR, NOT_FOUND, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE, UNAUTHORIZED,
    /// FORBIDDEN, CONFLICT, RATE_LIMITED, QUERY_TIMEOUT, UNAVAILABLE or INTERNAL.
    pub code: String,
    pub message: String,
    /// sqlstate, detail, hint of a database refusal; null otherwise.
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

#[derive(ToSchema)]
pub struct Building {
    #[schema(format = Uuid)]
    pub id: String,
    pub key: String,
    pub name: String,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    #[schema(format = DateTime)]
    pub first_object_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(ToSchema)]
pub struct Location {
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub z: Option<f64>,
    pub floor: Option<i32>,
}

#[derive(ToSchema)]
pub struct BuildingObject {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub building_id: String,
    pub path: String,
    pub name: String,
    pub parent_path: String,
    pub depth: i32,
    #[schema(rename = "type")]
    pub kind: String,
    pub status: String,
    pub health: i32,
    pub needs_repair: bool,
    #[schema(value_type = Object)]
    pub properties: Value,
    #[schema(value_type = Object)]
    pub metrics: Value,
    pub location: Option<Location>,
    pub instrumented: bool,
    #[schema(format = DateTime)]
    pub last_reading_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
}

/// An item of `ls`.
#[derive(ToSchema)]
pub struct LsEntry {
    pub name: String,
    pub path: String,
    #[schema(rename = "type")]
    pub kind: String,
    pub status: String,
    pub health: i32,
    pub needs_repair: bool,
    pub failed: bool,
    pub children: i64,
}

/// An item of `tree`.
#[derive(ToSchema)]
pub struct TreeEntry {
    pub path: String,
    pub name: String,
    #[schema(rename = "type")]
    pub kind: String,
    pub status: String,
    pub health: i32,
    pub needs_repair: bool,
    /// Levels below the requested path.
    pub level: i32,
}

/// An item of `near`.
#[derive(ToSchema)]
pub struct NearEntry {
    pub path: String,
    #[schema(rename = "type")]
    pub kind: String,
    pub status: String,
    /// Metres.
    pub distance: f64,
    pub location: Option<Location>,
}

/// An item of `trace`.
#[derive(ToSchema)]
pub struct TraceStep {
    pub depth: i32,
    pub path: String,
    #[schema(rename = "type")]
    pub object_type: String,
    pub status: String,
    /// The connection kind that led here (null for the start).
    pub kind: Option<String>,
    pub via: Option<String>,
    pub cycle: bool,
}

/// An item of `history`.
#[derive(ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    #[schema(format = Uuid)]
    pub object_id: String,
    pub path: String,
    /// insert, update, delete or move.
    pub op: String,
    /// Who made the change: the API key's owner.
    pub actor: String,
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(value_type = Object)]
    pub changes: Value,
}

#[derive(ToSchema)]
pub struct Connection {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub building_id: String,
    #[schema(format = Uuid)]
    pub from_id: String,
    #[schema(format = Uuid)]
    pub to_id: String,
    pub from: String,
    pub to: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: String,
}

/// An item of an object's connections.
#[derive(ToSchema)]
pub struct ConnectionOf {
    /// in or out.
    pub direction: String,
    pub kind: String,
    pub other_path: String,
    pub other_type: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    #[schema(format = Uuid)]
    pub id: String,
}

#[derive(ToSchema)]
pub struct Rating {
    pub building: String,
    pub grade: String,
    pub score: f64,
    pub structure: f64,
    pub inventory: f64,
    pub metadata: f64,
    pub sensors: f64,
    pub history: f64,
    pub quality: f64,
    pub activity: f64,
    pub version: i32,
    #[schema(format = DateTime)]
    pub calculated_at: String,
}

#[derive(ToSchema)]
pub struct RatingBreakdown {
    pub building: String,
    pub grade: String,
    pub score: f64,
    pub max_possible: f64,
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Value>,
    pub recommendations: Vec<String>,
    #[schema(format = DateTime)]
    pub calculated_at: String,
}

#[derive(ToSchema)]
pub struct RatingHistoryEntry {
    pub id: i64,
    pub version: i32,
    pub old_grade: Option<String>,
    pub new_grade: String,
    pub old_score: Option<f64>,
    pub new_score: f64,
    pub reason: String,
    pub object_path: Option<String>,
    pub actor: String,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(ToSchema)]
pub struct LeaderboardEntry {
    #[schema(format = Uuid)]
    pub building_id: String,
    pub building: String,
    pub name: String,
    pub grade: String,
    pub score: f64,
    pub version: i32,
}

#[derive(ToSchema)]
pub struct RatingStatistics {
    pub buildings: i64,
    pub average_score: Option<f64>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    /// Number of buildings per grade.
    #[schema(value_type = Object)]
    pub grades: Value,
}

#[derive(ToSchema)]
pub struct CreatedKey {
    #[schema(format = Uuid)]
    pub id: String,
    /// The key itself: shown this once.
    pub key: String,
    pub prefix: String,
}

#[derive(ToSchema)]
pub struct KeyInfo {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub owner: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    /// Building keys, or null for every building.
    pub buildings: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

#[derive(ToSchema)]
pub struct Deleted {
    pub deleted: i64,
}

#[derive(ToSchema)]
pub struct Moved {
    pub moved: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_the_routes_and_is_3_1() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/api/buildings",
            "/api/buildings/{b}/objects/{path}",
            "/api/query",
            "/api/keys",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
        assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    }
}
