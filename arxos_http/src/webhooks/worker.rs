//! The delivery worker. Deliveries are rows (`arxos.webhook_deliveries`); any number of shims
//! run this loop against one database:
//!
//! 1. `arxos.enqueue_deliveries` fans new outbox events out into deliveries (one replica at a
//!    time, from a durable cursor);
//! 2. `arxos.claim_deliveries` leases due deliveries with `FOR UPDATE SKIP LOCKED`, so replicas
//!    never send the same one at once, at most `endpoint_concurrency` of one webhook in
//!    flight; a shim that dies mid-delivery leaves a lease that expires, and the delivery is
//!    sent again (at least once);
//! 3. each is POSTed with Standard Webhooks headers, at most `concurrency` in flight;
//! 4. outcomes are recorded in batches by `arxos.finish_deliveries`, which decides retries,
//!    dead-lettering and disabling in the database.
//!
//! When the shim stops, the worker claims nothing more, lets the deliveries in flight finish
//! and records their outcomes (within the shutdown grace period), so a restart does not send
//! again what was already delivered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::db::Pool;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::time::{sleep, Instant};
use uuid::Uuid;

use super::client::{self, Policy};
use super::config::WebhookArgs;
use super::signing::signature_header;
use crate::error::chain;
use crate::metrics::{self, WebhookOutcome};
use crate::realtime::Hub;

/// Events fanned out per enqueue call.
const ENQUEUE_BATCH: i32 = 5000;
/// Most deliveries claimed per call.
const CLAIM_BATCH: usize = 500;
/// Bytes of bodies one worker holds in flight (their JSON text). A claim asks for at most
/// [`STORED_PER_TEXT`]th of the room left, counted by the bodies' stored size, and no claim is
/// made while the bodies in flight fill it: a body's text can be a dozen times its stored size
/// (a number stored in 8 bytes written as 100 digits), and every matching webhook holds its
/// own copy (found by a review: 48 deliveries of 920 KB documents held 800 MB).
const BYTES_IN_FLIGHT: usize = 64 << 20;
/// See [`BYTES_IN_FLIGHT`].
const STORED_PER_TEXT: usize = 16;
/// How often the worker looks for due retries when nothing wakes it.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How often the worker disables webhooks that have failed for `--webhook-disable-after`
/// with no attempt left to notice it (arxos.disable_failing_webhooks).
const DISABLE_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Bytes of a response body kept in the attempt log.
const EXCERPT: usize = 500;
/// Longest Retry-After honoured.
const MAX_RETRY_AFTER: u64 = 86_400;

/// A leased delivery.
struct Claimed {
    delivery_id: i64,
    /// The lease's end, as the database wrote it: what names this lease (its outcome is
    /// recorded only while the delivery is under it).
    lease: String,
    url: String,
    message_id: String,
    body: String,
    secrets: Vec<Vec<u8>>,
    /// Why the webhook's secret could not be opened (then `secrets` is empty).
    secret_error: Option<String>,
    webhook_id: String,
    attempt: i32,
}

/// The outcome of one attempt, as `arxos.finish_deliveries` reads it.
#[derive(Default)]
struct Outcome {
    delivery_id: i64,
    /// The webhook and the attempt's number, for the log ([`FailureLog`]); not recorded.
    webhook_id: String,
    attempt: i32,
    lease: String,
    status: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
    excerpt: Option<String>,
    retry_after: Option<u64>,
    /// Failed here before anything was sent (the secrets' key file): retried without using
    /// up the schedule, and no sign of the endpoint's health (`arxos.webhook_result`).
    local: bool,
}

impl Outcome {
    fn to_json(&self) -> Value {
        json!({
            "delivery": self.delivery_id,
            "lease": self.lease,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "error": self.error.as_deref().map(storable),
            "excerpt": self.excerpt.as_deref().map(storable),
            "retry_after": self.retry_after,
            "local": self.local,
        })
    }
}

/// Text as PostgreSQL can store it: it has no NUL character (jsonb refuses `\u0000`), and a
/// receiver's reply may hold one. Left in, the whole batch of outcomes would be refused again
/// and again, and delivery would stop for every webhook.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

