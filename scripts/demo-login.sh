#!/usr/bin/env bash
# login-guard demo: a burst of failed logins against one account (events/auth/burst-one-account.json,
# re-timed to now), invoked through `cargo lambda invoke` against `cargo lambda watch`, locks the
# account and opens one brute-force incident; a redelivery changes nothing; `apptrack locks check`
# reports the lock (exit 1); `apptrack locks unlock --note` lifts it and notes it on the incident.
#
# Expects the local stack up, .local/env sourced and the workspace built (`make demo` does all three).
# Honours CARGO_TARGET_DIR. Leaves nothing running: the emulator and the function are stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${AWS_ENDPOINT_URL_DYNAMODB:?source .local/env first (make up writes it)}"
: "${INCIDENTS_TABLE:?source .local/env first}" "${STATE_TABLE:?source .local/env first}"

target_dir="${CARGO_TARGET_DIR:-target}"
apptrack="$target_dir/debug/apptrack"
say() { printf '\033[1m-- %s\033[0m\n' "$*"; }
tmp="$(mktemp -d)"
# A fresh account per run, so the demo can run again against the same stack.
account="alice+$(date +%s)@example.com"

# The sample's events, re-timed to the last two minutes so the 15-minute lock runs now.
python3 scripts/gen-auth-events.py --now --only burst-one-account \
    --account "$account" --out "$tmp/burst.json"

source scripts/lambda-watch.sh
watch_require "$apptrack"
watch_start login-guard "$tmp"
invoke() { watch_invoke "$1"; }

say "8 failed logins against $account from 8 addresses (and one success from the owner)"
invoke "$tmp/burst.json" | tee "$tmp/first.json"
echo
say "the same batch delivered again: counted once, no second lock or incident"
invoke "$tmp/burst.json"
echo

say "apptrack locks list"
"$apptrack" locks list
say "apptrack locks check $account (exit 1 = locked)"
set +e
"$apptrack" locks check "$account"
code=$?
set -e
echo "exit code $code"
[[ $code == 1 ]] || { echo "expected exit 1 (locked)"; exit 1; }

say "what an application does in its login path: one GetItem"
aws dynamodb get-item --table-name "$STATE_TABLE" \
    --key "{\"pk\":{\"S\":\"LOCKS\"},\"sk\":{\"S\":\"$account\"}}" \
    --projection-expression 'locked_until_s, #u, reason' \
    --expression-attribute-names '{"#u":"until"}' --output json

say "apptrack locks unlock $account --note ..."
"$apptrack" locks unlock "$account" --note "owner verified by phone (demo)"
"$apptrack" locks check "$account"
incident="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["locked"][0]["incident_id"])' "$tmp/first.json")"
say "apptrack incidents show $incident"
"$apptrack" incidents show "$incident"

second="bob+$(date +%s)@example.com"
python3 scripts/gen-auth-events.py --now --only burst-one-account \
    --account "$second" --out "$tmp/burst-2.json"
say "a second burst, against $second: it stays locked (the demo's closing lock list shows it)"
invoke "$tmp/burst-2.json" >/dev/null
"$apptrack" locks check "$second" || true
