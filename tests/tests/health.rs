//! The health endpoints, with the database up, down, and back.

use std::time::Duration;

use arxos_e2e::{wait_until, Cluster, Http, Shim};

#[test]
fn health_reports_versions_and_the_database() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let reply = Http::new().get(&shim.url("/api/health"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply
        .header("content-type")
        .is_some_and(|v| v.starts_with("application/json")));
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["extension_version"], "0.1.0");
    assert_eq!(body["database"]["reachable"], true);
    let round_trip = body["database"]["round_trip_ms"]
        .as_f64()
        .expect("round_trip_ms is a number");
    assert!(round_trip >= 0.0, "{round_trip}");
    assert!(body["uptime_seconds"].is_u64(), "{body}");
    let listener = wait_until(Duration::from_secs(10), "the listener's session", || {
        let body = Http::new().get(&shim.url("/api/health")).json();
        (body["listener"]["connected"] == true).then_some(body)
    });
    assert!(listener["listener"]["for_seconds"].is_u64(), "{listener}");
}

/// A listener that reads nothing (its sessions are set up and then fail at their first read,
/// again and again: an event inserted by hand at the top of the ids stops the sequencer)
/// leaves REST working but SSE and webhooks without new events: `/api/health` says so once
/// the grace has passed, though the listener's session comes and goes, and says it no more
/// once the listener reads again. Readiness stays 200 (REST works). (A listener held off by a
/// role's connection limit degrades the same way, but a test of it also holds off the pool's
/// new connections, which makes the database look unreachable first.)
#[test]
fn health_tells_of_a_listener_that_reads_nothing() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let http = Http::new();
    let health = || http.get(&shim.url("/api/health"));
    wait_until(Duration::from_secs(10), "the listener's first read", || {
        (health().json()["listener"]["last_read_seconds_ago"].is_u64()).then_some(())
    });
    let mut db = cluster.client();
    db.batch_execute(
        "INSERT INTO arxos.events (id, type, actor, at) VALUES (9223372036854775000, 'dba.note', 'dba', now());
         SELECT arxos.load_sample()",
    )
    .expect("jam the sequencer");
    let degraded = wait_until(Duration::from_secs(40), "a degraded health", || {
        let reply = health();
        (reply.status == 503).then_some(reply)
    });
    let body = degraded.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["database"]["reachable"], true, "{body}");
    assert!(
        body["listener"]["last_read_seconds_ago"].as_u64().unwrap() >= 15,
        "{body}"
    );
    assert_eq!(http.get(&shim.url("/api/health/ready")).status, 200);
    let metrics = http.get(&shim.url("/metrics"));
    assert_eq!(metrics.status, 200);
    let quiet: f64 = metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix("arxos_event_listener_quiet_seconds "))
        .expect("the quiet gauge")
        .parse()
        .expect("a number");
    assert!(quiet >= 15.0, "{quiet}");
    db.batch_execute("DELETE FROM arxos.events WHERE type = 'dba.note'")
        .expect("unjam");
    wait_until(
        Duration::from_secs(30),
        "the listener reading again",
        || {
            let reply = health();
            (reply.status == 200 && reply.json()["listener"]["connected"] == true).then_some(())
        },
    );
}

