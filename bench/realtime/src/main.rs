//! `arxos_bench_realtime`: the real-time benchmark of issue 7, run by bench/realtime.sh.
//!
//! Against a fresh database with the extension, it starts the real `arxos serve` and measures
//! in one run: commit→notification latency of a raw LISTEN client, commit→event latency of
//! SSE clients, webhook deliveries per second, and write throughput with and without the
//! listener attached. It prints a summary and writes a markdown fragment.

mod clock;
mod cpu;
mod db;
mod error;
mod latency;
mod pace;
mod raw;
mod report;
mod run;
mod shim;
mod sse;
mod stats;
mod webhooks;
mod writes;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Real-time benchmark (issue 7): SSE latency vs raw LISTEN, webhook throughput, writes with
/// the listener attached.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A fresh database with `CREATE EXTENSION arxos` done, as a superuser.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The `arxos` binary to serve with (a release build).
    #[arg(long, env = "ARXOS_BIN")]
    pub arxos_bin: PathBuf,
    /// Where to write the markdown fragment.
    #[arg(long, default_value = "bench/results/realtime.md")]
    pub out: PathBuf,
    /// Where the shim's log goes (`arxos.log`).
    #[arg(long, default_value = ".")]
    pub work_dir: PathBuf,
    /// Writes per second in the latency phases.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,
    /// SSE clients.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub clients: u32,
    /// Measured seconds of each latency phase.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Warm-up seconds before each latency phase's measurement.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,
    /// Connections the paced writer spreads its writes over.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub pace_connections: u32,
    /// Events generated for the webhook phase.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    pub webhook_events: u64,
    /// Longest wait for the webhook deliveries, in seconds.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub webhook_timeout: u64,
    /// Concurrent writers in the throughput phase.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub write_clients: u32,
    /// Measured seconds of each throughput variant (split over the rounds).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub write_seconds: u64,
    /// Rounds of (with listener, without, plain INSERT), interleaved so that changes in the
    /// machine's load hit every variant alike.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub write_rounds: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    match run::run(&cli).await {
        Ok(report) => {
            print!("{}", report.summary());
            if let Err(e) = write_markdown(&cli.out, &report.markdown()) {
                eprintln!("error: cannot write {}: {e}", cli.out.display());
                return ExitCode::FAILURE;
            }
            println!("markdown: {}", cli.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_markdown(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}
