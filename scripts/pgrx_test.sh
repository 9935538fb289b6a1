#!/usr/bin/env bash
# Runs the #[pg_test] tests of the extension (`cargo pgrx test pg15`). PostgreSQL refuses to
# run as root, so as root the test cluster runs as the postgres user (needs sudo).
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR/arxos_pg"
if [ "$(id -u)" = 0 ]; then
    data="$ROOT_DIR/target/pgrx-test-data"
    rm -rf "$data"
    mkdir -p "$data"
    pg_reach "$data"
    chown postgres:postgres "$data"
    exec cargo pgrx test pg15 --runas postgres --pgdata "$data"
else
    exec cargo pgrx test pg15
fi
