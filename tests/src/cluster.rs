//! A throwaway PostgreSQL 15 cluster with the arxos extension, on a free port.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

use crate::paths::scratch_dir;

const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A private cluster: `initdb` in `<target>/e2e/pg-<pid>-<n>`, started on a free port with
/// database `arxos` and `CREATE EXTENSION arxos CASCADE` done. Stopped (immediately) and
/// deleted on drop.
pub struct Cluster {
    root: PathBuf,
    port: u16,
    pg_bin: PathBuf,
    /// We are root: PostgreSQL's programs run as the `postgres` user.
    as_postgres: bool,
}

impl Cluster {
    /// Creates and starts a cluster with the arxos extension installed in database `arxos`.
    pub fn start() -> Cluster {
        static CLEAN: Once = Once::new();
        CLEAN.call_once(remove_abandoned_clusters);
        static COUNTER: AtomicU32 = AtomicU32::new(0);

        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let root = scratch_dir().join(format!("pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create the cluster directory");
        let mut cluster = Cluster {
            root,
            port: crate::free_port(),
            pg_bin: std::env::var_os("PG_BIN").map_or_else(|| DEFAULT_PG_BIN.into(), PathBuf::from),
            as_postgres: running_as_root(),
        };
        // From here on, a panic drops `cluster`, which stops and removes it.
        if cluster.as_postgres {
            run_checked(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&cluster.root),
            );
        }
        let data = cluster.data_dir();
        cluster.pg("initdb", |c| {
            c.arg("-D").arg(&data).args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]);
        });
        cluster.start_first_time();
        cluster.create_database();
        cluster
    }

    /// Starts the new server. Another process may take the port between `free_port()` and
    /// the server's bind (tests start clusters and shims in parallel): then another port.
    fn start_first_time(&mut self) {
        for _ in 0..4 {
            let started = self
                .pg_command("pg_ctl", |c| self.start_args(c))
                .output()
                .is_ok_and(|o| o.status.success());
            if started {
                return;
            }
            if !self.log().contains("Address already in use") {
                break;
            }
            self.port = crate::free_port();
        }
        // Once more, failing with pg_ctl's output.
        self.start_server();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/arxos`
    pub fn url(&self) -> String {
        self.url_for("arxos")
    }

    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new connection to database `arxos`.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url()))
    }

    /// Stops the server the hard way (`pg_ctl -m immediate stop`): clients see their
    /// connections drop, as when the database host dies.
    pub fn stop(&self) {
        let data = self.data_dir();
        self.pg("pg_ctl", |c| {
            c.arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"]);
        });
    }

    /// Starts the server again after [`Cluster::stop`], on the same port.
    pub fn restart(&self) {
        self.start_server();
    }

    /// Runs one of PostgreSQL's client programs (`pg_dump`, `pg_restore`, `psql`…) against this
    /// cluster as `postgres` over TCP, with `env` added to its environment; `-h`, `-p` and `-U`
    /// come first, then `args`. Panics with its output if it fails.
    pub fn client_program(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(self.pg_bin.join(program));
        command
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        run_checked(&mut command)
    }

    /// A path for a scratch file in this cluster's directory (deleted with it).
    pub fn scratch_file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    fn start_server(&self) {
        self.pg("pg_ctl", |c| self.start_args(c));
    }

    /// `pg_ctl start` on this cluster's directory and port.
    fn start_args(&self, c: &mut Command) {
        // TCP only (`-k ''`: no Unix socket): a socket's path is limited to 107 bytes, which a
        // checkout in a deep directory (a CI workspace) passes under target/e2e/.
        let options = format!(
            "-p {} -k '' -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port
        );
        c.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "-o"]);
        c.arg(&options).arg("start");
    }

    fn create_database(&self) {
        let mut admin = postgres::Client::connect(&self.url_for("postgres"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the new cluster: {e}"));
        admin
            .batch_execute("CREATE DATABASE arxos")
            .unwrap_or_else(|e| panic!("CREATE DATABASE arxos: {}", describe(&e)));
        let mut client = self.client();
        if let Err(e) = client.batch_execute("CREATE EXTENSION arxos CASCADE") {
            panic!(
                "CREATE EXTENSION arxos CASCADE failed: {}\n\
                 Is the extension installed and current? (make install)",
                describe(&e)
            );
        }
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when we are root); panics with its
    /// output if it fails.
    fn pg(&self, program: &str, args: impl FnOnce(&mut Command)) -> Output {
        run_checked(&mut self.pg_command(program, args))
    }

    /// The command that runs one of PostgreSQL's programs.
    fn pg_command(&self, program: &str, args: impl FnOnce(&mut Command)) -> Command {
        let path = self.pg_bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        args(&mut command);
        // Keep the server's children from inheriting our test output pipes.
        command.stdin(std::process::Stdio::null());
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- postgres log (last lines) ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        stop_quietly(&self.pg_bin, &self.root, self.as_postgres);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `pg_ctl -m immediate stop`, ignoring a cluster that is not running.
fn stop_quietly(pg_bin: &Path, root: &Path, as_postgres: bool) {
    let pg_ctl = pg_bin.join("pg_ctl");
    let data = root.join("data");
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_ctl);
        c
    } else {
        Command::new(pg_ctl)
    };
    let _ = command
        .arg("-D")
        .arg(data)
        .args(["-m", "immediate", "-w", "-t", "30", "stop"])
        .stdin(std::process::Stdio::null())
        .output();
}

/// Stops and deletes the clusters of test processes that are gone (killed before their
/// clusters' destructors ran).
fn remove_abandoned_clusters() {
    let Ok(entries) = std::fs::read_dir(scratch_dir()) else {
        return;
    };
    let pg_bin = std::env::var_os("PG_BIN").map_or_else(|| DEFAULT_PG_BIN.into(), PathBuf::from);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("pg-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            stop_quietly(&pg_bin, &entry.path(), running_as_root());
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn run_checked(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A database error with its message, detail and hint.
pub(crate) fn describe(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!(
            "{} ({}){}{}",
            db.message(),
            db.code().code(),
            db.detail()
                .map(|d| format!("\ndetail: {d}"))
                .unwrap_or_default(),
            db.hint()
                .map(|h| format!("\nhint: {h}"))
                .unwrap_or_default()
        ),
        None => err.to_string(),
    }
}
