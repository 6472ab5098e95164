#!/usr/bin/env bash
# login-guard's part of scripts/bench-functions.sh: the sample burst against one account for
# every run. Usage (from the repository root, the bench stack's env sourced): bench.sh DIR
set -euo pipefail
dir="${1:?usage: $0 DIR}"
cp events/auth/burst-one-account.json "$dir/event.json"
