#!/usr/bin/env bash
# alarm-scaler demo: in ministack, an Auto Scaling group at 2 instances and a CPU alarm on it;
# the alarm's ALARM event, invoked through `cargo lambda invoke` against `cargo lambda watch`,
# takes the group to the computed size and opens an incident; its OK event resolves it.
#
# Expects the local stack up, .local/env sourced and the workspace built (`make demo` does all three).
# Honours CARGO_TARGET_DIR. Leaves nothing running: the emulator and the function are stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${AWS_ENDPOINT_URL:?source .local/env first (make up writes it)}"
: "${INCIDENTS_TABLE:?source .local/env first}" "${STATE_TABLE:?source .local/env first}"

target_dir="${CARGO_TARGET_DIR:-target}"
apptrack="$target_dir/debug/apptrack"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }
tmp="$(mktemp -d)"

# Fresh names per run, so the demo can run again against the same stack.
run="$(date +%s)"
group="demo-web-$run"
alarm="$group-cpu-high"

say "ministack: launch template, group $group (min 1, max 10, desired 2), alarm $alarm (CPU > 90 %)"
aws ec2 create-launch-template --launch-template-name "lt-$group" \
    --launch-template-data '{"ImageId":"ami-12345678","InstanceType":"t3.micro"}' \
    --query 'LaunchTemplate.LaunchTemplateId' --output text
aws autoscaling create-auto-scaling-group --auto-scaling-group-name "$group" \
    --launch-template "LaunchTemplateName=lt-$group,Version=\$Latest" \
    --min-size 1 --max-size 10 --desired-capacity 2 --availability-zones us-east-1a \
    --tags "Key=apptrack:managed,Value=true,PropagateAtLaunch=false,ResourceId=$group,ResourceType=auto-scaling-group"
aws cloudwatch put-metric-alarm --alarm-name "$alarm" \
    --namespace AWS/EC2 --metric-name CPUUtilization \
    --dimensions "Name=AutoScalingGroupName,Value=$group" \
    --statistic Average --period 60 --evaluation-periods 2 --threshold 90 \
    --comparison-operator GreaterThanThreshold --tags Key=team,Value=web
desired() {
    aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$group" \
        --query 'AutoScalingGroups[0].DesiredCapacity' --output text
}
say "desired capacity of $group: $(desired)"

# The sample events, renamed to this run's alarm and group.
patch() {
    python3 - "$1" "$2" "$alarm" "$group" <<'PY'
import json, sys
src, dst, alarm, group = sys.argv[1:]
ev = json.load(open(src))
ev["resources"] = [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"]
ev["detail"]["alarmName"] = alarm
for m in ev["detail"]["configuration"]["metrics"]:
    m["metricStat"]["metric"]["dimensions"]["AutoScalingGroupName"] = group
json.dump(ev, open(dst, "w"))
PY
}
patch events/alarm/cpu-high-alarm.json "$tmp/alarm.json"
patch events/alarm/cpu-high-ok.json "$tmp/ok.json"

source scripts/lambda-watch.sh
watch_require "$apptrack"
watch_start alarm-scaler "$tmp"
invoke() { watch_invoke "$1"; }

say "ALARM: CPU 97.2 % on 2 instances (target 72 % = 90 × 0.8)"
invoke "$tmp/alarm.json"
echo
say "desired capacity of $group: $(desired)"

say "the same event again (a duplicate delivery): no second scaling"
invoke "$tmp/alarm.json"
echo
say "desired capacity of $group: $(desired)"

say "OK: the alarm recovered; its incident is resolved"
invoke "$tmp/ok.json"
echo

say "apptrack incidents list --status resolved"
"$apptrack" incidents list --status resolved
