//! What the OpenAPI document says of each operation, enforced on every request before its
//! handler answers (one route layer, [`guard`]):
//!
//! - **Unknown query parameters are refused** (400), not ignored: a misspelt filter
//!   (`?stauts=failed`) would otherwise answer every object, and an option the route does not
//!   have (`?dry_run=true` on an import) would be taken as done. The parameters a route knows
//!   are the ones its operation documents, so the document and the check cannot disagree.
//! - **The key comes first.** On an operation that needs a key (it has a `security`
//!   requirement), an answer that refuses the request's input (400, 404, 415, 422) before the
//!   database checked the key is replaced by the key's own refusal when the key is missing
//!   (401) or the database refuses it for reading (401, 403): a caller without a valid key
//!   learns nothing of what the route accepts. The key is checked only for such answers, in a
//!   transaction of its own; an error the database raised while serving the request comes after
//!   the key check and is kept as it is.
//!
//! Routes the document does not describe (health, metrics, the docs page) are not checked.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::OpenApi;

use crate::auth::{key_required, keys_ambiguous, sent_key, ApiKey, Scope};
use crate::error::{ApiError, KeyChecked};
use crate::state::AppState;

/// What one operation takes: its query parameters, and where its key may be sent.
#[derive(Debug)]
struct Known {
    /// The documented path (`/api/buildings/{b}/near/{path}`), as messages name it: the
    /// router's own template (`{*path}`) is not what the documentation shows.
    path: String,
    params: BTreeSet<String>,
    /// Whether the operation takes `If-Match` (a documented header parameter).
    if_match: bool,
    /// Whether it takes `If-None-Match` (documented on the writes that may create).
    if_none_match: bool,
    /// Whether it takes a request body (documents one).
    body: bool,
    key: Option<KeyIn>,
}

/// Where an operation reads its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyIn {
    /// `X-API-Key` or `Authorization: Bearer`.
    Headers,
    /// The headers, else `?api_key=` (the event routes, for a browser's `EventSource`).
    HeadersOrQuery,
}

/// The documented operations, by method and path template.
#[derive(Debug, Default)]
pub struct Operations(HashMap<(Method, String), Known>);

impl Operations {
    pub fn from_openapi(doc: &OpenApi) -> Operations {
        let mut known = HashMap::new();
        for (path, item) in &doc.paths.paths {
            let shared = item.parameters.as_deref().unwrap_or_default();
            let operations: [(Method, &Option<Operation>); 5] = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let params: BTreeSet<String> = shared
                    .iter()
                    .chain(operation.parameters.as_deref().unwrap_or_default())
                    .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
                    .map(|p| p.name.clone())
                    .collect();
                let header = |name: &str| {
                    shared
                        .iter()
                        .chain(operation.parameters.as_deref().unwrap_or_default())
                        .any(|p| {
                            matches!(p.parameter_in, ParameterIn::Header)
                                && p.name.eq_ignore_ascii_case(name)
                        })
                };
                let (if_match, if_none_match) = (header("if-match"), header("if-none-match"));
                let needs_key = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let key = needs_key.then(|| match params.contains(KEY_PARAM) {
                    true => KeyIn::HeadersOrQuery,
                    false => KeyIn::Headers,
                });
                known.insert(
                    (method, template(path)),
                    Known {
                        path: path.clone(),
                        params,
                        if_match,
                        if_none_match,
                        body: operation.request_body.is_some(),
                        key,
                    },
                );
            }
        }
        Operations(known)
    }

    fn get(&self, method: &Method, route: &str) -> Option<&Known> {
        self.0.get(&(documented(method).clone(), template(route)))
    }

    /// Checks the query string of `method route` (the router's matched path).
    #[cfg(test)]
    fn check(&self, method: &Method, route: &str, query: Option<&str>) -> Result<(), ApiError> {
        self.get(method, route)
            .map_or(Ok(()), |known| known.check(method, query))
    }

    /// The key a request presents ([`Known::presented`]): `Err(())` for different keys.
    #[cfg(test)]
    fn presented(
        &self,
        request: &Request,
        route: &str,
    ) -> Option<(KeyIn, Result<Option<String>, ()>)> {
        let (key_in, key) = self.get(request.method(), route)?.presented(request)?;
        Some((key_in, key.map_err(|_| ())))
    }
}

