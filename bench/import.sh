#!/usr/bin/env bash
# Import throughput: generates a deterministic Brick file of N entities (default 100000),
# imports it with `arxos import` into a throwaway cluster, and prints objects/s.
# Usage: bench/import.sh [N]   (ARXOS_BIN: the binary to use; default: cargo build --release)
source "$(dirname "$0")/../scripts/lib.sh"
require_release_ext
n=${1:-100000}
work=$(mktemp -d "${TMPDIR:-/tmp}/arxos-bench-import.XXXXXX")
chmod 755 "$work"
port=$(free_port)
cleanup() { cluster_remove "$work"; }
trap cleanup EXIT
if [ -z "${ARXOS_BIN:-}" ]; then
    (cd "$ROOT_DIR" && cargo build --release -q -p arxos_http)
    ARXOS_BIN=${CARGO_TARGET_DIR:-$ROOT_DIR/target}/release/arxos
fi
cluster_init "$work"
# (the socket: in $work, or in /tmp when $work's path is too long for one)
host=$(socket_dir "$work")
cluster_start "$work" "$port"
as_pg "$PG_BIN/createdb" -h "$host" -p "$port" -U postgres arxos
as_pg "$PG_BIN/psql" -X -q -h "$host" -p "$port" -U postgres -d arxos -c "CREATE EXTENSION arxos CASCADE" >/dev/null
python3 "$ROOT_DIR/bench/gen_brick.py" "$n" >"$work/model.ttl"
url="postgres://postgres@127.0.0.1:$port/arxos"
start=$(date +%s.%N)
DATABASE_URL=$url "$ARXOS_BIN" import --building bench --format brick "$work/model.ttl" >"$work/first.txt"
mid=$(date +%s.%N)
DATABASE_URL=$url "$ARXOS_BIN" import --building bench --format brick "$work/model.ttl" >"$work/again.txt"
end=$(date +%s.%N)
objects=$(as_pg "$PG_BIN/psql" -X -qAt -h "$host" -p "$port" -U postgres -d arxos \
    -c "SELECT count(*) FROM arxos.objects WHERE building_id = arxos.building_id('bench')")
python3 - "$n" "$objects" "$start" "$mid" "$end" "${BENCH_IMPORT_OUT:-$ROOT_DIR/bench/results/import.md}" <<'PY'
import datetime, os, sys
n, objects = int(sys.argv[1]), int(sys.argv[2])
start, mid, end = map(float, sys.argv[3:6])
out = sys.argv[6]
first, again = objects / (mid - start), objects / (end - mid)
print(f"import: {n} entities -> {objects} objects in {mid - start:.1f} s = {first:,.0f} objects/s; "
      f"re-import (all unchanged) {end - mid:.1f} s = {again:,.0f} objects/s")
load = open("/proc/loadavg").read().split()[:3]
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w", encoding="utf-8") as f:
    f.write(f"""## Import (issue 9)

`bash bench/import.sh {n}` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load average
at the end {' '.join(load)}): a deterministic Brick (Turtle) model of {n:,} entities from
`bench/gen_brick.py`, imported with `arxos import --format brick` (release build) into a
private cluster, then imported again unchanged (the idempotent path: every object compared,
none written).

| run | objects | time | objects/s |
|---|---|---|---|
| first import | {objects:,} | {mid - start:.1f} s | {first:,.0f} |
| re-import, unchanged | {objects:,} | {end - mid:.1f} s | {again:,.0f} |
""")
PY
cat "$work/first.txt" >&2
