//! `/api/webhooks`: managing webhooks and looking at their deliveries. Every route needs the
//! admin scope (a key limited to buildings cannot manage webhooks, which see every building).

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::routes::{CreatedPageParams, Page};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/webhooks", get(list).post(create))
        .route("/api/webhooks/{id}", get(show).patch(patch).delete(remove))
        .route("/api/webhooks/{id}/test", post(test))
        .route("/api/webhooks/{id}/rotate-secret", post(rotate))
        .route("/api/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/api/webhooks/{id}/deliveries/{delivery}/retry",
            post(retry),
        )
}

/// The body of `POST /api/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An http:// or https:// URL with a host. Any host is accepted here; the address check
    /// happens at each delivery: a URL whose host is (or resolves to) a loopback, private or
    /// other internal address, unless allowed by `--webhook-allow-networks`, is not sent to,
    /// and the attempt fails with the reason in its attempt log.
    pub url: String,
    /// Dotted event types or prefixes (`object.created`, `bilt.*`); absent: every type.
    pub types: Option<Vec<String>>,
    /// Only events of this building (key or UUID).
    pub building: Option<String>,
    /// Only events at this path or below it, or whose other path is (an `object.moved` out of
    /// the subtree, a connection whose target is inside it): docs/realtime.md, filters.
    pub under: Option<String>,
    /// Only events about objects of this type, or of it until the event (a type changed away
    /// from it); events without an object type (ratings, buildings) do not pass.
    pub object_type: Option<String>,
    pub description: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

fn webhook_id(text: &str) -> Result<String, ApiError> {
    crate::routes::uuid_param(text, "webhook")
}

/// One admin statement about the webhook `id`.
async fn admin_one(state: &AppState, key: &ApiKey, sql: &str, id: &str) -> Result<Value, ApiError> {
    state.one(key, Scope::Admin, None, sql, &[&id]).await
}

/// Create a webhook (`arxos.create_webhook`); the answer holds its signing secret, shown this
/// once.
///
/// Each matching event is then POSTed to `url`: body the event JSON (schema `Event`; a
/// `webhook.test` delivery has `"id": null`), `content-type: application/json`, and the
/// Standard Webhooks headers `webhook-id` (`evt_<event id>` or `test_…`, the same on every
/// retry), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
/// (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret; two, space-separated,
/// during a rotation). A 2xx answer delivers it; 410 ends it and disables the webhook; anything
/// else is retried after each step of `--webhook-retry-schedule` (default
/// `5s,5m,30m,2h,5h,10h,10h`, ±10 %, at least `Retry-After`), then dead. See docs/realtime.md.
#[utoipa::path(post, path = "/api/webhooks", operation_id = "create_webhook", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = crate::openapi::CreatedWebhook, headers(("Location" = String, description = "Where the new resource is read"))), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody), (status = 404, description = "Unknown building", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    key: ApiKey,
    Json(body): Json<NewWebhook>,
) -> Result<Response, ApiError> {
    let created = state
        .one(
            &key,
            Scope::Admin,
            None,
            "SELECT arxos.create_webhook($1, $2, $3, $4, $5, coalesce($6, ''), coalesce($7, true))",
            &[
                &body.url,
                &body.types,
                &body.building,
                &body.under,
                &body.object_type,
                &body.description,
                &body.enabled,
            ],
        )
        .await?;
    let location = format!("/api/webhooks/{}", crate::routes::field(&created, "id"));
    Ok(crate::routes::created(&location, created))
}

