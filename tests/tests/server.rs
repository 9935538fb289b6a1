//! The server's own behaviour: error shape, limits, CORS, logs, shutdown, replicas.

use std::io::{Read, Write};
use std::time::Duration;

mod support;

use arxos_e2e::{wait_until, Cluster, Http, Shim};
use serde_json::Value;

fn assert_error_shape(body: &Value, code: &str) {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].is_string(), "{body}");
    assert!(error.get("details").is_some(), "details missing: {body}");
}

#[test]
fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let http = Http::new();

    let reply = http.get(&shim.url("/api/no/such/route"));
    assert_eq!(reply.status, 404);
    assert_error_shape(&reply.json(), "NOT_FOUND");

    let reply = http.get(&shim.url("/"));
    assert_eq!(reply.status, 404);
    assert_error_shape(&reply.json(), "NOT_FOUND");

    let reply = http.request("DELETE", &shim.url("/api/health"), &[], None);
    assert_eq!(reply.status, 405);
    assert_error_shape(&reply.json(), "METHOD_NOT_ALLOWED");
    assert!(reply.header("allow").is_some_and(|v| v.contains("GET")));
}

/// One request written as is (no client library in between), its answer as text.
fn raw(shim: &Shim, request: &str) -> String {
    raw_within(shim, request, Duration::from_secs(30)).1
}

/// [`raw`], reading the answer until the server closes the connection or `limit` passes
/// (then the read is an error): whether the server closed it, and what it said.
fn raw_within(shim: &Shim, request: &str, limit: Duration) -> (std::io::Result<usize>, String) {
    let mut stream = std::net::TcpStream::connect(shim.addr()).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    // lossily: a compressed body is not text
    (read, String::from_utf8_lossy(&answer).into_owned())
}

