#!/usr/bin/env bash
# Cold start, peak memory and package size of every function (each crate under functions/),
# against a local stack of their own: release bootstraps run under bench's minimal Runtime API
# (lambda-bench), and cargo-lambda builds the arm64 zips that SAM would deploy.
#
# What a function is benchmarked with is its own: functions/<name>/bench.sh DIR, run from the
# repository root with the stack's environment sourced and BENCH_TARGET (the release build
# folder) set, prepares the stack and writes DIR/event.json (every cold start's event) and
# optionally DIR/memory-event.json (the memory run's; default the same event) and DIR/env
# (settings of its own, NAME=value lines). A function
# without one gets its zip size only.
#
# Usage: scripts/bench-functions.sh OUT_DIR   (JSON figures land in OUT_DIR)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:?usage: $0 OUT_DIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export PATH="$PWD/.local/bin:$PATH"
target="${CARGO_TARGET_DIR:-$PWD/target}"
runs="${BENCH_RUNS:-20}"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }

# "PACKAGE BINARY DIR" of every function crate (the packages whose manifest is under functions/).
mapfile -t functions < <(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, os, sys
m = json.load(sys.stdin)
root = os.path.join(m["workspace_root"], "functions") + os.sep
for p in sorted(m["packages"], key=lambda p: p["name"]):
    if p["manifest_path"].startswith(root):
        for t in p["targets"]:
            if "bin" in t["kind"]:
                print(p["name"], t["name"], os.path.dirname(p["manifest_path"]))')
[[ ${#functions[@]} -gt 0 ]] || { echo "no function crate under functions/" >&2; exit 1; }
packages=()
for f in "${functions[@]}"; do packages+=(-p "${f%% *}"); done

say "building the release workspace (the functions' bootstraps, the bench tools, the CLI)"
cargo build --release -q --workspace

stack="$out/stack"
scripts/stack-up.sh "$stack"
trap 'scripts/stack-down.sh "$stack"' EXIT
source "$stack/env"
"$target/release/apptrack" local bootstrap

say "cold start and peak memory ($runs cold starts each)"
export BENCH_TARGET="$target/release"
for f in "${functions[@]}"; do
    read -r _ bin dir <<<"$f"
    if [[ ! -f "$dir/bench.sh" ]]; then
        say "$bin: no ${dir#"$PWD/"}/bench.sh, so no cold start or memory figures"
        continue
    fi
    events="$out/events/$bin"
    mkdir -p "$events"
    say "$bin: ${dir#"$PWD/"}/bench.sh"
    bash "$dir/bench.sh" "$events"
    memory="$events/memory-event.json"
    [[ -f "$memory" ]] || memory="$events/event.json"
    # DIR/env (optional, NAME=value lines): settings of the function's own, e.g. a topic the
    # bench.sh made; exported to this function's runs only.
    (
        if [[ -f "$events/env" ]]; then set -a; source "$events/env"; set +a; fi
        "$target/release/lambda-bench" --bootstrap "$target/release/$bin" --event "$events/event.json" \
            --memory-event "$memory" --runs "$runs" --invocations 20 --name "$bin" --json "$out/lambda-$bin.json"
    )
done

say "arm64 zips (cargo lambda build --release --arm64, as sam build does)"
cargo lambda build --release --arm64 --output-format zip --lambda-dir "$out/zips" \
    "${packages[@]}" 2>/dev/null
for f in "${functions[@]}"; do
    read -r _ bin _ <<<"$f"
    printf '%-15s %8.2f MB\n' "$bin" "$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1])/1048576)" "$out/zips/$bin/bootstrap.zip")"
done
