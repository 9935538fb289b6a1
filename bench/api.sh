#!/usr/bin/env bash
# REST API benchmark: single-object GET by path through `arxos serve` (wrk, 64 connections)
# against pgbench running the same SELECT (prepared, 64 clients) on the same cluster, in the
# same run. Prints both rates, the API's p99 latency, and the ratio (goal: >= 0.6).
#
# Env: BENCH_SECONDS (default 15), BENCH_CONNECTIONS (default 64). Needs wrk and pgbench.
source "$(dirname "$0")/../scripts/lib.sh"
require_release_ext
cd "$ROOT_DIR"

SECONDS_EACH=${BENCH_SECONDS:-15}
CONNS=${BENCH_CONNECTIONS:-64}
TARGET=${CARGO_TARGET_DIR:-$ROOT_DIR/target}
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
PGBENCH=$PG_BIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench) || die "pgbench not found"

log "building arxos (release)"
cargo build --quiet --release -p arxos_http --bin arxos
ARXOS=$TARGET/release/arxos

WORK=$TARGET/bench-api
DIR=$WORK/cluster-$$
mkdir -p "$WORK"
PORT=$(free_port)
HTTP_PORT=$(free_port)
SHIM_PID=
cleanup() {
    if [ -n "$SHIM_PID" ]; then kill "$SHIM_PID" 2>/dev/null || true; wait "$SHIM_PID" 2>/dev/null || true; fi
    cluster_stop "$DIR"
    rm -rf "$DIR"
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
SELECT jsonb_build_object('id', o.id, 'building_id', o.building_id, 'path', o.path::text,
    'name', o.name::text, 'parent_path', o.parent_path::text, 'depth', o.depth,
    'type', o.type, 'status', o.status, 'health', o.health, 'needs_repair', o.needs_repair,
    'properties', o.properties, 'metrics', o.metrics, 'location', arxos.location_json(o),
    'instrumented', o.instrumented, 'last_reading_at', o.last_reading_at,
    'created_at', o.created_at, 'updated_at', o.updated_at, 'created_by', o.created_by,
    'updated_by', o.updated_by, 'version', o.version)
  FROM arxos.get('b42', '/electrical/panels/panel_1') o;
SQL

log "pgbench: $CONNS clients, ${SECONDS_EACH}s, prepared"
as_pg "$PGBENCH" -h 127.0.0.1 -p "$PORT" -U postgres -n -M prepared -c "$CONNS" -j 2 \
    -T "$SECONDS_EACH" -f "$WORK/get.sql" arxos >"$WORK/pgbench.txt" 2>&1 || { cat "$WORK/pgbench.txt"; die "pgbench failed"; }
PG_TPS=$(awk '/^tps = / {print $3; exit}' "$WORK/pgbench.txt")

log "wrk: $CONNS connections, ${SECONDS_EACH}s, GET by path"
wrk -t 2 -c "$CONNS" -d "${SECONDS_EACH}s" --latency -H "X-API-Key: $KEY" "$URL" >"$WORK/wrk.txt"
API_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
API_P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
NON_2XX=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")

RATIO=$(python3 -c "print(f'{float($API_RPS) / float($PG_TPS):.2f}')")
echo "api GET by path: ${API_RPS} req/s, p99 ${API_P99}${NON_2XX:+, non-2xx $NON_2XX}"
echo "pgbench same SELECT: ${PG_TPS} tps"
echo "ratio: ${RATIO} (goal >= 0.6)"

OUT_MD=${BENCH_API_OUT:-$ROOT_DIR/bench/results/api.md}
mkdir -p "$(dirname "$OUT_MD")"
python3 - "$API_RPS" "$API_P99" "${NON_2XX:-0}" "$PG_TPS" "$RATIO" "$CONNS" "$SECONDS_EACH" >"$OUT_MD" <<'PY'
import datetime, sys
rps, p99, non2xx, tps, ratio, conns, secs = sys.argv[1:]
load = " ".join(open("/proc/loadavg").read().split()[:3])
verdict = "met" if float(ratio) >= 0.6 else "missed"
print(f"""## REST API (issue 5)

`bash bench/api.sh` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load average at the
end {load}): `GET /api/buildings/b42/objects/electrical/panels/panel_1` through `arxos serve`
(release) with `wrk` ({conns} connections, {secs} s, a read key), against pgbench running the
route's SELECT (prepared, {conns} clients, {secs} s) on the same cluster in the same run.

| measure | figure |
|---|---|
| API, GET by path | {float(rps):,.0f} requests/s, p99 {p99}, non-2xx {non2xx} |
| pgbench, the same SELECT | {float(tps):,.0f} transactions/s |
| API / pgbench (goal ≥ 0.6×) | **{ratio} ×**, {verdict} |

Per request the shim sends, in one round trip: `BEGIN`, the identity statement (the key check
`arxos.authorize`, or for a key accepted in the last `--key-cache-seconds` only the
`set_config` calls), the SELECT and `COMMIT`; pgbench sends the SELECT alone. The shim, wrk,
pgbench and PostgreSQL share the machine's 2 cores.""")
PY
