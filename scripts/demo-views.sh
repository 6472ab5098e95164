#!/usr/bin/env bash
# The views demo (runs last: the other parts' incidents are there):
# 1. the dashboard's custom widget, called through `cargo lambda invoke` as CloudWatch calls
#    it, its HTML saved to open in a browser;
# 2. `apptrack incidents report --since 30d --html` (the samples are from November 2026): the review page.
# Expects the local stack up, .local/env sourced and the workspace built (`make demo` does all three).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${AWS_ENDPOINT_URL_DYNAMODB:?source .local/env first (make up writes it)}"
: "${INCIDENTS_TABLE:?source .local/env first}"

target_dir="${CARGO_TARGET_DIR:-target}"
apptrack="$target_dir/debug/apptrack"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }
tmp="$(mktemp -d)"
out="$target_dir/demo"
mkdir -p "$out"

source scripts/lambda-watch.sh
watch_require "$apptrack"
watch_start incident-widget "$tmp"

say "1. the incidents widget (what the dashboard shows)"
watch_invoke events/widget/list.json | python3 -c '
import json, sys
html = json.load(sys.stdin)
open(sys.argv[1], "w").write("<!DOCTYPE html><meta charset=utf-8><title>apptrack widget</title>" + html)
print("  %d rows, %d bytes: %s" % (html.count("<tr><td>"), len(html), sys.argv[1]))' "$out/widget.html"

say "2. apptrack incidents report --since 30d --html $out/report.html"
"$apptrack" incidents report --since 30d --html "$out/report.html" | sed 's/^/  /'
