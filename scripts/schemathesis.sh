#!/usr/bin/env bash
# Property-based API check: schemathesis (PyPI) against /api/openapi.json of a real server on a
# throwaway cluster. Checks: no 5xx, every response conforms to the documented schema. Prints
# "schemathesis: N passed, M failed" (one test per API operation) and exits non-zero on failures.
#
# Needs the arxos extension installed (make install). Env: SCHEMATHESIS_MAX_EXAMPLES (default 20),
# SCHEMATHESIS_ARGS (extra arguments, e.g. --include-path-regex webhooks),
# SCHEMATHESIS_SEED (default 1: runs are reproducible).
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

TARGET=${CARGO_TARGET_DIR:-$ROOT_DIR/target}
WORK=$TARGET/schemathesis
VENV=$WORK/venv
mkdir -p "$WORK"

# Pinned: the options below are schemathesis 4's, and a new release could change its checks.
SCHEMATHESIS_VERSION=4.32.5
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

log "building arxos"
cargo build --quiet -p arxos_http --bin arxos
ARXOS=$TARGET/debug/arxos

DIR=$WORK/cluster-$$
PORT=$(free_port)
HTTP_PORT=$(free_port)
SHIM_PID=
cleanup() {
    if [ -n "$SHIM_PID" ]; then kill "$SHIM_PID" 2>/dev/null || true; wait "$SHIM_PID" 2>/dev/null || true; fi
    # (with its socket directory in /tmp, for a checkout too deep for one in $DIR)
    cluster_remove "$DIR"
}
trap cleanup EXIT

cluster_init "$DIR"
cluster_start "$DIR" "$PORT"
PSQL=("$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE arxos" >/dev/null
"${PSQL[@]}" -d arxos -c "CREATE EXTENSION arxos CASCADE" -c "ALTER ROLE arxos_query LOGIN" \
    -c "SELECT arxos.load_sample()" >/dev/null || die "cannot set up the database (above)"
KEY=$("${PSQL[@]}" -d arxos -c "SELECT key FROM arxos.create_api_key('schemathesis', ARRAY['read','write','admin'])")

DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/arxos" RUST_LOG=warn \
    "$ARXOS" serve --addr "127.0.0.1:$HTTP_PORT" --rate-limit 0 --query-rate-limit 0 --auth-failure-limit 0 \
    >"$WORK/arxos.log" 2>&1 &
SHIM_PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$HTTP_PORT/api/health/live" >/dev/null 2>&1 && break
    kill -0 "$SHIM_PID" 2>/dev/null || break
    sleep 0.1
done
if ! curl -sf "http://127.0.0.1:$HTTP_PORT/api/health/live" >/dev/null 2>&1; then
    tail -50 "$WORK/arxos.log" >&2
    echo "schemathesis: 0 passed, 1 failed"
    die "the server did not start (its log is above)"
fi

JUNIT=$WORK/junit.xml
rm -f "$JUNIT"
log "schemathesis run (max ${SCHEMATHESIS_MAX_EXAMPLES:-20} examples per operation)"
set +e
# GET /api/events is a stream that never ends by itself: it has its own e2e tests.
"$VENV/bin/schemathesis" run "http://127.0.0.1:$HTTP_PORT/api/openapi.json" \
    --header "X-API-Key: $KEY" --exclude-path /api/events ${SCHEMATHESIS_ARGS:-} \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-20}" \
    --phases examples,coverage,fuzzing \
    --request-timeout 10 --seed "${SCHEMATHESIS_SEED:-1}" \
    --report junit --report-junit-path "$JUNIT"
status=$?
set -e

python3 - "$JUNIT" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError) as e:
    print(f"schemathesis: no report ({e})")
    print("schemathesis: 0 passed, 1 failed")
    sys.exit(0)
cases = root.iter("testcase")
passed = failed = 0
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    else:
        passed += 1
print(f"schemathesis: {passed} passed, {failed} failed")
PY
if [ "$status" -ne 0 ]; then
    log "arxos log: $WORK/arxos.log"
fi
exit "$status"
