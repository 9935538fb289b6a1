//! What became of a request's body: whether its reader is waiting for the client, and whether
//! it was read to its end. One wrapper, put on by the outermost layer that answers
//! ([`watch`]); [`crate::server`]'s request timeout reads the first, and [`watch`] itself the
//! second.
//!
//! An answer given before the body was read (a refused key, the rate limit, an unknown route
//! or parameter) leaves the rest of the body on the connection, and hyper then closes it
//! rather than read what may be megabytes: the answer says `Connection: close` (RFC 9112,
//! 9.6), or a client puts the connection back in its pool and its next request, written to a
//! closed socket, is lost (found by a review: a PATCH after a 429, which `requests` does not
//! retry).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONNECTION;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as _, Frame};

/// The state of one request's body, in the request's extensions.
#[derive(Debug, Default)]
pub struct BodyWatch {
    /// The last read found nothing yet: the reader waits for the client.
    waiting: AtomicBool,
    /// The body was read to its end (or had none).
    finished: AtomicBool,
}

impl BodyWatch {
    pub fn waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire)
    }

    fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }
}

/// Watches the request's body, runs the request, and closes the connection after an answer
/// that left some of the body unread.
pub async fn watch(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let state = Arc::new(BodyWatch::default());
    if body.is_end_stream() {
        state.finished.store(true, Ordering::Release);
    }
    parts.extensions.insert(Arc::clone(&state));
    let body = Body::new(Watched {
        inner: body,
        state: Arc::clone(&state),
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if !state.finished() {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

struct Watched {
    inner: Body,
    state: Arc<BodyWatch>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.state
            .waiting
            .store(polled.is_pending(), Ordering::Release);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.state.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::routing::put;
    use axum::{middleware, Router};
    use tower::ServiceExt;

    async fn refuse() -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    async fn read(body: Bytes) -> StatusCode {
        assert_eq!(&body[..], b"{\"a\": 1}");
        StatusCode::OK
    }

    async fn answer(path: &str, body: Body) -> Response {
        Router::new()
            .route("/refuse", put(refuse))
            .route("/read", put(read))
            .layer(middleware::from_fn(watch))
            .oneshot(
                Request::builder()
                    .method("PUT")
                    .uri(path)
                    .body(body)
                    .unwrap(),
            )
            .await
            .unwrap()
    }

    fn closes(response: &Response) -> bool {
        response.headers().get(CONNECTION) == Some(&HeaderValue::from_static("close"))
    }

    #[tokio::test]
    async fn an_answer_that_left_the_body_unread_closes_the_connection() {
        assert!(closes(&answer("/refuse", Body::from("{\"a\": 1}")).await));
        // (a route no request matches refuses as early)
        assert!(closes(&answer("/nowhere", Body::from("{\"a\": 1}")).await));
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_or_none_keeps_the_connection() {
        let read = answer("/read", Body::from("{\"a\": 1}")).await;
        assert_eq!(read.status(), StatusCode::OK);
        assert!(!closes(&read));
        assert!(!closes(&answer("/refuse", Body::empty()).await));
    }
}
