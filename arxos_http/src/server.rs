//! `arxos serve`: the router, its middleware, and the listening loop with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::Notify;
use tokio::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use std::num::NonZeroU32;

use crate::config::{ApiConfig, ServeConfig};
use crate::db::{self, DbError};
use crate::error::{chain, ApiError, ErrorCode};
use crate::openapi::ApiDoc;
use crate::operations::{self, Guard, Operations};
use crate::rate_limit::{self, Rate, RateLimits};
use crate::routes;
use crate::state::QuerySettings;
use crate::state::{AppState, Shared};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("invalid CORS origin {0:?}: write it as a browser sends it, scheme://host[:port] in lowercase, with no path (not even a trailing /)")]
    CorsOrigin(String),
    #[error("--query-database-url (ARXOS_QUERY_DATABASE_URL): {0}")]
    QueryUrl(DbError),
    #[error("CORS origins: `*` cannot stand beside origins (alone it allows every origin); list the origins without it")]
    CorsWildcardBesideOrigins,
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
    let statement_timeout = statement_timeout_ms(config.request_timeout);
    let pg_config = db::serve_config(config.database.url()?, Some(statement_timeout))?;
    // The query sessions' connection, checked here with the rest of the configuration: a
    // server that exits on it must not have started its listener and worker first.
    let query_config = match (&config.api.query_database_url, config.api.no_query) {
        (_, true) => None,
        (Some(url), false) => {
            Some(db::serve_config(url.as_str(), None).map_err(ServeError::QueryUrl)?)
        }
        (None, false) => {
            let mut c = db::serve_config(config.database.url()?, None)?;
            c.user("arxos_query");
            c.password(Vec::<u8>::new());
            Some(c)
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        database = %db::describe(&pg_config),
        pool_size = config.pool_size,
        "arxos starting"
    );
    let tls = db::tls_connector(config.database.db_ca_cert.as_deref())?;
    // Configuration the router refuses, and the signal handlers, before anything starts work
    // on the database: a server that exits on them must not have claimed deliveries first.
    cors_layer(&config.cors_origins)?;
    let mut signals = ShutdownSignals::install()?;
    // The address first: a server that cannot listen (another one has the port) stops before
    // its listener and webhook worker start working on the database.
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr,
            source,
        })?;
    let pool = db::Pool::new(pg_config.clone(), tls.clone(), config.pool_size as usize)?
        .with_pipeline_depth(config.pipeline_depth as usize);
    let mut state = Shared::new(pool.clone());
    state.grants = Arc::new(crate::grants::Grants::new(Duration::from_secs(
        config.api.key_cache_seconds,
    )));
    state.streams = crate::realtime::streams::Streams::new(config.api.max_streams_per_key);
    let realtime = crate::realtime::spawn(
        pg_config.clone(),
        tls.clone(),
        state.hub.clone(),
        Arc::clone(&state.grants),
        pool.clone(),
        !config.no_ticker,
    );
    let webhooks = crate::webhooks::spawn(pool.clone(), state.hub.clone(), &config.webhooks);
    state.statement_timeout_ms = statement_timeout;
    state.body_limit = config.body_limit;
    state.query = QuerySettings {
        timeout_ms: config.api.query_timeout_ms,
        max_rows: config.api.query_max_rows as usize,
        max_bytes: config.api.query_max_bytes,
    };
    if let Some(query_config) = query_config {
        tracing::info!(database = %db::describe(&query_config), "POST /api/query connects as");
        state.query_pool = Some(db::Pool::new(query_config, tls, QUERY_POOL_SIZE)?);
    }
    state.rate_limits = rate_limits(&config.api);
    state.metrics = crate::metrics::install();
    if let Some(limits) = state.rate_limits.clone() {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                limits.forget_idle();
            }
        });
    }
    let state = AppState::new(state);
    let app = router(state.clone(), &config)?;

    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "listening on http://{local}");
    let hub = state.hub.clone();
    tokio::spawn(report_database(state));

    let stop = Arc::new(Notify::new());
    // `/api/buildings/b42/ls/` is `/api/buildings/b42/ls`: the trailing slash goes before
    // routing (paths inside the database are normalised the same way).
    let app = NormalizePath::trim_trailing_slash(app);
    // A request's head, and a kept-alive connection's next one, within the request timeout.
    let head_timeout = Duration::from_secs(config.request_timeout);
    let server = crate::listen::serve(listener, app, Arc::clone(&stop), head_timeout);
    tokio::pin!(server);

    let grace = Duration::from_secs(config.shutdown_grace);
    tokio::select! {
        () = &mut server => {
            realtime.stop(&pool).await;
            if let Some(webhooks) = webhooks {
                webhooks.stop(Instant::now() + grace).await;
            }
            pool.close();
            return Ok(());
        }
        signal = signals.recv() => {
            tracing::info!(signal, "shutting down: no new connections, finishing in-flight requests and webhook deliveries");
            stop.notify_one();
            // Open event streams end now (each with its position), or the server would wait
            // the whole grace period for them and then cut them without a word.
            hub.close();
            if let Some(webhooks) = &webhooks {
                webhooks.stop_claiming();
            }
        }
    }
    // Requests and webhook deliveries share one grace period, which a second signal ends,
    // whichever of the two it finds still waiting (found by a review: once the connections
    // were done, the wait for deliveries heard no signal).
    let deadline = Instant::now() + grace;
    let worker = webhooks.as_ref().map(|w| w.abort_handle());
    let finishing = async {
        if tokio::time::timeout_at(deadline, &mut server)
            .await
            .is_err()
        {
            tracing::warn!(
                ?grace,
                "grace period over: dropping the remaining connections"
            );
        }
        if let Some(webhooks) = webhooks {
            webhooks.stop(deadline).await;
        }
    };
    tokio::select! {
        () = finishing => {}
        signal = signals.recv() => {
            tracing::warn!(signal, "second signal: stopping now, dropping the remaining connections and webhook deliveries (a delivery cut short is sent again)");
            // dropping the wait would only detach the worker: it is stopped here
            if let Some(worker) = worker {
                worker.abort();
            }
        }
    }
    realtime.stop(&pool).await;
    pool.close();
    tracing::info!("stopped");
    Ok(())
}

