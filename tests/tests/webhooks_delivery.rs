//! Webhooks end to end: management, Standard Webhooks signatures (verified with the PyPI
//! `standardwebhooks` reference implementation), retries, Retry-After, redirects, 410,
//! disabling after a failing period, timeouts, dead letters, SSRF.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

use arxos_e2e::{wait_until, Cluster, Http, Reply, Shim};
use serde_json::{json, Value};
use support::receiver::{Mode, Receiver};
use support::{api_key, desks, metric};

const WAIT: Duration = Duration::from_secs(60);
/// Quick retries; a timeout far above what a loaded machine takes to answer (with 2 s, a stall
/// of the shim or the receiver turned into an extra attempt the tests count).
const FAST: &[&str] = &[
    "--webhook-allow-networks",
    "127.0.0.0/8",
    "--webhook-retry-schedule",
    "100ms,200ms,300ms",
    "--webhook-timeout",
    "20s",
];

struct Api {
    http: Http,
    base: String,
    key: String,
}

impl Api {
    fn new(shim: &Shim, key: String) -> Api {
        Api {
            http: Http::new(),
            base: shim.base_url().to_owned(),
            key,
        }
    }
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let mut headers = vec![("x-api-key", self.key.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.http.request(
            method,
            &format!("{}{path}", self.base),
            &headers,
            body.map(|b| b.to_string().into_bytes()),
        )
    }
    fn create(&self, body: Value) -> Value {
        let reply = self.call("POST", "/api/webhooks", Some(body));
        assert_eq!(reply.status, 201, "{}", reply.body);
        let location = format!("/api/webhooks/{}", reply.json()["id"].as_str().unwrap());
        assert_eq!(reply.header("location"), Some(location.as_str()));
        reply.json()
    }
    fn deliveries(&self, id: &str) -> Vec<Value> {
        let reply = self.call("GET", &format!("/api/webhooks/{id}/deliveries"), None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["items"].as_array().unwrap().clone()
    }
}

#[test]
fn management_shows_the_secret_once_and_patches_only_what_is_sent() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let created = api.create(
        json!({"url": "https://example.com/hook", "types": ["bilt.*"], "description": "d"}),
    );
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = created["id"].as_str().unwrap();
    let shown = api.call("GET", &format!("/api/webhooks/{id}"), None).json();
    assert!(shown.get("secret").is_none());
    assert!(!api
        .call("GET", "/api/webhooks", None)
        .body
        .contains("whsec_"));
    let patched = api
        .call(
            "PATCH",
            &format!("/api/webhooks/{id}"),
            Some(json!({"description": "e"})),
        )
        .json();
    assert_eq!(patched["description"], "e");
    assert_eq!(patched["types"], json!(["bilt.*"]));
    assert_eq!(patched["url"], "https://example.com/hook");
    assert_eq!(
        api.call("POST", "/api/webhooks", Some(json!({"url": "ftp://x"})))
            .status,
        400
    );
    assert_eq!(
        api.call(
            "POST",
            "/api/webhooks",
            Some(json!({"url": "https://x", "types": ["Bad Type"]}))
        )
        .status,
        400
    );
    // An empty list of types would never fire: refused, not stored.
    let never = api.call(
        "POST",
        "/api/webhooks",
        Some(json!({"url": "https://example.com/never", "types": []})),
    );
    assert_eq!(never.status, 400, "{}", never.body);
    assert!(
        never.body.contains("types must not be empty"),
        "{}",
        never.body
    );
    // The deliveries' page size is `limit`, as everywhere else, and said so.
    let zero = api.call(
        "GET",
        &format!("/api/webhooks/{id}/deliveries?limit=0"),
        None,
    );
    assert_eq!(zero.status, 400, "{}", zero.body);
    assert!(
        zero.body.contains("limit must be between 1 and 1000"),
        "{}",
        zero.body
    );
    // The largest page is allowed (the route asks the database for one row more, to know
    // whether a next page exists).
    let largest = api.call(
        "GET",
        &format!("/api/webhooks/{id}/deliveries?limit=1000"),
        None,
    );
    assert_eq!(largest.status, 200, "{}", largest.body);
    // No delivery id is negative: a negative cursor is refused, as on every listing.
    let negative = api.call(
        "GET",
        &format!("/api/webhooks/{id}/deliveries?before=-1"),
        None,
    );
    assert_eq!(negative.status, 400, "{}", negative.body);
    assert!(
        negative.body.contains("before must not be negative"),
        "{}",
        negative.body
    );
    // Pages of deliveries, newest first: `next` (with `before`) while older ones remain.
    for _ in 0..2 {
        let test = api.call("POST", &format!("/api/webhooks/{id}/test"), None);
        assert_eq!(test.status, 202, "{}", test.body);
    }
    let mut url = format!("/api/webhooks/{id}/deliveries?limit=1");
    let mut ids = Vec::new();
    loop {
        let page = api.call("GET", &url, None).json();
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.contains("before="), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert!(
        ids.len() >= 2 && ids.windows(2).all(|w| w[0] > w[1]),
        "{ids:?}"
    );
    let rotated = api
        .call("POST", &format!("/api/webhooks/{id}/rotate-secret"), None)
        .json();
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_ne!(rotated["secret"], created["secret"]);
    // Only admin keys manage webhooks.
    let reader = Api::new(&shim, api_key(&cluster, &["read", "write"]));
    assert_eq!(reader.call("GET", "/api/webhooks", None).status, 403);
    assert_eq!(
        api.call("DELETE", &format!("/api/webhooks/{id}"), None)
            .status,
        204
    );
    assert_eq!(
        api.call("GET", &format!("/api/webhooks/{id}"), None).status,
        404
    );
}

/// Set (non-empty, not `0`) to skip the signature check when PyPI cannot be reached.
const SKIP_PYPI: &str = "ARXOS_E2E_SKIP_PYPI";

/// A Python with `standardwebhooks`, in a venv under the target directory. When it cannot be
/// set up (no `python3 -m venv`, PyPI unreachable) the test fails, unless [`SKIP_PYPI`] is set:
/// then `None`, and the test is skipped, saying why.
fn python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(standardwebhooks_venv) {
        Ok(python) => Some(python.clone()),
        Err(why) if std::env::var(SKIP_PYPI).is_ok_and(|v| !v.is_empty() && v != "0") => {
            eprintln!("SKIPPED ({SKIP_PYPI} is set): {why}");
            None
        }
        Err(why) => panic!("{why}; set {SKIP_PYPI}=1 to skip this test"),
    }
}

fn standardwebhooks_venv() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let venv = target.join("e2e-venv");
    let python = venv.join("bin/python");
    let ready = |p: &PathBuf| {
        Command::new(p)
            .args(["-c", "import standardwebhooks"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        return Err("python3 -m venv failed".to_owned());
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "standardwebhooks"])
        .status();
    if !installed.is_ok_and(|s| s.success()) || !ready(&python) {
        return Err("pip install standardwebhooks failed (is PyPI reachable?)".to_owned());
    }
    Ok(python)
}

struct PyReceiver {
    child: Child,
    port: u16,
    log: PathBuf,
    /// Its port file and log; removed with it.
    dir: PathBuf,
}

impl Drop for PyReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl PyReceiver {
    fn start(python: &PathBuf, secrets: &[&str]) -> PyReceiver {
        let dir = std::env::temp_dir().join(format!(
            "arxos-swh-{}-{}",
            std::process::id(),
            arxos_e2e::free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port_file = dir.join("port");
        let log = dir.join("log.jsonl");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/standardwebhooks_receiver.py");
        let child = Command::new(python)
            .arg(script)
            .arg(&port_file)
            .arg(&log)
            .args(secrets)
            .spawn()
            .unwrap();
        let port = wait_until(Duration::from_secs(20), "the Python receiver", || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
        });
        PyReceiver {
            child,
            port,
            log,
            dir,
        }
    }
    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn signatures_verify_with_standardwebhooks_also_during_rotation() {
    let Some(python) = python() else { return };
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let created = api.create(
        json!({"url": "http://127.0.0.1:9/", "types": ["object.created"], "enabled": false}),
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();
    let new = api
        .call("POST", &format!("/api/webhooks/{id}/rotate-secret"), None)
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let receiver = PyReceiver::start(&python, &[&old, &new]);
    let patched = api.call(
        "PATCH",
        &format!("/api/webhooks/{id}"),
        Some(json!({"url": format!("http://127.0.0.1:{}/hook", receiver.port), "enabled": true})),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    desks(&cluster, "sig", "d", 5);
    assert_eq!(
        api.call("POST", &format!("/api/webhooks/{id}/test"), None)
            .status,
        202
    );
    let lines = wait_until(WAIT, "6 verified deliveries", || {
        let lines = receiver.lines();
        (lines.len() >= 6).then_some(lines)
    });
    for line in &lines {
        assert_eq!(
            line["verified_with"],
            json!([0, 1]),
            "both signatures verify: {line}"
        );
    }
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["webhook_id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().any(|i| i.starts_with("test_")));
    assert_eq!(ids.iter().filter(|i| i.starts_with("evt_")).count(), 5);
}

#[test]
fn failures_are_retried_with_backoff_until_delivered() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::FailFirst(3));
    let id = created_id(&api, &receiver, &["object.created"]);
    desks(&cluster, "retry", "d", 1);
    let delivery = wait_until(WAIT, "the delivery to succeed", || {
        api.deliveries(&id)
            .into_iter()
            .find(|d| d["status"] == "delivered")
    });
    assert_eq!(attempt_codes(&delivery), [500, 500, 500, 200]);
    let outcome = |o: &str| {
        metric(
            &shim,
            &format!("arxos_webhook_deliveries_total{{outcome=\"{o}\"}}"),
        )
    };
    assert_eq!((outcome("failure"), outcome("success")), (3.0, 1.0));
    let ids: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "the same webhook-id on every attempt"
    );
    // The retries follow the schedule (100, 200, 300 ms, each jittered by at most 10 %): a gap
    // may be longer (the worker polls, the machine may be busy), never shorter.
    let at: Vec<_> = receiver.all().iter().map(|r| r.at).collect();
    for (k, wait_ms) in [100u64, 200, 300].into_iter().enumerate() {
        let gap = at[k + 1] - at[k];
        assert!(
            gap >= Duration::from_millis(wait_ms * 9 / 10),
            "retry {} came {gap:?} after the attempt before it; the schedule says {wait_ms} ms",
            k + 1
        );
    }
    let bodies: Vec<Value> = receiver.all().iter().map(|r| r.json()).collect();
    assert_eq!(bodies[0]["type"], "object.created");
}

/// A receiver whose reply holds NUL bytes (which PostgreSQL cannot store) gets its deliveries
/// recorded, and delivery goes on, for it and the others.
#[test]
fn a_binary_reply_is_recorded_and_delivery_goes_on() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let binary = Receiver::start(Mode::Binary);
    let plain = Receiver::start(Mode::Ok);
    let binary_id = created_id(&api, &binary, &["object.created"]);
    let plain_id = created_id(&api, &plain, &["object.created"]);
    desks(&cluster, "bin", "d", 3);
    for id in [&binary_id, &plain_id] {
        wait_until(WAIT, "three deliveries recorded as delivered", || {
            let done = api
                .deliveries(id)
                .into_iter()
                .filter(|d| d["status"] == "delivered")
                .count();
            (done == 3).then_some(())
        });
    }
    let excerpt = api.deliveries(&binary_id)[0]["attempt_log"][0]["response_excerpt"].clone();
    assert!(
        excerpt
            .as_str()
            .is_some_and(|e| e.contains("bin") && !e.contains('\0')),
        "{excerpt}"
    );
    desks(&cluster, "bin", "e", 2);
    wait_until(WAIT, "later events delivered too", || {
        (plain.count() >= 5 && binary.count() >= 5).then_some(())
    });
}

/// API requests leave their identity on pooled connections; the delivery worker, which shares
/// the pool, must still run as the server's login role (arxos_api may not claim deliveries).
#[test]
fn the_worker_shares_one_connection_with_api_requests() {
    let cluster = Cluster::start();
    let mut flags = FAST.to_vec();
    flags.extend(["--pool-size", "1", "--key-cache-seconds", "300"]);
    let shim = Shim::start_with(&cluster.url(), &flags, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::Ok);
    let id = created_id(&api, &receiver, &["object.created"]);
    for n in 0..5 {
        desks(&cluster, "shared", &format!("d{n}"), 1);
        for _ in 0..3 {
            // A one-statement route: it leaves the key's identity on the connection.
            let r = api.call(
                "GET",
                &format!("/api/buildings/shared/objects/d{n}_1"),
                None,
            );
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
    let delivered = wait_until(WAIT, "five deliveries", || {
        let d: Vec<Value> = api
            .deliveries(&id)
            .into_iter()
            .filter(|d| d["status"] == "delivered")
            .collect();
        (d.len() == 5).then_some(d)
    });
    assert_eq!(delivered.len(), 5);
}

#[test]
fn exhausted_retries_dead_letter_and_can_be_retried_by_hand() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::FailFirst(1000));
    let id = created_id(&api, &receiver, &["object.created"]);
    desks(&cluster, "dead", "d", 1);
    let dead = wait_until(WAIT, "a dead delivery", || {
        api.deliveries(&id)
            .into_iter()
            .find(|d| d["status"] == "dead")
    });
    assert_eq!(dead["attempts"], 4, "the first attempt and three retries");
    receiver.set_mode(Mode::Ok);
    let retried = api.call(
        "POST",
        &format!("/api/webhooks/{id}/deliveries/{}/retry", dead["id"]),
        None,
    );
    assert_eq!(retried.status, 202, "{}", retried.body);
    let no_such = api.call(
        "POST",
        &format!("/api/webhooks/{id}/deliveries/abc/retry"),
        None,
    );
    assert_eq!(no_such.status, 400, "{}", no_such.body);
    assert!(
        no_such
            .body
            .contains(r#"\"abc\" is not a delivery id: ids are whole numbers from 1"#),
        "{}",
        no_such.body
    );
    // 0 is no id either, as the message says
    let zero = api.call(
        "POST",
        &format!("/api/webhooks/{id}/deliveries/0/retry"),
        None,
    );
    assert_eq!(zero.status, 400, "{}", zero.body);
    wait_until(WAIT, "the retried delivery", || {
        api.deliveries(&id)
            .into_iter()
            .find(|d| d["status"] == "delivered")
    });
}

#[test]
fn gone_disables_the_endpoint_and_says_so() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::Gone);
    let id = created_id(&api, &receiver, &["object.created"]);
    desks(&cluster, "gone", "d", 1);
    let hook = wait_until(WAIT, "the webhook to be disabled", || {
        let hook = api.call("GET", &format!("/api/webhooks/{id}"), None).json();
        (hook["enabled"] == false).then_some(hook)
    });
    assert!(hook["disabled_reason"].as_str().unwrap().contains("410"));
    assert_eq!(
        metric(&shim, r#"arxos_webhook_deliveries_total{outcome="gone"}"#),
        1.0
    );
    assert!(disabled_event(&api, &id)["reason"]
        .as_str()
        .unwrap()
        .contains("410"));
    // Nothing more is sent to a disabled endpoint.
    let before = receiver.count();
    desks(&cluster, "gone", "e", 3);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(receiver.count(), before);
}

/// The status codes of a delivery's attempts, in order.
fn attempt_codes(delivery: &Value) -> Vec<i64> {
    delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap_or(0))
        .collect()
}

/// The body of the `webhook.disabled` event about a webhook.
fn disabled_event(api: &Api, id: &str) -> Value {
    let events = api
        .call(
            "GET",
            "/api/events/recent?types=webhook.disabled&limit=1000",
            None,
        )
        .json();
    let body = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].clone())
        .find(|b| b["webhook"] == id);
    let body = body.expect("a webhook.disabled event about the webhook");
    assert!(body.get("url").is_none(), "no URL in events: {body}");
    body
}

