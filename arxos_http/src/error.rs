//! The one error type of the HTTP API, and how database errors map onto it.
//!
//! Every error answer has the shape `{"error": {"code", "message", "details"}}`; `code` is one
//! of the stable strings of [`ErrorCode`] and `details` is an object or null.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use tokio_postgres::error::DbError;

// The OpenAPI document lists the codes from this enum's schema; the serde names are
// `as_str`'s (a test compares them).
/// The stable error codes clients can rely on (docs/api.md, "Errors").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    #[serde(rename = "VALIDATION_ERROR")]
    Validation,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    Unauthorized,
    Forbidden,
    Conflict,
    PreconditionFailed,
    /// A resume position below the outbox's purge horizon (AX026).
    Gone,
    RateLimited,
    QueryTimeout,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Validation => "VALIDATION_ERROR",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::PreconditionFailed => "PRECONDITION_FAILED",
            ErrorCode::Gone => "GONE",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::QueryTimeout => "QUERY_TIMEOUT",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::Validation => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorCode::Gone => StatusCode::GONE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::QueryTimeout => StatusCode::BAD_REQUEST,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answer. Build it with the constructors; [`ApiError::internal`] logs the detail and
/// keeps it out of the answer.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    /// Raised by the database while serving the request, so after it accepted the key.
    from_database: bool,
}

