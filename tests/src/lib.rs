//! Harness for the end-to-end tests: a throwaway PostgreSQL 15 cluster ([`Cluster`]), the
//! real `arxos` binary serving against it ([`Shim`]), and a small HTTP client ([`Http`]).
//!
//! Every test starts its own cluster on a free port, so tests run in parallel and leave
//! nothing behind: clusters and servers are stopped on drop, also when a test panics.
//!
//! Environment:
//! - `ARXOS_BIN`: the `arxos` binary to test. Default: `<target>/<profile>/arxos` next to the
//!   test binary, built with cargo first.
//! - `PG_BIN`: PostgreSQL's binaries. Default: `/usr/lib/postgresql/15/bin`.

mod cluster;
pub mod contents;
mod http;
mod paths;
mod shim;

use std::time::{Duration, Instant};

pub use cluster::Cluster;
pub use http::{Http, Reply};
pub use paths::{arxos_bin, scratch_dir};
pub use shim::Shim;

/// Runs `arxos ARGS` against the cluster's database (`RUST_LOG` unset) and hands back its
/// output, whatever its status.
pub fn run_arxos(cluster: &Cluster, args: &[&str]) -> std::process::Output {
    std::process::Command::new(arxos_bin())
        .args(args)
        .env("DATABASE_URL", cluster.url())
        .env_remove("RUST_LOG")
        .output()
        .expect("run the arxos binary")
}

/// Calls `probe` every 100 ms until it returns `Some`, for at most `timeout`; panics naming
/// `what` if it never does.
pub fn wait_until<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    // Never a port handed out before in this process: a cluster stopped and restarted on its
    // port (realtime_faults) lost it to a parallel test that was given the same port meanwhile.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind 127.0.0.1:0 to find a free port");
        let port = listener.local_addr().expect("local address").port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}
