#!/usr/bin/env python3
"""Checks action.yml, which actionlint does not lint, and extracts the run:
scripts of the action and the workflows for shellcheck.

Usage: python3 .ci/check-action.py REPO_ROOT [RUN_SCRIPTS_DIR]

Checks: the metadata parses as YAML; name, description, runs.using ==
composite; every step has a shell and either run or uses; no run: script
contains a ${{ }} expression (inputs reach scripts through env:); every
inputs.X and steps.Y referenced exists (Y before the step that uses it);
every output has a value from a step; the workflows' `uses: ./` steps pass
only inputs the action declares; the pinned version file matches Cargo.toml.
With RUN_SCRIPTS_DIR, writes each bash run: script (expressions replaced by a
placeholder) there as a file for shellcheck.
"""
import glob
import os
import re
import sys

import yaml

EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
errors = []


def error(msg):
    errors.append(msg)


def expressions(value):
    if isinstance(value, str):
        return [m.group(1) for m in EXPR.finditer(value)]
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return []


def main():
    root = sys.argv[1]
    scripts_dir = sys.argv[2] if len(sys.argv) > 2 else None
    try:
        with open(os.path.join(root, "action.yml"), encoding="utf-8") as f:
            action = yaml.safe_load(f)
    except yaml.YAMLError as e:
        sys.exit(f"error: action.yml is not valid YAML: {e}")
    if not isinstance(action, dict):
        sys.exit("action.yml: not a mapping")

    for key in ("name", "description"):
        if not isinstance(action.get(key), str) or not action[key].strip():
            error(f"action.yml: '{key}' is missing or empty")
    inputs = action.get("inputs") or {}
    outputs = action.get("outputs") or {}
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        error(f"action.yml: runs.using is {runs.get('using')!r}, expected 'composite'")
    for name, spec in inputs.items():
        if name != name.lower() or "_" in name:
            error(f"action.yml: input '{name}' is not kebab-case")
        if not isinstance(spec, dict) or not spec.get("description"):
            error(f"action.yml: input '{name}' has no description")

    steps = runs.get("steps") or []
    if not steps:
        error("action.yml: runs.steps is empty")
    seen_ids = set()
    run_scripts = []
    for i, step in enumerate(steps):
        where = f"action.yml: step {i + 1} ({step.get('name') or step.get('id') or '?'})"
        if "run" in step:
            if not step.get("shell"):
                error(f"{where}: a run step needs 'shell' in a composite action")
            if EXPR.search(step["run"]):
                error(f"{where}: run: contains a ${{{{ }}}} expression; pass it through env:")
            run_scripts.append(("action.yml", i + 1, step.get("shell"), step["run"]))
        elif "uses" not in step:
            error(f"{where}: neither run nor uses")
        for expr in expressions(step):
            for name in re.findall(r"\binputs\.([A-Za-z0-9_-]+)", expr):
                if name not in inputs:
                    error(f"{where}: references inputs.{name}, which is not declared")
            for sid in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)", expr):
                if sid not in seen_ids:
                    error(f"{where}: references steps.{sid}, which is not an earlier step")
        if step.get("id"):
            seen_ids.add(step["id"])
    for name, spec in outputs.items():
        value = (spec or {}).get("value", "")
        ids = re.findall(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.", value)
        if not ids:
            error(f"action.yml: output '{name}' has no value from a step")
        for sid in ids:
            if sid not in seen_ids:
                error(f"action.yml: output '{name}' reads steps.{sid}, which does not exist")
    for name in ("path", "include", "exclude", "config", "fail-on", "sarif-file",
                 "pr-comments", "token", "version", "binary"):
        if name not in inputs:
            error(f"action.yml: input '{name}' is missing")
    for name in ("sarif-file", "findings", "failed-clusters", "unknown-clusters"):
        if name not in outputs:
            error(f"action.yml: output '{name}' is missing")

    # Workflows: `uses: ./` passes only declared inputs; collect run: scripts.
    for path in sorted(glob.glob(os.path.join(root, ".github", "workflows", "*.yml"))):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            workflow = yaml.safe_load(f)
        defaults = ((workflow.get("defaults") or {}).get("run") or {}).get("shell")
        for job_name, job in (workflow.get("jobs") or {}).items():
            job_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell") or defaults
            for i, step in enumerate(job.get("steps") or []):
                if step.get("uses") == "./":
                    for key in (step.get("with") or {}):
                        if key not in inputs:
                            error(f"{rel}: job {job_name} step {i + 1}: input '{key}' is not declared in action.yml")
                if "run" in step:
                    run_scripts.append((f"{rel} job {job_name}", i + 1, step.get("shell") or job_shell or "bash", step["run"]))

    # The version the action pins follows Cargo.toml.
    with open(os.path.join(root, "Cargo.toml"), encoding="utf-8") as f:
        m = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M)
    with open(os.path.join(root, ".github", "aks-authorized-ips-version"), encoding="utf-8") as f:
        pinned = f.read().strip()
    if not m or m.group(1) != pinned:
        error(f".github/aks-authorized-ips-version is {pinned!r}, Cargo.toml's version is {m and m.group(1)!r}")
    if not os.path.exists(os.path.join(root, "checksums", f"v{pinned}.sha256")):
        error(f"checksums/v{pinned}.sha256 is missing (a 'not released yet' placeholder until the release)")

    if scripts_dir:
        os.makedirs(scripts_dir, exist_ok=True)
        n = 0
        for origin, index, shell, script in run_scripts:
            if shell not in ("bash", "sh") and not (shell or "").startswith("bash "):
                continue
            n += 1
            body = EXPR.sub("EXPRESSION", script)
            name = re.sub(r"[^A-Za-z0-9]+", "-", f"{origin}-step-{index}").strip("-")
            with open(os.path.join(scripts_dir, f"{n:02d}-{name}.sh"), "w", encoding="utf-8") as f:
                # GitHub runs bash steps with `bash -e {0}` (plus -o pipefail
                # when shell: bash is explicit).
                f.write(f"#!/usr/bin/env bash\n# {origin}, step {index}\n{body}")
        print(f"{n} run: scripts written to {scripts_dir} for shellcheck")

    if errors:
        for e in errors:
            print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"action.yml: {len(inputs)} inputs, {len(outputs)} outputs, {len(steps)} composite steps: OK")


if __name__ == "__main__":
    main()
