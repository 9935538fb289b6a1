#!/usr/bin/env bash
# Builds the arxos extension and installs it into the system PostgreSQL 15.
# Usage: scripts/install-ext.sh [--release]
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR/arxos_pg"
SUDO_FLAG=()
if [ "$(id -u)" != 0 ]; then SUDO_FLAG=(--sudo); fi
cargo pgrx install "$@" "${SUDO_FLAG[@]}" --pg-config "$PG_CONFIG" >"${TMPDIR:-/tmp}/arxos-install.log" 2>&1 \
    || { tail -40 "${TMPDIR:-/tmp}/arxos-install.log" >&2; die "building the extension failed"; }