/// Connections of POST /api/query (each request holds one for at most the query timeout).
const QUERY_POOL_SIZE: usize = 4;

/// The limiters, unless the configuration turns them all off (0: no limit).
fn rate_limits(config: &ApiConfig) -> Option<Arc<RateLimits>> {
    let rate = |per_minute: u32, burst: u32| {
        NonZeroU32::new(per_minute).map(|per_minute| Rate {
            per_minute,
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        })
    };
    let api = rate(config.rate_limit, config.rate_limit_burst);
    let query = rate(config.query_rate_limit, config.query_rate_limit_burst);
    let failures = rate(config.auth_failure_limit, config.auth_failure_limit);
    if api.is_none() && query.is_none() && failures.is_none() {
        return None;
    }
    Some(Arc::new(RateLimits::new(api, query, failures)))
}

/// The whole HTTP surface with its middleware, outermost first: tracing, `Cache-Control`,
/// CORS, panics as 500s, compression, metrics, protocol checks, error rendering, rate limits,
/// timeout, body limit.
/// Metrics and rate limits see every answer from within (the limiter's own 429s, the timeout's
/// 503s, the body limit's 413s): they are counted, and carry the `X-RateLimit-*` headers. A
/// panic's 500 (a bug) is made outside them, so it is logged (main's panic hook) but neither
/// counted nor given those headers: a panic unwinds through them.
pub fn router(state: AppState, config: &ServeConfig) -> Result<Router, ServeError> {
    let timeout = Duration::from_secs(config.request_timeout);
    let body_limit = config.body_limit;
    let limits = state.rate_limits.clone();
    let mut app = Router::new()
        .merge(routes::health::router())
        .merge(routes::buildings::router())
        .merge(routes::objects::router())
        .merge(routes::ratings::router())
        .merge(routes::keys::router())
        .merge(routes::query::router())
        .merge(routes::market::router())
        .merge(routes::docs::router())
        .merge(routes::metrics::router())
        .merge(crate::import::routes::router())
        .merge(crate::realtime::router())
        .merge(crate::webhooks::router())
        // inside the guard: a body it refuses is answered after the key is judged
        .route_layer(middleware::from_fn(move |request: Request, next: Next| {
            crate::json_body::check(body_limit, request, next)
        }))
        .route_layer(middleware::from_fn_with_state(
            Arc::new(Guard {
                operations: Operations::from_openapi(&ApiDoc::openapi()),
                state: state.clone(),
            }),
            operations::guard,
        ))
        .fallback(unknown_route)
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limit(timeout, request, next)
        }));
    if let Some(limits) = limits {
        app = app.layer(middleware::from_fn_with_state(limits, rate_limit::limit));
    }
    app = app
        .layer(middleware::map_response(move |response: Response| {
            render_bare_errors(body_limit, response)
        }))
        .layer(middleware::from_fn(crate::protocol::check))
        // outside the protocol check: its refusals (a bad percent-encoding, a second Host,
        // a Content-Encoding) are requests too (found by a review: logged, never counted)
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(compression())
        // a panic (a bug: bad input is refused, never panicked on) is a 500 in the error
        // shape, not a dropped connection; main's panic hook logs it
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(ErrorCode::Internal, "internal error").into_response()
        }))
        // outside every layer that answers before the body is read
        .layer(middleware::from_fn(crate::body_watch::watch));
    if let Some(cors) = cors_layer(&config.cors_origins)? {
        app = app.layer(cors);
    }
    // outside everything that answers, the CORS preflight and a panic's 500 included
    app = app.layer(middleware::map_response(crate::protocol::standard_headers));
    Ok(app.layer(
        TraceLayer::new_for_http()
            // Method and path only: query strings and headers may carry credentials.
            .make_span_with(|req: &Request| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            })
            // The latency as a number (milliseconds, to the microsecond), not tower-http's
            // text ("13 ms"), so that a JSON log's consumers can compute with it.
            .on_response(
                |response: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = response.status().as_u16(),
                        latency_ms = (latency.as_micros() as f64) / 1000.0,
                        "finished processing request"
                    );
                },
            )
            // The response line above already carries the status of failed requests.
            .on_failure(()),
    ))
}