/// The webhook's id, from a creation answer.
fn created_id(api: &Api, receiver: &Receiver, types: &[&str]) -> String {
    api.create(json!({"url": receiver.url("/"), "types": types}))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn retry_after_is_honoured() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    // 503 with Retry-After: 2 once, then 200; the schedule alone would retry after 100 ms.
    let receiver = Receiver::start(Mode::RetryAfter(2));
    let id = created_id(&api, &receiver, &["object.created"]);
    desks(&cluster, "later", "d", 1);
    let delivery = wait_until(WAIT, "the delivery to succeed", || {
        api.deliveries(&id)
            .into_iter()
            .find(|d| d["status"] == "delivered")
    });
    assert_eq!(attempt_codes(&delivery), [503, 200]);
    let all = receiver.all();
    let waited = all[1].at - all[0].at;
    assert!(waited >= Duration::from_millis(1900), "{waited:?}");
}

#[test]
fn redirects_are_not_followed() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let elsewhere = Receiver::start(Mode::Ok);
    let receiver = Receiver::start(Mode::Redirect(elsewhere.port));
    let id = created_id(&api, &receiver, &["object.created"]);
    desks(&cluster, "moved", "d", 1);
    let dead = wait_until(WAIT, "the delivery to be dead-lettered", || {
        api.deliveries(&id)
            .into_iter()
            .find(|d| d["status"] == "dead")
    });
    assert_eq!(attempt_codes(&dead), [307, 307, 307, 307]);
    assert_eq!(elsewhere.count(), 0, "the redirect's target got nothing");
}