/// Marks an answer whose error the database raised while serving the request: its key was
/// checked before (`arxos.authorize` runs first in every request's transaction), so
/// [`crate::operations::guard`] need not check it again.
#[derive(Debug, Clone, Copy)]
pub struct KeyChecked;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
            from_database: false,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The SQLSTATE the database raised, if it raised this error.
    pub fn sqlstate(&self) -> Option<&str> {
        self.details.as_ref()?.get("sqlstate")?.as_str()
    }

    /// Whether the database rolled the transaction back because a concurrent one won (a
    /// deadlock, a serialization failure): the same request may succeed when sent again.
    pub fn is_transient_conflict(&self) -> bool {
        matches!(self.sqlstate(), Some(SERIALIZATION_FAILURE | DEADLOCK))
    }

    /// Replaces the database's hint when the error has `sqlstate` (a route's own words for
    /// what the client can do instead, where the database names a SQL function).
    pub fn with_hint_for(mut self, sqlstate: &str, hint: &str) -> Self {
        if let Some(Value::Object(details)) = &mut self.details {
            if details.get("sqlstate").and_then(Value::as_str) == Some(sqlstate) {
                details.insert("hint".into(), hint.into());
            }
        }
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    /// A path the server checks before the database sees it (the event routes' `under`): the
    /// answer the database's check of the same path gives, `rule:` code and SQLSTATE 22023
    /// included, so a client reads one shape whichever checked it (found by an audit).
    pub fn invalid_path(err: &arxos_core::path::PathError) -> Self {
        Self::validation(format!("invalid path: {err}")).with_details(json!({
            "detail": format!("rule: {}", err.rule()),
            "sqlstate": INVALID_PARAMETER_VALUE,
        }))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// A request body that could not be read: over the body limit (413, stating it), or cut
    /// off by the client (400).
    pub fn unreadable_body(e: axum::Error, body_limit: usize) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return Self::payload_too_large(body_limit);
            }
            source = s.source();
        }
        Self::validation(format!("the body could not be read: {e}"))
    }

    /// 413: the body is over the server's `--body-limit`, which the message states.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is over this server's limit of {limit} bytes (--body-limit)"),
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// The seconds a 429 from the database says to wait (the market's rate limit, AX011: its
    /// detail is `retry after N seconds`), for `Retry-After`.
    fn retry_after(&self) -> Option<u64> {
        if self.code != ErrorCode::RateLimited {
            return None;
        }
        self.details
            .as_ref()?
            .get("detail")?
            .as_str()?
            .strip_prefix("retry after ")?
            .strip_suffix(" seconds")?
            .parse()
            .ok()
    }

    /// A 500 whose cause is logged here and never sent to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// The error answer for a bare status code (a middleware's or the router's own answer).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::not_found("not found"),
            StatusCode::METHOD_NOT_ALLOWED => Self::new(
                ErrorCode::MethodNotAllowed,
                "method not allowed for this route",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(ErrorCode::PayloadTooLarge, "request body too large")
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                Self::unavailable("the request could not be completed in time")
            }
            StatusCode::UNAUTHORIZED => Self::new(ErrorCode::Unauthorized, "unauthorized"),
            StatusCode::FORBIDDEN => Self::new(ErrorCode::Forbidden, "forbidden"),
            StatusCode::CONFLICT => Self::new(ErrorCode::Conflict, "conflict"),
            StatusCode::TOO_MANY_REQUESTS => Self::new(ErrorCode::RateLimited, "too many requests"),
            s if s.is_client_error() => {
                Self::validation(s.canonical_reason().unwrap_or("bad request"))
            }
            s => Self::internal(format!("bare {s} answer")),
        }
    }

    /// Maps an error the database raised, by SQLSTATE.
    fn from_db_error(db: &DbError) -> Self {
        let state = db.code().code();
        if state == IN_FAILED_TRANSACTION {
            // Only a consequence: an earlier statement of the transaction failed, and that
            // error is the one answered. (tx.rs pipelines a route's statements behind the key
            // check, so every refused key makes them fail this way.) Not worth an error log.
            tracing::debug!("statement skipped: an earlier statement of its transaction failed");
            return Self::new(ErrorCode::Internal, "internal error");
        }
        let mut code = code_for_sqlstate(state);
        // A missing schema or function means a missing extension only when it is the
        // extension's (`function arxos.authorize(…) does not exist`); any other (an operator
        // the shim's SQL got wrong) is a fault of the shim's: 500, logged.
        if matches!(state, MISSING_SCHEMA | MISSING_FUNCTION) && !db.message().contains("arxos") {
            code = ErrorCode::Internal;
        }
        match code {
            ErrorCode::Internal => Self::internal(format!(
                "database error {state}: {} (detail: {:?}, where: {:?})",
                db.message(),
                db.detail(),
                db.where_()
            )),
            ErrorCode::Unavailable => {
                tracing::warn!(
                    sqlstate = state,
                    error = db.message(),
                    "database unavailable"
                );
                Self::unavailable(match state {
                    MISSING_SCHEMA | MISSING_FUNCTION => {
                        "the database does not have the arxos extension (or not this version)"
                    }
                    CONFIG_FILE => {
                        "the database cannot read its key file for webhook secrets (docs/security.md)"
                    }
                    // The statement timeout (a second short of the request timeout, a quarter
                    // of it below 4 s), most often a wait for rows other transactions held, or
                    // a cancel.
                    "57014" => {
                        "the database cancelled the request's statement: it ran past the statement timeout (it may have waited for rows other writers held) or was cancelled; try again"
                    }
                    _ => "the database is unavailable",
                })
                // the SQLSTATE, as every answer the database raised carries it (found by an
                // audit: a statement timeout's 503 had none, so clients could not tell it)
                .with_details(json!({"sqlstate": state}))
            }
            _ => {
                let mut details = Map::new();
                details.insert("sqlstate".into(), state.into());
                if let Some(constraint) = db.constraint() {
                    details.insert("constraint".into(), constraint.into());
                }
                // Integrity violations' DETAIL quotes the offending row (any of its columns),
                // so only the extension's own errors pass theirs on.
                if !state.starts_with("23") {
                    if let Some(detail) = db.detail() {
                        details.insert("detail".into(), detail.into());
                    }
                }
                if let Some(hint) = db.hint().and_then(client_hint) {
                    details.insert("hint".into(), http_hint(hint).into());
                }
                // A NUL character (`%00` in a path, `\u0000` in a string) reaches PostgreSQL's
                // text input, whose words for it name an encoding, not the character.
                let message = match state {
                    "22021" if db.message().ends_with("0x00") => {
                        "text cannot hold the NUL character (U+0000, %00 in a URL): remove it"
                    }
                    // The same character as `\u0000` in a JSON document (properties, metrics, a
                    // reading): jsonb's words name an escape, not the character (found by an
                    // audit: the top-level fields got the message above, documents this one).
                    "22P05" if db.detail().is_some_and(|d| d.contains("\\u0000")) => {
                        "a JSON document cannot hold the NUL character (\\u0000 in a string or key): remove it"
                    }
                    // jsonb's numeric input, before any rule of ours sees the number
                    "22003" if db.message() == "value overflows numeric format" => {
                        "a number is too large or too precise to read (stored documents hold numbers below 1e100 in magnitude, 0 or at least 1e-100, with at most 16,383 digits after the point)"
                    }
                    // The database's detail names processes and transactions: not the
                    // client's business, and nothing it could act on.
                    SERIALIZATION_FAILURE | DEADLOCK => {
                        details.remove("detail");
                        details.insert(
                            "hint".into(),
                            "nothing was written: send the request again".into(),
                        );
                        "the request conflicted with a concurrent change (a deadlock or a serialization failure) and was rolled back"
                    }
                    _ => db.message(),
                };
                ApiError {
                    from_database: true,
                    ..Self::new(code, message).with_details(Value::Object(details))
                }
            }
        }
    }
}

