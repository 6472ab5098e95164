#!/usr/bin/env bash
# deploy-guard demo, through `cargo lambda invoke` against `cargo lambda watch`:
# 1. every announcement of events/deploy/ (CodeDeploy start and success, ECS, CloudFormation,
#    a Lambda alias update through CloudTrail, the custom apptrack.deploy event) becomes one
#    marker; CodeDeploy's start and success are the same deployment;
# 2. the same events delivered again change nothing;
# 3. `apptrack deploy mark` from a CI job, and `apptrack deploy list`;
# 4. the mission's case: an alias whose p99 rose, judged likely and moved back;
# 5. a deployment with no alias (an ECS service), judged on the alarm tagged with its service.
# Expects the local stack up, .local/env sourced and the workspace built (`make demo` does all three).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${AWS_ENDPOINT_URL_DYNAMODB:?source .local/env first (make up writes it)}"
: "${STATE_TABLE:?source .local/env first}"

target_dir="${CARGO_TARGET_DIR:-target}"
apptrack="$target_dir/debug/apptrack"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }
tmp="$(mktemp -d)"

source scripts/lambda-watch.sh
watch_require "$apptrack"
watch_start deploy-guard "$tmp"
line() { python3 -c 'import json,sys; o=json.load(sys.stdin); print("  %-9s %s" % (o["action"], o["detail"]))'; }