#[test]
fn an_endpoint_failing_for_the_set_period_is_disabled_and_says_so() {
    let cluster = Cluster::start();
    let mut flags = FAST.to_vec();
    flags.extend(["--webhook-disable-after", "1s"]);
    let shim = Shim::start_with(&cluster.url(), &flags, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::FailFirst(1000));
    let id = created_id(&api, &receiver, &["object.created"]);
    // Failures keep coming (a new event every 300 ms) until the endpoint has failed for 1 s.
    let round = std::cell::Cell::new(0);
    let hook = wait_until(WAIT, "the webhook to be disabled", || {
        round.set(round.get() + 1);
        desks(&cluster, "failing", &format!("d{}", round.get()), 1);
        std::thread::sleep(Duration::from_millis(300));
        let hook = api.call("GET", &format!("/api/webhooks/{id}"), None).json();
        (hook["enabled"] == false).then_some(hook)
    });
    let reason = hook["disabled_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the endpoint failed without a success since ")
            && reason.ends_with(" (the limit is 1 second)"),
        "{reason}"
    );
    assert_eq!(disabled_event(&api, &id)["reason"], reason);
}

/// An endpoint that went down after its last event has no attempt left to notice the period:
/// the worker's check disables it all the same (found by a review: it stayed enabled).
#[test]
fn an_endpoint_failing_without_new_events_is_disabled_by_the_worker() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::Ok);
    let id = created_id(&api, &receiver, &["object.created"]);
    // Its last failure long past the default five days, and nothing to send.
    cluster
        .client()
        .execute(
            "UPDATE arxos.webhooks SET failing_since = now() - interval '6 days' WHERE id = $1::text::uuid",
            &[&id],
        )
        .expect("backdate the failures");
    // A second shim starts a worker, whose first round checks at once.
    let second = Shim::start_with(&cluster.url(), FAST, &[]);
    let hook = wait_until(WAIT, "the webhook to be disabled", || {
        let hook = api.call("GET", &format!("/api/webhooks/{id}"), None).json();
        (hook["enabled"] == false).then_some(hook)
    });
    let reason = hook["disabled_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the endpoint failed without a success since ")
            && reason.ends_with(" (the limit is 5 days)"),
        "{reason}"
    );
    assert_eq!(disabled_event(&api, &id)["reason"], reason);
    drop(second);
}

