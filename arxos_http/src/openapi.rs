//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations, and
//! the shapes of the JSON the SQL behind them builds.

#![allow(dead_code)] // The types below describe JSON built in SQL; only their schemas are used.

use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::import::model::Skipped;
use crate::import::routes as import;
use crate::import::write::Summary;
use crate::realtime::{recent, sse};
use crate::routes::{self, buildings, keys, market, objects, query, ratings};
use crate::webhooks::routes as webhooks;

#[derive(OpenApi)]
#[openapi(
    info(title = "ArxOS API", description = "Buildings as queryable databases: objects by path, ratings, the market and read-only SQL. Every route but health, metrics, docs and this document (/api/openapi.json) needs an API key (X-API-Key header or Authorization: Bearer)."),
    paths(
        buildings::list_buildings, buildings::create_building, buildings::get_building, buildings::patch_building,
        objects::get_object, objects::put_object, objects::patch_object, objects::delete_object,
        objects::ls, objects::tree, objects::move_subtree, objects::near, objects::trace,
        objects::history, objects::connect, objects::disconnect, objects::connections_of, objects::building_connections,
        objects::find_objects, objects::create_object, objects::get_by_id, objects::patch_by_id,
        objects::delete_by_id,
        ratings::rating, ratings::breakdown, ratings::history, ratings::recompute,
        ratings::leaderboard, ratings::statistics,
        keys::create_key, keys::list_keys, keys::revoke_key,
        query::run_query,
        market::register_contributor, market::get_contributor, market::balance, market::statement,
        market::top_contributors, market::contribute, market::list_contributions, market::verify,
        market::transfer, market::token,
        import::import, import::readings,
        sse::stream, recent::recent,
        webhooks::create, webhooks::list, webhooks::show, webhooks::patch, webhooks::remove,
        webhooks::test, webhooks::rotate, webhooks::deliveries, webhooks::retry
    ),
    components(schemas(ErrorBody, ErrorDetail, crate::error::ErrorCode, Building, BuildingObject, Location, LsEntry, TreeEntry,
        NearEntry, NearItems, TraceStep, HistoryEntry, Connection, ConnectionOf, Rating, RatingBreakdown,
        RatingHistoryEntry, LeaderboardEntry, RatingStatistics, CreatedKey, KeyInfo, Deleted, Moved,
        ImportSummary, Summary, Skipped, Reading, ReadingBatch, WrappedReadings, ReadingsRecorded, Event, EventsPage,
        Webhook, CreatedWebhook, WebhookPatch, Delivery, DeliveryAttempt,
        Contributor, Badge, Balance, BuildingBalance, ContributionRecorded, ContributionVerified, Contribution, ContributionStatus,
        Transfer, StatementEntry, Token,
        routes::Page, routes::Items)),
    modifiers(&Security, &RootListings, &RateLimited, &BodyRefusals, &QueryRefusals, &Conditional,
              &Transient, &BudgetHeaders, &Codegen),
    tags((name = "buildings"), (name = "objects"), (name = "tree"), (name = "connections"),
         (name = "ratings"), (name = "keys"), (name = "query"), (name = "market"),
         (name = "integrations"), (name = "events"), (name = "webhooks"))
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
        // Only the event routes take the key this way (a browser's EventSource cannot send
        // headers).
        components.add_security_scheme(
            "api_key_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("api_key"))),
        );
        // Wherever the key may be sent as X-API-Key, it may be sent as Authorization: Bearer
        // (crate::auth): the operations name `api_key` only, and gain `bearer` here, as an
        // alternative, right after it.
        let api_key = SecurityRequirement::new("api_key", Vec::<String>::new());
        let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let Some(security) = operation.security.as_mut() else {
                    continue;
                };
                if security.contains(&bearer) {
                    continue;
                }
                if let Some(at) = security.iter().position(|s| *s == api_key) {
                    security.insert(at + 1, bearer.clone());
                }
            }
        }
    }
}

/// An error answer: its description, with an `ErrorBody` as JSON.
fn error_response(description: &str) -> utoipa::openapi::ResponseBuilder {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

/// A header whose value is an integer, described.
fn integer_header(description: &str) -> utoipa::openapi::header::Header {
    utoipa::openapi::header::HeaderBuilder::new()
        .schema(utoipa::openapi::schema::Object::with_type(
            utoipa::openapi::Type::Integer,
        ))
        .description(Some(description))
        .build()
}

/// The operations of a path.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Every limited route (all of `/api/` but health and this document) may answer 429 with
/// `Retry-After`, and answers `X-RateLimit-*` headers (crate::rate_limit).
struct RateLimited;

impl Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let refusal = |description: &str| {
            error_response(description)
                .header(
                    "Retry-After",
                    integer_header("Seconds until a request is allowed"),
                )
                .header("X-RateLimit-Limit", integer_header("Requests a minute"))
                .header("X-RateLimit-Remaining", integer_header("Requests left now"))
                .header(
                    "X-RateLimit-Reset",
                    integer_header("Seconds until the budget is full again"),
                )
                .build()
        };
        let refused = refusal("RATE_LIMITED: the key's (or the address's) quota is used up");
        // the market's own limit answers the same way (docs/market.md, Rate limit)
        let contributions = refusal(
            "RATE_LIMITED: the key's (or the address's) quota is used up, or the market's limit on contributions per contributor and building (SQLSTATE AX011; Retry-After: when one more fits)",
        );
        // and the event stream's cap on the streams one key holds open
        let streams = refusal(
            "RATE_LIMITED: the key's (or the address's) quota is used up, or the key has as many event streams open as it may (--max-streams-per-key; that refusal has no Retry-After, a seat frees when one of them ends, and its X-RateLimit-* headers describe the request budget, not the streams)",
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            if crate::rate_limit::exempt(path) {
                continue;
            }
            for operation in operations(item) {
                operation
                    .responses
                    .responses
                    .insert("429".to_owned(), refused.clone().into());
            }
            if path == crate::realtime::STREAM_PATH {
                if let Some(get) = item.get.as_mut() {
                    get.responses
                        .responses
                        .insert("429".to_owned(), streams.clone().into());
                }
            }
            if path == "/api/contributions" {
                if let Some(post) = item.post.as_mut() {
                    post.responses
                        .responses
                        .insert("429".to_owned(), contributions.clone().into());
                }
            }
        }
    }
}

/// Every answer of a limited route says the key's budget in `X-RateLimit-*` headers, not only
/// the 429 (crate::rate_limit; the refusals made before the limiter, docs/api.md, carry none).
/// Last among the modifiers, so that the answers they add are covered too.
struct BudgetHeaders;

impl Modify for BudgetHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for (path, item) in openapi.paths.paths.iter_mut() {
            if crate::rate_limit::exempt(path) {
                continue;
            }
            for operation in operations(item) {
                let bodiless = operation.request_body.is_none();
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    // a bodiless route's 415 is the Content-Encoding refusal, made before the
                    // limiter
                    if bodiless && status == "415" {
                        continue;
                    }
                    let budget = if status == "401" {
                        [
                            (
                                "X-RateLimit-Limit",
                                "Failed authentications a minute from this address",
                            ),
                            ("X-RateLimit-Remaining", "Failed authentications left now"),
                            (
                                "X-RateLimit-Reset",
                                "Seconds until that budget is full again",
                            ),
                        ]
                    } else {
                        [
                            ("X-RateLimit-Limit", "Requests a minute"),
                            ("X-RateLimit-Remaining", "Requests left now"),
                            (
                                "X-RateLimit-Reset",
                                "Seconds until the budget is full again",
                            ),
                        ]
                    };
                    for (name, description) in budget {
                        // a body route's 415 is also the Content-Encoding refusal, made before
                        // the limiter: the headers are optional there
                        let description = if status == "415" {
                            format!("{description} (not sent when the refusal is for a Content-Encoding)")
                        } else {
                            description.to_owned()
                        };
                        response
                            .headers
                            .entry(name.to_owned())
                            .or_insert_with(|| integer_header(&description));
                    }
                }
            }
        }
    }
}

