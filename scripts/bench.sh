#!/usr/bin/env bash
# `make bench`: benchmarks of the extension against a generated building, on a throwaway
# PostgreSQL 15 cluster; prints a summary and writes the report (docs/benchmarks.md).
# Not part of `make test`. About 15 minutes at the default size on 2 cores.
#
# Environment:
#   BENCH_OBJECTS         objects in the building (default 1000000)
#   BENCH_DURATION        seconds of each ls/count/write pgbench run (default 20)
#   BENCH_SHORT_DURATION  seconds of each near/trace/rating/update run (default 10)
#   BENCH_ROUNDS          rounds the compared variants are interleaved in (default 4)
#   BENCH_BULK            objects of the bulk insert (default 100000, at most BENCH_OBJECTS / 2)
#   BENCH_BULK_RUNS       bulk inserts into each table, interleaved (default 5)
#   BENCH_SEED            generator seed (default 42)
#   BENCH_DOC             where the report goes (default docs/benchmarks.md at 1000000 objects,
#                         target/bench/benchmarks.md otherwise, so a quick run keeps the real one)
#   BENCH_SKIP_INSTALL=1  use the installed extension instead of installing a --release build
#   BENCH_KEEP=1          leave the cluster running afterwards (its directory is printed)
source "$(dirname "$0")/lib.sh"

OBJECTS=${BENCH_OBJECTS:-1000000}
DURATION=${BENCH_DURATION:-20}
SHORT=${BENCH_SHORT_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-4}
SEED=${BENCH_SEED:-42}
BULK=${BENCH_BULK:-100000}
BULK_RUNS=${BENCH_BULK_RUNS:-5}
if [ "$BULK" -gt $((OBJECTS / 2)) ]; then BULK=$((OBJECTS / 2)); fi
[ "$OBJECTS" -ge 2000 ] || die "BENCH_OBJECTS must be at least 2000"
if [ "$OBJECTS" = 1000000 ]; then
    DOC=${BENCH_DOC:-$ROOT_DIR/docs/benchmarks.md}
else
    DOC=${BENCH_DOC:-$ROOT_DIR/target/bench/benchmarks.md}
fi
BENCH_DIR=$ROOT_DIR/bench
OUT=$ROOT_DIR/target/bench
START_S=$(date +%s)

command -v pgbench >/dev/null || die "pgbench not found (install postgresql-client-15)"
if [ "${BENCH_SKIP_INSTALL:-0}" != 1 ]; then
    log "installing the extension (--release)"
    bash "$ROOT_DIR/scripts/install-ext.sh" --release
fi
require_release_ext

rm -rf "$OUT/run"
mkdir -p "$OUT/run"
RESULTS=$OUT/results.tsv
: >"$RESULTS"
rec() { printf '%s\t%s\n' "$1" "$2" >>"$RESULTS"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---- A throwaway cluster with settings for a machine of this size ----------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/arxos-bench.XXXXXX")
chmod 755 "$work"
port=$(free_port)
BG_PIDS=()
cleanup() {
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        log "cluster left running: $work (port $port)"
    else
        cluster_remove "$work"
    fi
}
trap cleanup EXIT
cluster_init "$work"
# (the socket: in $work, or in /tmp when $work's path is too long for one)
host=$(socket_dir "$work")
# Memory settings for this machine's 24 GB, smaller on a smaller one (a fifth of the memory
# for shared buffers, two fifths for the cache estimate), so that the cluster starts there too.
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
# (a container's limit, when lower: /proc/meminfo shows the host's)
if [ -r /sys/fs/cgroup/memory.max ] && [ "$(cat /sys/fs/cgroup/memory.max)" != max ]; then
    limit_mb=$(($(cat /sys/fs/cgroup/memory.max) / 1048576))
    if [ "$limit_mb" -lt "$mem_mb" ]; then mem_mb=$limit_mb; fi
fi
shared_mb=$((mem_mb / 5 < 4096 ? mem_mb / 5 : 4096))
cache_mb=$((mem_mb * 2 / 5 < 8192 ? mem_mb * 2 / 5 : 8192))
SETTINGS="shared_buffers = ${shared_mb}MB, work_mem = 32MB, maintenance_work_mem = 1GB, effective_cache_size = ${cache_mb}MB, max_wal_size = 16GB, checkpoint_timeout = 30min, random_page_cost = 1.1, jit = off, synchronous_commit = on, fsync = on, autovacuum = on, autovacuum_naptime = 5s"
tr ',' '\n' <<<"$SETTINGS" | sed 's/^ *//' >>"$work/data/postgresql.conf"
# pg_stat_statements profiles the statements inside the triggers (see profile()); it tracks
# nothing in the measured runs.
cat >>"$work/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = none
CONF
cluster_start "$work" "$port"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres)
createdb -h "$host" -p "$port" -U postgres bench
DB=(-d bench)
q() { "${PSQL[@]}" "${DB[@]}" -Atc "$1"; }
"${PSQL[@]}" "${DB[@]}" -c "SET client_min_messages = warning" -c "CREATE EXTENSION arxos CASCADE" \
    -c "CREATE EXTENSION pg_stat_statements"

