//! The figures of a run, the goals of issue 7 they are judged against, and their two
//! renderings: summary lines for the terminal and a markdown fragment for docs/benchmarks.md.

use std::fmt::Write as _;

use crate::cpu::Shares;
use crate::latency::Latency;
use crate::stats::{ms, Summary};
use crate::webhooks::Throughput;
use crate::writes::Run;

/// What was asked for.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rate: u32,
    pub clients: usize,
    pub seconds: u64,
    pub warmup: u64,
    pub pace_connections: usize,
    pub write_clients: usize,
    pub write_seconds: u64,
    pub write_rounds: u32,
}

/// A latency phase: the writer's achieved rate and what receivers saw.
#[derive(Debug)]
pub struct LatencyPhase {
    pub latency: Latency,
    /// Commits per second of the measured writes.
    pub write_rate: f64,
    /// Receipts per second over every receiver, measured window.
    pub delivered_per_second: f64,
    /// Messages that were not bench writes (SSE only).
    pub other: usize,
}

/// Throughput of each writer, rounds added up, and each round's figures.
#[derive(Debug, Default)]
pub struct Writes {
    pub with_listener: Run,
    pub without_listener: Run,
    pub plain: Run,
    /// Per round: tps with the listener, without it, plain INSERT.
    pub rounds: Vec<[f64; 3]>,
    /// The most events left unsequenced at the end of a run with the listener attached.
    pub pending_after_with: i64,
}

#[derive(Debug)]
pub struct Report {
    pub settings: Settings,
    /// When the run started (UTC, from the database's clock).
    pub started: String,
    pub cores: usize,
    /// (moment, `/proc/loadavg`'s three averages)
    pub loads: Vec<(String, String)>,
    /// (phase, where the CPU time went)
    pub cpu: Vec<(String, Shares)>,
    pub raw: LatencyPhase,
    /// The floor of a consumer that takes notifications as hints and reads the rows.
    pub hinted: LatencyPhase,
    pub sse: LatencyPhase,
    pub webhooks: Throughput,
    pub writes: Writes,
}

/// One goal of the issue.
struct Goal {
    text: &'static str,
    measured: String,
    met: Option<bool>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

fn opt_ms(s: Option<Summary>, pick: fn(&Summary) -> i64) -> String {
    s.as_ref()
        .map(|s| ms(pick(s)))
        .unwrap_or_else(|| "–".into())
}

fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

impl Report {
    fn goals(&self) -> Vec<Goal> {
        let raw_p50 = self.raw.latency.from_commit.map(|s| s.p50_us);
        let sse = self.sse.latency.from_commit;
        let p50_ratio = match (sse, raw_p50) {
            (Some(s), Some(r)) if r > 0 => Some(s.p50_us as f64 / r as f64),
            _ => None,
        };
        let put_vs_plain = ratio(self.writes.with_listener.tps(), self.writes.plain.tps());
        let without_vs_plain = ratio(self.writes.without_listener.tps(), self.writes.plain.tps());
        let complete = self.sse.latency.missing() == 0 && self.sse.latency.duplicates == 0;
        let target = f64::from(self.settings.rate);
        vec![
            Goal {
                text: "(precondition) the writers reach the target rate in the SSE phase",
                measured: format!(
                    "{} of {} object writes/s (raw phase: {}/s)",
                    thousands(self.sse.write_rate),
                    thousands(target),
                    thousands(self.raw.write_rate)
                ),
                met: Some(self.sse.write_rate >= 0.95 * target),
            },
            Goal {
                text: "SSE commit→event p50 within 2× raw LISTEN (commit→notification) p50",
                measured: format!(
                    "{} vs {} ({}); the floor of any reader that takes the notification as a \
                     hint and reads the rows: {} ({})",
                    opt_ms(sse, |s| s.p50_us),
                    opt_ms(self.raw.latency.from_commit, |s| s.p50_us),
                    p50_ratio.map(|r| format!("{r:.1}×")).unwrap_or_else(|| "–".into()),
                    opt_ms(self.hinted.latency.from_commit, |s| s.p50_us),
                    match (self.hinted.latency.from_commit, raw_p50) {
                        (Some(h), Some(r)) if r > 0 => format!("{:.1}×", h.p50_us as f64 / r as f64),
                        _ => "–".into(),
                    }
                ),
                met: p50_ratio.map(|r| r <= 2.0),
            },
            Goal {
                text: "SSE commit→event p99 under 50 ms",
                measured: opt_ms(sse, |s| s.p99_us),
                met: sse.map(|s| s.p99_us < 50_000),
            },
            Goal {
                text: "every SSE client gets every event once",
                measured: format!(
                    "{} missing, {} duplicates of {} receipts",
                    self.sse.latency.missing(),
                    self.sse.latency.duplicates,
                    thousands(self.sse.latency.expected as f64)
                ),
                met: Some(complete),
            },
            Goal {
                text: "webhook deliveries ≥ 1,000/s per shim",
                measured: format!("{}/s", thousands(self.webhooks.per_second)),
                met: Some(
                    self.webhooks.per_second >= 1000.0
                        && self.webhooks.delivered == self.webhooks.events,
                ),
            },
            Goal {
                text: "arxos.put with the listener attached ≥ 0.6× plain INSERT (objects-issue write budget, 8 clients)",
                measured: format!(
                    "{}× (without the shim: {}×)",
                    fmt_ratio(put_vs_plain),
                    fmt_ratio(without_vs_plain)
                ),
                met: put_vs_plain.map(|r| r >= 0.6),
            },
        ]
    }