/// A webhook whose sealed secret does not open (its key file replaced, docs/security.md) fails
/// its own deliveries, with the reason recorded; the other webhooks' deliveries go on.
#[test]
fn a_secret_that_does_not_open_fails_only_its_own_deliveries() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), FAST, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::Ok);
    let good = created_id(&api, &receiver, &["object.created"]);
    let unsigned = Receiver::start(Mode::Ok);
    let bad = created_id(&api, &unsigned, &["object.created"]);
    // Sealed under "another key": its key id forged.
    cluster
        .client()
        .execute(
            "update arxos.webhooks set secret = set_byte(secret, 1, get_byte(secret, 1) # 255) \
              where id = $1::text::uuid",
            &[&bad],
        )
        .unwrap();
    desks(&cluster, "sealed", "d", 1);
    wait_until(WAIT, "the good webhook's delivery", || {
        api.deliveries(&good)
            .into_iter()
            .find(|d| d["status"] == "delivered")
    });
    let failed = wait_until(WAIT, "the bad webhook's failed attempt", || {
        api.deliveries(&bad)
            .into_iter()
            .flat_map(|d| d["attempt_log"].as_array().unwrap().clone())
            .next()
    });
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with("cannot open the webhook's secret: the secret was sealed with key"),
        "{error}"
    );
    assert!(failed["status_code"].is_null());
    assert_eq!(unsigned.count(), 0, "nothing is sent unsigned");
    assert_eq!(receiver.count(), 1);
}

