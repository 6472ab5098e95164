#!/usr/bin/env bash
# notifier's part of scripts/bench-functions.sh: an SNS topic in the bench's ministack (its
# ARN in DIR/env, which the bench exports to the function), and the incident table's stream
# as one batch (what the functions benchmarked before it recorded), read by the tests' own
# reader. The first run notifies each incident once; every later run finds each notice done,
# as a redelivered batch does. Usage (from the repository root, the bench stack's env sourced,
# BENCH_TARGET set): bench.sh DIR
set -euo pipefail
dir="${1:?usage: $0 DIR}"
topic=$(aws sns create-topic --name apptrack-bench --query TopicArn --output text)
echo "APPTRACK_NOTIFY_TOPIC_ARN=$topic" >"$dir/env"
"$BENCH_TARGET/stream-to-event" >"$dir/event.json"
