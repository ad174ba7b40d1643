#!/usr/bin/env bash
# Tests the GitHub Action's scripts (scripts/action/install.sh and run.sh)
# without network: a fake release is served by `python3 -m http.server` on
# 127.0.0.1 (a free port), and the action is a temporary copy with its own
# checksum list. Needs bash, python3, curl (or wget) and sha256sum.
#
# Usage: bash tests/action/test-install.sh
# Ends with "N passed, N failed"; exits 1 when a check failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
server_pid=""

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
ok() {
    passed=$((passed + 1))
    printf 'ok: %s\n' "$1"
}
not_ok() {
    failed=$((failed + 1))
    printf 'FAILED: %s\n' "$1"
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
        sed 's/^/    | /' "$2"
    fi
}

# The action, copied so that tests can add checksum lists.
action="$work/action"
mkdir -p "$action/.github"
cp -R "$repo/scripts" "$repo/checksums" "$action/"
cp "$repo/action.yml" "$action/"
cp "$repo/.github/aks-authorized-ips-version" "$action/.github/"

# A fake release v9.9.9 (and v9.9.8, which the action has no list for).
asset=aks-authorized-ips-x86_64-unknown-linux-musl
release="$work/release"
mkdir -p "$release/v9.9.9" "$release/v9.9.8"
cat >"$release/v9.9.9/$asset" <<'SH'
#!/bin/sh
if [ "$1" = --version ]; then echo "aks-authorized-ips 9.9.9 (fake)"; exit 0; fi
exit 3
SH
cp "$release/v9.9.9/$asset" "$release/v9.9.8/$asset"
(cd "$release/v9.9.9" && sha256sum "$asset") >"$action/checksums/v9.9.9.sha256"

# Serve it on a free port: http.server prints the port it bound.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$release" >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "error: the test HTTP server did not start" >&2
    cat "$work/server.log" >&2
    exit 1
fi
base="http://127.0.0.1:$port"
echo "fake release served at $base"

# Runs install.sh as the action would on a Linux X64 runner, with a bounded
# time; stdout and stderr go to $work/out, GITHUB_OUTPUT to $work/github_output.
install() {
    : >"$work/github_output"
    rm -rf "$work/runner_temp"
    mkdir -p "$work/runner_temp"
    local rc=0
    env -u GITHUB_ACTIONS \
        GITHUB_ACTION_PATH="$action" GITHUB_OUTPUT="$work/github_output" \
        RUNNER_TEMP="$work/runner_temp" RUNNER_OS="${test_os:-Linux}" RUNNER_ARCH="${test_arch:-X64}" \
        AKS_AUTHORIZED_IPS_DOWNLOAD_BASE="$base" \
        "$@" timeout 60 bash "$action/scripts/action/install.sh" >"$work/out" 2>&1 || rc=$?
    return "$rc"
}

# 1. The right checksum: installed, runs --version, path in GITHUB_OUTPUT.
if install INPUT_VERSION=v9.9.9; then
    bin=$(sed -n 's/^binary=//p' "$work/github_output")
    if [ -n "$bin" ] && [ -x "$bin" ] && "$bin" --version | grep -q '9.9.9 (fake)' \
        && grep -q 'SHA-256 verified' "$work/out" && grep -q '9.9.9 (fake)' "$work/out"; then
        ok "a binary matching the checksum list is installed and runs --version"
    else
        not_ok "installed binary missing or not runnable (binary=$bin)" "$work/out"
    fi
else
    not_ok "install with a correct checksum failed" "$work/out"
fi

# 2. A tampered binary: refused, nothing installed.
printf '\n# tampered\n' >>"$release/v9.9.9/$asset"
if install INPUT_VERSION=9.9.9; then
    not_ok "a tampered binary was accepted" "$work/out"
elif grep -q 'SHA-256 mismatch' "$work/out" && ! grep -q '^binary=' "$work/github_output" \
    && [ ! -e "$work/runner_temp/aks-authorized-ips/9.9.9/aks-authorized-ips" ]; then
    ok "a tampered binary is refused with a SHA-256 mismatch message"
else
    not_ok "tampered binary refused, but not with a clear message or left behind" "$work/out"
fi

