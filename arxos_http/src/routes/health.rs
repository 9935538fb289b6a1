//! Health endpoints: `/api/health` (details), `/api/health/live` (the process answers) and
//! `/api/health/ready` (the database answers, has the extension and lets the server's role
//! serve requests).

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use tokio_postgres::Row;

use crate::error::chain;
use crate::state::AppState;

/// How long a health check waits for the database before calling it unreachable.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/health/live", get(live))
        .route("/api/health/ready", get(ready))
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    extension_version: Option<String>,
    database: Database,
    listener: Listener,
    uptime_seconds: u64,
}

/// The event listener: whether it has a session, for how many seconds that has been so, and
/// how many seconds ago it last read the outbox (null: never). Without reads, SSE streams and
/// webhooks get no new events (REST goes on).
#[derive(Debug, Serialize)]
struct Listener {
    connected: bool,
    for_seconds: u64,
    last_read_seconds_ago: Option<u64>,
}

/// How long the listener may go without reading the outbox (it reads at least every second
/// while its session works) before `/api/health` calls the server degraded: longer than its
/// start and its longest backoff between two attempts (5 s), so that a restart of PostgreSQL
/// or of the server does not flap it.
pub const LISTENER_GRACE: Duration = Duration::from_secs(15);

/// Whether a listener that has not read the outbox for `quiet` makes the server degraded.
fn listener_degraded(quiet: Duration) -> bool {
    quiet > LISTENER_GRACE
}

#[derive(Debug, Serialize)]
struct Database {
    reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    round_trip_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs `sql` (at most one row) on a pooled connection within [`CHECK_TIMEOUT`] all told.
/// Answers the row and the query's round trip, or a reason fit for an unauthenticated caller
/// (the details go to the log).
/// Why a probe failed, and whether the database was reached at all: a pool whose connections
/// are all open and busy has reached it (a lock, not an outage).
struct ProbeFailure {
    reachable: bool,
    reason: &'static str,
}

impl ProbeFailure {
    fn unreachable(reason: &'static str) -> Self {
        ProbeFailure {
            reachable: false,
            reason,
        }
    }
}

/// The extension version this server was built with (the workspace's version, which the
/// extension's control file carries too).
const EXPECTED_EXTENSION: &str = env!("CARGO_PKG_VERSION");

/// What is wrong with the installed extension for this server, if anything.
pub fn extension_problem(installed: Option<&str>) -> Option<String> {
    match installed {
        None => Some("the arxos extension is not installed".to_owned()),
        Some(v) if v != EXPECTED_EXTENSION => Some(format!(
            "the arxos extension is version {v}; this server needs {EXPECTED_EXTENSION} (ALTER EXTENSION arxos UPDATE, or a server of that version)"
        )),
        Some(_) => None,
    }
}

/// The probe of the database's setup for this server: the extension's version, the server's
/// role, whether that role may `SET ROLE arxos_api` (every request does) and call
/// `arxos.authorize` (every key check does). No row: no extension.
///
/// A role without USAGE on schema `arxos` cannot even look `authorize` up (`to_regprocedure`
/// raises there): it is asked first, so that a bare login role is told its grants are missing,
/// not that the database is unreachable (found by an audit).
pub const SETUP_SQL: &str = "select e.extversion::text, current_user::text,
        pg_catalog.pg_has_role(current_user, 'arxos_api', 'MEMBER'),
        case when pg_catalog.has_schema_privilege('arxos', 'USAGE')
             then coalesce(pg_catalog.has_function_privilege(
                      pg_catalog.to_regprocedure('arxos.authorize(text, text, text)'), 'EXECUTE'), false)
             else false end
   from pg_catalog.pg_extension e where e.extname = 'arxos'";

/// What [`SETUP_SQL`] found, and [`SchemaCheck`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Setup {
    pub extension_version: Option<String>,
    pub role: String,
    pub sets_api_role: bool,
    pub authorizes: bool,
    /// The database's schema made by another build of the extension than the one installed
    /// (`arxos.schema_problem()`).
    pub schema_problem: Option<String>,
}

/// How long [`SchemaCheck`]'s answer is kept: the schema and the installed build change only
/// when someone installs or restores, and the health routes answer anyone, as often as asked.
const SCHEMA_RECHECK: Duration = Duration::from_secs(60);

/// What the database says of its schema against the installed build, asked at most once a
/// [`SCHEMA_RECHECK`].
#[derive(Default)]
pub struct SchemaCheck(std::sync::Mutex<Option<(Instant, Option<String>)>>);

