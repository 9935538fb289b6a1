#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  report.py pgbench NAME RUNDIR             combine the rounds of one pgbench variant; prints
                                            "key<TAB>value" lines
  report.py median NAME VALUE...            prints NAME.median, NAME.runs
  report.py render RESULTS DOC              prints the summary table, writes the markdown report

RESULTS is the "key<TAB>value" file that bench.sh appends to.
"""

import glob
import os
import re
import statistics
import sys

SQL_START = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.I)


def parse_one(text):
    out = {}
    m = re.search(r"^tps = ([0-9.]+)", text, re.M)
    if m:
        out["tps"] = float(m.group(1))
    m = re.search(r"^latency average = ([0-9.]+) ms", text, re.M)
    if m:
        out["lat_ms"] = float(m.group(1))
    m = re.search(r"^number of failed transactions: ([0-9]+)", text, re.M)
    out["failed"] = int(m.group(1)) if m else 0
    m = re.search(r"^number of transactions actually processed: ([0-9]+)", text, re.M)
    out["xacts"] = int(m.group(1)) if m else 0
    # Per-statement averages (-r): the last SQL statement of the script is the one measured;
    # the others (sample lookups) are overhead.
    stmts = []
    in_block = False
    for line in text.splitlines():
        if line.startswith("statement latencies"):
            in_block = True
            continue
        if in_block:
            m = re.match(r"^\s+([0-9.]+)\s+([0-9]+)\s+(.*)$", line)
            if not m:
                if line.strip():
                    in_block = False
                continue
            stmts.append((float(m.group(1)), m.group(3)))
    sql = [s for s in stmts if SQL_START.match(s[1])]
    if sql:
        out["stmt_ms"] = sql[-1][0]
    return out


def parse_pgbench(name, run_dir):
    """Combines the rounds of one variant: run_dir/NAME.r<k>.out and run_dir/log/NAME.r<k>.*"""
    rounds = []
    for path in sorted(glob.glob(os.path.join(run_dir, glob.escape(name) + ".r*.out"))):
        text = open(path, encoding="utf-8", errors="replace").read()
        one = parse_one(text)
        if "tps" not in one:
            sys.stderr.write(text[-3000:])
            raise SystemExit(f"pgbench run {path} printed no tps")
        rounds.append(one)
    if not rounds:
        raise SystemExit(f"no pgbench output for {name} in {run_dir}")
    out = {}
    xacts = sum(r["xacts"] for r in rounds) or 1
    out["tps"] = statistics.mean(r["tps"] for r in rounds)
    out["tps_rounds"] = ", ".join(f"{r['tps']:.0f}" for r in rounds)
    out["xacts"] = xacts
    out["failed"] = sum(r["failed"] for r in rounds)
    for key in ("lat_ms", "stmt_ms"):
        if all(key in r for r in rounds):
            out[key] = sum(r[key] * r["xacts"] for r in rounds) / xacts
    # Per-transaction logs (-l): median and 95th percentile of the latency.
    lat = []
    for path in glob.glob(os.path.join(run_dir, "log", glob.escape(name) + ".r*")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    lat.append(int(parts[2]) / 1000.0)
    if lat:
        lat.sort()
        out["median_ms"] = statistics.median(lat)
        out["p95_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
    for k, v in out.items():
        print(f"{name}.{k}\t{v}")


def load(results_path):
    r = {}
    with open(results_path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "\t" in line:
                k, v = line.split("\t", 1)
                r[k] = v
    return r


def num(r, key):
    v = r.get(key)
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return None


def fmt(v, unit="", digits=None):
    if v is None:
        return "n/a"
    if digits is None:
        digits = 3 if abs(v) < 1 else (2 if abs(v) < 10 else (1 if abs(v) < 1000 else 0))
    s = f"{v:,.{digits}f}"
    return f"{s} {unit}".strip()


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Report:
    def __init__(self, r):
        self.r = r
        self.goals = []  # (issue, goal text, measured text, met bool|None, note)

    def goal(self, issue, text, measured, met, note=""):
        self.goals.append((issue, text, measured, met, note))


def verdict(met):
    return "n/a" if met is None else ("**met**" if met else "**missed**")


def render(results_path, doc_path):
    r = load(results_path)
    rep = Report(r)
    g = lambda k: num(r, k)  # noqa: E731
    lines = []
    w = lines.append

    # ---- 1. Objects: ls and subtree counts --------------------------------------------------
    t1 = [
        ("ls", "arxos.ls(building, path)", "ls.api"),
        ("ls", "raw SQL, same rows (btree on parent_path)", "ls.raw"),
        ("ls", "ltree/GiST layout, same rows (`~ 'p.*{1}'`)", "ls.ltree"),
        ("count", "count(*) from arxos.tree(building, path)", "count.api"),
        ("count", "raw btree range count (`path >= lo AND path < hi`)", "count.raw"),
        ("count", "ltree/GiST layout (`path <@ p`)", "count.ltree"),
        ("count", "floor: a prepared `SELECT 1` (what any statement costs before it reads a row)", "count.floor"),
    ]
    ls_ratio = ratio(g("ls.api.stmt_ms"), g("ls.raw.stmt_ms"))
    ls_ltree = ratio(g("ls.ltree.stmt_ms"), g("ls.api.stmt_ms"))
    cnt_ratio = ratio(g("count.api.stmt_ms"), g("count.raw.stmt_ms"))
    cnt_ltree = ratio(g("count.ltree.stmt_ms"), g("count.api.stmt_ms"))
    five = lambda v: None if v is None else v / 5  # noqa: E731
    five_ls, five_cnt = five(g("ls.ltree.stmt_ms")), five(g("count.ltree.stmt_ms"))
    floor_ms = g("count.floor.stmt_ms")
    left = lambda v: None if v is None or floor_ms is None else v - floor_ms  # noqa: E731
    pct = lambda part, whole: None if part is None or not whole else 100 * part / whole  # noqa: E731
    rep.goal("3 objects", "arxos.ls ≤ 1.5× the raw btree query", f"{fmt(ls_ratio, '×', 2)}",
             None if ls_ratio is None else ls_ratio <= 1.5)
    rep.goal("3 objects", "arxos.ls ≥ 5× faster than ltree/GiST", f"{fmt(ls_ltree, '×', 2)} faster",
             None if ls_ltree is None else ls_ltree >= 5)
    rep.goal("3 objects", "subtree count ≤ 1.5× the raw btree range query", f"{fmt(cnt_ratio, '×', 1)}",
             None if cnt_ratio is None else cnt_ratio <= 1.5)
    rep.goal("3 objects", "subtree count ≥ 5× faster than ltree/GiST", f"{fmt(cnt_ltree, '×', 2)} faster",
             None if cnt_ltree is None else cnt_ltree >= 5)

    # ---- 2. Bulk insert --------------------------------------------------------------------
    bulk_ratio = ratio(g("bulk.ext.median"), g("bulk.plain.median"))
    rep.goal("3 objects: bulk insert", f"{int(g('meta.bulk') or 0):,} objects with every trigger ≤ 2× plain table",
             f"{fmt(bulk_ratio, '×', 2)}", None if bulk_ratio is None else bulk_ratio <= 2)

    # ---- 3. Single-row writes --------------------------------------------------------------
    # Judged with the sequencer running (the busy poller): it folds the rating deltas the
    # writers append, so its work is part of a write's cost. Without it, for reference.
    plain_tps = g("write.plain.tps")
    w_put = ratio(g("write.put.tps"), plain_tps)
    w_ins = ratio(g("write.insert.tps"), plain_tps)
    w_put_poll = ratio(g("write.put_poll.tps"), plain_tps)
    w_ins_poll = ratio(g("write.insert_poll.tps"), plain_tps)
    rep.goal("3 objects: writes", "arxos.put ≥ 0.6× plain INSERT throughput (8 clients, sequencer folding)",
             f"{fmt(w_put_poll, '×', 2)} (no sequencer: {fmt(w_put, '×', 2)})",
             None if w_put_poll is None else w_put_poll >= 0.6)
    rep.goal("3 objects: writes", "INSERT into arxos.objects ≥ 0.6× plain INSERT throughput (8 clients, sequencer folding)",
             f"{fmt(w_ins_poll, '×', 2)} (no sequencer: {fmt(w_ins, '×', 2)})",
             None if w_ins_poll is None else w_ins_poll >= 0.6)

    # ---- 5. Rating -------------------------------------------------------------------------
    rating_ms = g("rating.median_ms")
    recompute_ms = g("recompute.median")
    rr = ratio(recompute_ms, rating_ms)
    rep.goal("4 rating", "arxos.rating() < 1 ms (median)", fmt(rating_ms, "ms"),
             None if rating_ms is None else rating_ms < 1)
    rep.goal("4 rating", "arxos.rating() ≥ 1000× faster than arxos.recompute_rating()",
             f"{fmt(rr, '×', 0)}", None if rr is None else rr >= 1000)

    # ---- Rendering -------------------------------------------------------------------------
    objects = int(g("meta.objects") or 0)
    w("# Benchmarks")
    w("")
    w("Generated by `make bench`; do not edit by hand. `bash scripts/bench.sh` measures the objects")
    w("and rating figures (sections 1 to 5, one run on one throwaway cluster, ratios compare runs of")
    w("that same session) and writes this file; the analysis comes from `bench/analysis.md`. The")
    w("API, real-time, import, readings and instruction-count sections come from `bench/api.sh`, `bench/realtime.sh`,")
    w("`bench/import.sh`, `bench/readings.sh` and `bench/instructions.sh`, and the plan audit (fragments in `bench/results/`, each with its date).")
    w("")
    w("## The run")
    w("")
    w(f"- Command: `{r.get('meta.command', 'make bench')}`")
    w(f"- Date: {r.get('meta.date', '?')}; duration {fmt(g('meta.runtime_s'), 's', 0)}")
    w(f"- Machine: {r.get('meta.machine', '?')}")
    w(f"- PostgreSQL: {r.get('meta.pg', '?')}; extension built with `--release`: {r.get('meta.release', '?')}")
    w(f"- Cluster settings: {r.get('meta.settings', '?')}")
    w(f"- Load average (1 min) at start {r.get('meta.load_start', '?')}, at the end {r.get('meta.load_end', '?')};"
      " the benchmark's own clients and server share the machine's cores; a load well above the")
    w("  benchmark's own means other work shared them too. Each measurement's load is in its table.")
    w(f"- Data: building `bench` from `arxos.generate_building('bench', {objects:,}, {r.get('meta.seed', '42')})`:"
      f" {objects:,} objects, {int(g('gen.connections') or 0):,} connections; generated in"
      f" {fmt(g('gen.seconds'), 's')} ({fmt(ratio(objects, g('gen.seconds')), 'objects/s', 0)}), every trigger on.")
    w(f"  Table sizes after setup: arxos.objects {r.get('size.objects', '?')} (indexes {r.get('size.objects_idx', '?')}),"
      f" bench.plain {r.get('size.plain', '?')} (indexes {r.get('size.plain_idx', '?')}),"
      f" bench.lt {r.get('size.lt', '?')} (GiST {r.get('size.lt_idx', '?')}), arxos.object_history {r.get('size.history', '?')}.")
    w(f"- Samples: {int(g('sample.dirs') or 0):,} objects with children (descendants: median"
      f" {fmt(g('sample.desc_median'), '', 0)}, mean {fmt(g('sample.desc_mean'), '', 0)}, max {fmt(g('sample.desc_max'), '', 0)};"
      f" children: median {fmt(g('sample.children_median'), '', 0)}, max {fmt(g('sample.children_max'), '', 0)}),"
      f" {int(g('sample.located') or 0):,} located objects, {int(g('sample.sources') or 0):,} connection sources"
      " below the building plant, 100,000 object ids. Picked by `\\set i random(...)` and a `\\gset` lookup.")
    w("- Checks: " + r.get("check.summary", "?"))
    w("")
    w("## Goals")
    w("")
    w("| issue | goal | measured | verdict | note |")
    w("|---|---|---|---|---|")
    for issue, text, measured, met, note in rep.goals:
        w(f"| {issue} | {text} | {measured} | {verdict(met)} | {note} |")
    w("")
    w("## Figures")
    w("")
    w("pgbench `-M prepared`, per-statement averages from `-r` (the measured statement alone, without")
    w("the sample lookup), medians from the per-transaction log (`-l`, lookup included).")
    w("")
    w(f"### 1. Objects: ls and subtree counts (2 clients, -j 2, {r.get('meta.duration', '?')} s each)")
    w("")
    w(f"Each group (ls; count) ran interleaved in {r.get('meta.rounds', '?')} rounds; tps per round shows the noise.")
    w("")
    w("| query | tps | tps per round | avg latency | statement avg | median | load |")
    w("|---|---|---|---|---|---|---|")
    for _, label, key in t1:
        w(f"| {label} | {fmt(g(key + '.tps'), '', 0)} | {r.get(key + '.tps_rounds', '?')} | {fmt(g(key + '.lat_ms'), 'ms')} |"
          f" {fmt(g(key + '.stmt_ms'), 'ms')} | {fmt(g(key + '.median_ms'), 'ms')} | {r.get(key + '.load', '?')} |")
    w("")
    w(f"Ratios (statement averages): ls / raw = {fmt(ls_ratio, '×', 2)}, ltree / ls = {fmt(ls_ltree, '×', 2)};"
      f" tree count / raw = {fmt(cnt_ratio, '×', 2)}, ltree / tree count = {fmt(cnt_ltree, '×', 2)}."
      f" 5× faster than ltree would be {fmt(five_ls)} ms for ls and {fmt(five_cnt)} ms for the count,"
      f" against a floor of {fmt(floor_ms)} ms for a statement that reads nothing.")
    w("")
    w(f"### 2. Bulk insert ({int(g('meta.bulk') or 0):,} objects in one INSERT … SELECT, median of {r.get('meta.bulk_runs', '3')})")
    w("")
    w("| target | runs (s) | median |")
    w("|---|---|---|")
    w(f"| arxos.objects, every trigger | {r.get('bulk.ext.runs', '?')} | {fmt(g('bulk.ext.median'), 's')} |")
    w(f"| bench.plain (same columns, constraints, indexes; no triggers but the foreign keys') |"
      f" {r.get('bulk.plain.runs', '?')} | {fmt(g('bulk.plain.median'), 's')} |")
    w("")
    w(f"Ratio {fmt(bulk_ratio, '×', 2)}. Trigger times of one more (rolled back) run, from EXPLAIN ANALYZE: see the appendix.")
    w("")
    w(f"### 3. Single-row writes (8 clients, -j 2, {r.get('meta.duration', '?')} s each, one object per transaction)")
    w("")
    w(f"All seven variants ran interleaved in {r.get('meta.rounds', '?')} rounds. Statement profiles: see the appendix.")
    w("")
    w("| writer | listener | tps | tps per round | avg latency | median | × plain | load |")
    w("|---|---|---|---|---|---|---|---|")
    for key, writer, listener in [
        ("write.plain", "INSERT into bench.plain", "none"),
        ("write.insert", "INSERT into arxos.objects", "none"),
        ("write.put", "arxos.put", "none"),
        ("write.insert_wake", "INSERT into arxos.objects", "idle LISTEN client, wants_wake = true"),
        ("write.insert_poll", "INSERT into arxos.objects", "busy poller (wants_wake = false, events_since every 5 ms with a lazy fold, as the shim's listener)"),
        ("write.put_wake", "arxos.put", "idle LISTEN client, wants_wake = true"),
        ("write.put_poll", "arxos.put", "busy poller (wants_wake = false, events_since every 5 ms with a lazy fold, as the shim's listener)"),
    ]:
        w(f"| {writer} | {listener} | {fmt(g(key + '.tps'), '', 0)} | {r.get(key + '.tps_rounds', '?')} | {fmt(g(key + '.lat_ms'), 'ms')} |"
          f" {fmt(g(key + '.median_ms'), 'ms')} | {fmt(ratio(g(key + '.tps'), plain_tps), '×', 2)} |"
          f" {r.get(key + '.load', '?')} |")
    w("")
    w("The poller"
      f" sequenced {r.get('write.insert_poll.events', '?')} events in the INSERT run and"
      f" {r.get('write.put_poll.events', '?')} in the put run.")
    w("")
    w(f"### 4. near and trace (2 clients, -j 2, {r.get('meta.short', '?')} s each; 1 round)")
    w("")
    w("| query | tps | statement avg | median | p95 | load |")
    w("|---|---|---|---|---|---|")
    for key, label in [("near", "arxos.near(building, path, 5 m, max => 10)"),
                       ("trace", "arxos.trace(building, path, 'downstream', NULL, 10)")]:
        w(f"| {label} | {fmt(g(key + '.tps'), '', 0)} | {fmt(g(key + '.stmt_ms'), 'ms')} |"
          f" {fmt(g(key + '.median_ms'), 'ms')} | {fmt(g(key + '.p95_ms'), 'ms')} | {r.get(key + '.load', '?')} |")
    w("")
    w(f"Rows returned: near {r.get('near.rows', '?')} on average over the samples, trace"
      f" {r.get('trace.rows', '?')} (median {r.get('trace.rows_median', '?')}, max {r.get('trace.rows_max', '?')}).")
    w("")
    w("### 5. Rating")
    w("")
    w("| measure | figure |")
    w("|---|---|")
    w(f"| arxos.rating('bench'), 1 client, {r.get('meta.short', '?')} s | median {fmt(rating_ms, 'ms')},"
      f" avg {fmt(g('rating.lat_ms'), 'ms')}, p95 {fmt(g('rating.p95_ms'), 'ms')}, {fmt(g('rating.tps'), 'tps', 0)} |")
    w(f"| arxos.recompute_rating('bench'), 3 runs | {r.get('recompute.runs', '?')} ms; median {fmt(recompute_ms, 'ms')} |")
    w(f"| recompute / rating | {fmt(rr, '×', 0)} |")
    w(f"| rating equals recompute | {r.get('rating.equal', '?')} |")
    upd_ext, upd_plain = g("update.ext.tps"), g("update.plain.tps")
    w(f"| single-row UPDATE (health) of arxos.objects, 8 clients, {r.get('meta.short', '?')} s |"
      f" {fmt(upd_ext, 'tps', 0)}, avg {fmt(g('update.ext.lat_ms'), 'ms')} |")
    w(f"| the same UPDATE of bench.plain | {fmt(upd_plain, 'tps', 0)}, avg {fmt(g('update.plain.lat_ms'), 'ms')} |")
    w(f"| UPDATE through the extension / plain | {fmt(ratio(upd_ext, upd_plain), '×', 2)} of the throughput |")
    w(f"| bulk insert (section 2) | {fmt(bulk_ratio, '×', 2)} the plain time |")
    w("")
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis):
        # @NAME@ placeholders take this run's figures, so the prose never quotes another run.
        x = lambda v, d=2: fmt(v, "×", d)  # noqa: E731
        values = {
            "DATE": r.get("meta.date", "?"),
            "LS_RATIO": x(ls_ratio), "LS_API": fmt(g("ls.api.stmt_ms")), "LS_RAW": fmt(g("ls.raw.stmt_ms")),
            "LS_LTREE": x(ls_ltree), "LS_RAW_LTREE": x(ratio(g("ls.ltree.stmt_ms"), g("ls.raw.stmt_ms"))),
            "CNT_API": fmt(g("count.api.stmt_ms")), "CNT_RAW": fmt(g("count.raw.stmt_ms")),
            "CNT_RATIO": x(cnt_ratio),
            "CNT_LTREE": x(cnt_ltree),
            "FLOOR": fmt(floor_ms), "FIVE_LS": fmt(five_ls), "FIVE_CNT": fmt(five_cnt),
            "CNT_LEFT": fmt(left(five_cnt)), "CNT_LEFT_PCT": fmt(pct(left(five_cnt), g("count.raw.stmt_ms")), "", 0),
            "LS_LEFT": fmt(left(five_ls)), "LS_LEFT_PCT": fmt(pct(left(five_ls), g("ls.raw.stmt_ms")), "", 0),
            "CNT_LTREE_MS": fmt(g("count.ltree.stmt_ms")), "LS_LTREE_MS": fmt(g("ls.ltree.stmt_ms")),
            "DESC_MEDIAN": fmt(g("sample.desc_median"), "", 0),
            "CHILD_MEDIAN": fmt(g("sample.children_median"), "", 0), "OBJECTS": f"{objects:,}",
            "BULK_RATIO": x(bulk_ratio), "BULK_PLAIN": fmt(g("bulk.plain.median"), "", 1),
            "W_INS": x(w_ins), "W_PUT": x(w_put),
            "WAKE_INS": x(ratio(g("write.insert_wake.tps"), plain_tps)),
            "WAKE_PUT": x(ratio(g("write.put_wake.tps"), plain_tps)),
            "POLL_INS": x(ratio(g("write.insert_poll.tps"), plain_tps)),
            "POLL_PUT": x(ratio(g("write.put_poll.tps"), plain_tps)),
            "NEAR": fmt(g("near.median_ms")), "TRACE": fmt(g("trace.median_ms")),
            "RATING": fmt(rating_ms), "RECOMPUTE": fmt(recompute_ms), "RATING_RATIO": x(rr, 0),
            "UPD_RATIO": x(ratio(g("update.ext.tps"), g("update.plain.tps"))),
        }
        text = open(analysis, encoding="utf-8").read().rstrip()
        text = re.sub(r"@([A-Z_]+)@", lambda m: values.get(m.group(1), m.group(0)), text)
        w(text)
        w("")
    # The other benchmarks of `make bench` write markdown fragments; each says when it ran.
    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    for name in ("instructions", "plans", "api", "realtime", "import", "readings"):
        path = os.path.join(results, name + ".md")
        if os.path.exists(path):
            w(open(path, encoding="utf-8").read().rstrip())
            w("")
    w("## Appendix: plans and trigger times of this run")
    w("")
    for key, title in [("explain.count_api", "count(*) from arxos.tree on a floor"),
                       ("explain.count_raw", "raw range count on the same floor"),
                       ("explain.count_ltree", "ltree count on the same floor"),
                       ("explain.ls_api", "arxos.ls on the same floor"),
                       ("explain.insert_one", "one INSERT into arxos.objects (rolled back)"),
                       ("explain.bulk", "the bulk INSERT into arxos.objects (rolled back)"),
                       ("explain.recompute", "arxos.recompute_rating's scan (rating_inputs_scan)"),
                       ("explain.profile_write_insert", "profile: INSERT into arxos.objects, 8 clients (pg_stat_statements)"),
                       ("explain.profile_write_put", "profile: arxos.put, 8 clients (pg_stat_statements)"),
                       ("explain.profile_update_ext", "profile: UPDATE of arxos.objects, 8 clients (pg_stat_statements)")]:
        path = r.get(key)
        if path and os.path.exists(path):
            w(f"### {title}")
            w("")
            w("```")
            w(open(path, encoding="utf-8").read().rstrip())
            w("```")
            w("")
    doc = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(doc_path)), exist_ok=True)
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(doc)

    # Summary on stdout.
    print("")
    print(f"{'issue':<14} {'goal':<72} {'measured':<16} verdict")
    for issue, text, measured, met, note in rep.goals:
        v = "n/a" if met is None else ("met" if met else "MISSED")
        print(f"{issue:<14} {text:<72} {measured:<16} {v}")
    print("")
    print(f"{'figure':<58} value")
    for label, value in [
        ("ls: api / raw / ltree statement avg (ms)",
         f"{fmt(g('ls.api.stmt_ms'))} / {fmt(g('ls.raw.stmt_ms'))} / {fmt(g('ls.ltree.stmt_ms'))}"),
        ("count: tree / raw / ltree (ms)",
         f"{fmt(g('count.api.stmt_ms'))} / {fmt(g('count.raw.stmt_ms'))} / {fmt(g('count.ltree.stmt_ms'))}"),
        ("bulk insert: extension / plain median (s)", f"{fmt(g('bulk.ext.median'))} / {fmt(g('bulk.plain.median'))}"),
        ("writes tps: plain / insert / put", f"{fmt(plain_tps, '', 0)} / {fmt(g('write.insert.tps'), '', 0)} / {fmt(g('write.put.tps'), '', 0)}"),
        ("writes tps with idle LISTEN (insert / put)", f"{fmt(g('write.insert_wake.tps'), '', 0)} / {fmt(g('write.put_wake.tps'), '', 0)}"),
        ("writes tps with busy poller (insert / put)", f"{fmt(g('write.insert_poll.tps'), '', 0)} / {fmt(g('write.put_poll.tps'), '', 0)}"),
        ("near / trace median (ms)", f"{fmt(g('near.median_ms'))} / {fmt(g('trace.median_ms'))}"),
        ("rating median / recompute median (ms)", f"{fmt(rating_ms)} / {fmt(recompute_ms)}"),
        ("update tps: extension / plain", f"{fmt(upd_ext, '', 0)} / {fmt(upd_plain, '', 0)}"),
    ]:
        print(f"{label:<58} {value}")
    print("")
    print(f"report written to {doc_path}")


def main(argv):
    if len(argv) == 4 and argv[1] == "pgbench":
        parse_pgbench(argv[2], argv[3])
    elif len(argv) >= 3 and argv[1] == "median":
        vals = [float(v) for v in argv[3:]]
        print(f"{argv[2]}.median\t{statistics.median(vals)}")
        print(f"{argv[2]}.runs\t{', '.join(f'{v:.2f}' for v in vals)}")
    elif len(argv) == 4 and argv[1] == "render":
        render(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