/// Every operation that takes a body may refuse it before its handler runs: 413 (over the
/// body limit), 415 (not `Content-Type: application/json`, a charset other than UTF-8, a
/// `Content-Encoding`), 422 (JSON of the wrong shape: a missing or unknown field, a wrong
/// type), 400 (not JSON). One that takes none still refuses a `Content-Length` over the limit
/// (413) and a `Content-Encoding` (415) (docs/api.md). Listed where the operation does not
/// describe them itself.
struct BodyRefusals;

impl Modify for BodyRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let refusal = |description: &str| error_response(description).build();
        let refusals = [
            ("400", refusal("VALIDATION_ERROR: the body is not JSON, or a value is refused")),
            ("413", refusal("PAYLOAD_TOO_LARGE: the body is over the server's limit")),
            ("415", refusal("VALIDATION_ERROR: the body is not sent as application/json (or another +json type) in UTF-8, or is sent with a Content-Encoding")),
            ("422", refusal("VALIDATION_ERROR: JSON of the wrong shape (a missing or unknown field, a wrong type, a fraction or a number out of range in an integer field)")),
        ];
        let bodiless = [
            ("413", refusal("PAYLOAD_TOO_LARGE: a Content-Length over the server's body limit (the route reads no body, but does not take one that large either)")),
            ("415", refusal("VALIDATION_ERROR: a Content-Encoding other than identity")),
        ];
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let listed = if operation.request_body.is_some() {
                    &refusals[..]
                } else {
                    &bodiless[..]
                };
                for (status, response) in listed {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| response.clone().into());
                }
            }
        }
    }
}

/// The object routes answer an object with its `ETag`, and their writes take `If-Match`
/// (crate::routes::etag): 412 when the object is no longer the one the tag names. The writes
/// that may create (PUT by path, POST /api/objects) take `If-None-Match: *`: create only.
struct Conditional;

impl Conditional {
    /// The operations that answer one object, and whether they write.
    const ROUTES: [(&'static str, &'static [&'static str]); 3] = [
        (
            "/api/buildings/{b}/objects/{path}",
            &["get", "put", "patch", "delete"],
        ),
        ("/api/objects/{id}", &["get", "patch", "delete"]),
        ("/api/objects", &["post"]),
    ];
}

impl Modify for Conditional {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::path::{Parameter, ParameterBuilder};
        use utoipa::openapi::{RefOr, Required, Type};
        let etag = HeaderBuilder::new()
            .schema(utoipa::openapi::schema::Object::with_type(Type::String))
            .description(Some(
                "The object's entity tag (its id and version, quoted): send it back as If-Match to write only if nobody changed the object since",
            ))
            .build();
        let header = |name: &str, description: &str| -> Parameter {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .schema(Some(utoipa::openapi::schema::Object::with_type(
                    Type::String,
                )))
                .description(Some(description))
                .build()
        };
        let if_match = header(
            "If-Match",
            "Write only if the object's ETag is this one (or, with *, only if the object exists)",
        );
        let if_none_match = header(
            "If-None-Match",
            "Only *: create the object only if none is at the path (412 if one is); any other value is 400",
        );
        let refused = error_response(
            "PRECONDITION_FAILED: If-Match named another version of the object, or none exists; If-None-Match: * found one (SQLSTATE AX025)",
        )
        .build();
        for (path, methods) in Conditional::ROUTES {
            let Some(item) = openapi.paths.paths.get_mut(path) else {
                continue;
            };
            for method in methods {
                let operation = match *method {
                    "get" => &mut item.get,
                    "put" => &mut item.put,
                    "post" => &mut item.post,
                    "patch" => &mut item.patch,
                    _ => &mut item.delete,
                };
                let Some(operation) = operation else { continue };
                for (status, response) in operation.responses.responses.iter_mut() {
                    if let (true, RefOr::T(response)) =
                        (*method != "delete" && status.starts_with('2'), response)
                    {
                        response.headers.insert("ETag".to_owned(), etag.clone());
                    }
                }
                if *method != "get" {
                    operation
                        .parameters
                        .get_or_insert_with(Vec::new)
                        .push(if_match.clone());
                }
                if matches!(*method, "put" | "post") {
                    // the writes that may create: create-only with If-None-Match: *
                    operation
                        .parameters
                        .get_or_insert_with(Vec::new)
                        .push(if_none_match.clone());
                }
                if *method != "get" {
                    operation
                        .responses
                        .responses
                        .insert("412".to_owned(), refused.clone().into());
                }
            }
        }
    }
}

/// What any operation may answer whatever it does: 503 with `Retry-After` (the database down,
/// the pool busy, a timeout), and, for a write, 409 (it lost to a concurrent change: a
/// deadlock or a serialization failure, nothing written), and for a write with a body 408 (the
/// timeout ran out while the server waited for the body). Listed where the operation does not
/// describe them itself.
struct Transient;

impl Modify for Transient {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::Type;
        let retry_after = HeaderBuilder::new()
            .schema(utoipa::openapi::schema::Object::with_type(Type::Integer))
            .description(Some("Seconds to wait before sending the request again"))
            .build();
        let unavailable = error_response(
            "UNAVAILABLE: the database is down or starting, no connection came free, or the request timed out",
        )
        .header("Retry-After", retry_after.clone())
        .build();
        let lost = error_response(
            "CONFLICT: the request lost to a concurrent change (a deadlock or a serialization failure, SQLSTATE 40P01, 40001) and wrote nothing, or conflicts with what is there",
        )
        .build();
        let slow_body = error_response(
            "VALIDATION_ERROR: the request timeout ran out while the server waited for more of the request's body (the connection is closed)",
        )
        .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            // the event stream answers a database that is down with 200 and `retry:` instead
            // (docs/realtime.md), and the health routes say it in their bodies
            let no_503 = path.starts_with("/api/health") || path == "/api/events";
            let writes = [
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in writes.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("409".to_owned())
                    .or_insert_with(|| lost.clone().into());
                if operation.request_body.is_some() {
                    operation
                        .responses
                        .responses
                        .entry("408".to_owned())
                        .or_insert_with(|| slow_body.clone().into());
                }
            }
            if no_503 {
                continue;
            }
            for operation in operations(item) {
                let response = operation
                    .responses
                    .responses
                    .entry("503".to_owned())
                    .or_insert_with(|| unavailable.clone().into());
                // an operation's own 503 (its words for it) carries the header too
                if let utoipa::openapi::RefOr::T(response) = response {
                    response
                        .headers
                        .entry("Retry-After".to_owned())
                        .or_insert_with(|| retry_after.clone());
                }
            }
        }
    }
}

/// Every operation refuses a query string it does not take (an unknown or repeated parameter,
/// a malformed string: crate::operations) with 400, whatever else it answers. Listed where the
/// operation does not describe a 400 itself.
struct QueryRefusals;

impl Modify for QueryRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let refusal = error_response(
            "VALIDATION_ERROR: an unknown query parameter, or a malformed query string",
        )
        .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                operation
                    .responses
                    .responses
                    .entry("400".to_owned())
                    .or_insert_with(|| refusal.clone().into());
            }
        }
    }
}