/// A schema from a build without `arxos.schema_problem()`: older than the check itself.
const SCHEMA_PREDATES: &str = "this database's arxos schema was made by an older build of the extension than the one installed (it has no arxos.schema_problem()): the library runs against tables and functions it was not built for. Dump the database and restore it into a new one made with this build (docs/operations.md, \"Upgrades\"), or install the build it was made with";

impl SchemaCheck {
    /// `arxos.schema_problem()`, asked on `client` unless asked less than
    /// [`SCHEMA_RECHECK`] ago; `None` also when it cannot be asked now: a failed call is kept
    /// (and warned about) for that minute too, a failure to reach the database is not.
    pub async fn problem(&self, client: &tokio_postgres::Client) -> Option<String> {
        if let Some((at, problem)) = &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            if at.elapsed() < SCHEMA_RECHECK {
                return problem.clone();
            }
        }
        // Whether the function is there, asked first: a call that fails for want of a
        // function inside it (an older library without `install_script_digest`) is another
        // mismatch, said in the database's words (found by a review: it was taken for a
        // schema without the check).
        let exists = client
            .query_one(
                "select pg_catalog.to_regprocedure('arxos.schema_problem()') is not null",
                &[],
            )
            .await;
        let problem = match exists {
            Ok(row) if !row.try_get::<_, bool>(0).ok()? => Some(SCHEMA_PREDATES.to_owned()),
            Ok(_) => match client.query_one("select arxos.schema_problem()", &[]).await {
                Ok(row) => row.try_get::<_, Option<String>>(0).ok()?,
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_FUNCTION) => {
                    Some(format!(
                        "arxos.schema_problem() failed ({}): the installed build of the extension is not the one this database's schema was made by; install that build, or dump the database and restore it into a new one made with this build (docs/operations.md, \"Upgrades\")",
                        e.as_db_error().map_or("a function is missing", |db| db.message())
                    ))
                }
                // Not answered (no right to run it, a lost connection): said once a minute
                // (the answer is kept like any other), readiness as if it had passed (found
                // by a review: a login role without the right passed silently, at debug).
                Err(e) => {
                    tracing::warn!(error = %chain(&e), "health check: arxos.schema_problem() could not run; the schema is not checked");
                    None
                }
            },
            Err(e) => {
                tracing::debug!(error = %chain(&e), "health check: the schema check failed");
                return None;
            }
        };
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), problem.clone()));
        problem
    }
}

impl Setup {
    /// From [`SETUP_SQL`]'s row, if any.
    pub fn from_row(row: Option<&Row>) -> Result<Setup, tokio_postgres::Error> {
        let Some(row) = row else {
            return Ok(Setup::default());
        };
        Ok(Setup {
            extension_version: row.try_get(0)?,
            role: row.try_get(1)?,
            sets_api_role: row.try_get(2)?,
            authorizes: row.try_get(3)?,
            schema_problem: None,
        })
    }

    /// The setup [`SETUP_SQL`] read (`row`) and, with the extension there, what `schema`
    /// says of its schema, asked on `client`.
    pub async fn read(
        row: Option<&Row>,
        schema: &SchemaCheck,
        client: &tokio_postgres::Client,
    ) -> Result<Setup, tokio_postgres::Error> {
        let mut setup = Setup::from_row(row)?;
        if setup.extension_version.is_some() {
            setup.schema_problem = schema.problem(client).await;
        }
        Ok(setup)
    }

    /// [`Setup::problem`] as a public endpoint says it: the extension's problem as it is, a
    /// role's in short, without the role's name or the grant (the endpoints answer anyone;
    /// found by a review), which go to the log.
    pub fn public_problem(&self) -> Option<String> {
        let problem = self.problem()?;
        if extension_problem(self.extension_version.as_deref()).is_some()
            || self.schema_problem.is_some()
        {
            return Some(problem);
        }
        // at most once a minute: the health routes answer anyone, as often as they ask
        if role_problem_log_due() {
            tracing::warn!(%problem, "health check: this server cannot serve requests");
        }
        Some("this server's database role lacks the grants it needs to serve requests (the server's log says which)".to_owned())
    }