/// An error with its causes, `outer: inner: innermost`, for logs.
/// `text` with what follows every `arx_` (API keys) and `whsec_` (webhook secrets) cut to
/// `…`: for messages that may quote their input, before they reach the log.
pub fn without_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["arx_", "whsec_"]
        .iter()
        .filter_map(|prefix| rest.find(prefix).map(|at| (at, prefix.len())))
        .min()
    {
        let (at, len) = at;
        out.push_str(&rest[..at + len]);
        rest = &rest[at + len..];
        let secret = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-".contains(c)))
            .unwrap_or(rest.len());
        if secret > 0 {
            out.push('…');
        }
        rest = &rest[secret..];
    }
    out.push_str(rest);
    out
}

/// An error and its causes, on one line: `outer: cause: root cause`.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their cause in their own message.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    // One line: a database error's DETAIL and HINT come on lines of their own, which a text
    // log would split into events of their own.
    if text.contains(['\n', '\r']) {
        text = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
    }
    text
}

/// SQLSTATE 25P02: the transaction is aborted, commands are ignored until its end.
pub const IN_FAILED_TRANSACTION: &str = "25P02";
/// SQLSTATE 3F000 and 42883: when they name the extension's schema or functions (the shim's
/// statements call them), the extension is missing (dropped) or of another version.
const MISSING_SCHEMA: &str = "3F000";
const MISSING_FUNCTION: &str = "42883";
/// SQLSTATE 40001 and 40P01: the transaction lost to a concurrent one and was rolled back.
pub const SERIALIZATION_FAILURE: &str = "40001";
pub const DEADLOCK: &str = "40P01";
/// A bad argument (the path grammar's errors among them).
const INVALID_PARAMETER_VALUE: &str = "22023";

/// SQLSTATE F0000: the extension cannot read the key file that seals webhook secrets.
const CONFIG_FILE: &str = "F0000";

