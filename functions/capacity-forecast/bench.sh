#!/usr/bin/env bash
# capacity-forecast's part of scripts/bench-functions.sh: in the bench's ministack, one alarm
# tagged for the forecast (a disk at ~40 % filling 1 % an hour, alarm at 90 %) with six hours
# of history; the schedule's event for every run (a real DescribeAlarms, ListTagsForResource,
# GetMetricData and forecast). Usage (from the repository root, the bench stack's env
# sourced): bench.sh DIR
set -euo pipefail
dir="${1:?usage: $0 DIR}"
python3 - "$dir/history.json" <<'PY'
import json, sys, time
now = int(time.time()) - 60
points = [{"MetricName": "disk_used_percent", "Value": round(40 + i / 12 + (0.3, -0.2, 0.1)[i % 3], 2),
           "Timestamp": now - (72 - i) * 300, "Dimensions": [{"Name": "host", "Value": "bench-1"}]}
          for i in range(73)]
json.dump(points, open(sys.argv[1], "w"))
PY
aws cloudwatch put-metric-data --namespace CWAgent --metric-data "file://$dir/history.json"
aws cloudwatch put-metric-alarm --alarm-name bench-disk-full --namespace CWAgent \
    --metric-name disk_used_percent --dimensions Name=host,Value=bench-1 --statistic Maximum \
    --period 300 --evaluation-periods 1 --threshold 90 --comparison-operator GreaterThanThreshold \
    --tags Key=apptrack:forecast,Value=true
cp events/forecast/schedule.json "$dir/event.json"