say "1. every announcement, once"
for f in events/deploy/*.json; do watch_invoke "$f" | line; done
say "2. delivered again"
for f in events/deploy/*.json; do watch_invoke "$f" | line; done

say "3. apptrack deploy mark (a CI job's last step), then apptrack deploy list"
"$apptrack" deploy mark --service payments --target payments:live --version 7 --actor ci@example.com
"$apptrack" deploy list --since 3650d
say "the same with the plain AWS CLI"
aws dynamodb query --table-name "$STATE_TABLE" --key-condition-expression 'pk = :pk' \
    --expression-attribute-values '{":pk":{"S":"DEPLOYS"}}' \
    --query 'Items[].[started_at.S, service.S, target.S, to_version.S, state.S]' --output text

say "4. the mission's case: checkout's alias live moved from version 1 to 2, p99 latency 25 % higher since"
fn="checkout-demo-$(date +%s)"
python3 - "$tmp/empty.zip" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1], "w").close()
PY
aws lambda create-function --function-name "$fn" --runtime provided.al2023 --handler bootstrap \
    --role arn:aws:iam::123456789012:role/checkout --zip-file "fileb://$tmp/empty.zip" \
    --tags apptrack:rollback=auto --output text --query FunctionName >/dev/null
for build in 1 2; do
    aws lambda update-function-configuration --function-name "$fn" --description "build $build" >/dev/null
    aws lambda publish-version --function-name "$fn" --description "build $build" --query Version --output text >/dev/null
done
aws lambda create-alias --function-name "$fn" --name live --function-version 1 >/dev/null
aws lambda update-alias --function-name "$fn" --name live --function-version 2 >/dev/null
start=$(python3 -c 'import time; print(int(time.time()) // 60 * 60 - 15 * 60)')
python3 - "$fn" "$start" "$tmp/latency.json" <<'PY'
import json, sys
fn, start, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = []
for minute in range(-60, 15):
    base = 200.0 if minute < 0 else 250.0
    wobble = 1.0 + 0.04 * (((minute * 37) % 11) / 5.0 - 1.0)
    data.append({"MetricName": "Duration", "Unit": "Milliseconds", "Value": round(base * wobble, 1),
                 "Timestamp": start + minute * 60 + 30,
                 "Dimensions": [{"Name": "FunctionName", "Value": fn},
                                {"Name": "Resource", "Value": fn + ":live"}]})
json.dump(data, open(out, "w"))
PY
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [json.dump(d[i:i+20], open("%s.%d" % (sys.argv[1], i), "w")) for i in range(0, len(d), 20)]' "$tmp/latency.json"
for part in "$tmp"/latency.json.*; do
    aws cloudwatch put-metric-data --namespace AWS/Lambda --metric-data "file://$part"
done
started=$(python3 -c 'import sys,time; print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sys.argv[1]))))' "$start")
python3 - "$fn" "$started" "$tmp/deployed.json" <<'PY'
import json, sys
fn, started, out = sys.argv[1:4]
json.dump({"source": "apptrack.deploy", "detail-type": "Deployment", "time": started,
           "detail": {"service": fn, "version": "2", "previous_version": "1", "target": fn + ":live",
                      "actor": "ci@example.com", "id": "demo-" + fn, "started_at": started}}, open(out, "w"))
PY
watch_invoke "$tmp/deployed.json" | line
echo '{"apptrack": "deploy-watch"}' > "$tmp/watch.json"
watch_invoke "$tmp/watch.json" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print("  " + o["detail"])
for w in o["watched"]:
    print("  %-10s %s\n             %s\n             %s" % (w["verdict"], w["target"], w["why"], w.get("action", "")))'
echo "  live now points at version $(aws lambda get-alias --function-name "$fn" --name live --query FunctionVersion --output text)"
say "the schedule runs again: nothing more"
watch_invoke "$tmp/watch.json" | python3 -c 'import json,sys; o=json.load(sys.stdin); print("  " + o["detail"]); [print("  " + w["verdict"] + ": " + w.get("action", "")) for w in o["watched"]]'

say "5. any kind of deployment: CI deploys shop (an ECS service, no alias), judged on the alarm its owners keep on it (tagged apptrack:service)"
shop="shop-demo-$(date +%s)"
python3 - "$shop" "$start" "$tmp/p99" <<'PY'
import json, sys
shop, start, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = []
for minute in range(-60, 15):
    base = 0.20 if minute < 0 else 0.26
    wobble = 1.0 + 0.04 * (((minute * 37) % 11) / 5.0 - 1.0)
    data.append({"MetricName": "TargetResponseTime", "Unit": "Seconds", "Value": round(base * wobble, 4),
                 "Timestamp": start + minute * 60 + 30,
                 "Dimensions": [{"Name": "LoadBalancer", "Value": "app/" + shop + "/1"}]})
for i in range(0, len(data), 20):
    json.dump(data[i:i + 20], open("%s.%d" % (out, i), "w"))
PY
for part in "$tmp"/p99.*; do
    aws cloudwatch put-metric-data --namespace AWS/ApplicationELB --metric-data "file://$part"
done
aws cloudwatch put-metric-alarm --alarm-name "$shop-p99" --namespace AWS/ApplicationELB \
    --metric-name TargetResponseTime --dimensions "Name=LoadBalancer,Value=app/$shop/1" \
    --statistic Average --period 60 --evaluation-periods 3 --threshold 1 \
    --comparison-operator GreaterThanThreshold --tags "Key=apptrack:service,Value=$shop"
echo "  alarm $shop-p99 on its load balancer's response time (0.20 s before, 0.26 s since the deployment)"
python3 - "$shop" "$started" "$tmp/ecs.json" <<'PY'
import json, sys
shop, started, out = sys.argv[1:4]
json.dump({"source": "apptrack.deploy", "detail-type": "Deployment", "time": started,
           "detail": {"service": shop, "version": "task-def:8", "previous_version": "task-def:7",
                      "target": "prod/" + shop, "actor": "ci@example.com", "id": "demo-" + shop,
                      "started_at": started}}, open(out, "w"))
PY
watch_invoke "$tmp/ecs.json" | line
watch_invoke "$tmp/watch.json" | python3 -c '
import json, sys
o = json.load(sys.stdin)
for w in o["watched"]:
    if w["target"] == "prod/" + sys.argv[1]:
        print("  %-10s %s\n             on %s\n             %s\n             %s\n             incident %s" % (w["verdict"], w["target"], w.get("judged_on"), w["why"], w.get("action", ""), w.get("incident_id")))' "$shop" |
    tee "$tmp/shop.txt"
id=$(awk '/incident/ {print $2}' "$tmp/shop.txt" | tail -1)
"$apptrack" incidents show "$id" | head -4
