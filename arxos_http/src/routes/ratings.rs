//! BILT ratings: one building's rating, breakdown, history and recomputation; the leaderboard
//! and statistics over every building the key may see.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::{checked_limit, id_key, Page};
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
pub struct HistoryPageParams {
    /// Largest number of entries (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Return the entries older than this history id (as in the `next` link).
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// Recorded rating changes, newest first (`arxos.rating_history`), paginated by history id.
#[utoipa::path(get, path = "/api/buildings/{b}/rating/history", tag = "ratings", operation_id = "rating_history",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID"), HistoryPageParams),
    responses((status = 200, description = "A page of rating history entries", body = crate::openapi::PageOf<crate::openapi::RatingHistoryEntry>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn history(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Path(b): Path<String>,
    Query(q): Query<HistoryPageParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(q.limit)?;
    super::non_negative("after", q.after)?;
    let rows = state
        .rows(
            &key,
            Scope::Read,
            Some(&b),
            "SELECT to_jsonb(h) FROM arxos.rating_history($1, $2::int8::int4, $3) h",
            &[&b, &(limit + 1), &q.after],
        )
        .await?;
    Ok(Json(Page::from_rows(rows, limit, &uri, id_key)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardParams {
    /// Largest number of entries (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Only buildings with this grade.
    pub grade: Option<String>,
    /// Return the buildings ranked after this place: `score:key` as the `next` link gives it
    /// (the place where the last building of the page stood), or a building key alone (after
    /// where that building stands now).
    pub after: Option<String>,
}

/// Buildings by score, best first (the `arxos.ratings` view).
#[utoipa::path(get, path = "/api/ratings", tag = "ratings", params(LeaderboardParams),
    responses((status = 200, description = "A page of the leaderboard", body = crate::openapi::PageOf<crate::openapi::LeaderboardEntry>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn leaderboard(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<LeaderboardParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(q.limit)?;
    // A grade no building can have is a mistake, not an empty leaderboard.
    if let Some(grade) = &q.grade {
        grade
            .parse::<arxos_core::rating::Grade>()
            .map_err(|e| ApiError::validation(format!("grade: {e}")))?;
    }
    // Keyset on (score descending, building key). The `next` link carries the last row's score
    // with its key: a walk whose anchor building's score changes between pages would otherwise
    // skip (or repeat) the buildings between its old and new place. A bare key is after the
    // building's current place. The ratings are computed once (MATERIALIZED).
    let (after_key, after_score) = match q.after.as_deref().map(|a| a.split_once(':')) {
        None => (None, None),
        Some(None) => (q.after.clone(), None),
        Some(Some((score, key))) => {
            // Written as the next link writes a score: digits and a point, no exponent (found
            // by a review: `1e-1001` passed as 0 here, and PostgreSQL's numeric then refused
            // it with words that did not name `after`).
            let plain = score.len() <= 40
                && score
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
            if !plain || score.parse::<f64>().map_or(true, |s| !s.is_finite()) || key.is_empty() {
                return Err(ApiError::validation(format!(
                    "after must be score:key as the next link gives it (77.58:b42), or a building key; got {:?}",
                    q.after.as_deref().unwrap_or_default()
                )));
            }
            (Some(key.to_owned()), Some(score.to_owned()))
        }
    };
    let rows = state
        .rows(
            &key,
            Scope::Read,
            None,
            "WITH r AS MATERIALIZED (SELECT * FROM arxos.ratings),
                  anchor AS (SELECT $4::text::numeric AS score, $3::text AS building WHERE $4::text IS NOT NULL
                             UNION ALL
                             SELECT a.score, a.building FROM r a WHERE a.building = $3 AND $4::text IS NULL)
             SELECT to_jsonb(r) FROM r
              WHERE ($1::text IS NULL OR r.grade = $1)
                AND ($3::text IS NULL OR EXISTS (
                        SELECT 1 FROM anchor a
                         WHERE r.score < a.score OR (r.score = a.score AND r.building > a.building)))
                -- an `after` that names no building this key sees is refused, not an empty page
                -- (an uncorrelated condition: checked once, before any row is read)
                AND (SELECT arxos.raise('after: no building ' || quote_literal($3), '22023')
                      WHERE $3::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM anchor)) IS NULL
              ORDER BY r.score DESC, r.building LIMIT $2",
            &[&q.grade, &(limit + 1), &after_key, &after_score],
        )
        .await?;
    Ok(Json(Page::from_rows(rows, limit, &uri, |v| {
        Some(format!(
            "{}:{}",
            v.get("score")?,
            v.get("building")?.as_str()?
        ))
    })))
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