/// The webhooks by creation, a page at a time, without secrets (`arxos.list_webhooks`).
#[utoipa::path(get, path = "/api/webhooks", operation_id = "list_webhooks", tag = "webhooks", params(CreatedPageParams),
    responses((status = 200, description = "A page of webhooks, oldest first (never their secrets)", body = crate::openapi::PageOf<crate::openapi::Webhook>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Query(page): Query<CreatedPageParams>,
) -> Result<Json<Page>, ApiError> {
    let (after, max) = page.sql()?;
    let items = state
        .rows(
            &key,
            Scope::Admin,
            None,
            "SELECT arxos.list_webhooks($1, $2)",
            &[&after, &max],
        )
        .await?;
    Ok(Json(page.page(items, &uri)))
}

/// One webhook, without its secret (`arxos.get_webhook`).
#[utoipa::path(get, path = "/api/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks", params(("id" = String, Path, format = Uuid, description = "Webhook id")),
    responses((status = 200, body = crate::openapi::Webhook), (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn show(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = webhook_id(&id)?;
    let webhook = admin_one(
        &state,
        &key,
        "SELECT arxos.get_webhook($1::text::uuid)",
        &id,
    )
    .await?;
    Ok(Json(webhook))
}

/// Change only the fields sent (`arxos.patch_webhook`); `null` clears a filter, `enabled: true`
/// clears the failure state.
#[utoipa::path(patch, path = "/api/webhooks/{id}", operation_id = "patch_webhook", tag = "webhooks", params(("id" = String, Path, format = Uuid, description = "Webhook id")),
    request_body = crate::openapi::WebhookPatch,
    responses((status = 200, body = crate::openapi::Webhook), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
    Json(changes): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let id = webhook_id(&id)?;
    let webhook = state
        .one(
            &key,
            Scope::Admin,
            None,
            "SELECT arxos.patch_webhook($1::text::uuid, $2)",
            &[&id, &changes],
        )
        .await?;
    Ok(Json(webhook))
}

/// Delete a webhook and its deliveries (`arxos.delete_webhook`).
#[utoipa::path(delete, path = "/api/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks", params(("id" = String, Path, format = Uuid, description = "Webhook id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = webhook_id(&id)?;
    state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                c.execute("SELECT arxos.delete_webhook($1::text::uuid)", &[&id])
                    .await?;
                Ok(())
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queue a `webhook.test` message for this webhook only (`arxos.test_webhook`).
#[utoipa::path(post, path = "/api/webhooks/{id}/test", operation_id = "test_webhook", tag = "webhooks", params(("id" = String, Path, format = Uuid, description = "Webhook id")),
    responses((status = 202, description = "The queued delivery", body = crate::openapi::Delivery), (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn test(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = webhook_id(&id)?;
    let delivery = admin_one(
        &state,
        &key,
        "SELECT arxos.test_webhook($1::text::uuid)",
        &id,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}

/// A new signing secret, shown this once; the old one keeps signing for 24 h
/// (`arxos.rotate_webhook_secret`).
#[utoipa::path(post, path = "/api/webhooks/{id}/rotate-secret", operation_id = "rotate_webhook_secret", tag = "webhooks", params(("id" = String, Path, format = Uuid, description = "Webhook id")),
    responses((status = 200, body = crate::openapi::CreatedWebhook), (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = webhook_id(&id)?;
    let webhook = admin_one(
        &state,
        &key,
        "SELECT arxos.rotate_webhook_secret($1::text::uuid)",
        &id,
    )
    .await?;
    Ok(Json(webhook))
}

/// A delivery's status, as the deliveries listing filters by it (the OpenAPI's enum; the
/// route reads the text and refuses others with 400).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum DeliveryStatus {
    Pending,
    Delivering,
    Delivered,
    Dead,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// pending, delivering, delivered or dead.
    #[param(value_type = Option<DeliveryStatus>, inline)]
    pub status: Option<String>,
    /// Deliveries older than this delivery id (the last one of the previous page); a negative
    /// one is refused (400).
    #[param(minimum = 0)]
    pub before: Option<i64>,
    /// Largest number of deliveries, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
}

/// The webhook's deliveries, newest first, each with its attempt log
/// (`arxos.webhook_deliveries`).
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", operation_id = "webhook_deliveries", tag = "webhooks", params(("id" = String, Path, format = Uuid, description = "Webhook id"), DeliveryParams),
    responses((status = 200, description = "A page of deliveries, newest first; `next` (with `before`) while older ones remain", body = crate::openapi::PageOf<crate::openapi::Delivery>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    Query(params): Query<DeliveryParams>,
) -> Result<Json<crate::routes::Page>, ApiError> {
    let id = webhook_id(&id)?;
    let limit = crate::routes::checked_limit(params.limit)?;
    let before = crate::routes::non_negative("before", params.before)?;
    let items = state
        .rows(
            &key,
            Scope::Admin,
            None,
            &crate::routes::bounded_listing(
                "SELECT arxos.webhook_deliveries($1::text::uuid, $2, $3, $4::int8::int4)",
            ),
            &[&id, &params.status, &before, &(limit + 1)],
        )
        .await?;
    Ok(Json(crate::routes::Page::from_rows_by(
        items,
        limit,
        &uri,
        "before",
        crate::routes::id_key,
    )))
}

/// Send a delivery again now, with a fresh retry schedule (`arxos.retry_webhook_delivery`).
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery}/retry", operation_id = "retry_webhook_delivery", tag = "webhooks",
    params(("id" = String, Path, format = Uuid, description = "Webhook id"), ("delivery" = i64, Path, description = "Delivery id")),
    responses((status = 202, description = "The delivery, pending again", body = crate::openapi::Delivery),
              (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    key: ApiKey,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = webhook_id(&id)?;
    // Like a webhook id that is no UUID: text that cannot be a delivery id is refused.
    // (0 and negative numbers too: the message says ids start at 1)
    let delivery: i64 = delivery.parse().ok().filter(|d| *d >= 1).ok_or_else(|| {
        ApiError::validation(format!(
            "{delivery:?} is not a delivery id: ids are whole numbers from 1 to 9223372036854775807"
        ))
    })?;
    let delivery = state
        .one(
            &key,
            Scope::Admin,
            None,
            "SELECT arxos.retry_webhook_delivery($1::text::uuid, $2)",
            &[&id, &delivery],
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}
