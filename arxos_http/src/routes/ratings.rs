//! BILT ratings: one building's rating, breakdown, history and recomputation; the leaderboard
//! and statistics over every building the key may see.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::{checked_limit, Items};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/buildings/{b}/rating", get(rating))
        .route("/api/buildings/{b}/rating/breakdown", get(breakdown))
        .route("/api/buildings/{b}/rating/history", get(history))
        .route("/api/buildings/{b}/rating/recompute", post(recompute))
        .route("/api/ratings", get(leaderboard))
        .route("/api/ratings/statistics", get(statistics))
}

async fn one(
    state: &AppState,
    key: &ApiKey,
    scope: Scope,
    b: String,
    sql: &'static str,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.one(key, scope, Some(&b), sql, &[&b]).await?))
}

/// The building's current rating (`arxos.rating`).
#[utoipa::path(get, path = "/api/buildings/{b}/rating", tag = "ratings",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID")),
    responses((status = 200, body = crate::openapi::Rating), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn rating(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
) -> Result<Json<Value>, ApiError> {
    one(
        &state,
        &key,
        Scope::Read,
        b,
        "SELECT to_jsonb(arxos.rating($1))",
    )
    .await
}

/// The rating's components, weights and recommendations (`arxos.rating_breakdown`).
#[utoipa::path(get, path = "/api/buildings/{b}/rating/breakdown", tag = "ratings",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID")),
    responses((status = 200, body = crate::openapi::RatingBreakdown), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn breakdown(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
) -> Result<Json<Value>, ApiError> {
    one(
        &state,
        &key,
        Scope::Read,
        b,
        "SELECT arxos.rating_breakdown($1)",
    )
    .await
}

/// Recompute the rating from scratch and record it (`arxos.recompute_rating`).
#[utoipa::path(post, path = "/api/buildings/{b}/rating/recompute", tag = "ratings",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID")),
    responses((status = 200, body = crate::openapi::Rating), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn recompute(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let answer = one(
        &state,
        &key,
        Scope::Write,
        b,
        "SELECT to_jsonb(arxos.recompute_rating($1))",
    )
    .await?;
    metrics::counter!(crate::metrics::RATING_RECOMPUTES).increment(1);
    Ok(answer)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// Largest number of entries (1 to 1000, default 100).
    pub limit: Option<i64>,
}

/// Recorded rating changes, newest first (`arxos.rating_history`).
#[utoipa::path(get, path = "/api/buildings/{b}/rating/history", tag = "ratings", operation_id = "rating_history",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"), LimitParams),
    responses((status = 200, description = "crate::openapi::RatingHistoryEntry items", body = Items),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn history(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Query(q): Query<LimitParams>,
) -> Result<Json<Items>, ApiError> {
    let limit = checked_limit(q.limit)? as i32;
    let items = state
        .rows(
            &key,
            Scope::Read,
            Some(&b),
            "SELECT to_jsonb(h) FROM arxos.rating_history($1, $2) h",
            &[&b, &limit],
        )
        .await?;
    Ok(Json(Items { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardParams {
    /// Largest number of entries (1 to 1000, default 100).
    pub limit: Option<i64>,
    /// Only buildings with this grade.
    pub grade: Option<String>,
}

/// Buildings by score, best first (the `arxos.ratings` view).
#[utoipa::path(get, path = "/api/ratings", tag = "ratings", params(LeaderboardParams),
    responses((status = 200, description = "crate::openapi::LeaderboardEntry items", body = Items),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn leaderboard(
    State(state): State<AppState>,
    key: ApiKey,
    Query(q): Query<LeaderboardParams>,
) -> Result<Json<Items>, ApiError> {
    let limit = checked_limit(q.limit)?;
    let items = state
        .rows(
            &key,
            Scope::Read,
            None,
            "SELECT to_jsonb(r) FROM arxos.ratings r
              WHERE $1::text IS NULL OR r.grade = $1
              ORDER BY r.score DESC, r.building LIMIT $2",
            &[&q.grade, &limit],
        )
        .await?;
    Ok(Json(Items { items }))
}

/// Count, mean, minimum and maximum score and the number of buildings per grade.
#[utoipa::path(get, path = "/api/ratings/statistics", tag = "ratings",
    responses((status = 200, body = crate::openapi::RatingStatistics), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn statistics(
    State(state): State<AppState>,
    key: ApiKey,
) -> Result<Json<Value>, ApiError> {
    let value = state
        .one(
            &key,
            Scope::Read,
            None,
            "WITH r AS MATERIALIZED (SELECT grade, score FROM arxos.ratings)
             SELECT jsonb_build_object(
                'buildings', (SELECT count(*) FROM r),
                'average_score', (SELECT round(avg(score), 3) FROM r),
                'min_score', (SELECT min(score) FROM r),
                'max_score', (SELECT max(score) FROM r),
                'grades', coalesce((SELECT jsonb_object_agg(grade, n)
                                      FROM (SELECT grade, count(*) AS n FROM r GROUP BY grade) g), '{}'))",
            &[],
        )
        .await?;
    Ok(Json(value))
}
