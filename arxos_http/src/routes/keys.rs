//! API keys for admins: create (the key is shown once), list, revoke.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{CreatedPageParams, Page};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::tx::json_one;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/keys", get(list_keys).post(create_key))
        .route("/api/keys/{id}", delete(revoke_key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
    /// read, write and/or admin (default: read).
    #[schema(value_type = Option<Vec<crate::auth::Scope>>)]
    pub scopes: Option<Vec<String>>,
    /// Building keys the key is limited to (default: every building).
    pub buildings: Option<Vec<String>>,
    /// Who acts with the key (default: the name).
    pub owner: Option<String>,
}

/// Create an API key (`arxos.create_api_key`). The key is in this answer only.
#[utoipa::path(post, path = "/api/keys", tag = "keys", request_body = NewKey,
    responses((status = 201, body = crate::openapi::CreatedKey), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    key: ApiKey,
    Json(body): Json<NewKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let scopes = body.scopes.unwrap_or_else(|| vec!["read".to_owned()]);
    let created = state
        .tx(&key, Scope::Admin, None, move |c| {
            Box::pin(async move {
                json_one(
                    c,
                    "SELECT to_jsonb(k) FROM arxos.create_api_key($1, $2, $3, $4) k",
                    &[&body.name, &scopes, &body.buildings, &body.owner],
                )
                .await
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The keys by creation, a page at a time (never the keys themselves: their prefixes).
#[utoipa::path(get, path = "/api/keys", tag = "keys", params(CreatedPageParams),
    responses((status = 200, description = "A page of keys, oldest first (never their secrets)", body = crate::openapi::PageOf<crate::openapi::KeyInfo>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_keys(
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
            "SELECT to_jsonb(k) FROM arxos.list_api_keys($1, $2) k",
            &[&after, &max],
        )
        .await?;
    Ok(Json(page.page(items, &uri)))
}

/// Revoke a key by id.
#[utoipa::path(delete, path = "/api/keys/{id}", tag = "keys",
    params(("id" = String, Path, format = Uuid, description = "Key id")),
    responses((status = 204, description = "Revoked"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 400, description = "Not a key id (a UUID)", body = ErrorBody),
              (status = 404, description = "No active key with this id", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = super::uuid_param(&id, "key")?;
    let key_id = id.clone();
    let revoked = state
        .tx(&key, Scope::Admin, None, move |c| {
            Box::pin(async move {
                json_one(
                    c,
                    "SELECT to_jsonb(arxos.revoke_api_key($1::text::uuid))",
                    &[&id],
                )
                .await
            })
        })
        .await?;
    // This shim forgets the key now; the others when the NOTIFY reaches their listeners.
    state.grants.forget_key(&key_id);
    if revoked.as_bool() == Some(true) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no active key with this id"))
    }
}
