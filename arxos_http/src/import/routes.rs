//! `POST /api/buildings/{b}/import` (admin) and `POST /api/buildings/{b}/readings` (write).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{plan, write, Format};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tx::json_one;

/// Skipped items listed in an import's answer (all are counted).
const SKIPPED_LISTED: usize = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/buildings/{b}/import", post(import))
        .route("/api/buildings/{b}/readings", post(readings))
}

#[derive(Debug, Deserialize)]
pub struct ImportParams {
    /// brick or haystack; guessed from the content when absent.
    pub format: Option<String>,
}

/// Imports a Brick (Turtle) or Haystack (JSON) file into an existing building, in one
/// transaction. Answers the summary: objects created/updated/unchanged, connections, skipped.
pub async fn import(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Query(params): Query<ImportParams>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let format = match params.format.as_deref() {
        None => None,
        Some(name) => Some(Format::parse_name(name).ok_or_else(|| {
            ApiError::validation(format!("unknown format {name:?}: use brick or haystack"))
        })?),
    };
    let mut input = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::validation(format!("cannot read the body: {e}")))?;
        input.extend_from_slice(&chunk);
    }
    let plan = tokio::task::spawn_blocking(move || plan(&input, format))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let building = b.clone();
    let summary = state
        .tx(&key, Scope::Admin, Some(&b), move |c| {
            Box::pin(async move {
                // An unknown building is a 404 before anything is written.
                json_one(c, "SELECT to_jsonb(arxos.building_id($1))", &[&building]).await?;
                Ok(write::write(c, &building, plan, &|_| {}).await?)
            })
        })
        .await?;
    let mut answer = serde_json::to_value(&summary).map_err(ApiError::internal)?;
    answer["skipped_count"] = json!(summary.skipped.len());
    if let Some(Value::Array(items)) = answer.get_mut("skipped") {
        items.truncate(SKIPPED_LISTED);
    }
    Ok(Json(answer))
}

/// Records a batch of readings: a JSON array of `{"path", "value", "unit"?, "at"?}` (or
/// `{"readings": [...]}`), all or nothing. Answers `{"recorded": n, "objects": m}`.
pub async fn readings(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let batch = match body {
        Value::Object(mut o) if o.contains_key("readings") => {
            o.remove("readings").unwrap_or(Value::Null)
        }
        other => other,
    };
    if !batch.is_array() {
        return Err(ApiError::validation(
            "the body is a JSON array of readings {\"path\", \"value\", \"unit\", \"at\"}, or {\"readings\": [...]}",
        ));
    }
    let building = b.clone();
    let result = state
        .tx(&key, Scope::Write, Some(&b), move |c| {
            Box::pin(async move {
                json_one(
                    c,
                    "SELECT arxos.record_batch($1::text, $2::jsonb)",
                    &[&building, &batch],
                )
                .await
            })
        })
        .await?;
    Ok(Json(result))
}
