//! The shim logged in as `arxos_authenticator`, the role production uses (docs/security.md),
//! instead of a superuser: requests (as `arxos_api`), the listener, webhook delivery and the
//! ticker work with that role's grants alone, and it cannot do more than they allow.

mod support;

use std::time::Duration;

use arxos_e2e::{wait_until, Cluster, Http, Shim};
use serde_json::json;
use support::receiver::{Mode, Receiver};
use support::{api_key, desks};

#[test]
fn the_shim_works_as_arxos_authenticator() {
    let cluster = Cluster::start();
    cluster
        .client()
        .batch_execute("ALTER ROLE arxos_authenticator LOGIN; SELECT arxos.load_sample()")
        .expect("let the authenticator log in");
    let url = format!(
        "postgres://arxos_authenticator@127.0.0.1:{}/arxos",
        cluster.port()
    );
    let shim = Shim::start_with(&url, &["--webhook-allow-networks", "127.0.0.0/8"], &[]);
    let key = api_key(&cluster, &["admin"]);
    let http = Http::new();
    let call = |method: &str, path: &str, body: Option<serde_json::Value>| {
        let mut headers = vec![("x-api-key", key.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        http.request(
            method,
            &shim.url(path),
            &headers,
            body.map(|b| b.to_string().into_bytes()),
        )
    };

    // Requests: a read and a write.
    let ls = call("GET", "/api/buildings/b42/ls/electrical", None);
    assert_eq!(ls.status, 200, "{}", ls.body);
    let put = call(
        "PUT",
        "/api/buildings/b42/objects/spaces/auth_room",
        Some(json!({"type": "room"})),
    );
    assert!(put.status == 200 || put.status == 201, "{}", put.body);

    // The listener sequences (events reach the outbox readers) and the worker delivers.
    let receiver = Receiver::start(Mode::Ok);
    let created = call(
        "POST",
        "/api/webhooks",
        Some(json!({"url": receiver.url("/"), "types": ["object.created"]})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    desks(&cluster, "auth", "d", 3);
    wait_until(Duration::from_secs(30), "three webhook deliveries", || {
        (receiver.count() >= 3).then_some(())
    });
    let recent = call(
        "GET",
        "/api/events/recent?types=object.created&limit=1000",
        None,
    )
    .json();
    assert!(
        recent["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "/spaces/auth_room"),
        "{recent}"
    );

    // The ticker's call, as the authenticator itself; and what it may not do on its own.
    let mut own =
        postgres::Client::connect(&url, postgres::NoTls).expect("connect as the authenticator");
    own.query_one("SELECT arxos.readings_maintenance()", &[])
        .expect("the authenticator keeps the readings' partitions ahead");
    own.query_one("SELECT arxos.tick()", &[])
        .expect("the authenticator runs the ticker");
    // (the shim's ticker runs it in batches)
    own.query_one(
        "SELECT recorded, next_after::text FROM arxos.tick_batch(NULL, 500)",
        &[],
    )
    .expect("the authenticator runs the ticker's batches");
    for refused in [
        "SELECT count(*) FROM arxos.list_webhooks()",
        "SELECT count(*) FROM arxos.api_keys",
        "SELECT arxos.drop_readings_before(now())",
        // a later time records a rating nobody has yet (a test's clock: the owner's)
        "SELECT arxos.tick(now() + interval '4 years')",
        "SELECT * FROM arxos.tick_batch(NULL, 500, now() + interval '1 day')",
    ] {
        let err = own.batch_execute(refused).expect_err(refused);
        let state = err.as_db_error().map(|e| e.code().code().to_owned());
        assert_eq!(state.as_deref(), Some("42501"), "{refused}: {err:?}");
    }
    // Nor as the API's role, which it may take: the key and webhook functions want an admin
    // key checked in their transaction (found by an audit: the login alone minted admin keys).
    // The admin requests above and below passed that check.
    for refused in [
        "SELECT arxos.create_api_key('backdoor', ARRAY['admin'])",
        "SELECT count(*) FROM arxos.list_webhooks()",
    ] {
        let sql = format!("BEGIN; SET LOCAL ROLE arxos_api; {refused}; COMMIT");
        let err = own.batch_execute(&sql).expect_err(refused);
        let db = err.as_db_error().expect("a database error");
        assert_eq!(db.code().code(), "42501", "{refused}: {err:?}");
        assert!(
            db.message()
                .contains("needs an admin API key checked in this transaction"),
            "{refused}: {err:?}"
        );
        own.batch_execute("ROLLBACK")
            .expect("end the failed transaction");
    }
    let keys = call("GET", "/api/keys", None);
    assert_eq!(keys.status, 200, "{}", keys.body);
    let second = call("GET", "/api/keys", None);
    assert_eq!(
        second.status, 200,
        "an admin check is never remembered: {}",
        second.body
    );
    let logs = shim.logs().join("\n");
    assert!(!logs.contains("permission denied"), "{logs}");
}

/// A role that cannot act as `arxos_api` is told at once: readiness and health answer 503
/// naming the grant to make, instead of 200 while every request is refused (found by an audit:
/// a revoked grant went unnoticed); the grant made again, they answer 200.
#[test]
fn a_role_without_the_api_grant_is_not_ready() {
    let cluster = Cluster::start();
    cluster
        .client()
        .batch_execute(
            "ALTER ROLE arxos_authenticator LOGIN; REVOKE arxos_api FROM arxos_authenticator",
        )
        .expect("an authenticator without arxos_api");
    let url = format!(
        "postgres://arxos_authenticator@127.0.0.1:{}/arxos",
        cluster.port()
    );
    let shim = Shim::start_with(&url, &[], &[]);
    let http = Http::new();
    // The public endpoints say it in short (no role name, no grant); the log says which.
    let ready = http.get(&shim.url("/api/health/ready"));
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        ready.body.contains("lacks the grants it needs") && !ready.body.contains("authenticator"),
        "{}",
        ready.body
    );
    let health = http.get(&shim.url("/api/health"));
    assert_eq!(health.status, 503, "{}", health.body);
    assert!(
        health.body.contains("lacks the grants it needs"),
        "{}",
        health.body
    );
    wait_until(
        Duration::from_secs(10),
        "the start-up error in the log",
        || {
            shim.logs()
                .iter()
                .any(|l| {
                    l.contains("ERROR")
                        && l.contains("not a member of arxos_api")
                        && l.contains("GRANT arxos_api TO arxos_authenticator")
                })
                .then_some(())
        },
    );
    cluster
        .client()
        .batch_execute("GRANT arxos_api TO arxos_authenticator")
        .expect("the grant made again");
    let ready = http.get(&shim.url("/api/health/ready"));
    assert_eq!(ready.status, 200, "{}", ready.body);

    // A bare login role, which cannot even look the schema up: its grants are what is missing,
    // not the database (found by an audit: "not reachable", "the database query failed").
    cluster
        .client()
        .batch_execute("CREATE ROLE bare_login LOGIN")
        .expect("a bare login role");
    let url = format!("postgres://bare_login@127.0.0.1:{}/arxos", cluster.port());
    let bare = Shim::start_with(&url, &["--no-query", "--no-webhook-worker"], &[]);
    let health = http.get(&bare.url("/api/health")).json();
    assert_eq!(health["database"]["reachable"], true, "{health}");
    assert!(
        health["database"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("lacks the grants it needs")),
        "{health}"
    );
    wait_until(
        Duration::from_secs(10),
        "the start-up error in the log",
        || {
            bare.logs()
                .iter()
                .any(|l| {
                    l.contains("ERROR") && l.contains("GRANT arxos_authenticator TO bare_login")
                })
                .then_some(())
        },
    );
}