/// An answer's status line and headers, without its body.
fn head(answer: &str) -> String {
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// HTTP's own rules, on every route: one Host, well-formed percent-encoding, bodies without a
/// Content-Encoding, If-Unmodified-Since refused rather than ignored; no answer may be stored
/// by a cache (an X-API-Key is no credential to a cache); a 401 names its scheme.
#[test]
fn http_rules_hold_on_every_route() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let key: String = cluster
        .client()
        .query_one(
            "SELECT key FROM arxos.create_building('rules', 'Rules') b, arxos.create_api_key('rules', ARRAY['write'])",
            &[],
        )
        .unwrap()
        .get(0);
    for (request, says) in [
        (
            "GET /api/health HTTP/1.1\r\nconnection: close\r\n\r\n".to_owned(),
            "exactly one Host header",
        ),
        (
            "GET /api/health HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n".to_owned(),
            "exactly one Host header",
        ),
        (
            format!("GET /api/buildings/b42/objects/p%zz HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\nconnection: close\r\n\r\n"),
            "not followed by two hexadecimal digits",
        ),
    ] {
        let answer = raw(&shim, &request);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains(says), "{answer}");
    }
    let http = Http::new();
    let url = shim.url("/api/buildings/rules/objects/p");
    let encoded = http.request(
        "PUT",
        &url,
        &[
            ("x-api-key", key.as_str()),
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        Some(br#"{"type": "panel"}"#.to_vec()),
    );
    assert_eq!(encoded.status, 415, "{}", encoded.body);
    assert_eq!(encoded.header("accept-encoding"), Some("identity"));
    // JSON in another charset would be misread as UTF-8 (Latin-1 "é" is byte E9): refused,
    // nothing written; charset=utf-8 is fine
    let latin = http.request(
        "PUT",
        &url,
        &[
            ("x-api-key", key.as_str()),
            ("content-type", "application/json; charset=iso-8859-1"),
        ],
        Some(b"{\"type\": \"caf\xe9\"}".to_vec()),
    );
    assert_eq!(latin.status, 415, "{}", latin.body);
    assert!(
        latin.body.contains("charset 'iso-8859-1'"),
        "{}",
        latin.body
    );
    let utf8 = http.request(
        "PUT",
        &shim.url("/api/buildings/rules/objects/utf8"),
        &[
            ("x-api-key", key.as_str()),
            ("content-type", "application/json; charset=UTF-8"),
        ],
        Some(br#"{"type": "panel"}"#.to_vec()),
    );
    assert_eq!(utf8.status, 201, "{}", utf8.body);
    let dated = http.request(
        "DELETE",
        &url,
        &[
            ("x-api-key", key.as_str()),
            ("if-unmodified-since", "Mon, 01 Jan 2001 00:00:00 GMT"),
        ],
        None,
    );
    assert_eq!(dated.status, 400, "{}", dated.body);
    assert!(
        dated.body.contains("does not take If-Unmodified-Since"),
        "{}",
        dated.body
    );
    // no answer is stored by caches: data, errors, a created object with its ETag
    let created = http.request(
        "PUT",
        &url,
        &[
            ("x-api-key", key.as_str()),
            ("content-type", "application/json"),
        ],
        Some(br#"{"type": "panel"}"#.to_vec()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.header("etag").is_some());
    let listing = http.request(
        "GET",
        &shim.url("/api/buildings"),
        &[("x-api-key", key.as_str())],
        None,
    );
    let keyless = http.get(&shim.url("/api/buildings"));
    for reply in [&created, &listing, &keyless, &dated, &encoded] {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{reply:?}");
    }
    assert_eq!(keyless.status, 401);
    assert_eq!(
        keyless.header("www-authenticate"),
        Some("Bearer realm=\"arxos\"")
    );
    // a keyless upload is refused before its body is asked for: no 100 Continue, 401 at once
    let answer = raw(
        &shim,
        "PUT /api/buildings/rules/objects/q HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: 1000\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

/// gzip when the client asks for it, on larger answers only, never on an answer with an ETag
/// (a strong tag names one representation) nor on the event stream (each message must leave at
/// once).
#[test]
fn large_answers_are_gzipped_for_clients_that_ask() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let key: String = cluster
        .client()
        .query_one(
            // the object larger than the compression threshold: only its ETag keeps it plain
            "SELECT key FROM arxos.create_building('gz', 'Gz') b,
                    arxos.put('gz', '/p', 'panel', jsonb_build_object('note', repeat('x', 4000))) o,
                    arxos.create_api_key('gz', ARRAY['read'])",
            &[],
        )
        .unwrap()
        .get(0);
    let get = |path: &str, gzip: bool| {
        let encoding = if gzip {
            "accept-encoding: gzip\r\n"
        } else {
            ""
        };
        raw_within(
            &shim,
            &format!(
                "GET {path} HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\n{encoding}connection: close\r\n\r\n"
            ),
            Duration::from_secs(5),
        )
        .1
        .to_lowercase()
    };
    let zipped = get("/api/openapi.json", true);
    assert!(zipped.starts_with("http/1.1 200"), "{zipped}");
    assert!(zipped.contains("content-encoding: gzip"), "{zipped:.400}");
    assert!(zipped.contains("vary: accept-encoding"), "{zipped:.400}");
    assert!(!zipped.contains("\"openapi\""), "the body is compressed");
    let plain = get("/api/openapi.json", false);
    // (the headers only: the document's text speaks of Content-Encoding)
    assert!(!head(&plain).contains("content-encoding"), "{plain:.400}");
    assert!(plain.contains("\"openapi\""));
    let object = get("/api/buildings/gz/objects/p", true);
    assert!(object.contains("etag: "), "{object:.400}");
    assert!(!head(&object).contains("content-encoding"), "{object:.400}");
    assert!(object.contains(&"x".repeat(4000)), "sent plain");
    // the stream: read until the limit, then look at the head
    let stream = get("/api/events?after=0", true);
    assert!(
        stream.contains("content-type: text/event-stream"),
        "{stream:.400}"
    );
    assert!(!head(&stream).contains("content-encoding"), "{stream:.400}");
    assert!(stream.contains(": ready"), "{stream:.400}");
}

/// A request head that never ends (slowloris: a byte now and then) does not hold its
/// connection for ever: it is closed once the request timeout has passed without a whole head;
/// a body that never ends is answered 408.
#[test]
fn a_request_head_that_never_ends_is_cut_off() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), &["--request-timeout", "1"], &[]);
    // a liveness bound, far above the 1 s limit and below hyper's own default of 30 s: the
    // server closes the connection first, because --request-timeout is its limit
    let (read, answer) = raw_within(
        &shim,
        "GET /api/health HTTP/1.1\r\nhost: x\r\n",
        Duration::from_secs(15),
    );
    assert!(
        read.is_ok(),
        "the connection stayed open: {read:?} {answer}"
    );
    // a body that stops short: the client's delay, 408 (not the 503 of a slow server), and
    // the connection closed
    let (read, answer) = raw_within(
        &shim,
        "PUT /api/buildings/b42/objects/p HTTP/1.1\r\nhost: x\r\nx-api-key: arx_x\r\n\
         content-type: application/json\r\ncontent-length: 22\r\n\r\n{\"type\": \"pa",
        Duration::from_secs(30),
    );
    assert!(
        read.is_ok(),
        "the connection stayed open: {read:?} {answer}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");
    assert!(head(&answer).contains("connection: close"), "{answer}");
    // an answer given before the body was read (no key, an unknown route or parameter) closes
    // the connection, and says so: a client that put it back in its pool lost its next
    // request (found by a review)
    for target in [
        "/api/buildings/b42/objects/p",
        "/api/nowhere",
        "/api/buildings/b42/objects/p?unknown=1",
    ] {
        let (read, answer) = raw_within(
            &shim,
            &format!(
                "PUT {target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                 content-length: 100000\r\n\r\n{{\"type\": \"pa"
            ),
            Duration::from_secs(30),
        );
        assert!(read.is_ok(), "{target}: {read:?} {answer}");
        assert!(answer.starts_with("HTTP/1.1 4"), "{target}: {answer}");
        assert!(
            head(&answer).contains("connection: close"),
            "{target}: {answer}"
        );
    }
    // a whole body the handler had not read yet because the database was slow (the import
    // route checks the key and building first): the server's delay, 503, not 408
    let admin: String = cluster
        .client()
        .query_one(
            "SELECT key FROM arxos.create_building('slow', 'Slow') b, arxos.create_api_key('slow', ARRAY['admin'])",
            &[],
        )
        .unwrap()
        .get(0);
    let mut dba = cluster.client();
    dba.batch_execute("BEGIN; LOCK TABLE arxos.buildings IN ACCESS EXCLUSIVE MODE")
        .expect("lock");
    let held = Http::new().request(
        "POST",
        &shim.url("/api/buildings/slow/import?format=brick"),
        &[
            ("x-api-key", admin.as_str()),
            ("content-type", "text/turtle"),
        ],
        Some(b"@prefix ex: <urn:x#> .\n".to_vec()),
    );
    dba.batch_execute("ROLLBACK").expect("unlock");
    assert_eq!(held.status, 503, "{}", held.body);
    // the server goes on answering whole requests
    assert_eq!(Http::new().get(&shim.url("/api/health/live")).status, 200);
}

/// A statement the database cancels at the statement timeout (a write waiting for a row
/// another transaction holds) is a 503 that says so, with `Retry-After` and the SQLSTATE in
/// `details`, as every answer the database raised (found by an audit: details were null).
#[test]
fn a_statement_timeout_is_said_with_its_sqlstate() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), &["--request-timeout", "4"], &[]);
    let key: String = cluster
        .client()
        .query_one(
            "SELECT key FROM arxos.create_building('held', 'Held') b, arxos.put('held', '/a', 'thing') o,
                    arxos.create_api_key('held', ARRAY['write'])",
            &[],
        )
        .unwrap()
        .get(0);
    let mut dba = cluster.client();
    dba.batch_execute(
        "BEGIN; SELECT 1 FROM arxos.objects WHERE path = '/a' AND building_id = arxos.building_id('held') FOR UPDATE",
    )
    .expect("hold the row");
    let reply = Http::new().request(
        "PATCH",
        &shim.url("/api/buildings/held/objects/a"),
        &[
            ("x-api-key", key.as_str()),
            ("content-type", "application/json"),
        ],
        Some(br#"{"health": 77}"#.to_vec()),
    );
    dba.batch_execute("ROLLBACK").expect("release");
    assert_eq!(reply.status, 503, "{}", reply.body);
    let body = reply.json();
    assert_error_shape(&body, "UNAVAILABLE");
    assert_eq!(body["error"]["details"]["sqlstate"], "57014", "{body}");
    assert!(
        reply.body.contains("cancelled the request's statement"),
        "{}",
        reply.body
    );
}

