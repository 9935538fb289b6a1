//! `arxos serve`: the router, its middleware, and the listening loop with graceful shutdown.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::Notify;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

use crate::config::ServeConfig;
use crate::db::{self, DbError};
use crate::error::{chain, ApiError};
use crate::routes;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("invalid CORS origin {0:?}")]
    CorsOrigin(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the server until SIGINT or SIGTERM, then lets in-flight requests finish (for at
/// most the configured grace period).
pub async fn run(config: ServeConfig) -> Result<(), ServeError> {
    let pg_config = db::pg_config(&config.database.database_url)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        database = %db::describe(&pg_config),
        pool_size = config.pool_size,
        "arxos starting"
    );
    let tls = db::tls_connector(config.database.db_ca_cert.as_deref())?;
    let pool = db::pool(pg_config, tls, config.pool_size as usize)?;
    let state = AppState::new(pool.clone());
    let app = router(state.clone(), &config)?;

    let mut signals = ShutdownSignals::install()?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr,
            source,
        })?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "listening on http://{local}");
    tokio::spawn(report_database(state));

    let stop = Arc::new(Notify::new());
    let server = axum::serve(listener, app)
        .with_graceful_shutdown({
            let stop = Arc::clone(&stop);
            async move { stop.notified().await }
        })
        .into_future();
    tokio::pin!(server);

    tokio::select! {
        result = &mut server => {
            pool.close();
            return result.map_err(ServeError::from);
        }
        signal = signals.recv() => {
            tracing::info!(signal, "shutting down: no new connections, finishing in-flight requests");
            stop.notify_one();
        }
    }
    let grace = Duration::from_secs(config.shutdown_grace);
    match tokio::time::timeout(grace, &mut server).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!(
            ?grace,
            "grace period over: dropping the remaining connections"
        ),
    }
    pool.close();
    tracing::info!("stopped");
    Ok(())
}

/// The whole HTTP surface with its middleware, outermost first: tracing, CORS, error
/// rendering, timeout, body limit.
pub fn router(state: AppState, config: &ServeConfig) -> Result<Router, ServeError> {
    let timeout = Duration::from_secs(config.request_timeout);
    let mut app = Router::new()
        .merge(routes::health::router())
        .fallback(unknown_route)
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(middleware::map_response(render_bare_errors));
    if let Some(cors) = cors_layer(&config.cors_origins)? {
        app = app.layer(cors);
    }
    Ok(app.layer(
        TraceLayer::new_for_http()
            // Method and path only: query strings and headers may carry credentials.
            .make_span_with(|req: &Request| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            })
            .on_response(
                DefaultOnResponse::new()
                    .level(Level::INFO)
                    .latency_unit(LatencyUnit::Millis),
            )
            // The response line above already carries the status of failed requests.
            .on_failure(()),
    ))
}

/// No CORS headers at all unless origins are configured: browsers then refuse cross-origin
/// calls. `*` allows any origin.
fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, ServeError> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| HeaderValue::from_str(o).map_err(|_| ServeError::CorsOrigin((*o).to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                CONTENT_TYPE,
                axum::http::header::IF_MATCH,
            ])
            .max_age(Duration::from_secs(3600)),
    ))
}

async fn unknown_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// Gives error answers that did not come from an [`ApiError`] (the router's 405, the body
/// limit's 413, the timeout's 503, an extractor's rejection) the error JSON shape, keeping
/// their status.
async fn render_bare_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let mut rendered = ApiError::from_status(status).into_response();
    *rendered.status_mut() = status;
    if let Some(allow) = response.headers().get(ALLOW) {
        rendered.headers_mut().insert(ALLOW, allow.clone());
    }
    rendered
}

/// Logs once at start whether the database answers and which extension version it has.
async fn report_database(state: AppState) {
    let check = async {
        let client = state.pool.get().await.map_err(|e| chain(&e))?;
        let row = client
            .query_opt(
                "select extversion::text from pg_catalog.pg_extension where extname = 'arxos'",
                &[],
            )
            .await
            .map_err(|e| chain(&e))?;
        Ok::<_, String>(row.and_then(|r| r.try_get::<_, String>(0).ok()))
    };
    match tokio::time::timeout(routes::health::CHECK_TIMEOUT, check).await {
        Ok(Ok(Some(version))) => tracing::info!(extension_version = %version, "database reachable"),
        Ok(Ok(None)) => {
            tracing::warn!("database reachable but the arxos extension is not installed")
        }
        Ok(Err(error)) => tracing::warn!(%error, "database not reachable yet; serving anyway"),
        Err(_) => tracing::warn!("database did not answer in time; serving anyway"),
    }
}

/// SIGINT and SIGTERM handlers, installed before the server announces itself so that a signal
/// sent right after the announcement is never fatal.
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        Ok(ShutdownSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves on the first of the two, naming it.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
