//! `POST /api/buildings/{b}/import` (admin) and `POST /api/buildings/{b}/readings` (write).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::{plan, write, Format};
use crate::auth::{ApiKey, Scope};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::tx::json_one;

/// Skipped items listed in an import's answer (all are counted).
const SKIPPED_LISTED: usize = 1_000;

/// The import's route, as the router matches it (the server's timeout and the JSON body
/// check treat it apart). (The `.route` below spells it out: openapi.rs's test reads the
/// routes from the source.)
pub const IMPORT_ROUTE: &str = "/api/buildings/{b}/import";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/buildings/{b}/import", post(import))
        .route("/api/buildings/{b}/readings", post(readings))
}

/// The names `format` takes (the OpenAPI's enum; the route reads the text, any case, and
/// refuses others with 400): `brick` and its aliases `turtle`, `ttl`; `haystack` and its
/// aliases `hayson`, `json`, `zinc`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ImportFormat {
    Brick,
    Turtle,
    Ttl,
    Haystack,
    Hayson,
    Json,
    Zinc,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// brick (Turtle) or haystack (JSON or Zinc); guessed from the content when absent.
    #[param(value_type = Option<ImportFormat>, inline)]
    pub format: Option<String>,
    /// Run the whole import, then roll it back: the answer counts what it would write (created,
    /// updated, unchanged, skipped) and `dry_run` is true; nothing is written.
    pub dry_run: Option<bool>,
}

/// Imports a Brick (Turtle) or Haystack (JSON) file into an existing building, in one
/// transaction. Answers the summary: objects created/updated/unchanged, connections, skipped.
#[utoipa::path(post, path = "/api/buildings/{b}/import", operation_id = "import_model", tag = "integrations",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID (the building must exist)"),
           ImportParams),
    request_body(description = "The model file: Brick as Turtle (or N-Triples), or Project Haystack JSON (Hayson grid or array, Haystack 3 JSON)",
                 content((String = "text/turtle"), (String = "application/n-triples"),
                         (Object = "application/json"), (String = "text/zinc"), (String = "text/plain"))),
    responses((status = 200, description = "What the import wrote; re-importing the same file changes nothing", body = crate::openapi::ImportSummary),
              (status = 400, description = "Unknown format or a file that cannot be parsed", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
              (status = 404, description = "Unknown building", body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, body = ErrorBody),
              (status = 415, description = "The file came as a form: without its line breaks (curl -d) or wrapped in a multipart form (curl -F); send it as it is (--data-binary)", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn import(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Query(params): Query<ImportParams>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<axum::response::Response, ApiError> {
    let format = match params.format.as_deref() {
        None => None,
        Some(name) => Some(Format::parse_name(name).ok_or_else(|| {
            ApiError::validation(format!("unknown format {name:?}: use brick or haystack"))
        })?),
    };
    // The key (admin scope, this building) and the building are checked before the body is
    // read and parsed: a refused request costs no parsing.
    state
        .one(
            &key,
            Scope::Admin,
            Some(&b),
            "SELECT to_jsonb(arxos.building_id($1))",
            &[&b],
        )
        .await?;
    let mut input = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::unreadable_body(e, state.body_limit))?;
        input.extend_from_slice(&chunk);
    }
    if let Some(form) = form_body(&headers, &input) {
        return Ok(form);
    }
    let plan = tokio::task::spawn_blocking(move || plan(&input, format))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let building = b.clone();
    let dry_run = params.dry_run.unwrap_or(false);
    let summary = state
        .tx(&key, Scope::Admin, Some(&b), move |c| {
            Box::pin(async move {
                // A dry run: every write, trigger and check runs; the savepoint then undoes them.
                if dry_run {
                    c.batch_execute("SAVEPOINT dry_run").await?;
                }
                let summary = write::write(c, &building, plan, &|_| {}).await?;
                if dry_run {
                    c.batch_execute("ROLLBACK TO SAVEPOINT dry_run").await?;
                }
                Ok(summary)
            })
        })
        .await?;
    let mut answer = serde_json::to_value(&summary).map_err(ApiError::internal)?;
    answer["skipped_count"] = json!(summary.skipped.len());
    if dry_run {
        answer["dry_run"] = json!(true);
    }
    if let Some(Value::Array(items)) = answer.get_mut("skipped") {
        items.truncate(SKIPPED_LISTED);
    }
    Ok(Json(answer).into_response())
}

/// 415 for a model file that reached the server damaged as a form: a multipart form (`curl
/// -F`) is no model file at all, and a URL-encoded one (`curl -d @model.ttl`) had its line
/// breaks removed on the way, so that a Turtle comment swallowed the rest of the file, which
/// then imported what was left without a word (found by an audit). curl's `--data-binary`
/// sends the same type with the file intact, so a URL-encoded body is refused only when it
/// holds no line break and a `#` that starts a comment ([`turtle_comment`]); JSON, which has
/// no comments, is never refused.
///
/// Whatever its type, a file that is one comment line (no line break, a `#` first) lost its
/// line breaks the same way (`curl -d` with `-H 'Content-Type: text/turtle'`): the comment would
/// swallow the whole model, and the import create nothing without a word (found by a review).
fn form_body(headers: &axum::http::HeaderMap, body: &[u8]) -> Option<axum::response::Response> {
    let text = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let media = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let message = match media.as_str() {
        _ if one_comment_line(text) => {
            "the model file is one comment line: its line breaks were lost on the way, so the comment would swallow the whole model; send the file as it is (curl --data-binary @model.ttl, not -d, which removes line breaks)".to_owned()
        }
        // Found by an audit: a `curl -F` upload was told its line breaks were gone.
        "multipart/form-data" => {
            "the model file came wrapped in a multipart form (curl -F): send the file itself as the body, as it is (curl --data-binary @model.ttl), best with its own type (-H 'Content-Type: text/turtle')".to_owned()
        }
        "application/x-www-form-urlencoded"
            if !text
                .iter()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|c| matches!(c, b'{' | b'['))
                && !text.iter().any(|c| matches!(c, b'\n' | b'\r'))
                && turtle_comment(text) =>
        {
            format!(
                "the model file came as a form ({media}) without its line breaks: send the file itself as the body, as it is (curl --data-binary @model.ttl, not -d, which removes line breaks), best with its own type (-H 'Content-Type: text/turtle')"
            )
        }
        _ => return None,
    };
    let mut refusal = ApiError::validation(message).into_response();
    *refusal.status_mut() = axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    Some(refusal)
}

/// A body without a line break whose first visible character starts a comment.
fn one_comment_line(text: &[u8]) -> bool {
    !text.iter().any(|c| matches!(c, b'\n' | b'\r'))
        && text.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'#')
}

