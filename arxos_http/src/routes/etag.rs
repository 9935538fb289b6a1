//! Conditional writes of objects: the `ETag` an object is answered with, the `If-Match` a
//! write may carry and the `If-None-Match: *` of a create-only write (docs/api.md,
//! "Conditional writes").
//!
//! The tag is the database's (`arxos.etag(o)`: the object's id and version); the shim only
//! quotes it on the way out and unquotes it on the way in. Whether a tag matches is decided by
//! `arxos.put`, `arxos.patch` and `arxos.rm` (`if_match`, SQLSTATE AX025 → 412), under the
//! object's row lock, so a write between the check and the change cannot slip through.

use axum::extract::FromRequestParts;
use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::error::ApiError;

/// The `If-Match` of a request, as `if_match` for the SQL functions: the entity tag without
/// its quotes, `*`, or none. A weak tag (`W/"…"`) is passed as written: it never equals an
/// object's tag, so the write is refused with 412, as RFC 9110 asks of If-Match (strong
/// comparison).
#[derive(Debug, Clone, Default)]
pub struct IfMatch(pub Option<String>);

impl IfMatch {
    /// Parses the header's value: one entity tag or `*`. A list of tags is refused rather than
    /// half-honoured.
    pub fn parse(value: Option<&HeaderValue>) -> Result<IfMatch, ApiError> {
        let Some(value) = value else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().map_err(|_| {
            ApiError::validation(
                "If-Match must be visible ASCII: an entity tag such as \"0190….3\" or *",
            )
        })?;
        let text = text.trim();
        if text == "*" {
            return Ok(IfMatch(Some("*".into())));
        }
        let weak = text.starts_with("W/");
        let quoted = text.strip_prefix("W/").unwrap_or(text);
        let inner = quoted
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .filter(|t| !t.contains('"'))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "If-Match takes one entity tag in double quotes (as the ETag header gives it) or *, got {text:?}"
                ))
            })?;
        Ok(IfMatch(Some(if weak || inner == "*" {
            // a weak tag, or a tag whose text is `*` (not the wildcard): passed with its
            // quotes, so that it matches no object's tag
            format!("{}\"{inner}\"", if weak { "W/" } else { "" })
        } else {
            inner.to_owned()
        })))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        IfMatch::parse(super::header_once(
            &parts.headers,
            IF_MATCH.as_str(),
            "one entity tag or *",
        )?)
    }
}

/// The `If-None-Match` of a write that may create, as `if_none_match` for `arxos.put`: `*`
/// (create only: 412 when an object is at the path) or none. A list of tags (RFC 9110 lets a
/// PUT send one: write unless the object has one of them) is refused with 400 rather than
/// half-honoured: `If-Match` is how a write names the version it expects.
#[derive(Debug, Clone, Default)]
pub struct IfNoneMatch(pub Option<String>);

impl IfNoneMatch {
    pub fn parse(value: Option<&HeaderValue>) -> Result<IfNoneMatch, ApiError> {
        match value.map(|v| v.to_str().map(str::trim)) {
            None => Ok(IfNoneMatch(None)),
            Some(Ok("*")) => Ok(IfNoneMatch(Some("*".into()))),
            Some(_) => Err(ApiError::validation(
                "If-None-Match on a write takes only * (create the object only if none is at the path); to write only over the version read, send its ETag as If-Match",
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        IfNoneMatch::parse(super::header_once(
            &parts.headers,
            IF_NONE_MATCH.as_str(),
            "*",
        )?)
    }
}

/// An object answered with its `ETag`: the query returned `[object, etag]`.
pub struct Tagged {
    pub status: StatusCode,
    pub object: Value,
    pub etag: Option<HeaderValue>,
    /// `Location` of an object a POST created (its URL by id).
    pub location: Option<HeaderValue>,
}

impl Tagged {
    /// Splits a `jsonb_build_array(object, arxos.etag(o))` row.
    pub fn from_row(status: StatusCode, row: Value) -> Tagged {
        let (object, etag) = match row {
            Value::Array(mut parts) if parts.len() == 2 => {
                let etag = parts.pop().unwrap_or_default();
                (parts.pop().unwrap_or_default(), etag)
            }
            other => (other, Value::Null),
        };
        let etag = etag
            .as_str()
            .and_then(|t| HeaderValue::from_str(&format!("\"{t}\"")).ok());
        Tagged {
            status,
            object,
            etag,
            location: None,
        }
    }
}

impl IntoResponse for Tagged {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.object)).into_response();
        if let Some(location) = self.location {
            response.headers_mut().insert(LOCATION, location);
        }
        if let Some(etag) = self.etag {
            // The tag names the object's version, which readings (metrics) do not change: it is
            // for If-Match, not for caches, which keep no answer (`no-store`, crate::protocol).
            response.headers_mut().insert(ETAG, etag);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Result<Option<String>, String> {
        IfMatch::parse(Some(&HeaderValue::from_str(text).unwrap()))
            .map(|m| m.0)
            .map_err(|e| e.message)
    }

    #[test]
    fn if_match_takes_one_tag_or_a_star() {
        assert_eq!(IfMatch::parse(None).unwrap().0, None);
        assert_eq!(parsed("\"abc.3\"").unwrap().as_deref(), Some("abc.3"));
        assert_eq!(parsed("  *  ").unwrap().as_deref(), Some("*"));
        assert_eq!(
            parsed("W/\"abc.3\"").unwrap().as_deref(),
            Some("W/\"abc.3\"")
        );
        assert_eq!(
            parsed("\"*\"").unwrap().as_deref(),
            Some("\"*\""),
            "a tag, not the wildcard"
        );
        for bad in ["abc.3", "\"a\", \"b\"", "\"a", "\"\"\"", ""] {
            let message = parsed(bad).unwrap_err();
            assert!(message.contains("one entity tag"), "{bad}: {message}");
        }
    }

    #[test]
    fn if_none_match_takes_only_a_star() {
        let parsed = |text: &str| IfNoneMatch::parse(Some(&HeaderValue::from_str(text).unwrap()));
        assert_eq!(IfNoneMatch::parse(None).unwrap().0, None);
        assert_eq!(parsed(" * ").unwrap().0.as_deref(), Some("*"));
        for bad in ["\"abc.3\"", "W/\"abc.3\"", "\"*\"", "*, *", ""] {
            let message = parsed(bad).unwrap_err().message;
            assert!(message.contains("takes only *"), "{bad}: {message}");
        }
    }

    #[test]
    fn a_tagged_row_answers_the_object_with_a_quoted_etag() {
        let tagged = Tagged::from_row(StatusCode::CREATED, json!([{"id": "x"}, "x.1"]));
        assert_eq!(tagged.object, json!({"id": "x"}));
        let response = tagged.into_response();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[ETAG], "\"x.1\"");
    }
}
