//! The run: fixtures, the shim, then each phase in turn (raw LISTEN, SSE, webhooks, writes).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_postgres::Client;

use crate::clock::Clock;
use crate::cpu;
use crate::db;
use crate::error::{Error, Result};
use crate::latency::{self, Receipt};
use crate::pace::{self, Write};
use crate::raw;
use crate::report::{LatencyPhase, Report, Settings, Writes};
use crate::shim::{self, Launcher, Shim};
use crate::sse;
use crate::webhooks;
use crate::writes::{Writer, Writers};
use crate::Cli;

/// The raw baseline's private channel.
const RAW_CHANNEL: &str = "bench_raw";
/// How long receivers get after the last write for the tail to arrive.
const TAIL: Duration = Duration::from_secs(10);
/// Warm-up of each throughput run.
const WRITE_WARMUP: Duration = Duration::from_secs(1);

pub async fn run(cli: &Cli) -> Result<Report> {
    let clock = Clock::start();
    let settings = Settings {
        rate: cli.rate,
        clients: cli.clients as usize,
        seconds: cli.seconds,
        warmup: cli.warmup,
        pace_connections: cli.pace_connections as usize,
        write_clients: cli.write_clients as usize,
        write_seconds: cli.write_seconds,
        write_rounds: cli.write_rounds,
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut loads = vec![("at the start".to_owned(), load_average())];

    let admin = db::connect(&cli.database_url).await?;
    db::prepare(&admin).await?;
    let key = shim::create_key(&cli.arxos_bin, &cli.database_url).await?;
    std::fs::create_dir_all(&cli.work_dir)?;
    let launcher = Launcher {
        bin: cli.arxos_bin.clone(),
        database_url: cli.database_url.clone(),
        log: cli.work_dir.join("arxos.log"),
    };
    tracing::info!(log = %launcher.log.display(), "starting arxos serve");
    let shim = launcher.start().await?;
    wait_attached(&admin).await?;
    let started: String = admin
        .query_one(
            "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')",
            &[],
        )
        .await?
        .get(0);
    let http = reqwest::Client::builder().build()?;
    // CPU shares per phase: the cluster runs on this machine (bench/realtime.sh starts it).
    let postmaster = db::checkpointer_pid(&admin)
        .await?
        .and_then(|pid| u32::try_from(pid).ok())
        .and_then(cpu::parent_of);
    let snapshot = |shim: Option<&Shim>| cpu::Snapshot::take(shim.and_then(Shim::pid), postmaster);
    let mut cpu = Vec::new();

    tracing::info!(
        rate = cli.rate,
        seconds = cli.warmup + cli.seconds,
        "raw LISTEN baseline"
    );
    let before = snapshot(Some(&shim));
    let raw = raw_phase(cli, raw::Mode::Payload, clock).await?;
    cpu.push((
        "raw LISTEN".to_owned(),
        before.shares_until(&snapshot(Some(&shim))),
    ));
    loads.push(("after the raw phase".into(), load_average()));

    tracing::info!(rate = cli.rate, "raw LISTEN, reading the hinted rows");
    let hinted = raw_phase(cli, raw::Mode::ReadHinted, clock).await?;

    tracing::info!(clients = cli.clients, rate = cli.rate, "SSE latency");
    let before = snapshot(Some(&shim));
    let sse = sse_phase(cli, &shim, &http, &key, clock).await?;
    cpu.push((
        "SSE".to_owned(),
        before.shares_until(&snapshot(Some(&shim))),
    ));
    loads.push(("after the SSE phase".into(), load_average()));

    tracing::info!(events = cli.webhook_events, "webhook throughput");
    let before = snapshot(Some(&shim));
    let webhooks = webhooks::run(
        &shim,
        &http,
        &key,
        &admin,
        cli.webhook_events,
        Duration::from_secs(cli.webhook_timeout),
        clock,
    )
    .await?;
    cpu.push((
        "webhooks".to_owned(),
        before.shares_until(&snapshot(Some(&shim))),
    ));
    loads.push(("after the webhook phase".into(), load_average()));

    // The shim restarts during this phase: its share is counted under "other".
    let before = snapshot(None);
    let writes = writes_phase(cli, &launcher, shim, &admin).await?;
    cpu.push(("writes".to_owned(), before.shares_until(&snapshot(None))));
    loads.push(("at the end".into(), load_average()));

    Ok(Report {
        settings,
        started,
        cores,
        loads,
        cpu,
        raw,
        hinted,
        sse,
        webhooks,
        writes,
    })
}

fn totals(cli: &Cli) -> (usize, usize) {
    let warmup = pace::warmup_writes(cli.rate, Duration::from_secs(cli.warmup));
    let measured = pace::warmup_writes(cli.rate, Duration::from_secs(cli.seconds));
    (warmup + measured, warmup)
}

async fn raw_phase(cli: &Cli, mode: raw::Mode, clock: Clock) -> Result<LatencyPhase> {
    let (total, from_seq) = totals(cli);
    let listener = raw::listen(&cli.database_url, RAW_CHANNEL, mode, clock).await?;
    let writers = db::connect_many(&cli.database_url, cli.pace_connections as usize).await?;
    let channel = RAW_CHANNEL.to_owned();
    let write = match mode {
        raw::Mode::Payload => Write::Notify { channel },
        raw::Mode::ReadHinted => Write::NotifyHint { channel },
    };
    let paced = pace::run(writers, write, cli.rate, total, clock).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let receivers = vec![listener.finish().await?];
    Ok(latency_phase(&paced, from_seq, &receivers, 0))
}

async fn sse_phase(
    cli: &Cli,
    shim: &Shim,
    http: &reqwest::Client,
    key: &str,
    clock: Clock,
) -> Result<LatencyPhase> {
    let (total, from_seq) = totals(cli);
    let clients = cli.clients as usize;
    let complete = Arc::new(AtomicUsize::new(0));
    let (ready_tx, mut ready_rx) = mpsc::channel(clients);
    let (stop_tx, stop_rx) = watch::channel(false);
    let url = shim.url("/api/events?types=object.*");
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let client = sse::Client {
            url: url.clone(),
            key: key.to_owned(),
            total,
            complete: Arc::clone(&complete),
            ready: ready_tx.clone(),
            stop: stop_rx.clone(),
            clock,
        };
        tasks.push(tokio::spawn(client.run(http.clone())));
    }
    drop(ready_tx);

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut connected = 0;
    while connected < clients {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(())) => connected += 1,
            Ok(None) | Err(_) => break,
        }
    }
    if connected < clients {
        let _ = stop_tx.send(true);
        for task in tasks {
            if let Ok(Err(e)) = task.await {
                return Err(e);
            }
        }
        return Err(Error::Bench(format!(
            "only {connected} of {clients} SSE clients connected within 30 s"
        )));
    }
    tracing::info!(clients, "SSE clients connected; writing");

    let writers = db::connect_many(&cli.database_url, cli.pace_connections as usize).await?;
    let paced = pace::run(writers, Write::Put, cli.rate, total, clock).await?;
    let tail_end = Instant::now() + TAIL;
    while complete.load(Ordering::SeqCst) < clients && Instant::now() < tail_end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut receivers = Vec::with_capacity(clients);
    let mut other = 0;
    for task in tasks {
        let seen = task
            .await
            .map_err(|e| Error::Bench(format!("SSE client task failed: {e}")))??;
        other += seen.other;
        receivers.push(seen.receipts);
    }
    Ok(latency_phase(&paced, from_seq, &receivers, other))
}

