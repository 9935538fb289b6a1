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
    let mut shim = Shim::start(&cluster.url());
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
    assert!(stream.next(Duration::from_secs(8)).is_none());
    assert!(stream.ended, "the stream ended rather than timed out");
    assert_eq!(stream.retry, Some(5000));
    assert_eq!(stream.last_event_id, Some(at));
    let status = shim
        .wait_exit(Duration::from_secs(20))
        .expect("the shim exits");
    assert!(status.success(), "{status:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(8),
        "the shim did not wait its 10 s grace for the stream: {:?}",
        stopping.elapsed()
    );
    let n: i64 = db
        .query_one("select count(*) from arxos.listeners", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the registration was removed at shutdown");
}
