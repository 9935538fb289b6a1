#!/usr/bin/env bash
# End-to-end tests: real clusters and the real arxos binary on free ports. Expects the
# extension to be installed (make test does it first).
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
exec cargo test -p arxos_e2e -- --test-threads="${E2E_THREADS:-2}"
