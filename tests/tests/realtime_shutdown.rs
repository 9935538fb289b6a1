//! A stopped shim unregisters its event listener, so writers stop sending it wake-ups at once,
//! and ends its open event streams, each with its position and a retry hint.

mod support;

use std::time::{Duration, Instant};

use arxos_e2e::{wait_until, Cluster, Shim};
use support::sse::SseClient;
use support::{api_key, head};

#[test]
fn sigterm_removes_the_listener_registration() {
    let cluster = Cluster::start();
    // A grace far longer than the bounds below: a shim that waited it would be told apart
    // from a slow machine.
    let mut shim = Shim::start_with(&cluster.url(), &[], &[("ARXOS_SHUTDOWN_GRACE", "120")]);
    let mut db = cluster.client();
    wait_until(Duration::from_secs(20), "the listener registers", || {
        let n: i64 = db
            .query_one("select count(*) from arxos.listeners", &[])
            .unwrap()
            .get(0);
        (n == 1).then_some(())
    });
    let key = api_key(&cluster, &["read"]);
    let mut stream = SseClient::connect(shim.addr(), "/api/events", &[("X-API-Key", &key)]);
    stream.wait_ready();
    let at = head(&cluster);
    let stopping = Instant::now();
    shim.signal("TERM");
    // The stream ends at once (not after the grace period), saying when to come back and where
    // from.
    assert!(stream.next(Duration::from_secs(60)).is_none());
    assert!(stream.ended, "the stream ended rather than timed out");
    assert_eq!(stream.retry, Some(5000));
    assert_eq!(stream.last_event_id, Some(at));
    let status = shim
        .wait_exit(Duration::from_secs(90))
        .expect("the shim exits");
    assert!(status.success(), "{status:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(60),
        "the shim did not wait its 120 s grace for the stream: {:?}",
        stopping.elapsed()
    );
    let n: i64 = db
        .query_one("select count(*) from arxos.listeners", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the registration was removed at shutdown");
}

/// A second SIGTERM ends the grace period: a request held up by a lock does not keep the shim
/// running for the rest of it (before, only SIGKILL stopped it sooner).
#[test]
fn a_second_sigterm_stops_at_once() {
    let cluster = Cluster::start();
    let mut db = cluster.client();
    db.batch_execute("SELECT arxos.load_sample()")
        .expect("the sample building");
    let mut shim = Shim::start_with(&cluster.url(), &["--shutdown-grace", "120"], &[]);
    let key = api_key(&cluster, &["read", "write"]);
    // A write that waits on a row lock held here.
    let mut holder = cluster.client();
    holder
        .batch_execute("BEGIN; SELECT 1 FROM arxos.objects WHERE path = '/electrical' FOR UPDATE")
        .expect("hold the object's row");
    let url = shim.url("/api/buildings/b42/objects/electrical");
    let waiting = std::thread::spawn(move || {
        arxos_e2e::Http::new().try_request(
            "PATCH",
            &url,
            &[
                ("x-api-key", key.as_str()),
                ("content-type", "application/json"),
            ],
            Some(br#"{"health": 90}"#.to_vec()),
        )
    });
    wait_until(
        Duration::from_secs(20),
        "the write to wait on the lock",
        || {
            let n: i64 = db
                .query_one(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap()
                .get(0);
            (n > 0).then_some(())
        },
    );
    shim.signal("TERM");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        shim.wait_exit(Duration::from_millis(100)).is_none(),
        "the first SIGTERM waits for the request"
    );
    let second = Instant::now();
    shim.signal("TERM");
    let status = shim
        .wait_exit(Duration::from_secs(30))
        .expect("the shim exits after the second SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(
        second.elapsed() < Duration::from_secs(30),
        "stopped within its 120 s grace"
    );
    assert!(
        shim.logs()
            .iter()
            .any(|l| l.contains("second signal: stopping now")),
        "{:?}",
        shim.logs()
    );
    holder.batch_execute("ROLLBACK").expect("release the row");
    let _ = waiting.join();
}
