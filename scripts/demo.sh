#!/usr/bin/env bash
# The local demo: apptrack's jobs run for real (each function's debug bootstrap polling
# `cargo lambda watch --only-lambda-apis`, invoked with `cargo lambda invoke`) against the
# emulators; then the incident history read back with the plain AWS CLI, and last the incidents
# and locks with apptrack's CLI. Run through `make demo` (which builds the workspace once and
# starts the stack); nothing here compiles.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .local/env
apptrack=target/debug/apptrack
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Each function contributes its own part of the demo (scripts/demo-<function>.sh).
for part in scripts/demo-*.sh; do
    step "$(basename "$part" .sh)"
    bash "$part"
done

step "The plain AWS CLI: open incidents, newest first (index by-status)"
aws dynamodb query --table-name "$INCIDENTS_TABLE" --index-name by-status \
    --key-condition-expression '#s = :s' \
    --expression-attribute-values '{":s":{"S":"open"}}' \
    --no-scan-index-forward \
    --expression-attribute-names '{"#s":"status"}' \
    --query 'Items[].[id.S, severity.S, kind.S, service.S, count.N, title.S]' \
    --output text

first=$($apptrack incidents list --json --limit 1 | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a[0]["id"] if a else "")')
if [[ -n "$first" ]]; then
    step "apptrack incidents show $first (the newest)"
    $apptrack incidents show "$first"
fi

step "apptrack incidents list (open and acknowledged, newest first)"
$apptrack incidents list

step "apptrack locks list (accounts and sources locked now)"
$apptrack locks list
