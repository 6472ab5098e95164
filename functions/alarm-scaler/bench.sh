#!/usr/bin/env bash
# alarm-scaler's part of scripts/bench-functions.sh: in the bench's ministack, the group and
# alarm the sample alarm event names (web-asg, web-asg-cpu-high); that event for every run.
# Usage (from the repository root, the bench stack's env sourced): bench.sh DIR
set -euo pipefail
dir="${1:?usage: $0 DIR}"
aws autoscaling create-launch-configuration --launch-configuration-name lc-web-asg \
    --image-id ami-12345678 --instance-type t3.micro
aws autoscaling create-auto-scaling-group --auto-scaling-group-name web-asg \
    --launch-configuration-name lc-web-asg --min-size 1 --max-size 10 --desired-capacity 2 \
    --availability-zones us-east-1a \
    --tags "Key=apptrack:managed,Value=true,PropagateAtLaunch=false,ResourceId=web-asg,ResourceType=auto-scaling-group"
aws cloudwatch put-metric-alarm --alarm-name web-asg-cpu-high --namespace AWS/EC2 \
    --metric-name CPUUtilization --dimensions Name=AutoScalingGroupName,Value=web-asg \
    --statistic Average --period 60 --evaluation-periods 2 --threshold 90 \
    --comparison-operator GreaterThanThreshold
cp events/alarm/cpu-high-alarm.json "$dir/event.json"
