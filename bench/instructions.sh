#!/usr/bin/env bash
# Instructions per single-row write (callgrind), through the extension and into the plain
# table, on a generated building. Throughput on this machine drifts by tens of percent from one
# minute to the next; instruction counts repeat to about 5 % (each run generates a new
# building, whose random id bits split other index pages), so this is the measurement to
# compare two versions of a trigger with, over two or more runs of each, alternately.
# Writes bench/results/instructions.md.
#
# How: the cluster is stopped and each script runs in a single-user backend
# (`postgres --single`) under `valgrind --tool=callgrind`, inside one transaction that is rolled
# back. A script runs PREPARE once and EXECUTE n times; the instructions of 100 and of 600
# executions are counted and the difference divided by 500, which leaves out the start-up,
# the PREPARE and the catalog caches. Commits are not counted (their cost is WAL flushes, not
# instructions): this is the CPU side of a write only.
#
# Env: BENCH_OBJECTS (default 20000), BENCH_REPEAT (measurements of each script after one
# uncounted warm-up, default 3).
source "$(dirname "$0")/../scripts/lib.sh"
require_release_ext
command -v valgrind >/dev/null || die "valgrind is not installed (apt-get install valgrind)"

OBJECTS=${BENCH_OBJECTS:-20000}
REPEAT=${BENCH_REPEAT:-3}
OUT_MD=$ROOT_DIR/bench/results/instructions.md
WORK=$(mktemp -d "${TMPDIR:-/tmp}/arxos-instr.XXXXXX")
chmod 755 "$WORK"
PORT=$(free_port)
cleanup() { cluster_remove "$WORK"; }
trap cleanup EXIT

log "building a $OBJECTS-object building"
cluster_init "$WORK"
# (the socket: in $WORK, or in /tmp when $WORK's path is too long for one)
HOST=$(socket_dir "$WORK")
cluster_start "$WORK" "$PORT"
PSQL=("$PG_BIN/psql" -X -q -h "$HOST" -p "$PORT" -U postgres -v ON_ERROR_STOP=1)
as_pg "$PG_BIN/createdb" -h "$HOST" -p "$PORT" -U postgres bench
"${PSQL[@]}" -d bench -c "SET client_min_messages = warning" -c "CREATE EXTENSION arxos CASCADE" >/dev/null
"${PSQL[@]}" -d bench -Atc "SELECT arxos.generate_building('bench', $OBJECTS, 42)" >/dev/null
"${PSQL[@]}" -d bench -c "SELECT arxos.fold_ratings(100000000)" -c "TRUNCATE arxos.events_pending, arxos.events" >/dev/null
"${PSQL[@]}" -d bench -v building=bench -f "$ROOT_DIR/bench/setup.sql" >/dev/null
"${PSQL[@]}" -d bench -c "VACUUM ANALYZE" >/dev/null
BID=$("${PSQL[@]}" -d bench -Atc "SELECT arxos.building_id('bench')")
NIDS=$("${PSQL[@]}" -d bench -Atc "SELECT count(*) FROM bench.ids")
cluster_stop "$WORK"
mkdir -p "$WORK/cg"
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/cg"; fi

