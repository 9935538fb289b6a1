#!/usr/bin/env bash
# REST API benchmark: single-object GET by path through `arxos serve` (wrk, 64 connections)
# against pgbench running the same SELECT (prepared, 64 clients) on the same cluster, in the
# same run, in alternating rounds. Prints each round and the ratio of the medians (goal: >= 0.6).
#
# Env: BENCH_SECONDS (per round and side, default 10), BENCH_ROUNDS (default 4),
# BENCH_CONNECTIONS (default 64), ARXOS_BIN (the shim to measure; default: cargo build --release).
# Needs wrk and pgbench.
source "$(dirname "$0")/../scripts/lib.sh"
require_release_ext
cd "$ROOT_DIR"

SECONDS_EACH=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-4}
CONNS=${BENCH_CONNECTIONS:-64}
TARGET=${CARGO_TARGET_DIR:-$ROOT_DIR/target}
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
PGBENCH=$PG_BIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench) || die "pgbench not found"

if [ -n "${ARXOS_BIN:-}" ]; then
    ARXOS=$ARXOS_BIN
else
    log "building arxos (release)"
    cargo build --quiet --release -p arxos_http --bin arxos
    ARXOS=$TARGET/release/arxos
fi

WORK=$TARGET/bench-api
DIR=$WORK/cluster-$$
mkdir -p "$WORK"
PORT=$(free_port)
HTTP_PORT=$(free_port)
SHIM_PID=
cleanup() {
    if [ -n "$SHIM_PID" ]; then kill "$SHIM_PID" 2>/dev/null || true; wait "$SHIM_PID" 2>/dev/null || true; fi
    cluster_remove "$DIR"
}
trap cleanup EXIT

cluster_init "$DIR"
cluster_start "$DIR" "$PORT"
PSQL=("$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE arxos" >/dev/null
"${PSQL[@]}" -d arxos -c "CREATE EXTENSION arxos CASCADE" -c "SELECT arxos.load_sample()" >/dev/null 2>&1
KEY=$("${PSQL[@]}" -d arxos -c "SELECT key FROM arxos.create_api_key('bench', ARRAY['read'])")

DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/arxos" RUST_LOG=warn \
    "$ARXOS" serve --addr "127.0.0.1:$HTTP_PORT" --rate-limit 0 --query-rate-limit 0 \
    --pool-size "$CONNS" --no-query >"$WORK/arxos.log" 2>&1 &
SHIM_PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$HTTP_PORT/api/health/live" >/dev/null 2>&1 && break
    sleep 0.1
done
URL="http://127.0.0.1:$HTTP_PORT/api/buildings/b42/objects/electrical/panels/panel_1"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" "$URL")
[ "$code" = 200 ] || die "GET $URL answered $code"

# The statement the shim runs for this route (routes/objects.rs), as pgbench runs it.
cat >"$WORK/get.sql" <<'SQL'
SELECT jsonb_build_array(jsonb_build_object('id', o.id, 'building_id', o.building_id, 'path', o.path::text,
    'name', o.name::text, 'parent_path', o.parent_path::text, 'depth', o.depth,
    'type', o.type, 'status', o.status, 'health', o.health, 'needs_repair', o.needs_repair,
    'properties', o.properties, 'metrics', o.metrics, 'location', arxos.location_json(o),
    'instrumented', o.instrumented, 'last_reading_at', o.last_reading_at,
    'created_at', o.created_at, 'updated_at', o.updated_at, 'created_by', o.created_by,
    'updated_by', o.updated_by, 'version', o.version), arxos.etag(o))
  FROM arxos.get('b42', '/electrical/panels/panel_1') o;
SQL

run_pgbench() { # SECONDS -> tps
    as_pg "$PGBENCH" -h 127.0.0.1 -p "$PORT" -U postgres -n -M prepared -c "$CONNS" -j 2 \
        -T "$1" -f "$WORK/get.sql" arxos >"$WORK/pgbench.txt" 2>&1 || { cat "$WORK/pgbench.txt"; die "pgbench failed"; }
    awk '/^tps = / {print $3; exit}' "$WORK/pgbench.txt"
}
run_wrk() { # SECONDS -> "rps p99 non2xx"
    wrk -t 2 -c "$CONNS" -d "${1}s" --latency -H "X-API-Key: $KEY" "$URL" >"$WORK/wrk.txt"
    echo "$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt") $(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt") $(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt" | grep . || echo 0)"
}

