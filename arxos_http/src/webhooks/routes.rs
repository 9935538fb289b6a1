//! `/api/webhooks`: managing webhooks and looking at their deliveries. Every route needs the
//! admin scope (a key limited to buildings cannot manage webhooks, which see every building).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tx::{json_one, json_rows};

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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    pub types: Option<Vec<String>>,
    pub building: Option<String>,
    pub under: Option<String>,
    pub object_type: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

fn webhook_id(text: &str) -> Result<String, ApiError> {
    Uuid::parse_str(text)
        .map(|id| id.to_string())
        .map_err(|_| ApiError::not_found(format!("webhook {text} not found")))
}

fn check_url(url: &str) -> Result<(), ApiError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::validation(format!("invalid url {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ApiError::validation(
            "url must be an http:// or https:// URL with a host",
        ));
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    key: ApiKey,
    Json(body): Json<NewWebhook>,
) -> Result<Response, ApiError> {
    check_url(&body.url)?;
    let created = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                json_one(
                    c,
                    "SELECT arxos.create_webhook($1, $2, $3, $4, $5, coalesce($6, ''), coalesce($7, true))",
                    &[&body.url, &body.types, &body.building, &body.under, &body.object_type,
                      &body.description, &body.enabled],
                )
                .await
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list(State(state): State<AppState>, key: ApiKey) -> Result<Json<Value>, ApiError> {
    let items = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move { json_rows(c, "SELECT arxos.list_webhooks()", &[]).await })
        })
        .await?;
    Ok(Json(json!({ "items": items })))
}

async fn show(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = webhook_id(&id)?;
    let webhook = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                json_one(c, "SELECT arxos.get_webhook($1::text::uuid)", &[&id]).await
            })
        })
        .await?;
    Ok(Json(webhook))
}

async fn patch(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
    Json(changes): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let id = webhook_id(&id)?;
    if let Some(url) = changes.get("url") {
        check_url(
            url.as_str()
                .ok_or_else(|| ApiError::validation("url must be a string"))?,
        )?;
    }
    let webhook = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                json_one(
                    c,
                    "SELECT arxos.patch_webhook($1::text::uuid, $2)",
                    &[&id, &changes],
                )
                .await
            })
        })
        .await?;
    Ok(Json(webhook))
}

async fn remove(
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

async fn test(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = webhook_id(&id)?;
    let delivery = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                json_one(c, "SELECT arxos.test_webhook($1::text::uuid)", &[&id]).await
            })
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}

async fn rotate(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = webhook_id(&id)?;
    let webhook = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                json_one(
                    c,
                    "SELECT arxos.rotate_webhook_secret($1::text::uuid)",
                    &[&id],
                )
                .await
            })
        })
        .await?;
    Ok(Json(webhook))
}

#[derive(Debug, Deserialize)]
pub struct DeliveryParams {
    /// pending, delivering, delivered or dead.
    pub status: Option<String>,
    /// Deliveries older than this delivery id (the last one of the previous page).
    pub before: Option<i64>,
    pub limit: Option<i32>,
}

async fn deliveries(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
    Query(params): Query<DeliveryParams>,
) -> Result<Json<Value>, ApiError> {
    let id = webhook_id(&id)?;
    let limit = params.limit.unwrap_or(100);
    let items = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                json_rows(
                    c,
                    "SELECT arxos.webhook_deliveries($1::text::uuid, $2, $3, $4)",
                    &[&id, &params.status, &params.before, &limit],
                )
                .await
            })
        })
        .await?;
    Ok(Json(json!({ "items": items })))
}

async fn retry(
    State(state): State<AppState>,
    key: ApiKey,
    Path((id, delivery)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let id = webhook_id(&id)?;
    let delivery = state
        .tx(&key, Scope::Admin, None, |c| {
            Box::pin(async move {
                json_one(
                    c,
                    "SELECT arxos.retry_webhook_delivery($1::text::uuid, $2)",
                    &[&id, &delivery],
                )
                .await
            })
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}
