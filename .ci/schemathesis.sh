#!/usr/bin/env bash
# Property-based HTTP fuzzing from the server's own /openapi.json with schemathesis (PyPI,
# pinned in tests/schemathesis/requirements.txt, installed in a venv): every documented operation
# gets generated valid and invalid requests, and no answer may be a 5xx (check
# not_a_server_error). The collector operations run with the write key, the others with the
# admin Basic credentials, against a real `audex serve` over a small simulated shop.
# Deterministic (fixed seed, examples per operation capped); takes about a minute after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/tests/schemathesis

echo "== schemathesis: install"
VENV=${AUDEX_SCHEMATHESIS_VENV:-$DIR/.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$DIR/requirements.txt"

echo "== schemathesis: build audex"
cargo build --quiet -p audex-cli --bin audex
AUDEX=${CARGO_TARGET_DIR:-$ROOT/target}/debug/audex

source .ci/serve-lib.sh

DATA=$WORK/data
"$AUDEX" --data "$DATA" sim --people 300 --days 30 --seed 11 \
    --end-date "$(date -u +%F)" --out "$WORK/sim" >/dev/null
CREDS=$("$AUDEX" --data "$DATA" advertiser create fuzz-shop --json)
field() { printf '%s' "$CREDS" | "$VENV/bin/python" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
WRITE_KEY=$(field write_key)
CLIENT_ID=$(field client_id)
CLIENT_SECRET=$(field client_secret)
"$AUDEX" --data "$DATA" catalog import --advertiser fuzz-shop "$WORK/sim/catalog.tsv" >/dev/null
"$AUDEX" --data "$DATA" import --advertiser fuzz-shop "$WORK/sim/events.ndjson" >/dev/null

ci_serve BASE "$AUDEX" --data "$DATA" serve
# Saved audiences, so that some generated ids and lookups hit real data.
for rule in 'product_viewed within 30d' 'order_completed within 30d'; do
    curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" -H 'content-type: application/json' \
        -d "{\"name\": \"$rule\", \"rule\": \"$rule\"}" "$BASE/v1/audiences" >/dev/null
done

run() {
    # From the temporary directory: schemathesis keeps a crash cache in ./.schemathesis.
    (cd "$WORK" && "$VENV/bin/schemathesis" run "$BASE/openapi.json" --checks not_a_server_error \
        --phases examples,coverage,fuzzing --seed 20261129 --max-examples "${AUDEX_SCHEMATHESIS_EXAMPLES:-60}" \
        --generation-database none --workers 2 --request-timeout 20 --no-color \
        --warnings off --report-dir "$WORK/report" "$@")
}
status=0
echo "== schemathesis: collector (write key)"
run --include-tag collector --auth "$WRITE_KEY:" || status=1
echo "== schemathesis: admin API"
run --exclude-tag collector --auth "$CLIENT_ID:$CLIENT_SECRET" || status=1
# What the server saw: responses by route and status class (from /metrics). No 5xx allowed, and
# the fuzzing must have got past authentication somewhere (2xx on several routes).
curl -fsS "$BASE/metrics" | grep '^audex_http_requests_total' | sed 's/^audex_http_requests_total//' > "$WORK/seen.txt"
cat "$WORK/seen.txt"
if grep -q 'status="5xx"' "$WORK/seen.txt"; then echo "5xx answers in /metrics"; status=1; fi
if [ "$(grep -c 'status="2xx"' "$WORK/seen.txt")" -lt 10 ]; then echo "too few routes answered 2xx"; status=1; fi
if [ "$status" != 0 ]; then
    echo "--- server log"; tail -50 "$WORK/serve.log"
    exit 1
fi