/// What client generators need of the document, applied to it as JSON, last:
/// - a listing's items name their schema (`PageOf_BuildingObject` holds `BuildingObject`s,
///   the type `GET …/objects/{path}` answers), where utoipa writes a generic's type out again,
///   which a generated client turns into a second, incompatible type;
/// - the fields the server always writes (null when there is nothing) are required, so that a
///   generated type holds `T | null`, not `T | null | unset`; a page's `next` too;
/// - a header parameter is a string or an integer, never null (a header cannot be);
/// - the server is where the document came from (`servers: [{"url": "/"}]`).
struct Codegen;

/// The response schemas whose every property is always in the answer.
const ALWAYS_WRITTEN: &[&str] = &[
    "Building",
    "BuildingObject",
    "Location",
    "Webhook",
    "CreatedWebhook",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "KeyInfo",
    "RatingHistoryEntry",
    "ErrorDetail",
    "TraceStep",
    "NearEntry",
    "RatingStatistics",
    "ContributionRecorded",
    "ContributionVerified",
];

/// The properties of schema `schema`, with the object that holds them: its own, or those of
/// the members of an `allOf` (a schema that flattens another, as `RatingHistoryEntry` does
/// `Components`, has none of its own; found by an audit: its fields were left optional).
fn property_holders(schema: &mut Value) -> Vec<&mut Value> {
    if schema["properties"].is_object() {
        return vec![schema];
    }
    match schema.get_mut("allOf").and_then(Value::as_array_mut) {
        Some(members) => members
            .iter_mut()
            .filter(|m| m["properties"].is_object())
            .collect(),
        None => Vec::new(),
    }
}

/// The listings whose operations take `count=true`: the others never write `count`.
fn counted_listings(doc: &Value) -> Vec<String> {
    let mut counted = Vec::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            let takes_count = operation["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == "count" && p["in"] == "query")
            });
            let listing = operation["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next());
            if let (true, Some(listing)) = (takes_count, listing) {
                counted.push(listing.to_owned());
            }
        }
    }
    counted
}

impl Modify for Codegen {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(mut doc) = serde_json::to_value(&*openapi) else {
            return;
        };
        codegen(&mut doc);
        if let Ok(done) = serde_json::from_value(doc) {
            *openapi = done;
        }
    }
}

fn codegen(doc: &mut Value) {
    let names: Vec<String> = doc["components"]["schemas"]
        .as_object()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    let counted = counted_listings(doc);
    // The generic page and list types the listings are made from: no answer is one of them,
    // so a generated client would only get two unused types (found by an audit).
    let text = doc.to_string();
    let schemas = &mut doc["components"]["schemas"];
    for generic in ["Page", "Items"] {
        if !text.contains(&format!("\"#/components/schemas/{generic}\"")) {
            if let Some(all) = schemas.as_object_mut() {
                all.remove(generic);
            }
        }
    }
    for name in &names {
        let listing = name
            .strip_prefix("PageOf_")
            .or_else(|| name.strip_prefix("ItemsOf_"));
        if let Some(item) = listing.filter(|item| names.iter().any(|n| n == item)) {
            schemas[name]["properties"]["items"]["items"] =
                serde_json::json!({"$ref": format!("#/components/schemas/{item}")});
        }
        if name.starts_with("PageOf_") && !counted.contains(name) {
            if let Some(properties) = schemas[name]["properties"].as_object_mut() {
                properties.remove("count");
            }
        }
        if ALWAYS_WRITTEN.contains(&name.as_str()) {
            for holder in property_holders(&mut schemas[name]) {
                let mut required: Vec<Value> = holder["properties"]
                    .as_object()
                    .map(|p| p.keys().cloned().map(Value::String).collect())
                    .unwrap_or_default();
                required.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                holder["required"] = Value::Array(required);
            }
            continue;
        }
        let always: Option<Vec<Value>> = if name.starts_with("PageOf_") {
            let mut required: Vec<Value> = schemas[name]["required"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            required.push(Value::String("next".into()));
            Some(required)
        } else {
            None
        };
        if let Some(mut required) = always {
            required.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            required.dedup();
            schemas[name]["required"] = Value::Array(required);
        }
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                if let Some(responses) = operation["responses"].as_object_mut() {
                    for (status, response) in responses.iter_mut() {
                        if response["description"].as_str().is_none_or(str::is_empty) {
                            response["description"] = Value::from(status_description(status));
                        }
                        if status == "401" {
                            // RFC 9110, 11.6.1: every 401 names the scheme (error.rs).
                            response["headers"]["WWW-Authenticate"] = serde_json::json!({
                                "description": "Bearer realm=\"arxos\" (the key may also be sent as X-API-Key)",
                                "schema": {"type": "string"}
                            });
                        }
                    }
                }
                let Some(parameters) = operation["parameters"].as_array_mut() else {
                    continue;
                };
                for parameter in parameters.iter_mut().filter(|p| p["in"] == "header") {
                    if let Some(types) = parameter["schema"]["type"].as_array() {
                        let types: Vec<Value> =
                            types.iter().filter(|t| *t != "null").cloned().collect();
                        parameter["schema"]["type"] = match types.as_slice() {
                            [one] => one.clone(),
                            _ => Value::Array(types),
                        };
                    }
                }
            }
        }
    }
    doc["servers"] = serde_json::json!([{"url": "/"}]);
}

/// The document as served: utoipa's, with [`generator_shapes`] applied to its JSON (utoipa's
/// own types cannot hold some of them: `items: {}` did not survive a round trip).
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    generator_shapes(&mut doc);
    doc
}

/// The market's and the ratings' decimals: `numeric` in the database, written with their digits (docs/api.md,
/// "Numbers"), so declared without `format: double`, which tells a generator to read them into
/// a binary float (found by an audit: a 20-digit token amount lost its last digits in a
/// generated client).
const DECIMAL_SCHEMAS: [&str; 19] = [
    // the ratings' scores and components (numeric(6, 3); found by a review)
    "Components",
    "Rating",
    "RatingBreakdown",
    "BreakdownComponent",
    "RatingHistoryEntry",
    "LeaderboardEntry",
    "RatingStatistics",
    "Contributor",
    "StatementPart",
    "TopContributor",
    "Balance",
    "BuildingBalance",
    "ContributionRecorded",
    "Contribution",
    "ContributionVerified",
    "Transfer",
    "NewTransfer",
    "StatementEntry",
    "Token",
];

