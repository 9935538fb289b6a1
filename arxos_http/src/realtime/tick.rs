//! Runs `arxos.readings_maintenance()` and then `arxos.tick_batch()` (what `arxos.tick()` does,
//! 500 buildings at a time) once a minute, each in transactions of its own: the readings'
//! partitions are made ahead of time, and time-window ratings move even when nothing is
//! written. (Making a partition waits for every transaction
//! using the readings and holds them off until it commits: not while tick holds the outbox
//! sequencer's lock and buildings' rows.)

use std::time::Duration;

use crate::db::Pool;
use tokio::time::{interval, MissedTickBehavior};

use crate::error::chain;

const EVERY: Duration = Duration::from_secs(60);

pub async fn run(pool: Pool) {
    let mut timer = interval(EVERY);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick fires at once; skip it, the shim just started.
    timer.tick().await;
    loop {
        timer.tick().await;
        let client = match pool.get().await {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!(error = %chain(&error), "tick: no database connection");
                continue;
            }
        };
        // Each in a transaction of its own; one failing does not skip the other. Without the
        // requests' statement timeout (the connections' default, crate::db::serve_config): a
        // tick over many buildings, or a readings DEFAULT partition being emptied, may take
        // longer, and nobody waits for its answer.
        let maintenance = client.query_one("SELECT arxos.readings_maintenance()", &[]);
        match crate::db::unlimited_transaction(&client, maintenance).await {
            Ok(row) => tracing::debug!(partitions = row.get::<_, i32>(0), "readings maintenance"),
            Err(error) => {
                tracing::warn!(error = %chain(&error), "arxos.readings_maintenance() failed")
            }
        }
        // In batches of BATCH buildings, each in a transaction of its own: a tick holds the
        // outbox sequencer to the end of its transaction, so one over every building held
        // every event for as long as it took (9 to 12 s for 20,000 buildings: found by an
        // adversarial review); events flow between the batches. (The building ids as text:
        // the client has no uuid type.)
        let mut after: Option<String> = None;
        let mut recorded = 0;
        loop {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&after, &BATCH];
            let batch = client.query_one(
                "SELECT recorded, next_after::text FROM arxos.tick_batch($1::text::uuid, $2)",
                &params,
            );
            match crate::db::unlimited_transaction(&client, batch).await {
                Ok(row) => {
                    recorded += row.get::<_, i32>(0);
                    after = row.get::<_, Option<String>>(1);
                    if after.is_none() {
                        tracing::debug!(ratings = recorded, "tick");
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %chain(&error), "arxos.tick_batch() failed");
                    break;
                }
            }
        }
    }
}

/// Buildings per tick transaction.
const BATCH: i32 = 500;
