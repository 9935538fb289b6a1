//! The market over HTTP: contributors, contributions (idempotent), verification, balances,
//! transfers, tokens.

mod api_common;

use api_common::{assert_error, create_key, Api};
use serde_json::json;

const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[test]
fn contributors_contributions_transfers_and_tokens() {
    let api = Api::start();
    let alice_key = create_key(&api.cluster, "alice", &["write"], None);
    let bob_key = create_key(&api.cluster, "bob", &["write"], None);

    let alice = api.send_as(
        &alice_key,
        "POST",
        "/api/contributors",
        Some(&json!({"handle": "alice", "display_name": "Alice"})),
    );
    assert_eq!(alice.status, 201, "{}", alice.body);
    assert_eq!(alice.json()["handle"], "alice");
    let location = alice.header("location").expect("201 has a Location");
    assert_eq!(
        location,
        format!("/api/contributors/{}", alice.json()["id"].as_str().unwrap())
    );
    assert_eq!(api.get_as(&alice_key, location).json()["handle"], "alice");
    let bob = api.send_as(
        &bob_key,
        "POST",
        "/api/contributors",
        Some(&json!({"handle": "bob", "display_name": "Bob"})),
    );
    assert_eq!(bob.status, 201, "{}", bob.body);
    let taken = api.send_as(
        &bob_key,
        "POST",
        "/api/contributors",
        Some(&json!({"handle": "bob", "display_name": "B"})),
    );
    assert_error(&taken, 409, "CONFLICT");

    // Metadata is a JSON object: a string holding JSON is a string, not parsed a second time.
    let stringly = json!({"building": "b42", "contributor": "alice", "type": "object_documentation",
                          "data_hash": HASH_A, "path": "/electrical", "metadata": "{\"notes\": \"checked\"}"});
    let refused = api.send_as(&alice_key, "POST", "/api/contributions", Some(&stringly));
    assert_eq!(refused.status, 400, "{}", refused.body);
    let body = json!({"building": "b42", "contributor": "alice", "type": "object_documentation",
                      "data_hash": HASH_A, "path": "/electrical", "metadata": {"notes": "checked"}});
    let headers = [
        ("x-api-key", alice_key.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", "retry-1"),
    ];
    let first = api.http.request(
        "POST",
        &api.shim.url("/api/contributions"),
        &headers,
        Some(body.to_string().into_bytes()),
    );
    assert_eq!(first.status, 201, "{}", first.body);
    let contribution = first.json();
    let again = api.http.request(
        "POST",
        &api.shim.url("/api/contributions"),
        &headers,
        Some(body.to_string().into_bytes()),
    );
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(
        again.json()["contribution_id"],
        contribution["contribution_id"],
        "idempotent replay"
    );
    // A key that cannot be stored, or two keys, is a bad request (not a conflict).
    let long = "k".repeat(201);
    for (bad, says) in [
        (vec![("idempotency-key", "")], "1 to 200 characters"),
        (
            vec![("idempotency-key", long.as_str())],
            "1 to 200 characters",
        ),
        (
            vec![("idempotency-key", "a"), ("idempotency-key", "b")],
            "given more than once",
        ),
    ] {
        let mut with = vec![
            ("x-api-key", alice_key.as_str()),
            ("content-type", "application/json"),
        ];
        with.extend(bad);
        let reply = api.http.request(
            "POST",
            &api.shim.url("/api/contributions"),
            &with,
            Some(body.to_string().into_bytes()),
        );
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert!(reply.body.contains(says), "{}", reply.body);
    }
    // Acting for somebody else's contributor is refused.
    let other = api.send_as(
        &bob_key,
        "POST",
        "/api/contributions",
        Some(
            &json!({"building": "b42", "contributor": "alice", "type": "object_documentation",
                     "data_hash": "b".repeat(64), "path": "/electrical"}),
        ),
    );
    assert_error(&other, 403, "FORBIDDEN");

    let listed = api
        .get("/api/contributions?building=b42&contributor=alice")
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert!(listed["next"].is_null(), "{listed}");
    let after = listed["items"][0]["id"].as_str().unwrap();
    let rest = api
        .get(&format!("/api/contributions?building=b42&after={after}"))
        .json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 0, "{rest}");
    assert_error(
        &api.get("/api/contributions?after=not-an-id"),
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &api.get("/api/contributions?after=00000000-0000-0000-0000-000000000000"),
        400,
        "VALIDATION_ERROR",
    );
    // A key limited to another building lists none of b42's contributions.
    api.cluster
        .client()
        .batch_execute("SELECT arxos.create_building('b7', 'Elsewhere', NULL)")
        .expect("a second building");
    let elsewhere = create_key(&api.cluster, "elsewhere", &["read"], Some(&["b7"]));
    let scoped = api.get_as(&elsewhere, "/api/contributions").json();
    assert_eq!(scoped["items"].as_array().unwrap().len(), 0, "{scoped}");
    // An unknown contributor or building is 404, also when no contribution is there to compare.
    for (key, query) in [
        (&api.key, "contributor=ghost"),
        (&api.key, "building=nope"),
        (&elsewhere, "contributor=ghost"),
        (&elsewhere, "building=b7&contributor=ghost"),
        // before an after that names nothing: the unknown name is what is wrong
        (
            &api.key,
            "contributor=ghost&after=00000000-0000-0000-0000-000000000000",
        ),
        (
            &api.key,
            "building=nope&after=00000000-0000-0000-0000-000000000000",
        ),
    ] {
        let reply = api.get_as(key, &format!("/api/contributions?{query}"));
        let body = assert_error(&reply, 404, "NOT_FOUND");
        // the market's own code for an unknown building, as on every market route
        if query.starts_with("building=nope") {
            assert_eq!(body["error"]["details"]["sqlstate"], "AX001", "{body}");
        }
    }
    // A write key limited to b7 cannot move b42's tokens: 403, as on every route naming b42.
    let b7_writer = create_key(&api.cluster, "b7-writer", &["write"], Some(&["b7"]));
    let moved = api.send_as(
        &b7_writer,
        "POST",
        "/api/transfers",
        Some(&json!({"from": "alice", "to": "bob", "amount": 1, "building": "b42"})),
    );
    assert_error(&moved, 403, "FORBIDDEN");

    let id = contribution["contribution_id"].as_str().unwrap();
    let own = api.send_as(
        &alice_key,
        "POST",
        &format!("/api/contributions/{id}/verify"),
        Some(&json!({"verifier": "alice", "status": "auto_verified"})),
    );
    // Nobody verifies their own work (AX014).
    assert_error(&own, 403, "FORBIDDEN");
    assert_eq!(
        own.json()["error"]["details"]["sqlstate"],
        "AX014",
        "{}",
        own.body
    );

    let balance = api.get("/api/contributors/alice/balance");
    assert_eq!(balance.status, 200, "{}", balance.body);
    let earned: f64 = balance.json()["balance"].as_f64().unwrap();
    assert!(earned > 0.0, "{}", balance.body);

    let sent = api.send_as(&alice_key, "POST", "/api/transfers",
        Some(&json!({"from": "alice", "to": "bob", "amount": 1, "memo": "thanks", "building": "b42"})));
    assert_eq!(sent.status, 201, "{}", sent.body);
    let too_much = api.send_as(
        &alice_key,
        "POST",
        "/api/transfers",
        Some(&json!({"from": "alice", "to": "bob", "amount": 1000000, "building": "b42"})),
    );
    assert_error(&too_much, 409, "CONFLICT");
    // The amount is taken as written, never through a binary float: 1.0000000000000001 would
    // become 1 there and move a token the client did not ask for.
    let precise = api.http.request(
        "POST",
        &api.shim.url("/api/transfers"),
        &[
            ("x-api-key", alice_key.as_str()),
            ("content-type", "application/json"),
        ],
        Some(
            br#"{"from": "alice", "to": "bob", "amount": 1.0000000000000001, "building": "b42"}"#
                .to_vec(),
        ),
    );
    let error = assert_error(&precise, 400, "VALIDATION_ERROR");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid amount '1.0000000000000001'"),
        "{error}"
    );
    // An Idempotency-Key makes a transfer safe to retry: the retry books nothing and answers
    // the first transaction; another transfer under the key is 409.
    let keyed = |body: &[u8]| {
        api.http.request(
            "POST",
            &api.shim.url("/api/transfers"),
            &[
                ("x-api-key", alice_key.as_str()),
                ("content-type", "application/json"),
                ("idempotency-key", "t1"),
            ],
            Some(body.to_vec()),
        )
    };
    let one = br#"{"from": "alice", "to": "bob", "amount": 1, "building": "b42"}"#;
    let first = keyed(one);
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["replayed"], false, "{}", first.body);
    let retry = keyed(one);
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.json()["replayed"], true, "{}", retry.body);
    assert_eq!(
        retry.json()["transaction_id"],
        first.json()["transaction_id"]
    );
    let other = keyed(br#"{"from": "alice", "to": "bob", "amount": 2, "building": "b42"}"#);
    let error = assert_error(&other, 409, "CONFLICT");
    assert_eq!(error["error"]["details"]["sqlstate"], "AX012", "{error}");
    let after: f64 = api.get("/api/contributors/alice/balance").json()["balance"]
        .as_f64()
        .unwrap();
    assert_eq!(after, earned - 2.0, "the keyed transfer was booked once");
    // a wrong type is the body's shape, as on every typed body: 422
    for amount in [json!([1]), json!(true), json!(null), json!({"n": 1})] {
        let not_a_number = api.send_as(
            &alice_key,
            "POST",
            "/api/transfers",
            Some(&json!({"from": "alice", "to": "bob", "amount": amount, "building": "b42"})),
        );
        let error = assert_error(&not_a_number, 422, "VALIDATION_ERROR");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("expected a number (a JSON number, or a string holding one)"),
            "{error}"
        );
    }
    // a string is taken as the number it spells, nothing around it
    let spaced = api.send_as(
        &alice_key,
        "POST",
        "/api/transfers",
        Some(&json!({"from": "alice", "to": "bob", "amount": " 1 ", "building": "b42"})),
    );
    assert_error(&spaced, 400, "VALIDATION_ERROR");
    // alice's statement: newest first, paged with before; the keyed transfer once
    let page = api
        .get("/api/contributors/alice/transactions?limit=1")
        .json();
    let first = &page["items"][0];
    assert_eq!(first["kind"], "transfer", "{page}");
    assert_eq!(first["counterparty"], "bob", "{page}");
    assert_eq!(first["amount"].as_f64(), Some(-1.0), "{page}");
    let next = page["next"].as_str().expect("a next page");
    assert!(
        next.starts_with("/api/contributors/alice/transactions?"),
        "{next}"
    );
    assert!(
        next.contains(&format!("before={}", first["transaction_id"])),
        "{next}"
    );
    let all = api
        .get("/api/contributors/alice/transactions?limit=1000")
        .json();
    let moved: f64 = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_f64().unwrap())
        .sum();
    assert!((moved - (earned - 2.0)).abs() < 1e-6, "{all}");
    assert_error(
        &api.get("/api/contributors/ghost/transactions"),
        404,
        "NOT_FOUND",
    );
    // a key limited to another building sees none of b42's tokens move, and may not ask for them
    let scoped = api
        .get_as(&elsewhere, "/api/contributors/alice/transactions")
        .json();
    assert_eq!(scoped["items"].as_array().unwrap().len(), 0, "{scoped}");
    assert_error(
        &api.get_as(
            &elsewhere,
            "/api/contributors/alice/transactions?building=b42",
        ),
        403,
        "FORBIDDEN",
    );
    let bob_balance = api.get("/api/contributors/bob/balance").json();
    assert_eq!(bob_balance["balance"].as_f64(), Some(2.0), "{bob_balance}");

    let top = api.get("/api/contributors/top?building=b42").json();
    assert_eq!(top["items"][0]["handle"], "alice", "{top}");
    let token = api.get("/api/tokens/b42");
    assert_eq!(token.status, 200, "{}", token.body);
    assert!(token.json()["supply"].is_number(), "{}", token.body);
    assert_error(&api.get("/api/contributors/nobody"), 404, "NOT_FOUND");
    assert_error(&api.get("/api/tokens/nope"), 404, "NOT_FOUND");

    let profile = api.get("/api/contributors/alice");
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.json()["handle"], "alice");
    // Contributors are given by id as well.
    let alice_id = profile.json()["id"].as_str().unwrap().to_owned();
    let by_id = api.get(&format!("/api/contributors/{alice_id}"));
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    assert_eq!(by_id.json()["handle"], "alice");

    // Somebody else, trusted enough, verifies alice's contribution.
    api.cluster
        .client()
        .batch_execute("UPDATE arxos.contributors SET reputation = 350 WHERE handle = 'bob'")
        .expect("bob earns some trust");
    let verified = api.send_as(
        &bob_key,
        "POST",
        &format!("/api/contributions/{id}/verify"),
        Some(&json!({"verifier": "bob", "status": "peer_verified"})),
    );
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(
        verified.json()["new_status"],
        "peer_verified",
        "{}",
        verified.body
    );
    let listed = api.get("/api/contributions?contributor=alice").json();
    assert_eq!(listed["items"][0]["status"], "peer_verified", "{listed}");

    // A replay answers the transaction booked first, as the ledger holds it, not the retry's
    // own spelling of the same transfer (an amount of 0.10 for 0.1, an id for a handle).
    let keyed = |body: &[u8]| {
        api.http.request(
            "POST",
            &api.shim.url("/api/transfers"),
            &[
                ("x-api-key", bob_key.as_str()),
                ("content-type", "application/json"),
                ("idempotency-key", "t-spelled"),
            ],
            Some(body.to_vec()),
        )
    };
    let first = keyed(br#"{"from": "bob", "to": "alice", "amount": "0.1", "building": "b42"}"#);
    assert_eq!(first.status, 201, "{}", first.body);
    let first = first.json();
    assert_eq!(first["replayed"], false, "{first}");
    assert_eq!(first["to"], alice_id.as_str(), "{first}");
    assert_eq!(first["amount"].to_string(), "0.100000", "{first}");
    let retry = keyed(
        format!(r#"{{"from": "bob", "to": "{alice_id}", "amount": 0.10, "building": "b42"}}"#)
            .as_bytes(),
    );
    assert_eq!(retry.status, 201, "{}", retry.body);
    let retry = retry.json();
    assert_eq!(retry["replayed"], true, "{retry}");
    for field in ["transaction_id", "from", "to", "amount"] {
        assert_eq!(retry[field], first[field], "{field}: {retry} after {first}");
    }
}

/// The market's rate limit answers 429 with `Retry-After`: when the oldest contribution of the
/// window leaves it.
#[test]
fn the_market_rate_limit_says_when_to_retry() {
    let api = Api::start();
    api.cluster
        .client()
        .batch_execute("UPDATE arxos.market_settings SET rate_limit = 1, rate_window = '1 hour'")
        .unwrap();
    let key = create_key(&api.cluster, "rl", &["write"], None);
    let registered = api.send_as(
        &key,
        "POST",
        "/api/contributors",
        Some(&json!({"handle": "rlimit", "display_name": "Rl"})),
    );
    assert_eq!(registered.status, 201, "{}", registered.body);
    let contribution = |hash: &str| {
        api.send_as(
            &key,
            "POST",
            "/api/contributions",
            Some(
                &json!({"building": "b42", "contributor": "rlimit", "type": "object_documentation",
                         "data_hash": hash, "path": "/electrical", "metadata": {"notes": "n"}}),
            ),
        )
    };
    assert_eq!(contribution(HASH_A).status, 201);
    let limited = contribution(&"b".repeat(64));
    let body = assert_error(&limited, 429, "RATE_LIMITED");
    assert_eq!(body["error"]["details"]["sqlstate"], "AX011", "{body}");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&wait), "{wait}");
}