    /// What keeps this server from serving requests, if anything: the extension (missing, or
    /// another version, or a schema made by another build of it), or a role that cannot act as `arxos_api` or check keys, with which
    /// every request would be refused (403) while the database looked fine (found by an
    /// audit: a revoked grant went unnoticed by health and readiness).
    pub fn problem(&self) -> Option<String> {
        if let Some(problem) = extension_problem(self.extension_version.as_deref()) {
            return Some(problem);
        }
        if let Some(problem) = &self.schema_problem {
            return Some(problem.clone());
        }
        let role = sql_identifier(&self.role);
        match (self.sets_api_role, self.authorizes) {
            (false, false) => Some(format!(
                "this server's database role {role} is not a member of arxos_api and may not execute arxos.authorize, so every request is refused: log in as arxos_authenticator, or GRANT arxos_authenticator TO {role} (docs/operations.md)"
            )),
            (false, true) => Some(format!(
                "this server's database role {role} is not a member of arxos_api, so every request is refused: GRANT arxos_api TO {role}, or log in as arxos_authenticator (docs/operations.md)"
            )),
            (true, false) => Some(format!(
                "this server's database role {role} may not execute arxos.authorize, so no key can be checked: log in as arxos_authenticator, or GRANT arxos_authenticator TO {role} (docs/operations.md)"
            )),
            (true, true) => None,
        }
    }
}

/// A role's name as a GRANT statement takes it: bare when lowercase letters, digits and `_`,
/// else double-quoted (the characters a terminal would act on shown as `?`).
fn sql_identifier(name: &str) -> String {
    let bare = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match bare {
        true => name.to_owned(),
        false => {
            let safe: String = name
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            format!("\"{}\"", safe.replace('"', "\"\""))
        }
    }
}

/// Whether a role's problem found by a health check is logged now: the first time, and then
/// at most once a minute (found by a review: one WARN per probe, which anyone may send).
fn role_problem_log_due() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    // Seconds since the first check, on the monotonic clock, plus one (0: never logged).
    static START: OnceLock<Instant> = OnceLock::new();
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_secs() + 1;
    let last = LAST.load(Ordering::Relaxed);
    (last == 0 || now >= last + 60)
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// [`SETUP_SQL`] and, with the extension there, [`SchemaCheck`]: the setup, and how long
/// the setup's query took.
async fn probe(state: &AppState) -> Result<(Setup, Duration), ProbeFailure> {
    let attempt = async {
        let client = state.pool.get().await.map_err(|e| {
            tracing::warn!(error = %chain(&e), "health check: no database connection");
            ProbeFailure::unreachable("cannot connect to the database")
        })?;
        let failed = |e: tokio_postgres::Error| {
            tracing::warn!(error = %chain(&e), "health check: query failed");
            ProbeFailure::unreachable("the database query failed")
        };
        // Prepared once per connection, so the timing below is one round trip.
        let statement = client.prepare_cached(SETUP_SQL).await.map_err(failed)?;
        let started = Instant::now();
        let row = client.query_opt(&statement, &[]).await.map_err(failed)?;
        let round_trip = started.elapsed();
        let setup = Setup::read(row.as_ref(), &state.schema, &client)
            .await
            .unwrap_or_default();
        Ok((setup, round_trip))
    };
    match tokio::time::timeout(CHECK_TIMEOUT, attempt).await {
        Ok(result) => result,
        // Every connection open and handed out (requests waiting on a lock, say): the
        // database may be fine, and is not called unreachable. (Connections being opened to
        // a database that does not answer do not count as handed out.)
        Err(_) if state.pool.all_busy() => {
            tracing::warn!(timeout = ?CHECK_TIMEOUT, "health check: no pooled connection came free");
            Err(ProbeFailure {
                reachable: true,
                reason: "every database connection of this server is in use (--pool-size)",
            })
        }
        Err(_) => {
            tracing::warn!(timeout = ?CHECK_TIMEOUT, "health check: database timed out");
            Err(ProbeFailure::unreachable(
                "the database did not answer in time",
            ))
        }
    }
}

