#!/usr/bin/env bash
# Cold start, peak memory and package size of the three functions, against a local stack of
# their own: release bootstraps run under bench's minimal Runtime API (lambda-bench), and
# cargo-lambda builds the arm64 zips that SAM would deploy.
#
# Usage: scripts/bench-functions.sh OUT_DIR   (JSON figures land in OUT_DIR)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:?usage: $0 OUT_DIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export PATH="$PWD/.local/bin:$PATH"
target="${CARGO_TARGET_DIR:-$PWD/target}"
runs="${BENCH_RUNS:-20}"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }

say "building release bootstraps, the bench tools and the CLI"
cargo build --release -q -p alarm-scaler -p error-analyzer -p login-guard -p apptrack-bench -p apptrack-cli

stack="$out/stack"
scripts/stack-up.sh "$stack"
trap 'scripts/stack-down.sh "$stack"' EXIT
source "$stack/env"
"$target/release/apptrack" local bootstrap

say "ministack: the group and alarm the sample alarm event names (web-asg, web-asg-cpu-high)"
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

say "a 1 MB log batch (the sample logs repeated with fresh values)"
python3 - "$out/batch-1mb.log" <<'PY'
import glob, sys
lines = [l.rstrip("\n") for f in sorted(glob.glob("events/logs/source/*.log")) for l in open(f) if l.strip()]
out, size, i = [], 0, 0
while size < 950_000:
    line = lines[i % len(lines)].replace("4101", str(4101 + i)).replace("ch_9101", "ch_%d" % (9101 + i))
    out.append(line)
    size += len(line) + 60  # each event's id and timestamp in the batch JSON
    i += 1
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
"$target/release/logs-to-event" "$out/batch-1mb.log" --log-group /aws/lambda/checkout \
    --interval-ms 10 --out "$out/logs-1mb.json"

bench() { # function event memory-event
    "$target/release/lambda-bench" --bootstrap "$target/release/$1" --event "$2" \
        --memory-event "$3" --runs "$runs" --invocations 20 --name "$1" --json "$out/lambda-$1.json"
}
say "cold start and peak memory ($runs cold starts each)"
bench alarm-scaler events/alarm/cpu-high-alarm.json events/alarm/cpu-high-alarm.json
bench error-analyzer events/logs/dependency-failure-burst.json "$out/logs-1mb.json"
bench login-guard events/auth/burst-one-account.json events/auth/burst-one-account.json

say "arm64 zips (cargo lambda build --release --arm64, as sam build does)"
cargo lambda build --release --arm64 --output-format zip --lambda-dir "$out/zips" \
    -p alarm-scaler -p error-analyzer -p login-guard 2>/dev/null
for f in alarm-scaler error-analyzer login-guard; do
    printf '%-15s %8.2f MB\n' "$f" "$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1])/1048576)" "$out/zips/$f/bootstrap.zip")"
done
