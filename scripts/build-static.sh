#!/usr/bin/env bash
# Builds a fully static Linux binary of aks-authorized-ips for
# x86_64-unknown-linux-musl (or the musl TARGET given, built natively: the
# release workflow builds aarch64-unknown-linux-musl on an arm64 runner),
# checks that it is static, runs it once and prints its size.
#
# Usage: scripts/build-static.sh [TARGET]
# Needs rustup; installs the musl target and, when missing, Debian's
# musl-tools (as root, or through sudo when that works without a password).
# Honours CARGO_TARGET_DIR. Prints the binary's path on the last line.
set -euo pipefail

TARGET=${1:-x86_64-unknown-linux-musl}
BIN=aks-authorized-ips

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

command -v rustup >/dev/null 2>&1 || die "rustup is needed to add the $TARGET target"
if ! rustup target list --installed | grep -qx "$TARGET"; then
    log "==> rustup target add $TARGET"
    rustup target add "$TARGET"
fi

if ! command -v musl-gcc >/dev/null 2>&1; then
    log "==> installing musl-tools (musl-gcc)"
    if command -v apt-get >/dev/null 2>&1; then
        if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            || ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools; then
            die "cannot install musl-tools: run 'apt-get install musl-tools' as root"
        fi
    else
        die "musl-gcc not found and apt-get is not available: install musl-tools"
    fi
fi

log "==> cargo build --release --locked --target $TARGET"
cargo build --release --locked --target "$TARGET"

target_dir=${CARGO_TARGET_DIR:-target}
binary="$target_dir/$TARGET/release/$BIN"
[ -x "$binary" ] || die "no binary at $binary"

# Static means: no PT_INTERP program header (no dynamic loader) and no
# DT_NEEDED entry (no shared library). readelf comes with binutils, which gcc
# pulls in; python3 reads the ELF headers itself when readelf is missing.
is_static() {
    local file=$1
    if command -v readelf >/dev/null 2>&1; then
        if readelf -lW "$file" | grep -q 'INTERP'; then
            return 1
        fi
        if readelf -dW "$file" 2>/dev/null | grep -q '(NEEDED)'; then
            return 1
        fi
        return 0
    fi
    python3 - "$file" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    data = f.read()
if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
    sys.exit("not a 64-bit little-endian ELF file")
phoff, = struct.unpack_from("<Q", data, 0x20)
phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
dynamic = None
for i in range(phnum):
    p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
    if p_type == 3:  # PT_INTERP
        sys.exit(1)
    if p_type == 2:  # PT_DYNAMIC
        dynamic = (p_offset, p_filesz)
if dynamic:
    off, size = dynamic
    for j in range(0, size, 16):
        tag, = struct.unpack_from("<q", data, off + j)
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            sys.exit(1)
PY
}

if is_static "$binary"; then
    log "==> $binary is static (no dynamic loader, no shared libraries)"
else
    die "$binary is not static: it names a dynamic loader or shared libraries"
fi

log "==> $binary --version"
"$binary" --version >&2

size=$(stat -c %s "$binary")
mib=$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }')
log "==> size: $size bytes ($mib MiB)"
printf '%s\n' "$binary"