# The scripts: NAME|PREPARE body|EXECUTE arguments for execution $i.
SCRIPTS=(
"insert_ext|INSERT INTO arxos.objects (building_id, path, type, status, properties, x, y, z, floor) VALUES ('$BID', \$1, 'sensor', 'active', '{\"measures\": \"temperature\", \"unit\": \"degC\"}', 12.5, 3.25, 1.5, 1)|'/network/bench_writes/i_%d'"
"insert_plain|INSERT INTO bench.plain (building_id, path, type, status, properties, x, y, z, floor) VALUES ('$BID', \$1, 'sensor', 'active', '{\"measures\": \"temperature\", \"unit\": \"degC\"}', 12.5, 3.25, 1.5, 1)|'/network/bench_writes/i_%d'"
"put|SELECT (arxos.put('bench', \$1, 'sensor', '{\"measures\": \"temperature\", \"unit\": \"degC\"}', 'active', NULL, '{\"x\": 12.5, \"y\": 3.25, \"z\": 1.5, \"floor\": 1}')).version|'/network/bench_writes/p_%d'"
"update_ext|UPDATE arxos.objects SET health = \$1 WHERE id = (SELECT id FROM bench.ids WHERE n = \$2)|%h, %n"
"update_plain|UPDATE bench.plain SET health = \$1 WHERE id = (SELECT id FROM bench.ids WHERE n = \$2)|%h, %n"
)
# script FILE BODY ARGS N: writes the SQL a single-user backend reads (one statement a line).
script() {
    python3 - "$@" "$NIDS" <<'PY'
import sys
path, body, args, n, nids = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
params = "(text)" if "%d" in args else "(int, int)"
with open(path, "w") as f:
    f.write("BEGIN;\n")
    f.write(f"PREPARE s{params} AS {body};\n")
    for i in range(n):
        a = args.replace("%d", str(i)).replace("%h", str(i % 101)).replace("%n", str(1 + (i * 7919) % nids))
        f.write(f"EXECUTE s({a});\n")
    f.write("ROLLBACK;\n")
PY
}
single() { as_pg "$PG_BIN/postgres" --single -D "$WORK/data" -c shared_buffers=256MB bench; }
# count FILE: instructions of one single-user run of FILE (after a VACUUM, so that the rolled
# back rows of the previous run are gone).
count() {
    echo "VACUUM;" | single >/dev/null 2>&1
    as_pg valgrind --tool=callgrind --callgrind-out-file="$WORK/cg/cg.out" \
        "$PG_BIN/postgres" --single -D "$WORK/data" -c shared_buffers=256MB bench <"$1" >"$WORK/run.log" 2>&1
    if grep -q "ERROR" "$WORK/run.log"; then grep -m3 "ERROR" "$WORK/run.log" >&2; die "$1 failed"; fi
    sed -n 's/^summary: *//p' "$WORK/cg/cg.out"
}

declare -A PER
for spec in "${SCRIPTS[@]}"; do
    IFS='|' read -r name body args <<<"$spec"
    script "$WORK/$name.100.sql" "$body" "$args" 100
    script "$WORK/$name.600.sql" "$body" "$args" 600
    runs=()
    # Round 0 is a warm-up, not counted: the first runs of a script after another one pay for
    # extending the tables the rolled-back rows of the next runs find again (about a tenth more).
    for ((r = 0; r <= REPEAT; r++)); do
        a=$(count "$WORK/$name.100.sql")
        b=$(count "$WORK/$name.600.sql")
        if [ "$r" -gt 0 ]; then runs+=($(((b - a) / 500))); fi
    done
    PER[$name]="${runs[*]}"
    log "$name: ${runs[*]} instructions per execution"
done

python3 - "$OUT_MD" "$OBJECTS" "$REPEAT" "${PER[insert_ext]}" "${PER[insert_plain]}" "${PER[put]}" \
    "${PER[update_ext]}" "${PER[update_plain]}" <<'PY'
import datetime, statistics, sys
out, objects, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = [list(map(int, a.split())) for a in sys.argv[4:9]]
ins, plain, put, upd, upd_plain = [statistics.median(r) for r in runs]
def row(label, r, base):
    return f"| {label} | {statistics.median(r):,.0f} | {', '.join(f'{v:,}' for v in r)} | {statistics.median(r) / base:.2f} × |"
with open(out, "w") as f:
    f.write(f"""## Instructions per write

`bash bench/instructions.sh` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC): instructions a single-user
backend executes per single-row write (callgrind; the difference between 600 and 100 executions
of one prepared statement, divided by 500, in one transaction rolled back; the median of
{repeat} measurements after an uncounted warm-up), on a {objects:,}-object building (seed 42). Instruction counts do not drift with the
machine's load as throughput does; they leave out the commit, whose cost is the WAL flush.

| statement | instructions | measurements | × plain |
|---|---|---|---|
{row("INSERT into arxos.objects (every trigger)", runs[0], plain)}
{row("arxos.put (a new object)", runs[2], plain)}
{row("INSERT into bench.plain", runs[1], plain)}
{row("UPDATE of arxos.objects (health)", runs[3], upd_plain)}
{row("UPDATE of bench.plain (health)", runs[4], upd_plain)}

At equal instructions per write, the extension's share of the CPU is {(ins - plain) / ins:.0%} of an INSERT
and {(upd - upd_plain) / upd:.0%} of an UPDATE.
""")
PY
cat "$OUT_MD"
