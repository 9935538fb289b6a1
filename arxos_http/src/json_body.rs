//! What every JSON request body must be before a handler reads it.
//!
//! - **No key twice in one object.** JSON parsers (serde_json, PostgreSQL's jsonb) keep the
//!   last of two equal keys and drop the first without a word: `{"properties": {"a": 1,
//!   "a": 2}}` would store `{"a": 2}`. What a client sent is never silently dropped, so such a
//!   body is refused (400) with the key and where it is (`/properties`).
//! - **An object where the route takes one.** serde reads a struct from a JSON array too,
//!   by position (`["directory", {…}, null]` for `{"type", "properties", …}`): a body whose
//!   meaning hangs on the order of the server's fields. Every typed body is an object, so a
//!   top-level array is refused (422) but on the routes that take one ([`ARRAY_BODIES`]).
//! - **A byte order mark is skipped.** RFC 8259 lets a parser ignore one, and editors on
//!   Windows write it; the import routes skip it too.
//!
//! A body that is not JSON at all is left to the handler, whose extractor says what is wrong;
//! a body sent to a route that takes none ([`NoBody`]) is not read at all.

use std::collections::HashSet;
use std::fmt;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::ApiError;

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Bodies larger than this are checked on a blocking thread.
const BLOCKING_ABOVE: usize = 256 * 1024;

/// Routes whose JSON body is a file their own parser reads after the key and the building
/// are checked (a refused request costs no parsing): not walked here, but by that parser
/// (crate::import::haystack).
const OWN_PARSERS: &[&str] = &[crate::import::routes::IMPORT_ROUTE];

/// The deepest body serde_json reads: its recursion limit of 128 counts down on entering each
/// level and refuses the one that reaches 0, so 127 levels pass.
const BODY_DEPTH_MAX: usize = 127;

/// Routes whose body may be a JSON array (readings: an array of readings, or
/// `{"readings": […]}`).
const ARRAY_BODIES: &[&str] = &["/api/buildings/{b}/readings"];

/// Marks a request to a route that takes no body (crate::operations, from the OpenAPI
/// document): whatever body it sent is ignored, not checked.
#[derive(Debug, Clone, Copy)]
pub struct NoBody;

/// Whether a `Content-Type` names JSON: `application/json` or a `+json` type, in any case (as
/// axum's `Json` extractor reads them: a type it reads as JSON that this took for another let
/// `application/merge-patch+JSON` past every check below; found by a review). A superset of
/// what the extractor takes: it refuses the few others itself (415).
fn is_json_type(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || media.ends_with("+json")
}

/// The middleware (a route layer, inside the guard of crate::operations, so that a refusal
/// is answered after the key is judged).
pub async fn check(body_limit: usize, request: Request, next: Next) -> Response {
    if request.extensions().get::<NoBody>().is_some() {
        return next.run(request).await;
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let is_json = content_type.is_some_and(is_json_type);
    if let Some(charset) = content_type.filter(|_| is_json).and_then(foreign_charset) {
        let mut refusal = ApiError::validation(format!(
            "JSON bodies are read as UTF-8 (RFC 8259); charset {} is not: send the body in UTF-8 (or leave the charset out)",
            arxos_core::message::shown(&charset)
        ))
        .into_response();
        *refusal.status_mut() = axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return refusal;
    }
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let own_parser = route.as_deref().is_some_and(|r| OWN_PARSERS.contains(&r));
    let takes_array = route.as_deref().is_some_and(|r| ARRAY_BODIES.contains(&r));
    if !is_json || own_parser {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body limit wraps the body already: reading past it fails here as it would in the
    // handler's extractor.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => return ApiError::unreadable_body(e, body_limit).into_response(),
    };
    let bytes = match bytes.strip_prefix(BOM) {
        Some(rest) => bytes.slice(bytes.len() - rest.len()..),
        None => bytes,
    };
    // serde_json stops past 127 levels with its own words ("recursion limit exceeded"); say the
    // rule instead (stored documents nest at most 32 levels: docs/sql.md, check_json)
    let depth = arxos_core::json_depth::depth(&bytes);
    if depth > BODY_DEPTH_MAX {
        return ApiError::validation(format!(
            "the body nests {depth} levels deep; a body may nest at most {BODY_DEPTH_MAX}, and stored documents at most {}",
            arxos_core::json_depth::MAX_DEPTH
        ))
        .into_response();
    }
    if !takes_array && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let mut refusal =
            ApiError::validation("the body must be a JSON object, not an array").into_response();
        *refusal.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return refusal;
    }
    // A large body is walked off the async threads, as the importers parse theirs.
    let found = if bytes.len() > BLOCKING_ABOVE {
        let walked = bytes.clone();
        tokio::task::spawn_blocking(move || duplicate_key(&walked))
            .await
            .unwrap_or_default()
    } else {
        duplicate_key(&bytes)
    };
    if let Some(duplicate) = found {
        return ApiError::validation(duplicate.to_string()).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The charset a JSON Content-Type names when it is not UTF-8 (`application/json;
/// charset=iso-8859-1`): such a body would be read as UTF-8 anyway and its text changed or
/// refused as malformed, so it is refused as a media type this server does not read.
fn foreign_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        let utf8 = value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8");
        (!utf8).then(|| value.to_owned())
    })
}

