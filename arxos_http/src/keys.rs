//! `arxos keys`: create, list and revoke API keys through the extension's functions.

use clap::{Args, Subcommand};
use tokio_postgres::types::ToSql;

use crate::config::DatabaseArgs;
use crate::db::{self, DbError};
use crate::table::{printable, render_table};

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it. The key is shown this once: only its hash is stored.
    Create(CreateArgs),
    /// List keys (never the keys themselves: their prefixes).
    List(ListArgs),
    /// Revoke a key by id.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// A name for the key, e.g. what uses it.
    #[arg(long)]
    pub name: String,
    /// A scope (read, write, admin); repeat for several. Default: read.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Limit the key to a building (by key, e.g. b42); repeat for several. Default: all.
    #[arg(long = "building")]
    pub buildings: Vec<String>,
    /// Who the key belongs to. Default: the name.
    #[arg(long)]
    pub owner: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The key's id (a UUID, as `arxos keys list` shows it).
    pub id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{}", describe_sql_error(.0))]
    // (not a `source`: the message already says what the database said, and the error
    // chain printed it twice, found by an audit)
    Sql(tokio_postgres::Error),
    #[error("no active key with id {0} (unknown, or already revoked)")]
    NoSuchKey(String),
    #[error("the key could not be written to stdout ({0}), so it was not created")]
    NotShown(std::io::Error),
    #[error("the list could not be written to stdout ({0})")]
    NotListed(std::io::Error),
}

impl From<tokio_postgres::Error> for KeysError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Sql(err)
    }
}

/// A database error as an operator wants to read it: the message, then detail and hint.
pub(crate) fn describe_sql_error(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        // the extension's schema or tables missing: said as the shell says it (found by a
        // review: `schema "arxos" does not exist` from `keys list`; a table of a schema that
        // is not there is `relation "arxos.x" does not exist` too, as is one an older
        // extension lacks)
        Some(db) if db.message().contains("\"arxos") => {
            use tokio_postgres::error::SqlState;
            let advice = match *db.code() {
                SqlState::INVALID_SCHEMA_NAME => "no arxos extension: CREATE EXTENSION arxos CASCADE",
                SqlState::UNDEFINED_TABLE => "no arxos extension, or one made by an older build: CREATE EXTENSION arxos CASCADE, or dump it and restore it into a database made with this build (docs/operations.md, \"Upgrades\")",
                _ => return describe_db_error(db),
            };
            format!(
                "this database has {advice} (the database said: {})",
                db.message()
            )
        }
        Some(db) => describe_db_error(db),
        None => format!("database error: {err}"),
    }
}

/// A database error's message, then its detail and hint.
fn describe_db_error(db: &tokio_postgres::error::DbError) -> String {
    let mut text = db.message().to_owned();
    if let Some(detail) = db.detail() {
        text.push_str(&format!("\n  detail: {detail}"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("\n  hint: {hint}"));
    }
    text
}

pub async fn run(args: KeysArgs) -> Result<(), KeysError> {
    match args.command {
        KeysCommand::Create(args) => create(args).await,
        KeysCommand::List(args) => list(args).await,
        KeysCommand::Revoke(args) => revoke(args).await,
    }
}

async fn create(args: CreateArgs) -> Result<(), KeysError> {
    let client = db::connect(&args.database).await?;
    // Named arguments, and only those given, so the function's own defaults apply.
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&args.name];
    let mut call = vec!["name => $1".to_owned()];
    if !args.scopes.is_empty() {
        params.push(&args.scopes);
        call.push(format!("scopes => ${}", params.len()));
    }
    if !args.buildings.is_empty() {
        params.push(&args.buildings);
        call.push(format!("buildings => ${}", params.len()));
    }
    if let Some(owner) = &args.owner {
        params.push(owner);
        call.push(format!("owner => ${}", params.len()));
    }
    let sql = format!(
        "select id::text, key, prefix from arxos.create_api_key({})",
        call.join(", ")
    );
    // Committed only once the key is written out: stdout is its only copy, and a key nobody
    // has must not exist (found by a review: a full disk or a closed stdout left one behind).
    client.batch_execute("BEGIN").await?;
    let row = client.query_one(&sql, &params).await?;
    let id: String = row.try_get(0)?;
    let key: String = row.try_get(1)?;
    let prefix: String = row.try_get(2)?;
    if let Err(e) =
        crate::output::write_out(&format!("id:     {id}\nprefix: {prefix}\nkey:    {key}\n"))
    {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(KeysError::NotShown(e));
    }
    client.batch_execute("COMMIT").await?;
    crate::output::say_err(format_args!(
        "Store the key now: it is not shown again and cannot be recovered."
    ));
    Ok(())
}

async fn list(args: ListArgs) -> Result<(), KeysError> {
    let client = db::connect(&args.database).await?;
    let rows = client
        .query(
            "select id::text, name, owner, prefix,
                    array_to_string(scopes, ','),
                    coalesce(array_to_string(buildings, ','), 'all'),
                    to_char(created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                    to_char(last_used_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                    to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS')
               from arxos.list_api_keys()",
            &[],
        )
        .await?;
    let mut table = vec![[
        "ID",
        "NAME",
        "OWNER",
        "PREFIX",
        "SCOPES",
        "BUILDINGS",
        "CREATED (UTC)",
        "LAST USED",
        "REVOKED",
    ]
    .map(str::to_owned)];
    for row in &rows {
        let mut cells: [String; 9] = Default::default();
        for (i, cell) in cells.iter_mut().enumerate() {
            let value: Option<String> = row.try_get(i)?;
            *cell = value.map_or_else(|| "-".to_owned(), |v| printable(&v));
        }
        table.push(cells);
    }
    // An error, not print!'s panic (exit 101), when stdout is closed or full.
    crate::output::write_out(&render_table(&table)).map_err(KeysError::NotListed)
}

async fn revoke(args: RevokeArgs) -> Result<(), KeysError> {
    let client = db::connect(&args.database).await?;
    let row = client
        .query_one("select arxos.revoke_api_key($1::text::uuid)", &[&args.id])
        .await?;
    match row.try_get::<_, Option<bool>>(0)? {
        Some(true) => {
            crate::output::say(format_args!("revoked {}", args.id));
            Ok(())
        }
        _ => Err(KeysError::NoSuchKey(args.id)),
    }
}
