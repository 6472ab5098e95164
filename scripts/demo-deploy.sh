#!/usr/bin/env bash
# deploy-guard demo, through `cargo lambda invoke` against `cargo lambda watch`:
# 1. every announcement of events/deploy/ (CodeDeploy start and success, ECS, CloudFormation,
#    a Lambda alias update through CloudTrail, the custom apptrack.deploy event) becomes one
#    marker; CodeDeploy's start and success are the same deployment;
# 2. the same events delivered again change nothing;
# 3. `apptrack deploy mark` from a CI job, and `apptrack deploy list`.
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
