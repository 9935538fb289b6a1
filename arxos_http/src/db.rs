//! Database connections: parsing the connection string, TLS, the pool, and a one-off
//! connection for the command-line tools.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed;
use deadpool_postgres::{
    ClientWrapper, Manager, ManagerConfig, PoolError, RecyclingMethod, Runtime,
};
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::Config;

use crate::config::DatabaseArgs;
use crate::grants::Grant;
use crate::lanes::Lanes;

/// How long opening one connection may take unless the connection string says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for a free pooled connection, or for a new one to open. Short, so
/// that the server answers 503 quickly while the database is away.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// TCP keepalive, unless the connection string says otherwise: the first probe after 30 s
/// without traffic (tokio-postgres' default is 2 hours), then every 10 s, and the connection is
/// dropped after 3 unanswered probes. A half-open connection (the database host gone, a NAT or
/// firewall that forgot the flow) then fails within about a minute instead of hanging.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;
/// tokio-postgres' keepalive idle time when none is configured.
const LIBRARY_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);
/// How long sent data may stay unacknowledged before the connection is dropped (Linux
/// `TCP_USER_TIMEOUT`; tokio-postgres ignores it elsewhere): as long as the keepalive probes
/// take to give up.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database given: set DATABASE_URL or pass --database-url")]
    NoUrl,
    #[error("invalid database URL: {0}")]
    InvalidUrl(#[source] tokio_postgres::Error),
    #[error("invalid database URL: {0}; give a postgres:// (or postgresql://) URL, like postgres://user@localhost/arxos, or key=value settings, like host=/var/run/postgresql dbname=arxos")]
    UnknownForm(&'static str),
    #[error("invalid database URL: it names no host (psql would fall back to the local socket; this client does not): give one, like postgres://user@localhost/arxos, or a socket directory, like host=/var/run/postgresql")]
    NoHost,
    #[error("invalid database URL: a host name holds '@': a password (or user name) with '@' in a URL is written %40, else what follows it is read as the host")]
    AtInHost,
    #[error("cannot read CA certificate {path}: {source}")]
    CaCertRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid CA certificate {path}: {reason}")]
    CaCertInvalid { path: PathBuf, reason: String },
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] native_tls::Error),
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    /// `server`: where and as whom it was tried ([`describe`]: no password), so that a
    /// technician sees which address refused (found by an audit).
    #[error("cannot connect to the database ({server}): {source}")]
    Connect {
        server: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot connect to the database ({server}): no answer within {} s (a server that accepts the connection but does not answer: overloaded, stopped or stalled)", .limit.as_secs())]
    ConnectTimeout { server: String, limit: Duration },
}