# 3. A version the action has no checksum list for: refused before download.
if install INPUT_VERSION=9.9.8; then
    not_ok "a version with no checksum list was accepted" "$work/out"
elif grep -q 'no checksum list for version 9.9.8' "$work/out" && ! grep -q downloading "$work/out"; then
    ok "a version with no checksum list is refused before any download"
else
    not_ok "version without a list refused, but not with a clear message" "$work/out"
fi

# 4. A version whose list is the "not released yet" placeholder: refused.
printf '# aks-authorized-ips v9.9.7: not released yet.\n' >"$action/checksums/v9.9.7.sha256"
if install INPUT_VERSION=9.9.7; then
    not_ok "a version marked not released yet was installed" "$work/out"
elif grep -q "version 9.9.7 is not released yet" "$work/out" && ! grep -q downloading "$work/out"; then
    ok "a version whose list says not released yet is refused clearly"
else
    not_ok "a not-released version was refused without a clear message" "$work/out"
fi

# 5. A list without an entry for this runner's asset: refused.
printf '%064d  aks-authorized-ips-x86_64-apple-darwin\n' 0 >"$action/checksums/v9.9.6.sha256"
if install INPUT_VERSION=9.9.6; then
    not_ok "a version with no entry for the asset was installed" "$work/out"
elif grep -q "has no entry for $asset" "$work/out"; then
    ok "a list with no entry for this runner's asset is refused"
else
    not_ok "missing entry refused without a clear message" "$work/out"
fi

# 6. Without a version input, the pinned version is used.
pinned=$(tr -d ' \t\r\n' <"$action/.github/aks-authorized-ips-version")
install INPUT_VERSION= || true
if grep -Eq "version $pinned|v$pinned" "$work/out"; then
    ok "without a version input, the pinned version $pinned is the one installed"
else
    not_ok "the pinned version $pinned was not used" "$work/out"
fi

# 6b. The binary input: used as given (made absolute), no download.
mkdir -p "$work/build"
cp "$release/v9.9.8/$asset" "$work/build/aks-authorized-ips"
chmod +x "$work/build/aks-authorized-ips"
if (cd "$work" && install INPUT_BINARY=build/aks-authorized-ips) \
    && grep -qx "binary=$work/build/aks-authorized-ips" "$work/github_output" \
    && ! grep -q downloading "$work/out"; then
    ok "the binary input is used as an absolute path, without a download"
else
    not_ok "the binary input was not used as given" "$work/out"
fi
if install INPUT_BINARY="$work/build/missing"; then
    not_ok "a missing binary input was accepted" "$work/out"
elif grep -q "binary input: no file at" "$work/out"; then
    ok "a binary input naming no file is refused"
else
    not_ok "missing binary input refused without a clear message" "$work/out"
fi

# 7. A runner with no release: refused.
if test_os=Linux test_arch=ARM install INPUT_VERSION=9.9.9; then
    not_ok "a 32-bit ARM runner was accepted" "$work/out"
elif grep -q "no aks-authorized-ips release for runner OS 'Linux' and architecture 'ARM'" "$work/out"; then
    ok "an unsupported runner is refused clearly"
else
    not_ok "unsupported runner refused without a clear message" "$work/out"
fi

# 8. An invalid version string is refused (no path tricks in the list name).
if install INPUT_VERSION=../../etc/passwd; then
    not_ok "an invalid version was accepted" "$work/out"
elif grep -q 'is not a release version' "$work/out"; then
    ok "an invalid version is refused"
else
    not_ok "invalid version refused without a clear message" "$work/out"
fi

# run.sh, with a stub binary that prints its arguments one per line and says
# whether it got a token (never the token itself).
stub="$work/stub"
cat >"$stub" <<'SH'
#!/bin/sh
for a in "$@"; do printf 'arg:%s\n' "$a"; done
if [ -n "${GITHUB_TOKEN:-}" ]; then echo "token: set"; else echo "token: unset"; fi
if [ -n "${INPUT_TOKEN:-}" ]; then echo "input token: visible"; fi
exit "${STUB_EXIT:-0}"
SH
chmod +x "$stub"
secret="ghs_TopSecret0123456789abcdef"

