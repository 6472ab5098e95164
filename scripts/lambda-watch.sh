# Sourced by the demo scripts: runs one function's bootstrap, as built by `make build`
# (target/debug/NAME), against `cargo lambda watch --only-lambda-apis` (the Lambda Runtime API
# emulator) on a free port, and invokes it with `cargo lambda invoke`. Nothing is compiled
# here: building a single package (`cargo build -p NAME`, or the watcher's own `cargo run`)
# would unify features differently from the workspace build and compile the SDK crates again.
#
#   watch_require FILE...     exits, saying to run `make build`, unless each FILE is built
#   watch_start NAME DIR      start the emulator and the function NAME (logs in DIR/watch.log
#                             and DIR/function.log); on exit both are stopped and DIR removed
#   watch_invoke FILE         invoke the function with FILE as the event; prints the response
#
# The function gets this shell's environment (.local/env), its package's
# [package.metadata.lambda.env] (what `cargo lambda watch` would set) and the variables
# Lambda sets, RUST_LOG=info.

watch_require() {
    local f
    for f in "$@"; do
        [[ -x "$f" ]] || { echo "$f is not built: run \`make build\` (cargo build --workspace)" >&2; exit 1; }
    done
}

# KEY=VALUE lines (NUL-separated) of the [package.metadata.lambda.env] of the package that has
# the binary NAME.
_watch_package_env() {
    cargo metadata --no-deps --format-version 1 --offline | python3 -c '
import json, sys
name = sys.argv[1]
for p in json.load(sys.stdin)["packages"]:
    if any(t["name"] == name and "bin" in t["kind"] for t in p["targets"]):
        env = ((p.get("metadata") or {}).get("lambda") or {}).get("env") or {}
        for k, v in env.items():
            sys.stdout.write("%s=%s\0" % (k, v))' "$1"
}

watch_start() {
    _watch_name="$1"
    _watch_dir="$2"
    local bootstrap="${CARGO_TARGET_DIR:-target}/debug/$_watch_name"
    watch_require "$bootstrap"
    _watch_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    printf '\033[1m-- %s\033[0m\n' "$bootstrap under cargo lambda watch on 127.0.0.1:$_watch_port (logs: $_watch_dir/{watch,function}.log)"
    local package_env=()
    mapfile -t -d '' package_env < <(_watch_package_env "$_watch_name")
    # Each in its own session, so stopping it stops whatever it started.
    setsid cargo lambda watch --only-lambda-apis \
        --invoke-address 127.0.0.1 --invoke-port "$_watch_port" >"$_watch_dir/watch.log" 2>&1 &
    _watch_pid=$!
    _watch_fn_pid=""
    trap watch_stop EXIT
    local _ up=0
    for _ in $(seq 1 300); do
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', $_watch_port), 0.5)" 2>/dev/null; then
            up=1
            break
        fi
        kill -0 "$_watch_pid" 2>/dev/null || { cat "$_watch_dir/watch.log"; exit 1; }
        sleep 0.2
    done
    [[ $up == 1 ]] || { echo "cargo lambda watch did not open port $_watch_port" >&2; exit 1; }
    # shellcheck disable=SC2016 # $LATEST is the literal version name
    setsid env "${package_env[@]}" RUST_LOG=info \
        AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$_watch_port/.rt/$_watch_name" \
        AWS_LAMBDA_FUNCTION_NAME="$_watch_name" AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/$_watch_name" \
        AWS_LAMBDA_LOG_STREAM_NAME=local \
        "$bootstrap" >"$_watch_dir/function.log" 2>&1 &
    _watch_fn_pid=$!
}

watch_stop() {
    local pid
    for pid in $_watch_fn_pid $_watch_pid; do
        kill -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$_watch_dir"
}

watch_invoke() {
    kill -0 "$_watch_fn_pid" 2>/dev/null || {
        echo "$_watch_name exited; its log:" >&2
        tail -20 "$_watch_dir/function.log" >&2
        exit 1
    }
    cargo lambda invoke "$_watch_name" --invoke-address 127.0.0.1 --invoke-port "$_watch_port" \
        --data-file "$1" --output-format json || {
        tail -20 "$_watch_dir/watch.log" "$_watch_dir/function.log"
        exit 1
    }
}