/// A key given twice in one JSON object, or a key the JSON reader reserves, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    /// JSON Pointer of the object holding it (`""` for the body itself).
    pub at: String,
    /// The key is one of [`RESERVED_KEYS`], not a duplicate.
    pub reserved: bool,
}

/// The key serde_json reads specially with its `raw_value` feature (which this server uses):
/// an object whose first key it is reads as the JSON text its string holds, so
/// `{"$serde_json::private::RawValue": "{\"k\": 1, \"k\": 2}"}` would be stored as `{"k": 2}`,
/// a duplicate dropped and the object sent lost (found by a review). No client means it; a body
/// with it is refused. (`arbitrary_precision`'s `$serde_json::private::Number` cannot be told
/// apart here: every number reaches this walk as a map of that key, so an object whose first
/// key it is reads as the number its string holds, or is refused if the string is none.)
const RESERVED_KEYS: [&str; 1] = ["$serde_json::private::RawValue"];

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // JSON Pointer "" is the whole document, which a message says in words ("/" would be
        // the member named "")
        let at = if self.at.is_empty() {
            "the top level"
        } else {
            &self.at
        };
        if self.reserved {
            return write!(
                f,
                "the key {:?} of the JSON object at {at} is reserved by the server's JSON reader, which would read the object as another value: the body is refused rather than changed",
                self.key
            );
        }
        write!(
            f,
            "the key {:?} is given twice in the JSON object at {at}: JSON readers keep only the last, so the body is refused rather than half read",
            self.key
        )
    }
}

/// The first key given twice in one object of `json`, if it is JSON at all.
pub fn duplicate_key(json: &[u8]) -> Option<Duplicate> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    // not JSON: None, for the handler's extractor to say what is wrong
    let found = Walk.deserialize(&mut deserializer).unwrap_or_default()?;
    let at = found
        .at
        .iter()
        .rev()
        .map(|segment| format!("/{}", segment.replace('~', "~0").replace('/', "~1")))
        .collect();
    Some(Duplicate {
        key: found.key,
        at,
        reserved: found.reserved,
    })
}

/// A duplicate found below a value: the key, and the segments leading to its object, innermost
/// first (each level adds its own on the way out, so nothing is built unless one is found).
struct Found {
    key: String,
    at: Vec<String>,
    reserved: bool,
}

