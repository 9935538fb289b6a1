#!/usr/bin/env bash
# Builds the arxos extension and installs it into the system PostgreSQL 15 (or the one
# $PG_CONFIG names).
# Usage: scripts/install-ext.sh [--release]
#
# Each file is written beside its destination and renamed over it, never copied onto it:
# running backends have the old arxos.so mapped, and overwriting it in place killed them
# (SIGBUS, and the postmaster's crash recovery of every session of every cluster using it:
# found by a review); a rename leaves them the old file and gives new sessions the new one.
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR/arxos_pg"
profile=(--debug)
case "${1:-}" in
    --release) profile=() ;;
    '') ;;
    *) die "install-ext.sh takes only --release, got: $*" ;;
esac
as_root=()
if [ "$(id -u)" != 0 ]; then as_root=(sudo); fi
# In the checkout, not a fixed name in /tmp: another user's file there would refuse the
# redirect, and its tail would be printed as ours.
mkdir -p "$ROOT_DIR/target"
build_log="$ROOT_DIR/target/arxos-install.log"
package="$ROOT_DIR/target/arxos-package"
rm -rf "$package"
cargo pgrx package "${profile[@]}" --pg-config "$PG_CONFIG" --out-dir "$package" >"$build_log" 2>&1 \
    || { tail -40 "$build_log" >&2; die "building the extension failed (whole log: $build_log)"; }
# The install script and control file first, the library last (a session that starts in
# between loads the old library and the new script, which arxos.schema_problem() tells).
mapfile -t files < <(cd "$package" && { find . -type f ! -name '*.so'; find . -type f -name '*.so'; })
[ "${#files[@]}" -gt 0 ] || die "cargo pgrx package wrote no files into $package"
for file in "${files[@]}"; do
    dest="/${file#./}"
    mode=0644
    case "$dest" in *.so) mode=0755 ;; esac
    "${as_root[@]}" mkdir -p "$(dirname "$dest")"
    tmp="$(dirname "$dest")/.$(basename "$dest").$$.new"
    "${as_root[@]}" install -m "$mode" "$package/${file#./}" "$tmp" \
        && "${as_root[@]}" mv -f "$tmp" "$dest" \
        || { "${as_root[@]}" rm -f "$tmp"; die "installing $dest failed"; }
done
log "installed the extension ($([ ${#profile[@]} -eq 0 ] && echo release || echo debug)) into $("$PG_CONFIG" --pkglibdir)"
