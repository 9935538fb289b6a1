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
        match unlimited(&client, "SELECT arxos.readings_maintenance()").await {
            Ok(partitions) => tracing::debug!(partitions, "readings maintenance"),
            Err(error) => {
                tracing::warn!(error = %chain(&error), "arxos.readings_maintenance() failed")
            }
        }
        match unlimited(&client, "SELECT arxos.tick()").await {
            Ok(ratings) => tracing::debug!(ratings, "tick"),
            Err(error) => tracing::warn!(error = %chain(&error), "arxos.tick() failed"),
        }
    }
}

/// Runs `select` (one integer) in a transaction of its own without a statement timeout: both
/// statements go in one simple query, an implicit transaction block, so `SET LOCAL` ends with
/// it, and a failure rolls it back (the pooled connection is left with no transaction open).
async fn unlimited(
    client: &deadpool_postgres::ClientWrapper,
    select: &str,
) -> Result<String, tokio_postgres::Error> {
    let messages = client
        .simple_query(&format!("SET LOCAL statement_timeout = 0; {select}"))
        .await?;
    Ok(messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_default())
}
