//! The transaction of one API request, PostgREST-style.
//!
//! On a pooled connection the shim sends, pipelined in one round trip:
//! `BEGIN`; one statement that checks the key with `arxos.authorize(key, scope, building)` and
//! sets the request's identity (`role` = `arxos_api`, `arxos.actor` = the key's owner,
//! `arxos.key_id`, `arxos.building_ids`, `statement_timeout`) for this transaction only; and the
//! route's own statement(s). Then `COMMIT`. If the key is refused, the transaction is aborted
//! before the route's statement runs: that statement fails with SQLSTATE 25P02 (not logged, see
//! `error.rs`) and the refusal (401 or 403) is the answer. Row-level security does the building
//! scoping.
//!
//! When the database accepted the same key, scope and building a moment ago (see
//! [`crate::grants`]), the identity statement only sets the identity it gave then, and a
//! one-statement route ([`run_rows`]) sets it at session level, where it stays on the pooled
//! connection (see [`crate::db::Session`]). The next request with that identity on that
//! connection sends its statement alone, as a client of the database itself would: one
//! statement, one round trip, no transaction block; and while it waits, other requests of the
//! same identity may send theirs down the same connection ([`crate::lanes`]). The identity is
//! checked in the same way as before (a remembered grant for exactly this key, scope and
//! building); only where it is set changes. Connections used for anything else are reset first ([`crate::db::Pool::get`]).

use std::future::Future;
use std::pin::Pin;

use crate::db::{Conn, Pool};
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use crate::auth::{ApiKey, Scope};
use crate::error::{ApiError, ErrorCode};
use crate::grants::{Grant, Grants};

/// Checks the key and sets the request's identity; answers the identity (one row).
const SETUP: &str = "SELECT a.owner, a.key_id::text,
       coalesce(array_to_string(a.building_ids, ','), ''),
       set_config('role', 'arxos_api', true),
       set_config('arxos.actor', a.owner, true),
       set_config('arxos.key_id', a.key_id::text, true),
       set_config('arxos.building_ids', coalesce(array_to_string(a.building_ids, ','), ''), true),
       set_config('statement_timeout', $4, true)
  FROM arxos.authorize($1, $2, $3) a";

/// Sets an identity the database gave the same key, scope and building before, for this
/// transaction.
const GRANTED: &str = "SELECT set_config('role', 'arxos_api', true),
       set_config('arxos.actor', $1, true),
       set_config('arxos.key_id', $2, true),
       set_config('arxos.building_ids', $3, true),
       set_config('statement_timeout', $4, true)";

/// Like [`GRANTED`], at session level: it outlives the transaction (if it commits) and stays on
/// the connection for the next request with the same identity.
const GRANTED_SESSION: &str = "SELECT set_config('role', 'arxos_api', false),
       set_config('arxos.actor', $1, false),
       set_config('arxos.key_id', $2, false),
       set_config('arxos.building_ids', $3, false),
       set_config('statement_timeout', $4, false)";

/// The pooled connections' client type, as the routes' work sees it.
pub type Client = deadpool_postgres::ClientWrapper;

/// The request's identity statement, prepared before the pipeline starts: a statement
/// prepared inside it would reach the server after the route's own.
struct Identity<'r, 'a> {
    statement: Statement,
    remembered: Option<Grant>,
    req: &'r Request<'a>,
    timeout: String,
}

impl<'r, 'a> Identity<'r, 'a> {
    /// `session`: set a remembered identity at session level ([`GRANTED_SESSION`]).
    async fn prepare(
        client: &Client,
        req: &'r Request<'a>,
        remembered: Option<Grant>,
        session: bool,
    ) -> Result<Identity<'r, 'a>, ApiError> {
        let sql = match (&remembered, session) {
            (None, _) => SETUP,
            (Some(_), false) => GRANTED,
            (Some(_), true) => GRANTED_SESSION,
        };
        Ok(Identity {
            statement: client.prepare_cached(sql).await?,
            remembered,
            req,
            timeout: req.statement_timeout_ms.to_string(),
        })
    }

    /// Runs the statement. Its request is sent when the future is first polled, so it keeps
    /// its place in the pipeline.
    async fn run(&self, client: &Client) -> Result<(), ApiError> {
        if let Some(g) = &self.remembered {
            let params: [&(dyn ToSql + Sync); 4] =
                [&g.owner, &g.key_id, &g.building_ids, &self.timeout];
            client.query(&self.statement, &params).await?;
            return Ok(());
        }
        let req = self.req;
        let scope = req.scope.as_str();
        let params: [&(dyn ToSql + Sync); 4] = [&req.key.0, &scope, &req.building, &self.timeout];
        let asked = req.grants.generation();
        let rows = client.query(&self.statement, &params).await?;
        // Cannot be empty (authorize raises instead), but never commit without a caller.
        let row = rows
            .first()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "invalid API key"))?;
        let grant = Grant {
            owner: row.try_get(0)?,
            key_id: row.try_get(1)?,
            building_ids: row.try_get(2)?,
        };
        req.grants
            .put(req.key, req.scope, req.building, grant, asked);
        Ok(())
    }
}

