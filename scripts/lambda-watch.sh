# Sourced by the demo scripts: runs one function under `cargo lambda watch` (the Lambda
# Runtime API emulator) on a free port and invokes it with `cargo lambda invoke`.
#
#   watch_start PACKAGE DIR   start the watcher (log in DIR/watch.log); on exit it is
#                             stopped and DIR removed
#   watch_invoke FILE         invoke the function with FILE as the event; prints the response

watch_start() {
    _watch_pkg="$1"
    _watch_dir="$2"
    _watch_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    printf '\033[1m-- %s\033[0m\n' "cargo lambda watch $_watch_pkg on 127.0.0.1:$_watch_port (log: $_watch_dir/watch.log)"
    local env_args=() v
    for v in AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_REGION AWS_ACCESS_KEY_ID \
        AWS_SECRET_ACCESS_KEY INCIDENTS_TABLE STATE_TABLE; do
        [[ -n "${!v:-}" ]] && env_args+=(--env-var "$v=${!v}")
    done
    # Its own session, so stopping it stops the cargo and function processes it started.
    setsid cargo lambda watch --package "$_watch_pkg" --ignore-changes \
        --invoke-address 127.0.0.1 --invoke-port "$_watch_port" "${env_args[@]}" \
        --env-var RUST_LOG=info >"$_watch_dir/watch.log" 2>&1 &
    _watch_pid=$!
    trap watch_stop EXIT
    local _
    for _ in $(seq 1 300); do
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', $_watch_port), 0.5)" 2>/dev/null; then
            return 0
        fi
        kill -0 "$_watch_pid" 2>/dev/null || { cat "$_watch_dir/watch.log"; exit 1; }
        sleep 0.2
    done
    echo "cargo lambda watch did not open port $_watch_port" >&2
    exit 1
}

watch_stop() {
    kill -- "-$_watch_pid" 2>/dev/null || true
    wait "$_watch_pid" 2>/dev/null || true
    rm -rf "$_watch_dir"
}

watch_invoke() {
    cargo lambda invoke "$_watch_pkg" --invoke-address 127.0.0.1 --invoke-port "$_watch_port" \
        --data-file "$1" --output-format json || { tail -20 "$_watch_dir/watch.log"; exit 1; }
}
