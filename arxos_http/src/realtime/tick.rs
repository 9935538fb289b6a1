//! Runs `arxos.tick()` once a minute: time-window ratings move even when nothing is written.

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
