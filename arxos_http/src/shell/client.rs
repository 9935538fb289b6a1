//! The shell's database connection: one tokio-postgres client driven from the shell's
//! (blocking) thread, reopened when it was lost. Interactive sessions cancel the running
//! statement on Ctrl-C instead of dying, and abandon the rest of the line: a command that
//! runs several statements runs no further one once Ctrl-C was pressed, even between them.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{pin_mut, FutureExt, TryStreamExt};
use tokio::runtime::Handle;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::{sleep, timeout};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, SimpleColumn, SimpleQueryMessage};

use crate::config::DatabaseArgs;
use crate::db::{self, DbError};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Why a statement gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Sql(#[from] tokio_postgres::Error),
    /// Ctrl-C was pressed during this line before the statement started; it was not sent.
    #[error("interrupted (Ctrl-C)")]
    Interrupted,
    /// Ctrl-C twice while a statement got no answer: the connection was given up.
    #[error(
        "interrupted (Ctrl-C twice): the connection was given up; the next command opens a new one"
    )]
    Abandoned,
    /// The connection could not be (re)opened.
    #[error(transparent)]
    Connect(#[from] DbError),
}

/// How long Tab completion waits for the database. The line editor has the terminal in raw
/// mode then, so Ctrl-C is a key, not a signal: a connection that hangs must not hang it.
const COMPLETION_WAIT: Duration = Duration::from_secs(2);
/// How long a cancel request may take (it opens a connection of its own).
const CANCEL_WAIT: Duration = Duration::from_secs(3);
/// After a Ctrl-C, how long the statement may go on before the shell says how to give up.
const CANCEL_NOTICE: Duration = Duration::from_secs(1);

/// The rows of a `sql` statement, as PostgreSQL's text forms.
#[derive(Debug, Default)]
pub struct TextRows {
    /// Column names; `None` when the statement returns no rows at all (e.g. SET).
    pub columns: Option<Vec<String>>,
    /// Cells, `None` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// More rows followed the ones kept.
    pub truncated: bool,
}

pub struct Db {
    runtime: Handle,
    database: DatabaseArgs,
    /// Written to `arxos.actor` for the whole session.
    actor: Option<String>,
    client: RefCell<Rc<tokio_postgres::Client>>,
    /// The connection was given up (Ctrl-C twice while a statement got no answer): the next
    /// command opens a new one.
    abandoned: Cell<bool>,
    /// SIGINT, once [`Db::cancel_on_interrupt`] was called: what wakes a statement's wait.
    interrupts: RefCell<Option<Signal>>,
    /// Set by the SIGINT handler itself, as the key is pressed; cleared as a line begins.
    /// Whether Ctrl-C was pressed is read here: the runtime hands `interrupts` a signal only
    /// once one of its threads gets to it, and a long output, written in blocks that each
    /// ask, could be written to its end before then (a shell test failed that way in CI). A
    /// wake of `interrupts` with this flag clear is a press of a line already ended.
    pressed: Arc<AtomicBool>,
    /// Ctrl-C was pressed since the line began ([`Db::begin_line`]).
    interrupted: Cell<bool>,
    /// A statement or a reconnect is waiting for the database (and Ctrl-C is its to handle):
    /// what a script's watcher of Ctrl-C reads ([`Db::stop_scripts_on_interrupt`]).
    busy: Arc<AtomicBool>,
}

/// Sets a flag for as long as it lives.
struct Busy<'a>(&'a AtomicBool);