/// The error code for a SQLSTATE the database raised.
pub fn code_for_sqlstate(state: &str) -> ErrorCode {
    match state {
        "23514" => ErrorCode::Validation,
        s if s.starts_with("22") => ErrorCode::Validation,
        "23502" => ErrorCode::Validation,
        // A limit of the extension's own (e.g. month partitions one readings batch creates).
        "54000" => ErrorCode::Validation,
        "P0002" => ErrorCode::NotFound,
        // Unique violations, a missing parent, children in the way.
        "23505" | "23503" | "2BP01" => ErrorCode::Conflict,
        // A deadlock or a serialization failure: the transaction was rolled back, nothing
        // written (AppState::rows retries single statements first).
        SERIALIZATION_FAILURE | DEADLOCK => ErrorCode::Conflict,
        // The sequencer's lock held elsewhere for 5 s (arxos.lock_sequencer): try again; and
        // an object not in the state the call needs (a delivery being sent, a webhook disabled).
        "55P03" | "55000" => ErrorCode::Conflict,
        "28000" | "28P01" => ErrorCode::Unauthorized,
        // The market's own SQLSTATEs (docs/market.md).
        "AX001" | "AX002" | "AX003" | "AX017" => ErrorCode::NotFound,
        "AX006" | "AX012" | "AX018" | "AX022" | "AX023" | "AX024" => ErrorCode::Conflict,
        "AX011" => ErrorCode::RateLimited,
        // A conditional write (if_match, the If-Match header) found the object changed.
        "AX025" => ErrorCode::PreconditionFailed,
        // Events after a consumer's position were purged: it must take a new snapshot.
        "AX026" => ErrorCode::Gone,
        "AX014" | "AX015" => ErrorCode::Forbidden,
        s if s.starts_with("AX") => ErrorCode::Validation,
        "42501" => ErrorCode::Forbidden,
        // Connection trouble, server shutting down or starting, too many connections,
        // statement timeout: the database is (for now) unable to answer.
        s if s.starts_with("08") => ErrorCode::Unavailable,
        // Out of memory or disk on the server's side.
        "57P01" | "57P02" | "57P03" | "53100" | "53200" | "53300" | "57014" => {
            ErrorCode::Unavailable
        }
        // The database is not set up as the server needs (see the constants): an operator's
        // to repair, not a fault of the request or of the server.
        MISSING_SCHEMA | MISSING_FUNCTION | CONFIG_FILE => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    }
}

/// The code of a `POST /api/query` error of SQLSTATE `state` ([`ApiError::from_query_error`]);
/// `None`: the database's trouble, mapped as on every route ([`code_for_sqlstate`]).
/// `timed_out`: the statement ran as long as its time limit.
fn query_error_code(state: &str, timed_out: bool) -> Option<ErrorCode> {
    Some(match state {
        "57014" if timed_out => ErrorCode::QueryTimeout,
        "57014" => ErrorCode::Validation,
        "42501" | "25006" => ErrorCode::Forbidden,
        // A limit set on the query role (temp_file_limit): the query's to keep within.
        "53400" => ErrorCode::Validation,
        s if s.starts_with("08") || s.starts_with("53") || s.starts_with("57P") => return None,
        // Lost to others, not the query's fault: a serialization failure (also a hot
        // standby's conflict with recovery), a deadlock, a lock not free; sent again, it may
        // pass (409, as on every route; found by a review: they were 400).
        "40001" | "40P01" | "55P03" => return None,
        s if s.starts_with("XX") || s.starts_with("58") => return None,
        _ => ErrorCode::Validation,
    })
}