#[test]
fn live_and_ready_answer_200() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let http = Http::new();
    let live = http.get(&shim.url("/api/health/live"));
    assert_eq!(live.status, 200, "{}", live.body);
    assert_eq!(live.json()["status"], "ok");
    let ready = http.get(&shim.url("/api/health/ready"));
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["status"], "ok");

    // Another version of the extension than the server's: not ready, and saying which.
    let mut db = cluster.client();
    db.batch_execute("UPDATE pg_extension SET extversion = '9.9.9' WHERE extname = 'arxos'")
        .expect("pretend another version");
    for path in ["/api/health/ready", "/api/health"] {
        let reply = http.get(&shim.url(path));
        assert_eq!(reply.status, 503, "{path}: {}", reply.body);
        assert!(
            reply.body.contains("the arxos extension is version 9.9.9"),
            "{path}: {}",
            reply.body
        );
    }
    db.batch_execute(&format!(
        "UPDATE pg_extension SET extversion = '{}' WHERE extname = 'arxos'",
        env!("CARGO_PKG_VERSION")
    ))
    .expect("back");
    assert_eq!(http.get(&shim.url("/api/health/ready")).status, 200);

    // Without the extension every API call would fail: not ready, and saying why. (The DROP
    // locks the extension's tables one by one while the shim's listener and health checks
    // read some of them: PostgreSQL may end either side as a deadlock, 40P01, and a DROP so
    // ended is tried again, as a DBA would; found by CI.)
    wait_until(
        Duration::from_secs(60),
        "the extension dropped",
        || match cluster
            .client()
            .batch_execute("DROP EXTENSION arxos CASCADE")
        {
            Ok(()) => Some(()),
            Err(e) if e.code() == Some(&postgres::error::SqlState::T_R_DEADLOCK_DETECTED) => None,
            Err(e) => panic!("drop the extension: {e}"),
        },
    );
    let ready = http.get(&shim.url("/api/health/ready"));
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(
        ready.json()["error"],
        "the arxos extension is not installed",
        "{}",
        ready.body
    );
    // And an API call says what is wrong with the database (503), not "internal error" (500).
    let reply = http.request(
        "GET",
        &shim.url("/api/buildings"),
        &[("authorization", "Bearer arx_0000")],
        None,
    );
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not have the arxos extension")),
        "{}",
        reply.body
    );
    // Every 503 says when to try again.
    assert_eq!(
        reply.header("retry-after"),
        Some("5"),
        "{:?}",
        reply.headers
    );
    // A request whose statements cannot even be prepared opened no transaction, so none is
    // rolled back: the server's "there is no transaction in progress" warning came back in
    // the log on every such request.
    assert!(
        !shim
            .logs()
            .iter()
            .any(|l| l.contains("no transaction in progress")),
        "{:?}",
        shim.logs()
    );
}

#[test]
fn health_follows_the_database_down_and_back_up() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let http = Http::new();
    // Put a connection in the pool first, so recovery has a dead one to get rid of.
    assert_eq!(http.get(&shim.url("/api/health")).status, 200);

    cluster.stop();
    let ready = http.get(&shim.url("/api/health/ready"));
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(ready.json()["status"], "unavailable");
    assert_eq!(ready.header("retry-after"), Some("5"), "as every 503");
    // A key the database cannot judge, with input the shim refuses: the refusal stands (a
    // retry cannot fix the input).
    let unjudged = http.request(
        "GET",
        &shim.url("/api/objects?building=b42&bogus=1"),
        &[("x-api-key", "arx_0000000000000000000000000000000000000000")],
        None,
    );
    assert_eq!(unjudged.status, 400, "{}", unjudged.body);
    let health = http.get(&shim.url("/api/health"));
    assert_eq!(health.status, 503, "{}", health.body);
    let body = health.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"]["reachable"], false);
    assert!(body["database"]["error"].is_string(), "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    // The process itself is fine.
    assert_eq!(http.get(&shim.url("/api/health/live")).status, 200);

    cluster.restart();
    wait_until(Duration::from_secs(30), "ready to answer 200 again", || {
        (http.get(&shim.url("/api/health/ready")).status == 200).then_some(())
    });
    let health = http.get(&shim.url("/api/health"));
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["database"]["reachable"], true);
}

#[test]
fn server_starts_while_the_database_is_down() {
    let cluster = Cluster::start();
    cluster.stop();
    let shim = Shim::start(&cluster.url());
    let http = Http::new();
    assert_eq!(http.get(&shim.url("/api/health/live")).status, 200);
    assert_eq!(http.get(&shim.url("/api/health/ready")).status, 503);
    cluster.restart();
    wait_until(Duration::from_secs(30), "health to answer 200", || {
        (http.get(&shim.url("/api/health")).status == 200).then_some(())
    });
}