fn latency_phase(
    paced: &pace::Paced,
    from_seq: usize,
    receivers: &[Vec<Receipt>],
    other: usize,
) -> LatencyPhase {
    let from_us = paced
        .sent
        .get(from_seq)
        .map(|s| s.send_us)
        .unwrap_or(paced.start_us);
    let span = (paced.end_us - from_us) as f64 / 1e6;
    let in_window = receivers
        .iter()
        .flatten()
        .filter(|(_, at)| (from_us..=paced.end_us).contains(at))
        .count();
    LatencyPhase {
        latency: latency::measure(&paced.sent, from_seq, receivers),
        write_rate: paced.achieved_rate(from_seq),
        delivered_per_second: if span > 0.0 {
            in_window as f64 / span
        } else {
            0.0
        },
        other,
    }
}

/// Rounds of: `arxos.put` with the shim running (its listener attached), then the shim
/// stopped: `arxos.put`, then plain INSERT. Leaves the shim stopped.
async fn writes_phase(
    cli: &Cli,
    launcher: &Launcher,
    shim: Shim,
    admin: &Client,
) -> Result<Writes> {
    let writers = Writers::connect(&cli.database_url, cli.write_clients as usize).await?;
    let window = Duration::from_secs_f64(cli.write_seconds as f64 / f64::from(cli.write_rounds));
    let mut running = Some(shim);
    let mut writes = Writes::default();
    for round in 1..=cli.write_rounds {
        let shim = match running.take() {
            Some(shim) => shim,
            None => launcher.start().await?,
        };
        wait_attached(admin).await?;
        wait_drained(admin).await?;
        tracing::info!(round, "writes: arxos.put with the listener attached");
        let with = writers.run(Writer::Put, WRITE_WARMUP, window).await?;
        writes.pending_after_with = writes
            .pending_after_with
            .max(db::pending_events(admin).await?);
        shim.stop().await?;
        detach(admin).await?;
        tracing::info!(round, "writes: arxos.put without the shim");
        let without = writers.run(Writer::Put, WRITE_WARMUP, window).await?;
        tracing::info!(round, "writes: plain INSERT");
        let plain = writers
            .run(Writer::PlainInsert, WRITE_WARMUP, window)
            .await?;
        writes.rounds.push([with.tps(), without.tps(), plain.tps()]);
        writes.with_listener.add(with);
        writes.without_listener.add(without);
        writes.plain.add(plain);
    }
    Ok(writes)
}

/// Waits for a live listener registration (the shim's listener is up).
async fn wait_attached(admin: &Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while db::live_listeners(admin).await? < 1 {
        if Instant::now() >= deadline {
            return Err(Error::Shim(
                "its listener did not register within 15 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Makes sure no listener registration survives the stopped shim: docs/realtime.md says the
/// listener leaves on shutdown, but a registration left behind (the shim exited without
/// leaving) would keep writers checking for, and possibly sending, wake-ups for up to its TTL,
/// so the run "without the shim" would not be one. The benchmark owns this database.
async fn detach(admin: &Client) -> Result<()> {
    let left = db::forget_listeners(admin).await?;
    if left > 0 {
        tracing::info!(
            left,
            "removed listener registrations the stopped shim left behind"
        );
    }
    Ok(())
}

/// Waits until the listener has sequenced what was written while no shim ran.
async fn wait_drained(admin: &Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending = db::pending_events(admin).await?;
        if pending == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            tracing::warn!(pending, "the listener did not catch up within 60 s");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `/proc/loadavg`'s 1, 5 and 15 minute averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