struct Settings {
    worker: String,
    lease: Duration,
    per_webhook: i32,
    schedule: Vec<String>,
    disable_after: String,
    policy: Arc<Policy>,
}

fn interval_text(d: Duration) -> String {
    format!("{} milliseconds", d.as_millis())
}

/// Runs until `stopping` turns true (or its sender is gone), then drains: see the module
/// documentation.
pub async fn run(pool: Pool, hub: Hub, args: WebhookArgs, mut stopping: watch::Receiver<bool>) {
    let policy = Arc::new(Policy {
        allowed: args.webhook_allow_networks.clone(),
    });
    let http = match client::build(Arc::clone(&policy), args.webhook_timeout) {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %chain(&e), "cannot build the webhook HTTP client; webhooks are not delivered");
            return;
        }
    };
    let settings = Arc::new(Settings {
        worker: format!("shim-{}", Uuid::new_v4().simple()),
        lease: args.webhook_timeout * 2 + Duration::from_secs(10),
        per_webhook: args.webhook_endpoint_concurrency as i32,
        schedule: args
            .webhook_retry_schedule
            .iter()
            .copied()
            .map(interval_text)
            .collect(),
        disable_after: interval_text(args.webhook_disable_after),
        policy,
    });
    tracing::info!(worker = %settings.worker, "webhook worker started");
    let concurrency = args.webhook_concurrency as usize;
    let slots = Arc::new(Semaphore::new(concurrency));
    let bytes_in_flight = Arc::new(AtomicUsize::new(0));
    // Recorded outcomes may leave room under their webhooks' caps (which count the leases in
    // the database): claim again.
    let recorded = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::channel::<Outcome>(concurrency * 2);
    let recorder = tokio::spawn(record_outcomes(
        pool.clone(),
        Arc::clone(&settings),
        done_rx,
        Arc::clone(&recorded),
    ));

    let mut failures = 0u32;
    let mut swept: Option<tokio::time::Instant> = None;
    loop {
        if *stopping.borrow() || stopping.has_changed().is_err() {
            break;
        }
        let round = async {
            if swept.is_none_or(|at| at.elapsed() >= DISABLE_SWEEP_EVERY) {
                // Housekeeping: a failure is logged and tried again next minute, and never
                // holds up the deliveries (found by a review: an error here stopped them all).
                if let Err(error) = disable_failing(&pool, &settings).await {
                    tracing::warn!(%error, "webhook worker: the check for webhooks failing too long failed; trying again in a minute");
                }
                swept = Some(tokio::time::Instant::now());
            }
            // A stop that comes during the round ends it before the next claim: a backlog of
            // events to fan out could otherwise keep the drain waiting past the grace period.
            let stopped = || *stopping.borrow();
            while !stopped() && enqueue(&pool).await? == ENQUEUE_BATCH {}
            let free = slots.available_permits().min(CLAIM_BATCH);
            // (woken by a recorded outcome when the bodies in flight fill the room)
            let room = BYTES_IN_FLIGHT.saturating_sub(bytes_in_flight.load(Ordering::Acquire));
            if free == 0 || room == 0 || stopped() {
                return Ok::<_, String>(false);
            }
            let max_bytes = (room / STORED_PER_TEXT).max(1) as i64;
            let claimed = claim(&pool, &settings, free, max_bytes).await?;
            let full = claimed.len() == free;
            for delivery in claimed {
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    break;
                };
                let size = delivery.body.len();
                bytes_in_flight.fetch_add(size, Ordering::AcqRel);
                let bytes_in_flight = Arc::clone(&bytes_in_flight);
                let http = http.clone();
                let settings = Arc::clone(&settings);
                let done = done_tx.clone();
                tokio::spawn(async move {
                    let outcome = deliver(&http, &settings.policy, delivery).await;
                    bytes_in_flight.fetch_sub(size, Ordering::AcqRel);
                    metrics::webhook_delivery(WebhookOutcome::of(outcome.status));
                    let _ = done.send(outcome).await;
                    drop(slot);
                });
            }
            Ok(full)
        };
        match round.await {
            Ok(true) => {
                failures = 0;
                continue;
            }
            Ok(false) => failures = 0,
            Err(error) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(60) {
                    tracing::warn!(%error, "webhook worker: a database call failed (the error says which); retrying every second");
                }
            }
        }
        if slots.available_permits() == 0 {
            // Wait for a slot, then look again.
            tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => drop(slot),
                _ = stopping.changed() => {}
            }
            continue;
        }
        let backoff = if failures > 0 {
            Duration::from_secs(1)
        } else {
            IDLE_POLL
        };
        tokio::select! {
            _ = hub.published() => {}
            _ = recorded.notified() => {}
            _ = sleep(backoff) => {}
            _ = stopping.changed() => {}
        }
    }
    let in_flight = concurrency - slots.available_permits();
    tracing::info!(
        in_flight,
        "webhook worker stopping: finishing the deliveries in flight"
    );
    // Every slot back means every delivery has handed its outcome to the recorder, which
    // ends once it has recorded them all.
    let _ = slots.acquire_many(concurrency as u32).await;
    drop(done_tx);
    let _ = recorder.await;
    tracing::info!("webhook worker stopped");
}

