#!/usr/bin/env bash
# deploy-guard's part of scripts/bench-functions.sh: the custom CI announcement (the marker is
# written by the first run; every later run reads it back and writes nothing, as a redelivery
# does). Usage (from the repository root, the bench stack's env sourced): bench.sh DIR
set -euo pipefail
dir="${1:?usage: $0 DIR}"
cp events/deploy/custom.json "$dir/event.json"
