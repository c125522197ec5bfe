# Sourced (from the repository root) by the .ci scripts that run a real `audex serve`: makes
# WORK, a temporary directory, and stops the server and removes WORK when the script exits.
WORK=$(mktemp -d)
SERVER_PID=
ci_cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap ci_cleanup EXIT INT TERM

# ci_serve VAR COMMAND...: runs COMMAND (an `audex … serve …` command line) with `--addr` on a
# free loopback port, logging to $WORK/serve.log, waits up to 30 s for /healthz, and sets VAR
# to the server's base URL (exits with the log if it does not come up).
ci_serve() {
    local var=$1 port url i
    shift
    port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    url=http://127.0.0.1:$port
    "$@" --addr "127.0.0.1:$port" >"$WORK/serve.log" 2>&1 &
    SERVER_PID=$!
    for i in $(seq 150); do
        if curl -fsS "$url/healthz" >/dev/null 2>&1; then break; fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null || [ "$i" = 150 ]; then
            echo "audex serve did not come up:"; cat "$WORK/serve.log"; exit 1
        fi
        sleep 0.2
    done
    printf -v "$var" '%s' "$url"
    echo "audex serve on $url (pid $SERVER_PID)"
}
