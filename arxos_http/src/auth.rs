//! Who is calling: the API key of a request (`X-API-Key`, or `Authorization: Bearer`) and the
//! scope a route needs. Checking the key is the database's job (`arxos.authorize`, see
//! [`crate::tx`]); this module only reads headers.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::error::{ApiError, ErrorCode};

/// An API key's scope (what a route needs of the key): `admin` includes `write`, which
/// includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// The API key a request presented, not yet checked.
#[derive(Clone)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// The key of a request, if it presented one: `X-API-Key: <key>` or
/// `Authorization: Bearer <key>`. A key sent in bytes that are not visible ASCII is presented
/// too, as [`UNREADABLE_KEY`], and refused as every unknown key is.
/// A blank `X-API-Key` is no key: a Bearer key then counts (found by a review: a proxy's
/// template with an unset variable sent `X-API-Key:` beside a valid Bearer key, and got 401).
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("x-api-key") {
        let key = value.to_str().map_or(UNREADABLE_KEY, str::trim);
        if !key.is_empty() {
            return Some(key);
        }
    }
    let value = headers.get(AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        let bearer = value.as_bytes().get(..7)?.eq_ignore_ascii_case(b"bearer ");
        return bearer.then_some(UNREADABLE_KEY);
    };
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// What stands for a key sent in bytes a header cannot hold as text (`X-API-Key: arx_ｘ`): no
/// key is this, so it is refused as an invalid key, not taken for a request that sent none.
const UNREADABLE_KEY: &str = "\u{fffd}";

/// The key a request sent: in its headers ([`presented_key`]) or, on the routes that also
/// take it so (`query_key`: the event routes' `?api_key=`), in its query string; `None` when it
/// sent none. Sent in several places only as the same key: different keys are refused
/// ([`keys_ambiguous`]), since which one is meant cannot be told, and taking either would act
/// for a caller the client did not pick.
pub fn sent_key<'a>(
    headers: &'a HeaderMap,
    query_key: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    if keys_disagree(headers) {
        return Err(keys_ambiguous());
    }
    let query_key = query_key.map(str::trim).filter(|k| !k.is_empty());
    match (presented_key(headers), query_key) {
        (Some(header), Some(query)) if header != query => Err(keys_ambiguous()),
        (header, query) => Ok(header.or(query)),
    }
}

/// Whether the request sent different keys (X-API-Key twice, or X-API-Key and
/// `Authorization: Bearer`, with different values).
fn keys_disagree(headers: &HeaderMap) -> bool {
    let bearer = headers
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    let mut keys = headers
        .get_all("x-api-key")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .chain(bearer)
        .filter(|k| !k.is_empty());
    let first = keys.next();
    keys.any(|k| Some(k) != first)
}

/// The answer to a request that sent different keys ([`sent_key`]).
pub fn keys_ambiguous() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        "different API keys were sent (in X-API-Key, Authorization: Bearer or ?api_key=, or one of them twice): send one",
    )
}

/// The answer to a request that needs a key and sent none; `in_query` for the routes that
/// also take it as `?api_key=` (the event routes).
pub fn key_required(in_query: bool) -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        match in_query {
            false => "an API key is required: send it in the X-API-Key header or as Authorization: Bearer <key>",
            true => "an API key is required: send it in the X-API-Key header, as Authorization: Bearer <key>, or as ?api_key=",
        },
    )
}

/// 401 for a key sent as `?api_key=` to a route that takes it in its headers only.
pub fn key_misplaced_in_query() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        "an API key is required in the X-API-Key header or as Authorization: Bearer <key>: ?api_key= is taken only by the event stream's routes (GET /api/events, /api/events/recent), for browsers' EventSource",
    )
}

impl<S: Send + Sync> FromRequestParts<S> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match sent_key(&parts.headers, None)? {
            Some(key) => Ok(ApiKey(key.to_owned())),
            None => Err(key_required(false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_come_from_either_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_key(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer arx_abc"));
        assert_eq!(presented_key(&headers), Some("arx_abc"));
        headers.insert("x-api-key", HeaderValue::from_static("arx_def"));
        assert_eq!(presented_key(&headers), Some("arx_def"));
        // a key in bytes that are not visible ASCII is presented, to be refused as invalid
        let unreadable = HeaderValue::from_bytes("arx_\u{ff58}".as_bytes()).unwrap();
        headers.insert("x-api-key", unreadable.clone());
        assert_eq!(presented_key(&headers), Some(UNREADABLE_KEY));
        let mut bearer = HeaderMap::new();
        let mut value = b"bEaReR ".to_vec();
        value.extend_from_slice(unreadable.as_bytes());
        bearer.insert(AUTHORIZATION, HeaderValue::from_bytes(&value).unwrap());
        assert_eq!(presented_key(&bearer), Some(UNREADABLE_KEY));
        let mut basic = HeaderMap::new();
        basic.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes("Basic \u{e9}".as_bytes()).unwrap(),
        );
        assert_eq!(presented_key(&basic), None);
    }

    #[test]
    fn different_keys_are_ambiguous_and_the_same_key_twice_is_not() {
        let mut headers = HeaderMap::new();
        assert!(!keys_disagree(&headers));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer arx_abc"));
        headers.insert("x-api-key", HeaderValue::from_static("arx_abc"));
        assert!(!keys_disagree(&headers), "the same key both ways");
        headers.insert("x-api-key", HeaderValue::from_static("arx_def"));
        assert!(keys_disagree(&headers));
        let mut twice = HeaderMap::new();
        twice.append("x-api-key", HeaderValue::from_static("arx_abc"));
        twice.append("x-api-key", HeaderValue::from_static("arx_def"));
        assert!(keys_disagree(&twice));
    }

    #[test]
    fn a_key_in_the_query_must_be_the_headers_key() {
        let mut headers = HeaderMap::new();
        assert_eq!(sent_key(&headers, None).unwrap(), None);
        assert_eq!(sent_key(&headers, Some(" arx_q ")).unwrap(), Some("arx_q"));
        assert_eq!(sent_key(&headers, Some(" ")).unwrap(), None);
        headers.insert("x-api-key", HeaderValue::from_static("arx_h"));
        assert_eq!(sent_key(&headers, Some("arx_h")).unwrap(), Some("arx_h"));
        assert_eq!(sent_key(&headers, Some("")).unwrap(), Some("arx_h"));
        let refused = sent_key(&headers, Some("arx_q")).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unauthorized);
        assert!(
            refused.message.starts_with("different API keys were sent"),
            "{}",
            refused.message
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer arx_b"));
        assert!(sent_key(&headers, None).is_err());
    }

    #[test]
    fn other_schemes_and_blank_keys_are_no_key() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic YWxhZGRpbjpvcGVu"),
        );
        assert_eq!(presented_key(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer   "));
        assert_eq!(presented_key(&headers), None);
        // a blank X-API-Key leaves the Bearer key (an unset variable in a proxy's template)
        headers.insert("x-api-key", HeaderValue::from_static(" "));
        assert_eq!(presented_key(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer arx_b"));
        assert_eq!(presented_key(&headers), Some("arx_b"));
        assert_eq!(sent_key(&headers, None).unwrap(), Some("arx_b"));
    }
}