    /// The terminal summary: one line per figure, then the goals.
    pub fn summary(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let _ = writeln!(out, "real-time benchmark (issue 7), {} cores", self.cores);
        for (moment, load) in &self.loads {
            let _ = writeln!(out, "load average (1/5/15 min) {moment}: {load}");
        }
        for (phase, c) in &self.cpu {
            let _ = writeln!(
                out,
                "CPU during the {phase} phase (of {} cores): {}",
                self.cores,
                cpu_line(c)
            );
        }
        let raw = &self.raw.latency;
        for (label, phase) in [
            ("raw LISTEN commit→notification", &self.raw),
            (
                "raw LISTEN + read of the hinted rows commit→row",
                &self.hinted,
            ),
        ] {
            let l = &phase.latency;
            let _ = writeln!(
                out,
                "{label}: p50 {}, p99 {}, max {} ({} of {} received; writer {}/s)",
                opt_ms(l.from_commit, |s| s.p50_us),
                opt_ms(l.from_commit, |s| s.p99_us),
                opt_ms(l.from_commit, |s| s.max_us),
                thousands(l.received as f64),
                thousands(l.expected as f64),
                thousands(phase.write_rate)
            );
        }
        let sse = &self.sse.latency;
        let _ = writeln!(
            out,
            "SSE commit→event, {} clients: p50 {}, p99 {}, max {}; first client p50 {}, p99 {}; fan-out spread p50 {}, p99 {}",
            s.clients,
            opt_ms(sse.from_commit, |s| s.p50_us),
            opt_ms(sse.from_commit, |s| s.p99_us),
            opt_ms(sse.from_commit, |s| s.max_us),
            opt_ms(sse.first_receiver, |s| s.p50_us),
            opt_ms(sse.first_receiver, |s| s.p99_us),
            opt_ms(sse.spread, |s| s.p50_us),
            opt_ms(sse.spread, |s| s.p99_us),
        );
        let _ = writeln!(
            out,
            "SSE delivery: {} events/s to all clients (writer {} commits/s); {} of {} receipts, {} duplicates",
            thousands(self.sse.delivered_per_second),
            thousands(self.sse.write_rate),
            thousands(sse.received as f64),
            thousands(sse.expected as f64),
            sse.duplicates
        );
        let _ = writeln!(
            out,
            "send→receive p50 (includes the write itself): raw {}, SSE {}",
            opt_ms(raw.from_send, |s| s.p50_us),
            opt_ms(sse.from_send, |s| s.p50_us)
        );
        let w = &self.webhooks;
        let _ = writeln!(
            out,
            "webhooks: {} of {} delivered, {}/s first→last ({}/s from the commit); commit→first {}, commit→last {}; {} requests",
            thousands(w.delivered as f64),
            thousands(w.events as f64),
            thousands(w.per_second),
            thousands(w.per_second_from_commit),
            ms(w.commit_to_first_us),
            ms(w.commit_to_last_us),
            thousands(w.requests as f64)
        );
        let wr = &self.writes;
        let _ = writeln!(
            out,
            "writes, {} clients, arxos.put: {} tps with the listener attached, {} tps without the shim (ratio {}); plain INSERT {} tps; put with listener / plain {}",
            s.write_clients,
            thousands(wr.with_listener.tps()),
            thousands(wr.without_listener.tps()),
            fmt_ratio(ratio(wr.with_listener.tps(), wr.without_listener.tps())),
            thousands(wr.plain.tps()),
            fmt_ratio(ratio(wr.with_listener.tps(), wr.plain.tps())),
        );
        let _ = writeln!(out, "goals:");
        for g in self.goals() {
            let _ = writeln!(out, "  [{}] {}: {}", verdict(g.met), g.text, g.measured);
        }
        out
    }