/// Refuses a query string whose names or values are not UTF-8 once percent-decoded (`%E9`, a
/// Latin-1 `é`): the parser would put U+FFFD in their place, and the request could then name
/// another object than the one meant (`/caf%E9` matching a stored `/caf\u{FFFD}`).
fn not_utf8(query: &str) -> Result<(), ApiError> {
    for (n, pair) in query.split('&').enumerate() {
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(pair).collect();
        if std::str::from_utf8(&bytes).is_err() {
            let name = pair.split('=').next().unwrap_or_default();
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            return Err(ApiError::validation(format!(
                "query parameter {} ({name:?}) is not UTF-8 once percent-decoded: encode text as UTF-8 before percent-encoding it",
                n + 1
            )));
        }
    }
    Ok(())
}

impl Known {
    /// Refuses preconditions the operation would not honour, rather than ignore them: If-Match
    /// where it takes none (a move, a readings batch: the write would happen whatever the tag),
    /// and If-None-Match on a write that cannot create (only PUT by path and POST /api/objects
    /// take it, `*` alone: create only; a GET may carry it, as caches send it, and gets the
    /// whole answer).
    fn check_preconditions(
        &self,
        method: &Method,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), ApiError> {
        use axum::http::header::{IF_MATCH, IF_NONE_MATCH, IF_UNMODIFIED_SINCE};
        let route = &self.path;
        if headers.contains_key(IF_UNMODIFIED_SINCE) {
            return Err(ApiError::validation(format!(
                "{method} {route} does not take If-Unmodified-Since: times are too coarse to tell versions apart; send the ETag you read as If-Match"
            )));
        }
        if headers.contains_key(IF_MATCH) && !self.if_match {
            return Err(ApiError::validation(format!(
                "{method} {route} does not take If-Match: conditional writes are those of objects (PUT, PATCH, DELETE by path or id, POST /api/objects)"
            )));
        }
        if headers.contains_key(IF_NONE_MATCH)
            && !self.if_none_match
            && !matches!(*method, Method::GET | Method::HEAD)
        {
            return Err(ApiError::validation(format!(
                "{method} {route} does not take If-None-Match: create-only writes (If-None-Match: *) are PUT of an object by path and POST /api/objects"
            )));
        }
        Ok(())
    }

    /// Checks the query string of a request to this operation.
    fn check(&self, method: &Method, query: Option<&str>) -> Result<(), ApiError> {
        let route = &self.path;
        // Most requests have no query string: nothing to check for them.
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Ok(());
        };
        let (names, method) = (&self.params, documented(method));
        not_utf8(query)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::validation(format!("the query string is malformed: {e}")))?;
        let Some((unknown, _)) = pairs.iter().find(|(name, _)| !names.contains(name)) else {
            return Ok(());
        };
        if unknown == KEY_PARAM {
            return Err(ApiError::validation(format!(
                "{method} {route} does not take the key as a query parameter (only the event routes do, for EventSource): send it in the X-API-Key header or as Authorization: Bearer"
            )));
        }
        let takes = if names.is_empty() {
            "takes no query parameters".to_owned()
        } else {
            let list: Vec<&str> = names.iter().map(String::as_str).collect();
            format!("takes {}", list.join(", "))
        };
        Err(ApiError::validation(format!(
            "unknown query parameter {unknown:?}: {method} {route} {takes}"
        )))
    }

    /// Whether this operation needs a key, and the key the request presented for it: `None`
    /// when it needs none, else where the key may be sent and the key (`Ok(None)` when the
    /// request sent none, an error when it sent different ones: [`sent_key`]).
    fn presented(&self, request: &Request) -> Option<(KeyIn, Result<Option<String>, ApiError>)> {
        let key_in = self.key?;
        // `?api_key=` given twice with different keys is as ambiguous as two headers (401); the
        // same key twice is a parameter given twice, which the route's parser refuses (400).
        let from_query = || -> Result<Option<String>, ApiError> {
            let Some(query) = request.uri().query() else {
                return Ok(None);
            };
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(query).unwrap_or_default();
            let mut keys = pairs
                .into_iter()
                .filter(|(name, value)| name == KEY_PARAM && !value.trim().is_empty())
                .map(|(_, value)| value);
            let first = keys.next();
            match keys.any(|k| Some(k.trim()) != first.as_deref().map(str::trim)) {
                true => Err(keys_ambiguous()),
                false => Ok(first),
            }
        };
        let query_key = match key_in {
            KeyIn::HeadersOrQuery => from_query(),
            KeyIn::Headers => Ok(None),
        };
        let key = query_key.and_then(|query_key| {
            sent_key(request.headers(), query_key.as_deref()).map(|k| k.map(str::to_owned))
        });
        Some((key_in, key))
    }
}

/// The method whose operation documents `method` (`HEAD` is answered as `GET`).
fn documented(method: &Method) -> &Method {
    match *method {
        Method::HEAD => &Method::GET,
        _ => method,
    }
}

/// The query parameter that carries the key on the operations that document it.
const KEY_PARAM: &str = "api_key";

