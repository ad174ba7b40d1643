#!/usr/bin/env bash
# Installs the aks-authorized-ips binary for the GitHub Action (action.yml).
#
# Downloads the release asset for this runner's OS and architecture and
# verifies its SHA-256 against the checksum list kept in the action's own
# repository (checksums/v<version>.sha256), not against a file that comes with
# the release: whoever could replace a release asset could replace the
# release's checksum file too. A missing list, a missing entry or a mismatch
# stops the action.
#
# Environment (set by action.yml through env:, never pasted into the script):
#   INPUT_VERSION   release to install (0.1.0 or v0.1.0); empty: the version in
#                   $GITHUB_ACTION_PATH/.github/aks-authorized-ips-version
#   INPUT_BINARY    a binary to use instead (no download, no checksum check)
#   RUNNER_OS       Linux, macOS or Windows
#   RUNNER_ARCH     X64 or ARM64
#   RUNNER_TEMP     where the binary goes (a temp folder when unset)
#   GITHUB_OUTPUT   receives binary=<path>
#   GITHUB_ACTION_PATH  the action's folder (default: two folders up from here)
#   AKS_AUTHORIZED_IPS_DOWNLOAD_BASE  base URL of the releases (tests); the
#                   asset is fetched from <base>/v<version>/<asset>
#   AKS_AUTHORIZED_IPS_REPOSITORY     owner/name of the action's repository
#                   when it cannot be read from GITHUB_ACTION_PATH
set -euo pipefail

die() {
    if [ "${GITHUB_ACTIONS:-}" = true ]; then
        printf '::error title=aks-authorized-ips::%s\n' "$*"
    else
        printf 'error: %s\n' "$*" >&2
    fi
    exit 1
}
log() { printf '%s\n' "$*"; }

action_path=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
output=${GITHUB_OUTPUT:-/dev/null}

# A prebuilt binary (this repository's self-test): no download, no check.
if [ -n "${INPUT_BINARY:-}" ]; then
    # Git Bash on Windows: a path written with backslashes.
    if [ "${RUNNER_OS:-}" = Windows ]; then INPUT_BINARY=${INPUT_BINARY//\\//}; fi
    [ -f "$INPUT_BINARY" ] || die "binary input: no file at '$INPUT_BINARY'"
    binary="$(cd "$(dirname "$INPUT_BINARY")" && pwd)/$(basename "$INPUT_BINARY")"
    log "using the binary given in the 'binary' input: $binary (no download, no checksum check)"
    "$binary" --version
    printf 'binary=%s\n' "$binary" >>"$output"
    exit 0
fi

# The version: the input, else the one this release of the action pins.
version=${INPUT_VERSION:-}
if [ -z "$version" ]; then
    version_file="$action_path/.github/aks-authorized-ips-version"
    [ -f "$version_file" ] || die "no 'version' input and no $version_file"
    version=$(tr -d ' \t\r\n' <"$version_file")
fi
version=${version#v}
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    die "version '$version' is not a release version such as 0.1.0"
fi

# The asset for this runner.
case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    Windows/X64) target=x86_64-pc-windows-msvc ;;
    *) die "no aks-authorized-ips release for runner OS '${RUNNER_OS:-}' and architecture '${RUNNER_ARCH:-}' (there are Linux X64/ARM64, macOS X64/ARM64, Windows X64); build it and pass it in the 'binary' input" ;;
esac
exe=""
[ "${RUNNER_OS}" = Windows ] && exe=.exe
asset="aks-authorized-ips-$target$exe"

# The expected SHA-256, from the action's own repository.
list="$action_path/checksums/v$version.sha256"
if [ ! -f "$list" ]; then
    die "no checksum list for version $version in this action (checksums/v$version.sha256): the version is not released, or this ref of the action predates it; use a ref of the action that lists it, or another 'version'"
fi
expected=$(awk -v a="$asset" '
    /^[[:space:]]*(#|$)/ { next }
    { name = $2; sub(/^\*/, "", name); sub(/\r$/, "", name) }
    name == a && $1 ~ /^[0-9a-fA-F]+$/ && length($1) == 64 { print tolower($1); exit }
' "$list")
if [ -z "$expected" ]; then
    if grep -qi 'not released yet' "$list"; then
        die "version $version is not released yet: checksums/v$version.sha256 lists no binary; pick a released 'version'"
    fi
    die "checksums/v$version.sha256 has no entry for $asset: refusing to run an unverified binary"
fi

# Download.
if [ -n "${AKS_AUTHORIZED_IPS_DOWNLOAD_BASE:-}" ]; then
    base=${AKS_AUTHORIZED_IPS_DOWNLOAD_BASE%/}
else
    repository=${AKS_AUTHORIZED_IPS_REPOSITORY:-}
    if [ -z "$repository" ]; then
        # Actions are checked out in .../_actions/<owner>/<name>/<ref>.
        case "$action_path" in
            */_actions/*/*/*)
                rest=${action_path#*/_actions/}
                owner=${rest%%/*}
                rest=${rest#*/}
                repository="$owner/${rest%%/*}"
                ;;
        esac
    fi
    [ -n "$repository" ] || die "cannot tell which repository to download releases from (action at '$action_path'); set AKS_AUTHORIZED_IPS_REPOSITORY or use the 'binary' input"
    base="${GITHUB_SERVER_URL:-https://github.com}/$repository/releases/download"
fi
url="$base/v$version/$asset"

dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/aks-authorized-ips/$version"
mkdir -p "$dir"
download="$dir/$asset.download"
rm -f "$download"
log "downloading $url"
if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --connect-timeout 20 --max-time 300 \
        --output "$download" "$url" || die "could not download $url"
elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --timeout=60 --output-document="$download" "$url" || die "could not download $url"
else
    die "neither curl nor wget is available to download $url"
fi

# Verify.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ sub(/^\\/, "", $1); print tolower($1) }'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | awk '{ print tolower($1) }'
    elif command -v pwsh >/dev/null 2>&1 || command -v powershell >/dev/null 2>&1; then
        local ps
        ps=$(command -v pwsh || command -v powershell)
        # shellcheck disable=SC2016 # $env:... is PowerShell's, not bash's
        AAI_HASH_FILE=$1 "$ps" -NoProfile -NonInteractive -Command \
            '(Get-FileHash -Algorithm SHA256 -LiteralPath $env:AAI_HASH_FILE).Hash.ToLower()' | tr -d '\r'
    else
        return 1
    fi
}
actual=$(sha256_of "$download") || die "no SHA-256 tool (sha256sum, shasum or PowerShell) to verify $asset"
if [ "$actual" != "$expected" ]; then
    rm -f "$download"
    die "SHA-256 mismatch for $asset $version: downloaded $actual, checksums/v$version.sha256 lists $expected; refusing to run it"
fi
log "SHA-256 verified against checksums/v$version.sha256: $actual"

binary="$dir/aks-authorized-ips$exe"
mv -f "$download" "$binary"
chmod +x "$binary"
"$binary" --version
printf 'binary=%s\n' "$binary" >>"$output"
