//! The listener: one dedicated connection per shim that reads new events from the outbox by
//! id and publishes them to the [`Hub`]. See docs/realtime.md for the loop.
//!
//! NOTIFY is only a wake-up hint: while events keep coming the listener polls
//! `arxos.events_since(last)` (and tells writers, through `arxos.listener_heartbeat(id,
//! false)`, that it needs no NOTIFY); after a quiet spell it asks for wake-ups, polls once more
//! to close the race, and sleeps until a notification or a fallback timer. Every statement
//! runs in autocommit: the connection is never idle in a transaction. When the connection
//! drops, or a statement goes unanswered for [`STATEMENT_TIMEOUT`] (a half-open TCP
//! connection never answers), it reconnects with backoff and goes on from the last id it
//! published.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::poll_fn;
use postgres_native_tls::MakeTlsConnector;
use tokio::sync::{watch, Notify};
use tokio::time::{sleep, timeout, Instant};
use tokio_postgres::{AsyncMessage, Config};
use uuid::Uuid;

use super::event::{self, PAGE_SQL};
use super::hub::Hub;
use crate::error::chain;
use crate::grants::Grants;

/// Revocations of API keys (payload: the key id), see crate::grants.
const KEYS_CHANNEL: &str = "arxos_keys";
/// The count of key changes (`arxos.key_generation`), read after each page of events.
const KEY_GENERATION_SQL: &str = "SELECT generation FROM arxos.key_generation";
/// Events read per poll.
const PAGE: i32 = 1000;
/// Pause between polls while events keep coming. Each poll that finds events is a sequencing
/// transaction with a durable commit; at a poll per millisecond the listener's own commits and
/// CPU competed with the writers (docs/realtime.md). Five milliseconds batch the events of
/// busy periods at a small cost in latency.
const BUSY_POLL: Duration = Duration::from_millis(5);
/// How long the listener keeps polling after the last event before it asks for NOTIFY.
const QUIET_AFTER: Duration = Duration::from_millis(100);
/// Longest sleep while waiting for a NOTIFY (a missed notification costs at most this).
const FALLBACK_POLL: Duration = Duration::from_secs(1);
/// For a while after the last event, the sleep is shorter: a writer decides whether to send a
/// NOTIFY when it writes, not when it commits, so a transaction that wrote while the listener
/// was busy (no NOTIFY wanted) and commits after it went quiet sends none (found by an
/// adversarial review: such events waited for the 1 s fallback, 726–769 ms every time).
const LATE_COMMIT_POLL: Duration = Duration::from_millis(50);
/// How long after the last event the short sleep holds: a transaction open longer than this
/// across the end of a busy spell waits for the fallback poll.
const LATE_COMMIT_WINDOW: Duration = Duration::from_secs(5);
/// Lifetime of the listener's registration; refreshed well before it runs out.
const HEARTBEAT_TTL: Duration = Duration::from_secs(30);
const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Longest wait for the answer to one of the listener's statements before the connection is
/// given up for dead and replaced: by then its registration has expired anyway. (TCP keepalive,
/// crate::db, catches a dead peer too, but only while nothing is in flight.)
const STATEMENT_TIMEOUT: Duration = HEARTBEAT_TTL;

/// Why a listener connection ended.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    #[error("{0} got no answer within {STATEMENT_TIMEOUT:?}")]
    Stalled(&'static str),
}

/// Runs one statement of the listener, giving up after [`STATEMENT_TIMEOUT`].
async fn bounded<T>(
    what: &'static str,
    statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, SessionError> {
    match timeout(STATEMENT_TIMEOUT, statement).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SessionError::Stalled(what)),
    }
}