/// Walks a JSON value, answering the first duplicate key below it.
struct Walk;

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = Option<Found>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = Option<Found>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<Found> = None;
        let mut index = 0usize;
        while let Some(inner) = seq.next_element_seed(Walk)? {
            if let (None, Some(mut inner)) = (&found, inner) {
                inner.at.push(index.to_string());
                found = Some(inner);
            }
            index += 1;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = HashSet::new();
        let mut found: Option<Found> = None;
        while let Some(key) = map.next_key::<String>()? {
            let inner = map.next_value_seed(Walk)?;
            if found.is_some() {
                continue;
            }
            if let Some(mut inner) = inner {
                inner.at.push(key);
                found = Some(inner);
            } else if RESERVED_KEYS.contains(&key.as_str()) {
                found = Some(Found {
                    key,
                    at: Vec::new(),
                    reserved: true,
                });
            } else if !keys.insert(key.clone()) {
                found = Some(Found {
                    key,
                    at: Vec::new(),
                    reserved: false,
                });
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_types_are_told_in_any_case() {
        for t in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
            "application/merge-patch+JSON",
            " application/vnd.x+Json ;q=1",
        ] {
            assert!(is_json_type(t), "{t}");
        }
        for t in [
            "text/plain",
            "application/jsonx",
            "application/x-ndjson",
            "",
        ] {
            assert!(!is_json_type(t), "{t}");
        }
    }

    #[test]
    fn charsets_other_than_utf8_are_named() {
        assert_eq!(foreign_charset("application/json"), None);
        assert_eq!(foreign_charset("application/json; charset=utf-8"), None);
        assert_eq!(foreign_charset("application/json;charset=\"UTF-8\""), None);
        assert_eq!(foreign_charset("application/json; charset=UTF8"), None);
        assert_eq!(
            foreign_charset("application/json; charset=iso-8859-1").as_deref(),
            Some("iso-8859-1")
        );
        assert_eq!(
            foreign_charset("application/merge-patch+json; CharSet=\"utf-16\"").as_deref(),
            Some("utf-16")
        );
        assert_eq!(foreign_charset("application/json; profile=x"), None);
    }

    #[test]
    fn a_key_twice_is_found_with_where() {
        assert_eq!(
            duplicate_key(br#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#),
            None
        );
        let found = duplicate_key(br#"{"type": "room", "properties": {"a": 1, "a": 2}}"#);
        assert_eq!(
            found,
            Some(Duplicate {
                key: "a".into(),
                at: "/properties".into(),
                reserved: false,
            })
        );
        let found = duplicate_key(br#"{"x": 1, "x": 1}"#).unwrap();
        assert_eq!(found.at, "");
        assert!(found.to_string().contains("at the top level:"), "{found}");
        let found = duplicate_key(br#"{"": {"a": 1, "a": 2}}"#).unwrap();
        assert_eq!(found.at, "/");
        let found = duplicate_key(br#"[{"ok": 1}, {"a/b": {"k": 1, "k": 2}}]"#).unwrap();
        assert_eq!(found.at, "/1/a~1b");
    }

    #[test]
    fn the_json_readers_own_keys_are_refused() {
        let body = br#"{"type": "room", "properties": {"a": {"$serde_json::private::RawValue": "{\"k\": 1, \"k\": 2}"}}}"#;
        let found = duplicate_key(body).unwrap();
        assert!(found.reserved);
        assert_eq!(found.at, "/properties/a");
        assert!(found.to_string().contains("reserved"), "{found}");
        // numbers come to the walk as maps of serde_json's number token: not refused
        assert_eq!(duplicate_key(br#"{"n": 1e999999, "m": [1.5, -2]}"#), None);
        // the same text as a value, or in a longer key, is nobody's business
        assert_eq!(
            duplicate_key(
                br#"{"k": "$serde_json::private::RawValue", "$serde_json::private::RawValues": 1}"#
            ),
            None
        );
    }

    #[test]
    fn what_is_not_json_is_left_to_the_handler() {
        assert_eq!(duplicate_key(b"{\"a\": 1, \"a\""), None);
        assert_eq!(duplicate_key(b"not json"), None);
        assert_eq!(duplicate_key(b"[1, 2"), None);
    }

    #[test]
    fn equal_keys_in_different_objects_are_fine() {
        assert_eq!(
            duplicate_key(br#"{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}"#),
            None
        );
    }
}
