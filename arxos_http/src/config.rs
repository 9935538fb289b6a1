//! Command-line flags and their environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// A connection string: it may hold a password, so its `Debug` shows none of it (the flags'
/// structs derive `Debug`, and a `{:?}` of them must not log a password; found by a review).
#[derive(Clone)]
pub struct ConnectionString(String);

impl ConnectionString {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for ConnectionString {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ConnectionString(s.to_owned()))
    }
}

impl std::fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionString(<not shown>)")
    }
}

/// How to reach the database; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection string (URL or key=value form), e.g.
    /// postgres://arxos@db.example.com/arxos?sslmode=require. Required to connect.
    #[arg(
        long,
        visible_alias = "database",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<ConnectionString>,

    /// PEM file with the CA certificate(s) that sign the server's certificate. When set, TLS
    /// connections verify the certificate and host name; without it, `sslmode=require`
    /// encrypts without verifying, like libpq.
    #[arg(long, env = "ARXOS_DB_CA_CERT")]
    pub db_ca_cert: Option<PathBuf>,
}

impl DatabaseArgs {
    /// The connection string; an error naming the flag and the variable when neither is given.
    pub fn url(&self) -> Result<&str, crate::db::DbError> {
        self.database_url
            .as_ref()
            .map(ConnectionString::as_str)
            .ok_or(crate::db::DbError::NoUrl)
    }
}

/// Flags of `arxos serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on; port 0 picks a free port (the log says which).
    #[arg(long, env = "ARXOS_HTTP_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Largest number of database connections the server holds.
    #[arg(long, env = "ARXOS_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pool_size: u32,

    /// Statements of one API key that may share a database connection at once, pipelined
    /// (1: every request has a connection of its own). See docs/operations.md.
    #[arg(long, env = "ARXOS_PIPELINE_DEPTH", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub pipeline_depth: u32,

    /// Largest request body accepted, in bytes (1 KiB to 1 GiB: below, no write would fit; the
    /// body of a request is held in memory).
    #[arg(long, env = "ARXOS_BODY_LIMIT", default_value_t = 1024 * 1024,
          value_parser = body_limit)]
    pub body_limit: usize,

    /// Seconds a request may take before it is answered with 503 (at most 2147483: it is also
    /// the statement timeout, which PostgreSQL takes in milliseconds as an int4).
    #[arg(long, env = "ARXOS_REQUEST_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=2_147_483))]
    pub request_timeout: u64,

    /// Seconds that in-flight requests and webhook deliveries get to finish after SIGINT or
    /// SIGTERM (0 to 86400).
    #[arg(long, env = "ARXOS_SHUTDOWN_GRACE", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub shutdown_grace: u64,

    /// Origins allowed to call the API from a browser (comma-separated, or `*` for any).
    /// Unset: no cross-origin access.
    #[arg(long, env = "ARXOS_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Do not run the minute ticker (`arxos.readings_maintenance()`, `arxos.tick()`) in this
    /// shim: another replica, or pg_cron, runs them (each tick holds the outbox sequencer for
    /// as long as it takes over every building, once per shim that runs it).
    #[arg(long, env = "ARXOS_NO_TICKER")]
    pub no_ticker: bool,

    #[command(flatten)]
    pub api: ApiConfig,

    #[command(flatten)]
    pub webhooks: crate::webhooks::WebhookArgs,
}

/// Flags of the API itself: rate limits and `POST /api/query`.
#[derive(Debug, Clone, Args)]
pub struct ApiConfig {
    /// Requests per minute per API key; 0 turns rate limiting off.
    #[arg(long, env = "ARXOS_RATE_LIMIT", default_value_t = 100)]
    pub rate_limit: u32,

    /// Requests a key may make at once before the per-minute rate applies.
    #[arg(long, env = "ARXOS_RATE_LIMIT_BURST", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: u32,

    /// Requests per minute per API key to POST /api/query; 0 turns its limit off.
    #[arg(long, env = "ARXOS_QUERY_RATE_LIMIT", default_value_t = 10)]
    pub query_rate_limit: u32,

    /// Failed authentications (401 answers) per minute per client address, with as large a
    /// burst; past it the address gets 429 whatever key it sends, except keys accepted in the
    /// last ten minutes. 0 turns this off.
    #[arg(long, env = "ARXOS_AUTH_FAILURE_LIMIT", default_value_t = 30)]
    pub auth_failure_limit: u32,

    /// Burst of POST /api/query.
    #[arg(long, env = "ARXOS_QUERY_RATE_LIMIT_BURST", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub query_rate_limit_burst: u32,

    /// Connection string for POST /api/query. Its user must be arxos_query itself
    /// (docs/security.md; any other role is refused on every query). Default: the database URL with user arxos_query and no
    /// password, which only trust authentication accepts (no password file is read): give a
    /// URL with a password otherwise.
    #[arg(long, env = "ARXOS_QUERY_DATABASE_URL", hide_env_values = true)]
    pub query_database_url: Option<ConnectionString>,

    /// Turn POST /api/query off.
    #[arg(long, env = "ARXOS_QUERY_DISABLED")]
    pub no_query: bool,

    /// Milliseconds one POST /api/query statement may run (at most 2147483647, PostgreSQL's
    /// largest statement_timeout).
    #[arg(long, env = "ARXOS_QUERY_TIMEOUT_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..=2_147_483_647))]
    pub query_timeout_ms: u64,

    /// Most rows POST /api/query returns (the answer says when it cut).
    #[arg(long, env = "ARXOS_QUERY_MAX_ROWS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub query_max_rows: u64,

    /// Most bytes of row JSON POST /api/query returns (the answer says when it cut; rows beyond
    /// the limit never leave the database).
    #[arg(long, env = "ARXOS_QUERY_MAX_BYTES", default_value_t = 8 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=256 * 1024 * 1024))]
    pub query_max_bytes: u64,

    /// Seconds the shim remembers that the database accepted a key for a scope and building
    /// (0: check the key on every request). Revoking a key ends it at once; see
    /// docs/security.md.
    #[arg(long, env = "ARXOS_KEY_CACHE_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub key_cache_seconds: u64,

    /// Event streams (GET /api/events) one API key may hold open at once; past it a new one is
    /// answered 429. 0 turns the limit off.
    #[arg(long, env = "ARXOS_MAX_STREAMS_PER_KEY",
          default_value_t = crate::realtime::streams::DEFAULT_MAX_PER_KEY,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub max_streams_per_key: u32,
}

/// `--body-limit`: bytes, from 1 KiB to 1 GiB.
fn body_limit(value: &str) -> Result<usize, String> {
    const MIN: usize = 1024;
    const MAX: usize = 1 << 30;
    let n: usize = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of bytes (e.g. 1048576 for 1 MiB)"))?;
    if !(MIN..=MAX).contains(&n) {
        return Err(format!("{n} is not in {MIN}..={MAX} (1 KiB to 1 GiB)"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn connection_strings_are_not_shown_in_debug() {
        let url: super::ConnectionString = "postgres://alice:s3cret@db/arxos".parse().unwrap();
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.as_str(), "postgres://alice:s3cret@db/arxos");
    }

    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        api: ApiConfig,
    }

    #[test]
    fn rate_limits_default_to_100_a_minute_and_stricter_for_queries() {
        let flags = Flags::try_parse_from(["arxos"]).expect("defaults parse");
        assert_eq!(
            (flags.api.rate_limit, flags.api.rate_limit_burst),
            (100, 50)
        );
        assert_eq!(
            (flags.api.query_rate_limit, flags.api.query_rate_limit_burst),
            (10, 5)
        );
    }
}