impl ApiError {
    /// Maps an error of a caller's own SQL (`POST /api/query`): whatever the database refused
    /// about the statement is the caller's to fix (4xx, with the database's message); only
    /// trouble with the database itself is 5xx.
    /// `ran` is how long the statement ran as the shim saw it, `limit` the `statement_timeout`
    /// it was given.
    pub fn from_query_error(
        err: tokio_postgres::Error,
        ran: std::time::Duration,
        limit: std::time::Duration,
    ) -> Self {
        let Some(db) = err.as_db_error() else {
            return Self::from(err);
        };
        let state = db.code().code();
        // 57014 is both the time limit and a cancel from another session (pg_cancel_backend):
        // only the first is a timeout; a cancel is reported with the database's own words.
        // Told apart by time, not by the message, which the server may word in another
        // language (lc_messages): the server's clock starts after the shim's, so a statement
        // the limit stopped has run at least the limit here, and a cancel earlier than the
        // limit has not (a later one cannot come: the limit stops the statement first).
        let Some(code) = query_error_code(state, ran >= limit) else {
            return Self::from(err);
        };
        let message = match code {
            ErrorCode::QueryTimeout => "the query ran longer than the time limit and was stopped",
            _ => db.message(),
        };
        let mut details = Map::new();
        details.insert("sqlstate".into(), state.into());
        if let Some(hint) = db.hint().and_then(client_hint) {
            details.insert("hint".into(), hint.into());
        }
        Self::new(code, message).with_details(Value::Object(details))
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(err: tokio_postgres::Error) -> Self {
        match err.as_db_error() {
            Some(db) => Self::from_db_error(db),
            None if err.is_closed() => {
                tracing::warn!(error = %chain(&err), "database connection lost");
                Self::unavailable("the database is unavailable")
            }
            None => Self::internal(chain(&err)),
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::{PoolError, TimeoutType};
        tracing::warn!(error = %chain(&err), "no database connection");
        match err {
            // Usually this shim's connections all busy (requests waiting on a lock, say) while
            // the database answers; a database that accepts no new connection ends up here
            // too (the pool's slots held by connections being opened). Both said.
            PoolError::Timeout(TimeoutType::Wait) => Self::unavailable(
                "no database connection came free in time: this server's are all in use (--pool-size), or the database is slow to accept new ones",
            ),
            _ => Self::unavailable("the database is unavailable"),
        }
    }
}

/// Seconds a client is asked to wait before sending a request answered 503 again.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// The details' texts as an answer carries them ([`arxos_core::message::readable`]).
fn readable_details(details: Option<Value>) -> Option<Value> {
    match details? {
        Value::Object(map) => Some(Value::Object(
            map.into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, Value::String(arxos_core::message::readable(&s))),
                    v => (k, v),
                })
                .collect(),
        )),
        other => Some(other),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after();
        // Messages quote what the caller sent (the database's own do too: "invalid input
        // syntax for type uuid: …"): cut and with invisible characters written out, every one.
        let body = json!({
            "error": {
                "code": self.code.as_str(),
                "message": arxos_core::message::readable(&self.message),
                "details": readable_details(self.details),
            }
        });
        let mut response = (self.code.status(), Json(body)).into_response();
        if self.code == ErrorCode::Unauthorized {
            // RFC 9110, 11.6.1: a 401 names the scheme that would be accepted (the key may
            // also be sent as X-API-Key).
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"arxos\""),
            );
        }
        if self.code == ErrorCode::Unavailable {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if self.from_database {
            response.extensions_mut().insert(KeyChecked);
        }
        response
    }
}

/// A database hint a client may read: not PostgreSQL's advice to raise a server setting
/// (`Increase the configuration parameter "max_stack_depth" (currently 2048kB)…`), which is
/// the operator's to take and shows the server's configuration (found by a review, through
/// `/api/query`).
fn client_hint(hint: &str) -> Option<&str> {
    (!hint.contains("configuration parameter")).then_some(hint)
}

