#!/usr/bin/env bash
# Runs the pg_regress golden suite (pg_regress/) against a throwaway PostgreSQL 15 cluster.
# Expects the extension to be installed. Prints "N passed, M failed" and exits non-zero on
# any failure. Usage: scripts/pg_regress.sh [test ...]
source "$(dirname "$0")/lib.sh"

PGXS_DIR=$(dirname "$("$PG_CONFIG" --pgxs)")/..
PG_REGRESS=$PGXS_DIR/test/regress/pg_regress
PG_ISOLATION=$PGXS_DIR/test/isolation/pg_isolation_regress
[ -x "$PG_REGRESS" ] || die "pg_regress not found at $PG_REGRESS (install postgresql-server-dev-15)"

work=$(mktemp -d "${TMPDIR:-/tmp}/arxos-regress.XXXXXX")
chmod 755 "$work"
port=$(free_port)
out="$ROOT_DIR/pg_regress"
# Its owner, given back at the end: the checkout's (root running a checkout of another user's,
# in CI or under sudo, must not leave it root's; found by a review).
owner=$(stat -c %u:%g "$out")
# pg_regress runs as postgres and reads the checkout.
pg_reach "$out"
cleanup() {
    # Whatever failed: the checkout back to its owner, the cluster stopped.
    if [ "$(id -u)" = 0 ]; then chown -R "$owner" "$out" 2>/dev/null || true; fi
    cluster_remove "$work"
}
trap cleanup EXIT
cluster_init "$work"
# (the socket: in $work, or in /tmp when $work's path is too long for one)
host=$(socket_dir "$work")
cluster_start "$work" "$port"
# A collation other than the cluster's C.UTF-8, as most production databases have: what the
# functions promise in byte order (paths) must not depend on it.
as_pg "$PG_BIN/createdb" -h "$host" -p "$port" -U postgres --template=template0 \
    --locale-provider=icu --icu-locale=und arxos_regress

rm -rf "$out/results" "$out/regression.diffs" "$out/regression.out"
if [ "$(id -u)" = 0 ]; then chown -R postgres "$out"; fi
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
    mapfile -t tests < <(grep -v '^\s*#' "$out/schedule" | sed '/^\s*$/d')
fi
set +e
as_pg "$PG_REGRESS" --host="$host" --port="$port" --user=postgres --use-existing \
    --dbname=arxos_regress \
    --inputdir="$out" --outputdir="$out" "${tests[@]}" >"$work/pg_regress.out" 2>&1
status=$?
set -e
# Concurrency specs (isolationtester): the outbox's out-of-order commits.
iso="$out/isolation"
rm -rf "$iso/results" "$iso/regression.diffs" "$iso/regression.out"
if [ "$(id -u)" = 0 ]; then chown -R postgres "$iso"; fi
mapfile -t specs < <(grep -v '^\s*#' "$iso/schedule" | sed '/^\s*$/d')
set +e
# (A failing set-up counts as a failed suite; the output so far is still shown below.)
as_pg "$PG_BIN/createdb" -h "$host" -p "$port" -U postgres arxos_isolation >>"$work/pg_regress.out" 2>&1 &&
    as_pg "$PG_BIN/psql" -X -q -h "$host" -p "$port" -U postgres -d arxos_isolation \
        -c "CREATE EXTENSION arxos CASCADE" >>"$work/pg_regress.out" 2>&1 &&
    (cd "$iso" && as_pg "$PG_ISOLATION" --host="$host" --port="$port" --user=postgres --use-existing \
        --dbname=arxos_isolation --inputdir="$iso" --outputdir="$iso" "${specs[@]}") >>"$work/pg_regress.out" 2>&1
iso_status=$?
set -e
[ "$iso_status" -eq 0 ] || status=1
if [ -f "$iso/regression.diffs" ]; then head -200 "$iso/regression.diffs"; fi
cat "$work/pg_regress.out"
failed=$(grep -cE '^(not ok|test .* \.\.\. FAILED)' "$work/pg_regress.out" || true)
passed=$(grep -cE '^(ok|test .* \.\.\. ok)' "$work/pg_regress.out" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ -f "$out/regression.diffs" ]; then head -200 "$out/regression.diffs"; fi
echo "pg_regress: $passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
