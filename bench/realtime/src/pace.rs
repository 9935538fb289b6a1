//! The paced writer of the latency phases: `total` transactions at `rate` per second, spread
//! over a few connections (write `seq` is due at `start + seq / rate`; connection `k` sends
//! the writes `k, k + n, k + 2n, …`). Each write is one autocommit statement, and carries its
//! sequence number and send time so a receiver can tell which write it sees.

use std::time::Duration;

use serde_json::json;
use tokio_postgres::Client;

use crate::clock::Clock;
use crate::db::{BUILDING, SSE_DIR};
use crate::error::{Error, Result};

/// What one write does.
#[derive(Debug, Clone)]
pub enum Write {
    /// `SELECT pg_notify(channel, '<seq> <send µs>')`.
    Notify { channel: String },
    /// A row `(seq)` into `arxos_bench_rt.hinted` and an empty `pg_notify(channel, '')` in one
    /// transaction: the notification is only a hint, as the issue has it for the outbox.
    NotifyHint { channel: String },
    /// `arxos.put` of a new object `/sse/o_<seq>` with properties `{"seq": …, "t": <send µs>}`.
    Put,
}

/// One write's timestamps: when it was sent and when its commit returned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub send_us: i64,
    pub commit_us: i64,
}

/// Every write of a paced run, indexed by sequence number.
#[derive(Debug)]
pub struct Paced {
    pub sent: Vec<Sent>,
    /// When write 0 was due.
    pub start_us: i64,
    /// When the last commit returned.
    pub end_us: i64,
}

impl Paced {
    /// Commits per second over the writes from `from_seq` on (those measured).
    pub fn achieved_rate(&self, from_seq: usize) -> f64 {
        let Some(first) = self.sent.get(from_seq) else {
            return 0.0;
        };
        let span = (self.end_us - first.send_us) as f64 / 1e6;
        if span <= 0.0 {
            0.0
        } else {
            (self.sent.len() - from_seq) as f64 / span
        }
    }
}

/// Runs `total` writes at `rate` per second over `clients`.
pub async fn run(
    clients: Vec<Client>,
    write: Write,
    rate: u32,
    total: usize,
    clock: Clock,
) -> Result<Paced> {
    let n = clients.len().max(1);
    let interval_us = 1e6 / f64::from(rate.max(1));
    // A short lead so every connection is waiting when write 0 is due.
    let start_us = clock.now_us() + 50_000;
    let mut tasks = Vec::with_capacity(n);
    for (k, client) in clients.into_iter().enumerate() {
        let write = write.clone();
        tasks.push(tokio::spawn(async move {
            let statement = match &write {
                Write::Notify { .. } => client.prepare("SELECT pg_notify($1, $2)").await?,
                Write::NotifyHint { .. } => {
                    client
                        .prepare(
                            "WITH w AS (INSERT INTO arxos_bench_rt.hinted (seq) VALUES ($2) \
                             RETURNING 1) SELECT pg_notify($1, '') FROM w",
                        )
                        .await?
                }
                Write::Put => {
                    client
                        .prepare("SELECT (arxos.put($1, $2, 'sensor', $3::jsonb)).version")
                        .await?
                }
            };
            let mut sent = Vec::with_capacity(total / n + 1);
            for seq in (k..total).step_by(n) {
                let due = start_us + (seq as f64 * interval_us) as i64;
                tokio::time::sleep_until(clock.instant_at(due).into()).await;
                let send_us = clock.now_us();
                match &write {
                    Write::Notify { channel } => {
                        let payload = format!("{seq} {send_us}");
                        client.execute(&statement, &[channel, &payload]).await?;
                    }
                    Write::NotifyHint { channel } => {
                        client
                            .execute(&statement, &[channel, &(seq as i64)])
                            .await?;
                    }
                    Write::Put => {
                        let path = format!("{SSE_DIR}/o_{seq}");
                        let properties = json!({"seq": seq, "t": send_us});
                        client
                            .execute(&statement, &[&BUILDING, &path, &properties])
                            .await?;
                    }
                }
                let commit_us = clock.now_us();
                sent.push((seq, Sent { send_us, commit_us }));
            }
            Ok::<_, Error>(sent)
        }));
    }
    let mut all = vec![Sent::default(); total];
    for task in tasks {
        let sent = task
            .await
            .map_err(|e| Error::Bench(format!("writer task failed: {e}")))??;
        for (seq, s) in sent {
            all[seq] = s;
        }
    }
    let end_us = all.iter().map(|s| s.commit_us).max().unwrap_or(start_us);
    Ok(Paced {
        sent: all,
        start_us,
        end_us,
    })
}

/// Sequence numbers sent before `warmup` are not measured.
pub fn warmup_writes(rate: u32, warmup: Duration) -> usize {
    (f64::from(rate) * warmup.as_secs_f64()).round() as usize
}
