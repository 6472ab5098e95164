#!/usr/bin/env bash
# Runs Drain3 (the peer) and apptrack's pattern miner on the LogHub-2k samples and on
# apptrack's own labelled samples (bench/patterns: formats the LogHub samples do not
# cover), prints both, the GA side by side and the speed ratio, and writes JSON.
#
# Usage: scripts/bench-loghub.sh OUT_DIR
#   OUT_DIR gets drain3.json, apptrack.json and summary.json for LogHub-2k, and the
#   same three under OUT_DIR/patterns/ for bench/patterns.
# Environment:
#   DRAIN3_PYTHON   Python with drain3==0.9.11 (default: .local/bin/drain3-python
#                   from scripts/install-tools.sh, else .local/venv/bin/python,
#                   else python3)
#   BENCHDATA       folder with drain3_baseline.py and loghub_2k/
#                   (default: ../shared/benchdata next to the repository)
#   LOGHUB_BENCH    a prebuilt loghub-bench binary (default: cargo run --release)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?usage: $0 OUT_DIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

benchdata="${BENCHDATA:-$root/../shared/benchdata}"
data="$benchdata/loghub_2k"
[[ -d "$data" ]] || { echo "no LogHub data at $data (set BENCHDATA)" >&2; exit 1; }

if [[ -n "${DRAIN3_PYTHON:-}" ]]; then
  python="$DRAIN3_PYTHON"
elif [[ -x "$root/.local/bin/drain3-python" ]]; then
  python="$root/.local/bin/drain3-python"
elif [[ -x "$root/.local/venv/bin/python" ]]; then
  python="$root/.local/venv/bin/python"
else
  python="python3"
fi
"$python" -c 'import drain3' 2>/dev/null || {
  echo "$python has no drain3: pip install drain3==0.9.11 (or set DRAIN3_PYTHON)" >&2
  exit 1
}

# compare LABEL DATA_DIR OUT_DIR [RUN_ARGS...]: both miners on one folder of sets;
# RUN_ARGS (--repeats N --big-runs N) go to both.
compare() {
  local label="$1" data="$2" out="$3"
  shift 3
  mkdir -p "$out"
  echo "### $label: Drain3 ($python), variants default and mask"
  "$python" "$benchdata/drain3_baseline.py" --data "$data" --variants default,mask \
    "$@" --out "$out/drain3.json"

  echo
  echo "### $label: apptrack loghub-bench"
  if [[ -n "${LOGHUB_BENCH:-}" ]]; then
    "$LOGHUB_BENCH" "$data" "$@" --json "$out/apptrack.json"
  else
    (cd "$root" && cargo run --quiet --release -p apptrack-bench --bin loghub-bench -- \
      "$data" "$@" --json "$out/apptrack.json")
  fi

  echo
  echo "### $label: side by side"
  python3 - "$out" <<'PY'
import json, os, sys

out = sys.argv[1]
drain = json.load(open(os.path.join(out, "drain3.json")))
ours = json.load(open(os.path.join(out, "apptrack.json")))
dv = drain["variants"]
names = sorted(ours["datasets"])

print("%-12s %10s %10s %10s %10s" % ("dataset", "apptrack", "drain3", "drain3", "apptrack"))
print("%-12s %10s %10s %10s %10s" % ("", "GA", "default GA", "mask GA", "FGA"))
for n in names:
    print("%-12s %10.4f %10.4f %10.4f %10.4f" % (
        n, ours["datasets"][n]["ga"],
        dv["default"]["datasets"][n]["ga_id"], dv["mask"]["datasets"][n]["ga_id"],
        ours["datasets"][n]["fga"]))
print("%-12s %10.4f %10.4f %10.4f %10.4f" % (
    "AVG", ours["avg"]["ga"], dv["default"]["avg"]["ga_id"], dv["mask"]["avg"]["ga_id"],
    ours["avg"]["fga"]))

mask_big = dv["mask"]["big"]["shared_miner"]["lines_per_sec"]
default_big = dv["default"]["big"]["shared_miner"]["lines_per_sec"]
ours_med = ours["big"]["lines_per_sec_median"]
ours_best = ours["big"]["lines_per_sec"]
print()
print("large run (all data sets concatenated x10, one thread), lines/s:")
print("  apptrack      %12.0f median, %12.0f best" % (ours_med, ours_best))
print("  drain3 mask   %12.0f median   -> apptrack is %.1fx (median/median)" % (mask_big, ours_med / mask_big))
print("  drain3 default%12.0f median   -> apptrack is %.1fx" % (default_big, ours_med / default_big))

summary = {
    "datasets": {n: {
        "apptrack_ga": ours["datasets"][n]["ga"],
        "apptrack_fga": ours["datasets"][n]["fga"],
        "drain3_default_ga": dv["default"]["datasets"][n]["ga_id"],
        "drain3_mask_ga": dv["mask"]["datasets"][n]["ga_id"],
    } for n in names},
    "avg_ga": {"apptrack": ours["avg"]["ga"], "drain3_default": dv["default"]["avg"]["ga_id"],
               "drain3_mask": dv["mask"]["avg"]["ga_id"]},
    "big_lines_per_sec": {"apptrack_median": ours_med, "apptrack_best": ours_best,
                          "drain3_mask_median": mask_big, "drain3_default_median": default_big},
    "speed_ratio_vs_drain3_mask": ours_med / mask_big,
    "speed_ratio_vs_drain3_default": ours_med / default_big,
}
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
print("\nwrote %s/{drain3,apptrack,summary}.json" % out)
PY
}

compare "LogHub-2k" "$data" "$out"
echo
# Fewer timed runs per data set on apptrack's own samples (their figure is the
# grouping); the large runs stay three, so their speed compares with LogHub's.
compare "apptrack samples" "$root/bench/patterns" "$out/patterns" --repeats 3
