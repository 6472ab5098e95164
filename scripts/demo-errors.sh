#!/usr/bin/env bash
# error-analyzer demo, through `cargo lambda invoke` against `cargo lambda watch`:
# 1. a burst of errors against a failing third-party API (events/logs/source/dependency-failure-burst.log)
#    yields one dependency-failure incident naming it;
# 2. quiet logs, then a new exception (quiet-logs.log, new-exception.log) yield a new-error;
# 3. the same payload replayed changes nothing (counts and incident shown before and after).
#
# The payloads are the logs of events/logs/*.json, re-encoded with logs-to-event under a log
# stream unique to this run: each run is a new delivery (a second run against the same stack
# adds to the incidents the first opened, as the same problems still open should).
# Expects the local stack up, .local/env sourced and the workspace built (`make demo` does all three).
# Honours CARGO_TARGET_DIR.
# Leaves nothing running: the emulator and the function are stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${AWS_ENDPOINT_URL_DYNAMODB:?source .local/env first (make up writes it)}"
: "${INCIDENTS_TABLE:?source .local/env first}" "${STATE_TABLE:?source .local/env first}"

target_dir="${CARGO_TARGET_DIR:-target}"
apptrack="$target_dir/debug/apptrack"
encode="$target_dir/debug/logs-to-event"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }
tmp="$(mktemp -d)"
run="$(date +%s)"

source scripts/lambda-watch.sh
watch_require "$apptrack" "$encode"

src=events/logs/source
"$encode" "$src/dependency-failure-burst.log" --log-group /aws/lambda/checkout --log-stream "demo-$run-burst" \
    --start 2026-11-24T03:00:00Z --interval-ms 400 --out "$tmp/burst.json" 2>/dev/null
"$encode" "$src/quiet-logs.log" --log-group /aws/lambda/orders --log-stream "demo-$run-quiet" \
    --start 2026-11-24T03:10:00Z --interval-ms 500 --out "$tmp/quiet.json" 2>/dev/null
"$encode" "$src/new-exception.log" --log-group /aws/lambda/orders --log-stream "demo-$run-new" \
    --start 2026-11-24T03:20:00Z --interval-ms 1000 --out "$tmp/new.json" 2>/dev/null

watch_start error-analyzer "$tmp"
invoke() { watch_invoke "$1"; }
summary() { # one line per invocation, one per incident raised
    python3 -c '
import json, sys
o = json.load(sys.stdin)
keys = ("status", "lines", "error_lines", "unparsed_lines", "patterns", "writes_applied", "writes_skipped")
print("  " + " ".join("%s=%s" % (k, o[k]) for k in keys))
for i in o["incidents"]:
    print("  %-9s %-18s %s  %s" % (i["raise"], i["kind"], i["id"], i["title"]))'
}
counter() { # the per-minute counts of one series, summed
    aws dynamodb query --table-name "$STATE_TABLE" --key-condition-expression 'pk = :pk' \
        --expression-attribute-values "{\":pk\":{\"S\":\"$1\"}}" \
        --query 'sum(Items[].count.N.to_number(@))' --output text
}

say "1. a burst of errors against api.payments.example (Node, Python and pino lines, plus info lines)"
invoke "$tmp/burst.json" | tee "$tmp/burst.out" | summary
incident="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["incidents"][0]["id"])' "$tmp/burst.out")"
say "apptrack incidents show $incident"
"$apptrack" incidents show "$incident"

say "2. quiet logs (info only), then a new exception"
invoke "$tmp/quiet.json" | summary
invoke "$tmp/new.json" | summary

say "3. the burst replayed: counts and incident before and after"
dep="ERRCOUNT#checkout#D#api.payments.example"
before="$(counter "$dep") errors counted; incident count $("$apptrack" incidents show "$incident" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')"
invoke "$tmp/burst.json" | summary
after="$(counter "$dep") errors counted; incident count $("$apptrack" incidents show "$incident" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')"
echo "  before replay: $before"
echo "  after replay:  $after"
[[ "$before" == "$after" ]] || { echo "replay changed the counts"; exit 1; }
