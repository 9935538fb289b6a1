#!/usr/bin/env bash
# Real-time benchmark (issue 7), in one run against one private cluster and the real
# `arxos serve` (release):
#   - commit→notification latency of a raw LISTEN client, and commit→event latency of 100 SSE
#     clients, each at 1,000 writes/s (goals: SSE p50 within 2× raw, SSE p99 < 50 ms);
#   - webhook deliveries per second to a local receiver (goal: >= 1,000/s per shim);
#   - arxos.put throughput (8 clients) with the shim's listener attached, without the shim,
#     and plain INSERT (the objects issue's write budget: put >= 0.6× plain).
# Prints a summary and writes bench/results/realtime.md (merged into docs/benchmarks.md).
# Takes about 2.5 minutes after the build (3.5 with an arxos rebuild).
#
# Env: ARXOS_BIN (an arxos binary to use instead of building one), BENCH_REALTIME_OUT (the
# markdown file; default bench/results/realtime.md), CARGO_TARGET_DIR.
# Extra arguments go to the benchmark binary (see `--help`), e.g. --seconds 10 --clients 50.
source "$(dirname "$0")/../scripts/lib.sh"
require_release_ext
cd "$ROOT_DIR"

TARGET=${CARGO_TARGET_DIR:-$ROOT_DIR/target}
if [ -n "${ARXOS_BIN:-}" ]; then
    log "building the benchmark (release); arxos: $ARXOS_BIN"
    cargo build --quiet --release -p arxos_bench_realtime
else
    log "building arxos and the benchmark (release)"
    cargo build --quiet --release -p arxos_http -p arxos_bench_realtime --bins
    ARXOS_BIN=$TARGET/release/arxos
fi
[ -x "$ARXOS_BIN" ] || die "no arxos binary at $ARXOS_BIN"

work=$(mktemp -d "${TMPDIR:-/tmp}/arxos-bench-realtime.XXXXXX")
chmod 755 "$work"
port=$(free_port)
cleanup() { cluster_remove "$work"; }
trap cleanup EXIT

cluster_init "$work"
cluster_start "$work" "$port"
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres arxos
as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d arxos \
    -c "SET client_min_messages = warning" -c "CREATE EXTENSION arxos CASCADE" >/dev/null

log "load: $(uptime)"
mkdir -p "$work/run"
status=0
"$TARGET/release/arxos_bench_realtime" \
    --database-url "postgres://postgres@127.0.0.1:$port/arxos" \
    --arxos-bin "$ARXOS_BIN" \
    --work-dir "$work/run" \
    --out "${BENCH_REALTIME_OUT:-$ROOT_DIR/bench/results/realtime.md}" "$@" || status=$?
log "load: $(uptime)"
if [ "$status" != 0 ]; then
    echo "--- last lines of the arxos log" >&2
    tail -20 "$work/run/arxos.log" >&2 || true
fi
exit "$status"