/// The statements' `statement_timeout` for a request timeout of `seconds`: a second less (a
/// quarter less, when that is shorter), so that the database stops a statement before the
/// shim's own timer answers 503, even when the statement started late (a new connection, a
/// busy machine: a quarter second was too little on a loaded CI host). A statement the database stops rolls its transaction
/// back; one the shim gives up on first could still finish and commit after the 503, if what
/// it waited for (a row lock) came free before the cancel request arrived, or at all when it
/// shares a pipelined connection (docs/operations.md, "Abandoned requests").
fn statement_timeout_ms(seconds: u64) -> u64 {
    let ms = seconds * 1000;
    ms - (ms / 4).min(1000)
}

/// gzip for a client that asks for it (`Accept-Encoding`), on answers larger than a KiB: never
/// on the event stream (each message must leave at once) nor on an answer with an `ETag` (a
/// strong tag names one representation, and a gzipped body would be another; single objects
/// are small anyway). No answer of ours mixes a secret with what a third party could inject
/// and measure by size (BREACH): the key is a header, not an ambient cookie.
fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = SizeAbove::new(1024).and(NotForContentType::SSE).and(
        |_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions| {
            !headers.contains_key(ETAG)
        },
    );
    CompressionLayer::new().compress_when(predicate)
}

/// No CORS headers at all unless origins are configured: browsers then refuse cross-origin
/// calls. `*` allows any origin.
/// An origin as browsers send it: `scheme://host[:port]`, nothing after. (`https://app.example/`
/// or `app.example` could never equal a request's `Origin`, and CORS would be off without a
/// word.)
fn cors_origin(origin: &str) -> Option<HeaderValue> {
    let url = url::Url::parse(origin).ok()?;
    let serialized = url.origin().ascii_serialization();
    (url.host().is_some() && serialized == origin)
        .then(|| HeaderValue::from_str(origin).ok())
        .flatten()
}

fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, ServeError> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    // `*` stands alone: beside origins it would be a typo (or a paste) that silently opens
    // the API to every origin
    let allow_origin = if origins.iter().all(|o| *o == "*") {
        AllowOrigin::any()
    } else if origins.contains(&"*") {
        return Err(ServeError::CorsWildcardBesideOrigins);
    } else {
        let values = origins
            .iter()
            .map(|o| cors_origin(o).ok_or_else(|| ServeError::CorsOrigin((*o).to_owned())))
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
                axum::http::header::IF_NONE_MATCH,
                axum::http::HeaderName::from_static("x-api-key"),
                axum::http::HeaderName::from_static("idempotency-key"),
                // Sent by a client resuming the event stream (EventSource sends it only
                // same-origin; fetch-based clients send it themselves).
                axum::http::HeaderName::from_static("last-event-id"),
            ])
            .expose_headers([
                axum::http::HeaderName::from_static("x-ratelimit-limit"),
                axum::http::HeaderName::from_static("x-ratelimit-remaining"),
                axum::http::HeaderName::from_static("x-ratelimit-reset"),
                axum::http::HeaderName::from_static("retry-after"),
                // conditional writes (If-Match) send back the tag an object was read with
                axum::http::header::ETAG,
                // where a created resource is read
                axum::http::header::LOCATION,
            ])
            .max_age(Duration::from_secs(3600)),
    ))
}

