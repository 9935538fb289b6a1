//! `arxos import` and `arxos export`.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use super::export::{to_turtle, ExportConnection, ExportObject};
use super::{plan, write, Format, ImportError};
use crate::config::DatabaseArgs;
use crate::db::{self, DbError};
use crate::output::{say, say_err};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The building to import into (its key, e.g. b42); created when it does not exist.
    #[arg(long)]
    pub building: String,
    /// The file's format; guessed from the content when not given (JSON and Zinc are Haystack).
    #[arg(long, value_enum, ignore_case = true)]
    pub format: Option<Format>,
    /// The name of the building when the import creates it (default: its key).
    #[arg(long)]
    pub name: Option<String>,
    /// Parse and report what would be written, without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// The file to import; `-` reads standard input.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The building to export (its key).
    #[arg(long)]
    pub building: String,
    /// The output format (only brick, as Turtle).
    #[arg(long, value_enum, ignore_case = true, default_value = "brick")]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Brick,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{}", crate::keys::describe_sql_error(.0))]
    // (not a `source`: the message already says what the database said, and the error
    // chain printed it twice, found by an audit)
    Sql(tokio_postgres::Error),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the output: {0}")]
    Write(#[source] std::io::Error),
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<tokio_postgres::Error> for CliError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Sql(err)
    }
}

/// How many skipped items the command lists (all are counted).
const SKIPPED_SHOWN: usize = 20;

pub async fn import(args: ImportArgs) -> Result<(), CliError> {
    let input = read_input(&args.file)?;
    let plan = plan(&input, args.format)?;
    if args.dry_run {
        say(format_args!(
            "would write {} objects and {} connections; {} skipped",
            plan.objects.len(),
            plan.connections.len(),
            plan.skipped.len()
        ));
        report_skipped(&plan.skipped);
        return Ok(());
    }
    let client = db::connect(&args.database).await?;
    client.batch_execute("BEGIN").await?;
    let exists = client
        .query_opt(
            "SELECT 1 FROM arxos.buildings WHERE key = $1",
            &[&args.building],
        )
        .await?
        .is_some();
    if !exists {
        let name = args.name.clone().unwrap_or_else(|| args.building.clone());
        client
            .execute(
                "SELECT arxos.create_building($1, $2)",
                &[&args.building, &name],
            )
            .await?;
    }
    let bar = progress_bar(write::total(&plan));
    let tick = {
        let bar = bar.clone();
        move |n: u64| bar.inc(n)
    };
    let summary = write::write(&client, &args.building, plan, &tick).await?;
    client.batch_execute("COMMIT").await?;
    bar.finish_and_clear();
    if !exists {
        // once committed: the building exists only then
        say_err(format_args!("created building {}", args.building));
    }
    say(format_args!("{}", summary.line()));
    report_skipped(&summary.skipped);
    Ok(())
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    let mut input = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut input).map(|_| ())
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut input))
            .map(|_| ())
    };
    result.map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(input)
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} objects and connections ({per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn report_skipped(skipped: &[super::model::Skipped]) {
    for s in skipped.iter().take(SKIPPED_SHOWN) {
        // (a record's id and a reason quoting the file: the terminal's filter, as the
        // shell's, so that a model file's escape sequences do not reach the terminal)
        say_err(format_args!(
            "skipped {}: {}",
            crate::table::printable(&s.what),
            crate::table::printable(&s.reason)
        ));
    }
    if skipped.len() > SKIPPED_SHOWN {
        say_err(format_args!(
            "… and {} more skipped",
            skipped.len() - SKIPPED_SHOWN
        ));
    }
}

pub async fn export(args: ExportArgs) -> Result<(), CliError> {
    let ExportFormat::Brick = args.format;
    let client = db::connect(&args.database).await?;
    // One snapshot for the key, the objects and the connections: a move committed between two
    // reads would name paths the file does not hold.
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    // The IRIs are made from the building's key, whichever way --building named it (found by
    // a review: an id gave `urn:arxos:<uuid>:…`, another file than the key's).
    let key: String = client
        .query_one(
            "SELECT b.key FROM arxos.buildings b WHERE b.id = arxos.building_id($1)",
            &[&args.building],
        )
        .await?
        .try_get(0)?;
    let rows = client
        .query(
            "SELECT o.path::text, o.type, o.properties FROM arxos.objects o
              WHERE o.building_id = arxos.building_id($1) ORDER BY o.path",
            &[&args.building],
        )
        .await?;
    let objects: Vec<ExportObject> = rows
        .iter()
        .map(|r| {
            Ok(ExportObject {
                path: r.try_get(0)?,
                kind: r.try_get(1)?,
                properties: as_map(r.try_get(2)?),
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    let rows = client
        .query(
            "SELECT f.path::text, t.path::text, c.kind, c.properties FROM arxos.connections c
               JOIN arxos.objects f ON f.id = c.from_id JOIN arxos.objects t ON t.id = c.to_id
              WHERE c.building_id = arxos.building_id($1) ORDER BY 1, 2, 3",
            &[&args.building],
        )
        .await?;
    let connections: Vec<ExportConnection> = rows
        .iter()
        .map(|r| {
            Ok(ExportConnection {
                from: r.try_get(0)?,
                to: r.try_get(1)?,
                kind: r.try_get(2)?,
                properties: as_map(r.try_get(3)?),
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    client.batch_execute("COMMIT").await?;
    let text = to_turtle(&key, &objects, &connections);
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|source| CliError::WriteFile {
            path: path.clone(),
            source,
        })?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(CliError::Write)?,
    }
    Ok(())
}

fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