rec meta.objects "$OBJECTS"
rec meta.bulk "$BULK"
rec meta.bulk_runs "$BULK_RUNS"
rec meta.seed "$SEED"
rec meta.duration "$DURATION"
rec meta.short "$SHORT"
rec meta.rounds "$ROUNDS"
rec meta.date "$(date -u '+%Y-%m-%d %H:%M UTC')"
rec meta.command "$( [ "$OBJECTS" = 1000000 ] && echo 'make bench' || echo "BENCH_OBJECTS=$OBJECTS make bench")"
rec meta.machine "$(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB memory, $(. /etc/os-release && echo "$PRETTY_NAME")"
rec meta.pg "$(q 'select version()' | cut -d, -f1)"
rec meta.settings "$SETTINGS"
rec meta.load_start "$(load1)"
rec meta.release "$( [ "${BENCH_SKIP_INSTALL:-0}" = 1 ] && echo 'not checked (BENCH_SKIP_INSTALL=1)' || echo yes)"

# ---- Generator checks ---------------------------------------------------------------------
log "checking the generator"
n1=$(q "select arxos.generate_building('g', 1000)")
c1=$(q "select count(*) from arxos.objects where building_id = arxos.building_id('g')")
q "select arxos.generate_building('g2', 1000)" >/dev/null
same=$(q "select (select md5(string_agg(concat_ws('|', path, type, status, health, needs_repair, properties, x, y, z, floor), E'\n' order by path))
                    from arxos.objects where building_id = arxos.building_id('g'))
                = (select md5(string_agg(concat_ws('|', path, type, status, health, needs_repair, properties, x, y, z, floor), E'\n' order by path))
                    from arxos.objects where building_id = arxos.building_id('g2'))
             and (select count(*) from arxos.connections where building_id = arxos.building_id('g'))
                = (select count(*) from arxos.connections where building_id = arxos.building_id('g2'))")
[ "$n1" = 1000 ] && [ "$c1" = 1000 ] || die "generate_building('g', 1000) made $c1 objects (returned $n1), not 1000"
[ "$same" = t ] || die "generate_building is not deterministic: two buildings of seed 42 differ"
for size in 1 21 4999; do
    got=$(q "select arxos.generate_building('g$size', $size, 7)")
    [ "$(q "select count(*) from arxos.objects where building_id = arxos.building_id('g$size')")" = "$size" ] \
        && [ "$got" = "$size" ] || die "generate_building('g$size', $size, 7) did not make exactly $size objects"
done
q "delete from arxos.buildings where key in ('g', 'g2', 'g1', 'g21', 'g4999')" >/dev/null
rec check.summary "generate_building('g', 1000) made exactly 1000 objects (and 1, 21 and 4999 objects for seed 7); a second building of the same seed had the same paths, types, statuses, properties, locations and connection count."

# ---- The building -------------------------------------------------------------------------
log "generating $OBJECTS objects (seed $SEED)"
t0=$(date +%s.%N)
n=$(q "select arxos.generate_building('bench', $OBJECTS, $SEED)")
t1=$(date +%s.%N)
[ "$n" = "$OBJECTS" ] || die "generate_building returned $n"
[ "$(q "select count(*) from arxos.objects where building_id = arxos.building_id('bench')")" = "$OBJECTS" ] \
    || die "the building does not hold $OBJECTS objects"
