#!/usr/bin/env bash
# notifier demo, through `cargo lambda invoke` against `cargo lambda watch`:
# 1. an SNS topic with two SQS subscribers (everything, and only critical incidents through an
#    SNS filter policy), made with the plain AWS CLI;
# 2. the incident table's stream (what the earlier demos recorded), read with the Streams API
#    as Lambda's event source mapping reads it, handed to the notifier as one batch;
# 3. what each subscriber receives; the same batch again: nothing more;
# 4. a silence on one service, and a new occurrence there: held, noted on the incident.
# Expects the local stack up, .local/env sourced and the workspace built (`make demo` does all three).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${AWS_ENDPOINT_URL:?source .local/env first (make up writes it)}"
: "${INCIDENTS_TABLE:?source .local/env first}"

target_dir="${CARGO_TARGET_DIR:-target}"
apptrack="$target_dir/debug/apptrack"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }
tmp="$(mktemp -d)"
tag="demo-$(date +%s)"

say "1. topic $tag with an SQS subscriber for everything and one for critical only"
topic=$(aws sns create-topic --name "$tag" --query TopicArn --output text)
subscribe() {
    local url arn
    url=$(aws sqs create-queue --queue-name "$tag-$1" --query QueueUrl --output text)
    arn=$(aws sqs get-queue-attributes --queue-url "$url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
    if [[ -n "${2:-}" ]]; then
        aws sns subscribe --topic-arn "$topic" --protocol sqs --notification-endpoint "$arn" \
            --attributes "{\"FilterPolicy\": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$2")}" >/dev/null
    else
        aws sns subscribe --topic-arn "$topic" --protocol sqs --notification-endpoint "$arn" >/dev/null
    fi
    echo "$url"
}
all_q=$(subscribe all)
pager_q=$(subscribe pager '{"severity": ["critical"]}')
echo "  $topic"

# The stream's records since the horizon, as the Lambda event (tests/src/bin/stream-to-event.rs,
# the reader the tests use).
read_stream() {
    "$target_dir/debug/stream-to-event" >"$1"
}
received() {
    python3 -c '
import json, subprocess, sys
# The aws the shell resolves (.local/bin/aws points SQS at the stack): a pyenv python3 puts
# its own bin first on PATH, with another aws in it.
url, aws = sys.argv[1], sys.argv[2]
n = 0
while True:
    out = subprocess.run([aws, "sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                          "--wait-time-seconds", "1", "--output", "json"], stdout=subprocess.PIPE, text=True, check=True).stdout
    msgs = json.loads(out or "{}").get("Messages", [])
    if not msgs:
        break
    for m in msgs:
        env = json.loads(m["Body"])
        a = {k: v["Value"] for k, v in env.get("MessageAttributes", {}).items()}
        print("  %-13s %-9s %s" % (a.get("change"), a.get("severity"), env.get("Subject")))
        print("      id %s, thread %s" % (a.get("notification_id"), json.loads(env["Message"])["metadata"]["threadId"]))
        subprocess.run([aws, "sqs", "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"]], check=True)
        n += 1
print("  (%d messages)" % n)' "$1" "$(command -v aws)"
}

export APPTRACK_NOTIFY_TOPIC_ARN="$topic"
source scripts/lambda-watch.sh
watch_require "$apptrack" "$target_dir/debug/stream-to-event"
watch_start notifier "$tmp"
say "2. the incident stream, as one batch"
read_stream "$tmp/batch.json"
watch_invoke "$tmp/batch.json" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print("  notified %d, quiet %d, to retry %d" % (len(o["notified"]), o["quiet"], len(o["batchItemFailures"])))'
say "3. what the subscribers receive: everything"
received "$all_q"
say "   ... and the on-call pager (filter policy severity = critical)"
received "$pager_q"
say "   the same batch again (the event source mapping's retry)"
watch_invoke "$tmp/batch.json" >/dev/null
received "$all_q"

say "4. a silence on the newest open incident's service, then that incident acknowledged"
read -r id service < <($apptrack incidents list --json --limit 1 | python3 -c '
import json, sys
a = json.load(sys.stdin)
print(a[0]["id"], a[0]["service"]) if a else print("", "")')
if [[ -z "$id" ]]; then
    echo "  no open incident to acknowledge"
    exit 0
fi
$apptrack silence add --service "$service" --for 2h --note "demo: planned failover"
$apptrack silence list
$apptrack incidents ack "$id" --note "demo: looking into it"
read_stream "$tmp/batch.json"
watch_invoke "$tmp/batch.json" | python3 -c '
import json, sys
o = json.load(sys.stdin)
for n in o["notified"]:
    if "silenced" in n["fate"]:
        print("  %s held by silence %s" % (n["id"], n["fate"]["silenced"]))'
received "$all_q"
$apptrack incidents show "$id" | grep -i "silenced" || true