run_action() {
    : >"$work/github_output"
    local rc=0
    (cd "$work" && env -u GITHUB_TOKEN \
        AKS_AUTHORIZED_IPS_BINARY="$stub" GITHUB_OUTPUT="$work/github_output" \
        INPUT_TOKEN="$secret" INPUT_FAIL_ON=warning INPUT_CONFIG= \
        "$@" timeout 60 bash "$action/scripts/action/run.sh") >"$work/out" 2>&1 || rc=$?
    return "$rc"
}

# 9. Multi-line inputs become separate arguments; the token reaches the scan
#    as GITHUB_TOKEN and is never printed; the scan's exit code is kept.
rc=0
run_action GITHUB_EVENT_NAME=pull_request STUB_EXIT=1 \
    INPUT_PATH=$'infra\n  templates with spaces  \r\n\n' \
    INPUT_INCLUDE=$'infra/**/*.json\n*.jsonc' \
    INPUT_EXCLUDE=$'**/legacy/**\r\nold copy.json' \
    INPUT_SARIF_FILE=reports/out.sarif INPUT_PR_COMMENTS=auto || rc=$?
expected="$work/expected"
cat >"$expected" <<'EOF'
arg:scan
arg:infra
arg:templates with spaces
arg:--include
arg:infra/**/*.json
arg:--include
arg:*.jsonc
arg:--exclude
arg:**/legacy/**
arg:--exclude
arg:old copy.json
arg:--fail-on
arg:warning
arg:--format
arg:sarif
arg:--output
arg:reports/out.sarif
arg:--pr-comments
token: set
EOF
if grep -E '^(arg:|token|input token)' "$work/out" | diff -u "$expected" - >"$work/diff"; then
    ok "run.sh passes each line of path/include/exclude as its own argument, with --pr-comments on a pull_request"
else
    not_ok "run.sh arguments differ from the expected ones" "$work/diff"
fi
if grep -qF "$secret" "$work/out" "$work/github_output"; then
    not_ok "the token was printed" "$work/out"
else
    ok "the token is never printed"
fi
if [ "$rc" -eq 1 ] && grep -qx 'sarif-file=reports/out.sarif' "$work/github_output" && [ -d "$work/reports" ]; then
    ok "run.sh exits with the scan's code (1) and writes sarif-file to GITHUB_OUTPUT"
else
    not_ok "run.sh exit code $rc or sarif-file output wrong" "$work/github_output"
fi

# 10. auto on a push: no --pr-comments and no token for the scan; defaults.
rc=0
run_action GITHUB_EVENT_NAME=push INPUT_PATH= INPUT_INCLUDE= INPUT_EXCLUDE= \
    INPUT_SARIF_FILE= INPUT_PR_COMMENTS=auto || rc=$?
cat >"$expected" <<'EOF'
arg:scan
arg:.
arg:--fail-on
arg:warning
arg:--format
arg:sarif
arg:--output
arg:aks-authorized-ips.sarif
token: unset
EOF
if [ "$rc" -eq 0 ] && grep -E '^(arg:|token|input token)' "$work/out" | diff -u "$expected" - >"$work/diff"; then
    ok "pr-comments auto is off on a push, and the scan gets no token"
else
    not_ok "push run: exit $rc or arguments differ" "$work/diff"
fi

# 11. pr-comments false on a pull_request: off; a bad value is exit 2.
rc=0
run_action GITHUB_EVENT_NAME=pull_request INPUT_PR_COMMENTS=FALSE || rc=$?
if [ "$rc" -eq 0 ] && ! grep -q -- '--pr-comments' "$work/out" && grep -q 'token: unset' "$work/out"; then
    ok "pr-comments false turns comments off on a pull_request"
else
    not_ok "pr-comments false not honoured" "$work/out"
fi
rc=0
run_action GITHUB_EVENT_NAME=pull_request INPUT_PR_COMMENTS=maybe || rc=$?
if [ "$rc" -eq 2 ] && grep -q 'pr-comments must be auto, true or false' "$work/out"; then
    ok "a bad pr-comments value is refused with exit 2"
else
    not_ok "bad pr-comments value: exit $rc" "$work/out"
fi

printf '%s passed, %s failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
