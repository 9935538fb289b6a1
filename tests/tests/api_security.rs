//! Authentication (401), scopes and building limits (403, enforced by row-level security),
//! the actor of writes, rate limits, and the keys API.

mod api_common;

use std::time::Duration;

use api_common::{assert_error, create_key, Api};
use arxos_e2e::{wait_until, Reply};
use serde_json::json;

#[test]
fn missing_unknown_and_revoked_keys_are_401() {
    let api = Api::start();
    let url = api.shim.url("/api/buildings");
    assert_error(&api.http.get(&url), 401, "UNAUTHORIZED");
    // a key in the query of a route that takes it in headers only: said so (review)
    let in_query = api
        .http
        .get(&api.shim.url(&format!("/api/buildings?api_key={}", api.key)));
    let body = assert_error(&in_query, 401, "UNAUTHORIZED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("?api_key= is taken only by the event stream's routes"),
        "{body}"
    );
    assert_error(
        &api.get_as("arx_not-a-real-key", "/api/buildings"),
        401,
        "UNAUTHORIZED",
    );
    let bearer = api.http.request(
        "GET",
        &url,
        &[("authorization", &format!("Bearer {}", api.key))],
        None,
    );
    assert_eq!(bearer.status, 200, "{}", bearer.body);
    // A blank X-API-Key beside it is no key (a proxy's unset variable), not a missing one.
    let blank = api.http.request(
        "GET",
        &url,
        &[
            ("x-api-key", ""),
            ("authorization", &format!("Bearer {}", api.key)),
        ],
        None,
    );
    assert_eq!(blank.status, 200, "{}", blank.body);
    // Two different keys: which one is meant cannot be told (the same key twice is fine).
    let both = |other: &str| {
        api.http.request(
            "GET",
            &url,
            &[
                ("x-api-key", api.key.as_str()),
                ("authorization", &format!("Bearer {other}")),
            ],
            None,
        )
    };
    assert_eq!(both(&api.key).status, 200);
    let ambiguous = assert_error(&both("arx_someone-else"), 401, "UNAUTHORIZED");
    assert!(
        ambiguous["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("different API keys were sent"),
        "{ambiguous}"
    );
    // The same for a key in the query string of the event routes beside one in a header; and
    // before the input is looked at, as a missing key is.
    for query in ["?api_key=BOGUS", "?api_key=BOGUS&limit=nope"] {
        let recent = api.get(&format!("/api/events/recent{query}"));
        let ambiguous = assert_error(&recent, 401, "UNAUTHORIZED");
        assert!(
            ambiguous["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("different API keys were sent"),
            "{query}: {ambiguous}"
        );
    }
    let same = api.get(&format!("/api/events/recent?api_key={}", api.key));
    assert_eq!(same.status, 200, "{}", same.body);
    let bad_input = api.http.request(
        "GET",
        &format!("{url}?limit=nope"),
        &[
            ("x-api-key", api.key.as_str()),
            ("authorization", "Bearer arx_someone-else"),
        ],
        None,
    );
    assert_error(&bad_input, 401, "UNAUTHORIZED");

    let created = api.send(
        "POST",
        "/api/keys",
        Some(&json!({"name": "temp", "scopes": ["read"]})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    assert_eq!(api.get_as(key, "/api/buildings").status, 200);
    let listed = api.get("/api/keys");
    assert!(
        listed.body.contains(id) && !listed.body.contains(key),
        "{}",
        listed.body
    );
    assert_eq!(
        api.send("DELETE", &format!("/api/keys/{id}"), None).status,
        204
    );
    // Text that is no UUID cannot name a key: refused, with the text sent, as on every route
    // that names a row by id.
    let not_an_id = api.send("DELETE", "/api/keys/not-a-key-id", None);
    let refusal = assert_error(&not_an_id, 400, "VALIDATION_ERROR").to_string();
    assert!(
        refusal.contains(r#"\"not-a-key-id\" is not a key id: ids are UUIDs"#),
        "{refusal}"
    );
    // An empty building list is not "every building".
    assert_error(
        &api.send(
            "POST",
            "/api/keys",
            Some(&json!({"name": "nowhere", "scopes": ["admin"], "buildings": []})),
        ),
        400,
        "VALIDATION_ERROR",
    );
    // Nor can an admin key be limited to buildings: admin operations see every building.
    let limited_admin = assert_error(
        &api.send(
            "POST",
            "/api/keys",
            Some(&json!({"name": "half", "scopes": ["write", "admin"], "buildings": ["b42"]})),
        ),
        400,
        "VALIDATION_ERROR",
    );
    assert!(
        limited_admin["error"]["message"]
            .as_str()
            .unwrap()
            .contains("an admin key cannot be limited to buildings"),
        "{limited_admin}"
    );
    assert_error(&api.get_as(key, "/api/buildings"), 401, "UNAUTHORIZED");
    assert_error(
        &api.send("DELETE", &format!("/api/keys/{id}"), None),
        404,
        "NOT_FOUND",
    );
}

/// The shim remembers accepted keys for a while (docs/security.md); a key revoked behind its
/// back, by a DBA's plain UPDATE, is refused as soon as the NOTIFY reaches its listener, long
/// before the entry would expire.
#[test]
fn a_key_revoked_in_the_database_is_refused_at_once() {
    let api = Api::start_with(&["--rate-limit", "0", "--key-cache-seconds", "300"]);
    let mut db = api.cluster.client();
    wait_until(Duration::from_secs(20), "the listener registers", || {
        let n: i64 = db
            .query_one("select count(*) from arxos.listeners", &[])
            .unwrap()
            .get(0);
        (n > 0).then_some(())
    });
    let key = create_key(&api.cluster, "short-lived", &["read"], None);
    for _ in 0..3 {
        assert_eq!(api.get_as(&key, "/api/buildings").status, 200);
    }
    // Without the NOTIFY the remembered grant would keep serving the key: this shows the
    // shim really answers from memory.
    db.batch_execute("ALTER TABLE arxos.api_keys DISABLE TRIGGER api_keys_revoked")
        .unwrap();
    db.execute(
        "update arxos.api_keys set revoked_at = now() where owner = 'short-lived'",
        &[],
    )
    .unwrap();
    assert_eq!(
        api.get_as(&key, "/api/buildings").status,
        200,
        "served from memory"
    );
    db.batch_execute("ALTER TABLE arxos.api_keys ENABLE TRIGGER api_keys_revoked")
        .unwrap();

    let other = create_key(&api.cluster, "also-short-lived", &["read"], None);
    assert_eq!(api.get_as(&other, "/api/buildings").status, 200);
    db.execute(
        "update arxos.api_keys set revoked_at = now() where owner = 'also-short-lived'",
        &[],
    )
    .unwrap();
    wait_until(
        Duration::from_secs(30),
        "the revoked key is refused",
        || (api.get_as(&other, "/api/buildings").status == 401).then_some(()),
    );
}

/// A request whose key is missing or refused answers 401 whatever is wrong with the rest of
/// it (body, query string, path): a caller without a valid key learns nothing of what a route
/// accepts. The same requests with a valid key keep their own 400, 415 or 422.
#[test]
fn the_key_is_judged_before_the_input() {
    let api = Api::start();
    let reader = create_key(&api.cluster, "reader", &["read"], None);
    let wrong = "arx_not-a-real-key";
    let raw = |key, method, path, body, json| api.send_raw(key, method, path, body, json);
    let object = "/api/buildings/b42/objects/electrical/x";
    // (method, path, body, JSON content type, the answer a valid key gets)
    let cases: [(&str, &str, Option<&str>, bool, u16); 8] = [
        (
            "PUT",
            object,
            Some(r#"{"type": "t", "colour": "red"}"#),
            true,
            422,
        ),
        ("PUT", object, Some(r#"{"type": "t""#), true, 400),
        (
            "PUT",
            object,
            Some(r#"{"type": "t", "type": "u"}"#),
            true,
            400,
        ),
        ("PUT", object, Some(r#"{"type": "t"}"#), false, 415),
        (
            "GET",
            "/api/objects?building=b42&stauts=failed",
            None,
            false,
            400,
        ),
        ("GET", "/api/webhooks/not-a-uuid", None, false, 400),
        ("POST", "/api/query", Some(r#"{"sql": "  ;"}"#), true, 400),
        (
            "GET",
            "/api/objects?building=b42&limit=-1",
            None,
            false,
            400,
        ),
    ];
    for (method, path, body, json, valid) in cases {
        let what = format!("{method} {path} {body:?}");
        let missing = raw(None, method, path, body, json);
        assert_eq!(missing.status, 401, "no key, {what}: {}", missing.body);
        assert_error(&missing, 401, "UNAUTHORIZED");
        let refused = raw(Some(wrong), method, path, body, json);
        assert_eq!(refused.status, 401, "wrong key, {what}: {}", refused.body);
        let body_text = assert_error(&refused, 401, "UNAUTHORIZED").to_string();
        assert!(
            body_text.contains("invalid or revoked API key"),
            "{body_text}"
        );
        let admitted = raw(Some(&api.key), method, path, body, json);
        assert_eq!(
            admitted.status, valid,
            "valid key, {what}: {}",
            admitted.body
        );
    }
    // The key in the query string of the event routes counts as the key.
    let recent = "/api/events/recent?stauts=1&api_key=";
    let missing = api.http.request("GET", &api.shim.url(recent), &[], None);
    let missing = assert_error(&missing, 401, "UNAUTHORIZED").to_string();
    assert!(missing.contains("?api_key="), "{missing}");
    let refused = api
        .http
        .request("GET", &api.shim.url(&format!("{recent}{wrong}")), &[], None);
    assert_error(&refused, 401, "UNAUTHORIZED");
    let admitted = api.http.request(
        "GET",
        &api.shim.url(&format!("{recent}{}", api.key)),
        &[],
        None,
    );
    let unknown = assert_error(&admitted, 400, "VALIDATION_ERROR");
    assert!(unknown.to_string().contains("stauts"), "{unknown}");
    // The input is judged once the key is: a valid key names the unknown field.
    let named = assert_error(
        &raw(
            Some(&reader),
            "PUT",
            object,
            Some(r#"{"type": "t", "colour": "red"}"#),
            true,
        ),
        422,
        "VALIDATION_ERROR",
    );
    assert!(named.to_string().contains("colour"), "{named}");
    // An error the database raised while serving the request stays as it is.
    let bad_path = assert_error(
        &api.send(
            "PUT",
            "/api/buildings/b42/objects/a/../b",
            Some(&json!({"type": "t"})),
        ),
        400,
        "VALIDATION_ERROR",
    );
    assert!(
        bad_path["error"]["details"]["sqlstate"].is_string(),
        "{bad_path}"
    );
}

#[test]
fn scopes_are_enforced() {
    let api = Api::start();
    let reader = create_key(&api.cluster, "reader", &["read"], None);
    let writer = create_key(&api.cluster, "writer", &["write"], None);
    assert_eq!(
        api.get_as(&reader, "/api/buildings/b42/objects/electrical")
            .status,
        200
    );
    let put = api.send_as(
        &reader,
        "PUT",
        "/api/buildings/b42/objects/x",
        Some(&json!({"type": "t"})),
    );
    assert_error(&put, 403, "FORBIDDEN");
    assert_eq!(
        api.get_as(&reader, "/api/buildings/b42/objects/x").status,
        404,
        "nothing was written"
    );
    let put = api.send_as(
        &writer,
        "PUT",
        "/api/buildings/b42/objects/x",
        Some(&json!({"type": "t"})),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    assert_error(&api.get_as(&writer, "/api/keys"), 403, "FORBIDDEN");
    assert_error(
        &api.send_as(
            &writer,
            "POST",
            "/api/keys",
            Some(&json!({"name": "sneaky", "scopes": ["admin"]})),
        ),
        403,
        "FORBIDDEN",
    );
}

#[test]
fn building_limited_keys_see_only_their_buildings() {
    let api = Api::start();
    let other = api.send(
        "POST",
        "/api/buildings",
        Some(&json!({"key": "other", "name": "Other"})),
    );
    assert_eq!(other.status, 201);
    let other_id = other.json()["id"].as_str().unwrap().to_owned();
    let secret = api.send(
        "PUT",
        "/api/buildings/other/objects/secret",
        Some(&json!({"type": "vault"})),
    );
    assert_eq!(secret.status, 201);
    let secret_id = secret.json()["id"].as_str().unwrap().to_owned();

    let scoped = create_key(&api.cluster, "b42-only", &["read", "write"], Some(&["b42"]));
    assert_eq!(
        api.get_as(&scoped, "/api/buildings/b42/objects/electrical")
            .status,
        200
    );
    assert_error(
        &api.get_as(&scoped, "/api/buildings/other/objects/secret"),
        403,
        "FORBIDDEN",
    );
    assert_error(
        &api.get_as(&scoped, &format!("/api/buildings/{other_id}")),
        403,
        "FORBIDDEN",
    );
    assert_error(
        &api.get_as(&scoped, "/api/buildings/other/ls"),
        403,
        "FORBIDDEN",
    );
    // A building that does not exist answers as one that is not the key's: the key cannot
    // tell which building keys exist.
    let missing = assert_error(
        &api.get_as(&scoped, "/api/buildings/nonexistent"),
        403,
        "FORBIDDEN",
    );
    let hidden = assert_error(
        &api.get_as(&scoped, "/api/buildings/other"),
        403,
        "FORBIDDEN",
    );
    assert_eq!(
        missing["error"]["message"]
            .as_str()
            .map(|m| m.replace("nonexistent", "x")),
        hidden["error"]["message"]
            .as_str()
            .map(|m| m.replace("other", "x")),
    );
    // Routes that name no building are filtered by row-level security.
    let list = api.get_as(&scoped, "/api/buildings").json();
    let keys: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["b42"]);
    assert_error(
        &api.get_as(&scoped, &format!("/api/objects/{secret_id}")),
        404,
        "NOT_FOUND",
    );
    let patch = api.send_as(
        &scoped,
        "PATCH",
        &format!("/api/objects/{secret_id}"),
        Some(&json!({"health": 1})),
    );
    assert_error(&patch, 404, "NOT_FOUND");
    let board = api.get_as(&scoped, "/api/ratings").json();
    assert!(
        board["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["building"] == "b42"),
        "{board}"
    );
    // A key limited to buildings cannot create one: said in words, not row-level security's.
    let create = api.send_as(
        &scoped,
        "POST",
        "/api/buildings",
        Some(&json!({"key": "mine", "name": "Mine"})),
    );
    let refused = assert_error(&create, 403, "FORBIDDEN");
    assert_eq!(
        refused["error"]["message"],
        "this key is limited to buildings b42; only a key for all buildings can create one",
        "{refused}"
    );
    assert_error(&api.get("/api/buildings/mine"), 404, "NOT_FOUND");
    assert_eq!(
        api.sql_one::<i64>(
            "SELECT count(*) FROM arxos.objects WHERE path = '/secret' AND health = 100"
        ),
        1
    );
}

/// The server with one pooled connection and keys remembered for 300 s, a second building
/// `other` holding `/vault`, and the path of the vault by id (`/api/objects/{id}`).
fn one_connection_and_a_vault() -> (Api, String) {
    let api = Api::start_with(&[
        "--rate-limit",
        "0",
        "--query-rate-limit",
        "0",
        "--pool-size",
        "1",
        "--key-cache-seconds",
        "300",
    ]);
    let other = api.send(
        "POST",
        "/api/buildings",
        Some(&json!({"key": "other", "name": "Other"})),
    );
    assert_eq!(other.status, 201, "{}", other.body);
    let vault = api.send(
        "PUT",
        "/api/buildings/other/objects/vault",
        Some(&json!({"type": "vault"})),
    );
    assert_eq!(vault.status, 201, "{}", vault.body);
    let by_id = format!("/api/objects/{}", vault.json()["id"].as_str().unwrap());
    (api, by_id)
}

/// A request may leave its identity on the pooled connection for the next request of the same
/// identity (crate::tx): with one connection, every request finds the previous one's.
#[test]
fn identities_left_on_pooled_connections_do_not_leak() {
    let (api, by_id) = one_connection_and_a_vault();
    let scoped = create_key(&api.cluster, "b42-only", &["read", "write"], Some(&["b42"]));
    let tech = create_key(&api.cluster, "tech-b", &["write"], None);
    let listed = |key: &str| -> Vec<String> {
        let list = api.get_as(key, "/api/buildings").json();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let actor = |path: &str| -> String {
        api.sql_one::<String>(&format!(
            "SELECT actor FROM arxos.object_history WHERE path = '{path}' ORDER BY at DESC LIMIT 1"
        ))
    };
    for round in 0..3 {
        // Each key twice in a row (the second request finds its own identity), then another;
        // GET of an object is a one-statement route, which leaves its identity on the
        // connection.
        for _ in 0..2 {
            let r = api.get_as(&scoped, "/api/buildings/b42/objects/electrical");
            assert_eq!(r.status, 200, "{}", r.body);
        }
        assert_error(
            &api.get_as(&scoped, "/api/buildings/other"),
            403,
            "FORBIDDEN",
        );
        assert_eq!(listed(&scoped), ["b42"]);
        assert_error(
            &api.get_as(&scoped, "/api/buildings/other/objects/vault"),
            403,
            "FORBIDDEN",
        );
        assert_error(&api.get_as(&scoped, &by_id), 404, "NOT_FOUND");
        for _ in 0..2 {
            let r = api.get("/api/buildings/other/objects/vault");
            assert_eq!(r.status, 200, "{}", r.body);
        }
        // The connection now holds the admin's identity; the scoped key's next request (by
        // id: no building for the key check, row-level security alone scopes it) must not
        // run with it.
        assert_error(&api.get_as(&scoped, &by_id), 404, "NOT_FOUND");
        assert_eq!(listed(&api.key), ["b42", "other"]);
        assert_eq!(listed(&scoped), ["b42"]);
        // Writes in turn by two owners: each history row names its own.
        for (key, building, path, owner) in [
            (&tech, "other", format!("/t{round}"), "tech-b"),
            (&scoped, "b42", format!("/s{round}"), "b42-only"),
        ] {
            let put = api.send_as(
                key,
                "PUT",
                &format!("/api/buildings/{building}/objects{path}"),
                Some(&json!({"type": "thing"})),
            );
            assert_eq!(put.status, 201, "{}", put.body);
            assert_eq!(actor(&path), owner);
        }
        let r = api.get_as(&scoped, &format!("/api/buildings/b42/objects/s{round}"));
        assert_eq!(r.json()["created_by"], "b42-only", "{}", r.body);
        let patch = api.send_as(
            &scoped,
            "PATCH",
            &format!("/api/buildings/other/objects/t{round}"),
            Some(&json!({"health": 1})),
        );
        assert_error(&patch, 403, "FORBIDDEN");
    }
    // The shortcut is really taken: after the same key's request three times in a row (key
    // check, identity set at session level, then the statement alone), the connection's last
    // statement is the route's own, not a COMMIT. The shim's background work (the webhook
    // worker wakes on every published event) borrows the one pooled connection too and clears
    // the identity, so a round may start over; some round of a few must show the shortcut.
    let shortcut_taken = (0..10).any(|_| {
        for _ in 0..3 {
            let r = api.get_as(&scoped, "/api/buildings/b42/objects/electrical");
            assert_eq!(r.status, 200, "{}", r.body);
        }
        api.sql_one::<i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'arxos' \
             AND query LIKE '%FROM arxos.get($1, $2)%'",
        ) == 1
    });
    assert!(
        shortcut_taken,
        "no round ran the route's statement alone on a connection holding the identity"
    );
    // A request whose identity committed but whose answer then failed (a document nested
    // deeper than the JSON decoder accepts, which only a superuser with the triggers off can
    // store) leaves the connection in doubt: the next key's request must not run with the
    // identity it may hold.
    let deep = api.send(
        "PUT",
        "/api/buildings/b42/objects/deep",
        Some(&json!({"type": "thing"})),
    );
    assert_eq!(deep.status, 201, "{}", deep.body);
    api.cluster
        .client()
        .batch_execute(&format!(
            "SET session_replication_role = replica; \
             UPDATE arxos.objects SET properties = '{}{}'::jsonb WHERE path = '/deep'",
            "{\"a\": ".repeat(200) + "1",
            "}".repeat(200)
        ))
        .expect("store a document deeper than the shim can decode");
    for _ in 0..2 {
        let r = api.get("/api/buildings/b42/objects/deep");
        assert_eq!(r.status, 500, "{}", r.body);
        assert_error(&api.get_as(&scoped, &by_id), 404, "NOT_FOUND");
    }
}

/// Requests of one key share a connection, pipelined (arxos_http/src/lanes.rs); requests of
/// other keys never join it. With one pooled connection and many concurrent requests of keys
/// scoped to different buildings, some failing, every answer is still the right key's.
#[test]
fn requests_sharing_a_connection_keep_their_identities() {
    let (api, by_id) = one_connection_and_a_vault();
    let scoped = create_key(&api.cluster, "b42-only", &["read"], Some(&["b42"]));
    let vault_only = create_key(&api.cluster, "other-only", &["read"], Some(&["other"]));
    let (api, by_id) = (&api, by_id.as_str());
    std::thread::scope(|threads| {
        for t in 0..8 {
            let (scoped, vault_only) = (scoped.clone(), vault_only.clone());
            threads.spawn(move || {
                for i in 0..40 {
                    match (t + i) % 5 {
                        0 => {
                            let r = api.get_as(&scoped, "/api/buildings/b42/objects/electrical");
                            assert_eq!(r.status, 200, "{}", r.body);
                            assert_eq!(r.json()["path"], "/electrical", "{}", r.body);
                        }
                        1 => {
                            let missing = format!("/api/buildings/b42/objects/missing_{t}_{i}");
                            assert_error(&api.get_as(&scoped, &missing), 404, "NOT_FOUND");
                        }
                        2 => {
                            assert_error(&api.get_as(&scoped, by_id), 404, "NOT_FOUND");
                        }
                        3 => {
                            let r = api.get_as(&vault_only, by_id);
                            assert_eq!(r.status, 200, "{}", r.body);
                            assert_eq!(r.json()["path"], "/vault", "{}", r.body);
                        }
                        _ => {
                            let r = api.get("/api/buildings/other/objects/vault");
                            assert_eq!(r.status, 200, "{}", r.body);
                            assert_eq!(r.json()["type"], "vault", "{}", r.body);
                        }
                    }
                }
            });
        }
    });
    // The connection was shared: statements joined one already in flight.
    let metrics = api.http.get(&api.shim.url("/metrics")).body;
    let joined: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("arxos_db_pipelined_statements_total "))
        .expect("the pipelining counter")
        .trim()
        .parse()
        .unwrap();
    assert!(joined > 0.0, "{metrics}");
}

#[test]
fn writes_are_attributed_to_the_key_owner() {
    let api = Api::start();
    let key = create_key(&api.cluster, "field-tech-7", &["write"], None);
    let r = api.send_as(
        &key,
        "PUT",
        "/api/buildings/b42/objects/hvac/ahu_9",
        Some(&json!({"type": "ahu"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        api.sql_one::<String>("SELECT actor FROM arxos.object_history WHERE path = '/hvac/ahu_9'"),
        "field-tech-7"
    );
    assert_eq!(
        api.sql_one::<String>(
            "SELECT actor FROM arxos.events_since(0, ARRAY['object.created']) WHERE path = '/hvac/ahu_9'"
        ),
        "field-tech-7"
    );
}

/// A 429 RATE_LIMITED answer's `Retry-After`, at least a second.
fn assert_rate_limited(r: &Reply) -> u64 {
    assert_error(r, 429, "RATE_LIMITED");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    retry
}

/// Made-up keys each get a fresh per-key bucket, so failed authentications are also counted
/// per client address: past the quota the address gets 429, except for keys that succeeded.
#[test]
fn failed_authentications_are_limited_per_address() {
    // 5 a minute with a burst of 5: past the 6th failure the address waits up to 12 s. (A
    // budget that comes back slowly: with 30 a minute, one came back every 2 s, and 31
    // requests on a loaded machine took longer than that.)
    let api = Api::start_with(&["--rate-limit", "0", "--auth-failure-limit", "5"]);
    let known = create_key(&api.cluster, "known", &["read"], None);
    let fresh = create_key(&api.cluster, "fresh", &["read"], None);
    let guess = |i: usize| api.get_as(&format!("arx_guess-{i}"), "/api/buildings");
    // Keys are remembered as good only once failures are being seen (it costs nothing before).
    // A 401's rate-limit headers are the address's budget of failures, which it used.
    let first = guess(0);
    assert_error(&first, 401, "UNAUTHORIZED");
    assert_eq!(first.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("4"));
    assert_eq!(api.get_as(&known, "/api/buildings").status, 200);
    for i in 1..6 {
        assert_error(&guess(i), 401, "UNAUTHORIZED");
    }
    let r = api.get_as("arx_guess-6", "/api/buildings");
    let retry = assert_rate_limited(&r);
    assert!(retry <= 13, "{retry}");
    // A key that succeeded before still passes; one never seen waits like the guesses.
    assert_eq!(api.get_as(&known, "/api/buildings").status, 200);
    let blocked = api.get_as(&fresh, "/api/buildings");
    assert_error(&blocked, 429, "RATE_LIMITED");
    assert_eq!(blocked.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(blocked.header("x-ratelimit-remaining"), Some("0"));
    // The same through ?api_key= (the event stream's way of sending a key).
    let r = api.get_as("", "/api/events/recent?api_key=arx_guess-32");
    assert_error(&r, 429, "RATE_LIMITED");
    std::thread::sleep(std::time::Duration::from_secs(retry));
    assert_eq!(api.get_as(&fresh, "/api/buildings").status, 200);
}

#[test]
fn rate_limits_answer_429_with_headers() {
    let api = Api::start_with(&["--rate-limit", "6", "--rate-limit-burst", "3"]);
    let other = create_key(&api.cluster, "other", &["read"], None);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = api.get("/api/buildings");
        assert!(r.header("x-ratelimit-limit").is_some(), "{:?}", r.headers);
        assert!(r.header("x-ratelimit-remaining").is_some());
        assert!(r.header("x-ratelimit-reset").is_some());
        statuses.push(r.status);
        if r.status == 429 {
            assert_rate_limited(&r);
            assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    // An event stream past its budget is told when to come back as a stream (200, `retry:`):
    // EventSource gives up for good on a 429 (found by an adversarial review: browsers that
    // reconnected through a database outage spent their key's budget and never came back).
    let stream = api.get("/api/events?building=b42");
    assert_eq!(stream.status, 200, "{}", stream.body);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert!(
        stream.body.starts_with("retry: ")
            && stream.body.contains(": too many requests; reconnect"),
        "{}",
        stream.body
    );
    let retry_ms: u64 = stream.body["retry: ".len()..]
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
        .expect("a retry in milliseconds");
    assert!(retry_ms >= 1000, "{retry_ms}");
    assert_eq!(stream.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(
        api.get_as(&other, "/api/buildings").status,
        200,
        "keys have their own budget"
    );
    assert_eq!(
        api.http.get(&api.shim.url("/api/health")).status,
        200,
        "health is not limited"
    );
    // Every limited answer carries the headers, errors included: a refused key, an unknown
    // route, the router's 405 and an extractor's 400 (rendered in the error shape).
    let third = create_key(&api.cluster, "third", &["read"], None);
    let url = api.shim.url("/api/buildings/b42");
    for (r, status) in [
        (api.get_as("arx_not-a-key", "/api/buildings"), 401),
        (api.get_as(&third, "/api/nowhere"), 404),
        (
            api.http
                .request("PUT", &url, &[("x-api-key", &third)], None),
            405,
        ),
        (api.get_as(&third, "/api/buildings/b42/ls?limit=abc"), 400),
    ] {
        assert_eq!(r.status, status, "{}", r.body);
        assert!(r.json()["error"]["code"].is_string(), "{}", r.body);
        for header in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            assert!(
                r.header(header).is_some(),
                "{status} without {header}: {:?}",
                r.headers
            );
        }
    }
    // The limiter's own refusals are counted like every other answer.
    let metrics = api.http.get(&api.shim.url("/metrics")).body;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("http_requests_total{") && l.contains("status=\"429\"")),
        "{metrics}"
    );
}

#[test]
fn database_errors_do_not_leak_internals() {
    let api = Api::start();
    let r = api.send(
        "PUT",
        "/api/buildings/b42/objects/a",
        Some(&json!({"type": "x", "health": 500})),
    );
    let body = assert_error(&r, 400, "VALIDATION_ERROR");
    assert_eq!(body["error"]["details"]["sqlstate"], "22023");
    let r = api.get("/api/buildings/b42/objects/bad%00path");
    let body = assert_error(&r, 400, "VALIDATION_ERROR");
    assert!(
        body.to_string()
            .contains("text cannot hold the NUL character"),
        "the message names the character, not an encoding: {body}"
    );
    // in a document too, not an escape sequence the client never wrote (found by an audit)
    let r = api.send(
        "PUT",
        "/api/buildings/b42/objects/a",
        Some(&json!({"type": "x", "properties": {"note": "a\u{0}b"}})),
    );
    let body = assert_error(&r, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("a JSON document cannot hold the NUL character"),
        "{body}"
    );
    assert!(
        !r.body.contains("CONTEXT") && !r.body.contains("PL/pgSQL"),
        "{}",
        r.body
    );
}

/// The route's statements are pipelined behind the key check; when the check refuses the key
/// they fail too (SQLSTATE 25P02), and that consequence must not be logged as an error.
#[test]
fn refused_keys_are_answered_without_error_logs() {
    let api = Api::start();
    let reader = create_key(&api.cluster, "reader", &["read"], None);
    api.cluster
        .client()
        .batch_execute("SELECT arxos.create_building('b7', 'Elsewhere', NULL)")
        .expect("create a second building");
    let limited = create_key(&api.cluster, "limited", &["read"], Some(&["b7"]));
    for path in ["/api/buildings", "/api/buildings/b42/objects/electrical"] {
        assert_error(&api.get_as("arx_not-a-real-key", path), 401, "UNAUTHORIZED");
    }
    assert_error(
        &api.get_as(&limited, "/api/buildings/b42/rating/history"),
        403,
        "FORBIDDEN",
    );
    let created = api.send_as(
        &reader,
        "POST",
        "/api/buildings",
        Some(&json!({"key": "b77", "name": "Nope"})),
    );
    assert_error(&created, 403, "FORBIDDEN");
    assert_eq!(api.get("/api/buildings").status, 200);
    // Failing statements of accepted keys, whatever the route's transaction looks like.
    for _ in 0..3 {
        assert_error(
            &api.get("/api/buildings/b42/objects/nowhere"),
            404,
            "NOT_FOUND",
        );
        assert_error(
            &api.send(
                "PATCH",
                "/api/buildings/b42/objects/electrical",
                Some(&json!({"health": 500})),
            ),
            400,
            "VALIDATION_ERROR",
        );
    }
    // A COMMIT the server refuses (here a DBA's deferred trigger) ends the transaction too,
    // on the one-statement routes (PUT by path) and the others (PATCH by id).
    api.cluster
        .client()
        .batch_execute(
            "CREATE FUNCTION public.refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation'; END $$;
             CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT OR UPDATE ON arxos.objects
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
             WHEN (NEW.properties ? 'refuse_at_commit')
             EXECUTE FUNCTION public.refuse_at_commit()",
        )
        .expect("a deferred trigger");
    let refusing = json!({"type": "room", "properties": {"refuse_at_commit": true}});
    let put = api.send("PUT", "/api/buildings/b42/objects/refused", Some(&refusing));
    assert!(put.status >= 400, "{} {}", put.status, put.body);
    let electrical = api.get("/api/buildings/b42/objects/electrical").json();
    let id = electrical["id"].as_str().expect("an id");
    let patched = api.send(
        "PATCH",
        &format!("/api/objects/{id}"),
        Some(&json!({"properties": {"refuse_at_commit": true}})),
    );
    assert!(patched.status >= 400, "{} {}", patched.status, patched.body);
    assert_error(
        &api.get("/api/buildings/b42/objects/refused"),
        404,
        "NOT_FOUND",
    );
    api.cluster
        .client()
        .batch_execute("DROP TRIGGER refuse_at_commit ON arxos.objects")
        .expect("drop the trigger");
    // A transaction the pipeline already ended is not rolled back again (the server would warn
    // "there is no transaction in progress" for every failed request).
    let postgres = api.cluster.log();
    assert!(
        !postgres.contains("there is no transaction in progress"),
        "{postgres}"
    );
    let logs = api.shim.logs();
    let errors: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("ERROR") || l.contains("25P02") || l.contains("internal error"))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// A request that cannot finish within `--request-timeout` (here: waiting for a row another
/// session holds) answers 503 UNAVAILABLE in the error shape, and its statement is stopped.
#[test]
fn requests_time_out_with_503() {
    let api = Api::start_with(&["--rate-limit", "0", "--request-timeout", "4"]);
    let mut locker = api.cluster.client();
    let mut tx = locker.transaction().expect("begin");
    tx.execute(
        "SELECT 1 FROM arxos.objects WHERE path = '/electrical/panels/panel_1' FOR UPDATE",
        &[],
    )
    .expect("lock the panel");
    let r = api.send(
        "PATCH",
        "/api/buildings/b42/objects/electrical/panels/panel_1",
        Some(&json!({"health": 50})),
    );
    assert_error(&r, 503, "UNAVAILABLE");
    // The database's statement timeout (a second before the request's) says so, rather than
    // "the database is unavailable"; should the shim's own timeout come first, it says so.
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("ran past the statement timeout") || message.contains("request timeout"),
        "{message}"
    );
    // The write did not happen behind the client's back once the lock was gone (released once
    // nothing waits on it any more: the statement was stopped, by either timer).
    wait_until(
        Duration::from_secs(30),
        "the PATCH's statement stopped",
        || (lock_waiters(&api) == 0).then_some(()),
    );
    tx.rollback().expect("release the panel");
    std::thread::sleep(Duration::from_millis(500));
    let panel = api
        .get("/api/buildings/b42/objects/electrical/panels/panel_1")
        .json();
    assert_eq!(panel["health"], 100, "{panel}");
}

/// A write on a new connection whose statement waits on a table lock before the request's
/// own settings are in place (the statement is prepared first) is stopped by the database's
/// timer too, before the 503, and never commits: the connections carry the statement timeout
/// from their first statement (it waited until the shim's cancel: an operator's review).
#[test]
fn a_new_connections_first_write_times_out_in_the_database() {
    let api = Api::start_with(&["--rate-limit", "0", "--request-timeout", "4"]);
    let mut locker = api.cluster.client();
    let mut tx = locker.transaction().expect("begin");
    tx.batch_execute("LOCK TABLE arxos.objects IN ACCESS EXCLUSIVE MODE")
        .expect("lock the objects");
    let r = api.send(
        "PUT",
        "/api/buildings/b42/objects/spaces/late",
        Some(&json!({"type": "room"})),
    );
    let refused = assert_error(&r, 503, "UNAVAILABLE");
    let message = &refused["error"]["message"];
    assert!(
        message
            .as_str()
            .is_some_and(|m| m.contains("ran past the statement timeout")),
        "{message}"
    );
    tx.rollback().expect("release the objects");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        api.sql_one::<i64>("SELECT count(*) FROM arxos.objects WHERE path = '/spaces/late'"),
        0
    );
}

/// Even with RUST_LOG=trace, no API key or webhook secret reaches the log: tokio-postgres logs
/// every statement's parameters at DEBUG, and the shim caps it at INFO
/// (arxos_http/src/main.rs, `keeps_secrets_out`).
#[test]
fn secrets_stay_out_of_trace_logs() {
    let api = Api::start_with_env(
        &["--rate-limit", "0", "--query-rate-limit", "0"],
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(api.get("/api/buildings").status, 200);
    let created = api.send(
        "POST",
        "/api/webhooks",
        Some(&json!({"url": "https://example.com/hook"})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let rotated = api.send("POST", &format!("/api/webhooks/{id}/rotate-secret"), None);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_key = api.send(
        "POST",
        "/api/keys",
        Some(&json!({"name": "someone", "scopes": ["read"]})),
    );
    assert_eq!(new_key.status, 201, "{}", new_key.body);
    let mut secrets = vec![
        api.key.clone(),
        created.json()["secret"].as_str().unwrap().to_owned(),
        rotated.json()["secret"].as_str().unwrap().to_owned(),
        new_key.json()["key"].as_str().unwrap().to_owned(),
    ];
    // The part after the prefix, too (a log could print a key without its `arx_`).
    secrets.extend(
        secrets
            .clone()
            .iter()
            .map(|s| s.rsplit('_').next().unwrap().to_owned()),
    );
    let logs = api.shim.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
        "RUST_LOG=trace logs more than INFO"
    );
    for secret in &secrets {
        let leaks: Vec<&String> = logs
            .iter()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(leaks.is_empty(), "{secret} logged: {leaks:#?}");
    }
    assert!(!logs.iter().any(|l| l.contains("with parameters")));
}

/// Locks the panel in a transaction of its own (the returned client's: `ROLLBACK` releases it)
/// and sends a PATCH of it over a raw connection (returned, so that the caller decides when it
/// goes away); returns once the PATCH waits for the lock.
fn patch_waiting_on_the_panel(api: &Api) -> (postgres::Client, std::net::TcpStream) {
    use std::io::Write;
    let mut locker = api.cluster.client();
    locker
        .batch_execute(
            "BEGIN; SELECT 1 FROM arxos.objects WHERE path = '/electrical/panels/panel_1' FOR UPDATE",
        )
        .expect("lock the panel");
    let body = json!({"health": 50}).to_string();
    let mut client = std::net::TcpStream::connect(api.shim.addr()).expect("connect to the shim");
    write!(
        client,
        "PATCH /api/buildings/b42/objects/electrical/panels/panel_1 HTTP/1.1\r\nhost: x\r\n\
         x-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        api.key,
        body.len()
    )
    .expect("send the request");
    wait_until(
        Duration::from_secs(10),
        "the PATCH waits for the lock",
        || (lock_waiters(api) == 1).then_some(()),
    );
    (locker, client)
}

/// The shim's sessions waiting for a lock.
fn lock_waiters(api: &Api) -> i64 {
    api.sql_one::<i64>(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'arxos' \
         AND wait_event_type = 'Lock'",
    )
}

/// A shim that dies with a statement running (kill -9, or its shutdown grace period over)
/// cannot cancel it: the server notices the closed connection by itself within about a
/// second (client_connection_check_interval, set by the shim on its sessions), instead of
/// letting the statement wait on its lock until the 30 s statement timeout.
#[test]
fn statements_of_a_dead_shim_stop() {
    let api = Api::start();
    let (mut locker, client) = patch_waiting_on_the_panel(&api);
    api.shim.signal("KILL");
    wait_until(
        Duration::from_secs(10),
        "the dead shim's PATCH is stopped by the server",
        || (lock_waiters(&api) == 0).then_some(()),
    );
    locker.batch_execute("ROLLBACK").expect("release the panel");
    drop(client);
}

/// A client that goes away mid-request takes its statement with it: the shim cancels it on the
/// server (Pool::abandon) instead of letting it wait out the statement timeout holding a
/// connection (and, for a write, its locks).
#[test]
fn abandoned_requests_are_cancelled_in_the_database() {
    let api = Api::start();
    let (mut locker, client) = patch_waiting_on_the_panel(&api);
    drop(client);
    // The request timeout is 30 s (29 s for the statement); the cancel ends the wait at once.
    wait_until(
        Duration::from_secs(20),
        "the abandoned PATCH is cancelled",
        || (lock_waiters(&api) == 0).then_some(()),
    );
    locker.batch_execute("ROLLBACK").expect("release the panel");
    std::thread::sleep(Duration::from_millis(300));
    let panel = api
        .get("/api/buildings/b42/objects/electrical/panels/panel_1")
        .json();
    assert_eq!(
        panel["health"], 100,
        "the abandoned write did not happen: {panel}"
    );
}

/// The keys and webhooks listings page by creation: `next` carries the last item's place
/// (`created_at,id`), which still holds when that item was deleted meanwhile (a clean-up that
/// deletes as it walks); a place that is not one is 400.
#[test]
fn keys_and_webhooks_page_by_creation() {
    let api = Api::start();
    let mut hooks = Vec::new();
    for n in 1..=3 {
        let created = api.send(
            "POST",
            "/api/webhooks",
            Some(&json!({"url": format!("https://example.com/hook/{n}")})),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        hooks.push(created.json()["id"].as_str().unwrap().to_owned());
    }
    let first = api.get("/api/webhooks?limit=2");
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [hooks[0].as_str(), hooks[1].as_str()]);
    let next = first["next"].as_str().expect("a next link").to_owned();
    let deleted = api.send("DELETE", &format!("/api/webhooks/{}", hooks[1]), None);
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let second = api.get(&next).json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1, "{second}");
    assert_eq!(second["items"][0]["id"], hooks[2].as_str());
    assert!(second["next"].is_null(), "{second}");

    for n in 1..=2 {
        let created = api.send(
            "POST",
            "/api/keys",
            Some(&json!({"name": format!("device-{n}"), "scopes": ["read"]})),
        );
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let mut seen = Vec::new();
    let mut url = Some("/api/keys?limit=1".to_owned());
    while let Some(at) = url {
        let page = api.get(&at);
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        for key in page["items"].as_array().unwrap() {
            seen.push(key["id"].as_str().unwrap().to_owned());
        }
        url = page["next"].as_str().map(str::to_owned);
    }
    let all: i64 = api.sql_one("SELECT count(*) FROM arxos.api_keys");
    assert_eq!(seen.len() as i64, all);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "{seen:?}");

    for url in ["/api/keys?after=x", "/api/webhooks?after=2026-12-06,nope"] {
        let error = assert_error(&api.get(url), 400, "VALIDATION_ERROR");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("after must be the place of the last item"),
            "{url}: {error}"
        );
    }
    assert_error(&api.get("/api/keys?limit=0"), 400, "VALIDATION_ERROR");
}