#[test]
fn oversized_bodies_are_refused() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), &["--body-limit", "1024"], &[]);
    let reply = Http::new().request(
        "POST",
        &shim.url("/api/health/live"),
        &[("content-type", "application/json")],
        Some(vec![b' '; 4096]),
    );
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_error_shape(&reply.json(), "PAYLOAD_TOO_LARGE");
    assert!(
        reply
            .body
            .contains("over this server's limit of 1024 bytes (--body-limit)"),
        "the answer states the limit: {}",
        reply.body
    );

    // Streamed without a Content-Length (chunked), an import over the limit is 413 too: the
    // limit strikes while the route reads the body (after the key and the building, which it
    // checks first, pass).
    let mut db = cluster.client();
    db.execute("SELECT arxos.create_building('b42', 'HQ')", &[])
        .unwrap();
    let key: String = db
        .query_one(
            "SELECT key FROM arxos.create_api_key('big', ARRAY['admin'])",
            &[],
        )
        .unwrap()
        .get(0);
    let chunk = format!("@prefix ex: <urn:x#> .{}\n", " ".repeat(500));
    let mut request = format!(
        "POST /api/buildings/b42/import?format=brick HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    for _ in 0..8 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let answer = raw(&shim, &request);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");
    assert!(answer.contains("limit of 1024 bytes"), "{answer}");

    // A chunked JSON body over the limit, read by the JSON body check: 413 with the limit.
    let chunk = format!(
        "{{\"type\": \"panel\", \"properties\": {{\"note\": \"{}\"}}}}",
        "x".repeat(2000)
    );
    let request = format!(
        "PUT /api/buildings/b42/objects/p HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
         {:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let answer = raw(&shim, &request);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("limit of 1024 bytes"), "{answer}");
}

