#!/usr/bin/env bash
# Import throughput: generates a deterministic Brick file of N entities (default 100000),
# imports it with `arxos import` into a throwaway cluster, and prints objects/s.
# Usage: bench/import.sh [N]   (ARXOS_BIN: the binary to use; default: cargo build --release)
source "$(dirname "$0")/../scripts/lib.sh"
n=${1:-100000}
work=$(mktemp -d "${TMPDIR:-/tmp}/arxos-bench-import.XXXXXX")
chmod 755 "$work"
port=$(free_port)
cleanup() { cluster_stop "$work"; rm -rf "$work"; }
trap cleanup EXIT
if [ -z "${ARXOS_BIN:-}" ]; then
    (cd "$ROOT_DIR" && cargo build --release -q -p arxos_http)
    ARXOS_BIN=${CARGO_TARGET_DIR:-$ROOT_DIR/target}/release/arxos
fi
cluster_init "$work"
cluster_start "$work" "$port"
as_pg "$PG_BIN/createdb" -h "$work" -p "$port" -U postgres arxos
as_pg "$PG_BIN/psql" -X -q -h "$work" -p "$port" -U postgres -d arxos -c "CREATE EXTENSION arxos CASCADE" >/dev/null
python3 "$ROOT_DIR/bench/gen_brick.py" "$n" >"$work/model.ttl"
url="postgres://postgres@127.0.0.1:$port/arxos"
start=$(date +%s.%N)
DATABASE_URL=$url "$ARXOS_BIN" import --building bench --format brick "$work/model.ttl" >"$work/first.txt"
mid=$(date +%s.%N)
DATABASE_URL=$url "$ARXOS_BIN" import --building bench --format brick "$work/model.ttl" >"$work/again.txt"
end=$(date +%s.%N)
objects=$(as_pg "$PG_BIN/psql" -X -qAt -h "$work" -p "$port" -U postgres -d arxos \
    -c "SELECT count(*) FROM arxos.objects WHERE building_id = arxos.building_id('bench')")
python3 - "$n" "$objects" "$start" "$mid" "$end" <<'PY'
import sys
n, objects = int(sys.argv[1]), int(sys.argv[2])
start, mid, end = map(float, sys.argv[3:])
print(f"import: {n} entities -> {objects} objects in {mid - start:.1f} s = {objects / (mid - start):,.0f} objects/s; "
      f"re-import (all unchanged) {end - mid:.1f} s = {objects / (end - mid):,.0f} objects/s")
PY
cat "$work/first.txt" >&2
