//! Delivery across failures: `kill -9` of the shim mid-burst, a PostgreSQL restart under a
//! running shim, streams opened or replaying while PostgreSQL is down, and two replicas
//! sharing the webhook work.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use arxos_e2e::{wait_until, Cluster, Http, Shim};
use serde_json::json;
use support::receiver::{Mode, Receiver};
use support::sse::SseClient;
use support::{api_key, desks, head};

const FLAGS: &[&str] = &[
    "--webhook-allow-networks",
    "127.0.0.0/8",
    "--webhook-retry-schedule",
    "200ms,500ms,1s,2s,5s",
    "--webhook-timeout",
    "20s",
];

fn webhook(shim: &Shim, key: &str, url: &str) {
    let reply = Http::new().request(
        "POST",
        &shim.url("/api/webhooks"),
        &[("x-api-key", key), ("content-type", "application/json")],
        Some(
            json!({"url": url, "types": ["object.created"]})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
}

fn distinct_ids(receiver: &Receiver) -> HashSet<String> {
    receiver
        .all()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect()
}

#[test]
fn kill_nine_mid_burst_loses_nothing() {
    let cluster = Cluster::start();
    let mut shim = Shim::start_with(&cluster.url(), FLAGS, &[]);
    let key = api_key(&cluster, &["admin"]);
    desks(&cluster, "k", "warmup", 1);
    let start = head(&cluster);
    let receiver = Receiver::start(Mode::Ok);
    webhook(&shim, &key, &receiver.url("/"));
    let mut stream = SseClient::connect(
        shim.addr(),
        &format!("/api/events?after={start}&types=object.created"),
        &[("X-API-Key", &key)],
    );
    stream.wait_ready();

    let writer = {
        let url = cluster.url();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for round in 0..20 {
                c.execute(
                    "INSERT INTO arxos.objects (building_id, path, type, status)
                     SELECT b.id, '/burst_' || $1::text || '_' || g, 'desk', 'active'
                       FROM arxos.buildings b, generate_series(1, 500) g WHERE b.key = 'k'",
                    &[&round.to_string()],
                )
                .unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    // Read some, then kill the shim in the middle of the burst.
    let mut got = stream.take(1000, Duration::from_secs(60));
    shim.signal("KILL");
    shim.wait_exit(Duration::from_secs(10))
        .expect("the shim died");
    while let Some(m) = stream.next(Duration::from_secs(2)) {
        got.push(m);
    }
    let shim = Shim::start_with(&cluster.url(), FLAGS, &[]);
    writer.join().unwrap();

    let last = got.last().unwrap().id.unwrap();
    let mut resumed = SseClient::connect(
        shim.addr(),
        "/api/events?types=object.created",
        &[("X-API-Key", &key), ("Last-Event-ID", &last.to_string())],
    );
    let left = 10_000 - got.len();
    got.extend(resumed.take(left, Duration::from_secs(120)));
    // Rating events interleave with the burst (filtered out here): ids increase, paths are
    // the burst's 10,000, each once.
    let ids: Vec<i64> = got.iter().map(|m| m.id.unwrap()).collect();
    assert!(ids[0] > start);
    assert!(
        ids.windows(2).all(|w| w[1] > w[0]),
        "in order, no duplicate"
    );
    let paths: HashSet<String> = got
        .iter()
        .map(|m| m.json()["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths.len(), 10_000, "all 10,000");
    assert!(
        resumed.next(Duration::from_millis(500)).is_none(),
        "nothing more"
    );

    wait_until(
        Duration::from_secs(120),
        "every event at the webhook receiver",
        || (distinct_ids(&receiver).len() >= 10_000).then_some(()),
    );
    assert_eq!(
        distinct_ids(&receiver).len(),
        10_000,
        "deduplicated by webhook-id: exactly 10,000"
    );
}

#[test]
fn a_postgres_restart_under_the_shim_is_caught_up() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FLAGS, &[]);
    let key = api_key(&cluster, &["admin"]);
    let receiver = Receiver::start(Mode::Ok);
    webhook(&shim, &key, &receiver.url("/"));
    desks(&cluster, "pg", "a", 10);
    let mut stream = SseClient::connect(
        shim.addr(),
        "/api/events?types=object.created&after=0",
        &[("X-API-Key", &key)],
    );
    let before = stream.take(10, Duration::from_secs(30));

    cluster.stop();
    std::thread::sleep(Duration::from_secs(1));
    cluster.restart();
    desks(&cluster, "pg", "b", 10);

    // The same stream goes on: the listener reconnected and caught up.
    let after = stream.take(10, Duration::from_secs(60));
    let ids: Vec<i64> = before.iter().chain(&after).map(|m| m.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    let paths: HashSet<String> = after
        .iter()
        .map(|m| m.json()["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        (1..=10).map(|i| format!("/b_{i}")).collect::<HashSet<_>>()
    );
    wait_until(Duration::from_secs(60), "20 webhook deliveries", || {
        (distinct_ids(&receiver).len() == 20).then_some(())
    });
}

/// The `retry:` hint (milliseconds) of a stream that ends on a database failure.
const RETRY_MS: u64 = 5000;

#[test]
fn a_stream_opened_while_postgres_is_down_is_told_when_to_retry() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let key = api_key(&cluster, &["read"]);
    cluster.stop();

    // Not 503: EventSource would give up for good. A 200 stream with `retry:` that ends at
    // once makes it come back later.
    let mut down = SseClient::connect(shim.addr(), "/api/events", &[("X-API-Key", &key)]);
    let status = down.status;
    assert_eq!(status, 200, "{}", down.body_text());
    assert_eq!(down.content_type.as_deref(), Some("text/event-stream"));
    assert_eq!(down.next(Duration::from_secs(20)), None);
    assert!(down.ended, "the stream ends at once");
    assert_eq!(down.retry, Some(RETRY_MS));

    // What a retry cannot fix keeps its status.
    let anonymous = SseClient::connect(shim.addr(), "/api/events", &[]);
    assert_eq!(anonymous.status, 401);
    for query in ["after=-1", "types=Not!a.type"] {
        let mut bad = SseClient::connect(
            shim.addr(),
            &format!("/api/events?{query}"),
            &[("X-API-Key", &key)],
        );
        let status = bad.status;
        assert_eq!(status, 400, "{query}: {}", bad.body_text());
    }

    cluster.restart();
    wait_until(
        Duration::from_secs(30),
        "the shim reaches the database",
        || (Http::new().get(&shim.url("/api/health/ready")).status == 200).then_some(()),
    );
    let mut up = SseClient::connect(shim.addr(), "/api/events", &[("X-API-Key", &key)]);
    assert_eq!(up.status, 200);
    up.wait_ready();
}

/// A shim started while PostgreSQL is down: its requests reach the database as soon as it is
/// back, its listener only after its backoff. A stream opened in between must not go live
/// before the listener knows where it starts: what is written meanwhile still arrives.
#[test]
fn a_stream_opened_before_the_listener_started_misses_nothing() {
    let cluster = Cluster::start();
    let key = api_key(&cluster, &["read"]);
    cluster.stop();
    let shim = Shim::start(&cluster.url());
    // The listener's reconnect backoff doubles to 5 s: by now its next try is seconds away.
    std::thread::sleep(Duration::from_secs(7));
    cluster.restart();
    let mut stream = SseClient::connect(
        shim.addr(),
        "/api/events?after=0&types=object.created",
        &[("X-API-Key", &key)],
    );
    let status = stream.status;
    assert_eq!(status, 200, "{}", stream.body_text());
    stream.wait_ready();
    desks(&cluster, "early", "d", 5);
    // Sequenced by someone else (a psql reader, another replica, the ticker) before this
    // shim's listener starts: the listener will begin after them.
    cluster
        .client()
        .batch_execute("SELECT count(*) FROM arxos.events_since(0, max => 100000)")
        .unwrap();
    let mut paths = Vec::new();
    while paths.len() < 5 {
        let Some(message) = stream.next(Duration::from_secs(20)) else {
            break;
        };
        paths.push(
            message.json()["path"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(paths.len(), 5, "{paths:?}");
}

#[test]
fn a_replay_cut_by_a_postgres_stop_ends_with_a_retry_hint() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let key = api_key(&cluster, &["read"]);
    let start = head(&cluster);
    // Far more than the socket buffers hold: the stream is still replaying when the
    // database goes.
    desks(&cluster, "cut", "d", 20_000);
    head(&cluster);
    let mut stream = SseClient::connect(
        shim.addr(),
        &format!("/api/events?after={start}"),
        &[("X-API-Key", &key)],
    );
    let mut got = stream.take(10, Duration::from_secs(30)).len();
    cluster.stop();
    while stream.next(Duration::from_secs(30)).is_some() {
        got += 1;
    }
    assert!(
        stream.ended,
        "the stream ended (after {got} events) rather than stalling"
    );
    assert!(got < 20_000, "the replay was cut short ({got} events)");
    assert_eq!(stream.retry, Some(RETRY_MS), "a retry hint before the end");
}

#[test]
fn two_replicas_deliver_each_event_once() {
    let cluster = Cluster::start();
    let one = Shim::start_with(&cluster.url(), FLAGS, &[]);
    let _two = Shim::start_with(&cluster.url(), FLAGS, &[]);
    let key = api_key(&cluster, &["admin"]);
    let receiver = Receiver::start(Mode::Ok);
    webhook(&one, &key, &receiver.url("/"));
    for round in 0..4 {
        desks(&cluster, "two", &format!("r{round}"), 500);
    }
    wait_until(Duration::from_secs(60), "2,000 deliveries", || {
        (distinct_ids(&receiver).len() == 2000).then_some(())
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(receiver.count(), 2000, "no event was sent twice");
    // Every attempt names the replica that made it. (Which replica claims which batch is up to
    // timing: one replica may well claim them all, so that is not asserted.)
    let workers: HashSet<String> = cluster
        .client()
        .query("SELECT DISTINCT worker FROM arxos.webhook_attempts", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        (1..=2).contains(&workers.len()) && workers.iter().all(|w| !w.is_empty()),
        "{workers:?}"
    );
}

#[test]
fn an_outbox_that_went_back_numbers_new_events_after_what_was_published() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FLAGS, &[]);
    let key = api_key(&cluster, &["read"]);
    // A live stream (no `after`): what it gets, the listener has published.
    let mut stream = SseClient::connect(
        shim.addr(),
        "/api/events?types=object.created",
        &[("X-API-Key", &key)],
    );
    stream.wait_ready();
    desks(&cluster, "back", "a", 10);
    let published = stream.take(10, Duration::from_secs(30));
    assert_eq!(published.len(), 10);
    let top = published.last().unwrap().id.unwrap();

    // A restore of a backup taken five events earlier (or a failover to a standby that was
    // behind): the outbox ends before the last event the listener published.
    // (As a restore writes: session_replication_role = replica, where the extension's
    // triggers, which keep the counter from going back, do not fire.)
    let mut db = cluster.client();
    let mut restore = db.transaction().unwrap();
    restore
        .batch_execute("SET LOCAL session_replication_role = replica")
        .unwrap();
    restore
        .execute("DELETE FROM arxos.events WHERE id > $1", &[&(top - 5)])
        .unwrap();
    restore
        .execute("UPDATE arxos.event_counter SET last_id = $1", &[&(top - 5)])
        .unwrap();
    restore.commit().unwrap();
    drop(db);
    cluster.stop();
    cluster.restart();
    wait_until(Duration::from_secs(60), "the listener to notice", || {
        shim.logs()
            .iter()
            .any(|l| l.contains("the outbox is behind"))
            .then_some(())
    });

    // New events get ids past what the stream has seen, so the same stream gets them.
    desks(&cluster, "back", "b", 3);
    let after = stream.take(3, Duration::from_secs(60));
    let ids: Vec<i64> = after.iter().map(|m| m.id.unwrap()).collect();
    assert!(
        ids.len() == 3 && ids[0] > top && ids.windows(2).all(|w| w[1] > w[0]),
        "{ids:?}, top {top}"
    );
    let paths: Vec<String> = after
        .iter()
        .map(|m| m.json()["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["/b_1", "/b_2", "/b_3"]);
}