/// The database's hints that name a SQL function, in the API's words: an HTTP client cannot
/// call `arxos.put(…, parents => true)` but can send `"parents": true`. Other hints pass as
/// they are (routes may replace one with their own: [`ApiError::with_hint_for`]).
fn http_hint(hint: &str) -> &str {
    const HTTP_HINTS: &[(&str, &str)] = &[
        (
            "list buildings with: select key, name from arxos.buildings",
            "list buildings with GET /api/buildings",
        ),
        (
            "create the parent first, or call arxos.put(",
            "create the parent first, or send the request with \"parents\": true in its body to create the missing ones",
        ),
        (
            // a move's: the target's parent must exist
            "create the parent first: arxos.put(",
            "create the parent first (PUT it with {\"type\": \"directory\", \"parents\": true}), then move",
        ),
        (
            "read it again (arxos.get)",
            "read the object again (GET it: its ETag) and apply the change to what it is now",
        ),
        (
            "clear a location, or a part of it, with patch:",
            "clear a location, or a part of it, with PATCH: \"location\": null for all of it, {\"floor\": null} for the floor, {\"x\": null, \"y\": null} for the point",
        ),
        (
            "if_none_match => '*' only creates",
            "If-None-Match: * only creates; to change the object, GET it and send the write with If-Match: its ETag",
        ),
        (
            "if_match makes a write conditional",
            "If-Match makes a write conditional on the object as it was read (its ETag)",
        ),
        (
            "move the whole subtree with arxos.mv",
            "move the whole subtree with POST /api/buildings/{b}/move",
        ),
        (
            "delete the subtree with arxos.rm",
            "add ?recursive=true to delete the whole subtree",
        ),
        (
            "readings go to existing objects: create it with arxos.put first",
            "readings go to existing objects: create it first (PUT /api/buildings/{b}/objects/{path})",
        ),
        (
            "change its status with arxos.verify_contribution",
            "change its status with POST /api/contributions/{id}/verify",
        ),
        (
            "transfer tokens with arxos.transfer()",
            "transfer tokens with POST /api/transfers",
        ),
        (
            // found by a review: the SQL function is not the API's to call
            "split the batch by time, or create the months first",
            "split the batch by time: send the readings of fewer months without a partition per request",
        ),
    ];
    HTTP_HINTS
        .iter()
        .find(|(sql, _)| hint.starts_with(sql))
        .map_or(hint, |(_, http)| http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_that_lost_to_others_is_a_conflict_not_the_callers_mistake() {
        for state in ["40001", "40P01", "55P03"] {
            assert_eq!(query_error_code(state, false), None, "{state}");
            assert_eq!(code_for_sqlstate(state), ErrorCode::Conflict, "{state}");
        }
        assert_eq!(
            query_error_code("57014", true),
            Some(ErrorCode::QueryTimeout)
        );
        assert_eq!(
            query_error_code("57014", false),
            Some(ErrorCode::Validation)
        );
        assert_eq!(
            query_error_code("42601", false),
            Some(ErrorCode::Validation)
        );
        assert_eq!(query_error_code("25006", false), Some(ErrorCode::Forbidden));
        assert_eq!(query_error_code("08006", false), None);
    }

    #[test]
    fn a_chain_is_one_line() {
        #[derive(Debug, thiserror::Error)]
        #[error("ERROR: function f() does not exist\nHINT:  No function matches.\n")]
        struct Db;
        #[derive(Debug, thiserror::Error)]
        #[error("listener")]
        struct Outer(#[source] Db);
        assert_eq!(
            chain(&Outer(Db)),
            "listener: ERROR: function f() does not exist HINT:  No function matches."
        );
    }

    #[test]
    fn hints_naming_sql_functions_are_said_in_http_terms() {
        // every hint of the table is one the extension raises (sql/), word for word at its start
        let sql: String = [
            "02_objects",
            "06_tree",
            "09_market",
            "13_readings",
            "01_tables",
        ]
        .iter()
        .chain(
            [
                "03_rating",
                "04_events",
                "05_keys",
                "08_security",
                "12_webhooks",
            ]
            .iter(),
        )
        .map(|f| {
            std::fs::read_to_string(format!("{}/../sql/{f}.sql", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
        })
        .collect();
        for probe in [
            "list buildings with: select key, name from arxos.buildings",
            "create the parent first, or call arxos.put(..., parents => true)",
            "create the parent first: arxos.put(building, parent, ''directory'', parents => true)",
            "read it again (arxos.get) and apply the change to what it is now",
            "if_none_match => ''*'' only creates",
            "if_match makes a write conditional on the object as it was read",
            "move the whole subtree with arxos.mv(building, from, to)",
            "delete the subtree with arxos.rm(building, path, recursive => true)",
            "readings go to existing objects: create it with arxos.put first",
            "change its status with arxos.verify_contribution(id, verifier, status)",
            "transfer tokens with arxos.transfer()",
            "split the batch by time, or create the months first",
        ] {
            assert!(sql.contains(probe), "{probe}");
            let raised = probe.replace("''", "'");
            let http = http_hint(&raised);
            assert_ne!(http, raised, "{probe}");
            assert!(!http.contains("arxos."), "{http}");
        }
        assert_eq!(http_hint("something else"), "something else");
    }

    #[test]
    fn hints_about_server_settings_are_the_operators() {
        let stack = "Increase the configuration parameter \"max_stack_depth\" (currently 2048kB), after ensuring the platform's stack depth limit is adequate.";
        assert_eq!(client_hint(stack), None);
        assert_eq!(
            client_hint("split the batch by time"),
            Some("split the batch by time")
        );
    }

    #[test]
    fn the_schemas_codes_are_the_answers_codes() {
        // every name the OpenAPI schema lists is the code of the variant it names
        let schema = serde_json::to_value(<ErrorCode as utoipa::PartialSchema>::schema()).unwrap();
        let names = schema["enum"].as_array().unwrap();
        assert!(names.len() > 1, "{schema}");
        for name in names {
            let code: ErrorCode = serde_json::from_value(name.clone()).unwrap();
            assert_eq!(code.as_str(), name, "{name}");
        }
    }

    #[test]
    fn the_markets_rate_limit_says_when_to_retry() {
        let limited = ApiError::new(ErrorCode::RateLimited, "rate limit")
            .with_details(json!({"sqlstate": "AX011", "detail": "retry after 42 seconds"}))
            .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["retry-after"], "42");
        let other = ApiError::validation("x")
            .with_details(json!({"detail": "retry after 42 seconds"}))
            .into_response();
        assert!(other.headers().get("retry-after").is_none());
    }

    #[test]
    fn secrets_are_cut_from_messages() {
        assert_eq!(
            without_secrets(
                "at /api/events?api_key=arx_08cf02d5fec6&after=%a and whsec_ab+/c= end"
            ),
            "at /api/events?api_key=arx_…&after=%a and whsec_… end"
        );
        assert_eq!(
            without_secrets("no secret, arx_ alone"),
            "no secret, arx_ alone"
        );
        assert_eq!(without_secrets("é arx_1é"), "é arx_…é");
    }

    #[test]
    fn every_code_has_a_distinct_status_or_name() {
        let codes = [
            ErrorCode::Validation,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::PayloadTooLarge,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::Conflict,
            ErrorCode::PreconditionFailed,
            ErrorCode::Gone,
            ErrorCode::RateLimited,
            ErrorCode::QueryTimeout,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ];
        let mut names: Vec<_> = codes.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), codes.len());
        assert_eq!(ErrorCode::Validation.status(), StatusCode::BAD_REQUEST);
        assert_eq!(ErrorCode::Conflict.status(), StatusCode::CONFLICT);
        assert_eq!(ErrorCode::Forbidden.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            ErrorCode::Unavailable.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn sqlstates_map_to_codes() {
        for (state, code) in [
            ("22023", ErrorCode::Validation),
            ("22P02", ErrorCode::Validation),
            ("22001", ErrorCode::Validation),
            ("54000", ErrorCode::Validation),
            ("23514", ErrorCode::Validation),
            ("P0002", ErrorCode::NotFound),
            ("23505", ErrorCode::Conflict),
            ("42501", ErrorCode::Forbidden),
            ("08006", ErrorCode::Unavailable),
            ("57P01", ErrorCode::Unavailable),
            ("23503", ErrorCode::Conflict),
            ("2BP01", ErrorCode::Conflict),
            ("55P03", ErrorCode::Conflict),
            ("55000", ErrorCode::Conflict),
            ("28000", ErrorCode::Unauthorized),
            ("AX002", ErrorCode::NotFound),
            ("AX018", ErrorCode::Conflict),
            ("AX007", ErrorCode::Validation),
            ("AX025", ErrorCode::PreconditionFailed),
            ("AX026", ErrorCode::Gone),
            ("40001", ErrorCode::Conflict),
            ("40P01", ErrorCode::Conflict),
            ("42P01", ErrorCode::Internal),
            ("42883", ErrorCode::Unavailable),
            ("3F000", ErrorCode::Unavailable),
            ("F0000", ErrorCode::Unavailable),
            ("XX000", ErrorCode::Internal),
            ("P0001", ErrorCode::Internal),
        ] {
            assert_eq!(code_for_sqlstate(state), code, "{state}");
        }
    }

    #[test]
    fn bare_statuses_map_to_codes() {
        assert_eq!(
            ApiError::from_status(StatusCode::NOT_FOUND).code,
            ErrorCode::NotFound
        );
        assert_eq!(
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE).code,
            ErrorCode::PayloadTooLarge
        );
        assert_eq!(
            ApiError::from_status(StatusCode::REQUEST_TIMEOUT).code,
            ErrorCode::Unavailable
        );
        assert_eq!(
            ApiError::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE).code,
            ErrorCode::Validation
        );
        assert_eq!(
            ApiError::from_status(StatusCode::BAD_GATEWAY).code,
            ErrorCode::Internal
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = ApiError::internal("password authentication failed for user x");
        assert_eq!(err.message, "internal error");
        assert!(err.details.is_none());
    }
}
