//! Where the machine's CPU time went during a phase, from /proc: the whole machine
//! (`/proc/stat`: busy, idle, I/O wait), the shim, this process, and the PostgreSQL cluster
//! (its postmaster with the children it reaped, plus its live children). Everything else
//! busy is "other" (other work on the machine). All figures are in the kernel's USER_HZ
//! ticks, so shares need no tick rate. Off Linux, or for a remote cluster, parts read as 0.

use std::fs;

/// Cumulative ticks at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    total: u64,
    idle: u64,
    iowait: u64,
    shim: u64,
    bench: u64,
    postgres: u64,
}

/// Shares of the machine's capacity (all cores) over an interval, 0–1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shares {
    pub busy: f64,
    pub iowait: f64,
    pub postgres: f64,
    pub shim: f64,
    pub bench: f64,
    pub other: f64,
}

impl Snapshot {
    /// Now; `shim` is the shim's pid when one runs, `postmaster` the cluster's.
    pub fn take(shim: Option<u32>, postmaster: Option<u32>) -> Snapshot {
        let (total, idle, iowait) = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| machine_ticks(&s))
            .unwrap_or_default();
        Snapshot {
            total,
            idle,
            iowait,
            shim: shim.and_then(process_ticks).unwrap_or(0),
            bench: process_ticks(std::process::id()).unwrap_or(0),
            postgres: postmaster.map(tree_ticks).unwrap_or(0),
        }
    }

    /// The shares from `self` to `later`.
    pub fn shares_until(&self, later: &Snapshot) -> Shares {
        let total = later.total.saturating_sub(self.total) as f64;
        if total <= 0.0 {
            return Shares::default();
        }
        let part = |a: u64, b: u64| b.saturating_sub(a) as f64 / total;
        let idle = part(self.idle, later.idle);
        let iowait = part(self.iowait, later.iowait);
        let busy = (1.0 - idle - iowait).max(0.0);
        let postgres = part(self.postgres, later.postgres);
        let shim = part(self.shim, later.shim);
        let bench = part(self.bench, later.bench);
        Shares {
            busy,
            iowait,
            postgres,
            shim,
            bench,
            other: (busy - postgres - shim - bench).max(0.0),
        }
    }
}

/// (all, idle, iowait) ticks of the `cpu` line: user nice system idle iowait irq softirq steal.
fn machine_ticks(stat: &str) -> Option<(u64, u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 5 {
        return None;
    }
    Some((fields.iter().sum(), fields[3], fields[4]))
}

/// The fields of `/proc/<pid>/stat` after the command name, from the state (field 3) on.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

fn parse_stat(stat: &str) -> Option<Vec<String>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime (fields 14 and 15) of one process, all its threads.
fn process_ticks(pid: u32) -> Option<u64> {
    ticks(&stat_fields(pid)?, false)
}

/// utime + stime, plus cutime + cstime (16, 17: children it has waited for) when `reaped`.
fn ticks(fields: &[String], reaped: bool) -> Option<u64> {
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let own = field(14)? + field(15)?;
    Some(if reaped {
        own + field(16)? + field(17)?
    } else {
        own
    })
}

/// The postmaster (with the backends it reaped) and its live children.
fn tree_ticks(postmaster: u32) -> u64 {
    let mut sum = stat_fields(postmaster)
        .and_then(|f| ticks(&f, true))
        .unwrap_or(0);
    let Ok(entries) = fs::read_dir("/proc") else {
        return sum;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(fields) = stat_fields(pid) {
            let parent = fields.get(1).and_then(|p| p.parse::<u32>().ok());
            if parent == Some(postmaster) {
                sum += ticks(&fields, false).unwrap_or(0);
            }
        }
    }
    sum
}

/// The parent of a process (the postmaster, given one of its children's pid).
pub fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{machine_ticks, parse_stat, ticks, Snapshot};

    #[test]
    fn the_machine_line_sums_its_first_eight_fields() {
        let stat = "cpu  100 0 50 800 40 5 5 0 0 0\ncpu0 50 0 25 400 20 2 3 0 0 0\n";
        assert_eq!(machine_ticks(stat), Some((1000, 800, 40)));
        assert_eq!(machine_ticks("intr 1 2 3"), None);
    }

    #[test]
    fn process_fields_survive_spaces_and_parentheses_in_names() {
        let stat = "42 (post (gres) x) S 7 42 42 0 -1 4194560 100 0 0 0 11 22 33 44 20 0 1 0";
        let fields = parse_stat(stat).unwrap();
        assert_eq!(fields[0], "S");
        assert_eq!(fields[1], "7");
        assert_eq!(ticks(&fields, false), Some(33));
        assert_eq!(ticks(&fields, true), Some(110));
    }

    #[test]
    fn shares_split_the_busy_time() {
        let a = Snapshot::default();
        let b = Snapshot {
            total: 1000,
            idle: 200,
            iowait: 100,
            shim: 150,
            bench: 50,
            postgres: 300,
        };
        let s = a.shares_until(&b);
        assert!((s.busy - 0.7).abs() < 1e-9);
        assert!((s.iowait - 0.1).abs() < 1e-9);
        assert!((s.other - 0.2).abs() < 1e-9);
        assert!((s.postgres - 0.3).abs() < 1e-9);
    }
}