/// The work of a transaction.
pub type Work<'c, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'c>>;

/// A pooled connection that is thrown away instead of returned when the request did not finish
/// (the client went away, the timeout fired): it may still be inside a transaction.
/// Its statement in flight is cancelled ([`Pool::abandon`]).
pub struct Checkout {
    conn: Option<Conn>,
    finished: bool,
    pool: Pool,
}

impl Checkout {
    /// A connection in the login role with no request identity, or the pool's own error (a
    /// wait that timed out, or a connection that could not be made).
    pub async fn from(pool: &Pool) -> Result<Checkout, deadpool_postgres::PoolError> {
        Ok(Checkout {
            conn: Some(pool.get().await?),
            finished: false,
            pool: pool.clone(),
        })
    }

    /// A connection as the last request left it: the caller checks its identity.
    async fn for_request(pool: &Pool) -> Result<Checkout, ApiError> {
        Ok(Checkout {
            conn: Some(pool.get_for_request().await?),
            finished: false,
            pool: pool.clone(),
        })
    }

    fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connection present until drop")
    }

    pub fn client(&self) -> &Client {
        self.conn
            .as_ref()
            .expect("connection present until drop")
            .client()
    }

    /// The connection, out of any transaction, for the caller to keep or give back.
    fn into_conn(mut self) -> Conn {
        self.finished = true;
        self.conn.take().expect("connection present until drop")
    }

    /// The connection is out of any transaction again: it may go back to the pool.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Prepares the connection for a request whose grant is `remembered` (or not): answers
    /// whether the connection already holds that identity at session level. Without a
    /// remembered grant the key is checked by `arxos.authorize`, which the login role runs:
    /// an identity left on the connection is reset first.
    async fn ready(&mut self, remembered: Option<&Grant>) -> Result<bool, ApiError> {
        let conn = self.conn();
        match remembered {
            Some(wanted) => Ok(conn.holds(wanted)),
            None => {
                conn.clear_identity().await?;
                Ok(false)
            }
        }
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if !self.finished {
            if let Some(conn) = self.conn.take() {
                self.pool.abandon(conn);
            }
        }
    }
}

/// Who asks for what: the inputs of one request's transaction.
pub struct Request<'a> {
    pub pool: &'a Pool,
    pub grants: &'a Grants,
    pub key: &'a ApiKey,
    pub scope: Scope,
    /// The building the route names, checked by `arxos.authorize`.
    pub building: Option<&'a str>,
    pub statement_timeout_ms: u64,
}

impl Request<'_> {
    /// The remembered grant of this key, scope and building (never an admin one:
    /// [`Grants::get`]).
    fn remembered(&self) -> Option<Grant> {
        self.grants.get(self.key, self.scope, self.building)
    }
}

/// Runs `work` as the key's owner in one transaction, after the database accepted the key for
/// `scope` (and `building`, when the route names one). On a connection that already holds the
/// identity, the transaction has no identity statement.
pub async fn run<T, F>(req: Request<'_>, work: F) -> Result<T, ApiError>
where
    F: for<'c> FnOnce(&'c Client) -> Work<'c, T>,
{
    let mut checkout = Checkout::for_request(req.pool).await?;
    let remembered = req.remembered();
    let holds = checkout.ready(remembered.as_ref()).await?;
    let client = checkout.client();
    let mut open = false;
    let result = attempt(client, &req, remembered, holds, work, &mut open).await;
    // Whatever failed, end the transaction (unless the server already ended it by refusing
    // the COMMIT); a connection that cannot is thrown away.
    let clean = result.is_ok() || !open || client.batch_execute("ROLLBACK").await.is_ok();
    if clean {
        checkout.finish();
    }
    result
}