impl<'a> Busy<'a> {
    fn new(flag: &'a AtomicBool) -> Busy<'a> {
        flag.store(true, Ordering::SeqCst);
        Busy(flag)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Db {
    /// Connects; must be called outside the runtime's own threads (the shell runs on a
    /// blocking thread).
    pub fn connect(
        runtime: Handle,
        database: DatabaseArgs,
        actor: Option<String>,
    ) -> Result<Db, DbError> {
        let busy = Arc::new(AtomicBool::new(false));
        let client = runtime.block_on(open(&database, actor.as_deref(), &busy))?;
        Ok(Db {
            runtime,
            database,
            actor,
            client: RefCell::new(Rc::new(client)),
            abandoned: Cell::new(false),
            interrupts: RefCell::new(None),
            pressed: Arc::new(AtomicBool::new(false)),
            interrupted: Cell::new(false),
            busy,
        })
    }

    /// For scripts (`-c`, piped input): a Ctrl-C while no statement runs (the shell reading
    /// its input, printing, between commands) ends the process at once with status 130, as
    /// the default action of SIGINT would; one while a statement runs cancels it
    /// ([`Db::cancel_on_interrupt`]) and the script stops after it. (Found by a review: with
    /// the signal handled, a script waiting for its input ignored Ctrl-C.)
    pub fn stop_scripts_on_interrupt(&self) -> std::io::Result<()> {
        let _context = self.runtime.enter();
        let mut interrupts = signal(SignalKind::interrupt())?;
        let busy = Arc::clone(&self.busy);
        self.runtime.spawn(async move {
            while interrupts.recv().await.is_some() {
                if !busy.load(Ordering::SeqCst) {
                    super::to_stderr(format_args!(
                        "error: interrupted (Ctrl-C): the script stops here"
                    ));
                    std::process::exit(super::EXIT_INTERRUPTED.into());
                }
            }
        });
        Ok(())
    }

    /// From now on SIGINT (Ctrl-C) cancels the running statement, which then fails with
    /// PostgreSQL's "canceling statement due to user request", and no longer ends the process.
    pub fn cancel_on_interrupt(&mut self) -> std::io::Result<()> {
        // The flag first: a signal's handlers run in the order they were registered, so the
        // flag is set before the runtime's handler wakes anybody (registered the other way, a
        // wake could find the flag not set yet, and the press was lost; found by a review).
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&self.pressed))?;
        let _context = self.runtime.enter();
        *self.interrupts.get_mut() = Some(signal(SignalKind::interrupt())?);
        Ok(())
    }

    /// The next wake of `interrupts` that is a Ctrl-C of this line.
    async fn next_press(&self, interrupts: &mut Signal) {
        loop {
            if interrupts.recv().await.is_none() {
                // (the runtime is shutting down: no signal comes any more)
                std::future::pending::<()>().await;
            }
            if self.pressed.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    /// The current connection's client (shared: a statement in flight keeps it while a
    /// reconnect replaces it).
    fn client(&self) -> Rc<tokio_postgres::Client> {
        Rc::clone(&self.client.borrow())
    }

    /// The connection was closed (the server restarted, say) or given up.
    fn needs_reopening(&self) -> bool {
        self.abandoned.get() || self.client.borrow().is_closed()
    }

    async fn reopen(&self) -> Result<(), DbError> {
        let client = open(&self.database, self.actor.as_deref(), &self.busy).await?;
        *self.client.borrow_mut() = Rc::new(client);
        self.abandoned.set(false);
        Ok(())
    }

    /// Opens a new connection when the current one was closed or given up. Ctrl-C stops
    /// the attempt (an unreachable host takes the connect timeout otherwise).
    pub fn reconnect_if_closed(&self) -> Result<(), QueryError> {
        if !self.needs_reopening() {
            return Ok(());
        }
        let _busy = Busy::new(&self.busy);
        let mut interrupts = self.interrupts.borrow_mut();
        let Some(interrupts) = interrupts.as_mut() else {
            return Ok(self.runtime.block_on(self.reopen())?);
        };
        self.runtime.block_on(async {
            tokio::select! {
                opened = self.reopen() => Ok(opened?),
                () = self.next_press(interrupts) => {
                    self.interrupted.set(true);
                    Err(QueryError::Interrupted)
                }
            }
        })
    }

    /// One query for Tab completion: reopens a lost connection first, and gives up (no
    /// rows) after [`COMPLETION_WAIT`] or on any error.
    pub fn query_briefly(&self, sql: &str, params: Params<'_>) -> Option<Vec<Row>> {
        self.runtime.block_on(async {
            let answer = timeout(COMPLETION_WAIT, async {
                if self.needs_reopening() {
                    self.reopen().await.ok()?;
                }
                self.client().query(sql, params).await.ok()
            });
            answer.await.ok().flatten()
        })
    }

    /// Starts a line of commands: a Ctrl-C pressed before now is forgotten. Called before
    /// and after each line, so that the line editor's completions never see an old one.
    pub fn begin_line(&self) {
        self.interrupted.set(false);
        self.pressed.store(false, Ordering::SeqCst);
        if let Some(interrupts) = self.interrupts.borrow_mut().as_mut() {
            self.runtime
                .block_on(async { while let Some(Some(())) = interrupts.recv().now_or_never() {} });
        }
    }

    /// Ctrl-C was pressed since the line began (while a statement ran, or since).
    pub fn interrupted(&self) -> bool {
        if self.pressed.load(Ordering::SeqCst) {
            self.interrupted.set(true);
        }
        self.interrupted.get()
    }

    fn run<F, T>(&self, future: F) -> Result<T, QueryError>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let _busy = Busy::new(&self.busy);
        let mut interrupts = self.interrupts.borrow_mut();
        let Some(interrupts) = interrupts.as_mut() else {
            return Ok(self.runtime.block_on(future)?);
        };
        self.runtime.block_on(async {
            // A Ctrl-C pressed since the line began, between two statements, ends the line.
            if self.interrupted() {
                return Err(QueryError::Interrupted);
            }
            pin_mut!(future);
            tokio::select! {
                output = &mut future => return Ok(output?),
                () = self.next_press(interrupts) => self.interrupted.set(true),
            }
            // Ctrl-C: ask the server to cancel, and wait for the statement to end. A second
            // Ctrl-C gives the connection up (a link that hangs would never answer).
            let cancel = self.cancel();
            pin_mut!(cancel);
            let mut cancelled = false;
            let notice = sleep(CANCEL_NOTICE);
            pin_mut!(notice);
            let mut noticed = false;
            loop {
                tokio::select! {
                    output = &mut future => return Ok(output?),
                    () = &mut cancel, if !cancelled => cancelled = true,
                    () = &mut notice, if !noticed => {
                        noticed = true;
                        super::to_stderr(format_args!(
                            "cancelling: no answer from the database yet; Ctrl-C again gives the connection up"
                        ));
                    }
                    () = self.next_press(interrupts) => {
                        self.abandoned.set(true);
                        return Err(QueryError::Abandoned);
                    }
                }
            }
        })
    }

    /// Asks the server to cancel the statement this connection is running (on a connection
    /// of its own, given up after [`CANCEL_WAIT`]).
    async fn cancel(&self) {
        let token = self.client.borrow().cancel_token();
        let result = match db::tls_connector(self.database.db_ca_cert.as_deref()) {
            Ok(tls) => match timeout(CANCEL_WAIT, token.cancel_query(tls)).await {
                Ok(sent) => sent.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {CANCEL_WAIT:?}")),
            },
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot cancel the statement");
        }
    }

    pub fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, QueryError> {
        self.run(self.client().query(sql, params))
    }

    pub fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, QueryError> {
        self.run(self.client().query_one(sql, params))
    }

    /// Runs one statement in a read-only transaction with a statement timeout of 10 s (or the
    /// session's own when that is lower: a limit a DBA set on the role is not loosened; found
    /// by a review) and rolls it back, keeping at most `max_rows` rows. Several statements are refused: PostgreSQL
    /// prepares the text first, which only a single statement passes, so a `COMMIT` in the
    /// text can never end the read-only transaction and let a later statement write.
    pub fn read_only_text_query(&self, sql: &str, max_rows: usize) -> Result<TextRows, QueryError> {
        let client = self.client();
        self.run(async {
            client
                .batch_execute(
                    "BEGIN READ ONLY;
                     SELECT set_config('statement_timeout', '10s', true) FROM pg_settings s
                      WHERE s.name = 'statement_timeout' AND s.setting::int8 NOT BETWEEN 1 AND 9999",
                )
                .await?;
            let result = text_query(&client, sql, max_rows).await;
            let rollback = client.batch_execute("ROLLBACK").await;
            let rows = result?;
            rollback?;
            Ok(rows)
        })
    }
}

async fn text_query(
    client: &tokio_postgres::Client,
    sql: &str,
    max_rows: usize,
) -> Result<TextRows, tokio_postgres::Error> {
    drop(client.prepare(sql).await?);
    // A query is read through a cursor, so that the server computes only the rows shown
    // (a result of millions is not sent whole, or until the timeout, to be thrown away).
    // What a cursor cannot hold (SHOW, EXPLAIN) is refused as a syntax error there and
    // runs as it is: its answers are small.
    client.batch_execute("SAVEPOINT arxos_sql").await?;
    let declared = client
        .batch_execute(&format!("DECLARE arxos_sql NO SCROLL CURSOR FOR {sql}"))
        .await;
    let text = match declared {
        Ok(()) => format!("FETCH {} FROM arxos_sql", max_rows + 1),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::SYNTAX_ERROR) => {
            client
                .batch_execute("ROLLBACK TO SAVEPOINT arxos_sql")
                .await?;
            sql.to_owned()
        }
        Err(e) => return Err(e),
    };
    let stream = client.simple_query_raw(&text).await?;
    pin_mut!(stream);
    let mut out = TextRows::default();
    let names = |columns: &[SimpleColumn]| columns.iter().map(|c| c.name().to_owned()).collect();
    while let Some(message) = stream.try_next().await? {
        match message {
            SimpleQueryMessage::RowDescription(columns) => out.columns = Some(names(&columns)),
            SimpleQueryMessage::Row(row) => {
                if out.rows.len() == max_rows {
                    // Stop reading; the connection discards the rest of the answer.
                    out.truncated = true;
                    break;
                }
                if out.columns.is_none() {
                    out.columns = Some(names(row.columns()));
                }
                out.rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                );
            }
            // CommandComplete, and any message kinds added later.
            _ => {}
        }
    }
    Ok(out)
}