async fn enqueue(pool: &Pool) -> Result<i32, String> {
    let client = pool.get().await.map_err(|e| chain(&e))?;
    let statement = client
        .prepare_cached("SELECT arxos.enqueue_deliveries($1)")
        .await
        .map_err(|e| chain(&e))?;
    // Without the requests' statement timeout: a fan-out of a batch of events to many webhooks
    // may take longer, and one cut off every time would hold every webhook back for ever.
    let row =
        crate::db::unlimited_transaction(&client, client.query_one(&statement, &[&ENQUEUE_BATCH]))
            .await
            .map_err(|e| chain(&e))?;
    row.try_get(0).map_err(|e| chain(&e))
}

async fn claim(
    pool: &Pool,
    settings: &Settings,
    max: usize,
    max_bytes: i64,
) -> Result<Vec<Claimed>, String> {
    let client = pool.get().await.map_err(|e| chain(&e))?;
    let statement = client
        .prepare_cached(
            "SELECT delivery_id, url, message_id, body, secrets, secret_error, lease_end::text,
                    webhook_id::text, attempt
               FROM arxos.claim_deliveries($1, $2, $3::text::interval, $4, $5)",
        )
        .await
        .map_err(|e| chain(&e))?;
    // Without the requests' statement timeout (db::unlimited_transaction): a claim reads every
    // webhook, and one cut off every round would deliver nothing.
    let lease = interval_text(settings.lease);
    let max = max as i32;
    let rows = crate::db::unlimited_transaction(
        &client,
        client.query(
            &statement,
            &[
                &settings.worker,
                &max,
                &lease,
                &settings.per_webhook,
                &max_bytes,
            ],
        ),
    )
    .await
    .map_err(|e| chain(&e))?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                delivery_id: row.try_get(0)?,
                url: row.try_get(1)?,
                message_id: row.try_get(2)?,
                body: row.try_get(3)?,
                secrets: row.try_get(4)?,
                secret_error: row.try_get(5)?,
                lease: row.try_get(6)?,
                webhook_id: row.try_get(7)?,
                attempt: row.try_get(8)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(|e| chain(&e))
}