/// Parses a connection string (URL or key=value form) and fills in our defaults.
pub fn pg_config(url: &str) -> Result<Config, DbError> {
    // The parser's own message for these ("unexpected EOF") says nothing of what is wrong.
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(DbError::UnknownForm("it is empty"));
    }
    if let Some((scheme, _)) = trimmed.split_once("://") {
        if !matches!(scheme, "postgres" | "postgresql") {
            return Err(DbError::UnknownForm("it is not a PostgreSQL URL"));
        }
    } else if !trimmed.contains('=') {
        return Err(DbError::UnknownForm(
            "it is neither a URL nor key=value settings",
        ));
    }
    let mut config = Config::from_str(url).map_err(DbError::InvalidUrl)?;
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        return Err(DbError::NoHost);
    }
    // `postgres://user:p@ss@host/db`: the parser splits at the first '@', and the rest of the
    // password became a host name that the logs and errors showed (found by an audit). No
    // host name holds one.
    if config
        .get_hosts()
        .iter()
        .any(|h| matches!(h, Host::Tcp(name) if name.contains('@')))
    {
        return Err(DbError::AtInHost);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("arxos");
    }
    if config.get_keepalives_idle() == LIBRARY_KEEPALIVE_IDLE {
        config.keepalives_idle(KEEPALIVE_IDLE);
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(KEEPALIVE_INTERVAL);
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(KEEPALIVE_RETRIES);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
    // A connection string's own options win over these session defaults:
    // - times in UTC whatever the server's TimeZone: answers render timestamps as +00:00, and
    //   a time given without an offset means UTC;
    // - no JIT compilation: every statement of ours is short, and a plan whose estimated cost
    //   passes jit_above_cost (a claim of webhook deliveries with many webhooks, a big
    //   sequencing batch) would spend tens of milliseconds compiling to save microseconds.
    // - the server checks every second while a statement runs that the shim is still there
    //   (PostgreSQL 14's client_connection_check_interval): a shim that exits with requests
    //   in flight (grace period over, a crash, kill -9) cannot cancel their statements, which
    //   would otherwise run on, holding their locks, until they end or time out.
    // - READ COMMITTED whatever the database's or role's default: moves and deletes of objects
    //   run at no other level (docs/sql.md), and the functions' retries need it.
    // - floats printed exactly (PostgreSQL 12's default, extra_float_digits 1) and string
    //   literals read as the SQL standard says (standard_conforming_strings on), whatever a
    //   database's or role's legacy default: answers and the JSON written in these sessions
    //   keep every digit (docs/operations.md, "Session settings").
    default_options(
        &mut config,
        &[
            ("timezone", "TimeZone=UTC"),
            // times printed as ISO 8601 whatever a database's or role's DateStyle (found by
            // an audit: the shell printed 12/02/2026 under 'SQL, MDY', 02/12/2026 under DMY)
            ("datestyle", "DateStyle=ISO"),
            ("jit", "jit=off"),
            (
                "client_connection_check_interval",
                "client_connection_check_interval=1000",
            ),
            (
                "default_transaction_isolation",
                "default_transaction_isolation=read\\ committed",
            ),
            ("extra_float_digits", "extra_float_digits=1"),
            (
                "standard_conforming_strings",
                "standard_conforming_strings=on",
            ),
        ],
    );
    Ok(config)
}

/// The actor of what the server writes on its own (the per-minute tick's rating rows, a
/// webhook disabled by the delivery worker): `system`, which no API key's owner may be
/// (arxos.create_api_key), instead of the database role, so that the server's writes are told
/// apart from a tenant's and the login role's name stays out of answers. Requests set their
/// key's owner for each transaction.
pub const SYSTEM_ACTOR: &str = "system";

/// The server's connections: [`SYSTEM_ACTOR`] as the session's actor, and the requests'
/// `statement_timeout` from the first statement on, unless the connection string's options set
/// them. (Requests set the timeout for their transaction too, but a statement prepared before
/// that, on a new connection, waited for a lock without one: a write the shim answered 503
/// could then still commit. Work that may run longer, the per-minute maintenance and the
/// webhook worker, lifts it for its own transactions: [`unlimited_transaction`].)
/// (`statement_timeout_ms` None: none set, for the `/api/query` sessions, whose role carries
/// its own and whose queries set theirs: a startup option would outrank the role's setting.)
pub fn serve_config(url: &str, statement_timeout_ms: Option<u64>) -> Result<Config, DbError> {
    let mut config = pg_config(url)?;
    let actor = format!("arxos.actor={SYSTEM_ACTOR}");
    default_options(&mut config, &[("arxos.actor", &actor)]);
    if let Some(ms) = statement_timeout_ms {
        let timeout = format!("statement_timeout={ms}");
        default_options(&mut config, &[("statement_timeout", &timeout)]);
    }
    Ok(config)
}

/// Appends `-c setting` to the connection's options for each (name, setting) the options do
/// not name already.
fn default_options(config: &mut Config, settings: &[(&str, &str)]) {
    let mut options = config.get_options().unwrap_or("").to_owned();
    for (name, setting) in settings {
        // `-c name=value`, `-cname=value` or `--name=value`; names are case-insensitive.
        let named = options.to_ascii_lowercase().split_whitespace().any(|word| {
            let word = word
                .strip_prefix("--")
                .or_else(|| word.strip_prefix("-c"))
                .unwrap_or(word);
            word.split('=').next() == Some(name)
        });
        if !named {
            options = format!("{options} -c {setting}").trim_start().to_owned();
        }
    }
    config.options(options);
}

