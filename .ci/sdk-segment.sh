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

source .ci/serve-lib.sh

CREDS=$("$AUDEX" --data "$WORK/data" advertiser create sdk-shop --json)
field() { printf '%s' "$CREDS" | "$VENV/bin/python" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
export AUDEX_WRITE_KEY AUDEX_CLIENT_ID AUDEX_CLIENT_SECRET
AUDEX_WRITE_KEY=$(field write_key)
AUDEX_CLIENT_ID=$(field client_id)
AUDEX_CLIENT_SECRET=$(field client_secret)

ci_serve AUDEX_URL "$AUDEX" --data "$WORK/data" serve
export AUDEX_URL

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