/// What client generators need beyond what utoipa writes (found by an audit that generated a
/// client with openapi-python-client): every array names its items (an array of any JSON
/// value has `items: {}`; without it `POST /api/query` was not generated at all); the
/// market's decimals have no binary-float format; grades and trust levels are enums; the
/// import route also takes any file as `application/octet-stream`, and JSON arrays; a 415
/// declares the `Accept-Encoding` it sends.
fn generator_shapes(doc: &mut Value) {
    fn walk(value: &mut Value, decimals: bool) {
        match value {
            Value::Object(map) => {
                let is_array = match map.get("type") {
                    Some(Value::String(t)) => t == "array",
                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "array"),
                    _ => false,
                };
                if is_array && !map.contains_key("items") && !map.contains_key("prefixItems") {
                    map.insert("items".into(), serde_json::json!({}));
                }
                if decimals && map.get("format").is_some_and(|f| f == "double") {
                    map.remove("format");
                }
                for (key, child) in map.iter_mut() {
                    let is_property_map = key == "properties";
                    if is_property_map {
                        if let Some(properties) = child.as_object_mut() {
                            for (name, property) in properties.iter_mut() {
                                enumerate(name, property);
                            }
                        }
                    }
                    walk(child, decimals);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, decimals)),
            _ => {}
        }
    }
    fn enumerate(name: &str, property: &mut Value) {
        let words: Vec<&str> = match name {
            "grade" | "old_grade" | "new_grade" => arxos_core::rating::Grade::all()
                .map(arxos_core::rating::Grade::as_str)
                .collect(),
            "trust_level" => arxos_core::market::TrustLevel::ALL
                .iter()
                .map(|t| t.as_str())
                .collect(),
            _ => return,
        };
        let nullable = match &property["type"] {
            Value::Array(ts) => ts.iter().any(|t| t == "null"),
            _ => false,
        };
        if property["type"] == "string" || nullable {
            let mut values: Vec<Value> = words.into_iter().map(Value::from).collect();
            if nullable {
                values.push(Value::Null);
            }
            property["enum"] = Value::Array(values);
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            walk(schema, DECIMAL_SCHEMAS.contains(&name.as_str()));
        }
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for path in paths.values_mut() {
            walk(path, false);
            // query parameters by the same names take the same words
            for operation in path
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                // (get_mut: indexing a JSON object to write inserts the key, as null, and a
                // document with `parameters: null` is no OpenAPI: found by CI's schemathesis)
                if let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                {
                    for parameter in parameters {
                        if let Some(name) = parameter["name"].as_str().map(str::to_owned) {
                            enumerate(&name, &mut parameter["schema"]);
                        }
                    }
                }
            }
        }
    }
    let import = &mut doc["paths"]["/api/buildings/{b}/import"]["post"]["requestBody"]["content"];
    if import.is_object() {
        import["application/json"]["schema"] = serde_json::json!({
            "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]
        });
        import["application/octet-stream"]["schema"] =
            serde_json::json!({"type": "string", "format": "binary"});
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for operation in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|o| o.values_mut())
        {
            if let Some(refused) = operation
                .get_mut("responses")
                .and_then(|r| r.get_mut("415"))
            {
                refused["headers"]["Accept-Encoding"] = serde_json::json!({
                    "description": "identity: sent when the body came with a Content-Encoding this server does not take",
                    "schema": {"type": "string"}
                });
            }
        }
    }
}

/// What a response of `status` means on any operation, for the responses the operation does
/// not describe itself (an empty description tells a reader, and a generated client's docs,
/// nothing; docs/api.md, "Errors", has the whole table).
fn status_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "Done; no content",
        "304" => "Not modified: the ETag in If-None-Match still matches",
        "400" => "A parameter or the body broke a rule, named in the message (VALIDATION_ERROR)",
        "401" => "No API key, or an unknown or revoked one (UNAUTHORIZED)",
        "403" => "The key lacks the scope this operation needs, or may not reach this building (FORBIDDEN)",
        "404" => "Not found: the building, object or resource named does not exist, or not for this key (NOT_FOUND)",
        "405" => "The path exists but not with this method (METHOD_NOT_ALLOWED)",
        "409" => "Conflict with the current state, or lost to a concurrent change and rolled back: nothing was written (CONFLICT)",
        "410" => "The events after the position given were purged (GONE)",
        "412" => "If-Match or If-None-Match did not hold (PRECONDITION_FAILED)",
        "413" => "The body is larger than the server takes (PAYLOAD_TOO_LARGE)",
        "415" => "A JSON body without a JSON Content-Type, or not in UTF-8 (VALIDATION_ERROR)",
        "422" => "A JSON body of the wrong shape: an unknown field, a wrong type (VALIDATION_ERROR)",
        "429" => "Too many requests: wait for Retry-After (RATE_LIMITED)",
        "500" => "An unexpected error; the cause is in the server's log (INTERNAL)",
        "503" => "The database is unavailable or the request timed out; try again after Retry-After (UNAVAILABLE)",
        _ => "See docs/api.md, \"Errors\"",
    }
}

/// `ls` and `tree` also answer without a path, for the building's root: the same operations
/// without the `path` parameter.
struct RootListings;

impl Modify for RootListings {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (with_path, root) in [
            ("/api/buildings/{b}/ls/{path}", "/api/buildings/{b}/ls"),
            ("/api/buildings/{b}/tree/{path}", "/api/buildings/{b}/tree"),
        ] {
            let Some(mut item) = openapi.paths.paths.get(with_path).cloned() else {
                continue;
            };
            if let Some(get) = item.get.as_mut() {
                if let Some(id) = get.operation_id.as_mut() {
                    id.push_str("_root");
                }
                if let Some(params) = get.parameters.as_mut() {
                    params.retain(|p| !(p.name == "path" && p.parameter_in == ParameterIn::Path));
                }
            }
            openapi.paths.paths.insert(root.to_owned(), item);
        }
    }
}

/// One page of a listing, with the shape of its items.
#[derive(ToSchema)]
pub struct PageOf<T: ToSchema> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// The URL of the next page (path and query), or null on the last page.
    pub next: Option<String>,
    /// The total number of items, when asked for with `count=true`.
    pub count: Option<i64>,
}

/// A list that is not paginated, with the shape of its items.
#[derive(ToSchema)]
pub struct ItemsOf<T: ToSchema> {
    pub items: Vec<T>,
}

/// Every error answer: `{"error": {"code", "message", "details"}}`.
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    #[schema(value_type = crate::error::ErrorCode)]
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

/// The answer of `near`: the nearest objects up to `limit`.
#[derive(ToSchema)]
pub struct NearItems {
    pub items: Vec<NearEntry>,
    /// More objects lie within the radius than `limit` let through: the farthest were left
    /// out (a larger `limit`, up to 1000, or a smaller radius).
    pub truncated: bool,
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
    /// A connection back into the route that reached `via`: listed, not followed.
    pub cycle: bool,
    /// A connection into an object reached before at a smaller depth (listed there with what
    /// lies beyond it): listed, not followed again.
    pub again: bool,
    /// The walk stopped here at `max_depth`, and the object has connections (of `kind`, in the
    /// walk's direction) it did not follow: trace from it, or with a larger `max_depth`.
    pub more: bool,
}

/// An item of `history`.
#[derive(ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    #[schema(format = Uuid)]
    pub object_id: String,
    pub path: String,
    #[schema(value_type = HistoryOp)]
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
    /// Out of the object (it is the connection's `from`) or into it.
    #[schema(value_type = ConnectionDirection)]
    pub direction: String,
    pub kind: String,
    pub other_path: String,
    pub other_type: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    #[schema(format = Uuid)]
    pub id: String,
}

/// The seven components of a rating, 0 to 100 each (docs/rating.md).
#[derive(ToSchema, Deserialize)]
pub struct Components {
    pub structure: f64,
    pub inventory: f64,
    pub metadata: f64,
    pub sensors: f64,
    pub history: f64,
    pub quality: f64,
    pub activity: f64,
}

#[derive(ToSchema, Deserialize)]
pub struct Rating {
    pub building: String,
    pub grade: String,
    pub score: f64,
    #[serde(flatten)]
    pub components: Components,
    /// The id of the rating history row that recorded this rating (a bigint).
    pub version: i64,
    #[schema(format = DateTime)]
    pub calculated_at: String,
}

#[derive(ToSchema)]
pub struct RatingBreakdown {
    pub building: String,
    pub grade: String,
    pub score: f64,
    pub max_possible: f64,
    pub components: Vec<BreakdownComponent>,
    pub recommendations: Vec<String>,
    #[schema(format = DateTime)]
    pub calculated_at: String,
}

/// One of the seven components of a breakdown (docs/rating.md).
#[derive(ToSchema, Deserialize)]
pub struct BreakdownComponent {
    /// structure, inventory, metadata, sensors, history, quality or activity.
    pub name: String,
    pub description: String,
    /// 0 to 100.
    pub score: f64,
    /// Its share of the score (the seven sum to 1).
    pub weight: f64,
    /// score × weight, rounded to 3 decimals.
    pub weighted: f64,
}

/// What a ledger transaction moved in one building (a statement entry's `parts`).
#[derive(ToSchema, Deserialize)]
pub struct StatementPart {
    /// The building's key.
    pub building: String,
    /// Tokens, exact (numeric(20,6)).
    pub amount: f64,
}