/// The connection string without its password, for logs.
pub fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "host={} port={} user={} dbname={} sslmode={}",
        hosts.join(","),
        ports.join(","),
        // without one, the client logs in as the name of the user this process runs as
        config
            .get_user()
            .unwrap_or("(none given: this process's OS user)"),
        config.get_dbname().unwrap_or("-"),
        match config.get_ssl_mode() {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            _ => "other",
        },
    )
}

/// The TLS connector used when the connection string asks for TLS (`sslmode=require`, or
/// `prefer` against a server that offers it).
///
/// With a CA file, the server's certificate and host name are verified against it (and the
/// system's roots). Without one, the channel is encrypted but the certificate is not
/// verified: the meaning libpq gives `sslmode=require`.
pub fn tls_connector(ca_cert: Option<&Path>) -> Result<MakeTlsConnector, DbError> {
    let mut builder = native_tls::TlsConnector::builder();
    match ca_cert {
        Some(path) => {
            for cert in read_pem_certificates(path)? {
                builder.add_root_certificate(cert);
            }
        }
        None => {
            builder.danger_accept_invalid_certs(true);
            builder.danger_accept_invalid_hostnames(true);
        }
    }
    Ok(MakeTlsConnector::new(builder.build()?))
}

/// Every certificate of a PEM file (a bundle may hold several).
fn read_pem_certificates(path: &Path) -> Result<Vec<native_tls::Certificate>, DbError> {
    const END: &str = "-----END CERTIFICATE-----";
    let text = std::fs::read_to_string(path).map_err(|source| DbError::CaCertRead {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| DbError::CaCertInvalid {
        path: path.to_owned(),
        reason,
    };
    let mut certs = Vec::new();
    for block in text.split_inclusive(END).filter(|b| b.contains(END)) {
        let cert = native_tls::Certificate::from_pem(block.trim().as_bytes())
            .map_err(|e| invalid(e.to_string()))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(invalid("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// What the shim knows of the request identity a pooled connection holds at session level
/// (role `arxos_api`, the key's owner, key id and buildings, and the server's statement
/// timeout, the same for every request), set by a request of that key (see crate::tx) so that
/// the next request with the same identity needs no statement of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// None: the login role, as connected (or after a RESET that completed).
    Nothing,
    /// Exactly this key's identity, set by a transaction that committed and answered in full.
    Known(Grant),
    /// Possibly an identity: set from before a statement that could change it is sent until
    /// its outcome is known, and kept when it never is (an error after the commit, a request
    /// cancelled mid-way). Never reused; reset before any other use.
    Unknown,
}

/// A pooled connection and what it holds.
pub struct Session {
    client: ClientWrapper,
    held: Held,
}

impl Session {
    pub fn client(&self) -> &ClientWrapper {
        &self.client
    }

    /// Whether the connection certainly holds exactly this identity.
    pub fn holds(&self, identity: &Grant) -> bool {
        matches!(&self.held, Held::Known(held) if held == identity)
    }

    /// Call before sending a statement that may set an identity at session level.
    pub fn identity_in_doubt(&mut self) {
        self.held = Held::Unknown;
    }

    /// Records the identity a committed transaction set, once it answered in full.
    pub fn identity_set(&mut self, identity: Grant) {
        self.held = Held::Known(identity);
    }

    /// Back to the login role and no identity, unless the connection certainly holds none.
    /// Cancelled mid-way, the connection stays in doubt (and is reset again on its next use).
    pub async fn clear_identity(&mut self) -> Result<(), tokio_postgres::Error> {
        if self.held != Held::Nothing {
            self.held = Held::Unknown;
            self.client
                .batch_execute(
                    "RESET role; RESET arxos.actor; RESET arxos.key_id; RESET arxos.building_ids; \
                     RESET statement_timeout",
                )
                .await?;
            self.held = Held::Nothing;
        }
        Ok(())
    }
}

impl Deref for Session {
    type Target = ClientWrapper;
    fn deref(&self) -> &ClientWrapper {
        &self.client
    }
}

/// deadpool-postgres' manager, with each connection's session identity beside it.
pub struct SessionManager(Manager);

impl managed::Manager for SessionManager {
    type Type = Session;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<Session, tokio_postgres::Error> {
        Ok(Session {
            client: self.0.create().await?,
            held: Held::Nothing,
        })
    }

    async fn recycle(
        &self,
        session: &mut Session,
        metrics: &managed::Metrics,
    ) -> managed::RecycleResult<tokio_postgres::Error> {
        // RecyclingMethod::Fast (Pool::new) runs no SQL, so what the connection holds is
        // unchanged; a method that ran DISCARD ALL would have to forget it here.
        self.0.recycle(&mut session.client, metrics).await
    }

    fn detach(&self, session: &mut Session) {
        managed::Manager::detach(&self.0, &mut session.client)
    }
}

/// A connection checked out of [`Pool`].
pub type Conn = managed::Object<SessionManager>;

/// The server's connection pool. Connections are opened on demand, so building it succeeds
/// while the database is down; requests then fail fast with 503 until it is back.
///
/// A connection may come back from an API request still holding that request's identity at
/// session level (crate::tx). [`Pool::get`], for everything else, hands out connections in the
/// login role with no identity; only crate::tx takes them as they are.
///
/// Requests whose identity a connection holds may share it, pipelined ([`Lanes`]).
#[derive(Clone)]
pub struct Pool {
    pool: managed::Pool<SessionManager>,
    lanes: Arc<Lanes>,
    /// For cancel requests ([`Pool::abandon`]).
    tls: MakeTlsConnector,
}

impl Pool {
    pub fn new(config: Config, tls: MakeTlsConnector, max_size: usize) -> Result<Pool, DbError> {
        let manager = Manager::from_config(
            config,
            tls.clone(),
            ManagerConfig {
                // A connection whose socket closed (the database restarted) is dropped on checkout.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = managed::Pool::builder(SessionManager(manager))
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Pool {
            pool,
            lanes: Arc::new(Lanes::new(1)),
            tls,
        })
    }

    /// Lets up to `depth` requests of one identity share a connection (1: none do).
    pub fn with_pipeline_depth(mut self, depth: usize) -> Pool {
        self.lanes = Arc::new(Lanes::new(depth));
        self
    }

    /// The connections requests share now (crate::tx).
    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// Whether every connection the pool may have is open and handed out: a wait for one is
    /// then a wait for a request to finish, not for the database (crate::routes::health).
    pub fn all_busy(&self) -> bool {
        let status = self.pool.status();
        status.size >= status.max_size && status.available == 0
    }

    /// A connection in the login role, with no request identity.
    pub async fn get(&self) -> Result<Conn, PoolError> {
        let mut conn = self.pool.get().await?;
        if let Err(e) = conn.clear_identity().await {
            // Never hand it out, never give it back.
            drop(managed::Object::take(conn));
            return Err(PoolError::Backend(e));
        }
        Ok(conn)
    }

    /// A connection as the last request left it (crate::tx sets or checks the identity).
    pub(crate) async fn get_for_request(&self) -> Result<Conn, PoolError> {
        self.pool.get().await
    }

    /// Closes a connection whose request went away mid-statement (the client disconnected, the
    /// request timed out), and asks the server to cancel what it is running. Dropping the
    /// client alone would not stop it: tokio-postgres keeps the connection open until the
    /// pending answers arrive, so the statement would run on (holding its locks) until it
    /// ended or hit the statement timeout. The cancel request travels on a new connection,
    /// in the background; one that arrives after the statement ended does nothing.
    pub fn abandon(&self, conn: Conn) {
        let token = conn.client().cancel_token();
        let closed = conn.client().is_closed();
        drop(managed::Object::take(conn));
        if closed {
            return;
        }
        let tls = self.tls.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = token.cancel_query(tls).await {
                    tracing::debug!(error = %e, "cancel request of an abandoned statement failed");
                }
            });
        }
    }

    pub fn status(&self) -> managed::Status {
        self.pool.status()
    }

    pub fn close(&self) {
        self.pool.close()
    }
}

/// One connection, for the command-line tools. The connection task runs in the background
/// until the client is dropped.
///
/// The connect timeout (`connect_timeout`, else 5 s) bounds the whole start-up, not only the
/// socket's connect: a server that accepts the connection and never answers (stopped, say)
/// would otherwise hold a tool forever (found by a review of the shell).
pub async fn connect(args: &DatabaseArgs) -> Result<tokio_postgres::Client, DbError> {
    connect_with_notices(args, Arc::new(say_notice)).await
}

/// What a command-line tool does with the server's notices and warnings.
pub type NoticeSink = Arc<dyn Fn(&tokio_postgres::error::DbError) + Send + Sync>;

/// [`connect`], with the server's notices and warnings given to `notices`.
pub async fn connect_with_notices(
    args: &DatabaseArgs,
    notices: NoticeSink,
) -> Result<tokio_postgres::Client, DbError> {
    let config = pg_config(args.url()?)?;
    let tls = tls_connector(args.db_ca_cert.as_deref())?;
    let limit = startup_limit(&config);
    let server = describe(&config);
    let (client, connection) = tokio::time::timeout(limit, config.connect(tls))
        .await
        .map_err(|_| DbError::ConnectTimeout {
            server: server.clone(),
            limit,
        })?
        .map_err(|source| DbError::Connect { server, source })?;
    tokio::spawn(async move {
        let mut connection = connection;
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notice(notice))) => notices(&notice),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "database connection closed");
                    break;
                }
                None => break,
            }
        }
    });
    Ok(client)
}

