#!/usr/bin/env bash
# Stops what scripts/stack-up.sh started (same DIR, default .local);
# safe to run when nothing is running.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE="${1:-$LOCAL_DIR}"
if [[ ! -d "$STATE" ]]; then
    say "nothing to stop ($STATE does not exist)"
    exit 0
fi

stop_pid_file ministack "$STATE/ministack.pid" ministack
stop_pid_file "DynamoDB Local" "$STATE/dynamodb.pid" DynamoDBLocal.jar
rm -f "$STATE/env"
say "local stack is down"
