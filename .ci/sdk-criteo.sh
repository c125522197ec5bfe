#!/usr/bin/env bash
# The official, unmodified Criteo Marketing Solutions SDK (PyPI criteo-api-marketingsolutions-sdk,
# pinned in tests/sdk/criteo/requirements.txt) against a real `audex serve`.
# Installs the SDK in a venv (python3 -m venv), builds the audex binary (debug; honours
# CARGO_TARGET_DIR), simulates a small shop into a temporary data directory for one advertiser
# (plus an empty second one for tenancy checks), serves it on a free loopback port and runs
# tests/sdk/criteo/test_criteo_sdk.py, which checks every size the SDK reports against the native
# API. The server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SDK=$ROOT/tests/sdk/criteo

echo "== SDK (Criteo Marketing Solutions): install the client"
VENV=${AUDEX_CRITEO_VENV:-$SDK/.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$SDK/requirements.txt"

echo "== SDK (Criteo Marketing Solutions): build audex"
cargo build --quiet -p audex-cli --bin audex
AUDEX=${CARGO_TARGET_DIR:-$ROOT/target}/debug/audex

source .ci/serve-lib.sh

DATA=$WORK/data
"$AUDEX" --data "$DATA" sim --people "${AUDEX_CRITEO_PEOPLE:-3000}" --days 90 --seed 7 \
    --end-date "$(date -u +%F)" --out "$WORK/sim" >/dev/null
CREDS=$("$AUDEX" --data "$DATA" advertiser create criteo-shop --json)
OTHER=$("$AUDEX" --data "$DATA" advertiser create criteo-other --json)
field() { printf '%s' "$1" | "$VENV/bin/python" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
export AUDEX_ADVERTISER_ID AUDEX_CLIENT_ID AUDEX_CLIENT_SECRET AUDEX_OTHER_CLIENT_ID AUDEX_OTHER_CLIENT_SECRET AUDEX_TRUTH
AUDEX_ADVERTISER_ID=$(field "$CREDS" advertiser_id)
AUDEX_CLIENT_ID=$(field "$CREDS" client_id)
AUDEX_CLIENT_SECRET=$(field "$CREDS" client_secret)
AUDEX_OTHER_CLIENT_ID=$(field "$OTHER" client_id)
AUDEX_OTHER_CLIENT_SECRET=$(field "$OTHER" client_secret)
AUDEX_TRUTH=$WORK/sim/truth.ndjson
"$AUDEX" --data "$DATA" catalog import --advertiser criteo-shop "$WORK/sim/catalog.tsv" >/dev/null
"$AUDEX" --data "$DATA" import --advertiser criteo-shop "$WORK/sim/events.ndjson" >/dev/null

ci_serve CRITEO_HOST "$AUDEX" --data "$DATA" serve
export CRITEO_HOST

echo "== SDK (Criteo Marketing Solutions): test_criteo_sdk.py"
if ! "$VENV/bin/python" "$SDK/test_criteo_sdk.py"; then
    echo "--- server log"; tail -50 "$WORK/serve.log"
    exit 1
fi