/// `busy`: the server's notices and warnings are shown while a statement runs (what it
/// raised), and left out while the shell waits for a command (a server's shutdown warning
/// would be written over the prompt; the next command says the connection was lost).
async fn open(
    database: &DatabaseArgs,
    actor: Option<&str>,
    busy: &Arc<AtomicBool>,
) -> Result<tokio_postgres::Client, DbError> {
    let busy = Arc::clone(busy);
    let notices: db::NoticeSink = Arc::new(move |notice| {
        if busy.load(Ordering::SeqCst) {
            db::say_notice(notice);
        } else {
            tracing::debug!(
                message = notice.message(),
                "a notice of the server between commands"
            );
        }
    });
    // The actor is part of the start-up: one limit for the connect and it.
    let config = db::pg_config(database.url()?)?;
    let limit = db::startup_limit(&config);
    let server = db::describe(&config);
    let opened = async {
        let client = db::connect_with_notices(database, notices).await?;
        if let Some(actor) = actor {
            client
                .execute("SELECT set_config('arxos.actor', $1, false)", &[&actor])
                .await
                .map_err(|source| DbError::Connect {
                    server: server.clone(),
                    source,
                })?;
        }
        Ok(client)
    };
    timeout(limit, opened)
        .await
        .map_err(|_| DbError::ConnectTimeout {
            server: server.clone(),
            limit,
        })?
}
