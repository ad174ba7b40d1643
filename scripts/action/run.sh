#!/usr/bin/env bash
# Runs the scan for the GitHub Action (action.yml) and exits with its code, so
# the `fail-on` input decides whether the step fails.
#
# Environment (set by action.yml through env:, never pasted into the script):
#   AKS_AUTHORIZED_IPS_BINARY  the binary (install.sh's output)
#   INPUT_PATH      files or folders, one per line (default .)
#   INPUT_INCLUDE   globs, one per line: one --include each
#   INPUT_EXCLUDE   globs, one per line: one --exclude each
#   INPUT_CONFIG    --config FILE when set
#   INPUT_FAIL_ON   --fail-on (default error)
#   INPUT_SARIF_FILE  the SARIF report (default aks-authorized-ips.sarif)
#   INPUT_PR_COMMENTS auto (true on pull_request events), true or false
#   INPUT_TOKEN     handed to the scan as GITHUB_TOKEN when PR comments are on
#   GITHUB_EVENT_NAME, GITHUB_OUTPUT  set by the runner
#
# The token is never printed. No `::add-mask::` is emitted: github.token and
# anything from `secrets.*` are masked by the runner already, and writing the
# command would itself put the token on standard output, where a log that
# stopped command processing (::stop-commands::) would show it.
set -euo pipefail

die() {
    if [ "${GITHUB_ACTIONS:-}" = true ]; then
        printf '::error title=aks-authorized-ips::%s\n' "$*"
    else
        printf 'error: %s\n' "$*" >&2
    fi
    exit 2
}

binary=${AKS_AUTHORIZED_IPS_BINARY:-}
[ -n "$binary" ] || die "AKS_AUTHORIZED_IPS_BINARY is not set (the install step did not run?)"
[ -f "$binary" ] || die "no binary at '$binary'"

# Splits a multi-line input into the array `lines`: one element per line,
# surrounding blanks and CR (Windows line ends) removed, empty lines skipped.
# Written for bash 3.2 too (macOS's /bin/bash): no namerefs, and empty arrays
# are expanded as ${a[@]+"${a[@]}"} under `set -u`.
lines_of() {
    local line
    lines=()
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line%"${line##*[![:space:]]}"}"
        if [ -n "$line" ]; then lines+=("$line"); fi
    done <<<"$1"
}

lines=()
lines_of "${INPUT_PATH:-.}"
paths=(${lines[@]+"${lines[@]}"})
lines_of "${INPUT_INCLUDE:-}"
includes=(${lines[@]+"${lines[@]}"})
lines_of "${INPUT_EXCLUDE:-}"
excludes=(${lines[@]+"${lines[@]}"})
[ "${#paths[@]}" -gt 0 ] || paths=(.)

sarif_file=${INPUT_SARIF_FILE:-aks-authorized-ips.sarif}
[ -n "$sarif_file" ] || sarif_file=aks-authorized-ips.sarif

pr_comments=${INPUT_PR_COMMENTS:-auto}
case "$(printf '%s' "$pr_comments" | tr '[:upper:]' '[:lower:]')" in
    auto | "")
        case "${GITHUB_EVENT_NAME:-}" in
            pull_request | pull_request_target) pr_comments=true ;;
            *) pr_comments=false ;;
        esac
        ;;
    true) pr_comments=true ;;
    false) pr_comments=false ;;
    *) die "pr-comments must be auto, true or false, not '$pr_comments'" ;;
esac

args=(scan)
args+=("${paths[@]}")
for glob in ${includes[@]+"${includes[@]}"}; do args+=(--include "$glob"); done
for glob in ${excludes[@]+"${excludes[@]}"}; do args+=(--exclude "$glob"); done
if [ -n "${INPUT_CONFIG:-}" ]; then args+=(--config "$INPUT_CONFIG"); fi
args+=(--fail-on "${INPUT_FAIL_ON:-error}")
args+=(--format sarif --output "$sarif_file")
if [ "$pr_comments" = true ]; then args+=(--pr-comments); fi

sarif_dir=$(dirname "$sarif_file")
mkdir -p "$sarif_dir"

# The token goes to the scan's environment only, and only for PR comments.
token=${INPUT_TOKEN:-}
unset INPUT_TOKEN GITHUB_TOKEN

printf 'aks-authorized-ips'
printf ' %q' "${args[@]}"
printf '\n'

rc=0
if [ "$pr_comments" = true ]; then
    if [ -z "$token" ]; then
        printf '::warning title=aks-authorized-ips::pr-comments is on but the token input is empty: no review will be posted\n'
    fi
    GITHUB_TOKEN="$token" "$binary" "${args[@]}" || rc=$?
else
    "$binary" "${args[@]}" || rc=$?
fi

printf 'sarif-file=%s\n' "$sarif_file" >>"${GITHUB_OUTPUT:-/dev/null}"
printf 'aks-authorized-ips exited with %s (fail-on: %s)\n' "$rc" "${INPUT_FAIL_ON:-error}"
exit "$rc"
