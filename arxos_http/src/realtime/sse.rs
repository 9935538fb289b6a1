//! `GET /api/events`: the live stream as Server-Sent Events.
//!
//! A stream starts after the id in `Last-Event-ID` (or `?after=`), else at the outbox's head.
//! It first replays from the outbox page by page, then follows the hub. The hub subscription
//! is taken before the last replay page is read, and live events at or below the last id
//! already handled are skipped: no gap and no duplicate at the seam. A subscriber that falls
//! more than the hub's ring behind goes back to replaying. Memory per stream is one page (500
//! events, about event::PAGE_BYTES of JSON), and a client that stops reading is let go by the
//! connection's write timeout (crate::write_timeout).
//!
//! A browser's `EventSource` reconnects by itself after a stream ends, but gives up for good
//! on an answer other than 200. So when the database is unavailable at subscription time the
//! answer is still a 200 stream, carrying only a `retry:` hint, and it ends at once; a stream
//! whose replay fails sends the same hint before it ends. Refused keys, bad filters and rate
//! limits keep their status codes: retrying would not help.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::event::{Event, REPLAY_SQL};
use super::filter::{Filter, FilterParams};
use super::outbox;
use super::subscription::{self, request_key};
use crate::auth::ApiKey;
use crate::error::{ApiError, ErrorCode};
use crate::metrics::EventTransport;
use crate::openapi::ErrorBody;
use crate::state::AppState;

/// How often a stream reads the outbox while the listener has not started yet.
const NOT_LIVE_POLL: Duration = Duration::from_millis(250);
/// Events per replay page.
const REPLAY_PAGE: i32 = 500;
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a live stream checks that its key is still valid.
const RECHECK_EVERY: Duration = Duration::from_secs(60);
/// The `retry:` hint of a stream that ends on a database failure: how long the client waits
/// before it reconnects.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// (No `Debug`: it holds the `?api_key=`, which a debug line would print; found by a review.)
#[derive(Deserialize)]
pub struct StreamParams {
    #[serde(flatten)]
    pub filters: FilterParams,
    /// Start after this event id (like `Last-Event-ID`, which wins when both are given).
    pub after: Option<i64>,
    pub api_key: Option<String>,
}