#[test]
fn slow_endpoints_time_out() {
    let cluster = Cluster::start();
    // FAST but for its timeout
    let mut flags: Vec<&str> = FAST[..FAST.len() - 1].to_vec();
    flags.push("2s");
    let shim = Shim::start_with(&cluster.url(), &flags, &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::Slow(Duration::from_secs(10)));
    let id = created_id(&api, &receiver, &["object.created"]);
    desks(&cluster, "slow", "d", 1);
    let attempt = wait_until(WAIT, "a timed-out attempt", || {
        api.deliveries(&id)
            .into_iter()
            .flat_map(|d| d["attempt_log"].as_array().unwrap().clone())
            .next()
    });
    assert_eq!(attempt["error"], "timed out");
    assert!(attempt["status_code"].is_null());
}

#[test]
fn private_and_loopback_destinations_are_refused_without_an_allow_list() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(&cluster.url(), &["--webhook-retry-schedule", "100ms"], &[]);
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let receiver = Receiver::start(Mode::Ok);
    let by_ip = created_id(&api, &receiver, &["object.created"]);
    let by_name = api.create(
        json!({"url": format!("http://localhost:{}/", receiver.port), "types": ["object.created"]}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    desks(&cluster, "ssrf", "d", 1);
    for id in [&by_ip, &by_name] {
        let dead = wait_until(WAIT, "a refused delivery", || {
            api.deliveries(id)
                .into_iter()
                .find(|d| d["status"] == "dead")
        });
        assert!(
            dead["last_error"].as_str().unwrap().contains("refused"),
            "{dead}"
        );
    }
    assert_eq!(receiver.count(), 0, "nothing reached the loopback receiver");
}

#[test]
fn a_stopping_shim_finishes_and_records_the_deliveries_in_flight() {
    let cluster = Cluster::start();
    let mut shim = Shim::start_with(
        &cluster.url(),
        &[
            "--webhook-allow-networks",
            "127.0.0.0/8",
            "--webhook-timeout",
            "10s",
        ],
        &[("ARXOS_SHUTDOWN_GRACE", "10")],
    );
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    // (answering after 5 s: a window the 'delivering' poll cannot miss on a loaded machine,
    // within the 10 s grace)
    let receiver = Receiver::start(Mode::Slow(Duration::from_secs(5)));
    let id = created_id(&api, &receiver, &["object.created"]);
    desks(&cluster, "drain", "d", 1);
    let mut db = cluster.client();
    let state = |db: &mut postgres::Client| -> (String, i32) {
        let row = db
            .query_one(
                "SELECT status, attempts FROM arxos.webhook_deliveries
                  WHERE webhook_id = $1::text::uuid",
                &[&id],
            )
            .expect("the delivery row");
        (row.get(0), row.get(1))
    };
    wait_until(WAIT, "the delivery to be in flight", || {
        db.query_opt(
            "SELECT 1 FROM arxos.webhook_deliveries
              WHERE webhook_id = $1::text::uuid AND status = 'delivering'",
            &[&id],
        )
        .expect("read the deliveries")
    });
    shim.signal("TERM");
    let status = shim
        .wait_exit(Duration::from_secs(30))
        .expect("the shim exits");
    assert!(status.success(), "{status:?}");
    // The receiver answered after the signal; the shim waited for it and recorded it, so a
    // restart will not send it again.
    assert_eq!(receiver.count(), 1);
    assert_eq!(state(&mut db), ("delivered".to_owned(), 1));
}

#[test]
fn an_endpoint_that_hangs_does_not_hold_up_the_others() {
    let cluster = Cluster::start();
    let shim = Shim::start_with(
        &cluster.url(),
        &[
            "--webhook-allow-networks",
            "127.0.0.0/8",
            "--webhook-timeout",
            "40s",
            "--webhook-concurrency",
            "4",
            "--webhook-endpoint-concurrency",
            "2",
        ],
        &[],
    );
    let api = Api::new(&shim, api_key(&cluster, &["admin"]));
    let hung = Receiver::start(Mode::Slow(Duration::from_secs(30)));
    let fine = Receiver::start(Mode::Ok);
    let mut db = cluster.client();
    db.batch_execute(
        "SELECT arxos.create_building('hung', 'Hung'), arxos.create_building('fine', 'Fine')",
    )
    .expect("create the buildings");
    for (receiver, building) in [(&hung, "hung"), (&fine, "fine")] {
        api.create(
            json!({"url": receiver.url("/"), "types": ["object.created"], "building": building}),
        );
    }
    // The hanging endpoint's deliveries come first; two of them are in flight.
    desks(&cluster, "hung", "d", 10);
    wait_until(WAIT, "the hanging endpoint's deliveries in flight", || {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM arxos.webhook_deliveries WHERE status = 'delivering'",
                &[],
            )
            .expect("count deliveries in flight")
            .get(0);
        (n == 2).then_some(())
    });
    // The other endpoint is served by the slots left, long before the first hung answer.
    desks(&cluster, "fine", "d", 5);
    wait_until(WAIT, "the other endpoint's deliveries", || {
        (fine.count() == 5).then_some(())
    });
    assert_eq!(
        hung.count(),
        0,
        "the other endpoint waited for the hanging one"
    );
}
