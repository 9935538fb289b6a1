//! `POST /api/query`: one read-only SQL statement over the documented views.
//!
//! Safe by construction, not by keyword filtering: the statement runs on a connection that
//! logged in as `arxos_query` (which can read schema `arxos_views` only and cannot SET ROLE to
//! anything), in a READ ONLY transaction with a statement timeout, its rows capped, and the
//! transaction is rolled back. It is prepared (so one statement only) and then run as
//! `SELECT json_build_array(...) FROM (<statement>) q LIMIT cap+1`, so Postgres renders every
//! value as JSON itself (numeric digits, uuid, jsonb, timestamptz, arrays) and the original
//! statement is never executed as such; an outer query keeps the answer under the byte limit.
//! A statement that is not a query (a write, DDL, COPY, SET…) is refused, 403 (`read_only`).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Kind, ToSql, Type};
use utoipa::ToSchema;

use crate::auth::{ApiKey, Scope};
use crate::error::{ApiError, ErrorCode};
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::text_param::TextParam;
use crate::tx::Checkout;

/// The 503 of POST /api/query when its own pool has no connection: the query role may lack
/// LOGIN or a password (docs/security.md, "Deployment"); the server's log says why.
pub(crate) const QUERY_ROLE_UNAVAILABLE: &str =
    "POST /api/query cannot connect to the database as its query role; the server log says why";

/// The 503 of POST /api/query when its connections stayed busy with other queries.
const QUERY_POOL_BUSY: &str =
    "POST /api/query is busy: every query connection stayed in use while this one waited; try again shortly";

/// The statement timeout is the smaller of `--query-timeout-ms` and the query role's own
/// `statement_timeout` (0: none), which an operator tightens with ALTER ROLE (found by a
/// review: the shim's value replaced the role's); the first column says which, in ms.
const SETUP: &str = "SELECT t.ms, set_config('statement_timeout', t.ms::text, true),
       set_config('search_path', 'arxos_views, pg_catalog', true),
       set_config('transaction_read_only', 'on', true)
  FROM arxos_views.begin_query($1),
       (SELECT least(nullif(s.setting::bigint, 0), $2::bigint) AS ms
          FROM pg_catalog.pg_settings s WHERE s.name = 'statement_timeout') t";