/// A notice or warning of the server (`RAISE WARNING`, the extension's own) on stderr, as
/// psql shows them: `warning: …`, then its detail and hint (found by a review: the shell
/// dropped them unless `RUST_LOG=info` showed them as the client library's log lines).
pub fn say_notice(notice: &tokio_postgres::error::DbError) {
    let severity = notice.severity().to_lowercase();
    let mut text = format!("{severity}: {}", crate::table::printable(notice.message()));
    if let Some(detail) = notice.detail() {
        text.push_str(&format!("\ndetail: {}", crate::table::printable(detail)));
    }
    if let Some(hint) = notice.hint() {
        text.push_str(&format!("\nhint: {}", crate::table::printable(hint)));
    }
    crate::output::say_err(format_args!("{text}"));
}

/// How long a connection's whole start-up may take: the connect timeout (`connect_timeout`,
/// where 0 is the default too, not libpq's "no limit") times the hosts named. The limit is
/// the whole attempt's: a host that accepts the connection and then stalls uses it up, and
/// the hosts after it are not tried.
pub fn startup_limit(config: &Config) -> Duration {
    let each = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(CONNECT_TIMEOUT);
    // saturating: connect_timeout may be up to i64::MAX seconds (a panic on overflow; found
    // by a review)
    let hosts = u32::try_from(config.get_hosts().len().max(1)).unwrap_or(u32::MAX);
    each.saturating_mul(hosts)
}