/// One POST with the Standard Webhooks headers.
async fn deliver(http: &reqwest::Client, policy: &Policy, d: Claimed) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        delivery_id: d.delivery_id,
        webhook_id: d.webhook_id.clone(),
        attempt: d.attempt,
        lease: d.lease.clone(),
        status: None,
        latency_ms: 0,
        error: None,
        excerpt: None,
        retry_after: None,
        local: false,
    };
    if let Some(error) = d.secret_error {
        // The key file is missing or another (docs/security.md): nothing can be signed. The
        // reason names key ids, never a secret (logged with the failures, once a minute per
        // webhook: FailureLog).
        outcome.error = Some(error);
        outcome.local = true;
        return outcome;
    }
    let url = match reqwest::Url::parse(&d.url) {
        Ok(url) => url,
        Err(e) => {
            outcome.error = Some(format!("invalid URL: {e}"));
            return outcome;
        }
    };
    if let Err(refused) = client::check_url(policy, &url) {
        outcome.error = Some(refused);
        return outcome;
    }
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_secs() as i64);
    let signature = signature_header(&d.secrets, &d.message_id, timestamp, &d.body);
    let sent = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(d.body)
        .send()
        .await;
    match sent {
        Ok(mut response) => {
            outcome.status = Some(response.status().as_u16());
            outcome.retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after_secs(v, SystemTime::now()));
            let mut excerpt = Vec::new();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) if excerpt.len() < EXCERPT => excerpt
                        .extend_from_slice(&chunk[..chunk.len().min(EXCERPT - excerpt.len())]),
                    Ok(_) => break,
                    // The status counts (a 2xx is delivered); the log says the reply broke off.
                    Err(e) => {
                        outcome.error = Some(if e.is_timeout() {
                            "reading the reply timed out".to_owned()
                        } else {
                            format!("reading the reply: {}", chain(&e.without_url()))
                        });
                        break;
                    }
                }
            }
            if !excerpt.is_empty() {
                outcome.excerpt = Some(excerpt_text(&excerpt));
            }
        }
        Err(e) => {
            outcome.error = Some(if e.is_timeout() {
                "timed out".to_owned()
            } else {
                // without the URL, which may carry a token (the webhook names it)
                chain(&e.without_url())
            });
        }
    }
    outcome.latency_ms = started.elapsed().as_millis() as u64;
    outcome
}

/// The excerpt of a reply as text, at most [`EXCERPT`] bytes: a character the cut (or a body
/// that broke off) split is left out rather than shown as U+FFFD, and bytes that are not
/// UTF-8 are U+FFFD, cut back to a whole character within the bound (found by a review: a
/// reply in UTF-8 ended in U+FFFD, 502 bytes).
fn excerpt_text(bytes: &[u8]) -> String {
    let mut end = bytes.len();
    // the last character's first byte (not a continuation byte), within the last four
    if let Some(start) = (end.saturating_sub(4)..end)
        .rev()
        .find(|&i| bytes[i] & 0xC0 != 0x80)
    {
        // (a byte that leads no character, 0xff say, is one of its own: U+FFFD)
        let len = match bytes[start] {
            0xF0..=0xF4 => 4,
            0xE0..=0xEF => 3,
            0xC2..=0xDF => 2,
            _ => 1,
        };
        if start + len > end {
            end = start;
        }
    }
    let mut text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    if text.len() > EXCERPT {
        let mut cut = EXCERPT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// A `Retry-After` value in seconds from `now`, at most [`MAX_RETRY_AFTER`]: delay seconds or
/// an HTTP date (RFC 9110; a date in the past means now, 0). `None` for anything else.
fn retry_after_secs(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        // delay-seconds beyond 64 bits is still a delay, the longest honoured (found by an
        // audit: it was ignored, and the retry came seconds later)
        Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => MAX_RETRY_AFTER,
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            // Whole seconds, rounded up: "at least until".
            at.duration_since(now)
                .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
        }
    };
    Some(secs.min(MAX_RETRY_AFTER))
}