/// Whether Turtle text holds a comment: a `#` outside an IRI (`<…#…>`) and a string (`"…"`,
/// `'…'`, escapes skipped). A prefixed name holds no `#`.
fn turtle_comment(text: &[u8]) -> bool {
    let mut inside: Option<u8> = None;
    let mut escaped = false;
    for &c in text {
        match inside {
            Some(_) if escaped => escaped = false,
            Some(b'<') if c == b'>' => inside = None,
            Some(q) if q != b'<' && c == b'\\' => escaped = true,
            Some(q) if c == q && q != b'<' => inside = None,
            Some(_) => {}
            None => match c {
                b'#' => return true,
                b'<' | b'"' | b'\'' => inside = Some(c),
                _ => {}
            },
        }
    }
    false
}

/// Records a batch of readings: a JSON array of `{"path", "value", "unit"?, "at"?}` (or
/// `{"readings": [...]}`), all or nothing. Answers `{"recorded": n, "objects": m}`.
#[utoipa::path(post, path = "/api/buildings/{b}/readings", operation_id = "record_readings", tag = "integrations",
    params(("b" = String, Path, example = "b42", description = "Building key or UUID")),
    request_body(description = "Readings of existing objects, all or nothing (`arxos.record_batch`)",
                 content((crate::openapi::ReadingBatch = "application/json"))),
    responses((status = 200, description = "Readings stored (a repeated object and time counts once) and the distinct objects they are readings of", body = crate::openapi::ReadingsRecorded),
              (status = 400, description = "Not an array, or an invalid reading (its index is in the message)", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "Unknown building, or no object at a reading's path", body = ErrorBody),
              (status = 413, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn readings(
    State(state): State<AppState>,
    key: ApiKey,
    Path(b): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let batch = match body {
        Value::Object(mut o) if o.contains_key("readings") => {
            if let Some(extra) = o.keys().find(|k| *k != "readings") {
                return Err(ApiError::validation(format!(
                    "unknown field {extra:?}: the body is a JSON array of readings, or {{\"readings\": [...]}} alone"
                )));
            }
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

#[cfg(test)]
mod tests {
    use super::{one_comment_line, turtle_comment};

    #[test]
    fn a_file_of_one_comment_line_lost_its_line_breaks() {
        assert!(one_comment_line(
            b"# my model @prefix ex: <urn:x#> . ex:a a ex:B ."
        ));
        assert!(one_comment_line(b"   # just a comment"));
        assert!(!one_comment_line(b"# my model\n@prefix ex: <urn:x#> ."));
        assert!(!one_comment_line(b"@prefix ex: <urn:x#> . # note"));
        assert!(!one_comment_line(b""));
    }

    #[test]
    fn a_comment_is_a_hash_outside_iris_and_strings() {
        // what `curl -d` leaves of a file with comment lines: the hash after a dot, or first
        assert!(turtle_comment(
            b"<urn:a> a <urn:b> .# Floors<urn:c> a <urn:d> ."
        ));
        assert!(turtle_comment(
            b"# a model@prefix brick: <https://x.org/Brick#> ."
        ));
        // a hash in an IRI or a string is none
        assert!(!turtle_comment(
            b"@prefix brick: <https://brickschema.org/schema/Brick#> . <urn:x#f> a brick:Floor ."
        ));
        assert!(!turtle_comment(
            br#"<urn:r> <urn:label> "Room #2 \" # x" ; <urn:n> 'a#b' ."#
        ));
    }
}
