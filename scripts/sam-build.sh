#!/usr/bin/env bash
# `sam build` of infra/template.yaml, offline, as `make test` runs it: cargo-lambda builds the
# three functions' `bootstrap` for arm64 (release profile, zig as the cross linker), then this
# checks that each artifact SAM would deploy is there and is an aarch64 Linux executable.
#
# Offline: cargo may not touch the network (the crates are already fetched by the Rust build
# that runs before this in `make test`); SAM's telemetry is off.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../infra"
export SAM_CLI_TELEMETRY=0 CARGO_NET_OFFLINE=true
if command -v rustup >/dev/null &&
    ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    echo "sam-build: the aarch64-unknown-linux-gnu standard library is not installed;" \
        "run \`rustup target add aarch64-unknown-linux-gnu\` (make tools tries it)" >&2
    exit 1
fi
rm -rf .aws-sam/build
sam build   # parameters (beta_features, cached = false) from samconfig.toml

python3 - <<'PY'
import struct, sys
ok = True
for fn in ("AlarmScalerFunction", "LoginGuardFunction", "ErrorAnalyzerFunction"):
    path = f".aws-sam/build/{fn}/bootstrap"
    try:
        head = open(path, "rb").read(20)
    except OSError as e:
        print(f"{fn}: no bootstrap: {e}"); ok = False; continue
    # ELF magic, then e_machine (offset 18, little-endian): 0xB7 is AArch64.
    machine = struct.unpack_from("<H", head, 18)[0] if head[:4] == b"\x7fELF" else None
    if machine != 0xB7:
        print(f"{fn}: {path} is not an aarch64 ELF executable (e_machine={machine})"); ok = False
    else:
        print(f"{fn}: {path} is an aarch64 ELF executable")
sys.exit(0 if ok else 1)
PY
