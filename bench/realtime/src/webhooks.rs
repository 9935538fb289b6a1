//! Webhook throughput: a local receiver answering 200, one webhook for `object.created` under
//! the webhook directory, and one bulk INSERT of many objects. Deliveries are counted once
//! per `webhook-id` (a retry repeats the id).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_postgres::Client;

use crate::clock::Clock;
use crate::db::{BUILDING, WEBHOOK_DIR};
use crate::error::{Error, Result};
use crate::shim::Shim;

/// Stop waiting when no new delivery arrived for this long.
const STALL: Duration = Duration::from_secs(30);

/// What the receiver saw.
#[derive(Debug, Default)]
struct Tally {
    ids: HashSet<String>,
    requests: u64,
    first_us: Option<i64>,
    last_us: i64,
}

/// The counts of a [`Tally`] at one moment.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    delivered: usize,
    requests: u64,
    first_us: Option<i64>,
    last_us: i64,
}

impl Tally {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            delivered: self.ids.len(),
            requests: self.requests,
            first_us: self.first_us,
            last_us: self.last_us,
        }
    }
}

#[derive(Clone)]
struct Receiver {
    tally: Arc<Mutex<Tally>>,
    clock: Clock,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, _body: Bytes) -> StatusCode {
    let at = r.clock.now_us();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if let Ok(mut t) = r.tally.lock() {
        t.requests += 1;
        t.first_us.get_or_insert(at);
        t.last_us = at;
        t.ids.insert(id);
    }
    StatusCode::OK
}

/// The outcome of the webhook phase.
#[derive(Debug, Clone)]
pub struct Throughput {
    pub events: u64,
    /// Distinct deliveries (by `webhook-id`).
    pub delivered: u64,
    /// Requests received, retries included.
    pub requests: u64,
    /// The bulk INSERT's commit → first and last delivery, µs.
    pub commit_to_first_us: i64,
    pub commit_to_last_us: i64,
    /// Deliveries per second from the first delivery to the last.
    pub per_second: f64,
    /// Deliveries per second from the commit to the last delivery.
    pub per_second_from_commit: f64,
}

pub async fn run(
    shim: &Shim,
    http: &reqwest::Client,
    key: &str,
    db: &Client,
    events: u64,
    timeout: Duration,
    clock: Clock,
) -> Result<Throughput> {
    let receiver = Receiver {
        tally: Arc::new(Mutex::new(Tally::default())),
        clock,
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let created = api(
        http,
        reqwest::Method::POST,
        &shim.url("/api/webhooks"),
        key,
        Some(json!({
            "url": format!("http://{addr}/hook"),
            "types": ["object.created"],
            "building": BUILDING,
            "under": WEBHOOK_DIR,
            "description": "real-time benchmark receiver",
        })),
        201,
    )
    .await?;
    let webhook = created["id"]
        .as_str()
        .ok_or_else(|| Error::Bench(format!("POST /api/webhooks returned no id: {created}")))?
        .to_owned();

    let count = i32::try_from(events)
        .map_err(|_| Error::Bench(format!("{events} webhook events are too many")))?;
    tracing::info!(events, "bulk INSERT of objects under {WEBHOOK_DIR}");
    db.execute(
        "INSERT INTO arxos.objects (building_id, path, type, properties)
         SELECT arxos.building_id($1), $2::text || '/o_' || i, 'sensor', jsonb_build_object('i', i)
           FROM generate_series(1, $3::int) i",
        &[&BUILDING, &WEBHOOK_DIR, &count],
    )
    .await?;
    let commit_us = clock.now_us();

    let started = Instant::now();
    let mut last_progress = (0usize, Instant::now());
    let tally = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let tally = receiver
            .tally
            .lock()
            .map(|t| t.snapshot())
            .map_err(|_| Error::Bench("receiver state poisoned".into()))?;
        if tally.delivered as u64 >= events {
            break tally;
        }
        if tally.delivered > last_progress.0 {
            last_progress = (tally.delivered, Instant::now());
        }
        if started.elapsed() >= timeout || last_progress.1.elapsed() >= STALL {
            tracing::warn!(
                delivered = tally.delivered,
                events,
                "webhook deliveries stopped short; see the attempt log below"
            );
            let log = api(
                http,
                reqwest::Method::GET,
                &shim.url(&format!("/api/webhooks/{webhook}/deliveries?limit=3")),
                key,
                None,
                200,
            )
            .await?;
            tracing::warn!(deliveries = %log, "latest deliveries");
            break tally;
        }
    };
    api(
        http,
        reqwest::Method::DELETE,
        &shim.url(&format!("/api/webhooks/{webhook}")),
        key,
        None,
        204,
    )
    .await?;
    let _ = stop.send(());
    match server.await {
        Ok(result) => result?,
        Err(e) => return Err(Error::Bench(format!("webhook receiver failed: {e}"))),
    }

    let delivered = tally.delivered as u64;
    let first_us = tally.first_us.unwrap_or(commit_us);
    let span = (tally.last_us - first_us) as f64 / 1e6;
    let from_commit = (tally.last_us - commit_us) as f64 / 1e6;
    Ok(Throughput {
        events,
        delivered,
        requests: tally.requests,
        commit_to_first_us: first_us - commit_us,
        commit_to_last_us: tally.last_us - commit_us,
        per_second: if span > 0.0 && delivered > 1 {
            (delivered - 1) as f64 / span
        } else {
            0.0
        },
        per_second_from_commit: if from_commit > 0.0 {
            delivered as f64 / from_commit
        } else {
            0.0
        },
    })
}

/// One API call with the key; fails unless the status is `expect`. Returns the JSON body
/// (`null` when there is none).
async fn api(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    key: &str,
    body: Option<Value>,
    expect: u16,
) -> Result<Value> {
    let mut request = http.request(method.clone(), url).header("x-api-key", key);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status.as_u16() != expect {
        return Err(Error::Bench(format!(
            "{method} {url} answered {status}: {text}"
        )));
    }
    if text.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_str(&text)
            .map_err(|e| Error::Bench(format!("{method} {url}: unreadable JSON ({e}): {text}")))
    }
}
