#!/usr/bin/env bash
# incident-widget's part of scripts/bench-functions.sh: the dashboard's list call for every
# run (over the bench stack's incidents: the cold start and memory of a real call; the
# figure for 500 open incidents is widget-bench's). Usage (from the repository root, the
# bench stack's env sourced): bench.sh DIR
set -euo pipefail
dir="${1:?usage: $0 DIR}"
cp events/widget/list.json "$dir/event.json"