/// The request timeout: 503 when the answer has not begun within `limit`. The event stream is
/// left out: its answer begins once it has subscribed, which it limits itself, answering a
/// database that is slow as one that is down (200 with `retry:`, which `EventSource` follows;
/// a 503 would make it give up).
///
/// A request whose handler was then waiting for more of its body is the client's delay, not
/// the server's: 408 with `Connection: close` (RFC 9110, 15.5.9), so that it neither counts as
/// an outage nor invites the retry a 503 does. (A body not read yet, because the handler was
/// still waiting on the database, is the server's: 503.)
async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    if request.uri().path() == crate::realtime::STREAM_PATH {
        return next.run(request).await;
    }
    // An import that ran out of time is too large for the limit far more often than late
    // because of load: its 503 does not invite the same request again with Retry-After.
    let import = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|route| route.as_str() == crate::import::routes::IMPORT_ROUTE);
    let body = request
        .extensions()
        .get::<Arc<crate::body_watch::BodyWatch>>()
        .cloned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) if body.is_some_and(|body| body.waiting()) => {
            let mut response = ApiError::validation(format!(
                "the request's body did not arrive within {} s (--request-timeout)",
                limit.as_secs()
            ))
            .into_response();
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            // (with `Connection: close`, as every answer that left the body unread:
            // crate::body_watch)
            response
        }
        // The server's own delay: load (a retry may pass) or a request too large for the limit
        // (a retry will not): the message names the limit either way.
        Err(_) => {
            let mut response = ApiError::unavailable(format!(
                "the request was not answered within the server's request timeout ({} s, --request-timeout); if it is large (an import of a big model), raise the timeout or import with the command line (arxos import)",
                limit.as_secs()
            ))
            .into_response();
            if import {
                response
                    .headers_mut()
                    .remove(axum::http::header::RETRY_AFTER);
            }
            response
        }
    }
}

async fn unknown_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// Gives error answers that did not come from an [`ApiError`] (the router's 405, the body
/// limit's 413, the timeout's 503, an extractor's rejection) the error JSON shape, keeping
/// their status and headers (`Allow`, `X-RateLimit-*`, `Retry-After`).
async fn render_bare_errors(body_limit: usize, response: Response) -> Response {
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
    // An extractor's rejection says in plain text what was wrong (`unknown field `colour``,
    // `limit: invalid digit found in string`): that is the message, not the status's name.
    let is_text = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let (parts, body) = response.into_parts();
    let said = match is_text && status.is_client_error() {
        true => axum::body::to_bytes(body, REJECTION_TEXT_MAX)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|text| !text.trim().is_empty()),
        false => None,
    };
    let error = match said {
        // the limit layer's and the extractors' words for it (`length limit exceeded`) do
        // not say what the limit is
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(body_limit),
        Some(text) => ApiError::new(ApiError::from_status(status).code, explained(text.trim())),
        None => ApiError::from_status(status),
    };
    let mut rendered = error.into_response();
    *rendered.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            rendered.headers_mut().append(name, value.clone());
        }
    }
    rendered
}

/// A rejection's text, with what to do where axum's words alone do not say it.
fn explained(text: &str) -> String {
    if text.starts_with("Invalid URL: Invalid UTF-8 in") {
        // a path segment percent-encoded in Latin-1 (caf%E9) rather than UTF-8 (caf%C3%A9)
        format!("{text}: percent-encode the UTF-8 bytes of each character (é is %C3%A9, not %E9)")
    } else {
        text.to_owned()
    }
}

/// The longest rejection text taken as an error's message (axum's are one line).
const REJECTION_TEXT_MAX: usize = 4096;

/// The longest autovacuum_naptime under which the outbox queues stay short at a few thousand
/// writes per second (docs/operations.md, "Queue tables and autovacuum").
const NAPTIME_ADVISED_SECS: i32 = 10;