/// Records outcomes in batches. If the database is away it keeps the batch and tries again;
/// should the shim die meanwhile, the leases expire and the deliveries are sent again.
async fn record_outcomes(
    pool: Pool,
    settings: Arc<Settings>,
    mut done: mpsc::Receiver<Outcome>,
    recorded: Arc<Notify>,
) {
    let mut batch: Vec<Outcome> = Vec::new();
    let mut failures = FailureLog::default();
    while let Some(first) = done.recv().await {
        batch.push(first);
        while batch.len() < CLAIM_BATCH {
            match done.try_recv() {
                Ok(outcome) => batch.push(outcome),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        for outcome in &batch {
            failures.note(outcome, now);
        }
        let results = Value::Array(batch.iter().map(Outcome::to_json).collect());
        let mut delay = Duration::from_millis(100);
        loop {
            match finish(&pool, &settings, &results).await {
                Ok(()) => {
                    recorded.notify_one();
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot record webhook outcomes yet; retrying");
                    sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}

/// How often at most the log tells of one webhook's failed attempts.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// The log of failed attempts: one WARN line per webhook at most every
/// [`FAILURE_LOG_EVERY`], with the failure it saw and how many it did not tell of since its
/// last line (a receiver that is down fails every attempt of every event, and a line for each
/// would bury the rest of the log). Every attempt, with its error, is in
/// `arxos.webhook_attempts` (`GET /api/webhooks/{id}/deliveries`), but a local failure that
/// repeats the delivery's last error (`local` below: the key file).
#[derive(Default)]
struct FailureLog {
    /// Per webhook: when its last line was written, and the failures since.
    last: std::collections::HashMap<String, (Instant, u64)>,
}

impl FailureLog {
    /// Returns whether it wrote a line. A 410 (the webhook is disabled) counts as a failure.
    fn note(&mut self, outcome: &Outcome, now: Instant) -> bool {
        if WebhookOutcome::of(outcome.status) == WebhookOutcome::Success {
            return false;
        }
        self.last
            .retain(|_, (at, _)| now.duration_since(*at) < FAILURE_LOG_EVERY * 10);
        if let Some((at, unlogged)) = self.last.get_mut(&outcome.webhook_id) {
            if now.duration_since(*at) < FAILURE_LOG_EVERY {
                *unlogged += 1;
                return false;
            }
        }
        let unlogged = self
            .last
            .insert(outcome.webhook_id.clone(), (now, 0))
            .map_or(0, |(_, n)| n);
        tracing::warn!(
            webhook = %outcome.webhook_id,
            delivery = outcome.delivery_id,
            attempt = outcome.attempt,
            status = outcome.status,
            error = outcome.error.as_deref().unwrap_or(""),
            not_logged_since = unlogged,
            local = outcome.local,
            "webhook delivery failed (every attempt: GET /api/webhooks/{{id}}/deliveries)"
        );
        true
    }
}

/// Disables the webhooks that have failed for `--webhook-disable-after` (see
/// [`DISABLE_SWEEP_EVERY`]).
async fn disable_failing(pool: &Pool, settings: &Settings) -> Result<(), String> {
    let client = pool.get().await.map_err(|e| chain(&e))?;
    let statement = client
        .prepare_cached("SELECT arxos.disable_failing_webhooks($1::text::interval)")
        .await
        .map_err(|e| chain(&e))?;
    let row = crate::db::unlimited_transaction(
        &client,
        client.query_one(&statement, &[&settings.disable_after]),
    )
    .await
    .map_err(|e| chain(&e))?;
    let disabled: i32 = row.try_get(0).map_err(|e| chain(&e))?;
    if disabled > 0 {
        tracing::warn!(
            disabled,
            "webhooks disabled: they failed for --webhook-disable-after without a success"
        );
    }
    Ok(())
}

async fn finish(pool: &Pool, settings: &Settings, results: &Value) -> Result<(), String> {
    let client = pool.get().await.map_err(|e| chain(&e))?;
    let statement = client
        .prepare_cached(
            "SELECT arxos.finish_deliveries($1, $2, $3::text[]::interval[], $4::text::interval)",
        )
        .await
        .map_err(|e| chain(&e))?;
    // (as the claim: without the requests' statement timeout, which would cut off a wait for
    // a delivery row and send the outcome's deliveries again)
    crate::db::unlimited_transaction(
        &client,
        client.query_one(
            &statement,
            &[
                &settings.worker,
                results,
                &settings.schedule,
                &settings.disable_after,
            ],
        ),
    )
    .await
    .map_err(|e| chain(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// An excerpt cut inside a character is cut back to the character before it; one that
    /// ends whole, and bytes that are not UTF-8, are kept as they are (U+FFFD for the latter).
    #[test]
    fn an_excerpt_ends_on_a_whole_character() {
        let reply = format!("a{}", "é".repeat(300));
        let cut = &reply.as_bytes()[..EXCERPT];
        let text = excerpt_text(cut);
        assert_eq!(text, format!("a{}", "é".repeat(249)));
        assert!(text.len() <= EXCERPT);
        let whole = "b".repeat(EXCERPT);
        assert_eq!(excerpt_text(whole.as_bytes()), whole);
        let emoji = format!("{}😀", "c".repeat(EXCERPT - 2));
        assert_eq!(
            excerpt_text(&emoji.as_bytes()[..EXCERPT]),
            "c".repeat(EXCERPT - 2)
        );
        assert_eq!(excerpt_text(b"ok\xff"), "ok\u{fffd}");
        // a body that broke off inside a character, short of the bound
        assert_eq!(excerpt_text(&"né".as_bytes()[..2]), "n");
        // bytes that are not UTF-8 stay within the bound once each is U+FFFD
        let latin1 = vec![0xe9u8; EXCERPT];
        let text = excerpt_text(&latin1);
        assert!(
            text.len() <= EXCERPT && text.chars().all(|c| c == '\u{fffd}'),
            "{}",
            text.len()
        );
        assert_eq!(text.chars().count(), EXCERPT / 3);
    }

    use super::*;

    #[test]
    fn outcomes_never_carry_a_nul() {
        let outcome = Outcome {
            excerpt: Some("a\0b".to_owned()),
            error: Some("\0".to_owned()),
            ..Outcome::default()
        };
        let text = outcome.to_json().to_string();
        assert!(!text.contains("\\u0000"), "{text}");
        assert!(text.contains("a\u{FFFD}b"), "{text}");
    }

    #[test]
    fn failed_attempts_are_logged_once_a_minute_per_webhook() {
        let failed = |webhook: &str, status: Option<u16>| Outcome {
            webhook_id: webhook.to_owned(),
            status,
            error: status.is_none().then(|| "connection refused".to_owned()),
            ..Outcome::default()
        };
        let mut log = FailureLog::default();
        let start = Instant::now();
        assert!(log.note(&failed("a", None), start));
        assert!(!log.note(&failed("a", Some(500)), start + Duration::from_secs(1)));
        assert!(
            log.note(&failed("b", Some(410)), start + Duration::from_secs(1)),
            "another webhook"
        );
        assert!(
            !log.note(&failed("a", Some(200)), start + Duration::from_secs(2)),
            "a success"
        );
        assert!(log.note(&failed("a", Some(503)), start + FAILURE_LOG_EVERY));
        assert_eq!(log.last["a"], (start + FAILURE_LOG_EVERY, 0));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after_secs("120", now), Some(120));
        assert_eq!(retry_after_secs(" 0 ", now), Some(0));
        assert_eq!(retry_after_secs("999999999", now), Some(MAX_RETRY_AFTER));
        // beyond 64 bits: still the longest delay, not ignored (found by an audit)
        assert_eq!(
            retry_after_secs("18446744073709551616", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:51:37 GMT", now),
            Some(120)
        );
        // The obsolete forms HTTP recipients must accept, too.
        assert_eq!(
            retry_after_secs("Sunday, 06-Nov-94 08:50:37 GMT", now),
            Some(60)
        );
        assert_eq!(
            retry_after_secs(
                "Sun, 06 Nov 1994 08:51:37 GMT",
                now + Duration::from_millis(500)
            ),
            Some(120),
            "part of a second rounds up"
        );
        assert_eq!(
            retry_after_secs("Sun, 20 Nov 1994 08:49:37 GMT", now),
            Some(MAX_RETRY_AFTER),
            "capped"
        );
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(0),
            "in the past"
        );
        for garbage in ["", "soon", "-5", "1.5", "Sun, 06 Nov 1994 25:00:00 GMT"] {
            assert_eq!(retry_after_secs(garbage, now), None, "{garbage:?}");
        }
    }
}