/// `GET /api/health`: 200 with the versions, the database round trip and the event
/// listener's state when the database answers and has the extension and the listener read
/// the outbox less than [`LISTENER_GRACE`] ago; 503 with status "degraded" otherwise.
async fn health(State(state): State<AppState>) -> Response {
    let probe = probe(&state).await;
    let uptime_seconds = state.started.elapsed().as_secs();
    let (status, extension_version, database) = match probe {
        Ok((setup, round_trip)) => {
            let error = setup.public_problem();
            let version = setup.extension_version;
            let status = if error.is_none() { "ok" } else { "degraded" };
            let database = Database {
                reachable: true,
                round_trip_ms: Some(round_trip.as_secs_f64() * 1000.0),
                error,
            };
            (status, version, database)
        }
        Err(failure) => (
            "degraded",
            None,
            Database {
                reachable: failure.reachable,
                round_trip_ms: None,
                error: Some(failure.reason.to_owned()),
            },
        ),
    };
    let (connected, lasted) = state.hub.listener();
    let status = if listener_degraded(state.hub.listener_quiet_for()) {
        "degraded"
    } else {
        status
    };
    let body = Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        extension_version,
        database,
        listener: Listener {
            connected,
            for_seconds: lasted.as_secs(),
            last_read_seconds_ago: state.hub.listener_last_read().map(|d| d.as_secs()),
        },
        uptime_seconds,
    };
    if status == "ok" {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        unavailable(Json(body))
    }
}

/// `GET /api/health/live`: the process is up.
async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /api/health/ready`: 200 when the database answers within [`CHECK_TIMEOUT`], has the
/// extension and lets this server's role act for requests ([`Setup::problem`]: without them
/// every API call fails), else 503.
async fn ready(State(state): State<AppState>) -> Response {
    let problem = match probe(&state).await {
        Ok((setup, _)) => setup.public_problem(),
        Err(failure) => Some(failure.reason.to_owned()),
    };
    match problem {
        None => (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response(),
        Some(reason) => unavailable(Json(json!({ "status": "unavailable", "error": reason }))),
    }
}

/// A 503 with `Retry-After`, as every other 503 of the API carries.
fn unavailable(body: impl IntoResponse) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(crate::error::RETRY_AFTER_SECONDS),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_that_reads_nothing_degrades_the_server_after_the_grace() {
        assert!(!listener_degraded(Duration::from_secs(5)));
        assert!(listener_degraded(LISTENER_GRACE + Duration::from_secs(1)));
        let hub = crate::realtime::Hub::new();
        assert_eq!(hub.listener_last_read(), None);
        hub.listener_read();
        // (well within the grace however slowly the test runs)
        assert!(hub.listener_last_read().unwrap() < LISTENER_GRACE);
        assert!(!listener_degraded(hub.listener_quiet_for()));
        // a session set up and lost changes the session's state, not the last read
        hub.set_listener_connected(true);
        hub.set_listener_connected(false);
        assert!(!hub.listener().0);
        assert!(hub.listener_last_read().is_some());
    }

    #[test]
    fn the_role_must_act_as_arxos_api_and_check_keys() {
        let fine = Setup {
            extension_version: Some(EXPECTED_EXTENSION.to_owned()),
            role: "arxos_authenticator".to_owned(),
            sets_api_role: true,
            authorizes: true,
            schema_problem: None,
        };
        assert_eq!(fine.problem(), None);
        let not_member = Setup {
            sets_api_role: false,
            role: "app".to_owned(),
            ..fine
        };
        let problem = not_member.problem().unwrap();
        assert!(problem.contains("not a member of arxos_api"), "{problem}");
        assert!(problem.contains("GRANT arxos_api TO app"), "{problem}");
        let no_authorize = Setup {
            sets_api_role: true,
            authorizes: false,
            ..not_member
        };
        assert!(no_authorize.problem().unwrap().contains("arxos.authorize"));
        // a bare login role: both, and the one grant that gives both
        let bare = Setup {
            sets_api_role: false,
            authorizes: false,
            ..no_authorize
        };
        let problem = bare.problem().unwrap();
        assert!(
            problem.contains("GRANT arxos_authenticator TO app"),
            "{problem}"
        );
        assert_eq!(sql_identifier("App \"x\""), "\"App \"\"x\"\"\"");
        // the extension's own problem comes first, then its schema's, said in public as it is
        assert!(Setup::default()
            .problem()
            .unwrap()
            .contains("not installed"));
        let other_build = Setup {
            schema_problem: Some("made by another build".to_owned()),
            ..bare
        };
        assert_eq!(other_build.problem().unwrap(), "made by another build");
        assert_eq!(
            other_build.public_problem().unwrap(),
            "made by another build"
        );
    }

    #[test]
    fn the_extension_must_be_this_servers_version() {
        assert_eq!(extension_problem(Some(EXPECTED_EXTENSION)), None);
        assert!(extension_problem(None).unwrap().contains("not installed"));
        let other = extension_problem(Some("9.9.9")).unwrap();
        assert!(other.contains("version 9.9.9"), "{other}");
        assert!(other.contains(EXPECTED_EXTENSION), "{other}");
    }
}
