#!/usr/bin/env bash
# The one-row write prototype of bench/analysis.md, section 3 ("The one-row write, measured
# before building it"): 8 writers against the plain table, today's insert trigger (v0) and the
# prototype (v1: history row only, sequenced by transaction id), with and without a poller,
# in interleaved rounds. Needs the extension installed (--release); prints the ratios.
# Usage: bash bench/experiments/one_row_write/run.sh   (OBJECTS, SECS, ROUNDS to change)
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../../scripts/lib.sh"
set -e
SCR=$(mktemp -d /tmp/one-row-write.XXXXXX)
chmod 755 "$SCR"
awk '/^CREATE FUNCTION arxos.objects_after_insert\(\)/,/^\$\$;/' "$ROOT_DIR/sql/02_objects.sql" \
    | sed 's/^CREATE FUNCTION/CREATE OR REPLACE FUNCTION/' >"$SCR/trig_v0.sql"
cp "$HERE"/*.sql "$ROOT_DIR/bench/pgbench/write_insert.sql" "$ROOT_DIR/bench/pgbench/write_plain.sql" "$SCR/"
for v in v0 v1; do sed 's/5 ms/20 ms/' "$SCR/poll_$v.sql" >"$SCR/poll_${v}_20.sql"; done
OBJECTS=${OBJECTS:-100000}; SECS=${SECS:-8}; ROUNDS=${ROUNDS:-4}
work=$SCR/cluster; mkdir -p $work; chmod 755 $work
port=$(free_port)
cluster_init "$work"
cat >>"$work/data/postgresql.conf" <<CONF
shared_buffers = 4GB
work_mem = 32MB
maintenance_work_mem = 1GB
max_wal_size = 16GB
checkpoint_timeout = 30min
random_page_cost = 1.1
jit = off
autovacuum_naptime = 5s
CONF
cluster_start "$work" "$port"
trap 'cluster_stop "$work"; rm -rf "$SCR"' EXIT
P=(psql -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres)
createdb -h "$work" -p "$port" -U postgres bench
q() { "${P[@]}" -d bench -Atc "$1"; }
q "create extension arxos cascade" >/dev/null
q "select arxos.generate_building('bench', $OBJECTS, 42)" >/dev/null
q "truncate arxos.events_pending, arxos.events" >/dev/null
"${P[@]}" -d bench -v building=bench -f "$ROOT_DIR/bench/setup.sql" >/dev/null
q "select arxos.fold_ratings(100000000)" >/dev/null
q "truncate arxos.events_pending, arxos.events" >/dev/null
"${P[@]}" -d bench -f $SCR/v1.sql >/dev/null
BID=$(q "select arxos.building_id('bench')")
q "vacuum analyze"
LISTENER=00000000-0000-4000-8000-00000000be01
run() { # name script trig poll
  set -- "$1" "$2" "$3" "${4:-}"
  "${P[@]}" -d bench -f $SCR/$3.sql >/dev/null
  local ppid=
  if [ -n "$4" ]; then
    q "select arxos.listener_heartbeat('$LISTENER', false, '10 minutes')" >/dev/null
    last=$(q "select coalesce(max(id),0) from arxos.events")
    pgbench -h $work -p $port -U postgres -n -M prepared -c 1 -T $((SECS+1)) -D last=$last -f $SCR/$4.sql bench >$SCR/poll.out 2>&1 &
    ppid=$!
  fi
  tps=$(pgbench -h $work -p $port -U postgres -n -M prepared -c 8 -j 2 -T $SECS -D bid=$BID -f $SCR/$2.sql bench 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  [ -n "$ppid" ] && { wait $ppid || { tail $SCR/poll.out; exit 1; }; }
  echo "$1 $tps" | tee -a $SCR/results.txt
}
: > $SCR/results.txt
VARIANTS=("plain write_plain trig_v0 " "v0 write_insert trig_v0 " "v0poll write_insert trig_v0 poll_v0"
          "v0poll20 write_insert trig_v0 poll_v0_20" "v1 write_insert trig_v1 " "v1poll write_insert trig_v1 poll_v1"
          "v1poll20 write_insert trig_v1 poll_v1_20")
for ((r=0; r<ROUNDS; r++)); do
  for ((k=0; k<${#VARIANTS[@]}; k++)); do
    read -r n s t p <<<"${VARIANTS[$(((k + r) % ${#VARIANTS[@]}))]}"
    run $n $s $t $p
  done
  q "vacuum analyze arxos.events_pending, arxos.rating_deltas" >/dev/null
done
q "select count(*), max(id) from arxos.events"
q "select * from exp.totals where objects <> 0"
python3 - "$SCR/results.txt" <<'PY'
import collections, sys
d=collections.defaultdict(list)
for l in open(sys.argv[1]):
    n,t=l.split(); d[n].append(float(t))
import statistics
p=statistics.median(d['plain'])
for n,v in d.items(): print(n, [round(x) for x in v], 'median', round(statistics.median(v)), 'ratio', round(statistics.median(v)/p,3))
PY
