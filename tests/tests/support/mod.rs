//! Helpers shared by the real-time and webhook tests: an SSE reader, a webhook receiver, keys
//! and event generators.
#![allow(dead_code)]

pub mod receiver;
pub mod sse;

use arxos_e2e::{Cluster, Http, Shim};

/// A new API key with the given scopes (all buildings).
pub fn api_key(cluster: &Cluster, scopes: &[&str]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    cluster
        .client()
        .query_one(
            "SELECT key FROM arxos.create_api_key('test', $1)",
            &[&scopes],
        )
        .expect("create an API key")
        .get(0)
}

/// A building `key` with `n` desks under /f: `n + 1`-ish events (one per object, plus the
/// building's own).
pub fn desks(cluster: &Cluster, building: &str, prefix: &str, n: i32) {
    let mut client = cluster.client();
    client
        .execute(
            "SELECT arxos.create_building($1, $1) WHERE NOT EXISTS (SELECT 1 FROM arxos.buildings WHERE key = $1)",
            &[&building],
        )
        .expect("create building");
    client
        .execute(
            "INSERT INTO arxos.objects (building_id, path, type, status)
             SELECT b.id, '/' || $2 || '_' || g, 'desk', 'active'
               FROM arxos.buildings b, generate_series(1, $3) g WHERE b.key = $1",
            &[&building, &prefix, &n],
        )
        .expect("insert desks");
}

/// The outbox's last event id, once every committed event is sequenced. (A running shim's
/// listener may hold the sequencer's lock, and then `sequence_events` returns 0 at once: wait
/// until nothing is pending rather than trusting one call.) Call it when no writes are running.
pub fn head(cluster: &Cluster) -> i64 {
    let mut client = cluster.client();
    arxos_e2e::wait_until(
        std::time::Duration::from_secs(30),
        "every committed event is sequenced and every rating delta folded",
        || {
            // The shim's listener may hold the sequencer's lock (then this returns 0) and folds
            // the rating deltas lazily: wait for both queues, or the rating events of the
            // writes so far could still arrive after the head.
            client
                .execute("SELECT arxos.sequence_events(100000)", &[])
                .unwrap();
            let pending: i64 = client
                .query_one(
                    "SELECT (SELECT count(*) FROM arxos.events_pending)                           + (SELECT count(*) FROM arxos.rating_deltas)",
                    &[],
                )
                .unwrap()
                .get(0);
            (pending == 0).then_some(())
        },
    );
    client
        .query_one("SELECT last_id FROM arxos.event_counter", &[])
        .unwrap()
        .get(0)
}

/// The value of one series of the shim's `/metrics`, e.g.
/// `arxos_events_delivered_total{transport="sse"}` (0 when it is not there).
pub fn metric(shim: &Shim, series: &str) -> f64 {
    let reply = Http::new().get(&shim.url("/metrics"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
        .body
        .lines()
        .find_map(|line| {
            let value = line.strip_prefix(series)?.strip_prefix(' ')?;
            value.trim().parse().ok()
        })
        .unwrap_or(0.0)
}
