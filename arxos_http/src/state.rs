//! What every request handler can reach.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::{ApiKey, Scope};
use crate::db::Pool;
use crate::error::ApiError;
use crate::rate_limit::RateLimits;
use crate::tx::{self, Client, Work};

/// How many times a single statement that lost to a concurrent transaction is run again.
const CONFLICT_RETRIES: u64 = 2;

/// Limits of `POST /api/query`.
#[derive(Debug, Clone)]
pub struct QuerySettings {
    pub timeout_ms: u64,
    pub max_rows: usize,
    /// Most bytes of row JSON in one answer.
    pub max_bytes: u64,
}

/// The handlers' state: one pointer, so that the extractors' clones of it on every request
/// cost one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub pool: Pool,
    /// Connections that log in as `arxos_query` (see docs/security.md); `None` turns
    /// `/api/query` off.
    pub query_pool: Option<Pool>,
    pub query: QuerySettings,
    /// `statement_timeout` of API requests, in milliseconds.
    pub statement_timeout_ms: u64,
    /// `--body-limit`, for the messages of bodies that go over it.
    pub body_limit: usize,
    pub rate_limits: Option<Arc<RateLimits>>,
    pub metrics: Option<PrometheusHandle>,
    pub started: Instant,
    /// Live events, fed by the outbox listener (see crate::realtime).
    pub hub: crate::realtime::Hub,
    /// Keys the database accepted a moment ago (see crate::grants).
    pub grants: Arc<crate::grants::Grants>,
    /// The event streams each key holds open (`--max-streams-per-key`).
    pub streams: Arc<crate::realtime::streams::Streams>,
    /// The schema against the installed build of the extension (health, readiness).
    pub schema: crate::routes::health::SchemaCheck,
}

impl Shared {
    pub fn new(pool: Pool) -> Self {
        Shared {
            pool,
            query_pool: None,
            query: QuerySettings {
                timeout_ms: 5_000,
                max_rows: 1_000,
                max_bytes: 8 * 1024 * 1024,
            },
            statement_timeout_ms: 30_000,
            body_limit: 1024 * 1024,
            rate_limits: None,
            metrics: None,
            started: Instant::now(),
            hub: crate::realtime::Hub::new(),
            grants: Arc::new(crate::grants::Grants::new(std::time::Duration::ZERO)),
            streams: crate::realtime::streams::Streams::new(
                crate::realtime::streams::DEFAULT_MAX_PER_KEY,
            ),
            schema: Default::default(),
        }
    }

    /// Runs one statement answering JSON rows (their first column) in the request's
    /// transaction, in a single round trip (see [`tx::run_rows`]).
    pub async fn rows(
        &self,
        key: &ApiKey,
        scope: Scope,
        building: Option<&str>,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        // A deadlock or serialization failure rolled the statement's transaction back, so
        // running it again is safe: twice more, after a short random pause (two requests
        // that deadlocked would otherwise meet again), then the 409 stands.
        let mut attempt = 0;
        loop {
            match tx::run_rows(self.request(key, scope, building), sql, params).await {
                Err(e) if e.is_transient_conflict() && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "statement lost to a concurrent one; running it again");
                    let pause = 5 + rand::random::<u64>() % (20 * attempt);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                result => return result,
            }
        }
    }

    /// Like [`AppState::rows`] for a statement answering one JSON value; no row is NOT_FOUND.
    pub async fn one(
        &self,
        key: &ApiKey,
        scope: Scope,
        building: Option<&str>,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<serde_json::Value, ApiError> {
        self.rows(key, scope, building, sql, params)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::not_found("not found"))
    }

    fn request<'a>(
        &'a self,
        key: &'a ApiKey,
        scope: Scope,
        building: Option<&'a str>,
    ) -> tx::Request<'a> {
        tx::Request {
            pool: &self.pool,
            grants: &self.grants,
            key,
            scope,
            building,
            statement_timeout_ms: self.statement_timeout_ms,
        }
    }

    /// Runs `work` in the request's transaction as the key's owner (see [`tx::run`]).
    pub async fn tx<T, F>(
        &self,
        key: &ApiKey,
        scope: Scope,
        building: Option<&str>,
        work: F,
    ) -> Result<T, ApiError>
    where
        F: for<'c> FnOnce(&'c Client) -> Work<'c, T>,
    {
        tx::run(self.request(key, scope, building), work).await
    }

    /// Checks the key for `scope` in a transaction of its own, which commits (so a due
    /// refresh of the key's last use is kept): 401/403 when the database refuses it.
    pub async fn check_key(&self, key: &ApiKey, scope: Scope) -> Result<(), ApiError> {
        self.tx(key, scope, None, |_| Box::pin(async { Ok(()) }))
            .await
    }
}
