//! The real `arxos serve` process: started on a free port with the flags the benchmark needs,
//! its log appended to a file, stopped with SIGTERM so its listener leaves the outbox.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::error::{Error, Result};

const ANNOUNCEMENT: &str = "listening on http://";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// How to start the shim.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub bin: PathBuf,
    pub database_url: String,
    pub log: PathBuf,
}

/// A running `arxos serve` (killed if dropped while running).
pub struct Shim {
    child: Child,
    pub base_url: String,
}

impl Launcher {
    /// Starts `arxos serve --addr 127.0.0.1:0` without rate limits or a limit of streams per
    /// key (the latency run opens 100 with one key), with loopback allowed for webhooks, and
    /// waits for it to announce its address.
    pub async fn start(&self) -> Result<Shim> {
        let mut child = Command::new(&self.bin)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(["--rate-limit", "0", "--query-rate-limit", "0"])
            .args(["--max-streams-per-key", "0"])
            .args(["--webhook-allow-networks", "127.0.0.0/8"])
            .env("DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "warn,arxos::server=info")
            .env_remove("ARXOS_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::Shim(format!("cannot run {}: {e}", self.bin.display())))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| Error::Shim("no stderr pipe".into()))?;
        let mut log = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .await?;
        let (announced, address) = oneshot::channel::<String>();
        // Drains the pipe for the process's whole life into the log file.
        tokio::spawn(async move {
            let mut announced = Some(announced);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = log.write_all(line.as_bytes()).await;
                let _ = log.write_all(b"\n").await;
                if let Some(addr) = announced_address(&line) {
                    if let Some(tx) = announced.take() {
                        let _ = tx.send(addr.to_owned());
                    }
                }
            }
            let _ = log.flush().await;
        });
        match tokio::time::timeout(START_TIMEOUT, address).await {
            Ok(Ok(addr)) => Ok(Shim {
                child,
                base_url: format!("http://{addr}"),
            }),
            Ok(Err(_)) => {
                let status = child.wait().await?;
                Err(Error::Shim(format!(
                    "exited before announcing its address ({status}); see {}",
                    self.log.display()
                )))
            }
            Err(_) => Err(Error::Shim(format!(
                "did not announce its address within {START_TIMEOUT:?}; see {}",
                self.log.display()
            ))),
        }
    }
}

impl Shim {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// SIGTERM, then waits for the exit (SIGKILL after a timeout).
    pub async fn stop(mut self) -> Result<()> {
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            kill(Pid::from_raw(pid), Signal::SIGTERM)
                .map_err(|e| Error::Shim(format!("cannot signal pid {pid}: {e}")))?;
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    tracing::warn!(%status, "arxos serve exited unsuccessfully");
                }
                Ok(())
            }
            Err(_) => {
                tracing::warn!("arxos serve did not stop within {STOP_TIMEOUT:?}; killing it");
                self.child.kill().await?;
                Ok(())
            }
        }
    }
}

/// `arxos keys create --name bench --scope read --scope write --scope admin`; returns the key.
pub async fn create_key(bin: &Path, database_url: &str) -> Result<String> {
    let output = Command::new(bin)
        .args(["keys", "create", "--name", "bench"])
        .args(["--scope", "read", "--scope", "write", "--scope", "admin"])
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| Error::Shim(format!("cannot run {}: {e}", bin.display())))?;
    if !output.status.success() {
        return Err(Error::Shim(format!(
            "arxos keys create failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    key_from_output(&String::from_utf8_lossy(&output.stdout))
        .ok_or_else(|| Error::Shim("arxos keys create printed no key".into()))
}

/// The `key:` line of `arxos keys create`.
fn key_from_output(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("key:"))
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
}

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
    use super::{announced_address, key_from_output};

    #[test]
    fn the_address_comes_from_the_announcement() {
        let line = "2026-01-01T00:00:00Z  INFO arxos::server: listening on http://127.0.0.1:41234 addr=127.0.0.1:41234";
        assert_eq!(announced_address(line), Some("127.0.0.1:41234"));
        assert_eq!(announced_address("starting"), None);
    }

    #[test]
    fn the_key_comes_from_its_line() {
        let out = "id:     0b7e\nprefix: arx_ab\nkey:    arx_abcdef\n";
        assert_eq!(key_from_output(out).as_deref(), Some("arx_abcdef"));
        assert_eq!(key_from_output("id: 1\n"), None);
    }
}
