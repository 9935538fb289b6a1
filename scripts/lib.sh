# Shared helpers for the ArxOS scripts. Source it; do not run it.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as the user that owns PostgreSQL data: `postgres` when we are root
# (PostgreSQL refuses to run as root), ourselves otherwise.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pg_reach DIR: as root, makes sure the postgres user can reach DIR (its clusters live there):
# every existing ancestor it cannot traverse is opened for traversal (not reading), and stays
# so. Needed when the checkout sits in a root-only directory such as /root or one from
# `mktemp -d`. An ACL entry for postgres alone where setfacl works; otherwise the others'
# execute bit, which lets every user through. Each change is logged with its undo
# (docs/development.md, "The private cluster").
pg_reach() {
    [ "$(id -u)" = 0 ] || return 0
    local d dirs=()
    d=$(realpath -m "$1")
    while [ "$d" != / ]; do
        dirs=("$d" "${dirs[@]}")
        d=$(dirname "$d")
    done
    # From the top down: `test -x` fails below any ancestor postgres cannot pass, so only
    # with the ancestors open does it tell which directory itself is closed.
    for d in "${dirs[@]}"; do
        if [ -d "$d" ] && ! runuser -u postgres -- test -x "$d"; then
            if command -v setfacl >/dev/null && setfacl -m u:postgres:x "$d" 2>/dev/null \
                && runuser -u postgres -- test -x "$d"; then
                log "let the postgres user traverse $d (setfacl -m u:postgres:x; undo: setfacl -x u:postgres $d)"
            else
                chmod o+x "$d"
                log "let every user traverse $d (chmod o+x; undo: chmod o-x $d)"
            fi
        fi
    done
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# socket_dir DIR: where the cluster in DIR keeps its Unix socket. A cluster made before keeps
# the directory its postgresql.conf names. Otherwise DIR itself, or, when DIR's path is too long
# for a socket (PostgreSQL's limit is 107 bytes, `/.s.PGSQL.` and a port of up to 5 digits
# included: a checkout in a deep CI workspace passes it), a short directory in /tmp named after
# DIR (made, and checked, by cluster_start).
socket_dir() {
    local dir=$1 conf="$1/data/postgresql.conf" named=""
    if [ -r "$conf" ]; then
        named=$(sed -n "s/^unix_socket_directories = '\(.*\)'\$/\1/p" "$conf" | tail -1)
    fi
    if [ -n "$named" ]; then
        printf '%s\n' "$named"
    elif [ $(( $(printf '%s' "$dir" | wc -c) + 15 )) -le 107 ]; then
        printf '%s\n' "$dir"
    else
        printf '/tmp/arxos-%s\n' "$(printf '%s' "$dir" | sha1sum | cut -c1-16)"
    fi
}

# cluster_init DIR: creates a PostgreSQL 15 cluster in DIR/data (owned by postgres when root).
cluster_init() {
    local dir=$1
    mkdir -p "$dir"
    # As root the cluster's directory is postgres's: handed over when it is empty (a fresh
    # volume's lost+found aside) or already postgres's (through a symlink too), never a
    # directory of someone else's with things in it (found by a review: a mistyped
    # ARXOS_DIR=/srv would have been given to postgres without a word). Checked before
    # pg_reach opens the way to it.
    if [ "$(id -u)" = 0 ] && [ "$(stat -L -c %U "$dir")" != postgres ]; then
        [ -z "$(find -L "$dir" -mindepth 1 -maxdepth 1 ! -name lost+found -print -quit)" ] \
            || die "$dir is not empty and belongs to $(stat -L -c %U "$dir"), not postgres: name an empty or new directory (ARXOS_DIR), or chown -R postgres: '$dir' yourself if it is the cluster's"
        chown postgres:postgres "$dir"
    fi
    pg_reach "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        cat >>"$dir/data/postgresql.conf" <<CONF
# ArxOS private cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$(socket_dir "$dir")'
shared_buffers = 256MB
max_connections = 200
idle_in_transaction_session_timeout = '10min'
# the outbox queues churn; see docs/operations.md, "Queue tables and autovacuum"
autovacuum_naptime = '5s'
log_min_messages = warning
CONF
    fi
}

# cluster_start DIR PORT: starts the cluster (no-op when it already runs).
cluster_start() {
    local dir=$1 port=$2 sock
    if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then return 0; fi
    sock=$(socket_dir "$dir")
    if [ "$sock" != "$dir" ]; then
        # A predictable name in /tmp: made here (mode 0700), or, when it is there already, used
        # only if it is a real directory of the cluster's owner, never a symlink someone planted.
        local owner
        owner=$(if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi)
        if [ ! -e "$sock" ] && [ ! -L "$sock" ]; then
            mkdir -m 0700 "$sock" || die "cannot make the socket directory $sock"
            if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$sock"; fi
        fi
        if [ -L "$sock" ] || [ ! -d "$sock" ] || [ "$(stat -c %U "$sock")" != "$owner" ] \
            || [ "$(stat -c %a "$sock")" != 700 ]; then
            die "$sock is not a directory of $owner's alone (mode 0700): remove it, or use a shorter ARXOS_DIR"
        fi
    fi
    # Without RUST_BACKTRACE: with it, pgrx attaches a Rust backtrace to the DETAIL of the
    # PostgreSQL errors raised inside the extension's Rust code, which clients then see.
    as_pg env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port" start >/dev/null || { tail -20 "$dir/postgres.log" >&2 || true; die "PostgreSQL did not start on port $port (the log above says why; a port another server holds: make run takes ARXOS_PG_PORT)"; }
}

# cluster_stop DIR
cluster_stop() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

# cluster_remove DIR: stops a scratch cluster and removes it, with its socket directory when
# that is in /tmp (socket_dir: DIR's path was too long for a socket).
cluster_remove() {
    local dir=$1 sock
    sock=$(socket_dir "$dir")
    cluster_stop "$dir"
    rm -rf "$dir"
    if [ "$sock" != "$dir" ]; then rm -rf "$sock"; fi
}

# require_release_ext: stops when the installed extension is a debug build. The benchmarks
# measure the release build; `make test` installs a debug one (with debug assertions, several
# times slower in the Rust functions).
require_release_ext() {
    local so
    so="$("$PG_CONFIG" --pkglibdir)/arxos.so"
    [ -f "$so" ] || die "the arxos extension is not installed: bash scripts/install-ext.sh --release"
    if command -v readelf >/dev/null && readelf -S "$so" | grep -q '\.debug_info'; then
        die "the installed arxos extension is a debug build; install the release build first: bash scripts/install-ext.sh --release (make bench does)"
    fi
}
