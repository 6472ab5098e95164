#!/usr/bin/env bash
# error-analyzer's part of scripts/bench-functions.sh: the dependency-failure burst for the
# cold starts; for the memory run, a 1 MB log batch (the sample logs repeated with fresh
# values), encoded with logs-to-event from the release build ($BENCH_TARGET).
# Usage (from the repository root, the bench stack's env sourced): bench.sh DIR
set -euo pipefail
dir="${1:?usage: $0 DIR}"
: "${BENCH_TARGET:?the release build folder (scripts/bench-functions.sh sets it)}"
cp events/logs/dependency-failure-burst.json "$dir/event.json"
python3 - "$dir/batch-1mb.log" <<'PY'
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
"$BENCH_TARGET/logs-to-event" "$dir/batch-1mb.log" --log-group /aws/lambda/checkout \
    --interval-ms 10 --out "$dir/memory-event.json"