#[test]
fn a_query_endpoint_turned_off_is_not_found() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), &["--no-query"], &[]);
    let key: String = cluster
        .client()
        .query_one(
            "SELECT key FROM arxos.create_api_key('q', ARRAY['read'])",
            &[],
        )
        .unwrap()
        .get(0);
    let reply = Http::new().request(
        "POST",
        &shim.url("/api/query"),
        &[("x-api-key", &key), ("content-type", "application/json")],
        Some(br#"{"sql": "SELECT 1"}"#.to_vec()),
    );
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_error_shape(&reply.json(), "NOT_FOUND");
}

#[test]
fn cross_origin_calls_are_denied_unless_configured() {
    let cluster = Cluster::start();
    let http = Http::new();
    let origin = [("origin", "https://app.example.com")];

    let closed = Shim::start(&cluster.url());
    let reply = http.request("GET", &closed.url("/api/health/live"), &origin, None);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), None);

    let open = Shim::start_with(
        &cluster.url(),
        &[],
        &[(
            "ARXOS_CORS_ORIGINS",
            "https://app.example.com,https://other.example.com",
        )],
    );
    let reply = http.request("GET", &open.url("/api/health/live"), &origin, None);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    // a browser script may read the tag it sends back as If-Match, and where a POST created
    let exposed = reply
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["etag", "location", "retry-after"] {
        assert!(
            exposed.split(',').any(|h| h.trim() == header),
            "{header} not in {exposed:?}"
        );
    }
    let reply = http.request(
        "GET",
        &open.url("/api/health/live"),
        &[("origin", "https://evil.example.com")],
        None,
    );
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let preflight = http.request(
        "OPTIONS",
        &open.url("/api/health"),
        &[
            ("origin", "https://other.example.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-api-key,last-event-id"),
        ],
        None,
    );
    assert!(
        preflight.status < 300,
        "{} {}",
        preflight.status,
        preflight.body
    );
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://other.example.com")
    );
    // the CORS layer answers a preflight itself: still not for caches to keep
    assert_eq!(preflight.header("cache-control"), Some("no-store"));
    // A client resuming the event stream sends Last-Event-ID; conditional writes send
    // If-Match or If-None-Match.
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["x-api-key", "last-event-id", "if-match", "if-none-match"] {
        assert!(
            allowed.split(',').any(|h| h.trim() == header),
            "{header} not in {allowed:?}"
        );
    }
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    let cluster = Cluster::start();
    let http = Http::new();
    for signal in ["TERM", "INT"] {
        let mut shim = Shim::start(&cluster.url());
        assert_eq!(http.get(&shim.url("/api/health")).status, 200);
        shim.signal(signal);
        let status = shim
            .wait_exit(Duration::from_secs(15))
            .unwrap_or_else(|| panic!("arxos still running 15 s after SIG{signal}"));
        assert!(status.success(), "SIG{signal}: exited with {status}");
        assert!(
            shim.logs().iter().any(|l| l.contains("shutting down")),
            "{:#?}",
            shim.logs()
        );
    }
}