#[derive(ToSchema, Deserialize)]
pub struct RatingHistoryEntry {
    pub id: i64,
    #[schema(format = Uuid)]
    pub building_id: String,
    pub old_grade: Option<String>,
    pub new_grade: String,
    pub old_score: Option<f64>,
    pub new_score: f64,
    #[serde(flatten)]
    pub components: Components,
    #[schema(value_type = RatingReason)]
    pub reason: String,
    pub object_path: Option<String>,
    #[schema(format = Uuid)]
    pub contribution_id: Option<String>,
    pub actor: String,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(ToSchema, Deserialize)]
pub struct LeaderboardEntry {
    #[schema(format = Uuid)]
    pub building_id: String,
    pub building: String,
    pub name: String,
    pub grade: String,
    pub score: f64,
    #[serde(flatten)]
    pub components: Components,
    /// The id of the rating history row that recorded this rating (a bigint).
    pub version: i64,
    #[schema(format = DateTime)]
    pub calculated_at: String,
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

/// A contributor (`arxos.contributor`). Token figures are JSON numbers with the ledger's six
/// decimals.
#[derive(ToSchema)]
pub struct Contributor {
    #[schema(format = Uuid)]
    pub id: String,
    pub handle: String,
    pub display_name: String,
    /// newcomer, contributor, trusted, expert or master (docs/market.md).
    pub trust_level: String,
    pub reputation: f64,
    /// Tokens held, over every building the key may use (every building for an unscoped key).
    pub balance: f64,
    pub contributions: i64,
    pub verified_contributions: i64,
    pub rejected_contributions: i64,
    /// Contributions verified by this contributor.
    pub verifications_given: i64,
    pub objects_documented: i64,
    pub buildings_pioneered: i64,
    pub registration_rank: i64,
    /// Erased by `arxos.forget_contributor` (handle and name replaced).
    pub forgotten: bool,
    #[schema(format = DateTime)]
    pub joined_at: String,
    #[schema(format = DateTime)]
    pub last_active_at: String,
    pub badges: Vec<Badge>,
}

/// One place of the contributors' leaderboard (`arxos.leaderboard`), by tokens earned.
#[derive(ToSchema)]
pub struct TopContributor {
    /// 1 for the most tokens earned; ties share a rank.
    pub rank: i64,
    #[schema(format = Uuid)]
    pub contributor_id: String,
    pub handle: String,
    pub display_name: String,
    pub trust_level: String,
    pub reputation: f64,
    /// Tokens earned (in the building given, else everywhere the key may see).
    pub earned: f64,
    pub contributions: i64,
}

#[derive(ToSchema)]
pub struct Badge {
    pub badge: String,
    pub why: String,
    #[schema(format = DateTime)]
    pub earned_at: String,
}

/// A contributor's tokens (`arxos.balance`, `arxos.balances`).
#[derive(ToSchema)]
pub struct Balance {
    #[schema(format = Uuid)]
    pub contributor: String,
    pub balance: f64,
    pub buildings: Vec<BuildingBalance>,
}

#[derive(ToSchema)]
pub struct BuildingBalance {
    /// The building's key.
    pub building: String,
    pub balance: f64,
    /// Rewards net of claw-backs (transfers excluded).
    pub earned: f64,
}

/// What `arxos.contribute` recorded (or, `replayed`, recorded before under the same
/// Idempotency-Key).
#[derive(ToSchema)]
pub struct ContributionRecorded {
    #[schema(format = Uuid)]
    pub contribution_id: String,
    #[schema(value_type = ContributionStatus)]
    pub status: String,
    pub quality: f64,
    pub tokens_earned: f64,
    pub old_grade: String,
    pub new_grade: String,
    pub old_score: f64,
    pub new_score: f64,
    /// The reward's ledger transaction (null when nothing was paid).
    pub transaction_id: Option<i64>,
    pub replayed: bool,
}

/// A row of `arxos.contributions`, as `GET /api/contributions` lists it (docs/market.md).
#[derive(ToSchema)]
pub struct Contribution {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub building_id: String,
    #[schema(format = Uuid)]
    pub contributor_id: String,
    #[schema(rename = "type", value_type = ContributionType)]
    pub kind: String,
    /// 64 lowercase hexadecimal digits, unique per building.
    pub data_hash: String,
    #[schema(required = true)]
    pub path: Option<String>,
    /// The object the contribution's path named when it was recorded.
    #[schema(format = Uuid, required = true)]
    pub object_id: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    #[schema(value_type = Option<Object>, required = true)]
    pub changes: Option<Value>,
    /// 0 to 1.
    pub quality: f64,
    pub trust_level: String,
    pub old_grade: String,
    pub new_grade: String,
    pub old_score: f64,
    pub new_score: f64,
    /// The score points the impact bonus paid for.
    pub bonus_gain: f64,
    #[schema(value_type = ContributionStatus)]
    pub status: String,
    /// The reward of the current status.
    pub reward: f64,
    /// What the contributor holds for it now (rewards net of claw-backs).
    pub tokens_earned: f64,
    /// The reputation this contribution has moved its contributor by.
    pub reputation_applied: f64,
    #[schema(required = true)]
    pub first_reward: Option<f64>,
    #[schema(required = true)]
    pub first_transaction_id: Option<i64>,
    /// The `Idempotency-Key` it was recorded under.
    #[schema(required = true)]
    pub idempotency_key: Option<String>,
    /// Who last verified (or rejected) it.
    #[schema(format = Uuid, required = true)]
    pub verifier_id: Option<String>,
    pub judged_across_owners: bool,
    pub verified_by_same_owner: bool,
    #[schema(format = DateTime, required = true)]
    pub verified_at: Option<String>,
    #[schema(format = DateTime)]
    pub status_changed_at: String,
    pub actor: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// What a history row records.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum HistoryOp {
    Insert,
    Update,
    Delete,
    Move,
}

/// Why a rating was recorded (`arxos.rating_history.reason`, docs/rating.md).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RatingReason {
    InitialRating,
    ObjectAdded,
    ObjectUpdated,
    ObjectRemoved,
    ContributionVerified,
    SensorInstalled,
    TimeWindow,
    ManualRecalculation,
    BulkUpdate,
}

/// A connection's direction, seen from one of its objects.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ConnectionDirection {
    Out,
    In,
}

/// The kinds of contribution (`arxos.contribution_types()`; others are AX004).
#[derive(ToSchema)]
#[allow(non_camel_case_types, dead_code)]
pub enum ContributionType {
    floor_plan_upload,
    bim_model_update,
    sensor_installation,
    photo_documentation,
    object_documentation,
    maintenance_record,
    quality_improvement,
    property_enrichment,
    verification_activity,
}

/// The status of a contribution.
#[derive(ToSchema)]
#[allow(non_camel_case_types, dead_code)]
pub enum ContributionStatus {
    pending,
    auto_verified,
    peer_verified,
    expert_verified,
    rejected,
}

/// What `arxos.verify_contribution` changed.
#[derive(ToSchema)]
pub struct ContributionVerified {
    #[schema(format = Uuid)]
    pub contribution_id: String,
    #[schema(value_type = ContributionStatus)]
    pub old_status: String,
    #[schema(value_type = ContributionStatus)]
    pub new_status: String,
    pub tokens_delta: f64,
    pub tokens_earned: f64,
    pub verifier_reward: f64,
    pub transaction_id: Option<i64>,
    pub verifier_transaction_id: Option<i64>,
}

