#!/usr/bin/env bash
# One real `cdk synth` of the CDK example (infra/cdk/example), as `make cdk-synth` runs it:
# cargo-lambda-cdk runs the local `cargo lambda build --release --arm64` for every function
# (zig as the cross linker, no Docker), offline; then this checks that the assembly has one
# Lambda function per rust-cargolambda function of infra/template.yaml, each with an aarch64
# `bootstrap` in its asset, and cfn-lint passes the synthesized template.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_NET_OFFLINE=true CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
command -v cargo-lambda >/dev/null ||
    { echo "cdk-synth: cargo-lambda is not on PATH (make tools; export PATH=\"\$PWD/.local/bin:\$PATH\")" >&2; exit 1; }

cd infra/cdk
rm -rf cdk.out
start=$SECONDS
npx --no-install cdk synth --no-notices --quiet
echo "cdk-synth: synthesized in $((SECONDS - start)) s"

python3 - ../template.yaml cdk.out/ApptrackExample.template.json <<'PY'
import json, re, struct, sys
expected = len(re.findall(r"^\s*BuildMethod:\s*rust-cargolambda\s*$", open(sys.argv[1]).read(), re.M))
resources = json.load(open(sys.argv[2]))["Resources"]
functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
ok = len(functions) == expected
print(f"cdk-synth: {len(functions)} Lambda functions, {expected} rust-cargolambda functions in the template")
for name, r in functions.items():
    path = f"cdk.out/{r['Metadata']['aws:asset:path']}/bootstrap"
    try:
        head = open(path, "rb").read(20)
        machine = struct.unpack_from("<H", head, 18)[0] if head[:4] == b"\x7fELF" else "not ELF"
    except OSError as e:
        machine = f"missing ({e.strerror})"
    # e_machine 0xB7 (183) is AArch64.
    print(f"{name}: {path} is {'an aarch64 ELF executable' if machine == 183 else f'not aarch64 ({machine})'}")
    ok = ok and machine == 183
sys.exit(0 if ok else 1)
PY

# W3005: CDK makes each function DependsOn its role, which its Role GetAtt already implies.
cfn-lint --ignore-checks W3005 -- cdk.out/ApptrackExample.template.json
echo "cdk-synth: cfn-lint passes cdk.out/ApptrackExample.template.json"