/// The live event stream (Server-Sent Events): replays from the outbox after `Last-Event-ID`
/// (or `after`), else starts at its head, then follows new events. See docs/realtime.md.
#[utoipa::path(get, path = "/api/events", operation_id = "stream_events", tag = "events",
    params(FilterParams,
           ("after" = Option<i64>, Query, minimum = 0, description = "Start after this event id (`Last-Event-ID` wins when both are given); an id beyond the newest event is refused (400), one whose following events were purged is 410"),
           ("api_key" = Option<String>, Query, description = "The API key, for clients that cannot send headers (EventSource)"),
           ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "Resume after this event id; one beyond the newest event is refused (400), one whose following events were purged is 410")),
    responses((status = 200, description = "`text/event-stream`, which never ends by itself: read it as a stream (an EventSource, or a client that hands out the body as it comes), not with a generated client's ordinary call, which waits for the whole answer. `id:` the event id, `event:` its dotted type, `data:` the event JSON (schema Event); a `: ready` comment first and `: keep-alive` comments when idle. While the database is unavailable the stream holds only a `retry:` field (milliseconds) and ends, so that EventSource reconnects; a stream whose replay fails ends the same way",
               content_type = "text/event-stream", body = String),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "Unknown building", body = ErrorBody),
              (status = 410, description = "GONE: the events after the position were purged; take a new snapshot and start at the head", body = ErrorBody)),
    security(("api_key" = []), ("api_key_query" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
) -> Result<Response, ApiError> {
    let key = request_key(&headers, params.api_key.as_deref())?;
    let last_event_id = last_event_id(&headers)?;
    // (checked whether or not the header wins: a bad value is refused, never ignored)
    let after = crate::routes::non_negative("after", params.after)?;
    let start = match last_event_id {
        Some(id) => Some((id, "Last-Event-ID")),
        None => after.map(|id| (id, "after")),
    };
    // The server's request timeout does not cover this route (a stream): the subscription has
    // its own, and a database that does not answer in time is a retry, as one that is down.
    let keys_seen = state.grants.generation();
    let gaps_seen = state.hub.gaps();
    let limit = Duration::from_millis(state.statement_timeout_ms.max(1));
    let sub =
        match tokio::time::timeout(limit, subscription::subscribe(&state, key, &params.filters))
            .await
        {
            Ok(Ok(sub)) => sub,
            Ok(Err(e)) if retry_later(&e) => return Ok(retry_only("the database is unavailable")),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(retry_only("the database did not answer in time")),
        };
    let cursor = match start {
        Some((after, named)) => sub.check_after(after, named)?,
        None => sub.head,
    };
    // Counted once the key is accepted: a refused key holds no seat.
    let seat = state.streams.take(&sub.key)?;
    let reader = Reader {
        _seat: seat,
        rx: None,
        state,
        key: sub.key,
        filter: sub.filter,
        cursor,
        queue: VecDeque::new(),
        replaying: true,
        last_check: Instant::now(),
        keys_seen,
        gaps_seen,
        told: cursor,
        told_at: Instant::now(),
        covered: None,
        caught_up: false,
        greeted: false,
        ended: false,
    };
    // A client that stops reading is let go by the connection's write timeout
    // (crate::write_timeout), which drops this stream with its place in the hub's ring, its
    // page and its seat.
    let events = futures_util::stream::unfold(reader, |mut reader| async move {
        reader
            .next()
            .await
            .map(|event| (Ok::<_, Infallible>(event), reader))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response();
    // nginx holds a proxied response back in its buffers unless told not to (found by a
    // review; docs/realtime.md, "Headers")
    response.headers_mut().insert(
        axum::http::HeaderName::from_static("x-accel-buffering"),
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

/// The `Last-Event-ID` header: an event id (digits only, as the ids the stream sends), or
/// none when it is absent or empty (EventSource sends an empty one before its first event).
/// Sent twice it is refused, as a repeated `If-Match` is: which one the client meant is not
/// ours to guess (found by a review: the first won, skipping what the second asked for).
fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = crate::routes::header_once(
        headers,
        "last-event-id",
        "the id of the last event received",
    )?
    else {
        return Ok(None);
    };
    let value = value.to_str().map(str::trim).unwrap_or("\u{fffd}");
    if value.is_empty() {
        return Ok(None);
    }
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<i64>().ok())
        .flatten()
        .map(Some)
        .ok_or_else(|| {
            ApiError::validation("Last-Event-ID must be an event id: digits only, 0 or more")
        })
}

/// Whether a failed subscription is answered with a stream that only says when to reconnect
/// (200) rather than with its error: only when the database is unavailable.
fn retry_later(err: &ApiError) -> bool {
    err.code == ErrorCode::Unavailable
}

/// A stream of a retry hint alone.
fn retry_only(why: &str) -> Response {
    retry_only_after(why, RETRY_AFTER_FAILURE)
}

/// A stream of a retry hint alone, asking the client to wait `wait` (at least a second): what
/// the rate limit answers an event stream instead of 429, which `EventSource` takes as the end
/// for good (found by an adversarial review: during a database outage, streams reconnecting
/// every 5 s spent their key's budget, and the browsers that got 429 never came back).
pub(crate) fn retry_only_after(why: &str, wait: Duration) -> Response {
    let hint = retry_hint_after(why, None, wait.max(Duration::from_secs(1)));
    Sse::new(futures_util::stream::iter([Ok::<_, Infallible>(hint)])).into_response()
}

/// The last message of a stream the client should open again: `retry:` (milliseconds), a
/// comment saying why, and the stream's position when it has one (without, the client keeps
/// its `Last-Event-ID`).
fn retry_hint(why: &str, cursor: Option<i64>) -> SseEvent {
    retry_hint_after(why, cursor, RETRY_AFTER_FAILURE)
}

/// [`retry_hint`] with its own wait.
fn retry_hint_after(why: &str, cursor: Option<i64>, wait: Duration) -> SseEvent {
    let hint = SseEvent::default()
        .retry(wait)
        .comment(format!("{why}; reconnect"));
    match cursor {
        Some(cursor) => hint.id(cursor.to_string()),
        None => hint,
    }
}

/// A message with the stream's position and no data: `EventSource` takes the id as its last
/// event id (and sends it back as `Last-Event-ID` when it reconnects) without firing an event.
fn position(cursor: i64, why: &str) -> SseEvent {
    SseEvent::default().id(cursor.to_string()).comment(why)
}

/// One stream's position and what it has in hand.
struct Reader {
    /// The key's seat among its open streams (crate::realtime::streams), held while the
    /// stream lives.
    _seat: super::streams::Seat,
    state: AppState,
    key: ApiKey,
    filter: Filter,
    /// The last event id handled (sent, or skipped by the filters).
    cursor: i64,
    /// Events read but not yet handled (at most one page).
    queue: VecDeque<Arc<Event>>,
    /// Reading from the outbox rather than the hub.
    replaying: bool,
    rx: Option<broadcast::Receiver<Arc<Event>>>,
    last_check: Instant,
    /// The shim's count of key changes ([`crate::grants::Grants::generation`]) at the last check.
    keys_seen: u64,
    /// The hub's gap count ([`super::hub::Hub::gaps`]) as this stream last followed it.
    gaps_seen: u64,
    /// The position the client was last told (the id of a message, or a position), and when.
    told: i64,
    told_at: Instant,
    /// The head a short replayed page covered ([`outbox::Page::head`]), for the position once
    /// the page is out.
    covered: Option<i64>,
    /// The replay has just caught up: the position is told at once.
    caught_up: bool,
    greeted: bool,
    /// The last message (a retry hint) is out: the stream ends.
    ended: bool,
}

impl Reader {
    /// The next message; `None` ends the stream (the client reconnects and resumes).
    async fn next(&mut self) -> Option<SseEvent> {
        if self.ended {
            return None;
        }
        if !self.greeted {
            // Tells the client the stream is set up, and where it starts: a client that gets
            // no event before it reconnects resumes from here, not from the head of then.
            self.greeted = true;
            return Some(position(self.cursor, "ready"));
        }
        loop {
            if self.state.hub.is_closing() {
                // A deploy or a restart: the client reconnects (to another replica, or to this
                // one once it is back) and resumes from here.
                self.ended = true;
                return Some(retry_hint("the server is shutting down", Some(self.cursor)));
            }
            // The queued events (a replayed page, or a live event) were read under the key as
            // it was: they go out only if it still covers them. When the check fails the stream
            // ends before them, with its position, and the client's reconnect reads them under
            // the key as it is then (found by reviews: a replayed page was sent whole after its
            // key was revoked, and a page of a building the key had just gained was skipped).
            if !self.queue.is_empty() {
                if let Err(last) = self.check_key().await {
                    return last;
                }
            }
            while let Some(event) = self.queue.pop_front() {
                if event.id <= self.cursor {
                    continue;
                }
                // An event the hub's ring took without its JSON (its bytes were spent by
                // events subscribers had not read): read from the outbox, from this stream's
                // position, when the stream wants it.
                if event.left_out && self.filter.matches(&event) {
                    tracing::debug!(
                        id = event.id,
                        cursor = self.cursor,
                        "an event's JSON was left out of the hub; replaying from the outbox"
                    );
                    self.queue.clear();
                    self.rx = None;
                    self.replaying = true;
                    break;
                }
                self.cursor = event.id;
                if self.filter.matches(&event) {
                    crate::metrics::events_delivered(EventTransport::Sse, 1);
                    self.told = event.id;
                    self.told_at = Instant::now();
                    return Some(message(&event));
                }
            }
            // A replayed page short of its bounds held every event the stream could see up to
            // the head read before it: the position moves there once the page is out (found by
            // a review: a stream of one quiet building kept the position of its last event,
            // replayed every other building's events again on each reconnect, and was told
            // 410 once they were purged).
            if let Some(head) = self.covered.take() {
                self.cursor = self.cursor.max(head);
            }
            // Events the filters skipped move the position too: said now and then, so that a
            // narrow stream resumes from near here, not from its last match; and at once when
            // a replay has caught up, so that a short session saves it too.
            if self.cursor > self.told && (self.caught_up || self.told_at.elapsed() >= KEEP_ALIVE) {
                let why = if self.caught_up {
                    "caught up"
                } else {
                    "skipped"
                };
                self.caught_up = false;
                self.told = self.cursor;
                self.told_at = Instant::now();
                return Some(position(self.cursor, why));
            }
            self.caught_up = false;
            if self.replaying {
                // Subscribed afresh before each page: the hub keeps every event a receiver has
                // not read, so a receiver held through a long replay kept the whole ring (found
                // by a review); one made before the last page still covers everything after it.
                self.rx = Some(self.state.hub.subscribe());
                // Read before the page: a page read once the listener knew its start covers
                // everything up to where the hub's events begin.
                let hub_live = self.state.hub.is_live();
                let building = self.filter.page_building();
                match outbox::page(
                    &self.state,
                    &self.key,
                    self.cursor,
                    REPLAY_PAGE,
                    building,
                    REPLAY_SQL,
                )
                .await
                {
                    Ok(page) if page.scope != self.filter.allowed_buildings => {
                        // Read under a key whose buildings changed since the stream began,
                        // before the shim heard of it: the page is not filtered with the old
                        // ones, the stream ends before it (found by a review).
                        return Some(self.buildings_changed());
                    }
                    Ok(outbox::Page {
                        events: page, head, ..
                    }) => {
                        // a page cut by its bytes is not the outbox's end
                        let caught_up = super::event::page_is_short(&page, REPLAY_PAGE);
                        if caught_up {
                            self.covered = Some(head);
                        }
                        if caught_up && hub_live {
                            self.replaying = false;
                            self.caught_up = true;
                        } else if caught_up && page.is_empty() {
                            // The listener has not started (the database was away when the
                            // shim started): the hub's first events may lie past what the
                            // outbox holds now. Keep reading the outbox until it has.
                            tokio::time::sleep(NOT_LIVE_POLL).await;
                        }
                        self.queue.extend(page);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, cursor = self.cursor, "event stream replay failed; closing it");
                        self.ended = true;
                        return Some(retry_hint("replay failed", Some(self.cursor)));
                    }
                }
                continue;
            }
            // When the filters have skipped events, the position is due a keep-alive interval
            // after it was last told, whether or not more events come.
            let position_due = (self.cursor > self.told).then(|| self.told_at + KEEP_ALIVE);
            let rx = self.rx.as_mut()?;
            let received = tokio::select! {
                received = rx.recv() => received,
                () = self.state.hub.closing() => continue,
                () = async {
                    match position_due {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => continue,
            };
            match received {
                Ok(_) if self.state.hub.gaps() != self.gaps_seen => {
                    // Events the listener had not read were purged: the hub went on past
                    // them. Read from the outbox instead, which refuses a position below the
                    // purge (the stream then ends, and the reconnect is answered 410).
                    self.gaps_seen = self.state.hub.gaps();
                    self.rx = None;
                    self.replaying = true;
                }
                Ok(event) => self.queue.push_back(event),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        cursor = self.cursor,
                        "event stream fell behind; replaying from the outbox"
                    );
                    self.rx = None;
                    self.replaying = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// The stream's last message when its key's buildings changed: its position and a retry
    /// hint, so that the reconnect subscribes with the buildings as they are now.
    fn buildings_changed(&mut self) -> SseEvent {
        tracing::info!("closing an event stream: its key's buildings changed");
        self.ended = true;
        retry_hint("the key's buildings changed", Some(self.cursor))
    }

    /// Whether the key may still read what the stream sends, checked when the shim heard of a
    /// change to a key (any key's: the stream does not know its key's id) and every minute
    /// anyway. `Err` holds what ends the stream: nothing (the key is no longer valid), or a
    /// retry hint at the stream's position (its buildings changed: reconnecting subscribes
    /// with them as they are; or the check failed).
    async fn check_key(&mut self) -> Result<(), Option<SseEvent>> {
        let generation = self.state.grants.generation();
        if generation == self.keys_seen && self.last_check.elapsed() < RECHECK_EVERY {
            return Ok(());
        }
        match subscription::key_buildings(&self.state, &self.key).await {
            Err(e) if matches!(e.code, ErrorCode::Unauthorized | ErrorCode::Forbidden) => {
                tracing::info!("closing an event stream: its key is no longer valid");
                Err(None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "closing an event stream: its key could not be checked");
                self.ended = true;
                Err(Some(retry_hint(
                    "the key could not be checked",
                    Some(self.cursor),
                )))
            }
            Ok(now) if now != self.filter.allowed_buildings => Err(Some(self.buildings_changed())),
            Ok(_) => {
                self.keys_seen = generation;
                self.last_check = Instant::now();
                Ok(())
            }
        }
    }
}

/// `id:` the outbox id, `event:` the dotted type, `data:` the event JSON.
fn message(event: &Event) -> SseEvent {
    let message = SseEvent::default()
        .id(event.id.to_string())
        .data(&event.json);
    // The type comes from the database; a line break in it would end the field early.
    if event.event_type.contains(['\n', '\r']) {
        message
    } else {
        message.event(&event.event_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};

    fn resume_after(values: &[&str]) -> Result<Option<i64>, ApiError> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("last-event-id", value.parse().unwrap());
        }
        last_event_id(&headers)
    }

    #[test]
    fn last_event_id_is_digits_sent_once() {
        assert_eq!(resume_after(&[]).unwrap(), None);
        assert_eq!(resume_after(&[""]).unwrap(), None);
        assert_eq!(resume_after(&[" 42 "]).unwrap(), Some(42));
        assert_eq!(resume_after(&["0"]).unwrap(), Some(0));
        for bad in ["+7", "-5", "7.0", "1e3", "x", "99999999999999999999"] {
            assert!(resume_after(&[bad]).is_err(), "{bad}");
        }
        let twice = resume_after(&["40000", "100"]).unwrap_err();
        assert!(twice.to_string().contains("more than once"), "{twice}");
    }

    #[test]
    fn only_an_unavailable_database_is_answered_with_a_retry() {
        assert!(retry_later(&ApiError::unavailable(
            "the database is unavailable"
        )));
        for code in [
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::Validation,
            ErrorCode::NotFound,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
        ] {
            assert!(!retry_later(&ApiError::new(code, "no")), "{code:?}");
        }
    }

    #[tokio::test]
    async fn a_retry_only_stream_is_a_200_event_stream_with_a_retry_field() {
        let response = retry_only("the database is unavailable");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("the stream ends");
        let text = std::str::from_utf8(&body).expect("UTF-8");
        assert_eq!(
            text,
            "retry: 5000\n: the database is unavailable; reconnect\n\n"
        );
    }
}
