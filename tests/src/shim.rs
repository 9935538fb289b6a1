//! The real `arxos serve` process on a free port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::paths::arxos_bin;

/// How long a server gets to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const ANNOUNCEMENT: &str = "listening on http://";

/// A running `arxos serve --addr 127.0.0.1:0`. Killed on drop. Any number may run against
/// one database (replicas).
pub struct Shim {
    child: Child,
    base_url: String,
    logs: Arc<Mutex<Vec<String>>>,
    /// The thread reading stderr: it ends when the process's stderr closes.
    reader: std::thread::JoinHandle<()>,
}

impl Shim {
    /// Starts a server against `database_url` with the default settings.
    pub fn start(database_url: &str) -> Shim {
        Shim::start_with(database_url, &[], &[])
    }

    /// Starts a server with extra `serve` flags and environment variables. The database URL
    /// is passed as `DATABASE_URL`; `RUST_LOG` defaults to `info`; `--addr` defaults to
    /// `127.0.0.1:0` (pass `--addr` with an earlier server's address to restart it in place).
    pub fn start_with(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Shim {
        let mut command = Command::new(arxos_bin());
        command.arg("serve");
        if !args
            .iter()
            .any(|a| *a == "--addr" || a.starts_with("--addr="))
        {
            command.args(["--addr", "127.0.0.1:0"]);
        }
        command
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "info")
            .env_remove("ARXOS_LOG_FORMAT")
            .env_remove("ARXOS_CORS_ORIGINS")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the arxos binary");
        let pid = child.id();
        let stderr = child.stderr.take().expect("piped stderr");

        // A reader thread keeps the pipe drained for the server's whole life, keeps every line,
        // and hands them over until the announcement shows up.
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let reader = {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match reader.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                    eprintln!("[arxos {pid}] {line}");
                    if let Ok(mut logs) = logs.lock() {
                        logs.push(line.clone());
                    }
                    let _ = lines_tx.send(line);
                }
            })
        };

        let mut shim = Shim {
            child,
            base_url: String::new(),
            logs,
            reader,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = announced_address(&line) {
                        shim.base_url = format!("http://{addr}");
                        return shim;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("arxos did not announce its address within {START_TIMEOUT:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = shim.child.wait().ok();
                    panic!(
                        "arxos exited before announcing its address ({status:?}):\n{}",
                        shim.logs().join("\n")
                    );
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `127.0.0.1:PORT`, the address the server announced.
    pub fn addr(&self) -> &str {
        self.base_url.trim_start_matches("http://")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stderr line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`, …).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the arxos process") {
                // Its last lines are in `logs` once the reader has met the end of the pipe (a
                // test that reads them right after the exit found them missing, on a loaded
                // machine, when the reader thread had not run yet).
                let read_by = Instant::now() + Duration::from_secs(10);
                while !self.reader.is_finished() && Instant::now() < read_by {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Shim {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `HOST:PORT` of a `listening on http://HOST:PORT` line, text or JSON.
fn announced_address(line: &str) -> Option<&str> {
    let start = line.find(ANNOUNCEMENT)? + ANNOUNCEMENT.len();
    let rest = &line[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|addr| !addr.is_empty())
}

#[cfg(test)]
mod tests {
    use super::announced_address;

    #[test]
    fn finds_the_address_in_text_and_json_lines() {
        assert_eq!(
            announced_address("2026-01-01T00:00:00Z  INFO arxos::server: listening on http://127.0.0.1:4000 addr=127.0.0.1:4000"),
            Some("127.0.0.1:4000")
        );
        assert_eq!(
            announced_address(r#"{"fields":{"message":"listening on http://127.0.0.1:4000"}}"#),
            Some("127.0.0.1:4000")
        );
        assert_eq!(announced_address("starting"), None);
    }
}
