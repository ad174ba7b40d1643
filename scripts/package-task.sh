#!/usr/bin/env bash
# Builds the Azure DevOps extension (.vsix) holding the Azure Pipelines task
# (task/) and the prebuilt static binaries, then checks the .vsix holds the
# task and every binary this script put in.
#
# Usage: scripts/package-task.sh [--require-all] BINARIES OUTPUT_DIR
#   --require-all
#               strict mode: each of the five release targets must have a binary
#               in BINARIES; a missing one is an error (exit 1, naming the
#               missing targets, before tfx-cli is installed) instead of being
#               left out. The release workflow uses it, so the published .vsix
#               runs on every agent OS. Without it (the default, what .ci/run
#               does with its Linux x64 build), the .vsix holds the targets
#               BINARIES has.
#   BINARIES    a folder with prebuilt binaries, either as release assets
#               (aks-authorized-ips-<target>[.exe], .github/workflows/release.yml)
#               or as a Cargo target folder (<target>/release/aks-authorized-ips[.exe],
#               what scripts/build-static.sh leaves in target/). Targets with no
#               binary are left out (an error with --require-all), and the
#               script says which.
#   OUTPUT_DIR  where the .vsix is written
#
# Environment:
#   AKS_VSIX_PUBLISHER  overrides the publisher of task/vss-extension.json, whose
#                       "aks-authorized-ips" is a placeholder: set your
#                       Marketplace publisher id before publishing.
#   AKS_TFX             a tfx command to use instead of installing tfx-cli.
#
# Exit codes: 0 packaged and checked; 1 a check failed (with --require-all,
# also: a target has no binary); 3 tfx-cli could not be installed from the npm
# registry (CI prints skipped: for that).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tfx_cli_version=0.23.1

require_all=""
if [ "${1:-}" = "--require-all" ]; then
    require_all=1
    shift
fi
if [ "$#" -ne 2 ]; then
    echo "usage: $0 [--require-all] BINARIES OUTPUT_DIR" >&2
    exit 1
fi
binaries=$1
out=$2
[ -d "$binaries" ] || { echo "error: no folder '$binaries'" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

stage="$work/stage"
mkdir -p "$stage"
cp "$root/task/vss-extension.json" "$stage/"
mkdir -p "$stage/AksAuthorizedIps"
cp "$root/task/AksAuthorizedIps/task.json" "$root/task/AksAuthorizedIps/index.js" "$stage/AksAuthorizedIps/"
[ -f "$root/task/AksAuthorizedIps/icon.png" ] && cp "$root/task/AksAuthorizedIps/icon.png" "$stage/AksAuthorizedIps/"
cp "$root/LICENSE" "$stage/AksAuthorizedIps/LICENSE"

# The release's five targets (index.js maps process.platform/arch to these).
targets=(
    x86_64-unknown-linux-musl
    aarch64-unknown-linux-musl
    x86_64-apple-darwin
    aarch64-apple-darwin
    x86_64-pc-windows-msvc
)
included=()
missing=()
expected=(AksAuthorizedIps/task.json AksAuthorizedIps/index.js)
for target in "${targets[@]}"; do
    exe=""
    case "$target" in *windows*) exe=.exe ;; esac
    src=""
    for candidate in "$binaries/aks-authorized-ips-$target$exe" "$binaries/$target/release/aks-authorized-ips$exe"; do
        if [ -f "$candidate" ]; then src=$candidate; break; fi
    done
    if [ -z "$src" ]; then
        missing+=("$target")
        continue
    fi
    mkdir -p "$stage/AksAuthorizedIps/bin/$target"
    cp "$src" "$stage/AksAuthorizedIps/bin/$target/aks-authorized-ips$exe"
    chmod 755 "$stage/AksAuthorizedIps/bin/$target/aks-authorized-ips$exe"
    included+=("$target")
    expected+=("AksAuthorizedIps/bin/$target/aks-authorized-ips$exe")
done
if [ -n "$require_all" ] && [ "${#missing[@]}" -gt 0 ]; then
    echo "error: --require-all: no binary in '$binaries' for ${#missing[@]} of ${#targets[@]} targets: ${missing[*]}" >&2
    echo "       (looked for aks-authorized-ips-<target>[.exe] and <target>/release/aks-authorized-ips[.exe])" >&2
    exit 1
fi
if [ "${#included[@]}" -eq 0 ]; then
    echo "error: no binary found in '$binaries' for any of: ${targets[*]}" >&2
    exit 1
fi
echo "targets included: ${included[*]}"
if [ "${#missing[@]}" -gt 0 ]; then
    echo "targets left out (no binary in $binaries): ${missing[*]}"
fi

# tfx-cli from the npm registry, into a temporary folder.
if [ -n "${AKS_TFX:-}" ]; then
    tfx=("$AKS_TFX")
else
    if ! command -v npm >/dev/null 2>&1 \
        || ! npm install --silent --no-audit --no-fund --prefix "$work/tfx" "tfx-cli@$tfx_cli_version" >/dev/null 2>&1 \
        || [ ! -f "$work/tfx/node_modules/tfx-cli/_build/tfx-cli.js" ]; then
        echo "tfx-cli@$tfx_cli_version could not be installed from the npm registry" >&2
        exit 3
    fi
    tfx=(node "$work/tfx/node_modules/tfx-cli/_build/tfx-cli.js")
fi

publisher=(--publisher "${AKS_VSIX_PUBLISHER:-aks-authorized-ips}")
if [ -z "${AKS_VSIX_PUBLISHER:-}" ]; then
    echo "note: publisher 'aks-authorized-ips' is a placeholder; set AKS_VSIX_PUBLISHER to your Marketplace publisher id before publishing"
fi
(cd "$stage" && "${tfx[@]}" extension create --no-prompt --manifests vss-extension.json \
    "${publisher[@]}" --output-path "$out" >"$work/tfx.log" 2>&1) || {
    cat "$work/tfx.log" >&2
    echo "error: tfx extension create failed" >&2
    exit 1
}
vsix=$(find "$out" -maxdepth 1 -name '*.vsix' -newer "$stage/vss-extension.json" | head -n 1)
[ -n "$vsix" ] || { cat "$work/tfx.log" >&2; echo "error: tfx wrote no .vsix into $out" >&2; exit 1; }

# The .vsix is a zip: it must hold the manifests, the task and each binary.
python3 - "$vsix" "${expected[@]}" <<'PY'
import json, sys, zipfile
vsix, expected = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(vsix) as z:
    names = set(z.namelist())
    missing = [n for n in expected + ["extension.vsixmanifest"] if n not in names]
    if missing:
        sys.exit(f"error: {vsix} lacks {', '.join(missing)}")
    task = json.loads(z.read("AksAuthorizedIps/task.json"))
    assert task["name"] == "AksAuthorizedIps", task["name"]
    for n in expected:
        if "/bin/" in n and z.getinfo(n).file_size == 0:
            sys.exit(f"error: {n} is empty in {vsix}")
print(f"{vsix} holds extension.vsixmanifest and " + ", ".join(expected))
PY
echo "vsix: $vsix ($(wc -c <"$vsix") bytes)"
