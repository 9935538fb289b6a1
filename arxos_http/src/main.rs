//! The `arxos` binary: `arxos serve` runs the HTTP shim over the arxos extension; `arxos keys`
//! manages API keys; `arxos shell` explores a building from a terminal.

mod auth;
mod body_fields;
mod body_watch;
mod config;
mod db;
mod error;
mod grants;
mod import;
mod json_body;
mod keys;
mod lanes;
mod listen;
mod metrics;
mod openapi;
mod operations;
mod output;
mod protocol;
mod rate_limit;
mod realtime;
mod routes;
mod server;
mod shell;
mod state;
mod table;
mod text_param;
mod tx;
mod webhooks;
mod write_timeout;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Parser)]
#[command(
    name = "arxos",
    version,
    about = "ArxOS: a building as a queryable database"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, env = "ARXOS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text,
          global = true, ignore_case = true)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(config::ServeConfig),
    /// Create, list and revoke API keys.
    Keys(keys::KeysArgs),
    /// Explore a building from the terminal, like a filesystem.
    Shell(shell::ShellArgs),
    /// Import a Brick (Turtle) or Haystack (JSON or Zinc) model into a building.
    Import(import::cli::ImportArgs),
    /// Export a building as a Brick model (Turtle).
    Export(import::cli::ExportArgs),
}

/// A command's error on stderr, through the terminal's filter (`table::printable`): it may
/// quote a model file or a database's message, whose escape sequences would otherwise reach
/// the terminal (found by a review: an import's parse error cleared the screen).
fn say_failure(e: &dyn std::error::Error) {
    output::say_err(format_args!(
        "error: {}",
        table::printable(&error::chain(e))
    ));
}

/// Logs go to stderr; the level comes from RUST_LOG (default `default_level`), and
/// [`keeps_secrets_out`] has the last word.
fn init_logging(format: LogFormat, default_level: &str) {
    // RUST_LOG unset or empty (as systemd and compose files often leave it; EnvFilter would
    // read it as "log nothing"): the default level. Set but not a filter: the default level
    // too, and a warning once the log is up (the operator asked for something else).
    let asked = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (filter, refused) = match asked.map(|v| (EnvFilter::try_new(&v), v)) {
        None => (EnvFilter::new(default_level), None),
        Some((Ok(filter), _)) => (filter, None),
        Some((Err(error), value)) => (
            EnvFilter::new(default_level),
            Some((value, error.to_string())),
        ),
    };
    let filter = filter.and(filter_fn(keeps_secrets_out));
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.json().with_filter(filter))
            .init(),
        LogFormat::Text => tracing_subscriber::registry()
            .with(
                layer
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_filter(filter),
            )
            .init(),
    }
    if let Some((value, error)) = refused {
        tracing::warn!(rust_log = %value, %error, level = default_level, "RUST_LOG is not a log filter: logging at the default level");
    }
}

/// tokio-postgres logs every statement with its parameters at DEBUG, and statement parameters
/// carry API keys (`arxos.authorize($1, …)`) and webhook secrets: its events below INFO never
/// reach the log, whatever RUST_LOG says (docs/security.md). Nor do axum's extractor
/// rejections (TRACE), which quote the request body they could not read (docs/operations.md:
/// bodies are never logged; found by an audit): the client gets the message in its answer.
fn keeps_secrets_out(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    !((target.starts_with("tokio_postgres") && *meta.level() > tracing::Level::INFO)
        || target.starts_with("axum::rejection"))
}

/// A panic is a bug (bad input is refused, never panicked on): it is logged as one error event
/// in the log's format, with where it happened and its message, from which anything shaped
/// like a secret (an API key, a webhook secret) is cut, since a message may quote its input.
/// The request that met it is answered 500 (`server::router`).
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info.location().map(ToString::to_string).unwrap_or_default();
        tracing::error!(%location, message = %error::without_secrets(&message), "panic");
    }));
}

// glibc's malloc was a fifth of the shim's CPU time under load (docs/benchmarks.md, section 6).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            say_failure(&e);
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve(config) => {
            init_logging(cli.log_format, "info");
            log_panics();
            let Err(e) = runtime.block_on(server::run(config)) else {
                return ExitCode::SUCCESS;
            };
            if tracing::enabled!(tracing::Level::ERROR) {
                tracing::error!("{}", error::chain(&e));
            } else {
                // A RUST_LOG that leaves this server's own errors out (`off`, or a filter
                // naming other targets only) would leave the reason it stopped nowhere.
                say_failure(&e);
            }
            ExitCode::FAILURE
        }
        Command::Keys(args) => {
            init_logging(cli.log_format, "warn");
            finish(runtime.block_on(keys::run(args)))
        }
        Command::Import(args) => {
            init_logging(cli.log_format, "warn");
            finish(runtime.block_on(import::cli::import(args)))
        }
        Command::Export(args) => {
            init_logging(cli.log_format, "warn");
            finish(runtime.block_on(import::cli::export(args)))
        }
        // On this, the process's main thread, not the runtime's (shell::run says why).
        Command::Shell(args) => {
            init_logging(cli.log_format, "warn");
            shell::run(args, runtime.handle().clone())
        }
    }
}

/// A command's exit status, its error said first.
fn finish<E: std::error::Error>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say_failure(&e);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
