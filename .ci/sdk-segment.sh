#!/usr/bin/env bash
# The real, unmodified Segment-protocol SDKs against a real `audex serve`:
#   @segment/analytics-node and @rudderstack/rudder-sdk-node (npm), segment-analytics-python and
#   rudder-sdk-python (PyPI).
# Installs the clients itself (npm in tests/sdk/segment, a Python venv beside it), builds the
# audex binary (debug; honours CARGO_TARGET_DIR), creates an advertiser in a temporary data
# directory, serves it on a free loopback port, sends the shop scenario with each client and
# checks profiles, audiences and OpenRTB enrichment through the native API (tests/sdk/segment/check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SDK=$ROOT/tests/sdk/segment

echo "== SDK (Segment protocol): install clients"
(cd "$SDK" && npm install --no-audit --no-fund --loglevel=error)
VENV=${AUDEX_SDK_VENV:-$SDK/.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$SDK/requirements.txt"

echo "== SDK (Segment protocol): build audex"
cargo build --quiet -p audex-cli --bin audex
AUDEX=${CARGO_TARGET_DIR:-$ROOT/target}/debug/audex

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

CREDS=$("$AUDEX" --data "$WORK/data" advertiser create sdk-shop --json)
field() { printf '%s' "$CREDS" | "$VENV/bin/python" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
export AUDEX_WRITE_KEY AUDEX_CLIENT_ID AUDEX_CLIENT_SECRET
AUDEX_WRITE_KEY=$(field write_key)
AUDEX_CLIENT_ID=$(field client_id)
AUDEX_CLIENT_SECRET=$(field client_secret)

PORT=$("$VENV/bin/python" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
export AUDEX_URL=http://127.0.0.1:$PORT
"$AUDEX" --data "$WORK/data" serve --addr "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 100); do
    if curl -fsS "$AUDEX_URL/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null || [ "$i" = 100 ]; then
        echo "audex serve did not come up:"; cat "$WORK/serve.log"; exit 1
    fi
    sleep 0.2
done
echo "audex serve on $AUDEX_URL (pid $SERVER_PID)"

passed=0 failed=0
run() {
    local name=$1 prefix=$2; shift 2
    echo "== SDK $name"
    if "$VENV/bin/python" "$SDK/check.py" setup "$prefix" && "$@" "$prefix" \
        && "$VENV/bin/python" "$SDK/check.py" verify "$prefix"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "SDK $name FAILED"
    fi
}
run "@segment/analytics-node" node-segment node "$SDK/send_node.mjs" segment
run "@rudderstack/rudder-sdk-node" node-rudder node "$SDK/send_node.mjs" rudder
run "segment-analytics-python" py-segment "$VENV/bin/python" "$SDK/send_python.py" segment
run "rudder-sdk-python" py-rudder "$VENV/bin/python" "$SDK/send_python.py" rudder

if [ "$failed" != 0 ]; then
    echo "--- server log"; tail -50 "$WORK/serve.log"
fi
echo "sdk-segment: $passed passed, $failed failed"
[ "$failed" = 0 ]
