#!/usr/bin/env bash
# Starts ArxOS from installed pieces: the private PostgreSQL 15 cluster under $ARXOS_DIR
# (default .arxos/, port $ARXOS_PG_PORT or 5433), database arxos with the extension and the
# sample building, a development API key, $ARXOS_DIR/env, then `arxos serve` in the foreground.
# Ctrl-C or SIGTERM stops the server, and the cluster unless it was running before (a second
# start on the same directory); the data stays for the next start.
# Used by `make run` (after building) and as the Docker image's entrypoint.
source "$(dirname "$0")/lib.sh"
# (the Docker image's `docker run arxos serve --pool-size 4` was dropped without a word; found
# by a review)
# (Their number only: an argument may hold a password, --database-url postgres://u:pw@…, and
# this message goes to docker logs; found by an audit.)
[ $# -eq 0 ] || die "start.sh takes no arguments (given $#): configure the server with its environment variables (docs/operations.md), e.g. docker run -e ARXOS_POOL_SIZE=4 …"

ARXOS_DIR=${ARXOS_DIR:-$ROOT_DIR/.arxos}
PG_PORT=${ARXOS_PG_PORT:-5433}
HTTP_ADDR=${ARXOS_HTTP_ADDR:-127.0.0.1:3000}
ARXOS_BIN=${ARXOS_BIN:-$(command -v arxos || true)}
[ -x "$ARXOS_BIN" ] || die "the arxos binary was not found (set ARXOS_BIN)"
# The env file names the server's address, so it must be a fixed one (`arxos serve` itself
# takes port 0 and logs the port it got), and one `arxos serve` takes: a numeric IPv4 address
# or a bracketed IPv6 one (no host name), and a port from 1 to 65535. Checked here, before the
# cluster starts (found by a review: `localhost:3000` and port 70000 failed only then).
HTTP_PORT=${HTTP_ADDR##*:}
PROBE_HOST=${HTTP_ADDR%:*}
# (no leading zero in an octet: `arxos serve` refuses 127.0.0.01; found by a review)
octet='(0|[1-9][0-9]{0,2})'
ipv4="^$octet\\.$octet\\.$octet\\.$octet\$"
if [[ $PROBE_HOST =~ $ipv4 ]]; then
    for part in "${BASH_REMATCH[@]:1}"; do
        [ $((10#$part)) -le 255 ] || PROBE_HOST=bad
    done
elif [[ $PROBE_HOST =~ ^\[[0-9A-Fa-f:.]+\]$ ]]; then
    PROBE_HOST=${PROBE_HOST#[}
    PROBE_HOST=${PROBE_HOST%]}
else
    PROBE_HOST=bad
fi
if [ "$PROBE_HOST" = bad ] || [[ ! $HTTP_PORT =~ ^[0-9]{1,5}$ ]] \
    || [ $((10#$HTTP_PORT)) -lt 1 ] || [ $((10#$HTTP_PORT)) -gt 65535 ]; then
    die "ARXOS_HTTP_ADDR must be a numeric address and a port of its own, 1 to 65535 (127.0.0.1:3000, 0.0.0.0:3000, [::1]:3000), not $HTTP_ADDR: the env file names it"
fi
HTTP_PORT=$((10#$HTTP_PORT))
# Where to knock to see that something listens: a wildcard address is reached on loopback
# (only there: another program on another of the host's addresses is the server's to find).
case $PROBE_HOST in
    0.0.0.0) PROBE_HOST=127.0.0.1 ;;
    ::) PROBE_HOST=::1 ;;
esac
# The URL the env file and the banner give.
case $PROBE_HOST in
    *:*) SERVER_URL="http://[$PROBE_HOST]:$HTTP_PORT" ;;
    *) SERVER_URL="http://$PROBE_HOST:$HTTP_PORT" ;;
esac
# http_listens: true when something accepts connections on HTTP_ADDR (within 2 s: an address
# of another host would hang the connect for minutes).
http_listens() {
    timeout --foreground 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$PROBE_HOST" "$HTTP_PORT" 2>/dev/null
}
# Before anything starts: the server would fail to bind, after the cluster started and the env
# file named another program's address (found by a review).
! http_listens || die "something already listens on $HTTP_ADDR: stop it, or set ARXOS_HTTP_ADDR to another address"

log "starting PostgreSQL 15 in $ARXOS_DIR on port $PG_PORT"
cluster_init "$ARXOS_DIR"
# A cluster already running (another `make run` of this directory, or one left behind) is used
# and left running: stopping it on the way out would pull the database from under its owner.
STARTED_PG=1
if as_pg "$PG_BIN/pg_ctl" -D "$ARXOS_DIR/data" status >/dev/null 2>&1; then
    STARTED_PG=0
    log "PostgreSQL already runs in $ARXOS_DIR: using it, and leaving it running afterwards"
fi
# How long the server may take to stop once signalled: its grace period (docs/operations.md,
# "Graceful shutdown"), plus a margin for closing its connections.
grace=${ARXOS_SHUTDOWN_GRACE:-10}
case $grace in '' | *[!0-9]*) grace=10 ;; esac
STOP_WAIT=$((10#$grace + 10))

# wait_server SECONDS: true once the server has exited, false if it still runs after SECONDS.
# (bash reaps it as soon as it exits, so kill -0 does not see a zombie for long.)
wait_server() {
    local ticks=$(($1 * 5))
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        [ "$ticks" -gt 0 ] || return 1
        ticks=$((ticks - 1))
        sleep 0.2
    done
    wait "$SERVER_PID" 2>/dev/null || true
}

# in_terminal_foreground: true when this script is in its terminal's foreground process group,
# so that a Ctrl-C there reached the server too (it is in our group: no job control here).
in_terminal_foreground() {
    local stat fields
    { read -r stat <"/proc/$$/stat"; } 2>/dev/null || return 1
    # after the command name: state ppid pgrp session tty_nr tpgid
    read -r -a fields <<<"${stat##*) }"
    [ "${fields[5]:-0}" -gt 0 ] && [ "${fields[2]}" = "${fields[5]}" ]
}

# stop_all INT|TERM|EXIT: stops the server, then the cluster if this script started it.
# The server takes a second signal as "stop now, skip the grace period". After a Ctrl-C it
# already has its SIGINT (signal handlers override the SIGINT that bash ignores for `&`
# commands), so it is only waited for; otherwise (SIGTERM from `docker stop`, SIGINT sent to
# this script alone while it is not in a terminal's foreground, an exit) it gets one SIGTERM.
# (A SIGINT sent to this script alone while it is in the foreground is taken for a Ctrl-C: the
# server gets its SIGTERM only when the wait below runs out.) One that still runs after the grace period
# is sent SIGTERM, then SIGKILL: neither it nor the cluster may outlive this script.
stop_all() {
    local why=$1
    # A second Ctrl-C reaches the server by itself; this clean-up must not be cut short.
    trap '' INT TERM
    trap - EXIT
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        if [ "$why" = INT ] && in_terminal_foreground; then
            log "waiting for the server to finish (up to ${STOP_WAIT}s; Ctrl-C again stops it now)"
            if ! wait_server "$STOP_WAIT"; then
                log "the server is still running: sending SIGTERM"
                kill -TERM "$SERVER_PID" 2>/dev/null || true
            fi
        else
            kill -TERM "$SERVER_PID" 2>/dev/null || true
        fi
        if ! wait_server "$STOP_WAIT"; then
            log "the server did not stop: killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
            wait "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    if [ "$STARTED_PG" = 1 ]; then
        log "stopping PostgreSQL"
        cluster_stop "$ARXOS_DIR"
    fi
    case $why in
        INT) exit 130 ;;
        TERM) exit 143 ;;
    esac
}
trap 'stop_all INT' INT
trap 'stop_all TERM' TERM
trap 'stop_all EXIT' EXIT
# (the traps first: a Ctrl-C during a slow start, crash recovery say, stops the cluster it
# started, which would otherwise run on and be taken for another's next time; found by a review)
cluster_start "$ARXOS_DIR" "$PG_PORT"

SOCKET_DIR=$(socket_dir "$ARXOS_DIR")
PSQL=(as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PG_PORT" -U postgres)
if ! "${PSQL[@]}" -d postgres -Atc "select 1 from pg_database where datname = 'arxos'" | grep -q 1; then
    as_pg "$PG_BIN/createdb" -h "$SOCKET_DIR" -p "$PG_PORT" -U postgres arxos
fi
# The sample building comes with the extension's first creation only: one deleted since stays
# deleted (found by a review: every start made b42 again).
NEW_EXTENSION=$("${PSQL[@]}" -d arxos -Atc "select count(*) = 0 from pg_extension where extname = 'arxos'")
# Without a pipe, so that a failure stops the script here, with PostgreSQL's words (found by a
# review: `| grep -v NOTICE || true` let it go on to fail later on a missing role).
"${PSQL[@]}" -d arxos -c "SET client_min_messages = warning" \
    -c "CREATE EXTENSION IF NOT EXISTS arxos CASCADE" -c "ALTER EXTENSION arxos UPDATE"
# What docs/bi.md advises for a database whose readers may write nothing: no temporary tables
# (without them no role of the extension's can make a trigger of its own, so the history
# guards hold against arxos_api too: docs/security.md) and no large objects. No role of the
# extension needs either (found by a review: this cluster left PUBLIC its TEMPORARY).
"${PSQL[@]}" -d arxos -c "REVOKE TEMPORARY ON DATABASE arxos FROM PUBLIC" \
    -c "REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid), pg_catalog.lo_from_bytea(oid, bytea), pg_catalog.lo_import(text), pg_catalog.lo_import(text, oid) FROM PUBLIC"
# POST /api/query logs in as its own role (docs/security.md); this private cluster trusts
# local connections, so the role needs only LOGIN.
"${PSQL[@]}" -d arxos -c "ALTER ROLE arxos_query LOGIN"
# The shim logs in as postgres here: statement logging (if a developer turns it on) must not
# write the API keys it passes as parameters (docs/security.md), as for arxos_authenticator.
"${PSQL[@]}" -d arxos -c "ALTER ROLE postgres SET log_parameter_max_length = 0" \
    -c "ALTER ROLE postgres SET log_parameter_max_length_on_error = 0"
if [ "$NEW_EXTENSION" = t ] && [ "$("${PSQL[@]}" -d arxos -Atc "select arxos.load_sample()")" = t ]; then
    log "loaded the sample building b42"
fi

DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/arxos"
ENV_FILE="$ARXOS_DIR/env"
API_KEY=""
if [ -f "$ENV_FILE" ]; then
    API_KEY=$(sed -n 's/^ARXOS_API_KEY=//p' "$ENV_FILE")
fi
# Checked by its SHA-256, as the table stores it: the key itself would be in the statement's
# text (psql pastes variables into it), so in a server log that logs statements, and on psql's
# command line, which every user sees in `ps` (found by an audit).
key_is_valid() {
    [ -n "$API_KEY" ] || return 1
    local hash
    hash=$(printf '%s' "$API_KEY" | sha256sum | cut -d' ' -f1)
    [ -n "$(echo "select id from arxos.api_keys where key_hash = decode(:'hash', 'hex') and revoked_at is null" \
        | "${PSQL[@]}" -d arxos -At -v hash="$hash" 2>/dev/null)" ]
}
if ! key_is_valid; then
    API_KEY=$(DATABASE_URL="$DATABASE_URL" "$ARXOS_BIN" keys create --name development \
        --scope read --scope write --scope admin --owner developer | sed -n 's/^key: *//p')
    [ -n "$API_KEY" ] || die "could not create the development API key"
    log "created a development API key (read, write, admin)"
fi
umask 077
# A second server on a cluster another start runs keeps the first one's env file: its own goes
# beside it, named by its port (found by a review: the first server's file named the second's
# address, dead once that one stopped).
ENV_OUT=$ENV_FILE
if [ "$STARTED_PG" = 0 ] && [ -f "$ENV_FILE" ] \
    && ! grep -qxF "ARXOS_URL=$SERVER_URL" "$ENV_FILE"; then
    ENV_OUT="$ENV_FILE-$HTTP_PORT"
    log "$ENV_FILE names another server of this cluster: this one's settings go to $ENV_OUT"
fi
STOPS="the server and the database"
[ "$STARTED_PG" = 1 ] || STOPS="the server (the database was running before and goes on)"

DATABASE_URL="$DATABASE_URL" ARXOS_HTTP_ADDR="$HTTP_ADDR" "$ARXOS_BIN" serve &
SERVER_PID=$!
# The env file and the banner once the server listens, so that they never name an address
# where no ArxOS answers: a server that exits first (it cannot bind, say) says why and leaves
# them unwritten. The file is written whole, then renamed into place.
ticks=150
until http_listens; do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    ticks=$((ticks - 1))
    if [ "$ticks" -eq 0 ]; then
        log "the server does not listen on $HTTP_ADDR after 30 s: the env file waits until it does"
    fi
    sleep 0.2
done
if kill -0 "$SERVER_PID" 2>/dev/null; then
    cat >"$ENV_OUT.tmp" <<ENV
DATABASE_URL=$DATABASE_URL
ARXOS_URL=$SERVER_URL
ARXOS_API_KEY=$API_KEY
ENV
    mv -f "$ENV_OUT.tmp" "$ENV_OUT"
    cat <<MSG

  ArxOS is serving on $SERVER_URL (PostgreSQL on 127.0.0.1:$PG_PORT).
  In another terminal:
    set -a; . $ENV_OUT; set +a
    curl -s "\$ARXOS_URL/api/health"
    curl -s -H "X-API-Key: \$ARXOS_API_KEY" "\$ARXOS_URL/api/buildings/b42/ls/electrical"
    psql "\$DATABASE_URL" -c "select * from arxos.ls('b42', '/electrical')"
    $ARXOS_BIN shell --building b42
  Ctrl-C stops $STOPS.

MSG
fi
wait "$SERVER_PID"