    /// The markdown fragment for docs/benchmarks.md.
    pub fn markdown(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w, "## Real-time delivery (issue 7)\n");
        let _ = writeln!(
            w,
            "`bench/realtime.sh` ({}): one private PostgreSQL 15 cluster, the real `arxos serve` \
             (release), and the benchmark client `bench/realtime` on the same {}-core machine. Load \
             average (1/5/15 min): {}.\n",
            self.started,
            self.cores,
            self.loads
                .iter()
                .map(|(m, l)| format!("{m} {l}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let _ = writeln!(
            w,
            "Where the CPU went (shares of all {} cores; \"other\" is the rest of the machine; \
             writes: the shim counted under other):\n",
            self.cores
        );
        let _ = writeln!(
            w,
            "| phase | busy | PostgreSQL | arxos serve | benchmark client | other | I/O wait |"
        );
        let _ = writeln!(w, "|---|---|---|---|---|---|---|");
        for (phase, c) in &self.cpu {
            let _ = writeln!(
                w,
                "| {phase} | {} | {} | {} | {} | {} | {} |",
                pct(c.busy),
                pct(c.postgres),
                pct(c.shim),
                pct(c.bench),
                pct(c.other),
                pct(c.iowait)
            );
        }
        let _ = writeln!(w);
        let _ = writeln!(w, "### Goals\n");
        let _ = writeln!(w, "| goal | measured | verdict |");
        let _ = writeln!(w, "|---|---|---|");
        for g in self.goals() {
            let _ = writeln!(w, "| {} | {} | {} |", g.text, g.measured, verdict(g.met));
        }
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "### Commit-to-delivery latency ({} writes/s for {} s after {} s of warm-up)\n",
            s.rate, s.seconds, s.warmup
        );
        let _ = writeln!(
            w,
            "| path | receivers | p50 | p99 | max | mean | received | writer |"
        );
        let _ = writeln!(w, "|---|---|---|---|---|---|---|---|");
        for (name, phase, summary) in [
            (
                "raw LISTEN (commit → notification)",
                &self.raw,
                self.raw.latency.from_commit,
            ),
            (
                "raw LISTEN, then a SELECT of the rows it hints at (commit → rows read)",
                &self.hinted,
                self.hinted.latency.from_commit,
            ),
            (
                "SSE `object.*` (commit → event)",
                &self.sse,
                self.sse.latency.from_commit,
            ),
            (
                "SSE, first client per event",
                &self.sse,
                self.sse.latency.first_receiver,
            ),
            (
                "SSE, fan-out spread (last − first client)",
                &self.sse,
                self.sse.latency.spread,
            ),
        ] {
            let l = &phase.latency;
            let _ = writeln!(
                w,
                "| {name} | {} | {} | {} | {} | {} | {} of {} | {}/s |",
                l.receivers,
                opt_ms(summary, |s| s.p50_us),
                opt_ms(summary, |s| s.p99_us),
                opt_ms(summary, |s| s.max_us),
                summary
                    .map(|s| format!("{:.2} ms", s.mean_us / 1000.0))
                    .unwrap_or_else(|| "–".into()),
                thousands(l.received as f64),
                thousands(l.expected as f64),
                thousands(phase.write_rate)
            );
        }
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "SSE delivered {} events/s in total to {} clients, {} duplicates, {} other messages. \
             From the send instead of the commit (so including the write's own time): raw p50 {}, \
             SSE p50 {}.\n",
            thousands(self.sse.delivered_per_second),
            s.clients,
            self.sse.latency.duplicates,
            self.sse.other,
            opt_ms(self.raw.latency.from_send, |s| s.p50_us),
            opt_ms(self.sse.latency.from_send, |s| s.p50_us)
        );
        let wh = &self.webhooks;
        let _ = writeln!(w, "### Webhook throughput\n");
        let _ = writeln!(
            w,
            "One bulk INSERT of {} objects, one webhook (`object.created` under `/wh`), a local \
             receiver answering 200, the shim's default worker settings (128 in flight, at most 64 of one webhook). \
             {} of {} delivered ({} requests): **{}/s** from the first delivery to the last, \
             {}/s from the commit; the first arrived {} after the commit, the last {}.\n",
            thousands(wh.events as f64),
            thousands(wh.delivered as f64),
            thousands(wh.events as f64),
            thousands(wh.requests as f64),
            thousands(wh.per_second),
            thousands(wh.per_second_from_commit),
            ms(wh.commit_to_first_us),
            ms(wh.commit_to_last_us)
        );
        let wr = &self.writes;
        let _ = writeln!(
            w,
            "### Writes with the listener attached ({} clients, {} rounds of {:.1} s each, 1 s warm-up per run)\n",
            s.write_clients,
            s.write_rounds,
            s.write_seconds as f64 / f64::from(s.write_rounds.max(1))
        );
        let _ = writeln!(w, "| writer | shim | tps | × plain |");
        let _ = writeln!(w, "|---|---|---|---|");
        for (name, shim, run) in [
            ("arxos.put", "running (listener attached)", wr.with_listener),
            ("arxos.put", "stopped", wr.without_listener),
            (
                "plain INSERT (copy of arxos.objects, no triggers)",
                "stopped",
                wr.plain,
            ),
        ] {
            let _ = writeln!(
                w,
                "| {name} | {shim} | {} | {} |",
                thousands(run.tps()),
                fmt_ratio(ratio(run.tps(), wr.plain.tps()))
            );
        }
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "With / without the listener: {}. Per round (with, without, plain): {}. \
             At most {} events were left unsequenced at the end of a run with the listener.\n",
            fmt_ratio(ratio(wr.with_listener.tps(), wr.without_listener.tps())),
            wr.rounds
                .iter()
                .map(|r| format!(
                    "{}/{}/{}",
                    thousands(r[0]),
                    thousands(r[1]),
                    thousands(r[2])
                ))
                .collect::<Vec<_>>()
                .join(", "),
            wr.pending_after_with
        );
        let _ = writeln!(
            w,
            "Method: every timestamp comes from one monotonic clock in the benchmark process. A \
             paced writer ({} connections) sends write *n* at start + *n*/{} s; latency is the \
             receive time minus the time the write's commit returned to the writer (a \
             notification can arrive before that: such samples are negative and kept). Raw: \
             `SELECT pg_notify('bench_raw', '<n> <t>')` in autocommit, one LISTEN connection. \
             Hinted read: a row *n* into a plain table and an empty `pg_notify` in one \
             transaction; the LISTEN connection answers each notification with one `SELECT` of \
             the rows after the last it read, stamped when the answer arrives. \
             SSE: `arxos.put` of a new object whose properties carry *n* and the send time; \
             {} clients on `GET /api/events?types=object.*`, stamped when a chunk is read. \
             The benchmark client, the shim and PostgreSQL share the machine's cores.",
            s.pace_connections, s.rate, s.clients
        );
        out
    }
}

fn pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

fn cpu_line(c: &Shares) -> String {
    format!(
        "busy {} (PostgreSQL {}, arxos serve {}, benchmark client {}, other {}), I/O wait {}",
        pct(c.busy),
        pct(c.postgres),
        pct(c.shim),
        pct(c.bench),
        pct(c.other),
        pct(c.iowait)
    )
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "–".into())
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "missed",
        None => "not measured",
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234.5), "1,235");
        assert_eq!(thousands(-1234567.0), "-1,234,567");
    }
}
