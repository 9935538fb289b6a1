#!/usr/bin/env bash
# Installs what building, running and testing ArxOS needs on Debian 12, and nothing twice:
# a second run with everything present takes well under a second.
source "$(dirname "$0")/lib.sh"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

APT_PACKAGES=(postgresql-15 postgresql-contrib postgresql-server-dev-15 postgresql-15-postgis-3
              libclang-dev clang pkg-config libssl-dev sudo python3 python3-venv curl)
# Extra packages a caller needs (make bench: wrk), space-separated.
read -r -a extra <<<"${DEPS_EXTRA:-}"
APT_PACKAGES+=("${extra[@]}")

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts a system cluster on 5432 when postgresql-15 is installed; ours are private, so
# leave that one alone: nothing here depends on it.

# The toolchain: the locked dependencies need Rust 1.95 (Cargo.toml's rust-version); an older
# one fails deep inside the build with a message about one crate, so say it here.
RUST_MIN=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$ROOT_DIR/Cargo.toml")
rust_have=$(rustc --version 2>/dev/null | awk '{print $2}' || true)
if [ -z "$rust_have" ]; then
    die "no Rust toolchain: install one with rustup (https://rustup.rs), $RUST_MIN or newer"
fi
if [ "$(printf '%s\n%s\n' "$RUST_MIN" "${rust_have%%-*}" | sort -V | head -1)" != "$RUST_MIN" ]; then
    die "Rust $rust_have is too old: the locked dependencies need $RUST_MIN or newer (rustup update)"
fi

PGRX_VERSION=0.18.1
if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
    log "installing cargo-pgrx $PGRX_VERSION (a few minutes, once)"
    cargo install cargo-pgrx --version "$PGRX_VERSION" --locked >/dev/null
fi
PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
if ! grep -qs "^pg15 = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml"; then
    log "cargo pgrx init --pg15 $PG_CONFIG"
    cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
fi
