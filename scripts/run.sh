#!/usr/bin/env bash
# `make run`: installs what is missing, builds the extension and the server, then hands over to
# scripts/start.sh (the same start-up the Docker image runs).
source "$(dirname "$0")/lib.sh"

PROFILE=${ARXOS_PROFILE:-release}

bash "$ROOT_DIR/scripts/deps.sh"
log "building the extension and the server ($PROFILE)"
if [ "$PROFILE" = release ]; then
    bash "$ROOT_DIR/scripts/install-ext.sh" --release
    (cd "$ROOT_DIR" && cargo build --quiet --release -p arxos_http)
    ARXOS_BIN="$ROOT_DIR/target/release/arxos"
else
    bash "$ROOT_DIR/scripts/install-ext.sh"
    (cd "$ROOT_DIR" && cargo build --quiet -p arxos_http)
    ARXOS_BIN="$ROOT_DIR/target/debug/arxos"
fi

export ARXOS_BIN
exec bash "$ROOT_DIR/scripts/start.sh"
