#!/usr/bin/env bash
# Readings ingest throughput: R readings (default 200000) over 1000 objects, in batches of
# B (default 10000) through arxos.record_batch, against a plain COPY of the same rows into an
# identical table (same partitions and indexes, no triggers or functions). Prints rows/s and
# the ratio. Usage: bench/readings.sh [R] [B]
source "$(dirname "$0")/../scripts/lib.sh"
require_release_ext
rows=${1:-200000}
batch=${2:-10000}
work=$(mktemp -d "${TMPDIR:-/tmp}/arxos-bench-readings.XXXXXX")
chmod 755 "$work"
port=$(free_port)
cleanup() { cluster_remove "$work"; }
trap cleanup EXIT
cluster_init "$work"
# (the socket: in $work, or in /tmp when $work's path is too long for one)
host=$(socket_dir "$work")
cluster_start "$work" "$port"
psql_() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d arxos "$@"; }
as_pg "$PG_BIN/createdb" -h "$host" -p "$port" -U postgres arxos
psql_ -c "CREATE EXTENSION arxos CASCADE" >/dev/null
psql_ >/dev/null <<'SQL'
SELECT arxos.create_building('bench', 'Bench');
SELECT arxos.import_batch('bench', jsonb_build_object('objects',
    (SELECT jsonb_agg(jsonb_build_object('path', '/meters/m' || i, 'type', 'meter')) FROM generate_series(1, 1000) i)));
-- The identical plain table: same columns, partitions, indexes.
CREATE TABLE copy_readings (LIKE arxos.readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (at);
ALTER TABLE copy_readings ADD PRIMARY KEY (object_id, at);
CREATE INDEX ON copy_readings USING brin (at);
CREATE INDEX ON copy_readings (building_id, at);
CREATE TABLE copy_readings_default PARTITION OF copy_readings DEFAULT;
CREATE TABLE copy_readings_202601 PARTITION OF copy_readings FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2026-02-01 00:00+00');
SELECT arxos.ensure_readings_partition('2026-01-15 00:00+00');
SQL
# The batches as JSON files, and the same rows as COPY text.
python3 - "$rows" "$batch" "$work" <<'PY'
import json, sys, uuid
rows, batch, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def reading(i):
    return {"path": f"/meters/m{i % 1000 + 1}", "value": i * 0.5, "unit": "kWh",
            "at": f"2026-01-{1 + (i // 1000) // 86400:02d}T{(i // 1000) // 3600 % 24:02d}:{(i // 1000) // 60 % 60:02d}:{(i // 1000) % 60:02d}Z"}
with open(f"{work}/batches.sql", "w") as out:
    for start in range(0, rows, batch):
        body = json.dumps([reading(i) for i in range(start, min(rows, start + batch))]).replace("'", "''")
        out.write(f"SELECT arxos.record_batch('bench', '{body}');\n")
with open(f"{work}/copy.tsv", "w") as out:
    for i in range(rows):
        r = reading(i)
        out.write(f"00000000-0000-0000-0000-000000000001\t{uuid.UUID(int=i % 1000 + 1)}\t{r['at']}\t{r['value']}\tkWh\n")
PY
t0=$(date +%s.%N)
psql_ -f "$work/batches.sql" >/dev/null
t1=$(date +%s.%N)
psql_ -c "\\copy copy_readings (building_id, object_id, at, value, unit) FROM '$work/copy.tsv'"
t2=$(date +%s.%N)
stored=$(psql_ -At -c "SELECT count(*) FROM arxos.readings")
python3 - "$rows" "$stored" "$batch" "$t0" "$t1" "$t2" "${BENCH_READINGS_OUT:-$ROOT_DIR/bench/results/readings.md}" <<'PY'
import datetime, os, sys
rows, stored, batch = map(int, sys.argv[1:4])
t0, t1, t2 = map(float, sys.argv[4:7])
out = sys.argv[7]
fn, cp = rows / (t1 - t0), rows / (t2 - t1)
print(f"readings: {rows} rows ({stored} stored) via arxos.record_batch in batches of {batch}: {fn:,.0f} rows/s; "
      f"plain COPY into an identical table: {cp:,.0f} rows/s; ratio {fn / cp:.2f}")
load = open("/proc/loadavg").read().split()[:3]
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w", encoding="utf-8") as f:
    f.write(f"""## Readings ingest (issue 9)

`bash bench/readings.sh {rows} {batch}` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load
average at the end {' '.join(load)}): {rows:,} readings over 1,000 meters, sent as
`arxos.record_batch` calls of {batch:,} readings (JSON) from psql, against a plain `COPY` of
the same rows into an identical partitioned table (same partitions and indexes, no triggers).
Every reading also updates its object's latest metrics and instrumented flag, and each batch
emits coalesced `metric.recorded` events.

| path | rows | time | rows/s |
|---|---|---|---|
| arxos.record_batch | {rows:,} ({stored:,} stored) | {t1 - t0:.2f} s | {fn:,.0f} |
| plain COPY | {rows:,} | {t2 - t1:.2f} s | {cp:,.0f} |

Ratio: {fn / cp:.2f} × the COPY rate.
""")
PY