async fn attempt<T, F>(
    client: &Client,
    req: &Request<'_>,
    remembered: Option<Grant>,
    holds: bool,
    work: F,
    open: &mut bool,
) -> Result<T, ApiError>
where
    F: for<'c> FnOnce(&'c Client) -> Work<'c, T>,
{
    let begin = client.prepare_cached("BEGIN").await?;
    let identity = if holds {
        None
    } else {
        Some(Identity::prepare(client, req, remembered, false).await?)
    };
    // From here a transaction may be open (before, a failed prepare left none to roll back: a
    // ROLLBACK then only made the server warn "there is no transaction in progress", as on
    // every request while the extension was missing).
    *open = true;
    let (began, identified, outcome) = tokio::join!(
        client.execute(&begin, &[]),
        async {
            match &identity {
                Some(identity) => identity.run(client).await,
                None => Ok(()),
            }
        },
        work(client),
    );
    began?;
    identified?;
    let value = outcome?;
    let commit = client.prepare_cached("COMMIT").await?;
    let committed = client.execute(&commit, &[]).await;
    // A COMMIT the server answered with an error (a deferred trigger's) ended the transaction:
    // a ROLLBACK after it would only make the server warn "there is no transaction in progress".
    *open = matches!(&committed, Err(e) if e.as_db_error().is_none());
    committed?;
    Ok(value)
}

/// Like [`run`] for a route that is one statement answering JSON (its first column, one value
/// per row), in a single round trip:
///
/// - a connection holds the request's identity: the statement alone, on a connection that
///   other requests of the same identity may share meanwhile ([`crate::lanes`]);
/// - the key's grant is remembered: `BEGIN`, the identity at session level, the statement,
///   `COMMIT`; once committed the connection holds the identity;
/// - otherwise `BEGIN`, the key check with the identity for this transaction, the statement,
///   `COMMIT`.
///
/// (When the key is refused or a statement fails, the server turns that `COMMIT` into a
/// rollback, which also undoes a session-level identity.)
pub async fn run_rows(
    req: Request<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Value>, ApiError> {
    let remembered = req.remembered();
    if let Some(seat) = remembered.as_ref().and_then(|g| req.pool.lanes().join(g)) {
        return seat.rows(sql, params).await;
    }
    let mut checkout = Checkout::for_request(req.pool).await?;
    let holds = checkout.ready(remembered.as_ref()).await?;
    if let (true, Some(grant)) = (holds, &remembered) {
        // Autocommit, on a lane that requests of the same identity may join (crate::lanes).
        let seat = req.pool.lanes().open(grant.clone(), checkout.into_conn());
        return seat.rows(sql, params).await;
    }
    let session = remembered.is_some();
    if session {
        // From here until the whole answer is in, the connection may or may not hold the
        // identity: the commit can succeed and the answer still fail (its JSON, a parameter
        // that could not be encoded and was never sent).
        checkout.conn().identity_in_doubt();
    }
    let client = checkout.client();
    // Whether a transaction may be open when this fails: not once the pipeline's COMMIT got
    // an answer (a ROLLBACK after it would only make the server warn "there is no transaction
    // in progress"); otherwise the ROLLBACK also tells whether the connection still works.
    // Nor before BEGIN is sent: a statement that cannot be prepared (the extension missing)
    // leaves no transaction.
    let mut open = false;
    let result = async {
        let begin = client.prepare_cached("BEGIN").await?;
        let identity = Identity::prepare(client, &req, remembered.clone(), session).await?;
        let statement = client.prepare_cached(sql).await?;
        let commit = client.prepare_cached("COMMIT").await?;
        open = true;
        let (began, identified, rows, committed) = tokio::join!(
            client.execute(&begin, &[]),
            identity.run(client),
            client.query(&statement, params),
            client.execute(&commit, &[]),
        );
        open = matches!(&committed, Err(e) if e.as_db_error().is_none());
        began?;
        identified?;
        let rows = rows?;
        committed?;
        rows.iter()
            .map(first_json)
            .collect::<Result<Vec<Value>, ApiError>>()
    }
    .await;
    // The pipeline ended the transaction unless its COMMIT never got an answer.
    let clean = result.is_ok() || !open || client.batch_execute("ROLLBACK").await.is_ok();
    if clean {
        if let (Some(identity), Ok(_)) = (remembered, &result) {
            // Committed and answered in full: the connection holds the identity.
            checkout.conn().identity_set(identity);
        }
        checkout.finish();
    }
    result
}

/// The first column of every row, as JSON.
pub async fn json_rows(
    client: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Value>, ApiError> {
    let statement = client.prepare_cached(sql).await?;
    let rows = client.query(&statement, params).await?;
    rows.iter().map(first_json).collect()
}

/// The first column of the one row the statement returns, as JSON; no row is NOT_FOUND.
pub async fn json_one(
    client: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Value, ApiError> {
    json_rows(client, sql, params)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("not found"))
}

fn first_json(row: &Row) -> Result<Value, ApiError> {
    let value: Option<Value> = row.try_get(0).map_err(ApiError::internal)?;
    Ok(value.unwrap_or(Value::Null))
}