/// Reads the outbox and publishes to `hub` until `stop` turns true; then removes its
/// registration on its own connection (after any statement still in flight, so a last
/// heartbeat cannot re-register it) and returns.
pub async fn run(
    id: Uuid,
    config: Config,
    tls: MakeTlsConnector,
    hub: Hub,
    grants: Arc<Grants>,
    mut stop: watch::Receiver<bool>,
) {
    // The last id published; `None` until the first connection tells where the outbox stands.
    let mut last: Option<i64> = None;
    let mut backoff = BACKOFF_MIN;
    while !*stop.borrow() {
        let started = Instant::now();
        let mut established = false;
        let ended = session(
            &config,
            &tls,
            &hub,
            &grants,
            id,
            &mut last,
            &mut stop,
            &mut established,
        )
        .await;
        grants.set_live(false);
        hub.set_listener_connected(false);
        backoff = backoff_after(backoff, established, started.elapsed());
        match ended {
            Ok(()) if *stop.borrow() => break,
            Ok(()) => tracing::warn!("event listener connection closed; reconnecting"),
            Err(e) => {
                tracing::warn!(error = %chain(&e), ?backoff, "event listener lost its connection; reconnecting")
            }
        }
        tokio::select! {
            _ = sleep(backoff) => {}
            _ = stop.changed() => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    tracing::info!("event listener stopped");
}

/// The wait before the next connection: from the start again after a session that was set up
/// and lasted a second (a failover soon after an outage reconnects at once, not after the
/// outage's grown backoff), else the backoff so far (doubled after the wait): a server that
/// accepts connections and drops them at once is not hammered.
fn backoff_after(backoff: Duration, established: bool, lasted: Duration) -> Duration {
    if established && lasted >= Duration::from_secs(1) {
        BACKOFF_MIN
    } else {
        backoff
    }
}

/// One connection's life. Returns when the connection ends; `established` turns true once it
/// is set up (listening, registered, its position in the outbox known).
#[allow(clippy::too_many_arguments)]
async fn session(
    config: &Config,
    tls: &MakeTlsConnector,
    hub: &Hub,
    grants: &Arc<Grants>,
    id: Uuid,
    last: &mut Option<i64>,
    stop: &mut watch::Receiver<bool>,
    established: &mut bool,
) -> Result<(), SessionError> {
    let (client, mut connection) = config.connect(tls.clone()).await?;
    // The connection task hands notifications over as wake-ups and ends with the connection.
    let wake = std::sync::Arc::new(Notify::new());
    let mut driver = tokio::spawn({
        let wake = std::sync::Arc::clone(&wake);
        let grants = Arc::clone(grants);
        async move {
            loop {
                match poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) if n.channel() == KEYS_CHANNEL => {
                        match n.payload() {
                            // a building renamed: grants name buildings by key
                            "*" => grants.forget_all(),
                            key_id => grants.forget_key(key_id),
                        }
                    }
                    Some(Ok(AsyncMessage::Notification(_))) => wake.notify_one(),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                }
            }
        }
    });
    let work = async {
        bounded(
            "LISTEN",
            // The server gives up on a statement when the listener would: one it stopped
            // waiting for does not run on (holding the sequencer's lock) after the reconnect.
            client.batch_execute(&format!(
                "SET statement_timeout = {}; LISTEN arxos_events; LISTEN {KEYS_CHANNEL}",
                STATEMENT_TIMEOUT.as_millis()
            )),
        )
        .await?;
        // The count of key changes, read once the notices are heard and before anything is
        // remembered again: a change after this read is heard, or counted in a later read (with
        // the events); one before it is in whatever the database answers from now on.
        let key_generation = bounded("prepare", client.prepare(KEY_GENERATION_SQL)).await?;
        let row = bounded("key_generation", client.query_one(&key_generation, &[])).await?;
        grants.start_key_changes(row.try_get(0)?);
        // From here on no revocation goes unheard while the connection lasts.
        grants.set_live(true);
        let heartbeat = bounded(
            "prepare",
            client.prepare(
                "SELECT arxos.listener_heartbeat($1::text::uuid, $2, make_interval(secs => $3))",
            ),
        )
        .await?;
        let ttl = HEARTBEAT_TTL.as_secs_f64();
        let beat = |wants_wake: bool| {
            let client = &client;
            let heartbeat = &heartbeat;
            async move {
                bounded(
                    "listener_heartbeat",
                    client.execute(heartbeat, &[&id.to_string(), &wants_wake, &ttl]),
                )
                .await
            }
        };
        let page = bounded("prepare", client.prepare(PAGE_SQL)).await?;
        let row = bounded(
            "event_counter",
            client.query_one("SELECT last_id FROM arxos.event_counter", &[]),
        )
        .await?;
        let head: i64 = row.try_get(0)?;
        match *last {
            None => {
                *last = Some(head);
                tracing::info!(after = last.unwrap_or_default(), "event listener started");
                hub.mark_live();
            }
            // The outbox went back (a restore, a failover to a standby that was behind): new
            // events would reuse ids that this listener, and so its SSE clients, have passed
            // and would skip. The numbering moves past them instead (arxos.skip_event_ids).
            Some(seen) if head < seen => {
                bounded(
                    "skip_event_ids",
                    client.execute("SELECT arxos.skip_event_ids($1)", &[&seen]),
                )
                .await?;
                tracing::warn!(
                    seen,
                    head,
                    "the outbox is behind the last event this listener published \
                     (restored or failed over?); new events are numbered after it"
                );
            }
            Some(seen) => tracing::info!(after = seen, "event listener reconnected; catching up"),
        }
        beat(false).await?;
        *established = true;
        hub.set_listener_connected(true);
        let mut wants_wake = false;
        let mut last_beat = Instant::now();
        let mut last_event = Instant::now();
        loop {
            let after = last.unwrap_or(0);
            // The count of key changes is read after the page, by a statement with a newer
            // snapshot than any of the page's (sent with it: no round trip of its own). An event
            // committed after a key changed comes with the change counted, and the grants are
            // forgotten before it is published: the key's streams check their buildings again
            // before sending it, even when the change's NOTIFY comes after the page (the page's
            // function reads with snapshots newer than its start, and PostgreSQL hands a
            // notification over only between statements; found by a review).
            // (`biased`: the page's request is sent first, the count's after it; the other
            // order would read the count with an older snapshot than the page's)
            let read = bounded("events_since", async {
                tokio::try_join!(
                    biased;
                    event::page(&client, &page, after, PAGE, None),
                    client.query_one(&key_generation, &[]),
                )
            })
            .await;
            let events = match read.and_then(|(events, row)| {
                grants.listener_counted(row.try_get(0)?);
                Ok(events)
            }) {
                // Events after `after` were purged before this listener read them (a DELETE of
                // arxos.events, a purge with a short horizon): it goes on after the purge, and
                // tells the hub, whose streams then read the outbox (and end, with 410 on
                // reconnect, if their position is below it). Retrying `after` would fail for
                // ever, and no stream would get another event.
                Err(SessionError::Db(e)) if e.code().map(|c| c.code()) == Some("AX026") => {
                    let row = bounded(
                        "event_horizon",
                        client.query_one("SELECT purged_through FROM arxos.event_horizon", &[]),
                    )
                    .await?;
                    let purged: i64 = row.try_get(0)?;
                    tracing::warn!(
                        after,
                        purged,
                        "events this listener had not read yet were purged; going on after them"
                    );
                    *last = Some(purged.max(after));
                    hub.mark_gap();
                    continue;
                }
                other => other?,
            };
            hub.listener_read();
            // Refreshed while events flow too (found by a review: only idle polls refreshed it,
            // so under steady writes the registration expired after its TTL).
            if last_beat.elapsed() >= HEARTBEAT_EVERY {
                beat(wants_wake).await?;
                last_beat = Instant::now();
            }
            if let Some(newest) = events.last() {
                *last = Some(newest.id);
                let full = !event::page_is_short(&events, PAGE);
                hub.publish(events);
                last_event = Instant::now();
                if wants_wake {
                    beat(false).await?;
                    wants_wake = false;
                    last_beat = Instant::now();
                }
                if !full {
                    sleep(BUSY_POLL).await;
                }
                continue;
            }
            if last_event.elapsed() < QUIET_AFTER {
                sleep(BUSY_POLL).await;
                continue;
            }
            if !wants_wake {
                // Ask for a NOTIFY, then look once more: an event committed just before the
                // registration took effect sent no NOTIFY.
                beat(true).await?;
                wants_wake = true;
                last_beat = Instant::now();
                continue;
            }
            let fallback = if last_event.elapsed() < LATE_COMMIT_WINDOW {
                LATE_COMMIT_POLL
            } else {
                FALLBACK_POLL
            };
            let wait = fallback.min(HEARTBEAT_EVERY.saturating_sub(last_beat.elapsed()));
            // A wake-up starts a busy spell: poll at once, and busily for a while. A wait that
            // ran out polls once and waits again (found by a review: it started a busy spell
            // too, 20 polls a second for a tenth of every idle second).
            if timeout(wait, wake.notified()).await.is_ok() {
                last_event = Instant::now();
            }
        }
        #[allow(unreachable_code)]
        Ok::<(), SessionError>(())
    };
    let outcome = tokio::select! {
        result = work => result,
        _ = stop.wait_for(|stopped| *stopped) => Ok(()),
        ended = &mut driver => match ended {
            Ok(result) => result.map_err(SessionError::from),
            Err(join) => {
                tracing::error!(error = %join, "event listener connection task failed");
                Ok(())
            }
        },
    };
    // Best effort: the registration expires by itself otherwise. Statements on one connection
    // run in order, so this runs after any heartbeat still in flight.
    let _ = timeout(
        Duration::from_secs(1),
        client.execute(
            "SELECT arxos.listener_leave($1::text::uuid)",
            &[&id.to_string()],
        ),
    )
    .await;
    driver.abort();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_starts_again_after_a_session_that_worked() {
        let grown = Duration::from_secs(4);
        // set up and ran a while: a failover soon after an outage reconnects at once
        assert_eq!(
            backoff_after(grown, true, Duration::from_secs(5)),
            BACKOFF_MIN
        );
        // accepted and dropped at once, or never set up: the backoff goes on growing
        assert_eq!(
            backoff_after(grown, true, Duration::from_millis(200)),
            grown
        );
        assert_eq!(backoff_after(grown, false, Duration::from_secs(60)), grown);
    }

    #[tokio::test(start_paused = true)]
    async fn a_statement_without_an_answer_ends_the_session() {
        let started = Instant::now();
        let stalled = bounded(
            "events_since",
            std::future::pending::<Result<(), tokio_postgres::Error>>(),
        )
        .await;
        assert!(matches!(
            stalled,
            Err(SessionError::Stalled("events_since"))
        ));
        assert_eq!(started.elapsed(), STATEMENT_TIMEOUT);
        let answered = bounded("events_since", async { Ok(7) }).await;
        assert!(matches!(answered, Ok(7)));
    }
}
