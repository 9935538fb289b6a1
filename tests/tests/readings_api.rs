//! `POST /api/buildings/{b}/readings`: batches of thousands, the latest metrics, the
//! instrumented flag, metric.recorded events (one per object per request), errors and scopes.

use arxos_e2e::{Cluster, Http, Shim};
use serde_json::{json, Value};

fn key(db: &mut postgres::Client, scope: &str) -> String {
    db.query_one(
        "SELECT key FROM arxos.create_api_key('t', ARRAY[$1])",
        &[&scope],
    )
    .unwrap()
    .get(0)
}

#[test]
fn batches_of_readings_feed_metrics_events_and_the_rating() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let http = Http::new();
    let mut db = cluster.client();
    db.batch_execute(
        "SELECT arxos.create_building('rb', 'Readings');
         SELECT arxos.put('rb', '/meters/m' || i, 'electric meter', parents => true) FROM generate_series(1, 10) i;",
    )
    .unwrap();
    let writer = key(&mut db, "write");
    let reader = key(&mut db, "read");
    let url = shim.url("/api/buildings/rb/readings");

    // 5,000 readings over 10 objects, out of order, one duplicate sample.
    let mut readings: Vec<Value> = (0..5000)
        .rev()
        .map(|i| {
            json!({"path": format!("/meters/m{}", i % 10 + 1), "value": i as f64,
                   "unit": "kWh",
                   "at": format!("2026-01-01T{:02}:{:02}:{:02}Z", i / 3600, (i / 60) % 60, i % 60)})
        })
        .collect();
    readings.push(
        json!({"path": "/meters/m1", "value": -1.0, "unit": "kWh", "at": "2026-01-01T00:00:00Z"}),
    );
    let before: i64 = db
        .query_one(
            "SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rb'))",
            &[],
        )
        .unwrap()
        .get(0);
    let reply = http.request(
        "POST",
        &url,
        &[("x-api-key", &writer), ("content-type", "application/json")],
        Some(serde_json::to_vec(&json!({"readings": readings})).unwrap()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({"recorded": 5000, "objects": 10}));

    let stored: i64 = db
        .query_one("SELECT count(*) FROM arxos.readings", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, 5000, "the duplicate replaced a sample");
    let first: f64 = db
        .query_one(
            "SELECT value FROM arxos.readings r JOIN arxos.objects o ON o.id = r.object_id
              WHERE o.path = '/meters/m1' AND r.at = '2026-01-01T00:00:00Z'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(first, -1.0, "the last of a batch wins");
    // The newest sample of m10 is i = 4999.
    let metrics: Value = db
        .query_one(
            "SELECT metrics::text FROM arxos.objects WHERE path = '/meters/m10'",
            &[],
        )
        .unwrap()
        .get::<_, String>(0)
        .parse()
        .unwrap();
    assert_eq!(metrics["reading"]["value"], 4999.0);
    assert_eq!(metrics["reading"]["unit"], "kWh");

    // Old samples (2026-01-01) do not instrument by themselves unless within 30 days of now;
    // a current reading does.
    let reply = http.post_json(
        &url,
        &json!([{"path": "/meters/m1", "value": 1.5, "unit": "kWh"}]),
    );
    assert_eq!(reply.status, 401, "a key is required");
    let reply = http.request(
        "POST",
        &url,
        &[("x-api-key", &writer), ("content-type", "application/json")],
        Some(br#"[{"path": "/meters/m1", "value": 1.5, "unit": "kWh"}]"#.to_vec()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let row = db
        .query_one(
            "SELECT i.instrumented, s.instrumented FROM arxos.rating_inputs(arxos.building_id('rb')) i,
                    arxos.rating_inputs_scan(arxos.building_id('rb')) s",
            &[],
        )
        .unwrap();
    let (counters, oracle): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(counters, oracle);
    assert!(counters > before, "{before} → {counters}");

    // One metric.recorded per object per transaction.
    let events: Vec<(String, Value)> = db
        .query(
            "SELECT path::text, body::text FROM arxos.events_since(0, types => ARRAY['metric.recorded'], building => 'rb', max => 10000)",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), serde_json::from_str(r.get(1)).unwrap()))
        .collect();
    assert_eq!(events.len(), 11, "10 objects in the batch, then one");
    let m10 = events.iter().find(|(p, _)| p == "/meters/m10").unwrap();
    assert_eq!(m10.1["count"], 500);
    assert_eq!(m10.1["value"], 4999.0);

    // Errors: unknown object (nothing written), bad body, read-only key.
    let n: i64 = db
        .query_one("SELECT count(*) FROM arxos.readings", &[])
        .unwrap()
        .get(0);
    let reply = http.request(
        "POST",
        &url,
        &[("x-api-key", &writer), ("content-type", "application/json")],
        Some(br#"[{"path": "/meters/m1", "value": 2}, {"path": "/nowhere", "value": 1}]"#.to_vec()),
    );
    assert_eq!(reply.status, 404, "{}", reply.body);
    let after: i64 = db
        .query_one("SELECT count(*) FROM arxos.readings", &[])
        .unwrap()
        .get(0);
    assert_eq!(after, n, "all or nothing");
    let reply = http.request(
        "POST",
        &url,
        &[("x-api-key", &writer), ("content-type", "application/json")],
        Some(br#"[{"path": "/meters/m1", "value": "high"}]"#.to_vec()),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    // Times: a zone is required, the future is refused, a batch creates at most 24 months.
    let many_months: Vec<Value> = (0..30)
        .map(|m| json!({"path": "/meters/m1", "value": 1, "at": format!("{}-{:02}-01T00:00:00Z", 1990 + m / 12, m % 12 + 1)}))
        .collect();
    for (body, says) in [
        (
            json!([{"path": "/meters/m1", "value": 2, "at": "2026-01-01T00:00:00"}]),
            "ISO 8601 with a zone",
        ),
        (
            json!([{"path": "/meters/m1", "value": 2, "at": "2999-01-01T00:00:00Z"}]),
            "ahead of the database clock",
        ),
        (json!(many_months), "one call creates at most 24"),
        // A misspelt key would leave the reading at now(); extra fields next to "readings",
        // a value whose bucket sums could overflow and a blank unit are refused too.
        (
            json!([{"path": "/meters/m1", "value": 2, "timestamp": "2026-01-01T00:00:00Z"}]),
            "reading 1 has an unknown key 'timestamp'",
        ),
        (
            json!({"readings": [{"path": "/meters/m1", "value": 2}], "units": "kW"}),
            r#"unknown field \"units\""#,
        ),
        (
            json!([{"path": "/meters/m1", "value": 1.79e308}]),
            "readings are 0 or 1e-100 to 1e100 in magnitude",
        ),
        (
            json!([{"path": "/meters/m1", "value": 1e-150}]),
            "readings are 0 or 1e-100 to 1e100 in magnitude",
        ),
        (
            json!([{"path": "/meters/m1", "value": 2, "unit": "  "}]),
            "no space at either end",
        ),
    ] {
        let reply = http.request(
            "POST",
            &url,
            &[("x-api-key", &writer), ("content-type", "application/json")],
            Some(serde_json::to_vec(&body).unwrap()),
        );
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(
            reply.json()["error"]["code"],
            "VALIDATION_ERROR",
            "{}",
            reply.body
        );
        assert!(reply.body.contains(says), "{}", reply.body);
    }
    let after: i64 = db
        .query_one("SELECT count(*) FROM arxos.readings", &[])
        .unwrap()
        .get(0);
    assert_eq!(after, n, "refused batches write nothing");
    let reply = http.request(
        "POST",
        &url,
        &[("x-api-key", &reader), ("content-type", "application/json")],
        Some(br#"[{"path": "/meters/m1", "value": 2}]"#.to_vec()),
    );
    assert_eq!(reply.status, 403, "{}", reply.body);
}