/// Runs `work` (statements on `client`, a future not yet polled) in a transaction of its own
/// without a statement timeout: for the background work whose cost grows with the data
/// rather than with a request, and which nobody waits for (serve_config): the tick, the
/// readings' maintenance, the webhooks' fan-out, claims and outcomes. The transaction is
/// committed when `work` succeeds and rolled back when it fails.
pub async fn unlimited_transaction<T>(
    client: &ClientWrapper,
    work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, tokio_postgres::Error> {
    client
        .batch_execute("BEGIN; SET LOCAL statement_timeout = 0")
        .await?;
    match work.await {
        Ok(value) => {
            client.batch_execute("COMMIT").await?;
            Ok(value)
        }
        Err(error) => {
            // A ROLLBACK fails when the connection is gone (the pool discards a closed one);
            // one still inside its transaction fails its next BEGIN's statements here and is
            // rolled back then. Said in the log either way.
            if let Err(rollback) = client.batch_execute("ROLLBACK").await {
                tracing::warn!(error = %rollback, "ROLLBACK after a failed background transaction failed");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_connect_timeout_saturates() {
        let config = pg_config("postgres://a,b,c/db?connect_timeout=9223372036854775807")
            .expect("valid URL");
        assert_eq!(startup_limit(&config), Duration::MAX);
        let config = pg_config("postgres://a,b/db?connect_timeout=3").expect("valid URL");
        assert_eq!(startup_limit(&config), Duration::from_secs(6));
    }

    #[test]
    fn a_password_with_an_unencoded_at_is_refused_unquoted() {
        let err = pg_config("postgres://alice:p4ss@w0rd@db.example.com/arxos")
            .expect_err("an '@' in the host");
        let text = err.to_string();
        assert!(text.contains("is written %40"), "{text}");
        assert!(!text.contains("w0rd"), "{text}");
        assert!(pg_config("postgres://alice:p4ss%40w0rd@db.example.com/arxos").is_ok());
    }

    #[test]
    fn describe_leaves_out_the_password() {
        for url in [
            "postgres://alice:s3cret@db.example.com:5433/arxos?sslmode=require",
            "host=db.example.com port=5433 user=alice password=s3cret dbname=arxos",
        ] {
            let text = describe(&pg_config(url).expect("valid URL"));
            assert!(!text.contains("s3cret"), "{text}");
            assert!(text.contains("host=db.example.com"), "{text}");
            assert!(text.contains("user=alice"), "{text}");
            assert!(text.contains("dbname=arxos"), "{text}");
        }
        let text = describe(&pg_config("host=/tmp/s port=5432 dbname=arxos").expect("valid"));
        assert!(
            text.contains("user=(none given: this process's OS user)"),
            "{text}"
        );
    }

    #[test]
    fn invalid_url_error_does_not_echo_the_password() {
        let err = pg_config("postgres://alice:s3cret@host/db?bogus=1").expect_err("unknown option");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn urls_of_another_form_say_so() {
        for (url, says) in [
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("mysql://u:p@h/db", "not a PostgreSQL URL"),
            ("notaurl", "neither a URL nor key=value"),
        ] {
            let err = pg_config(url).expect_err(url).to_string();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("u:p"), "{err}");
        }
    }

    #[test]
    fn a_url_without_a_host_is_refused_at_once() {
        for url in ["postgres:///arxos", "dbname=arxos user=x"] {
            assert!(matches!(pg_config(url), Err(DbError::NoHost)), "{url}");
        }
        assert!(pg_config("host=/var/run/postgresql dbname=arxos").is_ok());
        assert!(pg_config("hostaddr=127.0.0.1 dbname=arxos").is_ok());
    }

    #[test]
    fn defaults_are_filled_in() {
        let config = pg_config("postgres://alice@host/db").expect("valid URL");
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(config.get_application_name(), Some("arxos"));
        let config = pg_config("postgres://alice@host/db?connect_timeout=2").expect("valid URL");
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(2)));
    }

    #[test]
    fn the_servers_own_writes_are_the_system_actors() {
        let config = serve_config("postgres://alice@host/db", Some(29_750)).expect("valid URL");
        assert!(config
            .get_options()
            .unwrap()
            .ends_with(" -c arxos.actor=system -c statement_timeout=29750"));
        let config =
            serve_config("host=h user=a options='-c arxos.actor=ops'", Some(750)).expect("valid");
        assert!(!config.get_options().unwrap().contains("=system"));
        // the query sessions keep their role's own statement timeout
        let config = serve_config("postgres://q@host/db", None).expect("valid URL");
        assert!(!config.get_options().unwrap().contains("statement_timeout"));
    }

    #[test]
    fn sessions_are_in_utc_without_jit_unless_the_options_say_otherwise() {
        let config = pg_config("postgres://alice@host/db").expect("valid URL");
        assert_eq!(
            config.get_options(),
            Some("-c TimeZone=UTC -c DateStyle=ISO -c jit=off -c client_connection_check_interval=1000 -c default_transaction_isolation=read\\ committed -c extra_float_digits=1 -c standard_conforming_strings=on")
        );
        let config =
            pg_config("host=h user=a options='-c work_mem=64MB'").expect("valid connection string");
        assert_eq!(
            config.get_options(),
            Some("-c work_mem=64MB -c TimeZone=UTC -c DateStyle=ISO -c jit=off -c client_connection_check_interval=1000 -c default_transaction_isolation=read\\ committed -c extra_float_digits=1 -c standard_conforming_strings=on")
        );
        let config = pg_config(
            "host=h user=a options='-c timezone=Europe/Paris -c jit=on -c client_connection_check_interval=0'",
        )
        .expect("valid connection string");
        assert_eq!(
            config.get_options(),
            Some("-c timezone=Europe/Paris -c jit=on -c client_connection_check_interval=0 -c DateStyle=ISO -c default_transaction_isolation=read\\ committed -c extra_float_digits=1 -c standard_conforming_strings=on")
        );
        let config = pg_config(
            "host=h user=a options='-cTimeZone=UTC --jit=on --client_connection_check_interval=5s'",
        )
        .expect("valid connection string");
        assert_eq!(
            config.get_options(),
            Some("-cTimeZone=UTC --jit=on --client_connection_check_interval=5s -c DateStyle=ISO -c default_transaction_isolation=read\\ committed -c extra_float_digits=1 -c standard_conforming_strings=on")
        );
        // A setting whose name only starts with another's is not that one.
        let config = pg_config("host=h user=a options='-c jit_above_cost=10'")
            .expect("valid connection string");
        assert_eq!(
            config.get_options(),
            Some("-c jit_above_cost=10 -c TimeZone=UTC -c DateStyle=ISO -c jit=off -c client_connection_check_interval=1000 -c default_transaction_isolation=read\\ committed -c extra_float_digits=1 -c standard_conforming_strings=on")
        );
    }

    #[test]
    fn keepalives_default_to_a_minute_unless_the_url_sets_them() {
        let config = pg_config("postgres://alice@host/db").expect("valid URL");
        assert!(config.get_keepalives());
        assert_eq!(config.get_keepalives_idle(), KEEPALIVE_IDLE);
        assert_eq!(config.get_keepalives_interval(), Some(KEEPALIVE_INTERVAL));
        assert_eq!(config.get_keepalives_retries(), Some(KEEPALIVE_RETRIES));
        assert_eq!(config.get_tcp_user_timeout(), Some(&TCP_USER_TIMEOUT));
        let config = pg_config(
            "host=h user=alice keepalives_idle=300 keepalives_interval=5 keepalives_retries=9 tcp_user_timeout=120",
        )
        .expect("valid URL");
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(300));
        assert_eq!(
            config.get_keepalives_interval(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(config.get_keepalives_retries(), Some(9));
        assert_eq!(
            config.get_tcp_user_timeout(),
            Some(&Duration::from_secs(120))
        );
    }

    #[test]
    fn ca_file_without_certificates_is_rejected() {
        let path = std::env::temp_dir().join(format!("arxos-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").expect("write temp file");
        let result = tls_connector(Some(&path));
        let _ = std::fs::remove_file(&path);
        assert!(matches!(result, Err(DbError::CaCertInvalid { .. })));
    }
}
