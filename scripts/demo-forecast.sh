#!/usr/bin/env bash
# capacity-forecast demo, through `cargo lambda invoke` against `cargo lambda watch`:
# 1. six hours of history for a database host's disk (filling 1 % an hour) and for a flat
#    memory metric, written with the plain AWS CLI, and their alarms tagged
#    apptrack:forecast=true;
# 2. the schedule's event: one capacity-forecast incident for the disk, nothing for memory;
# 3. the same event delivered again: nothing changes.
# Expects the local stack up, .local/env sourced and the workspace built (`make demo` does all three).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${AWS_ENDPOINT_URL:?source .local/env first (make up writes it)}"
: "${INCIDENTS_TABLE:?source .local/env first}"

target_dir="${CARGO_TARGET_DIR:-target}"
apptrack="$target_dir/debug/apptrack"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }
tmp="$(mktemp -d)"
prefix="demo-$(date +%s)"
host="db-$prefix"

say "1. history and tagged alarms ($prefix-*)"
python3 - "$tmp" "$host" <<'PY'
import json, sys, time
out, host = sys.argv[1], sys.argv[2]
now = int(time.time()) - 60
for name, start, per_hour in [("disk_used_percent", 70.0, 1.0), ("mem_used_percent", 40.0, 0.0)]:
    points = [{"MetricName": name, "Value": round(start + per_hour * i / 12 + (0.3, -0.2, 0.1)[i % 3], 2),
               "Timestamp": now - (72 - i) * 300, "Dimensions": [{"Name": "host", "Value": host}]}
              for i in range(73)]
    json.dump(points, open(f"{out}/{name}.json", "w"))
PY
for metric in disk_used_percent mem_used_percent; do
    aws cloudwatch put-metric-data --namespace CWAgent --metric-data "file://$tmp/$metric.json"
    aws cloudwatch put-metric-alarm --alarm-name "$prefix-$metric" --namespace CWAgent \
        --metric-name "$metric" --dimensions "Name=host,Value=$host" --statistic Maximum \
        --period 300 --evaluation-periods 1 --threshold 90 --comparison-operator GreaterThanThreshold \
        --tags Key=apptrack:forecast,Value=true Key=apptrack:service,Value=orders-db
done
echo "  $host: disk at ~76 % and rising 1 %/h toward 90 %; memory flat at 40 %"

export APPTRACK_FORECAST_ALARM_PREFIX="$prefix"
source scripts/lambda-watch.sh
watch_require "$apptrack"
watch_start capacity-forecast "$tmp"
show() {
    python3 -c '
import json, sys
o = json.load(sys.stdin)
for t in o["targets"]:
    a = t.get("assessment")
    a = a if isinstance(a, str) else "at-risk (%s)" % a["at-risk"] if a else "no verdict"
    print("  %-28s %-18s %s" % (t["alarm"], a, t.get("incident") or ""))
    print("      " + t["detail"])
print("  GetMetricData calls: %d" % o["metric_calls"])'
}
say "2. the schedule runs"
echo '{"apptrack": "forecast"}' > "$tmp/schedule.json"
watch_invoke "$tmp/schedule.json" | show
say "3. the same schedule event, delivered again"
watch_invoke "$tmp/schedule.json" | show
say "the incident, with the CLI"
"$apptrack" incidents list --status open --service orders-db
