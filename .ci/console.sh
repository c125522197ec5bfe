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
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "== console: install playwright-core"
(cd "$TEST" && npm install --no-audit --no-fund --loglevel=error)

cargo build --quiet -p audex-cli --bin audex
AUDEX=${CARGO_TARGET_DIR:-$ROOT/target}/debug/audex
TAXONOMY=${AUDEX_TAXONOMY:-$ROOT/../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt}

source .ci/serve-lib.sh

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

ci_serve AUDEX_URL "${A[@]}" serve --model-refresh 0

echo "== console: headless Chromium"
SHOTS=${CONSOLE_SHOTS:-${CARGO_TARGET_DIR:-$ROOT/target}/console-shots} node "$TEST/console.test.mjs"
