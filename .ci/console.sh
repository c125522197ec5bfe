#!/usr/bin/env bash
# The console in a real browser: Debian's Chromium (installed when missing) driven by
# playwright-core (npm, tests/console) against a real `audex serve` over a small simulated shop
# with saved audiences (tests/console/console.test.mjs checks every figure against the API).
# Screenshots go to $CONSOLE_SHOTS (default target/console-shots).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TEST=$ROOT/tests/console

if [ ! -x /usr/bin/chromium ]; then
    echo "== console: install Debian's chromium"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
echo "== console: install playwright-core"
(cd "$TEST" && npm install --no-audit --no-fund --loglevel=error)

cargo build --quiet -p audex-cli --bin audex
AUDEX=${CARGO_TARGET_DIR:-$ROOT/target}/debug/audex
TAXONOMY=${AUDEX_TAXONOMY:-$ROOT/../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt}

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

echo "== console: a 3,000-person shop with audiences"
A=("$AUDEX" --data "$WORK/data" --taxonomy "$TAXONOMY")
"${A[@]}" sim --people 3000 --out "$WORK/sim" >/dev/null
"${A[@]}" catalog import "$WORK/sim/catalog.tsv" >/dev/null
"${A[@]}" import "$WORK/sim/events.ndjson" >/dev/null
"${A[@]}" audience create --name "cart abandoners" --funnel-stage conversion \
    --rule "product_added within 30d and not order_completed within 30d" >/dev/null
"${A[@]}" audience create --name "recent visitors" --funnel-stage consideration \
    --rule "visit within 30d" >/dev/null
"${A[@]}" audience create --name "ad viewers" --funnel-stage awareness \
    --rule "ads impressions >= 1" >/dev/null
CREDS=$("${A[@]}" advertiser rotate-secret default --json)
field() { printf '%s' "$CREDS" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
export AUDEX_CLIENT_ID AUDEX_CLIENT_SECRET AUDEX_PERSON AUDEX_URL
AUDEX_CLIENT_ID=$(field client_id)
AUDEX_CLIENT_SECRET=$(field client_secret)
# A member of the first audience (by its identifier).
AUDEX_PERSON=$("${A[@]}" audience members "cart abandoners" 2>/dev/null | sed -n 2p | cut -d, -f2)
[ -n "$AUDEX_PERSON" ] || { echo "no member to look up"; exit 1; }

PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
AUDEX_URL=http://127.0.0.1:$PORT
"${A[@]}" serve --addr "127.0.0.1:$PORT" --model-refresh 0 >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 100); do
    if curl -fsS "$AUDEX_URL/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null || [ "$i" = 100 ]; then
        echo "audex serve did not come up:"; cat "$WORK/serve.log"; exit 1
    fi
    sleep 0.2
done

echo "== console: headless Chromium"
SHOTS=${CONSOLE_SHOTS:-${CARGO_TARGET_DIR:-$ROOT/target}/console-shots} node "$TEST/console.test.mjs"