#[derive(ToSchema)]
pub struct Transfer {
    pub transaction_id: i64,
    /// The sender's contributor id (whether the request gave its id or its handle).
    #[schema(format = Uuid)]
    pub from: String,
    /// The recipient's contributor id.
    #[schema(format = Uuid)]
    pub to: String,
    /// The amount booked, as the ledger holds it (6 decimals: `0.1` is answered `0.100000`).
    pub amount: f64,
    /// A retry under the `Idempotency-Key` of a transfer booked before: nothing was booked now,
    /// and the answer is that transaction's, read from the ledger.
    pub replayed: bool,
}

/// A line of a contributor's statement (`arxos.statement`).
#[derive(ToSchema)]
pub struct StatementEntry {
    pub transaction_id: i64,
    #[schema(value_type = LedgerKind)]
    pub kind: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// What the transaction moved for the contributor (negative: tokens out), over the
    /// buildings the key may use.
    pub amount: f64,
    /// The same per building: `[{building, amount}]`.
    pub parts: Vec<StatementPart>,
    /// The other contributor of a transfer (its handle); null for rewards.
    #[schema(required = true)]
    pub counterparty: Option<String>,
    /// The contribution a reward is for; null for transfers.
    #[schema(format = Uuid, required = true)]
    pub contribution_id: Option<String>,
    #[schema(required = true)]
    pub memo: Option<String>,
}

/// The kind of a ledger transaction.
#[derive(ToSchema)]
#[allow(non_camel_case_types, dead_code)]
pub enum LedgerKind {
    reward,
    verifier_reward,
    transfer,
}

/// A building's token (`arxos.token`).
#[derive(ToSchema)]
pub struct Token {
    pub grade: String,
    pub score: f64,
    pub supply: f64,
    pub circulating: f64,
    pub locked: f64,
    pub price: f64,
    pub market_cap: f64,
    pub minted: f64,
    pub holders: i64,
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
    #[schema(value_type = Vec<crate::auth::Scope>)]
    pub scopes: Vec<String>,
    /// Building keys, or null for every building; a building deleted since is listed by its
    /// id (a UUID), since it has no key any more.
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

/// What `POST /api/buildings/{b}/import` wrote (of `skipped`, only the first 1000 are listed).
#[derive(ToSchema)]
pub struct ImportSummary {
    #[serde(flatten)]
    pub summary: Summary,
    pub skipped_count: i64,
    /// True when the import ran with `?dry_run=true` (and was rolled back); absent otherwise.
    pub dry_run: Option<bool>,
}

/// One sensor reading. Unknown keys are refused (a misspelt `at` would record the sample now).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// The object's path (it must exist).
    pub path: String,
    /// A finite number.
    pub value: f64,
    /// Stored as given, never converted.
    pub unit: Option<String>,
    /// ISO 8601 with a zone; default: the database's clock when the request's readings are read.
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

/// The body of `POST /api/buildings/{b}/readings`: an array of readings, or the same array
/// under `readings`.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum ReadingBatch {
    #[schema(value_type = Vec<Reading>)]
    List(Vec<Value>),
    Wrapped(WrappedReadings),
}

/// The readings under `readings`; no other key.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrappedReadings {
    #[schema(value_type = Vec<Reading>)]
    pub readings: Vec<Value>,
}

#[derive(ToSchema)]
pub struct ReadingsRecorded {
    /// Readings stored (a repeated object and time counts once).
    pub recorded: i64,
    /// Distinct objects the batch recorded readings of (whether or not a reading is their latest).
    pub objects: i64,
}

/// An outbox event (`arxos.event_json`), as SSE data, in `/api/events/recent` and in webhook
/// bodies.
#[derive(ToSchema)]
pub struct Event {
    /// The outbox id. Null only in the body of a `webhook.test` delivery, which is not an
    /// outbox event; events on the stream, in `/api/events/recent` and in other webhook
    /// bodies always have one.
    #[schema(required = true)]
    pub id: Option<i64>,
    /// Dotted type, such as object.created or bilt.rating.changed.
    #[schema(rename = "type")]
    pub kind: String,
    /// The building's key.
    pub building: Option<String>,
    #[schema(format = Uuid)]
    pub object_id: Option<String>,
    pub object_type: Option<String>,
    pub path: Option<String>,
    pub actor: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// The body by type (docs/realtime.md): object events carry the object's fields or
    /// changes and its `version`, the second half of its ETag.
    #[schema(value_type = Object)]
    pub body: Value,
}

#[derive(ToSchema)]
pub struct EventsPage {
    pub events: Vec<Event>,
    /// The id to pass as `after` next time (equal to `after` when there was nothing new).
    pub last_id: i64,
    /// The newest event id when the page was read: where a consumer that has just taken a
    /// snapshot starts.
    pub head: i64,
}

/// A webhook, without its secret.
#[derive(ToSchema)]
pub struct Webhook {
    #[schema(format = Uuid)]
    pub id: String,
    pub url: String,
    pub description: String,
    pub types: Option<Vec<String>>,
    /// The building's key.
    pub building: Option<String>,
    pub under: Option<String>,
    pub object_type: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    pub failing_since: Option<String>,
    /// Until when the previous secret keeps signing, during a rotation.
    #[schema(format = DateTime)]
    pub rotating_until: Option<String>,
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// A webhook with its signing secret, shown once (at creation and rotation).
#[derive(ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_<base64>`: the Standard Webhooks signing key.
    pub secret: String,
}

/// The body of `PATCH /api/webhooks/{id}`: only the fields sent change; `null` clears a filter
/// (`url` and `enabled` cannot be null). Unknown fields are refused.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[schema(nullable = false)]
    pub url: Option<String>,
    pub types: Option<Vec<String>>,
    pub building: Option<String>,
    pub under: Option<String>,
    pub object_type: Option<String>,
    pub description: Option<String>,
    /// `true` also clears the failure state.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// One message to one webhook, with every attempt.
#[derive(ToSchema)]
pub struct Delivery {
    pub id: i64,
    #[schema(format = Uuid)]
    pub webhook_id: String,
    /// Null for test messages.
    pub event_id: Option<i64>,
    /// The `webhook-id` header: the same on every attempt.
    pub message_id: String,
    #[schema(value_type = crate::webhooks::routes::DeliveryStatus)]
    pub status: String,
    /// Attempts within the current retry schedule: a retry by hand starts a new schedule at
    /// 0, so this can be less than the entries of `attempt_log`, which keeps them all.
    pub attempts: i32,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    pub attempt_log: Vec<DeliveryAttempt>,
}

#[derive(ToSchema)]
pub struct DeliveryAttempt {
    pub attempt: i32,
    #[schema(format = DateTime)]
    pub at: String,
    /// The endpoint's HTTP status; null when it did not answer.
    pub status_code: Option<i32>,
    pub latency_ms: Option<i32>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_the_routes_and_is_3_1() {
        let doc = document();
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
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        // /api/query's parameters and cells are any JSON value, not objects.
        let query = &doc["components"]["schemas"];
        let any = |schema: &serde_json::Value| schema.is_object() && schema.get("type").is_none();
        assert!(
            any(&query["QueryRequest"]["properties"]["params"]["items"]),
            "{query}"
        );
        assert!(
            any(&query["QueryResult"]["properties"]["rows"]["items"]["items"]),
            "{}",
            query["QueryResult"]
        );
    }

