//! Write throughput: closed-loop writers, one single-row transaction after another, each on
//! its own connection (like pgbench with `-c N`), counted over a fixed window after a warm-up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::{Client, Statement};

use crate::db::{self, BUILDING, PLAIN_TABLE, WRITES_DIR};
use crate::error::{Error, Result};

/// What each transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// `arxos.put` of a new object (every trigger, the outbox, the rating counters) — the
    /// statement of bench/pgbench/write_put.sql.
    Put,
    /// The same row by plain INSERT into a copy of `arxos.objects` without the extension's
    /// triggers — bench/pgbench/write_plain.sql.
    PlainInsert,
}

/// A finished run: transactions completed inside the window, and the window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    pub transactions: u64,
    pub seconds: f64,
}

impl Run {
    pub fn tps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.transactions as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Runs added up (for several rounds of the same writer).
    pub fn add(&mut self, other: Run) {
        self.transactions += other.transactions;
        self.seconds += other.seconds;
    }
}

/// The writers' connections, with both statements prepared on each.
pub struct Writers {
    clients: Vec<(Arc<Client>, Statement, Statement)>,
    /// Numbers the new paths, unique over every run.
    next: Arc<AtomicU64>,
    building_id: String,
}

const PUT_SQL: &str = r#"SELECT (arxos.put($1, $2, 'sensor', '{"measures": "temperature", "unit": "degC"}',
    'active', NULL, '{"x": 12.5, "y": 3.25, "z": 1.5, "floor": 1}')).version"#;

fn plain_sql() -> String {
    format!(
        r#"INSERT INTO {PLAIN_TABLE} (building_id, path, type, status, properties, x, y, z, floor)
    VALUES ($1::text::uuid, $2, 'sensor', 'active', '{{"measures": "temperature", "unit": "degC"}}',
            12.5, 3.25, 1.5, 1)"#
    )
}

impl Writers {
    pub async fn connect(url: &str, n: usize) -> Result<Writers> {
        let plain = plain_sql();
        let mut clients = Vec::with_capacity(n);
        for client in db::connect_many(url, n).await? {
            let put = client.prepare(PUT_SQL).await?;
            let insert = client.prepare(&plain).await?;
            clients.push((Arc::new(client), put, insert));
        }
        let first = clients
            .first()
            .ok_or_else(|| Error::Bench("no writer connections".into()))?;
        let building_id: String = first
            .0
            .query_one(
                "SELECT id::text FROM arxos.buildings WHERE key = $1",
                &[&BUILDING],
            )
            .await?
            .get(0);
        Ok(Writers {
            clients,
            next: Arc::new(AtomicU64::new(0)),
            building_id,
        })
    }

    /// Every connection writes for `warmup + window`; transactions that complete inside the
    /// window are counted.
    pub async fn run(&self, writer: Writer, warmup: Duration, window: Duration) -> Result<Run> {
        let start = Instant::now();
        let counted_from = start + warmup;
        let end = counted_from + window;
        let mut tasks = Vec::with_capacity(self.clients.len());
        for (client, put, insert) in &self.clients {
            let client = Arc::clone(client);
            let (statement, key) = match writer {
                Writer::Put => (put.clone(), BUILDING.to_owned()),
                Writer::PlainInsert => (insert.clone(), self.building_id.clone()),
            };
            let next = Arc::clone(&self.next);
            tasks.push(tokio::spawn(async move {
                let mut counted = 0u64;
                while Instant::now() < end {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let path = format!("{WRITES_DIR}/o_{n}");
                    client.execute(&statement, &[&key, &path]).await?;
                    let done = Instant::now();
                    if done >= counted_from && done < end {
                        counted += 1;
                    }
                }
                Ok::<_, Error>(counted)
            }));
        }
        let mut transactions = 0;
        for task in tasks {
            transactions += task
                .await
                .map_err(|e| Error::Bench(format!("writer task failed: {e}")))??;
        }
        Ok(Run {
            transactions,
            seconds: window.as_secs_f64(),
        })
    }
}