/// Whether autovacuum, when on, visits too rarely to keep the outbox queues free of dead rows.
fn naptime_too_long(naptime_secs: i32) -> bool {
    naptime_secs > NAPTIME_ADVISED_SECS
}

/// How long the start-up report waits for the database: it runs on its own, holding nothing
/// up, so it waits long enough for a busy machine to answer (with a health check's 2 s, its
/// lines were missing when the first connection took longer).
const REPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// Logs once at start whether the database answers, which extension version it has and what
/// keeps the server's role from serving requests ([`routes::health::Setup::problem`]), and
/// warns when autovacuum would let the queue tables bloat.
async fn report_database(state: AppState) {
    let check = async {
        let client = state.pool.get().await.map_err(|e| chain(&e))?;
        let row = client
            .query_one(
                "select current_setting('autovacuum')::bool,
                        (select setting::int from pg_catalog.pg_settings where name = 'autovacuum_naptime')",
                &[],
            )
            .await
            .map_err(|e| chain(&e))?;
        let autovacuum: bool = row.try_get(0).map_err(|e| chain(&e))?;
        let naptime: i32 = row.try_get(1).map_err(|e| chain(&e))?;
        if !autovacuum {
            tracing::warn!(
                "autovacuum is off: the outbox queues fill with dead rows and every poll slows down; turn it on, with autovacuum_naptime = '{NAPTIME_ADVISED_SECS}s' (docs/operations.md, \"Queue tables and autovacuum\")"
            );
        } else if naptime_too_long(naptime) {
            tracing::warn!(
                autovacuum_naptime_secs = naptime,
                "autovacuum visits the outbox queues too rarely: set autovacuum_naptime = '{NAPTIME_ADVISED_SECS}s' (docs/operations.md, \"Queue tables and autovacuum\")"
            );
        }
        let setup = client
            .query_opt(routes::health::SETUP_SQL, &[])
            .await
            .map_err(|e| chain(&e))?;
        routes::health::Setup::read(setup.as_ref(), &state.schema, &client)
            .await
            .map_err(|e| chain(&e))
    };
    let reachable = match tokio::time::timeout(REPORT_TIMEOUT, check).await {
        Ok(Ok(setup)) if setup.extension_version.is_some() => {
            tracing::info!(extension_version = setup.extension_version.as_deref().unwrap_or_default(), role = %setup.role, "database reachable");
            if let Some(problem) = setup.problem() {
                tracing::error!("{problem}: readiness answers 503 until it is mended");
            }
            true
        }
        Ok(Ok(_)) => {
            tracing::error!("database reachable but the arxos extension is not installed (CREATE EXTENSION arxos CASCADE): every request but health answers an error until it is");
            true
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "database not reachable yet; serving anyway");
            false
        }
        Err(_) => {
            tracing::warn!("database did not answer in time; serving anyway");
            false
        }
    };
    // Only when the database answers the server's own role: a database that is down is not a
    // query role that cannot log in.
    if !reachable {
        return;
    }
    if let Some(query_pool) = &state.query_pool {
        // A role that cannot log in shows only as 503s of POST /api/query: say so at once.
        match tokio::time::timeout(REPORT_TIMEOUT, query_pool.get()).await {
            // A privileged role is refused by every query (arxos_views.begin_query): say so now.
            Ok(Ok(client)) => match client.query_one(
                "SELECT NOT arxos_views.query_role_fits(),
                        (SELECT nullif(s.setting::bigint, 0) FROM pg_catalog.pg_settings s
                          WHERE s.name = 'statement_timeout')",
                &[],
            ).await {
                Ok(row) if row.get::<_, bool>(0) => tracing::error!(
                    "POST /api/query connects as a role other than arxos_query itself (unprivileged, a member of no role), and refuses every query (403): point --query-database-url at arxos_query (docs/security.md, \"Deployment\")"
                ),
                // A query runs under the smaller of --query-timeout-ms and the session's own
                // statement_timeout (the role's, the database's or the server's): said when
                // the session's is the smaller, so that a larger flag is not taken for the limit.
                Ok(row) => {
                    if let Some(session_ms) = row.get::<_, Option<i64>>(1) {
                        let flag_ms = i64::try_from(state.query.timeout_ms).unwrap_or(i64::MAX);
                        if session_ms < flag_ms {
                            tracing::warn!(
                                session_timeout_ms = session_ms,
                                query_timeout_ms = flag_ms,
                                "POST /api/query: the query role's session has a statement_timeout below --query-timeout-ms, and queries stop at it (ALTER ROLE arxos_query RESET statement_timeout to use the flag's)"
                            );
                        }
                    }
                }
                // A role that may not even use the check (the authenticator, say) is as
                // wrong as one the check refuses: every query is refused (403)
                Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => tracing::error!(
                    error = %chain(&error),
                    "POST /api/query connects as a role that may not use the query schema (arxos_views), and refuses every query (403): point --query-database-url at arxos_query (docs/security.md, \"Deployment\")"
                ),
                Err(error) => tracing::warn!(error = %chain(&error), "POST /api/query: its role could not be checked"),
            },
            Ok(Err(error)) => tracing::warn!(
                error = %chain(&error),
                "POST /api/query cannot connect as its query role and answers 503 until it can: give arxos_query LOGIN (and a password in --query-database-url), or turn the endpoint off with --no-query (docs/security.md, \"Deployment\")"
            ),
            Err(_) => tracing::warn!(
                "POST /api/query: the database did not answer its query role in time"
            ),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_gives_up_before_the_shim() {
        assert_eq!(statement_timeout_ms(1), 750);
        assert_eq!(statement_timeout_ms(2), 1_500);
        assert_eq!(statement_timeout_ms(30), 29_000);
        assert_eq!(statement_timeout_ms(2_147_483), 2_147_482_000);
    }

    #[test]
    fn cors_origins_are_what_browsers_send() {
        for good in [
            "https://app.example.com",
            "http://localhost:5173",
            "https://[::1]:8443",
        ] {
            assert!(cors_origin(good).is_some(), "{good}");
        }
        for bad in [
            "https://app.example.com/",
            "app.example.com",
            "https://app.example.com/path",
            "HTTPS://APP.example.com",
            "https://app.example.com:443",
            "file:///tmp/x",
        ] {
            assert!(cors_origin(bad).is_none(), "{bad}");
        }
        // `*` alone allows every origin; beside origins it is refused at start
        assert!(cors_layer(&["*".to_owned()]).unwrap().is_some());
        assert!(cors_layer(&["https://app.example.com".to_owned(), "*".to_owned()]).is_err());
    }

    // Paused time: with real time, a thread descheduled past both deadlines would see the
    // handler finish first (a timeout polls its future before its clock).
    #[tokio::test(start_paused = true)]
    async fn the_request_timeout_leaves_the_event_stream_alone() {
        use tower::ServiceExt;
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "late"
        }
        // (A constant, not a literal: openapi.rs's test reads the literal routes of the source.)
        const SLOW: &str = "/api/slow";
        const IMPORT: &str = "/api/buildings/b42/import";
        const NOT_IMPORT: &str = "/api/buildings/b42/objects/import";
        let app = Router::new()
            .route(crate::realtime::STREAM_PATH, axum::routing::get(slow))
            .route(SLOW, axum::routing::get(slow))
            .route(
                crate::import::routes::IMPORT_ROUTE,
                axum::routing::get(slow),
            )
            .route(
                "/api/buildings/{b}/objects/{*path}",
                axum::routing::get(slow),
            )
            .layer(middleware::from_fn(|request: Request, next: Next| {
                time_limit(Duration::from_millis(50), request, next)
            }));
        // (the status, and whether the answer invites a retry: not for an import, which is
        // too large for the limit far more often than late)
        for (path, status, retry) in [
            (crate::realtime::STREAM_PATH, StatusCode::OK, false),
            (SLOW, StatusCode::SERVICE_UNAVAILABLE, true),
            (IMPORT, StatusCode::SERVICE_UNAVAILABLE, false),
            (NOT_IMPORT, StatusCode::SERVICE_UNAVAILABLE, true),
        ] {
            let request = Request::builder()
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let answer = app.clone().oneshot(request).await.unwrap();
            assert_eq!(answer.status(), status, "{path}");
            assert_eq!(
                answer
                    .headers()
                    .contains_key(axum::http::header::RETRY_AFTER),
                retry,
                "{path}"
            );
        }
    }

    #[test]
    fn autovacuum_advice_follows_the_naptime() {
        assert!(naptime_too_long(60), "the default naptime is too long");
        assert!(!naptime_too_long(10));
        assert!(!naptime_too_long(5));
    }
}