    /// What a client generator needs (found by an audit with openapi-python-client): arrays
    /// name their items, the market's decimals have no float format, grades and trust levels
    /// are enums, the import route takes any file as octet-stream and JSON arrays, 415s
    /// declare Accept-Encoding.
    #[test]
    fn generators_get_items_decimals_enums_and_any_file() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["QueryRequest"]["properties"]["params"]["items"],
            serde_json::json!({})
        );
        assert_eq!(
            schemas["QueryResult"]["properties"]["rows"]["items"]["items"],
            serde_json::json!({})
        );
        assert!(
            schemas["Transfer"]["properties"]["amount"]
                .get("format")
                .is_none(),
            "{}",
            schemas["Transfer"]
        );
        assert!(schemas["Token"]["properties"]["price"]
            .get("format")
            .is_none());
        // the ratings' numeric(6, 3) too (found by a review: declared double)
        for (schema, field) in [
            ("Rating", "score"),
            ("Components", "sensors"),
            ("RatingHistoryEntry", "new_score"),
            ("LeaderboardEntry", "score"),
            ("RatingBreakdown", "score"),
            ("RatingStatistics", "average_score"),
        ] {
            // (Rating flattens Components: an allOf of its own properties and the reference)
            let own = std::iter::once(&schemas[schema]);
            let parts = schemas[schema]["allOf"].as_array().into_iter().flatten();
            let property = own
                .chain(parts)
                .map(|part| &part["properties"][field])
                .find(|p| p.is_object())
                .unwrap_or_else(|| panic!("{schema}.{field}: {}", schemas[schema]));
            assert!(
                property.get("format").is_none(),
                "{schema}.{field}: {property}"
            );
        }
        assert_eq!(
            schemas["Token"]["properties"]["grade"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            26
        );
        assert_eq!(
            schemas["Contributor"]["properties"]["trust_level"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        // so do query parameters by those names (the leaderboard's grade filter)
        let grade = doc["paths"]["/api/ratings"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "grade")
            .cloned()
            .unwrap();
        assert_eq!(
            grade["schema"]["enum"].as_array().map(Vec::len),
            Some(26),
            "{grade}"
        );
        // known shapes are typed, not free-form objects
        assert_eq!(
            schemas["RatingBreakdown"]["properties"]["components"]["items"]["$ref"],
            "#/components/schemas/BreakdownComponent"
        );
        assert_eq!(
            schemas["StatementEntry"]["properties"]["parts"]["items"]["$ref"],
            "#/components/schemas/StatementPart"
        );
        assert!(schemas["StatementPart"]["properties"]["amount"]
            .get("format")
            .is_none());
        let import = &doc["paths"]["/api/buildings/{b}/import"]["post"]["requestBody"]["content"];
        assert_eq!(
            import["application/octet-stream"]["schema"]["format"],
            "binary"
        );
        assert_eq!(
            import["application/json"]["schema"]["oneOf"][1]["type"],
            "array"
        );
        let put = &doc["paths"]["/api/buildings/{b}/objects/{path}"]["put"]["responses"]["415"];
        assert!(put["headers"]["Accept-Encoding"].is_object(), "{put}");
        // no member is null where OpenAPI wants an object or array (parameters, responses)
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for member in ["parameters", "responses", "requestBody"] {
                    assert!(
                        operation.get(member).is_none_or(|m| !m.is_null()),
                        "{method} {path}: {member} is null"
                    );
                }
            }
        }
        // every array in the document names its items
        fn arrays_without_items(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::Object(m) => {
                    usize::from(
                        m.get("type") == Some(&serde_json::json!("array"))
                            && !m.contains_key("items"),
                    ) + m.values().map(arrays_without_items).sum::<usize>()
                }
                serde_json::Value::Array(a) => a.iter().map(arrays_without_items).sum(),
                _ => 0,
            }
        }
        assert_eq!(arrays_without_items(&doc), 0);
    }

    /// What client generators read: listings name their items' schema, bounds and defaults
    /// are declared, headers are never null.
    #[test]
    fn listings_and_headers_declare_their_shapes() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let param = |path: &str, method: &str, name: &str| -> serde_json::Value {
            let params = doc["paths"][path][method]["parameters"].as_array().unwrap();
            params.iter().find(|p| p["name"] == name).unwrap()["schema"].clone()
        };
        let limit = param("/api/events/recent", "get", "limit");
        assert_eq!(limit["default"], 100);
        assert_eq!(limit["maximum"], 1000);
        assert_eq!(param("/api/events/recent", "get", "after")["default"], 0);
        // the filters are still there, beside the page
        param("/api/events/recent", "get", "types");
        for (path, method) in [("/api/contributions", "post"), ("/api/transfers", "post")] {
            let key = param(path, method, "Idempotency-Key");
            assert_eq!(key["maxLength"], 200, "{path}");
            assert_eq!(key["minLength"], 1, "{path}");
        }
        let page = &doc["paths"]["/api/contributions"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        let page = page["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        let schemas = &doc["components"]["schemas"];
        // the listing's items name their schema, the one a single item is answered with
        assert_eq!(
            schemas[page]["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/Contribution"
        );
        for field in ["id", "type", "status", "tokens_earned", "created_at"] {
            assert!(
                schemas["Contribution"]["properties"][field].is_object(),
                "{field}"
            );
        }
        assert!(schemas[page]["required"]
            .as_array()
            .unwrap()
            .contains(&"next".into()));
        assert_eq!(
            schemas["PageOf_BuildingObject"]["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/BuildingObject"
        );
        // always written, so required (and nullable where null); also in a schema that is an
        // allOf (found by an audit)
        let required = schemas["Building"]["required"].as_array().unwrap();
        assert!(required.contains(&"latitude".into()), "{required:?}");
        for (schema, field) in [
            ("TraceStep", "via"),
            ("NearEntry", "location"),
            ("RatingStatistics", "min_score"),
            ("ContributionVerified", "verifier_transaction_id"),
        ] {
            let required = schemas[schema]["required"].as_array().unwrap();
            assert!(required.contains(&field.into()), "{schema}: {required:?}");
        }
        let history = schemas["RatingHistoryEntry"]["allOf"].as_array().unwrap();
        let own = history
            .iter()
            .find(|m| m["properties"].is_object())
            .unwrap();
        assert!(own["required"]
            .as_array()
            .unwrap()
            .contains(&"old_grade".into()));
        // `count` only where an operation takes count=true; no unused generic types
        assert!(schemas["PageOf_BuildingObject"]["properties"]["count"].is_object());
        assert!(schemas["PageOf_KeyInfo"]["properties"]
            .get("count")
            .is_none());
        assert!(schemas.get("Page").is_none() && schemas.get("Items").is_none());
        // the readings' bodies refuse unknown keys, as the route does (found by an audit)
        assert_eq!(schemas["Reading"]["additionalProperties"], false);
        assert_eq!(schemas["WrappedReadings"]["additionalProperties"], false);
        // every 401 names its WWW-Authenticate header
        let unauthorized = &doc["paths"]["/api/keys"]["get"]["responses"]["401"];
        assert!(
            unauthorized["headers"]["WWW-Authenticate"].is_object(),
            "{unauthorized}"
        );
        // a header is never null
        let key = param("/api/contributions", "post", "Idempotency-Key");
        assert_eq!(key["type"], "string", "{key}");
        let last = param("/api/events", "get", "Last-Event-ID");
        assert_eq!(last["type"], "integer", "{last}");
        // bounded as the route bounds it, as `after` is (found by a review)
        assert_eq!(last["minimum"], 0, "{last}");
        let radius = param("/api/buildings/{b}/near/{path}", "get", "radius");
        assert_eq!(radius["default"], 5.0, "{radius}");
        assert_eq!(doc["servers"][0]["url"], "/");
    }

    /// The query parameters that take a fixed set of words declare it (found by a review:
    /// import `format` and the deliveries' `status` were plain strings), and the set is what
    /// the route accepts.
    #[test]
    fn word_parameters_list_their_words() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let words = |path: &str, method: &str, name: &str| -> Vec<String> {
            let params = doc["paths"][path][method]["parameters"].as_array().unwrap();
            let p = params.iter().find(|p| p["name"] == name).unwrap();
            let schema = &p["schema"];
            let list = schema["enum"]
                .as_array()
                .or_else(|| {
                    schema["oneOf"]
                        .as_array()
                        .and_then(|o| o.iter().find_map(|s| s["enum"].as_array()))
                })
                .unwrap_or_else(|| panic!("{path} {name}: {schema}"));
            list.iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let formats = words("/api/buildings/{b}/import", "post", "format");
        for f in &formats {
            assert!(crate::import::Format::parse_name(f).is_some(), "{f}");
        }
        assert_eq!(formats.len(), 7, "{formats:?}");
        assert_eq!(
            words("/api/webhooks/{id}/deliveries", "get", "status"),
            ["pending", "delivering", "delivered", "dead"]
        );
    }

    #[test]
    fn every_operation_taking_a_key_takes_it_as_a_bearer_token_too() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut seen = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(security) = operation["security"].as_array() else {
                    continue;
                };
                let names: Vec<&str> = security
                    .iter()
                    .flat_map(|s| s.as_object().unwrap().keys())
                    .map(String::as_str)
                    .collect();
                if names.contains(&"api_key") {
                    assert_eq!(names[..2], ["api_key", "bearer"], "{method} {path}");
                    // alternatives, each enough alone
                    assert!(
                        security.iter().all(|s| s.as_object().unwrap().len() == 1),
                        "{method} {path}"
                    );
                    seen += 1;
                }
            }
        }
        assert!(seen > 50, "{seen}");
        let recent = &doc["paths"]["/api/events/recent"]["get"]["security"];
        assert_eq!(
            recent,
            &serde_json::json!([{"api_key": []}, {"bearer": []}, {"api_key_query": []}])
        );
    }

    #[test]
    fn a_transfer_amount_is_a_number_or_a_string() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let amount = &doc["components"]["schemas"]["NewTransfer"]["properties"]["amount"];
        let types: Vec<&str> = amount["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["number", "string"], "{amount}");
        // a whole-number field is an integer, which JSON Schema lets be written 50.0
        let health = &doc["components"]["schemas"]["PutObject"]["properties"]["health"];
        assert_eq!(
            health["type"],
            serde_json::json!(["integer", "null"]),
            "{health}"
        );
        let parents = &doc["components"]["schemas"]["PutObject"]["properties"]["parents"];
        assert_eq!(
            parents["type"],
            serde_json::json!(["boolean", "null"]),
            "{parents}"
        );
    }

    #[test]
    fn operations_with_a_body_list_its_refusals() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let create = &doc["paths"]["/api/webhooks"]["post"]["responses"];
        for status in ["400", "413", "415", "422"] {
            assert!(create[status].is_object(), "{status}");
        }
        let patch = &doc["components"]["schemas"]["WebhookPatch"];
        assert_eq!(
            patch["additionalProperties"],
            serde_json::json!(false),
            "{patch}"
        );
        assert_eq!(patch["properties"]["url"]["type"], "string", "{patch}");
        assert_eq!(patch["properties"]["enabled"]["type"], "boolean", "{patch}");
    }

    #[test]
    fn every_limited_operation_may_answer_429() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut seen = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let refused = &operation["responses"]["429"];
                assert!(refused.is_object(), "{method} {path}");
                assert!(
                    refused["headers"]["Retry-After"].is_object(),
                    "{method} {path}"
                );
                seen += 1;
            }
        }
        assert!(seen > 40, "{seen}");
    }

    #[test]
    fn every_operation_may_refuse_its_query_string() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                assert!(
                    operation["responses"]["400"].is_object(),
                    "{method} {path} lists no 400"
                );
            }
        }
        // An operation's own description of its 400 is kept.
        let own = &doc["paths"]["/api/buildings/{b}/objects/{path}"]["get"]["responses"]["400"];
        assert!(
            !own["description"]
                .as_str()
                .unwrap()
                .contains("unknown query parameter"),
            "{own}"
        );
    }

    /// Routes that are not part of the API description: health, metrics and the description
    /// itself.
    const UNDESCRIBED: &[&str] = &[
        "/api/health",
        "/api/health/live",
        "/api/health/ready",
        "/metrics",
        "/api/openapi.json",
        "/docs",
    ];

    #[test]
    fn every_mounted_route_is_described_and_nothing_else() {
        let mounted = mounted_routes();
        assert!(mounted.len() > 40, "too few routes found: {mounted:?}");
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let missing: Vec<String> = mounted
            .iter()
            .filter(|(path, _)| !UNDESCRIBED.contains(&path.as_str()))
            .filter(|(path, method)| paths.get(path).and_then(|p| p.get(method)).is_none())
            .map(|(path, method)| format!("{method} {path}"))
            .collect();
        assert!(
            missing.is_empty(),
            "mounted but not in the OpenAPI document: {missing:?}"
        );
        let unmounted: Vec<String> = paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = item.as_object().unwrap().keys();
                methods
                    .filter(|m| HTTP_METHODS.contains(&m.as_str()))
                    .map(move |m| (path.clone(), m.clone()))
            })
            .filter(|route| !mounted.contains(route))
            .map(|(path, method)| format!("{method} {path}"))
            .collect();
        assert!(
            unmounted.is_empty(),
            "described but not mounted: {unmounted:?}"
        );
        let mut ids: Vec<&str> = paths
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|operation| operation.get("operationId")?.as_str())
            .collect();
        ids.sort_unstable();
        let repeated: Vec<&&str> = ids
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| &w[0])
            .collect();
        assert!(
            repeated.is_empty(),
            "operation ids used twice: {repeated:?}"
        );
    }

    const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

    /// Every `(path, method)` the router mounts, read from the `.route("…", get(…).post(…))`
    /// calls in src/, with `{*path}` written `{path}` as in the OpenAPI document.
    fn mounted_routes() -> Vec<(String, String)> {
        let mut files = Vec::new();
        rust_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut routes = Vec::new();
        for file in files {
            if file.ends_with("openapi.rs") {
                continue; // this test names the pattern it looks for
            }
            let text = std::fs::read_to_string(&file).unwrap();
            // (a module's tests mount routes of their own)
            let mounted = text.split("#[cfg(test)]").next().unwrap_or_default();
            routes.extend(routes_in(mounted));
        }
        routes.sort();
        routes.dedup();
        routes
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn routes_in(text: &str) -> Vec<(String, String)> {
        let mut routes = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find(".route(") {
            rest = rest[at + ".route(".len()..].trim_start();
            let Some(quoted) = rest.strip_prefix('"') else {
                continue;
            };
            let end = quoted.find('"').unwrap();
            let path = quoted[..end].replace("{*", "{");
            // The method routers: identifiers called at the top level of `.route(…)`.
            let mut depth = 1;
            let mut ident = String::new();
            for c in quoted[end + 1..].chars() {
                match c {
                    '(' => {
                        if depth == 1 && HTTP_METHODS.contains(&ident.as_str()) {
                            routes.push((path.clone(), ident.clone()));
                        }
                        depth += 1;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if c.is_alphanumeric() || c == '_' {
                    ident.push(c);
                } else {
                    ident.clear();
                }
            }
        }
        routes
    }

    #[test]
    fn every_response_is_described() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                    assert!(
                        response["description"]
                            .as_str()
                            .is_some_and(|d| !d.is_empty()),
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn routes_are_read_from_route_calls() {
        let text = r#"Router::new()
            .route("/api/a/{*path}", get(show).put(put_it))
            .route(
                "/api/b",
                post(make).delete(remove),
            )"#;
        assert_eq!(
            routes_in(text),
            [
                ("/api/a/{path}".to_owned(), "get".to_owned()),
                ("/api/a/{path}".to_owned(), "put".to_owned()),
                ("/api/b".to_owned(), "post".to_owned()),
                ("/api/b".to_owned(), "delete".to_owned()),
            ]
        );
    }
}
