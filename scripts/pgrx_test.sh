#!/usr/bin/env bash
# Runs the #[pg_test] tests of the extension (`cargo pgrx test pg15`). PostgreSQL refuses to
# run as root, so as root the test cluster runs as the postgres user; as any other user, as
# that user. Both through sudo.
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR/arxos_pg"
data="$ROOT_DIR/target/pgrx-test-data"
rm -rf "$data"
mkdir -p "$data"
if [ "$(id -u)" = 0 ]; then
    pg_reach "$data"
    chown postgres:postgres "$data"
    exec cargo pgrx test pg15 --runas postgres --pgdata "$data"
else
    # pgrx installs the extension for the tests with `cargo pgrx install --test`, which adds
    # --sudo only with --runas: without it, copying into the root-owned extension directory
    # fails (pgrx issue #1700). The cluster then runs as ourselves, through sudo (which may ask
    # for the password).
    exec cargo pgrx test pg15 --runas "$(id -un)" --pgdata "$data"
fi