/// Concurrent sends of one keyed transfer over HTTP book it once: one answer says it booked,
/// the others that they replayed it, all with the same transaction.
#[test]
fn concurrent_keyed_transfers_book_once() {
    let api = Api::start();
    let key = create_key(&api.cluster, "payer", &["write", "read"], None);
    for handle in ["payer", "payee"] {
        let r = api.send_as(
            &key,
            "POST",
            "/api/contributors",
            Some(&json!({"handle": handle, "display_name": handle})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // tokens for the payer: a floor plan (pending) in b42
    let paid = api.send_as(
        &key,
        "POST",
        "/api/contributions",
        Some(
            &json!({"building": "b42", "contributor": "payer", "type": "floor_plan_upload",
                     "data_hash": "c".repeat(64), "metadata": {"floor": 1}}),
        ),
    );
    assert_eq!(paid.status, 201, "{}", paid.body);
    let answers: Vec<serde_json::Value> = std::thread::scope(|s| {
        let sends: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let r = api.http.request(
                        "POST",
                        &api.shim.url("/api/transfers"),
                        &[
                            ("x-api-key", key.as_str()),
                            ("content-type", "application/json"),
                            ("idempotency-key", "once"),
                        ],
                        Some(br#"{"from": "payer", "to": "payee", "amount": 5}"#.to_vec()),
                    );
                    assert_eq!(r.status, 201, "{}", r.body);
                    r.json()
                })
            })
            .collect();
        sends.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let booked = answers.iter().filter(|a| a["replayed"] == false).count();
    assert_eq!(booked, 1, "{answers:?}");
    // every answer is the one transaction's, a replay's read back from the ledger
    for field in ["transaction_id", "from", "to", "amount"] {
        assert!(
            answers.iter().all(|a| a[field] == answers[0][field]),
            "{field}: {answers:?}"
        );
    }
    assert_eq!(answers[0]["amount"].to_string(), "5.000000", "{answers:?}");
    let payee = api.get_as(&key, "/api/contributors/payee/balance").json();
    assert_eq!(payee["balance"].as_f64(), Some(5.0), "{payee}");
}
