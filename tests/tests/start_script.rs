//! `scripts/start.sh`, what `make run` and the Docker image run: it refuses an address it
//! cannot name or take before it starts anything, writes the env file once the server listens,
//! and stops the server and the cluster on SIGTERM, keeping the data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use arxos_e2e::{arxos_bin, free_port, scratch_dir, wait_until, Http};

const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn pg_bin() -> PathBuf {
    std::env::var_os("PG_BIN").map_or_else(|| DEFAULT_PG_BIN.into(), PathBuf::from)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/start.sh")
}

fn start_command(dir: &Path, pg_port: u16, http_addr: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(script())
        .env("ARXOS_BIN", arxos_bin())
        .env("ARXOS_DIR", dir)
        .env("ARXOS_PG_PORT", pg_port.to_string())
        .env("ARXOS_HTTP_ADDR", http_addr)
        .env("PG_BIN", pg_bin())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    command
}

fn refused(dir: &Path, http_addr: &str) -> Output {
    start_command(dir, free_port(), http_addr)
        .output()
        .expect("run start.sh")
}

/// The start script's directory: the cluster is stopped (immediately) and the directory
/// removed on drop, also when the test fails.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let data = self.0.join("data");
        if data.join("postmaster.pid").exists() {
            let mut command = if running_as_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"])
                    .arg(pg_bin().join("pg_ctl"));
                c
            } else {
                Command::new(pg_bin().join("pg_ctl"))
            };
            let _ = command
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_value(env: &str, name: &str) -> String {
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in the env file:\n{env}"))
        .to_owned()
}

#[test]
fn start_refuses_what_it_cannot_name_then_serves_and_stops() {
    let dir = Dir(scratch_dir().join(format!("start-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(scratch_dir()).unwrap();

    // Port 0 (the env file could not say where the server is), and what `arxos serve` would
    // refuse only once the cluster runs: a host name, a port out of range.
    for addr in [
        "127.0.0.1:0",
        "localhost:3000",
        "127.0.0.1:70000",
        "127.0.0.01:3000",
    ] {
        let out = refused(&dir.0, addr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{addr}: {stderr}");
        assert!(
            stderr.contains("ARXOS_HTTP_ADDR must be a numeric address and a port of its own"),
            "{addr}: {stderr}"
        );
        assert!(
            !dir.0.exists(),
            "nothing is made before the address is checked"
        );
    }

    // Arguments are refused without being repeated: one may hold a password.
    let out = start_command(&dir.0, free_port(), "127.0.0.1:3000")
        .args(["--database-url", "postgres://u:pw-secret@db/arxos"])
        .output()
        .expect("run start.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("start.sh takes no arguments (given 2)"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw-secret"), "{stderr}");

    // An address something else holds: refused before the cluster starts (the server would
    // fail to bind, and the env file would name the other program).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let out = refused(&dir.0, &taken_addr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("something already listens on {taken_addr}")),
        "{stderr}"
    );
    assert!(
        !dir.0.exists(),
        "nothing is made before the address is checked"
    );
    drop(taken);

    // A wildcard address: served, and named by its loopback address in the env file, which
    // appears once the server listens.
    let http_port = free_port();
    let log = scratch_dir().join(format!("start-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).unwrap();
    let mut command = start_command(&dir.0, free_port(), &format!("0.0.0.0:{http_port}"));
    command
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    let mut started = Started(command.spawn().expect("start start.sh"));
    let env_file = dir.0.join("env");
    let env = wait_until(Duration::from_secs(120), "the env file", || {
        if let Ok(Some(status)) = started.0.try_wait() {
            panic!(
                "start.sh exited ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::fs::read_to_string(&env_file)
            .ok()
            .filter(|e| e.contains("ARXOS_API_KEY="))
    });
    let url = env_value(&env, "ARXOS_URL");
    assert_eq!(url, format!("http://127.0.0.1:{http_port}"));
    let http = Http::new();
    // Written after the server listens: the first request is answered.
    let health = http.get(&format!("{url}/api/health"));
    assert_eq!(health.status, 200, "{}", health.body);
    let key = env_value(&env, "ARXOS_API_KEY");
    let ls = http.request(
        "GET",
        &format!("{url}/api/buildings/b42/ls/electrical"),
        &[("x-api-key", &key)],
        None,
    );
    assert_eq!(ls.status, 200, "{}", ls.body);
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains(&format!("ArxOS is serving on http://127.0.0.1:{http_port}")));
    // The cluster follows docs/bi.md: no role may make temporary tables (where a trigger of
    // its own would pass the history guards, docs/security.md) or large objects.
    let mut db = postgres::Client::connect(&env_value(&env, "DATABASE_URL"), postgres::NoTls)
        .expect("connect to the env file's database");
    let row = db
        .query_one(
            "SELECT has_database_privilege('arxos_api', 'arxos', 'TEMPORARY'),
                    has_database_privilege('arxos_query', 'arxos', 'TEMPORARY'),
                    has_function_privilege('arxos_api', 'lo_from_bytea(oid, bytea)', 'EXECUTE')",
            &[],
        )
        .expect("read the privileges");
    assert_eq!(
        (
            row.get::<_, bool>(0),
            row.get::<_, bool>(1),
            row.get::<_, bool>(2)
        ),
        (false, false, false)
    );
    drop(db);

    // SIGTERM (docker stop): the server and the cluster stop, the data stays.
    let pid = started.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = wait_until(Duration::from_secs(60), "start.sh to exit", || {
        started.0.try_wait().unwrap()
    });
    assert_eq!(
        status.code(),
        Some(143),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        !dir.0.join("data/postmaster.pid").exists(),
        "the cluster stopped"
    );
    assert!(dir.0.join("data/PG_VERSION").exists(), "the data stays");
    assert!(http
        .try_request("GET", &format!("{url}/api/health"), &[], None)
        .is_err());
    let _ = std::fs::remove_file(&log);
}
