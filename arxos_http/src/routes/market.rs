//! The market: contributors, contributions and their verification, balances, transfers and
//! building tokens. Each route calls one function of the market schema (sql/09_market.sql);
//! JSON fields are bound as text so Postgres parses them as the functions' own types.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{checked_limit, Items, Page};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::text_param::TextParam;
use crate::tx::json_one;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/contributors", post(register_contributor))
        .route("/api/contributors/top", get(top_contributors))
        .route("/api/contributors/{id}", get(get_contributor))
        .route("/api/contributors/{id}/balance", get(balance))
        .route("/api/contributors/{id}/transactions", get(statement))
        .route(
            "/api/contributions",
            post(contribute).get(list_contributions),
        )
        .route("/api/contributions/{id}/verify", post(verify))
        .route("/api/transfers", post(transfer))
        .route("/api/tokens/{b}", get(token))
}

/// A JSON document as the `jsonb` parameter's text: a JSON string stays a JSON string (which
/// the function refuses where it needs an object), never its content parsed again.
fn json_text(value: Option<&Value>) -> TextParam {
    TextParam(value.filter(|v| !v.is_null()).map(Value::to_string))
}

fn s(value: &str) -> TextParam {
    TextParam(Some(value.to_owned()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContributor {
    pub handle: String,
    /// 1 to 100 characters, no space at either end.
    pub display_name: String,
}

/// Register a contributor (`arxos.register_contributor`).
#[utoipa::path(post, path = "/api/contributors", tag = "market", request_body = NewContributor,
    responses((status = 201, body = crate::openapi::Contributor, headers(("Location" = String, description = "Where the new resource is read"))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn register_contributor(
    State(state): State<AppState>,
    key: ApiKey,
    Json(body): Json<NewContributor>,
) -> Result<axum::response::Response, ApiError> {
    let value = state
        .tx(&key, Scope::Write, None, move |c| {
            Box::pin(async move {
                let name = s(&body.display_name);
                let id = json_one(
                    c,
                    "SELECT to_jsonb(arxos.register_contributor($1, $2))",
                    &[&s(&body.handle), &name],
                )
                .await?;
                let id = id.as_str().unwrap_or_default().to_owned();
                json_one(c, "SELECT arxos.contributor($1::text::uuid)", &[&id]).await
            })
        })
        .await?;
    let location = format!("/api/contributors/{}", super::field(&value, "id"));
    Ok(super::created(&location, value))
}

/// A contributor, by id or handle.
#[utoipa::path(get, path = "/api/contributors/{id}", tag = "market",
    params(("id" = String, Path, description = "Contributor id or handle")),
    responses((status = 200, body = crate::openapi::Contributor), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_contributor(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let value = state
        .one(
            &key,
            Scope::Read,
            None,
            "SELECT arxos.contributor(arxos.contributor_id($1))",
            &[&id],
        )
        .await?;
    Ok(Json(value))
}

/// A contributor's token balance (`arxos.balance`).
#[utoipa::path(get, path = "/api/contributors/{id}/balance", tag = "market",
    params(("id" = String, Path, description = "Contributor id or handle")),
    responses((status = 200, body = crate::openapi::Balance), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn balance(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let value = state
        .one(
            &key,
            Scope::Read,
            None,
            "WITH k AS (SELECT arxos.contributor_id($1) AS id)
             SELECT jsonb_build_object('contributor', k.id, 'balance', arxos.balance(k.id),
                      'buildings', coalesce((SELECT jsonb_agg(to_jsonb(x) ORDER BY x.building)
                                               FROM arxos.balances(k.id) x), '[]'))
               FROM k",
            &[&id],
        )
        .await?;
    Ok(Json(value))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementParams {
    /// Only this building's holdings (key or UUID).
    pub building: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// The transactions before this one (the `next` link's): newest first.
    #[param(minimum = 0)]
    pub before: Option<i64>,
}

/// A contributor's statement: the ledger transactions that moved its tokens, newest first
/// (`arxos.statement`); paginated with `before`.
#[utoipa::path(get, path = "/api/contributors/{id}/transactions", tag = "market",
    params(("id" = String, Path, description = "Contributor id or handle"), StatementParams),
    responses((status = 200, body = crate::openapi::PageOf<crate::openapi::StatementEntry>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn statement(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    Query(q): Query<StatementParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(q.limit)?;
    super::non_negative("before", q.before)?;
    let rows = state
        .rows(
            &key,
            Scope::Read,
            q.building.as_deref(),
            "SELECT to_jsonb(x) FROM arxos.statement(arxos.contributor_id($1), $2, $3, $4::int8::int4) x",
            &[&s(&id), &TextParam(q.building.clone()), &q.before, &(limit + 1)],
        )
        .await?;
    Ok(Json(Page::from_rows_by(rows, limit, &uri, "before", |v| {
        v.get("transaction_id")?.as_i64().map(|id| id.to_string())
    })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopParams {
    /// Only contributions to this building.
    pub building: Option<String>,
    /// Largest number of entries (1 to 1000, default 10).
    #[param(minimum = 1, maximum = 1000, default = 10)]
    pub limit: Option<i64>,
}

/// The top contributors by tokens earned (`arxos.leaderboard`).
#[utoipa::path(get, path = "/api/contributors/top", tag = "market", params(TopParams),
    responses((status = 200, body = crate::openapi::ItemsOf<crate::openapi::TopContributor>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "A building the key may not use", body = ErrorBody),
              (status = 404, description = "Unknown building", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn top_contributors(
    State(state): State<AppState>,
    key: ApiKey,
    Query(q): Query<TopParams>,
) -> Result<Json<Items>, ApiError> {
    let limit = checked_limit(Some(q.limit.unwrap_or(10)))?;
    let items = state
        .rows(
            &key,
            Scope::Read,
            q.building.as_deref(),
            "SELECT to_jsonb(x) FROM arxos.leaderboard(building => $1, max => $2) x",
            &[&TextParam(q.building.clone()), &s(&limit.to_string())],
        )
        .await?;
    Ok(Json(Items { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContribution {
    pub building: String,
    pub contributor: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::ContributionType)]
    pub kind: String,
    /// Hash of the contributed data (unique per building; AX005 when missing).
    #[schema(required = true, value_type = String)]
    pub data_hash: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub path: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Value>,
}

/// Record a contribution (`arxos.contribute`). An `Idempotency-Key` header makes retries safe:
/// the same key answers the contribution recorded the first time.
#[utoipa::path(post, path = "/api/contributions", tag = "market", request_body = NewContribution,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = "^[!-~]+$",
        description = "Makes retries safe: 1 to 200 visible ASCII characters, per contributor")),
    responses((status = 201, body = crate::openapi::ContributionRecorded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn contribute(
    State(state): State<AppState>,
    key: ApiKey,
    headers: HeaderMap,
    Json(body): Json<NewContribution>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let idempotency = idempotency_key(&headers)?;
    let value = state
        .one(
            &key,
            Scope::Write,
            Some(&body.building),
            "SELECT to_jsonb(x) FROM arxos.contribute($1, arxos.contributor_id($2), $3, $4,
                    coalesce($5::jsonb, '{}'), $6, $7::jsonb, $8) x",
            &[
                &s(&body.building),
                &s(&body.contributor),
                &s(&body.kind),
                &TextParam(body.data_hash.clone()),
                &json_text(body.metadata.as_ref()),
                &TextParam(body.path.clone()),
                &json_text(body.changes.as_ref()),
                &TextParam(idempotency),
            ],
        )
        .await?;
    Ok((StatusCode::CREATED, Json(value)))
}

/// The `Idempotency-Key` header: at most one, 1 to 200 characters of visible ASCII.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = super::header_once(headers, "idempotency-key", "one key")? else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::validation(
                "Idempotency-Key must be 1 to 200 characters of visible ASCII (no spaces)",
            )
        })?;
    Ok(Some(key.to_owned()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContributionFilter {
    /// Building key or UUID.
    pub building: Option<String>,
    /// Contributor id or handle.
    pub contributor: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Return the contributions listed after this contribution id (as in the `next` link).
    pub after: Option<String>,
}

/// Contributions, newest first, filtered by building and/or contributor; paginated.
#[utoipa::path(get, path = "/api/contributions", tag = "market", params(ContributionFilter),
    responses((status = 200, description = "A page of contributions, newest first", body = crate::openapi::PageOf<crate::openapi::Contribution>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_contributions(
    State(state): State<AppState>,
    key: ApiKey,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<ContributionFilter>,
) -> Result<Json<Page>, ApiError> {
    let limit = checked_limit(q.limit)?;
    let after = match &q.after {
        Some(a) => Some(
            a.parse::<uuid::Uuid>()
                .map_err(|_| {
                    ApiError::validation(format!("after must be a contribution id, got {a}"))
                })?
                .to_string(),
        ),
        None => None,
    };
    let sql = contributions_page_sql(
        q.building.is_some(),
        q.contributor.is_some(),
        after.is_some(),
    );
    let rows = state
        .rows(
            &key,
            Scope::Read,
            q.building.as_deref(),
            &super::bounded_listing(&sql),
            &[&q.building, &q.contributor, &(limit + 1), &after],
        )
        .await?;
    Ok(Json(Page::from_rows(rows, limit, &uri, |v| {
        v.get("id")?.as_str().map(str::to_owned)
    })))
}

/// The statement of a page of contributions, with only the conditions of the filters given:
/// the shim's statements are prepared, and an optional filter written `($1 IS NULL OR …)` is a
/// filter on every row read in a generic plan, never where an index is read (a building's
/// page read every building's contributions). Parameters: $1 building, $2 contributor, $3 the
/// page's size (plus one), $4 after.
fn contributions_page_sql(building: bool, contributor: bool, after: bool) -> String {
    // Row-level security keeps to the key's buildings (docs/security.md). The building and
    // the contributor are looked up once (an unknown one is 404, AX001/AX002, as on every
    // market route, before any row is read).
    let mut conditions = vec!["true"];
    if building {
        conditions.push("x.building_id = (SELECT args.b FROM args)");
    }
    if contributor {
        conditions.push("x.contributor_id = (SELECT args.c FROM args)");
    }
    if after {
        conditions.push("(x.created_at, x.id) < (SELECT a.created_at, a.id FROM anchor a)");
        // an `after` that names no contribution this key sees is refused, not an empty page
        // (an uncorrelated condition: checked once, before any row is read)
        // (from args: an unknown building or contributor is told first, as without after)
        conditions.push(
            "(SELECT arxos.raise('after: no contribution ' || $4, '22023') FROM args \
              WHERE NOT EXISTS (SELECT 1 FROM anchor)) IS NULL",
        );
    }
    // The page first, then its JSON (to_jsonb of every row below the sort cost a page as much
    // as the whole table).
    format!(
        "WITH args AS MATERIALIZED (
              SELECT CASE WHEN $1::text IS NULL THEN NULL ELSE arxos.market_building($1) END AS b,
                     CASE WHEN $2::text IS NULL THEN NULL ELSE arxos.contributor_id($2) END AS c),
         anchor AS (SELECT a.created_at, a.id FROM arxos.contributions a WHERE a.id = $4::text::uuid)
         SELECT to_jsonb(x) FROM (SELECT x.* FROM arxos.contributions x
          WHERE {}
          ORDER BY x.created_at DESC, x.id DESC LIMIT $3) x
          ORDER BY x.created_at DESC, x.id DESC",
        conditions.join(" AND ")
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// The verifying contributor (id or handle).
    pub verifier: String,
    /// The status to set (`pending` is only where contributions start).
    #[schema(value_type = VerificationStatus)]
    pub status: String,
}

/// What a verification may set (docs/market.md, Verification; others are AX016).
#[derive(ToSchema)]
#[allow(non_camel_case_types, dead_code)]
pub enum VerificationStatus {
    auto_verified,
    peer_verified,
    expert_verified,
    rejected,
}

/// Verify (or reject) a contribution (`arxos.verify_contribution`).
#[utoipa::path(post, path = "/api/contributions/{id}/verify", tag = "market",
    params(("id" = String, Path, format = Uuid, description = "Contribution id")), request_body = Verification,
    responses((status = 200, body = crate::openapi::ContributionVerified), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
    Json(body): Json<Verification>,
) -> Result<Json<Value>, ApiError> {
    let id = super::uuid_param(&id, "contribution")?;
    let value = state
        .one(
            &key,
            Scope::Write,
            None,
            "SELECT to_jsonb(x) FROM arxos.verify_contribution($1::text::uuid, arxos.contributor_id($2), $3) x",
            &[&id, &s(&body.verifier), &s(&body.status)],
        )
        .await?;
    Ok(Json(value))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    pub from: String,
    pub to: String,
    /// A JSON number (or a string holding one), kept exactly as written: at most 6 decimals.
    #[serde(deserialize_with = "crate::body_fields::number_or_text")]
    #[schema(schema_with = amount_schema)]
    pub amount: Box<RawValue>,
    pub memo: Option<String>,
    /// Building key whose tokens move (default: as arxos.transfer decides).
    pub building: Option<String>,
}

/// The schema of [`NewTransfer::amount`]: a number, or a string holding one.
fn amount_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "Tokens to move: a JSON number, or a string holding one (nothing around it), kept exactly as written; positive, at most 6 decimals",
            ))
            .build(),
    )
    .into()
}

/// The amount exactly as the client wrote it: parsed as a JSON number it would pass through a
/// binary float, and `1234567890123.123456` would arrive as `1234567890123.1235`. The body's
/// reader took only a number or a string ([`crate::body_fields::number_or_text`]).
fn amount_text(raw: &RawValue) -> Result<TextParam, ApiError> {
    match TextParam::from_raw(raw) {
        // PostgreSQL's numeric input would skip spaces around the digits: a string is taken
        // only as the number it spells, nothing around it
        (_, Value::String(s)) if s.trim() != s || s.is_empty() => Err(ApiError::validation(
            "amount must be a number of tokens (at most 6 decimals), without spaces around it",
        )),
        (param, _) => Ok(param),
    }
}

/// The answer of a transfer, of the transaction `arxos.transfer_or_replay` booked now: its
/// contributors' ids and the amount as the ledger holds it (`numeric(20, 6)`), as
/// [`REPLAYED_TRANSFER`] reads a transaction booked before. (`round` never fails, whatever
/// the amount: the planner may evaluate it before the function refuses a bad one.)
const TRANSFER: &str = "SELECT jsonb_build_object('transaction_id', x.transaction_id,
            'from', arxos.contributor_id($1), 'to', arxos.contributor_id($2),
            'amount', round($3::numeric, 6), 'replayed', x.replayed)
       FROM arxos.transfer_or_replay(arxos.contributor_id($1), arxos.contributor_id($2), $3, $4, $5, $6) x";

/// The transaction a keyed transfer booked before, read back from the ledger
/// (`arxos.keyed_transfer`, which sees every building's part whatever the key's buildings): a
/// replay answers it, not the retry's own values (`0.10` for a `0.1` booked, a handle for an
/// id).
const REPLAYED_TRANSFER: &str = "SELECT jsonb_build_object('transaction_id', k.id, 'from', s.id,
            'to', k.receivers[1], 'amount', k.moved, 'replayed', true)
       FROM (SELECT arxos.contributor_id($1) AS id) s, arxos.keyed_transfer(s.id, $2) k";

/// Move tokens between contributors (`arxos.transfer`). An `Idempotency-Key` header makes
/// retries safe: the same transfer under the same key books nothing more and answers the
/// transaction booked the first time (`replayed: true`); another transfer under it is 409.
#[utoipa::path(post, path = "/api/transfers", tag = "market", request_body = NewTransfer,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = "^[!-~]+$",
        description = "Makes retries safe: 1 to 200 visible ASCII characters, per sender")),
    responses((status = 201, body = crate::openapi::Transfer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    key: ApiKey,
    headers: HeaderMap,
    Json(body): Json<NewTransfer>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let idempotency = idempotency_key(&headers)?;
    // A key limited to buildings may move only their tokens: 403 for another's.
    let building = body.building.as_deref();
    let booked = state
        .one(
            &key,
            Scope::Write,
            building,
            TRANSFER,
            &[
                &s(&body.from),
                &s(&body.to),
                &amount_text(&body.amount)?,
                &TextParam(body.memo.clone()),
                &TextParam(body.building.clone()),
                &TextParam(idempotency.clone()),
            ],
        )
        .await?;
    if booked["replayed"] != Value::Bool(true) {
        return Ok((StatusCode::CREATED, Json(booked)));
    }
    let first = state
        .one(
            &key,
            Scope::Write,
            building,
            REPLAYED_TRANSFER,
            &[&s(&body.from), &TextParam(idempotency)],
        )
        .await?;
    Ok((StatusCode::CREATED, Json(first)))
}

/// A building's token: supply, price, holders (`arxos.token`).
#[utoipa::path(get, path = "/api/tokens/{b}", tag = "market",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID")),
    responses((status = 200, body = crate::openapi::Token), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn token(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let value = state
        .one(
            &key,
            Scope::Read,
            Some(&b),
            "SELECT to_jsonb(x) FROM arxos.token($1) x",
            &[&s(&b)],
        )
        .await?;
    Ok(Json(value))
}

#[cfg(test)]
mod tests {
    use super::contributions_page_sql;

    #[test]
    fn a_page_of_contributions_has_only_the_conditions_asked_for() {
        let none = contributions_page_sql(false, false, false);
        assert!(!none.contains("x.building_id"), "{none}");
        assert!(!none.contains("IS NULL OR"), "{none}");
        let building = contributions_page_sql(true, false, true);
        assert!(building.contains("x.building_id = (SELECT args.b FROM args)"));
        assert!(!building.contains("x.contributor_id"));
        assert!(building.contains("< (SELECT a.created_at, a.id FROM anchor a)"));
        let contributor = contributions_page_sql(false, true, false);
        assert!(contributor.contains("x.contributor_id = (SELECT args.c FROM args)"));
        assert!(!contributor.contains("anchor a)"));
    }
}
