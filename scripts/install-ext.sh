#!/usr/bin/env bash
# Builds the arxos extension and installs it into the system PostgreSQL 15.
# Usage: scripts/install-ext.sh [--release]
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR/arxos_pg"
SUDO_FLAG=()
if [ "$(id -u)" != 0 ]; then SUDO_FLAG=(--sudo); fi
# In the checkout, not a fixed name in /tmp: another user's file there would refuse the
# redirect, and its tail would be printed as ours.
mkdir -p "$ROOT_DIR/target"
build_log="$ROOT_DIR/target/arxos-install.log"
cargo pgrx install "$@" "${SUDO_FLAG[@]}" --pg-config "$PG_CONFIG" >"$build_log" 2>&1 \
    || { tail -40 "$build_log" >&2; die "building the extension failed (whole log: $build_log)"; }
