//! POST /api/query: faithful types, and the database refusing what it must.

mod api_common;

use api_common::{assert_error, create_key, Api};
use serde_json::{json, Value};

fn query(api: &Api, key: &str, sql: &str, params: Value) -> arxos_e2e::Reply {
    api.send_as(
        key,
        "POST",
        "/api/query",
        Some(&json!({"sql": sql, "params": params})),
    )
}

#[test]
fn values_keep_their_postgres_types() {
    let api = Api::start();
    let r = query(
        &api,
        &api.key,
        "SELECT id, path, health, properties, updated_at, 1.50::numeric AS n,
                ARRAY[1, 2] AS a, NULL::text AS z, 12345678901234567890::numeric AS big
           FROM objects WHERE building = $1 AND path = $2",
        json!(["b42", "/electrical"]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // `"params": null` is no parameters, as for every field of a body sent as null
    let none = query(&api, &api.key, "SELECT 1 AS one", Value::Null);
    assert_eq!(none.status, 200, "{}", none.body);
    assert_eq!(none.json()["rows"], json!([[1]]));
    let body = r.json();
    let types: Vec<&str> = body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "uuid",
            "text",
            "int2",
            "jsonb",
            "timestamptz",
            "numeric",
            "int4[]",
            "text",
            "numeric"
        ]
    );
    let row = &body["rows"][0];
    assert_eq!(row[1], "/electrical");
    assert_eq!(row[3]["description"], "Electrical distribution");
    assert!(row[4].as_str().unwrap().contains('T'), "{row}");
    assert_eq!(row[6], json!([1, 2]));
    assert_eq!(row[7], Value::Null);
    // Numeric digits survive (1.50, and a number beyond 64 bits) in the raw body.
    assert!(r.body.contains("1.50"), "{}", r.body);
    assert!(r.body.contains("12345678901234567890"), "{}", r.body);
    assert_eq!(body["truncated"], false);

    // Wider than one json_build_array's 100 arguments (found by a review: refused).
    let wide: Vec<String> = (1..=205).map(|i| format!("{i} AS c{i}")).collect();
    let r = query(
        &api,
        &api.key,
        &format!("SELECT {}", wide.join(", ")),
        json!([]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let row = r.json()["rows"][0].clone();
    let expected: Vec<Value> = (1..=205).map(|i| json!(i)).collect();
    assert_eq!(row, Value::Array(expected));
}

/// A `;` that PostgreSQL ignores before or after the query (a trailing comment copied from
/// an editor) is bad input, 400, not a write (found by a review: 403 "read-only").
#[test]
fn stray_semicolons_are_bad_input_not_writes() {
    let api = Api::start();
    for sql in ["SELECT 1; ;", "SELECT 1 ;\n ; "] {
        let r = query(&api, &api.key, sql, json!([]));
        assert_eq!(r.status, 200, "{sql}: {}", r.body);
        assert_eq!(r.json()["rows"], json!([[1]]), "{sql}");
    }
    for sql in ["SELECT 1; -- total", "SELECT 1; /* x */", "; SELECT 1"] {
        let r = query(&api, &api.key, sql, json!([]));
        let body = assert_error(&r, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("a `;` before or after its query"),
            "{sql}: {message}"
        );
    }
    // A write is still refused as one.
    let r = query(&api, &api.key, "SET work_mem = '1GB'", json!([]));
    let body = assert_error(&r, 403, "FORBIDDEN");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("read-only"),
        "{body}"
    );
}

#[test]
fn what_must_be_refused_is_refused() {
    let api = Api::start_with(&[
        "--rate-limit",
        "0",
        "--query-rate-limit",
        "0",
        "--query-timeout-ms",
        // (long enough that a refusal is never a timeout on a loaded machine)
        "3000",
    ]);
    let k = api.key.clone();
    let cases = [
        ("SELECT pg_sleep(600)", 400),
        ("SELECT * FROM arxos.api_keys", 403),
        ("SELECT * FROM arxos.objects", 403),
        ("SELECT 1; SELECT 2", 400),
        ("SELECT set_config('role', 'postgres', true)", 403),
        ("SELECT * FROM nope", 400),
    ];
    for (sql, status) in cases {
        let r = query(&api, &k, sql, json!([]));
        assert_eq!(r.status, status, "{sql}: {}", r.body);
        assert!(r.json()["error"]["code"].is_string(), "{sql}: {}", r.body);
    }
    // The endpoint is read-only: whatever is not one query (a write, through a view PostgreSQL
    // could update or not, DDL, COPY, SET) is 403, saying so.
    for sql in [
        "DELETE FROM objects",
        "delete from objects",
        "WITH d AS (DELETE FROM objects RETURNING 1) SELECT * FROM d",
        "DELETE FROM statuses",
        "UPDATE events SET type = 'x'",
        "INSERT INTO statuses (status) VALUES ('x')",
        "SELECT 1 AS x INTO made",
        "CREATE TABLE made (x int)",
        "COPY (SELECT 1) TO PROGRAM 'touch /tmp/arxos-pwned'",
        "SET work_mem = '1GB'",
    ] {
        let r = query(&api, &k, sql, json!([]));
        let body = assert_error(&r, 403, "FORBIDDEN");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("POST /api/query is read-only"),
            "{sql}: {body}"
        );
    }
    let view = query(&api, &k, "DELETE FROM objects", json!([]));
    let body = view.json();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with(r#"cannot delete from view "objects""#),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["sqlstate"], "55000", "{body}");
    let slow = query(&api, &k, "SELECT pg_sleep(600)", json!([]));
    assert_error(&slow, 400, "QUERY_TIMEOUT");
    assert!(!std::path::Path::new("/tmp/arxos-pwned").exists());
    // a query cannot use the server's begin_query to test keys: refused before the key is
    // looked at, the same for a key that does not exist and for a real one
    for key in ["arx_0000", k.as_str()] {
        let probe = query(
            &api,
            &k,
            &format!("SELECT * FROM begin_query('{key}')"),
            json!([]),
        );
        let body = assert_error(&probe, 403, "FORBIDDEN");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("begin_query is the server's"),
            "{body}"
        );
    }
    assert_eq!(
        api.sql_one::<i64>("SELECT count(*) FROM arxos.objects"),
        19,
        "nothing deleted"
    );
    // A column named like a keyword is fine: no keyword filtering.
    let ok = query(
        &api,
        &k,
        "SELECT max(updated_at) AS updated_at FROM objects",
        json!([]),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_error(
        &api.send("POST", "/api/query", Some(&json!({"sql": "  "}))),
        400,
        "VALIDATION_ERROR",
    );
}

/// Advisory locks are plain functions any role may call: a query must not hold up the
/// sequencer with one, nor leave one on its pooled connection.
#[test]
fn advisory_locks_do_not_outlive_a_query() {
    let api = Api::start();
    for sql in [
        "SELECT pg_advisory_lock(hashtext('arxos.sequence_events'))",
        "SELECT pg_advisory_lock(42)",
        "SELECT pg_try_advisory_lock(7, 7)",
    ] {
        let r = query(&api, &api.key, sql, json!([]));
        assert_eq!(r.status, 200, "{sql}: {}", r.body);
    }
    assert_eq!(
        api.sql_one::<i64>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
        0
    );
    // The sequencer's lock is not an advisory lock: taking one in a query holds nothing up.
    let mut db = api.cluster.client();
    let mut tx = db.transaction().unwrap();
    let held = tx
        .query_one(
            "SELECT pg_try_advisory_lock(hashtext('arxos.sequence_events'))",
            &[],
        )
        .unwrap();
    assert!(held.get::<_, bool>(0));
    let put = api.send(
        "PUT",
        "/api/buildings/b42/objects/lock_probe",
        Some(&json!({"type": "thing"})),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let sequenced = api.sql_one::<i64>(
        "SELECT count(*) FROM arxos.events_since(0, ARRAY['object.created']) WHERE path = '/lock_probe'",
    );
    assert_eq!(sequenced, 1);
    tx.rollback().unwrap();
}

#[test]
fn building_scope_holds_inside_queries() {
    let api = Api::start();
    assert_eq!(
        api.send(
            "POST",
            "/api/buildings",
            Some(&json!({"key": "other", "name": "O"}))
        )
        .status,
        201
    );
    assert_eq!(
        api.send(
            "PUT",
            "/api/buildings/other/objects/secret",
            Some(&json!({"type": "vault"}))
        )
        .status,
        201
    );
    let scoped = create_key(&api.cluster, "b42-only", &["read"], Some(&["b42"]));
    let buildings = query(
        &api,
        &scoped,
        "SELECT DISTINCT building FROM objects",
        json!([]),
    );
    assert_eq!(
        buildings.json()["rows"],
        json!([["b42"]]),
        "{}",
        buildings.body
    );
    // Settings a query can change do not widen its scope.
    let widened = query(
        &api,
        &scoped,
        "SELECT set_config('arxos.building_ids', '', true), (SELECT count(*) FROM objects WHERE building = 'other')",
        json!([]),
    );
    assert_eq!(widened.status, 200, "{}", widened.body);
    assert_eq!(widened.json()["rows"][0][1], 0);
    let all = query(
        &api,
        &api.key,
        "SELECT count(*) FROM objects WHERE building = 'other'",
        json!([]),
    );
    assert_eq!(all.json()["rows"][0][0], 1);
}

#[test]
fn rows_are_capped_and_query_has_its_own_rate_limit() {
    let api = Api::start_with(&[
        "--rate-limit",
        "0",
        "--query-rate-limit",
        "2",
        "--query-rate-limit-burst",
        "2",
        "--query-max-rows",
        "3",
        "--query-max-bytes",
        "1024",
    ]);
    let r = query(
        &api,
        &api.key,
        "SELECT path FROM objects ORDER BY path",
        json!([]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["row_count"], 3);
    assert_eq!(body["truncated"], true);
    // a GET there (405) is an ordinary request: it spends none of the query budget
    assert_eq!(api.get("/api/query").status, 405);
    assert_eq!(query(&api, &api.key, "SELECT 1", json!([])).status, 200);
    assert_error(
        &query(&api, &api.key, "SELECT 1", json!([])),
        429,
        "RATE_LIMITED",
    );
    // Bytes (another key: its own rate budget). Each row is ["xxx…"] (404 bytes), so two fit
    // in 1024 and the third is cut before the row cap; a row larger than the limit alone
    // leaves an empty, truncated answer.
    let other = create_key(&api.cluster, "bytes", &["read"], None);
    let r = query(
        &api,
        &other,
        "SELECT repeat('x', 400) FROM generate_series(1, $1::int)",
        json!([3]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(
        (body["row_count"].clone(), body["truncated"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(body["rows"][1][0].as_str().unwrap().len(), 400);
    let r = query(&api, &other, "SELECT repeat('x', 2000)", json!([]));
    let body = r.json();
    assert_eq!(
        (body["row_count"].clone(), body["truncated"].clone()),
        (json!(0), json!(true)),
        "{}",
        r.body
    );
    assert_eq!(
        api.get("/api/buildings").status,
        200,
        "other routes keep their own budget"
    );
}

/// A query role that cannot log in is reported when the server starts, and its 503 says which
/// connection failed instead of "the database is unavailable".
#[test]
fn a_query_role_without_login_is_reported_at_start() {
    let cluster = arxos_e2e::Cluster::start();
    cluster
        .client()
        .batch_execute("ALTER ROLE arxos_query NOLOGIN; SELECT arxos.load_sample();")
        .expect("prepare the database");
    let key = create_key(&cluster, "analyst", &["read"], None);
    let shim = arxos_e2e::Shim::start(&cluster.url());
    let http = arxos_e2e::Http::new();
    let reply = http.request(
        "POST",
        &shim.url("/api/query"),
        &[("x-api-key", &key), ("content-type", "application/json")],
        Some(br#"{"sql": "SELECT 1"}"#.to_vec()),
    );
    let body = assert_error(&reply, 503, "UNAVAILABLE");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot connect to the database as its query role"),
        "{body}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !shim
        .logs()
        .iter()
        .any(|l| l.contains("POST /api/query cannot connect as its query role"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no warning about the query role in {:#?}",
            shim.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The rest of the API is unaffected.
    let buildings = http.request(
        "GET",
        &shim.url("/api/buildings"),
        &[("x-api-key", &key)],
        None,
    );
    assert_eq!(buildings.status, 200, "{}", buildings.body);
}

/// Queries of one key run side by side (a query's rolled-back transaction does not hold the
/// key's row for others to wait on), a REST call of that key does not wait for them either, no
/// query can read the SQL of another one running (its literals) in pg_stat_activity, and the
/// key's use is recorded although the query's own transaction is rolled back.
#[test]
fn concurrent_queries_neither_wait_nor_see_each_other() {
    let api = Api::start();
    let key = create_key(&api.cluster, "analyst", &["read"], None);
    // The first query waits on an advisory lock held here, so it is still running, whatever
    // the timing, while the others are sent.
    let mut holder = api.cluster.client();
    holder
        .execute("SELECT pg_advisory_lock(4711)", &[])
        .unwrap();
    std::thread::scope(|s| {
        let slow = s.spawn(|| {
            query(
                &api,
                &key,
                "SELECT 'secret-pin-4711' AS pin, pg_advisory_xact_lock(4711) IS NULL AS waited",
                json!([]),
            )
        });
        let mut db = api.cluster.client();
        arxos_e2e::wait_until(
            std::time::Duration::from_secs(30),
            "the first query waits on the advisory lock",
            || {
                let waiting: i64 = db
                    .query_one(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                (waiting == 1).then_some(())
            },
        );
        let peek = query(
            &api,
            &key,
            "SELECT count(*) AS seen FROM pg_stat_activity WHERE query LIKE '%secret-pin%' AND pid <> pg_backend_pid()",
            json!([]),
        );
        let rest = api.get_as(&key, "/api/buildings/b42");
        holder
            .execute("SELECT pg_advisory_unlock(4711)", &[])
            .unwrap();
        assert_eq!(peek.status, 200, "{}", peek.body);
        assert_eq!(peek.json()["rows"][0][0], 0, "{}", peek.body);
        assert_eq!(rest.status, 200, "{}", rest.body);
        let slow = slow.join().unwrap();
        assert_eq!(slow.status, 200, "{}", slow.body);
    });
    let used: bool =
        api.sql_one("SELECT last_used_at IS NOT NULL FROM arxos.api_keys WHERE owner = 'analyst'");
    assert!(used, "the key's use is recorded");
}

/// A query cancelled by a session (here its own) is not reported as a timeout.
#[test]
fn a_cancelled_query_is_not_called_a_timeout() {
    let api = Api::start();
    let r = query(
        &api,
        &api.key,
        "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(1)",
        json!([]),
    );
    let body = assert_error(&r, 400, "VALIDATION_ERROR");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("user request"), "{body}");
    assert_eq!(body["error"]["details"]["sqlstate"], "57014", "{body}");
    let slow = query(&api, &api.key, "SELECT pg_sleep(10)", json!([]));
    assert_error(&slow, 400, "QUERY_TIMEOUT");
}

/// A server whose query URL names another role than arxos_query (a superuser, a member of
/// other roles, even a member of arxos_query only, which lacks its ALTER ROLE settings)
/// refuses every query with a message that says why, whatever the key; arxos_query is served.
#[test]
fn queries_refuse_a_privileged_session_role() {
    let api = Api::start();
    api.cluster
        .client()
        .batch_execute(
            "CREATE ROLE q_wide LOGIN IN ROLE arxos_query, arxos_api;
             CREATE ROLE q_narrow LOGIN IN ROLE arxos_query;",
        )
        .expect("roles");
    let as_role = |role: &str| format!("postgres://{role}@127.0.0.1:{}/arxos", api.cluster.port());
    let body = json!({"sql": "SELECT count(*) FROM objects", "params": []}).to_string();
    for (role, allowed) in [
        ("postgres", false),
        ("q_wide", false),
        ("q_narrow", false),
        ("arxos_query", true),
    ] {
        let url = as_role(role);
        let shim = arxos_e2e::Shim::start_with(
            &api.cluster.url(),
            &[
                "--rate-limit",
                "0",
                "--query-rate-limit",
                "0",
                "--query-database-url",
                &url,
            ],
            &[],
        );
        let r = api.http.request(
            "POST",
            &shim.url("/api/query"),
            &[
                ("x-api-key", &api.key),
                ("content-type", "application/json"),
            ],
            Some(body.clone().into_bytes()),
        );
        if allowed {
            assert_eq!(r.status, 200, "{role}: {}", r.body);
        } else {
            let err = assert_error(&r, 403, "FORBIDDEN");
            assert!(
                err["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("refuses to run as role {role}")),
                "{role}: {err}"
            );
            // and the server said so when it started
            let said = (0..50).any(|_| {
                let found = shim
                    .logs()
                    .iter()
                    .any(|l| l.contains("refuses every query"));
                if !found {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                found
            });
            assert!(said, "{role}: {:?}", shim.logs());
        }
    }
}

/// The query role's own statement_timeout, tightened by an operator (ALTER ROLE), applies when
/// it is below --query-timeout-ms (found by a review: the shim's 5 s replaced it), and the
/// error is still called a timeout.
#[test]
fn the_query_roles_own_timeout_applies_when_tighter() {
    let cluster = arxos_e2e::Cluster::start();
    cluster
        .client()
        .batch_execute(
            "ALTER ROLE arxos_query LOGIN; ALTER ROLE arxos_query SET statement_timeout = '1s';
             SELECT arxos.load_sample();",
        )
        .expect("prepare the database");
    let key = create_key(&cluster, "analyst", &["read"], None);
    let shim = arxos_e2e::Shim::start(&cluster.url());
    let http = arxos_e2e::Http::new();
    let ask = |sql: &str| {
        http.request(
            "POST",
            &shim.url("/api/query"),
            &[("x-api-key", &key), ("content-type", "application/json")],
            Some(json!({ "sql": sql }).to_string().into_bytes()),
        )
    };
    let started = std::time::Instant::now();
    let slow = ask("SELECT pg_sleep(3)");
    assert_error(&slow, 400, "QUERY_TIMEOUT");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "the role's 1 s applied, not the shim's 5 s"
    );
    let quick = ask("SELECT current_setting('statement_timeout') AS t");
    assert_eq!(quick.status, 200, "{}", quick.body);
    assert_eq!(quick.json()["rows"][0][0], "1s", "{}", quick.body);
    // the shim said so at start
    assert!(
        shim.logs()
            .iter()
            .any(|l| l.contains("statement_timeout below --query-timeout-ms")),
        "{:#?}",
        shim.logs()
    );
    // Without a timeout of the role's own (the extension sets none), the flag is the limit,
    // a larger one too (found by a review: a 5 s seeded on the role capped every flag).
    cluster
        .client()
        .batch_execute("ALTER ROLE arxos_query RESET statement_timeout")
        .unwrap();
    let wider = arxos_e2e::Shim::start_with(&cluster.url(), &["--query-timeout-ms", "8000"], &[]);
    let reply = http.request(
        "POST",
        &wider.url("/api/query"),
        &[("x-api-key", &key), ("content-type", "application/json")],
        Some(
            json!({ "sql": "SELECT current_setting('statement_timeout') AS t" })
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["rows"][0][0], "8s", "{}", reply.body);
}
