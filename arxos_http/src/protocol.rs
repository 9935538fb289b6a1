//! HTTP rules every request and answer keeps, whatever the route (RFC 9110, 9111, 9112):
//! a request without exactly one `Host`, with malformed percent-encoding, with an encoded body or
//! with a transfer coding other than chunked is refused before any route sees it, no answer
//! may be stored by a cache, and none sniffed into another type.

use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, HOST, TRANSFER_ENCODING,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode, Version};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Checks a request (before its key: these refusals carry no `X-RateLimit-*` headers), and
/// runs it.
pub async fn check(request: Request, next: Next) -> Response {
    match refused(&request) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

/// Marks an answer `Cache-Control: no-store` unless the route said otherwise (the event
/// stream's `no-cache`): the outermost layer (crate::server::router), so that every answer the
/// server makes has it, a CORS preflight's and a panic's 500 included. Every answer but the
/// health checks and the documents depends on the key sent in `X-API-Key`, which caches do not
/// treat as credentials (RFC 9111, 3.5, names only `Authorization`), and some carry a secret
/// shown once: a shared cache must keep none of them. Object answers keep their `ETag` for
/// `If-Match`; no cache is needed for that.
///
/// And `X-Content-Type-Options: nosniff` on every answer: answers carry text tenants wrote
/// (objects' properties), which a browser must not sniff into another type than the one
/// given (found by a review).
pub async fn standard_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}

fn refused(request: &Request) -> Option<Response> {
    // RFC 9112, 3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host header
    // field, or with more than one.
    if request.version() == Version::HTTP_11 && request.headers().get_all(HOST).iter().count() != 1
    {
        return Some(
            ApiError::validation(
                "an HTTP/1.1 request needs exactly one Host header (RFC 9112, 3.2)",
            )
            .into_response(),
        );
    }
    let target = request.uri().path_and_query().map_or("", |p| p.as_str());
    if let Some(at) = malformed_percent(target) {
        // bytes, not a str slice: hyper passes raw UTF-8, and `%a` may be followed by a
        // character of several bytes (slicing a str there would panic)
        let end = target.len().min(at + 3);
        let shown = String::from_utf8_lossy(&target.as_bytes()[at..end]);
        return Some(
            ApiError::validation(format!(
                "the request's URL has a % not followed by two hexadecimal digits ({shown:?} at byte {at}): write a literal % as %25"
            ))
            .into_response(),
        );
    }
    // RFC 9110, 8.4 and 15.5.16: a body in a coding the server does not decode is 415, with
    // Accept-Encoding saying what it takes.
    let encoded = codings(request, &CONTENT_ENCODING)
        .is_none_or(|cs| cs.iter().any(|c| !c.eq_ignore_ascii_case("identity")));
    // RFC 9112, 6.1: a transfer coding the server does not know is 501. The HTTP parser decodes
    // chunked only, and read a `gzip, chunked` body as the gzip bytes (found by an audit).
    // Chunked applied twice (a sender MUST NOT) is refused too: the parser decoded it once,
    // where a proxy in front may frame the request otherwise (found by a review).
    let transfer = codings(request, &TRANSFER_ENCODING);
    let is_chunked = |c: &str| c.eq_ignore_ascii_case("chunked");
    let chunked_twice = transfer
        .as_ref()
        .is_some_and(|cs| cs.iter().filter(|c| is_chunked(c)).count() > 1);
    let transfer_coded = transfer.is_none_or(|cs| !cs.iter().all(|c| is_chunked(c)));
    if chunked_twice {
        return Some(
            ApiError::validation("Transfer-Encoding names chunked twice (RFC 9112, 6.1)")
                .into_response(),
        );
    }
    if transfer_coded {
        let mut refusal = ApiError::validation(
            "request bodies are read as sent: the only transfer coding this server takes is chunked",
        )
        .into_response();
        *refusal.status_mut() = StatusCode::NOT_IMPLEMENTED;
        return Some(refusal);
    }
    if encoded {
        let mut refusal = ApiError::validation(
            "request bodies are read as sent: send them without Content-Encoding (this server takes identity only)",
        )
        .into_response();
        *refusal.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        refusal
            .headers_mut()
            .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        return Some(refusal);
    }
    None
}

/// The codings a request's header lists, over all its lines, trimmed, empty ones left out;
/// `None` when a value is not visible ASCII (a coding nobody can name).
fn codings<'a>(request: &'a Request, name: &HeaderName) -> Option<Vec<&'a str>> {
    let mut out = Vec::new();
    for value in request.headers().get_all(name) {
        out.extend(
            value
                .to_str()
                .ok()?
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty()),
        );
    }
    Some(out)
}

/// The byte offset of the first `%` not followed by two hexadecimal digits (RFC 3986, 2.1):
/// left as it is, `p%zz` would name an object `/p%zz` that `p%25zz` names too.
fn malformed_percent(target: &str) -> Option<usize> {
    let bytes = target.as_bytes();
    bytes.iter().enumerate().find_map(|(i, &b)| {
        let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
        (b == b'%' && !(hex(i + 1) && hex(i + 2))).then_some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_signs_need_two_hex_digits() {
        assert_eq!(malformed_percent("/api/x%2Fy?a=%C3%A9"), None);
        assert_eq!(malformed_percent("/api/p%zz"), Some(6));
        assert_eq!(malformed_percent("/api/p%2"), Some(6));
        assert_eq!(malformed_percent("/api/p?q=100%"), Some(12));
        assert_eq!(malformed_percent("/api/p%%41"), Some(6));
    }

    /// A transfer coding other than chunked is 501 (hyper decodes chunked only, and read a
    /// `gzip, chunked` body as its gzip bytes: found by an audit); chunked alone passes.
    #[test]
    fn transfer_codings_other_than_chunked_are_refused() {
        let request = |coding: &str| {
            Request::builder()
                .uri("/api/health")
                .header(HOST, "x")
                .header(TRANSFER_ENCODING, coding)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        for coding in ["gzip, chunked", "deflate", "x-custom, chunked"] {
            let refusal = refused(&request(coding)).expect(coding);
            assert_eq!(refusal.status(), StatusCode::NOT_IMPLEMENTED, "{coding}");
        }
        assert!(refused(&request("chunked")).is_none());
        assert!(refused(&request("Chunked")).is_none());
        let twice = refused(&request("chunked, chunked")).expect("chunked twice");
        assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    }

    /// A `%` and one hex digit before a character of several bytes (which hyper lets through
    /// in a request target) is a 400, not a panic on slicing inside the character.
    #[test]
    fn a_percent_before_a_multibyte_character_is_a_refusal() {
        let uri = axum::http::Uri::from_maybe_shared(bytes::Bytes::from_static(
            "/api/health?x=%a\u{e9}".as_bytes(),
        ))
        .unwrap();
        let request = Request::builder()
            .uri(uri)
            .header(HOST, "x")
            .body(axum::body::Body::empty())
            .unwrap();
        let refusal = refused(&request).expect("refused");
        assert_eq!(refusal.status(), StatusCode::BAD_REQUEST);
    }
}