#[test]
fn logs_never_show_the_database_password() {
    let cluster = Cluster::start();
    // Trust authentication ignores the password; the server still holds it.
    let url = format!(
        "postgres://postgres:hunter2-not-for-logs@127.0.0.1:{}/arxos",
        cluster.port()
    );
    let shim = Shim::start(&url);
    let http = Http::new();
    assert_eq!(http.get(&shim.url("/api/health")).status, 200);
    cluster.stop();
    assert_eq!(http.get(&shim.url("/api/health")).status, 503);
    let logs = shim.logs();
    assert!(logs.iter().any(|l| l.contains("127.0.0.1")), "{logs:#?}");
    assert!(
        !logs.iter().any(|l| l.contains("hunter2")),
        "password in the logs: {logs:#?}"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), &[], &[("ARXOS_LOG_FORMAT", "json")]);
    assert_eq!(Http::new().get(&shim.url("/api/health")).status, 200);
    let logs = shim.logs();
    assert!(!logs.is_empty());
    for line in &logs {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
    // numbers as numbers: a request's status and latency, the listener's position
    let answered = wait_until(Duration::from_secs(30), "the request's line", || {
        shim.logs().into_iter().find_map(|line| {
            let value: Value = serde_json::from_str(&line).ok()?;
            (value["fields"]["message"] == "finished processing request").then_some(value)
        })
    });
    assert_eq!(answered["fields"]["status"], 200, "{answered}");
    assert!(answered["fields"]["latency_ms"].is_f64(), "{answered}");
    // (the listener starts on its own connection, maybe after the request: waited for)
    let started = wait_until(Duration::from_secs(30), "the listener's start", || {
        shim.logs()
            .into_iter()
            .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
            .find(|v| v["fields"]["message"] == "event listener started")
    });
    assert!(started["fields"]["after"].is_i64(), "{started}");
    // the start-up report's version as the text it is (was `Some("0.1.0")`: found by a review)
    let reachable = wait_until(Duration::from_secs(30), "the start-up report", || {
        shim.logs()
            .into_iter()
            .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
            .find(|v| v["fields"]["message"] == "database reachable")
    });
    assert_eq!(
        reachable["fields"]["extension_version"], "0.1.0",
        "{reachable}"
    );
}