rec gen.seconds "$(awk "BEGIN { print $t1 - $t0 }")"
rec gen.connections "$(q "select count(*) from arxos.connections where building_id = arxos.building_id('bench')")"
BID=$(q "select arxos.building_id('bench')")
# The outbox now holds one event per object; a shim would have drained it. Start the
# measurements from an empty outbox.
q "truncate arxos.events_pending, arxos.events" >/dev/null

log "setting up the baselines (plain table, ltree layout, samples)"
"${PSQL[@]}" "${DB[@]}" -v building=bench -f "$BENCH_DIR/setup.sql" >/dev/null
# Autovacuum would wake up on the big tables in the middle of some runs (after the bulk inserts)
# and take one of the two cores; they are vacuumed before each phase instead.
for t in arxos.objects bench.plain arxos.object_history; do
    q "alter table $t set (autovacuum_enabled = false)" >/dev/null
done
size() { q "select pg_size_pretty(pg_table_size('$1'))"; }
isize() { q "select pg_size_pretty(pg_indexes_size('$1'))"; }
rec size.objects "$(size arxos.objects)"
rec size.objects_idx "$(isize arxos.objects)"
rec size.plain "$(size bench.plain)"
rec size.plain_idx "$(isize bench.plain)"
rec size.lt "$(size bench.lt)"
rec size.lt_idx "$(isize bench.lt)"
rec size.history "$(size arxos.object_history)"
# This machine's page cache is reclaimed eagerly (a few GB stay cached however much is free),
# so everything the runs touch is read into shared_buffers, where it stays.
q "create extension pg_prewarm" >/dev/null
q "select sum(pg_prewarm(c.oid)) from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('arxos', 'bench') and c.relkind in ('r', 'i', 't')" >/dev/null
NDIRS=$(q "select count(*) from bench.dirs")
NLOC=$(q "select count(*) from bench.located")
NSRC=$(q "select count(*) from bench.sources")
NIDS=$(q "select count(*) from bench.ids")
rec sample.dirs "$NDIRS"
rec sample.located "$NLOC"
rec sample.sources "$NSRC"
IFS='|' read -r dmed dmean dmax cmed cmax < <(q "select percentile_cont(0.5) within group (order by descendants),
    avg(descendants), max(descendants), percentile_cont(0.5) within group (order by children), max(children) from bench.dirs")
rec sample.desc_median "$dmed"; rec sample.desc_mean "$dmean"; rec sample.desc_max "$dmax"
rec sample.children_median "$cmed"; rec sample.children_max "$cmax"

# pgb NAME SCRIPT CLIENTS SECONDS ROUND [extra pgbench args...]: one pgbench run (one round).
pgb() {
    local name=$1 script=$2 clients=$3 secs=$4 round=$5
    shift 5
    local threads=2
    [ "$clients" -ge 2 ] || threads=1
    printf '%s ' "$(load1)" >>"$OUT/run/$name.load"
    mkdir -p "$OUT/run/log"
    (cd "$OUT/run/log" && pgbench -h "$host" -p "$port" -U postgres -n -M prepared -r \
        -c "$clients" -j "$threads" -T "$secs" -l --log-prefix="$name.r$round" \
        -D building=bench -D bid="$BID" -D ndirs="$NDIRS" -D nlocated="$NLOC" -D nsources="$NSRC" \
        -D nids="$NIDS" "$@" -f "$BENCH_DIR/pgbench/$script.sql" bench) \
        >"$OUT/run/$name.r$round.out" 2>&1 || { tail -20 "$OUT/run/$name.r$round.out" >&2; die "pgbench $name failed"; }
}
# collect NAME: records the combined figures of a variant's rounds.
collect() {
    local name=$1
    python3 "$BENCH_DIR/report.py" pgbench "$name" "$OUT/run" >>"$RESULTS"
    rec "$name.load" "$(awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }' "$OUT/run/$name.load")"
    printf '    %-18s %8.0f tps (rounds: %s)\n' "$name" "$(sed -n "s/^$name\.tps\t//p" "$RESULTS")" \
        "$(sed -n "s/^$name\.tps_rounds\t//p" "$RESULTS")" >&2
}
# interleave CLIENTS SECONDS NAME:SCRIPT[:WRAPPER] ...: runs the variants in ROUNDS rounds of
# SECONDS / ROUNDS each, the order rotating from round to round, so that a change in the load
# of the machine falls on every variant alike. WRAPPER (a function) runs the round instead of pgb.
interleave() {
    local clients=$1 total=$2
    shift 2
    local specs=("$@") n=$# secs=$(((total + ROUNDS - 1) / ROUNDS)) r k name script wrapper
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((k = 0; k < n; k++)); do
            IFS=: read -r name script wrapper <<<"${specs[$(((k + r - 1) % n))]}"
            "${wrapper:-pgb}" "$name" "$script" "$clients" "$secs" "$r"
        done
    done
    for spec in "${specs[@]}"; do collect "${spec%%:*}"; done
}
# single CLIENTS SECONDS NAME SCRIPT: one variant, one round.
single() {
    pgb "$3" "$4" "$1" "$2" 1
    collect "$3"
}

# ---- 1. Objects: ls and subtree counts ------------------------------------------------------
log "1. ls and subtree counts (2 clients, ${DURATION} s each)"
interleave 2 "$DURATION" ls.api:ls_api ls.raw:ls_raw ls.ltree:ls_ltree
interleave 2 "$DURATION" count.api:count_api count.raw:count_raw count.ltree:count_ltree count.floor:floor

# ---- 4. near and trace --------------------------------------------------------------------
log "4. near and trace (2 clients, ${SHORT} s each)"
single 2 "$SHORT" near near
single 2 "$SHORT" trace trace
rec near.rows "$(q "select round(avg(n), 1) from (select (select count(*) from arxos.near('bench', l.path, 5.0, 10)) n
                      from bench.located l where l.id <= 200) x")"
IFS='|' read -r tavg tmed tmax < <(q "select round(avg(n), 1), percentile_cont(0.5) within group (order by n), max(n)
    from (select (select count(*) from arxos.trace('bench', s.path, 'downstream', NULL, 10)) n
            from bench.sources s where s.id <= 300) x")
rec trace.rows "$tavg"; rec trace.rows_median "$tmed"; rec trace.rows_max "$tmax"

# ---- 5. Rating (reads) --------------------------------------------------------------------
log "5. rating and recompute_rating"
# The generator and the bulk inserts left rating deltas and events behind, which a shim would
# have folded and sequenced long ago: fold the deltas (rating() then reads only the totals) and
# drop the events.
q "select arxos.fold_ratings(100000000)" >/dev/null
q "truncate arxos.events_pending, arxos.events" >/dev/null
single 1 "$SHORT" rating rating
rec rating.equal "$(q "select case when r.score = c.score and r.grade = c.grade
                                   then 'yes (score ' || r.score || ', grade ' || r.grade || ')'
                                   else 'NO: rating ' || r.score || ' ' || r.grade || ', recompute ' || c.score || ' ' || c.grade end
                         from arxos.rating('bench') r, arxos.recompute_rating('bench') c")"
timed() { # prints the milliseconds psql's \timing reports for one statement
    "${PSQL[@]}" "${DB[@]}" -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
rc=()
for _ in 1 2 3; do rc+=("$(timed "select * from arxos.recompute_rating('bench')")"); done
python3 "$BENCH_DIR/report.py" median recompute "${rc[@]}" >>"$RESULTS"

# ---- Plans, before the writes change the table ----------------------------------------------
EXPLAIN_DIR=$OUT/run/explain
mkdir -p "$EXPLAIN_DIR"
FLOOR=$(q "select path from arxos.objects where building_id = '$BID' and type = 'floor' order by path limit 1")
explain() { # explain NAME SQL...
    local name=$1
    shift
    "${PSQL[@]}" "${DB[@]}" -v building=bench -v bid="$BID" -v p="$FLOOR" "$@" >"$EXPLAIN_DIR/$name.txt" 2>&1
    rec "explain.$name" "$EXPLAIN_DIR/$name.txt"
}
explain count_api -c "explain (analyze, buffers, costs off) select count(*) from arxos.tree('bench', '$FLOOR')"
explain count_raw -c "explain (analyze, buffers, costs off) select count(*) + 1 from arxos.objects
    where building_id = '$BID' and path >= arxos.path_lower('$FLOOR') and path < arxos.path_upper('$FLOOR')"
explain count_ltree -c "explain (analyze, buffers, costs off) select count(*) from bench.lt where path <@ bench.to_ltree('$FLOOR')"
explain ls_api -c "explain (analyze, buffers, costs off) select * from arxos.ls('bench', '$FLOOR')"
explain insert_one -c "begin" -c "explain (analyze, buffers, costs off) insert into arxos.objects
    (building_id, path, type, status, properties, x, y, z, floor)
    values ('$BID', '/network/bench_writes/explain', 'sensor', 'active', '{\"measures\": \"temperature\"}', 1, 2, 3, 1)" -c "rollback"
explain recompute -c "explain (analyze, buffers, costs off) select * from arxos.rating_inputs_scan('$BID')"

# ---- 2. Bulk insert -----------------------------------------------------------------------
log "2. bulk insert of $BULK objects (median of $BULK_RUNS)"
q "select arxos.generate_building('bulksrc', $BULK, $((SEED + 1)))" >/dev/null
q "create table bench.bulk_src as select path, type, status, health, needs_repair, properties, x, y, z, floor
     from arxos.objects where building_id = arxos.building_id('bulksrc')" >/dev/null
q "vacuum analyze bench.bulk_src" >/dev/null
COLS="path, type, status, health, needs_repair, properties, x, y, z, floor"
be=(); bp=()
for ((i = 1; i <= BULK_RUNS; i++)); do
    q "select arxos.create_building('bulk_ext_$i', 'bulk insert $i'), arxos.create_building('bulk_plain_$i', 'bulk insert $i')" >/dev/null
    ms=$(timed "insert into arxos.objects (building_id, $COLS)
        select arxos.building_id('bulk_ext_$i'), $COLS from bench.bulk_src")
    be+=("$(awk "BEGIN { print $ms / 1000 }")")
    ms=$(timed "insert into bench.plain (building_id, $COLS)
        select arxos.building_id('bulk_plain_$i'), $COLS from bench.bulk_src")
    bp+=("$(awk "BEGIN { print $ms / 1000 }")")
    printf '    run %s: extension %.2f s, plain %.2f s\n' "$i" "${be[-1]}" "${bp[-1]}" >&2
done
python3 "$BENCH_DIR/report.py" median bulk.ext "${be[@]}" >>"$RESULTS"
python3 "$BENCH_DIR/report.py" median bulk.plain "${bp[@]}" >>"$RESULTS"
# One more, rolled back, with the trigger times (EXPLAIN ANALYZE) and the slow statements inside
# the triggers (auto_explain, 100 ms and more).
q "select arxos.create_building('bulk_explain', 'bulk insert explained')" >/dev/null
logpos=$(wc -c <"$work/postgres.log")
explain bulk -c "load 'auto_explain'" -c "set auto_explain.log_min_duration = '100ms'" \
    -c "set auto_explain.log_nested_statements = on" -c "begin" \
    -c "explain (analyze, costs off) insert into arxos.objects (building_id, $COLS)
        select arxos.building_id('bulk_explain'), $COLS from bench.bulk_src" -c "rollback"
{
    echo
    echo "Statements inside the triggers that took 100 ms or more (auto_explain):"
    tail -c +$((logpos + 1)) "$work/postgres.log" | awk '
        /duration: [0-9.]+ ms/ { match($0, /duration: [0-9.]+ ms/); d = substr($0, RSTART + 10, RLENGTH - 10); want = 1; next }
        want && /Query Text:/ { sub(/^.*Query Text: */, ""); printf "  %12s  %s\n", d, substr($0, 1, 100); want = 0 }'
} >>"$EXPLAIN_DIR/bulk.txt"

# ---- 3. Single-row writes -----------------------------------------------------------------
log "3. single-row writes, without and with a listener (8 clients, ${DURATION} s each)"
# The bulk inserts left their events in the outbox and their rating deltas; a shim would have
# folded and drained them.
q "select arxos.fold_ratings(100000000)" >/dev/null
q "truncate arxos.events_pending, arxos.events" >/dev/null
q "vacuum analyze arxos.objects, bench.plain, arxos.object_history" >/dev/null
LISTENER=00000000-0000-4000-8000-00000000be01
events_now() { q "select last_id from arxos.event_counter"; }
# An idle LISTEN client that asked for wake-ups: every writing transaction sends a NOTIFY.
idle_listener() {
    local fifo=$OUT/run/listener.fifo lpid
    rm -f "$fifo"
    mkfifo "$fifo"
    "${PSQL[@]}" "${DB[@]}" <"$fifo" >/dev/null 2>&1 &
    lpid=$!
    exec 9>"$fifo"
    echo "LISTEN arxos_events; SELECT arxos.listener_heartbeat('$LISTENER', true, '10 minutes');" >&9
    sleep 0.5
    pgb "$@"
    echo "SELECT arxos.listener_leave('$LISTENER');" >&9
    exec 9>&-
    wait "$lpid" || true
    rm -f "$fifo"
}
# A busy listener: registered without wake-ups, polling the outbox every 5 ms like the shim's.
poller() {
    local name=$1 before ppid
    q "select arxos.listener_heartbeat('$LISTENER', false, '10 minutes')" >/dev/null
    before=$(events_now)
    (cd "$OUT/run" && pgbench -h "$host" -p "$port" -U postgres -n -M prepared -c 1 -T $(($4 + 1)) \
        -D last="$before" -f "$BENCH_DIR/pgbench/poll.sql" bench >"$OUT/run/$name.poller.out" 2>&1) &
    ppid=$!
    BG_PIDS+=("$ppid")
    pgb "$@"
    wait "$ppid" || { tail -5 "$OUT/run/$name.poller.out" >&2; die "the poller failed"; }
    q "select arxos.listener_leave('$LISTENER')" >/dev/null
    echo $(($(events_now) - before)) >>"$OUT/run/$name.events"
}
interleave 8 "$DURATION" write.plain:write_plain write.insert:write_insert write.put:write_put \
    write.insert_wake:write_insert:idle_listener write.insert_poll:write_insert:poller \
    write.put_wake:write_put:idle_listener write.put_poll:write_put:poller
rec write.insert_poll.events "$(awk '{ s += $1 } END { print s }' "$OUT/run/write.insert_poll.events")"
rec write.put_poll.events "$(awk '{ s += $1 } END { print s }' "$OUT/run/write.put_poll.events")"

# profile NAME SCRIPT CLIENTS SECONDS: a run with pg_stat_statements tracking every statement,
# nested ones included, and the statements that took the time.
profile() {
    local name=$1 script=$2 xacts
    q "select pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
    (cd "$OUT/run" && PGOPTIONS="-c pg_stat_statements.track=all -c track_functions=all" pgbench -h "$host" -p "$port" -U postgres \
        -n -M prepared -c "$3" -j 2 -T "$4" -D building=bench -D bid="$BID" -D nids="$NIDS" \
        -f "$BENCH_DIR/pgbench/$script.sql" bench >"$OUT/run/profile.$name.out" 2>&1) \
        || { tail -20 "$OUT/run/profile.$name.out" >&2; die "pgbench profile $name failed"; }
    xacts=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$OUT/run/profile.$name.out")
    sleep 1 # the clients flush their function statistics when they exit
    "${PSQL[@]}" "${DB[@]}" -v xacts="$xacts" -f "$BENCH_DIR/profile.sql" >"$EXPLAIN_DIR/profile_$name.txt"
    rec "explain.profile_$name" "$EXPLAIN_DIR/profile_$name.txt"
}
log "profiles of single-row writes (pg_stat_statements and track_functions, 5 s each)"
profile write_insert write_insert 8 5
profile write_put write_put 8 5
profile update_ext update_ext 8 5

# ---- 5. Rating (the cost of the triggers on updates) ---------------------------------------
log "5. single-row updates (8 clients, ${SHORT} s each)"
q "vacuum analyze arxos.objects, bench.plain, arxos.object_history" >/dev/null
interleave 8 "$SHORT" update.ext:update_ext update.plain:update_plain

rec meta.load_end "$(load1)"
rec meta.runtime_s "$(($(date +%s) - START_S))"
python3 "$BENCH_DIR/report.py" render "$RESULTS" "$DOC"