/// A path template with its parameter names erased, so that the router's `{b}/ls/{*path}` and
/// the document's `{b}/ls/{path}` compare equal.
fn template(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What [`guard`] needs: the operations, and the state to check a key with.
pub struct Guard {
    pub operations: Operations,
    pub state: AppState,
}

/// Answers that refuse a request's input (or say that what it names does not exist), which a
/// missing or refused key takes precedence over.
fn refuses_input(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::NOT_FOUND
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::UNPROCESSABLE_ENTITY
    )
}

/// The middleware (a route layer, so that the matched path is known).
pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    // One look-up of the operation for both checks.
    let Some(known) = guard.operations.get(request.method(), &route) else {
        return next.run(request).await;
    };
    // No key where one is needed, or different keys: 401 at once, whatever the rest says (the
    // key comes first), before a body is read (or a `100 Continue` invites one) for a request
    // that cannot pass.
    let key = match known.presented(&request) {
        None => None,
        Some((_, Err(ambiguous))) => return ambiguous.into_response(),
        Some((key_in, Ok(None))) => {
            let in_query = key_in == KeyIn::HeadersOrQuery;
            // `?api_key=` where the route takes no key in its query: said, not only "required"
            // (found by a review: the message read as if no key had been sent at all)
            let misplaced = !in_query
                && request.uri().query().is_some_and(|query| {
                    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                        .unwrap_or_default()
                        .iter()
                        .any(|(name, _)| name == KEY_PARAM)
                });
            return match misplaced {
                true => crate::auth::key_misplaced_in_query(),
                false => key_required(in_query),
            }
            .into_response();
        }
        Some((_, Ok(Some(key)))) => Some(key),
    };
    let mut request = request;
    if !known.body {
        // a body sent anyway is not read (crate::json_body leaves it alone): the route takes none
        request.extensions_mut().insert(crate::json_body::NoBody);
    }
    let checked = known
        .check(request.method(), request.uri().query())
        .and_then(|()| known.check_preconditions(request.method(), request.headers()));
    let response = match checked {
        Err(e) => e.into_response(),
        Ok(()) => next.run(request).await,
    };
    if !refuses_input(response.status()) || response.extensions().get::<KeyChecked>().is_some() {
        return response;
    }
    match key {
        None => response,
        Some(key) => match guard.state.check_key(&ApiKey(key), Scope::Read).await {
            Err(
                refused @ ApiError {
                    code: crate::error::ErrorCode::Unauthorized | crate::error::ErrorCode::Forbidden,
                    ..
                },
            ) => refused.into_response(),
            // Accepted, or the database could not say (it is down): the input's refusal
            // stands, since sending the request again cannot fix it (an EventSource that got
            // a 503 would retry it for ever; docs/realtime.md).
            _ => response,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    fn known() -> Operations {
        Operations::from_openapi(&crate::openapi::ApiDoc::openapi())
    }

    #[test]
    fn documented_parameters_pass_and_others_are_named() {
        let known = known();
        let find = "/api/objects";
        assert!(known
            .check(&Method::GET, find, Some("building=b&status=failed&limit=5"))
            .is_ok());
        let err = known
            .check(&Method::GET, find, Some("building=b&stauts=failed"))
            .unwrap_err();
        assert!(
            err.message.contains("unknown query parameter \"stauts\""),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("GET /api/objects takes"),
            "{}",
            err.message
        );
        assert!(err.message.contains("status"), "{}", err.message);
    }

    #[test]
    fn text_that_is_not_utf8_once_decoded_is_refused() {
        let ops = known();
        let ok = ops.check(
            &Method::GET,
            "/api/objects",
            Some("building=b42&under=/caf%C3%A9"),
        );
        assert!(ok.is_ok(), "{ok:?}");
        let err = ops
            .check(
                &Method::GET,
                "/api/objects",
                Some("building=b42&under=/caf%E9"),
            )
            .unwrap_err();
        assert!(
            err.message
                .starts_with("query parameter 2 (\"under\") is not UTF-8"),
            "{}",
            err.message
        );
    }

    #[test]
    fn wildcard_routes_match_their_documented_template() {
        let known = known();
        let ls = "/api/buildings/{b}/ls/{*path}";
        assert!(known
            .check(&Method::GET, ls, Some("limit=2&after=x"))
            .is_ok());
        assert!(known.check(&Method::HEAD, ls, Some("limit=2")).is_ok());
        assert!(known.check(&Method::GET, ls, Some("depth=2")).is_err());
        assert!(known
            .check(&Method::GET, "/api/buildings/{b}/ls", Some("depth=2"))
            .is_err());
    }

    #[test]
    fn messages_name_the_documented_path() {
        let err = known()
            .check(
                &Method::GET,
                "/api/buildings/{b}/near/{*path}",
                Some("radios=2"),
            )
            .unwrap_err();
        assert!(
            err.message
                .contains("GET /api/buildings/{b}/near/{path} takes limit, radius"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_route_without_parameters_says_so() {
        let err = known()
            .check(&Method::POST, "/api/buildings", Some("dry_run=true"))
            .unwrap_err();
        assert!(
            err.message
                .ends_with("POST /api/buildings takes no query parameters"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_key_in_the_query_is_pointed_to_the_header() {
        let known = known();
        let err = known
            .check(&Method::GET, "/api/objects", Some("api_key=arx_x"))
            .unwrap_err();
        assert!(err.message.contains("X-API-Key header"), "{}", err.message);
        assert!(known
            .check(&Method::GET, "/api/events/recent", Some("api_key=arx_x"))
            .is_ok());
    }

    #[test]
    fn undocumented_routes_and_empty_queries_are_not_checked() {
        let known = known();
        assert!(known.check(&Method::GET, "/metrics", Some("x=1")).is_ok());
        assert!(known.check(&Method::GET, "/api/objects", None).is_ok());
        assert!(known.check(&Method::GET, "/api/objects", Some("")).is_ok());
    }

    #[test]
    fn operations_with_a_security_requirement_need_a_key() {
        let known = known();
        let key_in = |method: Method, route: &str, query_key: &str| {
            let request = Request::builder()
                .method(method)
                .uri(format!("{route}?api_key={query_key}"))
                .header("x-api-key", "arx_h")
                .body(axum::body::Body::empty())
                .unwrap();
            known.presented(&request, route)
        };
        assert_eq!(
            key_in(Method::GET, "/api/objects", "arx_q"),
            Some((KeyIn::Headers, Ok(Some("arx_h".into()))))
        );
        assert_eq!(
            key_in(Method::PUT, "/api/buildings/{b}/objects/{*path}", "arx_q"),
            Some((KeyIn::Headers, Ok(Some("arx_h".into()))))
        );
        // where the query may carry the key, a different one there is a second key
        assert_eq!(
            key_in(Method::GET, "/api/events/recent", "arx_q"),
            Some((KeyIn::HeadersOrQuery, Err(())))
        );
        assert_eq!(
            key_in(Method::GET, "/api/events/recent", "arx_h"),
            Some((KeyIn::HeadersOrQuery, Ok(Some("arx_h".into()))))
        );
        assert_eq!(key_in(Method::GET, "/health", "arx_q"), None);
        assert_eq!(key_in(Method::GET, "/api/openapi.json", "arx_q"), None);
        let query_only = Request::builder()
            .uri("/api/events/recent?types=x&api_key=%20arx_q%20")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(
            known.presented(&query_only, "/api/events/recent"),
            Some((KeyIn::HeadersOrQuery, Ok(Some("arx_q".into()))))
        );
        // two different keys in the query are two keys (found by an audit: 400, not 401);
        // the same key twice is one key (the route's parser refuses the repeated parameter)
        let query_keys = |query: &str| {
            let request = Request::builder()
                .uri(format!("/api/events/recent?{query}"))
                .body(axum::body::Body::empty())
                .unwrap();
            known.presented(&request, "/api/events/recent")
        };
        assert_eq!(
            query_keys("api_key=arx_a&api_key=arx_b"),
            Some((KeyIn::HeadersOrQuery, Err(())))
        );
        assert_eq!(
            query_keys("api_key=arx_a&limit=1&api_key=arx_a"),
            Some((KeyIn::HeadersOrQuery, Ok(Some("arx_a".into()))))
        );
        let none = Request::builder()
            .uri("/api/objects?api_key=arx_q")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(
            known.presented(&none, "/api/objects"),
            Some((KeyIn::Headers, Ok(None)))
        );
    }

    #[test]
    fn input_refusals_are_the_ones_a_key_check_precedes() {
        for status in [400, 404, 415, 422] {
            assert!(refuses_input(StatusCode::from_u16(status).unwrap()));
        }
        for status in [200, 201, 401, 403, 409, 413, 429, 500, 503] {
            assert!(!refuses_input(StatusCode::from_u16(status).unwrap()));
        }
    }

    #[test]
    fn the_template_erases_parameter_names() {
        assert_eq!(
            template("/api/buildings/{b}/ls/{*path}"),
            "/api/buildings/{}/ls/{}"
        );
        assert_eq!(
            template("/api/buildings/{b}/ls/{path}"),
            "/api/buildings/{}/ls/{}"
        );
        assert_eq!(template("/api/objects"), "/api/objects");
    }
}