#[test]
fn two_servers_share_one_database() {
    let cluster = Cluster::start();
    let first = Shim::start(&cluster.url());
    // a replica may leave the minute ticker to another (found by an adversarial review: every
    // replica's tick held the outbox for as long as it took)
    let second = Shim::start_with(&cluster.url(), &["--no-ticker"], &[]);
    let quiet = wait_until(Duration::from_secs(30), "the ticker's word", || {
        second
            .logs()
            .into_iter()
            .find(|l| l.contains("minute ticker off in this shim (--no-ticker)"))
    });
    assert!(!quiet.is_empty());
    assert_ne!(first.base_url(), second.base_url());
    let http = Http::new();
    for shim in [&first, &second] {
        assert_eq!(http.get(&shim.url("/api/health")).status, 200);
    }
}

#[test]
fn a_killed_server_restarts_on_its_address() {
    let cluster = Cluster::start();
    let http = Http::new();
    let mut first = Shim::start(&cluster.url());
    assert_eq!(http.get(&first.url("/api/health")).status, 200);
    let addr = first.addr().to_owned();
    first.signal("KILL");
    let status = first
        .wait_exit(Duration::from_secs(10))
        .expect("SIGKILL ends the process");
    assert!(!status.success());

    let second = Shim::start_with(&cluster.url(), &["--addr", &addr], &[]);
    assert_eq!(second.addr(), addr);
    assert_eq!(http.get(&second.url("/api/health")).status, 200);
}

/// An address in use is refused at start, before any work on the database: exit 1 and the
/// address in the message (the database here is not even reachable).
#[test]
fn an_address_in_use_stops_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = taken.local_addr().unwrap().to_string();
    // whatever the log filter: one that leaves the server's own errors out (`off`, a filter
    // naming another target) gets the reason on stderr all the same
    for filter in [None, Some("off"), Some("tokio_postgres=trace")] {
        let mut command = std::process::Command::new(arxos_e2e::arxos_bin());
        command
            .args(["serve", "--addr", &addr])
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/arxos");
        match filter {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let out = command.output().expect("run the arxos binary");
        assert_eq!(out.status.code(), Some(1), "{filter:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("cannot listen on {addr}")),
            "{filter:?}: {err}"
        );
    }
}

/// A configuration the router refuses (a CORS origin with a path) stops the start before the
/// listener and the webhook worker start work on the database: nothing about them is logged.
#[test]
fn a_bad_cors_origin_stops_the_start() {
    let out = std::process::Command::new(arxos_e2e::arxos_bin())
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--cors-origins",
            "https://a.example.com/",
        ])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/arxos")
        .env("RUST_LOG", "info")
        .output()
        .expect("run the arxos binary");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid CORS origin"), "{err}");
    assert!(
        !err.contains("webhook worker started") && !err.contains("listener started"),
        "{err}"
    );
}

/// Error messages quote what was sent (the database's own too: an id that is no uuid), cut
/// after 1,000 characters and with invisible characters written out.
#[test]
fn error_messages_are_cut_and_readable() {
    let cluster = Cluster::start();
    let shim = Shim::start(&cluster.url());
    let key = support::api_key(&cluster, &["read", "write", "admin"]);
    cluster
        .client()
        .execute("SELECT arxos.load_sample()", &[])
        .expect("the sample building");
    let http = Http::new();
    let long = "A".repeat(60_000);
    let reply = http.request(
        "GET",
        &shim.url(&format!("/api/webhooks/{long}")),
        &[("x-api-key", &key)],
        None,
    );
    assert!(reply.status >= 400, "{}", reply.status);
    assert!(reply.body.len() < 2_000, "{} bytes", reply.body.len());
    assert!(reply.body.contains("characters)"), "{}", reply.body);
    let reply = http.request(
        "GET",
        &shim.url("/api/buildings/b42/trace/electrical?direction=%E2%80%AEup"),
        &[("x-api-key", &key)],
        None,
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(!reply.body.contains('\u{202e}'), "{}", reply.body);
    assert!(reply.body.contains("u{202e}"), "{}", reply.body);
}
