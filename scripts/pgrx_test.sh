#!/usr/bin/env bash
# Runs the #[pg_test] tests of the extension (`cargo pgrx test pg15`). PostgreSQL refuses to
# run as root, so as root the test cluster runs as the postgres user; as any other user, as
# that user. Both through sudo.
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR/arxos_pg"
# In /tmp, not in the checkout: pgrx puts the cluster's socket next to its data directory, and
# a socket's path is limited to 107 bytes (a checkout deeper than 70 bytes failed with "could
# not create any Unix-domain sockets"; found by a review).
scratch=$(mktemp -d /tmp/arxos-pgrx.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
data="$scratch/data"
mkdir -p "$data"
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$scratch" "$data"
    cargo pgrx test pg15 --runas postgres --pgdata "$data"
else
    # pgrx installs the extension for the tests with `cargo pgrx install --test`, which adds
    # --sudo only with --runas: without it, copying into the root-owned extension directory
    # fails (pgrx issue #1700). The cluster then runs as ourselves, through sudo (which may ask
    # for the password).
    cargo pgrx test pg15 --runas "$(id -un)" --pgdata "$data"
fi