# Warm-up, not measured: the shim opens its pool's connections on demand, and both sides'
# backends fill their caches.
log "warm-up: pgbench and wrk, 3 s each"
run_pgbench 3 >/dev/null
run_wrk 3 >/dev/null
# Rounds, alternating which side goes first: the machine's speed drifts by tens of percent
# within minutes, so one run of each would compare two different machines.
PG_TPS=(); API_RPS=(); API_P99=(); NON_2XX=0
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
        PG_TPS+=("$(run_pgbench "$SECONDS_EACH")"); read -r rps p99 bad <<<"$(run_wrk "$SECONDS_EACH")"
    else
        read -r rps p99 bad <<<"$(run_wrk "$SECONDS_EACH")"; PG_TPS+=("$(run_pgbench "$SECONDS_EACH")")
    fi
    API_RPS+=("$rps"); API_P99+=("$p99"); NON_2XX=$((NON_2XX + bad))
    log "round $r: api ${rps} req/s (p99 ${p99}), pgbench ${PG_TPS[-1]} tps"
done
ROUND_LINE=$(IFS=,; echo "${API_RPS[*]};${API_P99[*]};${PG_TPS[*]}")

# For context, not the goal: a client that pipelines as the shim does (8 connections, 8
# statements in flight on each: pgbench's pipeline mode, 8 SELECTs per script).
{ echo '\startpipeline'; for _ in 1 2 3 4 5 6 7 8; do cat "$WORK/get.sql"; done; echo '\endpipeline'; } >"$WORK/get-pipe.sql"
as_pg "$PGBENCH" -h 127.0.0.1 -p "$PORT" -U postgres -n -M prepared -c 8 -j 2 \
    -T "$SECONDS_EACH" -f "$WORK/get-pipe.sql" arxos >"$WORK/pgbench-pipe.txt" 2>&1 \
    || { cat "$WORK/pgbench-pipe.txt"; die "pgbench (pipeline) failed"; }
PIPE_SPS=$(awk '/^tps = / {printf "%.0f", $3 * 8; exit}' "$WORK/pgbench-pipe.txt")
log "pgbench pipelined: $PIPE_SPS statements/s"

OUT_MD=${BENCH_API_OUT:-$ROOT_DIR/bench/results/api.md}
mkdir -p "$(dirname "$OUT_MD")"
python3 - "$ROUND_LINE" "$NON_2XX" "$CONNS" "$SECONDS_EACH" "$ROUNDS" "$PIPE_SPS" >"$OUT_MD" <<'PY'
import datetime, statistics, sys
rounds, non2xx, conns, secs, n, pipe = sys.argv[1:]
rps, p99s, tps = (part.split(",") for part in rounds.split(";"))
rps = [float(x) for x in rps]; tps = [float(x) for x in tps]
def ms(v):  # wrk prints 12.34ms, 1.20s or 950.00us
    for unit, f in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float(v)
p99 = [ms(v) for v in p99s]
ratio = statistics.median(rps) / statistics.median(tps)
verdict = "met" if ratio >= 0.6 else "missed"
load = " ".join(open("/proc/loadavg").read().split()[:3])
rows = "\n".join(f"| {i + 1} | {a:,.0f} | {b:.1f} ms | {c:,.0f} | {a / c:.2f} × |"
                 for i, (a, b, c) in enumerate(zip(rps, p99, tps)))
print(f"""## REST API (issue 5)

`bash bench/api.sh` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load average at the
end {load}): `GET /api/buildings/b42/objects/electrical/panels/panel_1` through `arxos serve`
(release) with `wrk` ({conns} connections, a read key), against pgbench running the route's
SELECT (prepared, {conns} clients) on the same cluster, in {n} rounds of {secs} s each that
alternate which side goes first, after a 3 s warm-up of each.

| round | API requests/s | API p99 | pgbench transactions/s | API / pgbench |
|---|---|---|---|---|
{rows}

| measure | figure |
|---|---|
| API, GET by path (median of the rounds) | {statistics.median(rps):,.0f} requests/s, p99 {statistics.median(p99):.1f} ms, non-2xx {non2xx} |
| pgbench, the same SELECT (median of the rounds) | {statistics.median(tps):,.0f} transactions/s |
| API / pgbench, medians (goal ≥ 0.6×) | **{ratio:.2f} ×**, {verdict} |

Per request the shim sends the SELECT alone once a pooled connection holds the key's
identity from an earlier request (docs/security.md, "Identities left on pooled connections"),
and up to `--pipeline-depth` (8) such statements of one key share a connection, pipelined;
before that, in one round trip, `BEGIN`, the identity statement (the key check
`arxos.authorize`, or for a key accepted in the last `--key-cache-seconds` the `set_config`
calls), the SELECT and `COMMIT`. pgbench sends the SELECT alone and waits for its answer on
each of its {conns} connections, as most clients do. For context (not the goal's baseline): a client
that pipelines as the shim does, pgbench in pipeline mode with 8 connections and 8 SELECTs in
flight on each, ran {int(pipe):,} statements/s once after the rounds. The shim, wrk, pgbench and
PostgreSQL share the machine's 2 cores.""")
PY
grep -E "^\| (API|pgbench)" "$OUT_MD"
