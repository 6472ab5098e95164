#!/usr/bin/env bash
# `sam build` of infra/template.yaml, offline, as `make test` runs it: cargo-lambda builds every
# function's `bootstrap` for arm64 (release profile, zig as the cross linker), then this checks
# that each artifact SAM would deploy is there and is an aarch64 Linux executable.
#
# The functions are read from the template (every AWS::Serverless::Function built with
# rust-cargolambda), and each crate under functions/ must be one of them: adding a function
# needs no edit here.
#
# Offline: cargo may not touch the network (the crates are already fetched by the Rust build
# that runs before this in `make test`); SAM's telemetry is off.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
export SAM_CLI_TELEMETRY=0 CARGO_NET_OFFLINE=true
if command -v rustup >/dev/null &&
    ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    echo "sam-build: the aarch64-unknown-linux-gnu standard library is not installed;" \
        "run \`rustup target add aarch64-unknown-linux-gnu\` (make tools tries it)" >&2
    exit 1
fi

# A Python with PyYAML: SAM's own (make tools installs it), else the system's.
python=""
for p in "$root/.local/venvs/sam/bin/python" python3; do
    if "$p" -c 'import yaml' 2>/dev/null; then python="$p"; break; fi
done
[[ -n "$python" ]] || { echo "sam-build: no Python with PyYAML (run make tools)" >&2; exit 1; }

# "LogicalId Binary" per function in the template, and the function crates' binaries.
template_functions() {
    "$python" - infra/template.yaml <<'PY'
import sys, yaml

class Loader(yaml.SafeLoader):
    pass
# !Ref, !GetAtt, !Sub, ...: their values do not matter here.
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
resources = yaml.load(open(sys.argv[1]), Loader=Loader).get("Resources") or {}
for name, r in resources.items():
    meta = r.get("Metadata") or {}
    if r.get("Type") == "AWS::Serverless::Function" and meta.get("BuildMethod") == "rust-cargolambda":
        binary = (meta.get("BuildProperties") or {}).get("Binary") or ""
        print(name, binary)
PY
}
mapfile -t functions < <(template_functions)
[[ ${#functions[@]} -gt 0 ]] || { echo "sam-build: no rust-cargolambda function in infra/template.yaml" >&2; exit 1; }
mapfile -t crate_bins < <(cargo metadata --no-deps --format-version 1 --offline |
    python3 -c '
import json, os, sys
m = json.load(sys.stdin)
functions = os.path.join(m["workspace_root"], "functions") + os.sep
for p in m["packages"]:
    if p["manifest_path"].startswith(functions):
        for t in p["targets"]:
            if "bin" in t["kind"]:
                print(t["name"])')
missing=0
for bin in "${crate_bins[@]}"; do
    if ! printf '%s\n' "${functions[@]}" | grep -q " $bin\$"; then
        echo "sam-build: functions/ has the binary $bin but no rust-cargolambda function in" \
            "infra/template.yaml builds it (Metadata: BuildProperties: Binary: $bin)" >&2
        missing=1
    fi
done
[[ $missing == 0 ]] || exit 1
echo "sam-build: ${#functions[@]} functions in infra/template.yaml: $(printf '%s\n' "${functions[@]}" | cut -d' ' -f1 | paste -sd' ')"

cd infra
rm -rf .aws-sam/build
sam build   # parameters (beta_features, cached = false) from samconfig.toml

ok=1
for f in "${functions[@]}"; do
    fn="${f%% *}"
    path=".aws-sam/build/$fn/bootstrap"
    # ELF magic, then e_machine (offset 18, little-endian): 0xB7 is AArch64.
    machine="$(python3 - "$path" <<'PY'
import struct, sys
try:
    head = open(sys.argv[1], "rb").read(20)
except OSError as e:
    print(f"missing ({e.strerror})"); sys.exit()
print(struct.unpack_from("<H", head, 18)[0] if head[:4] == b"\x7fELF" and len(head) == 20 else "not ELF")
PY
)"
    if [[ "$machine" == 183 ]]; then
        echo "$fn: $path is an aarch64 ELF executable"
    else
        echo "$fn: $path is not an aarch64 ELF executable (e_machine: $machine)"
        ok=0
    fi
done
[[ $ok == 1 ]]