pub fn router() -> Router<AppState> {
    Router::new().route("/api/query", post(run_query))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// One SQL query (SELECT, WITH … SELECT, VALUES or TABLE) over the arxos_views views.
    pub sql: String,
    /// Values of $1, $2, …: strings, numbers, booleans or null (objects and arrays are passed
    /// as their JSON text).
    /// Numbers are passed on as written (never through a binary float). `null` is no
    /// parameters, as for every field left out.
    #[serde(default, deserialize_with = "crate::body_fields::or_default")]
    #[schema(value_type = Vec<serde_json::Value>)]
    pub params: Vec<Box<RawValue>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryColumn {
    pub name: String,
    /// The Postgres type, e.g. uuid, numeric, jsonb, timestamptz, int4[].
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryResult {
    pub columns: Vec<QueryColumn>,
    /// One array per row, values in column order.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub rows: Vec<Box<RawValue>>,
    pub row_count: usize,
    /// True when the row cap or the byte limit cut the result short.
    pub truncated: bool,
}

/// Run one read-only SQL query over the documented views.
#[utoipa::path(post, path = "/api/query", tag = "query", request_body = QueryRequest,
    responses((status = 200, body = QueryResult),
              (status = 400, description = "Invalid SQL, or too slow (QUERY_TIMEOUT)", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "Not allowed: a table outside arxos_views, or a statement that is not one query (a write, DDL, COPY, SET…: the endpoint is read-only)", body = ErrorBody),
              (status = 404, description = "Turned off on this server (--no-query)", body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn run_query(
    State(state): State<AppState>,
    key: ApiKey,
    Json(body): Json<QueryRequest>,
) -> Result<Json<QueryResult>, ApiError> {
    let Some(pool) = &state.query_pool else {
        // Turned off (--no-query): not an outage a client should retry.
        return Err(ApiError::not_found(
            "POST /api/query is turned off on this server",
        ));
    };
    // Every `;` and blank at the end goes (`SELECT 1; ;` is one query, found by a review).
    let sql = body
        .sql
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    if sql.trim().is_empty() {
        return Err(ApiError::validation("sql is empty"));
    }
    if sql.contains('\0') {
        return Err(ApiError::validation("sql contains a NUL character"));
    }
    let params = body
        .params
        .iter()
        .map(|raw| TextParam::from_raw(raw).0)
        .collect::<Vec<_>>();
    // The key is checked on the API's own pool first, in a transaction that commits: a refused
    // key is 401/403 without taking one of the few query connections, and the key's
    // last_used_at is refreshed there (the query's own transaction is always rolled back).
    state.check_key(&key, Scope::Read).await?;
    let mut checkout = Checkout::from(pool).await.map_err(|e| {
        tracing::warn!(error = %crate::error::chain(&e), "no connection for POST /api/query");
        match e {
            // Every query connection stayed busy for the pool's whole wait: not a login problem.
            deadpool_postgres::PoolError::Timeout(_) => ApiError::unavailable(QUERY_POOL_BUSY),
            _ => ApiError::unavailable(QUERY_ROLE_UNAVAILABLE),
        }
    })?;
    let client = checkout.client();
    let result = run(client, &key, sql, &params, &state).await;
    // A session-level advisory lock (pg_advisory_lock is a plain function any role may call)
    // outlives the rollback: none may stay on a pooled connection (docs/security.md).
    if client
        .batch_execute("ROLLBACK; SELECT pg_advisory_unlock_all()")
        .await
        .is_ok()
    {
        checkout.finish();
    }
    Ok(Json(result?))
}

async fn run(
    client: &crate::tx::Client,
    key: &ApiKey,
    sql: &str,
    params: &[TextParam],
    state: &AppState,
) -> Result<QueryResult, ApiError> {
    let timeout = i64::try_from(state.query.timeout_ms).unwrap_or(i64::MAX);
    client.batch_execute("BEGIN").await?;
    let setup = client.prepare_cached(SETUP).await?;
    let timeout: i64 = client.query_one(&setup, &[&key.0, &timeout]).await?.get(0);
    // Each statement's error is read against the time it ran (ApiError::from_query_error).
    let limit = std::time::Duration::from_millis(timeout.try_into().unwrap_or(u64::MAX));
    let started = std::time::Instant::now();
    let statement = client.prepare(sql).await.map_err(|e| match e.code() {
        // A write into a view PostgreSQL cannot update (`cannot delete from view "objects"`)
        // is refused as it is parsed, before the read-only transaction could refuse it.
        Some(&SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) => {
            read_only(e.as_db_error().map_or("", |db| db.message()))
                .with_details(serde_json::json!({"sqlstate": "55000"}))
        }
        _ => ApiError::from_query_error(e, started.elapsed(), limit),
    })?;
    if statement.params().len() != params.len() {
        return Err(ApiError::validation(format!(
            "the query has {} parameter(s), {} given",
            statement.params().len(),
            params.len()
        )));
    }
    let columns: Vec<QueryColumn> = statement
        .columns()
        .iter()
        .map(|c| QueryColumn {
            name: c.name().to_owned(),
            kind: type_name(c.type_()),
        })
        .collect();
    let cap = state.query.max_rows;
    let row_json = if columns.is_empty() {
        format!(
            "SELECT '[]'::text AS t FROM (\n{sql}\n) AS q LIMIT {}",
            cap + 1
        )
    } else {
        let aliases: Vec<String> = (1..=columns.len()).map(|i| format!("c{i}")).collect();
        format!(
            "SELECT {} AS t FROM (\n{sql}\n) AS q({}) LIMIT {}",
            row_array(columns.len()),
            aliases.join(", "),
            cap + 1
        )
    };
    // The byte limit is kept by the database: rows past it are not sent, and the row that
    // crosses it comes as NULL (the sign that the answer was cut).
    let wrapped = format!(
        "SELECT CASE WHEN x.upto <= {max} THEN x.t END
           FROM (SELECT w.t, sum(octet_length(w.t)) OVER (ROWS UNBOUNDED PRECEDING) AS upto
                   FROM ({row_json}) AS w) AS x
          WHERE x.upto - octet_length(x.t) <= {max}",
        max = state.query.max_bytes
    );
    let started = std::time::Instant::now();
    let wrapped = client
        .prepare_typed(&wrapped, statement.params())
        .await
        .map_err(|e| match e.code().map(|c| c.code()) {
            // The statement parsed alone but is no query (a write, DDL, COPY, SET, SHOW, a
            // data-modifying WITH): it cannot stand inside the wrapping SELECT.
            // A `;` of the client's text there is one before or after the query, which
            // PostgreSQL ignores in a statement of its own (`SELECT 1; -- total`) but not
            // inside the wrapping SELECT: bad input, not a write (found by a review).
            Some("42601") if at_semicolon(&wrapped, &e) => ApiError::validation(
                "sql has a `;` before or after its query (followed by a comment or another `;`): \
                 send the one query without it",
            ),
            Some("42601") | Some("0A000") => read_only("this statement is not one"),
            _ => ApiError::from_query_error(e, started.elapsed(), limit),
        })?;
    let args: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let started = std::time::Instant::now();
    let rows = client
        .query(&wrapped, &args)
        .await
        .map_err(|e| ApiError::from_query_error(e, started.elapsed(), limit))?;
    let mut truncated = rows.len() > cap;
    let mut out = Vec::with_capacity(rows.len().min(cap));
    for row in rows.iter().take(cap) {
        let Some(text) = row
            .try_get::<_, Option<String>>(0)
            .map_err(ApiError::internal)?
        else {
            truncated = true;
            break;
        };
        out.push(RawValue::from_string(text).map_err(ApiError::internal)?);
    }
    Ok(QueryResult {
        columns,
        row_count: out.len(),
        rows: out,
        truncated,
    })
}

/// 403 for a statement that is not one query returning rows: the endpoint only reads (a write
/// that reaches the read-only transaction is refused there, 25006, also 403:
/// [`ApiError::from_query_error`]). `why` is what PostgreSQL said, or why the shim refused it.
fn read_only(why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "POST /api/query is read-only: it runs one query that returns rows (SELECT, WITH … SELECT, VALUES or TABLE), and writes nothing: {why}"
        ),
    )
}

/// The JSON array text of a row of the wrapped query's columns `q.c1` … `q.cN`, in one
/// expression: `json_build_array` takes at most 100 arguments, so wider rows join the texts of
/// several (found by a review: a query of 101 columns was refused with "cannot pass more than
/// 100 arguments to a function"). Each array's text starts with `[` and ends with `]`, and
/// separates its elements with `, `.
fn row_array(columns: usize) -> String {
    let chunks: Vec<String> = (1..=columns)
        .collect::<Vec<_>>()
        .chunks(100)
        .map(|chunk| {
            let values: Vec<String> = chunk.iter().map(|i| format!("q.c{i}")).collect();
            format!("json_build_array({})::text", values.join(", "))
        })
        .collect();
    let mut text = chunks[0].clone();
    for chunk in &chunks[1..] {
        text = format!("left({text}, -1) || ', ' || substr({chunk}, 2)");
    }
    text
}

/// Whether the syntax error `e` of the statement `sql` points at a `;` (its position counts
/// characters from 1).
fn at_semicolon(sql: &str, e: &tokio_postgres::Error) -> bool {
    let position = match e.as_db_error().and_then(|db| db.position()) {
        Some(tokio_postgres::error::ErrorPosition::Original(at)) => *at as usize,
        _ => return false,
    };
    position > 0 && sql.chars().nth(position - 1) == Some(';')
}

/// `int4[]` for arrays, the type's name otherwise.
fn type_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(element) => format!("{}[]", element.name()),
        _ => ty.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_more_than_100_columns_join_several_arrays() {
        assert_eq!(row_array(2), "json_build_array(q.c1, q.c2)::text");
        let wide = row_array(201);
        assert_eq!(wide.matches("json_build_array(").count(), 3);
        assert!(wide.contains("q.c100)::text, -1) || ', ' || substr(json_build_array(q.c101,"));
        assert!(wide.ends_with("substr(json_build_array(q.c201)::text, 2)"));
    }

    #[test]
    fn array_types_are_named_with_brackets() {
        assert_eq!(type_name(&Type::INT4_ARRAY), "int4[]");
        assert_eq!(type_name(&Type::UUID), "uuid");
    }
}
