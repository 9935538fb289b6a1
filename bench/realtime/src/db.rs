//! Connections to the benchmark database and the fixtures every phase writes under.

use std::str::FromStr;

use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// The building every phase writes into.
pub const BUILDING: &str = "rtbench";
/// Parent directories: SSE writes, webhook events, throughput writes.
pub const SSE_DIR: &str = "/sse";
pub const WEBHOOK_DIR: &str = "/wh";
pub const WRITES_DIR: &str = "/w";
/// The plain table the throughput phase compares `arxos.put` with.
pub const PLAIN_TABLE: &str = "arxos_bench_rt.plain";

/// Opens a connection; its driver runs on a task until the client is dropped.
pub async fn connect(url: &str) -> Result<Client> {
    let config = Config::from_str(url)?;
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "benchmark connection ended");
        }
    });
    Ok(client)
}

/// `n` connections.
pub async fn connect_many(url: &str, n: usize) -> Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(connect(url).await?);
    }
    Ok(clients)
}

/// The bench building, its directories, and a plain copy of `arxos.objects` (same columns,
/// generated columns, CHECK, unique and foreign-key constraints and indexes; no triggers but
/// the foreign keys'), made as bench/setup.sql makes `bench.plain`.
pub async fn prepare(client: &Client) -> Result<()> {
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM arxos.buildings WHERE key = $1)",
            &[&BUILDING],
        )
        .await?
        .get(0);
    if exists {
        return Err(Error::Bench(format!(
            "building {BUILDING} exists already: the benchmark wants a fresh database"
        )));
    }
    client
        .execute(
            "SELECT arxos.create_building($1, 'Real-time benchmark')",
            &[&BUILDING],
        )
        .await?;
    for dir in [SSE_DIR, WEBHOOK_DIR, WRITES_DIR] {
        client
            .execute("SELECT arxos.put($1, $2, 'directory')", &[&BUILDING, &dir])
            .await?;
    }
    client.batch_execute(PLAIN_TABLE_SQL).await?;
    Ok(())
}

const PLAIN_TABLE_SQL: &str = r#"
SET client_min_messages = warning;
CREATE SCHEMA arxos_bench_rt;
-- The hinted-read floor (raw.rs): rows a notification hints at.
CREATE TABLE arxos_bench_rt.hinted (id bigserial PRIMARY KEY, seq bigint NOT NULL);
CREATE TABLE arxos_bench_rt.plain (LIKE arxos.objects INCLUDING DEFAULTS INCLUDING GENERATED
                                   INCLUDING CONSTRAINTS INCLUDING STATISTICS INCLUDING STORAGE);
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.conname, pg_get_constraintdef(c.oid) AS def
               FROM pg_constraint c
              WHERE c.conrelid = 'arxos.objects'::regclass AND c.contype IN ('p', 'u', 'f')
              ORDER BY c.contype DESC, c.conname
    LOOP
        EXECUTE format('ALTER TABLE arxos_bench_rt.plain ADD CONSTRAINT %I %s', r.conname, r.def);
    END LOOP;
    FOR r IN SELECT pg_get_indexdef(i.indexrelid) AS def
               FROM pg_index i
              WHERE i.indrelid = 'arxos.objects'::regclass
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    LOOP
        EXECUTE replace(r.def, ' ON arxos.objects ', ' ON arxos_bench_rt.plain ');
    END LOOP;
END
$$;
RESET client_min_messages;
"#;

/// Events written but not yet sequenced into the outbox.
pub async fn pending_events(client: &Client) -> Result<i64> {
    Ok(client
        .query_one("SELECT count(*) FROM arxos.events_pending", &[])
        .await?
        .get(0))
}

/// Live listener registrations (shims attached to the outbox).
pub async fn live_listeners(client: &Client) -> Result<i64> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM arxos.listeners WHERE expires_at > now()",
            &[],
        )
        .await?
        .get(0))
}

/// Removes listener registrations left by a shim that has exited (it does not leave on
/// SIGTERM; a registration would otherwise live out its 30 s TTL). Returns how many.
pub async fn forget_listeners(client: &Client) -> Result<u64> {
    Ok(client.execute("DELETE FROM arxos.listeners", &[]).await?)
}

/// The pid of the cluster's checkpointer (a child of the postmaster).
pub async fn checkpointer_pid(client: &Client) -> Result<Option<i32>> {
    Ok(client
        .query_opt(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
            &[],
        )
        .await?
        .map(|row| row.get(0)))
}
