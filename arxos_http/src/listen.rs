//! The accept loop of `arxos serve`: what `axum::serve` does (a task per connection, graceful
//! shutdown), with hyper's HTTP/1 server configured as axum's does not let it be: a request's
//! head, and a kept-alive connection's next request, must arrive within a time limit, or the
//! connection is closed (a client that sends a head a byte a minute, slowloris, held a task and
//! a socket for ever); and so is one whose client takes no bytes of an answer for as long
//! (crate::write_timeout).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// Serves `app` on `listener` until `stop` is notified, then waits for the connections to
/// finish (each ends after its request in flight; the caller bounds the wait).
pub async fn serve<S>(listener: TcpListener, app: S, stop: Arc<Notify>, head_timeout: Duration)
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(head_timeout);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin (as axum).
                    tracing::error!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = stop.notified() => break,
        };
        // Answers go out at once instead of waiting for the client's acknowledgement of the
        // last one (Nagle's algorithm).
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let service = app
            .clone()
            .map_request(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                request
            });
        // An answer the client takes no bytes of for the head timeout closes the connection
        // (crate::write_timeout).
        let tcp = crate::write_timeout::WriteTimeout::new(tcp, head_timeout);
        let connection =
            http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
