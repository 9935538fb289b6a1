//! Runs `arxos.readings_maintenance()` and then `arxos.tick()` once a minute, each in a
//! transaction of its own: the readings' partitions are made ahead of time, and time-window
//! ratings move even when nothing is written. (Making a partition waits for every transaction
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
        let result = async {
            let client = pool.get().await.map_err(|e| chain(&e))?;
            client
                .query_one("SELECT arxos.readings_maintenance()", &[])
                .await
                .map_err(|e| chain(&e))?;
            client
                .query_one("SELECT arxos.tick()", &[])
                .await
                .map_err(|e| chain(&e))
        }
        .await;
        match result {
            Ok(row) => tracing::debug!(ratings = row.get::<_, i32>(0), "tick"),
            Err(error) => tracing::warn!(%error, "arxos.tick() failed"),
        }
    }
}
