#!/usr/bin/env bash
# End-to-end tests: real clusters and the real arxos binary on free ports. Expects the
# extension to be installed (make test does it first).
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
# The harness puts its clusters under target/e2e, run as the postgres user when we are root.
mkdir -p "$ROOT_DIR/target/e2e"
pg_reach "$ROOT_DIR/target/e2e"
exec cargo test -p arxos_e2e -- --test-threads="${E2E_THREADS:-2}"