/// When every pooled connection is busy (requests waiting on a lock a DBA holds), the answers
/// say so, and say when to come back: not "the database is unavailable", which it is not.
#[test]
fn a_busy_pool_is_told_apart_from_a_database_that_is_down() {
    let cluster = Cluster::start();
    let mut db = cluster.client();
    db.batch_execute("SELECT arxos.load_sample()")
        .expect("sample");
    let key: String = db
        .query_one(
            "SELECT key FROM arxos.create_api_key('busy', ARRAY['read'])",
            &[],
        )
        .expect("key")
        .get(0);
    let shim = Shim::start_with(
        &cluster.url(),
        &["--pool-size", "1", "--rate-limit", "0"],
        &[],
    );
    let http = Http::new();
    // Warm the key's identity, so that the held request below is the only one needing a
    // connection.
    let url = shim.url("/api/buildings/b42/objects/electrical");
    assert_eq!(
        http.request("GET", &url, &[("x-api-key", &key)], None)
            .status,
        200
    );
    let mut dba = cluster.client();
    dba.batch_execute("BEGIN; LOCK TABLE arxos.objects IN ACCESS EXCLUSIVE MODE")
        .expect("lock");
    let held = {
        let (http, url, key) = (http.clone(), url.clone(), key.clone());
        std::thread::spawn(move || http.request("GET", &url, &[("x-api-key", &key)], None))
    };
    // The held request has the connection and waits on the lock (polled: a fixed pause
    // assumed it got there in time); then a moment more, past the stall after which its
    // connection takes no other request's statement (crate::lanes).
    let mut watcher = cluster.client();
    wait_until(Duration::from_secs(30), "the held request waits", || {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        (waiting > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(200));
    let refused = http.request(
        "GET",
        &shim.url("/api/buildings"),
        &[("x-api-key", &key)],
        None,
    );
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("this server's are all in use (--pool-size)"),
        "{}",
        refused.body
    );
    assert_eq!(refused.header("retry-after"), Some("5"));
    let health = http.get(&shim.url("/api/health"));
    assert_eq!(health.status, 503, "{}", health.body);
    assert!(
        health
            .body
            .contains("every database connection of this server is in use"),
        "{}",
        health.body
    );
    // The database is up (its connections are open and held): not a database outage.
    assert_eq!(
        health.json()["database"]["reachable"],
        true,
        "{}",
        health.body
    );
    dba.batch_execute("ROLLBACK").expect("unlock");
    assert_eq!(held.join().unwrap().status, 200);
}

/// A database whose schema another build of the extension made (its install script's digest
/// is not the installed one's; before the first release every build is 0.1.0, so the versions
/// agree) is not ready, and says what to do; so is one whose schema predates the check (found
/// by a review: a new build over an old database went unnoticed).
#[test]
fn a_schema_made_by_another_build_is_not_ready() {
    let cluster = Cluster::start();
    let mut db = cluster.client();
    let problem: Option<String> = db
        .query_one("SELECT arxos.schema_problem()", &[])
        .unwrap()
        .get(0);
    assert_eq!(problem, None, "a database made by the installed build");
    // The schema as another build would have made it.
    db.batch_execute(
        "CREATE OR REPLACE FUNCTION arxos.schema_made_from() RETURNS text LANGUAGE sql IMMUTABLE
             AS $$ SELECT repeat('0', 64) $$",
    )
    .unwrap();
    let shim = Shim::start(&cluster.url());
    let http = Http::new();
    let ready = http.get(&shim.url("/api/health/ready"));
    assert_eq!(ready.status, 503, "{}", ready.body);
    let error = ready.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with("this database's arxos schema was made by another build of the extension than the one installed (from an install script with digest 000000000000…")
            && error.contains("Dump the database and restore it into a new one made with this build"),
        "{error}"
    );
    let health = http.get(&shim.url("/api/health")).json();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["database"]["error"], error.as_str());
    drop(shim);

    // A library older than the schema: a function the check calls is missing from it.
    not_ready_after(
        &cluster,
        "arxos.install_script_digest()",
        "arxos.schema_problem() failed (function arxos.install_script_digest() does not exist): the installed build of the extension is not the one",
    );
    // A schema older than the check: no arxos.schema_problem() at all.
    not_ready_after(
        &cluster,
        "arxos.schema_problem()",
        "this database's arxos schema was made by an older build of the extension than the one installed (it has no arxos.schema_problem())",
    );
}

/// With `function` (of the extension) dropped, a new shim's readiness is 503 with an error
/// starting `error`.
fn not_ready_after(cluster: &Cluster, function: &str, error: &str) {
    cluster
        .client()
        .batch_execute(&format!(
            "ALTER EXTENSION arxos DROP FUNCTION {function}; DROP FUNCTION {function}"
        ))
        .unwrap();
    let shim = Shim::start(&cluster.url());
    let ready = Http::new().get(&shim.url("/api/health/ready"));
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        ready.json()["error"].as_str().unwrap().starts_with(error),
        "{}",
        ready.body
    );
}
